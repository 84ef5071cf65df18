//! Running the relay as a service: graceful shutdown on SIGTERM, the readiness probe, backup and
//! restore, the JSON log without tokens, and client addresses behind a trusted reverse proxy.

use std::time::Duration;

use anyhow::{Context, Result};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::{ROOT, ReadDoc};
use contactpoint_server::auth::Role;
use contactpoint_server::storage::{Db, Scope};
use contactpoint_tests::{
    NativeClient, RelayProcess, TestRelay, contactpoint, contactpoint_ok, http_get, http_get_with, http_post,
    http_post_with, stored_doc,
};

const WRITERS: usize = 3;

struct Writer {
    client: NativeClient,
    doc: DocumentId,
    written: Vec<String>,
    /// How many of `written` the relay has acknowledged.
    acked: usize,
}

/// A database with an admin's token and `WRITERS` national documents.
fn prepare(path: &std::path::Path) -> Result<(String, Vec<DocumentId>)> {
    contactpoint_tests::admin_with_documents(path, &Scope::National, WRITERS)
}

/// Writes one key per connected writer and records what the relay has acknowledged.
async fn write_round(writers: &mut [Writer], tag: &str) -> Result<()> {
    for w in writers.iter_mut().filter(|w| w.client.is_connected()) {
        let key = format!("{tag}-{}", w.written.len());
        w.client.put(w.doc, &key, "v").await?;
        w.written.push(key);
        w.client.pump().await?;
        if w.client.session.is_acknowledged(&w.doc) {
            w.acked = w.written.len();
        }
    }
    Ok(())
}

/// SIGTERM while three native clients write: the relay closes every WebSocket with 1001, exits
/// with status 0 well within its bound (its own log says under 5 s), every change it
/// acknowledged is in the database, the peers' sync states are saved, and the clients reconnect
/// to the restarted relay and carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_1001_commits_and_exits_cleanly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let (token, docs) = prepare(&path)?;
    let mut relay = RelayProcess::start_logging(&path, "info", &[])?;
    let url = format!("ws://{}/sync?token={token}", relay.addr);
    let mut writers = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let mut client = NativeClient::new(&format!("writer-{i}"));
        client.open(*d);
        client.connect(&url).await?;
        writers.push(Writer { client, doc: *d, written: Vec::new(), acked: 0 });
    }
    // Every writer has something acknowledged before the signal.
    write_round(&mut writers, "before").await?;
    for w in &mut writers {
        let doc = w.doc;
        w.client.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        w.acked = w.written.len();
    }

    // The signal comes while the writers keep writing.
    let terminator = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let status = relay.terminate(Duration::from_secs(10));
        (relay, status)
    });
    let mut rounds = 0;
    while writers.iter().any(|w| w.client.is_connected()) {
        write_round(&mut writers, "during").await?;
        rounds += 1;
        if terminator.is_finished() {
            // Whatever the relay did, it is over: take what is left to read.
            for w in &mut writers {
                w.client.settle(Duration::from_millis(200)).await?;
            }
            break;
        }
    }
    let (relay, status) = terminator.join().map_err(|_| anyhow::anyhow!("terminator panicked"))?;
    let status = status?;
    assert!(status.success(), "the relay exited with {status} after SIGTERM");
    let log = relay.log();
    let ms: u64 = log
        .lines()
        .find(|l| l.contains("shut down") && l.contains("ms="))
        .and_then(|l| l.split("ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no shutdown line in the relay's log:\n{log}"))?;
    assert!(ms <= 5_000, "the shutdown took {ms} ms");
    drop(relay);
    for (i, w) in writers.iter().enumerate() {
        assert_eq!(w.client.close_code, Some(1001), "writer {i} closed with {:?}", w.client.closed);
    }

    // Everything acknowledged is stored, and every writer's sync state was saved.
    {
        let db = Db::open(&path)?;
        for w in &writers {
            let stored = stored_doc(&db, w.doc)?;
            for key in &w.written[..w.acked] {
                assert!(stored.get(ROOT, key.as_str())?.is_some(), "acknowledged change {key} was lost");
            }
        }
        let states: i64 = db.with(|c| c.query_row("SELECT count(*) FROM sync_states", &[], |r| r.get(0)))?;
        assert!(states >= WRITERS as i64, "only {states} sync states saved for {WRITERS} writers");
    }

    // The clients come back to the restarted relay and carry on.
    let relay = RelayProcess::start(&path)?;
    let url = format!("ws://{}/sync?token={token}", relay.addr);
    for w in &mut writers {
        w.client.disconnect().await;
        w.client.connect(&url).await?;
        let key = format!("after-{}", w.written.len());
        w.client.put(w.doc, &key, "v").await?;
        w.written.push(key);
        let doc = w.doc;
        w.client.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    }
    let db = Db::open(&path)?;
    for w in &writers {
        let stored = stored_doc(&db, w.doc)?;
        let last = w.written.last().context("nothing written")?;
        assert!(stored.get(ROOT, last.as_str())?.is_some(), "{last} written after the restart is not stored");
    }
    let acked: usize = writers.iter().map(|w| w.acked).sum();
    println!("SIGTERM after {rounds} rounds of writing: {acked} acknowledged changes all stored, shutdown in {ms} ms");
    Ok(())
}

/// `/readyz` answers 200 while the relay serves and 503 from the moment shutdown begins, while
/// `/healthz` keeps saying the process is up; new WebSockets are refused once it shuts down.
#[tokio::test]
async fn readiness_flips_when_shutdown_begins() -> Result<()> {
    let relay = TestRelay::start().await?;
    let (status, body) = http_get(relay.addr, "/readyz").await?;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(v["status"], "ready");
    assert_eq!(http_get(relay.addr, "/healthz").await?.0, 200);

    relay.relay.begin_shutdown();
    let (status, body) = http_get(relay.addr, "/readyz").await?;
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(v["status"], "shutting down");
    assert_eq!(http_get(relay.addr, "/healthz").await?.0, 200, "the process is still up");
    let token = relay.token(Role::Reader, &[]);
    let mut late = NativeClient::new("late");
    assert!(late.connect(&relay.url(&token)).await.is_err(), "a WebSocket was accepted during shutdown");
    Ok(())
}

/// A backup taken with `contactpoint backup` while three native clients write holds every change
/// the relay acknowledged before it started; restored with `contactpoint restore` into a fresh
/// path, a relay serves it, and the exports of the two databases match. A restore into a
/// database a relay has open is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_clients_write_restores_into_a_fresh_relay() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let relay = RelayProcess::start_with_args(&path, "127.0.0.1:0", &["--seed".as_ref()])?;
    // The writers' documents are not catalogued, so the directory's export is the seed's.
    let (token, docs) = contactpoint_tests::admin_with_documents(&path, &Scope::Unlisted, WRITERS)?;
    let url = format!("ws://{}/sync?token={token}", relay.addr);
    let mut writers = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let mut client = NativeClient::new(&format!("backup-writer-{i}"));
        client.open(*d);
        client.connect(&url).await?;
        writers.push(Writer { client, doc: *d, written: Vec::new(), acked: 0 });
    }
    for _ in 0..5 {
        write_round(&mut writers, "before").await?;
    }
    for w in &mut writers {
        let doc = w.doc;
        w.client.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
        w.acked = w.written.len();
    }
    let acked_before: Vec<usize> = writers.iter().map(|w| w.acked).collect();

    let backup = dir.path().join("backup.sqlite");
    let args: Vec<String> =
        ["backup", "--db", &path.to_string_lossy(), "--out", &backup.to_string_lossy()].map(str::to_owned).to_vec();
    let taking = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        contactpoint_ok(&args)
    });
    let mut during = 0;
    while !taking.is_finished() || during < 3 {
        write_round(&mut writers, "during").await?;
        during += 1;
    }
    let said = taking.join().map_err(|_| anyhow::anyhow!("backup thread panicked"))??;
    assert!(said.contains("integrity check ok"), "{said}");

    // Restored into a fresh path, served by a fresh relay.
    let fresh = dir.path().join("restored").join("relay.sqlite");
    contactpoint_ok(&["restore", "--from", &backup.to_string_lossy(), "--db", &fresh.to_string_lossy()])?;
    let restored = RelayProcess::start(&fresh)?;
    let (refused, _, why) =
        contactpoint(&["restore", "--from", &backup.to_string_lossy(), "--db", &fresh.to_string_lossy()])?;
    assert!(!refused, "a restore over a running relay's database was not refused");
    assert!(why.contains("stop the relay"), "{why}");
    let mut checker = NativeClient::new("backup-checker");
    for d in &docs {
        checker.open(*d);
    }
    checker.connect(&format!("ws://{}/sync?token={token}", restored.addr)).await?;
    for (w, &acked) in writers.iter().zip(&acked_before) {
        let doc = w.doc;
        let last = w.written[acked - 1].clone();
        checker.wait_until(|c| c.get(doc, &last).is_some()).await?;
        for key in &w.written[..acked] {
            assert!(checker.get(doc, key).is_some(), "{key}, acknowledged before the backup, is not in it");
        }
    }
    let export = |db: &std::path::Path| contactpoint_ok(&["export", "--db", &db.to_string_lossy()]);
    let (original, copy) = (export(&path)?, export(&fresh)?);
    assert!(original.len() > 1000, "the seed's export is missing");
    assert_eq!(original, copy, "the restored database exports differently");
    drop(relay);
    Ok(())
}

/// With `--log-format json` every line the relay logs is a JSON object, lines about a WebSocket
/// carry its connection id, and no device token appears anywhere in the log, even at debug
/// level: not when it is issued, used for sync, refused, checked or rotated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_with_connection_ids_and_never_a_token() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let mut relay = RelayProcess::start_logging(&path, "debug", &["--log-format".as_ref(), "json".as_ref()])?;
    let code = relay.invite.clone().context("no first invite")?;
    let (status, body) = http_post(
        relay.addr,
        "/api/v0/redeem",
        &serde_json::json!({ "code": code, "device_name": "laptop" }).to_string(),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body)?["token"].as_str().context("no token")?.to_owned();
    let url = |t: &str| format!("ws://{}/sync?token={t}", relay.addr);
    let mut client = NativeClient::new("logged");
    client.connect(&url(&token)).await?;
    client.disconnect().await;
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(http_get_with(relay.addr, "/api/v0/session", &[&bearer]).await?.0, 200);
    let (status, body) = http_post_with(relay.addr, "/api/v0/rotate", &[&bearer], "").await?;
    assert_eq!(status, 200, "{body}");
    let rotated = serde_json::from_str::<serde_json::Value>(&body)?["token"].as_str().context("no token")?.to_owned();
    // The old token, now refused, and the new one in use.
    assert!(NativeClient::new("old").connect(&url(&token)).await.is_err());
    let mut client = NativeClient::new("rotated");
    client.connect(&url(&rotated)).await?;
    client.disconnect().await;
    assert!(relay.terminate(Duration::from_secs(10))?.success());

    let log = relay.log();
    for secret in [&token, &rotated, &code] {
        assert!(!log.contains(secret.as_str()), "a secret is in the relay's log:\n{log}");
    }
    let lines: Vec<serde_json::Value> =
        log.lines().map(serde_json::from_str).collect::<Result<_, _>>().context("a log line is not JSON")?;
    let about_connections: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"].as_str().is_some_and(|m| m.contains("connection closed")))
        .collect();
    assert!(about_connections.len() >= 2, "no line about a connection closing:\n{log}");
    for l in about_connections {
        for field in ["conn", "user", "device"] {
            assert!(l["fields"][field].is_u64(), "a line about a connection has no {field}: {l}");
        }
    }
    Ok(())
}

/// Behind a reverse proxy named with `--trust-proxy`, a wrong invite code counts against the
/// address the proxy forwards for; `X-Forwarded-For` from anyone else is ignored and the code
/// counts against the connecting address.
#[tokio::test]
async fn wrong_invites_count_against_the_forwarded_address_only_from_trusted_proxies() -> Result<()> {
    let net = contactpoint_server::NetLimits {
        trusted_proxies: vec!["127.0.0.1/32".parse().map_err(anyhow::Error::msg)?],
        ..contactpoint_server::NetLimits::default()
    };
    let relay = TestRelay::start_with_net(contactpoint_server::Limits::default(), net).await?;
    let wrong = |from: &str, forwarded: &str| {
        let body = r#"{"code":"AAAAA-AAAAA-AAAAA","device_name":"x"}"#;
        let request = format!(
            "POST /api/v0/redeem HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
             X-Forwarded-For: {forwarded}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (from, addr) = (from.parse().expect("address"), relay.addr);
        async move { contactpoint_tests::http_from(from, addr, &request).await.map(|(s, _)| s) }
    };
    // Through the trusted proxy: five wrong codes for one client use up that client's attempts…
    for _ in 0..5 {
        assert_eq!(wrong("127.0.0.1", "203.0.113.5").await?, 403);
    }
    assert_eq!(wrong("127.0.0.1", "203.0.113.5").await?, 429);
    // …and nobody else's: another client behind the same proxy is still heard.
    assert_eq!(wrong("127.0.0.1", "203.0.113.6").await?, 403);
    // From an address that is not a trusted proxy, the header changes nothing.
    for i in 0..5 {
        assert_eq!(wrong("127.0.0.2", &format!("198.51.100.{i}")).await?, 403);
    }
    assert_eq!(wrong("127.0.0.2", "198.51.100.99").await?, 429);
    Ok(())
}

/// One sample of `/metrics` by its full name with labels (`contactpoint_sync_bytes_total{direction="sent"}`).
fn sample(text: &str, series: &str) -> Result<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.rsplit_once(' ').filter(|(name, _)| *name == series).map(|(_, v)| v.to_owned()))
        .with_context(|| format!("no sample {series} in:\n{text}"))?
        .parse()
        .with_context(|| format!("{series} is not a number"))
}

async fn scrape(relay: &RelayProcess) -> Result<String> {
    let (status, body) = http_get(relay.metrics.context("no metrics address printed")?, "/metrics").await?;
    anyhow::ensure!(status == 200, "/metrics answered {status}: {body}");
    Ok(body)
}

/// `/metrics` on its own listener follows real traffic from native clients: the connections
/// gauge, accepted writes and the commit-latency histogram move with an editor's edits, a
/// reader's write is counted as refused (read only), a wrong token as a failed handshake, a
/// wrong invite as a failed redemption, and sync bytes both ways. The public listener does not
/// serve it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_real_traffic_on_their_own_listener() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let (admin, docs) = prepare(&path)?;
    let reader = contactpoint_tests::token_for(&Db::open(&path)?, Role::Reader, &[]);
    let relay =
        RelayProcess::start_with_args(&path, "127.0.0.1:0", &["--metrics-listen".as_ref(), "127.0.0.1:0".as_ref()])?;
    let before = scrape(&relay).await?;
    assert_eq!(sample(&before, "contactpoint_connections")?, 0.0);
    assert_eq!(sample(&before, "contactpoint_writes_accepted_total")?, 0.0);
    assert_eq!(sample(&before, "contactpoint_commit_duration_seconds_count")?, 0.0);

    let doc = docs[0];
    let mut editor = NativeClient::new("editor");
    editor.open(doc);
    editor.connect(&format!("ws://{}/sync?token={admin}", relay.addr)).await?;
    for i in 0..3 {
        editor.put(doc, &format!("k{i}"), "v").await?;
        editor.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    }
    let mut reader_client = NativeClient::new("reader");
    reader_client.open(doc);
    reader_client.connect(&format!("ws://{}/sync?token={reader}", relay.addr)).await?;
    reader_client.wait_until(|c| c.get(doc, "k2").is_some()).await?;
    reader_client.put(doc, "not-allowed", "x").await?;
    reader_client.settle(Duration::from_millis(300)).await?;

    let during = scrape(&relay).await?;
    assert_eq!(sample(&during, "contactpoint_connections")?, 2.0, "{during}");
    assert!(sample(&during, "contactpoint_documents_loaded")? >= 1.0);
    assert_eq!(sample(&during, "contactpoint_writes_accepted_total")?, 3.0, "{during}");
    assert!(sample(&during, "contactpoint_commit_duration_seconds_count")? >= 3.0);
    assert!(sample(&during, "contactpoint_commit_duration_seconds_sum")? > 0.0);
    assert_eq!(sample(&during, r#"contactpoint_writes_refused_total{reason="read_only"}"#)?, 1.0, "{during}");
    assert!(sample(&during, r#"contactpoint_sync_bytes_total{direction="received"}"#)? > 0.0);
    assert!(sample(&during, r#"contactpoint_sync_bytes_total{direction="sent"}"#)? > 0.0);
    assert!(sample(&during, "contactpoint_heap_allocated_bytes")? > 0.0);

    // A change stored by another process reaches the connected editor through the database
    // watcher, which then has seen the relay's own three chunks as well: only the other
    // process's chunk is read back and merged, not the relay's own.
    {
        use contactpoint_protocol::automerge::{Automerge, transaction::Transactable};
        let db = Db::open(&path)?;
        let stored = db.with(|c| contactpoint_server::storage::load_doc(c, &doc))?.context("the document")?;
        let mut elsewhere = Automerge::load(&stored.bytes)?;
        let before = elsewhere.get_heads();
        let mut tx = elsewhere.transaction();
        tx.put(ROOT, "from-elsewhere", "v")?;
        tx.commit();
        let chunk = elsewhere.save_after(&before);
        db.with(|c| contactpoint_server::storage::append_chunk(c, &doc, &chunk))?;
    }
    editor.wait_until(|c| c.get(doc, "from-elsewhere").is_some()).await?;
    let merged = scrape(&relay).await?;
    assert_eq!(sample(&merged, "contactpoint_stored_chunks_merged_total")?, 1.0, "{merged}");

    // A wrong token and a wrong invite code.
    let (status, _) = http_get(relay.addr, "/sync?token=not-a-token").await?;
    assert_eq!(status, 401);
    let (status, _) =
        http_post(relay.addr, "/api/v0/redeem", r#"{"code": "AAAAA-BBBBB-CCCCC", "device_name": "x"}"#).await?;
    assert_eq!(status, 403);
    editor.disconnect().await;
    reader_client.disconnect().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let now = scrape(&relay).await?;
        if sample(&now, "contactpoint_connections")? == 0.0 {
            break now;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "connections still counted: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sample(&after, r#"contactpoint_handshake_failures_total{reason="unauthorized"}"#)?, 1.0, "{after}");
    assert_eq!(sample(&after, r#"contactpoint_redeem_failures_total{reason="unknown_code"}"#)?, 1.0, "{after}");

    // Not on the public listener.
    let (_, public) = http_get(relay.addr, "/metrics").await?;
    assert!(!public.contains("contactpoint_connections"), "the public listener serves metrics: {public}");
    Ok(())
}

/// Settings come from a TOML file, the environment and flags, a flag winning over the
/// environment and the environment over the file; the relay prints where each came from; a
/// misspelt setting in the file stops it with the list of settings.
#[tokio::test]
async fn settings_come_from_flags_then_environment_then_the_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("relay.sqlite");
    let file = dir.path().join("contactpoint.toml");
    // The file's listen address is taken by nothing and would be refused; the flag wins.
    std::fs::write(
        &file,
        "listen = \"192.0.2.1:9\"\nrate_per_sec = 7\nmetrics-listen = \"127.0.0.1:0\"\ntrust-proxy = [\"10.0.0.0/8\", \"127.0.0.1\"]\nhandshake-timeout-secs = 3\n",
    )?;
    let relay = RelayProcess::start_with_env(
        &path,
        &[("CONTACTPOINT_RATE_PER_SEC", "42"), ("CONTACTPOINT_HANDSHAKE_TIMEOUT_SECS", "4")],
        &["--config".as_ref(), file.as_os_str(), "--handshake-timeout-secs".as_ref(), "5".as_ref()],
    )?;
    let s = &relay.settings;
    for expected in [
        "listen=127.0.0.1:0 (flag)",
        "rate-per-sec=42 (environment)",
        "handshake-timeout-secs=5 (flag)",
        "metrics-listen=127.0.0.1:0 (file)",
        "trust-proxy=10.0.0.0/8,127.0.0.1 (file)",
        "max-frame-bytes=16777216 (default)",
    ] {
        assert!(s.contains(expected), "expected {expected:?} in the settings line: {s}");
    }
    assert!(relay.metrics.is_some(), "the file's metrics-listen was not applied");

    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nrate-per-second = 7\n")?;
    let (ok, _, err) =
        contactpoint(&["serve", "--db", path.to_str().context("path")?, "--config", file.to_str().context("path")?])?;
    assert!(!ok, "a misspelt setting was accepted");
    assert!(err.contains("unknown setting \"rate-per-second\"") && err.contains("rate-per-sec"), "{err}");
    Ok(())
}

/// The check every relay process of the suite gets when it stops finds tokens and invite codes
/// wherever they are in a line, and nothing in lines about documents and connections.
#[test]
fn the_log_scan_finds_tokens_and_invite_codes() {
    use contactpoint_server::auth;
    let token = auth::new_token();
    let code = auth::new_invite_code();
    let lines = [
        format!("GET /sync?token={token} HTTP/1.1"),
        format!(r#"{{"fields":{{"message":"redeemed","code":"{code}"}}}}"#),
    ];
    assert_eq!(contactpoint_tests::secrets_in(&lines[0]), vec![token]);
    assert_eq!(contactpoint_tests::secrets_in(&lines[1]), vec![code]);
    let clean = r#"{"fields":{"message":"connection closed: peer left"},"span":{"conn":3,"user":1,"device":2,"doc":"Js6pCmH1eJibhztrfdKgd9HwEWA"}} at 2026-11-29T19:00:00Z"#;
    assert!(contactpoint_tests::secrets_in(clean).is_empty());
}

/// The systemd unit in `deploy/` is one systemd accepts (`systemd-analyze verify`, with the
/// binary's path pointed at the build) and keeps its sandboxing (`systemd-analyze security`
/// rates its exposure at most 2.0 of 10). Skipped where systemd's tools are not installed.
#[test]
fn the_systemd_unit_verifies_and_keeps_its_sandbox() -> Result<()> {
    let analyze = std::path::Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!("skipped: no systemd-analyze on this machine");
        return Ok(());
    }
    let unit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/contactpoint.service");
    let text = std::fs::read_to_string(&unit)?;
    let binary = contactpoint_tests::relay_binary()?;
    let dir = tempfile::tempdir()?;
    let copy = dir.path().join("contactpoint.service");
    std::fs::write(&copy, text.replace("/usr/local/bin/contactpoint", binary.to_str().context("binary path")?))?;
    let verify = std::process::Command::new(analyze).arg("verify").arg(&copy).output()?;
    let said = String::from_utf8_lossy(&verify.stderr).into_owned() + &String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
    let security = std::process::Command::new(analyze).args(["security", "--offline=true"]).arg(&copy).output()?;
    let report = String::from_utf8_lossy(&security.stdout).into_owned();
    let level: f64 = report
        .lines()
        .find_map(|l| l.split("exposure level for contactpoint.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .context(format!("no exposure level in: {report}"))?
        .parse()?;
    assert!(level <= 2.0, "the unit's exposure level is {level}:\n{report}");
    Ok(())
}
