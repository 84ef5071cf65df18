//! The web benchmark: what a phone downloads (gzipped, against the 500 KB budget and against the
//! official Automerge wasm), how long the app takes offline from a cold start to the home
//! screen with all of Finland's sample documents stored, and search latency per keystroke in the
//! browser. The browser half is `xtask/bench-web.mjs`, run in Debian's Chromium.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::{Value, json};

/// The download budget, gzipped. KB here are 1024 bytes, as `cargo xtask web` prints them.
const BUDGET: usize = 500 * 1024;

/// The offline cold start's budget to the home screen, median, in desktop Chromium and with the
/// CPU four times slower.
const COLD_START_GOAL_MS: u32 = 300;
const COLD_START_GOAL_X4_MS: u32 = 1000;

/// How long the script may go without printing a line. It prints one per measured run; its own
/// waits are bounded at 30 s (60 s for the first sync), so this only catches a hung browser.
const LINE_WAIT: Duration = Duration::from_secs(180);

/// Runs the web benchmark, prints it, writes target/bench/web.json and returns the figures.
pub fn run(quick: bool) -> Result<Value> {
    println!("\n== web: download size, offline cold start, search per keystroke ==");
    let web = Path::new(crate::WEB_OUT);
    ensure!(
        web.join("index.html").is_file() && web.join("sw.js").is_file(),
        "{} has no built web app: run cargo xtask web first",
        web.display()
    );
    let size = download_size(web)?;
    let browser = browser(web, quick)?;
    let figures = json!({
        "download": size,
        "local_data": browser["local"],
        "cold_start": browser["cold_start"],
        "search": browser["search"],
    });
    std::fs::create_dir_all("target/bench")?;
    std::fs::write("target/bench/web.json", serde_json::to_string_pretty(&figures)?)?;
    println!("figures written to target/bench/web.json");
    Ok(figures)
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    // The best level, as the build's size report uses: a server compressing on the fly may
    // send a little more.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes)?;
    Ok(e.finish()?.len())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let e = e?;
        if e.file_type()?.is_dir() {
            files_under(&e.path(), out)?;
        } else {
            out.push(e.path());
        }
    }
    Ok(())
}

fn kb(bytes: usize) -> f64 {
    bytes as f64 / 1024.0
}

/// The gzipped size of the app's wasm, JavaScript, CSS and HTML, per kind and in all, and of the
/// official Automerge package's wasm for comparison.
fn download_size(web: &Path) -> Result<Value> {
    let mut files = Vec::new();
    files_under(web, &mut files)?;
    files.sort();
    let mut kinds: Vec<(&str, usize, usize)> = vec![("wasm", 0, 0), ("js", 0, 0), ("css", 0, 0), ("html", 0, 0)];
    let mut wasm_gz = 0;
    for f in &files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        let Some(kind) = kinds.iter_mut().find(|k| k.0 == ext) else { continue };
        let bytes = std::fs::read(f)?;
        let gz = gzip_len(&bytes)?;
        kind.1 += bytes.len();
        kind.2 += gz;
        if ext == "wasm" {
            wasm_gz += gz;
        }
    }
    let raw: usize = kinds.iter().map(|k| k.1).sum();
    let total: usize = kinds.iter().map(|k| k.2).sum();
    let automerge = automerge_wasm()?;
    let automerge_raw = std::fs::read(&automerge)?;
    let automerge_gz = gzip_len(&automerge_raw)?;

    println!("download (gzipped, best level):");
    for (kind, r, gz) in &kinds {
        println!("  {kind:<6} {:>9.1} KB raw {:>9.1} KB gzipped", kb(*r), kb(*gz));
    }
    let verdict = if total <= BUDGET { "within" } else { "OVER" };
    println!(
        "  total  {:>9.1} KB raw {:>9.1} KB gzipped: {verdict} the {} KB budget ({:.0}% of it)",
        kb(raw),
        kb(total),
        BUDGET / 1024,
        100.0 * total as f64 / BUDGET as f64
    );
    println!(
        "  the official Automerge wasm alone ({}): {:.1} KB raw, {:.1} KB gzipped; ours is {:.0}% of it, the whole app {:.0}%",
        automerge.display(),
        kb(automerge_raw.len()),
        kb(automerge_gz),
        100.0 * wasm_gz as f64 / automerge_gz as f64,
        100.0 * total as f64 / automerge_gz as f64
    );
    let per_kind: serde_json::Map<String, Value> =
        kinds.iter().map(|(k, r, gz)| ((*k).to_owned(), json!({ "bytes": r, "gzipped": gz }))).collect();
    Ok(json!({
        "kinds": per_kind,
        "bytes": raw,
        "gzipped": total,
        "budget_gzipped": BUDGET,
        "within_budget": total <= BUDGET,
        "automerge_wasm": { "path": automerge.display().to_string(), "bytes": automerge_raw.len(), "gzipped": automerge_gz },
    }))
}

/// The wasm of the `@automerge/automerge` package the interop tests install. Its builds for
/// different bundlers hold the same module; the plain web one is preferred when it is there.
fn automerge_wasm() -> Result<PathBuf> {
    let dir = Path::new("tests/js/node_modules/@automerge/automerge");
    let mut files = Vec::new();
    files_under(dir, &mut files).context("run `npm ci --prefix tests/js` first")?;
    files.retain(|f| f.extension().is_some_and(|e| e == "wasm"));
    files.sort();
    let web = files.iter().find(|f| f.to_string_lossy().contains("/web/"));
    web.or(files.first()).cloned().with_context(|| format!("no .wasm file under {}", dir.display()))
}

/// A relay process on loopback with the sample data, serving the built app.
struct Relay {
    child: Child,
    addr: SocketAddr,
    invite: String,
}

impl Relay {
    fn start(bin: &Path, db: &Path, web: &Path) -> Result<Relay> {
        let mut child = Command::new(bin)
            .args(["serve", "--seed", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .arg("--web")
            .arg(web)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("could not start {}", bin.display()))?;
        let Some(started) = contactpoint_server::banner::read_startup(child.stdout.take().context("no stdout")?)?
        else {
            let _ = child.kill();
            bail!("the relay exited before listening");
        };
        let addr = started.addr;
        let invite = started.invite.context("the relay printed no invite code on a fresh database")?;
        Ok(Relay { child, addr, invite })
    }

    fn stop(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number of documents the relay has: what the app stores once it has synced everything.
fn document_count(bin: &Path, db: &Path) -> Result<usize> {
    let out = Command::new(bin).args(["export", "--format", "hsds-json", "--db"]).arg(db).output()?;
    ensure!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    v["x_contactpoint_documents"].as_array().map(Vec::len).context("the export lists no documents")
}

/// The browser script, speaking one JSON line per event; stdout is read on a thread so that
/// every wait for a line is bounded.
struct Script {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Script {
    fn start(args: &[&str]) -> Result<Script> {
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let mut child = Command::new(&node)
            .arg("xtask/bench-web.mjs")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not run `{node}` (Node.js 20 or later is needed)"))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut err = child.stderr.take().context("no stderr")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut s);
            s
        });
        Ok(Script { child, stdin, lines, stderr })
    }

    /// The next JSON line that is not progress (progress is printed as it comes).
    fn next(&mut self) -> Result<Value> {
        loop {
            let line = match self.lines.recv_timeout(LINE_WAIT) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => return self.failed(&format!("printed nothing for {LINE_WAIT:?}")),
                Err(RecvTimeoutError::Disconnected) => return self.failed("ended without a result"),
            };
            if !line.starts_with('{') {
                continue;
            }
            let v: Value = serde_json::from_str(&line).with_context(|| format!("bench-web.mjs printed {line}"))?;
            if let Some(p) = v["progress"].as_str() {
                println!("  {p}");
                continue;
            }
            if v["ok"] == Value::Bool(false) {
                return self.failed(v["error"].as_str().unwrap_or("failed"));
            }
            return Ok(v);
        }
    }

    fn go(&mut self) -> Result<()> {
        self.stdin.write_all(b"go\n")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn failed<T>(&mut self, message: &str) -> Result<T> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        let stderr = stderr.join().unwrap_or_default();
        Err(anyhow!("bench-web.mjs: {message}\n{stderr}"))
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs in once with the relay up, stops the relay and measures offline in the browser.
fn browser(web: &Path, quick: bool) -> Result<Value> {
    ensure!(
        Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium is missing: apt-get install chromium (cargo xtask test installs it)"
    );
    ensure!(
        Path::new("tests/js/node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci --prefix tests/js`"
    );
    crate::step("build the relay (release)", crate::cargo().args(["build", "--release", "-p", "contactpoint-server"]))?;
    let bin = Path::new("target/release/contactpoint");
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("relay.sqlite");
    let relay = Relay::start(bin, &db, web)?;
    // Every area document and the national one, plus the index that lists them.
    let docs = document_count(bin, &db)? + 1;
    let (runs, rounds) = if quick { ("3", "1") } else { ("5", "3") };
    let url = format!("http://{}/", relay.addr);
    let started = Instant::now();
    let mut script = Script::start(&[
        "--url",
        &url,
        "--code",
        &relay.invite,
        "--docs",
        &docs.to_string(),
        "--runs",
        runs,
        "--rounds",
        rounds,
    ])?;
    let synced = script.next()?;
    ensure!(synced["step"] == "synced", "bench-web.mjs printed {synced} before it had synced");
    println!(
        "signed in and synced in {:.1} s: {} documents, {:.1} KB stored in the browser; the relay is stopped now",
        started.elapsed().as_secs_f64(),
        synced["local"]["docs"],
        synced["local"]["bytes"].as_f64().unwrap_or(0.0) / 1024.0
    );
    relay.stop()?;
    script.go()?;
    let r = script.next()?;
    let status = script.child.wait()?;
    ensure!(status.success(), "bench-web.mjs gave its figures but exited with {status}");

    println!("offline cold start to the home screen's topic list (median of {runs}; DOM / next frame):");
    for (rate, goal) in [("cpu_x1", COLD_START_GOAL_MS), ("cpu_x4", COLD_START_GOAL_X4_MS)] {
        for (mode, label) in [("new_page", "new page, browser running"), ("restart", "browser restarted")] {
            let c = &r["cold_start"][rate][mode];
            println!(
                "  {:<7} {label:<27} {:>7.0} ms / {:>7.0} ms   (goal {goal} ms; runs: {})",
                rate.replace("cpu_x", "CPU ×"),
                c["median_ms"].as_f64().unwrap_or(f64::NAN),
                c["median_frame_ms"].as_f64().unwrap_or(f64::NAN),
                c["runs_ms"]
            );
            // Where the time went: each step's end, ms from the navigation's start (medians).
            if let Some(steps) = c["steps_ms"].as_object() {
                let line: Vec<String> =
                    steps.iter().map(|(k, v)| format!("{k} {:.0}", v.as_f64().unwrap_or(f64::NAN))).collect();
                println!("          steps: {}", line.join(", "));
            }
        }
    }
    println!(
        "search per keystroke on the home screen (input to results in the DOM; to the next frame), first keystroke {:.1} ms:",
        r["search"]["first_keystroke_ms"].as_f64().unwrap_or(f64::NAN)
    );
    for rate in ["cpu_x1", "cpu_x4"] {
        let s = &r["search"][rate];
        println!(
            "  {:<7} {} keystrokes: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; to the next frame p50 {:.1} ms, p95 {:.1} ms",
            rate.replace("cpu_x", "CPU ×"),
            s["keystrokes"],
            s["p50_ms"].as_f64().unwrap_or(f64::NAN),
            s["p95_ms"].as_f64().unwrap_or(f64::NAN),
            s["max_ms"].as_f64().unwrap_or(f64::NAN),
            s["frame_p50_ms"].as_f64().unwrap_or(f64::NAN),
            s["frame_p95_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if let Some(queries) = r["search"]["cpu_x1"]["queries"].as_object() {
        println!("  per query at CPU ×1 (p50 / p95, results shown for the whole query):");
        for (q, f) in queries {
            println!(
                "    {q:<16} {:>5.1} ms / {:>5.1} ms, {} results",
                f["p50_ms"].as_f64().unwrap_or(f64::NAN),
                f["p95_ms"].as_f64().unwrap_or(f64::NAN),
                f["results"]
            );
        }
    }
    Ok(r)
}
