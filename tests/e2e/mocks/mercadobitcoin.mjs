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
//   mb.clearFaults(), mb.revokeTokens(), mb.setAccount(apiKey, account), mb.setMarkets(rows), mb.books()
//
// An account is { secret, accounts: [{ id, name, type, currency, balances: [{ symbol, available,
// on_hold, total }] }] }, the rows exactly as /accounts and /accounts/{id}/balances send them.
// Markets are rows of /tickers ({ pair, last, open, vol, … }); /symbols lists them as its parallel
// lists.
//
// Transaction history: an account of the key may carry `history`, rows exactly as the API sends them:
//   history: { orders: [List orders rows, with their `executions`], deposits: [List Deposits rows],
//              fiatDeposits: [List Fiat Deposits rows], withdrawals: [List Withdraw Coin rows] }
// served by GET /accounts/{id}/{BASE-QUOTE}/orders (a listed market only, else 400
// INVALID_SYMBOL; `has_executions=true` keeps orders with executions; `executed_at_from`/`_to`
// keep orders with an execution in the range; newest first; the reference states no page size,
// so the stand-in answers at most ORDERS_CAP), /accounts/{id}/wallet/{ASSET}/deposits (`limit`
// 1 to 10, `page` from 1, `from`/`to` on `createdAt`), /accounts/{id}/wallet/fiat/BRL/deposits
// (BRL only; `limit` 1 to 50, `page` from 1, `from`/`to` on the deposit's `created_at`) and
// /accounts/{id}/wallet/{ASSET}/withdraw (`page` from 1, `page_size` 1 to 50, `from` on
// `created_at`), newest first. `historyPermission: false` on the key's account answers them 403
// INVALID_ACCESS. Account endpoints allow 3 requests a second per key: /accounts, the balances and
// the history endpoints count them together (a 4th within the second answers 429
// REQUEST_RATE_EXCEEDED); 500 requests a minute overall are not enforced. Public GET /candles?symbol&resolution=1d&from&to (seconds): a listed
// market's daily bars from `from` to `to`, oldest first, as parallel lists t/o/h/l/c/v; the
// close of a day is `closes[pair][day]` where given, else derivedClose(last, day).
//
// Faults (targets: an API key, 'tickers', 'history', '*'), each Mercado Bitcoin's own answer:
//   'error:credentials' 401 FORBIDDEN at /authorize, 'error:ratelimit' 429 REQUEST_RATE_EXCEEDED,
//   'error:maintenance' 503 API_UNAVAILABLE, 'malformed' (truncated JSON), 'timeout' (never
//   answers), 'redirect' (302 to another host). A key's faults hit its /authorize and every request
//   made with its tokens; 'history' hits the history endpoints and /candles.

import { randomBytes } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultResponder, faultTable, sameSecret } from '../mock-server.mjs';

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

/**
 * History rows for the first of SAMPLE_ACCOUNT's accounts, in the API's own shapes: a BTC buy in
 * two executions, a BTC deposit, reais by PIX and a BTC withdrawal (2025; `date -u -d … +%s`).
 */
export const SAMPLE_HISTORY = {
  orders: [
    {
      avgPrice: 500033.33, cost: 750.05, created_at: 1748779100, externalId: '', fee: '0.00000850', filledQty: '0.00150000',
      id: '01HCDAA7YJ68ZJ0FTEPR7DYDS1', instrument: 'BTC-BRL', limitPrice: 500100, qty: '0.00150000', side: 'buy', status: 'filled',
      stopPrice: 0, triggerOrderId: '', type: 'limit', updated_at: 1748779260,
      executions: [
        { executed_at: 1748779200, fee_rate: '0.70000000', id: '16', instrument: 'BTC-BRL', price: 500000, qty: '0.00100000', side: 'buy', liquidity: 'taker' },
        { executed_at: 1748779260, fee_rate: '0.30000000', id: '17', instrument: 'BTC-BRL', price: 500100, qty: '0.00050000', side: 'buy', liquidity: 'maker' },
      ],
    },
  ],
  deposits: [
    { address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', address_tag: '', amount: '0.05000000', coin: 'BTC', confirmTimes: '3 / 3', createdAt: 1747994400,
      network: 'bitcoin', origin: ['bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh'], status: '2', transaction_id: 'e10e3ea123e99a4ec3999ca5ac2a57e23468e994e1b4ff324fe028bbf83548e5', transferType: 'external' },
  ],
  fiatDeposits: [
    { id: 1234, amount: '1500.00', coin: 'BRL', status: 'CREDITED', transferType: 'pix',
      source: { bank_code: '208', bank_name: 'BTG Pactual', account_branch: '0001', account_number: '0123432', created_at: 1743490800, updated_at: 1743490800 } },
  ],
  withdrawals: [
    { account: '', address: 'bc1qs62xef6x0tyxsz87fya6le7htc6q5wayhqdzen', coin: 'BTC', created_at: '1749902400', description: '', destination_tag: '',
      fee: '0.00010000', id: 7, net_quantity: '0.00990000', network: 'bitcoin', quantity: '0.01000000', status: 2, tx: '0f3c4b1e9a2d7c6b', updated_at: '1749903000' },
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

/** The most orders one answer of the order list holds here (the reference states none). */
export const ORDERS_CAP = 100;
const DAY_SECS = 86_400;

/** A day's close derived from today's last price: within 90 % to 110 % of it, by day. */
export function derivedClose(last, day) {
  const scaled = BigInt(Math.round(Number(last) * 1e8));
  const percent = BigInt(90 + (day % 21));
  return (Number((scaled * percent) / 100n) / 1e8).toFixed(8);
}

/** A query number: digits only, else NaN. */
const int = (params, name, fallback) => {
  const text = params.get(name);
  if (text === null) return fallback;
  return /^\d+$/.test(text) ? Number(text) : NaN;
};

/** One page of the history route `route` for the sub-account `sub`, as [status, body]. */
export function historyAnswer(sub, route, params, markets) {
  const history = sub.history ?? {};
  const bad = [400, { code: 'INVALID_PARAMETER', message: 'Invalid parameter value' }];
  const newestFirst = (rows, time) => [...rows].sort((a, b) => Number(time(b)) - Number(time(a)));
  const pageOf = (rows, size) => {
    const page = int(params, 'page', 1);
    if (!(page >= 1)) return bad;
    return [200, rows.slice((page - 1) * size, page * size)];
  };
  let m = /^\/([A-Z0-9]+-[A-Z0-9]+)\/orders$/.exec(route);
  if (m) {
    if (!markets.some((row) => row.pair === m[1])) return [400, { code: 'TRADING|LIST_ORDERS|INVALID_SYMBOL', message: 'Invalid symbol' }];
    const from = int(params, 'executed_at_from', 0);
    const to = int(params, 'executed_at_to', Infinity);
    if (Number.isNaN(from) || Number.isNaN(to)) return bad;
    const withExecutions = params.get('has_executions') === 'true';
    const rows = (history.orders ?? []).filter((order) => order.instrument === m[1]
      && (!withExecutions || (order.executions ?? []).length > 0)
      && (!params.has('executed_at_from') && !params.has('executed_at_to')
        || (order.executions ?? []).some((e) => e.executed_at >= from && e.executed_at <= to)));
    return [200, newestFirst(rows, (order) => order.created_at).slice(0, ORDERS_CAP)];
  }
  m = /^\/wallet\/fiat\/([A-Z0-9]+)\/deposits$/.exec(route);
  if (m) {
    if (m[1] !== 'BRL') return [400, { code: 'WALLET|LIST_FIAT_DEPOSITS|INVALID_SYMBOL', message: 'Only BRL supported' }];
    const limit = int(params, 'limit', 10);
    const [from, to] = [int(params, 'from', 0), int(params, 'to', Infinity)];
    if (!(limit >= 1 && limit <= 50) || Number.isNaN(from) || Number.isNaN(to)) return bad;
    const created = (row) => row.created_at ?? row.source?.created_at;
    const rows = (history.fiatDeposits ?? []).filter((row) => row.coin === m[1] && created(row) >= from && created(row) <= to);
    return pageOf(newestFirst(rows, created), limit);
  }
  m = /^\/wallet\/([A-Z0-9]+)\/deposits$/.exec(route);
  if (m) {
    const limit = int(params, 'limit', 10);
    const [from, to] = [int(params, 'from', 0), int(params, 'to', Infinity)];
    if (!(limit >= 1 && limit <= 10) || Number.isNaN(from) || Number.isNaN(to)) return bad;
    const rows = (history.deposits ?? []).filter((row) => row.coin === m[1] && row.createdAt >= from && row.createdAt <= to);
    return pageOf(newestFirst(rows, (row) => row.createdAt), limit);
  }
  m = /^\/wallet\/([A-Z0-9]+)\/withdraw$/.exec(route);
  if (m) {
    const size = int(params, 'page_size', 10);
    const from = int(params, 'from', 0);
    if (!(size >= 1 && size <= 50) || Number.isNaN(from)) return bad;
    const rows = (history.withdrawals ?? []).filter((row) => row.coin === m[1] && Number(row.created_at) >= from);
    return pageOf(newestFirst(rows, (row) => row.created_at), size);
  }
  return null;
}

/** Daily candles of a listed market, as [status, body]. */
function candles(markets, closes, params, nowMs) {
  const market = markets.find((row) => row.pair === params.get('symbol'));
  const from = int(params, 'from', 0);
  const to = int(params, 'to', NaN);
  if (!market) return [400, { code: 'PUBLIC|LIST_CANDLES|INVALID_SYMBOL', message: 'Invalid symbol' }];
  if (params.get('resolution') !== '1d' || Number.isNaN(from) || Number.isNaN(to) || from > to) return [400, { code: 'INVALID_PARAMETER', message: 'Invalid parameter value' }];
  const bars = { t: [], o: [], h: [], l: [], c: [], v: [] };
  for (let day = Math.ceil(from / DAY_SECS); day * DAY_SECS <= to && day * 1000 * DAY_SECS <= nowMs; day += 1) {
    const close = closes?.[market.pair]?.[day] ?? derivedClose(market.last, day);
    if (!(Number(close) > 0)) continue;
    bars.t.push(day * DAY_SECS);
    for (const name of ['o', 'h', 'l', 'c']) bars[name].push(close);
    bars.v.push('1.00000000');
  }
  return [200, bars];
}

const NAMED_FAULTS = {
  'error:credentials': () => mbError(401, 'FORBIDDEN', 'Invalid login or password'),
  'error:ratelimit': () => mbError(429, 'REQUEST_RATE_EXCEEDED', 'Request rate exceeded'),
  'error:maintenance': () => mbError(503, 'API_UNAVAILABLE', 'API temporarily unavailable'),
  malformed: () => ({ status: 200, body: '[{"symbol":"BTC","available":' }),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export const faultResponse = faultResponder(NAMED_FAULTS);

export function createMercadoBitcoin({ accounts = {}, markets = SAMPLE_MARKETS, tokenTtlMs = 60 * 60 * 1000, now = Date.now, closes = {} } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  /** Issued tokens: token → { apiKey, expiresAt }. */
  const tokens = new Map();
  /** Requests that carried a key's secret anywhere but the /authorize body. */
  const secretSeen = [];
  let tickers = markets;
  /** Per key, the times of the last second's account requests. */
  const accountCalls = new Map();

  const secrets = () => Object.values(accounts).map((account) => account.secret).filter(Boolean);

  function handle(req) {
    const { method, path, headers } = req;
    const url = new URL(path, `https://${HOST}`);
    const route = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : null;
    const log = { method, path, host: req.host, apiKey: null, authorized: null, error: null, fault: null, at: now() };
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
    if (route === '/candles') {
      log.authorized = headers.authorization ? 'unexpected-token' : null;
      const fault = faulted(['history', '*']);
      if (fault) return fault;
      const [status, value] = candles(tickers, closes, url.searchParams, now());
      return finish(json(status, value));
    }
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
      log.authorized = Boolean(account) && sameSecret(login.password, account.secret);
      if (!log.authorized) return finish(mbError(401, 'FORBIDDEN', 'Invalid login or password'));
      const token = randomBytes(18).toString('base64url');
      const expiresAt = now() + tokenTtlMs;
      tokens.set(token, { apiKey, expiresAt });
      return finish(json(200, { access_token: token, expiration: Math.floor(expiresAt / 1000) }));
    }

    const balances = /^\/accounts\/([^/]+)\/balances$/.exec(route ?? '');
    const history = /^\/accounts\/([^/]+)(\/(?:[A-Z0-9]+-[A-Z0-9]+\/orders|wallet\/(?:fiat\/)?[A-Z0-9]+\/(?:deposits|withdraw)))$/.exec(route ?? '');
    if (method !== 'GET' || !(route === '/accounts' || balances || history)) return finish({ status: 404, type: 'text/plain', body: 'Not Found' });
    const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
    const session = bearer ? tokens.get(bearer) : undefined;
    log.apiKey = session?.apiKey ?? null;
    log.authorized = Boolean(session) && session.expiresAt > now();
    if (!log.authorized) return finish(mbError(401, 'FORBIDDEN', 'Invalid or expired token'));
    const fault = faulted(history ? [session.apiKey, 'history', '*'] : [session.apiKey, '*']);
    if (fault) return fault;
    const account = accounts[session.apiKey];
    const at = now();
    const recent = (accountCalls.get(session.apiKey) ?? []).filter((earlier) => at - earlier < 1_000);
    recent.push(at);
    accountCalls.set(session.apiKey, recent);
    if (recent.length > 3) return finish(mbError(429, 'REQUEST_RATE_EXCEEDED', 'Request rate exceeded the request limit in the range'));
    if (history) {
      if (account.historyPermission === false) return finish(mbError(403, 'INVALID_ACCESS', 'This key cannot read it'));
      const sub = (account.accounts ?? []).find((row) => row.id === history[1]);
      if (!sub) return finish(mbError(404, 'ACCOUNT_NOT_FOUND', 'Account not found'));
      const [status, value] = historyAnswer(sub, history[2], url.searchParams, tickers);
      return finish(json(status, value));
    }
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
    privateRequests: () => requests.filter((r) => !/\/api\/v4\/(symbols|tickers|candles)(\?|$)/.test(r.path)),
    /** Requests to the history endpoints only. */
    historyRequests: () => requests.filter((r) => /\/(orders|deposits|withdraw)(\?|$)/.test(r.path)),
    /**
     * Make requests fail: target is an API key, 'tickers' or '*' (everything); fault as above or
     * null to clear; `times` limits how many requests it hits (default: until cleared).
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    /** Stop accepting every token issued so far, as after a restart on the exchange's side. */
    revokeTokens: () => tokens.clear(),
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

export default { SAMPLE_ACCOUNT, SECOND_ACCOUNT, SAMPLE_MARKETS, SAMPLE_HISTORY, createMercadoBitcoin, expectedHoldings, derivedClose };
