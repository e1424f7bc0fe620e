//! A reader for the JSON that exchanges answer, and that Cartera itself stores: no floats, no
//! document tree, no copies.
//!
//! [`Value::parse`] checks a whole document against the JSON grammar (RFC 8259) in one pass;
//! the checked text is then read in place. A [`Value`] is the exact text of one JSON value, so a
//! number keeps every digit it was written with (`0.1000000000000000055511151231257827`, or
//! `3.8e-7` as Bitfinex writes small amounts) for an exact decimal parser to take. Arrays and
//! objects are walked lazily: reading three members of each of 2,000 tickers touches nothing
//! else and allocates nothing.
//!
//! **A name given twice is refused.** RFC 8259 §4 leaves an object whose names are not unique to
//! each reader ("the behavior of software that receives such an object is unpredictable"), so one
//! answer could read differently depending on which helper looks at it. Here there is one rule:
//! a document in which any object names a member twice (compared after unescaping) is not
//! accepted by [`Value::parse`], and every reader of an accepted document sees each name once.
//!
//! Its own crate so that it can be compiled for speed while the rest of Cartera is compiled for
//! size: every price refresh reads megabytes through it (see `opt-level` in the workspace's
//! Cargo.toml, and "prices at scale" in BENCHMARKS.md).

use std::borrow::Cow;

/// How deeply arrays and objects may nest. No exchange answer nests more than a few levels; a
/// deeper document is refused instead of exhausting anything.
const MAX_DEPTH: usize = 64;

/// One JSON value, borrowed from a document [`Value::parse`] has checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    /// The value's text, without surrounding whitespace.
    text: &'a str,
}

impl<'a> Value<'a> {
    /// The document `text` holds, if it is exactly one JSON value (whitespace around it
    /// allowed) and no object in it names a member twice. Everything read from the result is
    /// then known to be well-formed.
    pub fn parse(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        let start = skip_whitespace(bytes, 0);
        let end = check_value(text, start)?;
        (skip_whitespace(bytes, end) == bytes.len()).then(|| Value { text: &text[start..end] })
    }

    /// The value's exact text, as the exchange wrote it.
    pub fn raw(self) -> &'a str {
        self.text
    }

    /// Whether the value is `null`.
    pub fn is_null(self) -> bool {
        self.text == "null"
    }

    /// The text of a JSON string, unescaped; `None` for any other kind of value, or for a string
    /// holding an unpaired surrogate escape.
    pub fn string(self) -> Option<Cow<'a, str>> {
        let inner = self.text.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') { unescape(inner).map(Cow::Owned) } else { Some(Cow::Borrowed(inner)) }
    }

    /// A code given as a JSON string (`"0201"`) or as a JSON number of digits only (`201`): its
    /// text, and whether it was a number.
    pub fn code(self) -> Option<(String, bool)> {
        match self.string() {
            Some(text) => Some((text.into_owned(), false)),
            None => self.text.bytes().all(|b| b.is_ascii_digit()).then(|| (self.text.to_owned(), true)),
        }
    }

    /// A non-negative integer written as a JSON number of digits only (`1764000000000`).
    pub fn unsigned(self) -> Option<u64> {
        if self.text.bytes().all(|b| b.is_ascii_digit()) { self.text.parse().ok() } else { None }
    }

    /// `true` or `false`; `None` for any other value.
    pub fn boolean(self) -> Option<bool> {
        match self.text {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// Whether a `success` flag is set, accepting the spellings exchanges use (`true`, `"true"`,
    /// `1`).
    pub fn truthy(self) -> bool {
        matches!(self.text, "true" | "\"true\"" | "1" | "\"1\"")
    }

    /// The elements of an array, in order; `None` if the value is not an array.
    pub fn items(self) -> Option<Items<'a>> {
        let inner = after_byte(self.text, b'[')?;
        Some(Items { rest: inner })
    }

    /// The members of an object as (name, value), in order; `None` if the value is not an object.
    pub fn fields(self) -> Option<Fields<'a>> {
        let inner = after_byte(self.text, b'{')?;
        Some(Fields { rest: inner })
    }

    /// The member of an object called `name`; `None` if there is none, or if the value is not an
    /// object.
    pub fn get(self, name: &str) -> Option<Value<'a>> {
        self.fields()?.find(|(key, _)| same_text(key, name)).map(|(_, value)| value)
    }

    /// The members `names` of an object in one pass, or `None` where missing; `None` if the value is not an object. Cheaper than [`Value::get`] for each name
    /// when a row has many members.
    pub fn pick<const N: usize>(self, names: [&str; N]) -> Option<Picked<'a, N>> {
        let mut fields = self.fields()?;
        Some(pick_members(&mut fields, names, Reading::UntilFound))
    }

    /// The elements of an array as objects, each with its members `names` picked as
    /// [`Value::pick`] does, in the same pass that finds where the element ends; `None` for an
    /// element that is not an object. `None` if the value is not an array.
    pub fn rows<const N: usize>(self, names: [&'a str; N]) -> Option<Rows<'a, N>> {
        Some(Rows { items: self.items()?, names })
    }

    /// The member `name` of an object, unless it is missing or `null`: how exchanges write an
    /// absent optional field either way.
    pub fn get_present(self, name: &str) -> Option<Value<'a>> {
        self.get(name).filter(|value| !value.is_null())
    }
}

/// The members picked from an object, in the order their names were given; `None` where missing.
pub type Picked<'a, const N: usize> = [Option<Value<'a>>; N];

/// Whether [`pick_members`] may stop once every name is found, or must reach the object's end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    UntilFound,
    Whole,
}

/// The members `names` among `fields`.
fn pick_members<'a, const N: usize>(
    fields: &mut Fields<'a>,
    names: [&str; N],
    reading: Reading,
) -> Picked<'a, N> {
    let mut found = [None; N];
    let mut missing = N;
    for (key, value) in fields.by_ref() {
        let slot = names.iter().position(|name| same_text(name, &key)).and_then(|at| found.get_mut(at));
        if let Some(slot @ None) = slot {
            *slot = Some(value);
            missing -= 1;
            if missing == 0 && reading == Reading::UntilFound {
                break;
            }
        }
    }
    found
}

/// The members picked from the object at the start of checked `text`, and the text after the
/// object and a following comma; `None` if no object starts there.
fn pick_object<'a, const N: usize>(text: &'a str, names: [&str; N]) -> Option<(Picked<'a, N>, &'a str)> {
    let mut fields = Fields { rest: after_byte(text, b'{')? };
    let found = pick_members(&mut fields, names, Reading::Whole);
    let after = trim_whitespace(after_byte(trim_whitespace(fields.rest), b'}')?);
    Some((found, after_byte(after, b',').unwrap_or(after)))
}

/// What [`Value::rows`] yields.
pub struct Rows<'a, const N: usize> {
    items: Items<'a>,
    names: [&'a str; N],
}

impl<'a, const N: usize> Iterator for Rows<'a, N> {
    type Item = Option<Picked<'a, N>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = trim_whitespace(self.items.rest);
        match rest.as_bytes().first()? {
            b']' => None,
            b'{' => {
                let (found, after) = pick_object(rest, self.names)?;
                self.items.rest = after;
                Some(Some(found))
            }
            _ => {
                self.items.next()?;
                Some(None)
            }
        }
    }
}

impl<'a> Fields<'a> {
    /// The next member as its name and, when its value is an object, that object's members
    /// `names` picked as [`Value::rows`] does.
    pub fn next_picked<const N: usize>(
        &mut self,
        names: [&str; N],
    ) -> Option<(Cow<'a, str>, Option<Picked<'a, N>>)> {
        let (name, rest) = self.next_name()?;
        if let Some((found, after)) = pick_object(rest, names) {
            self.rest = after;
            return Some((name, Some(found)));
        }
        let (_, after) = next_element_value(rest)?;
        self.rest = after;
        Some((name, None))
    }

    /// The next member's name, unescaped, and the text after its colon; `None` at the `}`.
    fn next_name(&self) -> Option<(Cow<'a, str>, &'a str)> {
        let rest = trim_whitespace(self.rest);
        if rest.as_bytes().first() != Some(&b'"') {
            return None;
        }
        let (end, escaped) = string_end(rest.as_bytes(), 0)?;
        let name = rest.get(1..end - 1)?;
        let rest = trim_whitespace(after_byte(trim_whitespace(rest.get(end..)?), b':')?);
        let name = if escaped { Cow::Owned(unescape(name)?) } else { Cow::Borrowed(name) };
        Some((name, rest))
    }
}

/// The elements of a checked array, read one at a time.
pub struct Items<'a> {
    /// The text after the `[` or the last element's `,`.
    rest: &'a str,
}

impl<'a> Iterator for Items<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        let (value, rest) = next_element(self.rest)?;
        self.rest = rest;
        Some(value)
    }
}

/// The members of a checked object, read one at a time.
pub struct Fields<'a> {
    /// The text after the `{` or the last member's `,`.
    rest: &'a str,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Cow<'a, str>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, rest) = self.next_name()?;
        let (value, rest) = next_element_value(rest)?;
        self.rest = rest;
        Some((name, value))
    }
}

/// The next element of a checked array and the text after it and its comma; `None` at the `]`.
fn next_element(rest: &str) -> Option<(Value<'_>, &str)> {
    let rest = trim_whitespace(rest);
    if rest.as_bytes().first() == Some(&b']') {
        return None;
    }
    next_element_value(rest)
}

/// The value at the start of checked text, and the text after it and a following comma.
fn next_element_value(rest: &str) -> Option<(Value<'_>, &str)> {
    let rest = trim_whitespace(rest);
    let end = checked_value_end(rest.as_bytes())?;
    let (text, after) = rest.split_at_checked(end)?;
    let after = trim_whitespace(after);
    Some((Value { text }, after_byte(after, b',').unwrap_or(after)))
}

/// Where the value at the start of already-checked text ends. Only brackets and strings need
/// reading: their contents are known to be well-formed.
fn checked_value_end(bytes: &[u8]) -> Option<usize> {
    match bytes.first()? {
        b'"' => string_end(bytes, 0).map(|(end, _)| end),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut at = 0;
            while let Some(&byte) = bytes.get(at) {
                match byte {
                    b'"' => {
                        at = string_end(bytes, at)?.0;
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            None
        }
        _ => Some(
            bytes.iter().position(|b| matches!(b, b',' | b']' | b'}') || is_whitespace_byte(*b)).unwrap_or(bytes.len()),
        ),
    }
}

/// The index just past the checked string that opens at `start` (its `"`), and whether the
/// string holds escapes.
fn string_end(bytes: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut at = start + 1;
    let mut escaped = false;
    loop {
        match bytes.get(at)? {
            b'"' => return Some((at + 1, escaped)),
            b'\\' => {
                escaped = true;
                at += 2;
            }
            _ => at += 1,
        }
    }
}

/// `a == b`, written out: member names are short, and comparing them in place is cheaper than a
/// call to the platform's `memcmp` for each.
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

const fn is_whitespace_byte(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` after its first byte, if that is the ASCII `byte`. (`str::strip_prefix` with a `char`
/// compares through `memcmp`, which showed in profiles of the reader.)
fn after_byte(text: &str, byte: u8) -> Option<&str> {
    if text.as_bytes().first() == Some(&byte) { text.get(1..) } else { None }
}

fn trim_whitespace(text: &str) -> &str {
    let start = skip_whitespace(text.as_bytes(), 0);
    // Whitespace is ASCII, so `start` is a character boundary.
    text.get(start..).unwrap_or_default()
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| is_whitespace_byte(*b)) {
        at += 1;
    }
    at
}

/// Checks the value that starts at `start` against the JSON grammar, with no name twice in an
/// object, and returns the index just past it. Iterative, with at most [`MAX_DEPTH`] open arrays
/// and objects.
fn check_value(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    // The open containers, innermost last: whether each is an object, and where its member names
    // start in `names`.
    let mut open: Vec<(bool, usize)> = Vec::new();
    // The member names of every open object, outermost first.
    let mut names: Vec<Cow<'_, str>> = Vec::new();
    let mut at = start;
    loop {
        // A value is expected at `at`.
        at = skip_whitespace(bytes, at);
        match *bytes.get(at)? {
            opening @ (b'{' | b'[') => {
                let is_object = opening == b'{';
                if open.len() == MAX_DEPTH {
                    return None;
                }
                open.push((is_object, names.len()));
                at = skip_whitespace(bytes, at + 1);
                let close = if is_object { b'}' } else { b']' };
                if bytes.get(at) == Some(&close) {
                    open.pop();
                    at += 1;
                } else {
                    if is_object {
                        at = check_member_name(text, at, &mut names)?;
                    }
                    continue;
                }
            }
            b'"' => at = check_string(bytes, at)?,
            b'-' | b'0'..=b'9' => at = check_number(bytes, at)?,
            b't' => at = check_literal(bytes, at, b"true")?,
            b'f' => at = check_literal(bytes, at, b"false")?,
            b'n' => at = check_literal(bytes, at, b"null")?,
            _ => return None,
        }
        // A value ended at `at`: close containers until one continues with a comma.
        loop {
            let Some(&(is_object, names_from)) = open.last() else {
                return Some(at);
            };
            at = skip_whitespace(bytes, at);
            match bytes.get(at)? {
                b',' => {
                    at += 1;
                    if is_object {
                        at = check_member_name(text, skip_whitespace(bytes, at), &mut names)?;
                    }
                    break;
                }
                b'}' if is_object => {
                    let members = names.get_mut(names_from..)?;
                    if has_repeated_name(members) {
                        return None;
                    }
                    names.truncate(names_from);
                    open.pop();
                    at += 1;
                }
                b']' if !is_object => {
                    open.pop();
                    at += 1;
                }
                _ => return None,
            }
        }
    }
}

/// Checks `"name" :` at `at`, adds the name to `names` and returns the index after the colon.
fn check_member_name<'a>(text: &'a str, at: usize, names: &mut Vec<Cow<'a, str>>) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let end = check_string(bytes, at)?;
    let inner = text.get(at + 1..end - 1)?;
    // A name with an unpaired surrogate escape has no text; its escaped form stands for it.
    let name = if inner.contains('\\') { unescape(inner).map_or(Cow::Borrowed(inner), Cow::Owned) } else { Cow::Borrowed(inner) };
    names.push(name);
    let at = skip_whitespace(bytes, end);
    (bytes.get(at) == Some(&b':')).then_some(at + 1)
}

/// Whether one object's member names hold a name twice. Sorting them costs O(n log n) however
/// many members an object has (Kraken's ticker object has one per market, over a thousand).
fn has_repeated_name(names: &mut [Cow<'_, str>]) -> bool {
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
}

/// Checks the string that opens at `start`: no raw control characters, only JSON's escapes.
fn check_string(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    loop {
        match *bytes.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => {
                at += match *bytes.get(at + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                    b'u' if bytes.get(at + 2..at + 6)?.iter().all(u8::is_ascii_hexdigit) => 6,
                    _ => return None,
                };
            }
            0x00..=0x1f => return None,
            _ => at += 1,
        }
    }
}

/// Checks the number that starts at `start`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn check_number(bytes: &[u8], start: usize) -> Option<usize> {
    let digits = |at: usize| bytes.get(at..).map_or(0, |rest| rest.iter().take_while(|b| b.is_ascii_digit()).count());
    let mut at = start + usize::from(bytes.get(start) == Some(&b'-'));
    match bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at += digits(at),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return None;
        }
        at += 1 + fraction;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return None;
        }
        at += exponent;
    }
    Some(at)
}

fn check_literal(bytes: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    (bytes.get(at..at + literal.len())? == literal).then_some(at + literal.len())
}

/// The text of a checked string's contents with its escapes resolved; `None` for an unpaired
/// surrogate.
fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let resolved = match chars.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = hex4(&mut chars)?;
                match high {
                    0xd800..=0xdbff => {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let low = hex4(&mut chars)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))?
                    }
                    _ => char::from_u32(high)?,
                }
            }
            other => other,
        };
        out.push(resolved);
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    (0..4).try_fold(0u32, |value, _| Some(value << 4 | chars.next()?.to_digit(16)?))
}

#[cfg(test)]
mod tests;
