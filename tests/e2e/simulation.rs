//! A deterministic in-memory network: clients and a relay built from the shared protocol core,
//! with frames passed through queues instead of sockets. No clock, no sleeps, no threads.

use std::collections::{BTreeMap, VecDeque};

use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ROOT, ReadDoc};
use contactpoint_protocol::{Access, ClientEvent, ClientSession, Connection, DocSync, DocumentId, Event, PeerMetadata};

/// The relay side of the simulation: one protocol connection per peer, one sync engine per
/// document, and a fixed access table (the real relay derives it from identities).
struct SimRelay {
    conns: BTreeMap<usize, Connection>,
    docs: BTreeMap<DocumentId, DocSync<usize>>,
    access: BTreeMap<usize, Access>,
    refused: Vec<usize>,
}

struct Net {
    relay: SimRelay,
    clients: Vec<ClientSession>,
    online: Vec<bool>,
    to_relay: VecDeque<(usize, Vec<u8>)>,
    to_client: VecDeque<(usize, Vec<u8>)>,
}

impl Net {
    fn new(access: &[Access], doc: DocumentId, initial: Automerge) -> Net {
        let mut docs = BTreeMap::new();
        docs.insert(doc, DocSync::new(initial));
        let clients = (0..access.len())
            .map(|i| {
                let mut c = ClientSession::new(
                    format!("peer-{i}"),
                    PeerMetadata { storage_id: Some(format!("s{i}")), is_ephemeral: false },
                );
                c.open_doc(doc, None, None).expect("open");
                c
            })
            .collect();
        Net {
            relay: SimRelay {
                conns: BTreeMap::new(),
                docs,
                access: access.iter().copied().enumerate().collect(),
                refused: Vec::new(),
            },
            clients,
            online: vec![false; access.len()],
            to_relay: VecDeque::new(),
            to_client: VecDeque::new(),
        }
    }

    fn client_events(&mut self, i: usize, events: Vec<ClientEvent>) {
        for e in events {
            if let ClientEvent::Send(f) = e
                && self.online[i]
            {
                self.to_relay.push_back((i, f));
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
        for d in self.relay.docs.values_mut() {
            d.remove_peer(&i);
        }
        self.to_relay.retain(|(p, _)| *p != i);
        self.to_client.retain(|(p, _)| *p != i);
    }

    fn edit(&mut self, i: usize, doc: DocumentId, key: &str, value: &str) {
        let ev = self.clients[i].change(&doc, |d| {
            let mut tx = d.transaction();
            tx.put(ROOT, key, value).expect("put");
            tx.commit();
        });
        self.client_events(i, ev);
    }

    /// Delivers queued frames until nothing is left to say. Returns the number of frames moved.
    fn run_until_quiet(&mut self) -> usize {
        let mut moved = 0;
        while let Some((from, frame)) = self.to_relay.pop_front() {
            moved += 1;
            self.relay_receive(from, &frame);
            while let Some((to, frame)) = self.to_client.pop_front() {
                moved += 1;
                let ev = self.clients[to].receive(&frame);
                self.client_events(to, ev);
            }
            assert!(moved < 100_000, "the network never went quiet");
        }
        moved
    }

    fn relay_receive(&mut self, from: usize, frame: &[u8]) {
        let Some(conn) = self.relay.conns.get_mut(&from) else { return };
        for ev in conn.receive(frame) {
            match ev {
                Event::Send(f) => self.to_client.push_back((from, f)),
                Event::Doc { document_id, data, .. } => {
                    let conn = &self.relay.conns[&from];
                    let Some(doc) = self.relay.docs.get_mut(&document_id) else {
                        self.to_client.push_back((from, conn.unavailable_frame(document_id)));
                        continue;
                    };
                    if !doc.has_peer(&from) {
                        doc.add_peer(from, self.relay.access[&from], None);
                    }
                    let r = doc.receive(&from, &data).expect("valid sync data");
                    if r.write_refused {
                        self.relay.refused.push(from);
                    }
                    for (to, m) in r.outgoing {
                        if let Some(c) = self.relay.conns.get(&to) {
                            self.to_client.push_back((to, c.sync_frame(document_id, m, false)));
                        }
                    }
                }
                _ => {}
            }
        }
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
    let mut net = Net::new(&[Access::Write, Access::Write, Access::Read], doc, initial);
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

    let relay_doc = net.relay.docs[&doc].doc();
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
    // The reader receives the editors' changes but keeps its own refused one to itself.
    let reader = net.clients[2].doc(&doc).expect("doc");
    assert_eq!(get(reader, "email").as_deref(), Some("anchor@example.invalid"));
}
