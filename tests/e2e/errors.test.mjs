// Every way Bitso can fail a refresh: the popup names the specific problem, marks the numbers as
// stale and keeps the last good total, on screen and in storage. After each case the fault is
// cleared and a normal refresh must recover.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ACCOUNT_A, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertErrorText, clickRefresh, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, until,
  waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const CASES = [
  { name: '0201 invalid credentials', fault: 'error:0201', code: 'invalid_credentials' },
  { name: '0207 nonce rejected', fault: 'error:0207', code: 'nonce_rejected' },
  { name: '0202 missing permission', fault: 'error:0202', code: 'missing_permission' },
  { name: '0326 key not active', fault: 'error:0326', code: 'key_inactive' },
  { name: '0213 IP not allowed', fault: 'error:0213', code: 'ip_not_allowed' },
  { name: 'HTTP 500', fault: 'http:500', code: 'exchange_unavailable' },
  { name: '502 with an HTML page', fault: 'html502', code: 'exchange_unavailable' },
  { name: 'malformed JSON', fault: 'malformed', code: 'malformed_response' },
];

describe('refresh errors in Chromium', { timeout: 300_000 }, () => {
  let mock;
  let h;
  let popup;
  let baseline; // { total (snapshot), shown (#total text), updatedAt }
  const messages = new Map(); // code → message shown
  const profileDir = makeProfileDir();

  before(async () => {
    mock = await startMockBitso({
      accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } },
    });
    h = await launch({ profileDir, server: mock });
    const options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    popup = await openPopup(h);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot, { message: 'a first snapshot' });
    await waitIdle(popup);
    await popup.locator('#total').waitFor({ state: 'visible' });
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    baseline = { total: snapshot.total, shown: (await popup.locator('#total').textContent()).trim(), updatedAt: snapshot.updatedAt };
  });

  after(async () => {
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  /** Refresh with `fault` active; returns the stored lastError after checking what the popup shows. */
  async function failingRefresh(fault, { idleTimeout = 25_000 } = {}) {
    mock.setFault(ACCOUNT_A.apiKey, fault);
    await popup.click('#refresh');
    await waitIdle(popup, idleTimeout);
    const { lastError } = await until(async () => {
      const stored = await readStorage(h, 'local', 'lastError');
      return stored.lastError ? stored : null;
    }, { message: 'lastError in storage', timeout: 5_000 });
    await assertShowsError(lastError);
    return lastError;
  }

  async function assertShowsError(lastError) {
    const error = popup.locator('#error');
    await error.waitFor({ state: 'visible' });
    assertErrorText(await error.textContent(), lastError, '#error shows the specific message');
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.ok(await popup.locator('#stale').isVisible(), '#stale is visible');
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    assert.equal(snapshot.total, baseline.total, 'stored total unchanged');
    assert.equal(snapshot.updatedAt, baseline.updatedAt, 'stored snapshot not replaced');
    assert.equal((await popup.locator('#total').textContent()).trim(), baseline.shown, '#total unchanged');
  }

  async function recover() {
    mock.clearFaults();
    await clickRefresh(popup);
    await until(async () => (await readStorage(h, 'local', 'lastError')).lastError == null, {
      message: 'lastError cleared after a good refresh',
    });
    await popup.locator('#error').waitFor({ state: 'hidden' });
    assert.equal(await popup.locator('#stale').isVisible(), false, '#stale hidden again');
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    assert.equal(snapshot.total, baseline.total, 'same market, same total');
    baseline.updatedAt = snapshot.updatedAt;
  }

  for (const c of CASES) {
    test(c.name, async () => {
      const lastError = await failingRefresh(c.fault);
      assert.equal(lastError.code, c.code);
      assert.equal(lastError.exchange, 'bitso');
      messages.set(c.code, (await popup.locator('#error').textContent()).trim());
      await recover();
    });
  }

  test('each kind of error has its own message', () => {
    const codes = [...messages.keys()];
    assert.equal(new Set(messages.values()).size, codes.length, JSON.stringify(Object.fromEntries(messages)));
  });

  test('0801 rate limit (HTTP 420): backs off until retryAt, then refreshes again', async () => {
    mock.setFault(ACCOUNT_A.apiKey, 'http:420:0801', { times: 1 });
    await popup.click('#refresh');
    await waitIdle(popup);
    const { lastError } = await readStorage(h, 'local', 'lastError');
    assert.equal(lastError?.code, 'rate_limited');
    await assertShowsError(lastError);
    assert.equal(typeof lastError.retryAt, 'number', 'retryAt tells when to try again');
    assert.ok(lastError.retryAt > Date.now(), 'retryAt is in the future');
    assert.ok(lastError.retryAt - Date.now() <= 70_000, `retryAt within a minute or so (${lastError.retryAt - Date.now()} ms)`);

    // Asking again before retryAt must not hit the exchange.
    const sent = mock.balanceRequests().length;
    await popup.click('#refresh');
    await waitIdle(popup);
    await new Promise((r) => setTimeout(r, 1000));
    if (Date.now() < lastError.retryAt) {
      assert.equal(mock.balanceRequests().length, sent, 'no request during the back-off');
      await assertShowsError((await readStorage(h, 'local', 'lastError')).lastError);
    }

    await new Promise((r) => setTimeout(r, Math.max(0, lastError.retryAt - Date.now() + 250)));
    await recover();
  });

  test('timeout: no answer within 15 s', { timeout: 60_000 }, async () => {
    const started = Date.now();
    const lastError = await failingRefresh('timeout', { idleTimeout: 40_000 });
    assert.equal(lastError.code, 'timeout');
    const took = Date.now() - started;
    assert.ok(took >= 14_000 && took < 30_000, `gave up after ${took} ms`);
    await recover();
  });
});
