//! Replays every committed fuzz input through the code its fuzz target runs: the seed corpus in
//! `fuzz/corpus/<target>/` and every crash found, kept in `fuzz/regressions/<target>/`. So the
//! regular test run checks them without cargo-fuzz.

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Runs every file under `dir/<target>/` through the target; returns how many ran and the
/// files that panicked.
fn replay(dir: &Path) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failed = Vec::new();
    for target in harness::TARGETS {
        let Ok(entries) = std::fs::read_dir(dir.join(target)) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).expect("a fuzz input reads");
            ran += 1;
            if std::panic::catch_unwind(|| harness::run(target, &bytes)).is_err() {
                failed.push(format!("{target}: {}", file.display()));
            }
        }
    }
    (ran, failed)
}

#[test]
fn fuzz_corpus_and_regressions_replay_cleanly() {
    let (corpus, mut failed) = replay(&fuzz_dir().join("corpus"));
    let (regressions, more) = replay(&fuzz_dir().join("regressions"));
    failed.extend(more);
    assert!(corpus > 0, "the fuzz corpus is missing");
    assert!(
        failed.is_empty(),
        "{} of {} fuzz inputs failed:\n{}",
        failed.len(),
        corpus + regressions,
        failed.join("\n")
    );
}
