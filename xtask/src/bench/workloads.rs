//! The workloads, each run the same way against either relay: upload, initial sync to many
//! clients, fan-out of edits to many readers, reconnect cost, and idle-connection memory; and for
//! the cluster benchmark, the same spread round-robin over several instances of our relay, plus a
//! write rate (appends per second acknowledged).
//!
//! Every wait is bounded; every figure that involves the relay's effort is read from /proc for
//! the relay's processes only, because the load generator shares the machine's cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::{Automerge, ChangeHash};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::client::Client;
use super::docs;
use super::instructions::{self, stretch};
use super::servers::{Kind, Launch, Server};

/// How big each workload is.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Entries in the directory document of the initial sync.
    pub entries: usize,
    /// Clients fetching it at once.
    pub initial_clients: usize,
    /// Readers receiving each edit.
    pub fanout_clients: usize,
    /// Edits sent to them, one after another.
    pub fanout_edits: usize,
    /// Idle connections for the memory measurement.
    pub idle_connections: usize,
    /// Entries in the document of the reconnect measurement.
    pub history_entries: usize,
    /// Commits in its history.
    pub history_changes: usize,
    /// Writers of the write-rate workload, each on a document of its own.
    pub writers: usize,
    /// How long they write.
    pub write_seconds: u64,
}

impl Sizes {
    /// The sizes of the full benchmark.
    pub fn full() -> Sizes {
        Sizes {
            entries: 10_000,
            initial_clients: 50,
            fanout_clients: 1_000,
            fanout_edits: 20,
            idle_connections: 10_000,
            history_entries: 1_000,
            history_changes: 2_000,
            writers: 16,
            write_seconds: 10,
        }
    }

    /// The sizes under callgrind (`--instructions`), which slows a relay 20–100×: the quick
    /// sizes with a fifth of the idle connections.
    pub fn instructions() -> Sizes {
        Sizes { idle_connections: 200, ..Sizes::quick() }
    }

    /// Smaller sizes for a quick check that everything works.
    pub fn quick() -> Sizes {
        Sizes {
            entries: 10_000,
            initial_clients: 10,
            fanout_clients: 100,
            fanout_edits: 10,
            idle_connections: 1_000,
            history_entries: 1_000,
            history_changes: 500,
            writers: 8,
            write_seconds: 3,
        }
    }

    /// Connections the benchmark may hold open at once, with room to spare: what the open-files
    /// limit is raised to and what our relay is started to accept.
    pub fn connections(&self) -> usize {
        self.idle_connections + self.fanout_clients + 1_000
    }
}

/// The documents each workload uses. Our relay has them registered (empty) before it starts;
/// the reference server learns them from the first upload.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    /// The directory of the initial sync.
    pub directory: DocumentId,
    /// The small document edited during the fan-out.
    pub fanout: DocumentId,
    /// The 1,000-entry document of the fan-out with a writer that connects for each edit.
    pub fanout_large: DocumentId,
    /// The document of the reconnect measurement.
    pub history: DocumentId,
    /// The small document idle connections subscribe to.
    pub idle: DocumentId,
}

/// Everything one relay's run needs, and the figures it produced.
pub struct Ctx {
    /// Which relay.
    pub kind: Kind,
    /// How to (re)start it: one launch per instance (several only for the cluster benchmark,
    /// all on one database).
    pub launches: Vec<Launch>,
    /// The running processes, in the order of `launches`.
    pub servers: Vec<Server>,
    /// Where their output goes (instance `i` > 0 gets `.i` appended).
    pub log: std::path::PathBuf,
    /// A token with write access (ignored by the reference server).
    pub admin_token: String,
    /// A token with read access (ignored by the reference server).
    pub reader_token: String,
    /// The documents.
    pub ids: Ids,
    /// The documents of the write-rate workload, one per writer (cluster benchmark only).
    pub write_docs: Vec<DocumentId>,
    /// The database server's postmaster, when it is a process of its own (PostgreSQL), for its CPU.
    pub database_pid: Option<u32>,
    /// Whether to record figures per instance and the database's CPU (cluster benchmark).
    pub per_instance: bool,
    /// The workload sizes.
    pub sizes: Sizes,
    /// Distinguishes this run's peer and storage ids from any earlier run's.
    pub run_tag: String,
    /// Figures in the order measured: (key, value).
    pub figures: Vec<(String, f64)>,
}

/// Connect and handshake timeout per client.
const CONNECT: Duration = Duration::from_secs(30);
/// The longest any single client may wait for a document or an edit.
const SYNC: Duration = Duration::from_secs(180);
/// How long a whole phase (every client syncing, subscribing, connecting) may take before the
/// figures are taken with the clients that made it.
const DEADLINE: Duration = Duration::from_secs(90);
/// How long after a workload the relay's CPU is read, so trailing work (acknowledgements) counts.
const TRAILING: Duration = Duration::from_millis(300);

/// CPU seconds so far of each instance and of the database server (when it is a process).
pub struct CpuMark {
    each: Vec<f64>,
    database: Option<f64>,
    /// Instructions of all instances, when they run under callgrind.
    instructions: Option<u64>,
}

impl Ctx {
    fn server(&self) -> Result<&Server> {
        self.servers.first().context("the relay is not running")
    }

    /// How many instances run (at least one).
    pub fn instances(&self) -> usize {
        self.launches.len().max(1)
    }

    /// The URL of the first instance.
    fn url(&self, admin: bool) -> Result<String> {
        self.url_at(0, admin)
    }

    /// The URL of instance `i` modulo the instances: client `i` of a workload connects there.
    fn url_at(&self, i: usize, admin: bool) -> Result<String> {
        let server = self.servers.get(i % self.instances()).context("the relay is not running")?;
        Ok(server.url(if admin { &self.admin_token } else { &self.reader_token }))
    }

    /// CPU seconds of all instances together.
    fn cpu_mark(&self) -> Result<CpuMark> {
        let each = self.servers.iter().map(Server::cpu_seconds).collect::<Result<Vec<_>>>()?;
        let database = self.database_pid.map(super::postgres::tree_cpu_seconds).transpose()?;
        let instructions = self.instructions()?;
        Ok(CpuMark { each, database, instructions })
    }

    /// Instructions of all instances so far, when they run under callgrind.
    fn instructions(&self) -> Result<Option<u64>> {
        if !instructions::enabled() {
            return Ok(None);
        }
        Ok(Some(self.servers.iter().map(|s| instructions::so_far(s.pid)).sum::<Result<u64>>()?))
    }

    /// Records the CPU spent since `since` under `key`: all instances together, and with
    /// `per_instance` each instance (`key.1`, `key.2`, …) and the database server (`key.db`).
    fn record_cpu(&mut self, key: &str, since: &CpuMark) -> Result<()> {
        let now = self.cpu_mark()?;
        self.record_cpu_span(key, since, &now);
        Ok(())
    }

    /// [`Self::record_cpu`] between two earlier marks.
    fn record_cpu_span(&mut self, key: &str, since: &CpuMark, now: &CpuMark) {
        let each: Vec<f64> = now.each.iter().zip(&since.each).map(|(a, b)| a - b).collect();
        self.record(key, each.iter().sum());
        if let (Some(a), Some(b)) = (now.instructions, since.instructions) {
            self.record(&instructions::key_for(key), a.saturating_sub(b) as f64);
        }
        if self.per_instance {
            for (i, v) in each.iter().enumerate() {
                self.record(&format!("{key}.{}", i + 1), *v);
            }
            if let (Some(a), Some(b)) = (now.database, since.database) {
                self.record(&format!("{key}.db"), a - b);
            }
        }
    }

    /// Resident memory of each instance, in KiB.
    fn rss_each(&self) -> Result<Vec<u64>> {
        self.servers.iter().map(Server::rss_kib).collect()
    }

    /// Records one count per instance (`key.1`, `key.2`, …) with `per_instance`.
    fn record_each(&mut self, key: &str, each: &[usize]) {
        if self.per_instance {
            for (i, v) in each.iter().enumerate() {
                self.record(&format!("{key}.{}", i + 1), *v as f64);
            }
        }
    }

    fn record(&mut self, key: &str, value: f64) {
        eprintln!("  {:<9} {key} = {}", self.kind.name(), fmt_num(value));
        self.figures.push((key.to_owned(), value));
    }

    fn peer(&self, role: &str, i: usize) -> (String, Option<String>) {
        let name = format!("{}-{}-{role}-{i}", self.run_tag, self.kind.name());
        (format!("peer-{name}"), Some(format!("storage-{name}")))
    }

    fn check_alive(&mut self) -> Result<()> {
        if self.servers.is_empty() {
            bail!("the relay is not running");
        }
        self.servers.iter_mut().try_for_each(Server::check_alive)
    }

    /// The log file of instance `i`.
    pub fn log_of(&self, i: usize) -> std::path::PathBuf {
        if i == 0 { self.log.clone() } else { self.log.with_extension(format!("log.{i}")) }
    }

    /// Starts the relay's instances (again) on their data, one after the other.
    pub async fn start(&mut self) -> Result<()> {
        for i in 0..self.launches.len() {
            let (launch, log) = (self.launches[i].clone(), self.log_of(i));
            let server = tokio::task::spawn_blocking(move || launch.start(&log)).await??;
            self.servers.push(server);
            self.ready(i).await?;
        }
        Ok(())
    }

    /// Waits until instance `i` completes a handshake.
    async fn ready(&self, i: usize) -> Result<()> {
        // Listening is not yet serving: the reference server attaches its protocol handler a
        // moment after it prints that it listens (once its storage id is loaded), and a client
        // arriving earlier is dropped. A completed handshake is the readiness test for both.
        let url = self.url_at(i, false)?;
        let mut last = None;
        for attempt in 0..50 {
            let mut probe = Client::new(format!("{}-probe-{i}-{attempt}", self.run_tag), None);
            match probe.connect(&url, stretch(Duration::from_secs(2))).await {
                Ok(()) => {
                    probe.close().await;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no probe ran")).context("the relay never completed a handshake"))
    }

    /// Stops the relay's instances, politely first.
    pub async fn stop(&mut self) -> Result<()> {
        for s in std::mem::take(&mut self.servers) {
            tokio::task::spawn_blocking(move || s.stop(Duration::from_secs(10))).await??;
        }
        Ok(())
    }

    /// The end of every instance's log, for error messages.
    pub fn log_tails(&self) -> String {
        (0..self.launches.len())
            .map(|i| format!("instance {}:\n{}", i + 1, super::servers::tail(&self.log_of(i))))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v:.4}") }
}

/// Creates `doc` as `id` on a new admin client and uploads it; returns the connected client,
/// which keeps the document for later edits.
async fn upload(ctx: &Ctx, role: &str, id: DocumentId, doc: Automerge) -> Result<Client> {
    upload_at(ctx, 0, role, id, doc).await
}

/// [`upload`] through instance `instance`.
async fn upload_at(ctx: &Ctx, instance: usize, role: &str, id: DocumentId, doc: Automerge) -> Result<Client> {
    let (peer, storage) = ctx.peer(role, 0);
    let mut c = Client::new(peer, storage);
    let events = c.session.create_doc(id, doc);
    c.send(events).await?;
    c.connect(&ctx.url_at(instance, true)?, stretch(CONNECT)).await?;
    c.wait_until(stretch(SYNC), |c| c.session.is_acknowledged(&id)).await.context("upload not acknowledged")?;
    Ok(c)
}

/// Upload of the directory, then `initial_clients` clients fetching it at the same moment.
pub async fn initial_sync(ctx: &mut Ctx) -> Result<()> {
    let id = ctx.ids.directory;
    let doc = docs::directory(ctx.sizes.entries)?;
    let heads = doc.get_heads();
    let size = doc.save().len();
    ctx.record("directory.saved_bytes", size as f64);

    let cpu0 = ctx.cpu_mark()?;
    let t0 = Instant::now();
    let mut uploader = upload(ctx, "uploader", id, doc).await?;
    let wall = t0.elapsed();
    tokio::time::sleep(stretch(TRAILING)).await;
    ctx.record_cpu("upload.cpu_s", &cpu0)?;
    ctx.record("upload.wall_s", wall.as_secs_f64());
    ctx.record("upload.bytes", (uploader.sent + uploader.received) as f64);
    uploader.close().await;

    let n = ctx.sizes.initial_clients;
    let url = ctx.url(false)?;
    let (go_tx, go_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Instant, usize)>();
    let heads = Arc::new(heads);
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (peer, storage) = ctx.peer("initial", i);
        let (url, heads, ready_tx, done_tx) = (url.clone(), heads.clone(), ready_tx.clone(), done_tx.clone());
        let (mut go, mut stop) = (go_rx.clone(), stop_rx.clone());
        tasks.spawn(async move {
            let mut c = Client::new(peer, storage);
            c.connect(&url, stretch(CONNECT)).await?;
            let _ = ready_tx.send(());
            go.wait_for(|g| *g).await?;
            c.reset_counters();
            let events = c.session.open_doc(id, None, None)?;
            c.send(events).await?;
            c.wait_until(stretch(SYNC), |c| c.has_all(&id, &heads)).await?;
            let _ = done_tx.send((Instant::now(), c.received));
            // Stay connected until everyone has the document, as a real client would.
            while !*stop.borrow() {
                tokio::select! {
                    r = c.next(Duration::from_secs(3600)) => { r?; }
                    _ = stop.changed() => {}
                }
            }
            c.close().await;
            anyhow::Ok(())
        });
    }
    drop((ready_tx, done_tx));
    let connected = collect(&mut ready_rx, n, stretch(CONNECT) * 2, "clients connected", &mut tasks).await.len();
    tokio::time::sleep(stretch(TRAILING)).await;
    let cpu0 = ctx.cpu_mark()?;
    let t0 = Instant::now();
    go_tx.send(true)?;
    let done = collect(&mut done_rx, connected, stretch(DEADLINE), "clients synced", &mut tasks).await;
    let wall = if done.len() == n {
        done.iter().map(|(t, _)| t.duration_since(t0)).max().unwrap_or_default()
    } else {
        t0.elapsed()
    };
    tokio::time::sleep(stretch(TRAILING)).await;
    ctx.record_cpu("initial_sync.cpu_s", &cpu0)?;
    let mut each: Vec<f64> = done.iter().map(|(t, _)| t.duration_since(t0).as_secs_f64()).collect();
    each.sort_by(f64::total_cmp);
    let bytes = done.iter().map(|(_, b)| *b).sum::<usize>() / done.len().max(1);
    ctx.record("initial_sync.clients_done", done.len() as f64);
    ctx.record("initial_sync.wall_s", wall.as_secs_f64());
    ctx.record("initial_sync.median_client_s", percentile(&each, 50.0));
    ctx.record("initial_sync.bytes_per_client", bytes as f64);
    stop_tx.send(true)?;
    finish(&mut tasks, Duration::from_secs(10)).await;
    ctx.check_alive()
}

/// Waits for `n` messages on `rx` within `max` and returns those that came: a relay too slow for
/// a workload yields partial figures rather than no figures. Client failures are reported.
async fn collect<T>(
    rx: &mut mpsc::UnboundedReceiver<T>,
    n: usize,
    max: Duration,
    what: &str,
    tasks: &mut JoinSet<Result<()>>,
) -> Vec<T> {
    let deadline = tokio::time::Instant::now() + max;
    let mut got = Vec::with_capacity(n);
    let mut failures = 0usize;
    while got.len() < n {
        tokio::select! {
            m = rx.recv() => match m {
                Some(m) => got.push(m),
                None => break,
            },
            Some(r) = tasks.join_next() => {
                if let Err(e) = r.map_err(anyhow::Error::from).and_then(|r| r) {
                    failures += 1;
                    if failures <= 3 {
                        eprintln!("  warning: a client failed: {e:#}");
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    if got.len() < n {
        eprintln!("  warning: only {} of {n} {what} within {max:?} ({failures} clients failed)", got.len());
    }
    got
}

/// Waits up to `max` for the client tasks to end (they were told to stop), then aborts the rest.
/// Failures are reported, not fatal: the figures were taken already.
async fn finish(tasks: &mut JoinSet<Result<()>>, max: Duration) {
    let mut failures = 0usize;
    let ended = tokio::time::timeout(max, async {
        while let Some(r) = tasks.join_next().await {
            if let Err(e) = r.map_err(anyhow::Error::from).and_then(|r| r) {
                failures += 1;
                if failures <= 3 {
                    eprintln!("  warning: a client failed while closing: {e:#}");
                }
            }
        }
    })
    .await;
    if ended.is_err() {
        eprintln!("  warning: {} client tasks did not end within {max:?}; aborted", tasks.len());
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// The value below which `p` percent of the sorted samples lie (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `fanout_clients` readers subscribed to a small document; a writer makes `fanout_edits` edits
/// one after another, and each reader notes when each edit arrived.
pub async fn fanout(ctx: &mut Ctx) -> Result<()> {
    let id = ctx.ids.fanout;
    fanout_with(ctx, "fanout", id, 20, false).await
}

/// The fan-out of issue 10's acceptance: a 1,000-entry document made in one change (as the seed
/// and imports make them), each edit written by a client that connects for it with the document
/// it keeps on the device and no sync state, as a phone that opens the app to make one change.
pub async fn fanout_large(ctx: &mut Ctx) -> Result<()> {
    let id = ctx.ids.fanout_large;
    fanout_with(ctx, "fanout_large", id, 1_000, true).await
}

/// Readers subscribe to a document of `entries` entries made in one change; then edits, each
/// timed from the moment it is sent until each reader has it. With `fresh_writer`, every edit
/// comes from a new connection of a client that holds the document but no sync state.
///
/// With several instances, reader `i` connects to instance `i` modulo their number; the writer
/// stays on the first, or with `fresh_writer` connects to the instances in turn (as behind a load
/// balancer without sticky sessions). Latencies are also split by whether the reader is on the
/// writer's instance or another.
async fn fanout_with(ctx: &mut Ctx, key: &str, id: DocumentId, entries: usize, fresh_writer: bool) -> Result<()> {
    let doc = docs::directory(entries)?;
    let heads = Arc::new(doc.get_heads());
    let mut writer = upload(ctx, &format!("{key}-writer"), id, doc).await?;
    let instances = ctx.instances();

    let n = ctx.sizes.fanout_clients;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<usize>();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<(i64, Instant, Instant, usize)>();
    // Bounded concurrency while connecting: a burst of a thousand handshakes at once measures the
    // listen backlog, not the relay.
    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = JoinSet::new();
    let cpu0 = ctx.cpu_mark()?;
    let t0 = Instant::now();
    for i in 0..n {
        let (peer, storage) = ctx.peer("reader", i);
        let (url, instance) = (ctx.url_at(i, false)?, i % instances);
        let (heads, ready_tx, seen_tx, gate) = (heads.clone(), ready_tx.clone(), seen_tx.clone(), gate.clone());
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let mut c = Client::new(peer, storage);
            {
                let _permit = gate.acquire().await?;
                c.connect_from(&url, Some(site_address(i)), stretch(CONNECT)).await?;
                let events = c.session.open_doc(id, None, None)?;
                c.send(events).await?;
                c.wait_until(stretch(SYNC), |c| c.has_all(&id, &heads)).await?;
            }
            let _ = ready_tx.send(instance);
            let mut last = c.session.doc(&id).map(docs::seq).unwrap_or(0);
            while !*stop.borrow() {
                tokio::select! {
                    r = c.next_frame(Duration::from_secs(3600)) => {
                        // The arrival time of the frame that brought the edit is the one that counts.
                        if let Some((arrived, frame)) = r? {
                            // When this reader's task got to it, for comparison: behind other
                            // readers of the load generator applying the same change.
                            let seen = Instant::now();
                            // Readers are separate devices in reality: let every reader whose
                            // frame is already here see it before any of them spends the shared
                            // cores on applying the change and answering.
                            tokio::task::yield_now().await;
                            c.process(&frame).await?;
                            let now = c.session.doc(&id).map(docs::seq).unwrap_or(last);
                            if now > last {
                                last = now;
                                let _ = seen_tx.send((now, arrived, seen, instance));
                            }
                        }
                    }
                    _ = stop.changed() => {}
                }
            }
            c.close().await;
            anyhow::Ok(())
        });
    }
    drop((ready_tx, seen_tx));
    // The writer keeps reading while the readers subscribe: a relay that pings idle connections
    // (the reference does) drops one that does not answer when subscribing is slow.
    let ready = {
        let collecting = collect(&mut ready_rx, n, stretch(DEADLINE), "readers subscribed", &mut tasks);
        tokio::pin!(collecting);
        let mut reading = true;
        loop {
            tokio::select! {
                ready = &mut collecting => break ready,
                r = writer.next_frame(Duration::from_secs(1)), if reading => match r {
                    Ok(Some((_, frame))) => writer.process(&frame).await?,
                    Ok(None) => {}
                    // Reported where the writer is next used.
                    Err(_) => reading = false,
                },
            }
        }
    };
    let n = ready.len();
    let subscribe_wall = t0.elapsed();
    ctx.record(&format!("{key}.readers"), n as f64);
    let mut held = vec![0usize; instances];
    ready.iter().for_each(|&i| held[i] += 1);
    ctx.record_each(&format!("{key}.readers"), &held);
    tokio::time::sleep(stretch(TRAILING)).await;
    ctx.record(&format!("{key}.subscribe_wall_s"), subscribe_wall.as_secs_f64());
    ctx.record_cpu(&format!("{key}.subscribe_cpu_s"), &cpu0)?;
    writer.settle(Duration::from_millis(300), Duration::from_secs(5)).await?;

    let mut latencies: Vec<f64> = Vec::with_capacity(n * ctx.sizes.fanout_edits);
    // From the edit to when each reader's task saw its frame (the latencies count to arrival).
    let mut seen_latencies: Vec<f64> = Vec::with_capacity(n * ctx.sizes.fanout_edits);
    // The same split by where the reader is: on the writer's instance or another.
    let (mut same, mut other) = (Vec::new(), Vec::new());
    let mut missed = 0usize;
    let mut writer_at = 0;
    let cpu0 = ctx.cpu_mark()?;
    let t0 = Instant::now();
    let mut edits = 0;
    for k in 1..=ctx.sizes.fanout_edits as i64 {
        if t0.elapsed() > stretch(DEADLINE) {
            eprintln!("  warning: only {edits} edits within {:?}", stretch(DEADLINE));
            break;
        }
        edits += 1;
        if fresh_writer {
            // The phone keeps the document, not the relay's sync state: a new peer each time.
            let saved = writer.session.doc(&id).map(Automerge::save).context("the writer has no document")?;
            writer.close().await;
            let (peer, storage) = ctx.peer(&format!("{key}-writer-{k}"), 0);
            writer = Client::new(peer, storage);
            let events = writer.session.open_doc(id, Some(&saved), None)?;
            writer.send(events).await?;
            writer_at = k as usize % instances;
            writer.connect(&ctx.url_at(writer_at, true)?, stretch(CONNECT)).await?;
        }
        let mut failed = None;
        let events = writer.session.change(&id, |d| {
            if let Err(e) = docs::edit(d, k) {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let sent = Instant::now();
        writer.send(events).await?;
        let deadline = Instant::now() + stretch(Duration::from_secs(20));
        let mut got = 0usize;
        while got < n && Instant::now() < deadline {
            while let Ok((seq, arrived, seen, at)) = seen_rx.try_recv() {
                if seq == k {
                    got += 1;
                    let ms = arrived.saturating_duration_since(sent).as_secs_f64() * 1000.0;
                    latencies.push(ms);
                    seen_latencies.push(seen.saturating_duration_since(sent).as_secs_f64() * 1000.0);
                    if at == writer_at { same.push(ms) } else { other.push(ms) }
                }
            }
            if got < n {
                // Short waits keep the writer answering the relay while readers report.
                writer.next(Duration::from_millis(5)).await?;
            }
        }
        missed += n - got;
        // Let the acknowledgements of this edit die down so that each edit meets a quiet relay.
        writer.settle(Duration::from_millis(150), Duration::from_secs(5)).await?;
        while seen_rx.try_recv().is_ok() {}
    }
    let wall = t0.elapsed();
    tokio::time::sleep(stretch(TRAILING)).await;
    latencies.sort_by(f64::total_cmp);
    ctx.record(&format!("{key}.p50_ms"), percentile(&latencies, 50.0));
    ctx.record(&format!("{key}.p99_ms"), percentile(&latencies, 99.0));
    ctx.record(&format!("{key}.max_ms"), latencies.last().copied().unwrap_or(f64::NAN));
    seen_latencies.sort_by(f64::total_cmp);
    ctx.record(&format!("{key}.seen_p50_ms"), percentile(&seen_latencies, 50.0));
    ctx.record(&format!("{key}.seen_p99_ms"), percentile(&seen_latencies, 99.0));
    if ctx.per_instance {
        same.sort_by(f64::total_cmp);
        other.sort_by(f64::total_cmp);
        ctx.record(&format!("{key}.same_p50_ms"), percentile(&same, 50.0));
        ctx.record(&format!("{key}.other_p50_ms"), percentile(&other, 50.0));
        ctx.record(&format!("{key}.other_p99_ms"), percentile(&other, 99.0));
    }
    ctx.record(&format!("{key}.missed"), missed as f64);
    ctx.record(&format!("{key}.edits"), edits as f64);
    ctx.record(&format!("{key}.wall_s"), wall.as_secs_f64());
    ctx.record_cpu(&format!("{key}.cpu_s"), &cpu0)?;
    stop_tx.send(true)?;
    finish(&mut tasks, Duration::from_secs(30)).await;
    writer.close().await;
    ctx.check_alive()
}

/// Bytes on the wire for a reader coming back after one edit it missed: with the relay kept
/// running, without any saved sync state (a new peer with a copy), and after a relay restart.
pub async fn reconnect(ctx: &mut Ctx) -> Result<()> {
    let id = ctx.ids.history;
    let doc = docs::with_history(ctx.sizes.history_entries, ctx.sizes.history_changes)?;
    ctx.record("reconnect.history_changes", ctx.sizes.history_changes as f64 + 1.0);
    let mut writer = upload(ctx, "history-writer", id, doc).await?;
    let mut seq = 1_000_000_i64;
    let (peer, storage) = ctx.peer("returning", 0);
    let mut reader = Client::new(peer, storage);
    reader.connect(&ctx.url(false)?, stretch(CONNECT)).await?;
    let events = reader.session.open_doc(id, None, None)?;
    reader.send(events).await?;
    let heads = writer.heads(&id);
    reader.wait_until(stretch(SYNC), |c| c.has_all(&id, &heads)).await?;
    reader.settle(Duration::from_millis(300), Duration::from_secs(5)).await?;
    ctx.record("reconnect.first_sync_bytes", (reader.sent + reader.received) as f64);

    // Away: the writer edits once.
    reader.close().await;
    seq += 1;
    edit_and_wait(&mut writer, id, seq).await?;
    let heads = writer.heads(&id);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bytes = come_back(ctx, &mut reader, id, &heads).await?;
    ctx.record("reconnect.running_bytes", bytes.0 as f64);
    ctx.record("reconnect.running_messages", bytes.1 as f64);

    reader.close().await;

    // Away again, and the relay restarts while the reader is away.
    seq += 1;
    edit_and_wait(&mut writer, id, seq).await?;
    let heads = writer.heads(&id);
    writer.close().await;
    // Both relays write in the background (the reference throttles its saves); give them time.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ctx.stop().await?;
    ctx.start().await?;
    let bytes = come_back(ctx, &mut reader, id, &heads).await?;
    ctx.record("reconnect.restart_bytes", bytes.0 as f64);
    ctx.record("reconnect.restart_messages", bytes.1 as f64);

    // The same return by a peer that has a copy of the document but no saved sync state: what
    // the saved state is worth.
    let copy = reader.session.doc(&id).context("reader lost the document")?.save();
    reader.close().await;
    let (peer, storage) = ctx.peer("fresh", 0);
    let mut fresh = Client::new(peer, storage);
    let events = fresh.session.open_doc(id, Some(&copy), None)?;
    fresh.send(events).await?;
    writer.connect(&ctx.url(true)?, stretch(CONNECT)).await?;
    seq += 1;
    edit_and_wait(&mut writer, id, seq).await?;
    let heads = writer.heads(&id);
    let bytes = come_back(ctx, &mut fresh, id, &heads).await?;
    ctx.record("reconnect.no_state_bytes", bytes.0 as f64);
    fresh.close().await;
    writer.close().await;
    ctx.check_alive()
}

async fn edit_and_wait(writer: &mut Client, id: DocumentId, seq: i64) -> Result<()> {
    let mut failed = None;
    let events = writer.session.change(&id, |d| {
        if let Err(e) = docs::edit(d, seq) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    writer.send(events).await?;
    writer.wait_until(stretch(SYNC), |c| c.session.is_acknowledged(&id)).await.context("edit not acknowledged")?;
    writer.settle(Duration::from_millis(200), Duration::from_secs(5)).await
}

/// Reconnects a client and counts bytes both ways until it has `heads` and the exchange is over.
async fn come_back(ctx: &Ctx, c: &mut Client, id: DocumentId, heads: &[ChangeHash]) -> Result<(usize, usize)> {
    c.reset_counters();
    c.connect(&ctx.url(false)?, stretch(CONNECT)).await?;
    c.wait_until(stretch(SYNC), |c| c.has_all(&id, heads)).await?;
    // The reference server sends its messages up to 100 ms late; wait for real quiet.
    c.settle(Duration::from_millis(600), Duration::from_secs(10)).await?;
    Ok((c.sent + c.received, c.messages))
}

/// `idle_connections` clients, first only connected (handshake done), then each subscribed to
/// one small document, then left alone: the relay's memory growth per connection at both steps.
/// With several instances, client `i` connects to instance `i` modulo their number, and memory
/// is the instances' together.
pub async fn idle(ctx: &mut Ctx) -> Result<()> {
    let n = ctx.sizes.idle_connections;
    let instances = ctx.instances();
    let limit = ctx.server()?.open_files_limit()?;
    if limit < (n / instances) as u64 + 100 {
        bail!("the relay may open only {limit} files, too few for {n} connections: raise `ulimit -n`");
    }
    let id = ctx.ids.idle;
    let doc = docs::directory(3)?;
    let heads = Arc::new(doc.get_heads());
    let mut writer = upload(ctx, "idle-writer", id, doc).await?;
    writer.close().await;
    // One subscriber per instance loads the document before the first reading, so only
    // connections count.
    let mut warm = Vec::new();
    for i in 0..instances {
        let (peer, storage) = ctx.peer("idle-warmup", i);
        let mut c = Client::new(peer, storage);
        c.connect(&ctx.url_at(i, false)?, stretch(CONNECT)).await?;
        let events = c.session.open_doc(id, None, None)?;
        c.send(events).await?;
        c.wait_until(stretch(SYNC), |c| c.has_all(&id, &heads)).await?;
        warm.push(c);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = ctx.rss_each()?;

    let (go_tx, go_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (connected_tx, mut connected_rx) = mpsc::unbounded_channel::<usize>();
    let (subscribed_tx, mut subscribed_rx) = mpsc::unbounded_channel::<()>();
    // Bounded concurrency while connecting: a burst of thousands of handshakes at once measures
    // the listen backlog, not the relay.
    let gate = Arc::new(Semaphore::new(128));
    let mut tasks = JoinSet::new();
    let cpu0 = ctx.cpu_mark()?;
    let t0 = Instant::now();
    for i in 0..n {
        let (peer, storage) = ctx.peer("idle", i);
        let (url, instance) = (ctx.url_at(i, false)?, i % instances);
        let (heads, connected_tx, subscribed_tx, gate) =
            (heads.clone(), connected_tx.clone(), subscribed_tx.clone(), gate.clone());
        let (mut go, mut stop) = (go_rx.clone(), stop_rx.clone());
        tasks.spawn(async move {
            let mut c = Client::new(peer, storage);
            let from = site_address(i);
            {
                let _permit = gate.acquire().await?;
                c.connect_from(&url, Some(from), stretch(CONNECT)).await?;
            }
            let _ = connected_tx.send(instance);
            // Keep reading while waiting: the reference server pings every few seconds and drops
            // peers that do not answer.
            let (mut subscribed, mut reported) = (false, false);
            while !*stop.borrow() {
                if !subscribed && *go.borrow() {
                    subscribed = true;
                    let events = c.session.open_doc(id, None, None)?;
                    c.send(events).await?;
                }
                tokio::select! {
                    r = c.next(Duration::from_secs(3600)) => { r?; }
                    _ = stop.changed() => {}
                    _ = go.changed(), if !subscribed => {}
                }
                if subscribed && !reported && c.has_all(&id, &heads) {
                    reported = true;
                    let _ = subscribed_tx.send(());
                }
            }
            c.close().await;
            anyhow::Ok(())
        });
    }
    drop((connected_tx, subscribed_tx));
    let came = collect(&mut connected_rx, n, stretch(DEADLINE), "idle clients connected", &mut tasks).await;
    let connected = came.len();
    let mut held = vec![0usize; instances];
    came.iter().for_each(|&i| held[i] += 1);
    let connect_wall = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss1 = ctx.rss_each()?;
    let connect_cpu = ctx.cpu_mark()?;
    let t1 = Instant::now();
    go_tx.send(true)?;
    let subscribed =
        collect(&mut subscribed_rx, connected, stretch(DEADLINE), "idle clients subscribed", &mut tasks).await.len();
    let subscribe_wall = t1.elapsed();
    // Let buffers drain and the reference server's collector run before reading memory.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss2 = ctx.rss_each()?;
    let subscribe_cpu = ctx.cpu_mark()?;
    let per = |kib: u64| kib as f64 / connected.max(1) as f64;
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    ctx.record("idle.connected", connected as f64);
    ctx.record_each("idle.connected", &held);
    ctx.record("idle.subscribed", subscribed as f64);
    ctx.record("idle.connect_wall_s", connect_wall.as_secs_f64());
    ctx.record_cpu_span("idle.connect_cpu_s", &cpu0, &connect_cpu);
    ctx.record("idle.subscribe_wall_s", subscribe_wall.as_secs_f64());
    ctx.record_cpu_span("idle.subscribe_cpu_s", &connect_cpu, &subscribe_cpu);
    ctx.record("idle.rss_before_mib", sum(&rss0) as f64 / 1024.0);
    ctx.record("idle.rss_connected_mib", sum(&rss1) as f64 / 1024.0);
    ctx.record("idle.rss_subscribed_mib", sum(&rss2) as f64 / 1024.0);
    if ctx.per_instance {
        for (i, kib) in rss2.iter().enumerate() {
            ctx.record(&format!("idle.rss_subscribed_mib.{}", i + 1), *kib as f64 / 1024.0);
        }
    }
    ctx.record("idle.kib_per_connection_handshake", per(sum(&rss1).saturating_sub(sum(&rss0))));
    ctx.record("idle.kib_per_connection", per(sum(&rss2).saturating_sub(sum(&rss0))));
    stop_tx.send(true)?;
    finish(&mut tasks, Duration::from_secs(60)).await;
    for mut c in warm {
        c.close().await;
    }
    ctx.check_alive()
}

/// `writers` clients, each on a document of its own and on instance `j` modulo the instances,
/// each making one edit after another, every one waiting for the relay's acknowledgement (which
/// comes only once the change is committed): the appends per second the store takes, and the
/// time from an edit to its acknowledgement.
pub async fn writes(ctx: &mut Ctx) -> Result<()> {
    let ids = ctx.write_docs.clone();
    if ids.is_empty() {
        bail!("no documents are registered for the write workload");
    }
    let mut writers = Vec::with_capacity(ids.len());
    for (j, id) in ids.iter().enumerate() {
        let c = upload_at(ctx, j % ctx.instances(), &format!("write-{j}"), *id, docs::directory(20)?).await?;
        writers.push((*id, c));
    }
    tokio::time::sleep(stretch(TRAILING)).await;
    let length = Duration::from_secs(ctx.sizes.write_seconds);
    let cpu0 = ctx.cpu_mark()?;
    let t0 = Instant::now();
    let end = t0 + length;
    let mut tasks = JoinSet::new();
    for (id, mut c) in writers {
        tasks.spawn(async move {
            let mut acked = Vec::new();
            let mut seq = 0;
            while Instant::now() < end {
                seq += 1;
                let mut failed = None;
                let events = c.session.change(&id, |d| {
                    if let Err(e) = docs::edit(d, seq) {
                        failed = Some(e);
                    }
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                let sent = Instant::now();
                c.send(events).await?;
                c.wait_until(stretch(SYNC), |c| c.session.is_acknowledged(&id))
                    .await
                    .context("edit not acknowledged")?;
                acked.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            c.close().await;
            anyhow::Ok(acked)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    while let Some(r) = tasks.join_next().await {
        match r.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(l) => latencies.extend(l),
            Err(e) => {
                failures += 1;
                eprintln!("  warning: a writer failed: {e:#}");
            }
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    ctx.record("writes.writers", (ids.len() - failures) as f64);
    ctx.record("writes.per_s", latencies.len() as f64 / wall);
    ctx.record("writes.ack_p50_ms", percentile(&latencies, 50.0));
    ctx.record("writes.ack_p99_ms", percentile(&latencies, 99.0));
    ctx.record_cpu("writes.cpu_s", &cpu0)?;
    ctx.check_alive()
}

/// The loopback address of the `i`th device of a large workload: 400 devices to an address, as
/// sites behind NAT, the same for both relays. Our relay limits connections per client address
/// (512), so a thousand readers from one address would measure that limit, not the fan-out.
fn site_address(i: usize) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 1 + (i / 400 / 250) as u8, 1 + (i / 400 % 250) as u8))
}
