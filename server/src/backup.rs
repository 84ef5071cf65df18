//! Backups of the live database with SQLite's online backup API, each verified before it is
//! kept, and restores into the path of a stopped relay.
//!
//! A backup copies the database in one step of the backup API: in WAL mode a reader does not
//! block the relay's writes, and one step reads one consistent snapshot, so the copy holds every
//! change committed (and so every change acknowledged) before it started. The copy is written
//! beside the target, checked (`PRAGMA integrity_check` and the schema version), and only then
//! renamed into place, so a failed backup never replaces a good one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};

use crate::storage;

/// What a verified backup holds.
#[derive(Debug)]
pub struct Verified {
    /// Its schema version.
    pub schema_version: i64,
    /// Its size in bytes.
    pub bytes: u64,
    /// Documents it holds.
    pub documents: i64,
}

/// `backup` and `restore` copy SQLite files; a PostgreSQL database is backed up with the
/// server's own tools, which the message names.
fn refuse_postgres(db: &Path) -> Result<()> {
    if crate::sql::is_postgres_url(&db.to_string_lossy()) {
        bail!(
            "backup and restore work on SQLite files; back up a PostgreSQL database with its own tools: \
             pg_dump --format=custom (and pg_restore to restore), or the server's continuous archiving"
        );
    }
    Ok(())
}

/// Copies the database at `db` (which a relay may be serving) to `out`, verified.
pub fn backup(db: &Path, out: &Path) -> Result<Verified> {
    refuse_postgres(db)?;
    if !db.exists() {
        bail!("there is no database at {}", db.display());
    }
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .with_context(|| format!("cannot open {}", db.display()))?;
    src.busy_timeout(Duration::from_secs(10))?;
    let partial = partial_path(out);
    let _ = std::fs::remove_file(&partial);
    {
        let mut dst = Connection::open(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
        copy_all(&src, &mut dst).context("the backup did not complete")?;
        // One self-contained file: no WAL beside it.
        dst.pragma_update(None, "journal_mode", "DELETE")?;
    }
    let verified = match verify(&partial) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context("the copy failed its check and was deleted"));
        }
    };
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, out).with_context(|| format!("cannot move the backup to {}", out.display()))?;
    Ok(verified)
}

/// Checks a backup file: SQLite's integrity check passes and its schema is this build's.
pub fn verify(file: &Path) -> Result<Verified> {
    let c = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {}", file.display()))?;
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        bail!("{} fails SQLite's integrity check: {check}", file.display());
    }
    let schema_version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if schema_version != storage::SCHEMA_VERSION {
        bail!(
            "{} has schema version {schema_version}; this relay writes version {}",
            file.display(),
            storage::SCHEMA_VERSION
        );
    }
    let documents = c.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
    Ok(Verified { schema_version, bytes: std::fs::metadata(file)?.len(), documents })
}

/// Replaces the database at `db` with the backup `from`, after checking the backup. Refused
/// while any other process has `db` open (a running relay, an admin command), unless `force`.
pub fn restore(from: &Path, db: &Path, force: bool) -> Result<Verified> {
    refuse_postgres(db)?;
    let verified = verify(from)?;
    let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut dst = Connection::open(db).with_context(|| format!("cannot open {}", db.display()))?;
    // An exclusive lock is granted only when no other connection has the file open: in WAL
    // mode every open connection holds a shared lock on the shared-memory file.
    dst.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    if let Err(e) = dst.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
        if !force {
            bail!(
                "{} is open in another process ({e}): stop the relay first (systemctl stop contactpoint), \
                 or pass --force if you are sure nothing uses it",
                db.display()
            );
        }
        drop(dst);
        dst = Connection::open(db)?;
        dst.busy_timeout(Duration::from_secs(10))?;
    }
    copy_all(&src, &mut dst).context("the restore did not complete")?;
    dst.pragma_update(None, "journal_mode", "WAL")?;
    drop(dst);
    Ok(verified)
}

/// Copies every page of `src` into `dst` in one step of the backup API, so that the copy is one
/// consistent snapshot (a step over part of the pages restarts whenever another connection
/// writes). Retries while the source is busy, for up to ten seconds.
fn copy_all(src: &Connection, dst: &mut Connection) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let backup = Backup::new(src, dst)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => bail!("the database stayed busy ({other:?})"),
        }
    }
}

/// Where a backup is written before it has been checked.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}
