//! UTC calendar arithmetic: dates of timestamps and timestamps of dates, for history chunks by
//! day and month, P&L by year, daily prices, and the times exchanges write as ISO 8601 text.

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The UTC date `(year, month, day)` of `t`, ms since the epoch (Howard Hinnant's
/// `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
pub fn civil(t: u64) -> (u64, u64, u64) {
    let z = t / DAY_MS + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`,
/// <https://howardhinnant.github.io/date_algorithms.html#days_from_civil>), for years ≥ 1970.
pub fn days_from_civil(year: u32, month: u32, day: u32) -> u64 {
    let year = u64::from(if month <= 2 { year - 1 } else { year });
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month = u64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + u64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The day number (days since 1970-01-01, UTC) of `t`.
pub fn day_of(t: u64) -> u64 {
    t / DAY_MS
}

/// An ISO 8601 / RFC 3339 time as exchanges write it (`2016-04-08T17:52:31.000+00:00`,
/// `2023-01-01T00:00:00Z`, a space for the `T`, any fraction of a second, an offset or none for
/// UTC), as ms since the epoch. Years before 1970 and impossible dates are refused.
pub fn parse_iso8601_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let mut parts = date.split('-');
    let year: u32 = digits(parts.next()?, 4)?;
    let month: u32 = digits(parts.next()?, 2)?;
    let day: u32 = digits(parts.next()?, 2)?;
    if year < 1970 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds_of_day = 0u64;
    let mut millis = 0u64;
    let mut offset_minutes: i64 = 0;
    if !rest.is_empty() {
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (clock, zone) = rest.split_at_checked(8)?;
        let mut fields = clock.split(':');
        let hour: u64 = digits(fields.next()?, 2)?.into();
        let minute: u64 = digits(fields.next()?, 2)?.into();
        let second: u64 = digits(fields.next()?, 2)?.into();
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        seconds_of_day = hour * 3600 + minute * 60 + second;
        let mut zone = zone;
        if let Some(fraction) = zone.strip_prefix('.') {
            let length = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if length == 0 {
                return None;
            }
            let (figures, after) = fraction.split_at(length);
            // Milliseconds: the first three figures, padded.
            millis = figures.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0, |ms, b| ms * 10 + u64::from(b - b'0'));
            zone = after;
        }
        offset_minutes = match zone {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match zone.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let zone = &zone[1..];
                let (hours, minutes) = zone.split_once(':').unwrap_or((zone.get(..2)?, zone.get(2..)?));
                let hours: i64 = digits(hours, 2)?.into();
                let minutes: i64 = digits(minutes, 2)?.into();
                sign * (hours * 60 + minutes)
            }
        };
    }
    let days = days_from_civil(year, month, day);
    if civil(days * DAY_MS) != (u64::from(year), u64::from(month), u64::from(day)) {
        return None;
    }
    let local = i64::try_from((days * 86_400 + seconds_of_day).checked_mul(1000)?.checked_add(millis)?).ok()?;
    u64::try_from(local.checked_sub(offset_minutes.checked_mul(60_000)?)?).ok()
}

fn digits(text: &str, count: usize) -> Option<u32> {
    (text.len() == count && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_8601_times_as_exchanges_write_them() {
        // date -u -d '2016-04-08T17:52:31Z' +%s → 1460137951
        let cases = [
            ("2016-04-08T17:52:31.000+00:00", Some(1_460_137_951_000)),
            ("2016-04-08T17:52:31Z", Some(1_460_137_951_000)),
            ("2016-04-08 17:52:31", Some(1_460_137_951_000)),
            ("2016-04-08T17:52:31.123456Z", Some(1_460_137_951_123)),
            ("2016-04-08T19:52:31+02:00", Some(1_460_137_951_000)),
            ("2016-04-08T12:52:31-0500", Some(1_460_137_951_000)),
            ("2016-04-08", Some(1_460_073_600_000)),
            ("2016-02-30T00:00:00Z", None),
            ("1969-12-31T23:59:59Z", None),
            ("2016-04-08T25:00:00Z", None),
            ("2016-04-08T17:52:31.Z", None),
            ("2016-04-08T17:52:31+2", None),
            ("yesterday", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_iso8601_ms(text), expected, "{text}");
        }
    }

    #[test]
    fn dates_round_trip() {
        for days in [0u64, 59, 60, 365, 10_957, 19_723, 20_000, 47_000] {
            let (year, month, day) = civil(days * DAY_MS);
            let back = days_from_civil(u32::try_from(year).unwrap_or(0), u32::try_from(month).unwrap_or(0), u32::try_from(day).unwrap_or(0));
            assert_eq!(back, days);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_iso8601_ms(&text);
        }
    }
}
