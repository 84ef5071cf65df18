//! Lists that come from the catalogue and the compiled-in localities rather than from a
//! directory: the documents an index lists, and municipalities by name or code.

use contactpoint_directory::model::DocumentKind;
use contactpoint_directory::store::read_index;
use contactpoint_directory::{Localities, search_municipalities};
use contactpoint_protocol::automerge::Automerge;
use serde::Serialize;

/// The ids of the documents listed in an index document (other than the index itself).
pub fn document_ids(index: &Automerge) -> Vec<String> {
    read_index(index)
        .map(|i| i.documents.into_values().filter(|e| e.kind != DocumentKind::Index).map(|e| e.id).collect())
        .unwrap_or_default()
}

/// The ids of the national documents an index document lists: all the home screen needs, so a
/// cold start opens them first and the area documents after the first paint.
pub fn national_document_ids(index: &Automerge) -> Vec<String> {
    read_index(index)
        .map(|i| i.documents.into_values().filter(|e| e.kind == DocumentKind::National).map(|e| e.id).collect())
        .unwrap_or_default()
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct MunicipalityView {
    code: String,
    name: String,
    other_name: Option<String>,
    police_unverified: bool,
}

fn municipality_view(m: &contactpoint_directory::Municipality, lang: &str) -> MunicipalityView {
    let (name, other) = match lang {
        "sv" => (&m.name_sv, &m.name_fi),
        _ => (&m.name_fi, &m.name_sv),
    };
    MunicipalityView {
        code: m.code.clone(),
        name: name.clone(),
        other_name: (other != name).then(|| other.clone()),
        police_unverified: m.police_department_confidence == "unverified",
    }
}

/// Municipalities matching a query by Finnish or Swedish name, as JSON (all of them, sorted by
/// name, for an empty query).
pub fn municipalities(query: &str, lang: &str) -> String {
    let list: Vec<MunicipalityView> = if query.trim().is_empty() {
        let mut all: Vec<_> = Localities::get().municipalities.iter().map(|m| municipality_view(m, lang)).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    } else {
        search_municipalities(query, 30).into_iter().map(|m| municipality_view(m, lang)).collect()
    };
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// One municipality by code, as JSON (`null` if unknown).
pub fn municipality(code: &str, lang: &str) -> String {
    Localities::get()
        .municipality(code)
        .map(|m| serde_json::to_string(&municipality_view(m, lang)).unwrap_or_default())
        .unwrap_or_else(|| "null".into())
}
