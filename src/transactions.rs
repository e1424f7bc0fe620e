//! An account's transaction history, normalized: every trade, conversion, deposit, withdrawal,
//! fee and reward an exchange reports, as one append-only list of [`Transaction`]s that the cost
//! basis ([`crate::pnl`]) is computed from.
//!
//! Each adapter reads its exchange's history (a ledger wherever the exchange keeps one) one page
//! at a time ([`crate::exchange::Exchange::history`]): a page is a few requests, and ends with a
//! [`HistoryPage`] holding the transactions it found and the cursor to go on from. The background
//! stores both after every page, so an import survives the service worker being stopped and
//! resumes where it was; once caught up, the same cursor fetches only what is new.
//!
//! # Amounts
//!
//! Every amount is positive; the field says the direction. `received` is what the account was
//! credited before any fee, `sent` what it gave (a withdrawal: what left, without its fee), and
//! `fee` what the exchange or the network took, in whatever asset it was taken. So the account's
//! balance of an asset moved by `received − sent − fee` of that asset.
//!
//! # Stored format, version 1
//!
//! `storage.local` keeps each account's transactions by month of their time, under
//! `tx:<account id>:<YYYY-MM>`, as JSON text `{"v":1,"transactions":[…]}`, each one
//!
//! ```text
//! {"id":"ledger:c4ca42","at":1700000000000,"kind":"trade","side":"buy",
//!  "received":{"asset":"btc","amount":"0.1"},"sent":{"asset":"mxn","amount":"50000"},
//!  "fee":{"asset":"mxn","amount":"25"}}
//! ```
//!
//! `id` is the exchange's own id, prefixed by the source it came from, unique within the account
//! (the key that stops a page read twice from counting twice); `at` is ms since the epoch. The
//! members absent for a kind are left out. Transactions a user typed in (a buy elsewhere, a gift)
//! have ids that start with `manual:`.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    asset::{asset_code, is_asset_code},
};

/// The stored format's version.
pub const FORMAT: u32 = 1;

/// Where an account's transactions of one month are stored.
pub const STORAGE_PREFIX: &str = "tx:";

/// The most transactions one page may bring: far above any exchange's page size, low enough that
/// a hostile answer cannot make storage balloon.
pub const MAX_PER_PAGE: usize = 5_000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// One asset for another: a trade, a conversion, an app purchase or sale.
    Trade,
    /// Funds that arrived from outside the account.
    Deposit,
    /// Funds that left the account.
    Withdrawal,
    /// Staking, Earn, airdrops, fee credits granted: income at its market value.
    Reward,
    /// A fee charged apart from any trade (a separate ledger row, a listing fee).
    Fee,
}

impl Kind {
    /// The code the pages show it by (`txKind_trade` in the locale files).
    pub fn code(self) -> &'static str {
        match self {
            Kind::Trade => "trade",
            Kind::Deposit => "deposit",
            Kind::Withdrawal => "withdrawal",
            Kind::Reward => "reward",
            Kind::Fee => "fee",
        }
    }
}

/// In a trade of one asset for another, which one the order was for: the fee adds to the cost of
/// what was bought on a buy, and lowers the proceeds of what was sold on a sell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    /// `received` was bought with `sent` (and a conversion, which has no side of its own).
    #[default]
    Buy,
    /// `sent` was sold for `received`.
    Sell,
}

/// A positive amount of one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    /// Cartera's asset code (`btc`).
    pub asset: String,
    /// More than zero.
    #[serde(with = "crate::money::plain_string")]
    pub amount: Decimal,
}

impl Amount {
    /// `amount` of `asset`, the code checked as every asset code is ([`asset_code`]).
    pub fn new(asset: &str, amount: Decimal) -> Result<Self> {
        let asset = asset_code(asset)?;
        if amount <= Decimal::ZERO {
            return Err(Error::InvalidInput { field: "amount" });
        }
        Ok(Self { asset, amount })
    }
}

/// One event of an account's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// The exchange's id, prefixed by its source; unique within the account.
    pub id: String,
    /// When it happened, ms since the epoch.
    pub at: u64,
    /// What happened.
    pub kind: Kind,
    /// For trades: which asset the order was for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// What the account was credited, before any fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<Amount>,
    /// What the account gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Amount>,
    /// What was taken as a fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Amount>,
}

impl Transaction {
    /// Refuses what the cost basis could not use: an id that is empty or too long, or legs that do
    /// not fit the kind (a trade needs both sides, a deposit only what arrived, …).
    pub fn check(&self) -> Result<()> {
        let invalid = Error::InvalidInput { field: "transaction" };
        if self.id.is_empty() || self.id.len() > 128 || self.id.chars().any(char::is_control) {
            return Err(invalid);
        }
        let legs = (self.received.is_some(), self.sent.is_some(), self.fee.is_some());
        let fits = match self.kind {
            Kind::Trade => legs.0 && legs.1,
            Kind::Deposit | Kind::Reward => legs.0 && !legs.1,
            Kind::Withdrawal => !legs.0 && legs.1,
            Kind::Fee => !legs.0 && !legs.1 && legs.2,
        };
        let side_fits = self.side.is_none() || self.kind == Kind::Trade;
        let checked = [&self.received, &self.sent, &self.fee]
            .into_iter()
            .flatten()
            .all(|leg| is_asset_code(&leg.asset) && leg.amount > Decimal::ZERO);
        if fits && side_fits && checked { Ok(()) } else { Err(invalid) }
    }

    /// How this transaction moved the account's balances, leg by leg: what was received adds,
    /// what was sent and the fee take away.
    pub fn balance_legs(&self) -> impl Iterator<Item = (&str, Decimal)> {
        let received = self.received.iter().map(|leg| (leg.asset.as_str(), leg.amount));
        let outgoing = self.sent.iter().chain(&self.fee).map(|leg| (leg.asset.as_str(), -leg.amount));
        received.chain(outgoing)
    }

    /// The legs netted per asset; `None` when a sum overflows.
    #[cfg(test)]
    pub fn balance_changes(&self) -> Option<BTreeMap<&str, Decimal>> {
        let mut changes: BTreeMap<&str, Decimal> = BTreeMap::new();
        for (asset, change) in self.balance_legs() {
            let sum = changes.entry(asset).or_default();
            *sum = sum.checked_add(change)?;
        }
        Some(changes)
    }
}

/// One page of an account's history, as an adapter read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// What the page found, oldest first where the exchange says.
    pub transactions: Vec<Transaction>,
    /// Where to go on from: the adapter's own state, stored as it is and handed back.
    pub cursor: String,
    /// Nothing more to fetch now: the next page is worth asking for at the next sync only.
    pub caught_up: bool,
    /// Rows read so far in this import, for the progress shown ("300 of about 1,250").
    pub read: u64,
    /// How many rows the exchange says there are, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// How long to wait before the next page, ms: the exchange's limits, paced.
    pub wait_ms: u64,
}

/// One month's stored transactions: `{"v":1,"transactions":[…]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// The format version, [`FORMAT`].
    pub v: u32,
    /// The month's transactions, by time.
    pub transactions: Vec<Transaction>,
}

/// The storage key of `account`'s transactions in the month of `at_ms` (`tx:<id>:YYYY-MM`).
pub fn chunk_key(account: &str, at_ms: u64) -> String {
    let (year, month, _) = crate::calendar::civil(at_ms);
    format!("{STORAGE_PREFIX}{account}:{year:04}-{month:02}")
}

/// Adds `page` to `account`'s stored chunks (`stored`: key → JSON text of the chunks this page
/// touches, absent when new), each transaction once by id, and returns the chunks to write. A
/// transaction that fails [`Transaction::check`] refuses the whole page: storing part of a page
/// would leave a hole the cursor has already passed.
pub fn merge_page(account: &str, page: &[Transaction], stored: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut chunks: BTreeMap<String, Chunk> = BTreeMap::new();
    for transaction in page {
        transaction.check()?;
        let key = chunk_key(account, transaction.at);
        let chunk = match chunks.entry(key) {
            std::collections::btree_map::Entry::Occupied(slot) => slot.into_mut(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                let existing = match stored.get(slot.key()) {
                    Some(text) => read_chunk(text)?,
                    None => Chunk { v: FORMAT, transactions: Vec::new() },
                };
                slot.insert(existing)
            }
        };
        if !chunk.transactions.iter().any(|known| known.id == transaction.id) {
            chunk.transactions.push(transaction.clone());
        }
    }
    Ok(chunks
        .into_iter()
        .map(|(key, mut chunk)| {
            chunk.transactions.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
            (key, write_chunk(&chunk))
        })
        .collect())
}

/// Reads one stored chunk; a newer format or damage is refused.
pub fn read_chunk(text: &str) -> Result<Chunk> {
    let chunk: Chunk = serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "transactions" })?;
    if chunk.v != FORMAT {
        return Err(Error::InvalidInput { field: "transactions" });
    }
    chunk.transactions.iter().try_for_each(Transaction::check)?;
    Ok(chunk)
}

/// A trade the user typed in (bought or sold `amount` of `asset` at `price` per unit, paying
/// `fee`, both in `quote`), as the transaction stored with the account's own: its id is
/// `manual:<id>` so no import can collide with it. The total is worked out here, exactly.
#[derive(Debug, Clone)]
pub struct TypedTrade {
    /// Unique among the user's typed transactions (the background makes it).
    pub id: String,
    /// When, ms since the epoch.
    pub at: u64,
    /// Bought or sold.
    pub side: Side,
    /// What was bought or sold.
    pub asset: String,
    /// How much of it.
    pub amount: Decimal,
    /// What one unit cost, in `quote`.
    pub price: Decimal,
    /// The fee, in `quote`; zero for none.
    pub fee: Decimal,
    /// The currency the price and fee are in.
    pub quote: String,
}

/// The prefix of typed transactions' ids.
pub const TYPED_PREFIX: &str = "manual:";

impl TypedTrade {
    /// The stored transaction; refuses a zero or negative amount or price, a negative fee, the
    /// asset being the quote itself, and totals too large to hold exactly.
    pub fn transaction(&self) -> Result<Transaction> {
        let asset = asset_code(&self.asset)?;
        let quote = asset_code(&self.quote)?;
        if asset == quote {
            return Err(Error::InvalidInput { field: "asset" });
        }
        if self.price <= Decimal::ZERO {
            return Err(Error::InvalidInput { field: "price" });
        }
        if self.fee < Decimal::ZERO {
            return Err(Error::InvalidInput { field: "fee" });
        }
        let total = self.amount.checked_mul(self.price).ok_or(Error::InvalidInput { field: "amount" })?;
        let coin = Amount::new(&asset, self.amount)?;
        let money = Amount::new(&quote, total)?;
        let (received, sent) = match self.side {
            Side::Buy => (coin, money),
            Side::Sell => (money, coin),
        };
        let fee = (self.fee > Decimal::ZERO).then(|| Amount::new(&quote, self.fee)).transpose()?;
        let transaction = Transaction {
            id: format!("{TYPED_PREFIX}{}", self.id),
            at: self.at,
            kind: Kind::Trade,
            side: Some(self.side),
            received: Some(received),
            sent: Some(sent),
            fee,
        };
        transaction.check()?;
        Ok(transaction)
    }
}

/// `text` (a stored chunk) without the typed-in transaction `id`: `None` when nothing is left,
/// the chunk as it was when it does not hold it. Only typed-in transactions can be removed: an
/// imported one would come back with the next import.
pub fn without_typed(text: &str, id: &str) -> Result<Option<String>> {
    if !id.starts_with(TYPED_PREFIX) {
        return Err(Error::InvalidInput { field: "transaction" });
    }
    let mut chunk = read_chunk(text)?;
    chunk.transactions.retain(|transaction| transaction.id != id);
    Ok((!chunk.transactions.is_empty()).then(|| write_chunk(&chunk)))
}

/// What the stored transactions need past prices for: every asset they move and the first day
/// (days since the epoch) any of them happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// Asset codes, sorted.
    pub assets: BTreeSet<String>,
    /// The earliest day, or `None` without transactions.
    pub first_day: Option<u64>,
}

/// The [`Span`] of `chunks` (storage key → JSON text); keys that are not transaction chunks are
/// ignored, and a chunk that cannot be read is refused (a missing month would start too late).
pub fn span(chunks: &BTreeMap<String, String>) -> Result<Span> {
    let mut span = Span::default();
    for text in chunks.iter().filter(|(key, _)| key.starts_with(STORAGE_PREFIX)).map(|(_, text)| text) {
        for transaction in read_chunk(text)?.transactions {
            let day = crate::calendar::day_of(transaction.at);
            span.first_day = Some(span.first_day.map_or(day, |first| first.min(day)));
            for leg in [transaction.received, transaction.sent, transaction.fee].into_iter().flatten() {
                span.assets.insert(leg.asset);
            }
        }
    }
    Ok(span)
}

/// The JSON text of a chunk.
pub fn write_chunk(chunk: &Chunk) -> String {
    // Strings, integers and enums always serialise.
    serde_json::to_string(chunk).unwrap_or_default()
}

#[cfg(test)]
mod tests;
