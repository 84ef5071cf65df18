//! `cargo xtask bench relay --instructions`: each relay runs under `valgrind --tool=callgrind`,
//! and every CPU figure of a workload gets a twin counting the relay's instructions (`Ir`), which
//! do not change with whatever else the machine is doing.
//!
//! Counting works like the CPU clock from /proc: a reading asks the running relay for a callgrind
//! dump (`callgrind_control --dump PID`, which also zeroes the counters) and adds up the totals
//! of every dump of that process so far; a workload's figure is the difference of two readings.
//! Start-up, the load generator's set-up before the first reading and everything after the last
//! one are therefore outside the figure. The reference server's JIT needs valgrind to watch for
//! self-modifying code (`--smc-check=all-non-file`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::thousands;

/// Where the dumps go, once counting is on.
static DUMPS: OnceLock<PathBuf> = OnceLock::new();

/// How much longer every wait of the load generator may be: valgrind slows a relay 20–100×.
const SLOWDOWN: u32 = 20;

/// Turns counting on for every relay started from now on; dumps go to `dir`. Fails when valgrind
/// is missing.
pub fn enable(dir: &Path) -> Result<()> {
    for tool in ["valgrind", "callgrind_control"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if found.is_err() {
            bail!("`{tool}` is not installed: --instructions needs valgrind (the Debian package `valgrind`)");
        }
    }
    std::fs::create_dir_all(dir)?;
    DUMPS.set(dir.to_owned()).map_err(|_| anyhow::anyhow!("instruction counting is already on"))
}

/// Whether relays run under callgrind.
pub fn enabled() -> bool {
    DUMPS.get().is_some()
}

/// `d`, or `d` times the slowdown when relays run under callgrind.
pub fn stretch(d: Duration) -> Duration {
    if enabled() { d * SLOWDOWN } else { d }
}

/// A command that runs `program`, under callgrind when counting is on.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let Some(dir) = DUMPS.get() else { return Command::new(program) };
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--smc-check=all-non-file", "--dump-instr=no", "--dump-line=no"])
        .arg(format!("--callgrind-out-file={}", dir.join("callgrind.out.%p").display()))
        .arg(program);
    cmd
}

/// The instructions process `pid` (a relay started by [`command`]) has executed since it started.
pub fn so_far(pid: u32) -> Result<u64> {
    let dir = DUMPS.get().context("instruction counting is off")?;
    let out = Command::new("callgrind_control")
        .arg("--dump")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .context("cannot run callgrind_control")?;
    if !out.status.success() {
        bail!("callgrind_control --dump {pid} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let prefix = format!("callgrind.out.{pid}.");
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(n) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        if n.parse::<u32>().is_ok() {
            total += dump_total(&entry.path())?;
        }
    }
    Ok(total)
}

/// The `Ir` total of one dump file (its `totals:` line, else its `summary:` line).
fn dump_total(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path)?;
    let line = text
        .lines()
        .find(|l| l.starts_with("totals:"))
        .or_else(|| text.lines().find(|l| l.starts_with("summary:")))
        .with_context(|| format!("no totals in {}", path.display()))?;
    let value = line.split_whitespace().nth(1).with_context(|| format!("empty totals in {}", path.display()))?;
    Ok(value.parse()?)
}

/// The key of the instruction count that goes with a CPU figure: `fanout.subscribe_cpu_s` →
/// `fanout.subscribe_ir`.
pub fn key_for(cpu_key: &str) -> String {
    match cpu_key.strip_suffix("cpu_s") {
        Some(stem) => format!("{stem}ir"),
        None => format!("{cpu_key}.ir"),
    }
}

/// Whether a figure is a workload's instruction count (not the total).
pub fn is_count(key: &str) -> bool {
    (key.ends_with(".ir") || key.ends_with("_ir")) && key != "total.ir"
}

/// Adds `total.ir`, the sum of every workload's count, when there are counts.
pub fn add_total(figures: &mut Vec<(String, f64)>) {
    let counts: Vec<f64> = figures.iter().filter(|(k, _)| is_count(k)).map(|(_, v)| *v).collect();
    if !counts.is_empty() {
        figures.push(("total.ir".into(), counts.iter().sum()));
    }
}

/// Prints each counted workload's instructions with the ratio reference/ours against the goal
/// of 10, and returns those ratios for the JSON file.
pub fn summary(ours: &[(String, f64)], reference: &[(String, f64)]) -> serde_json::Map<String, serde_json::Value> {
    let mut ratios = serde_json::Map::new();
    let counted: Vec<&(String, f64)> = ours.iter().filter(|(k, _)| is_count(k) || k == "total.ir").collect();
    if counted.is_empty() {
        return ratios;
    }
    println!();
    println!("Instructions executed by the relay (callgrind Ir; the same binary and workload give the same count):");
    println!("{:<28} | {:>15} | {:>15} | {:>9} | goal ≥ 10", "workload", "ours", "reference", "ref/ours");
    for (key, o) in counted {
        let r = reference.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let ratio = r.filter(|_| *o > 0.0).map(|r| r / o);
        if let Some(x) = ratio {
            ratios.insert(key.clone(), serde_json::json!(x));
        }
        println!(
            "{key:<28} | {:>15} | {:>15} | {:>9} | {}",
            thousands(*o),
            r.map_or("—".into(), thousands),
            ratio.map_or("—".into(), |x| format!("{x:.2}")),
            match ratio {
                Some(x) if x >= 10.0 => "met",
                Some(_) => "NOT met",
                None => "—",
            }
        );
    }
    ratios
}
