//! Seed data: the national document, example area documents and the catalogue of a fresh relay.
//!
//! Only three phone numbers here are real and public: 112, 116 006 (Victim Support Finland) and
//! 116 111 (the child and youth helpline). Everything else is an example entry (`example: true`)
//! with a placeholder number of the form `+358 0 000 0nnn`, which can never ring anyone because a
//! Finnish number written internationally never keeps its trunk zero.
//!
//! Beyond the national services, the seed gives every municipality somewhere to resolve the
//! local safety roles: one example document per police-department area (local police, Anchor
//! team) and per wellbeing county (child-welfare intake, social emergency service), generated from
//! the locality tables, plus example city documents for Helsinki, Turku, Tampere and Oulu.
//! Where a county or police area is one of those cities and nothing else (Helsinki is its own
//! wellbeing county and police department), its entries for the roles the city's document
//! carries are left out: they would be the same service twice, under two names, for the same
//! people. The city's document keeps them, since it is the most specific.
//!
//! Ids of contact points and organisations are derived from names, so the seed is the same on
//! every run; document ids are the caller's to assign.

mod cards;

use automerge::{ActorId, Automerge};

use crate::area::Area;
use crate::ids::{stable_bytes, stable_id};
use crate::localities::Localities;
use crate::model::{
    ContactPoint, Directory, DocumentKind, Index, IndexEntry, Organisation, OrganisationKind, Phone, PhoneKind,
    Schedule, ScheduleKind, Visibility, Weekday,
};
use crate::store::{self, StoreError};
use crate::text::LocalizedText;
use crate::validate::is_date;

/// Why the seed could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// `today` is not a `YYYY-MM-DD` date.
    #[error("today must be a date written YYYY-MM-DD, not \"{}\"", .0.escape_debug())]
    Date(String),
    /// The seed has no national document (a bug in the seed itself).
    #[error("the seed has no national document")]
    NoNational,
    /// Writing a document failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One seeded document.
pub struct SeedDoc {
    /// The document id the caller assigned.
    pub id: String,
    /// National, area or index.
    pub kind: DocumentKind,
    /// The area of an area document.
    pub area: Option<Area>,
    /// The Automerge document.
    pub doc: Automerge,
}

/// Everything a fresh relay starts with.
pub struct SeedSet {
    /// The catalogue listing the other documents.
    pub index: SeedDoc,
    /// National services and guidance templates.
    pub national: SeedDoc,
    /// Example documents per police-department area, wellbeing county and city.
    pub areas: Vec<SeedDoc>,
    /// The cities' members-only documents, which the catalogue does not list.
    pub restricted: Vec<SeedDoc>,
}

/// Builds the seed documents. `today` (`YYYY-MM-DD`) dates the guidance reviews; `doc_id` assigns
/// the id of each document (called once for the index, the national document and every area).
///
/// The documents are written by actors derived from their names, so the seed is reproducible.
/// Those actors must not be used for later edits; clients edit with their own actor ids.
pub fn build(
    today: &str,
    mut doc_id: impl FnMut(&DocumentKind, Option<&Area>) -> String,
) -> Result<SeedSet, SeedError> {
    let dirs = directories(today)?;
    let mut index = Index::default();
    let mut national = None;
    let mut areas = Vec::new();
    let mut restricted = Vec::new();
    for d in dirs {
        let kind = d.kind.clone().unwrap_or(DocumentKind::Area);
        let id = doc_id(&kind, d.area.as_ref());
        // Members-only documents stay out of the catalogue every device reads.
        if !d.is_restricted() {
            index.documents.insert(
                id.clone(),
                IndexEntry { id: id.clone(), kind: kind.clone(), area: d.area.clone(), title: d.title.clone() },
            );
        }
        let mut name = d.area.as_ref().map_or_else(|| "national".to_owned(), Area::to_string);
        if d.is_restricted() {
            name.push_str(":restricted");
        }
        let doc = document(&name, |tx| store::write_directory(tx, &d))?;
        let seeded = SeedDoc { id, kind, area: d.area.clone(), doc };
        if d.is_national() {
            national = Some(seeded);
        } else if d.is_restricted() {
            restricted.push(seeded);
        } else {
            areas.push(seeded);
        }
    }
    let index_id = doc_id(&DocumentKind::Index, None);
    let index_doc = document("index", |tx| store::write_index(tx, &index))?;
    let national = national.ok_or(SeedError::NoNational)?;
    Ok(SeedSet {
        index: SeedDoc { id: index_id, kind: DocumentKind::Index, area: None, doc: index_doc },
        national,
        areas,
        restricted,
    })
}

/// A new document written in one change by an actor derived from `name`.
fn document(
    name: &str,
    write: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), StoreError>,
) -> Result<Automerge, StoreError> {
    let mut doc = Automerge::new().with_actor(ActorId::from(stable_bytes("seed-actor", name).to_vec()));
    let mut tx = doc.transaction();
    write(&mut tx)?;
    tx.commit();
    Ok(doc)
}

/// The typed contents of every seed document: the national document first, then police areas,
/// wellbeing counties and cities.
pub fn directories(today: &str) -> Result<Vec<Directory>, SeedError> {
    if !is_date(today) {
        return Err(SeedError::Date(today.to_owned()));
    }
    let mut numbers = Placeholders(0);
    let mut out = vec![national(today, &mut numbers)];
    let l = Localities::get();
    for p in &l.police {
        out.push(police_area(p, &mut numbers));
    }
    for c in &l.counties {
        out.push(county(c, &mut numbers));
    }
    for code in CITIES {
        if let Some(m) = l.municipality(code) {
            out.extend(city(m, &mut numbers));
        }
    }
    // The real entries were checked against their public sources when the seed was written;
    // record that as of the seeding day, so they are not labelled "may be out of date" until
    // the usual review interval has passed. Example entries stay unverified.
    for d in &mut out {
        for c in d.contact_points.values_mut().filter(|c| !c.example && c.verified_at.is_none()) {
            c.verified_at = Some(today.to_owned());
            c.verified_by = Some("seed data, public sources".to_owned());
        }
    }
    Ok(out)
}

/// The municipalities with an example city document.
const CITIES: [&str; 4] = ["091", "853", "837", "564"];

/// The roles of a city document's entries (`city`).
const CITY_ROLES: [&str; 6] = [
    "anchor_team",
    "municipal_contact_person",
    "local_cooperation_group",
    "child_welfare_intake",
    "social_emergency",
    "student_welfare",
];

/// Whether an entry of `role` for `area` would repeat a city document's own: the area is one
/// example city and nothing else, and the city's document has an entry of that role.
fn city_has_it(area: &Area, role: &str) -> bool {
    let mut served =
        Localities::get().municipalities.iter().filter(|m| area.covers(&Area::Municipality(m.code.clone())));
    let only = match (served.next(), served.next()) {
        (Some(m), None) => CITIES.contains(&m.code.as_str()),
        _ => false,
    };
    only && CITY_ROLES.contains(&role)
}

/// Hands out distinct placeholder numbers.
struct Placeholders(u32);

impl Placeholders {
    fn next(&mut self) -> Phone {
        self.0 += 1;
        Phone {
            number: format!("+358 0 000 0{:03}", self.0),
            kind: PhoneKind::Voice,
            description: LocalizedText::fi_sv_en(
                "Esimerkkinumero – ei oikea",
                "Exempelnummer – inte riktigt",
                "Example number – not real",
            ),
        }
    }
}

fn t(fi: &str, sv: &str, en: &str) -> LocalizedText {
    LocalizedText::fi_sv_en(fi, sv, en)
}

fn org(
    key: &str,
    name: LocalizedText,
    description: LocalizedText,
    website: Option<&str>,
    kind: OrganisationKind,
) -> Organisation {
    Organisation {
        id: stable_id("organisation", key),
        name,
        description,
        website: website.map(str::to_owned),
        kind: Some(kind),
        example: false,
    }
}

fn contact(key: &str, organisation: &Organisation, name: LocalizedText, roles: &[&str]) -> ContactPoint {
    ContactPoint {
        id: stable_id("contact", key),
        organisation_id: Some(organisation.id.clone()),
        name,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        languages: vec!["fi".into(), "sv".into(), "en".into()],
        visibility: Some(Visibility::AllProfessionals),
        ..ContactPoint::default()
    }
}

fn round_the_clock() -> Schedule {
    Schedule {
        kind: ScheduleKind::Regular,
        byday: Vec::new(),
        opens_at: None,
        closes_at: None,
        description: t("Ympäri vuorokauden", "Dygnet runt", "Round the clock"),
    }
}

fn office_hours() -> Vec<Schedule> {
    let weekdays = vec![Weekday::Mo, Weekday::Tu, Weekday::We, Weekday::Th, Weekday::Fr];
    vec![
        Schedule {
            kind: ScheduleKind::Regular,
            byday: weekdays.clone(),
            opens_at: Some("08:00".into()),
            closes_at: Some("16:00".into()),
            description: t("Virka-aika", "Tjänstetid", "Office hours"),
        },
        Schedule {
            kind: ScheduleKind::OutOfHours,
            byday: weekdays,
            opens_at: Some("16:00".into()),
            closes_at: Some("08:00".into()),
            description: t(
                "Virka-ajan ulkopuolella: sosiaalipäivystys",
                "Utanför tjänstetid: socialjouren",
                "Outside office hours: the social emergency service",
            ),
        },
        Schedule {
            kind: ScheduleKind::OutOfHours,
            byday: vec![Weekday::Sa, Weekday::Su],
            opens_at: None,
            closes_at: None,
            description: t(
                "Viikonloppuisin: sosiaalipäivystys",
                "Veckoslut: socialjouren",
                "Weekends: the social emergency service",
            ),
        },
    ]
}

const EXAMPLE_NOTE: [&str; 3] = [
    "Esimerkkitieto – ei oikea yhteystieto. Paikallinen yhteistyöryhmä korvaa tämän oikealla tiedolla.",
    "Exempeldata – inte en riktig kontakt. Den lokala samarbetsgruppen ersätter detta med riktiga uppgifter.",
    "Example data – not a real contact. The local cooperation group replaces it with the real details.",
];

fn example(mut c: ContactPoint, numbers: &mut Placeholders, description: LocalizedText) -> ContactPoint {
    c.example = true;
    c.phones.push(numbers.next());
    let mut d = description;
    for (lang, note) in ["fi", "sv", "en"].into_iter().zip(EXAMPLE_NOTE) {
        let text = format!("{} {note}", d.text(lang)).trim().to_owned();
        d.set(lang, &text);
    }
    c.description = d;
    c
}

fn national(today: &str, numbers: &mut Placeholders) -> Directory {
    let mut d = Directory::national(t(
        "Valtakunnalliset palvelut ja ohjeet",
        "Nationella tjänster och anvisningar",
        "National services and guidance",
    ));
    let erc = org(
        "emergency-response-centre-agency",
        t("Hätäkeskuslaitos", "Nödcentralsverket", "Emergency Response Centre Agency"),
        t(
            "Vastaa hätänumeroon 112 koko Suomessa.",
            "Svarar på nödnumret 112 i hela Finland.",
            "Answers the emergency number 112 throughout Finland.",
        ),
        Some("https://112.fi"),
        OrganisationKind::NationalAuthority,
    );
    let riku = org(
        "victim-support-finland",
        t("Rikosuhripäivystys (RIKU)", "Brottsofferjouren (RIKU)", "Victim Support Finland (RIKU)"),
        t(
            "Auttaa rikoksen uhreja, heidän läheisiään ja todistajia maksutta.",
            "Hjälper brottsoffer, deras närstående och vittnen kostnadsfritt.",
            "Helps victims of crime, their families and witnesses free of charge.",
        ),
        Some("https://www.riku.fi"),
        OrganisationKind::Ngo,
    );
    let mll = org(
        "mannerheim-league-for-child-welfare",
        t("Mannerheimin Lastensuojeluliitto", "Mannerheims Barnskyddsförbund", "Mannerheim League for Child Welfare"),
        t(
            "Ylläpitää lasten ja nuorten puhelinta ja chattia.",
            "Upprätthåller barn- och ungdomstelefonen och chatten.",
            "Runs the child and youth helpline and chat.",
        ),
        Some("https://www.mll.fi"),
        OrganisationKind::Ngo,
    );
    let police = org(
        "police-of-finland",
        t("Poliisi", "Polisen", "Police of Finland"),
        t(
            "Poliisin valtakunnalliset verkkopalvelut.",
            "Polisens nationella nättjänster.",
            "The national online services of the police.",
        ),
        Some("https://poliisi.fi"),
        OrganisationKind::Police,
    );
    let vuolle = org(
        "vuolle-setlementti",
        t("Vuolle Setlementti ry", "Vuolle Setlementti rf", "Vuolle Settlement"),
        t(
            "Järjestö, joka on kehittänyt RADINET-exit-toimintaa.",
            "Organisation som har utvecklat exitverksamheten RADINET.",
            "The organisation that developed the RADINET exit work.",
        ),
        None,
        OrganisationKind::Ngo,
    );
    let missio = org(
        "helsinkimissio",
        t("HelsinkiMissio", "HelsingforsMission", "HelsinkiMissio"),
        t(
            "Sosiaalialan järjestö, joka on kehittänyt Aggredi-toiminnan.",
            "Organisation inom det sociala området som har utvecklat Aggredi-verksamheten.",
            "A social-welfare organisation that developed the Aggredi programme.",
        ),
        Some("https://www.helsinkimissio.fi"),
        OrganisationKind::Ngo,
    );

    let mut emergency =
        contact("112", &erc, t("Hätänumero 112", "Nödnumret 112", "Emergency number 112"), &["emergency"]);
    emergency.phones = vec![Phone { number: "112".into(), kind: PhoneKind::Voice, description: LocalizedText::new() }];
    emergency.description = t(
        "Kiireellinen hätä: henkeä, terveyttä, omaisuutta tai ympäristöä uhkaa välitön vaara. Soita 112.",
        "Brådskande nödsituation: liv, hälsa, egendom eller miljö är i omedelbar fara. Ring 112.",
        "An urgent emergency: life, health, property or the environment is in immediate danger. Call 112.",
    );
    emergency.schedules = vec![round_the_clock()];
    emergency.url = Some("https://112.fi".into());

    let mut victims = contact(
        "116 006",
        &riku,
        t("Rikosuhripäivystys", "Brottsofferjouren", "Victim Support Finland"),
        &["victim_support"],
    );
    victims.phones =
        vec![Phone { number: "116 006".into(), kind: PhoneKind::Voice, description: LocalizedText::new() }];
    victims.description = t(
        "Auttava puhelin rikoksen uhreille, läheisille ja todistajille, myös viharikoksissa.",
        "Hjälptelefon för brottsoffer, närstående och vittnen, också vid hatbrott.",
        "Helpline for victims of crime, their families and witnesses, including hate crime.",
    );
    victims.hours_note = t(
        "Tarkista ajantasaiset aukioloajat verkkosivuilta.",
        "Kontrollera aktuella öppettider på webbplatsen.",
        "Check the current opening hours on the website.",
    );
    victims.url = Some("https://www.riku.fi".into());

    let mut helpline = contact(
        "116 111",
        &mll,
        t("Lasten ja nuorten puhelin", "Barn- och ungdomstelefonen", "Child and youth helpline"),
        &["child_helpline"],
    );
    helpline.phones =
        vec![Phone { number: "116 111".into(), kind: PhoneKind::Voice, description: LocalizedText::new() }];
    helpline.description = t(
        "Maksuton ja luottamuksellinen puhelin lapsille ja nuorille.",
        "Avgiftsfri och konfidentiell telefon för barn och unga.",
        "A free and confidential helpline for children and young people.",
    );
    helpline.hours_note = victims.hours_note.clone();
    helpline.url = Some("https://www.mll.fi".into());
    helpline.audiences = Vec::new();

    let mut tip = contact(
        "nettivinkki",
        &police,
        t("Poliisin Nettivinkki", "Polisens nättips (Nettivinkki)", "Police online tip service (Nettivinkki)"),
        &["police_online_tip"],
    );
    tip.description = t(
        "Verkkolomake, jolla voi vinkata poliisille netissä havaitusta rikoksesta tai huolestuttavasta sisällöstä. Ei hätätilanteisiin – soita silloin 112.",
        "Webbformulär för att tipsa polisen om brott eller oroande innehåll på nätet. Inte för nödsituationer – ring då 112.",
        "A web form for tipping off the police about crime or worrying content online. Not for emergencies – then call 112.",
    );
    tip.url = Some("https://poliisi.fi".into());

    let radinet = example(
        contact("radinet", &vuolle, t("RADINET Exit", "RADINET Exit", "RADINET Exit"), &["exit_service"]),
        numbers,
        t(
            "Vapaaehtoista ja luottamuksellista tukea ihmisille, jotka haluavat irtautua väkivaltaisesta ääriajattelusta tai -liikkeestä.",
            "Frivilligt och konfidentiellt stöd för människor som vill lämna våldsbejakande extremism eller en extremiströrelse.",
            "Voluntary and confidential support for people who want to leave violent extremist thinking or a violent group.",
        ),
    );
    let aggredi = example(
        contact("aggredi", &missio, t("Aggredi", "Aggredi", "Aggredi"), &["anti_violence_service", "exit_service"]),
        numbers,
        t(
            "Keskusteluapua kodin ulkopuolista väkivaltaa tehneille tai sitä suunnitteleville, myös ääriliikkeistä irtautuville.",
            "Samtalsstöd för personer som använt eller planerar våld utanför hemmet, också för dem som lämnar extremiströrelser.",
            "Counselling for people who have used or plan violence outside the home, including people leaving extremist groups.",
        ),
    );
    let family = example(
        contact(
            "family-support-national",
            &vuolle,
            t(
                "Läheisten tukilinja (esimerkki)",
                "Stödlinje för anhöriga (exempel)",
                "Support line for families (example)",
            ),
            &["family_support"],
        ),
        numbers,
        t(
            "Tukea perheenjäsenille, jotka ovat huolissaan läheisensä radikalisoitumisesta.",
            "Stöd för familjemedlemmar som är oroliga för att en närstående radikaliseras.",
            "Support for family members worried that a relative is being radicalised.",
        ),
    );
    for o in [erc, riku, mll, police, vuolle, missio] {
        d.organisations.insert(o.id.clone(), o);
    }
    for c in [emergency, victims, helpline, tip, radinet, aggredi, family] {
        d.contact_points.insert(c.id.clone(), c);
    }
    for card in cards::national_cards(today) {
        d.cards.insert(card.id.clone(), card);
    }
    d
}

fn police_area(p: &crate::localities::PoliceDepartment, numbers: &mut Placeholders) -> Directory {
    let area = Area::Police(p.id.clone());
    let mut d = Directory::for_area(area.clone(), t(&p.name_fi, &p.name_sv, &p.name_en));
    let o = org(
        &format!("police:{}", p.id),
        t(&p.name_fi, &p.name_sv, &p.name_en),
        LocalizedText::new(),
        Some("https://poliisi.fi"),
        OrganisationKind::Police,
    );
    let mut local = example(
        contact(
            &format!("police_local:{}", p.id),
            &o,
            t(
                &format!("Poliisin neuvonta, {} (esimerkki)", p.name_fi),
                &format!("Polisens rådgivning, {} (exempel)", p.name_sv),
                &format!("Police switchboard, {} (example)", p.name_en),
            ),
            &["police_local"],
        ),
        numbers,
        t(
            "Rikosilmoitukset ja kiireettömät yhteydenotot poliisiin. Hätätilanteessa soita 112.",
            "Brottsanmälningar och icke-brådskande kontakter med polisen. I nödsituationer ring 112.",
            "Crime reports and non-urgent contact with the police. In an emergency call 112.",
        ),
    );
    local.areas = vec![area.clone()];
    let mut anchor = example(
        contact(
            &format!("anchor_team:{}", p.id),
            &o,
            t(
                &format!("Ankkuritiimi, {} (esimerkki)", p.name_fi),
                &format!("Ankarteamet, {} (exempel)", p.name_sv),
                &format!("Anchor team, {} (example)", p.name_en),
            ),
            &["anchor_team"],
        ),
        numbers,
        t(
            "Moniammatillinen tiimi (poliisi, sosiaalityö, psykiatrinen sairaanhoito, nuorisotyö), joka tukee varhaisessa vaiheessa nuoria, joihin liittyy huoli väkivaltaisesta radikalisoitumisesta.",
            "Multiprofessionellt team (polis, socialarbete, psykiatrisk vård, ungdomsarbete) som stöder unga tidigt när det finns oro för våldsam radikalisering.",
            "A multi-professional team (police, social work, psychiatric nursing, youth work) that intervenes early when there is concern about violent radicalisation.",
        ),
    );
    anchor.areas = vec![area.clone()];
    for c in [local, anchor] {
        if !c.roles.iter().any(|r| city_has_it(&area, r)) {
            d.contact_points.insert(c.id.clone(), c);
        }
    }
    if !d.contact_points.is_empty() {
        d.organisations.insert(o.id.clone(), o);
    }
    d
}

fn county(c: &crate::localities::WellbeingCounty, numbers: &mut Placeholders) -> Directory {
    let area = Area::County(c.code.clone());
    let mut d = Directory::for_area(area.clone(), t(&c.name_fi, &c.name_sv, &c.name_en));
    let o = org(
        &format!("county:{}", c.code),
        t(&c.name_fi, &c.name_sv, &c.name_en),
        LocalizedText::new(),
        None,
        OrganisationKind::WellbeingCounty,
    );
    let mut intake = example(
        contact(
            &format!("child_welfare_intake:{}", c.code),
            &o,
            t(
                &format!("Lastensuojelun vastaanotto, {} (esimerkki)", c.name_fi),
                &format!("Barnskyddets mottagning, {} (exempel)", c.name_sv),
                &format!("Child welfare intake, {} (example)", c.name_en),
            ),
            &["child_welfare_intake"],
        ),
        numbers,
        t(
            "Lastensuojeluilmoitukset ja konsultaatiot, myös nimettömästi. Ei ilmoituksia suojaamattomalla sähköpostilla.",
            "Barnskyddsanmälningar och konsultationer, också anonymt. Inga anmälningar med oskyddad e-post.",
            "Child welfare notifications and consultations, also anonymous. No notifications by unsecured e-mail.",
        ),
    );
    intake.areas = vec![area.clone()];
    intake.schedules = office_hours();
    intake.hours_note = t(
        "Virka-ajan ulkopuolella ota yhteys sosiaalipäivystykseen tai soita 112.",
        "Utanför tjänstetid kontakta socialjouren eller ring 112.",
        "Outside office hours contact the social emergency service or call 112.",
    );
    let mut emergency = example(
        contact(
            &format!("social_emergency:{}", c.code),
            &o,
            t(
                &format!("Sosiaalipäivystys, {} (esimerkki)", c.name_fi),
                &format!("Socialjouren, {} (exempel)", c.name_sv),
                &format!("Social emergency service, {} (example)", c.name_en),
            ),
            &["social_emergency"],
        ),
        numbers,
        t(
            "Kiireelliset sosiaalipalvelut ja kiireelliset lastensuojeluasiat ympäri vuorokauden.",
            "Brådskande socialservice och brådskande barnskyddsärenden dygnet runt.",
            "Urgent social services and urgent child-welfare matters round the clock.",
        ),
    );
    emergency.areas = vec![area.clone()];
    emergency.schedules = vec![round_the_clock()];
    for c in [intake, emergency] {
        if !c.roles.iter().any(|r| city_has_it(&area, r)) {
            d.contact_points.insert(c.id.clone(), c);
        }
    }
    // An organisation with no entry left would be one more search hit for the same city.
    if !d.contact_points.is_empty() {
        d.organisations.insert(o.id.clone(), o);
    }
    d
}

/// A city's open document and its members-only document.
fn city(m: &crate::localities::Municipality, numbers: &mut Placeholders) -> [Directory; 2] {
    let area = Area::Municipality(m.code.clone());
    let mut d = Directory::for_area(area.clone(), t(&m.name_fi, &m.name_sv, &m.name_en));
    let mut members = Directory::restricted_for(area.clone());
    let o = org(
        &format!("municipality:{}", m.code),
        t(&m.name_fi, &m.name_sv, &m.name_en),
        LocalizedText::new(),
        None,
        OrganisationKind::Municipality,
    );
    let (fi, sv, en) = (&m.name_fi, &m.name_sv, &m.name_en);
    let entries: [(&str, [String; 3], &str, [&str; 3]); 6] = [
        (
            "anchor_team",
            [
                format!("Ankkuritiimi, {fi} (esimerkki)"),
                format!("Ankarteamet, {sv} (exempel)"),
                format!("Anchor team, {en} (example)"),
            ],
            "anchor",
            [
                "Ankkuritiimin paikallinen yhteystieto: huoli nuoresta, johon liittyy väkivaltaista radikalisoitumista.",
                "Ankarteamets lokala kontakt: oro för en ung person och våldsam radikalisering.",
                "The Anchor team's local contact: concern about a young person and violent radicalisation.",
            ],
        ),
        (
            "municipal_contact_person",
            [
                format!("Kaupungin yhdyshenkilö, {fi} (esimerkki)"),
                format!("Stadens kontaktperson, {sv} (exempel)"),
                format!("City contact person, {en} (example)"),
            ],
            "yhdyshenkilo",
            [
                "Kaupungin nimeämä yhdyshenkilö väkivaltaisen radikalisoitumisen ennaltaehkäisyssä.",
                "Stadens kontaktperson för förebyggande av våldsam radikalisering.",
                "The city's contact person for preventing violent radicalisation.",
            ],
        ),
        (
            "local_cooperation_group",
            [
                format!("Paikallinen yhteistyöryhmä, {fi} (esimerkki)"),
                format!("Lokal samarbetsgrupp, {sv} (exempel)"),
                format!("Local cooperation group, {en} (example)"),
            ],
            "yhteistyoryhma",
            [
                "Kaupungin, hyvinvointialueen, poliisin ja järjestöjen yhteistyöryhmä; ylläpitää näitä yhteystietoja.",
                "Samarbetsgrupp för staden, välfärdsområdet, polisen och organisationer; upprätthåller dessa kontakter.",
                "The cooperation group of the city, wellbeing county, police and NGOs; keeps these contacts up to date.",
            ],
        ),
        (
            "child_welfare_intake",
            [
                format!("Lastensuojelun vastaanotto, {fi} (esimerkki)"),
                format!("Barnskyddets mottagning, {sv} (exempel)"),
                format!("Child welfare intake, {en} (example)"),
            ],
            "lastensuojelu",
            [
                "Lastensuojeluilmoitukset ja nimettömät konsultaatiot.",
                "Barnskyddsanmälningar och anonyma konsultationer.",
                "Child welfare notifications and anonymous consultations.",
            ],
        ),
        (
            "social_emergency",
            [
                format!("Sosiaalipäivystys, {fi} (esimerkki)"),
                format!("Socialjouren, {sv} (exempel)"),
                format!("Social emergency service, {en} (example)"),
            ],
            "sosiaalipaivystys",
            [
                "Kiireelliset sosiaalipalvelut ympäri vuorokauden.",
                "Brådskande socialservice dygnet runt.",
                "Urgent social services round the clock.",
            ],
        ),
        (
            "student_welfare",
            [
                format!("Opiskeluhuolto, {fi} (esimerkki)"),
                format!("Elevvården, {sv} (exempel)"),
                format!("Student welfare, {en} (example)"),
            ],
            "opiskeluhuolto",
            [
                "Koulukuraattorit ja -psykologit: konsultaatio oppilaasta heränneestä huolesta.",
                "Skolkuratorer och skolpsykologer: konsultation vid oro för en elev.",
                "School social workers and psychologists: consultation when worried about a pupil.",
            ],
        ),
    ];
    for (role, [nfi, nsv, nen], mailbox, [dfi, dsv, den]) in entries {
        debug_assert!(CITY_ROLES.contains(&role), "CITY_ROLES lists {role}");
        let mut c = example(
            contact(&format!("{role}:{}", m.code), &o, t(&nfi, &nsv, &nen), &[role]),
            numbers,
            t(dfi, dsv, den),
        );
        c.areas = vec![area.clone()];
        c.email = Some(format!("{mailbox}.{}@example.invalid", m.code));
        if role == "social_emergency" {
            c.schedules = vec![round_the_clock()];
        } else {
            c.schedules = office_hours();
        }
        if role == "local_cooperation_group" {
            // Its members are named people who can be targeted: members of the area only, so
            // it lives in the area's members-only document.
            c.visibility = Some(Visibility::AreaMembers);
            members.contact_points.insert(c.id.clone(), c);
        } else {
            d.contact_points.insert(c.id.clone(), c);
        }
    }
    d.organisations.insert(o.id.clone(), o);
    [d, members]
}
