//! Every format version 0.1.0 stored (`tests/e2e/upgrade/storage-0.1.0.json`, recorded from a
//! session on every exchange) reads with this version's types and is written back as it was; the
//! account list is upgraded (each scope gains its verdict) and nothing else changes.

use std::collections::BTreeMap;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    alerts::{Alert, AlertState},
    exchange_id::ExchangeMap,
    nonce::StoredNonce,
    portfolio::Snapshot,
    profile::{ManualEntry, Portfolio, STORAGE_FORMAT, Settings, StoredSetup, upgrade},
    settle::LastError,
    vault::Vault,
};

fn recorded() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/upgrade/storage-0.1.0.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let recorded: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    recorded["local"].clone()
}

/// `value` read as `T` and written again.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
    let read: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value}"));
    serde_json::to_value(read).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn what_version_0_1_0_stored_reads_and_writes_back_as_it_was() {
    let stored = recorded();
    let vault = stored["vault"].as_str().unwrap_or_default();
    assert_eq!(Vault::from_json(vault).map(|vault| vault.to_json()).as_deref(), Ok(vault), "the vault, byte for byte");
    assert_eq!(round_trip::<Vec<Portfolio>>(&stored["portfolios"]), stored["portfolios"]);
    assert_eq!(round_trip::<Vec<ManualEntry>>(&stored["manual"]), stored["manual"]);
    assert_eq!(round_trip::<Settings>(&stored["settings"]), stored["settings"]);
    assert_eq!(round_trip::<Vec<Alert>>(&stored["alerts"]), stored["alerts"]);
    assert_eq!(round_trip::<BTreeMap<String, AlertState>>(&stored["alertStates"]), stored["alertStates"]);
    assert_eq!(round_trip::<Snapshot>(&stored["snapshot"]), stored["snapshot"]);
    assert_eq!(round_trip::<BTreeMap<String, Snapshot>>(&stored["portfolioSnapshots"]), stored["portfolioSnapshots"]);
    assert_eq!(round_trip::<BTreeMap<String, StoredNonce>>(&stored["nonces"]), stored["nonces"]);
    assert_eq!(round_trip::<ExchangeMap<u64>>(&stored["lockouts"]), stored["lockouts"]);
    assert_eq!(round_trip::<Option<LastError>>(&stored["lastError"]), stored["lastError"]);
}

#[test]
fn version_0_1_0_accounts_are_upgraded_with_nothing_lost() {
    let stored = recorded();
    let setup: StoredSetup = serde_json::from_value(stored.clone()).unwrap_or_else(|e| panic!("{e}"));
    let upgraded = upgrade(setup, "Personal").unwrap_or_else(|| panic!("0.1.0 storage has no format version: it is upgraded"));
    assert_eq!(upgraded.format_version, STORAGE_FORMAT);
    assert_eq!(serde_json::to_value(&upgraded.portfolios).ok(), Some(stored["portfolios"].clone()), "its portfolios are kept");
    let written = serde_json::to_value(&upgraded.accounts).unwrap_or_default();
    let before = stored["accounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(written.as_array().map(Vec::len), Some(before.len()));
    for (now, mut was) in written.as_array().into_iter().flatten().zip(before) {
        // The only change: a scope the exchange reported gains the core's verdict.
        if let Some(scope) = was["scope"].as_object_mut() {
            let can = |flag: &str| scope.get(flag).and_then(Value::as_bool).unwrap_or(true);
            let read_only = !(can("trade") || can("withdraw") || can("transfer"));
            scope.insert("readOnly".to_owned(), Value::Bool(read_only));
        }
        assert_eq!(now, &was);
    }
}
