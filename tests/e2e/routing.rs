//! Requests for documents the relay does not have yet, held until a writer creates them or their
//! time is up, within bounds; and ephemeral messages passed between the readers of a document,
//! and to no one else.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use contactpoint_protocol::automerge::Automerge;
use contactpoint_protocol::automerge::sync::{self, SyncDoc};
use contactpoint_protocol::{DocMessage, DocumentId, Message, PeerMetadata};
use contactpoint_server::Limits;
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{NativeClient, TestRelay, WAIT, eventually};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A peer that speaks the wire protocol by hand, so that it can send `ephemeral` messages and
/// see every message the relay sends it, in order.
struct RawPeer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    id: String,
    relay_id: String,
}

/// What a peer with no copy of a document sends in a `request`.
fn empty_sync_message() -> Vec<u8> {
    Automerge::new().generate_sync_message(&mut sync::State::new()).map(|m| m.encode()).unwrap_or_default()
}

impl RawPeer {
    /// Connects and completes the handshake.
    async fn join(url: &str, id: &str) -> Result<RawPeer> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| anyhow!("connect: {e}"))?;
        let mut p = RawPeer { ws, id: id.to_owned(), relay_id: String::new() };
        let join = Message::Join {
            sender_id: id.to_owned(),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: true }),
        };
        p.send(join).await?;
        match p.next(WAIT).await? {
            Some(Message::Peer { sender_id, .. }) => p.relay_id = sender_id,
            other => bail!("{id}: expected `peer`, got {other:?}"),
        }
        Ok(p)
    }

    async fn send(&mut self, m: Message) -> Result<()> {
        self.ws.send(WsMessage::Binary(m.encode().into())).await.map_err(|e| anyhow!("{}: send: {e}", self.id))
    }

    /// Asks for a document it does not have.
    async fn request(&mut self, doc: DocumentId) -> Result<()> {
        self.request_with(doc, empty_sync_message()).await
    }

    async fn request_with(&mut self, doc: DocumentId, data: Vec<u8>) -> Result<()> {
        let m = DocMessage { sender_id: self.id.clone(), target_id: self.relay_id.clone(), document_id: doc, data };
        self.send(Message::Request(m)).await
    }

    /// Sends an ephemeral message of its own.
    async fn ephemeral(&mut self, doc: DocumentId, session: &str, count: u64, data: &[u8]) -> Result<()> {
        let m = Message::Ephemeral {
            sender_id: self.id.clone(),
            target_id: self.relay_id.clone(),
            count,
            session_id: session.to_owned(),
            document_id: doc,
            data: data.to_vec(),
        };
        self.send(m).await
    }

    /// The next message, or `None` if none comes within `max`. A closed socket is an error.
    async fn next(&mut self, max: Duration) -> Result<Option<Message>> {
        let deadline = tokio::time::Instant::now() + max;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Ok(None),
                Ok(None) | Ok(Some(Ok(WsMessage::Close(_)))) => bail!("{}: the relay closed the connection", self.id),
                Ok(Some(Err(e))) => bail!("{}: socket error: {e}", self.id),
                Ok(Some(Ok(WsMessage::Binary(b)))) => {
                    let m = Message::decode(&b).map_err(|e| anyhow!("{}: undecodable frame: {e}", self.id))?;
                    if let Message::Error { message, .. } = &m {
                        bail!("{}: the relay sent an error: {message}", self.id);
                    }
                    return Ok(Some(m));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Reads messages until one satisfies `pred`, within [`WAIT`]; returns it and those before.
    async fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Result<(Message, Vec<Message>)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Some(m) if pred(&m) => return Ok((m, before)),
                Some(m) => before.push(m),
                None => bail!("{}: no {what} within {WAIT:?}; got {before:?}", self.id),
            }
        }
    }

    /// Every message that arrives until none has for `quiet` (used only to show that something
    /// does not happen, after a positive signal that the exchange has run).
    async fn settle(&mut self, quiet: Duration) -> Result<Vec<Message>> {
        let mut got = Vec::new();
        while let Some(m) = self.next(quiet).await? {
            got.push(m);
        }
        Ok(got)
    }
}

fn is_sync_for(m: &Message, doc: DocumentId) -> bool {
    matches!(m, Message::Sync(d) if d.document_id == doc)
}

fn is_unavailable(m: &Message, doc: DocumentId) -> bool {
    matches!(m, Message::DocUnavailable { document_id, .. } if *document_id == doc)
}

fn is_ephemeral(m: &Message) -> bool {
    matches!(m, Message::Ephemeral { .. })
}

fn held(relay: &TestRelay) -> usize {
    relay.relay.stats.held_requests.load(Ordering::Relaxed)
}

#[tokio::test]
async fn a_request_waits_for_the_writer_that_creates_the_document() -> Result<()> {
    // A long hold: an answer before it can only come from the document's creation.
    let relay = TestRelay::start_with(Limits { request_hold: Duration::from_secs(60), ..Limits::default() }).await?;
    let doc = DocumentId::from_random_bytes([21; 16]);

    // A reader asks for the document before anyone has created it, as automerge-repo peers do
    // the moment they are given its URL; the relay holds the request.
    let mut reader = NativeClient::new("early-reader");
    reader.open(doc);
    reader.connect(&relay.url(&relay.token(Role::Reader, &[]))).await?;
    eventually("the relay holds the reader's request", || Ok(held(&relay) == 1)).await?;

    // An admin creates it through sync. Its first message carries only its heads, so the relay
    // creates an empty document first and the content follows a round trip later: the reader
    // waits for that too, rather than being told the new document has nothing.
    let mut admin = NativeClient::new("creating-admin");
    admin.session.create_doc(doc, Automerge::new());
    admin.put(doc, "title", "Created while a reader waited").await?;
    admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    admin.wait_until(|c| c.session.is_acknowledged(&doc)).await?;

    reader.wait_until(|c| c.get(doc, "title").is_some()).await?;
    assert_eq!(reader.get(doc, "title").as_deref(), Some("Created while a reader waited"));
    assert!(reader.unavailable.is_empty(), "the reader was told {:?} is unavailable", reader.unavailable);
    assert_eq!(held(&relay), 0, "nothing is left held");
    Ok(())
}

#[tokio::test]
async fn a_request_nobody_answers_is_unavailable_once_its_time_is_up() -> Result<()> {
    let hold = Duration::from_millis(600);
    let relay = TestRelay::start_with(Limits { request_hold: hold, ..Limits::default() }).await?;
    let token = relay.token(Role::Reader, &[]);
    // Never created, and created then erased: both are answered alike, after the hold, so that
    // the answer's timing does not tell which ids were documents.
    let never = DocumentId::from_random_bytes([22; 16]);
    let erased = relay.document(Scope::National);
    relay.db.with(|c| {
        c.execute(
            "UPDATE documents SET tombstoned_at = 1 WHERE id = ?1",
            contactpoint_server::args![erased.to_string()],
        )
    })?;
    for doc in [never, erased] {
        let mut reader = RawPeer::join(&relay.url(&token), "waiting-reader").await?;
        let asked = Instant::now();
        reader.request(doc).await?;
        let (_, before) = reader.until("doc-unavailable", |m| is_unavailable(m, doc)).await?;
        let waited = asked.elapsed();
        ensure!(before.is_empty(), "{doc}: nothing else comes first: {before:?}");
        ensure!(waited >= hold, "{doc}: answered after {waited:?}, before the hold of {hold:?}");
        ensure!(waited < hold + Duration::from_secs(5), "{doc}: answered only after {waited:?}");
        eventually("the request is no longer held", || Ok(held(&relay) == 0)).await?;
    }
    Ok(())
}

#[tokio::test]
async fn held_requests_are_bounded_per_connection_in_all_and_in_size() -> Result<()> {
    let limits =
        Limits { request_hold: Duration::from_secs(60), held_per_connection: 2, held_total: 3, ..Limits::default() };
    let relay = TestRelay::start_with(limits).await?;
    let token = relay.token(Role::Reader, &[]);
    let ids: Vec<DocumentId> = (0..8).map(|i| DocumentId::from_random_bytes([30 + i; 16])).collect();

    // One connection asks for four unknown documents: two wait, two are answered at once.
    let mut first = RawPeer::join(&relay.url(&token), "greedy-reader").await?;
    for doc in &ids[0..4] {
        first.request(*doc).await?;
    }
    for doc in &ids[2..4] {
        first.until("an immediate doc-unavailable", |m| is_unavailable(m, *doc)).await?;
    }
    eventually("two requests are held", || Ok(held(&relay) == 2)).await?;

    // Another connection may hold one more, up to the total; its second is answered at once.
    let mut second = RawPeer::join(&relay.url(&token), "second-reader").await?;
    second.request(ids[4]).await?;
    second.request(ids[5]).await?;
    second.until("an immediate doc-unavailable", |m| is_unavailable(m, ids[5])).await?;
    eventually("three requests are held", || Ok(held(&relay) == 3)).await?;
    ensure!(first.settle(Duration::from_millis(200)).await?.is_empty(), "the held requests stay unanswered");

    // A connection's held requests go when it does.
    drop(first);
    eventually("the closed connection's requests are dropped", || Ok(held(&relay) == 1)).await?;

    // A request with a large sync message is not held (a peer with no copy sends a few bytes).
    let mut third = RawPeer::join(&relay.url(&token), "large-reader").await?;
    third.request_with(ids[6], vec![0; 8 * 1024]).await?;
    third.until("an immediate doc-unavailable", |m| is_unavailable(m, ids[6])).await?;
    third.request(ids[7]).await?;
    eventually("a small one is held again", || Ok(held(&relay) == 2)).await?;
    ensure!(second.settle(Duration::from_millis(100)).await?.is_empty());
    Ok(())
}

/// A document created and filled by an admin, and raw peers with reader tokens that have synced
/// it (so that the relay has attached them to it).
struct Scene {
    relay: TestRelay,
    admin: NativeClient,
    doc: DocumentId,
    reader_token: String,
}

impl Scene {
    async fn new(limits: Limits) -> Result<Scene> {
        let relay = TestRelay::start_with(limits).await?;
        let doc = DocumentId::from_random_bytes([40; 16]);
        let mut admin = NativeClient::new("presence-admin");
        admin.session.create_doc(doc, Automerge::new());
        admin.put(doc, "title", "A shared document").await?;
        admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
        admin.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        let reader_token = relay.token(Role::Reader, &[]);
        Ok(Scene { relay, admin, doc, reader_token })
    }

    /// A reader that has asked for `doc` and received it.
    async fn reader_of(&self, id: &str, doc: DocumentId) -> Result<RawPeer> {
        let mut p = RawPeer::join(&self.relay.url(&self.reader_token), id).await?;
        p.request(doc).await?;
        p.until("the document", |m| is_sync_for(m, doc) || is_unavailable(m, doc)).await?;
        Ok(p)
    }
}

#[tokio::test]
async fn ephemeral_messages_reach_the_documents_readers_and_no_one_else() -> Result<()> {
    let mut s = Scene::new(Limits::default()).await?;
    let doc = s.doc;
    let mut sender = s.reader_of("sender", doc).await?;
    let mut reader = s.reader_of("reader", doc).await?;
    // Connected and signed in, but attached to another document only.
    let other = s.relay.document(Scope::Unlisted);
    let mut outsider = s.reader_of("outsider", other).await?;
    let mut outsiders_peer = s.reader_of("outsiders-peer", other).await?;

    // A reader's presence reaches the other reader unchanged but for its address.
    sender.ephemeral(doc, "session-s", 1, b"\xa1\x68presence\x66sender").await?;
    let (got, _) = reader.until("the sender's ephemeral message", is_ephemeral).await?;
    assert_eq!(
        got,
        Message::Ephemeral {
            sender_id: "sender".into(),
            target_id: "reader".into(),
            count: 1,
            session_id: "session-s".into(),
            document_id: doc,
            data: b"\xa1\x68presence\x66sender".to_vec(),
        }
    );
    // automerge-repo passes what it receives on to its other peers unchanged, so the reader
    // sends it back; the relay takes that quietly and passes on nothing that claims to be from
    // someone other than the connection's own peer.
    let Message::Ephemeral { sender_id, count, session_id, data, .. } = got else { unreachable!() };
    let echo =
        Message::Ephemeral { sender_id, target_id: reader.relay_id.clone(), count, session_id, document_id: doc, data };
    reader.send(echo).await?;
    // The reader speaks for itself too, and the sender receives that.
    reader.ephemeral(doc, "session-r", 1, b"\xa0").await?;
    let (got, before) = sender.until("the reader's ephemeral message", is_ephemeral).await?;
    assert!(matches!(&got, Message::Ephemeral { sender_id, .. } if sender_id == "reader"), "{got:?}");
    assert!(before.iter().all(|m| !is_ephemeral(m)), "the sender got its own message back: {before:?}");

    // The outsider, attached to another document, hears that document's presence…
    outsiders_peer.ephemeral(other, "session-o", 1, b"\xa0").await?;
    let (_, before) = outsider.until("its own document's ephemeral message", is_ephemeral).await?;
    assert!(before.iter().all(|m| !is_ephemeral(m)), "{before:?}");
    // …and never the first document's; nor does what it sends about that document reach anyone.
    outsider.ephemeral(doc, "session-x", 1, b"\xa0").await?;
    sender.ephemeral(doc, "session-s", 2, b"\xa0").await?;
    let (got, _) = reader.until("the sender's second message", is_ephemeral).await?;
    assert!(matches!(&got, Message::Ephemeral { sender_id, count: 2, .. } if sender_id == "sender"), "{got:?}");
    let quiet = Duration::from_millis(300);
    assert!(outsider.settle(quiet).await?.iter().all(|m| !is_ephemeral(m)), "the outsider heard the document");
    assert!(reader.settle(quiet).await?.iter().all(|m| !is_ephemeral(m)), "the reader heard the outsider");
    assert!(sender.settle(quiet).await?.iter().all(|m| !is_ephemeral(m)), "the sender heard an echo or the outsider");

    // A payload over the limit is dropped; the next one still goes.
    let big = vec![0u8; Limits::default().ephemeral_bytes + 1];
    sender.ephemeral(doc, "session-s", 3, &big).await?;
    sender.ephemeral(doc, "session-s", 4, b"\xa0").await?;
    let (got, before) = reader.until("the sender's fourth message", is_ephemeral).await?;
    assert!(matches!(&got, Message::Ephemeral { count: 4, .. }), "{got:?}");
    assert!(before.iter().all(|m| !is_ephemeral(m)), "{before:?}");

    // Our own client, attached to the document as well, received them all without closing.
    s.admin.pump().await?;
    assert!(s.admin.is_connected(), "the native client closed: {:?}", s.admin.closed);
    let forwarded = s.relay.relay.stats.ephemeral_forwarded.load(Ordering::Relaxed);
    // sender ×3 to reader and admin, reader ×1 to sender and admin, the outsider's peer ×1.
    assert_eq!(forwarded, 9, "messages passed on");
    Ok(())
}

#[tokio::test]
async fn ephemeral_messages_are_rate_limited_per_connection() -> Result<()> {
    let limits = Limits { ephemeral_per_sec: 0.5, ephemeral_burst: 3.0, ..Limits::default() };
    let s = Scene::new(limits).await?;
    let mut sender = s.reader_of("chatty", s.doc).await?;
    let mut reader = s.reader_of("listener", s.doc).await?;
    for count in 1..=10 {
        sender.ephemeral(s.doc, "session-c", count, b"\xa0").await?;
    }
    let mut counts = Vec::new();
    while let Some(m) = reader.next(Duration::from_millis(500)).await? {
        if let Message::Ephemeral { count, .. } = m {
            counts.push(count);
        }
    }
    ensure!(counts == [1, 2, 3], "only the burst is passed on: {counts:?}");
    let _ = sender.settle(Duration::from_millis(10)).await.context("the sender stays connected")?;
    Ok(())
}
