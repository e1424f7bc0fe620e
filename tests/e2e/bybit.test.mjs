// Bybit in Chromium with the shipped build, against its stand-in on api.bybit.com: an account
// added through the options page reaches Active as a read-only key, the popup's total equals an
// independent valuation, each error kind shows its message while the last total is kept, a
// computer clock ahead of Bybit's is corrected, and a key that can trade is kept only after the
// warning.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { refreshed } from './exchange-errors.mjs';
import { digitsOf, expectedAcross, Q } from './expected.mjs';
import { startExchanges } from './exchanges.mjs';
import { PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertErrorText, assertOnlyAllowedHosts, clickRefresh, english, launch, makeProfileDir, openOptions,
  openPopup, readStorage, removeProfileDir, uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import * as bybit from './mocks/bybit.mjs';

const BYBIT = { ...bybit.SAMPLE_ACCOUNT, exchange: 'bybit' };
// A read-write key that can trade and withdraw, for the warning.
const TRADING = {
  ...bybit.SAMPLE_ACCOUNT, label: 'Bybit (read-write)', apiKey: 'CarteraMockBybit02', readOnly: 0,
  permissions: bybit.TRADING_PERMISSIONS, exchange: 'bybit',
};

describe('Bybit', { timeout: 300_000 }, () => {
  let ex;
  let h;
  let popup;
  let id;
  const profileDir = makeProfileDir();

  before(async () => {
    ex = await startExchanges({ bybit: { accounts: { [BYBIT.apiKey]: BYBIT, [TRADING.apiKey]: TRADING } }, bitso: {} });
    h = await launch({ profileDir, server: ex.server });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('a read-only key reaches Active through the options page, and its guide shows', async () => {
    const options = await openOptions(h);
    const chooser = options.getByLabel('Exchange', { exact: true });
    assert.ok((await chooser.locator('option').allTextContents()).includes('Bybit'), 'Bybit is offered');
    await chooser.selectOption('bybit');
    await options.getByText(english('guide_bybit_2')).waitFor();
    assert.match(await addAccount(options, { ...BYBIT, passphrase: PASSPHRASE }), /^Active/);
    const { accounts } = await readStorage(h, 'local', 'accounts');
    id = accounts.find((a) => a.exchange === 'bybit').id;
    assert.equal((await options.locator(`[data-account-id="${id}"] .scope`).textContent()).trim(), 'Read-only key');
    await options.close();
  });

  test('the popup total equals an independent valuation', async () => {
    popup = await openPopup(h);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 1, { message: 'a snapshot', timeout: 30_000 });
    await waitIdle(popup);
    await clickRefresh(popup);
    await waitIdle(popup);
    const expected = expectedAcross([bybit.expectedHoldings(BYBIT)], [...ex.mocks.bybit.books(), ...ex.mocks.bitso.books()], 'mxn');
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    const diff = Q.parse(snapshot.total).add(new Q(-expected.total.n, expected.total.d));
    assert.ok(new Q(diff.n < 0n ? -diff.n : diff.n, diff.d).cmp(new Q(1n, 10n ** 12n)) <= 0, `${snapshot.total} vs ${expected.total.toFixed(18)}`);
    assert.equal(digitsOf(await popup.locator('#total').textContent()), digitsOf(expected.total.toFixed(2)), '#total');
    assert.equal(snapshot.accounts[0].error, null);
  });

  test('a key that can trade is kept only after the warning, and stays marked', async () => {
    const options = await openOptions(h);
    await options.getByLabel('Exchange', { exact: true }).selectOption('bybit');
    await options.fill('#label', TRADING.label);
    await options.getByLabel('API key', { exact: true }).fill(TRADING.apiKey);
    await options.getByLabel('API secret', { exact: true }).fill(TRADING.secret);
    await options.getByRole('button', { name: 'Test connection' }).click();
    await options.locator('#scope-warning').waitFor({ state: 'visible' });
    const before = (await readStorage(h, 'local', 'accounts')).accounts.length;
    await options.fill('#passphrase', PASSPHRASE);
    await options.getByRole('button', { name: 'Save anyway' }).click();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts.length === before + 1, { message: 'saved after Save anyway', timeout: 20_000 });
    const saved = (await readStorage(h, 'local', 'accounts')).accounts.at(-1);
    assert.deepEqual(saved.scope, { trade: true, withdraw: true, transfer: true, readOnly: false });
    await options.locator(`[data-account-id="${saved.id}"] .scope`).getByText('Not read-only').waitFor();
    // Removed again, so the error tests below see the one read-only account.
    await options.locator(`[data-account-id="${saved.id}"] .delete`).click();
    await options.locator('#dialog-confirm').click();
    await options.locator(`[data-account-id="${saved.id}"]`).waitFor({ state: 'detached' });
    await options.close();
    // A deletion drops the stored totals until the refresh it starts has run.
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 1, {
      message: 'the snapshot of the one account again', timeout: 30_000,
    });
    await waitIdle(popup);
  });

  // Every kind of error: the stored total and the one shown stay as they were. The 10-minute IP
  // lockout comes last, as nothing is sent to Bybit while it lasts.
  const FAILURES = [
    { fault: 'error:10003', code: 'invalid_credentials' },
    { fault: 'error:10004', code: 'invalid_credentials' },
    { fault: 'error:33004', code: 'key_inactive' },
    { fault: 'error:10002', code: 'clock_skew' },
    { fault: 'error:10005', code: 'missing_permission' },
    { fault: 'error:10010', code: 'ip_not_allowed' },
    { fault: 'error:10008', code: 'account_restricted' },
    { fault: 'error:10016', code: 'exchange_unavailable' },
    { fault: 'http:503', code: 'exchange_unavailable' },
    { fault: 'geo', code: 'location_restricted' },
    { fault: 'malformed', code: 'malformed_response' },
    { fault: 'error:10006', code: 'rate_limited', waitMs: 10_000 },
    { fault: 'ip-limit', code: 'rate_limited', waitMs: 10 * 60_000, last: true },
  ];

  for (const failure of FAILURES) {
    test(`${failure.fault}: ${failure.code}, with the last total kept`, async () => {
      const { snapshot: before } = await readStorage(h, 'local', 'snapshot');
      const shown = (await popup.locator('#total').textContent()).trim();
      ex.mocks.bybit.setFault(BYBIT.apiKey, failure.fault);
      let lastError;
      try {
        await popup.click('#refresh');
        await waitIdle(popup, 25_000);
        ({ lastError } = await until(async () => {
          const stored = await readStorage(h, 'local', 'lastError');
          return stored.lastError ? stored : null;
        }, { message: 'lastError in storage', timeout: 5_000 }));
        assert.equal(lastError.code, failure.code);
        assert.equal(lastError.exchange, 'bybit');
        const box = popup.locator('#error');
        await box.waitFor({ state: 'visible' });
        assertErrorText(await box.textContent(), lastError, failure.code);
        const { snapshot } = await readStorage(h, 'local', 'snapshot');
        assert.equal(snapshot.total, before.total, 'stored total unchanged');
        assert.equal((await popup.locator('#total').textContent()).trim(), shown, '#total unchanged');
      } finally {
        ex.mocks.bybit.clearFaults();
      }
      if (failure.waitMs) {
        const wait = lastError.retryAt - Date.now();
        assert.ok(wait > failure.waitMs - 60_000 && wait <= failure.waitMs, `retry in ${wait} ms`);
        if (failure.last) return;
        await new Promise((resolve) => setTimeout(resolve, wait + 200));
      }
      await clickRefresh(popup);
      await until(async () => (await readStorage(h, 'local', 'lastError')).lastError == null, { message: 'the account recovers', timeout: 20_000 });
    });

    if (failure.fault === 'error:10002') {
      test('a computer clock 30 s ahead of Bybit\'s still reads Bybit, on Bybit\'s time', async () => {
        const sentBefore = ex.mocks.bybit.requests.length;
        ex.mocks.bybit.setClockOffset(-30_000);
        try {
          const { snapshot } = await refreshed(h, popup);
          assert.equal(snapshot.accounts[0].error, null);
          const paths = ex.mocks.bybit.requests.slice(sentBefore).map((r) => r.path);
          assert.equal(paths.filter((path) => path === '/v5/market/time').length, 1, paths.join(' '));
        } finally {
          ex.mocks.bybit.setClockOffset(0);
        }
      });
    }
  }

  test('every signed request carried a valid signature; only the exchanges were contacted', () => {
    const signed = ex.mocks.bybit.signedRequests();
    assert.ok(signed.length > 0);
    assert.ok(signed.every((r) => r.authorized === true), 'every signature checked out');
    assertOnlyAllowedHosts(h);
    assert.deepEqual(uncaughtErrors(h).map((m) => m.text.split('\n')[0]), []);
  });
});
