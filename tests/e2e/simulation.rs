//! A deterministic in-memory network: clients and a relay built from the shared protocol core and
//! the relay's own write gate, with frames passed through queues instead of sockets. No clock, no
//! sleeps, no threads, no storage: what the gate asks to append is kept in memory.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use contactpoint_directory::store::{read_contact_point, read_directory, write_contact_point};
use contactpoint_directory::{Area, Directory};
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ROOT, ReadDoc};
use contactpoint_protocol::{ClientEvent, ClientSession, Connection, DocSync, DocumentId, Event, PeerMetadata};
use contactpoint_server::auth::{Identity, Role};
use contactpoint_server::gate::{self, ContactIds, Effect, Gate, NationalCopy, SyncInput};
use contactpoint_server::storage::Scope;

/// The relay side of the simulation: one protocol connection per peer and one gate per document,
/// deciding access from the peer's identity exactly as the relay does.
struct SimRelay {
    conns: BTreeMap<usize, Connection>,
    gates: BTreeMap<DocumentId, Gate>,
    identities: BTreeMap<usize, Arc<Identity>>,
    contact_ids: ContactIds,
    national: Option<NationalCopy>,
    /// Chunks the gate appended, per document: what the relay would have stored.
    stored: BTreeMap<DocumentId, Vec<Vec<u8>>>,
    /// Peers told their writes are not accepted (readers, kept connected).
    refused: Vec<usize>,
    /// `error`s that closed a peer's connection, with their message.
    closed: Vec<(usize, String)>,
}

struct Net {
    relay: SimRelay,
    clients: Vec<ClientSession>,
    online: Vec<bool>,
    to_relay: VecDeque<(usize, Vec<u8>)>,
    to_client: VecDeque<(usize, Vec<u8>)>,
    /// What each client was told was refused.
    refusals: BTreeMap<usize, Vec<String>>,
}

fn identity(i: usize, role: Role, areas: &[&str]) -> Arc<Identity> {
    Arc::new(Identity {
        user_id: i as i64 + 1,
        device_id: i as i64 + 1,
        user_name: format!("user {i}"),
        role,
        areas: areas.iter().map(|a| a.to_string()).collect(),
    })
}

impl Net {
    /// A network of peers with the given identities, and the relay's documents with their scopes.
    fn new(
        peers: Vec<Arc<Identity>>,
        docs: Vec<(DocumentId, Scope, Automerge)>,
        national: Option<NationalCopy>,
    ) -> Net {
        let contact_ids = ContactIds::default();
        let mut gates = BTreeMap::new();
        let mut stored = BTreeMap::new();
        for (id, scope, doc) in docs {
            contact_ids.record(id, gate::contact_ids(&doc));
            stored.insert(id, vec![doc.save()]);
            gates.insert(id, Gate::open(id, scope, DocSync::new(doc)));
        }
        let ids: Vec<DocumentId> = gates.keys().copied().collect();
        let clients: Vec<ClientSession> = (0..peers.len())
            .map(|i| {
                let mut c = ClientSession::new(
                    format!("peer-{i}"),
                    PeerMetadata { storage_id: Some(format!("s{i}")), is_ephemeral: false },
                );
                for id in &ids {
                    c.open_doc(*id, None, None).expect("open");
                }
                c
            })
            .collect();
        Net {
            relay: SimRelay {
                conns: BTreeMap::new(),
                gates,
                identities: peers.into_iter().enumerate().collect(),
                contact_ids,
                national,
                stored,
                refused: Vec::new(),
                closed: Vec::new(),
            },
            online: vec![false; clients.len()],
            clients,
            to_relay: VecDeque::new(),
            to_client: VecDeque::new(),
            refusals: BTreeMap::new(),
        }
    }

    fn client_events(&mut self, i: usize, events: Vec<ClientEvent>) {
        for e in events {
            match e {
                ClientEvent::Send(f) if self.online[i] => self.to_relay.push_back((i, f)),
                ClientEvent::Refused { message, .. } => self.refusals.entry(i).or_default().push(message),
                _ => {}
            }
        }
    }

    fn connect(&mut self, i: usize) {
        self.online[i] = true;
        self.relay.conns.insert(
            i,
            Connection::relay(
                "relay".into(),
                PeerMetadata { storage_id: Some("relay-storage".into()), is_ephemeral: false },
            ),
        );
        let ev = self.clients[i].connect();
        self.client_events(i, ev);
    }

    fn disconnect(&mut self, i: usize) {
        self.online[i] = false;
        self.clients[i].disconnected();
        self.relay.conns.remove(&i);
        for g in self.relay.gates.values_mut() {
            g.detach(i as u64);
        }
        self.to_relay.retain(|(p, _)| *p != i);
        self.to_client.retain(|(p, _)| *p != i);
    }

    fn change(&mut self, i: usize, doc: DocumentId, f: impl FnOnce(&mut Automerge)) {
        let ev = self.clients[i].change(&doc, f);
        self.client_events(i, ev);
    }

    fn edit(&mut self, i: usize, doc: DocumentId, key: &str, value: &str) {
        self.change(i, doc, |d| {
            let mut tx = d.transaction();
            tx.put(ROOT, key, value).expect("put");
            tx.commit();
        });
    }

    /// Delivers queued frames until nothing is left to say. Returns the number of frames moved.
    fn run_until_quiet(&mut self) -> usize {
        let mut moved = 0;
        while let Some((from, frame)) = self.to_relay.pop_front() {
            moved += 1;
            let closing = self.relay_receive(from, &frame);
            while let Some((to, frame)) = self.to_client.pop_front() {
                moved += 1;
                let ev = self.clients[to].receive(&frame);
                self.client_events(to, ev);
            }
            for i in closing {
                self.disconnect(i);
            }
            assert!(moved < 100_000, "the network never went quiet");
        }
        moved
    }

    /// Runs one frame through the peer's connection and the documents' gates; returns the peers
    /// whose connections the relay closes.
    fn relay_receive(&mut self, from: usize, frame: &[u8]) -> Vec<usize> {
        let mut closing = Vec::new();
        let Some(conn) = self.relay.conns.get_mut(&from) else { return closing };
        for ev in conn.receive(frame) {
            match ev {
                Event::Send(f) => self.to_client.push_back((from, f)),
                Event::Doc { document_id, request, data } => {
                    let conn = &self.relay.conns[&from];
                    let Some(gate) = self.relay.gates.get_mut(&document_id) else {
                        self.to_client.push_back((from, conn.unavailable_frame(document_id)));
                        continue;
                    };
                    let peer = gate::Peer { conn: from as u64, identity: self.relay.identities[&from].clone() };
                    let input = SyncInput {
                        stored_state: None,
                        national: self.relay.national.as_ref(),
                        may_create: false,
                        contact_ids: &self.relay.contact_ids,
                        now_secs: 0,
                    };
                    for effect in gate.on_sync(&peer, request, &data, &input) {
                        match effect {
                            Effect::Append(a) => self.relay.stored.entry(document_id).or_default().push(a.bytes),
                            Effect::Audit(_) => {}
                            Effect::Send { conn: to, data } => {
                                if let Some(c) = self.relay.conns.get(&(to as usize)) {
                                    self.to_client.push_back((to as usize, c.sync_frame(document_id, data, false)));
                                }
                            }
                            Effect::Unavailable { conn: to } => {
                                self.to_client.push_back((to as usize, conn.unavailable_frame(document_id)));
                            }
                            Effect::Error { conn: to, message, close, refusal } => {
                                self.to_client.push_back((to as usize, Connection::refusal_frame(&message, refusal)));
                                if close {
                                    self.relay.closed.push((to as usize, message));
                                    closing.push(to as usize);
                                } else {
                                    self.relay.refused.push(to as usize);
                                }
                            }
                        }
                    }
                    assert!(!gate.needs_rebuild(), "the engine never fails on honest peers' data");
                }
                _ => {}
            }
        }
        closing
    }

    /// The document as the relay's storage holds it.
    fn stored(&self, doc: DocumentId) -> Automerge {
        Automerge::load(&self.relay.stored[&doc].concat()).expect("stored chunks load")
    }

    fn relay_doc(&self, doc: DocumentId) -> &Automerge {
        self.relay.gates[&doc].sync().expect("open").doc()
    }
}

fn get(doc: &Automerge, key: &str) -> Option<String> {
    doc.get(ROOT, key).ok().flatten().and_then(|(v, _)| v.into_string().ok())
}

/// The story:
/// 1. Two editors and a reader sync a document.
/// 2. Both editors go offline and edit the same document: one field each, plus one both change.
/// 3. The reader tries to write.
/// 4. The editors reconnect.
/// 5. Editors and relay converge to identical documents; the reader's write stays on the reader.
#[test]
fn offline_editors_converge_and_a_readers_write_goes_nowhere() {
    let doc = DocumentId::from_random_bytes([5; 16]);
    let mut initial = Automerge::new();
    let mut tx = initial.transaction();
    tx.put(ROOT, "title", "Anchor team, Helsinki").expect("put");
    tx.commit();
    let peers = vec![
        identity(0, Role::Editor, &["municipality:091"]),
        identity(1, Role::Admin, &[]),
        identity(2, Role::Reader, &[]),
    ];
    let mut net = Net::new(peers, vec![(doc, Scope::Area("municipality:091".into()), initial)], None);
    for i in 0..3 {
        net.connect(i);
    }
    net.run_until_quiet();
    for c in &net.clients {
        assert_eq!(get(c.doc(&doc).expect("doc"), "title").as_deref(), Some("Anchor team, Helsinki"));
    }

    net.disconnect(0);
    net.disconnect(1);
    net.edit(0, doc, "phone", "+358 9 000 0001");
    net.edit(1, doc, "email", "anchor@example.invalid");
    net.edit(0, doc, "hours", "Mon-Fri 8-16");
    net.edit(1, doc, "hours", "Mon-Fri 9-15");
    net.edit(2, doc, "phone", "+358 9 666 6666");
    net.run_until_quiet();
    assert_eq!(net.relay.refused, vec![2], "the reader's write was noticed and refused");

    net.connect(0);
    net.connect(1);
    net.run_until_quiet();

    let relay_doc = net.relay_doc(doc);
    let e0 = net.clients[0].doc(&doc).expect("doc");
    let e1 = net.clients[1].doc(&doc).expect("doc");
    assert_eq!(e0.get_heads(), relay_doc.get_heads());
    assert_eq!(e1.get_heads(), relay_doc.get_heads());
    for d in [relay_doc, e0, e1] {
        assert_eq!(get(d, "phone").as_deref(), Some("+358 9 000 0001"), "the reader's phone number is nowhere");
        assert_eq!(get(d, "email").as_deref(), Some("anchor@example.invalid"));
        // Both editors set the hours concurrently: every replica picks the same winner.
        assert_eq!(get(d, "hours"), get(relay_doc, "hours"));
        assert_eq!(d.get_all(ROOT, "hours").expect("conflict").len(), 2, "the conflict stays visible");
    }
    // The reader was told once that its change is not accepted; our client then holds the
    // document until it is reset to the relay's state, after which it has the editors' changes
    // and not its own.
    assert!(net.clients[2].is_held(&doc));
    net.disconnect(2);
    let (_, ev) = net.clients[2].reset_doc(&doc).expect("reset");
    net.client_events(2, ev);
    net.connect(2);
    net.run_until_quiet();
    let relay_heads = net.relay_doc(doc).get_heads();
    let reader = net.clients[2].doc(&doc).expect("doc");
    assert_eq!(reader.get_heads(), relay_heads);
    assert_eq!(get(reader, "email").as_deref(), Some("anchor@example.invalid"));
    assert_eq!(get(reader, "phone").as_deref(), Some("+358 9 000 0001"));
}

/// Seed documents with fixed ids: Helsinki's and Turku's area documents and the national one.
fn seeded() -> (DocumentId, DocumentId, Vec<(DocumentId, Scope, Automerge)>, NationalCopy) {
    let mut n = 0u8;
    let set = contactpoint_directory::seed::build("2026-11-24", |_, _| {
        n += 1;
        DocumentId::from_random_bytes([n; 16]).to_string()
    })
    .expect("seed");
    let national_id: DocumentId = set.national.id.parse().expect("id");
    let national = NationalCopy {
        id: national_id,
        version: 1,
        directory: read_directory(&set.national.doc).expect("national reads"),
    };
    let mut docs = vec![(national_id, Scope::National, set.national.doc)];
    let (mut helsinki, mut turku) = (None, None);
    for a in set.areas {
        let Some(area) = a.area.clone() else { continue };
        let id: DocumentId = a.id.parse().expect("id");
        if area == Area::Municipality("091".into()) {
            helsinki = Some(id);
        } else if area == Area::Municipality("853".into()) {
            turku = Some(id);
        } else {
            continue;
        }
        docs.push((id, Scope::Area(area.to_string()), a.doc));
    }
    (helsinki.expect("Helsinki"), turku.expect("Turku"), docs, national)
}

fn first_contact(d: &Automerge) -> contactpoint_directory::ContactPoint {
    let dir: Directory = read_directory(d).expect("reads");
    dir.contact_points.into_values().next().expect("a contact point")
}

/// The story, on the relay's own gate:
/// 1. An editor of Helsinki, an editor of Turku, and a reader sync Helsinki's document.
/// 2. The Turku editor writes to Helsinki's document: it is a reader there; its change goes
///    nowhere and it stays connected.
/// 3. The Helsinki editor, offline, writes an entry for Turku: refused when it reconnects, the
///    document held, nothing stored.
/// 4. It resets the document to the relay's state and writes a phone number that is no number:
///    refused again.
/// 5. It resets again and makes a valid edit: stored, and every peer converges on it.
#[test]
fn the_relays_gate_refuses_what_an_editor_may_not_write() {
    let (helsinki, turku, docs, national) = seeded();
    let peers = vec![
        identity(0, Role::Editor, &["municipality:091"]),
        identity(1, Role::Editor, &["municipality:853"]),
        identity(2, Role::Reader, &[]),
    ];
    let mut net = Net::new(peers, docs, Some(national));
    for i in 0..3 {
        net.connect(i);
    }
    net.run_until_quiet();
    let start = net.relay_doc(helsinki).get_heads();
    for c in &net.clients {
        assert_eq!(c.doc(&helsinki).expect("doc").get_heads(), start, "everyone synced Helsinki");
    }
    let contact = first_contact(net.relay_doc(helsinki));
    let stored_chunks = |net: &Net| net.relay.stored[&helsinki].len();
    let chunks = stored_chunks(&net);

    // 2. Another area's editor is a reader here.
    let mut forged = contact.clone();
    forged.phones[0].number = "+358 40 123 4567".into();
    net.change(1, helsinki, |d| {
        let mut tx = d.transaction();
        write_contact_point(&mut tx, &forged).expect("write");
        tx.commit();
    });
    net.run_until_quiet();
    assert_eq!(net.relay.refused, vec![1], "told once, kept connected");
    assert!(net.online[1]);
    assert_eq!(stored_chunks(&net), chunks);

    // 3. An entry for another area, written offline.
    net.disconnect(0);
    let mut turkus = contact.clone();
    turkus.id = "0b8c3f4e-1d2a-4b5c-8d6e-7f8091a2b3c4".into();
    turkus.areas = vec!["municipality:853".parse().expect("area")];
    net.change(0, helsinki, |d| {
        let mut tx = d.transaction();
        write_contact_point(&mut tx, &turkus).expect("write");
        tx.commit();
    });
    net.connect(0);
    net.run_until_quiet();
    let (who, why) = net.relay.closed.last().expect("refused").clone();
    assert_eq!(who, 0);
    assert!(why.contains("outside the document's own area"), "{why}");
    assert!(net.clients[0].is_held(&helsinki), "the refused document is held");
    assert_eq!(stored_chunks(&net), chunks, "nothing stored");
    assert_eq!(net.relay_doc(helsinki).get_heads(), start);

    // 4. Reset, then a phone number that is no number.
    net.connect(0);
    let (_, ev) = net.clients[0].reset_doc(&helsinki).expect("reset");
    net.client_events(0, ev);
    net.run_until_quiet();
    assert_eq!(net.clients[0].doc(&helsinki).expect("doc").get_heads(), start, "back at the relay's state");
    let mut bad = contact.clone();
    bad.phones[0].number = "call me".into();
    net.change(0, helsinki, |d| {
        let mut tx = d.transaction();
        write_contact_point(&mut tx, &bad).expect("write");
        tx.commit();
    });
    net.run_until_quiet();
    assert_eq!(net.relay.closed.len(), 2);
    assert_eq!(stored_chunks(&net), chunks);

    // 5. Reset and a valid edit: stored and seen by everyone.
    net.connect(0);
    let (_, ev) = net.clients[0].reset_doc(&helsinki).expect("reset");
    net.client_events(0, ev);
    let mut good = contact.clone();
    good.phones[0].number = "+358 9 310 12345".into();
    net.change(0, helsinki, |d| {
        let mut tx = d.transaction();
        write_contact_point(&mut tx, &good).expect("write");
        tx.commit();
    });
    net.run_until_quiet();
    assert_eq!(stored_chunks(&net), chunks + 1, "one chunk stored");
    let stored = net.stored(helsinki);
    assert_eq!(read_contact_point(&stored, &contact.id).expect("stored").phones[0].number, "+358 9 310 12345");
    for i in [0, 2] {
        assert_eq!(net.clients[i].doc(&helsinki).expect("doc").get_heads(), stored.get_heads(), "peer {i} converged");
    }
    // Our client stops offering a document named in an `error` until it is reset.
    assert!(net.clients[1].is_held(&helsinki));
    assert!(read_contact_point(&stored, &turkus.id).is_none());
    assert_eq!(net.relay.contact_ids.owner(&first_contact(net.relay_doc(turku)).id), Some(turku));
}
