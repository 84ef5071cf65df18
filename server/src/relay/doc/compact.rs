//! Compaction of a loaded document: its stored chunks replaced by one snapshot once the
//! incremental chunks outweigh it.

use super::*;

/// What storage holds of a loaded document, for compaction.
#[derive(Default)]
pub(super) struct Stored {
    pub(super) snapshot_bytes: usize,
    pub(super) incremental_bytes: usize,
    /// The stored chunks the in-memory copy contains; compaction replaces exactly these.
    pub(super) seqs: Vec<i64>,
}

impl Stored {
    /// What a copy holds once it has merged these chunks: (sequence number, snapshot, size).
    pub(super) fn of(chunks: Vec<(i64, bool, usize)>) -> Stored {
        let mut s = Stored::default();
        for (seq, snapshot, size) in chunks {
            s.seqs.push(seq);
            *(if snapshot { &mut s.snapshot_bytes } else { &mut s.incremental_bytes }) += size;
        }
        s
    }
}

impl DocTask {
    /// Replaces the chunks with one snapshot once the incremental chunks outweigh the snapshot.
    pub(super) async fn maybe_compact(&mut self) {
        let l = &self.stored;
        if l.incremental_bytes < 64 * 1024 || l.incremental_bytes < l.snapshot_bytes {
            return;
        }
        let Some(gate) = self.gate.take() else { return };
        let (gate, snapshot) = match tokio::task::spawn_blocking(move || {
            let snapshot = gate.sync().map(|s| s.save());
            (gate, snapshot)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(doc = %self.id, "saving a snapshot failed: {e}");
                // The engine went with the failed task: without a fresh copy there is nothing to
                // serve from.
                self.unsure = self.load().await.is_err();
                return;
            }
        };
        self.gate = Some(gate);
        let Some(snapshot) = snapshot else { return };
        let size = snapshot.len();
        let (id, covered) = (self.id, self.stored.seqs.clone());
        match self.relay.db.call(move |c| storage::compact(c, &id, &snapshot, &covered)).await {
            Ok(Some(seq)) => {
                self.stored = Stored { snapshot_bytes: size, incremental_bytes: 0, seqs: vec![seq] };
            }
            // Another relay compacted some of these chunks first. Its snapshot may hold changes
            // this copy lacks: merge every stored chunk, as when its announcement arrives, with
            // the peers kept (a reload would start a copy that knows none of them).
            Ok(None) => self.relay.send_if_loaded(&self.id, DocCmd::Refresh),
            Err(e) => tracing::warn!(doc = %id, "compaction failed (data is safe, retried later): {e}"),
        }
    }
}
