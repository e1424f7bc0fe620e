// The Bitso mock's history side on its own (no browser): the signed ledger, paged as the adapter
// pages it (src/exchange/bitso.rs, `LedgerPage`), and the public daily candles its `Candles`
// flow asks for.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { ACCOUNT_A, ACCOUNT_B, TICKERS } from './fixtures.mjs';
import { HOST, makeCertificate, sign, startMockBitso } from './mock-bitso.mjs';
import { requestMock } from './mock-server.mjs';
import { DAY_MS, derivedClose } from './mocks/bitso.mjs';

const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/bitso/ledger-page-1.json', import.meta.url), 'utf8'));

/** What the adapter sends: `LEDGER_PATH` with `limit=100&sort=asc`, then `&marker=<last eid>`. */
function ledgerPath(marker) {
  return `/v3/ledger/?limit=100&sort=asc${marker === undefined ? '' : `&marker=${marker}`}`;
}

/** What the adapter's `Candles` flow sends for days `from`..=`to` (days since the epoch). */
function candlePath(book, from, to) {
  return `/v3/ohlc?book=${book}&time_bucket=86400&start=${from * DAY_MS}&end=${(to + 1) * DAY_MS - 1}`;
}

/** A ledger row in Bitso's shape. */
function row(eid, operation, createdAt, updates, details = {}) {
  return {
    eid, operation, created_at: createdAt,
    balance_updates: updates.map(([currency, amount]) => ({ currency, amount })), details,
  };
}

/** A buy, a sell (each with its fee row), a deposit and a withdrawal. */
const SMALL_LEDGER = [
  row('d1', 'funding', '2025-01-03T17:52:31.000+00:00', [['mxn', '100000.00']], { fid: 'f1', method: 'sp', method_name: 'SPEI Transfer' }),
  row('b1', 'trade', '2025-01-04T10:00:00.000+00:00', [['btc', '0.05000000'], ['mxn', '-50000.00']], { tid: 1, oid: 'o1' }),
  row('b1f', 'fee', '2025-01-04T10:00:00.000+00:00', [['mxn', '-325.00']], { tid: 1, oid: 'o1' }),
  row('s1', 'trade', '2025-03-10T12:30:00.000+00:00', [['btc', '-0.02000000'], ['mxn', '30000.00']], { tid: 2, oid: 'o2' }),
  row('s1f', 'fee', '2025-03-10T12:30:00.000+00:00', [['mxn', '-195.00']], { tid: 2, oid: 'o2' }),
  row('w1', 'withdrawal', '2025-04-01T08:00:00.000+00:00', [['btc', '-0.01000000']], { wid: 'w1', method: 'btc' }),
];

/** 230 fundings a minute apart, listed newest first so the mock has to sort them. */
const LONG_LEDGER = Array.from({ length: 230 }, (_, i) => row(
  `e${String(i).padStart(3, '0')}`, 'funding', new Date(Date.UTC(2025, 4, 1) + i * 60_000).toISOString(), [['btc', '0.001']],
)).reverse();

const ACCOUNTS = {
  small: { apiKey: 'SmallLedgerKey', secret: 'small-ledger-secret', balances: ACCOUNT_A.balances, ledger: SMALL_LEDGER },
  long: { apiKey: 'LongLedgerKey', secret: 'long-ledger-secret', balances: ACCOUNT_A.balances, ledger: LONG_LEDGER },
  round: { apiKey: 'RoundLedgerKey', secret: 'round-ledger-secret', balances: [], ledger: LONG_LEDGER.slice(30) },
  fixture: { apiKey: 'FixtureKey', secret: 'fixture-secret', balances: [], ledger: FIXTURE.payload },
  blind: { apiKey: 'NoHistoryKey', secret: 'no-history-secret', balances: ACCOUNT_B.balances, ledger: SMALL_LEDGER, historyPermission: false },
  none: { apiKey: ACCOUNT_B.apiKey, secret: ACCOUNT_B.secret, balances: ACCOUNT_B.balances },
};

let nonceCounter = 0;
/** A nonce v2 as the adapter makes it: 13-digit epoch ms + a 6-digit salt. */
function nonce() {
  return `${Date.now() + nonceCounter++}${randomInt(100000, 999999)}`;
}

function get(port, path, headers = {}) {
  return requestMock({ port, host: HOST, ca: makeCertificate().cert, path, headers });
}

/** Signed as `signed_request` signs: nonce + 'GET' + the path with its query, no body. */
function signedGet(port, account, path, { n = nonce(), signedPath = path, secret = account.secret } = {}) {
  return get(port, path, { authorization: `Bitso ${account.apiKey}:${n}:${sign(secret, n, 'GET', signedPath)}` });
}

const toMockAccounts = () => Object.fromEntries(Object.values(ACCOUNTS).map(({ apiKey, ...account }) => [apiKey, account]));

describe('mock Bitso: ledger', () => {
  let mock;
  before(async () => {
    mock = await startMockBitso({ accounts: toMockAccounts() });
  });
  after(() => mock.close());

  /** Reads the whole ledger the way `LedgerPage` does: until a page holds fewer than 100 rows. */
  async function readAll(account) {
    const pages = [];
    let marker;
    for (;;) {
      const res = await signedGet(mock.port, account, ledgerPath(marker));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.success, true);
      pages.push(res.body.payload);
      if (res.body.payload.length < 100) return pages;
      marker = res.body.payload.at(-1).eid;
    }
  }

  test('the fixture page comes back exactly as Bitso sent it', async () => {
    const res = await signedGet(mock.port, ACCOUNTS.fixture, ledgerPath());
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, FIXTURE);
    const last = mock.requests.at(-1);
    assert.equal(last.authorized, true);
    assert.equal(last.path, '/v3/ledger/?limit=100&sort=asc');
  });

  test('paging by marker reads every row once, oldest first, to a short last page', async () => {
    const pages = await readAll(ACCOUNTS.long);
    assert.deepEqual(pages.map((page) => page.length), [100, 100, 30]);
    const eids = pages.flat().map((r) => r.eid);
    assert.deepEqual(eids, Array.from({ length: 230 }, (_, i) => `e${String(i).padStart(3, '0')}`));
    assert.deepEqual(
      mock.ledgerRequests().slice(-3).map((r) => r.path),
      [ledgerPath(), ledgerPath('e099'), ledgerPath('e199')],
    );
    // Caught up: asking again from the last row gives an empty page.
    const again = await signedGet(mock.port, ACCOUNTS.long, ledgerPath('e229'));
    assert.deepEqual(again.body, { success: true, payload: [] });
  });

  test('a ledger of exactly two pages ends on an empty third page', async () => {
    const pages = await readAll(ACCOUNTS.round);
    assert.deepEqual(pages.map((page) => page.length), [100, 100, 0]);
  });

  test('a buy, a sell, a deposit and a withdrawal in order; same-instant rows keep their order', async () => {
    const [page] = await readAll(ACCOUNTS.small);
    assert.deepEqual(page.map((r) => r.eid), ['d1', 'b1', 'b1f', 's1', 's1f', 'w1']);
    assert.deepEqual(page, SMALL_LEDGER);
  });

  test("Bitso's defaults: newest first, 25 rows; limit above 100 reads as 100; marker in either order", async () => {
    let res = await signedGet(mock.port, ACCOUNTS.long, '/v3/ledger/');
    assert.equal(res.body.payload.length, 25);
    assert.equal(res.body.payload[0].eid, 'e229');
    res = await signedGet(mock.port, ACCOUNTS.long, '/api/v3/ledger/?limit=500&sort=asc');
    assert.equal(res.body.payload.length, 100);
    res = await signedGet(mock.port, ACCOUNTS.long, '/v3/ledger/?sort=desc&limit=3&marker=e100');
    assert.deepEqual(res.body.payload.map((r) => r.eid), ['e099', 'e098', 'e097']);
    res = await signedGet(mock.port, ACCOUNTS.long, '/v3/ledger/?marker=no-such-eid&sort=asc&limit=100');
    assert.deepEqual(res.body.payload, []);
  });

  test('an account without a ledger has an empty one', async () => {
    const res = await signedGet(mock.port, ACCOUNTS.none, ledgerPath());
    assert.deepEqual(res.body, { success: true, payload: [] });
  });

  test('a key without the history permission gets 0202 on the ledger, its balances still read', async () => {
    const res = await signedGet(mock.port, ACCOUNTS.blind, ledgerPath());
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, {
      success: false, error: { code: '0202', message: 'API key is not authorized to execute the requested method' },
    });
    assert.equal(mock.requests.at(-1).authorized, true);
    assert.equal(mock.requests.at(-1).error, '0202');
    const balances = await signedGet(mock.port, ACCOUNTS.blind, '/v3/balance/');
    assert.equal(balances.status, 200);
    assert.deepEqual(balances.body.payload.balances, ACCOUNT_B.balances);
  });

  test('bad signatures are refused before anything else', async () => {
    // Wrong secret.
    let res = await signedGet(mock.port, ACCOUNTS.small, ledgerPath(), { secret: 'not the secret' });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { success: false, error: { code: '0215', message: 'Incorrect request signature' } });
    assert.equal(mock.requests.at(-1).authorized, false);
    // The path signed without its query.
    res = await signedGet(mock.port, ACCOUNTS.small, ledgerPath('b1'), { signedPath: '/v3/ledger/' });
    assert.equal(res.body.error.code, '0215');
    // A key without the permission is still told about its signature first.
    res = await signedGet(mock.port, ACCOUNTS.blind, ledgerPath(), { secret: 'not the secret' });
    assert.equal(res.body.error.code, '0215');
    // No header, unknown key, reused nonce.
    assert.equal((await get(mock.port, ledgerPath())).body.error.code, '0208');
    res = await signedGet(mock.port, { ...ACCOUNTS.small, apiKey: 'NoSuchKey' }, ledgerPath());
    assert.equal(res.body.error.code, '0201');
    const n = nonce();
    assert.equal((await signedGet(mock.port, ACCOUNTS.small, ledgerPath(), { n })).status, 200);
    res = await signedGet(mock.port, ACCOUNTS.small, ledgerPath(), { n });
    assert.equal(res.body.error.code, '0207');
  });

  test('ledger faults and balance faults stay apart', async () => {
    mock.setFault('ledger', 'http:420:0801', { times: 1 });
    assert.equal((await signedGet(mock.port, ACCOUNTS.small, '/v3/balance/')).status, 200);
    let res = await signedGet(mock.port, ACCOUNTS.small, ledgerPath());
    assert.equal(res.status, 420);
    assert.equal(res.body.error.code, '0801');
    assert.equal((await signedGet(mock.port, ACCOUNTS.small, ledgerPath())).status, 200);

    mock.setFault(`ledger:${ACCOUNTS.small.apiKey}`, 'error:0201', { times: 1 });
    mock.setFault(ACCOUNTS.long.apiKey, 'http:500', { times: 1 });
    assert.equal((await signedGet(mock.port, ACCOUNTS.long, ledgerPath())).status, 200, 'a balance fault spares the ledger');
    assert.equal((await signedGet(mock.port, ACCOUNTS.long, '/v3/balance/')).status, 500);
    res = await signedGet(mock.port, ACCOUNTS.small, ledgerPath());
    assert.equal(res.body.error.code, '0201');
    mock.clearFaults();
  });
});

describe('mock Bitso: daily candles', () => {
  // 2025-01-01 is day 20089.
  const closes = { btc_mxn: { 20089: '1952500.50', '2025-01-02': '1960000', 20091: '1948000.25' } };
  let mock;
  before(async () => {
    mock = await startMockBitso({});
    mock.setCloses(closes);
  });
  after(() => mock.close());

  test("a closes table answers its days, in the shape the adapter's reader expects", async () => {
    const res = await get(mock.port, candlePath('btc_mxn', 20089, 20089 + 364));
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.deepEqual(res.body.payload.map((c) => [c.bucket_start_time, c.last_rate]), [
      [1735689600000, '1952500.50'],
      [1735776000000, '1960000'],
      [1735862400000, '1948000.25'],
    ]);
    for (const candle of res.body.payload) {
      assert.equal(typeof candle.bucket_start_time, 'number');
      for (const field of ['first_rate', 'last_rate', 'min_rate', 'max_rate', 'volume', 'vwap']) assert.equal(typeof candle[field], 'string');
    }
    const last = mock.requests.at(-1);
    assert.equal(last.authorized, null, 'public: no signature');
    assert.equal(last.path, '/v3/ohlc?book=btc_mxn&time_bucket=86400&start=1735689600000&end=1767225599999');
    // Only the days inside [start, end].
    const one = await get(mock.port, candlePath('btc_mxn', 20090, 20090));
    assert.deepEqual(one.body.payload.map((c) => c.last_rate), ['1960000']);
  });

  test('a book without a table gets candles derived from its ticker: today at last, none after', async () => {
    const today = Math.floor(Date.now() / DAY_MS);
    const eth = TICKERS.find((t) => t.book === 'eth_mxn');
    const res = await get(mock.port, candlePath('eth_mxn', today - 9, today + 30));
    assert.equal(res.status, 200);
    const rows = res.body.payload;
    assert.deepEqual(rows.map((c) => c.bucket_start_time / DAY_MS), Array.from({ length: 10 }, (_, i) => today - 9 + i));
    assert.equal(rows.at(-1).last_rate, eth.last);
    for (const candle of rows) {
      const close = Number(candle.last_rate);
      assert.ok(close >= Number(eth.last) * 0.9 && close <= Number(eth.last) * 1.1, candle.last_rate);
      assert.equal(candle.last_rate, derivedClose(eth.last, candle.bucket_start_time / DAY_MS, today));
    }
    // The same question, the same answer.
    assert.deepEqual((await get(mock.port, candlePath('eth_mxn', today - 9, today + 30))).body, res.body);
    // Exact decimals, also for a tiny price.
    assert.equal(derivedClose('0.00001234', 5, 6), '0.00001356166');
  });

  test('an unknown book, another bucket size and faults', async () => {
    let res = await get(mock.port, candlePath('nope_mxn', 20089, 20090));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, '0301');
    res = await get(mock.port, '/v3/ohlc?book=btc_mxn&time_bucket=3600&start=0&end=1');
    assert.equal(res.status, 400);
    mock.setFault('ohlc', 'http:503', { times: 1 });
    assert.equal((await get(mock.port, candlePath('btc_mxn', 20089, 20090))).status, 503);
    assert.equal((await get(mock.port, candlePath('btc_mxn', 20089, 20090))).status, 200);
    assert.equal((await get(mock.port, '/v3/ticker/?book=btc_mxn')).status, 200);
    assert.equal(mock.candleRequests().length, 8);
  });
});
