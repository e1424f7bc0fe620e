// Automatic sync, alerts and the badge, in Chromium with the shipped build unchanged. The sync
// alarm is set through the options page; to avoid waiting minutes, the test makes the same alarm
// due through the service worker (chrome.alarms, not a code path of the build).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ACCOUNT_A, PASSPHRASE, TICKERS } from './fixtures.mjs';
import {
  addAccount, english, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir,
  sendMessage, until,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const BTC_BOOK = 'btc_mxn';
// The engine reuses prices for 10 s (src/refresh.rs, PRICES_REUSED_FOR_MS): new mock prices show
// after that.
const PRICES_REUSED_FOR_MS = 10_000;
const pricesExpire = () => new Promise((resolve) => setTimeout(resolve, PRICES_REUSED_FOR_MS + 500));

/** The market with btc_mxn at `price`. */
function withBtcAt(price) {
  return TICKERS.map((ticker) => (ticker.book === BTC_BOOK ? { ...ticker, last: price } : ticker));
}

describe('automatic sync, alerts and the badge', { timeout: 300_000 }, () => {
  let mock;
  let h;
  let options;
  const profileDir = makeProfileDir();

  before(async () => {
    mock = await startMockBitso({ accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } });
    h = await launch({ profileDir, server: mock });
    options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot, { message: 'a first snapshot' });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  const alarm = () => inWorker(h, () => chrome.alarms.get('sync'));

  /** Makes the sync alarm due now and waits for the snapshot it stores. */
  async function syncNow() {
    const { snapshot: before } = await readStorage(h, 'local', 'snapshot');
    await inWorker(h, () => chrome.alarms.create('sync', { when: Date.now() + 50 }));
    const { snapshot } = await until(async () => {
      const stored = await readStorage(h, 'local', 'snapshot');
      return stored.snapshot && stored.snapshot.updatedAt > (before?.updatedAt ?? 0) ? stored : null;
    }, { message: 'a snapshot from the sync', timeout: 20_000 });
    // The sync plans the next one.
    await until(async () => (await alarm())?.scheduledTime > Date.now(), { message: 'the next sync planned' });
    return snapshot;
  }

  const notifications = () => inWorker(h, () => chrome.notifications.getAll());
  const clearNotifications = () => inWorker(h, async () => {
    for (const id of Object.keys(await chrome.notifications.getAll())) await chrome.notifications.clear(id);
  });

  test('"Update automatically" sets a jittered alarm; a sync happens with no page open', async () => {
    const select = options.getByLabel('Update automatically', { exact: true });
    const offered = await select.locator('option').allTextContents();
    assert.deepEqual(offered, ['Off', 'Every 5 minutes', 'Every 15 minutes', 'Every 30 minutes', 'Every hour']);
    assert.equal(await select.inputValue(), '15', 'every 15 minutes by default');
    await select.selectOption('5');
    const planned = await until(async () => {
      const a = await alarm();
      return a && a.scheduledTime - Date.now() <= 5.5 * 60_000 + 1000 ? a : null;
    }, { message: 'a 5-minute plan' });
    const delay = planned.scheduledTime - Date.now();
    assert.ok(delay > 4 * 60_000 && delay <= 5.5 * 60_000 + 1000, `next sync in ${delay} ms (5 min ± 10 %)`);

    for (const page of h.context.pages()) await page.close();
    const sent = mock.balanceRequests().length;
    const snapshot = await syncNow();
    assert.equal(mock.balanceRequests().length, sent + 1, 'one signed balance request');
    assert.equal(snapshot.pricesOnly, false);
    options = await openOptions(h);
  });

  test('after a restart the sync alarm exists again', async () => {
    const { syncState } = await readStorage(h, 'local', 'syncState');
    await h.close();
    h = await launch({ profileDir, server: mock });
    const restored = await until(alarm, { message: 'the sync alarm after a restart' });
    assert.ok(restored.scheduledTime > Date.now());
    assert.equal(restored.scheduledTime, syncState.nextAt, 'the stored plan is kept');
    options = await openOptions(h);
  });

  test('locked, a sync revalues the last balances with new prices and signs nothing', async () => {
    // After the restart Cartera is locked.
    assert.equal((await readStorage(h, 'session')).vaultKey, undefined);
    const { snapshot: before } = await readStorage(h, 'local', 'snapshot');
    mock.setTickers(withBtcAt('1800000.00'));
    await pricesExpire();
    const sent = mock.balanceRequests().length;
    const snapshot = await syncNow();
    assert.equal(mock.balanceRequests().length, sent, 'no signed request while locked');
    assert.equal(snapshot.pricesOnly, true);
    assert.deepEqual(snapshot.accounts.map((a) => a.syncedAt), before.accounts.map((a) => a.syncedAt), 'balances are the last known');
    const btc = (s) => s.assets.find((a) => a.asset === 'btc');
    assert.equal(btc(snapshot).total, btc(before).total);
    assert.equal(btc(snapshot).price, '1800000');
    const popup = await openPopup(h);
    const note = popup.locator('#prices-only-note');
    await note.waitFor({ state: 'visible' });
    assert.match(await note.textContent(), /^Balances from (.+ ago|just now), prices now$/);
    await popup.locator('#unlock-passphrase').fill(PASSPHRASE);
    await popup.locator('#unlock').click();
    await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    await popup.close();
  });

  test('a price alert fires once across syncs that stay above, and again after it falls back and rises', async () => {
    mock.setTickers(withBtcAt('1750000.50'));
    await options.reload();
    const card = options.getByRole('region', { name: 'Alerts' });
    await card.getByRole('button', { name: 'Add alert' }).click();
    await options.getByLabel('Alert when', { exact: true }).selectOption('priceAbove');
    await options.getByLabel('Asset', { exact: true }).fill('BTC');
    await options.getByLabel('Value in MXN', { exact: true }).fill('1,700,000');
    await options.getByRole('button', { name: 'Save alert' }).click();
    await options.locator('#alerts li').first().waitFor();
    const { alerts } = await readStorage(h, 'local', 'alerts');
    assert.deepEqual(alerts.map(({ kind, asset, threshold, currency }) => ({ kind, asset, threshold, currency })),
      [{ kind: 'priceAbove', asset: 'btc', threshold: '1700000', currency: 'mxn' }]);
    const id = alerts[0].id;
    await clearNotifications();

    const shown = [];
    for (let i = 0; i < 3; i++) {
      await syncNow();
      shown.push(Object.keys(await notifications()).includes(id));
      await clearNotifications();
    }
    assert.deepEqual(shown, [true, false, false], 'fired exactly once across three syncs above the threshold');

    // Back below by more than the 1 % margin: re-armed.
    mock.setTickers(withBtcAt('1600000.00'));
    await pricesExpire();
    await syncNow();
    assert.deepEqual(Object.keys(await notifications()), []);
    assert.equal((await readStorage(h, 'local', 'alertStates')).alertStates[id].armed, true);
    // Fifteen minutes later (the cooldown, moved back in the stored state) it rises again: fires.
    await inWorker(h, async (alertId) => {
      const { alertStates } = await chrome.storage.local.get('alertStates');
      alertStates[alertId].lastFiredAt -= 16 * 60_000;
      await chrome.storage.local.set({ alertStates });
    }, id);
    mock.setTickers(withBtcAt('1750000.50'));
    await pricesExpire();
    await syncNow();
    assert.ok(Object.keys(await notifications()).includes(id), 'fired again');
    await clearNotifications();
    await options.reload();
    assert.match(await options.locator(`#alert-${id}`).textContent(), /BTC above MX\$1,700,000\.00.*Last alerted/);
  });

  test('a revoked key produces one notification', async () => {
    await options.getByRole('button', { name: 'Add alert' }).click();
    await options.getByLabel('Alert when', { exact: true }).selectOption('accountFailing');
    await options.getByRole('button', { name: 'Save alert' }).click();
    await until(async () => (await readStorage(h, 'local', 'alerts')).alerts.length === 2, { message: 'the second alert' });
    const { alerts } = await readStorage(h, 'local', 'alerts');
    const id = alerts.find((a) => a.kind === 'accountFailing').id;
    mock.setFault(ACCOUNT_A.apiKey, 'error:0201');
    try {
      // One account: every account failing means no new snapshot; the alert works off the
      // account states, so the test follows lastError.
      const fired = [];
      for (let i = 0; i < 2; i++) {
        await inWorker(h, () => chrome.alarms.create('sync', { when: Date.now() + 50 }));
        await until(async () => (await readStorage(h, 'local', 'lastError')).lastError?.code === 'invalid_credentials', { message: 'the failure stored' });
        await new Promise((r) => setTimeout(r, 1500));
        fired.push(Object.keys(await notifications()).includes(id));
        await clearNotifications();
      }
      assert.deepEqual(fired, [true, false]);

      // Locked, a sync revalues the last balances only: the account keeps its error and the alert
      // stays quiet; unlocked again, the same failure does not fire it a second time.
      await sendMessage(options, { type: 'lock' });
      await syncNow();
      const { accounts } = await readStorage(h, 'local', 'accounts');
      assert.deepEqual(accounts.map((a) => [a.status, a.error?.code]), [['error', 'invalid_credentials']], 'the error is kept while locked');
      const popup = await openPopup(h);
      await popup.locator('#unlock-passphrase').fill(PASSPHRASE);
      await popup.locator('#unlock').click();
      await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
      await popup.close();
      const asked = mock.balanceRequests().length;
      await inWorker(h, () => chrome.alarms.create('sync', { when: Date.now() + 50 }));
      await until(() => mock.balanceRequests().length > asked, { message: 'the sync after unlocking' });
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!Object.keys(await notifications()).includes(id), 'not fired again after a lock and unlock');
    } finally {
      mock.clearFaults();
    }
  });

  test('the toolbar badge shows the total or the 24 h change', async () => {
    await syncNow();
    const badge = options.getByLabel('Toolbar badge', { exact: true });
    assert.equal(await badge.inputValue(), 'none');
    assert.equal(await inWorker(h, () => chrome.action.getBadgeText({})), '');
    await badge.selectOption('total');
    await until(async () => /^[0-9.,]+[KMB]?$/.test(await inWorker(h, () => chrome.action.getBadgeText({}))), { message: 'a compact total' });
    await badge.selectOption('change');
    const text = await until(async () => {
      const value = await inWorker(h, () => chrome.action.getBadgeText({}));
      return /^[+\u2212]?\d+\.\d$/.test(value) ? value : null;
    }, { message: 'a 24 h change' });
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    assert.equal(text.replace('\u2212', '-').replace('+', ''), Number(snapshot.change24h).toFixed(1));
    const color = await inWorker(h, () => chrome.action.getBadgeBackgroundColor({}));
    assert.deepEqual(color.slice(0, 3), snapshot.change24h.startsWith('-') ? [0xb3, 0x26, 0x1e] : [0x1b, 0x7f, 0x3b]);
    await badge.selectOption('none');
    await until(async () => (await inWorker(h, () => chrome.action.getBadgeText({}))) === '', { message: 'no badge' });
  });

  test('the options page says alerts work only while the browser is open', async () => {
    const lead = english('alertsLead');
    await options.getByText(lead).waitFor();
    await sendMessage(options, { type: 'getState' });
  });
});
