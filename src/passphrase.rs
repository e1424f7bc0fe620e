//! A plain-language strength hint for a new vault passphrase.
//!
//! This is a nudge, not an entropy estimate: a few rules a user can understand and act on, each
//! with a message that says what to change. The only hard rule is the length the vault enforces
//! ([`MIN_PASSPHRASE_CHARS`]); everything else only changes the hint.
//!
//! The rules:
//! 1. Fewer than [`MIN_PASSPHRASE_CHARS`] characters is [`StrengthLevel::TooShort`].
//! 2. A starting level from length, character classes (lowercase, uppercase, digits, anything
//!    else) and words (runs of 4 or more letters, counted once each, common ones not counted):
//!    - Strong: 4 or more words, or 16+ characters from 3 or more classes;
//!    - Fair: 3 words, or 16+ characters, or 12+ characters from 2 or more classes;
//!    - Weak: anything else, which includes every passphrase under 16 characters that uses a
//!      single class.
//! 3. Each of these lowers the level by one, down to Weak: it contains a common password or word
//!    (`password`, `qwerty`, `123456`, …); it contains a sequence of 4 such as `1234` or `dcba`;
//!    it repeats (the same character 3 times in a row, or the whole passphrase is one shorter
//!    piece repeated).
//!
//! The hint names the first problem found, in that order, so the advice is specific. It crosses
//! to JS as a code (`weak_common`, `fair`, `strong`…); the sentence is `passphraseHint_<code>` in
//! the locale files.

use std::collections::BTreeSet;

use zeroize::Zeroizing;

use crate::secret::SecretString;
use crate::vault::MIN_PASSPHRASE_CHARS;

/// How strong a passphrase looks, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StrengthLevel {
    /// Shorter than the vault accepts.
    TooShort,
    /// Accepted, but easy to guess.
    Weak,
    /// Reasonable; a little more would make it strong.
    Fair,
    /// Long and varied, or several words.
    Strong,
}

impl StrengthLevel {
    /// A stable code for JS: `too_short`, `weak`, `fair` or `strong`.
    pub fn code(self) -> &'static str {
        match self {
            StrengthLevel::TooShort => "too_short",
            StrengthLevel::Weak => "weak",
            StrengthLevel::Fair => "fair",
            StrengthLevel::Strong => "strong",
        }
    }

    /// One level down, never below Weak (a passphrase long enough is never "too short").
    fn lowered(self) -> Self {
        match self {
            StrengthLevel::Strong => StrengthLevel::Fair,
            _ => StrengthLevel::Weak,
        }
    }
}

/// What lowered the level, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Common,
    Sequence,
    Repeat,
}

/// Common passwords and words (English and Spanish), matched anywhere, ignoring case. Kept short
/// on purpose: it catches the famous ones and the obvious words for this extension.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "contraseña",
    "contrasena",
    "qwerty",
    "asdf",
    "zxcv",
    "123456",
    "111111",
    "000000",
    "letmein",
    "welcome",
    "bienvenido",
    "iloveyou",
    "teamo",
    "admin",
    "monkey",
    "dragon",
    "football",
    "futbol",
    "baseball",
    "sunshine",
    "princess",
    "princesa",
    "master",
    "secret",
    "secreto",
    "bitcoin",
    "crypto",
    "cripto",
    "cartera",
    "bitso",
];

/// The strength level of `passphrase` and the code of its one-line hint.
pub fn passphrase_hint(passphrase: &SecretString) -> (StrengthLevel, &'static str) {
    let (level, problem) = assess(passphrase);
    (level, hint_code(level, problem))
}

fn assess(passphrase: &SecretString) -> (StrengthLevel, Option<Problem>) {
    let chars = passphrase.char_count();
    if chars < MIN_PASSPHRASE_CHARS {
        return (StrengthLevel::TooShort, None);
    }
    // The common-password list and the sequences are ASCII, so ASCII folding is enough and
    // keeps Unicode case tables out of the wasm module.
    let lower = Zeroizing::new(passphrase.expose().to_ascii_lowercase());

    let classes = character_classes(passphrase.expose());
    let words = word_count(&lower);
    let mut level = if words >= 4 || (chars >= 16 && classes >= 3) {
        StrengthLevel::Strong
    } else if words >= 3 || chars >= 16 || (chars >= 12 && classes >= 2) {
        StrengthLevel::Fair
    } else {
        StrengthLevel::Weak
    };

    let found = [
        (is_common(&lower), Problem::Common),
        (has_sequence(&lower), Problem::Sequence),
        (has_repeat(&lower), Problem::Repeat),
    ];
    let mut first = None;
    for (present, problem) in found {
        if present {
            level = level.lowered();
            first = first.or(Some(problem));
        }
    }
    (level, first)
}

/// How many of lowercase, uppercase, digits and everything else appear.
fn character_classes(text: &str) -> usize {
    let mut seen = [false; 4];
    for c in text.chars() {
        let class = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        };
        seen[class] = true;
    }
    seen.iter().filter(|&&present| present).count()
}

/// Distinct runs of 4 or more letters that are not common words.
fn word_count(lower: &str) -> usize {
    let words: BTreeSet<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| word.chars().count() >= 4 && !is_common(word))
        .collect();
    words.len()
}

fn is_common(lower: &str) -> bool {
    COMMON.iter().any(|common| lower.contains(common))
}

/// Four characters in a row whose codes go up or down by one: `1234`, `abcd`, `4321`, `dcba`.
fn has_sequence(lower: &str) -> bool {
    let codes: Zeroizing<Vec<u32>> = Zeroizing::new(lower.chars().map(u32::from).collect());
    codes.windows(4).any(|w| {
        let alphanumeric =
            w.iter().all(|&code| char::from_u32(code).is_some_and(|c| c.is_alphanumeric()));
        let step =
            |delta: i64| w.windows(2).all(|pair| i64::from(pair[1]) - i64::from(pair[0]) == delta);
        alphanumeric && (step(1) || step(-1))
    })
}

/// The same character three times in a row, or the whole text being one shorter piece repeated
/// (`abcabcabcabc`, `the cat the cat `).
fn has_repeat(lower: &str) -> bool {
    let chars: Zeroizing<Vec<u32>> = Zeroizing::new(lower.chars().map(u32::from).collect());
    let run = chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
    let periodic =
        (1..=chars.len() / 2).any(|period| chars.iter().zip(&chars[period..]).all(|(a, b)| a == b));
    run || periodic
}

/// The hint's code: the level, and for Weak and Fair the first problem found.
fn hint_code(level: StrengthLevel, problem: Option<Problem>) -> &'static str {
    use Problem::{Common, Repeat, Sequence};
    use StrengthLevel::{Fair, Strong, TooShort, Weak};
    match (level, problem) {
        (TooShort, _) => "too_short",
        (Weak, None) => "weak",
        (Weak, Some(Common)) => "weak_common",
        (Weak, Some(Sequence)) => "weak_sequence",
        (Weak, Some(Repeat)) => "weak_repeat",
        (Fair, None) => "fair",
        (Fair, Some(Common)) => "fair_common",
        (Fair, Some(Sequence)) => "fair_sequence",
        (Fair, Some(Repeat)) => "fair_repeat",
        (Strong, _) => "strong",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StrengthLevel::{Fair, Strong, TooShort, Weak};

    fn level(text: &str) -> StrengthLevel {
        passphrase_hint(&SecretString::from(text)).0
    }

    #[test]
    fn levels() {
        let table: &[(&str, StrengthLevel)] = &[
            ("", TooShort),
            ("short", TooShort),
            ("ñandúñandú", Weak), // 10 characters, one class, one piece repeated
            ("abc1def2g", TooShort), // 9 characters
            // One class under 16 characters.
            ("zqxjvkwpmr", Weak),
            ("9081726354", Weak),
            // Common passwords and words.
            ("password123!", Weak),
            ("MyPassword!2024", Weak),
            ("qwertyuiop12", Weak),
            ("mi contraseña es larga", Weak),
            // Sequences and repeats.
            ("abcdefghij", Weak),
            ("zk7!9876mqp", Weak),
            ("aaaaaaaaaa", Weak),
            ("xyzzy!xyzzy!xyzzy!", Weak),
            // Fair.
            ("Tr0ub4dor&3x", Fair),
            ("zqxjvkwpmrtyhnbg", Fair),
            ("perro gato mesa", Fair),
            ("kP9#xL2!qW7z", Fair),
            // Strong: 4 words, or 16+ characters with 3 classes.
            ("correct horse battery staple", Strong),
            ("mi perro come mucha pizza", Strong),
            ("kP9#xL2!qW7zR4$m", Strong),
            // Strong lowered by one problem.
            ("correct horse battery staple 1234", Fair),
            ("correct horse battery staple password", Fair),
            ("kP9#xL2!qW7zR4$maaa", Fair),
            // Two problems from Strong: Weak.
            ("correct horse battery staple 1234 password", Weak),
        ];
        for &(text, expected) in table {
            assert_eq!(level(text), expected, "{text:?}");
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 10 characters, 20 bytes: accepted by length, weak as a single class of one repeat.
        assert_eq!(level("ññññññññññ"), Weak);
        assert_eq!(level("ñññññññññ"), TooShort);
    }

    #[test]
    fn words_are_counted_once() {
        assert_eq!(word_count("uno dos tres"), 1); // "tres" only; "uno", "dos" are short
        assert_eq!(word_count("gato gato gato gato"), 1);
        assert_eq!(word_count("correct-horse_battery.staple"), 4);
        assert_eq!(word_count("bitcoin wallet"), 1);
    }

    #[test]
    fn hints_name_the_first_problem() {
        let hint = |text: &str| passphrase_hint(&SecretString::from(text));
        assert_eq!(hint("short"), (TooShort, "too_short"));
        assert_eq!(hint("zqxjvkwpmr"), (Weak, "weak"));
        assert_eq!(hint("password123!"), (Weak, "weak_common"));
        assert_eq!(hint("abcdefghij"), (Weak, "weak_sequence"));
        assert_eq!(hint("correct horse battery staple 1234"), (Fair, "fair_sequence"));
        assert_eq!(hint("correct horse battery staple"), (Strong, "strong"));
    }

    /// Every hint has its sentence in every locale (`passphraseHint_<code>`).
    #[test]
    fn every_hint_has_a_sentence_in_every_locale() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/extension/_locales");
        let levels = [TooShort, Weak, Fair, Strong];
        let problems = [None, Some(Problem::Common), Some(Problem::Sequence), Some(Problem::Repeat)];
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path().join("messages.json");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            let messages: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
            for level in levels {
                for problem in problems {
                    let key = format!("passphraseHint_{}", hint_code(level, problem));
                    assert!(messages[&key]["message"].is_string(), "{} lacks {key}", path.display());
                }
            }
            let too_short = messages["passphraseHint_too_short"]["message"].as_str().unwrap_or_default();
            assert!(too_short.contains(&MIN_PASSPHRASE_CHARS.to_string()), "{}: {too_short}", path.display());
        }
    }

    #[test]
    fn codes() {
        let codes: Vec<_> =
            [TooShort, Weak, Fair, Strong].into_iter().map(StrengthLevel::code).collect();
        assert_eq!(codes, ["too_short", "weak", "fair", "strong"]);
    }
}
