//! The views' own words in fi, sv and en: weekdays, language names, why a contact matched, the
//! acts a legal basis names, and role names for the add form.

use contactpoint_directory::model::role_label;
use contactpoint_directory::resolve::MatchedBy;
use serde::Serialize;

/// The column of the UI language in the small fi/sv/en tables below.
pub(super) fn lang_column(lang: &str) -> usize {
    match lang {
        "fi" => 0,
        "sv" => 1,
        _ => 2,
    }
}

/// A weekday code (`MO`…`SU`) as a short name in the UI language.
pub(super) fn weekday(code: &str, lang: &str) -> &'static str {
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
pub(super) fn language_name(code: &str, lang: &str) -> String {
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

pub(super) fn why_text(matched: MatchedBy, area_name: Option<String>, lang: &str) -> String {
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

/// A contact role and its name.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct RoleView {
    role: &'static str,
    label: &'static str,
}

/// Every contact role with its name in `lang`, in the order guidance uses them, as JSON
/// (`[{"role": "anchor_team", "label": "Ankkuritiimi"}, …]`).
pub fn roles(lang: &str) -> String {
    let list: Vec<RoleView> = contactpoint_directory::model::ROLES
        .iter()
        .map(|r| RoleView { role: r, label: role_label(r, lang).unwrap_or(r) })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}
