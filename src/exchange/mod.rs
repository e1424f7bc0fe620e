//! Exchange adapters: pure translators between Cartera's model and one exchange's API.
//!
//! An adapter never sends anything, reads a clock or draws random numbers. Each thing Cartera
//! asks of an exchange (every holding of an account, what a key may do, every market's price) is
//! a [`Flow`]: a small state machine that returns the next request to send, is handed the
//! answer, and decides the request after that or the result. Paging (Coinbase's cursor, Binance's
//! Earn pages) and several endpoints per answer (Kraken's balances and Earn allocations) are
//! therefore the adapter's business, and the refresh engine only drives flows. A flow whose
//! requests do not depend on one another, and whose exchange does not need them to arrive in
//! order (no increasing nonce), may ask for them together ([`Step::SendAll`]). The time, the
//! nonces and the randomness a signature needs arrive through a [`Context`], so every adapter is
//! deterministic and testable without a network.
//!
//! # Adding an exchange
//!
//! The registry is [`ExchangeId::ALL`] and [`adapter`]; everything else that names exchanges is
//! generated from it or checked against it, and the checks name what a new exchange still lacks
//! (`cargo test exchange::registry_tests`, `node --test tests/ui/registry.test.mjs`).
//!
//! 1. `src/exchange/<id>.rs` (the adapter: [`Exchange`], its `hosts()` every host it contacts),
//!    `src/exchange/<id>/tests.rs` (table tests and a proptest per parser) and
//!    `tests/fixtures/<id>/` (the exchange's documented answers).
//! 2. `src/exchange_id.rs`: the variant, its place in [`ExchangeId::ALL`] (the order the options
//!    page offers) and its id in `as_str`; here, `pub mod <id>;` and its arm in [`adapter`].
//! 3. `CARTERA_WRITE_GENERATED=1 cargo test pages` writes `extension/shared/core-constants.js`
//!    anew (its origins and key form reach the pages, the permission requests and the privacy page).
//! 4. `manifest.json`: each host in `host_permissions` (as `https://<host>/*`) and in the CSP's
//!    `connect-src`; `store/listing.json`: a justification of each host in every language's
//!    `hostPermissions`; `node tools/release/privacy.mjs` then writes `PRIVACY.md`.
//! 5. `extension/_locales/{en,es,pt_BR}/messages.json`, as one block at the end of each file:
//!    `exchange_<id>`, `keysPath_<id>`, `permission_<id>`, `historyPermission_<id>`,
//!    `apiKeyHelp_<id>`, `apiSecretHelp_<id>`, `guide_<id>_1` to `_4` (`GUIDE_STEPS` in
//!    `extension/options/options.js`), and `apiKeyLabel_<id>`/`apiSecretLabel_<id>` where the
//!    exchange's own words differ from the usual ones. A sentence that lists the exchanges
//!    (`welcomeLead`; in `store/listing.json`, each language's `description` and
//!    `singlePurpose`) names it too; the ones with no room for every name (`extDescription` and
//!    the store `summary`, 132 characters; `amoSummary`, 250; the popup's `onboardingBody`) name
//!    none.
//! 6. `tests/e2e/mocks/<id>.mjs` (its stand-in, checking every signature, with `SAMPLE_ACCOUNT`
//!    and `expectedHoldings`) and its entry in `STAND_INS` (`tests/e2e/exchanges.mjs`): the demo,
//!    the screenshots and the benchmark's browser rows take it from there. Its Chromium test is
//!    its own `.test.mjs`, or a row of `tests/e2e/api-passphrase.test.mjs` where the key comes
//!    with a passphrase; `errorKindTests` (`tests/e2e/exchange-errors.mjs`) checks its errors.
//! 7. `bench/prices.mjs`: its row count in `SHAPE`, its price URLs in `PRICE_URLS`, its quotes in
//!    `QUOTES` and its markets at scale in `AT_SCALE`.
//! 8. `README.md`: its row in the key guide's table.
//! 9. Where the exchange bans an IP address for longer than a rate limit, its longest wait in
//!    [`crate::error::longest_wait_ms`] (today Binance's only); where the shipped size grows past
//!    `tools/size-budget.mjs`, raise the budget in a commit of its own that says by how much.

pub mod binance;
pub mod bitfinex;
pub mod bitso;
pub mod bybit;
pub mod coinbase;
mod json;
pub mod kraken;
pub mod kucoin;
pub mod mercadobitcoin;
pub mod okx;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::http::{HttpRequest, HttpResponse, Method};
use crate::{
    asset::asset_code,
    entropy::Entropy,
    error::{Error, Result},
    exchange_id::ExchangeId,
    money::Exact as _,
    nonce::{Nonce, NonceFormat, NonceGenerator},
    secret::{BearerToken, Credentials, SecretString},
    transactions::HistoryPage,
};

/// The adapter for `exchange`: the registry.
pub fn adapter(exchange: ExchangeId) -> &'static dyn Exchange {
    match exchange {
        ExchangeId::Bitso => &bitso::Bitso,
        ExchangeId::Kraken => &kraken::Kraken,
        ExchangeId::Binance => &binance::Binance,
        ExchangeId::Bitfinex => &bitfinex::Bitfinex,
        ExchangeId::Coinbase => &coinbase::Coinbase,
        ExchangeId::Okx => &okx::Okx,
        ExchangeId::Bybit => &bybit::Bybit,
        ExchangeId::Kucoin => &kucoin::Kucoin,
        ExchangeId::MercadoBitcoin => &mercadobitcoin::MercadoBitcoin,
    }
}

/// One currency's balance in one account, in Cartera's asset codes (lowercase, `btc`, `usdt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Lowercase asset code, after the exchange's own names were mapped (`XXBT` → `btc`).
    pub currency: String,
    /// Everything the account holds of it, earning and locked amounts included.
    #[serde(with = "crate::money::plain_string")]
    pub total: Decimal,
    /// What can be used now.
    #[serde(with = "crate::money::plain_string")]
    pub available: Decimal,
    /// What open orders or holds keep.
    #[serde(with = "crate::money::plain_string")]
    pub locked: Decimal,
    /// The part of `total` that is staked or earning (Kraken's `.S`/`.F`, Binance Earn).
    #[serde(with = "crate::money::plain_string", default, skip_serializing_if = "Decimal::is_zero")]
    pub earning: Decimal,
}

impl Balance {
    /// A balance with nothing locked or earning.
    pub fn available(currency: &str, amount: Decimal) -> Self {
        Self { currency: currency.to_owned(), total: amount, available: amount, locked: Decimal::ZERO, earning: Decimal::ZERO }
    }

    /// The sum of two balances of the same asset; `None` on overflow.
    fn checked_add(&self, other: &Balance) -> Option<Balance> {
        Some(Balance {
            currency: self.currency.clone(),
            total: self.total.plus(other.total)?,
            available: self.available.plus(other.available)?,
            locked: self.locked.plus(other.locked)?,
            earning: self.earning.plus(other.earning)?,
        })
    }
}

/// One market's last price and 24-hour figures, in Cartera's asset codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticker {
    /// The exchange and its market id, such as `bitso:btc_mxn` or `kraken:XXBTZUSD`: unique
    /// across every exchange's books.
    pub book: String,
    /// The asset bought and sold (`btc`).
    pub base: String,
    /// The currency prices are in (`mxn`).
    pub quote: String,
    /// Last trade price, in `quote` per `base`.
    pub last: Decimal,
    /// Volume traded in the last 24 hours, in `base`.
    pub volume: Decimal,
    /// Price change over 24 hours, in `quote`, when the exchange reports it.
    pub change_24h: Option<Decimal>,
    /// When the exchange computed the ticker (ISO 8601), when it says.
    pub created_at: Option<String>,
}

impl Ticker {
    /// `market`'s ticker on `exchange` at `last`, with no 24-hour figures yet; `None` when it
    /// cannot price anything: no positive last price (as delisted markets show), or a market of
    /// one asset against itself. Every adapter builds its tickers here, so a book that could
    /// never value a holding is left out the same way everywhere.
    pub fn priced(exchange: ExchangeId, market: &str, (base, quote): (String, String), last: Decimal) -> Option<Ticker> {
        (last > Decimal::ZERO && base != quote).then(|| Ticker {
            book: format!("{}:{market}", exchange.as_str()),
            base,
            quote,
            last,
            volume: Decimal::ZERO,
            change_24h: None,
            created_at: None,
        })
    }

    /// The same ticker with the change since `open` (a price 24 hours ago), when there is one.
    #[must_use]
    pub fn changed_since(self, open: Option<Decimal>) -> Ticker {
        let change_24h = open.filter(|open| *open > Decimal::ZERO).and_then(|open| self.last.minus(open));
        Ticker { change_24h, ..self }
    }
}

/// What a key may do, when the exchange can say. `None` means the exchange cannot tell.
///
/// Adapters fail closed: a flag the exchange leaves out, or a right Cartera does not recognise,
/// counts as a right until the exchange says otherwise.
///
/// Stored and sent to the pages with the verdict beside the flags (`readOnly`), so that the rule
/// is written once, here; a stored `readOnly` is ignored on reading and worked out again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ScopeRecord", into = "ScopeRecord")]
pub struct KeyScope {
    /// It may place or cancel orders.
    pub trade: bool,
    /// It may send funds off the exchange.
    pub withdraw: bool,
    /// It may move funds between accounts or wallets.
    pub transfer: bool,
    /// It may do something else the exchange reported but Cartera does not recognise, or the
    /// exchange's answer left out what Cartera needs to call the key read-only.
    pub other: bool,
}

impl KeyScope {
    /// True when the key can do nothing but read.
    pub fn is_read_only(&self) -> bool {
        !(self.trade || self.withdraw || self.transfer || self.other)
    }
}

/// A [`KeyScope`] as stored: `{ trade, withdraw, transfer, other?, readOnly }` (`other` is
/// written only when set, so the scopes of keys every version understood keep their shape).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeRecord {
    trade: bool,
    withdraw: bool,
    transfer: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    other: bool,
    #[serde(default)]
    read_only: bool,
}

impl From<ScopeRecord> for KeyScope {
    fn from(record: ScopeRecord) -> KeyScope {
        KeyScope { trade: record.trade, withdraw: record.withdraw, transfer: record.transfer, other: record.other }
    }
}

impl From<KeyScope> for ScopeRecord {
    fn from(scope: KeyScope) -> ScopeRecord {
        let read_only = scope.is_read_only();
        ScopeRecord { trade: scope.trade, withdraw: scope.withdraw, transfer: scope.transfer, other: scope.other, read_only }
    }
}

/// A limit an exchange sets on the requests of one key over a span far shorter than a
/// conversation: at most `requests` in any `window_ms`. The engine spaces every request made
/// with the key to fit, across all the conversations it holds with that key at once (a refresh,
/// a history page and a key check), so no flow has to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPace {
    /// Requests allowed in one window.
    pub requests: usize,
    /// The window, ms.
    pub window_ms: u64,
}

/// What a flow wants next.
#[derive(Debug)]
pub enum Step<T> {
    /// Send this request and hand its answer to the next call of [`Flow::step`].
    Send(HttpRequest),
    /// Send these requests at once and hand all their answers, in this order, to the next call
    /// of [`Flow::step_all`]. Never empty. Only for requests that do not depend on one another,
    /// to an exchange that accepts them in any order: never with increasing nonces.
    SendAll(Vec<HttpRequest>),
    /// The flow is finished.
    Done(T),
}

/// A conversation with one exchange: one request at a time, or a batch at once.
pub trait Flow<T> {
    /// The first call gets `None`; every later call after a [`Step::Send`] gets the answer to
    /// that request. Returns the next request or the result; an error ends the flow.
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<T>>;

    /// Called instead of [`Flow::step`] after a [`Step::SendAll`], with the answers to its
    /// requests in their order. A flow that never sends a batch keeps this, which refuses.
    fn step_all(&mut self, _answers: Vec<HttpResponse<'_>>, _context: &mut Context<'_>) -> Result<Step<T>> {
        Err(Error::InvalidInput { field: "refresh" })
    }
}

/// A flow that sends one request and reads one answer.
pub struct OneRequest<T> {
    build: Option<fn(&mut Context<'_>) -> Result<HttpRequest>>,
    read: fn(HttpResponse<'_>) -> Result<T>,
}

impl<T> OneRequest<T> {
    /// Sends the request `build` makes (signing it from the context when private), then reads the
    /// answer with `read`.
    pub fn new(build: fn(&mut Context<'_>) -> Result<HttpRequest>, read: fn(HttpResponse<'_>) -> Result<T>) -> Self {
        Self { build: Some(build), read }
    }
}

impl<T> Flow<T> for OneRequest<T> {
    fn step(&mut self, answer: Option<HttpResponse<'_>>, context: &mut Context<'_>) -> Result<Step<T>> {
        match (answer, self.build.take()) {
            (None, Some(build)) => build(context).map(Step::Send),
            (Some(answer), None) => (self.read)(answer).map(Step::Done),
            // The engine feeds answers strictly in turn; anything else is a bug, reported as such.
            _ => Err(Error::InvalidInput { field: "refresh" }),
        }
    }
}

/// What signing needs, supplied by the engine: the time, and for private flows the account's
/// credentials, its nonce sequence, randomness and, where the engine keeps one, the session an
/// exchange opened for these credentials.
pub struct Context<'a> {
    now_ms: u64,
    keys: Option<Keys<'a>>,
}

struct Keys<'a> {
    credentials: &'a Credentials,
    nonces: &'a mut NonceGenerator,
    entropy: &'a mut dyn Entropy,
    session: Option<&'a mut Option<BearerToken>>,
}

impl<'a> Context<'a> {
    /// For public flows: only the time.
    pub fn public(now_ms: u64) -> Self {
        Self { now_ms, keys: None }
    }

    /// For flows that sign with `credentials`.
    pub fn private(now_ms: u64, credentials: &'a Credentials, nonces: &'a mut NonceGenerator, entropy: &'a mut dyn Entropy) -> Self {
        Self { now_ms, keys: Some(Keys { credentials, nonces, entropy, session: None }) }
    }

    /// This context, with `session` holding the token an exchange issued for these credentials in
    /// an earlier conversation (or `None`), where the flow may keep one for the next.
    pub fn with_session(mut self, session: &'a mut Option<BearerToken>) -> Self {
        if let Some(keys) = self.keys.as_mut() {
            keys.session = Some(session);
        }
        self
    }

    /// The token of a session still open for these credentials, if the engine keeps one.
    pub fn session(&self) -> Option<&SecretString> {
        let token = self.keys.as_ref()?.session.as_deref()?.as_ref()?;
        token.usable_at(self.now_ms).then(|| token.token())
    }

    /// Keeps `token` for the next conversations with these credentials, unless it is too close
    /// to its expiry to be of use to them (where the engine keeps no sessions, it ends with the
    /// flow).
    pub fn keep_session(&mut self, token: BearerToken) {
        let now_ms = self.now_ms;
        if let Some(session) = self.keys.as_mut().and_then(|keys| keys.session.as_deref_mut()) {
            *session = token.usable_at(now_ms).then_some(token);
        }
    }

    /// Ends the session: the exchange no longer accepts its token.
    pub fn end_session(&mut self) {
        if let Some(session) = self.keys.as_mut().and_then(|keys| keys.session.as_deref_mut()) {
            *session = None;
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The account's credentials.
    pub fn credentials(&self) -> Result<&Credentials> {
        self.keys.as_ref().map(|keys| keys.credentials).ok_or(Error::InvalidInput { field: "api_key" })
    }

    /// The account's next nonce, strictly greater than every one before it.
    pub fn nonce(&mut self) -> Result<Nonce> {
        let keys = self.keys.as_mut().ok_or(Error::InvalidInput { field: "api_key" })?;
        let salt = keys.entropy.next_u32()?;
        Ok(keys.nonces.next(self.now_ms, salt))
    }

    /// Fills `dest` with random bytes.
    pub fn fill_random(&mut self, dest: &mut [u8]) -> Result<()> {
        let keys = self.keys.as_mut().ok_or(Error::InvalidInput { field: "api_key" })?;
        keys.entropy.fill(dest)
    }
}

/// Exchanges whose public prices may value what no connected exchange reaches (Bitso's peso books
/// for a Kraken-only user valuing in MXN), in order of preference.
pub const PRICE_BRIDGES: [ExchangeId; 1] = [ExchangeId::Bitso];

/// How the options page asks for an exchange's key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyForm {
    /// The secret is a private key (a multi-line PEM, or base64) rather than a short string.
    pub private_key: bool,
    /// The exchange lets users download the key as a JSON file, read in the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<KeyFile>,
    /// Every request also carries the passphrase the user chose when creating the key (OKX's and
    /// KuCoin's "Passphrase"): the page asks for it, and the vault seals it with the secret.
    pub passphrase: bool,
}

/// Where a downloaded key file keeps the key's name and its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyFile {
    /// The members that may hold the key's name, in order of preference.
    pub key: &'static [&'static str],
    /// The member that holds the secret.
    pub secret: &'static str,
}

/// One exchange's API, as pure functions and flows.
pub trait Exchange: Sync {
    /// Which exchange this is.
    fn id(&self) -> ExchangeId;

    /// The hosts this adapter ever contacts (the manifest's host permissions and CSP list them).
    fn hosts(&self) -> &'static [&'static str];

    /// How the options page asks for this exchange's key.
    fn key_form(&self) -> KeyForm {
        KeyForm::default()
    }

    /// The limit on a key's requests that the engine keeps to, where the exchange sets one too
    /// tight for a conversation's requests to go out back to back.
    fn key_pace(&self) -> Option<KeyPace> {
        None
    }

    /// How this exchange's nonces look.
    fn nonce_format(&self) -> NonceFormat {
        NonceFormat::Salted19
    }

    /// Checks pasted credentials before anything is sent: trims them and refuses what cannot be
    /// this exchange's key (a secret that is not base64 where the exchange issues base64, say).
    fn credentials(&self, api_key: &str, api_secret: &str) -> Result<Credentials> {
        Credentials::new(api_key, api_secret)
    }

    /// Every holding of the account the credentials belong to.
    fn holdings(&self) -> Box<dyn Flow<Vec<Balance>>>;

    /// What the key may do, where the exchange can say; `None` where it cannot (the account is
    /// then shown as "permissions not checked", never as read-only).
    fn key_scope(&self) -> Option<Box<dyn Flow<KeyScope>>> {
        None
    }

    /// Every market's price, from public endpoints.
    fn prices(&self) -> Box<dyn Flow<Vec<Ticker>>>;

    /// One page of the account's transaction history, going on from `cursor` (what the previous
    /// page handed back; `None` to start from the oldest), for the cost basis. `markets` are the
    /// markets the user named for the account ([`Ticker::book`] without its `exchange:` prefix),
    /// read whatever else the adapter finds: only an exchange that cannot list the markets an
    /// account traded (Binance) needs them. `None` where Cartera does not read this exchange's
    /// history. A key that may not read it fails with [`Error::HistoryPermission`].
    fn history(&self, _cursor: Option<&str>, _markets: &[String]) -> Option<Box<dyn Flow<HistoryPage>>> {
        None
    }

    /// Whether its history also reads markets the user names (see [`Exchange::history`]), for an
    /// exchange that cannot list every market an account traded. The options page then offers
    /// "Trading pairs" for its accounts.
    fn reads_named_markets(&self) -> bool {
        false
    }

    /// The market `text` names, spelled as [`Ticker::book`] spells it after the `exchange:`
    /// prefix (Binance: `doge/usdt` → `DOGEUSDT`); `None` for text that cannot name one, and
    /// wherever the history reads no named market.
    fn market_named(&self, _text: &str) -> Option<String> {
        None
    }

    /// The daily closing prices of `market` (a [`Ticker::book`] without its `exchange:` prefix)
    /// on days `from_day..=to_day` (days since 1970-01-01, UTC), from public endpoints, for
    /// valuing past transactions. `None` where the exchange publishes none.
    fn daily_closes(&self, _market: &str, _from_day: u64, _to_day: u64) -> Option<Box<dyn Flow<Vec<DailyClose>>>> {
        None
    }
}

/// Checks pasted credentials for `exchange` ([`Exchange::credentials`]) with the API passphrase
/// its [`KeyForm`] asks for: required where the exchange issues one, refused where it does not
/// (so nothing is sealed that no request would use).
pub fn pasted_credentials(exchange: &dyn Exchange, api_key: &str, api_secret: &str, api_passphrase: Option<&str>) -> Result<Credentials> {
    let credentials = exchange.credentials(api_key, api_secret)?;
    match (exchange.key_form().passphrase, api_passphrase) {
        (true, Some(api_passphrase)) => credentials.with_passphrase(api_passphrase),
        (false, None) => Ok(credentials),
        (true, None) | (false, Some(_)) => Err(Error::InvalidInput { field: "api_passphrase" }),
    }
}

/// One day's closing price of one market, in its quote currency per unit of its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyClose {
    /// Days since 1970-01-01, UTC.
    pub day: u64,
    /// The last trade price of the day; more than zero.
    pub close: Decimal,
}

/// How many of one answer's rows an adapter reads at most: far above any real account or market
/// list, low enough that a hostile answer cannot make valuation or storage balloon.
pub const MAX_ROWS: usize = 20_000;

/// Every row of a list of holdings, read with `read`. A row that cannot be read, or one more than
/// [`MAX_ROWS`], fails the whole answer as malformed: dropping it would show a smaller portfolio
/// than the user owns. `None` for `rows` (the list is missing, or is not an array) fails it too.
pub(crate) fn every_row<T>(
    exchange: ExchangeId,
    rows: Option<json::Items<'_>>,
    read: impl Fn(json::Value<'_>) -> Option<T>,
) -> Result<Vec<T>> {
    let malformed = || Error::MalformedResponse { exchange };
    let mut parsed = Vec::new();
    for row in rows.ok_or_else(malformed)? {
        if parsed.len() == MAX_ROWS {
            return Err(malformed());
        }
        parsed.push(read(row).ok_or_else(malformed)?);
    }
    Ok(parsed)
}

/// Splits a symbol written base-then-quote without a separator (`BTCUSDT`) at the one suffix of
/// `quotes` that leaves a base; `None` when none fits, or when two do (the longest is not always
/// right, so such a symbol is left unsplit rather than guessed).
pub fn split_at_quote<'a>(symbol: &'a str, quotes: &[&'static str]) -> Option<(&'a str, &'static str)> {
    let mut fits = quotes.iter().filter_map(|quote| symbol.strip_suffix(quote).filter(|base| !base.is_empty()).map(|base| (base, *quote)));
    let split = fits.next()?;
    fits.next().is_none().then_some(split)
}

/// A key and secret for an exchange whose HMAC secrets are letters and digits only: a PEM private
/// key (an RSA or Ed25519 key pair, which Binance and Bybit also issue and Cartera cannot sign
/// with) is refused here rather than by the exchange.
pub fn alphanumeric_secret(api_key: &str, api_secret: &str) -> Result<Credentials> {
    let credentials = Credentials::new(api_key, api_secret)?;
    if !credentials.api_secret.expose().bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::InvalidInput { field: "api_secret" });
    }
    Ok(credentials)
}

/// Sums balances of the same asset (an exchange may list one asset under several names, such as
/// Kraken's `XXBT` and `XBT.F`, or in several wallets) with checked arithmetic, dropping zeros.
/// Each asset keeps the place where it first appears.
///
/// Every adapter's balances pass here, so one rule holds for all of them: an asset code as
/// [`asset_code`] reads it, and no negative amount. A balance that breaks it fails the answer as
/// malformed (dropping it would show a smaller portfolio than the user owns).
pub fn merge_balances(exchange: ExchangeId, balances: impl IntoIterator<Item = Balance>) -> Result<Vec<Balance>> {
    let mut merged: IndexMap<String, Balance> = IndexMap::new();
    for mut balance in balances {
        let amounts = [balance.total, balance.available, balance.locked, balance.earning];
        if amounts.iter().any(Decimal::is_sign_negative) {
            return Err(Error::MalformedResponse { exchange });
        }
        balance.currency = asset_code(&balance.currency).map_err(|_| Error::MalformedResponse { exchange })?;
        match merged.get_mut(&balance.currency) {
            Some(known) => *known = known.checked_add(&balance).ok_or(Error::AmountOverflow { exchange })?,
            None => {
                merged.insert(balance.currency.clone(), balance);
            }
        }
    }
    merged.retain(|_, balance| !balance.total.is_zero());
    Ok(merged.into_values().collect())
}

/// A rate limit anywhere in a batch's `answers`, as the adapter's `read` of an answer reports it:
/// it must be honoured (and so reported) before any other error of the batch.
pub fn first_rate_limit(answers: &[HttpResponse<'_>], read: fn(HttpResponse<'_>) -> Result<json::Value<'_>>) -> Result<()> {
    let rate_limited = |answer: &HttpResponse<'_>| read(*answer).err().filter(|error| matches!(error, Error::RateLimited { .. }));
    answers.iter().find_map(rate_limited).map_or(Ok(()), Err)
}

#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod ticker_tests;

/// Drives flows in tests without a network: each request is answered by a function.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::entropy::testing::CountingEntropy;

    /// An answer: status and body.
    pub(crate) type Answer = (u16, String);

    /// Runs `flow` to its end with `credentials` (or publicly when `None`), answering each request
    /// with `answer`; returns the result and every request sent.
    pub(crate) fn run<T>(
        flow: Box<dyn Flow<T>>,
        credentials: Option<&Credentials>,
        format: NonceFormat,
        now_ms: u64,
        answer: impl FnMut(&HttpRequest) -> Answer,
    ) -> (Result<T>, Vec<HttpRequest>) {
        let (result, sent) = run_batches(flow, credentials, format, now_ms, answer);
        (result, sent.into_iter().flatten().collect())
    }

    /// [`run`], with the requests as they were asked for: a [`Step::Send`] alone, a
    /// [`Step::SendAll`] together (every request of a batch is answered before the flow is
    /// handed the answers).
    pub(crate) fn run_batches<T>(
        flow: Box<dyn Flow<T>>,
        credentials: Option<&Credentials>,
        format: NonceFormat,
        now_ms: u64,
        answer: impl FnMut(&HttpRequest) -> Answer,
    ) -> (Result<T>, Vec<Vec<HttpRequest>>) {
        run_in_session(flow, credentials, format, now_ms, None, answer)
    }

    /// [`run_batches`], with `session` holding the exchange session the engine would keep for
    /// `credentials` between conversations.
    pub(crate) fn run_in_session<T>(
        mut flow: Box<dyn Flow<T>>,
        credentials: Option<&Credentials>,
        format: NonceFormat,
        now_ms: u64,
        mut session: Option<&mut Option<BearerToken>>,
        mut answer: impl FnMut(&HttpRequest) -> Answer,
    ) -> (Result<T>, Vec<Vec<HttpRequest>>) {
        let mut nonces = NonceGenerator::new(format);
        let mut entropy = CountingEntropy::new(7);
        let mut sent = Vec::new();
        // The answers to the last step's requests, and whether they answer a batch.
        let mut answers: Vec<Answer> = Vec::new();
        let mut batch = false;
        for _ in 0..100 {
            let mut context = match (credentials, session.as_deref_mut()) {
                (Some(credentials), Some(session)) => Context::private(now_ms, credentials, &mut nonces, &mut entropy).with_session(session),
                (Some(credentials), None) => Context::private(now_ms, credentials, &mut nonces, &mut entropy),
                (None, _) => Context::public(now_ms),
            };
            let view = |answer| view(answer, now_ms);
            let step = if batch {
                flow.step_all(answers.iter().map(view).collect(), &mut context)
            } else {
                flow.step(answers.first().map(view), &mut context)
            };
            let requests;
            (requests, batch) = match step {
                Ok(Step::Done(value)) => return (Ok(value), sent),
                Ok(Step::Send(request)) => (vec![request], false),
                Ok(Step::SendAll(requests)) => {
                    assert!(!requests.is_empty(), "the flow asked for an empty batch");
                    (requests, true)
                }
                Err(error) => return (Err(error), sent),
            };
            answers = requests.iter().map(&mut answer).collect();
            sent.push(requests);
        }
        panic!("the flow did not finish in 100 steps")
    }

    /// An answer as a flow reads it, received at `now_ms`.
    fn view((status, body): &Answer, now_ms: u64) -> HttpResponse<'_> {
        HttpResponse { received_at_ms: now_ms, ..HttpResponse::new(*status, body.as_bytes()) }
    }

    /// The first request a private flow sends, signed with a nonce generator that resumes after
    /// `last_nonce`.
    pub(crate) fn first_request<T>(
        mut flow: Box<dyn Flow<T>>,
        credentials: &Credentials,
        format: NonceFormat,
        last_nonce: Option<u64>,
        now_ms: u64,
    ) -> HttpRequest {
        let mut nonces = NonceGenerator::resume(format, last_nonce);
        let mut entropy = CountingEntropy::new(7);
        match flow.step(None, &mut Context::private(now_ms, credentials, &mut nonces, &mut entropy)) {
            Ok(Step::Send(request)) => request,
            Ok(Step::Done(_) | Step::SendAll(_)) => panic!("the flow did not start with one request"),
            Err(error) => panic!("the flow failed: {error:?}"),
        }
    }
}
