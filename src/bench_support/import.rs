//! The "first import of history" figure of `./build.sh bench`: an account's history read page
//! after page by the refresh engine's own [`Engine::history_page`], exactly as the background
//! reads it, over a simulated network. Every request is answered at once by a function (in
//! bench/import.mjs, the exchange's stand-in from tests/e2e/mocks, which checks every signature,
//! window and page as the exchange does), and the clock is simulated: each request takes a fixed
//! round trip, and the stand-in reads it halfway through. The caller waits each page's `wait_ms`
//! on the same clock, so an import that takes minutes of the exchange's pacing runs in as long as
//! the work itself takes, and its requests and duration are what the product's would be.

use std::{
    cell::{Cell, RefCell},
    future::Future,
    pin::pin,
    rc::Rc,
    task::{Context, Poll, Waker},
};

use super::BenchResult;
use crate::{
    entropy::OsEntropy,
    error::{ErrorView, Result},
    exchange_id::ExchangeId,
    http::{HttpRequest, MAX_BODY_BYTES},
    refresh::{Engine, OwnedResponse, Transport, TransportFailure},
    secret::{Credentials, Passphrase, SecretString},
    transactions::HistoryPage,
    vault::{KdfParams, Vault, VaultKey},
};

/// What the network hands back for one request.
pub type Answer = std::result::Result<OwnedResponse, TransportFailure>;

/// The network an import's requests cross: `answer` is asked for each request with the simulated
/// time at which the exchange reads it.
pub struct SimulatedNetwork<A> {
    answer: RefCell<A>,
    /// The simulated time, ms since the epoch.
    clock: Cell<u64>,
    round_trip_ms: u64,
    /// Requests sent so far.
    sent: Cell<u64>,
}

impl<A: FnMut(&HttpRequest, u64) -> Answer> Transport for Rc<SimulatedNetwork<A>> {
    async fn send(&self, request: &HttpRequest) -> Answer {
        let sent_at = self.clock.get();
        self.sent.set(self.sent.get().saturating_add(1));
        let answer = (self.answer.borrow_mut())(request, sent_at.saturating_add(self.round_trip_ms / 2));
        self.clock.set(sent_at.saturating_add(self.round_trip_ms));
        let response = answer?;
        // As the browser's transport: a redirect is refused, a body past the cap is not read.
        if (300..400).contains(&response.status) {
            return Err(TransportFailure::Offline);
        }
        if response.body.len() > MAX_BODY_BYTES {
            return Err(TransportFailure::TooLarge);
        }
        Ok(response)
    }

    fn now_ms(&self) -> u64 {
        self.clock.get()
    }

    fn cancel(&self) {}

    async fn sleep(&self, ms: u64) {
        self.clock.set(self.clock.get().saturating_add(ms));
    }
}

/// One account's import: its key sealed in a vault of its own, as the background keeps it, and
/// an engine that lives as long as the import, as the background's lives as long as its worker.
pub struct HistoryImport<A> {
    engine: Engine<Rc<SimulatedNetwork<A>>>,
    network: Rc<SimulatedNetwork<A>>,
    account: String,
    exchange: ExchangeId,
    vault: Vault,
    key: VaultKey,
}

/// What one page did.
#[derive(Debug)]
pub struct PageOutcome {
    /// The page, or why there is none; `Ok(None)` where Cartera does not read the history.
    pub page: Result<Option<HistoryPage>>,
    /// The account's last nonce after the page, to hand to the next one.
    pub last_nonce: Option<u64>,
    /// Requests the page sent.
    pub requests: u64,
    /// When its last answer arrived, ms since the epoch (simulated).
    pub finished_at_ms: u64,
}

impl PageOutcome {
    /// As JSON, in the shape of the background's `historyPage` reply plus the simulation's
    /// figures: `{ page, error, lastNonce, requests, finishedAt }`.
    pub fn to_json(&self) -> serde_json::Value {
        let (page, error) = match &self.page {
            Ok(page) => (page.as_ref(), None),
            Err(error) => (None, Some(ErrorView::new(error, self.finished_at_ms))),
        };
        serde_json::json!({
            "page": page,
            "error": error,
            "lastNonce": self.last_nonce.map(|nonce| nonce.to_string()),
            "requests": self.requests,
            "finishedAt": self.finished_at_ms,
        })
    }
}

/// The passphrase of the bench's vaults: nothing is ever stored under it.
const PASSPHRASE: &str = "a bench vault, never stored";

impl<A: FnMut(&HttpRequest, u64) -> Answer> HistoryImport<A> {
    /// An import of `account` on `exchange` with `credentials`, each request taking
    /// `round_trip_ms` and answered by `answer`.
    pub fn new(exchange: ExchangeId, account: &str, credentials: &Credentials, round_trip_ms: u64, answer: A) -> BenchResult<Self> {
        let mut entropy = OsEntropy;
        let passphrase = Passphrase::new(SecretString::new(PASSPHRASE.to_owned()), SecretString::new(PASSPHRASE.to_owned()));
        let sealed = Vault::create(&passphrase, KdfParams::MINIMUM, &mut entropy)
            .and_then(|(vault, key)| Ok((vault.seal_account(&key, account, exchange, credentials, &mut entropy)?, key)));
        let (vault, key) = sealed.map_err(|error| format!("{}: the key could not be sealed: {error:?}", exchange.as_str()))?;
        let network = Rc::new(SimulatedNetwork { answer: RefCell::new(answer), clock: Cell::new(0), round_trip_ms, sent: Cell::new(0) });
        Ok(Self { engine: Engine::new(Rc::clone(&network)), network, account: account.to_owned(), exchange, vault, key })
    }

    /// One page, begun at `now_ms` (simulated), going on from `cursor` with the account's
    /// `last_nonce`, as the background asks for it.
    pub fn page(&self, cursor: Option<&str>, last_nonce: Option<u64>, now_ms: u64) -> BenchResult<PageOutcome> {
        self.network.clock.set(now_ms);
        let before = self.network.sent.get();
        let mut entropy = OsEntropy;
        let asked = self.engine.history_page((&self.account, self.exchange), (&self.vault, &self.key), (cursor, &[]), last_nonce, now_ms, &mut entropy);
        let (page, spent) = ready(asked).ok_or_else(|| format!("{}: the page waited for something the simulated network never sends", self.exchange.as_str()))?;
        Ok(PageOutcome {
            page,
            last_nonce: spent.or(last_nonce),
            requests: self.network.sent.get() - before,
            finished_at_ms: self.network.clock.get(),
        })
    }
}

/// The output of a future that never waits (every answer of the simulated network is there at
/// once); `None` if it does.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests;
