//! A contact point as the screens show it: in a list or on its own page (`ContactView`), the
//! edit form's stored values (`ContactForm`), and the app's link to it (`contact_href`).

use contactpoint_directory::model::ContactPoint;
use contactpoint_directory::text::LocalizedText;
use serde::Serialize;

use super::Text;

/// One phone number.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PhoneView {
    pub(super) number: String,
    pub(super) kind: String,
    pub(super) description: Option<Text>,
}

/// A contact point as shown in a list or on its own page.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ContactView {
    pub(super) id: String,
    pub(super) name: Text,
    pub(super) organisation: Option<Text>,
    pub(super) description: Option<Text>,
    pub(super) phones: Vec<PhoneView>,
    pub(super) email: Option<String>,
    pub(super) url: Option<String>,
    pub(super) chat_url: Option<String>,
    pub(super) hours: Vec<String>,
    pub(super) open_now: Option<bool>,
    pub(super) out_of_hours: bool,
    pub(super) languages: Vec<String>,
    pub(super) why: Option<String>,
    pub(super) example: bool,
    pub(super) stale: bool,
    pub(super) verified_at: Option<String>,
    /// The day the entry was retired, if it was (editors see it with a way to restore it).
    pub(super) retired: Option<String>,
    /// For a members-only entry, the areas whose members alone receive it, named in the UI
    /// language (the app labels the entry "only for members of …").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub(super) members_only: Option<String>,
    /// What the edit form starts from; only on a contact's own page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub(super) form: Option<ContactForm>,
}

/// The stored values the edit form shows, in the form's language exactly (no fallback: the form
/// writes that language only).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ContactForm {
    pub(super) description: String,
    pub(super) hours_note: String,
    pub(super) schedules: Vec<ScheduleForm>,
}

/// One stored schedule as the form's row: times empty when not set, days as weekday codes.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ScheduleForm {
    pub(super) kind: String,
    pub(super) days: Vec<String>,
    pub(super) opens: String,
    pub(super) closes: String,
}

impl ContactForm {
    pub(super) fn new(c: &ContactPoint, lang: &str) -> Self {
        let exact = |t: &LocalizedText| t.0.get(lang).cloned().unwrap_or_default();
        ContactForm {
            description: exact(&c.description),
            hours_note: exact(&c.hours_note),
            schedules: c
                .schedules
                .iter()
                .map(|s| ScheduleForm {
                    kind: s.kind.as_str().to_owned(),
                    days: s.byday.iter().map(|d| d.as_str().to_owned()).collect(),
                    opens: s.opens_at.clone().unwrap_or_default(),
                    closes: s.closes_at.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// The app's link to a contact: its id escaped as JavaScript's `encodeURIComponent` does, which
/// the router undoes, so that an id with `/`, `#`, `%` or a space (an imported one may have any)
/// opens that contact.
pub fn contact_href(id: &str) -> String {
    let mut out = String::from("#/contact/");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
