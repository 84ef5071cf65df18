//! Storage, on SQLite or PostgreSQL (through [`crate::sql`]): documents as snapshot + incremental chunks, the author of every accepted
//! change, sync states, identities and the audit log.
//!
//! Every method is blocking; async code calls them through [`Db::call`], which runs them on
//! tokio's blocking pool so that no lock is ever held across an `.await`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::ChangeHash;

pub use crate::access::Scope;
use crate::access::{Identity, Role};
use crate::sql::{self, Conn, Engine};

/// A storage failure. The message is for logs, not for clients.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite refused.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused, or the connection to it failed.
    #[error("database error: {}", pg_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to PostgreSQL could be had from the pool.
    #[error("no database connection: {0}")]
    Pool(String),
    /// The database belongs to a newer version of the relay.
    #[error("database schema version {found} is newer than this relay understands ({supported})")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A blocking task panicked or was cancelled.
    #[error("storage task failed: {0}")]
    Task(String),
    /// A stored document's bytes do not load. (Each variant's text ends with its cause, as the
    /// relay's log lines print errors whole.)
    #[error("document {doc} does not load: {source}")]
    Load {
        /// Which document.
        doc: DocumentId,
        /// Automerge's reason.
        #[source]
        source: Box<contactpoint_protocol::automerge::AutomergeError>,
    },
    /// A stored document loads but does not read as the kind of document it should be.
    #[error("document {doc} does not read: {source}")]
    Read {
        /// Which document.
        doc: DocumentId,
        /// The reader's reason.
        #[source]
        source: Box<contactpoint_directory::store::StoreError>,
    },
    /// Writing into a document failed.
    #[error("document {doc} could not be changed: {source}")]
    Change {
        /// Which document.
        doc: DocumentId,
        /// The writer's reason.
        #[source]
        source: Box<contactpoint_directory::store::StoreError>,
    },
    /// An Automerge operation on a loaded document failed (forking it, copying it).
    #[error("a document operation failed: {0}")]
    Automerge(#[source] Box<contactpoint_protocol::automerge::AutomergeError>),
    /// The sample data could not be built.
    #[error("the seed data could not be built: {0}")]
    Seed(#[source] Box<contactpoint_directory::seed::SeedError>),
    /// Text that should be a document id is not one.
    #[error("{what} {id:?} is not a document id: {source}")]
    BadId {
        /// Where the text came from (`stored document id`, `seed id`, …).
        what: &'static str,
        /// The text.
        id: String,
        /// Why it does not parse.
        #[source]
        source: contactpoint_protocol::doc_id::ParseError,
    },
    /// A directory for the database could not be made.
    #[error("cannot create {path:?}: {source}")]
    Io {
        /// The directory.
        path: std::path::PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
    /// An invariant of the data is broken (a bug or a hand-edited file).
    #[error("{0}")]
    Invalid(String),
}

/// PostgreSQL's own words for an error (its `Display` alone says only "db error").
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

impl From<contactpoint_protocol::automerge::AutomergeError> for StorageError {
    fn from(e: contactpoint_protocol::automerge::AutomergeError) -> Self {
        StorageError::Automerge(Box::new(e))
    }
}

impl From<contactpoint_directory::seed::SeedError> for StorageError {
    fn from(e: contactpoint_directory::seed::SeedError) -> Self {
        StorageError::Seed(Box::new(e))
    }
}

impl StorageError {
    /// A stored document that does not load.
    pub fn load(doc: DocumentId, source: contactpoint_protocol::automerge::AutomergeError) -> Self {
        StorageError::Load { doc, source: Box::new(source) }
    }

    /// A stored document that does not read as its kind.
    pub fn read(doc: DocumentId, source: contactpoint_directory::store::StoreError) -> Self {
        StorageError::Read { doc, source: Box::new(source) }
    }

    /// A document that could not be changed.
    pub fn change(doc: DocumentId, source: contactpoint_directory::store::StoreError) -> Self {
        StorageError::Change { doc, source: Box::new(source) }
    }

    /// A document id parsed from `id`, or why it is none.
    pub fn parse_id(what: &'static str, id: &str) -> Result<DocumentId, StorageError> {
        id.parse().map_err(|source| StorageError::BadId { what, id: id.to_owned(), source })
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// SQLite's schema, one step per version.
const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    // 1: the first schema.
    (
        1,
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE documents(
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        tombstoned_at INTEGER
     );
     CREATE TABLE chunks(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents(id),
        kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
        data BLOB NOT NULL
     );
     CREATE INDEX chunks_by_doc ON chunks(doc_id, seq);
     CREATE TABLE sync_states(
        doc_id TEXT NOT NULL,
        storage_id TEXT NOT NULL,
        state BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (doc_id, storage_id)
     );
     CREATE TABLE users(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
        created_at INTEGER NOT NULL,
        disabled_at INTEGER
     );
     CREATE TABLE user_areas(
        user_id INTEGER NOT NULL REFERENCES users(id),
        area TEXT NOT NULL,
        PRIMARY KEY (user_id, area)
     );
     CREATE TABLE invites(
        id INTEGER PRIMARY KEY,
        code_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
        areas TEXT NOT NULL,
        user_name TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        uses_left INTEGER NOT NULL
     );
     CREATE TABLE devices(
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER,
        revoked_at INTEGER
     );
     CREATE TABLE audit(
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        user_id INTEGER,
        device_id INTEGER,
        doc_id TEXT,
        action TEXT NOT NULL,
        detail TEXT
     );
     CREATE INDEX audit_by_time ON audit(at);",
    ),
    // 2: who delivered each accepted change, recorded with the change itself.
    (
        2,
        "CREATE TABLE change_authors(
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(id),
        hash TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id),
        device_id INTEGER NOT NULL REFERENCES devices(id),
        accepted_at INTEGER NOT NULL,
        UNIQUE (doc_id, hash)
     );",
    ),
    // 3: invites that add a device to an existing user instead of creating one.
    (3, "ALTER TABLE invites ADD COLUMN user_id INTEGER REFERENCES users(id);"),
    // 4: failed invite codes per client address, so that a restart does not forget them.
    (
        4,
        "CREATE TABLE redeem_failures(
        address TEXT PRIMARY KEY,
        attempts_left REAL NOT NULL,
        updated_at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX redeem_failures_by_time ON redeem_failures(updated_at);",
    ),
    // 5: a version per document that grows whenever its chunks change, whoever changes them, so
    // that a copy read earlier can be known to be current without reading the chunks.
    (
        5,
        "ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
     CREATE TRIGGER chunks_added AFTER INSERT ON chunks BEGIN
        UPDATE documents SET version = version + 1 WHERE id = NEW.doc_id;
     END;
     CREATE TRIGGER chunks_removed AFTER DELETE ON chunks BEGIN
        UPDATE documents SET version = version + 1 WHERE id = OLD.doc_id;
     END;",
    ),
    // 6: sync states keyed by device, not by the storage id a peer chooses, so that one device
    // holds at most one state per document however many storage ids it makes up. The states are
    // a saving of bandwidth only: dropping the old ones costs each device one fuller sync.
    (
        6,
        "DROP TABLE sync_states;
     CREATE TABLE sync_states(
        doc_id TEXT NOT NULL,
        device_id INTEGER NOT NULL,
        storage_id TEXT NOT NULL,
        state BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (doc_id, device_id)
     ) WITHOUT ROWID;
     CREATE INDEX sync_states_by_time ON sync_states(updated_at);",
    ),
    // 7: erasure by rotation. A rotated document names its successor; erased contact point ids
    // are kept (ids only) so that no write brings them back; and nothing more may be stored for a
    // tombstoned document, so that a relay task that still held one cannot write it back.
    (
        7,
        "ALTER TABLE documents ADD COLUMN replaced_by TEXT;
     CREATE INDEX documents_by_tombstone ON documents(tombstoned_at) WHERE tombstoned_at IS NOT NULL;
     CREATE TABLE erased_contacts(
        contact_id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        erased_at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TRIGGER chunks_not_for_tombstoned BEFORE INSERT ON chunks
     WHEN (SELECT tombstoned_at FROM documents WHERE id = NEW.doc_id) IS NOT NULL BEGIN
        SELECT RAISE(ABORT, 'the document has been erased');
     END;
     CREATE TRIGGER sync_states_not_for_tombstoned BEFORE INSERT ON sync_states
     WHEN (SELECT tombstoned_at FROM documents WHERE id = NEW.doc_id) IS NOT NULL BEGIN
        SELECT RAISE(ABORT, 'the document has been erased');
     END;
     CREATE TRIGGER change_authors_not_for_tombstoned BEFORE INSERT ON change_authors
     WHEN (SELECT tombstoned_at FROM documents WHERE id = NEW.doc_id) IS NOT NULL BEGIN
        SELECT RAISE(ABORT, 'the document has been erased');
     END;",
    ),
];

/// PostgreSQL's schema. Its history starts at version 7, SQLite's schema of that version, with the
/// same tables and rules: triggers keep a document's version moving with its chunks and refuse
/// anything more for a tombstoned document. Later versions add a step to both lists.
const PG_MIGRATIONS: &[(i64, &str)] = &[(
    7,
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE documents(
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        tombstoned_at BIGINT,
        version BIGINT NOT NULL DEFAULT 0,
        replaced_by TEXT
     );
     CREATE INDEX documents_by_tombstone ON documents(tombstoned_at) WHERE tombstoned_at IS NOT NULL;
     CREATE TABLE chunks(
        seq BIGSERIAL PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(id),
        kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
        data BYTEA NOT NULL
     );
     CREATE INDEX chunks_by_doc ON chunks(doc_id, seq);
     CREATE TABLE users(
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
        created_at BIGINT NOT NULL,
        disabled_at BIGINT
     );
     CREATE TABLE user_areas(
        user_id BIGINT NOT NULL REFERENCES users(id),
        area TEXT NOT NULL,
        PRIMARY KEY (user_id, area)
     );
     CREATE TABLE invites(
        id BIGSERIAL PRIMARY KEY,
        code_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
        areas TEXT NOT NULL,
        user_name TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        uses_left BIGINT NOT NULL,
        user_id BIGINT REFERENCES users(id)
     );
     CREATE TABLE devices(
        id BIGSERIAL PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT,
        revoked_at BIGINT
     );
     CREATE TABLE audit(
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        user_id BIGINT,
        device_id BIGINT,
        doc_id TEXT,
        action TEXT NOT NULL,
        detail TEXT
     );
     CREATE INDEX audit_by_time ON audit(at);
     CREATE TABLE change_authors(
        id BIGSERIAL PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(id),
        hash TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES users(id),
        device_id BIGINT NOT NULL REFERENCES devices(id),
        accepted_at BIGINT NOT NULL,
        UNIQUE (doc_id, hash)
     );
     CREATE TABLE redeem_failures(
        address TEXT PRIMARY KEY,
        attempts_left DOUBLE PRECISION NOT NULL,
        updated_at BIGINT NOT NULL
     );
     CREATE INDEX redeem_failures_by_time ON redeem_failures(updated_at);
     CREATE TABLE sync_states(
        doc_id TEXT NOT NULL,
        device_id BIGINT NOT NULL,
        storage_id TEXT NOT NULL,
        state BYTEA NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (doc_id, device_id)
     );
     CREATE INDEX sync_states_by_time ON sync_states(updated_at);
     CREATE TABLE erased_contacts(
        contact_id TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        erased_at BIGINT NOT NULL
     );
     CREATE FUNCTION chunks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE documents SET version = version + 1 WHERE id = NEW.doc_id;
        ELSE
            UPDATE documents SET version = version + 1 WHERE id = OLD.doc_id;
        END IF;
        RETURN NULL;
     END $$;
     CREATE TRIGGER chunks_added AFTER INSERT OR DELETE ON chunks FOR EACH ROW EXECUTE FUNCTION chunks_changed();
     CREATE FUNCTION not_for_tombstoned() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        IF (SELECT tombstoned_at FROM documents WHERE id = NEW.doc_id) IS NOT NULL THEN
            RAISE EXCEPTION 'the document has been erased';
        END IF;
        RETURN NEW;
     END $$;
     CREATE TRIGGER chunks_not_for_tombstoned BEFORE INSERT ON chunks
        FOR EACH ROW EXECUTE FUNCTION not_for_tombstoned();
     CREATE TRIGGER sync_states_not_for_tombstoned BEFORE INSERT ON sync_states
        FOR EACH ROW EXECUTE FUNCTION not_for_tombstoned();
     CREATE TRIGGER change_authors_not_for_tombstoned BEFORE INSERT ON change_authors
        FOR EACH ROW EXECUTE FUNCTION not_for_tombstoned();",
)];

/// A stored document: its scope and its chunks in order.
#[derive(Debug)]
pub struct StoredDoc {
    /// Who may read and write it.
    pub scope: Scope,
    /// Snapshot and incremental chunks, concatenated in storage order.
    pub bytes: Vec<u8>,
    /// Bytes of the newest snapshot.
    pub snapshot_bytes: usize,
    /// Bytes of the incremental chunks after it.
    pub incremental_bytes: usize,
    /// When it was refused forever (erasure by rotation), if ever.
    pub tombstoned: bool,
    /// The sequence numbers of the chunks read, so that compaction removes exactly these.
    pub seqs: Vec<i64>,
}

/// One accepted write for the audit log.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    /// Who.
    pub user_id: Option<i64>,
    /// From which device.
    pub device_id: Option<i64>,
    /// Which document.
    pub doc_id: Option<String>,
    /// What (`sync.write`, `sync.refused`, `invite.create`, …).
    pub action: String,
    /// Free-form detail for humans.
    pub detail: String,
}

/// One appended chunk and what it is attributed to.
#[derive(Debug)]
pub struct Append {
    /// Which document.
    pub doc: DocumentId,
    /// The incremental chunk.
    pub bytes: Vec<u8>,
    /// Audit entry recorded in the same transaction.
    pub audit: AuditEntry,
    /// The user and device that delivered the chunk's changes, recorded per change in the same
    /// transaction (`None` for chunks no device delivered).
    pub authors: Option<Authorship>,
}

/// The authenticated origin of a chunk of changes.
#[derive(Clone, Debug)]
pub struct Authorship {
    /// The user whose device sent the changes.
    pub user_id: i64,
    /// The device that sent them.
    pub device_id: i64,
    /// When the relay accepted them, in seconds since the Unix epoch.
    pub accepted_at: i64,
    /// The hashes of the changes.
    pub hashes: Vec<ChangeHash>,
}

/// One accepted change and who delivered it, as listed by `GET /api/v0/authors/{doc}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeAuthor {
    /// The change hash, hex.
    pub hash: String,
    /// User id.
    pub user_id: i64,
    /// The user's display name.
    pub user_name: String,
    /// Device id.
    pub device_id: i64,
    /// The device's name.
    pub device_name: String,
    /// When the relay accepted it, in seconds since the Unix epoch.
    pub accepted_at: i64,
}

/// The database, shared by every task of the relay: one SQLite file, or a pool of connections to
/// a PostgreSQL server that other relays may share.
#[derive(Clone)]
pub struct Db {
    engine: Arc<DbEngine>,
}

enum DbEngine {
    Sqlite(Mutex<Conn>),
    Pg(PgPool),
}

/// PostgreSQL's pool and the small runtime that drives its connections.
struct PgPool {
    pool: deadpool_postgres::Pool,
    /// Where to connect, for the listening connection, which is not the pool's.
    config: tokio_postgres::Config,
    /// What tells this pool's notices from other relays' ([`Conn::origin`]).
    origin: u64,
    rt: PgRuntime,
}

/// A runtime that may be dropped anywhere (also within another runtime's task).
struct PgRuntime(Option<tokio::runtime::Runtime>);

impl Drop for PgRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// How many connections one relay keeps to PostgreSQL at most.
const PG_POOL_SIZE: usize = 16;

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up to date. A
    /// `postgres://` URL in place of the path connects to PostgreSQL instead.
    pub fn open(path: &Path) -> Result<Db, StorageError> {
        if let Some(url) = path.to_str().filter(|p| sql::is_postgres_url(p)) {
            return Db::connect_postgres(url);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::Io { path: dir.to_owned(), source })?;
        }
        let conn = rusqlite::Connection::open(path)?;
        // Before anything reads the file: after a crash the first reader recovers the WAL, and a
        // second process opening the file meanwhile (the admin CLI, a restarted relay) waits for
        // it instead of failing with "database is locked".
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL lets the admin CLI work on the file while the relay runs; FULL sync makes a commit
        // survive power loss, not just a crash of the process.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows are overwritten, not just unlinked: compaction and erasure leave no old
        // content in free pages (see `rotate::forget`).
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        let conn = Conn::sqlite(conn);
        migrate(&conn)?;
        Ok(Db { engine: Arc::new(DbEngine::Sqlite(Mutex::new(conn))) })
    }

    /// Opens the database a `--db` argument names: a SQLite file path or a `postgres://` URL.
    pub fn connect(db: &str) -> Result<Db, StorageError> {
        Db::open(Path::new(db))
    }

    /// Connects to PostgreSQL and brings its schema up to date.
    pub fn connect_postgres(url: &str) -> Result<Db, StorageError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Invalid(format!("{} is not a database URL: {e}", sql::redact(url))))?;
        with_timeouts(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(|e| StorageError::Task(e.to_string()))?;
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
        );
        // A relay waits at most this long for a free connection or a new one, then the request
        // fails (and the client retries) instead of queueing behind a stalled server.
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(PG_POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        let db = Db {
            engine: Arc::new(DbEngine::Pg(PgPool {
                pool,
                config,
                origin: u64::from_le_bytes(crate::random::random_bytes::<8>()),
                rt: PgRuntime(Some(rt)),
            })),
        };
        db.with(|c| migrate(c))?;
        Ok(db)
    }

    /// Which engine holds the data.
    pub fn engine(&self) -> sql::Engine {
        match &*self.engine {
            DbEngine::Sqlite(_) => sql::Engine::Sqlite,
            DbEngine::Pg(_) => sql::Engine::Postgres,
        }
    }

    /// On PostgreSQL, what other processes announce on [`crate::notice::CHANNEL`], heard over a connection
    /// of its own that connects again whenever it drops, as long as the receiver is kept; `None`
    /// on SQLite, which has nothing to listen to.
    pub fn listen(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::notice::Heard>> {
        let DbEngine::Pg(pg) = &*self.engine else { return None };
        let rt = pg.rt.0.as_ref()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        rt.spawn(crate::notice::listen(pg.config.clone(), tx));
        Some(rx)
    }

    /// What tells this database handle's notices from other relays' ([`Conn::origin`]).
    pub fn origin(&self) -> u64 {
        match &*self.engine {
            DbEngine::Sqlite(_) => 0,
            DbEngine::Pg(pg) => pg.origin,
        }
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with(f)).await.map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Runs a short read `f` at once on this thread when the SQLite connection is free, and
    /// otherwise as [`Db::call`] does (always so on PostgreSQL, whose queries wait on the
    /// network). For lookups by key on every connection or subscription: handing each to the
    /// blocking pool and back cost more than the query, two thread switches for a read of a few
    /// microseconds. Never for writes or scans, which would hold up the other tasks of the thread,
    /// and never with an `f` that may panic: run at once, a panic unwinds into the caller
    /// rather than becoming [`StorageError::Task`].
    pub async fn call_short<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        if let DbEngine::Sqlite(conn) = &*self.engine {
            match conn.try_lock() {
                Ok(mut guard) => return f(&mut guard),
                // As in `with`: an unfinished transaction was rolled back with its guard.
                Err(std::sync::TryLockError::Poisoned(p)) => return f(&mut p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.call(f).await
    }

    /// Runs `f` with the connection on the current thread (for the CLI and start-up).
    pub fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, StorageError>) -> Result<T, StorageError> {
        match &*self.engine {
            DbEngine::Sqlite(conn) => {
                // A panic while holding the lock leaves the connection usable: an unfinished
                // transaction is rolled back when its guard is dropped.
                let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut guard)
            }
            DbEngine::Pg(pg) => {
                let mut conn = pg.get()?;
                let out = f(&mut conn);
                if !conn.is_clean() {
                    // Never hand the next caller a connection inside a transaction.
                    if let sql::Inner::Pg(obj) = conn.into_inner() {
                        let _ = deadpool_postgres::Object::take(obj);
                    }
                }
                out
            }
        }
    }
}

/// Limits on how long a PostgreSQL connection may hang (the URL's own settings win): a
/// relay host cut off from the network while it holds the writers' lock must not stall every
/// other relay's writes until TCP gives up (minutes to hours). Keepalives and a TCP user timeout
/// find a dead peer within about a minute; the server ends a session idle inside a transaction
/// after a minute (releasing its locks) and a wait for a lock after 30 seconds.
fn with_timeouts(config: &mut tokio_postgres::Config) {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.keepalives(true).keepalives_idle(Duration::from_secs(30));
    #[cfg(target_os = "linux")]
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(60));
    }
    let ours = "-c idle_in_transaction_session_timeout=60s -c lock_timeout=30s";
    let options = match config.get_options() {
        // The URL's own settings come last, so they win where they name the same one.
        Some(theirs) => format!("{ours} {theirs}"),
        None => ours.to_owned(),
    };
    config.options(options);
}

impl PgPool {
    fn get(&self) -> Result<Conn, StorageError> {
        let Some(rt) = &self.rt.0 else { return Err(StorageError::Task("the database runtime has stopped".into())) };
        let pool = self.pool.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        // Connecting needs the runtime's reactor; waiting for the answer does not.
        rt.spawn(async move {
            let _ = tx.send(pool.get().await);
        });
        let obj = rx
            .recv()
            .map_err(|_| StorageError::Task("the database runtime has stopped".into()))?
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        Ok(Conn::pg(obj, self.origin))
    }
}

fn migrate(conn: &Conn) -> Result<(), StorageError> {
    let supported = SCHEMA_VERSION;
    match conn.engine() {
        Engine::Sqlite => {
            let version = schema_version(conn)?;
            if version > supported {
                return Err(StorageError::TooNew { found: version, supported });
            }
            for (v, sql) in SQLITE_MIGRATIONS.iter().filter(|(v, _)| *v > version) {
                let sqlite = conn.as_sqlite().ok_or_else(|| StorageError::Invalid("not SQLite".into()))?;
                let tx = sqlite.unchecked_transaction()?;
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", v)?;
                tx.commit()?;
            }
        }
        Engine::Postgres => {
            let tx = conn.transaction()?;
            // Relays starting together migrate one after the other.
            tx.execute("SELECT pg_advisory_xact_lock(?1)", crate::args![PG_MIGRATION_LOCK])?;
            tx.execute_batch(
                "SET LOCAL client_min_messages = warning;
                 CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)",
            )?;
            let version = schema_version(&tx)?;
            if version > supported {
                return Err(StorageError::TooNew { found: version, supported });
            }
            for (v, sql) in PG_MIGRATIONS.iter().filter(|(v, _)| *v > version) {
                tx.execute_batch(sql)?;
                tx.execute("DELETE FROM schema_version", &[])?;
                tx.execute("INSERT INTO schema_version(version) VALUES (?1)", crate::args![*v])?;
            }
            tx.commit()?;
        }
    }
    Ok(())
}

/// The advisory lock PostgreSQL's migrations run under.
const PG_MIGRATION_LOCK: i64 = 0x0C0A_3161;

/// Adds a user with its role and areas; returns its id.
pub fn insert_user(tx: &Conn, name: &str, role: Role, areas: &[String], now_ms: i64) -> Result<i64, StorageError> {
    let user_id = tx.query_row(
        "INSERT INTO users(name, role, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        crate::args![name, role.as_str(), now_ms],
        |r| r.get(0),
    )?;
    for a in areas {
        tx.execute("INSERT INTO user_areas(user_id, area) VALUES (?1, ?2)", crate::args![user_id, a])?;
    }
    Ok(user_id)
}

/// The relay's storage id, created on first use, advertised to clients so they keep sync state.
/// Relays sharing one PostgreSQL database share it, as they share the documents.
pub fn storage_id(conn: &mut Conn) -> Result<String, StorageError> {
    if let Some(id) = meta_get(conn, "storage_id")? {
        return Ok(id);
    }
    let id = crate::random::random_uuid();
    // Two relays starting at once: the first id stored wins, and both read it back.
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('storage_id', ?1) ON CONFLICT(key) DO NOTHING",
        crate::args![id],
    )?;
    meta_get(conn, "storage_id")?.ok_or_else(|| StorageError::Invalid("no storage id was stored".into()))
}

/// A value from the `meta` table.
pub fn meta_get(conn: &Conn, key: &str) -> Result<Option<String>, StorageError> {
    conn.query_opt("SELECT value FROM meta WHERE key = ?1", crate::args![key], |r| r.get(0))
}

/// Sets a value in the `meta` table.
pub fn meta_set(conn: &Conn, key: &str, value: &str) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        crate::args![key, value],
    )?;
    Ok(())
}

/// The scope of a document, if the relay knows it.
pub fn doc_scope(conn: &Conn, doc: &DocumentId) -> Result<Option<(Scope, bool)>, StorageError> {
    conn.query_opt(
        "SELECT scope, tombstoned_at IS NOT NULL FROM documents WHERE id = ?1",
        crate::args![doc.to_string()],
        |r| Ok((Scope::from_db(&r.get::<String>(0)?), r.get::<bool>(1)?)),
    )
}

/// The national document (the oldest, should more than one be registered; never a tombstoned one)
/// and its version, a number that grows with every change to its stored chunks (appends by the
/// relay or by another process, and compaction). `None` when there is no national document.
pub fn national_doc(conn: &Conn) -> Result<Option<(DocumentId, i64)>, StorageError> {
    let found: Option<(String, i64)> = conn.query_opt(
        "SELECT id, version FROM documents WHERE scope = 'national' AND tombstoned_at IS NULL
         ORDER BY created_at, id LIMIT 1",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    found
        .map(|(id, version)| {
            let id = StorageError::parse_id("stored document id", &id)?;
            Ok((id, version))
        })
        .transpose()
}

/// Loads a document's chunks.
pub fn load_doc(conn: &Conn, doc: &DocumentId) -> Result<Option<StoredDoc>, StorageError> {
    let Some((scope, tombstoned)) = doc_scope(conn, doc)? else { return Ok(None) };
    let (mut bytes, mut snapshot_bytes, mut incremental_bytes, mut seqs) = (Vec::new(), 0, 0, Vec::new());
    conn.query_map(
        "SELECT kind, data, seq FROM chunks WHERE doc_id = ?1 ORDER BY CASE kind WHEN 'snapshot' THEN 0 ELSE 1 END, seq",
        crate::args![doc.to_string()],
        |row| {
            let kind: String = row.get(0)?;
            seqs.push(row.get::<i64>(2)?);
            let data: Vec<u8> = row.get(1)?;
            if kind == "snapshot" {
                snapshot_bytes += data.len();
            } else {
                incremental_bytes += data.len();
            }
            bytes.extend_from_slice(&data);
            Ok(())
        },
    )?;
    Ok(Some(StoredDoc { scope, bytes, snapshot_bytes, incremental_bytes, tombstoned, seqs }))
}

/// What a relay has not read of a document's stored chunks.
#[derive(Debug, Default)]
pub struct NewChunks {
    /// The chunks to merge, in load order.
    pub chunks: Vec<(i64, Vec<u8>)>,
    /// Set when a chunk the relay knew is gone (another relay compacted it): then `chunks` holds
    /// every stored chunk, and this lists each one's sequence number, whether it is a snapshot,
    /// and its size, which is what the relay's copy is built from once they are merged.
    pub all: Option<Vec<(i64, bool, usize)>>,
}

/// Chunks of a document other than the `known` ones (written by another process, such as the
/// admin CLI or another relay), in load order.
pub fn unknown_chunks(conn: &Conn, doc: &DocumentId, known: &[i64]) -> Result<NewChunks, StorageError> {
    let rows = conn.query_map(
        "SELECT seq, kind, data FROM chunks WHERE doc_id = ?1 ORDER BY CASE kind WHEN 'snapshot' THEN 0 ELSE 1 END, seq",
        crate::args![doc.to_string()],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)? == "snapshot", r.get::<Vec<u8>>(2)?)),
    )?;
    // A known chunk that is gone was compacted by another relay, into a snapshot that may hold
    // changes this one never read: then every chunk is new to it (merging known changes again
    // changes nothing).
    if known.iter().any(|k| !rows.iter().any(|(seq, _, _)| seq == k)) {
        let all = rows.iter().map(|(seq, snapshot, data)| (*seq, *snapshot, data.len())).collect();
        let chunks = rows.into_iter().map(|(seq, _, data)| (seq, data)).collect();
        return Ok(NewChunks { chunks, all: Some(all) });
    }
    let chunks =
        rows.into_iter().filter(|(seq, _, _)| !known.contains(seq)).map(|(seq, _, data)| (seq, data)).collect();
    Ok(NewChunks { chunks, all: None })
}

/// The documents that received chunks after `since`, and the newest sequence number.
pub fn chunks_since(conn: &Conn, since: i64) -> Result<(Vec<String>, i64), StorageError> {
    let rows = conn.query_map(
        "SELECT doc_id, MAX(seq) FROM chunks WHERE seq > ?1 GROUP BY doc_id",
        crate::args![since],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
    )?;
    let mut docs = Vec::new();
    let mut newest = since;
    for (d, m) in rows {
        docs.push(d);
        newest = newest.max(m);
    }
    Ok((docs, newest))
}

/// The newest chunk sequence number.
pub fn newest_seq(conn: &Conn) -> Result<i64, StorageError> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM chunks", &[], |r| r.get(0))
}

/// The one statement that stores a chunk: a `snapshot` or an `incremental` one, numbered after
/// every other. Returns its sequence number.
///
/// On PostgreSQL the writers' lock is taken first (the caller must be in a transaction), so that
/// chunks are numbered in the order they are committed, as SQLite's one writer numbers them: a
/// watcher that reads `seq > n` then misses no chunk committed later with a smaller number.
fn insert_chunk(conn: &Conn, doc: &str, snapshot: bool, data: &[u8]) -> Result<i64, StorageError> {
    conn.write_lock()?;
    let kind = if snapshot { "snapshot" } else { "incremental" };
    let seq = conn.query_row(
        "INSERT INTO chunks(doc_id, kind, data) VALUES (?1, ?2, ?3) RETURNING seq",
        crate::args![doc, kind, data],
        |r| r.get(0),
    )?;
    // Delivered when the transaction commits, so no relay hears of a chunk it cannot read.
    conn.notify(&crate::notice::Notice::Chunk { doc: doc.to_owned(), seq })?;
    Ok(seq)
}

/// Appends one incremental chunk to a document within the caller's transaction (the command
/// line's writes: imports, the catalogue, moves); empty bytes are no chunk.
pub fn append_chunk(tx: &Conn, doc: &DocumentId, bytes: &[u8]) -> Result<(), StorageError> {
    if !bytes.is_empty() {
        insert_chunk(tx, &doc.to_string(), false, bytes)?;
    }
    Ok(())
}

/// Registers a document with its scope and first snapshot (which may be empty).
pub fn create_doc(tx: &Conn, doc: &DocumentId, scope: &Scope, snapshot: &[u8]) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO documents(id, scope, created_at) VALUES (?1, ?2, ?3)",
        crate::args![doc.to_string(), scope.as_db(), now_ms()],
    )?;
    if !snapshot.is_empty() {
        insert_chunk(tx, &doc.to_string(), true, snapshot)?;
    }
    Ok(())
}

/// Appends accepted changes and their audit entries in one transaction: either all of a batch
/// is durable, or none of it is. Returns the sequence numbers of the new chunks.
pub fn append_batch(
    conn: &mut Conn,
    batch: &[Append],
    create: Option<(&DocumentId, &Scope)>,
) -> Result<Vec<i64>, StorageError> {
    let tx = conn.transaction()?;
    if let Some((doc, scope)) = create {
        create_doc(&tx, doc, scope, &[])?;
    }
    let mut seqs = Vec::with_capacity(batch.len());
    for a in batch {
        let doc = a.doc.to_string();
        seqs.push(insert_chunk(&tx, &doc, false, &a.bytes)?);
        insert_audit(&tx, &a.audit)?;
        if let Some(by) = &a.authors {
            for h in &by.hashes {
                // A change the relay already attributed keeps its first author.
                tx.execute(
                    "INSERT INTO change_authors(doc_id, hash, user_id, device_id, accepted_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(doc_id, hash) DO NOTHING",
                    crate::args![doc, h.to_string(), by.user_id, by.device_id, by.accepted_at],
                )?;
            }
        }
    }
    tx.commit()?;
    Ok(seqs)
}

/// Replaces the `covered` chunks of a document (those the snapshot was made from) with the
/// snapshot, in one transaction. Chunks another process added meanwhile are kept and still load
/// after the snapshot, because snapshots load first. The snapshot takes a new sequence number,
/// never a replaced chunk's: another relay's watcher reading `seq > n` then sees it (it may hold
/// a change that relay never read), and a relay that knew a replaced chunk finds it gone.
/// Chunks another relay already replaced are gone: the snapshot is then stored only if every
/// covered chunk was still there, so that two relays compacting at once leave one snapshot.
/// Returns the snapshot's sequence number, `None` when another compaction came first.
pub fn compact(
    conn: &mut Conn,
    doc: &DocumentId,
    snapshot: &[u8],
    covered: &[i64],
) -> Result<Option<i64>, StorageError> {
    if covered.is_empty() {
        return Err(StorageError::Invalid("compaction without chunks to replace".into()));
    }
    let tx = conn.transaction()?;
    tx.write_lock()?;
    let mut deleted = 0;
    for seq in covered {
        deleted +=
            tx.execute("DELETE FROM chunks WHERE doc_id = ?1 AND seq = ?2", crate::args![doc.to_string(), seq])?;
    }
    if deleted != covered.len() {
        // Rolled back on drop: the chunks are as the other compaction left them.
        return Ok(None);
    }
    let seq = insert_chunk(&tx, &doc.to_string(), true, snapshot)?;
    tx.commit()?;
    Ok(Some(seq))
}

/// The stored sync state of a document with a device, if the device still uses the same storage
/// (a new storage id means the peer's copy is new too, so the old state would mislead).
pub fn load_sync_state(
    conn: &Conn,
    doc: &DocumentId,
    device_id: i64,
    storage_id: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    conn.query_opt(
        "SELECT state FROM sync_states WHERE doc_id = ?1 AND device_id = ?2 AND storage_id = ?3",
        crate::args![doc.to_string(), device_id, storage_id],
        |r| r.get(0),
    )
}

/// A peer's sync state to keep: document, device, the peer's storage id, the encoded state.
pub type SavedState = (DocumentId, i64, String, Vec<u8>);

/// Stores sync states, one transaction for all; a device's newer state replaces its older one.
pub fn save_sync_states(conn: &mut Conn, states: &[SavedState]) -> Result<(), StorageError> {
    let tx = conn.transaction()?;
    // On PostgreSQL, under the writers' lock as a rotation is: otherwise the check that refuses
    // a state for an erased document could read the document just before a rotation commits,
    // and the rotation's delete, not seeing this insert, would leave the state behind.
    tx.write_lock()?;
    let now = now_ms();
    for (doc, device, sid, state) in states {
        tx.execute(
            "INSERT INTO sync_states(doc_id, device_id, storage_id, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(doc_id, device_id) DO UPDATE SET storage_id = ?3, state = ?4, updated_at = ?5",
            crate::args![doc.to_string(), device, sid, state, now],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Deletes sync states not used since `before` (milliseconds): a device away that long syncs
/// afresh, and the table does not grow with devices that never return.
pub fn prune_sync_states(conn: &Conn, before: i64) -> Result<usize, StorageError> {
    conn.execute("DELETE FROM sync_states WHERE updated_at < ?1", crate::args![before])
}

/// Records an audit entry.
pub fn insert_audit(conn: &Conn, e: &AuditEntry) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO audit(at, user_id, device_id, doc_id, action, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        crate::args![now_ms(), e.user_id, e.device_id, e.doc_id, e.action, e.detail],
    )?;
    Ok(())
}

/// The recorded authors of a document's changes, oldest first.
pub fn change_authors(conn: &Conn, doc: &DocumentId) -> Result<Vec<ChangeAuthor>, StorageError> {
    conn.query_map(
        "SELECT ca.hash, ca.user_id, u.name, ca.device_id, d.name, ca.accepted_at
         FROM change_authors ca JOIN users u ON u.id = ca.user_id JOIN devices d ON d.id = ca.device_id
         WHERE ca.doc_id = ?1 ORDER BY ca.accepted_at, ca.id",
        crate::args![doc.to_string()],
        |r| {
            Ok(ChangeAuthor {
                hash: r.get(0)?,
                user_id: r.get(1)?,
                user_name: r.get(2)?,
                device_id: r.get(3)?,
                device_name: r.get(4)?,
                accepted_at: r.get(5)?,
            })
        },
    )
}

/// All documents with their scopes.
pub fn list_docs(conn: &Conn) -> Result<Vec<(String, Scope, bool)>, StorageError> {
    conn.query_map("SELECT id, scope, tombstoned_at IS NOT NULL FROM documents ORDER BY created_at, id", &[], |r| {
        Ok((r.get::<String>(0)?, Scope::from_db(&r.get::<String>(1)?), r.get(2)?))
    })
}

/// Documents tombstoned at or after `since` (milliseconds): (id, its successor if it was
/// rotated, when).
pub fn tombstoned_since(conn: &Conn, since: i64) -> Result<Vec<(String, Option<String>, i64)>, StorageError> {
    conn.query_map(
        "SELECT id, replaced_by, tombstoned_at FROM documents WHERE tombstoned_at >= ?1 ORDER BY tombstoned_at",
        crate::args![since],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// Every erased contact point id.
pub fn erased_contacts(conn: &Conn) -> Result<Vec<String>, StorageError> {
    conn.query_map("SELECT contact_id FROM erased_contacts ORDER BY contact_id", &[], |r| r.get(0))
}

/// Looks up the identity behind a device token hash. Revoked devices and disabled users have none.
pub fn identity_by_token_hash(conn: &Conn, token_hash: &str) -> Result<Option<Identity>, StorageError> {
    let row = conn.query_opt(
        "SELECT d.id, u.id, u.name, u.role FROM devices d JOIN users u ON u.id = d.user_id
         WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
        crate::args![token_hash],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?, r.get::<String>(3)?)),
    )?;
    let Some((device_id, user_id, user_name, role)) = row else { return Ok(None) };
    let role =
        Role::parse(&role).ok_or_else(|| StorageError::Invalid(format!("user {user_id} has unknown role {role}")))?;
    Ok(Some(Identity { user_id, device_id, user_name, role, areas: user_areas(conn, user_id)? }))
}

/// Devices revoked and users disabled at or after `since` (milliseconds): (id, `device` or
/// `user`, when).
pub fn revocations_since(conn: &Conn, since: i64) -> Result<Vec<(i64, String, i64)>, StorageError> {
    conn.query_map(
        "SELECT id, 'device', revoked_at FROM devices WHERE revoked_at >= ?1
         UNION ALL SELECT id, 'user', disabled_at FROM users WHERE disabled_at >= ?1",
        crate::args![since],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?)),
    )
}

/// A round trip to the database, for health checks: a relay that cannot read cannot store.
pub fn ping(conn: &Conn) -> Result<(), StorageError> {
    conn.query_row("SELECT 1", &[], |r| r.get::<i64>(0))?;
    Ok(())
}

/// Whether the schema is the one this build writes: every migration done, none from a newer
/// build.
pub fn schema_current(conn: &Conn) -> Result<bool, StorageError> {
    Ok(schema_version(conn)? == SCHEMA_VERSION)
}

/// The schema version recorded in a database.
pub fn schema_version(conn: &Conn) -> Result<i64, StorageError> {
    match conn.as_sqlite() {
        Some(c) => Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?),
        None => conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[], |r| r.get(0)),
    }
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = SQLITE_MIGRATIONS.len() as i64;

/// The areas a user edits.
pub fn user_areas(conn: &Conn, user_id: i64) -> Result<Vec<String>, StorageError> {
    conn.query_map("SELECT area FROM user_areas WHERE user_id = ?1 ORDER BY area", crate::args![user_id], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_migrate_to_the_same_schema_version() {
        assert_eq!(PG_MIGRATIONS.last().map(|(v, _)| *v), Some(SCHEMA_VERSION), "a migration is missing on PostgreSQL");
        assert!(PG_MIGRATIONS.windows(2).all(|w| w[1].0 == w[0].0 + 1), "PostgreSQL's versions have a gap");
    }

    /// A short read runs on the caller's thread while the SQLite connection is free, and waits
    /// on the blocking pool for a holder to let go of it otherwise, never on the caller's thread.
    #[tokio::test]
    async fn a_short_read_runs_at_once_only_while_the_connection_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        let here = std::thread::current().id();
        let ran_on = db.call_short(|c| ping(c).map(|()| std::thread::current().id())).await.unwrap();
        assert_eq!(ran_on, here, "a free connection was not used at once");

        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let db = db.clone();
            std::thread::spawn(move || {
                db.with(|_| {
                    held_tx.send(()).unwrap();
                    // Bounded, so that a read that waited for the connection on the runtime's
                    // thread fails the test below instead of hanging it.
                    let _ = release_rx.recv_timeout(Duration::from_secs(5));
                    Ok(())
                })
            })
        };
        held_rx.recv().unwrap();
        let short = tokio::spawn({
            let db = db.clone();
            async move { db.call_short(|c| ping(c).map(|()| std::thread::current().id())).await }
        });
        // The runtime's one thread stays free to run this while the read waits.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!short.is_finished(), "the read did not wait for the connection");
        release_tx.send(()).unwrap();
        let ran_on = short.await.unwrap().unwrap();
        assert_ne!(ran_on, here, "a busy connection was waited for on the runtime's thread");
        holder.join().unwrap().unwrap();
    }

    #[test]
    fn chunks_append_compact_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        let doc = DocumentId::from_random_bytes([1; 16]);
        db.with(|c| {
            let tx = c.transaction()?;
            create_doc(&tx, &doc, &Scope::Area("municipality:091".into()), b"snap")?;
            tx.commit()?;
            let audit =
                AuditEntry { user_id: None, device_id: None, doc_id: None, action: "t".into(), detail: String::new() };
            append_batch(c, &[Append { doc, bytes: b"inc".to_vec(), audit, authors: None }], None)?;
            let d = load_doc(c, &doc)?.unwrap();
            assert_eq!(d.bytes, b"snapinc");
            assert_eq!((d.snapshot_bytes, d.incremental_bytes), (4, 3));
            assert_eq!(d.scope, Scope::Area("municipality:091".into()));
            let d = load_doc(c, &doc)?.unwrap();
            // Another process appends while the snapshot is being made: its chunk survives.
            let audit =
                AuditEntry { user_id: None, device_id: None, doc_id: None, action: "t".into(), detail: String::new() };
            append_batch(c, &[Append { doc, bytes: b"late".to_vec(), audit, authors: None }], None)?;
            compact(c, &doc, b"all", &d.seqs)?;
            assert_eq!(load_doc(c, &doc)?.unwrap().bytes, b"alllate", "the late chunk is kept, after the snapshot");
            Ok(())
        })
        .unwrap();
        // Reopening keeps the schema and the data.
        drop(db);
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        assert_eq!(db.with(|c| load_doc(c, &doc)).unwrap().unwrap().bytes, b"alllate");
    }

    #[test]
    fn the_national_version_follows_every_chunk_change() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        let (national, area) = (DocumentId::from_random_bytes([3; 16]), DocumentId::from_random_bytes([4; 16]));
        let audit =
            || AuditEntry { user_id: None, device_id: None, doc_id: None, action: "t".into(), detail: String::new() };
        db.with(|c| {
            assert_eq!(national_doc(c)?, None);
            let tx = c.transaction()?;
            create_doc(&tx, &area, &Scope::Area("municipality:091".into()), b"area")?;
            create_doc(&tx, &national, &Scope::National, b"snap")?;
            tx.commit()?;
            let (id, first) = national_doc(c)?.unwrap();
            assert_eq!(id, national);
            append_batch(c, &[Append { doc: area, bytes: b"a".to_vec(), audit: audit(), authors: None }], None)?;
            assert_eq!(national_doc(c)?, Some((national, first)), "other documents' chunks do not count");
            append_batch(c, &[Append { doc: national, bytes: b"inc".to_vec(), audit: audit(), authors: None }], None)?;
            let (_, appended) = national_doc(c)?.unwrap();
            assert!(appended > first);
            // Compaction stores the snapshot under a new number, after every chunk it replaces.
            let seqs = load_doc(c, &national)?.unwrap().seqs;
            let snapshot = compact(c, &national, b"all", &seqs)?.unwrap();
            assert_eq!(load_doc(c, &national)?.unwrap().seqs, [snapshot]);
            assert!(seqs.iter().all(|s| *s < snapshot));
            let (_, compacted) = national_doc(c)?.unwrap();
            assert!(compacted > appended);
            // Another process's write (the admin CLI's import) counts as well.
            c.execute(
                "INSERT INTO chunks(doc_id, kind, data) VALUES (?1, 'incremental', x'00')",
                crate::args![national.to_string()],
            )?;
            assert!(national_doc(c)?.unwrap().1 > compacted);
            c.execute("UPDATE documents SET tombstoned_at = 1 WHERE id = ?1", crate::args![national.to_string()])?;
            assert_eq!(national_doc(c)?, None, "a tombstoned national document is no national document");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(Db::open(&path), Err(StorageError::TooNew { found: 99, .. })));
    }
}
