// The KuCoin mock on its own (no browser): requests signed here with node:crypto, over TLS, under
// the real host name.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createKucoin, DAY_MS, derivedClose, expectedHoldings, HOST, SAMPLE_ACCOUNT, SAMPLE_MARKETS, TRADING_ACCOUNT } from './kucoin.mjs';

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
    const margin = await signedGet(server.port, '/api/v3/margin/accounts?quoteCurrency=USDT&queryType=MARGIN', { at: kucoinNow });
    assert.deepEqual(margin.body.data.accounts.map((row) => [row.currency, row.total, row.hold, row.liability]), [['USDT', '200', '0', '50']]);
    assert.equal((await signedGet(server.port, '/api/v3/margin/accounts', { at: kucoinNow })).body.code, '400100');
    const isolated = await signedGet(server.port, '/api/v3/isolated/accounts?quoteCurrency=USDT&queryType=ALL', { at: kucoinNow });
    assert.deepEqual(
      isolated.body.data.assets.map(({ symbol, baseAsset: b, quoteAsset: q }) => [symbol, b.currency, b.total, b.hold, b.liability, q.currency, q.total, q.hold, q.liability]),
      [['ETH-USDT', 'ETH', '0.5', '0.1', '0', 'USDT', '300', '0', '250']],
    );
    for (const query of ['', '?quoteCurrency=USDT', '?quoteCurrency=USDT&queryType=ISOLATED']) {
      assert.equal((await signedGet(server.port, `/api/v3/isolated/accounts${query}`, { at: kucoinNow })).body.code, '400100', query);
    }
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
    // 1520.5 USDT in trading, 200 in margin of which 50 are owed, and 300 in the isolated ETH-USDT
    // position of which 250 are owed; 1.75 ETH in main and 0.5 in that position.
    assert.deepEqual(expectedHoldings(A), { btc: '0.35', usdt: '1720.5', kcs: '35', eth: '2.25' });
    assert.deepEqual(expectedHoldings({ ...A, owed: { USDT: '250' } }).usdt, '1570.5', 'a debt beyond the margin holding is no holding');
    const short = { symbol: 'BTC-USDT', base: { currency: 'BTC', total: '0.01', available: '0.01', hold: '0', liability: '0.02' }, quote: { currency: 'USDT', total: '900', available: '900', hold: '0', liability: '0' } };
    assert.deepEqual(expectedHoldings({ ...A, isolated: [short] }), { btc: '0.35', usdt: '2570.5', kcs: '35', eth: '1.75' }, 'a position\'s debt is no holding and lowers no other');
    assert.deepEqual(expectedHoldings({ ...A, isolated: [] }), { btc: '0.35', usdt: '1670.5', kcs: '35', eth: '1.75' });
  });
});

describe('KuCoin mock history', () => {
  const LEDGER = '/api/v1/accounts/ledgers';
  const now = Date.now();
  const ledgerRow = (id, currency, amount, fee, bizType, direction, daysAgo, context = '') => ({
    id, currency, amount, fee, balance: '0', accountType: 'TRADE', bizType, direction, createdAt: now - daysAgo * DAY_MS, context,
  });
  const fill = JSON.stringify({ symbol: 'BTC-USDT', orderId: 'o1', tradeId: 't1' });
  const account = {
    ...A,
    history: [
      ledgerRow('l1', 'BTC', '0.01', '0', 'Exchange', 'in', 2, fill),
      ledgerRow('l2', 'USDT', '900.9', '0.9', 'Exchange', 'out', 2, fill),
      ledgerRow('l3', 'BTC', '0.5', '0', 'Deposit', 'in', 5),
      ledgerRow('l4', 'USDT', '100', '0', 'Transfer', 'out', 9),
    ],
  };
  const hfFill = JSON.stringify({ symbol: 'KCS-USDT', orderId: 'o2', tradeId: '10046097631627301' });
  const hfRow = (id, currency, amount, fee, bizType, direction, hoursAgo, context = '') => ({
    id, currency, amount, fee, tax: '0', balance: '0', accountType: 'TRADE_HF', bizType, direction, createdAt: String(now - hoursAgo * 3_600_000), context,
  });
  account.hfHistory = [
    hfRow('254062248624431', 'KCS', '1', '0', 'TRADE_EXCHANGE', 'out', 1, hfFill),
    hfRow('254062248624430', 'USDT', '11.988', '0.012', 'TRADE_EXCHANGE', 'in', 1, hfFill),
    hfRow('254062248624420', 'USDT', '100', '0', 'TRANSFER', 'in', 30),
    hfRow('254062248624410', 'USDT', '50', '0', 'TRANSFER', 'in', 80),
  ];
  const closed = { ...A, apiKey: 'mock-kucoin-key-222222222222222222', historyPermission: false };
  let mock;
  let server;
  before(async () => {
    mock = createKucoin({ accounts: { [account.apiKey]: account, [closed.apiKey]: closed }, closes: { 'BTC-USDT': { 20_000: '12345.5' } } });
    server = await startMockServer([mock]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());
  const week = (daysAgo, page = 1, size = 500) => `${LEDGER}?currentPage=${page}&endAt=${now - daysAgo * DAY_MS + 7 * DAY_MS - 1}&pageSize=${size}&startAt=${now - daysAgo * DAY_MS}`;

  test('the ledger of a week, newest first, page by page', async () => {
    const first = (await signedGet(server.port, week(7, 1, 10))).body;
    assert.equal(first.code, '200000');
    assert.deepEqual(first.data.items.map((row) => row.id), ['l1', 'l2', 'l3']);
    assert.deepEqual([first.data.totalNum, first.data.totalPage], [3, 1]);
    assert.deepEqual((await signedGet(server.port, week(7, 2, 10))).body.data.items, []);
    assert.deepEqual((await signedGet(server.port, week(14))).body.data.items.map((row) => row.id), ['l4']);
    assert.ok(mock.historyRequests().every((r) => r.authorized === true));
  });

  test('refuses what KuCoin refuses', async () => {
    const code = async (path, options) => (await signedGet(server.port, path, options)).body.code;
    assert.equal(await code(`${LEDGER}?currentPage=1&endAt=${now}&pageSize=500&startAt=${now - 8 * DAY_MS}`), '400100', 'over a week');
    assert.equal(await code(week(740)), '400100', 'over two years back');
    assert.equal(await code(week(7, 1, 501)), '400100', 'over 500 a page');
    assert.equal(await code(week(7), { account: closed }), '400007', 'a key without the permission');
  });

  test('the high-frequency ledger: newest first, by lastId, the last three days only', async () => {
    const HF = '/api/v1/hf/accounts/ledgers';
    const ids = async (query) => (await signedGet(server.port, `${HF}?${query}`)).body.data.map((row) => row.id);
    const from = now - 10 * DAY_MS;
    assert.deepEqual(await ids(`endAt=${now}&limit=2&startAt=${from}`), ['254062248624431', '254062248624430'], 'an older startAt reads as three days back');
    assert.deepEqual(await ids(`endAt=${now}&lastId=254062248624430&limit=200&startAt=${from}`), ['254062248624420']);
    assert.deepEqual(await ids(`endAt=${now - 2 * 3_600_000}&limit=200&startAt=${from}`), ['254062248624420']);
    const code = async (query, options) => (await signedGet(server.port, `${HF}?${query}`, options)).body.code;
    assert.equal(await code(`endAt=${now}&limit=201&startAt=${from}`), '400100', 'over 200 a page');
    assert.equal(await code(`endAt=${now}&lastId=x&limit=10&startAt=${from}`), '400100');
    assert.equal(await code(`endAt=${now}&limit=10&startAt=${from}`, { account: closed }), '400007');
    assert.equal(await code(`endAt=${now}&limit=10&startAt=${from}`, { secret: 'wrong' }), '400005', 'signed as every private request');
    assert.ok(mock.historyRequests().some((r) => r.path.startsWith(HF) && r.authorized === true));
  });

  test('public daily candles, newest first, a given close or one derived from the price', async () => {
    const day = 86_400;
    const candles = (await send(server.port, `/api/v1/market/candles?type=1day&symbol=BTC-USDT&startAt=${19_999 * day}&endAt=${20_002 * day - 1}`)).body;
    assert.equal(candles.code, '200000');
    assert.deepEqual(candles.data.map((row) => [Number(row[0]) / day, row[2]]), [
      [20_001, derivedClose(SAMPLE_MARKETS[0].last, 20_001)], [20_000, '12345.5'], [19_999, derivedClose(SAMPLE_MARKETS[0].last, 19_999)],
    ]);
    assert.equal((await send(server.port, '/api/v1/market/candles?type=1day&symbol=NOPE-USDT&startAt=0&endAt=1')).body.code, '400100');
  });
});
