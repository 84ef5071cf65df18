//! One local commit: who makes it and when (`Author`), and writing through a transaction that is
//! dropped when the write fails, so that a failed edit changes nothing. Every edit (`edit`,
//! `history`, `local`) commits through here.

use contactpoint_directory::store::StoreError;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_protocol::automerge::transaction::{CommitOptions, Transaction};

use crate::issues::EditError;

/// Who is editing and when, written into each local commit. Not authenticated: the relay keeps
/// the authenticated author of each change it accepts.
#[derive(Clone, Debug, Default)]
pub struct Author {
    /// The editor's display name.
    pub name: String,
    /// Milliseconds since 1970 on this device.
    pub now_ms: i64,
}

impl Author {
    /// The commit options for a change made now by this editor.
    pub fn commit_options(&self) -> CommitOptions {
        // Seconds, as the JavaScript Automerge library writes them.
        let mut o = CommitOptions::default().with_time(self.now_ms.div_euclid(1000));
        if !self.name.is_empty() {
            o = o.with_message(self.name.clone());
        }
        o
    }
}

/// Runs `write` in one transaction committed as `author`'s; when it fails, the transaction is
/// dropped, so nothing changes, and the error is returned.
pub(crate) fn commit_as<T>(
    d: &mut Automerge,
    author: &Author,
    write: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = d.transaction();
    let t = write(&mut tx)?;
    tx.commit_with(author.commit_options());
    Ok(t)
}

/// Runs `apply` with a writer that commits through [`commit_as`], and returns what `apply`
/// returned, or the error a write met (the document is then as it was).
pub(crate) fn apply_write<R>(
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
    write: impl Fn(&mut Automerge) -> Result<(), StoreError>,
) -> Result<R, EditError> {
    let failed = std::cell::RefCell::new(None);
    let r = apply(&|d: &mut Automerge| {
        if let Err(e) = write(d) {
            failed.replace(Some(e));
        }
    });
    match failed.into_inner() {
        Some(e) => Err(EditError::from(e)),
        None => Ok(r),
    }
}
