//! The relay's metrics in the Prometheus text format, served at `/metrics` on a listener of its
//! own (`serve --metrics-listen`), never on the public one.
//!
//! Counters that other parts already keep ([`crate::relay::Stats`]: connections, loaded
//! documents, accepted writes) are read at each scrape rather than counted twice; what only
//! metrics need (refusals by reason, bytes, commit latency, failures) is counted here.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use contactpoint_protocol::Reason as RefusalReason;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A metric's one label: why something failed, or which way bytes went.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// A short, fixed word (never data from a peer).
    pub reason: &'static str,
}

/// Which way sync bytes went.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Direction {
    /// `received` or `sent`.
    pub direction: &'static str,
}

/// What the relay counts for `/metrics` beyond [`crate::relay::Stats`].
#[derive(Debug)]
pub struct Metrics {
    /// Writes refused, by reason: `read_only`, `invalid` (validation), `corrupt`,
    /// `over_limits`, `engine_failure`, `creation_limit`.
    pub refused: Family<Reason, Counter>,
    /// WebSocket message bytes, received and sent.
    pub sync_bytes: Family<Direction, Counter>,
    /// The family's `received` counter.
    received: Counter,
    /// The family's `sent` counter.
    sent: Counter,
    /// Seconds to store a batch of accepted changes (the SQLite transaction, queueing included).
    pub commit_seconds: Histogram,
    /// Connections that never became a synchronising peer, by reason: `unauthorized`,
    /// `not_websocket`, `shutting_down`, `join_timeout`, `per_address_limit`, `total_limit`.
    pub handshake_failures: Family<Reason, Counter>,
    /// Invite codes that did not give a device a token, by reason.
    pub redeem_failures: Family<Reason, Counter>,
    /// Peers disconnected because they did not read what the relay had for them.
    pub slow_peers: Counter,
    /// Chunks other processes stored (the admin command line, imports) that the relay read and
    /// merged into a loaded document.
    pub chunks_merged: Counter,
}

/// The reasons each family starts with at zero, so that a dashboard sees them before the first.
const REFUSALS: [RefusalReason; 6] = [
    RefusalReason::ReadOnly,
    RefusalReason::Invalid,
    RefusalReason::Corrupt,
    RefusalReason::OverLimits,
    RefusalReason::EngineFailure,
    RefusalReason::CreationLimit,
];
const HANDSHAKE_FAILURES: [&str; 6] =
    ["unauthorized", "not_websocket", "shutting_down", "join_timeout", "per_address_limit", "total_limit"];
const REDEEM_FAILURES: [&str; 8] =
    ["unknown_code", "used_code", "expired_code", "withdrawn_code", "rate_limited", "bad_request", "storage", "other"];

impl Default for Metrics {
    fn default() -> Self {
        let sync_bytes = Family::<Direction, Counter>::default();
        // Held apart so that counting a message's bytes, once per message, takes no lock.
        let received = sync_bytes.get_or_create(&Direction { direction: "received" }).clone();
        let sent = sync_bytes.get_or_create(&Direction { direction: "sent" }).clone();
        let m = Metrics {
            refused: Family::default(),
            sync_bytes,
            received,
            sent,
            // 0.5 ms to about 4 s: a commit is a few milliseconds on a local disk.
            commit_seconds: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 14)),
            handshake_failures: Family::default(),
            redeem_failures: Family::default(),
            slow_peers: Counter::default(),
            chunks_merged: Counter::default(),
        };
        for reason in REFUSALS {
            let _ = m.refused.get_or_create(&Reason { reason: reason.as_str() });
        }
        for reason in HANDSHAKE_FAILURES {
            let _ = m.handshake_failures.get_or_create(&Reason { reason });
        }
        for reason in REDEEM_FAILURES {
            let _ = m.redeem_failures.get_or_create(&Reason { reason });
        }
        m
    }
}

impl Metrics {
    /// Counts a refused write, or (`too_slow`) a peer cut off for not reading.
    pub fn refused(&self, reason: RefusalReason) {
        if reason == RefusalReason::TooSlow {
            self.slow_peers.inc();
        } else {
            self.refused.get_or_create(&Reason { reason: reason.as_str() }).inc();
        }
    }

    /// Counts a connection that failed before it could sync.
    pub fn handshake_failed(&self, reason: &'static str) {
        self.handshake_failures.get_or_create(&Reason { reason }).inc();
    }

    /// Counts a failed invite redemption.
    pub fn redeem_failed(&self, reason: &'static str) {
        self.redeem_failures.get_or_create(&Reason { reason }).inc();
    }

    /// Counts WebSocket message bytes received from peers.
    pub fn received(&self, bytes: usize) {
        self.received.inc_by(bytes as u64);
    }

    /// Counts WebSocket message bytes sent to peers.
    pub fn sent(&self, bytes: usize) {
        self.sent.inc_by(bytes as u64);
    }
}

/// The `reason` label of a failed redemption.
pub fn invite_failure(e: &crate::auth::InviteError) -> &'static str {
    use crate::auth::InviteError;
    match e {
        InviteError::Unknown => "unknown_code",
        InviteError::UsedUp => "used_code",
        InviteError::Expired => "expired_code",
        InviteError::Withdrawn => "withdrawn_code",
        InviteError::DeviceName => "bad_request",
        InviteError::Storage(_) => "storage",
        _ => "other",
    }
}

/// Reads what the relay keeps anyway at each scrape: connections, documents, writes, queues and
/// the process's memory.
struct Live(Arc<crate::Relay>);

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.0.stats;
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64| {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
        };
        let counter = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64| {
            let c = ConstCounter::new(value);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
        };
        gauge(
            &mut encoder,
            "connections",
            "Open WebSocket connections.",
            stats.connections.load(Ordering::Relaxed) as i64,
        )?;
        gauge(
            &mut encoder,
            "documents_loaded",
            "Documents held in memory, each with its own task.",
            stats.loaded_docs.load(Ordering::Relaxed) as i64,
        )?;
        counter(
            &mut encoder,
            "writes_accepted",
            "Sync messages whose new changes were stored and acknowledged.",
            stats.writes.load(Ordering::Relaxed),
        )?;
        gauge(
            &mut encoder,
            "requests_held",
            "Requests for a document the relay does not have yet, waiting for a writer to create it.",
            stats.held_requests.load(Ordering::Relaxed) as i64,
        )?;
        counter(
            &mut encoder,
            "ephemeral_forwarded",
            "Ephemeral messages passed on to a peer.",
            stats.ephemeral_forwarded.load(Ordering::Relaxed),
        )?;
        let (messages, bytes) = self.0.queued();
        gauge(
            &mut encoder,
            "outbound_queue_messages",
            "Messages queued for peers and not yet written to their sockets (the fan-out backlog).",
            messages as i64,
        )?;
        gauge(&mut encoder, "outbound_queue_bytes", "Bytes those queued messages hold.", bytes as i64)?;
        if let Some(rss) = resident_bytes() {
            gauge(&mut encoder, "resident_memory_bytes", "Resident memory of the relay process.", rss as i64)?;
        }
        if let Some(heap) = crate::heap::allocated() {
            gauge(
                &mut encoder,
                "heap_allocated_bytes",
                "Bytes the relay has allocated and not freed (allocator overhead and free pages aside).",
                heap as i64,
            )?;
        }
        Ok(())
    }
}

/// The process's resident memory, from `/proc` (Linux only).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Everything `/metrics` shows, named `contactpoint_…`.
pub fn registry(relay: &Arc<crate::Relay>) -> Registry {
    let m = &relay.metrics;
    let mut r = Registry::with_prefix("contactpoint");
    r.register("writes_refused", "Writes refused, by reason", m.refused.clone());
    r.register_with_unit(
        "sync",
        "WebSocket message bytes received from and sent to peers",
        prometheus_client::registry::Unit::Bytes,
        m.sync_bytes.clone(),
    );
    r.register_with_unit(
        "commit_duration",
        "Time to store a batch of accepted changes",
        prometheus_client::registry::Unit::Seconds,
        m.commit_seconds.clone(),
    );
    r.register(
        "handshake_failures",
        "Connections that never became a synchronising peer, by reason",
        m.handshake_failures.clone(),
    );
    r.register(
        "redeem_failures",
        "Invite codes that did not give a device a token, by reason",
        m.redeem_failures.clone(),
    );
    r.register(
        "slow_peers_disconnected",
        "Peers disconnected because they did not read what the relay had queued for them",
        m.slow_peers.clone(),
    );
    r.register(
        "stored_chunks_merged",
        "Chunks another process stored (the admin command line, an import) merged into a loaded document",
        m.chunks_merged.clone(),
    );
    r.register_collector(Box::new(Live(relay.clone())));
    r
}

/// The text `/metrics` answers with.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

/// The router of the metrics listener: `/metrics` alone.
pub fn app(relay: Arc<crate::Relay>) -> axum::Router {
    let registry = Arc::new(registry(&relay));
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)],
                    render(&registry),
                )
            }
        }),
    )
}
