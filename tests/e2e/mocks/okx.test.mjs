// The OKX mock on its own (no browser): requests signed here with node:crypto, over TLS, under
// the real host name.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createOkx, expectedHoldings, HOST, SAMPLE_ACCOUNT, TRADING_ACCOUNT } from './okx.mjs';

const A = SAMPLE_ACCOUNT;

/** OKX's signature, computed here independently of the mock. */
function signature(secret, timestamp, path) {
  return createHmac('sha256', secret).update(`${timestamp}GET${path}`).digest('base64');
}

let certificate;
function send(port, path, headers = {}) {
  return requestMock({ port, host: HOST, ca: certificate, method: 'GET', path, headers });
}

function signedGet(port, path, { account = A, at = Date.now(), passphrase = account.apiPassphrase, secret = account.secret } = {}) {
  const timestamp = new Date(at).toISOString();
  return send(port, path, {
    'OK-ACCESS-KEY': account.apiKey,
    'OK-ACCESS-SIGN': signature(secret, timestamp, path),
    'OK-ACCESS-TIMESTAMP': timestamp,
    'OK-ACCESS-PASSPHRASE': passphrase,
  });
}

describe('OKX mock', () => {
  let server;
  let okx;
  before(async () => {
    okx = createOkx({ accounts: { [A.apiKey]: A, [TRADING_ACCOUNT.apiKey]: TRADING_ACCOUNT }, clockOffsetMs: 120_000 });
    server = await startMockServer([okx]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());

  test('serves every account to a request signed on its own clock, and says what the key may do', async () => {
    const time = await send(server.port, '/api/v5/public/time');
    const okxNow = Number(time.body.data[0].ts);
    assert.ok(Math.abs(okxNow - (Date.now() + 120_000)) < 5_000, 'its clock is two minutes ahead');
    const trading = await signedGet(server.port, '/api/v5/account/balance', { at: okxNow });
    assert.equal(trading.body.code, '0');
    assert.deepEqual(trading.body.data[0].details, A.trading);
    assert.deepEqual((await signedGet(server.port, '/api/v5/asset/balances', { at: okxNow })).body.data, A.funding);
    assert.deepEqual((await signedGet(server.port, '/api/v5/finance/savings/balance', { at: okxNow })).body.data, A.savings);
    assert.equal((await signedGet(server.port, '/api/v5/account/config', { at: okxNow })).body.data[0].perm, 'read_only');
    const traded = await signedGet(server.port, '/api/v5/account/config', { account: TRADING_ACCOUNT, at: okxNow });
    assert.equal(traded.body.data[0].perm, 'read_only,trade');
    assert.ok(okx.privateRequests().every((r) => r.authorized === true));
  });

  test('refuses what OKX refuses, with its codes', async () => {
    const okxNow = Date.now() + 120_000;
    const code = async (response) => [(await response).status, (await response).body.code];
    assert.deepEqual(await code(signedGet(server.port, '/api/v5/account/balance')), [401, '50102'], 'our clock, two minutes off');
    assert.deepEqual(await code(signedGet(server.port, '/api/v5/account/balance', { at: okxNow, secret: 'wrong' })), [401, '50113']);
    assert.deepEqual(await code(signedGet(server.port, '/api/v5/account/balance', { at: okxNow, passphrase: 'wrong' })), [401, '50105']);
    assert.deepEqual(await code(signedGet(server.port, '/api/v5/account/balance', { at: okxNow, account: { ...A, apiKey: 'unknown' } })), [401, '50111']);
    assert.deepEqual(await code(send(server.port, '/api/v5/account/balance')), [401, '50103']);
    okx.setFault(A.apiKey, 'error:ratelimit', { times: 1 });
    assert.deepEqual(await code(signedGet(server.port, '/api/v5/account/balance', { at: okxNow })), [429, '50011']);
    okx.setFault('tickers', 'error:maintenance', { times: 1 });
    assert.deepEqual(await code(send(server.port, '/api/v5/market/tickers?instType=SPOT')), [503, '50001']);
  });

  test('public tickers need no signature; books and holdings follow the rules', async () => {
    const tickers = await send(server.port, '/api/v5/market/tickers?instType=SPOT');
    assert.equal(tickers.body.data[0].instId, 'BTC-USDT');
    const books = okx.books();
    assert.deepEqual(books.map((b) => b.book), ['okx:BTC-USDT', 'okx:ETH-USDT', 'okx:OKB-USDT', 'okx:BTC-USDC', 'okx:USDC-USDT']);
    assert.deepEqual(expectedHoldings(A), { btc: '0.35', usdt: '3450.75', okb: '20', eth: '2.5' });
  });
});
