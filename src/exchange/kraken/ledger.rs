//! Kraken's ledger as transactions: rows that share a `refid` are one event, and a few events
//! Kraken books under two refids are paired again.
//!
//! A row (<https://docs.kraken.com/api/docs/rest-api/get-ledgers>) moves one asset: `amount` is
//! signed and gross, `fee` is taken on top (the balance moves by `amount − fee`), `type` and
//! `subtype` say why (<https://support.kraken.com/hc/en-us/articles/360001169383>). What the
//! rows of one refid mean:
//!
//! - A trade, an app purchase (`spend` + `receive`), a conversion or a delisting swap: one asset
//!   in, one out, the fee on either leg, fee credits (`KFEE`) as a row of their own.
//! - A deposit, a withdrawal (its `fee` is the network fee), a staking or Earn reward, a dividend,
//!   an airdrop: one row.
//! - A failed withdrawal: the withdrawal and its reversal, which add up to nothing.
//! - Moves between spot and staking or Earn (`XBT` → `XBT.S`, subtypes such as `spottostaking`
//!   or `allocation`): the suffixed asset is the base asset, so these change nothing.
//!
//! Some events come as two refids, seconds apart: delisting conversions and OTC deals as two
//! `adjustment` (or plain `transfer`) rows, staked ETH2 rewards turned into ETH as an equal and
//! opposite pair (rotki's `kraken.py` pairs the former and drops the latter). Rows are therefore
//! settled only once every row that could belong with them has been read.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, prelude::ToPrimitive as _};
use serde::{Deserialize, Serialize};

use super::{EXCHANGE, asset_code, is_fee_credit, split_suffix};
use crate::{
    error::{Error, Result},
    exchange::json::{JsonDecimal as _, Value},
    money::Exact as _,
    transactions::{Amount, Kind, Side, Transaction},
};

/// Rows within this long of one another may belong together: the legs of one refid, and the
/// two refids of a delisting swap or an ETH2 conversion.
pub(super) const PAIRING_WINDOW_MS: u64 = 60_000;
/// The window when the rows held back at a page's end would pass [`MAX_HELD`]: a burst of fills
/// in one minute still settles.
const NARROW_WINDOW_MS: u64 = 1_000;
/// The most rows held back between pages (they travel in the cursor).
pub(super) const MAX_HELD: usize = 500;
/// The longest ledger id or refid read: Kraken's are 19 (`L4UESK-KG3EQ-UFO4T5`) or about 30
/// (`FTQqzsk-V6Za8qrWnhzTx67rYHz8Tg`) characters; two of them and a prefix still make an id.
const MAX_ID_LEN: usize = 56;

/// Subtypes of moves between the spot wallet and staking or Earn: the suffixed asset is the base
/// asset, so the account's holding does not change (rotki, and Kraken's ledger field guide).
const INTERNAL_SUBTYPES: [&str; 9] = [
    "spottostaking",
    "stakingfromspot",
    "stakingtospot",
    "spotfromstaking",
    "allocation",
    "deallocation",
    "autoallocation",
    "autoallocate",
    "migration",
];

/// Fiat and the stablecoins Kraken quotes books in: a trade that ends in one of them sold the
/// other asset.
const QUOTE_ASSETS: [&str; 24] = [
    "usd", "eur", "gbp", "cad", "aud", "jpy", "chf", "aed", "mxn", "ars", "clp", "cop", "dkk", "gel", "ghs", "lkr",
    "pln", "sek", "ugx", "vnd", "xof", "usdt", "usdc", "dai",
];

/// One ledger row, read and checked; also how rows held back travel in the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Row {
    /// The ledger id (the member name in Kraken's answer).
    pub(super) id: String,
    /// The event the row belongs to; the ledger id when Kraken gives none.
    pub(super) refid: String,
    /// When, ms since the epoch.
    pub(super) at: u64,
    /// `type`, lowercase.
    #[serde(rename = "type")]
    pub(super) kind: String,
    /// `subtype`, lowercase, empty when absent.
    pub(super) subtype: String,
    /// Cartera's code of the asset, suffix dropped (`XBT.S` → `btc`), fee credits as `kfee`.
    pub(super) asset: String,
    /// Signed: what the row added to the balance before the fee.
    #[serde(with = "crate::money::plain_string")]
    pub(super) amount: Decimal,
    /// What was taken on top; negative when a fee is given back.
    #[serde(with = "crate::money::plain_string")]
    pub(super) fee: Decimal,
}

impl Row {
    /// Whether a row read back from a cursor is one [`read_row`] could have made.
    pub(super) fn is_valid(&self) -> bool {
        is_ledger_id(&self.id)
            && is_ledger_id(&self.refid)
            && self.at > 0
            && self.kind.len() <= 40
            && self.subtype.len() <= 40
            && crate::asset::asset_code(&self.asset).as_deref() == Ok(self.asset.as_str())
    }

    fn is_internal(&self) -> bool {
        INTERNAL_SUBTYPES.contains(&self.subtype.as_str())
    }
}

/// Whether `text` can be a ledger id or refid.
pub(super) fn is_ledger_id(text: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reads the row Kraken keys `id`; `None` when it cannot be read.
pub(super) fn read_row(id: &str, row: Value<'_>) -> Option<Row> {
    let [refid, time, kind, subtype, asset, amount, fee] =
        row.pick(["refid", "time", "type", "subtype", "asset", "amount", "fee"])?;
    if !is_ledger_id(id) {
        return None;
    }
    let refid = match refid?.string()? {
        empty if empty.is_empty() => id.to_owned(),
        refid if is_ledger_id(&refid) => refid.into_owned(),
        _ => return None,
    };
    let text = |value: Option<Value<'_>>| -> Option<String> {
        let text = value?.string()?.trim().to_ascii_lowercase();
        (text.len() <= 40).then_some(text)
    };
    let subtype = match subtype.filter(|value| !value.is_null()) {
        Some(value) => text(Some(value))?,
        None => String::new(),
    };
    Some(Row {
        id: id.to_owned(),
        refid,
        at: time_ms(time?.decimal()?)?,
        kind: text(kind).filter(|kind| !kind.is_empty())?,
        subtype,
        asset: ledger_asset(&asset?.string()?)?,
        amount: amount?.decimal()?,
        fee: fee?.decimal()?,
    })
}

/// Kraken's `time` (unix seconds with four decimals) as ms since the epoch.
fn time_ms(seconds: Decimal) -> Option<u64> {
    let ms = seconds.times(Decimal::ONE_THOUSAND)?.trunc().to_u64()?;
    // Before 2000 or after 9999: not a time Kraken wrote.
    (946_684_800_000..253_402_300_800_000).contains(&ms).then_some(ms)
}

/// Cartera's code for a ledger asset: the base of a suffixed asset, fee credits as `kfee`.
fn ledger_asset(name: &str) -> Option<String> {
    let (base, _) = split_suffix(name);
    if is_fee_credit(base) {
        return Some("kfee".to_owned());
    }
    asset_code(base).filter(|code| crate::asset::asset_code(code).as_deref() == Ok(code.as_str()))
}

/// What settling rows gave: the transactions, and the rows that must wait for the next page.
#[derive(Debug, Default)]
pub(super) struct Settled {
    pub(super) transactions: Vec<Transaction>,
    pub(super) held: Vec<Row>,
}

/// Turns `rows` into transactions. With `boundary` (the oldest time a page reached, when more
/// pages follow), what could still pair with an older row (anything within the pairing window
/// of it) is held back instead; without, everything is settled.
pub(super) fn settle(rows: Vec<Row>, boundary: Option<u64>) -> Result<Settled> {
    for window in [PAIRING_WINDOW_MS, NARROW_WINDOW_MS] {
        let settled = settle_within(&rows, window, boundary.map(|at| at.saturating_add(window)))?;
        if settled.held.len() <= MAX_HELD {
            return Ok(settled);
        }
    }
    Err(malformed())
}

fn malformed() -> Error {
    Error::MalformedResponse { exchange: EXCHANGE }
}

/// One refid's rows, summed per asset.
#[derive(Debug)]
struct Event<'a> {
    refid: &'a str,
    /// The earliest row.
    at: u64,
    /// Why, per row that moved something: (`type`, `subtype`).
    reasons: BTreeSet<(&'a str, &'a str)>,
    incoming: Vec<Amount>,
    outgoing: Vec<Amount>,
    fees: Vec<Amount>,
}

impl Event<'_> {
    fn has(&self, kind: &str) -> bool {
        self.reasons.iter().any(|(reason, _)| *reason == kind)
    }

    /// One asset in or out, nothing else moved (fees aside).
    fn single(&self) -> Option<(&Amount, bool)> {
        match (self.incoming.as_slice(), self.outgoing.as_slice()) {
            ([leg], []) => Some((leg, true)),
            ([], [leg]) => Some((leg, false)),
            _ => None,
        }
    }

    /// Whether this single leg may be half of an equal and opposite move booked as two refids.
    fn may_cancel(&self) -> bool {
        self.reasons.iter().all(|(kind, subtype)| {
            matches!(*kind, "transfer" | "earn" | "staking" | "adjustment") && !matches!(*subtype, "reward" | "airdrop")
        })
    }

    /// Whether this single leg may be half of a swap booked as two refids (a delisting
    /// conversion, an OTC deal).
    fn may_swap(&self) -> bool {
        self.reasons.iter().all(|(kind, subtype)| *kind == "adjustment" || (*kind == "transfer" && subtype.is_empty()))
    }
}

/// What became of one or two events.
enum Outcome {
    /// One event on its own.
    Alone(usize),
    /// Two single legs that cancel out: only their fees count.
    Cancelled(usize, usize),
    /// Two single legs that form a swap: (the one that gave, the one that got).
    Swapped(usize, usize),
}

fn settle_within(rows: &[Row], window: u64, horizon: Option<u64>) -> Result<Settled> {
    let mut by_refid: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        by_refid.entry(row.refid.as_str()).or_default().push(row);
    }
    let events = by_refid.into_iter().map(|(refid, rows)| event(refid, &rows)).collect::<Result<Vec<_>>>()?;
    let mut settled = Settled::default();
    for outcome in pair(&events, window) {
        let involved: Vec<&Event<'_>> = match outcome {
            Outcome::Alone(one) => vec![&events[one]],
            Outcome::Cancelled(a, b) | Outcome::Swapped(a, b) => vec![&events[a], &events[b]],
        };
        let earliest = involved.iter().map(|event| event.at).min().unwrap_or_default();
        if horizon.is_some_and(|horizon| earliest <= horizon) {
            let refids: BTreeSet<&str> = involved.iter().map(|event| event.refid).collect();
            settled.held.extend(rows.iter().filter(|row| refids.contains(row.refid.as_str())).cloned());
            continue;
        }
        match outcome {
            Outcome::Alone(one) => alone(&events[one], &mut settled.transactions)?,
            Outcome::Cancelled(a, b) => {
                for event in [&events[a], &events[b]] {
                    fee_transactions(event, &event.fees, &mut settled.transactions);
                }
            }
            Outcome::Swapped(gave, got) => swapped(&events[gave], &events[got], &mut settled.transactions)?,
        }
    }
    Ok(settled)
}

/// Sums one refid's rows per asset into what came in, what went out and the fees.
fn event<'a>(refid: &'a str, rows: &[&'a Row]) -> Result<Event<'a>> {
    let overflow = || Error::AmountOverflow { exchange: EXCHANGE };
    // A move between spot and staking may come with a row that repeats it under another type
    // (a `withdrawal` beside a `spottostaking` transfer, in exports): the same asset and amount as
    // a move is the move.
    let moves: Vec<(&str, Decimal)> =
        rows.iter().filter(|row| row.is_internal()).map(|row| (row.asset.as_str(), row.amount)).collect();
    let mut sums: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    let mut reasons = BTreeSet::new();
    for row in rows {
        let mirror = !row.is_internal() && moves.contains(&(row.asset.as_str(), row.amount));
        if mirror {
            continue;
        }
        let (amount, fee) = sums.entry(row.asset.as_str()).or_default();
        *fee = fee.plus(row.fee).ok_or_else(overflow)?;
        if row.is_internal() {
            continue;
        }
        *amount = amount.plus(row.amount).ok_or_else(overflow)?;
        if !row.amount.is_zero() {
            reasons.insert((row.kind.as_str(), row.subtype.as_str()));
        }
    }
    let others_move = |asset: &str| sums.iter().any(|(other, (amount, _))| *other != asset && !amount.is_zero());
    let mut event = Event {
        refid,
        at: rows.iter().map(|row| row.at).min().unwrap_or_default(),
        reasons,
        incoming: Vec::new(),
        outgoing: Vec::new(),
        fees: Vec::new(),
    };
    for (&asset, &(mut amount, mut fee)) in &sums {
        // A fee given back counts as money received.
        if fee.is_sign_negative() {
            amount = amount.minus(fee).ok_or_else(overflow)?;
            fee = Decimal::ZERO;
        }
        // Fee credits spent beside a trade are its fee, however Kraken books them.
        if asset == "kfee" && amount.is_sign_negative() && others_move(asset) {
            fee = fee.minus(amount).ok_or_else(overflow)?;
            amount = Decimal::ZERO;
        }
        let leg = |value: Decimal| Amount::new(asset, value.abs()).map_err(|_| malformed());
        if amount > Decimal::ZERO {
            event.incoming.push(leg(amount)?);
        } else if amount < Decimal::ZERO {
            event.outgoing.push(leg(amount)?);
        }
        if fee > Decimal::ZERO {
            event.fees.push(leg(fee)?);
        }
    }
    Ok(event)
}

/// Every event once, single legs paired where two refids make one move or one swap: the nearest
/// partner in time within `window`, equal and opposite amounts of one asset first.
fn pair(events: &[Event<'_>], window: u64) -> Vec<Outcome> {
    let mut by_time: Vec<usize> = (0..events.len()).filter(|&index| events[index].single().is_some()).collect();
    by_time.sort_by_key(|&index| (events[index].at, events[index].refid));
    let mut taken = vec![false; events.len()];
    let mut outcomes = Vec::new();
    let near = |a: &Event<'_>, b: &Event<'_>| a.at.abs_diff(b.at) <= window;
    for cancels in [true, false] {
        let eligible = |event: &Event<'_>| if cancels { event.may_cancel() } else { event.may_swap() };
        for &gave in &by_time {
            let Some((given, false)) = events[gave].single() else { continue };
            if taken[gave] || !eligible(&events[gave]) {
                continue;
            }
            let partner = by_time
                .iter()
                .copied()
                .filter(|&got| !taken[got] && eligible(&events[got]) && near(&events[gave], &events[got]))
                .filter(|&got| match events[got].single() {
                    Some((gotten, true)) if cancels => gotten == given,
                    Some((gotten, true)) => gotten.asset != given.asset,
                    _ => false,
                })
                .min_by_key(|&got| events[got].at.abs_diff(events[gave].at));
            if let Some(got) = partner {
                taken[gave] = true;
                taken[got] = true;
                outcomes.push(if cancels { Outcome::Cancelled(gave, got) } else { Outcome::Swapped(gave, got) });
            }
        }
    }
    outcomes.extend((0..events.len()).filter(|&index| !taken[index]).map(Outcome::Alone));
    outcomes
}

/// The transactions of one event on its own.
fn alone(event: &Event<'_>, out: &mut Vec<Transaction>) -> Result<()> {
    let id = format!("ledger:{}", event.refid);
    match (event.incoming.as_slice(), event.outgoing.as_slice()) {
        ([], []) => fee_transactions(event, &event.fees, out),
        ([received], [sent]) => {
            let (fee, rest) = take_fee(&event.fees, &[&sent.asset, &received.asset]);
            out.push(trade(id, event.at, received.clone(), sent.clone(), fee));
            fee_transactions(event, &rest, out);
        }
        ([leg], []) | ([], [leg]) => {
            let (fee, mut rest) = take_fee(&event.fees, &[&leg.asset]);
            let (transaction, unattached) = one_leg(event, id, leg.clone(), !event.incoming.is_empty(), fee)?;
            out.push(transaction);
            rest.extend(unattached);
            fee_transactions(event, &rest, out);
        }
        // Several assets in or out under one refid (a margin liquidation): one transaction per
        // asset, each with its own fee, so every balance still moves by what Kraken says.
        (incoming, outgoing) => {
            let mut fees = event.fees.clone();
            for (leg, credited) in incoming.iter().map(|leg| (leg, true)).chain(outgoing.iter().map(|leg| (leg, false))) {
                let at = fees.iter().position(|fee| fee.asset == leg.asset);
                let fee = at.map(|at| fees.remove(at));
                let id = format!("ledger:{}:{}", event.refid, leg.asset);
                let (transaction, unattached) = one_leg(event, id, leg.clone(), credited, fee)?;
                out.push(transaction);
                fees.extend(unattached);
            }
            fee_transactions(event, &fees, out);
        }
    }
    Ok(())
}

/// A swap booked as two refids: what one gave for what the other got.
fn swapped(gave: &Event<'_>, got: &Event<'_>, out: &mut Vec<Transaction>) -> Result<()> {
    let (Some((sent, false)), Some((received, true))) = (gave.single(), got.single()) else {
        return Err(malformed());
    };
    let (fee, gave_rest) = take_fee(&gave.fees, &[&sent.asset, &received.asset]);
    let (fee, got_rest) = match fee {
        Some(fee) => (Some(fee), got.fees.clone()),
        None => take_fee(&got.fees, &[&sent.asset, &received.asset]),
    };
    let id = format!("ledger:{}+{}", gave.refid, got.refid);
    out.push(trade(id, gave.at.min(got.at), received.clone(), sent.clone(), fee));
    fee_transactions(gave, &gave_rest, out);
    fee_transactions(got, &got_rest, out);
    Ok(())
}

/// The fee in the first of `assets` that has one (else the first fee), and the other fees.
fn take_fee(fees: &[Amount], assets: &[&String]) -> (Option<Amount>, Vec<Amount>) {
    let mut rest = fees.to_vec();
    let at = assets.iter().find_map(|asset| rest.iter().position(|fee| &fee.asset == *asset)).or((!rest.is_empty()).then_some(0));
    let fee = at.map(|at| rest.remove(at));
    (fee, rest)
}

fn trade(id: String, at: u64, received: Amount, sent: Amount, fee: Option<Amount>) -> Transaction {
    let quote = |asset: &str| QUOTE_ASSETS.contains(&asset);
    let side = if quote(&received.asset) && !quote(&sent.asset) { Side::Sell } else { Side::Buy };
    Transaction { id, at, kind: Kind::Trade, side: Some(side), received: Some(received), sent: Some(sent), fee }
}

/// One asset in (`credited`) or out, with its fee, as the event's reasons say; and the fee when
/// it could not go with it.
fn one_leg(event: &Event<'_>, id: String, leg: Amount, credited: bool, fee: Option<Amount>) -> Result<(Transaction, Option<Amount>)> {
    let at = event.at;
    let plain = |kind, received, sent, fee| Transaction { id: id.clone(), at, kind, side: None, received, sent, fee };
    if credited {
        let kind = if event.has("deposit") {
            Kind::Deposit
        } else if leg.asset == "kfee" || is_income(event) {
            // Fee credits granted, staking and Earn rewards, dividends, airdrops and forks.
            Kind::Reward
        } else {
            // An app purchase's lone half, funds from the futures wallet, what Kraken adjusted.
            Kind::Deposit
        };
        return Ok((plain(kind, Some(leg), None, fee), None));
    }
    if !["rollover", "margin", "nftcreatorfee"].iter().any(|kind| event.has(kind)) {
        return Ok((plain(Kind::Withdrawal, None, Some(leg), fee), None));
    }
    // Margin costs and losses: taken, with nothing in return.
    match fee {
        Some(fee) if fee.asset == leg.asset => {
            let total = leg.amount.plus(fee.amount).ok_or(Error::AmountOverflow { exchange: EXCHANGE })?;
            Ok((plain(Kind::Fee, None, None, Some(Amount::new(&leg.asset, total)?)), None))
        }
        other => Ok((plain(Kind::Fee, None, None, Some(leg)), other)),
    }
}

/// Whether what an event credited is income: staking, Earn and other rewards, dividends,
/// referral bonuses, margin profits, airdrops and forks (a plain `transfer`, by Kraken's field
/// guide).
fn is_income(event: &Event<'_>) -> bool {
    event.reasons.iter().any(|(kind, subtype)| {
        matches!(*kind, "staking" | "reward" | "earn" | "dividend" | "credit" | "invite bonus" | "margin")
            || (*kind == "transfer" && matches!(*subtype, "" | "airdrop" | "reward"))
    })
}

/// Fees that belong to no other transaction of `event`, each as a fee of its own.
fn fee_transactions(event: &Event<'_>, fees: &[Amount], out: &mut Vec<Transaction>) {
    out.extend(fees.iter().map(|fee| Transaction {
        id: format!("ledger:{}:fee:{}", event.refid, fee.asset),
        at: event.at,
        kind: Kind::Fee,
        side: None,
        received: None,
        sent: None,
        fee: Some(fee.clone()),
    }));
}
