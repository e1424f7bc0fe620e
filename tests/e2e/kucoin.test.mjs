// KuCoin in Chromium with the shipped build: a key with its own passphrase (KuCoin's "Passphrase")
// typed under "API passphrase", every request signed on KuCoin's clock (two minutes off the
// computer's) and checked by the stand-in with node:crypto, the total beside a Bitso account
// against an independent valuation, each error kind with its message and the last total kept, a
// key that can trade warned about, and the API passphrase nowhere but sealed in the vault.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { digitsOf, expectedAcross } from './expected.mjs';
import { startExchanges } from './exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertErrorText, assertOnlyAllowedHosts, clickRefresh, dumpStorage, english, launch, makeProfileDir, openOptions,
  openPopup, readStorage, removeProfileDir, uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import * as kucoin from './mocks/kucoin.mjs';

const A = kucoin.SAMPLE_ACCOUNT;
const TRADER = kucoin.TRADING_ACCOUNT;
const bitsoHoldings = Object.fromEntries(ACCOUNT_A.balances.map((b) => [b.currency, b.total]));

async function refreshed(h, popup) {
  const { snapshot: before } = await readStorage(h, 'local', 'snapshot');
  await clickRefresh(popup);
  const { snapshot } = await until(async () => {
    const stored = await readStorage(h, 'local', 'snapshot');
    return stored.snapshot?.updatedAt > before.updatedAt ? stored : null;
  }, { message: 'a newer snapshot' });
  return { before, snapshot };
}

describe('KuCoin', { timeout: 400_000 }, () => {
  let ex;
  let h;
  let options;
  let popup;
  const profileDir = makeProfileDir();

  before(async () => {
    ex = await startExchanges({
      bitso: { accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } },
      kucoin: { accounts: { [A.apiKey]: A, [TRADER.apiKey]: TRADER }, clockOffsetMs: 120_000 },
    });
    h = await launch({ profileDir, server: ex.server });
    options = await openOptions(h);
  });

  after(async () => {
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('the chooser offers KuCoin, which asks for its API passphrase under its own word', async () => {
    const chooser = options.getByLabel('Exchange', { exact: true });
    assert.ok((await chooser.locator('option').allTextContents()).includes('KuCoin'));
    assert.equal(await options.getByLabel('API passphrase', { exact: true }).isVisible(), false, 'Bitso has none');
    await chooser.selectOption('kucoin');
    const field = options.getByLabel('API passphrase', { exact: true });
    assert.ok(await field.isVisible());
    assert.deepEqual(await field.evaluate((el) => ({ type: el.type, autocomplete: el.getAttribute('autocomplete') })), { type: 'password', autocomplete: 'off' });
    assert.equal(await options.locator('#api-passphrase-help').textContent(), english('apiPassphraseHelp_kucoin'));
    // Cartera's own passphrase keeps its name.
    assert.ok(await options.getByLabel(english('newPassphraseLabel'), { exact: true }).isVisible());
  });

  test('a read-only key and its passphrase reach Active, signed on KuCoin\'s clock', async () => {
    const status = await addAccount(options, { exchange: 'kucoin', label: A.label, apiKey: A.apiKey, secret: A.secret, apiPassphrase: A.apiPassphrase, passphrase: PASSPHRASE });
    assert.match(status, /^Active/, status);
    assert.equal(await options.getByLabel('API passphrase', { exact: true }).inputValue(), '', 'cleared after use');
    const [account] = (await readStorage(h, 'local', 'accounts')).accounts;
    assert.equal(account.exchange, 'kucoin');
    assert.equal(account.scope.readOnly, true);
    const requests = ex.mocks.kucoin.privateRequests();
    assert.ok(requests.length >= 2, `${requests.length} signed requests`);
    assert.ok(requests.every((r) => r.authorized === true && r.passphrase === true), JSON.stringify(requests.map((r) => r.error)));
    assert.ok(requests.every((r) => r.version === true), 'key version 2');
  });

  test('KuCoin beside Bitso adds up to the independent valuation', async () => {
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    popup = await openPopup(h);
    await waitIdle(popup);
    await clickRefresh(popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 2, { message: 'two accounts', timeout: 30_000 });
    const expected = expectedAcross([kucoin.expectedHoldings(A), bitsoHoldings], ex.books(), 'mxn');
    await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(expected.total.toFixed(2)), {
      message: `total ${expected.total.toFixed(2)}`, timeout: 20_000,
    });
  });

  const FAILURES = [
    ['error:credentials', 'invalid_credentials'],
    ['error:signature', 'invalid_credentials'],
    ['error:passphrase', 'api_passphrase_rejected'],
    ['error:timestamp', 'clock_skew'],
    ['error:permission', 'missing_permission'],
    ['error:ip', 'ip_not_allowed'],
    ['error:ratelimit', 'rate_limited'],
    ['error:maintenance', 'exchange_unavailable'],
    ['malformed', 'malformed_response'],
  ];
  for (const [fault, code] of FAILURES) {
    test(`${fault}: the account keeps its last balances with its own message`, async () => {
      const { snapshot: was } = await readStorage(h, 'local', 'snapshot');
      const id = was.accounts.find((a) => a.exchange === 'kucoin').id;
      ex.mocks.kucoin.setFault(A.apiKey, fault);
      try {
        const { before, snapshot } = await refreshed(h, popup);
        const failed = snapshot.accounts.find((a) => a.id === id);
        assert.equal(failed.error?.code, code);
        assert.equal(failed.error?.exchange, 'kucoin');
        assert.equal(snapshot.total, before.total, 'the last total is kept');
        const box = popup.locator('#error');
        await box.waitFor({ state: 'visible' });
        const text = (await box.textContent()).trim();
        const prefix = `${A.label} (KuCoin): `;
        assert.ok(text.startsWith(prefix), `${text} starts with ${prefix}`);
        assertErrorText(text.slice(prefix.length), failed.error, `kucoin ${code}`);
      } finally {
        ex.mocks.kucoin.clearFaults();
      }
      if (code === 'rate_limited') {
        const { lockouts } = await readStorage(h, 'local', 'lockouts');
        assert.ok(lockouts.kucoin > Date.now() && lockouts.kucoin - Date.now() <= 15 * 60_000, JSON.stringify(lockouts));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, lockouts.kucoin - Date.now() + 200)));
      }
      await clickRefresh(popup);
      await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot.accounts.every((a) => a.error === null), {
        message: 'the account recovers', timeout: 20_000,
      });
    });
  }

  test('a key that can trade is warned about, and kept only on request as not read-only', async () => {
    const page = await openOptions(h);
    await page.getByLabel('Exchange', { exact: true }).selectOption('kucoin');
    await page.locator('#label').fill(TRADER.label);
    await page.locator('#api-key').fill(TRADER.apiKey);
    await page.locator('#api-secret').fill(TRADER.secret);
    await page.getByLabel('API passphrase', { exact: true }).fill(TRADER.apiPassphrase);
    await page.locator('#passphrase').fill(PASSPHRASE);
    await page.locator('#save-account').click();
    await page.locator('#scope-warning').waitFor({ state: 'visible' });
    assert.match(await page.locator('#scope-warning').textContent(), /trade/i);
    await page.locator('#passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Save anyway' }).click();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts?.length === 3, { message: 'the trading key kept', timeout: 30_000 });
    const trader = (await readStorage(h, 'local', 'accounts')).accounts.find((a) => a.label === TRADER.label);
    assert.equal(trader.scope.readOnly, false);
    assert.equal(trader.scope.trade, true);
    await page.close();
  });

  test('the API passphrase and secret are nowhere in storage; only exchange hosts', async () => {
    const storage = JSON.stringify(await dumpStorage(h));
    for (const secret of [A.apiPassphrase, A.secret]) assert.ok(!storage.includes(secret), 'a secret in storage');
    assertOnlyAllowedHosts(h);
    assert.deepEqual(uncaughtErrors(h), []);
  });
});
