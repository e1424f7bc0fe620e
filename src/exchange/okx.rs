//! OKX API v5, <https://www.okx.com/docs-v5/en/>.
//!
//! Signing (<https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature>): base64 of
//! HMAC-SHA256, keyed with the secret's UTF-8 bytes, over `timestamp + method + requestPath +
//! body`, where the request path carries its query string (`/api/v5/account/bills?limit=100`)
//! and a GET has no body. The request carries `OK-ACCESS-KEY`, `OK-ACCESS-SIGN`,
//! `OK-ACCESS-TIMESTAMP` (ISO 8601 in UTC with milliseconds, `2020-12-08T09:08:57.715Z`) and
//! `OK-ACCESS-PASSPHRASE`, the passphrase the user chose when creating the key. There is no
//! nonce: OKX refuses a timestamp more than 30 seconds from its clock (50102), so every private
//! flow first asks OKX's time (`GET /api/v5/public/time`, public) and signs with
//! `now + (OKX's time − now when it answered)`; its requests then do not depend on one another
//! and go together ([`Step::SendAll`]).
//!
//! - Holdings: the trading account (`GET /api/v5/account/balance`, each currency's `eq`), the
//!   funding account (`GET /api/v5/asset/balances`, `bal`) and Simple Earn savings
//!   (`GET /api/v5/finance/savings/balance`, `amt`, all earning), which a key with the Read
//!   permission sees; where OKX refuses savings to the account with a code of its own (Simple
//!   Earn is not offered everywhere), there are none to count. Positions, loans and structured products are not read.
//! - Key scope: `perm` of `GET /api/v5/account/config`, a comma-separated list of `read_only`,
//!   `trade` and `withdraw`.
//! - Prices: `GET /api/v5/market/tickers?instType=SPOT`, every spot market in one request.
//! - History and daily candles: [`history`] (fills reach back three months only).
//!
//! OKX names assets as most of the market does (`BTC`, `USDT`, its own token `OKB`), so Cartera's
//! code is OKX's lowercased; ccxt's one rename (`AE`, the ERC-20 AEToken, as `AET`) is kept.
//!
//! Every answer is `{"code": "0", "msg": "", "data": [...]}`; an error has another `code`
//! (<https://www.okx.com/docs-v5/en/#error-code>) and usually HTTP 401 (keys), 429 (rate limits)
//! or 503 (maintenance). The `msg` is never read.
//!
//! Only `www.okx.com` is contacted: keys made on OKX's EEA or US sites (`my.okx.com`,
//! `app.okx.com`) are not accepted there (50119).

use base64ct::{Base64, Encoding as _};
use rust_decimal::Decimal;

use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, KeyForm, KeyScope, MAX_ROWS, Method, OneRequest, Step, Ticker, first_rate_limit,
    every_row,
    json::{JsonDecimal as _, Value},
    merge_balances,
};
use crate::{
    calendar::{DAY_MS, civil},
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    money::Exact as _,
    secret::Credentials,
    signing::hmac_sha256,
    transactions::HistoryPage,
};

pub mod history;

/// The API host.
pub const API_ORIGIN: &str = "https://www.okx.com";
/// OKX's clock: `{"code":"0","data":[{"ts":"1597026383085"}]}`.
pub const TIME_PATH: &str = "/api/v5/public/time";
/// The trading account.
pub const TRADING_PATH: &str = "/api/v5/account/balance";
/// The funding account.
pub const FUNDING_PATH: &str = "/api/v5/asset/balances";
/// Simple Earn savings.
pub const SAVINGS_PATH: &str = "/api/v5/finance/savings/balance";
/// The account's configuration, with what the key may do.
pub const CONFIG_PATH: &str = "/api/v5/account/config";
/// The last price of every spot market.
pub const TICKERS_PATH: &str = "/api/v5/market/tickers?instType=SPOT";

/// OKX counts requests per endpoint over 2 seconds
/// (<https://www.okx.com/docs-v5/en/#overview-rate-limits>); without a `Retry-After`, wait out
/// one window and a little more.
const LOCKOUT_SECS: u64 = 3;

/// The OKX adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Okx;

const EXCHANGE: ExchangeId = ExchangeId::Okx;

impl Exchange for Okx {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["www.okx.com"]
    }

    fn key_form(&self) -> KeyForm {
        KeyForm { passphrase: true, ..KeyForm::default() }
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(Signed::new(vec![TRADING_PATH.into(), FUNDING_PATH.into(), SAVINGS_PATH.into()], read_holdings))
    }

    fn key_scope(&self) -> Option<Box<dyn Flow<KeyScope>>> {
        Some(Box::new(Signed::new(vec![CONFIG_PATH.into()], |answers| match answers.as_slice() {
            [config] => parse_config(*config),
            _ => Err(out_of_turn()),
        })))
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(OneRequest::new(|_| Ok(HttpRequest::get(format!("{API_ORIGIN}{TICKERS_PATH}"))), parse_tickers))
    }

    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(history::HistoryPageFlow::new(cursor)))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        history::is_instrument(market).then(|| Box::new(history::Candles::new(market, from_day, to_day)) as Box<dyn Flow<_>>)
    }
}

/// The signed GET of `path` (with its query string), stamped `timestamp`, exactly as OKX
/// recomputes the signature.
pub fn signed_get(credentials: &Credentials, timestamp: &str, path: &str) -> Result<HttpRequest> {
    let passphrase = credentials.api_passphrase.as_ref().ok_or(Error::InvalidInput { field: "api_passphrase" })?;
    let mac = hmac_sha256(credentials.api_secret.expose().as_bytes(), &[timestamp.as_bytes(), b"GET", path.as_bytes()])?;
    let signature = Base64::encode_string(&mac);
    Ok(HttpRequest {
        method: Method::Get,
        url: format!("{API_ORIGIN}{path}"),
        headers: vec![
            ("OK-ACCESS-KEY".to_owned(), credentials.api_key.expose().to_owned()),
            ("OK-ACCESS-SIGN".to_owned(), signature),
            ("OK-ACCESS-TIMESTAMP".to_owned(), timestamp.to_owned()),
            ("OK-ACCESS-PASSPHRASE".to_owned(), passphrase.expose().to_owned()),
        ],
        body: None,
    })
}

/// `ms` since the epoch as OKX's timestamps: `2020-12-08T09:08:57.715Z`.
pub fn iso_timestamp(ms: u64) -> String {
    let (year, month, day) = civil(ms);
    let of_day = ms % DAY_MS;
    let (hours, minutes, seconds, millis) = (of_day / 3_600_000, of_day / 60_000 % 60, of_day / 1000 % 60, of_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// How far OKX's clock is from ours, learnt from its time endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ServerClock {
    offset_ms: i64,
}

impl ServerClock {
    /// Reads a `/api/v5/public/time` answer that arrived at `now_ms`.
    pub(crate) fn read(response: HttpResponse<'_>, now_ms: u64) -> Result<Self> {
        let data = read_data(response)?;
        let server = data.items().and_then(|mut rows| rows.next()).and_then(|row| row.get("ts")).and_then(|ts| ts.string());
        let server: i64 = server.and_then(|ts| ts.parse().ok()).ok_or_else(malformed)?;
        let now = i64::try_from(now_ms).map_err(|_| malformed())?;
        Ok(Self { offset_ms: server.checked_sub(now).ok_or_else(malformed)? })
    }

    /// OKX's time now, as its timestamps are written.
    pub(crate) fn timestamp(self, now_ms: u64) -> Result<String> {
        now_ms.checked_add_signed(self.offset_ms).map(iso_timestamp).ok_or_else(malformed)
    }
}

/// The request for OKX's time.
pub(crate) fn time_request() -> HttpRequest {
    HttpRequest::get(format!("{API_ORIGIN}{TIME_PATH}"))
}

/// A private flow: OKX's time, then every path signed with it and sent together, then their
/// answers read together.
struct Signed<T> {
    paths: Vec<String>,
    read: fn(Vec<HttpResponse<'_>>) -> Result<T>,
    asked_time: bool,
}

impl<T> Signed<T> {
    fn new(paths: Vec<String>, read: fn(Vec<HttpResponse<'_>>) -> Result<T>) -> Self {
        Self { paths, read, asked_time: false }
    }
}

impl<T> Flow<T> for Signed<T> {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<T>> {
        match (answer, self.asked_time) {
            (None, false) => {
                self.asked_time = true;
                Ok(Step::Send(time_request()))
            }
            (Some(time), true) if !self.paths.is_empty() => {
                let timestamp = ServerClock::read(time, context.now_ms())?.timestamp(context.now_ms())?;
                let credentials = context.credentials()?;
                let requests = self.paths.iter().map(|path| signed_get(credentials, &timestamp, path)).collect::<Result<_>>()?;
                Ok(Step::SendAll(requests))
            }
            _ => Err(out_of_turn()),
        }
    }

    fn step_all(&mut self, answers: Vec<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<T>> {
        if !self.asked_time || answers.len() != std::mem::take(&mut self.paths).len() {
            return Err(out_of_turn());
        }
        first_rate_limit(&answers, read_data)?;
        (self.read)(answers).map(Step::Done)
    }
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn() -> Error {
    Error::InvalidInput { field: "refresh" }
}

fn malformed() -> Error {
    Error::MalformedResponse { exchange: EXCHANGE }
}

/// The three accounts' answers, summed per asset.
fn read_holdings(answers: Vec<HttpResponse<'_>>) -> Result<Vec<Balance>> {
    let [trading, funding, savings] = answers.as_slice() else {
        return Err(out_of_turn());
    };
    let trading = parse_trading(*trading)?;
    let funding = parse_funding(*funding)?;
    // Simple Earn is not offered everywhere: an account OKX refuses it to, with a code that is
    // about neither the key, its rights, the rate of requests nor maintenance, has no savings.
    let savings = match parse_savings(*savings) {
        Err(Error::ExchangeRejected { .. }) => Vec::new(),
        read => read?,
    };
    merge_balances(EXCHANGE, trading.into_iter().chain(funding).chain(savings))
}

/// Reads a trading account answer: one account whose `details` hold a row per currency. A
/// currency's holding is its equity `eq`; what is not `availBal` is held by orders or as margin.
/// A negative equity is a debt (a borrowed amount), not a holding: left out.
pub fn parse_trading(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    let mut balances = Vec::new();
    for account in read_data(response)?.items().ok_or_else(malformed)? {
        let rows = every_row(EXCHANGE, account.get("details").and_then(Value::items), |row| {
            let [currency, equity, available] = row.pick(["ccy", "eq", "availBal"])?;
            let total = equity?.decimal()?;
            // `availBal` is empty for some account modes: everything then counts as available.
            let available = available.and_then(Value::decimal).unwrap_or(total);
            Some((currency?.string()?.into_owned(), total, available))
        })?;
        for (currency, total, available) in rows {
            if balances.len() == MAX_ROWS {
                return Err(malformed());
            }
            if !total.is_sign_negative() {
                balances.push(held_back(&currency, total, available)?);
            }
        }
    }
    Ok(balances)
}

/// Reads a funding account answer: `bal` per currency, of which `availBal` can be used.
pub fn parse_funding(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    let rows = every_row(EXCHANGE, read_data(response)?.items(), |row| {
        let [currency, total, available] = row.pick(["ccy", "bal", "availBal"])?;
        Some((currency?.string()?.into_owned(), total?.decimal()?, available?.decimal()?))
    })?;
    rows.into_iter().map(|(currency, total, available)| held_back(&currency, total, available)).collect()
}

/// Reads a savings answer: `amt` per currency, all of it earning (it cannot be spent before it
/// is redeemed).
pub fn parse_savings(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    every_row(EXCHANGE, read_data(response)?.items(), |row| {
        let [currency, amount] = row.pick(["ccy", "amt"])?;
        let amount = amount?.decimal()?;
        let currency = cartera_code(&currency?.string()?)?;
        Some(Balance { currency, total: amount, available: Decimal::ZERO, locked: Decimal::ZERO, earning: amount })
    })
}

/// A balance of `total` of which `available` can be used now; an `available` outside
/// `0..=total` (a stale figure) is read as the nearest possible value.
fn held_back(currency: &str, total: Decimal, available: Decimal) -> Result<Balance> {
    let currency = cartera_code(currency).ok_or_else(malformed)?;
    let available = available.clamp(Decimal::ZERO, total.max(Decimal::ZERO));
    let locked = total.minus(available).ok_or(Error::AmountOverflow { exchange: EXCHANGE })?;
    Ok(Balance { currency, total, available, locked, earning: Decimal::ZERO })
}

/// Reads `perm` of an account configuration answer
/// (<https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration>):
/// `read_only`, `trade`, `withdraw`, comma-separated. It fails closed: a key without
/// `read_only` listed, or with a permission Cartera does not know, counts as having a right it
/// does not recognise.
pub fn parse_config(response: HttpResponse<'_>) -> Result<KeyScope> {
    let data = read_data(response)?;
    let perm = data.items().and_then(|mut rows| rows.next()).and_then(|row| row.get("perm")).and_then(|perm| perm.string());
    let perm = perm.ok_or_else(malformed)?;
    let mut scope = KeyScope { other: true, ..KeyScope::default() };
    for right in perm.split(',').map(str::trim) {
        match right {
            "read_only" => scope.other = false,
            "trade" => scope.trade = true,
            "withdraw" => scope.withdraw = true,
            _ => {}
        }
    }
    let known = |right: &str| matches!(right, "read_only" | "trade" | "withdraw");
    scope.other |= !perm.split(',').map(str::trim).all(known);
    Ok(scope)
}

/// Reads a spot tickers answer, skipping rows it cannot use.
pub fn parse_tickers(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let rows = read_data(response)?.rows(["instId", "last", "open24h", "vol24h"]).ok_or_else(malformed)?;
    Ok(rows.take(MAX_ROWS).filter_map(|row| parse_ticker(row?)).collect())
}

/// One ticker, or `None` when it cannot price anything (an instrument that is not `BASE-QUOTE`,
/// no positive last price).
fn parse_ticker([instrument, last, open, volume]: [Option<Value<'_>>; 4]) -> Option<Ticker> {
    let instrument = instrument?.string()?;
    let (base, quote) = instrument.split_once('-')?;
    let ticker = Ticker::priced(EXCHANGE, &instrument, (cartera_code(base)?, cartera_code(quote)?), last?.decimal()?)?;
    // For spot markets `vol24h` is in the base currency.
    let volume = volume.and_then(Value::decimal).unwrap_or_default();
    Some(Ticker { volume, ..ticker }.changed_since(open.and_then(Value::decimal)))
}

/// Cartera's code for an OKX currency: lowercase, with ccxt's one rename (`AE` is the ERC-20
/// AEToken, <https://github.com/ccxt/ccxt/issues/4981>). `None` for what is no currency code.
pub fn cartera_code(currency: &str) -> Option<String> {
    let valid = !currency.is_empty() && currency.len() <= 20 && currency.bytes().all(|b| b.is_ascii_alphanumeric());
    let code = currency.to_ascii_lowercase();
    valid.then(|| if code == "ae" { "aet".to_owned() } else { code })
}

/// The `data` of a successful answer, or the error the answer stands for.
pub(crate) fn read_data(response: HttpResponse<'_>) -> Result<Value<'_>> {
    let document = response.text().and_then(Value::parse);
    let code = document.and_then(|body| body.get_present("code")).and_then(Value::code).map(|(code, _)| code);
    match code.as_deref() {
        Some("0") if response.is_success() => document.and_then(|body| body.get("data")).ok_or_else(malformed),
        Some("0") | None if response.status == 429 => Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS)),
        Some("0") | None => Err(Error::unreadable(EXCHANGE, response.status)),
        Some(code) => Err(map_error(code, response)),
    }
}

/// Maps OKX's error codes (<https://www.okx.com/docs-v5/en/#error-code-rest-api-public>) to what
/// the user has to do.
fn map_error(code: &str, response: HttpResponse<'_>) -> Error {
    match code {
        // An unknown key, a bad signature or authorization, a key for another of OKX's sites or
        // for its demo trading, an empty key or signature header.
        "50111" | "50113" | "50114" | "50119" | "50101" | "50103" | "50106" => Error::InvalidCredentials { exchange: EXCHANGE },
        // The passphrase header is empty or wrong.
        "50104" | "50105" => Error::ApiPassphraseRejected { exchange: EXCHANGE },
        // The timestamp expired, or is not one.
        "50102" | "50112" => Error::ClockSkew { exchange: EXCHANGE },
        // "API key doesn't have permission".
        "50120" => Error::MissingPermission { exchange: EXCHANGE },
        // "Your IP is not included in your API key's IP whitelist".
        "50110" => Error::IpNotAllowed { exchange: EXCHANGE },
        // "API frozen, please contact customer service".
        "50100" => Error::KeyInactive { exchange: EXCHANGE },
        // The account is blocked, or suspended during a liquidation.
        "50007" | "50009" => Error::AccountRestricted { exchange: EXCHANGE },
        // "Too Many Requests".
        "50011" => Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS),
        // Maintenance, an API offline, a busy or failing system, a timeout inside OKX.
        "50001" | "50004" | "50005" | "50013" | "50026" => {
            Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status }
        }
        other => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(other) },
    }
}

#[cfg(test)]
mod tests;
