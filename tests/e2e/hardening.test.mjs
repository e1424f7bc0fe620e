// What must hold when things race or go wrong, in Chromium with the shipped build:
// - vault writes are compare-and-swap: a passphrase change from one tab against an add, a key
//   replacement or a delete from another never loses, resurrects or duplicates a key, and the
//   vault and the account list always name the same accounts;
// - Lock always wins against an unlock or an add still in flight;
// - a cached key that no longer opens the vault is dropped and the popup shows "locked";
// - redirects are refused (and never followed), oversized bodies refused, rate-limit waits capped
//   even when the exchange asks for years, and a full storage quota keeps the last snapshot.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ACCOUNT_A, ACCOUNT_B, PASSPHRASE } from './fixtures.mjs';
import {
  addAccount, assertErrorText, clickRefresh, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage,
  removeProfileDir, sendMessage, until, waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const NEW_PASSPHRASE = 'tres tristes tigres comen trigo';
const ACCOUNT_C = { label: 'Third', apiKey: 'UvWxYzAbCd', secret: 'third-secret-0123456789abcdef' };
const MAX_WAIT_MS = 15 * 60 * 1000;

/** Calls the wasm core's `method` inside an extension page, as the pages do. */
function inPage(page, method, ...args) {
  return page.evaluate(async ([name, values]) => {
    const { loadCore } = await import('../shared/core.js');
    return (await loadCore())[name](...values);
  }, [method, args]);
}

/** Every file of the profile directory, concatenated (the LevelDB logs and tables included). */
function profileBytes(dir) {
  const chunks = [];
  const walk = (path) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile() && stat.size < 64 * 1024 * 1024) chunks.push(readFileSync(full));
    }
  };
  walk(dir);
  return Buffer.concat(chunks);
}

describe('races and limits in Chromium', { timeout: 400_000 }, () => {
  let mock;
  let h;
  let tabA;
  let tabB;
  let passphrase = PASSPHRASE;
  const profileDir = makeProfileDir();
  const accounts = [ACCOUNT_A, ACCOUNT_B, ACCOUNT_C];

  before(async () => {
    mock = await startMockBitso({
      accounts: Object.fromEntries(accounts.map((a) => [a.apiKey, { secret: a.secret, balances: ACCOUNT_A.balances }])),
    });
    h = await launch({ profileDir, server: mock });
    tabA = await openOptions(h);
    assert.match(await addAccount(tabA, { ...ACCOUNT_A, passphrase }), /^Active/);
    assert.match(await addAccount(tabA, { ...ACCOUNT_B, passphrase }), /^Active/);
    tabB = await openOptions(h);
  });

  after(async () => {
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  /** The vault and the account list name the same accounts. */
  async function assertConsistent() {
    const { vault, accounts: listed } = await readStorage(h, 'local', ['vault', 'accounts']);
    const sealed = await inPage(tabA, 'vaultAccountIds', vault);
    assert.deepEqual([...sealed].sort(), listed.map((a) => a.id).sort(), 'vault and account list agree');
    return { vault, listed };
  }

  /** A passphrase change prepared in tab A from the vault as it is now, not sent yet. */
  async function preparePassphraseChange() {
    const { vault: base, accounts: listed } = await readStorage(h, 'local', ['vault', 'accounts']);
    const exchanges = JSON.stringify(Object.fromEntries(listed.map((a) => [a.id, a.exchange])));
    const sealed = await inPage(tabA, 'changePassphrase', base, passphrase, NEW_PASSPHRASE, exchanges);
    return { type: 'changePassphrase', vault: sealed.vault, vaultKey: sealed.vaultKey, base };
  }

  test('passphrase change against an add in another tab: the later write is refused', async () => {
    const change = await preparePassphraseChange();
    assert.match(await addAccount(tabB, { ...ACCOUNT_C, passphrase }), /^Active/);
    const { vault: afterAdd } = await assertConsistent();
    const reply = await sendMessage(tabA, change);
    assert.deepEqual(reply, { ok: false, error: { code: 'vault_changed' } });
    const { vault, listed } = await assertConsistent();
    assert.equal(vault, afterAdd, 'nothing was written');
    assert.equal(listed.length, 3);
  });

  test('passphrase change against a key replacement in another tab', async () => {
    const change = await preparePassphraseChange();
    const { accounts: listed } = await readStorage(h, 'local', 'accounts');
    const target = listed.find((a) => a.label === ACCOUNT_B.label);
    await tabB.reload();
    await tabB.locator(`[data-account-id="${target.id}"] .replace`).click();
    const rotated = { apiKey: 'RotatedKey0099', secret: 'rotated-secret-0099' };
    mock.setAccount(rotated.apiKey, { secret: rotated.secret, balances: ACCOUNT_B.balances });
    assert.match(await addAccount(tabB, { label: ACCOUNT_B.label, ...rotated, passphrase }), /^Active/);
    const { vault: afterReplace } = await assertConsistent();
    assert.deepEqual(await sendMessage(tabA, change), { ok: false, error: { code: 'vault_changed' } });
    assert.equal((await assertConsistent()).vault, afterReplace, 'the old key is not brought back');
  });

  test('passphrase change against a delete in another tab: the deleted key stays deleted', async () => {
    const change = await preparePassphraseChange();
    const { vault: before, accounts: listed } = await readStorage(h, 'local', ['vault', 'accounts']);
    const victim = listed.find((a) => a.label === ACCOUNT_C.label);
    const sealedBefore = JSON.parse(before).accounts.find((a) => a.id === victim.id).ct;
    await tabB.reload();
    await tabB.locator(`[data-account-id="${victim.id}"] .delete`).click();
    await tabB.locator('#dialog-confirm').click();
    await tabB.locator(`[data-account-id="${victim.id}"]`).waitFor({ state: 'detached' });
    assert.deepEqual(await sendMessage(tabA, change), { ok: false, error: { code: 'vault_changed' } });
    const { vault } = await assertConsistent();
    assert.ok(!vault.includes(victim.id) && !vault.includes(sealedBefore), 'the deleted entry is gone from the vault');
    const { nonces } = await readStorage(h, 'local', 'nonces');
    assert.ok(!(victim.id in (nonces ?? {})), 'and its nonce with it');
    const everything = JSON.stringify(await readStorage(h, 'local'));
    assert.ok(!everything.includes(sealedBefore), 'no copy of the deleted ciphertext anywhere in storage');
    for (const secret of [ACCOUNT_C.secret, ACCOUNT_C.apiKey]) {
      assert.ok(!profileBytes(profileDir).includes(Buffer.from(secret)), 'never in plain text in the profile files');
    }
  });

  test('an add prepared before a passphrase change lands after it: refused, nothing lost', async () => {
    const { vault: base } = await readStorage(h, 'local', 'vault');
    const staleKey = await inPage(tabB, 'unlockVault', base, passphrase);
    const change = await preparePassphraseChange();
    assert.deepEqual(await sendMessage(tabA, change), { ok: true });
    passphrase = NEW_PASSPHRASE;
    const { vault: changed } = await assertConsistent();
    const reply = await sendMessage(tabB, {
      type: 'addAccount', label: ACCOUNT_C.label, exchange: 'bitso', apiKey: ACCOUNT_C.apiKey, apiSecret: ACCOUNT_C.secret,
      vaultKey: staleKey, base,
    });
    assert.equal(reply.ok, false);
    assert.ok(['vault_changed', 'wrong_passphrase'].includes(reply.error.code), reply.error.code);
    assert.equal((await assertConsistent()).vault, changed);
    // The page says so in words.
    await tabB.reload();
    await tabB.fill('#label', 'stale');
    const status = await addAccount(tabB, { ...ACCOUNT_C, passphrase: PASSPHRASE });
    assert.equal(status, 'Wrong passphrase, or the vault is damaged.');
  });

  test('an unlock and a Lock at the same time end locked, in either order', async () => {
    const popup = await openPopup(h);
    const { vault } = await readStorage(h, 'local', 'vault');
    for (const order of ['unlock-first', 'lock-first']) {
      const state = await sendMessage(popup, { type: 'getState' });
      const vaultKey = await inPage(popup, 'unlockVault', vault, passphrase);
      const unlock = { type: 'unlock', vaultKey, epoch: state.lockEpoch };
      const messages = order === 'unlock-first' ? [unlock, { type: 'lock' }] : [{ type: 'lock' }, unlock];
      await popup.evaluate((ms) => Promise.all(ms.map((m) => chrome.runtime.sendMessage(m))), messages);
      const session = await readStorage(h, 'session');
      assert.equal(session.vaultKey, undefined, `${order}: no key left`);
      assert.notEqual(session.unlocked, true, `${order}: not unlocked`);
    }
    await popup.close();
  });

  test('a Lock stops an add in flight: nothing more is signed, nothing saved, still locked', async () => {
    const popup = await openPopup(h);
    await popup.locator('#unlock-passphrase').fill(passphrase);
    await popup.locator('#unlock').click();
    await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    const before = (await readStorage(h, 'local', 'accounts')).accounts.length;
    mock.setLatency(2500);
    let sent;
    try {
      const started = mock.balanceRequests().length;
      const added = addAccount(tabA, { ...ACCOUNT_C, passphrase });
      // Lock while the background is checking the new key with the exchange.
      await until(() => mock.balanceRequests().length > started, { message: 'the key test under way' });
      sent = mock.balanceRequests().length;
      await sendMessage(popup, { type: 'lock' });
      assert.match(await added, /stopped before it finished/);
    } finally {
      mock.setLatency(0);
    }
    assert.equal(mock.balanceRequests().length, sent, 'nothing signed after the Lock');
    assert.equal((await readStorage(h, 'local', 'accounts')).accounts.length, before, 'nothing added');
    const session = await readStorage(h, 'session');
    assert.equal(session.vaultKey, undefined, 'still locked');
    await assertConsistent();
    await popup.close();
  });

  test('a cached key that no longer opens the vault is dropped: the popup shows locked', async () => {
    await inWorker(h, () => chrome.storage.session.set({ vaultKey: 'A'.repeat(43) + '=', unlocked: true }));
    const popup = await openPopup(h);
    await popup.locator('#refresh').click();
    await popup.locator('#unlock-form').waitFor({ state: 'visible' });
    assert.equal(await popup.locator('#error').isVisible(), false, 'no "wrong passphrase" scare');
    assert.equal((await readStorage(h, 'session')).vaultKey, undefined);
    const { accounts } = await readStorage(h, 'local', 'accounts');
    assert.ok(accounts.every((a) => a.status !== 'error' || a.error?.code !== 'wrong_passphrase'), 'no account marked broken');
    await popup.locator('#unlock-passphrase').fill(passphrase);
    await popup.locator('#unlock').click();
    await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    await waitIdle(popup);
    await popup.close();
  });

  test('a redirect is refused and never followed', async () => {
    const popup = await openPopup(h);
    await waitIdle(popup);
    mock.setFault('*', 'redirect');
    try {
      await clickRefresh(popup);
    } finally {
      mock.clearFaults();
    }
    const { lastError } = await readStorage(h, 'local', 'lastError');
    assert.equal(lastError?.code, 'offline');
    assert.deepEqual(mock.strays(), [], 'nothing reached the host the redirect named');
    assert.ok(!h.requests.some((url) => url.includes('invalid-exchange.example')), 'the browser never asked for it');
    await clickRefresh(popup);
    await popup.close();
  });

  test('an oversized answer is refused unread', async () => {
    const popup = await openPopup(h);
    await waitIdle(popup);
    mock.setFault('*', 'huge');
    try {
      await clickRefresh(popup);
    } finally {
      mock.clearFaults();
    }
    const { lastError } = await readStorage(h, 'local', 'lastError');
    assert.equal(lastError?.code, 'response_too_large');
    assertErrorText(await popup.locator('#error').textContent(), lastError);
    await clickRefresh(popup);
    await popup.close();
  });

  test('a Retry-After of years blocks for at most 15 minutes, also across a restart', async () => {
    let popup = await openPopup(h);
    await waitIdle(popup);
    mock.setFault('*', 'retry-after:99999999999999999999', { times: 10 });
    await clickRefresh(popup);
    mock.clearFaults();
    const { lockouts, lastError } = await readStorage(h, 'local', ['lockouts', 'lastError']);
    assert.equal(lastError?.code, 'rate_limited');
    assert.ok(lastError.retryAt - Date.now() <= MAX_WAIT_MS && lastError.retryAt > Date.now());
    assert.ok(lockouts.bitso - Date.now() <= MAX_WAIT_MS, 'stored capped');
    // The message names the time, and stays true: it is not "in N s" frozen on screen.
    assertErrorText(await popup.locator('#error').textContent(), lastError);
    assert.match(await popup.locator('#error').textContent(), /Refresh works again at /);

    // A stored time a year ahead (tampered, or the clock went back) is ignored after a restart.
    await inWorker(h, (at) => chrome.storage.local.set({ lockouts: { bitso: at } }), Date.now() + 365 * 24 * 3_600_000);
    await h.close();
    h = await launch({ profileDir, server: mock });
    tabA = await openOptions(h);
    popup = await openPopup(h);
    await popup.locator('#unlock-passphrase').fill(passphrase);
    await popup.locator('#unlock').click();
    await popup.locator('#unlock-form').waitFor({ state: 'hidden' });
    await waitIdle(popup);
    await clickRefresh(popup);
    const after = await readStorage(h, 'local', ['lastError', 'lockouts']);
    assert.equal(after.lastError, null, 'refresh worked');
    assert.deepEqual(after.lockouts, {});
    await popup.close();
  });

  test('a full storage quota is said plainly, and nothing stored changes', async () => {
    const popup = await openPopup(h);
    await waitIdle(popup);
    const before = await readStorage(h, 'local', ['snapshot', 'vault', 'accounts']);
    // Fill storage.local up to Chrome's 10 MB quota with something that is not history (history
    // would be thinned to make room: backup.test.mjs), so any write that grows it fails.
    await inWorker(h, async () => {
      const history = Object.keys(await chrome.storage.local.get(null)).filter((key) => key.startsWith('hist:'));
      await chrome.storage.local.remove(history);
      const used = await chrome.storage.local.getBytesInUse(null);
      await chrome.storage.local.set({ filler: 'x'.repeat(chrome.storage.local.QUOTA_BYTES - used - 8 - 'filler'.length) });
    });
    mock.setAccount('QuotaKey0001', { secret: 'quota-secret-0001', balances: ACCOUNT_A.balances });
    const status = await addAccount(tabA, { label: 'Quota', apiKey: 'QuotaKey0001', secret: 'quota-secret-0001', passphrase });
    assertErrorText(status, { code: 'storage_full' });
    const after = await readStorage(h, 'local', ['snapshot', 'vault', 'accounts']);
    assert.deepEqual(after, before, 'vault, accounts and snapshot are as they were');
    await inWorker(h, () => chrome.storage.local.remove('filler'));
    await clickRefresh(popup);
    await popup.close();
  });
});
