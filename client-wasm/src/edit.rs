//! Editing a contact point: the form's values are applied to the stored contact, checked with
//! the directory's validation (so the editor sees the same messages the relay would give), and
//! written as one commit that touches only the fields that changed. Adding a contact point,
//! retiring it and restoring it go the same way.

use contactpoint_directory::model::{ContactPoint, Directory, Phone, PhoneKind, Schedule, ScheduleKind, Weekday};
use contactpoint_directory::store::{read_contact_point, read_directory, write_contact_point};
use contactpoint_directory::text::LocalizedText;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_protocol::{ClientSession, DocumentId};
use serde::Deserialize;

use crate::commit::{Author, apply_write, commit_as};
use crate::issues::contact_issues;
pub use crate::issues::{EditError, FieldIssue};

/// What the edit form sends. Absent fields are left as they are.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ContactEdit {
    /// The name in one language.
    pub name: Option<NameEdit>,
    /// Phone numbers in order; existing kinds and descriptions are kept by position.
    pub phones: Option<Vec<String>>,
    /// E-mail address; empty removes it.
    pub email: Option<String>,
    /// Web address; empty removes it.
    pub url: Option<String>,
    /// The description in one language; empty text removes that language's description.
    pub description: Option<NameEdit>,
    /// The note about opening hours in one language; empty text removes that language's note.
    pub hours_note: Option<NameEdit>,
    /// The opening hours, every row in order; an empty list removes them all.
    pub schedules: Option<Vec<ScheduleEdit>>,
    /// Marks the contact as checked today by `verified_by`.
    #[serde(default)]
    pub verified: bool,
}

/// One row of opening hours as the form sends it.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ScheduleEdit {
    /// `regular` or `out_of_hours`; anything else is reported by validation.
    #[serde(default)]
    pub kind: String,
    /// Weekday codes (`MO` … `SU`); none means every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// Opening time `HH:MM`; empty means none. Anything else is kept so validation reports it.
    #[serde(default)]
    pub opens: String,
    /// Closing time `HH:MM`; empty means none.
    #[serde(default)]
    pub closes: String,
    /// The position among the stored schedules of the row this one was loaded from, so that
    /// what the form does not show (the row's description) stays with it; absent for a new row.
    #[serde(default)]
    pub from: Option<usize>,
}

/// A name in one language.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NameEdit {
    /// Language code.
    pub lang: String,
    /// The name.
    pub text: String,
}

/// What the form for a new contact point sends.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct NewContact {
    /// The name in one language.
    pub name: NameEdit,
    /// A description in one language.
    #[serde(default)]
    pub description: Option<NameEdit>,
    /// Role codes from [`contactpoint_directory::model::ROLES`].
    #[serde(default)]
    pub roles: Vec<String>,
    /// Voice numbers in order; empty entries are ignored.
    #[serde(default)]
    pub phones: Vec<String>,
    /// E-mail address; empty means none.
    #[serde(default)]
    pub email: Option<String>,
    /// Web address; empty means none.
    #[serde(default)]
    pub url: Option<String>,
    /// The id of an organisation of the same document that offers it; empty means none.
    #[serde(default)]
    pub organisation: Option<String>,
}

/// A document's contents for an edit; what it is read from must be a directory.
pub fn read_for_edit(doc_id: DocumentId, doc: &Automerge) -> Result<Directory, EditError> {
    read_directory(doc).map_err(|source| EditError::Unreadable { doc: doc_id, source: Box::new(source) })
}

/// The document that holds the contact point.
pub fn find_contact(session: &ClientSession, contact_id: &str) -> Option<DocumentId> {
    session.doc_ids().copied().find(|id| session.doc(id).is_some_and(|d| read_contact_point(d, contact_id).is_some()))
}

/// The directory document of `area_key` (`national`, or an area such as `municipality:091`).
pub fn find_area_document<'a>(
    docs: impl IntoIterator<Item = (DocumentId, &'a Directory)>,
    area_key: &str,
) -> Option<DocumentId> {
    // The key tells an area's own document from its members-only one.
    docs.into_iter().find_map(|(id, d)| (contactpoint_directory::hsds::document_key(d) == area_key).then_some(id))
}

/// A fresh UUID-shaped (version 4) id for a new contact point.
pub fn new_contact_id() -> Result<String, EditError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| {
        EditError::Invalid(vec![FieldIssue::new(
            "contact",
            "no_random_id",
            "this device could not create an id for the new entry; try again",
        )])
    })?;
    Ok(contactpoint_directory::ids::uuid_v4(b))
}

/// Applies an edit to the contact in `dir` (the document's contents, as read), validated; on
/// success changes the document through `apply` (one commit) and returns what `apply` returned.
pub fn edit_contact<R>(
    dir: Directory,
    contact_id: &str,
    edit: &ContactEdit,
    today: &str,
    verified_by: &str,
    author: &Author,
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
    if let Some(d) = &edit.description {
        set_text(&mut c.description, d);
    }
    if let Some(n) = &edit.hours_note {
        set_text(&mut c.hours_note, n);
    }
    if let Some(rows) = &edit.schedules {
        c.schedules = rows.iter().map(|row| schedule(row, &c.schedules)).collect();
    }
    if edit.verified {
        c.verified_at = Some(today.to_owned());
        c.verified_by = Some(verified_by.to_owned());
    }
    save(dir, c, Vec::new(), author, apply)
}

/// Sets one language of a text; empty text removes that language, the others stay.
fn set_text(t: &mut LocalizedText, edit: &NameEdit) {
    let (lang, text) = (edit.lang.trim(), edit.text.trim());
    if text.is_empty() {
        t.0.remove(lang);
    } else {
        t.set(lang, text);
    }
}

/// A stored schedule from a row of the form. The row's description comes from the stored row it
/// was loaded from, and so do its days' order when the same days are chosen, so an untouched
/// row writes nothing.
fn schedule(row: &ScheduleEdit, stored: &[Schedule]) -> Schedule {
    let old = row.from.and_then(|i| stored.get(i));
    let time = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let mut byday: Vec<Weekday> = Vec::new();
    for d in row.days.iter().map(|d| Weekday::parse(&d.trim().to_ascii_uppercase())) {
        if !byday.contains(&d) {
            byday.push(d);
        }
    }
    if let Some(o) = old.filter(|o| o.byday.len() == byday.len() && byday.iter().all(|d| o.byday.contains(d))) {
        byday.clone_from(&o.byday);
    }
    Schedule {
        kind: ScheduleKind::parse(row.kind.trim()),
        byday,
        opens_at: time(&row.opens),
        closes_at: time(&row.closes),
        description: old.map(|o| o.description.clone()).unwrap_or_default(),
    }
}

/// Puts `c` into `dir`, validates the document, and on success writes `c` through `apply` (one
/// commit touching only the fields that differ from the stored contact). `issues` are problems
/// the caller already found; they are reported with the validation's.
fn save<R>(
    mut dir: Directory,
    c: ContactPoint,
    mut issues: Vec<FieldIssue>,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    dir.contact_points.insert(c.id.clone(), c.clone());
    issues.extend(contact_issues(&dir, &c.id));
    if !issues.is_empty() {
        return Err(EditError::Invalid(issues));
    }
    apply_write(apply, |d| commit_as(d, author, |tx| write_contact_point(tx, &c)))
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Adds a new contact point with id `id` to `dir` (the document's contents, as read): it serves
/// the document's area (the whole country in the national document) and is recorded as verified
/// on `today` by `verified_by`. Validated like an edit; on success written through `apply` as one
/// commit, and what `apply` returned is returned.
pub fn add_contact<R>(
    dir: Directory,
    id: &str,
    new: &NewContact,
    today: &str,
    verified_by: &str,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let mut issues = Vec::new();
    if dir.contact_points.contains_key(id) {
        issues.push(FieldIssue::new("contact", "id_exists", "an entry with this id already exists"));
    }
    let mut c = ContactPoint {
        id: id.to_owned(),
        areas: if dir.is_national() { Vec::new() } else { dir.area.iter().cloned().collect() },
        verified_at: Some(today.to_owned()),
        verified_by: Some(verified_by.trim().to_owned()).filter(|v| !v.is_empty()),
        // An entry added to an area's members-only document is for the area's members only.
        visibility: dir.is_restricted().then_some(contactpoint_directory::model::Visibility::AreaMembers),
        ..ContactPoint::default()
    };
    if !new.name.text.trim().is_empty() {
        c.name.set(new.name.lang.trim(), new.name.text.trim());
    }
    if let Some(d) = new.description.as_ref().filter(|d| !d.text.trim().is_empty()) {
        c.description.set(d.lang.trim(), d.text.trim());
    }
    for r in new.roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        if !c.has_role(r) {
            c.roles.push(r.to_owned());
        }
    }
    c.phones = new
        .phones
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|number| Phone { number: number.to_owned(), kind: PhoneKind::Voice, description: Default::default() })
        .collect();
    c.email = trimmed(&new.email);
    c.url = trimmed(&new.url);
    c.organisation_id = trimmed(&new.organisation);
    if let Some(o) = c.organisation_id.as_ref().filter(|o| !dir.organisations.contains_key(*o)) {
        let mut issue = FieldIssue::new(
            "organisation",
            "no_organisation",
            format!("this document has no organisation with the id \"{o}\""),
        );
        issue.params.insert("value".into(), o.clone());
        issues.push(issue);
    }
    save(dir, c, issues, author, apply)
}

/// Retires a contact point on `today` (`YYYY-MM-DD`), as one commit. It stays in the document, so
/// that it can be restored; an entry already retired keeps its original date.
pub fn retire_contact<R>(
    dir: Directory,
    contact_id: &str,
    today: &str,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let Some(mut c) = dir.contact_points.get(contact_id).cloned() else { return Err(EditError::NotFound) };
    if c.retired.is_none() {
        c.retired = Some(today.trim().to_owned());
    }
    save(dir, c, Vec::new(), author, apply)
}

/// Puts a retired contact point back in use, as one commit.
pub fn restore_contact<R>(
    dir: Directory,
    contact_id: &str,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let Some(mut c) = dir.contact_points.get(contact_id).cloned() else { return Err(EditError::NotFound) };
    c.retired = None;
    save(dir, c, Vec::new(), author, apply)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::views::Areas;
    use contactpoint_directory::seed;
    use contactpoint_directory::store::StoreError;
    use contactpoint_directory::store::{read_directory, write_directory};

    /// The sample Helsinki document and the id of one of its contact points.
    pub(crate) fn helsinki() -> (Automerge, String) {
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
        let heads = edit_contact(dir, &id, &edit, "2026-11-24", "Editor A", &Author::default(), |f| {
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

    fn library(doc: &Automerge) -> crate::views::Library {
        let mut lib = crate::views::Library::default();
        lib.refresh([(DocumentId::from_random_bytes([7; 16]), doc)]);
        lib
    }

    fn json(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    /// Whether the contact with `id` is listed when browsing Helsinki.
    fn browsed(lib: &crate::views::Library, id: &str) -> bool {
        json(&lib.browse("091", "fi", "2026-11-24", "mo 10:00"))
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["contacts"].as_array().unwrap().iter())
            .any(|c| c["id"] == id)
    }

    /// Whether searching for `query` in Helsinki finds the contact with `id`.
    fn found(lib: &crate::views::Library, query: &str, id: &str) -> bool {
        json(&lib.search(query, Some("091"), "fi"))
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["href"] == crate::views::contact_href(id).as_str())
    }

    fn resolves(doc: &Automerge, role: &str, id: &str) -> bool {
        let dir = read_directory(doc).unwrap();
        contactpoint_directory::resolve(&[dir], "091", role).iter().any(|r| r.contact.id == id)
    }

    fn new_contact(phone: &str) -> NewContact {
        serde_json::from_value(serde_json::json!({
            "name": { "lang": "fi", "text": "Kallion nuorisotalo" },
            "roles": ["family_support"],
            "phones": [phone, ""],
            "email": "",
            "url": "https://example.invalid/kallio",
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_new_contact_is_one_commit_and_is_found_everywhere() {
        let (mut doc, _) = helsinki();
        let before = doc.get_heads();
        let id = new_contact_id().unwrap();
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "a version 4 UUID: {id}");
        assert_ne!(id, new_contact_id().unwrap());
        let dir = read_directory(&doc).unwrap();
        add_contact(dir, &id, &new_contact("040 123 4567"), "2026-11-24", "Editor A", &Author::default(), |f| {
            f(&mut doc)
        })
        .unwrap();
        assert_eq!(doc.get_changes(&before).len(), 1, "one commit");
        let c = read_contact_point(&doc, &id).unwrap();
        assert_eq!(c.name.get("fi"), Some("Kallion nuorisotalo"));
        assert_eq!(c.areas, vec![contactpoint_directory::Area::Municipality("091".into())]);
        assert_eq!(c.phones.len(), 1, "empty numbers are dropped");
        assert_eq!((c.email, c.verified_at.as_deref()), (None, Some("2026-11-24")));
        assert!(resolves(&doc, "family_support", &id));
        let lib = library(&doc);
        assert!(browsed(&lib, &id));
        assert!(found(&lib, "kallion nuoriso", &id));
        let areas = Areas::only(["municipality:091"]);
        assert!(lib.review_queue(&areas, "2026-11-24", "fi").iter().all(|i| i.id != id), "verified when added");
        assert_eq!(lib.document_for_area("municipality:091"), Some(DocumentId::from_random_bytes([7; 16])));
        assert_eq!(lib.document_for_area("national"), None);
    }

    #[test]
    fn an_invalid_new_contact_is_reported_per_field_and_changes_nothing() {
        let (mut doc, existing) = helsinki();
        let before = doc.get_heads();
        let mut new = new_contact("call me");
        new.roles = vec!["no_such_role".into()];
        new.name.text = " ".into();
        new.organisation = Some("no-such-organisation".into());
        let dir = read_directory(&doc).unwrap();
        let err = add_contact(dir, "new-1", &new, "2026-11-24", "A", &Author::default(), |f| f(&mut doc)).unwrap_err();
        let EditError::Invalid(issues) = err else { panic!("{err:?}") };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        for field in ["name", "roles", "phones[0]", "organisation"] {
            assert!(fields.contains(&field), "{field} missing from {issues:?}");
        }
        assert_eq!(doc.get_heads(), before, "nothing was written");
        let dir = read_directory(&doc).unwrap();
        let err =
            add_contact(dir, &existing, &new_contact("040 123 4567"), "2026-11-24", "A", &Author::default(), |_| ())
                .unwrap_err();
        assert!(matches!(err, EditError::Invalid(ref i) if i[0].field == "contact"), "{err:?}");
    }

    #[test]
    fn a_retired_contact_disappears_but_stays_and_can_be_restored() {
        let (mut doc, _) = helsinki();
        let id = new_contact_id().unwrap();
        let dir = read_directory(&doc).unwrap();
        add_contact(dir, &id, &new_contact("040 123 4567"), "2026-01-02", "A", &Author::default(), |f| f(&mut doc))
            .unwrap();
        let areas = Areas::only(["municipality:091"]);
        assert!(library(&doc).review_queue(&areas, "2026-11-24", "fi").iter().any(|i| i.id == id), "stale by now");

        let before = doc.get_heads();
        retire_contact(read_directory(&doc).unwrap(), &id, "2026-11-24", &Author::default(), |f| f(&mut doc)).unwrap();
        assert_eq!(doc.get_changes(&before).len(), 1, "one commit");
        assert_eq!(read_contact_point(&doc, &id).unwrap().retired.as_deref(), Some("2026-11-24"), "kept");
        assert!(!resolves(&doc, "family_support", &id));
        let lib = library(&doc);
        assert!(!browsed(&lib, &id));
        assert!(!found(&lib, "kallion nuoriso", &id));
        assert!(lib.review_queue(&areas, "2026-11-24", "fi").iter().all(|i| i.id != id));
        assert_eq!(json(&lib.contact(&id, "091", "fi", "2026-11-24", "mo 10:00"))["retired"], "2026-11-24");
        let listed = lib.retired(&areas, "fi");
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].id.as_str(), listed[0].name.as_str()), (id.as_str(), "Kallion nuorisotalo"));
        assert_eq!((listed[0].retired.as_str(), listed[0].area.as_str()), ("2026-11-24", "municipality:091"));
        assert!(lib.retired(&Areas::only(["municipality:853"]), "fi").is_empty(), "other areas' editors do not see it");

        retire_contact(read_directory(&doc).unwrap(), &id, "2026-12-01", &Author::default(), |f| f(&mut doc)).unwrap();
        assert_eq!(read_contact_point(&doc, &id).unwrap().retired.as_deref(), Some("2026-11-24"), "first date kept");

        let before = doc.get_heads();
        restore_contact(read_directory(&doc).unwrap(), &id, &Author::default(), |f| f(&mut doc)).unwrap();
        assert_eq!(doc.get_changes(&before).len(), 1, "one commit");
        assert!(resolves(&doc, "family_support", &id));
        let lib = library(&doc);
        assert!(browsed(&lib, &id) && found(&lib, "kallion nuoriso", &id));
        assert!(lib.retired(&Areas::All, "fi").is_empty());
        assert!(json(&lib.contact(&id, "091", "fi", "2026-11-24", "mo 10:00"))["retired"].is_null());
        assert!(matches!(
            retire_contact(read_directory(&doc).unwrap(), "no-such-contact", "2026-11-24", &Author::default(), |_| ())
                .unwrap_err(),
            EditError::NotFound
        ));
    }

    /// A contact found in a document that does not read as a directory is reported with the
    /// document and why, not as missing.
    #[test]
    fn an_unreadable_document_is_named_with_its_cause() {
        use contactpoint_protocol::automerge::transaction::Transactable;
        use contactpoint_protocol::automerge::{ObjType, ROOT};
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "kind", "index").unwrap();
        let cps = tx.put_object(ROOT, "contact_points", ObjType::Map).unwrap();
        tx.put_object(&cps, "c1", ObjType::Map).unwrap();
        tx.commit();
        let id = DocumentId::from_random_bytes([4; 16]);
        let mut client = crate::session::Client::new("tab-1".into(), "browser-1".into());
        client.open_doc(&id.to_string(), &doc.save(), None).unwrap();
        let err = client.retire_contact("c1", "2026-11-24").unwrap_err();
        assert!(matches!(err, EditError::Unreadable { doc, .. } if doc == id), "{err:?}");
        assert!(
            err.chain().contains(&format!("document {id}")) && err.chain().contains("\"index\""),
            "{}",
            err.chain()
        );
    }

    /// A write that fails leaves the document as it was and is returned, not dropped.
    #[test]
    fn a_failed_write_is_returned_and_changes_nothing() {
        use contactpoint_protocol::automerge::transaction::Transactable;
        let (mut doc, _) = helsinki();
        let heads = doc.get_heads();
        let r = apply_write(
            |f| f(&mut doc),
            |d| {
                commit_as(d, &Author::default(), |tx| {
                    tx.put(contactpoint_protocol::automerge::ROOT, "half", "written")?;
                    Err(StoreError::WrongKind { expected: "directory", found: "test".into() })
                })
            },
        );
        assert!(matches!(r, Err(EditError::Write(ref e)) if matches!(**e, StoreError::WrongKind { .. })), "{r:?}");
        assert_eq!(doc.get_heads(), heads, "the failed transaction was kept");
    }

    #[test]
    fn the_client_adds_to_an_areas_document_and_retires_and_restores() {
        use crate::session::{Client, Effect};
        let (doc, _) = helsinki();
        let doc_id = DocumentId::from_random_bytes([9; 16]).to_string();
        let mut client = Client::new("tab-1".into(), "browser-1".into());
        client.open_doc(&doc_id, &doc.save(), None).unwrap();
        let stored = |e: &[Effect]| e.iter().any(|e| matches!(e, Effect::Store { doc, .. } if *doc == doc_id));
        let mut new = new_contact("040 123 4567");
        assert!(matches!(
            client.add_contact("municipality:853", &new, "2026-11-24", "A").unwrap_err(),
            EditError::NotFound
        ));
        let documents = client.views().documents("fi");
        assert_eq!(documents.iter().map(|d| d.area.as_str()).collect::<Vec<_>>(), ["municipality:091"]);
        let organisation = client.views().organisations("municipality:091", "fi")[0].id.clone();
        new.organisation = Some(organisation.clone());
        let (id, effects) = client.add_contact("municipality:091", &new, "2026-11-24", "A").unwrap();
        assert!(stored(&effects), "{effects:?}");
        let added = read_contact_point(client.session().doc(&doc_id.parse().unwrap()).unwrap(), &id).unwrap();
        assert_eq!(added.organisation_id, Some(organisation));
        assert_eq!(client.contact_scope(&id).map(|s| s.1).as_deref(), Some("municipality:091"));
        assert!(stored(&client.retire_contact(&id, "2026-11-25").unwrap()));
        assert_eq!(client.views().retired(&Areas::All, "fi")[0].id, id);
        assert!(stored(&client.restore_contact(&id).unwrap()));
        assert!(client.views().retired(&Areas::All, "fi").is_empty());
        assert!(
            matches!(client.retire_contact(&id, "not a date"), Err(EditError::Invalid(ref i)) if i[0].field == "retired")
        );
    }

    #[test]
    fn role_names_for_the_add_form() {
        let roles = json(&crate::views::roles("sv"));
        assert_eq!(roles.as_array().unwrap().len(), contactpoint_directory::model::ROLES.len());
        assert_eq!(roles[0], serde_json::json!({ "role": "emergency", "label": "Nödnummer" }));
    }

    fn row(kind: &str, days: &[&str], opens: &str, closes: &str) -> ScheduleEdit {
        ScheduleEdit {
            kind: kind.into(),
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            opens: opens.into(),
            closes: closes.into(),
            from: None,
        }
    }

    /// Applies `edit` to the contact `id` of `doc`, committing through `doc` when valid.
    fn edit(doc: &mut Automerge, id: &str, edit: &ContactEdit) -> Result<(), EditError> {
        let dir = read_directory(doc).unwrap();
        edit_contact(dir, id, edit, "2026-11-24", "Editor A", &Author::default(), |f| f(doc))
    }

    #[test]
    fn a_schedule_edit_changes_only_the_opening_hours_in_one_commit() {
        let (mut doc, id) = helsinki();
        let before = read_contact_point(&doc, &id).unwrap();
        let heads = doc.get_heads();
        let weekdays = ["MO", "TU", "WE", "TH", "FR"];
        let rows = vec![row("regular", &weekdays, "08:00", "16:00"), row("out_of_hours", &["sa", "SU"], "", "")];
        edit(&mut doc, &id, &ContactEdit { schedules: Some(rows), ..ContactEdit::default() }).unwrap();
        assert_eq!(doc.get_changes(&heads).len(), 1, "one commit");
        let after = read_contact_point(&doc, &id).unwrap();
        assert_eq!(after.schedules.len(), 2);
        let s = &after.schedules[0];
        assert_eq!(
            (&s.kind, s.opens_at.as_deref(), s.closes_at.as_deref()),
            (&ScheduleKind::Regular, Some("08:00"), Some("16:00"))
        );
        assert_eq!(s.byday.iter().map(Weekday::as_str).collect::<Vec<_>>(), weekdays);
        let s = &after.schedules[1];
        assert_eq!((&s.kind, &s.opens_at, &s.closes_at), (&ScheduleKind::OutOfHours, &None, &None), "round the clock");
        assert_eq!(s.byday, [Weekday::Sa, Weekday::Su]);
        assert_eq!(
            ContactPoint { schedules: before.schedules.clone(), ..after.clone() },
            before,
            "nothing else changed"
        );
        let newest = contactpoint_directory::history::contact_history(&doc, &id).pop().unwrap();
        assert!(newest.changes.iter().all(|c| c.field.first_key() == Some("schedules")), "{:?}", newest.changes);
        // The contact page shows the hours, and gives the form the rows as stored.
        let lib = library(&doc);
        let page = json(&lib.contact(&id, "091", "en", "2026-11-24", "mo 10:00"));
        assert_eq!(page["hours"][0], "Mon Tue Wed Thu Fri 08:00–16:00");
        assert_eq!(page["open_now"], true);
        let form = &page["form"];
        assert_eq!(
            form["schedules"][0],
            serde_json::json!({ "kind": "regular", "days": weekdays, "opens": "08:00", "closes": "16:00" })
        );
        assert_eq!(form["schedules"][1]["opens"], "");
        assert_eq!(form["description"], before.description.get("en").unwrap_or(""));
        assert!(!lib.browse("091", "en", "2026-11-24", "mo 10:00").contains("\"form\""), "lists carry no form");

        // The form sent back as loaded, with a description kept by the row it came from: no change.
        let mut stored = after.clone();
        stored.schedules[1].description.set("fi", "Viikonloppuisin");
        let mut tx = doc.transaction();
        write_contact_point(&mut tx, &stored).unwrap();
        tx.commit();
        let heads = doc.get_heads();
        let mut rows = vec![
            row("regular", &["FR", "TH", "WE", "TU", "MO"], "08:00", "16:00"),
            row("out_of_hours", &["SA", "SU"], "", ""),
        ];
        rows[0].from = Some(0);
        rows[1].from = Some(1);
        let same = ContactEdit { schedules: Some(rows), ..ContactEdit::default() };
        edit(&mut doc, &id, &same).unwrap();
        assert_eq!(doc.get_heads(), heads, "an unchanged form writes nothing");

        // Removing the first row keeps the description with the row that stays.
        let mut rest = vec![row("out_of_hours", &["SA", "SU"], "18:00", "08:00")];
        rest[0].from = Some(1);
        edit(&mut doc, &id, &ContactEdit { schedules: Some(rest), ..ContactEdit::default() }).unwrap();
        let after = read_contact_point(&doc, &id).unwrap();
        assert_eq!(after.schedules.len(), 1);
        assert_eq!(after.schedules[0].description.get("fi"), Some("Viikonloppuisin"));
        assert_eq!(after.schedules[0].opens_at.as_deref(), Some("18:00"));
        edit(&mut doc, &id, &ContactEdit { schedules: Some(Vec::new()), ..ContactEdit::default() }).unwrap();
        assert!(read_contact_point(&doc, &id).unwrap().schedules.is_empty(), "an empty list removes the hours");
    }

    #[test]
    fn an_invalid_time_and_a_half_pair_are_reported_on_their_form_fields_and_change_nothing() {
        use contactpoint_directory::validate::msg;
        let (mut doc, id) = helsinki();
        let heads = doc.get_heads();
        let rows = vec![
            row("regular", &["MO"], "25:00", "16:00"),
            row("out_of_hours", &[], "16:00", ""),
            row("regular", &["XX"], "--:--", "08:00"),
            row("sometimes", &[], "", ""),
        ];
        let err = edit(&mut doc, &id, &ContactEdit { schedules: Some(rows), ..ContactEdit::default() }).unwrap_err();
        let EditError::Invalid(issues) = err else { panic!("{err:?}") };
        let has = |field: &str, message: &str| issues.iter().any(|i| i.field == field && i.message == message);
        assert!(has("schedules[0].opens", msg::TIME), "{issues:?}");
        assert!(has("schedules[1]", msg::TIME_PAIR), "{issues:?}");
        assert!(has("schedules[2].opens", msg::TIME), "{issues:?}");
        assert!(issues.iter().any(|i| i.field == "schedules[2].days"), "{issues:?}");
        assert!(issues.iter().any(|i| i.field == "schedules[3].kind"), "{issues:?}");
        assert!(!issues.iter().any(|i| i.field.starts_with("schedules[0].closes")), "{issues:?}");
        assert_eq!(doc.get_heads(), heads, "nothing was written");

        let one = |field: &str| {
            let note = NameEdit { lang: "fi".into(), text: "Oppilas 010190-123M".into() };
            let edit = match field {
                "description" => ContactEdit { description: Some(note), ..ContactEdit::default() },
                _ => ContactEdit { hours_note: Some(note), ..ContactEdit::default() },
            };
            edit_contact(read_directory(&doc).unwrap(), &id, &edit, "2026-11-24", "A", &Author::default(), |_| ())
                .unwrap_err()
        };
        for field in ["description", "hours_note"] {
            let err = one(field);
            assert!(matches!(err, EditError::Invalid(ref i) if i.len() == 1 && i[0].field == field), "{err:?}");
        }
    }

    #[test]
    fn a_description_in_one_language_leaves_the_others() {
        let (mut doc, id) = helsinki();
        let before = read_contact_point(&doc, &id).unwrap();
        assert!(["fi", "sv", "en"].iter().all(|l| before.description.get(l).is_some()), "{:?}", before.description);
        let heads = doc.get_heads();
        let text = |lang: &str, text: &str| Some(NameEdit { lang: lang.into(), text: text.into() });
        let e = ContactEdit {
            description: text("sv", "  Ny beskrivning  "),
            hours_note: text("en", "At night call the social emergency service."),
            ..ContactEdit::default()
        };
        edit(&mut doc, &id, &e).unwrap();
        assert_eq!(doc.get_changes(&heads).len(), 1, "one commit");
        let after = read_contact_point(&doc, &id).unwrap();
        assert_eq!(after.description.get("sv"), Some("Ny beskrivning"));
        for lang in ["fi", "en"] {
            assert_eq!(after.description.get(lang), before.description.get(lang), "{lang} kept");
        }
        assert_eq!(after.hours_note.get("en"), Some("At night call the social emergency service."));
        assert_eq!(
            after.hours_note.0.len(),
            before.hours_note.0.len() + usize::from(before.hours_note.get("en").is_none())
        );
        assert_eq!(
            ContactPoint {
                description: before.description.clone(),
                hours_note: before.hours_note.clone(),
                ..after.clone()
            },
            before
        );

        // An empty text removes that language only; a language with no text stays absent.
        edit(
            &mut doc,
            &id,
            &ContactEdit { description: text("en", " "), hours_note: text("sv", ""), ..ContactEdit::default() },
        )
        .unwrap();
        let after = read_contact_point(&doc, &id).unwrap();
        assert_eq!(after.description.get("en"), None);
        assert!(!after.description.0.contains_key("en"));
        assert_eq!(after.description.get("fi"), before.description.get("fi"));
        assert_eq!(after.hours_note.0.get("sv").map(String::as_str), before.hours_note.0.get("sv").map(String::as_str));
    }

    #[test]
    fn invalid_values_are_reported_per_field_and_change_nothing() {
        let (doc, id) = helsinki();
        let edit = ContactEdit {
            phones: Some(vec!["call me".into()]),
            email: Some("not an address".into()),
            ..ContactEdit::default()
        };
        let err =
            edit_contact(read_directory(&doc).unwrap(), &id, &edit, "2026-11-24", "A", &Author::default(), |_| ())
                .unwrap_err();
        let EditError::Invalid(issues) = err else { panic!("{err:?}") };
        assert!(issues.iter().any(|i| i.field == "phones[0]"), "{issues:?}");
        assert!(issues.iter().any(|i| i.field == "email"), "{issues:?}");
        assert!(matches!(
            edit_contact(
                read_directory(&doc).unwrap(),
                "no-such-contact",
                &edit,
                "2026-11-24",
                "A",
                &Author::default(),
                |_| ()
            )
            .unwrap_err(),
            EditError::NotFound
        ));
    }
}
