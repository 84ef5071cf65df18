//! Rotation: a document's current state, without some of its contact points, moved into a new
//! document that has no history, and the old document tombstoned and forgotten.
//!
//! Automerge keeps every value a document ever held in its history, so deleting a contact point
//! from a document leaves it in every copy of that document. Rotation is how the relay really
//! removes one: the kept state is written into a brand-new document as one change, the catalogue
//! entry moves to the new id (recording the old one in `replaces`, so devices know where the
//! content went), and the old document is tombstoned with its chunks, sync states and authors
//! deleted. [`forget`] then makes SQLite drop the deleted pages from its files.
//!
//! Erasure (`contactpoint admin erase`) drops the entries that name a person, or one by id, and
//! keeps their ids in `erased_contacts` so that no write brings them back. Other callers (moving
//! entries to another document) keep whatever their predicate says and get the dropped entries
//! back.

use std::collections::BTreeSet;

use crate::sql::Conn;
use contactpoint_directory::ContactPoint;
use contactpoint_directory::store::{read_directory, read_index, replace_index_entry};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::storage::{self, AuditEntry, Scope, StorageError};

/// Why contact points are dropped from a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// They are erased: their ids are refused relay-wide from now on.
    Erase,
    /// They move elsewhere (the caller stores them in another document).
    Move,
}

/// A rotation that happened.
#[derive(Debug)]
pub struct Rotation {
    /// The tombstoned document.
    pub old: DocumentId,
    /// The document that holds what was kept.
    pub new: DocumentId,
    /// The scope both have.
    pub scope: Scope,
    /// The contact points dropped, as they were in the old document.
    pub dropped: Vec<ContactPoint>,
}

/// Why a rotation did not happen, or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// There is no such document.
    #[error("there is no document {0}")]
    NoDocument(DocumentId),
    /// It was tombstoned already.
    #[error("document {0} has been erased already")]
    Tombstoned(DocumentId),
    /// It is not a directory document (the index, or an unlisted one without contact points).
    #[error("document {0} is not a directory document: {1}")]
    NotDirectory(DocumentId, String),
    /// The predicate kept every contact point; nothing was changed.
    #[error("document {0} has no contact point to drop; nothing was changed")]
    NothingToDrop(DocumentId),
    /// Storage failed; nothing was changed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The rotation is committed, but the database files may still hold the old pages: run
    /// [`forget`] again.
    #[error("document {} was replaced by {}, but the database could not be cleaned yet: {error}", rotation.old, rotation.new)]
    NotForgotten {
        /// What was committed.
        rotation: Box<Rotation>,
        /// Why the files could not be cleaned.
        error: StorageError,
    },
}

/// Rotates `old`: keeps the contact points for which `keep` holds, drops the others, and returns
/// what was dropped. In one immediate transaction: reads the stored document, writes its current
/// state without the dropped entries into a new document of the same scope (one change, no
/// history), moves its catalogue entry in the index to the new id, tombstones the old document
/// (naming its successor) and deletes its chunks, sync states and change authors. For
/// [`Purpose::Erase`] the dropped ids are kept in `erased_contacts`. Every step is audited
/// (`document.rotate`, and `admin.erase` per erased id, with `by`), never with the dropped
/// values. Then [`forget`] runs, so the old pages leave the database files.
///
/// A relay running on the same file notices within its watcher's poll: it unloads the old
/// document, tells its peers it is unavailable and never stores anything for it again (the
/// schema refuses chunks, sync states and authors for a tombstoned document).
pub fn rotate(
    conn: &mut Conn,
    old: &DocumentId,
    keep: impl Fn(&ContactPoint) -> bool,
    purpose: Purpose,
    by: &str,
) -> Result<Rotation, RotateError> {
    let rotation = rotate_in_transaction(conn, old, keep, purpose, by)?;
    match forget(conn) {
        Ok(()) => Ok(rotation),
        Err(error) => Err(RotateError::NotForgotten { rotation: Box::new(rotation), error }),
    }
}

fn rotate_in_transaction(
    conn: &mut Conn,
    old: &DocumentId,
    keep: impl Fn(&ContactPoint) -> bool,
    purpose: Purpose,
    by: &str,
) -> Result<Rotation, RotateError> {
    let tx = conn.transaction_immediate()?;
    let Some(stored) = storage::load_doc(&tx, old)? else { return Err(RotateError::NoDocument(*old)) };
    if stored.tombstoned {
        return Err(RotateError::Tombstoned(*old));
    }
    if matches!(stored.scope, Scope::Index) {
        return Err(RotateError::NotDirectory(*old, "it is the catalogue".into()));
    }
    let doc = Automerge::load(&stored.bytes).map_err(|source| StorageError::load(*old, source))?;
    let directory = read_directory(&doc).map_err(|e| RotateError::NotDirectory(*old, e.to_string()))?;
    let dropped: Vec<ContactPoint> = directory.contact_points.values().filter(|c| !keep(c)).cloned().collect();
    if dropped.is_empty() {
        return Err(RotateError::NothingToDrop(*old));
    }
    let drop_ids: BTreeSet<String> = dropped.iter().map(|c| c.id.clone()).collect();
    let fresh = copy_without(&doc, &drop_ids).map_err(StorageError::from)?;

    let new = DocumentId::from_random_bytes(crate::random::random_bytes::<16>());
    storage::create_doc(&tx, &new, &stored.scope, &fresh.save())?;
    move_catalogue_entry(&tx, old, &new)?;
    let now = storage::now_ms();
    tx.execute(
        "UPDATE documents SET tombstoned_at = ?1, replaced_by = ?2 WHERE id = ?3",
        crate::args![now, new.to_string(), old.to_string()],
    )?;
    tx.notify(&crate::notice::Notice::Access)?;
    for table in ["chunks", "sync_states", "change_authors"] {
        tx.execute(&format!("DELETE FROM {table} WHERE doc_id = ?1"), crate::args![old.to_string()])?;
    }
    let ids: Vec<&str> = drop_ids.iter().map(String::as_str).collect();
    let audit = |doc: &DocumentId, action: &str, detail: String| AuditEntry {
        user_id: None,
        device_id: None,
        doc_id: Some(doc.to_string()),
        action: action.into(),
        detail,
    };
    storage::insert_audit(
        &tx,
        &audit(
            old,
            "document.rotate",
            format!("replaced by {new}; {} contact point(s) dropped: {}; by={by}", ids.len(), ids.join(" ")),
        ),
    )?;
    if purpose == Purpose::Erase {
        for id in &ids {
            tx.execute(
                "INSERT INTO erased_contacts(contact_id, doc_id, erased_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(contact_id) DO NOTHING",
                crate::args![id, old.to_string(), now],
            )?;
            storage::insert_audit(&tx, &audit(old, "admin.erase", format!("contact {id}; now in {new}; by={by}")))?;
        }
    }
    tx.commit()?;
    Ok(Rotation { old: *old, new, scope: stored.scope, dropped })
}

/// Points the index's catalogue entry of `old` at `new`, as one change appended to the index
/// like any other write. A document the index does not list is left out of it.
fn move_catalogue_entry(tx: &Conn, old: &DocumentId, new: &DocumentId) -> Result<(), StorageError> {
    let Some(index_id) = storage::meta_get(tx, "index_document_id")?.and_then(|s| s.parse::<DocumentId>().ok()) else {
        return Ok(());
    };
    let Some(stored) = storage::load_doc(tx, &index_id)? else { return Ok(()) };
    let mut index = Automerge::load(&stored.bytes).map_err(|source| StorageError::load(index_id, source))?;
    if !read_index(&index).is_ok_and(|i| i.documents.contains_key(&old.to_string())) {
        return Ok(());
    }
    let before = index.get_heads();
    let mut t = index.transaction();
    replace_index_entry(&mut t, &old.to_string(), &new.to_string())
        .map_err(|source| StorageError::change(index_id, source))?;
    t.commit();
    storage::append_chunk(tx, &index_id, &index.save_after(&before))
}

/// A new document holding `doc`'s current state (the winning value of each field) in one change,
/// without the contact points `drop`. Everything else is copied as it is, whether or not this
/// version of the schema knows it.
pub fn copy_without(doc: &Automerge, drop: &BTreeSet<String>) -> Result<Automerge, AutomergeError> {
    let mut fresh = Automerge::new();
    let mut tx = fresh.transaction();
    for key in doc.keys(ROOT).collect::<Vec<_>>() {
        let Some((value, from)) = doc.get(ROOT, &key)? else { continue };
        match value {
            Value::Scalar(s) => {
                tx.put(ROOT, &key, s.into_owned())?;
            }
            Value::Object(ty) => {
                let to = tx.put_object(ROOT, &key, ty)?;
                let skip = if key == "contact_points" { drop } else { &BTreeSet::new() };
                copy_object(doc, &from, ty, &mut tx, &to, skip)?;
            }
        }
    }
    tx.commit();
    Ok(fresh)
}

fn copy_object<T: Transactable>(
    doc: &Automerge,
    from: &ObjId,
    ty: ObjType,
    tx: &mut T,
    to: &ObjId,
    skip: &BTreeSet<String>,
) -> Result<(), AutomergeError> {
    match ty {
        ObjType::Map | ObjType::Table => {
            for key in doc.keys(from).collect::<Vec<_>>() {
                if skip.contains(&key) {
                    continue;
                }
                let Some((value, child)) = doc.get(from, &key)? else { continue };
                match value {
                    Value::Scalar(s) => tx.put(to, &key, s.into_owned())?,
                    Value::Object(t) => {
                        let made = tx.put_object(to, &key, t)?;
                        copy_object(doc, &child, t, tx, &made, &BTreeSet::new())?;
                    }
                }
            }
        }
        ObjType::List => {
            for i in 0..doc.length(from) {
                let Some((value, child)) = doc.get(from, i)? else { continue };
                let at = tx.length(to);
                match value {
                    Value::Scalar(s) => tx.insert(to, at, s.into_owned())?,
                    Value::Object(t) => {
                        let made = tx.insert_object(to, at, t)?;
                        copy_object(doc, &child, t, tx, &made, &BTreeSet::new())?;
                    }
                }
            }
        }
        ObjType::Text => {
            let text = doc.text(from)?;
            tx.splice_text(to, 0, 0, &text)?;
        }
    }
    Ok(())
}

/// Makes SQLite forget deleted content: rebuilds the file without free pages (`VACUUM`; pages
/// freed before secure deletion was on could still hold old rows), then copies the write-ahead
/// log into the file and truncates it, so no old frame survives in `-wal`. A relay reading the
/// file at that moment delays the truncation; it is retried for a few seconds.
pub fn forget(conn: &Conn) -> Result<(), StorageError> {
    let Some(conn) = conn.as_sqlite() else {
        // PostgreSQL: rewrite the tables that held the erased rows, so that their old row
        // versions leave the data files (its write-ahead log is recycled by the server). One
        // statement at a time: several in one query string run as one transaction block, in
        // which VACUUM is refused.
        for table in ["chunks", "sync_states", "change_authors", "documents"] {
            conn.execute_batch(&format!("VACUUM FULL {table}"))?;
        }
        return Ok(());
    };
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.execute_batch("VACUUM")?;
    for _ in 0..50 {
        let (busy, _log, _done): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        if busy == 0 {
            let wal: Option<String> = rusqlite::OptionalExtension::optional(conn.query_row(
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
                [],
                |r| r.get(0),
            ))?;
            let empty = wal
                .filter(|f| !f.is_empty())
                .map(|f| std::fs::metadata(format!("{f}-wal")).map(|m| m.len() == 0).unwrap_or(true))
                .unwrap_or(true);
            if empty {
                return Ok(());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(StorageError::Invalid(
        "the write-ahead log could not be truncated (another process kept reading); run the command again".into(),
    ))
}

/// Every document that is not tombstoned, with its scope.
pub fn live_documents(conn: &Conn) -> Result<Vec<(DocumentId, Scope)>, StorageError> {
    Ok(storage::list_docs(conn)?
        .into_iter()
        .filter(|(_, _, tombstoned)| !tombstoned)
        .filter_map(|(id, scope, _)| id.parse().ok().map(|id| (id, scope)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;
    use contactpoint_directory::store::read_replacements;

    fn seeded() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        db.with(|c| crate::content::seed_if_empty(c, "2026-11-01")).unwrap().unwrap();
        (dir, db)
    }

    fn doc(c: &Conn, id: &DocumentId) -> Automerge {
        Automerge::load(&storage::load_doc(c, id).unwrap().unwrap().bytes).unwrap()
    }

    /// An area document with at least two contact points, and one of them.
    fn victim(c: &Conn) -> (DocumentId, String) {
        for (id, scope) in live_documents(c).unwrap() {
            if let Scope::Area(_) = scope {
                let d = read_directory(&doc(c, &id)).unwrap();
                if d.contact_points.len() >= 2 {
                    return (id, d.contact_points.keys().next().unwrap().clone());
                }
            }
        }
        panic!("the seed has an area document with two contact points");
    }

    #[test]
    fn rotation_keeps_the_state_without_the_entry_in_one_change() {
        let (_dir, db) = seeded();
        db.with(|c| {
            let (old, gone) = victim(c);
            let before = read_directory(&doc(c, &old)).unwrap();
            let r = rotate(c, &old, |cp| cp.id != gone, Purpose::Erase, "test").unwrap();
            assert_eq!(r.old, old);
            assert_eq!(r.dropped.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), vec![gone.clone()]);

            let new = doc(c, &r.new);
            assert_eq!(new.get_changes(&[]).len(), 1, "no history: one change");
            let mut expected = before.clone();
            expected.contact_points.remove(&gone);
            assert_eq!(read_directory(&new).unwrap(), expected, "everything else is kept");
            assert_eq!(storage::doc_scope(c, &r.new)?, Some((r.scope.clone(), false)));

            // The old document is tombstoned, names its successor, and has no rows left.
            assert_eq!(storage::doc_scope(c, &old)?.map(|s| s.1), Some(true));
            let replaced: Option<String> =
                c.query_row("SELECT replaced_by FROM documents WHERE id = ?1", crate::args![old.to_string()], |r| {
                    r.get(0)
                })?;
            assert_eq!(replaced, Some(r.new.to_string()));
            for table in ["chunks", "sync_states", "change_authors"] {
                let n: i64 = c.query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE doc_id = ?1"),
                    crate::args![old.to_string()],
                    |r| r.get(0),
                )?;
                assert_eq!(n, 0, "{table} rows of the old document");
            }
            assert_eq!(storage::erased_contacts(c)?, vec![gone.clone()]);

            // The catalogue lists the new id in the old one's place and says what it replaces.
            let index_id: DocumentId = storage::meta_get(c, "index_document_id")?.unwrap().parse().unwrap();
            let index = doc(c, &index_id);
            let listed = read_index(&index).unwrap();
            assert!(!listed.documents.contains_key(&old.to_string()));
            assert!(listed.documents.contains_key(&r.new.to_string()));
            assert_eq!(read_replacements(&index).get(&old.to_string()), Some(&r.new.to_string()));

            // The audit says which id, never what it held.
            let details: Vec<String> =
                c.query_map("SELECT detail FROM audit WHERE action = 'admin.erase'", &[], |r| r.get(0))?;
            assert_eq!(details.len(), 1);
            assert!(details[0].contains(&gone));
            let gone_cp = &r.dropped[0];
            for text in gone_cp.name.0.values() {
                assert!(!details[0].contains(text.as_str()));
            }

            // A second rotation carries the chain of replaced ids.
            let next = read_directory(&new).unwrap().contact_points.keys().next().unwrap().clone();
            let r2 = rotate(c, &r.new, |cp| cp.id != next, Purpose::Erase, "test").unwrap();
            let replacements = read_replacements(&doc(c, &index_id));
            assert_eq!(replacements.get(&old.to_string()), Some(&r2.new.to_string()));
            assert_eq!(replacements.get(&r.new.to_string()), Some(&r2.new.to_string()));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn nothing_is_stored_for_a_tombstoned_document() {
        let (_dir, db) = seeded();
        db.with(|c| {
            let (old, gone) = victim(c);
            rotate(c, &old, |cp| cp.id != gone, Purpose::Erase, "test").unwrap();
            let audit = || AuditEntry {
                user_id: None,
                device_id: None,
                doc_id: None,
                action: "t".into(),
                detail: String::new(),
            };
            let append = storage::Append { doc: old, bytes: b"late".to_vec(), audit: audit(), authors: None };
            assert!(storage::append_batch(c, &[append], None).is_err(), "a late chunk is refused");
            assert!(
                !matches!(storage::compact(c, &old, b"snap", &[1]), Ok(Some(_))),
                "a late compaction stores nothing"
            );
            let state = (old, 1, "storage".to_owned(), b"state".to_vec());
            assert!(storage::save_sync_states(c, &[state]).is_err(), "a late sync state is refused");
            assert_eq!(storage::load_doc(c, &old)?.unwrap().bytes, b"");
            // Rotating it again is refused too.
            assert!(matches!(rotate(c, &old, |_| false, Purpose::Erase, "test"), Err(RotateError::Tombstoned(_))));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn an_old_export_does_not_bring_an_erased_entry_back() {
        let (_dir, db) = seeded();
        db.with(|c| {
            let (old, gone) = victim(c);
            let export = contactpoint_directory::hsds::export_json(&crate::content::export_directories(c, true)?);
            rotate(c, &old, |cp| cp.id != gone, Purpose::Erase, "test").unwrap();
            let dirs = contactpoint_directory::hsds::import_json(&export).unwrap();
            match crate::content::import(c, dirs, None) {
                Err(crate::content::ImportError::Invalid(problems)) => {
                    assert!(problems.iter().any(|p| p.contains(&gone) && p.contains("erased")), "{problems:?}");
                }
                other => panic!("the import was not refused: {other:?}"),
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn the_files_keep_no_free_pages_and_no_log() {
        let (dir, db) = seeded();
        db.with(|c| {
            let (old, gone) = victim(c);
            rotate(c, &old, |cp| cp.id != gone, Purpose::Erase, "test").unwrap();
            let free: i64 = c.query_row("PRAGMA freelist_count", &[], |r| r.get(0))?;
            assert_eq!(free, 0);
            Ok(())
        })
        .unwrap();
        let wal = std::fs::metadata(dir.path().join("t.sqlite-wal")).map(|m| m.len()).unwrap_or(0);
        assert_eq!(wal, 0, "the write-ahead log is truncated");
    }

    #[test]
    fn a_predicate_that_keeps_everything_changes_nothing() {
        let (_dir, db) = seeded();
        db.with(|c| {
            let (old, _) = victim(c);
            assert!(matches!(rotate(c, &old, |_| true, Purpose::Move, "test"), Err(RotateError::NothingToDrop(_))));
            assert_eq!(storage::doc_scope(c, &old)?.map(|s| s.1), Some(false));
            Ok(())
        })
        .unwrap();
    }
}
