//! What the pages need to know of the core, written as a JS module from the core's own
//! definitions: the exchanges and their hosts, the alert kinds, the settings and their choices,
//! the limits and every error code. A page that imports these cannot drift from the core.
//!
//! The module is `extension/shared/core-constants.js`, committed so that `extension/` is the
//! whole source of the extension. A test fails when it differs from [`js_module`]; running the
//! tests with `CARTERA_WRITE_GENERATED=1` writes it anew.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    alerts::{AlertKind, MAX_ALERTS},
    error::{ErrorCode, MAX_RETRY_AFTER_MS},
    exchange::{PRICE_BRIDGES, adapter},
    exchange_id::ExchangeId,
    profile::{AUTO_LOCK_MINUTES, DEFAULT_PORTFOLIO, MAX_MANUAL, MAX_PORTFOLIOS, STORAGE_FORMAT, Settings},
    schedule::INTERVALS_MINUTES,
};

/// Where the module is written, relative to the repository.
pub const MODULE_PATH: &str = "extension/shared/core-constants.js";

/// The module's text.
pub fn js_module() -> String {
    let exchanges: serde_json::Map<String, Value> = ExchangeId::ALL
        .into_iter()
        .map(|exchange| {
            let adapter = adapter(exchange);
            let origins: Vec<String> = adapter.hosts().iter().map(|host| format!("https://{host}/*")).collect();
            let mut entry = json!({ "origins": origins });
            if let (Some(entry), Value::Object(form)) = (entry.as_object_mut(), to_value(&adapter.key_form())) {
                entry.extend(form.into_iter().filter(|(_, value)| value != &Value::Bool(false)));
                if adapter.reads_named_markets() {
                    entry.insert("namedMarkets".into(), Value::Bool(true));
                }
            }
            (exchange.as_str().to_owned(), entry)
        })
        .collect();
    let alert_kinds: Vec<Value> = AlertKind::ALL
        .into_iter()
        .map(|kind| json!({ "kind": kind.as_str(), "asset": kind.has_asset(), "number": kind.number() }))
        .collect();
    let error_codes: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    let publishers: Vec<Value> = crate::news::publishers::PUBLISHERS
        .iter()
        .map(|publisher| {
            let mut entry = to_value(publisher);
            if let Some(entry) = entry.as_object_mut() {
                entry.insert("origin".into(), json!(publisher.origin()));
            }
            entry
        })
        .collect();
    let constants: [(&str, &str, Value); 24] = [
        ("EXCHANGES", "Each exchange by id: the origins its API is reached at, and how its key is asked for.", Value::Object(exchanges)),
        ("EXCHANGE_IDS", "Exchange ids in the order the options page offers them.", to_value(&ExchangeId::ALL)),
        ("PRICE_BRIDGES", "Where a currency no connected exchange trades can be priced from (public prices only).", to_value(&PRICE_BRIDGES)),
        ("ALERT_KINDS", "Each kind of alert, whether it names an asset, and which number it takes.", Value::Array(alert_kinds)),
        ("MAX_ALERTS", "The most alerts kept.", json!(MAX_ALERTS)),
        ("MAX_PORTFOLIOS", "The most portfolios kept.", json!(MAX_PORTFOLIOS)),
        ("MAX_MANUAL", "The most typed-in holdings kept.", json!(MAX_MANUAL)),
        ("DEFAULT_PORTFOLIO", "The portfolio every account starts in.", json!(DEFAULT_PORTFOLIO)),
        ("DEFAULT_SETTINGS", "The settings before the user changes any.", to_value(&Settings::default())),
        ("AUTO_LOCK_MINUTES", "The auto-lock choices, in minutes (0: never).", json!(AUTO_LOCK_MINUTES)),
        ("SYNC_MINUTES", "The automatic sync choices, in minutes (0: off).", json!(INTERVALS_MINUTES)),
        ("MAX_RETRY_WAIT_MS", "The longest wait any rate limit is honoured for.", json!(MAX_RETRY_AFTER_MS)),
        ("STORAGE_FORMAT", "The storage format this version writes (see src/profile.rs).", json!(STORAGE_FORMAT)),
        ("ERROR_CODES", "Every error code a page may show; `error_<code>` in the locale files.", json!(error_codes)),
        ("HISTORY_PREFIX", "The storage keys of the value history start with this.", json!(crate::history::KEY_PREFIX)),
        ("TX_PREFIX", "The storage keys of each account's transactions start with this.", json!(crate::transactions::STORAGE_PREFIX)),
        ("CLOSES_PREFIX", "The storage keys of each market's past daily closes start with this.", json!(crate::price_history::STORAGE_PREFIX)),
        ("TYPED_ID_PREFIX", "Transactions typed in by the user have ids that start with this.", json!(crate::transactions::TYPED_PREFIX)),
        ("MANUAL_ENTRY_PREFIX", "A portfolio's typed-in holdings are the account of this and the portfolio's id.", json!(crate::profile::MANUAL_ENTRY_PREFIX)),
        ("HISTORY_COMPACT_EVERY_MS", "How often the history's tiers are applied.", json!(crate::history::COMPACT_EVERY_MS)),
        ("NEWS_PUBLISHERS", "The news publishers: name, language, feed, and the one origin each needs.", Value::Array(publishers)),
        ("NEWS_MAX_ITEMS", "The most news items kept.", json!(crate::news::MAX_ITEMS)),
        ("NEWS_MAX_FEED_BYTES", "The most bytes of one feed read.", json!(crate::news::MAX_FEED_BYTES)),
        ("NEWS_REFRESH_MINUTES", "How often the chosen feeds are fetched while news is on.", json!(crate::news::REFRESH_MINUTES)),
    ];
    let mut module = String::from("// Generated from the Rust core by src/pages.rs: do not edit; `CARTERA_WRITE_GENERATED=1 cargo test`\n// writes it anew.\n");
    for (name, doc, value) in constants {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        // Marked pure, so a bundle leaves out what a page does not use.
        let value = if value.is_object() || value.is_array() { format!("/* @__PURE__ */ deepFreeze({text})") } else { text };
        module.push_str(&format!("\n/** {doc} */\nexport const {name} = {value};\n"));
    }
    module.push_str(
        "\nfunction deepFreeze(value) {\n  if (value && typeof value === 'object') Object.values(value).forEach(deepFreeze);\n  return Object.freeze(value);\n}\n",
    );
    module
}

fn to_value(value: &impl Serialize) -> Value {
    // Plain data with string keys always converts.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_module_is_what_the_core_says() {
        let path = format!("{}/{MODULE_PATH}", env!("CARGO_MANIFEST_DIR"));
        let expected = js_module();
        if std::env::var_os("CARTERA_WRITE_GENERATED").is_some() {
            std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == expected, "{MODULE_PATH} is out of date: run `CARTERA_WRITE_GENERATED=1 cargo test pages`");
    }
}
