//! Members-only contact points: an area's restricted document reaches the area's members and
//! admins and nobody else, over the real relay, with our client and the official JS client; the
//! catalogue does not list it; exports leave it out unless asked.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use contactpoint_directory::model::Visibility;
use contactpoint_directory::store::{read_directory, read_index};
use contactpoint_protocol::DocumentId;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Scope};
use contactpoint_tests::{NativeClient, TestRelay, contactpoint_ok, stored_doc};

/// A relay with the sample data; returns it with the id of Helsinki's members-only document.
async fn seeded() -> Result<(TestRelay, DocumentId)> {
    let relay = TestRelay::start().await?;
    relay.db.with(|c| content::seed_if_empty(c, "2026-11-29"))?;
    let docs = relay.db.with(|c| storage::list_docs(c))?;
    let helsinki = docs
        .iter()
        .find(|(_, scope, _)| *scope == Scope::Restricted("municipality:091".into()))
        .context("the seed has Helsinki's members-only document")?;
    Ok((relay, helsinki.0.parse()?))
}

/// What one device gets when it asks for the document: its content or `doc-unavailable`.
async fn native_outcome(relay: &TestRelay, token: &str, doc: DocumentId, name: &str) -> Result<bool> {
    let mut c = NativeClient::new(name);
    c.open(doc);
    c.connect(&relay.url(token)).await?;
    c.wait_until(|c| c.get(doc, "kind").is_some() || c.unavailable.contains(&doc)).await?;
    let received = c.get(doc, "kind").is_some();
    if received {
        assert_eq!(c.get(doc, "kind").as_deref(), Some("restricted"));
        assert!(!c.unavailable.contains(&doc));
    }
    Ok(received)
}

#[tokio::test]
async fn only_the_areas_members_and_admins_receive_its_members_only_document() -> Result<()> {
    let (relay, doc) = seeded().await?;
    // Helsinki (091) is in the wellbeing county of Helsinki (90); Joensuu is 167, Turku 853.
    let cells: [(&str, Role, &[&str], bool); 8] = [
        ("reader of Helsinki", Role::Reader, &["091"], true),
        ("reader of the county containing Helsinki", Role::Reader, &["county:90"], true),
        ("reader of Joensuu", Role::Reader, &["167"], false),
        ("reader without an area", Role::Reader, &[], false),
        ("editor of Helsinki", Role::Editor, &["091"], true),
        ("editor of Turku", Role::Editor, &["853"], false),
        ("editor of another county", Role::Editor, &["county:10"], false),
        ("admin", Role::Admin, &[], true),
    ];
    for (i, (who, role, areas, member)) in cells.into_iter().enumerate() {
        let token = relay.token(role, areas);
        let received = native_outcome(&relay, &token, doc, &format!("member-cell-{i}")).await?;
        assert_eq!(received, member, "{who}: our client");
        // The official client, by the document's URL.
        let js = crate::interop::node(&["read", &relay.url(&token), &format!("automerge:{doc}")]).await;
        match (member, js) {
            (true, Ok(v)) => {
                assert_eq!(v["doc"]["kind"], "restricted", "{who}: the official client");
                let contacts = v["doc"]["contact_points"].as_object().context("contact points")?;
                assert_eq!(contacts.len(), 1, "{who}: Helsinki's local cooperation group");
            }
            (false, Err(e)) => assert!(e.to_string().contains("unavailable"), "{who}: the official client: {e}"),
            (true, Err(e)) => bail!("{who}: the official client was refused: {e}"),
            (false, Ok(v)) => bail!("{who}: the official client received the document: {v}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn members_only_entries_are_in_no_open_document_and_the_catalogue_does_not_list_theirs() -> Result<()> {
    let (relay, doc) = seeded().await?;
    let index_id: DocumentId =
        relay.db.with(|c| storage::meta_get(c, "index_document_id"))?.context("the index")?.parse()?;
    let index = read_index(&stored_doc(&relay.db, index_id)?)?;
    let mut restricted = 0;
    for (id, scope, _) in relay.db.with(|c| storage::list_docs(c))? {
        let d = stored_doc(&relay.db, id.parse()?)?;
        let Ok(dir) = read_directory(&d) else { continue };
        let members_only = dir.contact_points.values().filter(|c| c.visibility() == Visibility::AreaMembers).count();
        if matches!(scope, Scope::Restricted(_)) {
            restricted += 1;
            assert!(!index.documents.contains_key(&id), "the catalogue lists members-only {id}");
            assert_eq!(members_only, dir.contact_points.len());
        } else {
            assert_eq!(members_only, 0, "{id} ({scope:?}) holds members-only entries");
        }
    }
    assert_eq!(restricted, 4);
    // Even a reader whose request for it waited learns nothing more than for an unknown id.
    let mut c = NativeClient::new("outsider");
    let unknown = DocumentId::from_random_bytes([9; 16]);
    c.open(doc);
    c.open(unknown);
    c.connect(&relay.url(&relay.token(Role::Reader, &["167"]))).await?;
    c.wait_until(|c| c.unavailable.contains(&doc) && c.unavailable.contains(&unknown)).await?;
    c.settle(Duration::from_millis(300)).await?;
    assert_eq!(c.get(doc, "kind"), None);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    Ok(())
}

#[tokio::test]
async fn exports_leave_members_only_entries_out_unless_asked() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("relay.sqlite");
    let db_arg = db.to_str().context("path")?;
    {
        let db = storage::Db::open(&db)?;
        db.with(|c| content::seed_if_empty(c, "2026-11-29"))?;
    }
    let default = contactpoint_ok(&["export", "--db", db_arg])?;
    let all = contactpoint_ok(&["export", "--db", db_arg, "--include-restricted"])?;
    let members_only = |json: &str| -> Result<usize> {
        let v: serde_json::Value = serde_json::from_str(json)?;
        Ok(v["services"]
            .as_array()
            .context("services")?
            .iter()
            .filter(|s| s["x_contactpoint_visibility"] == "area_members")
            .count())
    };
    assert_eq!(members_only(&default)?, 0);
    assert!(!default.contains("restricted:"));
    assert_eq!(members_only(&all)?, 4);
    // The full export imports into an empty relay with each entry back in its members-only
    // document.
    let file = dir.path().join("all.json");
    std::fs::write(&file, &all)?;
    let empty = dir.path().join("empty.sqlite");
    let empty_arg = empty.to_str().context("path")?;
    contactpoint_ok(&["import", "--db", empty_arg, file.to_str().context("path")?])?;
    let again = contactpoint_ok(&["export", "--db", empty_arg, "--include-restricted"])?;
    assert_eq!(members_only(&again)?, 4);
    let db = storage::Db::open(&empty)?;
    let restricted: Vec<_> = db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .filter(|(_, scope, _)| matches!(scope, Scope::Restricted(_)))
        .collect();
    assert_eq!(restricted.len(), 4);
    Ok(())
}

/// Every state a document has been in: its content after each change, as the history view and
/// anyone holding a copy can rebuild it.
fn every_state(doc: &contactpoint_protocol::automerge::Automerge) -> Result<Vec<contactpoint_directory::Directory>> {
    let mut states = Vec::new();
    for change in doc.get_changes(&[]) {
        let at = doc.fork_at(&[change.hash()])?;
        if let Ok(d) = read_directory(&at) {
            states.push(d);
        }
    }
    Ok(states)
}

/// A database as the previous version left it: the local cooperation groups (members only) in
/// the cities' open documents, with a history (each edited once), and no members-only documents.
fn previous_version_database(path: &std::path::Path) -> Result<Vec<(String, String)>> {
    use contactpoint_protocol::automerge::Automerge;
    let db = storage::Db::open(path)?;
    db.with(|c| content::seed_if_empty(c, "2026-11-29"))?;
    let docs = db.with(|c| storage::list_docs(c))?;
    let mut moved = Vec::new();
    for (id, scope, _) in &docs {
        let Scope::Restricted(area) = scope else { continue };
        let members = read_directory(&stored_doc(&db, id.parse()?)?)?;
        let (open_id, _, _) =
            docs.iter().find(|(_, s, _)| *s == Scope::Area(area.clone())).context("the city's open document")?;
        let mut open: Automerge = stored_doc(&db, open_id.parse()?)?;
        let before = open.get_heads();
        for c in members.contact_points.values() {
            let mut once = c.clone();
            // The state before the last edit holds the old number: history must lose it too.
            once.phones[0].number = "+358 0 999 9999".into();
            for version in [&once, c] {
                let mut tx = open.transaction();
                contactpoint_directory::store::write_contact_point(&mut tx, version)?;
                tx.commit();
            }
            moved.push((c.id.clone(), c.name.text("fi").to_owned()));
        }
        let bytes = open.save_after(&before);
        let (open_id, id) = (open_id.clone(), id.clone());
        db.with(move |c| {
            c.execute(
                "INSERT INTO chunks(doc_id, kind, data) VALUES (?1, 'incremental', ?2)",
                contactpoint_server::args![open_id, bytes],
            )?;
            c.execute("DELETE FROM chunks WHERE doc_id = ?1", contactpoint_server::args![&id])?;
            c.execute("DELETE FROM documents WHERE id = ?1", contactpoint_server::args![&id])?;
            Ok(())
        })?;
    }
    Ok(moved)
}

#[tokio::test]
async fn a_previous_versions_database_is_migrated_on_start_and_no_open_history_keeps_the_entries() -> Result<()> {
    use contactpoint_tests::RelayProcess;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("old.sqlite");
    let moved = previous_version_database(&path)?;
    assert_eq!(moved.len(), 4);
    let db = storage::Db::open(&path)?;
    let (outsider, member) = (
        contactpoint_tests::token_for(&db, Role::Reader, &["167"]),
        contactpoint_tests::token_for(&db, Role::Reader, &["091"]),
    );
    drop(db);
    let relay = RelayProcess::start(&path)?;
    let url = |token: &str| format!("ws://{}/sync?token={token}", relay.addr);

    // A reader of Joensuu syncs everything the catalogue lists: no state of any of it names them.
    let db = storage::Db::open(&path)?;
    let index: DocumentId = db.with(|c| storage::meta_get(c, "index_document_id"))?.context("index")?.parse()?;
    let mut reader = NativeClient::new("joensuu-reader");
    reader.open(index);
    reader.connect(&url(&outsider)).await?;
    reader
        .wait_until(|c| c.session.doc(&index).is_some_and(|d| read_index(d).is_ok_and(|i| !i.documents.is_empty())))
        .await?;
    let listed: Vec<DocumentId> = read_index(reader.session.doc(&index).context("index")?)?
        .documents
        .keys()
        .map(|k| k.parse())
        .collect::<Result<_, _>>()?;
    reader.disconnect().await;
    for d in &listed {
        reader.open(*d);
    }
    reader.connect(&url(&outsider)).await?;
    reader
        .wait_until(|c| listed.iter().all(|d| c.get(*d, "kind").is_some() && c.session.is_acknowledged(d)))
        .await
        .with_context(|| {
            let missing: Vec<_> = listed
                .iter()
                .filter(|d| reader.get(**d, "kind").is_none() || !reader.session.is_acknowledged(d))
                .map(|d| (d.to_string(), reader.unavailable.contains(d)))
                .collect();
            format!("documents the catalogue lists, not synced (id, unavailable): {missing:?}")
        })?;
    for d in &listed {
        let doc = reader.session.doc(d).context("synced")?;
        for state in every_state(doc)? {
            for (id, name) in &moved {
                assert!(!state.contact_points.contains_key(id), "{d} once held {id}");
                assert!(state.contact_points.values().all(|c| c.name.text("fi") != name), "{d} once named {name}");
            }
        }
    }
    // Helsinki's member finds its group in Helsinki's members-only document.
    let restricted = db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .filter(|(_, s, t)| *s == Scope::Restricted("municipality:091".into()) && !t)
        .map(|(id, _, _)| id.parse::<DocumentId>())
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(restricted.len(), 1);
    let mut m = NativeClient::new("helsinki-member");
    m.open(restricted[0]);
    m.connect(&url(&member)).await?;
    m.wait_until(|c| c.get(restricted[0], "kind").is_some()).await?;
    let group = read_directory(m.session.doc(&restricted[0]).context("synced")?)?;
    assert!(moved.iter().any(|(id, _)| group.contact_points.contains_key(id)));
    assert!(group.contact_points.values().all(|c| c.visibility() == Visibility::AreaMembers));
    // The old open documents are gone from the database, and a second start moves nothing.
    let tombstoned_chunks: i64 = db.with(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM chunks WHERE doc_id IN (SELECT id FROM documents WHERE tombstoned_at IS NOT NULL)",
            &[],
            |r| r.get(0),
        )
    })?;
    assert_eq!(tombstoned_chunks, 0);
    drop(relay);
    // The pass itself, without the mark that spares later starts it, finds nothing left.
    let marked = db.with(|c| storage::meta_get(c, "members_only_moved"))?;
    assert!(marked.is_some(), "the finished move is not marked");
    db.with(|c| c.execute("DELETE FROM meta WHERE key = 'members_only_moved'", &[]))?;
    let again = db.with(|c| Ok(content::move_members_only(c)))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(again.is_empty(), "{again:?}");
    Ok(())
}
