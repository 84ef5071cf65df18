//! A connection's send queue, bounded by the bytes it holds, and what document tasks put in it.

use super::*;

/// What a document task tells a connection task to send.
#[derive(Debug)]
pub(super) enum Out {
    Sync {
        doc: DocumentId,
        data: Vec<u8>,
    },
    Unavailable {
        doc: DocumentId,
    },
    /// Send an `error`, with its fields when it has them; close the connection when `close` is
    /// set.
    Error {
        message: String,
        close: bool,
        refusal: Option<Box<Refusal>>,
    },
    /// Pass on another peer's ephemeral message.
    Ephemeral(Arc<EphemeralMessage>),
    /// Close the connection with code 1001 ("going away"): the relay is shutting down, and the
    /// client may reconnect at once (to the relay that replaces this one).
    GoingAway,
}

impl Out {
    /// What the message holds in memory while queued, roughly.
    pub(super) fn size(&self) -> usize {
        64 + match self {
            Out::Sync { data, .. } => data.len(),
            Out::Unavailable { .. } | Out::GoingAway => 0,
            Out::Error { message, .. } => message.len(),
            Out::Ephemeral(e) => e.sender_id.len() + e.session_id.len() + e.data.len(),
        }
    }
}

/// The queue of messages for one connection, limited by the bytes it holds rather than by a
/// count of messages, so that a peer that stops reading pins at most its budget. Empty, it
/// holds no memory but its [`Mailbox`].
#[derive(Clone)]
pub(super) struct Outbox {
    pub(super) mailbox: Arc<Mailbox<Out>>,
    pub(super) budget: usize,
}

impl Outbox {
    /// Queues a message unless that would take the queue over its budget. A message for an
    /// empty queue always goes, so that a large snapshot can still be sent.
    pub(super) fn try_send(&self, out: Out) -> bool {
        let size = out.size();
        let queued = self.mailbox.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + size > self.budget {
            return false;
        }
        self.mailbox.queued.fetch_add(size, Ordering::Relaxed);
        self.mailbox.push(out)
    }

    /// Queues a small message (an error) whatever the budget.
    pub(super) fn force(&self, out: Out) {
        self.mailbox.queued.fetch_add(out.size(), Ordering::Relaxed);
        let _ = self.mailbox.push(out);
    }

    /// Closes the connection with `reason` before anything else queued is sent (revocation,
    /// rotation); false when it has already ended.
    pub(super) fn kick(&self, reason: &str) -> bool {
        let out = Out::Error { message: reason.to_owned(), close: true, refusal: None };
        self.mailbox.queued.fetch_add(out.size(), Ordering::Relaxed);
        self.mailbox.push_front(out)
    }

    /// Closes the connection with code 1001 before anything else queued is sent (shutdown);
    /// false when it has already ended.
    pub(super) fn go_away(&self) -> bool {
        self.mailbox.queued.fetch_add(Out::GoingAway.size(), Ordering::Relaxed);
        self.mailbox.push_front(Out::GoingAway)
    }

    /// The next message to send; `None` once the connection has ended.
    pub(super) async fn recv(&self) -> Option<Out> {
        self.mailbox.recv().await
    }

    /// A message left the queue.
    pub(super) fn sent(&self, size: usize) {
        self.mailbox.queued.fetch_sub(size, Ordering::Relaxed);
    }
}
