//! A throwaway PostgreSQL server for the cluster benchmark: Debian's `postgresql` package,
//! `initdb` (as the `postgres` user when run as root) into a temporary directory, a free loopback
//! port, durable settings (fsync on, as the SQLite relay syncs every commit), stopped when dropped
//! and by a watchdog if the benchmark itself is killed.
//!
//! `tests/pg.rs` starts the tests' server the same way; the two are kept apart because the tests'
//! server is one per test process behind a static (and runs without fsync), while this one lives
//! as long as one benchmark run, is measured, and is stopped when the run ends. What they share is
//! about forty lines of process plumbing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// A running server and its files.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// The postmaster's process id, for CPU readings.
    pub pid: u32,
    // Dropped (removed) after `Drop::drop` has stopped the server.
    _dir: tempfile::TempDir,
}

/// The newest installed PostgreSQL's programs (Debian puts them in /usr/lib/postgresql/N/bin).
fn bin_dir() -> Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (/usr/lib/postgresql is missing)")?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).context("no initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// A shell command line, run as the `postgres` user when we are root (`initdb` and the server
/// refuse to run as root).
fn as_postgres(line: &str) -> Command {
    let mut cmd = if is_root() {
        let mut c = Command::new("su");
        c.args(["postgres", "-s", "/bin/sh", "-c", line]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", line]);
        c
    };
    cmd.stdin(Stdio::null());
    cmd
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn run_pg(bin: &Path, program: &str, args: &[String]) -> Result<()> {
    let line = std::iter::once(quote(&bin.join(program).display().to_string()))
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let out = as_postgres(&line).output().with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!("{program} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

impl Postgres {
    /// Initialises and starts a server; returns once it accepts connections.
    pub fn start() -> Result<Postgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("contactpoint-bench-pg-").tempdir()?;
        if is_root() && !Command::new("chown").arg("postgres:postgres").arg(dir.path()).status()?.success() {
            bail!("cannot give {} to the postgres user", dir.path().display());
        }
        let s = |p: &Path| p.display().to_string();
        let data = dir.path().join("data");
        run_pg(
            &bin,
            "initdb",
            &[
                "-D".into(),
                s(&data),
                "-A".into(),
                "trust".into(),
                "-U".into(),
                "postgres".into(),
                "-E".into(),
                "UTF8".into(),
            ],
        )?;
        // A free port: bound and released; the server takes it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // Default durability (fsync, synchronous commit): the SQLite relay syncs every commit too.
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200", s(dir.path()));
        run_pg(
            &bin,
            "pg_ctl",
            &[
                "-D".into(),
                s(&data),
                "-o".into(),
                options,
                "-l".into(),
                s(&dir.path().join("log")),
                "-w".into(),
                "start".into(),
            ],
        )?;
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).context("no postmaster.pid")?;
        let pid = pid_file.lines().next().context("empty postmaster.pid")?.trim().parse()?;
        // If this process is killed, nothing drops: a watchdog stops the server and removes it.
        let stop = format!("{} -D {} -m immediate stop", quote(&s(&bin.join("pg_ctl"))), quote(&s(&data)));
        let stop = if is_root() { format!("su postgres -s /bin/sh -c {}", quote(&stop)) } else { stop };
        let watchdog = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
            me = std::process::id(),
            dir = quote(&s(dir.path()))
        );
        Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the server's watchdog")?;
        Ok(Postgres { bin, data, port, pid, _dir: dir })
    }

    /// Creates an empty database and returns its URL, as `--db` takes it.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-q", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!("CREATE DATABASE failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let line = format!(
            "{} -D {} -m fast -w stop",
            quote(&self.bin.join("pg_ctl").display().to_string()),
            quote(&self.data.display().to_string())
        );
        let _ = as_postgres(&line).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// User + system CPU seconds of a process, its live children, and its reaped children: for the
/// postmaster, the whole database server (backends and background processes).
pub(super) fn tree_cpu_seconds(pid: u32) -> Result<f64> {
    let (own, reaped, _) = stat_times(pid)?;
    let mut total = own + reaped;
    for entry in std::fs::read_dir("/proc")?.filter_map(|e| e.ok()) {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        // A process may end between the listing and the reading.
        if let Ok((t, _, parent)) = stat_times(child)
            && parent == pid
        {
            total += t;
        }
    }
    Ok(total)
}

/// (utime + stime, cutime + cstime, ppid) of a process in seconds, from /proc/PID/stat.
fn stat_times(pid: u32) -> Result<(f64, f64, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): ppid is field 4, utime..cstime are fields 14 to 17.
    let num = |i: usize| -> Result<f64> { Ok(f.get(i).context("short /proc stat")?.parse::<f64>()?) };
    let ticks = super::servers::clock_ticks();
    Ok(((num(11)? + num(12)?) / ticks, (num(13)? + num(14)?) / ticks, num(1)? as u32))
}
