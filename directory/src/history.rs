//! An entry's past and its open conflicts, read from the Automerge document itself: which change
//! set which field to what, which fields hold concurrent values, and writing one value back.
//!
//! Fields are named by [`FieldPath`]s inside the contact point, written as validation writes
//! them: `email`, `name.fi`, `phones[0].number`. Values are shown as strings; anything that is not a string (a number, a
//! flag, an object) is rendered so a person can tell the difference.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::Serialize;

use crate::path::{FieldPath, Segment};
use crate::store::StoreError;

/// The fields of one contact point, flattened to `path → value`.
pub type Fields = BTreeMap<FieldPath, String>;

/// One value of a field as a person is shown it: text (a number or flag written so that it
/// can be told from text), or a nested map or list, which is shown as such and never written
/// back. Serialised with its `kind`: `{"kind": "text", "text": "…"}`, `{"kind": "map"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum FieldValue {
    /// A value that is not an object.
    Text(String),
    /// A nested map.
    Map,
    /// A nested list.
    List,
}

impl FieldValue {
    /// The text, unless the value is an object.
    pub fn text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(t) => Some(t),
            FieldValue::Map | FieldValue::List => None,
        }
    }
}

/// A field that editors changed concurrently: every value it holds now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The field's path.
    pub field: FieldPath,
    /// The values, the one shown by default first.
    pub values: Vec<FieldValue>,
}

/// One field's change within one Automerge change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field's path.
    pub field: FieldPath,
    /// The value before (`None`: the field did not exist).
    pub before: Option<String>,
    /// The value after (`None`: the field was removed).
    pub after: Option<String>,
}

/// One change that altered the contact point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The change's hash (hex), the key the relay records its authenticated author under.
    pub hash: String,
    /// When the writer's device says it made the change (seconds since 1970, as Automerge's
    /// JavaScript library records it; 0 when unknown).
    pub time: i64,
    /// The change's message: who the writer's device says made it. Not authenticated.
    pub message: Option<String>,
    /// What it changed in this contact point.
    pub changes: Vec<FieldChange>,
}

fn render<D: ReadDoc>(doc: &D, v: &Value<'_>, id: &ObjId) -> FieldValue {
    match v {
        Value::Scalar(s) => FieldValue::Text(match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            ScalarValue::Null => "null".into(),
            other => other.to_string(),
        }),
        Value::Object(ObjType::Text) => FieldValue::Text(doc.text(id).unwrap_or_default()),
        Value::Object(ObjType::List) => FieldValue::List,
        Value::Object(ObjType::Map | ObjType::Table) => FieldValue::Map,
    }
}

fn contact_obj<D: ReadDoc>(doc: &D, contact_id: &str) -> Option<ObjId> {
    let points = match doc.get(ROOT, "contact_points").ok().flatten()? {
        (Value::Object(ObjType::Map), id) => id,
        _ => return None,
    };
    match doc.get(&points, contact_id).ok().flatten()? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// Children of a map or list as `(step, values)`, the value shown by default first.
fn children<'a, D: ReadDoc>(doc: &'a D, obj: &ObjId) -> Vec<(Segment, Vec<(Value<'a>, ObjId)>)> {
    let winner_first = |mut all: Vec<(Value<'a>, ObjId)>, shown: Option<(Value<'a>, ObjId)>| {
        if let Some((_, id)) = shown
            && let Some(i) = all.iter().position(|(_, o)| *o == id)
        {
            let w = all.remove(i);
            all.insert(0, w);
        }
        all
    };
    match doc.object_type(obj) {
        Ok(ObjType::Map) => doc
            .keys(obj)
            .map(|k| {
                let all = doc.get_all(obj, k.as_str()).unwrap_or_default();
                let shown = doc.get(obj, k.as_str()).ok().flatten();
                (Segment::Key(k), winner_first(all, shown))
            })
            .collect(),
        Ok(ObjType::List) => (0..doc.length(obj))
            .map(|i| {
                let all = doc.get_all(obj, i).unwrap_or_default();
                (Segment::Index(i), winner_first(all, doc.get(obj, i).ok().flatten()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn walk<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prefix: &FieldPath,
    visit: &mut impl FnMut(FieldPath, &[(Value<'_>, ObjId)]),
) {
    for (step, values) in children(doc, obj) {
        let mut path = prefix.clone();
        path.push(step);
        visit(path.clone(), &values);
        if let Some((Value::Object(ObjType::Map | ObjType::List), id)) = values.first() {
            walk(doc, id, &path, visit);
        }
    }
}

/// The contact point's fields as `path → value` (the value shown by default where a field is in
/// conflict). Empty when the document has no such contact point.
pub fn contact_fields<D: ReadDoc>(doc: &D, contact_id: &str) -> Fields {
    let mut out = Fields::new();
    if let Some(obj) = contact_obj(doc, contact_id) {
        walk(doc, &obj, &FieldPath::root(), &mut |path, values| {
            if let Some((v, id)) = values.first()
                && let FieldValue::Text(text) = render(doc, v, id)
            {
                out.insert(path, text);
            }
        });
    }
    out
}

/// Every field of the contact point that holds more than one value because editors changed it
/// concurrently. Automerge shows one of them by default (the same on every replica); writing any
/// value to the field ends the conflict everywhere.
pub fn contact_conflicts<D: ReadDoc>(doc: &D, contact_id: &str) -> Vec<Conflict> {
    let mut out = Vec::new();
    if let Some(obj) = contact_obj(doc, contact_id) {
        walk(doc, &obj, &FieldPath::root(), &mut |field, values| {
            if values.len() > 1 {
                let mut v: Vec<FieldValue> = values.iter().map(|(v, id)| render(doc, v, id)).collect();
                v.dedup();
                out.push(Conflict { field, values: v });
            }
        });
    }
    out
}

fn diff(before: &Fields, after: &Fields) -> Vec<FieldChange> {
    let mut keys: Vec<&FieldPath> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| FieldChange { field: k.clone(), before: before.get(k).cloned(), after: after.get(k).cloned() })
        .collect()
}

/// The changes that altered the contact point, oldest first, with what each one changed.
///
/// The document's changes are replayed in causal order into a scratch copy and the contact is
/// read after each one, so the cost grows with the document's history, not with how many
/// entries are shown. Concurrent changes appear one after the other, each with the state that
/// merging it produced.
pub fn contact_history(doc: &Automerge, contact_id: &str) -> Vec<HistoryEntry> {
    let mut scratch = Automerge::new();
    let mut before = Fields::new();
    let mut out = Vec::new();
    for change in doc.get_changes(&[]) {
        let hash = change.hash();
        let time = change.timestamp();
        let message = change.message().map(str::to_owned);
        if scratch.apply_changes([change.clone()]).is_err() {
            // A copy of our own document's changes always applies; stop rather than guess.
            break;
        }
        let after = contact_fields(&scratch, contact_id);
        let changes = diff(&before, &after);
        if !changes.is_empty() {
            out.push(HistoryEntry { hash: hash.to_string(), time, message, changes });
        }
        before = after;
    }
    out
}

/// Writes one field of a contact point (`None` removes it). Writing ends any conflict on the
/// field, even when the value is the one already shown. Intermediate steps must exist.
pub fn set_contact_field<T: Transactable>(
    tx: &mut T,
    contact_id: &str,
    field: &FieldPath,
    value: Option<&str>,
) -> Result<bool, StoreError> {
    let Some(mut obj) = contact_obj(tx, contact_id) else { return Ok(false) };
    let Some((last, path)) = field.segments().split_last() else { return Ok(false) };
    let is_list = |tx: &T, o: &ObjId| tx.object_type(o).ok() == Some(ObjType::List);
    let is_map = |tx: &T, o: &ObjId| tx.object_type(o).ok() == Some(ObjType::Map);
    for step in path {
        let next = match step {
            Segment::Index(i) if is_list(tx, &obj) => tx.get(&obj, *i)?,
            Segment::Key(k) if is_map(tx, &obj) => tx.get(&obj, k.as_str())?,
            _ => return Ok(false),
        };
        match next {
            Some((Value::Object(ObjType::Map | ObjType::List), id)) => obj = id,
            _ => return Ok(false),
        }
    }
    match (last, value) {
        (Segment::Index(i), Some(v)) if is_list(tx, &obj) => {
            if *i < tx.length(&obj) {
                tx.put(&obj, *i, v)?;
            } else {
                tx.insert(&obj, tx.length(&obj), v)?;
            }
        }
        (Segment::Index(i), None) if is_list(tx, &obj) => {
            if *i < tx.length(&obj) {
                tx.delete(&obj, *i)?;
            }
        }
        (Segment::Key(k), Some(v)) if is_map(tx, &obj) => tx.put(&obj, k.as_str(), v)?,
        (Segment::Key(k), None) if is_map(tx, &obj) => {
            if tx.get(&obj, k.as_str())?.is_some() {
                tx.delete(&obj, k.as_str())?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::CommitOptions;

    fn doc_with_contact() -> Automerge {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        let points = tx.put_object(ROOT, "contact_points", ObjType::Map).unwrap();
        let c = tx.put_object(&points, "c1", ObjType::Map).unwrap();
        tx.put(&c, "email", "a@example.fi").unwrap();
        let name = tx.put_object(&c, "name", ObjType::Map).unwrap();
        tx.put(&name, "fi", "Nuorisotyö").unwrap();
        let phones = tx.put_object(&c, "phones", ObjType::List).unwrap();
        let p = tx.insert_object(&phones, 0, ObjType::Map).unwrap();
        tx.put(&p, "number", "+358 9 000 0001").unwrap();
        tx.commit_with(CommitOptions::default().with_message("Seed").with_time(1));
        d
    }

    fn p(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    fn set(d: &mut Automerge, field: &str, value: Option<&str>, who: &str, time: i64) {
        let mut tx = d.transaction();
        assert!(set_contact_field(&mut tx, "c1", &p(field), value).unwrap());
        tx.commit_with(CommitOptions::default().with_message(who).with_time(time));
    }

    #[test]
    fn history_lists_each_change_with_before_and_after() {
        let mut d = doc_with_contact();
        set(&mut d, "phones[0].number", Some("+358 9 000 0002"), "Editor A", 2);
        set(&mut d, "email", None, "Editor B", 3);
        // A change elsewhere in the document is not part of this entry's history.
        let mut tx = d.transaction();
        tx.put(ROOT, "title", "x").unwrap();
        tx.commit();
        let h = contact_history(&d, "c1");
        assert_eq!(h.len(), 3, "{h:#?}");
        assert_eq!(h[0].message.as_deref(), Some("Seed"));
        assert_eq!(
            h[1].changes,
            vec![FieldChange {
                field: p("phones[0].number"),
                before: Some("+358 9 000 0001".into()),
                after: Some("+358 9 000 0002".into()),
            }]
        );
        assert_eq!((h[1].time, h[1].message.as_deref()), (2, Some("Editor A")));
        assert_eq!(h[2].changes[0].after, None);
        assert!(contact_history(&d, "nobody").is_empty());
    }

    #[test]
    fn concurrent_edits_show_as_a_conflict_until_one_value_is_written() {
        let mut a = doc_with_contact();
        let mut b = a.fork();
        set(&mut a, "phones[0].number", Some("+358 9 000 0002"), "A", 2_000);
        set(&mut b, "phones[0].number", Some("+358 9 000 0003"), "B", 2_000);
        set(&mut b, "name.fi", Some("Nuorisotyö B"), "B", 2_000);
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let ca = contact_conflicts(&a, "c1");
        assert_eq!(ca, contact_conflicts(&b, "c1"), "both replicas see the same conflict");
        assert_eq!(ca.len(), 1, "{ca:?}");
        assert_eq!(ca[0].field, "phones[0].number");
        let mut values: Vec<&str> = ca[0].values.iter().filter_map(FieldValue::text).collect();
        assert_eq!(values[0], contact_fields(&a, "c1")[&p("phones[0].number")], "the shown value comes first");
        values.sort();
        assert_eq!(values, ["+358 9 000 0002", "+358 9 000 0003"]);
        // Keeping the value already shown still ends the conflict.
        let shown = ca[0].values[0].text().unwrap().to_owned();
        set(&mut a, "phones[0].number", Some(&shown), "A", 3_000);
        b.merge(&mut a).unwrap();
        assert!(contact_conflicts(&a, "c1").is_empty());
        assert!(contact_conflicts(&b, "c1").is_empty());
        assert_eq!(contact_fields(&b, "c1")[&p("phones[0].number")], shown);
    }

    #[test]
    fn a_value_says_its_kind_and_a_nested_object_is_no_text() {
        let json = |v: FieldValue| serde_json::to_value(v).unwrap();
        assert_eq!(json(FieldValue::Text("{map}".into())), serde_json::json!({"kind": "text", "text": "{map}"}));
        assert_eq!(json(FieldValue::Map), serde_json::json!({"kind": "map"}));
        assert_eq!(json(FieldValue::List), serde_json::json!({"kind": "list"}));
        // Concurrent values of which one is a nested map: the map is a kind, not a string.
        let mut a = doc_with_contact();
        let mut b = a.fork();
        set(&mut a, "email", Some("b@example.fi"), "A", 2);
        let mut tx = b.transaction();
        let c = contact_obj(&tx, "c1").unwrap();
        tx.put_object(&c, "email", ObjType::Map).unwrap();
        tx.commit();
        a.merge(&mut b).unwrap();
        let open = contact_conflicts(&a, "c1");
        assert_eq!(open.len(), 1, "{open:?}");
        let mut values = open[0].values.clone();
        values.sort_by_key(|v| v.text().is_none());
        assert_eq!(values, [FieldValue::Text("b@example.fi".into()), FieldValue::Map]);
    }

    #[test]
    fn setting_a_missing_path_changes_nothing() {
        let mut d = doc_with_contact();
        let mut tx = d.transaction();
        assert!(!set_contact_field(&mut tx, "c1", &p("schedules[0].opens"), Some("08:00")).unwrap());
        assert!(!set_contact_field(&mut tx, "nobody", &p("email"), Some("x@example.fi")).unwrap());
        tx.commit();
        assert_eq!(contact_fields(&d, "c1").len(), 3);
    }
}
