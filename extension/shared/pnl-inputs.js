// What the core's P&L report is computed from (src/pnl/stored.rs), gathered from storage.local in
// one place for the background (the popup's summary) and the Profit and loss page.

import { CLOSES_PREFIX, TX_PREFIX } from './core-constants.js';

const utf8 = new TextEncoder();

/**
 * The report's input: `text` (JSON) and, apart, the transaction chunks' storage keys and their
 * texts as they are stored (not escaped into the JSON), in one UTF-8 buffer joined by NUL, which
 * no JSON text holds raw: the encoder copies it into the core far faster than a string crosses
 * (src/bindings.rs, `chunk_map`). `everything` is
 * storage.local; `portfolio` the one shown ('' for all), `method` 'averageCost' or 'fifo', `year`
 * a year or null for all time, `rows` how many transactions to list (the newest), null for all.
 */
export function pnlInput(everything, { portfolio = '', method = 'averageCost', year = null, rows = null } = {}) {
  const keys = [];
  const texts = [];
  const closes = {};
  for (const [key, value] of Object.entries(everything)) {
    if (typeof value !== 'string') continue;
    if (key.startsWith(TX_PREFIX)) {
      keys.push(key);
      texts.push(value);
    } else if (key.startsWith(CLOSES_PREFIX)) closes[key.slice(CLOSES_PREFIX.length)] = value;
  }
  const snapshot = portfolio ? everything.portfolioSnapshots?.[portfolio] : everything.snapshot;
  const text = JSON.stringify({
    method,
    year,
    rows,
    portfolio: portfolio || null,
    accounts: Array.isArray(everything.accounts) ? everything.accounts : [],
    portfolios: Array.isArray(everything.portfolios) ? everything.portfolios : [],
    routes: everything.priceRoutes ?? null,
    closes,
    costs: everything.txCosts ?? {},
    snapshot: snapshot ?? null,
  });
  return { text, keys, chunks: utf8.encode(texts.join('\0')) };
}

/** Whether storage holds any transaction. */
export function hasTransactions(everything) {
  return Object.keys(everything).some((key) => key.startsWith(TX_PREFIX));
}
