//! Erasure (GDPR Art. 17) end to end: `contactpoint admin erase` against a running relay process
//! while the official JavaScript client and a native client hold the document, and an offline
//! app device holds an older copy with unsent edits. Afterwards the erased name and phone number
//! occur in no state of any change of any document the relay serves, nor in its SQLite files
//! (every stored chunk decoded, and the raw bytes of the file and its write-ahead log); the
//! offline device drops its copy and keeps only its unrelated edit; an admin cannot re-create the
//! old document, and no writer can bring the erased id back.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use contactpoint_client_wasm::history::Discarded;
use contactpoint_client_wasm::session::{Client, Effect};
use contactpoint_directory::history::set_contact_field;
use contactpoint_directory::store::{read_contact_point, read_directory, write_contact_point};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::{Automerge, Change};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::{self, Db, Scope};
use contactpoint_tests::{
    Engine, NativeClient, RelayProcess, WAIT, contactpoint, contactpoint_ok, doc_json, token_for,
};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The values the test writes into the contact point it then erases; none may survive.
pub(crate) const NAME: &str = "Päivi Pyyhittävä";
pub(crate) const PHONE: &str = "+358 40 765 4321";
const EMAIL: &str = "paivi.pyyhittava@example.fi";
/// An unrelated offline edit that must survive.
const KEPT: &str = "offline.edit@example.fi";

fn needles() -> [&'static str; 3] {
    [NAME, PHONE, EMAIL]
}

/// Every string in a decoded change, run together: a text written as characters (as the
/// JavaScript client writes strings) reads as the whole string again.
fn change_text(change: &Change) -> String {
    fn values(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Array(a) => a.iter().for_each(|v| values(v, out)),
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        serde_json::Value::String(s) if k == "value" => out.push_str(s),
                        other => values(other, out),
                    }
                }
            }
            _ => {}
        }
    }
    let decoded = change.decode();
    // The operations' values in order, run together; then everything else the change holds.
    let mut out = String::new();
    values(&serde_json::to_value(&decoded).unwrap_or_default(), &mut out);
    out.push_str(&format!("{decoded:?}"));
    out
}

/// Where any needle occurs in a document: in any change (decoded), in the state after any change,
/// or in its uncompressed encoding.
fn mentions(doc: &Automerge) -> Vec<String> {
    let mut found = Vec::new();
    let changes = doc.get_changes(&[]);
    for c in &changes {
        let text = change_text(c);
        let state = doc.fork_at(&[c.hash()]).map(|d| doc_json(&d).to_string()).unwrap_or_default();
        for n in needles() {
            if text.contains(n) {
                found.push(format!("change {} holds {n:?}", c.hash()));
            }
            if state.contains(n) {
                found.push(format!("the state at {} holds {n:?}", c.hash()));
            }
        }
    }
    let raw = doc.save_nocompress();
    for n in needles() {
        if contains(&raw, n.as_bytes()) {
            found.push(format!("the uncompressed document holds {n:?}"));
        }
    }
    found
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The Automerge chunks in stored bytes (several may follow each other), each as (type, bytes).
fn chunks(mut bytes: &[u8]) -> Result<Vec<(u8, &[u8])>> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let mut out = Vec::new();
    while !bytes.is_empty() {
        ensure!(bytes.len() > 9 && bytes[..4] == MAGIC, "stored bytes that are no Automerge chunk");
        let kind = bytes[8];
        let (mut len, mut shift, mut at) = (0usize, 0, 9);
        loop {
            let b = *bytes.get(at).context("a chunk header is cut off")?;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = at + len;
        ensure!(end <= bytes.len(), "a chunk is cut off");
        out.push((kind, &bytes[..end]));
        bytes = &bytes[end..];
    }
    Ok(out)
}

/// Decodes one stored blob chunk by chunk and reports any needle in what it holds.
fn blob_mentions(what: &str, blob: &[u8]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for (kind, chunk) in chunks(blob)? {
        let hits = match kind {
            0 => mentions(&Automerge::load(chunk).map_err(|e| anyhow!("{what}: a document chunk does not load: {e}"))?),
            1 | 2 => {
                let change =
                    Change::from_bytes(chunk.to_vec()).map_err(|e| anyhow!("{what}: a change does not load: {e}"))?;
                let text = change_text(&change);
                needles().iter().filter(|n| text.contains(*n)).map(|n| format!("a change holds {n:?}")).collect()
            }
            other => bail!("{what}: a chunk of type {other} was not expected"),
        };
        found.extend(hits.into_iter().map(|h| format!("{what}: {h}")));
    }
    Ok(found)
}

/// The app's client (the same code the browser runs, natively) over a WebSocket, with an
/// in-memory store that does what `store.js` does with each effect.
struct AppDevice {
    client: Client,
    ws: Option<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>>,
    /// Stored chunks per document.
    store: HashMap<String, Vec<u8>>,
    /// Stored sync states per document.
    states: HashMap<String, Vec<u8>>,
    opened: BTreeSet<String>,
    erased: Vec<(String, Option<String>)>,
    carried: Vec<(String, usize, Vec<Discarded>)>,
    errors: Vec<String>,
}

impl AppDevice {
    fn new() -> AppDevice {
        let mut client = Client::new("tab-erasure".into(), "browser-erasure".into());
        client.set_author("Offline editor", 1_764_000_000_000);
        AppDevice {
            client,
            ws: None,
            store: HashMap::new(),
            states: HashMap::new(),
            opened: BTreeSet::new(),
            erased: Vec::new(),
            carried: Vec::new(),
            errors: Vec::new(),
        }
    }

    async fn open(&mut self, id: &str) -> Result<()> {
        if !self.opened.insert(id.to_owned()) {
            return Ok(());
        }
        let stored = self.store.get(id).cloned().unwrap_or_default();
        let effects = self.client.open_doc(id, &stored, self.states.get(id).cloned()).map_err(|e| anyhow!("{e}"))?;
        self.apply(effects).await
    }

    async fn connect(&mut self, url: &str) -> Result<()> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        self.ws = Some(ws);
        let effects = self.client.connect();
        self.apply(effects).await?;
        self.wait_until("the handshake", |d| d.client.is_connected()).await
    }

    async fn disconnect(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.close(None).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), async { while ws.next().await.is_some() {} }).await;
        }
        self.client.disconnected();
        for id in self.opened.clone() {
            if let Some(s) = self.client.sync_state(&id) {
                self.states.insert(id, s);
            }
        }
    }

    async fn apply(&mut self, effects: Vec<Effect>) -> Result<()> {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::Send { bytes } => {
                    if let Some(ws) = self.ws.as_mut() {
                        ws.send(WsMessage::Binary(bytes.into())).await?;
                    }
                }
                Effect::Store { doc, bytes } => self.store.entry(doc).or_default().extend(bytes),
                Effect::Replace { doc, bytes } => {
                    self.store.insert(doc, bytes);
                }
                Effect::Open { doc } => {
                    if self.opened.insert(doc.clone()) {
                        let stored = self.store.get(&doc).cloned().unwrap_or_default();
                        let more = self
                            .client
                            .open_doc(&doc, &stored, self.states.get(&doc).cloned())
                            .map_err(|e| anyhow!("{e}"))?;
                        queue.extend(more);
                    }
                }
                Effect::Erased { doc, replaced_by } => {
                    self.opened.remove(&doc);
                    self.store.remove(&doc);
                    self.states.remove(&doc);
                    self.erased.push((doc, replaced_by));
                }
                Effect::Carried { doc, carried, reenter } => self.carried.push((doc, carried, reenter)),
                Effect::Refused { message, .. } => self.errors.push(message),
                Effect::SyncFailed { reason, .. } => self.errors.push(reason),
                Effect::Closed { reason } => self.errors.push(reason),
                Effect::Connected { .. } | Effect::Changed { .. } | Effect::Unavailable { .. } => {}
            }
        }
        Ok(())
    }

    async fn wait_until(&mut self, what: &str, pred: impl Fn(&mut AppDevice) -> bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !pred(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ws = self.ws.as_mut().with_context(|| format!("not connected while waiting for {what}"))?;
            match tokio::time::timeout(left, ws.next()).await {
                Err(_) => bail!("{what} did not happen within {WAIT:?} (errors: {:?})", self.errors),
                Ok(Some(Ok(WsMessage::Binary(b)))) => {
                    let effects = self.client.receive(&b);
                    self.apply(effects).await?;
                }
                Ok(Some(Ok(_))) => {}
                Ok(None) | Ok(Some(Err(_))) => {
                    bail!("the connection closed while waiting for {what}: {:?}", self.errors)
                }
            }
        }
        Ok(())
    }

    fn doc(&self, id: &str) -> Option<Automerge> {
        self.store.get(id).and_then(|b| Automerge::load(b).ok())
    }
}

/// `node interop.mjs erased …`, started in the background; returns once it holds the document.
async fn js_holds(url: &str, doc: DocumentId, index: DocumentId) -> Result<tokio::process::Child> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js");
    ensure!(
        dir.join("node_modules/@automerge/automerge-repo-network-websocket").is_dir(),
        "the JavaScript client is not installed: run `npm ci --prefix tests/js`"
    );
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let mut child = tokio::process::Command::new(node)
        .arg(dir.join("interop.mjs"))
        .args(["erased", url, &format!("automerge:{doc}"), &format!("automerge:{index}")])
        .current_dir(&dir)
        // The erasure runs while it waits: three runs of the command line, which on a busy
        // machine with PostgreSQL (a connection and a `VACUUM FULL` each) take longer than the
        // script's usual bound.
        .env("INTEROP_TIMEOUT_MS", WAIT.as_millis().to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.as_mut().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first =
        tokio::time::timeout(WAIT, lines.next_line()).await.context("the JavaScript client never got ready")??;
    ensure!(first.as_deref() == Some(r#"{"ready":true}"#), "the JavaScript client said {first:?}");
    Ok(child)
}

async fn js_result(child: tokio::process::Child) -> Result<serde_json::Value> {
    let out = tokio::time::timeout(WAIT, child.wait_with_output()).await.context("the JavaScript client hung")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| anyhow!("no JSON result ({e}): {stdout}"))?;
    ensure!(v["ok"] == serde_json::Value::Bool(true), "the JavaScript client failed: {}", v["error"]);
    Ok(v)
}

/// An area document with two contact points in use, the first with a phone number.
pub(crate) fn pick(db: &Db) -> Result<(DocumentId, String, String)> {
    let docs = db.with(|c| storage::list_docs(c))?;
    for (id, scope, tombstoned) in docs {
        if tombstoned || !matches!(scope, Scope::Area(_)) {
            continue;
        }
        let id: DocumentId = id.parse()?;
        let d = read_directory(&contactpoint_tests::stored_doc(db, id)?)?;
        let live: Vec<_> = d.contact_points.values().filter(|c| !c.is_retired()).collect();
        if let [first, second, ..] = live[..]
            && !first.phones.is_empty()
        {
            return Ok((id, first.id.clone(), second.id.clone()));
        }
    }
    bail!("the seed has no area document with two contact points")
}

fn field_change(contact: &str, field: &str, value: &str) -> impl FnOnce(&mut Automerge) {
    let (contact, field, value) = (contact.to_owned(), field.to_owned(), value.to_owned());
    move |d: &mut Automerge| {
        let mut tx = d.transaction();
        set_contact_field(&mut tx, &contact, &field.parse().expect("path"), Some(&value)).expect("set");
        tx.commit();
    }
}

on_both_engines!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn erasure_leaves_nothing_on_the_relay_and_devices_follow);

async fn erasure_leaves_nothing_on_the_relay_and_devices_follow(engine: Engine) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = engine.fresh(dir.path())?;
    let relay = RelayProcess::start_with_args(&path, "127.0.0.1:0", &[OsStr::new("--seed")])?;
    let db_arg = path.to_str().context("the database is not named in UTF-8")?;
    let db = Db::open(&path)?;
    let url = |token: &str| format!("ws://{}/sync?token={token}", relay.addr);
    let index: DocumentId = db.with(|c| storage::meta_get(c, "index_document_id"))?.context("no index")?.parse()?;
    let (old, victim, other) = pick(&db)?;

    // A native admin holds the document and names the person in the contact point; the official
    // JavaScript client writes the phone number.
    let mut native = NativeClient::new("native-admin");
    native.open(index);
    native.open(old);
    native.connect(&url(&token_for(&db, Role::Admin, &[]))).await?;
    native
        .wait_until(|c| {
            c.session.is_acknowledged(&old) && c.session.doc(&old).is_some_and(|d| !d.get_heads().is_empty())
        })
        .await?;
    native.change(old, field_change(&victim, "name.fi", NAME)).await?;
    native.wait_until(|c| c.session.is_acknowledged(&old)).await?;
    let js_write = tokio::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js/interop.mjs"))
        .args([
            "write",
            &url(&token_for(&db, Role::Admin, &[])),
            &format!("automerge:{old}"),
            &format!("/contact_points/{victim}/phones/0/number"),
            PHONE,
        ])
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js"))
        .output();
    let written = tokio::time::timeout(WAIT, js_write).await??;
    let line =
        String::from_utf8_lossy(&written.stdout).lines().rev().find(|l| l.starts_with('{')).unwrap_or("").to_owned();
    let written: serde_json::Value = serde_json::from_str(&line).map_err(|e| anyhow!("{e}: {line}"))?;
    ensure!(written["accepted"] == serde_json::Value::Bool(true), "the JavaScript write was not accepted: {written}");
    native
        .wait_until(|c| {
            c.session
                .doc(&old)
                .and_then(|d| read_contact_point(d, &victim))
                .is_some_and(|cp| cp.phones[0].number == PHONE)
        })
        .await?;

    // The app device syncs both documents, goes offline and edits two contact points there: the
    // one that will be erased, and another one.
    let mut app = AppDevice::new();
    let app_token = token_for(&db, Role::Admin, &[]);
    app.open(&index.to_string()).await?;
    app.open(&old.to_string()).await?;
    app.connect(&url(&app_token)).await?;
    let (o, i) = (old.to_string(), index.to_string());
    app.wait_until("the first sync", |d| {
        d.client.is_acknowledged(&o)
            && d.client.is_acknowledged(&i)
            && d.doc(&o).and_then(|x| read_contact_point(&x, &victim)).is_some_and(|cp| cp.phones[0].number == PHONE)
    })
    .await?;
    app.disconnect().await;
    let e = app.client.set_contact_field(&other, "email", Some(KEPT)).map_err(|e| anyhow!("{e:?}"))?;
    app.apply(e).await?;
    let e = app.client.set_contact_field(&victim, "email", Some(EMAIL)).map_err(|e| anyhow!("{e:?}"))?;
    app.apply(e).await?;

    // The checks below can see the values: before the erase, the history holds both, the phone
    // written by the JavaScript client as text, character by character.
    let before = mentions(native.session.doc(&old).context("native copy")?);
    ensure!(
        before.iter().any(|m| m.contains(NAME)) && before.iter().any(|m| m.contains(PHONE)),
        "the history check does not see the values: {before:?}"
    );
    let stored_before: Vec<String> = db.with(|c| {
        let rows: Vec<(i64, Vec<u8>)> = c.query_map(
            "SELECT seq, data FROM chunks WHERE doc_id = ?1",
            contactpoint_server::args![old.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut found = Vec::new();
        for (seq, data) in rows {
            found.extend(
                blob_mentions(&format!("chunk {seq}"), &data)
                    .map_err(|e| storage::StorageError::Invalid(e.to_string()))?,
            );
        }
        Ok(found)
    })?;
    ensure!(
        stored_before.iter().any(|m| m.contains(PHONE)),
        "the chunk check does not see the values: {stored_before:?}"
    );

    // The official client holds the document while it is erased.
    let js = js_holds(&url(&token_for(&db, Role::Admin, &[])), old, index).await?;

    // No match: nothing happens.
    let none = contactpoint_ok(&["admin", "erase", "--db", db_arg, "--person", "Nobody Nowhere", "--yes"])?;
    ensure!(none.contains("No contact point names"), "{none}");
    // Without --yes and without a terminal nothing is changed.
    let (ok, _, err) = contactpoint(&["admin", "erase", "--db", db_arg, "--person", "paivi PYYHITTAVA"])?;
    ensure!(!ok && err.contains("--yes"), "{err}");
    ensure!(db.with(|c| storage::doc_scope(c, &old))?.is_some_and(|(_, t)| !t), "erased without confirmation");

    // Erase by the person's name, written without accents and in another case.
    let out = contactpoint_ok(&[
        "admin",
        "erase",
        "--db",
        db_arg,
        "--person",
        "paivi PYYHITTAVA",
        "--yes",
        "--by",
        "data protection officer",
    ])?;
    ensure!(out.contains("1 contact point(s) to erase") && out.contains(&victim), "{out}");
    let new: DocumentId = db
        .with(|c| {
            c.query_row(
                "SELECT replaced_by FROM documents WHERE id = ?1",
                contactpoint_server::args![old.to_string()],
                |r| r.get::<String>(0),
            )
        })?
        .parse()?;

    // The connected native client is told at once that the old document is gone.
    native.wait_until(|c| c.unavailable.contains(&old)).await?;
    native
        .wait_until(|c| {
            c.session.doc(&index).is_some_and(|d| {
                contactpoint_directory::store::read_replacements(d).get(&old.to_string()) == Some(&new.to_string())
            })
        })
        .await
        .context("the native client's index")?;
    // So is the official client, which then finds the replacement through the index.
    let js = js_result(js).await?;
    ensure!(js["replacement"] == serde_json::Value::String(new.to_string()), "{js}");
    ensure!(js["listed"] == serde_json::Value::Bool(false), "the index still lists the old document: {js}");
    ensure!(js["changes"] == serde_json::json!(1), "the replacement has history: {js}");
    let js_doc = js["doc"].to_string();
    ensure!(js_doc.contains(&other), "the replacement lacks the other entries");
    for n in needles() {
        ensure!(!js_doc.contains(n) && !js_doc.contains(&victim), "the JavaScript client's replacement holds {n:?}");
    }

    // The audit says who erased which id, never the values.
    let audit: Vec<String> =
        db.with(|c| c.query_map("SELECT detail FROM audit WHERE action = 'admin.erase'", &[], |r| r.get(0)))?;
    ensure!(
        audit.len() == 1 && audit[0].contains(&victim) && audit[0].contains("data protection officer"),
        "{audit:?}"
    );

    // The offline device comes back: its copy of the old document is deleted, its edit of the
    // other contact point reaches the new document, its edit of the erased one does not.
    app.connect(&url(&app_token)).await?;
    let n = new.to_string();
    app.wait_until("the old copy to be dropped and the edits carried", |d| {
        d.erased.iter().any(|(doc, _)| *doc == o) && !d.carried.is_empty() && d.client.is_acknowledged(&n)
    })
    .await?;
    ensure!(app.erased == vec![(o.clone(), Some(n.clone()))], "{:?}", app.erased);
    let (carried_to, count, reenter) = &app.carried[0];
    ensure!(*carried_to == n && *count == 1 && reenter.is_empty(), "{:?}", app.carried);
    ensure!(!app.store.contains_key(&o) && !app.states.contains_key(&o), "the device kept the old document");
    let mine = app.doc(&n).context("the device has no copy of the new document")?;
    ensure!(mentions(&mine).is_empty(), "the device's new copy: {:?}", mentions(&mine));
    ensure!(read_contact_point(&mine, &victim).is_none(), "the erased entry came back on the device");
    let stored_new = contactpoint_tests::stored_doc(&db, new)?;
    ensure!(
        read_contact_point(&stored_new, &other).and_then(|c| c.email).as_deref() == Some(KEPT),
        "the offline edit of another contact point was lost"
    );
    ensure!(read_contact_point(&stored_new, &victim).is_none(), "the erased entry came back on the relay");

    // No writer brings the erased id back, not even into the document that replaced its own.
    let mut gone =
        read_contact_point(&native.session.doc(&old).context("native copy")?.clone(), &victim).context("victim")?;
    gone.name = contactpoint_directory::LocalizedText::fi_sv_en("Joku muu", "Någon annan", "Someone else");
    gone.phones[0].number = "+358 40 111 2222".into();
    gone.email = None;
    let mut writer = NativeClient::new("writer");
    writer.open(new);
    writer.connect(&url(&token_for(&db, Role::Admin, &[]))).await?;
    writer.wait_until(|c| c.session.doc(&new).is_some_and(|d| !d.get_heads().is_empty())).await?;
    writer
        .change(new, move |d: &mut Automerge| {
            let mut tx = d.transaction();
            write_contact_point(&mut tx, &gone).expect("write");
            tx.commit();
        })
        .await?;
    writer.wait_until(|c| !c.errors.is_empty() || c.closed.is_some() || c.session.is_acknowledged(&new)).await?;
    ensure!(writer.errors.iter().any(|e| e.contains("erased")), "an erased id was not refused: {:?}", writer.errors);
    ensure!(
        read_contact_point(&contactpoint_tests::stored_doc(&db, new)?, &victim).is_none(),
        "the erased id came back"
    );

    // An admin cannot re-create the old document through sync.
    let mut again = NativeClient::new("recreator");
    let mut doc = Automerge::new();
    field_change_root(&mut doc);
    let _ = again.session.create_doc(old, doc);
    again.connect(&url(&token_for(&db, Role::Admin, &[]))).await?;
    again.wait_until(|c| c.unavailable.contains(&old)).await?;
    let left: i64 = db.with(|c| {
        c.query_row("SELECT COUNT(*) FROM chunks WHERE doc_id = ?1", contactpoint_server::args![old.to_string()], |r| {
            r.get(0)
        })
    })?;
    ensure!(
        left == 0 && db.with(|c| storage::doc_scope(c, &old))?.is_some_and(|(_, t)| t),
        "the old document came back"
    );

    // Every document the relay serves, fetched by a new device: no change and no state of any of
    // them holds the erased values; the old id is unavailable.
    let mut auditor = NativeClient::new("auditor");
    let live: Vec<DocumentId> = db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .filter(|(_, _, t)| !t)
        .map(|(id, _, _)| id.parse())
        .collect::<Result<_, _>>()?;
    for id in live.iter().chain([&old]) {
        auditor.open(*id);
    }
    // An administrator: members-only documents are served to it as well.
    auditor.connect(&url(&token_for(&db, Role::Admin, &[]))).await?;
    auditor
        .wait_until(|c| {
            c.unavailable.contains(&old)
                && live.iter().all(|id| c.session.doc(id).is_some_and(|d| !d.get_heads().is_empty()))
        })
        .await?;
    for id in &live {
        let found = mentions(auditor.session.doc(id).context("served")?);
        ensure!(found.is_empty(), "document {id} as served: {found:?}");
    }

    // Nor does the relay's database: every stored chunk decoded, and the raw files.
    let mut found = Vec::new();
    db.with(|c| {
        let rows: Vec<(String, i64, Vec<u8>)> =
            c.query_map("SELECT doc_id, seq, data FROM chunks ORDER BY seq", &[], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        for (doc, seq, data) in rows {
            found.extend(
                blob_mentions(&format!("chunk {seq} of {doc}"), &data)
                    .map_err(|e| storage::StorageError::Invalid(e.to_string()))?,
            );
        }
        Ok(())
    })?;
    for id in &live {
        found.extend(
            mentions(&contactpoint_tests::stored_doc(&db, *id)?).into_iter().map(|m| format!("stored {id}: {m}")),
        );
    }
    // A SQLite file is the relay's own to read byte by byte; PostgreSQL's files are the server's,
    // which `admin erase` rewrites (`VACUUM FULL`), so there the decoded rows above are the check.
    if engine == Engine::Sqlite {
        found.extend(raw_mentions(&path)?);
    }
    ensure!(found.is_empty(), "the relay's database still holds erased values: {found:?}");
    drop(relay);
    if engine == Engine::Sqlite {
        ensure!(raw_mentions(&path)?.is_empty(), "after the relay stopped: {:?}", raw_mentions(&path)?);
    }
    Ok(())
}

fn field_change_root(doc: &mut Automerge) {
    use contactpoint_protocol::automerge::ROOT;
    use contactpoint_protocol::automerge::transaction::Transactable;
    let mut tx = doc.transaction();
    tx.put(ROOT, "title", NAME).expect("put");
    tx.commit();
}

/// The needles in the raw bytes of the database file and its write-ahead log.
fn raw_mentions(path: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for file in [path.to_path_buf(), PathBuf::from(format!("{}-wal", path.display()))] {
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for n in needles() {
            if contains(&bytes, n.as_bytes()) {
                found.push(format!("{} holds {n:?}", file.display()));
            }
        }
    }
    Ok(found)
}
