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

/// Over SSH, an administrator creates a user without an invite, then gives them a device with an
/// invite for that user: redeeming it adds a device to that user (no new user), and the device
/// works. Disabled users get no such invites, and one made before they were disabled stops working.
#[tokio::test]
async fn users_created_on_the_command_line_get_devices_by_invite() -> anyhow::Result<()> {
    use anyhow::Context;
    use contactpoint_tests::{contactpoint, contactpoint_ok, http_post};
    use serde_json::{Value, json};

    let relay = TestRelay::start().await?;
    let db = relay.db_path.to_str().context("database path")?.to_owned();
    let create = |extra: &[&str]| {
        let mut args = vec!["admin", "users", "create", "--db", &db];
        args.extend_from_slice(extra);
        contactpoint(&args)
    };

    let (ok, out, err) = create(&["--name", "Turku editor", "--role", "editor", "--area", "853", "--json"])?;
    assert!(ok, "{err}");
    let user: Value = serde_json::from_str(&out)?;
    let id = user["id"].as_i64().context("the new user's id")?;
    assert_eq!(user["areas"], json!(["municipality:853"]));
    let (ok, _, err) = create(&["--name", "No area", "--role", "editor"])?;
    assert!(!ok && err.contains("at least one --area"), "{err}");
    let (ok, _, err) = create(&["--name", "Nowhere", "--role", "editor", "--area", "atlantis"])?;
    assert!(!ok && err.contains("not an area"), "{err}");
    let (ok, _, err) = create(&["--name", "Who", "--role", "owner"])?;
    assert!(!ok && err.contains("--role must be"), "{err}");
    let (ok, out, err) = create(&["--name", "Night shift", "--role", "reader"])?;
    assert!(ok, "{err}");
    let reader_id: i64 = out.trim().parse()?;

    let code = contactpoint_ok(&["admin", "invite", "--user", &id.to_string(), "--db", &db])?.trim().to_owned();
    let redeem = |code: &str, device: &str| json!({ "code": code, "device_name": device }).to_string();
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &redeem(&code, "Turku work phone")).await?;
    assert_eq!(status, 200, "{body}");
    let redeemed: Value = serde_json::from_str(&body)?;
    assert_eq!(redeemed["user_name"], "Turku editor");
    assert_eq!(redeemed["role"], "editor");
    assert_eq!(redeemed["areas"], json!(["municipality:853"]));
    let token = redeemed["token"].as_str().context("a token")?.to_owned();

    let devices: Value = serde_json::from_str(&contactpoint_ok(&["admin", "devices", "--json", "--db", &db])?)?;
    let device = devices
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "Turku work phone"))
        .with_context(|| format!("the device is listed: {devices}"))?;
    assert_eq!(device["user_id"], id, "the device belongs to the user created on the command line");
    assert_eq!(device["user_name"], "Turku editor");
    let users: Value = serde_json::from_str(&contactpoint_ok(&["admin", "users", "--json", "--db", &db])?)?;
    let named: Vec<&Value> =
        users.as_array().map(|u| u.iter().filter(|u| u["name"] == "Turku editor").collect()).unwrap_or_default();
    assert_eq!(named.len(), 1, "no second user was created: {users}");
    assert_eq!(named[0]["active_devices"], 1);

    // The device writes its area's document as that user.
    let turku = relay.document(Scope::Area("municipality:853".into()));
    let mut c = NativeClient::new("turku-phone");
    c.open(turku);
    c.connect(&relay.url(&token)).await?;
    c.put(turku, "note", "written from the new phone").await?;
    c.wait_until(|c| c.session.is_acknowledged(&turku)).await?;

    let audit: Value =
        serde_json::from_str(&contactpoint_ok(&["admin", "audit", "--user", &id.to_string(), "--json", "--db", &db])?)?;
    let actions: Vec<&str> =
        audit.as_array().map(|a| a.iter().filter_map(|r| r["action"].as_str()).collect()).unwrap_or_default();
    for action in ["user.create", "invite.create", "invite.redeem", "sync.write"] {
        assert!(actions.contains(&action), "{action} is audited for the user: {actions:?}");
    }

    // Disabled users get no invites, and an invite made before stops working.
    let unused = contactpoint_ok(&["admin", "invite", "--user", &reader_id.to_string(), "--db", &db])?;
    contactpoint_ok(&["admin", "disable-user", &reader_id.to_string(), "--db", &db])?;
    let (ok, _, err) = contactpoint(&["admin", "invite", "--user", &reader_id.to_string(), "--db", &db])?;
    assert!(!ok && err.contains("disabled"), "{err}");
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &redeem(unused.trim(), "night phone")).await?;
    assert_eq!(status, 403, "{body}");
    let (ok, _, err) = contactpoint(&["admin", "invite", "--user", "9999", "--db", &db])?;
    assert!(!ok && err.contains("no user 9999"), "{err}");
    Ok(())
}
