//! The exchange registry agrees with the extension: every adapter's hosts are the origins the
//! pages request (`extension/shared/exchanges.js`), the manifest's host permissions and the CSP's
//! `connect-src`, and nothing else is there.

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
fn the_pages_registry_lists_each_adapters_hosts() {
    let registry = read("extension/shared/exchanges.js");
    let body = registry.split("EXCHANGES = Object.freeze({").nth(1).and_then(|rest| rest.split("});").next()).unwrap_or("");
    // Entries are `id: { origins: ['…', …], … }`, on one line or several; comments are skipped.
    let code: String = body.lines().map(str::trim).filter(|line| !line.starts_with("//")).collect::<Vec<_>>().join(" ");
    let mut listed = BTreeSet::new();
    for entry in code.split("origins: [").skip(1).zip(code.split("origins: [")) {
        let (list, before) = entry;
        let id = before.rsplit('{').nth(1).and_then(|head| head.trim().trim_end_matches(':').rsplit([' ', ',']).next()).unwrap_or("");
        let exchange = ExchangeId::parse(id).unwrap_or_else(|| panic!("{id:?} is not an exchange the core knows"));
        let origins: BTreeSet<String> = list
            .split(']')
            .next()
            .unwrap_or("")
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(|origin| origin.trim_start_matches("https://").trim_end_matches("/*").to_owned())
            .collect();
        let hosts: BTreeSet<String> = adapter(exchange).hosts().iter().map(|h| (*h).to_owned()).collect();
        assert_eq!(origins, hosts, "{id}");
        listed.insert(exchange);
    }
    assert_eq!(listed, ExchangeId::ALL.into_iter().collect::<BTreeSet<_>>(), "every exchange is offered");
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
    expected.insert("'self'".to_owned());
    assert_eq!(sources, expected);
}
