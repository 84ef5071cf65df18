//! One document's write policy, without I/O: who may read or write it, whether a writer's changes
//! may be kept, and what to store, record and send as a result.
//!
//! The relay's document task feeds it one event at a time (a sync message from an authenticated
//! peer, a peer leaving, chunks another process stored) together with what it read from storage
//! beforehand, and carries out the [`Effect`]s it returns, in order: appends are committed before
//! any message is sent. The simulation in the end-to-end tests runs the same type in memory.
//! Everything here is plain CPU work, so the relay runs it off the async workers.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use contactpoint_directory::validate::msg;
use contactpoint_directory::{Area, Directory, FieldPath, Place, ValidationIssue, new_issues, validate_document_at};
use contactpoint_protocol::automerge::{Automerge, ChangeHash, ObjType, ROOT, ReadDoc, Value};
use contactpoint_protocol::{Access, DocSync, DocumentId, Reason, Refusal, RefusedIssue, SyncError};

use crate::auth::Identity;
use crate::storage::{Append, AuditEntry, Authorship, Scope};

/// The national document as last committed, which local overrides of guidance are checked
/// against.
pub struct NationalCopy {
    /// Its id.
    pub id: DocumentId,
    /// The stored version it was read at.
    pub version: i64,
    /// Its contents.
    pub directory: Directory,
}

/// Which document holds each contact point id, across the relay: an id belongs to one document,
/// so that no document can shadow another's entry.
/// Erased ids belong to no document and are refused in every one.
#[derive(Default)]
pub struct ContactIds {
    owners: Mutex<HashMap<String, DocumentId>>,
    erased: Mutex<HashSet<String>>,
}

impl ContactIds {
    /// Records that `doc` holds these ids. An id another document already holds keeps its owner.
    pub fn record(&self, doc: DocumentId, ids: impl IntoIterator<Item = String>) {
        let mut owners = self.lock();
        for id in ids {
            owners.entry(id).or_insert(doc);
        }
    }

    /// Claims each id for `doc` unless another document holds it; returns the ids held elsewhere
    /// (and claims nothing then).
    pub fn claim(&self, doc: DocumentId, ids: &BTreeSet<String>) -> Vec<String> {
        let mut owners = self.lock();
        let taken: Vec<String> =
            ids.iter().filter(|id| owners.get(*id).is_some_and(|owner| *owner != doc)).cloned().collect();
        if taken.is_empty() {
            for id in ids {
                owners.insert(id.clone(), doc);
            }
        }
        taken
    }

    /// The document holding `id`, if any.
    pub fn owner(&self, id: &str) -> Option<DocumentId> {
        self.lock().get(id).copied()
    }

    /// Forgets which ids `doc` held (it was tombstoned): its successor records them again.
    pub fn forget(&self, doc: DocumentId) {
        self.lock().retain(|_, owner| *owner != doc);
    }

    /// Records erased ids: no document may take them again.
    pub fn erase(&self, ids: impl IntoIterator<Item = String>) {
        let mut erased = self.erased.lock().unwrap_or_else(|p| p.into_inner());
        erased.extend(ids);
    }

    /// The erased ids among `ids`.
    pub fn erased_among<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let erased = self.erased.lock().unwrap_or_else(|p| p.into_inner());
        ids.into_iter().filter(|id| erased.contains(*id)).cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DocumentId>> {
        self.owners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The ids of the contact points a document holds.
pub fn contact_ids(doc: &Automerge) -> BTreeSet<String> {
    match doc.get(ROOT, "contact_points") {
        Ok(Some((Value::Object(ObjType::Map), obj))) => doc.keys(&obj).collect(),
        _ => BTreeSet::new(),
    }
}

/// A peer as the gate knows it: its connection and who is behind it.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The connection, unique within the relay.
    pub conn: u64,
    /// The authenticated user and device.
    pub identity: Arc<Identity>,
}

/// What the gate asks the relay to do.
#[derive(Debug)]
pub enum Effect {
    /// Store this chunk (with its audit entry and authors) before sending anything that follows.
    Append(Append),
    /// Record an audit entry; nothing waits for it.
    Audit(AuditEntry),
    /// Send a sync message.
    Send {
        /// To which connection.
        conn: u64,
        /// The encoded Automerge sync message.
        data: Vec<u8>,
    },
    /// Tell the connection the document is not available to it.
    Unavailable {
        /// To which connection.
        conn: u64,
    },
    /// Send an `error`, and close the connection when `close` is set.
    Error {
        /// To which connection.
        conn: u64,
        /// Written for a person.
        message: String,
        /// Whether the connection must close.
        close: bool,
        /// The same as data for the client (sent with the message), whose reason is also
        /// counted on `/metrics` (see [`crate::metrics::Metrics::refused`]).
        refusal: Refusal,
    },
}

/// What the document is, as far as the gate knows.
enum Known {
    /// Not in storage.
    Unknown,
    /// Erased: unavailable to everyone, forever.
    Tombstoned,
    /// Stored, with its scope and the sync engine over it.
    Open { scope: Scope, sync: Box<DocSync<u64>> },
}

/// The problems a document had at some heads, measured against some version of the national
/// document. A write is refused only for problems that are not among these.
struct KnownIssues {
    heads: Vec<ChangeHash>,
    national: Option<(DocumentId, i64)>,
    issues: Vec<ValidationIssue>,
}

/// What the gate needs from outside for one sync message.
pub struct SyncInput<'a> {
    /// The peer's sync state from an earlier session, when it is not attached yet.
    pub stored_state: Option<&'a [u8]>,
    /// The committed national document, for checking a writer's changes to an area document.
    pub national: Option<&'a NationalCopy>,
    /// Whether the peer may create this document now, if it is unknown (an admin within the
    /// creation limit).
    pub may_create: bool,
    /// The relay-wide contact point ids.
    pub contact_ids: &'a ContactIds,
    /// The time, for authorship, in seconds since the Unix epoch.
    pub now_secs: i64,
}

/// One document's policy and sync engine.
pub struct Gate {
    id: DocumentId,
    known: Known,
    known_issues: Option<KnownIssues>,
    /// Connections already told that their writes are refused, so they are told once.
    warned: HashSet<u64>,
    /// Set when the engine failed midway through a message: the in-memory copy must be rebuilt
    /// from storage (see [`Gate::rebuild`]) before anything else.
    needs_rebuild: bool,
    /// Set when a sync created the document: the relay stores it with this scope.
    pub created: Option<Scope>,
}

/// Whether a peer's message carries changes that will be checked (so that the relay reads the
/// national document beforehand).
pub fn is_checked_write(scope: &Scope, identity: &Identity, data: &[u8]) -> bool {
    !matches!(scope, Scope::Unlisted)
        && identity.access(scope) == Access::Write
        && contactpoint_protocol::doc_sync::carries_changes(data)
}

/// Where a scope's content must agree with the catalogue; `None` for unlisted documents (and an
/// area text that does not read, which then is not checked against an area).
pub fn place_of(scope: &Scope) -> Option<Place> {
    match scope {
        Scope::Index => Some(Place::Index),
        Scope::National => Some(Place::National),
        Scope::Area(a) => a.parse::<Area>().ok().map(Place::Area),
        Scope::Restricted(a) => a.parse::<Area>().ok().map(Place::Restricted),
        Scope::Unlisted => None,
    }
}

impl Gate {
    /// A gate for a document not in storage.
    pub fn unknown(id: DocumentId) -> Gate {
        Gate {
            id,
            known: Known::Unknown,
            known_issues: None,
            warned: HashSet::new(),
            needs_rebuild: false,
            created: None,
        }
    }

    /// A gate for a stored document.
    pub fn open(id: DocumentId, scope: Scope, sync: DocSync<u64>) -> Gate {
        Gate { known: Known::Open { scope, sync: Box::new(sync) }, ..Gate::unknown(id) }
    }

    /// A gate for an erased document.
    pub fn tombstoned(id: DocumentId) -> Gate {
        Gate { known: Known::Tombstoned, ..Gate::unknown(id) }
    }

    /// The document's id.
    pub fn id(&self) -> DocumentId {
        self.id
    }

    /// The scope, for a stored (or just created) document.
    pub fn scope(&self) -> Option<&Scope> {
        match &self.known {
            Known::Open { scope, .. } => Some(scope),
            _ => None,
        }
    }

    /// The sync engine, for a stored document.
    pub fn sync(&self) -> Option<&DocSync<u64>> {
        match &self.known {
            Known::Open { sync, .. } => Some(sync),
            _ => None,
        }
    }

    /// The sync engine, mutably.
    pub fn sync_mut(&mut self) -> Option<&mut DocSync<u64>> {
        match &mut self.known {
            Known::Open { sync, .. } => Some(sync),
            _ => None,
        }
    }

    /// Whether the engine failed and the document must be rebuilt from storage.
    pub fn needs_rebuild(&self) -> bool {
        self.needs_rebuild
    }

    /// Replaces the in-memory document with one loaded from storage, keeping every peer.
    pub fn rebuild(&mut self, doc: Automerge) {
        if let Known::Open { sync, .. } = &mut self.known {
            sync.rebuild(doc);
        }
        self.known_issues = None;
        self.needs_rebuild = false;
    }

    /// Whether the peer is attached.
    pub fn has_peer(&self, conn: u64) -> bool {
        self.sync().is_some_and(|s| s.has_peer(&conn))
    }

    /// A peer left: returns its sync state to store.
    pub fn detach(&mut self, conn: u64) -> Option<Vec<u8>> {
        self.warned.remove(&conn);
        self.sync_mut().and_then(|s| s.remove_peer(&conn))
    }

    /// Merges chunks another process stored; returns the messages that pass them on.
    pub fn apply_stored(&mut self, bytes: &[u8]) -> Result<Vec<Effect>, SyncError> {
        let Some(sync) = self.sync_mut() else { return Ok(Vec::new()) };
        let out = sync.apply_stored(bytes)?;
        Ok(out.into_iter().map(|(conn, data)| Effect::Send { conn, data }).collect())
    }

    fn unavailable(&self, conn: u64) -> Vec<Effect> {
        vec![Effect::Unavailable { conn }]
    }

    /// A sync message (`request` when the peer says it lacks the document) from an authenticated
    /// peer.
    pub fn on_sync(&mut self, peer: &Peer, request: bool, data: &[u8], input: &SyncInput<'_>) -> Vec<Effect> {
        let conn = peer.conn;
        match &self.known {
            Known::Tombstoned => return self.unavailable(conn),
            Known::Unknown => {
                // An unknown document: a `request` learns nothing; a `sync` from a peer allowed to
                // create documents creates it; anyone else learns nothing either.
                if request || !peer.identity.may_create() {
                    return self.unavailable(conn);
                }
                if !input.may_create {
                    return vec![Effect::Error {
                        conn,
                        message: msg::TOO_MANY_DOCUMENTS.into(),
                        close: false,
                        // No document is named: the client may offer it again later.
                        refusal: Refusal::new(Reason::CreationLimit),
                    }];
                }
                self.known = Known::Open { scope: Scope::Unlisted, sync: Box::new(DocSync::new(Automerge::new())) };
                self.created = Some(Scope::Unlisted);
                tracing::info!(doc = %self.id, user = peer.identity.user_id, "document created through sync");
            }
            Known::Open { .. } => {}
        }
        let id = self.id;
        let Known::Open { scope, sync } = &mut self.known else { return Vec::new() };
        let access = peer.identity.access(scope);
        if access == Access::None {
            return vec![Effect::Unavailable { conn }];
        }
        if !sync.has_peer(&conn) {
            sync.add_peer(conn, access, input.stored_state);
        }
        let checked_write = is_checked_write(scope, &peer.identity, data);
        let had_doc = !sync.heads().is_empty();
        let place = place_of(scope);
        // A catalogued document that is a directory (it declares its kind) must stay valid: a
        // writer's changes are applied to a fork and refused when the result has a problem that
        // the document did not have before. Older problems (data from before a rule existed, or
        // a local override that a newer national document makes incomplete) do not block writes.
        let was_directory = contactpoint_directory::store::document_kind(sync.doc()).is_some();
        let national = input.national.filter(|_| *scope != Scope::National);
        let national_key = national.map(|n| (n.id, n.version));
        let national_dir = national.map(|n| &n.directory);
        let known_issues = &mut self.known_issues;
        let accepted: std::cell::RefCell<Option<KnownIssues>> = std::cell::RefCell::new(None);
        // The problems a refused write added, for the refusal's fields.
        let added_issues: std::cell::RefCell<Vec<ValidationIssue>> = std::cell::RefCell::new(Vec::new());
        let before = sync.heads();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let Some(place) = place.as_ref() else {
                // An unlisted document holds no directory content and is not checked.
                return sync.receive(&conn, data);
            };
            // The problems before the write, worked out only for a message that will be validated,
            // and for a document that is not a directory yet only if the write makes it one (its
            // writes are not checked, so working them out before each would be wasted).
            let known: &[ValidationIssue] = if checked_write && was_directory {
                let current = known_issues.as_ref().is_some_and(|k| k.heads == before && k.national == national_key);
                if !current {
                    *known_issues = Some(KnownIssues {
                        heads: before.clone(),
                        national: national_key,
                        issues: validate_document_at(sync.doc(), national_dir, place),
                    });
                }
                known_issues.as_ref().map_or(&[], |k| k.issues.as_slice())
            } else {
                &[]
            };
            let ids_before = if checked_write && was_directory { contact_ids(sync.doc()) } else { BTreeSet::new() };
            let validator = |candidate: &Automerge, before: &[ChangeHash]| -> Result<(), String> {
                if !was_directory && contactpoint_directory::store::document_kind(candidate).is_none() {
                    return Ok(());
                }
                // A document becoming a directory: what it was before, read back from the history.
                let earlier = if was_directory {
                    None
                } else {
                    let doc = candidate.fork_at(before).map_err(|e| format!("the document before this write: {e}"))?;
                    Some((validate_document_at(&doc, national_dir, place), contact_ids(&doc)))
                };
                let (known, ids_before) = earlier.as_ref().map_or((known, &ids_before), |(k, ids)| (k.as_slice(), ids));
                let mut issues = validate_document_at(candidate, national_dir, place);
                // A new contact point id must not be another document's.
                let mut added: BTreeSet<String> = contact_ids(candidate).difference(ids_before).cloned().collect();
                // Nor an erased one: what was erased does not come back.
                for erased in input.contact_ids.erased_among(&added) {
                    added.remove(&erased);
                    issues.push(ValidationIssue::at(
                        FieldPath::of("contact_points").key(erased.as_str()),
                        msg::ERASED_ID,
                    ));
                }
                for taken in input.contact_ids.claim(id, &added) {
                    issues.push(ValidationIssue::at(
                        FieldPath::of("contact_points").key(taken.as_str()),
                        msg::FOREIGN_ID,
                    ));
                }
                let added = new_issues(known, &issues);
                added_issues.replace(added.clone());
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
            sync.receive_validated(&conn, data, Some(&validator))
        }));
        if let (Ok(Ok(_)), Some(k)) = (&result, accepted.into_inner()) {
            // The candidate is now the document.
            self.known_issues = Some(k);
        }
        let mut effects = Vec::new();
        match result {
            Ok(Ok(r)) => {
                if r.write_refused && self.warned.insert(conn) {
                    tracing::warn!(doc = %id, user = peer.identity.user_id, device = peer.identity.device_id, "write refused: read-only access");
                    effects.push(Effect::Audit(peer.identity.audit(
                        Some(id.to_string()),
                        "sync.refused",
                        "write without write access".into(),
                    )));
                    effects.push(Effect::Error {
                        conn,
                        message: msg::READ_ONLY.replace("{doc}", &id.to_string()),
                        close: false,
                        refusal: Refusal::new(Reason::ReadOnly).about(id),
                    });
                }
                if let Some(bytes) = r.new_changes {
                    let Known::Open { sync, .. } = &self.known else { return effects };
                    // The changes this message added, each recorded with who sent it.
                    let hashes: Vec<_> = sync.doc().get_changes_meta(&before).into_iter().map(|m| m.hash).collect();
                    let detail = match hashes.as_slice() {
                        [] => format!("{} bytes", bytes.len()),
                        [one] => format!("{} bytes, 1 change {one}", bytes.len()),
                        [first, ..] => format!("{} bytes, {} changes, first {first}", bytes.len(), hashes.len()),
                    };
                    effects.push(Effect::Append(Append {
                        doc: id,
                        bytes,
                        audit: peer.identity.audit(Some(id.to_string()), "sync.write", detail),
                        authors: Some(Authorship {
                            user_id: peer.identity.user_id,
                            device_id: peer.identity.device_id,
                            accepted_at: input.now_secs,
                            hashes,
                        }),
                    }));
                }
                effects.extend(r.outgoing.into_iter().map(|(conn, data)| Effect::Send { conn, data }));
                let empty = self.sync().is_none_or(|s| s.heads().is_empty());
                if request && !had_doc && empty {
                    // Neither side has anything: say so, as automerge-repo expects.
                    effects.push(Effect::Unavailable { conn });
                }
            }
            Ok(Err(e)) if !matches!(e, SyncError::Engine(_)) => {
                tracing::warn!(doc = %id, user = peer.identity.user_id, "sync message refused: {e}");
                effects.push(Effect::Audit(peer.identity.audit(Some(id.to_string()), "sync.rejected", e.to_string())));
                let refusal = match e {
                    SyncError::Rejected(_) => Refusal::new(Reason::Invalid)
                        .with_issues(added_issues.into_inner().into_iter().map(refused_issue)),
                    SyncError::Bounds(_) => Refusal::new(Reason::OverLimits),
                    _ => Refusal::new(Reason::Corrupt),
                };
                effects.push(Effect::Error {
                    conn,
                    message: format!("document {id}: {e}"),
                    close: true,
                    refusal: refusal.about(id),
                });
                self.detach(conn);
            }
            Ok(Err(_)) | Err(_) => {
                tracing::error!(doc = %id, user = peer.identity.user_id, "Automerge failed on a peer's message; rebuilding the document");
                effects.push(Effect::Audit(peer.identity.audit(
                    Some(id.to_string()),
                    "sync.rejected",
                    "the sync engine failed on this message".into(),
                )));
                effects.push(Effect::Error {
                    conn,
                    message: format!("document {id}: {}", msg::RELAY_FAILED),
                    close: true,
                    refusal: Refusal::new(Reason::EngineFailure).about(id),
                });
                // The in-memory document may be inconsistent: it is rebuilt from storage, which
                // holds only committed, acknowledged changes. The other peers stay attached.
                self.detach(conn);
                self.needs_rebuild = true;
            }
        }
        effects
    }
}

/// A validation issue as a refusal carries it.
fn refused_issue(issue: ValidationIssue) -> RefusedIssue {
    RefusedIssue {
        path: issue.path.to_string(),
        code: issue.code.to_owned(),
        params: issue.params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}
