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

describe('OKX mock history', () => {
  const T = Date.UTC(2026, 10, 24, 9);
  const clock = { now: T };
  const DAY = 86_400_000;
  const bill = (billId, ts, ccy, balChg, extra = {}) => ({ billId: String(billId), ts: String(ts), ccy, balChg, fee: '0', type: '2', subType: '1', instType: 'SPOT', instId: 'BTC-USDT', tradeId: String(billId), ordId: '1', ...extra });
  const account = {
    ...A,
    history: {
      // Three bills: one 10 days old, one 100 days old (past the archive's reach), a transfer.
      bills: [bill(900, T - 10 * DAY, 'BTC', '0.1'), bill(800, T - 100 * DAY, 'BTC', '0.2'), bill(950, T - DAY, 'USDT', '5', { type: '1', subType: '11' })],
      deposits: Array.from({ length: 150 }, (_, n) => ({ depId: String(n), ccy: 'USDT', amt: '1', ts: String(T - (n + 1) * 1000), state: '2' })),
      withdrawals: [],
    },
  };
  const denied = { ...A, apiKey: 'mock-okx-no-history', historyPermission: false };
  let server;
  before(async () => {
    const okx = createOkx({ accounts: { [A.apiKey]: account, [denied.apiKey]: denied }, closes: { 'BTC-USDT': { '2026-11-23': '97000.5' } }, now: () => clock.now });
    server = await startMockServer([okx]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());

  test('bills: the last three months of what was asked for, newest first, paged with after', async () => {
    clock.now += 1_000;
    const all = await signedGet(server.port, '/api/v5/account/bills-archive?instType=SPOT&type=2&limit=100', { account, at: clock.now });
    assert.deepEqual(all.body.data.map((row) => row.billId), ['900']);
    const older = await signedGet(server.port, '/api/v5/account/bills-archive?limit=100&after=950', { account, at: clock.now });
    assert.deepEqual(older.body.data.map((row) => row.billId), ['900']);
    const refused = await signedGet(server.port, '/api/v5/account/bills-archive?limit=101', { account, at: clock.now });
    assert.equal(refused.body.code, '51000');
  });

  test('deposits page by time, at most 100, strictly before after', async () => {
    clock.now += 10_000;
    const first = await signedGet(server.port, '/api/v5/asset/deposit-history?limit=100', { account, at: clock.now });
    assert.equal(first.body.data.length, 100);
    const oldest = first.body.data.at(-1).ts;
    const next = await signedGet(server.port, `/api/v5/asset/deposit-history?limit=100&after=${oldest}`, { account, at: clock.now });
    assert.equal(next.body.data.length, 50);
    assert.ok(next.body.data.every((row) => Number(row.ts) < Number(oldest)));
  });

  test('the archive allows 5 requests per 2 s; a key without history gets 50120', async () => {
    clock.now += 10_000;
    const codes = [];
    for (let i = 0; i < 6; i += 1) codes.push((await signedGet(server.port, '/api/v5/account/bills-archive?limit=100', { account, at: clock.now })).body.code);
    assert.deepEqual(codes, ['0', '0', '0', '0', '0', '50011']);
    clock.now += 2_001;
    assert.equal((await signedGet(server.port, '/api/v5/account/bills-archive?limit=100', { account, at: clock.now })).body.code, '0');
    assert.equal((await signedGet(server.port, '/api/v5/asset/deposit-history', { account: denied, at: clock.now })).body.code, '50120');
  });

  test('daily candles: public, newest first, before after, closes from the table or the ticker', async () => {
    const today = Math.floor(clock.now / DAY) * DAY;
    const candles = await send(server.port, `/api/v5/market/history-candles?instId=BTC-USDT&bar=1Dutc&after=${today}&limit=3`);
    assert.deepEqual(candles.body.data.map((row) => [row[0], row[4]]), [[String(today - DAY), '97000.5'], [String(today - 2 * DAY), '97250.4'], [String(today - 3 * DAY), '97250.4']]);
    assert.equal((await send(server.port, '/api/v5/market/history-candles?instId=NOPE-USDT&bar=1Dutc')).body.code, '51001');
  });
});
