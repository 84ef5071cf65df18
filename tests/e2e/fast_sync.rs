//! Sync sends only what is missing, measured in bytes on the wire against a real relay: a reader
//! catches up on one edit for under a kilobyte whether or not the relay kept state for it and
//! across a relay restart, an edit reaches every reader as only the change, and a peer that has
//! nothing gets the compact snapshot. Documents are made in one change, as the seed and imports
//! make them, which is exactly the shape that once made every edit cost the whole document.

use std::time::Duration;

use anyhow::Result;
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_server::Limits;
use contactpoint_server::auth::Role;
use contactpoint_tests::{NativeClient, TestRelay, eventually, one_change_doc, stored_doc};

/// Messages still in flight once both sides agree are counted too: wait for a quiet moment.
const QUIET: Duration = Duration::from_millis(300);

/// An admin's client that created `doc` through sync and saw the relay store it.
async fn created(relay: &TestRelay, id: DocumentId, doc: Automerge) -> Result<NativeClient> {
    let mut admin = NativeClient::new("admin");
    admin.session.create_doc(id, doc);
    admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    admin.wait_until(|c| c.session.is_acknowledged(&id)).await?;
    Ok(admin)
}

/// Connects `reader` and waits until it has the relay's every change for `id` and the relay
/// knows it; returns the bytes both ways.
async fn catch_up(reader: &mut NativeClient, url: &str, id: DocumentId, key: &str, value: &str) -> Result<usize> {
    reader.reset_counters();
    reader.connect(url).await?;
    reader.wait_until(|c| c.get(id, key).as_deref() == Some(value)).await?;
    reader.wait_until(|c| c.session.is_acknowledged(&id)).await?;
    reader.settle(QUIET).await?;
    let total = reader.bytes_sent + reader.bytes_received;
    reader.disconnect().await;
    Ok(total)
}

#[tokio::test]
async fn a_reader_catches_up_on_one_edit_for_under_a_kilobyte() -> Result<()> {
    let relay = TestRelay::start().await?;
    let id = DocumentId::from_random_bytes([61; 16]);
    let mut admin = created(&relay, id, one_change_doc(10_000)).await?;
    let snapshot = stored_doc(&relay.db, id)?.save().len();

    // One reader the relay keeps sync state for (it names its storage), one it cannot.
    let mut readers = [NativeClient::new("reader"), NativeClient::without_storage_id("anonymous")];
    let token = relay.token(Role::Reader, &[]);
    for r in &mut readers {
        r.open(id);
        let first = catch_up(r, &relay.url(&token), id, "entry-09999", "Contact point 9999, +358 40 0009999").await?;
        // A reader that has nothing gets the compact snapshot, not ten thousand operations.
        assert!(first < snapshot + 1024, "initial sync cost {first} bytes for a {snapshot}-byte snapshot");
    }
    eventually("the named reader's sync state is stored", || {
        let n = relay.db.with(|c| c.query_row("SELECT COUNT(*) FROM sync_states", &[], |r| r.get::<i64>(0)))?;
        Ok(n >= 1)
    })
    .await?;

    admin.put(id, "entry-00001", "edited while the readers were away").await?;
    admin.wait_until(|c| c.session.is_acknowledged(&id)).await?;
    for r in &mut readers {
        let cost = catch_up(r, &relay.url(&token), id, "entry-00001", "edited while the readers were away").await?;
        println!("catch-up after one edit of a {snapshot}-byte document: {cost} bytes");
        assert!(cost < 1024, "catch-up after one edit cost {cost} bytes");
    }

    // After a restart the relay has only what it stored.
    admin.disconnect().await;
    let (path, dir) = relay.stop().await;
    let relay = TestRelay::start_at(&path, Limits::default()).await?;
    admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    admin.put(id, "entry-00002", "edited after the restart").await?;
    admin.wait_until(|c| c.session.is_acknowledged(&id)).await?;
    let token = relay.token(Role::Reader, &[]);
    for r in &mut readers {
        let cost = catch_up(r, &relay.url(&token), id, "entry-00002", "edited after the restart").await?;
        println!("catch-up after a relay restart and one edit: {cost} bytes");
        assert!(cost < 1024, "catch-up after a restart and one edit cost {cost} bytes");
    }
    drop(dir);
    Ok(())
}

#[tokio::test]
async fn an_edit_reaches_every_reader_as_only_the_change() -> Result<()> {
    let relay = TestRelay::start().await?;
    let id = DocumentId::from_random_bytes([62; 16]);
    let mut admin = created(&relay, id, one_change_doc(1_000)).await?;
    admin.disconnect().await;
    let snapshot = stored_doc(&relay.db, id)?.save().len();

    let token = relay.token(Role::Reader, &[]);
    let mut readers = Vec::new();
    for i in 0..20 {
        let mut r = NativeClient::new(&format!("reader-{i}"));
        r.open(id);
        r.connect(&relay.url(&token)).await?;
        r.wait_until(|c| c.get(id, "entry-00999").is_some()).await?;
        r.wait_until(|c| c.session.is_acknowledged(&id)).await?;
        r.settle(QUIET).await?;
        r.reset_counters();
        readers.push(r);
    }

    // A writer connects for the edit, as an editor opening the app does.
    let mut writer = NativeClient::new("writer");
    writer.open(id);
    writer.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    writer.wait_until(|c| c.get(id, "entry-00999").is_some()).await?;
    writer.put(id, "entry-00500", "+358 40 555 5555").await?;
    writer.wait_until(|c| c.session.is_acknowledged(&id)).await?;

    for r in &mut readers {
        r.wait_until(|c| c.get(id, "entry-00500").as_deref() == Some("+358 40 555 5555")).await?;
        r.settle(QUIET).await?;
    }
    let most = readers.iter().map(|r| r.bytes_sent + r.bytes_received).max().unwrap_or_default();
    println!("one edit of a {snapshot}-byte document: at most {most} bytes per reader");
    assert!(most < 1024, "a reader's share of one edit cost {most} bytes (the document is {snapshot})");
    Ok(())
}
