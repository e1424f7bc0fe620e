//! Reading what an older or newer version of Cartera stored.
//!
//! Every stored shape is a serde type declared beside the code that uses it. Most of them read
//! strictly; a few values are only a convenience (the last snapshot, whose balances stand in for
//! an account that fails) and are better left unused than allowed to fail everything else.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::value::RawValue;

/// For `#[serde(deserialize_with)]` on an `Option<T>` member: the value when it reads as a `T`,
/// `None` when it is missing, `null`, or does not read. The member's text is read a second time
/// as `T` from a string, as every stored value is read, so `T`'s reader is compiled once.
pub fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    let text = Box::<RawValue>::deserialize(deserializer)?;
    Ok(serde_json::from_str(text.get()).ok())
}

/// For `#[serde(deserialize_with)]` on a map keyed by id: the entries whose value reads, the
/// others left out. A value that is not an object at all is refused.
pub fn lenient_map<'de, D: Deserializer<'de>, V: DeserializeOwned>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error> {
    let entries = BTreeMap::<String, Box<RawValue>>::deserialize(deserializer)?;
    Ok(entries.into_iter().filter_map(|(id, text)| Some((id, serde_json::from_str(text.get()).ok()?))).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Holder {
        #[serde(default, deserialize_with = "super::lenient")]
        kept: Option<u32>,
        other: u32,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Map(#[serde(deserialize_with = "super::lenient_map")] BTreeMap<String, u32>);

    #[test]
    fn a_map_keeps_the_entries_that_read() {
        let read = |text: &str| serde_json::from_str::<Map>(text).ok().map(|map| map.0.into_iter().collect::<Vec<_>>());
        assert_eq!(read(r#"{"a":1,"b":"x","c":3}"#), Some(vec![("a".to_owned(), 1), ("c".to_owned(), 3)]));
        assert_eq!(read("[]"), None);
    }

    #[test]
    fn a_value_that_does_not_read_is_left_out_and_the_rest_reads() {
        let read = |text: &str| serde_json::from_str::<Holder>(text).ok();
        assert_eq!(read(r#"{"kept":5,"other":1}"#), Some(Holder { kept: Some(5), other: 1 }));
        assert_eq!(read(r#"{"kept":"five","other":1}"#), Some(Holder { kept: None, other: 1 }));
        assert_eq!(read(r#"{"kept":null,"other":1}"#), Some(Holder { kept: None, other: 1 }));
        assert_eq!(read(r#"{"other":1}"#), Some(Holder { kept: None, other: 1 }));
        assert_eq!(read(r#"{"kept":5}"#), None, "the others still read strictly");
    }
}
