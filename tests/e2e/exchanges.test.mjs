// One portfolio across Bitso, Kraken, Binance and Bitfinex, in Chromium with the shipped build:
// one account per exchange added through the options page, the popup's total checked against an
// independent valuation of every mock's books, each exchange's errors shown for its own account
// while the others update, the warning for a key that can withdraw, and the Bitso price bridge for
// a Kraken-only portfolio valued in pesos.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { EXCHANGE_IDS } from '../../extension/shared/core-constants.js';
import { refreshed } from './exchange-errors.mjs';
import { digitsOf, expectedAcross, Q } from './expected.mjs';
import { holdingsOf as heldBy, startExchanges } from './exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertErrorText, assertOnlyAllowedHosts, clickRefresh, english, launch, makeProfileDir, openOptions,
  openPopup, readStorage, removeProfileDir, screenshot, uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import * as binance from './mocks/binance.mjs';
import * as bitfinex from './mocks/bitfinex.mjs';
import * as kraken from './mocks/kraken.mjs';

const BITSO = { ...ACCOUNT_A, exchange: 'bitso' };
const KRAKEN = { ...kraken.SAMPLE_ACCOUNT, exchange: 'kraken' };
const BINANCE = { ...binance.SAMPLE_ACCOUNT, exchange: 'binance' };
const BITFINEX = { ...bitfinex.SAMPLE_ACCOUNT, exchange: 'bitfinex' };
// A Binance key with withdrawal rights, for the read-only warning.
const RISKY = { ...binance.SAMPLE_ACCOUNT, label: 'Binance (withdraw)', apiKey: 'FAKEbinanceWithdrawKey0000000000000000000000000000000000000000', canWithdraw: true, exchange: 'binance' };

const holdingsOf = (accounts) => accounts.map(heldBy);

/** The stored snapshot and the popup's #total agree with the independent valuation. */
/** Clicks Refresh and waits for the snapshot it writes; returns the one before and the new one. */
async function assertTotal(h, popup, expected) {
  const { snapshot } = await readStorage(h, 'local', 'snapshot');
  const diff = Q.parse(snapshot.total).add(new Q(-expected.total.n, expected.total.d));
  const abs = new Q(diff.n < 0n ? -diff.n : diff.n, diff.d);
  assert.ok(abs.cmp(new Q(1n, 10n ** 12n)) <= 0, `snapshot.total ${snapshot.total} vs expected ${expected.total.toFixed(18)}`);
  await popup.waitForFunction(
    (digits) => (document.querySelector('#total')?.textContent ?? '').replace(/[^0-9]/g, '') === digits,
    digitsOf(expected.total.toFixed(2)),
    { timeout: 10_000 },
  ).catch(() => {});
  assert.equal(digitsOf(await popup.locator('#total').textContent()), digitsOf(expected.total.toFixed(2)), '#total');
  const rows = await popup.locator('#assets [data-asset]').evaluateAll((els) => els.map((e) => e.dataset.asset));
  assert.deepEqual([...rows].sort(), expected.assets.map((a) => a.asset).sort(), 'one row per priced asset');
  const unpriced = await popup.locator('#unpriced [data-asset]').evaluateAll((els) => els.map((e) => e.dataset.asset));
  assert.deepEqual([...unpriced].sort(), expected.unpriced, 'unpriced assets');
  return snapshot;
}

describe('four exchanges in one portfolio', { timeout: 400_000 }, () => {
  let ex;
  let h;
  let popup;
  const profileDir = makeProfileDir();
  const ids = {};

  before(async () => {
    ex = await startExchanges({
      bitso: { accounts: { [BITSO.apiKey]: { secret: BITSO.secret, balances: BITSO.balances } } },
      kraken: { accounts: { [KRAKEN.apiKey]: KRAKEN } },
      binance: { accounts: { [BINANCE.apiKey]: BINANCE, [RISKY.apiKey]: RISKY } },
      bitfinex: { accounts: { [BITFINEX.apiKey]: BITFINEX } },
    });
    h = await launch({ profileDir, server: ex.server });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('one account per exchange reaches Active through the options page', async () => {
    const options = await openOptions(h);
    const chooser = options.getByLabel('Exchange', { exact: true });
    const offered = await chooser.locator('option').allTextContents();
    for (const name of EXCHANGE_IDS.map((id) => english(`exchange_${id}`))) assert.ok(offered.includes(name), `${name} is offered`);
    for (const account of [BITSO, KRAKEN, BINANCE, BITFINEX]) {
      const status = await addAccount(options, { ...account, passphrase: PASSPHRASE });
      assert.match(status, /^Active/, `${account.exchange}: ${status}`);
    }
    const { accounts } = await readStorage(h, 'local', 'accounts');
    assert.deepEqual(accounts.map((a) => a.exchange), ['bitso', 'kraken', 'binance', 'bitfinex']);
    for (const account of accounts) ids[account.exchange] = account.id;
    // Binance and Bitfinex say what a key may do; Bitso and Kraken cannot.
    const badge = async (exchange) => (await options.locator(`[data-account-id="${ids[exchange]}"] .scope`).textContent()).trim();
    assert.equal(await badge('bitso'), 'Permissions not checked');
    assert.equal(await badge('kraken'), 'Permissions not checked');
    assert.equal(await badge('binance'), 'Read-only key');
    assert.equal(await badge('bitfinex'), 'Read-only key');
    // The guide follows the chosen exchange.
    await chooser.selectOption('kraken');
    await options.getByText('Turn on “Query Funds” (under Funds permissions), then “Query Ledger Entries” for your transaction history, and nothing else.').waitFor();
    await options.close();
  });

  test('the popup values every account with one price per asset', async () => {
    popup = await openPopup(h);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 4, { message: 'a snapshot of four accounts', timeout: 30_000 });
    await waitIdle(popup);
    await clickRefresh(popup);
    const expected = expectedAcross(holdingsOf([BITSO, KRAKEN, BINANCE, BITFINEX]), ex.books(), 'mxn');
    const snapshot = await assertTotal(h, popup, expected);
    for (const account of snapshot.accounts) assert.equal(account.error, null, `${account.exchange} updated`);
    // The same BTC on four exchanges is one row at one price.
    const btc = snapshot.assets.find((a) => a.asset === 'btc');
    const wanted = expected.assets.find((a) => a.asset === 'btc');
    assert.equal(Q.parse(btc.total).cmp(wanted.amount), 0, 'btc adds up across accounts');
    // By account: each account with its exchange.
    const breakdown = await popup.locator('#account-totals li').allTextContents();
    for (const name of ['Bitso', 'Kraken', 'Binance', 'Bitfinex']) assert.ok(breakdown.some((t) => t.includes(name)), name);
    await screenshot(popup, 'popup.png');
  });

  const FAILURES = [
    { exchange: 'kraken', fault: 'error:invalid-key', code: 'invalid_credentials' },
    { exchange: 'kraken', fault: 'error:invalid-nonce', code: 'nonce_rejected' },
    { exchange: 'kraken', fault: 'error:permission-denied', code: 'missing_permission' },
    { exchange: 'binance', fault: 'error:-2015', code: 'key_permission_or_ip' },
    { exchange: 'binance', fault: 'error:-1021', code: 'clock_skew' },
    { exchange: 'binance', fault: 'geo', code: 'location_restricted' },
    { exchange: 'binance', fault: 'rate-limit', code: 'rate_limited' },
    { exchange: 'bitfinex', fault: 'error:credentials', code: 'invalid_credentials' },
    { exchange: 'bitfinex', fault: 'error:permission', code: 'missing_permission' },
    { exchange: 'bitfinex', fault: 'error:maintenance', code: 'exchange_unavailable' },
    { exchange: 'bitso', fault: 'error:0202', code: 'missing_permission' },
  ];
  const keyOf = { bitso: BITSO.apiKey, kraken: KRAKEN.apiKey, binance: BINANCE.apiKey, bitfinex: BITFINEX.apiKey };

  for (const failure of FAILURES) {
    test(`${failure.exchange} ${failure.fault}: its account keeps its last balances with its own message`, async () => {
      ex.mocks[failure.exchange].setFault(keyOf[failure.exchange], failure.fault);
      try {
        const { before, snapshot } = await refreshed(h, popup);
        const failed = snapshot.accounts.find((a) => a.id === ids[failure.exchange]);
        assert.equal(failed.error?.code, failure.code);
        assert.equal(failed.error?.exchange, failure.exchange);
        assert.equal(failed.syncedAt, before.accounts.find((a) => a.id === failed.id).syncedAt, 'not synced now');
        for (const other of snapshot.accounts.filter((a) => a.id !== failed.id)) {
          assert.equal(other.error, null, `${other.exchange} still updates`);
          assert.equal(other.syncedAt, snapshot.updatedAt);
        }
        assert.equal(snapshot.total, before.total, 'the last balances still count (prices unchanged)');
        // The popup names the account, its exchange and the exchange's own advice.
        const box = popup.locator('#error');
        await box.waitFor({ state: 'visible' });
        const text = (await box.textContent()).trim();
        const label = (await readStorage(h, 'local', 'accounts')).accounts.find((a) => a.id === failed.id).label;
        const prefix = `${label} (${english(`exchange_${failure.exchange}`)}): `;
        assert.ok(text.startsWith(prefix), `${text} starts with ${prefix}`);
        assertErrorText(text.slice(prefix.length), failed.error, `${failure.exchange} ${failure.code}`);
        assert.ok(await popup.locator('#stale').isVisible(), 'marked as not up to date');
      } finally {
        ex.mocks[failure.exchange].clearFaults();
      }
      // A rate limit blocks only its exchange, until its (capped) time.
      if (failure.code === 'rate_limited') {
        const { lockouts } = await readStorage(h, 'local', 'lockouts');
        assert.ok(lockouts.binance > Date.now() && lockouts.binance - Date.now() <= 15 * 60_000, JSON.stringify(lockouts));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, lockouts.binance - Date.now() + 200)));
      }
      await clickRefresh(popup);
      await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot.accounts.every((a) => a.error === null), {
        message: 'every account recovers', timeout: 20_000,
      });
    });
  }

  test('a computer clock 30 s ahead of Binance\'s still reads Binance, on Binance\'s time', async () => {
    const sentBefore = ex.mocks.binance.requests.length;
    ex.mocks.binance.setClockOffset(-30_000);
    try {
      const { snapshot } = await refreshed(h, popup);
      const account = snapshot.accounts.find((a) => a.id === ids.binance);
      assert.equal(account.error, null);
      assert.equal(account.syncedAt, snapshot.updatedAt, 'synced now');
      const paths = ex.mocks.binance.requests.slice(sentBefore).map((r) => r.path);
      assert.equal(paths.filter((path) => path === '/api/v3/time').length, 1, `the time, once: ${paths.join(' ')}`);
    } finally {
      ex.mocks.binance.setClockOffset(0);
    }
  });

  test('a key that can withdraw is saved only after a clear warning, and stays marked', async () => {
    const options = await openOptions(h);
    await options.getByLabel('Exchange', { exact: true }).selectOption('binance');
    await options.fill('#label', RISKY.label);
    await options.getByLabel('API key', { exact: true }).fill(RISKY.apiKey);
    await options.getByLabel('API secret', { exact: true }).fill(RISKY.secret);
    await options.getByRole('button', { name: 'Test connection' }).click();
    const warning = options.locator('#scope-warning');
    await warning.waitFor({ state: 'visible' });
    assert.match(await warning.textContent(), /^This key can withdraw funds\. Cartera only needs to view balances: create a view-only key and replace this one\./);
    // Save without confirming: refused with the warning, nothing stored.
    const before = (await readStorage(h, 'local', 'accounts')).accounts.length;
    await options.fill('#passphrase', PASSPHRASE);
    await options.getByRole('button', { name: 'Save anyway' }).click();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts.length === before + 1, { message: 'saved after Save anyway', timeout: 20_000 });
    const { accounts } = await readStorage(h, 'local', 'accounts');
    const saved = accounts.at(-1);
    assert.deepEqual(saved.scope, { trade: false, withdraw: true, transfer: false, readOnly: false });
    await options.locator(`[data-account-id="${saved.id}"] .scope`).getByText('Not read-only').waitFor();
    await options.locator(`[data-account-id="${saved.id}"] .delete`).click();
    await options.locator('#dialog-confirm').click();
    await options.locator(`[data-account-id="${saved.id}"]`).waitFor({ state: 'detached' });
    await options.close();
  });

  test('Save without testing first asks before keeping a key that can withdraw', async () => {
    const options = await openOptions(h);
    const status = await addAccount(options, { ...RISKY, passphrase: PASSPHRASE });
    assert.equal(status, '', 'no success status');
    assert.ok(await options.locator('#scope-warning').isVisible(), 'the warning shows');
    assert.equal(await options.getByRole('button', { name: 'Save anyway' }).count(), 1);
    const { accounts } = await readStorage(h, 'local', 'accounts');
    assert.ok(!accounts.some((a) => a.label === RISKY.label), 'nothing saved yet');
    await options.close();
  });

  test('every signed request carried a valid signature; only the exchanges were contacted', () => {
    for (const [id, mock] of Object.entries(ex.mocks)) {
      const signed = mock.requests.filter((r) => r.authorized !== null && r.authorized !== undefined && r.authorized !== 'unexpected-signature');
      assert.ok(signed.length > 0, `${id} saw signed requests`);
      assert.ok(signed.every((r) => r.authorized === true), `${id}: every signature checked out`);
    }
    assertOnlyAllowedHosts(h);
    assert.deepEqual(uncaughtErrors(h).map((m) => m.text.split('\n')[0]), []);
  });
});

describe('a Kraken-only portfolio valued in pesos', { timeout: 120_000 }, () => {
  let ex;
  let h;
  const profileDir = makeProfileDir();

  before(async () => {
    ex = await startExchanges({ kraken: { accounts: { [KRAKEN.apiKey]: KRAKEN } }, bitso: {} });
    h = await launch({ profileDir, server: ex.server });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('Bitso\'s public prices bridge to MXN, and the popup says so', async () => {
    const options = await openOptions(h);
    assert.match(await addAccount(options, { ...KRAKEN, passphrase: PASSPHRASE }), /^Active/);
    const popup = await openPopup(h);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot, { message: 'a snapshot', timeout: 30_000 });
    await waitIdle(popup);
    const expected = expectedAcross(holdingsOf([KRAKEN]), [...ex.mocks.kraken.books(), ...ex.mocks.bitso.books()], 'mxn');
    const snapshot = await assertTotal(h, popup, expected);
    assert.deepEqual(snapshot.bridges, ['bitso']);
    assert.equal((await popup.locator('#bridge-note').textContent()).trim(), 'MXN via Bitso prices');
    // No signed request ever went to Bitso: only its public tickers.
    assert.ok(ex.mocks.bitso.requests.length > 0 && ex.mocks.bitso.requests.every((r) => /\/ticker/.test(r.path) && r.apiKey === null));
  });
});
