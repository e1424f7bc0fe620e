// A stand-in for https://api.bybit.com (V5). Every signed request is checked the way Bybit
// documents it (https://bybit-exchange.github.io/docs/v5/guide#create-a-request):
//   headers X-BAPI-API-KEY, X-BAPI-TIMESTAMP (ms), X-BAPI-RECV-WINDOW (default 5000),
//   X-BAPI-SIGN = hex HMAC-SHA256(secret, timestamp + key + recv_window + query string as sent),
//   and server_time − recv_window ≤ timestamp < server_time + 1000. There is no nonce.
//
//   const bybit = createBybit({ accounts: { [apiKey]: account }, markets, clockOffsetMs });
//   bybit.requests, bybit.signedRequests(), bybit.setFault(target, fault | null, { times }),
//   bybit.clearFaults(), bybit.setAccount(apiKey, account), bybit.setMarkets(markets),
//   bybit.setClockOffset(ms), bybit.now(), bybit.books()
//
// An account is { secret, readOnly, permissions, unified, fund }: `unified` are coin rows of
// /v5/account/wallet-balance?accountType=UNIFIED and `fund` balance rows of
// /v5/asset/transfer/query-account-coins-balance?accountType=FUND, in Bybit's own shapes;
// `readOnly` (1 or 0) and `permissions` are what /v5/user/query-api reports for the key.
// A market is [symbol, baseCoin, quoteCoin, lastPrice, volume24h, prevPrice24h]; the base and
// quote play instruments-info's part for books() and are not in the ticker answer.
//
// Paths: GET /v5/market/time, GET /v5/market/tickers?category=spot, and signed GETs
// /v5/account/wallet-balance, /v5/asset/transfer/query-account-coins-balance, /v5/user/query-api.
//
// Transaction history: an account may also carry `history` and `historyPermission`:
//   history: { log: [transaction-log rows], deposits: [deposit-record rows], withdrawals: [withdraw-record rows] }
// in Bybit's own shapes, served by the signed GETs /v5/account/transaction-log (accountType
// UNIFIED), /v5/asset/deposit/query-record and /v5/asset/withdraw/query-record as Bybit pages
// them: startTime and endTime both given (the adapter always sends both), at most 7 days apart
// for the log and less than 30 days for the records, the log no earlier than two years back (the
// records' pages state no bound); rows in the
// window newest first (log: transactionTime; deposits: successAt; withdrawals: createTime, and
// only withdrawType 2 lists internal ones as well), `limit` 1 to 50, `nextPageCursor` an opaque
// token (the log's already escaped, the records' base64). historyPermission: false answers the
// three with 10005. Each allows what Bybit's table allows per account and second (the log 30, the
// records 5); the next one within the second answers 10006.
// Public GET /v5/market/kline?category=spot&interval=D: a market's daily candles, `start` to
// `end`, at most `limit` (≤ 1000), newest first; the close of a day is `closes[symbol][day]`
// where the stand-in was given one, else derivedClose(lastPrice, day).
//
// Fault targets: an API key, 'time', 'tickers', 'kline', 'unified', 'fund', 'key', 'history', or '*'. Faults:
//   'error:<code>'      HTTP 200 {"retCode": <code>, "retMsg": …} (10003, 10004, 10002, 10005,
//                       10010, 10006, 10016, 10008, 33004, …)
//   'ip-limit'          the edge's HTTP 403 "access too frequent"
//   'geo'               the edge's bare HTTP 403 for a country Bybit does not serve
//   'retry-after:<v>'   HTTP 429 with that Retry-After header
//   'http:<status>'     that status with a plain-text body
//   'malformed'         truncated JSON; 'huge' a body far larger than any real answer
//   'timeout'           never answers; 'redirect' 302 to another host

import { createHmac, timingSafeEqual } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultTable, TRANSPORT_FAULTS } from '../mock-server.mjs';

export const HOST = 'api.bybit.com';
export const DEFAULT_RECV_WINDOW = 5000;

/** Bybit's messages for the retCodes the mock sends (https://bybit-exchange.github.io/docs/v5/error). */
export const ERROR_MESSAGES = {
  10001: 'Request parameter error.',
  10002: 'The request time exceeds the time window range.',
  10003: 'API key is invalid.',
  10004: 'Error sign, please check your signature generation algorithm.',
  10005: 'Permission denied, please check your API key permissions.',
  10006: 'Too many visits. Exceeded the API Rate Limit.',
  10008: 'Common banned, please check your account mode',
  10009: 'Service Restricted: Access is currently unavailable for your region.',
  10010: 'Unmatched IP, please check your API key\'s bound IP addresses.',
  10016: 'Server error.',
  33004: 'Your api key has expired',
};

/** The signature Bybit expects, as lowercase hex. */
export function sign(secret, timestamp, apiKey, recvWindow, query) {
  return createHmac('sha256', secret).update(`${timestamp}${apiKey}${recvWindow}${query}`).digest('hex');
}

const READ_ONLY_PERMISSIONS = {
  ContractTrade: ['Order', 'Position'], Spot: ['SpotTrade'], Wallet: ['AccountTransfer', 'SubMemberTransfer'],
  Options: [], Derivatives: ['DerivativesTrade'], CopyTrading: [], BlockTrade: [], Exchange: ['ExchangeHistory'],
  NFT: [], Affiliate: [], Earn: [],
};

const unifiedCoin = (coin, walletBalance, locked = '0', spotBorrow = '0') => ({
  availableToBorrow: '', bonus: '0', accruedInterest: '0', availableToWithdraw: '', totalOrderIM: '0', equity: walletBalance,
  totalPositionMM: '0', usdValue: '0', spotHedgingQty: '0', unrealisedPnl: '0', collateralSwitch: true,
  borrowAmount: spotBorrow, totalPositionIM: '0', walletBalance, cumRealisedPnl: '0', locked, marginCollateral: true, coin, spotBorrow,
});

// Obviously fake credentials, shaped like Bybit's HMAC keys (18 and 36 letters and digits).
export const SAMPLE_ACCOUNT = {
  label: 'Bybit unified',
  apiKey: 'CarteraMockBybit01',
  secret: 'CarteraMockBybitSecretNotReal0000000',
  // A read-only key: its lists name trading and transfers, which it can then only read.
  readOnly: 1,
  permissions: READ_ONLY_PERMISSIONS,
  unified: [
    unifiedCoin('BTC', '0.4213', '0.02'),
    unifiedCoin('ETH', '3.5', '0', '0.5'), // 0.5 borrowed on spot margin: owed, not held
    unifiedCoin('USDT', '1520.75', ''),
    unifiedCoin('MNT', '800'), // Mantle, Bybit's own token
    unifiedCoin('SOL', '0'),
  ],
  fund: [
    { coin: 'USDT', transferBalance: '250', walletBalance: '300', bonus: '' },
    { coin: 'BTC', transferBalance: '0.0087', walletBalance: '0.0087', bonus: '' },
    { coin: 'USDC', transferBalance: '0', walletBalance: '0', bonus: '' },
  ],
};

/** The sample account's key as a read-write key that can trade and withdraw. */
export const TRADING_PERMISSIONS = { ...READ_ONLY_PERMISSIONS, Wallet: ['AccountTransfer', 'Withdraw'] };

// [symbol, baseCoin, quoteCoin, lastPrice, volume24h (base), prevPrice24h]
export const SAMPLE_MARKETS = [
  ['BTCUSDT', 'BTC', 'USDT', '98120.5', '11801.27771', '97010.1'],
  ['ETHUSDT', 'ETH', 'USDT', '3551.42', '201234.5', '3498.9'],
  ['ETHBTC', 'ETH', 'BTC', '0.03619', '3120.77', '0.0361'],
  ['MNTUSDT', 'MNT', 'USDT', '0.8612', '41234567.1', '0.8701'],
  ['SOLUSDT', 'SOL', 'USDT', '201.35', '912345.2', '198.4'],
  ['USDCUSDT', 'USDC', 'USDT', '0.9998', '512345678', '0.9999'],
  ['BTCEUR', 'BTC', 'EUR', '90510.2', '120.4', '90011'],
  ['USDTEUR', 'USDT', 'EUR', '0.9221', '9123456', '0.9230'],
  ['USDTBRL', 'USDT', 'BRL', '5.812', '8123456', '5.8'],
  ['BTCBRL', 'BTC', 'BRL', '570100', '31.25', '568000'],
];

/**
 * What an account holds per Cartera asset code ({ asset: decimalString }), from the rules,
 * independently of the Rust code: each Unified coin's walletBalance less its spotBorrow (never
 * below zero), plus each Funding coin's walletBalance; codes lowercase; zero totals dropped.
 */
export function expectedHoldings(account) {
  const totals = new Map();
  const add = (coin, amount) => totals.set(coin.toLowerCase(), (totals.get(coin.toLowerCase()) ?? new Q(0n)).add(amount));
  for (const row of account.unified) {
    const held = minus(Q.parse(row.walletBalance), Q.parse(row.spotBorrow || '0'));
    add(row.coin, held.n < 0n ? new Q(0n) : held);
  }
  for (const row of account.fund) add(row.coin, Q.parse(row.walletBalance));
  return Object.fromEntries([...totals].filter(([, total]) => !total.isZero()).map(([asset, total]) => [asset, total.toDecimal()]));
}

const minus = (a, b) => a.add(b.mul(new Q(-1n)));

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

/** Bybit's answer: HTTP 200 with a retCode, `result` and the server time. */
function answer(retCode, result, now = Date.now()) {
  return json(200, { retCode: Number(retCode), retMsg: retCode === 0 ? 'OK' : ERROR_MESSAGES[retCode] ?? 'error', result, retExtInfo: {}, time: now });
}

const NAMED_FAULTS = {
  ...TRANSPORT_FAULTS,
  'ip-limit': () => ({ status: 403, type: 'text/plain', body: '403, access too frequent' }),
  geo: () => ({ status: 403, type: 'text/html', body: '<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center></body></html>' }),
  malformed: () => ({ status: 200, body: '{"retCode":0,"retMsg":"OK","result":{"list":[{"coin":[{"coin":"BTC"' }),
  huge: () => ({ status: 200, body: `{"retCode":0,"retMsg":"${'x'.repeat(9 * 1024 * 1024)}","result":{}}` }),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault) {
  if (NAMED_FAULTS[fault]) return NAMED_FAULTS[fault]();
  let m = /^error:(-?\d{1,6})$/.exec(fault);
  if (m) return answer(Number(m[1]), {});
  m = /^retry-after:(.+)$/.exec(fault);
  if (m) return { status: 429, type: 'text/plain', body: '429 Too Many Requests', headers: { 'retry-after': m[1] } };
  m = /^http:(\d{3})$/.exec(fault);
  if (m) return { status: Number(m[1]), type: 'text/plain', body: `${m[1]} error` };
  throw new Error(`unknown fault ${fault}`);
}

const SIGNED_PATHS = {
  '/v5/account/wallet-balance': 'unified',
  '/v5/asset/transfer/query-account-coins-balance': 'fund',
  '/v5/user/query-api': 'key',
};

export const DAY_MS = 86_400_000;
const TWO_YEARS_MS = 730 * DAY_MS;

/** A day's close derived from today's price: a slow wave around it, exact to 8 decimals. */
export function derivedClose(lastPrice, day) {
  const scaled = BigInt(Math.round(Number(lastPrice) * 1e8));
  const percent = BigInt(90 + (day % 21));
  return (Number((scaled * percent) / 100n) / 1e8).toFixed(8);
}

/** Each history source: its account member, the time its window filters on, its widest window,
 * its rows' member in `result`, and the requests it allows per account and second. */
const HISTORY = {
  '/v5/account/transaction-log': { source: 'log', time: 'transactionTime', windowMs: 7 * DAY_MS, list: 'list', perSecond: 30 },
  '/v5/asset/deposit/query-record': { source: 'deposits', time: 'successAt', windowMs: 30 * DAY_MS - 1, list: 'rows', perSecond: 5 },
  '/v5/asset/withdraw/query-record': { source: 'withdrawals', time: 'createTime', windowMs: 30 * DAY_MS - 1, list: 'rows', perSecond: 5 },
};

/** The log's page tokens come escaped (`12%3A0`, read back as `12:0`), the records' in base64. */
const logToken = (offset) => `${offset}%3A0%2C${offset}%3A0`;
const recordToken = (offset) => Buffer.from(JSON.stringify({ offset })).toString('base64');
function tokenOffset(source, token) {
  if (!token) return 0;
  try {
    const offset = source === 'log' ? Number(token.split(':')[0]) : JSON.parse(Buffer.from(token, 'base64').toString()).offset;
    return Number.isInteger(offset) && offset > 0 ? offset : null;
  } catch {
    return null;
  }
}

/** One page of a history source for `params`, or the retCode that refuses them. */
export function historyPage(account, pathname, params, now = Date.now()) {
  const spec = HISTORY[pathname];
  if (spec.source === 'log' && params.get('accountType') !== 'UNIFIED') return { code: 10001 };
  const start = Number(params.get('startTime'));
  const end = Number(params.get('endTime'));
  const limit = Number(params.get('limit') ?? 20);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start > end || end - start > spec.windowMs) return { code: 10001 };
  if ((spec.source === 'log' && start < now - TWO_YEARS_MS) || !(Number.isInteger(limit) && limit >= 1 && limit <= 50)) return { code: 10001 };
  const offset = tokenOffset(spec.source, params.get('cursor'));
  if (offset === null) return { code: 10001 };
  const internal = spec.source !== 'withdrawals' || params.get('withdrawType') === '2';
  const rows = (account.history?.[spec.source] ?? [])
    .filter((row) => Number(row[spec.time]) >= start && Number(row[spec.time]) <= end && (internal || row.withdrawType === 0))
    .sort((a, b) => Number(b[spec.time]) - Number(a[spec.time]));
  const page = rows.slice(offset, offset + limit);
  const more = offset + limit < rows.length;
  const token = more ? (spec.source === 'log' ? logToken(offset + limit) : recordToken(offset + limit)) : '';
  return { result: { [spec.list]: page, nextPageCursor: token } };
}

/** Daily candles of `symbol` for `params`, newest first, or the retCode that refuses them. */
function klines(markets, closes, params) {
  const market = markets.find(([symbol]) => symbol === params.get('symbol'));
  const start = Number(params.get('start'));
  const end = Number(params.get('end'));
  const limit = Number(params.get('limit') ?? 200);
  if (params.get('category') !== 'spot' || params.get('interval') !== 'D' || !market) return { code: 10001 };
  if (!Number.isInteger(start) || !Number.isInteger(end) || start > end || !(limit >= 1 && limit <= 1000)) return { code: 10001 };
  const list = [];
  for (let day = Math.floor(end / DAY_MS); day * DAY_MS >= start && list.length < limit; day -= 1) {
    const close = closes?.[market[0]]?.[day] ?? derivedClose(market[3], day);
    list.push([String(day * DAY_MS), close, close, close, close, '1', close]);
  }
  return { result: { symbol: market[0], category: 'spot', list } };
}

export function createBybit({ accounts = {}, markets = SAMPLE_MARKETS, clockOffsetMs = 0, now: clock = Date.now, closes = {} } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  let listed = markets;
  let offset = clockOffsetMs;
  const now = () => clock() + offset;
  const historyCalls = new Map(); // `${apiKey} ${path}` → times of the last second's requests

  function signedResult(target, account, params) {
    if (target === 'key') {
      return { readOnly: account.readOnly ?? 1, permissions: account.permissions ?? READ_ONLY_PERMISSIONS, apiKey: account.apiKey, secret: '', ips: ['*'], uta: 1, isMaster: true };
    }
    if (target === 'unified') {
      if (params.get('accountType') !== 'UNIFIED') return null;
      return { list: [{ accountType: 'UNIFIED', totalEquity: '0', totalWalletBalance: '0', coin: account.unified.filter((row) => row.walletBalance !== '0') }] };
    }
    if (params.get('accountType') !== 'FUND') return null;
    return { memberId: '1448939', accountType: 'FUND', balance: account.fund };
  }

  function handle(req) {
    const { method, path } = req;
    const [pathname, query = ''] = path.split(/\?(.*)/s);
    const params = new URLSearchParams(query);
    const log = { method, path, host: req.host, apiKey: null, timestamp: null, authorized: null, error: null, fault: null, at: Date.now() };
    requests.push(log);
    const finish = (response) => {
      if (response.hang) log.error = 'timeout';
      else if (response.status >= 300) log.error = `http:${response.status}`;
      else {
        try {
          const code = JSON.parse(response.body).retCode;
          if (code !== 0) log.error = String(code);
        } catch {
          log.error = 'malformed';
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
    if (method !== 'GET') return finish({ status: 404, type: 'text/plain', body: 'Not Found' });

    if (pathname === '/v5/market/kline') {
      log.authorized = req.headers['x-bapi-sign'] ? 'unexpected-signature' : null;
      const fault = faulted(['kline', '*']);
      if (fault) return fault;
      const page = klines(listed, closes, params);
      return finish(page.code ? answer(page.code, {}, now()) : answer(0, page.result, now()));
    }

    if (pathname === '/v5/market/time' || pathname === '/v5/market/tickers') {
      log.authorized = req.headers['x-bapi-sign'] ? 'unexpected-signature' : null;
      const fault = faulted([pathname.endsWith('time') ? 'time' : 'tickers', '*']);
      if (fault) return fault;
      const at = now();
      if (pathname.endsWith('time')) {
        return finish(answer(0, { timeSecond: String(Math.floor(at / 1000)), timeNano: `${at}000000` }, at));
      }
      if (params.get('category') !== 'spot') return finish(answer(10001, {}));
      const list = listed.map(([symbol, , , lastPrice, volume24h, prevPrice24h]) => ({
        symbol, bid1Price: lastPrice, bid1Size: '1', ask1Price: lastPrice, ask1Size: '1', lastPrice, prevPrice24h,
        price24hPcnt: '0', highPrice24h: lastPrice, lowPrice24h: lastPrice, turnover24h: '0', volume24h, usdIndexPrice: '',
      }));
      return finish(answer(0, { category: 'spot', list }, at));
    }

    const target = SIGNED_PATHS[pathname] ?? (HISTORY[pathname] ? 'history' : undefined);
    if (!target) return finish({ status: 404, type: 'text/plain', body: 'Not Found' });
    const apiKey = req.headers['x-bapi-api-key'];
    const timestamp = req.headers['x-bapi-timestamp'];
    const recvWindow = req.headers['x-bapi-recv-window'] ?? String(DEFAULT_RECV_WINDOW);
    const signature = req.headers['x-bapi-sign'];
    log.apiKey = apiKey ?? null;
    log.timestamp = timestamp ?? null;
    const account = apiKey ? accounts[apiKey] : undefined;
    if (!account || !timestamp || !signature) {
      log.authorized = false;
      return finish(answer(10003, {}));
    }
    const expected = Buffer.from(sign(account.secret, timestamp, apiKey, recvWindow, query), 'hex');
    const given = Buffer.from(/^[0-9a-f]+$/.test(signature) ? signature : '', 'hex');
    log.authorized = given.length === expected.length && timingSafeEqual(given, expected);
    if (!log.authorized) return finish(answer(10004, {}));
    const at = now();
    const stamp = Number(timestamp);
    const window = Number(recvWindow);
    if (!/^\d{13}$/.test(timestamp) || !(window > 0) || stamp < at - window || stamp >= at + 1000) return finish(answer(10002, {}));
    const fault = faulted([apiKey, target, '*']);
    if (fault) return fault;
    if (target === 'history') {
      if (account.historyPermission === false) return finish(answer(10005, {}, at));
      const key = `${apiKey} ${pathname}`;
      const recent = (historyCalls.get(key) ?? []).filter((earlier) => at - earlier < 1_000);
      recent.push(at);
      historyCalls.set(key, recent);
      if (recent.length > HISTORY[pathname].perSecond) return finish(answer(10006, {}, at));
      const page = historyPage(account, pathname, params, at);
      return finish(page.code ? answer(page.code, {}, at) : answer(0, page.result, at));
    }
    const result = signedResult(target, account, params);
    return finish(result ? answer(0, result, at) : answer(10001, {}));
  }

  return {
    exchange: 'bybit',
    hosts: [HOST],
    handle,
    requests,
    /** The signed requests only. */
    signedRequests: () => requests.filter((r) => SIGNED_PATHS[r.path.split('?')[0]] !== undefined),
    /** Requests to the history endpoints only. */
    historyRequests: () => requests.filter((r) => HISTORY[r.path.split('?')[0]] !== undefined),
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    setMarkets(rows) {
      listed = rows;
    },
    /** Puts the mock's clock `ms` ahead of the computer's (behind when negative). */
    setClockOffset(ms) {
      offset = ms;
    },
    now,
    /** The spot markets, normalised for the independent valuation (tests/e2e/expected.mjs). */
    books: () => listed.filter((row) => Number(row[3]) > 0).map(([symbol, base, quote, last, volume, previous]) => ({
      book: `bybit:${symbol}`,
      base: base.toLowerCase(),
      quote: quote.toLowerCase(),
      last,
      volume,
      change: minus(Q.parse(last), Q.parse(previous)).toDecimal(),
    })),
  };
}

export default { SAMPLE_ACCOUNT, SAMPLE_MARKETS, createBybit, expectedHoldings };
