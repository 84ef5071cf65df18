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
/// holds no memory but its [`Mailbox`]. A handle is one pointer: the connection, the relay's
/// list of connections and every document the connection syncs each hold one.
#[derive(Clone)]
pub(super) struct Outbox(Arc<Queue>);

pub(super) struct Queue {
    mailbox: Mailbox<Out>,
    budget: usize,
}

impl Outbox {
    /// An empty queue that may hold `budget` bytes.
    pub(super) fn new(budget: usize) -> Outbox {
        Outbox(Arc::new(Queue { mailbox: Mailbox::default(), budget }))
    }

    /// The queue itself.
    pub(super) fn mailbox(&self) -> &Mailbox<Out> {
        &self.0.mailbox
    }

    /// Queues a message unless that would take the queue over its budget. A message for an
    /// empty queue always goes, so that a large snapshot can still be sent.
    pub(super) fn try_send(&self, out: Out) -> bool {
        let size = out.size();
        let queued = self.0.mailbox.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + size > self.0.budget {
            return false;
        }
        self.queue(out, false)
    }

    /// Queues a small message (an error) whatever the budget.
    pub(super) fn force(&self, out: Out) {
        let _ = self.queue(out, false);
    }

    /// Closes the connection with `reason` before anything else queued is sent (revocation,
    /// rotation); false when it has already ended.
    pub(super) fn kick(&self, reason: &str) -> bool {
        self.queue(Out::Error { message: reason.to_owned(), close: true, refusal: None }, true)
    }

    /// Closes the connection with code 1001 before anything else queued is sent (shutdown);
    /// false when it has already ended.
    pub(super) fn go_away(&self) -> bool {
        self.queue(Out::GoingAway, true)
    }

    /// Counts `out` in the queue's weight and queues it, in front or at the back; false when
    /// the connection has ended.
    fn queue(&self, out: Out, front: bool) -> bool {
        let mailbox = &self.0.mailbox;
        mailbox.queued.fetch_add(out.size(), Ordering::Relaxed);
        if front { mailbox.push_front(out) } else { mailbox.push(out) }
    }

    /// The next message to send, or the connection's task is woken when one comes; `None` once
    /// the connection has ended.
    pub(super) fn poll_recv(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Out>> {
        self.0.mailbox.poll_recv(cx)
    }

    /// A message left the queue.
    pub(super) fn sent(&self, size: usize) {
        self.0.mailbox.queued.fetch_sub(size, Ordering::Relaxed);
    }
}
