//! Exact money: amounts and prices are `rust_decimal::Decimal`, parsed from the exchange's
//! decimal strings and never routed through binary floating point.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Parses a plain decimal string such as `"300.00"` or `"-0.00000001"`.
///
/// Exponents, `NaN`, infinities, thousands separators and surrounding spaces are refused:
/// exchanges send plain decimals, and anything else is a sign of a malformed response.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if !plain {
        return None;
    }
    Decimal::from_str(text).ok()
}

/// A decimal as plain text without trailing zeros (`"1.50"` → `"1.5"`, `"2.000"` → `"2"`).
pub fn to_plain_string(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Serde for decimals as plain strings without trailing zeros, the form stored and sent to JS.
pub mod plain_string {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Writes `value` as `"1.5"`.
    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::to_plain_string(*value))
    }

    /// Reads a plain decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_decimal(&text).ok_or_else(|| D::Error::custom("not a plain decimal"))
    }

    /// The same for an optional decimal (`null` when absent).
    pub mod option {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

        /// Writes `Some(value)` as a string and `None` as `null`.
        pub fn serialize<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => serializer.serialize_str(&super::super::to_plain_string(*value)),
                None => serializer.serialize_none(),
            }
        }

        /// Reads a plain decimal string or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| super::super::parse_decimal(&text).ok_or_else(|| D::Error::custom("not a plain decimal")))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn plain_strings_drop_trailing_zeros() {
        assert_eq!(to_plain_string(Decimal::new(150, 2)), "1.5");
        assert_eq!(to_plain_string(Decimal::new(2000, 3)), "2");
        assert_eq!(to_plain_string(Decimal::ZERO), "0");
    }
}
