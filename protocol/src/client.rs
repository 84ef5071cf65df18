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
    /// rule). When the message names an open document, that document is held: it is no longer
    /// sent to the relay (which would refuse it again) until [`ClientSession::reset_doc`].
    Refused {
        /// The relay's words.
        message: String,
        /// The document the refusal is about, when the message names one.
        document_id: Option<DocumentId>,
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
}

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
        self.docs.insert(id, ClientDoc { sync, saved_state: sync_state, status: DocStatus::Pending, held: false });
        Ok(self.announce(id))
    }

    /// Adds a document created here; its full contents are returned to store.
    pub fn create_doc(&mut self, id: DocumentId, doc: Automerge) -> Vec<ClientEvent> {
        let bytes = doc.save();
        self.docs.insert(
            id,
            ClientDoc { sync: DocSync::new(doc), saved_state: None, status: DocStatus::Pending, held: false },
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
                    for id in ids {
                        out.extend(self.announce(id));
                    }
                }
                Event::Doc { document_id, data, .. } => {
                    let Some(d) = self.docs.get_mut(&document_id) else {
                        continue;
                    };
                    d.status = DocStatus::Synced;
                    match d.sync.receive(&(), &data) {
                        Ok(r) => out.extend(self.after(document_id, r, true)),
                        Err(e) => {
                            let reason = format!("bad sync data for {document_id}: {e}");
                            if let Some(c) = self.conn.as_mut() {
                                out.extend(c.fail(reason).into_iter().filter_map(|e| match e {
                                    Event::Send(f) => Some(ClientEvent::Send(f)),
                                    Event::Close(r) => Some(ClientEvent::Closed { reason: r }),
                                    _ => None,
                                }));
                            }
                        }
                    }
                }
                Event::Unavailable { document_id } => {
                    if let Some(d) = self.docs.get_mut(&document_id) {
                        d.status = DocStatus::Unavailable;
                        out.push(ClientEvent::Unavailable { document_id });
                    }
                }
                Event::PeerError(message) => {
                    let document_id = self.docs.keys().copied().find(|id| message.contains(&id.to_string()));
                    if let Some(id) = document_id {
                        self.hold(&id);
                    }
                    out.push(ClientEvent::Refused { message, document_id });
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
