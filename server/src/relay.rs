//! The relay's sync engine: one task per loaded document and one per WebSocket connection.
//!
//! A connection task owns the socket and the protocol [`Connection`] machine; it hands document
//! messages to the document's task together with the authenticated identity. A document task
//! owns the [`DocSync`], decides access from the identity and the document's scope, applies what
//! it may, commits a batch of changes to SQLite in one transaction (with the audit entry and the
//! author of every new change), and only then fans the resulting sync messages out. Documents
//! with no peers are unloaded after an idle period.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use contactpoint_directory::store::read_directory;
use contactpoint_directory::{Directory, ValidationIssue, new_issues, validate_document_against};
use contactpoint_protocol::automerge::{Automerge, ChangeHash};
use contactpoint_protocol::{Access, Connection, DocSync, DocumentId, Event, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::auth::Identity;
use crate::storage::{self, Append, Db, Scope};

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
    /// Frames queued for one connection before it counts as too slow and is closed.
    pub outbox_frames: usize,
    /// How often revocations are looked for in the database.
    pub revocation_poll: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            rate_per_sec: 500.0,
            rate_burst: 2000.0,
            doc_idle: Duration::from_secs(30),
            outbox_frames: 4096,
            revocation_poll: Duration::from_millis(250),
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
    /// Send an `error`; close the connection when `close` is set.
    Error {
        message: String,
        close: bool,
    },
}

type Outbox = mpsc::Sender<Out>;

/// A connection as a document task knows it.
#[derive(Clone)]
struct PeerRef {
    conn: u64,
    identity: Arc<Identity>,
    storage_id: Option<String>,
    out: Outbox,
}

enum DocCmd {
    Sync {
        peer: PeerRef,
        request: bool,
        data: Vec<u8>,
    },
    Detach {
        conn: u64,
    },
    /// Another process (the admin CLI) stored chunks for this document: merge and pass them on.
    Refresh,
}

struct DocHandle {
    tx: mpsc::UnboundedSender<DocCmd>,
    generation: u64,
}

struct ConnEntry {
    device_id: i64,
    user_id: i64,
    kick: mpsc::Sender<String>,
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
    /// Public counters.
    pub stats: Stats,
}

impl Relay {
    /// Creates the relay over an open database.
    pub fn new(db: Db, limits: Limits) -> Result<Arc<Relay>, storage::StorageError> {
        let storage_id = db.with(storage::storage_id)?;
        let peer_id = format!("relay-{}", &storage_id[..8]);
        Ok(Arc::new(Relay {
            db,
            limits,
            storage_id,
            peer_id,
            docs: Mutex::new(HashMap::new()),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            stats: Stats::default(),
        }))
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

    fn lock_docs(&self) -> std::sync::MutexGuard<'_, HashMap<DocumentId, DocHandle>> {
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

    /// Closes every live connection of a device (after revocation).
    pub fn kick_device(&self, device_id: i64, reason: &str) -> usize {
        self.kick_where(|c| c.device_id == device_id, reason)
    }

    /// Closes every live connection of a user (after the user was disabled).
    pub fn kick_user(&self, user_id: i64, reason: &str) -> usize {
        self.kick_where(|c| c.user_id == user_id, reason)
    }

    fn kick_where(&self, pred: impl Fn(&ConnEntry) -> bool, reason: &str) -> usize {
        let conns = self.lock_conns();
        conns.values().filter(|c| pred(c)).filter(|c| c.kick.try_send(reason.to_owned()).is_ok()).count()
    }
}

/// Watches the database for what other processes (the admin CLI) change in the file: revoked
/// devices and disabled users lose their connections, and chunks stored for loaded documents are
/// merged and passed on to their peers.
pub async fn watch_database(relay: Arc<Relay>) {
    let mut since = storage::now_ms();
    let mut seq = relay.db.call(|c| storage::newest_seq(c)).await.unwrap_or(0);
    loop {
        tokio::time::sleep(relay.limits.revocation_poll).await;
        let from_seq = seq;
        match relay.db.call(move |c| storage::chunks_since(c, from_seq)).await {
            Ok((docs, newest)) => {
                seq = newest;
                let handles = relay.lock_docs();
                for d in docs.iter().filter_map(|d| d.parse::<DocumentId>().ok()) {
                    if let Some(h) = handles.get(&d) {
                        let _ = h.tx.send(DocCmd::Refresh);
                    }
                }
            }
            Err(e) => tracing::warn!("chunk check failed: {e}"),
        }
        let from = since;
        let found = relay.db.call(move |c| storage::revocations_since(c, from)).await;
        match found {
            Ok(rows) => {
                for (id, kind, at) in rows {
                    since = since.max(at + 1);
                    let n = if kind == "device" {
                        relay.kick_device(id, "this device has been signed out by an administrator")
                    } else {
                        relay.kick_user(id, "this account has been disabled by an administrator")
                    };
                    if n > 0 {
                        tracing::info!(kind, id, connections = n, "closed connections after revocation");
                    }
                }
            }
            Err(e) => tracing::warn!("revocation check failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Document tasks

/// Records an audit entry for a refusal without holding up the document: nothing depends on it
/// being stored before the next message.
fn audit_later(db: &Db, entry: storage::AuditEntry) {
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(e) = db.call(move |c| storage::insert_audit(c, &entry)).await {
            tracing::warn!("could not record an audit entry: {e}");
        }
    });
}

struct Loaded {
    scope: Scope,
    sync: DocSync<u64>,
    snapshot_bytes: usize,
    incremental_bytes: usize,
    /// The stored chunks this copy contains; compaction replaces exactly these.
    seqs: Vec<i64>,
}

/// The national document as a document task last read it from storage, to check the local
/// overrides of guidance cards in area documents.
struct NationalCopy {
    id: DocumentId,
    /// The stored version it was read at (`storage::national_doc`).
    version: i64,
    directory: Directory,
}

/// The problems a document had at some heads, measured against some version of the national
/// document. A write is refused only for problems that are not among these.
struct KnownIssues {
    heads: Vec<ChangeHash>,
    national: Option<(DocumentId, i64)>,
    issues: Vec<ValidationIssue>,
}

struct DocTask {
    relay: Arc<Relay>,
    id: DocumentId,
    /// `None` while the document is unknown to the relay (not in the database).
    loaded: Option<Loaded>,
    tombstoned: bool,
    peers: HashMap<u64, PeerRef>,
    /// Connections already told that their writes are refused, so they are told once.
    warned: HashSet<u64>,
    /// Read when a writer's message carries changes to a catalogued document other than the
    /// national one; `None` when there is no national document.
    national: Option<NationalCopy>,
    /// The problems of the document as it was before the last validated write (or after it, when
    /// it was accepted), so that they are not worked out again for every write.
    known_issues: Option<KnownIssues>,
}

async fn run_doc(relay: Arc<Relay>, id: DocumentId, mut rx: mpsc::UnboundedReceiver<DocCmd>, generation: u64) {
    relay.stats.loaded_docs.fetch_add(1, Ordering::Relaxed);
    let mut task = DocTask {
        relay: relay.clone(),
        id,
        loaded: None,
        tombstoned: false,
        peers: HashMap::new(),
        warned: HashSet::new(),
        national: None,
        known_issues: None,
    };
    if let Err(e) = task.load().await {
        tracing::error!(doc = %id, "cannot load document: {e}");
        // Answer every waiting peer rather than leaving it hanging; the next message retries.
        while let Ok(cmd) = rx.try_recv() {
            if let DocCmd::Sync { peer, .. } = cmd {
                let _ = peer
                    .out
                    .try_send(Out::Error { message: "the relay could not load this document".into(), close: true });
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
        task.process(batch).await;
    }
    task.save_all_states().await;
    relay.stats.loaded_docs.fetch_sub(1, Ordering::Relaxed);
}

impl DocTask {
    async fn load(&mut self) -> Result<(), storage::StorageError> {
        let id = self.id;
        let stored = self.relay.db.call(move |c| storage::load_doc(c, &id)).await?;
        self.loaded = None;
        self.tombstoned = false;
        if let Some(s) = stored {
            self.tombstoned = s.tombstoned;
            let sync = match std::panic::catch_unwind(|| DocSync::load(&s.bytes)) {
                Ok(Ok(d)) => d,
                Ok(Err(e)) => {
                    return Err(storage::StorageError::Invalid(format!("stored document {id} is corrupt: {e}")));
                }
                Err(_) => return Err(storage::StorageError::Invalid(format!("loading stored document {id} panicked"))),
            };
            self.loaded = Some(Loaded {
                scope: s.scope,
                sync,
                snapshot_bytes: s.snapshot_bytes,
                incremental_bytes: s.incremental_bytes,
                seqs: s.seqs,
            });
        }
        Ok(())
    }

    async fn process(&mut self, batch: Vec<DocCmd>) {
        let mut appends: Vec<Append> = Vec::new();
        let mut outgoing: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut writers: Vec<PeerRef> = Vec::new();
        let mut created: Option<Scope> = None;
        let mut detached: Vec<(u64, Option<String>, Option<Vec<u8>>)> = Vec::new();
        for cmd in batch {
            match cmd {
                DocCmd::Detach { conn } => {
                    self.warned.remove(&conn);
                    if let Some(p) = self.peers.remove(&conn) {
                        let state = self.loaded.as_mut().and_then(|l| l.sync.remove_peer(&conn));
                        detached.push((conn, p.storage_id, state));
                    }
                }
                DocCmd::Sync { peer, request, data } => {
                    self.on_sync(peer, request, data, &mut appends, &mut outgoing, &mut writers, &mut created).await;
                }
                DocCmd::Refresh => self.refresh(&mut outgoing).await,
            }
        }
        if !appends.is_empty() || created.is_some() {
            let id = self.id;
            let create = created.clone();
            let n = appends.len() as u64;
            let commit = self
                .relay
                .db
                .call(move |c| storage::append_batch(c, &appends, create.as_ref().map(|s| (&id, s))))
                .await;
            if let Err(e) = commit {
                // Nothing may be acknowledged that is not stored: drop the in-memory changes
                // by reloading, and tell the writers to try again later.
                tracing::error!(doc = %self.id, "commit failed, changes not acknowledged: {e}");
                for w in &writers {
                    let _ = w.out.try_send(Out::Error {
                        message: "the relay could not store your changes; try again".into(),
                        close: true,
                    });
                }
                let peers = std::mem::take(&mut self.peers);
                if let Err(e) = self.load().await {
                    tracing::error!(doc = %self.id, "reload after failed commit failed: {e}");
                }
                for (_, p) in peers {
                    let _ = p.out.try_send(Out::Error {
                        message: "the relay had a storage problem; reconnect".into(),
                        close: true,
                    });
                }
                return;
            }
            self.relay.stats.writes.fetch_add(n, Ordering::Relaxed);
        }
        for (conn, data) in outgoing {
            if let Some(p) = self.peers.get(&conn)
                && p.out.try_send(Out::Sync { doc: self.id, data }).is_err()
            {
                // The connection is gone or hopelessly behind; it will resync when it returns.
                let _ = p.out.try_send(Out::Error { message: "connection too slow".into(), close: true });
                detached.push((
                    conn,
                    p.storage_id.clone(),
                    self.loaded.as_mut().and_then(|l| l.sync.remove_peer(&conn)),
                ));
                self.peers.remove(&conn);
            }
        }
        self.save_states(detached).await;
        self.maybe_compact().await;
    }

    #[allow(clippy::too_many_arguments)]
    async fn on_sync(
        &mut self,
        peer: PeerRef,
        request: bool,
        data: Vec<u8>,
        appends: &mut Vec<Append>,
        outgoing: &mut Vec<(u64, Vec<u8>)>,
        writers: &mut Vec<PeerRef>,
        created: &mut Option<Scope>,
    ) {
        if self.tombstoned {
            let _ = peer.out.try_send(Out::Unavailable { doc: self.id });
            return;
        }
        if self.loaded.is_none() {
            // An unknown document: a `request` learns nothing; a `sync` from a peer allowed to
            // create documents creates it; anyone else learns nothing either.
            if request || !peer.identity.may_create() {
                let _ = peer.out.try_send(Out::Unavailable { doc: self.id });
                return;
            }
            self.loaded = Some(Loaded {
                scope: Scope::Unlisted,
                sync: DocSync::new(Automerge::new()),
                snapshot_bytes: 0,
                incremental_bytes: 0,
                seqs: Vec::new(),
            });
            *created = Some(Scope::Unlisted);
            tracing::info!(doc = %self.id, user = peer.identity.user_id, "document created through sync");
        }
        // A writer's changes to a catalogued document are checked against the committed national
        // document (for local overrides of its cards), read here, before the changes are applied.
        let checked_write = self.loaded.as_ref().is_some_and(|l| {
            !matches!(l.scope, Scope::Unlisted)
                && peer.identity.access(&l.scope) == Access::Write
                && contactpoint_protocol::doc_sync::carries_changes(&data)
        });
        let national_needed = checked_write && self.loaded.as_ref().is_some_and(|l| l.scope != Scope::National);
        if national_needed && let Err(e) = self.refresh_national().await {
            tracing::error!(doc = %self.id, "could not read the national document to check a write: {e}");
            let _ = peer.out.try_send(Out::Error {
                message: "the relay could not check your changes; try again".into(),
                close: true,
            });
            return;
        }
        let Some(loaded) = self.loaded.as_mut() else { return };
        let access = peer.identity.access(&loaded.scope);
        if access == Access::None {
            let _ = peer.out.try_send(Out::Unavailable { doc: self.id });
            return;
        }
        if !loaded.sync.has_peer(&peer.conn) {
            let stored = match &peer.storage_id {
                Some(sid) => {
                    let (id, sid) = (self.id, sid.clone());
                    self.relay.db.call(move |c| storage::load_sync_state(c, &id, &sid)).await.unwrap_or_else(|e| {
                        tracing::warn!("could not load sync state: {e}");
                        None
                    })
                }
                None => None,
            };
            loaded.sync.add_peer(peer.conn, access, stored.as_deref());
            self.peers.insert(peer.conn, peer.clone());
        }
        let had_doc = !loaded.sync.heads().is_empty();
        // A catalogued document that is a directory (it declares its kind) must stay valid: a
        // writer's changes are applied to a fork and refused when the result has a problem that
        // the document did not have before. Older problems (data from before a rule existed, or
        // a local override that a newer national document makes incomplete) do not block writes.
        let was_directory = contactpoint_directory::store::document_kind(loaded.sync.doc()).is_some();
        let national = self.national.as_ref().filter(|_| loaded.scope != Scope::National);
        let national_key = national.map(|n| (n.id, n.version));
        let national_dir = national.map(|n| &n.directory);
        let known_issues = &mut self.known_issues;
        // What the validator found in a candidate it accepted, to keep as the document's problems.
        let accepted: RefCell<Option<KnownIssues>> = RefCell::new(None);
        // Only catalogued documents hold directory content; an admin's unlisted document is not
        // checked (and does not pay for the fork).
        let checked = !matches!(loaded.scope, Scope::Unlisted);
        let before = loaded.sync.heads();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            // The problems before the write, worked out only for a message that will be validated.
            let known: &[ValidationIssue] = if checked_write {
                let current = known_issues.as_ref().is_some_and(|k| k.heads == before && k.national == national_key);
                if !current {
                    *known_issues = Some(KnownIssues {
                        heads: before.clone(),
                        national: national_key,
                        issues: validate_document_against(loaded.sync.doc(), national_dir),
                    });
                }
                known_issues.as_ref().map_or(&[], |k| k.issues.as_slice())
            } else {
                &[]
            };
            let validator = |candidate: &Automerge, _: &[ChangeHash]| -> Result<(), String> {
                if !was_directory && contactpoint_directory::store::document_kind(candidate).is_none() {
                    return Ok(());
                }
                let issues = validate_document_against(candidate, national_dir);
                let added = new_issues(known, &issues);
                match added.first() {
                    None => {
                        accepted.replace(Some(KnownIssues {
                            heads: candidate.get_heads(),
                            national: national_key,
                            issues,
                        }));
                        Ok(())
                    }
                    Some(first) if added.len() == 1 => Err(format!("{}: {}", first.path, first.message)),
                    Some(first) => {
                        Err(format!("{}: {} (and {} more problems)", first.path, first.message, added.len() - 1))
                    }
                }
            };
            loaded.sync.receive_validated(&peer.conn, &data, checked.then_some(&validator as &_))
        }));
        if let (Ok(Ok(_)), Some(k)) = (&result, accepted.into_inner()) {
            // The candidate is now the document.
            self.known_issues = Some(k);
        }
        match result {
            Ok(Ok(r)) => {
                if r.write_refused {
                    self.relay.stats.refused.fetch_add(1, Ordering::Relaxed);
                    if self.warned.insert(peer.conn) {
                        tracing::warn!(doc = %self.id, user = peer.identity.user_id, device = peer.identity.device_id, "write refused: read-only access");
                        audit_later(
                            &self.relay.db,
                            peer.identity.audit(
                                Some(self.id.to_string()),
                                "sync.refused",
                                "write without write access".into(),
                            ),
                        );
                        let _ = peer.out.try_send(Out::Error {
                            message: format!(
                                "you may read but not change document {}; your changes were not accepted",
                                self.id
                            ),
                            close: false,
                        });
                    }
                }
                if let Some(bytes) = r.new_changes {
                    loaded.incremental_bytes += bytes.len();
                    // The changes this message added, each recorded with who sent it.
                    let hashes: Vec<_> =
                        loaded.sync.doc().get_changes_meta(&before).into_iter().map(|m| m.hash).collect();
                    let detail = match hashes.as_slice() {
                        [] => format!("{} bytes", bytes.len()),
                        [one] => format!("{} bytes, 1 change {one}", bytes.len()),
                        [first, ..] => format!("{} bytes, {} changes, first {first}", bytes.len(), hashes.len()),
                    };
                    appends.push(Append {
                        doc: self.id,
                        bytes,
                        audit: peer.identity.audit(Some(self.id.to_string()), "sync.write", detail),
                        authors: Some(storage::Authorship {
                            user_id: peer.identity.user_id,
                            device_id: peer.identity.device_id,
                            accepted_at: storage::now_ms() / 1000,
                            hashes,
                        }),
                    });
                    writers.push(peer.clone());
                }
                outgoing.extend(r.outgoing);
                if request && !had_doc && loaded.sync.heads().is_empty() {
                    // Neither side has anything: say so, as automerge-repo expects.
                    let _ = peer.out.try_send(Out::Unavailable { doc: self.id });
                }
            }
            Ok(Err(e)) => {
                self.relay.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(doc = %self.id, user = peer.identity.user_id, "sync message refused: {e}");
                audit_later(
                    &self.relay.db,
                    peer.identity.audit(Some(self.id.to_string()), "sync.rejected", e.to_string()),
                );
                let _ = peer.out.try_send(Out::Error { message: format!("document {}: {e}", self.id), close: true });
            }
            Err(_) => {
                self.relay.stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::error!(doc = %self.id, user = peer.identity.user_id, "Automerge panicked on a peer's message; reloading the document");
                let _ = peer.out.try_send(Out::Error {
                    message: format!("document {}: the relay could not process your data", self.id),
                    close: true,
                });
                // The in-memory document may be inconsistent: rebuild it from storage, which
                // holds only committed, acknowledged changes. Peers reattach on their next message.
                appends.clear();
                outgoing.clear();
                for (_, p) in std::mem::take(&mut self.peers) {
                    if p.conn != peer.conn {
                        let _ = p.out.try_send(Out::Error {
                            message: "the relay restarted this document; reconnect".into(),
                            close: true,
                        });
                    }
                }
                if let Err(e) = self.load().await {
                    tracing::error!(doc = %self.id, "reload failed: {e}");
                }
            }
        }
    }

    async fn save_states(&self, detached: Vec<(u64, Option<String>, Option<Vec<u8>>)>) {
        let states: Vec<_> = detached.into_iter().filter_map(|(_, sid, st)| Some((self.id, sid?, st?))).collect();
        if states.is_empty() {
            return;
        }
        if let Err(e) = self.relay.db.call(move |c| storage::save_sync_states(c, &states)).await {
            tracing::warn!(doc = %self.id, "could not save sync states: {e}");
        }
    }

    async fn save_all_states(&mut self) {
        let conns: Vec<u64> = self.peers.keys().copied().collect();
        let detached = conns
            .into_iter()
            .filter_map(|c| {
                let p = self.peers.remove(&c)?;
                Some((c, p.storage_id, self.loaded.as_mut().and_then(|l| l.sync.remove_peer(&c))))
            })
            .collect();
        self.save_states(detached).await;
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
        let directory = tokio::task::spawn_blocking(move || -> Result<Directory, String> {
            let doc = Automerge::load(&bytes).map_err(|e| e.to_string())?;
            read_directory(&doc).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| storage::StorageError::Task(e.to_string()))?
        .map_err(|e| storage::StorageError::Invalid(format!("the national document {id} does not read: {e}")))?;
        self.national = Some(NationalCopy { id, version, directory });
        Ok(())
    }

    /// Merges chunks that another process stored for this document.
    async fn refresh(&mut self, outgoing: &mut Vec<(u64, Vec<u8>)>) {
        let Some(l) = self.loaded.as_mut() else { return };
        let (id, known) = (self.id, l.seqs.clone());
        let chunks = match self.relay.db.call(move |c| storage::unknown_chunks(c, &id, &known)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(doc = %id, "could not read new chunks: {e}");
                return;
            }
        };
        for (seq, bytes) in chunks {
            match l.sync.apply_stored(&bytes) {
                Ok(out) => outgoing.extend(out),
                Err(e) => tracing::error!(doc = %id, seq, "a stored chunk does not load: {e}"),
            }
            l.incremental_bytes += bytes.len();
            l.seqs.push(seq);
        }
    }

    /// Replaces the chunks with one snapshot once the incremental chunks outweigh the snapshot.
    async fn maybe_compact(&mut self) {
        let Some(l) = self.loaded.as_mut() else { return };
        if l.incremental_bytes < 64 * 1024 || l.incremental_bytes < l.snapshot_bytes {
            return;
        }
        let snapshot = l.sync.save();
        let size = snapshot.len();
        let (id, covered) = (self.id, l.seqs.clone());
        match self.relay.db.call(move |c| storage::compact(c, &id, &snapshot, &covered)).await {
            Ok(seq) => {
                l.snapshot_bytes = size;
                l.incremental_bytes = 0;
                l.seqs = vec![seq];
            }
            Err(e) => tracing::warn!(doc = %id, "compaction failed (data is safe, retried later): {e}"),
        }
    }
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

/// Serves one authenticated WebSocket until it closes.
pub async fn serve_socket(relay: Arc<Relay>, socket: WebSocket, identity: Identity) {
    let conn_id = relay.next_id.fetch_add(1, Ordering::Relaxed);
    let identity = Arc::new(identity);
    let (kick_tx, mut kick_rx) = mpsc::channel::<String>(1);
    relay
        .lock_conns()
        .insert(conn_id, ConnEntry { device_id: identity.device_id, user_id: identity.user_id, kick: kick_tx });
    relay.stats.connections.fetch_add(1, Ordering::Relaxed);
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(relay.limits.outbox_frames);
    let mut conn = Connection::relay(
        relay.peer_id.clone(),
        PeerMetadata { storage_id: Some(relay.storage_id.clone()), is_ephemeral: false },
    );
    let (mut sink, mut stream) = socket.split();
    let mut peer_storage: Option<String> = None;
    let mut touched: HashSet<DocumentId> = HashSet::new();
    let mut rate = RateLimit {
        tokens: relay.limits.rate_burst,
        last: Instant::now(),
        per_sec: relay.limits.rate_per_sec,
        burst: relay.limits.rate_burst,
    };
    let handshake_deadline = tokio::time::sleep(relay.limits.handshake_timeout);
    tokio::pin!(handshake_deadline);

    let close_reason: String = 'conn: loop {
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut close: Option<String> = None;
        tokio::select! {
            _ = &mut handshake_deadline, if !conn.is_open() => {
                frames.push(Connection::error_frame("no join message within the handshake timeout"));
                close = Some("handshake timeout".into());
            }
            reason = kick_rx.recv() => {
                let reason = reason.unwrap_or_else(|| "closed by the relay".into());
                frames.push(Connection::error_frame(&reason));
                close = Some(reason);
            }
            out = out_rx.recv() => match out {
                Some(Out::Sync { doc, data }) => frames.push(conn.sync_frame(doc, data, false)),
                Some(Out::Unavailable { doc }) => frames.push(conn.unavailable_frame(doc)),
                Some(Out::Error { message, close: c }) => {
                    frames.push(Connection::error_frame(&message));
                    if c { close = Some(message); }
                }
                None => close = Some("internal channel closed".into()),
            },
            msg = stream.next() => match msg {
                None => break 'conn "socket closed".into(),
                Some(Err(e)) => break 'conn format!("socket error: {e}"),
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if !rate.allow() {
                        frames.push(Connection::error_frame("too many messages; slow down and reconnect"));
                        close = Some("rate limit exceeded".into());
                    } else {
                        for ev in conn.receive(&bytes) {
                            match ev {
                                Event::Send(f) => frames.push(f),
                                Event::Opened { peer_id, metadata } => {
                                    tracing::debug!(conn = conn_id, peer = %peer_id, user = identity.user_id, "peer joined");
                                    peer_storage = metadata.storage_id.filter(|_| !metadata.is_ephemeral);
                                }
                                Event::Doc { document_id, request, data } => {
                                    touched.insert(document_id);
                                    let peer = PeerRef { conn: conn_id, identity: identity.clone(), storage_id: peer_storage.clone(), out: out_tx.clone() };
                                    relay.send_to_doc(document_id, DocCmd::Sync { peer, request, data });
                                }
                                Event::Unavailable { .. } => {}
                                Event::PeerError(m) => tracing::info!(conn = conn_id, "peer reported an error: {m}"),
                                Event::Left => close = Some("peer left".into()),
                                Event::Close(r) => close = Some(r),
                            }
                        }
                    }
                }
                Some(Ok(WsMessage::Text(_))) => {
                    frames.push(Connection::error_frame("text frames are not part of the protocol; send binary CBOR"));
                    close = Some("text frame".into());
                }
                Some(Ok(WsMessage::Close(_))) => break 'conn "peer closed".into(),
                Some(Ok(_)) => {}
            },
        }
        for f in frames {
            if sink.send(WsMessage::Binary(f.into())).await.is_err() {
                break 'conn "send failed".into();
            }
        }
        if let Some(r) = close {
            break 'conn r;
        }
    };
    let _ = sink.send(WsMessage::Close(None)).await;
    tracing::debug!(conn = conn_id, user = identity.user_id, "connection closed: {close_reason}");
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
