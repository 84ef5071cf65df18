//! Interop with real clients: the official JavaScript automerge-repo client (run with Node from
//! tests/js) and the Rust samod client sync through the relay, and neither a JavaScript reader's
//! write nor a JavaScript editor's invalid write reaches the relay's storage or any other peer.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail, ensure};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ChangeHash, ROOT, ReadDoc};
use contactpoint_server::auth::Role;
use contactpoint_tests::{NativeClient, SamodClient, TestRelay, WAIT, doc_json, one_change_doc, stored_doc};
use serde_json::Value;

/// The directory of the JavaScript side, with its package.json and lockfile.
fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs `node tests/js/interop.mjs <args>` and returns its one JSON result line.
pub(crate) async fn node(args: &[&str]) -> Result<Value> {
    let dir = js_dir();
    // A missing install is a setup error, not a reason to pass: say how to fix it.
    if !dir.join("node_modules/@automerge/automerge-repo-network-websocket").is_dir() {
        bail!(
            "the JavaScript client is not installed in {}: run `npm ci --prefix tests/js` \
             (`cargo xtask test` does this first)",
            dir.display()
        );
    }
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let child = tokio::process::Command::new(&node)
        .arg(dir.join("interop.mjs"))
        .args(args)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    // The script bounds each of its own waits below WAIT; this bound only catches a hung Node.
    let out = tokio::time::timeout(WAIT, child)
        .await
        .map_err(|_| anyhow!("node interop.mjs {} did not finish within {WAIT:?}", args[0]))?
        .with_context(|| format!("could not run `{node}` (is Node.js 20 or later installed?)"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("");
    let result: Value = serde_json::from_str(line).map_err(|e| {
        anyhow!("node interop.mjs {}: no JSON result ({e}); stdout: {stdout} stderr: {stderr}", args[0])
    })?;
    if !out.status.success() || result["ok"] != Value::Bool(true) {
        bail!("node interop.mjs {} failed ({}): {} stderr: {stderr}", args[0], out.status, result["error"]);
    }
    Ok(result)
}

/// A string field of a result line.
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v[key].as_str().with_context(|| format!("result has no string `{key}`: {v}"))
}

/// A list of strings from a result line (message types sent or received, error messages).
pub(crate) fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// Change hashes as the JavaScript client prints them (base58check), decoded.
pub(crate) fn js_heads(v: &Value, key: &str) -> Result<BTreeSet<ChangeHash>> {
    let list = v[key].as_array().with_context(|| format!("result has no list `{key}`: {v}"))?;
    list.iter()
        .map(|h| {
            let s = h.as_str().context("a head is not a string")?;
            let bytes = bs58::decode(s).with_check(None).into_vec().map_err(|e| anyhow!("head {s}: {e}"))?;
            ChangeHash::try_from(bytes.as_slice()).map_err(|e| anyhow!("head {s}: {e}"))
        })
        .collect()
}

/// A document's heads as a set, since clients may list them in any order.
fn heads(doc: &Automerge) -> BTreeSet<ChangeHash> {
    doc.get_heads().into_iter().collect()
}

/// A text or string at the root of a document.
fn root_text(doc: &Automerge, key: &str) -> Option<String> {
    root_text_of(&doc_json(doc), key)
}

/// A text or string at the root of a document's JSON.
fn root_text_of(json: &Value, key: &str) -> Option<String> {
    json.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// What a client holds of a document, copied out so that it can be checked afterwards.
struct Seen {
    json: Value,
    heads: BTreeSet<ChangeHash>,
    has_reader_change: bool,
}

impl Seen {
    fn of(doc: &Automerge, reader_change: &BTreeSet<ChangeHash>) -> Seen {
        Seen {
            json: doc_json(doc),
            heads: heads(doc),
            has_reader_change: reader_change.iter().any(|h| doc.get_change_by_hash(h).is_some()),
        }
    }
}

/// What a JavaScript admin created: the document, its content and its heads.
struct Created {
    id: DocumentId,
    url: String,
    doc: Value,
    heads: BTreeSet<ChangeHash>,
}

/// Step (a): the JavaScript client, as an admin, creates a contact-point document through the
/// relay; the script returns once the relay's sync messages show it holds the new heads.
async fn js_creates(relay: &TestRelay) -> Result<Created> {
    let created = node(&["create", &relay.url(&relay.token(Role::Admin, &[]))]).await?;
    let url = text(&created, "url")?.to_owned();
    let id: DocumentId =
        url.parse().map_err(|e| anyhow!("the JavaScript client made a URL we cannot parse: {url}: {e:?}"))?;
    // The relay creates a document only on `sync` from a peer that may create; the official
    // client announces a new document with `sync`, never with `request`.
    let sent = strings(&created, "sent");
    ensure!(sent.contains(&"sync".to_owned()) && !sent.contains(&"request".to_owned()), "creator sent {sent:?}");
    ensure!(strings(&created, "relayErrors").is_empty(), "the relay refused the creator: {created}");
    Ok(Created { id, url, doc: created["doc"].clone(), heads: js_heads(&created, "heads")? })
}

/// A fresh native client with the given role, synced to everything the relay holds for `id`.
async fn native_synced(relay: &TestRelay, name: &str, role: Role, id: DocumentId) -> Result<NativeClient> {
    let mut c = NativeClient::new(name);
    c.open(id);
    c.connect(&relay.url(&relay.token(role, &[]))).await?;
    let relay_heads = heads(&stored_doc(&relay.db, id)?);
    c.wait_until(|c| c.session.doc(&id).is_some_and(|d| heads(d) == relay_heads)).await?;
    Ok(c)
}

#[tokio::test]
async fn a_js_client_creates_and_js_and_samod_readers_read_it() -> Result<()> {
    let relay = TestRelay::start().await?;

    // (a) The JavaScript admin creates the document; the relay stored exactly that.
    let created = js_creates(&relay).await?;
    let stored = stored_doc(&relay.db, created.id)?;
    assert_eq!(heads(&stored), created.heads, "the relay stored the creator's heads");
    assert_eq!(doc_json(&stored), created.doc, "the relay stored the creator's content");
    assert_eq!(
        root_text(&stored, "title").as_deref(),
        Some("Opening hours of the municipal office"),
        "the content is what the script wrote"
    );

    // (b) A second JavaScript client, with a reader token, finds and reads it.
    let read = node(&["read", &relay.url(&relay.token(Role::Reader, &[])), &created.url]).await?;
    assert_eq!(read["doc"], created.doc, "the JavaScript reader sees the creator's content");
    assert_eq!(js_heads(&read, "heads")?, created.heads, "the JavaScript reader has every change");
    assert!(strings(&read, "relayErrors").is_empty(), "a reader that only reads is not warned: {read}");

    // (c) A samod client, with a reader token, finds and reads it.
    let samod = SamodClient::connect("reader", &relay.url(&relay.token(Role::Reader, &[]))).await?;
    let handle = samod.find(created.id).await?;
    let seen = handle.with_document(|d| Seen::of(d, &BTreeSet::new()));
    assert_eq!(seen.json, created.doc, "samod sees the creator's content");
    assert_eq!(seen.heads, created.heads, "samod has every change");
    samod.stop().await;

    // Our own client agrees with both.
    let native = native_synced(&relay, "interop-native-reader", Role::Reader, created.id).await?;
    assert_eq!(native.session.doc(&created.id).map(doc_json), Some(created.doc.clone()));
    Ok(())
}

#[tokio::test]
async fn a_js_readers_write_is_refused_and_reaches_no_other_peer() -> Result<()> {
    let relay = TestRelay::start().await?;
    let created = js_creates(&relay).await?;
    let original_title = root_text(&stored_doc(&relay.db, created.id)?, "title");

    // Peers that stay connected while the reader writes: an admin on our client and a samod
    // reader, both demonstrably synced to the original content first.
    let mut admin = native_synced(&relay, "interop-live-admin", Role::Admin, created.id).await?;
    let samod = SamodClient::connect("live-reader", &relay.url(&relay.token(Role::Reader, &[]))).await?;
    let live = samod.find(created.id).await?;
    assert_eq!(live.with_document(|d| heads(d)), created.heads, "samod synced the original first");

    // (d) A JavaScript client with a reader token changes the title. Its own copy changes; the
    // relay answers with an `error` (without closing) and keeps its heads. The official client
    // sends a read-only peer only its new heads; `push` also sends the change's bytes, as a
    // client would that ignores the relay's read-only flag, so that the relay is seen to drop
    // the change itself and not merely never receive it.
    let mut reader_change: BTreeSet<ChangeHash> = BTreeSet::new();
    for mode in ["write", "push"] {
        let value = format!("Changed by a reader ({mode})");
        let written = node(&[mode, &relay.url(&relay.token(Role::Reader, &[])), &created.url, "title", &value]).await?;
        let refused = strings(&written, "relayErrors");
        let expected = format!("you may read but not change document {}", created.id);
        assert!(refused.iter().any(|m| m.contains(&expected)), "{mode}: the relay told the reader: {refused:?}");
        assert_eq!(written["accepted"], Value::Bool(false), "{mode}: {written}");
        assert_eq!(js_heads(&written, "relayHeads")?, created.heads, "{mode}: the relay kept its heads");
        assert_eq!(written["doc"]["title"].as_str(), Some(value.as_str()), "{mode}: the reader's copy has the change");
        if mode == "push" {
            assert!(written["changesSent"].as_u64() >= Some(1), "push: the change's bytes went out: {written}");
        }
        let change = js_heads(&written, "headsAfter")?;
        assert!(change.is_disjoint(&created.heads), "{mode}: the write made a new change");
        reader_change.extend(change);
    }
    assert!(relay.relay.stats.refused.load(std::sync::atomic::Ordering::Relaxed) >= 2);

    // The relay's storage lacks the change.
    let stored = stored_doc(&relay.db, created.id)?;
    for h in &reader_change {
        assert!(stored.get_change_by_hash(h).is_none(), "the relay stored the reader's change {h}");
    }
    assert_eq!(root_text(&stored, "title"), original_title);

    // The live peers: the admin writes after the refusals and waits for the relay to
    // acknowledge it. A document's messages reach each connection in order, so had the relay
    // forwarded a reader's change, the admin would have it by now, and samod would have it
    // before it has the admin's change.
    admin.put(created.id, "checked_by", "an administrator").await?;
    admin.wait_until(|c| c.session.is_acknowledged(&created.id)).await?;
    let admin_heads = admin.session.doc(&created.id).map(heads).context("admin lost the document")?;
    let admin_doc = admin.session.doc(&created.id).context("admin lost the document")?;
    for h in &reader_change {
        assert!(admin_doc.get_change_by_hash(h).is_none(), "the live admin received the reader's change");
    }
    assert_eq!(root_text(admin_doc, "title"), original_title);
    for h in &admin_heads {
        samod.wait_for_change(&live, *h).await?;
    }
    // Assertions run outside `with_document`: a panic while samod holds the document aborts.
    let seen = live.with_document(|d| Seen::of(d, &reader_change));
    assert!(!seen.has_reader_change, "the live samod reader received the reader's change");
    assert_eq!(root_text_of(&seen.json, "title"), original_title);
    assert_eq!(
        root_text_of(&seen.json, "checked_by").as_deref(),
        Some("an administrator"),
        "samod has the admin's change"
    );
    samod.stop().await;

    // Fresh peers that connect afterwards: samod, our client and another JavaScript reader.
    let samod = SamodClient::connect("late-reader", &relay.url(&relay.token(Role::Reader, &[]))).await?;
    let late = samod.find(created.id).await?;
    let seen = late.with_document(|d| Seen::of(d, &reader_change));
    assert_eq!(seen.heads, admin_heads, "the late samod reader has the relay's state");
    assert!(!seen.has_reader_change, "the late samod reader received the reader's change");
    assert_eq!(root_text_of(&seen.json, "title"), original_title);
    samod.stop().await;
    let native = native_synced(&relay, "interop-late-reader", Role::Reader, created.id).await?;
    let native_doc = native.session.doc(&created.id).context("no document")?;
    assert!(reader_change.iter().all(|h| native_doc.get_change_by_hash(h).is_none()));
    assert_eq!(root_text(native_doc, "title"), original_title);
    let read = node(&["read", &relay.url(&relay.token(Role::Reader, &[])), &created.url]).await?;
    assert_eq!(js_heads(&read, "heads")?, admin_heads, "the late JavaScript reader has the relay's state");
    assert_eq!(read["doc"]["title"].as_str().map(str::to_owned), original_title);
    Ok(())
}

#[tokio::test]
async fn admin_writes_flow_between_js_and_samod_in_both_directions() -> Result<()> {
    let relay = TestRelay::start().await?;
    let created = js_creates(&relay).await?;

    // A samod admin stays connected while a JavaScript admin changes the phone number.
    let samod = SamodClient::connect("admin", &relay.url(&relay.token(Role::Admin, &[]))).await?;
    let handle = samod.find(created.id).await?;
    let written =
        node(&["write", &relay.url(&relay.token(Role::Admin, &[])), &created.url, "phone", "+41 31 999 99 99"]).await?;
    assert_eq!(written["accepted"], Value::Bool(true), "the relay took the admin's change: {written}");
    assert!(strings(&written, "relayErrors").is_empty(), "{written}");
    for h in js_heads(&written, "headsAfter")? {
        samod.wait_for_change(&handle, h).await?;
    }
    let seen = handle.with_document(|d| Seen::of(d, &BTreeSet::new()));
    assert_eq!(root_text_of(&seen.json, "phone").as_deref(), Some("+41 31 999 99 99"), "samod got it live");

    // samod writes; once the relay acknowledges, a new JavaScript reader sees the change.
    handle.with_document(|d| {
        let mut tx = d.transaction();
        tx.put(ROOT, "email", "office@example.invalid").map(|_| tx.commit())
    })?;
    samod.wait_relay_has_ours(&handle).await?;
    let samod_heads = handle.with_document(|d| heads(d));
    samod.stop().await;
    let read = node(&["read", &relay.url(&relay.token(Role::Reader, &[])), &created.url]).await?;
    assert_eq!(js_heads(&read, "heads")?, samod_heads, "the JavaScript reader has samod's change");
    assert_eq!(read["doc"]["email"], "office@example.invalid");
    assert_eq!(read["doc"]["phone"], "+41 31 999 99 99");
    assert_eq!(heads(&stored_doc(&relay.db, created.id)?), samod_heads, "the relay stored it");
    Ok(())
}

/// A phone number and the Finnish description of a contact point, as a client holds them.
fn contact_fields(doc: &Automerge, contact: &str) -> Result<(String, String)> {
    let cp = contactpoint_directory::store::read_contact_point(doc, contact).context("the contact point")?;
    let phone = cp.phones.first().map(|p| p.number.clone()).unwrap_or_default();
    let description = cp.description.iter().find(|(lang, _)| *lang == "fi").map(|(_, t)| t.to_owned());
    Ok((phone, description.unwrap_or_default()))
}

#[tokio::test]
async fn a_js_editors_invalid_write_is_refused_and_reaches_no_other_peer() -> Result<()> {
    use contactpoint_server::storage::{self, Scope};
    let relay = TestRelay::start().await?;
    relay.db.with(|c| contactpoint_server::content::seed_if_empty(c, "2026-11-24"))?;
    let doc: DocumentId = relay
        .db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area("municipality:091".into()))
        .context("the Helsinki document")?
        .0
        .parse()?;
    let stored = stored_doc(&relay.db, doc)?;
    let contact = contactpoint_directory::store::read_directory(&stored)?
        .contact_points
        .keys()
        .next()
        .context("a Helsinki contact point")?
        .clone();
    let original = contact_fields(&stored, &contact)?;
    let original_heads = heads(&stored);

    // Peers that stay connected while the editor writes: our client and samod, both readers,
    // both demonstrably synced to the original content first.
    let mut live = native_synced(&relay, "interop-invalid-live", Role::Reader, doc).await?;
    let samod = SamodClient::connect("invalid-live", &relay.url(&relay.token(Role::Reader, &[]))).await?;
    let live_samod = samod.find(doc).await?;
    assert_eq!(live_samod.with_document(|d| heads(d)), original_heads, "samod synced the original first");

    // The JavaScript client, with a Helsinki editor's token (so it may write this document),
    // writes what the directory's rules forbid. The relay refuses each write with the rule's
    // message and closes the connection.
    let editor = relay.token(Role::Editor, &["091"]);
    let mut refused_changes: BTreeSet<ChangeHash> = BTreeSet::new();
    for (pointer, value, rule) in [
        (format!("/contact_points/{contact}/phones/0/number"), "call me", "not a phone number"),
        (format!("/contact_points/{contact}/description/fi"), "Oppilas 010190-123M", "personal identity code"),
    ] {
        let written = node(&["write", &relay.url(&editor), &doc.url(), &pointer, value]).await?;
        let errors = strings(&written, "relayErrors");
        assert!(errors.iter().any(|m| m.contains(rule) && m.contains(&doc.to_string())), "{pointer}: {errors:?}");
        assert_eq!(written["accepted"], Value::Bool(false), "{pointer}: {written}");
        assert_eq!(js_heads(&written, "relayHeads")?, original_heads, "{pointer}: the relay kept its heads");
        let change = js_heads(&written, "headsAfter")?;
        assert!(change.is_disjoint(&original_heads), "{pointer}: the write made a new change");
        refused_changes.extend(change);
    }
    let rejected: i64 = relay
        .db
        .with(|c| c.query_row("SELECT COUNT(*) FROM audit WHERE action = 'sync.rejected'", &[], |r| r.get(0)))?;
    assert_eq!(rejected, 2, "both refusals are audited");

    // Nothing is stored: the database file and a fresh client both hold the original.
    let stored = stored_doc(&relay.db, doc)?;
    assert_eq!(heads(&stored), original_heads, "the relay stored nothing");
    assert!(refused_changes.iter().all(|h| stored.get_change_by_hash(h).is_none()));
    assert_eq!(contact_fields(&stored, &contact)?, original);
    let fresh = native_synced(&relay, "interop-invalid-fresh", Role::Reader, doc).await?;
    assert_eq!(contact_fields(fresh.session.doc(&doc).context("no document")?, &contact)?, original);

    // A valid write by a native editor afterwards: once the live peers have it, they would have
    // had the refused changes before it, had the relay passed them on.
    let mut e = NativeClient::new("interop-invalid-editor");
    e.open(doc);
    e.connect(&relay.url(&editor)).await?;
    e.wait_until(|c| c.session.doc(&doc).is_some_and(|d| heads(d) == original_heads)).await?;
    let mut cp =
        contactpoint_directory::store::read_contact_point(e.session.doc(&doc).context("no document")?, &contact)
            .context("the contact point")?;
    cp.phones[0].number = "+358 0 000 0999".into();
    e.change(doc, |d| {
        let mut tx = d.transaction();
        if contactpoint_directory::store::write_contact_point(&mut tx, &cp).is_ok() {
            tx.commit();
        }
    })
    .await?;
    e.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    let valid_heads = e.session.doc(&doc).map(heads).context("no document")?;
    live.wait_until(|c| c.session.doc(&doc).is_some_and(|d| heads(d) == valid_heads)).await?;
    for h in &valid_heads {
        samod.wait_for_change(&live_samod, *h).await?;
    }
    let live_doc = live.session.doc(&doc).context("no document")?;
    assert!(refused_changes.iter().all(|h| live_doc.get_change_by_hash(h).is_none()), "the live reader got one");
    assert_eq!(contact_fields(live_doc, &contact)?, ("+358 0 000 0999".to_owned(), original.1.clone()));
    // Assertions run outside `with_document`: a panic while samod holds the document aborts.
    let (seen, fields) =
        live_samod.with_document(|d| (Seen::of(d, &refused_changes), contact_fields(d, &contact).ok()));
    assert!(!seen.has_reader_change, "the live samod reader received a refused change");
    assert_eq!(fields, Some(("+358 0 000 0999".to_owned(), original.1.clone())));
    samod.stop().await;
    Ok(())
}

/// The official client catches up on one edit of a document made in one change for under a
/// kilobyte on the wire: without storage (the same repo reconnects) and with storage (the app is
/// closed and started again, its documents and sync states on disk).
#[tokio::test]
async fn the_official_client_catches_up_on_one_edit_for_under_a_kilobyte() -> Result<()> {
    let relay = TestRelay::start().await?;
    let id = DocumentId::from_random_bytes([63; 16]);
    let mut admin = NativeClient::new("admin");
    admin.session.create_doc(id, one_change_doc(10_000));
    admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    admin.wait_until(|c| c.session.is_acknowledged(&id)).await?;
    admin.disconnect().await;

    let dir = tempfile::tempdir()?;
    let on_disk = dir.path().join("repo");
    let mut totals: Vec<u64> = Vec::new();
    for (storage, value) in [("memory", "+358 40 123 4567"), (on_disk.to_str().context("path")?, "+358 40 765 4321")] {
        let reader = relay.url(&relay.token(Role::Reader, &[]));
        let writer = relay.url(&relay.token(Role::Admin, &[]));
        let r = node(&["reconnect", &reader, &writer, &id.url(), "entry-00001", value, storage]).await?;
        assert_eq!(r["value"], value, "the reader caught up: {r}");
        assert_eq!(js_heads(&r, "heads")?, js_heads(&r, "editHeads")?, "{r}");
        let total = r["bytesSent"].as_u64().unwrap_or(u64::MAX) + r["bytesReceived"].as_u64().unwrap_or(u64::MAX);
        println!("official client ({storage}): catch-up after one edit cost {total} bytes: {}", r["sizes"]);
        totals.push(total);
    }
    for total in totals {
        assert!(total < 1024, "the official client's catch-up after one edit cost {total} bytes");
    }
    Ok(())
}
