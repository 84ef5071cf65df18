//! HSDS import: JSON (sub-records nested in services, or flat) and the CSV datapackage read into
//! the flat tables, which `build` turns into documents. Nothing is written here.

use std::collections::BTreeMap;

use serde_json::Value;

use super::ImportIssue;
use super::build::build;
use super::csv::parse_csv;
use super::tables::{Row, Table, Tables};
use crate::model::Directory;

/// Reads HSDS JSON (as written by [`export_json`](super::export_json), or plain HSDS with `x_contactpoint_document`
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
    t.rows_mut(Table::Documents).extend(list(Table::Documents.name(), &mut issues));
    t.rows_mut(Table::Organizations).extend(list(Table::Organizations.name(), &mut issues));
    let services = list(Table::Services.name(), &mut issues);
    for (loc, mut row) in services {
        let sid = row.get("id").cloned();
        for table in Table::CHILDREN {
            let name = table.name();
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
                                t.rows_mut(table).push((sub_loc, r));
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
        t.rows_mut(Table::Services).push((loc, row));
    }
    // Top-level sub-record lists are accepted too, as some HSDS producers write them flat.
    for table in Table::CHILDREN {
        let rows = list(table.name(), &mut issues);
        t.rows_mut(table).extend(rows);
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
    for table in Table::ALL {
        let file = format!("{}.csv", table.name());
        let Some(text) = files.get(&file) else {
            if matches!(table, Table::Organizations | Table::Services) {
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
                    t.rows_mut(table).push((loc, row));
                }
            }
        }
    }
    build(t, issues)
}
