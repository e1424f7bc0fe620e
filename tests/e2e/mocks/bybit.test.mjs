// The Bybit mock on its own (no browser): requests signed here with node:crypto, over TLS, under
// the real host name.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createBybit, expectedHoldings, HOST, SAMPLE_ACCOUNT, SAMPLE_MARKETS, TRADING_PERMISSIONS } from './bybit.mjs';

const WALLET = '/v5/account/wallet-balance';
const FUND = '/v5/asset/transfer/query-account-coins-balance';
const KEY = '/v5/user/query-api';

/** Bybit's signature, computed here independently of the mock. */
function signature(secret, timestamp, key, recvWindow, query) {
  return createHmac('sha256', secret).update(String(timestamp) + key + recvWindow + query).digest('hex');
}

let certificate;
function send(port, path, headers = {}) {
  return requestMock({ port, host: HOST, ca: certificate, method: 'GET', path, headers });
}

function signedGet(port, account, pathname, query = '', { timestamp = Date.now(), recvWindow = '10000', secret = account.secret, key = account.apiKey } = {}) {
  const path = query ? `${pathname}?${query}` : pathname;
  return send(port, path, {
    'x-bapi-api-key': key,
    'x-bapi-timestamp': String(timestamp),
    'x-bapi-recv-window': recvWindow,
    'x-bapi-sign': signature(secret, timestamp, key, recvWindow, query),
  });
}

const body = (response) => response.body;

describe('mock Bybit', () => {
  let mock;
  let server;
  before(async () => {
    mock = createBybit({ accounts: { [SAMPLE_ACCOUNT.apiKey]: { ...SAMPLE_ACCOUNT } } });
    server = await startMockServer([mock]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());

  test('serves both wallets to a correctly signed request', async () => {
    const unified = body(await signedGet(server.port, SAMPLE_ACCOUNT, WALLET, 'accountType=UNIFIED'));
    assert.equal(unified.retCode, 0);
    assert.deepEqual(unified.result.list[0].coin.map((row) => row.coin), ['BTC', 'ETH', 'USDT', 'MNT']);
    const fund = body(await signedGet(server.port, SAMPLE_ACCOUNT, FUND, 'accountType=FUND'));
    assert.deepEqual(fund.result.balance.map((row) => row.coin), ['USDT', 'BTC', 'USDC']);
    assert.equal(body(await signedGet(server.port, SAMPLE_ACCOUNT, WALLET, 'accountType=CONTRACT')).retCode, 10001);
  });

  test('checks the key, the signature and the time window', async () => {
    const other = { apiKey: 'NotAKeyTheMockKnow', secret: 'x' };
    assert.equal(body(await signedGet(server.port, other, WALLET, 'accountType=UNIFIED')).retCode, 10003);
    const wrongSecret = await signedGet(server.port, SAMPLE_ACCOUNT, WALLET, 'accountType=UNIFIED', { secret: 'wrong' });
    assert.equal(body(wrongSecret).retCode, 10004);
    const late = await signedGet(server.port, SAMPLE_ACCOUNT, KEY, '', { timestamp: Date.now() - 20_000 });
    assert.equal(body(late).retCode, 10002);
    const ahead = await signedGet(server.port, SAMPLE_ACCOUNT, KEY, '', { timestamp: Date.now() + 5_000 });
    assert.equal(body(ahead).retCode, 10002);
    mock.setClockOffset(5_000);
    assert.equal(body(await signedGet(server.port, SAMPLE_ACCOUNT, KEY, '', { timestamp: Date.now() + 5_000 })).retCode, 0);
    mock.setClockOffset(0);
  });

  test('reports the key as read-only, or what a read-write key may do', async () => {
    const readOnly = body(await signedGet(server.port, SAMPLE_ACCOUNT, KEY));
    assert.equal(readOnly.result.readOnly, 1);
    mock.setAccount(SAMPLE_ACCOUNT.apiKey, { ...SAMPLE_ACCOUNT, readOnly: 0, permissions: TRADING_PERMISSIONS });
    const readWrite = body(await signedGet(server.port, SAMPLE_ACCOUNT, KEY));
    assert.equal(readWrite.result.readOnly, 0);
    assert.deepEqual(readWrite.result.permissions.Wallet, ['AccountTransfer', 'Withdraw']);
    mock.setAccount(SAMPLE_ACCOUNT.apiKey, { ...SAMPLE_ACCOUNT });
  });

  test('public time and spot tickers, unsigned', async () => {
    const time = body(await send(server.port, '/v5/market/time'));
    assert.ok(Math.abs(time.time - Date.now()) < 5_000);
    const tickers = body(await send(server.port, '/v5/market/tickers?category=spot'));
    assert.equal(tickers.result.list.length, SAMPLE_MARKETS.length);
    assert.deepEqual(tickers.result.list[0].symbol, 'BTCUSDT');
    assert.equal(mock.books()[0].change, '1110.4');
  });

  test('faults answer as Bybit does', async () => {
    for (const [fault, check] of [
      ['error:10005', (r) => assert.equal(body(r).retCode, 10005)],
      ['error:10006', (r) => assert.equal(body(r).retCode, 10006)],
      ['ip-limit', (r) => assert.deepEqual([r.status, r.text], [403, '403, access too frequent'])],
      ['geo', (r) => assert.equal(r.status, 403)],
      ['http:503', (r) => assert.equal(r.status, 503)],
      ['retry-after:7', (r) => assert.deepEqual([r.status, r.headers['retry-after']], [429, '7'])],
    ]) {
      mock.setFault(SAMPLE_ACCOUNT.apiKey, fault, { times: 1 });
      check(await signedGet(server.port, SAMPLE_ACCOUNT, WALLET, 'accountType=UNIFIED'));
    }
    assert.equal(body(await signedGet(server.port, SAMPLE_ACCOUNT, WALLET, 'accountType=UNIFIED')).retCode, 0, 'a fault of one time clears');
    assert.throws(() => mock.setFault('*', 'nonsense'));
  });

  test('the independent holdings of the sample account', () => {
    assert.deepEqual(expectedHoldings(SAMPLE_ACCOUNT), { btc: '0.43', eth: '3', usdt: '1820.75', mnt: '800' });
  });
});
