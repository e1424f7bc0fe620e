//! Bitso's nonce v2: a 13-digit millisecond timestamp followed by a 6-digit random salt.
//!
//! <https://docs.bitso.com/bitso-api/docs/nonce-v2-rollout>: "a number between 14 and 19 digits,
//! formed by concatenating a 13-digit Epoch timestamp in milliseconds + a random salt". Nineteen
//! digits do not fit a JS number, so a nonce is a string everywhere outside Rust.
//!
//! The generator never repeats itself: each nonce is strictly greater than the one before, even
//! within one millisecond or when the clock steps back, because a candidate that is not greater
//! than the last is replaced by the last plus one. The same numbers are also valid for exchanges
//! that want a plain increasing 64-bit nonce (Kraken, Bitfinex).

use std::fmt;

/// Smallest 6-digit salt; salts never start with a zero, so every nonce has 19 digits.
const SALT_MIN: u64 = 100_000;
/// How many salts there are per millisecond.
const SALT_SPAN: u64 = 900_000;
/// Timestamps are 13 digits until the year 2286.
const MAX_TIMESTAMP_MS: u64 = 9_999_999_999_999;

/// A nonce: 19 decimal digits, strictly increasing per generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nonce(u64);

impl Nonce {
    /// The nonce as a number.
    pub fn value(self) -> u64 {
        self.0
    }

    /// The timestamp part, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(self) -> u64 {
        self.0 / 1_000_000
    }

    fn from_parts(timestamp_ms: u64, salt: u64) -> Self {
        Nonce(timestamp_ms * 1_000_000 + salt)
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Makes nonces from an injected clock reading and injected randomness.
#[derive(Debug, Default, Clone)]
pub struct NonceGenerator {
    last: Option<Nonce>,
}

impl NonceGenerator {
    /// A generator that has issued nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next nonce for clock reading `now_ms` and 32 random bits `entropy`.
    pub fn next(&mut self, now_ms: u64, entropy: u32) -> Nonce {
        let salt = SALT_MIN + u64::from(entropy) % SALT_SPAN;
        let candidate = Nonce::from_parts(now_ms.min(MAX_TIMESTAMP_MS), salt);
        let nonce = match self.last {
            Some(last) if candidate <= last => successor(last),
            _ => candidate,
        };
        self.last = Some(nonce);
        nonce
    }
}

/// The next valid nonce after `nonce`: salt plus one, carrying into the next millisecond.
fn successor(nonce: Nonce) -> Nonce {
    let timestamp_ms = nonce.timestamp_ms();
    let salt = nonce.0 % 1_000_000;
    if salt + 1 < SALT_MIN + SALT_SPAN {
        Nonce::from_parts(timestamp_ms, salt + 1)
    } else {
        Nonce::from_parts(timestamp_ms + 1, SALT_MIN)
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
        let mut generator = NonceGenerator::new();
        let nonce = generator.next(NOW, 23_456);
        assert_eq!(nonce.to_string(), "1731349200123123456");
        assert_eq!(nonce.timestamp_ms(), NOW);
    }

    #[test]
    fn always_nineteen_digits() {
        let mut generator = NonceGenerator::new();
        for entropy in [0, 1, 899_999, 900_000, u32::MAX] {
            assert_eq!(generator.next(NOW, entropy).to_string().len(), 19);
        }
    }

    #[test]
    fn clock_stepping_back_still_increases() {
        let mut generator = NonceGenerator::new();
        let first = generator.next(NOW, 500);
        let second = generator.next(NOW - 60_000, 999_999);
        assert!(second > first);
    }

    #[test]
    fn last_salt_carries_into_next_millisecond() {
        let mut generator = NonceGenerator::new();
        let top = generator.next(NOW, 899_999);
        assert_eq!(top.to_string(), "1731349200123999999");
        assert_eq!(generator.next(NOW, 0).to_string(), "1731349200124100000");
    }

    #[test]
    fn a_million_draws_with_a_frozen_clock_are_strictly_unique() {
        let mut generator = NonceGenerator::new();
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
            let mut generator = NonceGenerator::new();
            let mut previous: Option<Nonce> = None;
            for (now, entropy) in steps {
                let nonce = generator.next(now, entropy);
                prop_assert!(previous.is_none_or(|p| nonce > p));
                previous = Some(nonce);
            }
        }
    }
}
