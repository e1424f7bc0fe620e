//! Reading exchange JSON without floats and without building a document tree.
//!
//! Fields that carry money are taken as [`RawValue`]s: the exact text of the JSON value. A
//! string (`"0.5"`) and a number (`0.5`, or `3.8e-7` as Bitfinex writes small amounts) both reach
//! the same decimal parser digit for digit, so nothing passes through binary floating point.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use crate::money::parse_exchange_decimal;

/// The text of a JSON string, unescaped; `None` for any other kind of value.
pub(crate) fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    if raw.get().starts_with('"') { serde_json::from_str(raw.get()).ok() } else { None }
}

/// A decimal given as a JSON string (`"0.5"`) or a JSON number (`0.5`, `1e-7`).
pub(crate) fn decimal(raw: &RawValue) -> Option<Decimal> {
    match string(raw) {
        Some(text) => parse_exchange_decimal(&text),
        None => parse_exchange_decimal(raw.get()),
    }
}

/// A code given as a JSON string (`"0201"`) or number (`201`): its text, and whether it was a
/// number.
pub(crate) fn code(raw: &RawValue) -> Option<(String, bool)> {
    match string(raw) {
        Some(text) => Some((text.into_owned(), false)),
        None => {
            let text = raw.get();
            text.bytes().all(|b| b.is_ascii_digit()).then(|| (text.to_owned(), true))
        }
    }
}

/// Whether a `success` flag is set, accepting the spellings exchanges use (`true`, `"true"`, `1`).
pub(crate) fn truthy(raw: &RawValue) -> bool {
    matches!(raw.get(), "true" | "\"true\"" | "1" | "\"1\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn numbers_keep_their_exact_digits() {
        let exact = |text: &str| decimal(&raw(text)).map(|d| d.to_string());
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

    #[test]
    fn codes_and_flags() {
        assert_eq!(code(&raw(r#""0201""#)), Some(("0201".into(), false)));
        assert_eq!(code(&raw("104")), Some(("104".into(), true)));
        assert_eq!(code(&raw("{}")), None);
        assert_eq!(code(&raw("-1")), None);
        assert!(truthy(&raw("true")) && truthy(&raw(r#""true""#)) && truthy(&raw("1")));
        assert!(!truthy(&raw("false")) && !truthy(&raw(r#""false""#)) && !truthy(&raw("null")));
    }

    #[test]
    fn strings_are_unescaped() {
        assert_eq!(string(&raw(r#""b\u0074c""#)).as_deref(), Some("btc"));
        assert_eq!(string(&raw("12")), None);
    }
}
