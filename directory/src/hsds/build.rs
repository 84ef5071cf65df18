//! Turning imported tables into documents (`build`): each document, organisation and service,
//! then the services' sub-records, then validation of every document, whose problems are
//! reported at the imported record they came from (`locate`).

use std::collections::BTreeMap;

use super::fields::Fields;
use super::tables::{Row, Table, Tables};
use super::{ImportIssue, RESTRICTED_KEY, document_key};
use crate::area::Area;
use crate::localities::Localities;
use crate::model::{
    ContactPoint, Directory, DocumentKind, Organisation, OrganisationKind, Phone, PhoneKind, Schedule, ScheduleKind,
    Visibility, Weekday,
};
use crate::path::{FieldPath, Segment};
use crate::text::LocalizedText;
use crate::validate::validate_directory;

/// The retirement date of a service from HSDS `status` and `x_contactpoint_retired`: `active` (or
/// no status) is in use, `inactive` and `defunct` are retired and need the date.
fn retirement(f: &mut Fields<'_>) -> Option<String> {
    let date = f.str("x_contactpoint_retired");
    match f.str("status").as_deref() {
        None | Some("active") => {
            if date.is_some() {
                f.problem(
                    "x_contactpoint_retired",
                    "an active service has no retirement date; set status to inactive or remove the date",
                );
            }
            None
        }
        Some("inactive" | "defunct") => {
            if date.is_none() {
                f.problem("x_contactpoint_retired", "an inactive service needs the date it was retired (YYYY-MM-DD)");
            }
            date
        }
        Some(other) => {
            f.problem("status", format!("\"{other}\" is not a status this directory keeps; use active or inactive"));
            None
        }
    }
}

fn parse_area(s: &str) -> Result<Area, String> {
    if let Ok(a) = s.parse::<Area>() {
        return Ok(a);
    }
    // Plain HSDS may name the area instead: accept a municipality's Finnish or Swedish name.
    let l = Localities::get();
    let folded = crate::text::fold(s.trim());
    l.municipalities
        .iter()
        .find(|m| crate::text::fold(&m.name_fi) == folded || crate::text::fold(&m.name_sv) == folded)
        .map(|m| Area::Municipality(m.code.clone()))
        .ok_or_else(|| match s.parse::<Area>() {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        })
}

fn parse_document_key(s: &str) -> Result<(DocumentKind, Option<Area>), String> {
    if s == "national" {
        return Ok((DocumentKind::National, None));
    }
    let (kind, area) = match s.strip_prefix(RESTRICTED_KEY) {
        Some(area) => (DocumentKind::Restricted, area),
        None => (DocumentKind::Area, s),
    };
    area.parse::<Area>().map(|a| (kind, Some(a))).map_err(|e| {
        format!("must be \"national\", an area such as municipality:091, or restricted:municipality:091 ({e})")
    })
}

/// The documents read so far, by key.
type Docs = BTreeMap<String, Directory>;

/// The imported services, by id: where each came from, its document's key, and the contact point.
type Services = BTreeMap<String, (String, String, ContactPoint)>;

/// Makes sure the document `key` exists, empty if it is new; an error when the key is not one.
/// A key is taken only as the export writes it: two spellings of one document (` police:helsinki`
/// beside `police:helsinki`) would otherwise import as two documents for one area.
fn doc_for(docs: &mut Docs, key: &str) -> Result<(), String> {
    if !docs.contains_key(key) {
        let (kind, area) = parse_document_key(key)?;
        let d = Directory { kind: Some(kind), area, ..Directory::default() };
        let written = document_key(&d);
        if written != key {
            return Err(format!("must be written as {written}"));
        }
        docs.insert(key.to_owned(), d);
    }
    Ok(())
}

/// Builds the documents from the tables, or reports every problem, the validation's included.
pub(super) fn build(t: Tables, mut issues: Vec<ImportIssue>) -> Result<Vec<Directory>, Vec<ImportIssue>> {
    let mut docs = Docs::new();
    documents(&t, &mut docs, &mut issues);
    let org_locs = organisations(&t, &mut docs, &mut issues);
    let mut services = services(&t, &mut docs, &org_locs, &mut issues);
    sub_records(&t, &mut services, &mut issues);
    let mut service_locs: BTreeMap<String, String> = BTreeMap::new();
    for (id, (loc, doc, c)) in services {
        service_locs.insert(id.clone(), loc);
        if let Some(d) = docs.get_mut(&doc) {
            d.contact_points.insert(id, c);
        }
    }
    for d in docs.values_mut() {
        if d.title.is_empty() {
            // Plain HSDS has no document titles; name the document after its area.
            d.title = match &d.area {
                Some(a) => LocalizedText::fi_sv_en(&a.name("fi"), &a.name("sv"), &a.name("en")),
                None => LocalizedText::fi_sv_en("Valtakunnallinen", "Nationell", "National"),
            };
        }
        for v in validate_directory(d) {
            let (location, field) = locate(&v.path, &service_locs, &org_locs, &document_key(d));
            issues.push(ImportIssue { location, field, message: v.message });
        }
    }
    if issues.is_empty() {
        Ok(docs.into_values().collect())
    } else {
        issues.sort();
        issues.dedup();
        Err(issues)
    }
}

/// The documents table: each document's key and title.
fn documents(t: &Tables, docs: &mut Docs, issues: &mut Vec<ImportIssue>) {
    for (loc, row) in t.rows(Table::Documents) {
        let mut f = Fields { loc, row, issues };
        let Some(key) = f.required("id") else { continue };
        let title = f.text(None, "title");
        match doc_for(docs, &key) {
            Ok(()) => {
                if let Some(d) = docs.get_mut(&key) {
                    d.title = title;
                }
            }
            Err(m) => f.problem("id", m),
        }
    }
}

/// The organisations, each into its document; returns where each came from, by id.
fn organisations(t: &Tables, docs: &mut Docs, issues: &mut Vec<ImportIssue>) -> BTreeMap<String, String> {
    let mut org_locs: BTreeMap<String, String> = BTreeMap::new();
    for (loc, row) in t.rows(Table::Organizations) {
        let mut f = Fields { loc, row, issues };
        let id = f.required("id");
        let doc = f.required("x_contactpoint_document");
        let o = Organisation {
            id: id.clone().unwrap_or_default(),
            name: f.text(Some("name"), "name"),
            description: f.text(Some("description"), "description"),
            website: f.str("website"),
            kind: f.str("x_contactpoint_kind").map(|k| OrganisationKind::parse(&k)),
            example: f.bool("x_contactpoint_example"),
        };
        let (Some(id), Some(doc)) = (id, doc) else { continue };
        if org_locs.insert(id.clone(), loc.clone()).is_some() {
            f.problem("id", format!("the id {id} is used by another organization"));
            continue;
        }
        match doc_for(docs, &doc) {
            Ok(()) => {
                if let Some(d) = docs.get_mut(&doc) {
                    d.organisations.insert(id, o);
                }
            }
            Err(m) => f.problem("x_contactpoint_document", m),
        }
    }
    org_locs
}

/// The services, without their sub-records yet; each document they name is made.
fn services(
    t: &Tables,
    docs: &mut Docs,
    org_locs: &BTreeMap<String, String>,
    issues: &mut Vec<ImportIssue>,
) -> Services {
    let mut services = Services::new();
    for (loc, row) in t.rows(Table::Services) {
        let mut f = Fields { loc, row, issues };
        let id = f.required("id");
        let doc = f.required("x_contactpoint_document");
        let c = ContactPoint {
            id: id.clone().unwrap_or_default(),
            organisation_id: f.str("organization_id"),
            name: f.text(Some("name"), "name"),
            description: f.text(Some("description"), "description"),
            roles: f.list("x_contactpoint_roles"),
            email: f.str("email"),
            url: f.str("url"),
            chat_url: f.str("x_contactpoint_chat_url"),
            hours_note: f.text(None, "hours_note"),
            audiences: f.list("x_contactpoint_audiences"),
            visibility: f.str("x_contactpoint_visibility").map(|v| Visibility::parse(&v)),
            verified_at: f.str("assured_date"),
            verified_by: f.str("assurer_email"),
            example: f.bool("x_contactpoint_example"),
            review_by: f.str("x_contactpoint_review_by"),
            retired: retirement(&mut f),
            ..ContactPoint::default()
        };
        if let Some(org) = &c.organisation_id
            && !org_locs.contains_key(org)
        {
            f.problem("organization_id", format!("no organization has the id {org}"));
        }
        let (Some(id), Some(mut doc)) = (id, doc) else { continue };
        // A members-only contact point listed under its area's open document goes to the
        // area's members-only document, which only the area's members receive.
        if c.visibility() == Visibility::AreaMembers && doc != "national" && !doc.starts_with(RESTRICTED_KEY) {
            doc = format!("{RESTRICTED_KEY}{doc}");
        }
        if let Err(m) = doc_for(docs, &doc) {
            f.problem("x_contactpoint_document", m);
            continue;
        }
        if services.contains_key(&id) {
            f.problem("id", format!("the id {id} is used by another service"));
            continue;
        }
        services.insert(id, (loc.clone(), doc, c));
    }
    services
}

/// The services' sub-records (phones, schedules, areas, languages, a named person), each onto
/// the service its `service_id` names.
fn sub_records(t: &Tables, services: &mut Services, issues: &mut Vec<ImportIssue>) {
    let mut child = |rows: &Vec<(String, Row)>,
                     issues: &mut Vec<ImportIssue>,
                     apply: &mut dyn FnMut(&mut Fields<'_>, &mut ContactPoint)| {
        for (loc, row) in rows {
            let mut f = Fields { loc, row, issues };
            let Some(sid) = f.required("service_id") else { continue };
            match services.get_mut(&sid) {
                Some((_, _, c)) => apply(&mut f, c),
                None => f.problem("service_id", format!("no service has the id {sid}")),
            }
        }
    };
    child(t.rows(Table::Phones), issues, &mut |f, c| {
        let number = f.required("number").unwrap_or_default();
        let kind = match f.str("type").as_deref() {
            None | Some("voice") => PhoneKind::Voice,
            Some("text") => PhoneKind::Sms,
            Some(other) => PhoneKind::Other(other.to_owned()),
        };
        c.phones.push(Phone { number, kind, description: f.text(Some("description"), "description") });
    });
    child(t.rows(Table::Schedules), issues, &mut |f, c| {
        if let Some(freq) = f.str("freq").filter(|q| q != "WEEKLY") {
            f.problem("freq", format!("only weekly schedules are supported, not {freq}"));
        }
        let byday = f.str("byday").unwrap_or_default();
        c.schedules.push(Schedule {
            kind: f.str("x_contactpoint_kind").map_or(ScheduleKind::Regular, |k| ScheduleKind::parse(&k)),
            byday: byday.split(',').map(str::trim).filter(|d| !d.is_empty()).map(Weekday::parse).collect(),
            opens_at: f.str("opens_at"),
            closes_at: f.str("closes_at"),
            description: f.text(Some("description"), "description"),
        });
    });
    child(t.rows(Table::ServiceAreas), issues, &mut |f, c| {
        let (key, text) = match f.str("x_contactpoint_area") {
            Some(a) => ("x_contactpoint_area", Some(a)),
            None => ("name", f.str("name")),
        };
        match text.as_deref().map(parse_area) {
            Some(Ok(a)) => c.areas.push(a),
            Some(Err(m)) => f.problem(key, m),
            None => f.problem("x_contactpoint_area", "is required (municipality:091, county:90 or police:helsinki)"),
        }
    });
    child(t.rows(Table::Languages), issues, &mut |f, c| {
        if let Some(code) = f.required("code") {
            c.languages.push(code);
        }
    });
    child(t.rows(Table::Contacts), issues, &mut |f, c| {
        if let Some(name) = f.required("name") {
            c.contact_person = Some(name);
        }
    });
}

/// Maps a validation path (`contact_points.<id>.phones[0].number`) to the imported record.
fn locate(
    path: &FieldPath,
    services: &BTreeMap<String, String>,
    orgs: &BTreeMap<String, String>,
    doc: &str,
) -> (String, String) {
    for (collection, locs) in [("contact_points", services), ("organisations", orgs)] {
        if let [Segment::Key(c), Segment::Key(id), ..] = path.segments()
            && c == collection
            && let Some(loc) = locs.get(id)
            && let Some(field) = path.strip_prefix(&FieldPath::of(collection).key(id.as_str()))
        {
            return (loc.clone(), field.to_string());
        }
    }
    (format!("document {doc}"), path.to_string())
}
