//! Content operations on the stored documents: seeding an empty database, and HSDS export and
//! import. The directory crate decides what the content means; this module finds, loads and
//! stores the documents, all in one transaction per operation.

use std::collections::BTreeMap;

use crate::sql::Conn;
use contactpoint_directory::model::{Directory, DocumentKind, IndexEntry};
use contactpoint_directory::store::{read_directory, read_index, write_index};
use contactpoint_directory::{Area, hsds, new_issues, seed, validate_document_at};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;

use crate::storage::{self, AuditEntry, Scope, StorageError};

/// Why an import did not happen. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has problems; every one is listed with its place.
    #[error("the import has {} problem(s):\n{}", .0.len(), .0.join("\n"))]
    Invalid(Vec<String>),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The catalogue scope of an HSDS document key (`national`, an area, `restricted:` an area).
fn scope_of_key(key: &str) -> Scope {
    match (key, key.strip_prefix(RESTRICTED)) {
        ("national", _) => Scope::National,
        (_, Some(area)) => Scope::Restricted(area.to_owned()),
        _ => Scope::Area(key.to_owned()),
    }
}

/// How an area's members-only document is named in HSDS document keys.
const RESTRICTED: &str = "restricted:";

fn audit(doc: Option<String>, action: &str, detail: String) -> AuditEntry {
    AuditEntry { user_id: None, device_id: None, doc_id: doc, action: action.into(), detail }
}

/// Adds entries to the index document (when the relay has one), as one incremental chunk written
/// within the caller's transaction. Clients find documents only through the index.
pub fn catalogue(tx: &Conn, entries: Vec<IndexEntry>) -> Result<(), StorageError> {
    let Some(index_id) = storage::meta_get(tx, "index_document_id")?.and_then(|s| s.parse::<DocumentId>().ok()) else {
        return Ok(());
    };
    if entries.is_empty() {
        return Ok(());
    }
    let Some(mut s) = load(tx, &index_id)? else { return Ok(()) };
    let before = s.doc.get_heads();
    let mut index = read_index(&s.doc).map_err(|source| StorageError::read(index_id, source))?;
    for e in entries {
        index.documents.insert(e.id.clone(), e);
    }
    let mut t = s.doc.transaction();
    write_index(&mut t, &index).map_err(|source| StorageError::change(index_id, source))?;
    t.commit();
    storage::append_chunk(tx, &index_id, &s.doc.save_after(&before))
}

/// Fills an empty database with the sample data (index, national document, example area
/// documents). Returns the index document's id, or `None` if the database had documents.
pub fn seed_if_empty(conn: &mut Conn, today: &str) -> Result<Option<DocumentId>, StorageError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM documents", &[], |r| r.get(0))?;
    if count > 0 {
        return Ok(None);
    }
    let set =
        seed::build(today, |_, _| DocumentId::from_random_bytes(crate::random::random_bytes::<16>()).to_string())?;
    let tx = conn.transaction()?;
    let mut all = vec![(&set.index, Scope::Index), (&set.national, Scope::National)];
    all.extend(set.areas.iter().map(|a| (a, Scope::Area(a.area.as_ref().map(Area::to_string).unwrap_or_default()))));
    all.extend(
        set.restricted.iter().map(|a| (a, Scope::Restricted(a.area.as_ref().map(Area::to_string).unwrap_or_default()))),
    );
    for (d, scope) in &all {
        let id = StorageError::parse_id("seed id", &d.id)?;
        storage::create_doc(&tx, &id, scope, &d.doc.save())?;
    }
    storage::meta_set(&tx, "index_document_id", &set.index.id)?;
    storage::insert_audit(&tx, &audit(None, "seed", format!("{} documents of sample data", all.len())))?;
    tx.commit()?;
    StorageError::parse_id("seed id", &set.index.id).map(Some)
}

/// A stored document loaded for reading or changing.
struct Stored {
    id: DocumentId,
    doc: Automerge,
}

fn load(conn: &Conn, id: &DocumentId) -> Result<Option<Stored>, StorageError> {
    let Some(s) = storage::load_doc(conn, id)? else { return Ok(None) };
    let doc = Automerge::load(&s.bytes).map_err(|source| StorageError::load(*id, source))?;
    Ok(Some(Stored { id: *id, doc }))
}

/// The directory documents (national, areas and their members-only documents) by HSDS key,
/// skipping tombstoned ones.
fn directory_docs(conn: &Conn) -> Result<BTreeMap<String, DocumentId>, StorageError> {
    let mut out = BTreeMap::new();
    for (id, scope, tombstoned) in storage::list_docs(conn)? {
        let key = match scope {
            Scope::National => "national".to_owned(),
            Scope::Area(a) => a,
            Scope::Restricted(a) => format!("{RESTRICTED}{a}"),
            _ => continue,
        };
        if tombstoned {
            continue;
        }
        if let Ok(id) = id.parse::<DocumentId>() {
            out.insert(key, id);
        }
    }
    Ok(out)
}

/// Every directory stored, national first, for export; the areas' members-only documents only
/// with `include_restricted`.
pub fn export_directories(conn: &Conn, include_restricted: bool) -> Result<Vec<Directory>, StorageError> {
    let mut dirs = Vec::new();
    for (key, id) in &directory_docs(conn)? {
        if key.starts_with(RESTRICTED) && !include_restricted {
            continue;
        }
        if let Some(s) = load(conn, id)? {
            let d = read_directory(&s.doc).map_err(|source| StorageError::read(*id, source))?;
            dirs.push(d);
        }
    }
    dirs.sort_by_key(|d| !d.is_national());
    Ok(dirs)
}

/// What an import changed.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// (document key, organisations, contact points) per document touched.
    pub documents: Vec<(String, usize, usize)>,
    /// Keys of documents that did not exist and were created.
    pub created: Vec<String>,
}

/// Imports parsed HSDS directories: into the documents they name, or all into `area` when given.
/// Every resulting document is validated before anything is stored; any problem the import adds
/// (including a local override that drops a locked step of the national card) aborts the whole
/// import, which is written in one transaction.
pub fn import(conn: &mut Conn, imported: Vec<Directory>, area: Option<&Area>) -> Result<ImportReport, ImportError> {
    // Group by target document.
    let mut targets: BTreeMap<String, Vec<Directory>> = BTreeMap::new();
    for d in imported {
        let key = match area {
            Some(a) if d.is_restricted() => format!("{RESTRICTED}{a}"),
            Some(a) => a.to_string(),
            None => hsds::document_key(&d),
        };
        targets.entry(key).or_default().push(d);
    }
    let existing = directory_docs(conn)?;
    let mut problems = Vec::new();
    let mut writes: Vec<(String, Option<DocumentId>, Automerge, Vec<contactpoint_protocol::automerge::ChangeHash>)> =
        Vec::new();
    let mut report = ImportReport::default();
    for (key, dirs) in &targets {
        let (id, mut doc) = match existing.get(key) {
            Some(id) => match load(conn, id)? {
                Some(s) => (Some(s.id), s.doc),
                None => (None, Automerge::new()),
            },
            None => (None, Automerge::new()),
        };
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        if id.is_none() {
            // A new document gets the directory's own header (kind, area, title).
            let header = Directory {
                organisations: BTreeMap::new(),
                contact_points: BTreeMap::new(),
                cards: BTreeMap::new(),
                ..dirs[0].clone()
            };
            let header = if let (Some(a), false) = (area, header.is_national()) {
                let kind = if header.is_restricted() { DocumentKind::Restricted } else { DocumentKind::Area };
                Directory { area: Some(a.clone()), kind: Some(kind), ..header }
            } else {
                header
            };
            if let Err(e) = contactpoint_directory::store::write_directory(&mut tx, &header) {
                problems.push(format!("document {key}: {e}"));
            }
        }
        let (mut orgs, mut contacts) = (0, 0);
        for d in dirs {
            orgs += d.organisations.len();
            contacts += d.contact_points.len();
            if let Err(e) = hsds::apply(&mut tx, d) {
                problems.push(format!("document {key}: {e}"));
            }
        }
        tx.commit();
        report.documents.push((key.clone(), orgs, contacts));
        if id.is_none() {
            report.created.push(key.clone());
        }
        writes.push((key.clone(), id, doc, before));
    }
    // The same rule as for writes through the relay: an import is refused for the problems it
    // adds, with local overrides checked against the national document as it will be after the
    // import. Problems a document already had do not block importing into it.
    let national = match writes.iter().find(|(key, ..)| key == "national") {
        Some((_, _, doc, _)) => read_directory(doc).ok(),
        None => match existing.get("national") {
            Some(id) => load(conn, id)?.and_then(|s| read_directory(&s.doc).ok()),
            None => None,
        },
    };
    // Which document holds each contact point id now: an import may not give a new entry an id
    // that another document holds, as the relay refuses for writes.
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for (key, id) in &existing {
        if let Some(stored) = load(conn, id)? {
            for cid in crate::gate::contact_ids(&stored.doc) {
                owners.entry(cid).or_insert_with(|| key.clone());
            }
        }
    }
    // Nor an erased one (an old export brings back nothing that was erased).
    let erased: std::collections::BTreeSet<String> = storage::erased_contacts(conn)?.into_iter().collect();
    for (key, _, doc, before) in &writes {
        let Some(place) = crate::gate::place_of(&scope_of_key(key)) else { continue };
        let earlier = if before.is_empty() { None } else { Some(doc.fork_at(before).map_err(StorageError::from)?) };
        let old = earlier.as_ref().map_or_else(Vec::new, |e| validate_document_at(e, national.as_ref(), &place));
        for issue in new_issues(&old, &validate_document_at(doc, national.as_ref(), &place)) {
            problems.push(format!("document {key}: {}: {}", issue.path, issue.message));
        }
        let had = earlier.as_ref().map(crate::gate::contact_ids).unwrap_or_default();
        for cid in crate::gate::contact_ids(doc).difference(&had) {
            if erased.contains(cid) {
                problems.push(format!(
                    "document {key}: contact_points.{cid}: this contact point was erased and cannot be added again; \
                     a new entry needs a new id"
                ));
                continue;
            }
            match owners.get(cid) {
                Some(other) if other != key => problems.push(format!(
                    "document {key}: contact_points.{cid}: this id belongs to a contact point of document {other}; \
                     a new entry needs a new id"
                )),
                _ => {
                    owners.insert(cid.clone(), key.clone());
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    let tx = conn.transaction()?;
    let mut new_entries = Vec::new();
    for (key, id, doc, before) in writes {
        match id {
            Some(id) => {
                let bytes = doc.save_after(&before);
                if !bytes.is_empty() {
                    storage::append_chunk(&tx, &id, &bytes)?;
                    storage::insert_audit(
                        &tx,
                        &audit(Some(id.to_string()), "import", format!("HSDS import into {key}")),
                    )?;
                }
            }
            None => {
                let id = DocumentId::from_random_bytes(crate::random::random_bytes::<16>());
                storage::create_doc(&tx, &id, &scope_of_key(&key), &doc.save())?;
                storage::insert_audit(
                    &tx,
                    &audit(Some(id.to_string()), "import", format!("HSDS import created {key}")),
                )?;
                let d = read_directory(&doc).map_err(|source| StorageError::read(id, source))?;
                // Members-only documents stay out of the catalogue that every device reads.
                if d.is_restricted() {
                    continue;
                }
                new_entries.push(IndexEntry {
                    id: id.to_string(),
                    kind: if key == "national" { DocumentKind::National } else { DocumentKind::Area },
                    area: d.area.clone(),
                    title: d.title.clone(),
                });
            }
        }
    }
    // New documents are catalogued in the index, so that clients find them.
    catalogue(&tx, new_entries)?;
    tx.commit()?;
    Ok(report)
}

/// What the move of one area's members-only entries did.
#[derive(Debug)]
pub struct MovedMembersOnly {
    /// The area.
    pub area: String,
    /// The open document they were in, now tombstoned.
    pub from: DocumentId,
    /// Its successor, without them and without history.
    pub rotated_to: DocumentId,
    /// The members-only document that holds them now.
    pub to: DocumentId,
    /// The contact point ids moved.
    pub contacts: Vec<String>,
}

/// Moves contact points marked for area members out of the areas' open documents, where every
/// device received them (databases from before members-only documents), into each area's
/// members-only document (created if missing). The open document is then rotated, so no
/// history that devices receive keeps them. Runs when the relay starts, before it serves; a
/// crash between the two steps leaves the entries in both documents, and the next start
/// finishes the move (writing them again changes nothing). Once it has finished, a mark in `meta`
/// spares later starts reading every area document again: validation keeps new members-only
/// entries out of open documents.
pub fn move_members_only(conn: &mut Conn) -> Result<Vec<MovedMembersOnly>, crate::rotate::RotateError> {
    use contactpoint_directory::model::Visibility;
    const DONE: &str = "members_only_moved";
    if storage::meta_get(conn, DONE)?.is_some() {
        return Ok(Vec::new());
    }
    let members_only = |c: &contactpoint_directory::ContactPoint| c.visibility() == Visibility::AreaMembers;
    let live = crate::rotate::live_documents(conn)?;
    let mut moved = Vec::new();
    for (id, scope) in &live {
        let Scope::Area(area) = scope else { continue };
        let Some(stored) = load(conn, id)? else { continue };
        let Ok(open) = read_directory(&stored.doc) else { continue };
        let entries: BTreeMap<String, contactpoint_directory::ContactPoint> =
            open.contact_points.into_iter().filter(|(_, c)| members_only(c)).collect();
        if entries.is_empty() {
            continue;
        }
        let restricted = Scope::Restricted(area.clone());
        let to = match live.iter().find(|(_, s)| *s == restricted) {
            Some((to, _)) => *to,
            None => {
                let empty = crate::admin::empty_document(&restricted).map_err(StorageError::Invalid)?;
                crate::admin::create_document(conn, &restricted, &empty)?
            }
        };
        let Some(mut target) = load(conn, &to)? else { continue };
        let before = target.doc.get_heads();
        let mut tx = target.doc.transaction();
        let entries_dir = Directory { contact_points: entries.clone(), ..Directory::default() };
        hsds::apply(&mut tx, &entries_dir).map_err(|source| StorageError::change(to, source))?;
        tx.commit();
        let bytes = target.doc.save_after(&before);
        let ids: Vec<String> = entries.keys().cloned().collect();
        let db_tx = conn.transaction()?;
        storage::append_chunk(&db_tx, &to, &bytes)?;
        storage::insert_audit(
            &db_tx,
            &audit(Some(to.to_string()), "members_only.move", format!("from {id}: {}", ids.join(" "))),
        )?;
        db_tx.commit()?;
        let rotation =
            crate::rotate::rotate(conn, id, |c| !members_only(c), crate::rotate::Purpose::Move, "relay start")?;
        moved.push(MovedMembersOnly { area: area.clone(), from: *id, rotated_to: rotation.new, to, contacts: ids });
    }
    storage::meta_set(conn, DONE, "1")?;
    Ok(moved)
}
