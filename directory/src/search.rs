//! Type-ahead search over contact points and organisations, and over municipality names.
//!
//! [`SearchIndex::build`] folds every text of every entry in every language (names, descriptions,
//! role names, organisation names, the names of the areas served, phone digits) into words
//! (`Hämeenlinna` → `hameenlinna`) and keeps a sorted vocabulary with posting lists. A query folds
//! the same way; each query word must be a prefix of some word of an entry, and entries are ranked
//! by where the words matched (a name counts more than a description) and whether they matched
//! whole. Finding the vocabulary range of a prefix is a binary search, so a query costs the size
//! of its matches, not the size of the directory.
//!
//! Each entry carries the set of municipalities it serves as a bit set, so filtering by the user's
//! municipality is one bit test per match.

use std::collections::HashMap;

use crate::area::Area;
use crate::localities::{Localities, Municipality};
use crate::model::{Directory, role_label};
use crate::text::{fold, words};

/// Whether a hit is an organisation or a contact point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// An organisation.
    Organisation,
    /// A contact point.
    ContactPoint,
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Organisation or contact point.
    pub kind: EntryKind,
    /// Its id.
    pub id: String,
    /// The position of its document in the list the index was built from.
    pub document: usize,
    /// Higher is better.
    pub score: u32,
}

const MUNIS_WORDS: usize = 5; // 5 × 64 bits ≥ 308 municipalities

/// The municipalities an entry serves, by position in the municipality table.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Coverage {
    All,
    Some([u64; MUNIS_WORDS]),
}

impl Coverage {
    fn covers(&self, pos: usize) -> bool {
        match self {
            Coverage::All => true,
            Coverage::Some(bits) => bits.get(pos / 64).is_some_and(|w| w & (1 << (pos % 64)) != 0),
        }
    }
}

struct Entry {
    kind: EntryKind,
    id: String,
    document: usize,
    sort_name: String,
    coverage: Coverage,
}

/// Field weights: how much a match in each field counts.
mod weight {
    pub const NAME: u8 = 10;
    pub const ORGANISATION: u8 = 6;
    pub const ROLE: u8 = 5;
    pub const PHONE: u8 = 4;
    pub const AREA: u8 = 3;
    pub const DESCRIPTION: u8 = 2;
    pub const OTHER: u8 = 1;
}

/// A search index over the contact points and organisations of a set of documents.
pub struct SearchIndex {
    entries: Vec<Entry>,
    /// Sorted folded words.
    terms: Vec<String>,
    /// For each term: (entry, weight), one per entry with the best weight.
    postings: Vec<Vec<(u32, u8)>>,
}

impl SearchIndex {
    /// Builds the index. Hits refer to documents by their position in `docs`.
    pub fn build<'a>(docs: impl IntoIterator<Item = &'a Directory>) -> Self {
        let l = Localities::get();
        let mut area_cache: HashMap<Area, [u64; MUNIS_WORDS]> = HashMap::new();
        let mut bits_of = |a: &Area| -> [u64; MUNIS_WORDS] {
            *area_cache.entry(a.clone()).or_insert_with(|| {
                let mut bits = [0u64; MUNIS_WORDS];
                for (i, m) in l.municipalities.iter().enumerate() {
                    let hit = match a {
                        Area::Municipality(c) => *c == m.code,
                        Area::County(c) => *c == m.wellbeing_county,
                        Area::Police(p) => *p == m.police_department,
                    };
                    if hit {
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
                bits
            })
        };
        let mut entries = Vec::new();
        let mut vocab: HashMap<String, HashMap<u32, u8>> = HashMap::new();
        let add = |vocab: &mut HashMap<String, HashMap<u32, u8>>, entry: u32, text: &str, w: u8| {
            for word in words(text) {
                let best = vocab.entry(word).or_default().entry(entry).or_insert(0);
                *best = (*best).max(w);
            }
        };
        for (doc_pos, doc) in docs.into_iter().enumerate() {
            let doc_coverage = match (&doc.area, doc.is_national()) {
                (Some(a), false) => Coverage::Some(bits_of(a)),
                _ => Coverage::All,
            };
            for o in doc.organisations.values() {
                let e = entries.len() as u32;
                for (_, t) in o.name.iter() {
                    add(&mut vocab, e, t, weight::NAME);
                }
                for (_, t) in o.description.iter() {
                    add(&mut vocab, e, t, weight::DESCRIPTION);
                }
                if let Some(a) = &doc.area {
                    for lang in ["fi", "sv", "en"] {
                        add(&mut vocab, e, &a.name(lang), weight::AREA);
                    }
                }
                entries.push(Entry {
                    kind: EntryKind::Organisation,
                    id: o.id.clone(),
                    document: doc_pos,
                    sort_name: fold(o.name.text("fi")),
                    coverage: doc_coverage.clone(),
                });
            }
            // Retired contact points are kept for editors to restore, but nobody searches for them.
            for c in doc.contact_points.values().filter(|c| !c.is_retired()) {
                let e = entries.len() as u32;
                for (_, t) in c.name.iter() {
                    add(&mut vocab, e, t, weight::NAME);
                }
                for (_, t) in c.description.iter().chain(c.hours_note.iter()) {
                    add(&mut vocab, e, t, weight::DESCRIPTION);
                }
                if let Some(org) = c.organisation_id.as_ref().and_then(|id| doc.organisations.get(id)) {
                    for (_, t) in org.name.iter() {
                        add(&mut vocab, e, t, weight::ORGANISATION);
                    }
                }
                for r in &c.roles {
                    add(&mut vocab, e, r, weight::ROLE);
                    for lang in ["fi", "sv", "en"] {
                        add(&mut vocab, e, role_label(r, lang).unwrap_or(""), weight::ROLE);
                    }
                }
                for p in &c.phones {
                    add(&mut vocab, e, &p.number, weight::PHONE);
                    let digits: String = p.number.chars().filter(char::is_ascii_digit).collect();
                    add(&mut vocab, e, &digits, weight::PHONE);
                    if let Some(national) = digits.strip_prefix("358") {
                        add(&mut vocab, e, &format!("0{national}"), weight::PHONE);
                    }
                }
                for t in [&c.email, &c.url, &c.contact_person].into_iter().flatten() {
                    add(&mut vocab, e, t, weight::OTHER);
                }
                let areas: Vec<Area> =
                    if c.areas.is_empty() { doc.area.iter().cloned().collect() } else { c.areas.clone() };
                for a in &areas {
                    for lang in ["fi", "sv", "en"] {
                        add(&mut vocab, e, &a.name(lang), weight::AREA);
                    }
                }
                let coverage = if areas.is_empty() {
                    Coverage::All
                } else {
                    let mut bits = [0u64; MUNIS_WORDS];
                    for a in &areas {
                        for (b, x) in bits.iter_mut().zip(bits_of(a)) {
                            *b |= x;
                        }
                    }
                    Coverage::Some(bits)
                };
                entries.push(Entry {
                    kind: EntryKind::ContactPoint,
                    id: c.id.clone(),
                    document: doc_pos,
                    sort_name: fold(c.name.text("fi")),
                    coverage,
                });
            }
        }
        let mut vocab: Vec<(String, Vec<(u32, u8)>)> = vocab
            .into_iter()
            .map(|(t, p)| {
                let mut p: Vec<(u32, u8)> = p.into_iter().collect();
                p.sort_unstable();
                (t, p)
            })
            .collect();
        vocab.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (terms, postings) = vocab.into_iter().unzip();
        SearchIndex { entries, terms, postings }
    }

    /// The number of entries indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best `limit` entries matching every word of `query` as a prefix, optionally only those
    /// serving the municipality `municipality_code`. An empty query finds nothing.
    pub fn search(&self, query: &str, municipality_code: Option<&str>, limit: usize) -> Vec<Hit> {
        let muni_pos = match municipality_code {
            Some(code) => match municipality_position(code) {
                Some(p) => Some(p),
                None => return Vec::new(),
            },
            None => None,
        };
        let hits = self.scored(query, muni_pos);
        self.best(hits, limit, |_| 0)
    }

    /// The best `limit` entries matching `query` anywhere in Finland, nearest to `home` (a
    /// municipality code) first: entries for the municipality itself, then for areas containing
    /// it (its wellbeing county, its police department), then national ones, then the rest of
    /// Finland; by score within each. A professional looks for the local service first but may
    /// need one elsewhere too.
    pub fn search_near(&self, query: &str, home: &str, limit: usize) -> Vec<Hit> {
        let Some(pos) = municipality_position(home) else { return self.search(query, None, limit) };
        let hits = self.scored(query, None);
        self.best(hits, limit, |e| {
            let coverage = &self.entries[e as usize].coverage;
            match coverage {
                Coverage::All => 2,
                Coverage::Some(_) if !coverage.covers(pos) => 3,
                Coverage::Some(bits) if bits.iter().map(|w| w.count_ones()).sum::<u32>() == 1 => 0,
                Coverage::Some(_) => 1,
            }
        })
    }

    /// The `limit` best of `hits` (entry, score): by `tier` (lower first), then score, then name.
    fn best(&self, mut hits: Vec<(u32, u32)>, limit: usize, tier: impl Fn(u32) -> u8) -> Vec<Hit> {
        let order = |a: &(u32, u32), b: &(u32, u32)| {
            tier(a.0)
                .cmp(&tier(b.0))
                .then_with(|| b.1.cmp(&a.1))
                .then_with(|| self.entries[a.0 as usize].sort_name.cmp(&self.entries[b.0 as usize].sort_name))
                .then_with(|| a.0.cmp(&b.0))
        };
        if limit == 0 {
            return Vec::new();
        }
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(order);
        hits.into_iter()
            .map(|(e, score)| {
                let en = &self.entries[e as usize];
                Hit { kind: en.kind, id: en.id.clone(), document: en.document, score }
            })
            .collect()
    }

    /// Every entry matching every word of `query` as a prefix, with its score, optionally only
    /// those serving the municipality at `muni_pos`.
    fn scored(&self, query: &str, muni_pos: Option<usize>) -> Vec<(u32, u32)> {
        let tokens: Vec<String> = words(query).collect();
        if tokens.is_empty() {
            return Vec::new();
        }
        // Per entry: how many query words matched so far, the score, and the best score of the
        // current word (so several matching terms of one word count once).
        let mut state: HashMap<u32, (usize, u32, u32)> = HashMap::new();
        for (qi, tok) in tokens.iter().enumerate() {
            let start = self.terms.partition_point(|t| t.as_str() < tok.as_str());
            for ti in start..self.terms.len() {
                let term = &self.terms[ti];
                if !term.starts_with(tok.as_str()) {
                    break;
                }
                let exact = term.len() == tok.len();
                for &(e, w) in &self.postings[ti] {
                    if let Some(p) = muni_pos
                        && !self.entries[e as usize].coverage.covers(p)
                    {
                        continue;
                    }
                    let score = u32::from(w) * if exact { 3 } else { 2 };
                    if qi == 0 {
                        let s = state.entry(e).or_insert((1, 0, 0));
                        if score > s.2 {
                            s.1 += score - s.2;
                            s.2 = score;
                        }
                    } else if let Some(s) = state.get_mut(&e) {
                        if s.0 == qi {
                            *s = (qi + 1, s.1 + score, score);
                        } else if s.0 == qi + 1 && score > s.2 {
                            s.1 += score - s.2;
                            s.2 = score;
                        }
                    }
                }
            }
        }
        state.into_iter().filter(|(_, s)| s.0 == tokens.len()).map(|(e, s)| (e, s.1)).collect()
    }
}

/// The position of a municipality in the table the coverage bits follow.
fn municipality_position(code: &str) -> Option<usize> {
    Localities::get().municipalities.binary_search_by(|m| m.code.as_str().cmp(code)).ok()
}

/// Municipalities whose Finnish, Swedish or English name matches `query`, best first: whole name,
/// then name prefix, then a word prefix ("Mariehamn" for "marie", "Pedersöre" for "peders").
pub fn search_municipalities(query: &str, limit: usize) -> Vec<&'static Municipality> {
    let q = fold(query.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let mut ranked: Vec<(u8, &'static Municipality)> = Localities::get()
        .municipalities
        .iter()
        .filter_map(|m| {
            let rank = [&m.name_fi, &m.name_sv, &m.name_en, &m.code]
                .iter()
                .filter_map(|name| {
                    let n = fold(name);
                    if n == q {
                        Some(0)
                    } else if n.starts_with(&q) {
                        Some(1)
                    } else if words(name).any(|w| w.starts_with(&q)) {
                        Some(2)
                    } else {
                        None
                    }
                })
                .min()?;
            Some((rank, m))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name_fi.cmp(&b.1.name_fi)));
    ranked.into_iter().take(limit).map(|(_, m)| m).collect()
}
