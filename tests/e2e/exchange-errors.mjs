// What every exchange's end-to-end test checks of its errors: each fault its stand-in can serve
// ends the refresh with the account's own message in the popup, names the exchange, and keeps
// the last total; a rate limit sets the exchange's lockout, waited out before the next test.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertErrorText, clickRefresh, english, readStorage, until } from './harness.mjs';

/** Clicks Refresh in `popup` and waits for a newer snapshot: the one before and the new one. */
export async function refreshed(h, popup) {
  const { snapshot: before } = await readStorage(h, 'local', 'snapshot');
  await clickRefresh(popup);
  const { snapshot } = await until(async () => {
    const stored = await readStorage(h, 'local', 'snapshot');
    return stored.snapshot?.updatedAt > before.updatedAt ? stored : null;
  }, { message: 'a newer snapshot' });
  return { before, snapshot };
}

/**
 * One test per `[fault, code]` of `failures`, inside the caller's `describe`: the stand-in of
 * `exchange` serves `fault` to the key `apiKey` of the account labelled `label`, and the refresh
 * must end with `code`. `context()` gives `{ ex, h, popup }` once the suite's setup has run.
 */
export function errorKindTests({ exchange, label, apiKey, failures, context }) {
  const name = english(`exchange_${exchange}`);
  for (const [fault, code] of failures) {
    test(`${fault}: the account keeps its last balances with its own message`, async () => {
      const { ex, h, popup } = context();
      const { snapshot: was } = await readStorage(h, 'local', 'snapshot');
      const id = was.accounts.find((account) => account.exchange === exchange).id;
      ex.mocks[exchange].setFault(apiKey, fault);
      try {
        const { before, snapshot } = await refreshed(h, popup);
        const failed = snapshot.accounts.find((account) => account.id === id);
        assert.equal(failed.error?.code, code);
        assert.equal(failed.error?.exchange, exchange);
        assert.equal(snapshot.total, before.total, 'the last total is kept');
        const box = popup.locator('#error');
        await box.waitFor({ state: 'visible' });
        const text = (await box.textContent()).trim();
        const prefix = `${label} (${name}): `;
        assert.ok(text.startsWith(prefix), `${text} starts with ${prefix}`);
        assertErrorText(text.slice(prefix.length), failed.error, `${exchange} ${code}`);
      } finally {
        ex.mocks[exchange].clearFaults();
      }
      if (code === 'rate_limited') {
        const { lockouts } = await readStorage(h, 'local', 'lockouts');
        const retryAt = lockouts[exchange];
        assert.ok(retryAt > Date.now() && retryAt - Date.now() <= 15 * 60_000, JSON.stringify(lockouts));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, retryAt - Date.now() + 200)));
      }
      await clickRefresh(popup);
      await until(async () => (await readStorage(h, 'local', 'snapshot')).snapshot.accounts.every((account) => account.error === null), {
        message: 'the account recovers', timeout: 20_000,
      });
    });
  }
}
