//! The domain types of the directory and guidance documents, independent of how they are stored.
//!
//! The directory follows Open Referral HSDS 3.0 in spirit: an [`Organisation`] offers
//! [`ContactPoint`]s (an HSDS service with its contact, phones and schedules). Guidance lives in
//! [`GuidanceCard`]s whose steps name contact *roles*, never numbers, so the same national card
//! resolves to the right local contact in every municipality.
//!
//! Enumerations are closed sets in this version but keep any value written by a newer version in
//! an `Other` variant, so that reading and rewriting a document never loses data; validation
//! reports such values.

use std::collections::BTreeMap;

use crate::area::Area;
use crate::text::LocalizedText;

/// Declares an enumeration stored as a string, with an `Other` variant for unknown values.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know (written by a newer version, or invalid).
            Other(String),
        }

        impl $name {
            /// Every value this version knows.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];

            /// The stored string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }

            /// Reads a stored string; unknown strings become `Other`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// Whether this is a value this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The contact roles guidance refers to. Roles are stored as plain strings so the taxonomy can
/// grow; validation accepts exactly these.
pub const ROLES: &[&str] = &[
    "emergency",
    "police_local",
    "police_online_tip",
    "anchor_team",
    "municipal_contact_person",
    "local_cooperation_group",
    "child_welfare_intake",
    "social_emergency",
    "student_welfare",
    "exit_service",
    "anti_violence_service",
    "victim_support",
    "family_support",
    "child_helpline",
];

/// Names of the roles in Finnish, Swedish and English, for display and search.
pub const ROLE_LABELS: &[(&str, [&str; 3])] = &[
    ("emergency", ["Hätänumero", "Nödnummer", "Emergency number"]),
    ("police_local", ["Paikallinen poliisi", "Lokal polis", "Local police"]),
    ("police_online_tip", ["Poliisin nettivinkki", "Polisens nättips", "Police online tip"]),
    ("anchor_team", ["Ankkuritiimi", "Ankarteam", "Anchor team"]),
    ("municipal_contact_person", ["Kunnan yhdyshenkilö", "Kommunens kontaktperson", "Municipal contact person"]),
    ("local_cooperation_group", ["Paikallinen yhteistyöryhmä", "Lokal samarbetsgrupp", "Local cooperation group"]),
    ("child_welfare_intake", ["Lastensuojelun vastaanotto", "Barnskyddets mottagning", "Child welfare intake"]),
    ("social_emergency", ["Sosiaalipäivystys", "Socialjour", "Social emergency service"]),
    ("student_welfare", ["Opiskeluhuolto", "Elevvård", "Student welfare"]),
    ("exit_service", ["Exit-palvelu", "Exit-tjänst", "Exit service"]),
    ("anti_violence_service", ["Väkivaltatyö", "Våldsarbete", "Anti-violence service"]),
    ("victim_support", ["Rikosuhrien tuki", "Brottsofferstöd", "Victim support"]),
    ("family_support", ["Perheiden tuki", "Familjestöd", "Family support"]),
    ("child_helpline", ["Lasten ja nuorten puhelin", "Barn- och ungdomstelefonen", "Child and youth helpline"]),
];

/// The name of a role in `lang` (`fi`, `sv`, anything else English), or `None` for unknown roles.
pub fn role_label(role: &str, lang: &str) -> Option<&'static str> {
    let i = match lang {
        "fi" => 0,
        "sv" => 1,
        _ => 2,
    };
    ROLE_LABELS.iter().find(|(r, _)| *r == role).map(|(_, l)| l[i])
}

/// Who a contact point or card is meant for.
pub const AUDIENCES: &[&str] = &["teacher", "youth_worker", "reception_staff", "social_worker", "health_worker"];

/// What a guidance card is about.
pub const TOPICS: &[&str] = &[
    "radicalisation_concern",
    "hate_crime_victim",
    "threat_of_violence",
    "wants_to_exit",
    "family_worried",
    "online_content",
];

string_enum! {
    /// What kind of body an organisation is.
    OrganisationKind {
        /// The police.
        Police => "police",
        /// A municipality (city or town).
        Municipality => "municipality",
        /// A wellbeing services county (or Helsinki / Åland in that capacity).
        WellbeingCounty => "wellbeing_county",
        /// A non-governmental organisation.
        Ngo => "ngo",
        /// A national authority.
        NationalAuthority => "national_authority",
        /// A school or educational institution.
        School => "school",
        /// Anything else.
        Unspecified => "other",
    }
}

string_enum! {
    /// How a phone number is used.
    PhoneKind {
        /// Voice calls.
        Voice => "voice",
        /// Text messages.
        Sms => "sms",
    }
}

string_enum! {
    /// Who may see a contact point.
    Visibility {
        /// Every signed-in professional.
        AllProfessionals => "all_professionals",
        /// Members of an area only. The mark itself hides nothing: validation allows it only in
        /// an area's members-only document (and requires it there), and the relay gives that
        /// document to the area's members (their areas are it or contain it) and admins alone.
        /// The entry's own `areas` play no part in who receives it.
        AreaMembers => "area_members",
    }
}

string_enum! {
    /// Whether a schedule gives the regular opening hours or the out-of-hours service.
    ScheduleKind {
        /// Regular opening hours.
        Regular => "regular",
        /// When the service answers outside regular hours (evenings, nights, weekends).
        OutOfHours => "out_of_hours",
    }
}

string_enum! {
    /// A day of the week, written as in iCalendar and HSDS `byday`.
    Weekday {
        /// Monday.
        Mo => "MO",
        /// Tuesday.
        Tu => "TU",
        /// Wednesday.
        We => "WE",
        /// Thursday.
        Th => "TH",
        /// Friday.
        Fr => "FR",
        /// Saturday.
        Sa => "SA",
        /// Sunday.
        Su => "SU",
    }
}

string_enum! {
    /// The life-cycle state of a guidance card.
    CardStatus {
        /// Being written; not shown to readers.
        Draft => "draft",
        /// Shown to readers.
        Published => "published",
        /// No longer shown.
        Retired => "retired",
    }
}

string_enum! {
    /// How urgent the situation a steps node covers is, most urgent first.
    Urgency {
        /// Danger now: call 112.
        Emergency => "emergency",
        /// Act today.
        Urgent => "urgent",
        /// A concern to act on soon.
        Concern => "concern",
        /// For information.
        Information => "information",
    }
}

string_enum! {
    /// What a step asks the professional to do.
    StepKind {
        /// Phone someone.
        Call => "call",
        /// Make a statutory notification.
        Notify => "notify",
        /// Ask for advice (internally or anonymously).
        Consult => "consult",
        /// Guide the person to a service.
        Refer => "refer",
        /// Support the person yourself.
        Support => "support",
        /// Record the matter in your own organisation's system, never in this app.
        DocumentElsewhere => "document_elsewhere",
        /// Check back later.
        FollowUp => "follow_up",
        /// Background information.
        Info => "info",
    }
}

string_enum! {
    /// Which kind of document a catalogue entry is.
    DocumentKind {
        /// The catalogue itself.
        Index => "index",
        /// National services and national guidance templates.
        National => "national",
        /// One area's contact points and local guidance overrides.
        Area => "area",
        /// One area's members-only contact points, which the relay gives only to the area's
        /// members. Never listed in the catalogue.
        Restricted => "restricted",
    }
}

/// An organisation that offers contact points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organisation {
    /// Stable id (UUID-like).
    pub id: String,
    /// Name per language.
    pub name: LocalizedText,
    /// Description per language.
    pub description: LocalizedText,
    /// Website.
    pub website: Option<String>,
    /// Kind of organisation.
    pub kind: Option<OrganisationKind>,
    /// Sample data, not a real organisation entry.
    pub example: bool,
}

/// One phone number of a contact point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    /// The number as people write it (`+358 40 123 4567`, `040 123 4567`, `112`).
    pub number: String,
    /// Voice or text messages.
    pub kind: PhoneKind,
    /// What the number is for, per language.
    pub description: LocalizedText,
}

/// One rule of opening hours, shaped like an HSDS schedule with weekly frequency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Regular hours or the out-of-hours service.
    pub kind: ScheduleKind,
    /// The days this rule applies to; empty means every day.
    pub byday: Vec<Weekday>,
    /// Opening time `HH:MM`; `None` with `closes_at` `None` means round the clock.
    pub opens_at: Option<String>,
    /// Closing time `HH:MM`; earlier than `opens_at` means the next morning.
    pub closes_at: Option<String>,
    /// Free description per language ("except public holidays").
    pub description: LocalizedText,
}

/// A contact point: a service with the ways to reach it (HSDS service + contact + phone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactPoint {
    /// Stable id (UUID-like).
    pub id: String,
    /// The organisation that offers it.
    pub organisation_id: Option<String>,
    /// Name per language.
    pub name: LocalizedText,
    /// Description per language.
    pub description: LocalizedText,
    /// Role codes from [`ROLES`] that guidance steps resolve to.
    pub roles: Vec<String>,
    /// Phone numbers.
    pub phones: Vec<Phone>,
    /// E-mail address (never for child-welfare notifications about individuals).
    pub email: Option<String>,
    /// Website.
    pub url: Option<String>,
    /// Web chat address.
    pub chat_url: Option<String>,
    /// Opening hours and out-of-hours service.
    pub schedules: Vec<Schedule>,
    /// Free text about hours per language ("outside these hours call the social emergency service").
    pub hours_note: LocalizedText,
    /// Languages served, as ISO 639-1 codes.
    pub languages: Vec<String>,
    /// Audiences from [`AUDIENCES`]; empty means everyone.
    pub audiences: Vec<String>,
    /// The areas it serves; empty means the whole country (allowed in the national document only).
    pub areas: Vec<Area>,
    /// Area strings this version could not read; kept so rewriting does not lose them and
    /// validation can report them.
    pub unparsed_areas: Vec<String>,
    /// Who may see it.
    pub visibility: Option<Visibility>,
    /// When a local editor last confirmed the entry (`YYYY-MM-DD`; HSDS `assured_date`).
    pub verified_at: Option<String>,
    /// Who confirmed it (HSDS `assurer_email`; a role address is preferred).
    pub verified_by: Option<String>,
    /// Sample data, shown as "example data — not a real contact".
    pub example: bool,
    /// A named person, only where a role needs one (a city contact person).
    pub contact_person: Option<String>,
    /// When a named person entry must be reviewed (`YYYY-MM-DD`); required with `contact_person`.
    pub review_by: Option<String>,
    /// The day the entry was retired (`YYYY-MM-DD`; HSDS service `status` `inactive`), or `None`
    /// while it is in use. A retired entry stays in its document so that an editor can restore
    /// it, but resolution, search, browsing and the review queue leave it out.
    pub retired: Option<String>,
}

impl ContactPoint {
    /// Whether the contact point carries a role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the entry has been retired (see [`ContactPoint::retired`]).
    pub fn is_retired(&self) -> bool {
        self.retired.is_some()
    }

    /// The visibility, defaulting to every professional.
    pub fn visibility(&self) -> Visibility {
        self.visibility.clone().unwrap_or(Visibility::AllProfessionals)
    }
}

/// One answer of a question node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The answer text per language.
    pub text: LocalizedText,
    /// The node this answer leads to.
    pub next: String,
    /// The answer means someone is in danger right now: every path from it must call 112.
    pub danger_now: bool,
}

/// One step of a steps node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Id unique within the card, so local overrides can keep locked steps.
    pub id: String,
    /// What to do.
    pub kind: StepKind,
    /// Instructions per language.
    pub text: LocalizedText,
    /// Contact roles resolved through the directory at the user's municipality.
    pub roles: Vec<String>,
    /// The statute behind the step (required for `notify`).
    pub legal_basis: Option<String>,
    /// A local override may not remove this step.
    pub locked: bool,
}

/// A node of a guidance card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A question with answers leading on.
    Question {
        /// The question per language.
        text: LocalizedText,
        /// Optional help per language.
        help: LocalizedText,
        /// The answers.
        answers: Vec<Answer>,
    },
    /// What to do.
    Steps {
        /// How urgent.
        urgency: Urgency,
        /// Heading per language.
        heading: LocalizedText,
        /// Ordered steps.
        steps: Vec<Step>,
    },
}

/// A guidance card: a small decision tree from questions to steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuidanceCard {
    /// Stable id.
    pub id: String,
    /// URL-friendly name.
    pub slug: String,
    /// Draft, published or retired.
    pub status: CardStatus,
    /// Audiences from [`AUDIENCES`].
    pub audiences: Vec<String>,
    /// Topics from [`TOPICS`].
    pub topics: Vec<String>,
    /// Title per language.
    pub title: LocalizedText,
    /// Summary per language.
    pub summary: LocalizedText,
    /// The id of the first node.
    pub start: String,
    /// Nodes by id.
    pub nodes: BTreeMap<String, Node>,
    /// Things never to do, per language each.
    pub do_not: Vec<LocalizedText>,
    /// Where the guidance comes from (statutes, national guidelines).
    pub sources: Vec<String>,
    /// When the content was last reviewed (`YYYY-MM-DD`).
    pub last_reviewed: Option<String>,
    /// When it must be reviewed again (`YYYY-MM-DD`).
    pub next_review_due: Option<String>,
    /// In an area document: the id of the national card this card replaces locally.
    pub overrides: Option<String>,
}

impl GuidanceCard {
    /// Whether the card is past its review date on `today` (`YYYY-MM-DD`), so the UI shows
    /// "may be out of date". ISO dates compare correctly as strings.
    pub fn is_out_of_date(&self, today: &str) -> bool {
        self.next_review_due.as_deref().is_some_and(|due| due < today)
    }

    /// Every step of the card with the id of its node.
    pub fn steps(&self) -> impl Iterator<Item = (&str, &Step)> {
        self.nodes.iter().flat_map(|(id, n)| match n {
            Node::Steps { steps, .. } => steps.iter().map(move |s| (id.as_str(), s)).collect::<Vec<_>>(),
            Node::Question { .. } => Vec::new(),
        })
    }
}

/// The contents of a `national` or area document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    /// `National` or `Area` (anything else is reported by validation).
    pub kind: Option<DocumentKind>,
    /// The area an area document belongs to.
    pub area: Option<Area>,
    /// The area text as stored, when it could not be read.
    pub unparsed_area: Option<String>,
    /// Title per language.
    pub title: LocalizedText,
    /// Organisations by id.
    pub organisations: BTreeMap<String, Organisation>,
    /// Contact points by id.
    pub contact_points: BTreeMap<String, ContactPoint>,
    /// Guidance cards (national templates or local overrides) by id.
    pub cards: BTreeMap<String, GuidanceCard>,
}

impl Directory {
    /// An empty national document.
    pub fn national(title: LocalizedText) -> Self {
        Self { kind: Some(DocumentKind::National), title, ..Self::default() }
    }

    /// An empty area document.
    pub fn for_area(area: Area, title: LocalizedText) -> Self {
        Self { kind: Some(DocumentKind::Area), area: Some(area), title, ..Self::default() }
    }

    /// An empty members-only document of an area, titled after the area.
    pub fn restricted_for(area: Area) -> Self {
        let title = LocalizedText::fi_sv_en(
            &format!("{}: vain alueen jäsenille", area.name("fi")),
            &format!("{}: endast för områdets medlemmar", area.name("sv")),
            &format!("{}: area members only", area.name("en")),
        );
        Self { kind: Some(DocumentKind::Restricted), area: Some(area), title, ..Self::default() }
    }

    /// Whether this is an area's members-only document.
    pub fn is_restricted(&self) -> bool {
        self.kind == Some(DocumentKind::Restricted)
    }

    /// Whether this is the national document.
    pub fn is_national(&self) -> bool {
        self.kind == Some(DocumentKind::National)
    }
}

/// One entry of the `index` catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The Automerge document id.
    pub id: String,
    /// What kind of document it is.
    pub kind: DocumentKind,
    /// The area of an area document.
    pub area: Option<Area>,
    /// Title per language.
    pub title: LocalizedText,
}

/// The contents of the `index` document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// Catalogue entries by document id.
    pub documents: BTreeMap<String, IndexEntry>,
}
