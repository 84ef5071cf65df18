//! Open Referral HSDS 3.0 export and import, as JSON and as the tabular CSV datapackage.
//!
//! Organisations become HSDS `organizations`; contact points become `services` with their
//! `phones`, `schedules` (weekly rules), `service_areas`, `languages` and `contacts` (a named
//! person). What HSDS has no field for travels in extra fields prefixed `x_contactpoint_`:
//! multilingual texts (`x_contactpoint_name` = `{"fi": …, "sv": …}`, while `name` carries the
//! Finnish or first available text for plain HSDS readers), roles, audiences, visibility, the
//! example flag, the out-of-hours kind of a schedule, our area code of a service area, and the
//! document (`national` or an area such as `municipality:091`) each record belongs to.
//! A retired contact point is a service with `status` `inactive` and its date in
//! `x_contactpoint_retired`; every other one is `active`.
//! Guidance cards are not directory data and are not exported.
//!
//! Export is deterministic (records sorted by id, sub-record ids derived from their owner), so
//! export → import → export gives identical bytes. Import never writes anything: it checks every
//! record, including full [`validate_directory`](crate::validate_directory) validation of the result, and returns either all
//! problems with their row and field, or the documents' contents for the caller to write.
//!
//! In the JSON form the sub-records are nested inside each service (as the HSDS API returns
//! them); in the CSV form they are separate tables joined by `service_id`. Inside a CSV cell a
//! list is written `a;b` and a multilingual text as a JSON object.

mod build;
mod csv;
mod export;
mod fields;
mod import;
mod tables;

use std::collections::BTreeSet;

pub use export::{export_datapackage, export_json};
pub use import::{import_datapackage, import_json};
pub use tables::{Table, UnknownTable};

use crate::model::Directory;
use crate::store::{self, StoreError};

/// The prefix of every extension field.
pub const EXT: &str = "x_contactpoint_";

/// One problem found while importing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImportIssue {
    /// The record: `services[3]`, `services[3].phones[0]` (JSON) or `phones.csv row 5` (CSV).
    pub location: String,
    /// The field, or the path inside the imported contact point for validation problems.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl core::fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}: {}", self.location, self.field, self.message)
    }
}

/// The key of a document in exports: `national`, the area (`municipality:091`), or an area's
/// members-only document (`restricted:municipality:091`).
pub fn document_key(d: &Directory) -> String {
    match (&d.area, d.is_national()) {
        (_, true) | (None, _) => "national".to_owned(),
        (Some(a), false) if d.is_restricted() => format!("{RESTRICTED_KEY}{a}"),
        (Some(a), false) => a.to_string(),
    }
}

/// The prefix of a members-only document's key.
pub(crate) const RESTRICTED_KEY: &str = "restricted:";

/// Writes imported organisations and contact points into a document, adding new ones and
/// updating existing ones field by field; other content (guidance cards, entries not in the
/// import) is left as it is.
pub fn apply<T: automerge::transaction::Transactable>(tx: &mut T, imported: &Directory) -> Result<(), StoreError> {
    for o in imported.organisations.values() {
        store::write_organisation(tx, o)?;
    }
    for c in imported.contact_points.values() {
        store::write_contact_point(tx, c)?;
    }
    Ok(())
}

/// The document keys (`national`, `municipality:091`, …) an import touches, for access checks
/// before anything is written.
pub fn touched_documents(imported: &[Directory]) -> BTreeSet<String> {
    imported.iter().map(document_key).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn with_one_retired() -> (Vec<Directory>, String) {
        let mut dirs = crate::seed::directories("2026-11-24").unwrap();
        let d = dirs.iter_mut().find(|d| !d.is_national()).unwrap();
        let c = d.contact_points.values_mut().next().unwrap();
        c.retired = Some("2026-11-20".into());
        let id = c.id.clone();
        (dirs, id)
    }

    #[test]
    fn members_only_contact_points_travel_in_their_areas_members_only_document() {
        let dirs = crate::seed::directories("2026-11-24").unwrap();
        let json = export_json(&dirs);
        let v: Value = serde_json::from_str(&json).unwrap();
        let members_only: Vec<&Value> = v["services"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["x_contactpoint_visibility"] == "area_members")
            .collect();
        assert_eq!(members_only.len(), 4, "one local cooperation group per seeded city");
        assert!(members_only.iter().all(|s| s["x_contactpoint_document"].as_str().unwrap().starts_with("restricted:")));
        assert_eq!(export_json(&import_json(&json).unwrap()), json);
        // A plain HSDS file that lists one under the city's own document: it is moved.
        let mut v = v;
        let row = v["services"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["x_contactpoint_visibility"] == "area_members")
            .unwrap();
        let id = row["id"].as_str().unwrap().to_owned();
        let key = row["x_contactpoint_document"].as_str().unwrap().trim_start_matches("restricted:").to_owned();
        row["x_contactpoint_document"] = Value::String(key.clone());
        let imported = import_json(&v.to_string()).unwrap();
        let holder = imported.iter().find(|d| d.contact_points.contains_key(&id)).unwrap();
        assert!(holder.is_restricted(), "{id} imported into {}", document_key(holder));
        assert_eq!(document_key(holder), format!("restricted:{key}"));
    }

    fn retired_of(dirs: &[Directory], id: &str) -> Option<String> {
        dirs.iter().find_map(|d| d.contact_points.get(id)).and_then(|c| c.retired.clone())
    }

    #[test]
    fn retirement_is_status_inactive_and_survives_round_trips() {
        let (dirs, id) = with_one_retired();
        let json = export_json(&dirs);
        let v: Value = serde_json::from_str(&json).unwrap();
        let services = v["services"].as_array().unwrap();
        let row = services.iter().find(|s| s["id"] == id.as_str()).unwrap();
        assert_eq!(row["status"], "inactive");
        assert_eq!(row["x_contactpoint_retired"], "2026-11-20");
        assert!(services.iter().filter(|s| s["id"] != id.as_str()).all(|s| s["status"] == "active"));
        let imported = import_json(&json).unwrap();
        assert_eq!(retired_of(&imported, &id).as_deref(), Some("2026-11-20"));
        assert_eq!(export_json(&imported), json);
        let files = export_datapackage(&dirs);
        let imported = import_datapackage(&files).unwrap();
        assert_eq!(retired_of(&imported, &id).as_deref(), Some("2026-11-20"));
        assert_eq!(export_datapackage(&imported), files);
    }

    #[test]
    fn a_status_without_its_date_or_a_date_without_its_status_is_reported() {
        let (dirs, id) = with_one_retired();
        let mut v: Value = serde_json::from_str(&export_json(&dirs)).unwrap();
        let services = v["services"].as_array_mut().unwrap();
        let pos = services.iter().position(|s| s["id"] == id.as_str()).unwrap();
        services[pos].as_object_mut().unwrap().remove("x_contactpoint_retired");
        let other = services.iter().position(|s| s["id"] != id.as_str()).unwrap();
        services[other]["x_contactpoint_retired"] = Value::String("2026-01-01".into());
        let third = services.iter().rposition(|s| s["id"] != id.as_str()).unwrap();
        services[third]["status"] = Value::String("temporarily closed".into());
        let issues = import_json(&v.to_string()).unwrap_err();
        let fields: Vec<(&str, &str)> = issues.iter().map(|i| (i.location.as_str(), i.field.as_str())).collect();
        assert!(fields.contains(&(format!("services[{pos}]").as_str(), "x_contactpoint_retired")), "{issues:?}");
        assert!(fields.contains(&(format!("services[{other}]").as_str(), "x_contactpoint_retired")), "{issues:?}");
        assert!(fields.contains(&(format!("services[{third}]").as_str(), "status")), "{issues:?}");
    }

    #[test]
    fn a_retirement_date_must_be_a_date() {
        let (mut dirs, id) = with_one_retired();
        for d in &mut dirs {
            if let Some(c) = d.contact_points.get_mut(&id) {
                c.retired = Some("last week".into());
            }
        }
        let issues = import_json(&export_json(&dirs)).unwrap_err();
        assert!(issues.iter().any(|i| i.field == "retired" && i.message == crate::validate::msg::DATE), "{issues:?}");
    }
}
