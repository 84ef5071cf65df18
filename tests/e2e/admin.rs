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
    assert!(relay.db.with(|c| admin::disable_user(c, ed.id, "cli"))?);
    assert!(!relay.db.with(|c| admin::disable_user(c, ed.id, "cli"))?, "disabling twice changes nothing");
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

/// The admin endpoints, with each role's device token: an administrator creates an invite (its
/// link and QR code, and the code redeems), lists users and devices, revokes a device (its live
/// connection closes at once, with the database watcher too slow to be the one closing it),
/// disables a user and reads the audit log by who, what and when; an editor creates reader
/// invites for its own area only; a reader is refused everything; each action is audited with
/// who did it, the same way as on the command line, and each refusal with what was asked.
#[tokio::test]
async fn admin_endpoints_apply_the_command_lines_rules() -> anyhow::Result<()> {
    use anyhow::Context;
    use contactpoint_server::{auth, storage};
    use contactpoint_tests::{http_get_with, http_post, http_post_with};
    use serde_json::{Value, json};

    // The watcher would close a revoked device's connection only after a minute: what closes it
    // sooner is the endpoint.
    let relay = TestRelay::start_with(Limits { revocation_poll: Duration::from_secs(60), ..Limits::default() }).await?;
    let doc = relay.document(Scope::Area("municipality:091".into()));
    let admin_token = relay.token(Role::Admin, &[]);
    let editor = relay.token(Role::Editor, &["091"]);
    let reader = relay.token(Role::Reader, &[]);
    let user_of = |token: &str| {
        relay
            .db
            .with(|c| storage::identity_by_token_hash(c, &auth::hash_secret(token)))
            .ok()
            .flatten()
            .expect("a signed-in user")
    };
    let admin_id = user_of(&admin_token).user_id;
    let editor_id = user_of(&editor).user_id;
    let auth = |token: &str| format!("Authorization: Bearer {token}");
    let post = |token: &str, path: &str, body: Value| {
        let (addr, header, path, body) = (relay.addr, auth(token), path.to_owned(), body.to_string());
        async move { http_post_with(addr, &path, &[&header], &body).await }
    };
    let get = |token: &str, path: &str| {
        let (addr, header, path) = (relay.addr, auth(token), path.to_owned());
        async move { http_get_with(addr, &path, &[&header]).await }
    };

    // An administrator's invite: any role, areas, uses and expiry; a link and its QR code.
    let (status, body) = post(
        &admin_token,
        "/api/v0/admin/invites",
        json!({"role": "editor", "areas": ["091"], "name": "Helsinki school", "uses": 2, "days": 3}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let invite: Value = serde_json::from_str(&body)?;
    let code = invite["code"].as_str().context("a code")?.to_owned();
    assert_eq!(invite["link"], format!("http://{}/?invite={code}", relay.addr));
    assert_eq!(invite["areas"], json!(["municipality:091"]));
    assert_eq!(invite["uses"], 2);
    let svg = invite["qr_svg"].as_str().context("a QR code")?;
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    let redeem = json!({"code": code, "device_name": "school phone"}).to_string();
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &redeem).await?;
    assert_eq!(status, 200, "{body}");
    let redeemed: Value = serde_json::from_str(&body)?;
    assert_eq!((redeemed["role"].as_str(), redeemed["user_name"].as_str()), (Some("editor"), Some("Helsinki school")));
    // The CLI's rules, from the same code: no uses, or an editor without an area, is refused.
    let (status, body) = post(&admin_token, "/api/v0/admin/invites", json!({"role": "reader", "uses": 0})).await?;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(&admin_token, "/api/v0/admin/invites", json!({"role": "editor"})).await?;
    assert!(status == 400 && body.contains("at least one"), "{status} {body}");

    // An editor: reader invites for its own area, nothing else.
    let (status, body) = post(&editor, "/api/v0/admin/invites", json!({"role": "reader", "areas": ["091"]})).await?;
    assert_eq!(status, 200, "{body}");
    for (ask, says) in [
        (
            json!({"role": "reader", "areas": ["853"]}),
            "only for your own areas (municipality:091), not for municipality:853",
        ),
        (json!({"role": "editor", "areas": ["091"]}), "editors may invite readers only"),
        (json!({"role": "admin"}), "editors may invite readers only"),
        (json!({"role": "reader"}), "at least one of your own areas"),
    ] {
        let (status, body) = post(&editor, "/api/v0/admin/invites", ask.clone()).await?;
        assert!(status == 403 && body.contains(says), "{ask}: {status} {body}");
    }
    for path in ["/api/v0/admin/users", "/api/v0/admin/devices", "/api/v0/admin/audit"] {
        let (status, body) = get(&editor, path).await?;
        assert!(status == 403 && body.contains("only administrators"), "{path}: {status} {body}");
    }

    // A reader: refused everything; no token or a wrong one: 401.
    let (status, _) = post(&reader, "/api/v0/admin/invites", json!({"role": "reader", "areas": ["091"]})).await?;
    assert_eq!(status, 403);
    for path in ["/api/v0/admin/users", "/api/v0/admin/devices", "/api/v0/admin/audit"] {
        assert_eq!(get(&reader, path).await?.0, 403, "{path}");
        assert_eq!(get("cpt_nobody", path).await?.0, 401, "{path}");
    }
    let editor_device = user_of(&editor).device_id;
    assert_eq!(post(&reader, &format!("/api/v0/admin/devices/{editor_device}/revoke"), json!({})).await?.0, 403);
    assert_eq!(post(&editor, &format!("/api/v0/admin/users/{admin_id}/disable"), json!({})).await?.0, 403);
    assert!(user_of(&editor).device_id == editor_device, "the refused revocation changed nothing");

    // Listings.
    let (status, body) = get(&admin_token, "/api/v0/admin/users").await?;
    assert_eq!(status, 200, "{body}");
    let users: Value = serde_json::from_str(&body)?;
    let names: Vec<&str> =
        users["users"].as_array().context("users")?.iter().filter_map(|u| u["name"].as_str()).collect();
    assert!(names.contains(&"Helsinki school") && names.contains(&"editor test user"), "{names:?}");
    let (status, body) = get(&admin_token, "/api/v0/admin/devices").await?;
    assert_eq!(status, 200, "{body}");
    let devices: Value = serde_json::from_str(&body)?;
    let phone = devices["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "school phone"))
        .with_context(|| format!("the redeemed device is listed: {devices}"))?;
    let phone_id = phone["id"].as_i64().context("device id")?;

    // Revoking the phone closes its live connection within a second; a second time is 404.
    let phone_token = redeemed["token"].as_str().context("token")?.to_owned();
    let mut c = NativeClient::new("school phone");
    c.open(doc);
    c.connect(&relay.url(&phone_token)).await?;
    c.wait_until(|c| c.is_connected()).await?;
    let asked = std::time::Instant::now();
    let (status, body) = post(&admin_token, &format!("/api/v0/admin/devices/{phone_id}/revoke"), json!({})).await?;
    assert_eq!(status, 200, "{body}");
    c.wait_until(|c| c.closed.is_some()).await?;
    assert!(asked.elapsed() < Duration::from_secs(1), "closed after {:?}", asked.elapsed());
    let (status, _) = post(&admin_token, &format!("/api/v0/admin/devices/{phone_id}/revoke"), json!({})).await?;
    assert_eq!(status, 404);
    let session = http_get_with(relay.addr, "/api/v0/session", &[&auth(&phone_token)]).await?;
    assert!(session.0 == 401 && session.1.contains("revoked"), "{session:?}");

    // Disabling the editor closes its connection too.
    let mut e = NativeClient::new("editor");
    e.open(doc);
    e.connect(&relay.url(&editor)).await?;
    let (status, body) = post(&admin_token, &format!("/api/v0/admin/users/{editor_id}/disable"), json!({})).await?;
    assert_eq!(status, 200, "{body}");
    e.wait_until(|c| c.closed.is_some()).await?;
    let (_, body) = get(&admin_token, "/api/v0/admin/users").await?;
    let users: Value = serde_json::from_str(&body)?;
    let ed = users["users"].as_array().and_then(|u| u.iter().find(|u| u["id"] == editor_id)).context("editor")?;
    assert!(ed["disabled_at"].is_i64(), "{ed}");

    // The audit log: every action, by whom, filtered by who, what and when.
    let entries = |body: &str| -> anyhow::Result<Vec<Value>> {
        let v: Value = serde_json::from_str(body)?;
        Ok(v["entries"].as_array().context("entries")?.clone())
    };
    let (status, body) = get(&admin_token, &format!("/api/v0/admin/audit?user={admin_id}")).await?;
    assert_eq!(status, 200, "{body}");
    let by_admin = entries(&body)?;
    let by = format!("by=user:{admin_id}");
    for action in ["invite.create", "device.revoke", "user.disable"] {
        assert!(
            by_admin.iter().any(|r| r["action"] == action && r["detail"].as_str().is_some_and(|d| d.contains(&by))),
            "{action} by the administrator is audited: {by_admin:?}"
        );
    }
    let (_, body) = get(&admin_token, &format!("/api/v0/admin/audit?user={editor_id}&action=invite")).await?;
    let by_editor = entries(&body)?;
    assert!(by_editor.iter().all(|r| r["action"].as_str().is_some_and(|a| a.starts_with("invite."))), "{by_editor:?}");
    let editors_invites: Vec<&Value> = by_editor
        .iter()
        .filter(|r| {
            r["action"] == "invite.create"
                && r["detail"].as_str().is_some_and(|d| d.contains(&format!("by=user:{editor_id}")))
        })
        .collect();
    assert_eq!(editors_invites.len(), 1, "the editor's one invite, none of the refused ones: {by_editor:?}");
    assert!(editors_invites[0]["detail"].as_str().is_some_and(|d| d.contains("role=reader areas=[municipality:091]")));
    let (_, body) = get(&admin_token, "/api/v0/admin/audit?action=device.revoke").await?;
    let revokes = entries(&body)?;
    assert_eq!(revokes.len(), 1, "{revokes:?}");
    assert_eq!(revokes[0]["device_id"], phone_id);
    let today = &contactpoint_server::calendar::rfc3339_utc(storage::now_ms() / 1000)[..10];
    let (status, body) = get(&admin_token, &format!("/api/v0/admin/audit?since={today}&action=user")).await?;
    assert_eq!(status, 200, "{body}");
    assert!(entries(&body)?.iter().any(|r| r["action"] == "user.disable"), "{body}");
    let (_, body) = get(&admin_token, &format!("/api/v0/admin/audit?until={today}")).await?;
    assert!(entries(&body)?.is_empty(), "nothing before today: {body}");
    // Refusals leave a trace too, with what was asked and why.
    let reader_id = user_of(&reader).user_id;
    let (_, body) = get(&admin_token, &format!("/api/v0/admin/audit?user={reader_id}&action=admin.refused")).await?;
    let refused: Vec<String> = entries(&body)?.iter().filter_map(|r| r["detail"].as_str().map(str::to_owned)).collect();
    assert_eq!(refused.len(), 5, "the reader's invite, three listings and revocation: {refused:?}");
    assert!(refused.iter().any(|d| d.starts_with("revoke device") && d.contains("only administrators")), "{refused:?}");
    let (_, body) = get(&admin_token, &format!("/api/v0/admin/audit?user={editor_id}&action=admin.refused")).await?;
    let refused: Vec<String> = entries(&body)?.iter().filter_map(|r| r["detail"].as_str().map(str::to_owned)).collect();
    assert!(
        refused.iter().any(|d| d.starts_with("invite role=reader areas=[municipality:853]") && d.contains("not for")),
        "{refused:?}"
    );
    let (status, body) = get(&admin_token, "/api/v0/admin/audit?since=yesterday").await?;
    assert!(status == 400 && body.contains("YYYY-MM-DD"), "{status} {body}");
    Ok(())
}
