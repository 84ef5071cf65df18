//! The load generator's client: the shared protocol core ([`ClientSession`]) over
//! tokio-tungstenite, with wire byte counters. The same code talks to both relays.
//!
//! A frame's arrival is the kernel's receive time of its last bytes (`SO_TIMESTAMPNS`), not the
//! moment the client's task got to read it: the load generator runs hundreds of clients on the
//! cores it shares with the relay, and a reader's task may wait behind others applying the same
//! change, which on real devices happens in parallel.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use contactpoint_protocol::automerge::ChangeHash;
use contactpoint_protocol::{ClientEvent, ClientSession, DocumentId, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt::ReceiveTimestampns};
use nix::sys::time::TimeSpec;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws = WebSocketStream<Stamped>;

/// A TCP stream that keeps the kernel's receive time of the last bytes it read.
pub struct Stamped {
    tcp: TcpStream,
    last: Option<SystemTime>,
}

impl Stamped {
    fn new(tcp: TcpStream) -> io::Result<Stamped> {
        setsockopt(&tcp, ReceiveTimestampns, &true)?;
        Ok(Stamped { tcp, last: None })
    }

    /// When the bytes read last reached this socket, as an [`Instant`].
    fn last_arrival(&self) -> Option<Instant> {
        let ago = SystemTime::now().duration_since(self.last?).unwrap_or_default();
        Instant::now().checked_sub(ago)
    }
}

impl AsyncRead for Stamped {
    fn poll_read(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.tcp.poll_read_ready(cx))?;
            let fd = this.tcp.as_raw_fd();
            let unfilled = buf.initialize_unfilled();
            let mut space = nix::cmsg_space!(TimeSpec);
            let read = this.tcp.try_io(Interest::READABLE, || {
                let mut iov = [io::IoSliceMut::new(unfilled)];
                let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::empty()).map_err(io::Error::from)?;
                let stamp = msg.cmsgs().map_err(io::Error::from)?.find_map(|c| match c {
                    ControlMessageOwned::ScmTimestampns(t) => Some(t),
                    _ => None,
                });
                Ok((msg.bytes, stamp))
            });
            match read {
                Ok((n, stamp)) => {
                    // Bytes without a time (the kernel may not stamp the first packets) must not
                    // take an earlier frame's: the caller then uses when it saw them.
                    this.last = stamp.map(|t| {
                        UNIX_EPOCH + Duration::new(t.tv_sec().max(0) as u64, t.tv_nsec().clamp(0, 999_999_999) as u32)
                    });
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// One client connection: a protocol session, its socket and what went over the wire.
pub struct Client {
    /// The protocol session; it keeps documents and sync states across reconnects.
    pub session: ClientSession,
    ws: Option<Ws>,
    /// WebSocket payload bytes sent since the last [`Self::reset_counters`].
    pub sent: usize,
    /// WebSocket payload bytes received since the last [`Self::reset_counters`].
    pub received: usize,
    /// Protocol messages sent and received since the last [`Self::reset_counters`].
    pub messages: usize,
    /// `error` messages from the relay.
    pub errors: Vec<String>,
    /// Why the connection ended, once it has.
    pub closed: Option<String>,
}

impl Client {
    /// A client that introduces itself as `peer_id`, with a storage id when it keeps sync state.
    pub fn new(peer_id: String, storage_id: Option<String>) -> Client {
        let meta = PeerMetadata { is_ephemeral: storage_id.is_none(), storage_id };
        Client {
            session: ClientSession::new(peer_id, meta),
            ws: None,
            sent: 0,
            received: 0,
            messages: 0,
            errors: Vec::new(),
            closed: None,
        }
    }

    /// Opens the socket and completes the protocol handshake within `max`.
    pub async fn connect(&mut self, url: &str, max: Duration) -> Result<()> {
        self.connect_from(url, None, max).await
    }

    /// [`Self::connect`] from a chosen loopback address: our relay limits connections per
    /// client address (512), as a school's devices behind one address would meet it.
    pub async fn connect_from(&mut self, url: &str, from: Option<std::net::IpAddr>, max: Duration) -> Result<()> {
        // A small read buffer keeps ten thousand idle sockets light; large messages still arrive
        // whole, in more reads.
        let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
        let connect = async {
            let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_default();
            let to: std::net::SocketAddr = host.parse().map_err(|_| io::Error::other("no address in the url"))?;
            let socket = tokio::net::TcpSocket::new_v4()?;
            if let Some(from) = from {
                socket.bind(std::net::SocketAddr::new(from, 0))?;
            }
            let tcp = socket.connect(to).await?;
            tcp.set_nodelay(true)?;
            tokio_tungstenite::client_async_with_config(url, Stamped::new(tcp)?, Some(config)).await
        };
        let (ws, _) = tokio::time::timeout(max, connect)
            .await
            .map_err(|_| anyhow!("WebSocket connect to {} timed out", redact(url)))?
            .map_err(|e| anyhow!("WebSocket connect to {}: {e}", redact(url)))?;
        self.ws = Some(ws);
        self.closed = None;
        let events = self.session.connect();
        self.send(events).await?;
        self.wait_until(max, |c| c.session.is_connected()).await.context("handshake")
    }

    /// Acts on the session's events: sends frames, records errors.
    pub async fn send(&mut self, events: Vec<ClientEvent>) -> Result<()> {
        for e in events {
            match e {
                ClientEvent::Send(frame) => {
                    let ws = self.ws.as_mut().context("not connected")?;
                    self.sent += frame.len();
                    self.messages += 1;
                    ws.send(WsMessage::Binary(frame.into())).await.map_err(|e| anyhow!("send failed: {e}"))?;
                }
                ClientEvent::Refused { message, .. } => self.errors.push(message),
                ClientEvent::SyncFailed { reason, .. } => self.errors.push(reason),
                ClientEvent::Unavailable { document_id } => {
                    self.errors.push(format!("document {document_id} is unavailable"));
                }
                ClientEvent::Closed { reason } => {
                    self.closed.get_or_insert(reason);
                }
                // The benchmark keeps documents in memory only.
                ClientEvent::Store { .. }
                | ClientEvent::Replace { .. }
                | ClientEvent::Connected { .. }
                | ClientEvent::Changed { .. } => {}
            }
        }
        Ok(())
    }

    /// Processes the next protocol frame, waiting at most `max`. Returns when it arrived, or
    /// `None` when nothing came in time. A closed connection is an error.
    pub async fn next(&mut self, max: Duration) -> Result<Option<Instant>> {
        let Some((arrived, frame)) = self.next_frame(max).await? else { return Ok(None) };
        self.process(&frame).await?;
        Ok(Some(arrived))
    }

    /// Waits at most `max` for the next protocol frame and returns it with its arrival time (the
    /// kernel's, see the module's documentation), unprocessed (see [`Self::process`]).
    /// Cancel-safe: nothing is lost when the wait is dropped.
    pub async fn next_frame(&mut self, max: Duration) -> Result<Option<(Instant, Vec<u8>)>> {
        let deadline = tokio::time::Instant::now() + max;
        loop {
            if let Some(reason) = &self.closed {
                bail!("connection closed: {reason} (errors: {:?})", self.errors);
            }
            let ws = self.ws.as_mut().context("not connected")?;
            let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => return Ok(None),
                Ok(m) => m,
            };
            let seen = Instant::now();
            let arrived = ws.get_ref().last_arrival().map_or(seen, |at| at.min(seen));
            match msg {
                Some(Ok(WsMessage::Binary(b))) => return Ok(Some((arrived, b.into()))),
                Some(Ok(WsMessage::Close(_))) | None => {
                    self.closed.get_or_insert_with(|| "closed by the relay".into());
                }
                Some(Err(e)) => {
                    self.closed.get_or_insert_with(|| format!("socket error: {e}"));
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(_)) => {}
            }
        }
    }

    /// Hands a frame to the protocol session and sends what it answers.
    pub async fn process(&mut self, frame: &[u8]) -> Result<()> {
        self.received += frame.len();
        self.messages += 1;
        let events = self.session.receive(frame);
        self.send(events).await
    }

    /// Processes frames until `pred` holds; fails after `max`.
    pub async fn wait_until(&mut self, max: Duration, pred: impl Fn(&Client) -> bool) -> Result<()> {
        let deadline = Instant::now() + max;
        while !pred(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.next(left).await?.is_none() {
                bail!("condition not reached within {max:?} (errors: {:?})", self.errors);
            }
        }
        Ok(())
    }

    /// Processes frames until none has come for `quiet` (or `max` has passed): the exchange is over.
    pub async fn settle(&mut self, quiet: Duration, max: Duration) -> Result<()> {
        let deadline = Instant::now() + max;
        while Instant::now() < deadline {
            if self.next(quiet.min(deadline.saturating_duration_since(Instant::now()))).await?.is_none() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Closes the socket politely and waits (briefly) for the relay to acknowledge, so the relay
    /// has detached this peer before the caller goes on. Documents and sync states are kept.
    pub async fn close(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.close(None).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), async { while ws.next().await.is_some() {} }).await;
        }
        self.session.disconnected();
    }

    /// Zeroes the wire counters.
    pub fn reset_counters(&mut self) {
        self.sent = 0;
        self.received = 0;
        self.messages = 0;
    }

    /// A document's current heads (empty when it is not open).
    pub fn heads(&self, id: &DocumentId) -> Vec<ChangeHash> {
        self.session.doc(id).map(|d| d.get_heads()).unwrap_or_default()
    }

    /// Whether the document contains every change in `heads`.
    pub fn has_all(&self, id: &DocumentId, heads: &[ChangeHash]) -> bool {
        self.session.doc(id).is_some_and(|d| heads.iter().all(|h| d.get_change_meta_by_hash(h).is_some()))
    }
}

/// A URL without its token, for messages.
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
