//! What the user set up, as `storage.local` keeps it: accounts, portfolios, typed-in holdings and
//! settings. Each shape is declared once here and read and written through serde; the background
//! stores what these types write, and the rules about them (which portfolio an entry is in, which
//! accounts are imported, what a setting may be) live here, not in the pages.
//!
//! Stored objects may carry members this version does not know (written by a newer one): reading
//! skips them. Members an older version did not write take the defaults below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, ErrorView, Result},
    exchange::KeyScope,
    exchange_id::ExchangeId,
    money::{parse_typed_decimal, to_plain_string},
    schedule,
};

/// The portfolio every account starts in; it exists until the user makes others.
pub const DEFAULT_PORTFOLIO: &str = "main";
/// The most portfolios a user keeps.
pub const MAX_PORTFOLIOS: usize = 20;
/// The most typed-in holdings, all portfolios together.
pub const MAX_MANUAL: usize = 200;
/// The auto-lock choices, in minutes; 0 never locks.
pub const AUTO_LOCK_MINUTES: [u32; 4] = [0, 5, 15, 60];

/// One exchange account: its key is sealed in the vault under `id`; this is everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Its id in the vault.
    pub id: String,
    /// The user's name for it.
    pub label: String,
    /// Which exchange holds it.
    pub exchange: ExchangeId,
    /// When it was added, ms since the epoch.
    #[serde(default)]
    pub added_at: Option<u64>,
    /// When its balances were last fetched.
    #[serde(default)]
    pub last_sync: Option<u64>,
    /// Whether its last refresh worked.
    #[serde(default)]
    pub status: AccountStatus,
    /// Why its last refresh failed.
    #[serde(default)]
    pub error: Option<ErrorView>,
    /// What its key may do, as the exchange reported it; `None` where the exchange cannot say.
    #[serde(default)]
    pub scope: Option<KeyScope>,
    /// When the exchange last said what the key may do, ms since the epoch; absent until then, so
    /// an older account upgrades unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_checked_at: Option<u64>,
    /// The portfolio it belongs to.
    #[serde(default = "default_portfolio")]
    pub portfolio: String,
    /// "Import balance": off keeps the key but leaves the account out of syncs and totals.
    #[serde(default = "yes")]
    pub import_balance: bool,
    /// Markets the user named for its history, for an exchange that cannot list the markets an
    /// account traded (Binance's symbols: `DOGEUSDT`); absent until one is named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markets: Vec<String>,
}

fn default_portfolio() -> String {
    DEFAULT_PORTFOLIO.to_owned()
}

fn yes() -> bool {
    true
}

/// Whether an account's last refresh worked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountStatus {
    /// It worked (or the account was just added).
    #[default]
    Active,
    /// It failed; the account's `error` says why.
    Error,
}

/// A named group of accounts and holdings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portfolio {
    /// A short id: lowercase letters, digits and dashes.
    pub id: String,
    /// The user's name for it.
    pub name: String,
}

/// One place the user keeps an asset outside any exchange (two wallets of BTC are two entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualEntry {
    /// Its id.
    pub id: String,
    /// The portfolio it belongs to.
    pub portfolio: String,
    /// Asset code, lowercase.
    pub asset: String,
    /// The amount, as a plain decimal string.
    pub amount: String,
    /// The user's note ("Ledger", "cold wallet").
    #[serde(default)]
    pub note: String,
}

/// The portfolio ids in use: the stored ones, or the default one while there are none.
pub fn portfolio_ids(portfolios: &[Portfolio]) -> Vec<&str> {
    if portfolios.is_empty() { vec![DEFAULT_PORTFOLIO] } else { portfolios.iter().map(|portfolio| portfolio.id.as_str()).collect() }
}

/// The portfolio an entry is in: its own if that still exists, else the first one.
pub fn portfolio_of<'a>(entry_portfolio: &'a str, portfolios: &[&'a str]) -> &'a str {
    if portfolios.contains(&entry_portfolio) { entry_portfolio } else { portfolios.first().copied().unwrap_or(DEFAULT_PORTFOLIO) }
}

/// Whether `id` is a portfolio id: 1 to 40 lowercase letters, digits and dashes.
pub fn is_portfolio_id(id: &str) -> bool {
    (1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What [`manual_entry_id`] puts before the portfolio's id.
pub const MANUAL_ENTRY_PREFIX: &str = "manual-";

/// The id under which a portfolio's typed-in holdings appear among the accounts of a snapshot
/// (and own the trades typed in for them).
pub fn manual_entry_id(portfolio: &str) -> String {
    format!("{MANUAL_ENTRY_PREFIX}{portfolio}")
}

/// A currency code as the user may value in: 2 to 12 ASCII letters or digits, made lowercase.
pub fn quote_code(text: &str) -> Result<String> {
    let code = text.trim().to_ascii_lowercase();
    let valid = (2..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid { Ok(code) } else { Err(Error::InvalidInput { field: "quote" }) }
}

/// What the toolbar badge shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Badge {
    /// Nothing.
    #[default]
    None,
    /// The total, in compact form.
    Total,
    /// The 24-hour change.
    Change,
}

/// The pages' colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    /// As the system says.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The user's settings. A member missing from storage takes its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// The display currency.
    pub quote: String,
    /// Minutes without use before Cartera locks itself; one of [`AUTO_LOCK_MINUTES`].
    pub auto_lock_minutes: u32,
    /// Minutes between automatic syncs; one of [`schedule::INTERVALS_MINUTES`].
    pub sync_minutes: u32,
    /// What the badge shows.
    pub badge: Badge,
    /// The pages' colours.
    pub theme: Theme,
    /// "Hide small balances" below this value in the display currency (a plain decimal), or
    /// empty when off.
    pub hide_below: String,
    /// "Hide amounts".
    pub privacy: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            quote: "mxn".to_owned(),
            auto_lock_minutes: 15,
            sync_minutes: 15,
            badge: Badge::None,
            theme: Theme::System,
            hide_below: String::new(),
            privacy: false,
        }
    }
}

/// Settings a page changes, each as the page sends it; absent ones stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    quote: Option<String>,
    auto_lock_minutes: Option<u32>,
    sync_minutes: Option<u32>,
    badge: Option<Badge>,
    theme: Option<Theme>,
    /// As typed, in the page's language (see [`parse_typed_decimal`]); empty turns it off.
    hide_below: Option<String>,
    privacy: Option<bool>,
}

impl Settings {
    /// These settings with `change` applied, every value checked; numbers typed by the user are
    /// read with `decimal_mark`. Nothing changes when any value is refused.
    pub fn apply(&self, change: SettingsChange, decimal_mark: char) -> Result<Settings> {
        let invalid = |field| Error::InvalidInput { field };
        let mut next = self.clone();
        if let Some(quote) = change.quote {
            next.quote = quote_code(&quote)?;
        }
        if let Some(minutes) = change.auto_lock_minutes {
            next.auto_lock_minutes = Some(minutes).filter(|minutes| AUTO_LOCK_MINUTES.contains(minutes)).ok_or(invalid("refresh"))?;
        }
        if let Some(minutes) = change.sync_minutes {
            next.sync_minutes =
                Some(minutes).filter(|minutes| schedule::INTERVALS_MINUTES.contains(minutes)).ok_or(invalid("refresh"))?;
        }
        if let Some(badge) = change.badge {
            next.badge = badge;
        }
        if let Some(theme) = change.theme {
            next.theme = theme;
        }
        if let Some(typed) = change.hide_below {
            next.hide_below = if typed.trim().is_empty() {
                String::new()
            } else {
                parse_typed_decimal(&typed, decimal_mark)
                    .filter(|value| !value.is_zero())
                    .map(to_plain_string)
                    .ok_or(invalid("threshold"))?
            };
        }
        if let Some(privacy) = change.privacy {
            next.privacy = privacy;
        }
        Ok(next)
    }
}

/// The storage format this version writes:
///
/// 1. (no `formatVersion`, no `portfolios`) the first releases;
/// 2. (no `formatVersion`) portfolios: every account and holding in one, and the "Import
///    balance" switch;
/// 3. each account's `scope` carries its `readOnly` verdict, worked out by the core.
///
/// Everything else kept its shape, or reads every older shape as it is (see each type).
pub const STORAGE_FORMAT: u32 = 3;

/// What [`upgrade`] reads of storage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoredSetup {
    /// The format storage was last written in; absent before format 3.
    pub format_version: Option<u32>,
    /// The account list.
    pub accounts: Vec<Account>,
    /// The portfolios; none before format 2.
    pub portfolios: Vec<Portfolio>,
}

/// What [`upgrade`] writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// [`STORAGE_FORMAT`].
    pub format_version: u32,
    /// Every account as this version writes it.
    pub accounts: Vec<Account>,
    /// The portfolios: the default one, named `default_name`, when there were none.
    pub portfolios: Vec<Portfolio>,
}

/// Brings storage an earlier version wrote up to [`STORAGE_FORMAT`], once: `None` when it is
/// there already. Nothing is removed: accounts without a portfolio join the default one and
/// keep being imported (their members' defaults), and each scope gains its verdict.
pub fn upgrade(stored: StoredSetup, default_name: &str) -> Option<Upgrade> {
    if stored.format_version.is_some_and(|version| version >= STORAGE_FORMAT) {
        return None;
    }
    let portfolios = if stored.portfolios.is_empty() {
        vec![Portfolio { id: DEFAULT_PORTFOLIO.to_owned(), name: default_name.to_owned() }]
    } else {
        stored.portfolios
    };
    Some(Upgrade { format_version: STORAGE_FORMAT, accounts: stored.accounts, portfolios })
}

/// Each account's exchange, as the vault's format 1 did not record it.
pub fn exchanges_by_id(accounts: &[Account]) -> BTreeMap<&str, ExchangeId> {
    accounts.iter().map(|account| (account.id.as_str(), account.exchange)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_stored_by_the_first_version_reads_with_defaults() {
        let stored = r#"{"id":"bitso-main","label":"Mi Bitso","exchange":"bitso","addedAt":1,"lastSync":2,
            "status":"active","error":null,"scope":{"read":true,"trade":false,"withdraw":false,"transfer":false}}"#;
        let account: Account = serde_json::from_str(stored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(account.portfolio, DEFAULT_PORTFOLIO);
        assert!(account.import_balance);
        assert_eq!(account.scope.map(|scope| scope.is_read_only()), Some(true));
    }

    #[test]
    fn storage_of_every_earlier_format_is_upgraded_once() {
        let first = r#"{"accounts":[{"id":"a1","label":"Mi Bitso","exchange":"bitso","addedAt":5,"lastSync":6,"status":"error",
            "error":{"code":"timeout","exchange":"bitso"},"scope":{"read":true,"trade":true,"withdraw":false,"transfer":false}}]}"#;
        let stored: StoredSetup = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}"));
        let upgraded = upgrade(stored, "Personal").unwrap_or_else(|| panic!("nothing to upgrade"));
        assert_eq!(upgraded.portfolios, [Portfolio { id: "main".into(), name: "Personal".into() }]);
        let written = serde_json::to_string(&upgraded.accounts).unwrap_or_default();
        assert_eq!(
            written,
            concat!(
                r#"[{"id":"a1","label":"Mi Bitso","exchange":"bitso","addedAt":5,"lastSync":6,"status":"error","#,
                r#""error":{"code":"timeout","exchange":"bitso"},"scope":{"trade":true,"withdraw":false,"transfer":false,"readOnly":false},"#,
                r#""portfolio":"main","importBalance":true}]"#
            )
        );
        // Format 2: portfolios exist and are kept as they are.
        let second = r#"{"portfolios":[{"id":"main","name":"Mío"},{"id":"pbiz","name":"Negocio"}],
            "accounts":[{"id":"a1","label":"x","exchange":"kraken","portfolio":"pbiz","importBalance":false,"scope":null}]}"#;
        let upgraded = upgrade(serde_json::from_str(second).unwrap_or_default(), "Personal").unwrap_or_else(|| panic!("nothing"));
        assert_eq!(upgraded.portfolios.len(), 2);
        assert_eq!((upgraded.accounts[0].portfolio.as_str(), upgraded.accounts[0].import_balance), ("pbiz", false));
        let current = r#"{"formatVersion":3,"accounts":[]}"#;
        assert_eq!(upgrade(serde_json::from_str(current).unwrap_or_default(), "Personal"), None);
    }

    #[test]
    fn entries_fall_back_to_the_first_portfolio() {
        let ids = ["home", "work"];
        assert_eq!(portfolio_of("work", &ids), "work");
        assert_eq!(portfolio_of("gone", &ids), "home");
        assert_eq!(portfolio_ids(&[]), [DEFAULT_PORTFOLIO]);
    }

    #[test]
    fn quote_codes_are_short_codes() {
        assert_eq!(quote_code(" USD ").ok().as_deref(), Some("usd"));
        for refused in ["", "u", "usd$", "abcdefghijklm", "m x n"] {
            assert_eq!(quote_code(refused), Err(Error::InvalidInput { field: "quote" }), "{refused:?}");
        }
    }

    #[test]
    fn settings_take_only_what_is_offered() {
        let stored: Settings = serde_json::from_str(r#"{"quote":"usd","badge":"total","somethingNewer":1}"#).unwrap_or_default();
        assert_eq!((stored.quote.as_str(), stored.badge, stored.sync_minutes), ("usd", Badge::Total, 15));
        let change = |json: &str| serde_json::from_str::<SettingsChange>(json).unwrap_or_else(|e| panic!("{e}"));
        let next = stored.apply(change(r#"{"syncMinutes":30,"hideBelow":"1.234,5"}"#), ',').unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((next.sync_minutes, next.hide_below.as_str()), (30, "1234.5"));
        assert_eq!(next.apply(change(r#"{"hideBelow":"  "}"#), '.').map(|s| s.hide_below), Ok(String::new()));
        assert!(stored.apply(change(r#"{"syncMinutes":7}"#), '.').is_err());
        assert!(stored.apply(change(r#"{"autoLockMinutes":30}"#), '.').is_err());
        assert_eq!(stored.apply(change(r#"{"hideBelow":"0"}"#), '.'), Err(Error::InvalidInput { field: "threshold" }));
        assert_eq!(stored.apply(change(r#"{"quote":"$$"}"#), '.'), Err(Error::InvalidInput { field: "quote" }));
        assert!(serde_json::from_str::<SettingsChange>(r#"{"badge":"sparkles"}"#).is_err());
    }
}
