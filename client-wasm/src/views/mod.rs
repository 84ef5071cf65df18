//! What the screens show, computed from the synced documents: guidance cards with the contacts
//! resolved for the user's municipality, contact details, search, browsing by role.
//!
//! The results are small view structures serialised to JSON for the JavaScript side; domain
//! types stay in `directory` and are converted here, at the boundary. Nothing here reads a clock:
//! `today` (`YYYY-MM-DD`) and `now` (`mo 14:05`, local weekday and time) come from the caller.
//!
//! `Library` is the cache: the documents parsed once per change. The screens' own files:
//! `contact.rs` (a contact's view, form and link), `time.rs` (staleness, open now, hours),
//! `words.rs` (the views' words in three languages), `editors.rs` (review queue, retired
//! entries, documents and organisations), `places.rs` (catalogue ids and municipalities).

mod contact;
mod editors;
mod places;
mod time;
mod words;

pub use contact::{ContactForm, ContactView, PhoneView, ScheduleForm, contact_href};
pub use editors::{Areas, DocumentItem, OrganisationItem, RetiredItem, ReviewItem};
pub use places::{document_ids, municipalities, municipality, national_document_ids};
pub use time::{STALE_AFTER_DAYS, is_stale};
pub use words::{legal_basis, roles};
#[cfg(test)]
pub(crate) use {places::MunicipalityView, words::RoleView};

use std::collections::BTreeMap;

use contactpoint_directory::model::{
    ContactPoint, Directory, GuidanceCard, Node, ScheduleKind, Visibility, role_label,
};
use contactpoint_directory::search::EntryKind;
use contactpoint_directory::store::{StoreError, read_directory};
use contactpoint_directory::text::{LocalizedText, is_rtl};
use contactpoint_directory::{Localities, SearchIndex, resolve_any};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::{Automerge, ChangeHash};
use serde::Serialize;

use time::{hours, open_now};
use words::{language_name, why_text};

/// A text in the language it was found in.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Text {
    /// The text.
    pub text: String,
    /// Its language.
    pub lang: String,
    /// Whether it is written right to left.
    pub rtl: bool,
}

pub(crate) fn pick(t: &LocalizedText, lang: &str) -> Option<Text> {
    t.pick(lang).map(|p| Text { text: p.text.to_owned(), lang: p.lang.to_owned(), rtl: is_rtl(p.lang) })
}

/// The documents as the views need them: parsed once per change.
#[derive(Default)]
pub struct Library {
    parsed: BTreeMap<DocumentId, (Vec<ChangeHash>, Directory)>,
    /// Built on the first search after a change, not at start-up: the home screen must not wait
    /// for an index of all of Finland that the first screen does not use.
    search: std::cell::OnceCell<SearchIndex>,
    order: Vec<DocumentId>,
    /// The documents that could not be read at their present heads, with the cause. The views
    /// keep the last copy that could be read, so a contact never vanishes from the screen
    /// because of one bad change.
    /// (Rarely more than none, so a list.)
    unreadable: Vec<(DocumentId, Vec<ChangeHash>, String)>,
}

/// A document the views could not read: the app says so and shows its last readable copy.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Unreadable {
    /// The document's id.
    pub doc: String,
    /// Why it could not be read (the reader's words).
    pub reason: String,
    /// Whether an earlier copy is still shown.
    pub kept: bool,
}

/// A guidance card ready to walk.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct CardView {
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
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) enum NodeView {
    Question { text: Option<Text>, help: Option<Text>, answers: Vec<AnswerView> },
    Steps { urgency: String, heading: Option<Text>, steps: Vec<StepView> },
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct AnswerView {
    text: Option<Text>,
    next: String,
    danger_now: bool,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct StepView {
    kind: String,
    text: Option<Text>,
    roles: Vec<String>,
    legal_basis: Option<String>,
    contacts: Vec<ContactView>,
}

/// A guidance topic on the home screen.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct Topic {
    slug: String,
    title: Option<Text>,
    summary: Option<Text>,
    topics: Vec<String>,
    stale: bool,
}

/// A search result: the link it opens and its two lines.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct HitView {
    href: String,
    title: String,
    subtitle: String,
}

/// A role's contacts for a municipality.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct Group {
    role: String,
    label: String,
    contacts: Vec<ContactView>,
}

/// How many contacts a guidance step shows (the most specific first).
const CONTACTS_PER_STEP: usize = 3;

impl Library {
    /// Re-reads the documents whose heads changed. `docs` are (id, document) pairs.
    pub fn refresh<'a>(&mut self, docs: impl IntoIterator<Item = (DocumentId, &'a Automerge)>) {
        self.refresh_with(docs, read_directory)
    }

    /// `refresh` with the reader given, so a test can make a document fail to read.
    pub(crate) fn refresh_with<'a>(
        &mut self,
        docs: impl IntoIterator<Item = (DocumentId, &'a Automerge)>,
        read: impl Fn(&Automerge) -> Result<Directory, StoreError>,
    ) {
        let mut changed = false;
        let mut seen = std::collections::BTreeSet::new();
        for (id, doc) in docs {
            let heads = doc.get_heads();
            seen.insert(id);
            if self.parsed.get(&id).is_some_and(|(h, _)| *h == heads)
                || self.unreadable.iter().any(|(i, h, _)| *i == id && *h == heads)
            {
                continue;
            }
            self.unreadable.retain(|(i, _, _)| *i != id);
            match read(doc) {
                Ok(d) => {
                    self.parsed.insert(id, (heads, d));
                }
                // The catalogue of documents is not a directory: nothing of it is shown.
                Err(StoreError::WrongKind { .. }) => {
                    self.parsed.remove(&id);
                }
                // Anything else is a failure: keep what was last read and say why.
                Err(e) => {
                    self.unreadable.push((id, heads, e.to_string()));
                }
            }
            changed = true;
        }
        let before = self.parsed.len();
        self.parsed.retain(|k, _| seen.contains(k));
        self.unreadable.retain(|(k, _, _)| seen.contains(k));
        if changed || before != self.parsed.len() {
            self.order = self.parsed.keys().cloned().collect();
            self.search = std::cell::OnceCell::new();
        }
    }

    /// The documents that could not be read, with the cause, for the status line.
    pub fn unreadable(&self) -> Vec<Unreadable> {
        self.unreadable
            .iter()
            .map(|(id, _, reason)| Unreadable {
                doc: id.to_string(),
                reason: reason.clone(),
                kept: self.parsed.contains_key(id),
            })
            .collect()
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

#[cfg(test)]
mod tests;
