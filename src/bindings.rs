//! The JS face of the core: thin `#[wasm_bindgen]` wrappers that convert values, call the core
//! and turn errors into `{ code, message, retryAt? }` objects. No decisions are made here.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{
    entropy::OsEntropy,
    error::{Error, Lang},
    exchange::ExchangeId,
    passphrase::passphrase_hint,
    portfolio::Snapshot,
    refresh::{AccountRef, Engine as CoreEngine, RefreshRequest},
    secret::{Credentials, SecretString},
    transport::FetchTransport,
    vault::{KdfParams, Vault, VaultKey, decode_key, encode_key},
};

/// The error object every failing call throws.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsFailure {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<u64>,
}

fn failure(error: &Error, lang: Lang) -> JsValue {
    let failure = JsFailure {
        code: error.code(),
        message: error.message(lang),
        retry_at: error.retry_after_ms().map(|wait| now_ms().saturating_add(wait)),
    };
    to_js(&failure)
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// Milliseconds since the epoch from the browser's clock (a time, never money).
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SealedVault {
    vault: String,
    vault_key: String,
}

fn sealed(vault: &Vault, key: &VaultKey) -> JsValue {
    to_js(&SealedVault { vault: vault.to_json(), vault_key: encode_key(key).to_string() })
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

#[derive(Serialize)]
struct Hint {
    level: &'static str,
    text: &'static str,
}

/// A plain strength hint for a new passphrase.
#[wasm_bindgen(js_name = passphraseHint)]
pub fn passphrase_hint_js(passphrase: String, lang: &str) -> JsValue {
    let (level, text) = passphrase_hint(&SecretString::new(passphrase), Lang::from_tag(lang));
    to_js(&Hint { level: level.code(), text })
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
struct RefreshOptions {
    vault: String,
    vault_key: String,
    accounts: Vec<AccountInput>,
    quote: String,
    #[serde(default)]
    previous: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Connection {
    currencies: usize,
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
            Ok(to_js(&Connection { currencies }))
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

    /// Fetches every account and the prices; resolves to a snapshot.
    pub fn refresh(&self, options: JsValue) -> js_sys::Promise {
        let (core, lang) = (Rc::clone(&self.core), self.lang);
        future_to_promise(async move {
            let options: RefreshOptions = serde_wasm_bindgen::from_value(options)
                .map_err(|_| failure(&Error::InvalidInput { field: "refresh" }, lang))?;
            let (vault, key) = open(&options.vault, &options.vault_key).map_err(|e| failure(&e, lang))?;
            let accounts = options
                .accounts
                .into_iter()
                .map(|account| Ok(AccountRef { exchange: exchange_id(&account.exchange)?, id: account.id, label: account.label }))
                .collect::<Result<Vec<_>, Error>>()
                .map_err(|e| failure(&e, lang))?;
            // A snapshot stored by an older version may not parse; it is then simply not reused.
            let previous: Option<Snapshot> = options.previous.and_then(|value| serde_json::from_value(value).ok());
            let request = RefreshRequest {
                vault: &vault,
                key: &key,
                accounts: &accounts,
                quote: &options.quote,
                previous: previous.as_ref(),
                lang,
            };
            let snapshot = core.refresh(request, now_ms(), &mut OsEntropy).await.map_err(|e| failure(&e, lang))?;
            Ok(to_js(&snapshot))
        })
    }
}
