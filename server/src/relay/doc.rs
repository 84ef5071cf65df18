//! The document task: one per loaded document; it reads what a batch needs, runs the gate, commits, then fans out.

use super::engine::{Prepared, load_engine, run_gate};
use super::*;

mod compact;

use compact::Stored;

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
    /// Set when a commit failed and reading the document back failed too: the engine may hold
    /// changes that are not stored, so the task must end before it serves anyone from it.
    unsure: bool,
    /// What storage holds once a refresh after another relay's compaction has merged every
    /// stored chunk.
    restored: Option<Stored>,
}

/// Ends a document task that cannot serve: every waiting peer is told the document could not be
/// loaded (rather than left hanging), and the handle is removed so that the next message starts
/// a fresh task that reads storage again.
fn give_up(relay: &Relay, rx: &mut mpsc::UnboundedReceiver<DocCmd>, generation: u64) {
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
}

pub(super) async fn run_doc(
    relay: Arc<Relay>,
    id: DocumentId,
    mut rx: mpsc::UnboundedReceiver<DocCmd>,
    generation: u64,
) {
    relay.stats.loaded_docs.fetch_add(1, Ordering::Relaxed);
    let mut task = DocTask {
        relay: relay.clone(),
        id,
        gate: Some(Gate::unknown(id)),
        stored: Stored::default(),
        peers: HashMap::new(),
        national: None,
        awaiting_content: HashSet::new(),
        unsure: false,
        restored: None,
    };
    if let Err(e) = task.load().await {
        tracing::error!(doc = %id, "cannot load document: {e}");
        give_up(&relay, &mut rx, generation);
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
        if task.unsure {
            // What the engine holds may not be what is stored: end here, so that the next
            // message loads the document afresh.
            give_up(&relay, &mut rx, generation);
            return;
        }
    }
    task.save_all_states().await;
    relay.stats.loaded_docs.fetch_sub(1, Ordering::Relaxed);
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
                        Ok(new) => {
                            // Once merged, the copy is built from exactly these chunks.
                            self.restored = new.all.map(Stored::of);
                            out.push(Prepared::Refresh { chunks: new.chunks });
                        }
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
            // After another relay's compaction the copy holds every stored chunk, and the ones it
            // knew before are gone.
            if let Some(s) = self.restored.take() {
                self.stored = s;
            }
            for (conn, state) in run.detached {
                if let Some(p) = self.peers.remove(&conn)
                    && let Some(sid) = p.storage_id
                {
                    detached.push((self.id, p.identity.device_id, sid.to_string(), state));
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
                        self.unsure = self.load().await.is_err();
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
            // A whole document uploaded into an empty one is stored as it came, compressed (the
            // engine stores a document chunk for nothing else): it counts as a snapshot, or
            // compaction would save the same document again at once.
            let whole = matches!(appends.as_slice(), [a] if contactpoint_protocol::bounds::is_document_chunk(&a.bytes));
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
                        self.unsure = true;
                    }
                    return false;
                }
            };
            // These chunks are known: the database watcher sees them as new, and without this the
            // document would read every chunk back to apply its own changes again.
            self.stored.seqs.extend(seqs);
            *(if whole { &mut self.stored.snapshot_bytes } else { &mut self.stored.incremental_bytes }) += sizes;
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
                    detached.push((self.id, p.identity.device_id, sid.to_string(), state));
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
                states.push((self.id, p.identity.device_id, sid.to_string(), state));
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
}
