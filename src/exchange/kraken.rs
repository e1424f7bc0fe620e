//! Kraken Spot REST, <https://docs.kraken.com/api/docs/guides/spot-rest-auth>.
//!
//! Signing: `API-Sign` = base64 of HMAC-SHA512, keyed with the base64-decoded secret, over the
//! URI path (`/0/private/BalanceEx`) followed by the 32 bytes of SHA-256(nonce ‖ body), where the
//! body is the form-encoded POST body exactly as sent (it starts with `nonce=`). `API-Key` carries
//! the key. The nonce is an unsigned 64-bit number that must grow with every request a key signs,
//! so Cartera uses its 19-digit salted nonces, persisted per account by the engine.
//!
//! A holding takes two signed calls, both under the key's "Query Funds" permission:
//! - `BalanceEx` (<https://docs.kraken.com/api-reference/account-data/get-extended-balance>): per
//!   asset `balance` (open orders included) and `hold_trade` (what open orders keep). Amounts that
//!   earn or are held elsewhere come as their own entries with a suffix (`XBT.F`, `DOT.S`,
//!   `USD.HOLD`); Kraken calls them read-only views of separate amounts, to be used through the
//!   base asset.
//! - `Earn/Allocations` (<https://docs.kraken.com/api-reference/earn/list-earn-allocations>):
//!   what every Earn strategy holds. It mostly repeats the `.F`/`.S` entries, but some strategies
//!   are missing from the balances, so per asset the larger of the two is counted, never both.
//!
//! Prices are public: `AssetPairs` (<https://docs.kraken.com/api-reference/market-data/get-tradable-asset-pairs>)
//! splits each pair id into base and quote, and `Ticker` without `pair`
//! (<https://docs.kraken.com/api-reference/market-data/get-ticker-information>) gives every pair
//! at once, keyed by pair id. Its figures are "today" (since midnight UTC) and "last 24 hours";
//! there is no 24-hour change, so none is reported.
//!
//! History is the ledger (`Ledgers`, under the key's "Query Ledger Entries" permission), read
//! as described at `LedgerPage` and turned into transactions by the `ledger` module; daily closes are
//! public `OHLC` candles.
//!
//! Every answer is `{"error": ["<E|W><Category>:<Message>"], "result": …}`, usually with HTTP 200
//! even for errors (<https://docs.kraken.com/api/docs/guides/spot-rest-intro>); a Cloudflare page
//! (520, 5xx, HTML) may come instead.

mod ledger;

use std::{borrow::Cow, collections::BTreeMap};

use base64ct::{Base64, Encoding as _};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use self::ledger::Row;
use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, Method, Step, Ticker, every_row,
    json::{JsonDecimal as _, Value},
    merge_balances,
};
use crate::{
    calendar::day_of,
    error::{Error, Result, capped_wait_ms, sanitize_code},
    exchange_id::ExchangeId,
    money::Exact as _,
    nonce::NonceFormat,
    secret::Credentials,
    signing::{hmac_sha512, sha256},
    transactions::HistoryPage,
};

/// The production API host.
pub const API_ORIGIN: &str = "https://api.kraken.com";
/// Every balance, with what open orders hold.
pub const BALANCE_PATH: &str = "/0/private/BalanceEx";
/// What every Earn strategy holds.
pub const ALLOCATIONS_PATH: &str = "/0/private/Earn/Allocations";
/// Strategies used in the past that hold nothing now are left out of the answer.
pub const ALLOCATIONS_PARAMS: &str = "hide_zero_allocations=true";
/// Every tradable pair with its base and quote asset ids.
pub const ASSET_PAIRS_PATH: &str = "/0/public/AssetPairs";
/// Without `pair`, tickers for every tradable pair.
pub const TICKER_PATH: &str = "/0/public/Ticker";

/// Every balance change of the account, newest first, 50 rows a call
/// (<https://docs.kraken.com/api/docs/rest-api/get-ledgers>).
pub const LEDGERS_PATH: &str = "/0/private/Ledgers";
/// Candles of one pair (<https://docs.kraken.com/api/docs/rest-api/get-ohlc-data>).
pub const OHLC_PATH: &str = "/0/public/OHLC";

/// The rows one `Ledgers` call returns.
const LEDGER_PAGE: u64 = 50;
/// Each `Ledgers` call adds 2 to the key's call counter, which drains by 0.33 a second on the
/// slowest tier (Starter, capped at 15; Intermediate drains 0.5, Pro 1:
/// <https://docs.kraken.com/exchange/guides/rest/ratelimits>): one call every 6.1 s holds it
/// level. One every 8 s lowers it by 0.64 a page, room for a balance refresh (2 points) every
/// 25 s on the slowest tier, so an import never meets the limit.
const LEDGER_PACE_MS: u64 = 8_000;
/// How often one walk of the ledger starts over because its rows moved under it, before it reads
/// on regardless.
const MAX_RESTARTS: u32 = 3;
/// Kraken answers at most the latest 720 candles of an interval, whatever `since` asks for
/// (<https://docs.kraken.com/api/docs/rest-api/get-ohlc-data>): one call reaches every daily
/// candle there is, and `since` only trims its start, so there is no further page to ask for.
const CANDLES_KEPT: u64 = 720;

/// Kraken's own wait after too many failed authentications: "about 15 minutes" (the official
/// SDK's error guide, `EGeneral:Temporary lockout`), the longest wait Cartera honours anyway.
const LOCKOUT_SECS: u64 = 15 * 60;

/// The wait after a rate-limit error that names no time. Kraken's counter drains at 0.33 per
/// second on the slowest (Starter) tier from its cap of 15, so a full counter is empty after
/// about 45 seconds (<https://docs.kraken.com/exchange/guides/rest/ratelimits>); a minute covers
/// it on every tier.
const RATE_LIMIT_SECS: u64 = 60;

/// The Kraken adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kraken;

const EXCHANGE: ExchangeId = ExchangeId::Kraken;

impl Exchange for Kraken {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.kraken.com"]
    }

    fn nonce_format(&self) -> NonceFormat {
        NonceFormat::Salted19
    }

    /// Kraken issues the secret as base64 of 64 random bytes; what does not decode can never sign.
    fn credentials(&self, api_key: &str, api_secret: &str) -> Result<Credentials> {
        let credentials = Credentials::new(api_key, api_secret)?;
        decode_secret(&credentials)?;
        Ok(credentials)
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(Holdings::Start)
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(Prices::Start)
    }

    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(LedgerPage { cursor: cursor.map(str::to_owned), sent: None }))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        // Pair ids as AssetPairs and Ticker name them (`XXBTZUSD`, `SOLUSD`); nothing else reaches
        // a URL.
        let pair_id = (1..=32).contains(&market.len()) && market.bytes().all(|b| b.is_ascii_alphanumeric());
        pair_id.then(|| Box::new(Candles { pair: market.to_owned(), from_day, to_day, sent: false }) as Box<dyn Flow<_>>)
    }
}

/// The secret's bytes, the HMAC key; wiped when dropped.
fn decode_secret(credentials: &Credentials) -> Result<Zeroizing<Vec<u8>>> {
    let invalid = Error::InvalidInput { field: "api_secret" };
    let bytes = Zeroizing::new(Base64::decode_vec(credentials.api_secret.expose()).map_err(|_| invalid.clone())?);
    if bytes.is_empty() { Err(invalid) } else { Ok(bytes) }
}

/// `API-Sign` for a POST of `body` to `path`, signed with nonce `nonce` (the same one the body
/// carries) and the decoded secret.
pub fn api_sign(secret: &[u8], path: &str, nonce: &str, body: &str) -> Result<String> {
    let digest = sha256(&[nonce.as_bytes(), body.as_bytes()]);
    Ok(Base64::encode_string(&hmac_sha512(secret, &[path.as_bytes(), &digest])?))
}

/// Builds a signed POST to private method `path` (`/0/private/…`) whose form body is
/// `nonce=<nonce>` followed by `params` (already form-encoded, may be empty).
pub fn signed_request(credentials: &Credentials, nonce: &str, path: &str, params: &str) -> Result<HttpRequest> {
    let body = if params.is_empty() { format!("nonce={nonce}") } else { format!("nonce={nonce}&{params}") };
    let signature = api_sign(&decode_secret(credentials)?, path, nonce, &body)?;
    Ok(HttpRequest {
        method: Method::Post,
        url: format!("{API_ORIGIN}{path}"),
        headers: vec![
            ("API-Key".to_owned(), credentials.api_key.expose().to_owned()),
            ("API-Sign".to_owned(), signature),
            ("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
        ],
        body: Some(body),
    })
}

/// Signs a request to `path` with the account's next nonce, just before it is sent.
fn sign_next(context: &mut Context<'_>, path: &str, params: &str) -> Result<HttpRequest> {
    let nonce = context.nonce()?.to_string();
    signed_request(context.credentials()?, &nonce, path, params)
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn<T>() -> Result<Step<T>> {
    Err(Error::InvalidInput { field: "refresh" })
}

/// Balances first, then Earn allocations, then the reconciled holding.
enum Holdings {
    Start,
    AwaitingBalances,
    AwaitingAllocations(BTreeMap<String, Tally>),
    Finished,
}

impl Flow<Vec<Balance>> for Holdings {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        match (std::mem::replace(self, Holdings::Finished), answer) {
            (Holdings::Start, None) => {
                let request = sign_next(context, BALANCE_PATH, "")?;
                *self = Holdings::AwaitingBalances;
                Ok(Step::Send(request))
            }
            (Holdings::AwaitingBalances, Some(answer)) => {
                let tallies = parse_balances(answer)?;
                let request = sign_next(context, ALLOCATIONS_PATH, ALLOCATIONS_PARAMS)?;
                *self = Holdings::AwaitingAllocations(tallies);
                Ok(Step::Send(request))
            }
            (Holdings::AwaitingAllocations(mut tallies), Some(answer)) => {
                for (code, allocated) in parse_allocations(answer)? {
                    add_tally(&mut tallies, code, &allocated)?;
                }
                reconcile(tallies).map(Step::Done)
            }
            _ => out_of_turn(),
        }
    }
}

/// Where an import of the ledger stands.
///
/// The ledger comes newest first, paged by offset; new rows arrive at the top and would shift
/// every offset. So the ledger is read in walks: a walk's first page (no `end`) finds the newest
/// row, and its second (`end`, inclusive) pins the walk to that row's second, after which rows
/// that arrive cannot move the offsets. A first import walks from the newest row down to the
/// oldest; once a walk is done, the next one (the next sync) reads only rows after the second of
/// the newest row it had (`start`, exclusive), so a row that arrived in that same second is not
/// missed; the rows of that second already settled are skipped by id (`seen`).
///
/// Kraken says how many rows the window holds (`count`). Should that change within a walk (rows
/// moved, so an offset may have skipped one: rotki's check), the walk starts over, a few times at
/// most. Rows that may belong with rows of the next page are held back (see [`ledger::settle`]).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerCursor {
    /// Rows after this unix second are the walk's: absent on a first import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<u64>,
    /// The walk's last unix second (inclusive), pinned by its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<u64>,
    /// Rows of the walk read so far: the next page's offset.
    #[serde(default, skip_serializing_if = "is_zero")]
    ofs: u64,
    /// How many rows Kraken said the walk's window holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    /// How often the walk started over.
    #[serde(default, skip_serializing_if = "is_zero")]
    restarts: u32,
    /// Rows held back for the next page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    held: Vec<Row>,
    /// Ledger ids the previous walk settled in its newest second, which this walk reads again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seen: Vec<String>,
    /// Ledger ids of this walk's newest second: the next walk's `seen`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    top: Vec<String>,
}

fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl LedgerCursor {
    /// The cursor a page handed back, checked: it comes back from storage.
    fn read(text: Option<&str>) -> Result<Self> {
        let Some(text) = text else { return Ok(Self::default()) };
        let invalid = Error::InvalidInput { field: "cursor" };
        let cursor: Self = serde_json::from_str(text).map_err(|_| invalid.clone())?;
        let ids_valid = |ids: &[String]| ids.len() <= ledger::MAX_HELD && ids.iter().all(|id| ledger::is_ledger_id(id));
        let valid = cursor.held.len() <= ledger::MAX_HELD
            && cursor.held.iter().all(Row::is_valid)
            && ids_valid(&cursor.seen)
            && ids_valid(&cursor.top)
            && (cursor.end.is_some() || (cursor.ofs == 0 && cursor.held.is_empty() && cursor.top.is_empty()));
        if valid { Ok(cursor) } else { Err(invalid) }
    }

    /// The form body after the nonce: the window and the offset.
    fn params(&self) -> String {
        let mut params = Vec::new();
        params.extend(self.start.map(|start| format!("start={start}")));
        params.extend(self.end.map(|end| format!("end={end}")));
        if self.ofs > 0 {
            params.push(format!("ofs={}", self.ofs));
        }
        params.join("&")
    }
}

/// One call of `Ledgers`, going on from a [`LedgerCursor`]. Pages are strictly one after
/// another: every call takes the key's next nonce.
struct LedgerPage {
    cursor: Option<String>,
    /// The cursor the request was built from, once sent.
    sent: Option<LedgerCursor>,
}

impl Flow<HistoryPage> for LedgerPage {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        match (answer, self.sent.take()) {
            (None, None) => {
                let cursor = LedgerCursor::read(self.cursor.as_deref())?;
                let request = sign_next(context, LEDGERS_PATH, &cursor.params())?;
                self.sent = Some(cursor);
                Ok(Step::Send(request))
            }
            (Some(answer), Some(cursor)) => read_ledger_page(answer, cursor).map(Step::Done),
            _ => out_of_turn(),
        }
    }
}

/// Reads one `Ledgers` answer (`{"ledger": {"<ledger id>": {row}, …}, "count": n}`) into the
/// transactions it settles and the cursor after it.
fn read_ledger_page(response: HttpResponse<'_>, mut cursor: LedgerCursor) -> Result<HistoryPage> {
    let result = read_result(response).map_err(|error| match error {
        // A key that reads balances but lacks "Query Ledger Entries".
        Error::MissingPermission { exchange } => Error::HistoryPermission { exchange },
        other => other,
    })?;
    let malformed = || Error::MalformedResponse { exchange: EXCHANGE };
    let count = result.get("count").and_then(Value::unsigned).ok_or_else(malformed)?;
    let ledger = result.get("ledger").ok_or_else(malformed)?;
    let mut rows = Vec::new();
    match ledger.fields() {
        Some(fields) => {
            for (id, row) in fields {
                if rows.len() == super::MAX_ROWS {
                    return Err(malformed());
                }
                rows.push(ledger::read_row(&id, row).ok_or_else(malformed)?);
            }
        }
        // An empty ledger may come as `[]`.
        None if ledger.items().is_some_and(|mut items| items.next().is_none()) => {}
        None => return Err(malformed()),
    }

    if cursor.count.is_some_and(|expected| expected != count) && cursor.restarts < MAX_RESTARTS {
        let restarted = LedgerCursor {
            start: cursor.start,
            end: cursor.end,
            count: Some(count),
            restarts: cursor.restarts + 1,
            seen: cursor.seen,
            ..LedgerCursor::default()
        };
        return Ok(ledger_page(Vec::new(), &restarted, false, count));
    }
    cursor.count = Some(count);
    if cursor.end.is_none() {
        cursor.end = rows.iter().map(|row| row.at / 1000 + 1).max();
    }
    cursor.ofs = cursor.ofs.saturating_add(rows.len() as u64);
    if let Some(end) = cursor.end {
        let newest_second = (end - 1).saturating_mul(1000);
        for row in rows.iter().filter(|row| row.at >= newest_second) {
            if !cursor.top.contains(&row.id) {
                cursor.top.push(row.id.clone());
            }
        }
        if cursor.top.len() > ledger::MAX_HELD {
            return Err(malformed());
        }
    }
    let finished = (rows.len() as u64) < LEDGER_PAGE || cursor.ofs >= count;
    let boundary = if finished { None } else { rows.iter().map(|row| row.at).min() };
    let mut pending = std::mem::take(&mut cursor.held);
    for row in rows {
        if !cursor.seen.contains(&row.id) && !pending.iter().any(|held| held.id == row.id) {
            pending.push(row);
        }
    }
    let settled = ledger::settle(pending, boundary)?;
    if !finished {
        cursor.held = settled.held;
        return Ok(ledger_page(settled.transactions, &cursor, false, count));
    }
    let done = match cursor.end {
        Some(end) => LedgerCursor { start: Some(end - 1), seen: cursor.top, ofs: cursor.ofs, ..LedgerCursor::default() },
        None => LedgerCursor { start: cursor.start, seen: cursor.seen, ..LedgerCursor::default() },
    };
    let read = done.ofs;
    let mut page = ledger_page(settled.transactions, &LedgerCursor { ofs: 0, ..done }, true, count);
    page.read = read;
    Ok(page)
}

/// A page of history: its transactions by time, the cursor as text, and the pace.
fn ledger_page(mut transactions: Vec<crate::transactions::Transaction>, cursor: &LedgerCursor, caught_up: bool, count: u64) -> HistoryPage {
    transactions.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    HistoryPage {
        transactions,
        // Strings, numbers and lists always serialise.
        cursor: serde_json::to_string(cursor).unwrap_or_default(),
        caught_up,
        read: cursor.ofs,
        expected: Some(count),
        wait_ms: if caught_up { 0 } else { LEDGER_PACE_MS },
    }
}

/// One pair's daily candles: one call, as Kraken keeps only the latest [`CANDLES_KEPT`].
struct Candles {
    pair: String,
    from_day: u64,
    to_day: u64,
    sent: bool,
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        let today = day_of(context.now_ms());
        match (answer, self.sent) {
            (None, false) => {
                if self.to_day.saturating_add(CANDLES_KEPT) <= today {
                    // Older than any candle Kraken still answers: nothing to ask.
                    return Ok(Step::Done(Vec::new()));
                }
                self.sent = true;
                // `since` is a unix second; one before the first day's candle includes it.
                let since = self.from_day.saturating_mul(86_400).saturating_sub(1);
                let url = format!("{API_ORIGIN}{OHLC_PATH}?pair={}&interval=1440&since={since}", self.pair);
                Ok(Step::Send(HttpRequest::get(url)))
            }
            (Some(answer), true) => {
                let days = self.from_day..=self.to_day.min(today.saturating_sub(1));
                Ok(Step::Done(read_candles(answer)?.into_iter().filter(|close| days.contains(&close.day)).collect()))
            }
            _ => out_of_turn(),
        }
    }
}

/// Reads an `OHLC` answer (`{"<pair>": [[time, open, high, low, close, vwap, volume, count], …],
/// "last": n}`, keyed by Kraken's own name for the pair) into daily closes above zero. The caller
/// keeps the days asked for, never today's: its candle is still moving and has no close yet.
fn read_candles(response: HttpResponse<'_>) -> Result<Vec<DailyClose>> {
    let result = read_result(response)?;
    let malformed = || Error::MalformedResponse { exchange: EXCHANGE };
    let mut series = None;
    for (name, value) in result.fields().ok_or_else(malformed)? {
        if name != "last" && series.replace(value).is_some() {
            return Err(malformed());
        }
    }
    let Some(series) = series else { return Ok(Vec::new()) };
    let closes = every_row(EXCHANGE, series.items(), |candle| {
        let mut fields = candle.items()?;
        let time = fields.next()?.unsigned()?;
        let close = fields.nth(3)?.decimal()?;
        Some(DailyClose { day: day_of(time.saturating_mul(1000)), close })
    })?;
    Ok(closes.into_iter().filter(|close| close.close > Decimal::ZERO).collect())
}

/// Pairs first (to split pair ids into assets), then every ticker.
enum Prices {
    Start,
    AwaitingPairs,
    AwaitingTickers(BTreeMap<String, Market>),
    Finished,
}

impl Flow<Vec<Ticker>> for Prices {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<Ticker>>> {
        match (std::mem::replace(self, Prices::Finished), answer) {
            (Prices::Start, None) => {
                *self = Prices::AwaitingPairs;
                Ok(Step::Send(HttpRequest::get(format!("{API_ORIGIN}{ASSET_PAIRS_PATH}"))))
            }
            (Prices::AwaitingPairs, Some(answer)) => {
                *self = Prices::AwaitingTickers(parse_asset_pairs(answer)?);
                Ok(Step::Send(HttpRequest::get(format!("{API_ORIGIN}{TICKER_PATH}"))))
            }
            (Prices::AwaitingTickers(markets), Some(answer)) => parse_tickers(answer, &markets).map(Step::Done),
            _ => out_of_turn(),
        }
    }
}

/// One asset's amounts as BalanceEx and Earn/Allocations list them.
#[derive(Debug, Default)]
struct Tally {
    /// The base entry's `balance`: spot funds, open orders included.
    spot: Decimal,
    /// What open orders keep (`hold_trade`), part of `spot` or, with auto-earn, of the `.F` part.
    in_orders: Decimal,
    /// Suffixed amounts that do not earn and cannot be used directly (`.HOLD`, unknown suffixes).
    held: Decimal,
    /// Suffixed amounts that earn (`.F`, `.S`, `.M`, `.B`, `.P`, `.T`).
    earning: Decimal,
    /// What Earn/Allocations says is allocated, in the asset itself.
    allocated: Decimal,
}

impl Tally {
    fn plus(&self, other: &Tally) -> Option<Tally> {
        Some(Tally {
            spot: self.spot.plus(other.spot)?,
            in_orders: self.in_orders.plus(other.in_orders)?,
            held: self.held.plus(other.held)?,
            earning: self.earning.plus(other.earning)?,
            allocated: self.allocated.plus(other.allocated)?,
        })
    }
}

/// Adds `tally` to what `tallies` holds for `code`.
fn add_tally(tallies: &mut BTreeMap<String, Tally>, code: String, tally: &Tally) -> Result<()> {
    let sum = tallies.entry(code).or_default();
    *sum = sum.plus(tally).ok_or(Error::AmountOverflow { exchange: EXCHANGE })?;
    Ok(())
}

/// What a suffix says about an amount.
enum Part {
    Spot,
    Earning,
    Held,
}

fn part_of(suffix: Option<&str>) -> Part {
    match suffix {
        None => Part::Spot,
        // Staked on chain, opt-in rewards, yield-bearing, parachain, Kraken Rewards (auto-earn),
        // tokenized: amounts put to work, shown apart from the base asset.
        Some("S" | "M" | "B" | "P" | "F" | "T") => Part::Earning,
        // `.HOLD` (such as `USD.HOLD`) is money Kraken holds back, not money that earns: it is
        // locked until released. Whether it repeats part of the base balance is not documented;
        // Kraken documents suffixed entries as separate amounts, so it is added once, as locked.
        // A suffix Kraken adds later is treated the same way: counted, but neither usable nor
        // earning until it is understood.
        Some(_) => Part::Held,
    }
}

/// Splits `XBT.F` into `XBT` and `F`, at the first dot.
fn split_suffix(name: &str) -> (&str, Option<&str>) {
    match name.split_once('.') {
        Some((base, suffix)) => (base, Some(suffix)),
        None => (name, None),
    }
}

/// Fee credits (`KFEE`, whose altname is `FEE`) pay trading fees; they are not an asset to value.
fn is_fee_credit(base: &str) -> bool {
    matches!(base, "KFEE" | "FEE")
}

/// Cartera's code for a Kraken asset id or altname (without suffix), or `None` when it is not a
/// code at all.
///
/// The table is the official SDK's `normalise_asset` (krakenfx/kraken-api-sdk
/// `rust/src/types/asset.rs`) plus Cartera's rules. A leading X or Z is never stripped by rule:
/// `XRP`, `XLM`, `ZEC` and `XTZ` are real codes.
fn asset_code(kraken: &str) -> Option<String> {
    let mapped = match kraken {
        "XXBT" | "XBT" => "btc",
        // The SDK stops at XDG, Kraken's name for Dogecoin; everyone else calls it DOGE.
        "XXDG" | "XDG" => "doge",
        // ETH2 was Kraken's staked ether (`ETH2.S`) and its rewards, one for one with ETH.
        "XETH" | "ETH2" => "eth",
        "XETC" => "etc",
        "XLTC" => "ltc",
        "XMLN" => "mln",
        "XREP" => "rep",
        "XXLM" => "xlm",
        "XXMR" => "xmr",
        "XXRP" => "xrp",
        "XZEC" => "zec",
        "ZARS" => "ars",
        "ZAUD" => "aud",
        "ZCAD" => "cad",
        "ZCLP" => "clp",
        "ZCOP" => "cop",
        "ZDKK" => "dkk",
        "ZEUR" => "eur",
        "ZGBP" => "gbp",
        "ZGEL" => "gel",
        "ZGHS" => "ghs",
        "ZJPY" => "jpy",
        "ZLKR" => "lkr",
        "ZMXN" => "mxn",
        "ZPLN" => "pln",
        "ZSEK" => "sek",
        "ZUGX" => "ugx",
        "ZUSD" => "usd",
        "ZVND" => "vnd",
        "ZXOF" => "xof",
        // Kraken kept the Terra names after the 2022 collapse: its UST is TerraUSD Classic, never
        // Tether (that is USDT), its LUNA is Luna Classic and LUNA2 the new Luna (ccxt maps them
        // the same way). Other exchanges call them USTC, LUNC and LUNA.
        "UST" => "ustc",
        "LUNA" => "lunc",
        "LUNA2" => "luna",
        // Staking codes with their lock-up in days, seen in balances before staking moved to
        // Earn (`DOT28.S`, `KSM07.S`); an exact list, since digits end real codes too (`SN44`).
        "ATOM21" => "atom",
        "DOT28" => "dot",
        "FLOW14" | "FLOWH" => "flow",
        "GRT28" => "grt",
        "KAVA21" => "kava",
        "KSM07" => "ksm",
        "MATIC04" => "matic",
        "SCRT21" => "scrt",
        "SOL03" => "sol",
        other => {
            let plain = !other.is_empty() && other.len() <= 32 && other.bytes().all(|b| b.is_ascii_alphanumeric());
            return plain.then(|| other.to_ascii_lowercase());
        }
    };
    Some(mapped.to_owned())
}

/// A pair's assets in Cartera's codes.
#[derive(Debug)]
struct Market {
    base: String,
    quote: String,
}

/// The `result` of a successful answer, or the error the answer stands for. Kraken's envelope
/// is `{"error": [...], "result": ...}`; `error` is an array of strings, or (in a few old
/// answers) one string.
fn read_result(response: HttpResponse<'_>) -> Result<Value<'_>> {
    let Some(document) = response.text().and_then(Value::parse).filter(|document| document.fields().is_some()) else {
        return Err(unreadable(response));
    };
    if let Some(error) = document.get_present("error") {
        let messages: Vec<Cow<'_, str>> = match (error.string(), error.items()) {
            (Some(one), _) => vec![one],
            (None, Some(items)) => {
                items.map(Value::string).collect::<Option<_>>().ok_or_else(|| unreadable(response))?
            }
            (None, None) => return Err(unreadable(response)),
        };
        // `W…` entries are warnings that come with a result; only an `E…` entry is an error.
        if let Some(message) = messages.iter().find(|message| message.starts_with('E')) {
            return Err(map_error(message, response));
        }
    }
    match document.get_present("result") {
        Some(result) if response.is_success() => Ok(result),
        _ => Err(unreadable(response)),
    }
}

/// A body that is not Kraken's envelope, or an envelope that carries neither error nor result.
fn unreadable(response: HttpResponse<'_>) -> Error {
    match response.status {
        429 => rate_limited(response),
        // Cloudflare's 520 and other pages in front of the API, an empty 502, a 403 block page.
        status => Error::unreadable(EXCHANGE, status),
    }
}

fn rate_limited(response: HttpResponse<'_>) -> Error {
    Error::rate_limited(EXCHANGE, response.retry_after_ms, RATE_LIMIT_SECS)
}

/// `EService:Throttled: <unix seconds>` names the instant requests are taken again.
fn throttled_until(seconds: Option<&str>, response: HttpResponse<'_>) -> Error {
    let Some(at_ms) = seconds.and_then(|text| text.parse::<u64>().ok()).and_then(|at| at.checked_mul(1000)) else {
        return rate_limited(response);
    };
    let wait_ms = at_ms.saturating_sub(response.received_at_ms);
    Error::RateLimited { exchange: EXCHANGE, retry_after_ms: capped_wait_ms(wait_ms.div_ceil(1000)) }
}

/// Maps Kraken's `<Category>:<Message>[:<detail>]` errors
/// (<https://docs.kraken.com/api/docs/guides/spot-rest-intro>, the official SDK's
/// `rust/docs/guides/error-handling.md`, ccxt's table) to what the user has to do. Messages are
/// compared without case and without the spaces some answers put around the colons
/// (`EService: Throttled: 1741500000`).
fn map_error(message: &str, response: HttpResponse<'_>) -> Error {
    let mut parts = message.split(':').map(str::trim);
    let category = parts.next().unwrap_or_default();
    let reason = parts.next().unwrap_or_default().to_ascii_lowercase();
    let detail = parts.next();
    let unavailable = Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status };
    match (category.to_ascii_lowercase().as_str(), reason.as_str()) {
        ("eapi", "invalid key" | "invalid signature") => Error::InvalidCredentials { exchange: EXCHANGE },
        ("eapi", "invalid nonce") => Error::NonceRejected { exchange: EXCHANGE },
        ("egeneral" | "eapi", "permission denied") => Error::MissingPermission { exchange: EXCHANGE },
        // Too many failed logins: an authentication ban, not flood control.
        ("egeneral", "temporary lockout") => {
            Error::RateLimited { exchange: EXCHANGE, retry_after_ms: capped_wait_ms(LOCKOUT_SECS) }
        }
        ("eapi" | "eauth", "rate limit exceeded") | ("egeneral", "too many requests") => rate_limited(response),
        ("eservice", "throttled") => throttled_until(detail, response),
        // The official SDK counts every other `EAuth:` as a credential failure.
        ("eauth", _) => Error::InvalidCredentials { exchange: EXCHANGE },
        ("eservice", "unavailable" | "busy" | "deadline elapsed") | ("egeneral" | "edatabase", "internal error") => {
            unavailable
        }
        // `EService:Market in cancel_only mode` (or post_only, limit_only): maintenance.
        ("eservice", market) if market.starts_with("market in") => unavailable,
        _ => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(category) },
    }
}

/// A non-negative amount, or `None`: Kraken never reports a negative holding, and one would
/// break every sum below.
fn amount(raw: Value<'_>) -> Option<Decimal> {
    raw.decimal().filter(|value| !value.is_sign_negative())
}

/// Reads a BalanceEx answer into per-asset tallies (fee credits left out), or the error it
/// reports. A balance that cannot be read fails the whole answer: dropping it would show a
/// smaller portfolio than the user owns.
fn parse_balances(response: HttpResponse<'_>) -> Result<BTreeMap<String, Tally>> {
    let result = read_result(response)?;
    let malformed = Error::MalformedResponse { exchange: EXCHANGE };
    let mut tallies = BTreeMap::new();
    for (index, (name, entry)) in result.fields().ok_or_else(|| malformed.clone())?.enumerate() {
        if index == super::MAX_ROWS {
            return Err(malformed);
        }
        let (base, suffix) = split_suffix(&name);
        if is_fee_credit(base) {
            continue;
        }
        let code = asset_code(base).ok_or_else(|| malformed.clone())?;
        let balance = entry.get("balance").and_then(amount).ok_or_else(|| malformed.clone())?;
        // `credit` and `credit_used` are a credit line, not funds the account owns: not read.
        let in_orders = match entry.get_present("hold_trade") {
            Some(raw) => amount(raw).ok_or_else(|| malformed.clone())?,
            None => Decimal::ZERO,
        };
        let mut tally = Tally { in_orders, ..Tally::default() };
        match part_of(suffix) {
            Part::Spot => tally.spot = balance,
            Part::Earning => tally.earning = balance,
            Part::Held => tally.held = balance,
        }
        add_tally(&mut tallies, code, &tally)?;
    }
    Ok(tallies)
}

/// Reads an Earn/Allocations answer (`{"items": [{"native_asset": …, "amount_allocated":
/// {"total": {"native": …}}}, …]}`) into one tally per item, holding its native amount
/// allocated, or the error it reports. Kraken documents no paging for it ("we don't expect the result for a particular user
/// to be overwhelmingly large").
fn parse_allocations(response: HttpResponse<'_>) -> Result<Vec<(String, Tally)>> {
    let result = read_result(response)?;
    let malformed = Error::MalformedResponse { exchange: EXCHANGE };
    let items = result.get("items").and_then(Value::items).ok_or_else(|| malformed.clone())?;
    let mut allocated: Vec<(String, Tally)> = Vec::new();
    for (index, item) in items.enumerate() {
        if index == super::MAX_ROWS {
            return Err(malformed);
        }
        let native_asset = item.get("native_asset").and_then(Value::string).ok_or_else(|| malformed.clone())?;
        let (base, _) = split_suffix(&native_asset);
        if is_fee_credit(base) {
            continue;
        }
        let code = asset_code(base).ok_or_else(|| malformed.clone())?;
        // A strategy without a total holds nothing; a total that cannot be read is an error.
        let total = item.get_present("amount_allocated").and_then(|amounts| amounts.get_present("total"));
        let native = match total {
            Some(total) => total.get("native").and_then(amount).ok_or_else(|| malformed.clone())?,
            None => Decimal::ZERO,
        };
        allocated.push((code, Tally { allocated: native, ..Tally::default() }));
    }
    Ok(allocated)
}

/// Sums the balance and allocation tallies per asset. Per asset: the earning part is the larger
/// of the suffixed balances and the Earn allocations (they mostly show the same funds; some Earn
/// strategies are missing from the balances), and what open orders or holds keep is locked,
/// whichever part it comes from.
fn reconcile(tallies: BTreeMap<String, Tally>) -> Result<Vec<Balance>> {
    let overflow = || Error::AmountOverflow { exchange: EXCHANGE };
    let mut balances = Vec::with_capacity(tallies.len());
    for (currency, tally) in tallies {
        let earning = tally.earning.max(tally.allocated);
        let total = tally.spot.plus(tally.held).and_then(|sum| sum.plus(earning)).ok_or_else(overflow)?;
        // With auto-earn the base entry can be 0 while orders hold funds from the `.F` part, so
        // `hold_trade` may exceed `balance`: the held amount is locked and stops counting as
        // earning, and nothing is ever negative.
        let locked = tally.in_orders.plus(tally.held).ok_or_else(overflow)?.min(total);
        let unlocked = total.minus(locked).ok_or_else(overflow)?;
        let earning = earning.min(unlocked);
        let available = unlocked.minus(earning).ok_or_else(overflow)?;
        balances.push(Balance { currency, total, available, locked, earning });
    }
    merge_balances(EXCHANGE, balances)
}

/// Reads an AssetPairs answer: pair id → its assets in Cartera's codes. Pairs whose assets
/// cannot be named are left out (their tickers are then skipped).
fn parse_asset_pairs(response: HttpResponse<'_>) -> Result<BTreeMap<String, Market>> {
    let result = read_result(response)?;
    let mut pairs = result.fields().ok_or(Error::MalformedResponse { exchange: EXCHANGE })?;
    let mut markets = BTreeMap::new();
    for _ in 0..super::MAX_ROWS {
        let Some((id, pair)) = pairs.next_picked(["base", "quote"]) else {
            break;
        };
        if let Some(market) = pair.and_then(parse_pair) {
            markets.insert(id.into_owned(), market);
        }
    }
    Ok(markets)
}

/// A pair's `base` and `quote`; every field optional, so a pair missing one is skipped, not fatal
/// to the others.
fn parse_pair(pair: [Option<Value<'_>>; 2]) -> Option<Market> {
    let asset = |name: Option<Value<'_>>| {
        let name = name.filter(|name| !name.is_null())?.string()?;
        let (base, _) = split_suffix(&name);
        if is_fee_credit(base) { None } else { asset_code(base) }
    };
    let [base, quote] = pair;
    let market = Market { base: asset(base)?, quote: asset(quote)? };
    (market.base != market.quote).then_some(market)
}

/// Reads a Ticker answer for every pair, naming each through `markets`; a ticker of an unknown
/// pair or without a positive last price is skipped.
fn parse_tickers(response: HttpResponse<'_>, markets: &BTreeMap<String, Market>) -> Result<Vec<Ticker>> {
    let result = read_result(response)?;
    let mut rows = result.fields().ok_or(Error::MalformedResponse { exchange: EXCHANGE })?;
    let mut tickers = Vec::new();
    for _ in 0..super::MAX_ROWS {
        let Some((id, ticker)) = rows.next_picked(["c", "v"]) else {
            break;
        };
        tickers.extend(ticker.zip(markets.get(&*id)).and_then(|(ticker, market)| parse_ticker(&id, ticker, market)));
    }
    Ok(tickers)
}

/// `c` is [last price, lot volume], `v` is [volume today, volume over the last 24 hours].
fn parse_ticker(id: &str, [last, volume]: [Option<Value<'_>>; 2], market: &Market) -> Option<Ticker> {
    let last = last?.items()?.next()?.decimal()?;
    let volume = volume.and_then(Value::items).and_then(|mut volumes| volumes.nth(1)).and_then(amount);
    // `o` is the open at midnight UTC: a change since then is not a 24-hour change, so none is given.
    let ticker = Ticker::priced(EXCHANGE, id, (market.base.clone(), market.quote.clone()), last)?;
    Some(Ticker { volume: volume.unwrap_or_default(), ..ticker })
}

#[cfg(test)]
mod tests;
