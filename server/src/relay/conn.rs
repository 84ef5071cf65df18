//! The connection task: owns the socket and the protocol machine and hands document messages to document tasks.

use super::*;

/// A token bucket limiting how fast one connection may send. Its rate and burst are the relay's
/// limits, passed in rather than copied into every connection.
struct RateLimit {
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn full(burst: f64) -> RateLimit {
        RateLimit { tokens: burst, last: Instant::now() }
    }

    fn allow(&mut self, per_sec: f64, burst: f64) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * per_sec).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Completes when `deadline` passes; never without one.
async fn until(deadline: Option<&mut std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match deadline {
        Some(d) => d.await,
        None => std::future::pending().await,
    }
}

/// A connection's place in the relay: its entry among the connections, its held requests and
/// the documents it has sent to. Dropping it takes all of them away, however the connection's
/// task ends: closed, cancelled (the runtime shutting down, the task aborted) or unwinding from
/// a panic, so that no entry, count or document peer outlives the connection.
struct Registered {
    relay: Arc<Relay>,
    conn_id: u64,
    /// The documents whose tasks must hear when the connection closes. A device syncs a handful
    /// of documents: a short list costs less than a set.
    touched: Vec<DocumentId>,
}

impl Registered {
    fn new(relay: &Arc<Relay>, conn_id: u64, entry: ConnEntry) -> Registered {
        relay.lock_conns().insert(conn_id, entry);
        relay.stats.connections.fetch_add(1, Ordering::Relaxed);
        Registered { relay: relay.clone(), conn_id, touched: Vec::new() }
    }

    /// Notes that the connection has sent to `doc`.
    fn touch(&mut self, doc: DocumentId) {
        if !self.touched.contains(&doc) {
            // Room for one more, not four: the list lives as long as the device stays connected.
            self.touched.reserve_exact(1);
            self.touched.push(doc);
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let relay = &self.relay;
        relay.drop_held(self.conn_id);
        {
            // Only loaded documents hold state for this connection; do not load others to detach.
            let docs = relay.lock_docs();
            for doc in &self.touched {
                if let Some(h) = docs.get(doc) {
                    let _ = h.tx.send(DocCmd::Detach { conn: self.conn_id });
                }
            }
        }
        // The queue closes as after a normal close: whoever sends to it from now on is told so.
        let entry = relay.lock_conns().remove(&self.conn_id);
        if let Some(entry) = entry {
            entry.kick.mailbox().close();
        }
        relay.stats.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one authenticated WebSocket until it closes.
///
/// The task lives as long as the device stays connected, idle nearly all of that time, and its
/// future is allocated whole for each connection: what it holds across a wait is kept small.
/// The arguments are used where they are (as an `async fn` it would also keep a moved copy of
/// each: 208 bytes more per connection, unoptimised), the one timer and the rare waits (a storage
/// lookup, a write) are boxed, and the queue keeps the waker itself.
#[allow(clippy::manual_async_fn)]
pub fn serve_socket<T>(
    relay: Arc<Relay>,
    mut socket: WebSocket<T>,
    identity: Arc<Identity>,
) -> impl std::future::Future<Output = ()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    async move {
        let conn_id = relay.next_id.fetch_add(1, Ordering::Relaxed);
        let outbox = Outbox::new(relay.limits.outbox_bytes);
        let mut registered = Registered::new(
            &relay,
            conn_id,
            ConnEntry { device_id: identity.device_id, user_id: identity.user_id, kick: outbox.clone() },
        );
        let mut conn = Connection::relay_as(relay.us.clone());
        let mut peer_storage: Option<Arc<str>> = None;
        let mut rate = RateLimit::full(relay.limits.rate_burst);
        let mut ephemeral_rate = RateLimit::full(relay.limits.ephemeral_burst);
        // This connection's held requests, oldest first: when each one's time is up.
        let mut held_until: VecDeque<(Instant, DocumentId)> = VecDeque::new();
        // The one timer, on the heap: the handshake's deadline until the peer has joined, then the
        // oldest held request's while there is one. An open, idle connection keeps none.
        let mut timer = Some(Box::pin(tokio::time::sleep(relay.limits.handshake_timeout)));
        // The close frame's code, when it is not the plain close.
        let mut close_code: Option<(u16, String)> = None;

        let close_reason: String = 'conn: loop {
            let mut frames: Vec<Vec<u8>> = Vec::new();
            let mut close: Option<String> = None;
            let opening = !conn.is_open();
            // What the relay has to say (a kick for revocation or rotation first of all) wins over a
            // frame that arrived at the same time.
            tokio::select! {
                biased;
                _ = until(timer.as_mut()) => {
                    if opening {
                        frames.push(Connection::refusal_frame("no join message within the handshake timeout", Refusal::new(Reason::JoinTimeout)));
                        close = Some("handshake timeout".into());
                        relay.metrics.handshake_failed("join_timeout");
                    } else {
                        // No writer created these documents in time: now they are unavailable.
                        let now = Instant::now();
                        while let Some(&(until, doc)) = held_until.front() {
                            if until > now {
                                break;
                            }
                            held_until.pop_front();
                            if relay.expire_held(conn_id, &doc) {
                                frames.push(conn.unavailable_frame(doc));
                            }
                        }
                        match (held_until.front(), timer.as_mut()) {
                            (Some(&(next, _)), Some(t)) => t.as_mut().reset(next),
                            _ => timer = None,
                        }
                    }
                }
                out = std::future::poll_fn(|cx| outbox.poll_recv(cx)) => {
                    if let Some(o) = &out {
                        outbox.sent(o.size());
                    }
                    match out {
                        Some(Out::Sync { doc, data }) => frames.push(conn.sync_frame(doc, data, false)),
                        Some(Out::Unavailable { doc }) => frames.push(conn.unavailable_frame(doc)),
                        Some(Out::Ephemeral(m)) => {
                            frames.push(conn.ephemeral_frame(&m.sender_id, &m.session_id, m.count, m.doc, &m.data));
                        }
                        Some(Out::Error { message, close: c, refusal }) => {
                            frames.push(Message::Error { message: message.clone(), refusal }.encode());
                            if c { close = Some(message); }
                        }
                        Some(Out::GoingAway) => {
                            close_code = Some((1001, "the relay is restarting".to_owned()));
                            close = Some("the relay is shutting down".into());
                        }
                        None => close = Some("internal channel closed".into()),
                    }
                },
                msg = socket.next() => match msg {
                    None => break 'conn "socket closed".into(),
                    Some(Err(crate::ws::WsError::TooLong { size, max })) => {
                        // Said in words and with the close code for it (1009), so the peer knows it
                        // was the size, not the network.
                        frames.push(Connection::refusal_frame(&format!("message too large: {size} bytes or more, the limit is {max}"), Refusal::new(Reason::TooLarge)));
                        close_code = Some((1009, "message too large".to_owned()));
                        close = Some("message over the size limit".into());
                    }
                    Some(Err(e)) => break 'conn format!("socket error: {e}"),
                    Some(Ok(WsMessage::Binary(bytes))) => {
                        relay.metrics.received(bytes.len());
                        if !rate.allow(relay.limits.rate_per_sec, relay.limits.rate_burst) {
                            frames.push(Connection::refusal_frame("too many messages; slow down and reconnect", Refusal::new(Reason::TooManyMessages)));
                            close = Some("rate limit exceeded".into());
                        } else {
                            for ev in conn.receive(&bytes) {
                                match ev {
                                    Event::Send(f) => frames.push(f),
                                    Event::Opened { peer_id, metadata } => {
                                        tracing::debug!(conn = conn_id, user = identity.user_id, device = identity.device_id, peer = %peer_id, "peer joined");
                                        peer_storage = metadata.storage_id.filter(|_| !metadata.is_ephemeral).map(Arc::from);
                                    }
                                    Event::Doc { document_id, request, data } => {
                                        // A document that is not loaded and that this message cannot
                                        // create is looked up first, so that requests for unknown
                                        // ids cost a lookup and no task.
                                        if !relay.is_loaded(&document_id) && (request || !identity.may_create()) {
                                            let known = Box::pin(relay.db.call_short(move |c| storage::doc_scope(c, &document_id))).await;
                                            // A members-only document this user may not read is
                                            // answered exactly as an unknown id.
                                            let readable = matches!(&known, Ok(Some((scope, false))) if identity.access(scope) != Access::None);
                                            if !readable {
                                                // A writer may be creating it right now (automerge-repo
                                                // peers ask for a document the moment they hear of it):
                                                // the request waits a little for that. Erased documents
                                                // and ones the user may not read wait too, so that the
                                                // answer's timing tells nothing.
                                                if request && known.is_ok() {
                                                    let peer = PeerRef { conn: conn_id, identity: identity.clone(), storage_id: peer_storage.clone(), out: outbox.clone() };
                                                    if relay.hold_request(document_id, peer, data) {
                                                        registered.touch(document_id);
                                                        let until = Instant::now() + relay.limits.request_hold;
                                                        held_until.push_back((until, document_id));
                                                        if timer.is_none() {
                                                            timer = Some(Box::pin(tokio::time::sleep_until(until)));
                                                        }
                                                        continue;
                                                    }
                                                }
                                                frames.push(conn.unavailable_frame(document_id));
                                                continue;
                                            }
                                        }
                                        registered.touch(document_id);
                                        let peer = PeerRef { conn: conn_id, identity: identity.clone(), storage_id: peer_storage.clone(), out: outbox.clone() };
                                        relay.send_to_doc(document_id, DocCmd::Sync { peer, request, data });
                                    }
                                    Event::Unavailable { .. } => {}
                                    Event::Ephemeral { document_id, session_id, count, data } => {
                                        // Best effort, as in automerge-repo: what is too large, too
                                        // frequent, or about a document that has no task (so no
                                        // peers) is dropped without an answer.
                                        if data.len() <= relay.limits.ephemeral_bytes
                                            && session_id.len() <= MAX_ID_BYTES
                                            && ephemeral_rate.allow(relay.limits.ephemeral_per_sec, relay.limits.ephemeral_burst)
                                        {
                                            let sender_id = conn.peer_id().unwrap_or_default().to_owned();
                                            let m = EphemeralMessage { doc: document_id, from: conn_id, sender_id, session_id, count, data };
                                            relay.send_if_loaded(&document_id, DocCmd::Ephemeral(Arc::new(m)));
                                        }
                                    }
                                    Event::PeerError { message: m, .. } => tracing::info!(conn = conn_id, user = identity.user_id, device = identity.device_id, "peer reported an error: {m}"),
                                    Event::Left => close = Some("peer left".into()),
                                    Event::Close(r) => close = Some(r),
                                }
                            }
                        }
                    }
                    Some(Ok(WsMessage::Text(_))) => {
                        frames.push(Connection::refusal_frame("text frames are not part of the protocol; send binary CBOR", Refusal::new(Reason::TextFrame)));
                        close = Some("text frame".into());
                    }
                    Some(Ok(WsMessage::Close(_))) => break 'conn "peer closed".into(),
                    Some(Ok(_)) => {}
                },
            }
            for f in frames {
                relay.metrics.sent(f.len());
                // Boxed, so that the connection's task keeps no room for a write while it is idle.
                match Box::pin(tokio::time::timeout(relay.limits.write_timeout, socket.send(WsMessage::Binary(f))))
                    .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break 'conn "send failed".into(),
                    Err(_) => break 'conn "send timed out: the peer does not read".into(),
                }
            }
            if let Some(r) = close {
                break 'conn r;
            }
            if opening && conn.is_open() {
                // Joined: the handshake's deadline is over.
                timer = held_until.front().map(|&(t, _)| Box::pin(tokio::time::sleep_until(t)));
            }
        };
        outbox.mailbox().close();
        let _ = Box::pin(tokio::time::timeout(Duration::from_secs(1), socket.send(WsMessage::Close(close_code)))).await;
        tracing::debug!(
            conn = conn_id,
            user = identity.user_id,
            device = identity.device_id,
            "connection closed: {close_reason}"
        );
        drop(registered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(relay: &Relay) -> (usize, usize) {
        (relay.lock_conns().len(), relay.stats.connections.load(Ordering::Relaxed))
    }

    /// A connection's task that is cancelled (aborted, or dropped as the runtime stops) takes its
    /// entry and its count with it and closes its queue, as one that closes does; a panic unwinds
    /// the same way.
    #[tokio::test]
    async fn a_cancelled_connection_leaves_nothing_in_the_relay() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::storage::Db::open(&dir.path().join("r.sqlite")).unwrap();
        let relay = Relay::new(db, crate::Limits::default()).unwrap();
        let identity = Arc::new(crate::auth::Identity {
            user_id: 1,
            device_id: 1,
            user_name: "reader".into(),
            role: crate::auth::Role::Reader,
            areas: vec![],
        });
        let (ours, _peer) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(serve_socket(relay.clone(), crate::ws::WebSocket::new(ours, 1 << 20), identity));
        for _ in 0..1000 {
            if connections(&relay) != (0, 0) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(connections(&relay), (1, 1), "the connection is registered while it runs");
        let queue = relay.lock_conns().values().next().map(|c| c.kick.clone()).unwrap();
        task.abort();
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
        assert_eq!(connections(&relay), (0, 0), "nothing of the cancelled connection is left");
        assert!(!queue.kick("after the end"), "its queue is closed, as after a normal close");
    }
}
