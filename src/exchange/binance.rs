//! Binance Spot and wallet API (`https://api.binance.com` only).
//!
//! Signing (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security>):
//! lowercase hex of HMAC-SHA256, keyed with the secret, over the exact query string of a GET or
//! the exact form body of a POST, appended to it as `&signature=`; the key travels in the
//! `X-MBX-APIKEY` header. Every signed request carries `timestamp` (ms) and `recvWindow`; Binance
//! refuses a timestamp 1 s ahead of its clock or older than `recvWindow` with -1021. Parameters
//! are sent in the order `timestamp`, the endpoint's own, `recvWindow` (ccxt's order; Binance
//! accepts any order, the signature covers the string as sent). There is no nonce.
//!
//! Without a nonce, signed requests may arrive in any order, so the holdings flow sends them
//! together ([`Step::SendAll`]): the four wallets' first requests at once, then the next Earn page
//! of each kind that has more, at once. They are signed with the computer's clock first. So that
//! a wrong clock does not lock the user out, a batch that Binance refuses with -1021 makes the
//! flow ask Binance's time (`GET /api/v3/time`, public, weight 1) and sign the same batch again
//! with `timestamp = now + (serverTime − now when the answer came)`; a clock that is right costs
//! no round trip. The key-scope check, run once when a key is added, asks the time first. Of a
//! batch's answers, a rate limit wins (it must be honoured, as Binance bans an IP that goes on
//! after a 429), then a refused time (once), then the first failure in request order.
//!
//! The whole holding is four wallets
//! (<https://developers.binance.com/docs/wallet/asset/funding-wallet>,
//! <https://developers.binance.com/docs/simple_earn/account/Get-Flexible-Product-Position>,
//! <https://developers.binance.com/docs/simple_earn/account/Get-Locked-Product-Position>):
//! spot `GET /api/v3/account?omitZeroBalances=true` (`free` + `locked`), the Funding wallet
//! `POST /sapi/v1/asset/get-funding-asset` (`free` + `locked` + `freeze` + `withdrawing`), and
//! Simple Earn flexible (`totalAmount`) and locked (`amount`) positions, paged 100 at a time while
//! `current × size < total`. Spot lists Earn holdings a second time as `LD<asset>` (`LDUSDT`);
//! those mirrors are skipped: every `LD` code of five characters or more, and a shorter one whose
//! asset has an Earn position (so `LDO`, Lido, stays). Margin, futures and options wallets are
//! not read.
//!
//! What a key may do comes from `GET /sapi/v1/account/apiRestrictions`
//! (<https://developers.binance.com/docs/wallet/account/api-key-permission>). `canTrade` and
//! `canWithdraw` on `/api/v3/account` describe the account, not the key, and are never used.
//!
//! Prices are one request for every symbol, `GET /api/v3/ticker/24hr` (weight 80, about 2,000
//! rows and 1 MB; rolling 24-hour figures). Its rows name a symbol (`ETHBTC`) but not its base and
//! quote; those come from splitting the symbol at a known quote asset ([`split_symbol`]) instead
//! of from `exchangeInfo`, which says it exactly but is several MB more and a second request on
//! every refresh. A symbol that does not split (its quote is not in [`QUOTE_ASSETS`], or two
//! quotes fit) is skipped: only one missing edge in the price graph, as Binance lists most
//! assets against USDT as well.
//!
//! Transaction history and daily candles are read by the `history` module: Binance keeps no
//! ledger, so each kind of event has its own endpoint and time window there.
//!
//! Errors come as `{"code": -2015, "msg": "…"}` (<https://developers.binance.com/docs/binance-spot-api-docs/errors>);
//! the message is never read. HTTP 429 and 418 are rate limits and IP bans, 451 a location
//! Binance does not serve, 403 its web application firewall.

use std::{borrow::Cow, collections::BTreeSet};

use rust_decimal::Decimal;

use super::{
    Balance, Context, DailyClose, Exchange, Flow, HttpRequest, HttpResponse, KeyScope, MAX_ROWS, Method, OneRequest, Step, Ticker, first_rate_limit,
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

/// The production API host; the `api1`…`api4` and `api-gcp` mirrors are the same service.
pub const API_ORIGIN: &str = "https://api.binance.com";
/// Binance's clock: `{"serverTime": 1499827319559}`.
pub const TIME_PATH: &str = "/api/v3/time";
/// The spot wallet.
pub const ACCOUNT_PATH: &str = "/api/v3/account";
/// The Funding wallet (a POST, though it changes nothing).
pub const FUNDING_PATH: &str = "/sapi/v1/asset/get-funding-asset";
/// Simple Earn flexible positions.
pub const FLEXIBLE_PATH: &str = "/sapi/v1/simple-earn/flexible/position";
/// Simple Earn locked positions.
pub const LOCKED_PATH: &str = "/sapi/v1/simple-earn/locked/position";
/// What the key may do.
pub const RESTRICTIONS_PATH: &str = "/sapi/v1/account/apiRestrictions";
/// 24-hour tickers for every symbol.
pub const TICKER_PATH: &str = "/api/v3/ticker/24hr";

/// How old a signed request may be when Binance reads it. Twice the default of 5 s: the engine's
/// clock may stand still for a whole flow (so later requests carry the time of the first), and a
/// flow pages through several answers.
pub const RECV_WINDOW_MS: u64 = 10_000;
/// Earn positions per page (Binance's maximum).
pub const EARN_PAGE_SIZE: u64 = 100;

/// The wait after a 429 that carries no `Retry-After`.
const LOCKOUT_SECS: u64 = 60;

/// The wait after a 418 that carries no `Retry-After`: longer than Binance's shortest ban (2
/// minutes), as asking again during a ban lengthens it.
const BAN_SECS: u64 = 30 * 60;

/// Quote assets a symbol may end with: Binance's quote assets, past and present.
///
/// Two of them end with another (`AEUR` with `EUR`, `BIDR` with `IDR`), so a symbol such as
/// `ADAEUR` (ADA/EUR) or `BTCAEUR` (BTC/AEUR) fits two splits; [`split_symbol`] skips those
/// rather than guess.
pub const QUOTE_ASSETS: &[&str] = &[
    // Stablecoins.
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDP", "USD1", "AEUR", "EURI", "BIDR", "IDRT", "PAX", "DAI", "VAI", "UST",
    // Crypto.
    "DOGE", "BTC", "ETH", "BNB", "XRP", "TRX", "DOT",
    // Fiat.
    "EUR", "GBP", "TRY", "BRL", "ARS", "MXN", "COP", "JPY", "AUD", "UAH", "PLN", "RON", "ZAR", "IDR", "CZK", "RUB", "NGN",
];

/// Binance's names that differ from the common ticker: ccxt's `commonCurrencies` for Binance
/// (its `BCC → BCC` override keeps Binance's old Bitcoin Cash code as it is).
const ALIASES: &[(&str, &str)] = &[("XBT", "btc"), ("BCHSV", "bsv"), ("YOYO", "yoyow")];

/// The Binance adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binance;

const EXCHANGE: ExchangeId = ExchangeId::Binance;

impl Exchange for Binance {
    fn id(&self) -> ExchangeId {
        EXCHANGE
    }

    fn hosts(&self) -> &'static [&'static str] {
        &["api.binance.com"]
    }

    /// Binance's HMAC secrets are letters and digits only (64 of them). An Ed25519 or RSA key
    /// pair, which Binance also issues, has a PEM private key instead, which Cartera cannot sign
    /// with: refused here rather than answered -1022 by Binance.
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
        Box::new(OneRequest::new(|_| Ok(HttpRequest::get(format!("{API_ORIGIN}{TICKER_PATH}"))), parse_tickers))
    }

    fn history(&self, cursor: Option<&str>, markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        Some(Box::new(history::HistoryFlow::new(cursor, markets)))
    }

    fn reads_named_markets(&self) -> bool {
        true
    }

    /// Binance's symbol for a pair typed as the user sees it on Binance (`DOGE/USDT`), or as the
    /// symbol itself.
    fn market_named(&self, text: &str) -> Option<String> {
        let symbol: String = text.trim().chars().filter(|c| !matches!(c, '/' | '-' | '_' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
        history::is_symbol(&symbol).then_some(symbol)
    }

    fn daily_closes(&self, market: &str, from_day: u64, to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        history::Candles::new(market, from_day, to_day).map(|candles| Box::new(candles) as Box<dyn Flow<Vec<DailyClose>>>)
    }
}

/// Builds a signed request whose parameters are `query` exactly (already percent-encoded):
/// for a GET they become the query string, for a POST the form body, each followed by
/// `&signature=`.
pub fn signed_request(credentials: &Credentials, method: Method, path: &str, query: &str) -> Result<HttpRequest> {
    let signature = hmac_sha256_hex(credentials.api_secret.expose().as_bytes(), &[query.as_bytes()])?;
    let signed = format!("{query}&signature={signature}");
    let mut headers = vec![("X-MBX-APIKEY".to_owned(), credentials.api_key.expose().to_owned())];
    Ok(match method {
        Method::Get => HttpRequest { method, url: format!("{API_ORIGIN}{path}?{signed}"), headers, body: None },
        Method::Post => {
            headers.push(("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned()));
            HttpRequest { method, url: format!("{API_ORIGIN}{path}"), headers, body: Some(signed) }
        }
    })
}

/// The request for Binance's time.
fn time_request() -> HttpRequest {
    HttpRequest::get(format!("{API_ORIGIN}{TIME_PATH}"))
}

/// How far Binance's clock is from ours, learnt from `/api/v3/time`; the default, no offset, is the
/// computer's own clock.
#[derive(Debug, Clone, Copy, Default)]
struct ServerClock {
    offset_ms: i64,
}

impl ServerClock {
    /// Reads a `/api/v3/time` answer that arrived at `now_ms`.
    fn read(response: HttpResponse<'_>, now_ms: u64) -> Result<Self> {
        let time = read_body(response)?.get("serverTime").and_then(Value::unsigned).ok_or_else(malformed)?;
        let server = i64::try_from(time).map_err(|_| malformed())?;
        let now = i64::try_from(now_ms).map_err(|_| malformed())?;
        Ok(Self { offset_ms: server.checked_sub(now).ok_or_else(malformed)? })
    }

    /// Binance's time now, for `timestamp`.
    fn timestamp(self, now_ms: u64) -> Result<u64> {
        now_ms.checked_add_signed(self.offset_ms).ok_or_else(malformed)
    }
}

/// One signed request of a private flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Account,
    Funding,
    Earn(EarnKind, u64),
    Restrictions,
}

impl Call {
    /// The signed request for this call, stamped with `clock`'s time.
    fn request(self, clock: ServerClock, context: &Context<'_>) -> Result<HttpRequest> {
        let timestamp = clock.timestamp(context.now_ms())?;
        let credentials = context.credentials()?;
        let query = |params: &str| format!("timestamp={timestamp}{params}&recvWindow={RECV_WINDOW_MS}");
        match self {
            Call::Account => signed_request(credentials, Method::Get, ACCOUNT_PATH, &query("&omitZeroBalances=true")),
            Call::Funding => signed_request(credentials, Method::Post, FUNDING_PATH, &query("")),
            Call::Earn(kind, page) => {
                let paging = format!("&current={page}&size={EARN_PAGE_SIZE}");
                signed_request(credentials, Method::Get, kind.path(), &query(&paging))
            }
            Call::Restrictions => signed_request(credentials, Method::Get, RESTRICTIONS_PATH, &query("")),
        }
    }
}

/// The two kinds of Simple Earn product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EarnKind {
    Flexible,
    Locked,
}

impl EarnKind {
    fn path(self) -> &'static str {
        match self {
            EarnKind::Flexible => FLEXIBLE_PATH,
            EarnKind::Locked => LOCKED_PATH,
        }
    }
}

/// Every wallet of the account: spot, funding and the first page of each Earn kind together,
/// then the next page of each Earn kind that has more, together, until none has.
#[derive(Default)]
struct Holdings {
    started: bool,
    /// Binance's clock once it has refused a timestamp; the computer's (`None`) until then.
    clock: Option<ServerClock>,
    /// Waiting for Binance's time, to sign `pending` again.
    awaiting_time: bool,
    /// The calls whose answers come next, in order.
    pending: Vec<Call>,
    /// Spot balances with Binance's own code, kept until the Earn assets are known.
    spot: Vec<(String, Balance)>,
    /// Funding and Earn balances, already in Cartera's codes.
    others: Vec<Balance>,
    /// Binance codes of every asset with an Earn position, for the `LD` rule.
    earn_assets: BTreeSet<String>,
    rows: usize,
}

/// The engine feeds answers strictly in turn; anything else is a bug, reported as such.
fn out_of_turn() -> Error {
    Error::InvalidInput { field: "refresh" }
}

impl Flow<Vec<Balance>> for Holdings {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        match (answer, self.started, self.awaiting_time) {
            (None, false, _) => {
                self.started = true;
                let first =
                    vec![Call::Account, Call::Funding, Call::Earn(EarnKind::Flexible, 1), Call::Earn(EarnKind::Locked, 1)];
                self.send(first, context)
            }
            (Some(answer), true, true) => {
                self.clock = Some(ServerClock::read(answer, context.now_ms())?);
                self.awaiting_time = false;
                let again = std::mem::take(&mut self.pending);
                self.send(again, context)
            }
            _ => Err(out_of_turn()),
        }
    }

    fn step_all(&mut self, answers: Vec<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<Vec<Balance>>> {
        if self.awaiting_time || self.pending.is_empty() || self.pending.len() != answers.len() {
            return Err(out_of_turn());
        }
        first_rate_limit(&answers, read_body)?;
        // A refused timestamp on the computer's clock: the same batch again, on Binance's.
        let refused_time = |answer: &HttpResponse<'_>| matches!(read_body(*answer), Err(Error::ClockSkew { .. }));
        if self.clock.is_none() && answers.iter().any(refused_time) {
            self.awaiting_time = true;
            return Ok(Step::Send(time_request()));
        }
        let calls = std::mem::take(&mut self.pending);
        let mut next = Vec::new();
        for (call, answer) in calls.into_iter().zip(answers) {
            match call {
                Call::Account => {
                    let spot = parse_account(answer)?;
                    self.count(spot.len())?;
                    self.spot = spot;
                }
                Call::Funding => {
                    let funding = parse_funding(answer)?;
                    self.count(funding.len())?;
                    self.others.extend(funding);
                }
                Call::Earn(kind, page) => {
                    let (positions, total) = parse_earn_page(answer, kind)?;
                    self.count(positions.len())?;
                    // An empty page ends the paging whatever `total` says, so a wrong total cannot
                    // keep the flow asking.
                    if !positions.is_empty() && page.saturating_mul(EARN_PAGE_SIZE) < total {
                        next.push(Call::Earn(kind, page.saturating_add(1)));
                    }
                    for (code, balance) in positions {
                        self.earn_assets.insert(code);
                        self.others.push(balance);
                    }
                }
                Call::Restrictions => return Err(out_of_turn()),
            }
        }
        if next.is_empty() { self.finish().map(Step::Done) } else { self.send(next, context) }
    }
}

impl Holdings {
    /// Asks for `calls` together, each signed with the flow's clock now.
    fn send(&mut self, calls: Vec<Call>, context: &Context<'_>) -> Result<Step<Vec<Balance>>> {
        let clock = self.clock.unwrap_or_default();
        let requests = calls.iter().map(|call| call.request(clock, context)).collect::<Result<_>>()?;
        self.pending = calls;
        Ok(Step::SendAll(requests))
    }

    /// Counts rows across every answer, refusing more than any real account has.
    fn count(&mut self, rows: usize) -> Result<()> {
        self.rows = self.rows.saturating_add(rows);
        if self.rows > MAX_ROWS { Err(malformed()) } else { Ok(()) }
    }

    fn finish(&mut self) -> Result<Vec<Balance>> {
        let earn_assets = std::mem::take(&mut self.earn_assets);
        let spot = std::mem::take(&mut self.spot)
            .into_iter()
            .filter(|(code, _)| !mirrors_earn(code, &earn_assets))
            .map(|(_, balance)| balance);
        merge_balances(EXCHANGE, spot.chain(std::mem::take(&mut self.others)))
    }
}

/// Whether a spot entry is Binance's mirror of a Simple Earn position (`LDUSDT` for flexible
/// USDT), whose funds the Earn endpoints already report. Following rotki
/// (<https://github.com/rotki/rotki/pull/7546>), any `LD` code of five characters or more is a
/// mirror; a shorter one (`LDOP`) is a mirror only when its asset (`OP`) has an Earn position, so
/// a real asset such as `LDO` (Lido) is kept.
fn mirrors_earn(code: &str, earn_assets: &BTreeSet<String>) -> bool {
    code.strip_prefix("LD")
        .is_some_and(|asset| !asset.is_empty() && (code.chars().count() >= 5 || earn_assets.contains(asset)))
}

/// What the key may do: time, then `apiRestrictions`.
#[derive(Default)]
struct ScopeFlow {
    clock: Option<ServerClock>,
    started: bool,
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
                Call::Restrictions.request(clock, context).map(Step::Send)
            }
            (Some(answer), true, Some(_)) => parse_key_scope(answer).map(Step::Done),
            _ => Err(out_of_turn()),
        }
    }
}

/// Reads an `apiRestrictions` answer
/// (<https://developers.binance.com/docs/wallet/account/api-key-permission>). Trading is any of
/// spot and margin, margin, futures, options, portfolio margin or FIX trading; transfer is
/// internal or universal transfer.
///
/// It fails closed: the spot trading, withdrawal and internal transfer flags every key has must
/// be there (a missing one counts as granted), and any other `enable…` or `permits…` flag that is
/// true and not a known read-only one counts as a right Cartera does not recognise.
pub fn parse_key_scope(response: HttpResponse<'_>) -> Result<KeyScope> {
    const TRADING: [&str; 6] = [
        "enableSpotAndMarginTrading",
        "enableMargin",
        "enableFutures",
        "enableVanillaOptions",
        "enablePortfolioMarginTrading",
        "enableFixApiTrade",
    ];
    const TRANSFER: [&str; 2] = ["enableInternalTransfer", "permitsUniversalTransfer"];
    const WITHDRAW: &str = "enableWithdrawals";
    const READ_ONLY: [&str; 2] = ["enableReading", "enableFixReadOnly"];
    const EVERY_KEY_HAS: [&str; 3] = ["enableSpotAndMarginTrading", WITHDRAW, "enableInternalTransfer"];

    let restrictions = read_body(response)?;
    // `enableReading` is required, though not needed: it tells this answer from any other object.
    restrictions.get("enableReading").and_then(Value::boolean).ok_or_else(malformed)?;
    let mut scope = KeyScope { other: EVERY_KEY_HAS.iter().any(|name| restrictions.get(name).is_none()), ..KeyScope::default() };
    for (name, value) in restrictions.fields().ok_or_else(malformed)? {
        let is_right = name.starts_with("enable") || name.starts_with("permits");
        if !is_right {
            continue;
        }
        // A right that is there must be a boolean.
        let granted = value.boolean().ok_or_else(malformed)?;
        match &*name {
            name if TRADING.contains(&name) => scope.trade |= granted,
            name if TRANSFER.contains(&name) => scope.transfer |= granted,
            WITHDRAW => scope.withdraw |= granted,
            name if READ_ONLY.contains(&name) => {}
            _ => scope.other |= granted,
        }
    }
    Ok(scope)
}

/// An asset code field, Binance's own spelling (for the `LD` rule) and Cartera's.
fn asset_of(row: Value<'_>) -> Option<(String, String)> {
    let asset = row.get("asset")?.string()?;
    Some((asset.trim().to_owned(), cartera_code(&asset)?))
}

/// Reads the spot balances of an `/api/v3/account` answer (`{"balances": [{"asset", "free",
/// "locked"}, …]}`), each with Binance's own code (for the `LD` rule) and as a Cartera balance.
/// `LD` entries are still among them.
pub fn parse_account(response: HttpResponse<'_>) -> Result<Vec<(String, Balance)>> {
    let account = read_body(response)?;
    every_row(EXCHANGE, account.get("balances").and_then(Value::items), |row| {
        let (asset, currency) = asset_of(row)?;
        let free = row.get("free")?.decimal()?;
        let locked = row.get("locked")?.decimal()?;
        let total = free.plus(locked)?;
        Some((asset, Balance { currency, total, available: free, locked, earning: Decimal::ZERO }))
    })
}

/// Reads a Funding wallet answer: everything but `free` is held back (in orders, frozen, or on
/// its way out).
pub fn parse_funding(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    every_row(EXCHANGE, read_body(response)?.items(), |row| {
        let (_, currency) = asset_of(row)?;
        let free = row.get("free")?.decimal()?;
        let held = row
            .get("locked")?
            .decimal()?
            .plus(row.get("freeze")?.decimal()?)?
            .plus(row.get("withdrawing")?.decimal()?)?;
        let total = free.plus(held)?;
        Some(Balance { currency, total, available: free, locked: held, earning: Decimal::ZERO })
    })
}

/// Reads one page of Earn positions: each with Binance's code and as a balance that is all
/// earning (it cannot be spent before it is redeemed), and the number of positions in all pages.
fn parse_earn_page(response: HttpResponse<'_>, kind: EarnKind) -> Result<(Vec<(String, Balance)>, u64)> {
    let page = read_body(response)?;
    let total = page.get("total").and_then(Value::unsigned).ok_or_else(malformed)?;
    // `totalAmount` for flexible positions, `amount` for locked ones.
    let amount_field = match kind {
        EarnKind::Flexible => "totalAmount",
        EarnKind::Locked => "amount",
    };
    let positions = every_row(EXCHANGE, page.get("rows").and_then(Value::items), |row| {
        let (asset, currency) = asset_of(row)?;
        let amount = row.get_present(amount_field)?.decimal()?;
        Some((
            asset,
            Balance { currency, total: amount, available: Decimal::ZERO, locked: Decimal::ZERO, earning: amount },
        ))
    })?;
    Ok((positions, total))
}

/// Reads the tickers of a `/api/v3/ticker/24hr` answer, skipping rows it cannot use. Each row is
/// read in place: the megabyte of rows is never copied into a document tree.
pub fn parse_tickers(response: HttpResponse<'_>) -> Result<Vec<Ticker>> {
    let rows = read_body(response)?.rows(["symbol", "lastPrice", "volume", "priceChange"]).ok_or_else(malformed)?;
    Ok(rows.take(MAX_ROWS).filter_map(|row| parse_ticker(row?)).collect())
}

/// One ticker from a row's `symbol`, `lastPrice`, `volume` and `priceChange`, or `None` when it
/// cannot price anything (a symbol that does not split, no positive last price, as delisted
/// symbols show).
fn parse_ticker([symbol, last, volume, change]: [Option<Value<'_>>; 4]) -> Option<Ticker> {
    let symbol = symbol?.string()?;
    let (base, quote) = split_symbol(&symbol)?;
    let ticker = Ticker::priced(EXCHANGE, &symbol, (cartera_code(base)?, cartera_code(quote)?), last?.decimal()?)?;
    Some(Ticker {
        volume: volume.and_then(Value::decimal).unwrap_or_default(),
        change_24h: change.and_then(Value::decimal),
        ..ticker
    })
}

/// Splits a symbol into base and quote at the [`QUOTE_ASSETS`] suffix that leaves a base. Where
/// two fit (`ADAEUR` is ADA/EUR, `BTCAEUR` is BTC/AEUR) only `exchangeInfo` could tell, so such a
/// symbol is not split (see [`super::split_at_quote`]).
pub fn split_symbol(symbol: &str) -> Option<(&str, &str)> {
    super::split_at_quote(symbol, QUOTE_ASSETS)
}

/// Cartera's code for a Binance asset: the common ticker where Binance differs, lowercase.
/// Non-ASCII codes (Binance lists a few) are kept as they are.
pub fn cartera_code(code: &str) -> Option<String> {
    let code = code.trim();
    if code.is_empty() || code.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let alias = ALIASES.iter().find(|(binance, _)| binance.eq_ignore_ascii_case(code));
    Some(alias.map_or_else(|| code.to_ascii_lowercase(), |(_, common)| (*common).to_owned()))
}

/// The body of a successful answer, or the error the answer stands for.
fn read_body(response: HttpResponse<'_>) -> Result<Value<'_>> {
    match response.status {
        // 429: over the request weight.
        429 => return Err(Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS)),
        // 418: the IP is banned for having gone on after 429s, for its Retry-After whole.
        418 => return Err(Error::ip_banned(EXCHANGE, response.retry_after_ms, BAN_SECS)),
        // "Service unavailable from a restricted location".
        451 => return Err(Error::LocationRestricted { exchange: EXCHANGE }),
        // The web application firewall (an HTML page), or Binance's own servers.
        403 | 500.. => {
            return Err(Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status });
        }
        _ => {}
    }
    if response.is_success() {
        return response.text().and_then(Value::parse).ok_or_else(malformed);
    }
    let code = response.text().and_then(Value::parse).and_then(|body| body.get_present("code")).and_then(error_code);
    match code {
        Some(code) => Err(map_error_code(&code, response)),
        None if response.status >= 400 => {
            Err(Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status })
        }
        None => Err(malformed()),
    }
}

/// Binance's error code as text (`-2015`), when `code` is a negative integer (as a JSON number,
/// or a string in case an endpoint quotes it).
fn error_code(code: Value<'_>) -> Option<String> {
    let text = code.string().map_or_else(|| code.raw().to_owned(), Cow::into_owned);
    let digits = text.strip_prefix('-')?;
    (!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// Maps Binance's error codes (<https://developers.binance.com/docs/binance-spot-api-docs/errors>)
/// to what the user has to do.
fn map_error_code(code: &str, response: HttpResponse<'_>) -> Error {
    match code {
        // BAD_API_KEY_FMT; INVALID_SIGNATURE (a wrong secret).
        "-2014" | "-1022" => Error::InvalidCredentials { exchange: EXCHANGE },
        // REJECTED_MBX_KEY: "Invalid API-key, IP, or permissions for action", one code for all.
        "-2015" => Error::KeyPermissionOrIp { exchange: EXCHANGE },
        // INVALID_TIMESTAMP: outside recvWindow, or ahead of Binance's clock.
        "-1021" => Error::ClockSkew { exchange: EXCHANGE },
        // TOO_MANY_REQUESTS.
        "-1003" => Error::rate_limited(EXCHANGE, response.retry_after_ms, LOCKOUT_SECS),
        // UNKNOWN (internal error), TIMEOUT (backend), SERVER_BUSY, SERVICE_SHUTTING_DOWN.
        "-1001" | "-1007" | "-1008" | "-1016" => {
            Error::ExchangeUnavailable { exchange: EXCHANGE, status: response.status }
        }
        other => Error::ExchangeRejected { exchange: EXCHANGE, code: sanitize_code(other) },
    }
}

fn malformed() -> Error {
    Error::MalformedResponse { exchange: EXCHANGE }
}

#[cfg(test)]
mod tests;
