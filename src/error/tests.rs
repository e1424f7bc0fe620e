use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::*;

const EXCHANGE: ExchangeId = ExchangeId::Bitso;

fn every_error() -> Vec<Error> {
    vec![
        Error::InvalidCredentials { exchange: EXCHANGE },
        Error::NonceRejected { exchange: EXCHANGE },
        Error::ApiPassphraseRejected { exchange: EXCHANGE },
        Error::ClockSkew { exchange: EXCHANGE },
        Error::MissingPermission { exchange: EXCHANGE },
        Error::HistoryPermission { exchange: EXCHANGE },
        Error::KeyPermissionOrIp { exchange: EXCHANGE },
        Error::KeyInactive { exchange: EXCHANGE },
        Error::IpNotAllowed { exchange: EXCHANGE },
        Error::AccountRestricted { exchange: EXCHANGE },
        Error::LocationRestricted { exchange: EXCHANGE },
        Error::RateLimited { exchange: EXCHANGE, retry_after_ms: 60_000 },
        Error::IpBanned { exchange: EXCHANGE, retry_after_ms: 3_600_000 },
        Error::ExchangeUnavailable { exchange: EXCHANGE, status: 503 },
        Error::ExchangeRejected { exchange: EXCHANGE, code: "0304".into() },
        Error::MalformedResponse { exchange: EXCHANGE },
        Error::ResponseTooLarge { exchange: EXCHANGE },
        Error::AmountOverflow { exchange: EXCHANGE },
        Error::Timeout { exchange: EXCHANGE },
        Error::Offline { exchange: EXCHANGE },
        Error::WrongPassphrase,
        Error::WeakKdfParameters,
        Error::UnsupportedVault,
        Error::PassphraseTooShort { min_chars: 10 },
        Error::InvalidInput { field: "api_key" },
        Error::PrivateKeyMalformed,
        Error::PrivateKeyPublic,
        Error::PrivateKeyUnsupported,
        Error::AccountNotFound,
        Error::Randomness,
        Error::Cancelled,
        Error::BackupUnreadable,
        Error::BackupNewer,
        Error::BackupWrongPassphrase,
        Error::FeedUnavailable { status: 404 },
        Error::FeedNotAFeed,
        Error::FeedTooLarge,
    ]
}

#[test]
fn codes_are_unique_and_snake_case() {
    let codes: Vec<_> = every_error().iter().map(Error::code).collect();
    assert!(codes.iter().all(|c| c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')));
    let unique: BTreeSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len());
    let names: BTreeSet<_> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(names.len(), ErrorCode::ALL.len(), "every code is spelled once");
    assert!(codes.iter().all(|code| ErrorCode::ALL.contains(code)));
}

#[test]
fn views_carry_parameters_never_prose() {
    let view = ErrorView::new(&Error::RateLimited { exchange: EXCHANGE, retry_after_ms: 1_500 }, 10_000);
    assert_eq!(
        serde_json::to_string(&view).unwrap_or_default(),
        r#"{"code":"rate_limited","exchange":"bitso","retryAt":11500}"#
    );
    let view = ErrorView::new(&Error::ExchangeRejected { exchange: ExchangeId::Kraken, code: "EGeneral".into() }, 0);
    assert_eq!(
        serde_json::to_string(&view).unwrap_or_default(),
        r#"{"code":"exchange_rejected","exchange":"kraken","detail":"EGeneral"}"#
    );
    let view = ErrorView::new(&Error::PassphraseTooShort { min_chars: 10 }, 0);
    assert_eq!(serde_json::to_string(&view).unwrap_or_default(), r#"{"code":"passphrase_too_short","minChars":10}"#);
    let view = ErrorView::new(&Error::InvalidInput { field: "api_secret" }, 0);
    assert_eq!(serde_json::to_string(&view).unwrap_or_default(), r#"{"code":"invalid_input","field":"api_secret"}"#);
}

#[test]
fn unknown_codes_are_sanitised() {
    assert_eq!(sanitize_code("0304"), "0304");
    assert_eq!(sanitize_code("-2010"), "-2010");
    assert_eq!(sanitize_code("EGeneral"), "EGeneral");
    assert_eq!(sanitize_code(""), "unknown");
    assert_eq!(sanitize_code("12345678901234567"), "unknown");
    assert_eq!(sanitize_code("<script>"), "unknown");
    assert_eq!(sanitize_code("a-b"), "unknown");
    assert_eq!(sanitize_code("key: abc"), "unknown");
}

#[test]
fn waits_are_capped() {
    assert_eq!(capped_wait_ms(0), 1_000);
    assert_eq!(capped_wait_ms(58), 58_000);
    assert_eq!(capped_wait_ms(31_536_000), MAX_RETRY_AFTER_MS);
    assert_eq!(capped_wait_ms(u64::MAX), MAX_RETRY_AFTER_MS);
}

/// Which positional substitution each placeholder takes; the pages' `errorText` passes them in
/// this order (extension/shared/ext.js).
const POSITIONS: [(&str, &str); 8] = [
    ("exchange", "$1"),
    ("keys_path", "$2"),
    ("permission", "$3"),
    ("detail", "$4"),
    ("wait", "$5"),
    ("min_chars", "$6"),
    ("field", "$7"),
    ("history_permission", "$8"),
];

/// The placeholders a message may use for `error`, and those it must use.
fn placeholders(error: &Error) -> (BTreeSet<&'static str>, BTreeSet<&'static str>) {
    let view = ErrorView::new(error, 0);
    let mut allowed = BTreeSet::new();
    let mut required = BTreeSet::new();
    if view.exchange.is_some() {
        allowed.extend(["exchange", "keys_path", "permission", "history_permission"]);
    }
    for (present, name) in [
        (view.detail.is_some(), "detail"),
        (view.retry_at.is_some(), "wait"),
        (view.min_chars.is_some(), "min_chars"),
        (view.field.is_some(), "field"),
    ] {
        if present {
            allowed.insert(name);
            // A detail is only worth showing when the exchange refused with its own code, or a
            // feed answered with an HTTP error (there is nothing else to say of it).
            if name != "detail" || matches!(error, Error::ExchangeRejected { .. } | Error::FeedUnavailable { .. }) {
                required.insert(name);
            }
        }
    }
    if matches!(error, Error::MissingPermission { .. }) {
        required.extend(["keys_path", "permission"]);
    }
    if matches!(error, Error::HistoryPermission { .. }) {
        required.extend(["keys_path", "history_permission"]);
    }
    (allowed, required)
}

fn view_has_exchange(error: &Error) -> bool {
    error.exchange().is_some()
}

fn locales() -> BTreeMap<String, Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/extension/_locales");
    let mut locales = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path().join("messages.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lang = path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        locales.insert(lang, json);
    }
    assert!(locales.len() >= 2, "at least two locales");
    locales
}

/// Every code has a sentence in every locale; its placeholders are the error's parameters, at
/// the positions the pages pass them, and the same in every language.
#[test]
fn every_code_has_a_message_in_every_locale_with_matching_placeholders() {
    let locales = locales();
    for error in every_error() {
        let key = format!("error_{}", error.code().as_str());
        let (allowed, required) = placeholders(&error);
        let mut seen_in_first: Option<BTreeSet<String>> = None;
        for (lang, messages) in &locales {
            let entry = &messages[&key];
            let message = entry["message"].as_str().unwrap_or_else(|| panic!("{lang} lacks {key}"));
            assert!(!message.trim().is_empty(), "{lang} {key} is empty");
            let used: BTreeSet<String> = message
                .split('$')
                .skip(1)
                .step_by(2)
                .map(str::to_ascii_lowercase)
                .collect();
            for name in &used {
                assert!(allowed.contains(name.as_str()), "{lang} {key} uses ${name}$, which {} does not have", error.code().as_str());
                let declared = entry["placeholders"][name]["content"].as_str();
                let position = POSITIONS.iter().find(|(p, _)| p == name).map(|(_, pos)| *pos);
                assert_eq!(declared, position, "{lang} {key} declares ${name}$ at the wrong position");
            }
            for name in &required {
                assert!(used.contains(*name), "{lang} {key} must mention ${name}$");
            }
            // The user must always learn which exchange it is about: by name or by its menu path.
            if view_has_exchange(&error) {
                assert!(used.contains("exchange") || used.contains("keys_path"), "{lang} {key} must name the exchange");
            }
            match &seen_in_first {
                None => seen_in_first = Some(used),
                Some(first) => assert_eq!(first, &used, "{lang} {key} uses other placeholders than the first locale"),
            }
        }
    }
}

/// Every field an `InvalidInput` can name, and every exchange, has its words in every locale.
#[test]
fn every_field_and_exchange_has_its_words() {
    let fields = [
        "api_key", "api_secret", "api_passphrase", "label", "quote", "account_id", "vault_key", "exchange", "refresh", "vault",
        "private_key", "key_name", "amount", "asset", "alert", "portfolio", "history", "backup", "news",
    ];
    for (lang, messages) in locales() {
        for field in fields {
            assert!(messages[format!("field_{field}")]["message"].is_string(), "{lang} lacks field_{field}");
        }
        for exchange in ExchangeId::ALL {
            for prefix in ["exchange", "keysPath", "permission"] {
                let key = format!("{prefix}_{}", exchange.as_str());
                assert!(messages[&key]["message"].is_string(), "{lang} lacks {key}");
            }
        }
    }
}

/// The background's own codes are sentences too, in every language.
#[test]
fn every_code_the_pages_may_show_has_a_message() {
    for (lang, messages) in locales() {
        for code in ErrorCode::ALL {
            let key = format!("error_{}", code.as_str());
            assert!(messages[&key]["message"].is_string(), "{lang} lacks {key}");
        }
    }
}

#[test]
fn a_stored_view_reads_back_and_an_unknown_code_reads_as_internal() {
    let view = ErrorView::new(&Error::InvalidInput { field: "amount" }, 0);
    let text = serde_json::to_string(&view).unwrap_or_default();
    assert_eq!(text, r#"{"code":"invalid_input","field":"amount"}"#);
    assert_eq!(serde_json::from_str::<ErrorView>(&text).ok(), Some(view));
    let newer: ErrorView = serde_json::from_str(r#"{"code":"from_a_newer_version","at":5}"#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(newer, ErrorView::of(ErrorCode::Internal));
}
