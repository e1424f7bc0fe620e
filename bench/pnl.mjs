// Row 13: the P&L report in wasm over 10,000 and 100,000 transactions. Each set is what an active
// trader's years look like after import: 20 assets bought and sold against pesos across three
// accounts, with deposits, withdrawals matched as transfers, rewards and fees, stored as the
// background stores them (one chunk per account and month). `pnlReport` (what the Profit and loss
// page and the popup's summary call: the chunks encoded, every chunk read, the lots run, the
// report as JSON) is timed from JS, with daily closes for two years of every asset. Also
// reported: the stored bytes.

import { log, stats } from './lib.mjs';

const utf8 = new TextEncoder();

const ASSETS = Array.from({ length: 20 }, (_, i) => `a${String.fromCharCode(97 + i)}c`);
const ACCOUNTS = ['acct-1', 'acct-2', 'acct-3'];
const DAY_MS = 86_400_000;
const START_DAY = 19_723; // 2024-01-01

/** A deterministic decimal string: `units` hundredths of the asset's scale. */
const decimal = (units, places) => {
  const text = String(units).padStart(places + 1, '0');
  return `${text.slice(0, -places)}.${text.slice(-places)}`;
};

/**
 * `count` transactions spread over two years, every amount positive (src/transactions.rs). They
 * come in blocks of ten about one asset: five buys, three smaller sells, then a withdrawal and its
 * deposit on the next account 1.75 h later (a transfer, less a network fee) or, every other block,
 * a deposit from outside and a reward. So sells take from lots the buys made, and transfers match.
 */
function transactions(count) {
  const out = [];
  const span = 730 * DAY_MS;
  for (let i = 0; i < count; i++) {
    const account = ACCOUNTS[i % ACCOUNTS.length];
    const asset = ASSETS[(Math.floor(i / 10) * 7) % ASSETS.length];
    const at = START_DAY * DAY_MS + Math.floor((span / count) * i);
    const coins = decimal(1000 + ((i * 37) % 9000), 5);
    const pesos = decimal(50_000 + ((i * 101) % 900_000), 2);
    const kind = i % 10;
    const transfer = i % 20 < 10;
    let transaction;
    if (kind < 5) transaction = { kind: 'trade', side: 'buy', received: { asset, amount: coins }, sent: { asset: 'mxn', amount: pesos }, fee: { asset: 'mxn', amount: '1.25' } };
    else if (kind < 8) transaction = { kind: 'trade', side: 'sell', received: { asset: 'mxn', amount: pesos }, sent: { asset, amount: decimal(500 + ((i * 37) % 4000), 5) }, fee: { asset: 'mxn', amount: '1.25' } };
    else if (kind === 8 && transfer) transaction = { kind: 'withdrawal', sent: { asset, amount: decimal(200 + (i % 90), 5) } };
    else if (kind === 9 && transfer) transaction = { kind: 'deposit', received: { asset, amount: decimal(190 + ((i - 1) % 90), 5) } };
    else if (kind === 8) transaction = { kind: 'deposit', received: { asset, amount: coins } };
    else transaction = { kind: 'reward', received: { asset, amount: decimal(1 + (i % 90), 8) } };
    out.push({ account, transaction: { id: `bench:${i}`, at, ...transaction } });
  }
  return out;
}

/** The stored form: `{ "tx:<account>:<YYYY-MM>": text }`. */
function chunksOf(entries) {
  const months = new Map();
  for (const { account, transaction } of entries) {
    const key = `tx:${account}:${new Date(transaction.at).toISOString().slice(0, 7)}`;
    if (!months.has(key)) months.set(key, []);
    months.get(key).push(transaction);
  }
  return Object.fromEntries([...months].map(([key, list]) => [key, JSON.stringify({ v: 1, transactions: list })]));
}

function input(entries, method) {
  const chunks = chunksOf(entries);
  const routes = { quote: 'mxn', assets: Object.fromEntries(ASSETS.map((asset) => [asset, [{ book: `bitso:${asset}_mxn`, inverse: false }]])) };
  const closes = Object.fromEntries(ASSETS.map((asset, n) => [`bitso:${asset}_mxn`, JSON.stringify({
    v: 1, from: START_DAY, closes: Array.from({ length: 731 }, (_, d) => decimal(100_000 + n * 1000 + d * 10, 2)),
  })]));
  const balances = ASSETS.map((asset) => ({ currency: asset, total: '1.5', available: '1.5', locked: '0' }));
  const snapshot = {
    quote: 'mxn', total: '0', updatedAt: Date.now(),
    assets: ASSETS.map((asset) => ({ asset, total: '4.5', available: '4.5', locked: '0', earning: '0', price: '105000', value: '0', share: '0', change24h: null, route: [] })),
    accounts: ACCOUNTS.map((id) => ({ id, label: id, exchange: 'bitso', total: '0', balances })),
  };
  const accounts = ACCOUNTS.map((id) => ({ id, label: id, exchange: 'bitso', portfolio: 'main' }));
  // As the Profit and loss page asks: the newest 500 transactions listed, the chunks apart.
  return {
    text: JSON.stringify({ method, rows: 500, accounts, routes, closes, snapshot }),
    keys: Object.keys(chunks),
    texts: Object.values(chunks),
    bytes: Object.entries(chunks).reduce((sum, [key, text]) => sum + key.length + text.length, 0),
  };
}

export function benchPnl(core, { runs = 5, sizes = [10_000, 100_000] } = {}) {
  const results = [];
  for (const count of sizes) {
    const entries = transactions(count);
    for (const method of ['averageCost', 'fifo']) {
      const { text, keys, texts, bytes } = input(entries, method);
      // As extension/shared/pnl-inputs.js hands the chunks over; timed with the report.
      const run = () => core.pnlReport(text, keys, utf8.encode(texts.join('\0')));
      const report = JSON.parse(run());
      if (report.transactionCount !== count) throw new Error(`${count}: ${report.transactionCount} transactions reported`);
      run();
      // A 10,000-transaction report takes tens of ms, so a collection of the heap earlier rows
      // left behind can land in a few of its runs: three times the runs keep the median clear of it.
      const times = [];
      for (let r = 0; r < (count <= 10_000 ? 3 * runs : runs); r++) {
        const start = process.hrtime.bigint();
        run();
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      results.push({ count, method, bytes, ms: stats(times) });
      log(`pnl: ${count} transactions, ${method}: ${stats(times).median.toFixed(1)} ms`);
    }
  }
  return results;
}
