//! Several relays over one PostgreSQL database: what a client writes through one relay reaches
//! the clients of another, both ways, and a revoked device loses its connections on every relay.

use std::path::PathBuf;

use anyhow::Context;

use contactpoint_server::Limits;
use contactpoint_server::auth::{Role, hash_secret, revoke_device};
use contactpoint_server::storage::{Scope, identity_by_token_hash};
use contactpoint_tests::{NativeClient, TestRelay};

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
