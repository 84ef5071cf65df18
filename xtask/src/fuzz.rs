//! `cargo xtask fuzz [--seconds N] [--skip-known-crashes] [TARGET…]`: builds the fuzz targets in
//! `fuzz/` with cargo-fuzz (installing it if missing), runs each for N seconds under memory
//! limits, and reports the executions each reached and any crash.
//!
//! cargo-fuzz needs nightly compiler flags; on a stable toolchain they are enabled with
//! `RUSTC_BOOTSTRAP=1`. The targets are built as the relay is, optimised without debug
//! assertions: Automerge 0.12 has debug-only checks that a peer's message could make panic (the
//! ones found are kept in `fuzz/regressions/` and avoided by `DocSync` now), and they would
//! stop every run within seconds. No sanitizer:
//! the code under test forbids `unsafe`, and panics and memory limits are what is looked for. The committed corpus in `fuzz/corpus/<target>` seeds each run; what a run
//! finds goes to `target/fuzz-corpus/<target>`, crashes to `fuzz/artifacts/<target>`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{cargo, step};

/// Every target in `fuzz/fuzz_targets`.
const TARGETS: &[&str] = &["wire_decode", "doc_sync_reader", "doc_sync_writer", "hsds_import", "automerge_load"];

fn cargo_fuzz() -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    cmd
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut features = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => seconds = it.next().context("--seconds needs a number")?.parse()?,
            // Remove when doc_sync bounds have landed: see the feature in fuzz/Cargo.toml.
            "--skip-known-crashes" => features = vec!["--features", "skip-known-doc-sync-crashes"],
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!("unknown fuzz target or option {other:?}; targets: {}", TARGETS.join(", ")),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    if !cargo_fuzz().arg("--version").output().is_ok_and(|o| o.status.success()) {
        step("install cargo-fuzz", cargo().args(["install", "--locked", "cargo-fuzz"]))?;
    }
    step("build the fuzz targets", cargo_fuzz().args(["build", "--release", "--sanitizer", "none"]).args(&features))?;
    let mut results = Vec::new();
    for target in &targets {
        let work = format!("target/fuzz-corpus/{target}");
        std::fs::create_dir_all(&work)?;
        println!("\n==> fuzz {target} for {seconds} s");
        let mut child = cargo_fuzz()
            .args(["run", "--release", "--sanitizer", "none"])
            .args(&features)
            .arg(target)
            .arg(&work)
            .arg(format!("fuzz/corpus/{target}"))
            .args(["--", "-rss_limit_mb=2048", "-malloc_limit_mb=2048", "-print_final_stats=1"])
            .arg(format!("-max_total_time={seconds}"))
            .stderr(Stdio::piped())
            .spawn()
            .context("could not start cargo fuzz")?;
        let mut executions = None;
        let mut crash = None;
        if let Some(stderr) = child.stderr.take() {
            for line in BufReader::new(stderr).lines() {
                let line = line?;
                if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                    executions = n.trim().parse::<u64>().ok();
                } else if line.contains("Test unit written to") {
                    crash = line.split_whitespace().last().map(str::to_owned);
                }
                if line.starts_with("==") || line.contains("panicked") || line.contains("Test unit written") {
                    eprintln!("{line}");
                }
            }
        }
        let status = child.wait()?;
        let ok = status.success() && crash.is_none();
        println!(
            "    {target}: {} executions{}",
            executions.map_or("?".into(), |n| n.to_string()),
            match &crash {
                Some(path) => format!(", crashed: {path}"),
                None if !ok => format!(", failed ({status})"),
                None => String::new(),
            }
        );
        results.push((target, executions, ok));
    }
    println!("\nexecutions per target:");
    for (target, executions, ok) in &results {
        let n = executions.map_or("?".into(), |n| n.to_string());
        println!("  {target:<16} {n:>12}{}", if *ok { "" } else { "  CRASHED" });
    }
    if results.iter().any(|(_, _, ok)| !ok) {
        bail!("a fuzz target crashed: keep the input under fuzz/regressions/<target>/ once it is fixed");
    }
    Ok(())
}
