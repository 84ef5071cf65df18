//! What editors and admins see beyond the directory itself: the review queue of stale entries,
//! retired contact points, the documents and organisations for the add form, and which document
//! holds an area.

use contactpoint_directory::Localities;
use contactpoint_directory::model::Directory;
use contactpoint_protocol::DocumentId;
use serde::{Deserialize, Serialize};

use super::time::{STALE_AFTER_DAYS, days};
use super::{Library, pick};

/// Whose entries an editor's lists show: every document's (an administrator's lists) or those
/// of some area keys (`national`, `municipality:092`; an area's members-only document goes with
/// the area's key).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Areas {
    /// Every document.
    All,
    /// The documents of these area keys.
    Only {
        /// The area keys.
        areas: Vec<String>,
    },
}

impl Areas {
    /// The documents of these area keys.
    pub fn only<S: Into<String>>(areas: impl IntoIterator<Item = S>) -> Self {
        Areas::Only { areas: areas.into_iter().map(Into::into).collect() }
    }

    /// Whether the document with this area key is among them.
    pub fn holds(&self, key: &str) -> bool {
        match self {
            Areas::All => true,
            Areas::Only { areas } => areas.iter().any(|a| a == key),
        }
    }
}

/// One entry of the review queue.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// What the editor of `areas` should check: contacts not
    /// verified for [`STALE_AFTER_DAYS`] days or past their review date, and guidance cards past
    /// their `next_review_due`; example entries, which are to be replaced with real data, first.
    /// Retired entries are not listed. Oldest problems first.
    pub fn review_queue(&self, areas: &Areas, today: &str, lang: &str) -> Vec<ReviewItem> {
        let Some(t) = days(today) else { return Vec::new() };
        let mut out = Vec::new();
        for d in self.directories() {
            let key = contactpoint_directory::hsds::document_key(d);
            if !areas.holds(&key) {
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
#[cfg_attr(test, derive(ts_rs::TS))]
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

/// A directory document: one a new contact point can be added to, or one covering a
/// municipality.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DocumentItem {
    /// `national` or the area (`municipality:091`), the key `addContact` takes.
    pub area: String,
    /// The document's title.
    pub title: String,
}

/// An organisation a new contact point can belong to.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrganisationItem {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl Library {
    /// The retired contact points of the documents of `areas`,
    /// most recently retired first.
    pub fn retired(&self, areas: &Areas, lang: &str) -> Vec<RetiredItem> {
        let mut out = Vec::new();
        for d in self.directories() {
            let key = contactpoint_directory::hsds::document_key(d);
            if !areas.holds(&key) {
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

    /// The open area documents that cover a municipality, most specific first (municipality,
    /// county, police department): where a local version of guidance can go. A members-only
    /// document holds no guidance (validation refuses a card there), so it is not offered.
    pub fn areas_covering(&self, municipality: &str, lang: &str) -> Vec<DocumentItem> {
        let Some(m) = Localities::get().municipality(municipality) else { return Vec::new() };
        let mut out: Vec<(u8, String, String)> = self
            .directories()
            .filter(|d| !d.is_restricted())
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
        out.into_iter().map(|(_, area, title)| DocumentItem { area, title }).collect()
    }

    /// The id of the directory document of `area_key` (`national` or an area).
    pub fn document_for_area(&self, area_key: &str) -> Option<DocumentId> {
        crate::edit::find_area_document(
            self.order.iter().filter_map(|k| self.parsed.get(k).map(|(_, d)| (*k, d))),
            area_key,
        )
    }
}
