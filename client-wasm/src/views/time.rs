//! Dates and times for the screens: days between dates and staleness (`is_stale`), whether a
//! contact is open at the caller's local weekday and time (`open_now`), and its opening hours as
//! lines in the UI language (`hours`). The clock is always the caller's.

use contactpoint_directory::model::{ContactPoint, ScheduleKind};

use super::pick;
use super::words::weekday;

/// Days since 1970-01-01 for a date that starts `YYYY-MM-DD`, or `None`.
pub(super) fn days(date: &str) -> Option<i64> {
    contactpoint_directory::dates::days(date.get(..10)?)
}

/// Entries not verified for this many days are labelled "may be out of date".
pub const STALE_AFTER_DAYS: i64 = 180;

/// Whether a contact point should carry the "may be out of date" label on `today`.
pub fn is_stale(c: &ContactPoint, today: &str) -> bool {
    let Some(t) = days(today) else { return false };
    let unverified = c.verified_at.as_deref().and_then(days).is_none_or(|v| t - v > STALE_AFTER_DAYS);
    let past_review = c.review_by.as_deref().and_then(days).is_some_and(|r| r < t);
    unverified || past_review
}

/// `Some(open)` when the contact has regular opening hours; `now` is `"mo 14:05"`.
/// A schedule without days is every day, without times all day; a closing time at or before the
/// opening time runs past midnight.
pub(super) fn open_now(c: &ContactPoint, now: &str) -> Option<bool> {
    let (day, time) = now.split_once(' ')?;
    let regular: Vec<_> = c.schedules.iter().filter(|s| s.kind == ScheduleKind::Regular).collect();
    if regular.is_empty() {
        return None;
    }
    Some(regular.iter().any(|s| {
        let day_ok = s.byday.is_empty() || s.byday.iter().any(|d| d.as_str().eq_ignore_ascii_case(day));
        let time_ok = match (s.opens_at.as_deref(), s.closes_at.as_deref()) {
            (None, None) => true,
            (Some(o), Some(cl)) if cl <= o => time >= o || time < cl,
            (Some(o), Some(cl)) => o <= time && time < cl,
            (Some(o), None) => time >= o,
            (None, Some(cl)) => time < cl,
        };
        day_ok && time_ok
    }))
}

pub(super) fn hours(c: &ContactPoint, lang: &str) -> Vec<String> {
    let mut out: Vec<String> = c
        .schedules
        .iter()
        .map(|s| {
            let days: Vec<&str> = s.byday.iter().map(|d| weekday(d.as_str(), lang)).collect();
            let mut line = match (s.opens_at.as_deref(), s.closes_at.as_deref()) {
                (Some(o), Some(cl)) => format!("{} {o}–{cl}", days.join(" ")),
                _ => days.join(" "),
            };
            if let Some(d) = pick(&s.description, lang) {
                if !line.trim().is_empty() {
                    line.push_str(" · ");
                }
                line.push_str(&d.text);
            }
            line.trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(n) = pick(&c.hours_note, lang) {
        out.push(n.text);
    }
    out
}
