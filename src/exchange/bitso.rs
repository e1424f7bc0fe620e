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

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, Method, OneRequest, Step, Ticker,
    json::{JsonDecimal as _, Value},
    every_row, merge_balances,
};
use crate::{
    calendar::{DAY_MS, day_of, parse_iso8601_ms},
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    secret::Credentials,
    signing::hmac_sha256_hex,
    transactions::{Amount, HistoryPage, Kind, Side, Transaction},
};

/// The production API host.
pub const API_ORIGIN: &str = "https://api.bitso.com";
/// Every balance of the account, zero balances included.
pub const BALANCE_PATH: &str = "/v3/balance/";
/// Without `?book=`, tickers for every book, as an array (the form Bitso's Java client uses).
pub const TICKER_PATH: &str = "/v3/ticker/";
/// Every balance change of the account: trades, fees, fundings and withdrawals
/// (<https://docs.bitso.com/bitso-api/docs/list-ledger>), paged by `marker`.
pub const LEDGER_PATH: &str = "/v3/ledger/";
/// Candles of one book (`book`, `time_bucket` in seconds, `start` and `end` in ms).
pub const OHLC_PATH: &str = "/v3/ohlc";

/// The most ledger rows Bitso returns per page.
const LEDGER_PAGE: usize = 100;
/// Private calls are limited to 300 a minute (one every 200 ms); a first import goes a little
/// slower than that, so balance refreshes in between never meet the limit.
const LEDGER_PACE_MS: u64 = 400;
/// Days of candles asked for at once.
const CANDLE_DAYS: u64 = 365;

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

    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(LedgerPage { cursor: cursor.map(str::to_owned), sent: None }))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        // Book ids as Bitso writes them (`btc_mxn`); anything else never reaches a URL.
        if market.is_empty() || !market.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return None;
        }
        Some(Box::new(Candles { book: market.to_owned(), next_day: from_day, to_day, closes: Vec::new() }))
    }
}

/// Where a ledger import stands: the last row read, and how many were read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
    #[serde(default)]
    read: u64,
}

/// One page of `/v3/ledger/`, oldest first, after the cursor's marker.
struct LedgerPage {
    cursor: Option<String>,
    /// The cursor the request was built from, once sent.
    sent: Option<LedgerCursor>,
}

impl Flow<HistoryPage> for LedgerPage {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<HistoryPage>> {
        match (answer, self.sent.take()) {
            (None, None) => {
                let cursor: LedgerCursor = match self.cursor.as_deref() {
                    Some(text) => serde_json::from_str(text).map_err(|_| Error::InvalidInput { field: "cursor" })?,
                    None => LedgerCursor::default(),
                };
                let mut path = format!("{LEDGER_PATH}?limit={LEDGER_PAGE}&sort=asc");
                if let Some(marker) = &cursor.marker {
                    path.push_str("&marker=");
                    path.push_str(marker);
                }
                let nonce = context.nonce()?.to_string();
                let request = signed_request(context.credentials()?, &nonce, Method::Get, &path, None)?;
                self.sent = Some(cursor);
                Ok(Step::Send(request))
            }
            (Some(answer), Some(cursor)) => read_ledger_page(answer, cursor).map(Step::Done),
            _ => Err(Error::InvalidInput { field: "refresh" }),
        }
    }
}

/// Reads one ledger page into transactions and the cursor after it.
fn read_ledger_page(response: HttpResponse<'_>, cursor: LedgerCursor) -> Result<HistoryPage> {
    let payload = read_payload(response).map_err(|error| match error {
        // A key that reads balances but not the ledger.
        Error::MissingPermission { exchange } => Error::HistoryPermission { exchange },
        other => other,
    })?;
    let rows = every_row(EXCHANGE, payload.items(), |row| Some((row.get("eid")?.string()?.into_owned(), ledger_row(row))))?;
    let read = cursor.read.saturating_add(rows.len() as u64);
    let marker = rows.last().map(|(eid, _)| eid.clone()).or(cursor.marker);
    let caught_up = rows.len() < LEDGER_PAGE;
    let transactions = rows.into_iter().filter_map(|(_, transaction)| transaction).collect::<Result<Vec<_>>>()?;
    let next = LedgerCursor { marker, read };
    Ok(HistoryPage {
        transactions,
        cursor: serde_json::to_string(&next).unwrap_or_default(),
        caught_up,
        read,
        expected: None,
        wait_ms: if caught_up { 0 } else { LEDGER_PACE_MS },
    })
}

/// The ledger says what a trade swapped, not which side of the book it took: a trade that brought
/// in the book's quote currency sold the other asset. Bitso's books are quoted in money first
/// (`usdt_mxn`), then in dollar stablecoins (`btc_usdt`), then in bitcoin (`eth_btc`).
fn side_of(received: &str, sent: &str) -> Side {
    let quote_rank = |asset: &str| match asset {
        "mxn" | "ars" | "brl" | "cop" | "usd" => 3,
        "usdt" | "usdc" | "dai" | "tusd" => 2,
        "btc" => 1,
        _ => 0,
    };
    if quote_rank(received) > quote_rank(sent) { Side::Sell } else { Side::Buy }
}

/// One ledger row as a transaction: `trade` (one balance update out, one in), `fee` (one out),
/// `funding` (in) and `withdrawal` (out). A row that moved nothing is `None`; one that cannot be
/// read fails the page, as the cursor would pass it for good.
fn ledger_row(row: Value<'_>) -> Option<Result<Transaction>> {
    let malformed = || Error::MalformedResponse { exchange: EXCHANGE };
    let read = || -> Result<Option<Transaction>> {
        let eid = row.get("eid").and_then(Value::string).ok_or_else(malformed)?;
        let operation = row.get("operation").and_then(Value::string).ok_or_else(malformed)?;
        let at = row.get("created_at").and_then(Value::string).and_then(|text| parse_iso8601_ms(&text)).ok_or_else(malformed)?;
        let mut incoming: Option<Amount> = None;
        let mut outgoing: Option<Amount> = None;
        for update in row.get("balance_updates").and_then(Value::items).ok_or_else(malformed)? {
            let currency = update.get("currency").and_then(Value::string).ok_or_else(malformed)?;
            let amount = update.get("amount").and_then(Value::decimal).ok_or_else(malformed)?;
            let leg = if amount.is_sign_negative() { &mut outgoing } else { &mut incoming };
            if amount.is_zero() {
                continue;
            }
            // Two updates in the same direction are not a shape this reader knows.
            if leg.is_some() {
                return Err(malformed());
            }
            *leg = Some(Amount::new(&currency, amount.abs()).map_err(|_| malformed())?);
        }
        let id = format!("ledger:{eid}");
        let transaction = match (operation.as_ref(), incoming, outgoing) {
            (_, None, None) => return Ok(None),
            ("fee", None, Some(fee)) => Transaction { id, at, kind: Kind::Fee, side: None, received: None, sent: None, fee: Some(fee) },
            // A trade, and any other operation that swapped one asset for another (a conversion).
            (_, Some(received), Some(sent)) => {
                let side = Some(side_of(&received.asset, &sent.asset));
                Transaction { id, at, kind: Kind::Trade, side, received: Some(received), sent: Some(sent), fee: None }
            }
            (_, Some(received), None) => Transaction { id, at, kind: Kind::Deposit, side: None, received: Some(received), sent: None, fee: None },
            (_, None, Some(sent)) => Transaction { id, at, kind: Kind::Withdrawal, side: None, received: None, sent: Some(sent), fee: None },
        };
        Ok(Some(transaction))
    };
    read().transpose()
}

/// A book's daily candles, a year at a time.
struct Candles {
    book: String,
    next_day: u64,
    to_day: u64,
    closes: Vec<DailyClose>,
}

impl Flow<Vec<DailyClose>> for Candles {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<Vec<DailyClose>>> {
        if let Some(answer) = answer {
            let payload = read_payload(answer)?;
            let rows = every_row(EXCHANGE, payload.items(), |row| {
                let start = row.get("bucket_start_time")?.unsigned()?;
                let close = row.get("last_rate")?.decimal()?;
                Some(DailyClose { day: day_of(start), close })
            })?;
            self.closes.extend(rows.into_iter().filter(|close| close.close > Decimal::ZERO));
        }
        if self.next_day > self.to_day {
            return Ok(Step::Done(std::mem::take(&mut self.closes)));
        }
        let last = self.to_day.min(self.next_day.saturating_add(CANDLE_DAYS - 1));
        let url = format!(
            "{API_ORIGIN}{OHLC_PATH}?book={}&time_bucket=86400&start={}&end={}",
            self.book,
            self.next_day.saturating_mul(DAY_MS),
            last.saturating_add(1).saturating_mul(DAY_MS).saturating_sub(1),
        );
        self.next_day = last + 1;
        Ok(Step::Send(HttpRequest::get(url)))
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
    let ticker = Ticker::priced(EXCHANGE, &book, (base.to_owned(), quote.to_owned()), last?.decimal()?)?;
    Some(Ticker {
        volume: volume.and_then(Value::decimal).unwrap_or_default(),
        change_24h: change.and_then(Value::decimal),
        created_at: created_at.and_then(Value::string).map(Cow::into_owned),
        ..ticker
    })
}

#[cfg(test)]
mod tests;
