//! Every reader converges, whatever valid changes writers make while peers come and go: a
//! property test over a real relay on loopback and our client engine, driven by a seeded random
//! schedule, plus the stuck-reader case that once left phones behind for good as a fixed fixture.
//!
//! `CONVERGENCE_SEEDS=1,2,3` and `CONVERGENCE_STEPS=N` run other schedules; a failure names its
//! seed, and the same seed gives the same schedule of edits and disconnections again.

use anyhow::{Context, Result, ensure};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ChangeHash, ROOT};
use contactpoint_server::auth::Role;
use contactpoint_tests::{NativeClient, TestRelay, one_change_doc, stored_doc};

/// A small deterministic generator (xorshift64*): the schedule depends on the seed only.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Text of `len` bytes that compresses about as well as prose does, not to nothing.
    pub(crate) fn text(&mut self, len: usize) -> String {
        const WORDS: [&str; 12] = [
            "yhteys",
            "kontakt",
            "contact",
            "poliisi",
            "nuoriso",
            "helpline",
            "kunta",
            "vastaanotto",
            "ohjaus",
            "hjälp",
            "+358",
            "päivystys",
        ];
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            s.push_str(WORDS[self.below(WORDS.len())]);
            s.push_str(&(self.next() % 1000).to_string());
            s.push(' ');
        }
        s.truncate(s.char_indices().take_while(|(i, _)| *i < len).last().map_or(0, |(i, c)| i + c.len_utf8()));
        s
    }

    /// A value size: mostly short fields, sometimes long descriptions, now and then over 100 KB.
    pub(crate) fn size(&mut self) -> usize {
        match self.below(10) {
            0..=4 => 1 + self.below(40),
            5..=7 => 200 + self.below(4_000),
            8 => 20_000 + self.below(40_000),
            _ => 100_000 + self.below(60_000),
        }
    }
}

/// One peer of the schedule.
struct Peer {
    client: NativeClient,
    url: String,
    writer: bool,
}

impl Peer {
    async fn toggle(&mut self) -> Result<()> {
        if self.client.is_connected() {
            self.client.disconnect().await;
        } else {
            self.client.connect(&self.url).await?;
        }
        Ok(())
    }
}

fn heads(doc: &Automerge) -> Vec<ChangeHash> {
    let mut h = doc.get_heads();
    h.sort();
    h
}

/// Two documents shaped as real ones are: one made in one change (the seed, an import), one
/// made of many small edits.
async fn documents(relay: &TestRelay) -> Result<Vec<DocumentId>> {
    let one = DocumentId::from_random_bytes([71; 16]);
    let many = DocumentId::from_random_bytes([72; 16]);
    let mut admin = NativeClient::new("creator");
    admin.session.create_doc(one, one_change_doc(300));
    admin.session.create_doc(many, Automerge::new());
    admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    for i in 0..60 {
        admin.put(many, &format!("entry-{i:05}"), &format!("first version {i}")).await?;
    }
    admin.wait_until(|c| c.session.is_acknowledged(&one) && c.session.is_acknowledged(&many)).await?;
    admin.disconnect().await;
    Ok(vec![one, many])
}

/// Brings every peer online and waits until the relay has every writer's changes and every peer
/// has exactly the relay's heads.
async fn converge(relay: &TestRelay, peers: &mut [Peer], docs: &[DocumentId], seed: u64) -> Result<()> {
    for p in peers.iter_mut() {
        if !p.client.is_connected() {
            p.client.connect(&p.url).await?;
        }
    }
    for p in peers.iter_mut().filter(|p| p.writer) {
        p.client
            .wait_until(|c| docs.iter().all(|d| c.session.is_acknowledged(d)))
            .await
            .with_context(|| format!("seed {seed}: a writer's changes never reached the relay"))?;
    }
    for d in docs {
        let stored = heads(&stored_doc(&relay.db, *d)?);
        for (i, p) in peers.iter_mut().enumerate() {
            p.client
                .wait_until(|c| c.session.doc(d).is_some_and(|doc| heads(doc) == stored))
                .await
                .with_context(|| format!("seed {seed}: peer {i} never reached the relay's heads of {d}"))?;
            ensure!(p.client.errors.is_empty(), "seed {seed}: peer {i} was told {:?}", p.client.errors);
        }
    }
    Ok(())
}

async fn run(seed: u64, steps: usize) -> Result<()> {
    let relay = TestRelay::start().await?;
    let docs = documents(&relay).await?;
    let mut rng = Rng::new(seed);
    let mut peers = Vec::new();
    for (name, writer, named) in [
        ("writer-a", true, true),
        ("writer-b", true, false),
        ("reader-a", false, true),
        ("reader-b", false, true),
        ("reader-c", false, false),
    ] {
        let mut client = if named { NativeClient::new(name) } else { NativeClient::without_storage_id(name) };
        for d in &docs {
            client.open(*d);
        }
        let role = if writer { Role::Admin } else { Role::Reader };
        let url = relay.url(&relay.token(role, &[]));
        client.connect(&url).await?;
        peers.push(Peer { client, url, writer });
    }
    for step in 0..steps {
        let p = rng.below(peers.len());
        match rng.below(10) {
            // Edits, several in a row now and then, while online or offline.
            0..=5 if peers[p].writer => {
                let doc = docs[rng.below(docs.len())];
                for _ in 0..1 + rng.below(3) {
                    let key = format!("entry-{:05}", rng.below(320));
                    let size = rng.size();
                    let value = rng.text(size);
                    peers[p].client.put(doc, &key, &value).await.with_context(|| format!("seed {seed} step {step}"))?;
                }
            }
            0..=7 => peers[p].toggle().await.with_context(|| format!("seed {seed} step {step}: reconnect"))?,
            _ => {
                for q in peers.iter_mut() {
                    q.client.pump().await?;
                }
            }
        }
    }
    converge(&relay, &mut peers, &docs, seed).await
}

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::test]
async fn every_reader_converges_whatever_the_schedule() -> Result<()> {
    let seeds: Vec<u64> = from_env("CONVERGENCE_SEEDS")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 3]);
    let steps = from_env("CONVERGENCE_STEPS").and_then(|s| s.parse().ok()).unwrap_or(40);
    for seed in seeds {
        run(seed, steps).await?;
    }
    Ok(())
}

/// The case found in the field: an editor saves a long description, then makes two more edits
/// while a reader is offline; the reader must catch up (it once never did: the three changes
/// came back to back in one entry of the sync message, which the check refused).
#[tokio::test]
async fn a_reader_offline_through_several_edits_catches_up() -> Result<()> {
    let relay = TestRelay::start().await?;
    let id = DocumentId::from_random_bytes([73; 16]);
    let mut editor = NativeClient::new("editor");
    editor.session.create_doc(id, Automerge::new());
    editor.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    for i in 0..100 {
        editor.put(id, &format!("entry-{i:05}"), "value").await?;
    }
    editor.wait_until(|c| c.session.is_acknowledged(&id)).await?;
    let mut reader = NativeClient::new("reader");
    reader.open(id);
    let url = relay.url(&relay.token(Role::Reader, &[]));
    reader.connect(&url).await?;
    reader.wait_until(|c| c.get(id, "entry-00099").is_some()).await?;
    reader.disconnect().await;

    let mut rng = Rng::new(7);
    let long = rng.text(140_000);
    editor
        .change(id, |d| {
            let mut tx = d.transaction();
            tx.put(ROOT, "description", long.as_str()).expect("put");
            tx.commit();
        })
        .await?;
    editor.put(id, "entry-00001", "edited").await?;
    editor.put(id, "entry-00002", "edited").await?;
    editor.wait_until(|c| c.session.is_acknowledged(&id)).await?;

    reader.connect(&url).await?;
    let stored = heads(&stored_doc(&relay.db, id)?);
    reader.wait_until(|c| c.session.doc(&id).is_some_and(|d| heads(d) == stored)).await?;
    ensure!(reader.errors.is_empty() && reader.closed.is_none(), "{:?} {:?}", reader.errors, reader.closed);
    ensure!(reader.get(id, "description").map(|d| d.len()) == Some(long.len()), "the long description arrived whole");
    Ok(())
}
