//! The relay's one way to its database: SQLite (embedded, the default) or PostgreSQL (any number
//! of relays over one server), behind statements written once.
//!
//! A statement is written with `?N` (or `?`) placeholders in the SQL both engines accept
//! (`ON CONFLICT … DO NOTHING/UPDATE`, `RETURNING` instead of `last_insert_rowid()`); on
//! PostgreSQL the placeholders become `$N`. Values cross as [`Value`], rows are read with
//! [`Row::get`]. Every call blocks: async code reaches a [`Conn`] through `storage::Db::call`,
//! which runs it on tokio's blocking pool; PostgreSQL's connections are driven by a small runtime
//! of their own, so that blocking on them is allowed from any thread.

use std::cell::Cell;

use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::notice::{self, Notice};
use crate::storage::StorageError;

/// One value passed to or read from a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer (also booleans, as 0 and 1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// What can be passed as a statement's parameter.
pub trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}
impl ToValue for i32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// A statement's parameters: `args![a, b, c]`.
#[macro_export]
macro_rules! args {
    ($($x:expr),* $(,)?) => {
        &[$($crate::sql::ToValue::to_value(&$x)),*] as &[$crate::sql::Value]
    };
}

/// What can be read from a row's column.
pub trait FromValue: Sized {
    /// Converts, or says why not.
    fn from_value(v: Value) -> Result<Self, String>;
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self, String> {
        Ok(v)
    }
}
impl FromValue for i64 {
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Real(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl FromValue for String {
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One row of a result.
pub enum Row<'a> {
    /// A SQLite row.
    Sqlite(&'a rusqlite::Row<'a>),
    /// A PostgreSQL row.
    Pg(&'a tokio_postgres::Row),
}

impl Row<'_> {
    /// Column `i` as a `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StorageError> {
        let v = match self {
            Row::Sqlite(r) => match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            },
            Row::Pg(r) => pg_value(r, i)?,
        };
        T::from_value(v).map_err(|e| StorageError::Invalid(format!("column {i}: {e}")))
    }
}

fn pg_value(r: &tokio_postgres::Row, i: usize) -> Result<Value, tokio_postgres::Error> {
    let ty = r.columns().get(i).map(|c| c.type_().clone()).unwrap_or(Type::TEXT);
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
    Ok(match ty {
        Type::INT8 => int(r.try_get::<_, Option<i64>>(i)?),
        Type::INT4 => int(r.try_get::<_, Option<i32>>(i)?.map(i64::from)),
        Type::INT2 => int(r.try_get::<_, Option<i16>>(i)?.map(i64::from)),
        Type::BOOL => int(r.try_get::<_, Option<bool>>(i)?.map(i64::from)),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map_or(Value::Null, Value::Real),
        Type::FLOAT4 => r.try_get::<_, Option<f32>>(i)?.map_or(Value::Null, |f| Value::Real(f64::from(f))),
        Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map_or(Value::Null, Value::Blob),
        _ => r.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text),
    })
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Which engine a connection speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server, possibly shared by several relays.
    Postgres,
}

/// Whether `db` (a `--db` argument) names a PostgreSQL database rather than a file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `db` with the password of a database URL replaced by `***`, for logs and settings lines.
pub fn redact(db: &str) -> String {
    let Some((scheme, rest)) = db.split_once("://").filter(|_| is_postgres_url(db)) else { return db.to_owned() };
    // A password given as a query parameter, wherever it is (an `@` later in the query must not
    // make it look like the credentials).
    let masked: String = rest
        .split('&')
        .map(|part| match part.find("password=") {
            Some(i) if i == 0 || part[..i].ends_with('?') => format!("{}password=***", &part[..i]),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    let rest = masked.as_str();
    // The credentials end at an `@`; a password may hold `?`, `/` or even `@` unencoded, so
    // everything before the last `@` is taken as them (masking too much is harmless).
    let (auth, rest) = match rest.rfind('@') {
        Some(at) => {
            let auth = &rest[..at];
            let masked = match auth.split_once(':') {
                Some((user, _)) => format!("{user}:***@"),
                None => format!("{auth}@"),
            };
            (masked, &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    format!("{scheme}://{auth}{rest}")
}

/// `?N` and `?` placeholders as PostgreSQL's `$N`, outside quoted text.
pub fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut next, mut quoted) = (1, false);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str(&format!("${next}"));
                    next += 1;
                } else {
                    out.push('$');
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The advisory lock that orders PostgreSQL's writers where SQLite's single writer would: chunk
/// appends (so that sequence numbers are committed in order and a watcher reading `seq > n` misses
/// none) and the transactions SQLite runs `IMMEDIATE`.
const PG_WRITE_LOCK: i64 = 0x0C0A_7AC7;

pub(crate) enum Inner {
    Sqlite(rusqlite::Connection),
    Pg(deadpool_postgres::Object),
}

/// A connection to either engine.
pub struct Conn {
    inner: Inner,
    depth: Cell<u32>,
    origin: u64,
}

impl Conn {
    /// A SQLite connection as it is, schema untouched (tools that must not migrate a file).
    pub fn sqlite(c: rusqlite::Connection) -> Conn {
        Conn { inner: Inner::Sqlite(c), depth: Cell::new(0), origin: 0 }
    }

    pub(crate) fn pg(c: deadpool_postgres::Object, origin: u64) -> Conn {
        Conn { inner: Inner::Pg(c), depth: Cell::new(0), origin }
    }

    /// A random number that tells this process's pool (one relay) from others over the same
    /// database in what it announces; 0 on SQLite.
    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// Which engine this is.
    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Sqlite(_) => Engine::Sqlite,
            Inner::Pg(_) => Engine::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (backups, `VACUUM`, pragmas).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Pg(_) => None,
        }
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.depth.get() > 0
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StorageError> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?)
            }
            Inner::Pg(c) => {
                let sql = pg_placeholders(sql);
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let n = block_on(async {
                    let st = c.prepare_cached(&sql).await?;
                    c.execute(&st, &refs).await
                })?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs a query and maps every row.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row<'_>) -> Result<T, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let mut rows = st.query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            Inner::Pg(c) => {
                let sql = pg_placeholders(sql);
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let rows = block_on(async {
                    let st = c.prepare_cached(&sql).await?;
                    c.query(&st, &refs).await
                })?;
                rows.iter().map(|r| f(&Row::Pg(r))).collect()
            }
        }
    }

    /// The first row of a query, mapped, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row<'_>) -> Result<T, StorageError>,
    ) -> Result<Option<T>, StorageError> {
        let mut f = Some(f);
        let mut out = None;
        self.query_map(sql, params, |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, mapped; no row is an error.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.query_opt(sql, params, f)?.ok_or_else(|| StorageError::Invalid("the query returned no row".into()))
    }

    /// Runs several statements without parameters (migrations).
    pub fn execute_batch(&self, sql: &str) -> Result<(), StorageError> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Pg(c) => Ok(block_on(c.batch_execute(sql))?),
        }
    }

    /// Opens a transaction (a savepoint within one), rolled back unless committed.
    pub fn transaction(&self) -> Result<Tx<'_>, StorageError> {
        self.begin(false)
    }

    /// A transaction that holds the writer's lock from its start, for a read followed by a write
    /// that must see no other writer in between (SQLite's `BEGIN IMMEDIATE`; on PostgreSQL the
    /// writers' advisory lock).
    pub fn transaction_immediate(&self) -> Result<Tx<'_>, StorageError> {
        self.begin(true)
    }

    fn begin(&self, immediate: bool) -> Result<Tx<'_>, StorageError> {
        let depth = self.depth.get();
        let start = match (&self.inner, depth, immediate) {
            (_, 1.., _) => format!("SAVEPOINT sp{depth}"),
            (Inner::Sqlite(_), 0, true) => "BEGIN IMMEDIATE".into(),
            _ => "BEGIN".into(),
        };
        self.execute_batch(&start)?;
        self.depth.set(depth + 1);
        let tx = Tx { conn: self, level: depth + 1, done: false };
        if immediate {
            // On failure the transaction is dropped, which rolls it back.
            tx.write_lock()?;
        }
        Ok(tx)
    }

    /// On PostgreSQL, takes the writers' advisory lock until the transaction ends (the caller
    /// must be in one); on SQLite nothing, as its one writer already holds the file.
    pub fn write_lock(&self) -> Result<(), StorageError> {
        if self.engine() == Engine::Postgres {
            if !self.in_transaction() {
                return Err(StorageError::Invalid("the writers' lock is taken outside a transaction".into()));
            }
            self.execute("SELECT pg_advisory_xact_lock(?1)", &[Value::Int(PG_WRITE_LOCK)])?;
        }
        Ok(())
    }

    /// On PostgreSQL, announces `notice` on [`notice::CHANNEL`] when the caller's transaction commits
    /// (at once outside one); on SQLite nothing, as its relay alone serves the file and polls
    /// for what the command line changed.
    pub fn notify(&self, notice: &Notice) -> Result<(), StorageError> {
        if self.engine() == Engine::Postgres {
            self.execute(
                "SELECT pg_notify(?1, ?2)",
                &[Value::Text(notice::CHANNEL.into()), Value::Text(notice.payload())],
            )?;
        }
        Ok(())
    }

    /// Whether a connection is in a usable state for the next caller.
    pub(crate) fn is_clean(&self) -> bool {
        self.depth.get() == 0
    }

    pub(crate) fn into_inner(self) -> Inner {
        self.inner
    }
}

/// An open transaction; it derefs to its connection.
pub struct Tx<'a> {
    conn: &'a Conn,
    level: u32,
    done: bool,
}

impl Tx<'_> {
    /// Makes the transaction's writes durable (or releases the savepoint).
    pub fn commit(mut self) -> Result<(), StorageError> {
        self.done = true;
        let sql = if self.level > 1 { format!("RELEASE SAVEPOINT sp{}", self.level - 1) } else { "COMMIT".into() };
        let r = self.conn.execute_batch(&sql);
        self.conn.depth.set(self.level - 1);
        if r.is_err() && self.level == 1 {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        r
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let sql = if self.level > 1 {
                format!("ROLLBACK TO SAVEPOINT sp{0}; RELEASE SAVEPOINT sp{0}", self.level - 1)
            } else {
                "ROLLBACK".into()
            };
            let _ = self.conn.execute_batch(&sql);
            self.conn.depth.set(self.level - 1);
        }
    }
}

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Real(f) => rusqlite::types::Value::Real(*f),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
    }
}

/// Waits for a PostgreSQL client future on the calling thread. The client's requests go through
/// channels to its connection task, which runs on the pool's own runtime, so this does not need
/// (and does not block) a tokio worker of the caller's runtime beyond the caller itself.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_outside_quotes() {
        assert_eq!(pg_placeholders("SELECT ?1, '?x' FROM t WHERE a = ?12"), "SELECT $1, '?x' FROM t WHERE a = $12");
        assert_eq!(pg_placeholders("a = ? AND b = ?"), "a = $1 AND b = $2");
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(redact("postgres://relay:s3cret@db.example:5432/cp"), "postgres://relay:***@db.example:5432/cp");
        assert_eq!(
            redact("postgres://relay@h/cp?password=x&sslmode=disable"),
            "postgres://relay@h/cp?password=***&sslmode=disable"
        );
        assert_eq!(redact("/var/lib/cp/relay.sqlite"), "/var/lib/cp/relay.sqlite");
        // Characters a password may hold unencoded do not expose it.
        assert_eq!(redact("postgres://relay:pa?ss@h/cp"), "postgres://relay:***@h/cp");
        assert_eq!(redact("postgres://relay:p/a@ss@h/cp?sslmode=disable"), "postgres://relay:***@h/cp?sslmode=disable");
        let odd = redact("postgres://h/cp?password=s3cret&application_name=ops@site");
        assert!(!odd.contains("s3cret"), "{odd}");
    }
}
