// The KuCoin mock on its own (no browser): requests signed here with node:crypto, over TLS, under
// the real host name.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createKucoin, expectedHoldings, HOST, SAMPLE_ACCOUNT, TRADING_ACCOUNT } from './kucoin.mjs';

const A = SAMPLE_ACCOUNT;

/** KuCoin's signature and signed passphrase, computed here independently of the mock. */
const hmac = (secret, text) => createHmac('sha256', secret).update(text).digest('base64');

let certificate;
function send(port, path, headers = {}) {
  return requestMock({ port, host: HOST, ca: certificate, method: 'GET', path, headers });
}

function signedGet(port, path, { account = A, at = Date.now(), passphrase = account.apiPassphrase, secret = account.secret, version = '2' } = {}) {
  return send(port, path, {
    'KC-API-KEY': account.apiKey,
    'KC-API-SIGN': hmac(secret, `${at}GET${path}`),
    'KC-API-TIMESTAMP': String(at),
    'KC-API-PASSPHRASE': hmac(account.secret, passphrase),
    'KC-API-KEY-VERSION': version,
  });
}

describe('KuCoin mock', () => {
  let server;
  let kucoin;
  before(async () => {
    kucoin = createKucoin({ accounts: { [A.apiKey]: A, [TRADING_ACCOUNT.apiKey]: TRADING_ACCOUNT }, clockOffsetMs: 120_000 });
    server = await startMockServer([kucoin]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());

  test('serves every account to a request signed on its own clock, and says what the key may do', async () => {
    const time = await send(server.port, '/api/v1/timestamp');
    const kucoinNow = time.body.data;
    assert.ok(Math.abs(kucoinNow - (Date.now() + 120_000)) < 5_000, 'its clock is two minutes ahead');
    const accounts = await signedGet(server.port, '/api/v1/accounts', { at: kucoinNow });
    assert.equal(accounts.body.code, '200000');
    assert.deepEqual(accounts.body.data, A.rows);
    assert.equal((await signedGet(server.port, '/api/v1/user/api-key', { at: kucoinNow })).body.data.permission, 'General');
    const traded = await signedGet(server.port, '/api/v1/user/api-key', { account: TRADING_ACCOUNT, at: kucoinNow });
    assert.equal(traded.body.data.permission, 'General,Spot');
    assert.ok(kucoin.privateRequests().every((r) => r.authorized === true && r.passphrase === true));
  });

  test('refuses what KuCoin refuses, with its codes', async () => {
    const kucoinNow = Date.now() + 120_000;
    const code = async (response) => [(await response).status, (await response).body.code];
    assert.deepEqual(await code(signedGet(server.port, '/api/v1/accounts')), [401, '400002'], 'our clock, two minutes off');
    assert.deepEqual(await code(signedGet(server.port, '/api/v1/accounts', { at: kucoinNow, secret: 'wrong' })), [401, '400005']);
    assert.deepEqual(await code(signedGet(server.port, '/api/v1/accounts', { at: kucoinNow, passphrase: 'wrong' })), [401, '400004']);
    assert.deepEqual(await code(signedGet(server.port, '/api/v1/accounts', { at: kucoinNow, version: '1' })), [401, '400004']);
    assert.deepEqual(await code(signedGet(server.port, '/api/v1/accounts', { at: kucoinNow, account: { ...A, apiKey: 'unknown' } })), [401, '400003']);
    assert.deepEqual(await code(send(server.port, '/api/v1/accounts')), [401, '400001']);
    kucoin.setFault(A.apiKey, 'error:ratelimit', { times: 1 });
    assert.deepEqual(await code(signedGet(server.port, '/api/v1/accounts', { at: kucoinNow })), [429, '429000']);
    kucoin.setFault('tickers', 'error:maintenance', { times: 1 });
    assert.deepEqual(await code(send(server.port, '/api/v1/market/allTickers')), [503, '503000']);
  });

  test('public tickers need no signature; books and holdings follow the rules', async () => {
    const tickers = await send(server.port, '/api/v1/market/allTickers');
    assert.equal(tickers.body.data.ticker[0].symbol, 'BTC-USDT');
    const books = kucoin.books();
    assert.deepEqual(books.map((b) => b.book), ['kucoin:BTC-USDT', 'kucoin:ETH-USDT', 'kucoin:KCS-USDT', 'kucoin:ETH-BTC', 'kucoin:USDC-USDT']);
    assert.deepEqual(expectedHoldings(A), { btc: '0.35', usdt: '1720.5', kcs: '35', eth: '1.75' });
  });
});
