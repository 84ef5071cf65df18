//! Builds the web app into a directory the relay serves: the wasm client (size-optimised,
//! bindgen'd, `wasm-opt -Oz`), the HTML, CSS and JavaScript modules with content-hashed names, and
//! a service worker whose precache list names exactly those files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Sizes of what a browser downloads, raw and gzipped.
pub struct Report {
    /// (file, raw bytes, gzipped bytes)
    pub files: Vec<(String, usize, usize)>,
}

impl Report {
    /// Total gzipped bytes.
    pub fn total_gzip(&self) -> usize {
        self.files.iter().map(|f| f.2).sum()
    }

    /// Prints a table.
    pub fn print(&self) {
        println!("{:<40} {:>10} {:>10}", "file", "bytes", "gzipped");
        for (f, raw, gz) in &self.files {
            println!("{f:<40} {raw:>10} {gz:>10}");
        }
        let raw: usize = self.files.iter().map(|f| f.1).sum();
        println!("{:<40} {raw:>10} {:>10}", "total", self.total_gzip());
    }
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes)?;
    Ok(e.finish()?.len())
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..5])
}

/// The `wasm-opt` from the npm package `binaryen` (Debian's is too old for current Rust output).
fn wasm_opt() -> Result<PathBuf> {
    let p = Path::new("tests/js/node_modules/binaryen/bin/wasm-opt");
    if p.exists() {
        return Ok(p.to_path_buf());
    }
    bail!("wasm-opt is missing: run `npm ci --prefix tests/js` (cargo xtask run and test do it)")
}

/// Builds the app from `web/` and the wasm client into `out`.
pub fn build(out: &Path) -> Result<Report> {
    crate::step(
        "build the wasm client (size-optimised)",
        crate::cargo().args([
            "build",
            "-p",
            "contactpoint-client-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ]),
    )?;
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    let wasm = target.join("wasm32-unknown-unknown/wasm-release/contactpoint_client_wasm.wasm");
    let staging = target.join("web-staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    println!("\n==> generate JavaScript bindings");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        .typescript(false)
        .out_name("contactpoint")
        .generate(&staging)
        .context("wasm-bindgen failed")?;
    let opt = wasm_opt()?;
    crate::step(
        "optimise the wasm for size (wasm-opt -Oz)",
        Command::new(&opt)
            .arg(staging.join("contactpoint_bg.wasm"))
            .args([
                "-Oz",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
                "--enable-mutable-globals",
                "-o",
            ])
            .arg(staging.join("contactpoint_bg.opt.wasm")),
    )?;

    let _ = std::fs::remove_dir_all(out);
    copy_dir(Path::new("web"), out)?;
    std::fs::copy(staging.join("contactpoint.js"), out.join("js/contactpoint.js"))?;
    std::fs::copy(staging.join("contactpoint_bg.opt.wasm"), out.join("js/contactpoint_bg.wasm"))?;

    // Hash leaves first, so that every file's hash covers the hashed names it refers to.
    let order = [
        "js/contactpoint_bg.wasm",
        "js/contactpoint.js",
        "js/i18n.js",
        "js/store.js",
        "js/sync.js",
        "js/app.js",
        "app.css",
    ];
    let mut renamed: Vec<(String, String)> = Vec::new();
    for rel in order {
        let path = out.join(rel);
        let mut bytes = std::fs::read(&path).with_context(|| format!("{} is missing", path.display()))?;
        if !rel.ends_with(".wasm") {
            bytes = rewrite(&String::from_utf8(bytes)?, &renamed).into_bytes();
        }
        let (stem, ext) = rel.rsplit_once('.').context("file without extension")?;
        let new_rel = format!("{stem}.{}.{ext}", short_hash(&bytes));
        std::fs::write(out.join(&new_rel), &bytes)?;
        std::fs::remove_file(&path)?;
        renamed.push((rel.to_owned(), new_rel));
    }
    let index = rewrite(&std::fs::read_to_string(out.join("index.html"))?, &renamed);
    std::fs::write(out.join("index.html"), &index)?;

    let mut assets: Vec<String> = vec![
        "./".into(),
        "./index.html".into(),
        "./manifest.webmanifest".into(),
        "./icons/icon.svg".into(),
        "./icons/maskable.svg".into(),
    ];
    assets.extend(renamed.iter().map(|(_, n)| format!("./{n}")));
    let version = short_hash(format!("{index}{assets:?}").as_bytes());
    let sw = std::fs::read_to_string(out.join("sw.js"))?
        .replace("__VERSION__", &version)
        .replace("__ASSETS__", &serde_json::to_string(&assets)?);
    std::fs::write(out.join("sw.js"), sw)?;
    std::fs::write(out.join("version.txt"), &version)?;

    let mut files = Vec::new();
    let mut all: Vec<String> =
        vec!["index.html".into(), "sw.js".into(), "manifest.webmanifest".into(), "icons/icon.svg".into()];
    all.extend(renamed.into_iter().map(|(_, n)| n));
    for f in all {
        let b = std::fs::read(out.join(&f))?;
        files.push((f, b.len(), gzip_len(&b)?));
    }
    Ok(Report { files })
}

/// Replaces references to renamed files: `"./x.js"`, `'./x.js'`, `"js/x.js"`, `"x.wasm"`, …
fn rewrite(text: &str, renamed: &[(String, String)]) -> String {
    let mut s = text.to_owned();
    for (old, new) in renamed {
        let (old_base, new_base) = (base(old), base(new));
        for q in ['"', '\''] {
            s = s.replace(&format!("{q}{old}{q}"), &format!("{q}{new}{q}"));
            s = s.replace(&format!("{q}./{old_base}{q}"), &format!("{q}./{new_base}{q}"));
            s = s.replace(&format!("{q}{old_base}{q}"), &format!("{q}{new_base}{q}"));
        }
    }
    s
}

fn base(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_rewritten_in_every_quoting() {
        let renamed = vec![("js/app.js".to_owned(), "js/app.0123456789.js".to_owned())];
        assert_eq!(rewrite(r#"<script src="js/app.js">"#, &renamed), r#"<script src="js/app.0123456789.js">"#);
        assert_eq!(rewrite("import x from './app.js';", &renamed), "import x from './app.0123456789.js';");
        assert_eq!(rewrite(r#"import "./webapp.js";"#, &renamed), r#"import "./webapp.js";"#);
    }
}
