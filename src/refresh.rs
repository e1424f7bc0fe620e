//! The refresh: sign one balance request per account, fetch them and the tickers at once, and
//! turn the answers into a [`Snapshot`].
//!
//! This is the only place that sequences I/O, and it does so through the [`Transport`] trait, so
//! the whole flow runs natively in tests with a scripted transport. The browser's transport
//! lives in `transport.rs`.

use std::cell::{Cell, RefCell};

use futures_util::future::{join, join_all};

use crate::{
    entropy::Entropy,
    error::{Error, Lang, Result},
    exchange::{Balance, ExchangeId, HttpRequest, HttpResponse, Stamp, Ticker},
    nonce::NonceGenerator,
    portfolio::{AccountBalances, PreviousSnapshot, Snapshot, build_snapshot},
    secret::Credentials,
    vault::{Vault, VaultKey},
};

/// A response the transport received, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
    /// `Retry-After` in seconds, when sent.
    pub retry_after_secs: Option<u64>,
}

impl OwnedResponse {
    fn view(&self) -> HttpResponse<'_> {
        HttpResponse { status: self.status, body: &self.body, retry_after_secs: self.retry_after_secs }
    }
}

/// Why a request got no response at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// No answer within the time limit.
    Timeout,
    /// Could not connect (offline, DNS, TLS, blocked).
    Offline,
}

impl TransportFailure {
    fn into_error(self, exchange: ExchangeId) -> Error {
        match self {
            TransportFailure::Timeout => Error::Timeout { exchange },
            TransportFailure::Offline => Error::Offline { exchange },
        }
    }
}

/// Sends requests. The browser's implementation is single-threaded, so futures need not be
/// `Send`.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends `request` and returns whatever status came back.
    async fn send(&self, request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure>;
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
}

/// What a refresh needs.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRequest<'a> {
    /// The sealed credentials.
    pub vault: &'a Vault,
    /// The unlocked vault key.
    pub key: &'a VaultKey,
    /// The accounts to fetch, in display order.
    pub accounts: &'a [AccountRef],
    /// The currency to value in.
    pub quote: &'a str,
    /// The last good snapshot, whose balances stand in for accounts that fail now.
    pub previous: Option<&'a PreviousSnapshot>,
    /// The language for stored error messages.
    pub lang: Lang,
}

/// How long fetched prices are reused. Bitso allows 60 public requests a minute per IP
/// (<https://docs.bitso.com/bitso-api/docs/general-concepts>); reusing prices for 10 s caps
/// Cartera at 6, however often the user presses Refresh.
const TICKERS_REUSED_FOR_MS: u64 = 10_000;

/// Holds what must persist between refreshes: the nonce sequence, any rate-limit lockout and
/// the latest prices.
#[derive(Debug)]
pub struct Engine<T> {
    transport: T,
    nonces: RefCell<NonceGenerator>,
    /// The exchange that rate-limited us and until when (ms since the epoch).
    blocked: Cell<Option<(ExchangeId, u64)>>,
    /// Each exchange's tickers and when they were fetched.
    tickers: RefCell<Vec<(ExchangeId, u64, Vec<Ticker>)>>,
}

impl<T: Transport> Engine<T> {
    /// An engine sending through `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            nonces: RefCell::new(NonceGenerator::new()),
            blocked: Cell::new(None),
            tickers: RefCell::new(Vec::new()),
        }
    }

    /// Signs and sends one balance request with credentials that are not saved yet: the
    /// options page's "Test connection". Returns how many currencies the account reports.
    pub async fn test_connection(
        &self,
        exchange: ExchangeId,
        credentials: &Credentials,
        now_ms: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<usize> {
        self.check_lockout(now_ms)?;
        let request = exchange.adapter().balance_request(credentials, self.stamp(now_ms, entropy)?)?;
        let balances = self.fetch_balances(exchange, &request, now_ms).await?;
        Ok(balances.len())
    }

    /// Fetches every account and the prices, and values the result.
    ///
    /// An account that fails keeps its previous balances and carries its error; when every
    /// account fails, or the prices cannot be fetched, the refresh fails with the first error
    /// and the caller keeps its last snapshot.
    pub async fn refresh(&self, request: RefreshRequest<'_>, now_ms: u64, entropy: &mut dyn Entropy) -> Result<Snapshot> {
        self.check_lockout(now_ms)?;
        if request.quote.is_empty() || !request.quote.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            return Err(Error::InvalidInput { field: "quote" });
        }

        // Sign everything before sending anything: nonces are drawn in order, one per request.
        let mut signed: Vec<Result<HttpRequest>> = Vec::with_capacity(request.accounts.len());
        for account in request.accounts {
            let stamp = self.stamp(now_ms, entropy)?;
            signed.push(
                request
                    .vault
                    .open_account(request.key, &account.id)
                    .and_then(|credentials| account.exchange.adapter().balance_request(&credentials, stamp)),
            );
        }

        let mut exchanges: Vec<ExchangeId> = request.accounts.iter().map(|account| account.exchange).collect();
        exchanges.sort_unstable();
        exchanges.dedup();
        let tickers = join_all(exchanges.iter().map(|&exchange| self.fetch_tickers(exchange, now_ms)));
        let balances = join_all(request.accounts.iter().zip(&signed).map(|(account, signed)| async move {
            match signed {
                Ok(http) => self.fetch_balances(account.exchange, http, now_ms).await,
                Err(error) => Err(error.clone()),
            }
        }));
        let (tickers, balances) = join(tickers, balances).await;

        let mut all_tickers: Vec<Ticker> = Vec::new();
        for result in tickers {
            all_tickers.extend(result?);
        }
        if balances.iter().all(Result::is_err)
            && let Some(Err(first)) = balances.first()
        {
            return Err(first.clone());
        }

        let empty: Vec<Balance> = Vec::new();
        let inputs: Vec<AccountBalances<'_>> = request
            .accounts
            .iter()
            .zip(&balances)
            .map(|(account, fetched)| {
                let before = request
                    .previous
                    .and_then(|snapshot| snapshot.accounts.iter().find(|summary| summary.id == account.id));
                let (balances, synced_at, error) = match fetched {
                    Ok(balances) => (balances, Some(now_ms), None),
                    Err(error) => (
                        before.map_or(&empty, |summary| &summary.balances),
                        before.and_then(|summary| summary.synced_at),
                        Some(error),
                    ),
                };
                AccountBalances { id: &account.id, label: &account.label, exchange: account.exchange, balances, synced_at, error }
            })
            .collect();
        Ok(build_snapshot(&inputs, &all_tickers, request.quote, now_ms, request.lang))
    }

    fn stamp(&self, now_ms: u64, entropy: &mut dyn Entropy) -> Result<Stamp> {
        let nonce = self.nonces.borrow_mut().next(now_ms, entropy.next_u32()?);
        Ok(Stamp { now_ms, nonce })
    }

    fn check_lockout(&self, now_ms: u64) -> Result<()> {
        match self.blocked.get() {
            Some((exchange, until)) if now_ms < until => {
                Err(Error::RateLimited { exchange, retry_after_ms: until - now_ms })
            }
            _ => Ok(()),
        }
    }

    /// Remembers a rate limit so the next refresh waits without touching the network.
    fn note<V>(&self, result: Result<V>, now_ms: u64) -> Result<V> {
        if let Err(Error::RateLimited { exchange, retry_after_ms }) = &result {
            self.blocked.set(Some((*exchange, now_ms.saturating_add(*retry_after_ms))));
        }
        result
    }

    async fn fetch_balances(&self, exchange: ExchangeId, request: &HttpRequest, now_ms: u64) -> Result<Vec<Balance>> {
        let response = self.transport.send(request).await.map_err(|failure| failure.into_error(exchange))?;
        self.note(exchange.adapter().parse_balances(response.view()), now_ms)
    }

    async fn fetch_tickers(&self, exchange: ExchangeId, now_ms: u64) -> Result<Vec<Ticker>> {
        let fresh = self.tickers.borrow().iter().find_map(|(cached, fetched_at, tickers)| {
            let age = now_ms.checked_sub(*fetched_at)?;
            (*cached == exchange && age < TICKERS_REUSED_FOR_MS).then(|| tickers.clone())
        });
        if let Some(tickers) = fresh {
            return Ok(tickers);
        }
        let adapter = exchange.adapter();
        let response = self.transport.send(&adapter.tickers_request()).await.map_err(|failure| failure.into_error(exchange))?;
        let tickers = self.note(adapter.parse_tickers(response.view()), now_ms)?;
        let mut cache = self.tickers.borrow_mut();
        cache.retain(|(cached, _, _)| *cached != exchange);
        cache.push((exchange, now_ms, tickers.clone()));
        Ok(tickers)
    }
}

#[cfg(test)]
mod tests;
