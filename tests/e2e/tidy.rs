//! Habits the tree keeps: every Rust file says what it is on its first line, the codemap in
//! `ARCHITECTURE.md` names every source file (or the folder that holds it), and no file grows past
//! 600 lines unless it is listed below with the reason; the list may only shrink.

use std::path::{Path, PathBuf};

/// Files allowed over [`LONG`] lines, with why. A file that is split drops off (the test says so);
/// a new long file needs a reason here.
const LONG_FILES: &[(&str, &str)] = &[
    (
        "tests/e2e/browser.rs",
        "one test per browser scenario, each with its set-up; a module per scenario would repeat the harness",
    ),
    ("directory/tests/domain.rs", "the domain's unit tests, a module per subject"),
    ("tests/lib.rs", "the test harness: relays in-process and as processes, native and samod clients, HTTP helpers"),
    ("directory/src/validate.rs", "one function per rule of the validation table, with the rule's messages"),
    (
        "server/src/admin.rs",
        "every administration operation the CLI and the admin endpoints share, and erasure; to be split (issue 15, item 5)",
    ),
    ("server/src/auth.rs", "invites, devices, tokens and access, with their tests"),
    ("server/src/storage.rs", "the schema, its migrations and every query on documents and chunks"),
    ("directory/src/store.rs", "reading and writing every part of the model in Automerge, with round-trip tests"),
    ("client-wasm/src/edit.rs", "every edit the app makes, each validated before it is applied"),
    ("server/src/main.rs", "the command line's definitions (clap) take half of it"),
    ("protocol/src/doc_sync.rs", "the sync engine wrapper and its tests of every message shape"),
    ("xtask/src/bench/attacks.rs", "one function per attack of the threat model"),
    ("protocol/src/wire.rs", "the CBOR codec of every message type, with its tests"),
    ("directory/src/seed/mod.rs", "the sample data, generated from the public lists of areas"),
    ("server/src/ws.rs", "the WebSocket framing and its tests"),
    ("xtask/src/bench/workloads.rs", "one function per relay workload"),
    ("directory/src/seed/cards.rs", "the six national cards in three languages"),
    ("fuzz/src/lib.rs", "every fuzz target's body, shared with the replay in the test run"),
    ("tests/e2e/erasure.rs", "erasure is shown on the relay, in the database files and on three kinds of client"),
];

const LONG: usize = 600;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_owned()
}

/// The project's source files (`.rs`, `.js`, `.mjs`), build output and packages left out.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | "corpus" | "regressions" | "artifacts")
                    && !name.starts_with('.')
                {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") || name.ends_with(".mjs") || name.ends_with(".js") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for top in ["server", "client-wasm", "directory", "protocol", "tests", "xtask", "web", "fuzz"] {
        walk(&root().join(top), &mut out);
    }
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

#[test]
fn every_rust_file_starts_with_what_it_is() {
    let missing: Vec<String> = sources()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| !std::fs::read_to_string(p).unwrap_or_default().starts_with("//!"))
        .map(|p| relative(p))
        .collect();
    assert!(missing.is_empty(), "these files do not start with a `//!` line saying what they are: {missing:#?}");
}

#[test]
fn the_codemap_names_every_source_file() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let unnamed: Vec<String> = sources()
        .iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let folder = p.parent().and_then(Path::file_name).map(|n| format!("{}/", n.to_string_lossy()));
            // `lib.rs`, `main.rs` and `mod.rs` are named by their crate or folder.
            let by_folder = matches!(name.as_str(), "lib.rs" | "main.rs" | "mod.rs")
                || folder.as_deref().is_some_and(|f| map.contains(&format!("`{f}`")));
            !map.contains(&format!("`{name}`")) && !map.contains(&format!("/{name}`")) && !by_folder
        })
        .map(|p| relative(p))
        .collect();
    assert!(unnamed.is_empty(), "ARCHITECTURE.md's codemap does not name these files nor their folder: {unnamed:#?}");
}

#[test]
fn long_files_are_listed_with_a_reason_and_the_list_only_shrinks() {
    let mut too_long = Vec::new();
    for p in sources() {
        let lines = std::fs::read_to_string(&p).unwrap_or_default().lines().count();
        let rel = relative(&p);
        if lines > LONG && !LONG_FILES.iter().any(|(f, _)| *f == rel) {
            too_long.push(format!("{rel}: {lines} lines"));
        }
    }
    assert!(too_long.is_empty(), "over {LONG} lines and not in tidy.rs's list with a reason: {too_long:#?}");
    let shrunk: Vec<&str> = LONG_FILES
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| std::fs::read_to_string(root().join(f)).map_or(true, |t| t.lines().count() <= LONG))
        .collect();
    assert!(shrunk.is_empty(), "no longer long (or gone): take them off tidy.rs's list: {shrunk:?}");
}
