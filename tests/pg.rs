//! A real PostgreSQL server for the tests: one per test process, started on first use from the
//! system's `postgresql` package on a free loopback port, with a fresh database per test, and
//! stopped by a watchdog once the test process is gone (statics are never dropped).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};

/// The engine a storage-facing test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the tests' PostgreSQL server.
    Postgres,
}

impl Engine {
    /// A new, empty database for one test: a file path in `dir`, or a `postgres://` URL (as a
    /// path, which is how `--db` and `Db::open` take it).
    pub fn fresh(self, dir: &Path) -> Result<PathBuf> {
        match self {
            Engine::Sqlite => Ok(dir.join("relay.sqlite")),
            Engine::Postgres => Ok(PathBuf::from(fresh_database()?)),
        }
    }
}

/// The running server.
struct Server {
    bin: PathBuf,
    port: u16,
}

static SERVER: OnceLock<std::result::Result<Server, String>> = OnceLock::new();
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The URL of a new, empty database on the tests' server (started on first use).
pub fn fresh_database() -> Result<String> {
    let server = SERVER.get_or_init(|| start().map_err(|e| format!("{e:#}"))).as_ref().map_err(|e| anyhow!("{e}"))?;
    let name = format!("t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let out = Command::new(server.bin.join("psql"))
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-U", "postgres", "-d", "postgres", "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!("CREATE DATABASE failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", server.port))
}

/// The newest installed PostgreSQL's programs (Debian puts them in /usr/lib/postgresql/N/bin).
fn bin_dir() -> Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (/usr/lib/postgresql is missing): `cargo xtask test` installs it")?
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

/// Runs a PostgreSQL program, as the `postgres` user when the tests run as root (`initdb` and
/// the server refuse to run as root).
fn run_pg(bin: &Path, program: &str, args: &[String]) -> Result<()> {
    let line = std::iter::once(bin.join(program).display().to_string())
        .chain(args.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = if is_root() {
        let mut c = Command::new("su");
        c.args(["postgres", "-s", "/bin/sh", "-c", &line]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &line]);
        c
    };
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!("{program} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn start() -> Result<Server> {
    let bin = bin_dir()?;
    let dir = std::env::temp_dir().join(format!("contactpoint-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    if is_root() {
        let ok = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status()?.success();
        if !ok {
            bail!("cannot give {} to the postgres user", dir.display());
        }
    }
    let data = dir.join("data");
    let s = |p: &Path| p.display().to_string();
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
            "--no-sync".into(),
        ],
    )?;
    // A free port: bound and released; the server takes it a moment later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    // Durability against a relay's SIGKILL is the relay's (the server keeps running), so the
    // server need not sync to disk; 300 connections leave room for many relays' pools.
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
        s(&dir)
    );
    run_pg(
        &bin,
        "pg_ctl",
        &["-D".into(), s(&data), "-o".into(), options, "-l".into(), s(&dir.join("log")), "-w".into(), "start".into()],
    )?;
    // The watchdog: once this process has ended, stop the server and remove its files.
    let stop = format!("{} -D '{}' -m immediate stop", bin.join("pg_ctl").display(), s(&data));
    let stop = if is_root() { format!("su postgres -s /bin/sh -c \"{stop}\"") } else { stop };
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = s(&dir)
    );
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the server's watchdog")?;
    Ok(Server { bin, port })
}
