// OKX and KuCoin in Chromium with the shipped build: keys that come with a passphrase of their
// own (each exchange's "Passphrase") typed under "API passphrase", every request signed on the
// exchange's clock (two minutes off the computer's) and checked by its stand-in with
// node:crypto, the passphrase too; the total beside a Bitso account against an independent
// valuation; each error kind with its message and the last total kept; a key that can trade
// warned about; and the API passphrase nowhere but sealed in the vault.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { refreshed, errorKindTests } from './exchange-errors.mjs';
import { digitsOf, expectedAcross } from './expected.mjs';
import { startExchanges } from './exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertOnlyAllowedHosts, dumpStorage, english, launch, makeProfileDir, openOptions, openPopup, readStorage,
  removeProfileDir, uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import * as kucoin from './mocks/kucoin.mjs';
import * as okx from './mocks/okx.mjs';

const EXCHANGES = [
  // OKX's holdings flow signs three requests (trading, funding, savings) and its audit one.
  { id: 'okx', mock: okx, signedAtLeast: 4 },
  // KuCoin signs one for the holdings and one for the audit, and says which key version it signs.
  { id: 'kucoin', mock: kucoin, signedAtLeast: 2, checked: (request) => request.version === true },
];

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

const bitsoHoldings = Object.fromEntries(ACCOUNT_A.balances.map((b) => [b.currency, b.total]));

for (const { id, mock, signedAtLeast, checked = () => true } of EXCHANGES) {
  const name = english(`exchange_${id}`);
  const A = mock.SAMPLE_ACCOUNT;
  const TRADER = mock.TRADING_ACCOUNT;

  describe(name, { timeout: 400_000 }, () => {
    let ex;
    let h;
    let options;
    let popup;
    const profileDir = makeProfileDir();

    before(async () => {
      ex = await startExchanges({
        bitso: { accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } },
        [id]: { accounts: { [A.apiKey]: A, [TRADER.apiKey]: TRADER }, clockOffsetMs: 120_000 },
      });
      h = await launch({ profileDir, server: ex.server });
      options = await openOptions(h);
    });

    after(async () => {
      await h?.close().catch(() => {});
      await ex?.close();
      removeProfileDir(profileDir);
    });

    test(`the chooser offers ${name}, which asks for its API passphrase under its own word`, async () => {
      const chooser = options.getByLabel('Exchange', { exact: true });
      assert.ok((await chooser.locator('option').allTextContents()).includes(name));
      assert.equal(await options.getByLabel('API passphrase', { exact: true }).isVisible(), false, 'Bitso has none');
      await chooser.selectOption(id);
      const field = options.getByLabel('API passphrase', { exact: true });
      assert.ok(await field.isVisible());
      assert.deepEqual(await field.evaluate((el) => ({ type: el.type, autocomplete: el.getAttribute('autocomplete') })), { type: 'password', autocomplete: 'off' });
      assert.equal(await options.locator('#api-passphrase-help').textContent(), english(`apiPassphraseHelp_${id}`));
      // Cartera's own passphrase keeps its name.
      assert.ok(await options.getByLabel(english('newPassphraseLabel'), { exact: true }).isVisible());
    });

    test('a key pasted without its API passphrase is not sent, and the message names all three fields', async () => {
      await options.getByLabel('API key', { exact: true }).fill(A.apiKey);
      await options.getByLabel('API secret', { exact: true }).fill(A.secret);
      await options.getByLabel('API passphrase', { exact: true }).fill('');
      const before = ex.mocks[id].privateRequests().length;
      await options.locator('#test-connection').click();
      await until(async () => (await options.locator('#connection-status').textContent()).trim() === english('credentialsMissingWithPassphrase'), {
        message: 'the missing passphrase named',
      });
      assert.equal(await options.getByLabel('API passphrase', { exact: true }).getAttribute('aria-invalid'), 'true');
      assert.equal(ex.mocks[id].privateRequests().length, before, 'nothing signed');
    });

    test(`a read-only key and its passphrase reach Active, signed on ${name}'s clock`, async () => {
      const status = await addAccount(options, { exchange: id, label: A.label, apiKey: A.apiKey, secret: A.secret, apiPassphrase: A.apiPassphrase, passphrase: PASSPHRASE });
      assert.match(status, /^Active/, status);
      assert.equal(await options.getByLabel('API passphrase', { exact: true }).inputValue(), '', 'cleared after use');
      const [account] = (await readStorage(h, 'local', 'accounts')).accounts;
      assert.equal(account.exchange, id);
      assert.equal(account.scope.readOnly, true);
      const requests = ex.mocks[id].privateRequests();
      assert.ok(requests.length >= signedAtLeast, `${requests.length} signed requests`);
      assert.ok(requests.every((r) => r.authorized === true && r.passphrase === true), JSON.stringify(requests.map((r) => r.error)));
      assert.ok(requests.every(checked), 'every request as the exchange asks');
    });

    test(`${name} beside Bitso adds up to the independent valuation`, async () => {
      assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
      popup = await openPopup(h);
      await waitIdle(popup);
      await refreshed(h, popup);
      await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 2, { message: 'two accounts', timeout: 30_000 });
      const expected = expectedAcross([mock.expectedHoldings(A), bitsoHoldings], ex.books(), 'mxn');
      await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(expected.total.toFixed(2)), {
        message: `total ${expected.total.toFixed(2)}`, timeout: 20_000,
      });
    });

    errorKindTests({ exchange: id, label: A.label, apiKey: A.apiKey, failures: FAILURES, context: () => ({ ex, h, popup }) });

    test('a key that can trade is warned about, and kept only on request as not read-only', async () => {
      const page = await openOptions(h);
      await page.getByLabel('Exchange', { exact: true }).selectOption(id);
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
}
