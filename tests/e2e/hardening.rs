//! The attacks that once worked against the relay, each performed against a real relay process:
//! the attacker is refused with a clear `error`, an honest reader and an honest editor of the same
//! document stay connected and keep receiving updates, and the relay's peak memory stays within a
//! stated bound. Also the content cells of the access matrix: an editor of one area cannot write
//! another area's entries, reuse another document's contact id, or move its document.

use std::path::Path;
use std::time::Duration;

use contactpoint_directory::ContactPoint;
use contactpoint_directory::store::{read_contact_point, read_directory, write_contact_point};
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ROOT, sync};
use contactpoint_protocol::{DocMessage, DocumentId, Message, PeerMetadata};
use contactpoint_server::Limits;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Db, Scope};
use contactpoint_tests::{NativeClient, RelayProcess, TestRelay, stored_doc, token_for};

/// The relay's peak memory must stay below this during every attack here. An idle seeded relay
/// peaks near 40 MiB; the attacks once took it to gigabytes.
const MEMORY_BOUND: u64 = 256 * 1024 * 1024;

/// A seeded database with the Helsinki and Turku documents.
struct Seeded {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    db: Db,
    helsinki: DocumentId,
}

fn area_doc(db: &Db, area: &str) -> anyhow::Result<DocumentId> {
    Ok(db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area(area.into()))
        .ok_or_else(|| anyhow::anyhow!("no document for {area}"))?
        .0
        .parse()?)
}

fn seeded() -> anyhow::Result<Seeded> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let db = Db::open(&path)?;
    db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let helsinki = area_doc(&db, "municipality:091")?;
    Ok(Seeded { _dir: dir, path, db, helsinki })
}

fn first_contact(db: &Db, doc: DocumentId) -> anyhow::Result<ContactPoint> {
    let d = stored_doc(db, doc)?;
    Ok(read_directory(&d)?.contact_points.into_values().next().expect("a contact point"))
}

/// An honest reader and editor of one document, both synced.
struct Honest {
    reader: NativeClient,
    editor: NativeClient,
    doc: DocumentId,
    edits: usize,
}

impl Honest {
    async fn connect(url_for: impl Fn(Role) -> String, doc: DocumentId, contact: &str) -> anyhow::Result<Honest> {
        let mut reader = NativeClient::new("honest-reader");
        reader.open(doc);
        reader.connect(&url_for(Role::Reader)).await?;
        let mut editor = NativeClient::new("honest-editor");
        editor.open(doc);
        editor.connect(&url_for(Role::Editor)).await?;
        for c in [&mut reader, &mut editor] {
            c.wait_until(|c| c.session.doc(&doc).and_then(|d| read_contact_point(d, contact)).is_some()).await?;
        }
        Ok(Honest { reader, editor, doc, edits: 0 })
    }

    /// The editor changes the contact's description; the relay acknowledges it and the reader
    /// receives it, on the connections both had before the attack.
    async fn still_served(&mut self, contact: &str) -> anyhow::Result<()> {
        self.edits += 1;
        let text = format!("Checked by the honest editor, round {}.", self.edits);
        let doc = self.doc;
        let mut cp = read_contact_point(self.editor.session.doc(&doc).expect("doc"), contact).expect("contact");
        cp.description = contactpoint_directory::LocalizedText::from_pairs([("en", text.as_str())]);
        self.editor
            .change(doc, |d| {
                let mut tx = d.transaction();
                write_contact_point(&mut tx, &cp).expect("write");
                tx.commit();
            })
            .await?;
        self.editor.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        let want = text.clone();
        self.reader
            .wait_until(|c| {
                c.session
                    .doc(&doc)
                    .and_then(|d| read_contact_point(d, contact))
                    .is_some_and(|cp| cp.description.text("en") == want)
            })
            .await?;
        assert!(self.reader.closed.is_none() && self.editor.closed.is_none(), "an honest peer was disconnected");
        Ok(())
    }
}

fn relay_target(db: &Db) -> anyhow::Result<String> {
    let sid = db.with(storage::storage_id)?;
    Ok(contactpoint_server::relay::peer_id_for(&sid))
}

fn sync_frame(target: &str, doc: DocumentId, msg: sync::Message) -> Vec<u8> {
    Message::Sync(DocMessage {
        sender_id: "peer-attacker".into(),
        target_id: target.into(),
        document_id: doc,
        data: msg.encode(),
    })
    .encode()
}

fn message(have: Vec<sync::Have>, changes: Vec<Vec<u8>>) -> sync::Message {
    sync::Message {
        heads: vec![],
        need: vec![],
        have,
        changes: changes.into(),
        flags: None,
        version: sync::MessageVersion::V1,
    }
}

async fn attack(url: &str, frame: Vec<u8>, needle: &str) -> anyhow::Result<()> {
    let mut a = NativeClient::new("attacker");
    a.connect(url).await?;
    a.send_raw(frame).await?;
    let errors = a.read_until_closed().await?;
    assert!(errors.iter().any(|e| e.contains(needle)), "expected an error containing {needle:?}, got {errors:?}");
    Ok(())
}

fn start(path: &Path) -> anyhow::Result<RelayProcess> {
    RelayProcess::start(path)
}

/// Findings 1 and 3: hostile Bloom filters from a reader and an editor, and a deflate bomb from
/// an editor. Each costs the attacker its connection and nobody else anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sync_messages_cost_only_the_attacker() -> anyhow::Result<()> {
    let s = seeded()?;
    let contact = first_contact(&s.db, s.helsinki)?.id;
    let tokens = |role: Role| token_for(&s.db, role, if role == Role::Editor { &["091"] } else { &[] });
    let relay = start(&s.path)?;
    let url = |token: &str| format!("ws://{}/sync?token={token}", relay.addr);
    let mut honest = Honest::connect(|r| url(&tokens(r)), s.helsinki, &contact).await?;
    let target = relay_target(&s.db)?;

    // Zero bits per entry (a division by zero in the engine), 2^32-1 probes (16 GiB reserved),
    // and many have entries with many probes (minutes of CPU), from a reader and an editor.
    let zero_bits = sync::BloomFilter::try_from(&[1u8, 0, 7][..])?;
    let huge_probes = sync::BloomFilter::try_from(&[1u8, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff][..])?;
    let many = sync::BloomFilter::try_from(&[1u8, 10, 0xe8, 0x07, 0xff, 0xff][..])?;
    let attacks = [
        vec![sync::Have { last_sync: vec![], bloom: zero_bits }],
        vec![sync::Have { last_sync: vec![], bloom: huge_probes }],
        vec![sync::Have { last_sync: vec![], bloom: many }; 2000],
    ];
    for role in [Role::Reader, Role::Editor] {
        let attacker = url(&tokens(role));
        for have in &attacks {
            for _ in 0..3 {
                let frame = sync_frame(&target, s.helsinki, message(have.clone(), vec![]));
                attack(&attacker, frame, "over the limits").await?;
            }
            honest.still_served(&contact).await?;
        }
    }

    // An editor's deflate bomb: a compressed change chunk of about 1 MB that inflates to 1 GiB.
    let bomb = deflate_bomb(1024);
    assert!(bomb.len() < 2 * 1024 * 1024, "the bomb is small on the wire: {} bytes", bomb.len());
    let frame = sync_frame(&target, s.helsinki, message(vec![], vec![bomb]));
    attack(&url(&tokens(Role::Editor)), frame, "inflates past").await?;
    honest.still_served(&contact).await?;

    let peak = relay.peak_memory()?;
    assert!(peak < MEMORY_BOUND, "the relay peaked at {} MiB", peak / 1024 / 1024);
    Ok(())
}

/// A compressed change chunk (type 2) whose data inflates to `mib` MiB of zeros: one sync-flushed
/// deflate segment of 1 MiB of zeros repeated, then a final block. The checksum is wrong, which
/// the engine would notice only after inflating it all.
fn deflate_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(1 << 20);
    c.compress_vec(&vec![0u8; 1 << 20], &mut segment, FlushCompress::Sync).expect("deflate");
    let mut end = Vec::with_capacity(64);
    c.compress_vec(&[], &mut end, FlushCompress::Finish).expect("deflate");
    let mut data = segment.repeat(mib);
    data.extend(end);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    let mut len = data.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            chunk.push(byte);
            break;
        }
        chunk.push(byte | 0x80);
    }
    chunk.extend(data);
    chunk
}

/// Finding 4: a storage id of megabytes is refused at the handshake, and a device that keeps
/// changing its storage id still holds one sync state per document.
#[tokio::test]
async fn storage_ids_are_bounded_and_states_are_kept_per_device() -> anyhow::Result<()> {
    // Documents unload soon after their last peer leaves, saving every state they held.
    let relay = TestRelay::start_with(Limits { doc_idle: Duration::from_millis(200), ..Limits::default() }).await?;
    let doc = relay.document(Scope::National);
    let token = relay.token(Role::Reader, &[]);

    let mut big = NativeClient::new("big");
    big.open_socket(&relay.url(&token)).await?;
    let join = Message::Join {
        sender_id: "peer-big".into(),
        supported_protocol_versions: vec!["1".into()],
        metadata: Some(PeerMetadata { storage_id: Some("x".repeat(4 * 1024 * 1024)), is_ephemeral: false }),
    };
    big.send_raw(join.encode()).await?;
    let errors = big.read_until_closed().await?;
    assert!(errors.iter().any(|e| e.contains("storageId is longer")), "{errors:?}");

    for i in 0..20 {
        let mut c = NativeClient::new(&format!("changing-{i}"));
        c.open(doc);
        c.connect(&relay.url(&token)).await?;
        c.wait_until(|c| c.unavailable.contains(&doc)).await?;
        c.disconnect().await;
    }
    // Once the document has unloaded, every detached peer's state has been saved.
    contactpoint_tests::eventually("the document unloads", || {
        Ok(relay.relay.stats.loaded_docs.load(std::sync::atomic::Ordering::Relaxed) == 0)
    })
    .await?;
    let rows: i64 = relay.db.with(|c| c.query_row("SELECT COUNT(*) FROM sync_states", &[], |r| r.get(0)))?;
    assert_eq!(rows, 1, "one device, one document: one stored state");
    Ok(())
}

/// Finding 6: a reader that keeps asking for a large document and never reads is cut off once
/// its queue holds its budget, and pins no more than that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_is_cut_off() -> anyhow::Result<()> {
    let s = seeded()?;
    let contact = first_contact(&s.db, s.helsinki)?.id;
    let tokens = |role: Role| token_for(&s.db, role, if role == Role::Editor { &["091"] } else { &[] });
    let relay = start(&s.path)?;
    let url = |token: &str| format!("ws://{}/sync?token={token}", relay.addr);
    let mut honest = Honest::connect(|r| url(&tokens(r)), s.helsinki, &contact).await?;
    let target = relay_target(&s.db)?;
    let national: DocumentId =
        s.db.with(|c| storage::national_doc(c))?
            .map(|(id, _)| id)
            .ok_or_else(|| anyhow::anyhow!("no national document"))?;

    let mut slow = Vec::new();
    // Two such readers, each asking for far more than the socket buffers and its budget hold.
    for i in 0..2 {
        let mut a = NativeClient::new(&format!("slow-{i}"));
        a.connect(&url(&tokens(Role::Reader))).await?;
        // Each message says "I have nothing": the relay answers with the whole document.
        for _ in 0..400 {
            let m = sync::Message {
                heads: vec![],
                need: vec![],
                have: vec![sync::Have::default()],
                changes: sync::ChunkList::empty(),
                flags: None,
                version: sync::MessageVersion::V1,
            };
            let mut frame = sync_frame(&target, national, m);
            // The harness names the attacker after the client; keep senderId consistent.
            frame = reframe(frame, &format!("peer-slow-{i}"));
            if a.send_raw(frame).await.is_err() {
                break;
            }
        }
        slow.push(a);
    }
    honest.still_served(&contact).await?;
    for a in &mut slow {
        // Cut for its budget at once, or at the latest by the 30 s write timeout: wait past it,
        // since on a busy machine the first may take longer than one wait.
        for _ in 0..3 {
            if a.wait_until(|c| c.closed.is_some()).await.is_ok() {
                break;
            }
        }
        anyhow::ensure!(a.closed.is_some(), "a reader that never reads was not cut off");
        assert!(a.errors.iter().any(|e| e.contains("too slow")), "{:?}", a.errors);
        assert!(a.bytes_received < 16 * 1024 * 1024, "a slow reader got {} bytes", a.bytes_received);
    }
    honest.still_served(&contact).await?;
    let peak = relay.peak_memory()?;
    assert!(peak < MEMORY_BOUND, "the relay peaked at {} MiB", peak / 1024 / 1024);
    Ok(())
}

/// Rewrites a frame's senderId.
fn reframe(frame: Vec<u8>, sender: &str) -> Vec<u8> {
    match Message::decode(&frame) {
        Ok(Message::Sync(mut m)) => {
            m.sender_id = sender.into();
            Message::Sync(m).encode()
        }
        _ => frame,
    }
}

/// A write an editor makes to its document.
type Forgery = Box<dyn Fn(&mut Automerge)>;

/// The content cells of the access matrix: an editor of Helsinki writing (a) a contact point
/// for Turku, (b) a contact point with the id of one of Turku's, (c) the document's own area.
/// Each is refused with the rule's message, nothing is stored, and a reader is unaffected.
#[tokio::test]
async fn an_editor_cannot_write_outside_its_area() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    relay.db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let helsinki = area_doc(&relay.db, "municipality:091")?;
    let turku = area_doc(&relay.db, "municipality:853")?;
    let own = first_contact(&relay.db, helsinki)?;
    let theirs = first_contact(&relay.db, turku)?;
    let reader_token = relay.token(Role::Reader, &[]);
    let editor_token = relay.token(Role::Editor, &["091"]);
    let mut honest = Honest {
        reader: NativeClient::new("honest-reader"),
        editor: NativeClient::new("honest-editor"),
        doc: helsinki,
        edits: 0,
    };
    for (c, t) in [(&mut honest.reader, &reader_token), (&mut honest.editor, &editor_token)] {
        c.open(helsinki);
        c.connect(&relay.url(t)).await?;
        let id = own.id.clone();
        c.wait_until(|c| c.session.doc(&helsinki).and_then(|d| read_contact_point(d, &id)).is_some()).await?;
    }
    let before = stored_doc(&relay.db, helsinki)?.get_heads();
    // The relay learns the seeded documents' contact ids as it sees their chunks.
    contactpoint_tests::eventually("the relay knows Turku's entries", || {
        Ok(relay.relay.contact_owner(&theirs.id) == Some(turku))
    })
    .await?;

    let mut turku_entry = own.clone();
    turku_entry.id = "2f6f2b0e-0000-4000-8000-00000000a001".into();
    turku_entry.areas = vec!["municipality:853".parse()?];
    let mut stolen_id = own.clone();
    stolen_id.id = theirs.id.clone();
    let cases: Vec<(&str, Forgery)> = vec![
        (
            "outside the document's own area",
            Box::new(move |d: &mut Automerge| {
                let mut tx = d.transaction();
                write_contact_point(&mut tx, &turku_entry).expect("write");
                tx.commit();
            }),
        ),
        (
            "belongs to a contact point of another document",
            Box::new(move |d: &mut Automerge| {
                let mut tx = d.transaction();
                write_contact_point(&mut tx, &stolen_id).expect("write");
                tx.commit();
            }),
        ),
        (
            "fixed by the relay's catalogue",
            Box::new(|d: &mut Automerge| {
                let mut tx = d.transaction();
                tx.put(ROOT, "area", "municipality:853").expect("put");
                tx.commit();
            }),
        ),
    ];
    for (needle, write) in cases {
        let mut forger = NativeClient::new("forger");
        forger.open(helsinki);
        forger.connect(&relay.url(&editor_token)).await?;
        let id = own.id.clone();
        forger.wait_until(|c| c.session.doc(&helsinki).and_then(|d| read_contact_point(d, &id)).is_some()).await?;
        forger.change(helsinki, |d| write(d)).await?;
        forger.wait_until(|c| c.closed.is_some()).await?;
        assert!(forger.errors.iter().any(|e| e.contains(needle)), "expected {needle:?}, got {:?}", forger.errors);
        assert_eq!(stored_doc(&relay.db, helsinki)?.get_heads(), before, "{needle}: nothing was stored");
    }
    assert_eq!(relay.relay.contact_owner(&theirs.id), Some(turku), "Turku keeps its entry");
    honest.still_served(&own.id).await?;
    Ok(())
}

/// The same rules for an HSDS import: an entry of Helsinki's that lists Turku, or that takes the
/// id of one of Turku's entries, is refused and nothing is stored.
#[tokio::test]
async fn an_import_cannot_write_outside_its_area_either() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    relay.db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let helsinki = area_doc(&relay.db, "municipality:091")?;
    let turku = area_doc(&relay.db, "municipality:853")?;
    let theirs = first_contact(&relay.db, turku)?;
    let before = stored_doc(&relay.db, helsinki)?.get_heads();
    let base = read_directory(&stored_doc(&relay.db, helsinki)?)?;
    let mut own = first_contact(&relay.db, helsinki)?;
    own.id = "5d1f7a2c-3b4e-4f60-9a81-b2c3d4e5f601".into();
    own.areas = vec!["municipality:853".parse()?];
    let mut stolen = first_contact(&relay.db, helsinki)?;
    stolen.id = theirs.id.clone();
    for (entry, needle) in
        [(own, "outside the document's own area"), (stolen, "belongs to a contact point of document")]
    {
        let mut d = base.clone();
        d.contact_points = [(entry.id.clone(), entry)].into_iter().collect();
        d.organisations.clear();
        d.cards.clear();
        let got = relay.db.with(|c| Ok(content::import(c, vec![d], None).map_err(|e| e.to_string())))?;
        let err = got.expect_err("the import is refused");
        assert!(err.contains(needle), "expected {needle:?} in {err}");
        assert_eq!(stored_doc(&relay.db, helsinki)?.get_heads(), before, "nothing stored");
    }
    Ok(())
}
