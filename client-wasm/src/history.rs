//! An entry's history, its conflicts, putting one field back (restore or conflict choice), and
//! what a reset after a refused write discarded, for the editor's screens.
//!
//! Every write here is validated the way `edit` validates a form, and is one commit carrying
//! the editor's name and the device's time. The relay records the authenticated author of each
//! change separately; the app shows that where it has it, and the name in the commit otherwise.

use contactpoint_directory::history::{
    Conflict, Fields, HistoryEntry, contact_conflicts, contact_fields, contact_history, set_contact_field,
};
use contactpoint_directory::store::read_directory;
use contactpoint_directory::validate_directory;
use contactpoint_protocol::automerge::transaction::CommitOptions;
use contactpoint_protocol::automerge::{Automerge, ROOT, ReadDoc};
use serde::Serialize;

use crate::edit::{EditError, FieldIssue};

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

/// The contact point's history, newest first.
pub fn history(doc: &Automerge, contact_id: &str) -> Vec<HistoryEntry> {
    let mut h = contact_history(doc, contact_id);
    h.reverse();
    h
}

/// The contact point's open conflicts.
pub fn conflicts(doc: &Automerge, contact_id: &str) -> Vec<Conflict> {
    contact_conflicts(doc, contact_id)
}

/// Validation issues of the contact point in `doc`, keyed to form fields by path.
fn contact_issues(doc: &Automerge, contact_id: &str) -> Vec<FieldIssue> {
    let Ok(dir) = read_directory(doc) else {
        return vec![FieldIssue::new("contact", "not_a_directory", "the document is not a directory")];
    };
    let prefix = format!("contact_points.{contact_id}");
    validate_directory(&dir)
        .into_iter()
        .filter(|i| i.path == prefix || i.path.starts_with(&format!("{prefix}.")))
        .map(|i| {
            let field = i.path.strip_prefix(&prefix).unwrap_or(&i.path).trim_start_matches('.').to_owned();
            FieldIssue::from_issue(field, i)
        })
        .collect()
}

/// Writes one field back (an earlier value from the history, or the value chosen to end a
/// conflict), checked first on `trial`, a fork of the document. `apply` makes the real change
/// (one commit).
pub fn set_field<R>(
    mut trial: Automerge,
    contact_id: &str,
    field: &str,
    value: Option<&str>,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let write =
        |d: &mut Automerge| crate::edit::commit_as(d, author, |tx| set_contact_field(tx, contact_id, field, value));
    if !write(&mut trial)? {
        return Err(EditError::NotFound);
    }
    let issues = contact_issues(&trial, contact_id);
    if !issues.is_empty() {
        return Err(EditError::Invalid(issues));
    }
    crate::edit::apply_write(apply, |d| write(d).map(|_| ()))
}

/// A value the relay refused (or that was not yet stored there) and a reset discarded.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Discarded {
    /// The contact point.
    pub contact: String,
    /// Its name as it was here (any language), to find it again.
    pub name: String,
    /// The field's path.
    pub field: String,
    /// The value this device had.
    pub yours: Option<String>,
    /// The value after the reset.
    pub now: Option<String>,
}

fn contact_ids(doc: &Automerge) -> Vec<String> {
    match doc.get(ROOT, "contact_points").ok().flatten() {
        Some((_, id)) => doc.keys(&id).collect(),
        None => Vec::new(),
    }
}

fn any_name(f: &Fields) -> String {
    f.iter().find(|(k, _)| k.starts_with("name.")).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// What differs between the document before a reset and after it, per contact point field.
pub fn discarded(before: &Automerge, after: &Automerge) -> Vec<Discarded> {
    let mut ids = contact_ids(before);
    ids.extend(contact_ids(after));
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (b, a) = (contact_fields(before, &id), contact_fields(after, &id));
        if b == a {
            continue;
        }
        let name = any_name(&b);
        let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            if b.get(k) != a.get(k) {
                out.push(Discarded {
                    contact: id.clone(),
                    name: name.clone(),
                    field: k.clone(),
                    yours: b.get(k).cloned(),
                    now: a.get(k).cloned(),
                });
            }
        }
    }
    out
}

/// A local value the relay never acknowledged, taken from a document the relay erased, waiting
/// to be carried over onto the document that replaced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsent {
    /// The field, with this device's value (`yours`) and the relay's last known one (`now`).
    pub value: Discarded,
    /// Whether the relay had the contact point: one it had and the new document lacks was
    /// erased, and its values are dropped, never written back.
    pub known_to_relay: bool,
}

/// The values of `old` (this device's copy of a document the relay erased) that the relay never
/// acknowledged: the changes after `relay_heads`, per contact point field.
pub fn unsent(old: &Automerge, relay_heads: &[contactpoint_protocol::automerge::ChangeHash]) -> Vec<Unsent> {
    let acknowledged = if relay_heads.is_empty() {
        Automerge::new()
    } else {
        match old.fork_at(relay_heads) {
            Ok(d) => d,
            Err(_) => Automerge::new(),
        }
    };
    let known: std::collections::BTreeSet<String> = contact_ids(&acknowledged).into_iter().collect();
    discarded(old, &acknowledged)
        .into_iter()
        .map(|value| Unsent { known_to_relay: known.contains(&value.contact), value })
        .collect()
}

/// What became of the unsent values of an erased document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    /// Written onto the new document (one commit).
    pub carried: Vec<Discarded>,
    /// To be entered again by hand: their contact point is not in the new document (one this
    /// device added and never sent), or the new document refused them.
    pub reenter: Vec<Discarded>,
    /// Values of erased contact points, dropped.
    pub dropped: usize,
}

/// Carries `unsent` values onto `new` (the document that replaced the erased one) where their
/// contact point still exists there, as one commit through `apply`, validated on a fork first: if
/// the values together add a problem to the document, none is written and all are listed for
/// re-entry. Values of contact points the relay had and the new document lacks are dropped: an
/// erased entry never comes back. `apply` is called only when there is something to write.
pub fn carry_over<R>(
    new: &Automerge,
    unsent: Vec<Unsent>,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> (Carried, Option<R>) {
    let present: std::collections::BTreeSet<String> = contact_ids(new).into_iter().collect();
    let mut out = Carried::default();
    let mut writes: Vec<Discarded> = Vec::new();
    for u in unsent {
        let mut v = u.value;
        if !present.contains(&v.contact) {
            if u.known_to_relay {
                out.dropped += 1;
            } else {
                v.now = None;
                out.reenter.push(v);
            }
            continue;
        }
        let current = contact_fields(new, &v.contact).get(&v.field).cloned();
        if current == v.yours {
            continue;
        }
        v.now = current;
        writes.push(v);
    }
    let write = |d: &mut Automerge, values: &[Discarded]| -> Vec<bool> {
        let mut tx = d.transaction();
        let done = values
            .iter()
            .map(|v| set_contact_field(&mut tx, &v.contact, &v.field, v.yours.as_deref()).unwrap_or(false))
            .collect();
        tx.commit_with(author.commit_options());
        done
    };
    if writes.is_empty() {
        return (out, None);
    }
    let mut trial = new.fork();
    let done = write(&mut trial, &writes);
    let (ok, failed): (Vec<_>, Vec<_>) = writes.into_iter().zip(done).partition(|(_, done)| *done);
    out.reenter.extend(failed.into_iter().map(|(v, _)| v));
    let ok: Vec<Discarded> = ok.into_iter().map(|(v, _)| v).collect();
    let before = read_directory(new).map(|d| validate_directory(&d)).unwrap_or_default();
    let after = read_directory(&trial).map(|d| validate_directory(&d)).unwrap_or_default();
    if ok.is_empty() || !contactpoint_directory::new_issues(&before, &after).is_empty() {
        out.reenter.extend(ok);
        return (out, None);
    }
    let r = apply(&|d: &mut Automerge| {
        write(d, &ok);
    });
    out.carried = ok;
    (out, Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::tests::helsinki;
    use contactpoint_directory::store::read_contact_point;

    #[test]
    fn restoring_an_earlier_value_is_a_new_validated_change() {
        let (mut doc, id) = helsinki();
        let old = read_contact_point(&doc, &id).unwrap().phones[0].number.clone();
        let a = Author { name: "Editor A".into(), now_ms: 1_764_000_000_123 };
        set_field(doc.fork(), &id, "phones.0.number", Some("+358 9 000 0999"), &a, |f| f(&mut doc)).unwrap();
        let h = history(&doc, &id);
        assert_eq!(h[0].message.as_deref(), Some("Editor A"));
        assert_eq!(h[0].time, 1_764_000_000);
        assert_eq!(h[0].changes[0].before.as_deref(), Some(old.as_str()));

        // Restoring writes the old value as a new change; history keeps both.
        let b = Author { name: "Editor B".into(), now_ms: 1_764_000_100_000 };
        set_field(doc.fork(), &id, "phones.0.number", Some(&old), &b, |f| f(&mut doc)).unwrap();
        assert_eq!(read_contact_point(&doc, &id).unwrap().phones[0].number, old);
        let h = history(&doc, &id);
        assert_eq!(h[0].message.as_deref(), Some("Editor B"));
        assert_eq!(h[1].message.as_deref(), Some("Editor A"));

        // An invalid value is refused before anything is written.
        let heads = doc.get_heads();
        let err = set_field(doc.fork(), &id, "phones.0.number", Some("call me"), &b, |f| f(&mut doc)).unwrap_err();
        let EditError::Invalid(issues) = err else { panic!("{err:?}") };
        assert!(issues.iter().any(|i| i.field.starts_with("phones")), "{issues:?}");
        assert_eq!(doc.get_heads(), heads);
        assert!(matches!(
            set_field(doc.fork(), &id, "no.such.field", Some("x"), &b, |f| f(&mut doc)).unwrap_err(),
            EditError::NotFound
        ));
    }

    #[test]
    fn unsent_values_are_carried_where_their_entry_survives_and_erased_ones_are_dropped() {
        let (relay_copy, id) = helsinki();
        let a = Author { name: "Editor A".into(), now_ms: 0 };
        let acknowledged = relay_copy.get_heads();
        // Offline: this device edits a contact's e-mail.
        let mut mine = relay_copy.fork();
        let mut tx = mine.transaction();
        set_contact_field(&mut tx, &id, "email", Some("uusi@example.fi")).unwrap();
        tx.commit_with(a.commit_options());
        let pending = unsent(&mine, &acknowledged);
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert!(pending[0].known_to_relay);

        // The relay's new document: the same entry, rebuilt without history.
        let mut new = relay_copy.fork();
        let (c, written) = carry_over(&new.clone(), pending.clone(), &a, |f| f(&mut new));
        assert!(written.is_some());
        assert_eq!(c.carried.len(), 1);
        assert!(c.reenter.is_empty());
        assert_eq!(contact_fields(&new, &id)["email"], "uusi@example.fi");

        // The entry was erased: nothing is written and nothing is listed.
        let mut erased = relay_copy.fork();
        let mut tx = erased.transaction();
        contactpoint_directory::store::delete_contact_point(&mut tx, &id).unwrap();
        tx.commit();
        let heads = erased.get_heads();
        let (c, written) = carry_over(&erased.clone(), pending.clone(), &a, |f| f(&mut erased));
        assert!(written.is_none());
        assert_eq!((c.carried.len(), c.reenter.len(), c.dropped), (0, 0, 1));
        assert_eq!(erased.get_heads(), heads);

        // A value the rules refuse is listed for re-entry, and nothing is written.
        let mut bad = mine.fork();
        let mut tx = bad.transaction();
        set_contact_field(&mut tx, &id, "phones.0.number", Some("call me")).unwrap();
        tx.commit();
        let mut target = relay_copy.fork();
        let heads = target.get_heads();
        let (c, written) = carry_over(&target.clone(), unsent(&bad, &acknowledged), &a, |f| f(&mut target));
        assert!(written.is_none());
        assert_eq!(c.reenter.len(), 2, "{c:?}");
        assert_eq!(target.get_heads(), heads);
    }

    #[test]
    fn a_reset_lists_the_values_it_discarded() {
        let (relay_copy, id) = helsinki();
        let mut mine = relay_copy.fork();
        let a = Author { name: "Editor A".into(), now_ms: 0 };
        let mut tx = mine.transaction();
        set_contact_field(&mut tx, &id, "email", Some("uusi@example.fi")).unwrap();
        tx.commit_with(a.commit_options());
        let d = discarded(&mine, &relay_copy);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].field.as_str(), d[0].yours.as_deref()), ("email", Some("uusi@example.fi")));
        assert!(!d[0].name.is_empty());
        assert!(discarded(&relay_copy, &relay_copy).is_empty());
    }
}
