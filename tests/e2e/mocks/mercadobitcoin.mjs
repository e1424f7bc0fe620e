// A stand-in for Mercado Bitcoin's API v4 on https://api.mercadobitcoin.net/api/v4
// (https://api.mercadobitcoin.net/api/v4/docs). Nothing is signed there: POST /authorize takes
// `{"login": <key id>, "password": <secret>}` as JSON and answers `{access_token, expiration}`;
// every private request carries `Authorization: Bearer <token>`. The stand-in checks the secret
// with a constant-time comparison, issues a random token per authorization (expiring after
// `tokenTtlMs`), refuses an unknown or expired token (401), and records where the secret appeared:
// `secretSeen` lists every request that carried it anywhere but the /authorize body.
//
//   const mb = createMercadoBitcoin({ accounts: { [apiKey]: account }, markets, tokenTtlMs });
//   mb.requests, mb.privateRequests(), mb.secretSeen, mb.setFault(apiKey | 'tickers' | '*', fault | null, { times }),
//   mb.clearFaults(), mb.setAccount(apiKey, account), mb.setMarkets(rows), mb.books()
//
// An account is { secret, accounts: [{ id, name, type, currency, balances: [{ symbol, available,
// on_hold, total }] }] }, the rows exactly as /accounts and /accounts/{id}/balances send them.
// Markets are rows of /tickers ({ pair, last, open, vol, … }); /symbols lists them as its parallel
// lists.
//
// Faults (targets: an API key, 'tickers', '*'), each Mercado Bitcoin's own answer:
//   'error:credentials' 401 FORBIDDEN at /authorize, 'error:ratelimit' 429 REQUEST_RATE_EXCEEDED,
//   'error:maintenance' 503 API_UNAVAILABLE, 'malformed' (truncated JSON), 'timeout' (never
//   answers), 'redirect' (302 to another host). A key's faults hit its /authorize and every request
//   made with its tokens.

import { randomBytes, timingSafeEqual } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultTable, redirectResponse } from '../mock-server.mjs';

export const HOST = 'api.mercadobitcoin.net';
export const HOSTS = [HOST];
const BASE = '/api/v4';

// Obviously fake credentials: the mock is the only place they are accepted.
export const SAMPLE_ACCOUNT = {
  label: 'Mercado Bitcoin',
  apiKey: 'mockmbkey0000000000000000000000000000000000000000000000000000000',
  secret: 'mockmbsecret00000000000000000000000000000000000000000000000000000',
  accounts: [
    {
      id: 'a322205ace882ef800553118e5000066', name: 'Mercado Bitcoin', type: 'live', currency: 'BRL', currencySign: 'R$',
      balances: [
        { symbol: 'BRL', available: '1500.25000000', on_hold: '250.00000000', total: '1750.25000000' },
        { symbol: 'BTC', available: '0.04000000', on_hold: '0.01000000', total: '0.05000000' },
        { symbol: 'ETH', available: '0.80000000', on_hold: '0.00000000', total: '0.80000000' },
        { symbol: 'LTC', available: '0.00000000', on_hold: '0.00000000', total: '0.00000000' },
      ],
    },
    {
      id: 'b1f0c7e2d4a94c0e8a1d5e6f70819a2b', name: 'Conta investimentos', type: 'live', currency: 'BRL', currencySign: 'R$',
      balances: [
        { symbol: 'USDT', available: '120.000000', on_hold: '0.000000', total: '120.000000' },
        { symbol: 'BTC', available: '0.00500000', on_hold: '0.00000000', total: '0.00500000' },
      ],
    },
  ],
};

/** Another key of the same kind: Mercado Bitcoin cannot say what a key may do, so no variant differs. */
export const SECOND_ACCOUNT = {
  ...SAMPLE_ACCOUNT,
  label: 'Mercado Bitcoin 2',
  apiKey: 'mockmbkey1111111111111111111111111111111111111111111111111111111',
};

const ticker = (pair, last, open, vol) => ({
  pair, high: last, low: last, vol, last, buy: last, sell: last, open, date: 1705474164,
});

export const SAMPLE_MARKETS = [
  ticker('BTC-BRL', '352140.12', '348000', '125.5'),
  ticker('ETH-BRL', '18950.5', '19100', '812.12345678'),
  ticker('USDT-BRL', '5.4215', '5.43', '250000'),
  ticker('LTC-BRL', '0', '0', '0'),
];

/** Cartera's code for a Mercado Bitcoin symbol: lowercase. */
export function assetCode(symbol) {
  return symbol.toLowerCase();
}

/**
 * What an account holds per Cartera asset code ({ asset: decimalString }), from the rules, not from
 * the Rust code: every account's `total` per symbol, summed, zeros dropped.
 */
export function expectedHoldings(account) {
  const totals = new Map();
  for (const sub of account.accounts ?? []) {
    for (const row of sub.balances ?? []) {
      const code = assetCode(row.symbol);
      totals.set(code, (totals.get(code) ?? new Q(0n)).add(Q.parse(row.total)));
    }
  }
  return Object.fromEntries([...totals].filter(([, total]) => !total.isZero()).map(([asset, total]) => [asset, total.toDecimal()]));
}

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

const mbError = (status, code, message) => json(status, { code, message });

const NAMED_FAULTS = {
  'error:credentials': () => mbError(401, 'FORBIDDEN', 'Invalid login or password'),
  'error:ratelimit': () => mbError(429, 'REQUEST_RATE_EXCEEDED', 'Request rate exceeded'),
  'error:maintenance': () => mbError(503, 'API_UNAVAILABLE', 'API temporarily unavailable'),
  malformed: () => ({ status: 200, body: '[{"symbol":"BTC","available":' }),
  timeout: () => ({ hang: true }),
  redirect: () => redirectResponse(),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault) {
  if (NAMED_FAULTS[fault]) return NAMED_FAULTS[fault]();
  throw new Error(`unknown fault ${fault}`);
}

/** Whether two texts are equal, compared in constant time. */
function same(given, expected) {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createMercadoBitcoin({ accounts = {}, markets = SAMPLE_MARKETS, tokenTtlMs = 60 * 60 * 1000 } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  /** Issued tokens: token → { apiKey, expiresAt }. */
  const tokens = new Map();
  /** Requests that carried a key's secret anywhere but the /authorize body. */
  const secretSeen = [];
  let tickers = markets;

  const secrets = () => Object.values(accounts).map((account) => account.secret).filter(Boolean);

  function handle(req) {
    const { method, path, headers } = req;
    const url = new URL(path, `https://${HOST}`);
    const route = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : null;
    const log = { method, path, host: req.host, apiKey: null, authorized: null, error: null, fault: null, at: Date.now() };
    requests.push(log);
    const body = req.body ?? '';
    const outsideBody = `${path}\n${JSON.stringify(headers)}`;
    if (secrets().some((secret) => outsideBody.includes(secret) || (route !== '/authorize' && body.includes(secret)))) {
      secretSeen.push({ method, path });
    }
    const finish = (response) => {
      if (response.hang) log.error = 'timeout';
      else if (response.status >= 300) {
        try {
          log.error = JSON.parse(response.body).code;
        } catch {
          log.error = `http:${response.status}`;
        }
      }
      return response;
    };
    const faulted = (targets) => {
      const fault = faults.take(targets);
      if (!fault) return null;
      log.fault = fault;
      return finish(faultResponse(fault));
    };
    const isPublic = route === '/symbols' || route === '/tickers';
    if (isPublic) {
      log.authorized = headers.authorization ? 'unexpected-token' : null;
      const fault = faulted(['tickers', '*']);
      if (fault) return fault;
      if (method !== 'GET') return finish(mbError(405, 'INVALID_PARAMETER', 'Method not allowed'));
      if (route === '/symbols') {
        return finish(json(200, {
          symbol: tickers.map((row) => row.pair),
          'base-currency': tickers.map((row) => row.pair.split('-')[0]),
          currency: tickers.map((row) => row.pair.split('-')[1]),
          'exchange-listed': tickers.map(() => true),
          'exchange-traded': tickers.map(() => true),
        }));
      }
      const wanted = (url.searchParams.get('symbols') ?? '').split(',').filter(Boolean);
      if (!wanted.length) return finish(mbError(400, 'INVALID_PARAMETER', 'symbols is required'));
      const unknown = wanted.filter((pair) => !tickers.some((row) => row.pair === pair));
      if (unknown.length) return finish(mbError(400, 'INVALID_SYMBOL', `Invalid symbol ${unknown[0]}`));
      return finish(json(200, tickers.filter((row) => wanted.includes(row.pair))));
    }

    if (route === '/authorize') {
      if (method !== 'POST') return finish(mbError(405, 'INVALID_PARAMETER', 'Method not allowed'));
      let login;
      try {
        login = JSON.parse(body);
      } catch {
        return finish(mbError(400, 'INVALID_PARAMETER', 'Invalid body'));
      }
      const apiKey = typeof login?.login === 'string' ? login.login : null;
      log.apiKey = apiKey;
      const fault = apiKey ? faulted([apiKey, '*']) : faulted(['*']);
      if (fault) return fault;
      const account = apiKey ? accounts[apiKey] : undefined;
      log.authorized = Boolean(account) && same(login.password, account.secret);
      if (!log.authorized) return finish(mbError(401, 'FORBIDDEN', 'Invalid login or password'));
      const token = randomBytes(18).toString('base64url');
      const expiresAt = Date.now() + tokenTtlMs;
      tokens.set(token, { apiKey, expiresAt });
      return finish(json(200, { access_token: token, expiration: Math.floor(expiresAt / 1000) }));
    }

    const balances = /^\/accounts\/([^/]+)\/balances$/.exec(route ?? '');
    if (method !== 'GET' || !(route === '/accounts' || balances)) return finish({ status: 404, type: 'text/plain', body: 'Not Found' });
    const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
    const session = bearer ? tokens.get(bearer) : undefined;
    log.apiKey = session?.apiKey ?? null;
    log.authorized = Boolean(session) && session.expiresAt > Date.now();
    if (!log.authorized) return finish(mbError(401, 'FORBIDDEN', 'Invalid or expired token'));
    const fault = faulted([session.apiKey, '*']);
    if (fault) return fault;
    const account = accounts[session.apiKey];
    if (route === '/accounts') {
      return finish(json(200, (account.accounts ?? []).map(({ balances: _, ...row }) => row)));
    }
    const sub = (account.accounts ?? []).find((row) => row.id === balances[1]);
    if (!sub) return finish(mbError(404, 'ACCOUNT_NOT_FOUND', 'Account not found'));
    return finish(json(200, sub.balances ?? []));
  }

  return {
    exchange: 'mercadobitcoin',
    hosts: HOSTS,
    handle,
    requests,
    secretSeen,
    /** Requests that need a key: /authorize and the account endpoints. */
    privateRequests: () => requests.filter((r) => !/\/api\/v4\/(symbols|tickers)(\?|$)/.test(r.path)),
    /**
     * Make requests fail: target is an API key, 'tickers' or '*' (everything); fault as above or
     * null to clear; `times` limits how many requests it hits (default: until cleared).
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    setMarkets(rows) {
      tickers = rows;
    },
    /** The public markets with a positive last price, normalised for the independent valuation. */
    books: () => tickers.flatMap((row) => {
      const [base, quote] = String(row.pair).split('-');
      if (!base || !quote || !(Number(row.last) > 0)) return [];
      const change = Number(row.open) > 0 ? Q.parse(row.last).add(Q.parse(row.open).mul(new Q(-1n))).toDecimal() : null;
      return [{ book: `mercadobitcoin:${row.pair}`, base: assetCode(base), quote: assetCode(quote), last: row.last, volume: row.vol || '0', change }];
    }),
  };
}

export default { SAMPLE_ACCOUNT, SECOND_ACCOUNT, SAMPLE_MARKETS, createMercadoBitcoin, expectedHoldings };
