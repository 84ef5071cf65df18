//! Sans-IO implementation of the automerge-repo v1 sync protocol, shared by the Contact Point
//! relay, the web client (through `client-wasm`) and the native test clients.
//!
//! Nothing here performs I/O, reads a clock or draws randomness: callers pass frames, ids and
//! access decisions in and act on the returned effects. That is what lets one implementation
//! serve a tokio relay, a browser and a deterministic test simulation alike.
//!
//! The layers:
//! - [`wire`]: the CBOR messages (`join`, `peer`, `request`, `sync`, …).
//! - [`doc_id`]: document ids and `automerge:` URLs.
//! - [`doc_sync`]: one document synchronised with many peers, each with an [`Access`] level.
//! - [`connection`]: one connection's handshake, identity checks and routing.
//! - [`client`]: a client's session with one relay over many documents.
//! - [`refusal`]: what a relay's `error` says as data (why, which document, which rules).
//!
//! A complete exchange between a client and a relay-side engine, with frames passed by hand:
//!
//! ```
//! use automerge::{Automerge, ReadDoc, ROOT, transaction::Transactable};
//! use contactpoint_protocol::{Access, ClientEvent, ClientSession, Connection, DocSync, DocumentId, Event, PeerMetadata};
//!
//! let id = DocumentId::from_random_bytes([9; 16]);
//! // The relay side: a connection machine and the document's sync engine.
//! let mut relay_conn = Connection::relay("relay".into(), PeerMetadata::default());
//! let mut relay_doc = DocSync::<u32>::new(Automerge::new());
//! relay_doc.change(|d| { let mut tx = d.transaction(); tx.put(ROOT, "hello", "world").unwrap(); tx.commit(); });
//!
//! // The client side.
//! let mut client = ClientSession::new("phone-1".into(), PeerMetadata::default());
//! client.open_doc(id, None, None).unwrap();
//! let mut to_relay: Vec<Vec<u8>> = client.connect().into_iter()
//!     .filter_map(|e| if let ClientEvent::Send(f) = e { Some(f) } else { None }).collect();
//! for _round in 0..10 {
//!     let mut to_client = Vec::new();
//!     for frame in to_relay.drain(..) {
//!         for event in relay_conn.receive(&frame) {
//!             match event {
//!                 Event::Send(f) => to_client.push(f),
//!                 Event::Doc { document_id, data, .. } => {
//!                     // The relay decides access from the authenticated identity; here: read only.
//!                     if !relay_doc.has_peer(&1) { relay_doc.add_peer(1, Access::Read, None); }
//!                     let received = relay_doc.receive(&1, &data).unwrap();
//!                     for (_, m) in received.outgoing { to_client.push(relay_conn.sync_frame(document_id, m, false)); }
//!                 }
//!                 _ => {}
//!             }
//!         }
//!     }
//!     for frame in to_client {
//!         for event in client.receive(&frame) {
//!             if let ClientEvent::Send(f) = event { to_relay.push(f); }
//!         }
//!     }
//! }
//! let (value, _) = client.doc(&id).unwrap().get(ROOT, "hello").unwrap().unwrap();
//! assert_eq!(value.as_str(), Some("world"));
//! ```

pub mod bounds;
pub mod client;
pub mod connection;
pub mod doc_id;
pub mod doc_sync;
pub mod refusal;
pub mod wire;

pub use bounds::Bounds;
pub use client::{ClientEvent, ClientSession, DocStatus};
pub use connection::{Connection, Event, Side, Us};
pub use doc_id::DocumentId;
pub use doc_sync::{Access, DocSync, Received, SyncError, Validator};
pub use refusal::{Reason, Refusal, RefusedIssue};
pub use wire::{DecodeError, DocMessage, Message, PeerId, PeerMetadata};

pub use automerge;
