//! A client's side of the protocol: one connection to a relay, many documents.
//!
//! This is what the web app (through `client-wasm`) and native test clients run. It owns the
//! documents and their sync states; the caller owns the socket and the local store and acts on
//! the returned [`ClientEvent`]s in order.

use std::collections::BTreeMap;

use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::connection::{Connection, Event};
use crate::doc_id::DocumentId;
use crate::doc_sync::{Access, DocSync, Received, SyncError};
use crate::refusal::Refusal;
use crate::wire::{PeerId, PeerMetadata};

/// What the caller must do or may show, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// Send this frame to the relay.
    Send(Vec<u8>),
    /// The handshake with the relay completed.
    Connected {
        /// The relay's storage id: the key under which to keep sync states.
        relay_storage_id: Option<String>,
    },
    /// Append these bytes to the document's local store.
    Store {
        /// Which document.
        document_id: DocumentId,
        /// An incremental chunk (or a whole document when it was created here).
        bytes: Vec<u8>,
    },
    /// The relay's changes altered the document.
    Changed {
        /// Which document.
        document_id: DocumentId,
    },
    /// The relay neither has the document nor may this client see it.
    Unavailable {
        /// Which document.
        document_id: DocumentId,
    },
    /// The relay refused something and said why (for example a write that breaks a validation
    /// rule). When the refusal names an open document, that document is held: it is no longer
    /// sent to the relay (which would refuse it again) until [`ClientSession::reset_doc`].
    Refused {
        /// The relay's words.
        message: String,
        /// The open document the refusal is about: the one its `documentId` names, or, from a
        /// relay that sends text alone, the open document whose id the text contains.
        document_id: Option<DocumentId>,
        /// Why, which rules, as data; `None` from a relay that sends text alone.
        refusal: Option<Box<Refusal>>,
    },
    /// The relay's sync data for a document could not be applied here. The document stays as it
    /// was; when `retrying`, a fresh copy has been asked for (the relay answers with its whole
    /// document, which takes another path than the changes that failed). Otherwise the document
    /// waits for the next connection.
    SyncFailed {
        /// Which document.
        document_id: DocumentId,
        /// What went wrong, in the engine's words.
        reason: String,
        /// Whether a fresh copy is on its way.
        retrying: bool,
    },
    /// Replace everything stored for the document with this snapshot (after a reset).
    Replace {
        /// Which document.
        document_id: DocumentId,
        /// The whole document.
        bytes: Vec<u8>,
    },
    /// The connection is over; the caller should close the socket and reconnect later.
    Closed {
        /// Why.
        reason: String,
    },
}

/// Where a document stands with the relay in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocStatus {
    /// Not yet heard from the relay in this session.
    Pending,
    /// The relay answered with sync data.
    Synced,
    /// The relay does not have it (or will not say).
    Unavailable,
}

struct ClientDoc {
    sync: DocSync<()>,
    /// Sync state kept across sessions (only the shared heads survive encoding).
    saved_state: Option<Vec<u8>>,
    status: DocStatus,
    /// The relay refused this document's local changes: do not offer them again until reset.
    held: bool,
    /// How many times in this session the relay's data for it could not be applied.
    failures: u32,
}

/// Fresh copies asked for per document and session after sync data failed to apply; after that
/// the document waits for the next connection instead of asking again and again.
const FRESH_COPIES: u32 = 2;

/// The client side of a session with one relay.
pub struct ClientSession {
    peer_id: PeerId,
    metadata: PeerMetadata,
    conn: Option<Connection>,
    docs: BTreeMap<DocumentId, ClientDoc>,
}

impl ClientSession {
    /// A session that will introduce itself with `peer_id` (unique per running instance) and
    /// `metadata` (its storage id, so the relay keeps sync state for it).
    pub fn new(peer_id: PeerId, metadata: PeerMetadata) -> Self {
        ClientSession { peer_id, metadata, conn: None, docs: BTreeMap::new() }
    }

    /// Adds a document from the local store (`stored` is the concatenated chunks, empty or
    /// `None` when this client has no copy yet) with the sync state saved for the relay.
    pub fn open_doc(
        &mut self,
        id: DocumentId,
        stored: Option<&[u8]>,
        sync_state: Option<Vec<u8>>,
    ) -> Result<Vec<ClientEvent>, SyncError> {
        let sync = match stored {
            Some(b) if !b.is_empty() => DocSync::load(b)?,
            _ => DocSync::new(Automerge::new()),
        };
        self.docs.insert(
            id,
            ClientDoc { sync, saved_state: sync_state, status: DocStatus::Pending, held: false, failures: 0 },
        );
        Ok(self.announce(id))
    }

    /// Adds a document created here; its full contents are returned to store.
    pub fn create_doc(&mut self, id: DocumentId, doc: Automerge) -> Vec<ClientEvent> {
        let bytes = doc.save();
        self.docs.insert(
            id,
            ClientDoc {
                sync: DocSync::new(doc),
                saved_state: None,
                status: DocStatus::Pending,
                held: false,
                failures: 0,
            },
        );
        let mut out = vec![ClientEvent::Store { document_id: id, bytes }];
        out.extend(self.announce(id));
        out
    }

    /// Starts a new connection (after any earlier one ended): returns the `join` frame.
    pub fn connect(&mut self) -> Vec<ClientEvent> {
        for d in self.docs.values_mut() {
            if let Some(s) = d.sync.remove_peer(&()) {
                d.saved_state = Some(s);
            }
            d.status = DocStatus::Pending;
        }
        let (conn, join) = Connection::client(self.peer_id.clone(), self.metadata.clone());
        self.conn = Some(conn);
        vec![ClientEvent::Send(join)]
    }

    /// The socket closed: keep the sync states for the next connection.
    pub fn disconnected(&mut self) {
        self.conn = None;
        for d in self.docs.values_mut() {
            if let Some(s) = d.sync.remove_peer(&()) {
                d.saved_state = Some(s);
            }
        }
    }

    /// Whether the handshake with the relay has completed.
    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::is_open)
    }

    /// A document, if open.
    pub fn doc(&self, id: &DocumentId) -> Option<&Automerge> {
        self.docs.get(id).map(|d| d.sync.doc())
    }

    /// The ids of open documents.
    pub fn doc_ids(&self) -> impl Iterator<Item = &DocumentId> {
        self.docs.keys()
    }

    /// Where a document stands in this session.
    pub fn status(&self, id: &DocumentId) -> Option<DocStatus> {
        self.docs.get(id).map(|d| d.status)
    }

    /// Whether the relay has acknowledged every change of this document in this session.
    /// The relay acknowledges only what it has durably stored.
    pub fn is_acknowledged(&self, id: &DocumentId) -> bool {
        self.docs.get(id).is_some_and(|d| d.sync.peer_has_all(&()))
    }

    /// The sync state to keep for this document and the relay.
    pub fn sync_state(&self, id: &DocumentId) -> Option<Vec<u8>> {
        let d = self.docs.get(id)?;
        d.sync.peer_state(&()).or_else(|| d.saved_state.clone())
    }

    /// Changes a document locally: one call is one commit.
    pub fn change(&mut self, id: &DocumentId, f: impl FnOnce(&mut Automerge)) -> Vec<ClientEvent> {
        let Some(d) = self.docs.get_mut(id) else {
            return Vec::new();
        };
        let r = d.sync.change(f);
        self.after(*id, r, false)
    }

    /// Stops offering a document's changes to the relay (it refused them) until it is reset.
    /// Local reads and edits go on; edits are stored here and wait.
    pub fn hold(&mut self, id: &DocumentId) {
        if let Some(d) = self.docs.get_mut(id) {
            d.held = true;
            if let Some(s) = d.sync.remove_peer(&()) {
                d.saved_state = Some(s);
            }
        }
    }

    /// Whether the document is held after a refusal.
    pub fn is_held(&self, id: &DocumentId) -> bool {
        self.docs.get(id).is_some_and(|d| d.held)
    }

    /// The heads the relay is known to have stored for this document (empty when nothing is
    /// known to be shared).
    pub fn relay_heads(&self, id: &DocumentId) -> Vec<ChangeHash> {
        let Some(d) = self.docs.get(id) else { return Vec::new() };
        let heads = d.sync.shared_heads(&()).unwrap_or_else(|| {
            d.saved_state
                .as_deref()
                .and_then(|b| automerge::sync::State::decode(b).ok())
                .map(|s| s.shared_heads)
                .unwrap_or_default()
        });
        // Only heads this copy has can be returned to.
        heads.into_iter().filter(|h| d.sync.doc().get_change_by_hash(h).is_some()).collect()
    }

    /// Throws away the local changes the relay has not stored: the document goes back to the
    /// relay's last known state and syncs again from there. Returns the document as it was
    /// before (so the caller can keep the discarded values for re-entry) and the events: a
    /// `Replace` with the new contents, then the sync with the relay if connected.
    pub fn reset_doc(&mut self, id: &DocumentId) -> Option<(Automerge, Vec<ClientEvent>)> {
        let heads = self.relay_heads(id);
        let d = self.docs.get_mut(id)?;
        let fresh = if heads.is_empty() { Automerge::new() } else { d.sync.doc().fork_at(&heads).ok()? };
        let old = d.sync.doc().clone();
        let bytes = fresh.save();
        d.sync.replace(fresh);
        let mut state = automerge::sync::State::new();
        state.shared_heads = heads;
        d.saved_state = Some(state.encode());
        d.held = false;
        d.status = DocStatus::Pending;
        let mut out = vec![ClientEvent::Replace { document_id: *id, bytes }, ClientEvent::Changed { document_id: *id }];
        out.extend(self.announce(*id));
        Some((old, out))
    }

    /// Closes a document and forgets everything about it (its copy and sync state), returning
    /// the copy as it was and the heads the relay was known to have stored: the changes after
    /// those are the ones the relay never acknowledged. For a document the relay erased (it
    /// replaced the document by a new one without history), before the caller deletes its store.
    pub fn close_doc(&mut self, id: &DocumentId) -> Option<(Automerge, Vec<ChangeHash>)> {
        let heads = self.relay_heads(id);
        let d = self.docs.remove(id)?;
        Some((d.sync.doc().clone(), heads))
    }

    /// Handles a frame from the relay.
    pub fn receive(&mut self, frame: &[u8]) -> Vec<ClientEvent> {
        let Some(conn) = self.conn.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for event in conn.receive(frame) {
            match event {
                Event::Send(f) => out.push(ClientEvent::Send(f)),
                Event::Opened { metadata, .. } => {
                    out.push(ClientEvent::Connected { relay_storage_id: metadata.storage_id });
                    let ids: Vec<_> = self.docs.keys().copied().collect();
                    for d in self.docs.values_mut() {
                        d.failures = 0;
                    }
                    for id in ids {
                        out.extend(self.announce(id));
                    }
                }
                Event::Doc { document_id, data, .. } => {
                    // Not ours, held after a refusal, or waiting after failed data: not now.
                    let Some(d) = self.docs.get_mut(&document_id).filter(|d| d.sync.has_peer(&())) else {
                        continue;
                    };
                    d.status = DocStatus::Synced;
                    match d.sync.receive(&(), &data) {
                        Ok(r) => out.extend(self.after(document_id, r, true)),
                        Err(e) => out.extend(self.recover(document_id, e.to_string())),
                    }
                }
                Event::Unavailable { document_id } => {
                    if let Some(d) = self.docs.get_mut(&document_id) {
                        d.status = DocStatus::Unavailable;
                        out.push(ClientEvent::Unavailable { document_id });
                    }
                }
                Event::PeerError { message, refusal } => {
                    let document_id = match &refusal {
                        Some(r) => r.document_id.filter(|id| self.docs.contains_key(id)),
                        // A relay from before refusals carried fields names the document in its text.
                        None => self.docs.keys().copied().find(|id| message.contains(&id.to_string())),
                    };
                    if let Some(id) = document_id {
                        self.hold(&id);
                    }
                    out.push(ClientEvent::Refused { message, document_id, refusal });
                }
                // Other peers' presence and cursors, which this client does not use.
                Event::Ephemeral { .. } => {}
                Event::Left => out.push(ClientEvent::Closed { reason: "relay left".into() }),
                Event::Close(reason) => out.push(ClientEvent::Closed { reason }),
            }
        }
        out
    }

    /// Attaches the relay as a peer of the document (once the connection is open) and sends the
    /// first message: a `request` when we have nothing, else a `sync`.
    fn announce(&mut self, id: DocumentId) -> Vec<ClientEvent> {
        let Some(conn) = self.conn.as_ref().filter(|c| c.is_open()) else {
            return Vec::new();
        };
        let Some(d) = self.docs.get_mut(&id).filter(|d| !d.held) else {
            return Vec::new();
        };
        if !d.sync.has_peer(&()) {
            d.sync.add_peer((), Access::Write, d.saved_state.as_deref());
        }
        let empty = d.sync.heads().is_empty();
        d.sync.generate(&()).map(|m| ClientEvent::Send(conn.sync_frame(id, m, empty))).into_iter().collect()
    }

    /// The relay's data for `id` could not be applied. Rather than dropping the connection (and
    /// meeting the same data on every reconnect), forget what we believed the relay has and ask
    /// for a fresh copy: a sync message with no heads, to which the relay answers with its whole
    /// document. Local changes stay; they are offered again once the copy has merged. After
    /// [`FRESH_COPIES`] failures the document waits for the next connection.
    fn recover(&mut self, id: DocumentId, reason: String) -> Vec<ClientEvent> {
        let Some(d) = self.docs.get_mut(&id) else { return Vec::new() };
        d.failures += 1;
        d.sync.remove_peer(&());
        d.saved_state = None;
        let retrying = d.failures <= FRESH_COPIES;
        let mut out = vec![ClientEvent::SyncFailed { document_id: id, reason, retrying }];
        let Some(conn) = self.conn.as_ref().filter(|c| c.is_open()) else { return out };
        if retrying {
            d.sync.add_peer((), Access::Write, None);
            let mut nothing = DocSync::<()>::new(Automerge::new());
            nothing.add_peer((), Access::Write, None);
            out.extend(nothing.generate(&()).map(|m| ClientEvent::Send(conn.sync_frame(id, m, false))));
        }
        out
    }

    fn after(&mut self, id: DocumentId, r: Received<()>, remote: bool) -> Vec<ClientEvent> {
        let mut out = Vec::new();
        if let Some(bytes) = r.new_changes {
            out.push(ClientEvent::Store { document_id: id, bytes });
            if remote {
                out.push(ClientEvent::Changed { document_id: id });
            }
        }
        if let Some(conn) = self.conn.as_ref().filter(|c| c.is_open()) {
            for ((), m) in r.outgoing {
                out.push(ClientEvent::Send(conn.sync_frame(id, m, false)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Connection;
    use automerge::transaction::Transactable;
    use automerge::{ROOT, sync};

    /// A relay's side in memory: its connection and its copy of one document.
    struct Relay {
        conn: Connection,
        doc: DocSync<u8>,
    }

    impl Relay {
        /// Answers the client's frames; returns the relay's frames, with the sync data of each
        /// passed through `tamper` first.
        fn answer(&mut self, frames: Vec<ClientEvent>, tamper: &dyn Fn(Vec<u8>) -> Vec<u8>) -> Vec<Vec<u8>> {
            let mut out = Vec::new();
            for e in frames {
                let ClientEvent::Send(frame) = e else { continue };
                for event in self.conn.receive(&frame) {
                    match event {
                        Event::Send(f) => out.push(f),
                        Event::Doc { document_id, data, .. } => {
                            if !self.doc.has_peer(&1) {
                                self.doc.add_peer(1, Access::Write, None);
                            }
                            let r = self.doc.receive(&1, &data).expect("the relay takes the client's message");
                            for (_, m) in r.outgoing {
                                out.push(self.conn.sync_frame(document_id, tamper(m), false));
                            }
                        }
                        _ => {}
                    }
                }
            }
            out
        }
    }

    fn sends(events: &[ClientEvent]) -> Vec<ClientEvent> {
        events.iter().filter(|e| matches!(e, ClientEvent::Send(_))).cloned().collect()
    }

    /// Replaces a sync message's changes with bytes no engine can apply.
    fn corrupt(data: Vec<u8>) -> Vec<u8> {
        let mut m = sync::Message::decode(&data).unwrap();
        m.changes = sync::ChunkList::from(vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 1, 9, 9, 9]]);
        m.encode()
    }

    /// A relay holding a one-field document and a phone that opens it without a copy.
    fn relay_and_phone(seed: u8) -> (DocumentId, Relay, ClientSession) {
        let id = DocumentId::from_random_bytes([seed; 16]);
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "phone", "+358 29 000 0000").unwrap();
        tx.commit();
        let relay = Relay { conn: Connection::relay("relay".into(), PeerMetadata::default()), doc: DocSync::new(doc) };
        let mut client = ClientSession::new("phone".into(), PeerMetadata::default());
        client.open_doc(id, None, None).unwrap();
        (id, relay, client)
    }

    /// The document a refusal is about comes from its `documentId` when the relay gives one, and
    /// from its text only when the relay sends text alone.
    #[test]
    fn a_refusal_holds_the_document_it_names() {
        use crate::refusal::{Reason, RefusedIssue};
        let other = DocumentId::from_random_bytes([8; 16]);
        let refused = |frame: &dyn Fn(DocumentId) -> Vec<u8>| {
            let (id, mut relay, mut client) = relay_and_phone(6);
            client.open_doc(other, None, None).unwrap();
            let greeting = relay.answer(client.connect(), &|m| m);
            for f in greeting {
                client.receive(&f);
            }
            let events = client.receive(&frame(id));
            let refusal = events.iter().find_map(|e| match e {
                ClientEvent::Refused { document_id, refusal, .. } => Some((*document_id, refusal.clone())),
                _ => None,
            });
            let (document_id, data) = refusal.expect("a refusal is reported");
            (id, document_id, data, client.is_held(&id), client.is_held(&other))
        };

        // Named by its field; the text names another document, which stays free.
        let issue = RefusedIssue { path: "p".into(), code: "email".into(), params: Default::default() };
        let (id, named, data, held, other_held) = refused(&|id| {
            Connection::refusal_frame(
                &format!("document {other}: change refused"),
                Refusal::new(Reason::Invalid).about(id).with_issues([issue.clone()]),
            )
        });
        assert_eq!((named, held, other_held), (Some(id), true, false));
        let data = data.expect("the refusal's fields are passed on");
        assert_eq!((data.reason, data.issues.as_slice(), data.problems), (Reason::Invalid, [issue].as_slice(), 1));

        // Fields that name no document hold none, whatever the text says.
        let (_, named, _, held, _) =
            refused(&|id| Connection::refusal_frame(&format!("{id} too slow"), Refusal::new(Reason::TooSlow)));
        assert_eq!((named, held), (None, false));

        // A relay that sends text alone: the open document the text names.
        let (id, named, data, held, other_held) =
            refused(&|id| Connection::error_frame(&format!("document {id}: change refused: p: no")));
        assert_eq!((named, data, held, other_held), (Some(id), None, true, false));
    }

    #[test]
    fn data_that_cannot_be_applied_is_reported_and_a_fresh_copy_is_fetched() {
        let (id, mut relay, mut client) = relay_and_phone(5);

        let mut to_client = relay.answer(client.connect(), &|m| m);
        let mut failures = Vec::new();
        // Every answer to the client is corrupt: each failure is reported, the connection stays
        // up, and after two fresh copies the client stops asking until it reconnects.
        for _ in 0..6 {
            let mut events = Vec::new();
            for f in std::mem::take(&mut to_client) {
                events.extend(client.receive(&f));
            }
            assert!(!events.iter().any(|e| matches!(e, ClientEvent::Closed { .. })), "{events:?}");
            for e in &events {
                if let ClientEvent::SyncFailed { document_id, retrying, reason } = e {
                    assert_eq!(*document_id, id);
                    assert!(!reason.is_empty());
                    failures.push(*retrying);
                }
            }
            to_client = relay.answer(sends(&events), &corrupt);
        }
        assert_eq!(failures, vec![true, true, false], "two fresh copies, then waiting");
        assert!(client.doc(&id).is_some_and(|d| d.get_heads().is_empty()));

        // On the next connection the relay's honest data arrives and applies.
        client.disconnected();
        relay.conn = Connection::relay("relay".into(), PeerMetadata::default());
        relay.doc.remove_peer(&1);
        let mut to_client = relay.answer(client.connect(), &|m| m);
        for _ in 0..6 {
            let mut events = Vec::new();
            for f in std::mem::take(&mut to_client) {
                events.extend(client.receive(&f));
            }
            to_client = relay.answer(sends(&events), &|m| m);
        }
        assert_eq!(client.doc(&id).map(|d| d.get_heads()), Some(relay.doc.heads()));
    }

    #[test]
    fn a_fresh_copy_arrives_as_the_whole_document_and_merges_local_changes() {
        let (id, mut relay, mut client) = relay_and_phone(6);
        client.change(&id, |d| {
            let mut tx = d.transaction();
            tx.put(ROOT, "note", "made offline").unwrap();
            tx.commit();
        });
        let mut to_client = relay.answer(client.connect(), &|m| m);
        let mut tampered = true;
        let mut whole = false;
        for _ in 0..8 {
            let mut events = Vec::new();
            for f in std::mem::take(&mut to_client) {
                events.extend(client.receive(&f));
            }
            let once = std::mem::replace(&mut tampered, false);
            let seen = std::cell::Cell::new(false);
            to_client = relay.answer(sends(&events), &|m| {
                if sync::Message::decode(&m).unwrap().changes.iter().any(|c| c.get(8) == Some(&0)) {
                    seen.set(true);
                }
                if once { corrupt(m) } else { m }
            });
            whole |= seen.get();
        }
        assert!(whole, "the fresh copy came as the whole document");
        assert_eq!(client.doc(&id).map(|d| d.get_heads()), Some(relay.doc.heads()));
        assert_eq!(relay.doc.heads().len(), 2, "the relay has both its change and the client's");
    }
}
