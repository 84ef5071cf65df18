//! Shared harness for the end-to-end tests: relays in-process or as a real process on loopback,
//! identities, and a native WebSocket client built on the shared protocol core.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ROOT, ReadDoc};
use contactpoint_protocol::{ClientEvent, ClientSession, DocumentId, PeerMetadata, Refusal};
use contactpoint_server::auth::{self, InviteSpec, Role};
use contactpoint_server::storage::{Db, Scope};
use contactpoint_server::{Limits, NetLimits, Relay, admin};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before the test fails. Generous, because CI
/// machines are slow; tests wait on events, so a passing test never waits this long.
pub const WAIT: Duration = Duration::from_secs(20);

mod pg;
pub use pg::{Engine, fresh_database};

/// A relay running inside the test process on an ephemeral loopback port.
pub struct TestRelay {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database.
    pub db: Db,
    /// Path of the database file.
    pub db_path: PathBuf,
    /// The relay's shared state (counters, limits).
    pub relay: Arc<Relay>,
    task: JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

impl TestRelay {
    /// Starts a relay on a fresh temporary database.
    pub async fn start() -> Result<TestRelay> {
        Self::start_with(Limits::default()).await
    }

    /// Starts a relay with the given limits on a fresh temporary database.
    pub async fn start_with(limits: Limits) -> Result<TestRelay> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("relay.sqlite");
        let mut r = Self::start_at(&path, limits).await?;
        r._dir = Some(dir);
        Ok(r)
    }

    /// Starts a relay on a fresh database of `engine`.
    pub async fn start_on(engine: Engine) -> Result<TestRelay> {
        let dir = tempfile::tempdir()?;
        let path = engine.fresh(dir.path())?;
        let mut r = Self::start_at(&path, Limits::default()).await?;
        r._dir = Some(dir);
        Ok(r)
    }

    /// Starts a relay with the given limits on connections on a fresh temporary database.
    pub async fn start_with_net(limits: Limits, net: NetLimits) -> Result<TestRelay> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("relay.sqlite");
        let mut r = Self::start_at_with(&path, limits, net).await?;
        r._dir = Some(dir);
        Ok(r)
    }

    /// Starts a relay on an existing database file (to restart one).
    pub async fn start_at(path: &Path, limits: Limits) -> Result<TestRelay> {
        Self::start_at_with(path, limits, NetLimits::default()).await
    }

    /// Starts a relay on an existing database file with the given limits on connections.
    pub async fn start_at_with(path: &Path, limits: Limits, net: NetLimits) -> Result<TestRelay> {
        let db = Db::open(path)?;
        let relay = Relay::new(db.clone(), limits)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let r2 = relay.clone();
        let task = tokio::spawn(async move {
            let _ = contactpoint_server::serve_with(listener, r2, None, net, std::future::pending()).await;
        });
        Ok(TestRelay { addr, db, db_path: path.to_owned(), relay, task, _dir: None })
    }

    /// Stops serving (connections are dropped as the task is aborted) and keeps the database.
    pub async fn stop(self) -> (PathBuf, Option<tempfile::TempDir>) {
        self.task.abort();
        let _ = self.task.await;
        (self.db_path, self._dir)
    }

    /// A device token for a new user with the given role and areas.
    pub fn token(&self, role: Role, areas: &[&str]) -> String {
        token_for(&self.db, role, areas)
    }

    /// Registers a document with a scope and returns its id.
    pub fn document(&self, scope: Scope) -> DocumentId {
        let doc = Automerge::new();
        self.db.with(|c| admin::create_document(c, &scope, &doc)).expect("create document")
    }

    /// The `ws://` URL for a token.
    pub fn url(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.addr)
    }
}

/// An admin's device token and `n` new empty documents of `scope`, in the database at `path`: the
/// set-up of the tests that write through a relay process they stop or kill.
pub fn admin_with_documents(path: &Path, scope: &Scope, n: usize) -> Result<(String, Vec<DocumentId>)> {
    let db = Db::open(path)?;
    let token = token_for(&db, Role::Admin, &[]);
    let docs =
        (0..n).map(|_| db.with(|c| admin::create_document(c, scope, &Automerge::new()))).collect::<Result<_, _>>()?;
    Ok((token, docs))
}

/// Creates a user and device directly in the database and returns the device token.
pub fn token_for(db: &Db, role: Role, areas: &[&str]) -> String {
    let spec = InviteSpec {
        role,
        areas: areas.iter().map(|a| a.parse().expect("area")).collect(),
        user_name: Some(format!("{} test user", role.as_str())),
        valid_for_ms: 60_000,
        uses: 1,
    };
    db.with(|c| Ok(auth::invite_and_redeem(c, &spec, Some("test"), "test device")))
        .expect("the database")
        .expect("token")
        .token
}

/// The relay binary built next to the test executable.
pub fn relay_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/e2e-…  →  target/<profile>/contactpoint
    let dir = exe.parent().and_then(Path::parent).context("test executable has no parent directory")?;
    let bin = dir.join("contactpoint");
    if !bin.exists() {
        bail!("{} is missing: build it with `cargo build -p contactpoint-server`", bin.display());
    }
    Ok(bin)
}

/// Runs the `contactpoint` command (the real binary, as an administrator would over SSH) and
/// returns its exit status, standard output and standard error.
pub fn contactpoint(args: &[&str]) -> Result<(bool, String, String)> {
    let out = Command::new(relay_binary()?).args(args).env("RUST_BACKTRACE", "0").output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Runs the `contactpoint` command and returns its standard output; fails if the command does.
pub fn contactpoint_ok(args: &[&str]) -> Result<String> {
    let (ok, stdout, stderr) = contactpoint(args)?;
    if !ok {
        bail!("contactpoint {} failed: {stderr}", args.join(" "));
    }
    Ok(stdout)
}

/// A relay running as a separate operating-system process, for crash and interop tests.
pub struct RelayProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The first administrator's invite code, when the relay printed one (a database without
    /// users).
    pub invite: Option<String>,
    /// Where it serves `/metrics`, when started with `--metrics-listen`.
    pub metrics: Option<SocketAddr>,
    /// The effective settings it printed (`listen=… (flag), …`).
    pub settings: String,
    child: Child,
    /// Everything the process has written to standard error so far (its log).
    log: Arc<std::sync::Mutex<String>>,
    /// The thread reading that log, joined when the relay is dropped.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl RelayProcess {
    /// Starts `contactpoint serve` on the given database and waits until it listens.
    pub fn start(db: &Path) -> Result<RelayProcess> {
        Self::start_on(db, "127.0.0.1:0")
    }

    /// Starts it on a chosen address (to come back on the same port after a crash).
    pub fn start_on(db: &Path, listen: &str) -> Result<RelayProcess> {
        Self::start_with_args(db, listen, &[])
    }

    /// Starts it with extra `serve` arguments, such as `--seed` and `--web DIR` for the browser
    /// tests, and keeps the invite code it prints for a database without users.
    pub fn start_with_args(db: &Path, listen: &str, extra: &[&std::ffi::OsStr]) -> Result<RelayProcess> {
        Self::spawn(Command::new(relay_binary()?), db, listen, extra)
    }

    /// Starts it with `RUST_LOG=filter` and extra `serve` arguments, for tests that read its log.
    pub fn start_logging(db: &Path, filter: &str, extra: &[&std::ffi::OsStr]) -> Result<RelayProcess> {
        let mut command = Command::new(relay_binary()?);
        command.env("RUST_LOG", filter);
        Self::spawn(command, db, "127.0.0.1:0", extra)
    }

    /// Starts it with these environment variables set.
    pub fn start_with_env(db: &Path, env: &[(&str, &str)], extra: &[&std::ffi::OsStr]) -> Result<RelayProcess> {
        let mut command = Command::new(relay_binary()?);
        command.envs(env.iter().copied());
        Self::spawn(command, db, "127.0.0.1:0", extra)
    }

    /// Starts it with its soft limit on open files lowered to `nofile` (the common default of
    /// 1,024, say), as a service manager or a login shell might start it.
    pub fn start_with_open_file_limit(db: &Path, nofile: u64, extra: &[&std::ffi::OsStr]) -> Result<RelayProcess> {
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(format!("ulimit -Sn {nofile} && exec \"$0\" \"$@\"")).arg(relay_binary()?);
        Self::spawn(sh, db, "127.0.0.1:0", extra)
    }

    fn spawn(mut command: Command, db: &Path, listen: &str, extra: &[&std::ffi::OsStr]) -> Result<RelayProcess> {
        if !command.get_envs().any(|(k, _)| k == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        let mut child = command
            .args(["serve", "--listen", listen, "--db"])
            .arg(db)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // The log is kept for the test to read and passed on to the test's own output.
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let mut reader = None;
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            reader = Some(std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                    l.push_str(&line);
                    l.push('\n');
                }
            }));
        }
        let stdout = child.stdout.take().context("no stdout")?;
        let Some(started) = contactpoint_server::banner::read_startup(stdout)? else {
            // Say why in the test's own failure: the status and the end of what it logged.
            let status = child.wait()?;
            if let Some(reader) = reader.take() {
                let _ = reader.join();
            }
            let log = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let tail: Vec<&str> = log.lines().filter(|l| !l.trim_start().starts_with("at ")).collect();
            let tail = tail[tail.len().saturating_sub(12)..].join("\n");
            bail!("the relay exited before listening ({status}); the end of its log:\n{tail}");
        };
        Ok(RelayProcess {
            addr: started.addr,
            invite: started.invite,
            metrics: started.metrics,
            settings: started.settings.unwrap_or_default(),
            child,
            log,
            reader,
        })
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sends SIGTERM (as a service manager stopping it does) and waits up to `max` for the
    /// process to exit; returns its exit status, or fails if it is still running.
    pub fn terminate(&mut self, max: Duration) -> Result<std::process::ExitStatus> {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.child.id());
        }
        let deadline = std::time::Instant::now() + max;
        loop {
            if let Some(status) = self.child.try_wait()? {
                // Its last lines are read once the pipe closes: wait for them, so that a test
                // reading the log after this sees everything the process wrote.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return Ok(status);
            }
            if std::time::Instant::now() >= deadline {
                bail!("the relay was still running {max:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The operating system's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most memory the process has held so far (`VmHWM`), in bytes.
    pub fn peak_memory(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM line")?;
        let kib: u64 = line.split_whitespace().nth(1).context("no VmHWM value")?.parse()?;
        Ok(kib * 1024)
    }

    /// Kills the process with SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for RelayProcess {
    /// Stops the process and fails the test if its log holds anything shaped like a device
    /// token or an invite code: every relay process of the test suite is checked.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let leaks: Vec<String> = self.log().lines().filter(|l| !secrets_in(l).is_empty()).map(str::to_owned).collect();
        if !leaks.is_empty() && !std::thread::panicking() {
            panic!("the relay logged secrets (device tokens or invite codes):\n{}", leaks.join("\n"));
        }
    }
}

/// Whatever in `text` has the shape of a device token (`cpt_` and base58) or an invite code
/// (three groups of five of the code alphabet).
pub fn secrets_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let b58 = |c: char| c.is_ascii_alphanumeric() && !matches!(c, '0' | 'O' | 'I' | 'l');
    for (at, _) in text.match_indices("cpt_") {
        let rest: String = text[at + 4..].chars().take_while(|c| b58(*c)).collect();
        if rest.len() >= 20 {
            found.push(format!("cpt_{rest}"));
        }
    }
    let code = |w: &str| w.len() == 5 && w.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let groups: Vec<&str> = word.split('-').collect();
        if groups.len() == 3 && groups.iter().all(|g| code(g)) {
            found.push(word.to_owned());
        }
    }
    found
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A native client: the shared [`ClientSession`] over a real WebSocket, with a simulated local
/// store and wire byte counters.
pub struct NativeClient {
    /// The protocol session (keeps documents and sync states across reconnects).
    pub session: ClientSession,
    ws: Option<Ws>,
    /// Bytes of WebSocket payload sent since the last [`Self::reset_counters`].
    pub bytes_sent: usize,
    /// Bytes of WebSocket payload received since the last [`Self::reset_counters`].
    pub bytes_received: usize,
    /// `error` messages the relay sent.
    pub errors: Vec<String>,
    /// The fields of each refusal that had them, and the document the session took it to be
    /// about.
    pub refusals: Vec<(Option<DocumentId>, Refusal)>,
    /// Documents the relay said are unavailable.
    pub unavailable: Vec<DocumentId>,
    /// Why the connection closed, once it has.
    pub closed: Option<String>,
    /// The close code of the relay's last close frame.
    pub close_code: Option<u16>,
    /// The local store: every chunk the session asked to persist, per document.
    pub store: HashMap<DocumentId, Vec<u8>>,
    /// The document of every `request` or `sync` message sent, in order.
    pub sent_docs: Vec<DocumentId>,
}

impl NativeClient {
    /// A client with a persistent storage id (so the relay keeps sync state for it).
    pub fn new(name: &str) -> NativeClient {
        let meta = PeerMetadata { storage_id: Some(format!("storage-{name}")), is_ephemeral: false };
        NativeClient {
            session: ClientSession::new(format!("peer-{name}"), meta),
            ws: None,
            bytes_sent: 0,
            bytes_received: 0,
            errors: Vec::new(),
            refusals: Vec::new(),
            unavailable: Vec::new(),
            closed: None,
            close_code: None,
            store: HashMap::new(),
            sent_docs: Vec::new(),
        }
    }

    /// A client without a storage id, as a device that keeps its own sync state but never tells
    /// the relay who it is across connections: the relay keeps no sync state for it.
    pub fn without_storage_id(name: &str) -> NativeClient {
        let mut c = NativeClient::new(name);
        let meta = PeerMetadata { storage_id: None, is_ephemeral: false };
        c.session = ClientSession::new(format!("peer-{name}"), meta);
        c
    }

    /// Opens a document (empty locally) so that it is synced on connect.
    pub fn open(&mut self, id: DocumentId) {
        let events = self.session.open_doc(id, None, None).expect("open");
        self.handle_sync(events);
    }

    /// Opens a document while connected, asking the relay for it at once.
    pub async fn open_now(&mut self, id: DocumentId) -> Result<()> {
        let events = self.session.open_doc(id, None, None)?;
        self.handle(events).await
    }

    /// Connects to `url` and completes the handshake.
    pub async fn connect(&mut self, url: &str) -> Result<()> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| anyhow!("connect {url}: {e}"))?;
        self.ws = Some(ws);
        self.closed = None;
        let events = self.session.connect();
        self.handle(events).await?;
        self.wait_until(|c| c.session.is_connected() || c.closed.is_some()).await?;
        if let Some(r) = &self.closed {
            bail!("closed during handshake: {r}");
        }
        Ok(())
    }

    /// Connects to `url` from the loopback address `from` (the relay limits connections per
    /// client address) and completes the handshake.
    pub async fn connect_from(&mut self, from: std::net::IpAddr, url: &str) -> Result<()> {
        let host = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).context("no host in the url")?;
        let addr: SocketAddr = host.parse().with_context(|| format!("{host} is not an address"))?;
        let socket = if from.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(from, 0))?;
        let tcp = socket.connect(addr).await.with_context(|| format!("connect {addr} from {from}"))?;
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp))
            .await
            .map_err(|e| anyhow!("upgrade {url}: {e}"))?;
        self.ws = Some(ws);
        self.closed = None;
        let events = self.session.connect();
        self.handle(events).await?;
        self.wait_until(|c| c.session.is_connected() || c.closed.is_some()).await?;
        if let Some(r) = &self.closed {
            bail!("closed during handshake: {r}");
        }
        Ok(())
    }

    /// Opens the socket without the protocol handshake (for handshake and bad-input tests).
    pub async fn open_socket(&mut self, url: &str) -> Result<()> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| anyhow!("connect {url}: {e}"))?;
        self.ws = Some(ws);
        self.closed = None;
        Ok(())
    }

    /// Reads raw frames until the socket closes; returns the `error` messages among them.
    pub async fn read_until_closed(&mut self) -> Result<Vec<String>> {
        let ws = self.ws.as_mut().context("not connected")?;
        let mut errors = Vec::new();
        let r = tokio::time::timeout(WAIT, async {
            while let Some(m) = ws.next().await {
                match m {
                    Ok(WsMessage::Binary(b)) => {
                        if let Ok(contactpoint_protocol::Message::Error { message, .. }) =
                            contactpoint_protocol::Message::decode(&b)
                        {
                            errors.push(message);
                        }
                    }
                    Ok(WsMessage::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        self.ws = None;
        r.map_err(|_| anyhow!("the relay did not close the connection within {WAIT:?}"))?;
        Ok(errors)
    }

    /// Closes the socket, keeping documents and sync states.
    pub async fn disconnect(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.close(None).await;
            // Drain until the relay acknowledges the close, so it has detached us.
            let _ = tokio::time::timeout(Duration::from_secs(5), async { while ws.next().await.is_some() {} }).await;
        }
        self.session.disconnected();
    }

    /// Resets a document to the relay's last known state (after a refusal); returns the
    /// document as it was.
    pub async fn reset(&mut self, id: DocumentId) -> Result<Automerge> {
        let (old, events) = self.session.reset_doc(&id).context("no such document")?;
        self.handle(events).await?;
        Ok(old)
    }

    /// Zeroes the byte counters.
    pub fn reset_counters(&mut self) {
        self.bytes_sent = 0;
        self.bytes_received = 0;
    }

    /// Sends a raw frame (for bad-input tests).
    pub async fn send_raw(&mut self, frame: Vec<u8>) -> Result<()> {
        let ws = self.ws.as_mut().context("not connected")?;
        self.bytes_sent += frame.len();
        ws.send(WsMessage::Binary(frame.into())).await?;
        Ok(())
    }

    /// Sets a string at the root of a document as one commit and sends the change.
    pub async fn put(&mut self, id: DocumentId, key: &str, value: &str) -> Result<()> {
        let events = self.session.change(&id, |d: &mut Automerge| {
            let mut tx = d.transaction();
            tx.put(ROOT, key, value).expect("put");
            tx.commit();
        });
        self.handle(events).await
    }

    /// Changes a document with any function, as one commit, and sends the change.
    pub async fn change(&mut self, id: DocumentId, f: impl FnOnce(&mut Automerge)) -> Result<()> {
        let events = self.session.change(&id, f);
        self.handle(events).await
    }

    /// Reads a string at the root of a document.
    pub fn get(&self, id: DocumentId, key: &str) -> Option<String> {
        let doc = self.session.doc(&id)?;
        doc.get(ROOT, key).ok().flatten().and_then(|(v, _)| v.into_string().ok())
    }

    fn handle_sync(&mut self, events: Vec<ClientEvent>) {
        for e in events {
            match e {
                ClientEvent::Store { document_id, bytes } => self.store.entry(document_id).or_default().extend(bytes),
                ClientEvent::Send(_) => {}
                _ => {}
            }
        }
    }

    async fn handle(&mut self, events: Vec<ClientEvent>) -> Result<()> {
        for e in events {
            match e {
                ClientEvent::Send(frame) => {
                    if let Ok(contactpoint_protocol::Message::Request(m) | contactpoint_protocol::Message::Sync(m)) =
                        contactpoint_protocol::Message::decode(&frame)
                    {
                        self.sent_docs.push(m.document_id);
                    }
                    if let Some(ws) = self.ws.as_mut() {
                        self.bytes_sent += frame.len();
                        if ws.send(WsMessage::Binary(frame.into())).await.is_err() {
                            self.closed.get_or_insert_with(|| "send failed".into());
                        }
                    }
                }
                ClientEvent::Store { document_id, bytes } => self.store.entry(document_id).or_default().extend(bytes),
                ClientEvent::Refused { message, document_id, refusal } => {
                    self.errors.push(message);
                    if let Some(r) = refusal {
                        self.refusals.push((document_id, *r));
                    }
                }
                ClientEvent::SyncFailed { reason, .. } => self.errors.push(reason),
                ClientEvent::Replace { document_id, bytes } => {
                    self.store.insert(document_id, bytes);
                }
                ClientEvent::Unavailable { document_id } => self.unavailable.push(document_id),
                ClientEvent::Closed { reason } => {
                    self.closed.get_or_insert(reason);
                }
                ClientEvent::Connected { .. } | ClientEvent::Changed { .. } => {}
            }
        }
        Ok(())
    }

    /// Processes one incoming frame, waiting at most `max`. Returns false on timeout.
    async fn step(&mut self, max: Duration) -> Result<bool> {
        let Some(ws) = self.ws.as_mut() else {
            self.closed.get_or_insert_with(|| "not connected".into());
            return Ok(true);
        };
        match tokio::time::timeout(max, ws.next()).await {
            Err(_) => Ok(false),
            Ok(None) => {
                self.closed.get_or_insert_with(|| "socket closed".into());
                self.ws = None;
                self.session.disconnected();
                Ok(true)
            }
            Ok(Some(Err(e))) => {
                self.closed.get_or_insert_with(|| format!("socket error: {e}"));
                self.ws = None;
                self.session.disconnected();
                Ok(true)
            }
            Ok(Some(Ok(WsMessage::Binary(b)))) => {
                self.bytes_received += b.len();
                let events = self.session.receive(&b);
                self.handle(events).await?;
                Ok(true)
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                self.close_code = frame.as_ref().map(|f| u16::from(f.code));
                self.closed.get_or_insert_with(|| "closed by relay".into());
                Ok(true)
            }
            Ok(Some(Ok(_))) => Ok(true),
        }
    }

    /// Processes frames until `pred` holds; fails after [`WAIT`].
    pub async fn wait_until(&mut self, pred: impl Fn(&NativeClient) -> bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !pred(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                bail!("condition not reached within {WAIT:?} (closed: {:?}, errors: {:?})", self.closed, self.errors);
            }
            if self.ws.is_none() && !pred(self) {
                bail!(
                    "connection closed before the condition held (closed: {:?}, errors: {:?})",
                    self.closed,
                    self.errors
                );
            }
            self.step(left).await?;
        }
        Ok(())
    }

    /// Processes whatever frames have already arrived, without waiting for more.
    pub async fn pump(&mut self) -> Result<()> {
        while self.ws.is_some() && self.step(Duration::from_millis(1)).await? {}
        Ok(())
    }

    /// Whether the socket is open.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some() && self.session.is_connected()
    }

    /// Processes frames until none arrives for `quiet` (used only to show that something does
    /// *not* happen, after a positive signal that the exchange has run).
    pub async fn settle(&mut self, quiet: Duration) -> Result<()> {
        while self.ws.is_some() && self.step(quiet).await? {}
        Ok(())
    }
}

/// Waits until `cond` holds, checking every 10 ms, for at most [`WAIT`]. For conditions that
/// are only observable in the database, such as state the relay saves after a peer leaves.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond()? {
        if tokio::time::Instant::now() >= deadline {
            bail!("{what}: not reached within {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Sends a JSON POST with extra header lines (`Name: value`) and returns the status and body.
pub async fn http_post_with(addr: SocketAddr, path: &str, headers: &[&str], body: &str) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await?;
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    parse_response(&buf)
}

/// Sends a raw HTTP/1.1 request (which should say `Connection: close`) from the local address
/// `from` (another loopback address, such as 127.0.0.2, to be a second client) and returns the
/// status and body.
pub async fn http_from(from: std::net::IpAddr, addr: SocketAddr, request: &str) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = if from.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.bind(SocketAddr::new(from, 0))?;
    let mut s = socket.connect(addr).await?;
    s.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    parse_response(&buf)
}

/// Sends a JSON POST over plain HTTP/1.1 and returns the status and body.
pub async fn http_post(addr: SocketAddr, path: &str, body: &str) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    parse_response(&buf)
}

/// Sends a GET over plain HTTP/1.1 and returns the status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    http_get_with(addr, path, &[]).await
}

/// Sends a GET with extra header lines (`Name: value`) and returns the status and body.
pub async fn http_get_with(addr: SocketAddr, path: &str, headers: &[&str]) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await?;
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Result<(u16, String)> {
    let text = String::from_utf8_lossy(buf);
    let status = text.split_whitespace().nth(1).context("no status")?.parse()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    // Bodies of small JSON answers may come chunked; strip the chunk framing.
    let body = if text.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.lines().filter(|l| !l.chars().all(|c| c.is_ascii_hexdigit()) || l.is_empty()).collect::<Vec<_>>().join("")
    } else {
        body
    };
    Ok((status, body))
}

// ---------------------------------------------------------------------------------------------
// samod, the Rust automerge-repo implementation, as an independent client of the relay

use contactpoint_protocol::automerge::{AutoSerde, ChangeHash};
use futures_util::future::BoxFuture;

/// Dials a plain `ws://` URL for samod with tokio-tungstenite. samod's own WebSocket dialer
/// would bring in a TLS stack the tests do not need on loopback.
pub struct SamodWsDialer {
    url: samod::Url,
}

impl SamodWsDialer {
    /// A dialer for `url`, such as [`TestRelay::url`].
    pub fn new(url: &str) -> Result<SamodWsDialer> {
        Ok(SamodWsDialer { url: samod::Url::parse(url).with_context(|| format!("bad URL {url}"))? })
    }
}

impl samod::Dialer for SamodWsDialer {
    type Error = std::convert::Infallible;

    fn url(&self) -> samod::Url {
        self.url.clone()
    }

    fn connect(&self) -> BoxFuture<'static, Result<samod::Transport, samod::DialError<Self::Error>>> {
        let url = self.url.to_string();
        Box::pin(async move {
            let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(samod::DialError::transient)?;
            let (sink, stream) = ws.split();
            // The protocol is binary frames only; control frames are tungstenite's business and
            // a text frame is passed on as bytes so that samod reports it as a bad message.
            let stream = Box::pin(stream.filter_map(|m| async move {
                match m {
                    Ok(WsMessage::Binary(b)) => Some(Ok(b.to_vec())),
                    Ok(WsMessage::Text(t)) => Some(Ok(t.as_bytes().to_vec())),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            }));
            let sink = sink.with(|b: Vec<u8>| {
                futures_util::future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(WsMessage::Binary(b.into())))
            });
            Ok(samod::Transport::new(stream, sink))
        })
    }
}

/// A samod repo (in-memory storage) connected to a relay through one dialer.
pub struct SamodClient {
    /// The repo.
    pub repo: samod::Repo,
    dialer: samod::DialerHandle<std::convert::Infallible>,
}

impl SamodClient {
    /// Starts a repo with a peer id unique to this process and connects it to `url`, waiting
    /// until the protocol handshake has completed.
    pub async fn connect(name: &str, url: &str) -> Result<SamodClient> {
        let peer_id = samod::PeerId::from(format!("samod-{name}-{}", std::process::id()));
        let repo = samod::Repo::build_tokio().with_peer_id(peer_id).load().await;
        // A few quick retries only: a relay that refuses us should fail the test, not stall it.
        let backoff = samod::BackoffConfig {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retries: Some(3),
        };
        let dialer = repo.dial(backoff, Arc::new(SamodWsDialer::new(url)?)).map_err(|e| anyhow!("samod: {e}"))?;
        tokio::time::timeout(WAIT, dialer.established())
            .await
            .map_err(|_| anyhow!("samod did not connect to {url} within {WAIT:?}"))?
            .map_err(|e| anyhow!("samod could not connect to {url}: {e}"))?;
        Ok(SamodClient { repo, dialer })
    }

    /// Finds a document through the relay and waits until samod holds every change the relay
    /// has told it about, so that what it then reads is the relay's state, not a partial sync.
    pub async fn find(&self, id: DocumentId) -> Result<samod::DocHandle> {
        let samod_id: samod::DocumentId =
            id.to_string().parse().map_err(|e| anyhow!("samod document id {id}: {e:?}"))?;
        let handle = tokio::time::timeout(WAIT, self.repo.find(samod_id))
            .await
            .map_err(|_| anyhow!("samod did not find {id} within {WAIT:?}"))?
            .map_err(|e| anyhow!("samod: {e}"))?
            .with_context(|| format!("the relay told samod that {id} is unavailable"))?;
        self.wait_synced(&handle).await?;
        Ok(handle)
    }

    /// Waits until samod has every change the relay has announced for this document.
    pub async fn wait_synced(&self, handle: &samod::DocHandle) -> Result<()> {
        let conn = self.dialer.connection_id().context("samod is not connected to the relay")?;
        tokio::time::timeout(WAIT, handle.we_have_their_changes(conn))
            .await
            .map_err(|_| anyhow!("samod did not receive the relay's changes within {WAIT:?}"))
    }

    /// Waits until the relay has told samod that it holds every change samod has.
    pub async fn wait_relay_has_ours(&self, handle: &samod::DocHandle) -> Result<()> {
        let conn = self.dialer.connection_id().context("samod is not connected to the relay")?;
        tokio::time::timeout(WAIT, handle.they_have_our_changes(conn))
            .await
            .map_err(|_| anyhow!("the relay did not acknowledge samod's changes within {WAIT:?}"))
    }

    /// Waits until the document holds the change `hash` (to show that a later change arrived).
    pub async fn wait_for_change(&self, handle: &samod::DocHandle, hash: ChangeHash) -> Result<()> {
        let has = |h: &samod::DocHandle| h.with_document(|d| d.get_change_by_hash(&hash).is_some());
        let mut changes = Box::pin(handle.changes());
        tokio::time::timeout(WAIT, async {
            while !has(handle) {
                if changes.next().await.is_none() {
                    break;
                }
            }
        })
        .await
        .map_err(|_| anyhow!("samod did not receive change {hash} within {WAIT:?}"))?;
        if has(handle) { Ok(()) } else { bail!("samod stopped before change {hash} arrived") }
    }

    /// Closes the connection and stops the repo.
    pub async fn stop(self) {
        self.dialer.close();
        self.repo.stop().await;
    }
}

/// A document as JSON (maps, lists, text and scalars), to compare what different clients hold.
pub fn doc_json(doc: &Automerge) -> serde_json::Value {
    serde_json::to_value(AutoSerde::from(doc)).unwrap_or(serde_json::Value::Null)
}

/// A document of `entries` root keys made in one change, as the seed and imports make documents;
/// keys are `entry-00000`, `entry-00001`, ….
pub fn one_change_doc(entries: usize) -> Automerge {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    for i in 0..entries {
        tx.put(ROOT, format!("entry-{i:05}"), format!("Contact point {i}, +358 40 {i:07}")).expect("put");
    }
    tx.commit();
    doc
}

/// The document the relay has stored (committed chunks only), loaded from its database.
pub fn stored_doc(db: &Db, id: DocumentId) -> Result<Automerge> {
    let stored = db
        .with(|c| contactpoint_server::storage::load_doc(c, &id))?
        .with_context(|| format!("the relay has not stored {id}"))?;
    Ok(Automerge::load(&stored.bytes)?)
}
