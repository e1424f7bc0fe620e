//! Bybit's transaction history, for the cost basis, and its public daily candles.
//!
//! # Sources
//!
//! - **Trades and income**: the Unified Trading account's transaction log,
//!   `GET /v5/account/transaction-log?accountType=UNIFIED`
//!   (<https://bybit-exchange.github.io/docs/v5/account/transaction-log>), every balance change,
//!   "up to 2 years" back, in windows of at most 7 days (`endTime − startTime ≤ 7 days`), 50 rows
//!   a page, paged by `nextPageCursor`. A spot fill is two rows, one per coin, both `type`
//!   `TRADE`, `category` `spot`, sharing `tradeId` and `transactionTime`: each row's `change` is
//!   what its coin's balance moved, `fee` what was charged in that coin ("positive means
//!   expense, negative means rebates"), so `change + fee` is that leg before its fee. The two
//!   legs make one trade (`side` is the order's); a leg whose partner is on the next page waits
//!   in the cursor. `FEE_REFUND` and `AIRDROP` credits are rewards; `INTEREST` is a reward when
//!   credited and a fee when charged (spot margin borrowing).
//! - **Deposits**: `GET /v5/asset/deposit/query-record`
//!   (<https://bybit-exchange.github.io/docs/v5/asset/deposit/deposit-record>), on-chain deposits,
//!   windows of at most 30 days, 50 rows a page; `status` 3 is a deposit credited, at
//!   `successAt`, `amount` received and `depositFee` taken.
//! - **Withdrawals**: `GET /v5/asset/withdraw/query-record?withdrawType=2`
//!   (<https://bybit-exchange.github.io/docs/v5/asset/withdraw/withdraw-record>), on-chain and
//!   internal withdrawals, windows of at most 30 days, 50 rows a page; `success` (or
//!   `BlockchainConfirmed`) is a withdrawal that left, at `updateTime`, `amount` sent and
//!   `withdrawFee` taken on top (as ccxt reads both records).
//!
//! Not read: transfers between the Funding and Unified Trading accounts (`TRANSFER_IN`/`_OUT`
//! in the log, and the inter-transfer list): both are the user's, so nothing enters or leaves;
//! derivatives (perpetual, futures and option fills, settlements, funding, liquidations), as
//! Cartera keeps the cost basis of what is held, not of positions; loans and `BONUS` trial funds,
//! which cannot be withdrawn.
//!
//! # Paging
//!
//! A round reads each source, one window after another from where the last round ended (the
//! first import: two years back) to the time the round began, oldest window first, every page of
//! a window by Bybit's cursor. One request is one page. The next round starts [`LOOKBACK_MS`]
//! before the last one ended, so a row Bybit writes a little after its time, or a deposit that
//! completes after the round read it pending, is still found; ids de-duplicate what is read twice.
//! Rows that arrive during an import are newer than the round's end: the next sync reads them.
//!
//! Bybit limits each endpoint per account and second: the transaction log 30, the deposit and
//! withdrawal records 5 (ccxt's table, `bybit.js` `rateLimit` costs; Bybit's own rate-limit page
//! lists them per account). Each source has its pace, well inside these.
//!
//! A key without the read permission these endpoints need is refused with retCode 10005, read
//! as [`Error::HistoryPermission`].

use std::str::FromStr as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{API_ORIGIN, ServerClock, cartera_code, malformed, read_result, signed_get, split_symbol, time_request};
use crate::{
    calendar::{DAY_MS, day_of},
    error::{Error, Result},
    exchange::{
        Context, DailyClose, Flow, HttpRequest, HttpResponse, MAX_ROWS, Step,
        json::{JsonDecimal as _, Value},
    },
    money::Exact as _,
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

/// The Unified Trading account's transaction log.
pub const LOG_PATH: &str = "/v5/account/transaction-log";
/// On-chain deposits.
pub const DEPOSITS_PATH: &str = "/v5/asset/deposit/query-record";
/// Withdrawals.
pub const WITHDRAWALS_PATH: &str = "/v5/asset/withdraw/query-record";
/// Daily candles.
pub const KLINE_PATH: &str = "/v5/market/kline";

/// Rows a page asks for: the most every source allows.
pub const PAGE_LIMIT: usize = 50;

/// How far back a first import reaches: the transaction log keeps two years; a minute less, so
/// the log's first window (the round's first request) is not refused as too old by a clock a
/// little ahead of Bybit's. The deposit and withdrawal records state no such bound; they are read
/// as far back.
pub const REACH_MS: u64 = 730 * DAY_MS - 60_000;

/// How far before the last round's end the next one starts.
pub const LOOKBACK_MS: u64 = 3 * DAY_MS;

/// Daily candles asked for at once: the most the kline endpoint answers.
const CANDLE_DAYS: u64 = 1_000;

/// Spot trade legs kept waiting for their partner: both legs share a time, so only a page
/// boundary parts them; more waiting legs than this is an answer Cartera does not understand.
const MAX_LEGS: usize = 100;

/// One source of history rows.
pub struct Source {
    /// The endpoint.
    pub path: &'static str,
    /// Query members that come before `cursor` in name order, each followed by `&`.
    pub before: &'static str,
    /// Query members after `startTime`, each preceded by `&`.
    pub after: &'static str,
    /// The member of `result` that lists the rows.
    pub list: &'static str,
    /// The longest window the endpoint accepts.
    pub window_ms: u64,
    /// The wait after each page.
    pub pace_ms: u64,
    read: fn(Value<'_>, &mut Vec<Leg>) -> Option<Vec<Transaction>>,
}

/// The sources, in the order a round reads them.
pub const SOURCES: [Source; 3] = [
    // 30 requests a second: one every 100 ms is a third of it.
    Source { path: LOG_PATH, before: "accountType=UNIFIED&", list: "list", after: "", window_ms: 7 * DAY_MS, pace_ms: 100, read: log_row },
    // 5 requests a second: one every 400 ms is half of it.
    Source { path: DEPOSITS_PATH, before: "", list: "rows", after: "", window_ms: 30 * DAY_MS, pace_ms: 400, read: deposit_row },
    Source {
        path: WITHDRAWALS_PATH,
        before: "",
        list: "rows",
        after: "&withdrawType=2",
        window_ms: 30 * DAY_MS,
        pace_ms: 400,
        read: withdrawal_row,
    },
];

/// A spot fill's leg waiting for the other: its trade, time, side, coin and amounts. The cursor
/// keeps it as the text `trade,at,sell,coin,gross,fee`.
pub struct Leg {
    trade: String,
    at: u64,
    sell: bool,
    coin: String,
    /// The balance change before the fee: positive received, negative sent.
    gross: Decimal,
    /// Charged in `coin` (negative: a rebate).
    fee: Decimal,
}

impl Leg {
    fn text(&self) -> String {
        format!("{},{},{},{},{},{}", self.trade, self.at, u8::from(self.sell), self.coin, self.gross, self.fee)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(',');
        let leg = Leg {
            trade: row_id_text(parts.next()?)?,
            at: parts.next()?.parse().ok()?,
            sell: parts.next()? == "1",
            coin: cartera_code(parts.next()?)?,
            gross: Decimal::from_str(parts.next()?).ok()?,
            fee: Decimal::from_str(parts.next()?).ok()?,
        };
        parts.next().is_none().then_some(leg)
    }
}

/// Where an import stands.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    /// The source being read, an index into [`SOURCES`].
    #[serde(default)]
    source: usize,
    /// The start of the window being read (inclusive).
    #[serde(default)]
    from: u64,
    /// The end of the round under way: the time it began; 0 between rounds.
    #[serde(default)]
    until: u64,
    /// Bybit's cursor to the window's next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    /// The end of the last round read to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synced: Option<u64>,
    /// Spot legs waiting for their partner ([`Leg::text`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    legs: Vec<String>,
    /// Rows read in this import.
    #[serde(default)]
    read: u64,
}

impl Cursor {
    fn read(text: Option<&str>) -> Result<Self> {
        let invalid = Error::InvalidInput { field: "cursor" };
        let Some(text) = text else { return Ok(Self::default()) };
        let cursor: Cursor = serde_json::from_str(text).map_err(|_| invalid.clone())?;
        let sane = cursor.source < SOURCES.len()
            && cursor.legs.len() <= MAX_LEGS
            && cursor.legs.iter().all(|leg| Leg::parse(leg).is_some())
            && cursor.page.as_deref().is_none_or(is_page_token);
        if sane { Ok(cursor) } else { Err(invalid) }
    }

    /// Where each source's windows start in the round under way.
    fn round_start(&self) -> u64 {
        let start = match self.synced {
            Some(synced) => synced.saturating_sub(LOOKBACK_MS),
            None => self.until.saturating_sub(REACH_MS),
        };
        start.min(self.until)
    }

    /// The window under way: its end, inclusive, so the window is a millisecond shorter than the
    /// longest the endpoint accepts.
    fn window_end(&self) -> u64 {
        self.from.saturating_add(SOURCES[self.source].window_ms - 1).min(self.until)
    }
}

/// Bybit's page cursors are short: the log's already escaped (`21963%3A1%2C14954%3A1`), the
/// records' base64 (`eyJtaW5JRCI6OTk3NiwibWF4SUQiOjk5NzZ9`).
fn is_page_token(token: &str) -> bool {
    (1..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"%:,=_-.+/".contains(&b))
}

/// One page of the history: one request, once more on Bybit's clock if it refused the computer's.
pub struct HistoryPageFlow {
    cursor: Option<String>,
    state: State,
}

enum State {
    Start,
    Reading(Cursor, Option<ServerClock>),
    Time(Cursor),
    Finished,
}

impl HistoryPageFlow {
    pub fn new(cursor: Option<&str>) -> Self {
        Self { cursor: cursor.map(str::to_owned), state: State::Start }
    }

    fn request(&mut self, cursor: Cursor, clock: Option<ServerClock>, context: &Context<'_>) -> Result<Step<HistoryPage>> {
        let source = &SOURCES[cursor.source];
        let page = cursor.page.as_deref().map(|token| format!("cursor={}&", escape(token))).unwrap_or_default();
        let query = format!(
            "{}{page}endTime={}&limit={PAGE_LIMIT}&startTime={}{}",
            source.before,
            cursor.window_end(),
            cursor.from,
            source.after
        );
        let timestamp = clock.unwrap_or_default().timestamp(context.now_ms())?;
        let request = signed_get(context.credentials()?, source.path, &query, timestamp)?;
        self.state = State::Reading(cursor, clock);
        Ok(Step::Send(request))
    }
}

impl Flow<HistoryPage> for HistoryPageFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        match (std::mem::replace(&mut self.state, State::Finished), answer) {
            (State::Start, None) => {
                let mut cursor = Cursor::read(self.cursor.as_deref())?;
                if cursor.until == 0 {
                    cursor.until = context.now_ms();
                    cursor.source = 0;
                    cursor.from = cursor.round_start();
                }
                self.request(cursor, None, context)
            }
            (State::Reading(cursor, clock), Some(answer)) => match read_result(answer) {
                Err(Error::ClockSkew { .. }) if clock.is_none() => {
                    self.state = State::Time(cursor);
                    Ok(Step::Send(time_request()))
                }
                Err(Error::MissingPermission { exchange }) => Err(Error::HistoryPermission { exchange }),
                Err(error) => Err(error),
                Ok(result) => read_page(result, cursor).map(Step::Done),
            },
            (State::Time(cursor), Some(answer)) => {
                let clock = ServerClock::read(answer, context.now_ms())?;
                self.request(cursor, Some(clock), context)
            }
            // The engine feeds answers strictly in turn; anything else is a bug, reported as such.
            _ => Err(Error::InvalidInput { field: "refresh" }),
        }
    }
}

/// Escapes what a page token may hold that a query value may not; `%` is kept, as the log's
/// tokens come escaped already and are sent as they came (as pybit sends them).
fn escape(token: &str) -> String {
    token.bytes().fold(String::with_capacity(token.len()), |mut text, b| {
        if b.is_ascii_alphanumeric() || b"%-._~".contains(&b) {
            text.push(char::from(b));
        } else {
            text.push_str(&format!("%{b:02X}"));
        }
        text
    })
}

/// Reads one answer of the current source into its transactions and the cursor after it.
fn read_page(result: Value<'_>, mut cursor: Cursor) -> Result<HistoryPage> {
    let source = &SOURCES[cursor.source];
    let rows: Vec<Value<'_>> = result.get(source.list).and_then(Value::items).ok_or_else(malformed)?.take(MAX_ROWS + 1).collect();
    if rows.len() > MAX_ROWS {
        return Err(malformed());
    }
    let mut legs: Vec<Leg> = cursor.legs.iter().filter_map(|leg| Leg::parse(leg)).collect();
    let mut transactions = Vec::new();
    for row in &rows {
        transactions.extend((source.read)(*row, &mut legs).ok_or_else(malformed)?);
    }
    if legs.len() > MAX_LEGS {
        return Err(malformed());
    }
    cursor.legs = legs.iter().map(Leg::text).collect();
    cursor.read = cursor.read.saturating_add(rows.len() as u64);
    let next = match result.get_present("nextPageCursor") {
        Some(token) => token.string().ok_or_else(malformed)?.into_owned(),
        None => String::new(),
    };
    if !next.is_empty() && !is_page_token(&next) {
        return Err(malformed());
    }
    // A page with no rows ends the window whatever cursor it names: asking again would loop.
    let next = Some(next).filter(|token| !token.is_empty() && !rows.is_empty());
    let mut caught_up = false;
    if next.is_some() {
        cursor.page = next;
    } else {
        // The window is read: both legs of every fill in it were in it.
        if !cursor.legs.is_empty() {
            return Err(malformed());
        }
        cursor.page = None;
        let end = cursor.window_end();
        // A window ending a millisecond short of the round's end ends the source too: a row at
        // that millisecond is read by the next round, which starts before it.
        if end.saturating_add(1) < cursor.until {
            cursor.from = end + 1;
        } else if cursor.source + 1 < SOURCES.len() {
            cursor.source += 1;
            cursor.from = cursor.round_start();
        } else {
            cursor = Cursor { synced: Some(cursor.until), read: cursor.read, ..Cursor::default() };
            caught_up = true;
        }
    }
    transactions.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(HistoryPage {
        transactions,
        // Integers, strings and decimals always serialise.
        cursor: serde_json::to_string(&cursor).unwrap_or_default(),
        caught_up,
        read: cursor.read,
        expected: None,
        wait_ms: if caught_up { 0 } else { source.pace_ms },
    })
}

/// A row id: Bybit's are letters, digits, `_` and `-` (`592324_XRPUSDT_161440249321`, UUIDs).
fn row_id(value: Option<Value<'_>>) -> Option<String> {
    row_id_text(&value?.string()?)
}

fn row_id_text(id: &str) -> Option<String> {
    let valid = (1..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then(|| id.to_owned())
}

/// A time in ms, written as a string of digits (as every one of these rows writes it).
fn time(value: Option<Value<'_>>) -> Option<u64> {
    value?.string()?.parse().ok().filter(|&at| at > 0)
}

/// An amount Bybit may leave out or write as `""`: zero then.
fn amount_or_zero(value: Option<Value<'_>>) -> Option<Decimal> {
    match value {
        None => Some(Decimal::ZERO),
        Some(value) if value.raw() == "\"\"" => Some(Decimal::ZERO),
        Some(value) => value.decimal(),
    }
}

fn amount(coin: &str, amount: Decimal) -> Option<Amount> {
    Amount::new(coin, amount.abs()).ok()
}

/// Income or a charge of its own: a credit is a reward, a debit a fee.
fn income(id: String, at: u64, coin: &str, change: Decimal) -> Option<Transaction> {
    let leg = Some(amount(coin, change)?);
    let (kind, received, fee) = if change.is_sign_positive() { (Kind::Reward, leg, None) } else { (Kind::Fee, None, leg) };
    Some(Transaction { id, at, kind, side: None, received, sent: None, fee })
}

/// One row of the transaction log.
fn log_row(row: Value<'_>, legs: &mut Vec<Leg>) -> Option<Vec<Transaction>> {
    let [id, category, kind, at, coin, change, fee, trade, side] =
        row.pick(["id", "category", "type", "transactionTime", "currency", "change", "fee", "tradeId", "side"])?;
    let id = row_id(id)?;
    let at = time(at)?;
    let kind = kind?.string()?;
    let coin = cartera_code(&coin?.string()?)?;
    let change = change?.decimal()?;
    let fee = amount_or_zero(fee)?;
    let category = category.and_then(Value::string).unwrap_or_default();
    match &*kind {
        "TRADE" if category == "spot" => {}
        "FEE_REFUND" | "AIRDROP" | "INTEREST" if !change.is_zero() => {
            return Some(vec![income(format!("log:{id}"), at, &coin, change)?]);
        }
        _ => return Some(Vec::new()),
    }
    let leg = Leg {
        trade: row_id(trade)?,
        at,
        sell: match &*side?.string()? {
            "Buy" => false,
            "Sell" => true,
            _ => return None,
        },
        coin,
        gross: change.plus(fee)?,
        fee,
    };
    if leg.gross.is_zero() {
        return None;
    }
    let Some(index) = legs.iter().position(|other| other.trade == leg.trade) else {
        legs.push(leg);
        return Some(Vec::new());
    };
    let other = legs.swap_remove(index);
    pair(leg, other)
}

/// The trade two legs of one fill make, with any fee the trade's own field cannot hold (a second
/// fee, a rebate) as its own transaction.
fn pair(one: Leg, other: Leg) -> Option<Vec<Transaction>> {
    let (received, sent) = match (one.gross.is_sign_positive(), other.gross.is_sign_positive()) {
        (true, false) => (one, other),
        (false, true) => (other, one),
        _ => return None,
    };
    if received.coin == sent.coin || received.at != sent.at || received.sell != sent.sell {
        return None;
    }
    let id = format!("trade:{}", received.trade);
    let mut fees = [&received, &sent].into_iter().filter(|leg| !leg.fee.is_zero());
    let charged = fees.next().filter(|leg| leg.fee.is_sign_positive());
    let mut transactions = vec![Transaction {
        id: id.clone(),
        at: received.at,
        kind: Kind::Trade,
        side: Some(if received.sell { Side::Sell } else { Side::Buy }),
        received: Some(amount(&received.coin, received.gross)?),
        sent: Some(amount(&sent.coin, sent.gross)?),
        fee: match charged {
            Some(leg) => Some(amount(&leg.coin, leg.fee)?),
            None => None,
        },
    }];
    let rest = [&received, &sent].into_iter().filter(|leg| !leg.fee.is_zero()).skip(usize::from(charged.is_some()));
    for leg in rest {
        transactions.push(income(format!("{id}:{}", leg.coin), leg.at, &leg.coin, -leg.fee)?);
    }
    Some(transactions)
}

/// One row of the deposit record: credited ones only.
fn deposit_row(row: Value<'_>, _legs: &mut Vec<Leg>) -> Option<Vec<Transaction>> {
    let [id, tx, coin, moved, fee, status, at] = row.pick(["id", "txID", "coin", "amount", "depositFee", "status", "successAt"])?;
    // Older answers carry no `id`; the chain's transaction id then names the deposit.
    let id = row_id(id).or_else(|| row_id(tx))?;
    let status = status?;
    if status.raw() != "3" && status.string().as_deref() != Some("3") {
        return Some(Vec::new());
    }
    let coin = cartera_code(&coin?.string()?)?;
    let fee = amount_or_zero(fee)?;
    let transaction = Transaction {
        id: format!("deposit:{id}"),
        at: time(at)?,
        kind: Kind::Deposit,
        side: None,
        received: Some(amount(&coin, moved?.decimal()?)?),
        sent: None,
        fee: if fee.is_zero() { None } else { Some(amount(&coin, fee)?) },
    };
    Some(vec![transaction])
}

/// One row of the withdrawal record: ones that left only.
fn withdrawal_row(row: Value<'_>, _legs: &mut Vec<Leg>) -> Option<Vec<Transaction>> {
    let [id, coin, moved, fee, status, at] = row.pick(["withdrawId", "coin", "amount", "withdrawFee", "status", "updateTime"])?;
    let id = row_id(id)?;
    if !matches!(&*status?.string()?, "success" | "BlockchainConfirmed") {
        return Some(Vec::new());
    }
    let coin = cartera_code(&coin?.string()?)?;
    let fee = amount_or_zero(fee)?;
    let transaction = Transaction {
        id: format!("withdrawal:{id}"),
        at: time(at)?,
        kind: Kind::Withdrawal,
        side: None,
        received: None,
        sent: Some(amount(&coin, moved?.decimal()?)?),
        fee: if fee.is_zero() { None } else { Some(amount(&coin, fee)?) },
    };
    Some(vec![transaction])
}

/// Whether `market` is a spot symbol as Bybit's tickers name it (`BTCUSDT`): nothing else
/// reaches a kline URL.
pub fn is_spot_symbol(market: &str) -> bool {
    market.len() <= 30 && market.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) && split_symbol(market).is_some()
}

/// A spot market's daily candles, [`CANDLE_DAYS`] at a time:
/// `GET /v5/market/kline?category=spot&interval=D` (<https://bybit-exchange.github.io/docs/v5/market/kline>),
/// rows `[startTime, open, high, low, close, volume, turnover]`, newest first.
pub struct Candles {
    symbol: String,
    next_day: u64,
    to_day: u64,
    closes: Vec<DailyClose>,
}

impl Candles {
    pub fn new(symbol: &str, from_day: u64, to_day: u64) -> Self {
        Self { symbol: symbol.to_owned(), next_day: from_day, to_day, closes: Vec::new() }
    }
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            let list = read_result(answer)?.get("list").and_then(Value::items).ok_or_else(malformed)?;
            for row in list.take(MAX_ROWS) {
                let fields: Vec<Value<'_>> = row.items().ok_or_else(malformed)?.take(5).collect();
                let (Some(start), Some(close)) = (time(fields.first().copied()), fields.get(4).and_then(|close| close.decimal())) else {
                    return Err(malformed());
                };
                if close > Decimal::ZERO {
                    self.closes.push(DailyClose { day: day_of(start), close });
                }
            }
        }
        if self.next_day > self.to_day {
            let mut closes = std::mem::take(&mut self.closes);
            closes.sort_by_key(|close| close.day);
            closes.dedup_by_key(|close| close.day);
            return Ok(Step::Done(closes));
        }
        let last = self.to_day.min(self.next_day.saturating_add(CANDLE_DAYS - 1));
        let url = format!(
            "{API_ORIGIN}{KLINE_PATH}?category=spot&symbol={}&interval=D&start={}&end={}&limit={CANDLE_DAYS}",
            self.symbol,
            self.next_day.saturating_mul(DAY_MS),
            last.saturating_mul(DAY_MS),
        );
        self.next_day = last + 1;
        Ok(Step::Send(HttpRequest::get(url)))
    }
}
