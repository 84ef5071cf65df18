//! A connection's queue of messages to send, filled by document tasks and emptied by the
//! connection's task, that costs a few dozen bytes while it is empty.
//!
//! A channel preallocates room for a block of messages when it is made and keeps its largest
//! block; a relay holds one queue per connected device, nearly always empty. Here the queue
//! allocates only while it holds something and gives its memory back once emptied. The one
//! receiver's waker is kept beside the queue, so that waiting takes no room in the receiver's
//! task either (a `Notify`'s waiter would be there, a few dozen bytes in every connection).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Waker};

/// A queue with many senders and one receiver.
pub struct Mailbox<T> {
    state: Mutex<State<T>>,
    /// What the queued items weigh, as the senders count it (bytes, for the outbox budget).
    pub queued: AtomicUsize,
}

struct State<T> {
    queue: VecDeque<T>,
    closed: bool,
    /// The receiver, when it waits.
    waiting: Option<Waker>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox {
            state: Mutex::new(State { queue: VecDeque::new(), closed: false, waiting: None }),
            queued: AtomicUsize::new(0),
        }
    }
}

impl<T> Mailbox<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` last; false when the receiver has closed the mailbox.
    pub fn push(&self, item: T) -> bool {
        self.put(item, false)
    }

    /// Queues `item` ahead of everything queued; false when the mailbox is closed.
    pub fn push_front(&self, item: T) -> bool {
        self.put(item, true)
    }

    fn put(&self, item: T, front: bool) -> bool {
        let waiting = {
            let mut s = self.lock();
            if s.closed {
                return false;
            }
            if front {
                s.queue.push_front(item);
            } else {
                s.queue.push_back(item);
            }
            s.waiting.take()
        };
        // Woken outside the lock; a receiver that was not waiting finds the item when it looks.
        if let Some(w) = waiting {
            w.wake();
        }
        true
    }

    /// Takes the first item, or registers the receiver to be woken when one comes; `None`
    /// once closed. An item is taken only by a call that returns it.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.lock();
        if let Some(item) = s.queue.pop_front() {
            if s.queue.is_empty() {
                // Idle again: give the queue's memory back.
                s.queue = VecDeque::new();
            }
            return Poll::Ready(Some(item));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        if !s.waiting.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            s.waiting = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Takes the first item, waiting for one; `None` once closed. Cancel-safe: an item is taken
    /// only by a call that returns it.
    pub async fn recv(&self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// How many items are queued.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops what is queued and refuses what comes later: the connection has ended.
    pub fn close(&self) {
        let (dropped, waiting) = {
            let mut s = self.lock();
            s.closed = true;
            (std::mem::take(&mut s.queue), s.waiting.take())
        };
        drop(dropped);
        if let Some(w) = waiting {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn items_arrive_in_order_with_pushed_fronts_first() {
        let m = Mailbox::default();
        assert!(m.push(1));
        assert!(m.push(2));
        assert!(m.push_front(0));
        for want in 0..3 {
            assert_eq!(m.recv().await, Some(want));
        }
        assert_eq!(m.lock().queue.capacity(), 0, "an emptied queue holds no memory");
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_and_a_closed_mailbox_refuses() {
        let m = Arc::new(Mailbox::default());
        let waiting = tokio::spawn({
            let m = m.clone();
            async move { m.recv().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(m.push("hello"));
        assert_eq!(waiting.await.unwrap(), Some("hello"));
        assert!(m.push("dropped"));
        m.close();
        assert!(!m.push("refused"));
        assert_eq!(m.recv().await, None);
    }

    #[tokio::test]
    async fn a_cancelled_wait_loses_nothing() {
        let m = Mailbox::default();
        let early = tokio::time::timeout(Duration::from_millis(10), m.recv()).await;
        assert!(early.is_err());
        assert!(m.push(7));
        assert_eq!(m.recv().await, Some(7));
    }
}
