// The extension end to end in Chromium against the mock Bitso: onboarding, two accounts, a
// browser restart with unlock, duplicate refreshes, deleting an account, and what must never
// leak (secrets) or leave (requests to other hosts). The steps share one profile and run in order.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { digitsOf, expectedPortfolio, Q } from './expected.mjs';
import { ACCOUNT_A, ACCOUNT_B, PASSPHRASE, TICKERS } from './fixtures.mjs';
import {
  addAccount, assertOnlyAllowedHosts, clickRefresh, dumpStorage, launch, makeProfileDir, openOptions, openPopup,
  pageDump, readStorage, removeProfileDir, screenshot, uncaughtErrors, until, waitForPage, waitIdle,
} from './harness.mjs';
import { HOST, startMockBitso } from './mock-bitso.mjs';

const WRONG_PASSPHRASE = 'definitely not the passphrase';
const WRONG_PASSPHRASE_MESSAGE = 'Wrong passphrase, or the vault is damaged.';

/** The popup's total and the stored snapshot agree with the independent valuation. */
async function assertTotal(h, popup, accounts) {
  const expected = expectedPortfolio(accounts, TICKERS, 'mxn');
  const { snapshot } = await readStorage(h, 'local', 'snapshot');
  assert.ok(snapshot, 'a snapshot is stored');
  assert.equal(snapshot.quote, 'mxn');
  // Exact decimal string in storage; the core works with 28 significant digits, so allow 1e-12.
  const diff = Q.parse(snapshot.total).add(new Q(-expected.total.n, expected.total.d));
  assert.ok(
    new Q(diff.n < 0n ? -diff.n : diff.n, diff.d).cmp(new Q(1n, 10n ** 12n)) <= 0,
    `snapshot.total ${snapshot.total} vs expected ${expected.total.toFixed(18)}`,
  );
  // The popup shows it to the cent.
  await popup.waitForFunction(
    (digits) => (document.querySelector('#total')?.textContent ?? '').replace(/[^0-9]/g, '') === digits,
    digitsOf(expected.total.toFixed(2)),
    { timeout: 10_000 },
  ).catch(() => {});
  const shown = await popup.locator('#total').textContent();
  assert.equal(digitsOf(shown), digitsOf(expected.total.toFixed(2)), `#total "${shown}" vs ${expected.total.toFixed(2)}`);
  // One row per priced, non-zero asset; zero balances hidden; unpriced listed apart.
  const rows = await popup.locator('#assets [data-asset]').evaluateAll((els) => els.map((e) => e.dataset.asset));
  assert.deepEqual([...rows].sort(), expected.assets.map((a) => a.asset).sort(), 'asset rows');
  for (const hidden of expected.hidden) assert.ok(!rows.includes(hidden), `${hidden} (zero) is hidden`);
  const unpriced = await popup.locator('#unpriced [data-asset]').evaluateAll((els) => els.map((e) => e.dataset.asset));
  assert.deepEqual([...unpriced].sort(), expected.unpriced, 'unpriced rows');
  return { expected, snapshot };
}

/** Confirm an in-page confirmation dialog if one opened (native dialogs are accepted by the harness). */
async function confirmIfAsked(page, passphrase) {
  const dialog = page.locator('dialog[open]');
  if (!(await dialog.count())) await page.waitForTimeout(300);
  if (!(await dialog.count())) return;
  const field = dialog.locator('input[type="password"]');
  if ((await field.count()) && (await field.first().isVisible())) await field.first().fill(passphrase);
  await dialog.locator('button[type="submit"], #dialog-confirm').first().click();
}

const byKey = (mock, key) => mock.balanceRequests().filter((r) => r.apiKey === key);

// A rotated key for account B: same balances, new key and secret.
const ROTATED_B = { apiKey: 'rotatedBusinessKey0002', secret: 'rotated-business-secret-0002' };

describe('Cartera in Chromium', { timeout: 240_000 }, () => {
  let mock;
  let h;
  const profileDir = makeProfileDir();
  const pages = { popup: null, options: null };
  const accountIds = {};
  const log = { console: [], requests: [] }; // kept across the restart

  before(async () => {
    mock = await startMockBitso({
      accounts: {
        [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances },
        [ACCOUNT_B.apiKey]: { secret: ACCOUNT_B.secret, balances: ACCOUNT_B.balances },
      },
    });
    h = await launch({ profileDir, server: mock, log });
  });

  after(async () => {
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('1. onboarding → add a key → Active → the popup total matches; refresh is signed', async () => {
    const popup = await openPopup(h);
    await popup.locator('#onboarding').waitFor({ state: 'visible' });
    const options = await waitForPage(h, 'options/options.html', () => popup.click('#open-options'));
    pages.options = options;
    assert.ok(await options.locator('#passphrase-confirm').isVisible(), 'first key asks to confirm a new passphrase');

    const status = await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE });
    assert.match(status, /^Active/);
    const { accounts, vault } = await readStorage(h, 'local', ['accounts', 'vault']);
    assert.equal(typeof vault, 'string');
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0].label, ACCOUNT_A.label);
    accountIds.a = accounts[0].id;
    assert.ok(byKey(mock, ACCOUNT_A.apiKey).some((r) => r.authorized === true), 'the key was tested with a signed request');

    const view = await openPopup(h);
    pages.popup = view;
    await view.locator('#total').waitFor({ state: 'visible' });
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot, { message: 'a snapshot' });
    await waitIdle(view);
    await assertTotal(h, view, [ACCOUNT_A]);
    assert.equal(await view.locator('#total').getAttribute('aria-label'), 'Total value');

    const before = byKey(mock, ACCOUNT_A.apiKey).length;
    await clickRefresh(view);
    const sent = await until(() => byKey(mock, ACCOUNT_A.apiKey).slice(before), { message: 'a balance request' });
    assert.equal(sent.length, 1);
    assert.equal(sent[0].authorized, true, 'signature verified by the mock');
    assert.equal(sent[0].error, null);
    assert.match(sent[0].nonce, /^\d{14,19}$/);
    assert.equal(sent[0].host, HOST);
    assert.equal(await view.locator('#error').isVisible(), false);
  });

  test('2. a second account adds up', async () => {
    const options = pages.options ?? (await openOptions(h));
    await options.reload();
    assert.equal(await options.locator('#passphrase-confirm').isVisible(), false, 'no new passphrase once a vault exists');
    const status = await addAccount(options, { ...ACCOUNT_B, passphrase: PASSPHRASE });
    assert.match(status, /^Active/);
    const { accounts } = await readStorage(h, 'local', 'accounts');
    assert.equal(accounts.length, 2);
    accountIds.b = accounts.find((a) => a.label === ACCOUNT_B.label)?.id;
    assert.ok(accountIds.b);
    await options.locator(`#accounts [data-account-id="${accountIds.b}"]`).waitFor();

    await clickRefresh(pages.popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 2, {
      message: 'a snapshot with both accounts',
    });
    const { snapshot } = await assertTotal(h, pages.popup, [ACCOUNT_A, ACCOUNT_B]);
    for (const account of snapshot.accounts) assert.equal(account.error, null);
    await screenshot(pages.popup, 'popup.png');
  });

  test('5. ten quick clicks on refresh → one balance request per account', async () => {
    const second = await openPopup(h);
    await waitIdle(pages.popup);
    await waitIdle(second);
    await new Promise((r) => setTimeout(r, 500));
    const beforeA = byKey(mock, ACCOUNT_A.apiKey).length;
    const beforeB = byKey(mock, ACCOUNT_B.apiKey).length;
    const beforeTickers = mock.requests.filter((r) => r.path.includes('/ticker')).length;
    mock.setLatency(1500);
    try {
      // Two popups, five clicks each, interleaved: the popup and the background must both coalesce.
      await Promise.all([pages.popup, second].map((p) => p.evaluate(() => {
        for (let i = 0; i < 5; i++) document.querySelector('#refresh').click();
      })));
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all([waitIdle(pages.popup), waitIdle(second)]);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      mock.setLatency(0);
    }
    assert.equal(byKey(mock, ACCOUNT_A.apiKey).length - beforeA, 1, 'account A');
    assert.equal(byKey(mock, ACCOUNT_B.apiKey).length - beforeB, 1, 'account B');
    assert.ok(mock.requests.filter((r) => r.path.includes('/ticker')).length - beforeTickers <= 1, 'tickers once');
    await second.close();
  });

  test('3. browser restart → unlock: a wrong passphrase changes nothing, the right one works', async () => {
    const { vault: vaultBefore } = await readStorage(h, 'local', 'vault');
    await h.close();
    h = await launch({ profileDir, server: mock, log });
    pages.options = null;
    const { session } = await dumpStorage(h);
    assert.deepEqual(session, {}, 'the session key is gone after a restart');

    const popup = await openPopup(h);
    pages.popup = popup;
    await popup.locator('#unlock-form').waitFor({ state: 'visible' });
    await popup.fill('#unlock-passphrase', WRONG_PASSPHRASE);
    await popup.click('#unlock');
    await popup.getByText(WRONG_PASSPHRASE_MESSAGE).first().waitFor({ state: 'visible', timeout: 15_000 });
    const { vault: vaultAfterWrong } = await readStorage(h, 'local', 'vault');
    assert.equal(vaultAfterWrong, vaultBefore, 'vault byte-for-byte unchanged');
    assert.deepEqual(await readStorage(h, 'session'), {});

    const before = mock.balanceRequests().length;
    await popup.fill('#unlock-passphrase', PASSPHRASE);
    await popup.click('#unlock');
    await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    assert.equal(typeof (await readStorage(h, 'session', 'vaultKey')).vaultKey, 'string');
    await waitIdle(popup);
    await clickRefresh(popup);
    await until(() => mock.balanceRequests().length >= before + 2, { message: 'refresh after unlock' });
    assert.ok(mock.balanceRequests().slice(before).every((r) => r.authorized === true && r.error === null));
    await assertTotal(h, popup, [ACCOUNT_A, ACCOUNT_B]);
  });

  test('6a. replace an account\'s key: same account, new credentials', async () => {
    mock.setAccount(ROTATED_B.apiKey, { secret: ROTATED_B.secret, balances: ACCOUNT_B.balances });
    const options = await openOptions(h);
    pages.options = options;
    const { vault: vaultBefore, accounts: accountsBefore } = await readStorage(h, 'local', ['vault', 'accounts']);
    const row = options.locator(`#accounts [data-account-id="${accountIds.b}"]`);
    await row.locator('.replace').click();
    assert.equal(await options.inputValue('#label'), accountsBefore.find((a) => a.id === accountIds.b).label);
    const status = await addAccount(options, {
      label: 'Business (rotated)', apiKey: ROTATED_B.apiKey, secret: ROTATED_B.secret, passphrase: PASSPHRASE,
    });
    assert.match(status, /^Active/);

    const { vault, accounts } = await readStorage(h, 'local', ['vault', 'accounts']);
    assert.notEqual(vault, vaultBefore, 'the vault was re-sealed');
    assert.deepEqual(accounts.map((a) => a.id), accountsBefore.map((a) => a.id), 'same accounts, same order');
    assert.equal(accounts.find((a) => a.id === accountIds.b).label, 'Business (rotated)');

    const oldKeyUses = byKey(mock, ACCOUNT_B.apiKey).length;
    await pages.popup.reload();
    await waitIdle(pages.popup);
    await clickRefresh(pages.popup);
    await until(() => byKey(mock, ROTATED_B.apiKey).some((r) => r.authorized === true), { message: 'the new key is used' });
    assert.equal(byKey(mock, ACCOUNT_B.apiKey).length, oldKeyUses, 'the old key is not used again');
    await assertTotal(h, pages.popup, [ACCOUNT_A, ACCOUNT_B]);
  });

  test('6. delete an account', async () => {
    const options = await openOptions(h);
    pages.options = options;
    const row = options.locator(`#accounts [data-account-id="${accountIds.b}"]`);
    await row.waitFor();
    await options.locator(`#accounts [data-account-id="${accountIds.a}"]`).waitFor();
    await screenshot(options, 'options.png', { fullPage: true }); // both accounts, freshly loaded
    await row.locator('.delete').click();
    await confirmIfAsked(options, PASSPHRASE);
    await row.waitFor({ state: 'detached' });
    const { accounts } = await readStorage(h, 'local', 'accounts');
    assert.deepEqual(accounts.map((a) => a.id), [accountIds.a]);

    const before = byKey(mock, ACCOUNT_B.apiKey).length;
    await pages.popup.reload();
    await waitIdle(pages.popup);
    await clickRefresh(pages.popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot?.accounts?.length === 1, {
      message: 'a snapshot with one account',
    });
    assert.equal(byKey(mock, ACCOUNT_B.apiKey).length, before, 'the deleted key is not used again');
    await assertTotal(h, pages.popup, [ACCOUNT_A]);
  });

  test('7. secrets never reach storage, the DOM or the console', async () => {
    const secrets = [ACCOUNT_A.secret, ACCOUNT_B.secret, ROTATED_B.secret, PASSPHRASE];
    const encodings = (s) => [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('hex')];
    const storage = JSON.stringify(await dumpStorage(h));
    const dom = [];
    for (const page of h.context.pages()) {
      if (page.url().startsWith('chrome-extension://')) dom.push(await pageDump(page));
    }
    assert.ok(dom.length >= 2, 'popup and options pages inspected');
    const consoleText = h.console.map((m) => m.text).join('\n');
    for (const secret of secrets) {
      for (const form of encodings(secret)) {
        assert.ok(!storage.includes(form), 'secret found in extension storage');
        assert.ok(!dom.some((d) => d.includes(form)), 'secret found in a page');
        assert.ok(!consoleText.includes(form), 'secret found in console output');
      }
    }
  });

  test('8. every request went to api.bitso.com or stayed inside the extension', () => {
    assertOnlyAllowedHosts(h);
    assert.ok(h.requests.some((u) => u.startsWith(`https://${HOST}/`)), 'the browser saw the exchange requests');
    for (const r of mock.requests) assert.equal(r.host, HOST);
    for (const r of mock.balanceRequests()) {
      assert.equal(r.authorized, true, `${r.path} signed correctly`);
    }
  });

  test('9. no uncaught errors in any page or the service worker', () => {
    assert.deepEqual(uncaughtErrors(h).map((m) => `${m.url ?? ''}: ${m.text.split('\n')[0]}`), []);
  });
});
