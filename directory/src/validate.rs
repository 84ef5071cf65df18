//! Validation of directory, guidance and index documents, with messages a local editor understands.
//!
//! Every rule reports a [`ValidationIssue`]: where (`contact_points.<id>.phones[0].number`) and a
//! stable English message. The relay calls [`validate_document_against`] (with the national
//! document, so that local overrides are checked too) on the stored document and on a candidate
//! (the stored document with the incoming change applied to a fork), and refuses the write when
//! [`new_issues`] finds a problem the stored document did not have; editors and the HSDS importer
//! call [`validate_directory`] on typed content.
//!
//! The paths use the document layout of [`crate::store`]: map keys joined by dots, list positions
//! in brackets. That lets the check for personal identity codes walk the raw document (including
//! fields this version does not know) and report the same path as the typed checks.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValueRef, Value, ValueRef};

use crate::area::Area;
use crate::model::{
    AUDIENCES, CardStatus, ContactPoint, Directory, DocumentKind, GuidanceCard, Index, Node, Organisation, ROLES,
    Schedule, StepKind, TOPICS, Urgency, Visibility,
};
use crate::path::{FieldPath, Segment};
use crate::store;
use crate::text::LocalizedText;

/// One problem found in a document.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidationIssue {
    /// Where the problem is, in the document layout (`contact_points.<id>.email`).
    pub path: FieldPath,
    /// What is wrong and how to fix it, in English; stable, so clients and tests may match on it.
    pub message: String,
    /// The rule's stable code (one of [`code`]), by which clients show the message in their
    /// own language.
    pub code: &'static str,
    /// The values the message names (`value`, `card`, `step`, `node`, `detail`), by name.
    pub params: Vec<(&'static str, String)>,
}

impl ValidationIssue {
    /// An issue at `path` with one of the fixed messages of [`msg`], as callers outside this
    /// module write it.
    pub fn at(path: FieldPath, message: &str) -> Self {
        let (code, params) = recognise(message).unwrap_or(("unknown", Vec::new()));
        ValidationIssue { path, message: message.to_owned(), code, params }
    }

    /// [`ValidationIssue::at`] with the path written out, as tests write it.
    ///
    /// # Panics
    /// When `path` is not a path ([`FieldPath::parse`]).
    pub fn new(path: &str, message: &str) -> Self {
        ValidationIssue::at(FieldPath::parse(path).expect("a field path"), message)
    }
}

impl core::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Defines each message once: its English text in [`msg`] (with `{name}` where a parameter
/// goes), its code in [`code`], both in [`MESSAGES`], and the pair for this module's checks.
macro_rules! messages {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal, $en:expr;)*) => {
        /// The stable English messages, so tests can match them exactly; `{name}` marks a
        /// parameter.
        pub mod msg {
            $($(#[doc = $doc])* pub const $name: &str = $en;)*
        }
        /// The stable code of each message, which clients translate.
        pub mod code {
            $($(#[doc = $doc])* pub const $name: &str = $code;)*
        }
        #[allow(dead_code)]
        mod rule {
            $(pub(super) const $name: (&str, &str) = ($code, $en);)*
        }
        /// Every message as its code and its English text, `{name}` marking a parameter: what a
        /// client needs to translate them and to recognise them in a relay's refusal.
        pub const MESSAGES: &[(&str, &str)] = &[$(($code, $en)),*];
    };
}

messages! {
    /// A required multilingual text is empty in every language.
    TEXT_REQUIRED = "text_required", "this text is required in at least one language";
    /// The document kind is neither `national` nor `area` (nor `index`).
    KIND = "kind", "the document kind must be \"index\", \"national\" or \"area\"";
    /// An area document does not name its area.
    AREA_REQUIRED = "area_required", "an area document must name its area (municipality:091, county:90 or police:helsinki)";
    /// A contact point has no role.
    ROLE_REQUIRED = "role_required", "at least one role is required";
    /// A contact point cannot be reached.
    REACH_REQUIRED = "reach_required", "add at least one way to reach this contact point: a phone number, e-mail, web address or chat";
    /// A phone number in the wrong shape.
    PHONE_FORMAT = "phone_format", "this is not a phone number; write it as +358 40 123 4567, 040 123 4567 or a service number such as 112 or 116 006";
    /// A placeholder number outside sample data.
    PHONE_PLACEHOLDER = "phone_placeholder", "placeholder numbers (+358 0 …) are allowed only in entries marked as example data";
    /// A malformed e-mail address.
    EMAIL = "email", "this is not an e-mail address";
    /// A malformed web address.
    URL = "url", "a web address must start with https:// or http://";
    /// A malformed time of day.
    TIME = "time", "write the time as HH:MM, for example 08:00";
    /// Only one of opening and closing time.
    TIME_PAIR = "time_pair", "give both the opening and the closing time, or neither for round the clock";
    /// A malformed date.
    DATE = "date", "write the date as YYYY-MM-DD";
    /// A malformed language code.
    LANGUAGE = "language", "use a language code such as fi, sv or en";
    /// An entry of an area document with no area.
    AREAS_REQUIRED = "areas_required", "list the municipalities, wellbeing county or police area this entry serves";
    /// A named person in the national document.
    PERSON_NOT_NATIONAL = "person_not_national", "named persons belong in area documents, not in the national document";
    /// A named person with no review date.
    PERSON_REVIEW = "person_review", "a named person needs a review date (review_by)";
    /// Text that looks like a Finnish personal identity code.
    PERSONAL_ID = "personal_id", "this text looks like a Finnish personal identity code; never store data about individuals here";
    /// A card slug in the wrong shape.
    SLUG = "slug", "a slug of lower-case letters, digits and hyphens is required";
    /// A question with no answers.
    NO_ANSWERS = "no_answers", "a question needs at least one answer, and every path must end in a steps node";
    /// A steps node with no steps.
    NO_STEPS = "no_steps", "a steps node needs at least one step";
    /// The guidance tree loops.
    CYCLE = "cycle", "the guidance tree must not loop back to an earlier question";
    /// A path from a danger-now answer that never calls 112.
    DANGER_NOW = "danger_now", "every path from a \"danger now\" answer must include a call step with the role emergency (112)";
    /// A notify step without its statute.
    LEGAL_BASIS = "legal_basis", "a notify step must name its legal basis, for example Child Welfare Act 417/2007 §25";
    /// A call, notify or refer step without roles.
    STEP_ROLES = "step_roles", "this step must name at least one contact role";
    /// A step id missing or repeated.
    STEP_ID = "step_id", "every step needs an id that is unique within the card";
    /// An override in the national document.
    OVERRIDE_NATIONAL = "override_national", "only area documents can override national cards";
    /// A record that is not a map.
    NOT_A_RECORD = "not_a_record", "this record is damaged: it must be a map of fields";
    /// A document's kind or area differs from what the relay's catalogue says it is.
    WRONG_PLACE = "wrong_place", "this document's kind and area are fixed by the relay's catalogue and cannot be changed";
    /// A contact point lists an area outside its document's area.
    OUTSIDE_AREA = "outside_area", "this area is outside the document's own area; list only the area itself or places within it";
    /// A name longer than a screen line or two.
    NAME_TOO_LONG = "name_too_long", "a name may be at most 200 characters; put the rest in the description";
    /// A text longer than anyone reads on a phone.
    TEXT_TOO_LONG = "text_too_long", "this text may be at most 2,000 characters; keep it short enough to read on a phone";
    /// Any other value beyond every legitimate use.
    VALUE_TOO_LONG = "value_too_long", "this value is too long: at most 10,000 characters";
    /// A members-only contact point in a document every professional receives.
    MEMBERS_ONLY_IN_OPEN = "members_only_in_open", "a contact point for area members only belongs in the area's members-only \
         document, which only the area's members receive; this document reaches every professional";
    /// A contact point in a members-only document that is not marked members-only.
    OPEN_IN_MEMBERS_ONLY = "open_in_members_only", "this document is for the area's members only, so its contact points \
         must be marked visible to area members";
    /// Guidance in a members-only document.
    CARD_IN_MEMBERS_ONLY = "card_in_members_only", "guidance belongs in the area's own document; the members-only document holds contact points only";
    /// A catalogue with two national documents.
    SECOND_NATIONAL = "second_national", "the catalogue may list only one national document";
    /// A catalogue entry of another kind than national or area.
    CATALOGUE_KIND = "catalogue_kind", "a catalogue entry must be a national or area document";
    /// An override of a national card that does not exist.
    OVERRIDE_UNKNOWN = "override_unknown", "there is no national card with the id \"{card}\" to override";
    /// A local override that leaves out a locked step of the national card.
    OVERRIDE_LOCKED_STEP = "override_locked_step",
        "the locked step \"{step}\" of the national card \"{card}\" must be kept in a local override";
    /// An unknown visibility.
    VISIBILITY = "visibility", "\"{value}\" is not a visibility; use all_professionals or area_members";
    /// An unknown schedule kind.
    SCHEDULE_KIND = "schedule_kind", "\"{value}\" is not a schedule kind; use regular or out_of_hours";
    /// An unknown day.
    DAY = "day", "\"{value}\" is not a day; use MO, TU, WE, TH, FR, SA or SU";
    /// An unknown role.
    ROLE = "role", "\"{value}\" is not a known role";
    /// An unknown card status.
    CARD_STATUS = "card_status", "\"{value}\" is not a card status; use draft, published or retired";
    /// An unknown audience.
    AUDIENCE = "audience", "\"{value}\" is not a known audience";
    /// An unknown topic.
    TOPIC = "topic", "\"{value}\" is not a known topic";
    /// An answer leading nowhere.
    ANSWER_NEXT = "answer_next", "this answer leads to \"{node}\", which is not a node of this card";
    /// An unknown urgency.
    URGENCY = "urgency", "\"{value}\" is not an urgency; use emergency, urgent, concern or information";
    /// An unknown step kind.
    STEP_KIND = "step_kind", "\"{value}\" is not a step kind";
    /// A start node that does not exist.
    START_NODE = "start_node", "the start node \"{node}\" is not a node of this card";
    /// An unknown phone kind.
    PHONE_KIND = "phone_kind", "\"{value}\" is not a phone kind; use voice or sms";
    /// An unknown kind of organisation.
    ORGANISATION_KIND = "organisation_kind", "\"{value}\" is not a known kind of organisation";
    /// An area that cannot be read; the message is the parser's.
    AREA_UNKNOWN = "area_unknown", "{detail}";
    /// A document that cannot be read; the message is the reader's.
    UNREADABLE = "unreadable", "{detail}";
    /// A new contact point with an erased id (checked by the relay).
    ERASED_ID = "erased_id", "this contact point was erased and cannot be added again; a new entry needs a new id";
    /// A new contact point with another document's id (checked by the relay).
    FOREIGN_ID = "foreign_id", "this id belongs to a contact point of another document; a new entry needs a new id";
    /// A write from someone who may only read (sent by the relay).
    READ_ONLY = "read_only", "you may read but not change document {doc}; your changes were not accepted";
    /// Too many documents created through sync (sent by the relay).
    TOO_MANY_DOCUMENTS = "too_many_documents", "you have created too many documents recently; try again later";
    /// The relay's sync engine failed on a message (sent by the relay).
    RELAY_FAILED = "relay_failed", "the relay could not process your data";
}

/// The longest name of a contact point or organisation, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest text (a description, a step, a note), in characters, per language.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// The longest string of any kind anywhere in a document, in characters.
pub const MAX_VALUE_CHARS: usize = 10_000;

fn issue(path: impl Into<FieldPath>, (code, en): (&'static str, &'static str)) -> ValidationIssue {
    ValidationIssue { path: path.into(), message: en.to_owned(), code, params: Vec::new() }
}

/// An issue whose message names values: each `{name}` of the English text is filled in.
fn issue_with(
    path: impl Into<FieldPath>,
    (code, en): (&'static str, &'static str),
    params: &[(&'static str, &str)],
) -> ValidationIssue {
    let message = params.iter().fold(en.to_owned(), |m, (k, v)| m.replace(&format!("{{{k}}}"), v));
    let params = params.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    ValidationIssue { path: path.into(), message, code, params }
}

/// The code and parameters of an English message of [`MESSAGES`] (the message alone, as a relay's
/// refusal quotes it after the path): fixed messages match exactly, those with parameters by
/// their text around each `{name}`. The two whose text is all parameter are never recognised.
pub fn recognise(message: &str) -> Option<(&'static str, Vec<(&'static str, String)>)> {
    MESSAGES.iter().filter(|(code, _)| !matches!(*code, "area_unknown" | "unreadable")).find_map(|(code, en)| {
        let params = match_template(en, message)?;
        Some((*code, params))
    })
}

/// The values of `template`'s `{name}` parameters in `text`, if `text` is the template filled in.
/// Each parameter runs to the first occurrence of the literal text after it (the last one to the
/// end of the literal that closes the template).
fn match_template(template: &'static str, text: &str) -> Option<Vec<(&'static str, String)>> {
    let mut parts = template.split('{');
    let mut rest = text.strip_prefix(parts.next()?)?;
    let pieces = parts.map(|p| p.split_once('}')).collect::<Option<Vec<(&'static str, &'static str)>>>()?;
    let mut params = Vec::new();
    for (i, (name, literal)) in pieces.iter().enumerate() {
        let end = if i + 1 == pieces.len() {
            rest.strip_suffix(literal)?.len()
        } else if literal.is_empty() {
            return None;
        } else {
            rest.find(literal)?
        };
        params.push((*name, rest[..end].to_owned()));
        rest = &rest[end + literal.len()..];
    }
    rest.is_empty().then_some(params)
}

/// Validates a candidate document of any kind on its own.
///
/// Returns every problem, sorted and without repeats; an empty list means the document is valid.
pub fn validate_document(doc: &impl ReadDoc) -> Vec<ValidationIssue> {
    validate_document_against(doc, None)
}

/// Validates a candidate document as the relay does before accepting a write: the rules of
/// [`validate_document`] and, for an area document when the national document is given, those
/// of [`validate_overrides`].
///
/// Returns every problem, sorted and without repeats. The relay refuses a write only for the
/// problems that [`new_issues`] finds, so that a document with older problems stays editable.
pub fn validate_document_against(doc: &impl ReadDoc, national: Option<&Directory>) -> Vec<ValidationIssue> {
    let mut issues = BTreeSet::new();
    match store::document_kind(doc) {
        Some(DocumentKind::Index) => match store::read_index(doc) {
            Ok(index) => issues.extend(validate_index(&index)),
            Err(e) => {
                issues.insert(issue_with(FieldPath::of("kind"), rule::UNREADABLE, &[("detail", &e.to_string())]));
            }
        },
        Some(kind @ (DocumentKind::National | DocumentKind::Area | DocumentKind::Restricted)) => {
            match store::read_directory(doc) {
                Ok(d) => {
                    issues.extend(validate_directory(&d));
                    if let (DocumentKind::Area, Some(national)) = (kind, national) {
                        issues.extend(validate_overrides(&d, national));
                    }
                }
                Err(e) => {
                    issues.insert(issue_with(FieldPath::of("kind"), rule::UNREADABLE, &[("detail", &e.to_string())]));
                }
            }
        }
        Some(DocumentKind::Other(_)) | None => {
            issues.insert(issue(FieldPath::of("kind"), rule::KIND));
        }
    }
    // Records that are not maps cannot be read at all; say so instead of dropping them silently.
    for collection in ["organisations", "contact_points", "cards", "documents"] {
        if let Ok(Some((Value::Object(ObjType::Map), obj))) = doc.get(&ROOT, collection) {
            for item in doc.map_range(&obj, ..) {
                if !matches!(item.value, ValueRef::Object(ObjType::Map)) {
                    issues.insert(issue(FieldPath::of(collection).key(item.key.as_ref()), rule::NOT_A_RECORD));
                }
            }
        }
    }
    // The raw walk also sees fields this version does not know.
    walk_strings(doc, &ROOT, &mut FieldPath::root(), 0, &mut |path, s| {
        if contains_personal_id(s) {
            issues.insert(issue(path, rule::PERSONAL_ID));
        }
        if s.len() > MAX_VALUE_CHARS && s.chars().count() > MAX_VALUE_CHARS {
            issues.insert(issue(path, rule::VALUE_TOO_LONG));
        }
    });
    issues.into_iter().collect()
}

/// What the relay's catalogue says a document is, which its content must agree with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The catalogue of documents.
    Index,
    /// The national document.
    National,
    /// One area's document.
    Area(Area),
    /// One area's members-only document.
    Restricted(Area),
}

/// [`validate_document_against`] for a document the relay catalogues at `place`: its kind and
/// area must be the catalogue's, and every area its contact points list must lie within the
/// document's area, so that an area's editors cannot write entries for places they do not edit.
pub fn validate_document_at(doc: &impl ReadDoc, national: Option<&Directory>, place: &Place) -> Vec<ValidationIssue> {
    let mut issues: BTreeSet<ValidationIssue> = validate_document_against(doc, national).into_iter().collect();
    issues.extend(validate_place(doc, place));
    issues.into_iter().collect()
}

/// The problems of a document's kind, area and contact areas relative to `place`.
pub fn validate_place(doc: &impl ReadDoc, place: &Place) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    let kind = store::document_kind(doc);
    let expected = match place {
        Place::Index => DocumentKind::Index,
        Place::National => DocumentKind::National,
        Place::Area(_) => DocumentKind::Area,
        Place::Restricted(_) => DocumentKind::Restricted,
    };
    if kind.as_ref() != Some(&expected) {
        issues.push(issue(FieldPath::of("kind"), rule::WRONG_PLACE));
        return issues;
    }
    let (Place::Area(area) | Place::Restricted(area)) = place else { return issues };
    let Ok(d) = store::read_directory(doc) else { return issues };
    if d.area.as_ref() != Some(area) {
        issues.push(issue(FieldPath::of("area"), rule::WRONG_PLACE));
    }
    for c in d.contact_points.values() {
        for (i, a) in c.areas.iter().enumerate() {
            if !area.covers(a) {
                let path = FieldPath::of("contact_points").key(c.id.as_str()).key("areas").index(i);
                issues.push(issue(path, rule::OUTSIDE_AREA));
            }
        }
    }
    issues
}

/// The problems of `after` that `before` did not have, in the order of `after`. Problems are the
/// same when both their path and their message are, so a write that leaves an older problem as it
/// was, or that fixes it, adds nothing here.
pub fn new_issues(before: &[ValidationIssue], after: &[ValidationIssue]) -> Vec<ValidationIssue> {
    let known: BTreeSet<&ValidationIssue> = before.iter().collect();
    after.iter().filter(|i| !known.contains(i)).cloned().collect()
}

/// Validates an area document against the national document: local overrides must keep every
/// locked step of the national card they replace, and must replace a card that exists.
pub fn validate_overrides(area: &Directory, national: &Directory) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    for (id, card) in &area.cards {
        let Some(base_id) = &card.overrides else { continue };
        let path = FieldPath::of("cards").key(id.as_str()).key("overrides");
        let Some(base) = national.cards.get(base_id) else {
            issues.push(issue_with(path, rule::OVERRIDE_UNKNOWN, &[("card", base_id)]));
            continue;
        };
        let kept: BTreeMap<&str, &StepKind> = card.steps().map(|(_, s)| (s.id.as_str(), &s.kind)).collect();
        for (_, step) in base.steps().filter(|(_, s)| s.locked) {
            if kept.get(step.id.as_str()) != Some(&&step.kind) {
                issues.push(issue_with(
                    FieldPath::of("cards").key(id.as_str()),
                    rule::OVERRIDE_LOCKED_STEP,
                    &[("step", &step.id), ("card", &base.slug)],
                ));
            }
        }
    }
    issues
}

fn walk_strings<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    path: &mut FieldPath,
    depth: usize,
    f: &mut dyn FnMut(&FieldPath, &str),
) {
    // Documents are shallow; the bound only guards against pathological input.
    if depth > 32 {
        return;
    }
    // One pass over each object (`map_range`, `list_range`): looking every key or index up on
    // its own costs a search each, which made a write's check grow with the square of the size.
    match doc.object_type(obj) {
        Ok(ObjType::Map | ObjType::Table) => {
            for item in doc.map_range(obj, ..) {
                path.push(Segment::Key(item.key.to_string()));
                // Keys are ids chosen by editors, so they are checked like any other text.
                f(path, &item.key);
                let id = item.id();
                visit_value(doc, item.value, &id, path, depth, f);
                path.pop();
            }
        }
        Ok(ObjType::List) => {
            for item in doc.list_range(obj, ..) {
                let id = item.id();
                path.push(Segment::Index(item.index));
                visit_value(doc, item.value, &id, path, depth, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// One value met by [`walk_strings`]: its text, or the strings inside it.
fn visit_value<D: ReadDoc>(
    doc: &D,
    value: ValueRef<'_>,
    id: &ObjId,
    path: &mut FieldPath,
    depth: usize,
    f: &mut dyn FnMut(&FieldPath, &str),
) {
    match value {
        ValueRef::Scalar(ScalarValueRef::Str(s)) => f(path, &s),
        ValueRef::Scalar(_) => {}
        ValueRef::Object(ObjType::Text) => {
            if let Ok(t) = doc.text(id) {
                f(path, &t);
            }
        }
        ValueRef::Object(_) => walk_strings(doc, id, path, depth + 1, f),
    }
}

/// Validates the `index` catalogue.
pub fn validate_index(index: &Index) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    let mut nationals = 0;
    for (id, e) in &index.documents {
        let path = FieldPath::of("documents").key(id.as_str());
        match &e.kind {
            DocumentKind::National => nationals += 1,
            DocumentKind::Area if e.area.is_none() => issues.push(issue(path.key("area"), rule::AREA_REQUIRED)),
            DocumentKind::Area => {}
            _ => issues.push(issue(path.key("kind"), rule::CATALOGUE_KIND)),
        }
        if nationals > 1 && e.kind == DocumentKind::National {
            issues.push(issue(path.key("kind"), rule::SECOND_NATIONAL));
        }
        texts(&mut issues, &path.key("title"), &e.title);
    }
    issues
}

/// Validates the typed contents of a `national` or area document.
pub fn validate_directory(d: &Directory) -> Vec<ValidationIssue> {
    let mut out = Vec::new();
    let national = match &d.kind {
        Some(DocumentKind::National) => true,
        Some(DocumentKind::Area | DocumentKind::Restricted) => false,
        _ => {
            out.push(issue(FieldPath::of("kind"), rule::KIND));
            false
        }
    };
    if let Some(a) = &d.unparsed_area {
        out.push(issue_with(FieldPath::of("area"), rule::AREA_UNKNOWN, &[("detail", &area_message(a))]));
    } else if !national && d.area.is_none() {
        out.push(issue(FieldPath::of("area"), rule::AREA_REQUIRED));
    }
    required_text(&mut out, &FieldPath::of("title"), &d.title);
    for (id, o) in &d.organisations {
        validate_organisation(&mut out, &FieldPath::of("organisations").key(id.as_str()), o);
    }
    let restricted = d.is_restricted();
    for (id, c) in &d.contact_points {
        let path = FieldPath::of("contact_points").key(id.as_str());
        validate_contact(&mut out, &path, c, national);
        let members_only = c.visibility() == Visibility::AreaMembers;
        if members_only && !restricted {
            out.push(issue(path.key("visibility"), rule::MEMBERS_ONLY_IN_OPEN));
        } else if !members_only && restricted {
            out.push(issue(path.key("visibility"), rule::OPEN_IN_MEMBERS_ONLY));
        }
    }
    for (id, card) in &d.cards {
        let path = FieldPath::of("cards").key(id.as_str());
        if restricted {
            out.push(issue(path.clone(), rule::CARD_IN_MEMBERS_ONLY));
        }
        validate_card(&mut out, &path, card, national);
    }
    out
}

fn area_message(a: &str) -> String {
    match a.parse::<crate::Area>() {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    }
}

fn required_text(out: &mut Vec<ValidationIssue>, path: &FieldPath, t: &LocalizedText) {
    if t.is_empty() {
        out.push(issue(path, rule::TEXT_REQUIRED));
    }
    texts(out, path, t);
}

/// Checks every language of a text for personal identity codes and length.
fn texts(out: &mut Vec<ValidationIssue>, path: &FieldPath, t: &LocalizedText) {
    for (lang, s) in t.iter() {
        let p = path.key(lang);
        if s.len() > MAX_TEXT_CHARS && s.chars().count() > MAX_TEXT_CHARS {
            out.push(issue(p.clone(), rule::TEXT_TOO_LONG));
        }
        plain(out, &p, s);
    }
}

/// A name: required, and short in every language.
fn name(out: &mut Vec<ValidationIssue>, path: &FieldPath, t: &LocalizedText) {
    required_text(out, path, t);
    for (lang, s) in t.iter() {
        if s.chars().count() > MAX_NAME_CHARS {
            out.push(issue(path.key(lang), rule::NAME_TOO_LONG));
        }
    }
}

fn plain(out: &mut Vec<ValidationIssue>, path: &FieldPath, s: &str) {
    if contains_personal_id(s) {
        out.push(issue(path, rule::PERSONAL_ID));
    }
}

fn validate_organisation(out: &mut Vec<ValidationIssue>, path: &FieldPath, o: &Organisation) {
    name(out, &path.key("name"), &o.name);
    texts(out, &path.key("description"), &o.description);
    if let Some(w) = &o.website {
        url(out, &path.key("website"), w);
    }
    if let Some(k) = o.kind.as_ref().filter(|k| !k.is_known()) {
        out.push(issue_with(path.key("kind"), rule::ORGANISATION_KIND, &[("value", &k.to_string())]));
    }
}

fn url(out: &mut Vec<ValidationIssue>, path: &FieldPath, u: &str) {
    let ok =
        (u.starts_with("https://") || u.starts_with("http://")) && u.len() > 10 && !u.chars().any(char::is_whitespace);
    if !ok {
        out.push(issue(path, rule::URL));
    }
    plain(out, path, u);
}

fn validate_contact(out: &mut Vec<ValidationIssue>, path: &FieldPath, c: &ContactPoint, national: bool) {
    name(out, &path.key("name"), &c.name);
    texts(out, &path.key("description"), &c.description);
    texts(out, &path.key("hours_note"), &c.hours_note);
    if c.roles.is_empty() {
        out.push(issue(path.key("roles"), rule::ROLE_REQUIRED));
    }
    for (i, r) in c.roles.iter().enumerate() {
        known_role(out, &path.key("roles").index(i), r);
    }
    if c.phones.is_empty() && c.email.is_none() && c.url.is_none() && c.chat_url.is_none() {
        out.push(issue(path, rule::REACH_REQUIRED));
    }
    for (i, p) in c.phones.iter().enumerate() {
        let pp = path.key("phones").index(i);
        if check_phone(&p.number).is_err() || check_numbering(&p.number).is_err() {
            out.push(issue(pp.key("number"), rule::PHONE_FORMAT));
        } else if is_placeholder_phone(&p.number) && !c.example {
            out.push(issue(pp.key("number"), rule::PHONE_PLACEHOLDER));
        }
        if !p.kind.is_known() {
            out.push(issue_with(pp.key("kind"), rule::PHONE_KIND, &[("value", &p.kind.to_string())]));
        }
        texts(out, &pp.key("description"), &p.description);
    }
    if let Some(e) = &c.email {
        if !is_email(e) {
            out.push(issue(path.key("email"), rule::EMAIL));
        }
        plain(out, &path.key("email"), e);
    }
    if let Some(u) = &c.url {
        url(out, &path.key("url"), u);
    }
    if let Some(u) = &c.chat_url {
        url(out, &path.key("chat_url"), u);
    }
    for (i, s) in c.schedules.iter().enumerate() {
        validate_schedule(out, &path.key("schedules").index(i), s);
    }
    for (i, l) in c.languages.iter().enumerate() {
        let ok = (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase());
        if !ok {
            out.push(issue(path.key("languages").index(i), rule::LANGUAGE));
        }
    }
    for (i, a) in c.audiences.iter().enumerate() {
        if !AUDIENCES.contains(&a.as_str()) {
            out.push(issue_with(path.key("audiences").index(i), rule::AUDIENCE, &[("value", a)]));
        }
    }
    for a in &c.unparsed_areas {
        out.push(issue_with(path.key("areas"), rule::AREA_UNKNOWN, &[("detail", &area_message(a))]));
    }
    if !national && c.areas.is_empty() && c.unparsed_areas.is_empty() {
        out.push(issue(path.key("areas"), rule::AREAS_REQUIRED));
    }
    if let Some(v) = c.visibility.as_ref().filter(|v| !v.is_known()) {
        out.push(issue_with(path.key("visibility"), rule::VISIBILITY, &[("value", &v.to_string())]));
    }
    if let Some(d) = &c.verified_at {
        date(out, &path.key("verified_at"), d);
    }
    if let Some(v) = &c.verified_by {
        plain(out, &path.key("verified_by"), v);
    }
    if let Some(person) = &c.contact_person {
        plain(out, &path.key("contact_person"), person);
        if national {
            out.push(issue(path.key("contact_person"), rule::PERSON_NOT_NATIONAL));
        }
        if c.review_by.is_none() {
            out.push(issue(path.key("review_by"), rule::PERSON_REVIEW));
        }
    }
    if let Some(d) = &c.review_by {
        date(out, &path.key("review_by"), d);
    }
    // A retired entry is checked like a live one: restoring it is then always a valid write, and
    // the date rules that matter only while an entry is in use (verification age, review dates
    // that have passed) belong to the review queue, not to validation.
    if let Some(d) = &c.retired {
        date(out, &path.key("retired"), d);
    }
}

fn validate_schedule(out: &mut Vec<ValidationIssue>, path: &FieldPath, s: &Schedule) {
    if !s.kind.is_known() {
        out.push(issue_with(path.key("kind"), rule::SCHEDULE_KIND, &[("value", &s.kind.to_string())]));
    }
    for (i, d) in s.byday.iter().enumerate() {
        if !d.is_known() {
            out.push(issue_with(path.key("byday").index(i), rule::DAY, &[("value", &d.to_string())]));
        }
    }
    for (key, t) in [("opens_at", &s.opens_at), ("closes_at", &s.closes_at)] {
        if t.as_deref().is_some_and(|t| !is_time(t)) {
            out.push(issue(path.key(key), rule::TIME));
        }
    }
    if s.opens_at.is_some() != s.closes_at.is_some() {
        out.push(issue(path, rule::TIME_PAIR));
    }
    texts(out, &path.key("description"), &s.description);
}

fn known_role(out: &mut Vec<ValidationIssue>, path: &FieldPath, r: &str) {
    if !ROLES.contains(&r) {
        out.push(issue_with(path, rule::ROLE, &[("value", r)]));
    }
}

fn date(out: &mut Vec<ValidationIssue>, path: &FieldPath, d: &str) {
    if !is_date(d) {
        out.push(issue(path, rule::DATE));
    }
}

fn validate_card(out: &mut Vec<ValidationIssue>, path: &FieldPath, card: &GuidanceCard, national: bool) {
    let slug_ok =
        !card.slug.is_empty() && card.slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        out.push(issue(path.key("slug"), rule::SLUG));
    }
    if !card.status.is_known() {
        out.push(issue_with(path.key("status"), rule::CARD_STATUS, &[("value", &card.status.to_string())]));
    }
    required_text(out, &path.key("title"), &card.title);
    texts(out, &path.key("summary"), &card.summary);
    for (i, a) in card.audiences.iter().enumerate() {
        if !AUDIENCES.contains(&a.as_str()) {
            out.push(issue_with(path.key("audiences").index(i), rule::AUDIENCE, &[("value", a)]));
        }
    }
    for (i, t) in card.topics.iter().enumerate() {
        if !TOPICS.contains(&t.as_str()) {
            out.push(issue_with(path.key("topics").index(i), rule::TOPIC, &[("value", t)]));
        }
    }
    for (i, d) in card.do_not.iter().enumerate() {
        texts(out, &path.key("do_not").index(i), d);
    }
    for (i, s) in card.sources.iter().enumerate() {
        plain(out, &path.key("sources").index(i), s);
    }
    for (key, d) in [("last_reviewed", &card.last_reviewed), ("next_review_due", &card.next_review_due)] {
        if let Some(d) = d {
            date(out, &path.key(key), d);
        }
    }
    if national && card.overrides.is_some() {
        out.push(issue(path.key("overrides"), rule::OVERRIDE_NATIONAL));
    }
    let mut step_ids = BTreeSet::new();
    for (node_id, node) in &card.nodes {
        let np = path.key("nodes").key(node_id);
        match node {
            Node::Question { text, help, answers } => {
                required_text(out, &np.key("text"), text);
                texts(out, &np.key("help"), help);
                if answers.is_empty() {
                    out.push(issue(np.key("answers"), rule::NO_ANSWERS));
                }
                for (i, a) in answers.iter().enumerate() {
                    required_text(out, &np.key("answers").index(i).key("text"), &a.text);
                    if !card.nodes.contains_key(&a.next) {
                        out.push(issue_with(
                            np.key("answers").index(i).key("next"),
                            rule::ANSWER_NEXT,
                            &[("node", &a.next)],
                        ));
                    }
                }
            }
            Node::Steps { urgency, heading, steps } => {
                if !urgency.is_known() {
                    out.push(issue_with(np.key("urgency"), rule::URGENCY, &[("value", &urgency.to_string())]));
                }
                required_text(out, &np.key("heading"), heading);
                if steps.is_empty() {
                    out.push(issue(np.key("steps"), rule::NO_STEPS));
                }
                for (i, s) in steps.iter().enumerate() {
                    let sp = np.key("steps").index(i);
                    if s.id.trim().is_empty() || !step_ids.insert(s.id.as_str()) {
                        out.push(issue(sp.key("id"), rule::STEP_ID));
                    }
                    if !s.kind.is_known() {
                        out.push(issue_with(sp.key("kind"), rule::STEP_KIND, &[("value", &s.kind.to_string())]));
                    }
                    required_text(out, &sp.key("text"), &s.text);
                    for (j, r) in s.roles.iter().enumerate() {
                        known_role(out, &sp.key("roles").index(j), r);
                    }
                    if matches!(s.kind, StepKind::Call | StepKind::Notify | StepKind::Refer) && s.roles.is_empty() {
                        out.push(issue(sp.key("roles"), rule::STEP_ROLES));
                    }
                    if s.kind == StepKind::Notify && s.legal_basis.is_none() {
                        out.push(issue(sp.key("legal_basis"), rule::LEGAL_BASIS));
                    }
                    if let Some(l) = &s.legal_basis {
                        plain(out, &sp.key("legal_basis"), l);
                    }
                }
            }
        }
    }
    if !card.nodes.contains_key(&card.start) {
        out.push(issue_with(path.key("start"), rule::START_NODE, &[("node", &card.start)]));
        return;
    }
    check_tree(out, path, card);
}

/// Depth-first walk from the start: finds loops, and for each danger-now answer checks that
/// every path below it reaches a call to the emergency role.
fn check_tree(out: &mut Vec<ValidationIssue>, path: &FieldPath, card: &GuidanceCard) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    fn visit(card: &GuidanceCard, id: &str, marks: &mut BTreeMap<String, Mark>, cycles: &mut BTreeSet<String>) {
        match marks.get(id) {
            Some(Mark::Active) => {
                cycles.insert(id.to_owned());
                return;
            }
            Some(Mark::Done) => return,
            None => {}
        }
        marks.insert(id.to_owned(), Mark::Active);
        if let Some(Node::Question { answers, .. }) = card.nodes.get(id) {
            for a in answers {
                if card.nodes.contains_key(&a.next) {
                    visit(card, &a.next, marks, cycles);
                }
            }
        }
        marks.insert(id.to_owned(), Mark::Done);
    }
    let mut marks = BTreeMap::new();
    let mut cycles = BTreeSet::new();
    visit(card, &card.start, &mut marks, &mut cycles);
    for id in &cycles {
        out.push(issue(path.key("nodes").key(id), rule::CYCLE));
    }
    if !cycles.is_empty() {
        return;
    }
    for (node_id, node) in &card.nodes {
        if let Node::Question { answers, .. } = node {
            for (i, a) in answers.iter().enumerate() {
                if a.danger_now && !all_paths_call_emergency(card, &a.next) {
                    out.push(issue(path.key("nodes").key(node_id).key("answers").index(i), rule::DANGER_NOW));
                }
            }
        }
    }
}

/// Whether every path from `id` to a leaf passes a call step with the role `emergency`.
/// Only called on acyclic trees.
fn all_paths_call_emergency(card: &GuidanceCard, id: &str) -> bool {
    match card.nodes.get(id) {
        Some(Node::Steps { steps, .. }) => {
            steps.iter().any(|s| s.kind == StepKind::Call && s.roles.iter().any(|r| r == "emergency"))
        }
        Some(Node::Question { answers, .. }) => {
            !answers.is_empty() && answers.iter().all(|a| all_paths_call_emergency(card, &a.next))
        }
        None => false,
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{}\" is not a phone number", .0.escape_debug())]
pub struct PhoneError(pub String);

/// Checks a phone number: international form (`+358 40 123 4567`, 7–15 digits, no leading zero in
/// the country code), Finnish national form starting with 0 (`040 123 4567`, `09 123 456`), or a
/// short service number (`112`, `116 006`, `116 111`). Single spaces and hyphens may separate
/// groups of digits.
pub fn check_phone(number: &str) -> Result<(), PhoneError> {
    let err = || PhoneError(number.to_owned());
    let n = number.trim();
    let (plus, rest) = match n.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, n),
    };
    // Separators only between digits, never doubled or at the ends.
    let mut prev_digit = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => prev_digit = true,
            ' ' | '-' if prev_digit => prev_digit = false,
            _ => return Err(err()),
        }
    }
    if !prev_digit {
        return Err(err());
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let ok = if plus {
        // A Finnish number has at least six digits after the country code, as after the trunk
        // zero at home (`+358 40 123` is cut short).
        let finnish_too_short = digits.strip_prefix("358").is_some_and(|n| n.len() < 6);
        (7..=15).contains(&digits.len()) && !digits.starts_with('0') && !finnish_too_short
    } else if digits.starts_with('0') {
        (7..=12).contains(&digits.len())
    } else {
        digits == "112" || (digits.len() == 6 && digits.starts_with("116"))
    };
    if ok { Ok(()) } else { Err(err()) }
}

/// Checks a number that [`check_phone`] accepts against the numbering plans as well, with the
/// `numbering` feature (the relay's); without it (the app's, whose size budget has no room for the
/// plans) every number passes.
///
/// A number without a country code is read as Finnish. Finnish service numbers (`112`,
/// `116 006`) are short codes, which the plans' metadata does not describe, and a sample-data
/// placeholder (`+358 0 …`, [`is_placeholder_phone`]) is never a real number, so both are left to
/// the rules of [`check_phone`] and [`validate_directory`]: what this adds is refusing a number
/// of the right shape that no Finnish (or foreign) number can be, such as `+358 12 345 678`
/// (no area code 12) or `+358 40 123` cut short.
#[cfg(feature = "numbering")]
pub fn check_numbering(number: &str) -> Result<(), PhoneError> {
    let n = number.trim();
    let short = !n.starts_with('+') && !n.starts_with('0');
    if short || is_placeholder_phone(n) {
        return Ok(());
    }
    match phonenumber::parse(Some(phonenumber::country::Id::FI), n) {
        Ok(parsed) if phonenumber::is_valid(&parsed) => Ok(()),
        _ => Err(PhoneError(number.to_owned())),
    }
}

/// Without the `numbering` feature, every number passes: see the feature's version.
#[cfg(not(feature = "numbering"))]
pub fn check_numbering(_number: &str) -> Result<(), PhoneError> {
    Ok(())
}

/// Whether a number is a placeholder for sample data: `+358 0…`. A real Finnish number never has
/// the trunk zero after the country code, so such a number can never ring anyone.
pub fn is_placeholder_phone(number: &str) -> bool {
    let n = number.trim();
    n.starts_with('+') && n.chars().filter(char::is_ascii_digit).collect::<String>().starts_with("3580")
}

/// A `tel:` link for a valid number, in international form where the number is Finnish national.
pub fn tel_uri(number: &str) -> Option<String> {
    check_phone(number).ok()?;
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    Some(if number.trim().starts_with('+') {
        format!("tel:+{digits}")
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("tel:+358{rest}")
    } else {
        format!("tel:{digits}")
    })
}

fn is_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        && !domain.contains('@')
}

fn two(s: &str) -> Option<u32> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Whether a text is a time of day `HH:MM`.
pub fn is_time(t: &str) -> bool {
    let Some((h, m)) = t.split_once(':') else { return false };
    matches!((two(h), two(m)), (Some(h), Some(m)) if h < 24 && m < 60)
}

/// Whether a text is a calendar date `YYYY-MM-DD`.
pub fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    matches!((two(&d[5..7]), two(&d[8..10])), (Some(m), Some(day)) if (1..=12).contains(&m) && (1..=31).contains(&day))
}

const HETU_CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
const HETU_CENTURY: &[u8] = b"+-ABCDEFYXWVU";

/// Whether a text contains something that looks like a Finnish personal identity code
/// (`DDMMYYCZZZQ`): a plausible date, a century sign, three digits, and the check character that
/// the nine digits give modulo 31. Only codes whose check character is right are reported, so
/// ordinary numbers rarely trip it.
pub fn contains_personal_id(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 11 {
        return false;
    }
    (0..=b.len() - 11).any(|i| {
        let w = &b[i..i + 11];
        let before_ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let after_ok = b.get(i + 11).is_none_or(|c| !c.is_ascii_alphanumeric());
        before_ok && after_ok && is_personal_id(w)
    })
}

fn is_personal_id(w: &[u8]) -> bool {
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    if !digits(&w[..6]) || !HETU_CENTURY.contains(&w[6]) || !digits(&w[7..10]) {
        return false;
    }
    let num = |r: &[u8]| r.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let (day, month) = (num(&w[0..2]), num(&w[2..4]));
    if !(1..=31).contains(&day) || !(1..=12).contains(&month) {
        return false;
    }
    let n = num(&w[..6]) * 1000 + num(&w[7..10]);
    HETU_CHECK[(n % 31) as usize] == w[10].to_ascii_uppercase()
}

/// The rank of an urgency for sorting steps nodes, most urgent first.
pub fn urgency_rank(u: &Urgency) -> u8 {
    match u {
        Urgency::Emergency => 0,
        Urgency::Urgent => 1,
        Urgency::Concern => 2,
        Urgency::Information => 3,
        Urgency::Other(_) => 4,
    }
}

/// Whether a card is shown to readers.
pub fn is_published(card: &GuidanceCard) -> bool {
    card.status == CardStatus::Published
}
