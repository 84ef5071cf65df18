//! The access matrix: who may read and write an area document and the national document.

use contactpoint_protocol::DocumentId;
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{NativeClient, TestRelay};

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
                .with(|c| Ok(c.execute("UPDATE devices SET revoked_at = 1 WHERE token_hash = ?1", [hash])?))
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

/// Each cell: (who, document, may read, may write).
#[tokio::test]
async fn every_cell_of_the_access_matrix() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
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
            assert_eq!(observed(&relay, doc, &key).await?, None, "{label}: write must not be applied");
        }
    }
    Ok(())
}
