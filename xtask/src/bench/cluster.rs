//! `cargo xtask bench cluster`: one relay on SQLite against one, two and three relays over one
//! PostgreSQL database, on the relay benchmark's workloads with the connections spread
//! round-robin across the instances, plus a write rate. Printed as a table with ratios against
//! the SQLite relay and written as JSON.
//!
//! The PostgreSQL server is a throwaway one (`postgres.rs`) with a fresh database per
//! configuration. CPU is read from /proc for every relay process and for the database server's
//! processes; the load generator, the relays and the database share the machine's cores.
//!
//! Options: `--quick` (small sizes), `--relay-bin=PATH` (skip building the relay), `--out=PATH`
//! (the JSON file; default `<target>/bench/cluster.json`), `--workloads=fanout,fanout_large,idle,writes`
//! (a subset).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

use super::postgres::Postgres;
use super::servers::Kind;
use super::workloads::{self, Ctx, Sizes};
use super::{Unit, show};

/// The workloads, in the order they run.
const WORKLOADS: [&str; 4] = ["fanout", "fanout_large", "idle", "writes"];

/// The configurations measured: name, on PostgreSQL, instances. The first is the baseline.
const CONFIGS: [(&str, bool, usize); 4] =
    [("sqlite×1", false, 1), ("postgres×1", true, 1), ("postgres×2", true, 2), ("postgres×3", true, 3)];

/// The most instances of any configuration (rows per instance go up to it).
const MAX_INSTANCES: usize = 3;

/// The totals of relay and database CPU: relay CPU keys whose database share is added.
const CPU_KEYS: [&str; 5] =
    ["fanout.cpu_s", "fanout_large.cpu_s", "idle.connect_cpu_s", "idle.subscribe_cpu_s", "writes.cpu_s"];

struct Options {
    quick: bool,
    relay_bin: Option<PathBuf>,
    out: Option<PathBuf>,
    workloads: Vec<String>,
    allow_debug: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options { quick: false, relay_bin: None, out: None, workloads: Vec::new(), allow_debug: false };
    for a in args {
        let (k, v) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (a.as_str(), None),
        };
        match (k, v) {
            ("--quick", None) => o.quick = true,
            ("--allow-debug", None) => o.allow_debug = true,
            ("--relay-bin", Some(p)) => o.relay_bin = Some(p.into()),
            ("--out", Some(p)) => o.out = Some(p.into()),
            ("--workloads", Some(list)) => {
                o.workloads = list.split(',').map(str::to_owned).collect();
                if let Some(w) = o.workloads.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
                    bail!("unknown workload {w:?}; the cluster's workloads are {}", WORKLOADS.join(","));
                }
            }
            ("-h" | "--help", None) => {
                println!(
                    "cargo xtask bench cluster [--quick] [--relay-bin=PATH] [--out=FILE] \
                     [--workloads=fanout,fanout_large,idle,writes]\n\
                     One relay on SQLite against one, two and three relays over one PostgreSQL database \
                     (a throwaway server from Debian's `postgresql`), connections spread across the instances."
                );
                std::process::exit(0);
            }
            _ => bail!("unknown option {a:?} (try --help; options take `=`: --out=FILE)"),
        }
    }
    Ok(o)
}

/// Runs the cluster benchmark with the command-line options that follow `bench cluster`.
pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    if cfg!(debug_assertions) && !opts.allow_debug {
        return super::rerun_optimised("cluster", args);
    }
    let workspace = super::workspace()?;
    let target = super::target_dir()?;
    let sizes = if opts.quick { Sizes::quick() } else { Sizes::full() };
    let want = |w: &str| opts.workloads.is_empty() || opts.workloads.iter().any(|x| x == w);
    super::raise_open_files(sizes.connections())?;
    let relay_bin = match &opts.relay_bin {
        Some(p) => p.clone(),
        None => super::build_relay(&workspace, &target)?,
    };
    let dir = tempfile::Builder::new().prefix("contactpoint-bench-cluster-").tempdir()?;
    eprintln!("bench: starting a throwaway PostgreSQL server");
    let pg = Postgres::start()?;

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let mut results: Vec<(&str, Vec<(String, f64)>)> = Vec::new();
    for (n, (name, on_pg, instances)) in CONFIGS.iter().enumerate() {
        eprintln!("bench: {name}");
        let config_dir = dir.path().join(format!("config{n}"));
        std::fs::create_dir_all(&config_dir)?;
        let db = if *on_pg {
            PathBuf::from(pg.create_database(&format!("bench_{n}"))?)
        } else {
            config_dir.join("bench.sqlite")
        };
        let (launch, admin_token, reader_token, ids, write_docs) =
            super::setup_ours(&relay_bin, &db, sizes.writers, sizes.connections())?;
        let mut ctx = Ctx {
            kind: Kind::Ours,
            launches: vec![launch; *instances],
            servers: Vec::new(),
            log: config_dir.join("relay.log"),
            admin_token,
            reader_token,
            ids,
            write_docs,
            database_pid: on_pg.then_some(pg.pid),
            per_instance: true,
            sizes: sizes.clone(),
            run_tag: format!("c{}-{n}", std::process::id()),
            figures: Vec::new(),
        };
        let r = rt.block_on(async {
            ctx.start().await?;
            if want("fanout") {
                workloads::fanout(&mut ctx).await?;
            }
            if want("fanout_large") {
                workloads::fanout_large(&mut ctx).await?;
            }
            if want("idle") {
                // Memory is read on freshly started processes, as in the relay benchmark.
                ctx.stop().await?;
                ctx.start().await?;
                workloads::idle(&mut ctx).await?;
            }
            if want("writes") {
                workloads::writes(&mut ctx).await?;
            }
            ctx.stop().await
        });
        if let Err(e) = r {
            let logs = ctx.log_tails();
            let _ = rt.block_on(ctx.stop());
            return Err(e.context(format!("{name}; the end of its logs:\n{logs}")));
        }
        let get = |k: &str| ctx.figures.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
        let totals: Vec<(String, f64)> = CPU_KEYS
            .iter()
            .filter_map(|k| Some((format!("{k}.with_db"), get(k)? + get(&format!("{k}.db")).unwrap_or(0.0))))
            .collect();
        ctx.figures.extend(totals);
        results.push((name, ctx.figures));
    }
    let elapsed = started.elapsed();
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    drop(pg);

    let out = opts.out.clone().unwrap_or_else(|| target.join("bench").join("cluster.json"));
    report(&sizes, &results, elapsed.as_secs_f64(), opts.quick, &out)
}

type Row = (String, String, Unit);

fn row(r: &mut Vec<Row>, key: &str, label: &str, unit: Unit) {
    r.push((key.to_owned(), label.to_owned(), unit));
}

/// A row for a figure and, below it, the same per instance (`key.1` …).
fn with_instances(r: &mut Vec<Row>, key: &str, label: &str, unit: Unit, each: &str) {
    row(r, key, label, unit);
    for i in 1..=MAX_INSTANCES {
        row(r, &format!("{key}.{i}"), &format!("    {each} {i}"), unit);
    }
}

/// The relay CPU of a phase: all instances, each, the database server, and relays and database.
fn cpu_rows(r: &mut Vec<Row>, key: &str, label: &str) {
    with_instances(r, key, label, Unit::Seconds, "instance");
    row(r, &format!("{key}.db"), "    database server", Unit::Seconds);
    row(r, &format!("{key}.with_db"), "    relays and database together", Unit::Seconds);
}

fn rows(s: &Sizes) -> Vec<Row> {
    use Unit::*;
    let mut r = Vec::new();
    for (key, what) in [
        ("fanout", format!("fanout: {} edits of a small document, writer on instance 1", s.fanout_edits)),
        (
            "fanout_large",
            format!("fanout_large: {} edits, 1,000 entries, new writer each, instances in turn", s.fanout_edits),
        ),
    ] {
        row(&mut r, "", &what, Count);
        with_instances(
            &mut r,
            &format!("{key}.readers"),
            &format!("  readers subscribed (of {})", s.fanout_clients),
            Count,
            "held by instance",
        );
        row(&mut r, &format!("{key}.p50_ms"), "  fan-out to every reader: p50", Millis);
        row(&mut r, &format!("{key}.p99_ms"), "  fan-out: p99", Millis);
        row(&mut r, &format!("{key}.same_p50_ms"), "  p50, readers on the writer's instance", Millis);
        row(&mut r, &format!("{key}.other_p50_ms"), "  p50, readers on another instance", Millis);
        row(&mut r, &format!("{key}.other_p99_ms"), "  p99, readers on another instance", Millis);
        row(&mut r, &format!("{key}.missed"), "  deliveries missed", Count);
        cpu_rows(&mut r, &format!("{key}.cpu_s"), "  relay CPU for the edits, all instances");
    }
    row(&mut r, "", &format!("idle: {} connections, each subscribed to a small document", s.idle_connections), Count);
    with_instances(&mut r, "idle.connected", "  connections held", Count, "by instance");
    row(&mut r, "idle.subscribed", "  subscribed", Count);
    with_instances(&mut r, "idle.rss_subscribed_mib", "  relay RSS, all subscribed", MiB, "instance");
    row(&mut r, "idle.kib_per_connection", "  relay RSS per connection", KiB);
    cpu_rows(&mut r, "idle.connect_cpu_s", "  relay CPU to open them, all instances");
    cpu_rows(&mut r, "idle.subscribe_cpu_s", "  relay CPU to subscribe them, all instances");
    row(
        &mut r,
        "",
        &format!("writes: {} writers, a document each, edit after edit for {} s", s.writers, s.write_seconds),
        Count,
    );
    row(&mut r, "writes.per_s", "  edits acknowledged (committed) per second", PerSecond);
    row(&mut r, "writes.ack_p50_ms", "  edit to acknowledgement: p50", Millis);
    row(&mut r, "writes.ack_p99_ms", "  edit to acknowledgement: p99", Millis);
    cpu_rows(&mut r, "writes.cpu_s", "  relay CPU, all instances");
    r
}

fn ratio_text(x: Option<f64>) -> String {
    x.map_or("—".to_owned(), |x| if x >= 0.1 { format!("{x:.2}") } else { format!("{x:.3}") })
}

fn report(sizes: &Sizes, results: &[(&str, Vec<(String, f64)>)], elapsed: f64, quick: bool, out: &Path) -> Result<()> {
    let get = |config: &str, key: &str| -> Option<f64> {
        results.iter().find(|(c, _)| *c == config).and_then(|(_, f)| f.iter().find(|(k, _)| k == key)).map(|(_, v)| *v)
    };
    let base = CONFIGS[0].0;
    let ratio = |config: &str, key: &str| -> Option<f64> {
        match (get(config, key), get(base, key)) {
            (Some(v), Some(b)) if b != 0.0 && v.is_finite() && b.is_finite() => Some(v / b),
            _ => None,
        }
    };
    let table = rows(sizes);
    let width = table.iter().map(|(_, l, _)| l.chars().count()).max().unwrap_or(20);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!();
    println!(
        "Cluster benchmark{} — the load generator, the relays and PostgreSQL share {cores} cores; CPU is each \
         process's own (/proc); ratios are against {base}",
        if quick { " (--quick)" } else { "" },
    );
    println!();
    let mut head = format!("{:<width$}", "workload");
    for (name, _, _) in CONFIGS {
        head += &format!(" | {name:>11}");
    }
    for (name, _, _) in &CONFIGS[1..] {
        head += &format!(" | {:>8}", name.replace("postgres", "pg"));
    }
    println!("{head}");
    println!("{}", head.chars().map(|c| if c == '|' { '+' } else { '-' }).collect::<String>());
    for (key, label, unit) in &table {
        let mut line = format!("{label:<width$}");
        if key.is_empty() {
            println!("{line}");
            continue;
        }
        for (name, _, _) in CONFIGS {
            line += &format!(" | {:>11}", show(get(name, key), unit));
        }
        for (name, _, _) in &CONFIGS[1..] {
            line += &format!(" | {:>8}", ratio_text(ratio(name, key)));
        }
        println!("{line}");
    }
    println!();
    println!("Benchmark wall time: {elapsed:.0} s.");

    let mut configs = serde_json::Map::new();
    let mut ratios = serde_json::Map::new();
    for (name, figures) in results {
        let map: serde_json::Map<String, serde_json::Value> =
            figures.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        configs.insert((*name).to_owned(), serde_json::Value::Object(map));
        if *name != base {
            let map: serde_json::Map<String, serde_json::Value> =
                figures.iter().filter_map(|(k, _)| Some((k.clone(), serde_json::json!(ratio(name, k)?)))).collect();
            ratios.insert(format!("{name}/{base}"), serde_json::Value::Object(map));
        }
    }
    let json = serde_json::json!({
        "quick": quick,
        "cores": cores,
        "sizes": {
            "fanout_clients": sizes.fanout_clients,
            "fanout_edits": sizes.fanout_edits,
            "idle_connections": sizes.idle_connections,
            "writers": sizes.writers,
            "write_seconds": sizes.write_seconds,
        },
        "wall_s": elapsed,
        "configs": configs,
        "ratios": ratios,
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&json)? + "\n")?;
    println!("Figures written to {}.", out.display());
    Ok(())
}
