//! The refresh: every account's holdings and every needed exchange's prices, fetched at once,
//! turned into a [`Snapshot`].
//!
//! This is the only place that sequences I/O, and it does so through the [`Transport`] trait, so
//! the whole flow runs natively in tests with a scripted transport. The browser's transport
//! lives in `transport.rs`.
//!
//! - Accounts are fetched concurrently; one account's requests go one after another (Kraken,
//!   Bitfinex and Bitso reject a nonce that arrives after a larger one), except the batches a
//!   flow asks for at once ([`Step::SendAll`]: Binance, which has no nonce, reads its wallets
//!   together).
//! - An account that fails keeps its last balances and carries its error; the others update.
//! - Each exchange's rate limit is remembered until its (capped) retry time and is handed back
//!   to the caller to persist, so a service-worker restart does not forget it and a stored time
//!   absurdly far ahead cannot block refresh for longer than [`MAX_RETRY_AFTER_MS`] (an IP ban,
//!   Binance's 418, is waited out whole, up to [`MAX_BAN_MS`](crate::error::MAX_BAN_MS): asking during one lengthens it).
//! - Each account's last nonce is handed back too, and the next refresh continues after it.
//! - Prices are fetched once per exchange and reused for [`PRICES_REUSED_FOR_MS`].
//! - A bearer token an exchange issues for a key (Mercado Bitcoin) is kept in memory for the next
//!   conversations with the same key until it nears its expiry or [`Engine::end_sessions`].
//! - Where an exchange allows a key only a few requests a second ([`KeyPace`](crate::exchange::KeyPace): Mercado Bitcoin),
//!   every request made with the key waits its turn, whichever conversation it belongs to.

use std::{
    cell::{Cell, RefCell},
    collections::BTreeMap,
};

use futures_util::future::{join, join_all};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{
    asset::asset_code,
    entropy::Entropy,
    error::{Error, ErrorView, MAX_RETRY_AFTER_MS, Result, believable_lockout, longest_wait_ms},
    exchange::{Balance, Context, DailyClose, Flow, KeyScope, Step, Ticker, adapter},
    exchange_id::{ExchangeId, ExchangeMap},
    http::{HttpRequest, HttpResponse, retry_after_ms},
    money::{Exact as _, parse_decimal},
    nonce::{NonceGenerator, StoredNonce},
    portfolio::{AccountBalances, Snapshot, build_snapshot_hiding},
    price_history::{Routes, routes},
    profile::{Account, ManualEntry, Portfolio, Settings, manual_entry_id, portfolio_ids, portfolio_of, quote_code},
    secret::{BearerToken, Credentials},
    signing::sha256,
    settle::RefreshResult,
    transactions::{HistoryPage, MAX_PER_PAGE},
    vault::{Vault, VaultKey},
};

/// A response the transport received, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The `Retry-After` header as sent, if any.
    pub retry_after: Option<String>,
}

impl OwnedResponse {
    /// The response as a flow reads it, received at `now_ms`.
    fn view(&self, now_ms: u64) -> HttpResponse<'_> {
        HttpResponse {
            status: self.status,
            body: &self.body,
            retry_after_ms: self.retry_after.as_deref().and_then(|header| retry_after_ms(header, now_ms)),
            received_at_ms: now_ms,
        }
    }
}

/// Why a request got no usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// No answer within the time limit.
    Timeout,
    /// Could not connect (offline, DNS, TLS, blocked, a redirect refused).
    Offline,
    /// The body was larger than [`crate::http::MAX_BODY_BYTES`].
    TooLarge,
}

impl TransportFailure {
    fn into_error(self, exchange: ExchangeId) -> Error {
        match self {
            TransportFailure::Timeout => Error::Timeout { exchange },
            TransportFailure::Offline => Error::Offline { exchange },
            TransportFailure::TooLarge => Error::ResponseTooLarge { exchange },
        }
    }
}

/// Sends requests. The browser's implementation is single-threaded, so futures need not be
/// `Send`.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends `request` and returns whatever status came back.
    async fn send(&self, request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure>;

    /// Milliseconds since the Unix epoch, now: how the engine knows how long a refresh has taken.
    fn now_ms(&self) -> u64;

    /// Stops every request in flight (each fails as timed out); later requests go as usual.
    fn cancel(&self);

    /// Resolves once `ms` milliseconds have passed.
    async fn sleep(&self, ms: u64);
}

/// An account as the extension lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    /// Its id in the vault.
    pub id: String,
    /// The user's name for it.
    pub label: String,
    /// Which exchange holds it.
    pub exchange: ExchangeId,
    /// The portfolio it belongs to.
    pub portfolio: String,
}

/// What the user holds outside any exchange, in one portfolio, as typed in the options page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualHoldings {
    /// Their entry's id in the snapshot ([`manual_entry_id`]).
    pub id: String,
    /// The portfolio they belong to.
    pub portfolio: String,
    /// How the entry is named in the user's language.
    pub label: String,
    /// One balance per asset.
    pub balances: Vec<Balance>,
}

/// The largest amount one typed-in holding may have: a quadrillion units, beyond any real
/// holding, so that the sums and values of [`MAX_MANUAL`](crate::profile::MAX_MANUAL) of them can
/// never overflow and fail every refresh.
pub const MAX_MANUAL_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0); // 10^15

/// A typed-in holding's amount, as stored: a plain decimal, not negative, at most
/// [`MAX_MANUAL_AMOUNT`].
pub fn manual_amount(text: &str) -> Result<Decimal> {
    parse_decimal(text)
        .filter(|amount| amount.is_sign_positive() && *amount <= MAX_MANUAL_AMOUNT)
        .ok_or(Error::InvalidInput { field: "amount" })
}

impl ManualHoldings {
    /// The typed-in entries `(portfolio, asset code, amount)`, one group per portfolio named
    /// `label`. Two entries of one asset in one portfolio (two wallets) are one balance of their
    /// sum. An asset code that is not a short code, or an amount that is not a plain
    /// non-negative decimal, is refused.
    pub fn group<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>, label: &str) -> Result<Vec<ManualHoldings>> {
        let mut groups: Vec<ManualHoldings> = Vec::new();
        for (portfolio, asset, amount) in entries {
            let asset = asset_code(asset)?;
            let amount = manual_amount(amount)?;
            let index = match groups.iter().position(|group| group.portfolio == portfolio) {
                Some(index) => index,
                None => {
                    groups.push(ManualHoldings {
                        id: manual_entry_id(portfolio),
                        portfolio: portfolio.to_owned(),
                        label: label.to_owned(),
                        balances: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let balances = &mut groups[index].balances;
            match balances.iter_mut().find(|balance| balance.currency == asset) {
                Some(balance) => {
                    let sum = balance.total.plus(amount).ok_or(Error::InvalidInput { field: "amount" })?;
                    *balance = Balance::available(&asset, sum);
                }
                None => balances.push(Balance::available(&asset, amount)),
            }
        }
        Ok(groups)
    }
}

/// What storage holds that a refresh reads, as the background hands it over: the user's setup,
/// the last snapshot and what earlier refreshes persisted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoredInputs {
    /// Every account; those with "Import balance" off are left out.
    pub accounts: Vec<Account>,
    /// The portfolios.
    pub portfolios: Vec<Portfolio>,
    /// Typed-in holdings.
    pub manual: Vec<ManualEntry>,
    /// The display currency and "hide small balances".
    pub settings: Settings,
    /// The last good snapshot, whose balances stand in for accounts that fail now (one an older
    /// version stored that does not read is simply not used).
    #[serde(deserialize_with = "crate::stored::lenient")]
    pub snapshot: Option<Snapshot>,
    /// The last nonce sent per account id (unreadable ones are left out).
    #[serde(deserialize_with = "crate::stored::lenient_map")]
    pub nonces: BTreeMap<String, StoredNonce>,
    /// Rate-limit retry times per exchange.
    pub lockouts: ExchangeMap<u64>,
}

impl StoredInputs {
    /// The accounts to fetch, each in its portfolio.
    pub fn accounts_to_fetch(&self) -> Vec<AccountRef> {
        let portfolios = portfolio_ids(&self.portfolios);
        self.accounts
            .iter()
            .filter(|account| account.import_balance)
            .map(|account| AccountRef {
                id: account.id.clone(),
                label: account.label.clone(),
                exchange: account.exchange,
                portfolio: portfolio_of(&account.portfolio, &portfolios).to_owned(),
            })
            .collect()
    }

    /// The typed-in holdings, grouped per portfolio under `label`.
    pub fn manual_holdings(&self, label: &str) -> Result<Vec<ManualHoldings>> {
        let portfolios = portfolio_ids(&self.portfolios);
        let entries = self.manual.iter().map(|entry| (portfolio_of(&entry.portfolio, &portfolios), entry.asset.as_str(), entry.amount.as_str()));
        ManualHoldings::group(entries, label)
    }

    /// Every portfolio id, each valued apart.
    pub fn portfolio_ids(&self) -> Vec<String> {
        portfolio_ids(&self.portfolios).into_iter().map(str::to_owned).collect()
    }

    /// The last nonce per account id.
    pub fn nonces(&self) -> BTreeMap<String, u64> {
        self.nonces.iter().map(|(id, nonce)| (id.clone(), nonce.0)).collect()
    }

    /// "Hide small balances": `None` when off.
    pub fn hide_below(&self) -> Option<Decimal> {
        parse_decimal(&self.settings.hide_below)
    }

    /// The imported accounts whose keys' permissions are due for another check at `now_ms`:
    /// those never checked, or checked [`SCOPE_CHECKED_EVERY_MS`] ago or more, on an exchange
    /// that can say.
    pub fn scopes_due(&self, now_ms: u64) -> Vec<String> {
        self.accounts
            .iter()
            .filter(|account| account.import_balance && adapter(account.exchange).key_scope().is_some())
            .filter(|account| account.scope_checked_at.is_none_or(|at| now_ms.saturating_sub(at) >= SCOPE_CHECKED_EVERY_MS))
            .map(|account| account.id.clone())
            .collect()
    }
}

/// What a refresh needs.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRequest<'a> {
    /// The sealed credentials and the unlocked vault key; `None` while Cartera is locked, when
    /// only public prices are fetched and the last known balances are valued with them.
    pub keys: Option<(&'a Vault, &'a VaultKey)>,
    /// The accounts to fetch, in display order.
    pub accounts: &'a [AccountRef],
    /// The currency to value in.
    pub quote: &'a str,
    /// The last good snapshot, whose balances stand in for accounts that fail now.
    pub previous: Option<&'a Snapshot>,
    /// The last nonce sent per account id, as persisted.
    pub nonces: &'a BTreeMap<String, u64>,
    /// Rate-limit retry times per exchange (ms since the epoch), as persisted.
    pub lockouts: &'a ExchangeMap<u64>,
    /// Exchanges whose public prices may be read to reach the quote currency when no account's
    /// exchange does (in order of preference; the host permission must be granted).
    pub bridges: &'a [ExchangeId],
    /// Holdings typed in by the user, per portfolio.
    pub manual: &'a [ManualHoldings],
    /// The portfolios to value apart, besides all of them together.
    pub portfolios: &'a [String],
    /// Assets worth less than this are listed apart ("hide small balances").
    pub hide_below: Option<Decimal>,
    /// The accounts whose keys' permissions are checked again now.
    pub scopes_due: &'a [String],
}

/// What "Test connection" learned about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCheck {
    /// How many currencies the account holds.
    pub currencies: usize,
    /// What the key may do, when the exchange can say.
    pub scope: Option<KeyScope>,
    /// The last nonce sent, to persist for the account.
    pub last_nonce: Option<u64>,
}

/// How often a key's permissions are checked again, within a normal sync: a permission added at
/// the exchange after the key was saved shows within a day.
pub const SCOPE_CHECKED_EVERY_MS: u64 = 24 * 60 * 60 * 1000;

/// How long fetched prices are reused. Bitso allows 60 public requests a minute per IP
/// (<https://docs.bitso.com/bitso-api/docs/general-concepts>), Kraken about one a second;
/// reusing prices for 10 s caps Cartera at 6 a minute per exchange, however often the user
/// presses Refresh.
pub const PRICES_REUSED_FOR_MS: u64 = 10_000;

/// More requests than any flow needs (Coinbase's and Binance's pages included), each request of
/// a batch counted: a flow that keeps asking is broken or fed a hostile answer, and is stopped.
const MAX_REQUESTS: usize = 64;

/// The longest a refresh or a key check may take: below the 90 s the background waits for one,
/// so a slow or hostile endpoint ends the conversation in the core, with its nonces handed back,
/// before the page gives up on it.
pub const MAX_CONVERSATION_MS: u64 = 75_000;

/// When a conversation stops early: [`Engine::cancel`] was called since it began (Cartera was
/// locked, or the page gave up), or [`MAX_CONVERSATION_MS`] passed.
#[derive(Debug, Clone, Copy)]
struct Watch {
    epoch: u64,
    deadline_ms: u64,
}

/// What the engine hands a flow at its next step.
enum Answers {
    /// Nothing: the flow's first step.
    Start,
    /// The answer to a [`Step::Send`].
    One(OwnedResponse),
    /// The answers to a [`Step::SendAll`], in the order of its requests.
    All(Vec<OwnedResponse>),
}

/// Holds what must persist between refreshes within one worker's life: the latest prices and the
/// rate limits seen.
pub struct Engine<T> {
    transport: T,
    /// Bumped by every [`Engine::cancel`]: work begun under an older value stops.
    epoch: Cell<u64>,
    /// Retry times per exchange, ms since the epoch.
    lockouts: RefCell<ExchangeMap<u64>>,
    /// Each exchange's tickers and when they were fetched.
    prices: RefCell<ExchangeMap<(u64, Vec<Ticker>)>>,
    /// The bearer tokens exchanges issued, filed by [`session_id`].
    sessions: RefCell<BTreeMap<[u8; 32], BearerToken>>,
    /// When the last requests made with each key went out, oldest first, filed by
    /// [`session_id`]: only on exchanges that pace a key's requests ([`KeyPace`](crate::exchange::KeyPace)).
    /// A few keys of a few times each, so a list serves: a `BTreeMap` of `VecDeque`s here
    /// shipped 1.3 KiB more of gzip.
    paced: RefCell<Vec<([u8; 32], Vec<u64>)>>,
}

impl<T: Transport> Engine<T> {
    /// An engine sending through `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            epoch: Cell::new(0),
            lockouts: RefCell::new(ExchangeMap::new()),
            prices: RefCell::new(ExchangeMap::new()),
            sessions: RefCell::new(BTreeMap::new()),
            paced: RefCell::new(Vec::new()),
        }
    }

    /// Forgets every token exchanges issued (zeroized): the next conversation with each key
    /// authorizes again. For when the vault locks, or a key is removed or replaced.
    pub fn end_sessions(&self) {
        self.sessions.borrow_mut().clear();
        self.paced.borrow_mut().clear();
    }

    /// Stops every refresh and key check in flight: no request is signed or sent for them any
    /// more, the requests in flight are aborted, and each ends with [`Error::Cancelled`], handing
    /// back the nonces it spent. Work begun afterwards runs as usual.
    pub fn cancel(&self) {
        self.epoch.set(self.epoch.get().wrapping_add(1));
        self.transport.cancel();
    }

    /// The watch over a conversation that begins at `now_ms`.
    fn watch(&self, now_ms: u64) -> Watch {
        Watch { epoch: self.epoch.get(), deadline_ms: now_ms.saturating_add(MAX_CONVERSATION_MS) }
    }

    /// Whether a conversation under `watch` was cancelled.
    fn cancelled(&self, watch: Watch) -> bool {
        self.epoch.get() != watch.epoch
    }

    /// Refuses to go on with a conversation under `watch` that was cancelled or ran out of time.
    fn check(&self, watch: Watch, exchange: ExchangeId) -> Result<()> {
        if self.cancelled(watch) {
            Err(Error::Cancelled)
        } else if self.transport.now_ms() >= watch.deadline_ms {
            Err(Error::Timeout { exchange })
        } else {
            Ok(())
        }
    }

    /// Fetches the holdings of credentials that are not saved yet (the options page's "Test
    /// connection"), and what the key may do where the exchange can say. `last_nonce` is the
    /// account's persisted nonce when a key is being replaced.
    pub async fn test_connection(
        &self,
        exchange: ExchangeId,
        credentials: &Credentials,
        last_nonce: Option<u64>,
        now_ms: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<KeyCheck> {
        self.check_lockout(exchange, now_ms)?;
        let watch = self.watch(now_ms);
        let adapter = adapter(exchange);
        let mut nonces = NonceGenerator::resume(adapter.nonce_format(), last_nonce);
        let entropy = RefCell::new(entropy);
        let balances =
            self.run(exchange, adapter.holdings(), now_ms, Some((credentials, &mut nonces, &entropy)), watch).await?;
        let scope = match adapter.key_scope() {
            Some(flow) => Some(self.run(exchange, flow, now_ms, Some((credentials, &mut nonces, &entropy)), watch).await?),
            None => None,
        };
        Ok(KeyCheck { currencies: balances.len(), scope, last_nonce: nonces.last().map(|nonce| nonce.value()) })
    }

    /// One page of an account's transaction history, going on from `cursor` and reading the
    /// `markets` the user named for it too, with the key sealed for `account` in `vault`; and the
    /// last nonce it spent, to persist (also when it failed: the nonces were spent all the same).
    /// `Ok(None)` when Cartera does not read this exchange's history. Stopped like any
    /// conversation by [`Engine::cancel`] and [`MAX_CONVERSATION_MS`].
    pub async fn history_page(
        &self,
        account: (&str, ExchangeId),
        keys: (&Vault, &VaultKey),
        (cursor, markets): (Option<&str>, &[String]),
        last_nonce: Option<u64>,
        now_ms: u64,
        entropy: &mut dyn Entropy,
    ) -> (Result<Option<HistoryPage>>, Option<u64>) {
        let (id, exchange) = account;
        let adapter = adapter(exchange);
        let Some(flow) = adapter.history(cursor, markets) else { return (Ok(None), None) };
        let credentials = match self.check_lockout(exchange, now_ms).and_then(|()| keys.0.open_account(keys.1, id, exchange)) {
            Ok(credentials) => credentials,
            Err(error) => return (Err(error), None),
        };
        let watch = self.watch(now_ms);
        let mut nonces = NonceGenerator::resume(adapter.nonce_format(), last_nonce);
        let entropy = RefCell::new(entropy);
        let page = self.run(exchange, flow, now_ms, Some((&credentials, &mut nonces, &entropy)), watch).await;
        let spent = nonces.last().map(|nonce| nonce.value());
        let page = page.and_then(|page| {
            if page.transactions.len() > MAX_PER_PAGE {
                return Err(Error::MalformedResponse { exchange });
            }
            Ok(Some(page))
        });
        (page, spent)
    }

    /// The market `text` names on `exchange` (see [`crate::exchange::Exchange::market_named`]), once the
    /// exchange's public prices show that it lists it: [`Error::UnknownMarket`] otherwise, and
    /// [`Error::InvalidInput`] for text that names no market (always, on an exchange whose history
    /// reads none).
    pub async fn named_market(&self, exchange: ExchangeId, text: &str, now_ms: u64) -> Result<String> {
        let adapter = adapter(exchange);
        let market = adapter.market_named(text).ok_or(Error::InvalidInput { field: "market" })?;
        let book = format!("{}:{market}", exchange.as_str());
        let tickers = self.prices(exchange, now_ms, self.watch(now_ms)).await?;
        if tickers.iter().any(|ticker| ticker.book == book) { Ok(market) } else { Err(Error::UnknownMarket { exchange }) }
    }

    /// The daily closes of `market` on `exchange` for days `from_day..=to_day`, from its public
    /// endpoints; `Ok(None)` where the exchange publishes none.
    pub async fn daily_closes(&self, exchange: ExchangeId, market: &str, days: (u64, u64), now_ms: u64) -> Result<Option<Vec<DailyClose>>> {
        let Some(flow) = adapter(exchange).daily_closes(market, days.0, days.1) else { return Ok(None) };
        self.check_lockout(exchange, now_ms)?;
        let watch = self.watch(now_ms);
        let closes = self.run(exchange, flow, now_ms, None, watch).await?;
        Ok(Some(closes.into_iter().filter(|close| (days.0..=days.1).contains(&close.day) && close.close > Decimal::ZERO).collect()))
    }

    /// How each of `assets` reaches `quote` along today's prices of `exchanges` (fetched unless
    /// fresh), for valuing past transactions on daily closes. An exchange whose prices cannot be
    /// had is left out.
    pub async fn history_routes(&self, exchanges: &[ExchangeId], quote: &str, assets: &[String], now_ms: u64) -> Routes {
        let watch = self.watch(now_ms);
        let fetched = join_all(exchanges.iter().map(|&exchange| self.prices(exchange, now_ms, watch))).await;
        let tickers: Vec<Ticker> = fetched.into_iter().filter_map(Result::ok).flatten().collect();
        routes(quote, &tickers, assets)
    }

    /// Fetches every account and the prices, and values the result: what the caller settles
    /// (`settle::settle`) and persists for the next refresh (also when it failed: nonces were
    /// spent and rate limits seen all the same).
    ///
    /// An account that fails keeps its previous balances and carries its error. When every
    /// account fails, or no prices at all can be had, the outcome has no snapshot but the first
    /// error, and the caller keeps its last snapshot. Only an invalid request is an `Err`.
    pub async fn refresh(&self, request: RefreshRequest<'_>, now_ms: u64, entropy: &mut dyn Entropy) -> Result<RefreshResult> {
        if quote_code(request.quote)? != request.quote {
            return Err(Error::InvalidInput { field: "quote" });
        }
        self.remember_lockouts(request.lockouts, now_ms);
        let watch = self.watch(now_ms);
        let fetched = self.fetch(&request, now_ms, entropy, watch).await;
        let mut outcome = RefreshResult {
            nonces: fetched.nonces.iter().map(|(id, nonce)| (id.clone(), StoredNonce(*nonce))).collect(),
            scopes: fetched.scopes,
            ..RefreshResult::default()
        };
        // Stopped: nothing of it counts, but the nonces it spent and the limits it saw.
        if self.cancelled(watch) {
            outcome.error = Some(ErrorView::new(&Error::Cancelled, now_ms));
            outcome.scopes.clear();
            outcome.lockouts = self.current_lockouts(now_ms);
            return Ok(outcome);
        }
        if let Some(first) = every_account_failed(&request, &fetched.holdings) {
            outcome.error = Some(ErrorView::new(first, now_ms));
            outcome.lockouts = self.current_lockouts(now_ms);
            return Ok(outcome);
        }
        let (tickers, price_errors) = self.with_bridges(fetched.prices, &request, now_ms, watch).await;
        outcome.price_errors = price_errors.iter().map(|error| ErrorView::new(error, now_ms)).collect();
        if tickers.is_empty()
            && let Some(first) = price_errors.first()
        {
            outcome.error = Some(ErrorView::new(first, now_ms));
            outcome.lockouts = self.current_lockouts(now_ms);
            return Ok(outcome);
        }
        let inputs = balances_to_value(&request, &fetched.holdings, now_ms);
        let (snapshot, portfolios) = value_portfolios(&request, &inputs, &tickers, now_ms);
        outcome.snapshot = Some(snapshot);
        outcome.portfolios = portfolios;
        outcome.lockouts = self.current_lockouts(now_ms);
        Ok(outcome)
    }

    /// Every account's holdings (each account's requests one after another, the accounts side by
    /// side) and the prices of every exchange an account is on, all at once.
    async fn fetch(&self, request: &RefreshRequest<'_>, now_ms: u64, entropy: &mut dyn Entropy, watch: Watch) -> Fetched {
        let entropy = RefCell::new(entropy);
        let mut generators: Vec<NonceGenerator> = request
            .accounts
            .iter()
            .map(|account| NonceGenerator::resume(adapter(account.exchange).nonce_format(), request.nonces.get(&account.id).copied()))
            .collect();
        let exchanges: Vec<ExchangeId> = ExchangeId::ALL
            .into_iter()
            .filter(|&exchange| request.accounts.iter().any(|account| account.exchange == exchange))
            .collect();
        let prices = join_all(exchanges.iter().map(|&exchange| self.prices(exchange, now_ms, watch)));
        let accounts = join_all(
            request
                .accounts
                .iter()
                .zip(generators.iter_mut())
                .map(|(account, nonces)| self.account(request, account, nonces, &entropy, now_ms, watch)),
        );
        // `join_all` hands back the outputs in the order of the accounts, whichever answered first.
        let (prices, accounts) = join(prices, accounts).await;
        let mut nonces = request.nonces.clone();
        for (account, generator) in request.accounts.iter().zip(&generators) {
            if let Some(last) = generator.last() {
                nonces.insert(account.id.clone(), last.value());
            }
        }
        let mut holdings = Vec::with_capacity(accounts.len());
        let mut scopes = BTreeMap::new();
        for (account, (fetched, scope)) in request.accounts.iter().zip(accounts) {
            holdings.push(fetched);
            if let Some(scope) = scope {
                scopes.insert(account.id.clone(), scope);
            }
        }
        Fetched { prices, holdings, nonces, scopes }
    }

    /// One account's holdings (`None` while locked: only public prices are fetched then) and, when
    /// its key's permissions are due for a check, what the key may do now. Its credentials are
    /// opened for these flows alone and dropped with them.
    async fn account(
        &self,
        request: &RefreshRequest<'_>,
        account: &AccountRef,
        nonces: &mut NonceGenerator,
        entropy: &RefCell<&mut dyn Entropy>,
        now_ms: u64,
        watch: Watch,
    ) -> (Result<Option<Vec<Balance>>>, Option<KeyScope>) {
        let Some((vault, key)) = request.keys else { return (Ok(None), None) };
        let credentials = match self.check_lockout(account.exchange, now_ms).and_then(|()| vault.open_account(key, &account.id, account.exchange)) {
            Ok(credentials) => credentials,
            Err(error) => return (Err(error), None),
        };
        let adapter = adapter(account.exchange);
        let holdings = self.run(account.exchange, adapter.holdings(), now_ms, Some((&credentials, nonces, entropy)), watch).await;
        let due = request.scopes_due.contains(&account.id);
        let scope = match (adapter.key_scope(), &holdings) {
            // A check that fails is tried again at the next sync; the last answer stands meanwhile.
            (Some(flow), Ok(_)) if due => self.run(account.exchange, flow, now_ms, Some((&credentials, nonces, entropy)), watch).await.ok(),
            _ => None,
        };
        (holdings.map(Some), scope)
    }

    /// The tickers fetched, and a bridge's when no connected exchange reaches the quote currency
    /// or prices a typed-in asset; with every exchange whose prices failed.
    async fn with_bridges(
        &self,
        fetched: Vec<Result<Vec<Ticker>>>,
        request: &RefreshRequest<'_>,
        now_ms: u64,
        watch: Watch,
    ) -> (Vec<Ticker>, Vec<Error>) {
        let mut tickers: Vec<Ticker> = Vec::new();
        let mut errors: Vec<Error> = Vec::new();
        for result in fetched {
            match result {
                Ok(more) => tickers.extend(more),
                Err(error) => errors.push(error),
            }
        }
        // Typed-in holdings have no exchange of their own: their assets may need a bridge's books too.
        let manual_assets: Vec<&str> =
            request.manual.iter().flat_map(|entry| entry.balances.iter().map(|balance| balance.currency.as_str())).collect();
        let nothing_held = request.accounts.is_empty() && manual_assets.is_empty();
        let priced_enough = |tickers: &[Ticker]| {
            nothing_held
                || reaches(tickers, request.quote)
                    && manual_assets.iter().all(|&asset| asset == request.quote || tickers.iter().any(|t| t.base == asset || t.quote == asset))
        };
        let connected = |bridge: &ExchangeId| request.accounts.iter().any(|account| account.exchange == *bridge);
        for &bridge in request.bridges.iter().filter(|bridge| !connected(bridge)) {
            if priced_enough(&tickers) {
                break;
            }
            match self.prices(bridge, now_ms, watch).await {
                Ok(more) => tickers.extend(more),
                Err(error) => errors.push(error),
            }
        }
        (tickers, errors)
    }

    /// Drives `flow` to its end: one request at a time, or a batch at once when the flow asks.
    async fn run<V>(
        &self,
        exchange: ExchangeId,
        mut flow: Box<dyn Flow<V>>,
        now_ms: u64,
        mut keys: Option<(&Credentials, &mut NonceGenerator, &RefCell<&mut dyn Entropy>)>,
        watch: Watch,
    ) -> Result<V> {
        let mut answers = Answers::Start;
        // What the flow may still send. An empty batch is refused, so this bounds the steps too.
        let mut allowance = MAX_REQUESTS;
        let session = keys.as_ref().map(|(credentials, ..)| session_id(exchange, credentials));
        loop {
            // Checked before every step, so nothing is signed once the conversation is stopped.
            self.check(watch, exchange)?;
            let step = {
                let mut feed = |context: &mut Context<'_>| match &answers {
                    Answers::Start => flow.step(None, context),
                    Answers::One(owned) => flow.step(Some(owned.view(now_ms)), context),
                    Answers::All(owned) => flow.step_all(owned.iter().map(|owned| owned.view(now_ms)).collect(), context),
                };
                let result = match (keys.as_mut(), session) {
                    (Some((credentials, nonces, entropy)), Some(id)) => {
                        let mut entropy = entropy.borrow_mut();
                        // Taken out for the step and put back after it: steps never overlap.
                        let mut token = self.sessions.borrow_mut().remove(&id);
                        let result = feed(&mut Context::private(now_ms, credentials, nonces, &mut **entropy).with_session(&mut token));
                        if let Some(token) = token.filter(|token| token.usable_at(now_ms)) {
                            self.sessions.borrow_mut().insert(id, token);
                        }
                        result
                    }
                    _ => feed(&mut Context::public(now_ms)),
                };
                self.note(result, now_ms)?
            };
            let runaway = Error::MalformedResponse { exchange };
            answers = match step {
                Step::Done(value) => return Ok(value),
                Step::Send(request) => {
                    allowance = allowance.checked_sub(1).ok_or(runaway)?;
                    Answers::One(self.send_paced(&request, session, watch, exchange).await?)
                }
                Step::SendAll(requests) => {
                    allowance = allowance.checked_sub(requests.len()).filter(|_| !requests.is_empty()).ok_or(runaway)?;
                    let answered = join_all(requests.iter().map(|request| self.send_paced(request, session, watch, exchange))).await;
                    // Every answer is awaited; the first failure in request order ends the flow,
                    // whichever came first, so the error does not depend on timing.
                    Answers::All(answered.into_iter().collect::<Result<Vec<_>>>()?)
                }
            };
        }
    }

    /// How long a request made with the key filed under `session` must still wait to keep to
    /// `exchange`'s [`KeyPace`](crate::exchange::KeyPace); 0 where it may go now (or the exchange
    /// sets no pace), and then it is counted as sent now. Checking and counting happen in one go,
    /// so conversations that run side by side with the key take turns.
    fn pace(&self, exchange: ExchangeId, session: Option<[u8; 32]>) -> u64 {
        let (Some(pace), Some(id)) = (adapter(exchange).key_pace(), session) else { return 0 };
        let now_ms = self.transport.now_ms();
        let mut paced = self.paced.borrow_mut();
        let index = match paced.iter().position(|(key, _)| *key == id) {
            Some(index) => index,
            None => {
                paced.push((id, Vec::with_capacity(pace.requests)));
                paced.len() - 1
            }
        };
        let sent = &mut paced[index].1;
        let allowed = pace.requests.max(1);
        // `sent` holds the last `allowed` times at most: when full, its oldest frees a turn one
        // window after it (at once if it lies ahead: the clock was set back since).
        let free_at = match sent.first() {
            Some(&oldest) if sent.len() >= allowed && oldest <= now_ms => oldest.saturating_add(pace.window_ms),
            _ => 0,
        };
        if free_at > now_ms {
            return free_at - now_ms;
        }
        if sent.len() >= allowed {
            sent.remove(0);
        }
        sent.push(now_ms);
        0
    }

    /// Sends `request` once the key's pace lets it go, unless the conversation was stopped
    /// meanwhile. The times counted are those the requests actually went out at, however late a
    /// timer fires.
    async fn send_paced(&self, request: &HttpRequest, session: Option<[u8; 32]>, watch: Watch, exchange: ExchangeId) -> Result<OwnedResponse> {
        loop {
            match self.pace(exchange, session) {
                0 => break,
                wait_ms => self.transport.sleep(wait_ms).await,
            }
            self.check(watch, exchange)?;
        }
        self.transport.send(request).await.map_err(|failure| self.failed(watch, failure, exchange))
    }

    /// The error a failed send ends its conversation with: a request aborted by
    /// [`Engine::cancel`] ends it as cancelled, not as the network failure the abort looks like.
    fn failed(&self, watch: Watch, failure: TransportFailure, exchange: ExchangeId) -> Error {
        if self.cancelled(watch) { Error::Cancelled } else { failure.into_error(exchange) }
    }

    /// An exchange's prices, reused when fetched less than [`PRICES_REUSED_FOR_MS`] ago.
    async fn prices(&self, exchange: ExchangeId, now_ms: u64, watch: Watch) -> Result<Vec<Ticker>> {
        let fresh = self.prices.borrow().get(exchange).and_then(|(fetched_at, tickers)| {
            let age = now_ms.checked_sub(*fetched_at)?;
            (age < PRICES_REUSED_FOR_MS).then(|| tickers.clone())
        });
        if let Some(tickers) = fresh {
            return Ok(tickers);
        }
        self.check_lockout(exchange, now_ms)?;
        let tickers = self.run(exchange, adapter(exchange).prices(), now_ms, None, watch).await?;
        self.prices.borrow_mut().insert(exchange, (now_ms, tickers.clone()));
        Ok(tickers)
    }

    /// Takes persisted retry times. Every time written was at most the exchange's longest wait
    /// ahead ([`longest_wait_ms`]), so one further ahead than that (tampered, or the clock was set
    /// back) is ignored, as is one in the past: a stored time can never block refresh for longer.
    fn remember_lockouts(&self, stored: &ExchangeMap<u64>, now_ms: u64) {
        let mut lockouts = self.lockouts.borrow_mut();
        for (exchange, &retry_at) in stored.iter() {
            if believable_lockout(exchange, retry_at, now_ms) {
                let known = lockouts.get_or_insert(exchange, retry_at);
                *known = (*known).max(retry_at);
            }
        }
        lockouts.retain(|exchange, &retry_at| believable_lockout(exchange, retry_at, now_ms));
    }

    fn current_lockouts(&self, now_ms: u64) -> ExchangeMap<u64> {
        let mut lockouts = self.lockouts.borrow_mut();
        lockouts.retain(|_, &retry_at| retry_at > now_ms);
        lockouts.clone()
    }

    fn check_lockout(&self, exchange: ExchangeId, now_ms: u64) -> Result<()> {
        match self.lockouts.borrow().get(exchange) {
            Some(&until) if now_ms < until => Err(Error::RateLimited { exchange, retry_after_ms: until - now_ms }),
            _ => Ok(()),
        }
    }

    /// Remembers a rate limit so the next request to that exchange waits without touching the
    /// network.
    fn note<V>(&self, result: Result<V>, now_ms: u64) -> Result<V> {
        let wait = match &result {
            Err(Error::RateLimited { exchange, retry_after_ms }) => Some((*exchange, (*retry_after_ms).min(MAX_RETRY_AFTER_MS))),
            Err(Error::IpBanned { exchange, retry_after_ms }) => Some((*exchange, (*retry_after_ms).min(longest_wait_ms(*exchange)))),
            _ => None,
        };
        if let Some((exchange, wait)) = wait {
            self.lockouts.borrow_mut().insert(exchange, now_ms.saturating_add(wait));
        }
        result
    }
}

/// What [`Engine::fetch`] brings back: per exchange and per account, in request order.
struct Fetched {
    prices: Vec<Result<Vec<Ticker>>>,
    holdings: Vec<Result<Option<Vec<Balance>>>>,
    /// The last nonce per account id, those spent now included.
    nonces: BTreeMap<String, u64>,
    /// What each key checked now may do, by account id.
    scopes: BTreeMap<String, KeyScope>,
}

/// The first error, when the accounts were asked (Cartera is unlocked) and every one failed.
fn every_account_failed<'e>(request: &RefreshRequest<'_>, holdings: &'e [Result<Option<Vec<Balance>>>]) -> Option<&'e Error> {
    let all_failed = request.keys.is_some() && !holdings.is_empty() && holdings.iter().all(Result::is_err);
    if all_failed { holdings.first().and_then(|first| first.as_ref().err()) } else { None }
}

/// Each account's balances to value, with its portfolio: fetched now, or (locked, or failing)
/// the last known ones from the previous snapshot, which keep their time and, while locked,
/// their error. Typed-in holdings follow, one entry per portfolio.
fn balances_to_value<'a>(
    request: &RefreshRequest<'a>,
    holdings: &'a [Result<Option<Vec<Balance>>>],
    now_ms: u64,
) -> Vec<(&'a str, AccountBalances<'a>)> {
    let mut inputs: Vec<(&str, AccountBalances<'_>)> = request
        .accounts
        .iter()
        .zip(holdings)
        .map(|(account, fetched)| {
            let before = request.previous.and_then(|snapshot| snapshot.accounts.iter().find(|summary| summary.id == account.id));
            let kept_balances = before.map_or(&[][..], |summary| &summary.balances[..]);
            let kept_at = before.and_then(|summary| summary.synced_at);
            let (balances, synced_at, error) = match fetched {
                Ok(Some(balances)) => (&balances[..], Some(now_ms), None),
                // Locked: the last known balances at today's prices, and the last known error
                // (nothing was learnt about the account).
                Ok(None) => (kept_balances, kept_at, before.and_then(|summary| summary.error.clone())),
                Err(error) => (kept_balances, kept_at, Some(ErrorView::new(error, now_ms))),
            };
            let input = AccountBalances { id: &account.id, label: &account.label, exchange: Some(account.exchange), balances, synced_at, error };
            (account.portfolio.as_str(), input)
        })
        .collect();
    for entry in request.manual {
        let input = AccountBalances { id: &entry.id, label: &entry.label, exchange: None, balances: &entry.balances, synced_at: None, error: None };
        inputs.push((entry.portfolio.as_str(), input));
    }
    inputs
}

/// Every portfolio together, and each one apart.
fn value_portfolios(
    request: &RefreshRequest<'_>,
    inputs: &[(&str, AccountBalances<'_>)],
    tickers: &[Ticker],
    now_ms: u64,
) -> (Snapshot, BTreeMap<String, Snapshot>) {
    let value = |group: Vec<AccountBalances<'_>>| {
        let mut snapshot = build_snapshot_hiding(&group, tickers, request.quote, now_ms, request.hide_below);
        snapshot.prices_only = request.keys.is_none();
        snapshot
    };
    let everything = value(inputs.iter().map(|(_, input)| input.clone()).collect());
    let portfolios = request
        .portfolios
        .iter()
        .map(|portfolio| {
            let group = inputs.iter().filter(|(owner, _)| owner == portfolio).map(|(_, input)| input.clone()).collect();
            (portfolio.clone(), value(group))
        })
        .collect();
    (everything, portfolios)
}

/// Whether some book prices anything in `quote`.
fn reaches(tickers: &[Ticker], quote: &str) -> bool {
    tickers.iter().any(|ticker| ticker.quote == quote || ticker.base == quote)
}

/// What an exchange's session is filed under: a digest of the exchange and of the credentials it
/// was opened for, so the engine tells keys apart without keeping a copy of any. Each part is
/// prefixed with its length, so no two different sets of credentials give the same bytes.
fn session_id(exchange: ExchangeId, credentials: &Credentials) -> [u8; 32] {
    let passphrase = credentials.api_passphrase.as_ref().map_or("", |passphrase| passphrase.expose());
    let parts = [exchange.as_str(), credentials.api_key.expose(), credentials.api_secret.expose(), passphrase];
    let lengths = parts.map(|part| (part.len() as u64).to_be_bytes());
    let mut bytes: Vec<&[u8]> = Vec::with_capacity(2 * parts.len());
    for (length, part) in lengths.iter().zip(parts) {
        bytes.push(length);
        bytes.push(part.as_bytes());
    }
    sha256(&bytes)
}

#[cfg(test)]
mod tests;
