//! Builds the web app into a directory the relay serves: the wasm client (size-optimised,
//! bindgen'd, `wasm-opt -Os`), the HTML, CSS and JavaScript modules with content-hashed names, a
//! service worker whose precache list names exactly those files, and next to every file its
//! brotli (`.br`) and gzip (`.gz`) variants at the highest levels, where they are smaller.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Sizes of what a browser downloads: each file raw and as its variants are served.
pub struct Report {
    /// Every file the service worker precaches, and the worker itself.
    pub files: Vec<Sizes>,
}

/// One file's bytes raw, as served gzipped and as served with brotli (a missing variant is
/// served raw, so it counts as the raw size).
pub struct Sizes {
    /// The path under the built directory.
    pub file: String,
    /// Bytes as built.
    pub raw: usize,
    /// Bytes served to a client that takes gzip.
    pub gzip: usize,
    /// Bytes served to a client that takes brotli.
    pub brotli: usize,
}

impl Report {
    /// Total bytes served gzipped.
    pub fn total_gzip(&self) -> usize {
        self.files.iter().map(|f| f.gzip).sum()
    }

    /// Total bytes served with brotli (what browsers take).
    pub fn total_brotli(&self) -> usize {
        self.files.iter().map(|f| f.brotli).sum()
    }

    /// Prints a table.
    pub fn print(&self) {
        println!("{:<40} {:>10} {:>10} {:>10}", "file", "bytes", "gzip", "brotli");
        for f in &self.files {
            println!("{:<40} {:>10} {:>10} {:>10}", f.file, f.raw, f.gzip, f.brotli);
        }
        let raw: usize = self.files.iter().map(|f| f.raw).sum();
        println!("{:<40} {raw:>10} {:>10} {:>10}", "total", self.total_gzip(), self.total_brotli());
    }
}

/// gzip at the highest level. The header carries no time or name, so builds are reproducible.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes)?;
    Ok(e.finish()?)
}

/// Brotli at the highest quality with the largest window browsers accept.
fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let params =
        brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 24, size_hint: bytes.len(), ..Default::default() };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Writes `file.br` and `file.gz` next to every file under `dir` (recursively), each only where
/// it is smaller than the file itself: the relay serves whichever the client prefers.
fn precompress(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        if e.file_type()?.is_dir() {
            precompress(&path)?;
            continue;
        }
        let bytes = std::fs::read(&path)?;
        for (suffix, packed) in [(".br", brotli(&bytes)?), (".gz", gzip(&bytes)?)] {
            if packed.len() < bytes.len() {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                std::fs::write(name, packed)?;
            }
        }
    }
    Ok(())
}

/// The bytes a file is served in with this suffix's coding: the variant's, or the file's own
/// where the build wrote no variant.
fn served_len(path: &Path, suffix: &str) -> Result<usize> {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    let variant = PathBuf::from(name);
    let chosen = if variant.is_file() { variant } else { path.to_path_buf() };
    Ok(usize::try_from(std::fs::metadata(&chosen)?.len())?)
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
            "--locked",
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
    // -Os rather than -Oz: about 20 KB larger raw but 2 KB smaller with brotli, and the
    // compressed bytes are what a phone downloads.
    crate::step(
        "optimise the wasm for size (wasm-opt -Os)",
        Command::new(&opt)
            .arg(staging.join("contactpoint_bg.wasm"))
            .args([
                "-Os",
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
        "js/admin.js",
        "js/statement.js",
        "js/print.js",
        "js/install-hint.js",
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
    // The administration screens load when someone opens them (they need the relay anyway), and
    // so do the accessibility statement, the printable contact sheet and the install hint, which
    // are needed now and then: none is precached nor part of a first visit (the service worker
    // keeps each once it was fetched).
    let on_demand = ["js/admin.js", "js/statement.js", "js/print.js", "js/install-hint.js"];
    assets.extend(renamed.iter().filter(|(old, _)| !on_demand.contains(&old.as_str())).map(|(_, n)| format!("./{n}")));
    let version = short_hash(format!("{index}{assets:?}").as_bytes());
    let sw = std::fs::read_to_string(out.join("sw.js"))?
        .replace("__VERSION__", &version)
        .replace("__ASSETS__", &serde_json::to_string(&assets)?);
    std::fs::write(out.join("sw.js"), sw)?;
    std::fs::write(out.join("version.txt"), &version)?;

    println!("\n==> precompress every file (brotli 11, gzip 9)");
    precompress(out)?;

    let mut files = Vec::new();
    let mut all: Vec<String> = vec!["sw.js".into()];
    all.extend(assets.iter().filter(|a| *a != "./").map(|a| a.trim_start_matches("./").to_owned()));
    for file in all {
        let path = out.join(&file);
        let raw = usize::try_from(std::fs::metadata(&path)?.len())?;
        files.push(Sizes { raw, gzip: served_len(&path, ".gz")?, brotli: served_len(&path, ".br")?, file });
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
