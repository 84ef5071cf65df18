//! Civil dates without a calendar dependency: `YYYY-MM-DD` to days since 1970-01-01 in the
//! proleptic Gregorian calendar and back, for the relay's printed times and the app's "not
//! verified for 180 days".

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;

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

/// The year, month and day of `YYYY-MM-DD`, when the month is 1–12 and the day 1–31 (the day is
/// not checked against the month).
pub fn parse_date(date: &str) -> Option<(i64, i64, i64)> {
    let mut it = date.split('-');
    let (y, m, d) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some((y, m, d))
}

/// Days since 1970-01-01 for a `YYYY-MM-DD` date, or `None`.
pub fn days(date: &str) -> Option<i64> {
    parse_date(date).map(|(y, m, d)| days_from_date(y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 11_016, 20_416, 60_000] {
            let (y, m, d) = date_from_days(days);
            assert_eq!(days_from_date(y, m, d), days);
        }
        assert_eq!(days("2000-03-01"), Some(11_017));
        assert_eq!(days("2026-13-01"), None);
        assert_eq!(days("2026-11-24-1"), None);
        assert_eq!(days("not a date"), None);
    }
}
