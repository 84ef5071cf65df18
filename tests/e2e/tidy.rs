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

/// Whether this line opens a file's test module in place (`mod tests {`, `pub(crate) mod tests {`);
/// `mod tests;` names another file, and shipped code may follow it.
fn is_test_module(line: &str) -> bool {
    let l = line.trim_start();
    let l = l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
    l.starts_with("mod tests {")
}

/// The browser's wasm is built with `Debug` formatting compiled out (`-Zfmt-debug=none`, see
/// `xtask/src/web.rs`): a `{:?}` there writes nothing, so a message that quoted a value with it
/// would reach the user with a gap. The crates built into the wasm format no message with
/// `Debug` outside their tests; a value is quoted with `escape_debug` instead.
#[test]
fn the_browsers_code_writes_no_message_with_debug() {
    let mut found = Vec::new();
    for p in sources() {
        let rel = relative(&p);
        let shipped = ["protocol/src/", "directory/src/", "client-wasm/src/"].iter().any(|c| rel.starts_with(c));
        if !shipped || rel.ends_with("/tests.rs") || rel.contains("/tests/") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        // A file's tests come last, in its `mod tests` (after `#[cfg(test)]` and perhaps other
        // attributes); other items behind `#[cfg(test)]` may stand before shipped code.
        for (n, line) in text.lines().enumerate().take_while(|(_, l)| !is_test_module(l)) {
            if line.contains(":?}") || line.contains(":#?}") {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "`Debug` formatting in code built into the browser's wasm: {found:#?}");
}

/// The licences `deny.toml` allows.
fn allowed_licences() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("deny.toml")).expect("deny.toml");
    let table: toml::Table = text.parse().expect("deny.toml is TOML");
    table["licenses"]["allow"]
        .as_array()
        .expect("licenses.allow")
        .iter()
        .filter_map(|v| v.as_str())
        .map(str::to_owned)
        .collect()
}

/// Whether an SPDX licence expression is satisfied by the allowed licences: `A OR B` when one
/// is, `A AND B` when both are, `A WITH exception` only as allowed whole, parentheses as
/// written. The older `A/B` is read as `A OR B`.
fn licence_allowed(expression: &str, allowed: &[String]) -> bool {
    let spaced = expression.replace('(', " ( ").replace(')', " ) ").replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    fn or(t: &[&str], i: &mut usize, allowed: &[String]) -> Option<bool> {
        let mut v = and(t, i, allowed)?;
        while t.get(*i) == Some(&"OR") {
            *i += 1;
            v |= and(t, i, allowed)?;
        }
        Some(v)
    }
    fn and(t: &[&str], i: &mut usize, allowed: &[String]) -> Option<bool> {
        let mut v = one(t, i, allowed)?;
        while t.get(*i) == Some(&"AND") {
            *i += 1;
            v &= one(t, i, allowed)?;
        }
        Some(v)
    }
    fn one(t: &[&str], i: &mut usize, allowed: &[String]) -> Option<bool> {
        let token = *t.get(*i)?;
        *i += 1;
        if token == "(" {
            let v = or(t, i, allowed)?;
            (t.get(*i) == Some(&")")).then_some(())?;
            *i += 1;
            return Some(v);
        }
        let mut name = token.to_owned();
        if t.get(*i) == Some(&"WITH") {
            name = format!("{name} WITH {}", t.get(*i + 1)?);
            *i += 2;
        }
        Some(allowed.contains(&name))
    }
    let mut i = 0;
    or(&tokens, &mut i, allowed).is_some_and(|v| v) && i == tokens.len()
}

#[test]
fn licence_expressions_are_read_as_spdx_writes_them() {
    let allowed: Vec<String> =
        ["MIT", "Apache-2.0", "Unicode-3.0", "Apache-2.0 WITH LLVM-exception"].map(String::from).into();
    for ok in [
        "MIT",
        "MIT OR GPL-3.0",
        "(MIT OR Apache-2.0) AND Unicode-3.0",
        "MIT/Apache-2.0",
        "Apache-2.0 WITH LLVM-exception",
    ] {
        assert!(licence_allowed(ok, &allowed), "{ok}");
    }
    for refused in [
        "GPL-3.0",
        "MIT AND GPL-3.0",
        "(MIT OR Apache-2.0) AND GPL-3.0",
        "GPL-2.0 WITH Classpath-exception-2.0",
        "MIT OR",
        "(MIT",
    ] {
        assert!(!licence_allowed(refused, &allowed), "{refused}");
    }
}

/// Every Rust package the workspace depends on comes from the registry and has a licence that
/// `deny.toml` allows (what `cargo deny check licenses sources` checks, without installing it).
#[test]
fn every_dependency_has_an_allowed_licence_and_comes_from_the_registry() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--all-features"])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let allowed = allowed_licences();
    let mut problems = Vec::new();
    for p in metadata["packages"].as_array().expect("packages") {
        let (name, version) = (p["name"].as_str().unwrap_or("?"), p["version"].as_str().unwrap_or("?"));
        let Some(source) = p["source"].as_str() else { continue }; // the workspace's own crates
        if !source.starts_with("registry+") {
            problems.push(format!("{name} {version} comes from {source}"));
        }
        match p["license"].as_str() {
            Some(l) if licence_allowed(l, &allowed) => {}
            Some(l) => problems.push(format!("{name} {version}: {l}")),
            None => problems.push(format!("{name} {version} states no SPDX licence")),
        }
    }
    assert!(problems.is_empty(), "dependencies deny.toml does not allow:\n{}", problems.join("\n"));
}
