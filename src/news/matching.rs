//! Which held assets a headline is about, worked out on the device.
//!
//! A headline is about an asset when it names it as a whole word: by code, or by the asset's name
//! in the interface language. The rules, each with a test:
//!
//! - **Whole words.** The letters or digits right before and after a match must not be letters or
//!   digits, so "ETH" is not found in "Ethernet" nor "Bitcoin" in "Bitcoiners".
//! - **Codes are matched as written**, in capitals: "SOL" is Solana, the Spanish "sol" (sun) is not;
//!   "ALGO" is Algorand, the Spanish and Portuguese "algo" is not.
//! - **Codes that news writes in capitals for something else** ([`AMBIGUOUS_CODES`]: "AI", "ETF",
//!   "NFT", "ONE", "NEAR", "GAS"…) and **fiat currencies** (every price headline names "USD") are
//!   never matched by code; such an asset is found by its name only, if it has one here.
//! - **Names** ([`NAMES`]) are matched in any case ("bitcoin", as CriptoNoticias writes it, is
//!   Bitcoin). Only names that are not ordinary words are listed ("Stellar", "Avalanche" and
//!   "Optimism" are not).
//! - **The longest match wins**: "Bitcoin Cash" is BCH and not also BTC, "Ethereum Classic" is
//!   ETC and not also ETH, whether or not the other asset is held.

use super::Lang;

/// Asset codes that headlines write in capitals meaning something else: matched by name only.
pub const AMBIGUOUS_CODES: &[&str] = &[
    "AI", "ALL", "AML", "API", "ATH", "BIG", "CBDC", "CEO", "CFO", "CPI", "DAO", "DEX", "DOGS", "EU", "ETF", "FBI", "FED",
    "FUN", "GAS", "GDP", "GO", "GOLD", "HOT", "HYPE", "ICO", "ID", "IMF", "IPO", "IT", "KEY", "KYC", "ME", "MOVE", "NEAR",
    "NEW", "NFT", "NOT", "NOW", "OK", "ONE", "PEOPLE", "REAL", "SEC", "SUN", "THE", "TOP", "TRUMP", "TV", "UK", "UN", "US",
    "USA", "WIN",
];

/// Fiat currencies a portfolio may hold: never matched (every price headline names the dollar).
const FIAT: &[&str] = &[
    "ARS", "AUD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EUR", "GBP", "HKD", "IDR", "INR", "JPY", "KRW",
    "MXN", "NGN", "NOK", "NZD", "PEN", "PHP", "PLN", "RUB", "SEK", "SGD", "THB", "TRY", "UAH", "USD", "UYU", "VES", "ZAR",
];

/// An asset's names: in every language, then in English, Spanish and Portuguese only.
pub struct AssetNames {
    /// The code as the core writes it.
    pub code: &'static str,
    /// Names used in every language.
    pub everywhere: &'static [&'static str],
    /// Names used in one language only: English, Spanish, Portuguese.
    pub by_language: [&'static [&'static str]; 3],
}

const fn names(code: &'static str, everywhere: &'static [&'static str]) -> AssetNames {
    AssetNames { code, everywhere, by_language: [&[], &[], &[]] }
}

/// Names of the assets news writes about most. Not words of any of the three languages.
pub const NAMES: &[AssetNames] = &[
    names("BTC", &["Bitcoin"]),
    AssetNames { code: "ETH", everywhere: &["Ethereum"], by_language: [&["Ether"], &["Ether"], &[]] },
    names("BCH", &["Bitcoin Cash"]),
    names("ETC", &["Ethereum Classic"]),
    names("USDT", &["Tether"]),
    names("USDC", &["USD Coin"]),
    names("SOL", &["Solana"]),
    names("XRP", &["Ripple"]),
    names("ADA", &["Cardano"]),
    names("DOGE", &["Dogecoin"]),
    names("SHIB", &["Shiba Inu"]),
    names("DOT", &["Polkadot"]),
    names("LTC", &["Litecoin"]),
    names("LINK", &["Chainlink"]),
    names("TRX", &["Tron"]),
    names("XMR", &["Monero"]),
    names("UNI", &["Uniswap"]),
    names("ALGO", &["Algorand"]),
    names("APT", &["Aptos"]),
    names("ARB", &["Arbitrum"]),
    names("TON", &["Toncoin"]),
    names("NEAR", &["NEAR Protocol"]),
    names("ONE", &["Harmony ONE"]),
    // MATIC became POL in 2024: "Polygon" is POL's name; MATIC is matched by its code.
    names("POL", &["Polygon"]),
    names("AAVE", &["Aave"]),
    names("FIL", &["Filecoin"]),
    names("HBAR", &["Hedera"]),
    names("ZEC", &["Zcash"]),
    names("PEPE", &["Pepecoin"]),
    names("DAI", &["MakerDAO"]),
];

/// A match of one asset in a headline: where, and which asset.
struct Found<'a> {
    start: usize,
    end: usize,
    code: &'a str,
}

/// The codes of the `held` assets that `title` is about, each once, in the order the title
/// names them.
pub fn assets_in<'a>(title: &str, held: &'a [String], lang: Lang) -> Vec<&'a str> {
    if held.is_empty() {
        return Vec::new();
    }
    // Names are ASCII, so an ASCII lowering finds them in any case and keeps every offset of
    // the title: names and codes then compete for the same positions.
    let lowered = title.to_ascii_lowercase();
    let mut found: Vec<Found<'_>> = Vec::new();
    // Every known name, held or not, so that a longer name of an asset not held ("Bitcoin Cash")
    // keeps a shorter one of an asset held ("Bitcoin") from matching.
    for asset in NAMES {
        let language = asset.by_language[lang as usize];
        for name in asset.everywhere.iter().chain(language) {
            for (start, end) in whole_words(&lowered, &name.to_ascii_lowercase()) {
                found.push(Found { start, end, code: asset.code });
            }
        }
    }
    for code in held.iter().map(String::as_str).filter(|code| matchable_code(code)) {
        for (start, end) in whole_words(title, code) {
            found.push(Found { start, end, code });
        }
    }
    let mut assets: Vec<&'a str> = Vec::new();
    for f in longest_first(found) {
        if let Some(code) = held.iter().find(|code| code.as_str() == f.code)
            && !assets.contains(&code.as_str())
        {
            assets.push(code);
        }
    }
    assets
}

/// Whether a held asset's code may be matched as written.
fn matchable_code(code: &str) -> bool {
    code.len() >= 2 && !AMBIGUOUS_CODES.contains(&code) && !FIAT.contains(&code)
}

/// The matches that do not overlap a longer one, in the order they appear. Ties (a name that is
/// also a held code, say) go to the code first in the alphabet, the same way every time. A
/// headline has a handful of matches: picking the longest left each time needs no sort.
fn longest_first(mut found: Vec<Found<'_>>) -> Vec<Found<'_>> {
    let mut kept: Vec<Found<'_>> = Vec::new();
    while let Some(best) = (0..found.len()).reduce(|best, i| if outranks(&found[i], &found[best]) { i } else { best }) {
        let candidate = found.swap_remove(best);
        if kept.iter().all(|k| candidate.end <= k.start || candidate.start >= k.end) {
            let at = kept.iter().position(|k| k.start > candidate.start).unwrap_or(kept.len());
            kept.insert(at, candidate);
        }
    }
    kept
}

/// Longer first, then leftmost, then by code.
fn outranks(a: &Found<'_>, b: &Found<'_>) -> bool {
    let (a_len, b_len) = (a.end - a.start, b.end - b.start);
    a_len > b_len || (a_len == b_len && (a.start < b.start || (a.start == b.start && a.code < b.code)))
}

/// Where `word` occurs in `text` as a whole word: no letter or digit touches it on either side.
fn whole_words(text: &str, word: &str) -> Vec<(usize, usize)> {
    let mut matches = Vec::new();
    if word.is_empty() {
        return matches;
    }
    for (start, _) in text.match_indices(word) {
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            matches.push((start, end));
        }
    }
    matches
}

#[cfg(test)]
mod tests;
