//! Crash safety: a relay process killed with SIGKILL while clients write never loses a change it
//! acknowledged.

use std::time::Duration;

use contactpoint_protocol::DocumentId;
use contactpoint_server::storage::Scope;
use contactpoint_tests::{Engine, NativeClient, RelayProcess};

const ROUNDS: usize = 20;
const WRITERS: usize = 3;

struct Writer {
    client: NativeClient,
    doc: DocumentId,
    written: Vec<String>,
    /// How many of `written` the relay has acknowledged.
    acked: usize,
}

on_both_engines!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn acknowledged_changes_survive_sigkill);
/// Twenty rounds of:
/// 1. Three writers each edit their own document as fast as they can.
/// 2. The relay process is killed with SIGKILL after a varying delay.
/// 3. It restarts on the same file.
/// 4. A fresh client checks that every change any writer saw acknowledged is there.
async fn acknowledged_changes_survive_sigkill(engine: Engine) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = engine.fresh(dir.path())?;
    let (token, docs) = contactpoint_tests::admin_with_documents(&path, &Scope::National, WRITERS)?;
    let mut writers: Vec<Writer> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut client = NativeClient::new(&format!("writer-{i}"));
            client.open(*d);
            Writer { client, doc: *d, written: Vec::new(), acked: 0 }
        })
        .collect();

    let mut total_acked_checked = 0;
    for round in 0..ROUNDS {
        let relay = RelayProcess::start(&path)?;
        let url = format!("ws://{}/sync?token={token}", relay.addr);
        for w in &mut writers {
            w.client.connect(&url).await?;
        }
        // Each round starts with a change every writer saw acknowledged, so that every round
        // checks some (a relay over a busy database server may take longer than the shortest
        // delay below to acknowledge its first write).
        for w in &mut writers {
            let key = format!("r{round}-first");
            w.client.put(w.doc, &key, "v").await?;
            w.written.push(key);
            let doc = w.doc;
            w.client.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
            w.acked = w.written.len();
        }
        // Vary the moment of death from round to round (20 ms to 400 ms of writing).
        let delay = Duration::from_millis(20 + (round as u64 * 97) % 380);
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            relay.kill9()
        });
        let mut i = 0;
        while writers.iter().any(|w| w.client.is_connected()) {
            for w in &mut writers {
                if !w.client.is_connected() {
                    continue;
                }
                let key = format!("r{round}-{i}");
                w.client.put(w.doc, &key, "v").await?;
                w.written.push(key);
                w.client.pump().await?;
                if w.client.session.is_acknowledged(&w.doc) {
                    w.acked = w.written.len();
                }
            }
            i += 1;
            if i > 100_000 {
                anyhow::bail!("the relay was never killed");
            }
        }
        killer.join().map_err(|_| anyhow::anyhow!("killer thread panicked"))??;

        // Restart and verify with a client that has never seen the documents.
        let relay = RelayProcess::start(&path)?;
        let url = format!("ws://{}/sync?token={token}", relay.addr);
        let mut checker = NativeClient::new(&format!("checker-{round}"));
        for d in &docs {
            checker.open(*d);
        }
        checker.connect(&url).await?;
        for w in &writers {
            let (doc, last) = (w.doc, w.written[..w.acked].last().cloned());
            if let Some(key) = last {
                checker.wait_until(|c| c.get(doc, &key).is_some()).await?;
            }
            for key in &w.written[..w.acked] {
                assert!(checker.get(w.doc, key).is_some(), "round {round}: acknowledged change {key} was lost");
            }
            total_acked_checked += w.acked;
        }
        relay.kill9()?;
        for w in &mut writers {
            w.client.disconnect().await;
        }
    }
    let written: usize = writers.iter().map(|w| w.written.len()).sum();
    let acked: usize = writers.iter().map(|w| w.acked).sum();
    println!(
        "{ROUNDS} SIGKILL rounds: {written} changes written, {acked} acknowledged, all present ({total_acked_checked} checks)"
    );
    assert!(acked > 0, "no change was ever acknowledged, so the test proved nothing");
    Ok(())
}
