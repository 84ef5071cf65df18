//! The six national guidance templates, in Finnish, Swedish and English.
//!
//! All cards follow the common path: danger now → 112; under 18 → child-welfare notification
//! (Child Welfare Act 417/2007 §25); ideologically motivated violence → Anchor team or the city's
//! contact person; victims → police report and Victim Support Finland; exit → exit and
//! anti-violence services; unsure → consult; record only in your own organisation's system;
//! follow up. Steps name roles, never numbers.

use std::collections::BTreeMap;

use crate::ids::stable_id;
use crate::model::{Answer, CardStatus, GuidanceCard, Node, Step, StepKind, Urgency};
use crate::text::LocalizedText;

const CHILD_WELFARE_ACT: &str = "Child Welfare Act 417/2007 §25";

fn t(fi: &str, sv: &str, en: &str) -> LocalizedText {
    LocalizedText::fi_sv_en(fi, sv, en)
}

/// A step before its id is assigned.
struct S {
    kind: StepKind,
    text: LocalizedText,
    roles: &'static [&'static str],
    legal_basis: Option<&'static str>,
    locked: bool,
}

fn call_112() -> S {
    S {
        kind: StepKind::Call,
        text: t(
            "Soita hätänumeroon 112 ja toimi hätäkeskuspäivystäjän ohjeiden mukaan. Huolehdi omasta ja muiden turvallisuudesta.",
            "Ring nödnumret 112 och följ nödcentralens anvisningar. Se till din egen och andras säkerhet.",
            "Call the emergency number 112 and follow the operator's instructions. Keep yourself and others safe.",
        ),
        roles: &["emergency"],
        legal_basis: None,
        locked: true,
    }
}

fn notify_child_welfare() -> S {
    S {
        kind: StepKind::Notify,
        text: t(
            "Jos henkilö on alle 18-vuotias, tee lastensuojeluilmoitus viipymättä hyvinvointialueelle. Kiireellisessä asiassa tai virka-ajan ulkopuolella ota yhteys sosiaalipäivystykseen tai soita 112. Älä lähetä ilmoitusta suojaamattomalla sähköpostilla. Voit ensin konsultoida nimettömästi.",
            "Om personen är under 18 år, gör genast en barnskyddsanmälan till välfärdsområdet. I brådskande fall eller utanför tjänstetid, kontakta socialjouren eller ring 112. Skicka aldrig anmälan med oskyddad e-post. Du kan först konsultera anonymt.",
            "If the person is under 18, make a child welfare notification to the wellbeing county without delay. If it is urgent or out of hours, contact the social emergency service or call 112. Never send the notification by unsecured e-mail. You may consult anonymously first.",
        ),
        roles: &["child_welfare_intake", "social_emergency"],
        legal_basis: Some(CHILD_WELFARE_ACT),
        locked: true,
    }
}

fn anchor() -> S {
    S {
        kind: StepKind::Consult,
        text: t(
            "Jos huoli liittyy aatteelliseen väkivaltaan tai väkivaltaiseen radikalisoitumiseen, ota yhteys Ankkuritiimiin tai kaupungin yhdyshenkilöön.",
            "Om oron gäller ideologiskt motiverat våld eller våldsam radikalisering, kontakta Ankarteamet eller stadens kontaktperson.",
            "If the concern is about ideologically motivated violence or violent radicalisation, contact the Anchor team or the city's contact person.",
        ),
        roles: &["anchor_team", "municipal_contact_person"],
        legal_basis: None,
        locked: false,
    }
}

/// Whom to ask when unsure: for someone under 18 also child welfare and student welfare; for an
/// adult, no child services.
fn consult(minor: bool) -> S {
    S {
        kind: StepKind::Consult,
        text: t(
            "Jos olet epävarma, konsultoi oman työyhteisösi asiantuntijaa tai kysy neuvoa nimettömästi kertomatta henkilön tietoja.",
            "Om du är osäker, konsultera en sakkunnig på din arbetsplats eller be om råd anonymt utan att berätta vem det gäller.",
            "If you are unsure, consult an expert in your own organisation or ask for advice anonymously without identifying the person.",
        ),
        roles: if minor { &["anchor_team", "child_welfare_intake", "student_welfare"] } else { &["anchor_team"] },
        legal_basis: None,
        locked: false,
    }
}

fn document() -> S {
    S {
        kind: StepKind::DocumentElsewhere,
        text: t(
            "Kirjaa havaintosi ja toimenpiteet oman organisaatiosi asiakas- tai potilastietojärjestelmään – ei koskaan tähän sovellukseen.",
            "Dokumentera dina iakttagelser och åtgärder i din egen organisations klient- eller patientsystem – aldrig i den här appen.",
            "Record what you observed and did in your own organisation's client or patient record system – never in this app.",
        ),
        roles: &[],
        legal_basis: None,
        locked: true,
    }
}

fn follow_up() -> S {
    S {
        kind: StepKind::FollowUp,
        text: t(
            "Sovi, kuka seuraa tilannetta ja milloin. Pidä yhteyttä henkilöön ja tarkista, että apu on tavoittanut hänet.",
            "Kom överens om vem som följer upp situationen och när. Håll kontakten och kontrollera att hjälpen har nått personen.",
            "Agree who follows up and when. Stay in touch and check that help has reached the person.",
        ),
        roles: &[],
        legal_basis: None,
        locked: false,
    }
}

fn police_report() -> S {
    S {
        kind: StepKind::Refer,
        text: t(
            "Kannusta tekemään rikosilmoitus poliisille. Viharikoksessa kerro poliisille, jos teon motiivina vaikuttaa olevan esimerkiksi alkuperä, uskonto, seksuaalinen suuntautuminen tai vamma.",
            "Uppmuntra till att göra en brottsanmälan till polisen. Vid hatbrott, berätta för polisen om motivet verkar vara till exempel ursprung, religion, sexuell läggning eller funktionsnedsättning.",
            "Encourage a crime report to the police. For a hate crime, tell the police if the motive seems to be, for example, origin, religion, sexual orientation or disability.",
        ),
        roles: &["police_local"],
        legal_basis: None,
        locked: false,
    }
}

/// Support for a victim: Victim Support Finland, and for someone under 18 the child and youth
/// helpline too (never shown for an adult).
fn victim_support(minor: bool) -> S {
    let text = if minor {
        t(
            "Kerro Rikosuhripäivystyksestä (116 006): se tukee uhreja, läheisiä ja todistajia maksutta. Kerro myös lasten ja nuorten puhelimesta (116 111).",
            "Berätta om Brottsofferjouren (116 006): den stöder offer, närstående och vittnen kostnadsfritt. Berätta också om barn- och ungdomstelefonen (116 111).",
            "Tell them about Victim Support Finland (116 006): it supports victims, families and witnesses free of charge. Mention the child and youth helpline (116 111) too.",
        )
    } else {
        t(
            "Kerro Rikosuhripäivystyksestä (116 006): se tukee uhreja, läheisiä ja todistajia maksutta.",
            "Berätta om Brottsofferjouren (116 006): den stöder offer, närstående och vittnen kostnadsfritt.",
            "Tell them about Victim Support Finland (116 006): it supports victims, families and witnesses free of charge.",
        )
    };
    S {
        kind: StepKind::Refer,
        text,
        roles: if minor { &["victim_support", "child_helpline"] } else { &["victim_support"] },
        legal_basis: None,
        locked: false,
    }
}

/// For someone leaving a violent group: the police, about crimes and threats.
fn police_for_leaver() -> S {
    S {
        kind: StepKind::Refer,
        text: t(
            "Jos henkilö on osallistunut rikoksiin tai häntä uhataan irtautumisen vuoksi, auta häntä ottamaan yhteyttä poliisiin.",
            "Om personen har deltagit i brott eller hotas för att hen vill lämna, hjälp hen att kontakta polisen.",
            "If the person has taken part in crimes or is threatened for wanting to leave, help them contact the police.",
        ),
        roles: &["police_local"],
        legal_basis: None,
        locked: false,
    }
}

fn support_listen() -> S {
    S {
        kind: StepKind::Support,
        text: t(
            "Kuuntele, usko ja kerro, ettei tapahtunut ole hänen syytään. Kysy, mitä apua hän toivoo.",
            "Lyssna, tro på personen och säg att det som hänt inte är hens fel. Fråga vilken hjälp hen önskar.",
            "Listen, believe them and say that what happened is not their fault. Ask what help they want.",
        ),
        roles: &[],
        legal_basis: None,
        locked: false,
    }
}

fn exit_services() -> S {
    S {
        kind: StepKind::Refer,
        text: t(
            "Ohjaa exit-palveluun (esimerkiksi RADINET) tai väkivaltatyöhön (esimerkiksi Aggredi). Tuki on vapaaehtoista ja luottamuksellista.",
            "Hänvisa till en exittjänst (till exempel RADINET) eller till våldsarbete (till exempel Aggredi). Stödet är frivilligt och konfidentiellt.",
            "Refer to an exit service (for example RADINET) or anti-violence work (for example Aggredi). Support is voluntary and confidential.",
        ),
        roles: &["exit_service", "anti_violence_service"],
        legal_basis: None,
        locked: false,
    }
}

fn call_police_now() -> S {
    S {
        kind: StepKind::Call,
        text: t(
            "Ilmoita uhkauksesta poliisille heti. Jos uhka on välitön, soita 112.",
            "Anmäl hotet till polisen genast. Om hotet är omedelbart, ring 112.",
            "Report the threat to the police at once. If the threat is immediate, call 112.",
        ),
        roles: &["police_local", "emergency"],
        legal_basis: None,
        locked: true,
    }
}

fn inform_leadership() -> S {
    S {
        kind: StepKind::Consult,
        text: t(
            "Kerro asiasta esihenkilöllesi ja toimi organisaatiosi turvallisuusohjeen mukaan.",
            "Informera din chef och följ din organisations säkerhetsanvisning.",
            "Tell your manager and follow your organisation's safety instructions.",
        ),
        roles: &[],
        legal_basis: None,
        locked: false,
    }
}

fn nettivinkki() -> S {
    S {
        kind: StepKind::Refer,
        text: t(
            "Vinkkaa sisällöstä poliisin Nettivinkki-palveluun ja ilmoita se alustan ylläpitäjälle. Tallenna kuvakaappaus, osoite ja aika omaan järjestelmääsi – älä jaa sisältöä eteenpäin.",
            "Tipsa polisens nättips (Nettivinkki) om innehållet och anmäl det till plattformen. Spara en skärmbild, adress och tid i ditt eget system – sprid inte innehållet vidare.",
            "Tip off the police through the online tip service (Nettivinkki) and report the content to the platform. Save a screenshot, address and time in your own system – do not share the content further.",
        ),
        roles: &["police_online_tip"],
        legal_basis: None,
        locked: false,
    }
}

fn family_support() -> S {
    S {
        kind: StepKind::Refer,
        text: t(
            "Kerro läheisille, että he voivat saada tukea itselleen, ja että exit-palvelut neuvovat myös perheitä.",
            "Berätta för de anhöriga att de kan få stöd för egen del, och att exittjänster också ger råd åt familjer.",
            "Tell the family that they can get support for themselves, and that exit services also advise families.",
        ),
        roles: &["family_support", "exit_service"],
        legal_basis: None,
        locked: false,
    }
}

fn steps(node: &str, urgency: Urgency, heading: LocalizedText, list: Vec<S>) -> (String, Node) {
    let steps = list
        .into_iter()
        .enumerate()
        .map(|(i, s)| Step {
            id: format!("{node}-{}", i + 1),
            kind: s.kind,
            text: s.text,
            roles: s.roles.iter().map(|r| (*r).to_owned()).collect(),
            legal_basis: s.legal_basis.map(str::to_owned),
            locked: s.locked,
        })
        .collect();
    (node.to_owned(), Node::Steps { urgency, heading, steps })
}

fn question(node: &str, text: LocalizedText, answers: Vec<(LocalizedText, &str, bool)>) -> (String, Node) {
    let answers = answers
        .into_iter()
        .map(|(text, next, danger_now)| Answer { text, next: next.to_owned(), danger_now })
        .collect();
    (node.to_owned(), Node::Question { text, help: LocalizedText::new(), answers })
}

fn danger_question(next: &str) -> (String, Node) {
    question(
        "danger",
        t(
            "Onko joku välittömässä vaarassa juuri nyt?",
            "Är någon i omedelbar fara just nu?",
            "Is anyone in immediate danger right now?",
        ),
        vec![
            (t("Kyllä, vaara on välitön", "Ja, faran är omedelbar", "Yes, the danger is immediate"), "emergency", true),
            (t("Ei", "Nej", "No"), next, false),
        ],
    )
}

fn emergency_node() -> (String, Node) {
    steps(
        "emergency",
        Urgency::Emergency,
        t("Hätätilanne: soita 112", "Nödsituation: ring 112", "Emergency: call 112"),
        vec![call_112(), notify_child_welfare(), document(), follow_up()],
    )
}

fn age_question(under: &str, adult: &str) -> (String, Node) {
    question(
        "age",
        t("Onko henkilö alle 18-vuotias?", "Är personen under 18 år?", "Is the person under 18?"),
        vec![
            (t("Kyllä", "Ja", "Yes"), under, false),
            (t("Ei, täysi-ikäinen", "Nej, myndig", "No, an adult"), adult, false),
            (t("En tiedä", "Vet inte", "I don't know"), under, false),
        ],
    )
}

fn do_not_common() -> Vec<LocalizedText> {
    vec![
        t(
            "Älä kirjaa henkilön tietoja tähän sovellukseen.",
            "Registrera inte uppgifter om personen i den här appen.",
            "Do not record anything about the person in this app.",
        ),
        t(
            "Älä ryhdy itse tutkimaan tai kuulustelemaan.",
            "Börja inte själv utreda eller förhöra.",
            "Do not investigate or interrogate on your own.",
        ),
    ]
}

struct CardText {
    slug: &'static str,
    topics: &'static [&'static str],
    audiences: &'static [&'static str],
    title: LocalizedText,
    summary: LocalizedText,
}

fn card(today: &str, c: CardText, nodes: Vec<(String, Node)>, extra_do_not: Vec<LocalizedText>) -> GuidanceCard {
    let mut do_not = do_not_common();
    do_not.extend(extra_do_not);
    GuidanceCard {
        id: stable_id("card", c.slug),
        slug: c.slug.to_owned(),
        status: CardStatus::Published,
        audiences: c.audiences.iter().map(|a| (*a).to_owned()).collect(),
        topics: c.topics.iter().map(|a| (*a).to_owned()).collect(),
        title: c.title,
        summary: c.summary,
        start: "danger".to_owned(),
        nodes: nodes.into_iter().collect::<BTreeMap<_, _>>(),
        do_not,
        sources: vec![
            CHILD_WELFARE_ACT.to_owned(),
            "National Action Plan for the Prevention of Violent Radicalisation and Extremism".to_owned(),
        ],
        last_reviewed: Some(today.to_owned()),
        next_review_due: Some(one_year_later(today)),
        overrides: None,
    }
}

/// The same date a year later (29 February becomes 28 February).
fn one_year_later(today: &str) -> String {
    let year: u32 = today.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2025);
    let rest = today.get(4..).unwrap_or("-01-01");
    let rest = if rest == "-02-29" { "-02-28" } else { rest };
    format!("{}{rest}", year + 1)
}

const ALL: &[&str] = &["teacher", "youth_worker", "reception_staff", "social_worker", "health_worker"];

/// The six national templates.
pub(crate) fn national_cards(today: &str) -> Vec<GuidanceCard> {
    vec![
        card(
            today,
            CardText {
                slug: "worried-about-young-person",
                topics: &["radicalisation_concern"],
                audiences: ALL,
                title: t(
                    "Huoli oppilaasta tai nuoresta",
                    "Oro för en elev eller ung person",
                    "Worried about a pupil or young person",
                ),
                summary: t(
                    "Nuoren puheet, käytös tai verkkosisällöt herättävät huolen väkivaltaisesta radikalisoitumisesta.",
                    "En ung persons tal, beteende eller innehåll på nätet väcker oro för våldsam radikalisering.",
                    "A young person's talk, behaviour or online content makes you worry about violent radicalisation.",
                ),
            },
            vec![
                danger_question("age"),
                emergency_node(),
                age_question("minor", "adult"),
                steps(
                    "minor",
                    Urgency::Urgent,
                    t(
                        "Alle 18-vuotias: ilmoita ja konsultoi",
                        "Under 18 år: anmäl och konsultera",
                        "Under 18: notify and consult",
                    ),
                    vec![notify_child_welfare(), anchor(), consult(true), document(), follow_up()],
                ),
                steps(
                    "adult",
                    Urgency::Concern,
                    t(
                        "Täysi-ikäinen: konsultoi ja ohjaa",
                        "Myndig: konsultera och hänvisa",
                        "Adult: consult and refer",
                    ),
                    vec![anchor(), exit_services(), consult(false), document(), follow_up()],
                ),
            ],
            vec![t(
                "Älä leimaa nuorta tai keskustele huolesta muiden oppilaiden kuullen.",
                "Stämpla inte den unga och diskutera inte oron så att andra elever hör.",
                "Do not label the young person or discuss the concern where other pupils can hear.",
            )],
        ),
        card(
            today,
            CardText {
                slug: "threat-of-violence",
                topics: &["threat_of_violence"],
                audiences: ALL,
                title: t(
                    "Väkivallalla uhkaaminen tai puheet iskusta",
                    "Hot om våld eller tal om ett attentat",
                    "Threat of violence or talk of an attack",
                ),
                summary: t(
                    "Joku uhkaa väkivallalla tai puhuu iskusta, esimerkiksi koulussa tai verkossa.",
                    "Någon hotar med våld eller talar om ett attentat, till exempel i skolan eller på nätet.",
                    "Someone threatens violence or talks about an attack, for example at school or online.",
                ),
            },
            vec![
                danger_question("concrete"),
                emergency_node(),
                question(
                    "concrete",
                    t(
                        "Onko uhkauksessa kohde, aika, välineet tai merkkejä valmistelusta?",
                        "Finns det ett mål, en tidpunkt, medel eller tecken på förberedelser i hotet?",
                        "Does the threat name a target, a time, means, or show signs of preparation?",
                    ),
                    vec![
                        (t("Kyllä", "Ja", "Yes"), "report", false),
                        (t("Ei tai en tiedä", "Nej eller vet inte", "No, or I don't know"), "assess", false),
                    ],
                ),
                steps(
                    "report",
                    Urgency::Urgent,
                    t("Ilmoita poliisille heti", "Anmäl till polisen genast", "Report to the police now"),
                    vec![call_police_now(), inform_leadership(), notify_child_welfare(), document(), follow_up()],
                ),
                steps(
                    "assess",
                    Urgency::Concern,
                    t(
                        "Arvioi yhdessä asiantuntijoiden kanssa",
                        "Bedöm tillsammans med sakkunniga",
                        "Assess together with experts",
                    ),
                    vec![anchor(), inform_leadership(), notify_child_welfare(), document(), follow_up()],
                ),
            ],
            vec![t(
                "Älä jätä uhkausta huomiotta, vaikka se olisi sanottu vitsinä.",
                "Ignorera inte hotet även om det sades som ett skämt.",
                "Do not ignore a threat even if it was said as a joke.",
            )],
        ),
        card(
            today,
            CardText {
                slug: "hate-crime-victim",
                topics: &["hate_crime_victim"],
                audiences: ALL,
                title: t("Viharikoksen uhri", "Offer för hatbrott", "Victim of a hate crime"),
                summary: t(
                    "Joku on joutunut rikoksen kohteeksi alkuperänsä, uskontonsa, suuntautumisensa, vammansa tai muun ominaisuutensa vuoksi.",
                    "Någon har utsatts för brott på grund av sitt ursprung, sin religion, läggning, funktionsnedsättning eller annan egenskap.",
                    "Someone has been targeted because of their origin, religion, orientation, disability or another characteristic.",
                ),
            },
            vec![
                danger_question("age"),
                emergency_node(),
                age_question("minor", "adult"),
                steps(
                    "minor",
                    Urgency::Urgent,
                    t("Alaikäinen uhri", "Minderårigt offer", "A victim under 18"),
                    vec![
                        support_listen(),
                        notify_child_welfare(),
                        police_report(),
                        victim_support(true),
                        document(),
                        follow_up(),
                    ],
                ),
                steps(
                    "adult",
                    Urgency::Concern,
                    t("Täysi-ikäinen uhri", "Vuxet offer", "An adult victim"),
                    vec![support_listen(), police_report(), victim_support(false), document(), follow_up()],
                ),
            ],
            vec![t(
                "Älä vähättele kokemusta tai kehota sopimaan asiaa keskenään.",
                "Förminska inte upplevelsen och uppmana inte till att göra upp sinsemellan.",
                "Do not play down the experience or suggest settling it privately.",
            )],
        ),
        card(
            today,
            CardText {
                slug: "family-member-worried",
                topics: &["family_worried"],
                audiences: &["social_worker", "youth_worker", "health_worker", "teacher"],
                title: t(
                    "Perheenjäsen on huolissaan läheisestään",
                    "En familjemedlem är orolig för en anhörig",
                    "A family member is worried about a relative",
                ),
                summary: t(
                    "Läheinen kertoo, että perheenjäsen on muuttunut, liikkuu ääriryhmissä tai ihannoi väkivaltaa.",
                    "En anhörig berättar att en familjemedlem har förändrats, rör sig i extremistgrupper eller förhärligar våld.",
                    "A relative tells you that a family member has changed, spends time in extremist groups or glorifies violence.",
                ),
            },
            vec![
                danger_question("age"),
                emergency_node(),
                age_question("minor", "adult"),
                steps(
                    "minor",
                    Urgency::Urgent,
                    t("Huoli alaikäisestä", "Oro för en minderårig", "Concern about someone under 18"),
                    vec![notify_child_welfare(), anchor(), family_support(), document(), follow_up()],
                ),
                steps(
                    "adult",
                    Urgency::Concern,
                    t("Huoli aikuisesta", "Oro för en vuxen", "Concern about an adult"),
                    vec![family_support(), anchor(), exit_services(), document(), follow_up()],
                ),
            ],
            vec![t(
                "Älä neuvo perhettä katkaisemaan välejä tai uhkailemaan.",
                "Råd inte familjen att bryta kontakten eller att hota.",
                "Do not advise the family to cut off contact or to make threats.",
            )],
        ),
        card(
            today,
            CardText {
                slug: "wants-to-leave-violent-group",
                topics: &["wants_to_exit"],
                audiences: ALL,
                title: t(
                    "Joku haluaa irtautua väkivaltaisesta ryhmästä",
                    "Någon vill lämna en våldsbejakande grupp",
                    "Someone wants to leave a violent group",
                ),
                summary: t(
                    "Henkilö kertoo haluavansa pois ääriliikkeestä, jengistä tai väkivaltaisesta porukasta.",
                    "En person berättar att hen vill lämna en extremiströrelse, ett gäng eller ett våldsamt sällskap.",
                    "A person says they want to get out of an extremist movement, a gang or a violent circle.",
                ),
            },
            vec![
                danger_question("age"),
                emergency_node(),
                age_question("minor", "adult"),
                steps(
                    "minor",
                    Urgency::Urgent,
                    t("Alle 18-vuotias", "Under 18 år", "Under 18"),
                    vec![notify_child_welfare(), exit_services(), anchor(), document(), follow_up()],
                ),
                steps(
                    "adult",
                    Urgency::Concern,
                    t("Täysi-ikäinen", "Myndig", "Adult"),
                    vec![exit_services(), anchor(), police_for_leaver(), document(), follow_up()],
                ),
            ],
            vec![t(
                "Älä lupaa ehdotonta vaitioloa: ilmoitusvelvollisuus ja välitön vaara menevät edelle.",
                "Lova inte absolut tystnad: anmälningsplikt och omedelbar fara går före.",
                "Do not promise absolute secrecy: the duty to notify and immediate danger come first.",
            )],
        ),
        card(
            today,
            CardText {
                slug: "worrying-online-content",
                topics: &["online_content"],
                audiences: ALL,
                title: t("Huolestuttava verkkosisältö", "Oroande innehåll på nätet", "Worrying online content"),
                summary: t(
                    "Olet nähnyt verkossa väkivaltaa ihannoivaa, vihaa lietsovaa tai iskua suunnittelevaa sisältöä.",
                    "Du har sett innehåll på nätet som förhärligar våld, sprider hat eller planerar ett attentat.",
                    "You have seen online content that glorifies violence, incites hatred or plans an attack.",
                ),
            },
            vec![
                danger_question("threat"),
                emergency_node(),
                question(
                    "threat",
                    t(
                        "Uhkaako sisältö jotakuta väkivallalla tai näyttääkö siltä, että iskua suunnitellaan?",
                        "Hotar innehållet någon med våld eller ser det ut som om ett attentat planeras?",
                        "Does the content threaten someone with violence, or look like an attack is being planned?",
                    ),
                    vec![(t("Kyllä", "Ja", "Yes"), "report", false), (t("Ei", "Nej", "No"), "tip", false)],
                ),
                steps(
                    "report",
                    Urgency::Urgent,
                    t("Ilmoita poliisille heti", "Anmäl till polisen genast", "Report to the police now"),
                    vec![call_police_now(), notify_child_welfare(), document(), follow_up()],
                ),
                steps(
                    "tip",
                    Urgency::Information,
                    t("Vinkkaa ja konsultoi", "Tipsa och konsultera", "Tip off and consult"),
                    vec![nettivinkki(), anchor(), document(), follow_up()],
                ),
            ],
            vec![t(
                "Älä jaa sisältöä eteenpäin, älä edes varoittaaksesi muita.",
                "Sprid inte innehållet vidare, inte ens för att varna andra.",
                "Do not share the content further, not even to warn others.",
            )],
        ),
    ]
}
