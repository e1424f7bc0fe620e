// A stand-in for Bitfinex's API v2: https://api.bitfinex.com (authenticated) and
// https://api-pub.bitfinex.com (public). It checks every signature the way Bitfinex documents it
// (https://docs.bitfinex.com/docs/rest-auth):
//   POST /v2/auth/r/<endpoint>, headers bfx-nonce, bfx-apikey, bfx-signature,
//   bfx-signature = hex HMAC-SHA384(secret, '/api' + path + nonce + body), body sent as signed,
// and each key's nonce must be larger than the last one it accepted and below 2^53.
//
//   const bitfinex = createBitfinex({ accounts: { [apiKey]: account }, markets, closes, now });
//   bitfinex.requests, bitfinex.authRequests(), bitfinex.setFault(apiKey | 'tickers' | '*', fault | null, { times }),
//   bitfinex.clearFaults(), bitfinex.setAccount(apiKey, account), bitfinex.setMarkets(rows), bitfinex.books()
//
// An account is { secret, wallets, canTrade?, canWithdraw?, canTransfer?, walletsRead? }: `wallets`
// are rows exactly as /v2/auth/r/wallets sends them, [TYPE, CURRENCY, BALANCE, UNSETTLED_INTEREST,
// AVAILABLE, LAST_CHANGE, META] with JSON numbers (JSON.stringify writes tiny ones in exponent
// form, 3.8e-7, as Bitfinex does). The flags set the key's write rights in /v2/auth/r/permissions
// (canTrade: orders, positions, funding; canWithdraw: withdraw; canTransfer: wallets);
// walletsRead: false makes the key unable to read wallets (10001 "api_key: permission invalid").
// Markets are rows exactly as /v2/tickers?symbols=ALL sends them (trading and funding tickers).
//
// Transaction history: an account may also carry `history` and `historyPermission`:
//   history: {
//     trades: [[ID, SYMBOL, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE, ORDER_PRICE, MAKER,
//               FEE, FEE_CURRENCY, CID], …],                     // /v2/auth/r/trades/hist
//     movements: [[ID, CURRENCY, CURRENCY_NAME, null, null, MTS_STARTED, MTS_UPDATED, null, null,
//                  STATUS, null, null, AMOUNT, FEES, …22 fields], …], // /v2/auth/r/movements/hist
//     ledgers: { [category]: [[ID, CURRENCY, WALLET, MTS, null, AMOUNT, BALANCE, null,
//                              DESCRIPTION], …] },              // /v2/auth/r/ledgers/hist
//   }
// rows exactly as Bitfinex sends them (the ledger's rows do not carry their category, so they are
// kept under it). The three endpoints page as Bitfinex documents: body { start, end, limit }
// in ms, inclusive, on MTS (trades, ledgers) or MTS_UPDATED (movements); newest first (trades
// also take `sort: 1`, oldest first); `limit` up to 2,500 (default 25); ledgers filter on
// `category` and `wallet`. historyPermission: false unticks "Account History": the permissions
// list says ['history', 0, 0] and the three endpoints answer 10001 "api_key: permission invalid".
// Each history endpoint allows 90 requests a minute per key; the 91st within 60 s answers the
// edge's 429 {"error":"ERR_RATE_LIMIT"} (https://docs.bitfinex.com/reference/rest-auth-ledgers).
// `now` (ms) is the mock's clock, injectable (the benchmark simulates time).
//
// Daily candles: GET /v2/candles/trade:1D:<symbol>/hist?start&end&limit&sort on api-pub, rows
// [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME] (https://docs.bitfinex.com/reference/rest-public-candles),
// one per UTC day up to today, newest first unless sort=1, `limit` up to 10,000 (default 100).
// A day's close comes from `closes` ({ [symbol]: { [YYYY-MM-DD]: "decimal" } }, given to
// createBitfinex or setCloses) or else is derived from the ticker's last price:
// closeOn(symbol, day) = LAST × (990 + day mod 21) / 1000, exact. A symbol with neither is [].
//
// Paths served: POST /v2/auth/r/wallets, /v2/auth/r/permissions, /v2/auth/r/trades/hist,
// /v2/auth/r/movements/hist and /v2/auth/r/ledgers/hist on api.bitfinex.com; GET
// /v2/tickers?symbols=ALL (or a list of symbols) and /v2/candles/… on api-pub.bitfinex.com only,
// so a client asking the wrong host shows up as a 404.
//
// Faults (targets: an API key, 'tickers', 'candles', '*'):
//   'error:credentials'  500 ["error",10100,"apikey: invalid"]
//   'error:signature'    500 ["error",10100,"apikey: digest invalid"]
//   'error:nonce'        500 ["error",10114,"nonce: small"]
//   'error:permission'   500 ["error",10001,"api_key: permission invalid"]
//   'error:generic'      500 ["error",10001,"amount: invalid"] (10001 without a permission message)
//   'error:ratelimit'    500 ["error",11010,"ratelimit: error"]
//   'error:edge-ratelimit' 429 {"error":"ERR_RATE_LIMIT"} (the edge's IP block, no Retry-After)
//   'error:maintenance'  500 ["error",20060,"maintenance"]
//   'error:unavailable'  503 {"code":503,"error":"temporarily_unavailable",…}
//   'error:<code>'       500 ["error",<code>,<its message>] for any numeric code
//   'http:<status>'      that status with a plain-text body; 'http:<status>:<code>' with an error array
//   'html<status>'       Cloudflare's HTML error page ('html403', 'html502')
//   'retry-after:<value>' 429 with that Retry-After header
//   'timeout' (never answers), 'malformed' (truncated JSON), 'redirect' (302 to another host),
//   'huge' (a body far larger than any real answer).

import { createHmac, timingSafeEqual } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultTable, TRANSPORT_FAULTS } from '../mock-server.mjs';

export const AUTH_HOST = 'api.bitfinex.com';
export const PUBLIC_HOST = 'api-pub.bitfinex.com';
export const HOSTS = [AUTH_HOST, PUBLIC_HOST];

/** Bitfinex's messages for the error codes the mock sends. */
export const ERROR_MESSAGES = {
  10001: 'amount: invalid',
  10020: 'symbols: invalid',
  10100: 'apikey: invalid',
  10114: 'nonce: small',
  11010: 'ratelimit: error',
  20060: 'maintenance',
};

/** Bitfinex wants nonces below Number.MAX_SAFE_INTEGER + 1. */
export const MAX_NONCE = 2n ** 53n;

/** The signature Bitfinex expects, as lowercase hex. */
export function sign(secret, path, nonce, body) {
  return createHmac('sha384', secret).update(`/api${path}${nonce}${body}`).digest('hex');
}

// Obviously fake credentials: the mock is the only place they are accepted.
export const SAMPLE_ACCOUNT = {
  label: 'Bitfinex trading',
  apiKey: 'mock-bitfinex-key-0000000000000000000000000',
  secret: 'mock-bitfinex-secret-not-real-000000000000000',
  canTrade: false,
  canWithdraw: false,
  canTransfer: false,
  wallets: [
    ['exchange', 'BTC', 0.5213, 0, 0.5013, 'Exchange 0.02 BTC for USD @ 101500.0 on wallet exchange', null],
    ['exchange', 'ETH', 4.25, 0, 4.25, null, null],
    ['exchange', 'UST', 1200.5, 0, 1200.5, null, null], // Tether USDt
    ['exchange', 'UDC', 250, 0, null, null, null], // USDC; AVAILABLE not fresh enough: null
    ['exchange', 'DOGE', 1500, 0, 1500, null, null],
    ['exchange', 'TESTBTC', 10, 0, 10, null, null], // paper trading: not money
    ['exchange', 'EUR', 0, 0, 0, null, null], // zero: hidden
    ['margin', 'BTC', 0.1, 0, 0.05, null, { reason: 'TRADE', order_id: 180573948261, order_cid: 1731349200000 }],
    ['margin', 'USD', 2000, 0, 1500, null, null],
    ['margin', 'USTF0', 300.25, 0, 300.25, null, null], // derivatives collateral, USDt underneath
    ['funding', 'USD', 5000, 0.35, 1000, 'Margin Funding Payment on wallet funding', null], // 4000 lent out
    ['funding', 'UST', 3.8e-7, 0, 3.8e-7, null, null], // dust, sent in exponent form
  ],
};

// A year of history in Bitfinex's own row shapes, for an account's `history` (not part of
// SAMPLE_ACCOUNT, whose balances it does not claim to explain). Times are ms since the epoch.
export const SAMPLE_HISTORY = {
  trades: [
    // 2025-06-10T12:00:00Z: sold 0.01 BTC for USD as a maker, fee in USD.
    [1408000004, 'tBTCUSD', 1749556800000, 190000000004, -0.01, 108000, 'EXCHANGE LIMIT', 108000, 1, -0.864, 'USD', 1749556790000],
    // 2025-04-01T00:00:00Z: a margin fill (a position, not an exchange of assets).
    [1408000003, 'tBTCUSD', 1743465600000, 190000000003, 0.1, 82000, 'LIMIT', 82000, -1, -16.4, 'USD', 1743465590000],
    // 2025-03-01T08:00:00Z: bought 2 ETH with UST (Tether), fee in ETH.
    [1408000002, 'tETHUST', 1740816000000, 190000000002, 2, 2200.5, 'EXCHANGE MARKET', null, -1, -0.004, 'ETH', 1740815990000],
    // 2025-01-15T09:00:00Z: bought 0.5 BTC with USD, fee in BTC.
    [1408000001, 'tBTCUSD', 1736931600000, 190000000001, 0.5, 95000, 'EXCHANGE MARKET', null, -1, -0.001, 'BTC', 1736931590000],
  ],
  movements: [
    // 2025-05-05T14:00:00Z: a withdrawal still pending.
    [23000003, 'BTC', 'BITCOIN', null, null, 1746450000000, 1746453600000, null, null, 'PENDING', null, null, -0.05, -0.0004,
      null, null, 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh', null, null, null, null, null],
    // 2025-02-10T11:00:00Z: 5,000 UST in.
    [23000002, 'UST', 'TETHERUSE', null, null, 1739180000000, 1739185200000, null, null, 'COMPLETED', null, null, 5000, 0,
      null, null, '0x71c7656ec7ab88b098defb751b7401b5f6d8976f', null, null, null, '0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060', null],
    // 2025-01-02T03:04:05Z: 60,000 USD wired in.
    [23000001, 'USD', 'US DOLLAR', null, null, 1735700000000, 1735787045000, null, null, 'COMPLETED', null, null, 60000, 0,
      null, null, null, null, null, null, null, null],
  ],
  ledgers: {
    // Staking payments (2025-05-06, 2025-06-01).
    262: [
      [9100000002, 'ETH', 'exchange', 1748736000000, null, 0.0021, 1.9981, null, 'Staking Payment on wallet exchange'],
      [9100000001, 'ETH', 'exchange', 1746489600000, null, 0.002, 1.996, null, 'Staking Payment on wallet exchange'],
    ],
    // Interest on lent USD, and a swap payment on a margin position (2025-06-02, 2025-04-02).
    28: [
      [9200000002, 'USD', 'funding', 1748822400000, null, 1.23456789, 5001.23456789, null, 'Margin Funding Payment on wallet funding'],
      [9200000001, 'USD', 'margin', 1743588900000, null, -0.75, 1999.25, null, 'Swap Payment on wallet margin'],
    ],
    // An affiliate rebate (2025-03-01T00:00:00Z).
    241: [[9300000001, 'USD', 'exchange', 1740787200000, null, 0.42, 100.42, null, 'Earned fee shared on wallet exchange']],
    // A transfer between wallets: two rows that move nothing in total (2025-03-20T00:00:00Z).
    51: [
      [9400000002, 'USD', 'funding', 1742428800000, null, 5000, 5000, null, 'Transfer of 5000.0 USD from wallet Exchange to Deposit on wallet funding'],
      [9400000001, 'USD', 'exchange', 1742428800000, null, -5000, 7500, null, 'Transfer of 5000.0 USD from wallet Exchange to Deposit on wallet exchange'],
    ],
  },
};

// [SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]
// for trading pairs; funding tickers (f…) have 17 fields.
export const SAMPLE_MARKETS = [
  ['tBTCUSD', 101490, 12.51984302, 101500, 9.84201273, -310.75, -0.0031, 101500.25, 1523.40827391, 102800, 100200],
  ['tETHUSD', 3550, 120.5, 3550.2, 98.1, 48.2, 0.0138, 3550.1, 21034.55012, 3600, 3480],
  ['tUSTUSD', 1.0002, 2500000, 1.0003, 1800000, 0.0001, 0.0001, 1.0003, 5123456.7, 1.0008, 0.9995],
  ['tUDCUSD', 0.99995, 800000, 1.0001, 750000, 0, 0, 1, 912345.5, 1.0003, 0.9996],
  ['tBTCUST', 101440, 3.2, 101460, 2.9, -295, -0.0029, 101450, 330.12, 102750, 100150],
  ['tETHUST', 3548, 40.2, 3549, 38.7, 47.5, 0.0136, 3548.5, 5120.75, 3598, 3479],
  ['tBTCEUR', 93500, 1.5, 93520, 1.1, 120, 0.0013, 93510, 85.3, 94000, 92800],
  ['tEURUST', 1.0541, 350000, 1.0543, 320000, -0.0008, -0.0008, 1.0542, 1250000.5, 1.0561, 1.0529],
  ['tDOGE:USD', 0.32145, 150000, 0.3216, 140000, 0.0041, 0.0129, 0.3216, 4567890.1, 0.3301, 0.3112],
  ['tSHIB:USD', 1.234e-5, 1000000000, 1.236e-5, 900000000, 2.1e-7, 0.0173, 1.235e-5, 98000000000, 1.25e-5, 1.2e-5],
  ['fUSD', 0.0002, 0.00019, 30, 1523.4, 0.00021, 2, 50000, -0.00001, -0.05, 0.0002, 1234567, 0.00025, 0.00015, null, null, 9876543.2],
  ['fUST', 0.00015, 0.00014, 30, 800.1, 0.00016, 2, 20000, 0.00001, 0.07, 0.00016, 654321, 0.0002, 0.0001, null, null, 4321987.6],
  ['tTESTBTC:TESTUSD', 101490, 1, 101500, 1, 0, 0, 101500, 10, 101600, 101400], // paper trading
  ['tBTCF0:USTF0', 101480, 20, 101490, 18, -300, -0.003, 101485, 2500.5, 102700, 100100], // perpetual
];

// Cartera's codes for Bitfinex's own currency ids, written from the mapping rules (not from the
// Rust table): three-letter ids kept for longer or clashing tickers.
const CURRENCY_CODES = new Map(Object.entries({
  UST: 'usdt', UDC: 'usdc', TSD: 'tusd', DSH: 'dash', IOT: 'iota', EUT: 'eurt', ALG: 'algo', AMP: 'ampl',
  ATO: 'atom', DAT: 'data', MNA: 'mana', QTM: 'qtum', STJ: 'storj', XCH: 'xchf', WAX: 'waxp',
  TERRAUST: 'ustc', LUNA: 'lunc', LUNA2: 'luna', XBT: 'btc', BCHN: 'bch', EUS: 'eurs', IDX: 'id',
  IQX: 'iq', QSH: 'qash', RBT: 'rbtc', SNG: 'sngls', VSY: 'vsys', YYW: 'yoyow', ZBT: 'zb',
}));

/** Cartera's asset code for a Bitfinex currency id. */
export function assetCode(currency) {
  return CURRENCY_CODES.get(currency.toUpperCase()) ?? currency.toLowerCase();
}

const isPaperTrading = (currency) => currency.toUpperCase().startsWith('TEST');

/** A JSON number's text (as it goes over the wire) as a plain decimal string: "3.8e-7" → "0.00000038". */
export function plainDecimal(value) {
  const text = typeof value === 'number' ? JSON.stringify(value) : String(value);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new SyntaxError(`not a number: ${text}`);
  const [, sign, whole, frac = '', exp = '0'] = m;
  const digits = whole + frac;
  const point = whole.length + Number(exp); // where the decimal point goes in `digits`
  let plain;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  plain = plain.replace(/^0+(?=\d)/, '');
  return `${sign}${plain}`;
}

/**
 * What an account holds per Cartera asset code ({ asset: decimalString }), computed from the
 * rules independently of the Rust code: BALANCE summed over every wallet, unsettled interest left
 * out, TEST* currencies skipped, derivatives collateral (…F0) counted as its underlying currency,
 * zero totals dropped.
 */
export function expectedHoldings(account) {
  const totals = new Map();
  for (const [, currency, balance] of account.wallets) {
    if (isPaperTrading(currency)) continue;
    const underlying = currency.length > 2 && currency.endsWith('F0') ? currency.slice(0, -2) : currency;
    const asset = assetCode(underlying);
    totals.set(asset, (totals.get(asset) ?? new Q(0n)).add(Q.parse(plainDecimal(balance))));
  }
  return Object.fromEntries([...totals].filter(([, total]) => !total.isZero()).map(([asset, total]) => [asset, total.toDecimal()]));
}

/** A trading symbol's two currency ids: split at ':' or into 3 + 3 letters; null when neither fits. */
function splitSymbol(symbol) {
  if (!symbol.startsWith('t')) return null;
  const pair = symbol.slice(1);
  const sides = pair.includes(':') ? pair.split(':') : pair.length === 6 ? [pair.slice(0, 3), pair.slice(3)] : null;
  if (!sides || sides.length !== 2 || !sides.every((side) => /^[A-Za-z0-9]+$/.test(side))) return null;
  return sides;
}

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

function bitfinexError(code, message = ERROR_MESSAGES[code] ?? 'error', status = 500) {
  return json(status, ['error', Number(code), message]);
}

/** An HTML error page like the ones Cloudflare puts in front of Bitfinex. */
function cloudflarePage(status) {
  const title = status === 403
    ? 'Access denied | api.bitfinex.com used Cloudflare to restrict access'
    : `api.bitfinex.com | ${status}: ${status === 502 ? 'Bad gateway' : 'Error'}`;
  return `<!DOCTYPE html>
<html lang="en-US"><head><title>${title}</title></head>
<body><h1>Error ${status === 403 ? 1020 : status}</h1><p>${title}</p><p>Cloudflare Ray ID: 8f1e2d3c4b5a6979</p></body></html>
`;
}

const NAMED_FAULTS = {
  ...TRANSPORT_FAULTS,
  'error:credentials': () => bitfinexError(10100, 'apikey: invalid'),
  'error:signature': () => bitfinexError(10100, 'apikey: digest invalid'),
  'error:nonce': () => bitfinexError(10114, 'nonce: small'),
  'error:permission': () => bitfinexError(10001, 'api_key: permission invalid'),
  'error:generic': () => bitfinexError(10001, 'amount: invalid'),
  'error:ratelimit': () => bitfinexError(11010, 'ratelimit: error'),
  'error:edge-ratelimit': () => json(429, { error: 'ERR_RATE_LIMIT' }),
  'error:maintenance': () => bitfinexError(20060, 'maintenance'),
  'error:unavailable': () => json(503, {
    code: 503,
    error: 'temporarily_unavailable',
    error_description: 'Sorry, the service is temporarily unavailable. See https://www.bitfinex.com/ for more info.',
  }),
  malformed: () => ({ status: 200, body: '[["exchange","BTC",0.52' }),
  huge: () => ({ status: 200, body: `[["exchange","BTC",1,0,1,"${'x'.repeat(9 * 1024 * 1024)}",null]]` }),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault) {
  if (NAMED_FAULTS[fault]) return NAMED_FAULTS[fault]();
  let m = /^error:(\d{4,5})$/.exec(fault);
  if (m) return bitfinexError(m[1]);
  m = /^html(\d{3})$/.exec(fault);
  if (m) return { status: Number(m[1]), type: 'text/html; charset=UTF-8', body: cloudflarePage(Number(m[1])) };
  m = /^retry-after:(.+)$/.exec(fault);
  if (m) return { status: 429, type: 'text/plain', body: '429 Too Many Requests', headers: { 'retry-after': m[1] } };
  m = /^http:(\d{3})(?::(\d{4,5}))?$/.exec(fault);
  if (m) {
    const status = Number(m[1]);
    if (m[2]) return bitfinexError(m[2], undefined, status);
    return { status, type: 'text/plain', body: `${status} error` };
  }
  throw new Error(`unknown fault ${fault}`);
}

/** The permission rows of an account's key, as /v2/auth/r/permissions sends them. */
function permissionRows(account) {
  const write = (flag) => (flag ? 1 : 0);
  const trade = write(account.canTrade);
  return [
    ['account', 1, 0],
    ['history', account.historyPermission === false ? 0 : 1, 0],
    ['orders', 1, trade],
    ['positions', 1, trade],
    ['funding', 1, trade],
    ['settings', 1, 0],
    ['wallets', account.walletsRead === false ? 0 : 1, write(account.canTransfer)],
    ['withdraw', 0, write(account.canWithdraw)],
    ['ui_withdraw', 0, 0],
    ['bfxpay', 0, 0],
  ];
}

// ---------------------------------------------------------------------------------------------
// Transaction history and daily candles

const HISTORY_PATHS = {
  '/v2/auth/r/trades/hist': 'trades',
  '/v2/auth/r/movements/hist': 'movements',
  '/v2/auth/r/ledgers/hist': 'ledgers',
};
/** Where each source's rows keep the time `start` and `end` filter on. */
const TIME_INDEX = { trades: 2, movements: 6, ledgers: 3 };
const HISTORY_MAX_LIMIT = 2500;
const HISTORY_DEFAULT_LIMIT = 25;
/** Requests a minute each history endpoint allows (their documentation pages). */
export const HISTORY_RATE_LIMIT = 90;
const CANDLE_MAX_LIMIT = 10000;
const CANDLE_DEFAULT_LIMIT = 100;
export const DAY_MS = 86_400_000;

/** An integer parameter, or undefined when absent; null when present but not a whole number. */
function integer(value) {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The rows of one history source an account's request selects, as Bitfinex pages them, or an
 * error response.
 */
export function historyPage(account, source, query, now = Date.now()) {
  const start = integer(query.start) ?? 0;
  const end = integer(query.end) ?? now;
  const limit = integer(query.limit) ?? HISTORY_DEFAULT_LIMIT;
  if (start === null || end === null || limit === null) return bitfinexError(10020, 'time: invalid');
  if (limit < 1 || limit > HISTORY_MAX_LIMIT) return bitfinexError(10020, 'limit: invalid');
  const history = account.history ?? {};
  let rows;
  if (source === 'ledgers') {
    const category = integer(query.category);
    if (category === null) return bitfinexError(10020, 'category: invalid');
    const byCategory = history.ledgers ?? {};
    rows = category === undefined ? Object.values(byCategory).flat() : byCategory[category] ?? [];
    if (query.wallet !== undefined) rows = rows.filter((row) => row[2] === query.wallet);
  } else {
    rows = history[source] ?? [];
  }
  const at = TIME_INDEX[source];
  const ascending = source === 'trades' && Number(query.sort) === 1;
  const order = (a, b) => (a[at] - b[at]) || (a[0] - b[0]);
  const selected = rows
    .filter((row) => row[at] >= start && row[at] <= end)
    .sort((a, b) => (ascending ? order(a, b) : order(b, a)))
    .slice(0, limit);
  return json(200, selected);
}

/** `YYYY-MM-DD` of a day number (days since 1970-01-01, UTC). */
export function isoDay(day) {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Candle rows of `symbol` for a request's parameters, or an error response. */
function candleRows(closeOn, symbol, params, now) {
  const start = integer(params.get('start')) ?? 0;
  const end = integer(params.get('end')) ?? now;
  const limit = integer(params.get('limit')) ?? CANDLE_DEFAULT_LIMIT;
  if (start === null || end === null || limit === null) return bitfinexError(10020, 'time: invalid');
  if (limit < 1 || limit > CANDLE_MAX_LIMIT) return bitfinexError(10020, 'limit: invalid');
  const ascending = params.get('sort') === '1';
  const first = Math.ceil(Math.max(start, 0) / DAY_MS);
  const last = Math.floor(Math.min(end, now) / DAY_MS);
  const days = [];
  for (let day = first; day <= last; day++) days.push(day);
  if (!ascending) days.reverse();
  const rows = [];
  for (const day of days) {
    if (rows.length === limit) break;
    const close = closeOn(symbol, day);
    if (close === null) continue;
    // Written by hand so the exact decimal goes over the wire as a JSON number.
    rows.push(`[${day * DAY_MS},${close},${close},${close},${close},1]`);
  }
  return { status: 200, body: `[${rows.join(',')}]` };
}

export function createBitfinex({ accounts = {}, markets = SAMPLE_MARKETS, closes = {}, now = Date.now } = {}) {
  const requests = [];
  const lastNonces = new Map(); // apiKey → BigInt of the last accepted nonce
  const faults = faultTable(faultResponse);
  let tickers = markets;
  let closeTable = closes;
  const historyCalls = new Map(); // `${apiKey} ${path}` → times of the last minute's requests

  /** The close of `symbol` on `day`: from the closes table, else derived from its ticker. */
  function closeOn(symbol, day) {
    const listed = closeTable[symbol]?.[isoDay(day)];
    if (listed !== undefined) return String(listed);
    const ticker = tickers.find((row) => row[0] === symbol && row.length >= 11);
    if (!ticker || typeof ticker[7] !== 'number' || !(ticker[7] > 0)) return null;
    return Q.parse(plainDecimal(ticker[7])).mul(new Q(BigInt(990 + (day % 21)), 1000n)).toDecimal();
  }

  /** Whether this request is one more than the endpoint allows this minute. */
  function overHistoryLimit(apiKey, pathname) {
    const at = now();
    const key = `${apiKey} ${pathname}`;
    const recent = (historyCalls.get(key) ?? []).filter((earlier) => at - earlier < 60_000);
    recent.push(at);
    historyCalls.set(key, recent);
    return recent.length > HISTORY_RATE_LIMIT;
  }

  function handle(req) {
    const { method, path, body } = req;
    const pathname = path.split('?')[0];
    const log = {
      method, path, host: req.host, apiKey: null, nonce: null,
      authorized: null, error: null, fault: null, at: Date.now(),
    };
    requests.push(log);
    const finish = (response) => {
      if (response.hang) log.error = 'timeout';
      else if (response.status >= 300 || String(response.body ?? '').startsWith('["error"')) {
        let code = null;
        try {
          const parsed = JSON.parse(response.body);
          code = Array.isArray(parsed) ? parsed[1] : parsed?.error;
        } catch {
          /* not JSON */
        }
        log.error = code != null ? String(code) : `http:${response.status}`;
      }
      return response;
    };
    const faulted = (targets) => {
      const fault = faults.take(targets);
      if (!fault) return null;
      log.fault = fault;
      return finish(faultResponse(fault));
    };

    const authPath = /^\/v2\/auth\/r\/(wallets|permissions)$/.test(pathname) || HISTORY_PATHS[pathname] !== undefined;
    if (req.host === AUTH_HOST && method === 'POST' && authPath) {
      const apiKey = req.headers['bfx-apikey'];
      const nonce = req.headers['bfx-nonce'];
      const signature = req.headers['bfx-signature'];
      log.apiKey = apiKey ?? null;
      log.nonce = nonce ?? null;
      const account = apiKey ? accounts[apiKey] : undefined;
      if (!account || !nonce || !signature) {
        log.authorized = false;
        return finish(bitfinexError(10100, 'apikey: invalid'));
      }
      const expected = Buffer.from(sign(account.secret, path, nonce, body), 'hex');
      const given = Buffer.from(/^[0-9a-fA-F]+$/.test(signature) ? signature.toLowerCase() : '', 'hex');
      log.authorized = given.length === expected.length && timingSafeEqual(given, expected);
      if (!log.authorized) return finish(bitfinexError(10100, 'apikey: digest invalid'));
      // The signed body is JSON sent as JSON; Bitfinex reads nothing else.
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return finish(bitfinexError(10020, 'content-type: invalid'));
      }
      const value = /^\d{1,20}$/.test(nonce) ? BigInt(nonce) : null;
      if (value === null || value >= MAX_NONCE) return finish(bitfinexError(10114, 'nonce: invalid'));
      const last = lastNonces.get(apiKey);
      if (last !== undefined && value <= last) return finish(bitfinexError(10114, 'nonce: small'));
      lastNonces.set(apiKey, value);
      const fault = faulted([apiKey, '*']);
      if (fault) return fault;
      if (pathname.endsWith('/permissions')) return finish(json(200, permissionRows(account)));
      const source = HISTORY_PATHS[pathname];
      if (source) {
        log.body = body;
        if (overHistoryLimit(apiKey, pathname)) return finish(json(429, { error: 'ERR_RATE_LIMIT' }));
        if (account.historyPermission === false) return finish(bitfinexError(10001, 'api_key: permission invalid'));
        let query;
        try {
          query = JSON.parse(body || '{}');
        } catch {
          return finish(bitfinexError(10020, 'body: invalid'));
        }
        if (query === null || typeof query !== 'object' || Array.isArray(query)) return finish(bitfinexError(10020, 'body: invalid'));
        return finish(historyPage(account, source, query, now()));
      }
      if (account.walletsRead === false) return finish(bitfinexError(10001, 'api_key: permission invalid'));
      return finish(json(200, account.wallets));
    }

    if (req.host === PUBLIC_HOST && method === 'GET' && pathname === '/v2/tickers') {
      log.authorized = req.headers['bfx-signature'] ? 'unexpected-signature' : null;
      const fault = faulted(['tickers', '*']);
      if (fault) return fault;
      const symbols = new URL(path, `https://${PUBLIC_HOST}`).searchParams.get('symbols');
      if (!symbols) return finish(bitfinexError(10020, 'symbols: invalid'));
      if (symbols === 'ALL') return finish(json(200, tickers));
      const wanted = new Set(symbols.split(','));
      return finish(json(200, tickers.filter((row) => wanted.has(row[0]))));
    }

    const candles = /^\/v2\/candles\/trade:1D:(t[A-Za-z0-9:]+)\/hist$/.exec(pathname);
    if (req.host === PUBLIC_HOST && method === 'GET' && candles) {
      log.authorized = req.headers['bfx-signature'] ? 'unexpected-signature' : null;
      const fault = faulted(['candles', '*']);
      if (fault) return fault;
      const params = new URL(path, `https://${PUBLIC_HOST}`).searchParams;
      return finish(candleRows(closeOn, candles[1], params, now()));
    }

    return finish({ status: 404, type: 'text/plain', body: 'Not Found' });
  }

  return {
    exchange: 'bitfinex',
    hosts: HOSTS,
    handle,
    requests,
    /** Requests to the authenticated endpoints only. */
    authRequests: () => requests.filter((r) => r.host === AUTH_HOST && r.path.startsWith('/v2/auth/')),
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
    /** Replaces the closes table: { [symbol]: { [YYYY-MM-DD]: "decimal" } }. */
    setCloses(table) {
      closeTable = table;
    },
    /** The close the candles endpoint serves for `symbol` on `day` (a decimal string), or null. */
    closeOn,
    /** Requests to the history endpoints only. */
    historyRequests: () => requests.filter((r) => r.host === AUTH_HOST && HISTORY_PATHS[r.path.split('?')[0]] !== undefined),
    /**
     * The public spot markets, normalised for the independent valuation (tests/e2e/expected.mjs):
     * trading pairs only, without paper-trading (TEST…) and derivative (…F0) pairs, with a
     * positive last price; book ids keep Bitfinex's symbol, `bitfinex:tBTCUSD`.
     */
    books: () => tickers.flatMap((row) => {
      const sides = typeof row?.[0] === 'string' && row.length >= 11 ? splitSymbol(row[0]) : null;
      if (!sides || sides.some((side) => isPaperTrading(side) || side.endsWith('F0'))) return [];
      const [base, quote] = sides.map(assetCode);
      if (base === quote || typeof row[7] !== 'number' || !(row[7] > 0)) return [];
      return [{
        book: `bitfinex:${row[0]}`,
        base,
        quote,
        last: plainDecimal(row[7]),
        volume: typeof row[8] === 'number' ? plainDecimal(row[8]) : '0',
        change: typeof row[5] === 'number' ? plainDecimal(row[5]) : null,
      }];
    }),
  };
}

export default { SAMPLE_ACCOUNT, SAMPLE_HISTORY, SAMPLE_MARKETS, createBitfinex, expectedHoldings };
