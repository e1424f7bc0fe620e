//! Coinbase Advanced Trade API v3 with CDP keys,
//! <https://docs.cdp.coinbase.com/advanced-trade/docs/welcome>.
//!
//! Signing: every private request carries `Authorization: Bearer <JWT>`, a token of its own
//! that expires after two minutes
//! (<https://docs.cdp.coinbase.com/get-started/authentication/jwt-authentication>), built as
//! the official Advanced Trade SDK builds it (`coinbase-advanced-py`, `jwt_generator.py`): see
//! the `jwt` submodule. The key name (`organizations/{org}/apiKeys/{id}`, or an Ed25519 key's id) is the
//! "API key" half; the private key, ECDSA P-256 or Ed25519, is the "secret" half and is stored
//! in a canonical single-line form once read.
//!
//! - Holdings: `GET /api/v3/brokerage/accounts?limit=250`
//!   (<https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_getaccounts>),
//!   one account per currency and type, followed by `cursor` while `has_next`. A key sees the
//!   accounts of its own portfolio only. Amounts are strings; an account holds
//!   `available_balance` plus `hold`.
//! - Key scope: `GET /api/v3/brokerage/key_permissions`
//!   (<https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_getapikeypermissions>):
//!   `can_view`, `can_trade`, `can_transfer`.
//! - Prices: `GET /api/v3/brokerage/market/products?product_type=SPOT`
//!   (<https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_getpublicproducts>),
//!   public, every market at once with its price, 24-hour base volume and 24-hour change in
//!   percent.
//!
//! Errors: a rejected token answers HTTP 401 with the plain-text body `Unauthorized`; a missing
//! scope HTTP 403 with `"error_details":"Missing required scopes"`; other errors
//! `{"error": "<gRPC status>", "error_details": "…", "message": "…"}`. Time errors and rate
//! limits are known in the older v2 form `{"errors": [{"id": "…", "message": "…"}]}` and are
//! recognised by status and wording. HTTP 429 is the rate limit.
//!
//! Size: signing needs P-256 and Ed25519 arithmetic, most of what this adapter adds to the wasm
//! module, so the rest is written to stay small (one JSON object reader, no derived
//! deserialisers, no decimal addition or multiplication of its own; see the comments).

mod history;
mod jwt;

use std::borrow::Cow;

use rust_decimal::Decimal;

pub use self::history::{
    FILLS_LIMIT, FILLS_PATH, PACE_MS as HISTORY_PACE_MS, PAGE_LIMIT as HISTORY_PAGE_LIMIT, REQUESTS_PER_PAGE as HISTORY_REQUESTS_PER_PAGE,
    WALLETS_PATH,
};
use self::jwt::PrivateKey;
use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, KeyFile, KeyForm, KeyScope, Method, OneRequest, Step,
    Ticker,
    json::{JsonDecimal as _, Value},
    every_row, merge_balances,
};
use crate::{
    calendar::DAY_MS,
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    money::Exact as _,
    secret::Credentials,
    transactions::HistoryPage,
};

/// The production API host.
pub const API_ORIGIN: &str = "https://api.coinbase.com";
/// The accounts of the key's portfolio, one page at a time.
pub const ACCOUNTS_PATH: &str = "/api/v3/brokerage/accounts";
/// What the key may do.
pub const KEY_PERMISSIONS_PATH: &str = "/api/v3/brokerage/key_permissions";
/// Every spot market with its price, without authentication.
pub const PRODUCTS_PATH: &str = "/api/v3/brokerage/market/products";
/// Spot markets only: futures and perpetuals are no price of a holding.
pub const PRODUCTS_QUERY: &str = "product_type=SPOT";
/// The largest page `/accounts` serves (its default is 49).
pub const ACCOUNTS_PAGE_LIMIT: usize = 250;
/// Pages read at most: as many as [`super::MAX_ROWS`] accounts fill (no page may hold more
/// than [`ACCOUNTS_PAGE_LIMIT`]). A real portfolio needs a few; a cursor that never ends is an
/// answer Cartera cannot read.
pub const MAX_ACCOUNT_PAGES: usize = super::MAX_ROWS / ACCOUNTS_PAGE_LIMIT;

/// The wait after HTTP 429 without `Retry-After`. Coinbase counts requests per second (30 private,
/// 10 public, <https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-rate-limits>) and
/// names no lockout; a minute lets every window drain.
const RATE_LIMIT_SECS: u64 = 60;

/// The largest 24-hour change in percent that is taken for real.
const MAX_CHANGE_PERCENT: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// How many bytes of an error body are searched for known phrases: every real one is shorter.
const ERROR_TEXT_SCAN: usize = 4096;

/// The Coinbase adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Coinbase;

const EXCHANGE: ExchangeId = ExchangeId::Coinbase;
const MALFORMED: Error = Error::MalformedResponse { exchange: EXCHANGE };

impl Exchange for Coinbase {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.coinbase.com"]
    }

    /// The secret is a private key, and the portal offers the key as a JSON file
    /// (`{ "name" | "id": …, "privateKey": … }`).
    fn key_form(&self) -> KeyForm {
        KeyForm { private_key: true, key_file: Some(KeyFile { key: &["name", "id"], secret: "privateKey" }), passphrase: false }
    }

    /// Reads the key name (the "API key" field) and the private key (the "secret" field) in
    /// every form Coinbase hands them out, refuses what cannot sign before anything is sent, and
    /// keeps the key name and the canonical private key. (The downloaded key file, JSON with
    /// `name` and `privateKey`, is two such fields: splitting it is left to the page, where it
    /// costs no wasm.)
    fn credentials(&self, api_key: &str, api_secret: &str) -> Result<Credentials> {
        let (key_name, pasted_key) = (api_key.trim(), api_secret.trim());
        if !jwt::is_key_name(key_name) {
            return Err(Error::InvalidInput { field: "key_name" });
        }
        if pasted_key.is_empty() {
            return Err(Error::InvalidInput { field: "private_key" });
        }
        let private_key = PrivateKey::from_pasted(pasted_key)?;
        Credentials::new(key_name, &private_key.canonical())
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(Holdings::Start)
    }

    fn key_scope(&self) -> Option<Box<dyn Flow<KeyScope>>> {
        Some(Box::new(OneRequest::new(|context| sign_next(context, KEY_PERMISSIONS_PATH, ""), parse_key_permissions)))
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(OneRequest::new(
            |_| Ok(HttpRequest::get(format!("{API_ORIGIN}{PRODUCTS_PATH}?{PRODUCTS_QUERY}"))),
            parse_products,
        ))
    }

    /// Every wallet's transactions, from the App API v2: see the `history` submodule.
    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(history::Import::new(cursor)))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        // Product ids as the tickers name them (`BTC-USD`); anything else never reaches a URL.
        let valid = (1..=40).contains(&market.len()) && market.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        valid.then(|| Box::new(Candles { product: market.to_owned(), next_day: from_day, to_day, closes: Vec::new() }) as Box<dyn Flow<Vec<DailyClose>>>)
    }
}

/// A product's daily candles without authentication,
/// <https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-public-product-candles>:
/// `start` and `end` in Unix seconds, at most 350 candles per request, each with `start` (Unix
/// seconds, a string) and `close`.
pub fn candles_path(product: &str) -> String {
    format!("{PRODUCTS_PATH}/{product}/candles")
}

/// Days of candles asked for at once: below the 350 a request may cover.
pub const CANDLE_DAYS: u64 = 300;

/// A product's daily candles, [`CANDLE_DAYS`] at a time.
struct Candles {
    product: String,
    next_day: u64,
    to_day: u64,
    closes: Vec<DailyClose>,
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            self.closes.extend(parse_candles(answer)?.into_iter().filter(|close| close.close > Decimal::ZERO));
        }
        if self.next_day > self.to_day {
            return Ok(Step::Done(std::mem::take(&mut self.closes)));
        }
        let last = self.to_day.min(self.next_day.saturating_add(CANDLE_DAYS - 1));
        let day_s = DAY_MS / 1000;
        let url = format!(
            "{API_ORIGIN}{}?start={}&end={}&granularity=ONE_DAY",
            candles_path(&self.product),
            self.next_day.saturating_mul(day_s),
            last.saturating_add(1).saturating_mul(day_s).saturating_sub(1),
        );
        self.next_day = last.saturating_add(1);
        Ok(Step::Send(HttpRequest::get(url)))
    }
}

/// Reads a `/candles` answer: each candle's day and close, or the error it reports.
pub fn parse_candles(response: HttpResponse<'_>) -> Result<Vec<DailyClose>> {
    let body = read_success(response)?;
    every_row(EXCHANGE, body.get("candles").and_then(Value::items), |candle| {
        let [start, close] = candle.pick(["start", "close"])?;
        // Unix seconds as a string of digits (or, leniently, a JSON number).
        let start = start?;
        let seconds = match start.string() {
            Some(text) if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok()?,
            Some(_) => return None,
            None => start.unsigned()?,
        };
        Some(DailyClose { day: seconds / (DAY_MS / 1000), close: close?.decimal()? })
    })
}

/// Builds the signed `GET` of `path` with `query` (without `?`, may be empty), its token
/// valid from `now_s` and made unique by `nonce` (hex). The token's `uri` names the path only:
/// Coinbase signs no query string.
pub fn signed_request(
    credentials: &Credentials,
    nonce: &str,
    now_s: u64,
    path: &str,
    query: &str,
) -> Result<HttpRequest> {
    let private_key = PrivateKey::from_canonical(credentials.api_secret.expose())
        .ok_or(Error::InvalidInput { field: "api_secret" })?;
    let token = jwt::token(&private_key, credentials.api_key.expose(), nonce, now_s, Method::Get, path)?;
    let url = if query.is_empty() { format!("{API_ORIGIN}{path}") } else { format!("{API_ORIGIN}{path}?{query}") };
    Ok(HttpRequest {
        method: Method::Get,
        url,
        headers: vec![("Authorization".to_owned(), format!("Bearer {token}"))],
        body: None,
    })
}

/// Signs a request just before it is sent, with a fresh 32-byte nonce (as the SDK's
/// `secrets.token_hex()`) and the current second.
fn sign_next(context: &mut Context<'_>, path: &str, query: &str) -> Result<HttpRequest> {
    let mut nonce = [0u8; 32];
    context.fill_random(&mut nonce)?;
    let now_s = context.now_ms() / 1000;
    signed_request(context.credentials()?, &hex::encode(nonce), now_s, path, query)
}

/// The query of one `/accounts` page.
fn accounts_query(cursor: Option<&str>) -> String {
    let mut query = format!("limit={ACCOUNTS_PAGE_LIMIT}");
    if let Some(cursor) = cursor {
        query.push_str("&cursor=");
        query.push_str(&percent_encode(cursor));
    }
    query
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn<T>() -> Result<Step<T>> {
    Err(Error::InvalidInput { field: "refresh" })
}

/// Account pages, one signed request each, until `has_next` is false.
enum Holdings {
    Start,
    Paging {
        /// What the pages so far hold, account by account (see [`parse_account`]).
        parts: Vec<Balance>,
        /// Pages requested so far.
        pages: usize,
        /// The cursor of the page last requested.
        cursor: Option<String>,
    },
    Finished,
}

impl Flow<Vec<Balance>> for Holdings {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        match (std::mem::replace(self, Holdings::Finished), answer) {
            (Holdings::Start, None) => {
                let request = sign_next(context, ACCOUNTS_PATH, &accounts_query(None))?;
                *self = Holdings::Paging { parts: Vec::new(), pages: 1, cursor: None };
                Ok(Step::Send(request))
            }
            (Holdings::Paging { mut parts, pages, cursor }, Some(answer)) => {
                let Some(next) = read_accounts_page(answer, &mut parts)? else {
                    // Adds each account's available and held parts, and accounts of the same
                    // currency.
                    return merge_balances(EXCHANGE, parts).map(Step::Done);
                };
                // A cursor that does not move would ask for the same page forever.
                if pages >= MAX_ACCOUNT_PAGES || cursor.as_deref() == Some(next.as_str()) {
                    return Err(MALFORMED);
                }
                let request = sign_next(context, ACCOUNTS_PATH, &accounts_query(Some(&next)))?;
                *self = Holdings::Paging { parts, pages: pages + 1, cursor: Some(next) };
                Ok(Step::Send(request))
            }
            _ => out_of_turn(),
        }
    }
}

/// Reads one `/accounts` page into `parts` (see `parse_account`), or the error it reports;
/// returns where the next page starts when there is one. Crypto, fiat and vault accounts count;
/// other kinds (perpetual futures collateral, unspecified) are not holdings of the portfolio.
/// An account that cannot be read fails the whole answer: dropping it would show a smaller
/// portfolio than the user owns.
pub fn read_accounts_page(response: HttpResponse<'_>, parts: &mut Vec<Balance>) -> Result<Option<String>> {
    read_accounts(read_success(response)?, parts).ok_or(MALFORMED)
}

fn read_accounts(page: Value<'_>, parts: &mut Vec<Balance>) -> Option<Option<String>> {
    let [accounts, has_next, cursor] = page.pick(["accounts", "has_next", "cursor"])?;
    let accounts = accounts?.items()?;
    let has_next = has_next?.boolean()?;
    for (index, account) in accounts.enumerate() {
        // Coinbase never sends more than asked for; with the page cap, that bounds a holding at
        // `MAX_ROWS` accounts.
        if index == ACCOUNTS_PAGE_LIMIT {
            return None;
        }
        account.fields()?;
        // Compared as JSON text: the type names never carry escapes.
        let kind = account.get("type").map(Value::raw);
        if matches!(kind, Some(r#""ACCOUNT_TYPE_CRYPTO""# | r#""ACCOUNT_TYPE_FIAT""# | r#""ACCOUNT_TYPE_VAULT""#)) {
            parse_account(account, parts)?;
        }
    }
    let next_cursor = match (has_next, cursor.and_then(Value::string)) {
        (false, _) => None,
        (true, Some(cursor)) if !cursor.is_empty() => Some(cursor.into_owned()),
        (true, _) => return None,
    };
    Some(next_cursor)
}

/// An account as two parts of one currency, what is available (`available_balance.value`) and
/// what is held (`hold.value`, absent when nothing is), for [`merge_balances`] to add up: it
/// does so with checked arithmetic, and a second copy of decimal addition here would cost
/// about a kilobyte of wasm.
fn parse_account(account: Value<'_>, parts: &mut Vec<Balance>) -> Option<()> {
    let value = |name: &str| account.get(name)?.get("value").and_then(amount);
    let currency = asset_code(&account.get("currency")?.string()?)?;
    let available = value("available_balance")?;
    let locked = match account.get("hold") {
        Some(_) => value("hold")?,
        None => Decimal::ZERO,
    };
    parts.push(Balance::available(&currency, available));
    parts.push(Balance { currency, total: locked, available: Decimal::ZERO, locked, earning: Decimal::ZERO });
    Some(())
}

/// A non-negative amount, or `None`: a negative holding would break every sum.
fn amount(raw: Value<'_>) -> Option<Decimal> {
    raw.decimal().filter(|value| !value.is_sign_negative())
}

/// Reads a `/key_permissions` answer. `can_transfer` lets a key send funds off Coinbase, so it
/// counts as both withdrawing and transferring; a key that may not view cannot read holdings.
pub fn parse_key_permissions(response: HttpResponse<'_>) -> Result<KeyScope> {
    let permissions = read_success(response)?;
    // A flag that cannot be read could be the one granting a right: fail rather than guess.
    let [can_view, can_trade, can_transfer] =
        permissions.pick(["can_view", "can_trade", "can_transfer"]).ok_or(MALFORMED)?.map(|flag| flag?.boolean());
    match (can_view, can_trade, can_transfer) {
        (Some(false), Some(_), Some(_)) => Err(Error::MissingPermission { exchange: EXCHANGE }),
        (Some(true), Some(trade), Some(transfer)) => Ok(KeyScope { trade, withdraw: transfer, transfer, other: false }),
        _ => Err(MALFORMED),
    }
}

/// Reads a `/market/products` answer: one ticker per tradable spot market, or the error it
/// reports.
///
/// Since Coinbase merged its USD and USDC books, a USDC market is the USD market's order book
/// under a second id (`BTC-USDC` has `"alias": "BTC-USD"`, which lists it in `alias_to`). An
/// alias is skipped: it would price USDC at exactly one dollar without any market saying so.
pub fn parse_products(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let products =
        read_success(response)?.get("products").and_then(|products| products.rows(PRODUCT_FIELDS)).ok_or(MALFORMED)?;
    // A product that is not even an object is skipped like any other unreadable one.
    Ok(products.take(super::MAX_ROWS).filter_map(|product| parse_product(product?)).collect())
}

/// The members of a product that [`parse_product`] reads, in its order.
const PRODUCT_FIELDS: [&str; 12] = [
    "product_type",
    "alias",
    "status",
    "trading_disabled",
    "is_disabled",
    "view_only",
    "product_id",
    "base_currency_id",
    "quote_currency_id",
    "price",
    "price_percentage_change_24h",
    "volume_24h",
];

/// One product's ticker, or `None` when it is no tradable spot market Cartera can price.
fn parse_product(product: [Option<Value<'_>>; PRODUCT_FIELDS.len()]) -> Option<Ticker> {
    let [
        product_type,
        alias,
        status,
        trading_disabled,
        is_disabled,
        view_only,
        id,
        base,
        quote,
        price,
        percent,
        volume,
    ] = product;
    // Compared as JSON text: these values never carry escapes.
    let is = |field: Option<Value<'_>>, json: &str| field.is_some_and(|value| value.raw() == json);
    if !is(product_type, r#""SPOT""#)
        || alias.and_then(Value::string).is_some_and(|book| !book.is_empty())
        || !is(status, r#""online""#)
        || is(trading_disabled, "true")
        || is(is_disabled, "true")
        || is(view_only, "true")
    {
        return None;
    }
    let id = id?.string()?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let ticker = Ticker::priced(EXCHANGE, &id, (asset_code(&base?.string()?)?, asset_code(&quote?.string()?)?), price?.decimal()?)?;
    let change_24h = percent.and_then(Value::decimal).and_then(|percent| change_from_percent(ticker.last, percent));
    Some(Ticker { volume: volume.and_then(amount).unwrap_or_default(), change_24h, ..ticker })
}

/// The absolute change over 24 hours from the last price and the change in percent:
/// `last − last / (1 + percent/100)`. `None` when the earlier price would not be positive, or
/// for a change beyond a million percent (no market's, and it keeps every step below in range).
fn change_from_percent(last: Decimal, percent: Decimal) -> Option<Decimal> {
    if last <= Decimal::ZERO || percent.abs() > MAX_CHANGE_PERCENT {
        return None;
    }
    // 1 + percent/100, exact.
    let ratio = Decimal::ONE.plus(percent.checked_div(Decimal::ONE_HUNDRED)?)?;
    if ratio <= Decimal::ZERO {
        return None;
    }
    last.minus(last.checked_div(ratio)?)
}

/// Cartera's code for a Coinbase currency id: lowercase, with ccxt's `commonCurrencies` for
/// Coinbase applied. `None` for anything that is not an id.
fn asset_code(id: &str) -> Option<String> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let code = id.to_ascii_lowercase();
    let common = match code.as_str() {
        "xbt" => "btc",
        "bchsv" => "bsv",
        "cgld" => "celo",
        _ => return Some(code),
    };
    Some(common.to_owned())
}

/// The object a successful answer holds, or the error the answer stands for.
fn read_success(response: HttpResponse<'_>) -> Result<Value<'_>> {
    if !response.is_success() {
        return Err(error_for(response));
    }
    response.text().and_then(Value::parse).filter(|body| body.fields().is_some()).ok_or(MALFORMED)
}

/// What a failed answer stands for.
fn error_for(response: HttpResponse<'_>) -> Error {
    let text = response.text().unwrap_or_default();
    let says = |phrase: &str| mentions(text, phrase);
    let status = response.status;
    if status == 429 || says("rate_limit_exceeded") || says("resource_exhausted") {
        return Error::rate_limited(EXCHANGE, response.retry_after_ms, RATE_LIMIT_SECS);
    }
    if status >= 500 {
        return Error::ExchangeUnavailable { exchange: EXCHANGE, status };
    }
    // A wrong key, a token signed with another key and a token outside its validity window all
    // answer 401, mostly with no more than `Unauthorized`; only a body about time tells the
    // clock apart.
    if status == 401 {
        return credentials_or_clock(text);
    }
    if status == 403 && (says("missing required scopes") || says("permission")) {
        return Error::MissingPermission { exchange: EXCHANGE };
    }
    match error_code(text) {
        Some(code) => map_error_code(&code, text, status),
        // A CDN or proxy page, plain text, an empty body.
        None => Error::ExchangeUnavailable { exchange: EXCHANGE, status },
    }
}

/// The `error` of a v3 error body: a gRPC status name.
fn error_code(text: &str) -> Option<String> {
    Value::parse(text)?.get("error")?.string().map(Cow::into_owned)
}

/// Maps the gRPC status names of v3 errors. (The older v2 form, `{"errors": [{"id": …}]}`, is
/// known for rate limits and time errors only, which are recognised by status and text.)
fn map_error_code(code: &str, text: &str, status: u16) -> Error {
    match code {
        "UNAUTHENTICATED" => credentials_or_clock(text),
        "PERMISSION_DENIED" => Error::MissingPermission { exchange: EXCHANGE },
        "UNAVAILABLE" | "INTERNAL" => Error::ExchangeUnavailable { exchange: EXCHANGE, status },
        // gRPC names carry underscores, which no sanitised code keeps: `INVALID_ARGUMENT` is
        // shown as `INVALIDARGUMENT`.
        _ => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(&code.replace('_', "")) },
    }
}

/// A refused token: the clock when the answer speaks of time, the key otherwise.
fn credentials_or_clock(text: &str) -> Error {
    const ABOUT_TIME: [&str; 7] =
        ["timestamp", "token is expired", "token expired", "jwt expired", "expired_token", "not yet valid", "nbf"];
    if ABOUT_TIME.iter().any(|phrase| mentions(text, phrase)) {
        Error::ClockSkew { exchange: EXCHANGE }
    } else {
        Error::InvalidCredentials { exchange: EXCHANGE }
    }
}

/// Whether the start of `text` contains `phrase`, ignoring ASCII case.
fn mentions(text: &str, phrase: &str) -> bool {
    let head = &text.as_bytes()[..text.len().min(ERROR_TEXT_SCAN)];
    head.windows(phrase.len()).any(|window| window.eq_ignore_ascii_case(phrase.as_bytes()))
}

#[cfg(test)]
mod tests;
