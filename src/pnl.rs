//! Profit and loss against what was paid: cost basis by average cost or FIFO, realized and
//! unrealized P&L, income and fees, from the accounts' transaction histories, exact in the
//! display currency.
//!
//! # The rules
//!
//! Assets are pooled per asset across the accounts of the selection (a portfolio, or all of them).
//! Money in the display currency is money, not an asset; any other currency is an asset like the
//! rest (its P&L is the exchange-rate effect).
//!
//! - A **trade** of `sent` for `received` is worth `V`: the value of what was paid on a buy, of
//!   what came in on a sell (the side the market quotes it in), or of the other side when that
//!   cannot be priced. Its fee is worth `F`. On a **buy** (a conversion counts
//!   as one) what was received costs `V + F`, or `V` when the fee was taken from it (then fewer
//!   units arrived); on a **sell** what was sent brings `V − F` unless the fee was taken from it
//!   (then more units left). A fee in a third asset (BNB, KFEE) is also a disposal of that asset at
//!   `F`. Each disposal realizes its proceeds minus the basis of what left.
//! - A **transfer** between accounts (a withdrawal matched to a deposit of the same asset on another
//!   account, no larger, within [`TRANSFER_WINDOW_MS`] after it) is no sale: the coins keep their
//!   basis (and under FIFO their lots and dates). What did not arrive is a network fee: it leaves
//!   at its basis, counted as realized and under fees.
//! - A **deposit from outside** is acquired at its market value at that time and marked
//!   estimated, unless the user typed what was really paid. Without a price it is not counted at
//!   all (it stays unexplained): never a cost of zero.
//! - A **withdrawal to outside** takes its basis with it: no P&L. Its fee leaves at its basis.
//! - A **reward** is income at its market value when received, which is then its basis.
//! - A **fee** on its own leaves at its basis, realized as a loss and counted under fees.
//!
//! **Reconciliation.** For every asset, what the history explains is compared with what is held
//! now. The part history does not explain has no cost and is left out of unrealized P&L; a
//! disposal of more than history explains realizes only the part it explains.
//!
//! Realized P&L, unrealized P&L and income together are the whole gain; the fees line says how
//! much of it went to fees (at market value when it can be priced, else at basis).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    calendar::civil,
    money::{Exact as _, plain_string},
    transactions::{Amount, Kind, Side, Transaction},
};

/// How long after a withdrawal a deposit of the same coins may arrive and still be its transfer.
pub const TRANSFER_WINDOW_MS: u64 = 72 * 60 * 60 * 1000;

/// Decimal places kept in computed amounts of money, so repeated divisions stay exact enough and
/// small (28 significant digits is a decimal's limit).
const SCALE: u32 = 12;

/// How the basis of what leaves is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Method {
    /// Every unit of an asset costs the pool's average.
    #[default]
    AverageCost,
    /// The oldest units leave first, each with its own cost.
    Fifo,
}

/// One transaction of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The account (or typed-in holding) it belongs to.
    pub account: String,
    /// What happened.
    pub transaction: Transaction,
}

/// Everything a report is computed from.
pub struct Inputs<'a> {
    /// The display currency (`mxn`).
    pub quote: &'a str,
    /// Average cost or FIFO.
    pub method: Method,
    /// Every account's transactions (all accounts: transfers from outside the selection bring
    /// their basis along).
    pub entries: &'a [Entry],
    /// The accounts whose assets are pooled.
    pub selection: &'a BTreeSet<String>,
    /// The price of one unit of an asset in the display currency at a time (ms); `None` when it
    /// cannot be had.
    pub price_at: &'a dyn Fn(&str, u64) -> Option<Decimal>,
    /// What the user typed as really paid for a received amount, by `(account, transaction id)`:
    /// the whole cost in the display currency.
    pub costs: &'a BTreeMap<(String, String), Decimal>,
    /// What each account of the selection holds now, by `(account, asset)`.
    pub holdings: &'a BTreeMap<(String, String), Decimal>,
    /// Each asset's price now, in the display currency.
    pub prices_now: &'a BTreeMap<String, Decimal>,
    /// The year the summary covers (`None`: all time).
    pub year: Option<u64>,
    /// How many of the newest transactions the report lists (`None`: all of them).
    pub rows: Option<usize>,
}

/// One asset's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRow {
    /// Asset code.
    pub asset: String,
    /// What the selection holds now.
    #[serde(with = "plain_string")]
    pub amount: Decimal,
    /// Of that, what history explains (and so has a cost).
    #[serde(with = "plain_string")]
    pub explained: Decimal,
    /// Cost of one explained unit.
    #[serde(with = "plain_string::option")]
    pub average_cost: Option<Decimal>,
    /// Cost of the explained units.
    #[serde(with = "plain_string")]
    pub cost_basis: Decimal,
    /// What the explained units are worth now; `None` without a price.
    #[serde(with = "plain_string::option")]
    pub value: Option<Decimal>,
    /// `value − cost_basis`.
    #[serde(with = "plain_string::option")]
    pub unrealized: Option<Decimal>,
    /// Realized on this asset, all time.
    #[serde(with = "plain_string")]
    pub realized: Decimal,
}

/// The sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Cost of every explained holding.
    #[serde(with = "plain_string")]
    pub cost_basis: Decimal,
    /// What the priced, explained holdings are worth.
    #[serde(with = "plain_string")]
    pub value: Decimal,
    /// `value − cost_basis` over the priced holdings.
    #[serde(with = "plain_string")]
    pub unrealized: Decimal,
    /// `unrealized` as a percentage of the priced holdings' cost, to two places; `None` at no cost.
    #[serde(with = "plain_string::option")]
    pub unrealized_percent: Option<Decimal>,
    /// Realized P&L.
    #[serde(with = "plain_string")]
    pub realized: Decimal,
    /// Rewards at their market value when received.
    #[serde(with = "plain_string")]
    pub income: Decimal,
    /// Fees paid.
    #[serde(with = "plain_string")]
    pub fees: Decimal,
}

/// One disposal, for the realized-gains export (which the core writes: the pages never list
/// disposals one by one, so they stay out of the report's JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposal {
    /// When, ms since the epoch.
    pub at: u64,
    /// The account it left.
    pub account: String,
    /// What left.
    pub asset: String,
    /// How much of it (the part history explains).
    pub amount: Decimal,
    /// What it brought.
    pub proceeds: Decimal,
    /// What it had cost.
    pub cost_basis: Decimal,
    /// `proceeds − cost_basis`.
    pub gain: Decimal,
}

/// One transaction as the transactions table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionRow {
    /// The account.
    pub account: String,
    /// The transaction's id within the account.
    pub id: String,
    /// When, ms since the epoch.
    pub at: u64,
    /// What happened (`trade`, `deposit`…), with `buy`/`sell` for trades.
    pub kind: Kind,
    /// For trades.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// The asset the row is about: what was bought, sold, deposited, withdrawn or charged.
    pub asset: String,
    /// How much of it.
    #[serde(with = "plain_string")]
    pub amount: Decimal,
    /// The price of one unit in the display currency at the time, when known.
    #[serde(with = "plain_string::option")]
    pub price: Option<Decimal>,
    /// The fee's value in the display currency, when there was one and it could be priced.
    #[serde(with = "plain_string::option")]
    pub fee: Option<Decimal>,
    /// A deposit from outside valued at market: its cost can be typed in.
    pub estimated: bool,
    /// A deposit from outside that could not be priced: it counts as unexplained.
    pub unpriced: bool,
    /// Moved between two of the user's accounts.
    pub transfer: bool,
}

/// What history does not explain, for one account and asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    /// The account.
    pub account: String,
    /// The asset.
    pub asset: String,
    /// What the account's history adds up to.
    #[serde(with = "plain_string")]
    pub explained: Decimal,
    /// What it holds now.
    #[serde(with = "plain_string")]
    pub held: Decimal,
}

/// The year summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct YearSummary {
    /// The year; `None` for all time.
    pub year: Option<u64>,
    /// Realized in it.
    #[serde(with = "plain_string")]
    pub realized: Decimal,
    /// Income in it.
    #[serde(with = "plain_string")]
    pub income: Decimal,
    /// Fees in it.
    #[serde(with = "plain_string")]
    pub fees: Decimal,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The display currency.
    pub quote: String,
    /// Average cost or FIFO.
    pub method: Method,
    /// One line per asset held, or realized on, largest cost basis first.
    pub rows: Vec<AssetRow>,
    /// The sums of the rows, and income and fees.
    pub total: Totals,
    /// Realized, income and fees in the chosen year.
    pub summary: YearSummary,
    /// Every year with a transaction, newest first.
    pub years: Vec<u64>,
    /// Every transaction of the selection, newest first (only the newest when the caller asks
    /// for fewer rows).
    pub transactions: Vec<TransactionRow>,
    /// How many transactions the selection has.
    pub transaction_count: usize,
    /// Every disposal, oldest first. Left out of the JSON: the realized-gains CSV is written from
    /// it here, and over 10,000 transactions it was 526 KB of the report's 639 KB.
    #[serde(skip)]
    pub disposals: Vec<Disposal>,
    /// Where history and balances disagree.
    pub mismatches: Vec<Mismatch>,
    /// Transactions that needed a price that could not be had.
    pub unpriced: usize,
}

/// Units of one asset acquired together.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lot {
    amount: Decimal,
    cost: Decimal,
    /// When the units were first acquired, ms since the epoch: a transfer keeps it, so under FIFO
    /// the coins leave in the order they were bought whichever account they sit in now.
    acquired: u64,
}

impl Lot {
    /// The first `amount` units of this lot (all of it when it is smaller), and what is left.
    fn split(self, amount: Decimal) -> (Lot, Option<Lot>) {
        if amount >= self.amount {
            return (self, None);
        }
        let cost = share(self.cost, amount, self.amount);
        let rest = Lot { amount: self.amount - amount, cost: self.cost - cost, acquired: self.acquired };
        (Lot { amount, cost, acquired: self.acquired }, Some(rest))
    }
}

/// `total × part / whole`, rounded to [`SCALE`] places; `total` when `whole` is zero.
fn share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        return total;
    }
    total.checked_mul(part).and_then(|product| product.checked_div(whole)).map_or(total, |value| value.round_dp(SCALE))
}

/// One asset's units with a known cost.
#[derive(Debug, Clone, Default)]
struct Pool {
    lots: VecDeque<Lot>,
}

impl Pool {
    fn amount(&self) -> Decimal {
        self.lots.iter().map(|lot| lot.amount).sum()
    }

    fn cost(&self) -> Decimal {
        self.lots.iter().map(|lot| lot.cost).sum()
    }

    fn add(&mut self, lot: Lot, method: Method) {
        if lot.amount <= Decimal::ZERO {
            return;
        }
        match method {
            // In order of acquisition: a lot that comes back from a transfer goes before the
            // units bought after it.
            Method::Fifo => {
                let place = self.lots.partition_point(|held| held.acquired <= lot.acquired);
                self.lots.insert(place, lot);
            }
            // One lot holds the whole pool at its average.
            Method::AverageCost => match self.lots.front_mut() {
                Some(pool) => {
                    pool.amount += lot.amount;
                    pool.cost += lot.cost;
                }
                None => self.lots.push_back(lot),
            },
        }
    }

    /// Takes up to `amount` units (the oldest first under FIFO): the lots taken, whose amounts sum
    /// to what the pool could give.
    fn take(&mut self, amount: Decimal) -> Vec<Lot> {
        let mut taken = Vec::new();
        let mut left = amount;
        while left > Decimal::ZERO {
            let Some(lot) = self.lots.pop_front() else { break };
            let (part, rest) = lot.split(left);
            left -= part.amount;
            taken.push(part);
            if let Some(rest) = rest {
                self.lots.push_front(rest);
            }
        }
        taken
    }
}

/// Adds `amount` to `key`'s sum, copying the key only the first time it is seen.
fn add_to(sums: &mut BTreeMap<String, Decimal>, key: &str, amount: Decimal) {
    match sums.get_mut(key) {
        Some(sum) => *sum += amount,
        None => {
            sums.insert(key.to_owned(), amount);
        }
    }
}

/// Sums of lots.
fn totals(lots: &[Lot]) -> (Decimal, Decimal) {
    lots.iter().fold((Decimal::ZERO, Decimal::ZERO), |(amount, cost), lot| (amount + lot.amount, cost + lot.cost))
}

/// The state of one run over the transactions.
struct Run<'a> {
    inputs: &'a Inputs<'a>,
    pools: BTreeMap<String, Pool>,
    /// Lots on their way between two accounts, by the withdrawal's index in `entries`.
    in_transit: BTreeMap<usize, Vec<Lot>>,
    /// What each transfer carried, recorded by a run over every account for runs over a part.
    carried: BTreeMap<usize, Vec<Lot>>,
    realized: BTreeMap<String, Decimal>,
    disposals: Vec<Disposal>,
    income: Vec<(u64, Decimal)>,
    fees: Vec<(u64, Decimal)>,
    rows: Vec<RowFacts<'a>>,
    unpriced: usize,
}

/// What the run learned about one transaction, for its [`TransactionRow`]: rows are written out
/// only for the transactions the report lists (the newest 500 of 10,000 on the Profit and loss
/// page): with the copies of asset names it no longer makes, the run over 10,000 transactions
/// takes a third fewer instructions (callgrind, BENCHMARKS.md row 13's data).
struct RowFacts<'a> {
    entry: &'a Entry,
    price: Option<Decimal>,
    fee: Option<Decimal>,
    estimated: bool,
    unpriced: bool,
    transfer: bool,
}

impl RowFacts<'_> {
    fn row(&self) -> TransactionRow {
        let t = &self.entry.transaction;
        let (asset, amount) = match (t.kind, t.side.unwrap_or_default()) {
            (Kind::Trade, Side::Sell) | (Kind::Withdrawal, _) => t.sent.as_ref().map(|leg| (leg.asset.clone(), leg.amount)),
            (Kind::Fee, _) => t.fee.as_ref().map(|leg| (leg.asset.clone(), leg.amount)),
            _ => t.received.as_ref().map(|leg| (leg.asset.clone(), leg.amount)),
        }
        .unwrap_or_default();
        TransactionRow {
            account: self.entry.account.clone(),
            id: t.id.clone(),
            at: t.at,
            kind: t.kind,
            side: t.side,
            asset,
            amount,
            price: self.price,
            fee: self.fee,
            estimated: self.estimated,
            unpriced: self.unpriced,
            transfer: self.transfer,
        }
    }
}

impl<'a> Run<'a> {
    fn new(inputs: &'a Inputs<'a>, carried: BTreeMap<usize, Vec<Lot>>) -> Self {
        Self {
            inputs,
            pools: BTreeMap::new(),
            in_transit: BTreeMap::new(),
            carried,
            realized: BTreeMap::new(),
            disposals: Vec::new(),
            income: Vec::new(),
            fees: Vec::new(),
            rows: Vec::new(),
            unpriced: 0,
        }
    }

    fn is_money(&self, asset: &str) -> bool {
        asset == self.inputs.quote
    }

    /// The value of `amount` in the display currency at `at`.
    fn value(&self, leg: &Amount, at: u64) -> Option<Decimal> {
        if self.is_money(&leg.asset) {
            return Some(leg.amount);
        }
        let price = (self.inputs.price_at)(&leg.asset, at)?;
        leg.amount.times(price).map(|value| value.round_dp(SCALE))
    }

    fn acquire(&mut self, asset: &str, lot: Lot) {
        if self.is_money(asset) {
            return;
        }
        match self.pools.get_mut(asset) {
            Some(pool) => pool.add(lot, self.inputs.method),
            None => self.pools.entry(asset.to_owned()).or_default().add(lot, self.inputs.method),
        }
    }

    /// Removes `amount` of `asset` from the pool: the lots that left.
    fn remove(&mut self, asset: &str, amount: Decimal) -> Vec<Lot> {
        if self.is_money(asset) {
            return vec![Lot { amount, cost: amount, acquired: 0 }];
        }
        self.pools.get_mut(asset).map(|pool| pool.take(amount)).unwrap_or_default()
    }

    /// Disposes of `amount` of `asset` for `proceeds`: realizes, on the part history explains,
    /// its share of the proceeds minus its basis.
    fn dispose(&mut self, account: &str, asset: &str, amount: Decimal, proceeds: Decimal, at: u64) {
        if self.is_money(asset) || amount <= Decimal::ZERO {
            return;
        }
        let (explained, basis) = totals(&self.remove(asset, amount));
        if explained.is_zero() {
            return;
        }
        let proceeds = share(proceeds, explained, amount);
        let gain = proceeds - basis;
        add_to(&mut self.realized, asset, gain);
        self.disposals.push(Disposal {
            at,
            account: account.to_owned(),
            asset: asset.to_owned(),
            amount: explained,
            proceeds,
            cost_basis: basis,
            gain,
        });
    }

    /// A fee that leaves on its own: at its basis, as a realized loss.
    fn lose(&mut self, account: &str, leg: &Amount, at: u64) {
        let market = self.value(leg, at);
        if self.is_money(&leg.asset) {
            self.fees.push((at, leg.amount));
            // Money paid as a fee is a loss of that money.
            add_to(&mut self.realized, &leg.asset, -leg.amount);
            self.disposals.push(Disposal {
                at,
                account: account.to_owned(),
                asset: leg.asset.clone(),
                amount: leg.amount,
                proceeds: Decimal::ZERO,
                cost_basis: leg.amount,
                gain: -leg.amount,
            });
            return;
        }
        let before = self.disposals.len();
        self.dispose(account, &leg.asset, leg.amount, Decimal::ZERO, at);
        let basis = self.disposals.get(before).map_or(Decimal::ZERO, |disposal| disposal.cost_basis);
        self.fees.push((at, market.unwrap_or(basis)));
    }

    fn trade(&mut self, entry: &'a Entry) {
        let t = &entry.transaction;
        let (Some(received), Some(sent)) = (&t.received, &t.sent) else { return };
        let side = t.side.unwrap_or_default();
        // Valued by the display currency when it is one of the sides (exact, whichever way the
        // exchange reports the side); else by the side the market prices it in: what was paid on
        // a buy, what came in on a sell (the book's quote currency, often money or a
        // stablecoin); the other side when that cannot be priced.
        let quote = self.inputs.quote;
        let (priced, other) = match side {
            _ if received.asset == quote => (received, sent),
            _ if sent.asset == quote => (sent, received),
            Side::Buy => (sent, received),
            Side::Sell => (received, sent),
        };
        let value = self.value(priced, t.at).or_else(|| self.value(other, t.at));
        let fee = t.fee.as_ref();
        let fee_value = match fee {
            None => Some(Decimal::ZERO),
            Some(fee) => self.value(fee, t.at).or_else(|| {
                // A fee in one of the traded assets is worth its share of the trade.
                let leg = [received, sent].into_iter().find(|leg| leg.asset == fee.asset)?;
                Some(share(value?, fee.amount, leg.amount))
            }),
        };
        let (Some(value), Some(fee_value)) = (value, fee_value) else {
            // Nothing prices this trade: its units move without a cost, as unexplained.
            self.unpriced += 1;
            let _ = self.remove(&sent.asset, sent.amount);
            self.row(entry, None, None, false, true);
            return;
        };
        let fee_in = |asset: &str| fee.is_some_and(|fee| fee.asset == asset);
        let fee_elsewhere = fee.is_some_and(|fee| fee.asset != received.asset && fee.asset != sent.asset);
        let received_amount = received.amount - if fee_in(&received.asset) { fee.map_or(Decimal::ZERO, |f| f.amount) } else { Decimal::ZERO };
        let sent_amount = sent.amount + if fee_in(&sent.asset) { fee.map_or(Decimal::ZERO, |f| f.amount) } else { Decimal::ZERO };
        let (cost, proceeds) = match side {
            Side::Buy => {
                let cost = if fee_in(&received.asset) { value } else { value + fee_value };
                let proceeds = if fee_in(&sent.asset) { value + fee_value } else { value };
                (cost, proceeds)
            }
            Side::Sell => {
                let proceeds = if fee_in(&sent.asset) { value } else { value - fee_value };
                let cost = if fee_in(&received.asset) { value - fee_value } else { value };
                (cost, proceeds)
            }
        };
        self.dispose(&entry.account, &sent.asset, sent_amount, proceeds, t.at);
        if let Some(fee) = fee.filter(|_| fee_elsewhere) {
            self.dispose(&entry.account, &fee.asset, fee.amount, fee_value, t.at);
        }
        self.acquire(&received.asset, Lot { amount: received_amount, cost, acquired: t.at });
        if fee.is_some() {
            self.fees.push((t.at, fee_value));
        }
        let unit = match side {
            Side::Buy => value.checked_div(received.amount),
            Side::Sell => value.checked_div(sent.amount),
        };
        self.row(entry, unit.map(|unit| unit.round_dp(SCALE)), fee.map(|_| fee_value), false, false);
    }

    fn deposit(&mut self, entry: &'a Entry, transfer: Option<usize>) {
        let t = &entry.transaction;
        let Some(received) = &t.received else { return };
        let arrived = received.amount - t.fee.as_ref().filter(|fee| fee.asset == received.asset).map_or(Decimal::ZERO, |fee| fee.amount);
        if let Some(withdrawal) = transfer {
            // The coins keep their basis; what did not arrive was the network's fee.
            let lots = self.in_transit.remove(&withdrawal).or_else(|| self.carried.get(&withdrawal).cloned()).unwrap_or_default();
            let mut pool = Pool { lots: lots.into() };
            for lot in pool.take(arrived) {
                self.acquire(&received.asset, lot);
            }
            let (lost, basis) = totals(&pool.lots.into_iter().collect::<Vec<_>>());
            if lost > Decimal::ZERO {
                add_to(&mut self.realized, &received.asset, -basis);
                self.disposals.push(Disposal {
                    at: t.at,
                    account: entry.account.clone(),
                    asset: received.asset.clone(),
                    amount: lost,
                    proceeds: Decimal::ZERO,
                    cost_basis: basis,
                    gain: -basis,
                });
                self.fees.push((t.at, basis));
            }
            let price = (self.inputs.price_at)(&received.asset, t.at);
            self.row(entry, price, None, false, false);
            self.rows.last_mut().into_iter().for_each(|row| row.transfer = true);
            return;
        }
        let typed = self.inputs.costs.get(&(entry.account.clone(), t.id.clone())).copied();
        let cost = typed.or_else(|| self.value(&Amount { asset: received.asset.clone(), amount: arrived }, t.at));
        match cost {
            Some(cost) => {
                self.acquire(&received.asset, Lot { amount: arrived, cost, acquired: t.at });
                let unit = cost.checked_div(arrived).map(|unit| unit.round_dp(SCALE));
                self.row(entry, unit, None, !self.is_money(&received.asset), false);
            }
            None => {
                self.unpriced += 1;
                self.row(entry, None, None, false, true);
            }
        }
    }

    fn withdrawal(&mut self, index: usize, entry: &'a Entry, transfer: bool) {
        let t = &entry.transaction;
        let Some(sent) = &t.sent else { return };
        let lots = self.remove(&sent.asset, sent.amount);
        if transfer && !self.is_money(&sent.asset) {
            self.in_transit.insert(index, lots);
        }
        if let Some(fee) = &t.fee {
            self.lose(&entry.account, fee, t.at);
        }
        let price = if self.is_money(&sent.asset) { Some(Decimal::ONE) } else { (self.inputs.price_at)(&sent.asset, t.at) };
        let fee = t.fee.as_ref().and_then(|fee| self.value(fee, t.at));
        self.row(entry, price, fee, false, false);
        if transfer {
            self.rows.last_mut().into_iter().for_each(|row| row.transfer = true);
        }
    }

    fn reward(&mut self, entry: &'a Entry) {
        let t = &entry.transaction;
        let Some(received) = &t.received else { return };
        match self.value(received, t.at) {
            Some(value) => {
                self.acquire(&received.asset, Lot { amount: received.amount, cost: value, acquired: t.at });
                self.income.push((t.at, value));
                let unit = value.checked_div(received.amount).map(|unit| unit.round_dp(SCALE));
                self.row(entry, unit, None, false, false);
            }
            None => {
                self.unpriced += 1;
                self.row(entry, None, None, false, true);
            }
        }
    }

    fn fee(&mut self, entry: &'a Entry) {
        let t = &entry.transaction;
        let Some(fee) = &t.fee else { return };
        self.lose(&entry.account, fee, t.at);
        let value = self.value(fee, t.at);
        self.row(entry, None, value, false, false);
    }

    fn row(&mut self, entry: &'a Entry, price: Option<Decimal>, fee: Option<Decimal>, estimated: bool, unpriced: bool) {
        self.rows.push(RowFacts { entry, price, fee, estimated, unpriced, transfer: false });
    }
}

/// Each deposit's withdrawal, when the two are one transfer: by the deposit's index, the
/// withdrawal's. For each deposit in time order, the unmatched withdrawal of the same asset from
/// another account, no smaller, at most [`TRANSFER_WINDOW_MS`] before it; the closest in amount,
/// then in time.
///
/// `entries` are in time order, so each deposit looks only at the withdrawals of its window (found
/// by binary search): a scan of every entry per deposit took 20 s for 100,000 transactions in wasm
/// (BENCHMARKS.md, row 13).
fn match_transfers(entries: &[Entry]) -> BTreeMap<usize, usize> {
    let mut matched: BTreeMap<usize, usize> = BTreeMap::new();
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let withdrawals: Vec<usize> =
        entries.iter().enumerate().filter(|(_, entry)| entry.transaction.kind == Kind::Withdrawal).map(|(index, _)| index).collect();
    for (d, deposit) in entries.iter().enumerate() {
        let (Kind::Deposit, Some(received)) = (deposit.transaction.kind, &deposit.transaction.received) else { continue };
        let at = deposit.transaction.at;
        let first = withdrawals.partition_point(|&w| entries[w].transaction.at.saturating_add(TRANSFER_WINDOW_MS) < at);
        let best = withdrawals[first..]
            .iter()
            .map(|&w| (w, &entries[w]))
            .take_while(|(_, withdrawal)| withdrawal.transaction.at <= at)
            .filter(|(w, withdrawal)| {
                let t = &withdrawal.transaction;
                !used.contains(w)
                    && withdrawal.account != deposit.account
                    && t.sent.as_ref().is_some_and(|sent| sent.asset == received.asset && sent.amount >= received.amount)
            })
            .min_by_key(|(_, withdrawal)| {
                let sent = withdrawal.transaction.sent.as_ref().map_or(Decimal::ZERO, |sent| sent.amount);
                (sent - received.amount, deposit.transaction.at - withdrawal.transaction.at)
            })
            .map(|(w, _)| w);
        if let Some(w) = best {
            used.insert(w);
            matched.insert(d, w);
        }
    }
    matched
}

/// Runs over `entries` (already in order) for the accounts `selection` names; `carried` is what
/// each transfer carried in a run over every account.
fn run<'a>(inputs: &'a Inputs<'a>, transfers: &BTreeMap<usize, usize>, carried: BTreeMap<usize, Vec<Lot>>, selection: &BTreeSet<String>) -> Run<'a> {
    let withdrawals: BTreeMap<usize, usize> = transfers.iter().map(|(&d, &w)| (w, d)).collect();
    let mut state = Run::new(inputs, carried);
    for (index, entry) in inputs.entries.iter().enumerate() {
        let inside = selection.contains(&entry.account);
        match entry.transaction.kind {
            Kind::Trade if inside => state.trade(entry),
            Kind::Deposit if inside => {
                let from = transfers.get(&index).copied();
                // A transfer between two accounts of the selection, or from one outside it.
                state.deposit(entry, from);
            }
            Kind::Withdrawal if inside => {
                let to_inside = withdrawals.get(&index).is_some_and(|&d| selection.contains(&inputs.entries[d].account));
                let to_outside_account = withdrawals.contains_key(&index) && !to_inside;
                state.withdrawal(index, entry, to_inside);
                if to_outside_account {
                    // The coins go on to another of the user's accounts, outside this selection.
                    state.rows.last_mut().into_iter().for_each(|row| row.transfer = true);
                }
            }
            Kind::Reward if inside => state.reward(entry),
            Kind::Fee if inside => state.fee(entry),
            _ => {}
        }
    }
    state
}

/// The report for `inputs`.
pub fn report(inputs: &Inputs<'_>) -> Report {
    let transfers = match_transfers(inputs.entries);
    // What each transfer carried, from a run over every account, for transfers into the
    // selection from outside it.
    let everyone: BTreeSet<String> = inputs.entries.iter().map(|entry| entry.account.clone()).collect();
    let carried = if everyone.is_subset(inputs.selection) {
        BTreeMap::new()
    } else {
        let mut all = Run::new(inputs, BTreeMap::new());
        let withdrawals: BTreeMap<usize, usize> = transfers.iter().map(|(&d, &w)| (w, d)).collect();
        for (index, entry) in inputs.entries.iter().enumerate() {
            match entry.transaction.kind {
                Kind::Trade => all.trade(entry),
                Kind::Deposit => all.deposit(entry, transfers.get(&index).copied()),
                Kind::Withdrawal => {
                    all.withdrawal(index, entry, withdrawals.contains_key(&index));
                    if let Some(lots) = all.in_transit.get(&index) {
                        all.carried.insert(index, lots.clone());
                    }
                }
                Kind::Reward => all.reward(entry),
                Kind::Fee => all.fee(entry),
            }
        }
        all.carried
    };
    let state = run(inputs, &transfers, carried, inputs.selection);
    summarize(inputs, state)
}

fn summarize(inputs: &Inputs<'_>, state: Run<'_>) -> Report {
    let year_of = |at: u64| civil(at).0;
    let in_year = |at: u64| inputs.year.is_none_or(|year| year_of(at) == year);
    // What the selection holds now, per asset.
    let mut held: BTreeMap<String, Decimal> = BTreeMap::new();
    for ((account, asset), amount) in inputs.holdings {
        if inputs.selection.contains(account) && asset != inputs.quote {
            *held.entry(asset.clone()).or_default() += *amount;
        }
    }
    let assets: BTreeSet<String> =
        held.keys().chain(state.pools.keys()).chain(state.realized.keys()).filter(|asset| *asset != inputs.quote).cloned().collect();
    let mut rows = Vec::new();
    let mut total = Totals::default();
    let mut priced_cost = Decimal::ZERO;
    for asset in assets {
        let pool = state.pools.get(&asset).cloned().unwrap_or_default();
        let (pooled, pooled_cost) = (pool.amount(), pool.cost());
        let amount = held.get(&asset).copied().unwrap_or_default();
        let explained = pooled.min(amount);
        let cost_basis = share(pooled_cost, explained, pooled).round_dp(SCALE);
        let cost_basis = if explained.is_zero() { Decimal::ZERO } else { cost_basis };
        let value = inputs.prices_now.get(&asset).and_then(|price| explained.times(*price)).map(|value| value.round_dp(SCALE));
        let unrealized = value.map(|value| value - cost_basis);
        let realized = state.realized.get(&asset).copied().unwrap_or_default();
        if amount.is_zero() && realized.is_zero() {
            continue;
        }
        total.cost_basis += cost_basis;
        if let (Some(value), Some(unrealized)) = (value, unrealized) {
            total.value += value;
            total.unrealized += unrealized;
            priced_cost += cost_basis;
        }
        total.realized += realized;
        let average_cost = cost_basis.checked_div(explained).map(|average| average.round_dp(SCALE));
        rows.push(AssetRow { asset, amount, explained, average_cost, cost_basis, value, unrealized, realized });
    }
    // Money lost to fees paid in the display currency has no row of its own.
    total.realized += state.realized.get(inputs.quote).copied().unwrap_or_default();
    total.income = state.income.iter().map(|(_, value)| *value).sum();
    total.fees = state.fees.iter().map(|(_, value)| *value).sum();
    total.unrealized_percent = (priced_cost > Decimal::ZERO)
        .then(|| total.unrealized.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(priced_cost))
        .flatten()
        .map(|percent| percent.round_dp(2));
    rows.sort_by(|a, b| b.cost_basis.cmp(&a.cost_basis).then_with(|| a.asset.cmp(&b.asset)));

    let summary = YearSummary {
        year: inputs.year,
        realized: state.disposals.iter().filter(|d| in_year(d.at)).map(|d| d.gain).sum(),
        income: state.income.iter().filter(|(at, _)| in_year(*at)).map(|(_, value)| *value).sum(),
        fees: state.fees.iter().filter(|(at, _)| in_year(*at)).map(|(_, value)| *value).sum(),
    };
    let years: BTreeSet<u64> = state.rows.iter().map(|facts| year_of(facts.entry.transaction.at)).collect();
    let mut facts = state.rows;
    facts.sort_by(|a, b| {
        let (a, b) = (&a.entry.transaction, &b.entry.transaction);
        b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id))
    });
    let transaction_count = facts.len();
    let transactions = facts.iter().take(inputs.rows.unwrap_or(transaction_count)).map(RowFacts::row).collect();

    Report {
        quote: inputs.quote.to_owned(),
        method: inputs.method,
        rows,
        total,
        summary,
        years: years.into_iter().rev().collect(),
        transaction_count,
        transactions,
        disposals: state.disposals,
        mismatches: mismatches(inputs),
        unpriced: state.unpriced,
    }
}

/// For each account of the selection and each asset, what its history adds up to against what it
/// holds, where the two differ.
///
/// Summed in a hash map: ordered keys cost a string comparison at every level of the tree for each
/// of tens of thousands of legs, which made this a fifth of the report's time (BENCHMARKS.md, row
/// 13); the few keys are put in order once at the end.
fn mismatches(inputs: &Inputs<'_>) -> Vec<Mismatch> {
    let mut explained: HashMap<(&str, &str), Decimal> = HashMap::new();
    for entry in inputs.entries.iter().filter(|entry| inputs.selection.contains(&entry.account)) {
        for (asset, change) in entry.transaction.balance_legs() {
            let sum = explained.entry((&entry.account, asset)).or_default();
            *sum = sum.saturating_add(change);
        }
    }
    let with_history: BTreeSet<&str> = explained.keys().map(|(account, _)| *account).collect();
    let held = inputs.holdings.iter().filter(|((account, _), _)| with_history.contains(account.as_str()) && inputs.selection.contains(account));
    let mut keys: BTreeSet<(&str, &str)> = explained.keys().copied().collect();
    keys.extend(held.map(|((account, asset), _)| (account.as_str(), asset.as_str())));
    keys.into_iter()
        .filter_map(|(account, asset)| {
            let history = explained.get(&(account, asset)).copied().unwrap_or_default();
            let held = inputs.holdings.get(&(account.to_owned(), asset.to_owned())).copied().unwrap_or_default();
            (history != held).then(|| Mismatch { account: account.to_owned(), asset: asset.to_owned(), explained: history, held })
        })
        .collect()
}

mod stored;
pub use stored::{Export, csv_from_storage, report_from_storage};

#[cfg(test)]
mod tests;
