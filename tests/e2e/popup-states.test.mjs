// The popup before it has anything to show says what to do, with a way to the options page, in
// every state: no vault yet; accounts but nothing loaded yet (unlocked, and a first refresh that
// failed; locked); a vault whose accounts were all deleted, unlocked and locked.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { digitsOf, expectedPortfolio } from './expected.mjs';
import { ACCOUNT_A, PASSPHRASE, TICKERS } from './fixtures.mjs';
import {
  addAccount, english, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, sendMessage,
  uncaughtErrors, until, waitForPage, waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

/** Forgets every refresh: what a profile holds when its accounts were added but never loaded. */
async function forgetRefreshes(h) {
  await inWorker(h, async () => {
    const keys = Object.keys(await chrome.storage.local.get(null));
    const loaded = ['snapshot', 'portfolioSnapshots', 'historyView', 'portfolioHistoryViews', 'lastError'];
    await chrome.storage.local.remove(keys.filter((key) => loaded.includes(key) || key.startsWith('hist:')));
  });
}

/** The popup shows account A's total, to the cent. */
async function assertTotal(popup) {
  const digits = digitsOf(expectedPortfolio([ACCOUNT_A], TICKERS, 'mxn').total.toFixed(2));
  await until(async () => digitsOf(await popup.locator('#total').textContent()) === digits, { message: `the total ${digits}` });
}

/** The popup's onboarding: what to do first, and "Add an exchange account" to the add form. */
async function assertOnboarding(h) {
  const popup = await openPopup(h);
  const onboarding = popup.locator('#onboarding');
  await onboarding.waitFor({ state: 'visible' });
  assert.equal(await onboarding.getByRole('heading').textContent(), english('onboardingTitle'));
  assert.ok((await onboarding.innerText()).includes(english('onboardingBody')));
  assert.ok(await popup.locator('#unlock-form').isHidden(), 'nothing to unlock for');
  assert.ok(await popup.locator('#refresh').isHidden(), 'nothing to refresh');
  const options = await waitForPage(h, 'options/options.html', () => popup.getByRole('button', { name: 'Add an exchange account' }).click());
  assert.equal(new URL(options.url()).hash, '#add');
  await until(() => options.evaluate(() => document.activeElement?.id === 'exchange'), { message: 'the add form focused' });
  await options.close();
  if (!popup.isClosed()) await popup.close();
}

describe('the popup with nothing to show yet', { timeout: 180_000 }, () => {
  let mock;
  let h;
  let options;
  const profileDir = makeProfileDir();

  before(async () => {
    mock = await startMockBitso({ accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } });
    h = await launch({ profileDir, server: mock });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('no vault: onboarding, and "Add an exchange account" opens the add form', async () => {
    await assertOnboarding(h);
  });

  test('an account whose first refresh failed: the error, what to do, and "Open settings"', async () => {
    options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    // The background's work after adding (a refresh, after the history's first page) ends before
    // the exchange changes its mind, so that nothing it loads lands after the forgetting below.
    await until(async () => {
      const { snapshot, txState } = await readStorage(h);
      return Boolean(snapshot) && Object.values(txState ?? {}).every((state) => state.caughtUp);
    }, { timeout: 30_000, message: 'the first refresh and history page done' });
    // "Open settings" opens the options page, or shows it where it is already open.
    await options.close();
    // The exchange now refuses the key, and nothing was ever loaded.
    mock.setAccount(ACCOUNT_A.apiKey, { secret: 'another secret', balances: ACCOUNT_A.balances });
    await forgetRefreshes(h);
    const popup = await openPopup(h);
    await waitIdle(popup);
    await popup.locator('#error').waitFor({ state: 'visible' });
    assert.equal((await popup.locator('#empty').textContent()).trim(), english('notLoadedYet'));
    options = await waitForPage(h, 'options/options.html', () => popup.getByRole('button', { name: 'Open settings' }).click());

    // Once the exchange takes the key again, Refresh loads the balances.
    mock.setAccount(ACCOUNT_A.apiKey, { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances });
    const again = await openPopup(h);
    await waitIdle(again);
    await assertTotal(again);
    assert.ok(await again.locator('#not-loaded').isHidden());
    await again.close();
  });

  test('an account never loaded, locked: unlock to load, with the settings one click away', async () => {
    await sendMessage(options, { type: 'lock' });
    await forgetRefreshes(h);
    const popup = await openPopup(h);
    await popup.locator('#unlock-form').waitFor({ state: 'visible' });
    assert.equal((await popup.locator('#empty').textContent()).trim(), english('lockedNoData'));
    assert.ok(await popup.getByRole('button', { name: 'Settings' }).isVisible());
    assert.ok(await popup.locator('#not-loaded').isHidden());
    await popup.getByLabel('Passphrase').fill(PASSPHRASE);
    await popup.getByRole('button', { name: 'Unlock' }).click();
    await waitIdle(popup);
    await assertTotal(popup);
    await popup.close();
  });

  test('every account deleted, the vault kept: onboarding, unlocked and locked', async () => {
    await options.reload();
    const [row] = await options.locator('#accounts [data-account-id]').all();
    await row.getByRole('button', { name: `Delete ${ACCOUNT_A.label}` }).click();
    await options.locator('#dialog-confirm').click();
    await until(async () => (await options.locator('#dialog-title').textContent()) === english('deleteVaultTooTitle'), {
      message: 'the offer to delete the vault too',
    });
    await options.getByRole('button', { name: english('keepVault') }).click();
    await until(async () => {
      const stored = await inWorker(h, () => chrome.storage.local.get(['vault', 'accounts']));
      return typeof stored.vault === 'string' && stored.accounts?.length === 0;
    }, { message: 'no account, the vault kept' });
    await assertOnboarding(h);
    await sendMessage(options, { type: 'lock' });
    await assertOnboarding(h);
  });
});
