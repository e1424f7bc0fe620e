use super::*;
use crate::{
    error::Error,
    exchange::Balance,
    exchange_id::ExchangeId,
    portfolio::{AccountBalances, build_snapshot},
    profile::DEFAULT_PORTFOLIO,
    valuation::test_support::{dec, ticker},
};

const NOW: u64 = 1_795_000_000_000;

fn account(id: &str, exchange: ExchangeId) -> Account {
    serde_json::from_value(serde_json::json!({ "id": id, "label": id, "exchange": exchange, "status": "active" }))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn snapshot_of(ids: &[(&str, Option<ExchangeId>, Option<Error>)]) -> Snapshot {
    let btc = [Balance::available("btc", dec("1"))];
    let inputs: Vec<AccountBalances<'_>> = ids
        .iter()
        .map(|(id, exchange, error)| AccountBalances {
            id,
            label: id,
            exchange: *exchange,
            balances: &btc,
            synced_at: Some(NOW),
            error: error.as_ref().map(|error| ErrorView::new(error, NOW)),
        })
        .collect();
    build_snapshot(&inputs, &[ticker("btc_mxn", "100", "1", None)], "mxn", NOW)
}

fn stored(accounts: Vec<Account>) -> Stored {
    Stored { has_vault: true, accounts, ..Stored::default() }
}

#[test]
fn a_new_snapshot_updates_each_account_and_clears_the_last_error() {
    let kraken_down = Error::Timeout { exchange: ExchangeId::Kraken };
    let outcome = RefreshResult {
        snapshot: Some(snapshot_of(&[("b1", Some(ExchangeId::Bitso), None), ("k1", Some(ExchangeId::Kraken), Some(kraken_down))])),
        nonces: BTreeMap::from([("b1".to_owned(), StoredNonce(7)), ("gone".to_owned(), StoredNonce(9))]),
        price_errors: vec![ErrorView::of(ErrorCode::Offline)],
        ..RefreshResult::default()
    };
    let settled = settle(outcome, stored(vec![account("b1", ExchangeId::Bitso), account("k1", ExchangeId::Kraken)]), NOW);
    let accounts = settled.update.accounts.unwrap_or_default();
    assert_eq!(accounts.iter().map(|a| (a.status, a.last_sync)).collect::<Vec<_>>(), [(AccountStatus::Active, Some(NOW)), (AccountStatus::Error, Some(NOW))]);
    assert_eq!(accounts[1].error.as_ref().map(|e| e.code), Some(ErrorCode::Timeout));
    assert_eq!(settled.update.nonces.keys().collect::<Vec<_>>(), ["b1"], "an account removed meanwhile keeps no nonce");
    assert_eq!(settled.update.last_error, Some(None));
    assert_eq!(settled.update.snapshot.map(|s| s.price_errors.len()), Some(1));
    assert!(settled.reply.ok && settled.record && settled.observed.is_some());
}

#[test]
fn no_snapshot_marks_imported_accounts_failing_and_keeps_the_last_good_numbers() {
    let mut paused = account("k1", ExchangeId::Kraken);
    paused.import_balance = false;
    let previous = snapshot_of(&[("b1", Some(ExchangeId::Bitso), None)]);
    let outcome = RefreshResult { error: Some(ErrorView::of(ErrorCode::Offline)), ..RefreshResult::default() };
    let settled = settle(outcome, Stored { snapshot: Some(previous), ..stored(vec![account("b1", ExchangeId::Bitso), paused]) }, NOW);
    let accounts = settled.update.accounts.unwrap_or_default();
    assert_eq!(accounts.iter().map(|a| a.status).collect::<Vec<_>>(), [AccountStatus::Error, AccountStatus::Active]);
    assert_eq!(settled.update.snapshot, None, "the stored snapshot stays");
    assert_eq!(settled.update.last_error.flatten().map(|last| (last.error.code, last.at)), Some((ErrorCode::Offline, NOW)));
    assert!(!settled.reply.ok && !settled.record);
    let observed = settled.observed.unwrap_or_default();
    assert!(observed.accounts.iter().all(|a| a.error.as_ref().map(|e| e.code) == Some(ErrorCode::Offline)), "alerts hear of it");
}

#[test]
fn numbers_for_an_account_removed_meanwhile_or_a_reset_vault_are_void() {
    let outcome = || RefreshResult {
        snapshot: Some(snapshot_of(&[("b1", Some(ExchangeId::Bitso), None)])),
        nonces: BTreeMap::from([("b1".to_owned(), StoredNonce(7))]),
        ..RefreshResult::default()
    };
    let removed = settle(outcome(), stored(Vec::new()), NOW);
    assert_eq!((removed.update.snapshot.is_none(), removed.update.accounts.is_none(), removed.record), (true, true, false));
    assert!(removed.update.nonces.is_empty());
    let reset = settle(outcome(), Stored { has_vault: false, ..stored(vec![account("b1", ExchangeId::Bitso)]) }, NOW);
    assert!(reset.update.snapshot.is_none() && reset.reply.ok);
    // Typed-in holdings' entries are known by their portfolio.
    let manual = RefreshResult { snapshot: Some(snapshot_of(&[(&manual_entry_id(DEFAULT_PORTFOLIO), None, None)])), ..RefreshResult::default() };
    assert!(settle(manual, Stored { has_vault: false, ..Stored::default() }, NOW).record);
}

#[test]
fn a_prices_only_snapshot_keeps_each_accounts_status_and_error() {
    let mut failing = account("k1", ExchangeId::Kraken);
    failing.status = AccountStatus::Error;
    failing.error = Some(ErrorView::new(&Error::InvalidCredentials { exchange: ExchangeId::Kraken }, NOW - 1));
    let mut snapshot = snapshot_of(&[("k1", Some(ExchangeId::Kraken), None)]);
    snapshot.prices_only = true;
    let portfolios = BTreeMap::from([("main".to_owned(), snapshot.clone())]);
    let settled = settle(RefreshResult { snapshot: Some(snapshot), portfolios, ..RefreshResult::default() }, stored(vec![failing.clone()]), NOW);
    assert_eq!(settled.update.accounts, None, "nothing was learnt about the accounts");
    assert!(settled.record);
    // The snapshot says so too: the popup and the "account failing" alert still see the error.
    let observed = settled.observed.map(|snapshot| snapshot.accounts[0].error.clone());
    assert_eq!(observed, Some(failing.error.clone()));
    let in_portfolio = settled.update.portfolio_snapshots.and_then(|each| each.get("main").map(|s| s.accounts[0].error.clone()));
    assert_eq!(in_portfolio, Some(failing.error));
}

#[test]
fn lockouts_are_kept_only_while_ahead_and_believable() {
    let mut lockouts = ExchangeMap::new();
    lockouts.insert(ExchangeId::Bitso, NOW + 60_000);
    lockouts.insert(ExchangeId::Kraken, NOW - 1);
    lockouts.insert(ExchangeId::Coinbase, NOW + crate::error::MAX_RETRY_AFTER_MS + 1);
    // Binance bans an IP for up to three days: such a wait is believable there, and only there.
    lockouts.insert(ExchangeId::Binance, NOW + 2 * 24 * 3_600_000);
    let current = current_lockouts(&lockouts, NOW);
    assert_eq!(current.iter().collect::<Vec<_>>(), [(ExchangeId::Bitso, &(NOW + 60_000)), (ExchangeId::Binance, &(NOW + 2 * 24 * 3_600_000))]);
}

#[test]
fn a_cancelled_refresh_keeps_only_its_nonces_and_limits() {
    let outcome = RefreshResult {
        error: Some(ErrorView::of(ErrorCode::Cancelled)),
        nonces: BTreeMap::from([("b1".to_owned(), StoredNonce(9))]),
        ..RefreshResult::default()
    };
    let settled = settle(outcome, stored(vec![account("b1", ExchangeId::Bitso)]), NOW);
    assert_eq!(settled.update.nonces.get("b1"), Some(&StoredNonce(9)));
    assert_eq!((settled.update.accounts, settled.update.last_error, settled.update.snapshot), (None, None, None));
    assert!(!settled.reply.ok && !settled.record && settled.observed.is_none());
}

#[test]
fn a_key_checked_again_records_what_it_may_do_and_when() {
    let widened = KeyScope { withdraw: true, ..KeyScope::default() };
    let outcome = RefreshResult {
        snapshot: Some(snapshot_of(&[("b1", Some(ExchangeId::Binance), None)])),
        scopes: BTreeMap::from([("b1".to_owned(), widened)]),
        ..RefreshResult::default()
    };
    let mut checked = account("b1", ExchangeId::Binance);
    checked.scope = Some(KeyScope::default());
    checked.scope_checked_at = Some(NOW - 2 * 86_400_000);
    let settled = settle(outcome, stored(vec![checked]), NOW);
    let account = settled.update.accounts.unwrap_or_default().remove(0);
    assert_eq!((account.scope, account.scope_checked_at), (Some(widened), Some(NOW)));
    assert!(!account.scope.is_some_and(|scope| scope.is_read_only()), "now marked not read-only");
}
