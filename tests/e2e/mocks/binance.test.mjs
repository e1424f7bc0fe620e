// The Binance mock on its own (no browser): requests are signed here with node:crypto, exactly
// as Binance documents it, and sent over TLS as api.binance.com.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, STRAY_HOST, startMockServer } from '../mock-server.mjs';
import {
  booksOf, createBinance, expectedHoldings, GEO_BLOCK_MESSAGE, HOST, SAMPLE_ACCOUNT, SAMPLE_EARN_FIAT_HISTORY, SAMPLE_HISTORY, SAMPLE_MARKETS,
} from './binance.mjs';

const OTHER = {
  apiKey: 'CarteraMockSecondKeyNotReal'.padEnd(64, 'z'),
  secret: 'CarteraMockSecondSecretNotReal'.padEnd(64, 'w'),
  spot: [{ asset: 'BTC', free: '1.00000000', locked: '0.00000000' }],
  funding: [],
  flexible: [],
  locked: [],
  canWithdraw: true,
  canTrade: true,
};

/** hex HMAC-SHA256, written here rather than imported from the mock. */
const hmac = (secret, payload) => createHmac('sha256', secret).update(payload).digest('hex');

function send(port, { method = 'GET', path, headers = {}, body = '' }, { timeout = 5000 } = {}) {
  return requestMock({ port, host: HOST, ca: makeCertificate([HOST, STRAY_HOST]).cert, method, path, headers, body, timeout });
}

/** A signed GET: `timestamp` first, the endpoint's parameters, `recvWindow`, then the signature. */
function signedGet(port, account, path, params = '', { timestamp = Date.now(), recvWindow = 10000, key = account.apiKey, secret = account.secret } = {}) {
  const query = `timestamp=${timestamp}${params}${recvWindow == null ? '' : `&recvWindow=${recvWindow}`}`;
  return send(port, { path: `${path}?${query}&signature=${hmac(secret, query)}`, headers: { 'x-mbx-apikey': key } });
}

/** The funding POST, signed over its form body. */
function fundingPost(port, account, { timestamp = Date.now(), contentType = 'application/x-www-form-urlencoded' } = {}) {
  const form = `timestamp=${timestamp}&recvWindow=10000`;
  return send(port, {
    method: 'POST', path: '/sapi/v1/asset/get-funding-asset', body: `${form}&signature=${hmac(account.secret, form)}`,
    headers: { 'x-mbx-apikey': account.apiKey, 'content-type': contentType },
  });
}

describe('mock Binance', () => {
  let binance;
  let server;
  let port;
  before(async () => {
    binance = createBinance({ accounts: { [SAMPLE_ACCOUNT.apiKey]: SAMPLE_ACCOUNT, [OTHER.apiKey]: OTHER } });
    server = await startMockServer([binance]);
    port = server.port;
  });
  after(() => server.close());

  test('serves its clock at /api/v3/time, publicly', async () => {
    const before = Date.now();
    const res = await send(port, { path: '/api/v3/time' });
    assert.equal(res.status, 200);
    assert.ok(res.body.serverTime >= before && res.body.serverTime <= Date.now());
    assert.equal(res.headers['x-mbx-used-weight-1m'], '1');
  });

  test('a signed account request: zero balances omitted on request, LD entries as Binance lists them', async () => {
    let res = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '&omitZeroBalances=true');
    assert.equal(res.status, 200);
    const assets = res.body.balances.map((b) => b.asset);
    assert.deepEqual(assets, ['BTC', 'ETH', 'BNB', 'USDT', 'MXN', 'LDO', 'LDUSDT', 'LDBTC', 'LDOP', 'YOYO']);
    for (const b of res.body.balances) assert.ok(typeof b.free === 'string' && typeof b.locked === 'string');
    assert.equal(res.body.canTrade, true, 'the account can trade whatever the key may do');
    assert.equal(res.body.canWithdraw, true);
    const last = binance.requests.at(-1);
    assert.equal(last.authorized, true);
    assert.equal(last.apiKey, SAMPLE_ACCOUNT.apiKey);
    assert.equal(last.error, null);

    res = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account');
    assert.ok(res.body.balances.some((b) => b.asset === 'ADA'), 'without omitZeroBalances zeros are listed');
  });

  test('signatures: wrong secret, tampered query, upper-case hex, parameter order', async () => {
    let res = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { secret: 'not the secret' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { code: -1022, msg: 'Signature for this request is not valid.' });
    assert.equal(binance.requests.at(-1).authorized, false);

    const timestamp = Date.now();
    const signed = `timestamp=${timestamp}&recvWindow=10000`;
    res = await send(port, {
      path: `/api/v3/account?${signed}&omitZeroBalances=true&signature=${hmac(SAMPLE_ACCOUNT.secret, signed)}`,
      headers: { 'x-mbx-apikey': SAMPLE_ACCOUNT.apiKey },
    });
    assert.equal(res.body.code, -1022, 'every parameter before the signature is signed');

    res = await send(port, {
      path: `/api/v3/account?${signed}&signature=${hmac(SAMPLE_ACCOUNT.secret, signed).toUpperCase()}`,
      headers: { 'x-mbx-apikey': SAMPLE_ACCOUNT.apiKey },
    });
    assert.equal(res.status, 200, 'HMAC signatures are not case-sensitive');

    const docOrder = `omitZeroBalances=true&recvWindow=5000&timestamp=${Date.now()}`;
    res = await send(port, {
      path: `/api/v3/account?${docOrder}&signature=${hmac(SAMPLE_ACCOUNT.secret, docOrder)}`,
      headers: { 'x-mbx-apikey': SAMPLE_ACCOUNT.apiKey },
    });
    assert.equal(res.status, 200, 'any parameter order');
  });

  test('keys: missing header -2014, unknown key -2015, missing timestamp -1102', async () => {
    let res = await send(port, { path: `/api/v3/account?timestamp=${Date.now()}&signature=00` });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { code: -2014, msg: 'API-key format invalid.' });
    res = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { key: 'NoSuchKey'.padEnd(64, 'q') });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' });
    const query = 'recvWindow=10000';
    res = await send(port, {
      path: `/api/v3/account?${query}&signature=${hmac(SAMPLE_ACCOUNT.secret, query)}`,
      headers: { 'x-mbx-apikey': SAMPLE_ACCOUNT.apiKey },
    });
    assert.equal(res.body.code, -1102);
  });

  test('timestamps: recvWindow of the mock clock, 1 s ahead refused, reuse allowed, no nonce', async () => {
    const stale = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp: Date.now() - 11000 });
    assert.equal(stale.status, 400);
    assert.deepEqual(stale.body, { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' });
    assert.equal(binance.requests.at(-1).authorized, true, 'signed correctly, only late');
    const defaultWindow = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp: Date.now() - 6000, recvWindow: null });
    assert.equal(defaultWindow.body.code, -1021, 'recvWindow defaults to 5000');
    const ahead = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp: Date.now() + 3000 });
    assert.equal(ahead.body.code, -1021);
    const tooWide = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { recvWindow: 60001 });
    assert.equal(tooWide.body.code, -1131);
    const timestamp = Date.now();
    assert.equal((await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp })).status, 200);
    assert.equal((await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp })).status, 200, 'Binance has no nonce');
    assert.equal((await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp: timestamp - 2000 })).status, 200);
  });

  test("a clock ahead of the computer's: local time refused, the served time accepted", async () => {
    binance.setClockOffset(30000);
    try {
      const local = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account');
      assert.equal(local.body.code, -1021);
      const { serverTime } = (await send(port, { path: '/api/v3/time' })).body;
      assert.ok(serverTime - Date.now() > 29000);
      const synced = await signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account', '', { timestamp: serverTime });
      assert.equal(synced.status, 200);
    } finally {
      binance.setClockOffset(0);
    }
  });

  test('funding: a POST signed over its form body; a body that is not a form is not read', async () => {
    let res = await fundingPost(port, SAMPLE_ACCOUNT);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((b) => b.asset), ['USDT', 'BTC', 'ETH']);
    assert.deepEqual(Object.keys(res.body[0]), ['asset', 'free', 'locked', 'freeze', 'withdrawing', 'btcValuation']);
    assert.equal(binance.requests.at(-1).method, 'POST');
    assert.equal(res.headers['x-sapi-used-ip-weight-1m'], '1');
    res = await fundingPost(port, SAMPLE_ACCOUNT, { contentType: 'application/json' });
    assert.equal(res.body.code, -1102);
    // Parameters in the query string of a POST are fine too.
    res = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/asset/get-funding-asset');
    assert.equal(res.status, 404, 'but not a GET');
    const query = `timestamp=${Date.now()}&asset=BTC`;
    res = await send(port, {
      method: 'POST', path: `/sapi/v1/asset/get-funding-asset?${query}&signature=${hmac(SAMPLE_ACCOUNT.secret, query)}`,
      headers: { 'x-mbx-apikey': SAMPLE_ACCOUNT.apiKey },
    });
    assert.deepEqual(res.body.map((b) => b.asset), ['BTC']);
  });

  test('Simple Earn: flexible in one page, locked in two of 100, sizes over 100 refused', async () => {
    const page = (n) => `&current=${n}&size=100`;
    const flexible = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/flexible/position', page(1));
    assert.equal(flexible.body.total, 3);
    assert.deepEqual(flexible.body.rows.map((r) => [r.asset, r.totalAmount]), [
      ['USDT', '1000.12345678'], ['BTC', '0.05000000'], ['OP', '12.00000000'],
    ]);
    const first = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/locked/position', page(1));
    assert.equal(first.body.total, 102);
    assert.equal(first.body.rows.length, 100);
    const second = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/locked/position', page(2));
    assert.deepEqual(second.body.rows.map((r) => [r.asset, r.amount]), [['AXS', '122.09202928'], ['ETH', '1.50000000']]);
    const third = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/locked/position', page(3));
    assert.deepEqual(third.body, { rows: [], total: 102 });
    const defaults = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/locked/position');
    assert.equal(defaults.body.rows.length, 10, 'size defaults to 10');
    const tooBig = await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/locked/position', '&current=1&size=500');
    assert.equal(tooBig.body.code, -1130);
  });

  test('apiRestrictions: read-only by default, canWithdraw and canTrade flags', async () => {
    const readOnly = (await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/account/apiRestrictions')).body;
    assert.equal(readOnly.enableReading, true);
    for (const flag of ['enableWithdrawals', 'enableInternalTransfer', 'enableMargin', 'enableFutures', 'permitsUniversalTransfer',
      'enableVanillaOptions', 'enableSpotAndMarginTrading', 'enablePortfolioMarginTrading', 'enableFixApiTrade']) {
      assert.equal(readOnly[flag], false, flag);
    }
    const risky = (await signedGet(port, OTHER, '/sapi/v1/account/apiRestrictions')).body;
    assert.equal(risky.enableWithdrawals, true);
    assert.equal(risky.ipRestrict, true, 'Binance requires an IP list for withdrawals');
    assert.equal(risky.enableSpotAndMarginTrading, true);
    assert.equal(risky.enableInternalTransfer, false);
  });

  test('tickers: every symbol without a key, one with ?symbol=, unknown symbol -1121', async () => {
    const all = await send(port, { path: '/api/v3/ticker/24hr' });
    assert.equal(all.status, 200);
    assert.equal(all.body.length, SAMPLE_MARKETS.length);
    assert.equal(all.headers['x-mbx-used-weight-1m'], '80');
    const btc = all.body.find((t) => t.symbol === 'BTCUSDT');
    assert.equal(btc.lastPrice, '98150.01000000');
    assert.equal(btc.volume, '18234.51230000');
    assert.equal(btc.priceChange, '-512.33000000');
    assert.equal(btc.openPrice, '98662.34000000');
    assert.equal(btc.priceChangePercent, '-0.519');
    for (const field of ['lastPrice', 'volume', 'priceChange', 'quoteVolume']) assert.equal(typeof btc[field], 'string');
    assert.equal(typeof btc.closeTime, 'number');
    assert.equal(all.body.find((t) => t.symbol === 'BCCBTC').lastPrice, '0.00000000', 'delisted symbols show no price');
    for (const symbol of ['ETHBTC', 'USDTMXN', 'USDTBRL', 'USDTARS', 'EURUSDT']) assert.ok(all.body.some((t) => t.symbol === symbol), symbol);
    assert.equal(binance.requests.at(-1).authorized, null);

    const one = await send(port, { path: '/api/v3/ticker/24hr?symbol=ETHBTC' });
    assert.equal(one.body.lastPrice, '0.03617000');
    const unknown = await send(port, { path: '/api/v3/ticker/24hr?symbol=NOPE' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, -1121);
  });

  test('faults: Binance errors with their statuses, per key and per endpoint, then normal again', async () => {
    const account = () => signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account');
    const cases = [
      ['error:-2015', 401, -2015],
      ['error:-2014', 401, -2014],
      ['error:-1022', 400, -1022],
      ['error:-1021', 400, -1021],
      ['error:-1100', 400, -1100],
      ['error:-1008', 503, -1008],
      ['http:500:-1001', 500, -1001],
    ];
    for (const [fault, status, code] of cases) {
      binance.setFault(SAMPLE_ACCOUNT.apiKey, fault, { times: 1 });
      const res = await account();
      assert.equal(res.status, status, fault);
      assert.equal(res.body.code, code, fault);
      assert.equal(binance.requests.at(-1).fault, fault);
      assert.equal(binance.requests.at(-1).error, String(code));
    }
    assert.equal((await account()).status, 200);

    binance.setFault('locked', 'error:-1021');
    assert.equal((await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/locked/position', '&current=1&size=100')).body.code, -1021);
    assert.equal((await signedGet(port, SAMPLE_ACCOUNT, '/sapi/v1/simple-earn/flexible/position', '&current=1&size=100')).status, 200);
    assert.equal((await signedGet(port, OTHER, '/sapi/v1/simple-earn/locked/position', '&current=1&size=100')).body.code, -1021);
    binance.setFault('locked', null);
    assert.equal((await signedGet(port, OTHER, '/sapi/v1/simple-earn/locked/position', '&current=1&size=100')).status, 200);

    binance.setFault(OTHER.apiKey, 'error:-2015');
    assert.equal((await account()).status, 200, 'other keys unaffected');
    binance.clearFaults();
    assert.equal((await signedGet(port, OTHER, '/api/v3/account')).status, 200);
  });

  test('faults: rate limits, ban, geo block, WAF, 5xx, malformed, huge', async () => {
    const account = () => signedGet(port, SAMPLE_ACCOUNT, '/api/v3/account');
    binance.setFault('*', 'rate-limit', { times: 1 });
    let res = await account();
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '30');
    assert.equal(res.body.code, -1003);

    binance.setFault('*', 'retry-after:7', { times: 1 });
    res = await account();
    assert.equal(res.headers['retry-after'], '7');

    binance.setFault('time', 'ban', { times: 1 });
    res = await send(port, { path: '/api/v3/time' });
    assert.equal(res.status, 418);
    assert.equal(res.headers['retry-after'], '120');
    assert.match(res.body.msg, /^Way too much request weight used; IP banned until \d{13}\./);

    binance.setFault('*', 'geo', { times: 2 });
    res = await send(port, { path: '/api/v3/time' });
    assert.equal(res.status, 451);
    assert.deepEqual(res.body, { code: 0, msg: GEO_BLOCK_MESSAGE });
    assert.equal(binance.requests.at(-1).error, 'http:451');
    res = await account();
    assert.equal(res.status, 451);

    binance.setFault('ticker', 'waf', { times: 1 });
    res = await send(port, { path: '/api/v3/ticker/24hr' });
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'], /text\/html/);
    assert.match(res.text, /The request could not be satisfied/);

    binance.setFault('ticker', 'http:502', { times: 1 });
    res = await send(port, { path: '/api/v3/ticker/24hr' });
    assert.equal(res.status, 502);
    assert.equal(res.body, null);

    binance.setFault(SAMPLE_ACCOUNT.apiKey, 'malformed', { times: 1 });
    res = await account();
    assert.equal(res.status, 200);
    assert.equal(res.body, null);

    binance.setFault('ticker', 'huge', { times: 1 });
    res = await send(port, { path: '/api/v3/ticker/24hr' });
    assert.ok(res.text.length > 8 * 1024 * 1024);

    assert.equal((await account()).status, 200);
    assert.throws(() => binance.setFault('*', 'nonsense'));
    assert.throws(() => binance.setFault('*', 'error:2015'));
  });

  test('faults: timeout never answers, redirect points elsewhere', async () => {
    binance.setFault('time', 'timeout', { times: 1 });
    await assert.rejects(send(port, { path: '/api/v3/time' }, { timeout: 300 }), /timeout/);
    binance.setFault('time', 'redirect', { times: 1 });
    const res = await send(port, { path: '/api/v3/time' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `https://${STRAY_HOST}/collect`);
    assert.equal((await send(port, { path: '/api/v3/time' })).status, 200);
  });

  test('unknown paths and methods', async () => {
    assert.equal((await send(port, { path: '/api/v3/order' })).status, 404);
    assert.equal((await send(port, { method: 'POST', path: '/api/v3/account' })).status, 404);
  });

  test('the log: host, method, verdicts, signed requests', () => {
    assert.ok(binance.requests.length > 20);
    for (const r of binance.requests) {
      assert.equal(r.host, HOST);
      assert.equal(r.nonce, null, 'Binance has no nonce');
    }
    const signed = binance.signedRequests();
    assert.ok(signed.length > 10 && signed.every((r) => !r.path.startsWith('/api/v3/time')));
    assert.ok(signed.filter((r) => r.authorized === true).every((r) => /^\d{13}$/.test(r.timestamp)));
  });
});

// The exact requests the Rust adapter sends for Binance's time 1700000000000 with the docs' key
// pair (pinned in src/exchange/binance/tests.rs), replayed against the mock with its clock set to
// that time: the mock and the adapter agree on the signing recipe, the POST body and its type.
describe('the adapter\'s pinned requests', () => {
  const DOC = {
    apiKey: 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
    secret: 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j',
    spot: SAMPLE_ACCOUNT.spot, funding: SAMPLE_ACCOUNT.funding, flexible: SAMPLE_ACCOUNT.flexible, locked: SAMPLE_ACCOUNT.locked,
  };
  const page = (n) => `timestamp=1700000000000&current=${n}&size=100&recvWindow=10000`;
  const B4 = 'b4069c8a49b1ce04606701ff7d300a7db2344d4f355056e70bb4e48d247b0a28';
  const B5 = '7ef8ae59b4a0121f914da1aeede062c8896147b2ec0a6f1f72db91027a229172';
  const GETS = [
    ['/api/v3/account', 'timestamp=1700000000000&omitZeroBalances=true&recvWindow=10000', 'fa23120bf7c1810b46f48fa6095d936a5e1382590a1e5fbac572c942bb67cdf3'],
    ['/sapi/v1/simple-earn/flexible/position', page(1), B5],
    ['/sapi/v1/simple-earn/flexible/position', page(2), '2f58984884a177734b51fa644912eb3fd74a557695b2b832559d536847b87ea9'],
    ['/sapi/v1/simple-earn/locked/position', page(1), B5],
    ['/sapi/v1/account/apiRestrictions', 'timestamp=1700000000000&recvWindow=10000', B4],
  ];
  let binance;
  let server;
  before(async () => {
    binance = createBinance({ accounts: { [DOC.apiKey]: DOC } });
    binance.setClockOffset(1700000000000 - Date.now() + 2000);
    server = await startMockServer([binance]);
  });
  after(() => server.close());

  test('every signed request is accepted', async () => {
    for (const [path, query, signature] of GETS) {
      assert.equal(hmac(DOC.secret, query), signature, `${path}: the pinned signature`);
      const res = await send(server.port, { path: `${path}?${query}&signature=${signature}`, headers: { 'x-mbx-apikey': DOC.apiKey } });
      assert.equal(res.status, 200, `${path} ${res.text}`);
    }
    const res = await send(server.port, {
      method: 'POST', path: '/sapi/v1/asset/get-funding-asset', body: `timestamp=1700000000000&recvWindow=10000&signature=${B4}`,
      headers: { 'x-mbx-apikey': DOC.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(binance.requests.every((r) => r.authorized === true && r.error === null));
  });
});

describe('independent expectations', () => {
  test('holdings of the sample account, by hand', () => {
    assert.deepEqual(expectedHoldings(SAMPLE_ACCOUNT), {
      btc: '0.571', // 0.52 spot + 0.001 funding + 0.05 flexible; LDBTC not again
      eth: '3.5', // 2 spot + 1.5 locked
      bnb: '1.5',
      usdt: '1242.62345678', // 200 spot + 42.5 funding (free, locked, freeze, withdrawing) + 1000.12345678 flexible
      mxn: '2500',
      ldo: '40', // Lido, kept
      yoyow: '100',
      op: '12', // flexible; LDOP is its mirror
      dot: '50', // 100 locked positions of 0.5
      axs: '122.09202928',
    });
  });

  test('LD rule: length five or more, or a short code whose asset has an Earn position', () => {
    const account = (spot, flexible = []) => ({ spot, funding: [], flexible, locked: [] });
    const row = (asset) => ({ asset, free: '1', locked: '0' });
    assert.deepEqual(expectedHoldings(account([row('LDO'), row('LDUSDT'), row('LDBTC'), row('LDOP')])), { ldo: '1', ldop: '1' });
    assert.deepEqual(expectedHoldings(account([row('LDOP')], [{ asset: 'OP', totalAmount: '2' }])), { op: '2' });
    assert.deepEqual(expectedHoldings(account([row('XBT'), row('BCHSV')])), { btc: '1', bsv: '1' });
  });

  test('books: exchangeInfo-style base and quote, common codes, no delisted symbol', () => {
    const books = booksOf(SAMPLE_MARKETS);
    assert.equal(books.length, SAMPLE_MARKETS.length - 1);
    assert.ok(!books.some((b) => b.book === 'binance:BCCBTC'));
    assert.deepEqual(books.find((b) => b.book === 'binance:USDTMXN'), {
      book: 'binance:USDTMXN', base: 'usdt', quote: 'mxn', last: '18.43000000', volume: '5123456.70000000', change: '0.02000000',
    });
    assert.deepEqual(books.find((b) => b.book === 'binance:YOYOBTC').base, 'yoyow');
    assert.deepEqual(books.find((b) => b.book === 'binance:EURUSDT').quote, 'usdt');
    const binance = createBinance();
    binance.setMarkets([['ETHBTC', 'ETH', 'BTC', '0.035', '1', '0']]);
    assert.deepEqual(binance.books().map((b) => b.book), ['binance:ETHBTC']);
  });
});

describe('mock Binance: history and candles', () => {
  const DAY = 86400000;
  const WITH_HISTORY = { ...SAMPLE_ACCOUNT, history: [...SAMPLE_HISTORY, ...SAMPLE_EARN_FIAT_HISTORY] };
  const NO_HISTORY = {
    ...OTHER, apiKey: 'CarteraMockNoHistoryKeyNotReal'.padEnd(64, 'h'), history: SAMPLE_HISTORY, historyPermission: false,
  };
  let binance;
  let server;
  let port;
  before(async () => {
    binance = createBinance({
      accounts: { [WITH_HISTORY.apiKey]: WITH_HISTORY, [NO_HISTORY.apiKey]: NO_HISTORY },
      closes: { BTCUSDT: { '2024-01-01': '42283.58000000' } },
    });
    server = await startMockServer([binance]);
    port = server.port;
  });
  after(() => server.close());

  // 2022-08-26T05:52:26Z, the docs' deposit (`date -u -d @1661493146`).
  const DEPOSIT_AT = 1661493146000;

  test('deposits and withdrawals: windows under 90 days, offset and limit, signed', async () => {
    let res = await signedGet(port, WITH_HISTORY, '/sapi/v1/capital/deposit/hisrec', `&startTime=${DEPOSIT_AT - DAY}&endTime=${DEPOSIT_AT + DAY}&offset=0&limit=1000`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((row) => row.id), ['769800519366885376']);
    assert.equal(res.body[0].type, undefined, 'the tag is not part of the answer');
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/capital/deposit/hisrec', `&startTime=${DEPOSIT_AT - DAY}&endTime=${DEPOSIT_AT + DAY}&offset=1&limit=1000`);
    assert.deepEqual(res.body, []);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/capital/deposit/hisrec', `&startTime=${DEPOSIT_AT - 90 * DAY}&endTime=${DEPOSIT_AT}&offset=0&limit=1000`);
    assert.deepEqual([res.status, res.body.code], [400, -1127], '90 days is one too many');
    // 2019-10-12 11:12:02 UTC → 1570878722.
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/capital/withdraw/history', `&startTime=1570878722000&endTime=1570878722000&offset=0&limit=1000`);
    assert.deepEqual(res.body.map((row) => [row.id, row.amount, row.transactionFee]), [['b6ae22b3aa844210a7041aee7589627c', '8.91000000', '0.004']]);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/capital/withdraw/history', '&startTime=1&endTime=2&offset=0&limit=1000', { secret: 'wrong' });
    assert.equal(res.body.code, -1022, 'history requests are signed like any other');
  });

  test('conversions: 30-day windows, exact 64-bit order ids, moreData', async () => {
    const at = 1624248872184;
    let res = await signedGet(port, WITH_HISTORY, '/sapi/v1/convert/tradeFlow', `&startTime=${at - DAY}&endTime=${at + DAY}&limit=1000`);
    assert.equal(res.status, 200);
    assert.match(res.text, /"orderId":940708407462087195[,}]/);
    assert.equal(res.body.moreData, false);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/convert/tradeFlow', `&startTime=${at - 31 * DAY}&endTime=${at}&limit=1000`);
    assert.equal(res.body.code, -1127);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/convert/tradeFlow', '&limit=1000');
    assert.equal(res.body.code, -1102, 'both times are required');
  });

  test('distributions, dust and fills', async () => {
    let res = await signedGet(port, WITH_HISTORY, '/sapi/v1/asset/assetDividend', '&startTime=1563000000000&endTime=1563200000000&limit=500');
    assert.deepEqual([res.body.total, res.body.rows[0].asset], [1, 'BHFT']);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/asset/dribblet');
    assert.equal(res.body.total, 1);
    assert.equal(res.body.userAssetDribblets[0].userAssetDribbletDetails.length, 2);
    res = await signedGet(port, WITH_HISTORY, '/api/v3/myTrades', '&symbol=BNBBTC&fromId=0&limit=1000');
    assert.deepEqual(res.body.map((fill) => fill.id), [28457]);
    res = await signedGet(port, WITH_HISTORY, '/api/v3/myTrades', '&symbol=BNBBTC&fromId=28458&limit=1000');
    assert.deepEqual(res.body, []);
    res = await signedGet(port, WITH_HISTORY, '/api/v3/myTrades', '&symbol=NOPEUSDT&fromId=0&limit=1000');
    assert.equal(res.body.code, -1121);
  });

  test('Simple Earn rewards: 3-month windows, numbered pages of at most 100, type required for flexible', async () => {
    // 2019-12-25T00:26:18Z and 00:26:02Z (`date -u -d @1577233578`), the docs' rows.
    const at = 1577233578000;
    let res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/flexible/history/rewardsRecord', `&type=ALL&startTime=${at - DAY}&endTime=${at}&current=1&size=100`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { rows: [
      { asset: 'BUSD', rewards: '0.00006408', projectId: 'USDT001', type: 'BONUS', time: 1577233578000 },
      { asset: 'USDT', rewards: '0.00687654', projectId: 'USDT001', type: 'REALTIME', time: 1577233562000 },
    ], total: 2 });
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/flexible/history/rewardsRecord', `&type=REALTIME&startTime=${at - DAY}&endTime=${at}&current=1&size=100`);
    assert.deepEqual(res.body.rows.map((r) => r.type), ['REALTIME']);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/flexible/history/rewardsRecord', `&type=ALL&startTime=${at - DAY}&endTime=${at}&current=2&size=1`);
    assert.deepEqual([res.body.rows.map((r) => r.asset), res.body.total], [['USDT'], 2]);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/flexible/history/rewardsRecord', `&startTime=${at - DAY}&endTime=${at}`);
    assert.equal(res.body.code, -1102, 'type is mandatory');
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/flexible/history/rewardsRecord', `&type=ALL&startTime=${at - 91 * DAY}&endTime=${at}&current=1&size=100`);
    assert.equal(res.body.code, -1127);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/locked/history/rewardsRecord', `&startTime=1575018510000&endTime=1575018510000&current=1&size=101`);
    assert.equal(res.body.code, -1130);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/locked/history/rewardsRecord', `&startTime=1575018510000&endTime=1575018510000&current=1&size=100`);
    assert.deepEqual(res.body.rows, [{ positionId: 123123, time: 1575018510000, asset: 'BNB', lockPeriod: '30', amount: '21312.23223', type: 'Locked Rewards' }]);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/simple-earn/locked/history/rewardsRecord', '&current=1&size=100', { secret: 'wrong' });
    assert.equal(res.body.code, -1022);
  });

  test('fiat payments and orders: any window, numbered pages of at most 500, the success envelope, UID weight', async () => {
    let res = await signedGet(port, WITH_HISTORY, '/sapi/v1/fiat/payments', '&transactionType=0&beginTime=1498867200000&endTime=1796083200000&page=1&rows=500');
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.code, res.body.success, res.body.total], ['000000', true, 1]);
    const { type: _, ...purchase } = SAMPLE_EARN_FIAT_HISTORY[3];
    assert.deepEqual(res.body.data, [purchase], 'the tag is not part of the answer');
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/fiat/payments', '&transactionType=1&beginTime=1498867200000&endTime=1796083200000&page=1&rows=500');
    assert.deepEqual([res.body.data, res.body.total], [[], 0]);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/fiat/orders', '&transactionType=1&beginTime=1498867200000&endTime=1796083200000&page=1&rows=500');
    assert.deepEqual(res.body.data.map((row) => [row.orderNo, row.indicatedAmount, row.totalFee]), [['c9e3a7f1-2b4d-4e6f-8a0c-1d3e5f7a9b2c', '100.00', '1.00']]);
    assert.equal(res.headers['x-sapi-used-uid-weight-1m'], '90000');
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/fiat/orders', '&transactionType=0&beginTime=1498867200000&endTime=1796083200000&page=2&rows=500');
    assert.deepEqual([res.body.data, res.body.total], [[], 1]);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/fiat/orders', '&transactionType=0&page=1&rows=501');
    assert.equal(res.body.code, -1130);
    res = await signedGet(port, WITH_HISTORY, '/sapi/v1/fiat/orders', '&page=1&rows=500');
    assert.equal(res.body.code, -1102, 'transactionType is mandatory');
    res = await signedGet(port, NO_HISTORY, '/sapi/v1/fiat/payments', '&transactionType=0');
    assert.equal(res.body.code, -2015);
  });

  test('a key without history permission is refused with -2015 on history only', async () => {
    let res = await signedGet(port, NO_HISTORY, '/api/v3/myTrades', '&symbol=BTCUSDT&fromId=0&limit=1000');
    assert.deepEqual([res.status, res.body.code], [401, -2015]);
    res = await signedGet(port, NO_HISTORY, '/sapi/v1/capital/deposit/hisrec', '&offset=0&limit=1000');
    assert.equal(res.body.code, -2015);
    res = await signedGet(port, NO_HISTORY, '/api/v3/account', '&omitZeroBalances=true');
    assert.equal(res.status, 200, 'balances still read');
  });

  test('exchangeInfo and daily klines are public', async () => {
    let res = await send(port, { path: '/api/v3/exchangeInfo?permissions=SPOT&showPermissionSets=false' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.symbols.find((s) => s.symbol === 'ETHBTC'), { ...res.body.symbols.find((s) => s.symbol === 'ETHBTC'), baseAsset: 'ETH', quoteAsset: 'BTC' });
    assert.equal(res.body.symbols.length, SAMPLE_MARKETS.length);
    // 2024-01-01 is day 19723 (`date -u -d 2024-01-01 +%s` → 1704067200).
    res = await send(port, { path: `/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=${1704067200000 - DAY}&endTime=${1704067200000 + 2 * DAY - 1}&limit=1000` });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((k) => [k[0], k[4]]), [
      [1704067200000 - DAY, '98150.01000000'], [1704067200000, '42283.58000000'], [1704067200000 + DAY, '98150.01000000'],
    ]);
    res = await send(port, { path: '/api/v3/klines?symbol=BCCBTC&interval=1d&startTime=0&endTime=86399999&limit=1000' });
    assert.deepEqual(res.body, [], 'no zero closes');
    res = await send(port, { path: '/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=1001' });
    assert.equal(res.body.code, -1130);
    assert.equal(binance.requests.filter((r) => /klines|exchangeInfo/.test(r.path)).every((r) => r.authorized === null), true);
  });
});
