//! automerge-repo's acceptance suite for network adapters (`runNetworkAdapterTests`, shipped in
//! `@automerge/automerge-repo`), run with vitest in tests/js against a real relay process: three
//! official WebSocket client adapters sync two and three repos, broadcast an ephemeral message and
//! reconnect through it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::{self, Db, Scope};
use contactpoint_tests::{RelayProcess, token_for};
use serde_json::Value;

/// The suite's tests that apply to a relay: peers that reach each other only through it.
const RUN: [&str; 4] =
    ["can sync 2 repos", "can sync 3 repos", "can broadcast a message", "should support reconnecting after disconnect"];

/// The suite's tests that assume the adapters connect the peers to each other directly, so they
/// do not apply to a relay: one expects an adapter's `peer-candidate` to be the other peer, with
/// that peer's id and metadata (through a relay, every adapter's candidate is the relay), and two
/// wait until one peer sees another peer's connection end (a relay does not tell its peers about
/// each other, and must not: they need not read the same documents), so they never finish.
const SKIP: [&str; 3] = [
    "emits a peer-candidate event with proper peer metadata when a peer connects",
    "should emit disconnect events on disconnect",
    "should not send messages after disconnect",
];

/// How long the whole suite may take; each of its tests is bounded by vitest's own timeout.
const SUITE_TIMEOUT: Duration = Duration::from_secs(180);

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// A vitest name filter that matches every test except those in [`SKIP`], so that they are
/// skipped by name (vitest matches the pattern against the full name, after the suite's title).
fn name_filter() -> String {
    let escaped: Vec<String> = SKIP
        .iter()
        .map(|n| {
            n.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == ' ' { c.to_string() } else { format!("\\{c}") })
                .collect()
        })
        .collect();
    format!("^(?!.*({})).*$", escaped.join("|"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automerge_repo_network_adapter_suite_passes_through_the_relay() -> Result<()> {
    let dir = js_dir();
    if !dir.join("node_modules/vitest").is_dir() || !dir.join("node_modules/@automerge/automerge-repo").is_dir() {
        bail!(
            "vitest or automerge-repo is not installed in {}: run `npm ci --prefix tests/js` \
             (`cargo xtask test` does this first)",
            dir.display()
        );
    }
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("relay.sqlite");
    // The suite's peers create the documents they sync, so each adapter signs in as an
    // administrator, the role that may create documents through sync (three users, each within
    // its hourly creation limit). Their documents are unlisted, which every signed-in device
    // reads and administrators write.
    let tokens: Vec<String> = {
        let db = Db::open(&path)?;
        (0..3).map(|_| token_for(&db, Role::Admin, &[])).collect()
    };
    let relay = RelayProcess::start(&path)?;
    let urls: Vec<String> = tokens.iter().map(|t| format!("ws://{}/sync?token={t}", relay.addr)).collect();
    let report = tmp.path().join("vitest.json");

    let npx = std::env::var("NPX").unwrap_or_else(|_| "npx".into());
    let child = tokio::process::Command::new(&npx)
        .args(["--no-install", "vitest", "run", "acceptance.test.mjs"])
        .arg(format!("--testNamePattern={}", name_filter()))
        .args(["--reporter=default", "--reporter=json"])
        .arg(format!("--outputFile.json={}", report.display()))
        .env("ACCEPTANCE_RELAY_URLS", serde_json::to_string(&urls)?)
        .env("CI", "1")
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SUITE_TIMEOUT, child)
        .await
        .map_err(|_| anyhow!("vitest did not finish within {SUITE_TIMEOUT:?}"))?
        .with_context(|| format!("could not run `{npx}` (is Node.js 20.19 or later with npm installed?)"))?;
    let log =
        format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(&report).with_context(|| format!("vitest wrote no report; {log}"))?,
    )
    .with_context(|| format!("vitest's report does not parse; {log}"))?;

    // Every test of the suite, by its own name, with the status vitest gave it.
    let results: Vec<(String, String)> = json["testResults"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|file| file["assertionResults"].as_array().into_iter().flatten())
        .map(|t| (t["title"].as_str().unwrap_or("").to_owned(), t["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    let status = |name: &str| results.iter().find(|(t, _)| t == name).map(|(_, s)| s.as_str());
    for name in RUN {
        ensure!(status(name) == Some("passed"), "{name:?}: {:?}, results {results:?}; {log}", status(name));
    }
    for name in SKIP {
        ensure!(
            matches!(status(name), Some("skipped" | "pending" | "todo")),
            "{name:?} should be skipped: {:?}, results {results:?}; {log}",
            status(name)
        );
    }
    ensure!(results.len() == RUN.len() + SKIP.len(), "the suite has tests this file does not know: {results:?}");
    ensure!(out.status.success(), "vitest failed ({}); {log}", out.status);

    // The documents the peers created went through the relay's gate and are stored: two by
    // "can sync 2 repos" (once in each direction), one each by "can sync 3 repos" and "can
    // broadcast a message".
    drop(relay);
    let db = Db::open(&path)?;
    let docs = db.with(|c| storage::list_docs(c))?;
    let unlisted = docs.iter().filter(|(_, scope, tombstoned)| *scope == Scope::Unlisted && !tombstoned).count();
    ensure!(unlisted == 4, "the relay stored {unlisted} documents created by the suite, not 4: {docs:?}");
    Ok(())
}
