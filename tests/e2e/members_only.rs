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
