//! The honest peers of the attack benchmark: an editor of Helsinki and a reader of the same
//! document, connected before the attack starts. The editor changes one contact's description;
//! the time until the reader holds the change is the sync latency an attack may hurt.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use contactpoint_directory::LocalizedText;
use contactpoint_directory::store::{read_contact_point, read_directory, write_contact_point};
use contactpoint_protocol::DocumentId;

use crate::bench::client::Client;

/// How long connecting and the first sync of the document may take.
const CONNECT: Duration = Duration::from_secs(10);

/// An honest editor and reader of one document.
pub struct Honest {
    editor: Client,
    reader: Client,
    doc: DocumentId,
    contact: String,
    round: usize,
    /// Why a peer's connection ended, once one has.
    pub lost: Option<String>,
}

/// What the honest pair saw over one run of edits.
#[derive(Debug, Default)]
pub struct Latencies {
    /// Milliseconds from the edit to the reader holding it, for every edit that arrived.
    pub delivered_ms: Vec<f64>,
    /// Edits made.
    pub edits: usize,
}

impl Honest {
    /// Connects both peers and waits until each holds the document.
    pub async fn connect(editor_url: &str, reader_url: &str, doc: DocumentId, tag: &str) -> Result<Honest> {
        let mut editor = Client::new(format!("{tag}-honest-editor"), Some(format!("{tag}-storage-editor")));
        let mut reader = Client::new(format!("{tag}-honest-reader"), Some(format!("{tag}-storage-reader")));
        let has_contacts = |c: &Client| {
            c.session.doc(&doc).is_some_and(|d| read_directory(d).is_ok_and(|d| !d.contact_points.is_empty()))
        };
        for (c, url) in [(&mut editor, editor_url), (&mut reader, reader_url)] {
            c.connect(url, CONNECT).await?;
            let events = c.session.open_doc(doc, None, None)?;
            c.send(events).await?;
            c.wait_until(CONNECT, has_contacts).await.context("the honest peer did not receive Helsinki's document")?;
        }
        let contact = read_directory(editor.session.doc(&doc).context("no document")?)?
            .contact_points
            .into_keys()
            .next()
            .context("Helsinki's document has no contact point")?;
        // Both hold the same heads before anything is measured.
        let heads = editor.heads(&doc);
        reader.wait_until(CONNECT, |c| c.has_all(&doc, &heads)).await?;
        Ok(Honest { editor, reader, doc, contact, round: 0, lost: None })
    }

    /// Makes `edits` edits, one after another, each waited for at most `per_edit`, all within
    /// `budget`; an edit that does not arrive in time is counted as made but not delivered.
    pub async fn edit_rounds(
        &mut self,
        edits: usize,
        gap: Duration,
        per_edit: Duration,
        budget: Duration,
    ) -> Latencies {
        let mut out = Latencies::default();
        let end = Instant::now() + budget;
        for _ in 0..edits {
            if self.lost.is_some() || Instant::now() >= end {
                break;
            }
            out.edits += 1;
            let deadline = (Instant::now() + per_edit).min(end);
            match self.one_edit(deadline).await {
                Ok(Some(ms)) => out.delivered_ms.push(ms),
                Ok(None) => {}
                Err(e) => self.lost = Some(format!("{e:#}")),
            }
            // Keep both sockets read between edits, as a live app does.
            let pause = (Instant::now() + gap).min(end);
            if let Err(e) = self.pump_until(pause, |_, _| false).await {
                self.lost.get_or_insert(format!("{e:#}"));
            }
        }
        out
    }

    /// One edit: `Some(ms)` when the reader held it before `deadline`.
    async fn one_edit(&mut self, deadline: Instant) -> Result<Option<f64>> {
        self.round += 1;
        let doc = self.doc;
        let text = format!("Checked by the honest editor, round {}.", self.round);
        let mut cp = read_contact_point(self.editor.session.doc(&doc).context("no document")?, &self.contact)
            .context("the contact point is gone")?;
        cp.description = LocalizedText::from_pairs([("en", text.as_str())]);
        let mut failed = None;
        let events = self.editor.session.change(&doc, |d| {
            let mut tx = d.transaction();
            if let Err(e) = write_contact_point(&mut tx, &cp) {
                failed = Some(format!("{e:?}"));
            }
            tx.commit();
        });
        if let Some(e) = failed {
            bail!("the edit could not be written: {e}");
        }
        let started = Instant::now();
        self.editor.send(events).await?;
        let heads = self.editor.heads(&doc);
        let arrived = self.pump_until(deadline, |_, reader| reader.has_all(&doc, &heads)).await?;
        Ok(arrived.then(|| started.elapsed().as_secs_f64() * 1000.0))
    }

    /// Reads both sockets until `done(editor, reader)` holds (true) or `deadline` passes (false).
    async fn pump_until(&mut self, deadline: Instant, done: impl Fn(&Client, &Client) -> bool) -> Result<bool> {
        loop {
            if done(&self.editor, &self.reader) {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            tokio::select! {
                f = self.editor.next_frame(left) => {
                    if let Some((_, frame)) = f.context("honest editor")? {
                        self.editor.process(&frame).await?;
                    }
                }
                f = self.reader.next_frame(left) => {
                    if let Some((_, frame)) = f.context("honest reader")? {
                        self.reader.process(&frame).await?;
                    }
                }
            }
        }
    }

    /// Whether both peers are still connected, and if not, why.
    pub fn connected(&self) -> Result<(), String> {
        if let Some(l) = &self.lost {
            return Err(l.clone());
        }
        for (who, c) in [("editor", &self.editor), ("reader", &self.reader)] {
            if let Some(r) = &c.closed {
                return Err(format!("the honest {who}'s connection ended: {r}"));
            }
        }
        Ok(())
    }

    /// Closes both connections, briefly.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            self.editor.close().await;
            self.reader.close().await;
        })
        .await;
    }
}
