//! Sample data, HSDS export and import on real database files, and imports reaching connected
//! clients of a running relay.

use contactpoint_directory::store::{read_contact_point, read_directory};
use contactpoint_directory::{hsds, validate_document};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Db, Scope};
use contactpoint_tests::{Engine, NativeClient, TestRelay};

fn seeded(engine: Engine) -> anyhow::Result<(tempfile::TempDir, Db)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&engine.fresh(dir.path())?)?;
    assert!(db.with(|c| content::seed_if_empty(c, "2026-11-24"))?.is_some());
    assert!(db.with(|c| content::seed_if_empty(c, "2026-11-24"))?.is_none(), "seeding happens only once");
    Ok((dir, db))
}

fn fresh(engine: Engine) -> anyhow::Result<(tempfile::TempDir, Db)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&engine.fresh(dir.path())?)?;
    Ok((dir, db))
}

fn export_json(db: &Db) -> anyhow::Result<String> {
    Ok(hsds::export_json(&db.with(|c| content::export_directories(c, true))?))
}

on_both_engines!(fn the_stored_sample_data_validates);
/// Every stored document of the sample data loads and validates.
fn the_stored_sample_data_validates(engine: Engine) -> anyhow::Result<()> {
    let (_d, db) = seeded(engine)?;
    let docs = db.with(|c| storage::list_docs(c))?;
    assert!(docs.len() >= 40, "index, national and area documents: {}", docs.len());
    for (id, _, _) in docs {
        let id: DocumentId = id.parse()?;
        let stored = db.with(|c| storage::load_doc(c, &id))?.expect("stored");
        let doc = Automerge::load(&stored.bytes)?;
        assert_eq!(validate_document(&doc), vec![], "document {id}");
    }
    Ok(())
}

on_both_engines!(fn export_import_export_is_identical);
/// Sample data → export → import into an empty store → export again is identical, in JSON and
/// in the CSV datapackage.
fn export_import_export_is_identical(engine: Engine) -> anyhow::Result<()> {
    let (_a, seeded) = seeded(engine)?;
    let first = export_json(&seeded)?;

    let (_b, empty) = fresh(engine)?;
    let dirs = hsds::import_json(&first).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    empty.with(|c| Ok(content::import(c, dirs, None)))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(export_json(&empty)?, first, "JSON round trip");

    let files = hsds::export_datapackage(&seeded.with(|c| content::export_directories(c, true))?);
    assert!(files.contains_key("datapackage.json"));
    let (_c, empty) = fresh(engine)?;
    let dirs = hsds::import_datapackage(&files).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    empty.with(|c| Ok(content::import(c, dirs, None)))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(export_json(&empty)?, first, "CSV datapackage round trip");
    Ok(())
}

on_both_engines!(fn an_invalid_import_changes_nothing);
/// An import with a problem anywhere changes nothing at all, and says where the problem is.
fn an_invalid_import_changes_nothing(engine: Engine) -> anyhow::Result<()> {
    let (_a, db) = seeded(engine)?;
    let before = export_json(&db)?;
    let chunks = |db: &Db| {
        db.with(|c| {
            c.query_row("SELECT COUNT(*), SUM(LENGTH(data)) FROM chunks", &[], |r| {
                Ok((r.get::<i64>(0)?, r.get::<i64>(1)?))
            })
        })
    };
    let chunks_before = chunks(&db)?;
    let mut dirs = hsds::import_json(&before).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // One good change and one bad one, in different documents.
    let good =
        dirs.iter_mut().find(|d| d.is_national()).and_then(|d| d.contact_points.values_mut().next()).expect("contact");
    good.email = Some("changed@example.invalid".into());
    let bad =
        dirs.iter_mut().find(|d| !d.is_national()).and_then(|d| d.contact_points.values_mut().next()).expect("contact");
    bad.description.set("fi", "Oppilas 010190-123M on huolestuttava");
    let err = db.with(|c| Ok(content::import(c, dirs, None)))?.expect_err("refused").to_string();
    assert!(err.contains("personal identity code"), "{err}");
    assert_eq!(chunks(&db)?, chunks_before, "no chunk was written");
    assert_eq!(export_json(&db)?, before);
    Ok(())
}

on_both_engines!(fn an_import_is_refused_only_for_problems_it_adds);
/// An import is refused only for the problems it adds, as a write through the relay is: a
/// document that already holds a bad value (stored before a rule existed) can still be imported
/// into, while an import that brings a new bad value is refused and names only that one.
fn an_import_is_refused_only_for_problems_it_adds(engine: Engine) -> anyhow::Result<()> {
    let (_a, db) = seeded(engine)?;
    let helsinki: DocumentId = db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area("municipality:091".into()))
        .expect("Helsinki")
        .0
        .parse()?;
    let stored = db.with(|c| storage::load_doc(c, &helsinki))?.expect("stored");
    let mut doc = Automerge::load(&stored.bytes)?;
    let ids: Vec<String> = read_directory(&doc)?.contact_points.keys().take(2).cloned().collect();
    // The file to import: everything as it is now, without the contact that will go bad (the
    // HSDS reader itself refuses bad values in a file).
    let clean = export_json(&db)?;
    let without_old = || -> anyhow::Result<Vec<contactpoint_directory::Directory>> {
        let mut dirs = hsds::import_json(&clean).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for d in &mut dirs {
            d.contact_points.remove(&ids[0]);
        }
        Ok(dirs)
    };
    // An older problem, stored without the checks (as data from before a rule would be).
    let before = doc.get_heads();
    let mut old = read_contact_point(&doc, &ids[0]).expect("contact");
    old.phones[0].number = "call me".into();
    let mut tx = doc.transaction();
    contactpoint_directory::store::write_contact_point(&mut tx, &old)?;
    tx.commit();
    let audit = storage::AuditEntry {
        user_id: None,
        device_id: None,
        doc_id: Some(helsinki.to_string()),
        action: "import".into(),
        detail: "data from before the rule".into(),
    };
    db.with(|c| {
        storage::append_batch(
            c,
            &[storage::Append { doc: helsinki, bytes: doc.save_after(&before), audit, authors: None }],
            None,
        )
    })?;

    // A valid change elsewhere in the same document is imported.
    let mut dirs = without_old()?;
    let area = dirs.iter_mut().find(|d| d.contact_points.contains_key(&ids[1])).expect("Helsinki directory");
    area.contact_points.get_mut(&ids[1]).expect("contact").email = Some("uusi@example.invalid".into());
    db.with(|c| Ok(content::import(c, dirs, None)))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(export_json(&db)?.contains("uusi@example.invalid"));

    // A new bad value is refused, and the message names it, not the older one.
    let mut dirs = without_old()?;
    let area = dirs.iter_mut().find(|d| d.contact_points.contains_key(&ids[1])).expect("Helsinki directory");
    area.contact_points.get_mut(&ids[1]).expect("contact").email = Some("not an address".into());
    let err = db.with(|c| Ok(content::import(c, dirs, None)))?.expect_err("refused").to_string();
    assert!(err.contains("not an e-mail address"), "{err}");
    assert!(!err.contains("not a phone number"), "the older problem is not reported as the import's: {err}");
    Ok(())
}

on_both_engines!(#[tokio::test] async fn an_import_reaches_connected_clients);
/// An import made with the CLI while the relay runs reaches a client connected to that document
/// without any reconnect, because the relay merges chunks other processes store.
async fn an_import_reaches_connected_clients(engine: Engine) -> anyhow::Result<()> {
    let relay = TestRelay::start_on(engine).await?;
    relay.db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let helsinki: DocumentId = relay
        .db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area("municipality:091".into()))
        .expect("Helsinki document")
        .0
        .parse()?;
    let mut reader = NativeClient::new("reader");
    reader.open(helsinki);
    reader.connect(&relay.url(&relay.token(Role::Reader, &[]))).await?;
    reader
        .wait_until(|c| {
            c.session.doc(&helsinki).is_some_and(|d| read_directory(d).is_ok_and(|d| !d.contact_points.is_empty()))
        })
        .await?;
    let doc = reader.session.doc(&helsinki).expect("doc");
    let contact_id = read_directory(doc)?.contact_points.keys().next().expect("a contact").clone();

    let mut dirs = hsds::import_json(&export_json(&relay.db)?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    dirs.retain(|d| !d.is_restricted() && d.area.as_ref().is_some_and(|a| a.to_string() == "municipality:091"));
    let c = dirs[0].contact_points.get_mut(&contact_id).expect("same contact");
    c.email = Some("imported@example.invalid".into());
    relay.db.with(|conn| Ok(content::import(conn, dirs, None)))?.map_err(|e| anyhow::anyhow!("{e}"))?;

    reader
        .wait_until(|c| {
            c.session.doc(&helsinki).and_then(|d| read_contact_point(d, &contact_id)).and_then(|cp| cp.email).as_deref()
                == Some("imported@example.invalid")
        })
        .await?;
    Ok(())
}

on_both_engines!(fn registered_documents_are_catalogued);
/// A document registered from the command line is catalogued in the index, so clients find it.
fn registered_documents_are_catalogued(engine: Engine) -> anyhow::Result<()> {
    let (_d, db) = seeded(engine)?;
    let scope = Scope::Area("municipality:005".into());
    let doc = contactpoint_server::admin::empty_document(&scope).map_err(anyhow::Error::msg)?;
    let id = db.with(|c| contactpoint_server::admin::create_document(c, &scope, &doc))?;
    let index_id: DocumentId = db.with(|c| storage::meta_get(c, "index_document_id"))?.expect("index").parse()?;
    let stored = db.with(|c| storage::load_doc(c, &index_id))?.expect("index stored");
    let index = contactpoint_directory::store::read_index(&Automerge::load(&stored.bytes)?)?;
    let entry = index.documents.get(&id.to_string()).expect("the new document is listed");
    assert_eq!(entry.area.as_ref().map(ToString::to_string).as_deref(), Some("municipality:005"));
    Ok(())
}

on_both_engines!(fn a_stored_document_that_does_not_read_is_named_with_its_cause);
/// A stored document that does not load, or loads as another kind than its place says, is
/// reported with its id and the engine's or the reader's reason as the error's source, not as
/// text alone.
fn a_stored_document_that_does_not_read_is_named_with_its_cause(engine: Engine) -> anyhow::Result<()> {
    use contactpoint_protocol::automerge::transaction::Transactable;
    use contactpoint_server::storage::StorageError;
    let stored = |bytes: &[u8]| -> anyhow::Result<(DocumentId, StorageError)> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(&engine.fresh(dir.path())?)?;
        let id = DocumentId::from_random_bytes([5; 16]);
        db.with(|c| {
            let tx = c.transaction()?;
            storage::create_doc(&tx, &id, &Scope::Area("municipality:091".into()), bytes)?;
            tx.commit()?;
            Ok(())
        })?;
        let err = db
            .with(|c| content::export_directories(c, false))
            .err()
            .ok_or_else(|| anyhow::anyhow!("the document was read"))?;
        Ok((id, err))
    };
    let (id, err) = stored(b"not a document")?;
    assert!(matches!(err, StorageError::Load { doc, .. } if doc == id), "{err:?}");
    assert!(std::error::Error::source(&err).is_some() && err.to_string().contains(&id.to_string()), "{err}");

    let mut index = Automerge::new();
    let mut tx = index.transaction();
    tx.put(contactpoint_protocol::automerge::ROOT, "kind", "index")?;
    tx.commit();
    let (id, err) = stored(&index.save())?;
    assert!(matches!(err, StorageError::Read { doc, .. } if doc == id), "{err:?}");
    assert!(err.to_string().contains("index"), "{err}");
    Ok(())
}
