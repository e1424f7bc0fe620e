//! Reading the JSON Cartera wrote itself: what it keeps in storage and what its pages send.
//!
//! The same reader as exchange answers (`crates/json`), so that one JSON parser is compiled into
//! the extension. Decimals are plain strings (`"1.5"`), as `money::plain_string` writes them.
//! Members a reader does not know are skipped, so data written by a newer version still reads
//! (the vault alone insists on exactly its members: see `vault::wire`).

use litemap::LiteMap;

pub(crate) use cartera_json::Value;
use rust_decimal::Decimal;

use crate::{money::parse_decimal, sorting::map_from_pairs};

/// Values as Cartera writes them.
pub(crate) trait StoredValue<'a>: Sized {
    /// A JSON string's text.
    fn text(self) -> Option<String>;
    /// A decimal written as a plain string (`"1.5"`).
    fn plain_decimal(self) -> Option<Decimal>;
    /// An array, each element read by `read`; `None` if the value is not an array or an element
    /// does not read.
    fn list<T>(self, read: impl FnMut(Value<'a>) -> Option<T>) -> Option<Vec<T>>;
    /// An object as a map from member name to value, each value read by `read`; `None` if the
    /// value is not an object or a member does not read. A name written twice keeps its last value.
    fn map<T>(self, read: impl FnMut(Value<'a>) -> Option<T>) -> Option<LiteMap<String, T>>;
    /// `null` as `Some(None)`, anything else as what `read` makes of it.
    fn nullable<T>(self, read: impl FnOnce(Value<'a>) -> Option<T>) -> Option<Option<T>>;
}

impl<'a> StoredValue<'a> for Value<'a> {
    fn text(self) -> Option<String> {
        self.string().map(|text| text.into_owned())
    }

    fn plain_decimal(self) -> Option<Decimal> {
        parse_decimal(&self.string()?)
    }

    fn list<T>(self, read: impl FnMut(Value<'a>) -> Option<T>) -> Option<Vec<T>> {
        let mut list = Vec::new();
        for item in self.items()?.map(read) {
            list.push(item?);
        }
        Some(list)
    }

    fn map<T>(self, mut read: impl FnMut(Value<'a>) -> Option<T>) -> Option<LiteMap<String, T>> {
        let mut pairs = Vec::new();
        for (name, value) in self.fields()? {
            pairs.push((name.into_owned(), read(value)?));
        }
        Some(map_from_pairs(pairs))
    }

    fn nullable<T>(self, read: impl FnOnce(Value<'a>) -> Option<T>) -> Option<Option<T>> {
        if self.is_null() { Some(None) } else { read(self).map(Some) }
    }
}

/// A member that may be left out: `T::default()` when it is, otherwise what `read` makes of it.
pub(crate) fn or_default<'a, T: Default>(member: Option<Value<'a>>, read: impl FnOnce(Value<'a>) -> Option<T>) -> Option<T> {
    match member {
        None => Some(T::default()),
        Some(value) => read(value),
    }
}

/// A member that may be left out or `null`: `Some(None)` then, otherwise what `read` makes of it.
pub(crate) fn optional<'a, T>(member: Option<Value<'a>>, read: impl FnOnce(Value<'a>) -> Option<T>) -> Option<Option<T>> {
    member.map_or(Some(None), |value| value.nullable(read))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value<'_> {
        Value::parse(text).unwrap_or_else(|| panic!("not accepted: {text}"))
    }

    #[test]
    fn decimals_are_plain_strings_only() {
        assert_eq!(parsed(r#""12.50""#).plain_decimal(), Some(Decimal::new(1250, 2)));
        assert_eq!(parsed(r#""-0.5""#).plain_decimal(), Some(Decimal::new(-5, 1)));
        for refused in ["12.5", r#""1e3""#, r#""""#, "null", r#""1,5""#] {
            assert_eq!(parsed(refused).plain_decimal(), None, "{refused}");
        }
    }

    #[test]
    fn lists_fail_as_a_whole() {
        assert_eq!(parsed(r#"["a","b\u0021"]"#).list(StoredValue::text), Some(vec!["a".to_owned(), "b!".to_owned()]));
        assert_eq!(parsed(r#"["a",1]"#).list(StoredValue::text), None);
        assert_eq!(parsed(r#"{"a":1}"#).list(StoredValue::text), None);
        assert_eq!(parsed("[]").list(StoredValue::text), Some(Vec::new()));
    }

    #[test]
    fn maps_fail_as_a_whole_and_keep_a_repeated_name_last() {
        let read = |text: &str| parsed(text).map(StoredValue::text);
        let map = read(r#"{"b":"2","a":"1","b":"3"}"#).unwrap_or_default();
        assert_eq!(map.into_iter().collect::<Vec<_>>(), [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "3".to_owned())]);
        assert_eq!(read(r#"{"a":1}"#), None);
        assert_eq!(read(r#"["a"]"#), None);
        assert_eq!(read("{}"), Some(LiteMap::new_vec()));
    }

    #[test]
    fn missing_null_and_present_members() {
        let object = parsed(r#"{"n":null,"s":"x","b":true}"#);
        assert_eq!(optional(object.get("gone"), StoredValue::text), Some(None));
        assert_eq!(optional(object.get("n"), StoredValue::text), Some(None));
        assert_eq!(optional(object.get("s"), StoredValue::text), Some(Some("x".to_owned())));
        assert_eq!(optional(object.get("b"), StoredValue::text), None, "present, of the wrong kind");
        assert_eq!(or_default(object.get("gone"), Value::boolean), Some(false));
        assert_eq!(or_default(object.get("b"), Value::boolean), Some(true));
        assert_eq!(or_default(object.get("n"), Value::boolean), None, "null is not a default");
    }
}
