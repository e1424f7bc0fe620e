//! Small helpers for reading exchange JSON without floats.
//!
//! `serde_json` is built with `arbitrary_precision`, so a JSON number keeps its exact digits and
//! is read here through the same decimal parser as a string.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::money::parse_decimal;

/// A decimal given as a JSON string (`"0.5"`) or a JSON number (`0.5`).
pub(crate) fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(text) => parse_decimal(text),
        Value::Number(number) => parse_decimal(&number.to_string()),
        _ => None,
    }
}

/// A code given as a JSON string (`"0201"`) or number (`201`), as text.
pub(crate) fn code_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Whether a `success` flag is set, accepting the spellings exchanges use (`true`, `"true"`, `1`).
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::String(text) => text == "true" || text == "1",
        Value::Number(number) => number.to_string() == "1",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_keep_their_exact_digits() {
        let value: Value = serde_json::from_str("0.1000000000000000055511151231257827").unwrap_or_default();
        assert_eq!(decimal(&value).map(|d| d.to_string()).as_deref(), Some("0.1000000000000000055511151231"));
        assert_eq!(decimal(&json!("12.50")).map(|d| d.to_string()).as_deref(), Some("12.50"));
        assert_eq!(decimal(&json!(null)), None);
        assert_eq!(decimal(&json!(true)), None);
    }

    #[test]
    fn codes_and_flags() {
        assert_eq!(code_text(&json!("0201")).as_deref(), Some("0201"));
        assert_eq!(code_text(&json!(104)).as_deref(), Some("104"));
        assert_eq!(code_text(&json!({})), None);
        assert!(truthy(&json!(true)) && truthy(&json!("true")) && truthy(&json!(1)));
        assert!(!truthy(&json!(false)) && !truthy(&json!("false")) && !truthy(&json!(null)));
    }
}
