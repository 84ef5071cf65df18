//! What the screens show, computed from the synced documents: guidance cards with the contacts
//! resolved for the user's municipality, contact details, search, browsing by role.
//!
//! The results are small view structures serialised to JSON for the JavaScript side; domain
//! types stay in `directory` and are converted here, at the boundary. Nothing here reads a clock:
//! `today` (`YYYY-MM-DD`) and `now` (`mo 14:05`, local weekday and time) come from the caller.

use std::collections::BTreeMap;

use contactpoint_directory::model::{
    ContactPoint, Directory, DocumentKind, GuidanceCard, Node, ScheduleKind, Visibility, role_label,
};
use contactpoint_directory::resolve::MatchedBy;
use contactpoint_directory::search::EntryKind;
use contactpoint_directory::store::{read_directory, read_index};
use contactpoint_directory::text::{LocalizedText, is_rtl};
use contactpoint_directory::{Localities, SearchIndex, resolve_any, search_municipalities};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::{Automerge, ChangeHash};
use serde::Serialize;

/// A text in the language it was found in.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Text {
    /// The text.
    pub text: String,
    /// Its language.
    pub lang: String,
    /// Whether it is written right to left.
    pub rtl: bool,
}

fn pick(t: &LocalizedText, lang: &str) -> Option<Text> {
    t.pick(lang).map(|p| Text { text: p.text.to_owned(), lang: p.lang.to_owned(), rtl: is_rtl(p.lang) })
}

/// One phone number.
#[derive(Clone, Debug, Serialize)]
pub struct PhoneView {
    number: String,
    kind: String,
    description: Option<Text>,
}

/// A contact point as shown in a list or on its own page.
#[derive(Clone, Debug, Serialize)]
pub struct ContactView {
    id: String,
    name: Text,
    organisation: Option<Text>,
    description: Option<Text>,
    phones: Vec<PhoneView>,
    email: Option<String>,
    url: Option<String>,
    chat_url: Option<String>,
    hours: Vec<String>,
    open_now: Option<bool>,
    out_of_hours: bool,
    languages: Vec<String>,
    why: Option<String>,
    example: bool,
    stale: bool,
    verified_at: Option<String>,
    /// The day the entry was retired, if it was (editors see it with a way to restore it).
    retired: Option<String>,
    /// For a members-only entry, the areas whose members alone receive it, named in the UI
    /// language (the app labels the entry "only for members of …").
    #[serde(skip_serializing_if = "Option::is_none")]
    members_only: Option<String>,
    /// What the edit form starts from; only on a contact's own page.
    #[serde(skip_serializing_if = "Option::is_none")]
    form: Option<ContactForm>,
}

/// The stored values the edit form shows, in the form's language exactly (no fallback: the form
/// writes that language only).
#[derive(Clone, Debug, Serialize)]
pub struct ContactForm {
    description: String,
    hours_note: String,
    schedules: Vec<ScheduleForm>,
}

/// One stored schedule as the form's row: times empty when not set, days as weekday codes.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleForm {
    kind: String,
    days: Vec<String>,
    opens: String,
    closes: String,
}

impl ContactForm {
    fn new(c: &ContactPoint, lang: &str) -> Self {
        let exact = |t: &LocalizedText| t.0.get(lang).cloned().unwrap_or_default();
        ContactForm {
            description: exact(&c.description),
            hours_note: exact(&c.hours_note),
            schedules: c
                .schedules
                .iter()
                .map(|s| ScheduleForm {
                    kind: s.kind.as_str().to_owned(),
                    days: s.byday.iter().map(|d| d.as_str().to_owned()).collect(),
                    opens: s.opens_at.clone().unwrap_or_default(),
                    closes: s.closes_at.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// Days since 1970-01-01 for a date that starts `YYYY-MM-DD`, or `None`.
fn days(date: &str) -> Option<i64> {
    contactpoint_directory::dates::days(date.get(..10)?)
}

/// Entries not verified for this many days are labelled "may be out of date".
pub const STALE_AFTER_DAYS: i64 = 180;

/// Whether a contact point should carry the "may be out of date" label on `today`.
pub fn is_stale(c: &ContactPoint, today: &str) -> bool {
    let Some(t) = days(today) else { return false };
    let unverified = c.verified_at.as_deref().and_then(days).is_none_or(|v| t - v > STALE_AFTER_DAYS);
    let past_review = c.review_by.as_deref().and_then(days).is_some_and(|r| r < t);
    unverified || past_review
}

/// `Some(open)` when the contact has regular opening hours; `now` is `"mo 14:05"`.
/// A schedule without days is every day, without times all day; a closing time at or before the
/// opening time runs past midnight.
fn open_now(c: &ContactPoint, now: &str) -> Option<bool> {
    let (day, time) = now.split_once(' ')?;
    let regular: Vec<_> = c.schedules.iter().filter(|s| s.kind == ScheduleKind::Regular).collect();
    if regular.is_empty() {
        return None;
    }
    Some(regular.iter().any(|s| {
        let day_ok = s.byday.is_empty() || s.byday.iter().any(|d| d.as_str().eq_ignore_ascii_case(day));
        let time_ok = match (s.opens_at.as_deref(), s.closes_at.as_deref()) {
            (None, None) => true,
            (Some(o), Some(cl)) if cl <= o => time >= o || time < cl,
            (Some(o), Some(cl)) => o <= time && time < cl,
            (Some(o), None) => time >= o,
            (None, Some(cl)) => time < cl,
        };
        day_ok && time_ok
    }))
}

/// The column of the UI language in the small fi/sv/en tables below.
fn lang_column(lang: &str) -> usize {
    match lang {
        "fi" => 0,
        "sv" => 1,
        _ => 2,
    }
}

/// A weekday code (`MO`…`SU`) as a short name in the UI language.
fn weekday(code: &str, lang: &str) -> &'static str {
    const DAYS: [(&str, [&str; 3]); 7] = [
        ("MO", ["ma", "må", "Mon"]),
        ("TU", ["ti", "ti", "Tue"]),
        ("WE", ["ke", "on", "Wed"]),
        ("TH", ["to", "to", "Thu"]),
        ("FR", ["pe", "fr", "Fri"]),
        ("SA", ["la", "lö", "Sat"]),
        ("SU", ["su", "sö", "Sun"]),
    ];
    let i = lang_column(lang);
    DAYS.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map_or("?", |(_, n)| n[i])
}

/// A language code as a name in the UI language, for the languages a service is likely to offer.
fn language_name(code: &str, lang: &str) -> String {
    const NAMES: &[(&str, [&str; 3])] = &[
        ("fi", ["suomi", "finska", "Finnish"]),
        ("sv", ["ruotsi", "svenska", "Swedish"]),
        ("en", ["englanti", "engelska", "English"]),
        ("se", ["pohjoissaame", "nordsamiska", "Northern Sami"]),
        ("ru", ["venäjä", "ryska", "Russian"]),
        ("et", ["viro", "estniska", "Estonian"]),
        ("ar", ["arabia", "arabiska", "Arabic"]),
        ("so", ["somali", "somaliska", "Somali"]),
        ("fa", ["persia", "persiska", "Persian"]),
        ("prs", ["dari", "dari", "Dari"]),
        ("uk", ["ukraina", "ukrainska", "Ukrainian"]),
        ("fit", ["meänkieli", "meänkieli", "Meänkieli"]),
        ("fse", ["suomalainen viittomakieli", "finskt teckenspråk", "Finnish Sign Language"]),
    ];
    let i = lang_column(lang);
    NAMES.iter().find(|(c, _)| *c == code).map_or_else(|| code.to_owned(), |(_, n)| n[i].to_owned())
}

fn hours(c: &ContactPoint, lang: &str) -> Vec<String> {
    let mut out: Vec<String> = c
        .schedules
        .iter()
        .map(|s| {
            let days: Vec<&str> = s.byday.iter().map(|d| weekday(d.as_str(), lang)).collect();
            let mut line = match (s.opens_at.as_deref(), s.closes_at.as_deref()) {
                (Some(o), Some(cl)) => format!("{} {o}–{cl}", days.join(" ")),
                _ => days.join(" "),
            };
            if let Some(d) = pick(&s.description, lang) {
                if !line.trim().is_empty() {
                    line.push_str(" · ");
                }
                line.push_str(&d.text);
            }
            line.trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(n) = pick(&c.hours_note, lang) {
        out.push(n.text);
    }
    out
}

fn why_text(matched: MatchedBy, area_name: Option<String>, lang: &str) -> String {
    let name = area_name.unwrap_or_default();
    match (matched, lang) {
        (MatchedBy::Municipality, "fi") => format!("palvelee kuntaa {name}"),
        (MatchedBy::Municipality, "sv") => format!("betjänar kommunen {name}"),
        (MatchedBy::Municipality, _) => format!("serves the municipality of {name}"),
        (MatchedBy::County, "fi") => format!("hyvinvointialue: {name}"),
        (MatchedBy::County, "sv") => format!("välfärdsområde: {name}"),
        (MatchedBy::County, _) => format!("wellbeing services county: {name}"),
        (MatchedBy::Police, "fi") => format!("poliisilaitoksen alue: {name}"),
        (MatchedBy::Police, "sv") => format!("polisinrättningens område: {name}"),
        (MatchedBy::Police, _) => format!("police department area: {name}"),
        (MatchedBy::National, "fi") => "valtakunnallinen palvelu".into(),
        (MatchedBy::National, "sv") => "riksomfattande tjänst".into(),
        (MatchedBy::National, _) => "national service".into(),
    }
}

/// The documents as the views need them: parsed once per change.
#[derive(Default)]
pub struct Library {
    parsed: BTreeMap<DocumentId, (Vec<ChangeHash>, Directory)>,
    /// Built on the first search after a change, not at start-up: the home screen must not wait
    /// for an index of all of Finland that the first screen does not use.
    search: std::cell::OnceCell<SearchIndex>,
    order: Vec<DocumentId>,
}

/// A guidance card ready to walk.
#[derive(Serialize)]
struct CardView {
    slug: String,
    title: Text,
    summary: Option<Text>,
    start: String,
    stale: bool,
    nodes: BTreeMap<String, NodeView>,
    do_not: Vec<Text>,
    sources: Vec<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum NodeView {
    Question { text: Option<Text>, help: Option<Text>, answers: Vec<AnswerView> },
    Steps { urgency: String, heading: Option<Text>, steps: Vec<StepView> },
}

#[derive(Serialize)]
struct AnswerView {
    text: Option<Text>,
    next: String,
    danger_now: bool,
}

#[derive(Serialize)]
struct StepView {
    kind: String,
    text: Option<Text>,
    roles: Vec<String>,
    legal_basis: Option<String>,
    contacts: Vec<ContactView>,
}

/// How many contacts a guidance step shows (the most specific first).
const CONTACTS_PER_STEP: usize = 3;

impl Library {
    /// Re-reads the documents whose heads changed. `docs` are (id, document) pairs.
    pub fn refresh<'a>(&mut self, docs: impl IntoIterator<Item = (DocumentId, &'a Automerge)>) {
        let mut changed = false;
        let mut seen = std::collections::BTreeSet::new();
        for (id, doc) in docs {
            let heads = doc.get_heads();
            seen.insert(id);
            if self.parsed.get(&id).is_some_and(|(h, _)| *h == heads) {
                continue;
            }
            // A document that is not (yet) a directory, such as the index, is skipped here.
            if let Ok(d) = read_directory(doc)
                && d.kind != Some(DocumentKind::Index)
            {
                self.parsed.insert(id, (heads, d));
            } else {
                self.parsed.remove(&id);
            }
            changed = true;
        }
        let before = self.parsed.len();
        self.parsed.retain(|k, _| seen.contains(k));
        if changed || before != self.parsed.len() {
            self.order = self.parsed.keys().cloned().collect();
            self.search = std::cell::OnceCell::new();
        }
    }

    fn directories(&self) -> impl Iterator<Item = &Directory> {
        self.order.iter().filter_map(|k| self.parsed.get(k).map(|(_, d)| d))
    }

    fn contact_by_id(&self, id: &str) -> Option<(&Directory, &ContactPoint)> {
        self.directories().find_map(|d| d.contact_points.get(id).map(|c| (d, c)))
    }

    fn contact_view(&self, c: &ContactPoint, lang: &str, today: &str, now: &str, why: Option<String>) -> ContactView {
        let organisation = c
            .organisation_id
            .as_deref()
            .and_then(|o| self.directories().find_map(|d| d.organisations.get(o)))
            .and_then(|o| pick(&o.name, lang));
        ContactView {
            id: c.id.clone(),
            name: pick(&c.name, lang).unwrap_or(Text { text: c.id.clone(), lang: "und".into(), rtl: false }),
            organisation,
            description: pick(&c.description, lang),
            phones: c
                .phones
                .iter()
                .map(|p| PhoneView {
                    number: p.number.clone(),
                    kind: p.kind.as_str().to_owned(),
                    description: pick(&p.description, lang),
                })
                .collect(),
            email: c.email.clone(),
            url: c.url.clone(),
            chat_url: c.chat_url.clone(),
            hours: hours(c, lang),
            open_now: open_now(c, now),
            out_of_hours: c.schedules.iter().any(|s| s.kind == ScheduleKind::OutOfHours),
            languages: c.languages.iter().map(|l| language_name(l, lang)).collect(),
            why,
            example: c.example,
            // Example entries carry their own label; "may be out of date" is for real ones.
            stale: !c.example && is_stale(c, today),
            // Example data is never shown as checked, whatever an editor marked on it.
            verified_at: c.verified_at.clone().filter(|_| !c.example),
            retired: c.retired.clone(),
            members_only: (c.visibility() == Visibility::AreaMembers)
                .then(|| c.areas.iter().map(|a| a.name(lang)).collect::<Vec<_>>().join(", ")),
            form: None,
        }
    }

    fn resolved(
        &self,
        municipality: &str,
        roles: &[&str],
        lang: &str,
        today: &str,
        now: &str,
        limit: usize,
    ) -> Vec<ContactView> {
        // The most specific contacts are chosen, so the same ones show at any hour; among them
        // what can help now comes first: open now (round the clock included), then services
        // without opening hours (helplines, 112), then those closed now, most specific first
        // within each.
        let mut found: Vec<_> = resolve_any(self.directories(), municipality, roles).into_iter().take(limit).collect();
        found.sort_by_key(|r| match open_now(r.contact, now) {
            Some(true) => 0,
            None => 1,
            Some(false) => 2,
        });
        found
            .into_iter()
            .map(|r| {
                let why = why_text(r.matched_by, r.area.map(|a| a.name(lang)), lang);
                self.contact_view(r.contact, lang, today, now, Some(why))
            })
            .collect()
    }

    /// The card to show for a national card at this municipality: a local override from an
    /// area document covering the municipality replaces the national one.
    fn effective_card<'a>(&'a self, card: &'a GuidanceCard, municipality: &str) -> &'a GuidanceCard {
        let l = Localities::get();
        let Some(m) = l.municipality(municipality) else { return card };
        for d in self.directories() {
            let covers = match &d.area {
                Some(contactpoint_directory::Area::Municipality(c)) => *c == m.code,
                Some(contactpoint_directory::Area::County(c)) => *c == m.wellbeing_county,
                Some(contactpoint_directory::Area::Police(p)) => *p == m.police_department,
                None => false,
            };
            if !covers {
                continue;
            }
            if let Some(o) = d
                .cards
                .values()
                .find(|o| o.overrides.as_deref() == Some(card.id.as_str()) && o.status.as_str() == "published")
            {
                return o;
            }
        }
        card
    }

    fn national_cards(&self) -> impl Iterator<Item = &GuidanceCard> {
        self.directories()
            .filter(|d| d.is_national())
            .flat_map(|d| d.cards.values())
            .filter(|c| c.status.as_str() == "published")
    }

    /// The guidance topics for the home screen, as JSON.
    pub fn topics(&self, lang: &str, today: &str) -> String {
        #[derive(Serialize)]
        struct Topic {
            slug: String,
            title: Option<Text>,
            summary: Option<Text>,
            topics: Vec<String>,
            stale: bool,
        }
        let list: Vec<Topic> = self
            .national_cards()
            .map(|c| Topic {
                slug: c.slug.clone(),
                title: pick(&c.title, lang),
                summary: pick(&c.summary, lang),
                topics: c.topics.clone(),
                stale: c.is_out_of_date(today),
            })
            .collect();
        serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
    }

    /// A guidance card with every step's contacts resolved, as JSON (`null` if unknown).
    pub fn card(&self, slug: &str, municipality: &str, lang: &str, today: &str, now: &str) -> String {
        let Some(national) = self.national_cards().find(|c| c.slug == slug) else { return "null".into() };
        let card = self.effective_card(national, municipality);
        let nodes = card
            .nodes
            .iter()
            .map(|(id, n)| {
                let v = match n {
                    Node::Question { text, help, answers } => NodeView::Question {
                        text: pick(text, lang),
                        help: pick(help, lang),
                        answers: answers
                            .iter()
                            .map(|a| AnswerView {
                                text: pick(&a.text, lang),
                                next: a.next.clone(),
                                danger_now: a.danger_now,
                            })
                            .collect(),
                    },
                    Node::Steps { urgency, heading, steps } => NodeView::Steps {
                        urgency: urgency.as_str().to_owned(),
                        heading: pick(heading, lang),
                        steps: steps
                            .iter()
                            .map(|s| {
                                let roles: Vec<&str> = s.roles.iter().map(String::as_str).collect();
                                StepView {
                                    kind: s.kind.as_str().to_owned(),
                                    text: pick(&s.text, lang),
                                    roles: s.roles.clone(),
                                    legal_basis: s.legal_basis.as_deref().map(|l| legal_basis(l, lang)),
                                    contacts: if roles.is_empty() {
                                        Vec::new()
                                    } else {
                                        self.resolved(municipality, &roles, lang, today, now, CONTACTS_PER_STEP)
                                    },
                                }
                            })
                            .collect(),
                    },
                };
                (id.clone(), v)
            })
            .collect();
        let view = CardView {
            slug: card.slug.clone(),
            title: pick(&card.title, lang).unwrap_or(Text { text: card.slug.clone(), lang: "und".into(), rtl: false }),
            summary: pick(&card.summary, lang),
            start: card.start.clone(),
            stale: card.is_out_of_date(today),
            nodes,
            do_not: card.do_not.iter().filter_map(|d| pick(d, lang)).collect(),
            sources: card.sources.clone(),
        };
        serde_json::to_string(&view).unwrap_or_else(|_| "null".into())
    }

    /// One contact point with what its edit form starts from (`form`), as JSON (`null` if
    /// unknown).
    pub fn contact(&self, id: &str, municipality: &str, lang: &str, today: &str, now: &str) -> String {
        let Some((_, c)) = self.contact_by_id(id) else { return "null".into() };
        let why =
            resolve_any(self.directories(), municipality, &c.roles.iter().map(String::as_str).collect::<Vec<_>>())
                .into_iter()
                .find(|r| r.contact.id == c.id)
                .map(|r| why_text(r.matched_by, r.area.map(|a| a.name(lang)), lang));
        let view = ContactView { form: Some(ContactForm::new(c, lang)), ..self.contact_view(c, lang, today, now, why) };
        serde_json::to_string(&view).unwrap_or_else(|_| "null".into())
    }

    /// Search results for type-ahead, as JSON.
    pub fn search(&self, query: &str, municipality: Option<&str>, lang: &str) -> String {
        #[derive(Serialize)]
        struct HitView {
            href: String,
            title: String,
            subtitle: String,
        }
        let index = self.search.get_or_init(|| SearchIndex::build(self.directories()));
        let docs: Vec<&Directory> = self.directories().collect();
        // All of Finland, nearest to the user's municipality first.
        let found = match municipality {
            Some(home) => index.search_near(query, home, 20),
            None => index.search(query, None, 20),
        };
        let hits: Vec<HitView> = found
            .into_iter()
            .filter_map(|h| {
                let d = docs.get(h.document)?;
                match h.kind {
                    EntryKind::ContactPoint => {
                        let c = d.contact_points.get(&h.id)?;
                        let roles: Vec<&str> = c.roles.iter().filter_map(|r| role_label(r, lang)).collect();
                        Some(HitView {
                            href: contact_href(&c.id),
                            title: pick(&c.name, lang).map(|t| t.text).unwrap_or_default(),
                            subtitle: roles.join(", "),
                        })
                    }
                    EntryKind::Organisation => {
                        let o = d.organisations.get(&h.id)?;
                        let first = d
                            .contact_points
                            .values()
                            .find(|c| !c.is_retired() && c.organisation_id.as_deref() == Some(o.id.as_str()))?;
                        // The result opens a service, so it is titled by that service; the
                        // organisation that matched is named under it.
                        Some(HitView {
                            href: contact_href(&first.id),
                            title: pick(&first.name, lang).map(|t| t.text).unwrap_or_default(),
                            subtitle: pick(&o.name, lang).map(|t| t.text).unwrap_or_default(),
                        })
                    }
                }
            })
            .collect();
        serde_json::to_string(&hits).unwrap_or_else(|_| "[]".into())
    }

    /// Every role's contacts for the municipality, as JSON groups.
    pub fn browse(&self, municipality: &str, lang: &str, today: &str, now: &str) -> String {
        #[derive(Serialize)]
        struct Group {
            role: String,
            label: String,
            contacts: Vec<ContactView>,
        }
        let groups: Vec<Group> = contactpoint_directory::model::ROLES
            .iter()
            .map(|r| Group {
                role: (*r).to_owned(),
                label: role_label(r, lang).unwrap_or(r).to_owned(),
                contacts: self.resolved(municipality, &[r], lang, today, now, usize::MAX),
            })
            .filter(|g| !g.contacts.is_empty())
            .collect();
        serde_json::to_string(&groups).unwrap_or_else(|_| "[]".into())
    }
}

/// One entry of the review queue.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ReviewItem {
    /// `contact` or `card`.
    pub kind: &'static str,
    /// The entry's id.
    pub id: String,
    /// Its name or title.
    pub title: String,
    /// The area whose document holds it (`national` for the national document).
    pub area: String,
    /// Why it is listed: `replace_example`, `never_verified`, `not_verified_recently`,
    /// `review_date_passed` or `card_review_due`.
    pub reason: &'static str,
    /// The date the reason refers to, if any.
    pub since: Option<String>,
}

impl Library {
    /// What the editor of `areas` should check (`*` for an admin: every document): contacts not
    /// verified for [`STALE_AFTER_DAYS`] days or past their review date, and guidance cards past
    /// their `next_review_due`; example entries, which are to be replaced with real data, first.
    /// Retired entries are not listed. Oldest problems first.
    pub fn review_queue(&self, areas: &[String], today: &str, lang: &str) -> Vec<ReviewItem> {
        let Some(t) = days(today) else { return Vec::new() };
        let mut out = Vec::new();
        for d in self.directories() {
            let key = contactpoint_directory::hsds::document_key(d);
            if !areas.iter().any(|a| *a == key || a == "*") {
                continue;
            }
            for c in d.contact_points.values().filter(|c| !c.is_retired()) {
                let title = pick(&c.name, lang).map(|p| p.text).unwrap_or_else(|| c.id.clone());
                let verified = c.verified_at.as_deref().and_then(days);
                let reason = match (verified, c.review_by.as_deref().and_then(days)) {
                    _ if c.example => Some(("replace_example", None)),
                    (_, Some(r)) if r < t => Some(("review_date_passed", c.review_by.clone())),
                    (None, _) => Some(("never_verified", None)),
                    (Some(v), _) if t - v > STALE_AFTER_DAYS => Some(("not_verified_recently", c.verified_at.clone())),
                    _ => None,
                };
                if let Some((reason, since)) = reason {
                    out.push(ReviewItem { kind: "contact", id: c.id.clone(), title, area: key.clone(), reason, since });
                }
            }
            for card in d.cards.values().filter(|c| c.is_out_of_date(today)) {
                let title = pick(&card.title, lang).map(|p| p.text).unwrap_or_else(|| card.slug.clone());
                out.push(ReviewItem {
                    kind: "card",
                    id: card.id.clone(),
                    title,
                    area: key.clone(),
                    reason: "card_review_due",
                    since: card.next_review_due.clone(),
                });
            }
        }
        out.sort_by(|a, b| {
            (a.reason != "replace_example")
                .cmp(&(b.reason != "replace_example"))
                .then_with(|| a.since.cmp(&b.since))
                .then_with(|| a.title.cmp(&b.title))
        });
        out
    }
}

/// A retired contact point, for the editors who may restore it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RetiredItem {
    /// The entry's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The day it was retired (`YYYY-MM-DD`).
    pub retired: String,
    /// The area whose document holds it (`national` for the national document).
    pub area: String,
}

/// A directory document a new contact point can be added to.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DocumentItem {
    /// `national` or the area (`municipality:091`), the key `addContact` takes.
    pub area: String,
    /// The document's title.
    pub title: String,
}

/// An organisation a new contact point can belong to.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OrganisationItem {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl Library {
    /// The retired contact points of the documents of `areas` (`*` for an admin: every document),
    /// most recently retired first.
    pub fn retired(&self, areas: &[String], lang: &str) -> Vec<RetiredItem> {
        let mut out = Vec::new();
        for d in self.directories() {
            let key = contactpoint_directory::hsds::document_key(d);
            if !areas.iter().any(|a| *a == key || a == "*") {
                continue;
            }
            for c in d.contact_points.values() {
                let Some(retired) = &c.retired else { continue };
                out.push(RetiredItem {
                    id: c.id.clone(),
                    name: pick(&c.name, lang).map(|p| p.text).unwrap_or_else(|| c.id.clone()),
                    retired: retired.clone(),
                    area: key.clone(),
                });
            }
        }
        out.sort_by(|a, b| b.retired.cmp(&a.retired).then_with(|| a.name.cmp(&b.name)));
        out
    }

    /// The directory documents, national first, then by title.
    pub fn documents(&self, lang: &str) -> Vec<DocumentItem> {
        let mut out: Vec<(bool, DocumentItem)> = self
            .directories()
            // A document still empty (not yet synced) is neither national nor an area's.
            .filter(|d| d.is_national() || d.area.is_some())
            .map(|d| {
                let area = contactpoint_directory::hsds::document_key(d);
                let title = pick(&d.title, lang).map(|p| p.text).unwrap_or_else(|| area.clone());
                (!d.is_national(), DocumentItem { area, title })
            })
            .collect();
        out.sort_by(|a, b| (a.0, &a.1.title).cmp(&(b.0, &b.1.title)));
        out.into_iter().map(|(_, d)| d).collect()
    }

    /// The organisations of the document of `area_key`, by name.
    pub fn organisations(&self, area_key: &str, lang: &str) -> Vec<OrganisationItem> {
        let Some(d) = self.document_for_area(area_key).and_then(|id| self.parsed.get(&id).map(|(_, d)| d)) else {
            return Vec::new();
        };
        let mut out: Vec<OrganisationItem> = d
            .organisations
            .values()
            .map(|o| OrganisationItem {
                id: o.id.clone(),
                name: pick(&o.name, lang).map(|p| p.text).unwrap_or_else(|| o.id.clone()),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The contents of the directory document of `area_key` (`national` or an area).
    pub fn directory_for_area(&self, area_key: &str) -> Option<&Directory> {
        self.document_for_area(area_key).and_then(|id| self.parsed.get(&id).map(|(_, d)| d))
    }

    /// The area documents that cover a municipality, most specific first (municipality, county,
    /// police department), as `(area key, title)`.
    pub fn areas_covering(&self, municipality: &str, lang: &str) -> Vec<(String, String)> {
        let Some(m) = Localities::get().municipality(municipality) else { return Vec::new() };
        let mut out: Vec<(u8, String, String)> = self
            .directories()
            .filter_map(|d| {
                let rank = match d.area.as_ref()? {
                    contactpoint_directory::Area::Municipality(c) if *c == m.code => 0,
                    contactpoint_directory::Area::County(c) if *c == m.wellbeing_county => 1,
                    contactpoint_directory::Area::Police(p) if *p == m.police_department => 2,
                    _ => return None,
                };
                let key = contactpoint_directory::hsds::document_key(d);
                Some((rank, key.clone(), pick(&d.title, lang).map(|p| p.text).unwrap_or(key)))
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, k, t)| (k, t)).collect()
    }

    /// The id of the directory document of `area_key` (`national` or an area).
    pub fn document_for_area(&self, area_key: &str) -> Option<DocumentId> {
        crate::edit::find_area_document(
            self.order.iter().filter_map(|k| self.parsed.get(k).map(|(_, d)| (*k, d))),
            area_key,
        )
    }
}

/// The acts a step's legal basis may name, by their English name: (English, Finnish, Swedish).
const ACTS: &[(&str, &str, &str)] = &[
    ("Child Welfare Act", "Lastensuojelulaki", "Barnskyddslagen"),
    ("Social Welfare Act", "Sosiaalihuoltolaki", "Socialvårdslagen"),
    ("Police Act", "Poliisilaki", "Polislagen"),
    ("Criminal Code", "Rikoslaki", "Strafflagen"),
    ("Basic Education Act", "Perusopetuslaki", "Lagen om grundläggande utbildning"),
    ("Act on Student Welfare", "Oppilas- ja opiskelijahuoltolaki", "Lagen om elev- och studerandevård"),
];

/// A legal basis written as in the guidance (`Child Welfare Act 417/2007 §25`) in the language
/// `lang`, as Finnish statutes are cited there (`Lastensuojelulaki 417/2007, 25 §`); a basis
/// naming another act is shown as written.
pub fn legal_basis(basis: &str, lang: &str) -> String {
    let Some((en, fi, sv)) = ACTS.iter().find(|(en, _, _)| basis.starts_with(&format!("{en} "))) else {
        return basis.to_owned();
    };
    let rest = basis[en.len()..].trim();
    let (number, section) = match rest.split_once('§') {
        Some((number, section)) => (number.trim(), Some(section.trim())),
        None => (rest, None),
    };
    let name = match lang {
        "fi" => fi,
        "sv" => sv,
        _ => return basis.to_owned(),
    };
    match section {
        Some(section) if !section.is_empty() => format!("{name} {number}, {section} §"),
        _ => format!("{name} {number}"),
    }
}

/// Every contact role with its name in `lang`, in the order guidance uses them, as JSON
/// (`[{"role": "anchor_team", "label": "Ankkuritiimi"}, …]`).
pub fn roles(lang: &str) -> String {
    #[derive(Serialize)]
    struct RoleView {
        role: &'static str,
        label: &'static str,
    }
    let list: Vec<RoleView> = contactpoint_directory::model::ROLES
        .iter()
        .map(|r| RoleView { role: r, label: role_label(r, lang).unwrap_or(r) })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

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
struct MunicipalityView {
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

/// The app's link to a contact: its id escaped as JavaScript's `encodeURIComponent` does, which
/// the router undoes, so that an id with `/`, `#`, `%` or a space (an imported one may have any)
/// opens that contact.
pub fn contact_href(id: &str) -> String {
    let mut out = String::from("#/contact/");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search hit links to its contact however odd the id: one that holds the router's `/`,
    /// an escape's `%`, a `#`, a space and a letter outside ASCII arrives in one piece.
    #[test]
    fn links_to_contacts_are_escaped() {
        let id = "hsds/a b%2F#ä";
        let mut helsinki = Directory::for_area(
            contactpoint_directory::Area::Municipality("091".into()),
            LocalizedText::fi_sv_en("H", "H", "H"),
        );
        let contact = ContactPoint {
            id: id.into(),
            name: LocalizedText::fi_sv_en("Kummallinen", "Kummallinen", "Kummallinen"),
            ..ContactPoint::default()
        };
        helsinki.contact_points.insert(id.into(), contact);
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        contactpoint_directory::store::write_directory(&mut tx, &helsinki).unwrap();
        tx.commit();
        let mut lib = Library::default();
        lib.refresh([(DocumentId::from_random_bytes([1; 16]), &doc)]);
        let hits: serde_json::Value = serde_json::from_str(&lib.search("kummallinen", Some("091"), "fi")).unwrap();
        assert_eq!(hits[0]["href"], "#/contact/hsds%2Fa%20b%252F%23%C3%A4", "{hits}");
        assert_eq!(contact_href("plain-id_1.x"), "#/contact/plain-id_1.x");
    }

    #[test]
    fn dates_and_staleness() {
        assert_eq!(days("1970-01-01"), Some(0));
        assert_eq!(days("2000-03-01"), Some(11_017));
        assert_eq!(days("2026-11-24").zip(days("2026-05-28")).map(|(a, b)| a - b), Some(180));
        assert_eq!(days("not a date"), None);
        let mut c = ContactPoint { verified_at: Some("2026-06-01".into()), ..ContactPoint::default() };
        assert!(!is_stale(&c, "2026-11-24"));
        c.verified_at = Some("2026-05-01".into());
        assert!(is_stale(&c, "2026-11-24"));
        c.verified_at = None;
        assert!(is_stale(&c, "2026-11-24"), "never verified is stale");
    }

    /// The seed's documents in a library, as the app holds them.
    fn seeded_library() -> (Vec<Automerge>, Library) {
        let docs: Vec<Automerge> = contactpoint_directory::seed::directories("2026-11-24")
            .unwrap()
            .iter()
            .map(|d| {
                let mut doc = Automerge::new();
                let mut tx = doc.transaction();
                contactpoint_directory::store::write_directory(&mut tx, d).unwrap();
                tx.commit();
                doc
            })
            .collect();
        let mut lib = Library::default();
        lib.refresh(docs.iter().enumerate().map(|(i, d)| (DocumentId::from_random_bytes([i as u8; 16]), d)));
        (docs, lib)
    }

    /// The names of the contacts on a steps node's step of the given kind.
    fn step_contacts(lib: &Library, slug: &str, node: &str, kind: &str, now: &str) -> Vec<String> {
        let card: serde_json::Value = serde_json::from_str(&lib.card(slug, "091", "en", "2026-11-24", now)).unwrap();
        let steps = card["nodes"][node]["steps"].as_array().unwrap();
        let step = steps.iter().find(|s| s["kind"] == kind).unwrap();
        step["contacts"].as_array().unwrap().iter().map(|c| c["name"]["text"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn what_can_help_now_comes_first_on_a_step() {
        let (_docs, lib) = seeded_library();
        // Saturday night: the child-welfare office is closed, the social emergency service is
        // open round the clock.
        let night = step_contacts(&lib, "worried-about-young-person", "emergency", "notify", "SA 02:00");
        assert!(night[0].contains("Social emergency"), "{night:?}");
        // A weekday morning: both are open, and the most specific (the city's intake) leads.
        let day = step_contacts(&lib, "worried-about-young-person", "emergency", "notify", "TU 10:00");
        assert!(day[0].contains("Child welfare"), "{day:?}");
    }

    /// A generated fixture with known dates; "today" is injected.
    #[test]
    fn the_review_queue_lists_exactly_the_stale_entries_of_the_editors_areas() {
        use contactpoint_directory::model::{CardStatus, GuidanceCard};
        use contactpoint_directory::store::write_directory;
        let contact = |id: &str, verified: Option<&str>, review_by: Option<&str>, example: bool| ContactPoint {
            id: id.into(),
            name: LocalizedText::fi_sv_en(id, id, id),
            verified_at: verified.map(Into::into),
            review_by: review_by.map(Into::into),
            example,
            ..ContactPoint::default()
        };
        let mut helsinki = Directory::for_area(
            contactpoint_directory::Area::Municipality("091".into()),
            LocalizedText::fi_sv_en("H", "H", "H"),
        );
        for c in [
            contact("fresh", Some("2026-10-01"), None, false),
            contact("old", Some("2026-03-01"), None, false),
            contact("edge-180", Some("2026-05-28"), None, false),
            contact("edge-181", Some("2026-05-27"), None, false),
            contact("never", None, None, false),
            contact("review-passed", Some("2026-11-01"), Some("2026-11-23"), false),
            contact("review-today", Some("2026-11-01"), Some("2026-11-24"), false),
            contact("example-old", Some("2020-01-01"), None, true),
        ] {
            helsinki.contact_points.insert(c.id.clone(), c);
        }
        let card = |id: &str, due: &str| GuidanceCard {
            id: id.into(),
            slug: id.into(),
            status: CardStatus::Published,
            audiences: vec![],
            topics: vec![],
            title: LocalizedText::fi_sv_en(id, id, id),
            summary: LocalizedText::new(),
            start: "s".into(),
            nodes: BTreeMap::new(),
            do_not: vec![],
            sources: vec![],
            last_reviewed: None,
            next_review_due: Some(due.into()),
            overrides: None,
        };
        helsinki.cards.insert("card-due".into(), card("card-due", "2026-11-01"));
        helsinki.cards.insert("card-ok".into(), card("card-ok", "2027-01-01"));
        let mut turku = Directory::for_area(
            contactpoint_directory::Area::Municipality("853".into()),
            LocalizedText::fi_sv_en("T", "T", "T"),
        );
        turku.contact_points.insert("turku-never".into(), contact("turku-never", None, None, false));
        let docs: Vec<Automerge> = [helsinki, turku]
            .iter()
            .map(|d| {
                let mut doc = Automerge::new();
                let mut tx = doc.transaction();
                write_directory(&mut tx, d).unwrap();
                tx.commit();
                doc
            })
            .collect();
        let mut lib = Library::default();
        lib.refresh(docs.iter().enumerate().map(|(i, d)| (DocumentId::from_random_bytes([i as u8; 16]), d)));
        let queue = lib.review_queue(&["municipality:091".into()], "2026-11-24", "en");
        let listed: Vec<(&str, &str)> = queue.iter().map(|i| (i.id.as_str(), i.reason)).collect();
        assert_eq!(
            listed,
            vec![
                ("example-old", "replace_example"),
                ("never", "never_verified"),
                ("old", "not_verified_recently"),
                ("edge-181", "not_verified_recently"),
                ("card-due", "card_review_due"),
                ("review-passed", "review_date_passed"),
            ]
        );
        assert!(lib.review_queue(&[], "2026-11-24", "en").is_empty(), "no areas, nothing to review");
        assert_eq!(lib.review_queue(&["municipality:853".into()], "2026-11-24", "en").len(), 1);
    }

    #[test]
    fn codes_are_shown_in_the_ui_language() {
        assert_eq!(weekday("MO", "fi"), "ma");
        assert_eq!(weekday("SU", "sv"), "sö");
        assert_eq!(language_name("sv", "fi"), "ruotsi");
        assert_eq!(language_name("xx", "fi"), "xx", "unknown codes are shown as they are");
    }

    #[test]
    fn legal_bases_are_cited_in_the_ui_language() {
        let basis = "Child Welfare Act 417/2007 §25";
        assert_eq!(legal_basis(basis, "fi"), "Lastensuojelulaki 417/2007, 25 §");
        assert_eq!(legal_basis(basis, "sv"), "Barnskyddslagen 417/2007, 25 §");
        assert_eq!(legal_basis(basis, "en"), basis);
        assert_eq!(legal_basis("Some Other Act 1/2000 §1", "fi"), "Some Other Act 1/2000 §1");
    }

    #[test]
    fn opening_hours() {
        use contactpoint_directory::model::{Schedule, Weekday};
        let sched = |byday: Vec<Weekday>, o: Option<&str>, c: Option<&str>| Schedule {
            kind: ScheduleKind::Regular,
            byday,
            opens_at: o.map(Into::into),
            closes_at: c.map(Into::into),
            description: LocalizedText::new(),
        };
        let with = |s: Schedule| ContactPoint { schedules: vec![s], ..ContactPoint::default() };
        assert_eq!(open_now(&with(sched(vec![], None, None)), "su 03:00"), Some(true), "round the clock");
        let office = with(sched(vec![Weekday::Mo, Weekday::Fr], Some("08:00"), Some("16:00")));
        assert_eq!(open_now(&office, "mo 08:00"), Some(true));
        assert_eq!(open_now(&office, "mo 16:00"), Some(false));
        assert_eq!(open_now(&office, "sa 10:00"), Some(false));
        let night = with(sched(vec![], Some("16:00"), Some("08:00")));
        assert_eq!(open_now(&night, "tu 23:30"), Some(true));
        assert_eq!(open_now(&night, "tu 07:59"), Some(true));
        assert_eq!(open_now(&night, "tu 12:00"), Some(false));
        assert_eq!(open_now(&ContactPoint::default(), "tu 12:00"), None, "no hours, no claim");
    }

    #[test]
    fn municipality_lookup_in_both_languages() {
        let v: serde_json::Value = serde_json::from_str(&municipality("091", "sv")).unwrap();
        assert_eq!(v["name"], "Helsingfors");
        assert_eq!(v["other_name"], "Helsinki");
        let v: serde_json::Value = serde_json::from_str(&municipalities("helsingfors", "fi")).unwrap();
        assert_eq!(v[0]["code"], "091");
        assert_eq!(municipality("999", "fi"), "null");
    }
}
