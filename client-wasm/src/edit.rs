//! Editing a contact point: the form's values are applied to the stored contact, checked with
//! the directory's validation (so the editor sees the same messages the relay would give), and
//! written as one commit that touches only the fields that changed.

use contactpoint_directory::model::{Directory, Phone, PhoneKind};
use contactpoint_directory::store::{read_contact_point, write_contact_point};
use contactpoint_directory::validate_directory;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_protocol::{ClientSession, DocumentId};
use serde::{Deserialize, Serialize};

/// What the edit form sends. Absent fields are left as they are.
#[derive(Debug, Default, Deserialize)]
pub struct ContactEdit {
    /// The name in one language.
    pub name: Option<NameEdit>,
    /// Phone numbers in order; existing kinds and descriptions are kept by position.
    pub phones: Option<Vec<String>>,
    /// E-mail address; empty removes it.
    pub email: Option<String>,
    /// Web address; empty removes it.
    pub url: Option<String>,
    /// Marks the contact as checked today by `verified_by`.
    #[serde(default)]
    pub verified: bool,
}

/// A name in one language.
#[derive(Debug, Deserialize)]
pub struct NameEdit {
    /// Language code.
    pub lang: String,
    /// The name.
    pub text: String,
}

/// A problem to show next to a field of the form.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FieldIssue {
    /// The form field (`name`, `phones[0]`, `email`, `url`, or `contact` for the whole entry).
    pub field: String,
    /// What is wrong, for the editor.
    pub message: String,
}

/// Why an edit could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum EditError {
    /// No open document has the contact.
    NotFound,
    /// The values break validation rules; nothing was changed.
    Invalid(Vec<FieldIssue>),
}

/// The document that holds the contact point.
pub fn find_contact(session: &ClientSession, contact_id: &str) -> Option<DocumentId> {
    session.doc_ids().copied().find(|id| session.doc(id).is_some_and(|d| read_contact_point(d, contact_id).is_some()))
}

fn form_field(path: &str, contact_id: &str) -> String {
    let rest = path.strip_prefix(&format!("contact_points.{contact_id}")).unwrap_or(path).trim_start_matches('.');
    if rest.starts_with("name") {
        "name".into()
    } else if let Some(p) = rest.strip_prefix("phones[") {
        format!("phones[{}]", p.split(']').next().unwrap_or("0"))
    } else if rest.starts_with("email") {
        "email".into()
    } else if rest.starts_with("url") {
        "url".into()
    } else {
        "contact".into()
    }
}

/// Applies an edit to the contact in `dir` (the document's contents, as read), validated; on
/// success changes the document through `apply` (one commit) and returns what `apply` returned.
pub fn edit_contact<R>(
    mut dir: Directory,
    contact_id: &str,
    edit: &ContactEdit,
    today: &str,
    verified_by: &str,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let Some(mut c) = dir.contact_points.get(contact_id).cloned() else { return Err(EditError::NotFound) };
    if let Some(n) = &edit.name {
        c.name.set(&n.lang, n.text.trim());
    }
    if let Some(phones) = &edit.phones {
        let old = std::mem::take(&mut c.phones);
        c.phones = phones
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .enumerate()
            .map(|(i, number)| match old.get(i) {
                Some(o) => Phone { number: number.to_owned(), ..o.clone() },
                None => Phone { number: number.to_owned(), kind: PhoneKind::Voice, description: Default::default() },
            })
            .collect();
    }
    if let Some(e) = &edit.email {
        c.email = Some(e.trim().to_owned()).filter(|e| !e.is_empty());
    }
    if let Some(u) = &edit.url {
        c.url = Some(u.trim().to_owned()).filter(|u| !u.is_empty());
    }
    if edit.verified {
        c.verified_at = Some(today.to_owned());
        c.verified_by = Some(verified_by.to_owned());
    }
    dir.contact_points.insert(contact_id.to_owned(), c.clone());
    let prefix = format!("contact_points.{contact_id}");
    let issues: Vec<FieldIssue> = validate_directory(&dir)
        .into_iter()
        .filter(|i| i.path == prefix || i.path.starts_with(&format!("{prefix}.")))
        .map(|i| FieldIssue { field: form_field(&i.path, contact_id), message: i.message })
        .collect();
    if !issues.is_empty() {
        return Err(EditError::Invalid(issues));
    }
    Ok(apply(&|d: &mut Automerge| {
        let mut tx = d.transaction();
        // Writing a contact that was read from this document cannot fail on its shape.
        let _ = write_contact_point(&mut tx, &c);
        tx.commit();
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contactpoint_directory::seed;
    use contactpoint_directory::store::{read_directory, write_directory};

    fn helsinki() -> (Automerge, String) {
        let dirs = seed::directories("2026-11-24").unwrap();
        let d: Directory =
            dirs.into_iter().find(|d| d.area.as_ref().is_some_and(|a| a.to_string() == "municipality:091")).unwrap();
        let id = d.contact_points.keys().next().unwrap().clone();
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        write_directory(&mut tx, &d).unwrap();
        tx.commit();
        (doc, id)
    }

    #[test]
    fn a_valid_edit_changes_only_what_was_edited() {
        let (mut doc, id) = helsinki();
        let before = read_contact_point(&doc, &id).unwrap();
        let edit =
            ContactEdit { phones: Some(vec!["+358 0 000 0999".into()]), verified: true, ..ContactEdit::default() };
        let dir = read_directory(&doc).unwrap();
        let heads = edit_contact(dir, &id, &edit, "2026-11-24", "Editor A", |f| {
            f(&mut doc);
            doc.get_heads()
        })
        .unwrap();
        assert_eq!(heads.len(), 1);
        let after = read_contact_point(&doc, &id).unwrap();
        assert_eq!(after.phones[0].number, "+358 0 000 0999");
        assert_eq!(after.phones[0].description, before.phones[0].description, "the phone's description is kept");
        assert_eq!(after.verified_by.as_deref(), Some("Editor A"));
        assert_eq!(after.name, before.name);
    }

    #[test]
    fn invalid_values_are_reported_per_field_and_change_nothing() {
        let (doc, id) = helsinki();
        let edit = ContactEdit {
            phones: Some(vec!["call me".into()]),
            email: Some("not an address".into()),
            ..ContactEdit::default()
        };
        let err = edit_contact(read_directory(&doc).unwrap(), &id, &edit, "2026-11-24", "A", |_| ()).unwrap_err();
        let EditError::Invalid(issues) = err else { panic!("{err:?}") };
        assert!(issues.iter().any(|i| i.field == "phones[0]"), "{issues:?}");
        assert!(issues.iter().any(|i| i.field == "email"), "{issues:?}");
        assert_eq!(
            edit_contact(read_directory(&doc).unwrap(), "no-such-contact", &edit, "2026-11-24", "A", |_| ())
                .unwrap_err(),
            EditError::NotFound
        );
    }
}
