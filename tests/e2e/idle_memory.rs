//! What an idle device costs the relay: many connected devices, each subscribed to a document and
//! then silent, against a real relay process whose heap in use is read from its `/metrics` (its
//! resident memory, read from `/proc`, is printed beside it).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::ChangeHash;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Db, Scope};
use contactpoint_tests::{NativeClient, RelayProcess, stored_doc, token_for};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The budget per idle, subscribed device (issue 10). The relay holds about 2,100 bytes of heap
/// per device here (3,200 before the peers of a document shared their sync states and the
/// connection's task shrank; 20 to 30 KB before this test, with buffers kept per connection).
const BUDGET: u64 = 4096;

/// Devices opened before the first reading, so that what the relay sets up once (worker and
/// blocking threads, their allocator arenas, the document's own growth) is not counted.
const WARM_UP: usize = 300;

/// Devices measured.
const MEASURED: usize = 2_000;

/// Connections per client address: below the relay's cap of 512 per address.
const PER_ADDRESS: usize = 400;

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
    Ok(line.split_whitespace().nth(1).context("no VmRSS value")?.parse()?)
}

/// Connects devices `from..to`, each from its own share of loopback addresses, and lets each
/// sync `doc` to its heads. A few handshakes run at a time, as devices arrive.
async fn devices(
    url: &str,
    range: std::ops::Range<usize>,
    doc: DocumentId,
    heads: &[ChangeHash],
) -> Result<Vec<NativeClient>> {
    let slots = Arc::new(Semaphore::new(16));
    let mut set = JoinSet::new();
    for i in range {
        let (url, slots, heads) = (url.to_owned(), slots.clone(), heads.to_vec());
        set.spawn(async move {
            let _slot = slots.acquire().await?;
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (i / PER_ADDRESS) as u8));
            let mut c = NativeClient::new(&format!("idle-{i}"));
            c.open(doc);
            c.connect_from(from, &url).await.with_context(|| format!("device {i}"))?;
            c.wait_until(|c| c.session.doc(&doc).is_some_and(|d| d.get_heads() == heads)).await?;
            anyhow::Ok(c)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r??);
    }
    Ok(out)
}

/// Waits until the relay's resident memory stops moving (the allocator returning freed pages
/// takes a moment) and returns it.
async fn settled_rss(pid: u32) -> Result<u64> {
    let mut last = rss_kib(pid)?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_kib(pid)?;
        if now.abs_diff(last) < 64 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

/// The relay's heap in use as its `/metrics` reports it, once two readings a moment apart agree
/// to within a few bytes per device (what the connections' set-up left behind is freed).
async fn settled_heap(metrics: std::net::SocketAddr) -> Result<u64> {
    let read = || async move {
        let (_, body) = contactpoint_tests::http_get(metrics, "/metrics").await?;
        body.lines()
            .find_map(|l| l.strip_prefix("contactpoint_heap_allocated_bytes "))
            .context("no heap figure in /metrics")?
            .trim()
            .parse::<u64>()
            .context("heap figure")
    };
    let mut last = read().await?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = read().await?;
        if now.abs_diff(last) < 8 * 1024 {
            return Ok(now.min(last));
        }
        last = now;
    }
    Ok(last)
}

/// Idle devices subscribed to their area's document cost the relay at most [`BUDGET`] bytes of
/// heap each, unoptimised as tests run it (issue 10: "idle devices cost little"). The heap is
/// counted by the relay's allocator: resident memory moved by up to 20 KB per device from run to
/// run with the allocator's arenas and caching, so it is printed but not asserted;
/// `cargo xtask bench relay` reports it for the optimised build.
///
/// Run on its own (`cargo xtask test` does, after the other tests): beside dozens of other tests
/// on two cores the relay starts more blocking threads, each with its allocator arena, and the
/// resident memory no longer measures what a device costs.
#[ignore = "measures memory: run alone, as cargo xtask test does"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_subscribed_device_costs_the_relay_at_most_4_kib() -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let needed = (WARM_UP + MEASURED) as u64 * 2 + 256;
    let limit = contactpoint_server::listen::raise_fd_limit();
    if limit.is_some_and(|l| l < needed) {
        eprintln!("skipped: this process may open only {limit:?} files, {needed} needed");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let db = Db::open(&path)?;
    db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let doc: DocumentId = db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area("municipality:091".into()))
        .context("no Helsinki document")?
        .0
        .parse()?;
    let heads = stored_doc(&db, doc)?.get_heads();
    let token = token_for(&db, Role::Reader, &[]);
    drop(db);

    let relay =
        RelayProcess::start_with_args(&path, "127.0.0.1:0", &["--metrics-listen".as_ref(), "127.0.0.1:0".as_ref()])?;
    let metrics = relay.metrics.context("no metrics address")?;
    let pid = relay.pid();
    let url = format!("ws://{}/sync?token={token}", relay.addr);
    let warm = devices(&url, 0..WARM_UP, doc, &heads).await?;
    let (before, heap_before) = (settled_rss(pid).await?, settled_heap(metrics).await?);
    let measured = devices(&url, WARM_UP..WARM_UP + MEASURED, doc, &heads).await?;
    let (after, heap_after) = (settled_rss(pid).await?, settled_heap(metrics).await?);
    let per_device = (after.saturating_sub(before) * 1024) / MEASURED as u64;
    let heap_per_device = heap_after.saturating_sub(heap_before) / MEASURED as u64;
    eprintln!(
        "relay heap: {heap_before} bytes with {WARM_UP} idle devices, {heap_after} with {MEASURED} more: \
         {heap_per_device} bytes each; resident memory {before} KiB, then {after} KiB: {per_device} bytes each"
    );
    for c in warm.iter().chain(&measured) {
        assert!(c.closed.is_none(), "an idle device was disconnected: {:?}", c.closed);
    }
    assert!(
        heap_per_device <= BUDGET,
        "an idle subscribed device holds {heap_per_device} bytes of the relay's heap; the budget is {BUDGET}"
    );
    Ok(())
}
