// Cartera's background: the only code that keeps the vault key, talks to the exchanges and writes
// storage. Pages talk to it through one message router; the wasm core does the real work.
//
// MV3: the wasm glue is imported statically (import() is not allowed in a service worker), init()
// runs without top-level await (that would kill the worker), and every listener is registered
// synchronously below so events that wake the worker are not lost.
//
// Where things live (see the README's security model):
//   storage.local   vault (sealed keys), accounts, settings, snapshot, lastError, per-account
//                   nonces, per-exchange rate-limit retry times, alerts and their states, the
//                   automatic sync's plan (syncState), the value history (hist:d:<day>,
//                   hist:m:<month>) and its precomputed view for the popup (historyView)
//   storage.session vaultKey (the derived key), unlocked (a plain flag pages may read) and
//                   lockEpoch (bumped by every lock, so work that started before it never
//                   writes the key back)

import init, * as cartera from './wasm/cartera.js';
import {
  browser, DEFAULT_SETTINGS, errorText, exchangeName, formatMoney, formatPercent, t, uiLang,
} from './shared/ext.js';
import { EXCHANGE_IDS, originsOf, PRICE_BRIDGES } from './shared/exchanges.js';

const AUTOLOCK_ALARM = 'autolock';
const AUTOLOCK_CHOICES = [0, 5, 15, 60];
const SYNC_ALARM = 'sync';
const SYNC_CHOICES = [0, 5, 15, 30, 60];
const BADGE_CHOICES = ['none', 'total', 'change'];
const ALERT_KINDS = ['priceAbove', 'priceBelow', 'totalAbove', 'totalBelow', 'move24h', 'accountFailing'];
// Far more than anyone sets up; keeps a damaged or hostile list from growing storage.
const MAX_ALERTS = 100;
const HISTORY_PREFIX = 'hist:';
// Tiers are applied at most this often (src/history.rs): a day chunk only changes tier hourly.
const COMPACT_EVERY_MS = 60 * 60 * 1000;
// The longest wait any rate limit is honoured for; the core caps what exchanges say to the same.
const MAX_RETRY_WAIT_MS = 15 * 60 * 1000;
// A refresh that has not settled by then is abandoned, so the next one is not stuck behind it.
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
});
// Handlers report a failed start themselves; this only keeps the rejection from being "unhandled".
ready.catch(() => {});

browser.runtime.onMessage.addListener(onMessage);
browser.alarms.onAlarm.addListener(onAlarm);
browser.notifications.onClicked.addListener(onNotificationClicked);
// Browsers may drop alarms on restart (Firefox always does): the sync alarm is re-created from
// the stored plan on install, on start-up and whenever the worker starts.
browser.runtime.onInstalled.addListener(() => scheduleSync());
browser.runtime.onStartup.addListener(() => scheduleSync());
ready.then(() => scheduleSync()).catch(() => {});

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
    case 'saveAlert':
      return saveAlert(message);
    case 'deleteAlert':
      return deleteAlert(message);
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

function withDefaults(settings) {
  return { ...DEFAULT_SETTINGS, ...(settings && typeof settings === 'object' ? settings : {}) };
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

/** `{ "<id>": "<exchange>" }` for the core, which binds each sealed key to its exchange. */
function exchangesJson(accounts) {
  return JSON.stringify(Object.fromEntries(accounts.map((account) => [account.id, account.exchange])));
}

/** The vault and the account list must always name the same accounts; a write that would break
 * that is refused (and nothing is written). */
function requireSameAccounts(vault, accounts) {
  const sealed = [...cartera.vaultAccountIds(vault)].sort();
  const listed = accounts.map((account) => account.id).sort();
  if (sealed.length !== listed.length || sealed.some((id, i) => id !== listed[i])) throw { code: 'vault_changed' };
}

/** storage.local.set, with a full quota reported as such: the write is atomic, so the previous
 * data stays intact. */
async function write(items) {
  try {
    await local.set(items);
  } catch (error) {
    if (/quota/i.test(String(error?.message ?? error))) throw { code: 'storage_full' };
    throw error;
  }
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
  const stored = await local.get(['vault', 'accounts', 'settings', 'snapshot', 'lastError']);
  const { unlocked } = await session.get('unlocked');
  const hasVault = typeof stored.vault === 'string';
  return {
    ok: true,
    hasVault,
    unlocked: hasVault && unlocked === true,
    lockEpoch: await lockEpoch(),
    accounts: accountList(stored.accounts),
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
  const { vault } = await local.get('vault');
  if (typeof vault !== 'string') throw { code: 'no_vault' };
  core.checkVaultKey(vault, vaultKey);
  if (!(await storeKey(vaultKey, epoch))) throw { code: 'locked' };
  await upgradeVault(core, vaultKey);
  return { ok: true };
}

/** Re-seals a format 1 vault as format 2 (each key bound to its exchange), once, on unlock. */
function upgradeVault(core, vaultKey) {
  return exclusive(async () => {
    const { vault, accounts } = await local.get(['vault', 'accounts']);
    if (typeof vault !== 'string') return;
    const list = accountList(accounts);
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
  if (!AUTOLOCK_CHOICES.includes(minutes) || !minutes) {
    await browser.alarms.clear(AUTOLOCK_ALARM);
    if (!AUTOLOCK_CHOICES.includes(minutes)) throw invalidInput();
    return;
  }
  // Creating an alarm with an existing name replaces it, which restarts the idle countdown.
  await browser.alarms.create(AUTOLOCK_ALARM, { delayInMinutes: minutes });
}

function onAlarm(alarm) {
  if (alarm.name === AUTOLOCK_ALARM) lockNow();
  else if (alarm.name === SYNC_ALARM) runSync();
}

// ---------------------------------------------------------------------------------------------
// Accounts and vault

function isReadOnly(scope) {
  return !scope || !(scope.trade || scope.withdraw || scope.transfer);
}

async function testAccount(message) {
  const exchange = requireExchange(message.exchange);
  const apiKey = requireString(message.apiKey, 4096, 'api_key');
  const apiSecret = requireString(message.apiSecret, 8192, 'api_secret');
  const core = await engineReady();
  core.checkCredentials(exchange, apiKey, apiSecret);
  const check = await core.testConnection(exchange, apiKey, apiSecret, null);
  return { ok: true, currencies: check.currencies, scope: check.scope ?? null };
}

async function addAccount(message) {
  const label = requireString(message.label, 64, 'label');
  const exchange = requireExchange(message.exchange);
  const apiKey = requireString(message.apiKey, 4096, 'api_key');
  const apiSecret = requireString(message.apiSecret, 8192, 'api_secret');
  const vaultKey = requireString(message.vaultKey, 64, 'vault_key');
  // The vault text the page derived the key from (null when it created the first vault):
  // the write happens only if the stored vault is still exactly that.
  const base = message.base === null ? null : requireString(message.base, MAX_VAULT_CHARS, 'vault');
  const newVault = base === null ? requireString(message.newVault, MAX_VAULT_CHARS, 'vault') : null;
  const replaceId = message.accountId === undefined ? null : requireAccountId(message.accountId);
  const epoch = await lockEpoch();
  const core = await engineReady();

  // Cheap and local first: a wrong passphrase or a malformed secret fails before anything is sent.
  core.checkVaultKey(base ?? newVault, vaultKey);
  core.checkCredentials(exchange, apiKey, apiSecret);
  const { nonces: storedNonces } = await local.get('nonces');
  const lastNonce = replaceId !== null && typeof storedNonces?.[replaceId] === 'string' ? storedNonces[replaceId] : null;
  // Only a key the exchange accepts is ever stored.
  const check = await core.testConnection(exchange, apiKey, apiSecret, lastNonce);
  const scope = check.scope ?? null;
  if (!isReadOnly(scope) && message.acceptScope !== true) throw { code: 'key_not_read_only', exchange, scope };

  const account = await exclusive(async () => {
    const current = await local.get(['vault', 'accounts', 'nonces']);
    const stored = typeof current.vault === 'string' ? current.vault : null;
    if (stored !== base) throw { code: 'vault_changed' };
    const accounts = accountList(current.accounts);
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
    };
    const sealed = core.sealAccount(target, vaultKey, saved.id, exchange, apiKey, apiSecret);
    const updated = replaced
      ? accounts.map((existing) => (existing.id === saved.id ? saved : existing))
      : [...accounts, saved];
    requireSameAccounts(sealed, updated);
    const nonces = { ...(current.nonces ?? {}) };
    if (typeof check.lastNonce === 'string') nonces[saved.id] = check.lastNonce;
    // Vault and account list in one write, so neither can exist without the other.
    await write({ vault: sealed, accounts: updated, nonces });
    return saved;
  });
  const unlocked = await storeKey(vaultKey, epoch);
  if (unlocked) refreshSoon();
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
    await write(update);
    return { ok: true, accounts: remaining, vaultEmpty: remaining.length === 0 };
  });
  if (!reply.vaultEmpty && (await sessionKey())) refreshSoon();
  if (reply.vaultEmpty) await scheduleSync();
  return reply;
}

async function resetVault() {
  await lockNow();
  await exclusive(async () => {
    const history = Object.keys(await historyChunks());
    await local.remove(['vault', 'accounts', 'snapshot', 'lastError', 'nonces', 'lockouts', 'syncState', 'historyView', 'historyCompactedAt', ...history]);
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
    requireSameAccounts(vault, accountList(current.accounts));
    await write({ vault });
  });
  // The old cached key no longer opens the vault: replace it, unless a lock came meanwhile.
  if (!(await storeKey(vaultKey, epoch))) await lockNow();
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Settings

async function setSettings(message) {
  const changes = message.settings;
  if (!changes || typeof changes !== 'object') throw invalidInput();
  const valid = {};
  if ('quote' in changes) {
    if (typeof changes.quote !== 'string' || !/^[a-z0-9]{2,12}$/i.test(changes.quote)) throw invalidInput('quote');
    valid.quote = changes.quote.toLowerCase();
  }
  if ('autoLockMinutes' in changes) {
    if (!AUTOLOCK_CHOICES.includes(changes.autoLockMinutes)) throw invalidInput();
    valid.autoLockMinutes = changes.autoLockMinutes;
  }
  if ('syncMinutes' in changes) {
    if (!SYNC_CHOICES.includes(changes.syncMinutes)) throw invalidInput();
    valid.syncMinutes = changes.syncMinutes;
  }
  if ('badge' in changes) {
    if (!BADGE_CHOICES.includes(changes.badge)) throw invalidInput();
    valid.badge = changes.badge;
  }
  const { before, after } = await exclusive(async () => {
    const stored = withDefaults((await local.get('settings')).settings);
    const merged = { ...stored, ...valid };
    await write({ settings: merged });
    return { before: stored, after: merged };
  });
  const unlocked = (await sessionKey()) !== null;
  if (unlocked && before.autoLockMinutes !== after.autoLockMinutes) await armAutoLock();
  if (unlocked && before.quote !== after.quote) refreshSoon();
  if (before.syncMinutes !== after.syncMinutes) {
    await local.remove('syncState');
    await scheduleSync();
  }
  if (before.badge !== after.badge) await updateBadge();
  return { ok: true, settings: after };
}

// ---------------------------------------------------------------------------------------------
// Automatic sync

/**
 * Plans the next sync and sets the alarm for it: the stored plan when it is believable (the
 * backoff survives a worker restart), else a fresh one with jitter (src/schedule.rs).
 */
async function scheduleSync({ failures } = {}) {
  await engineReady();
  const { settings, syncState, accounts } = await local.get(['settings', 'syncState', 'accounts']);
  const minutes = withDefaults(settings).syncMinutes;
  const count = Number.isSafeInteger(failures) ? failures : Number.isSafeInteger(syncState?.failures) ? syncState.failures : 0;
  const stored = failures === undefined && Number.isFinite(syncState?.nextAt) ? syncState.nextAt : null;
  const nextAt = accountList(accounts).length && SYNC_CHOICES.includes(minutes) ? cartera.planSync(minutes, count, stored) : null;
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
  if (!alert || typeof alert !== 'object' || !ALERT_KINDS.includes(alert.kind)) throw invalidInput('alert');
  const candidate = { ...alert, id: typeof alert.id === 'string' ? alert.id : crypto.randomUUID() };
  await engineReady();
  // The core refuses what could never be judged: a threshold that is not a positive decimal, a
  // bad asset code.
  const checked = JSON.parse(cartera.checkAlert(JSON.stringify(candidate)));
  const alerts = await exclusive(async () => {
    const { alerts: stored } = await local.get('alerts');
    const list = Array.isArray(stored) ? stored : [];
    const index = list.findIndex((existing) => existing.id === checked.id);
    if (index < 0 && list.length >= MAX_ALERTS) throw invalidInput('alert');
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
  const { alerts, alertStates, accounts } = await local.get(['alerts', 'alertStates', 'accounts']);
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
      message: notificationText(alert, firing, snapshot.quote, account),
    });
  }
}

function notificationText(alert, firing, quote, account) {
  const asset = alert.asset?.toUpperCase() ?? '';
  const money = (value) => formatMoney(value, alert.currency ?? quote, uiLang());
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
  const { settings, snapshot, accounts } = await local.get(['settings', 'snapshot', 'accounts']);
  const mode = withDefaults(settings).badge;
  const action = browser.action;
  if (mode === 'none' || !snapshot || accountList(accounts).length === 0) {
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
  inflight ??= runRefresh({ automatic })
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

/** Rate-limit retry times still ahead and no further than Cartera ever waits (a time further
 * ahead is damage or a clock set back, and must never block refresh). */
function currentLockouts(stored, now = Date.now()) {
  const lockouts = {};
  for (const [exchange, retryAt] of Object.entries(stored ?? {})) {
    if (EXCHANGE_IDS.includes(exchange) && Number.isFinite(retryAt) && retryAt > now && retryAt - now <= MAX_RETRY_WAIT_MS) {
      lockouts[exchange] = retryAt;
    }
  }
  return lockouts;
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject({ code: 'request_timeout' }), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runRefresh({ automatic }) {
  const stored = await local.get(['vault', 'accounts', 'settings', 'snapshot', 'nonces', 'lockouts']);
  const accounts = accountList(stored.accounts);
  if (typeof stored.vault !== 'string' || accounts.length === 0) throw { code: 'no_accounts' };
  const core = await engineReady();
  let vaultKey = await sessionKey();
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
  if (!vaultKey && (!automatic || !stored.snapshot)) throw { code: 'locked' };
  await requireExchangeAccess([...new Set(accounts.map((account) => account.exchange))]);
  // An automatic sync is not the user's activity: it does not postpone the auto-lock.
  if (vaultKey && !automatic) await armAutoLock();

  const bridges = [];
  for (const bridge of PRICE_BRIDGES) {
    if (await browser.permissions.contains({ origins: originsOf([bridge]) })) bridges.push(bridge);
  }
  const requested = accounts.map(({ id, label, exchange }) => ({ id, label, exchange }));
  // The options cross the wasm boundary as JSON text, the form the core reads them in.
  const options = JSON.stringify({
    ...(vaultKey ? { vault: stored.vault, vaultKey } : {}),
    accounts: requested,
    quote: withDefaults(stored.settings).quote,
    previous: stored.snapshot ?? null,
    nonces: stored.nonces ?? {},
    lockouts: currentLockouts(stored.lockouts),
    bridges,
  });
  const outcome = JSON.parse(await withTimeout(core.refresh(options), REFRESH_TIMEOUT_MS));
  const { reply, observed } = await exclusive(() => storeOutcome(outcome));
  if (observed) await afterSnapshot(observed, { record: reply.ok });
  return reply;
}

async function storeOutcome(outcome) {
  const current = await local.get(['vault', 'accounts', 'nonces', 'snapshot']);
  const accounts = accountList(current.accounts);
  const known = new Set(accounts.map((account) => account.id));
  // Nonces were spent and rate limits seen whether or not there is a snapshot: keep them.
  const nonces = { ...(current.nonces ?? {}) };
  for (const [id, nonce] of Object.entries(outcome.nonces ?? {})) if (known.has(id)) nonces[id] = nonce;
  const update = { nonces, lockouts: currentLockouts(outcome.lockouts) };

  const snapshot = outcome.snapshot;
  // The vault was reset or an account removed while the request ran: these numbers are void.
  const discarded = typeof current.vault !== 'string' || (snapshot && !snapshot.accounts.every((entry) => known.has(entry.id)));
  if (discarded) {
    await write(update);
    return { reply: { ok: true, snapshot: current.snapshot ?? null } };
  }
  if (!snapshot) {
    const error = outcome.error ?? { code: 'internal' };
    // The previous snapshot stays: the popup keeps showing the last good numbers, marked stale.
    update.lastError = { ...error, at: Date.now() };
    update.accounts = accounts.map((account) => ({ ...account, status: 'error', error }));
    await write(update);
    // Alerts about accounts that stop working still hear of it.
    const observed = current.snapshot ? { ...current.snapshot, accounts: current.snapshot.accounts.map((account) => ({ ...account, error })) } : null;
    return { reply: { ok: false, error }, observed };
  }
  snapshot.priceErrors = outcome.priceErrors ?? [];
  const results = new Map(snapshot.accounts.map((entry) => [entry.id, entry]));
  update.accounts = accounts.map((account) => {
    const result = results.get(account.id);
    if (!result) return account;
    return {
      ...account,
      lastSync: result.syncedAt ?? account.lastSync ?? null,
      status: result.error ? 'error' : 'active',
      error: result.error ?? null,
    };
  });
  update.snapshot = snapshot;
  update.lastError = null;
  await write(update);
  return { reply: { ok: true, snapshot }, observed: snapshot };
}

/** What follows every refresh, manual or automatic: a history point (for a new snapshot), alerts
 * and the badge. A failure here never undoes the snapshot. */
async function afterSnapshot(snapshot, { record }) {
  if (record) {
    try {
      await exclusive(() => recordHistory(snapshot));
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

/** Adds the snapshot as a point, applies the tiers now and then, and refreshes the popup's view. */
async function recordHistory(snapshot) {
  const chunks = await historyChunks();
  const { key, chunk } = cartera.historyAppend(JSON.stringify(chunks), JSON.stringify(snapshot));
  chunks[key] = chunk;
  const update = { [key]: chunk };
  const { historyCompactedAt } = await local.get('historyCompactedAt');
  const removed = [];
  if (!Number.isFinite(historyCompactedAt) || Date.now() - historyCompactedAt >= COMPACT_EVERY_MS) {
    const compaction = JSON.parse(cartera.historyCompact(JSON.stringify(chunks)));
    Object.assign(update, compaction.write);
    Object.assign(chunks, compaction.write);
    for (const old of compaction.remove) {
      delete chunks[old];
      removed.push(old);
    }
    update.historyCompactedAt = Date.now();
  }
  update.historyView = JSON.parse(cartera.historyView(JSON.stringify(chunks), snapshot.quote, JSON.stringify(snapshot)));
  await write(update);
  if (removed.length) await local.remove(removed);
}
