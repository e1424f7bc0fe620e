//! Bybit V5 API (`https://api.bybit.com` only), <https://bybit-exchange.github.io/docs/v5/guide>.
//!
//! Signing (<https://bybit-exchange.github.io/docs/v5/guide#create-a-request>): lowercase hex of
//! HMAC-SHA256, keyed with the secret, over `timestamp + API key + recv_window + query string`,
//! sent in `X-BAPI-SIGN` beside `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` (ms) and
//! `X-BAPI-RECV-WINDOW`. Every call Cartera signs is a GET; its parameters go in name order, as the
//! official SDK (`pybit`) sends them (Bybit signs the string as sent, in any order). There is no
//! nonce. Bybit refuses a timestamp 1 s ahead of its clock or older than the window with retCode
//! 10002. Only HMAC keys are read: a self-generated RSA key has a PEM private key instead.
//!
//! As for Binance, signed requests may arrive in any order, so the holdings flow asks for both
//! wallets at once ([`Step::SendAll`]), signed with the computer's clock; a batch Bybit refuses
//! with 10002 makes the flow ask Bybit's time (`GET /v5/market/time`, public) and sign the batch
//! again with `timestamp = now + (Bybit's time − now when the answer came)`. The key check, run
//! once when a key is added, asks the time first.
//!
//! - Holdings: the Unified Trading account, `GET /v5/account/wallet-balance?accountType=UNIFIED`
//!   (<https://bybit-exchange.github.io/docs/v5/account/wallet-balance>), and the Funding
//!   account, `GET /v5/asset/transfer/query-account-coins-balance?accountType=FUND`
//!   (<https://bybit-exchange.github.io/docs/v5/asset/balance/all-balance>).
//! - Key scope: `GET /v5/user/query-api`
//!   (<https://bybit-exchange.github.io/docs/v5/user/apikey-info>): `readOnly: 1` is a key that
//!   cannot write, whatever modules its permission lists name; for a read-write key the lists say
//!   what it may do.
//! - Prices: `GET /v5/market/tickers?category=spot`
//!   (<https://bybit-exchange.github.io/docs/v5/market/tickers>), every spot market at once. Its
//!   rows name a symbol (`BTCUSDT`) but not its base and quote, which come from splitting the
//!   symbol at a known quote coin ([`split_symbol`]), as for Binance.
//! - History and daily closes: the transaction log, the deposit and withdrawal records, and spot
//!   klines (`bybit/history.rs`).
//!
//! Bybit answers HTTP 200 with `{"retCode": 0, "retMsg": "OK", "result": {…}}`, and most errors
//! with HTTP 200 and another `retCode` (<https://bybit-exchange.github.io/docs/v5/error>); its edge
//! answers 403 for an IP over the limit ("access too frequent", a ban of 10 minutes) or from a
//! country Bybit does not serve, and 429 under system load
//! (<https://bybit-exchange.github.io/docs/v5/rate-limit>). The message is never read except to
//! tell those two 403s apart.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, KeyScope, MAX_ROWS, Method, Step, Ticker,
    json::{JsonDecimal as _, Value},
    every_row, merge_balances,
};
use crate::{
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    money::Exact as _,
    secret::Credentials,
    signing::hmac_sha256_hex,
    transactions::HistoryPage,
};

mod history;

/// The production API host (`api.bytick.com` is the same service).
pub const API_ORIGIN: &str = "https://api.bybit.com";
/// Bybit's clock: `{"result": {"timeSecond": "…", "timeNano": "…"}, "time": 1688639403423}`.
pub const TIME_PATH: &str = "/v5/market/time";
/// The Unified Trading account's coins.
pub const UNIFIED_PATH: &str = "/v5/account/wallet-balance";
/// The Funding account's coins.
pub const FUND_PATH: &str = "/v5/asset/transfer/query-account-coins-balance";
/// What the key may do.
pub const KEY_INFO_PATH: &str = "/v5/user/query-api";
/// Every spot market's ticker.
pub const TICKERS_PATH: &str = "/v5/market/tickers?category=spot";

/// How old a signed request may be when Bybit reads it: twice the default of 5 s, as the engine's
/// clock may stand still for a whole flow (so later requests carry the time of the first).
pub const RECV_WINDOW_MS: u64 = 10_000;

/// The wait after retCode 10006 or HTTP 429 without a `Retry-After`: Bybit's API limits count
/// requests per second and account, so a few seconds clear them.
const LOCKOUT_SECS: u64 = 10;

/// The wait after the edge's "403, access too frequent": "wait for at least 10 minutes"
/// (<https://bybit-exchange.github.io/docs/v5/rate-limit>).
const IP_LOCKOUT_SECS: u64 = 10 * 60;

/// Coins Bybit's spot symbols are quoted in: stablecoins, crypto and fiat.
///
/// None of them ends with another, so a symbol splits one way at most; a symbol quoted in a coin
/// not listed here is skipped (one missing edge in the price graph, as Bybit lists most coins
/// against USDT as well).
pub const QUOTE_ASSETS: &[&str] = &[
    "USDT", "USDC", "USDE", "USD1", "RLUSD", "DAI", "BTC", "ETH", "MNT", "EUR", "BRL", "PLN", "TRY",
];

/// The Bybit adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bybit;

const EXCHANGE: ExchangeId = ExchangeId::Bybit;

impl Exchange for Bybit {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.bybit.com"]
    }

    /// Bybit's HMAC secrets are letters and digits only (36 of them). A self-generated RSA key has
    /// a PEM private key instead, which Cartera cannot sign with: refused here rather than
    /// answered 10004 by Bybit.
    fn credentials(&self, api_key: &str, api_secret: &str) -> Result<Credentials> {
        super::alphanumeric_secret(api_key, api_secret)
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(Holdings::default())
    }

    fn key_scope(&self) -> Option<Box<dyn Flow<KeyScope>>> {
        Some(Box::new(ScopeFlow::default()))
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(super::OneRequest::new(|_| Ok(HttpRequest::get(format!("{API_ORIGIN}{TICKERS_PATH}"))), parse_tickers))
    }

    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(history::HistoryPageFlow::new(cursor)))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        history::is_spot_symbol(market).then(|| Box::new(history::Candles::new(market, from_day, to_day)) as Box<dyn Flow<Vec<DailyClose>>>)
    }
}

/// What Bybit signs: `timestamp + API key + recv_window + query string`.
pub fn signature_payload(timestamp: u64, api_key: &str, recv_window_ms: u64, query: &str) -> String {
    format!("{timestamp}{api_key}{recv_window_ms}{query}")
}

/// Builds the signed GET of `path` with `query` (already percent-encoded, in name order; empty
/// for none), stamped `timestamp`.
pub fn signed_get(credentials: &Credentials, path: &str, query: &str, timestamp: u64) -> Result<HttpRequest> {
    let api_key = credentials.api_key.expose();
    let payload = signature_payload(timestamp, api_key, RECV_WINDOW_MS, query);
    let signature = hmac_sha256_hex(credentials.api_secret.expose().as_bytes(), &[payload.as_bytes()])?;
    let url = if query.is_empty() { format!("{API_ORIGIN}{path}") } else { format!("{API_ORIGIN}{path}?{query}") };
    Ok(HttpRequest {
        method: Method::Get,
        url,
        headers: vec![
            ("X-BAPI-API-KEY".to_owned(), api_key.to_owned()),
            ("X-BAPI-TIMESTAMP".to_owned(), timestamp.to_string()),
            ("X-BAPI-RECV-WINDOW".to_owned(), RECV_WINDOW_MS.to_string()),
            ("X-BAPI-SIGN".to_owned(), signature),
        ],
        body: None,
    })
}

/// The request for Bybit's time.
pub(crate) fn time_request() -> HttpRequest {
    HttpRequest::get(format!("{API_ORIGIN}{TIME_PATH}"))
}

/// How far Bybit's clock is from ours, learnt from `/v5/market/time`; the default, no offset, is
/// the computer's own clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ServerClock {
    offset_ms: i64,
}

impl ServerClock {
    /// Reads a `/v5/market/time` answer that arrived at `now_ms`: its `time`, in milliseconds.
    pub(crate) fn read(response: HttpResponse<'_>, now_ms: u64) -> Result<Self> {
        let document = read_document(response)?;
        let time = document.get("time").and_then(Value::unsigned).ok_or_else(malformed)?;
        let server = i64::try_from(time).map_err(|_| malformed())?;
        let now = i64::try_from(now_ms).map_err(|_| malformed())?;
        Ok(Self { offset_ms: server.checked_sub(now).ok_or_else(malformed)? })
    }

    /// Bybit's time now, for `X-BAPI-TIMESTAMP`.
    pub(crate) fn timestamp(self, now_ms: u64) -> Result<u64> {
        now_ms.checked_add_signed(self.offset_ms).ok_or_else(malformed)
    }
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn() -> Error {
    Error::InvalidInput { field: "refresh" }
}

/// Where the holdings flow is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum HoldingsState {
    #[default]
    Start,
    /// Waiting for both wallets' answers.
    Wallets,
    /// Waiting for Bybit's time, to sign both again.
    Time,
}

/// Both wallets at once; once more on Bybit's clock if it refused the computer's.
#[derive(Default)]
struct Holdings {
    state: HoldingsState,
    clock: Option<ServerClock>,
}

impl Holdings {
    fn send(&mut self, context: &Context<'_>) -> Result<Step<Vec<Balance>>> {
        let timestamp = self.clock.unwrap_or_default().timestamp(context.now_ms())?;
        let credentials = context.credentials()?;
        self.state = HoldingsState::Wallets;
        Ok(Step::SendAll(vec![
            signed_get(credentials, UNIFIED_PATH, "accountType=UNIFIED", timestamp)?,
            signed_get(credentials, FUND_PATH, "accountType=FUND", timestamp)?,
        ]))
    }
}

impl Flow<Vec<Balance>> for Holdings {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        match (answer, self.state) {
            (None, HoldingsState::Start) => self.send(context),
            (Some(answer), HoldingsState::Time) => {
                self.clock = Some(ServerClock::read(answer, context.now_ms())?);
                self.send(context)
            }
            _ => Err(out_of_turn()),
        }
    }

    fn step_all(&mut self, answers: Vec<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        let [unified, fund] = answers.as_slice() else {
            return Err(out_of_turn());
        };
        if self.state != HoldingsState::Wallets {
            return Err(out_of_turn());
        }
        let results = [read_result(*unified), read_result(*fund)];
        // A rate limit anywhere comes first: it must be honoured.
        if let Some(limit) = results.iter().find_map(|result| result.clone().err().filter(is_rate_limit)) {
            return Err(limit);
        }
        if self.clock.is_none() && results.iter().any(|result| matches!(result, Err(Error::ClockSkew { .. }))) {
            self.state = HoldingsState::Time;
            return Ok(Step::Send(time_request()));
        }
        let [unified, fund] = results;
        let mut balances = parse_unified(unified?)?;
        balances.extend(parse_fund(fund?)?);
        merge_balances(EXCHANGE, balances).map(Step::Done)
    }
}

fn is_rate_limit(error: &Error) -> bool {
    matches!(error, Error::RateLimited { .. })
}

/// What the key may do: Bybit's time, then the key's information signed on it.
#[derive(Default)]
struct ScopeFlow {
    started: bool,
    clock: Option<ServerClock>,
}

impl Flow<KeyScope> for ScopeFlow {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<KeyScope>> {
        match (answer, self.started, self.clock) {
            (None, false, None) => {
                self.started = true;
                Ok(Step::Send(time_request()))
            }
            (Some(answer), true, None) => {
                let clock = ServerClock::read(answer, context.now_ms())?;
                self.clock = Some(clock);
                let timestamp = clock.timestamp(context.now_ms())?;
                signed_get(context.credentials()?, KEY_INFO_PATH, "", timestamp).map(Step::Send)
            }
            (Some(answer), true, Some(_)) => parse_key_scope(answer).map(Step::Done),
            _ => Err(out_of_turn()),
        }
    }
}

/// Reads the coins of a Unified Trading account answer (`result.list[].coin[]`).
///
/// A coin's holding is its `walletBalance` less what spot margin borrowed of it (`spotBorrow`):
/// borrowed coins sit in the wallet but are owed. A coin owed more than held is left out rather
/// than set against the rest. `locked` (kept by open spot orders) is held back; empty strings,
/// which Bybit writes for fields that do not apply, read as zero.
pub fn parse_unified(result: Value<'_>) -> Result<Vec<Balance>> {
    let accounts = result.get("list").and_then(Value::items).ok_or_else(malformed)?;
    let mut balances = Vec::new();
    for account in accounts {
        let coins = every_row(EXCHANGE, account.get("coin").and_then(Value::items), |row| {
            let currency = coin_code(row.get("coin")?)?;
            let wallet = row.get("walletBalance")?.decimal()?;
            let borrowed = optional_amount(row.get("spotBorrow"))?;
            let held = wallet.minus(borrowed)?.max(Decimal::ZERO);
            let locked = optional_amount(row.get("locked"))?.clamp(Decimal::ZERO, held);
            Some(Balance { currency, total: held, available: held.minus(locked)?, locked, earning: Decimal::ZERO })
        })?;
        if balances.len().saturating_add(coins.len()) > MAX_ROWS {
            return Err(malformed());
        }
        balances.extend(coins);
    }
    Ok(balances)
}

/// Reads the coins of a Funding account answer (`result.balance[]`): `walletBalance` held, of
/// which `transferBalance` can be moved now; the rest is held back (in P2P ads or orders).
pub fn parse_fund(result: Value<'_>) -> Result<Vec<Balance>> {
    every_row(EXCHANGE, result.get("balance").and_then(Value::items), |row| {
        let currency = coin_code(row.get("coin")?)?;
        let total = row.get("walletBalance")?.decimal()?;
        let available = optional_amount(row.get("transferBalance"))?.clamp(Decimal::ZERO, total.max(Decimal::ZERO));
        Some(Balance { currency, total, available, locked: total.minus(available)?, earning: Decimal::ZERO })
    })
}

/// An amount Bybit may leave out or write as `""`: zero then; `None` when it is something else
/// that is not a decimal.
fn optional_amount(value: Option<Value<'_>>) -> Option<Decimal> {
    match value {
        None => Some(Decimal::ZERO),
        Some(value) if value.is_null() || value.raw() == "\"\"" => Some(Decimal::ZERO),
        Some(value) => value.decimal(),
    }
}

/// Reads a `/v5/user/query-api` answer (<https://bybit-exchange.github.io/docs/v5/user/apikey-info>).
///
/// `readOnly: 1` is a key that cannot write: its permission lists then only say what it may read.
/// For a read-write key (`readOnly: 0`) each module whose list is not empty grants what it names:
/// trading for the contract, spot, options, derivatives, block and copy trading modules, for
/// converting (`Exchange`, beyond its history) and for Earn (subscribing and redeeming); withdrawing
/// and transfers for `Wallet`. It fails closed: a read-write key without its permission lists, or
/// a module or right Cartera does not recognise, counts as a right it does not recognise.
pub fn parse_key_scope(response: HttpResponse<'_>) -> Result<KeyScope> {
    const TRADING: [&str; 8] = ["ContractTrade", "Spot", "Options", "Derivatives", "BlockTrade", "CopyTrading", "Earn", "NFT"];
    let result = read_result(response)?;
    match result.get("readOnly").map(Value::raw) {
        Some("1") => return Ok(KeyScope::default()),
        Some("0") => {}
        _ => return Err(malformed()),
    }
    let Some(modules) = result.get_present("permissions").and_then(Value::fields) else {
        return Ok(KeyScope { other: true, ..KeyScope::default() });
    };
    let mut scope = KeyScope::default();
    for (module, rights) in modules {
        let rights = rights.items().ok_or_else(malformed)?;
        for right in rights {
            let right = right.string().ok_or_else(malformed)?;
            match (&*module, &*right) {
                ("Wallet", "Withdraw") => scope.withdraw = true,
                ("Wallet", "AccountTransfer" | "SubMemberTransfer" | "SubMemberTransferList") => scope.transfer = true,
                ("Exchange", "ExchangeHistory") => {}
                ("Exchange", _) => scope.trade = true,
                (module, _) if TRADING.contains(&module) => scope.trade = true,
                _ => scope.other = true,
            }
        }
    }
    Ok(scope)
}

/// Reads the tickers of a `/v5/market/tickers?category=spot` answer, skipping rows it cannot use.
pub fn parse_tickers(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let list = read_result(response)?.get("list").ok_or_else(malformed)?;
    let rows = list.rows(["symbol", "lastPrice", "volume24h", "prevPrice24h"]).ok_or_else(malformed)?;
    Ok(rows.take(MAX_ROWS).filter_map(|row| parse_ticker(row?)).collect())
}

/// One ticker, or `None` when it cannot price anything (a symbol that does not split, no positive
/// last price). The 24-hour change is `lastPrice − prevPrice24h`.
fn parse_ticker([symbol, last, volume, previous]: [Option<Value<'_>>; 4]) -> Option<Ticker> {
    let symbol = symbol?.string()?;
    let (base, quote) = split_symbol(&symbol)?;
    let ticker = Ticker::priced(EXCHANGE, &symbol, (cartera_code(base)?, cartera_code(quote)?), last?.decimal()?)?;
    let volume = volume.and_then(Value::decimal).unwrap_or_default();
    Some(Ticker { volume, ..ticker }.changed_since(previous.and_then(Value::decimal)))
}

/// Splits a spot symbol into base and quote at the [`QUOTE_ASSETS`] suffix that leaves a base.
pub fn split_symbol(symbol: &str) -> Option<(&str, &str)> {
    super::split_at_quote(symbol, QUOTE_ASSETS)
}

/// Cartera's code for a Bybit coin: Bybit uses the common tickers (`BTC`, `USDT`, its own `MNT`;
/// ccxt renames none of them), so the code is made lowercase; one that is not letters and
/// digits is refused.
pub fn cartera_code(code: &str) -> Option<String> {
    let code = code.trim();
    let valid = !code.is_empty() && code.len() <= 20 && code.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| code.to_ascii_lowercase())
}

fn coin_code(value: Value<'_>) -> Option<String> {
    cartera_code(&value.string()?)
}

/// The `result` of a successful answer, or the error the answer stands for.
pub(crate) fn read_result(response: HttpResponse<'_>) -> Result<Value<'_>> {
    read_document(response)?.get_present("result").ok_or_else(malformed)
}

/// The whole body of a successful answer (`retCode` 0), or the error the answer stands for.
fn read_document(response: HttpResponse<'_>) -> Result<Value<'_>> {
    match response.status {
        429 => return Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS)),
        // "403, access too frequent": the IP is over 600 requests in 5 s. Otherwise Bybit refuses
        // the country (the US, mainland China) with a bare 403.
        403 if response.text().is_some_and(|text| text.to_ascii_lowercase().contains("too frequent")) => {
            return Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, IP_LOCKOUT_SECS));
        }
        403 => return Err(Error::LocationRestricted { exchange: EXCHANGE }),
        // A missing or unknown key, before any retCode.
        401 => return Err(Error::InvalidCredentials { exchange: EXCHANGE }),
        _ => {}
    }
    let Some(document) = response.text().and_then(Value::parse) else {
        return Err(Error::unreadable(EXCHANGE, response.status));
    };
    match document.get("retCode").and_then(return_code) {
        Some(code) if code == "0" && response.is_success() => Ok(document),
        Some(code) if code != "0" => Err(map_return_code(&code, response)),
        _ => Err(Error::unreadable(EXCHANGE, response.status)),
    }
}

/// A `retCode` as text (`10003`, `-1`), when it is an integer (as a JSON number, or a string in
/// case an endpoint quotes it).
fn return_code(code: Value<'_>) -> Option<String> {
    let text = code.string().map_or_else(|| code.raw().to_owned(), Cow::into_owned);
    let digits = text.strip_prefix('-').unwrap_or(&text);
    (!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// Maps Bybit's `retCode`s (<https://bybit-exchange.github.io/docs/v5/error>) to what the user
/// has to do.
fn map_return_code(code: &str, response: HttpResponse<'_>) -> Error {
    match code {
        // Invalid key; wrong signature; authentication failed.
        "10003" | "10004" | "10007" => Error::InvalidCredentials { exchange: EXCHANGE },
        // "Your api key has expired" (spot, derivatives): a key without an IP bound lapses after
        // 90 days.
        "-2015" | "33004" => Error::KeyInactive { exchange: EXCHANGE },
        // The time is outside recv_window ("request expired").
        "10002" | "-1" => Error::ClockSkew { exchange: EXCHANGE },
        "10005" => Error::MissingPermission { exchange: EXCHANGE },
        "10010" => Error::IpNotAllowed { exchange: EXCHANGE },
        // Too many visits; the IP limit (retired, still in ccxt's table); system-level protection.
        "10006" | "10018" | "10429" => Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS),
        // Server timeout; server error or restart (maintenance); the asset service's errors.
        "10000" | "10016" | "10019" | "131001" | "131003" => {
            Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status }
        }
        // The account is banned, compliance rules, or trading banned.
        "10008" | "10024" | "10027" => Error::AccountRestricted { exchange: EXCHANGE },
        // "Access is currently unavailable for your region".
        "10009" => Error::LocationRestricted { exchange: EXCHANGE },
        other => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(other) },
    }
}

fn malformed() -> Error {
    Error::MalformedResponse { exchange: EXCHANGE }
}

#[cfg(test)]
mod tests;
