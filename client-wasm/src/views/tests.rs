//! The views' tests: links, dates, opening hours, the seeded library's cards, review queue and
//! words.

use super::time::days;
use super::words::weekday;
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
    library_of(&contactpoint_directory::seed::directories("2026-11-24").unwrap())
}

/// Each directory as a document of its own, written in one change, and a library of them.
fn library_of(dirs: &[Directory]) -> (Vec<Automerge>, Library) {
    let docs: Vec<Automerge> = dirs
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
    let queue = lib.review_queue(&Areas::only(["municipality:091"]), "2026-11-24", "en");
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
    assert!(lib.review_queue(&Areas::only::<String>([]), "2026-11-24", "en").is_empty(), "no areas, nothing to review");
    assert_eq!(lib.review_queue(&Areas::only(["municipality:853"]), "2026-11-24", "en").len(), 1);
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

#[test]
fn areas_arrive_as_all_or_a_list_never_as_a_wildcard() {
    let parse = |s: &str| serde_json::from_str::<Areas>(s).ok();
    assert_eq!(parse(r#"{"kind": "all"}"#), Some(Areas::All));
    assert_eq!(parse(r#"{"kind": "only", "areas": ["national"]}"#), Some(Areas::only(["national"])));
    assert_eq!(parse(r#"["*"]"#), None, "the old wildcard is refused, not taken as an area");
    let star = Areas::only(["*"]);
    assert!(!star.holds("national") && Areas::All.holds("national"));
}

/// A document that cannot be read keeps its last readable copy on screen and is reported with
/// its cause; a later readable change clears it; a catalogue is neither shown nor reported.
#[test]
fn an_unreadable_document_keeps_its_last_copy_and_says_why() {
    let write = |doc: &mut Automerge, name: &str| {
        let mut d = Directory::for_area(
            contactpoint_directory::Area::Municipality("091".into()),
            LocalizedText::fi_sv_en("H", "H", "H"),
        );
        let contact = ContactPoint {
            id: "c1".into(),
            name: LocalizedText::fi_sv_en(name, name, name),
            ..ContactPoint::default()
        };
        d.contact_points.insert("c1".into(), contact);
        let mut tx = doc.transaction();
        contactpoint_directory::store::write_directory(&mut tx, &d).unwrap();
        tx.commit();
    };
    let broken = |_: &Automerge| -> Result<Directory, StoreError> {
        Err(StoreError::Automerge(contactpoint_protocol::automerge::AutomergeError::Fail))
    };
    let name = |lib: &Library| lib.contact_by_id("c1").map(|(_, c)| c.name.pick("en").unwrap().text.to_owned());
    let (id, fresh) = (DocumentId::from_random_bytes([1; 16]), DocumentId::from_random_bytes([2; 16]));
    let mut doc = Automerge::new();
    write(&mut doc, "First");
    let mut lib = Library::default();
    lib.refresh([(id, &doc)]);
    assert_eq!(name(&lib).as_deref(), Some("First"));
    assert!(lib.unreadable().is_empty());

    write(&mut doc, "Second");
    let empty = Automerge::new();
    lib.refresh_with([(id, &doc), (fresh, &empty)], broken);
    assert_eq!(name(&lib).as_deref(), Some("First"), "the last readable copy stays on screen");
    let reported = lib.unreadable();
    assert_eq!(reported.len(), 2, "{reported:?}");
    let of = |d: DocumentId| reported.iter().find(|u| u.doc == d.to_string()).unwrap();
    assert!(of(id).kept && !of(fresh).kept, "{reported:?}");
    assert!(of(id).reason.contains("general failure"), "the cause is kept: {reported:?}");

    lib.refresh_with([(id, &doc)], |_| panic!("a document is not read again at the same heads"));
    write(&mut doc, "Third");
    lib.refresh([(id, &doc)]);
    assert_eq!(name(&lib).as_deref(), Some("Third"), "a readable change is shown again");
    assert!(lib.unreadable().is_empty(), "a readable document, or one gone, is not reported");

    let mut catalogue = Automerge::new();
    let mut tx = catalogue.transaction();
    contactpoint_protocol::automerge::transaction::Transactable::put(
        &mut tx,
        contactpoint_protocol::automerge::ROOT,
        "kind",
        "index",
    )
    .unwrap();
    tx.commit();
    lib.refresh([(id, &doc), (fresh, &catalogue)]);
    assert!(lib.unreadable().is_empty(), "the catalogue is not a directory, and not a failure");
    assert_eq!(lib.directories().count(), 1);
}

/// Local versions of guidance are offered in a municipality's open documents only: a
/// members-only document of the same area holds no guidance.
#[test]
fn local_guidance_is_not_offered_in_a_members_only_document() {
    let area = contactpoint_directory::Area::Municipality("091".into());
    let (_docs, lib) = library_of(&[
        Directory::for_area(area.clone(), LocalizedText::fi_sv_en("H", "H", "H")),
        Directory::restricted_for(area),
    ]);
    assert_eq!(lib.documents("en").len(), 2, "both documents are there");
    let offered: Vec<String> = lib.areas_covering("091", "en").into_iter().map(|d| d.area).collect();
    assert_eq!(offered, ["municipality:091"]);
}
