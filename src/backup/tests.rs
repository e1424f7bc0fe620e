use super::*;
use crate::{entropy::testing::CountingEntropy, exchange_id::ExchangeId, secret::Credentials};

const T0: u64 = 1_796_500_000_000;

fn passphrase() -> Passphrase {
    Passphrase::normalizing("correct horse battery staple 42")
}

/// What `storage.local` holds for one Bitso account (its key sealed under `passphrase()`), two
/// alerts, a history chunk, and what only this device needs.
fn storage() -> String {
    let mut entropy = CountingEntropy::new(5);
    let (vault, key) = Vault::create(&passphrase(), KdfParams::MINIMUM, &mut entropy).unwrap_or_else(|e| panic!("{e}"));
    let credentials = Credentials::new("key", "secret").unwrap_or_else(|e| panic!("{e}"));
    let vault = vault.seal_account(&key, "a1", ExchangeId::Bitso, &credentials, &mut entropy).unwrap_or_else(|e| panic!("{e}"));
    serde_json::json!({
        "formatVersion": 3,
        "vault": vault.to_json(),
        "accounts": [{ "id": "a1", "label": "Mi Bitso", "exchange": "bitso", "portfolio": "main" }],
        "portfolios": [{ "id": "main", "name": "Personal" }],
        "manual": [{ "id": "m1", "portfolio": "main", "asset": "btc", "amount": "0.5", "note": "Ledger" }],
        "alerts": [
            { "id": "x1", "kind": "priceAbove", "asset": "btc", "threshold": "2000000", "currency": "mxn", "paused": false },
            { "id": "x2", "kind": "accountFailing", "currency": "mxn", "paused": false },
        ],
        "hist:d:2026-12-05": r#"{"v":1,"assets":["btc"],"points":[[1796400000000,"mxn",null,"1",["2"],["0.5"]],[1796403600000,"mxn",null,"1",["2"],0]]}"#,
        "settings": { "quote": "mxn" },
        "syncState": { "nextAt": 1, "failures": 0 },
        "lockouts": { "kraken": 5 },
        "historyView": { "currency": "mxn" },
        "whatsNew": { "version": "0.2.0", "dismissed": false },
    })
    .to_string()
}

fn sealed() -> String {
    let contents = contents_of(&storage()).unwrap_or_else(|e| panic!("{e}"));
    seal_with(&contents, &passphrase(), T0, KdfParams::MINIMUM, &mut CountingEntropy::new(9)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_backup_opens_with_its_passphrase_and_holds_what_the_device_kept() {
    let file = sealed();
    let opened = open_backup(&file, &passphrase()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        opened.summary,
        Summary { created_at: T0, accounts: 1, portfolios: 1, manual: 1, alerts: 2, history_points: 2 }
    );
    let restored: serde_json::Value = serde_json::from_str(&opened.storage).unwrap_or_default();
    let original: serde_json::Value = serde_json::from_str(&storage()).unwrap_or_default();
    for key in ["vault", "accounts", "portfolios", "manual", "alerts", "settings", "formatVersion", "hist:d:2026-12-05"] {
        assert_eq!(restored[key], original[key], "{key}");
    }
    for device_only in ["syncState", "lockouts", "historyView", "whatsNew"] {
        assert!(restored.get(device_only).is_none(), "{device_only} stays on the device");
    }
    // Nothing readable without the passphrase: no label, asset or amount in the file.
    for secret in ["Mi Bitso", "Ledger", "2000000", "priceAbove"] {
        assert!(!file.contains(secret), "{secret} is in the file");
    }
}

/// The format, pinned: a file made with the floor's parameters from fixed randomness. A change of
/// the format, its associated data or its key derivation fails this.
#[test]
fn pinned_vector_opens_byte_for_byte() {
    let contents = r#"{"storage":{"settings":{"quote":"usd"}}}"#;
    let file = seal_with(contents, &passphrase(), T0, KdfParams::MINIMUM, &mut CountingEntropy::new(1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file, PINNED);
    let opened = open_backup(PINNED, &passphrase()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.storage, r#"{"settings":{"quote":"usd"}}"#);
    assert_eq!(opened.summary.created_at, T0);
}

const PINNED: &str = concat!(
    r#"{"format":"cartera-backup","v":1,"createdAt":1796500000000,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"#,
    r#""salt":"AQIDBAUGBwgJCgsMDQ4PEA==","nonce":"ERITFBUWFxgZGhscHR4fICEiIyQlJico","#,
    r#""ct":"XoPP5WFUY61ULBiA9hdBPDPmM7sMBe+ePio4nahWn21xN73lOiPg8pIUbpb5RulaA20dp0I5l0U="}"#
);

#[test]
fn the_wrong_passphrase_a_newer_file_and_other_files_each_say_so() {
    let file = sealed();
    assert_eq!(open_backup(&file, &Passphrase::normalizing("not the passphrase at all")), Err(Error::BackupWrongPassphrase));
    let newer = file.replacen(r#""v":1"#, r#""v":2"#, 1);
    assert_eq!(open_backup(&newer, &passphrase()), Err(Error::BackupNewer));
    for other in ["", "{}", "[]", "not json", r#"{"format":"cartera-backup"}"#, r#"{"v":1,"vault":"x"}"#, &storage()] {
        assert_eq!(open_backup(other, &passphrase()), Err(Error::BackupUnreadable), "{other:.40}");
    }
    // Contents in a storage format newer than this version's.
    let newer_storage = storage().replace(r#""formatVersion":3"#, r#""formatVersion":99"#);
    let contents = contents_of(&newer_storage).unwrap_or_else(|e| panic!("{e}"));
    let file = seal_with(&contents, &passphrase(), T0, KdfParams::MINIMUM, &mut CountingEntropy::new(3)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(open_backup(&file, &passphrase()), Err(Error::BackupNewer));
}

/// Every byte changed, and every length cut short, is refused: nothing of a damaged file is ever
/// restored. (Changes that leave the key's inputs alone reuse the key, so the test runs fast.)
#[test]
fn a_change_at_any_byte_or_a_cut_at_any_length_is_refused() {
    let file = sealed();
    let original = Parsed::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let key = original.key(&passphrase()).unwrap_or_else(|e| panic!("{e}"));
    let same_key_inputs = |parsed: &Parsed| parsed.salt == original.salt && parsed.params == original.params;
    let refused = |text: &str| match Parsed::read(text) {
        Err(_) => true,
        Ok(parsed) if same_key_inputs(&parsed) => parsed.open(&key).is_err(),
        Ok(parsed) => parsed.key(&passphrase()).and_then(|key| parsed.open(&key)).is_err(),
    };
    let bytes = file.as_bytes();
    for at in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[at] ^= if changed[at].is_ascii_digit() { 0x01 } else { 0x20 };
        let Ok(changed) = String::from_utf8(changed) else { continue };
        if changed == file {
            continue;
        }
        assert!(refused(&changed), "byte {at} changed: {changed}");
    }
    for length in 0..file.len() {
        assert!(refused(&file[..length]), "cut at {length}");
    }
    assert!(!refused(&file));
}

#[test]
fn a_restore_refuses_accounts_the_vault_does_not_hold() {
    let mut items: serde_json::Value = serde_json::from_str(&storage()).unwrap_or_default();
    items["accounts"] = serde_json::json!([]);
    assert_eq!(check_storage(&items.to_string()), Err(Error::BackupUnreadable));
    items["vault"] = serde_json::Value::Null;
    assert_eq!(check_storage(&items.to_string()).map(|summary| summary.accounts), Ok(0), "no vault and no account");
}

/// A backup made on a system that sends "é" as one character opens on one that sends e + U+0301.
#[test]
fn a_backup_opens_however_the_passphrase_was_composed() {
    let composed = Passphrase::normalizing("Caf\u{e9} con leche, dos tazas");
    let decomposed = Passphrase::normalizing("Cafe\u{301} con leche, dos tazas");
    let contents = contents_of(&storage()).unwrap_or_else(|e| panic!("{e}"));
    let file = seal_with(&contents, &composed, T0, KdfParams::MINIMUM, &mut CountingEntropy::new(9)).unwrap_or_else(|e| panic!("{e}"));
    assert!(open_backup(&file, &decomposed).is_ok());
}
