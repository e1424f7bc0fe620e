// The mock Kraken on its own (no browser): requests are signed here with node:crypto, written
// from Kraken's docs independently of the mock's own signer.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, STRAY_HOST, startMockServer } from '../mock-server.mjs';
import {
  createKraken, ERRORS, expectedHoldings, HOST, marketsFrom, SAMPLE_ACCOUNT, SAMPLE_HISTORY, SAMPLE_MARKETS, SECOND_ACCOUNT, sign,
} from './kraken.mjs';

/** Kraken's docs example (https://docs.kraken.com/api/docs/guides/spot-rest-auth). */
const DOCS_SECRET = 'kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==';

function apiSign(secret, path, nonce, body) {
  const inner = createHash('sha256').update(nonce + body, 'utf8').digest();
  return createHmac('sha512', Buffer.from(secret, 'base64')).update(Buffer.concat([Buffer.from(path), inner])).digest('base64');
}

let counter = 0n;
/** A 19-digit nonce like Cartera's: ms timestamp and a 6-digit salt, always growing here. */
function nonce() {
  counter += 1n;
  return (BigInt(Date.now()) * 1_000_000n + 100_000n + counter).toString();
}

/** A request through TLS with the mock's certificate as the only trusted root, as api.kraken.com. */
function send(port, { method = 'GET', path, headers = {}, body, timeout = 5000 }) {
  return requestMock({ port, host: HOST, ca: makeCertificate([HOST, STRAY_HOST]).cert, method, path, headers, body, timeout });
}

/** A signed POST to a private method with `params` after the nonce. */
function post(port, account, method, { params = '', n = nonce(), key = account.apiKey, secret = account.secret } = {}) {
  const path = `/0/private/${method}`;
  const body = params ? `nonce=${n}&${params}` : `nonce=${n}`;
  return send(port, {
    method: 'POST', path, body,
    headers: { 'api-key': key, 'api-sign': apiSign(secret, path, n, body), 'content-type': 'application/x-www-form-urlencoded' },
  });
}

describe('mock Kraken', () => {
  let kraken;
  let server;
  before(async () => {
    kraken = createKraken({
      accounts: {
        [SAMPLE_ACCOUNT.apiKey]: SAMPLE_ACCOUNT,
        [SECOND_ACCOUNT.apiKey]: SECOND_ACCOUNT,
      },
    });
    server = await startMockServer([kraken]);
  });
  after(() => server.close());

  test('its signer reproduces the docs example and the official SDK vector', () => {
    const body = 'nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25';
    const docs = '4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==';
    assert.equal(sign(DOCS_SECRET, '/0/private/AddOrder', '1616492376594', body), docs);
    assert.equal(apiSign(DOCS_SECRET, '/0/private/AddOrder', '1616492376594', body), docs);
    assert.equal(
      sign(Buffer.alloc(32, 1).toString('base64'), '/0/private/Balance', '1700000000000000000', 'nonce=1700000000000000000'),
      '6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q==',
    );
  });

  test('a signed BalanceEx gets the balances in Kraken\'s shapes, over TLS as api.kraken.com', async () => {
    const res = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { error: [], result: SAMPLE_ACCOUNT.balances });
    assert.equal(typeof res.body.result.ZUSD.balance, 'string');
    assert.equal(typeof res.body.result.ZEUR.balance, 'number', 'numbers as JSON numbers too');
    assert.ok(res.body.result['XBT.F'] && res.body.result['DOT.S'] && res.body.result.USDT);
    const last = kraken.requests.at(-1);
    assert.equal(last.host, HOST);
    assert.equal(last.authorized, true);
    assert.equal(last.apiKey, SAMPLE_ACCOUNT.apiKey);
    assert.equal(last.error, null);
  });

  test('Earn/Allocations hides zero allocations only when asked', async () => {
    const hidden = await post(server.port, SAMPLE_ACCOUNT, 'Earn/Allocations', { params: 'hide_zero_allocations=true' });
    assert.equal(hidden.status, 200);
    const assets = hidden.body.result.items.map((item) => item.native_asset);
    assert.deepEqual(assets, ['XBT', 'DOT', 'ETH', 'SOL', 'USDC']);
    assert.equal(hidden.body.result.converted_asset, 'USD');
    assert.equal(hidden.body.result.total_allocated, '13225');
    const all = await post(server.port, SAMPLE_ACCOUNT, 'Earn/Allocations');
    assert.ok(all.body.result.items.some((item) => item.native_asset === 'ATOM'));
    const empty = await post(server.port, SECOND_ACCOUNT, 'Earn/Allocations', { params: 'hide_zero_allocations=true' });
    assert.deepEqual(empty.body.result.items, []);
  });

  test('JSON bodies are signed and checked the same way', async () => {
    const n = nonce();
    const path = '/0/private/BalanceEx';
    const body = `{"nonce":${n}}`;
    const res = await send(server.port, {
      method: 'POST', path, body,
      headers: { 'api-key': SECOND_ACCOUNT.apiKey, 'api-sign': apiSign(SECOND_ACCOUNT.secret, path, n, body), 'content-type': 'application/json' },
    });
    assert.deepEqual(res.body, { error: [], result: SECOND_ACCOUNT.balances });
  });

  test('a wrong signature, an unknown key and missing headers are refused like Kraken does', async () => {
    const wrong = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx', { secret: DOCS_SECRET });
    assert.equal(wrong.status, 200, 'Kraken reports API errors with HTTP 200');
    assert.deepEqual(wrong.body, { error: ['EAPI:Invalid signature'], result: {} });
    assert.equal(kraken.requests.at(-1).authorized, false);
    // Signing the path with a query string, or another method's path, is wrong too.
    const n = nonce();
    const crossed = await send(server.port, {
      method: 'POST', path: '/0/private/BalanceEx', body: `nonce=${n}`,
      headers: { 'api-key': SAMPLE_ACCOUNT.apiKey, 'api-sign': apiSign(SAMPLE_ACCOUNT.secret, '/0/private/Balance', n, `nonce=${n}`) },
    });
    assert.deepEqual(crossed.body.error, ['EAPI:Invalid signature']);
    const unknown = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx', { key: 'NoSuchKey' });
    assert.deepEqual(unknown.body.error, ['EAPI:Invalid key']);
    const bare = await send(server.port, { method: 'POST', path: '/0/private/BalanceEx', body: `nonce=${nonce()}` });
    assert.deepEqual(bare.body.error, ['EAPI:Invalid key']);
    const noNonce = await send(server.port, {
      method: 'POST', path: '/0/private/BalanceEx', body: 'foo=bar',
      headers: { 'api-key': SAMPLE_ACCOUNT.apiKey, 'api-sign': apiSign(SAMPLE_ACCOUNT.secret, '/0/private/BalanceEx', '', 'foo=bar') },
    });
    assert.deepEqual(noNonce.body.error, ['EAPI:Invalid nonce']);
  });

  test('nonces must grow per key, compared exactly beyond 2^53', async () => {
    const key = createKraken({ accounts: { [SAMPLE_ACCOUNT.apiKey]: SAMPLE_ACCOUNT, [SECOND_ACCOUNT.apiKey]: SECOND_ACCOUNT } });
    const own = await startMockServer([key]);
    try {
      const ok = (res) => assert.deepEqual(res.body.error, [], JSON.stringify(res.body));
      const refused = (res) => assert.deepEqual(res.body.error, ['EAPI:Invalid nonce']);
      ok(await post(own.port, SAMPLE_ACCOUNT, 'BalanceEx', { n: '1731349200123123456' }));
      refused(await post(own.port, SAMPLE_ACCOUNT, 'BalanceEx', { n: '1731349200123123456' }));
      refused(await post(own.port, SAMPLE_ACCOUNT, 'Earn/Allocations', { n: '1731349200123123455' }));
      // 1731349200123123457 and …456 are the same double; the mock tells them apart.
      ok(await post(own.port, SAMPLE_ACCOUNT, 'Earn/Allocations', { n: '1731349200123123457' }));
      // A refused signature does not use the nonce up.
      const bad = await post(own.port, SAMPLE_ACCOUNT, 'BalanceEx', { n: '1731349200123123500', secret: DOCS_SECRET });
      assert.deepEqual(bad.body.error, ['EAPI:Invalid signature']);
      ok(await post(own.port, SAMPLE_ACCOUNT, 'BalanceEx', { n: '1731349200123123500' }));
      // Another key keeps its own count; a millisecond nonce is fine for a fresh key.
      ok(await post(own.port, SECOND_ACCOUNT, 'BalanceEx', { n: '1700000000000' }));
      refused(await post(own.port, SECOND_ACCOUNT, 'BalanceEx', { n: '1699999999999' }));
      refused(await post(own.port, SAMPLE_ACCOUNT, 'BalanceEx', { n: '18446744073709551616' }));
      refused(await post(own.port, SAMPLE_ACCOUNT, 'BalanceEx', { n: '-5' }));
      assert.deepEqual(key.requests.map((r) => r.nonce).slice(0, 2), ['1731349200123123456', '1731349200123123456']);
    } finally {
      await own.close();
    }
  });

  test('AssetPairs and Ticker: every pair, or the ones asked for', async () => {
    const pairs = await send(server.port, { path: '/0/public/AssetPairs' });
    assert.equal(pairs.status, 200);
    assert.deepEqual(pairs.body.result, SAMPLE_MARKETS.pairs);
    assert.equal(pairs.body.result.XXBTZUSD.base, 'XXBT');
    assert.equal(pairs.body.result.XXBTZUSD.quote, 'ZUSD');
    const tickers = await send(server.port, { path: '/0/public/Ticker' });
    assert.deepEqual(Object.keys(tickers.body.result), Object.keys(SAMPLE_MARKETS.pairs));
    const btc = tickers.body.result.XXBTZUSD;
    assert.equal(btc.c[0], '95000.10000');
    assert.equal(btc.v[1], '2345.67890123');
    assert.equal(typeof btc.o, 'string');
    assert.equal(kraken.requests.at(-1).authorized, null);
    const one = await send(server.port, { path: '/0/public/Ticker?pair=XBTUSD,ZEURZUSD' });
    assert.deepEqual(Object.keys(one.body.result), ['XXBTZUSD', 'ZEURZUSD']);
    const unknown = await send(server.port, { path: '/0/public/Ticker?pair=NOPE' });
    assert.deepEqual(unknown.body.error, ['EQuery:Unknown asset pair']);
    const stray = await send(server.port, { path: '/0/public/Nope' });
    assert.deepEqual(stray.body.error, ['EGeneral:Unknown method']);
  });

  test('every error kind arrives as Kraken sends it, once, then normal again', async () => {
    for (const [kind, message] of Object.entries(ERRORS)) {
      kraken.setFault(SAMPLE_ACCOUNT.apiKey, `error:${kind}`, { times: 1 });
      const res = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx');
      assert.equal(res.status, 200, kind);
      assert.deepEqual(res.body, { error: [message], result: {} }, kind);
      assert.equal(kraken.requests.at(-1).fault, `error:${kind}`);
      assert.equal(kraken.requests.at(-1).error, message);
    }
    assert.deepEqual((await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx')).body.error, []);
  });

  test('throttling names an instant in unix seconds', async () => {
    kraken.setFault('Earn/Allocations', 'error:throttled:90', { times: 1 });
    assert.deepEqual((await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx')).body.error, [], 'only the faulted method');
    const res = await post(server.port, SAMPLE_ACCOUNT, 'Earn/Allocations', { params: 'hide_zero_allocations=true' });
    const [message] = res.body.error;
    const at = Number(/^EService:Throttled: (\d+)$/.exec(message)?.[1]);
    const ahead = at - Date.now() / 1000;
    assert.ok(ahead > 85 && ahead <= 91, message);
  });

  test('faults: HTTP statuses, Cloudflare pages, malformed JSON, Retry-After, redirects, public only', async () => {
    kraken.setFault('private', 'http:503', { times: 1 });
    let res = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx');
    assert.equal(res.status, 503);
    assert.equal(res.body, null);

    kraken.setFault(SAMPLE_ACCOUNT.apiKey, 'html520', { times: 1 });
    res = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx');
    assert.equal(res.status, 520);
    assert.match(res.headers['content-type'], /text\/html/);
    assert.match(res.text, /Cloudflare/);

    kraken.setFault('*', 'malformed', { times: 1 });
    res = await post(server.port, SAMPLE_ACCOUNT, 'BalanceEx');
    assert.equal(res.status, 200);
    assert.equal(res.body, null);

    kraken.setFault('public', 'retry-after:7', { times: 1 });
    res = await send(server.port, { path: '/0/public/Ticker' });
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal((await send(server.port, { path: '/0/public/Ticker' })).status, 200);

    kraken.setFault('AssetPairs', 'redirect', { times: 1 });
    res = await send(server.port, { path: '/0/public/AssetPairs' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `https://${STRAY_HOST}/collect`);

    kraken.setFault('Ticker', 'error:unavailable');
    assert.deepEqual((await send(server.port, { path: '/0/public/Ticker' })).body.error, ['EService:Unavailable']);
    assert.equal((await send(server.port, { path: '/0/public/AssetPairs' })).status, 200, 'the other method is unaffected');
    kraken.clearFaults();
    assert.deepEqual((await send(server.port, { path: '/0/public/Ticker' })).body.error, []);

    assert.throws(() => kraken.setFault('*', 'error:nonsense'));
    assert.throws(() => kraken.setFault('*', 'nonsense'));
  });

  test('faults: timeout never answers', async () => {
    kraken.setFault(SECOND_ACCOUNT.apiKey, 'timeout', { times: 1 });
    await assert.rejects(
      (async () => {
        const n = nonce();
        const path = '/0/private/BalanceEx';
        return send(server.port, {
          method: 'POST', path, body: `nonce=${n}`, timeout: 300,
          headers: { 'api-key': SECOND_ACCOUNT.apiKey, 'api-sign': apiSign(SECOND_ACCOUNT.secret, path, n, `nonce=${n}`) },
        });
      })(),
      /timeout/,
    );
  });

  test('books are the tickers in Cartera\'s codes, with no 24-hour change', () => {
    const books = kraken.books();
    assert.equal(books.length, Object.keys(SAMPLE_MARKETS.tickers).length);
    const byBook = Object.fromEntries(books.map((b) => [b.book, b]));
    assert.deepEqual(byBook['kraken:XXBTZUSD'], {
      book: 'kraken:XXBTZUSD', base: 'btc', quote: 'usd', last: '95000.10000', volume: '2345.67890123', change: null,
    });
    assert.equal(byBook['kraken:XDGUSD'].base, 'doge');
    assert.equal(byBook['kraken:USTUSD'].base, 'ustc', 'Kraken\'s UST is TerraUSD Classic');
    assert.equal(byBook['kraken:USDTZUSD'].base, 'usdt');
    assert.deepEqual([byBook['kraken:ZUSDZCAD'].base, byBook['kraken:ZUSDZCAD'].quote], ['usd', 'cad']);
    assert.equal(byBook['kraken:XTZUSD'].base, 'xtz', 'no X stripped by rule');
    // Pairs Cartera cannot name, and dead tickers, are no books.
    const odd = createKraken({
      markets: marketsFrom([
        ['FEEUSD', 'FEEUSD', 'FEE/USD', 'KFEE', 'ZUSD', '1.0', '1', '1.0'],
        ['DEADUSD', 'DEADUSD', 'DEAD/USD', 'DEAD', 'ZUSD', '0.00000', '0', '0.00000'],
        ['LUNA2USD', 'LUNA2USD', 'LUNA2/USD', 'LUNA2', 'ZUSD', '0.1500', '10', '0.1400'],
      ]),
    });
    assert.deepEqual(odd.books().map((b) => [b.book, b.base]), [['kraken:LUNA2USD', 'luna']]);
  });

  test('expected holdings follow the rules, by hand', () => {
    assert.deepEqual(expectedHoldings(SAMPLE_ACCOUNT), {
      btc: '0.17435', // 0.12435 spot + XBT.F 0.05, which Earn repeats: counted once
      doge: '1000',
      dot: '140', // Earn 140 > DOT.S 120
      eth: '2.1', // 0.1 spot + ETH2.S 2.0 > Earn 1.5
      eur: '1500.5',
      sol: '12.5', // only in Earn
      usd: '2593.21', // spot + USD.HOLD
      usdc: '25',
      usdt: '410.55', // spot + USDT.F; the credit line is not counted
      ustc: '42',
      xrp: '25.5',
    });
    assert.deepEqual(expectedHoldings(SECOND_ACCOUNT), { btc: '0.03', eur: '200' });
    assert.deepEqual(
      expectedHoldings({
        balances: { 'DOT28.S': { balance: '3' }, 'USDT0.TEMPO': { balance: 8 }, KFEE: { balance: '9' }, XXBT: { balance: 3.8e-7 } },
        allocations: [{ native_asset: 'DOT', amount_allocated: { total: { native: '2' } } }],
      }),
      { btc: '0.00000038', dot: '3', usdt0: '8' },
    );
  });

  test('the log records every request with its host, path and verdict', () => {
    assert.ok(kraken.requests.length > 20);
    for (const r of kraken.requests) {
      assert.equal(r.host, HOST);
      assert.ok(['GET', 'POST'].includes(r.method));
    }
    assert.ok(kraken.balanceRequests().length > 5);
    assert.ok(kraken.balanceRequests().every((r) => r.path === '/0/private/BalanceEx'));
    assert.ok(kraken.privateRequests().every((r) => r.method === 'POST'));
    assert.ok(kraken.privateRequests().filter((r) => r.authorized === true).every((r) => /^\d{19}$/.test(r.nonce)));
  });
});

describe('mock Kraken history', () => {
  // 2025-03-16T12:00:00Z (`date -u -d 2025-03-16T12:00:00Z +%s`).
  const T0 = 1742126400;
  /** Sixty deposits an hour apart, newest first, ids by age. */
  const rows = Array.from({ length: 60 }, (_, i) => ({
    id: `LDEP${String(i).padStart(2, '0')}-AAAAA-BBBBBB`, refid: `QDEP${String(i).padStart(2, '0')}-AAAAA-BBBBBB`,
    time: T0 - i * 3600 + 0.1234, type: 'deposit', subtype: '', aclass: 'currency', asset: 'ZUSD',
    amount: '10.0000', fee: '0.0000', balance: '0.0000',
  }));
  const reader = { ...SECOND_ACCOUNT, history: [...rows].reverse() };
  const balancesOnly = { ...SAMPLE_ACCOUNT, history: rows, historyPermission: false };
  // 2024-11-11T18:20:00Z: day 20038.
  let clock = 1_731_349_200_000;
  let kraken;
  let server;
  before(async () => {
    kraken = createKraken({
      accounts: { [reader.apiKey]: reader, [balancesOnly.apiKey]: balancesOnly },
      closes: { XXBTZUSD: { '2024-11-09': '76550.1' } },
      callCounter: { max: 15, decayPerSecond: 0.33 },
      now: () => clock,
    });
    server = await startMockServer([kraken]);
  });
  after(() => server.close());

  const ledgers = async (account, params = '') => (await post(server.port, account, 'Ledgers', { params })).body;

  test('Ledgers pages newest first, 50 a call, by offset within start and end', async () => {
    clock += 60_000;
    const first = await ledgers(reader);
    assert.deepEqual(first.error, []);
    assert.equal(first.result.count, 60);
    const ids = Object.keys(first.result.ledger);
    assert.equal(ids.length, 50);
    assert.equal(ids[0], 'LDEP00-AAAAA-BBBBBB');
    assert.deepEqual(Object.keys(first.result.ledger[ids[0]]).sort(), ['aclass', 'amount', 'asset', 'balance', 'fee', 'refid', 'subtype', 'time', 'type']);
    clock += 8_000;
    const second = await ledgers(reader, `end=${T0 + 1}&ofs=50`);
    assert.deepEqual(Object.keys(second.result.ledger), rows.slice(50).map((r) => r.id));
    assert.equal(second.result.count, 60);
    // `start` is exclusive, `end` inclusive; either may be a ledger id.
    clock += 8_000;
    const window = await ledgers(reader, `start=${T0 - 3 * 3600 + 0.1234}&end=LDEP01-AAAAA-BBBBBB`);
    assert.deepEqual(Object.keys(window.result.ledger), ['LDEP01-AAAAA-BBBBBB', 'LDEP02-AAAAA-BBBBBB']);
    assert.equal(window.result.count, 2);
    clock += 8_000;
    const newer = await ledgers(reader, `start=${T0}`);
    assert.deepEqual(Object.keys(newer.result.ledger), ['LDEP00-AAAAA-BBBBBB'], 'the fraction of the second is after it');
    clock += 8_000;
    const uncounted = await ledgers(reader, 'without_count=true&asset=XXBT');
    assert.deepEqual(uncounted.result, { ledger: {} });
  });

  test('the sample history is the adapter\'s fixture, every kind, newest first', async () => {
    const own = createKraken({ accounts: { [SECOND_ACCOUNT.apiKey]: { ...SECOND_ACCOUNT, history: SAMPLE_HISTORY } } });
    const ownServer = await startMockServer([own]);
    try {
      const res = await post(ownServer.port, SECOND_ACCOUNT, 'Ledgers');
      assert.equal(res.body.result.count, 13);
      const listed = Object.values(res.body.result.ledger);
      assert.deepEqual(new Set(listed.map((row) => row.type)), new Set(['earn', 'transfer', 'staking', 'withdrawal', 'trade', 'deposit']));
      assert.ok(listed.every((row, i) => i === 0 || row.time <= listed[i - 1].time));
    } finally {
      await ownServer.close();
    }
  });

  test('a key without "Query Ledger Entries" is refused on Ledgers only', async () => {
    clock += 60_000;
    assert.deepEqual((await ledgers(balancesOnly)).error, ['EGeneral:Permission denied']);
    assert.deepEqual((await post(server.port, balancesOnly, 'BalanceEx')).body.error, []);
    // The signature is still checked first.
    const forged = await post(server.port, reader, 'Ledgers', { secret: DOCS_SECRET });
    assert.deepEqual(forged.body.error, ['EAPI:Invalid signature']);
  });

  test('the call counter: Ledgers costs 2 and drains at the tier\'s rate', async () => {
    clock += 120_000;
    // Seven calls at once fill Starter's 15 to 14; the eighth would pass it.
    for (let i = 0; i < 7; i += 1) assert.deepEqual((await ledgers(reader)).error, [], `call ${i}`);
    assert.deepEqual((await ledgers(reader)).error, ['EAPI:Rate limit exceeded']);
    // Paced at Cartera's 8 s, a long import never meets the limit.
    clock += 60_000;
    for (let i = 0; i < 30; i += 1) {
      clock += 8_000;
      assert.deepEqual((await ledgers(reader, `ofs=${(i % 2) * 50}`)).error, [], `paced call ${i}`);
    }
    assert.ok(kraken.ledgerRequests().length >= 38);
  });

  test('OHLC: the latest 720 daily candles after since, closes from the table or the ticker', async () => {
    const all = await send(server.port, { path: '/0/public/OHLC?pair=XXBTZUSD&interval=1440' });
    assert.deepEqual(all.body.error, []);
    const candles = all.body.result.XXBTZUSD;
    assert.equal(candles.length, 720);
    const today = Math.floor(clock / 86_400_000) * 86_400;
    assert.equal(candles.at(-1)[0], today, 'today\'s candle, still moving, comes last');
    assert.equal(all.body.result.last, today - 86_400);
    // 1731110400 is 2024-11-09 (`date -u -d @1731110400`).
    assert.equal(candles.find((c) => c[0] === 1731110400)[4], '76550.1');
    assert.equal(candles[0][4], '95000.10000', 'other days close at the ticker\'s last');
    const since = await send(server.port, { path: '/0/public/OHLC?pair=XBTUSD&interval=1440&since=1731110399' });
    assert.deepEqual(since.body.result.XXBTZUSD.map((c) => c[0]).slice(0, 2), [1731110400, 1731196800], 'keyed by the pair id');
    const old = await send(server.port, { path: '/0/public/OHLC?pair=XXBTZUSD&interval=1440&since=0' });
    assert.equal(old.body.result.XXBTZUSD.length, 720, 'nothing older than 720 candles, whatever since says');
    assert.deepEqual((await send(server.port, { path: '/0/public/OHLC?pair=NOPE&interval=1440' })).body.error, ['EQuery:Unknown asset pair']);
    assert.equal(kraken.requests.at(-1).authorized, null);
  });
});
