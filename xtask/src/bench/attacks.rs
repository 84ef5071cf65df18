//! `cargo xtask bench attacks`: what each attack in the threat model costs a release build of
//! the relay, and whether honest peers notice. For a baseline and then each attack in turn, a
//! fresh relay process on a seeded database: its resident and peak memory (`VmRSS`, `VmHWM`),
//! its CPU seconds over the attack, and the sync latency of an honest editor of Helsinki whose
//! edits an honest reader of the same document receives while the attack runs; whether the
//! honest peers stayed connected, whether `/healthz` answered, and what the attacker was told.
//!
//! With `--before` left on, the same run against the relay as it was before it was hardened
//! (commit `f063fcf`, built in a worktree under `<target>/before-hardening/`). Relays run with a
//! soft limit of 1,024 open files, as a service manager starts them, and 4 GiB of address space,
//! so a relay that still gives way to an attack fails alone instead of taking the machine's
//! memory. All traffic stays on 127.0.0.1 and 127.0.0.2.
//!
//! Options: `--quick` (fewer edits, shorter waits), `--no-before` (the current relay only),
//! `--relay-bin=PATH` and `--before-bin=PATH` (skip the builds), `--attacks=a,b` (a subset; the
//! baseline always runs), `--out=PATH` (default `<target>/bench/attacks.json`).

mod honest;
mod traffic;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use contactpoint_protocol::DocumentId;
use contactpoint_server::auth::{self, InviteSpec, Role};
use contactpoint_server::storage::{self, Scope};

use super::servers::{cpu_seconds, tail};
use honest::{Honest, Latencies};
use traffic::{Attack, Seen, Target};

/// The relay as it was before the hardening.
const BEFORE: &str = "f063fcf";

/// The relays' address-space limit, in KiB.
const ADDRESS_SPACE_KIB: u64 = 4 * 1024 * 1024;

struct Options {
    quick: bool,
    before: bool,
    relay_bin: Option<PathBuf>,
    before_bin: Option<PathBuf>,
    attacks: Vec<Attack>,
    out: Option<PathBuf>,
    allow_debug: bool,
}

/// How long each part of a scenario takes.
#[derive(Clone, Copy)]
struct Timing {
    /// Honest edits made during each attack.
    edits: usize,
    /// The pause between edits.
    gap: Duration,
    /// How long one edit may take to reach the reader.
    per_edit: Duration,
    /// How long all the edits may take together.
    budget: Duration,
    /// How long the attack runs before the first edit.
    warmup: Duration,
}

impl Timing {
    fn new(quick: bool) -> Timing {
        if quick {
            Timing {
                edits: 8,
                gap: Duration::from_millis(100),
                per_edit: Duration::from_secs(3),
                budget: Duration::from_secs(8),
                warmup: Duration::from_millis(500),
            }
        } else {
            Timing {
                edits: 20,
                gap: Duration::from_millis(150),
                per_edit: Duration::from_secs(4),
                budget: Duration::from_secs(15),
                warmup: Duration::from_secs(1),
            }
        }
    }
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        quick: false,
        before: true,
        relay_bin: None,
        before_bin: None,
        attacks: Attack::ALL.to_vec(),
        out: None,
        allow_debug: false,
    };
    let split: Vec<String> = args
        .iter()
        .flat_map(|a| match a.split_once('=') {
            Some((k, v)) if a.starts_with("--") => vec![k.to_owned(), v.to_owned()],
            _ => vec![a.clone()],
        })
        .collect();
    let mut it = split.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-before" => o.before = false,
            "--allow-debug" => o.allow_debug = true,
            "--relay-bin" => o.relay_bin = Some(it.next().context("--relay-bin needs a path")?.into()),
            "--before-bin" => o.before_bin = Some(it.next().context("--before-bin needs a path")?.into()),
            "--out" => o.out = Some(it.next().context("--out needs a path")?.into()),
            "--attacks" => {
                let list = it.next().context("--attacks needs a list")?;
                o.attacks = list
                    .split(',')
                    .map(|k| {
                        Attack::ALL.into_iter().find(|a| a.key() == k).with_context(|| {
                            let keys: Vec<&str> = Attack::ALL.iter().map(|a| a.key()).collect();
                            format!("unknown attack {k:?}; the attacks are {}", keys.join(","))
                        })
                    })
                    .collect::<Result<_>>()?;
            }
            "-h" | "--help" => {
                println!(
                    "cargo xtask bench attacks [--quick] [--no-before] [--relay-bin=PATH] [--before-bin=PATH] \
                     [--attacks=a,b] [--out=FILE]\n\
                     Measures the relay under each attack of the threat model, against a baseline, and the \
                     relay before hardening ({BEFORE})."
                );
                std::process::exit(0);
            }
            other => bail!("unknown option {other:?} (try --help)"),
        }
    }
    Ok(o)
}

/// Runs the benchmark with the command-line options that follow `bench attacks`.
pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("no workspace directory")?.to_owned();
    let target = super::target_dir()?;
    if cfg!(debug_assertions) && !opts.allow_debug {
        return super::rerun_optimised("attacks", args);
    }
    // 1,100 sockets of the flood and the rest; the relays themselves get 1,024.
    let got = rlimit::increase_nofile_limit(8192).context("cannot raise the open-files limit")?;
    if got < 2048 {
        bail!("only {got} open files allowed, 2,048 needed: raise the hard limit (`ulimit -Hn`)");
    }
    let timing = Timing::new(opts.quick);
    let current = match &opts.relay_bin {
        Some(p) => p.clone(),
        None => super::build_relay(&workspace, &target)?,
    };
    let before = if !opts.before {
        Err("skipped (--no-before)".to_owned())
    } else {
        match &opts.before_bin {
            Some(p) => Ok(p.clone()),
            None => build_before(&workspace, &target).map_err(|e| format!("not built: {e:#}")),
        }
    };
    if let Err(why) = &before {
        eprintln!("bench: the relay before hardening is {why}");
    }

    let dir = tempfile::Builder::new().prefix("contactpoint-bench-attacks-").tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let mut runs: Vec<(&str, Vec<Outcome>)> = Vec::new();
    let mut relays: Vec<(&str, PathBuf)> = vec![("current", current)];
    if let Ok(b) = &before {
        relays.push(("before", b.clone()));
    }
    for (name, bin) in &relays {
        eprintln!("bench: {name} relay ({})", bin.display());
        let kind_dir = dir.path().join(name);
        std::fs::create_dir_all(&kind_dir)?;
        let setup = prepare(bin, &kind_dir).with_context(|| format!("preparing the {name} relay's database"))?;
        let mut outcomes = Vec::new();
        for attack in std::iter::once(None).chain(opts.attacks.iter().copied().map(Some)) {
            let key = attack.map_or("baseline", Attack::key);
            eprintln!("bench: {name}: {key}");
            let o = rt.block_on(scenario(bin, &setup, attack, timing, &kind_dir));
            eprintln!("bench: {name}: {key}: {}", o.verdict());
            outcomes.push(o);
        }
        runs.push((name, outcomes));
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    let out = opts.out.clone().unwrap_or_else(|| target.join("bench").join("attacks.json"));
    report(&runs, before.err(), timing, opts.quick, started.elapsed().as_secs_f64(), &out)
}

/// Builds the relay of [`BEFORE`] in its own worktree and target directory under `target`,
/// so that nothing of it replaces the current build.
fn build_before(workspace: &Path, target: &Path) -> Result<PathBuf> {
    let dir = target.join("before-hardening");
    let src = dir.join("src");
    if !src.join("Cargo.toml").exists() {
        eprintln!("bench: adding a worktree of {BEFORE} at {}", src.display());
        // A worktree left half-made by an interrupted run is forgotten first.
        let _ = Command::new("git").current_dir(workspace).args(["worktree", "prune"]).status();
        let status = Command::new("git")
            .current_dir(workspace)
            .args(["worktree", "add", "--detach"])
            .arg(&src)
            .arg(BEFORE)
            .status()
            .context("cannot run git")?;
        if !status.success() {
            bail!("git worktree add failed ({status})");
        }
    }
    eprintln!("bench: building the relay before hardening (release; the first time takes minutes)");
    let status = Command::new(super::cargo())
        .current_dir(&src)
        .args(["build", "--quiet", "--locked", "--release", "--package", "contactpoint-server", "--target-dir"])
        .arg(dir.join("target"))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building it failed ({status})");
    }
    let bin = dir.join("target").join("release").join("contactpoint");
    if !bin.exists() {
        bail!("{} is missing after the build", bin.display());
    }
    Ok(bin)
}

/// A seeded database and who may connect to it.
struct Setup {
    db: PathBuf,
    honest_editor: String,
    honest_reader: String,
    attacker_reader: String,
    attacker_editor: String,
    helsinki: DocumentId,
    national: DocumentId,
}

/// Seeds a database the way an administrator does (`serve --seed`, by the relay binary itself,
/// so each relay has its own schema), then creates the device tokens directly in it.
fn prepare(bin: &Path, dir: &Path) -> Result<Setup> {
    let db = dir.join("relay.sqlite");
    let relay = Relay::start(bin, &db, true, &dir.join("seed.log"))?;
    relay.stop();
    // A plain connection: opening it as the current relay's `Db` would migrate the schema of
    // the relay before hardening past what it knows.
    let plain = rusqlite::Connection::open(&db)?;
    plain.busy_timeout(Duration::from_secs(5))?;
    let mut conn = contactpoint_server::sql::Conn::sqlite(plain);
    let mut token = |role: Role, area: Option<&str>, name: &str| -> Result<String> {
        let spec = InviteSpec {
            role,
            areas: area.map(|a| a.parse()).transpose().map_err(|e| anyhow!("area: {e:?}"))?.into_iter().collect(),
            user_name: Some(name.into()),
            valid_for_ms: contactpoint_server::calendar::MS_PER_DAY,
            uses: 1,
        };
        Ok(auth::invite_and_redeem(&mut conn, &spec, Some("bench"), name).map_err(|e| anyhow!("invite: {e}"))?.token)
    };
    let honest_editor = token(Role::Editor, Some("municipality:091"), "honest editor")?;
    let honest_reader = token(Role::Reader, None, "honest reader")?;
    let attacker_reader = token(Role::Reader, None, "attacking reader")?;
    let attacker_editor = token(Role::Editor, Some("municipality:091"), "attacking editor")?;
    let helsinki = storage::list_docs(&conn)?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area("municipality:091".into()))
        .context("the seeded database has no document for Helsinki")?
        .0
        .parse()?;
    let national = storage::national_doc(&conn)?.context("the seeded database has no national document")?.0;
    Ok(Setup { db, honest_editor, honest_reader, attacker_reader, attacker_editor, helsinki, national })
}

/// One relay process.
struct Relay {
    child: Child,
    pid: u32,
    addr: std::net::SocketAddr,
}

impl Relay {
    /// Starts `contactpoint serve` under the limits above and waits (30 s at most) for its
    /// listening line.
    fn start(bin: &Path, db: &Path, seed: bool, log: &Path) -> Result<Relay> {
        let log_file = std::fs::File::options().create(true).append(true).open(log)?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -Sn 1024 && ulimit -Sv {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""))
            .arg(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db);
        if seed {
            cmd.arg("--seed");
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(contactpoint_server::banner::read_startup(stdout));
        });
        let why = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(Some(started))) => return Ok(Relay { child, pid, addr: started.addr }),
            Err(_) => "did not start listening within 30 s".to_owned(),
            Ok(Ok(None)) => "exited before listening".to_owned(),
            Ok(Err(e)) => format!("start-up output unreadable: {e}"),
        };
        let _ = child.kill();
        let _ = child.wait();
        bail!("the relay {why}; its log:\n{}", tail(log))
    }

    /// How it ended, if it has: "relay died (…)".
    fn died(&mut self) -> Option<String> {
        use std::os::unix::process::ExitStatusExt;
        let status = self.child.try_wait().ok()??;
        Some(match status.signal() {
            Some(9) => "relay died (killed, SIGKILL: out of memory?)".into(),
            Some(6) => "relay died (aborted, SIGABRT)".into(),
            Some(s) => format!("relay died (signal {s})"),
            None => format!("relay died (exit code {})", status.code().unwrap_or(-1)),
        })
    }

    /// A `/proc/PID/status` figure in MiB.
    fn status_mib(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// SIGINT, then SIGKILL after three seconds.
    fn stop(mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-INT", &self.pid.to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What one scenario measured.
#[derive(Default)]
struct Outcome {
    attack: Option<Attack>,
    /// The relay could not be started or the honest peers could not connect.
    setup_failed: Option<String>,
    rss_mib: Option<f64>,
    hwm_mib: Option<f64>,
    cpu_s: Option<f64>,
    window_s: f64,
    latency: Latencies,
    /// `Ok` when both honest peers kept their connections.
    honest: Option<Result<(), String>>,
    /// How `/healthz` answered 127.0.0.1 while the attack ran.
    healthz: String,
    healthz_ok: bool,
    died: Option<String>,
    seen: Seen,
}

impl Outcome {
    fn key(&self) -> &'static str {
        self.attack.map_or("baseline", Attack::key)
    }

    fn label(&self) -> &'static str {
        self.attack.map_or("baseline (no attack)", Attack::label)
    }

    fn percentile(&self, p: f64) -> Option<f64> {
        let mut v = self.latency.delivered_ms.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        Some(v[rank.clamp(1, v.len()) - 1])
    }

    /// What happened, in a few words.
    fn verdict(&self) -> String {
        if let Some(f) = &self.setup_failed {
            return f.clone();
        }
        if let Some(d) = &self.died {
            return d.clone();
        }
        let lost = self.latency.edits - self.latency.delivered_ms.len();
        let mut parts = Vec::new();
        if !self.healthz_ok {
            parts.push(format!("stalled (healthz {})", self.healthz));
        }
        if let Some(Err(_)) = &self.honest {
            parts.push("honest peer cut off".into());
        }
        if lost > 0 {
            parts.push(format!("{lost}/{} edits not delivered", self.latency.edits));
        }
        if parts.is_empty() { "ok".into() } else { parts.join("; ") }
    }
}

/// One scenario: a fresh relay, the honest pair, the attack while the pair edits, the figures.
async fn scenario(bin: &Path, s: &Setup, attack: Option<Attack>, t: Timing, dir: &Path) -> Outcome {
    let mut o = Outcome { attack, ..Outcome::default() };
    let log = dir.join(format!("{}.log", o.key()));
    let mut relay = match Relay::start(bin, &s.db, false, &log) {
        Ok(r) => r,
        Err(e) => {
            o.setup_failed = Some(format!("did not start: {e:#}"));
            return o;
        }
    };
    let url = |token: &str| format!("ws://{}/sync?token={token}", relay.addr);
    let tag = format!("{}-{}", o.key(), std::process::id());
    let mut honest = match Honest::connect(&url(&s.honest_editor), &url(&s.honest_reader), s.helsinki, &tag).await {
        Ok(h) => h,
        Err(e) => {
            o.setup_failed = Some(format!("honest peers could not connect: {e:#}"));
            relay.stop();
            return o;
        }
    };
    let target = Target {
        addr: relay.addr,
        reader_token: s.attacker_reader.clone(),
        editor_token: s.attacker_editor.clone(),
        helsinki: s.helsinki,
        national: s.national,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let cpu_before = cpu_seconds(relay.pid).ok();
    let window = Instant::now();
    let tasks = match attack.map(|a| traffic::spawn(a, &target, &stop, &seen)).transpose() {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => {
            o.setup_failed = Some(format!("the attack could not be prepared: {e:#}"));
            relay.stop();
            return o;
        }
    };
    tokio::time::sleep(t.warmup).await;
    let probe = tokio::spawn(healthz(relay.addr));
    o.latency = honest.edit_rounds(t.edits, t.gap, t.per_edit, t.budget).await;
    o.window_s = window.elapsed().as_secs_f64();
    o.died = relay.died();
    if o.died.is_none() {
        o.rss_mib = relay.status_mib("VmRSS:");
        o.hwm_mib = relay.status_mib("VmHWM:");
        o.cpu_s = cpu_seconds(relay.pid).ok().zip(cpu_before).map(|(after, before)| after - before);
    }
    (o.healthz, o.healthz_ok) = match tokio::time::timeout(Duration::from_secs(6), probe).await {
        Ok(Ok(r)) => r,
        _ => ("timed out".into(), false),
    };
    o.honest = Some(honest.connected());
    stop.store(true, Ordering::Relaxed);
    for mut task in tasks {
        if tokio::time::timeout(Duration::from_secs(3), &mut task).await.is_err() {
            task.abort();
        }
    }
    if let Ok(mut s) = seen.lock() {
        o.seen = std::mem::take(&mut *s);
    }
    honest.close().await;
    o.died = o.died.or_else(|| relay.died());
    relay.stop();
    o
}

/// `GET /healthz` from 127.0.0.1, waited for five seconds at most: what came back and whether
/// it was a 200.
async fn healthz(addr: std::net::SocketAddr) -> (String, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
        let mut got = Vec::new();
        s.read_to_end(&mut got).await?;
        Ok::<_, std::io::Error>(got)
    })
    .await;
    match r {
        Err(_) => ("timed out (5 s)".into(), false),
        Ok(Err(e)) => (format!("failed: {e}"), false),
        Ok(Ok(got)) => {
            let text = String::from_utf8_lossy(&got);
            let status = text.split_whitespace().nth(1).unwrap_or("?").to_owned();
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            (format!("{status} in {ms:.0} ms"), status == "200")
        }
    }
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.filter(|v| v.is_finite()).map_or("—".into(), |v| format!("{v:.decimals$}"))
}

fn ratio(v: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (v, base) {
        (Some(v), Some(b)) if b > 0.0 && v.is_finite() => Some(v / b),
        _ => None,
    }
}

fn cut(text: &str, n: usize) -> String {
    if text.chars().count() > n { format!("{}…", text.chars().take(n - 1).collect::<String>()) } else { text.into() }
}

fn print_table(title: &str, outcomes: &[Outcome]) {
    let base = outcomes.iter().find(|o| o.attack.is_none());
    let b = |f: fn(&Outcome) -> Option<f64>| base.and_then(f);
    println!();
    println!("{title}");
    println!();
    println!(
        "{:<26} | {:>7} {:>6} | {:>7} {:>6} | {:>6} {:>6} | {:>7} {:>7} {:>6} | {:>5} | {:<9} | {:<14} | {:<30} | attacker was told",
        "attack",
        "RSS MiB",
        "x",
        "HWM MiB",
        "x",
        "CPU s",
        "x",
        "p50 ms",
        "p99 ms",
        "x",
        "edits",
        "honest",
        "healthz",
        "verdict"
    );
    println!("{}", "-".repeat(190));
    for o in outcomes {
        let rss = |o: &Outcome| o.rss_mib;
        let hwm = |o: &Outcome| o.hwm_mib;
        let cpu = |o: &Outcome| o.cpu_s;
        let p99 = |o: &Outcome| o.percentile(99.0);
        let x = |f: fn(&Outcome) -> Option<f64>| fmt(ratio(f(o), b(f)), 2);
        let honest = match &o.honest {
            Some(Ok(())) => "connected".to_owned(),
            Some(Err(_)) => "CUT OFF".to_owned(),
            None => "—".to_owned(),
        };
        // The document's id says nothing here; the JSON keeps the whole text.
        let told = o.seen.main_message().map(|m| match m.split_once(": ") {
            Some((doc, rest)) if doc.starts_with("document ") => rest,
            _ => m,
        });
        let told = told
            .map_or_else(|| if o.attack.is_some() { "(nothing)".into() } else { String::new() }, |m| format!("{m:?}"));
        println!(
            "{:<26} | {:>7} {:>6} | {:>7} {:>6} | {:>6} {:>6} | {:>7} {:>7} {:>6} | {:>5} | {:<9} | {:<14} | {:<30} | {}",
            o.label(),
            fmt(o.rss_mib, 1),
            x(rss),
            fmt(o.hwm_mib, 1),
            x(hwm),
            fmt(o.cpu_s, 2),
            x(cpu),
            fmt(o.percentile(50.0), 1),
            fmt(p99(o), 1),
            x(p99),
            format!("{}/{}", o.latency.delivered_ms.len(), o.latency.edits),
            honest,
            cut(&o.healthz, 14),
            cut(&o.verdict(), 30),
            cut(&told, 90),
        );
    }
}

fn json_outcome(o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "verdict": o.verdict(),
        "setup_failed": o.setup_failed,
        "relay_died": o.died,
        "rss_mib": o.rss_mib,
        "hwm_mib": o.hwm_mib,
        "cpu_s": o.cpu_s,
        "window_s": o.window_s,
        "latency_ms": {
            "p50": o.percentile(50.0),
            "p99": o.percentile(99.0),
            "max": o.latency.delivered_ms.iter().copied().reduce(f64::max),
            "all": o.latency.delivered_ms,
        },
        "edits": o.latency.edits,
        "delivered": o.latency.delivered_ms.len(),
        "honest_connected": o.honest.as_ref().map(Result::is_ok),
        "honest_lost": o.honest.as_ref().and_then(|h| h.as_ref().err()),
        "healthz": o.healthz,
        "healthz_ok": o.healthz_ok,
        "attacker": {
            "attempts": o.seen.attempts,
            "told": o.seen.told,
            "ended": o.seen.ended,
            "bytes_received": o.seen.bytes_received,
        },
    })
}

fn report(
    runs: &[(&str, Vec<Outcome>)],
    before_skipped: Option<String>,
    t: Timing,
    quick: bool,
    wall: f64,
    out: &Path,
) -> Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!();
    println!(
        "Attack benchmark{}: a fresh release relay per row on a seeded database; {} honest edits of a Helsinki \
         contact during each attack;",
        if quick { " (--quick)" } else { "" },
        t.edits
    );
    println!(
        "x = ratio to the baseline row; CPU is the relay's own over the attack ({cores} cores shared with the \
         attackers); memory from /proc at the end of the attack."
    );
    for (name, outcomes) in runs {
        let title = match *name {
            "current" => "Current relay".to_owned(),
            _ => format!("Relay before hardening ({BEFORE})"),
        };
        print_table(&title, outcomes);
    }
    if let Some(why) = &before_skipped {
        println!();
        println!("Relay before hardening ({BEFORE}): {why}.");
    }
    println!();
    println!("Benchmark wall time: {wall:.0} s.");

    let mut relays = serde_json::Map::new();
    for (name, outcomes) in runs {
        let base = outcomes.iter().find(|o| o.attack.is_none());
        let mut m = serde_json::Map::new();
        for o in outcomes {
            let mut v = json_outcome(o);
            if let (Some(b), Some(obj)) = (base, v.as_object_mut()) {
                obj.insert(
                    "ratio_to_baseline".into(),
                    serde_json::json!({
                        "rss": ratio(o.rss_mib, b.rss_mib),
                        "hwm": ratio(o.hwm_mib, b.hwm_mib),
                        "cpu": ratio(o.cpu_s, b.cpu_s),
                        "p50": ratio(o.percentile(50.0), b.percentile(50.0)),
                        "p99": ratio(o.percentile(99.0), b.percentile(99.0)),
                    }),
                );
            }
            m.insert(o.key().into(), v);
        }
        relays.insert((*name).into(), serde_json::Value::Object(m));
    }
    let json = serde_json::json!({
        "quick": quick,
        "cores": cores,
        "edits_per_attack": t.edits,
        "before_commit": BEFORE,
        "before_skipped": before_skipped,
        "relay_limits": { "soft_open_files": 1024, "address_space_kib": ADDRESS_SPACE_KIB },
        "wall_s": wall,
        "relays": relays,
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&json)? + "\n")?;
    println!("Figures written to {}.", out.display());
    Ok(())
}
