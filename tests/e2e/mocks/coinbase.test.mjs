// The mock Coinbase on its own (no browser): tokens are built and signed here with node:crypto,
// written from Coinbase's docs and the official SDK independently of the mock's own verifier.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, STRAY_HOST, startMockServer } from '../mock-server.mjs';
import {
  ACCOUNTS_PATH, coinbaseAccount, createCoinbase, expectedHoldings, FILLS_PATH, HOST, KEY_PERMISSIONS_PATH, PRODUCTS_PATH,
  SAMPLE_ACCOUNT, SAMPLE_MARKETS, SECOND_ACCOUNT, walletId, WALLETS_PATH,
} from './coinbase.mjs';

/** The official Advanced Trade SDK's test keys (coinbase-advanced-py tests/constants.py). */
const SDK_KEY_NAME = 'organizations/test-organization/apiKeys/test-api-key';
const SDK_EC_PEM = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49\nAwEHoUQDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4JuYE9v\nqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==\n-----END EC PRIVATE KEY-----\n';
const SDK_ED25519 = 'k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputDOKsRAwgyrpEQLeBtS1znTmzPX6Xr2eOWpzx6nW8knkA==';
/** C1 and C2 of shared/reference/exchanges-2.md §5 (nbf 1700000000, GET /api/v3/brokerage/accounts). */
const C1 = 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvdGVzdC1vcmdhbml6YXRpb24vYXBpS2V5cy90ZXN0LWFwaS1rZXkiLCJub25jZSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIn0.eyJzdWIiOiJvcmdhbml6YXRpb25zL3Rlc3Qtb3JnYW5pemF0aW9uL2FwaUtleXMvdGVzdC1hcGkta2V5IiwiaXNzIjoiY2RwIiwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2UvYWNjb3VudHMifQ.bb5fKS-IuuWYqZ2hGgcz9c7lQeWGMYaQYOswehlNj9I7AZQQGJGJDhdyUsHEMpD_xXFyWo8dPhJDkOfZuW2uzQ';
const C2 = 'eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvdGVzdC1vcmdhbml6YXRpb24vYXBpS2V5cy90ZXN0LWFwaS1rZXkiLCJub25jZSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIn0.eyJzdWIiOiJvcmdhbml6YXRpb25zL3Rlc3Qtb3JnYW5pemF0aW9uL2FwaUtleXMvdGVzdC1hcGkta2V5IiwiaXNzIjoiY2RwIiwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2UvYWNjb3VudHMifQ.QQBdMBG6eM67RzlcmhP7PUTAARblY92tIUURjYEwoZwr7ASDhC5VAODre-l_F26wI04eU2lscoUi39_9B4SgDA';

/** A P-256 key no account has. */
const STRANGER_EC_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' });

/** The node:crypto private key of a pasted secret: a PEM, or base64 of an Ed25519 seed (‖ public key). */
function privateKeyOf(secret) {
  if (secret.includes('-----BEGIN')) return createPrivateKey(secret);
  const seed = Buffer.from(secret, 'base64').subarray(0, 32);
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * A token as the SDK builds it, every part overridable to forge a wrong one. `signWith` signs with
 * another key than the account's.
 */
function token(account, { method = 'GET', path = ACCOUNTS_PATH, now = Date.now(), signWith, header = {}, claims = {} } = {}) {
  const key = privateKeyOf(signWith ?? account.secret);
  const alg = key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256';
  const nbf = Math.floor(now / 1000);
  const head = { alg, typ: 'JWT', kid: account.apiKey, nonce: randomBytes(32).toString('hex'), ...header };
  const body = { sub: account.apiKey, iss: 'cdp', nbf, exp: nbf + 120, uri: `${method} ${HOST}${path.split('?')[0]}`, ...claims };
  const input = `${b64url(head)}.${b64url(body)}`;
  const signature = alg === 'ES256'
    ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : sign(null, Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

/** A request through TLS with the mock's certificate as the only trusted root, as api.coinbase.com. */
function send(port, { method = 'GET', path, headers = {}, timeout = 5000 }) {
  return requestMock({ port, host: HOST, ca: makeCertificate([HOST, STRAY_HOST]).cert, method, path, headers, timeout });
}

/** A signed GET of `path` for `account`. */
function get(port, account, path, options = {}) {
  return send(port, { path, headers: { authorization: `Bearer ${token(account, { path, ...options })}` } });
}

/** Every page of an account's /accounts, following the cursor. */
async function allPages(port, account, limit = 250) {
  const pages = [];
  let cursor = null;
  do {
    const path = `${ACCOUNTS_PATH}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await get(port, account, path);
    assert.equal(res.status, 200, res.text);
    pages.push(res.body);
    cursor = res.body.has_next ? res.body.cursor : null;
  } while (cursor && pages.length < 50);
  return pages;
}

describe('mock Coinbase', () => {
  let coinbase;
  let server;
  before(async () => {
    coinbase = createCoinbase({ accounts: { [SAMPLE_ACCOUNT.apiKey]: SAMPLE_ACCOUNT, [SECOND_ACCOUNT.apiKey]: SECOND_ACCOUNT } });
    server = await startMockServer([coinbase]);
  });
  after(() => server.close());

  test('the SDK vectors C1 and C2 verify with node:crypto and pass the mock at their time, once', async () => {
    const check = (jwt, publicKey, options) => {
      const [h, c, s] = jwt.split('.');
      return verify(options, Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url'));
    };
    const ecPublic = createPublicKey(createPrivateKey(SDK_EC_PEM));
    assert.ok(check(C1, { key: ecPublic, dsaEncoding: 'ieee-p1363' }, 'sha256'));
    const edPublic = createPublicKey(privateKeyOf(SDK_ED25519));
    assert.ok(verify(null, Buffer.from(C2.split('.').slice(0, 2).join('.')), edPublic, Buffer.from(C2.split('.')[2], 'base64url')));
    // The SDK's EdDSA token is deterministic: node:crypto builds the very same one.
    const rebuilt = token({ apiKey: SDK_KEY_NAME, secret: SDK_ED25519 }, {
      now: 1_700_000_000_000, header: { nonce: '0123456789abcdef0123456789abcdef' },
    });
    assert.equal(rebuilt, C2);

    for (const [secret, jwt] of [[SDK_EC_PEM, C1], [SDK_ED25519, C2]]) {
      const mock = createCoinbase({
        accounts: { [SDK_KEY_NAME]: { apiKey: SDK_KEY_NAME, secret, balances: [coinbaseAccount('BTC', '1', '0')] } },
        now: () => 1_700_000_030_000,
      });
      const own = await startMockServer([mock]);
      try {
        const first = await send(own.port, { path: `${ACCOUNTS_PATH}?limit=250`, headers: { authorization: `Bearer ${jwt}` } });
        assert.equal(first.status, 200, first.text);
        assert.equal(first.body.accounts[0].currency, 'BTC');
        assert.equal(mock.requests.at(-1).authorized, true);
        assert.equal(mock.requests.at(-1).uri, 'GET api.coinbase.com/api/v3/brokerage/accounts');
        const replay = await send(own.port, { path: ACCOUNTS_PATH, headers: { authorization: `Bearer ${jwt}` } });
        assert.equal(replay.status, 401);
        assert.equal(mock.requests.at(-1).error, 'nonce-reused');
      } finally {
        await own.close();
      }
    }
  });

  test('sample keys are made fresh and come as users get them', () => {
    assert.match(SAMPLE_ACCOUNT.secret, /^-----BEGIN EC PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END EC PRIVATE KEY-----\n$/);
    assert.equal(Buffer.from(SECOND_ACCOUNT.secret, 'base64').length, 64);
    const seedThenPublic = Buffer.from(SECOND_ACCOUNT.secret, 'base64');
    const derived = createPublicKey(privateKeyOf(SECOND_ACCOUNT.secret)).export({ format: 'jwk' }).x;
    assert.equal(Buffer.from(derived, 'base64url').toString('hex'), seedThenPublic.subarray(32).toString('hex'));
    assert.deepEqual(JSON.parse(SAMPLE_ACCOUNT.keyFile), { name: SAMPLE_ACCOUNT.apiKey, privateKey: SAMPLE_ACCOUNT.secret });
    assert.deepEqual(JSON.parse(SECOND_ACCOUNT.keyFile), { id: SECOND_ACCOUNT.apiKey, privateKey: SECOND_ACCOUNT.secret });
    assert.match(SAMPLE_ACCOUNT.apiKey, /^organizations\/[0-9a-f-]+\/apiKeys\/[0-9a-f-]+$/);
  });

  test('accounts come in pages of two, followed by cursor, for ES256 and EdDSA keys', async () => {
    for (const account of [SAMPLE_ACCOUNT, SECOND_ACCOUNT]) {
      const pages = await allPages(server.port, account);
      assert.equal(pages.length, Math.ceil(account.balances.length / 2));
      assert.ok(pages.slice(0, -1).every((page) => page.has_next && page.cursor && page.accounts.length === 2));
      assert.equal(pages.at(-1).has_next, false);
      assert.equal(pages.at(-1).cursor, '');
      const listed = pages.flatMap((page) => page.accounts);
      assert.deepEqual(listed, account.balances);
      assert.equal(typeof listed[0].available_balance.value, 'string');
      // The holding, summed here on its own: available plus hold of crypto, fiat and vault accounts.
      const sums = {};
      for (const entry of listed.filter((e) => e.type !== 'ACCOUNT_TYPE_PERP_FUTURES')) {
        const code = { CGLD: 'celo' }[entry.currency] ?? entry.currency.toLowerCase();
        const total = Number(entry.available_balance.value) + Number(entry.hold.value);
        if (total) sums[code] = (sums[code] ?? 0) + total;
      }
      const expected = expectedHoldings(account);
      assert.deepEqual(Object.keys(expected).sort(), Object.keys(sums).sort());
      for (const [code, amount] of Object.entries(expected)) assert.ok(Math.abs(Number(amount) - sums[code]) < 1e-9, code);
    }
    assert.deepEqual(expectedHoldings(SAMPLE_ACCOUNT), {
      btc: '0.26334567', celo: '12.75', eth: '1.5', eur: '80.1', usd: '1620.33', usdc: '250.500001',
    });
    const logged = coinbase.accountRequests().filter((r) => r.apiKey === SAMPLE_ACCOUNT.apiKey);
    assert.ok(logged.every((r) => r.authorized === true && r.uri === `GET ${HOST}${ACCOUNTS_PATH}` && /^[0-9a-f]{64}$/.test(r.nonce)));
  });

  test('limit is honoured below the page size, and a wrong cursor or limit is refused', async () => {
    const pages = await allPages(server.port, SAMPLE_ACCOUNT, 1);
    assert.equal(pages.length, SAMPLE_ACCOUNT.balances.length);
    const badCursor = await get(server.port, SAMPLE_ACCOUNT, `${ACCOUNTS_PATH}?limit=250&cursor=bm9wZQ%3D%3D`);
    assert.equal(badCursor.status, 400);
    assert.equal(badCursor.body.error, 'INVALID_ARGUMENT');
    const badLimit = await get(server.port, SAMPLE_ACCOUNT, `${ACCOUNTS_PATH}?limit=0`);
    assert.equal(badLimit.status, 400);
    const big = createCoinbase({ accounts: { [SAMPLE_ACCOUNT.apiKey]: SAMPLE_ACCOUNT }, pageSize: 1000 });
    const own = await startMockServer([big]);
    try {
      const [one] = await allPages(own.port, SAMPLE_ACCOUNT);
      assert.equal(one.accounts.length, SAMPLE_ACCOUNT.balances.length);
      const defaulted = await get(own.port, SAMPLE_ACCOUNT, ACCOUNTS_PATH);
      assert.equal(defaulted.body.size, SAMPLE_ACCOUNT.balances.length, 'default limit 49');
    } finally {
      await own.close();
    }
  });

  test('key permissions follow the account flags', async () => {
    const res = await get(server.port, SAMPLE_ACCOUNT, KEY_PERMISSIONS_PATH);
    assert.equal(res.status, 200);
    assert.equal(res.body.can_view, true);
    assert.equal(res.body.can_trade, false);
    assert.equal(res.body.can_transfer, false);
    assert.equal(res.body.portfolio_type, 'DEFAULT');
    const second = await get(server.port, SECOND_ACCOUNT, KEY_PERMISSIONS_PATH);
    assert.equal(second.body.can_trade, true);
    const blind = { ...SAMPLE_ACCOUNT, apiKey: 'organizations/x/apiKeys/blind', canView: false, canTransfer: true };
    coinbase.setAccount(blind.apiKey, blind);
    const scope = await get(server.port, blind, KEY_PERMISSIONS_PATH);
    assert.deepEqual([scope.body.can_view, scope.body.can_transfer], [false, true]);
    const refused = await get(server.port, blind, ACCOUNTS_PATH);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error_details, 'Missing required scopes');
  });

  test('every wrong token gets 401 Unauthorized, with the reason in the log', async () => {
    const now = Date.now();
    const cases = [
      ['an Ed25519 signature under ES256', { signWith: SECOND_ACCOUNT.secret, header: { alg: 'ES256' } }, 'bad-signature'],
      ['a P-256 key that is not the account\'s', { signWith: STRANGER_EC_PEM }, 'bad-signature'],
      ['alg does not match the key', { header: { alg: 'EdDSA' } }, 'wrong-algorithm'],
      ['unknown key name', { header: { kid: 'organizations/x/apiKeys/nobody' } }, 'unknown-key'],
      ['sub is another key', { claims: { sub: SECOND_ACCOUNT.apiKey } }, 'wrong-claims'],
      ['iss is not cdp', { claims: { iss: 'coinbase-cloud' } }, 'wrong-claims'],
      ['expired', { now: now - 300_000 }, 'expired'],
      ['not yet valid', { now: now + 300_000 }, 'not-yet-valid'],
      ['valid for too long', { claims: { exp: Math.floor(now / 1000) + 600 } }, 'bad-validity'],
      ['uri with the query string', { claims: { uri: `GET ${HOST}${ACCOUNTS_PATH}?limit=250` } }, 'wrong-uri'],
      ['uri of another path', { claims: { uri: `GET ${HOST}${KEY_PERMISSIONS_PATH}` } }, 'wrong-uri'],
      ['uri with the scheme', { claims: { uri: `GET https://${HOST}${ACCOUNTS_PATH}` } }, 'wrong-uri'],
      ['no nonce', { header: { nonce: undefined } }, 'bad-nonce'],
    ];
    for (const [name, options, reason] of cases) {
      const res = await get(server.port, SAMPLE_ACCOUNT, ACCOUNTS_PATH, options);
      assert.equal(res.status, 401, name);
      assert.equal(res.text, 'Unauthorized', name);
      const logged = coinbase.requests.at(-1);
      assert.equal(logged.authorized, false, name);
      assert.equal(logged.error, reason, name);
    }
    const bare = await send(server.port, { path: ACCOUNTS_PATH });
    assert.equal(bare.status, 401);
    assert.equal(coinbase.requests.at(-1).error, 'no-token');
  });

  test('a token is good for one request only', async () => {
    const jwt = token(SAMPLE_ACCOUNT, { path: KEY_PERMISSIONS_PATH });
    const first = await send(server.port, { path: KEY_PERMISSIONS_PATH, headers: { authorization: `Bearer ${jwt}` } });
    assert.equal(first.status, 200);
    const again = await send(server.port, { path: KEY_PERMISSIONS_PATH, headers: { authorization: `Bearer ${jwt}` } });
    assert.equal(again.status, 401);
    assert.equal(coinbase.requests.at(-1).error, 'nonce-reused');
    // A few seconds of clock difference are tolerated.
    const skewed = await get(server.port, SAMPLE_ACCOUNT, KEY_PERMISSIONS_PATH, { now: Date.now() + 3000 });
    assert.equal(skewed.status, 200);
  });

  test('products are public, spot only when asked, and books() normalises them', async () => {
    const spot = await send(server.port, { path: `${PRODUCTS_PATH}?product_type=SPOT` });
    assert.equal(spot.status, 200);
    assert.equal(coinbase.requests.at(-1).authorized, null);
    assert.ok(spot.body.products.every((p) => p.product_type === 'SPOT'));
    assert.equal(spot.body.num_products, SAMPLE_MARKETS.length - 1);
    const all = await send(server.port, { path: PRODUCTS_PATH });
    assert.equal(all.body.products.length, SAMPLE_MARKETS.length);
    const btc = spot.body.products.find((p) => p.product_id === 'BTC-USD');
    assert.deepEqual(btc.alias_to, ['BTC-USDC']);
    assert.equal(typeof btc.price, 'string');

    const books = coinbase.books();
    const ids = books.map((b) => b.book);
    assert.ok(ids.includes('coinbase:BTC-USD') && !ids.includes('coinbase:BTC-USDC'), 'the alias is one book');
    for (const skipped of ['MKR-USD', 'VIEW-USD', 'GONE-USD', 'BIT-26DEC26-CDE']) assert.ok(!ids.includes(`coinbase:${skipped}`), skipped);
    const byId = Object.fromEntries(books.map((b) => [b.book, b]));
    assert.deepEqual(byId['coinbase:CGLD-USD'], {
      book: 'coinbase:CGLD-USD', base: 'celo', quote: 'usd', last: '0.75', volume: '100000', change: '0.011083743842',
    });
    assert.equal(byId['coinbase:ETH-USD'].change, '-145.8375', '3500.10 − 3500.10 / 0.96');
    assert.equal(byId['coinbase:DOGE-USD'].change, null, 'no percentage, no change');
    coinbase.setMarkets([...SAMPLE_MARKETS, { ...SAMPLE_MARKETS[3], product_id: 'ETH-USD2', price: '0' }]);
    assert.equal(coinbase.books().length, books.length, 'a zero price is no book');
    coinbase.setMarkets(SAMPLE_MARKETS);
    const stray = await send(server.port, { path: '/api/v3/brokerage/nope' });
    assert.equal(stray.status, 404);
    assert.equal(stray.body.error, 'NOT_FOUND');
  });

  test('faults answer as Coinbase does, after the token was accepted', async () => {
    const cases = [
      ['error:unauthorized', 401, (r) => r.text === 'Unauthorized'],
      ['error:clock', 401, (r) => r.body.errors[0].message === 'request timestamp expired'],
      ['error:expired', 401, (r) => r.text === 'token is expired'],
      ['error:scopes', 403, (r) => r.body.error_details === 'Missing required scopes'],
      ['error:rate-limit', 429, (r) => r.body.errors[0].id === 'rate_limit_exceeded' && !r.headers['retry-after']],
      ['error:resource-exhausted', 429, (r) => r.body.error === 'RESOURCE_EXHAUSTED'],
      ['error:invalid-argument', 400, (r) => r.body.error === 'INVALID_ARGUMENT'],
      ['error:internal', 500, (r) => r.body.error === 'INTERNAL'],
      ['http:503', 503, (r) => r.text === '503 error'],
      ['http:429', 429, (r) => r.headers['retry-after'] === '2'],
      ['html403', 403, (r) => r.text.includes('Cloudflare')],
      ['html502', 502, (r) => r.text.includes('Bad gateway')],
      ['retry-after:7', 429, (r) => r.headers['retry-after'] === '7'],
      ['malformed', 200, (r) => r.body === null],
      ['redirect', 302, (r) => r.headers.location === `https://${STRAY_HOST}/collect`],
    ];
    for (const [fault, status, check] of cases) {
      coinbase.setFault(SAMPLE_ACCOUNT.apiKey, fault, { times: 1 });
      const res = await get(server.port, SAMPLE_ACCOUNT, KEY_PERMISSIONS_PATH);
      assert.equal(res.status, status, fault);
      assert.ok(check(res), fault);
      const logged = coinbase.requests.at(-1);
      assert.equal(logged.fault, fault);
      assert.equal(logged.authorized, true, `${fault}: the token was good`);
      const next = await get(server.port, SAMPLE_ACCOUNT, KEY_PERMISSIONS_PATH);
      assert.equal(next.status, 200, `${fault} fired once`);
    }
    // Targets: an endpoint, the public list, everything; a timeout never answers.
    coinbase.setFault('accounts', 'http:500');
    assert.equal((await get(server.port, SAMPLE_ACCOUNT, ACCOUNTS_PATH)).status, 500);
    assert.equal((await get(server.port, SAMPLE_ACCOUNT, KEY_PERMISSIONS_PATH)).status, 200);
    coinbase.clearFaults();
    coinbase.setFault('public', 'html502', { times: 1 });
    assert.equal((await send(server.port, { path: PRODUCTS_PATH })).status, 502);
    coinbase.setFault('*', 'timeout', { times: 1 });
    await assert.rejects(send(server.port, { path: PRODUCTS_PATH, timeout: 300 }), /timeout/);
    assert.throws(() => coinbase.setFault('*', 'error:nonsense'), /unknown fault/);
    coinbase.clearFaults();
  });
});

describe('mock Coinbase history', () => {
  // The adapter's fixtures (tests/fixtures/coinbase), served as one account's history.
  const fixture = (name) => JSON.parse(readFileSync(new URL(`../../fixtures/coinbase/${name}.json`, import.meta.url), 'utf8'));
  const history = ['btc', 'eth', 'atom', 'usdc', 'usd'].flatMap((name) => fixture(`v2-transactions-${name}`).data);
  const fills = [...fixture('fills-page-1').fills, ...fixture('fills-page-2').fills];
  const account = { ...SAMPLE_ACCOUNT, history, fills };
  const refused = { ...SECOND_ACCOUNT, history, fills, historyPermission: false };
  let coinbase;
  let server;
  before(async () => {
    coinbase = createCoinbase({
      accounts: { [account.apiKey]: account, [refused.apiKey]: refused },
      closes: { 'BTC-USD': { 20089: '94591.79', 20090: '97512.34' } },
    });
    server = await startMockServer([coinbase]);
  });
  after(() => server.close());

  test('wallets and their transactions page by starting_after, signed like every request', async () => {
    const wallets = await get(server.port, account, `${WALLETS_PATH}?limit=100&order=asc`);
    assert.equal(wallets.status, 200, wallets.text);
    const btc = walletId(account.apiKey, 'BTC');
    assert.ok(wallets.body.data.some((w) => w.id === btc && w.currency.code === 'BTC'));
    assert.equal(wallets.body.pagination.next_uri, null);
    const path = `${WALLETS_PATH}/${btc}/transactions`;
    const first = await get(server.port, account, `${path}?limit=3&order=asc`);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body.data.map((r) => r.type), ['buy', 'advanced_trade_fill', 'receive']);
    assert.ok(first.body.pagination.next_uri.includes(`starting_after=${first.body.data[2].id}`));
    const rest = await get(server.port, account, `${path}?limit=100&order=asc&starting_after=${first.body.data[2].id}`);
    assert.equal(rest.body.data.length, 4);
    assert.equal(rest.body.pagination.next_uri, null);
    const one = await get(server.port, account, `${path}/${rest.body.data[0].id}`);
    assert.equal(one.body.data.type, 'send');
    assert.equal((await get(server.port, account, `${path}?limit=101`)).status, 400);
    // The token names the path without its query, and is checked like any other.
    const forged = await get(server.port, account, `${path}?limit=3`, { claims: { uri: `GET ${HOST}${WALLETS_PATH}` } });
    assert.equal(forged.status, 401);
  });

  test('fills come newest first, by cursor, from start_sequence_timestamp', async () => {
    const first = await get(server.port, account, `${FILLS_PATH}?limit=3`);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body.fills.map((f) => f.entry_id.slice(-2)), ['25', '24', '23']);
    assert.ok(first.body.cursor);
    const rest = await get(server.port, account, `${FILLS_PATH}?limit=3&cursor=${encodeURIComponent(first.body.cursor)}`);
    assert.deepEqual(rest.body.fills.map((f) => f.entry_id.slice(-2)), ['22']);
    assert.equal(rest.body.cursor, '');
    const since = await get(server.port, account, `${FILLS_PATH}?limit=100&start_sequence_timestamp=2025-05-20T14%3A00%3A00.500Z`);
    assert.equal(since.body.fills.length, 2);
  });

  test('a key without the history permission is refused as Coinbase refuses it', async () => {
    const v2 = await get(server.port, refused, `${WALLETS_PATH}?limit=100&order=asc`);
    assert.equal(v2.status, 403);
    assert.equal(v2.body.errors[0].id, 'invalid_scope');
    const v3 = await get(server.port, refused, `${FILLS_PATH}?limit=100`);
    assert.equal(v3.status, 403);
    assert.equal(v3.body.error, 'PERMISSION_DENIED');
    // Balances still read.
    assert.equal((await get(server.port, refused, `${ACCOUNTS_PATH}?limit=250`)).status, 200);
  });

  test('daily candles are public, newest first, at most 350 a request', async () => {
    const path = '/api/v3/brokerage/market/products/BTC-USD/candles';
    const res = await send(server.port, { path: `${path}?start=1735689600&end=1735862399&granularity=ONE_DAY` });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.candles.map((c) => [c.start, c.close]), [['1735776000', '97512.34'], ['1735689600', '94591.79']]);
    const tooMany = await send(server.port, { path: `${path}?start=0&end=${351 * 86400 - 1}&granularity=ONE_DAY` });
    assert.equal(tooMany.status, 400);
    // Without a closes table, the product's price.
    const eth = await send(server.port, { path: `/api/v3/brokerage/market/products/ETH-USD/candles?start=1735689600&end=1735775999&granularity=ONE_DAY` });
    assert.equal(eth.body.candles.length, 1);
    assert.equal(eth.body.candles[0].close, SAMPLE_MARKETS.find((p) => p.product_id === 'ETH-USD').price);
  });
});
