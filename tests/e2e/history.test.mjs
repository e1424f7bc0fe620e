// Value history in Chromium with the shipped build: three syncs with moving prices and a deposit
// between two of them; the popup's change, market P&L and flows checked against an independent
// computation from the mock's data; the History page's table against its chart; the CSV export
// parsed back; the top movers against the mock's 24-hour changes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { pricesAcross, Q } from './expected.mjs';
import { ACCOUNT_A, balance, PASSPHRASE, TICKERS } from './fixtures.mjs';
import {
  addAccount, clickRefresh, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, screenshot,
  until, waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const PRICES_REUSED_FOR_MS = 10_000; // src/refresh.rs

const booksOf = (tickers) => tickers.map((t) => {
  const [base, quote] = t.book.split('_');
  return { book: `bitso:${t.book}`, base, quote, last: t.last, volume: t.volume, change: t.change_24 };
});

/** The market with each of `changes` (`{ book: last }`) applied. */
const moved = (changes) => TICKERS.map((t) => (t.book in changes ? { ...t, last: changes[t.book] } : t));

/** The portfolio `balances` at `tickers`, independently: `{ asset: { amount: Q, price: Q } }` and the total. */
function valuation(balances, tickers) {
  const prices = pricesAcross(booksOf(tickers), 'mxn');
  const assets = {};
  let total = new Q(0n);
  for (const b of balances) {
    const amount = Q.parse(b.total);
    const route = prices.get(b.currency);
    if (amount.isZero() || !route) continue;
    assets[b.currency] = { amount, price: route.price };
    total = total.add(amount.mul(route.price));
  }
  return { assets, total };
}

const near = (decimal, q, what) => {
  const diff = Q.parse(decimal).add(new Q(-q.n, q.d));
  const abs = new Q(diff.n < 0n ? -diff.n : diff.n, diff.d);
  assert.ok(abs.cmp(new Q(1n, 100n)) <= 0, `${what}: ${decimal} vs ${q.toFixed(6)}`);
};

describe('history, profit and loss, top movers', { timeout: 300_000 }, () => {
  let mock;
  let h;
  let popup;
  const profileDir = makeProfileDir();
  const states = []; // { balances, tickers } of each sync, in order

  before(async () => {
    mock = await startMockBitso({ accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } });
    h = await launch({ profileDir, server: mock });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  async function sync(balances, tickers) {
    mock.setAccount(ACCOUNT_A.apiKey, { secret: ACCOUNT_A.secret, balances });
    mock.setTickers(tickers);
    await new Promise((resolve) => setTimeout(resolve, PRICES_REUSED_FOR_MS + 300));
    const { snapshot: before } = await readStorage(h, 'local', 'snapshot');
    await clickRefresh(popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.updatedAt > before.updatedAt, { message: 'a new snapshot' });
    await until(async () => (await readStorage(h, 'local', 'historyView')).historyView?.storedPoints === states.length + 1, { message: 'the history point' });
    states.push({ balances, tickers });
  }

  test('three syncs, prices moving and a deposit between them', async () => {
    const options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    await until(async () => (await readStorage(h, 'local', 'historyView')).historyView?.storedPoints === 1, { message: 'the first point' });
    states.push({ balances: ACCOUNT_A.balances, tickers: TICKERS });
    popup = await openPopup(h);
    await waitIdle(popup);
    // Prices move.
    await sync(ACCOUNT_A.balances, moved({ btc_mxn: '1810000.00', eth_mxn: '60100.00', usd_mxn: '17.3000' }));
    // A deposit of 5,000 pesos, and prices move again.
    const deposited = ACCOUNT_A.balances.map((b) => (b.currency === 'mxn' ? balance('mxn', '20230.75', '230.75') : b));
    await sync(deposited, moved({ btc_mxn: '1700000.00', eth_mxn: '62000.00', usd_mxn: '17.2000' }));
  });

  test('the popup\'s change, market P&L and flows match an independent computation', async () => {
    const points = states.map(({ balances, tickers }) => valuation(balances, tickers));
    let market = new Q(0n);
    for (let i = 1; i < points.length; i++) {
      for (const [asset, { amount, price }] of Object.entries(points[i - 1].assets)) {
        const later = points[i].assets[asset];
        if (later) market = market.add(amount.mul(later.price.add(new Q(-price.n, price.d))));
      }
    }
    const change = points.at(-1).total.add(new Q(-points[0].total.n, points[0].total.d));
    const flows = change.add(new Q(-market.n, market.d));

    await popup.reload();
    await popup.getByRole('button', { name: 'All', exact: true }).click();
    const { historyView } = await readStorage(h, 'local', 'historyView');
    const all = historyView.ranges.all;
    assert.equal(all.basis, 'history');
    near(all.change, change, 'value change');
    near(all.market, market, 'market P&L');
    near(all.flows, flows, 'deposits and withdrawals');
    near(all.flows, Q.parse('5000'), 'the deposit, less nothing: no fees or spreads in between');

    const money = (decimal) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'MXN' }).format(decimal);
    const sign = (decimal) => (decimal.startsWith('-') ? money(decimal).replace('-', '\u2212') : `+${money(decimal)}`);
    assert.equal((await popup.locator('#pnl-market').textContent()).trim(), sign(all.market));
    assert.equal((await popup.locator('#pnl-flows').textContent()).trim(), sign(all.flows));
    assert.match(await popup.locator('#range-change').textContent(), new RegExp(`^${sign(all.change).replace(/[$+.]/g, '\\$&')} \\(`));
    const label = await popup.getByRole('img').getAttribute('aria-label');
    assert.match(label, /^Portfolio value, all history: from MX\$[\d,.]+ to MX\$[\d,.]+ \([+\u2212]MX\$/);
    assert.ok((await popup.locator('#pnl-method').textContent()).startsWith('P&L counts only price moves of what you held'));
    // Until a day of history exists, 24 h comes from the exchanges' own 24-hour changes.
    await popup.getByRole('button', { name: '24 h', exact: true }).click();
    assert.ok((await popup.locator('#pnl-method').textContent()).startsWith("From the exchanges' 24-hour price changes"));
    await popup.getByRole('button', { name: 'All', exact: true }).click();
    await screenshot(popup, 'popup-history.png');
  });

  test('top movers match the mock\'s 24-hour changes', async () => {
    const { tickers, balances } = states.at(-1);
    const books = booksOf(tickers);
    const prices = pricesAcross(books, 'mxn');
    const byId = new Map(books.map((b) => [b.book, b]));
    const { total, assets } = valuation(balances, tickers);
    const moves = [];
    for (const [asset, { amount, price }] of Object.entries(assets)) {
      const route = prices.get(asset).route;
      if (!route.length) continue;
      // Yesterday's price along the same books: each book's last minus its 24 h change.
      let at = asset;
      let then = new Q(1n);
      for (const id of route) {
        const b = byId.get(id);
        const past = Q.parse(b.last).add(new Q(-Q.parse(b.change).n, Q.parse(b.change).d));
        if (b.base === at) { then = then.mul(past); at = b.quote; } else { then = then.mul(past.inv()); at = b.base; }
      }
      const share = amount.mul(price).mul(new Q(100n)).mul(total.inv());
      if (share.cmp(Q.parse('0.5')) < 0) continue; // dust
      moves.push({ asset, percent: price.mul(then.inv()).add(new Q(-1n)) });
    }
    moves.sort((a, b) => b.percent.cmp(a.percent) || (a.asset < b.asset ? -1 : 1));
    const gainers = moves.filter((m) => m.percent.n > 0n).slice(0, 3).map((m) => m.asset.toUpperCase());
    const losers = moves.filter((m) => m.percent.n < 0n).reverse().slice(0, 3).map((m) => m.asset.toUpperCase());
    const text = async (id) => (await popup.locator(`#${id} a`).allTextContents()).map((s) => s.split(' ')[0]);
    assert.deepEqual(await text('gainers'), gainers);
    assert.deepEqual(await text('losers'), losers);
    // Each links to its row.
    const first = popup.locator('#gainers a').first();
    assert.equal(await first.getAttribute('href'), `#asset-${gainers[0].toLowerCase()}`);
    assert.equal(await popup.locator(`#asset-${gainers[0].toLowerCase()}`).count(), 1);
  });

  test('the History page\'s table matches its chart, and the CSV parses back to the same figures', async () => {
    const page = await h.context.newPage();
    const waiting = h.context.waitForEvent('page');
    await popup.getByRole('link', { name: 'History' }).click();
    const history = await waiting;
    await page.close();
    await history.waitForLoadState('domcontentloaded');
    await history.getByRole('button', { name: 'All', exact: true }).click();
    const { historyView } = await readStorage(h, 'local', 'historyView');
    const drawn = historyView.ranges.all.points.filter(([, value]) => value !== null);
    const table = history.getByRole('table');
    await until(async () => (await table.locator('tbody tr').count()) === drawn.length, { message: 'one table row per drawn point' });
    const header = await table.locator('thead th').allTextContents();
    assert.deepEqual(header.filter((text, i) => i < 2), ['Time', 'Value']);
    const money = (decimal) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'MXN' }).format(decimal);
    assert.deepEqual(await table.locator('tbody td').allTextContents(), drawn.map(([, value]) => money(value)));
    // Keyboard reading of the chart.
    await history.getByRole('img').focus();
    await history.keyboard.press('End');
    const readout = await history.locator('#readout').textContent();
    assert.ok(readout.endsWith(`: ${money(drawn.at(-1)[1])}`), `${readout} ends with ${money(drawn.at(-1)[1])}`);
    await screenshot(history, 'history.png', { fullPage: true });

    const download = history.waitForEvent('download');
    await history.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /^cartera-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = await new Promise((resolve, reject) => {
      file.createReadStream().then((stream) => {
        const chunks = [];
        stream.on('data', (chunk) => chunks.push(chunk));
        stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        stream.on('error', reject);
      }, reject);
    });
    const [holdings, series] = text.trim().split('\r\n\r\n').map((part) => part.split('\r\n').map((line) => line.split(',')));
    assert.deepEqual(holdings[0], ['asset', 'account', 'exchange', 'amount', 'price_MXN', 'value_MXN']);
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    const balances = snapshot.accounts[0].balances;
    assert.equal(holdings.length - 1, balances.length);
    for (const b of balances) {
      const row = holdings.find((r) => r[0] === b.currency);
      assert.equal(row[1], ACCOUNT_A.label);
      assert.equal(row[3], b.total);
    }
    assert.equal(series[0][0], 'time');
    assert.equal(series[0][1], 'total_MXN');
    assert.equal(series.length - 1, historyView.storedPoints, 'one row per stored point');
    assert.ok(series.slice(1).every((row) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(row[0])));
    assert.equal(series.at(-1)[1], snapshot.total.replace(/\.?0+$/, '') || snapshot.total, 'the last total is the current one');
    assert.ok(!text.includes(ACCOUNT_A.secret) && !text.includes(ACCOUNT_A.apiKey), 'no key or secret in the export');
  });
});
