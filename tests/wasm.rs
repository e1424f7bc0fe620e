//! The core compiled to wasm and run in headless Chromium: the vault seals and opens with the
//! shipped Argon2id parameters, and signatures match the native vectors.
#![cfg(target_arch = "wasm32")]

use cartera::{
    entropy::OsEntropy,
    error::Error,
    exchange::{Method, bitso},
    exchange_id::ExchangeId,
    secret::{Credentials, Passphrase, SecretString},
    vault::{KdfParams, Vault, decode_key, encode_key},
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn credentials() -> Credentials {
    Credentials::new("test-key", "bitso_test_secret").unwrap_or_else(|e| panic!("{e}"))
}

#[wasm_bindgen_test]
fn vault_seals_and_opens_with_default_parameters() {
    // ASCII: its NFC form is itself.
    let ascii = |text: &str| Passphrase::new(SecretString::from(text), SecretString::from(text));
    let passphrase = ascii("correct horse battery staple");
    let (vault, key) = Vault::create(&passphrase, KdfParams::default(), &mut OsEntropy).unwrap_or_else(|e| panic!("{e}"));
    let vault = vault
        .seal_account(&key, "personal", ExchangeId::Bitso, &credentials(), &mut OsEntropy)
        .unwrap_or_else(|e| panic!("{e}"));

    // What the extension stores and reads back.
    let stored = vault.to_json();
    let reopened = Vault::from_json(&stored).unwrap_or_else(|e| panic!("{e}"));
    let derived = reopened.derive_key(&passphrase).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(derived, key);
    let session_key = decode_key(&encode_key(&derived)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reopened.open_account(&session_key, "personal", ExchangeId::Bitso), Ok(credentials()));

    assert_eq!(
        reopened.derive_key(&ascii("correct horse battery stapler")),
        Err(Error::WrongPassphrase)
    );
    assert_eq!(stored, reopened.to_json(), "a failed open changes nothing");
}

#[wasm_bindgen_test]
fn bitso_signature_matches_the_native_vector() {
    let request = bitso::signed_request(&credentials(), "1731349200123123456", Method::Get, "/v3/balance/", None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        request.header("Authorization"),
        Some("Bitso test-key:1731349200123123456:9ace657d9ad1f64aaf66b851680545abbcf2865ef5218c595f1872414fcd2ca0")
    );
}
