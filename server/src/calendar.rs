//! Times in UTC, and Finland's date, for what the relay prints and answers, over the
//! directory's civil-date arithmetic (`contactpoint_directory::dates`).

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

/// Milliseconds since 1970 as the date in Finland (`YYYY-MM-DD`): UTC+2, and UTC+3 from the last
/// Sunday of March to the last Sunday of October, switching at 01:00 UTC as everywhere in the EU.
/// What "today" means to the people who check and retire entries.
pub fn finland_date(ms: i64) -> String {
    let (y, _, _) = date_from_days(ms.div_euclid(MS_PER_DAY));
    // 1970-01-01 was a Thursday; counting Sunday as 0, day `d` is weekday `(d + 4) mod 7`.
    let last_sunday = |month: i64| {
        let last = days_from_date(y, month, 31);
        last - (last + 4).rem_euclid(7)
    };
    let summer = (last_sunday(3) * MS_PER_DAY + 3_600_000)..(last_sunday(10) * MS_PER_DAY + 3_600_000);
    let offset = if summer.contains(&ms) { 3 } else { 2 } * 3_600_000;
    let (y, m, d) = date_from_days((ms + offset).div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
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
    fn finlands_date_follows_its_clock_change() {
        let at = |utc: &str| {
            let (date, time) = utc.split_once('T').unwrap();
            let (h, m) = time.split_once(':').unwrap();
            day_start_ms(date).unwrap() + (h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap()) * 60_000
        };
        for (utc, finland) in [
            ("2026-11-28T21:59", "2026-11-28"),
            ("2026-11-28T22:00", "2026-11-29"),
            ("2026-11-28T23:30", "2026-11-29"),
            ("2026-06-30T20:59", "2026-06-30"),
            ("2026-06-30T21:00", "2026-07-01"),
            // Summer time starts on 29 March 2026 and ends on 25 October 2026, at 01:00 UTC.
            ("2026-03-28T22:30", "2026-03-29"),
            ("2026-03-29T21:30", "2026-03-30"),
            ("2026-10-24T21:30", "2026-10-25"),
            ("2026-10-25T21:30", "2026-10-25"),
            ("2026-10-25T22:00", "2026-10-26"),
            ("2026-12-31T22:00", "2027-01-01"),
        ] {
            assert_eq!(finland_date(at(utc)), finland, "{utc} UTC");
        }
    }

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
