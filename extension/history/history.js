// The History page: the value over time for a chosen range, the market P&L beside deposits and
// withdrawals, one asset's history, the same data as a table, and a CSV export. The core computes
// everything from the stored history (src/history.rs); this page draws it.

import { applyTheme, browser, downloadCsv, el, formatAmount, formatMoney, formatPercent, localize, t, uiLang } from '../shared/ext.js';
import { drawChart, drawMarker } from '../shared/chart.js';
import { loadCore } from '../shared/core.js';

const lang = uiLang();
const $ = (id) => document.getElementById(id);
const RANGE_MS = { '24h': 864e5, '7d': 7 * 864e5, '30d': 30 * 864e5, '1y': 365 * 864e5, all: null };
const WIDTH = 720;
const HEIGHT = 260;

const state = {
  core: null, chunks: {}, snapshot: null, view: null, range: '30d', show: '', positions: [], cursor: -1,
  // The portfolio shown ('' for all of them), first from the popup's link.
  portfolio: new URLSearchParams(location.hash.slice(1)).get('portfolio') ?? '',
  privacy: false,
};

localize();
start();

async function start() {
  state.core = await loadCore();
  await load();
  for (const button of document.querySelectorAll('.range')) {
    button.addEventListener('click', () => {
      state.range = button.dataset.range;
      render();
    });
  }
  $('show').addEventListener('change', () => {
    state.show = $('show').value;
    render();
  });
  $('portfolio').addEventListener('change', () => {
    state.portfolio = $('portfolio').value;
    history.replaceState(null, '', state.portfolio ? `#portfolio=${encodeURIComponent(state.portfolio)}` : '#');
    linkPnl();
    load();
  });
  $('chart').addEventListener('keydown', onChartKey);
  $('chart').addEventListener('pointermove', onPointer);
  $('chart').addEventListener('pointerleave', () => moveCursor(-1));
  $('export').addEventListener('click', exportCsv);
  linkPnl();
  browser.storage.onChanged.addListener((changes, area) => {
    const watched = ['snapshot', 'portfolioSnapshots', 'portfolios', 'settings'];
    if (area === 'local' && Object.keys(changes).some((key) => key.startsWith('hist:') || watched.includes(key))) load();
  });
}

/** "Profit and loss" opens on the portfolio shown here. */
function linkPnl() {
  $('open-pnl').href = `../pnl/pnl.html${state.portfolio ? `#portfolio=${encodeURIComponent(state.portfolio)}` : ''}`;
}

async function load() {
  const everything = await browser.storage.local.get(null);
  const portfolios = Array.isArray(everything.portfolios) ? everything.portfolios : [];
  if (!portfolios.some((portfolio) => portfolio.id === state.portfolio)) state.portfolio = '';
  const choices = [new Option(t('allPortfolios'), ''), ...portfolios.map((portfolio) => new Option(portfolio.name, portfolio.id))];
  $('portfolio').replaceChildren(...choices);
  $('portfolio').value = state.portfolio;
  state.privacy = everything.settings?.privacy === true;
  applyTheme(everything.settings?.theme);
  // Only the chunks of the series shown cross to the core.
  state.chunks = Object.fromEntries(
    Object.entries(everything).filter(([key]) => key.startsWith('hist:') && state.core.historyOwns(state.portfolio, key)),
  );
  state.snapshot = (state.portfolio ? everything.portfolioSnapshots?.[state.portfolio] : everything.snapshot) ?? null;
  const currency = state.snapshot?.quote ?? everything.settings?.quote ?? 'mxn';
  const snapshotText = state.snapshot ? JSON.stringify(state.snapshot) : '';
  state.view = JSON.parse(state.core.historyView(state.portfolio, JSON.stringify(state.chunks), currency, snapshotText));
  const assets = [...new Set([...(state.snapshot?.assets ?? []).map((row) => row.asset)])];
  const options = [el('option', null, t('historyWholePortfolio')), ...assets.map((asset) => el('option', null, asset.toUpperCase()))];
  options[0].value = '';
  assets.forEach((asset, i) => { options[i + 1].value = asset; });
  $('show').replaceChildren(...options);
  $('show').value = assets.includes(state.show) ? state.show : '';
  render();
}

// "Hide amounts" in the popup masks every amount and value here too.
const money = (value) => (state.privacy ? t('masked') : formatMoney(value, state.view.currency, lang));
const amount = (value) => (state.privacy ? t('masked') : formatAmount(value, lang));
const signed = (value) => {
  if (state.privacy) return t('masked');
  return value.startsWith('-') ? money(value).replace('-', '\u2212') : `+${money(value)}`;
};
const when = (ms) => new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(ms);

/** The points drawn for the current choice: `[t, value, y, amount?]`. */
function series() {
  const range = state.view.ranges[state.range];
  if (!state.show) return range.points;
  const from = RANGE_MS[state.range] === null ? 0 : Date.now() - RANGE_MS[state.range];
  return JSON.parse(state.core.historyAsset(state.portfolio, JSON.stringify(state.chunks), state.show, state.view.currency, from));
}

function render() {
  for (const button of document.querySelectorAll('.range')) button.setAttribute('aria-pressed', String(button.dataset.range === state.range));
  const range = state.view.ranges[state.range];
  const points = series();
  state.positions = drawChart($('chart'), points, { width: WIDTH, height: HEIGHT, pad: 8 });
  state.cursor = -1;
  $('readout').textContent = '';
  $('chart-empty').hidden = state.positions.length > 0;
  const hasChange = range.change !== null && range.start !== null;
  const changeText = hasChange
    ? `${signed(range.change)}${range.changePercent !== null ? ` (${formatPercent(range.changePercent, lang, { signed: true })})` : ''}`
    : '—';
  $('chart').setAttribute('aria-label', hasChange && !state.show
    ? t('chartLabel', [t(`rangeName_${state.range}`), money(range.start), money(range.end), changeText])
    : `${state.show ? state.show.toUpperCase() : t('historyWholePortfolio')}, ${t(`rangeName_${state.range}`)}`);
  $('change').textContent = changeText;
  $('market').textContent = range.market !== null ? signed(range.market) : t('pnlUnknown');
  $('flows').textContent = range.flows !== null ? signed(range.flows) : t('pnlUnknown');
  $('method').textContent = t(range.basis === 'exchanges' ? 'pnlExchanges' : 'pnlMethod');
  $('since').textContent = range.since ? t('historySince', [when(range.since)]) : '';
  const note = $('currency-note');
  note.hidden = !state.view.unconvertedBefore;
  note.textContent = note.hidden ? '' : t('currencyNote', [new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(state.view.unconvertedBefore), state.view.currency.toUpperCase()]);
  renderTable(points);
}

/** The chart's data as a table: the same points, gaps left out. */
function renderTable(points) {
  const showAmount = Boolean(state.show);
  $('amount-column').hidden = !showAmount;
  const rows = points.filter(([, value, , held]) => value !== null || held !== undefined).map(([time, value, , held]) => {
    const row = el('tr');
    const th = el('th', null, when(time));
    th.scope = 'row';
    row.append(th, el('td', 'num', value === null || value === undefined ? '—' : money(value)));
    if (showAmount) row.append(el('td', 'num', amount(held)));
    return row;
  });
  $('table').tBodies[0].replaceChildren(...rows);
}

function moveCursor(index) {
  state.cursor = index;
  const position = state.positions[index];
  drawMarker($('chart'), position);
  $('readout').textContent = position ? t('chartReadout', [when(position.t), money(position.value)]) : '';
}

/** Left and right arrows step through the points, Home and End jump to the first and last. */
function onChartKey(event) {
  const last = state.positions.length - 1;
  if (last < 0 || !['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
  event.preventDefault();
  let next;
  if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = last;
  else if (state.cursor < 0) next = event.key === 'ArrowRight' ? 0 : last;
  else next = state.cursor + (event.key === 'ArrowRight' ? 1 : -1);
  moveCursor(Math.max(0, Math.min(last, next)));
}

function onPointer(event) {
  if (!state.positions.length) return;
  const box = $('chart').getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * WIDTH;
  let nearest = 0;
  for (let i = 1; i < state.positions.length; i++) {
    if (Math.abs(state.positions[i].x - x) < Math.abs(state.positions[nearest].x - x)) nearest = i;
  }
  moveCursor(nearest);
}

/** Downloads the holdings and the history as one CSV file (built by the core). */
function exportCsv() {
  if (!state.snapshot) return;
  const text = state.core.historyCsv(state.portfolio, JSON.stringify(state.snapshot), JSON.stringify(state.chunks), state.view.currency);
  const file = `cartera-${new Date().toISOString().slice(0, 10)}.csv`;
  downloadCsv(text, file);
  $('export-status').textContent = t('exportDone', [file]);
}
