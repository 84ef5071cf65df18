//! The client's state behind the wasm boundary, in plain Rust so that native tests cover it.
//!
//! JavaScript calls in with frames and stored bytes and gets back a list of [`Effect`]s to carry
//! out in order: frames to send, bytes to append to IndexedDB, documents that changed.

use contactpoint_protocol::{ClientEvent, ClientSession, DocumentId, PeerMetadata};
use serde::Serialize;

use crate::messages::{Explained, explain};

/// Something JavaScript must do, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Effect {
    /// Send these bytes on the WebSocket.
    Send {
        /// The frame.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The handshake completed.
    Connected {
        /// The relay's storage id (the key for stored sync states).
        relay_storage_id: Option<String>,
    },
    /// Append these bytes to the document's store.
    Store {
        /// Which document.
        doc: String,
        /// The chunk.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The document changed because of the relay's data: refresh what is shown.
    Changed {
        /// Which document.
        doc: String,
    },
    /// The relay has no such document, or will not share it.
    Unavailable {
        /// Which document.
        doc: String,
    },
    /// The relay refused something and said why.
    Refused {
        /// The relay's words.
        message: String,
        /// The document it is about, when the relay named one; that document is held (not
        /// synced) until the user resets it.
        doc: Option<String>,
        /// The refusal as the app words it: a code with its parameters, the English message
        /// and how many more problems there were.
        explained: Explained,
    },
    /// The relay's data for a document could not be applied; when `retrying`, a fresh copy is on
    /// its way, otherwise the document waits for the next connection.
    SyncFailed {
        /// Which document.
        doc: String,
        /// What went wrong.
        reason: String,
        /// Whether a fresh copy was asked for.
        retrying: bool,
    },
    /// Replace everything stored for the document with these bytes (after a reset).
    Replace {
        /// Which document.
        doc: String,
        /// The whole document.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The connection is over; close the socket and retry later.
    Closed {
        /// Why.
        reason: String,
    },
    /// Open this document (from the store, as at start): it replaced one the relay erased.
    Open {
        /// Which document.
        doc: String,
    },
    /// The relay erased this document (replaced it by `replaced_by`, a new one without
    /// history): delete everything stored for it (chunks and sync state).
    Erased {
        /// The document to delete.
        doc: String,
        /// The document that holds what was kept of it.
        replaced_by: Option<String>,
    },
    /// This device's unsent edits to an erased document were carried over onto the document
    /// that replaced it (`carried` values, in one commit), except `reenter`, which are to be
    /// entered again by hand like a refused write's.
    Carried {
        /// The new document.
        doc: String,
        /// How many values were written.
        carried: usize,
        /// The values that could not be carried.
        reenter: Vec<crate::history::Discarded>,
    },
}

impl Effect {
    /// The bytes carried by `Send` and `Store`.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Effect::Send { bytes } | Effect::Store { bytes, .. } | Effect::Replace { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

fn effects(events: Vec<ClientEvent>) -> Vec<Effect> {
    events
        .into_iter()
        .map(|e| match e {
            ClientEvent::Send(bytes) => Effect::Send { bytes },
            ClientEvent::Connected { relay_storage_id } => Effect::Connected { relay_storage_id },
            ClientEvent::Store { document_id, bytes } => Effect::Store { doc: document_id.to_string(), bytes },
            ClientEvent::Changed { document_id } => Effect::Changed { doc: document_id.to_string() },
            ClientEvent::Unavailable { document_id } => Effect::Unavailable { doc: document_id.to_string() },
            ClientEvent::Refused { message, document_id, refusal } => Effect::Refused {
                explained: explain(&message, refusal.as_deref()),
                message,
                doc: document_id.map(|d| d.to_string()),
            },
            ClientEvent::SyncFailed { document_id, reason, retrying } => {
                Effect::SyncFailed { doc: document_id.to_string(), reason, retrying }
            }
            ClientEvent::Replace { document_id, bytes } => Effect::Replace { doc: document_id.to_string(), bytes },
            ClientEvent::Closed { reason } => Effect::Closed { reason },
        })
        .collect()
}

/// Why a call from JavaScript failed.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientError(pub String);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_id(id: &str) -> Result<DocumentId, ClientError> {
    id.parse().map_err(|e| ClientError(format!("\"{}\" is not a document id: {e}", id.escape_debug())))
}

/// The client: documents, their sync with the relay, and the views over them.
pub struct Client {
    session: ClientSession,
    library: crate::views::Library,
    author: crate::commit::Author,
}

impl Client {
    /// `peer_id` must be unique per running instance (two tabs never share one); `storage_id`
    /// identifies this browser's store, so the relay keeps sync state for it.
    pub fn new(peer_id: String, storage_id: String) -> Client {
        Client {
            session: ClientSession::new(peer_id, PeerMetadata { storage_id: Some(storage_id), is_ephemeral: false }),
            library: crate::views::Library::default(),
            author: crate::commit::Author::default(),
        }
    }

    /// Opens a document from its stored chunks (empty when not yet stored) and saved sync state.
    pub fn open_doc(
        &mut self,
        id: &str,
        stored: &[u8],
        sync_state: Option<Vec<u8>>,
    ) -> Result<Vec<Effect>, ClientError> {
        let id = parse_id(id)?;
        let events = self
            .session
            .open_doc(id, Some(stored), sync_state)
            .map_err(|e| ClientError(format!("document {id} could not be loaded: {e}")))?;
        Ok(effects(events))
    }

    /// Starts a connection: returns the `join` frame to send once the socket is open.
    pub fn connect(&mut self) -> Vec<Effect> {
        effects(self.session.connect())
    }

    /// The socket closed.
    pub fn disconnected(&mut self) {
        self.session.disconnected();
    }

    /// A frame arrived from the relay.
    pub fn receive(&mut self, frame: &[u8]) -> Vec<Effect> {
        let mut out = effects(self.session.receive(frame));
        if out.iter().any(|e| matches!(e, Effect::Changed { .. } | Effect::Unavailable { .. })) {
            out.extend(self.follow_erasures());
        }
        out
    }

    /// Drops the documents the relay erased and carries this device's unsent edits over. A
    /// document is erased for this device when the relay says it is unavailable and the index
    /// no longer lists it. When the index names the document that replaced it, that one is
    /// opened first (`Open`); once it has arrived from the relay, the unsent values of the old
    /// copy are written onto it where their contact point still exists (one validated commit),
    /// and only then is the old copy closed and deleted (`Erased`), so that an app closed in
    /// between loses nothing.
    fn follow_erasures(&mut self) -> Vec<Effect> {
        use contactpoint_directory::DocumentKind;
        use contactpoint_directory::store::{document_kind, read_index, read_replacements};
        use contactpoint_protocol::DocStatus;
        let mut out = Vec::new();
        let (mut listed, mut replacements, mut have_index) = (Vec::new(), std::collections::BTreeMap::new(), false);
        for id in self.session.doc_ids() {
            let Some(doc) = self.session.doc(id) else { continue };
            if document_kind(doc) != Some(DocumentKind::Index) {
                continue;
            }
            if let Ok(index) = read_index(doc) {
                have_index |= !index.documents.is_empty();
                listed.extend(index.documents.into_keys());
            }
            replacements.extend(read_replacements(doc));
        }
        if !have_index {
            return out;
        }
        let gone: Vec<DocumentId> = self
            .session
            .doc_ids()
            .filter(|id| self.session.status(id) == Some(DocStatus::Unavailable))
            .filter(|id| !listed.contains(&id.to_string()))
            .copied()
            .collect();
        for id in gone {
            let next = replacements.get(&id.to_string()).and_then(|n| n.parse::<DocumentId>().ok());
            if let Some(next) = next {
                match self.session.doc(&next) {
                    None => {
                        out.push(Effect::Open { doc: next.to_string() });
                        continue;
                    }
                    Some(d) if d.get_heads().is_empty() => continue,
                    Some(_) => {}
                }
            }
            let Some((old, relay_heads)) = self.session.close_doc(&id) else { continue };
            out.push(Effect::Erased { doc: id.to_string(), replaced_by: next.map(|n| n.to_string()) });
            let Some(next) = next else { continue };
            let unsent = crate::history::unsent(&old, &relay_heads);
            drop(old);
            if unsent.is_empty() {
                continue;
            }
            let Some(snapshot) = self.session.doc(&next).cloned() else { continue };
            let session = &mut self.session;
            let (carried, written) =
                crate::history::carry_over(&snapshot, unsent, &self.author, |f| effects(session.change(&next, f)));
            out.extend(written.unwrap_or_default());
            out.push(Effect::Carried {
                doc: next.to_string(),
                carried: carried.carried.len(),
                reenter: carried.reenter,
            });
        }
        out
    }

    /// The sync state to store for a document.
    pub fn sync_state(&self, id: &str) -> Option<Vec<u8>> {
        self.session.sync_state(&parse_id(id).ok()?)
    }

    /// Whether the relay has acknowledged every local change of the document.
    pub fn is_acknowledged(&self, id: &str) -> bool {
        parse_id(id).is_ok_and(|id| self.session.is_acknowledged(&id))
    }

    /// Whether the handshake with the relay has completed.
    pub fn is_connected(&self) -> bool {
        self.session.is_connected()
    }

    /// The protocol session.
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// The views, brought up to date with the documents (only changed documents are re-read).
    pub fn views(&mut self) -> &crate::views::Library {
        let session = &self.session;
        self.library.refresh(session.doc_ids().filter_map(|id| session.doc(id).map(|d| (*id, d))));
        &self.library
    }

    /// The ids of the documents an index document lists.
    pub fn document_ids(&self, index: &str) -> Vec<String> {
        parse_id(index).ok().and_then(|id| self.session.doc(&id)).map(crate::views::document_ids).unwrap_or_default()
    }

    /// The ids of the national documents an index document lists.
    pub fn national_document_ids(&self, index: &str) -> Vec<String> {
        parse_id(index)
            .ok()
            .and_then(|id| self.session.doc(&id))
            .map(crate::views::national_document_ids)
            .unwrap_or_default()
    }

    /// Edits a contact point as one commit. On invalid values returns the issues per field and
    /// changes nothing.
    pub fn edit_contact(
        &mut self,
        contact_id: &str,
        edit: &crate::edit::ContactEdit,
        today: &str,
        verified_by: &str,
    ) -> Result<Vec<Effect>, crate::edit::EditError> {
        let doc_id = crate::edit::find_contact(&self.session, contact_id).ok_or(crate::edit::EditError::NotFound)?;
        let doc = self.session.doc(&doc_id).ok_or(crate::edit::EditError::NotFound)?;
        let dir = crate::edit::read_for_edit(doc_id, doc)?;
        let session = &mut self.session;
        crate::edit::edit_contact(dir, contact_id, edit, today, verified_by, &self.author, |f| {
            effects(session.change(&doc_id, f))
        })
    }

    /// Adds a contact point to the document of `area_key` (`national` or an area such as
    /// `municipality:091`) as one commit, with a fresh id. Returns the id and the effects; on
    /// invalid values returns the issues per field and changes nothing. `NotFound` when no open
    /// document belongs to the area.
    pub fn add_contact(
        &mut self,
        area_key: &str,
        new: &crate::edit::NewContact,
        today: &str,
        verified_by: &str,
    ) -> Result<(String, Vec<Effect>), crate::edit::EditError> {
        let doc_id = self.views().document_for_area(area_key).ok_or(crate::edit::EditError::NotFound)?;
        let doc = self.session.doc(&doc_id).ok_or(crate::edit::EditError::NotFound)?;
        let dir = crate::edit::read_for_edit(doc_id, doc)?;
        let id = crate::edit::new_contact_id()?;
        let session = &mut self.session;
        let effects = crate::edit::add_contact(dir, &id, new, today, verified_by, &self.author, |f| {
            effects(session.change(&doc_id, f))
        })?;
        Ok((id, effects))
    }

    /// Retires a contact point on `today` as one commit; it stays in its document for restoring.
    pub fn retire_contact(&mut self, contact_id: &str, today: &str) -> Result<Vec<Effect>, crate::edit::EditError> {
        let (doc_id, dir) = self.contact_document(contact_id)?;
        let session = &mut self.session;
        crate::edit::retire_contact(dir, contact_id, today, &self.author, |f| effects(session.change(&doc_id, f)))
    }

    /// Puts a retired contact point back in use as one commit.
    pub fn restore_contact(&mut self, contact_id: &str) -> Result<Vec<Effect>, crate::edit::EditError> {
        let (doc_id, dir) = self.contact_document(contact_id)?;
        let session = &mut self.session;
        crate::edit::restore_contact(dir, contact_id, &self.author, |f| effects(session.change(&doc_id, f)))
    }

    /// The document holding a contact point, with its contents.
    fn contact_document(
        &self,
        contact_id: &str,
    ) -> Result<(DocumentId, contactpoint_directory::Directory), crate::edit::EditError> {
        let doc_id = crate::edit::find_contact(&self.session, contact_id).ok_or(crate::edit::EditError::NotFound)?;
        let doc = self.session.doc(&doc_id).ok_or(crate::edit::EditError::NotFound)?;
        let dir = crate::edit::read_for_edit(doc_id, doc)?;
        Ok((doc_id, dir))
    }

    /// The document holding a contact point, and that document's area (`national` for the
    /// national document), so the app can tell whether this user may edit it.
    pub fn contact_scope(&self, contact_id: &str) -> Option<(String, String)> {
        let id = crate::edit::find_contact(&self.session, contact_id)?;
        let d = contactpoint_directory::store::read_directory(self.session.doc(&id)?).ok()?;
        Some((id.to_string(), contactpoint_directory::hsds::document_key(&d)))
    }

    /// Who edits on this device and the device's time, written into the next local commits.
    pub fn set_author(&mut self, name: &str, now_ms: i64) {
        self.author = crate::commit::Author { name: name.to_owned(), now_ms };
    }

    /// Sets the device's time for the next local commits.
    pub fn set_now(&mut self, now_ms: i64) {
        self.author.now_ms = now_ms;
    }

    /// The editor and time for local commits.
    pub fn author(&self) -> &crate::commit::Author {
        &self.author
    }

    /// A contact point's history, newest first (`None`: no open document has it).
    pub fn contact_history(&self, contact_id: &str) -> Option<Vec<crate::history::EntryView>> {
        let id = crate::edit::find_contact(&self.session, contact_id)?;
        Some(crate::history::history(self.session.doc(&id)?, contact_id))
    }

    /// A contact point's fields that editors changed concurrently.
    pub fn contact_conflicts(&self, contact_id: &str) -> Vec<crate::history::ConflictView> {
        crate::edit::find_contact(&self.session, contact_id)
            .and_then(|id| self.session.doc(&id))
            .map(|d| crate::history::conflicts(d, contact_id))
            .unwrap_or_default()
    }

    /// Writes one field of a contact point (restoring an earlier value or choosing between
    /// conflicting ones) as one validated commit. `field` is a history's or conflict's `field`
    /// as given; a text that is not a path names no field.
    pub fn set_contact_field(
        &mut self,
        contact_id: &str,
        field: &str,
        value: Option<&str>,
    ) -> Result<Vec<Effect>, crate::edit::EditError> {
        let field = contactpoint_directory::FieldPath::parse(field).map_err(|_| crate::edit::EditError::NotFound)?;
        let field = &field;
        let doc_id = crate::edit::find_contact(&self.session, contact_id).ok_or(crate::edit::EditError::NotFound)?;
        let trial = self.session.doc(&doc_id).ok_or(crate::edit::EditError::NotFound)?.fork();
        let (session, author) = (&mut self.session, &self.author);
        crate::history::set_field(trial, contact_id, field, value, author, |f| effects(session.change(&doc_id, f)))
    }

    /// Changes an area's local version of the national card `slug` (one validated commit).
    pub fn change_local(
        &mut self,
        slug: &str,
        area_key: &str,
        op: &crate::local::LocalOp,
    ) -> Result<Vec<Effect>, crate::edit::EditError> {
        use crate::edit::EditError::NotFound;
        let views = self.views();
        let national = views.directory_for_area("national").ok_or(NotFound)?;
        let card = national.cards.values().find(|c| c.slug == slug).ok_or(NotFound)?.id.clone();
        let area = views.directory_for_area(area_key).ok_or(NotFound)?.clone();
        let national = national.clone();
        let doc_id = views.document_for_area(area_key).ok_or(NotFound)?;
        let (session, author) = (&mut self.session, &self.author);
        crate::local::change_local(area, &national, &card, op, author, |f| effects(session.change(&doc_id, f)))
    }

    /// The local guidance editor's view of the national card `slug` in an area.
    pub fn local_view(&mut self, slug: &str, area_key: &str, lang: &str) -> Option<crate::local::LocalView> {
        let views = self.views();
        crate::local::local_view(views.directory_for_area(area_key)?, views.directory_for_area("national")?, slug, lang)
    }

    /// The documents the views could not read when they last read them, with the cause. This
    /// does not read the documents itself: the status line, drawn at every connection change,
    /// must not pull the parsing of every document forward at start-up.
    pub fn unreadable_docs(&self) -> Vec<crate::views::Unreadable> {
        self.library.unreadable()
    }

    /// The documents held because the relay refused their local changes.
    pub fn held_docs(&self) -> Vec<String> {
        self.session.doc_ids().filter(|id| self.session.is_held(id)).map(|id| id.to_string()).collect()
    }

    /// Resets a held document to the relay's last known state. Returns the values that were
    /// discarded (for the editor to re-enter) and the effects (replace the stored document, sync).
    pub fn reset_doc(&mut self, id: &str) -> Result<(Vec<crate::history::Discarded>, Vec<Effect>), ClientError> {
        let doc_id = parse_id(id)?;
        let (before, events) =
            self.session.reset_doc(&doc_id).ok_or_else(|| ClientError(format!("document {id} is not open")))?;
        let after = self.session.doc(&doc_id).ok_or_else(|| ClientError(format!("document {id} is not open")))?;
        Ok((crate::history::discarded(&before, after), effects(events)))
    }

    /// A whole-document snapshot, to replace many stored chunks.
    pub fn save(&self, id: &str) -> Option<Vec<u8>> {
        Some(self.session.doc(&parse_id(id).ok()?)?.save())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_yields_a_join_frame_and_bad_ids_are_explained() {
        let mut c = Client::new("tab-1".into(), "browser-1".into());
        let e = c.connect();
        assert!(matches!(&e[0], Effect::Send { bytes } if !bytes.is_empty()));
        let err = c.open_doc("nope", &[], None).unwrap_err();
        assert!(err.0.contains("is not a document id"), "{err}");
        let id = DocumentId::from_random_bytes([1; 16]).to_string();
        assert!(c.open_doc(&id, &[], None).is_ok());
        let err = c.open_doc(&id, b"not automerge", None).unwrap_err();
        assert!(err.0.contains("could not be loaded"), "{err}");
    }
}
