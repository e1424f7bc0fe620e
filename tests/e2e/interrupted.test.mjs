// The service worker stopped in the middle of its work, as Chrome stops an idle or busy worker
// at will (https://developer.chrome.com/docs/extensions/develop/concepts/service-workers/lifecycle):
// in a refresh with requests in flight, in a passphrase change, and at every point of a refresh
// that evaluates alerts. After the restart nothing is half-written: the vault and the account
// list name the same accounts and open with one passphrase, the last good snapshot stands (or the
// new one, whole), alert states are well-formed, and the next refresh works with fresh nonces.
// (A backup restore stopped halfway: backup.test.mjs.)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ACCOUNT_A, ACCOUNT_B, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, launch, makeProfileDir, openOptions, openPopup, pageStorage, removeProfileDir, stopServiceWorker, until,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const NEW_PASSPHRASE = 'tres tristes tigres comen trigo';

/** Calls the wasm core's `method` inside an extension page, as the pages do. */
function inPage(page, method, ...args) {
  return page.evaluate(async ([name, values]) => {
    const { loadCore } = await import('../shared/core.js');
    return (await loadCore())[name](...values);
  }, [method, args]);
}

/** Sends `message` from `page` without waiting for the answer (the worker may never give one). */
function post(page, message) {
  return page.evaluate((m) => { chrome.runtime.sendMessage(m).catch(() => {}); }, message);
}

describe('a service worker stopped in the middle', { timeout: 300_000 }, () => {
  let mock;
  let h;
  let options;
  let passphrase = PASSPHRASE;
  const profileDir = makeProfileDir();

  before(async () => {
    mock = await startMockBitso({
      accounts: Object.fromEntries([ACCOUNT_A, ACCOUNT_B].map((a) => [a.apiKey, { secret: a.secret, balances: a.balances }])),
    });
    h = await launch({ profileDir, server: mock });
    options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase }), /^Active/);
    assert.match(await addAccount(options, { ...ACCOUNT_B, passphrase }), /^Active/);
    // Adding an account refreshes in the background (after any history page in flight): the
    // tests start from the snapshot of both.
    await until(async () => (await pageStorage(options, 'snapshot')).snapshot?.accounts.length === 2, { timeout: 30_000, message: 'a snapshot of both accounts' });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  /** The vault opens with the current passphrase and seals exactly the listed accounts; the
   * snapshot covers exactly them. Returns what is stored. */
  async function assertWhole() {
    const stored = await pageStorage(options);
    const sealed = await inPage(options, 'vaultAccountIds', stored.vault);
    assert.deepEqual([...sealed].sort(), stored.accounts.map((a) => a.id).sort(), 'vault and account list agree');
    await inPage(options, 'unlockVault', stored.vault, passphrase);
    assert.deepEqual(stored.snapshot.accounts.map((a) => a.id).sort(), stored.accounts.map((a) => a.id).sort(), 'the snapshot is whole');
    return stored;
  }

  /** A refresh from the popup that must end well: every account active, a newer snapshot. */
  async function refreshWorks(since) {
    const popup = await openPopup(h);
    if (await popup.locator('#unlock-form').isVisible()) {
      await popup.locator('#unlock-passphrase').fill(passphrase);
      await popup.locator('#unlock').click();
      await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    }
    const reply = await popup.evaluate(() => chrome.runtime.sendMessage({ type: 'refresh' }));
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    const stored = await until(async () => {
      const now = await pageStorage(popup);
      return now.snapshot.updatedAt > since && now;
    }, { message: 'a new snapshot' });
    assert.ok(stored.accounts.every((a) => a.status === 'active'), JSON.stringify(stored.accounts.map((a) => a.error)));
    await popup.close();
    return stored;
  }

  test('in a refresh with its requests in flight: the last snapshot stands, the next refresh works', async () => {
    const before = await assertWhole();
    mock.setLatency(3000);
    const sent = mock.balanceRequests().length;
    try {
      await post(options, { type: 'refresh' });
      await until(() => mock.balanceRequests().length > sent, { message: 'the refresh under way' });
      await stopServiceWorker(h);
    } finally {
      mock.setLatency(0);
    }
    const stored = await assertWhole();
    for (const key of ['vault', 'accounts', 'snapshot']) assert.deepEqual(stored[key], before[key], key);
    // The nonces the stopped refresh signed were never stored; the next ones are newer all the
    // same (the mock refuses a nonce used before).
    await refreshWorks(before.snapshot.updatedAt);
    assert.deepEqual(mock.strays(), []);
  });

  test('in a passphrase change: the vault opens with exactly one of the two passphrases, whole', async () => {
    const { vault: base, accounts } = await pageStorage(options, ['vault', 'accounts']);
    const exchanges = JSON.stringify(Object.fromEntries(accounts.map((a) => [a.id, a.exchange])));
    const sealed = await inPage(options, 'changePassphrase', base, passphrase, NEW_PASSPHRASE, exchanges);
    await post(options, { type: 'changePassphrase', vault: sealed.vault, vaultKey: sealed.vaultKey, base });
    await stopServiceWorker(h);
    const { vault } = await pageStorage(options, 'vault');
    assert.ok(vault === base || vault === sealed.vault, 'the old vault or the new one, nothing in between');
    const opensWith = [];
    for (const candidate of [PASSPHRASE, NEW_PASSPHRASE]) {
      if (await inPage(options, 'unlockVault', vault, candidate).then(() => true, () => false)) opensWith.push(candidate);
    }
    assert.equal(opensWith.length, 1, 'one passphrase opens it');
    passphrase = opensWith[0];
    const stored = await assertWhole();
    await refreshWorks(stored.snapshot.updatedAt);
  });

  test('at any point of a refresh that fires an alert: alert states whole, the next refresh works', async () => {
    const reply = await options.evaluate(() => chrome.runtime.sendMessage({
      type: 'saveAlert', alert: { kind: 'priceAbove', asset: 'btc', threshold: '1', currency: 'mxn' },
    }));
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    // Stop the worker at several moments after the exchange answered: while settling, recording
    // history, evaluating alerts and notifying.
    for (const delay of [0, 20, 60, 150, 400]) {
      const before = await assertWhole();
      const answered = mock.balanceRequests().length + 2;
      await post(options, { type: 'refresh' });
      await until(() => mock.balanceRequests().length >= answered, { message: 'the balances answered' });
      await new Promise((resolve) => setTimeout(resolve, delay));
      await stopServiceWorker(h);
      const stored = await assertWhole();
      assert.ok(stored.snapshot.updatedAt >= before.snapshot.updatedAt, `${delay} ms: never an older snapshot`);
      assert.deepEqual(stored.alerts.map((a) => a.id), [reply.alert.id], `${delay} ms: the alert is kept`);
      const states = stored.alertStates ?? {};
      for (const [id, state] of Object.entries(states)) {
        assert.ok(stored.alerts.some((a) => a.id === id), `${delay} ms: a state for a known alert`);
        assert.equal(typeof state, 'object', `${delay} ms: a whole state`);
      }
      for (const [key, text] of Object.entries(stored).filter(([k]) => k.startsWith('hist:'))) {
        assert.doesNotThrow(() => JSON.parse(text), `${delay} ms: ${key} is whole`);
      }
      await refreshWorks(stored.snapshot.updatedAt);
    }
  });
});
