//! Bitfinex's transaction history, for the cost basis, and its public daily candles.
//!
//! # Sources
//!
//! Bitfinex's ledger (`POST /v2/auth/r/ledgers/hist`) holds every balance change, but a trade is
//! two or three rows of it (one per currency, and the fee), tied together only by their time and
//! an undocumented description text, and a row does not say its category. So each kind of
//! transaction is read where Bitfinex states it whole:
//!
//! - **Trades**: `POST /v2/auth/r/trades/hist`
//!   (<https://docs.bitfinex.com/reference/rest-auth-trades>), one row per fill,
//!   `[ID, SYMBOL, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE, ORDER_PRICE, MAKER, FEE,
//!   FEE_CURRENCY, …]`: the side is EXEC_AMOUNT's sign, the quote leg is |EXEC_AMOUNT| ×
//!   EXEC_PRICE (exact), and FEE is what was charged in FEE_CURRENCY, which may be a third asset;
//!   a negative FEE is a fee, a positive one a rebate (a reward of its own). Only spot trades
//!   count: an ORDER_TYPE that does not start with `EXCHANGE` is a margin order (a position, not
//!   an exchange of assets) and derivatives pairs (`…F0`) are perpetuals; both are skipped, as
//!   Cartera keeps the cost basis of what is held, not of positions. The documentation does not
//!   say when ORDER_TYPE is null; such a fill on a spot pair is read as a spot trade, since
//!   dropping it would lose a real exchange of assets.
//! - **Deposits and withdrawals**: `POST /v2/auth/r/movements/hist`
//!   (<https://docs.bitfinex.com/reference/rest-auth-movements>),
//!   `[ID, CURRENCY, CURRENCY_NAME, _, _, MTS_STARTED, MTS_UPDATED, _, _, STATUS, _, _, AMOUNT,
//!   FEES, …]`, `COMPLETED` ones only, at MTS_UPDATED (the filter this endpoint pages on, so one
//!   that completes later is found by a later sync); |AMOUNT| is what arrived or left, |FEES| the
//!   fee on top of it.
//! - **Income**, from the ledger by category (the table on the ledgers page): 262 staking
//!   payments, 28 margin-funding interest in the funding wallet (the same category in the margin
//!   wallet is swap interest on margin positions, skipped with them) and 241 affiliate rebates.
//!   A credit is a reward, a debit a fee. Rows `[ID, CURRENCY, WALLET, MTS, _, AMOUNT, BALANCE, _,
//!   DESCRIPTION]`.
//!
//! Not read: internal transfers between wallets (category 51: the account's total does not
//! change), margin positions and their funding costs (22–27, 29, 31), and rare corrections
//! (401 adjustment, 501 expense, 905, 907, 911).
//!
//! # Paging
//!
//! None of the three returns rows oldest first (only trades take a `sort`), so each source is
//! read newest first, within a window: `start` (the newest rows the previous round of that
//! source saw) to `end` (the time the round began). A full page moves `end` back to its oldest
//! row's time, inclusive, and remembers the ids read at that millisecond, so rows sharing a
//! millisecond across a page boundary are neither lost nor counted twice; a page with fewer rows
//! than the limit ends the window. The sources are read one after another, one request a page,
//! in [`STREAMS`] order; after the last one the import is caught up, and the next sync starts a
//! new round from where each source stopped, so rows that arrive during an import are read by
//! that next round. Both bounds are inclusive: the movements page says so of MTS_UPDATED, and
//! rotki pages trades the same way (restarting at the last row's time and dropping ids it has
//! seen); rows already read at either bound are recognised by their ids, so nothing counts twice
//! whichever way Bitfinex reads them.
//!
//! A first import of two years with about 500 fills, 50 deposits and withdrawals and a few
//! hundred income rows fits in one page per source: six requests (the permission check and five
//! reads) over five pages, about 6 s at [`HISTORY_PACE_MS`]. A sync asks the same six.
//!
//! A round begins with `POST /v2/auth/r/permissions`: a key whose `history` scope may not read
//! ("Account History" unticked) fails with [`Error::HistoryPermission`] whatever error shape the
//! history endpoints would answer with.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    EMPTY_BODY, EXCHANGE, PERMISSIONS_PATH, PUBLIC_ORIGIN, asset_code, flag, is_currency_id, is_paper_trading, read_rows,
    signed_request, split_pair,
};
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

/// Every spot, margin and derivatives fill of the account.
pub const TRADES_PATH: &str = "/v2/auth/r/trades/hist";
/// Every deposit and withdrawal, by the time it last changed.
pub const MOVEMENTS_PATH: &str = "/v2/auth/r/movements/hist";
/// Every balance change, filtered by category.
pub const LEDGERS_PATH: &str = "/v2/auth/r/ledgers/hist";

/// Between two history pages. The ledgers and movements pages document 90 requests a minute;
/// the trades page's limit could not be confirmed, and Bitfinex's limits range from 10 to 90
/// a minute per endpoint (<https://docs.bitfinex.com/docs/requirements-and-limitations>), so
/// an import keeps to 40 a minute, below the 45 some clients assume for trades: going over blocks
/// the IP for a minute, which costs far more than pacing.
pub const HISTORY_PACE_MS: u64 = 1_500;

/// Days of candles asked for at once: Bitfinex's candles page allows 10,000 a request today,
/// older answers refused more than 1,000 (`["error",10020,"limit: invalid"]`); 1,000 days fit both.
const CANDLE_DAYS: u64 = 1_000;

/// One source of history rows.
pub struct Stream {
    /// Its key in the cursor.
    pub name: &'static str,
    /// The endpoint.
    pub path: &'static str,
    /// Body members before `start`, `end` and `limit`, each followed by a comma.
    pub filter: &'static str,
    /// The most rows one answer holds: the documented maximum (movements: the lower of the 2,500
    /// its page states and the 1,000 other clients keep to, since an answer that was silently
    /// cut short would end the window early and lose rows).
    pub limit: usize,
    /// Reads one row, or `None` when it cannot be read.
    read: fn(Value<'_>) -> Option<Row>,
}

/// The sources, in the order each round reads them.
pub const STREAMS: [Stream; 5] = [
    Stream { name: "trades", path: TRADES_PATH, filter: r#""sort":-1,"#, limit: 2_500, read: trade_row },
    Stream { name: "movements", path: MOVEMENTS_PATH, filter: "", limit: 1_000, read: movement_row },
    Stream { name: "staking", path: LEDGERS_PATH, filter: r#""category":262,"#, limit: 2_500, read: income_row },
    Stream {
        name: "interest",
        path: LEDGERS_PATH,
        filter: r#""category":28,"wallet":"funding","#,
        limit: 2_500,
        read: interest_row,
    },
    Stream { name: "rebates", path: LEDGERS_PATH, filter: r#""category":241,"#, limit: 2_500, read: income_row },
];

/// One row of a source: its id and time, and what it did (nothing, for a row Cartera skips).
struct Row {
    id: String,
    mts: u64,
    transactions: Vec<Transaction>,
}

/// The rows already read at one millisecond.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// Milliseconds since the epoch.
    pub mts: u64,
    /// The ids of the rows read at `mts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
}

impl Mark {
    fn knows(&self, row: &Row) -> bool {
        row.mts == self.mts && self.ids.contains(&row.id)
    }

    /// Adds `row` to the newest mark: a newer row replaces it, one at the same time joins it.
    fn take_newest(newest: &mut Option<Mark>, row: &Row) {
        match newest {
            Some(mark) if mark.mts > row.mts => {}
            Some(mark) if mark.mts == row.mts => {
                if !mark.ids.contains(&row.id) {
                    mark.ids.push(row.id.clone());
                }
            }
            _ => *newest = Some(Mark { mts: row.mts, ids: vec![row.id.clone()] }),
        }
    }
}

/// A window being read newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Where the next request ends (inclusive), and the rows read there already.
    pub end: Mark,
    /// The newest rows found so far: where the next round of this source starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Mark>,
}

/// Where an import stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryCursor {
    /// The source being read, an index into [`STREAMS`].
    #[serde(default)]
    pub stream: usize,
    /// Per source, the newest rows read: the next round starts there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen: BTreeMap<String, Mark>,
    /// The window under way through the current source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// Rows read so far.
    #[serde(default)]
    pub read: u64,
}

impl HistoryCursor {
    /// Reads a stored cursor, refusing one this version did not write.
    fn read(text: &str) -> Result<Self> {
        let invalid = Error::InvalidInput { field: "cursor" };
        let cursor: HistoryCursor = serde_json::from_str(text).map_err(|_| invalid.clone())?;
        let marks = cursor.seen.values().chain(cursor.sweep.iter().flat_map(|sweep| std::iter::once(&sweep.end).chain(&sweep.newest)));
        let sane = cursor.stream < STREAMS.len()
            && cursor.seen.keys().all(|name| STREAMS.iter().any(|stream| stream.name == name))
            && marks.into_iter().all(|mark| mark.ids.len() <= 2_500 && mark.ids.iter().all(|id| is_row_id(id)));
        if sane { Ok(cursor) } else { Err(invalid) }
    }

    fn text(&self) -> String {
        // Integers, strings and maps of them always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One page of the history: one request to the current source, after the permission check when a
/// round begins.
pub struct HistoryPageFlow {
    cursor: Option<String>,
    state: PageState,
}

enum PageState {
    Start,
    /// The permission check was sent.
    Checking(HistoryCursor),
    /// The current source's request was sent, with the window it asked for.
    Reading(HistoryCursor, Window),
    Finished,
}

/// What one request asked for.
struct Window {
    start: Mark,
    end: Mark,
    newest: Option<Mark>,
}

impl HistoryPageFlow {
    pub fn new(cursor: Option<&str>) -> Self {
        Self { cursor: cursor.map(str::to_owned), state: PageState::Start }
    }
}

impl Flow<HistoryPage> for HistoryPageFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        match (std::mem::replace(&mut self.state, PageState::Finished), answer) {
            (PageState::Start, None) => {
                let cursor = match self.cursor.as_deref() {
                    Some(text) => HistoryCursor::read(text)?,
                    None => HistoryCursor::default(),
                };
                if cursor.stream == 0 && cursor.sweep.is_none() {
                    let nonce = context.nonce()?.to_string();
                    let request = signed_request(context.credentials()?, &nonce, PERMISSIONS_PATH, EMPTY_BODY)?;
                    self.state = PageState::Checking(cursor);
                    return Ok(Step::Send(request));
                }
                self.request(cursor, context)
            }
            (PageState::Checking(cursor), Some(answer)) => {
                if !history_readable(answer)? {
                    return Err(Error::HistoryPermission { exchange: EXCHANGE });
                }
                self.request(cursor, context)
            }
            (PageState::Reading(cursor, window), Some(answer)) => read_page(answer, cursor, &window).map(Step::Done),
            // The engine feeds answers strictly in turn; anything else is a bug, reported as such.
            _ => Err(Error::InvalidInput { field: "refresh" }),
        }
    }
}

impl HistoryPageFlow {
    /// The request for the current source's next window.
    fn request(&mut self, cursor: HistoryCursor, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        let stream = &STREAMS[cursor.stream];
        let seen = cursor.seen.get(stream.name).cloned();
        let start = seen.clone().unwrap_or_default();
        let window = match &cursor.sweep {
            Some(sweep) => Window { start, end: sweep.end.clone(), newest: sweep.newest.clone() },
            // A new round: its newest rows are at least the ones the last round ended on.
            None => Window { start, end: Mark { mts: context.now_ms(), ids: Vec::new() }, newest: seen },
        };
        let body = format!(
            r#"{{{}"start":{},"end":{},"limit":{}}}"#,
            stream.filter, window.start.mts, window.end.mts, stream.limit
        );
        let nonce = context.nonce()?.to_string();
        let request = signed_request(context.credentials()?, &nonce, stream.path, &body)?;
        self.state = PageState::Reading(cursor, window);
        Ok(Step::Send(request))
    }
}

/// Whether the key's `history` scope may read (`[SCOPE, READ, WRITE]` rows of
/// `/v2/auth/r/permissions`); a list without it leaves the answer to the history endpoints.
fn history_readable(response: HttpResponse<'_>) -> Result<bool> {
    let rows = read_rows(response).map_err(history_error)?;
    for row in rows.into_iter().take(MAX_ROWS) {
        let fields: Vec<Value<'_>> = row.items().ok_or(Error::MalformedResponse { exchange: EXCHANGE })?.collect();
        if fields.first().and_then(|name| name.string()).as_deref() == Some("history") {
            return fields.get(1).and_then(|read| flag(*read)).ok_or(Error::MalformedResponse { exchange: EXCHANGE });
        }
    }
    Ok(true)
}

/// A key that may not read what history needs says so as such.
fn history_error(error: Error) -> Error {
    match error {
        Error::MissingPermission { exchange } => Error::HistoryPermission { exchange },
        other => other,
    }
}

/// Reads one answer of the current source into transactions and the cursor after it.
fn read_page(response: HttpResponse<'_>, mut cursor: HistoryCursor, window: &Window) -> Result<HistoryPage> {
    let stream = &STREAMS[cursor.stream];
    let elements = read_rows(response).map_err(history_error)?;
    let full = elements.len() >= stream.limit;
    let rows = each_row(elements, stream.read)?;

    let mut newest = window.newest.clone();
    let mut oldest: Option<u64> = None;
    let mut transactions = Vec::new();
    let mut fresh = 0u64;
    for row in &rows {
        Mark::take_newest(&mut newest, row);
        oldest = Some(oldest.map_or(row.mts, |oldest| oldest.min(row.mts)));
        if window.start.knows(row) || window.end.knows(row) {
            continue;
        }
        fresh += 1;
        transactions.extend(row.transactions.iter().cloned());
    }
    cursor.read = cursor.read.saturating_add(fresh);

    let next_end = oldest.filter(|_| full).filter(|&oldest| oldest >= window.start.mts);
    let caught_up = match next_end {
        // A full page: the window goes on below its oldest row.
        Some(end) => {
            // Every row at the window's end: Bitfinex would answer the same page again.
            if end == window.end.mts {
                return Err(Error::MalformedResponse { exchange: EXCHANGE });
            }
            let ids = rows.iter().filter(|row| row.mts == end).map(|row| row.id.clone()).collect();
            cursor.sweep = Some(Sweep { end: Mark { mts: end, ids }, newest });
            false
        }
        // The window is read: the next round of this source starts at its newest rows.
        None => {
            if let Some(newest) = newest {
                cursor.seen.insert(stream.name.to_owned(), newest);
            }
            cursor.sweep = None;
            cursor.stream += 1;
            let last = cursor.stream == STREAMS.len();
            if last {
                cursor.stream = 0;
            }
            last
        }
    };
    transactions.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(HistoryPage {
        transactions,
        cursor: cursor.text(),
        caught_up,
        read: cursor.read,
        expected: None,
        wait_ms: if caught_up { 0 } else { HISTORY_PACE_MS },
    })
}

/// Every row of an answer, read with `read`. A row that cannot be read, or one more than
/// [`MAX_ROWS`], fails the whole answer as malformed: the cursor would pass it for good.
fn each_row<T>(rows: Vec<Value<'_>>, read: impl Fn(Value<'_>) -> Option<T>) -> Result<Vec<T>> {
    let malformed = || Error::MalformedResponse { exchange: EXCHANGE };
    if rows.len() > MAX_ROWS {
        return Err(malformed());
    }
    rows.into_iter().map(|row| read(row).ok_or_else(malformed)).collect()
}

/// A row id: Bitfinex's are integers, sent as JSON numbers (movements document strings).
fn row_id(value: Value<'_>) -> Option<String> {
    let id = match value.string() {
        Some(text) => text.into_owned(),
        None => value.unsigned()?.to_string(),
    };
    is_row_id(&id).then_some(id)
}

fn is_row_id(id: &str) -> bool {
    (1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A row's fields, when it is an array of at least `len`.
fn fields(row: Value<'_>, len: usize) -> Option<Vec<Value<'_>>> {
    let fields: Vec<Value<'_>> = row.items()?.collect();
    (fields.len() >= len).then_some(fields)
}

/// A currency of a row as Cartera's code, `None` when it cannot be one; paper-trading currencies
/// are `Some(None)`.
fn currency(value: Value<'_>) -> Option<Option<String>> {
    let currency = value.string()?;
    if !is_currency_id(&currency) {
        return None;
    }
    Some((!is_paper_trading(&currency)).then(|| asset_code(&currency)))
}

fn amount(asset: &str, amount: Decimal) -> Option<Amount> {
    Amount::new(asset, amount.abs()).ok()
}

/// One fill of `/v2/auth/r/trades/hist`.
fn trade_row(row: Value<'_>) -> Option<Row> {
    let fields = fields(row, 11)?;
    let id = row_id(fields[0])?;
    let mts = fields[2].unsigned()?;
    let skipped = |id: String| Some(Row { id, mts, transactions: Vec::new() });
    let symbol = fields[1].string()?;
    let (base, quote) = split_pair(symbol.strip_prefix('t')?)?;
    let exec_amount = fields[4].decimal()?;
    let price = fields[5].decimal()?;
    let spot = match fields[6] {
        order_type if order_type.is_null() => true,
        order_type => order_type.string()?.starts_with("EXCHANGE"),
    };
    let fee = if fields[9].is_null() { Decimal::ZERO } else { fields[9].decimal()? };
    let derivative = base.ends_with("F0") || quote.ends_with("F0");
    if !spot || derivative || is_paper_trading(base) || is_paper_trading(quote) || exec_amount.is_zero() {
        return skipped(id);
    }
    if price <= Decimal::ZERO {
        return None;
    }
    let (base, quote) = (asset_code(base), asset_code(quote));
    if base == quote {
        return None;
    }
    let base_leg = amount(&base, exec_amount)?;
    let quote_leg = amount(&quote, exec_amount.abs().times(price)?)?;
    let (side, received, sent) =
        if exec_amount.is_sign_positive() { (Side::Buy, base_leg, quote_leg) } else { (Side::Sell, quote_leg, base_leg) };
    let fee_asset = if fee.is_zero() { None } else { currency(fields[10])? };
    let charged = match fee_asset.as_deref() {
        Some(asset) if fee.is_sign_negative() => Some(amount(asset, fee)?),
        _ => None,
    };
    let mut transactions = vec![Transaction {
        id: format!("trade:{id}"),
        at: mts,
        kind: Kind::Trade,
        side: Some(side),
        received: Some(received),
        sent: Some(sent),
        fee: charged,
    }];
    if let Some(asset) = fee_asset.filter(|_| fee.is_sign_positive()) {
        transactions.push(Transaction {
            id: format!("trade:{id}:rebate"),
            at: mts,
            kind: Kind::Reward,
            side: None,
            received: Some(amount(&asset, fee)?),
            sent: None,
            fee: None,
        });
    }
    Some(Row { id, mts, transactions })
}

/// One deposit or withdrawal of `/v2/auth/r/movements/hist`.
fn movement_row(row: Value<'_>) -> Option<Row> {
    let fields = fields(row, 14)?;
    let id = row_id(fields[0])?;
    let mts = fields[6].unsigned()?;
    let asset = currency(fields[1])?;
    let status = fields[9].string()?;
    let moved = fields[12].decimal()?;
    let fees = if fields[13].is_null() { Decimal::ZERO } else { fields[13].decimal()? };
    let Some(asset) = asset.filter(|_| status == "COMPLETED" && !moved.is_zero()) else {
        return Some(Row { id, mts, transactions: Vec::new() });
    };
    let fee = if fees.is_zero() { None } else { Some(amount(&asset, fees)?) };
    let leg = Some(amount(&asset, moved)?);
    let (kind, received, sent) =
        if moved.is_sign_positive() { (Kind::Deposit, leg, None) } else { (Kind::Withdrawal, None, leg) };
    let transaction = Transaction { id: format!("movement:{id}"), at: mts, kind, side: None, received, sent, fee };
    Some(Row { id, mts, transactions: vec![transaction] })
}

/// One ledger row of an income category: a credit is a reward, a debit a fee.
fn income_row(row: Value<'_>) -> Option<Row> {
    ledger_row(row, |_| true)
}

/// One ledger row of category 28: interest paid to the funding wallet counts, swap interest on
/// margin positions does not.
fn interest_row(row: Value<'_>) -> Option<Row> {
    ledger_row(row, |wallet| wallet.is_none_or(|wallet| wallet == "funding"))
}

fn ledger_row(row: Value<'_>, counts: fn(Option<&str>) -> bool) -> Option<Row> {
    let fields = fields(row, 6)?;
    let id = row_id(fields[0])?;
    let mts = fields[3].unsigned()?;
    let asset = currency(fields[1])?;
    let change = fields[5].decimal()?;
    // WALLET is documented at index 2; older answers left it null and named the wallet at the end
    // of DESCRIPTION ("Margin Funding Payment on wallet funding").
    let wallet = match fields[2].string() {
        Some(wallet) => Some(wallet.into_owned()),
        None => fields
            .get(8)
            .and_then(|description| description.string())
            .and_then(|description| description.rsplit_once("on wallet ").map(|(_, wallet)| wallet.trim().to_owned())),
    };
    let Some(asset) = asset.filter(|_| counts(wallet.as_deref()) && !change.is_zero()) else {
        return Some(Row { id, mts, transactions: Vec::new() });
    };
    let leg = Some(amount(&asset, change)?);
    let (kind, received, fee) =
        if change.is_sign_positive() { (Kind::Reward, leg, None) } else { (Kind::Fee, None, leg) };
    let transaction = Transaction { id: format!("ledger:{id}"), at: mts, kind, side: None, received, sent: None, fee };
    Some(Row { id, mts, transactions: vec![transaction] })
}

/// Whether `market` is a trading pair as Bitfinex's tickers name it (`tBTCUSD`, `tDOGE:USD`):
/// nothing else reaches a candles URL.
pub fn is_trading_symbol(market: &str) -> bool {
    market.strip_prefix('t').and_then(split_pair).is_some()
}

/// A pair's daily candles, [`CANDLE_DAYS`] at a time, oldest first:
/// `GET /v2/candles/trade:1D:<symbol>/hist` (<https://docs.bitfinex.com/reference/rest-public-candles>),
/// rows `[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]`.
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
            let rows = read_rows(answer)?;
            let closes = each_row(rows, |row| {
                let fields = fields(row, 3)?;
                Some(DailyClose { day: day_of(fields[0].unsigned()?), close: fields[2].decimal()? })
            })?;
            self.closes.extend(closes.into_iter().filter(|close| close.close > Decimal::ZERO));
        }
        if self.next_day > self.to_day {
            return Ok(Step::Done(std::mem::take(&mut self.closes)));
        }
        let last = self.to_day.min(self.next_day.saturating_add(CANDLE_DAYS - 1));
        let url = format!(
            "{PUBLIC_ORIGIN}/v2/candles/trade:1D:{}/hist?start={}&end={}&limit={CANDLE_DAYS}&sort=1",
            self.symbol,
            self.next_day.saturating_mul(DAY_MS),
            last.saturating_add(1).saturating_mul(DAY_MS).saturating_sub(1),
        );
        self.next_day = last + 1;
        Ok(Step::Send(HttpRequest::get(url)))
    }
}
