use proptest::prelude::*;

use super::*;

/// 2026-12-05T14:03:11Z.
const SATURDAY: u64 = 1_796_479_391_000;

#[test]
fn rfc822_dates_as_feeds_write_them() {
    for text in [
        "Sat, 05 Dec 2026 14:03:11 +0000",
        "Sat, 5 Dec 2026 14:03:11 GMT",
        "05 Dec 2026 14:03:11 UT",
        "Sat, 05 Dec 2026 09:03:11 EST",
        "Sat, 05 Dec 2026 11:03:11 -0300",
        "Sat, 05 Dec 2026 15:03:11 +01:00",
        "  Sat, 05 December 2026 14:03:11 Z ",
        "Sat, 05 Dec 26 14:03:11 +0000",
        "Sat, 05 Dec 2026 14:03:11",
    ] {
        assert_eq!(parse_date(text), Some(SATURDAY), "{text}");
    }
    assert_eq!(parse_date("Sat, 05 Dec 2026 14:03 +0000"), Some(SATURDAY - 11_000));
    assert_eq!(parse_date("Sat, 05 Dec 99 14:03:11 +0000").map(|ms| ms < SATURDAY), Some(true));
}

#[test]
fn rfc3339_dates_as_atom_writes_them() {
    for text in [
        "2026-12-05T14:03:11Z",
        "2026-12-05t14:03:11z",
        "2026-12-05 14:03:11Z",
        "2026-12-05T11:03:11-03:00",
        "2026-12-05T14:03:11.000+00:00",
        "2026-12-05T14:03:11.0009Z",
    ] {
        assert_eq!(parse_date(text), Some(SATURDAY), "{text}");
    }
    assert_eq!(parse_date("2026-12-05T14:03:11.25Z"), Some(SATURDAY + 250));
}

#[test]
fn what_is_no_date_is_none() {
    for text in [
        "",
        "yesterday",
        "Sat, 31 Apr 2026 10:00:00 +0000",
        "Sat, 29 Feb 2026 10:00:00 +0000",
        "Sat, 05 Dec 2026 24:00:00 +0000",
        "Sat, 05 Foo 2026 10:00:00 +0000",
        "Sat, 05 Dec 2026 10:00:00 +2500",
        "Sat, 05 Dec 2026 10:00:00 XYZ",
        "Sat, 05 Dec 2026 10:00:00 +0000 extra",
        "2026-13-05T14:03:11Z",
        "2026-12-05T14:03:11",
        "2026-12-05T14:03:11.Z",
        "1969-12-31T23:59:59Z",
        "2026-12-05T14:03:11+05",
    ] {
        assert_eq!(parse_date(text), None, "{text}");
    }
    assert!(parse_date("Tue, 29 Feb 2028 00:00:00 +0000").is_some());
}

#[test]
fn the_calendar_agrees_with_known_days() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(2026, 12, 5) * DAY_MS, 1_796_428_800_000);
}

proptest! {
    #[test]
    fn any_text_reads_without_panicking(text in ".{0,64}") {
        let _ = parse_date(&text);
    }

    #[test]
    fn every_rfc3339_date_reads_back(days in 0i64..200_000, ms in 0i64..DAY_MS) {
        let at = days * DAY_MS + ms;
        let (year, month, day) = civil_from_days(days);
        let text = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            ms / HOUR_MS, ms % HOUR_MS / MINUTE_MS, ms % MINUTE_MS / 1000, ms % 1000,
        );
        prop_assume!(year <= 9999);
        prop_assert_eq!(parse_date(&text), u64::try_from(at).ok());
    }
}

/// The inverse of `days_from_civil`, for the round trip above
/// (<https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
