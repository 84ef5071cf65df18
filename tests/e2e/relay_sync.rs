//! Native clients syncing through a real relay on loopback, across a relay restart.

use contactpoint_server::Limits;
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{NativeClient, TestRelay, eventually, http_get, http_post, http_post_with};

/// The story:
/// 1. An admin's client creates a document through sync.
/// 2. A reader's client receives it.
/// 3. Both disconnect and the relay restarts on the same file.
/// 4. The admin edits once.
/// 5. The reader catches up for under 1 KB on the wire, thanks to persisted sync state.
#[tokio::test]
async fn create_sync_restart_and_cheap_catch_up() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    let admin_token = relay.token(Role::Admin, &[]);
    let reader_token = relay.token(Role::Reader, &[]);
    let doc = contactpoint_protocol::DocumentId::from_random_bytes([42; 16]);

    let mut admin = NativeClient::new("admin");
    admin.session.create_doc(doc, contactpoint_protocol::automerge::Automerge::new());
    admin.connect(&relay.url(&admin_token)).await?;
    for i in 0..300 {
        admin.put(doc, &format!("contact-{i}"), "+358 40 000 0000").await?;
    }
    admin.wait_until(|c| c.session.is_acknowledged(&doc)).await?;

    let mut reader = NativeClient::new("reader");
    reader.open(doc);
    reader.connect(&relay.url(&reader_token)).await?;
    reader.wait_until(|c| c.get(doc, "contact-299").is_some()).await?;
    let initial = reader.bytes_received;

    admin.disconnect().await;
    reader.disconnect().await;
    // The relay keeps sync state per (document, peer storage) once a peer detaches.
    eventually("both peers' sync states are stored", || {
        let n = relay.db.with(|c| c.query_row("SELECT COUNT(*) FROM sync_states", &[], |r| r.get::<i64>(0)))?;
        Ok(n == 2)
    })
    .await?;

    let (path, dir) = relay.stop().await;
    let relay = TestRelay::start_at(&path, Limits::default()).await?;
    admin.connect(&relay.url(&admin_token)).await?;
    admin.put(doc, "contact-7", "+358 40 111 1111").await?;
    admin.wait_until(|c| c.session.is_acknowledged(&doc)).await?;

    reader.reset_counters();
    reader.connect(&relay.url(&reader_token)).await?;
    reader.wait_until(|c| c.get(doc, "contact-7").as_deref() == Some("+358 40 111 1111")).await?;
    reader.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    let total = reader.bytes_sent + reader.bytes_received;
    println!(
        "initial sync of 300 entries: {initial} bytes received; catch-up after one edit: {} sent + {} received = {total} bytes",
        reader.bytes_sent, reader.bytes_received
    );
    assert!(total < 1024, "catch-up after one edit cost {total} bytes");
    drop(dir);
    Ok(())
}

/// Health, invite redemption over HTTP, and refusal of a reused code.
#[tokio::test]
async fn health_and_redeem_over_http() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    let (status, body) = http_get(relay.addr, "/healthz").await?;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    let code = relay.db.with(|c| {
        contactpoint_server::admin::first_admin_invite(c)
            .map_err(|e| contactpoint_server::storage::StorageError::Invalid(e.to_string()))
    })?;
    let index = relay.document(Scope::Index);
    let req = format!(r#"{{"code": "{code}", "device_name": "phone"}}"#);
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &req).await?;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(v["role"], "admin");
    assert_eq!(v["index_document_id"], index.to_string());
    let token = v["token"].as_str().unwrap_or_default().to_owned();
    assert!(token.starts_with("cpt_"));

    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &req).await?;
    assert_eq!(status, 403, "a used code is refused: {body}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(v["code"], "invite_used", "{body}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("already been used")), "{body}");
    let wrong = serde_json::json!({ "code": "AAAAA-AAAAA-AAAAA", "device_name": "phone" }).to_string();
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &wrong).await?;
    assert_eq!(status, 403, "a wrong code is refused: {body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body)?["code"], "invite_unknown", "{body}");
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", "{not json").await?;
    assert_eq!(status, 400, "{body}");

    let mut c = NativeClient::new("redeemed");
    c.connect(&relay.url(&token)).await?;
    Ok(())
}

/// A device swaps its token for a new one: the old one stops working at once.
#[tokio::test]
async fn device_tokens_rotate() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    let old = relay.token(Role::Reader, &[]);
    let (status, body) =
        http_post_with(relay.addr, "/api/v0/rotate", &[&format!("Authorization: Bearer {old}")], "").await?;
    assert_eq!(status, 200, "{body}");
    let new = serde_json::from_str::<serde_json::Value>(&body)?["token"].as_str().unwrap_or_default().to_owned();
    assert!(new.starts_with("cpt_") && new != old);
    let err = NativeClient::new("old").connect(&relay.url(&old)).await.expect_err("old token refused").to_string();
    assert!(err.contains("401"), "{err}");
    NativeClient::new("new").connect(&relay.url(&new)).await?;
    let (status, _) =
        http_post_with(relay.addr, "/api/v0/rotate", &[&format!("Authorization: Bearer {old}")], "").await?;
    assert_eq!(status, 401, "a rotated-away token cannot rotate again");
    let (status, _) = http_post(relay.addr, "/api/v0/rotate", "").await?;
    assert_eq!(status, 401, "no token, no rotation");
    Ok(())
}

/// Guessing invite codes is slowed down per address: after a burst of wrong codes, even a right
/// one has to wait.
#[tokio::test]
async fn wrong_invite_codes_are_rate_limited() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    let wrong = r#"{"code": "AAAAA-AAAAA-AAAAA", "device_name": "phone"}"#;
    for i in 0..5 {
        let (status, body) = http_post(relay.addr, "/api/v0/redeem", wrong).await?;
        assert_eq!(status, 403, "attempt {i}: {body}");
    }
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", wrong).await?;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too many invalid invite codes"), "{body}");
    let code = relay.db.with(|c| {
        contactpoint_server::admin::first_admin_invite(c)
            .map_err(|e| contactpoint_server::storage::StorageError::Invalid(e.to_string()))
    })?;
    let right = format!(r#"{{"code": "{code}", "device_name": "phone"}}"#);
    let (status, _) = http_post(relay.addr, "/api/v0/redeem", &right).await?;
    assert_eq!(status, 429, "the address waits before trying again");

    // The failures are kept in the database: a restart on the same file does not reset them.
    let (path, dir) = relay.stop().await;
    let relay = TestRelay::start_at(&path, Limits::default()).await?;
    let (status, body) = http_post(relay.addr, "/api/v0/redeem", &right).await?;
    assert_eq!(status, 429, "still limited after a restart: {body}");
    drop(dir);
    Ok(())
}
