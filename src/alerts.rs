//! Alerts: conditions on the portfolio the user wants to hear about, checked after every sync.
//!
//! Each alert is a small state machine, so a price that hovers around a threshold does not make
//! a storm of notifications:
//!
//! - it **fires once** when its condition becomes true (also at the first check, if it already
//!   holds when the alert is created);
//! - it is then **disarmed** until the value moves back past the threshold by a margin (1 % by
//!   default: a "BTC above 2,000,000" alert re-arms only once BTC is below 1,980,000);
//! - it never fires more often than every [`COOLDOWN_MS`], whatever the margin;
//! - a paused alert, an alert in another currency than the portfolio's, and an asset without a
//!   price all leave it pending: nothing changes until the value can be judged again.
//!
//! "An account stops working" fires once per account per change of state: when a key is
//! refused (revoked, a permission removed, an IP restriction), and again only after that account
//! has worked in between. Passing trouble (a timeout, an outage, a rate limit) does not count.
//!
//! The extension stores alerts and their states as JSON (the shapes below), calls [`evaluate`]
//! after each sync and turns each [`Firing`] into a notification (id = the alert's id, so a
//! repeat replaces the earlier one). Thresholds are exact decimals in the alert's currency.

use litemap::LiteMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    error::{Error, Result},
    money::{Exact as _, plain_string},
    stored::{StoredValue, Value, optional, or_default},
};

/// No alert fires more often than this.
pub const COOLDOWN_MS: u64 = 15 * 60 * 1000;

/// The margin, in percent of the threshold, a value must move back by before an alert re-arms.
pub const DEFAULT_MARGIN_PERCENT: u32 = 1;

/// Error codes that mean the account stopped working until the user does something.
const ACCOUNT_PROBLEMS: &[&str] = &[
    "invalid_credentials",
    "missing_permission",
    "key_permission_or_ip",
    "key_inactive",
    "ip_not_allowed",
    "account_restricted",
    "location_restricted",
];

/// What an alert watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Condition {
    /// An asset's price rises to or above `threshold`.
    #[serde(rename_all = "camelCase")]
    PriceAbove {
        /// Asset code (`btc`).
        asset: String,
        /// In the alert's currency.
        #[serde(with = "plain_string")]
        threshold: Decimal,
    },
    /// An asset's price falls to or below `threshold`.
    #[serde(rename_all = "camelCase")]
    PriceBelow {
        /// Asset code.
        asset: String,
        /// In the alert's currency.
        #[serde(with = "plain_string")]
        threshold: Decimal,
    },
    /// The portfolio's total rises to or above `threshold`.
    #[serde(rename_all = "camelCase")]
    TotalAbove {
        /// In the alert's currency.
        #[serde(with = "plain_string")]
        threshold: Decimal,
    },
    /// The portfolio's total falls to or below `threshold`.
    #[serde(rename_all = "camelCase")]
    TotalBelow {
        /// In the alert's currency.
        #[serde(with = "plain_string")]
        threshold: Decimal,
    },
    /// An asset moves by `percent` or more, up or down, over 24 hours.
    #[serde(rename_all = "camelCase")]
    Move24h {
        /// Asset code.
        asset: String,
        /// A positive percentage.
        #[serde(with = "plain_string")]
        percent: Decimal,
    },
    /// An account's key stops working.
    AccountFailing,
}

/// An alert as the user set it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Its id (also the notification's id).
    pub id: String,
    /// What it watches.
    #[serde(flatten)]
    pub condition: Condition,
    /// The currency its thresholds are in (the display currency when it was made).
    pub currency: String,
    /// Paused alerts are kept but never checked.
    #[serde(default)]
    pub paused: bool,
}

/// What an alert remembers between checks. A new alert is armed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// False from firing until the value has moved back past the margin.
    pub armed: bool,
    /// When it last fired, ms since the epoch.
    pub last_fired_at: Option<u64>,
    /// For [`Condition::AccountFailing`]: the accounts already reported, until they work again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
}

impl Default for AlertState {
    fn default() -> Self {
        Self { armed: true, last_fired_at: None, failing: Vec::new() }
    }
}

/// One alert that fired, for a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Firing {
    /// The alert's id.
    pub alert_id: String,
    /// The value that made it fire (a price, a total or a percentage), when there is one.
    #[serde(with = "plain_string::option")]
    pub value: Option<Decimal>,
    /// The account that stopped working, for [`Condition::AccountFailing`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// That account's error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The part of a stored snapshot alerts look at.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The currency values are in.
    pub quote: String,
    /// The portfolio's total.
    pub total: Decimal,
    /// Priced assets.
    pub assets: Vec<ObservedAsset>,
    /// Accounts with their latest error, if any.
    pub accounts: Vec<ObservedAccount>,
}

/// An asset of a stored snapshot.
#[derive(Debug, Clone)]
pub struct ObservedAsset {
    /// Asset code.
    pub asset: String,
    /// Price in the snapshot's quote currency.
    pub price: Decimal,
    /// 24-hour change in percent.
    pub change24h: Option<Decimal>,
}

/// An account of a stored snapshot.
#[derive(Debug, Clone)]
pub struct ObservedAccount {
    /// Account id.
    pub id: String,
    /// Its latest error's code.
    pub error: Option<String>,
}

impl Observed {
    /// Reads a stored snapshot (`portfolio::Snapshot` as JSON); other members are skipped.
    pub fn from_json(text: &str) -> Result<Observed> {
        Value::parse(text).and_then(Observed::read).ok_or(Error::InvalidInput { field: "alert" })
    }

    fn read(snapshot: Value<'_>) -> Option<Observed> {
        let [quote, total, assets, accounts] = snapshot.pick(["quote", "total", "assets", "accounts"])?;
        let asset = |row: Value<'_>| {
            let [asset, price, change] = row.pick(["asset", "price", "change24h"])?;
            Some(ObservedAsset {
                asset: asset?.text()?,
                price: price?.plain_decimal()?,
                change24h: optional(change, StoredValue::plain_decimal)?,
            })
        };
        let account = |row: Value<'_>| {
            let [id, error] = row.pick(["id", "error"])?;
            let code = |error: Value<'_>| error.get("code")?.text();
            Some(ObservedAccount { id: id?.text()?, error: optional(error, code)? })
        };
        Some(Observed {
            quote: quote?.text()?,
            total: total?.plain_decimal()?,
            assets: or_default(assets, |rows| rows.list(asset))?,
            accounts: or_default(accounts, |rows| rows.list(account))?,
        })
    }
}

/// Checks every alert against `observed` at time `now_ms`, updating `states` (keyed by alert
/// id; states of alerts that no longer exist are dropped) and returning what fired.
pub fn evaluate(
    alerts: &[Alert],
    states: &mut LiteMap<String, AlertState>,
    observed: &Observed,
    now_ms: u64,
) -> Vec<Firing> {
    states.retain(|id, _| alerts.iter().any(|alert| &alert.id == id));
    let mut firings = Vec::new();
    for alert in alerts.iter().filter(|alert| !alert.paused) {
        let state = states.entry(alert.id.clone()).or_default();
        if let Condition::AccountFailing = alert.condition {
            firings.extend(account_failures(alert, state, observed, now_ms));
            continue;
        }
        if alert.currency != observed.quote && !matches!(alert.condition, Condition::Move24h { .. }) {
            continue;
        }
        let Some(check) = judge(&alert.condition, observed) else { continue };
        if check.holds {
            let cooled = state.last_fired_at.is_none_or(|at| now_ms.saturating_sub(at) >= COOLDOWN_MS);
            if state.armed && cooled {
                state.armed = false;
                state.last_fired_at = Some(now_ms);
                firings.push(Firing { alert_id: alert.id.clone(), value: Some(check.value), account_id: None, code: None });
            }
        } else if check.rearms {
            state.armed = true;
        }
    }
    firings
}

/// Whether a condition holds now, and whether (not holding) the value is far enough back to
/// re-arm, with the value it was judged on.
struct Check {
    value: Decimal,
    holds: bool,
    rearms: bool,
}

fn judge(condition: &Condition, observed: &Observed) -> Option<Check> {
    let price = |asset: &str| observed.assets.iter().find(|row| row.asset == asset).map(|row| row.price);
    let margin = Decimal::new(i64::from(DEFAULT_MARGIN_PERCENT), 2);
    let below = |threshold: Decimal| threshold.times(Decimal::ONE - margin);
    let above = |threshold: Decimal| threshold.times(Decimal::ONE + margin);
    match condition {
        Condition::PriceAbove { asset, threshold } => {
            let value = price(asset)?;
            Some(Check { value, holds: value >= *threshold, rearms: value <= below(*threshold)? })
        }
        Condition::PriceBelow { asset, threshold } => {
            let value = price(asset)?;
            Some(Check { value, holds: value <= *threshold, rearms: value >= above(*threshold)? })
        }
        Condition::TotalAbove { threshold } => {
            let value = observed.total;
            Some(Check { value, holds: value >= *threshold, rearms: value <= below(*threshold)? })
        }
        Condition::TotalBelow { threshold } => {
            let value = observed.total;
            Some(Check { value, holds: value <= *threshold, rearms: value >= above(*threshold)? })
        }
        Condition::Move24h { asset, percent } => {
            let value = observed.assets.iter().find(|row| &row.asset == asset)?.change24h?;
            let size = value.abs();
            Some(Check { value, holds: size >= *percent, rearms: size <= below(*percent)? })
        }
        Condition::AccountFailing => None,
    }
}

fn account_failures(alert: &Alert, state: &mut AlertState, observed: &Observed, now_ms: u64) -> Vec<Firing> {
    let mut firings = Vec::new();
    for account in &observed.accounts {
        let problem = account.error.as_deref().filter(|code| ACCOUNT_PROBLEMS.contains(code));
        let reported = state.failing.contains(&account.id);
        match (problem, reported) {
            (Some(code), false) => {
                state.failing.push(account.id.clone());
                state.last_fired_at = Some(now_ms);
                firings.push(Firing {
                    alert_id: alert.id.clone(),
                    value: None,
                    account_id: Some(account.id.clone()),
                    code: Some(code.to_owned()),
                });
            }
            // Working again: the next failure is news.
            (None, true) if account.error.is_none() => state.failing.retain(|id| id != &account.id),
            _ => {}
        }
    }
    // Accounts that no longer exist are forgotten.
    state.failing.retain(|id| observed.accounts.iter().any(|account| &account.id == id));
    firings
}

impl Alert {
    /// Reads an alert as a page sent it, refusing what could never be judged: an id, asset or
    /// currency that is not a short code, a threshold or percentage that is not positive.
    pub fn from_json(text: &str) -> Result<Alert> {
        let invalid = Error::InvalidInput { field: "alert" };
        let alert = Value::parse(text).and_then(Alert::read).ok_or(invalid.clone())?;
        let code = |text: &str, max: usize| {
            (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let id_ok = (1..=64).contains(&alert.id.len()) && alert.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let positive = |value: &Decimal| value.is_sign_positive() && !value.is_zero();
        let condition_ok = match &alert.condition {
            Condition::PriceAbove { asset, threshold } | Condition::PriceBelow { asset, threshold } => {
                code(asset, 20) && positive(threshold)
            }
            Condition::TotalAbove { threshold } | Condition::TotalBelow { threshold } => positive(threshold),
            Condition::Move24h { asset, percent } => code(asset, 20) && positive(percent),
            Condition::AccountFailing => true,
        };
        if id_ok && code(&alert.currency, 12) && condition_ok { Ok(alert) } else { Err(invalid) }
    }

    /// Reads the stored list of alerts (`[alert]`, each as [`Alert::from_json`] returned it).
    pub fn list_from_json(text: &str) -> Result<Vec<Alert>> {
        Value::parse(text).and_then(|list| list.list(Alert::read)).ok_or(Error::InvalidInput { field: "alert" })
    }

    /// An alert as stored: `{ id, kind, asset?, threshold?, percent?, currency, paused? }`.
    fn read(alert: Value<'_>) -> Option<Alert> {
        let [id, kind, asset, threshold, percent, currency, paused] =
            alert.pick(["id", "kind", "asset", "threshold", "percent", "currency", "paused"])?;
        let asset = || asset?.text();
        let threshold = || threshold?.plain_decimal();
        let condition = match &*kind?.string()? {
            "priceAbove" => Condition::PriceAbove { asset: asset()?, threshold: threshold()? },
            "priceBelow" => Condition::PriceBelow { asset: asset()?, threshold: threshold()? },
            "totalAbove" => Condition::TotalAbove { threshold: threshold()? },
            "totalBelow" => Condition::TotalBelow { threshold: threshold()? },
            "move24h" => Condition::Move24h { asset: asset()?, percent: percent?.plain_decimal()? },
            "accountFailing" => Condition::AccountFailing,
            _ => return None,
        };
        Some(Alert { id: id?.text()?, condition, currency: currency?.text()?, paused: or_default(paused, Value::boolean)? })
    }
}

impl AlertState {
    /// Reads the stored states (`{ "<alert id>": state }`). Missing members take a new alert's
    /// values, so states an older version wrote still read.
    pub fn map_from_json(text: &str) -> Option<LiteMap<String, AlertState>> {
        Value::parse(text)?.map(AlertState::read)
    }

    fn read(state: Value<'_>) -> Option<AlertState> {
        let [armed, last_fired_at, failing] = state.pick(["armed", "lastFiredAt", "failing"])?;
        Some(AlertState {
            armed: match armed {
                None => true,
                Some(armed) => armed.boolean()?,
            },
            last_fired_at: optional(last_fired_at, Value::unsigned)?,
            failing: or_default(failing, |ids| ids.list(StoredValue::text))?,
        })
    }
}

#[cfg(test)]
mod tests;
