//! Adds balances up across accounts and values them: the snapshot the popup paints.
//!
//! Several accounts (two Bitso keys, later other exchanges) add up per asset; each account also
//! keeps its own subtotal. Assets with no route to the quote currency are listed apart and never
//! counted as zero. Zero balances are left out.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Lang},
    exchange::{Balance, ExchangeId, Ticker},
    money::plain_string,
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
    /// Which exchange holds it.
    pub exchange: ExchangeId,
    /// Its balances.
    pub balances: &'a [Balance],
    /// When these balances were fetched, in ms since the epoch; `None` if never.
    pub synced_at: Option<u64>,
    /// Why this refresh could not update it, if it could not.
    pub error: Option<&'a Error>,
}

/// Everything the popup shows, valued in one quote currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub prices_at: Option<String>,
    /// Priced assets, largest value first.
    pub assets: Vec<AssetRow>,
    /// Assets without a price in the quote currency.
    pub unpriced: Vec<UnpricedRow>,
    /// Per-account subtotals and the balances behind them.
    pub accounts: Vec<AccountSummary>,
    /// Currencies this portfolio can be valued in.
    pub quotes: Vec<String>,
}

/// One priced asset, all accounts together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Price of one unit in the quote currency.
    #[serde(with = "plain_string")]
    pub price: Decimal,
    /// `total × price`.
    #[serde(with = "plain_string")]
    pub value: Decimal,
    /// Percent of the portfolio's total, two decimals.
    #[serde(with = "plain_string")]
    pub share: Decimal,
    /// Price change over 24 hours in percent, two decimals, when the route allows it.
    #[serde(with = "plain_string::option")]
    pub change24h: Option<Decimal>,
    /// Books used to price it.
    pub route: Vec<String>,
}

/// An asset held but not priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    /// The account's id.
    pub id: String,
    /// The user's name for it.
    pub label: String,
    /// Exchange id (`bitso`).
    pub exchange: String,
    /// Value of its priced assets.
    #[serde(with = "plain_string")]
    pub total: Decimal,
    /// When its balances were fetched.
    pub synced_at: Option<u64>,
    /// Why the last refresh could not update it.
    pub error: Option<ErrorView>,
    /// Its non-zero balances, kept so a failed refresh can reuse them.
    pub balances: Vec<Balance>,
}

/// The part of a stored snapshot that a refresh reuses: each account's last good balances.
/// Everything else in the stored JSON is ignored, so older snapshots still serve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PreviousSnapshot {
    /// The accounts as last stored.
    pub accounts: Vec<PreviousAccount>,
}

/// One account of a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousAccount {
    /// The account's id.
    pub id: String,
    /// When its balances were fetched.
    pub synced_at: Option<u64>,
    /// Its non-zero balances.
    pub balances: Vec<Balance>,
}

/// An error as stored and shown: a stable code and a message in the UI language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    /// [`Error::code`].
    pub code: String,
    /// [`Error::message`].
    pub message: String,
}

impl ErrorView {
    /// The view of `error` in `lang`.
    pub fn new(error: &Error, lang: Lang) -> Self {
        Self { code: error.code().to_owned(), message: error.message(lang) }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Holding {
    total: Decimal,
    available: Decimal,
    locked: Decimal,
}

impl Holding {
    fn add(&mut self, balance: &Balance) {
        self.total += balance.total;
        self.available += balance.available;
        self.locked += balance.locked;
    }
}

/// Values `accounts` in `quote` with `tickers`, at time `now_ms`.
pub fn build_snapshot(
    accounts: &[AccountBalances<'_>],
    tickers: &[Ticker],
    quote: &str,
    now_ms: u64,
    lang: Lang,
) -> Snapshot {
    let routes = routes_to(quote, tickers);

    // Each balance's asset is looked up once; everything after works on positions.
    let mut positions: BTreeMap<&str, usize> = BTreeMap::new();
    let mut holdings: Vec<(&str, Holding)> = Vec::new();
    let mut slots: Vec<Vec<usize>> = Vec::with_capacity(accounts.len());
    for account in accounts {
        let mut account_slots = Vec::with_capacity(account.balances.len());
        for balance in account.balances {
            let asset = balance.currency.as_str();
            let slot = *positions.entry(asset).or_insert_with(|| {
                holdings.push((asset, Holding::default()));
                holdings.len() - 1
            });
            if let Some((_, holding)) = holdings.get_mut(slot) {
                holding.add(balance);
            }
            account_slots.push(slot);
        }
        slots.push(account_slots);
    }
    let prices: Vec<Option<&Route<'_>>> = holdings.iter().map(|(asset, _)| routes.get(asset)).collect();

    let mut total = Decimal::ZERO;
    let mut assets = Vec::new();
    let mut unpriced = Vec::new();
    let mut used_routes: Vec<&Route<'_>> = Vec::new();
    for ((asset, holding), route) in holdings.iter().zip(&prices) {
        if holding.total.is_zero() {
            continue;
        }
        let priced = route.and_then(|route| Some((route, holding.total.checked_mul(route.price)?)));
        match priced {
            Some((route, value)) => {
                total += value;
                used_routes.push(route);
                assets.push(AssetRow {
                    asset: (*asset).to_owned(),
                    total: holding.total,
                    available: holding.available,
                    locked: holding.locked,
                    price: route.price,
                    value,
                    share: Decimal::ZERO,
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
    for row in &mut assets {
        row.share = share_percent(row.value, total);
    }
    assets.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.asset.cmp(&b.asset)));
    unpriced.sort_by(|a, b| a.asset.cmp(&b.asset));

    Snapshot {
        quote: quote.to_owned(),
        total,
        updated_at: now_ms,
        prices_at: used_routes.iter().filter_map(|route| route.oldest_ticker_at).min().map(str::to_owned),
        assets,
        unpriced,
        accounts: accounts
            .iter()
            .zip(&slots)
            .map(|(account, account_slots)| summarize(account, account_slots, &prices, lang))
            .collect(),
        quotes: quote_currencies(tickers, quote),
    }
}

/// `slots[j]` is the position, in `prices`, of the asset of the account's balance `j`.
fn summarize(account: &AccountBalances<'_>, slots: &[usize], prices: &[Option<&Route<'_>>], lang: Lang) -> AccountSummary {
    let total = account
        .balances
        .iter()
        .zip(slots)
        .filter_map(|(balance, &slot)| balance.total.checked_mul(prices.get(slot).copied().flatten()?.price))
        .fold(Decimal::ZERO, |sum, value| sum + value);
    AccountSummary {
        id: account.id.to_owned(),
        label: account.label.to_owned(),
        exchange: account.exchange.as_str().to_owned(),
        total,
        synced_at: account.synced_at,
        error: account.error.map(|error| ErrorView::new(error, lang)),
        balances: account.balances.iter().filter(|balance| !balance.total.is_zero()).cloned().collect(),
    }
}

/// Every currency some book is quoted in, plus the current quote: what the user may value in.
fn quote_currencies(tickers: &[Ticker], quote: &str) -> Vec<String> {
    let mut quotes: BTreeSet<&str> = tickers.iter().map(|ticker| ticker.quote.as_str()).collect();
    quotes.insert(quote);
    quotes.into_iter().map(str::to_owned).collect()
}

fn share_percent(value: Decimal, total: Decimal) -> Decimal {
    if total.is_zero() {
        return Decimal::ZERO;
    }
    value
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|scaled| scaled.checked_div(total))
        .map_or(Decimal::ZERO, round_percent)
}

fn round_percent(percent: Decimal) -> Decimal {
    percent.round_dp_with_strategy(PERCENT_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests;
