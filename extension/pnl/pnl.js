// The Profit and loss page: cost basis, unrealized and realized P&L per asset, a year's realized
// gains, income and fees, every transaction with the estimates the user may correct, typed-in
// trades, and two CSV exports. The core computes all of it from storage (src/pnl.rs); this page
// draws it and sends the user's changes to the background.

import {
  applyTheme, asError, browser, decimalMark, downloadCsv, el, errorText, exchangeName, formatAmount, formatMoney, localize, send, t, uiLang,
} from '../shared/ext.js';
import { loadCore } from '../shared/core.js';
import {
  CLOSES_PREFIX, DEFAULT_PORTFOLIO, MANUAL_ENTRY_PREFIX, TX_PREFIX, TYPED_ID_PREFIX,
} from '../shared/core-constants.js';
import { pnlInput } from '../shared/pnl-inputs.js';

const lang = uiLang();
const $ = (id) => document.getElementById(id);
// Rows drawn at once: the newest first; the rest are in the export.
const SHOWN_TRANSACTIONS = 500;

const state = {
  core: null,
  everything: {},
  report: null,
  portfolio: new URLSearchParams(location.hash.slice(1)).get('portfolio') ?? '',
  method: 'averageCost',
  year: null,
  privacy: false,
  editing: null,
};

localize();
start();

async function start() {
  state.core = await loadCore();
  $('method').addEventListener('change', () => {
    state.method = $('method').value;
    compute();
  });
  $('year').addEventListener('change', () => {
    state.year = $('year').value ? Number($('year').value) : null;
    compute();
  });
  $('portfolio').addEventListener('change', () => {
    state.portfolio = $('portfolio').value;
    history.replaceState(null, '', state.portfolio ? `#portfolio=${encodeURIComponent(state.portfolio)}` : '#');
    compute();
  });
  $('add-toggle').addEventListener('click', () => toggleAddForm());
  $('add-form').addEventListener('submit', addTransaction);
  $('export-transactions').addEventListener('click', () => exportCsv('transactions'));
  $('export-gains').addEventListener('click', () => exportCsv('realizedGains'));
  let pending = null;
  browser.storage.onChanged.addListener((changes, area) => {
    const watched = ['snapshot', 'portfolioSnapshots', 'portfolios', 'accounts', 'settings', 'txState', 'txCosts', 'priceRoutes'];
    if (area !== 'local' || !Object.keys(changes).some((key) => key.startsWith(TX_PREFIX) || key.startsWith(CLOSES_PREFIX) || watched.includes(key))) return;
    // An import writes a page every few seconds: one redraw for a burst of writes.
    clearTimeout(pending);
    pending = setTimeout(load, 300);
  });
  await load();
}

async function load() {
  state.everything = await browser.storage.local.get(null);
  const { everything } = state;
  state.privacy = everything.settings?.privacy === true;
  applyTheme(everything.settings?.theme);
  const portfolios = Array.isArray(everything.portfolios) ? everything.portfolios : [];
  if (!portfolios.some((portfolio) => portfolio.id === state.portfolio)) state.portfolio = '';
  $('portfolio').replaceChildren(new Option(t('allPortfolios'), ''), ...portfolios.map((portfolio) => new Option(portfolio.name, portfolio.id)));
  $('portfolio').value = state.portfolio;
  $('portfolio').closest('.field').hidden = portfolios.length < 2;
  fillAccounts();
  compute();
}

/** The accounts a typed-in trade can belong to: each exchange account and each portfolio's
 * typed-in holdings. */
function fillAccounts() {
  const { everything } = state;
  const accounts = Array.isArray(everything.accounts) ? everything.accounts : [];
  const portfolios = Array.isArray(everything.portfolios) && everything.portfolios.length ? everything.portfolios : [{ id: DEFAULT_PORTFOLIO, name: t('defaultPortfolioName') }];
  const selected = $('add-account').value;
  $('add-account').replaceChildren(
    ...accounts.map((account) => new Option(`${account.label} (${exchangeName(account.exchange)})`, account.id)),
    ...portfolios.map((portfolio) => new Option(`${t('manualHoldings')} (${portfolio.name})`, MANUAL_ENTRY_PREFIX + portfolio.id)),
  );
  if (selected) $('add-account').value = selected;
}

function compute() {
  const snapshot = state.portfolio ? state.everything.portfolioSnapshots?.[state.portfolio] : state.everything.snapshot;
  if (!snapshot) {
    state.report = null;
    render();
    return;
  }
  try {
    const { text, keys, chunks } = pnlInput(state.everything, { portfolio: state.portfolio, method: state.method, year: state.year, rows: SHOWN_TRANSACTIONS });
    state.report = JSON.parse(state.core.pnlReport(text, keys, chunks));
  } catch (thrown) {
    state.report = null;
    $('status').textContent = errorText(asError(thrown));
    render();
    return;
  }
  render();
}

// "Hide amounts" in the popup masks every amount and value here too.
const money = (value) => (value === null || value === undefined ? '—' : state.privacy ? t('masked') : formatMoney(value, state.report.quote, lang));
const amount = (value) => (state.privacy ? t('masked') : formatAmount(value, lang));
const signed = (value) => {
  if (value === null || value === undefined) return '—';
  if (state.privacy) return t('masked');
  return value.startsWith('-') ? money(value).replace('-', '\u2212') : `+${money(value)}`;
};
const tone = (value) => (!value || state.privacy ? '' : value.startsWith('-') ? 'loss' : /[1-9]/.test(value) ? 'gain' : '');
const day = (ms) => new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(ms);

function cell(tag, className, text) {
  const node = el(tag, className, text);
  if (tag === 'th') node.scope = 'row';
  return node;
}

function render() {
  const report = state.report;
  const quote = (report?.quote ?? state.everything.settings?.quote ?? 'mxn').toUpperCase();
  $('add-price-label').textContent = t('pnlPriceIn', [quote]);
  $('add-fee-label').textContent = t('pnlFeeIn', [quote]);
  renderStatus();
  $('empty').hidden = Boolean(report?.transactionCount);
  renderHoldings(report);
  renderYear(report);
  renderTransactions(report);
}

/** Where each account's import stands, and what the figures leave out. */
function renderStatus() {
  const states = state.everything.txState ?? {};
  const accounts = Array.isArray(state.everything.accounts) ? state.everything.accounts : [];
  const importing = accounts.filter((account) => !states[account.id]?.unsupported && !states[account.id]?.caughtUp && !states[account.id]?.error);
  const failing = accounts.filter((account) => states[account.id]?.error);
  const parts = [];
  if (importing.length) parts.push(t('pnlImporting', [importing.map((account) => account.label).join(', ')]));
  for (const account of failing) parts.push(`${account.label}: ${errorText(states[account.id].error)}`);
  if (!state.report && !parts.length) parts.push(t('pnlNoSnapshot'));
  $('status').textContent = parts.join(' ');
}

function renderHoldings(report) {
  const rows = (report?.rows ?? []).map((row) => {
    const tr = el('tr');
    tr.append(
      cell('th', null, row.asset.toUpperCase()),
      cell('td', 'num', amount(row.amount)),
      cell('td', 'num', money(row.averageCost)),
      cell('td', 'num', money(row.costBasis)),
      cell('td', 'num', money(row.value)),
      cell('td', `num ${tone(row.unrealized)}`, signed(row.unrealized)),
      cell('td', `num ${tone(row.realized)}`, signed(row.realized)),
    );
    return tr;
  });
  $('holdings').tBodies[0].replaceChildren(...rows);
  const foot = $('holdings').tFoot;
  foot.replaceChildren();
  if (report && rows.length) {
    const tr = el('tr');
    tr.append(
      cell('th', null, t('pnlTotal')), cell('td', 'num', ''), cell('td', 'num', ''),
      cell('td', 'num', money(report.total.costBasis)), cell('td', 'num', money(report.total.value)),
      cell('td', `num ${tone(report.total.unrealized)}`, signed(report.total.unrealized)),
      cell('td', `num ${tone(report.total.realized)}`, signed(report.total.realized)),
    );
    foot.append(tr);
  }
  const notes = [];
  if (report?.unpriced) notes.push(t('pnlUnpricedNote', [String(report.unpriced)]));
  for (const mismatch of report?.mismatches ?? []) {
    notes.push(t('pnlMismatchNote', [accountLabel(mismatch.account), mismatch.asset.toUpperCase(), amount(mismatch.explained), amount(mismatch.held)]));
  }
  if (report?.transactions.some((row) => row.estimated)) notes.push(t('pnlEstimatedNote'));
  $('notes').replaceChildren(...notes.map((text) => el('li', null, text)));
}

function renderYear(report) {
  const years = report?.years ?? [];
  $('year').replaceChildren(...years.map((year) => new Option(String(year), String(year))), new Option(t('pnlAllTime'), ''));
  $('year').value = state.year === null ? '' : String(state.year);
  const summary = report?.summary;
  $('year-realized').textContent = summary ? signed(summary.realized) : '—';
  $('year-realized').className = `num ${tone(summary?.realized)}`;
  $('year-income').textContent = summary ? money(summary.income) : '—';
  $('year-fees').textContent = summary ? money(summary.fees) : '—';
  for (const id of ['export-transactions', 'export-gains']) $(id).disabled = !report;
}

function accountLabel(id) {
  const account = (state.everything.accounts ?? []).find((entry) => entry.id === id);
  if (account) return account.label;
  const portfolio = (state.everything.portfolios ?? []).find((entry) => MANUAL_ENTRY_PREFIX + entry.id === id);
  return portfolio ? `${t('manualHoldings')} (${portfolio.name})` : t('manualHoldings');
}

function kindText(row) {
  const kind = row.kind === 'trade' ? row.side ?? 'buy' : row.kind;
  return row.transfer ? t('pnlKind_transfer', [t(`pnlKind_${kind}`)]) : t(`pnlKind_${kind}`);
}

function renderTransactions(report) {
  const rows = (report?.transactions ?? []).map((row) => {
    const tr = el('tr');
    const type = cell('td', null, kindText(row));
    if (row.estimated) type.append(el('span', 'tag', t('pnlEstimated')));
    if (row.unpriced) type.append(el('span', 'tag', t('pnlUnpriced')));
    const actions = cell('td', 'row-actions');
    if (row.estimated || row.unpriced || costOf(row) !== undefined) actions.append(costEditor(row));
    if (row.id.startsWith(TYPED_ID_PREFIX)) {
      const remove = el('button', 'link-button', t('pnlDeleteTransaction'));
      remove.type = 'button';
      remove.setAttribute('aria-label', t('pnlDeleteTransactionOf', [kindText(row), row.asset.toUpperCase(), day(row.at)]));
      remove.addEventListener('click', async () => {
        const reply = await send('deleteTransaction', { account: row.account, id: row.id });
        if (!reply.ok) $('status').textContent = errorText(reply.error);
      });
      actions.append(remove);
    }
    tr.append(
      cell('td', null, day(row.at)), type, cell('td', null, row.asset.toUpperCase()), cell('td', 'num', amount(row.amount)),
      cell('td', 'num', money(row.price)), cell('td', 'num', money(row.fee)), cell('td', null, accountLabel(row.account)), actions,
    );
    return tr;
  });
  $('transactions').tBodies[0].replaceChildren(...rows);
  const count = report?.transactionCount ?? 0;
  $('more').hidden = count <= rows.length;
  $('more').textContent = $('more').hidden ? '' : t('pnlMoreInExport', [String(rows.length), String(count)]);
}

function costOf(row) {
  return state.everything.txCosts?.[row.account]?.[row.id];
}

/** "Edit cost" on a deposit valued at market: what was really paid, in the display currency. */
function costEditor(row) {
  const key = `${row.account}\n${row.id}`;
  if (state.editing !== key) {
    const button = el('button', 'link-button', t('pnlEditCost'));
    button.type = 'button';
    button.setAttribute('aria-label', t('pnlEditCostOf', [row.asset.toUpperCase(), day(row.at)]));
    button.addEventListener('click', () => {
      state.editing = key;
      render();
      $('cost-input')?.focus();
    });
    return button;
  }
  const form = el('form', 'cost-form');
  const label = el('label', 'sr-only', t('pnlCostPaid', [(state.report?.quote ?? '').toUpperCase()]));
  label.htmlFor = 'cost-input';
  const input = el('input');
  input.id = 'cost-input';
  input.inputMode = 'decimal';
  input.value = costOf(row) ?? '';
  const save = el('button', 'button', t('pnlSaveCost'));
  save.type = 'submit';
  const cancel = el('button', 'link-button', t('cancel'));
  cancel.type = 'button';
  cancel.addEventListener('click', () => {
    state.editing = null;
    render();
  });
  form.append(label, input, save, cancel);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const reply = await send('setCost', { account: row.account, id: row.id, cost: input.value, decimalMark: decimalMark(lang) });
    if (!reply.ok) {
      $('status').textContent = errorText(reply.error);
      return;
    }
    state.editing = null;
  });
  return form;
}

function toggleAddForm(open = $('add-form').hidden) {
  $('add-form').hidden = !open;
  $('add-toggle').setAttribute('aria-expanded', String(open));
  if (open) {
    if (!$('add-date').value) $('add-date').value = new Date().toISOString().slice(0, 10);
    $('add-side').focus();
  }
}

async function addTransaction(event) {
  event.preventDefault();
  $('add-status').textContent = t('saving');
  const reply = await send('saveTransaction', {
    side: $('add-side').value,
    date: $('add-date').value,
    asset: $('add-asset').value.trim(),
    amount: $('add-amount').value,
    price: $('add-price').value,
    fee: $('add-fee').value,
    account: $('add-account').value,
    decimalMark: decimalMark(lang),
  });
  if (!reply.ok) {
    $('add-status').textContent = errorText(reply.error);
    return;
  }
  $('add-status').textContent = t('pnlTransactionSaved');
  for (const id of ['add-asset', 'add-amount', 'add-price', 'add-fee']) $(id).value = '';
}

/** Downloads one of the core's CSV exports of what is shown. */
function exportCsv(which) {
  if (!state.report) return;
  let text;
  try {
    const input = pnlInput(state.everything, { portfolio: state.portfolio, method: state.method, year: state.year });
    text = state.core.pnlCsv(input.text, input.keys, input.chunks, which, t('manualHoldings'));
  } catch (thrown) {
    $('export-status').textContent = errorText(asError(thrown));
    return;
  }
  const name = which === 'transactions' ? 'transactions' : 'realized-gains';
  const file = `cartera-${name}-${new Date().toISOString().slice(0, 10)}.csv`;
  downloadCsv(text, file);
  $('export-status').textContent = t('exportDone', [file]);
}
