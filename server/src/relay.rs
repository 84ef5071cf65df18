//! The relay's sync engine: one task per loaded document and one per WebSocket connection.
//!
//! A connection task owns the socket and the protocol [`Connection`] machine; it hands document
//! messages to the document's task together with the authenticated identity. A document task
//! owns the [`DocSync`], decides access from the identity and the document's scope, applies what
//! it may, commits a batch of changes to SQLite in one transaction (with the audit entry and the
//! author of every new change), and only then fans the resulting sync messages out. Documents
//! with no peers are unloaded after an idle period.
//!
//! The files: `limits` (what a peer may do), `outbox` (a connection's send queue), `doc` (the
//! document task), `engine` (the gate's runs on the blocking pool) and `conn` (the connection
//! task).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contactpoint_directory::Directory;
use contactpoint_directory::store::read_directory;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_protocol::connection::MAX_ID_BYTES;
use contactpoint_protocol::{
    Access, Bounds, Connection, DocSync, DocumentId, Event, Message, PeerMetadata, Reason, Refusal, Us,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::auth::Identity;
use crate::gate::{self, ContactIds, Effect, Gate, NationalCopy, SyncInput};
use crate::mailbox::Mailbox;
use crate::storage::{self, Db, Scope};
use crate::ws::{Message as WsMessage, WebSocket};

mod conn;
mod doc;
mod engine;
mod limits;
mod outbox;

pub use conn::serve_socket;
use doc::run_doc;
pub use limits::{DEFAULT_HANDSHAKE_TIMEOUT_SECS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_RATE_PER_SEC, Limits};
use outbox::{Out, Outbox};

/// What a peer cut off for not reading what was queued for it is told.
const TOO_SLOW: &str = "connection too slow; reconnect";
/// A connection as a document task knows it.
#[derive(Clone)]
pub(crate) struct PeerRef {
    conn: u64,
    identity: Arc<Identity>,
    /// The peer's storage id, shared by the connection and every document it syncs.
    storage_id: Option<Arc<str>>,
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
    /// Our peer id and storage id, as every connection greets with them.
    us: Arc<Us>,
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
            us: Arc::new(Us {
                id: peer_id,
                metadata: PeerMetadata { storage_id: Some(storage_id), is_ephemeral: false },
            }),
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
        self.us.metadata.storage_id.as_deref().unwrap_or_default()
    }

    /// The peer id the relay greets clients with.
    pub fn peer_id(&self) -> &str {
        &self.us.id
    }

    /// Messages queued for all connections and not yet written, and the bytes they hold.
    pub fn queued(&self) -> (usize, usize) {
        let conns = self.lock_conns();
        conns
            .values()
            .fold((0, 0), |(m, b), c| (m + c.kick.mailbox().len(), b + c.kick.mailbox().queued.load(Ordering::Relaxed)))
    }

    pub(crate) fn lock_docs(&self) -> std::sync::MutexGuard<'_, HashMap<DocumentId, DocHandle>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ConnEntry>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a command to a document's task, starting the task if the document is not loaded.
    fn send_to_doc(self: &Arc<Self>, doc: DocumentId, mut cmd: DocCmd) {
        // The command goes into the task's queue under the lock that loads the task, so that
        // whoever finds the document loaded finds the command that loaded it queued first: a
        // request held for a document being created (`hold_request`) then comes after the
        // creating writer's message, not before it.
        let mut docs = self.lock_docs();
        loop {
            if self.is_shutting_down() && !docs.contains_key(&doc) {
                // Shutting down: what a late connection sends is not acknowledged, so dropping
                // it loses nothing; the client sends it again after reconnecting.
                return;
            }
            let h = docs.entry(doc).or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                let generation = self.next_id.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(run_doc(self.clone(), doc, rx, generation));
                DocHandle { tx, generation }
            });
            match h.tx.send(cmd) {
                Ok(()) => return,
                Err(mpsc::error::SendError(c)) => {
                    // The task has ended and not yet removed its entry: a new one takes over.
                    cmd = c;
                    docs.remove(&doc);
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
