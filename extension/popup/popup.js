// The popup paints straight from storage (no wasm, no network), then refreshes in the
// background if the numbers are older than a minute. It only renders what the core computed.
//
// chrome.storage answers about 10 ms after this script starts, after the page's first frame. So
// that the first frame already shows the portfolio, the popup keeps a copy of what it last showed
// in this page's localStorage, draws it at once, and draws again from storage when storage
// answers: a sync since then replaces the total a frame later. Every page clears the copy before
// it changes settings, accounts, portfolios or the vault (shared/ext.js, send), so the copy never
// shows amounts that "Hide amounts" or a deletion has taken away since.

import {
  applyStorageChanges, applyTheme, browser, send, t, localize, uiLang, formatMoney, formatAmount, formatPercent, relativeTime, el,
  asError, nextPaint, errorText, exchangeName, portfolioName, waitPending, DEFAULT_SETTINGS, FIRST_FRAME_KEY, withDefaults,
} from '../shared/ext.js';
import { drawChart } from '../shared/chart.js';
import { startNews } from './news.js';

// The storage reads the first paint needs start before anything else. Only the session's
// non-secret flags are read, never the vault key. The portfolio shown last ('' for all of them)
// is a page preference, read synchronously, so only its snapshot and history are read.
const shownLast = localStorage.getItem('cartera.popupPortfolio') ?? '';
const firstRead = Promise.all([
  browser.storage.local.get([
    'vault', 'accounts', 'snapshot', 'lastError', 'historyView', 'popupRange', 'settings', 'portfolios', 'manual', 'pnlSummary',
    ...(shownLast ? ['portfolioSnapshots', 'portfolioHistoryViews'] : []),
  ]),
  browser.storage.session.get(['unlocked', 'lockEpoch']),
]);

const REFRESH_AFTER_MS = 60_000;
const RANGES = ['24h', '7d', '30d', '1y', 'all'];
const lang = uiLang();
const $ = (id) => document.getElementById(id);

const state = {
  vault: null,
  accounts: [],
  portfolios: [],
  manual: [],
  settings: DEFAULT_SETTINGS,
  // Every portfolio together, and each one apart.
  snapshot: null,
  portfolioSnapshots: {},
  portfolioHistoryViews: {},
  // The portfolio shown: '' for all of them.
  view: '',
  // Whether each portfolio's snapshot and history have been read (only when one is shown).
  portfoliosRead: false,
  showSmall: false,
  lastError: null,
  unlocked: false,
  lockEpoch: 0,
  refreshing: false,
  unlocking: false,
  unlockError: null,
  historyView: null,
  // The unrealized P&L of all portfolios ('') and of each, worked out by the background.
  pnlSummary: null,
  range: '24h',
  // Whether the state came from storage, not from the first frame's copy.
  fromStorage: false,
};
// Which version of the copy this page reads and writes.
const FIRST_FRAME_VERSION = 1;

// The first frame holds the total and the chart; the sections below them are drawn right after
// it, so that it has less to lay out and paint. (In a tab the browser does not draw, no frame
// comes: a timer stands in.)
let firstFrameShown = false;
let lowerPending = false;
// A copy of what is shown is waiting to be written (keepFirstFrame).
let keepPending = false;
const afterFirstFrame = () => {
  if (firstFrameShown) return;
  firstFrameShown = true;
  if (lowerPending) renderLower();
};
requestAnimationFrame(() => setTimeout(afterFirstFrame, 0));
setTimeout(afterFirstFrame, 100);

localize();
wireControls();
const drewCopy = drawFirstFrame();
start();

/** Draws the copy of what the popup showed last, if there is one for the portfolio shown. */
function drawFirstFrame() {
  let copy = null;
  try {
    copy = JSON.parse(localStorage.getItem(FIRST_FRAME_KEY) ?? 'null');
  } catch {
    return false;
  }
  if (copy?.version !== FIRST_FRAME_VERSION || copy.view !== shownLast || !copy.stored || !copy.flags) return false;
  applyStored(copy.stored, copy.flags);
  render();
  if (state.snapshot && hasData()) performance.mark('total-painted'); // read by bench/browser.mjs
  return true;
}

/** Keeps what is shown for the next opening's first frame, once the page is idle. */
function keepFirstFrame() {
  if (!state.fromStorage || keepPending) return;
  keepPending = true;
  setTimeout(() => {
    keepPending = false;
    const stored = {
      // The vault is needed to unlock, which storage's answer is always in time for: only
      // whether there is one is kept.
      vault: state.vault === null ? null : '',
      accounts: state.accounts, snapshot: state.snapshot, lastError: state.lastError, historyView: state.historyView,
      popupRange: state.range, settings: state.settings, portfolios: state.portfolios, manual: state.manual,
      ...(state.view ? { portfolioSnapshots: state.portfolioSnapshots, portfolioHistoryViews: state.portfolioHistoryViews } : {}),
    };
    const copy = { version: FIRST_FRAME_VERSION, view: state.view, stored, flags: { unlocked: state.unlocked, lockEpoch: state.lockEpoch } };
    try {
      localStorage.setItem(FIRST_FRAME_KEY, JSON.stringify(copy));
    } catch {
      // Over the page's quota: the next opening waits for storage, as without a copy.
      localStorage.removeItem(FIRST_FRAME_KEY);
    }
  }, 0);
}

/** The state as storage (or the first frame's copy of it) holds it. */
function applyStored(stored, flags) {
  state.vault = typeof stored.vault === 'string' ? stored.vault : null;
  state.accounts = Array.isArray(stored.accounts) ? stored.accounts : [];
  state.snapshot = stored.snapshot ?? null;
  state.portfolios = Array.isArray(stored.portfolios) ? stored.portfolios : [];
  state.manual = Array.isArray(stored.manual) ? stored.manual : [];
  state.settings = withDefaults(stored.settings);
  state.portfolioSnapshots = stored.portfolioSnapshots ?? {};
  state.portfolioHistoryViews = stored.portfolioHistoryViews ?? {};
  state.portfoliosRead = 'portfolioSnapshots' in stored;
  state.view = shownLast;
  state.lastError = stored.lastError ?? null;
  state.historyView = stored.historyView ?? null;
  state.pnlSummary = stored.pnlSummary ?? null;
  state.range = RANGES.includes(stored.popupRange) ? stored.popupRange : '24h';
  applyTheme(state.settings.theme);
  state.unlocked = state.vault !== null && flags.unlocked === true;
  state.lockEpoch = Number.isSafeInteger(flags.lockEpoch) ? flags.lockEpoch : 0;
}

async function start() {
  const [stored, flags] = await firstRead;
  applyStored(stored, flags);
  state.fromStorage = true;
  render();
  if (!drewCopy && state.snapshot && hasData()) performance.mark('total-painted'); // read by bench/browser.mjs

  browser.storage.onChanged.addListener(onStorageChanged);
  startNews();
  setInterval(renderUpdated, 30_000);
  // A rate-limit message counts down while it shows, so it never tells a wait that is over.
  setInterval(() => {
    if (waitPending(currentError()?.error, Date.now() - 1000)) renderError();
  }, 1000);

  if (!hasData()) return;
  if (needsUnlock()) {
    $('unlock-passphrase').focus();
  } else if (!state.snapshot || Date.now() - state.snapshot.updatedAt > REFRESH_AFTER_MS) {
    refresh();
  } else {
    send('activity');
  }
}

function wireControls() {
  $('refresh').addEventListener('click', refresh);
  $('lock').addEventListener('click', lock);
  $('settings').addEventListener('click', openOptions);
  // Onboarding's "Add an exchange account" lands on the add form (options/first-minute.js).
  $('open-options').addEventListener('click', () => openOptionsAt('#add'));
  $('not-loaded-settings').addEventListener('click', openOptions);
  $('unlock-form').addEventListener('submit', unlock);
  $('privacy').addEventListener('click', togglePrivacy);
  $('edit-manual').addEventListener('click', () => openOptionsAt('#manual'));
  $('portfolio-select').addEventListener('change', async (event) => {
    state.view = event.target.value;
    state.showSmall = false;
    // A page-only preference, read synchronously when the popup opens.
    localStorage.setItem('cartera.popupPortfolio', state.view);
    if (state.view && !state.portfoliosRead) {
      const stored = await browser.storage.local.get(['portfolioSnapshots', 'portfolioHistoryViews']);
      state.portfolioSnapshots = stored.portfolioSnapshots ?? {};
      state.portfolioHistoryViews = stored.portfolioHistoryViews ?? {};
      state.portfoliosRead = true;
    }
    render();
  });
  $('show-small').addEventListener('click', () => {
    state.showSmall = !state.showSmall;
    renderAssets();
  });
  for (const button of document.querySelectorAll('.range')) {
    button.addEventListener('click', () => {
      state.range = button.dataset.range;
      browser.storage.local.set({ popupRange: state.range });
      renderHistory();
    });
  }
  $('unlock-passphrase').addEventListener('input', () => {
    if (!state.unlockError) return;
    state.unlockError = null;
    renderError();
  });
}

function onStorageChanged(changes, area) {
  const tracked = {
    vault: null, accounts: [], snapshot: null, lastError: null, historyView: null, portfolios: [], manual: [],
    portfolioSnapshots: {}, portfolioHistoryViews: {}, settings: DEFAULT_SETTINGS, pnlSummary: null,
  };
  if (!applyStorageChanges(state, changes, area, tracked)) return;
  state.settings = withDefaults(state.settings);
  state.portfolioSnapshots ??= {};
  state.portfolioHistoryViews ??= {};
  applyTheme(state.settings.theme);
  render();
}

// ---------------------------------------------------------------------------------------------
// Actions

async function refresh() {
  if (state.refreshing || needsUnlock()) return;
  state.refreshing = true;
  renderControls();
  const reply = await send('refresh');
  state.refreshing = false;
  if (reply.ok) {
    if (reply.snapshot) state.snapshot = reply.snapshot;
    state.lastError = null;
  } else if (reply.error.code === 'locked') {
    state.unlocked = false;
    state.lastError = null;
  } else {
    state.lastError = reply.error;
  }
  render();
}

async function lock() {
  await send('lock');
  state.unlocked = false;
  render();
  $('unlock-passphrase').focus();
}

async function unlock(event) {
  event.preventDefault();
  if (state.unlocking) return;
  const input = $('unlock-passphrase');
  state.unlocking = true;
  state.unlockError = null;
  renderUnlock();
  renderError();
  // Argon2id blocks the page for ~150 ms; let "Unlocking…" show first.
  await nextPaint();
  try {
    // Imported here, not at the top: only unlocking needs it, and every module popup.js imports
    // statically is one more request before the first paint.
    const { loadCore } = await import('../shared/core.js');
    const core = await loadCore();
    const { vaultKey, vault: upgraded } = core.openVault(state.vault, input.value);
    const reply = await send('unlock', { vaultKey, epoch: state.lockEpoch, ...(upgraded ? { base: state.vault, upgraded } : {}) });
    if (!reply.ok) throw reply.error;
    input.value = '';
    state.unlocked = true;
  } catch (thrown) {
    state.unlockError = asError(thrown);
  }
  state.unlocking = false;
  render();
  if (state.unlocked) refresh();
  else input.focus();
}

async function openOptions() {
  await browser.runtime.openOptionsPage();
  window.close();
}

async function openOptionsAt(hash) {
  await browser.tabs.create({ url: browser.runtime.getURL(`options/options.html${hash}`) });
  window.close();
}

/** "Hide amounts": remembered in the settings, so it holds for the next opening, the badge and
 * the History page too. */
async function togglePrivacy() {
  const privacy = !state.settings.privacy;
  state.settings = { ...state.settings, privacy };
  render();
  const reply = await send('setSettings', { settings: { privacy } });
  if (reply.ok) state.settings = withDefaults(reply.settings);
  render();
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** Anything to show: an account with a key, or a holding typed in. */
function hasData() {
  return (state.vault !== null && state.accounts.length > 0) || state.manual.length > 0;
}

/** Some account must be read with its key, and the key is not at hand. */
function needsUnlock() {
  return !state.unlocked && state.vault !== null && state.accounts.some((account) => account.importBalance !== false);
}

/** The snapshot of the portfolio shown (all of them together by default). */
function shown() {
  if (!state.view) return state.snapshot;
  return state.portfolioSnapshots?.[state.view] ?? null;
}

function shownHistory() {
  return state.view ? state.portfolioHistoryViews?.[state.view] ?? null : state.historyView;
}

/** Money and amounts as shown: masked with a fixed "•••" while "Hide amounts" is on (a blur or
 * dots per digit would still tell the size). Percentages stay. */
function money(value, quote) {
  return state.settings.privacy ? t('masked') : formatMoney(value, quote, lang);
}

function amount(value) {
  return state.settings.privacy ? t('masked') : formatAmount(value, lang);
}

function render() {
  keepFirstFrame();
  const ready = hasData();
  $('onboarding').hidden = ready;
  $('portfolio').hidden = !ready;
  // A portfolio deleted elsewhere falls back to all of them.
  if (state.view && !state.portfolios.some((portfolio) => portfolio.id === state.view)) state.view = '';
  document.body.classList.toggle('locked', ready && needsUnlock());
  document.body.classList.toggle('privacy', state.settings.privacy);
  renderControls();
  if (!ready) return;
  renderPortfolios();
  renderTotal();
  renderUnrealized();
  renderUpdated();
  renderError();
  renderUnlock();
  renderHistory();
  if (firstFrameShown) renderLower();
  else lowerPending = true;
}

/** Everything below the total and the chart. */
function renderLower() {
  lowerPending = false;
  if (!hasData()) return;
  renderAccountTotals();
  renderAssets();
  renderMovers();
  renderUnpriced();
  renderNotImported();
}

function renderPortfolios() {
  const select = $('portfolio-select');
  const options = [new Option(t('allPortfolios'), '')];
  for (const portfolio of state.portfolios) options.push(new Option(portfolio.name, portfolio.id));
  select.replaceChildren(...options);
  select.value = state.view;
}

/** Accounts of the portfolio shown whose "Import balance" is off: kept, but not counted. */
function renderNotImported() {
  const left = state.accounts.filter((account) => account.importBalance === false && (!state.view || account.portfolio === state.view));
  const note = $('not-imported');
  note.hidden = left.length === 0;
  note.textContent = note.hidden ? '' : t('notImportedList', [left.map((account) => `${account.label} (${exchangeName(account.exchange)})`).join(', ')]);
}

function renderControls() {
  const ready = hasData();
  const refreshButton = $('refresh');
  refreshButton.hidden = !ready;
  refreshButton.disabled = state.refreshing || needsUnlock();
  refreshButton.setAttribute('aria-busy', String(state.refreshing));
  refreshButton.querySelector('svg').classList.toggle('spinner', state.refreshing);
  $('lock').hidden = !ready || !state.unlocked;
  const privacy = $('privacy');
  privacy.hidden = !ready;
  privacy.setAttribute('aria-pressed', String(state.settings.privacy));
}

function renderTotal() {
  const snapshot = shown();
  $('total').textContent = snapshot ? money(snapshot.total, snapshot.quote) : '—';
  const bridges = snapshot?.bridges ?? [];
  const note = $('bridge-note');
  note.hidden = bridges.length === 0;
  note.textContent = bridges.length
    ? t('bridgeNote', [snapshot.quote.toUpperCase(), bridges.map(exchangeName).join(', ')])
    : '';
}

/** "Unrealized P&L" under the total: against what was paid, from the transaction history. */
function renderUnrealized() {
  const summary = state.pnlSummary?.[state.view] ?? null;
  const snapshot = shown();
  const line = $('unrealized-line');
  line.hidden = !summary || !snapshot || summary.quote !== snapshot.quote;
  $('open-pnl').href = `../pnl/pnl.html${state.view ? `#portfolio=${encodeURIComponent(state.view)}` : ''}`;
  if (line.hidden) return;
  const value = summary.unrealized;
  const text = state.settings.privacy ? t('masked') : `${value.startsWith('-') ? '' : '+'}${formatMoney(value, summary.quote, lang).replace('-', '\u2212')}`;
  const percent = summary.percent !== null && summary.percent !== undefined && !state.settings.privacy ? ` (${formatPercent(summary.percent, lang, { signed: true })})` : '';
  $('unrealized').textContent = `${text}${percent}`;
  $('unrealized').className = `num ${state.settings.privacy ? '' : value.startsWith('-') ? 'down' : /[1-9]/.test(value) ? 'up' : ''}`;
  $('unrealized-note').textContent = summary.importing ? t('popupPnlImporting') : summary.incomplete ? t('popupPnlIncomplete') : '';
}

function renderUpdated() {
  renderPricesOnly();
  const updated = $('updated');
  const at = shown()?.updatedAt ?? state.snapshot?.updatedAt;
  if (!Number.isFinite(at)) {
    updated.textContent = t('neverUpdated');
    updated.removeAttribute('datetime');
    return;
  }
  updated.textContent = relativeTime(at, lang);
  updated.dateTime = new Date(at).toISOString();
  updated.title = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(at);
}

/** The chart of the chosen range, its change, and the market P&L beside deposits and withdrawals. */
function renderHistory() {
  const view = shownHistory();
  const snapshot = shown();
  const section = $('history-summary');
  section.hidden = !view || !snapshot || view.currency !== snapshot.quote;
  if (section.hidden) return;
  for (const button of document.querySelectorAll('.range')) button.setAttribute('aria-pressed', String(button.dataset.range === state.range));
  $('open-history').href = `../history/history.html${state.view ? `#portfolio=${encodeURIComponent(state.view)}` : ''}`;
  const range = view.ranges[state.range];
  const money = (value) => (state.settings.privacy ? t('masked') : formatMoney(value, view.currency, lang));
  const signed = (value) => {
    if (state.settings.privacy) return t('masked');
    return value.startsWith('-') ? money(value).replace('-', '\u2212') : `+${money(value)}`;
  };
  const chart = $('chart');
  const positions = drawChart(chart, range.points, { width: 328, height: 64 });
  $('chart-empty').hidden = positions.length > 1;
  chart.hidden = positions.length <= 1;
  const hasChange = range.change !== null && range.start !== null;
  const changeText = hasChange
    ? `${signed(range.change)}${range.changePercent !== null ? ` (${formatPercent(range.changePercent, lang, { signed: true })})` : ''}`
    : '';
  $('range-change').textContent = changeText;
  chart.setAttribute('aria-label', hasChange
    ? t('chartLabel', [t(`rangeName_${state.range}`), money(range.start), money(range.end), changeText])
    : t('chartEmpty'));
  $('pnl-market').textContent = range.market !== null ? signed(range.market) : t('pnlUnknown');
  $('pnl-flows').textContent = range.flows !== null ? signed(range.flows) : t('pnlUnknown');
  $('pnl-method').textContent = t(range.basis === 'exchanges' ? 'pnlExchanges' : 'pnlMethod');
  const note = $('history-note');
  note.hidden = !view.unconvertedBefore;
  note.textContent = note.hidden ? '' : t('currencyNote', [
    new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(view.unconvertedBefore), view.currency.toUpperCase(),
  ]);
}

/** The three largest rises and falls of the day, and the asset that moved the total most. */
function renderMovers() {
  const snapshot = shown();
  const movers = snapshot?.movers;
  const section = $('movers');
  section.hidden = !movers || (!movers.gainers.length && !movers.losers.length);
  if (section.hidden) return;
  const change = (asset) => snapshot.assets.find((row) => row.asset === asset)?.change24h;
  const item = (asset) => {
    const li = el('li');
    const link = el('a', 'mover', asset.toUpperCase());
    link.href = `#asset-${asset}`;
    link.append(' ', el('span', 'num', formatPercent(change(asset) ?? '0', lang, { signed: true })));
    li.append(link);
    return li;
  };
  $('gainers').replaceChildren(...movers.gainers.map(item));
  $('losers').replaceChildren(...movers.losers.map(item));
  const biggest = movers.biggest;
  const value = biggest?.valueChange ?? '0';
  const signedValue = state.settings.privacy ? t('masked') : `${value.startsWith('-') ? '' : '+'}${money(value, snapshot.quote)}`;
  $('biggest-move').textContent = biggest ? t('biggestMove', [biggest.asset.toUpperCase(), signedValue]) : '';
}

/** While locked, a sync revalues the last balances with fresh prices: say how old the balances are. */
function renderPricesOnly() {
  const note = $('prices-only-note');
  const snapshot = shown();
  const synced = (snapshot?.accounts ?? []).map((account) => account.syncedAt).filter(Number.isFinite);
  note.hidden = !(snapshot?.pricesOnly && synced.length);
  note.textContent = note.hidden ? '' : t('pricesOnlyNote', [relativeTime(Math.min(...synced), lang)]);
}

/** The one message worth reading right now: unlock failure, refresh failure, or an account's error. */
function currentError() {
  if (state.unlockError) return { error: state.unlockError, message: errorText(state.unlockError), stale: false };
  // A rate limit whose wait is over has nothing left to say.
  if (state.lastError && !(Number.isFinite(state.lastError.retryAt) && !waitPending(state.lastError))) {
    return { error: state.lastError, message: errorText(state.lastError), stale: true };
  }
  const failing = (shown()?.accounts ?? []).find((account) => account.error);
  if (failing) {
    const message = t('accountErrorMessage', [failing.label, exchangeName(failing.exchange), errorText(failing.error)]);
    return { error: failing.error, message, stale: true };
  }
  const priceError = shown()?.priceErrors?.[0];
  if (priceError) return { error: priceError, message: t('priceErrorNote', [errorText(priceError)]), stale: false };
  return null;
}

function renderError() {
  const error = currentError();
  const box = $('error');
  box.hidden = !error;
  box.textContent = error ? error.message : '';
  $('stale').hidden = !(error?.stale && shown());
  const input = $('unlock-passphrase');
  if (state.unlockError) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'error unlock-help');
  } else {
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'unlock-help');
  }
}

function renderUnlock() {
  const form = $('unlock-form');
  form.hidden = !needsUnlock() && !state.unlocking;
  const button = $('unlock');
  button.disabled = state.unlocking;
  button.setAttribute('aria-busy', String(state.unlocking));
  button.textContent = t(state.unlocking ? 'unlocking' : 'unlockAction');
  $('unlock-passphrase').readOnly = state.unlocking;
}

function renderAccountTotals() {
  const snapshot = shown();
  const accounts = snapshot?.accounts ?? [];
  const details = $('by-account');
  details.hidden = accounts.length < 2;
  if (details.hidden) return;
  $('account-totals').replaceChildren(...accounts.map((account) => accountTotalRow(account, snapshot.quote)));
}

function accountTotalRow(account, quote) {
  const row = el('li', 'account-total');
  row.dataset.accountId = account.id;
  const name = el('span', 'label', account.label);
  // Typed-in holdings have no exchange: their portfolio tells them apart.
  const where = account.exchange ? exchangeName(account.exchange) : portfolioName(state.portfolios, account.id.replace(/^manual-/, ''));
  name.append(el('span', 'exchange', where));
  row.append(name);
  if (account.error) {
    const badge = el('span', 'badge error', t('accountErrorBadge'));
    badge.title = errorText(account.error);
    row.append(badge);
  }
  row.append(el('span', 'total num', money(account.total, quote)));
  return row;
}

function renderAssets() {
  const snapshot = shown();
  const list = $('assets');
  const empty = $('empty');
  const smallNote = $('small-note');
  // Nothing loaded yet: unlock, wait for the refresh under way, or, once one failed (its error
  // shows above), try again or see to the accounts in the settings.
  const failed = !snapshot && !needsUnlock() && !state.refreshing && state.lastError !== null;
  $('not-loaded').hidden = !failed;
  if (!snapshot) {
    list.replaceChildren();
    smallNote.hidden = true;
    empty.hidden = false;
    empty.textContent = t(needsUnlock() ? 'lockedNoData' : failed ? 'notLoadedYet' : 'loadingBalances');
    return;
  }
  // Small balances stay in the total and are listed in one line, until "Show them".
  const small = new Set(snapshot.small?.assets ?? []);
  const rows = state.showSmall ? snapshot.assets : snapshot.assets.filter((asset) => !small.has(asset.asset));
  list.replaceChildren(...rows.map((asset) => assetRow(asset, snapshot.quote)));
  smallNote.hidden = small.size === 0;
  if (small.size) {
    const value = money(snapshot.small.total, snapshot.quote);
    $('small-text').textContent = small.size === 1 ? t('smallHiddenOne', [value]) : t('smallHidden', [String(small.size), value]);
    $('show-small').setAttribute('aria-expanded', String(state.showSmall));
  }
  empty.hidden = snapshot.assets.length > 0 || snapshot.unpriced.length > 0;
  empty.textContent = t('noBalances');
}

function assetRow(asset, quote) {
  const row = el('li', 'asset-row');
  row.dataset.asset = asset.asset;
  // Top movers link here.
  row.id = `asset-${asset.asset}`;
  row.tabIndex = -1;
  const symbol = asset.asset.toUpperCase();

  const mark = el('span', 'mark', symbol.slice(0, 4));
  mark.setAttribute('aria-hidden', 'true');
  mark.dataset.len = String(Math.min(symbol.length, 4));

  const left = el('div', 'left');
  left.append(el('span', 'asset', symbol), el('span', 'amount num', amount(asset.total)));
  if (asset.earning && !/^0*(\.0*)?$/.test(asset.earning)) {
    left.append(el('span', 'earning', t('earningNote', [amount(asset.earning)])));
  }

  const right = el('div', 'right');
  const details = el('span', 'details');
  const share = el('span', 'share num', formatPercent(asset.share, lang));
  share.prepend(el('span', 'sr-only', `${t('shareLabel')} `));
  details.append(share);
  if (asset.change24h !== null && asset.change24h !== undefined) details.append(changeBadge(asset.change24h));
  right.append(el('span', 'value num', money(asset.value, quote)), details);

  const bar = el('span', 'bar');
  bar.setAttribute('aria-hidden', 'true');
  const fill = el('span', 'fill');
  fill.style.width = `${asset.share}%`;
  bar.append(fill);

  row.append(mark, left, right, alertButton(asset.asset), bar);
  return row;
}

/** "Alert me…": opens a new alert for this asset in the options page. */
function alertButton(asset) {
  const button = el('button', 'icon-button alert-me');
  button.type = 'button';
  button.title = t('alertMeAbout', [asset.toUpperCase()]);
  button.append(el('span', 'sr-only', t('alertMe')));
  button.append(bellIcon());
  button.addEventListener('click', async () => {
    await browser.tabs.create({ url: browser.runtime.getURL(`options/options.html#new-alert=${encodeURIComponent(asset)}`) });
    window.close();
  });
  return button;
}

function bellIcon() {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of ['M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15z', 'M10 20a2 2 0 0 0 4 0']) {
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

function changeBadge(change) {
  const isZero = /^[+-]?0*(\.0*)?$/.test(change);
  const direction = isZero ? 'flat' : change.startsWith('-') ? 'down' : 'up';
  const badge = el('span', `change ${direction} num`, formatPercent(change, lang, { signed: true }));
  badge.prepend(el('span', 'sr-only', `${t('change24hLabel')} `));
  badge.title = t('change24hLabel');
  return badge;
}

function renderUnpriced() {
  const unpriced = shown()?.unpriced ?? [];
  $('unpriced-section').hidden = unpriced.length === 0;
  $('unpriced').replaceChildren(...unpriced.map(unpricedRow));
}

function unpricedRow(asset) {
  const row = el('li', 'unpriced-row');
  row.dataset.asset = asset.asset;
  row.append(el('span', 'asset', asset.asset.toUpperCase()), el('span', 'amount num', amount(asset.total)));
  return row;
}
