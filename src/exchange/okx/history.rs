//! OKX's transaction history, for the cost basis, and its public daily candles.
//!
//! # Sources
//!
//! - **Spot fills**: the trading account's bills, `GET /api/v5/account/bills-archive`
//!   (<https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-bills-details-last-3-months>),
//!   asked for `instType=SPOT&type=2` (type 2 is a trade). A fill is two bills, one per currency,
//!   with the same `instId` and `tradeId` (`ordId` where `tradeId` is empty), `subType` 1 (buy) or
//!   2 (sell). A bill's `balChg` is net of its `fee` (the documentation's example: `balChg`
//!   0.021933823221 = `sz` 0.021955779 + `fee` −0.000021955779), so what moved before the fee
//!   is `balChg − fee`; a negative `fee` is charged in the bill's currency, a positive one is a
//!   maker rebate (a reward of its own).
//! - **Deposits**: `GET /api/v5/asset/deposit-history`
//!   (<https://www.okx.com/docs-v5/en/#funding-account-rest-api-get-deposit-history>), `amt`
//!   once credited (`state` 1 or 2).
//! - **Withdrawals**: `GET /api/v5/asset/withdrawal-history`
//!   (<https://www.okx.com/docs-v5/en/#funding-account-rest-api-get-withdrawal-history>), `amt`
//!   plus its `fee` once `state` is 2.
//!
//! Not read: transfers between the funding and trading accounts (type 1: the account's total does
//! not change), margin, derivatives and their funding and interest, the funding account's other
//! bills (`/api/v5/asset/bills`: Earn payouts, airdrops, conversions).
//!
//! # What OKX keeps: three months of fills
//!
//! OKX answers bills for the last 7 days (`/account/bills`) and the last 3 months
//! (`/account/bills-archive`, read here); older bills are only in quarterly files that
//! `POST /api/v5/account/bills-history-archive` asks OKX to prepare and a later `GET` hands out as
//! a download link to another host, 12 requests a day: an asynchronous export Cartera does not
//! reach (it contacts `www.okx.com` only, and a history page is one short conversation). So an
//! import reaches the fills of the last three months and every deposit and withdrawal; a coin
//! bought earlier has no cost from OKX, and the user adds that purchase by hand (a manual
//! transaction), or its cost basis starts from what OKX still reports.
//!
//! # Paging
//!
//! Each source answers newest first, at most [`PAGE_ROWS`] rows, going back with `after` (a bill
//! id for bills, a time in ms for deposits and withdrawals; "records earlier than"). A round reads
//! each source from now back to what the previous round already read (its `floor`), one request a
//! page, in [`SOURCES`] order; once the last one is read the import is caught up, and the next
//! sync starts a new round, so rows that arrive during an import are read by that next round.
//! Rows sharing a millisecond across a page boundary of deposits or withdrawals are read again
//! (`after` is the oldest time plus one), and the transaction ids keep them from counting twice.
//! A deposit or withdrawal still under way holds its source's floor at its time, so it is read
//! again until it completes or fails. The two bills of a fill cut apart by a page boundary are
//! read together on the next page.
//!
//! A page is OKX's time (the signature needs it, `ServerClock`) and one signed request.
//! [`HISTORY_PACE_MS`] between pages keeps every source well within its limit.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{ServerClock, cartera_code, malformed, out_of_turn, read_data, signed_get, time_request};
use crate::{
    calendar::{DAY_MS, day_of},
    error::{Error, Result},
    exchange::{
        Context, DailyClose, Flow, HttpRequest, HttpResponse, Step,
        json::{JsonDecimal as _, Value},
    },
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

/// Spot fills of the trading account, the last three months.
pub const BILLS_PATH: &str = "/api/v5/account/bills-archive?instType=SPOT&type=2&limit=100";
/// Deposits.
pub const DEPOSITS_PATH: &str = "/api/v5/asset/deposit-history?limit=100";
/// Withdrawals.
pub const WITHDRAWALS_PATH: &str = "/api/v5/asset/withdrawal-history?limit=100";
/// Public daily candles, by UTC day.
pub const CANDLES_PATH: &str = "/api/v5/market/history-candles";

/// The most rows an answer holds: the `limit` every source is asked for, OKX's maximum.
pub const PAGE_ROWS: usize = 100;

/// Between two history pages. The strictest limit is the bills archive's, 5 requests per 2 s per
/// user (deposits and withdrawals: 6 per second; the public time: 10 per 2 s per IP); a page asks
/// each at most once, so 500 ms between pages keeps every one below 4 per 2 s.
pub const HISTORY_PACE_MS: u64 = 500;

/// One source of history rows.
pub struct Source {
    /// The endpoint with its fixed query.
    pub path: &'static str,
    /// Whether `after` is a bill id (unique, exclusive) or a time in ms (shared by rows).
    by_id: bool,
    /// Reads one page's rows.
    read: fn(Value<'_>) -> Option<Row>,
}

/// The sources, in the order each round reads them.
pub const SOURCES: [Source; 3] = [
    Source { path: BILLS_PATH, by_id: true, read: bill_row },
    Source { path: DEPOSITS_PATH, by_id: false, read: deposit_row },
    Source { path: WITHDRAWALS_PATH, by_id: false, read: withdrawal_row },
];

/// Where an import stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryCursor {
    /// The source being read, an index into [`SOURCES`].
    #[serde(default)]
    pub source: usize,
    /// Per source, the lowest position (bill id, or time) not read by a finished round.
    #[serde(default)]
    pub floor: [u64; 3],
    /// The `after` of the current source's next request; `None` when its round begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// The floor the current round leaves behind, so far.
    #[serde(default)]
    pub next_floor: u64,
    /// Rows read so far.
    #[serde(default)]
    pub read: u64,
}

impl HistoryCursor {
    /// Reads a stored cursor, refusing one this version did not write.
    fn read(text: &str) -> Result<Self> {
        let cursor: HistoryCursor = serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "cursor" })?;
        if cursor.source < SOURCES.len() { Ok(cursor) } else { Err(Error::InvalidInput { field: "cursor" }) }
    }

    fn text(&self) -> String {
        // Integers and arrays of them always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One row of a source.
struct Row {
    /// Its bill id, or its time for deposits and withdrawals.
    position: u64,
    /// A deposit or withdrawal under way: the source's floor stays at its time.
    pending: bool,
    /// What it did, once settled.
    record: Record,
}

enum Record {
    /// One of the two bills of a spot fill.
    Leg(Leg),
    /// A settled deposit or withdrawal.
    Done(Transaction),
    /// Nothing Cartera counts (failed, cancelled, or a kind it does not read).
    Nothing,
}

/// One bill of a fill.
struct Leg {
    /// `instId:tradeId`: OKX's trade ids are unique per instrument.
    fill: String,
    at: u64,
    side: Side,
    asset: String,
    /// What moved before the fee; negative when it left.
    gross: Decimal,
    /// The bill's `fee`: negative when charged, positive for a rebate.
    fee: Decimal,
}

/// One page of the history: OKX's time, then one request to the current source.
pub struct HistoryPageFlow {
    cursor: Option<String>,
    state: PageState,
}

enum PageState {
    Start,
    /// OKX's time was asked for.
    Timing(HistoryCursor),
    /// The current source's request was sent.
    Reading(HistoryCursor),
    Finished,
}

impl HistoryPageFlow {
    /// The page that goes on from `cursor` (`None`: the first page of a first import).
    pub fn new(cursor: Option<&str>) -> Self {
        Self { cursor: cursor.map(str::to_owned), state: PageState::Start }
    }
}

impl Flow<HistoryPage> for HistoryPageFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        match (std::mem::replace(&mut self.state, PageState::Finished), answer) {
            (PageState::Start, None) => {
                let cursor = self.cursor.as_deref().map_or_else(|| Ok(HistoryCursor::default()), HistoryCursor::read)?;
                self.state = PageState::Timing(cursor);
                Ok(Step::Send(time_request()))
            }
            (PageState::Timing(cursor), Some(time)) => {
                let timestamp = ServerClock::read(time, context.now_ms())?.timestamp(context.now_ms())?;
                let source = &SOURCES[cursor.source];
                let path = match cursor.after {
                    Some(after) => format!("{}&after={after}", source.path),
                    None => source.path.to_owned(),
                };
                let request = signed_get(context.credentials()?, &timestamp, &path)?;
                self.state = PageState::Reading(cursor);
                Ok(Step::Send(request))
            }
            (PageState::Reading(cursor), Some(answer)) => read_page(answer, cursor).map(Step::Done),
            _ => Err(out_of_turn()),
        }
    }
}

/// A key that may not read what history needs says so as such.
fn history_error(error: Error) -> Error {
    match error {
        Error::MissingPermission { exchange } => Error::HistoryPermission { exchange },
        other => other,
    }
}

/// Reads one answer of the current source into transactions and the cursor after it.
fn read_page(response: HttpResponse<'_>, mut cursor: HistoryCursor) -> Result<HistoryPage> {
    let source = &SOURCES[cursor.source];
    let data = read_data(response).map_err(history_error)?;
    let mut rows = Vec::new();
    for row in data.items().ok_or_else(malformed)? {
        if rows.len() == PAGE_ROWS {
            return Err(malformed());
        }
        rows.push((source.read)(row).ok_or_else(malformed)?);
    }
    let floor = cursor.floor[cursor.source];
    let full = rows.len() == PAGE_ROWS;
    let reached_floor = rows.iter().any(|row| row.position < floor);
    rows.retain(|row| row.position >= floor);

    // The round's floor: past its newest row, but never past a movement still under way.
    let newest = rows.iter().map(|row| row.position).max();
    let mut next_floor = cursor.next_floor.max(floor);
    if cursor.after.is_none() {
        next_floor = newest.map_or(next_floor, |newest| if source.by_id { newest.saturating_add(1) } else { newest }).max(floor);
    }
    if let Some(pending) = rows.iter().filter(|row| row.pending).map(|row| row.position).min() {
        next_floor = next_floor.min(pending);
    }
    cursor.next_floor = next_floor;

    let going_on = full && !reached_floor;
    // The oldest bill of a full page whose other half is on the next page: read again there.
    if going_on && source.by_id && rows.last().is_some_and(|last| lone_leg(last, &rows)) {
        rows.pop();
    }
    let oldest = rows.iter().map(|row| row.position).min();
    cursor.read = cursor.read.saturating_add(rows.len() as u64);
    let transactions = if source.by_id { fills(&rows)? } else { settled(rows) };

    let caught_up = match oldest.filter(|_| going_on) {
        Some(oldest) => {
            let after = if source.by_id { oldest } else { oldest.saturating_add(1) };
            // A page that would be asked for again: OKX answered rows all at one time.
            if cursor.after == Some(after) {
                return Err(malformed());
            }
            cursor.after = Some(after);
            false
        }
        None => {
            cursor.floor[cursor.source] = cursor.next_floor;
            cursor.after = None;
            cursor.next_floor = 0;
            cursor.source = (cursor.source + 1) % SOURCES.len();
            cursor.source == 0
        }
    };
    Ok(HistoryPage {
        transactions,
        cursor: cursor.text(),
        caught_up,
        read: cursor.read,
        expected: None,
        wait_ms: if caught_up { 0 } else { HISTORY_PACE_MS },
    })
}

/// Whether `row` is a bill whose fill has no other bill among `rows`.
fn lone_leg(row: &Row, rows: &[Row]) -> bool {
    let Record::Leg(leg) = &row.record else { return false };
    rows.iter().filter(|other| matches!(&other.record, Record::Leg(other) if other.fill == leg.fill)).count() == 1
}

/// The settled deposits and withdrawals of a page, oldest first.
fn settled(rows: Vec<Row>) -> Vec<Transaction> {
    rows.into_iter().rev().filter_map(|row| if let Record::Done(transaction) = row.record { Some(transaction) } else { None }).collect()
}

/// The fills of a page's bills, two bills each, oldest first. A fill with one bill only has its
/// other half past the three months OKX keeps (or past the last round's floor, where it was read
/// with it): left out. More than two bills for one fill is not a spot fill as documented: the page
/// is refused. (A page is at most 100 bills: pairing by search costs less code than sorting.)
fn fills(rows: &[Row]) -> Result<Vec<Transaction>> {
    let legs: Vec<&Leg> = rows.iter().rev().filter_map(|row| if let Record::Leg(leg) = &row.record { Some(leg) } else { None }).collect();
    let mut transactions = Vec::new();
    for (at, leg) in legs.iter().enumerate() {
        let mut same = legs.iter().enumerate().filter(|(_, other)| other.fill == leg.fill);
        match (same.next(), same.next(), same.next()) {
            // Each fill once, when its first bill is reached.
            (Some((first, _)), Some((_, other)), None) if first == at => {
                transactions.extend(fill(leg, other).ok_or_else(malformed)?);
            }
            (_, _, Some(_)) => return Err(malformed()),
            _ => {}
        }
    }
    Ok(transactions)
}

/// The trade of a fill's two bills, with its fees and rebates.
fn fill(one: &Leg, other: &Leg) -> Option<Vec<Transaction>> {
    let (received, sent) = match (one.gross.is_sign_positive(), other.gross.is_sign_positive()) {
        (true, false) => (one, other),
        (false, true) => (other, one),
        _ => return None,
    };
    if received.asset == sent.asset || received.gross.is_zero() || sent.gross.is_zero() || one.side != other.side {
        return None;
    }
    let at = one.at.max(other.at);
    let id = format!("fill:{}", one.fill);
    let mut charges = [one, other].into_iter().filter(|leg| leg.fee.is_sign_negative() && !leg.fee.is_zero());
    let mut trade = Transaction {
        id: id.clone(),
        at,
        kind: Kind::Trade,
        side: Some(one.side),
        received: Some(Amount::new(&received.asset, received.gross).ok()?),
        sent: Some(Amount::new(&sent.asset, sent.gross.abs()).ok()?),
        fee: None,
    };
    if let Some(leg) = charges.next() {
        trade.fee = Some(Amount::new(&leg.asset, leg.fee.abs()).ok()?);
    }
    let mut transactions = vec![trade];
    // OKX charges one fee per fill; a second, in the other currency, is kept as a fee of its own.
    for leg in charges {
        let fee = Some(Amount::new(&leg.asset, leg.fee.abs()).ok()?);
        transactions.push(Transaction { id: format!("{id}:fee"), at, kind: Kind::Fee, side: None, received: None, sent: None, fee });
    }
    for leg in [one, other].into_iter().filter(|leg| leg.fee > Decimal::ZERO) {
        let received = Some(Amount::new(&leg.asset, leg.fee).ok()?);
        let id = format!("{id}:rebate:{}", leg.asset);
        transactions.push(Transaction { id, at, kind: Kind::Reward, side: None, received, sent: None, fee: None });
    }
    Some(transactions)
}

/// An id OKX gives a row: digits, letters (withdrawal ids carry none, but nothing says so).
fn row_id(value: Option<Value<'_>>) -> Option<String> {
    let id = value?.string()?.into_owned();
    ((1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(id)
}

/// Milliseconds, written as a string of digits.
fn millis(value: Option<Value<'_>>) -> Option<u64> {
    value?.string()?.parse().ok()
}

/// A decimal written as a string, empty meaning zero.
fn amount_or_zero(value: Option<Value<'_>>) -> Option<Decimal> {
    let value = value?;
    if value.string().as_deref() == Some("") { Some(Decimal::ZERO) } else { value.decimal() }
}

/// One bill of `/account/bills-archive`.
fn bill_row(row: Value<'_>) -> Option<Row> {
    let [bill, kind, sub_type, instrument, trade, order, ccy, change, fee, ts] =
        row.pick(["billId", "type", "subType", "instId", "tradeId", "ordId", "ccy", "balChg", "fee", "ts"])?;
    let position = bill?.string()?.parse().ok()?;
    let side = match (kind?.string()?.as_ref(), sub_type?.string()?.as_ref()) {
        ("2", "1") => Side::Buy,
        ("2", "2") => Side::Sell,
        _ => return Some(Row { position, pending: false, record: Record::Nothing }),
    };
    let instrument = instrument?.string()?;
    let (base, quote) = instrument.split_once('-')?;
    cartera_code(base)?;
    cartera_code(quote)?;
    let trade = row_id(trade).or_else(|| row_id(order))?;
    let fee = amount_or_zero(fee)?;
    let gross = change?.decimal()?.checked_sub(fee)?;
    let leg = Leg { fill: format!("{instrument}:{trade}"), at: millis(ts)?, side, asset: cartera_code(&ccy?.string()?)?, gross, fee };
    Some(Row { position, pending: false, record: Record::Leg(leg) })
}

/// One row of `/asset/deposit-history`: credited in state 1 (not yet withdrawable) or 2; waiting
/// in 0, 8 (a suspended network), 12 (frozen) and 14 (KYC limit); refused otherwise.
fn deposit_row(row: Value<'_>) -> Option<Row> {
    let [id, ccy, amount, ts, state] = row.pick(["depId", "ccy", "amt", "ts", "state"])?;
    let (id, at) = (row_id(id)?, millis(ts)?);
    let asset = cartera_code(&ccy?.string()?)?;
    let amount = amount?.decimal()?;
    let state = state?.string()?;
    let record = match state.as_ref() {
        "1" | "2" if amount > Decimal::ZERO => Record::Done(Transaction {
            id: format!("deposit:{id}"),
            at,
            kind: Kind::Deposit,
            side: None,
            received: Some(Amount::new(&asset, amount).ok()?),
            sent: None,
            fee: None,
        }),
        "1" | "2" => return None,
        _ => Record::Nothing,
    };
    Some(Row { position: at, pending: matches!(state.as_ref(), "0" | "8" | "12" | "14"), record })
}

/// One row of `/asset/withdrawal-history`: sent in state 2, failed or cancelled in −1 and −2,
/// under way in every other.
fn withdrawal_row(row: Value<'_>) -> Option<Row> {
    let [id, ccy, amount, fee, fee_ccy, ts, state] = row.pick(["wdId", "ccy", "amt", "fee", "feeCcy", "ts", "state"])?;
    let (id, at) = (row_id(id)?, millis(ts)?);
    let asset = cartera_code(&ccy?.string()?)?;
    let amount = amount?.decimal()?;
    let fee = amount_or_zero(fee)?;
    let fee_asset = match fee_ccy.and_then(Value::string) {
        Some(code) if !code.is_empty() => cartera_code(&code)?,
        _ => asset.clone(),
    };
    let state = state?.string()?;
    let (pending, record) = match state.as_ref() {
        "2" if amount > Decimal::ZERO && !fee.is_sign_negative() => (
            false,
            Record::Done(Transaction {
                id: format!("withdrawal:{id}"),
                at,
                kind: Kind::Withdrawal,
                side: None,
                received: None,
                sent: Some(Amount::new(&asset, amount).ok()?),
                fee: if fee.is_zero() { None } else { Some(Amount::new(&fee_asset, fee).ok()?) },
            }),
        ),
        "2" => return None,
        "-1" | "-2" => (false, Record::Nothing),
        _ => (true, Record::Nothing),
    };
    Some(Row { position: at, pending, record })
}

/// Whether `market` is a spot instrument as OKX's tickers name it (`BTC-USDT`): nothing else
/// reaches a candles URL.
pub fn is_instrument(market: &str) -> bool {
    market.split_once('-').is_some_and(|(base, quote)| {
        let code = |part: &str| !part.is_empty() && part.len() <= 20 && part.bytes().all(|b| b.is_ascii_alphanumeric());
        code(base) && code(quote)
    })
}

/// A market's daily candles by UTC day, newest first, [`PAGE_ROWS`] at a time:
/// `GET /api/v5/market/history-candles?instId=…&bar=1Dutc&after=…&limit=100`
/// (<https://www.okx.com/docs-v5/en/#public-data-rest-api-get-candlesticks-history>), rows
/// `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`; `after` asks for candles before a time.
/// The limit, 20 requests per 2 s per IP, is far above the few pages two years take.
pub struct Candles {
    instrument: String,
    from_day: u64,
    /// The next request's `after`; `None` once every day is read.
    after: Option<u64>,
    closes: Vec<DailyClose>,
}

impl Candles {
    /// The closes of `instrument` on days `from_day..=to_day`.
    pub fn new(instrument: &str, from_day: u64, to_day: u64) -> Self {
        let after = (from_day <= to_day).then(|| to_day.saturating_add(1).saturating_mul(DAY_MS));
        Self { instrument: instrument.to_owned(), from_day, after, closes: Vec::new() }
    }
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            let mut rows = 0;
            let mut oldest = None;
            for row in read_data(answer)?.items().ok_or_else(malformed)? {
                rows += 1;
                let mut fields = row.items().ok_or_else(malformed)?;
                let (Some(ts), Some(close)) = (millis(fields.next()), fields.nth(3).and_then(Value::decimal)) else {
                    return Err(malformed());
                };
                if rows > PAGE_ROWS || self.after.is_some_and(|after| ts >= after) {
                    return Err(malformed());
                }
                oldest = Some(oldest.map_or(ts, |oldest: u64| oldest.min(ts)));
                let day = day_of(ts);
                if day >= self.from_day && close > Decimal::ZERO {
                    self.closes.push(DailyClose { day, close });
                }
            }
            let first = self.from_day.saturating_mul(DAY_MS);
            self.after = oldest.filter(|&oldest| rows == PAGE_ROWS && oldest > first);
        }
        let Some(after) = self.after else {
            // Newest first, each page older than the one before: reversed, oldest first.
            self.closes.reverse();
            self.closes.dedup_by_key(|close| close.day);
            return Ok(Step::Done(std::mem::take(&mut self.closes)));
        };
        let url = format!(
            "{}{CANDLES_PATH}?instId={}&bar=1Dutc&after={after}&limit={PAGE_ROWS}",
            super::API_ORIGIN,
            self.instrument
        );
        Ok(Step::Send(HttpRequest::get(url)))
    }
}
