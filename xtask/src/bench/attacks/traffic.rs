//! The attack traffic, crafted as in `tests/e2e/hardening*.rs`: hostile Bloom filters in
//! `have`, a deflate bomb in a change chunk, readers that ask for a document again and again and
//! never read, idle TCP sockets from 127.0.0.2, and a `join` with a 4 MiB storage id. Each
//! attack runs in its own tasks, again and again, until it is told to stop; every wait is bounded.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use contactpoint_protocol::automerge::sync;
use contactpoint_protocol::{DocMessage, DocumentId, Message, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one attacking connection may wait for the relay at any step.
const STEP: Duration = Duration::from_secs(10);

/// The address the socket flood comes from.
const FLOOD_FROM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// One attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// A `have` whose Bloom filter has zero bits per entry (a division by zero in the engine).
    BloomZeroBits,
    /// A Bloom filter with 2^32-1 probes (16 GiB reserved).
    BloomHugeProbes,
    /// 2,000 `have` entries with 1,000 probes each (minutes of CPU).
    BloomManyHaves,
    /// An editor's compressed change chunk of 1 MB that inflates to 1 GiB.
    DeflateBomb,
    /// Two readers asking for the national document 400 times each, never reading.
    NeverReading,
    /// 1,100 idle TCP sockets from 127.0.0.2.
    IdleFlood,
    /// A `join` whose storage id is 4 MiB long.
    HugeStorageId,
}

impl Attack {
    /// Every attack, in the order they run.
    pub const ALL: [Attack; 7] = [
        Attack::BloomZeroBits,
        Attack::BloomHugeProbes,
        Attack::BloomManyHaves,
        Attack::DeflateBomb,
        Attack::NeverReading,
        Attack::IdleFlood,
        Attack::HugeStorageId,
    ];

    /// The key in the JSON and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Attack::BloomZeroBits => "bloom_zero_bits",
            Attack::BloomHugeProbes => "bloom_huge_probes",
            Attack::BloomManyHaves => "bloom_many_haves",
            Attack::DeflateBomb => "deflate_bomb",
            Attack::NeverReading => "never_reading",
            Attack::IdleFlood => "idle_flood",
            Attack::HugeStorageId => "huge_storage_id",
        }
    }

    /// What the table calls it.
    pub fn label(self) -> &'static str {
        match self {
            Attack::BloomZeroBits => "Bloom, 0 bits/entry",
            Attack::BloomHugeProbes => "Bloom, 2^32-1 probes",
            Attack::BloomManyHaves => "2000 haves x 1000 probes",
            Attack::DeflateBomb => "deflate bomb (1 GiB)",
            Attack::NeverReading => "2 readers never reading",
            Attack::IdleFlood => "1,100 idle sockets",
            Attack::HugeStorageId => "4 MiB storageId in join",
        }
    }
}

/// Where and as whom the attackers connect.
#[derive(Clone, Debug)]
pub struct Target {
    /// The relay's address.
    pub addr: SocketAddr,
    /// A reader's device token (not the honest reader's).
    pub reader_token: String,
    /// An editor of Helsinki's device token (not the honest editor's).
    pub editor_token: String,
    /// Helsinki's document.
    pub helsinki: DocumentId,
    /// The national document, the largest one.
    pub national: DocumentId,
}

impl Target {
    fn url(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.addr)
    }
}

/// What the attackers saw, added up over every attempt.
#[derive(Debug, Default)]
pub struct Seen {
    /// Attacking connections (or sockets) made.
    pub attempts: usize,
    /// `error` messages (or HTTP answers) the relay sent the attacker, by text.
    pub told: BTreeMap<String, usize>,
    /// How each attempt ended, by kind.
    pub ended: BTreeMap<String, usize>,
    /// Bytes the relay sent the attackers.
    pub bytes_received: u64,
}

impl Seen {
    /// The text the attacker was told most often, if any.
    pub fn main_message(&self) -> Option<&str> {
        self.told.iter().max_by_key(|(_, n)| **n).map(|(t, _)| t.as_str())
    }
}

/// Shared between the attacking tasks and the driver; never held across an await.
pub type Shared = Arc<Mutex<Seen>>;

fn note(seen: &Shared, f: impl FnOnce(&mut Seen)) {
    if let Ok(mut s) = seen.lock() {
        f(&mut s);
    }
}

fn ended(seen: &Shared, how: impl Into<String>) {
    let how = how.into();
    note(seen, |s| *s.ended.entry(how).or_default() += 1);
}

/// At most 200 characters of a text, for the report.
fn short(text: &str) -> String {
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text.into() }
}

/// Starts the tasks of one attack; they run until `stop` is set.
pub fn spawn(attack: Attack, target: &Target, stop: &Arc<AtomicBool>, seen: &Shared) -> Result<Vec<JoinHandle<()>>> {
    let mut tasks = Vec::new();
    let hostile = |role_token: &str, data: Arc<Vec<u8>>, doc: DocumentId, name: &str| {
        let (url, stop, seen, name) = (target.url(role_token), stop.clone(), seen.clone(), name.to_owned());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let peer = format!("peer-{name}-{n}");
                note(&seen, |s| s.attempts += 1);
                match hostile_once(&url, &peer, doc, &data, &seen).await {
                    Ok(how) => ended(&seen, how),
                    Err(e) => {
                        ended(&seen, short(&format!("{e:#}")));
                        // The relay may be gone or refusing: do not spin.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
    };
    match attack {
        Attack::BloomZeroBits | Attack::BloomHugeProbes | Attack::BloomManyHaves => {
            let bloom = |bytes: &[u8]| sync::BloomFilter::try_from(bytes).map_err(|e| anyhow!("bloom filter: {e}"));
            let have = match attack {
                Attack::BloomZeroBits => vec![sync::Have { last_sync: vec![], bloom: bloom(&[1, 0, 7])? }],
                Attack::BloomHugeProbes => vec![sync::Have {
                    last_sync: vec![],
                    bloom: bloom(&[1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff])?,
                }],
                _ => vec![sync::Have { last_sync: vec![], bloom: bloom(&[1, 10, 0xe8, 0x07, 0xff, 0xff])? }; 2000],
            };
            let data = Arc::new(sync_data(have, vec![]));
            // From a reader and from an editor at once, as the tests do one after the other.
            tasks.push(hostile(&target.reader_token, data.clone(), target.helsinki, "bloom-reader"));
            tasks.push(hostile(&target.editor_token, data, target.helsinki, "bloom-editor"));
        }
        Attack::DeflateBomb => {
            let data = Arc::new(sync_data(vec![], vec![deflate_bomb(1024)]));
            tasks.push(hostile(&target.editor_token, data, target.helsinki, "bomb"));
        }
        Attack::NeverReading => {
            for i in 0..2 {
                let (url, stop, seen, doc) =
                    (target.url(&target.reader_token), stop.clone(), seen.clone(), target.national);
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        note(&seen, |s| s.attempts += 1);
                        match never_reading_once(&url, &format!("peer-slow-{i}-{n}"), doc, &seen).await {
                            Ok(how) => ended(&seen, how),
                            Err(e) => {
                                ended(&seen, short(&format!("{e:#}")));
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }
                }));
            }
        }
        Attack::IdleFlood => {
            let (addr, stop, seen) = (target.addr, stop.clone(), seen.clone());
            tasks.push(tokio::spawn(async move { idle_flood(addr, 1100, &stop, &seen).await }));
        }
        Attack::HugeStorageId => {
            let (url, stop, seen) = (target.url(&target.reader_token), stop.clone(), seen.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    note(&seen, |s| s.attempts += 1);
                    match huge_storage_id_once(&url, &format!("peer-big-{n}"), &seen).await {
                        Ok(how) => ended(&seen, how),
                        Err(e) => {
                            ended(&seen, short(&format!("{e:#}")));
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }));
        }
    }
    Ok(tasks)
}

/// An encoded Automerge sync message with no heads or needs.
fn sync_data(have: Vec<sync::Have>, changes: Vec<Vec<u8>>) -> Vec<u8> {
    sync::Message {
        heads: vec![],
        need: vec![],
        have,
        changes: changes.into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
    .encode()
}

/// A compressed change chunk (type 2) whose data inflates to `mib` MiB of zeros: one
/// sync-flushed deflate segment of 1 MiB of zeros repeated, then a final block. The checksum is
/// wrong, which the engine would notice only after inflating it all. (As in the tests.)
fn deflate_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(1 << 20);
    let mut end = Vec::with_capacity(64);
    // Writing into vectors with room enough cannot fail.
    let _ = c.compress_vec(&vec![0u8; 1 << 20], &mut segment, FlushCompress::Sync);
    let _ = c.compress_vec(&[], &mut end, FlushCompress::Finish);
    let mut data = segment.repeat(mib);
    data.extend(end);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    let mut len = data.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            chunk.push(byte);
            break;
        }
        chunk.push(byte | 0x80);
    }
    chunk.extend(data);
    chunk
}

async fn open(url: &str) -> Result<Ws> {
    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| anyhow!("connect timed out"))?
        .map_err(|e| anyhow!("connect failed: {e}"))?;
    Ok(ws)
}

async fn send(ws: &mut Ws, frame: Vec<u8>) -> Result<()> {
    tokio::time::timeout(STEP, ws.send(WsMessage::Binary(frame.into())))
        .await
        .map_err(|_| anyhow!("send timed out"))?
        .map_err(|e| anyhow!("send failed: {e}"))
}

/// Joins and waits for the relay's `peer`; returns the relay's peer id.
async fn handshake(ws: &mut Ws, peer: &str, meta: PeerMetadata, seen: &Shared) -> Result<String> {
    let join =
        Message::Join { sender_id: peer.into(), supported_protocol_versions: vec!["1".into()], metadata: Some(meta) };
    send(ws, join.encode()).await?;
    let answer = tokio::time::timeout(STEP, async {
        while let Some(m) = ws.next().await {
            if let Ok(WsMessage::Binary(b)) = m {
                match Message::decode(&b) {
                    Ok(Message::Peer { sender_id, .. }) => return Ok(sender_id),
                    Ok(Message::Error { message, .. }) => {
                        note(seen, |s| *s.told.entry(short(&message)).or_default() += 1);
                        bail!("refused at the handshake");
                    }
                    _ => {}
                }
            } else if m.is_err() {
                break;
            }
        }
        bail!("closed during the handshake")
    })
    .await;
    answer.map_err(|_| anyhow!("no handshake answer within {STEP:?}"))?
}

/// Reads until the relay closes the connection, noting its `error` messages. Says how it ended.
async fn read_to_close(ws: &mut Ws, seen: &Shared) -> String {
    let r = tokio::time::timeout(STEP, async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(WsMessage::Binary(b)) => {
                    note(seen, |s| s.bytes_received += b.len() as u64);
                    if let Ok(Message::Error { message, .. }) = Message::decode(&b) {
                        note(seen, |s| *s.told.entry(short(&message)).or_default() += 1);
                    }
                }
                Ok(WsMessage::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    match r {
        Ok(()) => "closed by the relay".into(),
        Err(_) => format!("no close within {} s", STEP.as_secs()),
    }
}

fn sync_frame(peer: &str, relay: &str, doc: DocumentId, data: &[u8]) -> Vec<u8> {
    Message::Sync(DocMessage { sender_id: peer.into(), target_id: relay.into(), document_id: doc, data: data.to_vec() })
        .encode()
}

fn ephemeral() -> PeerMetadata {
    PeerMetadata { storage_id: None, is_ephemeral: true }
}

/// One connection sending one hostile sync message.
async fn hostile_once(url: &str, peer: &str, doc: DocumentId, data: &[u8], seen: &Shared) -> Result<String> {
    let mut ws = open(url).await?;
    let relay = handshake(&mut ws, peer, ephemeral(), seen).await?;
    send(&mut ws, sync_frame(peer, &relay, doc, data)).await?;
    Ok(read_to_close(&mut ws, seen).await)
}

/// One reader that asks for `doc` 400 times ("I have nothing"), then reads nothing for two
/// seconds, then reads what there is.
async fn never_reading_once(url: &str, peer: &str, doc: DocumentId, seen: &Shared) -> Result<String> {
    let mut ws = open(url).await?;
    let relay = handshake(&mut ws, peer, ephemeral(), seen).await?;
    let data = sync_data(vec![sync::Have::default()], vec![]);
    for _ in 0..400 {
        if send(&mut ws, sync_frame(peer, &relay, doc, &data)).await.is_err() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(read_to_close(&mut ws, seen).await)
}

/// One `join` with a storage id of 4 MiB.
async fn huge_storage_id_once(url: &str, peer: &str, seen: &Shared) -> Result<String> {
    let mut ws = open(url).await?;
    let meta = PeerMetadata { storage_id: Some("x".repeat(4 * 1024 * 1024)), is_ephemeral: false };
    match handshake(&mut ws, peer, meta, seen).await {
        Ok(_) => Ok("accepted: the relay answered the join".into()),
        Err(e) if format!("{e}").contains("refused") => Ok(read_to_close(&mut ws, seen).await),
        Err(e) => Err(e),
    }
}

/// Opens `n` TCP sockets from 127.0.0.2 that never send a byte, and holds them until `stop`,
/// noting how the relay treats each (answered and closed, closed silently, or kept open).
async fn idle_flood(to: SocketAddr, n: usize, stop: &AtomicBool, seen: &Shared) {
    let connect = |i: usize| async move {
        let socket = TcpSocket::new_v4().context("socket")?;
        socket.bind(SocketAddr::new(IpAddr::V4(FLOOD_FROM), 0)).context("bind to 127.0.0.2")?;
        tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
            .await
            .map_err(|_| anyhow!("connect timed out"))?
            .with_context(|| format!("idle socket {i}"))
    };
    let opened = futures_util::future::join_all((0..n).map(connect)).await;
    let mut sockets = Vec::new();
    for s in opened {
        note(seen, |s| s.attempts += 1);
        match s {
            Ok(s) => sockets.push(s),
            Err(e) => ended(seen, short(&format!("{e:#}"))),
        }
    }
    let watch = |mut s: TcpStream| async move {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            if stop.load(Ordering::Relaxed) {
                ended(seen, "kept open until the attack ended");
                return;
            }
            match tokio::time::timeout(Duration::from_millis(250), s.read(&mut buf)).await {
                Err(_) => {}
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(k)) => got.extend_from_slice(&buf[..k]),
            }
        }
        let text = String::from_utf8_lossy(&got);
        if let Some(status) = text.lines().next().filter(|l| l.starts_with("HTTP/")) {
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("").lines().next().unwrap_or("").trim();
            note(seen, |s| *s.told.entry(short(&format!("{status}: {body}"))).or_default() += 1);
            ended(seen, "answered and closed by the relay");
        } else {
            ended(seen, "closed by the relay without an answer");
        }
    };
    futures_util::future::join_all(sockets.into_iter().map(watch)).await;
}
