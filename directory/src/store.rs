//! Typed reading and writing of directory, guidance and index documents over Automerge.
//!
//! # Layout
//! Every document has a root map with `schema` (`"contactpoint"`), `schema_version`, `kind`
//! (`index`, `national` or `area`) and, for area documents, `area` (`municipality:091`).
//! Directory documents hold `title`, and `organisations`, `contact_points` and `cards` as maps
//! keyed by id, each entry a map of fields. Keeping every record a map of its own (not one big
//! value) means two editors changing different fields of the same contact point merge cleanly,
//! and two editors changing the same field leave an Automerge conflict that
//! [`crate::history::contact_conflicts`] shows.
//! Multilingual text is a map `lang -> string`; sets of codes are lists of strings; phones,
//! schedules, answers and steps are lists of maps. The index holds `documents`, a map keyed by
//! document id. A retired contact point carries `retired` (the date, `YYYY-MM-DD`); without the
//! key it is in use, so documents written before retirement existed read as they did.
//!
//! # Reading is tolerant
//! Readers ignore keys they do not know and treat missing optional fields as absent, so a document
//! written by a newer or older version still reads. Only structural damage that makes a record
//! unusable (a contact point that is not a map) is skipped; [`crate::validate::validate_document`]
//! reports it.
//!
//! # Writing reconciles
//! Writers compare with what is stored and write only what differs, and they never delete keys
//! they do not know. Writing back an unchanged record therefore produces no operations, and
//! rewriting a record after changing one field touches only that field.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, ValueRef};

use crate::area::Area;
use crate::model::{
    Answer, CardStatus, ContactPoint, Directory, DocumentKind, GuidanceCard, Index, IndexEntry, Node, Organisation,
    OrganisationKind, Phone, PhoneKind, Schedule, ScheduleKind, Step, StepKind, Urgency, Visibility, Weekday,
};
use crate::text::LocalizedText;

/// The value of the root `schema` key.
pub const SCHEMA: &str = "contactpoint";
/// The layout version written by this code.
pub const SCHEMA_VERSION: u64 = 1;

/// Why a document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Automerge refused an operation.
    #[error("automerge operation failed: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// The root says the document is of another kind than the caller expected.
    #[error("expected a {expected} document but its kind is \"{}\"", found.escape_debug())]
    WrongKind {
        /// What the caller asked for.
        expected: &'static str,
        /// What the root `kind` says (empty when missing).
        found: String,
    },
}

/// A map's entries, in key order, as one pass over the map gives them.
type Fields<'a> = Vec<(String, Value<'a>, ObjId)>;

/// A map or list object inside a document, for reading.
///
/// A map's fields are read in one pass the first time one is asked for: Automerge searches the
/// document for each key looked up on its own, which made reading a directory cost about half a
/// millisecond per contact point, and the relay's check of every write with it.
struct Obj<'a, D: ReadDoc> {
    doc: &'a D,
    id: ObjId,
    /// The fields, and whether they are in key order.
    fields: std::cell::OnceCell<(Fields<'a>, bool)>,
}

impl<'a, D: ReadDoc> Obj<'a, D> {
    fn root(doc: &'a D) -> Self {
        Obj { doc, id: ROOT, fields: std::cell::OnceCell::new() }
    }

    fn child(&self, id: ObjId) -> Self {
        Obj { doc: self.doc, id, fields: std::cell::OnceCell::new() }
    }

    fn fields(&self) -> &(Fields<'a>, bool) {
        self.fields.get_or_init(|| {
            let fields: Fields<'a> = self
                .doc
                .map_range(&self.id, ..)
                .map(|item| (item.key.to_string(), item.value.clone().into_value(), item.id()))
                .collect();
            // Automerge gives a map's keys in order; lookups rely on it only where it holds (a
            // sort here would cost the app's download more than this check).
            let sorted = fields.windows(2).all(|w| w[0].0 <= w[1].0);
            (fields, sorted)
        })
    }

    fn get(&self, key: &str) -> Option<(Value<'a>, ObjId)> {
        let (fields, sorted) = self.fields();
        let i = if *sorted {
            fields.binary_search_by(|(k, _, _)| k.as_str().cmp(key)).ok()?
        } else {
            fields.iter().position(|(k, _, _)| k == key)?
        };
        let (_, value, id) = &fields[i];
        Some((value.clone(), id.clone()))
    }

    fn str(&self, key: &str) -> Option<String> {
        value_to_string(self.doc, self.get(key)?)
    }

    fn non_empty(&self, key: &str) -> Option<String> {
        self.str(key).filter(|s| !s.trim().is_empty())
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
    }

    fn object(&self, key: &str, ty: ObjType) -> Option<Self> {
        match self.get(key)? {
            (Value::Object(t), id) if t == ty => Some(self.child(id)),
            _ => None,
        }
    }

    fn map(&self, key: &str) -> Option<Self> {
        self.object(key, ObjType::Map)
    }

    fn keys(&self) -> Vec<String> {
        self.fields().0.iter().map(|(k, _, _)| k.clone()).collect()
    }

    fn items(&self) -> Vec<(Value<'a>, ObjId)> {
        // One pass: a lookup per index would search the list again each time.
        self.doc.list_range(&self.id, ..).map(|item| (item.value.clone().into_value(), item.id())).collect()
    }

    fn list_maps(&self, key: &str) -> Vec<Self> {
        let Some(list) = self.object(key, ObjType::List) else { return Vec::new() };
        list.items()
            .into_iter()
            .filter_map(|(v, id)| matches!(v, Value::Object(ObjType::Map)).then(|| self.child(id)))
            .collect()
    }

    fn strings(&self, key: &str) -> Vec<String> {
        let Some(list) = self.object(key, ObjType::List) else { return Vec::new() };
        list.items().into_iter().filter_map(|v| value_to_string(self.doc, v)).collect()
    }

    fn localized(&self, key: &str) -> LocalizedText {
        let mut t = LocalizedText::new();
        if let Some(m) = self.map(key) {
            for lang in m.keys() {
                if let Some(s) = m.str(&lang) {
                    t.0.insert(lang, s);
                }
            }
        }
        t
    }

    fn localized_list(&self, key: &str) -> Vec<LocalizedText> {
        let Some(list) = self.object(key, ObjType::List) else { return Vec::new() };
        list.items()
            .into_iter()
            .filter_map(|(v, id)| {
                matches!(v, Value::Object(ObjType::Map)).then(|| {
                    let m = self.child(id);
                    let mut t = LocalizedText::new();
                    for lang in m.keys() {
                        if let Some(s) = m.str(&lang) {
                            t.0.insert(lang, s);
                        }
                    }
                    t
                })
            })
            .collect()
    }

    /// Maps of a keyed collection, with their keys.
    fn entries(&self, key: &str) -> Vec<(String, Self)> {
        let Some(m) = self.map(key) else { return Vec::new() };
        // One pass over the collection (thousands of entries): a lookup per key would search
        // the map again for each of them.
        self.doc
            .map_range(&m.id, ..)
            .filter(|item| matches!(item.value, ValueRef::Object(ObjType::Map)))
            .map(|item| (item.key.to_string(), self.child(item.id())))
            .collect()
    }
}

fn value_to_string<D: ReadDoc>(doc: &D, (v, id): (Value<'_>, ObjId)) -> Option<String> {
    match v {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        // A text object is accepted too, in case another client stores collaborative text.
        Value::Object(ObjType::Text) => doc.text(&id).ok(),
        Value::Object(_) => None,
    }
}

/// The root `kind` of a document, if it has one.
pub fn document_kind(doc: &impl ReadDoc) -> Option<DocumentKind> {
    Obj::root(doc).str("kind").map(|k| DocumentKind::parse(&k))
}

/// Reads a `national` or area document.
pub fn read_directory(doc: &impl ReadDoc) -> Result<Directory, StoreError> {
    let root = Obj::root(doc);
    let kind = root.str("kind").map(|k| DocumentKind::parse(&k));
    if kind == Some(DocumentKind::Index) {
        return Err(StoreError::WrongKind { expected: "directory", found: "index".into() });
    }
    let (area, unparsed_area) = match root.non_empty("area") {
        Some(a) => match a.parse::<Area>() {
            Ok(area) => (Some(area), None),
            Err(_) => (None, Some(a)),
        },
        None => (None, None),
    };
    let mut d = Directory { kind, area, unparsed_area, title: root.localized("title"), ..Directory::default() };
    for (id, o) in root.entries("organisations") {
        d.organisations.insert(id.clone(), read_organisation(&o, id));
    }
    for (id, o) in root.entries("contact_points") {
        d.contact_points.insert(id.clone(), read_contact(&o, id));
    }
    for (id, o) in root.entries("cards") {
        d.cards.insert(id.clone(), read_card(&o, id));
    }
    Ok(d)
}

/// Reads one contact point by id, if present.
pub fn read_contact_point(doc: &impl ReadDoc, id: &str) -> Option<ContactPoint> {
    let cps = Obj::root(doc).map("contact_points")?;
    cps.map(id).map(|o| read_contact(&o, id.to_owned()))
}

fn read_organisation<D: ReadDoc>(o: &Obj<'_, D>, id: String) -> Organisation {
    Organisation {
        id,
        name: o.localized("name"),
        description: o.localized("description"),
        website: o.non_empty("website"),
        kind: o.non_empty("kind").map(|k| OrganisationKind::parse(&k)),
        example: o.bool("example"),
    }
}

fn read_contact<D: ReadDoc>(o: &Obj<'_, D>, id: String) -> ContactPoint {
    let mut areas = Vec::new();
    let mut unparsed_areas = Vec::new();
    for a in o.strings("areas") {
        match a.parse::<Area>() {
            Ok(area) => areas.push(area),
            Err(_) => unparsed_areas.push(a),
        }
    }
    ContactPoint {
        id,
        organisation_id: o.non_empty("organisation_id"),
        name: o.localized("name"),
        description: o.localized("description"),
        roles: o.strings("roles"),
        phones: o
            .list_maps("phones")
            .iter()
            .map(|p| Phone {
                number: p.str("number").unwrap_or_default(),
                kind: p.non_empty("kind").map(|k| PhoneKind::parse(&k)).unwrap_or(PhoneKind::Voice),
                description: p.localized("description"),
            })
            .collect(),
        email: o.non_empty("email"),
        url: o.non_empty("url"),
        chat_url: o.non_empty("chat_url"),
        schedules: o
            .list_maps("schedules")
            .iter()
            .map(|s| Schedule {
                kind: s.non_empty("kind").map(|k| ScheduleKind::parse(&k)).unwrap_or(ScheduleKind::Regular),
                byday: s.strings("byday").iter().map(|d| Weekday::parse(d)).collect(),
                opens_at: s.non_empty("opens_at"),
                closes_at: s.non_empty("closes_at"),
                description: s.localized("description"),
            })
            .collect(),
        hours_note: o.localized("hours_note"),
        languages: o.strings("languages"),
        audiences: o.strings("audiences"),
        areas,
        unparsed_areas,
        visibility: o.non_empty("visibility").map(|v| Visibility::parse(&v)),
        verified_at: o.non_empty("verified_at"),
        verified_by: o.non_empty("verified_by"),
        example: o.bool("example"),
        contact_person: o.non_empty("contact_person"),
        review_by: o.non_empty("review_by"),
        retired: o.non_empty("retired"),
    }
}

fn read_card<D: ReadDoc>(o: &Obj<'_, D>, id: String) -> GuidanceCard {
    let mut nodes = std::collections::BTreeMap::new();
    for (node_id, n) in o.entries("nodes") {
        let node = match n.str("type").as_deref() {
            Some("question") => Node::Question {
                text: n.localized("text"),
                help: n.localized("help"),
                answers: n
                    .list_maps("answers")
                    .iter()
                    .map(|a| Answer {
                        text: a.localized("text"),
                        next: a.str("next").unwrap_or_default(),
                        danger_now: a.bool("danger_now"),
                    })
                    .collect(),
            },
            _ => Node::Steps {
                urgency: n.non_empty("urgency").map(|u| Urgency::parse(&u)).unwrap_or(Urgency::Other(String::new())),
                heading: n.localized("heading"),
                steps: n
                    .list_maps("steps")
                    .iter()
                    .map(|s| Step {
                        id: s.str("id").unwrap_or_default(),
                        kind: StepKind::parse(&s.str("kind").unwrap_or_default()),
                        text: s.localized("text"),
                        roles: s.strings("roles"),
                        legal_basis: s.non_empty("legal_basis"),
                        locked: s.bool("locked"),
                    })
                    .collect(),
            },
        };
        nodes.insert(node_id, node);
    }
    GuidanceCard {
        id,
        slug: o.str("slug").unwrap_or_default(),
        status: o.non_empty("status").map(|s| CardStatus::parse(&s)).unwrap_or(CardStatus::Draft),
        audiences: o.strings("audiences"),
        topics: o.strings("topics"),
        title: o.localized("title"),
        summary: o.localized("summary"),
        start: o.str("start").unwrap_or_default(),
        nodes,
        do_not: o.localized_list("do_not"),
        sources: o.strings("sources"),
        last_reviewed: o.non_empty("last_reviewed"),
        next_review_due: o.non_empty("next_review_due"),
        overrides: o.non_empty("overrides"),
    }
}

/// Reads the `index` document.
pub fn read_index(doc: &impl ReadDoc) -> Result<Index, StoreError> {
    let root = Obj::root(doc);
    match root.str("kind").map(|k| DocumentKind::parse(&k)) {
        Some(DocumentKind::Index) | None => {}
        Some(other) => return Err(StoreError::WrongKind { expected: "index", found: other.as_str().to_owned() }),
    }
    let mut index = Index::default();
    for (id, e) in root.entries("documents") {
        let entry = IndexEntry {
            id: id.clone(),
            kind: DocumentKind::parse(&e.str("kind").unwrap_or_default()),
            area: e.non_empty("area").and_then(|a| a.parse().ok()),
            title: e.localized("title"),
        };
        index.documents.insert(id, entry);
    }
    Ok(index)
}

/// The documents that replaced others, from the `index` document: each replaced id with the id
/// of the catalogued document that now holds its content. A document rotated for erasure gets a
/// new id; its catalogue entry lists the ids it replaces (`replaces`, the older ones too when it
/// was rotated more than once), so that a device holding an old copy knows where its content went.
pub fn read_replacements(doc: &impl ReadDoc) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for (id, e) in Obj::root(doc).entries("documents") {
        for old in e.strings("replaces") {
            out.insert(old, id.clone());
        }
    }
    out
}

/// Moves the `index` catalogue entry `old` to `new` (same kind, area and title), recording in
/// the new entry that it replaces `old` and whatever `old` replaced. Returns false when the index
/// has no entry `old`.
pub fn replace_index_entry<T: Transactable>(tx: &mut T, old: &str, new: &str) -> Result<bool, StoreError> {
    let mut index = read_index(&*tx)?;
    let Some(mut entry) = index.documents.remove(old) else { return Ok(false) };
    let mut replaces =
        Obj::root(&*tx).map("documents").and_then(|d| d.map(old)).map(|e| e.strings("replaces")).unwrap_or_default();
    replaces.push(old.to_owned());
    entry.id = new.to_owned();
    index.documents.insert(new.to_owned(), entry);
    write_index(tx, &index)?;
    let docs = ensure_object(tx, &ROOT, "documents", ObjType::Map)?;
    let item = ensure_object(tx, &docs, new, ObjType::Map)?;
    put_strings(tx, &item, "replaces", &replaces)?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

type W = Result<(), StoreError>;

fn current_str<T: Transactable>(tx: &T, obj: &ObjId, key: &str) -> Option<String> {
    tx.get(obj, key).ok().flatten().and_then(|v| value_to_string(tx, v))
}

/// Writes a string unless it is already stored (and not in conflict, so a write resolves it).
fn put_str<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, value: &str) -> W {
    let unchanged = current_str(tx, obj, key).as_deref() == Some(value) && tx.get_all(obj, key)?.len() == 1;
    if !unchanged {
        tx.put(obj, key, value)?;
    }
    Ok(())
}

fn put_opt_str<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, value: Option<&str>) -> W {
    match value {
        Some(v) => put_str(tx, obj, key, v),
        None => delete_key(tx, obj, key),
    }
}

fn delete_key<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str) -> W {
    if tx.get(obj, key)?.is_some() {
        tx.delete(obj, key)?;
    }
    Ok(())
}

fn put_bool<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, value: bool) -> W {
    let current =
        matches!(tx.get(obj, key)?, Some((Value::Scalar(s), _)) if s.as_ref() == &ScalarValue::Boolean(value));
    if !current || tx.get_all(obj, key)?.len() > 1 {
        tx.put(obj, key, value)?;
    }
    Ok(())
}

/// The object of type `ty` at `key`, created (replacing any other value) when missing.
fn ensure_object<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, ty: ObjType) -> Result<ObjId, StoreError> {
    match tx.get(obj, key)? {
        Some((Value::Object(t), id)) if t == ty => Ok(id),
        _ => Ok(tx.put_object(obj, key, ty)?),
    }
}

fn put_localized<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, text: &LocalizedText) -> W {
    let m = ensure_object(tx, obj, key, ObjType::Map)?;
    write_localized_map(tx, &m, text)
}

fn write_localized_map<T: Transactable>(tx: &mut T, m: &ObjId, text: &LocalizedText) -> W {
    for (lang, s) in text.iter() {
        put_str(tx, m, lang, s)?;
    }
    let stale: Vec<String> = tx.keys(m).filter(|k| !text.0.contains_key(k)).collect();
    for k in stale {
        tx.delete(m, k.as_str())?;
    }
    Ok(())
}

/// Writes a list of strings position by position, so an unchanged list costs nothing.
fn put_strings<T: Transactable>(tx: &mut T, obj: &ObjId, key: &str, values: &[String]) -> W {
    let list = ensure_object(tx, obj, key, ObjType::List)?;
    let len = tx.length(&list);
    for (i, v) in values.iter().enumerate() {
        if i < len {
            let same = tx.get(&list, i)?.and_then(|v| value_to_string(tx, v)).as_deref() == Some(v.as_str());
            if !same {
                tx.put(&list, i, v.as_str())?;
            }
        } else {
            tx.insert(&list, i, v.as_str())?;
        }
    }
    for i in (values.len()..len).rev() {
        tx.delete(&list, i)?;
    }
    Ok(())
}

/// Writes a list of records: the map at each position is reconciled in place by `write`.
fn put_records<T: Transactable, R>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    records: &[R],
    mut write: impl FnMut(&mut T, &ObjId, &R) -> W,
) -> W {
    let list = ensure_object(tx, obj, key, ObjType::List)?;
    let len = tx.length(&list);
    for (i, r) in records.iter().enumerate() {
        let item = if i < len {
            match tx.get(&list, i)? {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => tx.put_object(&list, i, ObjType::Map)?,
            }
        } else {
            tx.insert_object(&list, i, ObjType::Map)?
        };
        write(tx, &item, r)?;
    }
    for i in (records.len()..len).rev() {
        tx.delete(&list, i)?;
    }
    Ok(())
}

/// Writes a keyed collection: maps for every record, deleting records no longer present.
fn put_keyed<T: Transactable, R>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    records: &std::collections::BTreeMap<String, R>,
    mut write: impl FnMut(&mut T, &ObjId, &R) -> W,
) -> W {
    let m = ensure_object(tx, obj, key, ObjType::Map)?;
    for (id, r) in records {
        let item = ensure_object(tx, &m, id, ObjType::Map)?;
        write(tx, &item, r)?;
    }
    let stale: Vec<String> = tx.keys(&m).filter(|k| !records.contains_key(k)).collect();
    for k in stale {
        tx.delete(&m, k.as_str())?;
    }
    Ok(())
}

fn write_root_header<T: Transactable>(tx: &mut T, kind: &DocumentKind) -> W {
    put_str(tx, &ROOT, "schema", SCHEMA)?;
    let version_ok = matches!(tx.get(&ROOT, "schema_version")?, Some((Value::Scalar(s), _)) if s.as_ref() == &ScalarValue::Uint(SCHEMA_VERSION));
    if !version_ok {
        tx.put(&ROOT, "schema_version", SCHEMA_VERSION)?;
    }
    put_str(tx, &ROOT, "kind", kind.as_str())
}

/// Writes a whole `national` or area document, reconciling with what is stored.
pub fn write_directory<T: Transactable>(tx: &mut T, d: &Directory) -> W {
    write_root_header(tx, d.kind.as_ref().unwrap_or(&DocumentKind::Area))?;
    let area = d.area.as_ref().map(Area::to_string).or_else(|| d.unparsed_area.clone());
    put_opt_str(tx, &ROOT, "area", area.as_deref())?;
    put_localized(tx, &ROOT, "title", &d.title)?;
    put_keyed(tx, &ROOT, "organisations", &d.organisations, write_organisation_fields)?;
    put_keyed(tx, &ROOT, "contact_points", &d.contact_points, write_contact_fields)?;
    put_keyed(tx, &ROOT, "cards", &d.cards, write_card_fields)
}

/// Writes (creates or updates) one organisation, leaving the rest of the document alone.
pub fn write_organisation<T: Transactable>(tx: &mut T, o: &Organisation) -> W {
    let m = ensure_object(tx, &ROOT, "organisations", ObjType::Map)?;
    let item = ensure_object(tx, &m, &o.id, ObjType::Map)?;
    write_organisation_fields(tx, &item, o)
}

/// Writes (creates or updates) one contact point, leaving the rest of the document alone.
pub fn write_contact_point<T: Transactable>(tx: &mut T, c: &ContactPoint) -> W {
    let m = ensure_object(tx, &ROOT, "contact_points", ObjType::Map)?;
    let item = ensure_object(tx, &m, &c.id, ObjType::Map)?;
    write_contact_fields(tx, &item, c)
}

/// Removes one contact point.
pub fn delete_contact_point<T: Transactable>(tx: &mut T, id: &str) -> W {
    if let Some((Value::Object(ObjType::Map), m)) = tx.get(&ROOT, "contact_points")? {
        delete_key(tx, &m, id)?;
    }
    Ok(())
}

/// Writes (creates or updates) one guidance card, leaving the rest of the document alone.
pub fn write_card<T: Transactable>(tx: &mut T, c: &GuidanceCard) -> W {
    let m = ensure_object(tx, &ROOT, "cards", ObjType::Map)?;
    let item = ensure_object(tx, &m, &c.id, ObjType::Map)?;
    write_card_fields(tx, &item, c)
}

fn write_organisation_fields<T: Transactable>(tx: &mut T, m: &ObjId, o: &Organisation) -> W {
    put_localized(tx, m, "name", &o.name)?;
    put_localized(tx, m, "description", &o.description)?;
    put_opt_str(tx, m, "website", o.website.as_deref())?;
    put_opt_str(tx, m, "kind", o.kind.as_ref().map(OrganisationKind::as_str))?;
    put_bool(tx, m, "example", o.example)
}

fn write_contact_fields<T: Transactable>(tx: &mut T, m: &ObjId, c: &ContactPoint) -> W {
    put_opt_str(tx, m, "organisation_id", c.organisation_id.as_deref())?;
    put_localized(tx, m, "name", &c.name)?;
    put_localized(tx, m, "description", &c.description)?;
    put_strings(tx, m, "roles", &c.roles)?;
    put_records(tx, m, "phones", &c.phones, |tx, p, phone| {
        put_str(tx, p, "number", &phone.number)?;
        put_str(tx, p, "kind", phone.kind.as_str())?;
        put_localized(tx, p, "description", &phone.description)
    })?;
    put_opt_str(tx, m, "email", c.email.as_deref())?;
    put_opt_str(tx, m, "url", c.url.as_deref())?;
    put_opt_str(tx, m, "chat_url", c.chat_url.as_deref())?;
    put_records(tx, m, "schedules", &c.schedules, |tx, s, sch| {
        put_str(tx, s, "kind", sch.kind.as_str())?;
        let days: Vec<String> = sch.byday.iter().map(|d| d.as_str().to_owned()).collect();
        put_strings(tx, s, "byday", &days)?;
        put_opt_str(tx, s, "opens_at", sch.opens_at.as_deref())?;
        put_opt_str(tx, s, "closes_at", sch.closes_at.as_deref())?;
        put_localized(tx, s, "description", &sch.description)
    })?;
    put_localized(tx, m, "hours_note", &c.hours_note)?;
    put_strings(tx, m, "languages", &c.languages)?;
    put_strings(tx, m, "audiences", &c.audiences)?;
    let areas: Vec<String> = c.areas.iter().map(Area::to_string).chain(c.unparsed_areas.iter().cloned()).collect();
    put_strings(tx, m, "areas", &areas)?;
    put_opt_str(tx, m, "visibility", c.visibility.as_ref().map(Visibility::as_str))?;
    put_opt_str(tx, m, "verified_at", c.verified_at.as_deref())?;
    put_opt_str(tx, m, "verified_by", c.verified_by.as_deref())?;
    put_bool(tx, m, "example", c.example)?;
    put_opt_str(tx, m, "contact_person", c.contact_person.as_deref())?;
    put_opt_str(tx, m, "review_by", c.review_by.as_deref())?;
    put_opt_str(tx, m, "retired", c.retired.as_deref())
}

fn write_card_fields<T: Transactable>(tx: &mut T, m: &ObjId, c: &GuidanceCard) -> W {
    put_str(tx, m, "slug", &c.slug)?;
    put_str(tx, m, "status", c.status.as_str())?;
    put_strings(tx, m, "audiences", &c.audiences)?;
    put_strings(tx, m, "topics", &c.topics)?;
    put_localized(tx, m, "title", &c.title)?;
    put_localized(tx, m, "summary", &c.summary)?;
    put_str(tx, m, "start", &c.start)?;
    put_keyed(tx, m, "nodes", &c.nodes, write_node_fields)?;
    put_records(tx, m, "do_not", &c.do_not, write_localized_map)?;
    put_strings(tx, m, "sources", &c.sources)?;
    put_opt_str(tx, m, "last_reviewed", c.last_reviewed.as_deref())?;
    put_opt_str(tx, m, "next_review_due", c.next_review_due.as_deref())?;
    put_opt_str(tx, m, "overrides", c.overrides.as_deref())
}

fn write_node_fields<T: Transactable>(tx: &mut T, m: &ObjId, n: &Node) -> W {
    match n {
        Node::Question { text, help, answers } => {
            put_str(tx, m, "type", "question")?;
            put_localized(tx, m, "text", text)?;
            put_localized(tx, m, "help", help)?;
            put_records(tx, m, "answers", answers, |tx, a, ans| {
                put_localized(tx, a, "text", &ans.text)?;
                put_str(tx, a, "next", &ans.next)?;
                put_bool(tx, a, "danger_now", ans.danger_now)
            })?;
            for stale in ["urgency", "heading", "steps"] {
                delete_key(tx, m, stale)?;
            }
        }
        Node::Steps { urgency, heading, steps } => {
            put_str(tx, m, "type", "steps")?;
            put_str(tx, m, "urgency", urgency.as_str())?;
            put_localized(tx, m, "heading", heading)?;
            put_records(tx, m, "steps", steps, |tx, s, step| {
                put_str(tx, s, "id", &step.id)?;
                put_str(tx, s, "kind", step.kind.as_str())?;
                put_localized(tx, s, "text", &step.text)?;
                put_strings(tx, s, "roles", &step.roles)?;
                put_opt_str(tx, s, "legal_basis", step.legal_basis.as_deref())?;
                put_bool(tx, s, "locked", step.locked)
            })?;
            for stale in ["text", "help", "answers"] {
                delete_key(tx, m, stale)?;
            }
        }
    }
    Ok(())
}

/// Writes the whole `index` document, reconciling with what is stored.
pub fn write_index<T: Transactable>(tx: &mut T, index: &Index) -> W {
    write_root_header(tx, &DocumentKind::Index)?;
    put_keyed(tx, &ROOT, "documents", &index.documents, |tx, m, e| {
        put_str(tx, m, "kind", e.kind.as_str())?;
        put_opt_str(tx, m, "area", e.area.as_ref().map(Area::to_string).as_deref())?;
        put_localized(tx, m, "title", &e.title)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use automerge::{ActorId, Automerge};

    fn sample() -> Directory {
        let mut d = Directory::for_area(Area::Municipality("091".into()), LocalizedText::fi_sv_en("H", "H", "H"));
        d.contact_points.insert(
            "c1".into(),
            ContactPoint {
                id: "c1".into(),
                name: LocalizedText::fi_sv_en("Ankkuritiimi", "Ankarteamet", "Anchor team"),
                roles: vec!["anchor_team".into()],
                phones: vec![Phone {
                    number: "+358 0 000 0001".into(),
                    kind: PhoneKind::Voice,
                    description: LocalizedText::new(),
                }],
                areas: vec![Area::Municipality("091".into())],
                email: Some("ankkuri@example.invalid".into()),
                example: true,
                ..ContactPoint::default()
            },
        );
        d
    }

    fn doc_with(d: &Directory, actor: u8) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from(vec![actor; 16]));
        let mut tx = doc.transaction();
        write_directory(&mut tx, d).unwrap();
        tx.commit();
        doc
    }

    #[test]
    fn round_trip_and_unchanged_write_is_empty() {
        let d = sample();
        let mut doc = doc_with(&d, 1);
        assert_eq!(read_directory(&doc).unwrap(), d);
        let mut tx = doc.transaction();
        write_directory(&mut tx, &d).unwrap();
        assert_eq!(tx.pending_ops(), 0, "rewriting the same content must not create operations");
        tx.rollback();
    }

    #[test]
    fn retiring_and_restoring_touch_only_the_retired_field() {
        let d = sample();
        let mut doc = doc_with(&d, 1);
        assert_eq!(read_contact_point(&doc, "c1").unwrap().retired, None, "no key means in use");
        let mut c = read_contact_point(&doc, "c1").unwrap();
        c.retired = Some("2026-11-24".into());
        let mut tx = doc.transaction();
        write_contact_point(&mut tx, &c).unwrap();
        assert_eq!(tx.pending_ops(), 1, "retiring writes one key");
        tx.commit();
        let read = read_contact_point(&doc, "c1").unwrap();
        assert!(read.is_retired());
        assert_eq!(read.retired.as_deref(), Some("2026-11-24"));
        c.retired = None;
        let mut tx = doc.transaction();
        write_contact_point(&mut tx, &c).unwrap();
        assert_eq!(tx.pending_ops(), 1, "restoring deletes one key");
        tx.commit();
        assert_eq!(read_contact_point(&doc, "c1").unwrap(), d.contact_points["c1"]);
    }

    #[test]
    fn unknown_fields_survive_and_missing_fields_read_as_absent() {
        let d = sample();
        let mut doc = doc_with(&d, 1);
        let mut tx = doc.transaction();
        let (_, cps) = tx.get(ROOT, "contact_points").unwrap().unwrap();
        let (_, c1) = tx.get(&cps, "c1").unwrap().unwrap();
        tx.put(&c1, "x_future_field", "kept").unwrap();
        tx.delete(&c1, "email").unwrap();
        tx.delete(&c1, "roles").unwrap();
        tx.commit();
        let read = read_directory(&doc).unwrap();
        assert_eq!(read.contact_points["c1"].email, None);
        assert!(read.contact_points["c1"].roles.is_empty());
        let mut tx = doc.transaction();
        write_directory(&mut tx, &read).unwrap();
        tx.commit();
        let (v, _) = doc.get(&c1, "x_future_field").unwrap().unwrap();
        assert_eq!(v.as_str(), Some("kept"));
    }

    #[test]
    fn concurrent_edits_merge_and_conflicts_are_visible() {
        let base = doc_with(&sample(), 1);
        let mut a = base.fork().with_actor(ActorId::from(vec![2; 16]));
        let mut b = base.fork().with_actor(ActorId::from(vec![3; 16]));

        // Replica A changes the e-mail and the first phone number; B changes the web address and
        // the same phone number.
        let mut ca = read_contact_point(&a, "c1").unwrap();
        ca.email = Some("tiimi@example.invalid".into());
        ca.phones[0].number = "+358 0 000 0002".into();
        let mut tx = a.transaction();
        write_contact_point(&mut tx, &ca).unwrap();
        tx.commit();
        let mut cb = read_contact_point(&b, "c1").unwrap();
        cb.url = Some("https://example.invalid/ankkuri".into());
        cb.phones[0].number = "+358 0 000 0003".into();
        let mut tx = b.transaction();
        write_contact_point(&mut tx, &cb).unwrap();
        tx.commit();

        a.merge(&mut b).unwrap();
        let merged = read_contact_point(&a, "c1").unwrap();
        assert_eq!(merged.email.as_deref(), Some("tiimi@example.invalid"));
        assert_eq!(merged.url.as_deref(), Some("https://example.invalid/ankkuri"));
        // Only the phone number, changed on both, holds two values.
        let open = crate::history::contact_conflicts(&a, "c1");
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].field, "phones[0].number");
        let mut numbers: Vec<&str> = open[0].values.iter().filter_map(crate::history::FieldValue::text).collect();
        numbers.sort();
        assert_eq!(numbers, ["+358 0 000 0002", "+358 0 000 0003"]);

        // Writing the chosen value resolves the conflict.
        let mut chosen = merged;
        chosen.phones[0].number = "+358 0 000 0003".into();
        let mut tx = a.transaction();
        write_contact_point(&mut tx, &chosen).unwrap();
        tx.commit();
        assert!(crate::history::contact_conflicts(&a, "c1").is_empty());
        assert_eq!(read_contact_point(&a, "c1").unwrap().phones[0].number, "+358 0 000 0003");
    }
}
