// Two things a release must not break for people already using Cartera: a profile written by the
// previous version keeps everything (its vault, accounts, alerts, settings and history) and moves
// into the default portfolio; and the Portuguese (Brazil) UI is complete, with numbers in its own
// format, as a browser set to pt-BR shows it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { digitsOf, expectedPortfolio } from './expected.mjs';
import { ACCOUNT_A, balance, PASSPHRASE, TICKERS } from './fixtures.mjs';
import {
  DIST_CHROME, launch, makeProfileDir, openOptions, openPopup, readStorage, relaunchWithStorage, removeProfileDir, uncaughtErrors,
  until, waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

// The version 1 vault pinned in src/vault/tests.rs (PINNED_V1): passphrase "correct horse battery
// staple", one Bitso key "abcdEFGH1234" with secret "s3cr3t-api-secret" under the id "bitso-main".
const PINNED_V1 = '{"v":1,"kdf":{"alg":"argon2id","m":19456,"t":2,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODw==",'
  + '"check":{"nonce":"EBESExQVFhcYGRobHB0eHyAhIiMkJSYn","ct":"llTPZ5wcbzgVmeBD4X2qcHM08hGcRmJlN76OcmEqWkvSjORBfoA="},'
  + '"accounts":[{"id":"bitso-main","nonce":"KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/",'
  + '"ct":"ObwzsyaR/AM3Eb/P5qJpoUK8/0GEAoPOjU3o8nFC6sVNdcu7WNzXSNu2wCjzbVItAw=="}]}';
const OLD_PASSPHRASE = 'correct horse battery staple';
const OLD_KEY = { apiKey: 'abcdEFGH1234', secret: 's3cr3t-api-secret' };
const OLD_BALANCES = [balance('btc', '0.5'), balance('mxn', '1200.50'), balance('xyz', '4')];

/** What the previous version left in storage.local: no portfolios, accounts without a portfolio
 * or an import switch, one history point (chunk format 1), an alert and settings. */
function previousVersionStorage(now) {
  const t = now - 2 * 3_600_000;
  const day = new Date(t).toISOString().slice(0, 10);
  return {
    vault: PINNED_V1,
    accounts: [{
      id: 'bitso-main', label: 'Mi Bitso', exchange: 'bitso', addedAt: t - 86_400_000, lastSync: t, status: 'active', error: null,
      scope: { read: true, trade: false, withdraw: false, transfer: false },
    }],
    settings: { quote: 'mxn', autoLockMinutes: 15, syncMinutes: 0, badge: 'none' },
    alerts: [{ id: 'old-alert', kind: 'priceAbove', asset: 'btc', threshold: '9999999', currency: 'mxn' }],
    [`hist:d:${day}`]: JSON.stringify({ v: 1, assets: ['btc', 'mxn'], points: [[t, 'mxn', '0.0579', '876200.75', ['1750000.5', '1'], ['0.5', '1200.5']]] }),
  };
}

describe('a profile from the previous version', { timeout: 180_000 }, () => {
  let mock;
  let h;
  const profileDir = makeProfileDir();
  const log = { console: [], requests: [] };
  let seeded;

  before(async () => {
    mock = await startMockBitso({ accounts: { [OLD_KEY.apiKey]: { secret: OLD_KEY.secret, balances: OLD_BALANCES } } });
    seeded = previousVersionStorage(Date.now());
    h = await relaunchWithStorage({ profileDir, server: mock, log, items: seeded, started: (stored) => stored.portfolios });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('moves every account into the default portfolio and keeps everything else', async () => {
    const migrated = await until(async () => {
      const stored = await readStorage(h, 'local');
      return stored.formatVersion === 3 && stored;
    }, { message: 'the migration' });
    assert.deepEqual(migrated.portfolios, [{ id: 'main', name: 'Personal' }]);
    // Each account joins the default portfolio and keeps being imported; its scope gains the
    // core's verdict (the first versions' `read` flag is not kept).
    assert.deepEqual(migrated.accounts, seeded.accounts.map(({ scope: { read, ...flags }, ...account }) => ({
      ...account, scope: { ...flags, readOnly: true }, portfolio: 'main', importBalance: true,
    })));
    assert.equal(migrated.formatVersion, 3);
    for (const key of ['vault', 'settings', 'alerts']) assert.deepEqual(migrated[key], seeded[key], key);
    const history = Object.keys(seeded).find((key) => key.startsWith('hist:'));
    assert.equal(migrated[history], seeded[history], 'the history point');
  });

  test('unlocks with the old passphrase, upgrades the vault and values the old key', async () => {
    const popup = await openPopup(h);
    assert.deepEqual(await popup.getByRole('combobox', { name: 'Portfolio' }).locator('option').allTextContents(), ['All portfolios', 'Personal']);
    await popup.getByLabel('Passphrase').fill(OLD_PASSPHRASE);
    await popup.getByRole('button', { name: 'Unlock' }).click();
    await until(async () => JSON.parse((await readStorage(h, 'local', 'vault')).vault).v === 2, { message: 'the vault upgraded' });
    await waitIdle(popup);
    const expected = expectedPortfolio([{ balances: OLD_BALANCES }], TICKERS);
    await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(expected.total.toFixed(2)), {
      message: `total ${expected.total.toFixed(2)}`,
    });
    assert.ok(mock.balanceRequests().some((request) => request.apiKey === OLD_KEY.apiKey), 'the old key signs requests');
    // The old point and the new one, in one series.
    await until(async () => (await readStorage(h, 'local', 'historyView')).historyView?.storedPoints === 2, { message: 'two history points' });
    await popup.close();
  });
});

describe('Portuguese (Brazil)', { timeout: 180_000 }, () => {
  let mock;
  let h;
  const profileDir = makeProfileDir();
  const pt = JSON.parse(readFileSync(join(DIST_CHROME, '_locales/pt_BR/messages.json'), 'utf8'));

  before(async () => {
    mock = await startMockBitso({ accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } });
    h = await launch({ profileDir, server: mock, locale: 'pt-BR' });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('pages speak Portuguese and write numbers the Brazilian way', async () => {
    const options = await openOptions(h);
    assert.equal(await options.locator('#add-heading').textContent(), pt.addHeading.message);
    await options.locator('#label').fill(ACCOUNT_A.label);
    await options.locator('#api-key').fill(ACCOUNT_A.apiKey);
    await options.locator('#api-secret').fill(ACCOUNT_A.secret);
    await options.locator('#passphrase').fill(PASSPHRASE);
    await options.locator('#passphrase-confirm').fill(PASSPHRASE);
    await options.locator('#save-account').click();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts?.length === 1, { message: 'the account saved' });
    assert.ok(await options.getByRole('combobox', { name: 'Tema' }).isVisible());

    const popup = await openPopup(h);
    const total = popup.getByRole('status', { name: 'Valor total' });
    await until(async () => /\d/.test((await total.textContent()) ?? ''), { message: 'a total' });
    assert.match(await popup.getByRole('button', { name: /^Atualizar/ }).getAttribute('aria-label'), /^Atualizar/);
    const expected = expectedPortfolio([ACCOUNT_A], TICKERS);
    const text = await total.textContent();
    assert.equal(digitsOf(text), digitsOf(expected.total.toFixed(2)));
    // pt-BR groups with "." and separates decimals with ",".
    assert.match(text, /\d{1,3}(\.\d{3})+,\d{2}/, text);
    assert.equal(await popup.locator('.hero-label').textContent(), 'Valor total');

    // A message from the core in Portuguese: a wrong passphrase.
    await popup.getByRole('button', { name: pt.lockLabel.message }).click();
    await popup.getByLabel(pt.unlockLabel.message).fill('not the passphrase at all');
    await popup.getByRole('button', { name: pt.unlockAction.message }).click();
    await until(async () => (await popup.locator('#error').textContent()) === pt.error_wrong_passphrase.message, { message: 'the pt-BR error' });
  });
});
