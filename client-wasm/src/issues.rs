//! What goes wrong in an edit and where the app shows it: `FieldIssue` (a rule's code,
//! parameters and English message at one field of a form), `EditError`, and the one way a
//! validation issue's [`FieldPath`] is taken to a form: the issues under a record
//! (`issues_under`) and, for a contact point, the form key each is shown at (`form_key`).
//! The app receives finished form keys and never reads a path.

use contactpoint_directory::store::StoreError;
use contactpoint_directory::{Directory, FieldPath, Segment, ValidationIssue, validate_directory};
use contactpoint_protocol::DocumentId;
use serde::Serialize;

/// A problem to show next to a field of the form.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FieldIssue {
    /// The form field (`name`, `description`, `hours_note`, `roles`, `phones[0]`, `email`,
    /// `url`, `organisation`, `retired`, `schedules[0]` for a row of opening hours as a whole,
    /// `schedules[0].kind`, `schedules[0].days`, `schedules[0].opens`, `schedules[0].closes`,
    /// or `contact` for the whole entry).
    pub field: String,
    /// What is wrong, in English (the app shows `code` in the editor's language).
    pub message: String,
    /// The rule's stable code: one of the directory's validation codes, or one of this client's
    /// own (`no_random_id`, `id_exists`, `no_organisation`, `not_a_directory`,
    /// `local_in_national`, `step_kind_required`, `step_text_required`,
    /// `step_required_nationally`).
    pub code: String,
    /// The values the message names, by name.
    pub params: std::collections::BTreeMap<String, String>,
}

impl FieldIssue {
    /// A problem of this client's own, with no parameters.
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldIssue { field: field.into(), message: message.into(), code: code.into(), params: Default::default() }
    }

    /// A validation issue shown at `field`.
    pub fn from_issue(field: String, issue: contactpoint_directory::ValidationIssue) -> Self {
        FieldIssue {
            field,
            message: issue.message,
            code: issue.code.into(),
            params: issue.params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }
}

/// Why an edit could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// No open document has the contact.
    #[error("this contact is not in any open document")]
    NotFound,
    /// The document that should hold it does not read as a directory.
    #[error("document {doc} does not read as a directory")]
    Unreadable {
        /// Which document.
        doc: DocumentId,
        /// Why.
        #[source]
        source: Box<StoreError>,
    },
    /// The values break validation rules; nothing was changed.
    #[error("{}", .0.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldIssue>),
    /// Writing the change failed; nothing was changed.
    #[error("the change could not be written")]
    Write(#[source] Box<StoreError>),
}

impl From<StoreError> for EditError {
    fn from(e: StoreError) -> Self {
        EditError::Write(Box::new(e))
    }
}

impl EditError {
    /// This error and every cause under it, joined, as a person or a log line reads them.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }
}

/// The issues under `prefix` (a record: `contact_points.<id>`, `cards.<id>`), each shown at the
/// field `field` names for its path below the record.
pub fn issues_under(
    issues: Vec<ValidationIssue>,
    prefix: &FieldPath,
    field: impl Fn(&FieldPath) -> String,
) -> Vec<FieldIssue> {
    issues
        .into_iter()
        .filter_map(|i| {
            let rest = i.path.strip_prefix(prefix)?;
            Some(FieldIssue::from_issue(field(&rest), i))
        })
        .collect()
}

/// The validation issues of the contact point `contact_id` in `dir`, at their form keys.
pub fn contact_issues(dir: &Directory, contact_id: &str) -> Vec<FieldIssue> {
    let prefix = FieldPath::of("contact_points").key(contact_id);
    issues_under(validate_directory(dir), &prefix, form_key)
}

/// The edit form's key for a path inside a contact point (see [`FieldIssue::field`]); `contact`
/// for what no field of the form shows.
pub fn form_key(path: &FieldPath) -> String {
    use Segment::{Index, Key};
    let key = |k: &Segment, name: &str| matches!(k, Key(x) if x == name);
    match path.segments() {
        [Key(k), ..]
            if matches!(k.as_str(), "name" | "description" | "hours_note" | "roles" | "retired" | "email" | "url") =>
        {
            k.clone()
        }
        [Key(k), ..] if k == "organisation_id" => "organisation".into(),
        [s, Index(i), rest @ ..] if key(s, "schedules") => {
            let part = match rest.first() {
                Some(Key(k)) if k == "opens_at" => ".opens",
                Some(Key(k)) if k == "closes_at" => ".closes",
                Some(Key(k)) if k == "byday" => ".days",
                Some(Key(k)) if k == "kind" => ".kind",
                // The pair rule and the row's description, which the form does not show.
                _ => "",
            };
            format!("schedules[{i}]{part}")
        }
        [s, Index(i), ..] if key(s, "phones") => format!("phones[{i}]"),
        _ => "contact".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    #[test]
    fn issue_paths_map_to_form_keys() {
        let f = |rest: &str| form_key(&p(rest));
        assert_eq!(f("schedules[2].opens_at"), "schedules[2].opens");
        assert_eq!(f("schedules[0].closes_at"), "schedules[0].closes");
        assert_eq!(f("schedules[1].byday[3]"), "schedules[1].days");
        assert_eq!(f("schedules[1].kind"), "schedules[1].kind");
        assert_eq!(f("schedules[4]"), "schedules[4]");
        assert_eq!(f("schedules[0].description.fi"), "schedules[0]");
        assert_eq!(f("hours_note.sv"), "hours_note");
        assert_eq!(f("description.en"), "description");
        assert_eq!(f("phones[3].number"), "phones[3]");
        assert_eq!(f("organisation_id"), "organisation");
        assert_eq!(f("roles[1]"), "roles");
        // A key that only begins like a field of the form is not that field.
        assert_eq!(f("url_x"), "contact");
        assert_eq!(f("chat_url"), "contact");
        assert_eq!(form_key(&FieldPath::root()), "contact");
    }

    #[test]
    fn only_the_records_own_issues_are_kept() {
        let issue = |path: &str| ValidationIssue::new(path, "not an e-mail address");
        let issues = vec![
            issue("contact_points.c1.email"),
            issue("contact_points.c10.email"),
            issue("contact_points.c1"),
            issue("organisations.c1.name"),
        ];
        let kept = issues_under(issues, &p("contact_points.c1"), form_key);
        let fields: Vec<&str> = kept.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["email", "contact"]);
    }
}
