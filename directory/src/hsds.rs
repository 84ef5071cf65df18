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
//! record, including full [`validate_directory`] validation of the result, and returns either all
//! problems with their row and field, or the documents' contents for the caller to write.
//!
//! In the JSON form the sub-records are nested inside each service (as the HSDS API returns
//! them); in the CSV form they are separate tables joined by `service_id`. Inside a CSV cell a
//! list is written `a;b` and a multilingual text as a JSON object.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::area::Area;
use crate::ids::stable_id;
use crate::localities::Localities;
use crate::model::{
    ContactPoint, Directory, DocumentKind, Organisation, OrganisationKind, Phone, PhoneKind, Schedule, ScheduleKind,
    Visibility, Weekday,
};
use crate::path::{FieldPath, Segment};
use crate::store::{self, StoreError};
use crate::text::LocalizedText;
use crate::validate::validate_directory;

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

type Row = Map<String, Value>;

/// The flat tables both formats are built from and read into; each row remembers where it came from.
#[derive(Default)]
struct Tables {
    documents: Vec<(String, Row)>,
    organizations: Vec<(String, Row)>,
    services: Vec<(String, Row)>,
    phones: Vec<(String, Row)>,
    schedules: Vec<(String, Row)>,
    service_areas: Vec<(String, Row)>,
    languages: Vec<(String, Row)>,
    contacts: Vec<(String, Row)>,
}

/// The CSV files of the datapackage with their columns, in order.
const TABLES: &[(&str, &[&str])] = &[
    ("x_contactpoint_documents", &["id", "x_contactpoint_kind", "x_contactpoint_title"]),
    (
        "organizations",
        &[
            "id",
            "name",
            "description",
            "website",
            "x_contactpoint_document",
            "x_contactpoint_kind",
            "x_contactpoint_example",
            "x_contactpoint_name",
            "x_contactpoint_description",
        ],
    ),
    (
        "services",
        &[
            "id",
            "organization_id",
            "name",
            "description",
            "url",
            "email",
            "status",
            "assured_date",
            "assurer_email",
            "x_contactpoint_document",
            "x_contactpoint_roles",
            "x_contactpoint_chat_url",
            "x_contactpoint_audiences",
            "x_contactpoint_visibility",
            "x_contactpoint_example",
            "x_contactpoint_review_by",
            "x_contactpoint_retired",
            "x_contactpoint_name",
            "x_contactpoint_description",
            "x_contactpoint_hours_note",
        ],
    ),
    ("phones", &["id", "service_id", "number", "type", "description", "x_contactpoint_description"]),
    (
        "schedules",
        &[
            "id",
            "service_id",
            "freq",
            "byday",
            "opens_at",
            "closes_at",
            "description",
            "x_contactpoint_kind",
            "x_contactpoint_description",
        ],
    ),
    ("service_areas", &["id", "service_id", "name", "x_contactpoint_area"]),
    ("languages", &["id", "service_id", "code"]),
    ("contacts", &["id", "service_id", "name"]),
];

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
const RESTRICTED_KEY: &str = "restricted:";

fn localized_value(t: &LocalizedText) -> Value {
    Value::Object(t.iter().map(|(l, s)| (l.to_owned(), Value::String(s.to_owned()))).collect())
}

fn put(row: &mut Row, key: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        row.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

fn put_text(row: &mut Row, plain: Option<&str>, ext: &str, t: &LocalizedText) {
    if let Some(p) = plain {
        put(row, p, Some(t.text("fi")));
    }
    if !t.0.is_empty() {
        row.insert(format!("{EXT}{ext}"), localized_value(t));
    }
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

fn tables_from(docs: &[Directory]) -> Tables {
    let mut t = Tables::default();
    let mut docs: Vec<&Directory> = docs.iter().collect();
    docs.sort_by_key(|d| document_key(d));
    for d in docs {
        let key = document_key(d);
        let mut row = Row::new();
        row.insert("id".into(), Value::String(key.clone()));
        put(&mut row, "x_contactpoint_kind", d.kind.as_ref().map(DocumentKind::as_str));
        put_text(&mut row, None, "title", &d.title);
        t.documents.push((String::new(), row));
        for o in d.organisations.values() {
            let mut row = Row::new();
            row.insert("id".into(), Value::String(o.id.clone()));
            put_text(&mut row, Some("name"), "name", &o.name);
            put_text(&mut row, Some("description"), "description", &o.description);
            put(&mut row, "website", o.website.as_deref());
            put(&mut row, "x_contactpoint_document", Some(&key));
            put(&mut row, "x_contactpoint_kind", o.kind.as_ref().map(OrganisationKind::as_str));
            row.insert("x_contactpoint_example".into(), Value::Bool(o.example));
            t.organizations.push((String::new(), row));
        }
        for c in d.contact_points.values() {
            service_rows(&mut t, &key, c);
        }
    }
    t
}

fn service_rows(t: &mut Tables, key: &str, c: &ContactPoint) {
    let mut row = Row::new();
    row.insert("id".into(), Value::String(c.id.clone()));
    put(&mut row, "organization_id", c.organisation_id.as_deref());
    put_text(&mut row, Some("name"), "name", &c.name);
    put_text(&mut row, Some("description"), "description", &c.description);
    put_text(&mut row, None, "hours_note", &c.hours_note);
    put(&mut row, "url", c.url.as_deref());
    put(&mut row, "email", c.email.as_deref());
    put(&mut row, "status", Some(if c.is_retired() { "inactive" } else { "active" }));
    put(&mut row, "assured_date", c.verified_at.as_deref());
    put(&mut row, "assurer_email", c.verified_by.as_deref());
    put(&mut row, "x_contactpoint_document", Some(key));
    row.insert("x_contactpoint_roles".into(), strings(&c.roles));
    put(&mut row, "x_contactpoint_chat_url", c.chat_url.as_deref());
    row.insert("x_contactpoint_audiences".into(), strings(&c.audiences));
    put(&mut row, "x_contactpoint_visibility", c.visibility.as_ref().map(Visibility::as_str));
    row.insert("x_contactpoint_example".into(), Value::Bool(c.example));
    put(&mut row, "x_contactpoint_review_by", c.review_by.as_deref());
    put(&mut row, "x_contactpoint_retired", c.retired.as_deref());
    t.services.push((String::new(), row));
    let sub = |kind: &str, i: usize| stable_id(kind, &format!("{}/{i}", c.id));
    for (i, p) in c.phones.iter().enumerate() {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("phone", i)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        r.insert("number".into(), Value::String(p.number.clone()));
        let ty = match &p.kind {
            PhoneKind::Voice => "voice",
            PhoneKind::Sms => "text",
            PhoneKind::Other(o) => o.as_str(),
        };
        put(&mut r, "type", Some(ty));
        put_text(&mut r, Some("description"), "description", &p.description);
        t.phones.push((String::new(), r));
    }
    for (i, s) in c.schedules.iter().enumerate() {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("schedule", i)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        put(&mut r, "freq", Some("WEEKLY"));
        let days: Vec<&str> = s.byday.iter().map(Weekday::as_str).collect();
        put(&mut r, "byday", Some(&days.join(",")));
        put(&mut r, "opens_at", s.opens_at.as_deref());
        put(&mut r, "closes_at", s.closes_at.as_deref());
        put_text(&mut r, Some("description"), "description", &s.description);
        put(&mut r, "x_contactpoint_kind", Some(s.kind.as_str()));
        t.schedules.push((String::new(), r));
    }
    let areas: Vec<String> = c.areas.iter().map(Area::to_string).chain(c.unparsed_areas.iter().cloned()).collect();
    for (i, a) in areas.iter().enumerate() {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("service_area", i)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        let name = a.parse::<Area>().map(|a| a.name("fi")).unwrap_or_else(|_| a.clone());
        put(&mut r, "name", Some(&name));
        put(&mut r, "x_contactpoint_area", Some(a));
        t.service_areas.push((String::new(), r));
    }
    for (i, l) in c.languages.iter().enumerate() {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("language", i)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        put(&mut r, "code", Some(l));
        t.languages.push((String::new(), r));
    }
    if let Some(p) = &c.contact_person {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("contact", 0)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        put(&mut r, "name", Some(p));
        t.contacts.push((String::new(), r));
    }
}

/// Exports documents as HSDS JSON: `organizations` and `services` (with nested `phones`,
/// `schedules`, `service_areas`, `languages`, `contacts`), plus `x_contactpoint_documents`.
pub fn export_json(docs: &[Directory]) -> String {
    let t = tables_from(docs);
    let mut children: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (name, rows) in [
        ("phones", &t.phones),
        ("schedules", &t.schedules),
        ("service_areas", &t.service_areas),
        ("languages", &t.languages),
        ("contacts", &t.contacts),
    ] {
        for (_, r) in rows {
            let sid = r.get("service_id").and_then(Value::as_str).unwrap_or_default().to_owned();
            let entry = children.entry(sid).or_default();
            if let Value::Array(list) = entry.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
                list.push(Value::Object(r.clone()));
            }
        }
    }
    let services: Vec<Value> = t
        .services
        .into_iter()
        .map(|(_, mut r)| {
            let id = r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            for name in ["phones", "schedules", "service_areas", "languages", "contacts"] {
                let list = children.get_mut(&id).and_then(|c| c.remove(name)).unwrap_or(Value::Array(Vec::new()));
                r.insert(name.to_owned(), list);
            }
            Value::Object(r)
        })
        .collect();
    let out = json!({
        "x_contactpoint_format": "contactpoint-hsds-3.0/1",
        "x_contactpoint_documents": t.documents.into_iter().map(|(_, r)| Value::Object(r)).collect::<Vec<_>>(),
        "organizations": t.organizations.into_iter().map(|(_, r)| Value::Object(r)).collect::<Vec<_>>(),
        "services": services,
    });
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join(";"),
        Some(o @ Value::Object(_)) => o.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

fn write_csv(columns: &[&str], rows: &[(String, Row)]) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for (_, r) in rows {
        let line: Vec<String> = columns.iter().map(|c| csv_field(&cell(r.get(*c)))).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Exports documents as the HSDS tabular datapackage: file name → contents, including
/// `datapackage.json`.
pub fn export_datapackage(docs: &[Directory]) -> BTreeMap<String, String> {
    let t = tables_from(docs);
    let mut files = BTreeMap::new();
    let mut resources = Vec::new();
    for (name, columns) in TABLES {
        let rows = table(&t, name);
        files.insert(format!("{name}.csv"), write_csv(columns, rows));
        resources.push(json!({
            "name": name,
            "path": format!("{name}.csv"),
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": { "fields": columns.iter().map(|c| json!({"name": c, "type": "string"})).collect::<Vec<_>>() },
        }));
    }
    let package = json!({
        "name": "contactpoint-directory",
        "title": "Contact Point directory (Open Referral HSDS 3.0)",
        "profile": "tabular-data-package",
        "x_contactpoint_format": "contactpoint-hsds-3.0/1",
        "resources": resources,
    });
    files.insert("datapackage.json".into(), serde_json::to_string_pretty(&package).unwrap_or_default());
    files
}

fn table<'t>(t: &'t Tables, name: &str) -> &'t Vec<(String, Row)> {
    match name {
        "x_contactpoint_documents" => &t.documents,
        "organizations" => &t.organizations,
        "services" => &t.services,
        "phones" => &t.phones,
        "schedules" => &t.schedules,
        "service_areas" => &t.service_areas,
        "languages" => &t.languages,
        _ => &t.contacts,
    }
}

fn table_mut<'t>(t: &'t mut Tables, name: &str) -> &'t mut Vec<(String, Row)> {
    match name {
        "x_contactpoint_documents" => &mut t.documents,
        "organizations" => &mut t.organizations,
        "services" => &mut t.services,
        "phones" => &mut t.phones,
        "schedules" => &mut t.schedules,
        "service_areas" => &mut t.service_areas,
        "languages" => &mut t.languages,
        _ => &mut t.contacts,
    }
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// Reads HSDS JSON (as written by [`export_json`], or plain HSDS with `x_contactpoint_document`
/// on each organisation and service). Returns the documents' directory contents, or every problem.
pub fn import_json(text: &str) -> Result<Vec<Directory>, Vec<ImportIssue>> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        vec![ImportIssue { location: "document".into(), field: String::new(), message: format!("not valid JSON: {e}") }]
    })?;
    let mut issues = Vec::new();
    let Some(root) = root.as_object() else {
        return Err(vec![ImportIssue {
            location: "document".into(),
            field: String::new(),
            message: "the top level must be an object with organizations and services".into(),
        }]);
    };
    let mut t = Tables::default();
    let list = |key: &str, issues: &mut Vec<ImportIssue>| -> Vec<(String, Row)> {
        match root.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::Object(r) => Some((format!("{key}[{i}]"), r.clone())),
                    _ => {
                        issues.push(ImportIssue {
                            location: format!("{key}[{i}]"),
                            field: String::new(),
                            message: "must be an object".into(),
                        });
                        None
                    }
                })
                .collect(),
            Some(_) => {
                issues.push(ImportIssue {
                    location: key.into(),
                    field: String::new(),
                    message: "must be a list".into(),
                });
                Vec::new()
            }
        }
    };
    t.documents = list("x_contactpoint_documents", &mut issues);
    t.organizations = list("organizations", &mut issues);
    let services = list("services", &mut issues);
    for (loc, mut row) in services {
        let sid = row.get("id").cloned();
        for name in ["phones", "schedules", "service_areas", "languages", "contacts"] {
            match row.remove(name) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let sub_loc = format!("{loc}.{name}[{i}]");
                        match item {
                            Value::Object(mut r) => {
                                if let Some(sid) = &sid {
                                    r.entry("service_id").or_insert_with(|| sid.clone());
                                }
                                table_mut(&mut t, name).push((sub_loc, r));
                            }
                            _ => issues.push(ImportIssue {
                                location: sub_loc,
                                field: String::new(),
                                message: "must be an object".into(),
                            }),
                        }
                    }
                }
                Some(_) => issues.push(ImportIssue {
                    location: loc.clone(),
                    field: name.into(),
                    message: "must be a list".into(),
                }),
            }
        }
        t.services.push((loc, row));
    }
    // Top-level sub-record lists are accepted too, as some HSDS producers write them flat.
    for name in ["phones", "schedules", "service_areas", "languages", "contacts"] {
        let rows = list(name, &mut issues);
        table_mut(&mut t, name).extend(rows);
    }
    build(t, issues)
}

/// Reads the HSDS tabular datapackage (file name → contents). `datapackage.json`,
/// `organizations.csv` and `services.csv` are required; the other tables are optional.
pub fn import_datapackage(files: &BTreeMap<String, String>) -> Result<Vec<Directory>, Vec<ImportIssue>> {
    let mut issues = Vec::new();
    match files.get("datapackage.json").map(|p| serde_json::from_str::<Value>(p)) {
        None => issues.push(ImportIssue {
            location: "datapackage.json".into(),
            field: String::new(),
            message: "the datapackage.json file is missing".into(),
        }),
        Some(Err(e)) => issues.push(ImportIssue {
            location: "datapackage.json".into(),
            field: String::new(),
            message: format!("not valid JSON: {e}"),
        }),
        Some(Ok(v)) if !v.get("resources").is_some_and(Value::is_array) => issues.push(ImportIssue {
            location: "datapackage.json".into(),
            field: "resources".into(),
            message: "must list the resources of the package".into(),
        }),
        Some(Ok(_)) => {}
    }
    let mut t = Tables::default();
    for (name, _) in TABLES {
        let file = format!("{name}.csv");
        let Some(text) = files.get(&file) else {
            if matches!(*name, "organizations" | "services") {
                issues.push(ImportIssue {
                    location: file,
                    field: String::new(),
                    message: "this table is required".into(),
                });
            }
            continue;
        };
        match parse_csv(text) {
            Err((line, message)) => {
                issues.push(ImportIssue { location: format!("{file} line {line}"), field: String::new(), message })
            }
            Ok(rows) => {
                let mut rows = rows.into_iter();
                let header = rows.next().unwrap_or_default();
                for (i, cells) in rows.enumerate() {
                    let loc = format!("{file} row {}", i + 2);
                    if cells.len() != header.len() {
                        issues.push(ImportIssue {
                            location: loc,
                            field: String::new(),
                            message: format!("has {} fields but the header has {}", cells.len(), header.len()),
                        });
                        continue;
                    }
                    let row: Row = header
                        .iter()
                        .zip(cells)
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (k.trim().to_owned(), Value::String(v)))
                        .collect();
                    table_mut(&mut t, name).push((loc, row));
                }
            }
        }
    }
    build(t, issues)
}

/// Parses RFC 4180 CSV. Errors carry the line number.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut quoted_from = None;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if let Some(start) = quoted_from {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted_from = None;
                    if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                        return Err((start, "a quoted field must end at a comma or the end of the line".into()));
                    }
                }
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted_from = Some(line);
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                line += 1;
                at_field_start = true;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if let Some(start) = quoted_from {
        return Err((start, "a quoted field is never closed".into()));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    // Blank lines carry no record.
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}

/// Field access with issue collection.
struct Fields<'r> {
    loc: &'r str,
    row: &'r Row,
    issues: &'r mut Vec<ImportIssue>,
}

impl Fields<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.issues.push(ImportIssue {
            location: self.loc.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn str(&mut self, key: &str) -> Option<String> {
        match self.row.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.problem(key, "must be text");
                None
            }
        }
    }

    fn required(&mut self, key: &str) -> Option<String> {
        let v = self.str(key);
        if v.is_none() {
            self.problem(key, "is required");
        }
        v
    }

    fn bool(&mut self, key: &str) -> bool {
        match self.row.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" => true,
            Some(Value::String(s)) if s == "false" || s.is_empty() => false,
            Some(_) => {
                self.problem(key, "must be true or false");
                false
            }
        }
    }

    fn list(&mut self, key: &str) -> Vec<String> {
        match self.row.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => {
                s.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                a.iter().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            Some(_) => {
                self.problem(key, "must be a list of codes");
                Vec::new()
            }
        }
    }

    /// A multilingual text from `x_contactpoint_<ext>`, else the plain HSDS field read as Finnish.
    fn text(&mut self, plain: Option<&str>, ext: &str) -> LocalizedText {
        let key = format!("{EXT}{ext}");
        let parsed = match self.row.get(&key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(Value::Object(m.clone())),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => Some(v),
                _ => {
                    self.problem(&key, "must be an object of language codes and texts");
                    return LocalizedText::new();
                }
            },
            Some(_) => {
                self.problem(&key, "must be an object of language codes and texts");
                return LocalizedText::new();
            }
        };
        if let Some(Value::Object(m)) = parsed {
            let mut t = LocalizedText::new();
            for (lang, v) in m {
                match v {
                    Value::String(s) => t.set(&lang, &s),
                    _ => self.problem(&key, format!("the {lang} text must be text")),
                }
            }
            return t;
        }
        let mut t = LocalizedText::new();
        if let Some(p) = plain.and_then(|p| self.str(p)) {
            t.set("fi", &p);
        }
        t
    }
}

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

fn build(t: Tables, mut issues: Vec<ImportIssue>) -> Result<Vec<Directory>, Vec<ImportIssue>> {
    let mut docs: BTreeMap<String, Directory> = BTreeMap::new();
    let doc_for = |docs: &mut BTreeMap<String, Directory>, key: &str| -> Result<(), String> {
        if !docs.contains_key(key) {
            let (kind, area) = parse_document_key(key)?;
            docs.insert(key.to_owned(), Directory { kind: Some(kind), area, ..Directory::default() });
        }
        Ok(())
    };
    for (loc, row) in &t.documents {
        let mut f = Fields { loc, row, issues: &mut issues };
        let Some(key) = f.required("id") else { continue };
        let title = f.text(None, "title");
        match doc_for(&mut docs, &key) {
            Ok(()) => {
                if let Some(d) = docs.get_mut(&key) {
                    d.title = title;
                }
            }
            Err(m) => f.problem("id", m),
        }
    }
    let mut org_locs: BTreeMap<String, String> = BTreeMap::new();
    for (loc, row) in &t.organizations {
        let mut f = Fields { loc, row, issues: &mut issues };
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
        match doc_for(&mut docs, &doc) {
            Ok(()) => {
                if let Some(d) = docs.get_mut(&doc) {
                    d.organisations.insert(id, o);
                }
            }
            Err(m) => f.problem("x_contactpoint_document", m),
        }
    }
    let mut services: BTreeMap<String, (String, String, ContactPoint)> = BTreeMap::new();
    for (loc, row) in &t.services {
        let mut f = Fields { loc, row, issues: &mut issues };
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
        if let Err(m) = doc_for(&mut docs, &doc) {
            f.problem("x_contactpoint_document", m);
            continue;
        }
        if services.contains_key(&id) {
            f.problem("id", format!("the id {id} is used by another service"));
            continue;
        }
        services.insert(id, (loc.clone(), doc, c));
    }
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
    child(&t.phones, &mut issues, &mut |f, c| {
        let number = f.required("number").unwrap_or_default();
        let kind = match f.str("type").as_deref() {
            None | Some("voice") => PhoneKind::Voice,
            Some("text") => PhoneKind::Sms,
            Some(other) => PhoneKind::Other(other.to_owned()),
        };
        c.phones.push(Phone { number, kind, description: f.text(Some("description"), "description") });
    });
    child(&t.schedules, &mut issues, &mut |f, c| {
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
    child(&t.service_areas, &mut issues, &mut |f, c| {
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
    child(&t.languages, &mut issues, &mut |f, c| {
        if let Some(code) = f.required("code") {
            c.languages.push(code);
        }
    });
    child(&t.contacts, &mut issues, &mut |f, c| {
        if let Some(name) = f.required("name") {
            c.contact_person = Some(name);
        }
    });
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
