//! An entry's history, its conflicts, putting one field back (restore or conflict choice), and
//! what a reset after a refused write discarded, for the editor's screens.
//!
//! Every write here is validated the way `edit` validates a form, and is one commit carrying
//! the editor's name and the device's time. The relay records the authenticated author of each
//! change separately; the app shows that where it has it, and the name in the commit otherwise.

use contactpoint_directory::history::{
    FieldValue, Fields, contact_conflicts, contact_fields, contact_history, set_contact_field,
};
use contactpoint_directory::store::read_directory;
use contactpoint_directory::{FieldPath, Segment, validate_directory};
use contactpoint_protocol::automerge::{Automerge, ROOT, ReadDoc};
use serde::Serialize;

pub use crate::commit::Author;
use crate::commit::{apply_write, commit_as};
use crate::issues::{EditError, FieldIssue};

/// How the app names a field of a contact point: its own word for the field (`word`, a key of
/// the app's catalogue), the position counted from 1 for one of a list (a phone, a row of opening
/// hours), and the rest of the path (`detail`) in brackets after them. With no word, `detail` is
/// the whole path, shown as it is.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FieldLabel {
    /// The app's word (`phone_n`, `hours_row`, `name`, `email`, …), or empty.
    pub word: &'static str,
    /// The position in its list, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub n: Option<usize>,
    /// The rest of the path, or the whole path when there is no word.
    pub detail: String,
}

/// The label of a path inside a contact point (`phones[0].number` is phone 1).
pub fn label(path: &FieldPath) -> FieldLabel {
    let rest = |from: usize| path.after(from).to_string();
    let word = |w| FieldLabel { word: w, n: None, detail: rest(1) };
    match path.segments() {
        [Segment::Key(k), Segment::Index(i), tail @ ..] if k == "phones" => {
            let number = matches!(tail.first(), Some(Segment::Key(n)) if n == "number");
            FieldLabel { word: "phone_n", n: Some(i + 1), detail: if number { String::new() } else { rest(2) } }
        }
        [Segment::Key(k), Segment::Index(i), ..] if k == "schedules" => {
            FieldLabel { word: "hours_row", n: Some(i + 1), detail: rest(2) }
        }
        [Segment::Key(k), ..] if k == "name" => word("name"),
        [Segment::Key(k), ..] if k == "description" => word("description"),
        [Segment::Key(k), ..] if k == "hours_note" => word("hours_note"),
        [Segment::Key(k), ..] if k == "email" => word("email"),
        [Segment::Key(k), ..] if k == "url" => word("website"),
        [Segment::Key(k), ..] if k == "verified_at" => word("verified"),
        [Segment::Key(k), ..] if k == "verified_by" => word("verified_by"),
        _ => FieldLabel { word: "", n: None, detail: path.to_string() },
    }
}

/// One field's change in a history entry, named for the screen.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChangeView {
    /// The field, as [`set_field`] takes it back.
    pub field: FieldPath,
    /// How the app names it.
    pub label: FieldLabel,
    /// The value before (`None`: the field did not exist).
    pub before: Option<String>,
    /// The value after (`None`: the field was removed).
    pub after: Option<String>,
}

/// One change that altered a contact point, as the history screen shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EntryView {
    /// The change's hash (hex), the key of its authenticated author at the relay.
    pub hash: String,
    /// When the writer's device says it made the change (seconds since 1970; 0 when unknown).
    pub time: i64,
    /// Who the writer's device says made it. Not authenticated.
    pub message: Option<String>,
    /// What it changed in this contact point.
    pub changes: Vec<ChangeView>,
}

/// A field that editors changed concurrently, as the contact screen shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConflictView {
    /// The field, as [`set_field`] takes it back.
    pub field: FieldPath,
    /// How the app names it.
    pub label: FieldLabel,
    /// The values, the one shown by default first.
    pub values: Vec<FieldValue>,
}

/// The contact point's history, newest first.
pub fn history(doc: &Automerge, contact_id: &str) -> Vec<EntryView> {
    let mut h = contact_history(doc, contact_id);
    h.reverse();
    h.into_iter()
        .map(|e| EntryView {
            hash: e.hash,
            time: e.time,
            message: e.message,
            changes: e
                .changes
                .into_iter()
                .map(|c| ChangeView { label: label(&c.field), field: c.field, before: c.before, after: c.after })
                .collect(),
        })
        .collect()
}

/// The contact point's open conflicts.
pub fn conflicts(doc: &Automerge, contact_id: &str) -> Vec<ConflictView> {
    contact_conflicts(doc, contact_id)
        .into_iter()
        .map(|c| ConflictView { label: label(&c.field), field: c.field, values: c.values })
        .collect()
}

/// Validation issues of the contact point in `doc`, at their form keys.
fn contact_issues(doc: &Automerge, contact_id: &str) -> Vec<FieldIssue> {
    let Ok(dir) = read_directory(doc) else {
        return vec![FieldIssue::new("contact", "not_a_directory", "the document is not a directory")];
    };
    crate::issues::contact_issues(&dir, contact_id)
}

/// Writes one field back (an earlier value from the history, or the value chosen to end a
/// conflict), checked first on `trial`, a fork of the document. `apply` makes the real change
/// (one commit).
pub fn set_field<R>(
    mut trial: Automerge,
    contact_id: &str,
    field: &FieldPath,
    value: Option<&str>,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let write = |d: &mut Automerge| commit_as(d, author, |tx| set_contact_field(tx, contact_id, field, value));
    if !write(&mut trial)? {
        return Err(EditError::NotFound);
    }
    let issues = contact_issues(&trial, contact_id);
    if !issues.is_empty() {
        return Err(EditError::Invalid(issues));
    }
    apply_write(apply, |d| write(d).map(|_| ()))
}

/// A value the relay refused (or that was not yet stored there) and a reset discarded.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Discarded {
    /// The contact point.
    pub contact: String,
    /// Its name as it was here (any language), to find it again.
    pub name: String,
    /// The field's path.
    pub field: FieldPath,
    /// How the app names it.
    pub label: FieldLabel,
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
    f.iter()
        .find(|(k, _)| k.first_key() == Some("name") && k.segments().len() == 2)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
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
        let mut keys: Vec<&FieldPath> = b.keys().chain(a.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            if b.get(k) != a.get(k) {
                out.push(Discarded {
                    contact: id.clone(),
                    name: name.clone(),
                    field: k.clone(),
                    label: label(k),
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

    fn p(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    #[test]
    fn fields_are_labelled_as_the_app_names_them() {
        let l = |path: &str| {
            let l = label(&p(path));
            (l.word, l.n, l.detail)
        };
        assert_eq!(l("phones[0].number"), ("phone_n", Some(1), String::new()));
        assert_eq!(l("phones[2].kind"), ("phone_n", Some(3), "kind".into()));
        assert_eq!(l("schedules[1].byday[0]"), ("hours_row", Some(2), "byday[0]".into()));
        assert_eq!(l("name.fi"), ("name", None, "fi".into()));
        assert_eq!(l("url"), ("website", None, String::new()));
        assert_eq!(l("verified_at"), ("verified", None, String::new()));
        assert_eq!(l("roles[0]"), ("", None, "roles[0]".into()));
        let json = serde_json::to_value(label(&p("phones[0].number"))).unwrap();
        assert_eq!(json, serde_json::json!({"word": "phone_n", "n": 1, "detail": ""}));
    }

    #[test]
    fn restoring_an_earlier_value_is_a_new_validated_change() {
        let (mut doc, id) = helsinki();
        let old = read_contact_point(&doc, &id).unwrap().phones[0].number.clone();
        let a = Author { name: "Editor A".into(), now_ms: 1_764_000_000_123 };
        set_field(doc.fork(), &id, &p("phones[0].number"), Some("+358 9 000 0999"), &a, |f| f(&mut doc)).unwrap();
        let h = history(&doc, &id);
        assert_eq!(h[0].message.as_deref(), Some("Editor A"));
        assert_eq!(h[0].time, 1_764_000_000);
        assert_eq!(h[0].changes[0].before.as_deref(), Some(old.as_str()));

        // Restoring writes the old value as a new change; history keeps both.
        let b = Author { name: "Editor B".into(), now_ms: 1_764_000_100_000 };
        set_field(doc.fork(), &id, &p("phones[0].number"), Some(&old), &b, |f| f(&mut doc)).unwrap();
        assert_eq!(read_contact_point(&doc, &id).unwrap().phones[0].number, old);
        let h = history(&doc, &id);
        assert_eq!(h[0].message.as_deref(), Some("Editor B"));
        assert_eq!(h[1].message.as_deref(), Some("Editor A"));

        // An invalid value is refused before anything is written.
        let heads = doc.get_heads();
        let err = set_field(doc.fork(), &id, &p("phones[0].number"), Some("call me"), &b, |f| f(&mut doc)).unwrap_err();
        let EditError::Invalid(issues) = err else { panic!("{err:?}") };
        assert!(issues.iter().any(|i| i.field == "phones[0]"), "the issue is at the form's key: {issues:?}");
        assert_eq!(doc.get_heads(), heads);
        assert!(matches!(
            set_field(doc.fork(), &id, &p("no.such.field"), Some("x"), &b, |f| f(&mut doc)).unwrap_err(),
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
        set_contact_field(&mut tx, &id, &p("email"), Some("uusi@example.fi")).unwrap();
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
        assert_eq!(contact_fields(&new, &id)[&p("email")], "uusi@example.fi");

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
        set_contact_field(&mut tx, &id, &p("phones[0].number"), Some("call me")).unwrap();
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
        set_contact_field(&mut tx, &id, &p("email"), Some("uusi@example.fi")).unwrap();
        tx.commit_with(a.commit_options());
        let d = discarded(&mine, &relay_copy);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].field.to_string(), d[0].yours.as_deref()), ("email".to_owned(), Some("uusi@example.fi")));
        assert!(!d[0].name.is_empty());
        assert!(discarded(&relay_copy, &relay_copy).is_empty());
    }
}
