// The Mercado Bitcoin mock on its own (no browser): a token asked for here, over TLS, under the
// real host name.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { makeCertificate, requestMock, startMockServer } from '../mock-server.mjs';
import { createMercadoBitcoin, expectedHoldings, HOST, SAMPLE_ACCOUNT } from './mercadobitcoin.mjs';

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
});
