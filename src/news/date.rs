//! Feed dates as milliseconds since the epoch.
//!
//! RSS 2.0 dates are RFC 822 dates (`Sat, 05 Dec 2026 14:03:11 +0000`), which feeds write loosely:
//! one-digit days, no seconds, no weekday, named US zones (`EST`), two-digit years. Atom and
//! Dublin Core (`dc:date`) dates are RFC 3339 (`2026-12-05T14:03:11.250-03:00`). Both are read
//! here by hand: these two formats are all a feed needs, and a calendar crate would add more to the
//! wasm than the whole feed reader. A date that does not read is `None`; the item then takes the
//! time it was first seen.

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A date in either format, or `None` when it reads as neither or falls before 1970.
pub fn parse_date(text: &str) -> Option<u64> {
    let text = text.trim();
    let ms = if text.starts_with(|c: char| c.is_ascii_digit()) && text.get(4..5) == Some("-") {
        rfc3339(text)?
    } else {
        rfc822(text)?
    };
    u64::try_from(ms).ok()
}

/// `Sat, 05 Dec 2026 14:03:11 +0000` and its loose variants.
fn rfc822(text: &str) -> Option<i64> {
    // The weekday says nothing the date does not.
    let text = text.split_once(',').map_or(text, |(_, rest)| rest);
    let mut parts = text.split_ascii_whitespace();
    let day: u32 = number(parts.next()?, 1, 2)?;
    let month = month(parts.next()?)?;
    let year_text = parts.next()?;
    let year: i64 = match year_text.len() {
        4 => i64::from(number::<u32>(year_text, 4, 4)?),
        // RFC 2822 §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
        2 => {
            let short = i64::from(number::<u32>(year_text, 2, 2)?);
            if short < 50 { 2000 + short } else { 1900 + short }
        }
        _ => return None,
    };
    let mut clock = parts.next()?.split(':');
    let hour: u32 = number(clock.next()?, 1, 2)?;
    let minute: u32 = number(clock.next()?, 2, 2)?;
    let second: u32 = clock.next().map_or(Some(0), |s| number(s, 2, 2))?;
    if clock.next().is_some() {
        return None;
    }
    // A missing zone is read as UTC, as most readers do.
    let offset = parts.next().map_or(Some(0), zone_offset)?;
    if parts.next().is_some() {
        return None;
    }
    Some(epoch_ms(year, month, day, hour, minute, second, 0)? - offset)
}

/// `2026-12-05T14:03:11Z`, with optional fractions of a second and a numeric offset.
fn rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let year = i64::from(number::<u32>(text.get(0..4)?, 4, 4)?);
    let month = number(text.get(5..7)?, 2, 2)?;
    let day = number(text.get(8..10)?, 2, 2)?;
    let hour = number(text.get(11..13)?, 2, 2)?;
    let minute = number(text.get(14..16)?, 2, 2)?;
    let second = number(text.get(17..19)?, 2, 2)?;
    let mut rest = text.get(19..)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Only the milliseconds count; further digits are read and dropped.
        millis = fraction[..digits.min(3)].bytes().fold(0u32, |ms, d| ms * 10 + u32::from(d - b'0')) * 10u32.pow(3 - digits.min(3) as u32);
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => numeric_offset(rest)?,
    };
    Some(epoch_ms(year, month, day, hour, minute, second, millis)? - offset)
}

/// `+0000`, `-05:00`, `GMT`, `EST`…: the zone's offset from UTC in milliseconds.
fn zone_offset(zone: &str) -> Option<i64> {
    if zone.starts_with(['+', '-']) {
        return numeric_offset(zone);
    }
    // RFC 822 §5.1's names; military single letters are too ambiguous to trust.
    let hours = match zone.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => return None,
    };
    Some(hours * HOUR_MS)
}

/// `+hhmm` or `+hh:mm`, in milliseconds.
fn numeric_offset(text: &str) -> Option<i64> {
    let (sign, digits) = match text.split_at_checked(1)? {
        ("+", digits) => (1, digits),
        ("-", digits) => (-1, digits),
        _ => return None,
    };
    let digits = match digits.len() {
        4 => digits.to_owned(),
        5 if digits.as_bytes()[2] == b':' => digits.replace(':', ""),
        _ => return None,
    };
    let hours: u32 = number(&digits[..2], 2, 2)?;
    let minutes: u32 = number(&digits[2..], 2, 2)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (i64::from(hours) * HOUR_MS + i64::from(minutes) * MINUTE_MS))
}

fn month(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let short = name.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == short).and_then(|i| u32::try_from(i + 1).ok())
}

/// `text` as a number of `min`..=`max` ASCII digits.
fn number<T: std::str::FromStr>(text: &str, min: usize, max: usize) -> Option<T> {
    if text.len() < min || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Milliseconds since 1970-01-01T00:00:00Z of a UTC date and time, or `None` for one that does
/// not exist (a 31st of April, hour 25). A leap second reads as the next second.
fn epoch_ms(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32, millis: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * DAY_MS + i64::from(hour) * HOUR_MS + i64::from(minute) * MINUTE_MS + i64::from(second) * 1000 + i64::from(millis))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date
/// (<https://howardhinnant.github.io/date_algorithms.html#days_from_civil>).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests;
