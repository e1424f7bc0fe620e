// An update must lose nothing: a profile written by version 0.1.0 (recorded by upgrade/capture.mjs
// after a session on every exchange: two portfolios, an account left out of the totals, manual
// holdings, four alerts, settings and history) keeps every account, portfolio, holding, alert,
// setting and history point, and its keys still open with the old passphrase.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { sampleExchanges, startExchanges } from './exchanges.mjs';
import { makeProfileDir, openPopup, readStorage, relaunchWithStorage, removeProfileDir, uncaughtErrors, until, waitIdle } from './harness.mjs';
import * as coinbase from './mocks/coinbase.mjs';

const RECORDED = JSON.parse(readFileSync(new URL('./upgrade/storage-0.1.0.json', import.meta.url), 'utf8'));
const OLD = RECORDED.local;

/** Every point time the stored history chunks of one series hold (keys starting with a prefix). */
function pointTimes(stored, prefixes) {
  return Object.entries(stored)
    .filter(([key]) => prefixes.some((prefix) => key.startsWith(prefix)))
    .flatMap(([, text]) => JSON.parse(text).points.map((point) => point[0]));
}

/** The last point of each UTC day: what every tier of the history keeps for good. */
function lastOfEachDay(times) {
  const days = new Map();
  for (const t of times) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.set(day, Math.max(days.get(day) ?? 0, t));
  }
  return [...days.values()].sort();
}

describe('a profile from version 0.1.0', { timeout: 240_000 }, () => {
  let ex;
  let h;
  const profileDir = makeProfileDir();
  const log = { console: [], requests: [] };

  before(async () => {
    ex = await startExchanges(sampleExchanges({ bitso: RECORDED.bitso, coinbase: { ...coinbase.SAMPLE_ACCOUNT, ...RECORDED.coinbase } }));
    h = await relaunchWithStorage({ profileDir, server: ex.server, log, items: OLD, started: (stored) => stored.formatVersion });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('keeps every account, portfolio, holding, alert, setting and history point', async () => {
    const upgraded = await until(async () => {
      const stored = await readStorage(h, 'local');
      return stored.formatVersion === 3 && stored;
    }, { message: 'the upgrade' });
    assert.equal(upgraded.vault, OLD.vault, 'the vault is untouched');
    assert.deepEqual(upgraded.portfolios, OLD.portfolios);
    assert.deepEqual(upgraded.manual, OLD.manual);
    assert.deepEqual(upgraded.alerts, OLD.alerts);
    assert.deepEqual(upgraded.settings, OLD.settings);
    assert.deepEqual(upgraded.nonces, OLD.nonces);
    // Each account as it was, its scope now with the core's verdict beside the flags.
    assert.equal(upgraded.accounts.length, OLD.accounts.length);
    for (const [now, before] of upgraded.accounts.map((account, i) => [account, OLD.accounts[i]])) {
      const { scope, ...rest } = now;
      const { scope: oldScope, ...oldRest } = before;
      assert.deepEqual(rest, oldRest, before.label);
      assert.deepEqual(scope, oldScope === null ? null : { ...oldScope, readOnly: !(oldScope.trade || oldScope.withdraw || oldScope.transfer) });
    }
    for (const key of Object.keys(OLD).filter((key) => key.startsWith('hist:'))) assert.equal(upgraded[key], OLD[key], key);
  });

  test('opens every key with the old passphrase and adds to the same history', async () => {
    const popup = await openPopup(h);
    await popup.getByLabel('Passphrase').fill(RECORDED.passphrase);
    await popup.getByRole('button', { name: 'Unlock' }).click();
    await waitIdle(popup);
    const stored = await until(async () => {
      const local = await readStorage(h, 'local');
      return local.snapshot && local.snapshot.updatedAt > OLD.snapshot.updatedAt && local;
    }, { message: 'a new snapshot', timeout: 30_000 });
    // The vault moved on to format 3 (passphrase in NFC) under the same salt: this passphrase
    // is ASCII, so its key is the one it always was.
    const [oldVault, newVault] = [JSON.parse(OLD.vault), JSON.parse(stored.vault)];
    assert.deepEqual(
      [oldVault.v, newVault.v, newVault.salt, newVault.accounts.map((entry) => entry.id)],
      [2, 3, oldVault.salt, oldVault.accounts.map((entry) => entry.id)],
    );
    // Every imported account updated with its old key; the one left out stays out.
    const imported = OLD.accounts.filter((account) => account.importBalance);
    assert.deepEqual(stored.snapshot.accounts.filter((entry) => entry.exchange).map((entry) => entry.id).sort(), imported.map((a) => a.id).sort());
    assert.ok(stored.snapshot.accounts.every((entry) => entry.error === null), JSON.stringify(stored.snapshot.accounts.map((a) => a.error)));
    assert.ok(stored.accounts.filter((account) => account.importBalance).every((account) => account.status === 'active'));
    // The manual holdings are still counted, in their portfolios.
    assert.deepEqual(stored.snapshot.accounts.filter((entry) => !entry.exchange).map((entry) => entry.id).sort(), OLD.snapshot.accounts.filter((entry) => !entry.exchange).map((entry) => entry.id).sort());
    // Every series keeps what every tier keeps of its old points, and gains the new one.
    const series = [['hist:d:', 'hist:m:'], ...OLD.portfolios.map((portfolio) => [`hist:p:${portfolio.id}:`])];
    await until(async () => pointTimes(await readStorage(h, 'local'), series[0]).includes(stored.snapshot.updatedAt), { message: 'the new point' });
    const after = await readStorage(h, 'local');
    for (const prefixes of series) {
      const now = pointTimes(after, prefixes);
      for (const t of lastOfEachDay(pointTimes(OLD, prefixes))) assert.ok(now.includes(t), `${prefixes[0]}: the point of ${new Date(t).toISOString()}`);
    }
    await popup.close();
  });
});
