//! The report from what storage holds: the background hands over the accounts, each account's
//! transaction chunks, the typed costs, the price routes and closes, and the snapshot of the
//! selection, as JSON text; this reads them into [`Inputs`].

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Entry, Inputs, Method, Report, report};
use crate::{
    error::{Error, Result},
    money::plain_string,
    portfolio::Snapshot,
    price_history::{PriceBook, Routes, Series},
    profile::{Account, Portfolio, manual_entry_id, portfolio_ids, portfolio_of},
    transactions::{STORAGE_PREFIX, read_chunk},
};

/// What the background sends.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    #[serde(default)]
    method: Method,
    #[serde(default)]
    year: Option<u64>,
    /// The portfolio shown; `None` for all of them.
    #[serde(default)]
    portfolio: Option<String>,
    #[serde(default)]
    accounts: Vec<Account>,
    #[serde(default)]
    portfolios: Vec<Portfolio>,
    /// Every `tx:` chunk, by storage key.
    #[serde(default)]
    chunks: BTreeMap<String, String>,
    #[serde(default)]
    routes: Option<Routes>,
    /// Every stored series, by book id.
    #[serde(default)]
    closes: BTreeMap<String, String>,
    /// Typed costs by account, then transaction id.
    #[serde(default)]
    costs: BTreeMap<String, BTreeMap<String, Cost>>,
    /// The snapshot of what is shown (the portfolio's, or everything's).
    snapshot: Snapshot,
}

#[derive(Deserialize)]
struct Cost(#[serde(with = "plain_string")] Decimal);

/// The report for what storage holds (see the module docs). A chunk that cannot be read fails the
/// report: a silently missing month would make every figure after it wrong.
pub fn report_from_storage(text: &str) -> Result<Report> {
    let stored: Stored = serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "pnl" })?;
    let ids = portfolio_ids(&stored.portfolios);
    let in_view = |portfolio: &str| stored.portfolio.as_deref().is_none_or(|shown| portfolio_of(portfolio, &ids) == shown);
    let mut selection: BTreeSet<String> =
        stored.accounts.iter().filter(|account| in_view(&account.portfolio)).map(|account| account.id.clone()).collect();
    selection.extend(ids.iter().filter(|id| in_view(id)).map(|id| manual_entry_id(id)));

    let mut entries = Vec::new();
    for (key, text) in &stored.chunks {
        let Some((account, _month)) = key.strip_prefix(STORAGE_PREFIX).and_then(|rest| rest.rsplit_once(':')) else { continue };
        let chunk = read_chunk(text)?;
        entries.extend(chunk.transactions.into_iter().map(|transaction| Entry { account: account.to_owned(), transaction }));
    }
    entries.sort_by(|a, b| {
        a.transaction.at.cmp(&b.transaction.at).then_with(|| a.account.cmp(&b.account)).then_with(|| a.transaction.id.cmp(&b.transaction.id))
    });

    let series: BTreeMap<String, Series> =
        stored.closes.iter().filter_map(|(book, text)| Some((book.clone(), Series::read(text).ok()?))).collect();
    let quote = stored.snapshot.quote.clone();
    // Routes into another currency (the display currency changed since) value nothing.
    let routes = stored.routes.filter(|routes| routes.quote == quote).unwrap_or_else(|| Routes { quote: quote.clone(), assets: BTreeMap::new() });
    let book = PriceBook::new(&routes, &series);
    let price_at = |asset: &str, at: u64| book.price_at(asset, at);

    let costs: BTreeMap<(String, String), Decimal> = stored
        .costs
        .into_iter()
        .flat_map(|(account, by_id)| by_id.into_iter().map(move |(id, cost)| ((account.clone(), id), cost.0)))
        .collect();
    let mut holdings: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for summary in &stored.snapshot.accounts {
        for balance in &summary.balances {
            *holdings.entry((summary.id.clone(), balance.currency.clone())).or_default() += balance.total;
        }
    }
    let prices_now: BTreeMap<String, Decimal> = stored.snapshot.assets.iter().map(|row| (row.asset.clone(), row.price)).collect();
    let inputs = Inputs {
        quote: &quote,
        method: stored.method,
        entries: &entries,
        selection: &selection,
        price_at: &price_at,
        costs: &costs,
        holdings: &holdings,
        prices_now: &prices_now,
        year: stored.year,
    };
    Ok(report(&inputs))
}
