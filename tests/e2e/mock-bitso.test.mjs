// The mock exchange and the independent calculator, on their own (no browser).
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { expectedPortfolio, priceOf, Q } from './expected.mjs';
import { ACCOUNT_A, ACCOUNT_B, TICKERS } from './fixtures.mjs';
import { HOST, makeCertificate, sign, startMockBitso } from './mock-bitso.mjs';
import { requestMock } from './mock-server.mjs';

let nonceCounter = 0;
/** A nonce v2: 13-digit epoch ms + a 6-digit salt. */
function nonce() {
  return `${Date.now() + nonceCounter++}${randomInt(100000, 999999)}`;
}

/** GET through TLS with the mock's certificate as the only trusted root, as api.bitso.com. */
function get(port, path, headers = {}, { timeout = 5000 } = {}) {
  return requestMock({ port, host: HOST, ca: makeCertificate().cert, path, headers, timeout });
}

function signedGet(port, account, path, n = nonce(), key = account.apiKey) {
  const signature = sign(account.secret, n, 'GET', path);
  return get(port, path, { authorization: `Bitso ${key}:${n}:${signature}` });
}

describe('mock Bitso', () => {
  let mock;
  before(async () => {
    mock = await startMockBitso({
      accounts: {
        [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances },
        [ACCOUNT_B.apiKey]: { secret: ACCOUNT_B.secret, balances: ACCOUNT_B.balances },
      },
    });
  });
  after(() => mock.close());

  test('a correctly signed balance request gets the balances, over TLS as api.bitso.com', async () => {
    const res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.deepEqual(res.body.payload.balances, ACCOUNT_A.balances);
    for (const b of res.body.payload.balances) {
      for (const field of ['total', 'locked', 'available', 'pending_deposit', 'pending_withdrawal']) {
        assert.equal(typeof b[field], 'string');
      }
    }
    const last = mock.requests.at(-1);
    assert.equal(last.host, HOST);
    assert.equal(last.authorized, true);
    assert.equal(last.apiKey, ACCOUNT_A.apiKey);
    assert.equal(last.error, null);
  });

  test('the /api prefix and a query string are signed exactly as sent', async () => {
    const res = await signedGet(mock.port, ACCOUNT_B, '/api/v3/balance/?type=spot');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.payload.balances, ACCOUNT_B.balances);
    // Signing the path without the query is wrong.
    const n = nonce();
    const bad = await get(mock.port, '/api/v3/balance/?type=spot', {
      authorization: `Bitso ${ACCOUNT_B.apiKey}:${n}:${sign(ACCOUNT_B.secret, n, 'GET', '/api/v3/balance/')}`,
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, '0215');
  });

  test('a wrong signature gets 0215', async () => {
    const n = nonce();
    const res = await get(mock.port, '/v3/balance/', {
      authorization: `Bitso ${ACCOUNT_A.apiKey}:${n}:${sign('not the secret', n, 'GET', '/v3/balance/')}`,
    });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { success: false, error: { code: '0215', message: 'Incorrect request signature' } });
    assert.equal(mock.requests.at(-1).authorized, false);
  });

  test('an unknown key gets 0201, a missing header 0208', async () => {
    const res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/', nonce(), 'NoSuchKey');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, {
      success: false, error: { code: '0201', message: 'Invalid Nonce or Invalid Credentials' },
    });
    const bare = await get(mock.port, '/v3/balance/');
    assert.equal(bare.status, 401);
    assert.equal(bare.body.error.code, '0208');
  });

  test('nonce v2: out of order is fine, reuse and bad lengths get 0207', async () => {
    const later = nonce();
    const earlier = `${Date.now() - 5000}123456`;
    assert.equal((await signedGet(mock.port, ACCOUNT_A, '/v3/balance/', later)).status, 200);
    assert.equal((await signedGet(mock.port, ACCOUNT_A, '/v3/balance/', earlier)).status, 200);
    const reused = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/', later);
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, '0207');
    // The same nonce under another key is that key's business.
    assert.equal((await signedGet(mock.port, ACCOUNT_B, '/v3/balance/', later)).status, 200);
    for (const bad of ['1731349200123', '17313492001231234567', '17313492001x3456']) {
      const res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/', bad);
      assert.equal(res.body.error.code, '0207', bad);
    }
  });

  test('tickers: every book without ?book, one object with it', async () => {
    const all = await get(mock.port, '/v3/ticker/');
    assert.equal(all.status, 200);
    assert.equal(all.body.payload.length, TICKERS.length);
    const one = await get(mock.port, '/api/v3/ticker/?book=sol_usd');
    assert.equal(one.body.payload.book, 'sol_usd');
    assert.equal(one.body.payload.last, '172.345');
    assert.equal(mock.requests.at(-1).authorized, null);
  });

  test('faults: Bitso errors with their HTTP status, rate limit once, then normal again', async () => {
    mock.setFault(ACCOUNT_A.apiKey, 'error:0202');
    let res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, '0202');
    assert.equal((await signedGet(mock.port, ACCOUNT_B, '/v3/balance/')).status, 200, 'other keys unaffected');
    mock.setFault(ACCOUNT_A.apiKey, 'error:0326');
    res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, '0326');
    mock.setFault(ACCOUNT_A.apiKey, null);

    mock.setFault('*', 'http:420:0801', { times: 1 });
    res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 420);
    assert.equal(res.body.error.code, '0801');
    assert.equal((await signedGet(mock.port, ACCOUNT_A, '/v3/balance/')).status, 200);
  });

  test('faults: 5xx, Cloudflare HTML, malformed JSON, tickers down', async () => {
    mock.setFault(ACCOUNT_A.apiKey, 'http:500', { times: 1 });
    let res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 500);
    assert.equal(res.body, null);

    mock.setFault(ACCOUNT_A.apiKey, 'html403', { times: 1 });
    res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'], /text\/html/);
    assert.match(res.text, /Cloudflare/);

    mock.setFault(ACCOUNT_A.apiKey, 'html502', { times: 1 });
    res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 502);
    assert.match(res.text, /<!DOCTYPE html>/);

    mock.setFault(ACCOUNT_A.apiKey, 'malformed', { times: 1 });
    res = await signedGet(mock.port, ACCOUNT_A, '/v3/balance/');
    assert.equal(res.status, 200);
    assert.equal(res.body, null);

    mock.setFault('ticker', 'http:503', { times: 1 });
    assert.equal((await get(mock.port, '/v3/ticker/')).status, 503);
    assert.equal((await get(mock.port, '/v3/ticker/')).status, 200);
    assert.throws(() => mock.setFault('*', 'nonsense'));
  });

  test('faults: timeout never answers; latency delays', async () => {
    mock.setFault(ACCOUNT_A.apiKey, 'timeout', { times: 1 });
    await assert.rejects(
      get(mock.port, '/v3/balance/', {
        authorization: (() => {
          const n = nonce();
          return `Bitso ${ACCOUNT_A.apiKey}:${n}:${sign(ACCOUNT_A.secret, n, 'GET', '/v3/balance/')}`;
        })(),
      }, { timeout: 300 }),
      /timeout/,
    );
    mock.setLatency(150);
    const started = Date.now();
    assert.equal((await get(mock.port, '/v3/ticker/?book=btc_mxn')).status, 200);
    assert.ok(Date.now() - started >= 140);
    mock.setLatency(0);
  });

  test('the log records every request with its host, path and verdict', () => {
    assert.ok(mock.requests.length > 10);
    for (const r of mock.requests) {
      assert.equal(r.host, HOST);
      assert.equal(r.method, 'GET');
    }
    assert.ok(mock.balanceRequests().every((r) => /\/v3\/balance/.test(r.path)));
  });
});

describe('independent valuation', () => {
  const price = (asset) => priceOf(asset, 'mxn', TICKERS);

  test('direct, two-hop, inverse and unpriced assets', () => {
    assert.deepEqual(price('btc').route, ['btc_mxn']);
    assert.equal(price('btc').price.toDecimal(), '1750000.5');
    assert.equal(price('mxn').price.toDecimal(), '1');
    assert.deepEqual(price('sol').route, ['sol_usd', 'usd_mxn']);
    assert.equal(price('sol').price.toDecimal(), '2972.089525'); // 172.345 × 17.2450
    assert.deepEqual(price('ape').route, ['ape_usdt', 'usdt_mxn'], 'the more liquid of two equal routes');
    assert.equal(price('ape').price.toDecimal(), '21.144725'); // 1.2250 × 17.2610
    assert.deepEqual(price('ars').route, ['usd_ars', 'usd_mxn'], 'inverse book first, through usd');
    assert.equal(price('ars').price.cmp(Q.parse('17.2450').mul(Q.parse('1180.50').inv())), 0);
    assert.equal(price('xyz'), null);
    assert.deepEqual(priceOf('mxn', 'usd', TICKERS).route, ['usd_mxn'], 'inverse when valued in usd');
  });

  test('rationals round half up and stay exact', () => {
    assert.equal(Q.parse('2.345').toFixed(2), '2.35');
    assert.equal(Q.parse('2.344999').toFixed(2), '2.34');
    assert.equal(Q.parse('0.00000123').mul(Q.parse('1750000.50')).toDecimal(), '2.152500615');
    assert.equal(new Q(1n, 3n).toDecimal(), null);
    assert.equal(new Q(1n, 3n).toFixed(4), '0.3333');
  });

  test('a small portfolio by hand', () => {
    const p = expectedPortfolio(
      [
        { balances: [{ currency: 'mxn', total: '100.50' }, { currency: 'btc', total: '0.001' }] },
        { balances: [{ currency: 'btc', total: '0.002' }, { currency: 'sol', total: '2' },
          { currency: 'xyz', total: '5' }, { currency: 'eth', total: '0.000' }] },
      ],
      TICKERS,
    );
    // 100.50 + 0.003 × 1750000.50 + 2 × 172.345 × 17.2450
    assert.equal(p.total.toDecimal(), '11294.68055');
    assert.deepEqual(p.unpriced, ['xyz']);
    assert.deepEqual(p.hidden, ['eth']);
    assert.deepEqual(p.assets.map((a) => a.asset), ['sol', 'btc', 'mxn']);
  });

  test('the fixture accounts', () => {
    const a = expectedPortfolio([ACCOUNT_A], TICKERS);
    assert.deepEqual(a.unpriced, ['xyz']);
    assert.deepEqual(a.hidden, ['bch', 'ltc']);
    const both = expectedPortfolio([ACCOUNT_A, ACCOUNT_B], TICKERS);
    assert.ok(both.total.cmp(a.total) > 0);
    assert.equal(both.total.toDecimal(), null, 'ars goes through an inverse book: not a finite decimal');
  });
});
