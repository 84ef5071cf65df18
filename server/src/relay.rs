//! The relay's sync engine: one task per loaded document and one per WebSocket connection.
//!
//! A connection task owns the socket and the protocol [`Connection`] machine; it hands document
//! messages to the document's task together with the authenticated identity. A document task
//! owns the [`DocSync`], decides access from the identity and the document's scope, applies what
//! it may, commits a batch of changes to SQLite in one transaction (with the audit entry and the
//! author of every new change), and only then fans the resulting sync messages out. Documents
//! with no peers are unloaded after an idle period.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contactpoint_directory::Directory;
use contactpoint_directory::store::read_directory;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_protocol::connection::MAX_ID_BYTES;
use contactpoint_protocol::{
    Access, Bounds, Connection, DocSync, DocumentId, Event, Message, PeerMetadata, Reason, Refusal,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::auth::Identity;
use crate::gate::{self, ContactIds, Effect, Gate, NationalCopy, SyncInput};
use crate::mailbox::Mailbox;
use crate::storage::{self, Db, Scope};
use crate::ws::{Message as WsMessage, WebSocket};

/// Limits and timings of the relay.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted WebSocket message.
    pub max_frame_bytes: usize,
    /// Time a client has to send `join` after connecting.
    pub handshake_timeout: Duration,
    /// Sustained messages per second one connection may send.
    pub rate_per_sec: f64,
    /// Burst of messages one connection may send at once.
    pub rate_burst: f64,
    /// How long a document with no peers stays in memory.
    pub doc_idle: Duration,
    /// Bytes queued for one connection before it counts as too slow and is closed. One message
    /// is always let through to an empty queue, however large.
    pub outbox_bytes: usize,
    /// How long one frame may take to be written to a connection before it is closed.
    pub write_timeout: Duration,
    /// How often revocations are looked for in the database.
    pub revocation_poll: Duration,
    /// How often a relay that hears other processes' writes announced (PostgreSQL) reads anyway.
    pub announced_poll: Duration,
    /// What a peer's sync message may ask of the engine.
    pub bounds: Bounds,
    /// Documents one user may create through sync per hour.
    pub creations_per_hour: u32,
    /// How long an unused sync state is kept.
    pub sync_state_ttl: Duration,
    /// How long a `request` for a document the relay does not have waits for a writer to create
    /// it before it is answered `doc-unavailable`.
    pub request_hold: Duration,
    /// Requests one connection may have waiting at once; more are answered at once.
    pub held_per_connection: usize,
    /// Requests all connections together may have waiting at once.
    pub held_total: usize,
    /// Largest ephemeral payload passed on; larger ones are dropped.
    pub ephemeral_bytes: usize,
    /// Sustained ephemeral messages per second one connection may have passed on.
    pub ephemeral_per_sec: f64,
    /// Burst of ephemeral messages one connection may have passed on at once.
    pub ephemeral_burst: f64,
}

/// What a peer cut off for not reading what was queued for it is told.
const TOO_SLOW: &str = "connection too slow; reconnect";

/// The default of [`Limits::max_frame_bytes`], also the command line's.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// The default of [`Limits::handshake_timeout`] in seconds, also the command line's.
pub const DEFAULT_HANDSHAKE_TIMEOUT_SECS: u64 = 10;
/// The default of [`Limits::rate_per_sec`], also the command line's.
pub const DEFAULT_RATE_PER_SEC: f64 = 500.0;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            handshake_timeout: Duration::from_secs(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            rate_burst: 2000.0,
            doc_idle: Duration::from_secs(30),
            outbox_bytes: 4 * 1024 * 1024,
            write_timeout: Duration::from_secs(30),
            revocation_poll: Duration::from_millis(250),
            announced_poll: Duration::from_secs(5),
            bounds: Bounds::default(),
            creations_per_hour: 20,
            sync_state_ttl: Duration::from_secs(90 * 24 * 3600),
            request_hold: Duration::from_secs(2),
            held_per_connection: 16,
            held_total: 4096,
            ephemeral_bytes: 16 * 1024,
            ephemeral_per_sec: 10.0,
            ephemeral_burst: 20.0,
        }
    }
}

/// What a document task tells a connection task to send.
#[derive(Debug)]
enum Out {
    Sync {
        doc: DocumentId,
        data: Vec<u8>,
    },
    Unavailable {
        doc: DocumentId,
    },
    /// Send an `error`, with its fields when it has them; close the connection when `close` is
    /// set.
    Error {
        message: String,
        close: bool,
        refusal: Option<Box<Refusal>>,
    },
    /// Pass on another peer's ephemeral message.
    Ephemeral(Arc<EphemeralMessage>),
    /// Close the connection with code 1001 ("going away"): the relay is shutting down, and the
    /// client may reconnect at once (to the relay that replaces this one).
    GoingAway,
}

impl Out {
    /// What the message holds in memory while queued, roughly.
    fn size(&self) -> usize {
        64 + match self {
            Out::Sync { data, .. } => data.len(),
            Out::Unavailable { .. } | Out::GoingAway => 0,
            Out::Error { message, .. } => message.len(),
            Out::Ephemeral(e) => e.sender_id.len() + e.session_id.len() + e.data.len(),
        }
    }
}

/// The queue of messages for one connection, limited by the bytes it holds rather than by a
/// count of messages, so that a peer that stops reading pins at most its budget. Empty, it
/// holds no memory but its [`Mailbox`].
#[derive(Clone)]
struct Outbox {
    mailbox: Arc<Mailbox<Out>>,
    budget: usize,
}

impl Outbox {
    /// Queues a message unless that would take the queue over its budget. A message for an
    /// empty queue always goes, so that a large snapshot can still be sent.
    fn try_send(&self, out: Out) -> bool {
        let size = out.size();
        let queued = self.mailbox.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + size > self.budget {
            return false;
        }
        self.mailbox.queued.fetch_add(size, Ordering::Relaxed);
        self.mailbox.push(out)
    }

    /// Queues a small message (an error) whatever the budget.
    fn force(&self, out: Out) {
        self.mailbox.queued.fetch_add(out.size(), Ordering::Relaxed);
        let _ = self.mailbox.push(out);
    }

    /// Closes the connection with `reason` before anything else queued is sent (revocation,
    /// rotation); false when it has already ended.
    fn kick(&self, reason: &str) -> bool {
        let out = Out::Error { message: reason.to_owned(), close: true, refusal: None };
        self.mailbox.queued.fetch_add(out.size(), Ordering::Relaxed);
        self.mailbox.push_front(out)
    }

    /// Closes the connection with code 1001 before anything else queued is sent (shutdown);
    /// false when it has already ended.
    fn go_away(&self) -> bool {
        self.mailbox.queued.fetch_add(Out::GoingAway.size(), Ordering::Relaxed);
        self.mailbox.push_front(Out::GoingAway)
    }

    /// The next message to send; `None` once the connection has ended.
    async fn recv(&self) -> Option<Out> {
        self.mailbox.recv().await
    }

    /// A message left the queue.
    fn sent(&self, size: usize) {
        self.mailbox.queued.fetch_sub(size, Ordering::Relaxed);
    }
}

/// A connection as a document task knows it.
#[derive(Clone)]
pub(crate) struct PeerRef {
    conn: u64,
    identity: Arc<Identity>,
    storage_id: Option<String>,
    out: Outbox,
}

/// An ephemeral message as received from its sender, shared by everyone it is passed on to.
#[derive(Debug)]
pub(crate) struct EphemeralMessage {
    doc: DocumentId,
    /// The connection it came from.
    from: u64,
    /// The sender's handshake peer id.
    sender_id: String,
    session_id: String,
    count: u64,
    data: Vec<u8>,
}

pub(crate) enum DocCmd {
    Sync {
        peer: PeerRef,
        request: bool,
        data: Vec<u8>,
    },
    /// Pass an attached peer's ephemeral message on to the document's other readers.
    Ephemeral(Arc<EphemeralMessage>),
    /// A peer's wait for the document's first changes is over (see `DocTask::awaiting_content`).
    ContentDue {
        conn: u64,
    },
    Detach {
        conn: u64,
    },
    /// Another process (the admin CLI) stored chunks for this document: merge and pass them on.
    Refresh,
    /// The document was tombstoned (rotated for erasure): unload it now.
    Erased,
}

pub(crate) struct DocHandle {
    pub(crate) tx: mpsc::UnboundedSender<DocCmd>,
    generation: u64,
}

/// Requests for documents the relay does not have, waiting for a writer to create them. A
/// connection answers its own with `doc-unavailable` when they time out; a document task takes
/// those for its document when a sync creates it.
#[derive(Default)]
struct Held {
    by_doc: HashMap<DocumentId, Vec<(PeerRef, Vec<u8>)>>,
    per_conn: HashMap<u64, usize>,
    total: usize,
}

impl Held {
    /// Forgets one held request of `conn`.
    fn uncount(&mut self, conn: u64) {
        self.total -= 1;
        if let Some(n) = self.per_conn.get_mut(&conn) {
            *n -= 1;
            if *n == 0 {
                self.per_conn.remove(&conn);
            }
        }
    }
}

/// A request held this long or less carries a sync message from a peer with no copy, which is a
/// few dozen bytes; larger ones are not held, so held requests pin little memory.
const MAX_HELD_REQUEST_BYTES: usize = 4096;

struct ConnEntry {
    device_id: i64,
    user_id: i64,
    kick: Outbox,
}

/// Counters shown by `/healthz` and used by benchmarks.
#[derive(Default)]
pub struct Stats {
    /// Open WebSocket connections.
    pub connections: AtomicUsize,
    /// Documents held in memory.
    pub loaded_docs: AtomicUsize,
    /// Changes accepted and stored.
    pub writes: AtomicU64,
    /// Writes refused (read-only peers, validation, corrupt data).
    pub refused: AtomicU64,
    /// Requests waiting for a document the relay does not have yet.
    pub held_requests: AtomicUsize,
    /// Ephemeral messages passed on to a peer.
    pub ephemeral_forwarded: AtomicU64,
}

/// The shared state of a running relay.
pub struct Relay {
    db: Db,
    limits: Limits,
    storage_id: String,
    peer_id: String,
    docs: Mutex<HashMap<DocumentId, DocHandle>>,
    conns: Mutex<HashMap<u64, ConnEntry>>,
    next_id: AtomicU64,
    /// Which document holds each contact point id.
    pub(crate) contact_ids: Arc<ContactIds>,
    /// The newest chunk when the ids were first read; the watcher reads from there.
    pub(crate) indexed_seq: i64,
    /// Documents created through sync per user in the current hour: (hour started, count).
    creations: Mutex<HashMap<i64, (Instant, u32)>>,
    held: Mutex<Held>,
    /// Set once shutdown has begun: `/readyz` answers 503 and no document is loaded any more.
    shutting_down: std::sync::atomic::AtomicBool,
    /// Where people send feedback on accessibility (`serve --feedback-contact`), for the app's
    /// accessibility statement.
    feedback_contact: std::sync::OnceLock<String>,
    /// Public counters.
    pub stats: Stats,
    /// What `/metrics` counts beyond [`Stats`].
    pub metrics: crate::metrics::Metrics,
}

/// The relay's peer id: `relay-` and the first eight characters of its storage id (fewer when the
/// stored id is shorter, as one written by hand or by another tool may be).
pub fn peer_id_for(storage_id: &str) -> String {
    format!("relay-{}", storage_id.chars().take(8).collect::<String>())
}

impl Relay {
    /// Sets the feedback address the accessibility statement names (once; later calls are
    /// ignored).
    pub fn set_feedback_contact(&self, contact: String) {
        let _ = self.feedback_contact.set(contact);
    }

    /// The feedback address, if the operator set one.
    pub fn feedback_contact(&self) -> Option<&str> {
        self.feedback_contact.get().map(String::as_str)
    }

    /// Creates the relay over an open database.
    pub fn new(db: Db, limits: Limits) -> Result<Arc<Relay>, storage::StorageError> {
        let storage_id = db.with(storage::storage_id)?;
        let peer_id = peer_id_for(&storage_id);
        let contact_ids = Arc::new(ContactIds::default());
        // Chunks stored after this are seen by the watcher, which records their ids too.
        let indexed_seq = db.with(|c| storage::newest_seq(c))?;
        index_contact_ids(&db, &contact_ids)?;
        contact_ids.erase(db.with(|c| storage::erased_contacts(c))?);
        Ok(Arc::new(Relay {
            db,
            limits,
            storage_id,
            peer_id,
            docs: Mutex::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            contact_ids,
            indexed_seq,
            creations: Mutex::new(HashMap::new()),
            held: Mutex::new(Held::default()),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            feedback_contact: std::sync::OnceLock::new(),
            stats: Stats::default(),
            metrics: crate::metrics::Metrics::default(),
        }))
    }

    /// Which document holds a contact point id, as far as this relay knows.
    pub fn contact_owner(&self, id: &str) -> Option<DocumentId> {
        self.contact_ids.owner(id)
    }

    /// Takes one of the user's document creations for this hour, if any is left.
    fn creation_allowed(&self, user_id: i64) -> bool {
        let mut c = self.creations.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = c.entry(user_id).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(3600) {
            *entry = (now, 0);
        }
        if entry.1 >= self.limits.creations_per_hour {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Whether a document has a task (is loaded).
    fn is_loaded(&self, doc: &DocumentId) -> bool {
        self.lock_docs().contains_key(doc)
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The storage id advertised to clients.
    pub fn storage_id(&self) -> &str {
        &self.storage_id
    }

    /// The peer id the relay greets clients with.
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// Messages queued for all connections and not yet written, and the bytes they hold.
    pub fn queued(&self) -> (usize, usize) {
        let conns = self.lock_conns();
        conns
            .values()
            .fold((0, 0), |(m, b), c| (m + c.kick.mailbox.len(), b + c.kick.mailbox.queued.load(Ordering::Relaxed)))
    }

    pub(crate) fn lock_docs(&self) -> std::sync::MutexGuard<'_, HashMap<DocumentId, DocHandle>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ConnEntry>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a command to a document's task, starting the task if the document is not loaded.
    fn send_to_doc(self: &Arc<Self>, doc: DocumentId, mut cmd: DocCmd) {
        loop {
            let (tx, generation) = {
                let mut docs = self.lock_docs();
                if self.is_shutting_down() && !docs.contains_key(&doc) {
                    // Shutting down: what a late connection sends is not acknowledged, so
                    // dropping it loses nothing; the client sends it again after reconnecting.
                    return;
                }
                let h = docs.entry(doc).or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let generation = self.next_id.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(run_doc(self.clone(), doc, rx, generation));
                    DocHandle { tx, generation }
                });
                (h.tx.clone(), h.generation)
            };
            match tx.send(cmd) {
                Ok(()) => return,
                Err(mpsc::error::SendError(c)) => {
                    // The task unloaded the document between our lookup and the send.
                    cmd = c;
                    let mut docs = self.lock_docs();
                    if docs.get(&doc).is_some_and(|h| h.generation == generation) {
                        docs.remove(&doc);
                    }
                }
            }
        }
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Passes a command to a loaded document's task; drops it when the document is not loaded.
    fn send_if_loaded(&self, doc: &DocumentId, cmd: DocCmd) {
        if let Some(h) = self.lock_docs().get(doc) {
            let _ = h.tx.send(cmd);
        }
    }

    /// Holds a `request` for a document storage does not have, so that it is answered with the
    /// document if a writer creates it within [`Limits::request_hold`]. Returns false when the
    /// request cannot be held (over the bounds, or too large): the caller answers it at once.
    fn hold_request(self: &Arc<Self>, doc: DocumentId, peer: PeerRef, data: Vec<u8>) -> bool {
        let (peer, data) = {
            let mut held = self.lock_held();
            // A document task creates documents and takes their held requests under this lock
            // once the creation is stored; a task that is loaded now may be creating this one,
            // so the request goes to it instead of waiting for a creation that already happened.
            if !self.is_loaded(&doc) {
                let mine = held.per_conn.get(&peer.conn).copied().unwrap_or(0);
                if data.len() > MAX_HELD_REQUEST_BYTES
                    || mine >= self.limits.held_per_connection
                    || held.total >= self.limits.held_total
                {
                    return false;
                }
                held.total += 1;
                *held.per_conn.entry(peer.conn).or_insert(0) += 1;
                held.by_doc.entry(doc).or_default().push((peer, data));
                self.stats.held_requests.store(held.total, Ordering::Relaxed);
                return true;
            }
            (peer, data)
        };
        self.send_to_doc(doc, DocCmd::Sync { peer, request: true, data });
        true
    }

    /// Takes back a held request of `conn` for `doc` whose time is up; true if it was still held
    /// (then the caller answers `doc-unavailable`).
    fn expire_held(&self, conn: u64, doc: &DocumentId) -> bool {
        let mut held = self.lock_held();
        let Some(waiting) = held.by_doc.get_mut(doc) else { return false };
        let Some(i) = waiting.iter().position(|(p, _)| p.conn == conn) else { return false };
        waiting.remove(i);
        if waiting.is_empty() {
            held.by_doc.remove(doc);
        }
        held.uncount(conn);
        self.stats.held_requests.store(held.total, Ordering::Relaxed);
        true
    }

    /// Forgets every held request of a connection that closed.
    fn drop_held(&self, conn: u64) {
        let mut held = self.lock_held();
        if !held.per_conn.contains_key(&conn) {
            return;
        }
        let mut dropped = 0;
        held.by_doc.retain(|_, waiting| {
            let before = waiting.len();
            waiting.retain(|(p, _)| p.conn != conn);
            dropped += before - waiting.len();
            !waiting.is_empty()
        });
        for _ in 0..dropped {
            held.uncount(conn);
        }
        self.stats.held_requests.store(held.total, Ordering::Relaxed);
    }

    /// Takes the requests held for a document that has just been created and stored.
    fn take_held(&self, doc: &DocumentId) -> Vec<(PeerRef, Vec<u8>)> {
        let mut held = self.lock_held();
        let waiting = held.by_doc.remove(doc).unwrap_or_default();
        for (p, _) in &waiting {
            held.uncount(p.conn);
        }
        self.stats.held_requests.store(held.total, Ordering::Relaxed);
        waiting
    }

    /// A document was tombstoned by another process (rotated for erasure): its task, if loaded,
    /// tells its peers it is unavailable and drops its copy, and its contact ids pass to its
    /// successor.
    pub(crate) async fn unload_erased(self: &Arc<Self>, id: DocumentId, successor: Option<DocumentId>) {
        tracing::info!(doc = %id, "document erased; unloading it");
        self.send_if_loaded(&id, DocCmd::Erased);
        self.contact_ids.forget(id);
        if let Some(next) = successor {
            let (db, ids) = (self.db.clone(), self.contact_ids.clone());
            match tokio::task::spawn_blocking(move || record_contact_ids(&db, &ids, next)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(doc = %next, "could not read a successor's contact ids: {e}"),
                Err(e) => tracing::warn!(doc = %next, "could not read a successor's contact ids: {e}"),
            }
        }
    }

    /// Closes every live connection of a device (after revocation).
    pub fn kick_device(&self, device_id: i64, reason: &str) -> usize {
        self.kick_where(|c| c.device_id == device_id, reason)
    }

    /// Closes every live connection of a user (after the user was disabled).
    pub fn kick_user(&self, user_id: i64, reason: &str) -> usize {
        self.kick_where(|c| c.user_id == user_id, reason)
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Marks the relay as shutting down (`/readyz` answers 503 from now on) without closing
    /// anything yet.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Shuts the relay down within about `within`: every WebSocket is closed with code 1001
    /// ("going away"), ahead of anything queued for it; each document task then finishes the
    /// commands it already has (committing their changes), saves every attached peer's sync
    /// state, as when an idle document is unloaded, and ends. What is still running at the
    /// deadline is left to be dropped; only acknowledged changes matter, and those are
    /// committed before they are acknowledged.
    pub async fn shut_down(&self, within: Duration) {
        let deadline = Instant::now() + within;
        self.begin_shutdown();
        let closing = self.lock_conns().values().filter(|c| c.kick.go_away()).count();
        tracing::info!(connections = closing, documents = self.lock_docs().len(), "shutting down");
        // Connections detach from their documents as they close, which saves their states.
        let half = Instant::now() + within / 2;
        wait_for(half, || self.lock_conns().is_empty()).await;
        // Dropping the documents' senders lets each task drain its queue and end.
        drop(std::mem::take(&mut *self.lock_docs()));
        wait_for(deadline, || self.stats.loaded_docs.load(Ordering::SeqCst) == 0).await;
        let (conns, docs) = (self.lock_conns().len(), self.stats.loaded_docs.load(Ordering::SeqCst));
        if conns > 0 || docs > 0 {
            tracing::warn!(connections = conns, documents = docs, "shutdown deadline passed with work left");
        }
    }

    fn kick_where(&self, pred: impl Fn(&ConnEntry) -> bool, reason: &str) -> usize {
        let conns = self.lock_conns();
        conns.values().filter(|c| pred(c)).filter(|c| c.kick.kick(reason)).count()
    }
}

/// Polls `done` every 10 ms until it holds or `deadline` passes.
async fn wait_for(deadline: Instant, done: impl Fn() -> bool) {
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads which contact point ids each stored document holds, so that a write can be refused
/// for taking another document's id. Runs once at start, on the caller's thread.
fn index_contact_ids(db: &Db, ids: &ContactIds) -> Result<(), storage::StorageError> {
    let docs = db.with(|c| storage::list_docs(c))?;
    for (id, scope, tombstoned) in docs {
        let Ok(doc_id) = id.parse::<DocumentId>() else { continue };
        if tombstoned || scope == Scope::Unlisted {
            continue;
        }
        record_contact_ids(db, ids, doc_id)?;
    }
    Ok(())
}

/// Records the contact point ids of one stored document (blocking).
pub(crate) fn record_contact_ids(db: &Db, ids: &ContactIds, doc: DocumentId) -> Result<(), storage::StorageError> {
    let Some(stored) = db.with(|c| storage::load_doc(c, &doc))? else { return Ok(()) };
    match std::panic::catch_unwind(|| Automerge::load(&stored.bytes)) {
        Ok(Ok(d)) => ids.record(doc, gate::contact_ids(&d)),
        _ => tracing::warn!(doc = %doc, "a stored document does not load; its contact ids are not known"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Document tasks

/// Records an audit entry without holding up the document: nothing depends on it being stored
/// before the next message.
fn audit_later(db: &Db, entry: storage::AuditEntry) {
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(e) = db.call(move |c| storage::insert_audit(c, &entry)).await {
            tracing::warn!("could not record an audit entry: {e}");
        }
    });
}

/// What storage holds of a loaded document, for compaction.
#[derive(Default)]
struct Stored {
    snapshot_bytes: usize,
    incremental_bytes: usize,
    /// The stored chunks the in-memory copy contains; compaction replaces exactly these.
    seqs: Vec<i64>,
}

/// A command with what was read from storage for it, ready for the gate.
enum Prepared {
    Sync { peer: PeerRef, request: bool, data: Vec<u8>, stored_state: Option<Vec<u8>>, may_create: bool },
    Detach { conn: u64 },
    Refresh { chunks: Vec<(i64, Vec<u8>)> },
}

/// What one run of the gate over a batch produced.
struct GateRun {
    gate: Gate,
    effects: Vec<Effect>,
    /// Sync states of peers that left: (connection, state).
    detached: Vec<(u64, Vec<u8>)>,
    /// Stored chunks merged: (sequence number, size).
    merged: Vec<(i64, usize)>,
    /// Commands not run because the engine failed before them; they run after the rebuild.
    rest: Vec<Prepared>,
    /// The peers whose messages ran, and whether each is attached afterwards.
    peers: Vec<(PeerRef, bool)>,
}

struct DocTask {
    relay: Arc<Relay>,
    id: DocumentId,
    /// The policy and engine. Taken out while it runs on the blocking pool.
    gate: Option<Gate>,
    stored: Stored,
    peers: HashMap<u64, PeerRef>,
    /// Read when a writer's message carries changes to a catalogued document other than the
    /// national one; `None` when there is no national document.
    national: Option<Arc<NationalCopy>>,
    /// Peers that asked for the document while it had no changes yet and a writer that may be
    /// sending them was attached (its creator, typically: a sync creates a document before its
    /// changes arrive). They get the changes when they come, or `doc-unavailable` once
    /// [`Limits::request_hold`] has passed.
    awaiting_content: HashSet<u64>,
}

async fn run_doc(relay: Arc<Relay>, id: DocumentId, mut rx: mpsc::UnboundedReceiver<DocCmd>, generation: u64) {
    relay.stats.loaded_docs.fetch_add(1, Ordering::Relaxed);
    let mut task = DocTask {
        relay: relay.clone(),
        id,
        gate: Some(Gate::unknown(id)),
        stored: Stored::default(),
        peers: HashMap::new(),
        national: None,
        awaiting_content: HashSet::new(),
    };
    if let Err(e) = task.load().await {
        tracing::error!(doc = %id, "cannot load document: {e}");
        // Answer every waiting peer rather than leaving it hanging; the next message retries.
        while let Ok(cmd) = rx.try_recv() {
            if let DocCmd::Sync { peer, .. } = cmd {
                peer.out.force(Out::Error {
                    message: "the relay could not load this document".into(),
                    close: true,
                    refusal: Some(Box::new(Refusal::new(Reason::NotLoaded))),
                });
            }
        }
        relay.lock_docs().retain(|_, h| h.generation != generation);
        relay.stats.loaded_docs.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    let idle = relay.limits.doc_idle;
    loop {
        let first = if task.peers.is_empty() {
            match tokio::time::timeout(idle, rx.recv()).await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(_) => {
                    // Unload, unless a command slipped in while we decided.
                    let mut docs = relay.lock_docs();
                    if rx.is_empty() {
                        docs.retain(|_, h| h.generation != generation);
                        break;
                    }
                    continue;
                }
            }
        } else {
            match rx.recv().await {
                Some(c) => c,
                None => break,
            }
        };
        // Take everything already queued: one transaction commits the whole batch.
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        task.run_batch(batch).await;
    }
    task.save_all_states().await;
    relay.stats.loaded_docs.fetch_sub(1, Ordering::Relaxed);
}

/// Loads stored bytes into an engine off the async workers; a panic is an error.
async fn load_engine(id: DocumentId, bytes: Vec<u8>) -> Result<Automerge, storage::StorageError> {
    tokio::task::spawn_blocking(move || match std::panic::catch_unwind(|| Automerge::load(&bytes)) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(source)) => Err(storage::StorageError::load(id, source)),
        Err(_) => Err(storage::StorageError::Invalid(format!("loading stored document {id} panicked"))),
    })
    .await
    .map_err(|e| storage::StorageError::Task(e.to_string()))?
}

impl DocTask {
    fn gate(&self) -> &Gate {
        // The gate is out only while a blocking run holds it, and this task awaits that run.
        #[allow(clippy::expect_used)]
        self.gate.as_ref().expect("the gate is held by this task between runs")
    }

    async fn load(&mut self) -> Result<(), storage::StorageError> {
        let id = self.id;
        let stored = self.relay.db.call(move |c| storage::load_doc(c, &id)).await?;
        self.stored = Stored::default();
        let Some(s) = stored else {
            self.gate = Some(Gate::unknown(id));
            return Ok(());
        };
        if s.tombstoned {
            self.gate = Some(Gate::tombstoned(id));
            return Ok(());
        }
        let doc = load_engine(id, s.bytes).await?;
        self.relay.contact_ids.record(id, crate::gate::contact_ids(&doc));
        let mut sync = DocSync::new(doc);
        sync.set_bounds(self.relay.limits.bounds.clone());
        self.gate = Some(Gate::open(id, s.scope, sync));
        self.stored = Stored { snapshot_bytes: s.snapshot_bytes, incremental_bytes: s.incremental_bytes, seqs: s.seqs };
        Ok(())
    }

    /// Reads what each command needs from storage (sync states, the national document, chunks
    /// stored by another process), without touching the engine.
    async fn prepare(&mut self, batch: Vec<DocCmd>) -> Vec<Prepared> {
        let mut out = Vec::with_capacity(batch.len());
        let mut national_needed = false;
        // A document is created once, by the first of a batch's messages that may create it;
        // its creator's later messages in the same batch take no other creation from the
        // hourly allowance (a client sending a burst of changes to a new document would
        // otherwise spend it all in one batch and be refused).
        let mut creators: Vec<i64> = Vec::new();
        for cmd in batch {
            match cmd {
                DocCmd::Detach { conn } => out.push(Prepared::Detach { conn }),
                DocCmd::Ephemeral(_) | DocCmd::ContentDue { .. } | DocCmd::Erased => {}
                DocCmd::Refresh => {
                    let (id, known) = (self.id, self.stored.seqs.clone());
                    match self.relay.db.call(move |c| storage::unknown_chunks(c, &id, &known)).await {
                        Ok(chunks) => out.push(Prepared::Refresh { chunks }),
                        Err(e) => tracing::warn!(doc = %id, "could not read new chunks: {e}"),
                    }
                }
                DocCmd::Sync { peer, request, data } => {
                    let gate = self.gate();
                    let stored_state = match &peer.storage_id {
                        Some(sid) if !gate.has_peer(peer.conn) && gate.scope().is_some() => {
                            let (id, sid, device) = (self.id, sid.clone(), peer.identity.device_id);
                            self.relay
                                .db
                                .call(move |c| storage::load_sync_state(c, &id, device, &sid))
                                .await
                                .unwrap_or_else(|e| {
                                    tracing::warn!("could not load sync state: {e}");
                                    None
                                })
                        }
                        _ => None,
                    };
                    let gate = self.gate();
                    if let Some(scope) = gate.scope()
                        && *scope != Scope::National
                        && gate::is_checked_write(scope, &peer.identity, &data)
                    {
                        national_needed = true;
                    }
                    let user = peer.identity.user_id;
                    let may_create = gate.scope().is_none()
                        && !request
                        && peer.identity.may_create()
                        && (creators.contains(&user) || self.relay.creation_allowed(user));
                    if may_create && !creators.contains(&user) {
                        creators.push(user);
                    }
                    out.push(Prepared::Sync { peer, request, data, stored_state, may_create });
                }
            }
        }
        if national_needed && let Err(e) = self.refresh_national().await {
            tracing::error!(doc = %self.id, "could not read the national document to check a write: {e}");
            // Without it no write can be checked: those messages are answered, not applied.
            out.retain(|p| match p {
                Prepared::Sync { peer, data, .. } => {
                    let checked = self.gate().scope().is_some_and(|s| gate::is_checked_write(s, &peer.identity, data));
                    if checked {
                        peer.out.force(Out::Error {
                            message: "the relay could not check your changes; try again".into(),
                            close: true,
                            refusal: Some(Box::new(Refusal::new(Reason::NotChecked))),
                        });
                    }
                    !checked
                }
                _ => true,
            });
        }
        out
    }

    /// Runs a batch: the sync work first, then the ephemeral messages, so that a peer attached
    /// by this batch already receives them.
    async fn run_batch(&mut self, batch: Vec<DocCmd>) {
        if batch.iter().any(|c| matches!(c, DocCmd::Erased)) {
            self.erased();
        }
        let (routing, batch): (Vec<DocCmd>, Vec<DocCmd>) =
            batch.into_iter().partition(|c| matches!(c, DocCmd::Ephemeral(_) | DocCmd::ContentDue { .. }));
        if !batch.is_empty() {
            self.process(batch).await;
        }
        for cmd in routing {
            match cmd {
                DocCmd::Ephemeral(m) => self.forward_ephemeral(&m),
                DocCmd::ContentDue { conn } => {
                    if self.awaiting_content.remove(&conn)
                        && self.is_empty()
                        && self.gate().has_peer(conn)
                        && let Some(p) = self.peers.get(&conn)
                    {
                        p.out.force(Out::Unavailable { doc: self.id });
                    }
                }
                DocCmd::Sync { .. } | DocCmd::Detach { .. } | DocCmd::Refresh | DocCmd::Erased => {}
            }
        }
    }

    /// The document was tombstoned: every peer is told it is unavailable, nothing of it is kept
    /// in memory or written back (no sync states, no compaction), and from now on it answers as
    /// an erased document.
    fn erased(&mut self) {
        for (_, p) in std::mem::take(&mut self.peers) {
            p.out.force(Out::Unavailable { doc: self.id });
        }
        self.gate = Some(Gate::tombstoned(self.id));
        self.stored = Stored::default();
        self.national = None;
        self.awaiting_content.clear();
    }

    /// Whether the document is open (stored or just created) but has no changes yet.
    fn is_empty(&self) -> bool {
        self.gate().sync().is_some_and(|s| s.heads().is_empty())
    }

    /// Whether the gate's `doc-unavailable` for an attached peer (a request while the document
    /// has no changes) should not go out now. When the document has changes by the time the
    /// batch is done, the peer has been sent them and the answer is moot. While it has none and
    /// another attached peer may write it, that peer may be sending its first changes: the answer
    /// waits for them, at most [`Limits::request_hold`].
    fn defer_unavailable(&mut self, conn: u64) -> bool {
        let gate = self.gate();
        let (Some(scope), true) = (gate.scope(), gate.has_peer(conn)) else { return false };
        if !self.is_empty() {
            return true;
        }
        let writer = self
            .peers
            .values()
            .any(|p| p.conn != conn && gate.has_peer(p.conn) && p.identity.access(scope) == Access::Write);
        if !writer {
            return false;
        }
        if self.awaiting_content.insert(conn) {
            let (relay, id, hold) = (self.relay.clone(), self.id, self.relay.limits.request_hold);
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                relay.send_if_loaded(&id, DocCmd::ContentDue { conn });
            });
        }
        true
    }

    /// Passes an ephemeral message on to every other peer attached to this document that may
    /// read it. The sender must be attached itself: its access to this document was decided
    /// when it synced, so a peer cannot use ephemeral messages to reach, or learn of, a
    /// document it has not been given. Nothing is stored; a peer whose queue is over its
    /// budget misses the message instead of being cut off for it.
    fn forward_ephemeral(&self, m: &Arc<EphemeralMessage>) {
        let gate = self.gate();
        let Some(scope) = gate.scope() else { return };
        let may_read = |p: &PeerRef| gate.has_peer(p.conn) && p.identity.access(scope) != Access::None;
        if !self.peers.get(&m.from).is_some_and(may_read) {
            return;
        }
        for p in self.peers.values().filter(|p| p.conn != m.from && may_read(p)) {
            if p.out.try_send(Out::Ephemeral(m.clone())) {
                self.relay.stats.ephemeral_forwarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    async fn process(&mut self, batch: Vec<DocCmd>) {
        let mut work = self.prepare(batch).await;
        let mut detached: Vec<storage::SavedState> = Vec::new();
        while !work.is_empty() {
            let Some(gate) = self.gate.take() else { return };
            let (national, ids, now_secs) =
                (self.national.clone(), self.relay.contact_ids.clone(), storage::now_ms() / 1000);
            let budget = self.relay.limits.outbox_bytes;
            let ran =
                tokio::task::spawn_blocking(move || run_gate(gate, work, national.as_deref(), &ids, now_secs, budget))
                    .await;
            let run = match ran {
                Ok(run) => run,
                Err(e) => {
                    // Unreachable in practice: the gate catches the engine's panics itself.
                    tracing::error!(doc = %self.id, "the document's gate failed: {e}");
                    if let Err(e) = self.load().await {
                        tracing::error!(doc = %self.id, "reload failed: {e}");
                        self.gate = Some(Gate::unknown(self.id));
                    }
                    self.kick_all("the relay restarted this document; reconnect");
                    return;
                }
            };
            self.gate = Some(run.gate);
            // Peers refused or detached by this run are still answered: their messages went out
            // through `batch` before they leave `peers`.
            let mut batch: HashMap<u64, PeerRef> = HashMap::new();
            for (p, attached) in run.peers {
                if attached {
                    self.peers.entry(p.conn).or_insert_with(|| p.clone());
                } else {
                    self.peers.remove(&p.conn);
                }
                batch.insert(p.conn, p);
            }
            for (seq, size) in run.merged {
                self.stored.incremental_bytes += size;
                // A chunk read again after another relay's compaction is still one chunk.
                if !self.stored.seqs.contains(&seq) {
                    self.stored.seqs.push(seq);
                }
                self.relay.metrics.chunks_merged.inc();
            }
            for (conn, state) in run.detached {
                if let Some(p) = self.peers.remove(&conn)
                    && let Some(sid) = p.storage_id
                {
                    detached.push((self.id, p.identity.device_id, sid, state));
                }
            }
            if !self.apply(run.effects, &batch, &mut detached).await {
                return;
            }
            if self.gate().needs_rebuild() {
                // Storage holds every committed change and nothing else: rebuild from it while
                // the other peers stay connected.
                let id = self.id;
                let rebuilt = match self.relay.db.call(move |c| storage::load_doc(c, &id)).await {
                    Ok(Some(s)) if !s.tombstoned => match load_engine(id, s.bytes).await {
                        Ok(doc) => {
                            self.stored = Stored {
                                snapshot_bytes: s.snapshot_bytes,
                                incremental_bytes: s.incremental_bytes,
                                seqs: s.seqs,
                            };
                            Some(doc)
                        }
                        Err(e) => {
                            tracing::error!(doc = %id, "rebuild failed: {e}");
                            None
                        }
                    },
                    Ok(_) => Some(Automerge::new()),
                    Err(e) => {
                        tracing::error!(doc = %id, "rebuild failed: {e}");
                        None
                    }
                };
                match rebuilt {
                    Some(doc) => {
                        if let Some(g) = self.gate.as_mut() {
                            g.rebuild(doc);
                        }
                    }
                    None => {
                        self.kick_all("the relay had a storage problem; reconnect");
                        let _ = self.load().await;
                        return;
                    }
                }
            }
            work = run.rest;
        }
        self.save_states(detached).await;
        self.maybe_compact().await;
    }

    /// Carries out the gate's effects: appends committed in one transaction first, then messages
    /// in order. Returns false when the commit failed (everyone was told; the document reloaded).
    async fn apply(
        &mut self,
        effects: Vec<Effect>,
        batch: &HashMap<u64, PeerRef>,
        detached: &mut Vec<storage::SavedState>,
    ) -> bool {
        let mut appends = Vec::new();
        let mut messages = Vec::new();
        for e in effects {
            match e {
                Effect::Append(a) => appends.push(a),
                Effect::Audit(a) => audit_later(&self.relay.db, a),
                other => messages.push(other),
            }
        }
        let created = self.gate.as_mut().and_then(|g| g.created.take());
        let was_created = created.is_some();
        if !appends.is_empty() || created.is_some() {
            let (id, n) = (self.id, appends.len() as u64);
            let sizes: usize = appends.iter().map(|a| a.bytes.len()).sum();
            let started = Instant::now();
            let commit = self
                .relay
                .db
                .call(move |c| storage::append_batch(c, &appends, created.as_ref().map(|s| (&id, s))))
                .await;
            self.relay.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
            let seqs = match commit {
                Ok(seqs) => seqs,
                Err(e) => {
                    // Nothing may be acknowledged that is not stored: drop the in-memory changes
                    // by reloading, and tell everyone to come back.
                    tracing::error!(doc = %self.id, "commit failed, changes not acknowledged: {e}");
                    self.kick_all("the relay could not store changes; reconnect and try again");
                    if let Err(e) = self.load().await {
                        tracing::error!(doc = %self.id, "reload after failed commit failed: {e}");
                    }
                    return false;
                }
            };
            // These chunks are known: the database watcher sees them as new, and without this the
            // document would read every chunk back to apply its own changes again.
            self.stored.seqs.extend(seqs);
            self.stored.incremental_bytes += sizes;
            self.relay.stats.writes.fetch_add(n, Ordering::Relaxed);
        }
        if was_created {
            // Peers that asked for this document before it existed get it now, through the
            // gate like any request, after the creator's own answers.
            for (peer, data) in self.relay.take_held(&self.id) {
                self.relay.send_to_doc(self.id, DocCmd::Sync { peer, request: true, data });
            }
        }
        for m in messages {
            let (conn, out) = match m {
                Effect::Send { conn, data } => (conn, Out::Sync { doc: self.id, data }),
                Effect::Unavailable { conn } if self.defer_unavailable(conn) => continue,
                Effect::Unavailable { conn } => (conn, Out::Unavailable { doc: self.id }),
                Effect::Error { conn, message, close, refusal } => {
                    self.relay.stats.refused.fetch_add(1, Ordering::Relaxed);
                    self.relay.metrics.refused(refusal.reason);
                    (conn, Out::Error { message, close, refusal: Some(Box::new(refusal)) })
                }
                Effect::Append(_) | Effect::Audit(_) => continue,
            };
            let Some(p) = self.peers.get(&conn).or_else(|| batch.get(&conn)) else { continue };
            if matches!(out, Out::Error { .. }) {
                p.out.force(out);
            } else if !p.out.try_send(out) {
                // Over its memory budget: the connection is too slow to keep; it resyncs when it
                // returns, from the state saved here.
                // Counted as the gate's cut-off is: both are the same refusal.
                self.relay.metrics.refused(Reason::TooSlow);
                p.out.force(Out::Error {
                    message: TOO_SLOW.into(),
                    close: true,
                    refusal: Some(Box::new(Refusal::new(Reason::TooSlow))),
                });
                let state = self.gate.as_mut().and_then(|g| g.detach(conn));
                if let Some(p) = self.peers.remove(&conn)
                    && let (Some(sid), Some(state)) = (p.storage_id, state)
                {
                    detached.push((self.id, p.identity.device_id, sid, state));
                }
            }
        }
        true
    }

    /// Closes every peer's connection with `reason`, detaching them.
    fn kick_all(&mut self, reason: &str) {
        for (_, p) in std::mem::take(&mut self.peers) {
            p.out.force(Out::Error { message: reason.into(), close: true, refusal: None });
        }
    }

    async fn save_states(&self, states: Vec<storage::SavedState>) {
        if states.is_empty() {
            return;
        }
        if let Err(e) = self.relay.db.call(move |c| storage::save_sync_states(c, &states)).await {
            tracing::warn!(doc = %self.id, "could not save sync states: {e}");
        }
    }

    async fn save_all_states(&mut self) {
        let conns: Vec<u64> = self.peers.keys().copied().collect();
        let mut states = Vec::new();
        for c in conns {
            let Some(p) = self.peers.remove(&c) else { continue };
            let state = self.gate.as_mut().and_then(|g| g.detach(c));
            if let (Some(sid), Some(state)) = (p.storage_id, state) {
                states.push((self.id, p.identity.device_id, sid, state));
            }
        }
        self.save_states(states).await;
    }

    /// Makes `national` the committed national document, reading it again only when its stored
    /// version has changed since it was last read. Only acknowledged changes count: what the
    /// national document's own task holds in memory but has not committed is not stored yet.
    async fn refresh_national(&mut self) -> Result<(), storage::StorageError> {
        let cached = self.national.as_ref().map(|n| (n.id, n.version));
        let found = self
            .relay
            .db
            .call(move |c| {
                let Some((id, version)) = storage::national_doc(c)? else { return Ok(None) };
                if cached == Some((id, version)) {
                    return Ok(Some((id, version, None)));
                }
                Ok(storage::load_doc(c, &id)?.map(|s| (id, version, Some(s.bytes))))
            })
            .await?;
        let Some((id, version, bytes)) = found else {
            self.national = None;
            return Ok(());
        };
        let Some(bytes) = bytes else { return Ok(()) };
        // Loading and reading a whole document is CPU work: keep it off the async workers.
        let directory = tokio::task::spawn_blocking(move || -> Result<Directory, storage::StorageError> {
            let doc = Automerge::load(&bytes).map_err(|source| storage::StorageError::load(id, source))?;
            read_directory(&doc).map_err(|source| storage::StorageError::read(id, source))
        })
        .await
        .map_err(|e| storage::StorageError::Task(e.to_string()))??;
        self.national = Some(Arc::new(NationalCopy { id, version, directory }));
        Ok(())
    }

    /// Replaces the chunks with one snapshot once the incremental chunks outweigh the snapshot.
    async fn maybe_compact(&mut self) {
        let l = &self.stored;
        if l.incremental_bytes < 64 * 1024 || l.incremental_bytes < l.snapshot_bytes {
            return;
        }
        let Some(gate) = self.gate.take() else { return };
        let (gate, snapshot) = match tokio::task::spawn_blocking(move || {
            let snapshot = gate.sync().map(|s| s.save());
            (gate, snapshot)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(doc = %self.id, "saving a snapshot failed: {e}");
                let _ = self.load().await;
                return;
            }
        };
        self.gate = Some(gate);
        let Some(snapshot) = snapshot else { return };
        let size = snapshot.len();
        let (id, covered) = (self.id, self.stored.seqs.clone());
        match self.relay.db.call(move |c| storage::compact(c, &id, &snapshot, &covered)).await {
            Ok(Some(seq)) => {
                self.stored = Stored { snapshot_bytes: size, incremental_bytes: 0, seqs: vec![seq] };
            }
            // Another relay compacted the same chunks first: read the document as it left it.
            Ok(None) => {
                let _ = self.load().await;
            }
            Err(e) => tracing::warn!(doc = %id, "compaction failed (data is safe, retried later): {e}"),
        }
    }
}

/// Runs the gate over prepared commands, on the blocking pool. Stops early when the engine fails,
/// so that the rest run on the rebuilt document.
fn run_gate(
    mut gate: Gate,
    work: Vec<Prepared>,
    national: Option<&NationalCopy>,
    ids: &ContactIds,
    now_secs: i64,
    budget: usize,
) -> GateRun {
    let mut effects = Vec::new();
    let mut detached = Vec::new();
    let mut merged = Vec::new();
    let mut peers = Vec::new();
    let mut produced: HashMap<u64, usize> = HashMap::new();
    let mut cut: HashSet<u64> = HashSet::new();
    let mut work = work.into_iter();
    for item in work.by_ref() {
        match item {
            Prepared::Detach { conn } => {
                if let Some(state) = gate.detach(conn) {
                    detached.push((conn, state));
                }
            }
            Prepared::Refresh { chunks } => {
                for (seq, bytes) in chunks {
                    match gate.apply_stored(&bytes) {
                        Ok(out) => effects.extend(out),
                        Err(e) => tracing::error!(doc = %gate.id(), seq, "a stored chunk does not load: {e}"),
                    }
                    merged.push((seq, bytes.len()));
                }
            }
            Prepared::Sync { peer, request, data, stored_state, may_create } => {
                // A peer whose answers in this run already fill its outbox budget gets no more
                // work done for it: small messages asking for large answers cost it its
                // connection instead of the relay's CPU.
                let made = produced.get(&peer.conn).copied().unwrap_or(0);
                if made > budget {
                    if cut.insert(peer.conn) {
                        effects.push(Effect::Error {
                            conn: peer.conn,
                            message: TOO_SLOW.into(),
                            close: true,
                            refusal: Refusal::new(Reason::TooSlow),
                        });
                        if let Some(state) = gate.detach(peer.conn) {
                            detached.push((peer.conn, state));
                        }
                    }
                    peers.push((peer, false));
                    continue;
                }
                let input = SyncInput {
                    stored_state: stored_state.as_deref(),
                    national,
                    may_create,
                    contact_ids: ids,
                    now_secs,
                };
                let g = gate::Peer { conn: peer.conn, identity: peer.identity.clone() };
                let out = gate.on_sync(&g, request, &data, &input);
                for e in &out {
                    if let Effect::Send { conn, data } = e {
                        *produced.entry(*conn).or_insert(0) += data.len();
                    }
                }
                effects.extend(out);
                let attached = gate.has_peer(peer.conn) && !cut.contains(&peer.conn);
                peers.push((peer, attached));
                if gate.needs_rebuild() {
                    break;
                }
            }
        }
    }
    GateRun { gate, effects, detached, merged, rest: work.collect(), peers }
}

// ---------------------------------------------------------------------------------------------
// Connection tasks

/// A token bucket limiting how fast one connection may send.
struct RateLimit {
    tokens: f64,
    last: Instant,
    per_sec: f64,
    burst: f64,
}

impl RateLimit {
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Completes when `deadline` passes; never without one.
async fn until(deadline: Option<&mut std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match deadline {
        Some(d) => d.await,
        None => std::future::pending().await,
    }
}

/// Serves one authenticated WebSocket until it closes.
pub async fn serve_socket<T>(relay: Arc<Relay>, mut socket: WebSocket<T>, identity: Identity)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let conn_id = relay.next_id.fetch_add(1, Ordering::Relaxed);
    let identity = Arc::new(identity);
    let outbox = Outbox { mailbox: Arc::default(), budget: relay.limits.outbox_bytes };
    relay
        .lock_conns()
        .insert(conn_id, ConnEntry { device_id: identity.device_id, user_id: identity.user_id, kick: outbox.clone() });
    relay.stats.connections.fetch_add(1, Ordering::Relaxed);
    let mut conn = Connection::relay(
        relay.peer_id.clone(),
        PeerMetadata { storage_id: Some(relay.storage_id.clone()), is_ephemeral: false },
    );
    let mut peer_storage: Option<String> = None;
    let mut touched: HashSet<DocumentId> = HashSet::new();
    let mut rate = RateLimit {
        tokens: relay.limits.rate_burst,
        last: Instant::now(),
        per_sec: relay.limits.rate_per_sec,
        burst: relay.limits.rate_burst,
    };
    let mut ephemeral_rate = RateLimit {
        tokens: relay.limits.ephemeral_burst,
        last: Instant::now(),
        per_sec: relay.limits.ephemeral_per_sec,
        burst: relay.limits.ephemeral_burst,
    };
    // This connection's held requests, oldest first: when each one's time is up.
    let mut held_until: VecDeque<(Instant, DocumentId)> = VecDeque::new();
    // On the heap and dropped once the peer has joined: an open connection keeps no timer.
    let mut handshake_deadline = Some(Box::pin(tokio::time::sleep(relay.limits.handshake_timeout)));
    // The close frame's code, when it is not the plain close.
    let mut close_code: Option<(u16, String)> = None;

    let close_reason: String = 'conn: loop {
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut close: Option<String> = None;
        // What the relay has to say (a kick for revocation or rotation first of all) wins over a
        // frame that arrived at the same time.
        tokio::select! {
            biased;
            _ = until(handshake_deadline.as_mut()), if !conn.is_open() => {
                frames.push(Connection::refusal_frame("no join message within the handshake timeout", Refusal::new(Reason::JoinTimeout)));
                close = Some("handshake timeout".into());
                relay.metrics.handshake_failed("join_timeout");
            }
            out = outbox.recv() => {
                if let Some(o) = &out {
                    outbox.sent(o.size());
                }
                match out {
                    Some(Out::Sync { doc, data }) => frames.push(conn.sync_frame(doc, data, false)),
                    Some(Out::Unavailable { doc }) => frames.push(conn.unavailable_frame(doc)),
                    Some(Out::Ephemeral(m)) => {
                        frames.push(conn.ephemeral_frame(&m.sender_id, &m.session_id, m.count, m.doc, &m.data));
                    }
                    Some(Out::Error { message, close: c, refusal }) => {
                        frames.push(Message::Error { message: message.clone(), refusal }.encode());
                        if c { close = Some(message); }
                    }
                    Some(Out::GoingAway) => {
                        close_code = Some((1001, "the relay is restarting".to_owned()));
                        close = Some("the relay is shutting down".into());
                    }
                    None => close = Some("internal channel closed".into()),
                }
            },
            _ = tokio::time::sleep_until(held_until.front().map_or_else(Instant::now, |(t, _)| *t)), if !held_until.is_empty() => {
                // No writer created these documents in time: now they are unavailable.
                let now = Instant::now();
                while let Some(&(until, doc)) = held_until.front() {
                    if until > now {
                        break;
                    }
                    held_until.pop_front();
                    if relay.expire_held(conn_id, &doc) {
                        frames.push(conn.unavailable_frame(doc));
                    }
                }
            }
            msg = socket.next() => match msg {
                None => break 'conn "socket closed".into(),
                Some(Err(crate::ws::WsError::TooLong { size, max })) => {
                    // Said in words and with the close code for it (1009), so the peer knows it
                    // was the size, not the network.
                    frames.push(Connection::refusal_frame(&format!("message too large: {size} bytes or more, the limit is {max}"), Refusal::new(Reason::TooLarge)));
                    close_code = Some((1009, "message too large".to_owned()));
                    close = Some("message over the size limit".into());
                }
                Some(Err(e)) => break 'conn format!("socket error: {e}"),
                Some(Ok(WsMessage::Binary(bytes))) => {
                    relay.metrics.received(bytes.len());
                    if !rate.allow() {
                        frames.push(Connection::refusal_frame("too many messages; slow down and reconnect", Refusal::new(Reason::TooManyMessages)));
                        close = Some("rate limit exceeded".into());
                    } else {
                        for ev in conn.receive(&bytes) {
                            match ev {
                                Event::Send(f) => frames.push(f),
                                Event::Opened { peer_id, metadata } => {
                                    tracing::debug!(conn = conn_id, user = identity.user_id, device = identity.device_id, peer = %peer_id, "peer joined");
                                    peer_storage = metadata.storage_id.filter(|_| !metadata.is_ephemeral);
                                }
                                Event::Doc { document_id, request, data } => {
                                    // A document that is not loaded and that this message cannot
                                    // create is looked up first, so that requests for unknown
                                    // ids cost a lookup and no task.
                                    if !relay.is_loaded(&document_id) && (request || !identity.may_create()) {
                                        let known = relay.db.call(move |c| storage::doc_scope(c, &document_id)).await;
                                        // A members-only document this user may not read is
                                        // answered exactly as an unknown id.
                                        let readable = matches!(&known, Ok(Some((scope, false))) if identity.access(scope) != Access::None);
                                        if !readable {
                                            // A writer may be creating it right now (automerge-repo
                                            // peers ask for a document the moment they hear of it):
                                            // the request waits a little for that. Erased documents
                                            // and ones the user may not read wait too, so that the
                                            // answer's timing tells nothing.
                                            if request && known.is_ok() {
                                                let peer = PeerRef { conn: conn_id, identity: identity.clone(), storage_id: peer_storage.clone(), out: outbox.clone() };
                                                if relay.hold_request(document_id, peer, data) {
                                                    touched.insert(document_id);
                                                    held_until.push_back((Instant::now() + relay.limits.request_hold, document_id));
                                                    continue;
                                                }
                                            }
                                            frames.push(conn.unavailable_frame(document_id));
                                            continue;
                                        }
                                    }
                                    touched.insert(document_id);
                                    let peer = PeerRef { conn: conn_id, identity: identity.clone(), storage_id: peer_storage.clone(), out: outbox.clone() };
                                    relay.send_to_doc(document_id, DocCmd::Sync { peer, request, data });
                                }
                                Event::Unavailable { .. } => {}
                                Event::Ephemeral { document_id, session_id, count, data } => {
                                    // Best effort, as in automerge-repo: what is too large, too
                                    // frequent, or about a document that has no task (so no
                                    // peers) is dropped without an answer.
                                    if data.len() <= relay.limits.ephemeral_bytes
                                        && session_id.len() <= MAX_ID_BYTES
                                        && ephemeral_rate.allow()
                                    {
                                        let sender_id = conn.peer_id().unwrap_or_default().to_owned();
                                        let m = EphemeralMessage { doc: document_id, from: conn_id, sender_id, session_id, count, data };
                                        relay.send_if_loaded(&document_id, DocCmd::Ephemeral(Arc::new(m)));
                                    }
                                }
                                Event::PeerError { message: m, .. } => tracing::info!(conn = conn_id, user = identity.user_id, device = identity.device_id, "peer reported an error: {m}"),
                                Event::Left => close = Some("peer left".into()),
                                Event::Close(r) => close = Some(r),
                            }
                        }
                    }
                }
                Some(Ok(WsMessage::Text(_))) => {
                    frames.push(Connection::refusal_frame("text frames are not part of the protocol; send binary CBOR", Refusal::new(Reason::TextFrame)));
                    close = Some("text frame".into());
                }
                Some(Ok(WsMessage::Close(_))) => break 'conn "peer closed".into(),
                Some(Ok(_)) => {}
            },
        }
        for f in frames {
            relay.metrics.sent(f.len());
            // Boxed, so that the connection's task keeps no room for a write while it is idle.
            match Box::pin(tokio::time::timeout(relay.limits.write_timeout, socket.send(WsMessage::Binary(f)))).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break 'conn "send failed".into(),
                Err(_) => break 'conn "send timed out: the peer does not read".into(),
            }
        }
        if let Some(r) = close {
            break 'conn r;
        }
        if conn.is_open() {
            handshake_deadline = None;
        }
    };
    outbox.mailbox.close();
    let _ = Box::pin(tokio::time::timeout(Duration::from_secs(1), socket.send(WsMessage::Close(close_code)))).await;
    tracing::debug!(
        conn = conn_id,
        user = identity.user_id,
        device = identity.device_id,
        "connection closed: {close_reason}"
    );
    relay.drop_held(conn_id);
    {
        // Only loaded documents hold state for this connection; do not load others to detach.
        let docs = relay.lock_docs();
        for doc in touched {
            if let Some(h) = docs.get(&doc) {
                let _ = h.tx.send(DocCmd::Detach { conn: conn_id });
            }
        }
    }
    relay.lock_conns().remove(&conn_id);
    relay.stats.connections.fetch_sub(1, Ordering::Relaxed);
}
