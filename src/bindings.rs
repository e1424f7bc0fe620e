//! The JS face of the core: thin `#[wasm_bindgen]` wrappers that convert values, call the core
//! and turn errors into `{ code, exchange?, detail?, retryAt?, minChars?, field? }` objects (the
//! pages turn those into sentences from the locale files). No decisions are made here.
//!
//! Small results are built as plain JS objects. Everything that is stored (snapshots, settings,
//! alerts, history, what a refresh changes) crosses as JSON text in the form it is stored in, read
//! and written by the serde types declared beside the code that uses them.
//!
//! Strings that carry key material (passphrases, API secrets, the vault key) are taken as owned
//! `String`s and wiped when dropped: a borrowed `&str` would be copied into wasm memory by the
//! glue and freed without being zeroed.

use std::{
    collections::{BTreeMap, BTreeSet},
    rc::Rc,
};

use js_sys::{Object, Reflect};
use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use crate::{
    alerts::{Alert, AlertState, Observed, evaluate},
    asset::asset_code,
    backup,
    entropy::OsEntropy,
    error::{Error, ErrorView},
    exchange::{DailyClose, adapter, pasted_credentials},
    exchange_id::ExchangeId,
    history::{self, Chunks, DayBefore, Series},
    money::{parse_typed_decimal, to_plain_string},
    news,
    passphrase::passphrase_hint,
    pnl,
    price_history::{self, Routes, Series as PriceSeries},
    portfolio::Snapshot,
    profile::{Settings, SettingsChange, StoredSetup, upgrade},
    refresh::{Engine as CoreEngine, RefreshRequest, StoredInputs, manual_amount},
    schedule,
    secret::{Credentials, Passphrase, SecretString},
    settle::{RefreshResult, Stored, settle},
    transactions::{self, Transaction},
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

/// The error object every failing call throws: the error's code and parameters, as stored.
fn failure(error: &Error) -> JsValue {
    let view = ErrorView::new(error, now_ms());
    serde_json::to_string(&view)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or_else(|| object(&[("code", JsValue::from_str(error.code().as_str()))]))
}

/// JSON text a page or the background sent, read as `T`; `invalid_input` naming `field` when it
/// does not read.
fn read<T: DeserializeOwned>(text: &str, field: &'static str) -> Result<T, JsValue> {
    serde_json::from_str(text).map_err(|_| failure(&Error::InvalidInput { field }))
}

/// `value` as JSON text for the background to store or show.
fn written<T: Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|_| failure(&Error::InvalidInput { field: "refresh" }))
}

/// Milliseconds since the epoch from the browser's clock (a time, never money).
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn sealed(vault: &Vault, key: &VaultKey) -> JsValue {
    object(&[("vault", JsValue::from(vault.to_json())), ("vaultKey", JsValue::from_str(&encode_key(key)))])
}

/// A passphrase from a page, with its NFC form from the browser's `String.prototype.normalize`
/// (see `secret::Passphrase`). The text came from a page's input, so the copy JS holds is no new
/// exposure.
fn passphrase(typed: String) -> Passphrase {
    let nfc = String::from(js_sys::JsString::from(typed.as_str()).normalize("NFC"));
    Passphrase::new(SecretString::new(typed), SecretString::new(nfc))
}

fn exchange_id(id: &str) -> Result<ExchangeId, Error> {
    ExchangeId::parse(id).ok_or(Error::InvalidInput { field: "exchange" })
}

/// Each account's exchange, from `{ "<id>": "<exchange>" }`: what a version 1 vault did not record.
/// Pasted credentials checked for `exchange`, with the key's API passphrase where it has one.
fn pasted(exchange: ExchangeId, api_key: &str, secret: &SecretString, passphrase: Option<&SecretString>) -> Result<Credentials, Error> {
    pasted_credentials(adapter(exchange), api_key, secret.expose(), passphrase.map(SecretString::expose))
}

fn exchanges_of(json: &str) -> Result<BTreeMap<String, ExchangeId>, Error> {
    serde_json::from_str(json).map_err(|_| Error::InvalidInput { field: "exchange" })
}

/// Reads the vault and proves the cached key against it.
fn open(vault: &str, vault_key: &str) -> Result<(Vault, VaultKey), Error> {
    let vault = Vault::from_json(vault)?;
    let key = decode_key(vault_key)?;
    vault.check_key(&key)?;
    Ok((vault, key))
}

/// Creates an empty vault sealed by `passphrase` (Argon2id runs here, in the calling page).
#[wasm_bindgen(js_name = createVault)]
pub fn create_vault(typed: String) -> Result<JsValue, JsValue> {
    let passphrase = passphrase(typed);
    let (vault, key) = Vault::create(&passphrase, KdfParams::default(), &mut OsEntropy).map_err(|e| failure(&e))?;
    Ok(sealed(&vault, &key))
}

/// Derives the vault key from `passphrase`, checking that it opens `vault`.
#[wasm_bindgen(js_name = unlockVault)]
pub fn unlock_vault(vault: &str, typed: String) -> Result<String, JsValue> {
    let passphrase = passphrase(typed);
    let key = Vault::from_json(vault).and_then(|vault| vault.derive_key(&passphrase)).map_err(|e| failure(&e))?;
    Ok(encode_key(&key).to_string())
}

/// Unlocks Cartera with `passphrase` (the popup's Unlock; Argon2id runs here): `{ vaultKey }`,
/// and for a vault from before passphrases were normalised also `{ vault }`, its version 3 copy
/// to store in its place, which `vaultKey` opens (see `Vault::normalize`).
#[wasm_bindgen(js_name = openVault)]
pub fn open_vault(vault: &str, typed: String) -> Result<JsValue, JsValue> {
    let passphrase = passphrase(typed);
    let (key, copy) = Vault::from_json(vault).and_then(|vault| vault.normalize(&passphrase, &mut OsEntropy)).map_err(|e| failure(&e))?;
    Ok(match copy {
        Some((copy, copy_key)) => sealed(&copy, &copy_key),
        None => object(&[("vaultKey", JsValue::from_str(&encode_key(&key)))]),
    })
}

/// Re-seals every account under `new_passphrase` (as format 3, taking a version 1 vault's
/// exchanges from `exchanges_json`); the old vault text is left as it was.
#[wasm_bindgen(js_name = changePassphrase)]
pub fn change_passphrase(vault: &str, old_passphrase: String, new_passphrase: String, exchanges_json: &str) -> Result<JsValue, JsValue> {
    let (old, new) = (passphrase(old_passphrase), passphrase(new_passphrase));
    let exchanges = exchanges_of(exchanges_json).map_err(|e| failure(&e))?;
    let (vault, key) = Vault::from_json(vault)
        .and_then(|vault| vault.change_passphrase(&old, &new, &|id| exchanges.get(id).copied(), &mut OsEntropy))
        .map_err(|e| failure(&e))?;
    Ok(sealed(&vault, &key))
}

/// A plain strength hint for a new passphrase: `{ level, hint }` (`passphraseHint_<hint>` in the
/// locale files).
#[wasm_bindgen(js_name = passphraseHint)]
pub fn passphrase_hint_js(passphrase: String) -> JsValue {
    let (level, hint) = passphrase_hint(&SecretString::new(passphrase));
    object(&[("level", JsValue::from_str(level.code())), ("hint", JsValue::from_str(hint))])
}

/// The ids of the accounts sealed in `vault`, to check them against the account list.
#[wasm_bindgen(js_name = vaultAccountIds)]
pub fn vault_account_ids(vault: &str) -> Result<Vec<String>, JsValue> {
    Vault::from_json(vault).map(|vault| vault.account_ids()).map_err(|e| failure(&e))
}

/// Storage an earlier version wrote, brought up to date: reads `{ formatVersion, accounts,
/// portfolios }` and returns JSON text of the items to write, or `null` when it is current.
/// `default_portfolio_name` names the portfolio every account joins when there was none.
#[wasm_bindgen(js_name = upgradeStorage)]
pub fn upgrade_storage(stored: &str, default_portfolio_name: &str) -> Result<Option<String>, JsValue> {
    let stored: StoredSetup = read(stored, "refresh")?;
    upgrade(stored, default_portfolio_name).map(|upgrade| written(&upgrade)).transpose()
}

/// The stored settings (`null` for none yet) with a page's changes applied and checked; numbers
/// typed by the user are read as their language writes them (`decimal_mark` is "." or ",").
/// Returns the settings to store, as JSON text.
#[wasm_bindgen(js_name = applySettings)]
pub fn apply_settings(stored: &str, change: &str, decimal_mark: &str) -> Result<String, JsValue> {
    let stored: Option<Settings> = read(stored, "refresh")?;
    let change: SettingsChange = read(change, "refresh")?;
    let settings = stored.unwrap_or_default().apply(change, mark(decimal_mark)).map_err(|e| failure(&e))?;
    written(&settings)
}

/// Reads an alert as a page sent it (`{ id, kind, asset?, threshold?, percent?, currency,
/// paused? }`); returns it as stored, or throws `invalid_input` (field `alert`).
#[wasm_bindgen(js_name = checkAlert)]
pub fn check_alert(alert: &str) -> Result<String, JsValue> {
    let alert: Alert = read(alert, "alert")?;
    written(&alert)
}

#[derive(Serialize)]
struct Evaluation<'a> {
    states: &'a BTreeMap<String, AlertState>,
    firings: Vec<crate::alerts::Firing>,
}

/// Checks the alerts (`[alert]`) with their states (`{ id: state }`) against a stored snapshot,
/// all as JSON text; returns JSON text `{ states, firings: [{ alertId, value, accountId?, code? }] }`.
#[wasm_bindgen(js_name = evaluateAlerts)]
pub fn evaluate_alerts(alerts: &str, states: &str, snapshot: &str) -> Result<String, JsValue> {
    let alerts: Vec<Alert> = read(alerts, "alert")?;
    // Damaged states start over, armed.
    let mut states: BTreeMap<String, AlertState> = serde_json::from_str(states).unwrap_or_default();
    let snapshot: Snapshot = read(snapshot, "alert")?;
    let firings = evaluate(&alerts, &mut states, &Observed::of(&snapshot), now_ms());
    written(&Evaluation { states: &states, firings })
}

/// When the next automatic sync runs after one that ended now (ms since the epoch), or `null`
/// when automatic sync is off. `stored_at_ms` is the plan kept across restarts, if any: it is
/// kept when believable (see `schedule::restore`).
#[wasm_bindgen(js_name = planSync)]
pub fn plan_sync(interval_minutes: u32, failures: u32, stored_at_ms: Option<f64>) -> Result<Option<f64>, JsValue> {
    let now = now_ms();
    // Epoch milliseconds arrive as JS numbers, exact far below 2^53; never money.
    let stored = stored_at_ms.filter(|at_ms| at_ms.is_finite() && *at_ms >= 0.0).map(|at_ms| at_ms as u64);
    schedule::restore(now, stored, interval_minutes, failures, &mut OsEntropy)
        .map(|next| next.map(|at_ms| at_ms as f64))
        .map_err(|e| failure(&e))
}

/// A holding as the user typed it, checked: its asset code (any case) and its amount written the
/// way the UI language writes numbers (`decimalMark` is "." or ","). Returns
/// `{ asset, amount }` with the code lowercase and the amount as plain decimal text.
#[wasm_bindgen(js_name = checkHolding)]
pub fn check_holding(asset: &str, amount: &str, decimal_mark: &str) -> Result<JsValue, JsValue> {
    let asset = asset_code(asset).map_err(|e| failure(&e))?;
    let amount = typed_decimal(amount, decimal_mark, "amount")?;
    // A huge amount is refused here, where it is typed, rather than failing every refresh.
    manual_amount(&amount).map_err(|e| failure(&e))?;
    Ok(object(&[("asset", JsValue::from(asset)), ("amount", JsValue::from(amount))]))
}

/// A threshold the user typed in the display currency (see [`check_holding`] for the format), as
/// plain decimal text.
#[wasm_bindgen(js_name = checkThreshold)]
pub fn check_threshold(text: &str, decimal_mark: &str) -> Result<String, JsValue> {
    typed_decimal(text, decimal_mark, "threshold")
}

/// What the user typed as really paid for a deposit (zero for a gift), as a plain decimal string.
#[wasm_bindgen(js_name = checkCost)]
pub fn check_cost(text: &str, decimal_mark: &str) -> Result<String, JsValue> {
    parse_typed_decimal(text, mark(decimal_mark))
        .filter(|value| !value.is_sign_negative())
        .map(to_plain_string)
        .ok_or_else(|| failure(&Error::InvalidInput { field: "cost" }))
}

fn mark(decimal_mark: &str) -> char {
    if decimal_mark == "," { ',' } else { '.' }
}

fn typed_decimal(text: &str, decimal_mark: &str, field: &'static str) -> Result<String, JsValue> {
    parse_typed_decimal(text, mark(decimal_mark))
        .filter(|value| !value.is_zero())
        .map(to_plain_string)
        .ok_or_else(|| failure(&Error::InvalidInput { field }))
}

/// Stored history chunks as a page or the background sends them: `{ "<key>": "<chunk text>" }`.
fn chunks(json: &str) -> Result<Chunks, JsValue> {
    read(json, "history")
}

/// The history of one portfolio by id, or of all of them together for `""`.
fn series(portfolio: &str) -> Result<Series, JsValue> {
    if portfolio.is_empty() { Ok(Series::all()) } else { Series::portfolio(portfolio).map_err(|e| failure(&e)) }
}

/// The storage key prefix of a portfolio's history (`""` for all of them together): the
/// background removes a deleted portfolio's history with it.
#[wasm_bindgen(js_name = historyOwns)]
pub fn history_owns(portfolio: &str, key: &str) -> Result<bool, JsValue> {
    Ok(series(portfolio)?.owns(key))
}

/// Records a sync: the snapshot of every portfolio together and of each one
/// (`{ "<id>": snapshot }`) as points of their series in the stored `chunks`, the tiers applied
/// when `compact` is true, the history kept within its budget of the storage quota
/// (`quota_bytes`, of which `used_bytes` are in use). Returns JSON text `{ prune: { write,
/// remove }, append: { key: chunk }, views: { "<id>" | "": view } }`: `prune` is stored first.
#[wasm_bindgen(js_name = historyRecord)]
pub fn history_record(
    chunks_json: &str,
    snapshot: &str,
    portfolio_snapshots: &str,
    compact: bool,
    quota_bytes: u32,
    used_bytes: u32,
) -> Result<String, JsValue> {
    let stored = chunks(chunks_json)?;
    let snapshot: Snapshot = read(snapshot, "history")?;
    let portfolios: BTreeMap<String, Snapshot> = read(portfolio_snapshots, "history")?;
    let mut series: Vec<(&str, &Snapshot)> = vec![("", &snapshot)];
    series.extend(portfolios.iter().map(|(id, each)| (id.as_str(), each)));
    let budget = history::budget(byte_count(quota_bytes), byte_count(used_bytes), history::history_bytes(&stored));
    let recorded = history::record(&stored, &series, now_ms(), compact, budget).map_err(|e| failure(&e))?;
    written(&recorded)
}

/// What brings the stored history (`chunks`) within its budget of the storage quota
/// (`quota_bytes`, of which `used_bytes` are in use), when a write found no room: JSON text
/// `{ write: { key: chunk }, remove: [key] }`.
#[wasm_bindgen(js_name = historyPrune)]
pub fn history_prune(chunks_json: &str, quota_bytes: u32, used_bytes: u32) -> Result<String, JsValue> {
    let stored = chunks(chunks_json)?;
    written(&history::prune(&stored, history::budget(byte_count(quota_bytes), byte_count(used_bytes), history::history_bytes(&stored))))
}

/// A byte count of storage as the browser reports it (`storage.local` holds 10 MiB, far below
/// 2^32), as the history's budget counts bytes.
fn byte_count(bytes: u32) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Every range of the history in `currency`, as JSON text (see `history::View`). `snapshot` (JSON
/// text or empty) gives the exchanges' 24-hour figures while history covers less than a day.
#[wasm_bindgen(js_name = historyView)]
pub fn history_view(portfolio: &str, stored: &str, currency: &str, snapshot: &str) -> Result<String, JsValue> {
    let points = history::load(&series(portfolio)?, &chunks(stored)?);
    let day_before = serde_json::from_str::<Snapshot>(snapshot).ok().as_ref().and_then(DayBefore::of);
    written(&history::view(&points, currency, now_ms(), day_before))
}

/// One asset's history since `from_ms` in `currency`: JSON text `[[t, amount, value | null], …]`.
#[wasm_bindgen(js_name = historyAsset)]
pub fn history_asset(portfolio: &str, stored: &str, asset: &str, currency: &str, from_ms: f64) -> Result<String, JsValue> {
    let points = history::load(&series(portfolio)?, &chunks(stored)?);
    // Epoch milliseconds stay far below 2^53, where a JS number is exact.
    let from = if from_ms.is_finite() && from_ms > 0.0 { from_ms as u64 } else { 0 };
    written(&history::asset_series(&points, asset, currency, from))
}

/// The CSV export (holdings now, then the history in `currency`).
#[wasm_bindgen(js_name = historyCsv)]
pub fn history_csv(portfolio: &str, snapshot: &str, stored: &str, currency: &str) -> Result<String, JsValue> {
    let snapshot: Snapshot = read(snapshot, "refresh")?;
    Ok(history::csv(&snapshot, &history::load(&series(portfolio)?, &chunks(stored)?), currency))
}

/// The part of everything `storage.local` holds (JSON text keyed by storage key) that a backup
/// keeps, as the contents [`seal_backup`] seals.
#[wasm_bindgen(js_name = backupContents)]
pub fn backup_contents(storage: &str) -> Result<String, JsValue> {
    backup::contents_of(storage).map_err(|e| failure(&e))
}

/// Seals backup contents under `passphrase` (Argon2id runs here, in the calling page): the
/// backup file's text, dated now.
#[wasm_bindgen(js_name = sealBackup)]
pub fn seal_backup(contents: &str, typed: String) -> Result<String, JsValue> {
    let passphrase = passphrase(typed);
    backup::seal_backup(contents, &passphrase, now_ms(), &mut OsEntropy).map_err(|e| failure(&e))
}

/// Opens a backup file with `passphrase` (Argon2id runs here, in the calling page): JSON text
/// `{ summary: { createdAt, accounts, portfolios, manual, alerts, historyPoints }, storage }`,
/// `storage` being the items to restore.
#[wasm_bindgen(js_name = openBackup)]
pub fn open_backup(text: &str, typed: String) -> Result<String, JsValue> {
    let passphrase = passphrase(typed);
    let opened = backup::open_backup(text, &passphrase).map_err(|e| failure(&e))?;
    written(&opened)
}

/// Checks the storage items of an opened backup before they replace anything: JSON text of what
/// they hold, or the error that refuses them.
#[wasm_bindgen(js_name = checkBackupStorage)]
pub fn check_backup_storage(storage: &str) -> Result<String, JsValue> {
    backup::check_storage(storage).map_err(|e| failure(&e)).and_then(|summary| written(&summary))
}

/// Adds a page of `account`'s transactions (JSON text of `[transaction…]`) to its stored chunks
/// (`{ key: text }` of those the page touches); returns the chunks to write, as JSON text.
#[wasm_bindgen(js_name = mergeHistoryPage)]
pub fn merge_history_page(account: &str, page: &str, stored: &str) -> Result<String, JsValue> {
    let page: Vec<Transaction> = read(page, "transactions")?;
    let stored: BTreeMap<String, String> = read(stored, "transactions")?;
    let written_chunks = transactions::merge_page(account, &page, &stored).map_err(|e| failure(&e))?;
    written(&written_chunks)
}

/// The storage key of `account`'s transactions in the month of `at_ms`.
#[wasm_bindgen(js_name = historyChunkKey)]
pub fn history_chunk_key(account: &str, at_ms: f64) -> String {
    transactions::chunk_key(account, at_ms as u64)
}

/// Which assets the stored transaction chunks (`{ key: text }`) move, and their first day: JSON
/// text `{ assets, firstDay }`.
#[wasm_bindgen(js_name = historySpan)]
pub fn history_span(chunks: &str) -> Result<String, JsValue> {
    let chunks: BTreeMap<String, String> = read(chunks, "transactions")?;
    written(&transactions::span(&chunks).map_err(|e| failure(&e))?)
}

/// A trade the user typed in as the transaction to store, JSON text. `typed` is `{ id, at, side,
/// asset, amount, price, fee, quote }` with the numbers as the user typed them (`decimal_mark`
/// `,` or `.`); an empty fee is none. Each number that cannot be read is refused by its own field.
#[wasm_bindgen(js_name = typedTransaction)]
pub fn typed_transaction(typed: &str, decimal_mark: &str) -> Result<String, JsValue> {
    #[derive(serde::Deserialize)]
    struct Typed {
        id: String,
        at: u64,
        side: transactions::Side,
        asset: String,
        amount: String,
        price: String,
        fee: String,
        quote: String,
    }
    let typed: Typed = read(typed, "transaction")?;
    let number = |text: &str, field: &'static str| parse_typed_decimal(text, mark(decimal_mark)).ok_or_else(|| failure(&Error::InvalidInput { field }));
    let fee = if typed.fee.trim().is_empty() { rust_decimal::Decimal::ZERO } else { number(&typed.fee, "fee")? };
    let trade = transactions::TypedTrade {
        id: typed.id,
        at: typed.at,
        side: typed.side,
        asset: typed.asset,
        amount: number(&typed.amount, "amount")?,
        price: number(&typed.price, "price")?,
        fee,
        quote: typed.quote,
    };
    written(&trade.transaction().map_err(|e| failure(&e))?)
}

/// A stored chunk without the typed-in transaction `id` (see `transactions::without_typed`):
/// the text to store, or nothing when the chunk is left empty.
#[wasm_bindgen(js_name = chunkWithout)]
pub fn chunk_without(text: &str, id: &str) -> Result<Option<String>, JsValue> {
    transactions::without_typed(text, id).map_err(|e| failure(&e))
}

/// The day ranges of closes still to fetch for `routes` (JSON text) to cover `from_day..=to_day`,
/// given the stored series (`{ book: text }`): JSON text `[{ book, exchange, market, from, to }]`.
#[wasm_bindgen(js_name = closesToFetch)]
pub fn closes_to_fetch(routes: &str, stored: &str, from_day: u32, to_day: u32) -> Result<String, JsValue> {
    let routes: Routes = read(routes, "routes")?;
    let stored: BTreeMap<String, String> = read(stored, "closes")?;
    let books: BTreeSet<&str> = routes.assets.values().flatten().map(|hop| hop.book.as_str()).collect();
    let mut wanted = Vec::new();
    for book in books {
        let Some((exchange, market)) = price_history::book_parts(book) else { continue };
        let series = stored.get(book).and_then(|text| PriceSeries::read(text).ok());
        for (from, to) in price_history::missing(series.as_ref(), from_day.into(), to_day.into()) {
            wanted.push(serde_json::json!({ "book": book, "exchange": exchange, "market": market, "from": from, "to": to }));
        }
    }
    written(&wanted)
}

/// `stored` (a book's series, or none) with the closes fetched for `from_day..=to_day` (JSON text
/// `[{ day, close }]`) merged in; returns the text to store.
#[wasm_bindgen(js_name = mergeCloses)]
pub fn merge_closes(stored: Option<String>, from_day: u32, to_day: u32, closes: &str) -> Result<String, JsValue> {
    let mut series = match stored {
        Some(text) => PriceSeries::read(&text).unwrap_or_default(),
        None => PriceSeries::default(),
    };
    let closes: Vec<StoredClose> = read(closes, "closes")?;
    let closes: Vec<DailyClose> = closes.into_iter().map(|close| DailyClose { day: close.day, close: close.close }).collect();
    series.merge(from_day.into(), to_day.into(), &closes);
    Ok(series.write())
}

/// The P&L report for what storage holds (see `pnl::report_from_storage`), as JSON text: `stored`
/// as the pages gather it, the chunks apart (see [`chunk_map`]).
#[wasm_bindgen(js_name = pnlReport)]
pub fn pnl_report(stored: &str, chunk_keys: Vec<String>, chunk_texts: &[u8]) -> Result<String, JsValue> {
    let report = pnl::report_from_storage(stored, &chunk_map(chunk_keys, chunk_texts)?).map_err(|e| failure(&e))?;
    written(&report)
}

/// The transaction chunks as the pages hand them over: their storage keys, and their texts as one
/// UTF-8 buffer, joined by NUL (a byte no JSON text holds raw). Bytes rather than strings: a
/// string crosses into wasm through wasm-bindgen's character-by-character copy loop, which over
/// the 1.7 MB of chunks of 10,000 transactions took 5–10 ms of a 53 ms report; the page's
/// TextEncoder and one copy take 2–3 ms (BENCHMARKS.md, row 13).
fn chunk_map(keys: Vec<String>, texts: &[u8]) -> Result<BTreeMap<String, &str>, JsValue> {
    let texts: Vec<&[u8]> = if keys.is_empty() { Vec::new() } else { texts.split(|&byte| byte == 0).collect() };
    if texts.len() != keys.len() {
        return Err(failure(&Error::InvalidInput { field: "transactions" }));
    }
    keys.into_iter()
        .zip(texts)
        .map(|(key, text)| Ok((key, std::str::from_utf8(text).map_err(|_| failure(&Error::InvalidInput { field: "transactions" }))?)))
        .collect()
}

/// A CSV export of the P&L report (`which`: `transactions` or `realizedGains`) for what storage
/// holds (as for [`pnl_report`]); `typed_in` names the typed-in holdings in the user's language.
#[wasm_bindgen(js_name = pnlCsv)]
pub fn pnl_csv(stored: &str, chunk_keys: Vec<String>, chunk_texts: &[u8], which: &str, typed_in: &str) -> Result<String, JsValue> {
    let which = match which {
        "transactions" => pnl::Export::Transactions,
        "realizedGains" => pnl::Export::RealizedGains,
        _ => return Err(failure(&Error::InvalidInput { field: "export" })),
    };
    pnl::csv_from_storage(stored, &chunk_map(chunk_keys, chunk_texts)?, which, typed_in).map_err(|e| failure(&e))
}

/// Which account a history page is for.
#[derive(serde::Deserialize)]
struct HistoryAccount {
    id: String,
    exchange: ExchangeId,
    /// The markets the user named for it (see `Exchange::history`).
    #[serde(default)]
    markets: Vec<String>,
}

/// A close as it crosses between the engine and storage: `{ day, close }`.
#[derive(Serialize, serde::Deserialize)]
struct StoredClose {
    day: u64,
    #[serde(with = "crate::money::plain_string")]
    close: rust_decimal::Decimal,
}

/// Decides what a finished refresh changes in storage: `outcome` is what [`Engine::refresh`]
/// resolved to and `stored` what storage holds now (`{ hasVault, accounts, portfolios, nonces,
/// snapshot }`). Returns JSON text `{ update, reply, observed, record }` (see `settle`).
#[wasm_bindgen(js_name = settleRefresh)]
pub fn settle_refresh(outcome: &str, stored: &str) -> Result<String, JsValue> {
    let outcome: RefreshResult = read(outcome, "refresh")?;
    let stored: Stored = read(stored, "refresh")?;
    written(&settle(outcome, stored, now_ms()))
}

/// The background's engine: rate-limit memory, prices and all exchange traffic.
#[wasm_bindgen]
pub struct Engine {
    core: Rc<CoreEngine<FetchTransport>>,
}

#[wasm_bindgen]
impl Engine {
    /// A new engine.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Engine {
        Engine { core: Rc::new(CoreEngine::new(FetchTransport::default())) }
    }

    /// Throws `wrong_passphrase` unless `vault_key` opens `vault`.
    #[wasm_bindgen(js_name = checkVaultKey)]
    pub fn check_vault_key(&self, vault: &str, vault_key: String) -> Result<(), JsValue> {
        let vault_key = Zeroizing::new(vault_key);
        open(vault, &vault_key).map(|_| ()).map_err(|e| failure(&e))
    }

    /// `vault` as format 2, each version 1 entry bound to its exchange from `exchanges_json`
    /// (`{ "<id>": "<exchange>" }`); the same text when it is format 2 already.
    #[wasm_bindgen(js_name = upgradeVault)]
    pub fn upgrade_vault(&self, vault: &str, vault_key: String, exchanges_json: &str) -> Result<String, JsValue> {
        let vault_key = Zeroizing::new(vault_key);
        let exchanges = exchanges_of(exchanges_json).map_err(|e| failure(&e))?;
        let (parsed, key) = open(vault, &vault_key).map_err(|e| failure(&e))?;
        if parsed.version() >= 2 {
            return Ok(vault.to_owned());
        }
        parsed
            .upgrade(&key, &|id| exchanges.get(id).copied(), &mut OsEntropy)
            .map(|upgraded| upgraded.to_json())
            .map_err(|e| failure(&e))
    }

    /// `vault` without the keys no account lists (`account_ids_json`: `["<id>", …]`), once
    /// `vault_key` proves the passphrase; returns the new vault text.
    #[wasm_bindgen(js_name = dropUnlistedKeys)]
    pub fn drop_unlisted_keys(&self, vault: &str, vault_key: String, account_ids_json: &str) -> Result<String, JsValue> {
        let vault_key = Zeroizing::new(vault_key);
        let listed: Vec<String> = read(account_ids_json, "account_id")?;
        open(vault, &vault_key)
            .and_then(|(vault, key)| vault.retain_accounts(&key, &|id| listed.iter().any(|listed| listed == id)))
            .map(|vault| vault.to_json())
            .map_err(|e| failure(&e))
    }

    /// Checks pasted credentials the way `exchange` issues them (trimmed; a malformed secret is
    /// refused before anything is sent). `api_passphrase` is the key's own passphrase, for the
    /// exchanges that issue one (none elsewhere).
    #[wasm_bindgen(js_name = checkCredentials)]
    pub fn check_credentials(&self, exchange: &str, api_key: &str, api_secret: String, api_passphrase: Option<String>) -> Result<(), JsValue> {
        let (secret, passphrase) = (SecretString::new(api_secret), api_passphrase.map(SecretString::new));
        exchange_id(exchange)
            .and_then(|exchange| pasted(exchange, api_key, &secret, passphrase.as_ref()))
            .map(|_| ())
            .map_err(|e| failure(&e))
    }

    /// Fetches the holdings of unsaved credentials and what the key may do; resolves to
    /// `{ currencies, scope: { trade, withdraw, transfer, readOnly } | null, readOnly: bool | null,
    /// lastNonce: string | null }` (`readOnly` null where the exchange cannot say). `last_nonce`
    /// is the account's persisted nonce when a key is replaced.
    #[wasm_bindgen(js_name = testConnection)]
    pub fn test_connection(
        &self,
        exchange: &str,
        api_key: &str,
        api_secret: String,
        api_passphrase: Option<String>,
        last_nonce: Option<String>,
    ) -> js_sys::Promise {
        let core = Rc::clone(&self.core);
        let (secret, passphrase) = (SecretString::new(api_secret), api_passphrase.map(SecretString::new));
        let prepared = exchange_id(exchange).and_then(|exchange| Ok((exchange, pasted(exchange, api_key, &secret, passphrase.as_ref())?)));
        let last_nonce = last_nonce.and_then(|text| text.parse::<u64>().ok());
        future_to_promise(async move {
            let (exchange, credentials) = prepared.map_err(|e| failure(&e))?;
            let check = core
                .test_connection(exchange, &credentials, last_nonce, now_ms(), &mut OsEntropy)
                .await
                .map_err(|e| failure(&e))?;
            let scope = match check.scope {
                Some(scope) => serde_json::to_string(&scope).ok().and_then(|text| js_sys::JSON::parse(&text).ok()).unwrap_or(JsValue::NULL),
                None => JsValue::NULL,
            };
            Ok(object(&[
                ("currencies", JsValue::from(u32::try_from(check.currencies).unwrap_or(u32::MAX))),
                ("scope", scope),
                ("readOnly", check.scope.map_or(JsValue::NULL, |scope| JsValue::from_bool(scope.is_read_only()))),
                ("lastNonce", check.last_nonce.map_or(JsValue::NULL, |nonce| JsValue::from_str(&nonce.to_string()))),
            ]))
        })
    }

    /// Seals credentials for `exchange` (with the key's API passphrase where the exchange issues
    /// one) into the vault under `account_id` (added or replaced); returns the new vault text.
    #[wasm_bindgen(js_name = sealAccount)]
    #[expect(clippy::too_many_arguments, reason = "each secret crosses as its own string, never inside a JSON text")]
    pub fn seal_account(
        &self,
        vault: &str,
        vault_key: String,
        account_id: &str,
        exchange: &str,
        api_key: &str,
        api_secret: String,
        api_passphrase: Option<String>,
    ) -> Result<String, JsValue> {
        let vault_key = Zeroizing::new(vault_key);
        let (secret, passphrase) = (SecretString::new(api_secret), api_passphrase.map(SecretString::new));
        exchange_id(exchange)
            .and_then(|exchange| {
                let (vault, key) = open(vault, &vault_key)?;
                let credentials = pasted(exchange, api_key, &secret, passphrase.as_ref())?;
                vault.seal_account(&key, account_id, exchange, &credentials, &mut OsEntropy)
            })
            .map(|vault| vault.to_json())
            .map_err(|e| failure(&e))
    }

    /// Removes an account's sealed credentials; returns the new vault text.
    #[wasm_bindgen(js_name = removeAccount)]
    pub fn remove_account(&self, vault: &str, vault_key: String, account_id: &str) -> Result<String, JsValue> {
        let vault_key = Zeroizing::new(vault_key);
        open(vault, &vault_key)
            .and_then(|(vault, key)| vault.remove_account(&key, account_id))
            .map(|vault| vault.to_json())
            .map_err(|e| failure(&e))
    }

    /// One page of an account's transaction history: `account` is `{ id, exchange }` as JSON
    /// text, `cursor` what the last page handed back (none to start), `last_nonce` the account's
    /// persisted nonce. Resolves to JSON text `{ page: { transactions, cursor, caughtUp, read,
    /// expected?, waitMs } | null, error: { code, … } | null, lastNonce: string | null }` (`page`
    /// null without an error: Cartera does not read this exchange's history).
    #[wasm_bindgen(js_name = historyPage)]
    pub fn history_page(&self, account: &str, cursor: Option<String>, vault: String, vault_key: String, last_nonce: Option<String>) -> js_sys::Promise {
        let core = Rc::clone(&self.core);
        let vault_key = Zeroizing::new(vault_key);
        let account: Result<HistoryAccount, JsValue> = read(account, "account");
        let last_nonce = last_nonce.and_then(|text| text.parse::<u64>().ok());
        future_to_promise(async move {
            let account = account?;
            let (vault, key) = open(&vault, &vault_key).map_err(|e| failure(&e))?;
            let (page, spent) =
                core.history_page((&account.id, account.exchange), (&vault, &key), (cursor.as_deref(), &account.markets), last_nonce, now_ms(), &mut OsEntropy).await;
            let (page, error) = match page {
                Ok(page) => (page, None),
                Err(error) => (None, Some(ErrorView::new(&error, now_ms()))),
            };
            let reply = serde_json::json!({
                "page": page,
                "error": error,
                "lastNonce": spent.or(last_nonce).map(|nonce| nonce.to_string()),
            });
            written(&reply).map(JsValue::from)
        })
    }

    /// How each of `assets` (JSON text `["btc", …]`) reaches `quote` along today's prices of
    /// `exchanges` (JSON text `["kraken", …]`); resolves to the routes as JSON text.
    #[wasm_bindgen(js_name = historyRoutes)]
    pub fn history_routes(&self, exchanges: &str, quote: String, assets: &str) -> js_sys::Promise {
        let core = Rc::clone(&self.core);
        let exchanges: Result<Vec<ExchangeId>, JsValue> = read(exchanges, "exchange");
        let assets: Result<Vec<String>, JsValue> = read(assets, "asset");
        future_to_promise(async move {
            let (exchanges, assets) = (exchanges?, assets?);
            let routes = core.history_routes(&exchanges, &quote, &assets, now_ms()).await;
            written(&routes).map(JsValue::from)
        })
    }

    /// The market `text` names on `exchange` (see `refresh::Engine::named_market`); resolves to
    /// its name as the history reads it (`DOGEUSDT`).
    #[wasm_bindgen(js_name = namedMarket)]
    pub fn named_market(&self, exchange: &str, text: String) -> js_sys::Promise {
        let core = Rc::clone(&self.core);
        let exchange = exchange_id(exchange);
        future_to_promise(async move {
            let exchange = exchange.map_err(|e| failure(&e))?;
            core.named_market(exchange, &text, now_ms()).await.map(JsValue::from).map_err(|e| failure(&e))
        })
    }

    /// The daily closes of `market` on `exchange` for days `from_day..=to_day`; resolves to JSON
    /// text `[{ day, close }]`, or `null` where the exchange publishes none.
    #[wasm_bindgen(js_name = dailyCloses)]
    pub fn daily_closes(&self, exchange: &str, market: String, from_day: u32, to_day: u32) -> js_sys::Promise {
        let core = Rc::clone(&self.core);
        let exchange = exchange_id(exchange);
        future_to_promise(async move {
            let exchange = exchange.map_err(|e| failure(&e))?;
            let closes = core.daily_closes(exchange, &market, (from_day.into(), to_day.into()), now_ms()).await.map_err(|e| failure(&e))?;
            let closes: Option<Vec<StoredClose>> =
                closes.map(|closes| closes.into_iter().map(|close| StoredClose { day: close.day, close: close.close }).collect());
            written(&closes).map(JsValue::from)
        })
    }

    /// Stops every refresh and key check in flight (see `refresh::Engine::cancel`): nothing more
    /// is signed for them, and each resolves with the `cancelled` error and the nonces it spent.
    pub fn cancel(&self) {
        self.core.cancel();
    }

    /// Forgets every bearer token exchanges issued (see `refresh::Engine::end_sessions`): for when
    /// the vault locks, or a key is removed or replaced.
    #[wasm_bindgen(js_name = endSessions)]
    pub fn end_sessions(&self) {
        self.core.end_sessions();
    }

    /// Fetches every imported account and the prices. `stored` is what storage holds, as JSON
    /// text (`{ accounts, portfolios, manual, settings, snapshot, nonces, lockouts }`);
    /// `bridges` the exchanges whose public prices may be read (`["bitso"]`, those whose host
    /// permission is granted); `manual_label` names typed-in holdings; `vault` and `vault_key`
    /// are both absent while locked (prices only). Resolves to JSON text
    /// `{ snapshot | null, portfolios, error | null, nonces, lockouts, priceErrors }`.
    pub fn refresh(&self, stored: String, bridges: &str, manual_label: String, vault: Option<String>, vault_key: Option<String>) -> js_sys::Promise {
        let core = Rc::clone(&self.core);
        let vault_key = vault_key.map(Zeroizing::new);
        let bridges: Result<Vec<ExchangeId>, JsValue> = read(bridges, "refresh");
        future_to_promise(async move {
            let invalid = || failure(&Error::InvalidInput { field: "refresh" });
            let stored: StoredInputs = read(&stored, "refresh")?;
            let bridges = bridges?;
            let keys = match (&vault, &vault_key) {
                (Some(vault), Some(vault_key)) => Some(open(vault, vault_key).map_err(|e| failure(&e))?),
                (None, None) => None,
                _ => return Err(invalid()),
            };
            let accounts = stored.accounts_to_fetch();
            let manual = stored.manual_holdings(&manual_label).map_err(|e| failure(&e))?;
            let now = now_ms();
            let (nonces, portfolios, scopes_due) = (stored.nonces(), stored.portfolio_ids(), stored.scopes_due(now));
            let request = RefreshRequest {
                keys: keys.as_ref().map(|(vault, key)| (vault, key)),
                accounts: &accounts,
                quote: &stored.settings.quote,
                previous: stored.snapshot.as_ref(),
                nonces: &nonces,
                lockouts: &stored.lockouts,
                bridges: &bridges,
                manual: &manual,
                portfolios: &portfolios,
                hide_below: stored.hide_below(),
                scopes_due: &scopes_due,
            };
            let outcome = core.refresh(request, now, &mut OsEntropy).await.map_err(|e| failure(&e))?;
            written(&outcome).map(JsValue::from)
        })
    }
}

#[cfg(feature = "bench")]
mod bench {
    use wasm_bindgen::prelude::*;

    use js_sys::{Object, Reflect};

    use crate::{
        bench_support::{BenchAccount, import, read_accounts},
        exchange::{HttpRequest, HttpResponse, Method, Ticker, adapter, bitso, pasted_credentials},
        exchange_id::ExchangeId,
        portfolio::{AccountBalances, build_snapshot},
        refresh::{OwnedResponse, TransportFailure},
        secret::Credentials,
    };

    fn fail(what: &str) -> JsValue {
        JsValue::from_str(what)
    }

    /// The `Authorization` header value the Bitso adapter signs for this request, with a fixed
    /// 19-digit nonce (13-digit ms timestamp + 6-digit salt, salt ≥ 100000).
    #[wasm_bindgen(js_name = benchSignBitso)]
    pub fn bench_sign_bitso(key: &str, secret: &str, nonce: &str, method: &str, path: &str, body: Option<String>) -> Result<String, JsValue> {
        if nonce.len() != 19 || !nonce.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("nonce"));
        }
        let method = if method == "POST" { Method::Post } else { Method::Get };
        let credentials = Credentials::new(key, secret).map_err(|_| fail("credentials"))?;
        let request = bitso::signed_request(&credentials, nonce, method, path, body.as_deref()).map_err(|_| fail("sign"))?;
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

    /// The accounts and the tickers both bench calls start from.
    fn parse(accounts_json: &str, tickers_json: &str) -> Result<(Vec<BenchAccount>, Vec<Ticker>), JsValue> {
        let accounts = read_accounts(accounts_json).map_err(|_| fail("accounts"))?;
        let tickers = bitso::parse_tickers(HttpResponse::new(200, tickers_json.as_bytes())).map_err(|_| fail("tickers"))?;
        Ok((accounts, tickers))
    }

    fn as_inputs(accounts: &[BenchAccount]) -> Vec<AccountBalances<'_>> {
        accounts
            .iter()
            .map(|account| AccountBalances {
                id: &account.id,
                label: &account.label,
                exchange: Some(ExchangeId::Bitso),
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
        let snapshot = build_snapshot(&as_inputs(&accounts), &tickers, quote, 0);
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
            let snapshot = std::hint::black_box(build_snapshot(&inputs, &tickers, quote, 0));
            total = snapshot.total.normalize().to_string();
        }
        Ok(total)
    }

    /// "Prices at scale": `iterations` times inside wasm, every exchange's public price flow
    /// answered with the canned answers of `canned` (the text bench/prices.mjs writes; see
    /// `bench_support`), then `build_snapshot` of the accounts
    /// (`[{ id, label, exchange, balances }]`) in `quote` against every ticker. Returns the last
    /// run's summary as JSON (`{ total, tickers, byExchange, priced, unpriced }`), or `null`
    /// for 0 iterations (the cost of the call alone: the texts in, answers split, accounts read).
    #[wasm_bindgen(js_name = benchPrices)]
    pub fn bench_prices(canned: &str, accounts_json: &str, quote: &str, iterations: u32) -> Result<String, JsValue> {
        use crate::bench_support;

        let answers = bench_support::read_canned(canned).map_err(|error| fail(&error))?;
        let accounts = bench_support::read_accounts(accounts_json).map_err(|error| fail(&error))?;
        let inputs = bench_support::as_inputs(&accounts);
        let mut last = None;
        for _ in 0..iterations {
            let outcome = bench_support::prices_and_value(&answers, &inputs, quote).map_err(|error| fail(&error))?;
            last = Some(std::hint::black_box(outcome));
        }
        Ok(last.map_or_else(|| "null".to_owned(), |outcome| bench_support::summary(&outcome).to_string()))
    }

    /// How a request reaches the bench's answer function.
    type Answering = Box<dyn FnMut(&HttpRequest, u64) -> import::Answer>;

    /// "First import of history": one account's import, page by page, by the refresh engine over
    /// a simulated network (see `bench_support::import`). `answer(request, atMs)` answers every
    /// request (`{ method, url, headers: { name: value }, body | null }`, read by the exchange at
    /// `atMs`, simulated) with `{ status, body, retryAfter? }`, or `null` for no answer.
    #[wasm_bindgen(js_name = BenchHistoryImport)]
    pub struct BenchHistoryImport {
        import: import::HistoryImport<Answering>,
    }

    #[wasm_bindgen(js_class = BenchHistoryImport)]
    impl BenchHistoryImport {
        /// An import of `account` on `exchange` with the key `api_key`/`api_secret` and, where the
        /// exchange issues one, its `api_passphrase` (checked as the options page checks them),
        /// each request taking `round_trip_ms`.
        #[wasm_bindgen(constructor)]
        pub fn new(
            exchange: &str,
            account: &str,
            api_key: &str,
            api_secret: String,
            round_trip_ms: u32,
            answer: js_sys::Function,
            api_passphrase: Option<String>,
        ) -> Result<BenchHistoryImport, JsValue> {
            let exchange = ExchangeId::parse(exchange).ok_or_else(|| fail("exchange"))?;
            let credentials = pasted_credentials(adapter(exchange), api_key, &api_secret, api_passphrase.as_deref()).map_err(|_| fail("credentials"))?;
            let answering: Answering = Box::new(move |request, at_ms| ask(&answer, request, at_ms));
            let import = import::HistoryImport::new(exchange, account, &credentials, round_trip_ms.into(), answering).map_err(|error| fail(&error))?;
            Ok(BenchHistoryImport { import })
        }

        /// One page begun at `now_ms` (simulated), from `cursor` with the account's `last_nonce`;
        /// returns JSON text `{ page, error, lastNonce, requests, finishedAt }` (`page` and `error`
        /// as the background's `historyPage` hands them over).
        pub fn page(&self, cursor: Option<String>, last_nonce: Option<String>, now_ms: f64) -> Result<String, JsValue> {
            let last_nonce = last_nonce.map(|text| text.parse::<u64>().map_err(|_| fail("lastNonce"))).transpose()?;
            let outcome = self.import.page(cursor.as_deref(), last_nonce, now_ms as u64).map_err(|error| fail(&error))?;
            Ok(outcome.to_json().to_string())
        }
    }

    /// Hands `request` to the bench's `answer` function and reads its reply. A function that
    /// throws or answers something else than a response is a request that got none.
    fn ask(answer: &js_sys::Function, request: &HttpRequest, at_ms: u64) -> import::Answer {
        let headers = Object::new();
        for (name, value) in &request.headers {
            // Setting a data property on a fresh ordinary object cannot fail.
            let _ = Reflect::set(&headers, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        let asked = super::object(&[
            ("method", JsValue::from_str(request.method.as_str())),
            ("url", JsValue::from_str(&request.url)),
            ("headers", headers.into()),
            ("body", request.body.as_deref().map_or(JsValue::NULL, JsValue::from_str)),
        ]);
        // Epoch milliseconds, exact as a JS number; a time, never money.
        let reply = answer.call2(&JsValue::NULL, &asked, &JsValue::from_f64(at_ms as f64)).map_err(|_| TransportFailure::Offline)?;
        if reply.is_null() || reply.is_undefined() {
            return Err(TransportFailure::Timeout);
        }
        let field = |name: &str| Reflect::get(&reply, &JsValue::from_str(name)).ok().filter(|value| !value.is_undefined() && !value.is_null());
        let status = field("status").and_then(|status| status.as_f64()).filter(|status| (100.0..600.0).contains(status)).ok_or(TransportFailure::Offline)?;
        Ok(OwnedResponse {
            status: status as u16,
            body: field("body").and_then(|body| body.as_string()).unwrap_or_default().into_bytes(),
            retry_after: field("retryAfter").and_then(|header| header.as_string()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// News (src/news.rs): the background fetches, the core reads, merges and matches.

/// The stored headlines (`newsItems`); a damaged list is dropped rather than failing every
/// fetch: it is only a cache of the feeds.
fn stored_news(stored: &str) -> Vec<news::StoredItem> {
    serde_json::from_str(stored).unwrap_or_default()
}

fn news_choice(choice: &str) -> Result<news::Choice, JsValue> {
    read::<news::Choice>(choice, "news")?.checked().map_err(|e| failure(&e))
}

/// The user's news choice (`{ enabled, publishers }`) as it is stored: known publishers only,
/// each once.
#[wasm_bindgen(js_name = checkNewsChoice)]
pub fn check_news_choice(choice: &str) -> Result<String, JsValue> {
    written(&news_choice(choice)?)
}

/// Reads one feed's answer (`status`, the `body` bytes read, `cut_short` when the read stopped at
/// the byte cap) and merges its headlines into `stored` (`newsItems`), keeping only the chosen
/// publishers' items. Returns the new `newsItems` as JSON text, or throws the feed's error.
#[wasm_bindgen(js_name = newsRead)]
pub fn news_read(stored: &str, choice: &str, publisher: &str, status: u16, body: &[u8], cut_short: bool) -> Result<String, JsValue> {
    let choice = news_choice(choice)?;
    let publisher = news::publishers::publisher(publisher).ok_or_else(|| failure(&Error::InvalidInput { field: "news" }))?;
    let headlines = news::read_answer(status, body, cut_short).map_err(|e| failure(&e))?;
    let merged = news::merge(stored_news(stored), publisher.id, headlines, now_ms());
    written(&news::keep_chosen(merged, &choice))
}

/// `stored` (`newsItems`) with only the chosen publishers' items: none while news is off.
#[wasm_bindgen(js_name = newsKeep)]
pub fn news_keep(stored: &str, choice: &str) -> Result<String, JsValue> {
    let choice = news_choice(choice)?;
    written(&news::keep_chosen(stored_news(stored), &choice))
}

/// The popup's list: `stored` (`newsItems`) with the assets each item is about among `held_json`
/// (the codes of held assets, `["btc", …]`), matched in the UI language `ui_lang`; those about
/// held assets first. JSON text `[{ publisher, title, link, at, assets }]`.
#[wasm_bindgen(js_name = newsView)]
pub fn news_view(stored: &str, held_json: &str, ui_lang: &str) -> Result<String, JsValue> {
    let held: Vec<String> = read(held_json, "asset")?;
    let held = news::held_codes(held.iter().map(String::as_str));
    let items = stored_news(stored);
    written(&news::view(&items, &held, news::Lang::of_ui(ui_lang)))
}
