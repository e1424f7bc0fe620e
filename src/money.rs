//! Exact money: amounts and prices are `rust_decimal::Decimal`, parsed from the exchange's
//! decimal strings and never routed through binary floating point.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Exact addition, subtraction and multiplication of decimals, `None` on overflow, compiled once.
///
/// rust_decimal inlines its whole addition (which is also its subtraction) and multiplication
/// wherever `checked_add`, `checked_sub` or `checked_mul` is called, about a kilobyte of wasm each
/// time; every sum, difference and product of money goes through these instead.
pub trait Exact: Sized {
    /// `self + other`, or `None` beyond a decimal's range.
    fn plus(self, other: Self) -> Option<Self>;
    /// `self − other`, or `None` beyond a decimal's range.
    fn minus(self, other: Self) -> Option<Self>;
    /// `self × other`, or `None` beyond a decimal's range.
    fn times(self, other: Self) -> Option<Self>;
}

impl Exact for Decimal {
    #[inline(never)]
    fn plus(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(other)
    }

    #[inline(never)]
    fn minus(self, other: Decimal) -> Option<Decimal> {
        self.checked_sub(other)
    }

    #[inline(never)]
    fn times(self, other: Decimal) -> Option<Decimal> {
        self.checked_mul(other)
    }
}

/// Parses a plain decimal string such as `"300.00"` or `"-0.00000001"`.
///
/// Exponents, `NaN`, infinities, thousands separators and surrounding spaces are refused:
/// exchanges send plain decimals, and anything else is a sign of a malformed response.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text).as_bytes();
    // One pass over the bytes: prices are parsed by the thousand on every refresh.
    let (mut points, mut has_digit) = (0usize, false);
    for byte in digits {
        match byte {
            b'0'..=b'9' => has_digit = true,
            b'.' => points += 1,
            _ => return None,
        }
    }
    if !has_digit || points > 1 {
        return None;
    }
    short_plain(text).or_else(|| Decimal::from_str(text).ok())
}

/// The value of a checked plain decimal that is not negative and has at most 18 digits (all of
/// them fit a `u64`), read digit by digit: `Decimal::from_str` was an eighth of the instructions
/// spent reading 10,000 stored transactions (callgrind, BENCHMARKS.md row 13's data). `None` for
/// anything else, which the caller reads the general way; the two agree on every input (see the
/// proptest in this module).
fn short_plain(text: &str) -> Option<Decimal> {
    let (mut mantissa, mut digits, mut scale, mut after_point) = (0u64, 0u32, 0u32, false);
    for byte in text.bytes() {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 18 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                scale += u32::from(after_point);
            }
            b'.' => after_point = true,
            _ => return None,
        }
    }
    // At most 18 digits after the point, within Decimal's 28.
    let [lo, mid] = [mantissa as u32, (mantissa >> 32) as u32];
    Some(Decimal::from_parts(lo, mid, 0, false, scale))
}

/// Parses a non-negative number the user typed, written the way their language writes numbers:
/// `decimal` is the language's decimal mark (`.` or `,`), and the other mark or a space may group
/// thousands ("1,234.5" in English, "1.234,5" in Portuguese). Groups must be three digits, so "0,5"
/// typed in an English page is refused rather than read as 5. Signs and exponents are refused.
pub fn parse_typed_decimal(text: &str, decimal: char) -> Option<Decimal> {
    let group = match decimal {
        '.' => ',',
        ',' => '.',
        _ => return None,
    };
    let text = text.trim();
    let (whole, fraction) = match text.split_once(decimal) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let is_group = |c: char| c == group || c == ' ' || c == '\u{a0}' || c == '\u{202f}';
    let groups: Vec<&str> = whole.split(is_group).collect();
    let grouped_well = match groups.split_first() {
        Some((first, rest)) if !rest.is_empty() => {
            (1..=3).contains(&first.len()) && rest.iter().all(|group| group.len() == 3)
        }
        _ => true,
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !grouped_well || !groups.iter().all(|group| digits(group)) || !fraction.is_none_or(digits) {
        return None;
    }
    let plain = match fraction {
        Some(fraction) => format!("{}.{fraction}", groups.concat()),
        None => groups.concat(),
    };
    parse_decimal(&plain)
}

/// Parses a decimal as an exchange may send it: plain (see [`parse_decimal`]) or in exponent form
/// (`3.8e-7`, `1E+5`), which JSON numbers allow. The digits are taken exactly; an exponent that
/// would need more than 28 decimal places, or a value beyond a decimal's range, is refused rather
/// than rounded.
pub fn parse_exchange_decimal(text: &str) -> Option<Decimal> {
    let Some(split) = text.bytes().position(|b| b == b'e' || b == b'E') else {
        return parse_decimal(text);
    };
    let (mantissa, exponent) = (&text[..split], &text[split + 1..]);
    let mantissa = parse_decimal(mantissa)?;
    let exponent_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if exponent_digits.is_empty() || exponent_digits.len() > 3 || !exponent_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: u32 = exponent_digits.parse().ok()?;
    if exponent.starts_with('-') {
        let scale = mantissa.scale().checked_add(magnitude).filter(|scale| *scale <= 28)?;
        let mut scaled = mantissa;
        scaled.set_scale(scale).ok()?;
        Some(scaled)
    } else {
        let factor = 10u128.checked_pow(magnitude)?;
        mantissa.checked_mul(Decimal::try_from_i128_with_scale(i128::try_from(factor).ok()?, 0).ok()?)
    }
}

/// A decimal as plain text without trailing zeros (`"1.50"` → `"1.5"`, `"2.000"` → `"2"`).
pub fn to_plain_string(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Decimals stored and sent to JS as plain strings without trailing zeros (`"1.5"`), for
/// `#[serde(with = "plain_string")]`. Reading is as strict as [`parse_decimal`]: no exponents,
/// no numbers, no spaces.
pub mod plain_string {
    use rust_decimal::Decimal;
    use serde::{Deserializer, Serializer, de::Visitor};

    /// Writes `value` as `"1.5"`.
    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::to_plain_string(*value))
    }

    /// Reads `"1.5"`, straight from the input text: no copy of it is made (three per stored
    /// transaction, tens of thousands when the P&L report reads every chunk).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_str(PlainVisitor)
    }

    /// Parses the string a deserializer hands over, borrowed or not.
    struct PlainVisitor;

    impl Visitor<'_> for PlainVisitor {
        type Value = Decimal;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a plain decimal string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Decimal, E> {
            super::parse_decimal(text).ok_or_else(|| E::custom("not a plain decimal"))
        }
    }

    /// The same for an optional decimal (`null` when absent).
    pub mod option {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `Some(value)` as a string and `None` as `null`.
        pub fn serialize<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => serializer.serialize_str(&super::super::to_plain_string(*value)),
                None => serializer.serialize_none(),
            }
        }

        /// Reads a plain decimal string or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
            Ok(Option::<super::super::Plain>::deserialize(deserializer)?.map(|plain| plain.0))
        }
    }
}

/// A decimal written as a plain string, where `#[serde(with)]` cannot reach: inside a list or an
/// option of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Plain(#[serde(with = "plain_string")] pub Decimal);

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The short reader and rust_decimal's agree on every plain decimal, to the scale.
        #[test]
        fn short_plain_decimals_read_as_rust_decimal_reads_them(text in "-?[0-9]{0,22}(\\.[0-9]{0,22})?") {
            let general = if parse_decimal(&text).is_some() { Decimal::from_str(&text).ok() } else { None };
            let parsed = parse_decimal(&text);
            proptest::prop_assert_eq!(parsed, general);
            proptest::prop_assert_eq!(parsed.map(|d| d.scale()), general.map(|d| d.scale()));
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("300.00", Some("300.00")),
            ("0.00000001", Some("0.00000001")),
            ("-25.1234", Some("-25.1234")),
            ("12345678901234567890.12345678", Some("12345678901234567890.12345678")),
            ("7", Some("7")),
            (".5", Some("0.5")),
            ("", None),
            ("-", None),
            (".", None),
            ("1e5", None),
            ("NaN", None),
            ("1,000.00", None),
            (" 1", None),
            ("1.2.3", None),
            ("--1", None),
            ("0x10", None),
        ];
        for (input, expected) in cases {
            let parsed = parse_decimal(input).map(|d| d.to_string());
            assert_eq!(parsed.as_deref(), *expected, "input {input:?}");
        }
    }

    #[test]
    fn exponent_forms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("3.8e-7", Some("0.00000038")),
            ("1E+5", Some("100000")),
            ("1e5", Some("100000")),
            ("-2.5e-3", Some("-0.0025")),
            ("0.0001", Some("0.0001")),
            ("1e-28", Some("0.0000000000000000000000000001")),
            ("1e-29", None),
            ("1e29", None),
            ("1e", None),
            ("e5", None),
            ("1e5.5", None),
            ("1e+-5", None),
            ("1ee5", None),
        ];
        for (input, expected) in cases {
            let parsed = parse_exchange_decimal(input).map(|d| d.normalize().to_string());
            assert_eq!(parsed.as_deref(), *expected, "input {input:?}");
        }
    }

    #[test]
    fn typed_numbers_follow_the_language() {
        let cases: &[(&str, char, Option<&str>)] = &[
            ("0.5", '.', Some("0.5")),
            ("0,5", ',', Some("0.5")),
            ("1,234.5", '.', Some("1234.5")),
            ("1.234,5", ',', Some("1234.5")),
            ("1 234,5", ',', Some("1234.5")),
            ("1\u{a0}234\u{a0}567", ',', Some("1234567")),
            (" 12 ", '.', Some("12")),
            (".25", '.', Some("0.25")),
            ("0,5", '.', None),
            ("1.5", ',', None),
            ("1,23", '.', None),
            ("1,2345", '.', None),
            ("1234,567.8", '.', None),
            ("-1", '.', None),
            ("1e3", '.', None),
            ("1.2.3", '.', None),
            ("", '.', None),
            (",", ',', None),
            ("1.5", ';', None),
        ];
        for &(input, decimal, expected) in cases {
            let parsed = parse_typed_decimal(input, decimal).map(|d| d.normalize().to_string());
            assert_eq!(parsed.as_deref(), expected, "input {input:?} with {decimal:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}") {
            let _ = parse_decimal(&text);
            let _ = parse_exchange_decimal(&text);
            let _ = parse_typed_decimal(&text, '.');
            let _ = parse_typed_decimal(&text, ',');
        }

        /// What a browser's number format writes for a value reads back as that value.
        #[test]
        fn grouped_numbers_read_back(whole in 0u64..10_000_000_000, fraction in 0u32..100_000_000, comma in proptest::bool::ANY) {
            let (group, decimal) = if comma { ('.', ',') } else { (',', '.') };
            let digits = whole.to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(group);
                }
                grouped.push(c);
            }
            let text = format!("{grouped}{decimal}{fraction:08}");
            let expected = parse_decimal(&format!("{whole}.{fraction:08}"));
            proptest::prop_assert_eq!(parse_typed_decimal(&text, decimal), expected);
        }
    }

    #[test]
    fn plain_strings_drop_trailing_zeros() {
        assert_eq!(to_plain_string(Decimal::new(150, 2)), "1.5");
        assert_eq!(to_plain_string(Decimal::new(2000, 3)), "2");
        assert_eq!(to_plain_string(Decimal::ZERO), "0");
    }
}
