//! Tests of the directory domain through its public API: seed data, resolution, validation,
//! search and HSDS import/export.

// A failed unwrap is a failed test, which is what these tests want.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use automerge::{ActorId, Automerge};
use contactpoint_directory::hsds;
use contactpoint_directory::model::{
    Answer, CardStatus, GuidanceCard, Node, Phone, PhoneKind, Step, StepKind, Urgency,
};
use contactpoint_directory::search::EntryKind;
use contactpoint_directory::seed;
use contactpoint_directory::store;
use contactpoint_directory::validate::{self, msg};
use contactpoint_directory::{
    Area, ContactPoint, Directory, DocumentKind, Localities, LocalizedText, MatchedBy, SearchIndex, ValidationIssue,
    resolve, search_municipalities, validate_directory, validate_document,
};

const TODAY: &str = "2025-03-01";

fn seed_dirs() -> Vec<Directory> {
    seed::directories(TODAY).expect("seed builds")
}

fn doc_of(d: &Directory) -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(vec![7u8; 16]));
    let mut tx = doc.transaction();
    store::write_directory(&mut tx, d).unwrap();
    tx.commit();
    doc
}

mod seed_data {
    use super::*;

    #[test]
    fn every_seed_document_validates() {
        let mut n = 0;
        let set = seed::build(TODAY, |kind, area| {
            n += 1;
            format!("{}-{n}", area.map_or(kind.to_string(), Area::to_string))
        })
        .unwrap();
        assert_eq!(validate_document(&set.index.doc), Vec::<ValidationIssue>::new());
        assert_eq!(validate_document(&set.national.doc), Vec::<ValidationIssue>::new());
        for a in &set.areas {
            assert_eq!(validate_document(&a.doc), Vec::<ValidationIssue>::new(), "{:?}", a.area);
        }
        // 12 police areas, 23 counties, 4 cities.
        assert_eq!(set.areas.len(), 39);
        // Each city's local cooperation group, in its members-only document.
        assert_eq!(set.restricted.len(), 4);
        for r in &set.restricted {
            assert_eq!(validate_document(&r.doc), Vec::<ValidationIssue>::new(), "{:?}", r.area);
            let d = store::read_directory(&r.doc).unwrap();
            assert!(d.is_restricted() && d.area.is_some() && d.area == r.area);
            assert_eq!(d.contact_points.len(), 1);
        }
        let index = store::read_index(&set.index.doc).unwrap();
        // The catalogue lists every open document, the national one and 39 areas, and none of the
        // members-only ones.
        assert_eq!(index.documents.len(), 40);
        assert!(set.restricted.iter().all(|r| !index.documents.contains_key(&r.id)));
        assert!(index.documents.values().filter(|e| e.kind == DocumentKind::National).count() == 1);
    }

    /// The municipalities an entry serves: its own areas, or else its document's; a national
    /// entry serves them all.
    fn served(d: &Directory, c: &ContactPoint) -> Vec<String> {
        let areas: Vec<Area> = if c.areas.is_empty() { d.area.iter().cloned().collect() } else { c.areas.clone() };
        Localities::get()
            .municipalities
            .iter()
            .filter(|m| areas.is_empty() || areas.iter().any(|a| a.covers(&Area::Municipality(m.code.clone()))))
            .map(|m| m.code.clone())
            .collect()
    }

    /// A service's name without the place it is for and the example mark:
    /// "Ankkuritiimi, Helsingin poliisilaitos (esimerkki)" and "Ankkuritiimi, Helsinki
    /// (esimerkki)" are both "ankkuritiimi".
    fn service_name(name: &str) -> String {
        let mut n = name.to_lowercase();
        for mark in ["(esimerkki)", "(exempel)", "(example)"] {
            n = n.replace(mark, "");
        }
        n.split(',').next().unwrap_or_default().trim().to_owned()
    }

    /// The seed offers no service twice to the same people. Entries serving one municipality
    /// never share a phone number; entries serving exactly the same municipalities never share
    /// a service name ([`service_name`]) in any language. A city's entry beside its county's or
    /// police area's of the same name is not a duplicate: it serves fewer places, resolves first
    /// and stands for the city's own contact; but where the county or police area is the city
    /// and nothing else (Helsinki), the two would be one service under two names.
    #[test]
    fn no_service_twice_for_the_same_people() {
        let dirs = seed_dirs();
        let entries: Vec<(&ContactPoint, Vec<String>)> =
            dirs.iter().flat_map(|d| d.contact_points.values().map(move |c| (c, served(d, c)))).collect();
        let mut names: BTreeMap<(Vec<String>, &str, String), &str> = BTreeMap::new();
        for (c, places) in &entries {
            for (lang, name) in c.name.iter() {
                if let Some(other) = names.insert((places.clone(), lang, service_name(name)), name) {
                    panic!("{other:?} and {name:?} are one service for {places:?}");
                }
            }
        }
        for m in &Localities::get().municipalities {
            let mut numbers: BTreeMap<&str, &str> = BTreeMap::new();
            for (c, _) in entries.iter().filter(|(_, places)| places.contains(&m.code)) {
                for p in &c.phones {
                    if let Some(other) = numbers.insert(&p.number, &c.id) {
                        panic!("{other} and {} share {} in {}", c.id, p.number, m.code);
                    }
                }
            }
        }
        // Helsinki, its own wellbeing county and police department, has each local role once.
        for role in ["anchor_team", "child_welfare_intake", "social_emergency"] {
            assert_eq!(resolve(&dirs, "091", role).len(), 1, "{role}");
        }
    }

    #[test]
    fn seed_is_reproducible_and_reads_back() {
        let a = seed::build(TODAY, |_, a| a.map_or("n".into(), Area::to_string)).unwrap();
        let b = seed::build(TODAY, |_, a| a.map_or("n".into(), Area::to_string)).unwrap();
        assert_eq!(a.national.doc.save(), b.national.doc.save());
        let national = store::read_directory(&a.national.doc).unwrap();
        assert_eq!(national, seed_dirs()[0]);
        assert_eq!(national.cards.len(), 6);
        for card in national.cards.values() {
            for lang in ["fi", "sv", "en"] {
                assert!(card.title.get(lang).is_some(), "{} lacks a {lang} title", card.slug);
            }
        }
    }

    #[test]
    fn only_the_three_public_numbers_are_real() {
        for d in seed_dirs() {
            for c in d.contact_points.values() {
                for p in &c.phones {
                    let real = ["112", "116 006", "116 111"].contains(&p.number.as_str());
                    assert_eq!(real, !c.example, "{} {}", c.id, p.number);
                    assert!(real || validate::is_placeholder_phone(&p.number));
                    assert!(validate::check_phone(&p.number).is_ok());
                }
                if c.phones.is_empty() {
                    assert!(c.url.is_some());
                }
            }
        }
    }

    /// Every path of every national card, for someone under 18 and an adult: the roles whose
    /// contacts each steps node shows. This table was reviewed against the procedures the cards
    /// follow (child welfare and the child helpline for minors only; each card's own advice).
    #[test]
    fn every_path_of_every_national_card_shows_the_right_roles() {
        const REVIEWED: &[(&str, &str, &[&str])] = &[
            (
                "family-member-worried",
                "adult",
                &["anchor_team", "anti_violence_service", "exit_service", "family_support", "municipal_contact_person"],
            ),
            ("family-member-worried", "emergency", &["child_welfare_intake", "emergency", "social_emergency"]),
            (
                "family-member-worried",
                "minor",
                &[
                    "anchor_team",
                    "child_welfare_intake",
                    "exit_service",
                    "family_support",
                    "municipal_contact_person",
                    "social_emergency",
                ],
            ),
            ("hate-crime-victim", "adult", &["police_local", "victim_support"]),
            ("hate-crime-victim", "emergency", &["child_welfare_intake", "emergency", "social_emergency"]),
            (
                "hate-crime-victim",
                "minor",
                &["child_helpline", "child_welfare_intake", "police_local", "social_emergency", "victim_support"],
            ),
            (
                "threat-of-violence",
                "assess",
                &["anchor_team", "child_welfare_intake", "municipal_contact_person", "social_emergency"],
            ),
            ("threat-of-violence", "emergency", &["child_welfare_intake", "emergency", "social_emergency"]),
            (
                "threat-of-violence",
                "report",
                &["child_welfare_intake", "emergency", "police_local", "social_emergency"],
            ),
            (
                "wants-to-leave-violent-group",
                "adult",
                &["anchor_team", "anti_violence_service", "exit_service", "municipal_contact_person", "police_local"],
            ),
            ("wants-to-leave-violent-group", "emergency", &["child_welfare_intake", "emergency", "social_emergency"]),
            (
                "wants-to-leave-violent-group",
                "minor",
                &[
                    "anchor_team",
                    "anti_violence_service",
                    "child_welfare_intake",
                    "exit_service",
                    "municipal_contact_person",
                    "social_emergency",
                ],
            ),
            (
                "worried-about-young-person",
                "adult",
                &["anchor_team", "anti_violence_service", "exit_service", "municipal_contact_person"],
            ),
            ("worried-about-young-person", "emergency", &["child_welfare_intake", "emergency", "social_emergency"]),
            (
                "worried-about-young-person",
                "minor",
                &[
                    "anchor_team",
                    "child_welfare_intake",
                    "municipal_contact_person",
                    "social_emergency",
                    "student_welfare",
                ],
            ),
            ("worrying-online-content", "emergency", &["child_welfare_intake", "emergency", "social_emergency"]),
            (
                "worrying-online-content",
                "report",
                &["child_welfare_intake", "emergency", "police_local", "social_emergency"],
            ),
            ("worrying-online-content", "tip", &["anchor_team", "municipal_contact_person", "police_online_tip"]),
        ];
        const CHILD_ONLY: &[&str] = &["child_welfare_intake", "child_helpline", "student_welfare"];
        let national = &seed_dirs()[0];
        let mut shown = Vec::new();
        for card in national.cards.values() {
            for (node, n) in &card.nodes {
                let Node::Steps { steps, .. } = n else { continue };
                let mut roles: Vec<&str> = steps.iter().flat_map(|s| s.roles.iter().map(String::as_str)).collect();
                roles.sort_unstable();
                roles.dedup();
                shown.push((card.slug.clone(), node.clone(), roles.clone()));
                if node == "adult" {
                    for r in CHILD_ONLY {
                        assert!(!roles.contains(r), "{} for an adult shows {r}", card.slug);
                    }
                    for s in steps {
                        for (_, text) in s.text.iter() {
                            let lower = text.to_lowercase();
                            for child in ["alaikäi", "minderårig", "minor", "under 18", "alle 18", "116 111"] {
                                assert!(!lower.contains(child), "{} for an adult says {text:?}", card.slug);
                            }
                        }
                    }
                }
                // No card carries another card's advice: hate crimes are the hate-crime card's.
                if card.slug != "hate-crime-victim" {
                    for s in steps {
                        assert!(!s.text.text("en").contains("hate crime"), "{}: {:?}", card.slug, s.text.text("en"));
                    }
                }
            }
            for d in &card.do_not {
                assert!(!d.text("en").contains("child welfare"), "{}: every path shows {:?}", card.slug, d.text("en"));
            }
        }
        shown.sort();
        let reviewed: Vec<(String, String, Vec<&str>)> =
            REVIEWED.iter().map(|(c, n, r)| ((*c).to_owned(), (*n).to_owned(), r.to_vec())).collect();
        assert_eq!(shown, reviewed);
    }

    #[test]
    fn bad_date_is_refused() {
        assert!(matches!(seed::directories("1.3.2025"), Err(seed::SeedError::Date(_))));
    }
}

mod resolution {
    use super::*;

    #[test]
    fn safety_roles_resolve_in_every_municipality() {
        let dirs = seed_dirs();
        let l = Localities::get();
        assert_eq!(l.municipalities.len(), 308);
        for m in &l.municipalities {
            for role in [
                "emergency",
                "police_local",
                "child_welfare_intake",
                "victim_support",
                "social_emergency",
                "anchor_team",
            ] {
                let found = resolve(&dirs, &m.code, role);
                assert!(!found.is_empty(), "{role} does not resolve in {} {}", m.code, m.name_fi);
                assert!(found.iter().all(|r| r.contact.has_role(role)));
            }
        }
    }

    #[test]
    fn most_specific_first() {
        let dirs = seed_dirs();
        let anchor = resolve(&dirs, "853", "anchor_team");
        let levels: Vec<MatchedBy> = anchor.iter().map(|r| r.matched_by).collect();
        assert_eq!(levels, [MatchedBy::Municipality, MatchedBy::Police]);
        assert_eq!(anchor[0].why, "Serves Turku (853).");
        let intake = resolve(&dirs, "837", "child_welfare_intake");
        assert_eq!(
            intake.iter().map(|r| r.matched_by).collect::<Vec<_>>(),
            [MatchedBy::Municipality, MatchedBy::County]
        );
        let emergency = resolve(&dirs, "142", "emergency");
        assert_eq!(emergency.len(), 1);
        assert_eq!(emergency[0].matched_by, MatchedBy::National);
        assert_eq!(emergency[0].contact.phones[0].number, "112");
        // Iitti's police mapping is unverified, and the explanation says so.
        let police = resolve(&dirs, "142", "police_local");
        assert!(police[0].why.ends_with("The police-department mapping of this municipality is not verified."));
        // An unknown municipality still gets the national emergency number.
        assert_eq!(resolve(&dirs, "999", "emergency").len(), 1);
        assert!(
            contactpoint_directory::unverified_police_mappings()
                .iter()
                .any(|(m, c)| m.code == "142" && *c == "unverified")
        );
    }
}

mod validation {
    use super::*;

    /// A small valid area document to break one rule at a time.
    fn base() -> Directory {
        let mut d =
            Directory::for_area(Area::Municipality("853".into()), LocalizedText::fi_sv_en("Turku", "Åbo", "Turku"));
        let c = ContactPoint {
            id: "c1".into(),
            name: LocalizedText::fi_sv_en("Ankkuritiimi", "Ankarteamet", "Anchor team"),
            roles: vec!["anchor_team".into()],
            phones: vec![Phone {
                number: "+358 0 000 0001".into(),
                kind: PhoneKind::Voice,
                description: LocalizedText::new(),
            }],
            areas: vec![Area::Municipality("853".into())],
            example: true,
            ..ContactPoint::default()
        };
        d.contact_points.insert(c.id.clone(), c);
        let step = |id: &str, kind: StepKind, roles: &[&str]| Step {
            id: id.into(),
            kind,
            text: LocalizedText::from_pairs([("fi", "Tee näin")]),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            legal_basis: None,
            locked: false,
        };
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "q".to_owned(),
            Node::Question {
                text: LocalizedText::from_pairs([("fi", "Vaara?")]),
                help: LocalizedText::new(),
                answers: vec![
                    Answer {
                        text: LocalizedText::from_pairs([("fi", "Kyllä")]), next: "now".into(), danger_now: true
                    },
                    Answer { text: LocalizedText::from_pairs([("fi", "Ei")]), next: "later".into(), danger_now: false },
                ],
            },
        );
        nodes.insert(
            "now".to_owned(),
            Node::Steps {
                urgency: Urgency::Emergency,
                heading: LocalizedText::from_pairs([("fi", "Soita")]),
                steps: vec![step("s1", StepKind::Call, &["emergency"])],
            },
        );
        nodes.insert(
            "later".to_owned(),
            Node::Steps {
                urgency: Urgency::Concern,
                heading: LocalizedText::from_pairs([("fi", "Myöhemmin")]),
                steps: vec![step("s2", StepKind::Consult, &["anchor_team"])],
            },
        );
        let card = GuidanceCard {
            id: "k1".into(),
            slug: "local-card".into(),
            status: CardStatus::Published,
            audiences: vec!["teacher".into()],
            topics: vec!["radicalisation_concern".into()],
            title: LocalizedText::from_pairs([("fi", "Kortti")]),
            summary: LocalizedText::new(),
            start: "q".into(),
            nodes,
            do_not: Vec::new(),
            sources: Vec::new(),
            last_reviewed: None,
            next_review_due: None,
            overrides: None,
        };
        d.cards.insert(card.id.clone(), card);
        d
    }

    /// Breaks the base document with `change` and expects exactly one issue.
    fn check(change: impl FnOnce(&mut Directory), path: &str, message: &str) {
        assert_eq!(validate_directory(&base()), Vec::<ValidationIssue>::new(), "the base must be valid");
        let mut d = base();
        change(&mut d);
        let issues = validate_directory(&d);
        let found: Vec<(String, &str)> = issues.iter().map(|i| (i.path.to_string(), i.message.as_str())).collect();
        assert_eq!(found, vec![(path.to_owned(), message)]);
        // Every rule's issue carries its own code, for clients to word it.
        assert_ne!(issues[0].code, "unknown", "{issues:?}");
        // The relay's entry point on the Automerge document agrees.
        assert_eq!(validate_document(&doc_of(&d)), issues);
    }

    fn contact(d: &mut Directory) -> &mut ContactPoint {
        d.contact_points.get_mut("c1").unwrap()
    }

    fn card(d: &mut Directory) -> &mut GuidanceCard {
        d.cards.get_mut("k1").unwrap()
    }

    fn steps_of<'a>(d: &'a mut Directory, node: &str) -> &'a mut Vec<Step> {
        match card(d).nodes.get_mut(node).unwrap() {
            Node::Steps { steps, .. } => steps,
            Node::Question { .. } => unreachable!(),
        }
    }

    #[test]
    fn members_only_contact_points_only_in_members_only_documents() {
        use contactpoint_directory::model::Visibility;
        check(
            |d| contact(d).visibility = Some(Visibility::AreaMembers),
            "contact_points.c1.visibility",
            msg::MEMBERS_ONLY_IN_OPEN,
        );
        let restricted = |d: &mut Directory| {
            d.kind = Some(DocumentKind::Restricted);
            d.cards.clear();
        };
        check(restricted, "contact_points.c1.visibility", msg::OPEN_IN_MEMBERS_ONLY);
        check(
            |d| {
                d.kind = Some(DocumentKind::Restricted);
                contact(d).visibility = Some(Visibility::AreaMembers);
            },
            "cards.k1",
            msg::CARD_IN_MEMBERS_ONLY,
        );
        let mut d = base();
        d.kind = Some(DocumentKind::Restricted);
        d.cards.clear();
        contact(&mut d).visibility = Some(Visibility::AreaMembers);
        assert_eq!(validate_directory(&d), Vec::<ValidationIssue>::new());
    }

    #[test]
    fn required_name() {
        check(|d| contact(d).name = LocalizedText::new(), "contact_points.c1.name", msg::TEXT_REQUIRED);
    }

    #[test]
    fn required_role() {
        check(|d| contact(d).roles.clear(), "contact_points.c1.roles", msg::ROLE_REQUIRED);
    }

    #[test]
    fn unknown_role() {
        check(
            |d| contact(d).roles.push("janitor".into()),
            "contact_points.c1.roles[1]",
            "\"janitor\" is not a known role",
        );
    }

    #[test]
    fn a_way_to_reach() {
        check(|d| contact(d).phones.clear(), "contact_points.c1", msg::REACH_REQUIRED);
    }

    #[test]
    fn phone_format() {
        check(
            |d| contact(d).phones[0].number = "12345".into(),
            "contact_points.c1.phones[0].number",
            msg::PHONE_FORMAT,
        );
    }

    #[test]
    fn placeholder_only_in_examples() {
        check(|d| contact(d).example = false, "contact_points.c1.phones[0].number", msg::PHONE_PLACEHOLDER);
    }

    #[test]
    fn phone_numbers_accepted_and_refused() {
        for ok in [
            "+358401234567",
            "+358 40 123 4567",
            "040 123 4567",
            "09 123 456",
            "+358 9 123 456",
            "+44 20 7946 0000",
            "112",
            "116 006",
            "116111",
            "0800-12345",
        ] {
            assert!(validate::check_phone(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "+",
            "040",
            "123 456",
            "+0 123 4567",
            "040  123",
            "040 123 4567 ext 5",
            "116 00",
            "-040 123",
            "+358 40 123 4567 890 12",
            "+358 40 123",
        ] {
            assert!(validate::check_phone(bad).is_err(), "{bad}");
        }
        assert_eq!(validate::tel_uri("040 123 4567").as_deref(), Some("tel:+358401234567"));
        assert_eq!(validate::tel_uri("116 006").as_deref(), Some("tel:116006"));
    }

    /// With the relay's `numbering` feature, a number of the right shape is checked against the
    /// numbering plans too, and refused with the same code as a number of the wrong shape.
    #[cfg(feature = "numbering")]
    #[test]
    fn numbering_plans_refuse_what_the_shape_allows() {
        // Numbers the seed, the samples and the tests write stay accepted: real numbers, the
        // service numbers (short codes the plans do not describe) and `+358 0` placeholders.
        for ok in [
            "+358 40 123 4567",
            "+358401234567",
            "040 123 4567",
            "09 123 456",
            "+358 9 123 456",
            "+358 9 310 12345",
            "+358 9 000 0001",
            "+358 40 765 4321",
            "+44 20 7946 0000",
            "0800-12345",
            "112",
            "116 006",
            "116 111",
            "+358 0 000 0001",
            "+358 0 999 9999",
        ] {
            assert_eq!(validate::check_numbering(ok), Ok(()), "{ok}");
        }
        // No Finnish area code 12, no North American 555 0100; and a Finnish number cut short.
        for bad in ["+358 12 345 678", "012 345 678", "+1 555 0100", "+358 40 123", "+358 50 123"] {
            assert!(validate::check_numbering(bad).is_err(), "{bad}");
        }
        assert!(validate::check_phone("+358 12 345 678").is_ok(), "the shape alone lets it through");
        check(
            |d| contact(d).phones[0].number = "+358 12 345 678".into(),
            "contact_points.c1.phones[0].number",
            msg::PHONE_FORMAT,
        );
        // Every number of the seed passes the plans (or is a short code or placeholder).
        for d in seed_dirs() {
            for c in d.contact_points.values() {
                for p in &c.phones {
                    assert_eq!(validate::check_numbering(&p.number), Ok(()), "{} {}", c.id, p.number);
                }
            }
        }
    }

    #[test]
    fn names_and_texts_are_bounded() {
        let long = |n: usize| "a".repeat(n);
        check(
            |d| contact(d).name.set("fi", &long(validate::MAX_NAME_CHARS + 1)),
            "contact_points.c1.name.fi",
            msg::NAME_TOO_LONG,
        );
        check(
            |d| contact(d).description.set("sv", &long(validate::MAX_TEXT_CHARS + 1)),
            "contact_points.c1.description.sv",
            msg::TEXT_TOO_LONG,
        );
        // Characters, not bytes: 200 letters ä are a valid name.
        let mut d = base();
        contact(&mut d).name.set("fi", &"ä".repeat(validate::MAX_NAME_CHARS));
        contact(&mut d).description.set("fi", &"ö".repeat(validate::MAX_TEXT_CHARS));
        assert_eq!(validate_directory(&d), Vec::<ValidationIssue>::new());
        // A field this version does not know is bounded too.
        let mut doc = doc_of(&base());
        let mut tx = doc.transaction();
        use automerge::transaction::Transactable;
        tx.put(automerge::ROOT, "x_notes", long(validate::MAX_VALUE_CHARS + 1)).unwrap();
        tx.commit();
        assert_eq!(validate_document(&doc), vec![ValidationIssue::new("x_notes", msg::VALUE_TOO_LONG)]);
    }

    #[test]
    fn email_and_url() {
        check(|d| contact(d).email = Some("nobody".into()), "contact_points.c1.email", msg::EMAIL);
        check(|d| contact(d).url = Some("www.example.invalid".into()), "contact_points.c1.url", msg::URL);
    }

    #[test]
    fn unknown_municipality_code() {
        check(
            |d| contact(d).unparsed_areas.push("municipality:999".into()),
            "contact_points.c1.areas",
            "unknown municipality code \"999\"",
        );
        check(|d| d.area = None, "area", msg::AREA_REQUIRED);
        check(|d| contact(d).areas.clear(), "contact_points.c1.areas", msg::AREAS_REQUIRED);
    }

    #[test]
    fn named_person_needs_review_date() {
        check(
            |d| contact(d).contact_person = Some("Maija Meikäläinen".into()),
            "contact_points.c1.review_by",
            msg::PERSON_REVIEW,
        );
        check(|d| contact(d).review_by = Some("2025/12/31".into()), "contact_points.c1.review_by", msg::DATE);
    }

    #[test]
    fn opening_hours() {
        use contactpoint_directory::model::{Schedule, ScheduleKind};
        let sched = |o: &str, c: &str| Schedule {
            kind: ScheduleKind::OutOfHours,
            byday: Vec::new(),
            opens_at: Some(o.into()),
            closes_at: Some(c.into()),
            description: LocalizedText::new(),
        };
        check(
            |d| contact(d).schedules.push(sched("25:00", "08:00")),
            "contact_points.c1.schedules[0].opens_at",
            msg::TIME,
        );
        // Out of hours across midnight is fine.
        let mut d = base();
        contact(&mut d).schedules.push(sched("16:00", "08:00"));
        assert!(validate_directory(&d).is_empty());
    }

    #[test]
    fn personal_identity_code_is_rejected_anywhere() {
        // 131052-308T is the example code of the Finnish Digital and Population Data Services Agency.
        check(
            |d| contact(d).description.set("fi", "Oppilas 131052-308T on huolestuttava"),
            "contact_points.c1.description.fi",
            msg::PERSONAL_ID,
        );
        assert!(validate::contains_personal_id("131052A308T"));
        assert!(!validate::contains_personal_id("131052-308U"), "a wrong check character is not a code");
        assert!(!validate::contains_personal_id("x131052-308T"));
        assert!(!validate::contains_personal_id("puhelin 040 123 4567"));
        // Fields this version does not know are checked too, through the raw document walk.
        let mut doc = doc_of(&base());
        let mut tx = doc.transaction();
        use automerge::ReadDoc;
        use automerge::transaction::Transactable;
        let (_, cps) = tx.get(automerge::ROOT, "contact_points").unwrap().unwrap();
        let (_, c1) = tx.get(&cps, "c1").unwrap().unwrap();
        tx.put(&c1, "notes", "hetu 131052-308T").unwrap();
        tx.commit();
        assert_eq!(validate_document(&doc), vec![ValidationIssue::new("contact_points.c1.notes", msg::PERSONAL_ID)]);
    }

    #[test]
    fn damaged_records_and_ids_are_reported() {
        use automerge::ReadDoc;
        use automerge::transaction::Transactable;
        let mut doc = doc_of(&base());
        let mut tx = doc.transaction();
        let (_, cps) = tx.get(automerge::ROOT, "contact_points").unwrap().unwrap();
        tx.put(&cps, "broken", "not a map").unwrap();
        let (_, cards) = tx.get(automerge::ROOT, "cards").unwrap().unwrap();
        tx.put_object(&cards, "131052-308T", automerge::ObjType::Map).unwrap();
        tx.commit();
        let issues = validate_document(&doc);
        assert!(issues.contains(&ValidationIssue::new("contact_points.broken", msg::NOT_A_RECORD)));
        assert!(issues.contains(&ValidationIssue::new("cards.131052-308T", msg::PERSONAL_ID)));
    }

    #[test]
    fn guidance_tree_has_no_cycles() {
        check(
            |d| {
                let n = card(d).nodes.get_mut("later").unwrap();
                *n = Node::Question {
                    text: LocalizedText::from_pairs([("fi", "Taas?")]),
                    help: LocalizedText::new(),
                    answers: vec![Answer {
                        text: LocalizedText::from_pairs([("fi", "Kyllä")]),
                        next: "q".into(),
                        danger_now: false,
                    }],
                };
            },
            "cards.k1.nodes.q",
            msg::CYCLE,
        );
    }

    #[test]
    fn every_path_ends_in_steps() {
        check(
            |d| {
                card(d).nodes.insert(
                    "later".into(),
                    Node::Question {
                        text: LocalizedText::from_pairs([("fi", "Ja?")]),
                        help: LocalizedText::new(),
                        answers: vec![],
                    },
                );
            },
            "cards.k1.nodes.later.answers",
            msg::NO_ANSWERS,
        );
        check(
            |d| {
                if let Node::Question { answers, .. } = card(d).nodes.get_mut("q").unwrap() {
                    answers[1].next = "nowhere".into();
                }
            },
            "cards.k1.nodes.q.answers[1].next",
            "this answer leads to \"nowhere\", which is not a node of this card",
        );
    }

    #[test]
    fn danger_now_must_call_emergency() {
        check(
            |d| steps_of(d, "now")[0].roles = vec!["police_local".into()],
            "cards.k1.nodes.q.answers[0]",
            msg::DANGER_NOW,
        );
    }

    #[test]
    fn notify_needs_legal_basis() {
        check(
            |d| {
                let s = &mut steps_of(d, "later")[0];
                s.kind = StepKind::Notify;
                s.roles = vec!["child_welfare_intake".into()];
            },
            "cards.k1.nodes.later.steps[0].legal_basis",
            msg::LEGAL_BASIS,
        );
    }

    /// A national document whose card `k1` has a locked first step `s1`, and an area document
    /// with a faithful local override `k1-local` of it.
    fn national_and_override() -> (Directory, Directory) {
        let mut national = base();
        national.kind = Some(DocumentKind::National);
        national.area = None;
        national.contact_points.clear();
        steps_of(&mut national, "now")[0].locked = true;
        let mut local = base();
        let mut over = local.cards.remove("k1").unwrap();
        over.id = "k1-local".into();
        over.overrides = Some("k1".into());
        local.cards.insert(over.id.clone(), over);
        (national, local)
    }

    /// The same, with the override dropping the locked step (its id renamed).
    fn override_dropping_a_locked_step() -> (Directory, Directory) {
        let (national, mut local) = national_and_override();
        if let Some(Node::Steps { steps, .. }) = local.cards.get_mut("k1-local").unwrap().nodes.get_mut("now") {
            steps[0].id = "renamed".into();
        }
        (national, local)
    }

    #[test]
    fn locked_steps_are_kept_in_local_overrides() {
        let (national, local) = national_and_override();
        assert!(validate::validate_overrides(&local, &national).is_empty());
        let (national, local) = override_dropping_a_locked_step();
        assert_eq!(
            validate::validate_overrides(&local, &national),
            vec![ValidationIssue::new(
                "cards.k1-local",
                "the locked step \"s1\" of the national card \"local-card\" must be kept in a local override"
            )]
        );
    }

    #[test]
    fn the_relay_checks_overrides_of_area_documents_against_the_national_one() {
        let (national, local) = override_dropping_a_locked_step();
        let locked = ValidationIssue::new(
            "cards.k1-local",
            "the locked step \"s1\" of the national card \"local-card\" must be kept in a local override",
        );
        let doc = doc_of(&local);
        assert_eq!(validate_document(&doc), vec![], "on its own the area document is valid");
        assert_eq!(validate::validate_document_against(&doc, None), vec![]);
        assert_eq!(validate::validate_document_against(&doc, Some(&national)), vec![locked]);
        // The national document itself has no overrides to check.
        assert_eq!(validate::validate_document_against(&doc_of(&national), Some(&national)), vec![]);
    }

    #[test]
    fn only_problems_a_write_adds_are_new() {
        let problem = |path: &str, message: &str| ValidationIssue::new(path, message);
        let old = problem("cards.k1-local", "the locked step \"s1\" … must be kept in a local override");
        let phone = problem("contact_points.c1.phones[0].number", msg::PHONE_FORMAT);
        let email = problem("contact_points.c1.email", msg::EMAIL);
        let before = vec![old.clone(), phone.clone()];
        // Keeping or fixing older problems adds nothing.
        assert_eq!(validate::new_issues(&before, &before), vec![]);
        assert_eq!(validate::new_issues(&before, std::slice::from_ref(&old)), vec![]);
        assert_eq!(validate::new_issues(&before, &[]), vec![]);
        // A problem is new unless the same path had the same message before.
        assert_eq!(validate::new_issues(&before, &[old.clone(), email.clone()]), vec![email.clone()]);
        let moved = problem("contact_points.c1.phones[1].number", msg::PHONE_FORMAT);
        assert_eq!(validate::new_issues(&before, &[phone.clone(), moved.clone()]), vec![moved]);
        let other_message = problem("contact_points.c1.phones[0].number", msg::PHONE_PLACEHOLDER);
        assert_eq!(validate::new_issues(&before, std::slice::from_ref(&other_message)), vec![other_message]);
        assert_eq!(validate::new_issues(&[], &[phone.clone(), email.clone()]), vec![phone, email]);
    }

    #[test]
    fn index_document() {
        let mut index = contactpoint_directory::Index::default();
        for id in ["a", "b"] {
            index.documents.insert(
                id.into(),
                contactpoint_directory::IndexEntry {
                    id: id.into(),
                    kind: DocumentKind::National,
                    area: None,
                    title: LocalizedText::new(),
                },
            );
        }
        assert_eq!(
            validate::validate_index(&index),
            vec![ValidationIssue::new("documents.b.kind", msg::SECOND_NATIONAL)]
        );
        let empty = Automerge::new();
        assert_eq!(validate_document(&empty), vec![ValidationIssue::new("kind", msg::KIND)]);
    }
}

mod search {
    use super::*;

    #[test]
    fn finds_across_languages_and_folds_nordic_letters() {
        let dirs = seed_dirs();
        let index = SearchIndex::build(&dirs);
        let hits = index.search("helsingfors", None, 50);
        assert!(hits.iter().any(|h| dirs[h.document].area == Some(Area::Municipality("091".into()))));
        let anchors = index.search("ankkuri", None, 100);
        // One per police area but Helsinki's, whose city document has it, and one per city.
        assert_eq!(anchors.iter().filter(|h| h.kind == EntryKind::ContactPoint).count(), 11 + 4);
        for h in &anchors {
            assert!(dirs[h.document].contact_points[&h.id].has_role("anchor_team"));
        }
        // Filtered by municipality: Turku's own Anchor team and the Southwest Finland police one.
        let in_turku = index.search("ankkuri", Some("853"), 100);
        assert_eq!(in_turku.len(), 2);
        let names: Vec<&str> =
            in_turku.iter().map(|h| dirs[h.document].contact_points[&h.id].name.text("en")).collect();
        assert!(names.contains(&"Anchor team, Turku (example)"), "{names:?}");
        assert!(
            index
                .search("116 006", None, 5)
                .iter()
                .any(|h| h.id == dirs[0].contact_points.values().find(|c| c.has_role("victim_support")).unwrap().id)
        );
        assert!(index.search("", None, 5).is_empty());
        assert!(index.search("ankkuri", Some("999"), 5).is_empty());
        // Names rank above descriptions.
        let victim = index.search("rikosuhri", None, 5);
        assert_eq!(
            dirs[victim[0].document].contact_points.get(&victim[0].id).map(|c| c.phones[0].number.as_str()),
            Some("116 006")
        );
    }

    #[test]
    fn search_is_local_first() {
        let dirs = seed_dirs();
        let index = SearchIndex::build(&dirs);
        let vantaa = Area::Municipality("092".into());
        // The areas an entry serves (its own, or its document's).
        let serves = |h: &contactpoint_directory::search::Hit| -> Vec<Area> {
            let d = &dirs[h.document];
            match h.kind {
                EntryKind::ContactPoint => {
                    let c = &d.contact_points[&h.id];
                    if c.areas.is_empty() { d.area.iter().cloned().collect() } else { c.areas.clone() }
                }
                EntryKind::Organisation => d.area.iter().cloned().collect(),
            }
        };
        let near = index.search_near("poliisi", "092", 20);
        assert!(!near.is_empty());
        // The police of Vantaa's own department come first, then national services, then the rest.
        let tier = |h: &contactpoint_directory::search::Hit| {
            let areas = serves(h);
            if areas.is_empty() {
                2
            } else if areas.iter().any(|a| a.covers(&vantaa)) {
                1
            } else {
                3
            }
        };
        let first = &near[0];
        assert_eq!(tier(first), 1, "first for Vantaa: {:?}", serves(first));
        let tiers: Vec<u8> = near.iter().map(tier).collect();
        assert!(tiers.windows(2).all(|w| w[0] <= w[1]), "{tiers:?}");
        // Without a home municipality the same query ranks by score and name alone, so
        // another department (Åland's, alphabetically first) leads.
        let anywhere = index.search("poliisi", None, 20);
        assert_ne!(tier(&anywhere[0]), 1, "{:?}", serves(&anywhere[0]));
        // Turku's own Anchor team comes before that of its police department (Southwest Finland).
        let turku = index.search_near("ankkuri", "853", 20);
        let own = |h: &contactpoint_directory::search::Hit| serves(h) == vec![Area::Municipality("853".into())];
        assert!(own(&turku[0]), "{:?}", serves(&turku[0]));
        assert!(serves(&turku[1]).iter().any(|a| matches!(a, Area::Police(_))), "{:?}", serves(&turku[1]));
    }

    #[test]
    fn municipality_search() {
        let first = |q: &str| search_municipalities(q, 5).first().map(|m| m.name_fi.as_str());
        assert_eq!(first("hameenlinna"), Some("Hämeenlinna"));
        assert_eq!(first("Helsingfors"), Some("Helsinki"));
        assert_eq!(first("åbo"), Some("Turku"));
        assert_eq!(first("uleåborg"), Some("Oulu"));
        assert!(search_municipalities("", 5).is_empty());
        assert_eq!(contactpoint_directory::SOURCE_CREDIT, "Source: Statistics Finland");
    }

    #[test]
    fn ten_thousand_entries_are_indexed_and_found() {
        // Not a timed assertion (`cargo xtask bench directory` measures search), but that the
        // index holds a country-sized directory and finds what each query names; it prints what a
        // query costs here.
        let l = Localities::get();
        let mut d = Directory::national(LocalizedText::from_pairs([("fi", "Iso")]));
        for i in 0..10_000 {
            let m = &l.municipalities[i % l.municipalities.len()];
            let c = ContactPoint {
                id: format!("c{i}"),
                name: LocalizedText::fi_sv_en(
                    &format!("Palvelu {i} {}", m.name_fi),
                    &format!("Tjänst {i} {}", m.name_sv),
                    &format!("Service {i}"),
                ),
                description: LocalizedText::from_pairs([("fi", "Nuorisotyö ja lastensuojelu")]),
                roles: vec!["family_support".into()],
                areas: vec![Area::Municipality(m.code.clone())],
                ..ContactPoint::default()
            };
            d.contact_points.insert(c.id.clone(), c);
        }
        let dirs = vec![d];
        let index = SearchIndex::build(&dirs);
        assert_eq!(index.len(), 10_000);
        let queries = ["hel", "hameenlinna", "palvelu 42", "tjanst", "nuoriso", "ou"];
        let start = std::time::Instant::now();
        let mut total = 0;
        for _ in 0..20 {
            for q in queries {
                total += index.search(q, Some("091"), 20).len();
            }
        }
        let per_query = start.elapsed() / (20 * queries.len() as u32);
        println!("search over 10,000 entries: {per_query:?} per query ({total} hits)");
        // Every municipality has 10,000 / 308 entries or one more; Hämeenlinna's are all found,
        // and nothing else.
        let per_municipality = 10_000 / l.municipalities.len();
        let hml = index.search("hameenlinna", None, 1000);
        assert!((per_municipality..=per_municipality + 1).contains(&hml.len()), "{} hits", hml.len());
        let by_number = index.search("palvelu 4242", None, 20);
        assert!(by_number.iter().any(|h| h.id == "c4242"), "entry 4242 is not found by its number");
    }
}

mod hsds_exchange {
    use super::*;

    #[test]
    fn json_round_trip_is_identical() {
        let dirs = seed_dirs();
        let first = hsds::export_json(&dirs);
        let imported = hsds::import_json(&first).expect("our own export imports");
        assert_eq!(hsds::export_json(&imported), first);
        // The directory content survives (guidance cards are not HSDS data).
        let mut without_cards = dirs[0].clone();
        without_cards.cards.clear();
        assert_eq!(imported.iter().find(|d| d.is_national()), Some(&without_cards));
        assert!(first.contains("\"x_contactpoint_roles\""));
    }

    #[test]
    fn datapackage_round_trip_is_identical() {
        let dirs = seed_dirs();
        let files = hsds::export_datapackage(&dirs);
        for f in [
            "datapackage.json",
            "organizations.csv",
            "services.csv",
            "phones.csv",
            "schedules.csv",
            "service_areas.csv",
            "languages.csv",
            "contacts.csv",
        ] {
            assert!(files.contains_key(f), "{f}");
        }
        let imported = hsds::import_datapackage(&files).expect("our own export imports");
        assert_eq!(hsds::export_datapackage(&imported), files);
        assert_eq!(hsds::export_json(&imported), hsds::export_json(&dirs));
    }

    /// That nothing is stored when an import has a problem is shown against a database in
    /// `tests/e2e/content.rs` (`an_invalid_import_changes_nothing`): here the parser reports.
    #[test]
    fn import_with_errors_reports_every_problem() {
        let dirs = seed_dirs();
        let mut files = hsds::export_datapackage(&dirs[..2]);
        let phones = files.get_mut("phones.csv").unwrap();
        *phones = phones.replacen("+358 0 000 0001", "not a number", 1);
        files.get_mut("service_areas.csv").unwrap().push_str("x,missing-service,Nowhere,municipality:999\r\n");
        let issues = hsds::import_datapackage(&files).unwrap_err();
        assert!(
            issues.iter().any(|i| i.location.starts_with("service_areas.csv row") && i.field == "service_id"),
            "{issues:#?}"
        );
        assert!(issues.iter().any(|i| i.field == "phones[0].number" && i.message == msg::PHONE_FORMAT), "{issues:#?}");
    }

    #[test]
    fn plain_hsds_with_missing_fields() {
        let text = r#"{"organizations":[{"name":"No id"}],"services":[{"id":"s1","name":"Palvelu","x_contactpoint_document":"municipality:091","x_contactpoint_roles":["anchor_team"],"phones":[{"number":"09 123 456"}],"service_areas":[{"name":"Helsingfors"}]}]}"#;
        let issues = hsds::import_json(text).unwrap_err();
        let fields: Vec<(&str, &str)> = issues.iter().map(|i| (i.location.as_str(), i.field.as_str())).collect();
        assert_eq!(fields, [("organizations[0]", "id"), ("organizations[0]", "x_contactpoint_document")]);
        let fixed = text.replace(
            r#"{"name":"No id"}"#,
            r#"{"id":"o1","name":"Helsingin kaupunki","x_contactpoint_document":"municipality:091"}"#,
        );
        let docs = hsds::import_json(&fixed).unwrap();
        assert_eq!(docs[0].contact_points["s1"].areas, [Area::Municipality("091".into())]);
        assert_eq!(docs[0].contact_points["s1"].name.get("fi"), Some("Palvelu"));
        assert!(hsds::import_json("[1,2").is_err());
    }

    proptest::proptest! {
        #[test]
        fn json_import_never_panics(s in ".{0,400}") {
            let _ = hsds::import_json(&s);
        }

        #[test]
        fn json_import_of_mangled_export_never_panics(cut in 0usize..4000, insert in ".{0,8}") {
            static BASE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hsds::export_json(&seed_dirs()[..1]));
            let base: &str = &BASE;
            let cut = cut.min(base.len());
            let cut = (0..=cut).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
            let mangled = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
            let _ = hsds::import_json(&mangled);
        }

        #[test]
        fn csv_import_never_panics(org in ".{0,200}", svc in ".{0,200}", phones in ".{0,200}") {
            let mut files = BTreeMap::new();
            files.insert("datapackage.json".to_owned(), "{\"resources\":[]}".to_owned());
            files.insert("organizations.csv".to_owned(), format!("id,name,x_contactpoint_document\n{org}"));
            files.insert("services.csv".to_owned(), format!("id,name,x_contactpoint_document,x_contactpoint_roles\n{svc}"));
            files.insert("phones.csv".to_owned(), phones);
            let _ = hsds::import_datapackage(&files);
        }
    }
}

mod message_codes {
    use contactpoint_directory::validate::{self, MESSAGES, ValidationIssue, code, msg};

    #[test]
    fn every_message_has_its_own_code_and_is_recognised_with_its_parameters() {
        let mut codes = std::collections::BTreeSet::new();
        for (c, en) in MESSAGES {
            assert!(codes.insert(*c), "the code {c} is used twice");
            if matches!(*c, "area_unknown" | "unreadable") {
                continue;
            }
            // Every parameter filled in with a value of its own.
            let text = ["value", "card", "step", "node", "doc", "detail"]
                .iter()
                .fold(en.to_string(), |t, p| t.replace(&format!("{{{p}}}"), &format!("<{p} x>")));
            let (found, params) = validate::recognise(&text).unwrap_or_else(|| panic!("{c}: {text} not recognised"));
            assert_eq!(found, *c, "{text}");
            for (name, value) in params {
                assert_eq!(value, format!("<{name} x>"), "{c}");
            }
        }
        assert_eq!(validate::recognise("something else entirely"), None);
    }

    #[test]
    fn issues_carry_the_code_and_parameters_of_their_message() {
        let issue = ValidationIssue::new("roles[0]", "\"chef\" is not a known role");
        assert_eq!((issue.code, issue.params), ("role", vec![("value", "chef".to_owned())]));
        assert_eq!(ValidationIssue::new("email", msg::EMAIL).code, code::EMAIL);
        let locked = ValidationIssue::new(
            "cards.x",
            "the locked step \"s1\" of the national card \"local-card\" must be kept in a local override",
        );
        assert_eq!(locked.code, code::OVERRIDE_LOCKED_STEP);
        assert_eq!(locked.params, vec![("step", "s1".to_owned()), ("card", "local-card".to_owned())]);
    }
}
