// What the core's P&L report is computed from (src/pnl/stored.rs), gathered from storage.local in
// one place for the background (the popup's summary) and the Profit and loss page.

/** Where each account's transactions of one month are stored (src/transactions.rs). */
export const TX_PREFIX = 'tx:';
/** Where each market's daily closes are stored (src/price_history.rs). */
export const CLOSES_PREFIX = 'closes:';

/**
 * The report's input as JSON text. `everything` is storage.local; `portfolio` the one shown
 * ('' for all), `method` 'averageCost' or 'fifo', `year` a year or null for all time.
 */
export function pnlInput(everything, { portfolio = '', method = 'averageCost', year = null } = {}) {
  const chunks = {};
  const closes = {};
  for (const [key, value] of Object.entries(everything)) {
    if (key.startsWith(TX_PREFIX) && typeof value === 'string') chunks[key] = value;
    else if (key.startsWith(CLOSES_PREFIX) && typeof value === 'string') closes[key.slice(CLOSES_PREFIX.length)] = value;
  }
  const snapshot = portfolio ? everything.portfolioSnapshots?.[portfolio] : everything.snapshot;
  return JSON.stringify({
    method,
    year,
    portfolio: portfolio || null,
    accounts: Array.isArray(everything.accounts) ? everything.accounts : [],
    portfolios: Array.isArray(everything.portfolios) ? everything.portfolios : [],
    chunks,
    routes: everything.priceRoutes ?? null,
    closes,
    costs: everything.txCosts ?? {},
    snapshot: snapshot ?? null,
  });
}

/** Whether storage holds any transaction. */
export function hasTransactions(everything) {
  return Object.keys(everything).some((key) => key.startsWith(TX_PREFIX));
}
