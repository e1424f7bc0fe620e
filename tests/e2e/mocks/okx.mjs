// A stand-in for OKX's API v5 on https://www.okx.com. It checks every signed request the way OKX
// documents it (https://www.okx.com/docs-v5/en/#overview-rest-authentication):
//   headers OK-ACCESS-KEY, OK-ACCESS-SIGN, OK-ACCESS-TIMESTAMP, OK-ACCESS-PASSPHRASE,
//   OK-ACCESS-SIGN = base64 HMAC-SHA256(secret, timestamp + method + path with query + body),
//   OK-ACCESS-TIMESTAMP ISO 8601 with milliseconds, within 30 s of the mock's clock (50102),
//   OK-ACCESS-PASSPHRASE equal to the key's passphrase (50105),
// with node:crypto and constant-time comparisons. Its clock may be set off from the real one
// (`clockOffsetMs`), as OKX's is from a computer's that is wrong: /api/v5/public/time tells it.
//
//   const okx = createOkx({ accounts: { [apiKey]: account }, markets, closes, clockOffsetMs, now });
//   okx.requests, okx.privateRequests(), okx.setFault(apiKey | 'tickers' | '*', fault | null, { times }),
//   okx.clearFaults(), okx.setAccount(apiKey, account), okx.setMarkets(rows), okx.books()
//
// An account is { secret, apiPassphrase (the key's own OKX Passphrase), perm, trading, funding, savings }: `perm` as
// /api/v5/account/config sends it ('read_only', 'read_only,trade'), and rows exactly as OKX sends
// them: `trading` the `details` of /api/v5/account/balance ({ ccy, eq, availBal, … }), `funding`
// those of /api/v5/asset/balances ({ ccy, bal, availBal, frozenBal }), `savings` those of
// /api/v5/finance/savings/balance ({ ccy, amt, … }). Markets are rows of
// /api/v5/market/tickers?instType=SPOT ({ instId, last, open24h, vol24h, … }).
//
// History: an account's `history` is { bills, deposits, withdrawals }, rows exactly as
// /api/v5/account/bills-archive, /api/v5/asset/deposit-history and
// /api/v5/asset/withdrawal-history send them, paged as OKX pages them: newest first, `after` and
// `before` (a bill id, or a time in ms: strictly older or newer), `limit` at most 100; the bills
// archive keeps the last 3 months only (older bills are past its reach) and filters by `instType`
// and `type`; the archive allows 5 requests per 2 s per key, the deposit and withdrawal histories
// 6 per second (more answer 429 50011). `historyPermission: false` answers those 50120.
// /api/v5/market/history-candles?instId=&bar=1Dutc&after=&limit= serves daily candles, newest
// first, closes from `closes` ({ 'BTC-USDT': { 'YYYY-MM-DD': '97000' } }) or derived from the
// ticker. `now` (ms) is the mock's clock before its offset, injectable (the benchmark simulates
// time).
//
// Faults (targets: an API key, 'tickers', '*'), each OKX's own answer
// (https://www.okx.com/docs-v5/en/#error-code-rest-api-public):
//   'error:credentials' 401 50111, 'error:signature' 401 50113, 'error:passphrase' 401 50105,
//   'error:timestamp' 401 50102, 'error:permission' 401 50120, 'error:ip' 401 50110,
//   'error:ratelimit' 429 50011, 'error:maintenance' 503 50001, 'malformed' (truncated JSON),
//   'timeout' (never answers), 'redirect' (302 to another host).

import { createHmac } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultResponder, faultTable, sameSecret } from '../mock-server.mjs';

export const HOST = 'www.okx.com';
export const HOSTS = [HOST];

/** How far from OKX's clock a request's timestamp may be (its documentation: 30 seconds). */
export const TIME_WINDOW_MS = 30_000;

/** The signature OKX expects, base64. */
export function sign(secret, timestamp, method, path, body = '') {
  return createHmac('sha256', secret).update(`${timestamp}${method}${path}${body}`).digest('base64');
}

// Obviously fake credentials: the mock is the only place they are accepted.
export const SAMPLE_ACCOUNT = {
  label: 'OKX',
  apiKey: 'mock-okx-key-00000000-0000-0000-0000-000000000000',
  secret: 'MOCKOKXSECRETNOTREAL0000000000000',
  apiPassphrase: 'Mock-Passphrase#1',
  perm: 'read_only',
  trading: [
    { ccy: 'BTC', eq: '0.35', cashBal: '0.35', availBal: '0.3', frozenBal: '0.05', ordFrozen: '0.05', upl: '' },
    { ccy: 'USDT', eq: '2150.5', cashBal: '2150.5', availBal: '2150.5', frozenBal: '0', ordFrozen: '0', upl: '' },
    { ccy: 'OKB', eq: '20', cashBal: '20', availBal: '20', frozenBal: '0', ordFrozen: '0', upl: '' },
    { ccy: 'ETH', eq: '0', cashBal: '0', availBal: '0', frozenBal: '0', ordFrozen: '0', upl: '' },
  ],
  funding: [
    { ccy: 'ETH', bal: '2.5', availBal: '2.5', frozenBal: '0' },
    { ccy: 'USDT', bal: '300', availBal: '250', frozenBal: '50' },
  ],
  savings: [
    { ccy: 'USDT', amt: '1000.25', earnings: '0.25', rate: '0.05', loanAmt: '1000', pendingAmt: '0.25', redemptAmt: '' },
  ],
};

/** The same account, with a key that may trade. */
export const TRADING_ACCOUNT = {
  ...SAMPLE_ACCOUNT,
  label: 'OKX trading',
  apiKey: 'mock-okx-key-11111111-1111-1111-1111-111111111111',
  perm: 'read_only,trade',
};

const ticker = (instId, last, open24h, vol24h) => ({
  instType: 'SPOT', instId, last, lastSz: '1', askPx: last, askSz: '1', bidPx: last, bidSz: '1', open24h,
  high24h: last, low24h: last, volCcy24h: '0', vol24h, ts: '1705474164160', sodUtc0: open24h, sodUtc8: open24h,
});

export const SAMPLE_MARKETS = [
  ticker('BTC-USDT', '97250.4', '96000', '8543.21'),
  ticker('ETH-USDT', '3421.75', '3400', '32921.8'),
  ticker('OKB-USDT', '48.12', '47.5', '27434.8'),
  ticker('BTC-USDC', '97240.1', '96010', '512.3'),
  ticker('USDC-USDT', '0.9998', '1', '1000100'),
  ticker('DELISTED-USDT', '', '', '0'),
];

/** Cartera's code for an OKX currency: lowercase, AE (the ERC-20 AEToken) as aet. */
export function assetCode(ccy) {
  const code = ccy.toLowerCase();
  return code === 'ae' ? 'aet' : code;
}

/**
 * What an account holds per Cartera asset code ({ asset: decimalString }), from the rules, not
 * from the Rust code: equity of the trading account (debts left out), balance of the funding
 * account and savings amounts, summed per asset, zeros dropped.
 */
export function expectedHoldings(account) {
  const totals = new Map();
  const add = (ccy, amount) => {
    // A negative equity is a debt, not a holding.
    if (String(amount).startsWith('-')) return;
    const value = Q.parse(amount);
    totals.set(assetCode(ccy), (totals.get(assetCode(ccy)) ?? new Q(0n)).add(value));
  };
  for (const row of account.trading ?? []) add(row.ccy, row.eq);
  for (const row of account.funding ?? []) add(row.ccy, row.bal);
  for (const row of account.savings ?? []) add(row.ccy, row.amt);
  return Object.fromEntries([...totals].filter(([, total]) => !total.isZero()).map(([asset, total]) => [asset, total.toDecimal()]));
}

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

function okxError(status, code, msg) {
  return json(status, { code: String(code), data: [], msg });
}

function okxData(data) {
  return json(200, { code: '0', msg: '', data });
}

const NAMED_FAULTS = {
  'error:credentials': () => okxError(401, 50111, 'Invalid OK-ACCESS-KEY'),
  'error:signature': () => okxError(401, 50113, 'Invalid Sign'),
  'error:passphrase': () => okxError(401, 50105, 'Passphrase error'),
  'error:timestamp': () => okxError(401, 50102, 'Timestamp request expired'),
  'error:permission': () => okxError(401, 50120, "API key doesn't have permission"),
  'error:ip': () => okxError(401, 50110, "Your IP 203.0.113.7 is not included in your API key's IP whitelist."),
  'error:ratelimit': () => okxError(429, 50011, 'Too Many Requests'),
  'error:maintenance': () => okxError(503, 50001, 'Service temporarily unavailable. Please try again later'),
  malformed: () => ({ status: 200, body: '{"code":"0","msg":"","data":[{"details":[{"ccy":"BTC"' }),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export const faultResponse = faultResponder(NAMED_FAULTS);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const DAY_MS = 86_400_000;
/** How far back the bills archive reaches ("last 3 months"), counted generously as 92 days. */
export const ARCHIVE_MS = 92 * DAY_MS;
const HISTORY_LIMITS = {
  '/api/v5/account/bills-archive': { limit: 5, windowMs: 2_000 },
  '/api/v5/asset/deposit-history': { limit: 6, windowMs: 1_000 },
  '/api/v5/asset/withdrawal-history': { limit: 6, windowMs: 1_000 },
};

/** A whole number parameter as a BigInt; undefined when absent, null when not one. */
function whole(value) {
  if (value === null || value === undefined) return undefined;
  return /^\d{1,20}$/.test(value) ? BigInt(value) : null;
}

/**
 * The rows one history request selects, as OKX pages them (newest first, `after`/`before`
 * exclusive, at most `limit`), or an error response.
 */
export function historyRows(rows, params, position) {
  const after = whole(params.get('after'));
  const before = whole(params.get('before'));
  const limit = params.has('limit') ? Number(params.get('limit')) : 100;
  if (after === null || before === null) return okxError(400, 51000, 'Parameter after error');
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return okxError(400, 51000, 'Parameter limit error');
  const selected = rows
    .filter((row) => (after === undefined || position(row) < after) && (before === undefined || position(row) > before))
    .sort((a, b) => (position(b) > position(a) ? 1 : position(b) < position(a) ? -1 : 0))
    .slice(0, limit);
  return okxData(selected);
}

/** `YYYY-MM-DD` of a day number (days since 1970-01-01, UTC). */
const isoDay = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);

export function createOkx({ accounts = {}, markets = SAMPLE_MARKETS, closes = {}, clockOffsetMs = 0, now: clock = Date.now } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  let tickers = markets;
  const now = () => clock() + clockOffsetMs;
  const historyCalls = new Map(); // `${apiKey} ${path}` → times of the requests in its window

  /** Whether this request is one more than its endpoint allows in its window. */
  function overHistoryLimit(apiKey, pathname) {
    const rule = HISTORY_LIMITS[pathname];
    const key = `${apiKey} ${pathname}`;
    const at = now();
    const recent = (historyCalls.get(key) ?? []).filter((t) => t > at - rule.windowMs);
    recent.push(at);
    historyCalls.set(key, recent);
    return recent.length > rule.limit;
  }

  /** The close of `instId` on `day`: from the closes table, else its ticker's last price. */
  function closeOn(instId, day) {
    const listed = closes[instId]?.[isoDay(day)];
    if (listed !== undefined) return String(listed);
    const ticker = tickers.find((row) => row.instId === instId);
    return ticker && Number(ticker.last) > 0 ? ticker.last : null;
  }

  function candles(params) {
    const instId = params.get('instId');
    if (params.get('bar') !== '1Dutc') return okxError(400, 51000, 'Parameter bar error');
    const after = whole(params.get('after'));
    const limit = params.has('limit') ? Number(params.get('limit')) : 100;
    if (after === null || !Number.isInteger(limit) || limit < 1 || limit > 100) return okxError(400, 51000, 'Parameter error');
    if (closeOn(instId, Math.floor(now() / DAY_MS)) === null) return okxError(400, 51001, "Instrument ID doesn't exist");
    const rows = [];
    // Strictly before `after`, newest first, up to today.
    let day = Math.floor(Math.min(now(), after === undefined ? now() : Number(after) - 1) / DAY_MS);
    for (; rows.length < limit && day >= 0 && day > Math.floor(now() / DAY_MS) - 1500; day -= 1) {
      const close = closeOn(instId, day);
      if (close === null) continue;
      const ts = String(day * DAY_MS);
      rows.push([ts, close, close, close, close, '1', close, close, day === Math.floor(now() / DAY_MS) ? '0' : '1']);
    }
    return okxData(rows);
  }

  const HISTORY = {
    '/api/v5/account/bills-archive': (account, params) => {
      const reach = now() - ARCHIVE_MS;
      const rows = (account.history?.bills ?? []).filter((row) => Number(row.ts) >= reach
        && (!params.has('instType') || row.instType === params.get('instType'))
        && (!params.has('type') || row.type === params.get('type')));
      return historyRows(rows, params, (row) => BigInt(row.billId));
    },
    '/api/v5/asset/deposit-history': (account, params) => historyRows(account.history?.deposits ?? [], params, (row) => BigInt(row.ts)),
    '/api/v5/asset/withdrawal-history': (account, params) => historyRows(account.history?.withdrawals ?? [], params, (row) => BigInt(row.ts)),
  };

  const PRIVATE = {
    '/api/v5/account/balance': (account) => okxData([{ details: account.trading ?? [], totalEq: '', uTime: String(now()) }]),
    '/api/v5/asset/balances': (account) => okxData(account.funding ?? []),
    '/api/v5/finance/savings/balance': (account) => okxData(account.savings ?? []),
    '/api/v5/account/config': (account) => okxData([{ uid: '44705892343619584', label: 'cartera', perm: account.perm ?? 'read_only' }]),
    ...HISTORY,
  };

  function handle(req) {
    const { method, path, headers } = req;
    const pathname = path.split('?')[0];
    const log = { method, path, host: req.host, apiKey: null, timestamp: null, authorized: null, error: null, fault: null, at: clock() };
    requests.push(log);
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

    if (method === 'GET' && pathname === '/api/v5/public/time') {
      return faulted(['*']) ?? finish(okxData([{ ts: String(now()) }]));
    }
    if (method === 'GET' && pathname === '/api/v5/market/tickers') {
      log.authorized = headers['ok-access-sign'] ? 'unexpected-signature' : null;
      const fault = faulted(['tickers', '*']);
      if (fault) return fault;
      if (new URL(path, `https://${HOST}`).searchParams.get('instType') !== 'SPOT') return finish(okxError(400, 51000, 'Parameter instType error'));
      return finish(okxData(tickers));
    }
    if (method === 'GET' && pathname === '/api/v5/market/history-candles') {
      log.authorized = headers['ok-access-sign'] ? 'unexpected-signature' : null;
      return faulted(['candles', '*']) ?? finish(candles(new URL(path, `https://${HOST}`).searchParams));
    }
    const answer = PRIVATE[pathname];
    if (!answer || method !== 'GET') return finish({ status: 404, type: 'text/plain', body: 'Not Found' });

    const apiKey = headers['ok-access-key'];
    const timestamp = headers['ok-access-timestamp'];
    log.apiKey = apiKey ?? null;
    log.timestamp = timestamp ?? null;
    if (!apiKey) return finish(okxError(401, 50103, 'Request header OK-ACCESS-KEY cannot be empty'));
    if (!headers['ok-access-passphrase']) return finish(okxError(401, 50104, 'Request header OK-ACCESS-PASSPHRASE cannot be empty'));
    if (!headers['ok-access-sign']) return finish(okxError(401, 50106, 'Request header OK-ACCESS-SIGN cannot be empty'));
    if (!timestamp) return finish(okxError(401, 50107, 'Request header OK-ACCESS-TIMESTAMP cannot be empty'));
    const account = accounts[apiKey];
    if (!account) return finish(okxError(401, 50111, 'Invalid OK-ACCESS-KEY'));
    if (!ISO.test(timestamp)) return finish(okxError(401, 50112, 'Invalid OK-ACCESS-TIMESTAMP'));
    if (Math.abs(Date.parse(timestamp) - now()) > TIME_WINDOW_MS) return finish(okxError(401, 50102, 'Timestamp request expired'));
    log.authorized = sameSecret(headers['ok-access-sign'], sign(account.secret, timestamp, method, path, req.body ?? ''));
    if (!log.authorized) return finish(okxError(401, 50113, 'Invalid Sign'));
    log.passphrase = sameSecret(headers['ok-access-passphrase'], account.apiPassphrase);
    if (!log.passphrase) return finish(okxError(401, 50105, 'Passphrase error'));
    const fault = faulted([apiKey, '*']);
    if (fault) return fault;
    if (HISTORY[pathname]) {
      if (account.historyPermission === false) return finish(okxError(401, 50120, "API key doesn't have permission"));
      if (overHistoryLimit(apiKey, pathname)) return finish(okxError(429, 50011, 'Too Many Requests'));
    }
    return finish(answer(account, new URL(path, `https://${HOST}`).searchParams));
  }

  return {
    exchange: 'okx',
    hosts: HOSTS,
    handle,
    requests,
    /** Requests to the signed endpoints only. */
    privateRequests: () => requests.filter((r) => PRIVATE[r.path.split('?')[0]] !== undefined),
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
    /** The public spot markets with a positive last price, normalised for the independent valuation. */
    books: () => tickers.flatMap((row) => {
      const [base, quote] = String(row.instId).split('-');
      if (!base || !quote || !(Number(row.last) > 0)) return [];
      const change = Number(row.open24h) > 0 ? Q.parse(row.last).add(Q.parse(row.open24h).mul(new Q(-1n))).toDecimal() : null;
      return [{ book: `okx:${row.instId}`, base: assetCode(base), quote: assetCode(quote), last: row.last, volume: row.vol24h || '0', change }];
    }),
  };
}

export default { SAMPLE_ACCOUNT, TRADING_ACCOUNT, SAMPLE_MARKETS, createOkx, expectedHoldings };
