use proptest::prelude::*;
use serde_json::value::RawValue;

use super::*;

fn parsed(text: &str) -> Value<'_> {
    Value::parse(text).unwrap_or_else(|| panic!("not accepted: {text}"))
}

#[test]
fn codes_and_flags() {
    assert_eq!(parsed(r#""0201""#).code(), Some(("0201".into(), false)));
    assert_eq!(parsed("104").code(), Some(("104".into(), true)));
    assert_eq!(parsed("{}").code(), None);
    assert_eq!(parsed("-1").code(), None);
    assert!(parsed("true").truthy() && parsed(r#""true""#).truthy() && parsed("1").truthy());
    assert!(!parsed("false").truthy() && !parsed(r#""false""#).truthy() && !parsed("null").truthy());
    assert_eq!(
        (parsed("true").boolean(), parsed("false").boolean(), parsed("1").boolean()),
        (Some(true), Some(false), None)
    );
}

#[test]
fn strings_are_unescaped() {
    assert_eq!(parsed(r#""b\u0074c""#).string().as_deref(), Some("btc"));
    assert_eq!(parsed(r#""a\"b\\c\/d\n""#).string().as_deref(), Some("a\"b\\c/d\n"));
    assert_eq!(parsed(r#""\ud83d\ude00""#).string().as_deref(), Some("😀"));
    assert_eq!(parsed(r#""\ud83d""#).string(), None, "an unpaired surrogate is not text");
    assert_eq!(parsed(r#""\ude00x""#).string(), None);
    assert_eq!(parsed("12").string(), None);
    assert!(matches!(parsed(r#""plain""#).string(), Some(Cow::Borrowed("plain"))), "no copy without escapes");
}

#[test]
fn objects_and_arrays_are_walked_in_order() {
    let doc = parsed(r#" { "a" : [1, "two", {"x": null}, [] ] , "b\u0063": {}, "c": 3 } "#);
    let names: Vec<_> = doc.fields().into_iter().flatten().map(|(name, _)| name.into_owned()).collect();
    assert_eq!(names, ["a", "bc", "c"]);
    let items: Vec<_> = doc.get("a").and_then(Value::items).into_iter().flatten().map(Value::raw).collect();
    assert_eq!(items, ["1", r#""two""#, r#"{"x": null}"#, "[]"]);
    assert_eq!(doc.get("bc").map(Value::raw), Some("{}"), "names are compared unescaped");
    assert_eq!(doc.get("missing"), None);
    assert_eq!(parsed(r#"{"x": null}"#).get_present("x"), None);
    assert_eq!(doc.items().map(Iterator::count), None, "an object is not an array");
    assert_eq!(parsed("[]").items().map(Iterator::count), Some(0));
    assert_eq!(parsed("{}").fields().map(Iterator::count), Some(0));
}

#[test]
fn a_name_given_twice_is_refused_wherever_it_is() {
    for text in [
        r#"{"a":1,"a":2}"#,
        r#"{"a":1,"b":2,"a":1}"#,
        r#"{"a":1,"\u0061":2}"#,
        r#"[{"x":[{"k":1,"k":1}]}]"#,
        r#"{"outer":{"b":1,"b":{}}}"#,
    ] {
        assert_eq!(Value::parse(text), None, "{text:?} accepted");
    }
    // The same name in different objects, or nested, is no repetition.
    for text in [r#"{"a":{"a":1},"b":{"a":2}}"#, r#"[{"a":1},{"a":1}]"#, r#"{"a":1,"A":2,"a ":3}"#] {
        assert!(Value::parse(text).is_some(), "{text:?} refused");
    }
    let many: String = (0..2000).map(|i| format!(r#""m{i}":{i}"#)).collect::<Vec<_>>().join(",");
    assert!(Value::parse(&format!("{{{many}}}")).is_some());
    assert_eq!(Value::parse(&format!(r#"{{{many},"m1999":0}}"#)), None);
}

#[test]
fn malformed_documents_are_refused() {
    for text in [
        "",
        " ",
        "[",
        "]",
        "{",
        r#"{"a"}"#,
        r#"{"a":}"#,
        r#"{"a":1,}"#,
        "[1,]",
        "[1 2]",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "tru",
        "nul",
        "[true false]",
        r#""abc"#,
        "\"a\u{1}b\"",
        r#""\x""#,
        r#""\u12""#,
        "{1:2}",
        "1 2",
        "[]]",
        "{\"a\":1}}",
        "\u{feff}1",
        "NaN",
        "Infinity",
    ] {
        assert_eq!(Value::parse(text), None, "{text:?} accepted");
    }
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert_eq!(Value::parse(&deep), None, "nesting beyond MAX_DEPTH");
    let deepest = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(Value::parse(&deepest).is_some());
}

/// An arbitrary JSON document, in serde_json's compact or pretty form.
fn document() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1.0e300f64..1.0e300).prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    let tree = leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    });
    (tree, any::<bool>()).prop_map(|(value, pretty)| {
        if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap_or_default()
    })
}

/// Whether serde_json reads `text` as a document in which no object names a member twice.
fn serde_accepts_without_repeated_names(text: &str) -> bool {
    serde_json::from_str::<&RawValue>(text).is_ok_and(has_unique_names)
}

/// Whether no object in `value` names a member twice, as serde_json reads it (numbers are never
/// converted, so a number far beyond f64 stays acceptable, as it is to the reader).
fn has_unique_names(value: &RawValue) -> bool {
    use serde::de::{Deserializer, MapAccess, Visitor};

    /// An object's members in order, repeated names included.
    struct Members<'a>(Vec<(String, &'a RawValue)>);

    struct MembersVisitor;

    impl<'de> Visitor<'de> for MembersVisitor {
        type Value = Members<'de>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
            let mut members = Vec::new();
            while let Some(entry) = map.next_entry::<String, &RawValue>()? {
                members.push(entry);
            }
            Ok(Members(members))
        }
    }

    let text = value.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let Ok(Members(members)) = deserializer.deserialize_map(MembersVisitor) else { return false };
            let mut names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
            names.sort_unstable();
            names.windows(2).all(|pair| pair[0] != pair[1]) && members.iter().all(|(_, value)| has_unique_names(value))
        }
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(text).is_ok_and(|items| items.into_iter().all(has_unique_names)),
        _ => true,
    }
}

/// An object whose members repeat a name, written in one of the ways JSON allows.
fn object_with_a_repeated_name() -> impl Strategy<Value = String> {
    (proptest::collection::vec("[a-z]{0,4}", 1..8), any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()).prop_map(
        |(mut names, copy, at, escaped)| {
            let repeated = names[copy.index(names.len())].clone();
            let written = if escaped {
                repeated.chars().map(|c| format!("\\u{:04x}", u32::from(c))).collect()
            } else {
                repeated
            };
            names.insert(at.index(names.len() + 1), written);
            let members: Vec<String> = names.iter().enumerate().map(|(i, name)| format!(r#""{name}":{i}"#)).collect();
            format!("{{{}}}", members.join(","))
        },
    )
}

/// The same tree as serde_json reads it, rebuilt from what the reader yields.
fn rebuild(value: Value<'_>) -> serde_json::Value {
    if let Some(items) = value.items() {
        return serde_json::Value::Array(items.map(rebuild).collect());
    }
    if let Some(fields) = value.fields() {
        return serde_json::Value::Object(fields.map(|(name, value)| (name.into_owned(), rebuild(value))).collect());
    }
    if let Some(text) = value.string() {
        return serde_json::Value::String(text.into_owned());
    }
    serde_json::from_str(value.raw()).unwrap_or_else(|e| panic!("{e}: {}", value.raw()))
}

proptest! {
    #[test]
    fn reads_every_document_as_serde_json_does(text in document()) {
        let value = Value::parse(&text).unwrap_or_else(|| panic!("refused: {text}"));
        let expected: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(rebuild(value), expected);
    }

    #[test]
    fn accepts_exactly_what_serde_json_accepts(
        text in document(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(&b"{}[]\",:\\ 0-.eEtfnu\x01a"[..]), 0u8..3), 1..4),
    ) {
        // A few bytes inserted, replaced or removed: mostly broken documents, some still valid.
        let mut bytes = text.into_bytes();
        for (index, byte, kind) in edits {
            let at = index.index(bytes.len() + 1);
            match kind {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => bytes[at] = byte,
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => bytes.push(byte),
            }
        }
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        prop_assert_eq!(Value::parse(&text).is_some(), serde_accepts_without_repeated_names(&text), "{:?}", text);
    }

    #[test]
    fn refuses_a_repeated_name_at_any_depth(object in object_with_a_repeated_name(), wrapper in 0u8..3) {
        let text = match wrapper {
            0 => object,
            1 => format!(r#"[1,{{"inner":{object}}}]"#),
            _ => format!(r#"{{"a":[{object}],"b":2}}"#),
        };
        prop_assert!(!serde_accepts_without_repeated_names(&text));
        prop_assert_eq!(Value::parse(&text), None, "{:?}", text);
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,64}|[\\[\\]{}\",:0-9a-z\\\\ ]{0,64}") {
        if let Some(value) = Value::parse(&text) {
            let _ = rebuild(value);
        }
    }
}
