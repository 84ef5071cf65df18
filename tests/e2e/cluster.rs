//! Several relays over one PostgreSQL database: what a client writes through one relay reaches
//! the clients of another, both ways, within a second because it is announced (`NOTIFY`), and
//! revocations, disabled users, replaced tokens and the wrong-invite limit hold on every relay.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{ChangeHash, ROOT};
use contactpoint_server::Limits;
use contactpoint_server::admin::disable_user;
use contactpoint_server::auth::{Role, hash_secret, revoke_device};
use contactpoint_server::notice::CHANNEL;
use contactpoint_server::sql::Value;
use contactpoint_server::storage::{Db, Scope, identity_by_token_hash};
use contactpoint_tests::{
    NativeClient, RelayProcess, SamodClient, TestRelay, doc_json, eventually, http_post, http_post_with,
};

use crate::interop::{js_heads, node, strings, text};

/// Two relays, A and B, over one fresh database: an admin writing through A is read live by a
/// reader connected to B, an admin writing through B is read live by a reader connected to A,
/// and revoking the reader's device closes its connections on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_over_one_database_share_writes_and_revocations() -> anyhow::Result<()> {
    let path = PathBuf::from(contactpoint_tests::fresh_database()?);
    let a = TestRelay::start_at(&path, Limits::default()).await?;
    let b = TestRelay::start_at(&path, Limits::default()).await?;
    let doc = a.document(Scope::Area("municipality:091".into()));
    let admin = a.token(Role::Admin, &[]);
    let reader = b.token(Role::Reader, &[]);

    let client = |name: &str| {
        let mut c = NativeClient::new(name);
        c.open(doc);
        c
    };
    let (mut writer_a, mut writer_b) = (client("admin on A"), client("admin on B"));
    let (mut reader_a, mut reader_b) = (client("reader on A"), client("reader on B"));
    // The document has content before the others open it (an empty one is unavailable to them).
    writer_a.connect(&a.url(&admin)).await?;
    writer_a.put(doc, "title", "set up").await?;
    writer_a.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    writer_b.connect(&b.url(&admin)).await?;
    reader_a.connect(&a.url(&reader)).await?;
    reader_b.connect(&b.url(&reader)).await?;
    for c in [&mut writer_b, &mut reader_a, &mut reader_b] {
        c.wait_until(|c| c.get(doc, "title").is_some()).await?;
    }

    writer_a.put(doc, "from", "A").await?;
    reader_b.wait_until(|c| c.get(doc, "from").as_deref() == Some("A")).await.context("A to B")?;
    writer_b.put(doc, "back", "B").await?;
    reader_a.wait_until(|c| c.get(doc, "back").as_deref() == Some("B")).await.context("B to A")?;
    writer_a.wait_until(|c| c.get(doc, "back").as_deref() == Some("B")).await?;

    let device = a.db.with(|c| identity_by_token_hash(c, &hash_secret(&reader)))?.expect("the reader").device_id;
    assert!(a.db.with(|c| revoke_device(c, device, "test"))?);
    reader_a.wait_until(|c| !c.is_connected()).await?;
    reader_b.wait_until(|c| !c.is_connected()).await?;
    assert!(writer_a.is_connected() && writer_b.is_connected(), "only the revoked device is cut off");
    Ok(())
}

/// Limits under which a relay learns of the other's writes only by hearing them announced: the
/// polls that would also find them are a minute apart, far beyond the tests' one-second bounds.
fn announced_only() -> Limits {
    Limits { revocation_poll: Duration::from_secs(60), announced_poll: Duration::from_secs(60), ..Limits::default() }
}

/// How long a change made through one relay may take to take effect on another.
const WITHIN: Duration = Duration::from_secs(1);

/// The connections listening for announcements on the database at `db`.
fn listeners(db: &Db) -> anyhow::Result<i64> {
    Ok(db.with(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query = ?1",
            &[Value::Text(format!("LISTEN {CHANNEL}"))],
            |r| r.get::<i64>(0),
        )
    })?)
}

/// Waits until `n` connections listen on the database.
async fn until_listening(db: &Db, n: i64) -> anyhow::Result<()> {
    eventually("the relays listen", || Ok(listeners(db)? >= n)).await
}

/// A client with `doc` open, connected to `url`, that has read the document's `title`.
async fn reading(name: &str, doc: DocumentId, url: &str) -> anyhow::Result<NativeClient> {
    let mut c = NativeClient::new(name);
    c.open(doc);
    c.connect(url).await?;
    c.wait_until(|c| c.get(doc, "title").is_some()).await?;
    Ok(c)
}

/// Whether `c` is closed within [`WITHIN`].
async fn closed_within(c: &mut NativeClient, what: &str) -> anyhow::Result<()> {
    tokio::time::timeout(WITHIN, c.wait_until(|c| !c.is_connected()))
        .await
        .with_context(|| format!("{what}: still connected after {WITHIN:?}"))?
}

/// With polls a minute apart, everything that one relay (or the admin command) changes takes
/// effect on the other within a second because it is announced: writes both ways, a write while
/// the other's listening connection was cut (it connects again and reads what it missed), a
/// revoked device, a disabled user and a replaced token (whose new connection, on the relay that
/// replaced it, stays open).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_changes_take_effect_on_the_other_relay_within_a_second() -> anyhow::Result<()> {
    let path = PathBuf::from(contactpoint_tests::fresh_database()?);
    let a = TestRelay::start_at(&path, announced_only()).await?;
    let b = TestRelay::start_at(&path, announced_only()).await?;
    until_listening(&a.db, 2).await?;
    let doc = a.document(Scope::Area("municipality:091".into()));
    let admin = a.token(Role::Admin, &[]);
    let mut writer_a = NativeClient::new("admin on A");
    writer_a.open(doc);
    writer_a.connect(&a.url(&admin)).await?;
    writer_a.put(doc, "title", "set up").await?;
    writer_a.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    let mut writer_b = reading("admin on B", doc, &b.url(&admin)).await?;
    let reader = a.token(Role::Reader, &[]);
    let mut reader_a = reading("reader on A", doc, &a.url(&reader)).await?;
    let mut reader_b = reading("reader on B", doc, &b.url(&reader)).await?;

    for (round, (writer, reader, what)) in
        [(&mut writer_a, &mut reader_b, "A to B"), (&mut writer_b, &mut reader_a, "B to A")].into_iter().enumerate()
    {
        // A key of its own each time: a writer that has not yet received the other's value
        // would otherwise write concurrently with it, and either may win.
        let key = format!("round {round}");
        writer.put(doc, &key, "v").await?;
        writer.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        tokio::time::timeout(WITHIN, reader.wait_until(|c| c.get(doc, &key).is_some()))
            .await
            .with_context(|| format!("{what}: not read within {WITHIN:?}"))??;
    }

    // Cut both listening connections, then write: whoever missed the announcement reads it.
    let cut = a.db.with(|c| {
        c.query_row(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND query = ?1",
            &[Value::Text(format!("LISTEN {CHANNEL}"))],
            |r| r.get::<i64>(0),
        )
    })?;
    assert_eq!(cut, 2, "both relays listened");
    writer_a.put(doc, "while cut", "v").await?;
    writer_a.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    tokio::time::timeout(WITHIN, reader_b.wait_until(|c| c.get(doc, "while cut").is_some()))
        .await
        .context("a write while the listening connection was cut")??;
    until_listening(&a.db, 2).await?;

    // A revoked device, from the admin command's function on the database.
    let device = a.db.with(|c| identity_by_token_hash(c, &hash_secret(&reader)))?.expect("the reader").device_id;
    assert!(a.db.with(|c| revoke_device(c, device, "test"))?);
    closed_within(&mut reader_a, "revoked device on A").await?;
    closed_within(&mut reader_b, "revoked device on B").await?;

    // A disabled user.
    let other = a.token(Role::Reader, &[]);
    let mut other_a = reading("other on A", doc, &a.url(&other)).await?;
    let mut other_b = reading("other on B", doc, &b.url(&other)).await?;
    let user = a.db.with(|c| identity_by_token_hash(c, &hash_secret(&other)))?.expect("the other").user_id;
    assert!(a.db.with(|c| disable_user(c, user, "test"))?);
    closed_within(&mut other_a, "disabled user on A").await?;
    closed_within(&mut other_b, "disabled user on B").await?;

    // A token replaced through A: the old token's connection to B closes; the new one on A stays.
    let rotating = a.token(Role::Reader, &[]);
    let mut old_b = reading("old token on B", doc, &b.url(&rotating)).await?;
    let (status, body) =
        http_post_with(a.addr, "/api/v0/rotate", &[&format!("Authorization: Bearer {rotating}")], "").await?;
    assert_eq!(status, 200, "{body}");
    let new_token = serde_json::from_str::<serde_json::Value>(&body)?["token"].as_str().context("a token")?.to_owned();
    let mut new_a = reading("new token on A", doc, &a.url(&new_token)).await?;
    closed_within(&mut old_b, "replaced token on B").await?;
    assert!(old_b.errors.iter().any(|m| m.contains("replaced")), "{:?} {:?}", old_b.closed, old_b.errors);
    writer_a.put(doc, "after rotation", "v").await?;
    new_a.wait_until(|c| c.get(doc, "after rotation").is_some()).await?;
    new_a.settle(Duration::from_millis(300)).await?;
    assert!(new_a.is_connected(), "the new token's connection stays: {:?} {:?}", new_a.closed, new_a.errors);
    Ok(())
}

/// Wrong invite codes sent to two relays at once from one address count against one limit: no
/// more are looked at than one relay alone would look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_invite_codes_count_against_one_limit_across_relays() -> anyhow::Result<()> {
    let path = PathBuf::from(contactpoint_tests::fresh_database()?);
    let a = TestRelay::start_at(&path, Limits::default()).await?;
    let b = TestRelay::start_at(&path, Limits::default()).await?;
    let started = std::time::Instant::now();
    let attempts = (0..32).map(|i| {
        let body = serde_json::json!({ "code": format!("WR0NG-C0DE-{i:05}"), "device_name": "guess" }).to_string();
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        async move { http_post(addr, "/api/v0/redeem", &body).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.into_iter().map(|r| r.map(|(s, _)| s)).collect::<anyhow::Result<_>>()?;
    let looked_at = statuses.iter().filter(|s| **s == 403).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(looked_at + refused, 32, "{statuses:?}");
    // One more attempt becomes available every 12 s.
    let refilled = (started.elapsed().as_secs() / 12) as usize;
    assert!((1..=5 + refilled).contains(&looked_at), "{looked_at} wrong codes were looked at: {statuses:?}");
    // Both relays now refuse the address.
    for addr in [a.addr, b.addr] {
        let body = serde_json::json!({ "code": "WR0NG-C0DE-AGAIN", "device_name": "guess" }).to_string();
        let (status, _) = http_post(addr, "/api/v0/redeem", &body).await?;
        assert_eq!(status, 429, "{addr}");
    }
    Ok(())
}

/// The official JavaScript client on relay A and samod on relay B hold one document: what the
/// JavaScript client writes through A reaches samod live through B, and what samod writes through
/// B is read by a JavaScript client through A, which has the document loaded all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_client_on_one_relay_and_samod_on_the_other_share_a_document() -> anyhow::Result<()> {
    let path = PathBuf::from(contactpoint_tests::fresh_database()?);
    let a = TestRelay::start_at(&path, announced_only()).await?;
    let b = TestRelay::start_at(&path, announced_only()).await?;
    until_listening(&a.db, 2).await?;
    let created = node(&["create", &a.url(&a.token(Role::Admin, &[]))]).await?;
    let url = text(&created, "url")?.to_owned();
    let id: DocumentId = url.parse().map_err(|e| anyhow::anyhow!("{url}: {e:?}"))?;

    let samod = SamodClient::connect("admin-on-b", &b.url(&b.token(Role::Admin, &[]))).await?;
    let handle = samod.find(id).await?;
    assert_eq!(handle.with_document(|d| doc_json(d)), created["doc"], "samod on B reads what was created on A");

    let written = node(&["write", &a.url(&a.token(Role::Admin, &[])), &url, "phone", "+358 9 123 4567"]).await?;
    assert_eq!(written["accepted"], serde_json::Value::Bool(true), "A took the change: {written}");
    for h in js_heads(&written, "headsAfter")? {
        samod.wait_for_change(&handle, h).await.context("A's write reaching samod on B")?;
    }

    handle.with_document(|d| {
        let mut tx = d.transaction();
        tx.put(ROOT, "email", "office@example.invalid").map(|_| tx.commit())
    })?;
    samod.wait_relay_has_ours(&handle).await?;
    let samod_heads: BTreeSet<ChangeHash> = handle.with_document(|d| d.get_heads().into_iter().collect());
    samod.stop().await;
    let read = node(&["read", &a.url(&a.token(Role::Reader, &[])), &url]).await?;
    assert!(strings(&read, "relayErrors").is_empty(), "{read}");
    assert_eq!(js_heads(&read, "heads")?, samod_heads, "the JavaScript reader on A has samod's change");
    assert_eq!(read["doc"]["email"], "office@example.invalid");
    assert_eq!(read["doc"]["phone"], "+358 9 123 4567");
    Ok(())
}

/// One writer on each relay, both on one document.
struct Writer {
    client: NativeClient,
    written: Vec<String>,
    /// How many of `written` a relay has acknowledged.
    acked: usize,
}

impl Writer {
    fn new(name: &str, doc: DocumentId) -> Writer {
        let mut client = NativeClient::new(name);
        client.open(doc);
        Writer { client, written: Vec::new(), acked: 0 }
    }

    /// Writes one key and reads whatever has arrived.
    async fn write(&mut self, doc: DocumentId, key: String) -> anyhow::Result<()> {
        self.client.put(doc, &key, "v").await?;
        self.written.push(key);
        self.client.pump().await?;
        if self.client.session.is_acknowledged(&doc) {
            self.acked = self.written.len();
        }
        Ok(())
    }

    /// Waits until a relay has acknowledged everything written.
    async fn until_acknowledged(&mut self, doc: DocumentId) -> anyhow::Result<()> {
        self.client.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        self.acked = self.written.len();
        Ok(())
    }
}

/// Twenty rounds of: a writer on relay process A and one on relay process B write one document;
/// A is killed with SIGKILL after a varying delay; B's writer goes on and is acknowledged (B
/// keeps serving), A's writer connects to B and what A had not acknowledged is taken there; a
/// fresh client on B finds every change either relay acknowledged. A then starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_of_one_relay() -> anyhow::Result<()> {
    const ROUNDS: usize = 20;
    let path = PathBuf::from(contactpoint_tests::fresh_database()?);
    let (token, docs) = contactpoint_tests::admin_with_documents(&path, &Scope::National, 1)?;
    let doc = docs[0];
    let b = RelayProcess::start(&path)?;
    let url_b = format!("ws://{}/sync?token={token}", b.addr);
    let mut on_a = Writer::new("writer-a", doc);
    let mut on_b = Writer::new("writer-b", doc);
    on_b.client.connect(&url_b).await?;
    let mut taken_by_b = 0;
    for round in 0..ROUNDS {
        let a = RelayProcess::start(&path)?;
        on_a.client.connect(&format!("ws://{}/sync?token={token}", a.addr)).await?;
        for (w, side) in [(&mut on_a, "a"), (&mut on_b, "b")] {
            w.write(doc, format!("r{round}-{side}-first")).await?;
            w.until_acknowledged(doc).await?;
        }
        let delay = Duration::from_millis(20 + (round as u64 * 97) % 380);
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            a.kill9()
        });
        let mut i = 0;
        while on_a.client.is_connected() {
            on_a.write(doc, format!("r{round}-a-{i}")).await?;
            on_b.write(doc, format!("r{round}-b-{i}")).await?;
            i += 1;
            anyhow::ensure!(i < 100_000, "relay A was never killed");
        }
        killer.join().map_err(|_| anyhow::anyhow!("killer thread panicked"))??;
        taken_by_b += on_a.written.len() - on_a.acked;

        // B served all along: its writer goes on and is acknowledged without reconnecting.
        on_b.write(doc, format!("r{round}-b-after")).await?;
        on_b.until_acknowledged(doc).await.with_context(|| format!("round {round}: B stopped serving"))?;
        anyhow::ensure!(on_b.client.is_connected(), "round {round}: B's writer was disconnected");
        // A's writer moves to B, which takes what A had not acknowledged.
        on_a.client.disconnect().await;
        on_a.client.connect(&url_b).await?;
        on_a.until_acknowledged(doc).await.with_context(|| format!("round {round}: A's writer on B"))?;

        let mut checker = NativeClient::new(&format!("checker-{round}"));
        checker.open(doc);
        checker.connect(&url_b).await?;
        let last: Vec<String> = [&on_a, &on_b].iter().filter_map(|w| w.written[..w.acked].last().cloned()).collect();
        checker.wait_until(|c| last.iter().all(|k| c.get(doc, k).is_some())).await?;
        for w in [&on_a, &on_b] {
            for key in &w.written[..w.acked] {
                anyhow::ensure!(checker.get(doc, key).is_some(), "round {round}: acknowledged change {key} was lost");
            }
        }
        checker.disconnect().await;
        on_a.client.disconnect().await;
    }
    println!(
        "{ROUNDS} SIGKILL rounds of one relay: {} + {} changes acknowledged, all present; {taken_by_b} \
         written to A before its death and taken by B",
        on_a.acked, on_b.acked
    );
    Ok(())
}
