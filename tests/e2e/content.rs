//! Sample data, HSDS export and import on real database files, and imports reaching connected
//! clients of a running relay.

use contactpoint_directory::store::{read_contact_point, read_directory};
use contactpoint_directory::{hsds, validate_document};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Db, Scope};
use contactpoint_tests::{NativeClient, TestRelay};

fn seeded() -> anyhow::Result<(tempfile::TempDir, Db)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("seed.sqlite"))?;
    assert!(db.with(|c| content::seed_if_empty(c, "2026-11-24"))?.is_some());
    assert!(db.with(|c| content::seed_if_empty(c, "2026-11-24"))?.is_none(), "seeding happens only once");
    Ok((dir, db))
}

fn fresh() -> anyhow::Result<(tempfile::TempDir, Db)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("empty.sqlite"))?;
    Ok((dir, db))
}

fn export_json(db: &Db) -> anyhow::Result<String> {
    Ok(hsds::export_json(&db.with(|c| content::export_directories(c))?))
}

/// Every stored document of the sample data loads and validates.
#[test]
fn the_stored_sample_data_validates() -> anyhow::Result<()> {
    let (_d, db) = seeded()?;
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

/// Sample data → export → import into an empty store → export again is identical, in JSON and
/// in the CSV datapackage.
#[test]
fn export_import_export_is_identical() -> anyhow::Result<()> {
    let (_a, seeded) = seeded()?;
    let first = export_json(&seeded)?;

    let (_b, empty) = fresh()?;
    let dirs = hsds::import_json(&first).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    empty.with(|c| Ok(content::import(c, dirs, None)))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(export_json(&empty)?, first, "JSON round trip");

    let files = hsds::export_datapackage(&seeded.with(|c| content::export_directories(c))?);
    assert!(files.contains_key("datapackage.json"));
    let (_c, empty) = fresh()?;
    let dirs = hsds::import_datapackage(&files).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    empty.with(|c| Ok(content::import(c, dirs, None)))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(export_json(&empty)?, first, "CSV datapackage round trip");
    Ok(())
}

/// An import with a problem anywhere changes nothing at all, and says where the problem is.
#[test]
fn an_invalid_import_changes_nothing() -> anyhow::Result<()> {
    let (_a, db) = seeded()?;
    let before = export_json(&db)?;
    let chunks = |db: &Db| {
        db.with(|c| {
            Ok(c.query_row("SELECT COUNT(*), SUM(LENGTH(data)) FROM chunks", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?)
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

/// An import made with the CLI while the relay runs reaches a client connected to that document
/// without any reconnect, because the relay merges chunks other processes store.
#[tokio::test]
async fn an_import_reaches_connected_clients() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
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
    dirs.retain(|d| d.area.as_ref().is_some_and(|a| a.to_string() == "municipality:091"));
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

/// A document registered from the command line is catalogued in the index, so clients find it.
#[test]
fn registered_documents_are_catalogued() -> anyhow::Result<()> {
    let (_d, db) = seeded()?;
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
