// A stand-in for https://api.kraken.com (Spot REST). It checks every private request the way
// Kraken documents it (https://docs.kraken.com/api/docs/guides/spot-rest-auth):
//   POST /0/private/<Method>, body form-encoded (or JSON) with `nonce`, headers API-Key and
//   API-Sign = base64(HMAC-SHA512(base64decode(secret), uri_path ‖ SHA256(nonce ‖ body)))
// and refuses a nonce that is not larger than the last one that key used (EAPI:Invalid nonce),
// as Kraken does. Errors come the way Kraken sends them: HTTP 200, {"error":["EAPI:…"],"result":{}}.
//
//   const kraken = createKraken({ accounts: { [apiKey]: { secret, balances, allocations, history,
//                                  historyPermission } }, markets, closes, callCounter, now });
//   kraken.requests, kraken.balanceRequests(), kraken.privateRequests(), kraken.ledgerRequests(),
//   kraken.setFault(target, fault | null, { times }), kraken.clearFaults(),
//   kraken.setAccount(apiKey, account), kraken.setMarkets(markets), kraken.setCloses(closes),
//   kraken.books()
//
// Paths served: POST /0/private/BalanceEx, POST /0/private/Earn/Allocations (honours
// hide_zero_allocations), POST /0/private/Ledgers, GET /0/public/AssetPairs, GET /0/public/Ticker
// (every pair, or ?pair=), GET /0/public/OHLC.
// An account's `balances` is BalanceEx's result as Kraken sends it (asset → {balance, hold_trade},
// strings or JSON numbers); `allocations` is Earn/Allocations' `items`. Kraken cannot tell what a
// key may do; a key without "Query Ledger Entries" is an account with `historyPermission: false`,
// whose Ledgers calls get `EGeneral:Permission denied` (its balances still work).
//
// Ledgers (https://docs.kraken.com/api/docs/rest-api/get-ledgers): the account's `history` is an
// array of ledger rows in Kraken's shape plus their `id` ({ id, refid, time, type, subtype, aclass,
// asset, amount, fee, balance }). Answers are newest first, 50 a call, within `start` (exclusive)
// and `end` (inclusive), each a unix time or a ledger id, from offset `ofs`, with `count` (the rows
// of the window) unless `without_count=true`; `asset` and `type` filter as Kraken's do.
// OHLC (https://docs.kraken.com/api/docs/rest-api/get-ohlc-data): daily candles (interval=1440
// only) for a pair id or altname, the latest 720 of them (today's, still moving, included), those
// after `since`; each close from `closes[pairId]['YYYY-MM-DD']` when given, else the ticker's last
// price. The result is keyed by the pair id, with `last` the time of the last closed candle.
// With `callCounter` ({ max, decayPerSecond }, e.g. Starter's { max: 15, decayPerSecond: 0.33 }),
// each key has Kraken's call counter (https://docs.kraken.com/exchange/guides/rest/ratelimits):
// Ledgers adds 2, other private calls 1, it drains continuously, and a call that would take it
// past `max` gets `EAPI:Rate limit exceeded`. Off by default. `now` (ms) is injectable for tests.
//
// Fault targets: an API key, a method ('BalanceEx', 'Earn/Allocations', 'AssetPairs', 'Ticker'),
// 'private', 'public' or '*'. Faults (checked after the signature and the nonce, so a faulted
// private request still uses up its nonce):
//   'error:<kind>'   Kraken's error string with HTTP 200, kind one of ERRORS below;
//                    'error:throttled' names an instant 60 s ahead, 'error:throttled:<s>' s ahead
//   'http:<status>'  a plain-text body with that status (429 also sends Retry-After: 2)
//   'html<status>'   Cloudflare's HTML error page, e.g. 'html520', 'html403'
//   'retry-after:<value>'  HTTP 429 with that Retry-After header
//   'malformed'      truncated JSON; 'huge' a body far larger than any real answer
//   'redirect'       302 to a host no exchange owns; 'timeout' never answers

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { Q, trimZeros } from '../expected.mjs';
import { faultTable, redirectResponse } from '../mock-server.mjs';

export const HOST = 'api.kraken.com';

/** The error kinds a fault can send, with Kraken's wire strings. */
export const ERRORS = {
  'invalid-key': 'EAPI:Invalid key',
  'invalid-signature': 'EAPI:Invalid signature',
  'invalid-nonce': 'EAPI:Invalid nonce',
  'permission-denied': 'EGeneral:Permission denied',
  'api-permission-denied': 'EAPI:Permission denied',
  lockout: 'EGeneral:Temporary lockout',
  'rate-limit': 'EAPI:Rate limit exceeded',
  'too-many-requests': 'EGeneral:Too many requests',
  unavailable: 'EService:Unavailable',
  busy: 'EService:Busy',
  internal: 'EGeneral:Internal error',
  'cancel-only': 'EService:Market in cancel_only mode',
  'post-only': 'EService:Market in post_only mode',
  'invalid-arguments': 'EGeneral:Invalid arguments',
  'unknown-pair': 'EQuery:Unknown asset pair',
};

const MAX_NONCE = (1n << 64n) - 1n;

/** API-Sign as Kraken computes it. */
export function sign(secretBase64, path, nonce, body) {
  const digest = createHash('sha256').update(`${nonce}${body}`).digest();
  return createHmac('sha512', Buffer.from(secretBase64, 'base64')).update(path).update(digest).digest('base64');
}

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

function krakenError(message) {
  return json(200, { error: [message], result: {} });
}

/** An HTML error page like the ones Cloudflare puts in front of api.kraken.com. */
function cloudflarePage(status) {
  const title = {
    403: 'Access denied | api.kraken.com used Cloudflare to restrict access',
    502: 'api.kraken.com | 502: Bad gateway',
    520: 'api.kraken.com | 520: Web server is returning an unknown error',
  }[status] ?? `api.kraken.com | ${status}: Error`;
  return `<!DOCTYPE html>
<html lang="en-US"><head><title>${title}</title></head>
<body><h1>Error ${status === 403 ? 1020 : status}</h1><p>${title}</p><p>Cloudflare Ray ID: 8f1e2d3c4b5a6978</p></body></html>
`;
}

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault) {
  if (fault === 'timeout') return { hang: true };
  if (fault === 'malformed') return { status: 200, body: '{"error":[],"result":{"ZUSD":{"balance":"25' };
  if (fault === 'redirect') return redirectResponse();
  if (fault === 'huge') return { status: 200, body: `{"error":[],"result":{"padding":"${'x'.repeat(9 * 1024 * 1024)}"}}` };
  let m = /^error:throttled(?::(\d+))?$/.exec(fault);
  if (m) return krakenError(`EService:Throttled: ${Math.floor(Date.now() / 1000) + Number(m[1] ?? 60)}`);
  m = /^error:(.+)$/.exec(fault);
  if (m && ERRORS[m[1]]) return krakenError(ERRORS[m[1]]);
  m = /^html(\d{3})$/.exec(fault);
  if (m) return { status: Number(m[1]), type: 'text/html; charset=UTF-8', body: cloudflarePage(Number(m[1])) };
  m = /^retry-after:(.+)$/.exec(fault);
  if (m) return { status: 429, type: 'text/plain', body: '429 Too Many Requests', headers: { 'retry-after': m[1] } };
  m = /^http:(\d{3})$/.exec(fault);
  if (m) {
    const status = Number(m[1]);
    return { status, type: 'text/plain', body: `${status} error`, headers: status === 429 ? { 'retry-after': '2' } : {} };
  }
  throw new Error(`unknown fault ${fault}`);
}

// ---------------------------------------------------------------------------------------------
// Sample data, in Kraken's own shapes.

const FAKE_SECRET = 'RkFLRSBrcmFrZW4gc2VjcmV0IGZvciBDYXJ0ZXJhIHRlc3RzIG9ubHk7IGl0IG9wZW5zIG5vdGhpbmchISEhIQ==';

/**
 * An account with every holding rule in play: X/Z codes; `XBT.F` next to `XXBT` (and repeated by
 * Earn); `DOT.S` (Earn knows more, some still bonding); `ETH2.S` (more than Earn reports);
 * `USDT.F` (auto-earn, no Earn entry); `USD.HOLD`; fee credits; TerraUSD (`UST`); a zero
 * balance; a credit line; SOL and USDC only in Earn; a zero Earn allocation hidden by
 * `hide_zero_allocations`; numbers as strings and as JSON numbers.
 */
export const SAMPLE_ACCOUNT = {
  label: 'Kraken',
  apiKey: 'FAKEkrakenKeyForCarteraTests0000000000000000000000000000',
  secret: FAKE_SECRET,
  balances: {
    ZUSD: { balance: '2543.2100', hold_trade: '249.7600' },
    'USD.HOLD': { balance: '50.0000', hold_trade: '0.0000' },
    ZEUR: { balance: 1500.5, hold_trade: 0 },
    XXBT: { balance: '0.1243500000', hold_trade: '0.0423000000' },
    'XBT.F': { balance: '0.0500000000', hold_trade: '0.0000000000' },
    XETH: { balance: '0.1000000000', hold_trade: '0.0000000000' },
    'ETH2.S': { balance: '2.0000000000', hold_trade: '0.0000000000' },
    'DOT.S': { balance: '120.0000000000', hold_trade: '0.0000000000' },
    USDT: { balance: '310.55000000', hold_trade: '10.00000000', credit: '500.00000000', credit_used: '0.00000000' },
    'USDT.F': { balance: '100.00000000', hold_trade: '0.00000000' },
    XXDG: { balance: '1000.00000000', hold_trade: '0.00000000' },
    XXRP: { balance: 25.5, hold_trade: 0 },
    UST: { balance: '42.00000000', hold_trade: '0.00000000' },
    KFEE: { balance: '1000.00', hold_trade: '0.00' },
    ADA: { balance: '0.00000000', hold_trade: '0.00000000' },
  },
  allocations: [
    earn('ESRFUO3-Q62XD-WIOIL7', 'XBT', { total: ['0.0500000000', '4750.0000'] }),
    earn('ESDQCOL-WTZEU-NU55QF', 'DOT', { bonding: ['20.0000000000', '150.0000'], total: ['140.0000000000', '1050.0000'] }),
    earn('ESMWVX6-JAPVY-23L3CK', 'ETH', { exit_queue: ['0.2000000000', '700.0000'], total: ['1.5000000000', '5250.0000'] }),
    earn('ESXUM7H-SJHQ6-KOQNNI', 'SOL', { total: ['12.5000000000', '2150.0000'] }),
    {
      strategy_id: 'EVMRV5U-2ZF2J-3UVTQT',
      native_asset: 'USDC',
      amount_allocated: { allocated: { native: 25, converted: 25 }, total: { native: 25, converted: 25 } },
      total_rewarded: { native: 0.1, converted: 0.1 },
    },
    earn('EFHWZ7C-7ZNAY-VUGGDL', 'ATOM', { total: ['0.0000000000', '0.0000'] }),
  ],
};

/**
 * A ledger with every kind Cartera reads (a deposit, two trades, one paid with fee credits, a
 * withdrawal, staking and Earn rewards, moves to staking and Earn), the rows of the adapter's
 * fixture, as an account's `history`.
 */
export const SAMPLE_HISTORY = Object.entries(
  JSON.parse(readFileSync(new URL('../../fixtures/kraken/ledger-page-1.json', import.meta.url), 'utf8')).result.ledger,
).map(([id, row]) => ({ id, ...row }));

/** A second, small account (for two-key tests). */
export const SECOND_ACCOUNT = {
  label: 'Kraken savings',
  apiKey: 'FAKEkrakenSecondKeyForTests00000000000000000000000000000',
  secret: 'RkFLRSBzZWNvbmQga3Jha2VuIHNlY3JldCwgdGVzdHMgb25seSwgbmV2ZXIgYSByZWFsIGNyZWRlbnRpYWwhIQ==',
  balances: {
    ZEUR: { balance: '200.0000', hold_trade: '0.0000' },
    XXBT: { balance: '0.0000000000', hold_trade: '0.0100000000' },
    'XBT.F': { balance: '0.0300000000', hold_trade: '0.0000000000' },
  },
  allocations: [],
};

/** One Earn item; each state is [native, converted]. */
function earn(strategyId, nativeAsset, states) {
  const amount = Object.fromEntries(
    Object.entries(states).map(([state, [native, converted]]) => {
      const entry = { native, converted };
      if (state !== 'total') {
        entry.allocation_count = 1;
        entry.allocations = [{ created_at: '2026-11-20T10:00:00Z', expires: '2026-12-18T10:00:00Z', native, converted }];
      }
      return [state, entry];
    }),
  );
  return {
    strategy_id: strategyId,
    native_asset: nativeAsset,
    amount_allocated: amount,
    total_rewarded: { native: '0.0010000000', converted: '1.0000' },
  };
}

/** Pairs and their tickers: id, altname, wsname, base id, quote id, last, 24 h volume, today's open. */
const PAIRS = [
  ['XXBTZUSD', 'XBTUSD', 'XBT/USD', 'XXBT', 'ZUSD', '95000.10000', '2345.67890123', '94000.00000'],
  ['XXBTZEUR', 'XBTEUR', 'XBT/EUR', 'XXBT', 'ZEUR', '87600.00000', '1200.50000000', '87000.00000'],
  ['XETHZUSD', 'ETHUSD', 'ETH/USD', 'XETH', 'ZUSD', '3500.25', '25000.12345678', '3450.00'],
  ['XETHZEUR', 'ETHEUR', 'ETH/EUR', 'XETH', 'ZEUR', '3227.50', '8000.00000000', '3200.00'],
  ['XETHXXBT', 'ETHXBT', 'ETH/XBT', 'XETH', 'XXBT', '0.03684', '9000.00000000', '0.03670'],
  ['USDTZUSD', 'USDTUSD', 'USDT/USD', 'USDT', 'ZUSD', '1.00020000', '12000000.50000000', '1.00010000'],
  ['USDCUSD', 'USDCUSD', 'USDC/USD', 'USDC', 'ZUSD', '0.99990000', '9000000.00000000', '1.00000000'],
  ['ZEURZUSD', 'EURUSD', 'EUR/USD', 'ZEUR', 'ZUSD', '1.08450', '3000000.00000000', '1.08300'],
  ['ZGBPZUSD', 'GBPUSD', 'GBP/USD', 'ZGBP', 'ZUSD', '1.27010', '400000.00000000', '1.26900'],
  ['ZUSDZCAD', 'USDCAD', 'USD/CAD', 'ZUSD', 'ZCAD', '1.39500', '250000.00000000', '1.39400'],
  ['XDGUSD', 'XDGUSD', 'XDG/USD', 'XXDG', 'ZUSD', '0.3912340', '150000000.00000000', '0.3800000'],
  ['XXRPZUSD', 'XRPUSD', 'XRP/USD', 'XXRP', 'ZUSD', '2.410000', '30000000.00000000', '2.380000'],
  ['DOTUSD', 'DOTUSD', 'DOT/USD', 'DOT', 'ZUSD', '7.5000', '800000.00000000', '7.4000'],
  ['SOLUSD', 'SOLUSD', 'SOL/USD', 'SOL', 'ZUSD', '172.00', '200000.00000000', '170.00'],
  ['USTUSD', 'USTUSD', 'UST/USD', 'UST', 'ZUSD', '0.01500', '1000000.00000000', '0.01480'],
  ['ADAUSD', 'ADAUSD', 'ADA/USD', 'ADA', 'ZUSD', '0.980000', '20000000.00000000', '0.970000'],
  ['ATOMUSD', 'ATOMUSD', 'ATOM/USD', 'ATOM', 'ZUSD', '6.1000', '300000.00000000', '6.0500'],
  ['XTZUSD', 'XTZUSD', 'XTZ/USD', 'XTZ', 'ZUSD', '1.1000', '100000.00000000', '1.0900'],
];

/** Public market data: { pairs: AssetPairs result, tickers: Ticker result }, as Kraken sends them. */
export const SAMPLE_MARKETS = marketsFrom(PAIRS);

/** Builds AssetPairs and Ticker results from rows like PAIRS (exported for tests with other prices). */
export function marketsFrom(rows) {
  const pairs = {};
  const tickers = {};
  for (const [id, altname, wsname, base, quote, last, volume, open] of rows) {
    pairs[id] = {
      altname, wsname, aclass_base: 'currency', base, aclass_quote: 'currency', quote, lot: 'unit',
      cost_decimals: 5, pair_decimals: 5, lot_decimals: 8, lot_multiplier: 1,
      leverage_buy: [2, 3], leverage_sell: [2, 3],
      fees: [[0, 0.4], [10000, 0.35], [50000, 0.24]], fees_maker: [[0, 0.25], [10000, 0.2], [50000, 0.14]],
      fee_volume_currency: 'ZUSD', margin_call: 80, margin_stop: 40, ordermin: '0.0001', costmin: '0.5',
      tick_size: '0.00001', status: 'online',
    };
    tickers[id] = {
      a: [last, '1', '1.000'], b: [last, '2', '2.000'], c: [last, '0.01000000'],
      v: [halfOf(volume), volume], p: [open, open], t: [1200, 2400],
      l: [open, open], h: [last, last], o: open,
    };
  }
  return { pairs, tickers };
}

function halfOf(decimal) {
  const [whole, frac = ''] = decimal.split('.');
  const scaled = BigInt(whole + frac) / 2n;
  const digits = scaled.toString().padStart(frac.length + 1, '0');
  return frac.length ? `${digits.slice(0, -frac.length)}.${digits.slice(-frac.length)}` : digits;
}

// ---------------------------------------------------------------------------------------------
// Cartera's reading of Kraken's names, written from the rules (not from the Rust code).

const NAMES = {
  XXBT: 'btc', XBT: 'btc', XXDG: 'doge', XDG: 'doge', XETH: 'eth', ETH2: 'eth', XETC: 'etc', XLTC: 'ltc',
  XMLN: 'mln', XREP: 'rep', XXLM: 'xlm', XXMR: 'xmr', XXRP: 'xrp', XZEC: 'zec',
  ZARS: 'ars', ZAUD: 'aud', ZCAD: 'cad', ZCLP: 'clp', ZCOP: 'cop', ZDKK: 'dkk', ZEUR: 'eur', ZGBP: 'gbp',
  ZGEL: 'gel', ZGHS: 'ghs', ZJPY: 'jpy', ZLKR: 'lkr', ZMXN: 'mxn', ZPLN: 'pln', ZSEK: 'sek', ZUGX: 'ugx',
  ZUSD: 'usd', ZVND: 'vnd', ZXOF: 'xof',
  UST: 'ustc', LUNA: 'lunc', LUNA2: 'luna',
  ATOM21: 'atom', DOT28: 'dot', FLOW14: 'flow', FLOWH: 'flow', GRT28: 'grt', KAVA21: 'kava', KSM07: 'ksm',
  MATIC04: 'matic', SCRT21: 'scrt', SOL03: 'sol',
};
const FEE_CREDITS = new Set(['KFEE', 'FEE']);
const EARNING = new Set(['S', 'M', 'B', 'P', 'F', 'T']);

/** Cartera's code for a Kraken asset name (suffix dropped), or null for fee credits and junk. */
export function carteraCode(name) {
  const base = String(name).split('.')[0];
  if (FEE_CREDITS.has(base) || !/^[A-Za-z0-9]{1,32}$/.test(base)) return null;
  return NAMES[base] ?? base.toLowerCase();
}

/** An exact fraction from a JSON string or number, exponent form included. */
function exact(value) {
  const m = /^(-?\d+(?:\.\d+)?)(?:[eE]([+-]?\d+))?$/.exec(String(value).trim());
  if (!m) throw new SyntaxError(`not a number: ${value}`);
  const mantissa = Q.parse(m[1]);
  const exponent = Number(m[2] ?? 0);
  const power = new Q(10n ** BigInt(Math.abs(exponent)));
  return exponent < 0 ? mantissa.mul(power.inv()) : mantissa.mul(power);
}

const max = (a, b) => (a.cmp(b) >= 0 ? a : b);

/**
 * What `account` holds per Cartera asset, `{ asset: decimalString }`: per asset, spot plus
 * `.HOLD` (and unknown suffixes) plus the larger of the earning suffixes and Earn's allocation.
 */
export function expectedHoldings(account) {
  const zero = () => ({ spot: new Q(0n), held: new Q(0n), earning: new Q(0n), earn: new Q(0n) });
  const parts = new Map();
  const of = (code) => {
    if (!parts.has(code)) parts.set(code, zero());
    return parts.get(code);
  };
  for (const [name, { balance }] of Object.entries(account.balances ?? {})) {
    const code = carteraCode(name);
    if (!code) continue;
    const suffix = name.includes('.') ? name.slice(name.indexOf('.') + 1) : null;
    const part = of(code);
    const amount = exact(balance);
    if (suffix === null) part.spot = part.spot.add(amount);
    else if (EARNING.has(suffix)) part.earning = part.earning.add(amount);
    else part.held = part.held.add(amount);
  }
  for (const item of account.allocations ?? []) {
    const code = carteraCode(item.native_asset);
    if (!code) continue;
    const native = item.amount_allocated?.total?.native;
    if (native !== undefined) of(code).earn = of(code).earn.add(exact(native));
  }
  const holdings = {};
  for (const [code, part] of [...parts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const total = part.spot.add(part.held).add(max(part.earning, part.earn));
    if (!total.isZero()) holdings[code] = trimZeros(total.toDecimal());
  }
  return holdings;
}

// ---------------------------------------------------------------------------------------------

export function createKraken({ accounts = {}, markets = SAMPLE_MARKETS, closes = {}, callCounter = null, now = Date.now } = {}) {
  const requests = [];
  const lastNonces = new Map(); // apiKey → BigInt
  const faults = faultTable(faultResponse);
  let market = markets;
  let closeTable = closes;
  const counters = new Map(); // apiKey → { value, at }

  /** Kraken's call counter: whether the key may make a call of `cost` now (and count it). */
  function withinCounter(apiKey, cost) {
    if (!callCounter) return true;
    const at = now();
    const last = counters.get(apiKey) ?? { value: 0, at };
    const value = Math.max(0, last.value - ((at - last.at) / 1000) * callCounter.decayPerSecond);
    if (value + cost > callCounter.max) {
      counters.set(apiKey, { value, at });
      return false;
    }
    counters.set(apiKey, { value: value + cost, at });
    return true;
  }

  function handle(req) {
    const { method, path, body = '' } = req;
    const url = new URL(path, `https://${HOST}`);
    const pathname = url.pathname;
    const log = {
      method, path, host: req.host, apiKey: null, nonce: null,
      authorized: null, error: null, fault: null, at: Date.now(),
    };
    requests.push(log);
    const finish = (response) => {
      if (response.hang) log.error = 'timeout';
      else if (response.status >= 400) log.error = `http:${response.status}`;
      else {
        try {
          const errors = JSON.parse(response.body ?? '').error;
          if (Array.isArray(errors) && errors.length) log.error = errors[0];
        } catch {
          /* not JSON: a fault */
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

    const privateMethod = /^\/0\/private\/(BalanceEx|Earn\/Allocations|Ledgers)$/.exec(pathname)?.[1];
    if (method === 'POST' && privateMethod) {
      const apiKey = req.headers['api-key'];
      const apiSign = req.headers['api-sign'];
      log.apiKey = apiKey ?? null;
      const account = apiKey ? accounts[apiKey] : undefined;
      if (!account || !apiSign) {
        log.authorized = false;
        return finish(krakenError('EAPI:Invalid key'));
      }
      const params = readBody(req.headers['content-type'], body);
      const nonce = params?.nonce ?? null;
      log.nonce = nonce;
      if (nonce === null || !/^\d{1,20}$/.test(nonce) || BigInt(nonce) > MAX_NONCE) {
        log.authorized = false;
        return finish(krakenError('EAPI:Invalid nonce'));
      }
      const expected = Buffer.from(sign(account.secret, pathname, nonce, body));
      const given = Buffer.from(String(apiSign));
      log.authorized = given.length === expected.length && timingSafeEqual(given, expected);
      if (!log.authorized) return finish(krakenError('EAPI:Invalid signature'));
      const last = lastNonces.get(apiKey);
      if (last !== undefined && BigInt(nonce) <= last) return finish(krakenError('EAPI:Invalid nonce'));
      lastNonces.set(apiKey, BigInt(nonce));
      const fault = faulted([privateMethod, apiKey, 'private', '*']);
      if (fault) return fault;
      if (!withinCounter(apiKey, privateMethod === 'Ledgers' ? 2 : 1)) return finish(krakenError('EAPI:Rate limit exceeded'));
      if (privateMethod === 'Ledgers') {
        if (account.historyPermission === false) return finish(krakenError('EGeneral:Permission denied'));
        return finish(ledgersAnswer(account.history ?? [], params));
      }
      if (privateMethod === 'BalanceEx') return finish(json(200, { error: [], result: account.balances ?? {} }));
      const hideZero = ['true', true].includes(params.hide_zero_allocations);
      return finish(json(200, { error: [], result: allocationsResult(account.allocations ?? [], hideZero) }));
    }

    const publicMethod = /^\/0\/public\/(AssetPairs|Ticker)$/.exec(pathname)?.[1];
    if (method === 'GET' && publicMethod) {
      log.authorized = req.headers['api-key'] || req.headers['api-sign'] ? 'unexpected-signature' : null;
      const fault = faulted([publicMethod, 'public', '*']);
      if (fault) return fault;
      const source = publicMethod === 'AssetPairs' ? market.pairs : market.tickers;
      const wanted = url.searchParams.get('pair');
      if (!wanted) return finish(json(200, { error: [], result: source }));
      const result = {};
      for (const name of wanted.split(',')) {
        const id = Object.keys(market.pairs).find((key) => key === name || market.pairs[key].altname === name);
        if (!id || !source[id]) return finish(krakenError('EQuery:Unknown asset pair'));
        result[id] = source[id];
      }
      return finish(json(200, { error: [], result }));
    }

    if (method === 'GET' && pathname === '/0/public/OHLC') {
      log.authorized = req.headers['api-key'] || req.headers['api-sign'] ? 'unexpected-signature' : null;
      const fault = faulted(['OHLC', 'public', '*']);
      if (fault) return fault;
      return finish(ohlcAnswer(market, closeTable, url.searchParams, now()));
    }

    return finish(json(404, { error: ['EGeneral:Unknown method'] }));
  }

  return {
    exchange: 'kraken',
    hosts: [HOST],
    handle,
    requests,
    /** BalanceEx requests only: one per refresh of an account. */
    balanceRequests: () => requests.filter((r) => r.path.startsWith('/0/private/BalanceEx')),
    /** Every request to a private method. */
    privateRequests: () => requests.filter((r) => r.path.startsWith('/0/private/')),
    /** Ledgers requests only: one per page of history. */
    ledgerRequests: () => requests.filter((r) => r.path.startsWith('/0/private/Ledgers')),
    /**
     * Make requests fail: target is an API key, a method name, 'private', 'public' or '*'; fault
     * as above or null to clear; `times` limits how many requests it hits (default: until cleared).
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    setMarkets(next) {
      market = next;
    },
    /** Daily closes: { pairId: { 'YYYY-MM-DD': close } }; other days close at the ticker's last. */
    setCloses(next) {
      closeTable = next;
    },
    /** The public books, normalised for the independent valuation (tests/e2e/expected.mjs). */
    books: () =>
      Object.entries(market.tickers).flatMap(([id, ticker]) => {
        const pair = market.pairs[id];
        const base = pair && carteraCode(pair.base);
        const quote = pair && carteraCode(pair.quote);
        const last = ticker.c?.[0];
        if (!base || !quote || base === quote || last === undefined || exact(last).cmp(new Q(0n)) <= 0) return [];
        // Kraken's ticker has today's open (since midnight UTC), no 24-hour change.
        return [{ book: `kraken:${id}`, base, quote, last: String(last), volume: String(ticker.v?.[1] ?? '0'), change: null }];
      }),
  };
}

/** The request's parameters: form-encoded, or JSON (which Kraken accepts too). */
function readBody(contentType = '', body) {
  if (String(contentType).includes('application/json')) {
    try {
      const value = JSON.parse(body);
      // A 19-digit nonce does not survive JSON.parse as a number: take its digits from the text.
      const nonce = /"nonce"\s*:\s*"?(\d+)"?/.exec(body)?.[1];
      return { ...value, nonce };
    } catch {
      return null;
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/** Earn/Allocations' result for `items`, zero allocations left out when asked. */
function allocationsResult(items, hideZero) {
  const shown = hideZero ? items.filter((item) => !exact(item.amount_allocated?.total?.native ?? 0).isZero()) : items;
  const sum = (pick) => trimZeros(shown.reduce((acc, item) => acc.add(exact(pick(item) ?? 0)), new Q(0n)).toFixed(4));
  return {
    converted_asset: 'USD',
    total_allocated: sum((item) => item.amount_allocated?.total?.converted),
    total_rewarded: sum((item) => item.total_rewarded?.converted),
    items: shown,
  };
}

// ---------------------------------------------------------------------------------------------
// History: the ledger and daily candles.

/** Rows a Ledgers call returns at most. */
const LEDGER_PAGE = 50;
/** Candles OHLC keeps per interval. */
const CANDLES_KEPT = 720;
const DAY_SECONDS = 86_400;

/** A `start`/`end` bound: a unix time, or the time of the ledger row with that id. */
function bound(value, rows) {
  if (value === undefined || value === '') return null;
  const row = rows.find((r) => r.id === value);
  if (row) return Number(row.time);
  const time = Number(value);
  return Number.isFinite(time) ? time : undefined;
}

/** Ledgers' answer for `rows` and the request's parameters, as Kraken pages it. */
function ledgersAnswer(rows, params) {
  const start = bound(params.start, rows);
  const end = bound(params.end, rows);
  const ofs = params.ofs === undefined ? 0 : Number(params.ofs);
  if (start === undefined || end === undefined || !Number.isInteger(ofs) || ofs < 0) {
    return krakenError('EGeneral:Invalid arguments');
  }
  const assets = params.asset && params.asset !== 'all' ? new Set(params.asset.split(',')) : null;
  const type = params.type && params.type !== 'all' ? params.type : null;
  const window = rows
    .filter((row) => (start === null || Number(row.time) > start) && (end === null || Number(row.time) <= end))
    .filter((row) => (!assets || assets.has(row.asset)) && (!type || row.type === type))
    .sort((a, b) => Number(b.time) - Number(a.time));
  const ledger = {};
  for (const { id, ...row } of window.slice(ofs, ofs + LEDGER_PAGE)) ledger[id] = row;
  const result = ['true', true].includes(params.without_count) ? { ledger } : { ledger, count: window.length };
  return json(200, { error: [], result });
}

/** `YYYY-MM-DD` of a day number. */
function isoDay(day) {
  return new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 10);
}

/** OHLC's answer: the latest 720 daily candles of a known pair after `since`. */
function ohlcAnswer(market, closeTable, search, nowMs) {
  const wanted = search.get('pair') ?? '';
  const id = Object.keys(market.pairs).find((key) => key === wanted || market.pairs[key].altname === wanted);
  if (!id) return krakenError('EQuery:Unknown asset pair');
  if ((search.get('interval') ?? '1') !== '1440') return krakenError('EGeneral:Invalid arguments');
  const since = Number(search.get('since') ?? 0);
  if (!Number.isFinite(since)) return krakenError('EGeneral:Invalid arguments');
  const today = Math.floor(nowMs / 1000 / DAY_SECONDS);
  const last = market.tickers[id]?.c?.[0] ?? '0';
  const candles = [];
  for (let day = today - CANDLES_KEPT + 1; day <= today; day += 1) {
    const time = day * DAY_SECONDS;
    if (time <= since) continue;
    const close = String(closeTable[id]?.[isoDay(day)] ?? last);
    candles.push([time, close, close, close, close, close, '1.00000000', 1]);
  }
  return json(200, { error: [], result: { [id]: candles, last: (today - 1) * DAY_SECONDS } });
}
