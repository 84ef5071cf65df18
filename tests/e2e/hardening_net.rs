//! Connection flooding: idle sockets from one address are capped and timed out, so they cannot
//! take the file descriptors others need; honest readers and editors keep syncing meanwhile.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_server::{Limits, NetLimits};
use contactpoint_tests::{NativeClient, RelayProcess, TestRelay, http_from, http_get};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

const ATTACKER: [u8; 4] = [127, 0, 0, 2];

fn ip(octets: [u8; 4]) -> IpAddr {
    IpAddr::from(octets)
}

/// Opens `n` TCP connections from `from` to `to` and sends nothing.
async fn idle_sockets(from: IpAddr, to: SocketAddr, n: usize) -> Result<Vec<TcpStream>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        out.push(socket.connect(to).await.with_context(|| format!("idle socket {i} from {from}"))?);
    }
    Ok(out)
}

/// What the relay did with a socket that sent nothing.
#[derive(Debug, PartialEq, Eq)]
enum Fate {
    /// Answered 503 (and closed).
    Refused,
    /// Closed without an answer, or with a timeout answer.
    Closed,
    /// Still open, nothing received within the wait.
    Open,
}

/// Reads a socket until it closes or `wait` passes.
async fn fate(s: &mut TcpStream, wait: Duration) -> Fate {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(wait, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    match read {
        Err(_) if got.is_empty() => Fate::Open,
        _ if got.starts_with(b"HTTP/1.1 503") => Fate::Refused,
        _ => Fate::Closed,
    }
}

async fn fates(sockets: &mut [TcpStream], wait: Duration) -> Vec<Fate> {
    futures_util::future::join_all(sockets.iter_mut().map(|s| fate(s, wait))).await
}

/// A GET request for [`http_from`].
fn get(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
}

/// 1,100 idle sockets from one address: the relay keeps `per_address` of them, refuses the
/// rest at once with a 503, and closes the kept ones when their header read timeout passes.
/// Meanwhile `/healthz` answers another address, and a reader and an editor connected before
/// the flood stay connected and keep receiving updates, also after the HTTP idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_from_one_address_cannot_lock_others_out() -> Result<()> {
    contactpoint_server::listen::raise_fd_limit();
    // Longer idle timeout than header timeout, so that what closes the kept sockets is the
    // header read timeout.
    let header_timeout = Duration::from_secs(3);
    let idle_timeout = Duration::from_secs(8);
    let net = NetLimits { per_address: 64, header_read_timeout: header_timeout, idle_timeout, ..NetLimits::default() };
    let relay = TestRelay::start_with_net(Limits::default(), net).await?;
    let doc = relay.document(Scope::Area("municipality:091".into()));
    let mut editor = NativeClient::new("flood-editor");
    editor.open(doc);
    editor.connect(&relay.url(&relay.token(Role::Editor, &["091"]))).await?;
    let mut reader = NativeClient::new("flood-reader");
    reader.open(doc);
    reader.connect(&relay.url(&relay.token(Role::Reader, &[]))).await?;
    editor.put(doc, "note", "before").await?;
    editor.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    reader.wait_until(|c| c.get(doc, "note").as_deref() == Some("before")).await.context("before")?;

    let started = Instant::now();
    let mut flood = idle_sockets(ip(ATTACKER), relay.addr, 1100).await?;
    let connected_in = started.elapsed();
    ensure!(connected_in < header_timeout / 2, "connecting took {connected_in:?}, too long for this test");
    let seen = fates(&mut flood, Duration::from_millis(1200)).await;
    let open = seen.iter().filter(|f| **f == Fate::Open).count();
    let answered = seen.iter().filter(|f| **f == Fate::Refused).count();
    assert_eq!(open, 64, "only the per-address cap of sockets is kept");
    assert!(answered > 0, "refused sockets are told why");

    // During the flood: another address is served, and the honest pair keeps syncing.
    let (status, body) = http_get(relay.addr, "/healthz").await?;
    assert_eq!(status, 200, "{body}");
    editor.put(doc, "note", "during").await?;
    editor.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    reader.wait_until(|c| c.get(doc, "note").as_deref() == Some("during")).await.context("during")?;

    // The kept ones are closed by the header read timeout, not before.
    let mut kept: Vec<TcpStream> =
        flood.into_iter().zip(&seen).filter(|(_, f)| **f == Fate::Open).map(|(s, _)| s).collect();
    let later = fates(&mut kept, header_timeout + Duration::from_secs(10)).await;
    let closed_after = started.elapsed();
    assert!(later.iter().all(|f| *f == Fate::Closed), "{later:?}");
    assert!(closed_after >= header_timeout && closed_after < idle_timeout, "closed after {closed_after:?}");
    drop(kept);
    // Their places are given back: the address is served again.
    let (status, body) = http_from(ip(ATTACKER), relay.addr, &get(relay.addr, "/healthz")).await?;
    assert_eq!(status, 200, "{body}");

    // WebSockets are not HTTP requests: quiet for longer than the idle timeout, they stay.
    tokio::time::sleep(idle_timeout + Duration::from_secs(1)).await;
    editor.put(doc, "note", "after").await?;
    editor.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    reader.wait_until(|c| c.get(doc, "note").as_deref() == Some("after")).await.context("after")?;
    assert!(editor.is_connected() && reader.is_connected());
    Ok(())
}

/// A request whose body never comes is closed after the idle timeout (its headers are complete,
/// so the header read timeout no longer applies).
#[tokio::test]
async fn a_request_whose_body_never_comes_is_closed() -> Result<()> {
    let idle_timeout = Duration::from_secs(2);
    let net = NetLimits { header_read_timeout: Duration::from_secs(60), idle_timeout, ..NetLimits::default() };
    let relay = TestRelay::start_with_net(Limits::default(), net).await?;
    use tokio::io::AsyncWriteExt;
    let mut s = TcpStream::connect(relay.addr).await?;
    let started = Instant::now();
    s.write_all(
        b"POST /api/v0/redeem HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\"",
    )
    .await?;
    let f = fate(&mut s, Duration::from_secs(20)).await;
    let after = started.elapsed();
    assert_eq!(f, Fate::Closed);
    assert!(after >= idle_timeout && after < Duration::from_secs(20), "closed after {after:?}");
    Ok(())
}

/// The total cap refuses every address once reached, and closing connections frees it.
#[tokio::test]
async fn the_total_cap_refuses_with_a_503_and_frees_places() -> Result<()> {
    let net = NetLimits { total: 10, header_read_timeout: Duration::from_secs(60), ..NetLimits::default() };
    let relay = TestRelay::start_with_net(Limits::default(), net).await?;
    let mut held = idle_sockets(ip([127, 0, 0, 3]), relay.addr, 10).await?;
    let (status, body) = http_from(ip([127, 0, 0, 4]), relay.addr, &get(relay.addr, "/healthz")).await?;
    assert_eq!(status, 503);
    assert!(body.contains("too many connections"), "{body}");
    assert!(fates(&mut held, Duration::from_millis(200)).await.iter().all(|f| *f == Fate::Open));
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = http_get(relay.addr, "/healthz").await?;
        if status == 200 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("places were not given back: still {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field} in status"))?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

fn open_fds(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// The real relay, started with the usual soft limit of 1,024 open files and default limits:
/// 1,900 idle sockets from three addresses (1,100 from one of them) leave it holding more than
/// 1,024 connections, so it must have raised its limit, and `/healthz` still answers. Its peak
/// memory stays small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_relay_raises_its_file_limit_and_stays_small_under_a_flood() -> Result<()> {
    /// The peak resident memory allowed, sample data loaded and the flood held.
    const PEAK_MIB: u64 = 96;
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let limit = contactpoint_server::listen::raise_fd_limit();
    if limit.is_some_and(|l| l < 4096) {
        eprintln!("skipped: this process may open only {limit:?} files");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let relay = RelayProcess::start_with_open_file_limit(&dir.path().join("r.sqlite"), 1024, &["--seed".as_ref()])?;
    let pid = relay.pid();
    let (status, _) = http_get(relay.addr, "/healthz").await?;
    assert_eq!(status, 200);
    let before = proc_status_kib(pid, "VmHWM:")?;

    let mut flood = idle_sockets(ip(ATTACKER), relay.addr, 1100).await?;
    flood.extend(idle_sockets(ip([127, 0, 0, 3]), relay.addr, 400).await?);
    flood.extend(idle_sockets(ip([127, 0, 0, 4]), relay.addr, 400).await?);
    // Refusals linger for a second at most.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fds = open_fds(pid)?;
    assert!(fds > 1024 + 100, "the relay holds {fds} descriptors; 512 + 400 + 400 connections were expected");
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), http_get(relay.addr, "/healthz"))
        .await
        .context("/healthz did not answer within 5 s")??;
    assert_eq!(status, 200, "{body}");
    let peak = proc_status_kib(pid, "VmHWM:")?;
    eprintln!(
        "relay: {fds} descriptors, VmHWM {} KiB before the flood, {} KiB with it; /healthz in {:?}",
        before,
        peak,
        started.elapsed()
    );
    assert!(peak < PEAK_MIB * 1024, "peak memory {peak} KiB is over {PEAK_MIB} MiB");
    drop(flood);
    Ok(())
}

/// `serve --max-connections-per-address` and `--max-connections` set the caps: with 3 and 5, a
/// fourth idle socket from one address is refused while another address still gets in, and the
/// sixth socket in all is refused from any address.
#[tokio::test]
async fn the_connection_caps_are_set_from_the_command_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let relay = RelayProcess::start_with_env(
        &dir.path().join("relay.sqlite"),
        &[("CONTACTPOINT_MAX_CONNECTIONS", "5")],
        &["--max-connections-per-address".as_ref(), "3".as_ref()],
    )?;
    let (one, other, third) = (ip([127, 0, 0, 5]), ip([127, 0, 0, 6]), ip([127, 0, 0, 7]));
    let mut held = idle_sockets(one, relay.addr, 3).await?;
    let (status, body) = http_from(one, relay.addr, &get(relay.addr, "/healthz")).await?;
    assert_eq!(status, 503, "a fourth connection from one address: {body}");
    held.extend(idle_sockets(other, relay.addr, 2).await?);
    let (status, body) = http_from(third, relay.addr, &get(relay.addr, "/healthz")).await?;
    assert_eq!(status, 503, "a sixth connection in all: {body}");
    assert!(body.contains("too many connections"), "{body}");
    assert!(fates(&mut held, Duration::from_millis(200)).await.iter().all(|f| *f == Fate::Open));
    drop(held);
    let (ok, _, err) = contactpoint_tests::contactpoint(&[
        "serve",
        "--db",
        dir.path().join("other.sqlite").to_str().context("path")?,
        "--max-connections",
        "0",
    ])?;
    assert!(!ok && err.contains("at least 1"), "a cap of zero was accepted: {err}");
    Ok(())
}
