//! Exchange JSON for the adapters: the workspace's reader (`crates/json`), and decimals read
//! from it without floats.
//!
//! Fields that carry money are taken as the exact text of their JSON value. A string (`"0.5"`)
//! and a number (`0.5`, or `3.8e-7` as Bitfinex writes small amounts) both reach the same decimal
//! parser digit for digit, so nothing passes through binary floating point.

pub(crate) use cartera_json::{Items, Value};
use rust_decimal::Decimal;

use crate::money::parse_exchange_decimal;

/// A decimal read from a JSON value.
pub(crate) trait JsonDecimal {
    /// A decimal given as a JSON string (`"0.5"`) or a JSON number (`0.5`, `1e-7`); `None` for
    /// any other value.
    fn decimal(self) -> Option<Decimal>;
}

impl JsonDecimal for Value<'_> {
    fn decimal(self) -> Option<Decimal> {
        match self.raw().as_bytes().first() {
            Some(b'"') => parse_exchange_decimal(&self.string()?),
            Some(b'-' | b'0'..=b'9') => parse_exchange_decimal(self.raw()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value<'_> {
        Value::parse(text).unwrap_or_else(|| panic!("not accepted: {text}"))
    }

    #[test]
    fn numbers_keep_their_exact_digits() {
        let exact = |text: &str| parsed(text).decimal().map(|d| d.to_string());
        assert_eq!(exact("0.1000000000000000055511151231257827").as_deref(), Some("0.1000000000000000055511151231"));
        assert_eq!(exact("0.1").as_deref(), Some("0.1"));
        assert_eq!(exact(r#""12.50""#).as_deref(), Some("12.50"));
        assert_eq!(exact("1e5").as_deref(), Some("100000"));
        assert_eq!(exact("3.8e-7").as_deref(), Some("0.00000038"));
        assert_eq!(exact(r#""1E-7""#).as_deref(), Some("0.0000001"));
        assert_eq!(exact("1e400"), None, "beyond a decimal's range: refused, not rounded");
        assert_eq!(exact("null"), None);
        assert_eq!(exact("true"), None);
        assert_eq!(exact(r#"{"a":1}"#), None);
    }
}
