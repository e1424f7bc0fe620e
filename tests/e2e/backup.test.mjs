// Nothing lost: an encrypted backup exported from the options page restores everything in a fresh
// profile (after refusing the wrong passphrase and a damaged file, changing nothing), "Clear
// history" clears only history, and a restore interrupted by a stopped worker finishes on the
// next start without mixing the old profile into the restored one.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { digitsOf } from './expected.mjs';
import { startExchanges } from './exchanges.mjs';
import { ACCOUNT_A, ACCOUNT_B, balance, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, clickRefresh, english, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, relaunchWithStorage,
  removeProfileDir, uncaughtErrors, until, waitIdle,
} from './harness.mjs';

/** The dialog's button named `name` (the page has buttons of the same name outside it). */
const inDialog = (page, name) => page.locator('#confirm-dialog').getByRole('button', { name, exact: true });

describe('encrypted backup, restore and clearing history', { timeout: 300_000 }, () => {
  let ex;
  let h;
  let fresh;
  const profileDir = makeProfileDir();
  const freshDir = makeProfileDir();
  let backupPath;
  let original;

  before(async () => {
    ex = await startExchanges({
      bitso: { accounts: { [ACCOUNT_A.apiKey]: ACCOUNT_A, [ACCOUNT_B.apiKey]: ACCOUNT_B } },
    });
    h = await launch({ profileDir, server: ex.server });
    const options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    assert.match(await addAccount(options, { ...ACCOUNT_B, passphrase: PASSPHRASE }), /^Active/);
    await options.getByRole('button', { name: 'Add alert' }).click();
    await options.getByLabel('Alert when').selectOption('totalAbove');
    await options.locator('#alert-threshold').fill('1');
    await options.getByRole('button', { name: 'Save alert' }).click();
    await until(async () => (await readStorage(h, 'local', 'alerts')).alerts?.length === 1, { message: 'the alert' });
    const popup = await openPopup(h);
    await waitIdle(popup);
    await until(async () => (await readStorage(h, 'local', 'historyView')).historyView?.storedPoints >= 1, { message: 'a history point' });
    await popup.close();
    await options.close();
    original = await readStorage(h, 'local');
  });

  after(async () => {
    for (const handle of [h, fresh]) {
      if (!handle) continue;
      assert.deepEqual(uncaughtErrors(handle), []);
      await handle.close().catch(() => {});
    }
    await ex?.close();
    removeProfileDir(profileDir);
    removeProfileDir(freshDir);
  });

  test('"Export backup" asks for the passphrase and writes one sealed file named by its date', async () => {
    const options = await openOptions(h);
    await options.getByRole('button', { name: 'Export backup' }).click();
    await options.locator('#confirm-dialog').getByLabel('Enter your passphrase to confirm').fill('not the passphrase');
    await inDialog(options, 'Export backup').click();
    await until(async () => !(await options.locator('#dialog-error').isHidden()), { message: 'the wrong passphrase refused' });
    await options.locator('#confirm-dialog').getByLabel('Enter your passphrase to confirm').fill(PASSPHRASE);
    const downloading = options.waitForEvent('download');
    await inDialog(options, 'Export backup').click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /^cartera-backup-\d{4}-\d{2}-\d{2}\.json$/);
    backupPath = join(profileDir, '..', `cartera-backup-${process.pid}.json`);
    await download.saveAs(backupPath);
    const file = readFileSync(backupPath, 'utf8');
    const header = JSON.parse(file);
    assert.equal(header.format, 'cartera-backup');
    assert.equal(header.v, 1);
    // Nothing in it is readable without the passphrase.
    for (const plain of [ACCOUNT_A.label, ACCOUNT_B.label, ACCOUNT_A.apiKey, 'totalAbove', 'hist:d:']) {
      assert.ok(!file.includes(plain), `${plain} readable in the backup`);
    }
    await until(async () => Number.isFinite((await readStorage(h, 'local', 'backupReminder')).backupReminder?.exportedAt), { message: 'the export noted' });
    await options.close();
  });

  test('"Clear history" removes the value history and nothing else', async () => {
    const options = await openOptions(h);
    await options.getByRole('button', { name: 'Clear history' }).click();
    await inDialog(options, 'Clear history').click();
    await until(async () => !Object.keys(await readStorage(h, 'local')).some((key) => key.startsWith('hist:')), { message: 'history gone' });
    const after = await readStorage(h, 'local');
    for (const key of ['vault', 'accounts', 'alerts', 'settings', 'snapshot']) assert.deepEqual(after[key], original[key], key);
    assert.equal(after.historyView, undefined);
    await options.close();
  });

  test('a fresh profile refuses a damaged file and the wrong passphrase, changing nothing', async () => {
    fresh = await launch({ profileDir: freshDir, server: ex.server });
    const options = await openOptions(fresh);
    const before = await readStorage(fresh, 'local');
    const damaged = join(freshDir, '..', `cartera-damaged-${process.pid}.json`);
    const text = readFileSync(backupPath, 'utf8');
    writeFileSync(damaged, text.slice(0, Math.floor(text.length / 2)));
    await options.locator('#backup-file').setInputFiles(damaged);
    await options.locator('#confirm-dialog').getByLabel('Backup passphrase').fill(PASSPHRASE);
    await inDialog(options, 'Open backup').click();
    await until(async () => (await options.locator('#dialog-error').textContent()) === english('error_backup_unreadable'), { message: 'the damaged file refused' });
    await inDialog(options, 'Cancel').click();

    await options.locator('#backup-file').setInputFiles(backupPath);
    await options.locator('#confirm-dialog').getByLabel('Backup passphrase').fill('correct horse battery wrong');
    await inDialog(options, 'Open backup').click();
    await until(async () => (await options.locator('#dialog-error').textContent()) === english('error_backup_wrong_passphrase'), { message: 'the wrong passphrase refused' });
    await inDialog(options, 'Cancel').click();
    assert.deepEqual(await readStorage(fresh, 'local'), before, 'nothing changed');
    await options.close();
  });

  test('"Restore backup" shows what the file holds and, confirmed, brings everything back', async () => {
    const options = await openOptions(fresh);
    await options.locator('#backup-file').setInputFiles(backupPath);
    await options.locator('#confirm-dialog').getByLabel('Backup passphrase').fill(PASSPHRASE);
    await inDialog(options, 'Open backup').click();
    await until(async () => /Accounts: 2/.test((await options.locator('#dialog-body').textContent()) ?? ''), { message: 'the summary' });
    const summary = await options.locator('#dialog-body').textContent();
    assert.match(summary, /Alerts: 1/);
    assert.match(summary, /History points: [1-9]/);
    await inDialog(options, 'Restore backup').click();
    await until(async () => (await readStorage(fresh, 'local', 'accounts')).accounts?.length === 2, { message: 'the accounts restored' });
    const restored = await readStorage(fresh, 'local');
    for (const key of ['vault', 'accounts', 'alerts', 'settings', 'portfolios']) assert.deepEqual(restored[key], original[key], key);
    for (const key of Object.keys(original).filter((key) => key.startsWith('hist:'))) assert.equal(restored[key], original[key], key);
    // Restored keys open with the passphrase they were sealed with, and value the same portfolio.
    const popup = await openPopup(fresh);
    await popup.getByLabel('Passphrase').fill(PASSPHRASE);
    await popup.getByRole('button', { name: 'Unlock' }).click();
    await waitIdle(popup);
    await clickRefresh(popup);
    const total = digitsOf(original.snapshot.total);
    await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(Number(original.snapshot.total).toFixed(2)), {
      message: `the same total (${total})`,
    });
    await popup.close();
    await options.close();
  });

  test('a restore stopped after its first write finishes on the next start, leaving nothing of the old profile', async () => {
    // What storage holds when the worker stops between the restore's write and its removals: the
    // restored items, the old profile's keys beside them, and the list of what is to go.
    const restoredItems = { ...original };
    const leftovers = { 'hist:d:1999-01-01': '{"v":1,"assets":[],"points":[]}', oldOnlyKey: 'from the old profile' };
    const interrupted = { ...restoredItems, ...leftovers, pendingRemoval: Object.keys(leftovers) };
    const dir = makeProfileDir();
    let again;
    try {
      again = await relaunchWithStorage({ profileDir: dir, server: ex.server, items: interrupted, started: (stored) => stored.formatVersion });
      const after = await until(async () => {
        const stored = await readStorage(again, 'local');
        return !('pendingRemoval' in stored) && stored;
      }, { message: 'the restore finished' });
      for (const key of Object.keys(leftovers)) assert.equal(after[key], undefined, key);
      for (const key of ['vault', 'accounts', 'alerts']) assert.deepEqual(after[key], original[key], key);
    } finally {
      await again?.close().catch(() => {});
      removeProfileDir(dir);
    }
  });
});

describe('a full storage', { timeout: 240_000 }, () => {
  let ex;
  let h;
  const profileDir = makeProfileDir();
  // What the first account holds, changed by a test.
  const holdings = { ...ACCOUNT_A, balances: [...ACCOUNT_A.balances] };

  before(async () => {
    ex = await startExchanges({ bitso: { accounts: { [ACCOUNT_A.apiKey]: holdings, [ACCOUNT_B.apiKey]: ACCOUNT_B } } });
    h = await launch({ profileDir, server: ex.server });
    const options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    const popup = await openPopup(h);
    await waitIdle(popup);
    await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot, { message: 'a snapshot' });
    await popup.close();
    await options.close();
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('history grown past its budget makes room itself: the next sync stores its snapshot and history fits again', async () => {
    // Years of old history, written as an earlier version without a budget could have: storage
    // nearly full, with history the bulk of it.
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    const stuffing = await inWorker(h, async () => {
      const quota = chrome.storage.local.QUOTA_BYTES;
      let used = await chrome.storage.local.getBytesInUse(null);
      const items = {};
      let day = Date.parse('2015-01-01T00:00:00Z');
      // Each chunk carries 40 KB of its own points, padded as many assets would make it.
      while (used < quota - 60_000) {
        const key = `hist:d:${new Date(day).toISOString().slice(0, 10)}`;
        const text = JSON.stringify({ v: 1, assets: ['btc'], points: Array.from({ length: 400 }, (_, i) => [day + i * 60_000, 'mxn', null, '1', ['1'], ['1']]) });
        items[key] = text;
        used += key.length + JSON.stringify(text).length;
        day += 86_400_000;
      }
      delete items[Object.keys(items).at(-1)];
      await chrome.storage.local.set(items);
      return { keys: Object.keys(items).length, used: await chrome.storage.local.getBytesInUse(null), quota };
    });
    assert.ok(stuffing.used > stuffing.quota - 200_000, `storage nearly full: ${stuffing.used} of ${stuffing.quota}`);
    const popup = await openPopup(h);
    await new Promise((resolve) => setTimeout(resolve, 10_500)); // prices are reused for 10 s
    await clickRefresh(popup);
    const after = await until(async () => {
      const stored = await readStorage(h, 'local');
      return stored.snapshot?.updatedAt > snapshot.updatedAt && stored;
    }, { message: 'a new snapshot stored', timeout: 30_000 });
    const used = await inWorker(h, () => chrome.storage.local.getBytesInUse(null));
    // History now fits its budget, and leaves a megabyte free for the vault and the rest.
    assert.ok(used <= stuffing.quota - 1024 * 1024, `used ${used} of ${stuffing.quota}`);
    const history = Object.keys(after).filter((key) => key.startsWith('hist:d:')).sort();
    assert.ok(history.at(-1) >= `hist:d:${new Date().toISOString().slice(0, 10)}`, 'the new point is recorded');
    assert.ok(history[0] > 'hist:d:2015-01-01', 'the oldest chunks went first');
    assert.ok(after.vault && after.accounts.length === 1, 'the vault and the accounts are intact');
    await popup.close();
  });

  test('storage full of something else: the refresh says so and nothing is lost', async () => {
    const before = await readStorage(h, 'local');
    await inWorker(h, async () => {
      // Everything history could free is gone, and the rest of the quota is taken.
      const stored = await chrome.storage.local.get(null);
      await chrome.storage.local.remove(Object.keys(stored).filter((key) => key.startsWith('hist:')));
      const quota = chrome.storage.local.QUOTA_BYTES;
      const free = quota - (await chrome.storage.local.getBytesInUse(null));
      await chrome.storage.local.set({ filler: 'x'.repeat(free - 40) });
    });
    // The account now holds more: the new snapshot is larger than the stored one.
    holdings.balances.push(balance('ltc', '3.5'), balance('qqq', '7'), balance('zzz', '11'));
    const popup = await openPopup(h);
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    await clickRefresh(popup);
    await until(async () => (await popup.locator('#error').textContent()) === english('error_storage_full'), {
      message: 'the storage-full message',
    }).catch(async (error) => {
      const stored = await readStorage(h, 'local', ['lastError', 'snapshot']);
      throw new Error(`${error.message}; shown: ${await popup.locator('#error').textContent()}; stored: ${JSON.stringify(stored.lastError)} ${stored.snapshot?.updatedAt}`);
    });
    const after = await readStorage(h, 'local');
    for (const key of ['vault', 'accounts']) assert.deepEqual(after[key], before[key], key);
    assert.equal(after.snapshot.updatedAt, before.snapshot.updatedAt, 'the last good snapshot stays');
    // Adding an account is refused the same way, and the vault stays as it was.
    const options = await openOptions(h);
    const status = await addAccount(options, { ...ACCOUNT_B, passphrase: PASSPHRASE });
    assert.equal(status, english('error_storage_full'));
    assert.deepEqual((await readStorage(h, 'local', 'vault')).vault, before.vault);
    await options.close();
    await popup.close();
  });
});
