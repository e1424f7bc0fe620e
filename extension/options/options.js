// Options page: accounts, adding a key, display settings and the passphrase. Argon2id runs here
// (createVault / unlockVault / changePassphrase), so the wasm core is loaded only when needed.

import {
  browser, send, t, localize, uiLang, relativeTime, el, asError, nextPaint, isIsoCurrency, applyTheme, decimalMark,
  requestExchangeAccess, applyStorageChanges, DEFAULT_SETTINGS, errorText, exchangeName, formatAmount, formatMoney, formatPercent,
  portfolioName, portfolioOf as portfolioIn, withDefaults,
} from '../shared/ext.js';
import { ALERT_KINDS } from '../shared/core-constants.js';
import { EXCHANGE_IDS, EXCHANGES } from '../shared/exchanges.js';
import { loadCore } from '../shared/core.js';
import { followWelcomeLink, startWhatsNew } from './first-minute.js';
import { startNews } from './news.js';

const FALLBACK_QUOTES = ['mxn', 'usd', 'brl', 'ars', 'cop', 'eur'];
// Besides fiat currencies, the assets people value a portfolio in.
const CRYPTO_QUOTES = ['btc', 'eth', 'usdt', 'usdc'];
const GUIDE_STEPS = 4;
/** What the core says of an alert kind: whether it names an asset and which number it takes. */
const alertKind = (kind) => ALERT_KINDS.find((entry) => entry.kind === kind) ?? { kind, asset: false, number: null };
const lang = uiLang();
const $ = (id) => document.getElementById(id);

const state = {
  vault: null,
  accounts: [],
  portfolios: [],
  manual: [],
  // The manual holding the form edits, or null when it adds one.
  editingHolding: null,
  snapshot: null,
  settings: DEFAULT_SETTINGS,
  unlocked: false,
  lockEpoch: 0,
  busy: false,
  // The account whose key the add form replaces, or null when it adds a new account.
  replacing: null,
  // The key scope the user agreed to keep although it is not read-only (set by "Save anyway").
  acceptedScope: null,
  alerts: [],
  alertStates: {},
  // Each account's transaction-history import (cursor, progress, error), kept by the background.
  txState: {},
  // The alert the form edits, or null when it adds one.
  editingAlert: null,
  // Accounts whose "Trading pairs" are open, kept open when the list is drawn again.
  pairsOpen: new Set(),
};

localize();
wireControls();
start();

async function start() {
  const reply = await send('getState');
  if (reply.ok) {
    state.accounts = reply.accounts;
    state.portfolios = reply.portfolios;
    state.manual = reply.manual;
    state.snapshot = reply.snapshot;
    state.settings = reply.settings;
    state.unlocked = reply.unlocked;
    state.lockEpoch = reply.lockEpoch;
  }
  // The vault text itself is needed here for unlockVault/changePassphrase.
  const { vault, alerts, alertStates, backupReminder, txState } = await browser.storage.local.get(['vault', 'alerts', 'alertStates', 'backupReminder', 'txState']);
  state.txState = txState ?? {};
  state.vault = typeof vault === 'string' ? vault : null;
  state.alerts = Array.isArray(alerts) ? alerts : [];
  state.alertStates = alertStates ?? {};
  state.backupReminder = backupReminder ?? {};
  render();
  checkVault();
  startWhatsNew();
  followHash();
  window.addEventListener('hashchange', followHash);
  browser.storage.onChanged.addListener(onStorageChanged);
  setInterval(renderAccounts, 30_000);
  showShortcut();
  startNews();
}

/** The keyboard shortcut that opens the popup, as the browser has it now (the user may change it). */
async function showShortcut() {
  const commands = await browser.commands?.getAll?.().catch(() => []) ?? [];
  const keys = commands.find((command) => command.name === '_execute_action')?.shortcut;
  const help = $('shortcut-help');
  help.hidden = !keys;
  help.textContent = keys ? t('shortcutHelp', [keys]) : '';
}

function wireControls() {
  $('exchange').replaceChildren(...EXCHANGE_IDS.map((id) => {
    const option = el('option', null, exchangeName(id));
    option.value = id;
    return option;
  }));
  $('exchange').addEventListener('change', () => {
    // A key's own passphrase belongs to the exchange it was typed for.
    $('api-passphrase').value = '';
    clearScope();
    setConnectionStatus('', '');
    renderExchange();
  });
  $('add-account-form').addEventListener('submit', saveAccount);
  $('key-file').addEventListener('change', readKeyFile);
  $('test-connection').addEventListener('click', testConnection);
  $('cancel-replace').addEventListener('click', stopReplacing);
  $('passphrase').addEventListener('input', () => showHint($('passphrase'), $('passphrase-hint')));
  $('new-passphrase').addEventListener('input', () => showHint($('new-passphrase'), $('new-passphrase-hint')));
  $('quote').addEventListener('change', () => saveSettings({ quote: $('quote').value }));
  $('auto-lock').addEventListener('change', () => saveSettings({ autoLockMinutes: Number($('auto-lock').value) }));
  $('sync-interval').addEventListener('change', () => saveSettings({ syncMinutes: Number($('sync-interval').value) }));
  $('badge').addEventListener('change', () => saveSettings({ badge: $('badge').value }));
  $('theme').addEventListener('change', () => {
    applyTheme($('theme').value);
    saveSettings({ theme: $('theme').value });
  });
  $('hide-below').addEventListener('change', saveHideBelow);
  $('hide-below').addEventListener('input', () => $('hide-below').removeAttribute('aria-invalid'));
  $('portfolio-form').addEventListener('submit', addPortfolio);
  $('manual-form').addEventListener('submit', saveHolding);
  $('cancel-manual').addEventListener('click', stopEditingHolding);
  for (const id of ['manual-asset', 'manual-amount', 'manual-note']) {
    $(id).addEventListener('input', () => $(id).removeAttribute('aria-invalid'));
  }
  $('manual-amount-help').textContent = t('amountExample', [formatAmount('0.25', lang)]);
  $('alert-kind').replaceChildren(...ALERT_KINDS.map(({ kind }) => {
    const option = el('option', null, t(`alertKind_${kind}`));
    option.value = kind;
    return option;
  }));
  $('alert-kind').addEventListener('change', renderAlertForm);
  $('add-alert').addEventListener('click', () => openAlertForm(null));
  $('cancel-alert').addEventListener('click', closeAlertForm);
  $('alert-form').addEventListener('submit', submitAlert);
  $('change-passphrase-form').addEventListener('submit', changePassphrase);
  $('reset-vault').addEventListener('click', confirmResetVault);
  for (const id of ['label', 'api-key', 'api-secret', 'private-key', 'api-passphrase', 'passphrase', 'passphrase-confirm']) {
    $(id).addEventListener('input', () => $(id).removeAttribute('aria-invalid'));
  }
  // A new key means a new answer about what it may do.
  for (const id of ['api-key', 'api-secret', 'private-key', 'api-passphrase']) $(id).addEventListener('input', clearScope);
  wireDialog();
  wireBackup();
  $('repair-vault').addEventListener('click', confirmRepairVault);
}

function onStorageChanged(changes, area) {
  // The background always stores settings whole, so a change replaces them.
  const tracked = {
    vault: null, accounts: [], snapshot: null, settings: DEFAULT_SETTINGS, alerts: [], alertStates: {}, portfolios: [], manual: [],
    backupReminder: {}, txState: {},
  };
  if (applyStorageChanges(state, changes, area, tracked)) render();
  if (area === 'local' && ('vault' in changes || 'accounts' in changes)) checkVault();
}

// ---------------------------------------------------------------------------------------------
// Rendering

function render() {
  state.settings = withDefaults(state.settings);
  applyTheme(state.settings.theme);
  renderPortfolios();
  renderAccounts();
  renderManual();
  renderAddForm();
  renderExchange();
  renderSettings();
  renderAlerts();
  renderBackup();
  renderSecurity();
}

function selectedExchange() {
  return state.replacing?.exchange ?? $('exchange').value;
}

/** The chosen exchange's own words for the key halves, and its key guide. */
function renderExchange() {
  const exchange = selectedExchange();
  $('exchange').value = exchange;
  // An exchange may name the two halves of a key its own way ("Key name", "Private key").
  $('api-key-label').textContent = ownWords(`apiKeyLabel_${exchange}`) ?? t('apiKeyLabel');
  $('api-key-help').textContent = t(`apiKeyHelp_${exchange}`);
  // A private key keeps its line breaks in a textarea; a one-line secret goes in a password field.
  const privateKey = Boolean(EXCHANGES[exchange]?.privateKey);
  $('api-secret-field').hidden = privateKey;
  $('private-key-field').hidden = !privateKey;
  const secretLabel = ownWords(`apiSecretLabel_${exchange}`) ?? t('apiSecretLabel');
  $(privateKey ? 'private-key-label' : 'api-secret-label').textContent = secretLabel;
  $(privateKey ? 'private-key-help' : 'api-secret-help').textContent = t(`apiSecretHelp_${exchange}`);
  // OKX and KuCoin keys come with a passphrase of their own, asked for under the exchange's word.
  const apiPassphrase = needsApiPassphrase(exchange);
  $('api-passphrase-field').hidden = !apiPassphrase;
  $('api-passphrase-help').textContent = apiPassphrase ? t(`apiPassphraseHelp_${exchange}`) : '';
  const keyFile = Boolean(EXCHANGES[exchange]?.keyFile);
  $('key-file-field').hidden = !keyFile;
  $('key-file-help').textContent = keyFile ? t('keyFileHelp', [exchangeName(exchange)]) : '';
  $('guide-heading').textContent = t('guideHeading', [exchangeName(exchange)]);
  const steps = [];
  for (let i = 1; i <= GUIDE_STEPS; i++) steps.push(el('li', null, t(`guide_${exchange}_${i}`)));
  steps.push(el('li', null, t('guideRevoke')));
  $('guide-steps').replaceChildren(...steps);
}

function renderAccounts() {
  $('accounts').replaceChildren(...state.accounts.map(accountRow));
  $('no-accounts').hidden = state.accounts.length > 0;
  const lockState = $('lock-state');
  lockState.hidden = state.vault === null;
  lockState.className = `badge ${state.unlocked ? 'ok' : 'warn'}`;
  lockState.textContent = t(state.unlocked ? 'unlockedBadge' : 'lockedBadge');
}

function accountRow(account) {
  const row = el('li', 'account');
  row.dataset.accountId = account.id;

  const main = el('div', 'account-main');
  const title = el('div', 'account-title');
  title.append(el('span', 'label', account.label), el('span', 'exchange', exchangeName(account.exchange)));
  const failed = account.status === 'error' && account.error;
  const status = el('span', failed ? 'status error' : 'status badge ok', failed ? errorText(account.error) : t('statusActive'));
  const lastSync = el('span', 'last-sync', account.lastSync ? t('lastSync', [relativeTime(account.lastSync, lang)]) : t('neverSynced'));
  const meta = el('div', 'account-meta');
  const imported = account.importBalance !== false;
  if (imported) meta.append(status, scopeBadge(account), lastSync);
  else meta.append(notImportedBadge(), scopeBadge(account));
  // When the exchange last said what the key may do (checked again daily, within a sync).
  if (account.scope && Number.isFinite(account.scopeCheckedAt)) {
    meta.append(el('span', 'scope-checked', t('scopeChecked', [relativeTime(account.scopeCheckedAt, lang)])));
  }
  const history = historyLine(account);
  main.append(title, meta, ...(history ? [history] : []), accountControls(account));
  if (EXCHANGES[account.exchange]?.namedMarkets) main.append(tradingPairs(account));

  const replace = el('button', 'replace button', t('replaceKey'));
  replace.type = 'button';
  replace.setAttribute('aria-label', t('replaceKeyNamed', [account.label]));
  replace.addEventListener('click', () => startReplacing(account));

  replace.disabled = !EXCHANGE_IDS.includes(account.exchange);
  const remove = el('button', 'delete button danger', t('deleteAccount'));
  remove.type = 'button';
  remove.setAttribute('aria-label', t('deleteAccountNamed', [account.label]));
  remove.addEventListener('click', () => confirmRemoveAccount(account));

  const actions = el('div', 'account-actions');
  actions.append(replace, remove);
  row.append(main, actions);
  return row;
}

/** Where the account's transaction history stands: imported, importing (with how far), or the
 * permission or error that stops it. */
function historyLine(account) {
  const history = state.txState?.[account.id];
  if (!history) return null;
  let text;
  let className = 'history-state';
  if (history.unsupported) text = t('historyNotRead');
  else if (history.error) {
    text = errorText(history.error);
    className += ' error';
  } else if (history.caughtUp) text = t('historyImported');
  else if (Number.isFinite(history.expected) && history.expected > 0) text = t('historyImportingProgress', [formatAmount(String(history.read ?? 0), lang), formatAmount(String(history.expected), lang)]);
  else text = t('historyImportingCount', [formatAmount(String(history.read ?? 0), lang)]);
  return el('p', className, text);
}

function notImportedBadge() {
  const badge = el('span', 'badge warn', t('notImportedBadge'));
  badge.title = t('notImported');
  return badge;
}

/** The account's portfolio and its "Import balance" switch: neither touches the key. */
function accountControls(account) {
  const controls = el('div', 'account-controls');
  const switchLabel = el('label', 'switch');
  const toggle = el('input');
  toggle.type = 'checkbox';
  toggle.setAttribute('role', 'switch');
  toggle.checked = account.importBalance !== false;
  toggle.addEventListener('change', () => updateAccount(account, { importBalance: toggle.checked }));
  switchLabel.append(toggle, el('span', null, t('importBalance')));
  const move = el('select', 'move');
  move.setAttribute('aria-label', t('moveAccountLabel', [account.label]));
  move.append(...state.portfolios.map((portfolio) => new Option(portfolio.name, portfolio.id)));
  move.value = portfolioOf(account);
  move.hidden = state.portfolios.length < 2;
  move.addEventListener('change', () => updateAccount(account, { portfolio: move.value }));
  controls.append(switchLabel, move);
  return controls;
}

/** The markets named for the account's history, for an exchange that cannot list the markets an
 * account traded (Binance): each with a Remove button, and a field to name another. */
function tradingPairs(account) {
  const box = el('details', 'trading-pairs');
  box.open = state.pairsOpen.has(account.id);
  box.addEventListener('toggle', () => (box.open ? state.pairsOpen.add(account.id) : state.pairsOpen.delete(account.id)));
  const markets = Array.isArray(account.markets) ? account.markets : [];
  const list = el('ul', 'pair-list');
  for (const market of markets) {
    const item = el('li', 'pair');
    const remove = el('button', 'button', t('removePairNamed', [market]));
    remove.type = 'button';
    remove.addEventListener('click', () => removePair(account, market));
    item.append(el('span', 'pair-name', market), remove);
    list.append(item);
  }
  if (!markets.length) list.append(el('li', 'help', t('pairsNone')));

  const form = el('form', 'inline-form pair-form');
  const field = el('div', 'field');
  const input = el('input');
  input.id = `pair-${account.id}`;
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.maxLength = 40;
  input.placeholder = t('tradingPairPlaceholder');
  const label = el('label', null, t('tradingPairLabel'));
  label.htmlFor = input.id;
  const problem = el('p', 'help pair-error');
  problem.id = `pair-error-${account.id}`;
  problem.hidden = true;
  input.setAttribute('aria-describedby', problem.id);
  field.append(label, input);
  const add = el('button', 'button', t('addPair'));
  add.type = 'submit';
  form.append(field, add);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    add.disabled = true;
    const reply = await send('addMarket', { id: account.id, market: input.value });
    add.disabled = false;
    if (!reply.ok) {
      input.setAttribute('aria-invalid', 'true');
      problem.textContent = errorText(reply.error);
      problem.hidden = false;
      input.focus();
      return;
    }
    state.accounts = reply.accounts;
    renderAccounts();
    announce(t('pairAdded', [reply.market]));
    document.getElementById(`pair-${account.id}`)?.focus();
  });
  box.append(el('summary', null, t('tradingPairs')), el('p', 'help', t('tradingPairsHelp')), list, form, problem);
  return box;
}

async function removePair(account, market) {
  const reply = await send('removeMarket', { id: account.id, market });
  if (!reply.ok) {
    announce(errorText(reply.error), 'error');
    return;
  }
  state.accounts = reply.accounts;
  renderAccounts();
  announce(t('pairRemoved', [market]));
  document.getElementById(`pair-${account.id}`)?.focus();
}

/** The portfolio an account or holding is in (the first one when its own is gone). */
function portfolioOf(entry) {
  return portfolioIn(entry, state.portfolios);
}

async function updateAccount(account, changes) {
  const reply = await send('setAccount', { id: account.id, ...changes });
  if (!reply.ok) {
    announce(errorText(reply.error), 'error');
    renderAccounts();
    return;
  }
  state.accounts = reply.accounts;
  renderAccounts();
  if ('portfolio' in changes) announce(t('accountMoved', [account.label, portfolioName(state.portfolios, changes.portfolio)]));
  else announce(t(changes.importBalance ? 'importOn' : 'importOff', [account.label]));
}

// ---------------------------------------------------------------------------------------------
// Portfolios

function renderPortfolios() {
  $('portfolios').replaceChildren(...state.portfolios.map(portfolioRow));
  const options = () => state.portfolios.map((portfolio) => new Option(portfolio.name, portfolio.id));
  for (const id of ['add-portfolio', 'manual-portfolio']) {
    const select = $(id);
    const chosen = select.value;
    select.replaceChildren(...options());
    select.value = state.portfolios.some((portfolio) => portfolio.id === chosen) ? chosen : state.portfolios[0]?.id ?? '';
  }
}

function portfolioRow(portfolio) {
  const row = el('li', 'portfolio');
  row.dataset.portfolioId = portfolio.id;
  const name = el('input');
  name.type = 'text';
  name.maxLength = 40;
  name.value = portfolio.name;
  name.setAttribute('aria-label', t('portfolioNameLabel', [portfolio.name]));
  const count = state.accounts.filter((account) => portfolioOf(account) === portfolio.id).length;
  const rename = el('button', 'button', t('renamePortfolio'));
  rename.type = 'button';
  rename.setAttribute('aria-label', t('renamePortfolioNamed', [portfolio.name]));
  rename.addEventListener('click', () => renamePortfolio(portfolio, name));
  name.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      renamePortfolio(portfolio, name);
    }
  });
  const remove = el('button', 'button danger', t('deletePortfolio'));
  remove.type = 'button';
  remove.setAttribute('aria-label', t('deletePortfolioNamed', [portfolio.name]));
  remove.disabled = state.portfolios.length < 2;
  if (remove.disabled) remove.title = t('lastPortfolio');
  remove.addEventListener('click', () => confirmDeletePortfolio(portfolio));
  row.append(name, el('span', 'count fine', String(count)), rename, remove);
  return row;
}

async function addPortfolio(event) {
  event.preventDefault();
  const input = $('new-portfolio');
  const reply = await send('savePortfolio', { name: input.value });
  if (!reply.ok) {
    input.setAttribute('aria-invalid', 'true');
    $('portfolio-status').textContent = errorText(reply.error);
    input.focus();
    return;
  }
  input.value = '';
  input.removeAttribute('aria-invalid');
  $('portfolio-status').textContent = '';
  state.portfolios = reply.portfolios;
  render();
  announce(t('portfolioSaved'));
}

async function renamePortfolio(portfolio, input) {
  const reply = await send('savePortfolio', { id: portfolio.id, name: input.value });
  if (!reply.ok) {
    input.setAttribute('aria-invalid', 'true');
    announce(errorText(reply.error), 'error');
    return;
  }
  state.portfolios = reply.portfolios;
  render();
  announce(t('portfolioSaved'));
}

function confirmDeletePortfolio(portfolio) {
  const target = state.portfolios.find((candidate) => candidate.id !== portfolio.id);
  confirmAction({
    title: t('deletePortfolioTitle', [portfolio.name]),
    body: t('deletePortfolioBody', [target.name]),
    confirmLabel: t('deletePortfolio'),
    action: async () => {
      const reply = await send('deletePortfolio', { id: portfolio.id, target: target.id });
      if (!reply.ok) throw reply.error;
      state.portfolios = reply.portfolios;
      state.accounts = reply.accounts;
      state.manual = reply.manual;
      render();
      announce(t('portfolioDeleted', [portfolio.name, target.name]));
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Manual holdings

function renderManual() {
  const rows = [...state.manual].sort((a, b) => portfolioRank(a) - portfolioRank(b) || a.asset.localeCompare(b.asset));
  $('manual-list').replaceChildren(...rows.map(holdingRow));
  $('no-manual').hidden = state.manual.length > 0;
  const known = [...new Set((state.snapshot?.assets ?? []).map((row) => row.asset))];
  $('manual-assets').replaceChildren(...known.map((asset) => {
    const option = el('option');
    option.value = asset.toUpperCase();
    return option;
  }));
  if (state.editingHolding && !state.manual.some((entry) => entry.id === state.editingHolding.id)) stopEditingHolding();
}

function portfolioRank(entry) {
  return state.portfolios.findIndex((portfolio) => portfolio.id === portfolioOf(entry));
}

function holdingRow(holding) {
  const row = el('li', 'holding');
  row.dataset.holdingId = holding.id;
  const symbol = holding.asset.toUpperCase();
  const main = el('div', 'holding-main');
  main.append(el('span', 'asset', symbol), el('span', 'amount num', formatAmount(holding.amount, lang)));
  if (state.portfolios.length > 1) main.append(el('span', 'exchange', portfolioName(state.portfolios, portfolioOf(holding))));
  if (holding.note) main.append(el('span', 'note fine', holding.note));
  const edit = el('button', 'button', t('editAlert'));
  edit.type = 'button';
  edit.setAttribute('aria-label', t('editManualNamed', [symbol]));
  edit.addEventListener('click', () => startEditingHolding(holding));
  const remove = el('button', 'button danger', t('deleteAlert'));
  remove.type = 'button';
  remove.setAttribute('aria-label', t('deleteManualNamed', [symbol]));
  remove.addEventListener('click', () => deleteHolding(holding));
  const actions = el('div', 'account-actions');
  actions.append(edit, remove);
  row.append(main, actions);
  return row;
}

function startEditingHolding(holding) {
  state.editingHolding = holding;
  $('manual-portfolio').value = portfolioOf(holding);
  $('manual-asset').value = holding.asset.toUpperCase();
  $('manual-amount').value = formatAmount(holding.amount, lang);
  $('manual-note').value = holding.note ?? '';
  $('save-manual').textContent = t('saveAlert');
  $('cancel-manual').hidden = false;
  $('manual-amount').focus();
}

function stopEditingHolding() {
  state.editingHolding = null;
  for (const id of ['manual-asset', 'manual-amount', 'manual-note']) {
    $(id).value = '';
    $(id).removeAttribute('aria-invalid');
  }
  $('save-manual').textContent = t('addManual');
  $('cancel-manual').hidden = true;
}

async function saveHolding(event) {
  event.preventDefault();
  const holding = {
    ...(state.editingHolding ? { id: state.editingHolding.id } : {}),
    portfolio: $('manual-portfolio').value,
    asset: $('manual-asset').value,
    amount: $('manual-amount').value,
    note: $('manual-note').value,
    decimalMark: decimalMark(lang),
  };
  const reply = await send('saveHolding', { holding });
  const status = $('manual-status');
  if (!reply.ok) {
    const field = { asset: 'manual-asset', amount: 'manual-amount', note: 'manual-note' }[reply.error.field];
    if (field) {
      $(field).setAttribute('aria-invalid', 'true');
      $(field).focus();
    }
    status.textContent = errorText(reply.error);
    status.dataset.kind = 'error';
    return;
  }
  status.textContent = t('manualSaved');
  status.dataset.kind = 'ok';
  state.manual = reply.manual;
  stopEditingHolding();
  renderManual();
  $('manual-asset').focus();
}

async function deleteHolding(holding) {
  const reply = await send('deleteHolding', { id: holding.id });
  if (!reply.ok) return announce(errorText(reply.error), 'error');
  state.manual = reply.manual;
  renderManual();
  announce(t('manualDeleted'));
}

/** What the key may do: read-only (checked), not read-only, or not checked (the exchange cannot say). */
function scopeBadge(account) {
  const scope = account.scope;
  if (!scope) {
    const badge = el('span', 'badge scope unchecked', t('scopeNotChecked'));
    badge.title = t('scopeNotCheckedHelp', [exchangeName(account.exchange), t(`permission_${account.exchange}`)]);
    return badge;
  }
  if (!scope.readOnly) {
    const badge = el('span', 'badge scope warn', t('scopeNotReadOnly'));
    badge.title = scopeWarning(scope);
    return badge;
  }
  return el('span', 'badge scope ok', t('scopeReadOnly'));
}

function scopeWarning(scope) {
  if (scope.withdraw) return t('scopeWarningWithdraw');
  if (scope.trade) return t('scopeWarningTrade');
  if (scope.transfer) return t('scopeWarningTransfer');
  return t('scopeWarningOther');
}

/** Shows what Test connection or Save learned about the key's permissions. */
function showScope(scope, exchange) {
  const warning = $('scope-warning');
  const note = $('scope-note');
  // The core's verdict (src/exchange/mod.rs `KeyScope`), stored and sent with the flags.
  const risky = Boolean(scope) && !scope.readOnly;
  warning.hidden = !risky;
  warning.textContent = risky ? `${scopeWarning(scope)} ${t('scopeWarningConfirm')}` : '';
  note.hidden = Boolean(scope);
  note.textContent = scope ? '' : t('scopeNotCheckedHelp', [exchangeName(exchange), t(`permission_${exchange}`)]);
  state.pendingScope = risky ? scope : null;
  $('save-account').textContent = t(risky ? 'saveAnyway' : state.replacing ? 'saveNewKey' : 'saveAccount');
}

function clearScope() {
  state.pendingScope = null;
  state.acceptedScope = null;
  $('scope-warning').hidden = true;
  $('scope-note').hidden = true;
  $('save-account').textContent = t(state.replacing ? 'saveNewKey' : 'saveAccount');
}

/** A message only some exchanges have, or null. */
function ownWords(key) {
  return browser.i18n.getMessage(key) || null;
}

/** Fills both key fields from the key file an exchange lets users download; the file's text is
 * dropped as soon as it is read, and the file input is cleared. */
async function readKeyFile() {
  const input = $('key-file');
  const file = input.files?.[0];
  const exchange = selectedExchange();
  const fields = EXCHANGES[exchange]?.keyFile;
  input.value = '';
  if (!file || !fields) return;
  let parsed = null;
  try {
    // Key files are a few hundred bytes; anything far larger is not one.
    if (file.size <= 16_384) parsed = JSON.parse(await file.text());
  } catch {
    parsed = null;
  }
  const key = fields.key.map((name) => parsed?.[name]).find((value) => typeof value === 'string' && value);
  const secret = parsed?.[fields.secret];
  if (!key || typeof secret !== 'string' || !secret) {
    setConnectionStatus(t('keyFileUnreadable', [exchangeName(exchange)]), 'error');
    return;
  }
  $('api-key').value = key;
  $(secretField()).value = secret;
  clearScope();
  setConnectionStatus(t('keyFileRead'), 'ok');
}

/** Turns the add form into "new key for this account": same id and place, new credentials. */
function startReplacing(account) {
  state.replacing = account;
  clearAddForm();
  $('label').value = account.label;
  renderAddForm();
  setConnectionStatus('', '');
  $('add-heading').scrollIntoView({ block: 'start' });
  $('api-key').focus();
}

function stopReplacing() {
  state.replacing = null;
  clearAddForm();
  setConnectionStatus('', '');
  renderAddForm();
  renderExchange();
}

function renderAddForm() {
  if (state.replacing && !state.accounts.some((account) => account.id === state.replacing.id)) state.replacing = null;
  const replacing = state.replacing;
  $('add-heading').textContent = replacing ? t('replaceHeading', [replacing.label]) : t('addHeading');
  $('save-account').textContent = t(state.pendingScope ? 'saveAnyway' : replacing ? 'saveNewKey' : 'saveAccount');
  $('cancel-replace').hidden = !replacing;
  // A replacement key must be for the account's own exchange.
  $('exchange').disabled = Boolean(replacing);
  const creating = state.vault === null;
  const label = $('passphrase-label');
  label.textContent = t(creating ? 'newPassphraseLabel' : 'vaultPassphraseLabel');
  $('passphrase-help').textContent = t(creating ? 'newPassphraseHelp' : 'vaultPassphraseHelp');
  $('passphrase').autocomplete = creating ? 'new-password' : 'current-password';
  $('passphrase-hint').hidden = !creating;
  $('passphrase-confirm-field').hidden = !creating;
}

function renderSettings() {
  const quote = $('quote');
  const offered = new Set([...FALLBACK_QUOTES, ...(state.snapshot?.quotes ?? [])]);
  const quotes = [...offered].filter((code) => isIsoCurrency(code) || CRYPTO_QUOTES.includes(code)).sort();
  if (!quotes.includes(state.settings.quote)) quotes.unshift(state.settings.quote);
  const names = currencyNames();
  quote.replaceChildren(...quotes.map((code) => {
    const option = el('option', null, currencyLabel(code, names));
    option.value = code;
    return option;
  }));
  quote.value = state.settings.quote;
  $('auto-lock').value = String(state.settings.autoLockMinutes);
  $('sync-interval').value = String(state.settings.syncMinutes);
  $('badge').value = state.settings.badge;
  $('theme').value = state.settings.theme;
  const hideBelow = $('hide-below');
  // Not while the user is typing in it.
  if (document.activeElement !== hideBelow) hideBelow.value = state.settings.hideBelow ? formatAmount(state.settings.hideBelow, lang) : '';
}

/** "Hide small balances": empty turns it off; the number is read as the page's language writes it. */
async function saveHideBelow() {
  const input = $('hide-below');
  const reply = await send('setSettings', { settings: { hideBelow: input.value }, decimalMark: decimalMark(lang) });
  if (!reply.ok) {
    input.setAttribute('aria-invalid', 'true');
    announce(errorText(reply.error), 'error');
    return;
  }
  input.removeAttribute('aria-invalid');
  state.settings = reply.settings;
  input.value = state.settings.hideBelow ? formatAmount(state.settings.hideBelow, lang) : '';
  announce(t('displaySaved'));
}

// ---------------------------------------------------------------------------------------------
// Alerts

function describeAlert(alert) {
  const asset = alert.asset?.toUpperCase() ?? '';
  switch (alert.kind) {
    case 'move24h':
      return t('alertDescribe_move24h', [asset, formatPercent(alert.percent, lang)]);
    case 'accountFailing':
      return t('alertDescribe_accountFailing');
    case 'totalAbove':
    case 'totalBelow':
      return t(`alertDescribe_${alert.kind}`, [formatMoney(alert.threshold, alert.currency, lang)]);
    default:
      return t(`alertDescribe_${alert.kind}`, [asset, formatMoney(alert.threshold, alert.currency, lang)]);
  }
}

function renderAlerts() {
  $('alerts').replaceChildren(...state.alerts.map(alertRow));
  $('no-alerts').hidden = state.alerts.length > 0;
  const assets = [...new Set([...(state.snapshot?.assets ?? []).map((row) => row.asset), ...(state.snapshot?.unpriced ?? []).map((row) => row.asset)])];
  $('alert-assets').replaceChildren(...assets.map((asset) => {
    const option = el('option');
    option.value = asset.toUpperCase();
    return option;
  }));
}

function alertRow(alert) {
  const row = el('li', 'alert-item');
  row.id = `alert-${alert.id}`;
  row.dataset.alertId = alert.id;
  const description = describeAlert(alert);
  const main = el('div', 'alert-main');
  main.append(el('span', 'alert-text', description));
  const meta = el('div', 'alert-meta');
  if (alert.paused) meta.append(el('span', 'badge warn', t('alertPaused')));
  const fired = state.alertStates[alert.id]?.lastFiredAt;
  meta.append(el('span', 'alert-fired', fired ? t('alertLastFired', [relativeTime(fired, lang)]) : t('alertNeverFired')));
  if (alert.kind !== 'move24h' && alert.kind !== 'accountFailing' && alert.currency !== state.settings.quote) {
    meta.append(el('span', 'alert-currency', t('alertOtherCurrency', [alert.currency.toUpperCase()])));
  }
  main.append(meta);

  const button = (className, text, label, action) => {
    const node = el('button', `button ${className}`, text);
    node.type = 'button';
    node.setAttribute('aria-label', `${label}: ${description}`);
    node.addEventListener('click', action);
    return node;
  };
  const actions = el('div', 'account-actions');
  actions.append(
    button('edit', t('editAlert'), t('editAlert'), () => openAlertForm(alert)),
    button('pause', t(alert.paused ? 'resumeAlert' : 'pauseAlert'), t(alert.paused ? 'resumeAlert' : 'pauseAlert'),
      () => storeAlert({ ...alert, paused: !alert.paused })),
    button('delete danger', t('deleteAlert'), t('deleteAlert'), () => removeAlert(alert)),
  );
  row.append(main, actions);
  return row;
}

function openAlertForm(alert, { asset } = {}) {
  state.editingAlert = alert;
  const form = $('alert-form');
  form.hidden = false;
  $('alert-kind').value = alert?.kind ?? 'priceAbove';
  $('alert-asset').value = (alert?.asset ?? asset ?? '').toUpperCase();
  $('alert-threshold').value = alert?.threshold ?? '';
  $('alert-percent').value = alert?.percent ?? '';
  $('alert-status').textContent = '';
  renderAlertForm();
  $(alert || !asset ? 'alert-kind' : 'alert-threshold').focus();
}

function closeAlertForm() {
  state.editingAlert = null;
  $('alert-form').hidden = true;
}

function renderAlertForm() {
  const kind = $('alert-kind').value;
  const { asset, number } = alertKind(kind);
  $('alert-asset-field').hidden = !asset;
  $('alert-threshold-field').hidden = number !== 'threshold';
  $('alert-percent-field').hidden = number !== 'percent';
  const currency = (state.editingAlert?.currency ?? state.settings.quote).toUpperCase();
  $('alert-threshold-label').textContent = t('alertThresholdLabel', [currency]);
}

async function submitAlert(event) {
  event.preventDefault();
  const kind = $('alert-kind').value;
  const alert = {
    ...(state.editingAlert ? { id: state.editingAlert.id, paused: state.editingAlert.paused } : {}),
    kind,
    currency: state.editingAlert?.currency ?? state.settings.quote,
  };
  const { asset, number } = alertKind(kind);
  if (asset) alert.asset = $('alert-asset').value.trim().toLowerCase();
  // Numbers go as typed: the core reads them the way the page's language writes numbers.
  if (number === 'threshold') alert.threshold = $('alert-threshold').value;
  if (number === 'percent') alert.percent = $('alert-percent').value.replace('%', '');
  const ok = await storeAlert(alert, { typed: true });
  if (ok) closeAlertForm();
}

/** Saves an alert; `typed`: its numbers are as the user typed them, not yet plain decimals. */
async function storeAlert(alert, { typed = false } = {}) {
  const reply = await send('saveAlert', { alert, ...(typed ? { decimalMark: decimalMark(lang) } : {}) });
  if (!reply.ok) {
    $('alert-status').textContent = errorText(reply.error);
    $('alert-status').dataset.kind = 'error';
    return false;
  }
  state.alerts = reply.alerts;
  renderAlerts();
  announce(t('alertSaved'));
  return true;
}

async function removeAlert(alert) {
  const reply = await send('deleteAlert', { id: alert.id });
  if (!reply.ok) return announce(errorText(reply.error), 'error');
  state.alerts = state.alerts.filter((candidate) => candidate.id !== alert.id);
  renderAlerts();
  announce(t('alertDeleted'));
}

/** `#new-alert=<asset>` opens the form for that asset (the popup's "Alert me…"); `#alert-<id>`
 * (a notification's click) shows that alert. */
function followHash() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (followWelcomeLink(hash)) return;
  const asset = /^new-alert=([a-z0-9]{1,20})$/i.exec(hash)?.[1];
  if (asset) {
    openAlertForm(null, { asset });
    $('alerts-card').scrollIntoView({ block: 'start' });
    return;
  }
  const row = hash.startsWith('alert-') ? document.getElementById(hash) : null;
  if (row) {
    row.scrollIntoView({ block: 'center' });
    row.querySelector('button')?.focus();
  } else if (hash === 'alerts') {
    $('alerts-card').scrollIntoView({ block: 'start' });
  } else if (hash === 'manual') {
    $('manual').scrollIntoView({ block: 'start' });
    $('manual-asset').focus();
  }
}

function currencyNames() {
  try {
    return new Intl.DisplayNames(lang, { type: 'currency' });
  } catch {
    return null;
  }
}

function currencyLabel(code, names) {
  const upper = code.toUpperCase();
  // DisplayNames throws on codes that are not three letters (USDC); crypto gets its symbol only.
  const name = names && isIsoCurrency(upper) ? names.of(upper) : null;
  return name && name !== upper ? `${upper} · ${name}` : upper;
}

function renderSecurity() {
  const hasVault = state.vault !== null;
  $('no-vault-note').hidden = hasVault;
  $('change-passphrase-form').hidden = !hasVault;
  $('forgot').hidden = !hasVault;
}

let statusTimer = 0;

/** General feedback in #options-status; it fades after a while but stays in the DOM. */
function announce(message, kind = 'ok') {
  const status = $('options-status');
  status.textContent = message;
  status.dataset.kind = kind;
  status.classList.add('visible');
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => status.classList.remove('visible'), 6000);
}

function setConnectionStatus(text, kind) {
  const status = $('connection-status');
  status.textContent = text;
  status.dataset.kind = kind ?? '';
}

function setBusy(busy) {
  state.busy = busy;
  for (const id of ['test-connection', 'save-account', 'change-passphrase']) {
    $(id).disabled = busy;
    $(id).setAttribute('aria-busy', String(busy));
  }
}

// ---------------------------------------------------------------------------------------------
// Passphrase strength

async function showHint(input, hint) {
  const text = hint.querySelector('.hint-text');
  if (!input.value) {
    hint.dataset.level = '';
    text.textContent = '';
    return;
  }
  try {
    const core = await loadCore();
    const { level, hint: code } = core.passphraseHint(input.value);
    hint.dataset.level = level;
    text.textContent = t(`passphraseHint_${code}`);
  } catch {
    hint.dataset.level = '';
    text.textContent = '';
  }
}

// ---------------------------------------------------------------------------------------------
// Adding an account

/** The field the chosen exchange's secret is typed into. */
function secretField() {
  return EXCHANGES[selectedExchange()]?.privateKey ? 'private-key' : 'api-secret';
}

/** Whether `exchange`'s keys come with an API passphrase of their own. */
function needsApiPassphrase(exchange) {
  return Boolean(EXCHANGES[exchange]?.passphrase);
}

function readCredentials() {
  const apiKey = $('api-key').value.trim();
  const apiSecret = $(secretField()).value.trim();
  const withPassphrase = needsApiPassphrase(selectedExchange());
  const apiPassphrase = $('api-passphrase').value.trim();
  const missing = [!apiKey && 'api-key', !apiSecret && secretField(), withPassphrase && !apiPassphrase && 'api-passphrase'].filter(Boolean);
  for (const id of missing) $(id).setAttribute('aria-invalid', 'true');
  if (missing.length) {
    $(missing[0]).focus();
    setConnectionStatus(t(withPassphrase ? 'credentialsMissingWithPassphrase' : 'credentialsMissing'), 'error');
    return null;
  }
  return { apiKey, apiSecret, ...(withPassphrase ? { apiPassphrase } : {}) };
}

async function testConnection() {
  if (state.busy) return;
  const exchange = selectedExchange();
  const access = requestExchangeAccess([exchange]);
  const credentials = readCredentials();
  if (!credentials) return;
  if (!(await access)) return setConnectionStatus(errorText({ code: 'host_permission', exchange }), 'error');
  setBusy(true);
  setConnectionStatus(t('checkingConnection', [exchangeName(exchange)]), 'pending');
  const reply = await send('testAccount', { exchange, ...credentials });
  setBusy(false);
  if (reply.ok) showScope(reply.scope, exchange);
  setConnectionStatus(reply.ok ? t('connectionOk', [exchangeName(exchange)]) : errorText(reply.error), reply.ok ? 'ok' : 'error');
}

async function saveAccount(event) {
  event.preventDefault();
  if (state.busy) return;
  const exchange = selectedExchange();
  const access = requestExchangeAccess([exchange]);
  const credentials = readCredentials();
  if (!credentials) return;
  const passphrase = $('passphrase').value;
  const creating = state.vault === null;
  if (!passphrase) return invalid('passphrase', t('passphraseMissing'));
  if (creating && passphrase !== $('passphrase-confirm').value) return invalid('passphrase-confirm', t('passphraseMismatch'));

  const label = $('label').value.trim() || exchangeName(exchange);
  if (!(await access)) return setConnectionStatus(errorText({ code: 'host_permission', exchange }), 'error');
  // "Save anyway" after a warning keeps a key that is not read-only; anything else asks first.
  const acceptScope = state.pendingScope !== null && state.pendingScope !== undefined;
  setBusy(true);
  setConnectionStatus(t(creating ? 'encryptingVault' : 'unlockingVault'), 'pending');
  await nextPaint();
  try {
    const core = await loadCore();
    // The vault text the key comes from goes along: the background writes only if it is still
    // the stored one (another tab may have changed it meanwhile).
    const base = state.vault;
    const keys = creating ? core.createVault(passphrase) : { vault: null, vaultKey: core.unlockVault(base, passphrase) };
    setConnectionStatus(t('checkingConnection', [exchangeName(exchange)]), 'pending');
    const reply = await send('addAccount', {
      label,
      exchange,
      ...(state.replacing ? {} : { portfolio: $('add-portfolio').value }),
      ...credentials,
      vaultKey: keys.vaultKey,
      base,
      ...(creating ? { newVault: keys.vault } : {}),
      ...(state.replacing ? { accountId: state.replacing.id } : {}),
      acceptScope,
    });
    if (!reply.ok) throw reply.error;
    announce(t(state.replacing ? 'keyReplaced' : 'accountSaved', [reply.account.label]));
    stopReplacing();
    clearScope();
    setConnectionStatus(t('connectionOk', [exchangeName(exchange)]), 'ok');
  } catch (thrown) {
    const error = asError(thrown);
    if (error.code === 'key_not_read_only') {
      showScope(error.scope, exchange);
      setConnectionStatus('', '');
    } else {
      setConnectionStatus(errorText(error), 'error');
    }
    if (error.code === 'wrong_passphrase' || error.code === 'passphrase_too_short') $('passphrase').focus();
  } finally {
    // Secret text never stays in the form longer than it is needed.
    $('passphrase').value = '';
    $('passphrase-confirm').value = '';
    setBusy(false);
  }
}

function invalid(id, message) {
  $(id).setAttribute('aria-invalid', 'true');
  $(id).focus();
  setConnectionStatus(message, 'error');
}

function clearAddForm() {
  for (const id of ['label', 'api-key', 'api-secret', 'private-key', 'api-passphrase', 'passphrase', 'passphrase-confirm']) $(id).value = '';
  clearScope();
  const hint = $('passphrase-hint');
  hint.dataset.level = '';
  hint.querySelector('.hint-text').textContent = '';
}

// ---------------------------------------------------------------------------------------------
// Settings

async function saveSettings(changes) {
  const reply = await send('setSettings', { settings: changes });
  if (reply.ok) {
    state.settings = reply.settings;
    announce(t('settingsSaved'));
  } else {
    announce(errorText(reply.error), 'error');
    renderSettings();
  }
}

// ---------------------------------------------------------------------------------------------
// Passphrase and vault

async function changePassphrase(event) {
  event.preventDefault();
  if (state.busy) return;
  const current = $('current-passphrase').value;
  const next = $('new-passphrase').value;
  const status = $('change-passphrase-status');
  status.dataset.kind = 'error';
  if (!current) return fail('current-passphrase', t('passphraseMissing'));
  if (!next) return fail('new-passphrase', t('passphraseMissing'));
  if (next !== $('new-passphrase-confirm').value) return fail('new-passphrase-confirm', t('passphraseMismatch'));

  setBusy(true);
  status.dataset.kind = 'pending';
  status.textContent = t('reencryptingVault');
  await nextPaint();
  try {
    const core = await loadCore();
    const base = state.vault;
    const exchanges = JSON.stringify(Object.fromEntries(state.accounts.map((account) => [account.id, account.exchange])));
    const { vault, vaultKey } = core.changePassphrase(base, current, next, exchanges);
    const reply = await send('changePassphrase', { vault, vaultKey, base });
    if (!reply.ok) throw reply.error;
    status.dataset.kind = 'ok';
    status.textContent = t('passphraseChanged');
    announce(t('passphraseChanged'));
  } catch (thrown) {
    status.dataset.kind = 'error';
    status.textContent = errorText(asError(thrown));
  } finally {
    for (const id of ['current-passphrase', 'new-passphrase', 'new-passphrase-confirm']) $(id).value = '';
    showHint($('new-passphrase'), $('new-passphrase-hint'));
    setBusy(false);
  }

  function fail(id, message) {
    $(id).focus();
    status.textContent = message;
  }
}

async function confirmResetVault() {
  await confirmAction({
    title: t('resetVaultTitle'),
    body: t('resetVaultBody'),
    confirmLabel: t('resetVault'),
    action: resetVault,
  });
}

async function resetVault() {
  const reply = await send('resetVault');
  if (!reply.ok) return { message: errorText(reply.error) };
  announce(t('vaultReset'));
  return null;
}

async function confirmRemoveAccount(account) {
  const removed = await confirmAction({
    title: t('deleteAccountTitle', [account.label]),
    body: t('deleteAccountBody', [t(`keysPath_${account.exchange}`)]),
    confirmLabel: t('deleteAccount'),
    needsPassphrase: !state.unlocked,
    action: (passphrase) => removeAccount(account, passphrase),
  });
  if (removed?.vaultEmpty) {
    await confirmAction({
      title: t('deleteVaultTooTitle'),
      body: t('deleteVaultTooBody'),
      confirmLabel: t('deleteVaultToo'),
      cancelLabel: t('keepVault'),
      action: resetVault,
    });
  }
}

async function removeAccount(account, passphrase) {
  let vaultKey;
  if (!state.unlocked) {
    // While locked, the key proves the passphrase for this one deletion and is not kept: deleting
    // an account does not unlock Cartera.
    try {
      vaultKey = (await loadCore()).unlockVault(state.vault, passphrase);
    } catch (thrown) {
      return { message: errorText(asError(thrown)) };
    }
  }
  const reply = await send('removeAccount', { id: account.id, ...(vaultKey ? { vaultKey } : {}) });
  if (!reply.ok) return { message: errorText(reply.error) };
  announce(t('accountDeleted', [account.label]));
  return { result: reply };
}

// ---------------------------------------------------------------------------------------------
// Confirmation dialog

let dialogRequest = null;

function wireDialog() {
  const dialog = $('confirm-dialog');
  $('dialog-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    $('dialog-passphrase').value = '';
    $('dialog-passphrase-confirm').value = '';
    dialogRequest?.resolve(dialogRequest.result ?? null);
    dialogRequest = null;
  });
  $('dialog-form').addEventListener('submit', onDialogConfirm);
}

/**
 * Shows the dialog; `action(passphrase)` runs on confirm and returns an error to show (the dialog
 * stays open), null, or `{ result }`. Resolves with the result, or null when cancelled.
 */
function confirmAction({
  title, body, confirmLabel, cancelLabel, needsPassphrase = false, passphraseLabel, repeatPassphrase = false, danger = true, action,
}) {
  $('dialog-title').textContent = title;
  $('dialog-body').textContent = body;
  $('dialog-confirm').textContent = confirmLabel;
  $('dialog-confirm').className = danger ? 'button danger solid' : 'button primary';
  $('dialog-cancel').textContent = cancelLabel ?? t('cancel');
  $('dialog-passphrase-field').hidden = !needsPassphrase;
  $('dialog-passphrase-label').textContent = passphraseLabel ?? t('dialogPassphraseLabel');
  $('dialog-passphrase-confirm-field').hidden = !repeatPassphrase;
  $('dialog-error').hidden = true;
  $('confirm-dialog').showModal();
  (needsPassphrase ? $('dialog-passphrase') : $('dialog-cancel')).focus();
  return new Promise((resolve) => {
    dialogRequest = { action, needsPassphrase, resolve, result: null };
  });
}

async function onDialogConfirm(event) {
  event.preventDefault();
  const request = dialogRequest;
  if (!request || request.running) return;
  const passphrase = $('dialog-passphrase').value;
  const errorBox = $('dialog-error');
  if (request.needsPassphrase && !passphrase) {
    $('dialog-passphrase').focus();
    return;
  }
  request.running = true;
  $('dialog-confirm').disabled = true;
  errorBox.hidden = true;
  await nextPaint();
  const outcome = await request.action(passphrase, $('dialog-passphrase-confirm').value);
  request.running = false;
  $('dialog-confirm').disabled = false;
  if (outcome && !outcome.result) {
    errorBox.textContent = outcome.message;
    errorBox.hidden = false;
    return;
  }
  request.result = outcome?.result ?? true;
  $('confirm-dialog').close();
}

// ---------------------------------------------------------------------------------------------
// Backup and data

// A reminder shows when nothing was exported for this long (and was not dismissed since).
const BACKUP_REMINDER_MS = 30 * 24 * 60 * 60 * 1000;
// Far above any real backup (a few MB of history at most), low enough to refuse a wrong file.
const MAX_BACKUP_BYTES = 32 * 1024 * 1024;

function wireBackup() {
  $('export-backup').addEventListener('click', exportBackup);
  $('restore-backup').addEventListener('click', () => $('backup-file').click());
  $('backup-file').addEventListener('change', restoreFromFile);
  $('clear-history').addEventListener('click', confirmClearHistory);
  $('dismiss-backup-reminder').addEventListener('click', () => send('dismissBackupReminder'));
}

function renderBackup() {
  const { exportedAt, dismissedAt } = state.backupReminder ?? {};
  const recent = (at) => Number.isFinite(at) && Date.now() - at < BACKUP_REMINDER_MS;
  const hasData = state.accounts.length > 0 || state.manual.length > 0;
  const reminder = $('backup-reminder');
  reminder.hidden = !hasData || recent(exportedAt) || recent(dismissedAt);
  $('backup-reminder-text').textContent = Number.isFinite(exportedAt)
    ? t('backupReminderSince', [relativeTime(exportedAt, lang)])
    : t('backupReminderNever');
}

/** "Export backup": with the passphrase that opens the keys (or, with no keys yet, one chosen
 * now, twice), everything Cartera keeps is sealed in the page and downloaded as one file. */
async function exportBackup() {
  const choosing = !state.vault;
  await confirmAction({
    title: t('exportBackupTitle'),
    body: t(choosing ? 'exportBackupBodyChoose' : 'exportBackupBody'),
    confirmLabel: t('exportBackup'),
    danger: false,
    needsPassphrase: true,
    repeatPassphrase: choosing,
    action: (passphrase, repeated) => writeBackup(passphrase, choosing ? repeated : passphrase),
  });
}

async function writeBackup(passphrase, repeated) {
  if (repeated !== passphrase) return { message: t('passphraseMismatch') };
  try {
    const core = await loadCore();
    if (state.vault) {
      // The backup opens with the passphrase that opens the keys inside it.
      core.unlockVault(state.vault, passphrase);
    } else if (core.passphraseHint(passphrase).hint === 'too_short') {
      return { message: t('passphraseHint_too_short') };
    }
    const reply = await send('backupData');
    if (!reply.ok) return { message: errorText(reply.error) };
    const file = core.sealBackup(core.backupContents(reply.storage), passphrase);
    download(file, `cartera-backup-${new Date().toISOString().slice(0, 10)}.json`);
    await send('backupExported');
    announce(t('backupExported'));
    return null;
  } catch (thrown) {
    return { message: errorText(asError(thrown)) };
  }
}

/** Offers `text` as a file to save, named `name`. */
function download(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = el('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** "Restore backup": the file is opened in the page with its passphrase, what it holds is shown,
 * and only on confirmation does it replace what this browser keeps. */
async function restoreFromFile(event) {
  const file = event.target.files?.[0];
  event.target.value = '';
  if (!file) return;
  const status = $('backup-status');
  status.textContent = '';
  if (file.size > MAX_BACKUP_BYTES) {
    status.textContent = errorText({ code: 'backup_unreadable' });
    return;
  }
  const text = await file.text();
  let opened = null;
  const unlocked = await confirmAction({
    title: t('restoreBackupTitle'),
    body: t('restoreBackupBody', [file.name]),
    confirmLabel: t('openBackup'),
    danger: false,
    needsPassphrase: true,
    passphraseLabel: t('backupPassphraseLabel'),
    action: async (passphrase) => {
      try {
        opened = JSON.parse((await loadCore()).openBackup(text, passphrase));
        return { result: true };
      } catch (thrown) {
        return { message: errorText(asError(thrown)) };
      }
    },
  });
  if (!unlocked || !opened) return;
  const { summary } = opened;
  const count = (n) => formatAmount(String(n), lang);
  await confirmAction({
    title: t('restoreConfirmTitle'),
    body: t('restoreConfirmBody', [
      new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short' }).format(summary.createdAt),
      count(summary.accounts), count(summary.portfolios), count(summary.manual), count(summary.alerts), count(summary.historyPoints),
    ]),
    confirmLabel: t('restoreBackup'),
    action: async () => {
      const reply = await send('restoreBackup', { storage: opened.storage });
      if (!reply.ok) return { message: errorText(reply.error) };
      announce(t('backupRestored'));
      return null;
    },
  });
}

async function confirmClearHistory() {
  await confirmAction({
    title: t('clearHistoryTitle'),
    body: t('clearHistoryBody'),
    confirmLabel: t('clearHistory'),
    action: async () => {
      const reply = await send('clearHistory');
      if (!reply.ok) return { message: errorText(reply.error) };
      announce(t('historyCleared'));
      return null;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Keys no account lists

/** Whether the vault holds keys no account lists (an earlier version could leave some): every
 * edit is refused until they are removed, so the page offers that. */
async function checkVault() {
  if (!state.vault) {
    state.vaultMismatch = false;
  } else {
    const listed = new Set(state.accounts.map((account) => account.id));
    try {
      state.vaultMismatch = [...(await loadCore()).vaultAccountIds(state.vault)].some((id) => !listed.has(id));
    } catch {
      state.vaultMismatch = false;
    }
  }
  $('vault-mismatch').hidden = !state.vaultMismatch;
}

async function confirmRepairVault() {
  const repaired = await confirmAction({
    title: t('repairVaultTitle'),
    body: t('repairVaultBody'),
    confirmLabel: t('repairVault'),
    needsPassphrase: true,
    action: async (passphrase) => {
      try {
        const vaultKey = (await loadCore()).unlockVault(state.vault, passphrase);
        const reply = await send('repairVault', { vaultKey, base: state.vault });
        if (!reply.ok) return { message: errorText(reply.error) };
        return { result: true };
      } catch (thrown) {
        return { message: errorText(asError(thrown)) };
      }
    },
  });
  if (repaired) {
    announce(t('vaultRepaired'));
    const { vault } = await browser.storage.local.get('vault');
    state.vault = typeof vault === 'string' ? vault : null;
    await checkVault();
  }
}
