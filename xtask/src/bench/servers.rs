//! Starting, measuring and stopping the two relays under test: ours (`contactpoint serve`) and
//! the reference Node sync server. Both listen on 127.0.0.1 only and are measured from /proc.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Which relay a figure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The Contact Point relay.
    Ours,
    /// `@automerge/automerge-repo-sync-server`.
    Reference,
}

impl Kind {
    /// The name used in output and JSON keys.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Reference => "reference",
        }
    }
}

/// How to start one kind of relay again and again on the same data.
#[derive(Clone, Debug)]
pub enum Launch {
    /// Our binary on a SQLite file.
    Ours {
        /// The `contactpoint` binary.
        bin: PathBuf,
        /// The database file.
        db: PathBuf,
        /// `serve --max-connections`: the default (8,192) is below what the benchmark opens.
        max_connections: usize,
    },
    /// Node running the reference server's entry point through a small wrapper.
    Reference {
        /// The wrapper script that binds the server to 127.0.0.1.
        wrapper: PathBuf,
        /// The reference server's `src/index.js`.
        entry: PathBuf,
        /// Its storage directory.
        data_dir: PathBuf,
    },
}

/// One running relay process.
pub struct Server {
    /// Which relay.
    pub kind: Kind,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id, for /proc.
    pub pid: u32,
    child: Child,
    log: PathBuf,
}

/// Wraps the reference server so that it listens on 127.0.0.1 instead of every interface; the
/// server itself passes only a port to `listen`.
const REFERENCE_WRAPPER: &str = r#"// Binds the reference sync server to the loopback interface, then starts it.
import http from "node:http";
import { pathToFileURL } from "node:url";
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args.length === 1 || typeof args[1] === "function")) {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
await import(pathToFileURL(process.argv[2]).href);
"#;

impl Launch {
    /// Prepares the reference server's launch in `dir`, checking that its package is installed.
    pub fn reference(workspace: &Path, dir: &Path) -> Result<Launch> {
        let entry = workspace.join("tests/js/node_modules/@automerge/automerge-repo-sync-server/src/index.js");
        if !entry.exists() {
            bail!(
                "the reference sync server is not installed ({} is missing): run `npm ci --prefix tests/js` first",
                entry.display()
            );
        }
        let wrapper = dir.join("start-reference.mjs");
        std::fs::write(&wrapper, REFERENCE_WRAPPER)?;
        let data_dir = dir.join("reference-data");
        std::fs::create_dir_all(&data_dir)?;
        Ok(Launch::Reference { wrapper, entry, data_dir })
    }

    /// Starts the relay and waits until it listens.
    pub fn start(&self, log: &Path) -> Result<Server> {
        let log_file = File::options().create(true).append(true).open(log)?;
        let (kind, mut child, marker) = match self {
            Launch::Ours { bin, db, max_connections } => {
                let child = super::instructions::command(bin)
                    .args([
                        "serve",
                        "--listen",
                        "127.0.0.1:0",
                        "--max-connections",
                        &max_connections.to_string(),
                        "--db",
                    ])
                    .arg(db)
                    .env("RUST_LOG", "warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(log_file)
                    .spawn()
                    .with_context(|| format!("cannot start {}", bin.display()))?;
                (Kind::Ours, child, contactpoint_server::banner::LISTENING)
            }
            Launch::Reference { wrapper, entry, data_dir } => {
                let port = free_port()?;
                let child = super::instructions::command("node")
                    .arg(wrapper)
                    .arg(entry)
                    .current_dir(data_dir)
                    .env("PORT", port.to_string())
                    .env("DATA_DIR", data_dir)
                    .env("NODE_ENV", "production")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(log_file)
                    .spawn()
                    .context("cannot start `node`: is Node.js installed and on PATH?")?;
                (Kind::Reference, child, "Listening on port ")
            }
        };
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout")?;
        // Read stdout on a thread so a slow start can be bounded by a timeout, and keep draining it
        // afterwards so the server never blocks on a full pipe.
        // Its lines also go to the log, next to stderr, for when something goes wrong.
        let mut log_copy = File::options().append(true).open(log)?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_copy, "{line}");
                // Once nobody listens any more the send fails; draining goes on regardless.
                let _ = tx.send(line);
            }
        });
        let wait = super::instructions::stretch(Duration::from_secs(30));
        let deadline = Instant::now() + wait;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("{} did not start listening within {wait:?}; its log: {}", kind.name(), tail(log));
                }
            };
            if let Some(rest) = line.split(marker).nth(1) {
                let word = rest.split_whitespace().next().context("no address after the marker")?;
                break match kind {
                    Kind::Ours => word.parse::<SocketAddr>()?,
                    Kind::Reference => SocketAddr::from(([127, 0, 0, 1], word.parse::<u16>()?)),
                };
            }
        };
        Ok(Server { kind, addr, pid, child, log: log.to_owned() })
    }
}

/// A loopback port that is free right now (the reference server wants one chosen for it).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The last lines of a log file, for error messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    if lines.is_empty() {
        return "(empty)".into();
    }
    // Debug logs can hold whole documents on one line; a few hundred characters say enough.
    let short = |l: &&str| -> String {
        if l.chars().count() > 300 {
            format!("{}…", l.chars().take(300).collect::<String>())
        } else {
            (*l).to_owned()
        }
    };
    lines[start..].iter().map(short).collect::<Vec<_>>().join("\n")
}

impl Server {
    /// The WebSocket URL for a token. The reference server ignores both the path and the query,
    /// so the same URL shape serves both relays.
    pub fn url(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.addr)
    }

    /// The relay's CPU time so far (user + system, all threads), in seconds.
    pub fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(self.pid)
    }

    /// The relay's resident memory, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
        Ok(line.split_whitespace().nth(1).context("no VmRSS value")?.parse()?)
    }

    /// The relay's soft limit on open files.
    pub fn open_files_limit(&self) -> Result<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid))?;
        let line = limits.lines().find(|l| l.starts_with("Max open files")).context("no open-files line")?;
        let soft = line.split_whitespace().nth(3).context("no soft limit")?;
        Ok(if soft == "unlimited" { u64::MAX } else { soft.parse()? })
    }

    /// Fails with the relay's log when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the {} relay exited ({status}); its log:\n{}", self.kind.name(), tail(&self.log));
        }
        Ok(())
    }

    /// Stops the relay: SIGINT first (ours shuts down cleanly on it), SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            // The standard library only sends SIGKILL; `kill` sends the polite signal by pid.
            let _ = Command::new("kill").args(["-INT", &self.pid.to_string()]).status();
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if self.child.try_wait()?.is_some() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a relay running, whatever went wrong.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The clock tick of /proc/PID/stat times.
pub(super) fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// User + system CPU seconds of a process (all its threads) from /proc/PID/stat.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces; the fields after it are space-separated.
    let after = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / clock_ticks())
}
