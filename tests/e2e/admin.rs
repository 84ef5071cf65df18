//! Administration on the database file while the relay runs: listings, disabling a user, and the
//! audit log queried by user and area.

use std::time::Duration;

use contactpoint_server::Limits;
use contactpoint_server::admin::{self, AuditQuery};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{NativeClient, TestRelay};

#[tokio::test]
async fn listings_disabling_and_the_audit_log() -> anyhow::Result<()> {
    let relay =
        TestRelay::start_with(Limits { revocation_poll: Duration::from_millis(100), ..Limits::default() }).await?;
    let doc = relay.document(Scope::Area("municipality:091".into()));
    let editor = relay.token(Role::Editor, &["091"]);
    let reader = relay.token(Role::Reader, &[]);

    // An editor writes; the write is audited with who, which device and which document.
    let mut e = NativeClient::new("editor");
    e.open(doc);
    e.connect(&relay.url(&editor)).await?;
    e.put(doc, "note", "written by the editor").await?;
    e.wait_until(|c| c.session.is_acknowledged(&doc)).await?;

    let users = relay.db.with(|c| admin::users(c))?;
    let ed = users.iter().find(|u| u.role == "editor").expect("the editor is listed");
    assert_eq!(ed.areas, vec!["municipality:091"]);
    assert_eq!(ed.active_devices, 1);
    let areas = relay.db.with(|c| admin::areas(c))?;
    let helsinki = areas.iter().find(|a| a.area == "municipality:091").expect("Helsinki is listed");
    assert_eq!(helsinki.name, "Helsinki");
    assert_eq!(helsinki.documents, vec![doc.to_string()]);
    assert_eq!(helsinki.editors, vec![(ed.id, ed.name.clone())]);
    assert_eq!(relay.db.with(|c| admin::devices(c))?.len(), 2);

    let by_user =
        relay.db.with(|c| admin::audit(c, &AuditQuery { user_id: Some(ed.id), limit: 10, ..AuditQuery::default() }))?;
    assert!(
        by_user.iter().any(|r| r.action == "sync.write" && r.doc_id.as_deref() == Some(&doc.to_string())),
        "{by_user:?}"
    );
    let by_area = relay.db.with(|c| {
        admin::audit(c, &AuditQuery { area: Some("municipality:853".into()), limit: 10, ..AuditQuery::default() })
    })?;
    assert!(by_area.is_empty(), "nothing happened in Turku: {by_area:?}");
    let future = relay
        .db
        .with(|c| admin::audit(c, &AuditQuery { since: Some(i64::MAX - 1), limit: 10, ..AuditQuery::default() }))?;
    assert!(future.is_empty());

    // Disabling the editor closes the live connection and refuses the token; the reader is unaffected.
    let mut r = NativeClient::new("reader");
    r.open(doc);
    r.connect(&relay.url(&reader)).await?;
    assert!(relay.db.with(|c| admin::disable_user(c, ed.id))?);
    assert!(!relay.db.with(|c| admin::disable_user(c, ed.id))?, "disabling twice changes nothing");
    e.wait_until(|c| c.closed.is_some()).await?;
    assert!(e.errors.iter().any(|m| m.contains("disabled")), "{:?}", e.errors);
    let err = NativeClient::new("again").connect(&relay.url(&editor)).await.expect_err("refused").to_string();
    assert!(err.contains("401"), "{err}");
    r.wait_until(|c| c.get(doc, "note").is_some()).await?;
    assert!(r.closed.is_none());
    let disabled =
        relay.db.with(|c| admin::audit(c, &AuditQuery { user_id: Some(ed.id), limit: 1, ..AuditQuery::default() }))?;
    assert_eq!(disabled[0].action, "user.disable");
    Ok(())
}
