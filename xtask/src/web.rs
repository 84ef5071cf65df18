//! Builds the web app into a directory the relay serves: the wasm client (size-optimised,
//! bindgen'd, `wasm-opt -Os --converge`), the app's JavaScript modules bundled into one file and minified (esbuild), the
//! modules loaded on demand beside it, the HTML and CSS, all with content-hashed names, a service
//! worker whose precache list names exactly those files, and next to every file its brotli
//! (`.br`) and gzip (`.gz`) variants at the highest levels, where they are smaller. It also checks
//! the JavaScript: types (`tsc --checkJs` against the wasm client's generated declarations) and
//! formatting (prettier).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
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

/// Brotli at the highest quality with the largest window browsers accept, by the reference
/// encoder that Node.js carries: on the wasm it came out 1,138 bytes smaller than the Rust port
/// at the same settings (481,829 against 482,967), and a phone downloads those bytes.
const BROTLI: &str = r#"
const { brotliCompressSync, constants: c } = require("node:zlib");
const fs = require("node:fs");
for (const f of process.argv.slice(1)) {
  const raw = fs.readFileSync(f);
  const params = { [c.BROTLI_PARAM_QUALITY]: 11, [c.BROTLI_PARAM_LGWIN]: 24, [c.BROTLI_PARAM_SIZE_HINT]: raw.length };
  const packed = brotliCompressSync(raw, { params });
  if (packed.length < raw.length) fs.writeFileSync(f + ".br", packed);
}
"#;

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, into: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            files_under(&e.path(), into)?;
        } else {
            into.push(e.path());
        }
    }
    Ok(())
}

/// Writes `file.br` and `file.gz` next to every file under `dir` (recursively), each only where
/// it is smaller than the file itself: the relay serves whichever the client prefers.
fn precompress(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    files_under(dir, &mut files)?;
    for path in &files {
        let bytes = std::fs::read(path)?;
        let packed = gzip(&bytes)?;
        if packed.len() < bytes.len() {
            let mut name = path.clone().into_os_string();
            name.push(".gz");
            std::fs::write(name, packed)?;
        }
    }
    let status = Command::new("node")
        .args(["-e", BROTLI, "--"])
        .args(&files)
        .status()
        .context("could not run node (Node.js 20 or later is needed)")?;
    ensure!(status.success(), "brotli compression (node) failed: {status}");
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

/// A program from the pinned npm packages of tests/js: `wasm-opt` (binaryen; Debian's is too old
/// for current Rust output), `esbuild`, `tsc` and `prettier`.
fn npm_bin(path: &str) -> Result<PathBuf> {
    let p = Path::new("tests/js/node_modules").join(path);
    if p.exists() {
        return Ok(p);
    }
    bail!("{} is missing: run `npm ci --prefix tests/js` (cargo xtask run and test do it)", p.display())
}

/// The app's modules loaded when first opened: neither bundled nor part of a first visit (the
/// service worker keeps each once fetched, and a new version's copy of each a device used).
/// Each is lent what it needs of the app when it is called.
const ON_DEMAND: [&str; 4] = ["admin.js", "statement.js", "print.js", "install-hint.js"];

/// The editing screens, loaded on demand too: bundled on their own, importing what they need of
/// the app from the app's bundle through `LENT` (see `bundle`).
const EDITING: &str = "editing.js";

/// The module through which the editing screens import the app's modules; the app's bundle
/// exports what it exports.
const LENT: &str = "lent.js";

/// Files of `web/` that configure the checks and are not part of the app.
const NOT_SHIPPED: [&str; 3] = ["tsconfig.json", "tsconfig.sw.json", ".prettierrc.json"];

/// Where the bindings and the optimised wasm are made, `CARGO_TARGET_DIR` respected.
pub(crate) fn staging_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    target.join("web-staging")
}

/// What esbuild is told for every file it writes: minified (whitespace, syntax and local
/// names; strings, and so every text a user reads, stay as they are). With brotli the bundle
/// took 33,607 bytes unminified and 26,473 minified, the style sheet 2,726 and 2,030.
const ESBUILD: [&str; 4] = ["--minify", "--target=es2022", "--charset=utf8", "--log-level=warning"];

/// Bundles `web/js/app.js` and every module it imports, the wasm bindings included, into
/// `out/js/app.js`: one download instead of one per module, minified. The modules loaded on
/// demand stay apart, each minified on its own; the bundle names them by URL beside itself
/// (`web/js/on-demand.js`), which esbuild leaves as written. The editing screens are bundled on their own into `out/js/editing.js`, their import
/// of `LENT` pointed at the app's bundle, which exports the same names: the two must share no
/// module, or the editing screens would run on a copy of the app's state (checked here). The
/// style sheet is minified too.
fn bundle(staging: &Path, out: &Path) -> Result<()> {
    let src = staging.join("js");
    let _ = std::fs::remove_dir_all(&src);
    copy_dir(Path::new("web/js"), &src)?;
    std::fs::copy(staging.join("contactpoint.js"), src.join("contactpoint.js"))?;
    let esbuild = npm_bin(".bin/esbuild")?;
    let app_meta = staging.join("app.meta.json");
    let mut cmd = Command::new(&esbuild);
    cmd.arg(src.join("app.js"))
        .args(["--bundle", "--format=esm"])
        .args(ESBUILD)
        .arg(format!("--metafile={}", app_meta.display()))
        .arg(format!("--outfile={}", out.join("js/app.js").display()));
    crate::step("bundle the app's modules (esbuild)", &mut cmd)?;
    let editing_meta = staging.join("editing.meta.json");
    let editing = out.join("js").join(EDITING);
    let mut cmd = Command::new(&esbuild);
    cmd.arg(src.join(EDITING))
        .args(["--bundle", "--format=esm"])
        .args(ESBUILD)
        .arg(format!("--external:./{LENT}"))
        .arg(format!("--metafile={}", editing_meta.display()))
        .arg(format!("--outfile={}", editing.display()));
    crate::step("bundle the editing screens (esbuild)", &mut cmd)?;
    let shared = shared_inputs(&app_meta, &editing_meta)?;
    if !shared.is_empty() {
        bail!(
            "the editing screens carry copies of the app's modules {shared:?}: import them through {LENT} (and export them there)"
        );
    }
    let text = std::fs::read_to_string(&editing)?;
    let pointed = text.replace(&format!("\"./{LENT}\""), "\"./app.js\"");
    if pointed == text {
        bail!("the editing screens' bundle does not import ./{LENT}");
    }
    std::fs::write(&editing, pointed)?;
    let mut cmd = Command::new(&esbuild);
    cmd.args(ON_DEMAND.map(|m| src.join(m)))
        .arg("--format=esm")
        .args(ESBUILD)
        .arg(format!("--outdir={}", out.join("js").display()));
    crate::step("minify the modules loaded on demand (esbuild)", &mut cmd)?;
    let mut cmd = Command::new(&esbuild);
    cmd.arg("web/app.css").args(ESBUILD).arg(format!("--outfile={}", out.join("app.css").display()));
    crate::step("minify the style sheet (esbuild)", &mut cmd)?;
    // The worker's script is fetched by every first visit and checked at every start: its
    // comments stay in the source. Its placeholders are a string and a free name, which
    // minifying keeps.
    let mut cmd = Command::new(&esbuild);
    cmd.arg("web/sw.js").args(ESBUILD).arg(format!("--outfile={}", out.join("sw.js").display()));
    crate::step("minify the service worker (esbuild)", &mut cmd)
}

/// The page without its comments, which are for whoever reads the source.
fn strip_html_comments(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        let Some(len) = rest[start..].find("-->") else { break };
        // The comment's line goes with it when nothing else is on it.
        let kept = &rest[..start];
        let line_start = kept.trim_end_matches([' ', '\t']);
        let after = &rest[start + len + 3..];
        if line_start.ends_with('\n') && after.starts_with('\n') {
            out.push_str(line_start);
            rest = &after[1..];
        } else {
            out.push_str(kept);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The source modules two esbuild runs both bundled, from their metafiles (`inputs` names every
/// file a bundle read).
fn shared_inputs(a: &Path, b: &Path) -> Result<Vec<String>> {
    let inputs = |p: &Path| -> Result<std::collections::BTreeSet<String>> {
        let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p)?)?;
        let inputs = meta["inputs"].as_object().with_context(|| format!("{} lists no inputs", p.display()))?;
        Ok(inputs.keys().cloned().collect())
    };
    Ok(inputs(a)?.intersection(&inputs(b)?).cloned().collect())
}

/// The TypeScript declarations of the wasm client's exports, which `build` has wasm-bindgen write.
pub fn declarations() -> PathBuf {
    staging_dir().join("contactpoint.d.ts")
}

/// Checks the web app's JavaScript: every module's types with `tsc --checkJs` (each starts with
/// `// @ts-check`), the wasm client's calls against the declarations wasm-bindgen generated in
/// the last build, the service worker's types, and the formatting with prettier. Needs a build first (`build` makes the
/// declarations).
pub fn check_js() -> Result<()> {
    let staging = staging_dir();
    let declarations = declarations();
    if !declarations.is_file() {
        bail!("{} is missing: build the web app first (cargo xtask web)", declarations.display());
    }
    // The modules import `./contactpoint.js`, which the build puts beside them: `rootDirs` lets
    // tsc find its declarations in the staging directory wherever the target directory is.
    let root = std::env::current_dir()?;
    let config = serde_json::json!({
        "extends": root.join("web/tsconfig.json"),
        "compilerOptions": { "rootDirs": [root.join("web/js"), root.join(&staging)] },
    });
    let config_path = root.join(&staging).join("tsconfig.json");
    std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)?;
    let tsc = npm_bin(".bin/tsc")?;
    crate::step("JavaScript types (tsc --checkJs)", Command::new(&tsc).arg("-p").arg(&config_path))?;
    // The service worker runs in a worker's global scope, with other types than a page's.
    crate::step("service worker types (tsc --checkJs)", Command::new(&tsc).args(["-p", "web/tsconfig.sw.json"]))?;
    crate::step(
        "JavaScript format check (prettier)",
        Command::new(npm_bin(".bin/prettier")?).args(["--check", "--log-level=warn", "web/**/*.js"]),
    )
}

/// How the wasm client is compiled beyond its profile (`wasm-release`), all to make the download
/// smaller without changing what the app does. The standard library is compiled with it
/// (`-Zbuild-std`), for size like the rest and without what these settings make unreachable:
/// - a panic stops the wasm at once (`immediate-abort`) rather than formatting a message first;
///   with `panic = "abort"` the message went to a standard error the browser does not have,
///   so nothing a user or the app could see changes, and the formatting and the messages with
///   their source locations leave the build;
/// - `Debug` formatting writes nothing (`fmt-debug=none`): the app shows no `Debug` output; the
///   errors it shows are written with `Display`, and our crates quote values in them with
///   `escape_debug`, never `{:?}` (a tidy test keeps it so). Only some of Automerge's texts for
///   corrupt data, and serde's for JSON from the app's own code that does not fit, lose the
///   value they name. 1.3 KB less than naming types only (`shallow`);
/// - identical functions left after monomorphisation are merged (`merge-functions`), each
///   merged one kept as a call to the other, so no two functions share an address.
///
/// These are unstable options of the stable compiler, enabled with `RUSTC_BOOTSTRAP=1` for this
/// build only (as the fuzz targets are); `-Cpanic=immediate-abort` needs Rust 1.92 or later,
/// which [`crate::ensure_rust_src`] checks. Together they took 35 KB off the wasm as served with
/// brotli (517,226 → 481,089 bytes); `immediate-abort` alone 26 KB.
const WASM_RUSTFLAGS: [&str; 5] = [
    "-Zunstable-options",
    "-Cpanic=immediate-abort",
    "-Zlocation-detail=none",
    "-Zfmt-debug=none",
    "-Zmerge-functions=trampolines",
];

/// Builds the app from `web/` and the wasm client into `out`.
pub fn build(out: &Path) -> Result<Report> {
    crate::ensure_rust_src()?;
    let mut cargo = crate::cargo();
    cargo
        .args([
            "build",
            "--locked",
            "-p",
            "contactpoint-client-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
            "-Zbuild-std=std,panic_abort",
        ])
        .env("RUSTC_BOOTSTRAP", "1")
        // With `--target`, these reach the wasm only, not build scripts or macros; they replace
        // whatever RUSTFLAGS the environment has, so every build of the app is the same.
        .env("CARGO_ENCODED_RUSTFLAGS", WASM_RUSTFLAGS.join("\x1f"))
        .env_remove("RUSTFLAGS");
    crate::step("build the wasm client (size-optimised, with its own standard library)", &mut cargo)?;
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    let wasm = target.join("wasm32-unknown-unknown/wasm-release/contactpoint_client_wasm.wasm");
    let staging = staging_dir();
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    println!("\n==> generate JavaScript bindings");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        // The declarations are for the type check of the JavaScript; nothing ships them.
        .typescript(true)
        .out_name("contactpoint")
        .generate(&staging)
        .context("wasm-bindgen failed")?;
    let opt = npm_bin("binaryen/bin/wasm-opt")?;
    // -Os rather than -Oz: about 20 KB larger raw but 2 KB smaller with brotli, and the
    // compressed bytes are what a phone downloads. Repeated until the size stops falling
    // (--converge), it takes 3 KB more off as served with brotli (517,421 → 514,450 bytes)
    // for a few more passes; running -Os twice took less off. With the compiler's settings
    // above, -Oz is 3 KB larger and `--merge-similar-functions` 2 KB larger.
    crate::step(
        "optimise the wasm for size (wasm-opt -Os --converge)",
        Command::new(&opt)
            .arg(staging.join("contactpoint_bg.wasm"))
            .args([
                "-Os",
                "--converge",
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
    // The modules themselves are not served: the bundle and the modules loaded on demand are.
    std::fs::remove_dir_all(out.join("js"))?;
    for f in NOT_SHIPPED {
        std::fs::remove_file(out.join(f))?;
    }
    std::fs::create_dir_all(out.join("js"))?;
    bundle(&staging, out)?;
    std::fs::copy(staging.join("contactpoint_bg.opt.wasm"), out.join("js/contactpoint_bg.wasm"))?;

    // Hash leaves first, so that every file's hash covers the hashed names it refers to. The
    // icons and the manifest are hashed too: served as immutable, the worker's precache takes
    // them from the HTTP cache instead of asking the relay again.
    let order = [
        "icons/icon.svg",
        "icons/maskable.svg",
        "icons/apple-touch-icon.png",
        "manifest.webmanifest",
        "js/contactpoint_bg.wasm",
        "js/admin.js",
        "js/statement.js",
        "js/print.js",
        "js/install-hint.js",
        "js/app.js",
        // After the bundle, which it imports (and which learns its name from index.html).
        "js/editing.js",
        "app.css",
    ];
    let mut renamed: Vec<(String, String)> = Vec::new();
    for rel in order {
        let path = out.join(rel);
        let mut bytes = std::fs::read(&path).with_context(|| format!("{} is missing", path.display()))?;
        if !rel.ends_with(".wasm") && !rel.ends_with(".png") {
            bytes = rewrite(&String::from_utf8(bytes)?, &renamed).into_bytes();
        }
        let (stem, ext) = rel.rsplit_once('.').context("file without extension")?;
        let new_rel = format!("{stem}.{}.{ext}", short_hash(&bytes));
        std::fs::write(out.join(&new_rel), &bytes)?;
        std::fs::remove_file(&path)?;
        renamed.push((rel.to_owned(), new_rel));
    }
    let index = strip_html_comments(&rewrite(&std::fs::read_to_string(out.join("index.html"))?, &renamed));
    std::fs::write(out.join("index.html"), &index)?;

    // The shell once, as "./" (what the first visit opened and the worker answers every
    // navigation with): also precaching "./index.html" downloaded it a second time.
    let mut assets: Vec<String> = vec!["./".into()];
    // The administration screens load when someone opens them (they need the relay anyway), and
    // so do the accessibility statement, the printable contact sheet and the install hint, which
    // are needed now and then: none is part of a first visit (the service worker keeps each once
    // it was fetched). Nor are the icons only an installation asks for (the
    // home screen icon of iOS and the maskable icon of the manifest): the browser fetches them
    // when the app is installed, which takes the network anyway, and the app never shows them.
    // The editing screens are an editor's; the worker keeps them once fetched, and precaches a
    // new version's modules on demand that the device used before (web/sw.js).
    let mut on_demand = ON_DEMAND.map(|m| format!("js/{m}")).to_vec();
    on_demand.push(format!("js/{EDITING}"));
    let not_precached =
        [on_demand.clone(), vec!["icons/apple-touch-icon.png".into(), "icons/maskable.svg".into()]].concat();
    assets.extend(renamed.iter().filter(|(old, _)| !not_precached.contains(old)).map(|(_, n)| format!("./{n}")));
    let on_demand: Vec<String> =
        renamed.iter().filter(|(old, _)| on_demand.contains(old)).map(|(_, n)| format!("./{n}")).collect();
    let version = short_hash(format!("{index}{assets:?}{on_demand:?}").as_bytes());
    let sw = std::fs::read_to_string(out.join("sw.js"))?
        .replace("__VERSION__", &version)
        .replace("__ASSETS__", &serde_json::to_string(&assets)?)
        .replace("__ON_DEMAND__", &serde_json::to_string(&on_demand)?);
    std::fs::write(out.join("sw.js"), sw)?;
    std::fs::write(out.join("version.txt"), &version)?;

    println!("\n==> precompress every file (brotli 11, gzip 9)");
    precompress(out)?;

    let mut files = Vec::new();
    let mut all: Vec<String> = vec!["sw.js".into()];
    all.extend(
        assets.iter().map(|a| if a == "./" { "index.html".into() } else { a.trim_start_matches("./").to_owned() }),
    );
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
    fn a_module_in_both_bundles_is_found() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let meta = |name: &str, inputs: &[&str]| -> Result<PathBuf> {
            let map: serde_json::Map<String, serde_json::Value> =
                inputs.iter().map(|i| ((*i).to_owned(), serde_json::json!({ "bytes": 1 }))).collect();
            let path = dir.path().join(name);
            std::fs::write(&path, serde_json::json!({ "inputs": map, "outputs": {} }).to_string())?;
            Ok(path)
        };
        let app = meta("app.json", &["js/app.js", "js/dom.js", "js/lent.js"])?;
        let apart = meta("apart.json", &["js/editing.js", "js/screen-edit.js"])?;
        let copying = meta("copying.json", &["js/editing.js", "js/dom.js"])?;
        assert!(shared_inputs(&app, &apart)?.is_empty());
        assert_eq!(shared_inputs(&app, &copying)?, vec!["js/dom.js".to_owned()]);
        Ok(())
    }

    #[test]
    fn the_page_loses_its_comments_and_their_lines() {
        let page =
            "<head>\n  <!-- why -->\n  <meta a>\n  <!-- two\n       lines -->\n  <x><!-- inline --></x>\n</head>";
        assert_eq!(strip_html_comments(page), "<head>\n  <meta a>\n  <x></x>\n</head>");
        assert_eq!(strip_html_comments("<p>no end <!-- here"), "<p>no end <!-- here");
    }

    #[test]
    fn references_are_rewritten_in_every_quoting() {
        let renamed = vec![("js/app.js".to_owned(), "js/app.0123456789.js".to_owned())];
        assert_eq!(rewrite(r#"<script src="js/app.js">"#, &renamed), r#"<script src="js/app.0123456789.js">"#);
        assert_eq!(rewrite("import x from './app.js';", &renamed), "import x from './app.0123456789.js';");
        assert_eq!(rewrite(r#"import "./webapp.js";"#, &renamed), r#"import "./webapp.js";"#);
    }
}
