// The Bybit mock on its own (no browser): requests signed here with node:crypto, over TLS, under
// the real host name.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createBybit, DAY_MS, derivedClose, expectedHoldings, HOST, SAMPLE_ACCOUNT, SAMPLE_MARKETS, TRADING_PERMISSIONS } from './bybit.mjs';

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

describe('mock Bybit history', () => {
  const LOG = '/v5/account/transaction-log';
  const DEPOSITS = '/v5/asset/deposit/query-record';
  const WITHDRAWALS = '/v5/asset/withdraw/query-record';
  const now = Date.now();
  const at = (daysAgo) => String(now - daysAgo * DAY_MS);
  const leg = (id, trade, currency, change, fee, time) => ({
    id, symbol: 'BTCUSDT', category: 'spot', side: 'Buy', transactionTime: time, type: 'TRADE', currency, change, fee, cashFlow: change,
    tradeId: trade, orderId: 'o1', orderLinkId: '', funding: '', feeRate: '0.001', bonusChange: '', size: '0', qty: change, cashBalance: '0', tradePrice: '90000', transSubType: '', extraFees: '',
  });
  const history = {
    log: [leg('l1', 't1', 'BTC', '0.0999', '0.0001', at(2)), leg('l2', 't1', 'USDT', '-9000', '0', at(2)), leg('l3', 't2', 'BTC', '0.01', '0', at(1))],
    deposits: [{ id: 'd1', coin: 'BTC', chain: 'BTC', amount: '0.5', txID: 'abc', status: 3, toAddress: 'x', tag: '', depositFee: '', successAt: at(10), confirmations: '3', txIndex: '0', blockHash: '', batchReleaseLimit: '-1', depositType: '0' }],
    withdrawals: [
      { coin: 'ETH', chain: 'ETH', amount: '1', txID: '0x1', status: 'success', toAddress: '0x2', tag: '', withdrawFee: '0.001', createTime: at(5), updateTime: at(5), withdrawId: '1', withdrawType: 0 },
      { coin: 'USDT', chain: '', amount: '40', txID: '', status: 'success', toAddress: '123', tag: '', withdrawFee: '0', createTime: at(4), updateTime: at(4), withdrawId: '2', withdrawType: 1 },
    ],
  };
  const account = { ...SAMPLE_ACCOUNT, history };
  const closed = { ...SAMPLE_ACCOUNT, apiKey: 'CarteraMockBybit02', historyPermission: false };
  let mock;
  let server;
  before(async () => {
    mock = createBybit({ accounts: { [account.apiKey]: account, [closed.apiKey]: closed }, closes: { BTCUSDT: { 20_000: '12345.5' } } });
    server = await startMockServer([mock]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());
  const window = (daysAgo, days) => `endTime=${now - daysAgo * DAY_MS + days * DAY_MS - 1}&limit=50&startTime=${now - daysAgo * DAY_MS}`;

  test('the log in its window, newest first, paged by an escaped token', async () => {
    const first = body(await signedGet(server.port, account, LOG, `accountType=UNIFIED&endTime=${now}&limit=2&startTime=${now - 7 * DAY_MS}`));
    assert.equal(first.retCode, 0);
    assert.deepEqual(first.result.list.map((row) => row.id), ['l3', 'l1']);
    assert.equal(first.result.nextPageCursor, '2%3A0%2C2%3A0');
    const second = body(await signedGet(server.port, account, LOG, `accountType=UNIFIED&cursor=${first.result.nextPageCursor}&endTime=${now}&limit=2&startTime=${now - 7 * DAY_MS}`));
    assert.deepEqual(second.result.list.map((row) => row.id), ['l2']);
    assert.equal(second.result.nextPageCursor, '');
  });

  test('refuses windows Bybit refuses', async () => {
    const wide = `accountType=UNIFIED&endTime=${now}&limit=50&startTime=${now - 8 * DAY_MS}`;
    assert.equal(body(await signedGet(server.port, account, LOG, wide)).retCode, 10001);
    assert.equal(body(await signedGet(server.port, account, LOG, `accountType=UNIFIED&${window(740, 7)}`)).retCode, 10001, 'over two years back');
    const thirtyDays = `endTime=${now - 10 * DAY_MS}&limit=50&startTime=${now - 40 * DAY_MS}`;
    assert.equal(body(await signedGet(server.port, account, DEPOSITS, thirtyDays)).retCode, 10001, '30 days or more');
    assert.equal(body(await signedGet(server.port, account, LOG, window(7, 7))).retCode, 10001, 'UNIFIED only');
  });

  test('deposits and withdrawals, internal ones only with withdrawType 2', async () => {
    const deposits = body(await signedGet(server.port, account, DEPOSITS, window(20, 30)));
    assert.deepEqual(deposits.result.rows.map((row) => row.id), ['d1']);
    const onChain = body(await signedGet(server.port, account, WITHDRAWALS, window(20, 30)));
    assert.deepEqual(onChain.result.rows.map((row) => row.withdrawId), ['1']);
    const all = body(await signedGet(server.port, account, WITHDRAWALS, `${window(20, 30)}&withdrawType=2`));
    assert.deepEqual(all.result.rows.map((row) => row.withdrawId), ['2', '1']);
  });

  test('a key without the permission is refused with 10005, and the records allow 5 a second', async () => {
    assert.equal(body(await signedGet(server.port, closed, LOG, `accountType=UNIFIED&${window(7, 7)}`)).retCode, 10005);
    const codes = [];
    for (let i = 0; i < 7; i += 1) codes.push(body(await signedGet(server.port, account, WITHDRAWALS, window(20, 30))).retCode);
    assert.ok(codes.includes(10006), `${codes}`);
    assert.ok(mock.historyRequests().length >= 9);
  });

  test('public daily candles, newest first, a given close or one derived from the price', async () => {
    const candles = body(await send(server.port, `/v5/market/kline?category=spot&symbol=BTCUSDT&interval=D&start=${19_999 * DAY_MS}&end=${20_001 * DAY_MS}&limit=1000`));
    assert.equal(candles.retCode, 0);
    assert.deepEqual(candles.result.list.map((row) => [Number(row[0]) / DAY_MS, row[4]]), [
      [20_001, derivedClose(SAMPLE_MARKETS[0][3], 20_001)], [20_000, '12345.5'], [19_999, derivedClose(SAMPLE_MARKETS[0][3], 19_999)],
    ]);
    assert.equal(body(await send(server.port, '/v5/market/kline?category=spot&symbol=NOPE&interval=D&start=0&end=1&limit=10')).retCode, 10001);
  });
});
