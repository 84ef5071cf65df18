//! Limits and timings of the relay: what one peer may send, hold and ask for.

use super::*;

/// Limits and timings of the relay.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted WebSocket message.
    pub max_frame_bytes: usize,
    /// Time a client has to send `join` after connecting.
    pub handshake_timeout: Duration,
    /// Sustained messages per second one connection may send.
    pub rate_per_sec: f64,
    /// Burst of messages one connection may send at once.
    pub rate_burst: f64,
    /// How long a document with no peers stays in memory.
    pub doc_idle: Duration,
    /// Bytes queued for one connection before it counts as too slow and is closed. One message
    /// is always let through to an empty queue, however large.
    pub outbox_bytes: usize,
    /// How long one frame may take to be written to a connection before it is closed.
    pub write_timeout: Duration,
    /// How often revocations are looked for in the database.
    pub revocation_poll: Duration,
    /// How often a relay that hears other processes' writes announced (PostgreSQL) reads anyway.
    pub announced_poll: Duration,
    /// What a peer's sync message may ask of the engine.
    pub bounds: Bounds,
    /// Documents one user may create through sync per hour.
    pub creations_per_hour: u32,
    /// How long an unused sync state is kept.
    pub sync_state_ttl: Duration,
    /// How long a `request` for a document the relay does not have waits for a writer to create
    /// it before it is answered `doc-unavailable`.
    pub request_hold: Duration,
    /// Requests one connection may have waiting at once; more are answered at once.
    pub held_per_connection: usize,
    /// Requests all connections together may have waiting at once.
    pub held_total: usize,
    /// Largest ephemeral payload passed on; larger ones are dropped.
    pub ephemeral_bytes: usize,
    /// Sustained ephemeral messages per second one connection may have passed on.
    pub ephemeral_per_sec: f64,
    /// Burst of ephemeral messages one connection may have passed on at once.
    pub ephemeral_burst: f64,
}

/// The default of [`Limits::max_frame_bytes`], also the command line's.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// The default of [`Limits::handshake_timeout`] in seconds, also the command line's.
pub const DEFAULT_HANDSHAKE_TIMEOUT_SECS: u64 = 10;
/// The default of [`Limits::rate_per_sec`], also the command line's.
pub const DEFAULT_RATE_PER_SEC: f64 = 500.0;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            handshake_timeout: Duration::from_secs(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            rate_burst: 2000.0,
            doc_idle: Duration::from_secs(30),
            outbox_bytes: 4 * 1024 * 1024,
            write_timeout: Duration::from_secs(30),
            revocation_poll: Duration::from_millis(250),
            announced_poll: Duration::from_secs(5),
            bounds: Bounds::default(),
            creations_per_hour: 20,
            sync_state_ttl: Duration::from_secs(90 * 24 * 3600),
            request_hold: Duration::from_secs(2),
            held_per_connection: 16,
            held_total: 4096,
            ephemeral_bytes: 16 * 1024,
            ephemeral_per_sec: 10.0,
            ephemeral_burst: 20.0,
        }
    }
}
