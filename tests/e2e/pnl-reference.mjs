// The profit-and-loss reference the end-to-end tests check the Profit and loss page against,
// worked out in exact fractions from the rules src/pnl.rs documents, never by calling the core;
// and the helpers that read the page's figures and its exports. Each test file reads its
// stand-ins' rows as transactions (in the product's stored shape, with the label of the account
// that served them) and gives them here with what the accounts hold and the daily closes.
//
//   const expected = reference({ method, served, held, quote, closeOf, nowOf });
//   expected.table, expected.total, expected.summary(year), expected.disposals, expected.rows

import assert from 'node:assert/strict';

import { Q } from './expected.mjs';
import { PASSPHRASE } from './fixtures.mjs';
import { addAccount, english, readStorage, until } from './harness.mjs';

const HOUR_MS = 3_600_000;

/** `2025-01-05T10:00:00Z`, as the exports write times. */
export const isoTime = (at) => new Date(at).toISOString().replace('.000Z', 'Z');

// ---------------------------------------------------------------------------------------------
// Exact fractions

export const ZERO = new Q(0n);
export const neg = (q) => new Q(-q.n, q.d);
export const abs = (q) => (q.n < 0n ? neg(q) : q);
export const minus = (a, b) => a.add(neg(b));
export const sum = (qs) => qs.reduce((a, b) => a.add(b), ZERO);
export const isZero = (q) => q.n === 0n;
export const positive = (q) => q.n > 0n;
export const leg = (asset, amount) => ({ asset, amount: amount instanceof Q ? amount : Q.parse(String(amount)) });
/** A JSON number as it goes over the wire, exactly. */
export const wire = (value) => Q.parse(JSON.stringify(value));

/** A served transaction as the product stores it (src/transactions.rs, format 1). */
export function storedForm({ id, at, kind, side, received, sent, fee }) {
  const amount = (l) => l && { asset: l.asset, amount: l.amount.toDecimal() };
  return { id, at, kind, ...(side && { side }), ...(received && { received: amount(received) }), ...(sent && { sent: amount(sent) }), ...(fee && { fee: amount(fee) }) };
}

// ---------------------------------------------------------------------------------------------
// The reference: cost basis by average cost and by FIFO, in exact fractions, from the rules of
// src/pnl.rs's documentation. Assets are pooled across accounts; the display currency is money.
//
// - A trade is worth V, the value of its side in the display currency, else of what was paid on a buy or what came
//   in on a sell; its fee is worth F at market. A buy costs V + F (V when the fee was taken from
//   what arrived); a sale brings V − F (V when the fee was taken from what left). A fee in a third
//   asset is also a disposal of it at F.
// - A transfer (a withdrawal matched to a deposit of the same asset on another account, no larger,
//   within 72 hours after it) is no sale: the coins keep their basis, and under FIFO their lots and
//   dates. What did not arrive leaves at its basis, realized as a loss and counted under fees.
// - A deposit from outside is acquired at market (what arrived, less a fee taken from it),
//   estimated. A withdrawal to outside takes its basis with it. A reward is income at market. A
//   fee on its own, or a withdrawal's, leaves at its basis, a realized loss, counted under fees at
//   market.
// - FIFO: each lot keeps when it was acquired; the oldest leave first.

const TRANSFER_WINDOW_MS = 72 * HOUR_MS;

/** Each deposit's withdrawal (indexes into `entries`) when the two are one transfer. */
function matchTransfers(entries) {
  const matched = new Map();
  const used = new Set();
  entries.forEach((deposit, d) => {
    if (deposit.kind !== 'deposit') return;
    let best = null;
    entries.forEach((withdrawal, w) => {
      if (withdrawal.kind !== 'withdrawal' || used.has(w) || withdrawal.account === deposit.account) return;
      if (withdrawal.sent.asset !== deposit.received.asset || withdrawal.sent.amount.cmp(deposit.received.amount) < 0) return;
      if (withdrawal.at > deposit.at || deposit.at - withdrawal.at > TRANSFER_WINDOW_MS) return;
      const gap = minus(withdrawal.sent.amount, deposit.received.amount);
      if (!best || gap.cmp(best.gap) < 0 || (gap.cmp(best.gap) === 0 && deposit.at - withdrawal.at < best.wait)) best = { w, gap, wait: deposit.at - withdrawal.at };
    });
    if (best) {
      used.add(best.w);
      matched.set(d, best.w);
    }
  });
  return matched;
}

/**
 * The figures the page must show, by `method` ('averageCost' or 'fifo'), from `served` (every
 * transaction, `{ account, id, at, kind, side?, received?, sent?, fee? }` with legs `{ asset, amount: Q }`),
 * `held` (`{ [account label]: { asset: Q } }`), the display currency `quote`, `closeOf(asset, at)`
 * (an asset's daily close in it, as Q; 1 for the quote itself) and `nowOf(asset)` (today's price).
 */
export function reference({ method, served, held: heldByAccount, quote, closeOf, nowOf }) {
  const QUOTE = quote;
  const entries = [...served].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  const deposits = matchTransfers(entries);
  const withdrawals = new Map([...deposits].map(([d, w]) => [w, d]));
  const pools = new Map();
  const realized = new Map();
  const disposals = [];
  const rows = [];
  const income = [];
  const fees = [];
  const inTransit = new Map();
  const money = (asset) => asset === QUOTE;
  const valueOf = (l, at) => l.amount.mul(closeOf(l.asset, at));
  const poolOf = (asset) => pools.get(asset) ?? pools.set(asset, []).get(asset);
  const byAge = (a, b) => a.at - b.at || a.order - b.order;
  const acquire = (asset, lot) => {
    if (money(asset) || !positive(lot.amount)) return;
    const lots = poolOf(asset);
    if (method === 'fifo') {
      lots.push({ ...lot });
      lots.sort(byAge);
    } else if (lots.length) {
      lots[0] = { ...lots[0], amount: lots[0].amount.add(lot.amount), cost: lots[0].cost.add(lot.cost) };
    } else lots.push({ ...lot });
  };
  /** Takes `amount` from `lots`, oldest first, splitting a lot's cost in proportion. */
  const take = (lots, amount) => {
    const taken = [];
    let left = amount;
    while (positive(left) && lots.length) {
      const lot = lots[0];
      if (lot.amount.cmp(left) <= 0) {
        taken.push(lots.shift());
        left = minus(left, lot.amount);
      } else {
        const cost = lot.cost.mul(left).mul(lot.amount.inv());
        taken.push({ ...lot, amount: left, cost });
        lots[0] = { ...lot, amount: minus(lot.amount, left), cost: minus(lot.cost, cost) };
        left = ZERO;
      }
    }
    return taken;
  };
  const realize = (at, account, asset, amount, proceeds, basis) => {
    realized.set(asset, (realized.get(asset) ?? ZERO).add(minus(proceeds, basis)));
    disposals.push({ at, account, asset, amount, proceeds, basis, gain: minus(proceeds, basis) });
  };
  const dispose = (e, asset, amount, proceeds) => {
    if (money(asset) || !positive(amount)) return;
    const lots = take(poolOf(asset), amount);
    const explained = sum(lots.map((l) => l.amount));
    if (isZero(explained)) return;
    realize(e.at, e.account, asset, explained, proceeds.mul(explained).mul(amount.inv()), sum(lots.map((l) => l.cost)));
  };
  /** A fee that leaves on its own: at its basis, a realized loss; counted under fees at market. */
  const lose = (e, fee) => {
    if (money(fee.asset)) realize(e.at, e.account, fee.asset, fee.amount, ZERO, fee.amount);
    else dispose(e, fee.asset, fee.amount, ZERO);
    fees.push({ at: e.at, value: valueOf(fee, e.at) });
  };
  /** What a deposit brought in: less a fee taken from it. */
  const arrived = (e) => (e.fee && e.fee.asset === e.received.asset ? minus(e.received.amount, e.fee.amount) : e.received.amount);
  const row = (e, extra) => rows.push({ ...e, price: null, feeValue: null, estimated: false, transfer: false, ...extra });

  entries.forEach((e, index) => {
    // Under FIFO a lot is as old as the transaction that acquired it (the entries are in time order).
    const order = index;
    if (e.kind === 'trade') {
      const { received, sent, fee, side } = e;
      const priced = received.asset === QUOTE ? received : sent.asset === QUOTE ? sent : side === 'buy' ? sent : received;
      const V = valueOf(priced, e.at);
      const F = fee ? valueOf(fee, e.at) : ZERO;
      const feeIn = (asset) => Boolean(fee) && fee.asset === asset;
      const cost = side === 'buy' ? (feeIn(received.asset) ? V : V.add(F)) : feeIn(received.asset) ? minus(V, F) : V;
      const proceeds = side === 'buy' ? (feeIn(sent.asset) ? V.add(F) : V) : feeIn(sent.asset) ? V : minus(V, F);
      dispose(e, sent.asset, feeIn(sent.asset) ? sent.amount.add(fee.amount) : sent.amount, proceeds);
      if (fee && !feeIn(received.asset) && !feeIn(sent.asset)) dispose(e, fee.asset, fee.amount, F);
      acquire(received.asset, { amount: feeIn(received.asset) ? minus(received.amount, fee.amount) : received.amount, cost, at: e.at, order });
      if (fee) fees.push({ at: e.at, value: F });
      row(e, { price: V.mul((side === 'buy' ? received.amount : sent.amount).inv()), feeValue: fee ? F : null });
    } else if (e.kind === 'deposit' && deposits.has(index)) {
      const lots = inTransit.get(deposits.get(index));
      for (const lot of take(lots, arrived(e))) acquire(e.received.asset, lot);
      if (lots.length) {
        const basis = sum(lots.map((l) => l.cost));
        realize(e.at, e.account, e.received.asset, sum(lots.map((l) => l.amount)), ZERO, basis);
        fees.push({ at: e.at, value: basis });
      }
      row(e, { price: closeOf(e.received.asset, e.at), transfer: true });
    } else if (e.kind === 'deposit') {
      const amount = arrived(e);
      const cost = valueOf(leg(e.received.asset, amount), e.at);
      acquire(e.received.asset, { amount, cost, at: e.at, order });
      row(e, { price: cost.mul(amount.inv()), estimated: !money(e.received.asset) });
    } else if (e.kind === 'withdrawal') {
      const lots = money(e.sent.asset) ? [] : take(poolOf(e.sent.asset), e.sent.amount);
      if (withdrawals.has(index)) inTransit.set(index, lots);
      if (e.fee) lose(e, e.fee);
      row(e, { price: closeOf(e.sent.asset, e.at), feeValue: e.fee ? valueOf(e.fee, e.at) : null, transfer: withdrawals.has(index) });
    } else if (e.kind === 'reward') {
      const value = valueOf(e.received, e.at);
      acquire(e.received.asset, { amount: e.received.amount, cost: value, at: e.at, order });
      income.push({ at: e.at, value });
      row(e, { price: value.mul(e.received.amount.inv()) });
    } else if (e.kind === 'fee') {
      lose(e, e.fee);
      row(e, { feeValue: valueOf(e.fee, e.at) });
    }
  });

  // One row per asset held or realized on: what history explains of the holding has a cost.
  const held = new Map();
  for (const assets of Object.values(heldByAccount)) {
    for (const [asset, amount] of Object.entries(assets)) if (!money(asset)) held.set(asset, (held.get(asset) ?? ZERO).add(amount));
  }
  const table = [];
  for (const asset of new Set([...held.keys(), ...pools.keys(), ...realized.keys()].filter((a) => !money(a)))) {
    const lots = pools.get(asset) ?? [];
    const pooled = sum(lots.map((l) => l.amount));
    const amount = held.get(asset) ?? ZERO;
    const assetRealized = realized.get(asset) ?? ZERO;
    if (isZero(amount) && isZero(assetRealized)) continue;
    const explained = pooled.cmp(amount) <= 0 ? pooled : amount;
    const costBasis = isZero(explained) ? ZERO : sum(lots.map((l) => l.cost)).mul(explained).mul(pooled.inv());
    const value = explained.mul(nowOf(asset));
    table.push({
      asset, amount, averageCost: isZero(explained) ? null : costBasis.mul(explained.inv()), costBasis, value,
      unrealized: minus(value, costBasis), realized: assetRealized,
    });
  }
  table.sort((a, b) => b.costBasis.cmp(a.costBasis) || (a.asset < b.asset ? -1 : 1));
  const inYear = (year) => (item) => year === null || new Date(item.at).getUTCFullYear() === year;
  return {
    table,
    total: {
      costBasis: sum(table.map((r) => r.costBasis)),
      value: sum(table.map((r) => r.value)),
      unrealized: sum(table.map((r) => r.unrealized)),
      realized: sum(table.map((r) => r.realized)).add(realized.get(QUOTE) ?? ZERO),
    },
    summary: (year) => ({
      realized: sum(disposals.filter(inYear(year)).map((d) => d.gain)),
      income: sum(income.filter(inYear(year)).map((i) => i.value)),
      fees: sum(fees.filter(inYear(year)).map((f) => f.value)),
    }),
    disposals,
    rows,
  };
}

/**
 * Checks the data a suite serves before anything runs: every account's balance is what its
 * history explains, and no instant is shared by two accounts (the product orders the
 * transactions of one instant by account id, which is random).
 */
export function assertServedIsSound(accounts, served, heldByAccount) {
  assert.deepEqual(mismatches(accounts, served, heldByAccount), [], 'every balance is what its history explains');
  const instants = new Map();
  for (const { account, at } of served) instants.set(at, new Set([...(instants.get(at) ?? []), account]));
  assert.deepEqual([...instants].filter(([, labels]) => labels.size > 1), [], 'no instant shared by two accounts');
}

/** Where an account's history (`served`) and its balance (`held`, as for `reference`) disagree:
 * none, by construction, and checked. */
function mismatches(accounts, served, heldByAccount) {
  const found = [];
  for (const account of accounts) {
    const explained = {};
    for (const t of served.filter((s) => s.account === account.label)) {
      for (const [l, sign] of [[t.received, 1], [t.sent, -1], [t.fee, -1]]) {
        if (l) explained[l.asset] = (explained[l.asset] ?? ZERO).add(sign > 0 ? l.amount : neg(l.amount));
      }
    }
    const held = heldByAccount[account.label];
    for (const asset of new Set([...Object.keys(explained), ...Object.keys(held)])) {
      if ((explained[asset] ?? ZERO).cmp(held[asset] ?? ZERO) !== 0) found.push(`${account.label} ${asset}`);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Reading the page

/** Exact cents of a figure the data keeps round; fails when it is not (the data is wrong then). */
export function cents(q, what) {
  const hundredths = q.mul(new Q(100n));
  assert.equal(hundredths.d, 1n, `${what} is exact to the cent: ${q.toFixed(12)}`);
  return hundredths.n;
}

/** An average cost as the page rounds it: the core keeps 12 places, the page shows cents. */
export function roundedCents(q, what) {
  const decimal = q.toDecimal();
  assert.ok(decimal !== null && (decimal.split('.')[1] ?? '').length <= 12, `${what} has at most 12 decimal places: ${q.toFixed(14)}`);
  return BigInt(q.toFixed(2).replace('.', ''));
}

/** A money cell ("$1,234.56", "+$0.00", "−$2.00"; "R$1,234.56" with `symbol` 'R$') in cents. */
export function centsOf(text, symbol = '$') {
  const shown = text.trim();
  const escaped = symbol.replace(/[$]/g, '\\$&');
  assert.match(shown, new RegExp(`^[+\u2212-]?${escaped}[\\d,]+\\.\\d{2}$`), `an amount in ${symbol}: ${shown}`);
  return (/^[\u2212-]/.test(shown) ? -1n : 1n) * BigInt(shown.replace(/[^0-9]/g, ''));
}

/** Cents as "$1234.56" or "-$2.00", one form for what the page shows and what is expected. */
export function dollars(hundredths, symbol = '$') {
  const size = hundredths < 0n ? -hundredths : hundredths;
  return `${hundredths < 0n ? '-' : ''}${symbol}${size / 100n}.${String(size % 100n).padStart(2, '0')}`;
}

/** The CSV an export button downloads, as text. */
export async function download(page, button) {
  const waiting = page.waitForEvent('download');
  await page.getByRole('button', { name: button }).click();
  const file = await waiting;
  const stream = await file.createReadStream();
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { name: file.suggestedFilename(), lines: Buffer.concat(chunks).toString('utf8').trim().split('\r\n') };
}

export const METHODS = [['averageCost', 'Average cost'], ['fifo', 'FIFO']];

/**
 * How a suite reads the page's money: in `symbol`, each figure in cents as `figureCents` expects
 * it of the reference (`averageCents` for an average cost).
 */
const moneyIn = ({ symbol, figureCents, averageCents = figureCents }) => ({
  shown: (text) => dollars(centsOf(text, symbol), symbol),
  figure: (q, what) => dollars(figureCents(q, what), symbol),
  average: (q, what) => dollars(averageCents(q, what), symbol),
});

/**
 * The holdings table of the page, as `expected` (one method's reference) works it out: one row
 * per asset (asset | amount | average cost | cost basis | value | unrealized | realized) and the
 * total, in `money` (see `moneyIn`). The page recomputes as past prices arrive: the figures are
 * awaited for `settleMs` before they are compared.
 */
export async function assertHoldingsTable(page, expected, { name, money, settleMs }) {
  const read = moneyIn(money);
  const holdings = page.getByRole('table').first();
  assert.deepEqual(await holdings.locator('thead th').allTextContents(),
    ['Asset', 'Amount', 'Average cost', 'Cost basis', 'Value', 'Unrealized P&L', 'Realized P&L']);
  const figures = ['costBasis', 'value', 'unrealized', 'realized'];
  const wanted = expected.table.map((row) => [
    row.asset.toUpperCase(), row.amount.toDecimal(), read.average(row.averageCost, `${row.asset} average cost`),
    ...figures.map((field) => read.figure(row[field], `${row.asset} ${field}`)),
  ]);
  const total = ['Total', '', '', ...figures.map((field) => read.figure(expected.total[field], `total ${field}`))];
  const shown = async () => {
    const rows = await holdings.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((cell) => cell.textContent)));
    const foot = await holdings.locator('tfoot tr th, tfoot tr td').allTextContents();
    const cells = (row) => row.map((cell, i) => (i === 0 || cell === '' ? cell : i === 1 ? cell.replace(/,/g, '') : read.shown(cell)));
    return { rows: rows.map(cells), total: cells(foot) };
  };
  let last;
  await until(async () => {
    last = await shown().catch((e) => ({ error: e.message }));
    return JSON.stringify(last) === JSON.stringify({ rows: wanted, total });
  }, { timeout: settleMs, message: `${name} figures` }).catch(() => {});
  const lines = (table) => (table.error ? [table.error] : [...table.rows, table.total].map((row) => row.join(' | ')));
  assert.deepEqual(lines(last), lines({ rows: wanted, total }),
    `${name}: one row per asset (asset | amount | average cost | cost basis | value | unrealized | realized) and the total`);
}

/**
 * The year summary's realized P&L, income and fees for each of `years` (`null`: all time), as
 * `expected` works them out, in `money` (see `moneyIn`); ends with all time chosen again.
 */
export async function assertYearSummaries(page, expected, { name, years, money }) {
  const read = moneyIn(money);
  const shown = async (id) => read.shown(await page.locator(id).textContent());
  for (const year of years) {
    const when = year ?? 'all time';
    await page.getByLabel('Year').selectOption(year === null ? '' : String(year));
    const summary = expected.summary(year);
    const realized = read.figure(summary.realized, 'realized');
    await until(async () => (await shown('#year-realized')) === realized, { message: `${name} ${when} realized` }).catch(() => {});
    assert.equal(await shown('#year-realized'), realized, `${when}: realized`);
    assert.equal(await shown('#year-income'), read.figure(summary.income, 'income'), `${when}: income`);
    assert.equal(await shown('#year-fees'), read.figure(summary.fees, 'fees'), `${when}: fees`);
  }
  await page.getByLabel('Year').selectOption('');
}

/**
 * The transactions export's rows (time, type, asset, amount, price, fee, account, estimated,
 * transfer) as `expected` works them out, oldest first, and a reader of the file's lines into the
 * same form: amounts exact, prices and fees through `number` (a text of the file, or '') and
 * `numberOf` (a reference figure), so that a suite chooses how exactly it compares them.
 */
export function transactionsExport(expected, { number, numberOf }) {
  const typeOf = (row) => (row.kind === 'trade' ? row.side : row.kind);
  const assetOf = (row) => (row.kind === 'fee' ? row.fee : row.kind === 'withdrawal' || row.side === 'sell' ? row.sent : row.received);
  const wanted = [...expected.rows]
    .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
    .map((row) => [
      isoTime(row.at), typeOf(row), assetOf(row).asset, assetOf(row).amount.toDecimal(), row.price ? numberOf(row.price) : '',
      row.feeValue ? numberOf(row.feeValue) : '', row.account, row.estimated ? 'yes' : 'no', row.transfer ? 'yes' : 'no',
    ]);
  const read = (line) => {
    const [time, type, asset, amount, price, fee, account, estimated, transfer] = line.split(',');
    return [time, type, asset, amount === '' ? '' : Q.parse(amount).toDecimal(), number(price), number(fee), account, estimated, transfer];
  };
  return { wanted, read };
}

// ---------------------------------------------------------------------------------------------
// The import, as a user starts it

/**
 * Chooses the display currency `quote`, adds `accounts` through the options page, and waits until
 * each account's row says, in words, that its history is in, with no error stored and the import
 * caught up. Returns each account's id and how many seconds its import took, by label.
 */
export async function addAndImport({ h, options, accounts, quote, timeout }) {
  await options.getByLabel('Display currency').selectOption(quote);
  await until(async () => (await readStorage(h, 'local', 'settings')).settings?.quote === quote, { message: `${quote} chosen` });
  const addedAt = {};
  for (const account of accounts) {
    const status = await addAccount(options, { ...account, passphrase: PASSPHRASE });
    assert.match(status, /^Active/, `${account.exchange}: ${status}`);
    addedAt[account.label] = Date.now();
  }
  const ids = {};
  for (const account of (await readStorage(h, 'local', 'accounts')).accounts) ids[account.label] = account.id;
  const importedAt = {};
  await until(async () => {
    for (const account of accounts.filter((a) => !importedAt[a.label])) {
      const row = options.getByRole('listitem').filter({ hasText: account.label });
      if (await row.getByText(english('historyImported'), { exact: true }).isVisible()) importedAt[account.label] = Date.now();
    }
    return Object.keys(importedAt).length === accounts.length;
  }, { timeout, interval: 500, message: 'every account\'s history imported' });
  const { txState } = await readStorage(h, 'local', 'txState');
  const seconds = {};
  for (const account of accounts) {
    const state = txState[ids[account.label]];
    assert.equal(state.error, null, `${account.label}: ${JSON.stringify(state.error)}`);
    assert.equal(state.caughtUp, true, `${account.label}: caught up`);
    seconds[account.label] = Math.round((importedAt[account.label] - addedAt[account.label]) / 1000);
  }
  return { ids, seconds };
}
