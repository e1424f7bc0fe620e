//! The report from what storage holds: the background hands over the accounts and, apart, each
//! account's transaction chunks; the typed costs, the price routes and closes, and the snapshot of the
//! selection, as JSON text; this reads them into [`Inputs`].

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Entry, Inputs, Method, Report, report};
use crate::{
    error::{Error, Result},
    history::{iso_time, push_row},
    money::{plain_string, to_plain_string},
    portfolio::Snapshot,
    price_history::{PriceBook, Routes, Series},
    profile::{Account, Portfolio, manual_entry_id, portfolio_ids, portfolio_of},
    transactions::{Kind, STORAGE_PREFIX, Side, read_chunk},
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
    /// How many transactions the report lists (the newest); all of them when absent.
    #[serde(default)]
    rows: Option<usize>,
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
///
/// The transaction chunks (`tx:` storage key → the chunk's text) come apart from the rest: inside
/// one JSON text they would be escaped by the caller and read twice here, which was a third of
/// the report's time over 10,000 transactions (BENCHMARKS.md, row 13).
pub fn report_from_storage(text: &str, chunks: &BTreeMap<String, impl AsRef<str>>) -> Result<Report> {
    let stored: Stored = serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "pnl" })?;
    report_of(stored, chunks)
}

/// Which export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Every transaction of the selection, oldest first.
    Transactions,
    /// Every disposal with its proceeds, cost basis and gain, oldest first.
    RealizedGains,
}

/// The CSV export `which` of the report for what storage holds: UTF-8, `.` decimals, ISO 8601
/// times, a header row, every account by its label, fields a spreadsheet would read as a formula
/// guarded (see `history::push_row`). `typed_in` names the typed-in holdings.
pub fn csv_from_storage(text: &str, chunks: &BTreeMap<String, impl AsRef<str>>, which: Export, typed_in: &str) -> Result<String> {
    let stored: Stored = serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "pnl" })?;
    let mut labels: BTreeMap<String, String> = stored.accounts.iter().map(|account| (account.id.clone(), account.label.clone())).collect();
    for portfolio in &stored.portfolios {
        labels.insert(manual_entry_id(&portfolio.id), format!("{typed_in} ({})", portfolio.name));
    }
    // Every transaction goes out, whatever the page lists.
    let report = report_of(Stored { rows: None, ..stored }, chunks)?;
    let label = |account: &str| labels.get(account).cloned().unwrap_or_else(|| typed_in.to_owned());
    let quote = report.quote.to_ascii_uppercase();
    let mut out = String::new();
    match which {
        Export::Transactions => {
            let header = ["time", "type", "asset", "amount", &format!("price_{quote}"), &format!("fee_{quote}"), "account", "estimated", "transfer"];
            push_row(&mut out, &header.map(str::to_owned));
            for row in report.transactions.iter().rev() {
                let kind = match (row.kind, row.side) {
                    (Kind::Trade, Some(Side::Sell)) => "sell",
                    (Kind::Trade, _) => "buy",
                    (kind, _) => kind.code(),
                };
                let cells = [
                    iso_time(row.at),
                    kind.to_owned(),
                    row.asset.clone(),
                    to_plain_string(row.amount),
                    row.price.map(to_plain_string).unwrap_or_default(),
                    row.fee.map(to_plain_string).unwrap_or_default(),
                    label(&row.account),
                    yes_no(row.estimated),
                    yes_no(row.transfer),
                ];
                push_row(&mut out, &cells);
            }
        }
        Export::RealizedGains => {
            let header =
                ["time", "asset", "amount", &format!("proceeds_{quote}"), &format!("cost_basis_{quote}"), &format!("gain_{quote}"), "account"];
            push_row(&mut out, &header.map(str::to_owned));
            for disposal in &report.disposals {
                let cells = [
                    iso_time(disposal.at),
                    disposal.asset.clone(),
                    to_plain_string(disposal.amount),
                    to_plain_string(disposal.proceeds),
                    to_plain_string(disposal.cost_basis),
                    to_plain_string(disposal.gain),
                    label(&disposal.account),
                ];
                push_row(&mut out, &cells);
            }
        }
    }
    Ok(out)
}

fn yes_no(flag: bool) -> String {
    (if flag { "yes" } else { "no" }).to_owned()
}

fn report_of(stored: Stored, chunks: &BTreeMap<String, impl AsRef<str>>) -> Result<Report> {
    let ids = portfolio_ids(&stored.portfolios);
    let in_view = |portfolio: &str| stored.portfolio.as_deref().is_none_or(|shown| portfolio_of(portfolio, &ids) == shown);
    let mut selection: BTreeSet<String> =
        stored.accounts.iter().filter(|account| in_view(&account.portfolio)).map(|account| account.id.clone()).collect();
    selection.extend(ids.iter().filter(|id| in_view(id)).map(|id| manual_entry_id(id)));

    let mut entries = Vec::new();
    for (key, text) in chunks {
        let Some((account, _month)) = key.strip_prefix(STORAGE_PREFIX).and_then(|rest| rest.rsplit_once(':')) else { continue };
        let chunk = read_chunk(text.as_ref())?;
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
        rows: stored.rows,
    };
    Ok(report(&inputs))
}

#[cfg(test)]
mod tests;
