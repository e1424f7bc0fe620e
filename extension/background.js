// Cartera's background: the only code that holds the vault key, talks to the exchange and writes
// storage. Pages talk to it through one message router; the wasm core does the real work.
//
// MV3: the wasm glue is imported statically (import() is not allowed in a service worker), init()
// runs without top-level await (that would kill the worker), and every listener is registered
// synchronously below so events that wake the worker are not lost.

import init, * as cartera from './wasm/cartera.js';
import { browser, DEFAULT_SETTINGS, EXCHANGE_ORIGINS, t } from './shared/ext.js';

const LANG = browser.i18n.getUILanguage();
const AUTOLOCK_ALARM = 'autolock';
const AUTOLOCK_CHOICES = [0, 5, 15, 60];
const EXCHANGES = ['bitso'];
// "chrome-extension://<id>/" or "moz-extension://<uuid>/". Not parsed with URL: for these
// non-special schemes URL.origin may be "null".
const OWN_BASE = browser.runtime.getURL('/');
const OWN_ORIGIN = OWN_BASE.slice(0, -1);

const local = browser.storage.local;
const session = browser.storage.session;

let engine = null;
const ready = init().then(() => {
  engine = new cartera.Engine(LANG);
});
// Handlers report a failed start themselves; this only keeps the rejection from being "unhandled".
ready.catch(() => {});

browser.runtime.onMessage.addListener(onMessage);
browser.alarms.onAlarm.addListener(onAlarm);

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
  if (!message || typeof message !== 'object' || typeof message.type !== 'string') {
    throw invalidInput();
  }
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
    case 'refresh':
      return refreshShared();
    case 'setSettings':
      return setSettings(message);
    default:
      throw { code: 'unknown_message', message: t('errorUnknownMessage') };
  }
}

/** The reply for anything thrown: a core error passes through; anything else becomes "internal". */
function failure(thrown) {
  const known = isCoreError(thrown);
  // Only the kind of failure is logged: messages may echo inputs.
  if (!known) console.error('Cartera: unexpected failure', thrown instanceof Error ? thrown.name : typeof thrown);
  const error = known ? { code: thrown.code, message: thrown.message } : { code: 'internal', message: t('errorInternal') };
  if (known && Number.isFinite(thrown.retryAt)) error.retryAt = thrown.retryAt;
  return { ok: false, error };
}

function isCoreError(thrown) {
  return thrown && typeof thrown === 'object' && typeof thrown.code === 'string' && typeof thrown.message === 'string';
}

function invalidInput() {
  return { code: 'invalid_input', message: t('errorInvalidInput') };
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function engineReady() {
  try {
    await ready;
  } catch {
    throw { code: 'engine_unavailable', message: t('errorEngineUnavailable') };
  }
  return engine;
}

async function sessionKey() {
  const { vaultKey } = await session.get('vaultKey');
  return typeof vaultKey === 'string' && vaultKey ? vaultKey : null;
}

async function requireSessionKey() {
  const vaultKey = await sessionKey();
  if (!vaultKey) throw { code: 'locked', message: t('errorLocked') };
  return vaultKey;
}

function withDefaults(settings) {
  return { ...DEFAULT_SETTINGS, ...(settings && typeof settings === 'object' ? settings : {}) };
}

function requireString(value, maxLength = 512) {
  if (typeof value !== 'string') throw invalidInput();
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > maxLength) throw invalidInput();
  return trimmed;
}

function requireExchange(value = 'bitso') {
  if (!EXCHANGES.includes(value)) throw invalidInput();
  return value;
}

function newAccountId() {
  return crypto.randomUUID().replaceAll('-', '');
}

// Storage read-modify-write steps run one at a time, so an account added while a refresh is in
// flight is not overwritten when the refresh stores its results.
let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => {});
  return run;
}

// ---------------------------------------------------------------------------------------------
// Lock state

async function getState() {
  const stored = await local.get(['vault', 'accounts', 'settings', 'snapshot', 'lastError']);
  const hasVault = typeof stored.vault === 'string';
  return {
    ok: true,
    hasVault,
    unlocked: hasVault && (await sessionKey()) !== null,
    accounts: stored.accounts ?? [],
    settings: withDefaults(stored.settings),
    snapshot: stored.snapshot ?? null,
    lastError: stored.lastError ?? null,
    refreshing: inflight !== null,
  };
}

async function unlock(message) {
  const vaultKey = requireString(message.vaultKey);
  const core = await engineReady();
  const { vault } = await local.get('vault');
  if (typeof vault !== 'string') throw { code: 'no_vault', message: t('errorNoVault') };
  core.checkVaultKey(vault, vaultKey);
  await session.set({ vaultKey });
  await armAutoLock();
  return { ok: true };
}

async function lock() {
  await session.remove('vaultKey');
  await browser.alarms.clear(AUTOLOCK_ALARM);
  return { ok: true };
}

async function activity() {
  if (await sessionKey()) await armAutoLock();
  return { ok: true };
}

async function armAutoLock() {
  const { settings } = await local.get('settings');
  const minutes = withDefaults(settings).autoLockMinutes;
  if (!minutes) {
    await browser.alarms.clear(AUTOLOCK_ALARM);
    return;
  }
  // Creating an alarm with an existing name replaces it, which restarts the idle countdown.
  await browser.alarms.create(AUTOLOCK_ALARM, { delayInMinutes: minutes });
}

function onAlarm(alarm) {
  if (alarm.name === AUTOLOCK_ALARM) session.remove('vaultKey');
}

// ---------------------------------------------------------------------------------------------
// Accounts and vault

async function testAccount(message) {
  const exchange = requireExchange(message.exchange);
  const apiKey = requireString(message.apiKey);
  const apiSecret = requireString(message.apiSecret);
  const core = await engineReady();
  const { currencies } = await core.testConnection(exchange, apiKey, apiSecret);
  return { ok: true, currencies };
}

async function addAccount(message) {
  const label = requireString(message.label, 64);
  const exchange = requireExchange(message.exchange);
  const apiKey = requireString(message.apiKey);
  const apiSecret = requireString(message.apiSecret);
  const vaultKey = requireString(message.vaultKey);
  const replaceId = message.accountId === undefined ? null : requireAccountId(message.accountId);
  const core = await engineReady();

  const { vault: storedVault } = await local.get('vault');
  const vault = typeof storedVault === 'string' ? storedVault : message.newVault;
  if (typeof vault !== 'string') throw invalidInput();
  // Cheap and local: a wrong passphrase fails before anything goes over the network.
  core.checkVaultKey(vault, vaultKey);
  // Only a key the exchange accepts is ever stored.
  await core.testConnection(exchange, apiKey, apiSecret);

  const reply = await exclusive(async () => {
    const current = await local.get(['vault', 'accounts']);
    const target = typeof current.vault === 'string' ? current.vault : message.newVault;
    if (target !== vault) core.checkVaultKey(target, vaultKey);
    const accounts = current.accounts ?? [];
    // Replacing a key keeps the account's id and place; its new credentials are sealed over the old.
    const replaced = replaceId === null ? null : accounts.find((existing) => existing.id === replaceId);
    if (replaceId !== null && !replaced) throw { code: 'account_not_found', message: t('errorAccountNotFound') };
    const account = {
      id: replaced?.id ?? newAccountId(),
      label,
      exchange,
      addedAt: replaced?.addedAt ?? Date.now(),
      lastSync: replaced?.lastSync ?? null,
      status: 'active',
      error: null,
    };
    const sealed = core.sealAccount(target, vaultKey, account.id, apiKey, apiSecret);
    const updated = replaced
      ? accounts.map((existing) => (existing.id === account.id ? account : existing))
      : [...accounts, account];
    // Vault and account list in one write, so neither can exist without the other.
    await local.set({ vault: sealed, accounts: updated });
    await session.set({ vaultKey });
    return { ok: true, account };
  });
  await armAutoLock();
  refreshSoon();
  return reply;
}

function requireAccountId(id) {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalidInput();
  return id;
}

async function removeAccount(message) {
  const id = requireAccountId(message.id);
  const vaultKey = await requireSessionKey();
  const core = await engineReady();
  const reply = await exclusive(async () => {
    const { vault, accounts = [] } = await local.get(['vault', 'accounts']);
    if (typeof vault !== 'string' || !accounts.some((account) => account.id === id)) {
      throw { code: 'account_not_found', message: t('errorAccountNotFound') };
    }
    const remaining = accounts.filter((account) => account.id !== id);
    const sealed = core.removeAccount(vault, vaultKey, id);
    // The stored totals include the removed account; drop them until the next refresh.
    const update = { vault: sealed, accounts: remaining, snapshot: null };
    if (remaining.length === 0) update.lastError = null;
    await local.set(update);
    return { ok: true, accounts: remaining, vaultEmpty: remaining.length === 0 };
  });
  if (!reply.vaultEmpty) refreshSoon();
  return reply;
}

async function resetVault() {
  await exclusive(async () => {
    await local.remove(['vault', 'accounts', 'snapshot', 'lastError']);
    await session.remove('vaultKey');
    await browser.alarms.clear(AUTOLOCK_ALARM);
  });
  return { ok: true };
}

async function changePassphrase(message) {
  const vault = requireString(message.vault, 1_000_000);
  const vaultKey = requireString(message.vaultKey);
  const core = await engineReady();
  // The page proved the old passphrase with changePassphrase(); this checks the pair it sent.
  core.checkVaultKey(vault, vaultKey);
  await exclusive(async () => {
    const { vault: stored } = await local.get('vault');
    if (typeof stored !== 'string') throw { code: 'no_vault', message: t('errorNoVault') };
    await local.set({ vault });
    await session.set({ vaultKey });
  });
  await armAutoLock();
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Settings

async function setSettings(message) {
  const changes = message.settings;
  if (!changes || typeof changes !== 'object') throw invalidInput();
  const valid = {};
  if ('quote' in changes) {
    if (typeof changes.quote !== 'string' || !/^[a-z0-9]{2,12}$/i.test(changes.quote)) throw invalidInput();
    valid.quote = changes.quote.toLowerCase();
  }
  if ('autoLockMinutes' in changes) {
    if (!AUTOLOCK_CHOICES.includes(changes.autoLockMinutes)) throw invalidInput();
    valid.autoLockMinutes = changes.autoLockMinutes;
  }
  const { before, after } = await exclusive(async () => {
    const stored = withDefaults((await local.get('settings')).settings);
    const merged = { ...stored, ...valid };
    await local.set({ settings: merged });
    return { before: stored, after: merged };
  });
  const unlocked = (await sessionKey()) !== null;
  if (unlocked && before.autoLockMinutes !== after.autoLockMinutes) await armAutoLock();
  if (unlocked && before.quote !== after.quote) refreshSoon();
  return { ok: true, settings: after };
}

// ---------------------------------------------------------------------------------------------
// Refresh

// Every caller while a refresh runs gets that same refresh: ten clicks make one request.
let inflight = null;

/** Firefox users can withhold the host permission; say so instead of failing as "offline". */
async function requireExchangeAccess() {
  if (!(await browser.permissions.contains({ origins: EXCHANGE_ORIGINS }))) {
    throw { code: 'host_permission', message: t('errorHostPermission') };
  }
}

function refreshShared() {
  inflight ??= runRefresh()
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

async function runRefresh() {
  const stored = await local.get(['vault', 'accounts', 'settings', 'snapshot', 'lastError']);
  const blocked = await refusalWhileRateLimited(stored.lastError);
  if (blocked) return blocked;
  const accounts = Array.isArray(stored.accounts) ? stored.accounts : [];
  if (typeof stored.vault !== 'string' || accounts.length === 0) {
    throw { code: 'no_accounts', message: t('errorNoAccounts') };
  }
  const vaultKey = await requireSessionKey();
  await requireExchangeAccess();
  const core = await engineReady();
  await armAutoLock();

  const requested = accounts.map(({ id, label, exchange }) => ({ id, label, exchange }));
  try {
    // The snapshot crosses the wasm boundary as JSON text, the form the core serialises it in.
    const options = JSON.stringify({
      vault: stored.vault,
      vaultKey,
      accounts: requested,
      quote: withDefaults(stored.settings).quote,
      previous: stored.snapshot ?? null,
    });
    const snapshot = JSON.parse(await core.refresh(options));
    return await exclusive(() => storeSnapshot(snapshot));
  } catch (thrown) {
    if (!isCoreError(thrown)) throw thrown;
    await exclusive(() => storeFailure(thrown, requested));
    return failure(thrown);
  }
}

// Bitso asked us to wait: until retryAt, answer from storage without touching the network.
async function refusalWhileRateLimited(lastError) {
  const retryAt = lastError?.retryAt;
  if (!Number.isFinite(retryAt) || retryAt <= Date.now()) return null;
  const seconds = String(Math.ceil((retryAt - Date.now()) / 1000));
  const error = { code: lastError.code, message: t('errorRetryIn', [seconds]), retryAt };
  await local.set({ lastError: { ...lastError, message: error.message } });
  return { ok: false, error };
}

async function storeSnapshot(snapshot) {
  const { vault, accounts = [] } = await local.get(['vault', 'accounts']);
  const known = new Set(accounts.map((account) => account.id));
  // The vault was reset or an account removed while the request ran: these numbers are void.
  if (typeof vault !== 'string' || !snapshot.accounts.every((entry) => known.has(entry.id))) {
    return { ok: true, snapshot: (await local.get('snapshot')).snapshot ?? null };
  }
  const results = new Map(snapshot.accounts.map((entry) => [entry.id, entry]));
  const updated = accounts.map((account) => {
    const result = results.get(account.id);
    if (!result) return account;
    return {
      ...account,
      lastSync: result.syncedAt ?? account.lastSync ?? null,
      status: result.error ? 'error' : 'active',
      error: result.error ? { code: result.error.code, message: result.error.message } : null,
    };
  });
  await local.set({ snapshot, accounts: updated, lastError: null });
  return { ok: true, snapshot };
}

async function storeFailure(thrown, requested) {
  const error = { code: thrown.code, message: thrown.message };
  const lastError = { ...error, at: Date.now() };
  if (Number.isFinite(thrown.retryAt)) lastError.retryAt = thrown.retryAt;
  const ids = new Set(requested.map((account) => account.id));
  const { accounts = [] } = await local.get('accounts');
  const updated = accounts.map((account) => (ids.has(account.id) ? { ...account, status: 'error', error } : account));
  // The previous snapshot stays: the popup keeps showing the last good numbers, marked stale.
  await local.set({ lastError, accounts: updated });
}
