//! Sessions and names under attack: a rotated token's open connection is closed, the session
//! check tells a revoked device and a disabled user from a token the relay does not know,
//! simultaneous wrong invite codes are counted one by one, and names reach the administrator's
//! terminal without their control characters.

use std::net::IpAddr;

use anyhow::{Context, Result};
use contactpoint_server::auth::{self, InviteSpec, Role};
use contactpoint_server::storage::{Scope, StorageError};
use contactpoint_tests::{
    NativeClient, TestRelay, contactpoint_ok, eventually, http_from, http_get_with, http_post, http_post_with,
};
use serde_json::{Value, json};

fn invite(relay: &TestRelay, role: Role, user_name: Option<&str>) -> Result<String> {
    let spec =
        InviteSpec { role, areas: vec![], user_name: user_name.map(str::to_owned), valid_for_ms: 60_000, uses: 1 };
    Ok(relay
        .db
        .with(|c| auth::create_invite(c, &spec, Some("test")).map_err(|e| StorageError::Invalid(e.to_string())))?)
}

fn stored_key(relay: &TestRelay, doc: contactpoint_protocol::DocumentId, key: &str) -> Result<Option<String>> {
    use contactpoint_protocol::automerge::{ROOT, ReadDoc};
    let d = contactpoint_tests::stored_doc(&relay.db, doc)?;
    Ok(d.get(ROOT, key)?.and_then(|(v, _)| v.into_string().ok()))
}

/// Rotating a token closes the connection opened with the old one at once: a write sent on it
/// afterwards is not stored. The new token connects and writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_a_token_closes_the_old_session() -> Result<()> {
    let relay = TestRelay::start().await?;
    let doc = relay.document(Scope::Area("municipality:091".into()));
    let token = relay.token(Role::Editor, &["091"]);
    let mut old = NativeClient::new("rotating-old");
    old.open(doc);
    old.connect(&relay.url(&token)).await?;
    old.put(doc, "before", "yes").await?;
    old.wait_until(|c| c.session.is_acknowledged(&doc)).await?;

    let (status, body) =
        http_post_with(relay.addr, "/api/v0/rotate", &[&format!("Authorization: Bearer {token}")], "").await?;
    assert_eq!(status, 200, "{body}");
    let new_token = serde_json::from_str::<Value>(&body)?["token"].as_str().context("a token")?.to_owned();
    // The holder of the old token tries to go on writing.
    old.put(doc, "after_rotation", "sneaked in").await?;
    old.wait_until(|c| c.closed.is_some()).await?;
    assert!(old.errors.iter().any(|m| m.contains("replaced")), "closed: {:?}, errors: {:?}", old.closed, old.errors);
    let err = NativeClient::new("old-again").connect(&relay.url(&token)).await.expect_err("refused").to_string();
    assert!(err.contains("401"), "{err}");

    let mut new = NativeClient::new("rotating-new");
    new.open(doc);
    new.connect(&relay.url(&new_token)).await?;
    new.put(doc, "after", "with the new token").await?;
    new.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    eventually("the new token's write is stored", || Ok(stored_key(&relay, doc, "after")?.is_some())).await?;
    assert_eq!(stored_key(&relay, doc, "before")?.as_deref(), Some("yes"));
    assert_eq!(stored_key(&relay, doc, "after_rotation")?, None, "a write on the old session was stored");
    assert_eq!(new.get(doc, "after_rotation"), None);
    Ok(())
}

/// `GET /api/v0/session` as a device asks it, with its token as `Authorization: Bearer …`
/// (`None`: no header): the status and the JSON body.
async fn session(relay: &TestRelay, token: Option<&str>) -> Result<(u16, Value)> {
    let header = token.map(|t| format!("Authorization: Bearer {t}"));
    let headers: Vec<&str> = header.iter().map(String::as_str).collect();
    let (status, body) = http_get_with(relay.addr, "/api/v0/session", &headers).await?;
    Ok((status, serde_json::from_str(&body).with_context(|| format!("{status}: {body}"))?))
}

/// The session check tells a phone why its token stopped working. A working token gets its user;
/// a device revoked and a user disabled with the real command get 401 with `revoked` and
/// `disabled`; a token nobody has, one replaced by a rotation, and a request without a token get
/// 401 with `unknown`, on which the app keeps its data. Every 401 carries a message for a person.
/// The sync endpoint keeps refusing the revoked and disabled tokens' upgrades with 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_check_says_why_a_token_stopped_working() -> Result<()> {
    use contactpoint_server::storage::identity_by_token_hash;
    let relay = TestRelay::start().await?;
    let db = relay.db_path.to_str().context("database path")?.to_owned();
    let editor = relay.token(Role::Editor, &["091", "853"]);
    let (lost, owner_disabled, rotated) =
        (relay.token(Role::Reader, &[]), relay.token(Role::Reader, &[]), relay.token(Role::Reader, &[]));
    let identity = |token: &str| {
        relay.db.with(|c| identity_by_token_hash(c, &auth::hash_secret(token)))?.context("the token's identity")
    };

    // Helsinki's members-only document is listed for its editor; the catalogue does not list it.
    let members_only = relay.document(contactpoint_server::storage::Scope::Restricted("municipality:091".into()));
    let (status, body) = session(&relay, Some(&editor)).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "user_name": "editor test user",
            "role": "editor",
            "areas": ["municipality:091", "municipality:853"],
            "members_only_documents": [{ "id": members_only.to_string(), "area": "municipality:091" }],
        })
    );
    let (_, body) = session(&relay, Some(&lost)).await?;
    assert_eq!(body["members_only_documents"], json!([]), "a reader without an area is a member of nothing");
    for token in [&lost, &owner_disabled, &rotated] {
        assert_eq!(session(&relay, Some(token)).await?.0, 200);
    }

    let device = identity(&lost)?.device_id.to_string();
    contactpoint_ok(&["admin", "revoke", &device, "--db", &db])?;
    let user = identity(&owner_disabled)?.user_id.to_string();
    contactpoint_ok(&["admin", "disable-user", &user, "--db", &db])?;
    let (status, body) =
        http_post_with(relay.addr, "/api/v0/rotate", &[&format!("Authorization: Bearer {rotated}")], "").await?;
    assert_eq!(status, 200, "{body}");

    let cases: [(&str, Option<&str>, &str); 5] = [
        ("a revoked device", Some(&lost), "revoked"),
        ("a disabled user's device", Some(&owner_disabled), "disabled"),
        ("a token nobody has", Some("n0t-a-t0ken-anyb0dy-has"), "unknown"),
        ("a token replaced by a rotation", Some(&rotated), "unknown"),
        ("no token", None, "unknown"),
    ];
    for (what, token, reason) in cases {
        let (status, body) = session(&relay, token).await?;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["reason"], reason, "{what}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| e.len() > 20), "{what}: a message for a person: {body}");
    }
    let (_, body) = session(&relay, Some(&lost)).await?;
    assert!(body["error"].as_str().is_some_and(|e| e.contains("removed")), "{body}");
    let (_, body) = session(&relay, Some(&owner_disabled)).await?;
    assert!(body["error"].as_str().is_some_and(|e| e.contains("disabled")), "{body}");
    // An empty bearer token is no token.
    let (status, body) = http_get_with(relay.addr, "/api/v0/session", &["Authorization: Bearer "]).await?;
    assert_eq!((status, serde_json::from_str::<Value>(&body)?["reason"].clone()), (401, json!("unknown")), "{body}");

    for token in [&lost, &owner_disabled] {
        let err = NativeClient::new("removed").connect(&relay.url(token)).await.expect_err("refused").to_string();
        assert!(err.contains("401"), "{err}");
    }
    Ok(())
}

/// 64 wrong codes at once from one address: only the burst of five is looked at (403), the rest
/// are refused unseen (429). A right code from another address still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_wrong_codes_are_counted_one_by_one() -> Result<()> {
    let relay = TestRelay::start().await?;
    let started = std::time::Instant::now();
    let attempts = (0..64).map(|i| {
        let body = json!({ "code": format!("WR0NG-C0DE-{i:05}"), "device_name": "guess" }).to_string();
        let addr = relay.addr;
        async move { http_post(addr, "/api/v0/redeem", &body).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.into_iter().map(|r| r.map(|(s, _)| s)).collect::<Result<_>>()?;
    let looked_at = statuses.iter().filter(|s| **s == 403).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(looked_at + refused, 64, "{statuses:?}");
    // One more attempt becomes available every 12 s.
    let refilled = (started.elapsed().as_secs() / 12) as usize;
    assert!((1..=5 + refilled).contains(&looked_at), "{looked_at} wrong codes were looked at: {statuses:?}");

    let code = invite(&relay, Role::Reader, Some("Second address"))?;
    let body = json!({ "code": code, "device_name": "phone" }).to_string();
    let request = format!(
        "POST /api/v0/redeem HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        relay.addr,
        body.len()
    );
    let (status, body) = http_from(IpAddr::from([127, 0, 0, 2]), relay.addr, &request).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

/// A device name with an escape sequence and a bell is listed with both escaped by `admin
/// devices`, `admin users` and `admin audit`.
#[tokio::test]
async fn names_reach_the_admin_terminal_without_control_characters() -> Result<()> {
    let relay = TestRelay::start().await?;
    // Without a name in the invite, the user is named after the device.
    let code = invite(&relay, Role::Reader, None)?;
    let body = json!({ "code": code, "device_name": "phone\u{1b}[2J\u{7}" }).to_string();
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &body).await?;
    assert_eq!(status, 200, "{body}");
    let db = relay.db_path.to_str().context("path")?;
    for command in ["devices", "users", "audit"] {
        let out = contactpoint_ok(&["admin", command, "--db", db])?;
        assert!(out.contains("phone\\x1b[2J\\x07"), "admin {command}: {out}");
        let controls: Vec<char> = out.chars().filter(|c| c.is_control() && *c != '\n').collect();
        assert!(controls.is_empty(), "admin {command} printed {controls:?}: {out:?}");
    }
    // JSON output keeps the name as it is (JSON escapes it).
    let json: Value = serde_json::from_str(&contactpoint_ok(&["admin", "devices", "--db", db, "--json"])?)?;
    assert!(json.to_string().contains("phone\\u001b[2J\\u0007"), "{json}");
    Ok(())
}
