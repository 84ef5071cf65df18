//! The relay's accept loop: connections limited per client address and in total, HTTP requests
//! that must arrive in time, and a file descriptor limit that `accept` never reaches.
//!
//! Idle sockets that never send a byte would otherwise hold a file descriptor each for ever,
//! until `accept` fails for everyone. Here an HTTP connection has [`NetLimits::header_read_timeout`]
//! to send each request's headers and may not stay silent for longer than
//! [`NetLimits::idle_timeout`] (a body that does not come). Established WebSockets are long-lived and legitimately
//! quiet: they are not timed out here (the relay's join handshake timeout covers their start),
//! but they still count against the connection caps until they close.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower_service::Service;

/// Limits on the relay's network connections.
#[derive(Clone, Debug)]
pub struct NetLimits {
    /// Open connections (HTTP and WebSocket) from one client address. IPv6 addresses count per
    /// /64, the block one household or site is given. High, because a school or a health
    /// centre behind NAT has many devices on one address.
    pub per_address: usize,
    /// Open connections in all. Lowered at start to the file descriptor limit less
    /// [`NetLimits::fd_reserve`].
    pub total: usize,
    /// File descriptors kept free of connections: the database, the web app's files, refusals
    /// being written.
    pub fd_reserve: usize,
    /// Time an HTTP connection has to send a request's headers, from connecting or from the end
    /// of the previous response.
    pub header_read_timeout: Duration,
    /// Time an HTTP connection may stay silent, not a byte moving either way, whatever it waits
    /// for: a request, a body that is not sent, a response that is not read. Headers sent a
    /// byte at a time are not silence; the header read timeout bounds those.
    pub idle_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed: a request from one of these counts
    /// against the address it forwards for (the wrong-invite limit, the per-address cap), not
    /// against the proxy's; connections from them count against the total only.
    pub trusted_proxies: Vec<Cidr>,
}

/// A block of addresses, such as `10.0.0.0/8`, `::1/128` or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.trim().parse().map_err(|_| format!("{s:?} is not an address or CIDR block"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix in {s:?}"))?
            }
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client a trusted proxy forwards for: the right-most address of `X-Forwarded-For` that is
/// not itself a trusted proxy (what is left of it was written by the client and proves nothing).
fn forwarded_client(headers: &axum::http::HeaderMap, trusted: &[Cidr]) -> Option<IpAddr> {
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let v = v.to_str().ok()?;
        for part in v.split(',') {
            hops.push(part.trim().parse().ok()?);
        }
    }
    hops.into_iter().rev().find(|ip| !trusted.iter().any(|c| c.contains(*ip))).map(canonical)
}

/// The default of [`NetLimits::per_address`], also the command line's.
pub const DEFAULT_PER_ADDRESS: usize = 512;
/// The default of [`NetLimits::total`], also the command line's.
pub const DEFAULT_TOTAL: usize = 8192;

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            per_address: DEFAULT_PER_ADDRESS,
            total: DEFAULT_TOTAL,
            fd_reserve: 256,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Refusals answered with a 503 at the same time; beyond them a refused connection is closed at
/// once. Part of [`NetLimits::fd_reserve`].
const REFUSALS_IN_FLIGHT: usize = 64;

/// How long a refused client has to read the 503 before its socket is closed.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Raises the soft limit on open files to the hard limit and returns the soft limit now in
/// force (`None`: unlimited or unknown). Idle connections cost a file descriptor each, and
/// the usual soft limit of 1,024 is far below what one relay holds.
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let now = getrlimit(Resource::Nofile);
        if now.current != now.maximum
            && let Err(e) = setrlimit(Resource::Nofile, Rlimit { current: now.maximum, maximum: now.maximum })
        {
            tracing::warn!("cannot raise the open file limit from {:?} to {:?}: {e}", now.current, now.maximum);
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The total cap that keeps `fd_reserve` descriptors free under a limit of `fd_limit`.
fn effective_total(limits: &NetLimits, fd_limit: Option<u64>) -> usize {
    let Some(limit) = fd_limit else { return limits.total };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    // A limit below the reserve (a test, a tiny container) still leaves half for others.
    let room = if limit > 2 * limits.fd_reserve { limit - limits.fd_reserve } else { limit / 2 };
    limits.total.min(room).max(1)
}

/// What counts as one client address: an IPv4 address, or an IPv6 /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    Address,
    Total,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::Address => "too many connections from your address; try again in a minute\n",
            Refusal::Total => "the relay has too many connections; try again in a minute\n",
        }
    }

    /// The `reason` label of `/metrics`.
    fn label(self) -> &'static str {
        match self {
            Refusal::Address => "per_address_limit",
            Refusal::Total => "total_limit",
        }
    }
}

/// Told of every connection refused by the limits, with the reason's label.
pub type OnRefusal = Arc<dyn Fn(&'static str) + Send + Sync>;

/// Open connections, per address and in all.
struct Gate {
    per_address: usize,
    total: usize,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    open: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        self.admit_as(Some(ip), true)
    }

    /// Admits a connection counted against the total and, when `ip` is given, its address;
    /// `total: false` counts the address only (a client behind a proxy already counted).
    fn admit_as(self: &Arc<Self>, ip: Option<IpAddr>, total: bool) -> Result<Permit, Refusal> {
        let key = ip.map(address_key);
        let mut s = self.lock();
        if total && s.open >= self.total {
            return Err(Refusal::Total);
        }
        if let Some(key) = key {
            let n = s.by_address.entry(key).or_insert(0);
            if *n >= self.per_address {
                return Err(Refusal::Address);
            }
            *n += 1;
        }
        if total {
            s.open += 1;
        }
        Ok(Permit { gate: self.clone(), key, total })
    }
}

/// One admitted connection's place; given back when the connection's socket is dropped, which
/// for a WebSocket is when the WebSocket ends.
struct Permit {
    gate: Arc<Gate>,
    key: Option<IpAddr>,
    total: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.gate.lock();
        if self.total {
            s.open = s.open.saturating_sub(1);
        }
        if let Some(key) = self.key
            && let Some(n) = s.by_address.get_mut(&key)
        {
            *n -= 1;
            if *n == 0 {
                s.by_address.remove(&key);
            }
        }
    }
}

/// When bytes last moved on a connection.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { start: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Completes once nothing has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let deadline = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// What an admitted socket and its HTTP connection share, in one allocation (a WebSocket keeps
/// it for as long as the device stays connected).
struct Shared {
    activity: Activity,
    /// Behind a trusted proxy: the place of the client it forwards for, taken per request.
    forwarded: Mutex<Option<Permit>>,
}

/// An admitted socket: holds its [`Permit`] for as long as it is open and records activity.
struct Tracked {
    tcp: TcpStream,
    shared: Arc<Shared>,
    _permit: Permit,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.shared.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.shared.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.shared.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Errors of one incoming connection, not of the listener: accept the next one at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Answers a refused connection with a 503 and closes it, without holding up the accept loop.
fn refuse(mut tcp: TcpStream, why: Refusal, in_flight: &Arc<Semaphore>) {
    let body = why.message();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 60\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let Ok(slot) = in_flight.clone().try_acquire_owned() else {
        // Too many refusals at once: the answer goes into the empty send buffer or not at all,
        // and the socket is closed now.
        let _ = tcp.try_write(response.as_bytes());
        return;
    };
    tokio::spawn(async move {
        let _slot = slot;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            tcp.write_all(response.as_bytes()).await?;
            tcp.shutdown().await?;
            // Read what the client sent until it closes: closing a socket with unread bytes
            // resets the connection, and the client might lose the answer.
            let mut buf = [0u8; 512];
            while tcp.read(&mut buf).await? > 0 {}
            Ok::<_, io::Error>(())
        })
        .await;
    });
}

/// Logs refusals at most every ten seconds, with how many there were.
struct RefusalLog {
    last: Option<Instant>,
    count: u64,
}

impl RefusalLog {
    fn record(&mut self, peer: SocketAddr, why: Refusal) {
        self.count += 1;
        if self.last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            tracing::warn!(%peer, ?why, refused = self.count, "refusing connections over the limits");
            self.last = Some(Instant::now());
            self.count = 0;
        }
    }
}

/// How long HTTP requests under way at shutdown have to finish.
pub const HTTP_DRAIN: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets HTTP
/// requests under way finish (for up to [`HTTP_DRAIN`]) and returns. Upgraded connections
/// (WebSockets) are not waited for: the relay closes them itself. The client's address is in each request's extensions
/// as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: NetLimits,
    on_refusal: OnRefusal,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let fd_limit = raise_fd_limit();
    let total = effective_total(&limits, fd_limit);
    tracing::info!(
        fd_limit = fd_limit.map_or_else(|| "unlimited".to_owned(), |l| l.to_string()),
        total,
        per_address = limits.per_address,
        "connection limits"
    );
    let gate = Arc::new(Gate { per_address: limits.per_address, total, state: Mutex::default() });
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    let mut refusal_log = RefusalLog { last: None, count: 0 };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    // Connection tasks hold a receiver until they end; the sender's `closed` is all of them done.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors or buffers: waiting beats spinning; the limits above
                    // are meant to keep this from happening.
                    tracing::error!("accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let proxy = limits.trusted_proxies.iter().any(|c| c.contains(peer.ip()));
        let permit = match gate.admit_as((!proxy).then_some(peer.ip()), true) {
            Ok(p) => p,
            Err(why) => {
                on_refusal(why.label());
                refusal_log.record(peer, why);
                refuse(tcp, why, &refusals);
                continue;
            }
        };
        // Sync messages are small and latency matters more than packet count: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let shared = Arc::new(Shared { activity: Activity::new(), forwarded: Mutex::new(None) });
        let io = TokioIo::new(Tracked { tcp, shared: shared.clone(), _permit: permit });
        let router = router.clone();
        let (gate, trusted, on_refusal) = (gate.clone(), limits.trusted_proxies.clone(), on_refusal.clone());
        let forwarded = shared.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // The client's address, for handlers that limit by it (invite redemption): behind a
            // trusted proxy, the address it forwards for, which also takes that address's place
            // under the per-address cap for as long as the connection serves it.
            let mut client = peer;
            let mut refused = None;
            if proxy && let Some(ip) = forwarded_client(req.headers(), &trusted) {
                client = SocketAddr::new(ip, peer.port());
                let mut slot = forwarded.forwarded.lock().unwrap_or_else(|p| p.into_inner());
                *slot = None;
                match gate.admit_as(Some(ip), false) {
                    Ok(p) => *slot = Some(p),
                    Err(why) => {
                        on_refusal(why.label());
                        refused = Some(why);
                    }
                }
            }
            req.extensions_mut().insert(ConnectInfo(client));
            let mut router = router.clone();
            async move {
                if let Some(why) = refused {
                    let mut r = axum::response::Response::new(axum::body::Body::from(why.message()));
                    *r.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    return Ok(r);
                }
                router.call(req).await
            }
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let idle = limits.idle_timeout;
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, "HTTP connection ended: {e}");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    () = shared.activity.idle_for(idle) => {
                        tracing::debug!(%peer, "closing an HTTP connection idle for {idle:?}");
                        break;
                    }
                }
            }
            drop(stop);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(HTTP_DRAIN, stop_tx.closed()).await.is_err() {
        tracing::warn!("HTTP requests still under way after {HTTP_DRAIN:?}; leaving them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_per_ipv4_address_and_ipv6_64() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_gate_counts_and_gives_back() {
        let gate = Arc::new(Gate { per_address: 2, total: 3, state: Mutex::default() });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = gate.admit(a).unwrap();
        let _p2 = gate.admit(a).unwrap();
        assert!(matches!(gate.admit(a), Err(Refusal::Address)));
        let _p3 = gate.admit(b).unwrap();
        assert!(matches!(gate.admit(b), Err(Refusal::Total)));
        drop(p1);
        assert!(gate.admit(a).is_ok(), "a closed connection gives its place back");
        assert!(gate.lock().by_address.len() <= 2);
    }

    #[test]
    fn forwarded_clients_are_read_from_the_right_past_trusted_proxies() {
        let trusted: Vec<Cidr> = vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.7, 203.0.113.9, 127.0.0.2".parse().unwrap());
        assert_eq!(forwarded_client(&h, &trusted), Some("203.0.113.9".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("::ffff:127.0.0.9".parse::<IpAddr>().is_ok_and(|ip| trusted[0].contains(ip)));
        assert!(!trusted[0].contains("128.0.0.1".parse().unwrap()));
    }

    #[test]
    fn the_total_stays_below_the_descriptor_limit() {
        let limits = NetLimits::default();
        assert_eq!(effective_total(&limits, None), 8192);
        assert_eq!(effective_total(&limits, Some(1024)), 768);
        assert_eq!(effective_total(&limits, Some(1 << 20)), 8192);
        assert_eq!(effective_total(&limits, Some(300)), 150);
    }
}
