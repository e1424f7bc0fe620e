// The demo's sample portfolio: one account on every supported exchange, with keys only the local
// stand-ins accept, added through the options page as a user would. `./build.sh demo` and the
// release's screenshots (tools/release/screenshots.mjs) show it.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { EXCHANGES } from '../../extension/shared/core-constants.js';
import { sampleAccounts } from '../e2e/exchanges.mjs';
import { addAccount, openOptions, until } from '../e2e/harness.mjs';

export const PASSPHRASE = 'demo passphrase, not a secret';

// Keys that only the local stand-ins accept: none of them is, or looks like, a real credential.
// One per exchange of the core's registry, from the stand-ins' table (tests/e2e/exchanges.mjs).
export const SAMPLES = sampleAccounts();

/** Whether the options page reads `account`'s key from a downloaded key file (Coinbase's). */
const fromKeyFile = (account) => Boolean(EXCHANGES[account.exchange]?.keyFile && account.keyFile);

/** Writes the key file of each sample that has one into `dir`; `{ exchange: path }`. */
export function writeKeyFiles(dir, tag) {
  return Object.fromEntries(SAMPLES.filter(fromKeyFile).map((account) => {
    const path = join(dir, `cartera-${tag}-${account.exchange}-key-${process.pid}.json`);
    writeFileSync(path, account.keyFile);
    return [account.exchange, path];
  }));
}

/** Adds every sample account through the options page, as a user would (choosing the key file
 * `keyFiles` names for its exchange, where there is one); returns the page. */
export async function addSamples(h, keyFiles) {
  const options = await openOptions(h);
  for (const account of SAMPLES) {
    let status;
    if (keyFiles[account.exchange]) {
      await options.getByLabel('Exchange', { exact: true }).selectOption(account.exchange);
      await options.getByLabel('Key file').setInputFiles(keyFiles[account.exchange]);
      await until(async () => (await options.getByLabel('Key name').inputValue()) !== '', { message: 'the key file read' });
      await options.locator('#label').fill(account.label);
      await options.locator('#passphrase').fill(PASSPHRASE);
      await options.locator('#save-account').click();
      await until(async () => /^Active/.test((await options.locator('#connection-status').textContent()) ?? ''), { message: `${account.exchange} saved`, timeout: 30_000 });
      status = 'Active';
    } else {
      status = await addAccount(options, { ...account, passphrase: PASSPHRASE });
    }
    assert.match(status, /^Active/, `${account.exchange}: ${status}`);
    console.log(`  added ${account.label} (${account.exchange})`);
  }
  return options;
}
