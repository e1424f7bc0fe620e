use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::entropy::testing::CountingEntropy;
use crate::sealing::NONCE_LEN;

const BITSO: ExchangeId = ExchangeId::Bitso;

fn on_bitso(_: &str) -> Option<ExchangeId> {
    Some(BITSO)
}

const PASSPHRASE: &str = "correct horse battery staple";
const OTHER_PASSPHRASE: &str = "tres tristes tigres comen trigo";

fn ok<T>(result: Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("unexpected error: {e:?}"))
}

fn pass(text: &str) -> Passphrase {
    Passphrase::normalizing(text)
}

fn creds(api_key: &str, api_secret: &str) -> Credentials {
    ok(Credentials::new(api_key, api_secret))
}

/// Gives `budget` bytes, then fails like a broken `crypto.getRandomValues`.
struct FailAfter {
    budget: usize,
    inner: CountingEntropy,
}

impl FailAfter {
    fn new(budget: usize) -> Self {
        Self { budget, inner: CountingEntropy::new(200) }
    }
}

impl Entropy for FailAfter {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        self.budget = self.budget.checked_sub(dest.len()).ok_or(Error::Randomness)?;
        self.inner.fill(dest)
    }
}

/// A minimum-cost vault with accounts `alpha` and `beta`, and its key.
fn fixture() -> (Vault, VaultKey) {
    let mut entropy = CountingEntropy::new(0);
    let (vault, key) = ok(Vault::create(&pass(PASSPHRASE), KdfParams::MINIMUM, &mut entropy));
    let vault =
        ok(vault.seal_account(&key, "alpha", BITSO, &creds("alpha-key", "alpha-secret"), &mut entropy));
    let vault =
        ok(vault.seal_account(&key, "beta", BITSO, &creds("beta-key", "beta-secret"), &mut entropy));
    (vault, key)
}

/// The fixture's JSON text after `edit`.
fn edited(vault: &Vault, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value =
        ok(serde_json::from_str(&vault.to_json()).map_err(|_| Error::WrongPassphrase));
    edit(&mut value);
    value.to_string()
}

/// A named change to a vault's JSON, for the table tests.
type Edit = Box<dyn Fn(&mut Value)>;

/// Flips the lowest bit of byte `index` of a base64 string field.
fn flip(field: &mut Value, index: usize) {
    let mut bytes =
        ok(Base64::decode_vec(field.as_str().unwrap_or_default()).map_err(|_| Error::WrongPassphrase));
    bytes[index] ^= 1;
    *field = Value::String(Base64::encode_string(&bytes));
}

/// Unlocks `text` with the passphrase and opens every account, as the options page would.
fn open_all_with_passphrase(text: &str, passphrase: &str) -> Result<Vec<Credentials>> {
    let vault = Vault::from_json(text)?;
    let key = vault.derive_key(&pass(passphrase))?;
    vault.account_ids().iter().map(|id| vault.open_account(&key, id, BITSO)).collect()
}

/// Opens every account of `text` with a cached key, as the background would.
fn open_all_with_key(text: &str, key: &VaultKey) -> Result<Vec<Credentials>> {
    let vault = Vault::from_json(text)?;
    vault.check_key(key)?;
    vault.account_ids().iter().map(|id| vault.open_account(key, id, BITSO)).collect()
}

// ---- key derivation ----

#[test]
fn default_and_bounds_of_the_kdf_parameters() {
    assert_eq!(
        KdfParams::default(),
        KdfParams { memory_kib: 65_536, iterations: 3, parallelism: 4 }
    );
    assert_eq!(KdfParams::MINIMUM, KdfParams { memory_kib: 19_456, iterations: 2, parallelism: 1 });
    assert_eq!(
        KdfParams::MAXIMUM,
        KdfParams { memory_kib: 1_048_576, iterations: 10, parallelism: 16 }
    );
    assert_eq!(KdfParams::default().check(), Ok(()));
    assert_eq!(KdfParams::MINIMUM.check(), Ok(()));
    assert_eq!(KdfParams::MAXIMUM.check(), Ok(()));
}

#[test]
fn argon2id_known_answer() {
    // python3 -c "import argon2; print(argon2.low_level.hash_secret_raw(b'password', b'somesaltsomesalt', time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, type=argon2.low_level.Type.ID).hex())"
    // (argon2-cffi 25.1.0, the reference C implementation)
    let expected = "2b5dc4054886ec957ef59c73b661c54dd6fb274590b278f657c6d96aac8fa6d1";
    let key = ok(argon2id(b"password", b"somesaltsomesalt", KdfParams::MINIMUM));
    assert_eq!(hex::encode(key.expose()), expected);
}

#[test]
fn header_aad_layout_is_pinned() {
    let salt: [u8; SALT_LEN] = std::array::from_fn(|i| i as u8);
    let header = Header { version: VERSION_2, params: KdfParams::MINIMUM, salt };
    let expected = concat!(
        "636172746572612d7661756c74", // "cartera-vault"
        "02",                         // version
        "00004c00",                   // m = 19456
        "00000002",                   // t = 2
        "00000001",                   // p = 1
        "10",                         // salt length 16
        "000102030405060708090a0b0c0d0e0f",
    );
    assert_eq!(hex::encode(header.aad()), expected);
    let id = ok(AccountId::parse("ab"));
    // id length 2, "ab", exchange length 5, "bitso"
    assert_eq!(
        hex::encode(header.account_aad(&id, Some(ExchangeId::Bitso))),
        format!("{expected}0002616205626974736f")
    );
    // Version 1 bound the id only.
    let v1 = Header { version: VERSION_1, ..header };
    let v1_expected = expected.replacen("636172746572612d7661756c7402", "636172746572612d7661756c7401", 1);
    assert_eq!(hex::encode(v1.account_aad(&id, Some(ExchangeId::Bitso))), format!("{v1_expected}00026162"));
}

// ---- round trip and the pinned vector ----

#[test]
fn round_trip() {
    let (vault, key) = fixture();
    assert_eq!(vault.account_ids(), ["alpha", "beta"]);
    assert_eq!(ok(vault.open_account(&key, "alpha", BITSO)), creds("alpha-key", "alpha-secret"));
    assert_eq!(ok(vault.open_account(&key, "beta", BITSO)), creds("beta-key", "beta-secret"));

    let text = vault.to_json();
    let reread = ok(Vault::from_json(&text));
    assert_eq!(reread, vault);
    assert_eq!(reread.to_json(), text);
    assert_eq!(reread.params(), KdfParams::MINIMUM);
    let key_again = ok(reread.derive_key(&pass(PASSPHRASE)));
    assert_eq!(key_again, key);
    assert_eq!(ok(reread.open_account(&key_again, "beta", BITSO)), creds("beta-key", "beta-secret"));
}

#[test]
fn an_empty_vault_still_detects_a_wrong_passphrase() {
    let (vault, key) =
        ok(Vault::create(&pass(PASSPHRASE), KdfParams::MINIMUM, &mut CountingEntropy::new(9)));
    assert!(vault.account_ids().is_empty());
    assert_eq!(ok(vault.derive_key(&pass(PASSPHRASE))), key);
    assert_eq!(vault.derive_key(&pass(OTHER_PASSPHRASE)).err(), Some(Error::WrongPassphrase));
}

/// The fixed vector: passphrase `PASSPHRASE`, minimum parameters, `CountingEntropy::new(0)`
/// (salt 00..0f, check nonce 10..27, account nonce 28..3f), one Bitso account.
fn pinned_vault() -> Vault {
    let mut entropy = CountingEntropy::new(0);
    let (vault, key) = ok(Vault::create(&pass(PASSPHRASE), KdfParams::MINIMUM, &mut entropy));
    ok(vault.seal_account(&key, "bitso-main", BITSO, &creds("abcdEFGH1234", "s3cr3t-api-secret"), &mut entropy))
}

/// A version 1 vault as Cartera wrote it before accounts were bound to their exchange (the
/// previous `pinned_vault`, same inputs). Checked independently of this crate with the reference
/// Argon2 and libsodium (`pip install argon2-cffi pynacl`):
///
/// ```text
/// key = argon2.low_level.hash_secret_raw(b"correct horse battery staple", bytes(range(16)),
///     time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, type=argon2.low_level.Type.ID)
/// header = b"cartera-vault" + bytes([1]) + struct.pack(">III", 19456, 2, 1) + bytes([16]) + bytes(range(16))
/// nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(check_ct, header, check_nonce, key)
///     == b"cartera vault check v1"
/// ...decrypt(account_ct, header + struct.pack(">H", 10) + b"bitso-main", account_nonce, key)
///     == b"\x00\x0cabcdEFGH1234\x00\x11s3cr3t-api-secret"
/// ```
const PINNED_V1: &str = concat!(
    r#"{"v":1,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODw==","#,
    r#""check":{"nonce":"EBESExQVFhcYGRobHB0eHyAhIiMkJSYn","ct":"llTPZ5wcbzgVmeBD4X2qcHM08hGcRmJlN76OcmEqWkvSjORBfoA="},"#,
    r#""accounts":[{"id":"bitso-main","nonce":"KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/","#,
    r#""ct":"ObwzsyaR/AM3Eb/P5qJpoUK8/0GEAoPOjU3o8nFC6sVNdcu7WNzXSNu2wCjzbVItAw=="}]}"#,
);

/// Generated by `generate_pinned_vectors`, then checked the same way with the version 2 AAD:
///
/// ```text
/// header = b"cartera-vault" + bytes([2]) + struct.pack(">III", 19456, 2, 1) + bytes([16]) + bytes(range(16))
/// ...decrypt(check_ct, header, check_nonce, key) == b"cartera vault check v1"
/// ...decrypt(account_ct, header + struct.pack(">H", 10) + b"bitso-main" + bytes([5]) + b"bitso",
///     account_nonce, key) == b"\x00\x0cabcdEFGH1234\x00\x11s3cr3t-api-secret"
/// ```
const PINNED_V2: &str = concat!(
    r#"{"v":2,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODw==","#,
    r#""check":{"nonce":"EBESExQVFhcYGRobHB0eHyAhIiMkJSYn","ct":"llTPZ5wcbzgVmeBD4X2qcHM08hGcRr3W2YQEfuhgKa7N6ua318Q="},"#,
    r#""accounts":[{"id":"bitso-main","exchange":"bitso","nonce":"KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/","#,
    r#""ct":"ObwzsyaR/AM3Eb/P5qJpoUK8/0GEAoPOjU3o8nFC6sVNhTeroXd02QFyDJb35aUutw=="}]}"#,
);

/// `PINNED_V1` upgraded with `CountingEntropy::new(100)` (check nonce 64..7b, account nonce
/// 7c..93): same salt and key, version 2 AAD. Checked like `PINNED_V2`.
const PINNED_V1_UPGRADED: &str = concat!(
    r#"{"v":2,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODw==","#,
    r#""check":{"nonce":"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7","ct":"vpR1Fg+cpwnth4eXeraRq37qQYbj1cBL2/JREDNt1/djNbI8n+M="},"#,
    r#""accounts":[{"id":"bitso-main","exchange":"bitso","nonce":"fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKT","#,
    r#""ct":"u8X11Yx6E+CuoG2YwCHS8UHeQNIkYVt+Janq9W6tKvifYNVCdym1C44eufogUg8DFg=="}]}"#,
);

/// Generated by `generate_pinned_vectors`, then checked the same way with the version 3 AAD (the
/// passphrase is ASCII, so its NFC form is itself):
///
/// ```text
/// header = b"cartera-vault" + bytes([3]) + struct.pack(">III", 19456, 2, 1) + bytes([16]) + bytes(range(16))
/// ...decrypt(check_ct, header, check_nonce, key) == b"cartera vault check v1"
/// ...decrypt(account_ct, header + struct.pack(">H", 10) + b"bitso-main" + bytes([5]) + b"bitso",
///     account_nonce, key) == b"\x00\x0cabcdEFGH1234\x00\x11s3cr3t-api-secret"
/// ```
const PINNED_V3: &str = concat!(
    r#"{"v":3,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODw==","#,
    r#""check":{"nonce":"EBESExQVFhcYGRobHB0eHyAhIiMkJSYn","ct":"llTPZ5wcbzgVmeBD4X2qcHM08hGcRhhIfEt6iW+X+BDJSOktMQk="},"#,
    r#""accounts":[{"id":"bitso-main","exchange":"bitso","nonce":"KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/","#,
    r#""ct":"ObwzsyaR/AM3Eb/P5qJpoUK8/0GEAoPOjU3o8nFC6sVNA8qTbNVfbbjyiJHuD+47AA=="}]}"#,
);

/// [`pinned_vault`] with a second entry whose credentials carry an API passphrase (as OKX and
/// KuCoin keys do): account nonce 40..57.
fn pinned_vault_with_api_passphrase() -> Vault {
    let mut entropy = CountingEntropy::new(0);
    let (vault, key) = ok(Vault::create(&pass(PASSPHRASE), KdfParams::MINIMUM, &mut entropy));
    let vault = ok(vault.seal_account(&key, "bitso-main", BITSO, &creds("abcdEFGH1234", "s3cr3t-api-secret"), &mut entropy));
    ok(vault.seal_account(&key, "with-passphrase", BITSO, &with_api_passphrase(), &mut entropy))
}

fn with_api_passphrase() -> Credentials {
    ok(creds("okx-key-1234", "0FB6A1C9E2D4").with_passphrase("Api-Passphrase#1"))
}

/// Generated by `generate_pinned_vectors`, then checked the same way as `PINNED_V3`; the new
/// entry's plaintext has the passphrase as a third length-prefixed field:
///
/// ```text
/// ...decrypt(account_ct, header + struct.pack(">H", 15) + b"with-passphrase" + bytes([5]) + b"bitso",
///     account_nonce, key) == b"\x00\x0cokx-key-1234\x00\x0c0FB6A1C9E2D4\x00\x10Api-Passphrase#1"
/// ```
const PINNED_V3_API_PASSPHRASE: &str = concat!(
    r#"{"v":3,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODw==","#,
    r#""check":{"nonce":"EBESExQVFhcYGRobHB0eHyAhIiMkJSYn","ct":"llTPZ5wcbzgVmeBD4X2qcHM08hGcRhhIfEt6iW+X+BDJSOktMQk="},"#,
    r#""accounts":[{"id":"bitso-main","exchange":"bitso","nonce":"KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/","#,
    r#""ct":"ObwzsyaR/AM3Eb/P5qJpoUK8/0GEAoPOjU3o8nFC6sVNA8qTbNVfbbjyiJHuD+47AA=="},"#,
    r#"{"id":"with-passphrase","exchange":"bitso","nonce":"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZX","#,
    r#""ct":"3k63mOX6tXZH1+sVBI+RloW51TBRaQgjB1HP9T1NZbu9+XWZHFtn/LNFIHB54I5wUCNad6fT6ZyDXaGrjpg="}]}"#,
);

#[test]
#[ignore = "prints the pinned vectors; run once with --ignored --nocapture and paste them above"]
fn generate_pinned_vectors() {
    println!("PINNED_V3 {}", pinned_vault().to_json());
    println!("PINNED_V3_API_PASSPHRASE {}", pinned_vault_with_api_passphrase().to_json());
    let v1 = ok(Vault::from_json(PINNED_V1));
    let key = ok(v1.derive_key(&pass(PASSPHRASE)));
    println!("PINNED_V1_UPGRADED {}", ok(v1.upgrade(&key, &on_bitso, &mut CountingEntropy::new(100))).to_json());
}

#[test]
fn pinned_vector_is_stable() {
    assert_eq!(pinned_vault().to_json(), PINNED_V3);
    assert_eq!(pinned_vault_with_api_passphrase().to_json(), PINNED_V3_API_PASSPHRASE);
}

#[test]
fn an_api_passphrase_is_sealed_with_its_key_and_older_entries_have_none() {
    let vault = ok(Vault::from_json(PINNED_V3_API_PASSPHRASE));
    let key = ok(vault.derive_key(&pass(PASSPHRASE)));
    let opened = ok(vault.open_account(&key, "with-passphrase", BITSO));
    assert_eq!(opened, with_api_passphrase());
    assert_eq!(opened.api_passphrase.as_ref().map(|passphrase| passphrase.expose()), Some("Api-Passphrase#1"));
    assert_eq!(ok(vault.open_account(&key, "bitso-main", BITSO)).api_passphrase, None);
    // The entry without one is the very entry earlier versions wrote.
    let entry = |text: &str| -> Value { serde_json::from_str::<Value>(text).unwrap_or_default()["accounts"][0].clone() };
    assert_eq!(entry(PINNED_V3_API_PASSPHRASE), entry(PINNED_V3));
}

#[test]
fn pinned_vectors_open() {
    for text in [PINNED_V1, PINNED_V2, PINNED_V1_UPGRADED, PINNED_V3] {
        let vault = ok(Vault::from_json(text));
        let key = ok(vault.derive_key(&pass(PASSPHRASE)));
        assert_eq!(ok(vault.open_account(&key, "bitso-main", BITSO)), creds("abcdEFGH1234", "s3cr3t-api-secret"));
    }
}

#[test]
fn a_version_1_vault_upgrades_under_the_same_key() {
    let v1 = ok(Vault::from_json(PINNED_V1));
    assert_eq!(v1.version(), 1);
    let key = ok(v1.derive_key(&pass(PASSPHRASE)));
    // Writing needs the current format first.
    assert_eq!(
        v1.seal_account(&key, "other", BITSO, &creds("k", "s"), &mut CountingEntropy::new(1)).err(),
        Some(Error::InvalidInput { field: "vault" })
    );
    let upgraded = ok(v1.upgrade(&key, &on_bitso, &mut CountingEntropy::new(100)));
    assert_eq!(upgraded.to_json(), PINNED_V1_UPGRADED);
    assert_eq!(upgraded.version(), 2);
    assert_eq!(upgraded.check_key(&key), Ok(()), "the cached key keeps working");
    assert_eq!(ok(upgraded.derive_key(&pass(PASSPHRASE))), key);
    // Upgrading again changes nothing; an account the list does not know cannot be bound.
    assert_eq!(ok(upgraded.upgrade(&key, &on_bitso, &mut CountingEntropy::new(1))), upgraded);
    assert_eq!(
        v1.upgrade(&key, &|_| None, &mut CountingEntropy::new(1)).err(),
        Some(Error::InvalidInput { field: "exchange" })
    );
    // A version 1 vault's passphrase change writes the current version.
    let (changed, new_key) = ok(v1.change_passphrase(&pass(PASSPHRASE), &pass(OTHER_PASSPHRASE), &on_bitso, &mut CountingEntropy::new(7)));
    assert_eq!(changed.version(), 3);
    assert_eq!(ok(changed.open_account(&new_key, "bitso-main", BITSO)), creds("abcdEFGH1234", "s3cr3t-api-secret"));
}

// ---- passphrases in NFC ----

/// "Café con leche, dos tazas" with its "é" as `e` + U+0301 (as some keyboards send it), and
/// composed (U+00E9, as NFC has it).
const DECOMPOSED: &str = "Cafe\u{301} con leche, dos tazas";
const COMPOSED: &str = "Caf\u{e9} con leche, dos tazas";

/// A version 2 vault (passphrase stretched as typed) for `passphrase`, with the fixture's two
/// accounts, as Cartera wrote it before passphrases were normalised.
fn version_2_vault(passphrase: &str) -> (Vault, VaultKey) {
    let (current, current_key) = fixture();
    let header = Header { version: VERSION_2, ..current.header.clone() };
    let key = ok(header.derive(&pass(passphrase)));
    let vault = ok(current.reseal(&current_key, header, &key, &|_| None, &mut CountingEntropy::new(50)));
    (vault, key)
}

#[test]
fn a_new_vault_opens_however_the_passphrase_was_composed() {
    let (vault, key) = ok(Vault::create(&pass(DECOMPOSED), KdfParams::MINIMUM, &mut CountingEntropy::new(3)));
    assert_eq!(vault.version(), 3);
    assert_eq!(ok(vault.derive_key(&pass(COMPOSED))), key);
    assert_eq!(ok(vault.derive_key(&pass(DECOMPOSED))), key);
    // A passphrase change stretches the new one in NFC as well.
    let (changed, new_key) = ok(vault.change_passphrase(&pass(COMPOSED), &pass(DECOMPOSED), &on_bitso, &mut CountingEntropy::new(4)));
    assert_eq!(ok(changed.derive_key(&pass(COMPOSED))), new_key);
}

#[test]
fn a_version_2_vault_opens_only_as_typed_until_it_is_normalised() {
    let (v2, v2_key) = version_2_vault(DECOMPOSED);
    assert_eq!(ok(v2.derive_key(&pass(DECOMPOSED))), v2_key);
    assert_eq!(v2.derive_key(&pass(COMPOSED)).err(), Some(Error::WrongPassphrase), "the trouble version 3 ends");

    let (key, copy) = ok(v2.normalize(&pass(DECOMPOSED), &mut CountingEntropy::new(200)));
    assert_eq!(key, v2_key, "the key that opens the stored vault");
    let Some((v3, v3_key)) = copy else { panic!("a version 2 vault is moved on") };
    assert_eq!(v3.version(), 3);
    assert_ne!(v3_key, v2_key, "the passphrase was not in NFC: a new key");
    assert_ne!(v3.header.salt, v2.header.salt, "under a new salt");
    assert_eq!(v3.params(), KdfParams::default(), "and the current parameters");
    assert_eq!(ok(v3.derive_key(&pass(COMPOSED))), v3_key);
    assert_eq!(ok(v3.derive_key(&pass(DECOMPOSED))), v3_key);
    assert_eq!(v3.account_ids(), v2.account_ids());
    assert_eq!(ok(v3.open_account(&v3_key, "alpha", BITSO)), creds("alpha-key", "alpha-secret"));
    assert_eq!(ok(v3.open_account(&v3_key, "beta", BITSO)), creds("beta-key", "beta-secret"));
    // A wrong passphrase changes nothing.
    assert_eq!(v2.normalize(&pass(OTHER_PASSPHRASE), &mut CountingEntropy::new(1)).err(), Some(Error::WrongPassphrase));
}

#[test]
fn a_version_2_vault_with_a_passphrase_already_in_nfc_keeps_its_key() {
    let v2 = ok(Vault::from_json(PINNED_V2));
    let (key, copy) = ok(v2.normalize(&pass(PASSPHRASE), &mut CountingEntropy::new(100)));
    let Some((v3, v3_key)) = copy else { panic!("a version 2 vault is moved on") };
    assert_eq!(v3_key, key, "a key cached elsewhere keeps working");
    assert_eq!(v3.version(), 3);
    assert_eq!((v3.header.salt, v3.params()), (v2.header.salt, v2.params()));
    assert_eq!(ok(v3.open_account(&key, "bitso-main", BITSO)), creds("abcdEFGH1234", "s3cr3t-api-secret"));
    // Version 3 and version 1 have nothing to move on (version 1 goes to 2 first, by key).
    assert!(ok(v3.normalize(&pass(PASSPHRASE), &mut CountingEntropy::new(1))).1.is_none());
    assert!(ok(ok(Vault::from_json(PINNED_V1)).normalize(&pass(PASSPHRASE), &mut CountingEntropy::new(1))).1.is_none());
}

#[test]
fn an_entry_opens_only_for_its_exchange() {
    let (vault, key) = fixture();
    // Asked for another exchange than it was sealed for: refused before decrypting.
    assert_eq!(vault.open_account(&key, "alpha", ExchangeId::Kraken).err(), Some(Error::WrongPassphrase));
    // Relabelling the entry in the JSON does not help: the AAD names the exchange it was sealed
    // for, so a Bitso key can never be sent to Kraken's host.
    let relabelled = edited(&vault, |v| v["accounts"][0]["exchange"] = json!("kraken"));
    let reread = ok(Vault::from_json(&relabelled));
    assert_eq!(reread.open_account(&key, "alpha", ExchangeId::Kraken).err(), Some(Error::WrongPassphrase));
    assert_eq!(reread.open_account(&key, "alpha", BITSO).err(), Some(Error::WrongPassphrase));
    // The untouched entry still opens.
    assert_eq!(ok(reread.open_account(&key, "beta", BITSO)), creds("beta-key", "beta-secret"));
}

// ---- failures ----

#[test]
fn wrong_passphrase() {
    let (vault, _) = fixture();
    let text = vault.to_json();
    assert_eq!(
        open_all_with_passphrase(&text, OTHER_PASSPHRASE).err(),
        Some(Error::WrongPassphrase)
    );
    assert_eq!(open_all_with_passphrase(&text, "").err(), Some(Error::WrongPassphrase));
    let wrong_key = VaultKey::from_array([7; 32]);
    assert_eq!(vault.check_key(&wrong_key), Err(Error::WrongPassphrase));
    // A wrong key is reported as such whatever the account id.
    assert_eq!(vault.open_account(&wrong_key, "alpha", BITSO).err(), Some(Error::WrongPassphrase));
    assert_eq!(vault.open_account(&wrong_key, "nobody", BITSO).err(), Some(Error::WrongPassphrase));
}

#[test]
fn any_edit_fails_to_open() {
    let (vault, key) = fixture();
    let edits: Vec<(&str, Edit)> = vec![
        ("ciphertext first byte", Box::new(|v| flip(&mut v["accounts"][0]["ct"], 0))),
        ("ciphertext tag byte", Box::new(|v| flip(&mut v["accounts"][0]["ct"], 25))),
        ("nonce byte", Box::new(|v| flip(&mut v["accounts"][1]["nonce"], 23))),
        ("salt byte", Box::new(|v| flip(&mut v["salt"], 5))),
        ("memory raised", Box::new(|v| v["kdf"]["m"] = json!(19_457))),
        ("passes raised", Box::new(|v| v["kdf"]["t"] = json!(3))),
        ("lanes raised", Box::new(|v| v["kdf"]["p"] = json!(2))),
        ("check nonce byte", Box::new(|v| flip(&mut v["check"]["nonce"], 0))),
        ("check ciphertext byte", Box::new(|v| flip(&mut v["check"]["ct"], 3))),
        (
            "entry copied under another id",
            Box::new(|v| v["accounts"][1]["ct"] = v["accounts"][0]["ct"].clone()),
        ),
        (
            "entry's nonce and ciphertext copied under another id",
            Box::new(|v| {
                v["accounts"][1]["nonce"] = v["accounts"][0]["nonce"].clone();
                v["accounts"][1]["ct"] = v["accounts"][0]["ct"].clone();
            }),
        ),
        ("entry renamed", Box::new(|v| v["accounts"][0]["id"] = json!("gamma"))),
        ("entry's exchange removed", Box::new(|v| {
            if let Some(entry) = v["accounts"][0].as_object_mut() {
                entry.remove("exchange");
            }
        })),
        ("entry's exchange unknown", Box::new(|v| v["accounts"][0]["exchange"] = json!("mtgox"))),
        (
            "ids swapped",
            Box::new(|v| {
                v["accounts"][0]["id"] = json!("beta");
                v["accounts"][1]["id"] = json!("alpha");
            }),
        ),
        (
            "account entry used as the check block",
            Box::new(|v| {
                v["check"]["nonce"] = v["accounts"][0]["nonce"].clone();
                v["check"]["ct"] = v["accounts"][0]["ct"].clone();
            }),
        ),
        (
            "ciphertext truncated",
            Box::new(|v| {
                let mut ct = ok(Base64::decode_vec(v["accounts"][0]["ct"].as_str().unwrap_or_default())
                    .map_err(|_| Error::WrongPassphrase));
                ct.pop();
                v["accounts"][0]["ct"] = json!(Base64::encode_string(&ct));
            }),
        ),
    ];
    for (name, edit) in edits {
        let text = edited(&vault, edit);
        assert_ne!(text, vault.to_json(), "{name}: nothing changed");
        assert_eq!(
            open_all_with_passphrase(&text, PASSPHRASE).err(),
            Some(Error::WrongPassphrase),
            "{name}, with the passphrase"
        );
        assert_eq!(
            open_all_with_key(&text, &key).err(),
            Some(Error::WrongPassphrase),
            "{name}, with the cached key"
        );
    }
}

#[test]
fn unknown_versions_are_unsupported() {
    let (vault, _) = fixture();
    for version in [json!(0), json!(4), json!(255), json!(1u64 << 40)] {
        let text = edited(&vault, |v| v["v"] = version.clone());
        assert_eq!(Vault::from_json(&text).err(), Some(Error::UnsupportedVault), "v = {version}");
    }
}

#[test]
fn weak_parameters_are_refused() {
    let (vault, _) = fixture();
    let weak = [("m", json!(19_455)), ("t", json!(1)), ("p", json!(0)), ("m", json!(0))];
    for (field, value) in weak {
        let text = edited(&vault, |v| v["kdf"][field] = value.clone());
        assert_eq!(
            Vault::from_json(&text).err(),
            Some(Error::WeakKdfParameters),
            "{field} = {value}"
        );
    }
}

#[test]
fn downgrade_is_refused_before_deriving() {
    // A vault that somehow holds t = 1 with the largest memory allowed: if Argon2id ran it would
    // take seconds and a GiB, so a quick WeakKdfParameters shows the floor is checked first.
    let (vault, _) = fixture();
    let mut downgraded = vault.clone();
    downgraded.header.params =
        KdfParams { memory_kib: KdfParams::MAXIMUM.memory_kib, iterations: 1, parallelism: 1 };
    let started = Instant::now();
    assert_eq!(downgraded.derive_key(&pass(PASSPHRASE)).err(), Some(Error::WeakKdfParameters));
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
}

#[test]
fn absurd_parameters_are_refused() {
    let (vault, _) = fixture();
    let absurd = [
        ("m", json!(1_048_577)),
        ("m", json!(u64::from(u32::MAX) + 1)),
        ("t", json!(11)),
        ("t", json!(u32::MAX)),
        ("p", json!(17)),
    ];
    for (field, value) in absurd {
        let text = edited(&vault, |v| v["kdf"][field] = value.clone());
        assert_eq!(
            Vault::from_json(&text).err(),
            Some(Error::UnsupportedVault),
            "{field} = {value}"
        );
    }
}

#[test]
fn malformed_text_reads_as_damaged() {
    let (vault, _) = fixture();
    let mut texts: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("not json", "vault".to_owned()),
        ("truncated", vault.to_json()[..40].to_owned()),
        ("null", "null".to_owned()),
        ("array", "[1]".to_owned()),
        ("no version", "{}".to_owned()),
        ("string version", edited(&vault, |v| v["v"] = json!("1"))),
        ("float version", edited(&vault, |v| v["v"] = json!(1.0))),
        // serde_json's Value cannot hold a member twice: these are edited as text.
        ("salt twice", vault.to_json().replacen(r#","salt":"#, r#","salt":"AAAAAAAAAAAAAAAAAAAAAA==","salt":"#, 1)),
        ("check nonce twice", vault.to_json().replacen(r#""check":{"nonce":"#, r#""check":{"nonce":"x","nonce":"#, 1)),
    ];
    let edits: Vec<(&str, Edit)> = vec![
        (
            "no accounts field",
            Box::new(|v| {
                if let Some(object) = v.as_object_mut() {
                    object.remove("accounts");
                }
            }),
        ),
        ("extra field", Box::new(|v| v["extra"] = json!(true))),
        ("extra kdf field", Box::new(|v| v["kdf"]["s"] = json!(1))),
        ("other algorithm", Box::new(|v| v["kdf"]["alg"] = json!("argon2i"))),
        ("memory as float", Box::new(|v| v["kdf"]["m"] = json!(19_456.5))),
        ("bad base64", Box::new(|v| v["salt"] = json!("!!!!"))),
        ("unpadded base64", Box::new(|v| v["salt"] = json!("AAECAwQFBgcICQoLDA0ODw"))),
        ("non-canonical base64", Box::new(|v| v["salt"] = json!("AAECAwQFBgcICQoLDA0ODx=="))),
        ("short salt", Box::new(|v| v["salt"] = json!(Base64::encode_string(&[0u8; 15])))),
        ("long salt", Box::new(|v| v["salt"] = json!(Base64::encode_string(&[0u8; 17])))),
        ("short nonce", Box::new(|v| v["accounts"][0]["nonce"] = json!(Base64::encode_string(&[0u8; 23])))),
        (
            "ciphertext shorter than a tag",
            Box::new(|v| v["check"]["ct"] = json!(Base64::encode_string(&[0u8; 15]))),
        ),
        ("invalid id", Box::new(|v| v["accounts"][0]["id"] = json!("al pha"))),
        ("duplicate id", Box::new(|v| v["accounts"][1]["id"] = json!("alpha"))),
        ("accounts not a list", Box::new(|v| v["accounts"] = json!({}))),
    ];
    for (name, edit) in edits {
        texts.push((name, edited(&vault, edit)));
    }
    for (name, text) in texts {
        assert_eq!(Vault::from_json(&text).err(), Some(Error::WrongPassphrase), "{name}: {text}");
    }
}

// ---- creating ----

#[test]
fn create_refuses_short_passphrases_and_bad_parameters() {
    let too_short = Error::PassphraseTooShort { min_chars: MIN_PASSPHRASE_CHARS };
    let create = |passphrase: &str, params| {
        Vault::create(&pass(passphrase), params, &mut CountingEntropy::new(0)).err()
    };
    assert_eq!(create("123456789", KdfParams::MINIMUM), Some(too_short.clone()));
    // Nine characters in eleven bytes: characters are what count.
    assert_eq!(create("ñandúñand", KdfParams::MINIMUM), Some(too_short.clone()));
    assert_eq!(create("            ", KdfParams::MINIMUM), Some(too_short));
    let weak = KdfParams { iterations: 1, ..KdfParams::MINIMUM };
    assert_eq!(create(PASSPHRASE, weak), Some(Error::WeakKdfParameters));
    let absurd = KdfParams { parallelism: 17, ..KdfParams::MINIMUM };
    assert_eq!(create(PASSPHRASE, absurd), Some(Error::UnsupportedVault));
    // Exactly ten characters is enough.
    assert!(create("ñandúñandú", KdfParams::MINIMUM).is_none());
}

#[test]
fn create_reports_failing_randomness() {
    for budget in [0, SALT_LEN] {
        let result =
            Vault::create(&pass(PASSPHRASE), KdfParams::MINIMUM, &mut FailAfter::new(budget));
        assert_eq!(result.err(), Some(Error::Randomness), "budget {budget}");
    }
}

#[test]
fn every_seal_draws_a_new_nonce() {
    let (vault, key) = fixture();
    let same = creds("alpha-key", "alpha-secret");
    let again = ok(vault.seal_account(&key, "alpha", BITSO, &same, &mut CountingEntropy::new(100)));
    assert_ne!(again.accounts[0].sealed.nonce, vault.accounts[0].sealed.nonce);
    assert_ne!(again.accounts[0].sealed.ct, vault.accounts[0].sealed.ct);
    assert_eq!(ok(again.open_account(&key, "alpha", BITSO)), same);
}

// ---- accounts ----

#[test]
fn replace_and_remove_return_new_vaults() {
    let (vault, key) = fixture();
    let before = vault.to_json();

    let replaced = ok(vault.seal_account(&key, "alpha", BITSO, &creds("new-key", "new-secret"),
        &mut CountingEntropy::new(100),
    ));
    assert_eq!(replaced.account_ids(), ["alpha", "beta"]);
    assert_eq!(ok(replaced.open_account(&key, "alpha", BITSO)), creds("new-key", "new-secret"));
    assert_eq!(ok(replaced.open_account(&key, "beta", BITSO)), creds("beta-key", "beta-secret"));

    let removed = ok(replaced.remove_account(&key, "alpha"));
    assert_eq!(removed.account_ids(), ["beta"]);
    assert_eq!(removed.open_account(&key, "alpha", BITSO).err(), Some(Error::AccountNotFound));
    assert_eq!(removed.remove_account(&key, "alpha").err(), Some(Error::AccountNotFound));
    let empty = ok(removed.remove_account(&key, "beta"));
    assert!(empty.account_ids().is_empty());
    assert_eq!(
        ok(Vault::from_json(&empty.to_json()).and_then(|v| v.derive_key(&pass(PASSPHRASE)))),
        key
    );

    // The original is untouched by all of it.
    assert_eq!(vault.to_json(), before);
    assert_eq!(ok(vault.open_account(&key, "alpha", BITSO)), creds("alpha-key", "alpha-secret"));
}

#[test]
fn a_wrong_key_changes_nothing() {
    let (vault, _) = fixture();
    let wrong = VaultKey::from_array([1; 32]);
    let entropy = &mut CountingEntropy::new(100);
    assert_eq!(
        vault.seal_account(&wrong, "gamma", BITSO, &creds("k", "s"), entropy).err(),
        Some(Error::WrongPassphrase)
    );
    assert_eq!(vault.remove_account(&wrong, "alpha").err(), Some(Error::WrongPassphrase));
}

#[test]
fn account_ids_are_validated() {
    let (vault, key) = fixture();
    let invalid = Some(Error::InvalidInput { field: "account_id" });
    let long = "a".repeat(MAX_ACCOUNT_ID_CHARS + 1);
    for id in ["", " ", "a b", "a/b", "a.b", "ñ", "a\"b", "a\nb", long.as_str()] {
        let result = vault.seal_account(&key, id, BITSO, &creds("k", "s"), &mut CountingEntropy::new(100));
        assert_eq!(result.err(), invalid, "{id:?}");
    }
    let longest = "Z".repeat(MAX_ACCOUNT_ID_CHARS);
    for id in ["a", "A-z_0", "bitso-1732000000000", longest.as_str()] {
        let sealed =
            ok(vault.seal_account(&key, id, BITSO, &creds("k", "s"), &mut CountingEntropy::new(100)));
        assert_eq!(
            ok(Vault::from_json(&sealed.to_json()).and_then(|v| v.open_account(&key, id, BITSO))),
            creds("k", "s")
        );
    }
}

#[test]
fn credentials_encoding() {
    let credentials = creds("key", "sécret");
    let encoded = ok(encode_credentials(&credentials));
    assert_eq!(encoded.as_slice(), b"\x00\x03key\x00\x07s\xc3\xa9cret");
    assert_eq!(ok(decode_credentials(&encoded)), credentials);
    for damaged in [&b""[..], b"\x00\x03key", b"\x00\x03key\x00\x07s\xc3\xa9cretX", b"\x00\x09key"]
    {
        assert_eq!(decode_credentials(damaged).err(), Some(Error::WrongPassphrase), "{damaged:?}");
    }
    let huge = creds("key", &"s".repeat(usize::from(u16::MAX) + 1));
    assert_eq!(encode_credentials(&huge).err(), Some(Error::InvalidInput { field: "api_secret" }));

    let with_passphrase = ok(creds("key", "sécret").with_passphrase("Pass#1"));
    let encoded = ok(encode_credentials(&with_passphrase));
    assert_eq!(encoded.as_slice(), b"\x00\x03key\x00\x07s\xc3\xa9cret\x00\x06Pass#1");
    assert_eq!(ok(decode_credentials(&encoded)), with_passphrase);
    let damaged: [&[u8]; 4] = [
        b"\x00\x03key\x00\x07s\xc3\xa9cret\x00",
        b"\x00\x03key\x00\x07s\xc3\xa9cret\x00\x07Pass#1",
        b"\x00\x03key\x00\x07s\xc3\xa9cret\x00\x06Pass#1X",
        b"\x00\x03key\x00\x07s\xc3\xa9cret\x00\x00",
    ];
    for damaged in damaged {
        assert_eq!(decode_credentials(damaged).err(), Some(Error::WrongPassphrase), "{damaged:?}");
    }
    let huge = ok(creds("key", "secret").with_passphrase(&"p".repeat(usize::from(u16::MAX) + 1)));
    assert_eq!(encode_credentials(&huge).err(), Some(Error::InvalidInput { field: "api_passphrase" }));
}

// ---- changing the passphrase ----

#[test]
fn change_passphrase_reseals_everything() {
    let (vault, old_key) = fixture();
    let old_text = vault.to_json();
    let (changed, new_key) = ok(vault.change_passphrase(&pass(PASSPHRASE), &pass(OTHER_PASSPHRASE), &on_bitso, &mut CountingEntropy::new(100),
    ));
    let new_text = changed.to_json();

    assert_ne!(changed.header.salt, vault.header.salt);
    assert_ne!(new_key, old_key);
    // The fixture's vault was made with the floor's parameters; a new passphrase takes today's.
    assert_eq!(vault.params(), KdfParams::MINIMUM);
    assert_eq!(changed.params(), KdfParams::default());
    assert_eq!(changed.account_ids(), vault.account_ids());
    for (new, old) in changed.accounts.iter().zip(&vault.accounts) {
        assert_ne!(new.sealed.nonce, old.sealed.nonce);
    }

    // The new passphrase opens the new vault, and gives the key that was returned.
    let opened = ok(open_all_with_passphrase(&new_text, OTHER_PASSPHRASE));
    assert_eq!(opened, [creds("alpha-key", "alpha-secret"), creds("beta-key", "beta-secret")]);
    assert_eq!(
        ok(Vault::from_json(&new_text).and_then(|v| v.derive_key(&pass(OTHER_PASSPHRASE)))),
        new_key
    );
    // The old passphrase and the old key do not.
    assert_eq!(open_all_with_passphrase(&new_text, PASSPHRASE).err(), Some(Error::WrongPassphrase));
    assert_eq!(open_all_with_key(&new_text, &old_key).err(), Some(Error::WrongPassphrase));
    // The old text still opens with the old passphrase.
    assert_eq!(vault.to_json(), old_text);
    assert_eq!(ok(open_all_with_passphrase(&old_text, PASSPHRASE)).len(), 2);
}

#[test]
fn change_passphrase_checks_both_passphrases() {
    let (vault, _) = fixture();
    // The new passphrase is checked before any work or randomness is spent.
    assert_eq!(
        vault.change_passphrase(&pass(PASSPHRASE), &pass("short"), &on_bitso, &mut FailAfter::new(0)).err(),
        Some(Error::PassphraseTooShort { min_chars: MIN_PASSPHRASE_CHARS })
    );
    assert_eq!(
        vault
            .change_passphrase(&pass(OTHER_PASSPHRASE), &pass(OTHER_PASSPHRASE), &on_bitso, &mut FailAfter::new(0)
            )
            .err(),
        Some(Error::WrongPassphrase)
    );
}

#[test]
fn change_interrupted_by_failing_randomness_leaves_the_old_vault() {
    let (vault, key) = fixture();
    let old_text = vault.to_json();
    // Salt, check nonce, first account nonce, then nothing: fails on the fourth draw, as well as
    // on the first, second and third.
    for budget in [0, SALT_LEN, SALT_LEN + NONCE_LEN, SALT_LEN + 2 * NONCE_LEN] {
        let result = vault.change_passphrase(&pass(PASSPHRASE), &pass(OTHER_PASSPHRASE), &on_bitso, &mut FailAfter::new(budget),
        );
        assert_eq!(result.err(), Some(Error::Randomness), "budget {budget}");
    }
    assert_eq!(vault.to_json(), old_text);
    assert_eq!(ok(open_all_with_passphrase(&old_text, PASSPHRASE)).len(), 2);
    assert_eq!(ok(open_all_with_key(&old_text, &key)).len(), 2);
    // With one more nonce it completes.
    let budget = SALT_LEN + 3 * NONCE_LEN;
    assert!(
        vault
            .change_passphrase(&pass(PASSPHRASE), &pass(OTHER_PASSPHRASE), &on_bitso, &mut FailAfter::new(budget)
            )
            .is_ok()
    );
}

// ---- the cached key and Debug ----

#[test]
fn key_text_round_trip() {
    let key = VaultKey::from_array(std::array::from_fn(|i| i as u8));
    let text = encode_key(&key);
    assert_eq!(text.as_str(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    assert_eq!(ok(decode_key(&text)), key);
    let invalid = Some(Error::InvalidInput { field: "vault_key" });
    let too_long = Base64::encode_string(&[0u8; 33]);
    let too_short = Base64::encode_string(&[0u8; 31]);
    let not_base64 = "!".repeat(44);
    let thirty_three_bytes = "A".repeat(44);
    for text in ["", "AAAA", &too_long, &too_short, &not_base64, &thirty_three_bytes] {
        assert_eq!(decode_key(text).err(), invalid, "{text:?}");
    }
}

#[test]
fn debug_shows_ids_and_parameters_only() {
    let (vault, key) = fixture();
    let printed = format!("{vault:?}");
    assert_eq!(
        printed,
        "Vault { version: 3, params: KdfParams { memory_kib: 19456, iterations: 2, parallelism: 1 }, \
         accounts: [\"alpha\", \"beta\"], .. }"
    );
    assert_eq!(format!("{key:?}"), "[REDACTED]");
}

#[test]
fn keys_no_account_lists_are_dropped_with_the_key_proven() {
    let mut entropy = CountingEntropy::new(11);
    let (vault, key) = Vault::create(&Passphrase::normalizing("correct horse battery"), KdfParams::MINIMUM, &mut entropy)
        .unwrap_or_else(|e| panic!("{e}"));
    let credentials = Credentials::new("key", "secret").unwrap_or_else(|e| panic!("{e}"));
    let vault = ["kept", "ghost"].into_iter().fold(vault, |vault, id| {
        vault.seal_account(&key, id, ExchangeId::Bitso, &credentials, &mut entropy).unwrap_or_else(|e| panic!("{e}"))
    });
    let listed = |id: &str| id == "kept";
    let repaired = vault.retain_accounts(&key, &listed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(repaired.account_ids(), ["kept"]);
    assert!(repaired.open_account(&key, "kept", ExchangeId::Bitso).is_ok(), "what is kept still opens");
    let wrong = VaultKey::from_slice(&[7u8; 32]).unwrap_or_else(|| panic!("a key"));
    assert_eq!(vault.retain_accounts(&wrong, &listed).map(|_| ()), Err(Error::WrongPassphrase));
}
