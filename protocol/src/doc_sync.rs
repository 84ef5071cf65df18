//! One document synchronised with many peers: the Automerge sync engine behind both the relay
//! (many peers per document) and a client (one peer, the relay).
//!
//! The caller owns all I/O. Every call returns what to store and what to send, in that order:
//! bytes in [`Received::new_changes`] must be durably stored before any message in
//! [`Received::outgoing`] is sent, because an outgoing sync message acknowledges the changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::bounds::{self, Bounds};

/// What a peer may do with a document. Decided by the caller (the relay's access rules), never by
/// anything the peer says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// The peer may not learn that the document exists.
    None,
    /// The peer receives changes; its own changes are never applied.
    Read,
    /// The peer's changes are applied (after validation, where the caller validates).
    Write,
}

/// Why a sync message was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SyncError {
    /// The sync message itself is not decodable.
    #[error("corrupt sync message: {0}")]
    Decode(String),
    /// The message decoded, but its changes could not be applied (corrupt change chunk).
    #[error("could not apply changes: {0}")]
    Apply(String),
    /// The caller's validation refused the resulting document.
    #[error("change refused: {0}")]
    Rejected(String),
    /// The peer was never added to this document.
    #[error("peer is not attached to this document")]
    UnknownPeer,
    /// Stored bytes could not be loaded.
    #[error("corrupt document data: {0}")]
    Load(String),
    /// The engine failed partway through (it panicked on unexpected data); the document must be
    /// rebuilt from storage before it is used again.
    #[error("the sync engine failed: {0}")]
    Engine(String),
    /// The message asks more of the engine than any honest peer does (see [`Bounds`]).
    #[error("sync message over the limits: {0}")]
    Bounds(String),
}

/// The result of receiving one sync message.
#[derive(Debug, Default)]
pub struct Received<P> {
    /// The changes this message added, as one incremental chunk to append to storage. Store it
    /// durably before sending `outgoing`.
    pub new_changes: Option<Vec<u8>>,
    /// The peer has changes of its own but only read access: they were not applied.
    pub write_refused: bool,
    /// Sync messages to send, one per peer that has something to hear.
    pub outgoing: Vec<(P, Vec<u8>)>,
}

/// A peer's sync state and access. Peers in the same state share one copy of it
/// ([`Arc::make_mut`] copies it before it changes): idle readers of a document are nearly all in
/// the state the last edit left them in, and a state is a dozen allocations (heads, Bloom filter,
/// the hashes sent) that each of thousands of devices would otherwise hold on its own.
struct PeerSync {
    state: Arc<sync::State>,
    access: Access,
}

/// A document and the sync state of every peer attached to it.
pub struct DocSync<P> {
    doc: Automerge,
    peers: BTreeMap<P, PeerSync>,
    bounds: Bounds,
    snapshot: Snapshot,
    /// How many messages [`DocSync::generate_all`] made, rather than copied from a peer in the
    /// same state.
    messages_made: usize,
    replies: Replies,
}

/// The message made for peers in one state, and the state it leaves them in.
type Made = (Option<Vec<u8>>, Arc<sync::State>);

/// Whether messages are shared between peers in the same state ([`DocSync::generate_all`],
/// [`Replies`]). A client has one peer, the relay, and nothing to share: in the browser the code is
/// left out, which keeps the app's download two kilobytes smaller.
const SHARE_ACROSS_PEERS: bool = cfg!(not(target_arch = "wasm32"));

/// How many answers [`Replies`] keeps: more distinct states at one moment are rare.
const REPLIES_KEPT: usize = 64;

/// The largest message, and the largest reply, [`Replies`] keeps. An acknowledgement is a few
/// hundred bytes (heads and a Bloom filter); with both capped, a peer sending many different
/// messages can pin at most 64 × (two states and 8 KB) per document until the next change.
const REPLY_BYTES: usize = 4 * 1024;

/// Answers to messages that carry no changes, kept while the document's heads stay the same.
///
/// After an edit every reader acknowledges it; readers that were in the same state send the same
/// message and, since receiving one depends only on the document, the state and the message, end
/// in the same state with the same reply. Automerge then receives the message once, not once per
/// reader.
#[derive(Default)]
struct Replies {
    heads: Vec<ChangeHash>,
    answers: HashMap<(Arc<sync::State>, Access, Vec<u8>), Answer>,
    /// How many messages without changes Automerge received, rather than answered from here.
    received: usize,
}

#[derive(Clone)]
struct Answer {
    state: Arc<sync::State>,
    write_refused: bool,
    reply: Option<Vec<u8>>,
}

/// Below this many bytes of missing changes a compressed snapshot is never worth computing.
const SNAPSHOT_WORTH_CHECKING: usize = 8 * 1024;

/// The document's compressed snapshot, kept while the heads it was made at are current: a relay
/// that sends a lagging peer the snapshot usually has more such peers at the same moment.
#[derive(Default)]
struct Snapshot {
    heads: Vec<ChangeHash>,
    bytes: Option<Vec<u8>>,
    /// How many times it was made (the document saved and compressed).
    made: usize,
}

impl Snapshot {
    fn get(&mut self, doc: &Automerge) -> &[u8] {
        let heads = doc.get_heads();
        if self.bytes.is_none() || self.heads != heads {
            self.bytes = Some(doc.save());
            self.heads = heads;
            self.made += 1;
        }
        self.bytes.as_deref().unwrap_or_default()
    }
}

/// The next sync message for one peer: only the changes it lacks, unless the document's compressed
/// snapshot is clearly smaller.
///
/// Automerge on its own sends the whole document whenever the missing changes are more than a
/// third of the document's change count. A document made in one large change (the seed, an import)
/// and then edited hits that on every edit for every peer: one field's edit cost the whole
/// document. Here the choice is made by bytes. A peer that has nothing still gets the snapshot
/// (Automerge's own path for empty peers), and a peer that lacks most of a document built from
/// many small changes gets it too, because there the snapshot is what is smaller.
///
/// A peer whose changes are never applied here, and that understands being told so, gets no
/// Bloom filter of what we have: it only serves a peer working out which of its changes to send.
fn next_message(doc: &Automerge, state: &mut sync::State, snapshot: &mut Snapshot) -> Option<sync::Message> {
    let mut message = changes_or_snapshot(doc, state, snapshot)?;
    if state.read_only && knows_read_only(state) {
        message.have.clear();
    }
    Some(message)
}

/// Whether the peer honours the read-only flag: peers that send the flag bitfield (they
/// advertise sync resets, from the same version) do, and send a read-only peer no changes.
fn knows_read_only(state: &sync::State) -> bool {
    state.their_capabilities.as_ref().is_some_and(|c| c.contains(&sync::Capability::SyncReset))
}

fn changes_or_snapshot(doc: &Automerge, state: &mut sync::State, snapshot: &mut Snapshot) -> Option<sync::Message> {
    let has_nothing = state.their_heads.as_ref().is_some_and(|h| h.is_empty());
    let caps = state.their_capabilities.clone();
    let v2 = caps.as_ref().is_some_and(|c| c.contains(&sync::Capability::MessageV2));
    if !v2 {
        return doc.generate_sync_message(state);
    }
    if has_nothing {
        // Automerge would save (and compress) the whole document once for every such peer; a
        // hundred phones opening a document at once all get the one kept copy instead. Without
        // what the peer has, Automerge builds the rest of the message (heads, flags, the state's
        // bookkeeping) and no changes; the snapshot goes in their place, as Automerge's would.
        let have = state.their_have.take();
        let message = doc.generate_sync_message(state);
        state.their_have = have;
        let mut message = message?;
        if !doc.get_heads().is_empty() {
            message.changes = sync::ChunkList::from(snapshot.get(doc).to_vec());
            message.version = sync::MessageVersion::V2;
        }
        return Some(message);
    }
    // Without the capability Automerge takes the change path; it is restored straight after.
    state.their_capabilities =
        caps.as_ref().map(|c| c.iter().filter(|c| **c != sync::Capability::MessageV2).cloned().collect());
    let message = doc.generate_sync_message(state);
    state.their_capabilities = caps;
    let mut message = message?;
    let missing: usize = message.changes.iter().map(<[u8]>::len).sum();
    if missing > SNAPSHOT_WORTH_CHECKING {
        let whole = snapshot.get(doc);
        // Only clearly smaller: a snapshot also carries what the peer has.
        if whole.len() < missing / 4 * 3 {
            message.changes = sync::ChunkList::from(whole.to_vec());
            message.version = sync::MessageVersion::V2;
        }
    }
    Some(message)
}

/// Validates a candidate document (the result of applying a peer's changes) given the heads
/// before the changes. Returning `Err` discards the changes.
pub type Validator<'a> = dyn Fn(&Automerge, &[ChangeHash]) -> Result<(), String> + 'a;

/// What a received message added, worked out without Automerge's change export, which walks the
/// whole document: the chunks that came are stored as they came when they are exactly what is new.
enum Added {
    /// Nothing known: ask Automerge.
    Unknown,
    /// The message's change chunks that the document lacked, and how many changes it had before.
    Chunks { count_before: u64, chunks: Vec<(ChangeHash, Vec<u8>)> },
    /// The whole document, taken from one chunk into an empty document.
    Whole(Vec<u8>),
}

impl Added {
    /// Notes which of a message's change chunks the document lacks, before they are applied.
    fn before(doc: &Automerge, chunks: Vec<(ChangeHash, Vec<u8>)>) -> Added {
        let mut seen = std::collections::HashSet::new();
        let chunks: Vec<_> =
            chunks.into_iter().filter(|(h, _)| doc.get_change_meta_by_hash(h).is_none() && seen.insert(*h)).collect();
        Added::Chunks { count_before: doc.stats().num_changes, chunks }
    }

    /// The bytes to store for what the document gained since `before`. Chunks are used only when
    /// the changes applied are all theirs: a change that waited for a dependency in Automerge's
    /// queue (from an earlier message) and went in with them is not among them.
    fn since(self, doc: &Automerge, before: &[ChangeHash]) -> Option<Vec<u8>> {
        if doc.get_heads() == before {
            return None;
        }
        match self {
            Added::Whole(bytes) => Some(bytes),
            Added::Chunks { count_before, chunks } => {
                let applied: Vec<_> =
                    chunks.into_iter().filter(|(h, _)| doc.get_change_meta_by_hash(h).is_some()).collect();
                if applied.is_empty() || applied.len() as u64 != doc.stats().num_changes.saturating_sub(count_before) {
                    return changes_after(doc, before);
                }
                Some(applied.into_iter().flat_map(|(_, bytes)| bytes).collect())
            }
            Added::Unknown => changes_after(doc, before),
        }
    }
}

/// Automerge's export of the changes since `before` (nothing when there are none).
fn changes_after(doc: &Automerge, before: &[ChangeHash]) -> Option<Vec<u8>> {
    let bytes = doc.save_after(before);
    (!bytes.is_empty()).then_some(bytes)
}

/// Whether a sync message carries changes, which is exactly when a writer's message is validated
/// by [`DocSync::receive_validated`]. Lets a caller prepare what its validator needs only for such
/// messages. An undecodable message carries none (receiving it fails anyway).
pub fn carries_changes(data: &[u8]) -> bool {
    sync::Message::decode(data).is_ok_and(|m| !m.changes.is_empty())
}

impl<P: Ord + Clone> DocSync<P> {
    /// Wraps an in-memory document.
    pub fn new(doc: Automerge) -> Self {
        DocSync {
            doc,
            peers: BTreeMap::new(),
            bounds: Bounds::default(),
            snapshot: Snapshot::default(),
            messages_made: 0,
            replies: Replies::default(),
        }
    }

    /// Replaces the limits every peer's messages are checked against.
    pub fn set_bounds(&mut self, bounds: Bounds) {
        self.bounds = bounds;
    }

    /// Loads a document from stored chunks (a snapshot followed by incremental chunks, simply
    /// concatenated). Refuses data that does not load cleanly rather than guessing.
    pub fn load(bytes: &[u8]) -> Result<Self, SyncError> {
        let doc = std::panic::catch_unwind(|| Automerge::load(bytes))
            .map_err(|_| SyncError::Load("the data made the engine fail".into()))?
            .map_err(|e| SyncError::Load(e.to_string()))?;
        Ok(Self::new(doc))
    }

    /// The document.
    pub fn doc(&self) -> &Automerge {
        &self.doc
    }

    /// Changes the document locally (a client's edit). Returns the incremental bytes to store,
    /// if anything changed, and the messages to send.
    pub fn change(&mut self, f: impl FnOnce(&mut Automerge)) -> Received<P> {
        let before = self.doc.get_heads();
        f(&mut self.doc);
        let new_changes = self.changes_since(&before);
        Received { new_changes, write_refused: false, outgoing: self.generate_all() }
    }

    /// Merges changes that reached storage by another way (another process wrote them) and
    /// returns the messages that pass them on. Nothing new to store: they are stored already.
    pub fn apply_stored(&mut self, bytes: &[u8]) -> Result<Vec<(P, Vec<u8>)>, SyncError> {
        self.doc.load_incremental(bytes).map_err(|e| SyncError::Load(e.to_string()))?;
        self.replies.answers.clear();
        Ok(self.generate_all())
    }

    /// Attaches a peer, with its sync state from an earlier session if one was stored.
    /// An undecodable stored state is replaced by a fresh one: that costs bandwidth, never data.
    pub fn add_peer(&mut self, peer: P, access: Access, stored_state: Option<&[u8]>) {
        let mut state = stored_state.and_then(|b| sync::State::decode(b).ok()).unwrap_or_default();
        state.read_only = access != Access::Write;
        self.peers.insert(peer, PeerSync { state: Arc::new(state), access });
    }

    /// Changes a peer's access (for example after its role changed).
    pub fn set_access(&mut self, peer: &P, access: Access) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.access = access;
            if p.state.read_only != (access != Access::Write) {
                Arc::make_mut(&mut p.state).set_read_only(access != Access::Write);
            }
        }
    }

    /// Whether the peer is attached.
    pub fn has_peer(&self, peer: &P) -> bool {
        self.peers.contains_key(peer)
    }

    /// The number of attached peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Detaches a peer and returns its sync state to store for the next session.
    pub fn remove_peer(&mut self, peer: &P) -> Option<Vec<u8>> {
        self.peers.remove(peer).map(|p| p.state.encode())
    }

    /// The peer's sync state, encoded for storage, without detaching it.
    pub fn peer_state(&self, peer: &P) -> Option<Vec<u8>> {
        self.peers.get(peer).map(|p| p.state.encode())
    }

    /// The heads this document shares with the peer: every change up to them is known to be on
    /// both sides (for a relay, stored there).
    pub fn shared_heads(&self, peer: &P) -> Option<Vec<ChangeHash>> {
        self.peers.get(peer).map(|p| p.state.shared_heads.clone())
    }

    /// Replaces the document (for a client resetting to what the relay has). Peers are detached:
    /// their sync states described the old document.
    pub fn replace(&mut self, doc: Automerge) {
        self.doc = doc;
        self.peers.clear();
        self.replies.answers.clear();
    }

    /// Replaces the document with a copy rebuilt from storage (after the engine failed midway
    /// through a message) while keeping every peer attached. Each peer keeps only what its stored
    /// form keeps (the heads it shares with us), so the next exchange works out afresh what it
    /// lacks; no peer has to reconnect.
    pub fn rebuild(&mut self, doc: Automerge) {
        self.doc = doc;
        self.replies.answers.clear();
        for p in self.peers.values_mut() {
            let mut state = sync::State::decode(&p.state.encode()).unwrap_or_default();
            state.read_only = p.access != Access::Write;
            p.state = Arc::new(state);
        }
    }

    /// Whether the peer is known to have every change this document has: the peer acknowledged
    /// them, so (for a relay that acknowledges only what it stored) they are durable there.
    pub fn peer_has_all(&self, peer: &P) -> bool {
        let Some(p) = self.peers.get(peer) else { return false };
        self.doc.get_heads().iter().all(|h| p.state.shared_heads.contains(h))
    }

    /// Generates a sync message for one peer, if it needs one.
    pub fn generate(&mut self, peer: &P) -> Option<Vec<u8>> {
        let p = self.peers.get_mut(peer)?;
        next_message(&self.doc, Arc::make_mut(&mut p.state), &mut self.snapshot).map(|m| m.encode())
    }

    /// Generates sync messages for every peer that needs one.
    ///
    /// Peers in the same sync state get the same message and move on to the same state, because
    /// a message depends only on the document and the state. After an edit, the readers that had
    /// the document before it are all in one state, so the message is made once for all of them
    /// and the edit's cost per peer is a comparison and a copy, whatever the document's size.
    pub fn generate_all(&mut self) -> Vec<(P, Vec<u8>)> {
        let (doc, snapshot) = (&self.doc, &mut self.snapshot);
        if !SHARE_ACROSS_PEERS {
            return self
                .peers
                .iter_mut()
                .filter_map(|(k, p)| {
                    next_message(doc, Arc::make_mut(&mut p.state), snapshot).map(|m| (k.clone(), m.encode()))
                })
                .collect();
        }
        // Keyed by the state before, which stays as it was: the peer's own copy is made before
        // it changes. Every peer that was in that state then shares the state after.
        let mut made: HashMap<Arc<sync::State>, Made> = HashMap::new();
        let mut out = Vec::new();
        for (k, p) in self.peers.iter_mut() {
            let message = match made.get(&*p.state) {
                Some((message, after)) => {
                    p.state = after.clone();
                    message.clone()
                }
                None => {
                    let before = p.state.clone();
                    let message = next_message(doc, Arc::make_mut(&mut p.state), snapshot).map(|m| m.encode());
                    self.messages_made += 1;
                    made.insert(before, (message.clone(), p.state.clone()));
                    message
                }
            };
            if let Some(m) = message {
                out.push((k.clone(), m));
            }
        }
        out
    }

    /// Receives a sync message from a peer, applying its changes if the peer may write.
    pub fn receive(&mut self, peer: &P, data: &[u8]) -> Result<Received<P>, SyncError> {
        self.receive_validated(peer, data, None)
    }

    /// Like [`Self::receive`], but a writer's changes are first applied to a fork of the
    /// document, which `validate` must accept; otherwise nothing changes and the error says why.
    ///
    /// A failure inside the engine (a panic on data it did not expect) is returned as
    /// [`SyncError::Engine`]: the document may then be half changed, and the caller must rebuild
    /// it from what it stored (see [`Self::rebuild`]) before using it again.
    pub fn receive_validated(
        &mut self,
        peer: &P,
        data: &[u8],
        validate: Option<&Validator<'_>>,
    ) -> Result<Received<P>, SyncError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.receive_inner(peer, data, validate)))
            .unwrap_or_else(|_| Err(SyncError::Engine("the sync engine failed on this message".into())))
    }

    fn receive_inner(
        &mut self,
        peer: &P,
        data: &[u8],
        validate: Option<&Validator<'_>>,
    ) -> Result<Received<P>, SyncError> {
        if !SHARE_ACROSS_PEERS {
            return self.receive_decoded(peer, data, validate).map(|(received, _)| received);
        }
        let heads = self.doc.get_heads();
        if self.replies.heads != heads {
            self.replies.answers.clear();
            self.replies.heads = heads;
        }
        // Acknowledgements are small; a larger message is never looked up or kept, nor copied.
        let key = match self.peers.get(peer) {
            Some(p) if data.len() <= REPLY_BYTES => Some((p.state.clone(), p.access, data.to_vec())),
            Some(_) => None,
            None => return Err(SyncError::UnknownPeer),
        };
        if let Some(key) = &key
            && let Some(answer) = self.replies.answers.get(key)
            && let Some(p) = self.peers.get_mut(peer)
        {
            p.state = answer.state.clone();
            let outgoing = answer.reply.clone().map(|m| vec![(peer.clone(), m)]).unwrap_or_default();
            return Ok(Received { new_changes: None, write_refused: answer.write_refused, outgoing });
        }
        let (received, carried_changes) = self.receive_decoded(peer, data, validate)?;
        if carried_changes {
            // Changes whose dependencies are missing wait in Automerge's queue without moving the
            // heads, and what a peer is asked for depends on that queue.
            self.replies.answers.clear();
            return Ok(received);
        }
        self.replies.received += 1;
        let reply = received.outgoing.iter().find(|(to, _)| to == peer).map(|(_, m)| m.clone());
        // Only answers that carry no document are kept: a reader asking again and again for the
        // snapshot must not pin copies of it until the next edit.
        if let (Some(key), Some(p)) = (key, self.peers.get(peer))
            && reply.as_ref().is_none_or(|m| m.len() <= REPLY_BYTES)
            && self.replies.answers.len() < REPLIES_KEPT
        {
            let answer = Answer { state: p.state.clone(), write_refused: received.write_refused, reply };
            self.replies.answers.insert(key, answer);
        }
        Ok(received)
    }

    fn receive_decoded(
        &mut self,
        peer: &P,
        data: &[u8],
        validate: Option<&Validator<'_>>,
    ) -> Result<(Received<P>, bool), SyncError> {
        let mut message = sync::Message::decode(data).map_err(|e| SyncError::Decode(e.to_string()))?;
        let carried_changes = !message.changes.is_empty();
        // Automerge expects hash lists sorted (a debug build checks it); a peer may send any order.
        for list in std::iter::once(&mut message.heads)
            .chain(std::iter::once(&mut message.need))
            .chain(message.have.iter_mut().map(|h| &mut h.last_sync))
        {
            list.sort();
            list.dedup();
        }
        let p = self.peers.get_mut(peer).ok_or(SyncError::UnknownPeer)?;
        // Automerge trusts what steers its work (Bloom filters, counts): bound it first.
        bounds::check_message(&message, &self.bounds)?;
        let before = self.doc.get_heads();
        let mut write_refused = false;
        let mut added = Added::Unknown;
        match p.access {
            Access::None => return Err(SyncError::UnknownPeer),
            Access::Read => {
                // Automerge's read-only state ignores the changes; what is left is to notice them.
                // A reader whose heads we do not know has made changes of its own.
                write_refused = !message.changes.is_empty()
                    || message.heads.iter().any(|h| self.doc.get_change_meta_by_hash(h).is_none());
                self.doc
                    .receive_sync_message(Arc::make_mut(&mut p.state), message)
                    .map_err(|e| SyncError::Apply(e.to_string()))?;
            }
            Access::Write => {
                // Automerge skips chunks it cannot parse without saying so, and inflates compressed
                // data without a cap: a writer's chunks are checked (and inflated with a cap) first.
                let mut checked = bounds::check_chunks(message.changes.iter(), &self.bounds)?;
                // A message without changes cannot make the document invalid: no fork needed.
                let validate = validate.filter(|_| !message.changes.is_empty());
                added = Added::before(&self.doc, std::mem::take(&mut checked.change_chunks));
                // Everything, sent to a peer that has nothing: the check loaded it already, and
                // Automerge would load it a second time. It is taken as it is when it holds the
                // sender's heads and our document is empty (no changes, and none waiting for a
                // dependency, which replacing it would lose); the bytes that came are stored.
                let empty = self.doc.is_empty();
                if let Some(whole) = checked
                    .document
                    .take()
                    .filter(|d| empty && message.heads.iter().all(|h| d.get_change_meta_by_hash(h).is_some()))
                {
                    let mut doc = whole.with_actor(self.doc.get_actor().clone());
                    if let Some(validate) = validate
                        && doc.get_heads() != before
                    {
                        validate(&doc, &before).map_err(SyncError::Rejected)?;
                    }
                    // The one entry the check found holding the document.
                    let chunk = message.changes.iter().next().map(<[u8]>::to_vec).unwrap_or_default();
                    // The rest of the message (heads, needs, flags) moves the state as it would
                    // have with the changes applied by Automerge, but for the heads it would
                    // not have recorded as sent: the peer is still owed an answer.
                    let mut state = sync::State::clone(&p.state);
                    let last_sent = state.last_sent_heads.clone();
                    message.changes = sync::ChunkList::from(Vec::<Vec<u8>>::new());
                    doc.receive_sync_message(&mut state, message).map_err(|e| SyncError::Apply(e.to_string()))?;
                    state.last_sent_heads = last_sent;
                    self.doc = doc;
                    p.state = Arc::new(state);
                    added = Added::Whole(chunk);
                } else {
                    match validate {
                        None => {
                            self.doc
                                .receive_sync_message(Arc::make_mut(&mut p.state), message)
                                .map_err(|e| SyncError::Apply(e.to_string()))?;
                        }
                        Some(validate) => {
                            let mut fork = self.doc.fork();
                            let mut state = sync::State::clone(&p.state);
                            fork.receive_sync_message(&mut state, message)
                                .map_err(|e| SyncError::Apply(e.to_string()))?;
                            if fork.get_heads() != before {
                                validate(&fork, &before).map_err(SyncError::Rejected)?;
                            }
                            // `fork()` gives the copy a new actor id; keep ours for local changes.
                            let actor = self.doc.get_actor().clone();
                            self.doc = fork.with_actor(actor);
                            p.state = Arc::new(state);
                        }
                    }
                }
            }
        }
        let new_changes = added.since(&self.doc, &before);
        // Only the sender's state moved unless the document changed: then everyone may need it.
        let outgoing = if new_changes.is_some() {
            self.generate_all()
        } else {
            self.generate(peer).map(|m| vec![(peer.clone(), m)]).unwrap_or_default()
        };
        Ok((Received { new_changes, write_refused, outgoing }, carried_changes))
    }

    /// The changes added since `before`, as bytes to store, or `None` if there are none.
    fn changes_since(&self, before: &[ChangeHash]) -> Option<Vec<u8>> {
        Added::Unknown.since(&self.doc, before)
    }

    /// A full snapshot of the document.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// The document's current heads.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    fn put(doc: &mut Automerge, key: &str, value: &str) {
        let mut tx = doc.transaction();
        tx.put(ROOT, key, value).unwrap();
        tx.commit();
    }

    fn get(doc: &Automerge, key: &str) -> Option<String> {
        doc.get(ROOT, key).unwrap().and_then(|(v, _)| v.into_string().ok())
    }

    /// Runs messages between a relay-side and a client-side engine until neither has more to say.
    /// Returns the bytes exchanged and whether the relay noticed a refused write.
    /// `pending` holds messages the client already generated (for example by a local change).
    fn exchange(
        relay: &mut DocSync<u8>,
        client: &mut DocSync<u8>,
        client_id: u8,
        pending: Received<u8>,
    ) -> (usize, bool) {
        let mut bytes = 0;
        let mut refused = false;
        let mut to_relay: Vec<Vec<u8>> = pending.outgoing.into_iter().map(|(_, m)| m).collect();
        to_relay.extend(client.generate(&0));
        let mut to_client: Vec<Vec<u8>> = relay.generate(&client_id).into_iter().collect();
        for _ in 0..20 {
            if to_relay.is_empty() && to_client.is_empty() {
                return (bytes, refused);
            }
            for m in std::mem::take(&mut to_relay) {
                bytes += m.len();
                let r = relay.receive(&client_id, &m).unwrap();
                refused |= r.write_refused;
                to_client.extend(r.outgoing.into_iter().filter(|(p, _)| *p == client_id).map(|(_, m)| m));
            }
            for m in std::mem::take(&mut to_client) {
                bytes += m.len();
                let r = client.receive(&0, &m).unwrap();
                to_relay.extend(r.outgoing.into_iter().map(|(_, m)| m));
            }
        }
        panic!("sync did not settle");
    }

    #[test]
    fn writer_changes_apply_and_reader_changes_do_not() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        let mut writer = DocSync::<u8>::new(Automerge::new());
        let mut reader = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        relay.add_peer(2, Access::Read, None);
        writer.add_peer(0, Access::Write, None);
        reader.add_peer(0, Access::Write, None);
        let sent = writer.change(|d| put(d, "phone", "+358 40 000 0000"));
        exchange(&mut relay, &mut writer, 1, sent);
        assert_eq!(get(relay.doc(), "phone").as_deref(), Some("+358 40 000 0000"));
        exchange(&mut relay, &mut reader, 2, Received::default());
        assert_eq!(get(reader.doc(), "phone").as_deref(), Some("+358 40 000 0000"));

        let sent = reader.change(|d| put(d, "phone", "evil"));
        let (_, refused) = exchange(&mut relay, &mut reader, 2, sent);
        assert!(refused, "the reader's write is noticed");
        assert_eq!(get(relay.doc(), "phone").as_deref(), Some("+358 40 000 0000"));
    }

    #[test]
    fn validation_refuses_without_changing_anything() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        let mut writer = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        writer.add_peer(0, Access::Write, None);
        let sent = writer.change(|d| put(d, "phone", "bad"));
        let heads = relay.heads();
        let no_bad: &Validator<'_> = &|doc: &Automerge, _: &[ChangeHash]| match get(doc, "phone") {
            Some(v) if v == "bad" => Err("phone number is not valid".to_owned()),
            _ => Ok(()),
        };
        let mut result = Ok(());
        let mut queue: Vec<Vec<u8>> = sent.outgoing.into_iter().map(|(_, m)| m).collect();
        let mut validated = 0;
        for _ in 0..5 {
            queue.extend(writer.generate(&0));
            for m in std::mem::take(&mut queue) {
                validated += usize::from(carries_changes(&m));
                match relay.receive_validated(&1, &m, Some(no_bad)) {
                    Ok(r) => {
                        for (_, m) in r.outgoing {
                            queue.extend(writer.receive(&0, &m).unwrap().outgoing.into_iter().map(|(_, m)| m));
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        assert_eq!(result, Err(SyncError::Rejected("phone number is not valid".into())));
        assert_eq!(relay.heads(), heads);
        assert_eq!(validated, 1, "only the message with the change is one to validate");
        assert!(!carries_changes(&[0x42, 0xff, 0xff]));
    }

    #[test]
    fn persisted_state_makes_reconnect_cheap() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        let mut client = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        client.add_peer(0, Access::Write, None);
        relay.change(|d| {
            for i in 0..500 {
                put(d, &format!("k{i}"), "value");
            }
        });
        exchange(&mut relay, &mut client, 1, Received::default());
        let relay_state = relay.remove_peer(&1).unwrap();
        let client_state = client.remove_peer(&0).unwrap();
        // The relay's edit happens while the client is away, so its messages go nowhere.
        relay.change(|d| put(d, "k1", "changed"));
        relay.add_peer(1, Access::Write, Some(&relay_state));
        client.add_peer(0, Access::Write, Some(&client_state));
        let (bytes, _) = exchange(&mut relay, &mut client, 1, Received::default());
        assert_eq!(get(client.doc(), "k1").as_deref(), Some("changed"));
        assert!(bytes < 1024, "reconnect cost {bytes} bytes");
    }

    /// A directory-like document of `entries` contact points, made in one change as the seed and
    /// imports make them.
    fn one_change_doc(entries: usize) -> Automerge {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        for i in 0..entries {
            tx.put(ROOT, format!("entry-{i:05}"), format!("Contact point {i}, +358 40 {i:07}")).unwrap();
        }
        tx.commit();
        doc
    }

    /// The changes in a sync message, by chunk type (0 document, 1 change, 2 compressed change).
    fn chunk_types(message: &[u8]) -> Vec<u8> {
        let m = sync::Message::decode(message).unwrap();
        m.changes.iter().map(|c| c[8]).collect()
    }

    #[test]
    fn an_edit_to_a_one_change_document_sends_only_the_edit() {
        let mut relay = DocSync::<u8>::new(one_change_doc(1000));
        let size = relay.save().len();
        let mut readers: Vec<DocSync<u8>> = (0..5).map(|_| DocSync::new(Automerge::new())).collect();
        for (i, r) in readers.iter_mut().enumerate() {
            let id = i as u8 + 1;
            relay.add_peer(id, Access::Read, None);
            r.add_peer(0, Access::Write, None);
            // A peer that has nothing gets the compact snapshot, not a thousand puts.
            let first = r.generate(&0).unwrap();
            let answer = relay.receive(&id, &first).unwrap();
            let (_, snapshot) = &answer.outgoing[0];
            assert_eq!(chunk_types(snapshot), vec![0], "an empty peer gets the document chunk");
            assert!(snapshot.len() < size + 1024, "{} bytes for a {size}-byte document", snapshot.len());
            let mut pending = Received::default();
            pending.outgoing.extend(r.receive(&0, snapshot).unwrap().outgoing);
            exchange(&mut relay, r, id, pending);
            assert_eq!(r.heads(), relay.heads());
        }
        let sent = relay.change(|d| put(d, "entry-00500", "Contact point 500, +358 40 555 5555"));
        assert_eq!(sent.outgoing.len(), readers.len(), "every reader hears of the edit");
        for (id, m) in &sent.outgoing {
            assert!(
                m.len() < 512,
                "reader {id} was sent {} bytes for a one-field edit of a {size}-byte document",
                m.len()
            );
            // Our engine honours the read-only flag: it needs no Bloom filter of the relay's.
            assert!(sync::Message::decode(m).unwrap().have.is_empty(), "a reader was sent a Bloom filter");
            let r = &mut readers[usize::from(*id) - 1];
            let mut pending = Received::default();
            pending.outgoing.extend(r.receive(&0, m).unwrap().outgoing);
            exchange(&mut relay, r, *id, pending);
            assert_eq!(get(r.doc(), "entry-00500").as_deref(), Some("Contact point 500, +358 40 555 5555"));
        }
    }

    #[test]
    fn a_client_with_its_own_state_reconnects_cheaply_to_a_relay_without_one() {
        // The relay keeps no state for this client (no storage id, or it was lost in a restart).
        let mut relay = DocSync::<u8>::new(one_change_doc(10_000));
        let mut client = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        client.add_peer(0, Access::Write, None);
        exchange(&mut relay, &mut client, 1, Received::default());
        relay.remove_peer(&1);
        let client_state = client.remove_peer(&0).unwrap();
        relay.change(|d| put(d, "entry-00001", "changed"));
        relay.add_peer(1, Access::Write, None);
        client.add_peer(0, Access::Write, Some(&client_state));
        let (bytes, _) = exchange(&mut relay, &mut client, 1, Received::default());
        assert_eq!(get(client.doc(), "entry-00001").as_deref(), Some("changed"));
        assert!(bytes < 1024, "reconnect after one edit cost {bytes} bytes");
    }

    #[test]
    fn a_peer_lacking_most_of_a_document_of_many_changes_gets_the_snapshot() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        let mut client = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        client.add_peer(0, Access::Write, None);
        relay.change(|d| put(d, "first", "1"));
        exchange(&mut relay, &mut client, 1, Received::default());
        let relay_state = relay.remove_peer(&1).unwrap();
        let client_state = client.remove_peer(&0).unwrap();
        for i in 0..2000 {
            relay.change(|d| put(d, &format!("k{}", i % 50), &format!("edit {i}")));
        }
        relay.add_peer(1, Access::Write, Some(&relay_state));
        client.add_peer(0, Access::Write, Some(&client_state));
        let changes: usize = relay.doc().get_changes(&client.heads()).iter().map(|c| c.raw_bytes().len()).sum();
        let (bytes, _) = exchange(&mut relay, &mut client, 1, Received::default());
        assert_eq!(client.heads(), relay.heads());
        assert!(bytes * 2 < changes, "{bytes} bytes sent where the missing changes are {changes} bytes");
    }

    #[test]
    fn peers_that_have_nothing_share_one_saved_copy() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        for i in 0..300 {
            relay.change(|d| put(d, &format!("k{i}"), &format!("a value of some length, number {i}")));
        }
        let mut first_messages = Vec::new();
        for id in 1..=5u8 {
            let mut client = DocSync::<u8>::new(Automerge::new());
            client.add_peer(0, Access::Write, None);
            relay.add_peer(id, Access::Read, None);
            let hello = client.generate(&0).expect("a first message");
            let answer = relay.receive(&id, &hello).unwrap().outgoing;
            let answer = answer.into_iter().find(|(p, _)| *p == id).map(|(_, m)| m).expect("an answer");
            let back = client.receive(&0, &answer).unwrap();
            first_messages.push(answer);
            exchange(&mut relay, &mut client, id, back);
            assert_eq!(client.heads(), relay.heads(), "peer {id} did not get the document");
        }
        assert_eq!(relay.snapshot.made, 1, "the document was saved once per peer instead of once");
        assert!(first_messages.windows(2).all(|w| w[0] == w[1]), "the peers were sent different copies");
    }

    #[test]
    fn readers_in_the_same_state_share_one_message_for_an_edit() {
        let mut relay = DocSync::<u8>::new(one_change_doc(200));
        let mut readers = Vec::new();
        for id in 1..=20u8 {
            let mut client = DocSync::<u8>::new(Automerge::new());
            client.add_peer(0, Access::Write, None);
            relay.add_peer(id, Access::Read, None);
            let hello = client.generate(&0).expect("a first message");
            let r = relay.receive(&id, &hello).unwrap();
            let back = client.receive(&0, &r.outgoing.into_iter().find(|(p, _)| *p == id).unwrap().1).unwrap();
            exchange(&mut relay, &mut client, id, back);
            readers.push((id, client));
        }
        let made = relay.messages_made;
        let edit = relay.change(|d| put(d, "k3", "an edited value"));
        let messages: BTreeMap<u8, Vec<u8>> = edit.outgoing.into_iter().collect();
        assert_eq!(messages.len(), 20, "every reader hears of the edit");
        assert_eq!(relay.messages_made - made, 1, "the readers' message was made once per reader");
        // Each reader applies its copy and ends where a message made for it alone would take it.
        let received = relay.replies.received;
        for (id, client) in &mut readers {
            let back = client.receive(&0, &messages[id]).unwrap();
            exchange(&mut relay, client, *id, back);
            assert_eq!(client.heads(), relay.heads(), "reader {id} did not converge");
        }
        // Their acknowledgements are the same message from the same state: received once.
        assert_eq!(relay.replies.received - received, 1, "each reader's acknowledgement was received anew");
        assert!(readers.iter().all(|(id, _)| relay.peer_has_all(id)), "a reader's state did not move on");
        // Idle again, all in one state: they hold one copy of it, not one each.
        let first = relay.peers[&1].state.clone();
        assert!(relay.peers.values().all(|p| Arc::ptr_eq(&p.state, &first)), "each reader holds its own copy");
        // A peer whose state changes gets its own copy; the others keep theirs as it was.
        relay.set_access(&1, Access::Write);
        assert!(!relay.peers[&1].state.read_only && !Arc::ptr_eq(&relay.peers[&1].state, &first));
        assert!(relay.peers.range(2..).all(|(_, p)| Arc::ptr_eq(&p.state, &first) && p.state.read_only));
    }

    #[test]
    fn answers_that_carry_the_document_are_not_kept() {
        let mut relay = DocSync::<u8>::new(one_change_doc(2000));
        for id in 1..=3u8 {
            relay.add_peer(id, Access::Read, None);
            let mut client = DocSync::<u8>::new(Automerge::new());
            client.add_peer(0, Access::Write, None);
            let hello = client.generate(&0).expect("a first message");
            let answer = relay.receive(&id, &hello).unwrap().outgoing;
            assert!(answer.iter().any(|(p, m)| *p == id && m.len() > REPLY_BYTES), "no snapshot for peer {id}");
        }
        assert_eq!(relay.replies.received, 3, "a peer asking for the document was answered from memory");
        assert!(relay.replies.answers.is_empty(), "an answer carrying the document was kept");
    }

    /// A message carrying `changes`, `have` as given and nothing else.
    fn message(have: Vec<sync::Have>, changes: Vec<Vec<u8>>) -> Vec<u8> {
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

    #[test]
    fn several_changes_in_one_chunk_entry_apply() {
        // A peer that lacks several changes may get them back to back in one entry of `changes`.
        let mut relay = DocSync::<u8>::new(Automerge::new());
        let mut client = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        client.add_peer(0, Access::Write, None);
        for i in 0..100 {
            relay.change(|d| put(d, &format!("k{i}"), "value"));
        }
        exchange(&mut relay, &mut client, 1, Received::default());
        let state = relay.remove_peer(&1).unwrap();
        client.remove_peer(&0);
        let before = relay.heads();
        relay.change(|d| put(d, "description", &"long text ".repeat(2000)));
        relay.change(|d| put(d, "k1", "edited"));
        relay.change(|d| put(d, "k2", "edited"));
        let together: Vec<u8> = relay.doc().get_changes(&before).iter().flat_map(|c| c.raw_bytes().to_vec()).collect();
        // Read as one change, as the check once did, the entry does not parse.
        assert!(automerge::Change::try_from(&together[..]).is_err());
        let mut writer = DocSync::<u8>::new(client.doc().fork());
        writer.add_peer(0, Access::Write, None);
        // Our engine, as a client, applies such a message from the relay ...
        client.add_peer(0, Access::Write, None);
        client.receive(&0, &message(vec![], vec![together.clone()])).unwrap();
        assert_eq!(get(client.doc(), "k2").as_deref(), Some("edited"));
        assert_eq!(client.heads(), relay.heads());
        // ... and, as a relay, from a writer.
        let mut relay2 = DocSync::<u8>::new(writer.doc().fork());
        relay2.add_peer(1, Access::Write, Some(&state));
        let r = relay2.receive(&1, &message(vec![], vec![together])).unwrap();
        assert!(r.new_changes.is_some());
        assert_eq!(relay2.heads(), relay.heads());
    }

    #[test]
    fn a_whole_document_is_loaded_once_stored_as_it_came_and_acknowledged() {
        // Upload: a writer with a document made in one change, to a relay that has nothing.
        let mut writer = DocSync::<u8>::new(one_change_doc(2000));
        let mut relay = DocSync::<u8>::new(Automerge::new());
        writer.add_peer(0, Access::Write, None);
        relay.add_peer(1, Access::Write, None);
        let hello = relay.generate(&1).expect("the relay's first message");
        let upload = writer.receive(&0, &hello).unwrap().outgoing;
        let (_, upload) = upload.first().expect("the writer sends its document");
        assert_eq!(chunk_types(upload), vec![0], "the writer sends one document chunk");
        let sent_chunk = sync::Message::decode(upload).unwrap().changes.iter().next().unwrap().to_vec();
        let got = relay.receive(&1, upload).unwrap();
        assert_eq!(got.new_changes.as_deref(), Some(&sent_chunk[..]), "what is stored is the chunk that came");
        assert_eq!(relay.heads(), writer.heads());
        // The writer is still owed the relay's acknowledgement.
        let ack = got.outgoing.into_iter().find(|(p, _)| *p == 1).map(|(_, m)| m).expect("an acknowledgement");
        assert_eq!(chunk_types(&ack), Vec::<u8>::new(), "the acknowledgement carries the document back");
        writer.receive(&0, &ack).unwrap();
        assert!(writer.peer_has_all(&0), "the writer does not know that the relay has its document");
        // A reader that has nothing gets it the same way.
        let mut reader = DocSync::<u8>::new(Automerge::new());
        reader.add_peer(0, Access::Write, None);
        relay.add_peer(2, Access::Read, None);
        let hello = reader.generate(&0).unwrap();
        let answer = relay.receive(&2, &hello).unwrap().outgoing;
        let (_, snapshot) = answer.iter().find(|(p, _)| *p == 2).unwrap();
        let got = reader.receive(&0, snapshot).unwrap();
        let stored = got.new_changes.expect("the reader stores the document");
        assert!(bounds::is_document_chunk(&stored), "the reader stores the compressed document");
        assert_eq!(Automerge::load(&stored).unwrap().get_heads(), relay.heads());
        exchange(&mut relay, &mut reader, 2, Received { outgoing: got.outgoing, ..Received::default() });
        assert!(relay.peer_has_all(&2), "the relay does not know that the reader has everything");
    }

    #[test]
    fn a_change_that_waited_for_its_dependency_is_stored_with_it() {
        let mut source = one_change_doc(10);
        let base = source.get_heads();
        let mut client = DocSync::<u8>::new(source.fork());
        client.add_peer(0, Access::Write, None);
        put(&mut source, "k1", "first");
        put(&mut source, "k2", "second");
        let changes = source.get_changes(&base);
        let (first, second) = (changes[0].raw_bytes().to_vec(), changes[1].raw_bytes().to_vec());
        // The second change alone waits in Automerge's queue: nothing is new yet.
        let r = client.receive(&0, &message(vec![], vec![second.clone()])).unwrap();
        assert_eq!(r.new_changes, None);
        assert_eq!(client.heads(), base);
        // Its dependency comes: both go in, and both must be stored, not only the one that came.
        let r = client.receive(&0, &message(vec![], vec![first])).unwrap();
        assert_eq!(client.heads(), source.get_heads());
        let mut stored = client_base(&base, &source);
        stored.load_incremental(&r.new_changes.expect("changes to store")).unwrap();
        assert_eq!(stored.get_heads(), source.get_heads(), "a change that waited was not stored");
        // Changes that are exactly what the message brought are stored as they came.
        put(&mut source, "k3", "third");
        let third = source.get_changes(&client.heads())[0].raw_bytes().to_vec();
        let r = client.receive(&0, &message(vec![], vec![third.clone(), third.clone()])).unwrap();
        assert_eq!(r.new_changes, Some(third));
    }

    /// The document as it was at `base` (here: its first change), from `source`.
    fn client_base(base: &[ChangeHash], source: &Automerge) -> Automerge {
        let mut doc = Automerge::new();
        for c in source.get_changes(&[]).into_iter().filter(|c| base.contains(&c.hash())) {
            doc.apply_changes([c]).unwrap();
        }
        doc
    }

    #[test]
    fn hostile_bloom_filters_are_refused_before_automerge_sees_them() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        relay.change(|d| put(d, "phone", "+358 40 000 0000"));
        relay.add_peer(1, Access::Read, None);
        relay.add_peer(2, Access::Write, None);
        // 1 entry, 0 bits per entry, 7 probes: Automerge would divide by zero.
        let zero_bits = sync::BloomFilter::try_from(&[1u8, 0, 7][..]).unwrap();
        // 1 entry, 10 bits, 2^32-1 probes: Automerge would reserve 16 GiB.
        let huge_probes =
            sync::BloomFilter::try_from(&[1u8, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff][..]).unwrap();
        for bloom in [zero_bits, huge_probes] {
            let have = vec![sync::Have { last_sync: vec![], bloom }];
            for peer in [1, 2] {
                let got = relay.receive(&peer, &message(have.clone(), vec![]));
                assert!(matches!(got, Err(SyncError::Bounds(_))), "{got:?}");
                assert!(relay.has_peer(&peer), "the peer is still attached");
            }
        }
        let two_haves = vec![sync::Have::default(), sync::Have::default()];
        assert!(matches!(relay.receive(&1, &message(two_haves, vec![])), Err(SyncError::Bounds(_))));
        // An honest message afterwards is served as usual.
        let r = relay.receive(&1, &message(vec![sync::Have::default()], vec![])).unwrap();
        assert_eq!(r.outgoing.len(), 1, "the reader gets the document");
    }

    #[test]
    fn a_compressed_change_that_inflates_too_far_is_refused() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        relay.set_bounds(Bounds { max_inflated_bytes: 1024, ..Bounds::default() });
        let mut writer = Automerge::new();
        put(&mut writer, "description", &"x".repeat(64 * 1024));
        let change = writer.get_changes(&[]).first().map(|c| c.clone().bytes().to_vec()).unwrap();
        assert_eq!(change[8], 2, "Automerge compresses a change this large");
        let got = relay.receive(&1, &message(vec![], vec![change.clone()]));
        assert!(matches!(got, Err(SyncError::Bounds(_))), "{got:?}");
        assert!(relay.heads().is_empty());
        relay.set_bounds(Bounds::default());
        relay.receive(&1, &message(vec![], vec![change])).unwrap();
        assert_eq!(relay.heads().len(), 1);
    }

    #[test]
    fn rebuild_keeps_peers_and_they_catch_up() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        let mut client = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        client.add_peer(0, Access::Write, None);
        relay.change(|d| put(d, "a", "1"));
        exchange(&mut relay, &mut client, 1, Received::default());
        let stored = relay.save();
        relay.rebuild(Automerge::load(&stored).unwrap());
        assert!(relay.has_peer(&1));
        let sent = relay.change(|d| put(d, "b", "2"));
        let mut pending = Received::default();
        for (_, m) in sent.outgoing {
            pending.outgoing.extend(client.receive(&0, &m).unwrap().outgoing);
        }
        exchange(&mut relay, &mut client, 1, pending);
        assert_eq!(get(client.doc(), "b").as_deref(), Some("2"));
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let mut relay = DocSync::<u8>::new(Automerge::new());
        relay.add_peer(1, Access::Write, None);
        assert!(matches!(relay.receive(&1, &[0x42, 0xff, 0xff]), Err(SyncError::Decode(_))));
        assert!(matches!(relay.receive(&9, &[]), Err(SyncError::Decode(_)) | Err(SyncError::UnknownPeer)));
        assert!(matches!(DocSync::<u8>::load(b"\x85o\x4a\x83garbage"), Err(SyncError::Load(_))));
    }
}
