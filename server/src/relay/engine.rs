//! The gate's runs on the blocking pool: loading an engine and running a batch through the gate.

use super::*;

/// A command with what was read from storage for it, ready for the gate.
pub(super) enum Prepared {
    Sync { peer: PeerRef, request: bool, data: Vec<u8>, stored_state: Option<Vec<u8>>, may_create: bool },
    Detach { conn: u64 },
    Refresh { chunks: Vec<(i64, Vec<u8>)> },
}

/// What one run of the gate over a batch produced.
pub(super) struct GateRun {
    pub(super) gate: Gate,
    pub(super) effects: Vec<Effect>,
    /// Sync states of peers that left: (connection, state).
    pub(super) detached: Vec<(u64, Vec<u8>)>,
    /// Stored chunks merged: (sequence number, size).
    pub(super) merged: Vec<(i64, usize)>,
    /// Commands not run because the engine failed before them; they run after the rebuild.
    pub(super) rest: Vec<Prepared>,
    /// The peers whose messages ran, and whether each is attached afterwards.
    pub(super) peers: Vec<(PeerRef, bool)>,
}

/// Loads stored bytes into an engine off the async workers; a panic is an error.
pub(super) async fn load_engine(id: DocumentId, bytes: Vec<u8>) -> Result<Automerge, storage::StorageError> {
    tokio::task::spawn_blocking(move || match std::panic::catch_unwind(|| Automerge::load(&bytes)) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(source)) => Err(storage::StorageError::load(id, source)),
        Err(_) => Err(storage::StorageError::Invalid(format!("loading stored document {id} panicked"))),
    })
    .await
    .map_err(|e| storage::StorageError::Task(e.to_string()))?
}

/// Runs the gate over prepared commands, on the blocking pool. Stops early when the engine fails,
/// so that the rest run on the rebuilt document.
pub(super) fn run_gate(
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
