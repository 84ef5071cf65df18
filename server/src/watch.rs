//! The database watcher: how a relay learns what other processes (other relays over the same
//! database, the admin CLI) changed, and passes it on to its own connections and documents.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use contactpoint_protocol::DocumentId;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::notice::{Heard, Notice};
use crate::relay::{DocCmd, Relay, record_contact_ids};
use crate::storage;

/// Watches the database for what other processes change in it: revoked devices and disabled
/// users lose their connections, tombstoned documents are unloaded, and chunks stored for loaded
/// documents are merged and passed on to their peers.
///
/// On SQLite (one relay; the admin CLI is the other process) the database is polled every
/// `revocation_poll`. On PostgreSQL every write that matters is also announced (`NOTIFY`, see
/// [`Notice`]) and the watcher acts on what its listening connection hears as it hears it;
/// whenever that connection (re)starts listening it reads the tables as a poll does, since
/// notifications sent meanwhile are lost, and it still polls every `announced_poll` in case one
/// was missed anyway. Chunks are announced in the order of their sequence numbers (each append
/// holds the writers' lock until it commits), so a heard chunk moves the point polls read from.
pub async fn watch_database(relay: Arc<Relay>) {
    let mut heard = relay.db().listen();
    let mut w = Watcher {
        since: storage::now_ms(),
        tombstones_since: storage::now_ms(),
        seen: HashSet::new(),
        seq: relay.indexed_seq,
        pruned_at: None,
        relay,
    };
    let mut polled = Instant::now();
    // While the listening connection is down, the database is polled as on SQLite.
    let mut listening = false;
    loop {
        let limits = w.relay.limits();
        let every = if listening { limits.announced_poll } else { limits.revocation_poll };
        let first = tokio::select! {
            () = tokio::time::sleep_until(polled + every) => None,
            h = hear(&mut heard) => match h {
                Some(h) => Some(h),
                None => {
                    // The database's runtime has stopped.
                    heard = None;
                    listening = false;
                    continue;
                }
            },
        };
        let Some(first) = first else {
            w.poll().await;
            polled = Instant::now();
            continue;
        };
        // Whatever else has arrived is handled together: a busy database announces many chunks.
        let mut batch = vec![first];
        if let Some(rx) = heard.as_mut() {
            while let Ok(h) = rx.try_recv() {
                batch.push(h);
            }
        }
        if let Some(now) = batch.iter().rev().find_map(|h| match h {
            Heard::Listening => Some(true),
            Heard::Lost => Some(false),
            Heard::Notice(_) => None,
        }) {
            listening = now;
        }
        w.heard(batch).await;
    }
}

/// Waits for what the listening connection hears; forever when there is none.
async fn hear(heard: &mut Option<mpsc::UnboundedReceiver<Heard>>) -> Option<Heard> {
    match heard {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// How far back revocations and tombstones are read again. Their times are the writing
/// process's clock, taken before its commit: a relay or the command line on another host whose
/// clock is a little behind, or two revocations committing out of order, write a time before
/// one already read, and a cursor that only moved forward would skip that row for good.
const CLOCK_OVERLAP_MS: i64 = 60_000;

/// What the watcher has read so far.
struct Watcher {
    relay: Arc<Relay>,
    /// Revocations at or after this (milliseconds) are still to be read.
    since: i64,
    /// Tombstones at or after this (milliseconds) are still to be read.
    tombstones_since: i64,
    /// Revocations and tombstones already acted on within the overlap ([`CLOCK_OVERLAP_MS`]):
    /// (kind or document id, id, time).
    seen: HashSet<(String, i64, i64)>,
    /// Chunks after this sequence number are still to be read.
    seq: i64,
    pruned_at: Option<Instant>,
}

impl Watcher {
    /// Reads everything from the tables.
    async fn poll(&mut self) {
        // Before new chunks, so that a rotated document's successor records the ids it took over.
        self.tombstones().await;
        self.prune().await;
        let from_seq = self.seq;
        match self.relay.db().call(move |c| storage::chunks_since(c, from_seq)).await {
            Ok((docs, newest)) => {
                self.seq = newest;
                pass_on(&self.relay, docs.iter().filter_map(|d| d.parse::<DocumentId>().ok()).collect()).await;
            }
            Err(e) => tracing::warn!("chunk check failed: {e}"),
        }
        self.revocations().await;
        let floor = self.since.min(self.tombstones_since) - CLOCK_OVERLAP_MS;
        self.seen.retain(|(_, _, at)| *at >= floor);
    }

    /// Acts on what the listening connection heard.
    async fn heard(&mut self, batch: Vec<Heard>) {
        let mut docs = Vec::new();
        let mut newest = self.seq;
        let mut access = false;
        let mut caught_up = false;
        for h in batch {
            match h {
                Heard::Listening => {
                    tracing::info!("listening for other relays' writes");
                    caught_up = true;
                }
                Heard::Lost => {}
                Heard::Notice(payload) => match Notice::parse(&payload) {
                    Some(Notice::Chunk { doc, seq }) => {
                        if let Ok(doc) = doc.parse::<DocumentId>()
                            && !docs.contains(&doc)
                        {
                            docs.push(doc);
                        }
                        newest = newest.max(seq);
                    }
                    Some(Notice::Access) => access = true,
                    Some(Notice::Rotated { device_id, origin }) => {
                        if origin != self.relay.db().origin() {
                            let n = self
                                .relay
                                .kick_device(device_id, "this device's token has been replaced; connect again");
                            if n > 0 {
                                tracing::info!(
                                    device = device_id,
                                    connections = n,
                                    "closed connections after rotation"
                                );
                            }
                        }
                    }
                    None => tracing::debug!(payload, "ignoring an announcement of an unknown kind"),
                },
            }
        }
        if caught_up {
            // What was announced while nobody listened is in the tables, read from where the
            // watcher was (not from a chunk heard since, which may be newer than a missed one).
            self.poll().await;
            return;
        }
        self.seq = newest;
        if access {
            self.tombstones().await;
        }
        pass_on(&self.relay, docs).await;
        if access {
            self.revocations().await;
        }
    }

    /// Unloads documents tombstoned since the last look, and forgets erased contact ids.
    async fn tombstones(&mut self) {
        let from = self.tombstones_since - CLOCK_OVERLAP_MS;
        let relay = &self.relay;
        match relay.db().call(move |c| Ok((storage::tombstoned_since(c, from)?, storage::erased_contacts(c)?))).await {
            Ok((rows, erased)) => {
                relay.contact_ids.erase(erased);
                for (id, successor, at) in rows {
                    self.tombstones_since = self.tombstones_since.max(at + 1);
                    if !self.seen.insert((id.clone(), 0, at)) {
                        continue;
                    }
                    let Ok(id) = id.parse::<DocumentId>() else { continue };
                    relay.unload_erased(id, successor.and_then(|s| s.parse().ok())).await;
                }
            }
            Err(e) => tracing::warn!("tombstone check failed: {e}"),
        }
    }

    /// Deletes unused sync states, once an hour.
    async fn prune(&mut self) {
        if self.pruned_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            self.pruned_at = Some(Instant::now());
            let before = storage::now_ms() - self.relay.limits().sync_state_ttl.as_millis() as i64;
            match self.relay.db().call(move |c| storage::prune_sync_states(c, before)).await {
                Ok(n) if n > 0 => tracing::info!(states = n, "deleted unused sync states"),
                Ok(_) => {}
                Err(e) => tracing::warn!("could not delete unused sync states: {e}"),
            }
        }
    }

    /// Closes the connections of devices revoked and users disabled since the last look.
    async fn revocations(&mut self) {
        let from = self.since - CLOCK_OVERLAP_MS;
        let relay = &self.relay;
        match relay.db().call(move |c| storage::revocations_since(c, from)).await {
            Ok(rows) => {
                for (id, kind, at) in rows {
                    self.since = self.since.max(at + 1);
                    if !self.seen.insert((kind.to_string(), id, at)) {
                        continue;
                    }
                    let n = if kind == "device" {
                        relay.kick_device(id, "this device has been signed out by an administrator")
                    } else {
                        relay.kick_user(id, "this account has been disabled by an administrator")
                    };
                    if n > 0 {
                        tracing::info!(kind, id, connections = n, "closed connections after revocation");
                    }
                }
            }
            Err(e) => tracing::warn!("revocation check failed: {e}"),
        }
    }
}

/// Documents that received chunks from another process: a loaded one merges them and passes
/// them on to its peers (and records its ids as it loads); the contact ids of the others are
/// read here.
async fn pass_on(relay: &Arc<Relay>, mut docs: Vec<DocumentId>) {
    // A batch of announcements often names one document many times; each is read once.
    docs.sort_unstable();
    docs.dedup();
    let mut unloaded = Vec::new();
    {
        let handles = relay.lock_docs();
        for d in docs {
            match handles.get(&d) {
                Some(h) => {
                    let _ = h.tx.send(DocCmd::Refresh);
                }
                None => unloaded.push(d),
            }
        }
    }
    if !unloaded.is_empty() {
        let (db, ids) = (relay.db().clone(), relay.contact_ids.clone());
        let read = tokio::task::spawn_blocking(move || {
            unloaded.into_iter().try_for_each(|d| record_contact_ids(&db, &ids, d))
        });
        if let Ok(Err(e)) = read.await {
            tracing::warn!("could not read new documents' contact ids: {e}");
        }
    }
}
