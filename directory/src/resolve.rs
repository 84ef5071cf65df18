//! "Who do I contact here?": from a municipality and a role to contact points, most specific first.
//!
//! A contact point serves the areas it lists. For a municipality the order is: contact points
//! listing the municipality itself, then its wellbeing county (which organises child welfare and
//! the social emergency service), then its police-department area, then national services (a
//! national-document entry that lists no area serves the whole country). The emergency number
//! lives in the national document, so `emergency` resolves everywhere. Retired contact points
//! never resolve.

use crate::area::Area;
use crate::localities::Localities;
use crate::model::{ContactPoint, Directory};

/// How a contact point came to apply to the municipality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchedBy {
    /// It lists the municipality.
    Municipality,
    /// It lists the municipality's wellbeing county.
    County,
    /// It lists the municipality's police-department area.
    Police,
    /// It serves the whole country.
    National,
}

/// One contact point that applies, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The contact point.
    pub contact: &'a ContactPoint,
    /// The document it comes from.
    pub document: &'a Directory,
    /// How it matched.
    pub matched_by: MatchedBy,
    /// The area through which it matched (`None` for national services).
    pub area: Option<Area>,
    /// A short English explanation for the UI ("why am I seeing this?").
    pub why: String,
}

/// Contact points with `role` that serve municipality `municipality_code`, most specific first.
///
/// Within one level, real entries come before example data, then by Finnish name. An unknown
/// municipality code still gets national services, so safety roles never come back empty.
pub fn resolve<'a>(
    docs: impl IntoIterator<Item = &'a Directory>,
    municipality_code: &str,
    role: &str,
) -> Vec<Resolved<'a>> {
    resolve_any(docs, municipality_code, &[role])
}

/// Like [`resolve`], for a guidance step that names several roles; each contact point appears once.
pub fn resolve_any<'a>(
    docs: impl IntoIterator<Item = &'a Directory>,
    municipality_code: &str,
    roles: &[&str],
) -> Vec<Resolved<'a>> {
    let l = Localities::get();
    let muni = l.municipality(municipality_code);
    let mut out: Vec<Resolved<'a>> = Vec::new();
    for doc in docs {
        for c in doc.contact_points.values() {
            // An entry appears once per document; another document's entry with the same id is its
            // own entry, never hidden by this one.
            let seen = out.iter().any(|r| std::ptr::eq(r.document, doc) && r.contact.id == c.id);
            if c.is_retired() || !roles.iter().any(|r| c.has_role(r)) || seen {
                continue;
            }
            if let Some(r) = best_match(doc, c, muni) {
                out.push(r);
            }
        }
    }
    out.sort_by(|a, b| {
        (a.matched_by, a.contact.example, a.contact.name.text("fi"), &a.contact.id).cmp(&(
            b.matched_by,
            b.contact.example,
            b.contact.name.text("fi"),
            &b.contact.id,
        ))
    });
    out
}

fn best_match<'a>(
    doc: &'a Directory,
    c: &'a ContactPoint,
    muni: Option<&crate::localities::Municipality>,
) -> Option<Resolved<'a>> {
    let l = Localities::get();
    // An area-document entry that lists no area serves the document's own area.
    let own_area: Vec<Area> = match (&c.areas[..], &doc.area) {
        ([], Some(a)) if !doc.is_national() => vec![a.clone()],
        _ => c.areas.clone(),
    };
    if own_area.is_empty() {
        return doc.is_national().then(|| Resolved {
            contact: c,
            document: doc,
            matched_by: MatchedBy::National,
            area: None,
            why: "National service for the whole country.".to_owned(),
        });
    }
    let m = muni?;
    let mut best: Option<(MatchedBy, Area)> = None;
    for a in own_area {
        let level = match &a {
            Area::Municipality(code) if *code == m.code => MatchedBy::Municipality,
            Area::County(code) if *code == m.wellbeing_county => MatchedBy::County,
            Area::Police(id) if *id == m.police_department => MatchedBy::Police,
            _ => continue,
        };
        if best.as_ref().is_none_or(|(b, _)| level < *b) {
            best = Some((level, a));
        }
    }
    let (matched_by, area) = best?;
    let why = match matched_by {
        MatchedBy::Municipality => format!("Serves {} ({}).", m.name_en, m.code),
        MatchedBy::County => format!(
            "Serves {}, the wellbeing services county that organises social and health services for {}.",
            l.county(&m.wellbeing_county).map_or(m.wellbeing_county.as_str(), |c| c.name_en.as_str()),
            m.name_en
        ),
        MatchedBy::Police => {
            let dept = l.police_department(&m.police_department).map_or(m.police_department.as_str(), |p| &p.name_en);
            let note = police_mapping_note(m);
            format!("Serves the area of {dept}, which covers {}.{note}", m.name_en)
        }
        MatchedBy::National => "National service for the whole country.".to_owned(),
    };
    Some(Resolved { contact: c, document: doc, matched_by, area: Some(area), why })
}

fn police_mapping_note(m: &crate::localities::Municipality) -> &'static str {
    match m.police_department_confidence.as_str() {
        "verified" => "",
        "unverified" => " The police-department mapping of this municipality is not verified.",
        _ => " The police-department mapping of this municipality is derived from its region.",
    }
}

/// The municipalities whose police-department mapping no public source has confirmed, with the
/// confidence (`derived` or `unverified`), so the UI can show that the mapping may be wrong.
pub fn unverified_police_mappings() -> Vec<(&'static crate::localities::Municipality, &'static str)> {
    Localities::get()
        .municipalities
        .iter()
        .filter(|m| m.police_department_confidence != "verified")
        .map(|m| (m, m.police_department_confidence.as_str()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::search::SearchIndex;

    #[test]
    fn retired_contact_points_neither_resolve_nor_are_found() {
        let mut dirs = crate::seed::directories("2026-11-24").unwrap();
        let helsinki =
            dirs.iter().position(|d| d.area.as_ref().is_some_and(|a| a.to_string() == "municipality:091")).unwrap();
        let c = dirs[helsinki].contact_points.values().find(|c| c.has_role("anchor_team")).unwrap().clone();
        let found = |dirs: &[Directory]| resolve(dirs, "091", "anchor_team").iter().any(|r| r.contact.id == c.id);
        let query = c.name.text("fi").to_owned();
        let searched =
            |dirs: &[Directory]| SearchIndex::build(dirs).search(&query, Some("091"), 50).iter().any(|h| h.id == c.id);
        assert!(found(&dirs) && searched(&dirs));
        dirs[helsinki].contact_points.get_mut(&c.id).unwrap().retired = Some("2026-11-24".into());
        assert!(!found(&dirs), "a retired entry does not resolve");
        assert!(!searched(&dirs), "a retired entry is not found");
        assert!(dirs[helsinki].contact_points.contains_key(&c.id), "it stays in the document");
    }
}
