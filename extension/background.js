// Cartera's background: the only code that keeps the vault key, talks to the exchanges and writes
// storage. Pages talk to it through one message router; the wasm core does the real work.
//
// MV3: the wasm glue is imported statically (import() is not allowed in a service worker), init()
// runs without top-level await (that would kill the worker), and every listener is registered
// synchronously below so events that wake the worker are not lost.
//
// Where things live (see the README's security model):
//   storage.local   formatVersion (src/profile.rs), vault (sealed keys), accounts (each in one
//                   portfolio, with its "Import balance" switch), portfolios, manual holdings
//                   (plain: nothing secret), settings, snapshot (all portfolios) and
//                   portfolioSnapshots, lastError,
//                   per-account nonces, per-exchange rate-limit retry times, alerts and their
//                   states, the automatic sync's plan (syncState), the value history of all
//                   portfolios (hist:d:<day>, hist:m:<month>) and of each (hist:p:<id>:…) with
//                   the popup's precomputed views (historyView, portfolioHistoryViews)
//                   and whatsNew (an update the options page mentions until dismissed)
//                   news (on or off, and the publishers ticked), newsItems (the newest headlines of
//                   the ticked feeds) and newsFeeds (each feed's validators and last error)
//   storage.session vaultKey (the derived key), unlocked (a plain flag pages may read) and
//                   lockEpoch (bumped by every lock, so work that started before it never
//                   writes the key back)

import init, * as cartera from './wasm/cartera.js';
import {
  AUTO_LOCK_MINUTES, CLOSES_PREFIX, DEFAULT_PORTFOLIO, HISTORY_COMPACT_EVERY_MS, HISTORY_PREFIX, MANUAL_ENTRY_PREFIX, MAX_ALERTS, MAX_MANUAL,
  MAX_PORTFOLIOS, NEWS_MAX_FEED_BYTES, NEWS_PUBLISHERS, NEWS_REFRESH_MINUTES, STORAGE_FORMAT, SYNC_MINUTES, TX_PREFIX,
} from './shared/core-constants.js';
import {
  browser, errorText, exchangeName, formatMoney, formatPercent, portfolioOf, t, uiLang, withDefaults,
} from './shared/ext.js';
import { EXCHANGE_IDS, originsOf, PRICE_BRIDGES } from './shared/exchanges.js';
import { hasTransactions, pnlInput } from './shared/pnl-inputs.js';

const AUTOLOCK_ALARM = 'autolock';
const SYNC_ALARM = 'sync';
// A refresh still running then is stopped (the core stops its own at 75 s: src/refresh.rs
// MAX_CONVERSATION_MS), so the next one is not stuck behind it; its nonces are still kept.
const REFRESH_TIMEOUT_MS = 90_000;
// Far above any real vault (a few hundred bytes per account), low enough to refuse junk.
const MAX_VAULT_CHARS = 1_000_000;
// "chrome-extension://<id>/" or "moz-extension://<uuid>/". Not parsed with URL: for these
// non-special schemes URL.origin may be "null".
const OWN_BASE = browser.runtime.getURL('/');
const OWN_ORIGIN = OWN_BASE.slice(0, -1);

const local = browser.storage.local;
const session = browser.storage.session;

let engine = null;
const ready = init().then(() => {
  engine = new cartera.Engine();
  performance.mark('engine-ready'); // read by bench/browser.mjs
});
// Handlers report a failed start themselves; this only keeps the rejection from being "unhandled".
ready.catch(() => {});

browser.runtime.onMessage.addListener(onMessage);
browser.alarms.onAlarm.addListener(onAlarm);
browser.notifications.onClicked.addListener(onNotificationClicked);
// Browsers may drop alarms on restart (Firefox always does): the sync alarm is re-created from
// the stored plan, and the news alarm from the feeds' last fetch, on install, on start-up and
// whenever the worker starts.
browser.runtime.onInstalled.addListener(() => {
  scheduleSync();
  scheduleNews().catch(() => {});
});
browser.runtime.onStartup.addListener(() => {
  scheduleSync();
  scheduleNews().catch(() => {});
});
// Storage an earlier version wrote is brought up to date once, before any message is handled.
// It needs no wasm: messages that need none (the popup's getState) never wait for the core.
// (In a microtask: the storage queue below is declared later in this module.)
const migrated = Promise.resolve().then(() => exclusive(migrate)).catch(() => {});
Promise.all([ready, migrated]).then(() => scheduleSync()).catch(() => {});
migrated.then(() => scheduleNews()).catch(() => {});

// ---------------------------------------------------------------------------------------------
// Router

function onMessage(message, sender, sendResponse) {
  if (!isFromThisExtension(sender)) return false;
  route(message)
    .catch(failure)
    .then(sendResponse);
  return true;
}

// Only this extension's own pages may talk to the background. Firefox does not set
// sender.origin, so it is checked only where present; sender.url is always set for pages.
function isFromThisExtension(sender) {
  if (!sender || sender.id !== browser.runtime.id) return false;
  if (sender.origin !== undefined && sender.origin !== OWN_ORIGIN) return false;
  return typeof sender.url === 'string' && sender.url.startsWith(OWN_BASE);
}

async function route(message) {
  if (!message || typeof message !== 'object' || typeof message.type !== 'string') throw invalidInput();
  await migrated;
  switch (message.type) {
    case 'getState':
      return getState();
    case 'unlock':
      return unlock(message);
    case 'lock':
      return lock();
    case 'activity':
      return activity();
    case 'addAccount':
      return addAccount(message);
    case 'testAccount':
      return testAccount(message);
    case 'removeAccount':
      return removeAccount(message);
    case 'resetVault':
      return resetVault();
    case 'changePassphrase':
      return changePassphrase(message);
    case 'repairVault':
      return repairVault(message);
    case 'refresh':
      return refreshShared();
    case 'setSettings':
      return setSettings(message);
    case 'saveAlert':
      return saveAlert(message);
    case 'deleteAlert':
      return deleteAlert(message);
    case 'savePortfolio':
      return savePortfolio(message);
    case 'deletePortfolio':
      return deletePortfolio(message);
    case 'setAccount':
      return setAccount(message);
    case 'addMarket':
      return addMarket(message);
    case 'removeMarket':
      return removeMarket(message);
    case 'saveHolding':
      return saveHolding(message);
    case 'deleteHolding':
      return deleteHolding(message);
    case 'clearHistory':
      return clearHistory();
    case 'backupData':
      return backupData();
    case 'backupExported':
      return noteBackup({ exportedAt: Date.now() });
    case 'dismissBackupReminder':
      return noteBackup({ dismissedAt: Date.now() });
    case 'restoreBackup':
      return restoreBackup(message);
    case 'dismissWhatsNew':
      return dismissWhatsNew();
    case 'setNews':
      return setNews(message);
    case 'getNews':
      return getNews();
    case 'saveTransaction':
      return saveTransaction(message);
    case 'deleteTransaction':
      return deleteTransaction(message);
    case 'setCost':
      return setCost(message);
    default:
      throw { code: 'unknown_message' };
  }
}

/** The reply for anything thrown: a core error passes through; anything else becomes "internal". */
function failure(thrown) {
  if (isCoreError(thrown)) return { ok: false, error: thrown };
  // Only the kind of failure is logged: messages may echo inputs.
  console.error('Cartera: unexpected failure', thrown instanceof Error ? thrown.name : typeof thrown);
  return { ok: false, error: { code: 'internal' } };
}

function isCoreError(thrown) {
  return Boolean(thrown) && typeof thrown === 'object' && typeof thrown.code === 'string';
}

function invalidInput(field) {
  return field ? { code: 'invalid_input', field } : { code: 'invalid_input', field: 'refresh' };
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function engineReady() {
  try {
    await ready;
  } catch {
    throw { code: 'engine_unavailable' };
  }
  return engine;
}

function requireString(value, maxLength = 512, field) {
  if (typeof value !== 'string') throw invalidInput(field);
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > maxLength) throw invalidInput(field);
  return trimmed;
}

function requireExchange(value) {
  if (!EXCHANGE_IDS.includes(value)) throw invalidInput('exchange');
  return value;
}

function requireAccountId(id) {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalidInput('account_id');
  return id;
}

function newAccountId() {
  return crypto.randomUUID().replaceAll('-', '');
}

function accountList(stored) {
  return Array.isArray(stored) ? stored : [];
}

/** The stored portfolios; never empty (the default one stands in until storage has one). */
function portfolioList(stored) {
  const list = Array.isArray(stored) ? stored.filter((p) => p && typeof p.id === 'string' && typeof p.name === 'string') : [];
  return list.length ? list : [{ id: DEFAULT_PORTFOLIO, name: t('defaultPortfolioName') }];
}

function manualList(stored) {
  return Array.isArray(stored) ? stored : [];
}

/** Brings storage an earlier version wrote up to the current format, once (src/profile.rs).
 * Nothing is removed. Only this one-time step waits for the core. */
async function migrate() {
  await finishRestore();
  const stored = await local.get(['formatVersion', 'accounts', 'portfolios']);
  if (Number.isSafeInteger(stored.formatVersion) && stored.formatVersion >= STORAGE_FORMAT) return;
  await engineReady();
  const upgraded = cartera.upgradeStorage(JSON.stringify(stored), t('defaultPortfolioName'));
  if (upgraded) await write(JSON.parse(upgraded));
}

/** `{ "<id>": "<exchange>" }` for the core, which binds each sealed key to its exchange. */
function exchangesJson(accounts) {
  return JSON.stringify(Object.fromEntries(accounts.map((account) => [account.id, account.exchange])));
}

/** Keys sealed in the vault that no account lists (left by an interrupted edit of an earlier
 * version, or a damaged account list) block every edit until the user removes them
 * (repairVault), which the error says. An account whose key is missing can still be deleted. */
function requireNoUnlistedKeys(vault, accounts) {
  const listed = new Set(accounts.map((account) => account.id));
  if ([...cartera.vaultAccountIds(vault)].some((id) => !listed.has(id))) throw { code: 'vault_mismatch' };
}

/** The vault and the account list must always name the same accounts; a write that would break
 * that is refused (and nothing is written). */
function requireSameAccounts(vault, accounts) {
  const sealed = [...cartera.vaultAccountIds(vault)].sort();
  const listed = accounts.map((account) => account.id).sort();
  if (sealed.length !== listed.length || sealed.some((id, i) => id !== listed[i])) throw { code: 'vault_changed' };
}

/** storage.local.set. When storage is full, the value history (the only part that grows by
 * itself) first makes room within its budget, and the write is tried once more; a write that still
 * does not fit is reported as storage_full. A write is atomic, so the previous data stays intact. */
async function write(items) {
  try {
    await local.set(items);
    return;
  } catch (error) {
    if (!isQuotaError(error)) throw error;
  }
  if (await makeRoom()) {
    try {
      await local.set(items);
      return;
    } catch (error) {
      if (!isQuotaError(error)) throw error;
    }
  }
  throw { code: 'storage_full' };
}

function isQuotaError(error) {
  return /quota/i.test(String(error?.message ?? error));
}

/** Brings the value history within its budget (src/history.rs): oldest months thinned, then the
 * oldest chunks dropped. Returns whether anything was freed. */
async function makeRoom() {
  await engineReady();
  const everything = await local.get(null);
  const chunks = Object.fromEntries(Object.entries(everything).filter(([key]) => key.startsWith(HISTORY_PREFIX)));
  const prune = JSON.parse(cartera.historyPrune(JSON.stringify(chunks), quotaBytes(), await bytesInUse(everything)));
  if (prune.remove.length === 0 && Object.keys(prune.write).length === 0) return false;
  // Room is what is missing: what goes is removed first, then what is thinned is rewritten smaller.
  if (prune.remove.length) await local.remove(prune.remove);
  if (Object.keys(prune.write).length) await local.set(prune.write);
  return true;
}

// Storage read-modify-write steps run one at a time, so an account added while a refresh is in
// flight is not overwritten when the refresh stores its results.
let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => {});
  return run;
}

// The session's key, flag and epoch change only here, one step at a time: a lock can never fall
// between the check and the write of an unlock.
let sessionQueue = Promise.resolve();
function sessionExclusive(task) {
  const run = sessionQueue.then(task, task);
  sessionQueue = run.catch(() => {});
  return run;
}

// ---------------------------------------------------------------------------------------------
// Lock state

async function lockEpoch() {
  const { lockEpoch: epoch } = await session.get('lockEpoch');
  return Number.isSafeInteger(epoch) ? epoch : 0;
}

async function sessionKey() {
  const { vaultKey } = await session.get('vaultKey');
  return typeof vaultKey === 'string' && vaultKey ? vaultKey : null;
}

async function requireSessionKey() {
  const vaultKey = await sessionKey();
  if (!vaultKey) throw { code: 'locked' };
  return vaultKey;
}

/**
 * Caches the vault key, unless a lock happened since `epoch` (then nothing is written and false
 * is returned). The auto-lock alarm is armed first: if arming fails, the key is not stored.
 */
function storeKey(vaultKey, epoch) {
  return sessionExclusive(async () => {
    if ((await lockEpoch()) !== epoch) return false;
    await armAutoLock();
    await session.set({ vaultKey, unlocked: true });
    return true;
  });
}

/** Forgets the key and invalidates every operation already in flight. */
function lockNow() {
  // Work in flight with the key stops at once: nothing more is signed for it, and the tokens
  // exchanges issued for the keys are forgotten with it.
  engine?.cancel();
  engine?.endSessions();
  return sessionExclusive(async () => {
    await session.set({ lockEpoch: (await lockEpoch()) + 1 });
    await session.remove(['vaultKey', 'unlocked']);
    await browser.alarms.clear(AUTOLOCK_ALARM);
  });
}

/** A cached key that no longer opens the vault (the passphrase changed elsewhere) is dropped. */
async function dropStaleKey() {
  await lockNow();
  return { code: 'locked' };
}

async function getState() {
  const stored = await local.get(['vault', 'accounts', 'settings', 'snapshot', 'lastError', 'portfolios', 'manual']);
  const { unlocked } = await session.get('unlocked');
  const hasVault = typeof stored.vault === 'string';
  return {
    ok: true,
    hasVault,
    unlocked: hasVault && unlocked === true,
    lockEpoch: await lockEpoch(),
    accounts: accountList(stored.accounts),
    portfolios: portfolioList(stored.portfolios),
    manual: manualList(stored.manual),
    settings: withDefaults(stored.settings),
    snapshot: stored.snapshot ?? null,
    lastError: stored.lastError ?? null,
    refreshing: inflight !== null,
  };
}

async function unlock(message) {
  const vaultKey = requireString(message.vaultKey, 64, 'vault_key');
  const epoch = await lockEpoch();
  // The page says which lock state it unlocked from: a Lock since then wins.
  if (Number.isSafeInteger(message.epoch) && message.epoch !== epoch) throw { code: 'locked' };
  const core = await engineReady();
  // A vault from before passphrases were normalised comes back moved on (openVault in the page,
  // which has the passphrase): it replaces the vault it came from, if that is still the stored one.
  if (message.upgraded !== undefined) {
    const base = requireString(message.base, MAX_VAULT_CHARS, 'vault');
    const upgraded = requireString(message.upgraded, MAX_VAULT_CHARS, 'vault');
    await exclusive(async () => {
      const { vault: stored, accounts } = await local.get(['vault', 'accounts']);
      if (stored !== base) throw { code: 'vault_changed' };
      core.checkVaultKey(upgraded, vaultKey);
      const list = accountList(accounts);
      requireNoUnlistedKeys(stored, list);
      requireSameAccounts(upgraded, list);
      await write({ vault: upgraded });
    });
  }
  const { vault } = await local.get('vault');
  if (typeof vault !== 'string') throw { code: 'no_vault' };
  core.checkVaultKey(vault, vaultKey);
  if (!(await storeKey(vaultKey, epoch))) throw { code: 'locked' };
  await upgradeVault(core, vaultKey);
  importHistory({ fresh: true });
  return { ok: true };
}

/** Re-seals a format 1 vault as format 2 (each key bound to its exchange), once, on unlock. */
function upgradeVault(core, vaultKey) {
  return exclusive(async () => {
    const { vault, accounts } = await local.get(['vault', 'accounts']);
    if (typeof vault !== 'string') return;
    const list = accountList(accounts);
    requireNoUnlistedKeys(vault, list);
    const upgraded = core.upgradeVault(vault, vaultKey, exchangesJson(list));
    if (upgraded === vault) return;
    requireSameAccounts(upgraded, list);
    await write({ vault: upgraded });
  });
}

async function lock() {
  await lockNow();
  return { ok: true };
}

async function activity() {
  if (await sessionKey()) await armAutoLock();
  return { ok: true };
}

async function armAutoLock() {
  const { settings } = await local.get('settings');
  const minutes = withDefaults(settings).autoLockMinutes;
  if (!AUTO_LOCK_MINUTES.includes(minutes) || !minutes) {
    await browser.alarms.clear(AUTOLOCK_ALARM);
    if (!AUTO_LOCK_MINUTES.includes(minutes)) throw invalidInput();
    return;
  }
  // Creating an alarm with an existing name replaces it, which restarts the idle countdown.
  await browser.alarms.create(AUTOLOCK_ALARM, { delayInMinutes: minutes });
}

function onAlarm(alarm) {
  if (alarm.name === AUTOLOCK_ALARM) lockNow();
  else if (alarm.name === SYNC_ALARM) runSync();
  else if (alarm.name === NEWS_ALARM) fetchNews();
  else if (alarm.name === IMPORT_ALARM) importHistory();
}

// ---------------------------------------------------------------------------------------------
// Accounts and vault

/** The key's own API passphrase (OKX, KuCoin), when the page sent one; the core checks that the
 * exchange asks for it. Never Cartera's vault passphrase. */
function apiPassphraseOf(message) {
  return message.apiPassphrase === undefined ? null : requireString(message.apiPassphrase, 256, 'api_passphrase');
}

async function testAccount(message) {
  const exchange = requireExchange(message.exchange);
  const apiKey = requireString(message.apiKey, 4096, 'api_key');
  const apiSecret = requireString(message.apiSecret, 8192, 'api_secret');
  const apiPassphrase = apiPassphraseOf(message);
  const core = await engineReady();
  core.checkCredentials(exchange, apiKey, apiSecret, apiPassphrase);
  const check = await core.testConnection(exchange, apiKey, apiSecret, apiPassphrase, null);
  return { ok: true, currencies: check.currencies, scope: check.scope ?? null, readOnly: check.readOnly ?? null };
}

async function addAccount(message) {
  const label = requireString(message.label, 64, 'label');
  const exchange = requireExchange(message.exchange);
  const apiKey = requireString(message.apiKey, 4096, 'api_key');
  const apiSecret = requireString(message.apiSecret, 8192, 'api_secret');
  const apiPassphrase = apiPassphraseOf(message);
  const vaultKey = requireString(message.vaultKey, 64, 'vault_key');
  // The vault text the page derived the key from (null when it created the first vault):
  // the write happens only if the stored vault is still exactly that.
  const base = message.base === null ? null : requireString(message.base, MAX_VAULT_CHARS, 'vault');
  const newVault = base === null ? requireString(message.newVault, MAX_VAULT_CHARS, 'vault') : null;
  const replaceId = message.accountId === undefined ? null : requireAccountId(message.accountId);
  const portfolio = message.portfolio === undefined ? null : requirePortfolioId(message.portfolio);
  const epoch = await lockEpoch();
  const core = await engineReady();

  // Cheap and local first: a wrong passphrase or a malformed secret fails before anything is sent.
  core.checkVaultKey(base ?? newVault, vaultKey);
  core.checkCredentials(exchange, apiKey, apiSecret, apiPassphrase);
  const { nonces: storedNonces } = await local.get('nonces');
  const lastNonce = replaceId !== null && typeof storedNonces?.[replaceId] === 'string' ? storedNonces[replaceId] : null;
  // Only a key the exchange accepts is ever stored.
  const check = await core.testConnection(exchange, apiKey, apiSecret, apiPassphrase, lastNonce);
  const scope = check.scope ?? null;
  // The core judges the key (null: the exchange cannot say, shown as "Permissions not checked").
  if (check.readOnly === false && message.acceptScope !== true) throw { code: 'key_not_read_only', exchange, scope };

  const account = await exclusive(async () => {
    const current = await local.get(['vault', 'accounts', 'nonces', 'portfolios']);
    const stored = typeof current.vault === 'string' ? current.vault : null;
    if (stored !== base) throw { code: 'vault_changed' };
    const portfolios = portfolioList(current.portfolios);
    if (portfolio !== null && !portfolios.some((existing) => existing.id === portfolio)) throw { code: 'portfolio_not_found' };
    const accounts = accountList(current.accounts);
    if (stored !== null) requireNoUnlistedKeys(stored, accounts);
    const target = stored === null ? newVault : core.upgradeVault(stored, vaultKey, exchangesJson(accounts));
    // Replacing a key keeps the account's id and place; its new credentials are sealed over the old.
    const replaced = replaceId === null ? null : accounts.find((existing) => existing.id === replaceId);
    if (replaceId !== null && (!replaced || replaced.exchange !== exchange)) throw { code: 'account_not_found' };
    const saved = {
      id: replaced?.id ?? newAccountId(),
      label,
      exchange,
      addedAt: replaced?.addedAt ?? Date.now(),
      lastSync: replaced?.lastSync ?? null,
      status: 'active',
      error: null,
      // What the key may do, as the exchange reported it; null where it cannot say.
      scope,
      scopeCheckedAt: scope ? Date.now() : null,
      portfolio: portfolio ?? (replaced ? portfolioOf(replaced, portfolios) : portfolios[0].id),
      importBalance: replaced ? replaced.importBalance !== false : true,
    };
    const sealed = core.sealAccount(target, vaultKey, saved.id, exchange, apiKey, apiSecret, apiPassphrase);
    const updated = replaced
      ? accounts.map((existing) => (existing.id === saved.id ? saved : existing))
      : [...accounts, saved];
    requireSameAccounts(sealed, updated);
    const nonces = { ...(current.nonces ?? {}) };
    if (typeof check.lastNonce === 'string') nonces[saved.id] = check.lastNonce;
    // A replaced key may have the history permission the old one lacked: ask again at once.
    const { txState } = await local.get('txState');
    const { error: _error, nextAt: _nextAt, ...history } = txState?.[saved.id] ?? {};
    // Vault and account list in one write, so neither can exist without the other.
    await write({ vault: sealed, accounts: updated, nonces, txState: { ...txState, [saved.id]: history } });
    return saved;
  });
  // The replaced key's token, if its exchange issued one, goes with it.
  if (replaceId !== null) core.endSessions();
  const unlocked = await storeKey(vaultKey, epoch);
  if (unlocked) {
    refreshSoon();
    importHistory();
  }
  await scheduleSync();
  return { ok: true, account, unlocked };
}

async function removeAccount(message) {
  const id = requireAccountId(message.id);
  const core = await engineReady();
  const vaultKey = message.vaultKey === undefined ? await requireSessionKey() : requireString(message.vaultKey, 64, 'vault_key');
  const reply = await exclusive(async () => {
    const current = await local.get(['vault', 'accounts', 'nonces']);
    const accounts = accountList(current.accounts);
    if (typeof current.vault !== 'string' || !accounts.some((account) => account.id === id)) {
      throw { code: 'account_not_found' };
    }
    // Deleting needs the key even when the vault has no entry left for the account.
    core.checkVaultKey(current.vault, vaultKey);
    requireNoUnlistedKeys(current.vault, accounts);
    const sealedIds = cartera.vaultAccountIds(current.vault);
    // An account whose sealed key is missing (a "ghost") still leaves the list.
    const vault = sealedIds.includes(id) ? core.removeAccount(current.vault, vaultKey, id) : current.vault;
    const remaining = accounts.filter((account) => account.id !== id);
    requireSameAccounts(vault, remaining);
    const nonces = { ...(current.nonces ?? {}) };
    delete nonces[id];
    // The stored totals include the removed account; drop them until the next refresh.
    const update = { vault, accounts: remaining, nonces, snapshot: null };
    if (remaining.length === 0) update.lastError = null;
    const { txState, txCosts } = await local.get(['txState', 'txCosts']);
    update.txState = Object.fromEntries(Object.entries(txState ?? {}).filter(([account]) => account !== id));
    update.txCosts = Object.fromEntries(Object.entries(txCosts ?? {}).filter(([account]) => account !== id));
    await write(update);
    // Its transactions go with it.
    const everything = await local.get(null);
    await local.remove(Object.keys(everything).filter((key) => key.startsWith(`${TX_PREFIX}${id}:`)));
    return { ok: true, accounts: remaining, vaultEmpty: remaining.length === 0 };
  });
  // The removed key's token, if its exchange issued one, goes with it.
  core.endSessions();
  if (!reply.vaultEmpty && (await sessionKey())) refreshSoon();
  if (reply.vaultEmpty) await scheduleSync();
  return reply;
}

async function resetVault() {
  await lockNow();
  await exclusive(async () => {
    const history = Object.keys(await historyChunks());
    // Portfolios and manual holdings hold no key and stay; everything the keys fetched goes.
    await local.remove([
      'vault', 'accounts', 'snapshot', 'portfolioSnapshots', 'lastError', 'nonces', 'lockouts', 'syncState',
      'historyView', 'portfolioHistoryViews', 'historyCompactedAt', ...history,
    ]);
  });
  await scheduleSync();
  await updateBadge();
  return { ok: true };
}

async function changePassphrase(message) {
  const vault = requireString(message.vault, MAX_VAULT_CHARS, 'vault');
  const vaultKey = requireString(message.vaultKey, 64, 'vault_key');
  const base = requireString(message.base, MAX_VAULT_CHARS, 'vault');
  const epoch = await lockEpoch();
  const core = await engineReady();
  // The page proved the old passphrase with changePassphrase(); this checks the pair it sent.
  core.checkVaultKey(vault, vaultKey);
  await exclusive(async () => {
    const current = await local.get(['vault', 'accounts']);
    if (typeof current.vault !== 'string') throw { code: 'no_vault' };
    // Re-sealed from the vault the page saw: any change since (another tab added, replaced or
    // deleted a key) would be lost or resurrected, so nothing is written.
    if (current.vault !== base) throw { code: 'vault_changed' };
    requireNoUnlistedKeys(current.vault, accountList(current.accounts));
    requireSameAccounts(vault, accountList(current.accounts));
    await write({ vault });
  });
  // The old cached key no longer opens the vault: replace it, unless a lock came meanwhile.
  if (!(await storeKey(vaultKey, epoch))) await lockNow();
  return { ok: true };
}

/** Removes the keys no account lists, with the passphrase proven (the page derived `vaultKey`),
 * from the vault the page saw (`base`): every edit works again. Listed keys are untouched. */
async function repairVault(message) {
  const vaultKey = requireString(message.vaultKey, 64, 'vault_key');
  const base = requireString(message.base, MAX_VAULT_CHARS, 'vault');
  const core = await engineReady();
  await exclusive(async () => {
    const current = await local.get(['vault', 'accounts']);
    if (current.vault !== base) throw { code: 'vault_changed' };
    const accounts = accountList(current.accounts);
    const repaired = core.dropUnlistedKeys(base, vaultKey, JSON.stringify(accounts.map((account) => account.id)));
    await write({ vault: repaired });
  });
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Settings

async function setSettings(message) {
  const changes = message.settings;
  if (!changes || typeof changes !== 'object') throw invalidInput();
  await engineReady();
  const { before, after } = await exclusive(async () => {
    const { settings: stored } = await local.get('settings');
    // The core checks every value against what is offered and reads typed numbers in the page's language.
    const merged = JSON.parse(cartera.applySettings(JSON.stringify(stored ?? null), JSON.stringify(changes), message.decimalMark === ',' ? ',' : '.'));
    await write({ settings: merged });
    return { before: withDefaults(stored), after: merged };
  });
  const unlocked = (await sessionKey()) !== null;
  if (unlocked && before.autoLockMinutes !== after.autoLockMinutes) await armAutoLock();
  if (unlocked && before.quote !== after.quote) refreshSoon();
  if (before.syncMinutes !== after.syncMinutes) {
    await local.remove('syncState');
    await scheduleSync();
  }
  // The core lists small balances as it values: a new threshold takes a revaluation.
  if (before.hideBelow !== after.hideBelow) revalue();
  if (before.badge !== after.badge || before.privacy !== after.privacy) await updateBadge();
  return { ok: true, settings: after };
}

// ---------------------------------------------------------------------------------------------
// Portfolios, accounts' portfolio and import switch, manual holdings

function requirePortfolioId(id) {
  if (typeof id !== 'string' || !/^[a-z0-9-]{1,40}$/.test(id)) throw invalidInput('portfolio');
  return id;
}

function newPortfolioId() {
  return `p${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Creates a portfolio (no id) or renames one. */
async function savePortfolio(message) {
  const name = requireString(message.name, 40, 'label');
  const id = message.id === undefined ? null : requirePortfolioId(message.id);
  const portfolios = await exclusive(async () => {
    const list = portfolioList((await local.get('portfolios')).portfolios);
    if (id !== null && !list.some((portfolio) => portfolio.id === id)) throw { code: 'portfolio_not_found' };
    if (id === null && list.length >= MAX_PORTFOLIOS) throw { code: 'too_many' };
    const updated = id === null ? [...list, { id: newPortfolioId(), name }] : list.map((p) => (p.id === id ? { ...p, name } : p));
    await write({ portfolios: updated });
    return updated;
  });
  return { ok: true, portfolios };
}

/** Deletes a portfolio; its accounts and holdings move to `target` (the first other one by
 * default), keys untouched. Its own history goes with it. */
async function deletePortfolio(message) {
  const id = requirePortfolioId(message.id);
  const target = message.target === undefined ? null : requirePortfolioId(message.target);
  // The core knows which history keys are the portfolio's.
  await engineReady();
  const reply = await exclusive(async () => {
    const current = await local.get(['portfolios', 'accounts', 'manual', 'portfolioSnapshots', 'portfolioHistoryViews']);
    const list = portfolioList(current.portfolios);
    if (!list.some((portfolio) => portfolio.id === id)) throw { code: 'portfolio_not_found' };
    const remaining = list.filter((portfolio) => portfolio.id !== id);
    if (remaining.length === 0) throw { code: 'last_portfolio' };
    const into = target ?? remaining[0].id;
    if (!remaining.some((portfolio) => portfolio.id === into)) throw { code: 'portfolio_not_found' };
    const move = (entry) => (portfolioOf(entry, list) === id ? { ...entry, portfolio: into } : entry);
    const accounts = accountList(current.accounts).map(move);
    const manual = manualList(current.manual).map(move);
    const { [id]: _snapshot, ...portfolioSnapshots } = current.portfolioSnapshots ?? {};
    const { [id]: _view, ...portfolioHistoryViews } = current.portfolioHistoryViews ?? {};
    await write({ portfolios: remaining, accounts, manual, portfolioSnapshots, portfolioHistoryViews });
    const history = Object.keys(await historyChunks()).filter((key) => cartera.historyOwns(id, key));
    if (history.length) await local.remove(history);
    return { ok: true, portfolios: remaining, accounts, manual, target: into };
  });
  revalue();
  return reply;
}

/** Moves an account to another portfolio and/or turns its "Import balance" on or off. Neither
 * touches its key. */
async function setAccount(message) {
  const id = requireAccountId(message.id);
  const portfolio = message.portfolio === undefined ? null : requirePortfolioId(message.portfolio);
  if (message.importBalance !== undefined && typeof message.importBalance !== 'boolean') throw invalidInput('account_id');
  const accounts = await exclusive(async () => {
    const current = await local.get(['accounts', 'portfolios']);
    const list = accountList(current.accounts);
    if (!list.some((account) => account.id === id)) throw { code: 'account_not_found' };
    if (portfolio !== null && !portfolioList(current.portfolios).some((p) => p.id === portfolio)) throw { code: 'portfolio_not_found' };
    const updated = list.map((account) => {
      if (account.id !== id) return account;
      const changed = { ...account };
      if (portfolio !== null) changed.portfolio = portfolio;
      if (typeof message.importBalance === 'boolean') changed.importBalance = message.importBalance;
      return changed;
    });
    await write({ accounts: updated });
    return updated;
  });
  revalue();
  return { ok: true, accounts };
}

// The most markets one account names: a handful is typical; each costs a request per sync.
const MAX_NAMED_MARKETS = 50;

/** Names a market for an account's history (an exchange that cannot list the markets an account
 * traded, src/exchange/mod.rs `reads_named_markets`): the core spells it as the exchange does and
 * checks the exchange lists it; then the import goes on at once to read its trades. */
async function addMarket(message) {
  const id = requireAccountId(message.id);
  const text = requireString(message.market, 40, 'market');
  const { accounts: stored } = await local.get('accounts');
  const account = accountList(stored).find((known) => known.id === id);
  if (!account) throw { code: 'account_not_found' };
  const core = await engineReady();
  const market = await core.namedMarket(account.exchange, text);
  const accounts = await exclusive(async () => {
    const current = await local.get(['accounts', 'txState']);
    const list = accountList(current.accounts);
    const found = list.find((known) => known.id === id);
    if (!found) throw { code: 'account_not_found' };
    const markets = Array.isArray(found.markets) ? found.markets : [];
    if (markets.includes(market)) return list;
    if (markets.length >= MAX_NAMED_MARKETS) throw invalidInput('market');
    const updated = list.map((known) => (known.id === id ? { ...known, markets: [...markets, market] } : known));
    const update = { accounts: updated };
    // A caught-up import reads the new market in its next pass: that pass starts now.
    const state = current.txState?.[id];
    if (state?.caughtUp && !state.error) update.txState = { ...current.txState, [id]: { ...state, caughtUp: false, nextAt: 0 } };
    await write(update);
    return updated;
  });
  importHistory();
  return { ok: true, market, accounts };
}

/** Stops naming a market for an account; the trades already imported stay. */
async function removeMarket(message) {
  const id = requireAccountId(message.id);
  const market = requireString(message.market, 40, 'market');
  const accounts = await exclusive(async () => {
    const list = accountList((await local.get('accounts')).accounts);
    if (!list.some((known) => known.id === id)) throw { code: 'account_not_found' };
    const updated = list.map((known) => {
      if (known.id !== id || !Array.isArray(known.markets)) return known;
      const { markets, ...rest } = known;
      const kept = markets.filter((named) => named !== market);
      return kept.length ? { ...rest, markets: kept } : rest;
    });
    await write({ accounts: updated });
    return updated;
  });
  return { ok: true, accounts };
}

/** Adds or replaces a typed-in holding; the core checks the asset code and reads the amount as
 * the page's language writes numbers. One entry per asset and portfolio. */
async function saveHolding(message) {
  const holding = message.holding;
  if (!holding || typeof holding !== 'object') throw invalidInput('amount');
  const portfolio = requirePortfolioId(holding.portfolio);
  const note = typeof holding.note === 'string' ? holding.note.trim() : '';
  if (note.length > 100) throw invalidInput('note');
  if (typeof holding.asset !== 'string' || typeof holding.amount !== 'string') throw invalidInput('amount');
  await engineReady();
  const checked = cartera.checkHolding(holding.asset, holding.amount, holding.decimalMark === ',' ? ',' : '.');
  const manual = await exclusive(async () => {
    const current = await local.get(['manual', 'portfolios']);
    if (!portfolioList(current.portfolios).some((p) => p.id === portfolio)) throw { code: 'portfolio_not_found' };
    const list = manualList(current.manual);
    // An entry is one place the user keeps an asset (two wallets of BTC are two entries); saving
    // with an id edits that entry in place.
    const id = typeof holding.id === 'string' && list.some((entry) => entry.id === holding.id) ? holding.id : null;
    if (id === null && list.length >= MAX_MANUAL) throw { code: 'too_many' };
    const saved = { id: id ?? newAccountId(), portfolio, asset: checked.asset, amount: checked.amount, note };
    const updated = id === null ? [...list, saved] : list.map((entry) => (entry.id === id ? saved : entry));
    await write({ manual: updated });
    return updated;
  });
  revalue();
  await scheduleSync();
  return { ok: true, manual };
}

async function deleteHolding(message) {
  if (typeof message.id !== 'string') throw invalidInput('amount');
  const manual = await exclusive(async () => {
    const current = await local.get(['manual', 'accounts']);
    const updated = manualList(current.manual).filter((entry) => entry.id !== message.id);
    // Nothing left to show: the stored totals go too.
    const nothingLeft = updated.length === 0 && accountList(current.accounts).length === 0;
    await write(nothingLeft ? { manual: updated, snapshot: null, portfolioSnapshots: null } : { manual: updated });
    return updated;
  });
  revalue();
  await scheduleSync();
  return { ok: true, manual };
}

/** After a change in what is counted: values again, after the refresh in flight if any, without
 * waiting for the next sync (fresh balances when unlocked, fresh prices for the last balances when
 * locked). The pages follow the stored results; the change itself is already saved. */
function revalue() {
  (inflight ?? Promise.resolve()).then(() => refreshShared({ automatic: true }));
}

// ---------------------------------------------------------------------------------------------
// Automatic sync

/**
 * Plans the next sync and sets the alarm for it: the stored plan when it is believable (the
 * backoff survives a worker restart), else a fresh one with jitter (src/schedule.rs).
 */
async function scheduleSync({ failures } = {}) {
  await engineReady();
  const { settings, syncState, accounts, manual } = await local.get(['settings', 'syncState', 'accounts', 'manual']);
  const minutes = withDefaults(settings).syncMinutes;
  const tracked = accountList(accounts).length + manualList(manual).length;
  const count = Number.isSafeInteger(failures) ? failures : Number.isSafeInteger(syncState?.failures) ? syncState.failures : 0;
  const stored = failures === undefined && Number.isFinite(syncState?.nextAt) ? syncState.nextAt : null;
  const nextAt = tracked && SYNC_MINUTES.includes(minutes) ? cartera.planSync(minutes, count, stored) : null;
  if (nextAt === null || nextAt === undefined) {
    await browser.alarms.clear(SYNC_ALARM);
    await local.remove('syncState');
    return;
  }
  await browser.alarms.create(SYNC_ALARM, { when: nextAt });
  await local.set({ syncState: { nextAt, failures: count } });
}

/** The alarm's work: the shared refresh when unlocked, fresh prices for the last balances when locked. */
async function runSync() {
  const reply = await refreshShared({ automatic: true });
  const { syncState } = await local.get('syncState');
  const failures = reply.ok ? 0 : (Number.isSafeInteger(syncState?.failures) ? syncState.failures : 0) + 1;
  await scheduleSync({ failures });
}

// ---------------------------------------------------------------------------------------------
// Alerts, notifications and the badge

async function saveAlert(message) {
  const alert = message.alert;
  if (!alert || typeof alert !== 'object') throw invalidInput('alert');
  const candidate = { ...alert, id: typeof alert.id === 'string' ? alert.id : crypto.randomUUID() };
  await engineReady();
  // Numbers typed in the form are read the way the page's language writes them.
  if (message.decimalMark === '.' || message.decimalMark === ',') {
    for (const field of ['threshold', 'percent']) {
      if (typeof candidate[field] !== 'string') continue;
      candidate[field] = cartera.checkThreshold(candidate[field], message.decimalMark);
    }
  }
  // The core refuses what could never be judged: a threshold that is not a positive decimal, a
  // bad asset code.
  const checked = JSON.parse(cartera.checkAlert(JSON.stringify(candidate)));
  const alerts = await exclusive(async () => {
    const { alerts: stored } = await local.get('alerts');
    const list = Array.isArray(stored) ? stored : [];
    const index = list.findIndex((existing) => existing.id === checked.id);
    if (index < 0 && list.length >= MAX_ALERTS) throw { code: 'too_many' };
    const updated = index < 0 ? [...list, checked] : list.map((existing, i) => (i === index ? checked : existing));
    await write({ alerts: updated });
    return updated;
  });
  return { ok: true, alert: checked, alerts };
}

async function deleteAlert(message) {
  if (typeof message.id !== 'string') throw invalidInput('alert');
  await exclusive(async () => {
    const { alerts: stored, alertStates } = await local.get(['alerts', 'alertStates']);
    const states = { ...(alertStates ?? {}) };
    delete states[message.id];
    await write({ alerts: (Array.isArray(stored) ? stored : []).filter((alert) => alert.id !== message.id), alertStates: states });
  });
  await browser.notifications.clear(message.id);
  return { ok: true };
}

/** Checks every alert against the new snapshot and notifies what fired. */
async function checkAlerts(snapshot) {
  const { alerts, alertStates, accounts, settings } = await local.get(['alerts', 'alertStates', 'accounts', 'settings']);
  const { privacy } = withDefaults(settings);
  if (!Array.isArray(alerts) || alerts.length === 0) return;
  const result = JSON.parse(cartera.evaluateAlerts(JSON.stringify(alerts), JSON.stringify(alertStates ?? {}), JSON.stringify(snapshot)));
  await write({ alertStates: result.states });
  for (const firing of result.firings) {
    const alert = alerts.find((candidate) => candidate.id === firing.alertId);
    if (!alert) continue;
    const account = accountList(accounts).find((candidate) => candidate.id === firing.accountId);
    // The notification's id is the alert's: a repeat replaces the earlier one.
    await browser.notifications.create(alert.id, {
      type: 'basic',
      iconUrl: browser.runtime.getURL('icons/icon-128.png'),
      title: t('alertNotifyTitle'),
      message: notificationText(alert, firing, snapshot.quote, account, privacy),
    });
  }
}

/** The notification's sentence; with "Hide amounts" on, every amount in it is masked. */
function notificationText(alert, firing, quote, account, privacy) {
  const asset = alert.asset?.toUpperCase() ?? '';
  const money = (value) => (privacy ? t('masked') : formatMoney(value, alert.currency ?? quote, uiLang()));
  switch (alert.kind) {
    case 'move24h':
      return t('alertNotify_move24h', [asset, formatPercent(firing.value, uiLang(), { signed: true })]);
    case 'accountFailing':
      return t('alertNotify_accountFailing', [
        account?.label ?? '', account ? exchangeName(account.exchange) : '', errorText({ code: firing.code, exchange: account?.exchange }),
      ]);
    case 'totalAbove':
    case 'totalBelow':
      return t(`alertNotify_${alert.kind}`, [money(firing.value), money(alert.threshold)]);
    default:
      return t(`alertNotify_${alert.kind}`, [asset, money(firing.value), money(alert.threshold)]);
  }
}

/** A click opens the alert in the options page. */
async function onNotificationClicked(id) {
  await browser.tabs.create({ url: browser.runtime.getURL(`options/options.html#alert-${encodeURIComponent(id)}`) });
  await browser.notifications.clear(id);
}

/** The toolbar badge: nothing, the total in compact form, or the 24 h change on green or red. */
async function updateBadge() {
  const { settings, snapshot } = await local.get(['settings', 'snapshot']);
  const { badge: mode, privacy } = withDefaults(settings);
  const action = browser.action;
  // "Hide amounts" hides the badge too: it sits on screen all the time.
  if (mode === 'none' || !snapshot || privacy) {
    await action.setBadgeText({ text: '' });
    return;
  }
  if (mode === 'total') {
    const compact = new Intl.NumberFormat(uiLang(), { notation: 'compact', maximumFractionDigits: 1 });
    await action.setBadgeBackgroundColor({ color: '#3b4cca' });
    await action.setBadgeText({ text: compact.format(snapshot.total).replace(/\s/g, '') });
    return;
  }
  const change = snapshot.change24h;
  if (change === null || change === undefined) {
    await action.setBadgeText({ text: '' });
    return;
  }
  const rounded = new Intl.NumberFormat('en', { maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: 'exceptZero' }).format(change);
  await action.setBadgeBackgroundColor({ color: change.startsWith('-') ? '#b3261e' : '#1b7f3b' });
  await action.setBadgeText({ text: rounded.replace('-', '\u2212') });
}

// ---------------------------------------------------------------------------------------------
// Refresh

// Every caller while a refresh runs gets that same refresh: ten clicks make one request.
let inflight = null;

/** `automatic`: a sync, which while locked still fetches prices for the last known balances. */
function refreshShared({ automatic = false } = {}) {
  inflight ??= exchangeTraffic(() => runRefresh({ automatic }))
    .catch(failure)
    .finally(() => {
      inflight = null;
    });
  return inflight;
}

/** Refreshes after the running refresh (if any), so changes made meanwhile are picked up. */
function refreshSoon() {
  (inflight ?? Promise.resolve()).then(refreshShared);
}

/** Firefox users can withhold host permissions; say which exchange instead of failing as "offline". */
async function requireExchangeAccess(exchanges) {
  for (const exchange of exchanges) {
    if (!(await browser.permissions.contains({ origins: originsOf([exchange]) }))) {
      throw { code: 'host_permission', exchange };
    }
  }
}

/** Waits for the core's `work`, stopping it (engine.cancel) if it runs past `ms`; it then ends
 * promptly with the `cancelled` error and what it spent, which is still settled. */
async function stopAfter(core, work, ms) {
  const timer = setTimeout(() => core.cancel(), ms);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

async function runRefresh({ automatic }) {
  await migrated;
  const stored = await local.get(['vault', 'accounts', 'settings', 'snapshot', 'nonces', 'lockouts', 'portfolios', 'manual']);
  const accounts = accountList(stored.accounts);
  const hasVault = typeof stored.vault === 'string';
  if ((!hasVault || accounts.length === 0) && manualList(stored.manual).length === 0) throw { code: 'no_accounts' };
  // Accounts whose "Import balance" is off are neither fetched nor counted (the core leaves them out).
  const importing = hasVault ? accounts.filter((account) => account.importBalance !== false) : [];
  const core = await engineReady();
  let vaultKey = hasVault ? await sessionKey() : null;
  if (vaultKey) {
    try {
      core.checkVaultKey(stored.vault, vaultKey);
    } catch {
      if (!automatic) throw await dropStaleKey();
      await dropStaleKey();
      vaultKey = null;
    }
  }
  // Locked: a click asks for the passphrase; a sync revalues the last balances (nothing secret).
  if (!vaultKey && importing.length && (!automatic || !stored.snapshot)) throw { code: 'locked' };
  await requireExchangeAccess([...new Set(importing.map((account) => account.exchange))]);
  // An automatic sync is not the user's activity: it does not postpone the auto-lock.
  if (vaultKey && !automatic) await armAutoLock();

  const bridges = [];
  for (const bridge of PRICE_BRIDGES) {
    if (await browser.permissions.contains({ origins: originsOf([bridge]) })) bridges.push(bridge);
  }
  // What storage holds crosses as JSON text, the form the core reads it in; the vault and its key
  // only while unlocked.
  const { vault, ...readable } = stored;
  const refresh = core.refresh(
    JSON.stringify({ ...readable, accounts: hasVault ? accounts : [] }), JSON.stringify(bridges), t('manualHoldings'),
    vaultKey ? vault : undefined, vaultKey ?? undefined,
  );
  const outcome = await stopAfter(core, refresh, REFRESH_TIMEOUT_MS);
  const settled = await exclusive(async () => {
    const current = await local.get(['vault', 'accounts', 'nonces', 'snapshot', 'portfolios']);
    const { vault: currentVault, ...rest } = current;
    const decision = JSON.parse(cartera.settleRefresh(outcome, JSON.stringify({ ...rest, hasVault: typeof currentVault === 'string' })));
    await write(decision.update);
    return decision;
  });
  if (settled.observed) {
    await afterSnapshot(settled.observed, { record: settled.record, portfolios: settled.update.portfolioSnapshots ?? {} });
    await updatePnlSummary(core).catch(() => {});
  }
  // What is new in each account's history follows the balances (in turn, after this refresh).
  if (vaultKey) importHistory({ fresh: true });
  // Stopped: by a Lock since it began, or because it took too long.
  if (settled.reply.error?.code === 'cancelled') {
    return { ok: false, error: { code: (await sessionKey()) ? 'request_timeout' : 'locked' } };
  }
  return settled.reply;
}

/** What follows every refresh, manual or automatic: history points (for a new snapshot: all
 * portfolios together and each one), alerts and the badge. A failure here never undoes the
 * snapshot. */
async function afterSnapshot(snapshot, { record, portfolios }) {
  if (record) {
    try {
      await exclusive(() => recordHistory(snapshot, portfolios));
    } catch (error) {
      console.error('Cartera: history not recorded', error instanceof Error ? error.name : typeof error);
    }
  }
  try {
    await checkAlerts(snapshot);
  } catch (error) {
    console.error('Cartera: alerts not checked', error instanceof Error ? error.name : typeof error);
  }
  await updateBadge().catch(() => {});
}

// ---------------------------------------------------------------------------------------------
// Value history

/** Every stored history chunk, `{ key: text }`. */
async function historyChunks() {
  const everything = await local.get(null);
  return Object.fromEntries(Object.entries(everything).filter(([key]) => key.startsWith(HISTORY_PREFIX)));
}

/** Adds each snapshot as a point of its series (all portfolios together, and each portfolio
 * when there are several), applies the tiers now and then, keeps history within its budget of the
 * storage quota, and stores the popup's views: one call to the core. What makes room is stored
 * first, in writes of its own, so a full storage never keeps history from shrinking. */
async function recordHistory(snapshot, portfolios) {
  const everything = await local.get(null);
  const chunks = Object.fromEntries(Object.entries(everything).filter(([key]) => key.startsWith(HISTORY_PREFIX)));
  const { historyCompactedAt, portfolios: stored } = everything;
  const compactNow = !Number.isFinite(historyCompactedAt) || Date.now() - historyCompactedAt >= HISTORY_COMPACT_EVERY_MS;
  const known = new Set(portfolioList(stored).map((portfolio) => portfolio.id));
  const each = Object.fromEntries(Object.entries(portfolios ?? {}).filter(([id]) => known.has(id)));
  const recorded = JSON.parse(cartera.historyRecord(
    JSON.stringify(chunks), JSON.stringify(snapshot), JSON.stringify(each), compactNow, quotaBytes(), await bytesInUse(everything),
  ));
  if (Object.keys(recorded.prune.write).length) await write(recorded.prune.write);
  if (recorded.prune.remove.length) await local.remove(recorded.prune.remove);
  const { '': all, ...views } = recorded.views;
  const update = { ...recorded.append, historyView: all, portfolioHistoryViews: views };
  if (compactNow) update.historyCompactedAt = Date.now();
  await write(update);
}

/** storage.local's quota: Chrome's 10 MB (Firefox sets none, and gets the same budget). */
function quotaBytes() {
  return local.QUOTA_BYTES ?? 10_485_760;
}

/** What storage.local holds, in bytes as the browser counts them (getBytesInUse), or as Chrome
 * counts them where the browser cannot say (Firefox): each key and its value as JSON. */
async function bytesInUse(everything) {
  if (typeof local.getBytesInUse === 'function') {
    try {
      return await local.getBytesInUse(null);
    } catch {
      // Firefox lists the method for storage.local but rejects the call.
    }
  }
  const encoder = new TextEncoder();
  return Object.entries(everything).reduce((sum, [key, value]) => sum + encoder.encode(key).length + encoder.encode(JSON.stringify(value)).length, 0);
}

/** "Clear history": every history chunk and view goes; keys, accounts and settings stay. */
async function clearHistory() {
  await exclusive(async () => {
    const history = Object.keys(await historyChunks());
    await local.remove([...history, 'historyView', 'portfolioHistoryViews', 'historyCompactedAt']);
  });
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Backup

// Far above any real backup, low enough to refuse junk.
const MAX_BACKUP_CHARS = 32 * 1024 * 1024;

/** Everything storage.local holds, as JSON text, for the page to seal (src/backup.rs leaves out
 * what only this device needs). */
async function backupData() {
  const everything = await exclusive(() => local.get(null));
  return { ok: true, storage: JSON.stringify(everything) };
}

/** When a backup was last exported, or its reminder dismissed. */
async function noteBackup(change) {
  await exclusive(async () => {
    const { backupReminder } = await local.get('backupReminder');
    await write({ backupReminder: { ...(backupReminder ?? {}), ...change } });
  });
  return { ok: true };
}

/**
 * Replaces what this browser keeps with an opened backup's items (the page opened it with its
 * passphrase). The core checks them first. One write puts every restored item in place and lists
 * the keys of what it replaces; those are removed next, and a worker stopped in between removes
 * them on its next start (finishRestore), so the old profile never mixes into the restored one.
 */
async function restoreBackup(message) {
  const storage = requireString(message.storage, MAX_BACKUP_CHARS, 'backup');
  await engineReady();
  cartera.checkBackupStorage(storage);
  const items = JSON.parse(storage);
  // The key of the vault being replaced opens nothing that is restored.
  await lockNow();
  await exclusive(async () => {
    const current = await local.get(null);
    const replaced = Object.keys(current).filter((key) => !(key in items));
    try {
      await write({ ...items, pendingRemoval: replaced });
    } catch (error) {
      if (error?.code !== 'storage_full') throw error;
      // No room for both: the history being replaced goes first (it would go anyway).
      await local.remove(replaced.filter((key) => key.startsWith(HISTORY_PREFIX)));
      await write({ ...items, pendingRemoval: replaced });
    }
    await finishRestore();
    await migrate();
  });
  await scheduleSync();
  await scheduleNews();
  await updateBadge();
  return { ok: true };
}

/** Removes what a restore replaced, if a restore left that to do. */
async function finishRestore() {
  const { pendingRemoval } = await local.get('pendingRemoval');
  if (!Array.isArray(pendingRemoval)) return;
  await local.remove(pendingRemoval.filter((key) => typeof key === 'string' && key !== 'pendingRemoval'));
  await local.remove('pendingRemoval');
}

// ---------------------------------------------------------------------------------------------
// First minute: the welcome page on install, "What's new" after an update

const VERSION = browser.runtime.getManifest().version;

browser.runtime.onInstalled.addListener(welcomeOrNoteUpdate);

/**
 * On install, the welcome page. On an update to another version nothing opens: storage.local
 * "whatsNew" notes it, and the options page shows one line about it until it is dismissed.
 */
async function welcomeOrNoteUpdate({ reason, previousVersion }) {
  if (reason === 'install') {
    // Chromium reports every start of an extension loaded with --load-extension as an install,
    // with the profile's storage kept: a profile that already holds a vault is not welcomed again.
    const { vault } = await local.get('vault');
    if (vault === undefined) await browser.tabs.create({ url: browser.runtime.getURL('welcome/welcome.html') });
  } else if (reason === 'update' && previousVersion !== VERSION) {
    await exclusive(() => write({ whatsNew: { version: VERSION, dismissed: false } }));
  }
}

/** "Dismiss" on the options page's "What's new": it stays dismissed for this version. */
async function dismissWhatsNew() {
  await exclusive(async () => {
    const { whatsNew } = await local.get('whatsNew');
    if (whatsNew?.version === VERSION) await write({ whatsNew: { ...whatsNew, dismissed: true } });
  });
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// News (src/news.rs)
//
// Off until the user turns it on and ticks publishers in the options page, which asks for each
// publisher's host in the same click. The chosen feeds are fetched here on their own alarm, only
// while news is on, with a plain fetch: a GET with no cookie and no referrer, conditional on the
// feed's last ETag / Last-Modified, read up to NEWS_MAX_FEED_BYTES. (Exchange traffic goes
// through the core's transport, which signs, meters and rate-limits per exchange; a feed needs
// none of that.) The core reads the answer, keeps the newest headlines and matches them to the
// held assets when the popup asks: nothing about the portfolio leaves the device.

const NEWS_ALARM = 'news';
// A feed that has not answered by then is "offline" this time.
const NEWS_TIMEOUT_MS = 30_000;
const FEED_ACCEPT = 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1';

/** The stored choice, as the core reads it (off, with nothing ticked, until the user chooses). */
function newsChoice(stored) {
  const choice = stored && typeof stored === 'object' ? stored : {};
  return {
    enabled: choice.enabled === true,
    publishers: Array.isArray(choice.publishers) ? choice.publishers.filter((id) => NEWS_PUBLISHERS.some((p) => p.id === id)) : [],
  };
}

/** The publishers whose feeds are fetched now: none while news is off. */
function fetchedPublishers(choice) {
  return choice.enabled ? NEWS_PUBLISHERS.filter((publisher) => choice.publishers.includes(publisher.id)) : [];
}

/** Saves the options page's choice; a publisher no longer ticked (or news turned off) takes its
 * headlines and feed state with it. Newly ticked feeds are fetched at once. */
async function setNews(message) {
  await engineReady();
  const checked = JSON.parse(cartera.checkNewsChoice(JSON.stringify(message.news ?? null)));
  const added = await exclusive(async () => {
    const stored = await local.get(['news', 'newsItems', 'newsFeeds']);
    const before = fetchedPublishers(newsChoice(stored.news)).map((publisher) => publisher.id);
    const kept = fetchedPublishers(checked).map((publisher) => publisher.id);
    const feeds = Object.fromEntries(Object.entries(stored.newsFeeds ?? {}).filter(([id]) => kept.includes(id)));
    const items = JSON.parse(cartera.newsKeep(JSON.stringify(stored.newsItems ?? []), JSON.stringify(checked)));
    await write({ news: checked, newsItems: items, newsFeeds: feeds });
    return kept.filter((id) => !before.includes(id));
  });
  await scheduleNews();
  if (added.length) fetchNews(added);
  return { ok: true, news: checked };
}

/** The popup's list: the stored headlines with the held assets each is about, those first. */
async function getNews() {
  const { news, newsItems, newsFeeds, snapshot, manual } = await local.get(['news', 'newsItems', 'newsFeeds', 'snapshot', 'manual']);
  const choice = newsChoice(news);
  if (!choice.enabled) return { ok: true, enabled: false, items: [], failing: [] };
  await engineReady();
  // Held assets, matched here in the core: the list never leaves this worker but for the popup.
  const held = [
    ...(Array.isArray(snapshot?.assets) ? snapshot.assets : []),
    ...(Array.isArray(snapshot?.unpriced) ? snapshot.unpriced : []),
    ...manualList(manual),
  ].map((entry) => entry?.asset).filter((asset) => typeof asset === 'string');
  const items = JSON.parse(cartera.newsView(JSON.stringify(newsItems ?? []), JSON.stringify(held), uiLang()));
  const failing = choice.publishers.filter((id) => newsFeeds?.[id]?.error);
  return { ok: true, enabled: true, items, failing };
}

/** Sets the news alarm while news is on with a feed ticked, clears it otherwise. An alarm that
 * survived a restart is kept; a new one first rings when the oldest feed is due. */
async function scheduleNews() {
  const { news, newsFeeds } = await local.get(['news', 'newsFeeds']);
  const publishers = fetchedPublishers(newsChoice(news));
  if (publishers.length === 0) {
    await browser.alarms.clear(NEWS_ALARM);
    return;
  }
  if (await browser.alarms.get(NEWS_ALARM)) return;
  const checked = publishers.map((publisher) => newsFeeds?.[publisher.id]?.checkedAt);
  const oldest = checked.every(Number.isFinite) ? Math.min(...checked) : 0;
  const dueInMinutes = (oldest + NEWS_REFRESH_MINUTES * 60_000 - Date.now()) / 60_000;
  // Alarms ring 30 s apart at the closest (Chrome's limit for packed extensions).
  const delayInMinutes = Math.min(NEWS_REFRESH_MINUTES, Math.max(0.5, dueInMinutes));
  await browser.alarms.create(NEWS_ALARM, { delayInMinutes, periodInMinutes: NEWS_REFRESH_MINUTES });
}

// One round of fetches at a time: an alarm during a round, or a tick, joins the next one.
let newsRound = Promise.resolve();

/** Fetches the chosen feeds (or `only` those of them), one after the other. */
function fetchNews(only) {
  newsRound = newsRound.then(() => fetchFeeds(only)).catch((error) => {
    console.error('Cartera: news not fetched', error instanceof Error ? error.name : typeof error);
  });
  return newsRound;
}

async function fetchFeeds(only) {
  await migrated;
  await engineReady();
  const { news } = await local.get('news');
  const publishers = fetchedPublishers(newsChoice(news)).filter((publisher) => !only || only.includes(publisher.id));
  for (const publisher of publishers) await fetchFeed(publisher);
}

/** Fetches one feed and stores what it gave, or its error under the publisher. */
async function fetchFeed(publisher) {
  const { newsFeeds } = await local.get('newsFeeds');
  const previous = newsFeeds?.[publisher.id] ?? {};
  let answer;
  if (!(await browser.permissions.contains({ origins: [publisher.origin] }))) {
    answer = { error: { code: 'feed_permission' } };
  } else {
    answer = await requestFeed(publisher, previous);
  }
  await exclusive(async () => {
    const stored = await local.get(['news', 'newsItems', 'newsFeeds']);
    const choice = newsChoice(stored.news);
    // Unticked (or news turned off) while it was being fetched: nothing is kept.
    if (!fetchedPublishers(choice).some((p) => p.id === publisher.id)) return;
    const feed = { ...(stored.newsFeeds?.[publisher.id] ?? {}), checkedAt: Date.now() };
    const update = {};
    delete feed.error;
    if (answer.error) {
      feed.error = answer.error;
    } else if (answer.status !== 304) {
      try {
        const items = cartera.newsRead(
          JSON.stringify(stored.newsItems ?? []), JSON.stringify(choice), publisher.id, answer.status, answer.body, answer.cutShort,
        );
        update.newsItems = JSON.parse(items);
        feed.fetchedAt = Date.now();
        feed.etag = answer.etag;
        feed.lastModified = answer.lastModified;
      } catch (thrown) {
        feed.error = isCoreError(thrown) ? thrown : { code: 'feed_not_a_feed' };
      }
    } else {
      feed.fetchedAt = Date.now();
    }
    await write({ ...update, newsFeeds: { ...(stored.newsFeeds ?? {}), [publisher.id]: feed } });
  });
}

/** The feed's answer: `{ status, body, cutShort, etag, lastModified }`, `{ status: 304 }` when it
 * has not changed since the validators in `previous`, or `{ error }` when it could not be had. */
async function requestFeed(publisher, previous) {
  const headers = { Accept: FEED_ACCEPT };
  if (typeof previous.etag === 'string') headers['If-None-Match'] = previous.etag;
  if (typeof previous.lastModified === 'string') headers['If-Modified-Since'] = previous.lastModified;
  try {
    const response = await fetch(publisher.feed, {
      method: 'GET',
      headers,
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      // The validators above make the request conditional; the HTTP cache would only repeat them.
      cache: 'no-store',
      signal: AbortSignal.timeout(NEWS_TIMEOUT_MS),
    });
    if (response.status === 304) return { status: 304 };
    if (!response.ok) {
      // An error page is not read: its status says all there is.
      await response.body?.cancel();
      return { status: response.status, body: new Uint8Array(), cutShort: false };
    }
    const { body, cutShort } = await readCapped(response, NEWS_MAX_FEED_BYTES);
    return {
      status: response.status,
      body,
      cutShort,
      etag: response.headers.get('ETag') ?? undefined,
      lastModified: response.headers.get('Last-Modified') ?? undefined,
    };
  } catch {
    return { error: { code: 'feed_offline' } };
  }
}

/** At most `cap` bytes of the response's body: the read stops (and the rest is never downloaded)
 * once it runs past the cap. */
async function readCapped(response, cap) {
  if (Number(response.headers.get('Content-Length')) > cap) {
    await response.body?.cancel();
    return { body: new Uint8Array(), cutShort: true };
  }
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > cap) {
      await reader.cancel();
      return { body: new Uint8Array(), cutShort: true };
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { body, cutShort: false };
}

// ---------------------------------------------------------------------------------------------
// Transaction history and profit and loss (src/transactions.rs, src/pnl.rs)
//
// While unlocked, each account's history is read a page at a time (the adapter paces the pages
// within the exchange's limits) and stored after every page with the adapter's cursor, so an
// import resumes where it stopped when the worker is stopped or the vault locked. Once caught up,
// each sync asks only for what is new. Pages and refreshes take turns (they spend the same
// nonces), a page at most: a refresh never waits for a whole import. Then the daily closes the
// transactions need are fetched from the exchanges' public candles, and the popup's summary is
// worked out.
//
//   storage.local   tx:<account>:<YYYY-MM> (transactions, src/transactions.rs), txState (per
//                   account: cursor, caughtUp, read, expected, error, importedAt, nextAt), txCosts
//                   (what the user typed as paid, by account and transaction), priceRoutes,
//                   closes:<exchange>:<market> (src/price_history.rs) and closesChecked (for which
//                   assets and days, and when), pnlSummary (the popup's line)

const IMPORT_ALARM = 'history-import';
// A caught-up account is asked for what is new at most this often (each sync asks).
const INCREMENTAL_GAP_MS = 10 * 60_000;
// After a failure, the account is tried again after this; a key without the history permission
// is asked again daily (the user may have ticked it since).
const IMPORT_RETRY_MS = 15 * 60_000;
const PERMISSION_RETRY_MS = 24 * 60 * 60_000;
// Waits up to this long are kept in the worker (Chrome stops a worker idle for 30 s); longer ones
// go to the alarm, which also resumes an import whose worker was stopped.
// https://developer.chrome.com/docs/extensions/develop/concepts/service-workers/lifecycle
const IN_WORKER_WAIT_MS = 20_000;
const IMPORT_WATCHDOG_MS = 60_000;
// Past prices are brought up to date at most this often, unless the transactions reach new assets
// or earlier days.
const CLOSES_EVERY_MS = 6 * 60 * 60_000;

// Pages and refreshes take turns: one conversation with the exchanges' private APIs at a time.
let trafficQueue = Promise.resolve();
function exchangeTraffic(task) {
  const run = trafficQueue.then(task, task);
  trafficQueue = run.catch(() => {});
  return run;
}

let importRun = null;
/** Runs the import unless it runs already; `fresh`: caught-up accounts are asked for news now. */
function importHistory({ fresh = false } = {}) {
  importRun ??= runImport({ fresh })
    .catch((error) => console.error('Cartera: history import stopped', error instanceof Error ? error.name : error?.code))
    .finally(() => {
      importRun = null;
    });
  return importRun;
}

/** When an account's history is next worth a page. */
function nextPageAt(state, fresh, now) {
  if (state.unsupported) return Infinity;
  const after = Number.isFinite(state.nextAt) ? state.nextAt : 0;
  if (!state.caughtUp || state.error) return after;
  const lastRead = Number.isFinite(state.importedAt) ? state.importedAt : 0;
  return fresh ? Math.max(after, lastRead + INCREMENTAL_GAP_MS) : Infinity;
}

async function runImport({ fresh }) {
  await migrated;
  const core = await engineReady();
  const askedNow = new Set();
  // Set when the next page is too far off to wait for here: the alarm wakes the import then.
  let resumeAt = null;
  for (;;) {
    if (!(await sessionKey())) return;
    const { accounts, txState } = await local.get(['accounts', 'txState']);
    const now = Date.now();
    const due = accountList(accounts)
      .map((account) => ({ account, at: nextPageAt(txState?.[account.id] ?? {}, fresh && !askedNow.has(account.id), now) }))
      .sort((a, b) => a.at - b.at)[0];
    if (!due || due.at === Infinity) break;
    if (due.at - now > IN_WORKER_WAIT_MS) {
      resumeAt = due.at;
      await browser.alarms.create(IMPORT_ALARM, { when: resumeAt });
      break;
    }
    if (due.at > now) await new Promise((resolve) => setTimeout(resolve, due.at - now));
    await browser.alarms.create(IMPORT_ALARM, { when: Date.now() + IMPORT_WATCHDOG_MS });
    if (txState?.[due.account.id]?.caughtUp) askedNow.add(due.account.id);
    const stop = await exchangeTraffic(() => historyPage(core, due.account));
    if (stop) return;
  }
  // Nothing is due any more: the watchdog goes. An import that waits keeps its wake-up alarm.
  if (resumeAt === null) await browser.alarms.clear(IMPORT_ALARM);
  await updateCloses(core).catch((error) => console.error('Cartera: past prices not fetched', error?.code ?? typeof error));
  await updatePnlSummary(core).catch(() => {});
}

/** One page of `account`'s history, stored with its cursor. Returns true when the import should
 * stop (locked, or the vault changed under it). */
async function historyPage(core, account) {
  const epoch = await lockEpoch();
  const vaultKey = await sessionKey();
  const stored = await local.get(['vault', 'txState', 'nonces']);
  if (!vaultKey || typeof stored.vault !== 'string') return true;
  const state = stored.txState?.[account.id] ?? {};
  let reply;
  try {
    const page = core.historyPage(
      JSON.stringify({ id: account.id, exchange: account.exchange, markets: Array.isArray(account.markets) ? account.markets : [] }),
      state.cursor ?? undefined, stored.vault, vaultKey,
      stored.nonces?.[account.id] ?? undefined,
    );
    reply = JSON.parse(await stopAfter(core, page, REFRESH_TIMEOUT_MS));
  } catch {
    // The key no longer opens the vault (changed elsewhere): the next unlock starts over.
    return true;
  }
  if (reply.error?.code === 'cancelled') return true;
  return exclusive(async () => {
    const current = await local.get(['accounts', 'txState', 'nonces']);
    if (!accountList(current.accounts).some((known) => known.id === account.id)) return false;
    const update = {};
    // Nonces spent are kept whatever happened, so none is ever used twice (also after a Lock).
    if (reply.lastNonce && BigInt(reply.lastNonce) > BigInt(current.nonces?.[account.id] ?? 0)) {
      update.nonces = { ...current.nonces, [account.id]: reply.lastNonce };
    }
    const states = { ...current.txState };
    const previous = states[account.id] ?? {};
    const now = Date.now();
    if (reply.page) {
      const { transactions, cursor, caughtUp, read, expected, waitMs } = reply.page;
      try {
        if (transactions.length) {
          const keys = [...new Set(transactions.map((transaction) => cartera.historyChunkKey(account.id, transaction.at)))];
          Object.assign(update, JSON.parse(cartera.mergeHistoryPage(account.id, JSON.stringify(transactions), JSON.stringify(await local.get(keys)))));
        }
        states[account.id] = {
          cursor, caughtUp, read, expected: expected ?? null, error: null, nextAt: now + waitMs,
          importedAt: caughtUp ? now : previous.importedAt ?? null,
        };
      } catch (error) {
        // A page the core refuses is not stored, and the cursor stays before it.
        states[account.id] = { ...previous, error: isCoreError(error) ? error : { code: 'malformed_response', exchange: account.exchange }, nextAt: now + IMPORT_RETRY_MS };
      }
    } else if (reply.error) {
      const retry = reply.error.code === 'history_permission' ? PERMISSION_RETRY_MS : IMPORT_RETRY_MS;
      states[account.id] = { ...previous, error: reply.error, nextAt: Math.max(now + retry, reply.error.retryAt ?? 0) };
    } else {
      states[account.id] = { unsupported: true };
    }
    update.txState = states;
    await write(update);
    return false;
  });
}

/** Fetches the daily closes that value the stored transactions in the display currency, along
 * the routes today's prices give (src/price_history.rs): only the days not stored yet. */
async function updateCloses(core) {
  const everything = await local.get(null);
  const chunks = Object.fromEntries(Object.entries(everything).filter(([key]) => key.startsWith(TX_PREFIX)));
  const spanText = cartera.historySpan(JSON.stringify(chunks));
  const span = JSON.parse(spanText);
  if (span.firstDay === null || span.firstDay === undefined) return;
  // Checked lately for the same assets, days and currency: nothing new to fetch yet.
  const checked = `${withDefaults(everything.settings).quote} ${spanText}`;
  if (everything.closesChecked?.for === checked && Date.now() - everything.closesChecked.at < CLOSES_EVERY_MS) return;
  const exchanges = [...new Set(accountList(everything.accounts).map((account) => account.exchange))];
  for (const bridge of PRICE_BRIDGES) {
    if (!exchanges.includes(bridge) && (await browser.permissions.contains({ origins: originsOf([bridge]) }))) exchanges.push(bridge);
  }
  const quote = withDefaults(everything.settings).quote;
  const routes = await core.historyRoutes(JSON.stringify(exchanges), quote, JSON.stringify(span.assets));
  const stored = Object.fromEntries(Object.entries(everything)
    .filter(([key, value]) => key.startsWith(CLOSES_PREFIX) && typeof value === 'string')
    .map(([key, value]) => [key.slice(CLOSES_PREFIX.length), value]));
  // Yesterday is the last day with a close of its own.
  const lastDay = Math.floor(Date.now() / 86_400_000) - 1;
  const wanted = JSON.parse(cartera.closesToFetch(routes, JSON.stringify(stored), span.firstDay, lastDay));
  for (const { book, exchange, market, from, to } of wanted) {
    let fetched;
    try {
      fetched = await core.dailyCloses(exchange, market, from, to);
    } catch {
      continue; // Tried again at the next update; the transactions stay unpriced until then.
    }
    if (fetched === 'null') continue;
    const key = CLOSES_PREFIX + book;
    await exclusive(async () => {
      const current = (await local.get(key))[key];
      await write({ [key]: cartera.mergeCloses(typeof current === 'string' ? current : undefined, from, to, fetched) });
    });
  }
  await exclusive(() => write({ priceRoutes: JSON.parse(routes), closesChecked: { for: checked, at: Date.now() } }));
}

/** The popup's line under the total: unrealized P&L of all portfolios and of each, and whether
 * history is complete enough to trust it. */
async function updatePnlSummary(core = engine) {
  if (!core) return;
  const everything = await local.get(null);
  if (!hasTransactions(everything)) {
    if (everything.pnlSummary !== undefined) await exclusive(() => local.remove('pnlSummary'));
    return;
  }
  const states = everything.txState ?? {};
  const accounts = accountList(everything.accounts);
  const importing = accounts.some((account) => !states[account.id]?.unsupported && !states[account.id]?.caughtUp);
  const failing = accounts.some((account) => states[account.id]?.error);
  const summaries = {};
  const views = ['', ...portfolioList(everything.portfolios).map((portfolio) => portfolio.id)];
  for (const portfolio of views) {
    const snapshot = portfolio ? everything.portfolioSnapshots?.[portfolio] : everything.snapshot;
    if (!snapshot) continue;
    const { text, keys, chunks } = pnlInput(everything, { portfolio, rows: 0 });
    const report = JSON.parse(cartera.pnlReport(text, keys, chunks));
    summaries[portfolio] = {
      quote: report.quote,
      unrealized: report.total.unrealized,
      percent: report.total.unrealizedPercent,
      costBasis: report.total.costBasis,
      incomplete: importing || failing || report.unpriced > 0 || report.mismatches.length > 0,
      importing,
    };
  }
  await exclusive(() => write({ pnlSummary: summaries }));
}

function requireTransactionAccount(everything, account) {
  const id = requireString(account, 128, 'account_id');
  const known = accountList(everything.accounts).some((entry) => entry.id === id)
    || portfolioList(everything.portfolios).some((portfolio) => MANUAL_ENTRY_PREFIX + portfolio.id === id)
    || id === MANUAL_ENTRY_PREFIX + DEFAULT_PORTFOLIO;
  if (!known) throw { code: 'account_not_found' };
  return id;
}

/** "Add transaction": a buy or sell typed in for an account or a portfolio's typed-in holdings. */
async function saveTransaction(message) {
  await engineReady();
  return exclusive(async () => {
    const everything = await local.get(['accounts', 'portfolios', 'settings']);
    const account = requireTransactionAccount(everything, message.account);
    const at = Date.parse(requireString(message.date, 32, 'date'));
    if (!Number.isFinite(at) || at > Date.now() + 86_400_000 || at < Date.UTC(2009, 0, 3)) throw invalidInput('date');
    const typed = {
      id: crypto.randomUUID(), at, side: message.side === 'sell' ? 'sell' : 'buy',
      asset: requireString(message.asset, 16, 'asset'), amount: requireString(message.amount, 64, 'amount'),
      price: requireString(message.price, 64, 'price'), fee: typeof message.fee === 'string' ? message.fee.slice(0, 64) : '',
      quote: withDefaults(everything.settings).quote,
    };
    const transaction = cartera.typedTransaction(JSON.stringify(typed), message.decimalMark === ',' ? ',' : '.');
    const key = cartera.historyChunkKey(account, at);
    await write(JSON.parse(cartera.mergeHistoryPage(account, `[${transaction}]`, JSON.stringify(await local.get(key)))));
    return { ok: true };
  }).finally(() => updatePnlSummary().catch(() => {}));
}

/** Removes a typed-in transaction (imported ones come back with the next import). */
async function deleteTransaction(message) {
  await engineReady();
  const id = requireString(message.id, 128, 'transaction');
  const account = requireString(message.account, 128, 'account_id');
  await exclusive(async () => {
    const prefix = `${TX_PREFIX}${account}:`;
    const everything = await local.get(null);
    for (const [key, text] of Object.entries(everything)) {
      if (!key.startsWith(prefix) || typeof text !== 'string') continue;
      const left = cartera.chunkWithout(text, id);
      if (left === undefined) await local.remove(key);
      else if (left !== text) await write({ [key]: left });
    }
  });
  await updatePnlSummary().catch(() => {});
  return { ok: true };
}

/** "Edit cost": what the user really paid for a deposit valued at market; empty clears it. */
async function setCost(message) {
  const account = requireString(message.account, 128, 'account_id');
  const id = requireString(message.id, 128, 'transaction');
  const cost = typeof message.cost === 'string' ? message.cost.trim() : '';
  const value = cost ? cartera.checkCost(cost, message.decimalMark === ',' ? ',' : '.') : null;
  await exclusive(async () => {
    const { txCosts } = await local.get('txCosts');
    const costs = { ...txCosts };
    const byId = { ...costs[account] };
    if (value === null) delete byId[id];
    else byId[id] = value;
    if (Object.keys(byId).length) costs[account] = byId;
    else delete costs[account];
    await write({ txCosts: costs });
  });
  await updatePnlSummary().catch(() => {});
  return { ok: true };
}
