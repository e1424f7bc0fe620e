// Coinbase in Chromium with the shipped build: an ECDSA key read from the key file Coinbase lets
// users download, an Ed25519 key pasted (with trading rights, so it gets the read-only warning),
// several pages of accounts each behind its own verified token, the total beside a Bitso account
// against an independent valuation, clear messages for a key that cannot be used, and no trace
// of any private key in storage, the profile, the pages or the console.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { digitsOf, expectedAcross } from './expected.mjs';
import { startExchanges } from './exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from './fixtures.mjs';
import {
  assertOnlyAllowedHosts, dumpStorage, english, launch, makeProfileDir, openOptions, openPopup, pageDump, readStorage,
  removeProfileDir, uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import * as coinbase from './mocks/coinbase.mjs';

const EC = coinbase.SAMPLE_ACCOUNT;
const ED = coinbase.SECOND_ACCOUNT;
const bitsoHoldings = Object.fromEntries(ACCOUNT_A.balances.map((b) => [b.currency, b.total]));

/** Every file under `dir`, as text (binary files too: a secret must not be in them either). */
function profileText(dir) {
  const parts = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) parts.push(profileText(path));
    else if (stat.isFile() && stat.size < 50_000_000) parts.push(readFileSync(path).toString('latin1'));
  }
  return parts.join('\n');
}

/** What identifies a private key in any form it could leak in: its base64 body, without the PEM lines. */
function secretMarks(secret) {
  const body = secret.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return [body, body.slice(0, 40), body.slice(-40)];
}

describe('Coinbase', { timeout: 300_000 }, () => {
  let ex;
  let h;
  let options;
  const profileDir = makeProfileDir();

  before(async () => {
    ex = await startExchanges({
      bitso: { accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } },
      coinbase: { accounts: { [EC.apiKey]: EC, [ED.apiKey]: ED } },
    });
    h = await launch({ profileDir, server: ex.server });
    options = await openOptions(h);
  });

  after(async () => {
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('an ECDSA key from its key file reaches Active', async () => {
    await options.getByLabel('Exchange', { exact: true }).selectOption('coinbase');
    // Coinbase's own words for the two halves.
    assert.ok(await options.getByLabel('Key name').isVisible());
    assert.ok(await options.getByLabel('Private key').isVisible());
    await options.getByLabel('Key file').setInputFiles({ name: 'cdp_api_key.json', mimeType: 'application/json', buffer: Buffer.from(EC.keyFile) });
    await until(async () => (await options.getByLabel('Key name').inputValue()) === EC.apiKey, { message: 'the key name from the file' });
    const pasted = await options.getByLabel('Private key').inputValue();
    // A password field masks it in every browser, and drops its line breaks: the core restores them.
    assert.ok(pasted.includes('BEGIN EC PRIVATE KEY') && !pasted.includes('\n'), 'the PEM, on one line');
    const field = await options.getByLabel('Private key').evaluate((el) => ({ type: el.type, autocomplete: el.getAttribute('autocomplete') }));
    assert.deepEqual(field, { type: 'password', autocomplete: 'off' });
    await options.locator('#label').fill(EC.label);
    await options.locator('#passphrase').fill(PASSPHRASE);
    await options.locator('#passphrase-confirm').fill(PASSPHRASE);
    await options.locator('#save-account').click();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts?.length === 1, { message: 'the account saved', timeout: 30_000 });
    const [account] = (await readStorage(h, 'local', 'accounts')).accounts;
    assert.equal(account.exchange, 'coinbase');
    assert.deepEqual({ trade: account.scope.trade, transfer: account.scope.transfer }, { trade: false, transfer: false });
    // Every private request carried a token the mock verified, each with a fresh nonce.
    const requests = ex.mocks.coinbase.privateRequests();
    assert.ok(requests.length >= 2);
    assert.ok(requests.every((r) => r.authorized === true), JSON.stringify(requests.map((r) => r.error)));
    assert.equal(new Set(requests.map((r) => r.nonce)).size, requests.length);
  });

  test('a file that is not a key file is refused with a clear message', async () => {
    await options.getByLabel('Key file').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello":"world"}') });
    await until(async () => (await options.locator('#connection-status').textContent()) === english('keyFileUnreadable', { exchange: 'Coinbase' }), {
      message: 'the key file refused',
    });
  });

  test('a PEM pasted with literal \\n escapes works too', async () => {
    await options.getByLabel('Key name').fill(EC.apiKey);
    await options.getByLabel('Private key').fill(EC.secret.trim().replaceAll('\n', '\\n'));
    await options.getByRole('button', { name: 'Test connection' }).click();
    await until(async () => (await options.locator('#connection-status').textContent()) === english('connectionOk', { exchange: 'Coinbase' }), {
      message: 'the escaped PEM accepted',
    });
  });

  test('keys that cannot be used get their own messages; nothing is saved', async () => {
    const cases = [
      ['not a key at all', english('error_private_key_malformed')],
      [coinbase.publicKeyOf(EC.secret).export({ type: 'spki', format: 'pem' }), english('error_private_key_public')],
    ];
    for (const [secret, message] of cases) {
      await options.getByLabel('Key name').fill(EC.apiKey);
      await options.getByLabel('Private key').fill(secret);
      await options.getByRole('button', { name: 'Test connection' }).click();
      await until(async () => (await options.locator('#connection-status').textContent()) === message, { message });
    }
    assert.equal((await readStorage(h, 'local', 'accounts')).accounts.length, 1);
  });

  test('an Ed25519 key with trading rights is pasted, warned about, and kept on request', async () => {
    await options.getByLabel('Key name').fill(ED.apiKey);
    await options.getByLabel('Private key').fill(ED.secret);
    await options.locator('#label').fill(ED.label);
    await options.locator('#passphrase').fill(PASSPHRASE);
    await options.locator('#save-account').click();
    await options.locator('#scope-warning').waitFor({ state: 'visible' });
    assert.match(await options.locator('#scope-warning').textContent(), /trade/i);
    await options.locator('#passphrase').fill(PASSPHRASE);
    await options.getByRole('button', { name: 'Save anyway' }).click();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts?.length === 2, { message: 'the Ed25519 account', timeout: 30_000 });
  });

  test('Bitso and both Coinbase keys add up to the independent valuation', async () => {
    const page = await openOptions(h);
    assert.match(await (await import('./harness.mjs')).addAccount(page, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    await page.close();
    const popup = await openPopup(h);
    await waitIdle(popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 3, { message: 'three accounts', timeout: 30_000 });
    const expected = expectedAcross([coinbase.expectedHoldings(EC), coinbase.expectedHoldings(ED), bitsoHoldings], ex.books(), 'mxn');
    await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(expected.total.toFixed(2)), {
      message: `total ${expected.total.toFixed(2)}`,
    });
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    assert.ok(snapshot.accounts.every((account) => account.error === null), JSON.stringify(snapshot.accounts.map((a) => a.error)));
    // The EC account's nine wallets came in pages of two, each page its own token.
    const pages = ex.mocks.coinbase.accountRequests().filter((r) => r.apiKey === EC.apiKey && r.authorized);
    assert.ok(pages.length >= 5, `${pages.length} pages`);
    await popup.close();
  });

  test('no private key in storage, the profile, the pages or the console; only exchange hosts', async () => {
    const storage = JSON.stringify(await dumpStorage(h));
    const pages = [];
    for (const page of h.context.pages()) if (page.url().startsWith('chrome-extension://')) pages.push(await pageDump(page));
    const consoleText = h.console.map((m) => m.text).join('\n');
    const files = profileText(profileDir);
    for (const secret of [EC.secret, ED.secret]) {
      for (const mark of secretMarks(secret)) {
        assert.ok(!storage.includes(mark), 'a private key in storage');
        assert.ok(!pages.some((text) => text.includes(mark)), 'a private key in a page');
        assert.ok(!consoleText.includes(mark), 'a private key in the console');
        assert.ok(!files.includes(mark), 'a private key in the profile');
      }
    }
    assertOnlyAllowedHosts(h);
    assert.deepEqual(uncaughtErrors(h), []);
  });
});
