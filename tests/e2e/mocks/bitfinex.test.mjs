// The Bitfinex mock on its own (no browser): requests signed here with node:crypto, over TLS,
// under the real host names.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, STRAY_HOST, startMockServer } from '../mock-server.mjs';
import bitfinexSamples, {
  AUTH_HOST, createBitfinex, DAY_MS, expectedHoldings, HISTORY_RATE_LIMIT, isoDay, plainDecimal, PUBLIC_HOST,
  SAMPLE_ACCOUNT, SAMPLE_HISTORY, SAMPLE_MARKETS,
} from './bitfinex.mjs';

const WALLETS = '/v2/auth/r/wallets';
const PERMISSIONS = '/v2/auth/r/permissions';

const OTHER = {
  apiKey: 'mock-bitfinex-key-1111111111111111111111111',
  secret: 'mock-bitfinex-secret-other-11111111111111111',
  canWithdraw: true,
  wallets: [['exchange', 'BTC', 1, 0, 1, null, null]],
};

/** Micros nonces, as the official clients make them: ms × 1000, plus a counter. */
let counter = 0;
const nonce = () => String(Date.now() * 1000 + counter++);

/** Bitfinex's signature, computed here independently of the mock. */
function signature(secret, path, n, body) {
  return createHmac('sha384', secret).update('/api' + path + n + body).digest('hex');
}

let certificate;
/** One HTTPS request to the mock as `host`, trusting only the mock's certificate. */
function send(port, host, method, path, { headers = {}, body, timeout = 5000 } = {}) {
  return requestMock({ port, host, ca: certificate, method, path, headers, body, timeout });
}

function signedPost(port, account, path, { n = nonce(), body = '{}', signedBody = body, key = account.apiKey, headers = {} } = {}) {
  return send(port, AUTH_HOST, 'POST', path, {
    body,
    headers: {
      'content-type': 'application/json',
      'bfx-nonce': n,
      'bfx-apikey': key,
      'bfx-signature': signature(account.secret, path, n, signedBody),
      ...headers,
    },
  });
}

describe('mock Bitfinex', () => {
  let mock;
  let server;
  before(async () => {
    mock = createBitfinex({
      accounts: {
        [SAMPLE_ACCOUNT.apiKey]: { ...SAMPLE_ACCOUNT },
        [OTHER.apiKey]: { ...OTHER },
      },
    });
    server = await startMockServer([mock]);
    certificate = makeCertificate([...mock.hosts, STRAY_HOST]).cert;
  });
  after(() => server.close());

  test('a signed wallets request gets every wallet as Bitfinex sends them', async () => {
    const res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, SAMPLE_ACCOUNT.wallets);
    assert.match(res.text, /\["funding","UST",3\.8e-7,0,3\.8e-7,null,null\]/, 'tiny amounts in exponent form');
    assert.match(res.text, /\["exchange","UDC",250,0,null,/, 'a null AVAILABLE');
    assert.match(res.text, /"TESTBTC"/);
    assert.ok(res.body.every((row) => typeof row[2] === 'number'), 'amounts are JSON numbers');
    assert.deepEqual(new Set(res.body.map((row) => row[0])), new Set(['exchange', 'margin', 'funding']));
    const last = mock.requests.at(-1);
    assert.equal(last.host, AUTH_HOST);
    assert.equal(last.authorized, true);
    assert.equal(last.apiKey, SAMPLE_ACCOUNT.apiKey);
    assert.equal(last.error, null);
  });

  test('a wrong signature, an unknown key and missing headers get 10100', async () => {
    let res = await signedPost(server.port, { ...SAMPLE_ACCOUNT, secret: 'not the secret' }, WALLETS);
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, ['error', 10100, 'apikey: digest invalid']);
    assert.equal(mock.requests.at(-1).authorized, false);

    res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS, { key: 'no-such-key' });
    assert.deepEqual(res.body, ['error', 10100, 'apikey: invalid']);

    res = await send(server.port, AUTH_HOST, 'POST', WALLETS, { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(res.body, ['error', 10100, 'apikey: invalid']);
  });

  test('the body is signed exactly as sent, and the path is part of the signature', async () => {
    let res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS, { body: '{ }', signedBody: '{}' });
    assert.deepEqual(res.body, ['error', 10100, 'apikey: digest invalid']);
    const n = nonce();
    res = await send(server.port, AUTH_HOST, 'POST', WALLETS, {
      body: '{}',
      headers: {
        'content-type': 'application/json', 'bfx-nonce': n, 'bfx-apikey': SAMPLE_ACCOUNT.apiKey,
        'bfx-signature': signature(SAMPLE_ACCOUNT.secret, PERMISSIONS, n, '{}'),
      },
    });
    assert.deepEqual(res.body, ['error', 10100, 'apikey: digest invalid']);
    // A body that is not declared JSON is refused even when signed.
    res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS, { headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    assert.equal(res.status, 500);
    assert.equal(res.body[1], 10020);
  });

  test('nonces must grow per key and stay below 2^53', async () => {
    const first = nonce();
    assert.equal((await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS, { n: first })).status, 200);
    let res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS, { n: first });
    assert.deepEqual(res.body, ['error', 10114, 'nonce: small'], 'reused');
    res = await signedPost(server.port, SAMPLE_ACCOUNT, PERMISSIONS, { n: String(BigInt(first) - 1n) });
    assert.deepEqual(res.body, ['error', 10114, 'nonce: small'], 'smaller, on another endpoint');
    assert.equal(mock.requests.at(-1).error, '10114');
    // Another key keeps its own sequence.
    assert.equal((await signedPost(server.port, OTHER, WALLETS, { n: first })).status, 200);
    for (const bad of ['9007199254740992', '99999999999999999', '17313492001x3000', '-5']) {
      res = await signedPost(server.port, OTHER, WALLETS, { n: bad });
      assert.equal(res.body[1], 10114, bad);
    }
    // 2^53 − 1 is the largest allowed; nothing can follow it.
    const spent = { ...OTHER, apiKey: 'mock-bitfinex-key-5555555555555555555555555' };
    mock.setAccount(spent.apiKey, spent);
    assert.equal((await signedPost(server.port, spent, WALLETS, { n: '9007199254740991' })).status, 200);
    assert.equal((await signedPost(server.port, spent, WALLETS, { n: nonce() })).body[1], 10114);
  });

  test('permissions: read-only by default, write rights from the account flags', async () => {
    const res = await signedPost(server.port, SAMPLE_ACCOUNT, PERMISSIONS);
    assert.equal(res.status, 200);
    const rows = new Map(res.body.map(([scope, read, write]) => [scope, { read, write }]));
    assert.deepEqual(rows.get('wallets'), { read: 1, write: 0 });
    assert.ok(res.body.every(([, , write]) => write === 0));
    assert.ok(res.body.every((row) => row.length === 3 && typeof row[1] === 'number'));

    const withdrawing = { ...OTHER, apiKey: 'mock-bitfinex-key-2222222222222222222222222' };
    mock.setAccount(withdrawing.apiKey, withdrawing);
    const other = await signedPost(server.port, withdrawing, PERMISSIONS);
    assert.deepEqual(other.body.find(([scope]) => scope === 'withdraw'), ['withdraw', 0, 1]);

    const trading = { ...withdrawing, apiKey: 'mock-bitfinex-key-3333333333333333333333333', canWithdraw: false, canTrade: true, canTransfer: true };
    mock.setAccount(trading.apiKey, trading);
    const scopes = new Map((await signedPost(server.port, trading, PERMISSIONS)).body.map(([s, , w]) => [s, w]));
    assert.deepEqual([scopes.get('orders'), scopes.get('positions'), scopes.get('funding'), scopes.get('wallets'), scopes.get('withdraw')], [1, 1, 1, 1, 0]);
  });

  test('a key that may not read wallets gets 10001 with a permission message', async () => {
    const blind = { ...OTHER, apiKey: 'mock-bitfinex-key-4444444444444444444444444', walletsRead: false };
    mock.setAccount(blind.apiKey, blind);
    const res = await signedPost(server.port, blind, WALLETS);
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, ['error', 10001, 'api_key: permission invalid']);
    const perms = await signedPost(server.port, blind, PERMISSIONS);
    assert.deepEqual(perms.body.find(([scope]) => scope === 'wallets'), ['wallets', 0, 0]);
  });

  test('tickers?symbols=ALL on api-pub: every row, trading and funding, unsigned', async () => {
    const res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers?symbols=ALL');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, SAMPLE_MARKETS);
    assert.ok(res.body.some((row) => row[0].startsWith('f') && row.length === 17));
    assert.ok(res.body.filter((row) => row[0].startsWith('t')).every((row) => row.length === 11));
    assert.equal(mock.requests.at(-1).authorized, null);
    const some = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers?symbols=tBTCUSD,tDOGE:USD');
    assert.deepEqual(some.body.map((row) => row[0]), ['tBTCUSD', 'tDOGE:USD']);
    const none = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers');
    assert.equal(none.body[0], 'error');
    // Public data is asked of api-pub; the authenticated host does not serve it here.
    assert.equal((await send(server.port, AUTH_HOST, 'GET', '/v2/tickers?symbols=ALL')).status, 404);
    assert.equal((await send(server.port, PUBLIC_HOST, 'POST', WALLETS, { body: '{}' })).status, 404);
  });

  test('faults: every error shape, with targets and counts', async () => {
    const cases = [
      ['error:credentials', 500, ['error', 10100, 'apikey: invalid']],
      ['error:signature', 500, ['error', 10100, 'apikey: digest invalid']],
      ['error:nonce', 500, ['error', 10114, 'nonce: small']],
      ['error:permission', 500, ['error', 10001, 'api_key: permission invalid']],
      ['error:generic', 500, ['error', 10001, 'amount: invalid']],
      ['error:ratelimit', 500, ['error', 11010, 'ratelimit: error']],
      ['error:edge-ratelimit', 429, { error: 'ERR_RATE_LIMIT' }],
      ['error:maintenance', 500, ['error', 20060, 'maintenance']],
      ['error:10020', 500, ['error', 10020, 'symbols: invalid']],
      ['http:400:10114', 400, ['error', 10114, 'nonce: small']],
    ];
    for (const [fault, status, body] of cases) {
      mock.setFault(SAMPLE_ACCOUNT.apiKey, fault, { times: 1 });
      const res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS);
      assert.equal(res.status, status, fault);
      assert.deepEqual(res.body, body, fault);
      assert.equal(mock.requests.at(-1).fault, fault);
    }
    assert.equal((await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS)).status, 200, 'times: 1 wears off');

    mock.setFault(SAMPLE_ACCOUNT.apiKey, 'error:unavailable');
    let res = await signedPost(server.port, SAMPLE_ACCOUNT, PERMISSIONS);
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'temporarily_unavailable');
    assert.equal((await signedPost(server.port, OTHER, WALLETS)).status, 200, 'other keys unaffected');
    mock.setFault(SAMPLE_ACCOUNT.apiKey, null);

    mock.setFault('*', 'retry-after:30', { times: 1 });
    res = await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS);
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '30');

    mock.setFault('tickers', 'http:502', { times: 1 });
    res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers?symbols=ALL');
    assert.equal(res.status, 502);
    assert.equal(res.body, null);
    assert.equal(mock.requests.at(-1).error, 'http:502');

    mock.setFault('tickers', 'html403', { times: 1 });
    res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers?symbols=ALL');
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'], /text\/html/);

    mock.setFault('tickers', 'malformed', { times: 1 });
    res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers?symbols=ALL');
    assert.equal(res.status, 200);
    assert.equal(res.body, null);

    mock.setFault('tickers', 'redirect', { times: 1 });
    res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/tickers?symbols=ALL');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `https://${STRAY_HOST}/collect`);

    mock.setFault(SAMPLE_ACCOUNT.apiKey, 'timeout', { times: 1 });
    await assert.rejects(
      send(server.port, AUTH_HOST, 'POST', WALLETS, {
        body: '{}',
        timeout: 300,
        headers: (() => {
          const n = nonce();
          return {
            'content-type': 'application/json', 'bfx-nonce': n, 'bfx-apikey': SAMPLE_ACCOUNT.apiKey,
            'bfx-signature': signature(SAMPLE_ACCOUNT.secret, WALLETS, n, '{}'),
          };
        })(),
      }),
      /timeout/,
    );
    assert.throws(() => mock.setFault('*', 'nonsense'));
    mock.clearFaults();
    assert.equal((await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS)).status, 200);
  });

  test('a bad signature is refused before any fault or nonce is taken', async () => {
    mock.setFault(SAMPLE_ACCOUNT.apiKey, 'error:maintenance', { times: 1 });
    const n = nonce();
    const res = await signedPost(server.port, { ...SAMPLE_ACCOUNT, secret: 'wrong' }, WALLETS, { n });
    assert.deepEqual(res.body, ['error', 10100, 'apikey: digest invalid']);
    // The same nonce, signed properly, is still fresh; the armed fault hits it.
    assert.deepEqual((await signedPost(server.port, SAMPLE_ACCOUNT, WALLETS, { n })).body, ['error', 20060, 'maintenance']);
  });

  test('the log records every request with host, key, nonce and verdict', () => {
    assert.ok(mock.requests.length > 20);
    assert.ok(mock.authRequests().every((r) => r.host === AUTH_HOST && r.method === 'POST' && r.apiKey !== undefined));
    assert.ok(mock.authRequests().every((r) => r.nonce === null || /^-?[\dx]+$/.test(r.nonce)));
    assert.ok(mock.requests.some((r) => r.host === PUBLIC_HOST));
    const json = JSON.stringify(mock.requests);
    assert.ok(!json.includes(SAMPLE_ACCOUNT.secret), 'the log never holds a secret');
  });
});

describe('Bitfinex sample data, normalised independently', () => {
  test('JSON number texts become exact plain decimals', () => {
    assert.equal(plainDecimal(3.8e-7), '0.00000038');
    assert.equal(plainDecimal(1.235e-5), '0.00001235');
    assert.equal(plainDecimal(101500.25), '101500.25');
    assert.equal(plainDecimal(-310.75), '-310.75');
    assert.equal(plainDecimal(1e21), '1000000000000000000000');
    assert.equal(plainDecimal('2.5E+3'), '2500');
    assert.equal(plainDecimal(0), '0');
    assert.throws(() => plainDecimal('NaN'));
  });

  test('expected holdings follow the wallet rules', () => {
    assert.deepEqual(expectedHoldings(SAMPLE_ACCOUNT), {
      btc: '0.6213', // exchange 0.5213 + margin 0.1
      eth: '4.25',
      usdt: '1500.75000038', // UST 1200.5 + USTF0 300.25 + funding 3.8e-7
      usdc: '250', // UDC with a null AVAILABLE
      doge: '1500',
      usd: '7000', // margin 2000 + funding 5000 (4000 of it lent out); interest left out
    });
    assert.deepEqual(expectedHoldings({ wallets: [['exchange', 'TESTUSD', 5, 0, 5, null, null], ['exchange', 'LUNA2', 1, 0, 1, null, null]] }), { luna: '1' });
  });

  test('books: spot pairs only, in Cartera codes', () => {
    const books = createBitfinex().books();
    assert.deepEqual(books.map((b) => b.book), [
      'bitfinex:tBTCUSD', 'bitfinex:tETHUSD', 'bitfinex:tUSTUSD', 'bitfinex:tUDCUSD', 'bitfinex:tBTCUST',
      'bitfinex:tETHUST', 'bitfinex:tBTCEUR', 'bitfinex:tEURUST', 'bitfinex:tDOGE:USD', 'bitfinex:tSHIB:USD',
    ]);
    assert.deepEqual(books[2], { book: 'bitfinex:tUSTUSD', base: 'usdt', quote: 'usd', last: '1.0003', volume: '5123456.7', change: '0.0001' });
    assert.deepEqual(books.find((b) => b.base === 'shib'), {
      book: 'bitfinex:tSHIB:USD', base: 'shib', quote: 'usd', last: '0.00001235', volume: '98000000000', change: '0.00000021',
    });
    assert.deepEqual(books.find((b) => b.book === 'bitfinex:tEURUST'), {
      book: 'bitfinex:tEURUST', base: 'eur', quote: 'usdt', last: '1.0542', volume: '1250000.5', change: '-0.0008',
    });
    const mock = createBitfinex();
    mock.setMarkets([['tBTCUSD', 1, 1, 1, 1, null, null, 0, 1, 1, 1], ['tXYZ', 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]]);
    assert.deepEqual(mock.books(), []);
  });

  test('the default export carries the samples', () => {
    assert.equal(bitfinexSamples.SAMPLE_ACCOUNT, SAMPLE_ACCOUNT);
    assert.equal(bitfinexSamples.SAMPLE_MARKETS, SAMPLE_MARKETS);
    assert.equal(typeof bitfinexSamples.createBitfinex, 'function');
  });
});

describe('mock Bitfinex history and candles', () => {
  const TRADES = '/v2/auth/r/trades/hist';
  const MOVEMENTS = '/v2/auth/r/movements/hist';
  const LEDGERS = '/v2/auth/r/ledgers/hist';
  const HISTORIAN = {
    apiKey: 'mock-bitfinex-key-2222222222222222222222222',
    secret: 'mock-bitfinex-secret-history-222222222222222',
    wallets: [],
    history: SAMPLE_HISTORY,
  };
  const NO_HISTORY = {
    apiKey: 'mock-bitfinex-key-3333333333333333333333333',
    secret: 'mock-bitfinex-secret-nohistory-33333333333333',
    wallets: [['exchange', 'BTC', 1, 0, 1, null, null]],
    history: SAMPLE_HISTORY,
    historyPermission: false,
  };
  // 3,000 fills one second apart, from 2024-01-01T00:00:00Z (1704067200000).
  const BUSY = {
    apiKey: 'mock-bitfinex-key-4444444444444444444444444',
    secret: 'mock-bitfinex-secret-busy-4444444444444444444',
    wallets: [],
    history: {
      trades: Array.from({ length: 3000 }, (_, i) => [
        1_000_000 + i, 'tBTCUSD', 1_704_067_200_000 + i * 1000, 5_000_000 + i, 0.001, 42000, 'EXCHANGE LIMIT', 42000, 1, -0.0336, 'USD', 1,
      ]),
    },
  };
  let mock;
  let server;
  before(async () => {
    mock = createBitfinex({
      accounts: { [HISTORIAN.apiKey]: { ...HISTORIAN }, [NO_HISTORY.apiKey]: { ...NO_HISTORY }, [BUSY.apiKey]: { ...BUSY } },
      closes: { tETHUSD: { '2025-01-01': '3332.1' } },
    });
    server = await startMockServer([mock]);
    certificate = makeCertificate([...mock.hosts, STRAY_HOST]).cert;
  });
  after(() => server.close());

  const post = (account, path, query) => signedPost(server.port, account, path, { body: JSON.stringify(query) });

  test('trades come newest first within start..end, inclusive, up to the limit', async () => {
    let res = await post(HISTORIAN, TRADES, { sort: -1, start: 0, end: Date.now(), limit: 2500 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, SAMPLE_HISTORY.trades);
    res = await post(HISTORIAN, TRADES, { start: 1736931600000, end: 1740816000000, limit: 1 });
    assert.deepEqual(res.body.map((row) => row[0]), [1408000002], 'both ends inclusive, newest first');
    res = await post(HISTORIAN, TRADES, { start: 1736931600000, end: 1740816000000, limit: 5, sort: 1 });
    assert.deepEqual(res.body.map((row) => row[0]), [1408000001, 1408000002], 'sort: 1 is oldest first');
    assert.equal(mock.historyRequests().at(-1).body, '{"start":1736931600000,"end":1740816000000,"limit":5,"sort":1}');
    res = await post(HISTORIAN, TRADES, { limit: 2501 });
    assert.deepEqual(res.body, ['error', 10020, 'limit: invalid']);
    res = await post(HISTORIAN, TRADES, {});
    assert.equal(res.body.length, 4, 'default limit 25, everything up to now');
  });

  test('a full page of 2,500 goes on by moving the end back', async () => {
    const end = Date.now();
    let res = await post(BUSY, TRADES, { sort: -1, start: 0, end, limit: 2500 });
    assert.equal(res.body.length, 2500);
    const oldest = res.body.at(-1)[2];
    assert.equal(oldest, 1_704_067_200_000 + 500 * 1000);
    res = await post(BUSY, TRADES, { sort: -1, start: 0, end: oldest, limit: 2500 });
    assert.equal(res.body.length, 501, 'the row at `end` again, and the 500 older');
    assert.equal(res.body[0][2], oldest);
  });

  test('movements filter on MTS_UPDATED; ledgers on category and wallet', async () => {
    let res = await post(HISTORIAN, MOVEMENTS, { start: 1739185200000, end: Date.now(), limit: 1000 });
    assert.deepEqual(res.body.map((row) => row[0]), [23000003, 23000002]);
    assert.equal(res.body[0].length, 22);
    res = await post(HISTORIAN, LEDGERS, { category: 262, start: 0, end: Date.now(), limit: 2500 });
    assert.deepEqual(res.body, SAMPLE_HISTORY.ledgers[262]);
    res = await post(HISTORIAN, LEDGERS, { category: 28, wallet: 'funding', start: 0, end: Date.now(), limit: 2500 });
    assert.deepEqual(res.body.map((row) => row[0]), [9200000002], 'the margin swap payment is filtered out');
    res = await post(HISTORIAN, LEDGERS, { start: 0, end: Date.now(), limit: 2500 });
    assert.equal(res.body.length, 7, 'no category: every ledger row');
    assert.deepEqual(res.body.map((row) => row[3]), [...res.body.map((row) => row[3])].sort((a, b) => b - a));
    res = await post(HISTORIAN, LEDGERS, { category: 'staking' });
    assert.deepEqual(res.body, ['error', 10020, 'category: invalid']);
  });

  test('a key without Account History cannot read it, and says so in its permissions', async () => {
    let res = await signedPost(server.port, NO_HISTORY, '/v2/auth/r/permissions');
    assert.deepEqual(res.body.find(([scope]) => scope === 'history'), ['history', 0, 0]);
    for (const path of [TRADES, MOVEMENTS, LEDGERS]) {
      res = await post(NO_HISTORY, path, { start: 0, end: Date.now(), limit: 25 });
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, ['error', 10001, 'api_key: permission invalid'], path);
    }
    res = await signedPost(server.port, NO_HISTORY, '/v2/auth/r/wallets');
    assert.equal(res.status, 200, 'balances still read');
  });

  test('history requests are signed over their bodies', async () => {
    const body = JSON.stringify({ start: 0, end: Date.now(), limit: 25 });
    let res = await signedPost(server.port, HISTORIAN, TRADES, { body, signedBody: '{}' });
    assert.deepEqual(res.body, ['error', 10100, 'apikey: digest invalid']);
    res = await signedPost(server.port, HISTORIAN, TRADES, { body: 'not json', signedBody: 'not json' });
    assert.deepEqual(res.body, ['error', 10020, 'body: invalid']);
  });

  test('each history endpoint allows 90 requests a minute per key', async () => {
    const spender = { ...HISTORIAN, apiKey: 'mock-bitfinex-key-6666666666666666666666666' };
    mock.setAccount(spender.apiKey, { ...spender });
    for (let i = 0; i < HISTORY_RATE_LIMIT; i++) {
      assert.equal((await post(spender, MOVEMENTS, { limit: 1 })).status, 200, `request ${i + 1}`);
    }
    const res = await post(spender, MOVEMENTS, { limit: 1 });
    assert.equal(res.status, 429);
    assert.deepEqual(res.body, { error: 'ERR_RATE_LIMIT' });
    assert.equal((await post(spender, LEDGERS, { limit: 1 })).status, 200, 'another endpoint keeps its own count');
  });

  test('daily candles: public, one per day, from the closes table or the ticker', async () => {
    // 2025-01-01 is day 20089 (`date -u -d 2025-01-01 +%s` = 1735689600).
    const start = 20089 * DAY_MS;
    let res = await send(server.port, PUBLIC_HOST, 'GET', `/v2/candles/trade:1D:tETHUSD/hist?start=${start}&end=${start + 3 * DAY_MS - 1}&limit=1000&sort=1`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((row) => row[0]), [start, start + DAY_MS, start + 2 * DAY_MS]);
    assert.match(res.text, /^\[\[1735689600000,3332\.1,3332\.1,/, 'the table first, as an exact JSON number');
    // Derived from the last price 3550.1: day 20090 → × (990 + 20090 mod 21 = 14) / 1000.
    assert.equal(mock.closeOn('tETHUSD', 20090), '3564.3004');
    assert.equal(res.body[1][2], 3564.3004);
    assert.equal(isoDay(20089), '2025-01-01');
    // Newest first by default; limit counts from the newest.
    res = await send(server.port, PUBLIC_HOST, 'GET', `/v2/candles/trade:1D:tDOGE:USD/hist?start=${start}&end=${start + 10 * DAY_MS - 1}&limit=2`);
    assert.deepEqual(res.body.map((row) => row[0]), [start + 9 * DAY_MS, start + 8 * DAY_MS]);
    // Never beyond today; an unknown symbol has none; the limit is checked.
    res = await send(server.port, PUBLIC_HOST, 'GET', `/v2/candles/trade:1D:tBTCUSD/hist?start=${Date.now() - 2 * DAY_MS}&end=${Date.now() + 30 * DAY_MS}&limit=100&sort=1`);
    assert.equal(res.body.length, 2);
    res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/candles/trade:1D:tNOPE:USD/hist?limit=10');
    assert.deepEqual(res.body, []);
    res = await send(server.port, PUBLIC_HOST, 'GET', '/v2/candles/trade:1D:tBTCUSD/hist?limit=10001');
    assert.deepEqual(res.body, ['error', 10020, 'limit: invalid']);
    res = await send(server.port, AUTH_HOST, 'GET', '/v2/candles/trade:1D:tBTCUSD/hist?limit=10');
    assert.equal(res.status, 404, 'candles are on the public host only');
  });
});
