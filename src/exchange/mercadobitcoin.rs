//! Mercado Bitcoin API v4, <https://api.mercadobitcoin.net/api/v4/docs>.
//!
//! No request is signed. The key's id and secret are exchanged for a bearer token at
//! `POST /api/v4/authorize` (`{"login": <key id>, "password": <secret>}` →
//! `{"access_token", "expiration"}`), and every private request carries
//! `Authorization: Bearer <token>`. The secret therefore travels in that one body, to the
//! exchange that issued it, and nowhere else. The token lives in memory only: the engine keeps
//! it for the next conversations with the same key until two minutes before the `expiration`
//! the exchange gave it, or until the vault locks or the key is removed or replaced
//! ([`Context::session`]), and it is never stored. A kept token the exchange refuses (401) is
//! dropped and the key authorized again, once, in the same conversation.
//!
//! - Holdings: `GET /api/v4/accounts` lists the user's accounts; `GET
//!   /api/v4/accounts/{id}/balances` gives each one's `available`, `on_hold` and `total` per
//!   symbol. Account endpoints allow 3 requests a second per key ([`KEY_PACE`]): the engine spaces
//!   every request made with the key to fit, however many accounts there are and whatever else
//!   is being read with it.
//! - Key scope: the API does not report what a key may do, so the account shows "permissions not
//!   checked"; the key guide asks for "Apenas Leitura" (read only).
//! - Prices: `GET /api/v4/symbols` (public) lists every market, and `GET
//!   /api/v4/tickers?symbols=BTC-BRL,…` gives their last prices in one request; each public
//!   endpoint allows 1 request a second, and these are two endpoints.
//!
//! - History: fills, deposits and withdrawals per account and asset, and public daily candles
//!   (the `history` module), under the same token.
//!
//! Mercado Bitcoin names assets as most of the market does (`BTC`, `USDT`, `BRL`), so Cartera's
//! code is its lowercased symbol.
//!
//! An error is `{"code": "…", "message": "…"}` with an HTTP error status; the `message` is never
//! read.

use rust_decimal::Decimal;
use serde::Serialize;

use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, KeyPace, MAX_ROWS, Method, Step, Ticker, every_row,
    json::{JsonDecimal as _, Value},
    merge_balances,
};
use crate::{
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    money::Exact as _,
    secret::{BearerToken, Credentials, SecretString},
    transactions::HistoryPage,
};

mod history;

/// The API's base URL.
pub const API_BASE: &str = "https://api.mercadobitcoin.net/api/v4";
/// Where the key's id and secret are exchanged for a bearer token.
pub const AUTHORIZE_PATH: &str = "/authorize";
/// The user's accounts.
pub const ACCOUNTS_PATH: &str = "/accounts";
/// Every market, as parallel lists (`symbol`, `base-currency`, `currency`, …).
pub const SYMBOLS_PATH: &str = "/symbols";
/// The last price of the markets named in `symbols`.
pub const TICKERS_PATH: &str = "/tickers";

/// Without a `Retry-After`, wait a little more than the one-second window the limits are counted
/// in (<https://api.mercadobitcoin.net/api/v4/docs>, "Rate limit").
const LOCKOUT_SECS: u64 = 2;

/// Account endpoints allow 3 requests a second per key
/// (<https://api.mercadobitcoin.net/api/v4/docs>, "Rate limit"). The window is a tenth of a
/// second longer than the exchange's so that a request that crosses the network faster than the
/// one three before it still arrives outside that one's second.
pub const KEY_PACE: KeyPace = KeyPace { requests: 3, window_ms: 1_100 };

const EXCHANGE: ExchangeId = ExchangeId::MercadoBitcoin;

/// The Mercado Bitcoin adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct MercadoBitcoin;

impl Exchange for MercadoBitcoin {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.mercadobitcoin.net"]
    }

    fn key_pace(&self) -> Option<KeyPace> {
        Some(KEY_PACE)
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(Holdings::default())
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(Prices { asked_symbols: false, asked_tickers: false })
    }

    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(history::HistoryPageFlow::new(cursor)))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        history::is_market(market).then(|| Box::new(history::Candles::new(market, from_day, to_day)) as Box<dyn Flow<Vec<DailyClose>>>)
    }
}

/// The body of `POST /authorize`.
#[derive(Serialize)]
struct Login<'a> {
    login: &'a str,
    password: &'a str,
}

/// The request that exchanges the key's id and secret for a bearer token: the only request that
/// ever carries the secret.
pub fn authorize_request(credentials: &Credentials) -> Result<HttpRequest> {
    let login = Login { login: credentials.api_key.expose(), password: credentials.api_secret.expose() };
    let body = serde_json::to_string(&login).map_err(|_| Error::InvalidInput { field: "api_secret" })?;
    Ok(HttpRequest {
        method: Method::Post,
        url: format!("{API_BASE}{AUTHORIZE_PATH}"),
        headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
        body: Some(body),
    })
}

/// A GET of `path` carrying the bearer `token`.
pub fn bearer_get(token: &SecretString, path: &str) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: format!("{API_BASE}{path}"),
        headers: vec![("Authorization".to_owned(), format!("Bearer {}", token.expose()))],
        body: None,
    }
}

/// The longest a token is kept, whatever expiry the exchange gives it.
pub const MAX_TOKEN_LIFE_MS: u64 = 24 * 60 * 60 * 1000;

/// Reads an `/authorize` answer: the bearer token, and when it expires (`expiration`, Unix
/// seconds; a token without one is used for its own conversation only). A refusal there means
/// the key's id or secret is wrong (or the key was deleted), whatever status it comes with.
pub fn parse_token(response: HttpResponse<'_>) -> Result<BearerToken> {
    let body = read_body(response).map_err(|error| match error {
        _ if matches!(response.status, 401 | 403) => Error::InvalidCredentials { exchange: EXCHANGE },
        Error::ExchangeRejected { .. } | Error::MissingPermission { .. } => Error::InvalidCredentials { exchange: EXCHANGE },
        other => other,
    })?;
    let token = body.get("access_token").and_then(Value::string).filter(|token| is_token(token)).ok_or_else(malformed)?;
    let longest = response.received_at_ms.saturating_add(MAX_TOKEN_LIFE_MS);
    let expires_ms = seconds_in_ms(body.get("expiration")).map_or(0, |expires| expires.min(longest));
    Ok(BearerToken::new(SecretString::new(token.into_owned()), expires_ms))
}

/// Whether the answer refuses the token it was asked with: a kept token the exchange no longer
/// accepts (it expired early, or the key was changed on the exchange's site).
fn token_refused(response: HttpResponse<'_>) -> bool {
    matches!(read_body(response), Err(Error::InvalidCredentials { .. }))
}

/// A time in seconds, written as a number or a string of digits, in ms.
fn seconds_in_ms(value: Option<Value<'_>>) -> Option<u64> {
    let value = value?;
    let seconds: u64 = value.unsigned().or_else(|| value.string()?.parse().ok())?;
    seconds.checked_mul(1_000).filter(|&at| at > 0)
}

/// Whether `token` can go in a header as it is: printable ASCII, no spaces.
fn is_token(token: &str) -> bool {
    (1..=4096).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}

/// Every holding: the token (kept from an earlier conversation, or asked for now), the
/// accounts, then each account's balances one after the other.
#[derive(Default)]
struct Holdings {
    token: Option<SecretString>,
    /// The token was kept from an earlier conversation and no answer has accepted it yet.
    kept: bool,
    /// Accounts whose balances are still to be asked, last first.
    pending: Vec<String>,
    listed: bool,
    balances: Vec<Balance>,
}

impl Flow<Vec<Balance>> for Holdings {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        let Some(answer) = answer else {
            if self.token.is_some() || self.listed {
                return Err(out_of_turn());
            }
            return match context.session() {
                Some(token) => {
                    let request = bearer_get(token, ACCOUNTS_PATH);
                    self.token = Some(token.clone());
                    self.kept = true;
                    Ok(Step::Send(request))
                }
                None => authorize_request(context.credentials()?).map(Step::Send),
            };
        };
        if std::mem::take(&mut self.kept) && token_refused(answer) {
            context.end_session();
            self.token = None;
            return authorize_request(context.credentials()?).map(Step::Send);
        }
        match &self.token {
            None => {
                let token = parse_token(answer)?;
                let request = bearer_get(token.token(), ACCOUNTS_PATH);
                self.token = Some(token.token().clone());
                context.keep_session(token);
                Ok(Step::Send(request))
            }
            Some(_) if !self.listed => {
                self.listed = true;
                self.pending = parse_accounts(answer)?;
                self.pending.reverse();
                self.next_account()
            }
            Some(_) => {
                let balances = parse_balances(answer)?;
                if self.balances.len().saturating_add(balances.len()) > MAX_ROWS {
                    return Err(malformed());
                }
                self.balances.extend(balances);
                self.next_account()
            }
        }
    }
}

impl Holdings {
    /// The next account's balances, or every balance summed once none is left.
    fn next_account(&mut self) -> Result<Step<Vec<Balance>>> {
        let token = self.token.as_ref().ok_or_else(out_of_turn)?;
        match self.pending.pop() {
            Some(account) => Ok(Step::Send(bearer_get(token, &format!("{ACCOUNTS_PATH}/{account}/balances")))),
            None => {
                // This flow's copy of the token is of no more use: dropped (and zeroized) now.
                self.token = None;
                merge_balances(EXCHANGE, std::mem::take(&mut self.balances)).map(Step::Done)
            }
        }
    }
}

/// Reads an `/accounts` answer: every account's id. An id that could change the path it is put
/// in fails the answer.
pub fn parse_accounts(response: HttpResponse<'_>) -> Result<Vec<String>> {
    every_row(EXCHANGE, read_body(response)?.items(), |row| {
        let id = row.get("id")?.string()?;
        is_account_id(&id).then(|| id.into_owned())
    })
}

/// Whether `id` is an account id that cannot change the path it is put in.
fn is_account_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads a `/accounts/{id}/balances` answer: `total` per symbol, of which `available` can be
/// used and `on_hold` is kept by open orders or withdrawals.
pub fn parse_balances(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    let rows = every_row(EXCHANGE, read_body(response)?.items(), |row| {
        let [symbol, available, total] = row.pick(["symbol", "available", "total"])?;
        Some((cartera_code(&symbol?.string()?)?, available?.decimal()?, total?.decimal()?))
    })?;
    rows.into_iter()
        .map(|(currency, available, total)| {
            // A stale `available` outside `0..=total` is read as the nearest possible value.
            let available = available.clamp(Decimal::ZERO, total.max(Decimal::ZERO));
            let locked = total.minus(available).ok_or(Error::AmountOverflow { exchange: EXCHANGE })?;
            Ok(Balance { currency, total, available, locked, earning: Decimal::ZERO })
        })
        .collect()
}

/// Every market's price: the list of markets, then their tickers in one request.
struct Prices {
    asked_symbols: bool,
    asked_tickers: bool,
}

impl Flow<Vec<Ticker>> for Prices {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<Ticker>>> {
        match (answer, self.asked_symbols, self.asked_tickers) {
            (None, false, false) => {
                self.asked_symbols = true;
                Ok(Step::Send(HttpRequest::get(format!("{API_BASE}{SYMBOLS_PATH}"))))
            }
            (Some(symbols), true, false) => {
                self.asked_tickers = true;
                let symbols = parse_symbols(symbols)?;
                if symbols.is_empty() {
                    return Ok(Step::Done(Vec::new()));
                }
                Ok(Step::Send(HttpRequest::get(format!("{API_BASE}{TICKERS_PATH}?symbols={}", symbols.join(",")))))
            }
            (Some(tickers), true, true) => parse_tickers(tickers).map(Step::Done),
            _ => Err(out_of_turn()),
        }
    }
}

/// Reads a `/symbols` answer, whose members are parallel lists: every market traded now
/// (`exchange-traded` not `false`) whose name is `BASE-QUOTE` and safe in a query string.
pub fn parse_symbols(response: HttpResponse<'_>) -> Result<Vec<String>> {
    let body = read_body(response)?;
    let symbols = body.get("symbol").and_then(Value::items).ok_or_else(malformed)?;
    let mut traded = body.get("exchange-traded").and_then(Value::items);
    let mut markets = Vec::new();
    for symbol in symbols.take(MAX_ROWS) {
        let is_traded = traded.as_mut().and_then(Iterator::next).and_then(Value::boolean) != Some(false);
        let Some(symbol) = symbol.string() else { continue };
        let market = symbol.split_once('-').filter(|(base, quote)| cartera_code(base).is_some() && cartera_code(quote).is_some());
        if is_traded && market.is_some() {
            markets.push(symbol.into_owned());
        }
    }
    Ok(markets)
}

/// Reads a `/tickers` answer, skipping rows it cannot use.
pub fn parse_tickers(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let rows = read_body(response)?.rows(["pair", "last", "open", "vol"]).ok_or_else(malformed)?;
    Ok(rows.take(MAX_ROWS).filter_map(|row| parse_ticker(row?)).collect())
}

/// One ticker, or `None` when it cannot price anything (a pair that is not `BASE-QUOTE`, no
/// positive last price).
fn parse_ticker([pair, last, open, volume]: [Option<Value<'_>>; 4]) -> Option<Ticker> {
    let pair = pair?.string()?;
    let (base, quote) = pair.split_once('-')?;
    let ticker = Ticker::priced(EXCHANGE, &pair, (cartera_code(base)?, cartera_code(quote)?), last?.decimal()?)?;
    // `vol` is the base currency traded over 24 hours.
    let volume = volume.and_then(Value::decimal).unwrap_or_default();
    Some(Ticker { volume, ..ticker }.changed_since(open.and_then(Value::decimal)))
}

/// Cartera's code for a Mercado Bitcoin symbol: lowercase. `None` for what is no currency code.
pub fn cartera_code(symbol: &str) -> Option<String> {
    let valid = (1..=20).contains(&symbol.len()) && symbol.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| symbol.to_ascii_lowercase())
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn() -> Error {
    Error::InvalidInput { field: "refresh" }
}

fn malformed() -> Error {
    Error::MalformedResponse { exchange: EXCHANGE }
}

/// The body of a successful answer, or the error the answer stands for.
pub(crate) fn read_body(response: HttpResponse<'_>) -> Result<Value<'_>> {
    let document = response.text().and_then(Value::parse);
    if response.is_success() {
        return document.ok_or_else(malformed);
    }
    if response.status == 429 {
        return Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS));
    }
    let code = document.and_then(|body| body.get_present("code")).and_then(Value::string);
    match code.as_deref() {
        Some(code) => Err(map_error(code, response)),
        None => Err(Error::unreadable(EXCHANGE, response.status)),
    }
}

/// Maps Mercado Bitcoin's error codes (<https://api.mercadobitcoin.net/api/v4/docs>, "Errors")
/// to what the user has to do; a code it does not document falls back on the HTTP status. A code
/// comes bare (`FORBIDDEN`) or under its domain and module (`API|FORBIDDEN`,
/// `TRADING|ORDER|INVALID_SYMBOL`): the last part decides.
fn map_error(code: &str, response: HttpResponse<'_>) -> Error {
    let code = code.rsplit('|').next().unwrap_or(code);
    match (code, response.status) {
        ("REQUEST_RATE_EXCEEDED" | "REQUEST_DENIED" | "REQUEST_BLOCKED", _) => {
            Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS)
        }
        ("API_UNAVAILABLE", _) | (_, 500..) => Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status },
        // Wrong credentials, or a token the exchange no longer accepts.
        ("FORBIDDEN", _) | (_, 401) => Error::InvalidCredentials { exchange: EXCHANGE },
        // A key without access to what was asked.
        ("INVALID_ACCESS", _) | (_, 403) => Error::MissingPermission { exchange: EXCHANGE },
        (other, _) => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(other) },
    }
}

#[cfg(test)]
mod tests;
