//! Compaction with several relays over one PostgreSQL database: a relay that replaces a
//! document's chunks with a snapshot right after storing a change must not hide that change from
//! the other relays, and the other relay's own compaction later must not drop it.

use std::path::PathBuf;

use anyhow::Context;

use contactpoint_protocol::DocumentId;
use contactpoint_server::Limits;
use contactpoint_server::auth::Role;
use contactpoint_server::storage::{Scope, load_doc};
use contactpoint_tests::{NativeClient, TestRelay};

/// A value large enough that the chunk holding it outweighs the snapshot and the 64 KiB
/// threshold even compressed (random letters compress to about 60 %), so the relay that stores it
/// compacts at once.
fn large(seed: u8) -> String {
    let mut x = u64::from(seed) + 1;
    (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// Waits (at most 10 s) until the document's stored chunks include a snapshot.
async fn snapshot_stored(relay: &TestRelay, doc: DocumentId) -> anyhow::Result<()> {
    for _ in 0..100 {
        let stored = relay.db.with(|c| load_doc(c, &doc))?.context("the document is stored")?;
        if stored.snapshot_bytes > 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("no snapshot stored")
}

/// Relay A stores a large change and compacts the document at once; relay B, which has the
/// document loaded, still passes the change on to its reader. Then B does the same with its own
/// large change, and its reader keeps getting B's edits. A third relay started afterwards reads
/// both: neither compaction lost the other relay's change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_on_one_relay_hides_nothing_from_another() -> anyhow::Result<()> {
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
    let (mut writer_a, mut writer_b, mut reader_b) =
        (client("admin on A"), client("admin on B"), client("reader on B"));
    writer_a.connect(&a.url(&admin)).await?;
    writer_a.put(doc, "title", "set up").await?;
    writer_a.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    writer_b.connect(&b.url(&admin)).await?;
    reader_b.connect(&b.url(&reader)).await?;
    for c in [&mut writer_b, &mut reader_b] {
        c.wait_until(|c| c.get(doc, "title").is_some()).await?;
    }

    let (from_a, from_b) = (large(1), large(2));
    writer_a.put(doc, "from_a", &from_a).await?;
    writer_a.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    snapshot_stored(&a, doc).await.context("A did not compact after its large change")?;
    reader_b
        .wait_until(|c| c.get(doc, "from_a").as_deref() == Some(from_a.as_str()))
        .await
        .context("A's change, compacted by A at once, did not reach B's reader")?;
    writer_b.wait_until(|c| c.get(doc, "from_a").is_some()).await?;
    writer_b.put(doc, "from_b", &from_b).await?;
    writer_b.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    // B's copy was built before A's compaction; B's reader still hears B's own writer.
    reader_b
        .wait_until(|c| c.get(doc, "from_b").as_deref() == Some(from_b.as_str()))
        .await
        .context("B's reader did not get B's own change after A's compaction")?;
    writer_b.put(doc, "last", "after both compactions").await?;
    reader_b.wait_until(|c| c.get(doc, "last").is_some()).await.context("B's reader stopped getting edits")?;

    let c = TestRelay::start_at(&path, Limits::default()).await?;
    let mut fresh = client("reader on C");
    fresh.connect(&c.url(&c.token(Role::Reader, &[]))).await?;
    fresh
        .wait_until(|c| c.get(doc, "from_b").is_some() && c.get(doc, "title").is_some())
        .await
        .context("the document as a fresh relay reads it")?;
    assert_eq!(fresh.get(doc, "from_a").as_deref(), Some(from_a.as_str()), "A's change was lost from storage");
    assert_eq!(fresh.get(doc, "from_b").as_deref(), Some(from_b.as_str()), "B's change was lost from storage");
    Ok(())
}
