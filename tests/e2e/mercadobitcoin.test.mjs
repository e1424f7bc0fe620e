// Mercado Bitcoin in Chromium with the shipped build, against its stand-in on
// api.mercadobitcoin.net: the key's id and secret go only in the body of POST /api/v4/authorize,
// every other request carries the token it returned (a new one each refresh), the balances of both
// of the user's accounts add up beside a Bitso account to an independent valuation, each error kind
// shows its message while the last total is kept, the account says "Permissions not checked" with
// the key guide's "Apenas Leitura", and neither the secret nor a token is ever stored.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { errorKindTests } from './exchange-errors.mjs';
import { digitsOf, expectedAcross } from './expected.mjs';
import { startExchanges } from './exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertOnlyAllowedHosts, clickRefresh, dumpStorage, english, launch, makeProfileDir, openOptions,
  openPopup, readStorage, removeProfileDir, sendMessage, uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import * as mercadobitcoin from './mocks/mercadobitcoin.mjs';

const A = mercadobitcoin.SAMPLE_ACCOUNT;
/** The sample key, its first account with a history to import. */
const WITH_HISTORY = { ...A, accounts: [{ ...A.accounts[0], history: mercadobitcoin.SAMPLE_HISTORY }, ...A.accounts.slice(1)] };
const bitsoHoldings = Object.fromEntries(ACCOUNT_A.balances.map((b) => [b.currency, b.total]));

describe('Mercado Bitcoin', { timeout: 400_000 }, () => {
  let ex;
  let h;
  let options;
  let popup;
  const profileDir = makeProfileDir();

  before(async () => {
    ex = await startExchanges({
      bitso: { accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } },
      mercadobitcoin: { accounts: { [A.apiKey]: WITH_HISTORY } },
    });
    h = await launch({ profileDir, server: ex.server });
    options = await openOptions(h);
  });

  after(async () => {
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('the chooser offers Mercado Bitcoin with its key guide, and no API passphrase', async () => {
    const chooser = options.getByLabel('Exchange', { exact: true });
    assert.ok((await chooser.locator('option').allTextContents()).includes('Mercado Bitcoin'));
    await chooser.selectOption('mercadobitcoin');
    await options.getByText(english('guide_mercadobitcoin_2')).waitFor();
    assert.equal(await options.getByLabel('API passphrase', { exact: true }).isVisible(), false);
    assert.ok(await options.getByLabel('API key', { exact: true }).isVisible());
    assert.ok(await options.getByLabel('API secret', { exact: true }).isVisible());
  });

  test('a key reaches Active; the secret goes only to /authorize, the token everywhere else', async () => {
    const status = await addAccount(options, { exchange: 'mercadobitcoin', label: A.label, apiKey: A.apiKey, secret: A.secret, passphrase: PASSPHRASE });
    assert.match(status, /^Active/, status);
    const [account] = (await readStorage(h, 'local', 'accounts')).accounts;
    assert.equal(account.exchange, 'mercadobitcoin');
    assert.equal(account.scope ?? null, null, 'Mercado Bitcoin cannot say what a key may do');
    const badge = (await options.locator(`[data-account-id="${account.id}"] .scope`).textContent()).trim();
    assert.equal(badge, english('scopeNotChecked'));
    const mb = ex.mocks.mercadobitcoin;
    const requests = mb.privateRequests();
    // Saving checks the key; the first refresh and the history pages go on under the same token
    // (valid for an hour here): the secret was sent once.
    const authorizations = requests.filter((r) => r.path === '/api/v4/authorize').length;
    assert.equal(authorizations, 1, 'authorized once');
    // A refresh and a history round each list the accounts, then ask each one's balances, three
    // account requests a second: counted at a moment no round is midway.
    await until(() => {
      const listings = mb.privateRequests().filter((r) => r.path === '/api/v4/accounts').length;
      const balances = mb.privateRequests().filter((r) => /\/balances$/.test(r.path)).length;
      return listings >= 1 && balances === A.accounts.length * listings;
    }, { message: 'each account\'s balances, every time', timeout: 20_000 });
    assert.ok(mb.requests.every((r) => r.error !== 'REQUEST_RATE_EXCEEDED'), 'no request over the key\'s limit');
    assert.ok(requests.every((r) => r.authorized === true), JSON.stringify(requests.map((r) => [r.path, r.error])));
    assert.deepEqual(mb.secretSeen, [], 'the secret went nowhere but the /authorize body');
  });

  test('the history is imported page by page: fills, deposits and withdrawals, each stored once', async () => {
    const [account] = (await readStorage(h, 'local', 'accounts')).accounts;
    const { txState } = await until(async () => {
      const stored = await readStorage(h, 'local', 'txState');
      return stored.txState?.[account.id]?.caughtUp ? stored : null;
    }, { message: 'the history caught up', timeout: 120_000 });
    assert.equal(txState[account.id].error, null);
    const stored = await readStorage(h, 'local');
    const ids = Object.entries(stored)
      .filter(([key]) => key.startsWith(`tx:${account.id}:`))
      .flatMap(([, text]) => JSON.parse(text).transactions.map((tx) => tx.id))
      .sort();
    const { deposits: [deposit], withdrawals: [withdrawal], fiatDeposits: [pix] } = mercadobitcoin.SAMPLE_HISTORY;
    assert.deepEqual(ids, [
      `deposit:BTC:${deposit.transaction_id}`, `fiat-deposit:${pix.id}`, 'fill:BTC-BRL:16', 'fill:BTC-BRL:17', `withdrawal:${withdrawal.id}`,
    ]);
    const mb = ex.mocks.mercadobitcoin;
    assert.ok(mb.historyRequests().length > 0);
    assert.ok(mb.requests.every((r) => r.error === null), JSON.stringify(mb.requests.filter((r) => r.error).map((r) => [r.path, r.error])));
    assert.deepEqual(mb.secretSeen, []);
  });

  test('Mercado Bitcoin beside Bitso adds up to the independent valuation; a refresh reuses the token', async () => {
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    popup = await openPopup(h);
    await waitIdle(popup);
    const authorizations = () => ex.mocks.mercadobitcoin.requests.filter((r) => r.path === '/api/v4/authorize').length;
    const before = authorizations();
    await clickRefresh(popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 2, { message: 'two accounts', timeout: 30_000 });
    const expected = expectedAcross([mercadobitcoin.expectedHoldings(A), bitsoHoldings], ex.books(), 'mxn');
    await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(expected.total.toFixed(2)), {
      message: `total ${expected.total.toFixed(2)}`, timeout: 20_000,
    });
    assert.equal(authorizations(), before, 'no new token: the secret stayed on the device');
    assert.deepEqual(ex.mocks.mercadobitcoin.secretSeen, []);
  });

  test('a token the exchange stops accepting is replaced in the same refresh; locking forgets it', async () => {
    const mb = ex.mocks.mercadobitcoin;
    const authorizations = () => mb.requests.filter((r) => r.path === '/api/v4/authorize').length;
    const refreshed = async () => {
      const before = (await readStorage(h, 'local', 'snapshot')).snapshot?.updatedAt;
      await clickRefresh(popup);
      await until(async () => {
        const { snapshot } = await readStorage(h, 'local', 'snapshot');
        return snapshot?.updatedAt !== before && snapshot?.accounts?.length === 2 && !snapshot.pricesOnly;
      }, { message: 'a new snapshot of both accounts', timeout: 30_000 });
    };
    mb.revokeTokens();
    let before = authorizations();
    const refused = mb.requests.length;
    await refreshed();
    assert.ok(authorizations() > before, 'authorized again');
    assert.ok(mb.requests.slice(refused).some((r) => r.authorized === false), 'the kept token was refused first');
    const [account] = (await readStorage(h, 'local', 'accounts')).accounts.filter((a) => a.exchange === 'mercadobitcoin');
    assert.equal(account.status, 'active', 'a refused token is no error of the account');

    before = authorizations();
    await sendMessage(popup, { type: 'lock' });
    await popup.reload();
    await popup.locator('#unlock-passphrase').fill(PASSPHRASE);
    await popup.locator('#unlock').click();
    await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    await waitIdle(popup);
    await refreshed();
    assert.ok(authorizations() > before, 'a lock ends the session: the key is authorized again');
    assert.deepEqual(mb.secretSeen, []);
  });

  const FAILURES = [
    ['error:credentials', 'invalid_credentials'],
    ['error:ratelimit', 'rate_limited'],
    ['error:maintenance', 'exchange_unavailable'],
    ['malformed', 'malformed_response'],
  ];
  errorKindTests({ exchange: 'mercadobitcoin', label: A.label, apiKey: A.apiKey, failures: FAILURES, context: () => ({ ex, h, popup }) });

  test('testing a key shows that its permissions cannot be checked, naming "Apenas Leitura", with no warning', async () => {
    const page = await openOptions(h);
    await page.getByLabel('Exchange', { exact: true }).selectOption('mercadobitcoin');
    await page.locator('#label').fill('Mercado Bitcoin again');
    await page.locator('#api-key').fill(A.apiKey);
    await page.locator('#api-secret').fill(A.secret);
    await page.locator('#test-connection').click();
    const note = page.locator('#scope-note');
    await note.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal((await note.textContent()).trim(), english('scopeNotCheckedHelp', { exchange: 'Mercado Bitcoin', permission: 'Apenas Leitura' }));
    assert.equal(await page.locator('#scope-warning').isVisible(), false, 'no warning: nothing is known of the key');
    await page.close();
  });

  test('the secret and every token are nowhere in storage; only exchange hosts', async () => {
    const storage = JSON.stringify(await dumpStorage(h));
    assert.ok(!storage.includes(A.secret), 'the secret in storage');
    assert.ok(!/access_token|Bearer/.test(storage), 'a token in storage');
    assertOnlyAllowedHosts(h);
    assert.deepEqual(uncaughtErrors(h), []);
  });
});
