// The Mercado Bitcoin mock on its own (no browser): a token asked for here, over TLS, under the
// real host name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createMercadoBitcoin, derivedClose, expectedHoldings, HOST, ORDERS_CAP, SAMPLE_ACCOUNT, SAMPLE_HISTORY } from './mercadobitcoin.mjs';

const A = SAMPLE_ACCOUNT;

let certificate;
function send(port, path, { method = 'GET', headers = {}, body } = {}) {
  return requestMock({ port, host: HOST, ca: certificate, method, path, headers, body });
}

const authorize = (port, login = A.apiKey, password = A.secret) =>
  send(port, '/api/v4/authorize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login, password }) });

describe('Mercado Bitcoin mock', () => {
  let server;
  let mb;
  before(async () => {
    mb = createMercadoBitcoin({ accounts: { [A.apiKey]: A } });
    server = await startMockServer([mb]);
    certificate = makeCertificate(server.hosts).cert;
  });
  after(() => server.close());

  test('trades the key for a token, then serves every account to it', async () => {
    const token = await authorize(server.port);
    assert.equal(token.status, 200);
    assert.match(token.body.access_token, /^[\w-]+$/);
    assert.ok(token.body.expiration > Date.now() / 1000);
    const bearer = { authorization: `Bearer ${token.body.access_token}` };
    const accounts = await send(server.port, '/api/v4/accounts', { headers: bearer });
    assert.deepEqual(accounts.body.map((row) => row.id), A.accounts.map((row) => row.id));
    assert.ok(accounts.body.every((row) => !('balances' in row)));
    for (const sub of A.accounts) {
      assert.deepEqual((await send(server.port, `/api/v4/accounts/${sub.id}/balances`, { headers: bearer })).body, sub.balances);
    }
    assert.ok(mb.privateRequests().every((r) => r.authorized === true));
    assert.deepEqual(mb.secretSeen, []);
  });

  test('refuses what Mercado Bitcoin refuses, with its codes, and notices a secret out of place', async () => {
    const code = async (response) => [(await response).status, (await response).body.code];
    assert.deepEqual(await code(authorize(server.port, A.apiKey, 'wrong')), [401, 'FORBIDDEN']);
    assert.deepEqual(await code(authorize(server.port, 'unknown', A.secret)), [401, 'FORBIDDEN']);
    assert.deepEqual(await code(send(server.port, '/api/v4/accounts')), [401, 'FORBIDDEN']);
    assert.deepEqual(await code(send(server.port, '/api/v4/accounts', { headers: { authorization: 'Bearer made-up' } })), [401, 'FORBIDDEN']);
    mb.setFault(A.apiKey, 'error:ratelimit', { times: 1 });
    assert.deepEqual(await code(authorize(server.port)), [429, 'REQUEST_RATE_EXCEEDED']);
    mb.setFault('tickers', 'error:maintenance', { times: 1 });
    assert.deepEqual(await code(send(server.port, '/api/v4/symbols')), [503, 'API_UNAVAILABLE']);
    assert.deepEqual(mb.secretSeen, []);
    await send(server.port, '/api/v4/accounts', { headers: { authorization: `Bearer ${A.secret}` } });
    assert.deepEqual(mb.secretSeen, [{ method: 'GET', path: '/api/v4/accounts' }]);
    mb.secretSeen.length = 0;
  });

  test('an expired token is refused', async () => {
    const short = createMercadoBitcoin({ accounts: { [A.apiKey]: A }, tokenTtlMs: -1 });
    const shortServer = await startMockServer([short]);
    try {
      const token = await requestMock({ port: shortServer.port, host: HOST, ca: makeCertificate(shortServer.hosts).cert, method: 'POST',
        path: '/api/v4/authorize', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: A.apiKey, password: A.secret }) });
      const accounts = await requestMock({ port: shortServer.port, host: HOST, ca: makeCertificate(shortServer.hosts).cert,
        path: '/api/v4/accounts', headers: { authorization: `Bearer ${token.body.access_token}` } });
      assert.equal(accounts.status, 401);
    } finally {
      shortServer.close();
    }
  });

  test('public symbols and tickers need no token; books and holdings follow the rules', async () => {
    const symbols = await send(server.port, '/api/v4/symbols');
    assert.deepEqual(symbols.body.symbol, ['BTC-BRL', 'ETH-BRL', 'USDT-BRL', 'LTC-BRL']);
    const tickers = await send(server.port, `/api/v4/tickers?symbols=${symbols.body.symbol.join(',')}`);
    assert.equal(tickers.body[0].pair, 'BTC-BRL');
    assert.deepEqual((await send(server.port, '/api/v4/tickers?symbols=NOPE-BRL')).body.code, 'INVALID_SYMBOL');
    assert.deepEqual(mb.books().map((b) => b.book), ['mercadobitcoin:BTC-BRL', 'mercadobitcoin:ETH-BRL', 'mercadobitcoin:USDT-BRL']);
    assert.deepEqual(expectedHoldings(A), { brl: '1750.25', btc: '0.055', eth: '0.8', usdt: '120' });
  });

  test('serves the history as Mercado Bitcoin pages it, to a key that may read it', async () => {
    const [main] = A.accounts;
    const account = { ...A, accounts: [{ ...main, history: SAMPLE_HISTORY }, A.accounts[1]] };
    const own = createMercadoBitcoin({ accounts: { [A.apiKey]: account } });
    const ownServer = await startMockServer([own]);
    const ca = makeCertificate(ownServer.hosts).cert;
    const get = async (path, headers = {}) => requestMock({ port: ownServer.port, host: HOST, ca, path: `/api/v4${path}`, headers });
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1_100));
    try {
      const token = await requestMock({ port: ownServer.port, host: HOST, ca, method: 'POST', path: '/api/v4/authorize',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: A.apiKey, password: A.secret }) });
      const bearer = { authorization: `Bearer ${token.body.access_token}` };
      const at = `/accounts/${main.id}`;
      const orders = await get(`${at}/BTC-BRL/orders?has_executions=true&executed_at_from=1748779250&executed_at_to=1751328000`, bearer);
      assert.deepEqual(orders.body.map((order) => order.id), ['01HCDAA7YJ68ZJ0FTEPR7DYDS1'], 'an execution in the range');
      assert.deepEqual((await get(`${at}/BTC-BRL/orders?has_executions=true&executed_at_from=1748779261`, bearer)).body, []);
      assert.equal((await get(`${at}/NOPE-BRL/orders`, bearer)).body.code, 'TRADING|LIST_ORDERS|INVALID_SYMBOL');
      await pause();
      assert.equal((await get(`${at}/wallet/BTC/deposits?limit=10&page=1&from=0&to=1751328000`, bearer)).body.length, 1);
      assert.deepEqual((await get(`${at}/wallet/BTC/deposits?limit=10&page=2&from=0&to=1751328000`, bearer)).body, []);
      assert.equal((await get(`${at}/wallet/BTC/deposits?limit=11`, bearer)).status, 400, 'at most 10 a page');
      await pause();
      assert.equal((await get(`${at}/wallet/fiat/BRL/deposits?limit=50&page=1&from=1743490800&to=1743490800`, bearer)).body[0].id, 1234);
      assert.equal((await get(`${at}/wallet/BTC/withdraw?page=1&page_size=50&from=1749902400`, bearer)).body[0].id, 7);
      assert.deepEqual((await get(`${at}/wallet/BTC/withdraw?page=1&page_size=50&from=1749902401`, bearer)).body, []);
      // A fourth history request within the second is refused.
      assert.deepEqual([(await get(`${at}/wallet/ETH/withdraw`, bearer)).status], [429]);
      await pause();
      // The accounts and their balances count with the history requests.
      const listed = [await get('/accounts', bearer), await get(`${at}/balances`, bearer), await get(`${at}/wallet/BTC/withdraw`, bearer)];
      assert.deepEqual(listed.map((answer) => answer.status), [200, 200, 200]);
      assert.deepEqual([(await get('/accounts', bearer)).status], [429]);
      await pause();
      own.setAccount(A.apiKey, { ...account, historyPermission: false });
      const refused = await get(`${at}/wallet/BTC/withdraw`, bearer);
      assert.deepEqual([refused.status, refused.body.code], [403, 'INVALID_ACCESS']);
      assert.ok(ORDERS_CAP >= 50);

      const bars = await get('/candles?symbol=BTC-BRL&resolution=1d&from=1751068800&to=1751241600');
      assert.deepEqual(bars.body.t, [1751068800, 1751155200, 1751241600]);
      assert.equal(bars.body.c[0], derivedClose('352140.12', 1751068800 / 86_400));
      assert.equal((await get('/candles?symbol=BTC-BRL&resolution=1h&from=0&to=1')).status, 400);
      assert.deepEqual(own.secretSeen, []);
    } finally {
      ownServer.close();
    }
  });
});
