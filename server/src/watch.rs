//! The database watcher: how a relay learns what other processes (other relays over the same
//! database, the admin CLI) changed, and passes it on to its own connections and documents.

use std::sync::Arc;
use std::time::Duration;

use contactpoint_protocol::DocumentId;
use tokio::time::Instant;

use crate::relay::{DocCmd, Relay, record_contact_ids};
use crate::storage;

/// Watches the database for what other processes (the admin CLI) change in the file: revoked
/// devices and disabled users lose their connections, tombstoned documents are unloaded, and
/// chunks stored for loaded documents are merged and passed on to their peers.
pub async fn watch_database(relay: Arc<Relay>) {
    let mut since = storage::now_ms();
    let mut tombstones_since = since;
    let mut seq = relay.indexed_seq;
    let mut pruned_at: Option<Instant> = None;
    loop {
        tokio::time::sleep(relay.limits().revocation_poll).await;
        // Before new chunks, so that a rotated document's successor records the ids it took over.
        let from = tombstones_since;
        match relay.db().call(move |c| Ok((storage::tombstoned_since(c, from)?, storage::erased_contacts(c)?))).await {
            Ok((rows, erased)) => {
                relay.contact_ids.erase(erased);
                for (id, successor, at) in rows {
                    tombstones_since = tombstones_since.max(at + 1);
                    let Ok(id) = id.parse::<DocumentId>() else { continue };
                    relay.unload_erased(id, successor.and_then(|s| s.parse().ok())).await;
                }
            }
            Err(e) => tracing::warn!("tombstone check failed: {e}"),
        }
        if pruned_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            pruned_at = Some(Instant::now());
            let before = storage::now_ms() - relay.limits().sync_state_ttl.as_millis() as i64;
            match relay.db().call(move |c| storage::prune_sync_states(c, before)).await {
                Ok(n) if n > 0 => tracing::info!(states = n, "deleted unused sync states"),
                Ok(_) => {}
                Err(e) => tracing::warn!("could not delete unused sync states: {e}"),
            }
        }
        let from_seq = seq;
        match relay.db().call(move |c| storage::chunks_since(c, from_seq)).await {
            Ok((docs, newest)) => {
                seq = newest;
                let mut unloaded = Vec::new();
                {
                    let handles = relay.lock_docs();
                    for d in docs.iter().filter_map(|d| d.parse::<DocumentId>().ok()) {
                        match handles.get(&d) {
                            Some(h) => {
                                let _ = h.tx.send(DocCmd::Refresh);
                            }
                            None => unloaded.push(d),
                        }
                    }
                }
                // A loaded document records its ids as it loads; others are read here.
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
            Err(e) => tracing::warn!("chunk check failed: {e}"),
        }
        let from = since;
        let found = relay.db().call(move |c| storage::revocations_since(c, from)).await;
        match found {
            Ok(rows) => {
                for (id, kind, at) in rows {
                    since = since.max(at + 1);
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
