use std::{
    cell::Cell,
    future::{Future, poll_fn},
    pin::pin,
    task::{Context, Poll, Waker},
};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::*;
use crate::{entropy::testing::CountingEntropy, http::Method, secret::Passphrase, vault::KdfParams};

/// Runs a future whose awaits are all ready at once (the scripted transport never waits).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

type Handler = Box<dyn Fn(&HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure>>;

/// Answers like Bitso would, checking each signature on the way.
struct ScriptedBitso {
    handler: RefCell<Handler>,
    log: RefCell<Vec<HttpRequest>>,
    /// The time it reads: still, as every request answers at once.
    clock: Cell<u64>,
}

impl Transport for &ScriptedBitso {
    async fn send(&self, request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
        self.log.borrow_mut().push(request.clone());
        (self.handler.borrow())(request)
    }

    fn now_ms(&self) -> u64 {
        self.clock.get()
    }

    fn cancel(&self) {}

    async fn sleep(&self, ms: u64) {
        self.clock.set(self.clock.get() + ms);
    }
}

const SECRETS: [(&str, &str); 2] = [("key-personal", "secret-personal"), ("key-business", "secret-business")];

const TICKERS: &str = r#"{"success":true,"payload":[
  {"book":"btc_mxn","volume":"20","last":"1000000","change_24":"0","created_at":"2026-11-24T06:00:00+00:00"},
  {"book":"usd_mxn","volume":"100000","last":"20","created_at":"2026-11-24T06:00:00+00:00"}]}"#;

fn json(status: u16, body: &str) -> std::result::Result<OwnedResponse, TransportFailure> {
    Ok(OwnedResponse { status, body: body.as_bytes().to_vec(), retry_after: None })
}

/// Recomputes the signature and answers the balances of whichever key signed.
fn honest_bitso(request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
    if request.url.ends_with("/v3/ticker/") {
        return json(200, TICKERS);
    }
    let Some(auth) = request.header("Authorization").and_then(|value| value.strip_prefix("Bitso ")) else {
        return json(401, r#"{"success":false,"error":{"code":"0208","message":"auth"}}"#);
    };
    let mut parts = auth.split(':');
    let (key, nonce, signature) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Some((_, secret)) = SECRETS.iter().find(|(k, _)| *k == key) else {
        return json(401, r#"{"success":false,"error":{"code":"0201","message":"creds"}}"#);
    };
    let path = request.url.trim_start_matches("https://api.bitso.com");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    mac.update(format!("{nonce}GET{path}").as_bytes());
    if hex::encode(mac.finalize().into_bytes()) != signature {
        return json(401, r#"{"success":false,"error":{"code":"0215","message":"sig"}}"#);
    }
    let btc = if key == "key-personal" { "0.5" } else { "0.25" };
    json(
        200,
        &format!(
            r#"{{"success":true,"payload":{{"balances":[
              {{"currency":"btc","total":"{btc}","locked":"0","available":"{btc}"}},
              {{"currency":"usd","total":"10","locked":"0","available":"10"}}]}}}}"#
        ),
    )
}

fn scripted(handler: impl Fn(&HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> + 'static) -> ScriptedBitso {
    ScriptedBitso { handler: RefCell::new(Box::new(handler)), log: RefCell::new(Vec::new()), clock: Cell::new(NOW) }
}

struct Fixture {
    vault: Vault,
    key: VaultKey,
    accounts: Vec<AccountRef>,
}

fn fixture() -> Fixture {
    let mut entropy = CountingEntropy::new(1);
    let (mut vault, key) =
        Vault::create(&Passphrase::normalizing("correct horse battery"), KdfParams::MINIMUM, &mut entropy)
            .unwrap_or_else(|e| panic!("{e}"));
    let mut accounts = Vec::new();
    for (id, (api_key, secret)) in ["personal", "business"].into_iter().zip(SECRETS) {
        let credentials = Credentials::new(api_key, secret).unwrap_or_else(|e| panic!("{e}"));
        vault = vault.seal_account(&key, id, ExchangeId::Bitso, &credentials, &mut entropy).unwrap_or_else(|e| panic!("{e}"));
        let portfolio = if id == "personal" { "home" } else { "work" };
        accounts.push(AccountRef { id: id.to_owned(), label: id.to_owned(), exchange: ExchangeId::Bitso, portfolio: portfolio.to_owned() });
    }
    Fixture { vault, key, accounts }
}

const NO_NONCES: &BTreeMap<String, u64> = &BTreeMap::new();
const NO_LOCKOUTS: &ExchangeMap<u64> = &ExchangeMap::new();

fn request<'a>(fixture: &'a Fixture, previous: Option<&'a Snapshot>) -> RefreshRequest<'a> {
    RefreshRequest {
        keys: Some((&fixture.vault, &fixture.key)),
        accounts: &fixture.accounts,
        quote: "mxn",
        previous,
        nonces: NO_NONCES,
        lockouts: NO_LOCKOUTS,
        bridges: &[],
        manual: &[],
        portfolios: &[],
        hide_below: None,
        scopes_due: &[],
    }
}

/// What the extension stores of a snapshot and hands back as `previous`.
fn stored(snapshot: &Snapshot) -> Snapshot {
    let json = serde_json::to_string(snapshot).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("unreadable: {e}: {json}"))
}

/// The snapshot of a refresh that must have produced one.
fn valued(result: Result<RefreshResult>) -> (Snapshot, RefreshResult) {
    let outcome = result.unwrap_or_else(|e| panic!("{e}"));
    let snapshot = outcome.snapshot.clone().unwrap_or_else(|| panic!("no snapshot: {:?}", outcome.error));
    (snapshot, outcome)
}

/// `error` as a refresh at `now_ms` reports it.
fn seen(error: Error, now_ms: u64) -> Option<ErrorView> {
    Some(ErrorView::new(&error, now_ms))
}

/// The last nonce per account, as numbers.
fn nonces_of(outcome: &RefreshResult) -> BTreeMap<String, u64> {
    outcome.nonces.iter().map(|(id, nonce)| (id.clone(), nonce.0)).collect()
}

/// Why a refresh produced no snapshot (`None` when it did).
fn failure(result: Result<RefreshResult>) -> Option<ErrorView> {
    match result {
        Ok(outcome) => {
            assert_eq!(outcome.snapshot.is_none(), outcome.error.is_some());
            outcome.error
        }
        Err(error) => panic!("refresh refused the request: {error}"),
    }
}

const NOW: u64 = 1_764_000_000_000;

#[test]
fn refresh_signs_each_account_and_adds_them_up() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    let engine = Engine::new(&bitso);
    let (snapshot, outcome) = valued(block_on(engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(9))));
    // (0.5 + 0.25) btc × 1,000,000 + 20 usd × 20
    assert_eq!(crate::money::to_plain_string(snapshot.total), "750400");
    assert!(snapshot.accounts.iter().all(|account| account.error.is_none() && account.synced_at == Some(NOW)));

    let log = bitso.log.borrow();
    assert_eq!(log.len(), 3, "one ticker request and one balance request per account");
    let nonces: Vec<&str> = log
        .iter()
        .filter_map(|r| r.header("Authorization"))
        .filter_map(|auth| auth.split(':').nth(1))
        .collect();
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1]);
    assert!(log.iter().all(|r| r.method == Method::Get && r.url.starts_with("https://api.bitso.com/v3/")));
    // Each account's last nonce comes back to be persisted.
    let persisted: Vec<String> = outcome.nonces.values().map(|nonce| nonce.0.to_string()).collect();
    let mut sent: Vec<String> = nonces.iter().map(|n| (*n).to_owned()).collect();
    sent.sort();
    let mut persisted_sorted = persisted.clone();
    persisted_sorted.sort();
    assert_eq!(persisted_sorted, sent);
    assert!(outcome.lockouts.is_empty() && outcome.price_errors.is_empty());
}

#[test]
fn persisted_nonces_survive_a_restart_with_the_clock_set_back() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    let (_, first) = valued(block_on(Engine::new(&bitso).refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(9))));
    // A new engine (a restarted service worker) with the clock an hour behind.
    let restarted = Engine::new(&bitso);
    let mut again = request(&fixture, None);
    let persisted = nonces_of(&first);
    again.nonces = &persisted;
    bitso.clock.set(NOW - 3_600_000);
    let (_, second) = valued(block_on(restarted.refresh(again, NOW - 3_600_000, &mut CountingEntropy::new(9))));
    let after = nonces_of(&second);
    for (id, before) in &persisted {
        assert!(after[id] > *before, "{id}: {} after {before}", after[id]);
    }
}

#[test]
fn a_failing_account_keeps_its_previous_balances_and_its_error() {
    let fixture = fixture();
    let engine_ok = Engine::new(scripted_ok());
    let (first, _) = valued(block_on(engine_ok.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(3))));
    let previous = stored(&first);

    let bitso = scripted(|request: &HttpRequest| {
        if request.header("Authorization").is_some_and(|auth| auth.contains("key-business")) {
            return json(401, r#"{"success":false,"error":{"code":"0202","message":"no"}}"#);
        }
        honest_bitso(request)
    });
    let engine = Engine::new(&bitso);
    let later = NOW + 60_000;
    let (snapshot, _) = valued(block_on(engine.refresh(request(&fixture, Some(&previous)), later, &mut CountingEntropy::new(4))));
    assert_eq!(snapshot.total, first.total, "the business balances are carried over");
    let business = &snapshot.accounts[1];
    assert_eq!(business.error.as_ref().map(|e| e.code), Some(crate::error::ErrorCode::MissingPermission));
    assert_eq!(business.synced_at, Some(NOW));
    assert_eq!(snapshot.accounts[0].synced_at, Some(later));
}

fn scripted_ok() -> &'static ScriptedBitso {
    Box::leak(Box::new(scripted(honest_bitso)))
}

#[test]
fn every_account_failing_is_an_error() {
    let fixture = fixture();
    let bitso = scripted(|request: &HttpRequest| {
        if request.url.ends_with("/v3/ticker/") { json(200, TICKERS) } else { json(500, "<html>oops</html>") }
    });
    let result = block_on(Engine::new(&bitso).refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1)));
    assert_eq!(failure(result), seen(Error::ExchangeUnavailable { exchange: ExchangeId::Bitso, status: 500 }, NOW));
}

#[test]
fn prices_failing_everywhere_is_an_error() {
    let fixture = fixture();
    let bitso = scripted(|request: &HttpRequest| {
        if request.url.ends_with("/v3/ticker/") { json(200, "{not json") } else { honest_bitso(request) }
    });
    let result = block_on(Engine::new(&bitso).refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1)));
    assert_eq!(failure(result), seen(Error::MalformedResponse { exchange: ExchangeId::Bitso }, NOW));
}

#[test]
fn timeouts_and_offline_are_reported_as_such() {
    let fixture = fixture();
    for (transport_failure, expected) in [
        (TransportFailure::Timeout, Error::Timeout { exchange: ExchangeId::Bitso }),
        (TransportFailure::Offline, Error::Offline { exchange: ExchangeId::Bitso }),
        (TransportFailure::TooLarge, Error::ResponseTooLarge { exchange: ExchangeId::Bitso }),
    ] {
        let bitso = scripted(move |_: &HttpRequest| Err(transport_failure));
        let result = block_on(Engine::new(&bitso).refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1)));
        assert_eq!(failure(result), seen(expected, NOW));
    }
}

#[test]
fn rate_limit_backs_off_without_touching_the_network() {
    let fixture = fixture();
    let bitso = scripted(|_: &HttpRequest| {
        Ok(OwnedResponse { status: 420, body: b"{}".to_vec(), retry_after: Some("30".into()) })
    });
    let engine = Engine::new(&bitso);
    let first = block_on(engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1)));
    let first = first.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.error, seen(Error::RateLimited { exchange: ExchangeId::Bitso, retry_after_ms: 30_000 }, NOW));
    assert_eq!(first.lockouts.get(ExchangeId::Bitso), Some(&(NOW + 30_000)), "handed back although it failed");
    let sent = bitso.log.borrow().len();

    let second = block_on(engine.refresh(request(&fixture, None), NOW + 10_000, &mut CountingEntropy::new(2)));
    assert_eq!(failure(second), seen(Error::RateLimited { exchange: ExchangeId::Bitso, retry_after_ms: 20_000 }, NOW + 10_000));
    assert_eq!(bitso.log.borrow().len(), sent, "nothing is sent while locked out");

    *bitso.handler.borrow_mut() = Box::new(honest_bitso);
    let third = block_on(engine.refresh(request(&fixture, None), NOW + 30_000, &mut CountingEntropy::new(3)));
    assert_eq!(failure(third), None);
}

#[test]
fn a_persisted_lockout_is_honoured_capped_and_forgotten_once_past() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    // A restarted worker reads a lockout that is still due: it is honoured without a request.
    let mut stored = ExchangeMap::new();
    stored.insert(ExchangeId::Bitso, NOW + 42_000);
    let mut blocked = request(&fixture, None);
    blocked.lockouts = &stored;
    assert_eq!(
        failure(block_on(Engine::new(&bitso).refresh(blocked, NOW, &mut CountingEntropy::new(1)))),
        seen(Error::RateLimited { exchange: ExchangeId::Bitso, retry_after_ms: 42_000 }, NOW)
    );
    assert!(bitso.log.borrow().is_empty());

    // Times further ahead than any wait Cartera writes (a year, or after the clock was set back),
    // and times in the past, are ignored outright.
    for retry_at in [NOW + 365 * 24 * 3_600_000, NOW + MAX_RETRY_AFTER_MS + 1, NOW - 1, NOW] {
        let mut stored = ExchangeMap::new();
        stored.insert(ExchangeId::Bitso, retry_at);
        let mut ignored = request(&fixture, None);
        ignored.lockouts = &stored;
        let outcome = block_on(Engine::new(&bitso).refresh(ignored, NOW, &mut CountingEntropy::new(1)));
        assert!(outcome.is_ok_and(|o| o.error.is_none() && o.lockouts.is_empty()), "retry at {retry_at}");
    }
}

#[test]
fn a_huge_retry_after_is_capped_and_handed_back_for_storage() {
    let fixture = fixture();
    let bitso = scripted(|request: &HttpRequest| {
        if request.header("Authorization").is_some_and(|auth| auth.contains("key-business")) {
            return Ok(OwnedResponse { status: 429, body: Vec::new(), retry_after: Some("99999999999999999999".into()) });
        }
        honest_bitso(request)
    });
    let engine = Engine::new(&bitso);
    let (snapshot, outcome) = valued(block_on(engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1))));
    assert_eq!(outcome.lockouts.get(ExchangeId::Bitso), Some(&(NOW + MAX_RETRY_AFTER_MS)));
    let business = &snapshot.accounts[1];
    assert_eq!(business.error.as_ref().and_then(|e| e.retry_at), Some(NOW + MAX_RETRY_AFTER_MS));
}

#[test]
fn test_connection_reports_currencies_or_the_diagnosis() {
    let bitso = scripted(honest_bitso);
    let engine = Engine::new(&bitso);
    let good = Credentials::new("key-personal", "secret-personal").unwrap_or_else(|e| panic!("{e}"));
    let check = block_on(engine.test_connection(ExchangeId::Bitso, &good, None, NOW, &mut CountingEntropy::new(1)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((check.currencies, check.scope), (2, None), "Bitso cannot say what a key may do");
    assert!(check.last_nonce.is_some_and(|nonce| nonce / 1_000_000 == NOW));
    let wrong = Credentials::new("key-personal", "not-the-secret").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        block_on(engine.test_connection(ExchangeId::Bitso, &wrong, None, NOW, &mut CountingEntropy::new(1))),
        Err(Error::InvalidCredentials { exchange: ExchangeId::Bitso })
    );
}

#[test]
fn locked_revaluation_sends_no_signed_request() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    let engine = Engine::new(&bitso);
    let (first, _) = valued(block_on(engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1))));
    let previous = stored(&first);
    let sent = bitso.log.borrow().len();
    // Prices move; the vault stays sealed.
    *bitso.handler.borrow_mut() = Box::new(|request: &HttpRequest| {
        if request.url.ends_with("/v3/ticker/") {
            return json(200, &TICKERS.replace(r#""last":"1000000""#, r#""last":"2000000""#));
        }
        honest_bitso(request)
    });
    let mut locked = request(&fixture, Some(&previous));
    locked.keys = None;
    let later = NOW + PRICES_REUSED_FOR_MS;
    let (snapshot, outcome) = valued(block_on(engine.refresh(locked, later, &mut CountingEntropy::new(2))));
    let new_requests: Vec<HttpRequest> = bitso.log.borrow()[sent..].to_vec();
    assert_eq!(new_requests.len(), 1, "only the public tickers");
    assert!(new_requests.iter().all(|r| r.header("Authorization").is_none()));
    assert!(snapshot.prices_only);
    // (0.5 + 0.25) btc × 2,000,000 + 20 usd × 20: the last balances at the new price.
    assert_eq!(crate::money::to_plain_string(snapshot.total), "1500400");
    assert!(snapshot.accounts.iter().all(|a| a.error.is_none() && a.synced_at == Some(NOW)), "balances are from the first sync");
    assert_eq!(nonces_of(&outcome), *NO_NONCES, "no nonce was spent");
}

#[test]
fn each_portfolio_is_valued_apart_and_all_of_them_add_up() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    let manual = [ManualHoldings {
        id: "manual-home".into(),
        portfolio: "home".into(),
        label: "Manual".into(),
        balances: vec![Balance::available("btc", crate::valuation::test_support::dec("0.1")), Balance::available("mycoin", rust_decimal::Decimal::ONE)],
    }];
    let portfolios = ["home".to_owned(), "work".to_owned(), "empty".to_owned()];
    let mut with_groups = request(&fixture, None);
    with_groups.manual = &manual;
    with_groups.portfolios = &portfolios;
    let (all, outcome) = valued(block_on(Engine::new(&bitso).refresh(with_groups, NOW, &mut CountingEntropy::new(1))));
    let total = |snapshot: &Snapshot| crate::money::to_plain_string(snapshot.total);
    let total_of = |id: &str| outcome.portfolios.get(id).map(total);
    // home: 0.5 btc + 10 usd + 0.1 btc manual; work: 0.25 btc + 10 usd.
    assert_eq!(total_of("home").as_deref(), Some("600200"));
    assert_eq!(total_of("work").as_deref(), Some("250200"));
    assert_eq!(total_of("empty").as_deref(), Some("0"));
    assert_eq!(total(&all), "850400", "all portfolios = the sum of each");
    assert_eq!(outcome.portfolios[&"home".to_owned()].unpriced.iter().map(|r| r.asset.as_str()).collect::<Vec<_>>(), ["mycoin"]);
    assert!(all.accounts.iter().any(|a| a.id == "manual-home" && a.exchange.is_none()));
}

#[test]
fn an_account_left_out_is_neither_fetched_nor_counted() {
    // "Import balance" off: the extension leaves the account out of the request.
    let mut fixture = fixture();
    fixture.accounts.retain(|account| account.id == "personal");
    let bitso = scripted(honest_bitso);
    let (snapshot, _) = valued(block_on(Engine::new(&bitso).refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1))));
    assert_eq!(crate::money::to_plain_string(snapshot.total), "500200");
    assert!(bitso.log.borrow().iter().all(|r| !r.header("Authorization").is_some_and(|a| a.contains("key-business"))));
}

#[test]
fn manual_entries_group_per_portfolio_and_sum_per_asset() {
    let entries = [("home", "BTC", "0.5"), ("work", "eth", "2"), ("home", " btc ", "0.25"), ("home", "usd", "0")];
    let groups = ManualHoldings::group(entries, "Manual").unwrap_or_else(|e| panic!("{e}"));
    let d = |text: &str| parse_decimal(text).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].portfolio.as_str(), groups[0].label.as_str()), ("home", "Manual"));
    assert_eq!(groups[0].balances, vec![Balance::available("btc", d("0.75")), Balance::available("usd", d("0"))]);
    assert_eq!(groups[1].balances, vec![Balance::available("eth", d("2"))]);
    for (asset, amount, field) in
        [("b t c", "1", "asset"), ("", "1", "asset"), ("btc", "-1", "amount"), ("btc", "1e3", "amount"), ("btc", "", "amount")]
    {
        assert_eq!(ManualHoldings::group([("home", asset, amount)], "Manual"), Err(Error::InvalidInput { field }), "{asset:?} {amount:?}");
    }
    let huge = "79228162514264337593543950335";
    assert_eq!(ManualHoldings::group([("home", "btc", huge), ("home", "btc", huge)], "Manual"), Err(Error::InvalidInput { field: "amount" }));
}

#[test]
fn manual_holdings_alone_are_valued_with_bridge_prices() {
    let mut fixture = fixture();
    fixture.accounts.clear();
    let bitso = scripted(honest_bitso);
    let manual = [ManualHoldings { id: "manual-home".into(), portfolio: "home".into(), label: "Manual".into(), balances: vec![Balance::available("btc", rust_decimal::Decimal::ONE)] }];
    let mut only_manual = request(&fixture, None);
    only_manual.manual = &manual;
    only_manual.bridges = &[ExchangeId::Bitso];
    let (snapshot, _) = valued(block_on(Engine::new(&bitso).refresh(only_manual, NOW, &mut CountingEntropy::new(1))));
    assert_eq!(crate::money::to_plain_string(snapshot.total), "1000000");
    assert_eq!(snapshot.bridges, vec![ExchangeId::Bitso]);
}

#[test]
fn an_invalid_quote_is_refused_before_sending() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    let mut bad = request(&fixture, None);
    bad.quote = "MXN\"";
    assert_eq!(
        block_on(Engine::new(&bitso).refresh(bad, NOW, &mut CountingEntropy::new(1))),
        Err(Error::InvalidInput { field: "quote" })
    );
    assert!(bitso.log.borrow().is_empty());
}

#[test]
fn prices_are_reused_for_ten_seconds() {
    let fixture = fixture();
    let bitso = scripted(honest_bitso);
    let engine = Engine::new(&bitso);
    let ticker_requests = || bitso.log.borrow().iter().filter(|r| r.url.ends_with("/v3/ticker/")).count();
    for (offset, expected) in [(0, 1), (5_000, 1), (9_999, 1), (10_000, 2), (12_000, 2)] {
        valued(block_on(engine.refresh(request(&fixture, None), NOW + offset, &mut CountingEntropy::new(1))));
        assert_eq!(ticker_requests(), expected, "after {offset} ms");
    }
    assert_eq!(bitso.log.borrow().len(), 2 + 2 * 5, "balances are fetched every time");
}

// ---------------------------------------------------------------------------------------------
// Batches

/// A transport on a clock of ticks, driven by [`block_on_ticking`]: each answer comes
/// `latency(request)` ticks after its request was sent. Requests sent in one tick were all sent
/// before any of them was answered, and the ticks a refresh takes are its round trips.
struct Ticking {
    ticks: Cell<u64>,
    latency: fn(&HttpRequest) -> u64,
    handler: Handler,
    /// Every request sent and every answer given, with its tick, in order.
    log: RefCell<Vec<(u64, &'static str, String)>>,
    /// How many times the requests in flight were aborted.
    aborts: Cell<u64>,
}

/// A tick of [`Ticking`]'s clock, in milliseconds.
const TICK_MS: u64 = 1_000;

fn ticking(
    latency: fn(&HttpRequest) -> u64,
    handler: impl Fn(&HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> + 'static,
) -> Ticking {
    Ticking { ticks: Cell::new(0), latency, handler: Box::new(handler), log: RefCell::new(Vec::new()), aborts: Cell::new(0) }
}

impl Transport for &Ticking {
    async fn send(&self, request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
        let due = self.ticks.get() + (self.latency)(request);
        let path = request.url.split('?').next().unwrap_or_default().to_owned();
        self.log.borrow_mut().push((self.ticks.get(), "sent", path.clone()));
        let aborts = self.aborts.get();
        let aborted = poll_fn(|_| {
            if self.aborts.get() != aborts {
                Poll::Ready(true)
            } else if self.ticks.get() >= due {
                Poll::Ready(false)
            } else {
                Poll::Pending
            }
        })
        .await;
        if aborted {
            self.log.borrow_mut().push((self.ticks.get(), "aborted", path));
            return Err(TransportFailure::Timeout);
        }
        self.log.borrow_mut().push((self.ticks.get(), "answered", path));
        (self.handler)(request)
    }

    fn now_ms(&self) -> u64 {
        NOW + self.ticks.get() * TICK_MS
    }

    fn cancel(&self) {
        self.aborts.set(self.aborts.get() + 1);
    }

    async fn sleep(&self, ms: u64) {
        let due = self.ticks.get() + ms.div_ceil(TICK_MS);
        poll_fn(|_| if self.ticks.get() >= due { Poll::Ready(()) } else { Poll::Pending }).await;
    }
}

/// Runs `future`, the transport's clock moving one tick each time everything waits.
fn block_on_ticking<F: Future>(transport: &Ticking, future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        assert!(transport.ticks.get() < 1_000, "the future never finished");
        transport.ticks.set(transport.ticks.get() + 1);
    }
}

/// Asks for `count` requests at once, again and again: answered with their bodies in the order
/// given, once `rounds` batches were answered.
struct Batches {
    count: usize,
    rounds: usize,
}

impl Flow<Vec<String>> for Batches {
    fn step(&mut self, _answer: Option<HttpResponse<'_>>, _context: &mut crate::exchange::Context<'_>) -> Result<Step<Vec<String>>> {
        let requests = (0..self.count).map(|index| HttpRequest::get(format!("https://example.test/{index}"))).collect();
        Ok(Step::SendAll(requests))
    }

    fn step_all(&mut self, answers: Vec<HttpResponse<'_>>, context: &mut crate::exchange::Context<'_>) -> Result<Step<Vec<String>>> {
        self.rounds = self.rounds.saturating_sub(1);
        if self.rounds == 0 {
            return Ok(Step::Done(answers.iter().map(|answer| answer.text().unwrap_or_default().to_owned()).collect()));
        }
        self.step(None, context)
    }
}

/// Answers each request with its own URL.
fn echo(request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
    json(200, &request.url)
}

/// The later a request in its batch, the sooner its answer: 0 after 3 ticks, 1 after 2, 2 after 1.
fn last_first(request: &HttpRequest) -> u64 {
    3 - request.url.rsplit('/').next().and_then(|index| index.parse::<u64>().ok()).unwrap_or(0)
}

#[test]
fn a_batch_is_sent_at_once_and_each_answer_reaches_its_request() {
    let transport = ticking(last_first, echo);
    let engine = Engine::new(&transport);
    let flow = Box::new(Batches { count: 3, rounds: 1 });
    let result = block_on_ticking(&transport, engine.run(ExchangeId::Binance, flow, NOW, None, engine.watch(NOW)));
    assert_eq!(result, Ok(vec!["https://example.test/0".into(), "https://example.test/1".into(), "https://example.test/2".into()]));
    let log = transport.log.borrow();
    let events: Vec<(u64, &str, &str)> =
        log.iter().map(|(tick, what, url)| (*tick, *what, url.trim_start_matches("https://example.test/"))).collect();
    assert_eq!(
        events,
        [(0, "sent", "0"), (0, "sent", "1"), (0, "sent", "2"), (1, "answered", "2"), (2, "answered", "1"), (3, "answered", "0")]
    );
}

/// A request of a batch that gets no answer fails the flow; of several, the first in request
/// order, though another failed sooner. Every request of the batch is awaited.
#[test]
fn a_transport_failure_in_a_batch_fails_the_flow() {
    let transport = ticking(last_first, |request: &HttpRequest| match request.url.rsplit('/').next() {
        Some("1") => Err(TransportFailure::Timeout),
        Some("2") => Err(TransportFailure::Offline),
        _ => echo(request),
    });
    let engine = Engine::new(&transport);
    let flow = Box::new(Batches { count: 3, rounds: 2 });
    let result = block_on_ticking(&transport, engine.run(ExchangeId::Binance, flow, NOW, None, engine.watch(NOW)));
    assert_eq!(result, Err(Error::Timeout { exchange: ExchangeId::Binance }));
    let log = transport.log.borrow();
    assert_eq!(log.iter().filter(|(_, what, _)| *what == "sent").count(), 3, "nothing after the failing batch");
    assert_eq!(log.iter().filter(|(_, what, _)| *what == "answered").count(), 3);
}

/// The cap counts every request of a batch, and an empty batch is refused: neither a flow that
/// keeps asking in batches nor one that asks for nothing runs on.
#[test]
fn the_request_cap_counts_each_request_of_a_batch() {
    let transport = ticking(|_| 1, echo);
    let engine = Engine::new(&transport);
    let endless = Box::new(Batches { count: 10, rounds: usize::MAX });
    let result = block_on_ticking(&transport, engine.run(ExchangeId::Binance, endless, NOW, None, engine.watch(NOW)));
    assert_eq!(result, Err(Error::MalformedResponse { exchange: ExchangeId::Binance }));
    let sent = transport.log.borrow().iter().filter(|(_, what, _)| *what == "sent").count();
    assert_eq!(sent, 60, "six batches of ten; a seventh would pass {MAX_REQUESTS}");

    let transport = ticking(|_| 1, echo);
    let engine = Engine::new(&transport);
    let empty = Box::new(Batches { count: 0, rounds: 1 });
    let result = block_on_ticking(&transport, engine.run(ExchangeId::Binance, empty, NOW, None, engine.watch(NOW)));
    assert_eq!(result, Err(Error::MalformedResponse { exchange: ExchangeId::Binance }));
    assert!(transport.log.borrow().is_empty());
}

const BINANCE_KEY: &str = "CarteraTestBinanceKey";
const BINANCE_SECRET: &str = "CarteraTestBinanceSecret0123456789";
/// Binance's clock, three seconds ahead of the computer's.
const BINANCE_TIME: u64 = NOW + 3_000;

/// One Binance account, holding 0.5 BTC in spot, 10 USDT in the Funding wallet and 90 USDT in
/// flexible Earn.
fn binance_fixture() -> Fixture {
    let mut entropy = CountingEntropy::new(1);
    let (vault, key) = Vault::create(&Passphrase::normalizing("correct horse battery"), KdfParams::MINIMUM, &mut entropy)
        .unwrap_or_else(|e| panic!("{e}"));
    let credentials = adapter(ExchangeId::Binance).credentials(BINANCE_KEY, BINANCE_SECRET).unwrap_or_else(|e| panic!("{e}"));
    let vault =
        vault.seal_account(&key, "main", ExchangeId::Binance, &credentials, &mut entropy).unwrap_or_else(|e| panic!("{e}"));
    let account = AccountRef { id: "main".into(), label: "main".into(), exchange: ExchangeId::Binance, portfolio: "home".into() };
    Fixture { vault, key, accounts: vec![account] }
}

/// Answers like Binance, refusing a request not signed with the key's secret, or stamped 1 s or
/// more ahead of Binance's time or more than `recvWindow` behind it.
fn honest_binance(request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
    let target = request.url.trim_start_matches("https://api.binance.com");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/api/v3/time" => return json(200, &format!(r#"{{"serverTime":{BINANCE_TIME}}}"#)),
        "/api/v3/ticker/24hr" => {
            return json(200, r#"[{"symbol":"BTCUSDT","lastPrice":"100000"},{"symbol":"USDTMXN","lastPrice":"20"}]"#);
        }
        _ => {}
    }
    let signed = request.body.as_deref().unwrap_or(query);
    let (payload, signature) = signed.rsplit_once("&signature=").unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(BINANCE_SECRET.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    mac.update(payload.as_bytes());
    let number = |name: &str| payload.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=')?.parse::<u64>().ok());
    if request.header("X-MBX-APIKEY") != Some(BINANCE_KEY) || hex::encode(mac.finalize().into_bytes()) != signature {
        return json(400, r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#);
    }
    let (timestamp, window) = (number("timestamp").unwrap_or(0), number("recvWindow").unwrap_or(5_000));
    if timestamp >= BINANCE_TIME + 1_000 || BINANCE_TIME.saturating_sub(timestamp) > window {
        return json(400, r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#);
    }
    match path {
        "/api/v3/account" => json(200, r#"{"balances":[{"asset":"BTC","free":"0.5","locked":"0"}]}"#),
        "/sapi/v1/asset/get-funding-asset" => json(200, r#"[{"asset":"USDT","free":"10","locked":"0","freeze":"0","withdrawing":"0"}]"#),
        "/sapi/v1/simple-earn/flexible/position" => json(200, r#"{"rows":[{"asset":"USDT","totalAmount":"90"}],"total":1}"#),
        "/sapi/v1/simple-earn/locked/position" => json(200, r#"{"rows":[],"total":0}"#),
        "/sapi/v1/account/apiRestrictions" => json(
            200,
            r#"{"enableReading":true,"enableWithdrawals":true,"enableInternalTransfer":false,"enableSpotAndMarginTrading":false}"#,
        ),
        _ => json(404, r#"{"code":-1000,"msg":"unknown path"}"#),
    }
}

/// A Binance refresh takes one round trip when the computer's clock is one Binance accepts: the
/// four wallets at once, with the prices.
#[test]
fn a_binance_refresh_takes_one_round_trip() {
    let fixture = binance_fixture();
    let transport = ticking(|_| 1, honest_binance);
    let engine = Engine::new(&transport);
    let (snapshot, _) =
        valued(block_on_ticking(&transport, engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1))));
    assert!(snapshot.accounts.iter().all(|account| account.error.is_none()), "{:?}", snapshot.accounts);
    // 0.5 BTC × 100,000 USDT × 20 MXN + (10 + 90) USDT × 20 MXN
    assert_eq!(crate::money::to_plain_string(snapshot.total), "1002000");
    assert_eq!(transport.ticks.get(), 1, "on a clock Binance accepts, no time request");
    let log = transport.log.borrow();
    let sent: Vec<(u64, &str)> = log
        .iter()
        .filter(|(_, what, _)| *what == "sent")
        .map(|(tick, _, url)| (*tick, url.trim_start_matches("https://api.binance.com")))
        .collect();
    assert_eq!(
        sent,
        [
            (0, "/api/v3/ticker/24hr"),
            (0, "/api/v3/account"),
            (0, "/sapi/v1/asset/get-funding-asset"),
            (0, "/sapi/v1/simple-earn/flexible/position"),
            (0, "/sapi/v1/simple-earn/locked/position"),
        ]
    );
}

/// On a computer clock 20 s ahead of Binance's, the refused wallets are asked again, stamped
/// with Binance's time, after one more round trip for the time.
#[test]
fn a_binance_refresh_on_a_clock_ahead_asks_the_time_once() {
    let fixture = binance_fixture();
    let transport = ticking(|_| 1, honest_binance);
    let engine = Engine::new(&transport);
    let ahead = BINANCE_TIME + 20_000;
    let (snapshot, _) =
        valued(block_on_ticking(&transport, engine.refresh(request(&fixture, None), ahead, &mut CountingEntropy::new(1))));
    assert!(snapshot.accounts.iter().all(|account| account.error.is_none()), "{:?}", snapshot.accounts);
    assert_eq!(crate::money::to_plain_string(snapshot.total), "1002000");
    assert_eq!(transport.ticks.get(), 3);
    let log = transport.log.borrow();
    let sent_at = |tick: u64| log.iter().filter(|(at, what, _)| *at == tick && *what == "sent").count();
    assert_eq!((sent_at(0), sent_at(1), sent_at(2)), (5, 1, 4), "prices and wallets; the time; the wallets again");
}

/// A rate limit in any answer of a batch is remembered and handed back, although an earlier
/// answer of the batch failed too.
#[test]
fn a_rate_limit_in_a_batch_locks_the_exchange_out() {
    let fixture = binance_fixture();
    let transport = ticking(|_| 1, |request: &HttpRequest| {
        if request.url.contains("/api/v3/account") {
            return json(503, "");
        }
        if request.url.contains("/simple-earn/locked/") {
            return Ok(OwnedResponse { status: 429, body: br#"{"code":-1003,"msg":"x"}"#.to_vec(), retry_after: Some("30".into()) });
        }
        honest_binance(request)
    });
    let engine = Engine::new(&transport);
    let outcome = block_on_ticking(&transport, engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.error, seen(Error::RateLimited { exchange: ExchangeId::Binance, retry_after_ms: 30_000 }, NOW));
    assert_eq!(outcome.lockouts.get(ExchangeId::Binance), Some(&(NOW + 30_000)));
}

/// Accounts are fetched side by side; each keeps its own balances and its place in the snapshot
/// whichever answers first (the outputs of `join_all` come back in the order of the accounts).
#[test]
fn accounts_answered_out_of_order_keep_their_balances_and_their_order() {
    // The first account's key answers last.
    let first_slowest = |request: &HttpRequest| {
        let personal = request.header("Authorization").is_some_and(|auth| auth.starts_with("Bitso key-personal:"));
        if personal { 5 } else { 1 }
    };
    let transport = ticking(first_slowest, honest_bitso);
    let engine = Engine::new(&transport);
    let fixture = fixture();
    let outcome = block_on_ticking(&transport, engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(3)));
    let (snapshot, _) = valued(outcome);
    let btc: Vec<(&str, String)> = snapshot
        .accounts
        .iter()
        .map(|account| (account.id.as_str(), account.balances.iter().find(|b| b.currency == "btc").map(|b| b.total.to_string()).unwrap_or_default()))
        .collect();
    assert_eq!(btc, [("personal", "0.5".to_owned()), ("business", "0.25".to_owned())]);
    let log = transport.log.borrow();
    let answered: Vec<u64> = log.iter().filter(|(_, what, path)| *what == "answered" && path.ends_with("/v3/balance/")).map(|(tick, ..)| *tick).collect();
    // Both asked at once: the second account's answer came at tick 1, the first's at tick 5.
    assert_eq!(answered, [1, 5]);
}

// ---------------------------------------------------------------------------------------------
// Stopping: Lock, a page that gave up, a conversation that takes too long

/// Cancelling in the middle of a refresh (Lock while the first balances are in flight): the
/// request in flight is aborted, nothing more is signed or sent, and the refresh ends with the
/// `cancelled` error and the nonces it spent, which the caller persists.
#[test]
fn a_cancelled_refresh_signs_nothing_more_and_hands_back_its_nonces() {
    let fixture = fixture();
    let transport = ticking(|_| 3, honest_bitso);
    let engine = Engine::new(&transport);
    let mut entropy = CountingEntropy::new(3);
    let refresh = engine.refresh(request(&fixture, None), NOW, &mut entropy);
    let mut refresh = pin!(refresh);
    let mut cx = Context::from_waker(Waker::noop());
    // The first tick: every request is on its way.
    assert!(refresh.as_mut().poll(&mut cx).is_pending());
    let sent_before = transport.log.borrow().iter().filter(|(_, what, _)| *what == "sent").count();
    engine.cancel();
    let outcome = loop {
        if let Poll::Ready(outcome) = refresh.as_mut().poll(&mut cx) {
            break outcome.unwrap_or_else(|e| panic!("{e}"));
        }
        transport.ticks.set(transport.ticks.get() + 1);
    };
    assert_eq!(outcome.error.map(|error| error.code), Some(crate::error::ErrorCode::Cancelled));
    assert_eq!(outcome.snapshot, None);
    let log = transport.log.borrow();
    assert_eq!(log.iter().filter(|(_, what, _)| *what == "sent").count(), sent_before, "nothing sent after the cancel");
    assert!(log.iter().any(|(_, what, _)| *what == "aborted"), "what was in flight was aborted: {log:?}");
    // Both accounts had signed one request: both nonces come back.
    assert_eq!(outcome.nonces.len(), 2);
    // Work begun after the cancel runs as usual.
    drop(log);
    let again = block_on_ticking(&transport, engine.refresh(request(&fixture, None), NOW + 20_000, &mut CountingEntropy::new(4)));
    assert!(valued(again).0.total > rust_decimal::Decimal::ZERO);
}

/// A key check stopped by a Lock while its request is in flight ends as cancelled, not as the
/// network failure the abort looks like, and sends nothing more.
#[test]
fn a_cancelled_key_check_ends_as_cancelled() {
    let transport = ticking(|_| 3, honest_bitso);
    let engine = Engine::new(&transport);
    let credentials = Credentials::new("key-personal", "secret-personal").unwrap_or_else(|e| panic!("{e}"));
    let mut entropy = CountingEntropy::new(1);
    let check = engine.test_connection(ExchangeId::Bitso, &credentials, None, NOW, &mut entropy);
    let mut check = pin!(check);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(check.as_mut().poll(&mut cx).is_pending());
    engine.cancel();
    let ended = loop {
        if let Poll::Ready(ended) = check.as_mut().poll(&mut cx) {
            break ended;
        }
        transport.ticks.set(transport.ticks.get() + 1);
    };
    assert!(matches!(ended, Err(Error::Cancelled)), "{ended:?}");
    assert_eq!(transport.log.borrow().iter().filter(|(_, what, _)| *what == "sent").count(), 1);
}

/// A conversation that takes longer than `MAX_CONVERSATION_MS` stops in the core, before the
/// background would give up waiting, as a timeout of that exchange.
#[test]
fn a_refresh_that_takes_too_long_stops_in_the_core() {
    let fixture = fixture();
    // Every answer takes 40 s: the first round trip ends at 40 s, the second would start at 40 s
    // and end at 80 s, past the 75 s a conversation may take.
    let transport = ticking(|_| 40, honest_bitso);
    let engine = Engine::new(&transport);
    let outcome =
        block_on_ticking(&transport, engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(3))).unwrap_or_else(|e| panic!("{e}"));
    // Bitso's flow is one request per account: it finishes at 40 s, within the limit.
    assert!(outcome.snapshot.is_some());
    // A flow that keeps asking is stopped at the limit.
    let endless = Box::new(Batches { count: 1, rounds: usize::MAX });
    let result = block_on_ticking(&transport, engine.run(ExchangeId::Binance, endless, NOW, None, engine.watch((&transport).now_ms())));
    assert_eq!(result, Err(Error::Timeout { exchange: ExchangeId::Binance }));
    assert!(transport.ticks.get() * TICK_MS <= 80_000 + MAX_CONVERSATION_MS, "stopped near the limit");
}

/// A key whose permissions are due is checked again within the sync, after its balances; one that
/// is not due is not asked.
#[test]
fn a_due_key_is_checked_again_within_the_sync() {
    let fixture = binance_fixture();
    let transport = ticking(|_| 1, honest_binance);
    let engine = Engine::new(&transport);
    let due = ["main".to_owned()];
    let mut checked = request(&fixture, None);
    checked.scopes_due = &due;
    let outcome = block_on_ticking(&transport, engine.refresh(checked, NOW, &mut CountingEntropy::new(1))).unwrap_or_else(|e| panic!("{e}"));
    let scope = outcome.scopes.get("main").copied().unwrap_or_else(|| panic!("no scope: {:?}", outcome.scopes));
    assert!(scope.withdraw && !scope.is_read_only(), "a permission added since is seen: {scope:?}");
    let asked = |transport: &Ticking| transport.log.borrow().iter().filter(|(_, what, url)| *what == "sent" && url.ends_with("/apiRestrictions")).count();
    assert_eq!(asked(&transport), 1);

    let later = ticking(|_| 1, honest_binance);
    let engine = Engine::new(&later);
    let outcome = block_on_ticking(&later, engine.refresh(request(&fixture, None), NOW, &mut CountingEntropy::new(1))).unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.scopes.is_empty());
    assert_eq!(asked(&later), 0, "not due: not asked");
}

#[test]
fn keys_are_due_for_a_check_daily_and_only_where_the_exchange_can_say() {
    let stored: StoredInputs = serde_json::from_value(serde_json::json!({
        "accounts": [
            { "id": "never", "label": "a", "exchange": "binance" },
            { "id": "fresh", "label": "b", "exchange": "coinbase", "scopeCheckedAt": NOW - 1_000 },
            { "id": "stale", "label": "c", "exchange": "bitfinex", "scopeCheckedAt": NOW - SCOPE_CHECKED_EVERY_MS },
            { "id": "cannot-say", "label": "d", "exchange": "kraken" },
            { "id": "left-out", "label": "e", "exchange": "binance", "importBalance": false },
        ],
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.scopes_due(NOW), ["never", "stale"]);
}

#[test]
fn a_typed_in_amount_is_refused_beyond_a_quadrillion() {
    assert_eq!(MAX_MANUAL_AMOUNT, rust_decimal::Decimal::from(10u64.pow(15)));
    assert_eq!(manual_amount("1000000000000000"), Ok(MAX_MANUAL_AMOUNT));
    assert_eq!(manual_amount("1000000000000000.1"), Err(Error::InvalidInput { field: "amount" }));
    // Two hundred of the largest add up and value without overflow.
    let entries: Vec<(&str, &str, &str)> = (0..200).map(|_| ("home", "btc", "1000000000000000")).collect();
    let groups = ManualHoldings::group(entries, "Manual").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(groups[0].balances[0].total, MAX_MANUAL_AMOUNT * rust_decimal::Decimal::from(200));
}

/// Answers Mercado Bitcoin's `/authorize` with a token named after the login, valid for an hour,
/// and its account requests only with the token of a key it issued.
fn mercado_bitcoin(request: &HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
    let path = request.url.trim_start_matches("https://api.mercadobitcoin.net/api/v4");
    if path == "/authorize" {
        let login: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap_or_default()).unwrap_or_default();
        let body = serde_json::json!({ "access_token": format!("token-{}", login["login"].as_str().unwrap_or_default()), "expiration": NOW / 1_000 + 3_600 });
        return json(200, &body.to_string());
    }
    if !request.header("Authorization").is_some_and(|value| value.starts_with("Bearer token-key-")) {
        return json(401, r#"{"code":"API|FORBIDDEN","message":"Invalid or expired token"}"#);
    }
    match path {
        "/accounts" => json(200, r#"[{"id":"main","name":"Main","type":"live","currency":"BRL"}]"#),
        _ => json(200, r#"[{"symbol":"BTC","available":"1","on_hold":"0","total":"1"}]"#),
    }
}

#[test]
fn an_exchange_session_is_kept_per_key_until_the_sessions_end() {
    let exchange = scripted(mercado_bitcoin);
    let engine = Engine::new(&exchange);
    let check = |api_key: &str| {
        let credentials = Credentials::new(api_key, "secret").unwrap_or_else(|e| panic!("{e}"));
        let outcome = block_on(engine.test_connection(ExchangeId::MercadoBitcoin, &credentials, None, NOW, &mut CountingEntropy::new(1)));
        assert_eq!(outcome.map(|check| check.currencies), Ok(1), "{api_key}");
    };
    let authorizations = || exchange.log.borrow().iter().filter(|request| request.url.ends_with("/authorize")).count();
    check("key-a");
    check("key-a");
    assert_eq!(authorizations(), 1, "the second conversation reuses the token: the secret is sent once");
    check("key-b");
    assert_eq!(authorizations(), 2, "another key has a session of its own");
    let bearers: Vec<Option<String>> = exchange
        .log
        .borrow()
        .iter()
        .filter(|request| request.url.ends_with("/accounts"))
        .map(|request| request.header("Authorization").map(str::to_owned))
        .collect();
    let bearer = |key: &str| Some(format!("Bearer token-{key}"));
    assert_eq!(bearers, [bearer("key-a"), bearer("key-a"), bearer("key-b")], "each key under its own token");
    engine.end_sessions();
    check("key-a");
    assert_eq!(authorizations(), 3, "after the sessions end, the key is authorized again");
}

/// Answers like [`mercado_bitcoin`], for a key with `accounts` accounts of one balance each.
fn mercado_bitcoin_accounts(accounts: usize) -> impl Fn(&HttpRequest) -> std::result::Result<OwnedResponse, TransportFailure> {
    move |request: &HttpRequest| {
        if request.url.ends_with("/accounts") && mercado_bitcoin(request)?.status == 200 {
            let rows: Vec<serde_json::Value> = (0..accounts).map(|n| serde_json::json!({ "id": format!("account{n}") })).collect();
            return json(200, &serde_json::Value::from(rows).to_string());
        }
        mercado_bitcoin(request)
    }
}

/// The most requests sent within any `window_ms`, from a [`Ticking`] log.
fn most_in_a_window(transport: &Ticking, window_ms: u64) -> usize {
    let sent: Vec<u64> = transport.log.borrow().iter().filter(|(_, event, _)| *event == "sent").map(|(tick, ..)| tick * TICK_MS).collect();
    sent.iter().map(|&start| sent.iter().filter(|&&at| (start..start + window_ms).contains(&at)).count()).max().unwrap_or(0)
}

#[test]
fn a_key_with_many_accounts_keeps_to_three_requests_a_second_across_its_conversations() {
    use crate::exchange::mercadobitcoin::KEY_PACE;
    // Every request answered at once: only the pacing spaces them.
    let transport = ticking(|_| 0, mercado_bitcoin_accounts(5));
    let engine = Engine::new(&transport);
    let credentials = Credentials::new("key-a", "secret").unwrap_or_else(|e| panic!("{e}"));
    let (mut entropy_a, mut entropy_b) = (CountingEntropy::new(1), CountingEntropy::new(2));
    let check = |entropy| engine.test_connection(ExchangeId::MercadoBitcoin, &credentials, None, NOW, entropy);
    // Two conversations with the key at once (as a refresh and a key check may be).
    let (first, second) = block_on_ticking(&transport, join(check(&mut entropy_a), check(&mut entropy_b)));
    assert_eq!(first.map(|check| check.currencies), Ok(1));
    assert_eq!(second.map(|check| check.currencies), Ok(1));
    let balances = transport.log.borrow().iter().filter(|(_, event, path)| *event == "sent" && path.ends_with("/balances")).count();
    assert_eq!(balances, 2 * 5, "each conversation asks for the five accounts' balances");
    assert_eq!(most_in_a_window(&transport, KEY_PACE.window_ms), KEY_PACE.requests, "{:?}", transport.log.borrow());
    let last_tick = transport.log.borrow().iter().map(|(tick, ..)| *tick).max().unwrap_or(0);
    assert!(last_tick * TICK_MS < 10 * KEY_PACE.window_ms, "paced, not stalled: the last request at tick {last_tick}");
}

#[test]
fn another_key_does_not_wait_for_a_paced_one() {
    let transport = ticking(|_| 0, mercado_bitcoin_accounts(5));
    let engine = Engine::new(&transport);
    let credentials = |key: &str| Credentials::new(key, "secret").unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (credentials("key-a"), credentials("key-b"));
    let (mut entropy_a, mut entropy_b) = (CountingEntropy::new(1), CountingEntropy::new(2));
    let check = |credentials, entropy| engine.test_connection(ExchangeId::MercadoBitcoin, credentials, None, NOW, entropy);
    let (first, second) = block_on_ticking(&transport, join(check(&a, &mut entropy_a), check(&b, &mut entropy_b)));
    assert!(first.is_ok() && second.is_ok());
    let at_once = transport.log.borrow().iter().filter(|(tick, event, _)| *tick == 0 && *event == "sent").count();
    assert_eq!(at_once, 6, "each key's first three requests go at once");
}
