//! Every relay item of the bad-input list: each gets a clear error, loses nothing, and leaves
//! other peers unaffected.

use std::time::Duration;

use contactpoint_protocol::automerge::sync;
use contactpoint_protocol::{DocMessage, DocumentId, Message};
use contactpoint_server::Limits;
use contactpoint_server::auth::Role;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{NativeClient, TestRelay, http_get};

/// A relay with a document that a bystander edits before and after each bad input.
struct Scene {
    relay: TestRelay,
    doc: DocumentId,
    bystander: NativeClient,
    token: String,
    writes: usize,
}

impl Scene {
    async fn new(limits: Limits) -> anyhow::Result<Scene> {
        let relay = TestRelay::start_with(limits).await?;
        let doc = relay.document(Scope::Area("municipality:091".into()));
        let token = relay.token(Role::Admin, &[]);
        let mut bystander = NativeClient::new("bystander");
        bystander.open(doc);
        bystander.connect(&relay.url(&token)).await?;
        let mut s = Scene { relay, doc, bystander, token, writes: 0 };
        s.bystander_still_works().await?;
        Ok(s)
    }

    /// The bystander writes and the relay acknowledges: the relay and its peers are unaffected.
    async fn bystander_still_works(&mut self) -> anyhow::Result<()> {
        self.writes += 1;
        let value = format!("value {}", self.writes);
        self.bystander.put(self.doc, "phone", &value).await?;
        let doc = self.doc;
        self.bystander.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        assert!(self.bystander.closed.is_none(), "bystander was disconnected: {:?}", self.bystander.closed);
        Ok(())
    }

    /// A connected (handshaken) attacker.
    async fn attacker(&self) -> anyhow::Result<NativeClient> {
        let mut a = NativeClient::new("attacker");
        a.connect(&self.relay.url(&self.token)).await?;
        Ok(a)
    }

    fn doc_message(&self, data: Vec<u8>) -> DocMessage {
        DocMessage { sender_id: "peer-attacker".into(), target_id: String::new(), document_id: self.doc, data }
    }
}

async fn expect_error_and_close(c: &mut NativeClient, frame: Vec<u8>, needle: &str) -> anyhow::Result<()> {
    c.send_raw(frame).await?;
    let errors = c.read_until_closed().await?;
    assert!(errors.iter().any(|e| e.contains(needle)), "expected an error containing {needle:?}, got {errors:?}");
    Ok(())
}

#[tokio::test]
async fn malformed_cbor_unknown_type_and_impersonation() -> anyhow::Result<()> {
    let mut s = Scene::new(Limits::default()).await?;

    let mut a = s.attacker().await?;
    expect_error_and_close(&mut a, b"\xa1\x64type".to_vec(), "could not decode").await?;
    s.bystander_still_works().await?;

    let mut a = s.attacker().await?;
    let unknown = Message::Ignored { kind: "teleport".into(), sender_id: Some("peer-attacker".into()) }.encode();
    expect_error_and_close(&mut a, unknown, "unknown message type").await?;
    s.bystander_still_works().await?;

    let mut a = s.attacker().await?;
    let mut m = s.doc_message(vec![]);
    m.sender_id = "peer-bystander".into();
    expect_error_and_close(&mut a, Message::Sync(m).encode(), "senderId").await?;
    s.bystander_still_works().await?;
    Ok(())
}

#[tokio::test]
async fn wrong_version_and_missing_handshake() -> anyhow::Result<()> {
    let limits = Limits { handshake_timeout: Duration::from_millis(300), ..Limits::default() };
    let mut s = Scene::new(limits).await?;

    let mut a = NativeClient::new("attacker");
    a.open_socket(&s.relay.url(&s.token)).await?;
    let join = Message::Join { sender_id: "x".into(), supported_protocol_versions: vec!["2".into()], metadata: None };
    expect_error_and_close(&mut a, join.encode(), "unsupported protocol version").await?;

    let mut silent = NativeClient::new("silent");
    silent.open_socket(&s.relay.url(&s.token)).await?;
    let errors = silent.read_until_closed().await?;
    assert!(errors.iter().any(|e| e.contains("handshake timeout")), "{errors:?}");

    let mut early = NativeClient::new("early");
    early.open_socket(&s.relay.url(&s.token)).await?;
    expect_error_and_close(&mut early, Message::Sync(s.doc_message(vec![])).encode(), "expected join").await?;
    s.bystander_still_works().await?;
    Ok(())
}

#[tokio::test]
async fn oversized_frames_and_floods_are_cut_off() -> anyhow::Result<()> {
    let limits = Limits { max_frame_bytes: 64 * 1024, rate_per_sec: 20.0, rate_burst: 50.0, ..Limits::default() };
    let mut s = Scene::new(limits).await?;

    let mut big = s.attacker().await?;
    big.send_raw(vec![0u8; 200 * 1024]).await?;
    let errors = big.read_until_closed().await?;
    assert!(
        errors.iter().any(|e| e.contains("message too large") && e.contains("the limit is 65536")),
        "the oversized frame was not the reason given: {errors:?}"
    );
    s.bystander_still_works().await?;

    let mut flood = s.attacker().await?;
    // Well-formed but pointless messages, far faster than allowed.
    let leave_free =
        Message::Ignored { kind: "remote-heads-changed".into(), sender_id: Some("peer-attacker".into()) }.encode();
    for _ in 0..200 {
        if flood.send_raw(leave_free.clone()).await.is_err() {
            break;
        }
    }
    let errors = flood.read_until_closed().await?;
    assert!(errors.iter().any(|e| e.contains("too many messages")), "{errors:?}");
    s.bystander_still_works().await?;
    Ok(())
}

#[tokio::test]
async fn corrupt_automerge_data_changes_nothing() -> anyhow::Result<()> {
    let mut s = Scene::new(Limits::default()).await?;
    let before = s.bystander.get(s.doc, "phone");

    // Not a sync message at all.
    let mut a = s.attacker().await?;
    let frame = Message::Sync(DocMessage { target_id: target(&s), ..s.doc_message(b"garbage".to_vec()) }).encode();
    expect_error_and_close(&mut a, frame, "corrupt sync message").await?;
    s.bystander_still_works().await?;

    // A well-formed sync message carrying a corrupt change chunk.
    let mut a = s.attacker().await?;
    let msg = sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: vec![b"\x85\x6f\x4a\x83\x00\x00\x00\x00\x01\xff\xff\xff".to_vec()].into(),
        flags: None,
        version: sync::MessageVersion::V1,
    };
    let frame = Message::Sync(DocMessage { target_id: target(&s), ..s.doc_message(msg.encode()) }).encode();
    expect_error_and_close(&mut a, frame, "could not apply changes").await?;
    s.bystander_still_works().await?;
    assert_ne!(s.bystander.get(s.doc, "phone"), before, "the bystander's later writes still land");

    // The stored document still loads and holds the bystander's last value.
    let mut fresh = NativeClient::new("fresh");
    fresh.open(s.doc);
    fresh.connect(&s.relay.url(&s.token)).await?;
    let expected = format!("value {}", s.writes);
    let doc = s.doc;
    fresh.wait_until(|c| c.get(doc, "phone").as_deref() == Some(expected.as_str())).await?;
    Ok(())
}

/// The relay's peer id, which the relay sends in its `peer` message.
fn target(s: &Scene) -> String {
    s.relay.relay.peer_id().to_owned()
}

/// A storage id shorter than the eight characters the relay's peer id takes from it (stored by
/// hand, or by another tool) still gives a relay that starts and names itself.
#[test]
fn a_short_stored_storage_id_names_the_relay() -> anyhow::Result<()> {
    use contactpoint_server::relay::Relay;
    use contactpoint_server::storage::{self, Db};
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("short.db"))?;
    db.with(storage::storage_id)?;
    db.with(|c| c.execute("UPDATE meta SET value = 'ab' WHERE key = 'storage_id'", &[]))?;
    let relay = Relay::new(db, Limits::default())?;
    assert_eq!((relay.storage_id(), relay.peer_id()), ("ab", "relay-ab"));
    Ok(())
}

#[tokio::test]
async fn unknown_and_unreadable_documents_are_unavailable() -> anyhow::Result<()> {
    let s = Scene::new(Limits::default()).await?;
    // A reader asks for a document the relay does not have, and syncs one into existence.
    let reader_token = s.relay.token(Role::Reader, &[]);
    let unknown = DocumentId::from_random_bytes([77; 16]);
    let mut r = NativeClient::new("reader");
    r.open(unknown);
    r.connect(&s.relay.url(&reader_token)).await?;
    r.wait_until(|c| c.unavailable.contains(&unknown)).await?;

    let created_by_reader = DocumentId::from_random_bytes([78; 16]);
    r.session.create_doc(created_by_reader, contactpoint_protocol::automerge::Automerge::new());
    r.put(created_by_reader, "x", "y").await?;
    r.wait_until(|c| c.unavailable.contains(&created_by_reader)).await?;
    let known = s.relay.db.with(|c| contactpoint_server::storage::doc_scope(c, &created_by_reader))?;
    assert_eq!(known, None, "a reader cannot create documents");

    // A tombstoned document is refused forever, even to admins.
    let mut late = NativeClient::new("late");
    let t = s.relay.document(Scope::National);
    s.relay.db.with(|c| {
        c.execute("UPDATE documents SET tombstoned_at = 1 WHERE id = ?1", contactpoint_server::args![t.to_string()])
    })?;
    late.open(t);
    late.connect(&s.relay.url(&s.token)).await?;
    late.wait_until(|c| c.unavailable.contains(&t)).await?;
    Ok(())
}

#[tokio::test]
async fn bad_tokens_and_area_codes_are_refused_clearly() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    for token in ["", "cpt_invented", "%00%ff"] {
        let mut c = NativeClient::new("nobody");
        let err = c.connect(&relay.url(token)).await.expect_err("must be refused").to_string();
        assert!(err.contains("401"), "{token:?}: {err}");
    }
    let (status, _) = http_get(relay.addr, "/sync").await?;
    assert_eq!(status, 401);
    assert_eq!(
        contactpoint_server::admin::parse_scope("area:999"),
        Err("unknown municipality code \"999\"".to_owned())
    );
    assert!(contactpoint_server::admin::parse_scope("Helsinki").is_err());
    Ok(())
}

/// A revoked device is disconnected while connected, and its token stops working.
#[tokio::test]
async fn revocation_closes_live_connections() -> anyhow::Result<()> {
    let mut s = Scene::new(Limits { revocation_poll: Duration::from_millis(100), ..Limits::default() }).await?;
    let token = s.relay.token(Role::Reader, &[]);
    let mut c = NativeClient::new("to-revoke");
    c.open(s.doc);
    c.connect(&s.relay.url(&token)).await?;
    let hash = contactpoint_server::auth::hash_secret(&token);
    let device: i64 = s.relay.db.with(|c| {
        c.query_row("SELECT id FROM devices WHERE token_hash = ?1", contactpoint_server::args![hash], |r| r.get(0))
    })?;
    s.relay.db.with(|conn| contactpoint_server::auth::revoke_device(conn, device, "cli"))?;
    c.wait_until(|c| c.closed.is_some()).await?;
    assert!(c.errors.iter().any(|e| e.contains("signed out")), "{:?}", c.errors);
    let err = NativeClient::new("again").connect(&s.relay.url(&token)).await.expect_err("refused").to_string();
    assert!(err.contains("401"), "{err}");
    s.bystander_still_works().await?;
    Ok(())
}

/// A revocation written with a time before one the relay already acted on (a process on a host
/// whose clock is a few seconds behind, or two revocations committing out of order) still
/// closes the device's connections: the watcher reads back a minute.
#[tokio::test]
async fn a_revocation_dated_before_the_last_one_read_still_closes_connections() -> anyhow::Result<()> {
    let s = Scene::new(Limits { revocation_poll: Duration::from_millis(100), ..Limits::default() }).await?;
    let device_of = |token: &str| -> anyhow::Result<i64> {
        let hash = contactpoint_server::auth::hash_secret(token);
        Ok(s.relay.db.with(|c| {
            c.query_row("SELECT id FROM devices WHERE token_hash = ?1", contactpoint_server::args![hash], |r| r.get(0))
        })?)
    };
    let (first, late) = (s.relay.token(Role::Reader, &[]), s.relay.token(Role::Reader, &[]));
    let (mut a, mut b) = (NativeClient::new("revoked first"), NativeClient::new("revoked late"));
    for (c, token) in [(&mut a, &first), (&mut b, &late)] {
        c.open(s.doc);
        c.connect(&s.relay.url(token)).await?;
    }
    let first_device = device_of(&first)?;
    s.relay.db.with(|conn| contactpoint_server::auth::revoke_device(conn, first_device, "cli"))?;
    a.wait_until(|c| c.closed.is_some()).await?;
    // Written now, dated ten seconds ago.
    let late_device = device_of(&late)?;
    let ten_seconds_ago = contactpoint_server::storage::now_ms() - 10_000;
    s.relay.db.with(|c| {
        c.execute(
            "UPDATE devices SET revoked_at = ?1 WHERE id = ?2",
            contactpoint_server::args![ten_seconds_ago, late_device],
        )
    })?;
    b.wait_until(|c| c.closed.is_some()).await.map_err(|e| anyhow::anyhow!("the late revocation was skipped: {e}"))?;
    assert!(b.errors.iter().any(|e| e.contains("signed out")), "{:?}", b.errors);
    Ok(())
}
