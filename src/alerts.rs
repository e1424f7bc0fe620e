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

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, ErrorCode, Result},
    money::{Exact as _, plain_string},
    portfolio::Snapshot,
};

/// No alert fires more often than this.
pub const COOLDOWN_MS: u64 = 15 * 60 * 1000;

/// The margin, in percent of the threshold, a value must move back by before an alert re-arms.
pub const DEFAULT_MARGIN_PERCENT: u32 = 1;

/// The most alerts a user keeps: far more than anyone sets up, and a damaged or hostile list
/// cannot grow storage.
pub const MAX_ALERTS: usize = 100;

/// Error codes that mean the account stopped working until the user does something.
const ACCOUNT_PROBLEMS: &[ErrorCode] = &[
    ErrorCode::InvalidCredentials,
    ErrorCode::ApiPassphraseRejected,
    ErrorCode::MissingPermission,
    ErrorCode::KeyPermissionOrIp,
    ErrorCode::KeyInactive,
    ErrorCode::IpNotAllowed,
    ErrorCode::AccountRestricted,
    ErrorCode::LocationRestricted,
];

/// The kinds of alert, as stored and as the options page offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertKind {
    /// [`Condition::PriceAbove`].
    PriceAbove,
    /// [`Condition::PriceBelow`].
    PriceBelow,
    /// [`Condition::TotalAbove`].
    TotalAbove,
    /// [`Condition::TotalBelow`].
    TotalBelow,
    /// [`Condition::Move24h`].
    Move24h,
    /// [`Condition::AccountFailing`].
    AccountFailing,
}

impl AlertKind {
    /// Every kind, in the order the options page offers them.
    pub const ALL: [AlertKind; 6] =
        [AlertKind::PriceAbove, AlertKind::PriceBelow, AlertKind::TotalAbove, AlertKind::TotalBelow, AlertKind::Move24h, AlertKind::AccountFailing];

    /// The kind's name in storage and in the locale files (`alertKind_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::PriceAbove => "priceAbove",
            AlertKind::PriceBelow => "priceBelow",
            AlertKind::TotalAbove => "totalAbove",
            AlertKind::TotalBelow => "totalBelow",
            AlertKind::Move24h => "move24h",
            AlertKind::AccountFailing => "accountFailing",
        }
    }

    /// Whether an alert of this kind names an asset.
    pub fn has_asset(self) -> bool {
        matches!(self, AlertKind::PriceAbove | AlertKind::PriceBelow | AlertKind::Move24h)
    }

    /// The member that holds its number: `threshold` (money in the alert's currency) or
    /// `percent`; `None` when it takes no number.
    pub fn number(self) -> Option<&'static str> {
        match self {
            AlertKind::PriceAbove | AlertKind::PriceBelow | AlertKind::TotalAbove | AlertKind::TotalBelow => Some("threshold"),
            AlertKind::Move24h => Some("percent"),
            AlertKind::AccountFailing => None,
        }
    }
}

/// What an alert watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// An asset's price rises to or above `threshold`.
    PriceAbove {
        /// Asset code (`btc`).
        asset: String,
        /// In the alert's currency.
        threshold: Decimal,
    },
    /// An asset's price falls to or below `threshold`.
    PriceBelow {
        /// Asset code.
        asset: String,
        /// In the alert's currency.
        threshold: Decimal,
    },
    /// The portfolio's total rises to or above `threshold`.
    TotalAbove {
        /// In the alert's currency.
        threshold: Decimal,
    },
    /// The portfolio's total falls to or below `threshold`.
    TotalBelow {
        /// In the alert's currency.
        threshold: Decimal,
    },
    /// An asset moves by `percent` or more, up or down, over 24 hours.
    Move24h {
        /// Asset code.
        asset: String,
        /// A positive percentage.
        percent: Decimal,
    },
    /// An account's key stops working.
    AccountFailing,
}

/// An alert as the user set it up. Stored flat, as [`AlertRecord`]; reading one checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AlertRecord", into = "AlertRecord")]
pub struct Alert {
    /// Its id (also the notification's id).
    pub id: String,
    /// What it watches.
    pub condition: Condition,
    /// The currency its thresholds are in (the display currency when it was made).
    pub currency: String,
    /// Paused alerts are kept but never checked.
    pub paused: bool,
}

/// An alert as stored and as the pages send it: `{ id, kind, asset?, threshold?, percent?,
/// currency, paused }`, its kind saying which of the optional members it has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRecord {
    id: String,
    kind: AlertKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    asset: Option<String>,
    #[serde(default, with = "plain_string::option", skip_serializing_if = "Option::is_none")]
    threshold: Option<Decimal>,
    #[serde(default, with = "plain_string::option", skip_serializing_if = "Option::is_none")]
    percent: Option<Decimal>,
    currency: String,
    #[serde(default)]
    paused: bool,
}

/// What an alert remembers between checks. A new alert is armed; members an older version did
/// not write take a new alert's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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
    pub code: Option<ErrorCode>,
}

/// The part of a snapshot alerts look at.
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

/// An asset of a snapshot.
#[derive(Debug, Clone)]
pub struct ObservedAsset {
    /// Asset code.
    pub asset: String,
    /// Price in the snapshot's quote currency.
    pub price: Decimal,
    /// 24-hour change in percent.
    pub change24h: Option<Decimal>,
}

/// An account of a snapshot.
#[derive(Debug, Clone)]
pub struct ObservedAccount {
    /// Account id.
    pub id: String,
    /// Its latest error's code.
    pub error: Option<ErrorCode>,
}

impl Observed {
    /// What alerts see of `snapshot`.
    pub fn of(snapshot: &Snapshot) -> Observed {
        Observed {
            quote: snapshot.quote.clone(),
            total: snapshot.total,
            assets: snapshot
                .assets
                .iter()
                .map(|row| ObservedAsset { asset: row.asset.clone(), price: row.price, change24h: row.change24h })
                .collect(),
            accounts: snapshot
                .accounts
                .iter()
                .map(|account| ObservedAccount { id: account.id.clone(), error: account.error.as_ref().map(|error| error.code) })
                .collect(),
        }
    }
}

/// Checks every alert against `observed` at time `now_ms`, updating `states` (keyed by alert
/// id; states of alerts that no longer exist are dropped) and returning what fired.
pub fn evaluate(
    alerts: &[Alert],
    states: &mut BTreeMap<String, AlertState>,
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
        let problem = account.error.filter(|code| ACCOUNT_PROBLEMS.contains(code));
        let reported = state.failing.contains(&account.id);
        match (problem, reported) {
            (Some(code), false) => {
                state.failing.push(account.id.clone());
                state.last_fired_at = Some(now_ms);
                firings.push(Firing {
                    alert_id: alert.id.clone(),
                    value: None,
                    account_id: Some(account.id.clone()),
                    code: Some(code),
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

impl TryFrom<AlertRecord> for Alert {
    type Error = Error;

    /// Refuses what could never be judged: an id, asset or currency that is not a short code, a
    /// threshold or percentage that is not positive or is missing. Members the kind does not
    /// take are ignored (and not stored again).
    fn try_from(record: AlertRecord) -> Result<Alert> {
        let invalid = || Error::InvalidInput { field: "alert" };
        let code = |text: &str, max: usize| {
            (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let id_ok = (1..=64).contains(&record.id.len()) && record.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok || !code(&record.currency, 12) {
            return Err(invalid());
        }
        let asset = || record.asset.clone().filter(|asset| code(asset, 20)).ok_or_else(invalid);
        let positive = |value: Option<Decimal>| value.filter(|value| value.is_sign_positive() && !value.is_zero()).ok_or_else(invalid);
        let condition = match record.kind {
            AlertKind::PriceAbove => Condition::PriceAbove { asset: asset()?, threshold: positive(record.threshold)? },
            AlertKind::PriceBelow => Condition::PriceBelow { asset: asset()?, threshold: positive(record.threshold)? },
            AlertKind::TotalAbove => Condition::TotalAbove { threshold: positive(record.threshold)? },
            AlertKind::TotalBelow => Condition::TotalBelow { threshold: positive(record.threshold)? },
            AlertKind::Move24h => Condition::Move24h { asset: asset()?, percent: positive(record.percent)? },
            AlertKind::AccountFailing => Condition::AccountFailing,
        };
        Ok(Alert { id: record.id, condition, currency: record.currency, paused: record.paused })
    }
}

impl From<Alert> for AlertRecord {
    fn from(alert: Alert) -> AlertRecord {
        let (kind, asset, threshold, percent) = match alert.condition {
            Condition::PriceAbove { asset, threshold } => (AlertKind::PriceAbove, Some(asset), Some(threshold), None),
            Condition::PriceBelow { asset, threshold } => (AlertKind::PriceBelow, Some(asset), Some(threshold), None),
            Condition::TotalAbove { threshold } => (AlertKind::TotalAbove, None, Some(threshold), None),
            Condition::TotalBelow { threshold } => (AlertKind::TotalBelow, None, Some(threshold), None),
            Condition::Move24h { asset, percent } => (AlertKind::Move24h, Some(asset), None, Some(percent)),
            Condition::AccountFailing => (AlertKind::AccountFailing, None, None, None),
        };
        AlertRecord { id: alert.id, kind, asset, threshold, percent, currency: alert.currency, paused: alert.paused }
    }
}

#[cfg(test)]
mod tests;
