// A stand-in for KuCoin's spot API on https://api.kucoin.com. It checks every signed request the
// way KuCoin documents it (https://www.kucoin.com/docs-new/authentication, key version 2):
//   headers KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE, KC-API-KEY-VERSION: 2,
//   KC-API-SIGN = base64 HMAC-SHA256(secret, timestamp + method + path with query + body),
//   KC-API-TIMESTAMP in ms, within 5 s of the mock's clock (400002),
//   KC-API-PASSPHRASE = base64 HMAC-SHA256(secret, the key's passphrase) (400004),
// with node:crypto and constant-time comparisons. Its clock may be set off from the real one
// (`clockOffsetMs`), as KuCoin's is from a computer's that is wrong: /api/v1/timestamp tells it.
//
//   const kucoin = createKucoin({ accounts: { [apiKey]: account }, markets, clockOffsetMs });
//   kucoin.requests, kucoin.privateRequests(), kucoin.setFault(apiKey | 'tickers' | '*', fault | null, { times }),
//   kucoin.clearFaults(), kucoin.setAccount(apiKey, account), kucoin.setMarkets(rows), kucoin.books()
//
// An account is { secret, apiPassphrase (the key's own KuCoin Passphrase), permission, rows }:
// `permission` as /api/v1/user/api-key sends it ('General', 'General,Spot'), `rows` exactly as
// /api/v1/accounts sends them ({ id, currency, type, balance, available, holds }). Markets are rows
// of /api/v1/market/allTickers ({ symbol, last, changePrice, vol, … }).
//
// Faults (targets: an API key, 'tickers', '*'), each KuCoin's own answer
// (https://www.kucoin.com/docs-new/error-code/spot):
//   'error:credentials' 401 400003, 'error:signature' 401 400005, 'error:passphrase' 401 400004,
//   'error:timestamp' 401 400002, 'error:permission' 401 400007, 'error:ip' 401 400006,
//   'error:ratelimit' 429 429000, 'error:maintenance' 503 503000, 'malformed' (truncated JSON),
//   'timeout' (never answers), 'redirect' (302 to another host).

import { createHmac, timingSafeEqual } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultTable, redirectResponse } from '../mock-server.mjs';

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
  for (const { currency, balance } of account.rows ?? []) {
    const code = assetCode(currency);
    totals.set(code, (totals.get(code) ?? new Q(0n)).add(Q.parse(balance)));
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

export function createKucoin({ accounts = {}, markets = SAMPLE_MARKETS, clockOffsetMs = 0 } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  let tickers = markets;
  const now = () => Date.now() + clockOffsetMs;

  const PRIVATE = {
    '/api/v1/accounts': (account) => kucoinData(account.rows ?? []),
    '/api/v1/user/api-key': (account) => kucoinData({
      remark: 'cartera', apiKey: '6705f5c311545b000157d3eb', apiVersion: 3, permission: account.permission ?? 'General',
      ipWhitelist: '', createdAt: 1728443843000, uid: 165111215, isMaster: true,
    }),
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
    log.passphrase = log.version && same(headers['kc-api-passphrase'], signedPassphrase(account.secret, account.apiPassphrase));
    if (!log.passphrase) return finish(kucoinError(401, 400004, 'Invalid KC-API-PASSPHRASE'));
    log.authorized = same(headers['kc-api-sign'], sign(account.secret, timestamp, method, path, req.body ?? ''));
    if (!log.authorized) return finish(kucoinError(401, 400005, 'Invalid KC-API-SIGN'));
    return faulted([apiKey, '*']) ?? finish(answer(account));
  }

  return {
    exchange: 'kucoin',
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
