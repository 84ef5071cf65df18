//! Sessions under attack: a rotated token's open connection is closed.

use anyhow::{Context, Result};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{NativeClient, TestRelay, eventually, http_post_with};
use serde_json::Value;

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
