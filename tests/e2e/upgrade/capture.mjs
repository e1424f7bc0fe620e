// Records what this version stores after a realistic session on every exchange, for the next
// version's upgrade test (tests/e2e/upgrade.test.mjs), with the keys the stand-ins need to accept
// its vault again (the Coinbase stand-in's key is new in every run):
//
//   ./build.sh && node tests/e2e/upgrade/capture.mjs tests/e2e/upgrade/storage-<version>.json
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { sampleExchanges, startExchanges } from '../exchanges.mjs';
import { balance } from '../fixtures.mjs';
import {
  addAccount, clickRefresh, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, sendMessage,
  until, waitIdle,
} from '../harness.mjs';
import * as coinbase from '../mocks/coinbase.mjs';
import * as binance from '../mocks/binance.mjs';
import * as bitfinex from '../mocks/bitfinex.mjs';
import * as kraken from '../mocks/kraken.mjs';

const PASSPHRASE = 'upgrade test passphrase 0.1.0';
const BITSO = { exchange: 'bitso', label: 'Mi Bitso', apiKey: 'UPGRADEbitsoKey01', secret: 'upgrade-secret-for-the-local-bitso',
  balances: [balance('mxn', '18250.40'), balance('btc', '0.0423'), balance('eth', '1.25')] };
const ex = await startExchanges(sampleExchanges({ bitso: BITSO }));
const profileDir = makeProfileDir();
const keyFile = join(profileDir, '..', `capture-coinbase-${process.pid}.json`);
writeFileSync(keyFile, coinbase.SAMPLE_ACCOUNT.keyFile);
const h = await launch({ profileDir, server: ex.server });
try {
  const options = await openOptions(h);
  for (const account of [BITSO, { ...kraken.SAMPLE_ACCOUNT, exchange: 'kraken' }, { ...binance.SAMPLE_ACCOUNT, exchange: 'binance' }, { ...bitfinex.SAMPLE_ACCOUNT, exchange: 'bitfinex' }]) {
    const status = await addAccount(options, { ...account, passphrase: PASSPHRASE });
    if (!/^Active/.test(status)) throw new Error(`${account.exchange}: ${status}`);
  }
  await options.getByLabel('Exchange', { exact: true }).selectOption('coinbase');
  await options.getByLabel('Key file').setInputFiles(keyFile);
  await until(async () => (await options.getByLabel('Key name').inputValue()) !== '', { message: 'the key file read' });
  await options.locator('#label').fill(coinbase.SAMPLE_ACCOUNT.label);
  await options.locator('#passphrase').fill(PASSPHRASE);
  await options.locator('#save-account').click();
  await until(async () => /^Active/.test((await options.locator('#connection-status').textContent()) ?? ''), { message: 'Coinbase saved', timeout: 30_000 });

  const reply = await sendMessage(options, { type: 'savePortfolio', name: 'Negocio' });
  const business = reply.portfolios.find((p) => p.name === 'Negocio').id;
  const { accounts } = await readStorage(h, 'local', 'accounts');
  await sendMessage(options, { type: 'setAccount', id: accounts.find((a) => a.exchange === 'kraken').id, portfolio: business });
  await sendMessage(options, { type: 'setAccount', id: accounts.find((a) => a.exchange === 'bitfinex').id, importBalance: false });
  await sendMessage(options, { type: 'saveHolding', holding: { portfolio: 'main', asset: 'BTC', amount: '0,5', note: 'Ledger', decimalMark: ',' } });
  await sendMessage(options, { type: 'saveHolding', holding: { portfolio: business, asset: 'usdt', amount: '1200', note: '' } });
  await sendMessage(options, { type: 'saveAlert', alert: { kind: 'priceAbove', asset: 'btc', threshold: '3000000', currency: 'mxn' } });
  await sendMessage(options, { type: 'saveAlert', alert: { kind: 'move24h', asset: 'eth', percent: '7,5', currency: 'mxn' }, decimalMark: ',' });
  await sendMessage(options, { type: 'saveAlert', alert: { kind: 'accountFailing', currency: 'mxn' } });
  await sendMessage(options, { type: 'saveAlert', alert: { kind: 'totalBelow', threshold: '10', currency: 'mxn', paused: true } });
  await sendMessage(options, { type: 'setSettings', settings: { badge: 'total', syncMinutes: 30, theme: 'dark', hideBelow: '5' } });
  const popup = await openPopup(h);
  await waitIdle(popup);
  for (let i = 0; i < 2; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    await clickRefresh(popup);
  }
  await until(async () => Object.keys(await readStorage(h, 'local')).some((key) => key.startsWith('hist:p:')), { message: 'history' });
  const local = await readStorage(h, 'local');
  const manifest = await inWorker(h, () => chrome.runtime.getManifest().version);
  const recorded = { version: manifest, passphrase: PASSPHRASE, bitso: BITSO, coinbase: { apiKey: coinbase.SAMPLE_ACCOUNT.apiKey, secret: coinbase.SAMPLE_ACCOUNT.secret }, local };
  writeFileSync(process.argv[2], `${JSON.stringify(recorded, null, 2)}\n`);
  console.log('written', process.argv[2], Object.keys(local).length, 'keys');
} finally {
  await h.close().catch(() => {});
  await ex.close();
  removeProfileDir(profileDir);
  rmSync(keyFile, { force: true });
}
