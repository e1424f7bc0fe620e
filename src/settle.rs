//! What a finished refresh changes in storage.
//!
//! A refresh runs without holding storage, so by the time it ends the user may have removed an
//! account, reset the vault or deleted a portfolio. [`settle`] takes the outcome and what storage
//! holds *now*, and decides what to write: the nonces spent and the rate limits seen (always: they
//! were spent and seen whatever else happened), the new snapshots and each account's status, or
//! nothing of the numbers when they are void. The background writes what it returns in one write.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{
    error::{ErrorCode, ErrorView, believable_lockout},
    exchange::KeyScope,
    exchange_id::ExchangeMap,
    nonce::StoredNonce,
    portfolio::Snapshot,
    profile::{Account, AccountStatus, Portfolio, manual_entry_id, portfolio_ids},
};

/// What a refresh produced, as the engine hands it over (and the background hands it back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefreshResult {
    /// Every portfolio together; `None` when every account failed or no prices could be had.
    pub snapshot: Option<Snapshot>,
    /// Each portfolio valued apart, by id.
    pub portfolios: BTreeMap<String, Snapshot>,
    /// Why there is no snapshot.
    pub error: Option<ErrorView>,
    /// The last nonce sent per account id.
    pub nonces: BTreeMap<String, StoredNonce>,
    /// Rate-limit retry times per exchange, ms since the epoch.
    pub lockouts: ExchangeMap<u64>,
    /// Exchanges whose prices could not be fetched.
    pub price_errors: Vec<ErrorView>,
    /// What each key whose permissions were checked again may do now, by account id.
    pub scopes: BTreeMap<String, KeyScope>,
}

/// What storage holds when the refresh ends, as far as settling it is concerned.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stored {
    /// Whether a vault exists.
    pub has_vault: bool,
    /// The account list.
    pub accounts: Vec<Account>,
    /// The portfolios.
    pub portfolios: Vec<Portfolio>,
    /// The last nonce per account id.
    #[serde(deserialize_with = "crate::stored::lenient_map")]
    pub nonces: BTreeMap<String, StoredNonce>,
    /// The last good snapshot.
    #[serde(deserialize_with = "crate::stored::lenient")]
    pub snapshot: Option<Snapshot>,
}

/// The last refresh's error, and when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// The error.
    #[serde(flatten)]
    pub error: ErrorView,
    /// When, ms since the epoch.
    pub at: u64,
}

/// The storage items to write, each only when it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// Every nonce spent, merged into the stored ones.
    pub nonces: BTreeMap<String, StoredNonce>,
    /// Rate limits still ahead.
    pub lockouts: ExchangeMap<u64>,
    /// The accounts with their new status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<Account>>,
    /// The new snapshot of every portfolio together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// The new snapshot of each portfolio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portfolio_snapshots: Option<BTreeMap<String, Snapshot>>,
    /// The last error: set on failure, cleared (`null`) on success, absent when unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<Option<LastError>>,
}

/// What the page that asked for the refresh is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    /// Whether there are new numbers (or the old ones stand, when the new ones were void).
    pub ok: bool,
    /// The snapshot to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// Why there are no new numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settled {
    /// What to write.
    pub update: Update,
    /// What to tell the page.
    pub reply: Reply,
    /// The snapshot alerts are checked against, if any.
    pub observed: Option<Snapshot>,
    /// Whether the new snapshots are history points.
    pub record: bool,
}

/// Rate-limit retry times still ahead and no further than Cartera ever waits: a time further
/// ahead is damage or a clock set back, and must never block refresh.
pub fn current_lockouts(lockouts: &ExchangeMap<u64>, now_ms: u64) -> ExchangeMap<u64> {
    let mut current = lockouts.clone();
    current.retain(|exchange, &retry_at| believable_lockout(exchange, retry_at, now_ms));
    current
}

/// Decides what `outcome` changes in `stored` at time `now_ms`.
pub fn settle(outcome: RefreshResult, stored: Stored, now_ms: u64) -> Settled {
    let accounts = stored.accounts;
    let mut known: BTreeSet<String> = accounts.iter().map(|account| account.id.clone()).collect();
    // Nonces were spent and rate limits seen whether or not there is a snapshot: both are kept.
    let mut nonces = stored.nonces;
    nonces.extend(outcome.nonces.into_iter().filter(|(id, _)| known.contains(id)));
    let mut update = Update { nonces, lockouts: current_lockouts(&outcome.lockouts, now_ms), ..Update::default() };
    known.extend(portfolio_ids(&stored.portfolios).into_iter().map(manual_entry_id));

    // Stopped before it finished: only what it spent and saw is kept.
    if let Some(error) = outcome.error.as_ref().filter(|error| error.code == ErrorCode::Cancelled) {
        return Settled { update, reply: Reply { ok: false, snapshot: None, error: Some(error.clone()) }, observed: None, record: false };
    }

    let Some(mut snapshot) = outcome.snapshot else {
        let error = outcome.error.unwrap_or_else(|| ErrorView::of(ErrorCode::Internal));
        update.last_error = Some(Some(LastError { error: error.clone(), at: now_ms }));
        // The previous snapshot stays: the popup keeps showing the last good numbers, marked stale.
        update.accounts = Some(
            accounts
                .into_iter()
                .map(|account| if account.import_balance { failed(account, &error) } else { account })
                .collect(),
        );
        // Alerts about accounts that stop working still hear of it.
        let observed = stored.snapshot.map(|mut previous| {
            for account in &mut previous.accounts {
                account.error = Some(error.clone());
            }
            previous
        });
        return Settled { update, reply: Reply { ok: false, snapshot: None, error: Some(error) }, observed, record: false };
    };

    // The vault was reset, or an account or portfolio removed, while the request ran: these
    // numbers are void, and the stored ones stand.
    let vault_gone = !stored.has_vault && snapshot.accounts.iter().any(|entry| entry.exchange.is_some());
    if vault_gone || !snapshot.accounts.iter().all(|entry| known.contains(&entry.id)) {
        return Settled { update, reply: Reply { ok: true, snapshot: stored.snapshot, error: None }, observed: None, record: false };
    }

    snapshot.price_errors = outcome.price_errors.clone();
    // A prices-only snapshot (Cartera was locked) learnt nothing about the accounts: each keeps
    // its stored status and error, in the account list and in the snapshot (where the popup and
    // the "account failing" alert read it, so a lock does not make a broken key look mended).
    let prices_only = snapshot.prices_only;
    let mut portfolios = outcome.portfolios;
    if prices_only {
        carry_account_errors(&mut snapshot, &accounts);
        for each in portfolios.values_mut() {
            carry_account_errors(each, &accounts);
        }
    } else {
        let results: BTreeMap<&str, _> = snapshot.accounts.iter().map(|entry| (entry.id.as_str(), entry)).collect();
        update.accounts = Some(
            accounts
                .into_iter()
                .map(|account| match results.get(account.id.as_str()) {
                    Some(result) => {
                        let checked = outcome.scopes.get(&account.id);
                        Account {
                            last_sync: result.synced_at.or(account.last_sync),
                            status: if result.error.is_some() { AccountStatus::Error } else { AccountStatus::Active },
                            error: result.error.clone(),
                            scope: checked.copied().or(account.scope),
                            scope_checked_at: checked.map(|_| now_ms).or(account.scope_checked_at),
                            ..account
                        }
                    }
                    None => account,
                })
                .collect(),
        );
    }
    update.portfolio_snapshots = Some(
        portfolios
            .into_iter()
            .map(|(id, mut each)| {
                each.price_errors = outcome.price_errors.clone();
                (id, each)
            })
            .collect(),
    );
    update.snapshot = Some(snapshot.clone());
    update.last_error = Some(None);
    Settled { update, reply: Reply { ok: true, snapshot: Some(snapshot.clone()), error: None }, observed: Some(snapshot), record: true }
}

/// Each account's stored error, on its entry of `snapshot`.
fn carry_account_errors(snapshot: &mut Snapshot, accounts: &[Account]) {
    for entry in &mut snapshot.accounts {
        if let Some(account) = accounts.iter().find(|account| account.id == entry.id) {
            entry.error.clone_from(&account.error);
        }
    }
}

fn failed(account: Account, error: &ErrorView) -> Account {
    Account { status: AccountStatus::Error, error: Some(error.clone()), ..account }
}

#[cfg(test)]
mod tests;
