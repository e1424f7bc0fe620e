//! The JS face of the core: thin `#[wasm_bindgen]` wrappers that convert values, call the core
//! and turn errors into `{ code, message, retryAt? }` objects. No decisions are made here.
//!
//! Small results are built as plain JS objects; the snapshot crosses as JSON text (the form it
//! is stored in), so one serializer serves both and the module carries no second one.

use std::rc::Rc;

use js_sys::{Object, Reflect};
use serde::Deserialize;
use serde_json::value::RawValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{
    entropy::OsEntropy,
    error::{Error, Lang},
    exchange::ExchangeId,
    passphrase::passphrase_hint,
    portfolio::PreviousSnapshot,
    refresh::{AccountRef, Engine as CoreEngine, RefreshRequest},
    secret::{Credentials, SecretString},
    transport::FetchTransport,
    vault::{KdfParams, Vault, VaultKey, decode_key, encode_key},
};

/// A plain JS object with these properties.
fn object(properties: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in properties {
        // Setting a data property on a fresh ordinary object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

/// The error object every failing call throws: `{ code, message, retryAt? }`.
fn failure(error: &Error, lang: Lang) -> JsValue {
    let mut properties = vec![("code", JsValue::from_str(error.code())), ("message", JsValue::from(error.message(lang)))];
    if let Some(wait_ms) = error.retry_after_ms() {
        let retry_at_ms = now_ms().saturating_add(wait_ms);
        // Epoch milliseconds stay far below 2^53, where a JS number is exact.
        properties.push(("retryAt", JsValue::from_f64(retry_at_ms as f64)));
    }
    object(&properties)
}

/// Milliseconds since the epoch from the browser's clock (a time, never money).
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn sealed(vault: &Vault, key: &VaultKey) -> JsValue {
    object(&[
        ("vault", JsValue::from(vault.to_json())),
        ("vaultKey", JsValue::from_str(&encode_key(key))),
    ])
}

/// Creates an empty vault sealed by `passphrase` (Argon2id runs here, in the calling page).
#[wasm_bindgen(js_name = createVault)]
pub fn create_vault(passphrase: String, lang: &str) -> Result<JsValue, JsValue> {
    let lang = Lang::from_tag(lang);
    let passphrase = SecretString::new(passphrase);
    let (vault, key) =
        Vault::create(&passphrase, KdfParams::default(), &mut OsEntropy).map_err(|e| failure(&e, lang))?;
    Ok(sealed(&vault, &key))
}

/// Derives the vault key from `passphrase`, checking that it opens `vault`.
#[wasm_bindgen(js_name = unlockVault)]
pub fn unlock_vault(vault: &str, passphrase: String, lang: &str) -> Result<String, JsValue> {
    let lang = Lang::from_tag(lang);
    let passphrase = SecretString::new(passphrase);
    let key = Vault::from_json(vault)
        .and_then(|vault| vault.derive_key(&passphrase))
        .map_err(|e| failure(&e, lang))?;
    Ok(encode_key(&key).to_string())
}

/// Re-seals every account under `new_passphrase`; the old vault text is left as it was.
#[wasm_bindgen(js_name = changePassphrase)]
pub fn change_passphrase(vault: &str, old_passphrase: String, new_passphrase: String, lang: &str) -> Result<JsValue, JsValue> {
    let lang = Lang::from_tag(lang);
    let (old, new) = (SecretString::new(old_passphrase), SecretString::new(new_passphrase));
    let (vault, key) = Vault::from_json(vault)
        .and_then(|vault| vault.change_passphrase(&old, &new, &mut OsEntropy))
        .map_err(|e| failure(&e, lang))?;
    Ok(sealed(&vault, &key))
}

/// A plain strength hint for a new passphrase: `{ level, text }`.
#[wasm_bindgen(js_name = passphraseHint)]
pub fn passphrase_hint_js(passphrase: String, lang: &str) -> JsValue {
    let (level, text) = passphrase_hint(&SecretString::new(passphrase), Lang::from_tag(lang));
    object(&[("level", JsValue::from_str(level.code())), ("text", JsValue::from_str(text))])
}

/// The background's engine: nonces, rate-limit memory and all exchange traffic.
#[wasm_bindgen]
pub struct Engine {
    core: Rc<CoreEngine<FetchTransport>>,
    lang: Lang,
}

#[derive(Deserialize)]
struct AccountInput {
    id: String,
    label: String,
    exchange: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshOptions<'a> {
    vault: String,
    vault_key: String,
    accounts: Vec<AccountInput>,
    quote: String,
    #[serde(borrow, default)]
    previous: Option<&'a RawValue>,
}

fn exchange_id(id: &str) -> Result<ExchangeId, Error> {
    ExchangeId::parse(id).ok_or(Error::InvalidInput { field: "exchange" })
}

fn open(vault: &str, vault_key: &str) -> Result<(Vault, VaultKey), Error> {
    let vault = Vault::from_json(vault)?;
    let key = decode_key(vault_key)?;
    vault.check_key(&key)?;
    Ok((vault, key))
}

#[wasm_bindgen]
impl Engine {
    /// An engine whose messages are in `lang` (a BCP 47 tag).
    #[wasm_bindgen(constructor)]
    pub fn new(lang: &str) -> Engine {
        Engine { core: Rc::new(CoreEngine::new(FetchTransport)), lang: Lang::from_tag(lang) }
    }

    /// Changes the language of later messages.
    #[wasm_bindgen(js_name = setLanguage)]
    pub fn set_language(&mut self, lang: &str) {
        self.lang = Lang::from_tag(lang);
    }

    /// Throws `wrong_passphrase` unless `vault_key` opens `vault`.
    #[wasm_bindgen(js_name = checkVaultKey)]
    pub fn check_vault_key(&self, vault: &str, vault_key: &str) -> Result<(), JsValue> {
        open(vault, vault_key).map(|_| ()).map_err(|e| failure(&e, self.lang))
    }

    /// Signs and sends one balance request with unsaved credentials; resolves to
    /// `{ currencies }`.
    #[wasm_bindgen(js_name = testConnection)]
    pub fn test_connection(&self, exchange: &str, api_key: &str, api_secret: String) -> js_sys::Promise {
        let (core, lang) = (Rc::clone(&self.core), self.lang);
        let prepared = exchange_id(exchange).and_then(|exchange| {
            Ok((exchange, Credentials::new(api_key, SecretString::new(api_secret).expose())?))
        });
        future_to_promise(async move {
            let (exchange, credentials) = prepared.map_err(|e| failure(&e, lang))?;
            let currencies = core
                .test_connection(exchange, &credentials, now_ms(), &mut OsEntropy)
                .await
                .map_err(|e| failure(&e, lang))?;
            Ok(object(&[("currencies", JsValue::from(u32::try_from(currencies).unwrap_or(u32::MAX)))]))
        })
    }

    /// Seals credentials into the vault under `account_id` (added or replaced); returns the new
    /// vault text.
    #[wasm_bindgen(js_name = sealAccount)]
    pub fn seal_account(&self, vault: &str, vault_key: &str, account_id: &str, api_key: &str, api_secret: String) -> Result<String, JsValue> {
        let secret = SecretString::new(api_secret);
        open(vault, vault_key)
            .and_then(|(vault, key)| {
                let credentials = Credentials::new(api_key, secret.expose())?;
                vault.seal_account(&key, account_id, &credentials, &mut OsEntropy)
            })
            .map(|vault| vault.to_json())
            .map_err(|e| failure(&e, self.lang))
    }

    /// Removes an account's sealed credentials; returns the new vault text.
    #[wasm_bindgen(js_name = removeAccount)]
    pub fn remove_account(&self, vault: &str, vault_key: &str, account_id: &str) -> Result<String, JsValue> {
        open(vault, vault_key)
            .and_then(|(vault, key)| vault.remove_account(&key, account_id))
            .map(|vault| vault.to_json())
            .map_err(|e| failure(&e, self.lang))
    }

    /// Fetches every account and the prices. Takes the options as JSON text
    /// (`{ vault, vaultKey, accounts: [{ id, label, exchange }], quote, previous }`) and resolves
    /// to the snapshot as JSON text.
    pub fn refresh(&self, options: String) -> js_sys::Promise {
        let (core, lang) = (Rc::clone(&self.core), self.lang);
        future_to_promise(async move {
            let options: RefreshOptions<'_> =
                serde_json::from_str(&options).map_err(|_| failure(&Error::InvalidInput { field: "refresh" }, lang))?;
            let (vault, key) = open(&options.vault, &options.vault_key).map_err(|e| failure(&e, lang))?;
            let accounts = options
                .accounts
                .into_iter()
                .map(|account| Ok(AccountRef { exchange: exchange_id(&account.exchange)?, id: account.id, label: account.label }))
                .collect::<Result<Vec<_>, Error>>()
                .map_err(|e| failure(&e, lang))?;
            // A snapshot stored by an older version may not parse; it is then simply not reused.
            let previous: Option<PreviousSnapshot> =
                options.previous.and_then(|raw| serde_json::from_str(raw.get()).ok());
            let request = RefreshRequest {
                vault: &vault,
                key: &key,
                accounts: &accounts,
                quote: &options.quote,
                previous: previous.as_ref(),
                lang,
            };
            let snapshot = core.refresh(request, now_ms(), &mut OsEntropy).await.map_err(|e| failure(&e, lang))?;
            serde_json::to_string(&snapshot)
                .map(JsValue::from)
                .map_err(|_| failure(&Error::InvalidInput { field: "refresh" }, lang))
        })
    }
}

#[cfg(feature = "bench")]
mod bench {
    use wasm_bindgen::prelude::*;

    use crate::{
        error::Lang,
        exchange::{Balance, Exchange, ExchangeId, HttpResponse, Method, Stamp, Ticker, bitso},
        nonce::NonceGenerator,
        portfolio::{AccountBalances, build_snapshot},
        secret::Credentials,
    };

    fn fail(what: &str) -> JsValue {
        JsValue::from_str(what)
    }

    /// The `Authorization` header value the Bitso adapter signs for this request, with a fixed
    /// 19-digit nonce (13-digit ms timestamp + 6-digit salt, salt ≥ 100000).
    #[wasm_bindgen(js_name = benchSignBitso)]
    pub fn bench_sign_bitso(key: &str, secret: &str, nonce: &str, method: &str, path: &str, body: Option<String>) -> Result<String, JsValue> {
        let value: u64 = nonce.parse().map_err(|_| fail("nonce"))?;
        let salt = u32::try_from(value % 1_000_000).map_err(|_| fail("nonce"))?;
        let nonce = NonceGenerator::new().next(value / 1_000_000, salt.checked_sub(100_000).ok_or_else(|| fail("nonce"))?);
        let method = if method == "POST" { Method::Post } else { Method::Get };
        let credentials = Credentials::new(key, secret).map_err(|_| fail("credentials"))?;
        let request = bitso::signed_request(&credentials, Stamp { now_ms: 0, nonce }, method, path, body.as_deref())
            .map_err(|_| fail("sign"))?;
        request.header("Authorization").map(str::to_owned).ok_or_else(|| fail("header"))
    }

    /// `benchSignBitso` `iterations` times inside wasm (no JS boundary per call); returns the
    /// last header, so the JS side can time the core alone.
    #[wasm_bindgen(js_name = benchSignBitsoRepeat)]
    pub fn bench_sign_bitso_repeat(key: &str, secret: &str, nonce: &str, method: &str, path: &str, iterations: u32) -> Result<String, JsValue> {
        let mut header = String::new();
        for _ in 0..iterations {
            header = std::hint::black_box(bench_sign_bitso(key, secret, nonce, method, path, None)?);
        }
        Ok(header)
    }

    #[derive(serde::Deserialize)]
    struct BenchAccount {
        id: String,
        label: String,
        balances: Vec<Balance>,
    }

    /// The accounts and the tickers both bench calls start from.
    fn parse(accounts_json: &str, tickers_json: &str) -> Result<(Vec<BenchAccount>, Vec<Ticker>), JsValue> {
        let accounts: Vec<BenchAccount> = serde_json::from_str(accounts_json).map_err(|_| fail("accounts"))?;
        let response = HttpResponse { status: 200, body: tickers_json.as_bytes(), retry_after_secs: None };
        let tickers = bitso::Bitso.parse_tickers(response).map_err(|_| fail("tickers"))?;
        Ok((accounts, tickers))
    }

    fn as_inputs(accounts: &[BenchAccount]) -> Vec<AccountBalances<'_>> {
        accounts
            .iter()
            .map(|account| AccountBalances {
                id: &account.id,
                label: &account.label,
                exchange: ExchangeId::Bitso,
                balances: &account.balances,
                synced_at: Some(0),
                error: None,
            })
            .collect()
    }

    /// Values accounts (`[{ id, label, balances: [{ currency, total, available, locked }] }]`)
    /// with a Bitso ticker response body, as `refresh` does; returns the snapshot as JSON text.
    #[wasm_bindgen(js_name = benchValue)]
    pub fn bench_value(accounts_json: &str, tickers_json: &str, quote: &str) -> Result<String, JsValue> {
        let (accounts, tickers) = parse(accounts_json, tickers_json)?;
        let snapshot = build_snapshot(&as_inputs(&accounts), &tickers, quote, 0, Lang::En);
        serde_json::to_string(&snapshot).map_err(|_| fail("snapshot"))
    }

    /// Parses once, then runs `build_snapshot` `iterations` times inside wasm (the valuation
    /// alone, as the native benchmark times it); returns the last snapshot's total.
    #[wasm_bindgen(js_name = benchValueRepeat)]
    pub fn bench_value_repeat(accounts_json: &str, tickers_json: &str, quote: &str, iterations: u32) -> Result<String, JsValue> {
        let (accounts, tickers) = parse(accounts_json, tickers_json)?;
        let inputs = as_inputs(&accounts);
        let mut total = String::new();
        for _ in 0..iterations {
            let snapshot = std::hint::black_box(build_snapshot(&inputs, &tickers, quote, 0, Lang::En));
            total = snapshot.total.normalize().to_string();
        }
        Ok(total)
    }
}
