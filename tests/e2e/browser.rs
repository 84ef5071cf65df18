//! Browser tests of the web app: Debian's Chromium, driven by playwright-core scripts in
//! tests/js/browser, against the real relay process serving the built app from target/web.
//! They cover working with the relay gone, updating to a new build, and accessibility.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use contactpoint_tests::{RelayProcess, relay_binary};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How long the Rust side waits for a script's next line. Longer than any one wait inside the
/// scripts (20 s, or 40 s for a reconnect after back-off), so that a script reports what it was
/// waiting for; this bound only catches a hung browser.
const STEP_WAIT: Duration = Duration::from_secs(60);

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The built web app. The tests build nothing themselves: the build takes minutes the first time.
fn built_web() -> Result<PathBuf> {
    let web = root().join("target/web");
    ensure!(
        web.join("index.html").is_file() && web.join("sw.js").is_file(),
        "{} has no built web app: run cargo xtask web (cargo xtask test does it)",
        web.display()
    );
    Ok(web)
}

/// Checks that Chromium and the JavaScript packages are there, with how to get them if not.
fn browser_ready() -> Result<()> {
    ensure!(
        Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium is missing: apt-get install chromium (the test command installs it)"
    );
    let js = root().join("tests/js/node_modules");
    ensure!(
        js.join("playwright-core").is_dir() && js.join("@axe-core/playwright").is_dir(),
        "playwright-core or @axe-core/playwright is missing in {}: run `npm ci --prefix tests/js` \
         (cargo xtask test does this first)",
        js.display()
    );
    Ok(())
}

/// A relay with the sample data serving a web app directory, on a fresh database.
struct Served {
    relay: RelayProcess,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(web: &Path) -> Result<Served> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("relay.sqlite");
        let relay = start_relay(&db, "127.0.0.1:0", web)?;
        Ok(Served { relay, db, _dir: dir })
    }

    /// The app's address.
    fn url(&self) -> String {
        format!("http://{}/", self.relay.addr)
    }

    /// The first administrator's invite code, printed when the relay started.
    fn admin_invite(&self) -> Result<String> {
        self.relay.invite.clone().context("the relay printed no invite code on a fresh database")
    }

    /// One more invite code, made by the administration command as an operator would.
    fn reader_invite(&self) -> Result<String> {
        invite(&self.db, &["--role", "reader"])
    }
}

/// An invite code made by the administration command, with its `--role`, `--area` and `--name`.
fn invite(db: &Path, args: &[&str]) -> Result<String> {
    let out = std::process::Command::new(relay_binary()?)
        .args(["admin", "invite"])
        .args(args)
        .arg("--db")
        .arg(db)
        .output()?;
    ensure!(out.status.success(), "admin invite failed: {}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout)?.trim().to_owned();
    ensure!(!code.is_empty(), "admin invite printed no code");
    Ok(code)
}

/// What the relay has stored, as the operator's HSDS JSON export prints it.
fn export(db: &Path) -> Result<String> {
    let out = std::process::Command::new(relay_binary()?)
        .args(["export", "--format", "hsds-json", "--db"])
        .arg(db)
        .output()?;
    ensure!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?)
}

fn start_relay(db: &Path, listen: &str, web: &Path) -> Result<RelayProcess> {
    RelayProcess::start_with_args(db, listen, &[OsStr::new("--seed"), OsStr::new("--web"), web.as_os_str()])
}

/// A running browser script. It prints one JSON line per step and waits for "go" on stdin, so
/// the test can act on the relay in between; its last line is the result, `{"ok": …}`.
struct Script {
    name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Script {
    async fn start(name: &str, args: &[&str]) -> Result<Script> {
        browser_ready()?;
        let dir = root().join("tests/js");
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let mut child = tokio::process::Command::new(&node)
            .arg(dir.join("browser").join(format!("{name}.mjs")))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not run `{node}` (is Node.js 20 or later installed?)"))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let mut err = child.stderr.take().context("no stderr")?;
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s).await;
            s
        });
        Ok(Script { name: name.to_owned(), child, stdin, stdout, stderr })
    }

    /// The next JSON line; non-JSON lines (a library's warnings) are skipped.
    async fn line(&mut self) -> Result<Value> {
        loop {
            let next = tokio::time::timeout(STEP_WAIT, self.stdout.next_line())
                .await
                .map_err(|_| anyhow!("{}.mjs printed nothing within {STEP_WAIT:?}", self.name))??;
            let Some(line) = next else {
                let status = self.child.wait().await?;
                bail!("{}.mjs ended ({status}) without a result", self.name);
            };
            if line.starts_with('{') {
                return serde_json::from_str(&line).with_context(|| format!("{}.mjs printed {line}", self.name));
            }
        }
    }

    /// Waits for the step `name` and returns its data.
    async fn step(&mut self, name: &str) -> Result<Value> {
        let v = self.line().await?;
        if v["step"] == name {
            return Ok(v);
        }
        self.failed(&v).await
    }

    /// Lets the script go on after a step.
    async fn go(&mut self) -> Result<()> {
        self.stdin.write_all(b"go\n").await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// Waits for the result line and the end of the process; fails unless the script passed.
    async fn finish(mut self) -> Result<Value> {
        let v = self.line().await?;
        if v["ok"] != Value::Bool(true) {
            return self.failed(&v).await;
        }
        let status = tokio::time::timeout(STEP_WAIT, self.child.wait()).await??;
        ensure!(status.success(), "{}.mjs passed but exited with {status}", self.name);
        let errors = v["pageErrors"].as_array().map(Vec::len).unwrap_or(0);
        ensure!(errors == 0, "uncaught exceptions in the page: {}", v["pageErrors"]);
        Ok(v)
    }

    /// Reports a failure with the script's message and whatever it wrote to stderr.
    async fn failed<T>(&mut self, v: &Value) -> Result<T> {
        let _ = self.child.kill().await;
        let stderr = tokio::time::timeout(Duration::from_secs(5), &mut self.stderr).await.ok().and_then(Result::ok);
        let message = v["error"].as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        bail!("{}.mjs failed: {message}\n{}", self.name, stderr.unwrap_or_default())
    }
}

/// 1. The relay process is killed after one sync; a reload still starts the app, and a concern
/// leads to the Helsinki child welfare intake and to 112 with phone links. The relay comes back
/// on the same port and the app, by itself, syncs again.
#[tokio::test]
async fn the_app_works_with_the_relay_gone_and_syncs_when_it_returns() -> Result<()> {
    let web = built_web()?;
    let started = Instant::now();
    let served = Served::start(&web)?;
    let addr = served.relay.addr;
    let mut script = Script::start("offline", &["--url", &served.url(), "--code", &served.admin_invite()?]).await?;

    let synced = script.step("synced").await?;
    let Served { relay, db, _dir } = served;
    relay.kill9()?;
    script.go().await?;

    let offline = script.step("offline-done").await?;
    assert_eq!(
        offline["lastSynced"], synced["lastSynced"],
        "with the relay gone, the status still shows the time of the one sync"
    );
    let _relay = start_relay(&db, &addr.to_string(), &web)?;
    script.go().await?;

    let result = script.finish().await?;
    assert!(
        result["intake"]["name"].as_str().is_some_and(|n| n.contains("Child welfare intake, Helsinki")),
        "{result}"
    );
    assert!(result["intake"]["tel"][0].as_str().is_some_and(|t| t.starts_with("tel:")), "{result}");
    assert!(result["emergency"]["tel"].as_array().is_some_and(|t| t.contains(&Value::from("tel:112"))), "{result}");
    assert_ne!(result["secondSync"], result["firstSync"], "the last-synced time moved on after the relay returned");
    eprintln!(
        "offline test: {:.1} s in all, reconnected {} ms after the relay returned",
        started.elapsed().as_secs_f64(),
        result["reconnectMs"]
    );
    Ok(())
}

/// Copies a directory tree (the built app, to serve a copy that the test may change).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Replaces a file in one step, so that the relay, which reads files per request, never
/// serves half of it.
fn replace_file(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("next");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// "Deploys" a changed build into `web`, in place: the service worker gets a new version (so
/// its bytes and its cache name change) and the page a visible marker. Returns the new version.
fn deploy_changed_build(web: &Path) -> Result<String> {
    let sw_path = web.join("sw.js");
    let sw = std::fs::read_to_string(&sw_path)?;
    let prefix = "const VERSION = \"";
    let start = sw.find(prefix).context("sw.js has no VERSION line")? + prefix.len();
    let len = sw[start..].find('"').context("sw.js has an unterminated VERSION")?;
    let old = &sw[start..start + len];
    let new = format!("{old}-next");
    replace_file(&sw_path, &format!("{}{new}{}", &sw[..start], &sw[start + len..]))?;

    let index_path = web.join("index.html");
    let index = std::fs::read_to_string(&index_path)?;
    ensure!(index.contains("</footer>"), "index.html has no footer to mark");
    let marked = index.replace("</footer>", "  <p data-testid=\"build-marker\">new build</p>\n  </footer>");
    replace_file(&index_path, &marked)?;
    Ok(new)
}

/// 2. A page running under the service worker is offered a newly deployed build; accepting it
/// reloads into the new build (new worker, new cache, marker visible) with the person still
/// signed in, Helsinki kept and the topics read from local storage while the relay is gone.
#[tokio::test]
async fn a_new_build_is_offered_and_taken_without_losing_local_data() -> Result<()> {
    let built = built_web()?;
    let started = Instant::now();
    let copy = tempfile::tempdir()?;
    let web = copy.path().join("web");
    copy_dir(&built, &web)?;
    let served = Served::start(&web)?;
    let mut script = Script::start("update", &["--url", &served.url(), "--code", &served.admin_invite()?]).await?;

    let controlled = script.step("controlled").await?;
    let version = deploy_changed_build(&web)?;
    script.go().await?;

    let offered = script.step("offered").await?;
    let new_cache = format!("contactpoint-{version}");
    assert!(
        offered["caches"].as_array().is_some_and(|c| c.contains(&Value::from(new_cache.as_str()))),
        "the new build's cache {new_cache} is there once the update is offered: {offered}"
    );
    served.relay.kill9()?;
    script.go().await?;

    let result = script.finish().await?;
    assert_eq!(result["after"], Value::from(vec![new_cache]), "only the new build's cache is left");
    assert_eq!(result["topics"], controlled["topics"], "the same topics, from local storage");
    assert_eq!(result["municipality"], "Helsinki");
    assert_eq!(result["marker"], "new build");
    eprintln!("update test: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// 3. The main screens (sign-in, municipality picker, home, a card's question and steps, a
/// contact, settings) in Finnish, Swedish and English, and for the administrator (English) also a
/// contact's history and the add form: no WCAG 2.1 A/AA violation that axe-core
/// finds, no sideways scrolling at 320 px, and a phone-size screenshot of each under
/// target/artifacts/screenshots.
#[tokio::test]
async fn the_main_screens_are_accessible_in_every_language() -> Result<()> {
    let web = built_web()?;
    let started = Instant::now();
    let served = Served::start(&web)?;
    let out = root().join("target/artifacts/screenshots");
    std::fs::create_dir_all(&out)?;
    // One person per language, each on a fresh browser that starts in that language.
    let codes = format!("fi={},sv={},en={}", served.reader_invite()?, served.reader_invite()?, served.admin_invite()?);
    let script = Script::start(
        "a11y",
        &["--url", &served.url(), "--codes", &codes, "--out", &out.to_string_lossy(), "--admin", "en"],
    )
    .await?;
    let result = script.finish().await?;

    let violations = result["violations"].as_array().context("no violations list")?;
    let report: Vec<String> = violations
        .iter()
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| format!("      {}", n.as_str().unwrap_or("")))
                .collect();
            format!(
                "  [{} {}] {} ({}): {}\n{}",
                v["lang"],
                v["screen"],
                v["rule"],
                v["impact"],
                v["help"],
                nodes.join("\n")
            )
        })
        .collect();
    assert!(report.is_empty(), "axe found {} violations:\n{}", report.len(), report.join("\n"));
    assert_eq!(result["overflow"], Value::Array(vec![]), "screens that scroll sideways at 320 px");
    assert_eq!(result["stray"], Value::Array(vec![]), "screens showing a missing value as text");
    // Every screen was really checked: rules applied and passed on each.
    let checked = result["checked"].as_array().context("no list of checked screens")?;
    assert_eq!(checked.len(), 23, "seven screens in three languages, and the administrator's two, were checked");
    for c in checked {
        assert!(c["passes"].as_u64().is_some_and(|n| n >= 10), "axe applied almost no rules: {c}");
    }
    let shots = result["screenshots"].as_array().context("no screenshot list")?;
    assert_eq!(shots.len(), 23, "seven screens in three languages, and the administrator's two");
    for s in shots {
        let path = PathBuf::from(s.as_str().context("a screenshot path is not a string")?);
        let len = std::fs::metadata(&path).with_context(|| format!("{} was not written", path.display()))?.len();
        assert!(len > 1000, "{} is nearly empty", path.display());
    }
    eprintln!("a11y test: {:.1} s, screenshots in {}", started.elapsed().as_secs_f64(), out.display());
    Ok(())
}

/// 4. Offline edits converge. An editor of Helsinki and a reader are signed in on two devices
/// and synced; the relay process is stopped. Offline, the editor's invalid phone number is
/// refused next to its field and not saved; a valid one is saved and shown at once. When the
/// relay returns on the same port, the reader's page, open on that contact and never reloaded,
/// shows the new number, and the relay has stored it. The audit log names the editor; the
/// contact's history shows the change with the editor's name and the old number, and restoring
/// the old number reaches the reader and the relay as a new change.
#[tokio::test]
async fn an_edit_made_offline_reaches_the_relay_and_another_device() -> Result<()> {
    const NUMBER: &str = "+358 0 000 0999";
    const INVALID: &str = "call me maybe";
    let web = built_web()?;
    let started = Instant::now();
    let served = Served::start(&web)?;
    let addr = served.relay.addr;
    let editor = invite(&served.db, &["--role", "editor", "--area", "091", "--name", "Editor A"])?;
    let reader = invite(&served.db, &["--role", "reader", "--name", "Reader B"])?;
    // The new number must not be in the sample data, or finding it later would prove nothing.
    ensure!(!export(&served.db)?.contains(NUMBER), "the sample data already has {NUMBER}");
    let mut script = Script::start(
        "offline-edit",
        &["--url", &served.url(), "--editor", &editor, "--reader", &reader, "--number", NUMBER, "--invalid", INVALID],
    )
    .await?;

    let synced = script.step("synced").await?;
    let Served { relay, db, _dir } = served;
    relay.kill9()?;
    script.go().await?;

    let edited = script.step("edited").await?;
    assert_eq!(edited["editorNumbers"][0], NUMBER, "the editor's page shows the new number offline: {edited}");
    assert_eq!(edited["readerNumbers"], synced["before"], "with no relay the reader still has the old numbers");
    assert!(
        edited["invalidError"].as_str().is_some_and(|e| e.contains("not a phone number")),
        "the field error for {INVALID:?} says why: {edited}"
    );
    assert!(
        edited["savedStatus"].as_str().is_some_and(|s| s.contains("Saved on this device")),
        "the status says the edit waits on this device: {edited}"
    );
    let _relay = start_relay(&db, &addr.to_string(), &web)?;
    script.go().await?;

    let seen = script.step("seen").await?;
    assert_eq!(seen["readerNumbers"][0], NUMBER, "{seen}");
    // The audit log names the editor for the accepted write to the contact's document.
    let audit =
        std::process::Command::new(relay_binary()?).args(["admin", "audit", "--json", "--db"]).arg(&db).output()?;
    ensure!(audit.status.success(), "admin audit failed: {}", String::from_utf8_lossy(&audit.stderr));
    let rows: Value = serde_json::from_slice(&audit.stdout)?;
    let writes: Vec<&Value> =
        rows.as_array().context("audit rows")?.iter().filter(|r| r["action"] == "sync.write").collect();
    assert!(
        writes.iter().any(|r| r["user_name"] == "Editor A"),
        "no accepted write by Editor A in the audit log: {rows:#}"
    );
    assert!(!writes.iter().any(|r| r["user_name"] == "Reader B"), "a write by the reader was accepted: {rows:#}");
    script.go().await?;

    let result = script.finish().await?;
    assert_eq!(result["readerNumbers"][0], NUMBER, "{result}");
    let before = result["before"][0].as_str().context("the old number")?;
    assert_eq!(result["history"]["author"], "Editor A", "the history names the editor: {result}");
    assert!(
        !result["history"]["text"].as_str().unwrap_or_default().contains("not yet confirmed"),
        "the author is the one the relay recorded: {result}"
    );
    assert_eq!(result["history"]["before"], before, "{result}");
    assert_eq!(result["history"]["after"], NUMBER, "{result}");
    assert_eq!(result["afterRestore"]["before"], NUMBER, "restoring is a new change: {result}");
    assert_eq!(result["afterRestore"]["after"], before, "{result}");
    assert_eq!(result["restoredSame"], true, "the reader's page was reloaded or left: {result}");
    assert_eq!(result["sameDocument"], true, "the reader's page was reloaded or left: {result}");
    assert_eq!(result["readerHash"], format!("#/contact/{}", result["contact"]["id"].as_str().unwrap_or("?")));
    // The editor's "last synced" time moved on only once the relay acknowledged every document,
    // and the relay acknowledges only what it has durably stored: the export, which reads the
    // relay's database, needs no waiting.
    let stored = export(&db)?;
    assert!(!stored.contains(NUMBER), "the restored number did not replace {NUMBER} on the relay");
    assert!(stored.contains(before), "the relay's database does not have the restored {before}");
    assert!(!stored.contains(INVALID), "the refused value reached the relay");
    eprintln!(
        "offline edit test: {:.1} s in all, the reader showed the edit {} ms after the relay returned",
        started.elapsed().as_secs_f64(),
        result["readerMs"]
    );
    Ok(())
}

/// 5. Concurrent edits of one field show as a conflict and resolve to one value everywhere. Two
/// editors of Helsinki change the same phone number while the relay is stopped. When it returns,
/// both apps show the conflict with both numbers, and the same one shown now; one editor keeps
/// the other's number, and both apps and the relay's database then hold that one value.
#[tokio::test]
async fn concurrent_edits_show_a_conflict_and_resolve_to_one_value() -> Result<()> {
    const FIRST: &str = "+358 0 000 0991";
    const SECOND: &str = "+358 0 000 0992";
    let web = built_web()?;
    let started = Instant::now();
    let served = Served::start(&web)?;
    let addr = served.relay.addr;
    let first = invite(&served.db, &["--role", "editor", "--area", "091", "--name", "Editor A"])?;
    let second = invite(&served.db, &["--role", "editor", "--area", "091", "--name", "Editor C"])?;
    let mut script = Script::start(
        "conflict",
        &[
            "--url",
            &served.url(),
            "--first",
            &first,
            "--second",
            &second,
            "--first-number",
            FIRST,
            "--second-number",
            SECOND,
        ],
    )
    .await?;
    let synced = script.step("synced").await?;
    let contact = synced["contact"].as_str().context("contact id")?.to_owned();
    let Served { relay, db, _dir } = served;
    relay.kill9()?;
    script.go().await?;
    script.step("edited").await?;
    let _relay = start_relay(&db, &addr.to_string(), &web)?;
    script.go().await?;

    let result = script.finish().await?;
    let mut values: Vec<&str> =
        result["firstValues"].as_array().context("values")?.iter().filter_map(Value::as_str).collect();
    values.sort();
    assert_eq!(values, [FIRST, SECOND], "the first editor sees both numbers: {result}");
    assert_eq!(result["firstValues"], result["secondValues"], "both apps show the conflict alike: {result}");
    assert_eq!(
        result["shown"][0], result["shown"][1],
        "both apps show the same number until someone chooses: {result}"
    );
    assert_eq!(result["resolved"], serde_json::json!([FIRST, FIRST]), "{result}");

    // The relay holds one value, with no conflict left.
    let store = contactpoint_server::storage::Db::open(&db)?;
    let docs = store.with(|c| contactpoint_server::storage::list_docs(c))?;
    let doc = docs
        .iter()
        .filter_map(|(id, _, _)| id.parse().ok())
        .filter_map(|id| contactpoint_tests::stored_doc(&store, id).ok())
        .find(|d| contactpoint_directory::store::read_contact_point(d, &contact).is_some())
        .context("no stored document has the contact")?;
    assert!(contactpoint_directory::history::contact_conflicts(&doc, &contact).is_empty());
    let stored = contactpoint_directory::store::read_contact_point(&doc, &contact).context("contact")?;
    assert_eq!(stored.phones[0].number, FIRST);
    eprintln!("conflict test: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
