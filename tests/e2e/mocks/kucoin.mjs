// A stand-in for KuCoin's spot API on https://api.kucoin.com. It checks every signed request the
// way KuCoin documents it (https://www.kucoin.com/docs-new/authentication, key version 2):
//   headers KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE, KC-API-KEY-VERSION: 2,
//   KC-API-SIGN = base64 HMAC-SHA256(secret, timestamp + method + path with query + body),
//   KC-API-TIMESTAMP in ms, within 5 s of the mock's clock (400002),
//   KC-API-PASSPHRASE = base64 HMAC-SHA256(secret, the key's passphrase) (400004),
// with node:crypto and constant-time comparisons. Its clock may be set off from the real one
// (`clockOffsetMs`), as KuCoin's is from a computer's that is wrong: /api/v1/timestamp tells it.
//
//   const kucoin = createKucoin({ accounts: { [apiKey]: account }, markets, clockOffsetMs, closes, now });
//   kucoin.requests, kucoin.privateRequests(), kucoin.setFault(apiKey | 'tickers' | '*', fault | null, { times }),
//   kucoin.clearFaults(), kucoin.setAccount(apiKey, account), kucoin.setMarkets(rows), kucoin.books()
//
// An account is { secret, apiPassphrase (the key's own KuCoin Passphrase), permission, rows }:
// `permission` as /api/v1/user/api-key sends it ('General', 'General,Spot'), `rows` exactly as
// /api/v1/accounts sends them ({ id, currency, type, balance, available, holds }), and `owed`
// ({ USDT: '30' }): what the cross-margin account owes per currency, borrowed coins that the
// margin rows' balances include. GET /api/v3/margin/accounts answers the margin rows as
// { currency, total, available, hold, liability } (https://www.kucoin.com/docs-new/rest/account-
// info/account-funding/get-account-cross-margin). `isolated` ([{ symbol, base, quote }], each
// asset { currency, total, available, hold, liability }) are the isolated-margin positions, which
// /api/v1/accounts does not list: GET /api/v3/isolated/accounts?quoteCurrency=USDT&queryType=ALL
// answers them as KuCoin does (https://www.kucoin.com/docs-new/api-3470128: `assets`, each with
// `baseAsset` and `quoteAsset`), and refuses another query with 400100. Markets are rows of
// /api/v1/market/allTickers ({ symbol, last, changePrice, vol, … }).
//
// Transaction history: an account may also carry `history` (rows of /api/v1/accounts/ledgers in
// KuCoin's own shape: { id, currency, amount, fee, balance, accountType, bizType, direction,
// createdAt, context }) and `historyPermission` (false: the ledger answers 400007). The signed
// GET /api/v1/accounts/ledgers pages them as KuCoin does: startAt and endAt (ms) both given (the
// adapter always sends both), at most 7 days apart and no earlier than two years back; the rows
// of that window newest first, `pageSize` 10 to 500 a page, `currentPage` from 1, with totalNum
// and totalPage. The ledger weighs 2 in the management pool, 2,000 per 30 s (VIP 0): beyond it,
// 429000. Public GET /api/v1/market/candles?type=1day&symbol&startAt&endAt (seconds): a market's
// daily candles [time, open, close, high, low, volume, turnover], newest first, at most 1,500;
// the close of a day is `closes[symbol][day]` where the stand-in was given one, else
// derivedClose(last, day).
//
// The high-frequency account: `hfHistory`, rows of /api/v1/hf/accounts/ledgers in KuCoin's shape
// ({ id (digits), currency, amount, fee, tax, balance, accountType: 'TRADE_HF', bizType, direction,
// createdAt (a string of ms), context }). The signed GET pages them as KuCoin documents
// (https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-account-ledgers-tradehf):
// a bare array, newest first (createdAt, then id), `limit` 1 to 200 (default 100), only ids below
// `lastId` when given, within startAt..endAt but never older than three days (an older startAt
// reads as three days back). It weighs 2 in the spot pool, 4,000 per 30 s (VIP 0): beyond it,
// 429000. 400007 where `historyPermission` is false.
//
// Faults (targets: an API key, 'tickers', 'candles', '*'), each KuCoin's own answer
// (https://www.kucoin.com/docs-new/error-code/spot):
//   'error:credentials' 401 400003, 'error:signature' 401 400005, 'error:passphrase' 401 400004,
//   'error:timestamp' 401 400002, 'error:permission' 401 400007, 'error:ip' 401 400006,
//   'error:ratelimit' 429 429000, 'error:maintenance' 503 503000, 'malformed' (truncated JSON),
//   'timeout' (never answers), 'redirect' (302 to another host).

import { createHmac } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultResponder, faultTable, sameSecret } from '../mock-server.mjs';

export const HOST = 'api.kucoin.com';
export const HOSTS = [HOST];

/** How far from KuCoin's clock a request's timestamp may be (its documentation: 5 seconds). */
export const TIME_WINDOW_MS = 5_000;

/** The signature KuCoin expects, base64. */
export function sign(secret, timestamp, method, path, body = '') {
  return createHmac('sha256', secret).update(`${timestamp}${method}${path}${body}`).digest('base64');
}

/** The passphrase header of key version 2: the key's passphrase signed with its secret. */
export function signedPassphrase(secret, passphrase) {
  return createHmac('sha256', secret).update(passphrase).digest('base64');
}

const row = (id, currency, type, balance, available, holds) => ({ id, currency, type, balance, available, holds });

// Obviously fake credentials: the mock is the only place they are accepted.
export const SAMPLE_ACCOUNT = {
  label: 'KuCoin',
  apiKey: 'mock-kucoin-key-000000000000000000',
  secret: 'mock-kucoin-secret-0000-not-real-000000',
  apiPassphrase: 'Mock-KuCoin-Passphrase#1',
  permission: 'General',
  rows: [
    row('5bd6e9286d99522a52e458de', 'BTC', 'main', '0.15', '0.15', '0'),
    row('5bd6e9216d99522a52e458d6', 'BTC', 'trade', '0.2', '0.15', '0.05'),
    row('5c6a4fd399a1d81c4f9cc4d0', 'USDT', 'trade', '1520.5', '1520.5', '0'),
    row('5c6a4fd399a1d81c4f9cc4d1', 'USDT', 'margin', '200', '200', '0'),
    row('5c6a4fd399a1d81c4f9cc4d2', 'KCS', 'trade_hf', '35', '35', '0'),
    row('5c6a4fd399a1d81c4f9cc4d3', 'ETH', 'main', '1.75', '1.75', '0'),
    row('5c6a4fd399a1d81c4f9cc4d4', 'XRP', 'main', '0', '0', '0'),
  ],
  // 50 of the margin account's 200 USDT were borrowed.
  owed: { USDT: '50' },
  // An isolated ETH-USDT position: 0.5 ETH (0.1 held by an order), bought with 250 borrowed USDT,
  // and 300 USDT of which the 250 are owed.
  isolated: [
    {
      symbol: 'ETH-USDT',
      base: { currency: 'ETH', total: '0.5', available: '0.4', hold: '0.1', liability: '0' },
      quote: { currency: 'USDT', total: '300', available: '300', hold: '0', liability: '250' },
    },
  ],
};

/** The same account, with a key that may trade. */
export const TRADING_ACCOUNT = {
  ...SAMPLE_ACCOUNT,
  label: 'KuCoin trading',
  apiKey: 'mock-kucoin-key-111111111111111111',
  permission: 'General,Spot',
};

const ticker = (symbol, last, changePrice, vol) => ({
  symbol, symbolName: symbol, buy: last, sell: last, bestBidSize: '1', bestAskSize: '1', changeRate: '0', changePrice,
  high: last, low: last, vol, volValue: '0', last, averagePrice: last, takerFeeRate: '0.001', makerFeeRate: '0.001',
  takerCoefficient: '1', makerCoefficient: '1',
});

export const SAMPLE_MARKETS = [
  ticker('BTC-USDT', '97180.2', '1120.5', '2282.70993217'),
  ticker('ETH-USDT', '3415.61', '-12.3', '32921.8'),
  ticker('KCS-USDT', '11.842', null, '27434.8'),
  ticker('ETH-BTC', '0.03514', '0.0001', '512.3'),
  ticker('USDC-USDT', '0.9997', '0', '1000100'),
  ticker('OLD-USDT', null, null, '0'),
];

/** ccxt's renames of KuCoin codes (commonCurrencies), as the adapter applies them. */
const RENAMES = { WAX: 'waxp', VAI: 'vaiot', BIFI: 'bifif', ALT: 'aptoslaunchtoken', KALT: 'alt' };

/** Cartera's code for a KuCoin currency. */
export function assetCode(currency) {
  return RENAMES[currency] ?? currency.toLowerCase();
}

/**
 * What an account holds per Cartera asset code ({ asset: decimalString }), from the rules, not
 * from the Rust code: every account's balance, of every type, summed per asset, zeros dropped.
 */
export function expectedHoldings(account) {
  const totals = new Map();
  const add = (currency, amount) => totals.set(assetCode(currency), (totals.get(assetCode(currency)) ?? new Q(0n)).add(amount));
  for (const { currency, balance, type } of account.rows ?? []) {
    // The margin account holds what it has less what it owes; owing more is a debt, not a holding.
    const owned = Q.parse(balance).add(Q.parse(type === 'margin' ? account.owed?.[currency] ?? '0' : '0').mul(new Q(-1n)));
    if (type !== 'margin' || owned.n > 0n) add(currency, owned);
  }
  // Each isolated position's assets likewise, position by position: a debt in one lowers no other.
  for (const { currency, total, liability } of (account.isolated ?? []).flatMap(({ base, quote }) => [base, quote])) {
    const owned = Q.parse(total).add(Q.parse(liability).mul(new Q(-1n)));
    if (owned.n > 0n) add(currency, owned);
  }
  return Object.fromEntries([...totals].filter(([, total]) => !total.isZero()).map(([asset, total]) => [asset, total.toDecimal()]));
}

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

function kucoinError(status, code, msg) {
  return json(status, { code: String(code), msg });
}

function kucoinData(data) {
  return json(200, { code: '200000', data });
}

const NAMED_FAULTS = {
  'error:credentials': () => kucoinError(401, 400003, 'KC-API-KEY not exists'),
  'error:signature': () => kucoinError(401, 400005, 'Invalid KC-API-SIGN'),
  'error:passphrase': () => kucoinError(401, 400004, 'Invalid KC-API-PASSPHRASE'),
  'error:timestamp': () => kucoinError(401, 400002, 'Invalid KC-API-TIMESTAMP'),
  'error:permission': () => kucoinError(401, 400007, 'Access Denied'),
  'error:ip': () => kucoinError(401, 400006, 'The requested IP address 203.0.113.7 is not in the API whitelist'),
  'error:ratelimit': () => kucoinError(429, 429000, 'Too Many Requests'),
  'error:maintenance': () => kucoinError(503, 503000, 'Service unavailable, please try again later'),
  malformed: () => ({ status: 200, body: '{"code":"200000","data":[{"currency":"BTC"' }),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export const faultResponse = faultResponder(NAMED_FAULTS);

export const DAY_MS = 86_400_000;
const TWO_YEARS_MS = 730 * DAY_MS;
/** The management pool at VIP 0: 2,000 weight per 30 s; the ledger weighs 2. */
const POOL_WEIGHT = 2_000;
const POOL_WINDOW_MS = 30_000;
const LEDGER_WEIGHT = 2;
/** The spot pool at VIP 0: 4,000 weight per 30 s; the high-frequency ledger weighs 2. */
const SPOT_POOL_WEIGHT = 4_000;
/** How far back the high-frequency ledger answers. */
export const HF_REACH_MS = 3 * DAY_MS;

/** A day's close where the stand-in was given none: the last price moved by the day. */
export function derivedClose(lastPrice, day) {
  const scaled = BigInt(Math.round(Number(lastPrice) * 1e8));
  const percent = BigInt(90 + (day % 21));
  return (Number((scaled * percent) / 100n) / 1e8).toFixed(8);
}

/** One ledger page for `params`, or the error code that refuses them. */
export function ledgerPage(account, params, now = Date.now()) {
  const start = Number(params.get('startAt'));
  const end = Number(params.get('endAt'));
  const page = Number(params.get('currentPage') ?? 1);
  const size = Number(params.get('pageSize') ?? 50);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start > end || end - start > 7 * DAY_MS || start < now - TWO_YEARS_MS) return { code: 400100 };
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(size) || size < 10 || size > 500) return { code: 400100 };
  const rows = (account.history ?? [])
    .filter((row) => Number(row.createdAt) >= start && Number(row.createdAt) <= end)
    .sort((a, b) => Number(b.createdAt) - Number(a.createdAt));
  return {
    data: { currentPage: page, pageSize: size, totalNum: rows.length, totalPage: Math.ceil(rows.length / size), items: rows.slice((page - 1) * size, page * size) },
  };
}

/** One page of the high-frequency ledger for `params` (a bare array), or the code that refuses them. */
export function hfLedgerPage(account, params, now = Date.now()) {
  const number = (name, fallback) => (params.has(name) ? Number(params.get(name)) : fallback);
  const start = Math.max(number('startAt', 0), now - HF_REACH_MS);
  const end = number('endAt', now);
  const limit = number('limit', 100);
  const lastId = params.has('lastId') ? params.get('lastId') : null;
  if (![start, end, limit].every(Number.isInteger) || limit < 1 || limit > 200 || (lastId !== null && !/^\d+$/.test(lastId))) return { code: 400100 };
  const rows = (account.hfHistory ?? [])
    .filter((row) => Number(row.createdAt) >= start && Number(row.createdAt) <= end && (lastId === null || BigInt(row.id) < BigInt(lastId)))
    .sort((a, b) => Number(b.createdAt) - Number(a.createdAt) || (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
  return { data: rows.slice(0, limit) };
}

/** Daily candles for `params`, newest first, or null for what KuCoin refuses. */
function candles(markets, closes, params) {
  const market = markets.find((row) => row.symbol === params.get('symbol'));
  const start = Number(params.get('startAt'));
  const end = Number(params.get('endAt'));
  if (params.get('type') !== '1day' || !market || !(Number(market.last) > 0) || !Number.isInteger(start) || !Number.isInteger(end) || start > end) return null;
  const rows = [];
  for (let day = Math.floor(end / 86_400); day * 86_400 >= start && rows.length < 1_500; day -= 1) {
    const close = closes?.[market.symbol]?.[day] ?? derivedClose(market.last, day);
    rows.push([String(day * 86_400), close, close, close, close, '1', close]);
  }
  return rows;
}

export function createKucoin({ accounts = {}, markets = SAMPLE_MARKETS, clockOffsetMs = 0, closes = {}, now: clock = Date.now } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  let tickers = markets;
  const now = () => clock() + clockOffsetMs;
  const ledgerCalls = new Map(); // API key → times of the last 30 s of ledger requests
  const spotCalls = new Map(); // API key → times of the last 30 s of spot-pool requests
  /** Whether one more request of `weight` in `calls` stays within `pool` per 30 s. */
  const within = (calls, apiKey, weight, pool, at) => {
    const recent = (calls.get(apiKey) ?? []).filter((earlier) => at - earlier < POOL_WINDOW_MS);
    recent.push(at);
    calls.set(apiKey, recent);
    return recent.length * weight <= pool;
  };

  const PRIVATE = {
    '/api/v1/accounts': (account) => kucoinData(account.rows ?? []),
    '/api/v3/margin/accounts': (account, params) => {
      if (params.get('queryType') !== 'MARGIN' || params.get('quoteCurrency') !== 'USDT') return kucoinError(400, 400100, 'Parameter Error');
      const rows = (account.rows ?? []).filter((row) => row.type === 'margin');
      return kucoinData({
        totalAssetOfQuoteCurrency: '0', totalLiabilityOfQuoteCurrency: '0', debtRatio: '0', status: 'EFFECTIVE',
        accounts: rows.map(({ currency, balance, available, holds }) => ({
          currency, total: balance, available, hold: holds, liability: account.owed?.[currency] ?? '0',
          liabilityPrincipal: account.owed?.[currency] ?? '0', liabilityInterest: '0', maxBorrowSize: '0', borrowEnabled: true, transferInEnabled: true,
        })),
      });
    },
    '/api/v3/isolated/accounts': (account, params) => {
      if (params.get('queryType') !== 'ALL' || params.get('quoteCurrency') !== 'USDT') return kucoinError(400, 400100, 'Parameter Error');
      const asset = ({ currency, total, available, hold, liability }) => ({
        currency, borrowEnabled: true, transferInEnabled: true, liability, liabilityPrincipal: liability, liabilityInterest: '0', total, available, hold, maxBorrowSize: '0',
      });
      return kucoinData({
        totalAssetOfQuoteCurrency: '0', totalLiabilityOfQuoteCurrency: '0', timestamp: now(),
        assets: (account.isolated ?? []).map(({ symbol, base, quote }) => ({ symbol, status: 'EFFECTIVE', debtRatio: '0', baseAsset: asset(base), quoteAsset: asset(quote) })),
      });
    },
    '/api/v1/user/api-key': (account) => kucoinData({
      remark: 'cartera', apiKey: '6705f5c311545b000157d3eb', apiVersion: 3, permission: account.permission ?? 'General',
      ipWhitelist: '', createdAt: 1728443843000, uid: 165111215, isMaster: true,
    }),
    '/api/v1/accounts/ledgers': (account, params, apiKey) => {
      if (account.historyPermission === false) return kucoinError(401, 400007, 'Access Denied');
      const at = now();
      const recent = (ledgerCalls.get(apiKey) ?? []).filter((earlier) => at - earlier < POOL_WINDOW_MS);
      recent.push(at);
      ledgerCalls.set(apiKey, recent);
      if (recent.length * LEDGER_WEIGHT > POOL_WEIGHT) return kucoinError(429, 429000, 'Too Many Requests');
      const page = ledgerPage(account, params, at);
      return page.code ? kucoinError(400, page.code, 'Parameter Error') : kucoinData(page.data);
    },
    '/api/v1/hf/accounts/ledgers': (account, params, apiKey) => {
      if (account.historyPermission === false) return kucoinError(401, 400007, 'Access Denied');
      const at = now();
      if (!within(spotCalls, apiKey, LEDGER_WEIGHT, SPOT_POOL_WEIGHT, at)) return kucoinError(429, 429000, 'Too Many Requests');
      const page = hfLedgerPage(account, params, at);
      return page.code ? kucoinError(400, page.code, 'Parameter Error') : kucoinData(page.data);
    },
  };

  function handle(req) {
    const { method, path, headers } = req;
    const pathname = path.split('?')[0];
    const log = { method, path, host: req.host, apiKey: null, timestamp: null, authorized: null, error: null, fault: null, at: Date.now() };
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

    if (method === 'GET' && pathname === '/api/v1/timestamp') {
      return faulted(['*']) ?? finish(json(200, { code: '200000', msg: 'success', data: now() }));
    }
    if (method === 'GET' && pathname === '/api/v1/market/allTickers') {
      log.authorized = headers['kc-api-sign'] ? 'unexpected-signature' : null;
      return faulted(['tickers', '*']) ?? finish(kucoinData({ time: now(), ticker: tickers }));
    }
    if (method === 'GET' && pathname === '/api/v1/market/candles') {
      log.authorized = headers['kc-api-sign'] ? 'unexpected-signature' : null;
      const rows = candles(tickers, closes, new URLSearchParams(path.split('?')[1] ?? ''));
      return faulted(['candles', '*']) ?? finish(rows ? kucoinData(rows) : kucoinError(400, 400100, 'Parameter Error'));
    }
    const answer = PRIVATE[pathname];
    if (!answer || method !== 'GET') return finish(kucoinError(404, 404000, 'Url Not Found'));

    const apiKey = headers['kc-api-key'];
    const timestamp = headers['kc-api-timestamp'];
    log.apiKey = apiKey ?? null;
    log.timestamp = timestamp ?? null;
    if (!apiKey || !headers['kc-api-sign'] || !timestamp || !headers['kc-api-passphrase']) {
      return finish(kucoinError(401, 400001, 'Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE'));
    }
    const account = accounts[apiKey];
    if (!account) return finish(kucoinError(401, 400003, 'KC-API-KEY not exists'));
    if (!/^\d{13}$/.test(timestamp) || Math.abs(Number(timestamp) - now()) > TIME_WINDOW_MS) {
      return finish(kucoinError(401, 400002, 'Invalid KC-API-TIMESTAMP'));
    }
    log.version = headers['kc-api-key-version'] === '2';
    log.passphrase = log.version && sameSecret(headers['kc-api-passphrase'], signedPassphrase(account.secret, account.apiPassphrase));
    if (!log.passphrase) return finish(kucoinError(401, 400004, 'Invalid KC-API-PASSPHRASE'));
    log.authorized = sameSecret(headers['kc-api-sign'], sign(account.secret, timestamp, method, path, req.body ?? ''));
    if (!log.authorized) return finish(kucoinError(401, 400005, 'Invalid KC-API-SIGN'));
    return faulted([apiKey, '*']) ?? finish(answer(account, new URLSearchParams(path.split('?')[1] ?? ''), apiKey));
  }

  return {
    exchange: 'kucoin',
    hosts: HOSTS,
    handle,
    requests,
    /** Requests to the signed endpoints only. */
    privateRequests: () => requests.filter((r) => PRIVATE[r.path.split('?')[0]] !== undefined),
    /** Requests to the ledgers only (the account's and the high-frequency account's). */
    historyRequests: () => requests.filter((r) => ['/api/v1/accounts/ledgers', '/api/v1/hf/accounts/ledgers'].includes(r.path.split('?')[0])),
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
    books: () => tickers.flatMap((market) => {
      const [base, quote] = String(market.symbol).split('-');
      if (!base || !quote || !(Number(market.last) > 0)) return [];
      return [{ book: `kucoin:${market.symbol}`, base: assetCode(base), quote: assetCode(quote), last: market.last, volume: market.vol || '0',
        change: market.changePrice ?? null }];
    }),
  };
}

export default { SAMPLE_ACCOUNT, TRADING_ACCOUNT, SAMPLE_MARKETS, createKucoin, expectedHoldings };
