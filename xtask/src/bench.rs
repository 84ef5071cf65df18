//! `cargo xtask bench relay`: our relay against the reference Node sync server
//! (`@automerge/automerge-repo-sync-server`) on the same workloads, one after the other, with the
//! relays' own CPU seconds, memory and wire bytes, printed as a table and written as JSON.
//!
//! The load generator is our protocol core over tokio-tungstenite, the same code for both
//! relays. Everything runs on 127.0.0.1; every relay started here is stopped here.
//!
//! Options: `--quick` (small sizes), `--only=ours|reference`, `--relay-bin=PATH` (skip building
//! the relay), `--out=PATH` (the JSON file; default `<target>/bench/relay.json`),
//! `--workloads=initial,fanout,fanout_large,reconnect,idle` (a subset), `--instructions` (run each
//! relay under callgrind and report the instructions each workload cost it, beside the CPU
//! seconds; see `bench/instructions.rs`).

pub mod attacks;
mod client;
pub mod cluster;
mod docs;
mod instructions;
mod postgres;
mod servers;
mod workloads;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_server::auth::{self, InviteSpec, Role};
use contactpoint_server::storage::{Db, Scope};

use servers::{Kind, Launch};
use workloads::{Ctx, Ids, Sizes};

struct Options {
    quick: bool,
    only: Option<Kind>,
    relay_bin: Option<PathBuf>,
    out: Option<PathBuf>,
    /// Which workloads to run (all by default), for working on one of them.
    workloads: Vec<String>,
    /// Count each relay's instructions under callgrind (`--instructions`).
    instructions: bool,
    /// Set by the re-run in release mode (and usable by hand) to measure with a debug build.
    allow_debug: bool,
}

/// The workloads, in the order they run.
const WORKLOADS: [&str; 5] = ["initial", "fanout", "fanout_large", "reconnect", "idle"];

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        quick: false,
        only: None,
        relay_bin: None,
        out: None,
        workloads: Vec::new(),
        instructions: false,
        allow_debug: false,
    };
    // Both `--only ours` and `--only=ours` work; the second survives wrappers that pass on only
    // the arguments starting with `--`.
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
            "--allow-debug" => o.allow_debug = true,
            "--instructions" => o.instructions = true,
            "--only" => {
                o.only = Some(match it.next().map(String::as_str) {
                    Some("ours") => Kind::Ours,
                    Some("reference") => Kind::Reference,
                    other => bail!("--only takes `ours` or `reference`, not {other:?}"),
                })
            }
            "--relay-bin" => o.relay_bin = Some(it.next().context("--relay-bin needs a path")?.into()),
            "--out" => o.out = Some(it.next().context("--out needs a path")?.into()),
            "--workloads" => {
                let list = it.next().context("--workloads needs a list")?;
                o.workloads = list.split(',').map(str::to_owned).collect();
                if let Some(w) = o.workloads.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
                    bail!("unknown workload {w:?}; the workloads are {}", WORKLOADS.join(","));
                }
            }
            "-h" | "--help" => {
                println!(
                    "cargo xtask bench relay [--quick] [--only=ours|reference] [--relay-bin=PATH] [--out=FILE] \
                     [--workloads=initial,fanout,fanout_large,reconnect,idle] [--instructions]\n\
                     --instructions runs each relay under `valgrind --tool=callgrind` (smaller sizes) and adds \
                     each workload's instruction count.\n\
                     Compares the relay with the reference Node sync server (needs `npm ci --prefix tests/js`)."
                );
                std::process::exit(0);
            }
            other => bail!("unknown option {other:?} (try --help)"),
        }
    }
    Ok(o)
}

/// Runs the benchmark with the command-line options that follow `bench`.
pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let workspace = workspace()?;
    let target = target_dir()?;
    if cfg!(debug_assertions) && !opts.allow_debug {
        return rerun_optimised("relay", args);
    }

    let sizes = if opts.instructions {
        Sizes::instructions()
    } else if opts.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let kinds: Vec<Kind> = match opts.only {
        Some(k) => vec![k],
        None => vec![Kind::Ours, Kind::Reference],
    };
    let dir = tempfile::Builder::new().prefix("contactpoint-bench-").tempdir()?;
    if opts.instructions {
        instructions::enable(&dir.path().join("callgrind"))?;
    }
    // Check the reference is installed before spending minutes on our relay.
    let reference =
        if kinds.contains(&Kind::Reference) { Some(Launch::reference(&workspace, dir.path())?) } else { None };
    raise_open_files(sizes.connections())?;
    let relay_bin = match &opts.relay_bin {
        Some(p) => p.clone(),
        None if kinds.contains(&Kind::Ours) => build_relay(&workspace, &target)?,
        None => PathBuf::new(),
    };

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let run_tag = format!("b{}", std::process::id());
    let mut results: Vec<(Kind, Vec<(String, f64)>)> = Vec::new();
    for kind in kinds {
        eprintln!("bench: {} relay", kind.name());
        let kind_dir = dir.path().join(kind.name());
        std::fs::create_dir_all(&kind_dir)?;
        let (launch, admin_token, reader_token, ids) = match kind {
            Kind::Ours => {
                let (launch, admin, reader, ids, _) =
                    setup_ours(&relay_bin, &kind_dir.join("bench.sqlite"), 0, sizes.connections())?;
                (launch, admin, reader, ids)
            }
            Kind::Reference => {
                let launch = reference.clone().context("reference launch not prepared")?;
                (launch, "unused".into(), "unused".into(), random_ids())
            }
        };
        let mut ctx = Ctx {
            kind,
            launches: vec![launch],
            servers: Vec::new(),
            log: kind_dir.join("relay.log"),
            admin_token,
            reader_token,
            ids,
            write_docs: Vec::new(),
            database_pid: None,
            per_instance: false,
            sizes: sizes.clone(),
            run_tag: run_tag.clone(),
            figures: Vec::new(),
        };
        let want = |w: &str| opts.workloads.is_empty() || opts.workloads.iter().any(|x| x == w);
        let r = rt.block_on(async {
            ctx.start().await?;
            if want("initial") {
                workloads::initial_sync(&mut ctx).await?;
            }
            if want("fanout") {
                workloads::fanout(&mut ctx).await?;
            }
            if want("fanout_large") {
                workloads::fanout_large(&mut ctx).await?;
            }
            if want("reconnect") {
                workloads::reconnect(&mut ctx).await?;
            }
            if want("idle") {
                // Memory is read on a freshly started process, so earlier workloads' leftovers in
                // the allocator or the heap do not hide the growth.
                ctx.stop().await?;
                ctx.start().await?;
                workloads::idle(&mut ctx).await?;
            }
            ctx.stop().await
        });
        if let Err(e) = r {
            let log = ctx.log_tails();
            let _ = rt.block_on(ctx.stop());
            return Err(e.context(format!("{} relay; the end of its log:\n{log}", kind.name())));
        }
        let cpu_total: f64 = ctx.figures.iter().filter(|(k, _)| k.ends_with("cpu_s")).map(|(_, v)| v).sum();
        ctx.figures.push(("total.cpu_s".into(), cpu_total));
        instructions::add_total(&mut ctx.figures);
        results.push((kind, ctx.figures));
    }
    let elapsed = started.elapsed();
    rt.shutdown_timeout(std::time::Duration::from_secs(5));

    let out = opts.out.clone().unwrap_or_else(|| target.join("bench").join("relay.json"));
    report(&sizes, &results, elapsed.as_secs_f64(), opts.quick || opts.instructions, &out)
}

/// The project's directory.
pub(crate) fn workspace() -> Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("no workspace directory")?.to_owned())
}

/// Runs `cargo xtask bench WHICH ARGS… --allow-debug` as an optimised build: an unoptimised load
/// generator would spend the shared cores on itself and distort every figure.
pub(crate) fn rerun_optimised(which: &str, args: &[String]) -> Result<()> {
    eprintln!("bench: the load generator must be optimised; building and running it in release mode");
    let status = Command::new(cargo())
        .current_dir(workspace()?)
        .args(["run", "--quiet", "--release", "--package", "xtask", "--target-dir"])
        .arg(target_dir()?)
        .args(["--", "bench", which])
        .args(args)
        .arg("--allow-debug")
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}

/// The cargo that runs us, so nested builds use the same toolchain.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The target directory this xtask was built in (`<target>/<profile>/xtask`), so that the relay
/// is built next to it and the JSON lands there.
pub(crate) fn target_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return Ok(if dir.is_absolute() { dir } else { std::env::current_dir()?.join(dir) });
    }
    let exe = std::env::current_exe()?;
    Ok(exe.parent().and_then(Path::parent).context("the xtask executable has no target directory")?.to_owned())
}

fn build_relay(workspace: &Path, target: &Path) -> Result<PathBuf> {
    eprintln!("bench: building the relay (release)");
    let status = Command::new(cargo())
        .current_dir(workspace)
        .args(["build", "--quiet", "--release", "--package", "contactpoint-server", "--target-dir"])
        .arg(target)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building the relay failed ({status})");
    }
    let bin = target.join("release").join("contactpoint");
    if !bin.exists() {
        bail!("{} is missing after the build", bin.display());
    }
    Ok(bin)
}

/// Ten thousand sockets need more descriptors than the usual default of 1,024. The relays we
/// start inherit the raised limit.
fn raise_open_files(needed: usize) -> Result<()> {
    let got = rlimit::increase_nofile_limit(needed as u64 * 2).context("cannot raise the open-files limit")?;
    if got < needed as u64 {
        bail!("only {got} open files allowed, {needed} needed: raise the hard limit (`ulimit -Hn`) or use --quick");
    }
    Ok(())
}

/// A fresh database for our relay (a SQLite file or an empty PostgreSQL database's URL) with an
/// admin and a reader token and the documents registered (empty), as an administrator would set
/// them up, and `extra` more documents for the write workload; the relay will take
/// `max_connections` connections at once.
fn setup_ours(
    bin: &Path,
    db_path: &Path,
    extra: usize,
    max_connections: usize,
) -> Result<(Launch, String, String, Ids, Vec<DocumentId>)> {
    let db = Db::open(db_path)?;
    let admin = token(&db, Role::Admin)?;
    let reader = token(&db, Role::Reader)?;
    let doc = || -> Result<DocumentId> {
        Ok(db.with(|c| contactpoint_server::admin::create_document(c, &Scope::National, &Automerge::new()))?)
    };
    let ids = Ids { directory: doc()?, fanout: doc()?, fanout_large: doc()?, history: doc()?, idle: doc()? };
    let more = (0..extra).map(|_| doc()).collect::<Result<Vec<_>>>()?;
    drop(db);
    Ok((Launch::Ours { bin: bin.to_owned(), db: db_path.to_owned(), max_connections }, admin, reader, ids, more))
}

fn token(db: &Db, role: Role) -> Result<String> {
    let spec = InviteSpec {
        role,
        areas: vec![],
        user_name: Some(format!("bench {}", role.as_str())),
        valid_for_ms: contactpoint_server::calendar::MS_PER_DAY,
        uses: 1,
    };
    Ok(db.with(|c| Ok(auth::invite_and_redeem(c, &spec, Some("bench"), "bench device")))??.token)
}

/// The reference server learns documents from their first upload; new random ids will do.
fn random_ids() -> Ids {
    let id = || DocumentId::from_random_bytes(contactpoint_server::random::random_bytes::<16>());
    Ids { directory: id(), fanout: id(), fanout_large: id(), history: id(), idle: id() }
}

/// How a figure is shown.
#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Millis,
    Bytes,
    KiB,
    MiB,
    Count,
    PerSecond,
}

fn show(v: Option<f64>, unit: &Unit) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else { return "—".into() };
    match unit {
        Unit::Seconds => format!("{v:.3} s"),
        Unit::Millis => format!("{v:.1} ms"),
        Unit::Bytes => format!("{v:.0} B"),
        Unit::KiB => format!("{v:.2} KiB"),
        Unit::MiB => format!("{v:.1} MiB"),
        Unit::Count => format!("{v:.0}"),
        Unit::PerSecond => format!("{v:.1}/s"),
    }
}

/// `v` rounded, with thousands separators: 10,000 and 1,000 are then easy to tell apart.
fn thousands(v: f64) -> String {
    let t = format!("{v:.0}");
    let digits = t.trim_start_matches('-');
    let mut out = t[..t.len() - digits.len()].to_owned();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn rows(s: &Sizes) -> Vec<(&'static str, String, Unit)> {
    let n = |v: usize| thousands(v as f64);
    use Unit::*;
    vec![
        ("directory.saved_bytes", format!("{}-entry directory, saved size", n(s.entries)), Bytes),
        ("upload.wall_s", "upload it (one client): wall".into(), Seconds),
        ("upload.cpu_s", "upload it: relay CPU".into(), Seconds),
        (
            "initial_sync.wall_s",
            format!("initial sync to {} clients: wall until all have it", n(s.initial_clients)),
            Seconds,
        ),
        ("initial_sync.median_client_s", "initial sync: median client".into(), Seconds),
        ("initial_sync.cpu_s", "initial sync: relay CPU".into(), Seconds),
        ("initial_sync.bytes_per_client", "initial sync: bytes received per client".into(), Bytes),
        ("fanout.readers", format!("fan-out readers subscribed (of {})", n(s.fanout_clients)), Count),
        ("fanout.subscribe_wall_s", "subscribe the readers: wall".into(), Seconds),
        ("fanout.subscribe_cpu_s", "subscribe readers: relay CPU".into(), Seconds),
        ("fanout.p50_ms", format!("fan-out of an edit to {} readers: p50", n(s.fanout_clients)), Millis),
        ("fanout.p99_ms", "fan-out: p99".into(), Millis),
        ("fanout.max_ms", "fan-out: max".into(), Millis),
        ("fanout.seen_p99_ms", "fan-out: p99 until the reader's task saw it".into(), Millis),
        ("fanout.missed", "fan-out: deliveries missed".into(), Count),
        ("fanout.edits", format!("fan-out: edits made (of {})", s.fanout_edits), Count),
        ("fanout.wall_s", "fan-out: wall for the edits".into(), Seconds),
        ("fanout.cpu_s", "fan-out: relay CPU".into(), Seconds),
        (
            "fanout_large.readers",
            format!("1,000-entry one-change document: readers (of {})", n(s.fanout_clients)),
            Count,
        ),
        ("fanout_large.p50_ms", "  an edit from a writer connecting for it, to every reader: p50".into(), Millis),
        ("fanout_large.p99_ms", "  p99".into(), Millis),
        ("fanout_large.max_ms", "  max".into(), Millis),
        ("fanout_large.seen_p99_ms", "  p99 until the reader's task saw it".into(), Millis),
        ("fanout_large.missed", "  deliveries missed".into(), Count),
        ("fanout_large.cpu_s", "  relay CPU for the edits".into(), Seconds),
        ("reconnect.first_sync_bytes", format!("first sync of a {}-change document", n(s.history_changes + 1)), Bytes),
        ("reconnect.running_bytes", "reconnect after one edit, relay kept running".into(), Bytes),
        ("reconnect.restart_bytes", "reconnect after one edit, relay restarted".into(), Bytes),
        ("reconnect.no_state_bytes", "reconnect after one edit, no saved sync state".into(), Bytes),
        (
            "idle.kib_per_connection",
            format!("memory per idle connection, subscribed ({} opened)", n(s.idle_connections)),
            KiB,
        ),
        ("idle.kib_per_connection_handshake", "memory per connection, handshake only".into(), KiB),
        ("idle.connected", "idle connections open".into(), Count),
        ("idle.subscribed", "idle connections subscribed".into(), Count),
        ("idle.rss_before_mib", "relay RSS before".into(), MiB),
        ("idle.rss_connected_mib", "relay RSS, all connected".into(), MiB),
        ("idle.rss_subscribed_mib", "relay RSS, all subscribed".into(), MiB),
        ("idle.connect_wall_s", "open the connections: wall".into(), Seconds),
        ("idle.connect_cpu_s", "open the connections: relay CPU".into(), Seconds),
        ("idle.subscribe_wall_s", "subscribe them: wall".into(), Seconds),
        ("idle.subscribe_cpu_s", "subscribe them: relay CPU".into(), Seconds),
        ("total.cpu_s", "relay CPU, all workloads above".into(), Seconds),
    ]
}

fn report(sizes: &Sizes, results: &[(Kind, Vec<(String, f64)>)], elapsed: f64, quick: bool, out: &Path) -> Result<()> {
    let get = |kind: Kind, key: &str| -> Option<f64> {
        results.iter().find(|(k, _)| *k == kind).and_then(|(_, f)| f.iter().find(|(k, _)| k == key)).map(|(_, v)| *v)
    };
    let counted = results.iter().any(|(_, f)| f.iter().any(|(k, _)| k == "total.ir"));
    let mut table: Vec<(String, String, Unit)> =
        rows(sizes).into_iter().map(|(k, l, u)| (k.to_owned(), l, u)).collect();
    if counted {
        // Under callgrind, each CPU figure is followed by its instruction count.
        table = table
            .into_iter()
            .flat_map(|(key, label, unit)| {
                let count = key.ends_with("cpu_s").then(|| {
                    let label = if label.contains("relay CPU") {
                        label.replace("relay CPU", "relay instructions (Ir)")
                    } else {
                        format!("{label} (Ir)")
                    };
                    (instructions::key_for(&key), label, Unit::Count)
                });
                std::iter::once((key, label, unit)).chain(count)
            })
            .collect();
    }
    let width = table.iter().map(|(_, l, _)| l.chars().count()).max().unwrap_or(20);
    println!();
    println!(
        "Relay benchmark{} — load generator and relay share {} cores; CPU is the relay's own (/proc)",
        if counted {
            " (--instructions: relays under callgrind, so their CPU and times are slowed)"
        } else if quick {
            " (--quick)"
        } else {
            ""
        },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!();
    println!("{:<width$} | {:>13} | {:>13} | {:>9}", "workload", "ours", "reference", "ours/ref");
    println!("{}-+-{}-+-{}-+-{}", "-".repeat(width), "-".repeat(13), "-".repeat(13), "-".repeat(9));
    let mut json_ratio = serde_json::Map::new();
    for (key, label, unit) in &table {
        let (o, r) = (get(Kind::Ours, key), get(Kind::Reference, key));
        let ratio = match (o, r) {
            (Some(o), Some(r)) if r != 0.0 && o.is_finite() && r.is_finite() => Some(o / r),
            _ => None,
        };
        if let Some(x) = ratio {
            json_ratio.insert((*key).to_owned(), serde_json::json!(x));
        }
        let ratio = ratio.map_or("—".to_owned(), |x| if x >= 0.1 { format!("{x:.2}") } else { format!("{x:.3}") });
        println!("{label:<width$} | {:>13} | {:>13} | {:>9}", show(o, unit), show(r, unit), ratio);
    }
    println!();
    if let (Some(o), Some(r)) = (get(Kind::Ours, "total.cpu_s"), get(Kind::Reference, "total.cpu_s"))
        && o > 0.0
    {
        println!(
            "Relay CPU over all workloads: ours {o:.2} s, reference {r:.2} s: reference/ours = {:.2} (aim: ≥ 10).",
            r / o
        );
    }
    let no_figures = Vec::new();
    let of = |kind: Kind| results.iter().find(|(k, _)| *k == kind).map_or(&no_figures, |(_, f)| f);
    let instruction_ratios = instructions::summary(of(Kind::Ours), of(Kind::Reference));
    if counted {
        println!(
            "Sizes under callgrind: {} clients of the initial sync, {} fan-out readers, {} idle connections.",
            sizes.initial_clients, sizes.fanout_clients, sizes.idle_connections
        );
    }
    println!("Benchmark wall time: {elapsed:.0} s.");

    let figures = |kind: Kind| -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = results
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, f)| f.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect())
            .unwrap_or_default();
        serde_json::Value::Object(map)
    };
    let json = serde_json::json!({
        "quick": quick,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "sizes": {
            "entries": sizes.entries,
            "initial_clients": sizes.initial_clients,
            "fanout_clients": sizes.fanout_clients,
            "fanout_edits": sizes.fanout_edits,
            "idle_connections": sizes.idle_connections,
            "history_entries": sizes.history_entries,
            "history_changes": sizes.history_changes,
        },
        "wall_s": elapsed,
        "ours": figures(Kind::Ours),
        "reference": figures(Kind::Reference),
        "ratio_ours_over_reference": json_ratio,
        "instructions_reference_over_ours": instruction_ratios,
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&json)? + "\n")?;
    println!("Figures written to {}.", out.display());
    Ok(())
}
