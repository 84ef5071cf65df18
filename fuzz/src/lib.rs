//! What the fuzz targets run, as plain functions: the fuzz targets call them on libFuzzer's
//! input, and the end-to-end test binary includes this file to replay every committed corpus
//! entry and regression fixture through exactly the same code.
//!
//! Each function panics only where the code under test misbehaves: a panic, a failed round
//! trip, or (caught by libFuzzer's memory limits) an allocation too large for a relay to survive.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use contactpoint_directory::{Directory, ValidationIssue, hsds, new_issues, store, validate_document_against};
use contactpoint_protocol::automerge::sync::{self, SyncDoc};
use contactpoint_protocol::automerge::{self, ActorId, Automerge, ChangeHash};
use contactpoint_protocol::{Connection, DocSync, Message, PeerMetadata, SyncError};

pub use contactpoint_protocol::Access;

/// The fuzz targets, by name: `fuzz/fuzz_targets/<name>.rs`, `fuzz/corpus/<name>/`,
/// `fuzz/regressions/<name>/`.
pub const TARGETS: &[&str] = &["wire_decode", "doc_sync_reader", "doc_sync_writer", "hsds_import", "automerge_load"];

/// Runs one input through the named target, as its fuzz target does (without the filter for
/// known crashes).
/// libFuzzer's panic hook aborts on every panic, even one our code catches. Document sync and
/// loading catch the engine's panics on purpose (the relay rebuilds the document), so their
/// targets put the standard hook back: a panic that escapes our code still reaches the fuzz
/// harness's own catch and is reported as a crash.
fn let_our_code_catch_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
}

pub fn run(target: &str, data: &[u8]) {
    match target {
        "wire_decode" => wire_decode(data),
        "doc_sync_reader" => doc_sync(Access::Read, data, false),
        "doc_sync_writer" => doc_sync(Access::Write, data, false),
        "hsds_import" => hsds_import(data),
        "automerge_load" => automerge_load(data),
        other => panic!("no fuzz target named {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// wire_decode
// ---------------------------------------------------------------------------------------------

/// Decodes a frame; whatever decodes must encode to a frame that decodes to the same message.
/// Then a relay-side connection that has completed its handshake receives the frame.
pub fn wire_decode(data: &[u8]) {
    if let Ok(m) = Message::decode(data) {
        let again = Message::decode(&m.encode());
        assert_eq!(again.as_ref(), Ok(&m), "a decoded message does not survive encoding");
    }
    let mut relay = Connection::relay("relay".into(), PeerMetadata::default());
    let join = Message::Join {
        sender_id: "peer".into(),
        supported_protocol_versions: vec!["1".into()],
        metadata: Some(PeerMetadata { storage_id: Some("storage".into()), is_ephemeral: false }),
    };
    relay.receive(&join.encode());
    relay.receive(data);
}

// ---------------------------------------------------------------------------------------------
// doc_sync_reader / doc_sync_writer
// ---------------------------------------------------------------------------------------------

/// The relay's document before the peer speaks, and what a peer might hold that it lacks.
struct Fixture {
    doc: Automerge,
    /// `doc` as stored.
    saved: Vec<u8>,
    /// Problems of `doc`, as the relay keeps them for validating writes.
    known: Vec<ValidationIssue>,
    /// Hashes a message may name: the document's changes, then the peer's own.
    hashes: Vec<ChangeHash>,
    /// Change chunks a peer might send: its own changes (uncompressed and compressed where
    /// Automerge compresses them) and the document's (which the relay already has).
    chunks: Vec<Vec<u8>>,
    /// A whole document (the peer's copy), as a v2 message carries it.
    whole: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

/// A small area directory document written in three changes by a fixed actor, and a peer's copy
/// with four more: a valid edit, a new contact point (large enough to be compressed), an edit
/// validation refuses, and a concurrent edit by a third actor.
fn build_fixture() -> Fixture {
    let dirs = contactpoint_directory::seed::directories("2026-11-24").expect("the seed data builds");
    let mut dir: Directory = dirs
        .into_iter()
        .find(|d| !d.is_national() && d.contact_points.len() >= 2)
        .expect("the seed has an area document with two contact points");
    let keep: Vec<String> = dir.contact_points.keys().take(2).cloned().collect();
    dir.contact_points.retain(|k, _| keep.contains(k));
    let orgs: Vec<String> = dir.contact_points.values().filter_map(|c| c.organisation_id.clone()).collect();
    dir.organisations.retain(|k, _| orgs.contains(k));
    dir.cards.clear();

    let mut doc = Automerge::new().with_actor(ActorId::from(vec![1u8; 16]));
    let mut first = dir.clone();
    let later: Vec<_> = first.contact_points.values().cloned().collect();
    first.contact_points.clear();
    commit(&mut doc, |tx| store::write_directory(tx, &first));
    for c in &later {
        commit(&mut doc, |tx| store::write_contact_point(tx, c));
    }

    let mut peer = doc.fork().with_actor(ActorId::from(vec![2u8; 16]));
    let mut edited = later[0].clone();
    edited.email = Some("neuvonta@example.fi".into());
    commit(&mut peer, |tx| store::write_contact_point(tx, &edited));
    let mut added = later[1].clone();
    added.id = "00000000-0000-4000-8000-0000000000aa".into();
    added.description.set("sv", &"Ett längre stycke text som gör ändringen stor nog att packas. ".repeat(8));
    commit(&mut peer, |tx| store::write_contact_point(tx, &added));
    let mut bad = later[0].clone();
    if let Some(p) = bad.phones.first_mut() {
        p.number = "not a number".into();
    }
    commit(&mut peer, |tx| store::write_contact_point(tx, &bad));
    let mut other = doc.fork().with_actor(ActorId::from(vec![3u8; 16]));
    let mut concurrent = later[1].clone();
    concurrent.url = Some("https://example.fi/toinen".into());
    commit(&mut other, |tx| store::write_contact_point(tx, &concurrent));
    peer.merge(&mut other).expect("the copies merge");

    let mut hashes = Vec::new();
    let mut chunks = Vec::new();
    for mut change in peer.get_changes(&[]) {
        hashes.push(change.hash());
        chunks.push(change.raw_bytes().to_vec());
        let packed = change.bytes().to_vec();
        if packed != change.raw_bytes() {
            chunks.push(packed);
        }
    }
    let known = validate_document_against(&doc, None);
    Fixture { whole: peer.save(), saved: doc.save(), doc, known, hashes, chunks }
}

fn commit(
    doc: &mut Automerge,
    write: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), store::StoreError>,
) {
    let mut tx = doc.transaction();
    write(&mut tx).expect("the fixture writes");
    tx.commit();
}

/// A hash named in a message: one the fixture knows (the relay's or the peer's), or any 32 bytes.
#[derive(Arbitrary, Debug)]
enum HashPick {
    Known(u8),
    Raw([u8; 32]),
}

/// A Bloom filter as it travels: from hashes (what a correct peer sends) or any parameters.
#[derive(Arbitrary, Debug)]
enum BloomPick {
    Empty,
    Of(Vec<HashPick>),
    Params { entries: u32, bits_per_entry: u32, probes: u32, bits: Vec<u8> },
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct HavePick {
    last_sync: Vec<HashPick>,
    bloom: BloomPick,
}

/// One entry of a message's `changes`.
#[derive(Arbitrary, Debug)]
enum ChunkPick {
    Known(u8),
    /// Several known changes in one entry.
    Concat(Vec<u8>),
    /// A known change with one byte replaced.
    Mutated {
        base: u8,
        at: u16,
        byte: u8,
    },
    /// A known change cut short.
    Truncated {
        base: u8,
        len: u16,
    },
    WholeDocument,
    Raw(Vec<u8>),
}

/// A sync message built from parts, encoded by hand so that any part can be out of bounds.
#[derive(Arbitrary, Debug)]
struct Built {
    v2: bool,
    heads: Vec<HashPick>,
    need: Vec<HashPick>,
    have: Vec<HavePick>,
    changes: Vec<ChunkPick>,
    flags: Option<Vec<u8>>,
}

/// One thing that happens on the connection.
#[derive(Arbitrary, Debug)]
enum Step {
    /// The peer sends this message.
    Built(Built),
    /// The peer sends these bytes.
    Raw(Vec<u8>),
    /// The peer answers the relay's next message for it as a correct peer holding the peer's
    /// copy would.
    Honest,
}

/// Input shapes: a first byte of 0 means the rest is one sync message as it came off the wire
/// (the seed corpus is real messages); anything else means a script of up to eight steps.
pub fn doc_sync(access: Access, data: &[u8], skip_known_crashes: bool) {
    let_our_code_catch_panics();
    let Some((&mode, rest)) = data.split_first() else { return };
    let steps = if mode == 0 {
        vec![Step::Raw(rest.to_vec())]
    } else {
        let mut u = Unstructured::new(rest);
        let mut steps = Vec::new();
        while steps.len() < 8 && !u.is_empty() {
            match Step::arbitrary(&mut u) {
                Ok(s) => steps.push(s),
                Err(_) => break,
            }
        }
        steps
    };
    let f = fixture();
    let mut relay = DocSync::<u8>::new(f.doc.clone());
    // The fuzzed peer, and a reader who has everything and hears whatever the document gains.
    relay.add_peer(1, access, None);
    relay.add_peer(2, Access::Read, None);
    let mut honest = sync::State::new();
    let mut peer_doc: Option<Automerge> = None;
    let mut stored = f.saved.clone();
    for step in steps {
        let bytes = match step {
            Step::Built(b) => encode(f, &b),
            Step::Raw(b) => b,
            Step::Honest => {
                let peer = peer_doc.get_or_insert_with(|| Automerge::load(&f.whole).expect("the fixture loads"));
                if let Some(m) = relay.generate(&1).and_then(|m| sync::Message::decode(&m).ok()) {
                    let _ = peer.receive_sync_message(&mut honest, m);
                }
                match peer.generate_sync_message(&mut honest) {
                    Some(m) => m.encode(),
                    None => continue,
                }
            }
        };
        if skip_known_crashes && known_crash(&bytes) {
            continue;
        }
        match receive_as_relay(&mut relay, f, &bytes) {
            Ok(Some(chunk)) => stored.extend_from_slice(&chunk),
            Ok(None) => {}
            // The engine failed midway: the relay rebuilds the document from what it stored,
            // keeping its peers, and carries on.
            Err(()) => relay.rebuild(DocSync::<u8>::load(&stored).expect("what the relay stored loads").doc().clone()),
        }
    }
    if stored.len() == f.saved.len() {
        return;
    }
    // What the relay stored (a snapshot and the chunks it appended) loads as what it holds.
    let reloaded = DocSync::<u8>::load(&stored).expect("what the relay stored loads");
    let (mut a, mut b) = (reloaded.heads(), relay.heads());
    a.sort();
    b.sort();
    assert_eq!(a, b, "what the relay stored is not what it holds");
}

/// What the relay's document task does with a sync message from a peer of a catalogued
/// directory document (writers' changes validated on a fork against the problems the document
/// already had); returns the chunk the relay would store.
fn receive_as_relay(relay: &mut DocSync<u8>, f: &Fixture, data: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    let was_directory = store::document_kind(relay.doc()).is_some();
    let validator = |candidate: &Automerge, _: &[ChangeHash]| -> Result<(), String> {
        if !was_directory && store::document_kind(candidate).is_none() {
            return Ok(());
        }
        let issues = validate_document_against(candidate, None);
        match new_issues(&f.known, &issues).first() {
            None => Ok(()),
            Some(first) => Err(format!("{}: {}", first.path, first.message)),
        }
    };
    let before = relay.heads();
    let r = match relay.receive_validated(&1, data, Some(&validator)) {
        Ok(r) => r,
        Err(SyncError::Engine(_)) => return Err(()),
        Err(_) => return Ok(None),
    };
    // Every message the relay sends is one a peer can decode.
    for (_, m) in &r.outgoing {
        sync::Message::decode(m).expect("the relay sends decodable messages");
    }
    if r.new_changes.is_some() {
        assert_ne!(relay.heads(), before, "changes to store but no new heads");
    }
    Ok(r.new_changes)
}

fn pick_hash(f: &Fixture, h: &HashPick) -> [u8; 32] {
    match h {
        HashPick::Known(i) => f.hashes.get(usize::from(*i) % f.hashes.len()).map_or([0; 32], |h| h.0),
        HashPick::Raw(b) => *b,
    }
}

fn pick_chunk(f: &Fixture, i: u8) -> &[u8] {
    &f.chunks[usize::from(i) % f.chunks.len()]
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_hashes(out: &mut Vec<u8>, f: &Fixture, hashes: &[HashPick]) {
    leb(out, hashes.len() as u64);
    for h in hashes {
        out.extend_from_slice(&pick_hash(f, h));
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    leb(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Encodes a sync message in Automerge's format (version byte, heads, need, have, changes,
/// flags), with whatever values the input chose.
fn encode(f: &Fixture, b: &Built) -> Vec<u8> {
    let mut out = vec![if b.v2 { 0x43 } else { 0x42 }];
    put_hashes(&mut out, f, &b.heads);
    put_hashes(&mut out, f, &b.need);
    leb(&mut out, b.have.len() as u64);
    for h in &b.have {
        put_hashes(&mut out, f, &h.last_sync);
        let bloom = match &h.bloom {
            BloomPick::Empty => Vec::new(),
            BloomPick::Of(hs) => {
                let hs: Vec<ChangeHash> = hs.iter().map(|h| ChangeHash(pick_hash(f, h))).collect();
                sync::BloomFilter::from_hashes(hs.iter()).to_bytes()
            }
            BloomPick::Params { entries, bits_per_entry, probes, bits } => {
                let mut v = Vec::new();
                leb(&mut v, u64::from(*entries));
                leb(&mut v, u64::from(*bits_per_entry));
                leb(&mut v, u64::from(*probes));
                v.extend_from_slice(bits);
                v
            }
            BloomPick::Bytes(v) => v.clone(),
        };
        put_bytes(&mut out, &bloom);
    }
    leb(&mut out, b.changes.len() as u64);
    for c in &b.changes {
        let chunk = match c {
            ChunkPick::Known(i) => pick_chunk(f, *i).to_vec(),
            ChunkPick::Concat(is) => is.iter().flat_map(|i| pick_chunk(f, *i).iter().copied()).collect(),
            ChunkPick::Mutated { base, at, byte } => {
                let mut v = pick_chunk(f, *base).to_vec();
                let n = v.len();
                v[usize::from(*at) % n] = *byte;
                v
            }
            ChunkPick::Truncated { base, len } => {
                let v = pick_chunk(f, *base);
                v[..usize::from(*len) % (v.len() + 1)].to_vec()
            }
            ChunkPick::WholeDocument => f.whole.clone(),
            ChunkPick::Raw(v) => v.clone(),
        };
        put_bytes(&mut out, &chunk);
    }
    if let Some(flags) = &b.flags {
        put_bytes(&mut out, flags);
    }
    out
}

/// Inputs that crash Automerge 0.12 before `DocSync` bounds what a peer sends: a Bloom filter
/// with entries but no bits (a division by zero) or with more probes than it has bits (an
/// allocation of up to 16 GiB), and heads out of order (with debug assertions, which the fuzz
/// targets and the tests have, Automerge panics re-encoding them as the relay's `have`). Only the
/// fuzz targets' `skip-known-doc-sync-crashes` feature uses this, so that fuzzing gets past them;
/// remove when doc_sync bounds have landed.
pub fn known_crash(data: &[u8]) -> bool {
    let Ok(m) = sync::Message::decode(data) else { return false };
    let unsorted = |hs: &[ChangeHash]| hs.windows(2).any(|w| w[0] > w[1]);
    unsorted(&m.heads)
        || unsorted(&m.need)
        || m.have.iter().any(|h| {
            let bytes = h.bloom.to_bytes();
            let mut u = bytes.as_slice();
            let mut next = || {
                let mut v = 0u64;
                for shift in (0..35).step_by(7) {
                    let (&b, rest) = u.split_first()?;
                    u = rest;
                    v |= u64::from(b & 0x7f) << shift;
                    if b & 0x80 == 0 {
                        return Some(v);
                    }
                }
                None
            };
            let degenerate = match (next(), next(), next()) {
                (Some(entries), Some(bits_per_entry), Some(probes)) => {
                    entries > 0 && (entries * bits_per_entry < 8 || probes > 64)
                }
                _ => false,
            };
            degenerate || unsorted(&h.last_sync)
        })
}

// ---------------------------------------------------------------------------------------------
// hsds_import
// ---------------------------------------------------------------------------------------------

/// The datapackage's files in the order the input's NUL-separated parts fill them.
const PACKAGE_FILES: &[&str] = &[
    "datapackage.json",
    "x_contactpoint_documents.csv",
    "organizations.csv",
    "services.csv",
    "phones.csv",
    "schedules.csv",
    "service_areas.csv",
    "languages.csv",
    "contacts.csv",
];

/// The first byte chooses the format: even is HSDS JSON (the rest, as text), odd is the CSV
/// datapackage (the rest split at NUL bytes into `datapackage.json` and then the tables).
/// Whatever imports is written into a document as the relay's import does, read back and
/// exported again, and the export must import to the same directories.
pub fn hsds_import(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let imported = if mode % 2 == 0 {
        hsds::import_json(&String::from_utf8_lossy(rest))
    } else {
        let files: BTreeMap<String, String> = PACKAGE_FILES
            .iter()
            .zip(rest.split(|b| *b == 0))
            .map(|(name, part)| ((*name).to_owned(), String::from_utf8_lossy(part).into_owned()))
            .collect();
        hsds::import_datapackage(&files)
    };
    let Ok(dirs) = imported else { return };
    for d in &dirs {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![4u8; 16]));
        let mut tx = doc.transaction();
        let written = store::write_directory(
            &mut tx,
            &Directory {
                organisations: BTreeMap::new(),
                contact_points: BTreeMap::new(),
                cards: BTreeMap::new(),
                ..d.clone()
            },
        )
        .and_then(|()| hsds::apply(&mut tx, d));
        tx.commit();
        written.expect("an imported directory can be written");
        let back = store::read_directory(&doc).expect("a written directory reads back");
        assert_eq!(&back.contact_points, &d.contact_points, "contact points change on the way through a document");
    }
    let again = hsds::import_json(&hsds::export_json(&dirs)).expect("an export of an import imports");
    assert_eq!(again, dirs, "an export of an import imports to different directories");
    let again = hsds::import_datapackage(&hsds::export_datapackage(&dirs)).expect("a datapackage export imports");
    assert_eq!(again, dirs, "a datapackage export of an import imports to different directories");
}

// ---------------------------------------------------------------------------------------------
// automerge_load
// ---------------------------------------------------------------------------------------------

/// Loads bytes the way the relay loads stored chunks and checks a writer's chunks: a whole
/// document refusing partial loads, and a single change.
pub fn automerge_load(data: &[u8]) {
    let_our_code_catch_panics();
    // Peer data reaches Automerge's parsers only through the chunk check. The relay stores only
    // what the check accepted, and a client only what it received from the relay or made itself,
    // so stored bytes are trusted and only checked bytes are loaded here. Automerge's own loader
    // accepts chunk types the check refuses, and some of them cost seconds and gigabytes to load
    // (`regressions/automerge_load/unknown-chunk-type-3`): a database or device storage that is
    // corrupted on disk could hold such bytes, which backups and the disk's own checks guard.
    let checked =
        contactpoint_protocol::bounds::check_chunks(std::iter::once(data), &contactpoint_protocol::Bounds::default());
    if checked.is_err() {
        return;
    }
    if let Ok(doc) = DocSync::<u8>::load(data) {
        let _ = doc.heads();
        let _ = store::document_kind(doc.doc());
    }
}

// ---------------------------------------------------------------------------------------------
// Seed corpus
// ---------------------------------------------------------------------------------------------

/// The seed corpus: real wire frames and sync messages from a two-peer exchange over the
/// fixture, and HSDS exports of part of the sample data. (target, file name, bytes).
pub fn seed_corpus() -> Vec<(&'static str, String, Vec<u8>)> {
    let f = fixture();
    let mut out = Vec::new();

    // Two peers syncing: the relay's document and the peer's copy, until neither has more to say.
    let mut relay = DocSync::<u8>::new(f.doc.clone());
    relay.add_peer(1, Access::Write, None);
    let mut peer = DocSync::<u8>::new(Automerge::load(&f.whole).expect("the fixture loads"));
    peer.add_peer(0, Access::Write, None);
    let mut messages = Vec::new();
    let mut to_relay: Vec<Vec<u8>> = peer.generate(&0).into_iter().collect();
    let mut to_peer: Vec<Vec<u8>> = relay.generate(&1).into_iter().collect();
    for _ in 0..10 {
        for m in std::mem::take(&mut to_relay) {
            messages.push(m.clone());
            if let Ok(r) = relay.receive(&1, &m) {
                to_peer.extend(r.outgoing.into_iter().map(|(_, m)| m));
            }
        }
        for m in std::mem::take(&mut to_peer) {
            messages.push(m.clone());
            if let Ok(r) = peer.receive(&0, &m) {
                to_relay.extend(r.outgoing.into_iter().map(|(_, m)| m));
            }
        }
    }
    for (i, m) in messages.iter().enumerate() {
        for target in ["doc_sync_reader", "doc_sync_writer"] {
            let mut input = vec![0u8];
            input.extend_from_slice(m);
            out.push((target, format!("exchange-{i}"), input));
        }
    }

    // Wire frames: every message type, one carrying a real sync message.
    let doc_id = contactpoint_protocol::DocumentId::from_random_bytes([7; 16]);
    let (_, join) =
        Connection::client("phone-1".into(), PeerMetadata { storage_id: Some("s1".into()), is_ephemeral: false });
    let dm = |data: Vec<u8>| contactpoint_protocol::DocMessage {
        sender_id: "peer".into(),
        target_id: "relay".into(),
        document_id: doc_id,
        data,
    };
    let frames = [
        ("join", join),
        (
            "peer",
            Message::Peer {
                sender_id: "relay".into(),
                target_id: "peer".into(),
                selected_protocol_version: "1".into(),
                metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: true }),
            }
            .encode(),
        ),
        ("sync", Message::Sync(dm(messages.first().cloned().unwrap_or_default())).encode()),
        ("request", Message::Request(dm(vec![0x42, 0, 0, 1, 0, 0])).encode()),
        ("error", Message::Error { message: "no".into(), refusal: None }.encode()),
        (
            "refusal",
            Connection::refusal_frame(
                "no",
                contactpoint_protocol::Refusal::new(contactpoint_protocol::Reason::Invalid).about(doc_id).with_issues(
                    [contactpoint_protocol::RefusedIssue {
                        path: "contact_points.c.phones[0].number".into(),
                        code: "phone_format".into(),
                        params: [("value".to_owned(), "x".to_owned())].into(),
                    }],
                ),
            ),
        ),
        (
            "doc-unavailable",
            Message::DocUnavailable { sender_id: "relay".into(), target_id: "peer".into(), document_id: doc_id }
                .encode(),
        ),
        (
            "ephemeral",
            Message::Ephemeral {
                sender_id: "peer".into(),
                target_id: "relay".into(),
                count: 3,
                session_id: "x".into(),
                document_id: doc_id,
                data: vec![1, 2, 3],
            }
            .encode(),
        ),
        ("leave", Message::Leave { sender_id: "peer".into() }.encode()),
        ("ignored", Message::Ignored { kind: "remote-heads-changed".into(), sender_id: Some("peer".into()) }.encode()),
    ];
    for (name, frame) in frames {
        out.push(("wire_decode", name.to_owned(), frame));
    }

    // HSDS: one city's sample data, as JSON and as a datapackage.
    let dirs = contactpoint_directory::seed::directories("2026-11-24").expect("the seed data builds");
    let small: Vec<Directory> = dirs.into_iter().filter(|d| !d.is_national()).take(1).collect();
    let mut json = vec![0u8];
    json.extend_from_slice(hsds::export_json(&small).as_bytes());
    out.push(("hsds_import", "export-json".into(), json));
    let files = hsds::export_datapackage(&small);
    let mut package = vec![1u8];
    for (i, name) in PACKAGE_FILES.iter().enumerate() {
        if i > 0 {
            package.push(0);
        }
        package.extend_from_slice(files.get(*name).map_or("", String::as_str).as_bytes());
    }
    out.push(("hsds_import", "export-datapackage".into(), package));

    // Automerge: the fixture's document, the peer's copy, and each change.
    out.push(("automerge_load", "document".into(), f.doc.save()));
    out.push(("automerge_load", "peer-copy".into(), f.whole.clone()));
    for (i, c) in f.chunks.iter().enumerate() {
        out.push(("automerge_load", format!("change-{i}"), c.clone()));
    }
    out
}
