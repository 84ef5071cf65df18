//! The relay's WebSocket (RFC 6455, server side): the upgrade handshake and a frame codec that
//! holds no buffer while a connection is idle.
//!
//! A general-purpose WebSocket keeps a read buffer and a write buffer per connection for as long
//! as it is open, each as large as the largest frame it has carried; for a relay whose devices
//! are connected all day and silent nearly all of it, those buffers would be most of what an
//! idle device costs. Here a read goes through a buffer on the stack of the poll that reads
//! (what a frame still lacks is kept, and only while it lacks it), a message's payload is one
//! allocation as long as the message that is handed over and forgotten, and a frame is written
//! straight from the caller's bytes, its header beside it. Messages of any size up to the limit
//! are received; memory grows with the bytes that actually arrived, never with a length a peer
//! merely announced.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// What one read from the socket takes at most. On the stack of the poll, not in the connection.
const READ_CHUNK: usize = 16 * 1024;

/// The first reservation for a message's payload: enough for most, without trusting a length
/// the peer announced.
const FIRST_RESERVE: usize = 64 * 1024;

/// A whole message received, or one to send.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    /// Binary data: every message of the sync protocol.
    Binary(Vec<u8>),
    /// Text, which the sync protocol does not use.
    Text(String),
    /// A ping; answered by the socket itself.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The closing handshake, with the status code and reason, if any.
    Close(Option<(u16, String)>),
}

/// Why a connection cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer broke the framing rules.
    #[error("WebSocket protocol error: {0}")]
    Protocol(&'static str),
    /// A message longer than the limit.
    #[error("message of at least {size} bytes is over the limit of {max} bytes")]
    TooLong {
        /// The length known so far.
        size: usize,
        /// The limit.
        max: usize,
    },
}

/// The frame header being read, byte by byte as they arrive.
#[derive(Default)]
struct Header {
    bytes: [u8; 14],
    len: usize,
}

impl Header {
    /// How many bytes the whole header has, once enough of it is known.
    fn needed(&self) -> usize {
        if self.len < 2 {
            return 2;
        }
        let masked = self.bytes[1] & 0x80 != 0;
        let ext = match self.bytes[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if masked { 4 } else { 0 }
    }

    /// The parsed header, once complete.
    fn parse(&self) -> Option<FrameHead> {
        if self.len < 2 || self.len < self.needed() {
            return None;
        }
        let b = &self.bytes;
        let (len, at) = match b[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 => (u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]), 10),
            n => (u64::from(n), 2),
        };
        let mask = (b[1] & 0x80 != 0).then(|| [b[at], b[at + 1], b[at + 2], b[at + 3]]);
        Some(FrameHead { fin: b[0] & 0x80 != 0, rsv: b[0] & 0x70, opcode: b[0] & 0x0f, mask, len })
    }
}

struct FrameHead {
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
}

/// A frame whose payload is being read.
struct Payload {
    opcode: u8,
    fin: bool,
    mask: [u8; 4],
    /// Payload bytes of this frame still to come.
    left: usize,
    /// Payload bytes of this frame already read (the mask's phase).
    done: usize,
}

/// The receiving half's state: everything a read has learnt that its caller has not yet got.
#[derive(Default)]
struct Reader {
    header: Header,
    frame: Option<Payload>,
    /// The data message being assembled (its first frame's opcode), over fragments.
    message: Option<u8>,
    data: Vec<u8>,
    /// A control frame's payload (at most 125 bytes), between fragments of a message.
    control: Vec<u8>,
    /// Bytes read past a complete message, for the next call. Empty, without capacity, but when
    /// a read brought more than one message.
    backlog: Vec<u8>,
}

/// A control frame to send that a read produced (the answer to a ping), and how much of it is out.
#[derive(Default)]
struct Pending {
    frame: Vec<u8>,
    written: usize,
}

/// An established WebSocket connection, server side.
pub struct WebSocket<T = TokioIo<hyper::upgrade::Upgraded>> {
    io: T,
    max_message: usize,
    reader: Reader,
    pending: Pending,
    /// A send was interrupted half way; the framing of the stream is lost.
    broken: bool,
    eof: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin> WebSocket<T> {
    /// Frames over an upgraded stream, accepting messages of up to `max_message` bytes.
    pub fn new(io: T, max_message: usize) -> WebSocket<T> {
        WebSocket { io, max_message, reader: Reader::default(), pending: Pending::default(), broken: false, eof: false }
    }

    /// The next message; `None` once the stream has ended. Cancel-safe: what a call read before
    /// it was dropped stays for the next call.
    pub async fn next(&mut self) -> Option<Result<Message, WsError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, WsError>>> {
        if self.eof {
            return Poll::Ready(None);
        }
        loop {
            // An answer to a ping goes out as soon as the socket takes it; waiting for it is
            // not a reason to stop reading.
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Some(Err(e.into())));
            }
            if !self.reader.backlog.is_empty() {
                let backlog = std::mem::take(&mut self.reader.backlog);
                let (used, out) = self.feed(&backlog);
                if used < backlog.len() {
                    self.reader.backlog = backlog[used..].to_vec();
                }
                if let Some(out) = out {
                    return self.deliver(cx, out);
                }
                continue;
            }
            // Not zeroed: 16 KiB of zeroes per read, most of them never written, cost more than
            // decoding the small messages that make most reads.
            let mut chunk = [const { std::mem::MaybeUninit::<u8>::uninit() }; READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut chunk);
            if let Err(e) = ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
                return Poll::Ready(Some(Err(e.into())));
            }
            let n = buf.filled().len();
            if n == 0 {
                self.eof = true;
                let r = &self.reader;
                let midway = r.header.len > 0 || r.frame.is_some() || r.message.is_some();
                return Poll::Ready(midway.then_some(Err(WsError::Protocol("the stream ended inside a frame"))));
            }
            let filled = buf.filled();
            let (used, out) = self.feed(filled);
            if used < n {
                self.reader.backlog = filled[used..].to_vec();
            }
            if let Some(out) = out {
                return self.deliver(cx, out);
            }
        }
    }

    /// Hands over a message, first starting to write the answer it may need (a pong).
    fn deliver(
        &mut self,
        cx: &mut Context<'_>,
        out: Result<Message, WsError>,
    ) -> Poll<Option<Result<Message, WsError>>> {
        if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
            return Poll::Ready(Some(Err(e.into())));
        }
        Poll::Ready(Some(out))
    }

    /// Consumes bytes until a message is complete or the bytes run out; returns how many bytes
    /// it took and the message, if one is complete.
    fn feed(&mut self, mut bytes: &[u8]) -> (usize, Option<Result<Message, WsError>>) {
        let total = bytes.len();
        loop {
            let r = &mut self.reader;
            let Some(frame) = r.frame.as_mut() else {
                if bytes.is_empty() {
                    return (total, None);
                }
                // Header bytes, a few at a time.
                let want = r.header.needed();
                let take = (want - r.header.len).min(bytes.len());
                r.header.bytes[r.header.len..r.header.len + take].copy_from_slice(&bytes[..take]);
                r.header.len += take;
                bytes = &bytes[take..];
                if r.header.len < r.header.needed() {
                    continue;
                }
                let Some(head) = r.header.parse() else { continue };
                r.header = Header::default();
                match self.start_frame(head) {
                    Ok(Some(done)) => return (total - bytes.len(), Some(Ok(done))),
                    Ok(None) => continue,
                    Err(e) => return (total - bytes.len(), Some(Err(e))),
                }
            };
            if frame.left > 0 {
                if bytes.is_empty() {
                    return (total, None);
                }
                let take = frame.left.min(bytes.len());
                let into = if is_control(frame.opcode) { &mut r.control } else { &mut r.data };
                let from = into.len();
                into.extend_from_slice(&bytes[..take]);
                for (i, b) in into[from..].iter_mut().enumerate() {
                    *b ^= frame.mask[(frame.done + i) % 4];
                }
                frame.left -= take;
                frame.done += take;
                bytes = &bytes[take..];
                if frame.left > 0 {
                    return (total, None);
                }
            }
            let (opcode, fin) = (frame.opcode, frame.fin);
            r.frame = None;
            if let Some(out) = self.end_frame(opcode, fin) {
                return (total - bytes.len(), Some(out));
            }
        }
    }

    /// Checks a complete header and sets up its payload. A frame without payload may complete
    /// a message at once.
    fn start_frame(&mut self, head: FrameHead) -> Result<Option<Message>, WsError> {
        if head.rsv != 0 {
            return Err(WsError::Protocol("reserved bits set without an extension"));
        }
        let Some(mask) = head.mask else {
            return Err(WsError::Protocol("a client's frame must be masked"));
        };
        let r = &mut self.reader;
        let len = usize::try_from(head.len).unwrap_or(usize::MAX);
        match head.opcode {
            0x8..=0xA => {
                if !head.fin || len > 125 {
                    return Err(WsError::Protocol("a control frame must be whole and at most 125 bytes"));
                }
                r.control = Vec::with_capacity(len);
            }
            0x0 if r.message.is_none() => return Err(WsError::Protocol("a continuation frame without a message")),
            0x1 | 0x2 if r.message.is_some() => return Err(WsError::Protocol("a new message inside a fragmented one")),
            0x0..=0x2 => {
                let size = r.data.len().saturating_add(len);
                if size > self.max_message {
                    return Err(WsError::TooLong { size, max: self.max_message });
                }
                if head.opcode != 0 {
                    r.message = Some(head.opcode);
                }
                // Grows with the bytes that arrive, from a first step that covers most messages.
                r.data.reserve(len.min(FIRST_RESERVE));
            }
            _ => return Err(WsError::Protocol("unknown opcode")),
        }
        if len == 0 {
            return self.end_frame(head.opcode, head.fin).transpose();
        }
        r.frame = Some(Payload { opcode: head.opcode, fin: head.fin, mask, left: len, done: 0 });
        Ok(None)
    }

    /// A frame's payload is complete: hands over a finished message.
    fn end_frame(&mut self, opcode: u8, fin: bool) -> Option<Result<Message, WsError>> {
        let r = &mut self.reader;
        if is_control(opcode) {
            let payload = std::mem::take(&mut r.control);
            return Some(Ok(match opcode {
                0x8 => match payload.len() {
                    0 => Message::Close(None),
                    1 => return Some(Err(WsError::Protocol("a close frame of one byte"))),
                    _ => Message::Close(Some((
                        u16::from_be_bytes([payload[0], payload[1]]),
                        String::from_utf8_lossy(&payload[2..]).into_owned(),
                    ))),
                },
                0x9 => {
                    if self.pending.frame.is_empty() {
                        let (head, n) = header_for(0xA, payload.len());
                        let mut pong = head[..n].to_vec();
                        pong.extend_from_slice(&payload);
                        self.pending = Pending { frame: pong, written: 0 };
                    }
                    Message::Ping(payload)
                }
                _ => Message::Pong(payload),
            }));
        }
        if !fin {
            return None;
        }
        let data = std::mem::take(&mut r.data);
        Some(Ok(match r.message.take() {
            Some(0x1) => Message::Text(String::from_utf8_lossy(&data).into_owned()),
            _ => Message::Binary(data),
        }))
    }

    /// Writes what is left of a pending control frame.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending.written < self.pending.frame.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending.frame[self.pending.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.written += n;
        }
        if !self.pending.frame.is_empty() {
            self.pending = Pending::default();
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Sends one message as one frame, straight from its bytes. A send that is dropped half way
    /// leaves the connection unusable: later sends fail.
    pub async fn send(&mut self, message: Message) -> Result<(), WsError> {
        if self.broken {
            return Err(WsError::Protocol("an earlier send was interrupted"));
        }
        self.broken = true;
        std::future::poll_fn(|cx| self.poll_pending(cx)).await?;
        let (opcode, payload) = match message {
            Message::Binary(b) => (0x2, b),
            Message::Text(t) => (0x1, t.into_bytes()),
            Message::Ping(p) => (0x9, p),
            Message::Pong(p) => (0xA, p),
            Message::Close(None) => (0x8, Vec::new()),
            Message::Close(Some((code, reason))) => {
                let mut p = code.to_be_bytes().to_vec();
                p.extend_from_slice(&reason.as_bytes()[..reason.len().min(123)]);
                (0x8, p)
            }
        };
        let (head, n) = header_for(opcode, payload.len());
        let head = &head[..n];
        let (mut h, mut p) = (0, 0);
        while h < head.len() || p < payload.len() {
            let n = if h < head.len() {
                let parts = [io::IoSlice::new(&head[h..]), io::IoSlice::new(&payload[p..])];
                self.io.write_vectored(&parts).await?
            } else {
                self.io.write(&payload[p..]).await?
            };
            if n == 0 {
                return Err(WsError::Io(io::ErrorKind::WriteZero.into()));
            }
            let to_head = n.min(head.len() - h);
            h += to_head;
            p += n - to_head;
        }
        self.io.flush().await?;
        self.broken = false;
        Ok(())
    }
}

fn is_control(opcode: u8) -> bool {
    opcode & 0x8 != 0
}

/// A server's (unmasked) frame header for a whole message of `len` bytes, and its length.
fn header_for(opcode: u8, len: usize) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    out[0] = 0x80 | opcode;
    if len < 126 {
        out[1] = len as u8;
        (out, 2)
    } else if let Ok(short) = u16::try_from(len) {
        out[1] = 126;
        out[2..4].copy_from_slice(&short.to_be_bytes());
        (out, 4)
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        (out, 10)
    }
}

/// A checked request to upgrade to a WebSocket.
pub struct Upgrade {
    key: Vec<u8>,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

/// Whether a comma-separated header holds `token`, in any case.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

impl Upgrade {
    /// Checks that `request` asks for a WebSocket of version 13 on a connection that can be
    /// upgraded, or says what is missing.
    pub fn from_request(mut request: Request) -> Result<Upgrade, &'static str> {
        let headers = request.headers();
        if request.method() != Method::GET {
            return Err("the method must be GET");
        }
        if !has_token(headers, header::CONNECTION, "upgrade") {
            return Err("the Connection header must say upgrade");
        }
        if !has_token(headers, header::UPGRADE, "websocket") {
            return Err("the Upgrade header must say websocket");
        }
        if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
            return Err("Sec-WebSocket-Version must be 13");
        }
        let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or("Sec-WebSocket-Key is missing")?.as_bytes().to_vec();
        let on_upgrade = request
            .extensions_mut()
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or("this connection cannot be upgraded")?;
        Ok(Upgrade { key, on_upgrade })
    }

    /// Answers `101 Switching Protocols` and runs `callback` on the WebSocket in a task of its
    /// own once the connection has switched.
    pub fn on_upgrade<F, Fut>(self, max_message: usize, callback: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = accept_key(&self.key);
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => callback(WebSocket::new(TokioIo::new(upgraded), max_message)).await,
                Err(e) => tracing::debug!("the WebSocket upgrade failed: {e}"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = response.headers_mut();
        h.insert(header::CONNECTION, header::HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, header::HeaderValue::from_static("websocket"));
        if let Ok(v) = header::HeaderValue::from_str(&accept) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        response
    }
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455, section 4.2.2).
fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::Digest as _;
    let mut sha1 = sha1::Sha1::default();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, DuplexStream};

    /// A client's frame: masked, with the given first byte.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn pair(max: usize) -> (WebSocket<DuplexStream>, DuplexStream) {
        let (a, b) = tokio::io::duplex(1 << 16);
        (WebSocket::new(a, max), b)
    }

    /// What an idle connection holds in its task, in bytes: the connection's future (its
    /// WebSocket with the reader's state, the protocol machine, the queue's handle, the timers
    /// and whatever one of its waits keeps), and the queue. Memory a connection takes for each
    /// document it syncs is the document's, not counted here.
    #[tokio::test]
    async fn an_idle_connection_holds_little() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::storage::Db::open(&dir.path().join("r.sqlite")).unwrap();
        let relay = crate::Relay::new(db, crate::Limits::default()).unwrap();
        let identity = crate::auth::Identity {
            user_id: 1,
            device_id: 1,
            user_name: "reader".into(),
            role: crate::auth::Role::Reader,
            areas: vec![],
        };
        let (ws, _peer) = pair(1 << 20);
        let task = crate::relay::serve_socket(relay, ws, std::sync::Arc::new(identity));
        let (task, socket, mailbox) = (
            std::mem::size_of_val(&task),
            std::mem::size_of::<WebSocket<DuplexStream>>(),
            std::mem::size_of::<crate::mailbox::Mailbox<()>>(),
        );
        eprintln!("connection task {task} bytes, of which the WebSocket {socket}; queue {mailbox} bytes");
        // 872 bytes, optimised or not (1,280 before its timers were boxed, its arguments kept
        // once and its queue's waiter moved into the queue; 856 before its registration became a
        // guard that also cleans up after a cancelled task); the WebSocket's old read and write
        // buffers alone were 4 KiB and the largest frame sent.
        assert!(task <= 896, "the connection's task holds {task} bytes");
        assert!(mailbox <= 72, "the connection's queue holds {mailbox} bytes");
    }

    #[test]
    fn the_accept_key_is_the_one_of_the_rfc() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[tokio::test]
    async fn messages_of_every_length_form_arrive_whole_even_a_byte_at_a_time() {
        let (mut ws, mut peer) = pair(4 << 20);
        let sizes = [0usize, 1, 125, 126, 65_535, 65_536, 1_300_000];
        let mut wire = Vec::new();
        for &n in &sizes {
            wire.extend(client_frame(0x82, &vec![(n % 251) as u8; n]));
        }
        let writer = tokio::spawn(async move {
            // The first frames a byte at a time, the rest in one go.
            let (slow, fast) = wire.split_at(200);
            for b in slow {
                peer.write_all(&[*b]).await.unwrap();
            }
            peer.write_all(fast).await.unwrap();
            peer
        });
        for &n in &sizes {
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(vec![(n % 251) as u8; n]));
        }
        let peer = writer.await.unwrap();
        drop(peer);
        assert!(ws.next().await.is_none());
        assert_eq!(ws.reader.data.capacity(), 0, "no buffer is kept between messages");
        assert_eq!(ws.reader.backlog.capacity(), 0);
    }

    #[tokio::test]
    async fn fragments_are_joined_and_pings_answered_between_them() {
        let (mut ws, mut peer) = pair(1 << 20);
        let mut wire = client_frame(0x02, b"hello ");
        wire.extend(client_frame(0x89, b"are you there"));
        wire.extend(client_frame(0x80, b"world"));
        peer.write_all(&wire).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::Ping(b"are you there".to_vec()));
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(b"hello world".to_vec()));
        let mut pong = [0u8; 15];
        peer.read_exact(&mut pong).await.unwrap();
        assert_eq!(&pong[..2], &[0x8A, 13]);
        assert_eq!(&pong[2..], b"are you there");
    }

    #[tokio::test]
    async fn frames_that_break_the_rules_are_errors() {
        let cases: [(Vec<u8>, &str); 5] = [
            (vec![0x82, 0x03, 1, 2, 3], "masked"),
            (client_frame(0xC2, b"x"), "reserved"),
            (client_frame(0x80, b"x"), "continuation"),
            (client_frame(0x09, b"x"), "control"),
            (client_frame(0x83, b"x"), "opcode"),
        ];
        for (wire, needle) in cases {
            let (mut ws, mut peer) = pair(1 << 20);
            peer.write_all(&wire).await.unwrap();
            let e = ws.next().await.unwrap().unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
        }
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_from_its_header_and_across_fragments() {
        let (mut ws, mut peer) = pair(1000);
        // Only the header of a frame claiming 16 MiB: refused before any payload arrives.
        peer.write_all(&[0x82, 0x80 | 127, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4]).await.unwrap();
        assert!(matches!(ws.next().await, Some(Err(WsError::TooLong { .. }))));
        let (mut ws, mut peer) = pair(1000);
        let mut wire = client_frame(0x02, &[0; 600]);
        wire.extend(client_frame(0x80, &[0; 600]));
        peer.write_all(&wire).await.unwrap();
        assert!(matches!(ws.next().await, Some(Err(WsError::TooLong { size: 1200, max: 1000 }))));
    }

    #[tokio::test]
    async fn a_read_dropped_half_way_loses_nothing() {
        let (mut ws, mut peer) = pair(1 << 20);
        let wire = client_frame(0x82, &[7; 5000]);
        peer.write_all(&wire[..3000]).await.unwrap();
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), ws.next()).await;
        assert!(early.is_err(), "half a frame is not a message");
        peer.write_all(&wire[3000..]).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(vec![7; 5000]));
    }

    #[tokio::test]
    async fn sent_frames_are_unmasked_with_the_shortest_length() {
        let (mut ws, mut peer) = pair(1 << 20);
        for n in [5usize, 300, 70_000] {
            let sent = tokio::spawn(async move {
                ws.send(Message::Binary(vec![9; n])).await.unwrap();
                ws
            });
            let head_len = match n {
                n if n < 126 => 2,
                n if n <= 0xffff => 4,
                _ => 10,
            };
            let mut got = vec![0u8; head_len + n];
            peer.read_exact(&mut got).await.unwrap();
            assert_eq!(got[0], 0x82);
            assert_eq!(got[1] & 0x80, 0, "a server's frames are not masked");
            assert!(got[head_len..].iter().all(|b| *b == 9));
            ws = sent.await.unwrap();
        }
        ws.send(Message::Close(None)).await.unwrap();
        let mut close = [0u8; 2];
        peer.read_exact(&mut close).await.unwrap();
        assert_eq!(close, [0x88, 0]);
    }
}
