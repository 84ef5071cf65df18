//! Times in UTC for what the relay prints and answers, over the directory's civil-date
//! arithmetic (`contactpoint_directory::dates`).

pub use contactpoint_directory::dates::{MS_PER_DAY, date_from_days, days_from_date};

/// The start of a day written `YYYY-MM-DD` (UTC), in milliseconds since 1970; the error is a
/// message for a person.
pub fn day_start_ms(date: &str) -> Result<i64, String> {
    let days =
        contactpoint_directory::dates::days(date).ok_or_else(|| format!("{date:?} is not a date; write YYYY-MM-DD"))?;
    Ok(days * MS_PER_DAY)
}

/// Milliseconds since 1970 as `YYYY-MM-DD HH:MM` (UTC).
pub fn minutes_utc(ms: i64) -> String {
    let (y, m, d) = date_from_days(ms.div_euclid(MS_PER_DAY));
    let minutes = ms.rem_euclid(MS_PER_DAY) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// Seconds since 1970 as an RFC 3339 time in UTC, such as `2026-11-24T08:05:09Z`.
pub fn rfc3339_utc(secs: i64) -> String {
    let (y, m, d) = date_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(day_start_ms("2000-03-01"), Ok(11_017 * MS_PER_DAY));
        assert!(day_start_ms("2000-3").is_err() && day_start_ms("x").is_err());
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_424_709), "2026-11-23T09:05:09Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(minutes_utc(1_795_424_709_000), "2026-11-23 09:05");
    }
}
