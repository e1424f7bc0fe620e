// Profit and loss in a real browser: the background imports each Bitso account's ledger from the
// stand-in (signed, paged, checked by the mock), fetches the daily closes, and the Profit and loss
// page shows cost basis, unrealized and realized P&L by average cost and by FIFO, to the cent, as
// worked out here by hand from the ledger. A key without the ledger permission says which
// permission to add. A typed-in trade appears and can be deleted; a deposit from outside is
// estimated until its cost is typed; both exports download; the popup shows "Unrealized P&L".
// An import whose worker is stopped between pages resumes from its cursor without duplicates, and
// a later sync reads only what is new.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { digitsOf } from './expected.mjs';
import { ACCOUNT_B, PASSPHRASE, TICKERS, balance } from './fixtures.mjs';
import {
  addAccount, clickRefresh, english, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, screenshot,
  stopServiceWorker, uncaughtErrors, until, waitForPage, waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const TRADER = {
  label: 'Trading',
  apiKey: 'TrAdErKeY1',
  secret: 'a11ce5ecret-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  // What the ledger below leaves: 120,000 − 50,000 − 60,000 − 325 + 30,000 MXN; 0.1 − 0.02 + 0.01 BTC.
  balances: [balance('mxn', '39675.00'), balance('btc', '0.09000000')],
};

const row = (eid, operation, createdAt, updates) => ({
  eid, operation, created_at: createdAt, balance_updates: updates.map(([currency, amount]) => ({ currency, amount })), details: {},
});
const LEDGER = [
  row('d1', 'funding', '2025-01-03T17:52:31.000+00:00', [['mxn', '120000.00']]),
  row('b1', 'trade', '2025-01-04T10:00:00.000+00:00', [['btc', '0.05000000'], ['mxn', '-50000.00']]),
  row('b1f', 'fee', '2025-01-04T10:00:00.000+00:00', [['mxn', '-325.00']]),
  row('b2', 'trade', '2025-02-04T10:00:00.000+00:00', [['btc', '0.05000000'], ['mxn', '-60000.00']]),
  row('s1', 'trade', '2025-03-10T12:30:00.000+00:00', [['btc', '-0.02000000'], ['mxn', '30000.00']]),
  row('d2', 'funding', '2025-04-01T08:00:00.000+00:00', [['btc', '0.01000000']]),
];
// A round price, so every figure is exact to the cent.
const BTC_NOW = '1800000.00';
const PRICES = TICKERS.map((ticker) => (ticker.book === 'btc_mxn' ? { ...ticker, last: BTC_NOW } : ticker));

/** Exact decimal arithmetic for the expectations, in hundredths of a peso (no floats). */
const cents = (text) => {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole) * 100n + BigInt((fraction + '00').slice(0, 2));
};
const peso = (value) => `${value / 100n}${(value % 100n).toString().padStart(2, '0')}`;

describe('profit and loss from the exchanges\' transaction history', { timeout: 300_000 }, () => {
  let mock;
  let h;
  let options;
  const profileDir = makeProfileDir();

  before(async () => {
    mock = await startMockBitso({
      accounts: {
        [TRADER.apiKey]: { secret: TRADER.secret, balances: TRADER.balances, ledger: LEDGER },
        [ACCOUNT_B.apiKey]: { secret: ACCOUNT_B.secret, balances: ACCOUNT_B.balances, historyPermission: false },
      },
      tickers: PRICES,
    });
    h = await launch({ profileDir, server: mock });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('adding the accounts imports the ledger; a key without the permission says which one to add', async () => {
    options = await openOptions(h);
    assert.match(await addAccount(options, { ...TRADER, passphrase: PASSPHRASE }), /^Active/);
    assert.match(await addAccount(options, { ...ACCOUNT_B, passphrase: PASSPHRASE }), /^Active/);
    const trader = options.locator(`li.account`, { hasText: TRADER.label });
    await until(async () => (await trader.locator('.history-state').textContent().catch(() => '')) === english('historyImported'), {
      timeout: 60_000, message: 'the trader\'s history imported',
    });
    const savings = options.locator(`li.account`, { hasText: ACCOUNT_B.label });
    await until(async () => (await savings.locator('.history-state').textContent().catch(() => '')).includes('View account information'), {
      timeout: 30_000, message: 'the permission named',
    });
    const stored = await readStorage(h);
    const chunks = Object.keys(stored).filter((key) => key.startsWith('tx:')).sort();
    assert.equal(chunks.length, 4, `four months of transactions: ${chunks}`);
    // Every ledger request was signed and answered by the mock (it refuses a bad signature).
    assert.ok(mock.ledgerRequests().length >= 1);
    const savingsId = stored.accounts.find((account) => account.label === ACCOUNT_B.label).id;
    assert.equal(stored.txState[savingsId].error.code, 'history_permission');
  });

  test('the popup shows the unrealized P&L under the total, and opens Profit and loss', async () => {
    const popup = await openPopup(h);
    const line = popup.locator('#unrealized-line');
    await line.waitFor({ state: 'visible', timeout: 60_000 });
    assert.ok((await line.innerText()).includes('Unrealized P&L'));
    const page = await waitForPage(h, 'pnl/pnl.html', () => popup.getByRole('link', { name: 'Profit and loss' }).click());
    await page.close();
    await popup.close();
  });

  test('average cost and FIFO, to the cent, as the ledger works out by hand', async () => {
    const page = await h.context.newPage();
    await page.goto(`chrome-extension://${h.extensionId}/pnl/pnl.html`);
    const holdings = page.getByRole('table').first();
    await until(async () => (await holdings.locator('tbody tr').count()) > 0, { timeout: 60_000, message: 'the holdings table' });
    // Costs typed for the deposit from outside make every figure exact.
    const editCost = page.getByRole('button', { name: /^Edit cost of BTC/ });
    await until(async () => (await editCost.count()) === 1, { timeout: 60_000, message: 'the estimated deposit' });
    assert.ok(await page.getByText('Estimated', { exact: true }).first().isVisible());
    await editCost.click();
    await page.getByLabel('What you paid (MXN)').fill('5000');
    await page.getByRole('button', { name: 'Save cost' }).click();

    const header = await holdings.locator('thead th').allTextContents();
    assert.deepEqual(header, ['Asset', 'Amount', 'Average cost', 'Cost basis', 'Value', 'Unrealized P&L', 'Realized P&L']);
    const btcValue = cents(BTC_NOW) * 9n / 100n; // 0.09 BTC
    const expectations = {
      // Pool 0.1 BTC for 110,000; the sale of 0.02 leaves with 22,000 of it for 30,000 (+8,000);
      // the deposit adds 0.01 at 5,000: 0.09 for 93,000. The 325 fee in pesos is realized.
      averageCost: { cost: 9_300_000n, realized: 800_000n - 32_500n },
      // The sale takes 0.02 from the first lot (20,000): +10,000; left 30,000 + 60,000 + 5,000.
      fifo: { cost: 9_500_000n, realized: 1_000_000n - 32_500n },
    };
    for (const [method, expected] of Object.entries(expectations)) {
      await page.getByLabel('Method').selectOption(method);
      const total = holdings.locator('tfoot tr');
      const unrealized = btcValue - expected.cost;
      await until(async () => {
        const cells = await total.locator('th, td').allTextContents();
        return cells[0] === 'Total' && digitsOf(cells[3]) === peso(expected.cost) && digitsOf(cells[4]) === peso(btcValue)
          && digitsOf(cells[5]) === peso(unrealized < 0n ? -unrealized : unrealized) && digitsOf(cells[6]) === peso(expected.realized);
      }, { timeout: 20_000, message: `${method}: the totals` });
      const btc = holdings.locator('tbody tr', { hasText: 'BTC' });
      // Savings holds 0.00000123 BTC of dust that no history explains.
      assert.equal(digitsOf(await btc.locator('td').first().textContent()), '009000123');
    }
    await page.getByLabel('Year').selectOption('2025');
    assert.equal(digitsOf(await page.locator('#year-fees').textContent()), '32500');
    await screenshot(page, 'pnl.png', { fullPage: true });
    await page.close();
  });

  test('a typed-in trade appears in Transactions and can be deleted; exports download', async () => {
    const page = await h.context.newPage();
    await page.goto(`chrome-extension://${h.extensionId}/pnl/pnl.html`);
    const transactions = page.locator('#transactions');
    await until(async () => (await transactions.locator('tbody tr').count()) >= 6, { timeout: 30_000, message: 'the transactions' });
    const before = await transactions.locator('tbody tr').count();
    assert.deepEqual((await transactions.locator('thead th').allTextContents()).slice(0, 7), ['Date', 'Type', 'Asset', 'Amount', 'Price', 'Fee', 'Account']);

    await page.getByRole('button', { name: 'Add transaction' }).click();
    await page.getByLabel('Type').selectOption('buy');
    await page.getByLabel('Date').fill('2025-05-02');
    await page.getByLabel('Asset').fill('eth');
    await page.getByLabel('Amount').fill('abc');
    await page.getByLabel('Price per unit (MXN)').fill('40000');
    await page.getByRole('button', { name: 'Save transaction' }).click();
    await until(async () => (await page.locator('#add-status').textContent()).includes('amount'), { message: 'the amount refused by name' });
    await page.getByLabel('Amount').fill('1.5');
    await page.getByRole('button', { name: 'Save transaction' }).click();
    await until(async () => (await transactions.locator('tbody tr').count()) === before + 1, { message: 'the typed trade listed' });
    const typed = transactions.locator('tbody tr', { hasText: 'ETH' });
    assert.equal(await typed.locator('td').nth(1).textContent(), 'Buy');
    await typed.getByRole('button', { name: /^Delete/ }).click();
    await until(async () => (await transactions.locator('tbody tr').count()) === before, { message: 'the typed trade deleted' });

    for (const [button, pattern, header] of [
      ['Export realized gains', /^cartera-realized-gains-\d{4}-\d{2}-\d{2}\.csv$/, 'time,asset,amount,proceeds_MXN,cost_basis_MXN,gain_MXN,account'],
      ['Export transactions', /^cartera-transactions-\d{4}-\d{2}-\d{2}\.csv$/, 'time,type,asset,amount,price_MXN,fee_MXN,account,estimated,transfer'],
    ]) {
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: button }).click();
      const file = await download;
      assert.match(file.suggestedFilename(), pattern);
      const text = await new Promise((resolve, reject) => {
        file.createReadStream().then((stream) => {
          const chunks = [];
          stream.on('data', (chunk) => chunks.push(chunk));
          stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          stream.on('error', reject);
        }, reject);
      });
      const lines = text.trim().split('\r\n');
      assert.equal(lines[0], header);
      if (button === 'Export realized gains') {
        // The trading fee paid in pesos is realized as a loss; then the sale, at average cost.
        assert.deepEqual(lines.slice(1), ['2025-01-04T10:00:00Z,mxn,325,0,325,-325,Trading', '2025-03-10T12:30:00Z,btc,0.02,30000,22000,8000,Trading']);
      } else {
        assert.ok(lines.length >= 7, `every transaction: ${lines.length}`);
      }
    }
    await page.close();
  });
});

describe('an import stopped with its worker resumes; a later sync reads only what is new', { timeout: 300_000 }, () => {
  const RESUMER = { label: 'Long history', apiKey: 'ReSuMeKeY2', secret: 'feed5ecret-1a2b3c4d5e6f708192a3b4c5d6e7f809', balances: [balance('mxn', '1000.00')] };
  // 250 rows: three pages of 100.
  const rows = Array.from({ length: 250 }, (_, i) => row(`r${i}`, 'funding', new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(), [['mxn', '4.00']]));
  let mock;
  let h;
  const profileDir = makeProfileDir();
  const ids = (stored) => Object.entries(stored).filter(([key]) => key.startsWith('tx:'))
    .flatMap(([, text]) => JSON.parse(text).transactions.map((transaction) => transaction.id));

  before(async () => {
    mock = await startMockBitso({ accounts: { [RESUMER.apiKey]: { secret: RESUMER.secret, balances: RESUMER.balances, ledger: rows } } });
    h = await launch({ profileDir, server: mock });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('stopped after its first page, the import goes on from its cursor', async () => {
    const options = await openOptions(h);
    // Slow answers, so the worker can be stopped between two pages.
    mock.setLatency(1500);
    assert.match(await addAccount(options, { ...RESUMER, passphrase: PASSPHRASE }), /^Active/);
    await until(async () => (await readStorage(h)).txState && Object.values((await readStorage(h)).txState)[0]?.read >= 100, {
      timeout: 30_000, message: 'the first page stored',
    });
    await stopServiceWorker(h);
    mock.setLatency(0);
    const stopped = await readStorage(h);
    const [state] = Object.values(stopped.txState);
    assert.equal(state.caughtUp, false, 'stopped mid-import');
    const pagesBefore = mock.ledgerRequests().length;

    // The next refresh wakes the worker, and the import resumes where its cursor says.
    const popup = await openPopup(h);
    await clickRefresh(popup);
    await waitIdle(popup);
    await until(async () => Object.values((await readStorage(h)).txState)[0]?.caughtUp === true, { timeout: 60_000, message: 'caught up' });
    const stored = await readStorage(h);
    const all = ids(stored);
    assert.equal(all.length, 250, 'every row once');
    assert.equal(new Set(all).size, 250);
    const resumed = mock.ledgerRequests().slice(pagesBefore);
    assert.ok(resumed.length >= 1 && resumed.length <= 3, `${resumed.length} pages after the restart`);
    assert.match(resumed[0].path, /marker=r(99|199)\b/, 'the first request after the restart continues from the last row stored');
    await popup.close();
    await options.close();
  });

  test('a later sync asks only for what is new', async () => {
    const more = [...rows, row('r250', 'funding', '2024-02-01T00:00:00.000+00:00', [['mxn', '1.00']]), row('r251', 'funding', '2024-02-01T01:00:00.000+00:00', [['mxn', '1.00']])];
    mock.setAccount(RESUMER.apiKey, { secret: RESUMER.secret, balances: RESUMER.balances, ledger: more });
    // As if the last look were more than ten minutes ago.
    await inWorker(h, async () => {
      const { txState } = await chrome.storage.local.get('txState');
      for (const state of Object.values(txState)) state.importedAt -= 11 * 60_000;
      await chrome.storage.local.set({ txState });
    });
    const before = mock.ledgerRequests().length;
    const popup = await openPopup(h);
    await clickRefresh(popup);
    await waitIdle(popup);
    await until(async () => ids(await readStorage(h)).length === 252, { timeout: 30_000, message: 'the two new rows' });
    const asked = mock.ledgerRequests().slice(before);
    assert.equal(asked.length, 1, `one page: ${asked.map((request) => request.path).join(' ')}`);
    assert.match(asked[0].path, /marker=r249\b/, 'from the last row read');
    await popup.close();
  });
});
