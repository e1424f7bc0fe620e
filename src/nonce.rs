//! Nonces for exchanges that want a strictly increasing number per API key.
//!
//! Two layouts, chosen by the adapter:
//!
//! - [`NonceFormat::Salted19`]: Bitso's nonce v2, a 13-digit millisecond timestamp followed by a
//!   6-digit random salt (<https://docs.bitso.com/bitso-api/docs/nonce-v2-rollout>: "a number
//!   between 14 and 19 digits"). Kraken takes the same numbers: an unsigned 64-bit nonce that only
//!   goes up, and at the scale of the official SDK's nanoseconds, so a key that client used still
//!   accepts them.
//! - [`NonceFormat::Micros`]: Bitfinex's, milliseconds × 1000 plus a counter. Bitfinex documents
//!   that a nonce "should not exceed the MAX_SAFE_INTEGER constant value of 9007199254740991",
//!   which microseconds respect until the year 2255.
//!
//! A generator never repeats itself: each nonce is strictly greater than the one before, even
//! within one millisecond or when the clock steps back, because a candidate that is not greater
//! than the last is replaced by the last plus one. The last nonce per account is persisted by the
//! extension (it is not secret) and handed back through [`NonceGenerator::resume`], so neither a
//! service-worker restart nor a clock set back ever reuses one. Nineteen digits do not fit a JS
//! number, so a nonce is a string everywhere outside Rust.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

/// Smallest 6-digit salt; salts never start with a zero, so every salted nonce has 19 digits.
const SALT_MIN: u64 = 100_000;
/// How many salts there are per millisecond.
const SALT_SPAN: u64 = 900_000;
/// Timestamps are 13 digits until the year 2286.
const MAX_TIMESTAMP_MS: u64 = 9_999_999_999_999;
/// The last millisecond whose microseconds stay below 2^53 (in the year 2255).
const MAX_MICROS_TIMESTAMP_MS: u64 = (1 << 53) / 1_000 - 1;

/// How an exchange wants its nonces laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceFormat {
    /// 13-digit milliseconds followed by a 6-digit random salt (Bitso, Kraken).
    Salted19,
    /// Milliseconds × 1000 plus a counter, below 2^53 (Bitfinex).
    Micros,
}

/// A nonce, strictly increasing per generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nonce(u64);

impl Nonce {
    /// The nonce as a number.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The last nonce sent with a key, as stored: a decimal string, since nineteen digits do not fit
/// a JS number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredNonce(pub u64);

impl Serialize for StoredNonce {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StoredNonce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| text.parse().ok()).flatten().map(StoredNonce).ok_or_else(|| D::Error::custom("not a stored nonce"))
    }
}

/// Makes nonces from an injected clock reading and injected randomness.
#[derive(Debug, Clone)]
pub struct NonceGenerator {
    format: NonceFormat,
    last: Option<Nonce>,
}

impl NonceGenerator {
    /// A generator that has issued nothing yet.
    pub fn new(format: NonceFormat) -> Self {
        Self { format, last: None }
    }

    /// A generator that continues after `last`, the last nonce sent with this key (as stored).
    pub fn resume(format: NonceFormat, last: Option<u64>) -> Self {
        Self { format, last: last.map(Nonce) }
    }

    /// The last nonce issued, to be persisted.
    pub fn last(&self) -> Option<Nonce> {
        self.last
    }

    /// The next nonce for clock reading `now_ms` and 32 random bits `entropy` (used only as the
    /// salt of [`NonceFormat::Salted19`]).
    pub fn next(&mut self, now_ms: u64, entropy: u32) -> Nonce {
        let candidate = match self.format {
            NonceFormat::Salted19 => {
                Nonce(now_ms.min(MAX_TIMESTAMP_MS) * 1_000_000 + SALT_MIN + u64::from(entropy) % SALT_SPAN)
            }
            NonceFormat::Micros => Nonce(now_ms.min(MAX_MICROS_TIMESTAMP_MS) * 1_000),
        };
        let nonce = match self.last {
            Some(last) if candidate <= last => self.successor(last),
            _ => candidate,
        };
        self.last = Some(nonce);
        nonce
    }

    /// The next valid nonce after `nonce`.
    fn successor(&self, nonce: Nonce) -> Nonce {
        match self.format {
            // Salt plus one, carrying into the next millisecond.
            NonceFormat::Salted19 => {
                let (timestamp_ms, salt) = (nonce.0 / 1_000_000, nonce.0 % 1_000_000);
                if (SALT_MIN..SALT_MIN + SALT_SPAN - 1).contains(&salt) {
                    Nonce(nonce.0 + 1)
                } else {
                    Nonce((timestamp_ms + 1) * 1_000_000 + SALT_MIN)
                }
            }
            NonceFormat::Micros => Nonce(nonce.0.saturating_add(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    const NOW: u64 = 1_731_349_200_123;

    #[test]
    fn bitso_docs_example_layout() {
        // Docs example: timestamp 1731349200123 + salt 123456 → 1731349200123123456.
        let mut generator = NonceGenerator::new(NonceFormat::Salted19);
        let nonce = generator.next(NOW, 23_456);
        assert_eq!(nonce.to_string(), "1731349200123123456");
    }

    #[test]
    fn always_nineteen_digits() {
        let mut generator = NonceGenerator::new(NonceFormat::Salted19);
        for entropy in [0, 1, 899_999, 900_000, u32::MAX] {
            assert_eq!(generator.next(NOW, entropy).to_string().len(), 19);
        }
    }

    #[test]
    fn clock_stepping_back_still_increases() {
        let mut generator = NonceGenerator::new(NonceFormat::Salted19);
        let first = generator.next(NOW, 500);
        let second = generator.next(NOW - 60_000, 999_999);
        assert!(second > first);
    }

    #[test]
    fn last_salt_carries_into_next_millisecond() {
        let mut generator = NonceGenerator::new(NonceFormat::Salted19);
        let top = generator.next(NOW, 899_999);
        assert_eq!(top.to_string(), "1731349200123999999");
        assert_eq!(generator.next(NOW, 0).to_string(), "1731349200124100000");
    }

    #[test]
    fn a_million_draws_with_a_frozen_clock_are_strictly_unique() {
        let mut generator = NonceGenerator::new(NonceFormat::Salted19);
        let mut seen = HashSet::with_capacity(1_000_000);
        let mut state: u32 = 0x9e37_79b9;
        let mut previous = None;
        for _ in 0..1_000_000 {
            // xorshift32: cheap, deterministic stand-in for the platform RNG.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let nonce = generator.next(NOW, state);
            assert!(previous.is_none_or(|p| nonce > p));
            assert!(seen.insert(nonce));
            previous = Some(nonce);
        }
    }

    proptest! {
        #[test]
        fn strictly_increasing_for_any_clock_and_entropy(
            steps in proptest::collection::vec((0u64..=MAX_TIMESTAMP_MS, any::<u32>()), 1..200)
        ) {
            for format in [NonceFormat::Salted19, NonceFormat::Micros] {
            let mut generator = NonceGenerator::new(format);
            let mut previous: Option<Nonce> = None;
            for (now, entropy) in &steps {
                let (now, entropy) = (*now, *entropy);
                let nonce = generator.next(now, entropy);
                prop_assert!(previous.is_none_or(|p| nonce > p));
                previous = Some(nonce);
            }
            }
        }
    }

    #[test]
    fn resuming_never_goes_below_the_persisted_nonce() {
        // A service worker restarts with the clock set back a minute: the persisted nonce wins.
        let mut before = NonceGenerator::new(NonceFormat::Salted19);
        let last = before.next(NOW, 42);
        let mut after = NonceGenerator::resume(NonceFormat::Salted19, before.last().map(Nonce::value));
        let next = after.next(NOW - 60_000, 0);
        assert!(next > last);
        assert_eq!(next.value(), last.value() + 1);
        // A salt at its top carries into the next millisecond.
        let mut top = NonceGenerator::resume(NonceFormat::Salted19, Some(1_731_349_200_123_999_999));
        assert_eq!(top.next(0, 0).to_string(), "1731349200124100000");
    }

    #[test]
    fn micros_stay_below_two_to_the_53() {
        let mut generator = NonceGenerator::new(NonceFormat::Micros);
        assert_eq!(generator.next(NOW, 7).to_string(), "1731349200123000");
        assert_eq!(generator.next(NOW, 7).to_string(), "1731349200123001");
        assert_eq!(generator.next(NOW - 1, 7).to_string(), "1731349200123002");
        assert!(NonceGenerator::new(NonceFormat::Micros).next(MAX_TIMESTAMP_MS, 0).value() < 1 << 53);
        let mut resumed = NonceGenerator::resume(NonceFormat::Micros, Some(1_800_000_000_000_000));
        assert_eq!(resumed.next(NOW, 0).value(), 1_800_000_000_000_001);
    }
}
