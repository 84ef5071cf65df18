//! The access matrix: who may read and write an area document and the national document.

use contactpoint_protocol::{DocumentId, Reason};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{Engine, NativeClient, TestRelay};

#[derive(Clone, Copy, Debug)]
enum Who {
    Reader,
    EditorA,
    EditorB,
    Admin,
    NoToken,
    Revoked,
}

fn token(relay: &TestRelay, who: Who) -> String {
    match who {
        Who::Reader => relay.token(Role::Reader, &[]),
        Who::EditorA => relay.token(Role::Editor, &["091"]),
        Who::EditorB => relay.token(Role::Editor, &["853"]),
        Who::Admin => relay.token(Role::Admin, &[]),
        Who::NoToken => String::new(),
        Who::Revoked => {
            let t = relay.token(Role::Admin, &[]);
            let hash = contactpoint_server::auth::hash_secret(&t);
            relay
                .db
                .with(|c| {
                    c.execute(
                        "UPDATE devices SET revoked_at = 1 WHERE token_hash = ?1",
                        contactpoint_server::args![hash],
                    )
                })
                .expect("revoke");
            t
        }
    }
}

/// What an observer with admin rights sees of a key in the document, after a full sync.
async fn observed(relay: &TestRelay, doc: DocumentId, key: &str) -> anyhow::Result<Option<String>> {
    let mut o = NativeClient::new(&format!("observer-{key}"));
    o.open(doc);
    o.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    o.wait_until(|c| c.get(doc, "title").is_some() && c.session.is_acknowledged(&doc)).await?;
    Ok(o.get(doc, key))
}

on_both_engines!(#[tokio::test] async fn every_cell_of_the_access_matrix);
/// Each cell: (who, document, may read, may write).
async fn every_cell_of_the_access_matrix(engine: Engine) -> anyhow::Result<()> {
    let relay = TestRelay::start_on(engine).await?;
    let area_a = relay.document(Scope::Area("municipality:091".into()));
    let national = relay.document(Scope::National);
    // Give both documents content, written by an admin.
    let mut setup = NativeClient::new("setup");
    for d in [area_a, national] {
        setup.open(d);
    }
    setup.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    for d in [area_a, national] {
        setup.put(d, "title", "set up").await?;
    }
    setup.wait_until(|c| c.session.is_acknowledged(&area_a) && c.session.is_acknowledged(&national)).await?;

    use Who::*;
    let cells = [
        (Reader, area_a, true, false),
        (EditorA, area_a, true, true),
        (EditorB, area_a, true, false),
        (Admin, area_a, true, true),
        (NoToken, area_a, false, false),
        (Revoked, area_a, false, false),
        (Reader, national, true, false),
        (EditorA, national, true, false),
        (EditorB, national, true, false),
        (Admin, national, true, true),
        (NoToken, national, false, false),
        (Revoked, national, false, false),
    ];
    for (i, (who, doc, may_read, may_write)) in cells.into_iter().enumerate() {
        let label = format!("{who:?} on {}", if doc == area_a { "area A" } else { "national" });
        let mut c = NativeClient::new(&format!("cell-{i}"));
        c.open(doc);
        let connected = c.connect(&relay.url(&token(&relay, who))).await;
        if !may_read {
            let err = connected.expect_err(&label).to_string();
            assert!(err.contains("401"), "{label}: expected 401 Unauthorized, got {err}");
            continue;
        }
        connected?;
        c.wait_until(|c| c.get(doc, "title").is_some()).await?;
        let key = format!("written-by-cell-{i}");
        c.put(doc, &key, "x").await?;
        if may_write {
            c.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
            assert_eq!(observed(&relay, doc, &key).await?.as_deref(), Some("x"), "{label}: write accepted");
        } else {
            c.wait_until(|c| !c.errors.is_empty()).await?;
            assert!(c.errors[0].contains("may read but not change"), "{label}: {:?}", c.errors);
            // The same as data: the reason and the document, which the session holds.
            let (held, refusal) = c.refusals.first().expect("the refusal's fields");
            assert_eq!(
                (refusal.reason, refusal.document_id, *held),
                (Reason::ReadOnly, Some(doc), Some(doc)),
                "{label}"
            );
            assert_eq!(observed(&relay, doc, &key).await?, None, "{label}: write must not be applied");
        }
    }
    Ok(())
}

on_both_engines!(#[tokio::test] async fn editors_and_admins_see_who_changed_a_document);
/// Every accepted change is recorded with the user and device that sent it, in the same commit,
/// and the document's editors and admins can list them: an editor writes through the relay, the
/// change's hash is listed with the editor's name; readers and other areas' editors may not look.
async fn editors_and_admins_see_who_changed_a_document(engine: Engine) -> anyhow::Result<()> {
    use anyhow::Context;
    use contactpoint_protocol::automerge::ChangeHash;
    use contactpoint_server::admin::{self, AuditQuery};
    use contactpoint_server::auth::hash_secret;
    use contactpoint_server::storage::identity_by_token_hash;
    use contactpoint_tests::http_get_with;

    let relay = TestRelay::start_on(engine).await?;
    let doc = relay.document(Scope::Area("municipality:091".into()));
    let editor = relay.token(Role::Editor, &["091"]);
    let admin_token = relay.token(Role::Admin, &[]);
    let editor_id =
        relay.db.with(|c| identity_by_token_hash(c, &hash_secret(&editor)))?.context("the editor's identity")?;

    let hashes_of = |c: &NativeClient| -> Vec<ChangeHash> {
        c.session.doc(&doc).map(|d| d.get_changes_meta(&[]).into_iter().map(|m| m.hash).collect()).unwrap_or_default()
    };
    let mut e = NativeClient::new("author-editor");
    e.open(doc);
    e.connect(&relay.url(&editor)).await?;
    e.put(doc, "note", "written by the editor").await?;
    e.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    let editor_changes = hashes_of(&e);
    assert_eq!(editor_changes.len(), 1, "one commit, one change");
    let mut a = NativeClient::new("author-admin");
    a.open(doc);
    a.connect(&relay.url(&admin_token)).await?;
    a.wait_until(|c| c.get(doc, "note").is_some()).await?;
    a.put(doc, "checked", "by an administrator").await?;
    a.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    let admin_change = *hashes_of(&a).iter().find(|h| !editor_changes.contains(h)).context("the admin's change")?;

    let (addr, path) = (relay.addr, format!("/api/v0/authors/{doc}"));
    let get = |bearer: String| {
        let path = path.clone();
        async move { http_get_with(addr, &path, &[&format!("Authorization: Bearer {bearer}")]).await }
    };
    for (who, bearer) in [("editor", editor.clone()), ("admin", admin_token.clone())] {
        let (status, body) = get(bearer).await?;
        assert_eq!(status, 200, "{who}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body)?;
        let changes = v["changes"].as_array().context("a list of changes")?;
        assert_eq!(changes.len(), 2, "{who}: {body}");
        assert_eq!(changes[0]["hash"], editor_changes[0].to_string(), "{who}: oldest first");
        assert_eq!(changes[0]["user"], "editor test user");
        assert_eq!(changes[0]["user_id"], editor_id.user_id);
        assert_eq!(changes[0]["device"], "test device");
        assert_eq!(changes[1]["hash"], admin_change.to_string());
        assert_eq!(changes[1]["user"], "admin test user");
        let at = changes[0]["at"].as_str().context("a time")?;
        assert!(at.len() == 20 && at.as_bytes()[10] == b'T' && at.ends_with('Z'), "RFC 3339 in UTC: {at}");
    }

    // The audit entry of the write names the change too.
    let audit = relay.db.with(|c| {
        admin::audit(c, &AuditQuery { user_id: Some(editor_id.user_id), limit: 10, ..AuditQuery::default() })
    })?;
    let write = audit.iter().find(|r| r.action == "sync.write").context("the write is audited")?;
    assert!(
        write.detail.as_deref().is_some_and(|d| d.contains(&format!("1 change {}", editor_changes[0]))),
        "{write:?}"
    );

    for (who, bearer, expected) in [
        ("reader", relay.token(Role::Reader, &[]), 403),
        ("editor of another area", relay.token(Role::Editor, &["853"]), 403),
        ("unknown token", "cpt_not-a-token".to_owned(), 401),
        ("revoked device", token(&relay, Who::Revoked), 401),
    ] {
        let (status, body) = get(bearer).await?;
        assert_eq!(status, expected, "{who}: {body}");
    }
    let (status, _) = contactpoint_tests::http_get(relay.addr, &path).await?;
    assert_eq!(status, 401, "no token");
    let unknown = DocumentId::from_random_bytes([7; 16]);
    let (status, body) = http_get_with(
        relay.addr,
        &format!("/api/v0/authors/{unknown}"),
        &[&format!("Authorization: Bearer {admin_token}")],
    )
    .await?;
    assert_eq!(status, 404, "{body}");
    Ok(())
}
