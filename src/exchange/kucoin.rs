//! KuCoin's spot API, <https://www.kucoin.com/docs-new/introduction>.
//!
//! Signing (<https://www.kucoin.com/docs-new/authentication>, key version 2): `KC-API-SIGN` is
//! base64 of HMAC-SHA256, keyed with the secret's UTF-8 bytes, over `timestamp + method +
//! endpoint + body`, where the endpoint carries its query string and a GET has no body;
//! `KC-API-TIMESTAMP` is milliseconds since the epoch; `KC-API-PASSPHRASE` is not the passphrase
//! the user chose for the key but base64 of HMAC-SHA256 of it, keyed with the secret; and
//! `KC-API-KEY-VERSION` is `2`. There is no nonce: KuCoin refuses a timestamp more than 5 seconds
//! from its clock (400002), so every private flow first asks KuCoin's time (`GET
//! /api/v1/timestamp`, public) and signs with `now + (KuCoin's time − now when it answered)`.
//!
//! - Holdings: `GET /api/v1/accounts`, one row per account and currency (`main`, `trade`,
//!   `margin`, `trade_hf`, and whatever kind KuCoin adds), each with its `balance`, `available`
//!   and `holds`; summed per asset. A margin account's `balance` includes what was borrowed, so
//!   where the margin account holds anything its rows are read instead from the cross-margin
//!   account (`GET /api/v3/margin/accounts`,
//!   <https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-account-cross-margin>),
//!   which gives each currency's `total` and `liability`: the margin account holds `total −
//!   liability`, and a currency owed beyond what is held there is a debt, not a holding, so it is
//!   left out.
//! - Isolated margin: `GET /api/v3/isolated/accounts`
//!   (<https://www.kucoin.com/docs-new/api-3470128>),
//!   which `/api/v1/accounts` does not list, asked in the same batch as the accounts
//!   ([`Step::SendAll`]: KuCoin signs with a timestamp, not an increasing nonce). Each position
//!   (`assets`) has a `baseAsset` and a `quoteAsset`, each read as a cross-margin row is
//!   (`currency`, `total`, `hold`, `liability`: what is owned less what is owed, a net debt left
//!   out), summed over positions. The field names follow the current documentation and
//!   KuCoin's own SDK (`Kucoin/kucoin-universal-sdk`, generated from it:
//!   `GetIsolatedMarginAccountAssetsBaseAsset`), which ccxt's `kucoin.ts` reads too; the older
//!   page's example (`borrowed`, `totalAsset`, `data` an array) is not what either reads, and no
//!   source shows it answered, so it is not accepted. An answer refused with a code Cartera
//!   does not map counts as no isolated holdings: isolated margin is not offered everywhere, and
//!   KuCoin documents margin codes such as 130201 "Please open margin trade before proceeding",
//!   130306 "The account has not opened leveraged trading" and 130315 "This feature has been
//!   suspended due to country restrictions" (<https://www.kucoin.com/docs-new/error-code/spot>,
//!   "Margin") without saying which this endpoint sends. A refused key, a missing permission, a
//!   rate limit, maintenance or a malformed answer fail the refresh as anywhere else.
//! - Key scope: `permission` of `GET /api/v1/user/api-key`, a comma-separated list (`General`,
//!   `Spot`, `Margin`, `Futures`, `Earn`, `InnerTransfer`, `Transfer`).
//! - Prices: `GET /api/v1/market/allTickers`, every spot market in one request.
//! - History and daily candles: the account ledger, week by week, the high-frequency account's
//!   ledger of the last three days, and public candles (`kucoin/history.rs`, which measures
//!   KuCoin's time once for the pages of a few minutes).
//!
//! Every answer is `{"code": "200000", "data": ...}`; an error has another `code`
//! (<https://www.kucoin.com/docs-new/error-code/spot>), with HTTP 401 (keys), 403, 429 (rate
//! limits) or 5xx. The `msg` is never read.

mod history;

use base64ct::{Base64, Encoding as _};
use rust_decimal::Decimal;

use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, KeyForm, KeyScope, MAX_ROWS, Method, OneRequest, Step, Ticker, first_rate_limit,
    every_row,
    json::{JsonDecimal as _, Value},
    merge_balances,
};
use crate::{
    error::{Error, Result, sanitize_code},
    exchange_id::ExchangeId,
    money::Exact as _,
    secret::Credentials,
    signing::hmac_sha256,
    transactions::HistoryPage,
};

/// The API host.
pub const API_ORIGIN: &str = "https://api.kucoin.com";
/// KuCoin's clock: `{"code":"200000","msg":"success","data":1546837113087}`.
pub const TIME_PATH: &str = "/api/v1/timestamp";
/// Every account of every kind, a row per currency.
pub const ACCOUNTS_PATH: &str = "/api/v1/accounts";
/// The cross-margin account: each currency's assets and what is owed of it.
pub const MARGIN_PATH: &str = "/api/v3/margin/accounts?quoteCurrency=USDT&queryType=MARGIN";
/// Every isolated-margin position: `queryType=ALL` is the one that reads both the classic and
/// the high-frequency isolated accounts (`ISOLATED`, the default, reads only the classic one,
/// `ISOLATED_V2` only the high-frequency one), "consistent aggregate query with the web side"
/// (<https://www.kucoin.com/docs-new/api-3470128>).
/// `quoteCurrency` only names the currency of the answer's totals, which are not read: the
/// documentation's example asks `quoteCurrency=BTC` and is answered a `MANA-USDT` position.
pub const ISOLATED_PATH: &str = "/api/v3/isolated/accounts?quoteCurrency=USDT&queryType=ALL";
/// What the key may do.
pub const API_KEY_PATH: &str = "/api/v1/user/api-key";
/// The last price of every spot market.
pub const TICKERS_PATH: &str = "/api/v1/market/allTickers";

/// KuCoin's rate limits are quotas over 30-second windows
/// (<https://www.kucoin.com/docs-new/rate-limit>); without a `Retry-After`, wait out one window.
const LOCKOUT_SECS: u64 = 30;

/// The answer code of success.
const SUCCESS: &str = "200000";

/// The KuCoin adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kucoin;

const EXCHANGE: ExchangeId = ExchangeId::Kucoin;

impl Exchange for Kucoin {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.kucoin.com"]
    }

    fn key_form(&self) -> KeyForm {
        KeyForm { passphrase: true, ..KeyForm::default() }
    }

    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>> {
        Box::new(Holdings::default())
    }

    fn key_scope(&self) -> Option<Box<dyn Flow<KeyScope>>> {
        Some(Box::new(Signed { path: API_KEY_PATH, read: parse_api_key, asked_time: false, signed: false }))
    }

    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>> {
        Box::new(OneRequest::new(|_| Ok(HttpRequest::get(format!("{API_ORIGIN}{TICKERS_PATH}"))), parse_tickers))
    }

    fn history(&self, cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(history::HistoryPageFlow::new(cursor)))
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        history::is_symbol(market).then(|| Box::new(history::Candles::new(market, from_day, to_day)) as Box<dyn Flow<Vec<DailyClose>>>)
    }
}

/// The signed GET of `path` (with its query string), stamped `timestamp` (ms since the epoch),
/// exactly as KuCoin recomputes the signature.
pub fn signed_get(credentials: &Credentials, timestamp: u64, path: &str) -> Result<HttpRequest> {
    let passphrase = credentials.api_passphrase.as_ref().ok_or(Error::InvalidInput { field: "api_passphrase" })?;
    let secret = credentials.api_secret.expose().as_bytes();
    let timestamp = timestamp.to_string();
    let signature = hmac_sha256(secret, &[timestamp.as_bytes(), b"GET", path.as_bytes()])?;
    // Key version 2: the passphrase travels signed, never as typed.
    let passphrase = hmac_sha256(secret, &[passphrase.expose().as_bytes()])?;
    Ok(HttpRequest {
        method: Method::Get,
        url: format!("{API_ORIGIN}{path}"),
        headers: vec![
            ("KC-API-KEY".to_owned(), credentials.api_key.expose().to_owned()),
            ("KC-API-SIGN".to_owned(), Base64::encode_string(&signature)),
            ("KC-API-TIMESTAMP".to_owned(), timestamp),
            ("KC-API-PASSPHRASE".to_owned(), Base64::encode_string(&passphrase)),
            ("KC-API-KEY-VERSION".to_owned(), "2".to_owned()),
        ],
        body: None,
    })
}

/// KuCoin's time in a `/api/v1/timestamp` answer: the request it was asked for goes out at once,
/// so it is stamped with that time as it stands, whatever the computer's clock says.
pub fn server_time(response: HttpResponse<'_>) -> Result<u64> {
    read_data(response)?.unsigned().ok_or_else(malformed)
}

/// A private flow: KuCoin's time, then one path signed with it, then its answer read.
struct Signed<T> {
    path: &'static str,
    read: fn(HttpResponse<'_>) -> Result<T>,
    asked_time: bool,
    signed: bool,
}

impl<T> Flow<T> for Signed<T> {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<T>> {
        match (answer, self.asked_time, self.signed) {
            (None, false, false) => {
                self.asked_time = true;
                Ok(Step::Send(HttpRequest::get(format!("{API_ORIGIN}{TIME_PATH}"))))
            }
            (Some(time), true, false) => {
                let timestamp = server_time(time)?;
                self.signed = true;
                Ok(Step::Send(signed_get(context.credentials()?, timestamp, self.path)?))
            }
            (Some(answer), true, true) => (self.read)(answer).map(Step::Done),
            _ => Err(out_of_turn()),
        }
    }
}

/// Every holding: KuCoin's time; the accounts and the isolated-margin positions together; and
/// where the margin account holds anything, the cross-margin account with its debts, each signed
/// with KuCoin's time as it then stands.
#[derive(Default)]
struct Holdings {
    /// KuCoin's clock less ours (ms), from its time answer.
    offset: Option<i64>,
    /// What every account but the cross-margin account holds, isolated margin included, while
    /// the cross-margin account is asked.
    outside_margin: Option<Vec<Balance>>,
}

impl Flow<Vec<Balance>> for Holdings {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        let Some(answer) = answer else {
            return if self.offset.is_none() { Ok(Step::Send(HttpRequest::get(format!("{API_ORIGIN}{TIME_PATH}")))) } else { Err(out_of_turn()) };
        };
        if self.offset.is_none() {
            let server = i64::try_from(server_time(answer)?).map_err(|_| malformed())?;
            let offset = server.checked_sub(i64::try_from(answer.received_at_ms).map_err(|_| malformed())?).ok_or_else(malformed)?;
            self.offset = Some(offset);
            let timestamp = kucoin_time(answer, offset)?;
            let credentials = context.credentials()?;
            return Ok(Step::SendAll(vec![signed_get(credentials, timestamp, ACCOUNTS_PATH)?, signed_get(credentials, timestamp, ISOLATED_PATH)?]));
        }
        // The cross-margin account's answer; nothing else comes alone once the time is known.
        let balances = self.outside_margin.take().ok_or_else(out_of_turn)?;
        merge_balances(EXCHANGE, balances.into_iter().chain(parse_margin(answer)?)).map(Step::Done)
    }

    fn step_all(&mut self, answers: Vec<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        let (Some(offset), None, [accounts, isolated]) = (self.offset, &self.outside_margin, answers.as_slice()) else {
            return Err(out_of_turn());
        };
        first_rate_limit(&answers, read_data)?;
        let read = parse_accounts(*accounts)?;
        let balances: Vec<Balance> = read.balances.into_iter().chain(isolated_or_none(*isolated)?).collect();
        if !read.margin {
            return merge_balances(EXCHANGE, balances).map(Step::Done);
        }
        self.outside_margin = Some(balances);
        Ok(Step::Send(signed_get(context.credentials()?, kucoin_time(*accounts, offset)?, MARGIN_PATH)?))
    }
}

/// The isolated-margin holdings of an answer; none where KuCoin refuses isolated margin to the
/// account with a code of its own that is about neither the key, its rights, the rate of
/// requests nor maintenance (isolated margin is not offered in every region).
fn isolated_or_none(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    match parse_isolated(response) {
        Err(Error::ExchangeRejected { .. }) => Ok(Vec::new()),
        read => read,
    }
}

/// KuCoin's time when `answer` came, from the `offset` of its clock to ours.
fn kucoin_time(answer: HttpResponse<'_>, offset: i64) -> Result<u64> {
    answer.received_at_ms.checked_add_signed(offset).ok_or_else(malformed)
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn() -> Error {
    Error::InvalidInput { field: "refresh" }
}

fn malformed() -> Error {
    Error::MalformedResponse { exchange: EXCHANGE }
}

/// What an accounts answer says: every account but the margin account, summed per asset, and
/// whether the margin account holds anything (its balances include what was borrowed).
#[derive(Debug, PartialEq, Eq)]
pub struct Accounts {
    /// Every account's holdings but the margin account's.
    pub balances: Vec<Balance>,
    /// The margin account holds something: its holdings, net of debts, are asked apart.
    pub margin: bool,
}

/// Reads an accounts answer: a row per account and currency, summed per asset. What is not
/// `available` is held (`holds`: open orders, withdrawals on their way).
pub fn parse_accounts(response: HttpResponse<'_>) -> Result<Accounts> {
    let rows = every_row(EXCHANGE, read_data(response)?.items(), |row| {
        let [currency, balance, available, kind] = row.pick(["currency", "balance", "available", "type"])?;
        let currency = cartera_code(&currency?.string()?)?;
        let total = balance?.decimal()?;
        let available = available?.decimal()?;
        Some((kind?.string()? == "margin", currency, total, available))
    })?;
    let margin = rows.iter().any(|(margin, _, total, _)| *margin && *total > Decimal::ZERO);
    let balances = rows.into_iter().filter(|(margin, ..)| !margin).map(|(_, currency, total, available)| held_back(currency, total, available));
    Ok(Accounts { balances: merge_balances(EXCHANGE, balances.collect::<Result<Vec<_>>>()?)?, margin })
}

/// Reads a cross-margin account answer: each currency's `total` less its `liability`, of which
/// what `hold` keeps (open orders) is locked. A currency owed beyond what the margin account
/// holds of it is left out: a debt, not a holding.
pub fn parse_margin(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    let rows = every_row(EXCHANGE, read_data(response)?.get("accounts").and_then(Value::items), margin_row)?;
    net_of_debts(rows)
}

/// Reads an isolated-margin account answer: every position's base and quote asset, each read as
/// a cross-margin row is ([`parse_margin`]), summed over positions by the caller. A debt in one
/// position lowers no other: each position's assets are its own collateral.
pub fn parse_isolated(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    let positions = every_row(EXCHANGE, read_data(response)?.get("assets").and_then(Value::items), |position| {
        let [base, quote] = position.pick(["baseAsset", "quoteAsset"])?;
        Some([margin_row(base?)?, margin_row(quote?)?])
    })?;
    net_of_debts(positions.into_iter().flatten())
}

/// One currency of a margin account: its code, `total`, `hold` and `liability`.
fn margin_row(row: Value<'_>) -> Option<(String, Decimal, Decimal, Decimal)> {
    let [currency, total, hold, liability] = row.pick(["currency", "total", "hold", "liability"])?;
    Some((cartera_code(&currency?.string()?)?, total?.decimal()?, hold?.decimal()?, liability?.decimal()?))
}

/// What margin rows hold: each `total` less its `liability`, of which `hold` is locked; a row
/// that owes as much as it has, or more, is a debt and is left out.
fn net_of_debts(rows: impl IntoIterator<Item = (String, Decimal, Decimal, Decimal)>) -> Result<Vec<Balance>> {
    let mut balances = Vec::new();
    for (currency, total, hold, liability) in rows {
        let overflow = Error::AmountOverflow { exchange: EXCHANGE };
        let owned = total.minus(liability).ok_or(overflow.clone())?;
        if owned > Decimal::ZERO {
            balances.push(held_back(currency, owned, owned.minus(hold).ok_or(overflow)?)?);
        }
    }
    Ok(balances)
}

/// A balance of `total` of which `available` can be used now; an `available` outside
/// `0..=total` (a stale figure, or borrowed coins in the margin account) is read as the nearest
/// possible value.
fn held_back(currency: String, total: Decimal, available: Decimal) -> Result<Balance> {
    let available = available.clamp(Decimal::ZERO, total.max(Decimal::ZERO));
    let locked = total.minus(available).ok_or(Error::AmountOverflow { exchange: EXCHANGE })?;
    Ok(Balance { currency, total, available, locked, earning: Decimal::ZERO })
}

/// Reads `permission` of an API key answer
/// (<https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-apikey-info>). It
/// fails closed: a key without `General` listed, or with a permission Cartera does not know,
/// counts as having a right it does not recognise.
pub fn parse_api_key(response: HttpResponse<'_>) -> Result<KeyScope> {
    let data = read_data(response)?;
    let permission = data.get("permission").and_then(Value::string).ok_or_else(malformed)?;
    let mut scope = KeyScope { other: true, ..KeyScope::default() };
    let mut general = false;
    let mut unknown = false;
    for right in permission.split(',').map(str::trim) {
        match right {
            "General" => general = true,
            "Spot" | "Margin" | "Futures" | "Options" | "LeadtradeFutures" => scope.trade = true,
            "Transfer" | "Withdrawal" => scope.withdraw = true,
            "InnerTransfer" | "FlexTransfers" => scope.transfer = true,
            _ => unknown = true,
        }
    }
    scope.other = !general || unknown;
    Ok(scope)
}

/// Reads an all-tickers answer, skipping rows it cannot use.
pub fn parse_tickers(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let data = read_data(response)?;
    let rows = data.get("ticker").and_then(|list| list.rows(["symbol", "last", "changePrice", "vol"])).ok_or_else(malformed)?;
    Ok(rows.take(MAX_ROWS).filter_map(|row| parse_ticker(row?)).collect())
}

/// One ticker, or `None` when it cannot price anything (a symbol that is not `BASE-QUOTE`, no
/// positive last price).
fn parse_ticker([symbol, last, change, volume]: [Option<Value<'_>>; 4]) -> Option<Ticker> {
    let symbol = symbol?.string()?;
    let (base, quote) = symbol.split_once('-')?;
    let ticker = Ticker::priced(EXCHANGE, &symbol, (cartera_code(base)?, cartera_code(quote)?), last?.decimal()?)?;
    Some(Ticker {
        // `vol` is in the base currency (`volValue` in the quote).
        volume: volume.and_then(Value::decimal).unwrap_or_default(),
        change_24h: change.and_then(Value::decimal),
        ..ticker
    })
}

/// Cartera's code for a KuCoin currency: lowercase, with ccxt's renames of the codes KuCoin gives
/// to tokens the rest of the market names otherwise
/// (<https://github.com/ccxt/ccxt/blob/master/ts/src/kucoin.ts>, `commonCurrencies`). `None` for
/// what is no currency code.
pub fn cartera_code(currency: &str) -> Option<String> {
    let valid = !currency.is_empty() && currency.len() <= 20 && currency.bytes().all(|b| b.is_ascii_alphanumeric());
    let code = match currency {
        "WAX" => "waxp".to_owned(),
        "VAI" => "vaiot".to_owned(),
        "BIFI" => "bifif".to_owned(),
        "ALT" => "aptoslaunchtoken".to_owned(),
        // KuCoin's AltLayer, `ALT` everywhere else.
        "KALT" => "alt".to_owned(),
        _ => currency.to_ascii_lowercase(),
    };
    valid.then_some(code)
}

/// The `data` of a successful answer, or the error the answer stands for.
pub(crate) fn read_data(response: HttpResponse<'_>) -> Result<Value<'_>> {
    let document = response.text().and_then(Value::parse);
    let code = document.and_then(|body| body.get_present("code")).and_then(Value::code).map(|(code, _)| code);
    match code.as_deref() {
        Some(SUCCESS) if response.is_success() => document.and_then(|body| body.get("data")).ok_or_else(malformed),
        Some(SUCCESS) | None if response.status == 429 => Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS)),
        Some(SUCCESS) | None => Err(Error::unreadable(EXCHANGE, response.status)),
        Some(code) => Err(map_error(code, response)),
    }
}

/// Maps KuCoin's error codes (<https://www.kucoin.com/docs-new/error-code/spot>) to what the user
/// has to do.
fn map_error(code: &str, response: HttpResponse<'_>) -> Error {
    match code {
        // A key, signature or timestamp header missing; an unknown key; a bad signature.
        "400001" | "400003" | "400005" => Error::InvalidCredentials { exchange: EXCHANGE },
        // "KC-API-PASSPHRASE error".
        "400004" => Error::ApiPassphraseRejected { exchange: EXCHANGE },
        // "Invalid KC-API-TIMESTAMP": more than 5 seconds from KuCoin's clock.
        "400002" => Error::ClockSkew { exchange: EXCHANGE },
        // "The requested IP address is not in the API whitelist".
        "400006" => Error::IpNotAllowed { exchange: EXCHANGE },
        // "Access denied": the key lacks the permission.
        "400007" => Error::MissingPermission { exchange: EXCHANGE },
        // The user is frozen, or the account restricted for a risk problem.
        "411100" | "400700" => Error::AccountRestricted { exchange: EXCHANGE },
        // "Too Many Requests".
        "429000" => Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS),
        // Internal error, service unavailable or maintenance, a timeout inside KuCoin.
        "500000" | "503000" | "408000" => Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status },
        other => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(other) },
    }
}

#[cfg(test)]
mod tests;
