//! Past prices in the display currency, for valuing transactions: each asset walks the route today's
//! tickers give it (the same one-price rule as [`crate::valuation`]), on the daily closes of the
//! books along it.
//!
//! Closes are fetched from the connected exchanges' public candles
//! ([`crate::exchange::Exchange::daily_closes`]) and kept on the device, one series per book, under
//! `closes:<exchange>:<market>` as JSON text `{"v":1,"from":<day>,"closes":["1.5",null,…]}`: the
//! close of each day from `from` (days since 1970-01-01, UTC), `null` where the exchange had none.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    calendar::day_of,
    error::{Error, Result},
    exchange::{DailyClose, Ticker},
    exchange_id::ExchangeId,
    money::{Exact as _, plain_string},
    valuation::routes_to,
};

/// The stored format's version.
pub const FORMAT: u32 = 1;

/// Where a book's closes are stored.
pub const STORAGE_PREFIX: &str = "closes:";

/// How far back a missing day may borrow the close of an earlier one (a market closed for a day,
/// a day the exchange did not report).
const LOOK_BACK_DAYS: u64 = 7;

/// The longest series kept: from Bitcoin's early exchange days to now, with room.
const MAX_DAYS: usize = 8_000;

/// Kraken's fee credits: 100 KFEE are worth 1 US dollar
/// (<https://support.kraken.com/hc/en-us/articles/204799657>).
const KFEE: &str = "kfee";

/// One book of a route, walked from its base to its quote (or back, `inverse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The book's id, `exchange:market`.
    pub book: String,
    /// Walked from quote to base: the price divides.
    pub inverse: bool,
}

/// How each asset reaches the display currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// The display currency.
    pub quote: String,
    /// Each asset's books, from the asset to the display currency.
    pub assets: BTreeMap<String, Vec<Hop>>,
}

/// The routes today's `tickers` give `assets` into `quote`. Kraken's fee credits take the US
/// dollar's route.
pub fn routes(quote: &str, tickers: &[Ticker], assets: &[String]) -> Routes {
    let found = routes_to(quote, tickers);
    let by_book: BTreeMap<&str, &Ticker> = tickers.iter().map(|ticker| (ticker.book.as_str(), ticker)).collect();
    let mut out = Routes { quote: quote.to_owned(), assets: BTreeMap::new() };
    for asset in assets.iter().map(String::as_str).chain([(assets.iter().any(|a| a == KFEE)).then_some("usd")].into_iter().flatten()) {
        let Some(route) = found.get(asset) else { continue };
        let mut at = asset;
        let mut hops = Vec::new();
        for book in &route.books {
            let Some(ticker) = by_book.get(book) else { break };
            let inverse = ticker.base != at;
            at = if inverse { &ticker.base } else { &ticker.quote };
            hops.push(Hop { book: (*book).to_owned(), inverse });
        }
        if at == quote {
            out.assets.insert(asset.to_owned(), hops);
        }
    }
    out
}

/// One book's closes, day by day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// The format version, [`FORMAT`].
    pub v: u32,
    /// The day of the first close.
    pub from: u64,
    /// Each day's close from `from` on.
    pub closes: Vec<Option<Close>>,
}

/// A close, stored as a plain decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Close(#[serde(with = "plain_string")] pub Decimal);

impl Series {
    /// Reads a stored series.
    pub fn read(text: &str) -> Result<Series> {
        let series: Series = serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "closes" })?;
        if series.v != FORMAT || series.closes.len() > MAX_DAYS {
            return Err(Error::InvalidInput { field: "closes" });
        }
        Ok(series)
    }

    /// The series as stored.
    pub fn write(&self) -> String {
        // Integers and decimal strings always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The last day the series covers, if any.
    pub fn to(&self) -> Option<u64> {
        (!self.closes.is_empty()).then(|| self.from + self.closes.len() as u64 - 1)
    }

    /// Adds fetched closes for days `from..=to` (days the exchange did not report become `null`,
    /// so they are not asked for again); keeps at most `MAX_DAYS` (8,000), the newest.
    pub fn merge(&mut self, from: u64, to: u64, closes: &[DailyClose]) {
        if to < from {
            return;
        }
        let start = if self.closes.is_empty() { from } else { self.from.min(from) };
        let end = self.to().map_or(to, |known| known.max(to));
        let Ok(length) = usize::try_from(end - start + 1) else { return };
        let mut merged: Vec<Option<Close>> = vec![None; length];
        for (i, close) in self.closes.iter().enumerate() {
            if let Some(slot) = merged.get_mut((self.from - start) as usize + i) {
                *slot = *close;
            }
        }
        for close in closes.iter().filter(|close| (from..=to).contains(&close.day) && close.close > Decimal::ZERO) {
            if let Some(slot) = merged.get_mut((close.day - start) as usize) {
                *slot = Some(Close(close.close));
            }
        }
        let keep_from = merged.len().saturating_sub(MAX_DAYS);
        self.v = FORMAT;
        self.from = start + keep_from as u64;
        self.closes = merged.split_off(keep_from);
    }

    /// The close of `day`, or of the nearest day before it within `LOOK_BACK_DAYS` (7).
    pub fn close(&self, day: u64) -> Option<Decimal> {
        (0..=LOOK_BACK_DAYS).filter_map(|back| day.checked_sub(back)).find_map(|day| {
            let index = usize::try_from(day.checked_sub(self.from)?).ok()?;
            self.closes.get(index).copied().flatten().map(|close| close.0)
        })
    }
}

/// What is missing of a book's series to cover `from..=to`: at most two ranges, before and after
/// what is stored.
pub fn missing(series: Option<&Series>, from: u64, to: u64) -> Vec<(u64, u64)> {
    let Some(known) = series.filter(|series| !series.closes.is_empty()) else { return vec![(from, to)] };
    let known_to = known.to().unwrap_or(known.from);
    let mut ranges = Vec::new();
    if from < known.from {
        ranges.push((from, (known.from - 1).min(to)));
    }
    if to > known_to {
        ranges.push(((known_to + 1).max(from), to));
    }
    ranges
}

/// The exchange and market of a book id (`kraken:XXBTZUSD`).
pub fn book_parts(book: &str) -> Option<(ExchangeId, &str)> {
    let (exchange, market) = book.split_once(':')?;
    Some((ExchangeId::parse(exchange)?, market))
}

/// Past prices, from routes and the stored series of their books.
pub struct PriceBook<'a> {
    routes: &'a Routes,
    series: &'a BTreeMap<String, Series>,
}

impl<'a> PriceBook<'a> {
    /// Prices along `routes` from `series` (by book id).
    pub fn new(routes: &'a Routes, series: &'a BTreeMap<String, Series>) -> Self {
        Self { routes, series }
    }

    /// The price of one unit of `asset` in the display currency on the day of `at_ms`.
    pub fn price_at(&self, asset: &str, at_ms: u64) -> Option<Decimal> {
        if asset == self.routes.quote {
            return Some(Decimal::ONE);
        }
        if asset == KFEE {
            let dollar = self.price_at("usd", at_ms)?;
            return dollar.checked_div(Decimal::ONE_HUNDRED);
        }
        let day = day_of(at_ms);
        let mut price = Decimal::ONE;
        for hop in self.routes.assets.get(asset)? {
            let close = self.series.get(&hop.book)?.close(day)?;
            price = if hop.inverse { price.checked_div(close)? } else { price.times(close)? };
        }
        Some(price.round_dp(12))
    }
}

#[cfg(test)]
mod tests;
