//! The exchange registry agrees with the extension: every adapter's hosts are the origins the
//! pages request (generated into `extension/shared/core-constants.js`), the manifest's host
//! permissions and the CSP's `connect-src`, and nothing else is there but the news publishers'
//! hosts, which are optional host permissions only.

use std::collections::BTreeSet;

use serde_json::Value;

use super::adapter;
use crate::exchange_id::ExchangeId;

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn adapter_hosts() -> BTreeSet<String> {
    ExchangeId::ALL.iter().flat_map(|&id| adapter(id).hosts().iter().map(|host| (*host).to_owned())).collect()
}

#[test]
fn every_adapter_names_itself() {
    for id in ExchangeId::ALL {
        assert_eq!(adapter(id).id(), id);
        assert!(!adapter(id).hosts().is_empty());
    }
}

#[test]
fn the_pages_take_their_exchanges_from_the_generated_module() {
    // The module itself is checked against the adapters by `pages::tests`.
    let registry = read("extension/shared/exchanges.js");
    assert!(registry.contains("export { EXCHANGE_IDS, EXCHANGES, PRICE_BRIDGES } from './core-constants.js';"), "{registry}");
    assert!(!registry.contains("origins: ["), "no list of its own");
}

#[test]
fn the_manifest_permits_and_the_csp_connects_to_exactly_the_adapters_hosts() {
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap_or_else(|e| panic!("{e}"));
    let permitted: BTreeSet<String> = manifest["host_permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|origin| origin.trim_start_matches("https://").trim_end_matches("/*").to_owned())
        .collect();
    assert_eq!(permitted, adapter_hosts());
    let csp = manifest["content_security_policy"]["extension_pages"].as_str().unwrap_or_default();
    let connect = csp.split(';').map(str::trim).find_map(|directive| directive.strip_prefix("connect-src ")).unwrap_or("");
    let sources: BTreeSet<String> = connect.split_whitespace().map(|s| s.trim_start_matches("https://").to_owned()).collect();
    let mut expected = adapter_hosts();
    expected.extend(news_hosts());
    expected.insert("'self'".to_owned());
    assert_eq!(sources, expected);
}

fn news_hosts() -> BTreeSet<String> {
    crate::news::publishers::PUBLISHERS.iter().map(|publisher| publisher.host().to_owned()).collect()
}

#[test]
fn news_hosts_are_optional_and_asked_for_one_by_one() {
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap_or_else(|e| panic!("{e}"));
    let optional: Vec<&str> = manifest["optional_host_permissions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let expected: Vec<String> = crate::news::publishers::PUBLISHERS.iter().map(|publisher| publisher.origin()).collect();
    assert_eq!(optional, expected);
    assert!(manifest["optional_permissions"].is_null(), "no other optional permission");
    assert!(news_hosts().is_disjoint(&adapter_hosts()));
}

#[test]
fn every_adapters_balances_pass_one_rule() {
    use rust_decimal::Decimal;

    use super::{Balance, merge_balances};
    use crate::error::Error;

    let balance = |currency: &str, total: i64| Balance::available(currency, Decimal::from(total));
    let merged = merge_balances(ExchangeId::Bitso, [balance("BTC", 1), balance("btc", 2), balance("eth", 0)]);
    assert_eq!(merged, Ok(vec![balance("btc", 3)]), "codes made lowercase and summed; zeros dropped");
    let malformed = Err(Error::MalformedResponse { exchange: ExchangeId::Bitso });
    for refused in [balance("btc", -1), balance("b\u{202e}tc", 1), balance("", 1), balance("usdt.e", 1), balance(&"x".repeat(21), 1)] {
        assert_eq!(merge_balances(ExchangeId::Bitso, [refused.clone()]), malformed, "{refused:?}");
    }
}

#[test]
fn an_api_passphrase_goes_only_to_the_exchanges_that_issue_one() {
    use super::pasted_credentials;
    use crate::error::Error;

    for id in ExchangeId::ALL {
        let exchange = adapter(id);
        // Each exchange's own key shape: a Coinbase key file's name and PEM, a Kraken base64 secret.
        let (key, secret) = match id {
            ExchangeId::Coinbase => continue,
            ExchangeId::Kraken => ("key", "c2VjcmV0"),
            _ => ("key", "secret"),
        };
        let without = pasted_credentials(exchange, key, secret, None);
        let with = pasted_credentials(exchange, key, secret, Some("Passphrase#1"));
        let refused = Err(Error::InvalidInput { field: "api_passphrase" });
        if exchange.key_form().passphrase {
            assert_eq!(without, refused, "{id:?} needs its passphrase");
            let sealed = with.map(|credentials| credentials.api_passphrase.map(|passphrase| passphrase.expose().to_owned()));
            assert_eq!(sealed, Ok(Some("Passphrase#1".to_owned())), "{id:?}");
        } else {
            assert_eq!(without.map(|credentials| credentials.api_passphrase.is_none()), Ok(true), "{id:?}");
            assert_eq!(with, refused, "{id:?} issues no passphrase: none is sealed");
        }
    }
}
