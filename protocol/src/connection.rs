//! The per-connection state machine: handshake, peer identity checks, and the framing of
//! document messages in both directions.
//!
//! It is the same machine on both ends; only the [`Side`] differs. It turns incoming frames into
//! [`Event`]s and builds outgoing frames addressed correctly, so no caller ever assembles a
//! `senderId`/`targetId` pair by hand.

use std::sync::Arc;

use crate::doc_id::DocumentId;
use crate::refusal::Refusal;
use crate::wire::{DecodeError, DocMessage, Message, PROTOCOL_VERSION, PeerId, PeerMetadata};

/// The longest `senderId` or `storageId` a relay accepts in `join`. The JavaScript client's ids
/// are UUIDs or short random strings; 128 bytes leaves room and bounds what a peer can make the
/// relay copy into every document it touches and into stored sync states.
pub const MAX_ID_BYTES: usize = 128;

/// Which end of the connection this machine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Waits for `join`, answers `peer`.
    Relay,
    /// Sends `join`, waits for `peer`.
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Handshaking,
    Open { peer_id: PeerId },
    Closed,
}

/// What happened, for the caller to act on, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Send this frame to the peer.
    Send(Vec<u8>),
    /// The handshake completed.
    Opened {
        /// The peer's id.
        peer_id: PeerId,
        /// What it said about its storage.
        metadata: PeerMetadata,
    },
    /// A sync message for a document; `request` is true when the peer has no copy.
    Doc {
        /// Which document.
        document_id: DocumentId,
        /// The peer has no copy and asks for one.
        request: bool,
        /// The Automerge sync message.
        data: Vec<u8>,
    },
    /// The peer does not have the document.
    Unavailable {
        /// Which document.
        document_id: DocumentId,
    },
    /// Ephemeral data (presence, cursors) the peer itself sent about a document. Only the relay
    /// side reports it, and only with the handshake peer as sender: what a peer passes on from
    /// others is dropped (see [`Connection::receive`]).
    Ephemeral {
        /// Which document it is about.
        document_id: DocumentId,
        /// The sending session, chosen by the peer.
        session_id: String,
        /// The message's number within that session.
        count: u64,
        /// The opaque payload.
        data: Vec<u8>,
    },
    /// The peer reported a fatal error.
    PeerError {
        /// Its words.
        message: String,
        /// The same as data, when the peer gave it.
        refusal: Option<Box<Refusal>>,
    },
    /// The peer is leaving.
    Left,
    /// Close the connection; the reason has been sent to the peer already (see `Send` before).
    Close(String),
}

/// Who we are on a connection: our peer id and what we advertise in the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Us {
    /// Our peer id.
    pub id: PeerId,
    /// Our metadata.
    pub metadata: PeerMetadata,
}

/// One end of one connection.
pub struct Connection {
    side: Side,
    /// Shared by all of a relay's connections: they all greet with the same id and metadata.
    us: Arc<Us>,
    phase: Phase,
}

impl Connection {
    /// A relay-side connection waiting for the client's `join`.
    pub fn relay(our_id: PeerId, our_metadata: PeerMetadata) -> Self {
        Self::relay_as(Arc::new(Us { id: our_id, metadata: our_metadata }))
    }

    /// A relay-side connection waiting for the client's `join`, as `us`, which a relay shares
    /// between all its connections rather than copying it into each.
    pub fn relay_as(us: Arc<Us>) -> Self {
        Connection { side: Side::Relay, us, phase: Phase::Handshaking }
    }

    /// A client-side connection, and the `join` frame to send first.
    pub fn client(our_id: PeerId, our_metadata: PeerMetadata) -> (Self, Vec<u8>) {
        let join = Message::Join {
            sender_id: our_id.clone(),
            supported_protocol_versions: vec![PROTOCOL_VERSION.to_owned()],
            metadata: Some(our_metadata.clone()),
        }
        .encode();
        let us = Arc::new(Us { id: our_id, metadata: our_metadata });
        (Connection { side: Side::Client, us, phase: Phase::Handshaking }, join)
    }

    /// The peer's id once the handshake is done.
    pub fn peer_id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Open { peer_id } => Some(peer_id),
            _ => None,
        }
    }

    /// Whether the handshake has completed and the connection is not closed.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// Whether the connection was closed by a protocol violation or the peer.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Our own peer id.
    pub fn our_id(&self) -> &str {
        &self.us.id
    }

    /// Ends the connection with an `error` the peer can read.
    pub fn fail(&mut self, reason: impl Into<String>) -> Vec<Event> {
        let reason = reason.into();
        self.phase = Phase::Closed;
        vec![Event::Send(Message::Error { message: reason.clone(), refusal: None }.encode()), Event::Close(reason)]
    }

    /// Handles one incoming frame.
    pub fn receive(&mut self, frame: &[u8]) -> Vec<Event> {
        if self.phase == Phase::Closed {
            return Vec::new();
        }
        let message = match Message::decode(frame) {
            Ok(m) => m,
            Err(e @ DecodeError::UnknownType(_)) => return self.fail(e.to_string()),
            Err(e) => return self.fail(format!("could not decode message: {e}")),
        };
        let message = match message {
            Message::Error { message, refusal } => {
                self.phase = Phase::Closed;
                let close = Event::Close(format!("peer error: {message}"));
                return vec![Event::PeerError { message, refusal }, close];
            }
            other => other,
        };
        match (&self.phase, self.side) {
            (Phase::Handshaking, Side::Relay) => self.on_join(message),
            (Phase::Handshaking, Side::Client) => self.on_peer(message),
            (Phase::Open { peer_id }, _) => {
                let peer_id = peer_id.clone();
                self.on_open(&peer_id, message)
            }
            (Phase::Closed, _) => Vec::new(),
        }
    }

    fn on_join(&mut self, message: Message) -> Vec<Event> {
        let Message::Join { sender_id, supported_protocol_versions, metadata } = message else {
            return self.fail(format!("expected join, got {}", message.kind()));
        };
        if sender_id.is_empty() {
            return self.fail("join without a senderId");
        }
        // Both are copied into every document's peer list and the storage id into stored sync
        // states, so neither may be large.
        if sender_id.len() > MAX_ID_BYTES {
            return self.fail(format!("senderId is longer than {MAX_ID_BYTES} bytes"));
        }
        if metadata.as_ref().and_then(|m| m.storage_id.as_ref()).is_some_and(|s| s.len() > MAX_ID_BYTES) {
            return self.fail(format!("storageId is longer than {MAX_ID_BYTES} bytes"));
        }
        if !supported_protocol_versions.iter().any(|v| v == PROTOCOL_VERSION) {
            let offered: Vec<String> =
                supported_protocol_versions.iter().map(|v| format!("\"{}\"", v.escape_debug())).collect();
            return self
                .fail(format!("unsupported protocol version [{}]; this relay speaks \"1\"", offered.join(", ")));
        }
        self.phase = Phase::Open { peer_id: sender_id.clone() };
        let answer = Message::Peer {
            sender_id: self.us.id.clone(),
            target_id: sender_id.clone(),
            selected_protocol_version: PROTOCOL_VERSION.to_owned(),
            metadata: Some(self.us.metadata.clone()),
        };
        vec![Event::Send(answer.encode()), Event::Opened { peer_id: sender_id, metadata: metadata.unwrap_or_default() }]
    }

    fn on_peer(&mut self, message: Message) -> Vec<Event> {
        let Message::Peer { sender_id, target_id, selected_protocol_version, metadata } = message else {
            return self.fail(format!("expected peer, got {}", message.kind()));
        };
        if target_id != self.us.id {
            return self.fail("peer message addressed to someone else");
        }
        if selected_protocol_version != PROTOCOL_VERSION {
            return self.fail(format!("unsupported protocol version \"{}\"", selected_protocol_version.escape_debug()));
        }
        self.phase = Phase::Open { peer_id: sender_id.clone() };
        vec![Event::Opened { peer_id: sender_id, metadata: metadata.unwrap_or_default() }]
    }

    fn on_open(&mut self, peer_id: &str, message: Message) -> Vec<Event> {
        if matches!(message, Message::Join { .. } | Message::Peer { .. }) {
            return self.fail(format!("unexpected {} after the handshake", message.kind()));
        }
        if let Message::Ephemeral { sender_id, target_id, count, session_id, document_id, data } = message {
            if target_id != self.us.id {
                return self.fail(format!("targetId \"{}\" is not this peer", target_id.escape_debug()));
            }
            // automerge-repo passes every ephemeral message on unchanged, the original sender
            // included, to its other peers, so a client echoes what the relay forwarded to it
            // and a relay forwards other peers' messages to clients. Neither is a violation, and
            // neither is taken as the peer's own: a relay forwards only what the handshake peer
            // itself sent, so no one can speak under another peer's id.
            return if self.side == Side::Relay && sender_id == peer_id {
                vec![Event::Ephemeral { document_id, session_id, count, data }]
            } else {
                Vec::new()
            };
        }
        if let Some(sender) = message.sender_id()
            && sender != peer_id
        {
            return self.fail(format!("senderId \"{}\" does not match the handshake peer", sender.escape_debug()));
        }
        if let Some(target) = message.target_id()
            && target != self.us.id
        {
            return self.fail(format!("targetId \"{}\" is not this peer", target.escape_debug()));
        }
        match message {
            Message::Request(DocMessage { document_id, data, .. }) => {
                vec![Event::Doc { document_id, request: true, data }]
            }
            Message::Sync(DocMessage { document_id, data, .. }) => {
                vec![Event::Doc { document_id, request: false, data }]
            }
            Message::DocUnavailable { document_id, .. } => vec![Event::Unavailable { document_id }],
            Message::Leave { .. } => {
                self.phase = Phase::Closed;
                vec![Event::Left]
            }
            // Optional notifications are not part of this product's use.
            Message::Ignored { .. } => Vec::new(),
            Message::Ephemeral { .. } | Message::Join { .. } | Message::Peer { .. } | Message::Error { .. } => {
                Vec::new()
            }
        }
    }

    /// A `sync` frame (or `request`, when we have no copy) for the peer.
    pub fn sync_frame(&self, document_id: DocumentId, data: Vec<u8>, request: bool) -> Vec<u8> {
        let m = DocMessage { sender_id: self.us.id.clone(), target_id: self.peer().to_owned(), document_id, data };
        if request { Message::Request(m) } else { Message::Sync(m) }.encode()
    }

    /// A `doc-unavailable` frame for the peer.
    pub fn unavailable_frame(&self, document_id: DocumentId) -> Vec<u8> {
        Message::DocUnavailable { sender_id: self.us.id.clone(), target_id: self.peer().to_owned(), document_id }
            .encode()
    }

    /// An `ephemeral` frame for the peer, passing on what `sender_id` sent (a relay forwards
    /// other peers' ephemeral messages with their sender, session and count unchanged, as
    /// automerge-repo peers do, so that receivers can tell senders apart and drop repeats).
    pub fn ephemeral_frame(
        &self,
        sender_id: &str,
        session_id: &str,
        count: u64,
        document_id: DocumentId,
        data: &[u8],
    ) -> Vec<u8> {
        Message::Ephemeral {
            sender_id: sender_id.to_owned(),
            target_id: self.peer().to_owned(),
            count,
            session_id: session_id.to_owned(),
            document_id,
            data: data.to_vec(),
        }
        .encode()
    }

    /// An `error` frame.
    pub fn error_frame(message: &str) -> Vec<u8> {
        Message::Error { message: message.to_owned(), refusal: None }.encode()
    }

    /// An `error` frame that says why as data too.
    pub fn refusal_frame(message: &str, refusal: Refusal) -> Vec<u8> {
        Message::Error { message: message.to_owned(), refusal: Some(Box::new(refusal)) }.encode()
    }

    fn peer(&self) -> &str {
        self.peer_id().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_pair() -> (Connection, Connection) {
        let mut relay =
            Connection::relay("relay".into(), PeerMetadata { storage_id: Some("s".into()), is_ephemeral: false });
        let (mut client, join) = Connection::client("c1".into(), PeerMetadata::default());
        let events = relay.receive(&join);
        let Event::Send(peer) = &events[0] else { panic!("{events:?}") };
        let opened = client.receive(peer);
        assert!(
            matches!(&opened[0], Event::Opened { peer_id, metadata } if peer_id == "relay" && metadata.storage_id.as_deref() == Some("s"))
        );
        (relay, client)
    }

    #[test]
    fn handshake_then_sync() {
        let (mut relay, client) = open_pair();
        let id = DocumentId::from_random_bytes([3; 16]);
        let ev = relay.receive(&client.sync_frame(id, vec![1], true));
        assert_eq!(ev, vec![Event::Doc { document_id: id, request: true, data: vec![1] }]);
    }

    #[test]
    fn wrong_version_is_refused() {
        let mut relay = Connection::relay("relay".into(), PeerMetadata::default());
        let join =
            Message::Join { sender_id: "c".into(), supported_protocol_versions: vec!["2".into()], metadata: None };
        let ev = relay.receive(&join.encode());
        assert!(matches!(&ev[1], Event::Close(r) if r.contains("unsupported protocol version")));
        assert!(relay.is_closed());
    }

    #[test]
    fn impersonation_and_misaddressing_close_the_connection() {
        let (mut relay, _client) = open_pair();
        let id = DocumentId::from_random_bytes([3; 16]);
        let forged = Message::Sync(DocMessage {
            sender_id: "someone-else".into(),
            target_id: "relay".into(),
            document_id: id,
            data: vec![],
        });
        let ev = relay.receive(&forged.encode());
        assert!(matches!(&ev[1], Event::Close(r) if r.contains("senderId")));
        let (mut relay, _client) = open_pair();
        let misaddressed =
            Message::Sync(DocMessage { sender_id: "c1".into(), target_id: "x".into(), document_id: id, data: vec![] });
        let ev = relay.receive(&misaddressed.encode());
        assert!(matches!(&ev[1], Event::Close(r) if r.contains("targetId")));
    }

    fn ephemeral(sender: &str, target: &str, count: u64) -> Vec<u8> {
        Message::Ephemeral {
            sender_id: sender.into(),
            target_id: target.into(),
            count,
            session_id: "session-1".into(),
            document_id: DocumentId::from_random_bytes([5; 16]),
            data: vec![0xa0],
        }
        .encode()
    }

    #[test]
    fn a_peers_own_ephemeral_message_reaches_the_relay_and_echoes_are_dropped() {
        let (mut relay, _client) = open_pair();
        let ev = relay.receive(&ephemeral("c1", "relay", 7));
        assert_eq!(
            ev,
            vec![Event::Ephemeral {
                document_id: DocumentId::from_random_bytes([5; 16]),
                session_id: "session-1".into(),
                count: 7,
                data: vec![0xa0],
            }]
        );
        // A client passing on another peer's message (as automerge-repo does) is not an
        // impersonation to close for, and the message is not taken as its own.
        assert_eq!(relay.receive(&ephemeral("someone-else", "relay", 8)), vec![]);
        assert!(relay.is_open());
        // A misaddressed one still closes the connection.
        let ev = relay.receive(&ephemeral("c1", "x", 9));
        assert!(matches!(&ev[1], Event::Close(r) if r.contains("targetId")));
    }

    #[test]
    fn a_client_accepts_forwarded_ephemeral_messages_and_ignores_them() {
        let (relay, mut client) = open_pair();
        let doc = DocumentId::from_random_bytes([5; 16]);
        let frame = relay.ephemeral_frame("another-peer", "session-1", 3, doc, &[0xa0]);
        assert_eq!(
            Message::decode(&frame).ok(),
            Some(Message::Ephemeral {
                sender_id: "another-peer".into(),
                target_id: "c1".into(),
                count: 3,
                session_id: "session-1".into(),
                document_id: doc,
                data: vec![0xa0],
            })
        );
        assert_eq!(client.receive(&frame), vec![]);
        assert!(client.is_open(), "a forwarded message from another sender does not close the connection");
    }

    #[test]
    fn messages_before_join_and_garbage_are_refused() {
        let mut relay = Connection::relay("relay".into(), PeerMetadata::default());
        let ev = relay.receive(&Message::Leave { sender_id: "c".into() }.encode());
        assert!(matches!(&ev[1], Event::Close(r) if r.contains("expected join")));
        let mut relay = Connection::relay("relay".into(), PeerMetadata::default());
        let ev = relay.receive(b"\xff\x00garbage");
        assert!(matches!(&ev[1], Event::Close(r) if r.contains("could not decode")));
        assert!(relay.receive(b"anything").is_empty(), "closed connections ignore further frames");
    }
}
