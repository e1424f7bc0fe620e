// The demo's sample portfolio: one account on every supported exchange, with keys only the local
// stand-ins accept, added through the options page as a user would. `./build.sh demo` and the
// release's screenshots (tools/release/screenshots.mjs) show it.

import assert from 'node:assert/strict';

import { balance } from '../e2e/fixtures.mjs';
import { addAccount, openOptions, until } from '../e2e/harness.mjs';
import * as binance from '../e2e/mocks/binance.mjs';
import * as bitfinex from '../e2e/mocks/bitfinex.mjs';
import * as bybit from '../e2e/mocks/bybit.mjs';
import * as coinbase from '../e2e/mocks/coinbase.mjs';
import * as kraken from '../e2e/mocks/kraken.mjs';

export const PASSPHRASE = 'demo passphrase, not a secret';

// Keys that only the local stand-ins accept: none of them is, or looks like, a real credential.
export const BITSO = {
  exchange: 'bitso',
  label: 'Bitso',
  apiKey: 'DEMOnotARealBitsoKey',
  secret: 'demo-secret-only-the-local-bitso-stand-in-accepts',
  balances: [balance('mxn', '18250.40'), balance('btc', '0.0423'), balance('eth', '1.25'), balance('xrp', '800'), balance('usd', '120.00')],
  // The ledger that leaves those balances (Bitso's shape: https://docs.bitso.com/bitso-api/docs/list-ledger),
  // for the Profit and loss page.
  ledger: [
    ledgerRow('demo-1', 'funding', '2025-06-02T15:04:05.000+00:00', [['mxn', '156675.40']]),
    ledgerRow('demo-2', 'funding', '2025-06-02T15:10:00.000+00:00', [['usd', '120.00']]),
    ledgerRow('demo-3', 'trade', '2025-06-10T18:30:00.000+00:00', [['btc', '0.03000000'], ['mxn', '-45000.00']]),
    ledgerRow('demo-4', 'fee', '2025-06-10T18:30:00.000+00:00', [['mxn', '-225.00']]),
    ledgerRow('demo-5', 'trade', '2025-07-15T12:00:00.000+00:00', [['eth', '1.25000000'], ['mxn', '-62500.00']]),
    ledgerRow('demo-6', 'trade', '2025-09-01T09:45:00.000+00:00', [['btc', '0.01230000'], ['mxn', '-21500.00']]),
    ledgerRow('demo-7', 'trade', '2025-10-01T20:15:00.000+00:00', [['xrp', '800.00000000'], ['mxn', '-9200.00']]),
  ],
};

function ledgerRow(eid, operation, createdAt, updates) {
  return { eid, operation, created_at: createdAt, balance_updates: updates.map(([currency, amount]) => ({ currency, amount })), details: {} };
}
export const SAMPLES = [
  BITSO,
  { ...kraken.SAMPLE_ACCOUNT, exchange: 'kraken' },
  { ...binance.SAMPLE_ACCOUNT, exchange: 'binance' },
  { ...bitfinex.SAMPLE_ACCOUNT, exchange: 'bitfinex' },
  { ...coinbase.SAMPLE_ACCOUNT, exchange: 'coinbase' },
  { ...bybit.SAMPLE_ACCOUNT, exchange: 'bybit' },
];

/** What each sample account holds, for the independent valuation. */
export function holdings(account) {
  switch (account.exchange) {
    case 'bitso': return Object.fromEntries(account.balances.map((b) => [b.currency, b.total]));
    case 'kraken': return kraken.expectedHoldings(account);
    case 'binance': return binance.expectedHoldings(account);
    case 'bitfinex': return bitfinex.expectedHoldings(account);
    case 'coinbase': return coinbase.expectedHoldings(account);
    case 'bybit': return bybit.expectedHoldings(account);
    default: throw new Error(account.exchange);
  }
}

/** Adds every sample account through the options page, as a user would; returns the page. */
export async function addSamples(h, keyFile) {
  const options = await openOptions(h);
  for (const account of SAMPLES) {
    let status;
    if (account.exchange === 'coinbase') {
      await options.getByLabel('Exchange', { exact: true }).selectOption('coinbase');
      await options.getByLabel('Key file').setInputFiles(keyFile);
      await until(async () => (await options.getByLabel('Key name').inputValue()) !== '', { message: 'the key file read' });
      await options.locator('#label').fill(account.label);
      await options.locator('#passphrase').fill(PASSPHRASE);
      await options.locator('#save-account').click();
      await until(async () => /^Active/.test((await options.locator('#connection-status').textContent()) ?? ''), { message: 'Coinbase saved', timeout: 30_000 });
      status = 'Active';
    } else {
      status = await addAccount(options, { ...account, passphrase: PASSPHRASE });
    }
    assert.match(status, /^Active/, `${account.exchange}: ${status}`);
    console.log(`  added ${account.label} (${account.exchange})`);
  }
  return options;
}
