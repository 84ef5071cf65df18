//! Civil dates and times in UTC for what the relay prints and answers, without a calendar
//! dependency: days since 1970 to a proleptic Gregorian date and back.

/// Days since 1970-01-01 as `(year, month, day)`.
pub fn date_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `(year, month, day)` as days since 1970-01-01. The caller checks the month and day ranges.
pub fn days_from_date(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The start of a day written `YYYY-MM-DD` (UTC), in milliseconds since 1970; the error is a
/// message for a person.
pub fn day_start_ms(date: &str) -> Result<i64, String> {
    let wrong = || format!("{date:?} is not a date; write YYYY-MM-DD");
    let parts: Vec<i64> = date.split('-').map(str::parse).collect::<Result<_, _>>().map_err(|_| wrong())?;
    let [y, m, d] = parts[..] else { return Err(wrong()) };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(wrong());
    }
    Ok(days_from_date(y, m, d) * 86_400_000)
}

/// Milliseconds since 1970 as `YYYY-MM-DD HH:MM` (UTC).
pub fn minutes_utc(ms: i64) -> String {
    let (y, m, d) = date_from_days(ms.div_euclid(86_400_000));
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
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
    fn dates_round_trip_and_times_are_utc() {
        for days in [-1, 0, 11_016, 20_416, 60_000] {
            let (y, m, d) = date_from_days(days);
            assert_eq!(days_from_date(y, m, d), days);
        }
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_424_709), "2026-11-23T09:05:09Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(minutes_utc(1_795_424_709_000), "2026-11-23 09:05");
    }
}
