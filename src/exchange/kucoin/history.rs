//! KuCoin's transaction history, for the cost basis, and its public daily candles.
//!
//! # Source: the account ledger
//!
//! `GET /api/v1/accounts/ledgers`
//! (<https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-account-ledgers-spot-margin>,
//! permission General, management pool weight 2): every balance change of the main, trade and
//! margin accounts, newest first, `currentPage`/`pageSize` up to 500 rows, in windows of at most
//! one week (`startAt`..`endAt`, ms). Each row has `bizType`, `direction` (`in`/`out`), `amount`
//! ("the total amount of assets (fees included)"), `fee`, `createdAt` and a `context`, a JSON
//! text with the order and trade ids. Read as:
//!
//! - **Trades** (`Exchange`, `TRADE_EXCHANGE`): a fill is two rows, one per currency, whose
//!   `context` names the same `tradeId` and the `symbol`; the leg that came `in` is received
//!   (`amount`, its `fee` taken after), the leg that went `out` is sent (`amount` less its `fee`).
//!   The side is a buy when the symbol's base came in. A leg whose partner is on a later page
//!   waits in the cursor.
//! - **Deposits** and **withdrawals** (`Deposit`, `Withdrawal`): the ledger has them with their
//!   fee, so the deposit and withdrawal lists are not read as well (they would only say the same
//!   again, at five and twenty times the weight).
//! - **Income and charges**: rewards, bonuses, airdrops, fee rebates and refunds credited are
//!   rewards; fees paid in KCS are fees.
//!
//! Not read: transfers between the user's own accounts and sub-accounts (`Transfer`,
//! `Sub-account transfer`): nothing enters or leaves; margin trades, loans and their interest, as
//! Cartera keeps the cost basis of what is held.
//!
//! # Source: the high-frequency account's ledger
//!
//! KuCoin moved spot trading to the high-frequency account (`trade_hf`) for most users; its
//! balance changes are in a ledger of their own, `GET /api/v1/hf/accounts/ledgers`
//! (<https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-account-ledgers-tradehf>,
//! permission General, spot pool weight 2): newest first, `limit` up to 200 rows, the next page
//! older than `lastId` (the last row's id), and only "within a 3 * 24 hour time range (i.e., from
//! 3 * 24 hours ago up to now)". Its rows are the ledger's, `bizType` one of `TRADE_EXCHANGE`,
//! `TRANSFER`, `RETURNED_FEES`, `DEDUCTION_FEES` and `OTHER`, read as above; but a credited
//! trade leg's `amount` is what the balance gained, after its fee ([`Source`]). A fill is
//! `trade:<tradeId>` from either ledger, so one both ever showed is stored once. `TRANSFER` rows
//! (to and from main and trade) stay skipped.
//!
//! What the three days mean for the cost basis: the first import sees the high-frequency fills
//! of the last three days only, and each sync those since the last one, as long as syncs are
//! less than three days apart. Older fills, and those of a longer gap, are not read: what they
//! bought shows in the reconciliation as held but not explained by history, and what they sold as
//! missing. KuCoin documents the same `3 * 24` hour range for the high-frequency fills (`GET
//! /api/v1/hf/fills`, <https://docs.kucoin.com/spot-hf/>, "HF transaction records"), so no
//! endpoint it documents gives older high-frequency trades.
//!
//! # Paging
//!
//! A round reads the ledger one week after another, oldest first, from where the last round
//! ended (the first import: two years back) to the time the round began, every page of a week in
//! turn, then the high-frequency ledger from three days before the round began to then, page
//! after page back. The next round starts [`LOOKBACK_MS`] before the last one ended, so a row
//! KuCoin writes a little after its time is still found; ids de-duplicate what is read twice. Rows
//! that arrive during an import are newer than the round's end: the next sync reads them.
//!
//! A page is one signed request. Its timestamp is KuCoin's time: the cursor keeps the offset
//! between KuCoin's clock and ours, measured with `GET /api/v1/timestamp` by the first page and
//! again when it is older than [`CLOCK_REUSE_MS`] (a computer's clock drifts by milliseconds a
//! day; KuCoin accepts 5 seconds) or when KuCoin refuses a timestamp signed with it (our clock was
//! set since).
//!
//! KuCoin counts weights per 30 seconds (<https://www.kucoin.com/docs-new/rate-limit>): the
//! management pool 2,000 at VIP 0 (the ledger weighs 2; an older page of the documentation says
//! 10), the spot pool 4,000 (the high-frequency ledger weighs 2), the public pool 2,000 (the time
//! weighs 3). [`PACE_MS`] between pages is at most 150 requests a window: 300 of 2,000 (1,500 at
//! weight 10).
//!
//! A key that may not read the ledger is refused with 400007, read as [`Error::HistoryPermission`].

use std::str::FromStr as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{API_ORIGIN, TIME_PATH, cartera_code, malformed, out_of_turn, read_data, server_time, signed_get};
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

/// The account ledger.
pub const LEDGER_PATH: &str = "/api/v1/accounts/ledgers";
/// The high-frequency trading account's ledger.
pub const HF_LEDGER_PATH: &str = "/api/v1/hf/accounts/ledgers";
/// Public candles.
pub const CANDLES_PATH: &str = "/api/v1/market/candles";

/// Rows a page asks for: the most the ledger answers.
pub const PAGE_SIZE: usize = 500;
/// The longest window the ledger accepts.
pub const WINDOW_MS: u64 = 7 * DAY_MS;
/// How far back a first import reaches: two years, a minute less, so the first week is not
/// refused as too old by a clock a little ahead of KuCoin's.
pub const REACH_MS: u64 = 730 * DAY_MS - 60_000;
/// How far before the last round's end the next one starts.
pub const LOOKBACK_MS: u64 = 3 * DAY_MS;
/// Between two pages.
pub const PACE_MS: u64 = 200;
/// Rows a page of the high-frequency ledger asks for: the most it answers.
pub const HF_PAGE_SIZE: usize = 200;
/// How far back the high-frequency ledger answers: three days, a minute less, so a clock a
/// little ahead of KuCoin's never asks for more.
pub const HF_REACH_MS: u64 = 3 * DAY_MS - 60_000;
/// How long a measured offset to KuCoin's clock signs requests without asking its time again.
pub const CLOCK_REUSE_MS: u64 = 5 * 60_000;

/// Daily candles asked for at once: "at most 1500 pieces of data" a request.
const CANDLE_DAYS: u64 = 1_500;
/// Trade legs kept waiting for their partner: only a page boundary parts them.
const MAX_LEGS: usize = 100;

/// Where an import stands.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    /// The start of the week being read (inclusive).
    #[serde(default)]
    from: u64,
    /// The end of the round under way: the time it began; 0 between rounds.
    #[serde(default)]
    until: u64,
    /// The page of the week to ask for next, from 1.
    #[serde(default = "first_page")]
    page: u64,
    /// The end of the last round read to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synced: Option<u64>,
    /// Trade legs waiting for their partner ([`Leg::text`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    legs: Vec<String>,
    /// Rows read in this import.
    #[serde(default)]
    read: u64,
    /// The round has read its weeks and reads the high-frequency ledger, newest first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    hf: bool,
    /// The id of the last high-frequency row read: the next page asks for older ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hf_after: Option<u64>,
    /// KuCoin's clock less ours (ms), as measured at `measured`.
    #[serde(default, skip_serializing_if = "is_zero")]
    offset: i64,
    /// When `offset` was measured (our clock, ms); 0: never.
    #[serde(default, skip_serializing_if = "is_zero")]
    measured: u64,
}

fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn first_page() -> u64 {
    1
}

impl Cursor {
    fn read(text: Option<&str>) -> Result<Self> {
        let invalid = Error::InvalidInput { field: "cursor" };
        let Some(text) = text else { return Ok(Self { page: 1, ..Self::default() }) };
        let cursor: Cursor = serde_json::from_str(text).map_err(|_| invalid.clone())?;
        let sane = (1..=100_000).contains(&cursor.page)
            && cursor.legs.len() <= MAX_LEGS
            && cursor.legs.iter().all(|leg| Leg::parse(leg).is_some());
        if sane { Ok(cursor) } else { Err(invalid) }
    }

    /// The end of the week under way, inclusive.
    fn window_end(&self) -> u64 {
        self.from.saturating_add(WINDOW_MS - 1).min(self.until)
    }

    /// Where the round's part of the high-frequency ledger starts: as far back as it answers,
    /// which is before the last round's end whenever rounds are less than three days apart.
    fn hf_start(&self) -> u64 {
        self.until.saturating_sub(HF_REACH_MS)
    }

    /// The path of the page to ask for next, with its query.
    fn path(&self) -> String {
        if self.hf {
            let after = self.hf_after.map(|id| format!("&lastId={id}")).unwrap_or_default();
            format!("{HF_LEDGER_PATH}?endAt={}{after}&limit={HF_PAGE_SIZE}&startAt={}", self.until, self.hf_start())
        } else {
            format!("{LEDGER_PATH}?currentPage={}&endAt={}&pageSize={PAGE_SIZE}&startAt={}", self.page, self.window_end(), self.from)
        }
    }

    /// KuCoin's time now, from an offset measured in the last [`CLOCK_REUSE_MS`]; `None` when
    /// there is none or our clock went back since.
    fn kucoin_time(&self, now: u64) -> Option<u64> {
        let fresh = self.measured > 0 && now >= self.measured && now - self.measured <= CLOCK_REUSE_MS;
        if fresh { now.checked_add_signed(self.offset) } else { None }
    }

    /// Keeps how far KuCoin's clock (`server`) is from ours (`now`).
    fn measure(&mut self, server: u64, now: u64) -> Result<()> {
        let offset = i64::try_from(server).ok().zip(i64::try_from(now).ok()).and_then(|(server, now)| server.checked_sub(now));
        self.offset = offset.ok_or_else(malformed)?;
        self.measured = now;
        Ok(())
    }

    /// The cursor of a round read to its end.
    fn caught_up(self) -> Self {
        Cursor { page: 1, synced: Some(self.until), read: self.read, ..Cursor::default() }
    }
}

/// A fill's leg waiting for the other; the cursor keeps it as `trade,at,coin,gross,fee,base`.
struct Leg {
    trade: String,
    at: u64,
    coin: String,
    /// The balance change before the fee: positive received, negative sent.
    gross: Decimal,
    /// Charged in `coin`.
    fee: Decimal,
    /// The base currency of the fill's market.
    base: String,
}

impl Leg {
    fn text(&self) -> String {
        format!("{},{},{},{},{},{}", self.trade, self.at, self.coin, self.gross, self.fee, self.base)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(',');
        let leg = Leg {
            trade: row_id(parts.next()?)?,
            at: parts.next()?.parse().ok()?,
            coin: cartera_code(parts.next()?)?,
            gross: Decimal::from_str(parts.next()?).ok()?,
            fee: Decimal::from_str(parts.next()?).ok()?,
            base: cartera_code(parts.next()?)?,
        };
        parts.next().is_none().then_some(leg)
    }
}

/// One page of the history: one signed request of a ledger, after KuCoin's time when the cursor
/// holds no offset to its clock measured in the last [`CLOCK_REUSE_MS`].
pub struct HistoryPageFlow {
    cursor: Option<String>,
    state: State,
}

enum State {
    Start,
    Timing(Cursor),
    /// The request is signed; `reused`: with an offset measured by an earlier page.
    Reading { cursor: Cursor, reused: bool },
    Finished,
}

impl HistoryPageFlow {
    /// The page that goes on from `cursor` (`None`: the first page of a first import).
    pub fn new(cursor: Option<&str>) -> Self {
        Self { cursor: cursor.map(str::to_owned), state: State::Start }
    }

    /// The page's request, signed at `timestamp` (KuCoin's clock).
    fn sign(&mut self, cursor: Cursor, timestamp: u64, reused: bool, context: &Context<'_>) -> Result<Step<HistoryPage>> {
        let request = signed_get(context.credentials()?, timestamp, &cursor.path())?;
        self.state = State::Reading { cursor, reused };
        Ok(Step::Send(request))
    }

    fn ask_time(&mut self, cursor: Cursor) -> Step<HistoryPage> {
        self.state = State::Timing(cursor);
        Step::Send(HttpRequest::get(format!("{API_ORIGIN}{TIME_PATH}")))
    }
}

impl Flow<HistoryPage> for HistoryPageFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        let now = context.now_ms();
        match (std::mem::replace(&mut self.state, State::Finished), answer) {
            (State::Start, None) => {
                let mut cursor = Cursor::read(self.cursor.as_deref())?;
                if cursor.until == 0 {
                    cursor.until = now;
                    let start = match cursor.synced {
                        Some(synced) => synced.saturating_sub(LOOKBACK_MS),
                        None => cursor.until.saturating_sub(REACH_MS),
                    };
                    cursor.from = start.min(cursor.until);
                    cursor.page = 1;
                }
                match cursor.kucoin_time(now) {
                    Some(timestamp) => self.sign(cursor, timestamp, true, context),
                    None => Ok(self.ask_time(cursor)),
                }
            }
            (State::Timing(mut cursor), Some(time)) => {
                let server = server_time(time)?;
                cursor.measure(server, now)?;
                self.sign(cursor, server, false, context)
            }
            (State::Reading { cursor, reused }, Some(answer)) => match read_data(answer) {
                // Our clock moved since the offset was measured: measure it again, once.
                Err(Error::ClockSkew { .. }) if reused => Ok(self.ask_time(cursor)),
                Err(Error::MissingPermission { exchange }) => Err(Error::HistoryPermission { exchange }),
                Err(error) => Err(error),
                Ok(data) if cursor.hf => read_hf_page(data, cursor).map(Step::Done),
                Ok(data) => read_page(data, cursor).map(Step::Done),
            },
            _ => Err(out_of_turn()),
        }
    }
}

/// Reads one ledger page into its transactions and the cursor after it.
fn read_page(data: Value<'_>, mut cursor: Cursor) -> Result<HistoryPage> {
    let rows: Vec<Value<'_>> = data.get("items").and_then(Value::items).ok_or_else(malformed)?.take(PAGE_SIZE + 1).collect();
    let total_pages = data.get("totalPage").and_then(Value::unsigned).ok_or_else(malformed)?;
    if rows.len() > PAGE_SIZE {
        return Err(malformed());
    }
    let transactions = read_rows(&rows, &mut cursor, Source::Ledger)?;
    // A page with no rows ends the week whatever the page count says: asking again would loop.
    if cursor.page < total_pages && !rows.is_empty() {
        cursor.page += 1;
    } else {
        cursor.page = 1;
        let end = cursor.window_end();
        // A week ending a millisecond short of the round's end ends the round too: a row at that
        // millisecond is read by the next round, which starts before it.
        if end.saturating_add(1) < cursor.until {
            cursor.from = end + 1;
        } else if cursor.legs.is_empty() {
            cursor.hf = true;
            cursor.hf_after = None;
        } else {
            // Both legs of every fill are in a round that is read to its end.
            return Err(malformed());
        }
    }
    Ok(page(transactions, cursor, false))
}

/// Reads one page of the high-frequency ledger (newest first, [`HF_PAGE_SIZE`] rows at most,
/// the next page older than its last row's id) into its transactions and the cursor after it.
fn read_hf_page(data: Value<'_>, mut cursor: Cursor) -> Result<HistoryPage> {
    let rows: Vec<Value<'_>> = data.items().ok_or_else(malformed)?.take(HF_PAGE_SIZE + 1).collect();
    if rows.len() > HF_PAGE_SIZE {
        return Err(malformed());
    }
    let transactions = read_rows(&rows, &mut cursor, Source::HighFrequency)?;
    if rows.len() < HF_PAGE_SIZE {
        // Both legs of every fill are in the part of the round read to its end.
        return if cursor.legs.is_empty() { Ok(page(transactions, cursor.caught_up(), true)) } else { Err(malformed()) };
    }
    let last = rows.last().and_then(|row| row.get("id")).and_then(|id| id.string()?.parse::<u64>().ok()).ok_or_else(malformed)?;
    // Each page goes further back, or the walk would not end.
    if cursor.hf_after.is_some_and(|after| last >= after) {
        return Err(malformed());
    }
    cursor.hf_after = Some(last);
    Ok(page(transactions, cursor, false))
}

/// The transactions of `rows`, pairing trade legs with those the cursor keeps waiting.
fn read_rows(rows: &[Value<'_>], cursor: &mut Cursor, source: Source) -> Result<Vec<Transaction>> {
    let mut legs: Vec<Leg> = cursor.legs.iter().filter_map(|leg| Leg::parse(leg)).collect();
    let mut transactions = Vec::new();
    for row in rows {
        transactions.extend(ledger_row(*row, &mut legs, source).ok_or_else(malformed)?);
    }
    if legs.len() > MAX_LEGS {
        return Err(malformed());
    }
    cursor.legs = legs.iter().map(Leg::text).collect();
    cursor.read = cursor.read.saturating_add(rows.len() as u64);
    Ok(transactions)
}

fn page(mut transactions: Vec<Transaction>, cursor: Cursor, caught_up: bool) -> HistoryPage {
    transactions.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    HistoryPage {
        transactions,
        // Integers and strings always serialise.
        cursor: serde_json::to_string(&cursor).unwrap_or_default(),
        caught_up,
        read: cursor.read,
        expected: None,
        wait_ms: if caught_up { 0 } else { PACE_MS },
    }
}

/// Which ledger a row comes from: they write a credited trade leg's `amount` differently.
#[derive(Clone, Copy)]
enum Source {
    /// `amount` is "the total amount of assets (fees included)": a leg's amount before its fee.
    Ledger,
    /// `amount` is the "change in funds balance": a credited leg's amount after its fee (the
    /// documentation's example credits 1.5976008 USDT with a fee of 0.0015992, 0.1 % of 1.5992).
    HighFrequency,
}

/// A ledger or trade id: KuCoin's are letters and digits (`611a1e7c6a053300067a88d9`).
fn row_id(id: &str) -> Option<String> {
    ((1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| id.to_owned())
}

fn amount(coin: &str, amount: Decimal) -> Option<Amount> {
    Amount::new(coin, amount.abs()).ok()
}

/// A fee that is not zero.
fn charged(coin: &str, fee: Decimal) -> Option<Option<Amount>> {
    if fee.is_zero() { Some(None) } else { amount(coin, fee).map(Some) }
}

/// One ledger row: what it did, or nothing for what moves nothing Cartera counts.
fn ledger_row(row: Value<'_>, legs: &mut Vec<Leg>, source: Source) -> Option<Vec<Transaction>> {
    let [id, coin, moved, fee, kind, direction, at, context] =
        row.pick(["id", "currency", "amount", "fee", "bizType", "direction", "createdAt", "context"])?;
    let id = row_id(&id?.string()?)?;
    let at = at.and_then(|at| at.unsigned().or_else(|| at.string()?.parse().ok())).filter(|&at| at > 0)?;
    let coin = cartera_code(&coin?.string()?)?;
    let moved = moved?.decimal()?;
    let fee = match fee {
        Some(fee) if !fee.is_null() => fee.decimal()?,
        _ => Decimal::ZERO,
    };
    if moved.is_sign_negative() || fee.is_sign_negative() {
        return None;
    }
    let incoming = match &*direction?.string()? {
        "in" => true,
        "out" => false,
        _ => return None,
    };
    // KuCoin writes the kind as words (`Sub-account transfer`) or as a code (`SUB_TRANSFER`).
    let kind: String = kind?.string()?.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    let id = match source {
        Source::Ledger => format!("ledger:{id}"),
        Source::HighFrequency => format!("hf:{id}"),
    };
    let single = |kind: Kind, received: Option<Amount>, sent: Option<Amount>, fee: Option<Amount>| Some(vec![Transaction { id: id.clone(), at, kind, side: None, received, sent, fee }]);
    match kind.as_str() {
        "exchange" | "tradeexchange" => {
            let gross = match (incoming, source) {
                (true, Source::Ledger) => moved,
                (true, Source::HighFrequency) => moved.plus(fee)?,
                (false, _) => -(moved.minus(fee)?),
            };
            trade_leg(at, coin, gross, fee, context?, legs)
        }
        "deposit" if incoming => single(Kind::Deposit, Some(amount(&coin, moved)?), None, charged(&coin, fee)?),
        "withdrawal" | "withdraw" if !incoming => {
            let sent = moved.minus(fee).filter(|sent| *sent > Decimal::ZERO)?;
            single(Kind::Withdrawal, None, Some(amount(&coin, sent)?), charged(&coin, fee)?)
        }
        "rewards" | "otherrewards" | "kucoinbonus" | "referralbonus" | "airdropfork" | "distribution" | "feerebate"
        | "refundedfees" | "returnedfees" | "kcsreturnedfees" | "stakingprofits" | "softstakingprofits"
            if incoming && !moved.is_zero() =>
        {
            single(Kind::Reward, Some(amount(&coin, moved)?), None, None)
        }
        "kcspayfees" | "kcsdeductionfees" | "deductionfees" if !incoming && !moved.is_zero() => {
            single(Kind::Fee, None, None, Some(amount(&coin, moved)?))
        }
        _ => Some(Vec::new()),
    }
}

/// One leg of a fill: kept until its partner is read, then the trade both make.
/// `gross`: the balance change before the fee, positive received, negative sent.
fn trade_leg(at: u64, coin: String, gross: Decimal, fee: Decimal, context: Value<'_>, legs: &mut Vec<Leg>) -> Option<Vec<Transaction>> {
    // The context is JSON inside a string; some answers write it with single quotes.
    let context = context.string()?.replace('\'', "\"");
    let context = Value::parse(&context)?;
    let [trade, symbol] = context.pick(["tradeId", "symbol"])?;
    let trade = row_id(&trade?.string()?)?;
    let symbol = symbol?.string()?;
    let base = cartera_code(symbol.split_once('-')?.0)?;
    if gross.is_zero() {
        return None;
    }
    let leg = Leg { trade, at, coin, gross, fee, base };
    let Some(index) = legs.iter().position(|other| other.trade == leg.trade) else {
        legs.push(leg);
        return Some(Vec::new());
    };
    pair(leg, legs.swap_remove(index))
}

/// The trade two legs of one fill make, with a second fee as a transaction of its own.
fn pair(one: Leg, other: Leg) -> Option<Vec<Transaction>> {
    let (received, sent) = match (one.gross.is_sign_positive(), other.gross.is_sign_positive()) {
        (true, false) => (one, other),
        (false, true) => (other, one),
        _ => return None,
    };
    if received.coin == sent.coin || received.base != sent.base {
        return None;
    }
    let id = format!("trade:{}", received.trade);
    let mut fees = [&received, &sent].into_iter().filter(|leg| !leg.fee.is_zero());
    let first = fees.next();
    let mut transactions = vec![Transaction {
        id: id.clone(),
        at: received.at.max(sent.at),
        kind: Kind::Trade,
        side: Some(if received.coin == received.base { Side::Buy } else { Side::Sell }),
        received: Some(amount(&received.coin, received.gross)?),
        sent: Some(amount(&sent.coin, sent.gross)?),
        fee: match first {
            Some(leg) => Some(amount(&leg.coin, leg.fee)?),
            None => None,
        },
    }];
    for leg in fees {
        let fee = Some(amount(&leg.coin, leg.fee)?);
        transactions.push(Transaction { id: format!("{id}:{}", leg.coin), at: leg.at, kind: Kind::Fee, side: None, received: None, sent: None, fee });
    }
    Some(transactions)
}

/// Whether `market` is a spot symbol as KuCoin's tickers name it (`BTC-USDT`): nothing else
/// reaches a candles URL.
pub fn is_symbol(market: &str) -> bool {
    let part = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    market.len() <= 30 && market.split_once('-').is_some_and(|(base, quote)| part(base) && part(quote))
}

/// A market's daily candles, [`CANDLE_DAYS`] at a time:
/// `GET /api/v1/market/candles?type=1day` (<https://www.kucoin.com/docs-new/rest/spot-trading/market-data/get-klines>),
/// times in seconds, rows `[time, open, close, high, low, volume, turnover]`, newest first.
pub struct Candles {
    symbol: String,
    next_day: u64,
    to_day: u64,
    closes: Vec<DailyClose>,
}

impl Candles {
    /// The closes of `symbol` on days `from_day..=to_day`.
    pub fn new(symbol: &str, from_day: u64, to_day: u64) -> Self {
        Self { symbol: symbol.to_owned(), next_day: from_day, to_day, closes: Vec::new() }
    }
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            for row in read_data(answer)?.items().ok_or_else(malformed)?.take(MAX_ROWS) {
                let fields: Vec<Value<'_>> = row.items().ok_or_else(malformed)?.take(3).collect();
                let start = fields.first().and_then(|time| time.string()?.parse::<u64>().ok());
                let (Some(start), Some(close)) = (start, fields.get(2).and_then(|close| close.decimal())) else {
                    return Err(malformed());
                };
                if close > Decimal::ZERO {
                    self.closes.push(DailyClose { day: day_of(start.saturating_mul(1000)), close });
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
        // `endAt` is exclusive of the candle that starts at it: the day after the last one asked.
        let url = format!(
            "{API_ORIGIN}{CANDLES_PATH}?type=1day&symbol={}&startAt={}&endAt={}",
            self.symbol,
            self.next_day.saturating_mul(DAY_MS / 1000),
            last.saturating_add(1).saturating_mul(DAY_MS / 1000) - 1,
        );
        self.next_day = last + 1;
        Ok(Step::Send(HttpRequest::get(url)))
    }
}
