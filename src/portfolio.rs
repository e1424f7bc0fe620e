//! Adds balances up across accounts and exchanges and values them: the snapshot the popup paints.
//!
//! Accounts (two Bitso keys, a Kraken and a Binance account) add up per asset, and each account
//! keeps its own subtotal; every asset has one price (see [`crate::valuation`]), so an asset row
//! is the sum of what each account holds of it, and the rows and the accounts both add up to the
//! total. Assets with no route to the quote currency are listed apart and never counted as zero.
//! Zero balances are left out.
//!
//! All arithmetic is checked. An account whose amounts cannot be added up or valued (a hostile or
//! broken answer near `Decimal::MAX`) is left out of the totals and carries
//! [`Error::AmountOverflow`]; the other accounts are unaffected, and nothing panics.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, ErrorView},
    exchange::{Balance, Ticker},
    exchange_id::ExchangeId,
    money::{Exact as _, plain_string},
    valuation::{Route, routes_to},
};

/// Shares and 24-hour changes are shown with two decimals.
const PERCENT_DECIMALS: u32 = 2;

/// One account's balances as fetched (or as last known, when this fetch failed).
#[derive(Debug, Clone)]
pub struct AccountBalances<'a> {
    /// The account's id in the vault.
    pub id: &'a str,
    /// The user's name for it.
    pub label: &'a str,
    /// Which exchange holds it; `None` for the holdings the user typed in.
    pub exchange: Option<ExchangeId>,
    /// Its balances.
    pub balances: &'a [Balance],
    /// When these balances were fetched, in ms since the epoch; `None` if never.
    pub synced_at: Option<u64>,
    /// Why this refresh could not update it, if it could not.
    pub error: Option<ErrorView>,
}

/// Everything the popup shows, valued in one quote currency.
///
/// Stored as JSON; a member an older version did not write takes its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The quote currency (`mxn`).
    pub quote: String,
    /// Sum of every priced asset's value.
    #[serde(with = "plain_string")]
    pub total: Decimal,
    /// When the snapshot was made, in ms since the epoch.
    pub updated_at: u64,
    /// When the oldest price used was computed by the exchange.
    #[serde(default)]
    pub prices_at: Option<String>,
    /// True when only prices were fetched (Cartera was locked): the balances are the last known.
    #[serde(default)]
    pub prices_only: bool,
    /// The whole portfolio's change over 24 hours in percent, two decimals, from each asset's 24-hour
    /// change (assets without one counted as unchanged); `None` when no asset has one.
    #[serde(default, with = "plain_string::option")]
    pub change24h: Option<Decimal>,
    /// Exchanges whose public prices valued something although no account is on them (Bitso's
    /// peso books for a Kraken-only user valuing in MXN): said under the total.
    #[serde(default)]
    pub bridges: Vec<ExchangeId>,
    /// Priced assets, largest value first.
    #[serde(default)]
    pub assets: Vec<AssetRow>,
    /// Assets without a price in the quote currency.
    #[serde(default)]
    pub unpriced: Vec<UnpricedRow>,
    /// Per-account subtotals and the balances behind them.
    #[serde(default)]
    pub accounts: Vec<AccountSummary>,
    /// Currencies this portfolio can be valued in.
    #[serde(default)]
    pub quotes: Vec<String>,
    /// What one unit of the quote currency is worth in US dollars (history keeps it, so past values
    /// can be shown in dollars after the display currency changes); `None` without a route.
    #[serde(default, with = "plain_string::option")]
    pub usd_rate: Option<Decimal>,
    /// The largest 24-hour moves among the holdings.
    #[serde(default)]
    pub movers: Movers,
    /// The assets worth less than the user's "hide small balances" threshold.
    #[serde(default)]
    pub small: SmallBalances,
    /// Exchanges whose prices could not be fetched (their assets may be unpriced meanwhile).
    #[serde(default)]
    pub price_errors: Vec<ErrorView>,
}

/// Assets below the "hide small balances" threshold: listed apart in one line, still counted in
/// the total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmallBalances {
    /// Their codes.
    pub assets: Vec<String>,
    /// What they are worth together.
    #[serde(with = "plain_string")]
    pub total: Decimal,
}

/// The priced assets whose value is below `threshold` (none without one). An asset worth exactly
/// the threshold is shown.
pub fn small_balances<'a>(values: impl IntoIterator<Item = (&'a str, Decimal)>, threshold: Option<Decimal>) -> SmallBalances {
    let Some(threshold) = threshold.filter(|threshold| threshold.is_sign_positive() && !threshold.is_zero()) else {
        return SmallBalances::default();
    };
    let mut small = SmallBalances::default();
    for (asset, value) in values {
        if value < threshold {
            small.assets.push(asset.to_owned());
            // Each is below the threshold, so the sum of a few thousand cannot overflow.
            small.total = small.total.plus(value).unwrap_or(small.total);
        }
    }
    small
}

/// The holdings that moved most over 24 hours, dust left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movers {
    /// Up to three assets with the largest rise in percent, largest first.
    pub gainers: Vec<String>,
    /// Up to three assets with the largest fall in percent, largest fall first.
    pub losers: Vec<String>,
    /// The asset whose 24-hour move changed the total the most, in value.
    pub biggest: Option<BiggestMove>,
}

/// The asset that moved the total most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BiggestMove {
    /// Asset code.
    pub asset: String,
    /// How much its value changed over 24 hours, in the quote currency (negative for a loss).
    #[serde(with = "plain_string")]
    pub value_change: Decimal,
}

/// A holding below this share of the portfolio, in percent, is dust for the movers.
const DUST_SHARE_PERCENT: Decimal = Decimal::from_parts(5, 0, 0, false, 1);
/// How many gainers and losers are listed.
const MOVERS: usize = 3;

/// One priced asset, all accounts together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRow {
    /// Asset code (`btc`).
    pub asset: String,
    /// Amount held.
    #[serde(with = "plain_string")]
    pub total: Decimal,
    /// Amount free to use.
    #[serde(with = "plain_string")]
    pub available: Decimal,
    /// Amount held by open orders.
    #[serde(with = "plain_string")]
    pub locked: Decimal,
    /// Amount staked or earning.
    #[serde(with = "plain_string")]
    pub earning: Decimal,
    /// Price of one unit in the quote currency.
    #[serde(with = "plain_string")]
    pub price: Decimal,
    /// What it is worth: the sum of each account's `amount × price`.
    #[serde(with = "plain_string")]
    pub value: Decimal,
    /// Percent of the portfolio's total, two decimals.
    #[serde(with = "plain_string")]
    pub share: Decimal,
    /// Price change over 24 hours in percent, two decimals, when the route allows it.
    #[serde(with = "plain_string::option")]
    pub change24h: Option<Decimal>,
    /// Books used to price it, each `exchange:market`.
    pub route: Vec<String>,
}

/// An asset held but not priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnpricedRow {
    /// Asset code.
    pub asset: String,
    /// Amount held.
    #[serde(with = "plain_string")]
    pub total: Decimal,
    /// Amount free to use.
    #[serde(with = "plain_string")]
    pub available: Decimal,
    /// Amount held by open orders.
    #[serde(with = "plain_string")]
    pub locked: Decimal,
}

/// One account's subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    /// The account's id.
    pub id: String,
    /// The user's name for it.
    pub label: String,
    /// Which exchange holds it; `null` for the holdings the user typed in.
    pub exchange: Option<ExchangeId>,
    /// Value of its priced assets.
    #[serde(with = "plain_string")]
    pub total: Decimal,
    /// When its balances were fetched.
    #[serde(default)]
    pub synced_at: Option<u64>,
    /// Why the last refresh could not update it.
    #[serde(default)]
    pub error: Option<ErrorView>,
    /// Its non-zero balances, kept so a failed refresh can reuse them.
    #[serde(default)]
    pub balances: Vec<Balance>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Holding {
    total: Decimal,
    available: Decimal,
    locked: Decimal,
    earning: Decimal,
    value: Decimal,
}

impl Holding {
    fn checked_add(&self, other: &Holding) -> Option<Holding> {
        Some(Holding {
            total: self.total.plus(other.total)?,
            available: self.available.plus(other.available)?,
            locked: self.locked.plus(other.locked)?,
            earning: self.earning.plus(other.earning)?,
            value: self.value.plus(other.value)?,
        })
    }
}

/// Holdings per asset.
type Holdings<'a> = BTreeMap<&'a str, Holding>;

/// One account's holdings and its subtotal, all checked.
struct AccountValue<'a> {
    holdings: Holdings<'a>,
    total: Decimal,
}

/// Values one account's balances; `None` when anything overflows.
fn value_account<'a>(balances: &'a [Balance], routes: &BTreeMap<&str, Route<'_>>) -> Option<AccountValue<'a>> {
    let mut holdings = Holdings::new();
    let mut total = Decimal::ZERO;
    for balance in balances {
        let value = match routes.get(balance.currency.as_str()) {
            Some(route) => balance.total.times(route.price)?,
            None => Decimal::ZERO,
        };
        let this = Holding { total: balance.total, available: balance.available, locked: balance.locked, earning: balance.earning, value };
        let sum = holdings.entry(balance.currency.as_str()).or_default();
        *sum = sum.checked_add(&this)?;
        total = total.plus(value)?;
    }
    Some(AccountValue { holdings, total })
}

/// Values `accounts` in `quote` with `tickers`, at time `now_ms`.
pub fn build_snapshot(accounts: &[AccountBalances<'_>], tickers: &[Ticker], quote: &str, now_ms: u64) -> Snapshot {
    build_snapshot_hiding(accounts, tickers, quote, now_ms, None)
}

/// [`build_snapshot`], also listing the assets worth less than `hide_below` apart.
pub fn build_snapshot_hiding(
    accounts: &[AccountBalances<'_>],
    tickers: &[Ticker],
    quote: &str,
    now_ms: u64,
    hide_below: Option<Decimal>,
) -> Snapshot {
    let routes = routes_to(quote, tickers);

    let mut holdings = Holdings::new();
    let mut grand_total = Decimal::ZERO;
    let mut summaries = Vec::with_capacity(accounts.len());
    for account in accounts {
        // An account is added only when all of it fits, so the totals never hold half of one.
        let merged = value_account(account.balances, &routes).and_then(|value| {
            let sums = value
                .holdings
                .into_iter()
                .map(|(asset, holding)| {
                    let sum = holdings.get(asset).map_or(Some(holding), |known| known.checked_add(&holding))?;
                    Some((asset, sum))
                })
                .collect::<Option<Vec<_>>>()?;
            Some((value.total, grand_total.plus(value.total)?, sums))
        });
        let (total, error) = match merged {
            Some((total, new_grand_total, sums)) => {
                holdings.extend(sums);
                grand_total = new_grand_total;
                (total, account.error.clone())
            }
            None => {
                let error = match account.exchange {
                    Some(exchange) => Error::AmountOverflow { exchange },
                    None => Error::InvalidInput { field: "amount" },
                };
                (Decimal::ZERO, Some(ErrorView::new(&error, now_ms)))
            }
        };
        summaries.push(AccountSummary {
            id: account.id.to_owned(),
            label: account.label.to_owned(),
            exchange: account.exchange,
            total,
            synced_at: account.synced_at,
            error,
            balances: account.balances.iter().filter(|balance| !balance.total.is_zero()).cloned().collect(),
        });
    }

    let mut assets = Vec::new();
    let mut unpriced = Vec::new();
    let mut used_routes: Vec<&Route<'_>> = Vec::new();
    // What the same amounts were worth 24 hours ago, at the routes' prices then; an asset whose
    // route has no 24-hour figure counts as unchanged.
    let mut value_24h_ago = Some(Decimal::ZERO);
    let mut any_change = false;
    for (asset, holding) in &holdings {
        if holding.total.is_zero() {
            continue;
        }
        match routes.get(asset) {
            Some(route) => {
                used_routes.push(route);
                let then = match route.price_24h_ago {
                    Some(price) => {
                        // The quote currency's own "change" (always 0) says nothing.
                        any_change |= !route.books.is_empty();
                        holding.total.times(price)
                    }
                    None => Some(holding.value),
                };
                value_24h_ago = value_24h_ago.zip(then).and_then(|(sum, then)| sum.plus(then));
                assets.push(AssetRow {
                    asset: (*asset).to_owned(),
                    total: holding.total,
                    available: holding.available,
                    locked: holding.locked,
                    earning: holding.earning,
                    price: route.price,
                    value: holding.value,
                    share: share_percent(holding.value, grand_total),
                    change24h: route.change_24h_percent().map(round_percent),
                    route: route.books.iter().map(|book| (*book).to_owned()).collect(),
                });
            }
            None => unpriced.push(UnpricedRow {
                asset: (*asset).to_owned(),
                total: holding.total,
                available: holding.available,
                locked: holding.locked,
            }),
        }
    }
    assets.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.asset.cmp(&b.asset)));

    let books_from = |exchange: ExchangeId| {
        used_routes
            .iter()
            .flat_map(|route| route.books.iter())
            .any(|book| book.split_once(':').is_some_and(|(from, _)| from == exchange.as_str()))
    };
    let bridges = ExchangeId::ALL
        .into_iter()
        .filter(|&exchange| !accounts.iter().any(|account| account.exchange == Some(exchange)) && books_from(exchange));

    let movers = movers(&assets, &routes);
    let small = small_balances(assets.iter().map(|row| (row.asset.as_str(), row.value)), hide_below);
    Snapshot {
        quote: quote.to_owned(),
        total: grand_total,
        updated_at: now_ms,
        prices_at: used_routes.iter().filter_map(|route| route.oldest_ticker_at).min().map(str::to_owned),
        prices_only: false,
        change24h: value_24h_ago.filter(|_| any_change).and_then(|before| change_percent(grand_total, before)),
        bridges: bridges.collect(),
        assets,
        unpriced,
        accounts: summaries,
        quotes: quote_currencies(tickers, quote),
        // The dollar's route to the quote, inverted: the routes are already there (a second graph
        // search towards "usd" cost a third of the valuation's time).
        usd_rate: if quote == "usd" {
            Some(Decimal::ONE)
        } else {
            routes.get("usd").and_then(|route| Decimal::ONE.checked_div(route.price))
        },
        movers,
        small,
        price_errors: Vec::new(),
    }
}

/// Every currency some book is quoted in, plus the current quote: what the user may value in.
fn quote_currencies(tickers: &[Ticker], quote: &str) -> Vec<String> {
    let quotes: BTreeSet<&str> = tickers.iter().map(|ticker| ticker.quote.as_str()).chain([quote]).collect();
    quotes.into_iter().map(str::to_owned).collect()
}

/// The three largest rises and falls by percent, and the largest move in value, among holdings that
/// are not dust (below [`DUST_SHARE_PERCENT`] of the total) and have a 24-hour figure.
fn movers(assets: &[AssetRow], routes: &BTreeMap<&str, Route<'_>>) -> Movers {
    let mut moving: Vec<(&AssetRow, Decimal, Decimal)> = assets
        .iter()
        .filter(|row| row.share >= DUST_SHARE_PERCENT)
        .filter_map(|row| {
            let route = routes.get(row.asset.as_str())?;
            let percent = route.change_24h_percent()?;
            let then = row.total.times(route.price_24h_ago?)?;
            Some((row, percent, row.value.minus(then)?))
        })
        .collect();
    moving.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.asset.cmp(&b.0.asset)));
    let gainers = moving.iter().filter(|m| m.1.is_sign_positive() && !m.1.is_zero()).take(MOVERS).map(|m| m.0.asset.clone()).collect();
    let losers = moving.iter().rev().filter(|m| m.1.is_sign_negative() && !m.1.is_zero()).take(MOVERS).map(|m| m.0.asset.clone()).collect();
    let biggest = moving
        .iter()
        .filter(|m| !m.2.is_zero())
        .max_by(|a, b| a.2.abs().cmp(&b.2.abs()).then_with(|| b.0.asset.cmp(&a.0.asset)))
        .map(|m| BiggestMove { asset: m.0.asset.clone(), value_change: m.2 });
    Movers { gainers, losers, biggest }
}

/// `now / before − 1`, in percent with two decimals.
fn change_percent(now: Decimal, before: Decimal) -> Option<Decimal> {
    if before.is_zero() {
        return None;
    }
    let ratio = now.checked_div(before)?;
    Some(round_percent(ratio.minus(Decimal::ONE)?.times(Decimal::ONE_HUNDRED)?))
}

fn share_percent(value: Decimal, total: Decimal) -> Decimal {
    if total.is_zero() {
        return Decimal::ZERO;
    }
    value
        .times(Decimal::ONE_HUNDRED)
        .and_then(|scaled| scaled.checked_div(total))
        .map_or(Decimal::ZERO, round_percent)
}

fn round_percent(percent: Decimal) -> Decimal {
    percent.round_dp_with_strategy(PERCENT_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests;
