//! Bitso API v3, <https://docs.bitso.com/bitso-api/docs/create-signed-requests>.
//!
//! Signing: lowercase hex of HMAC-SHA256, keyed with the secret's UTF-8 bytes, over
//! `nonce + METHOD + path-with-query + body` (the body is empty for GET), sent as
//! `Authorization: Bitso <key>:<nonce>:<signature>`.
//!
//! Errors come as `{"success": false, "error": {"code": "0201", "message": "…"}}`, the code a
//! string or (in older answers) a number. Rate limits answer HTTP 420 with code 0801; a CDN in
//! front of the API may answer with an HTML page, which is never shown to the user.

use std::borrow::Cow;

use super::{
    Balance, Exchange, Flow, HttpRequest, HttpResponse, Method, OneRequest, Ticker,
    json::{JsonDecimal as _, Value},
    every_row, merge_balances,
};
use crate::{
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    secret::Credentials,
    signing::hmac_sha256_hex,
};

/// The production API host.
pub const API_ORIGIN: &str = "https://api.bitso.com";
/// Every balance of the account, zero balances included.
pub const BALANCE_PATH: &str = "/v3/balance/";
/// Without `?book=`, tickers for every book, as an array (the form Bitso's Java client uses).
pub const TICKER_PATH: &str = "/v3/ticker/";

/// Bitso locks a client out for one minute when it passes the limit
/// (<https://docs.bitso.com/bitso-api/docs/general-concepts>, "Rate Limits").
const LOCKOUT_SECS: u64 = 60;

/// The Bitso adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bitso;

const EXCHANGE: ExchangeId = ExchangeId::Bitso;

impl Exchange for Bitso {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.bitso.com"]
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(OneRequest::new(
            |context| {
                let nonce = context.nonce()?.to_string();
                signed_request(context.credentials()?, &nonce, Method::Get, BALANCE_PATH, None)
            },
            parse_balances,
        ))
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(OneRequest::new(|_| Ok(HttpRequest::get(format!("{API_ORIGIN}{TICKER_PATH}"))), parse_tickers))
    }
}

/// Builds a signed request for `path_and_query` (which must start with `/`), exactly as Bitso
/// recomputes the signature: the signed path is the one sent, query string included.
pub fn signed_request(
    credentials: &Credentials,
    nonce: &str,
    method: Method,
    path_and_query: &str,
    body: Option<&str>,
) -> Result<HttpRequest> {
    let signature = hmac_sha256_hex(
        credentials.api_secret.expose().as_bytes(),
        &[nonce.as_bytes(), method.as_str().as_bytes(), path_and_query.as_bytes(), body.unwrap_or_default().as_bytes()],
    )?;
    let mut headers =
        vec![("Authorization".to_owned(), format!("Bitso {}:{nonce}:{signature}", credentials.api_key.expose()))];
    if body.is_some() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    Ok(HttpRequest { method, url: format!("{API_ORIGIN}{path_and_query}"), headers, body: body.map(str::to_owned) })
}

/// Reads the balances of a `/v3/balance/` answer, or the error it reports.
pub fn parse_balances(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    let payload = read_payload(response)?;
    let parsed = every_row(EXCHANGE, payload.get("balances").and_then(Value::items), parse_balance)?;
    merge_balances(EXCHANGE, parsed)
}

/// Reads the tickers of a `/v3/ticker/` answer, or the error it reports.
pub fn parse_tickers(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let payload = read_payload(response)?;
    // All books come as an array; a single `?book=` query answers one object.
    if let Some(rows) = payload.rows(TICKER_FIELDS) {
        return Ok(rows.take(super::MAX_ROWS).filter_map(|row| parse_ticker(row?)).collect());
    }
    match payload.pick(TICKER_FIELDS) {
        Some(book) => Ok(parse_ticker(book).into_iter().collect()),
        None => Err(Error::MalformedResponse { exchange: EXCHANGE }),
    }
}

/// The `payload` of a successful answer (`{"success": true, "payload": …}`), or the error the
/// answer stands for (`{"success": false, "error": {"code": …}}`).
fn read_payload(response: HttpResponse<'_>) -> Result<Value<'_>> {
    if matches!(response.status, 420 | 429) {
        return Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS));
    }
    let Some(document) = response.text().and_then(Value::parse).filter(|document| document.fields().is_some()) else {
        return Err(Error::unreadable(EXCHANGE, response.status));
    };
    if document.get("success").is_some_and(Value::truthy) {
        return match document.get_present("payload") {
            Some(payload) if response.is_success() => Ok(payload),
            _ => Err(Error::unreadable(EXCHANGE, response.status)),
        };
    }
    match document.get_present("error").and_then(|error| error.get_present("code")) {
        Some(code) => Err(map_error_code(code, response)),
        None => Err(Error::unreadable(EXCHANGE, response.status)),
    }
}

/// Maps Bitso's error codes (<https://docs.bitso.com/bitso-api/docs/error-codes>) to what the
/// user has to do.
fn map_error_code(code: Value<'_>, response: HttpResponse<'_>) -> Error {
    let Some((text, is_number)) = code.code() else {
        return Error::unreadable(EXCHANGE, response.status);
    };
    // Before four-digit codes Bitso answered numbers; 104 was "nonce must be higher".
    if is_number && text == "104" {
        return Error::NonceRejected { exchange: EXCHANGE };
    }
    let code = if is_number && text.len() < 4 { format!("{text:0>4}") } else { text };
    match code.as_str() {
        // Check your credentials (Bitso's own message: "Invalid Nonce or Invalid Credentials");
        // authentication required; incorrect signature.
        "0201" | "0208" | "0215" => Error::InvalidCredentials { exchange: EXCHANGE },
        // Invalid nonce type or value: another app signs with this key, or the clock is off.
        "0206" | "0207" => Error::NonceRejected { exchange: EXCHANGE },
        "0202" => Error::MissingPermission { exchange: EXCHANGE },
        "0211" | "0213" => Error::IpNotAllowed { exchange: EXCHANGE },
        "0216" | "0705" => Error::AccountRestricted { exchange: EXCHANGE },
        "0326" => Error::KeyInactive { exchange: EXCHANGE },
        "0801" | "0802" => Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS),
        // Category 01 and 11 are Bitso's internal errors.
        internal if internal.starts_with("01") || internal.starts_with("11") => {
            Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status }
        }
        other => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(other) },
    }
}

fn parse_balance(entry: Value<'_>) -> Option<Balance> {
    let currency = entry.get("currency")?.string()?.trim().to_ascii_lowercase();
    if currency.is_empty() {
        return None;
    }
    Some(Balance {
        currency,
        total: entry.get("total")?.decimal()?,
        available: entry.get("available")?.decimal()?,
        locked: entry.get("locked")?.decimal()?,
        earning: rust_decimal::Decimal::ZERO,
    })
}

/// The members of a ticker that [`parse_ticker`] reads, in its order.
const TICKER_FIELDS: [&str; 5] = ["book", "last", "volume", "change_24", "created_at"];

/// One ticker, or `None` when it cannot price anything (unknown book shape, no positive last
/// price). Such a book is skipped rather than failing every other price.
fn parse_ticker(entry: [Option<Value<'_>>; TICKER_FIELDS.len()]) -> Option<Ticker> {
    let [book, last, volume, change, created_at] = entry.map(|field| field.filter(|value| !value.is_null()));
    let book = book?.string()?.to_ascii_lowercase();
    let (base, quote) = book.split_once('_')?;
    if base.is_empty() || quote.is_empty() || quote.contains('_') {
        return None;
    }
    let last = last?.decimal()?;
    if last <= rust_decimal::Decimal::ZERO {
        return None;
    }
    Some(Ticker {
        base: base.to_owned(),
        quote: quote.to_owned(),
        last,
        volume: volume.and_then(Value::decimal).unwrap_or_default(),
        change_24h: change.and_then(Value::decimal),
        created_at: created_at.and_then(Value::string).map(Cow::into_owned),
        book: format!("bitso:{book}"),
    })
}

#[cfg(test)]
mod tests;
