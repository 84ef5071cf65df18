//! HSDS export: documents to the flat tables (`tables_from`), then to JSON with each service's
//! sub-records nested in it, or to the CSV datapackage.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::csv::write_csv;
use super::tables::{Row, Table, Tables};
use super::{EXT, document_key};
use crate::area::Area;
use crate::ids::stable_id;
use crate::model::{ContactPoint, Directory, DocumentKind, OrganisationKind, PhoneKind, Visibility, Weekday};
use crate::text::LocalizedText;

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
        t.rows_mut(Table::Documents).push((String::new(), row));
        for o in d.organisations.values() {
            let mut row = Row::new();
            row.insert("id".into(), Value::String(o.id.clone()));
            put_text(&mut row, Some("name"), "name", &o.name);
            put_text(&mut row, Some("description"), "description", &o.description);
            put(&mut row, "website", o.website.as_deref());
            put(&mut row, "x_contactpoint_document", Some(&key));
            put(&mut row, "x_contactpoint_kind", o.kind.as_ref().map(OrganisationKind::as_str));
            row.insert("x_contactpoint_example".into(), Value::Bool(o.example));
            t.rows_mut(Table::Organizations).push((String::new(), row));
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
    t.rows_mut(Table::Services).push((String::new(), row));
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
        t.rows_mut(Table::Phones).push((String::new(), r));
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
        t.rows_mut(Table::Schedules).push((String::new(), r));
    }
    let areas: Vec<String> = c.areas.iter().map(Area::to_string).chain(c.unparsed_areas.iter().cloned()).collect();
    for (i, a) in areas.iter().enumerate() {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("service_area", i)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        let name = a.parse::<Area>().map(|a| a.name("fi")).unwrap_or_else(|_| a.clone());
        put(&mut r, "name", Some(&name));
        put(&mut r, "x_contactpoint_area", Some(a));
        t.rows_mut(Table::ServiceAreas).push((String::new(), r));
    }
    for (i, l) in c.languages.iter().enumerate() {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("language", i)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        put(&mut r, "code", Some(l));
        t.rows_mut(Table::Languages).push((String::new(), r));
    }
    if let Some(p) = &c.contact_person {
        let mut r = Row::new();
        r.insert("id".into(), Value::String(sub("contact", 0)));
        r.insert("service_id".into(), Value::String(c.id.clone()));
        put(&mut r, "name", Some(p));
        t.rows_mut(Table::Contacts).push((String::new(), r));
    }
}

/// Exports documents as HSDS JSON: `organizations` and `services` (with nested `phones`,
/// `schedules`, `service_areas`, `languages`, `contacts`), plus `x_contactpoint_documents`.
pub fn export_json(docs: &[Directory]) -> String {
    let t = tables_from(docs);
    let mut children: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for table in Table::CHILDREN {
        let name = table.name();
        for (_, r) in t.rows(table) {
            let sid = r.get("service_id").and_then(Value::as_str).unwrap_or_default().to_owned();
            let entry = children.entry(sid).or_default();
            if let Value::Array(list) = entry.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
                list.push(Value::Object(r.clone()));
            }
        }
    }
    let mut t = t;
    let services: Vec<Value> = t
        .take(Table::Services)
        .into_iter()
        .map(|(_, mut r)| {
            let id = r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            for name in Table::CHILDREN.map(Table::name) {
                let list = children.get_mut(&id).and_then(|c| c.remove(name)).unwrap_or(Value::Array(Vec::new()));
                r.insert(name.to_owned(), list);
            }
            Value::Object(r)
        })
        .collect();
    let out = json!({
        "x_contactpoint_format": "contactpoint-hsds-3.0/1",
        "x_contactpoint_documents": t.take(Table::Documents).into_iter().map(|(_, r)| Value::Object(r)).collect::<Vec<_>>(),
        "organizations": t.take(Table::Organizations).into_iter().map(|(_, r)| Value::Object(r)).collect::<Vec<_>>(),
        "services": services,
    });
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

/// Exports documents as the HSDS tabular datapackage: file name → contents, including
/// `datapackage.json`.
pub fn export_datapackage(docs: &[Directory]) -> BTreeMap<String, String> {
    let t = tables_from(docs);
    let mut files = BTreeMap::new();
    let mut resources = Vec::new();
    for table in Table::ALL {
        let (name, columns) = (table.name(), table.columns());
        files.insert(format!("{name}.csv"), write_csv(columns, t.rows(table)));
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
