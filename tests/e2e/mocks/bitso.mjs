// A stand-in for https://api.bitso.com. It checks every signature the way Bitso documents it:
//   Authorization: Bitso <key>:<nonce>:<hex HMAC-SHA256(secret, nonce + method + path + body)>
// with nonce v2 (14–19 digits; order does not matter, exact reuse is rejected).
//
//   const bitso = createBitso({ accounts: { [apiKey]: { secret, balances, ledger, historyPermission } }, tickers, closes });
//   bitso.requests, bitso.balanceRequests(), bitso.ledgerRequests(), bitso.candleRequests(),
//   bitso.setFault(apiKey | '*' | 'ticker' | 'ledger' | 'ledger:<apiKey>' | 'ohlc', fault | null, { times }),
//   bitso.setAccount(apiKey, account), bitso.setTickers(tickers), bitso.setCloses(closes)
//   SAMPLE_ACCOUNT (keys only this stand-in accepts), expectedHoldings(account)
//
// Paths served: GET /v3/balance/ (signed), GET /v3/ticker/ (public), GET /v3/ledger/ (signed),
// GET /v3/ohlc (public), each also under /api.
//
// The ledger (https://docs.bitso.com/bitso-api/docs/list-ledger): an account's optional `ledger`
// is an array of rows in Bitso's own shape, in any order:
//   { eid, operation: 'trade' | 'fee' | 'funding' | 'withdrawal' | …, created_at (ISO 8601),
//     balance_updates: [{ currency, amount (signed decimal string) }…], details: {…} }
// They are served sorted by created_at (rows at the same instant keep their order in the array),
// paged like Bitso: `sort` asc or desc (default desc, newest first), `limit` 1–100 (default 25;
// more reads as 100), `marker` an eid: the rows after it in that order, the marker's own row
// excluded (an eid the ledger does not hold answers an empty page). No `ledger` is an empty
// ledger. `historyPermission: false` makes the key one that reads balances but not the ledger:
// a correctly signed ledger request answers 0202 (HTTP 401), what Bitso sends for a method the
// key is not allowed. Ledger faults ('ledger', 'ledger:<apiKey>') never touch balance requests.
//
// Daily candles: /v3/ohlc?book=<book>&time_bucket=86400&start=<ms>&end=<ms> answers one row per
// UTC day whose bucket_start_time (day × 86 400 000 ms) lies in [start, end], oldest first, the
// close in last_rate. `closes` ({ btc_mxn: { 20089: '1952500.50', '2025-01-02': '…' } }) gives a
// book's closes by day number, days since 1970-01-01 UTC (the adapter's `day_of`: ms / 86 400 000),
// or by 'YYYY-MM-DD'; a book listed there has candles on those days only. Any other book with a
// ticker gets a candle for every day up to today, derived from its ticker's `last`: today closes
// at `last`, day d before it at last × (1000 + ((d × 7919) % 201) − 100) / 1000 (within ±10 %,
// exact decimals). A book with neither answers 0301 like the ticker; any time_bucket other than
// 86400, or a missing start/end, answers a plain 400 (the mock serves daily candles only).
//
// Faults: 'error:<code>' (Bitso error body, HTTP status from the code's category),
// 'http:<status>' (plain-text body), 'http:<status>:<code>' (that status with a Bitso error body),
// 'timeout' (never answers), 'malformed' (truncated JSON), 'html<status>' (Cloudflare's HTML page,
// e.g. 'html403' access denied, 'html502' bad gateway), 'redirect' (302 to another host),
// 'huge' (a body far larger than any real answer), 'retry-after:<value>' (HTTP 429 with that header).

import { createHmac, timingSafeEqual } from 'node:crypto';

import { balance, TICKERS } from '../fixtures.mjs';
import { faultTable, redirectResponse } from '../mock-server.mjs';

export const HOST = 'api.bitso.com';

/** Bitso's messages for the codes the mock can send. */
export const ERROR_MESSAGES = {
  '0201': 'Invalid Nonce or Invalid Credentials',
  '0202': 'API key is not authorized to execute the requested method',
  '0207': 'Invalid nonce value',
  '0208': 'Authentication is required',
  '0213': 'IP address is not allowed to access this resource',
  '0215': 'Incorrect request signature',
  '0216': 'Your account is restricted',
  '0326': 'API key is not active',
  '0705': 'Your account is currently suspended',
  '0801': 'You have hit the request rate-limit',
  '1401': 'Not found',
};

/** HTTP status Bitso uses for an error code's category (first two digits). */
export function statusForCode(code) {
  const category = code.slice(0, 2);
  return { '01': 500, '02': 401, '08': 420, '11': 500, '14': 404 }[category] ?? 400;
}

/** An HTML error page like the ones Cloudflare puts in front of api.bitso.com. */
function cloudflarePage(status) {
  const title = status === 403
    ? 'Access denied | api.bitso.com used Cloudflare to restrict access'
    : `api.bitso.com | ${status}: ${status === 502 ? 'Bad gateway' : 'Error'}`;
  return `<!DOCTYPE html>
<html lang="en-US"><head><title>${title}</title></head>
<body><h1>Error ${status === 403 ? 1020 : status}</h1><p>${title}</p><p>Cloudflare Ray ID: 8f1e2d3c4b5a6978</p></body></html>
`;
}

/** The signature Bitso expects, as lowercase hex. */
export function sign(secret, nonce, method, path, body = '') {
  return createHmac('sha256', secret).update(`${nonce}${method}${path}${body}`).digest('hex');
}

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

function bitsoError(code, status = statusForCode(code)) {
  return json(status, { success: false, error: { code, message: ERROR_MESSAGES[code] ?? 'Error' } });
}

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault) {
  if (fault === 'timeout') return { hang: true };
  if (fault === 'malformed') return { status: 200, body: '{"success":true,"payload":{"balances":[{"currency":"mx' };
  if (fault === 'redirect') return redirectResponse();
  if (fault === 'huge') return { status: 200, body: `{"success":true,"payload":{"balances":[],"padding":"${'x'.repeat(9 * 1024 * 1024)}"}}` };
  let m = /^html(\d{3})$/.exec(fault);
  if (m) return { status: Number(m[1]), type: 'text/html; charset=UTF-8', body: cloudflarePage(Number(m[1])) };
  m = /^error:(\d{4})$/.exec(fault);
  if (m) return bitsoError(m[1]);
  m = /^retry-after:(.+)$/.exec(fault);
  if (m) return { status: 429, type: 'text/plain', body: '429 Too Many Requests', headers: { 'retry-after': m[1] } };
  m = /^http:(\d{3})(?::(\d{4}))?$/.exec(fault);
  if (m) {
    const status = Number(m[1]);
    // Cloudflare's own 429 says when to come back; Bitso's 420 does not.
    const headers = status === 429 ? { 'retry-after': '2' } : {};
    if (m[2]) return { ...bitsoError(m[2], status), headers };
    return { status, type: 'text/plain', body: `${status} error`, headers };
  }
  throw new Error(`unknown fault ${fault}`);
}

/** The query string of a request path. */
function query(path) {
  return new URL(path, `https://${HOST}`).searchParams;
}

/** The most ledger rows Bitso sends at once, and how many without `limit`. */
const LEDGER_LIMIT = { max: 100, default: 25 };

/** One page of `ledger` for the `marker`, `sort` and `limit` of `params`, as Bitso pages it. */
export function ledgerPage(ledger, params) {
  const oldestFirst = ledger
    .map((row, index) => ({ row, index, at: Date.parse(row.created_at) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ row }) => row);
  const ordered = params.get('sort') === 'asc' ? oldestFirst : oldestFirst.reverse();
  const requested = Number.parseInt(params.get('limit') ?? '', 10);
  const limit = Number.isInteger(requested) && requested > 0 ? Math.min(requested, LEDGER_LIMIT.max) : LEDGER_LIMIT.default;
  const marker = params.get('marker');
  const from = marker === null ? 0 : ordered.findIndex((row) => row.eid === marker) + 1;
  // findIndex gives -1 for an eid the ledger does not hold: nothing follows it.
  if (marker !== null && from === 0) return [];
  return ordered.slice(from, from + limit);
}

export const DAY_MS = 86_400_000;

/** Day number (days since 1970-01-01 UTC) of a closes-table key: a day number or 'YYYY-MM-DD'. */
export function dayOfKey(key) {
  if (/^\d+$/.test(String(key))) return Number(key);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(key));
  if (!m) throw new Error(`closes: ${key} is neither a day number nor YYYY-MM-DD`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

/** `price` × `numerator` / 1000, exactly, as a decimal string without trailing zeros. */
function scaleByPerMille(price, numerator) {
  const [whole, fraction = ''] = price.split('.');
  const scale = fraction.length + 3;
  const digits = (BigInt(whole + fraction) * BigInt(numerator)).toString().padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}

/** The close a book with a ticker but no closes table has on `day` (`today` closes at `last`). */
export function derivedClose(last, day, today) {
  if (day === today) return last;
  return scaleByPerMille(last, 1000 + ((day * 7919) % 201) - 100);
}

/** The answer to a daily-candles request, from the closes table or the tickers. */
function candles(params, { markets, closes }) {
  const book = params.get('book');
  const start = Number(params.get('start'));
  const end = Number(params.get('end'));
  if (params.get('time_bucket') !== '86400' || !params.get('start') || !params.get('end') || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    return { status: 400, type: 'text/plain', body: 'the mock serves daily candles only, with start and end in ms' };
  }
  const table = closes[book];
  const ticker = markets.find((t) => t.book === book);
  if (!table && !ticker) return json(400, { success: false, error: { code: '0301', message: 'Unknown OrderBook' } });
  const firstDay = Math.ceil(start / DAY_MS);
  const lastDay = Math.floor(end / DAY_MS);
  let days;
  if (table) {
    days = Object.entries(table)
      .map(([key, close]) => ({ day: dayOfKey(key), close: String(close) }))
      .filter(({ day }) => day >= firstDay && day <= lastDay)
      .sort((a, b) => a.day - b.day);
  } else {
    const today = Math.floor(Date.now() / DAY_MS);
    days = [];
    for (let day = firstDay; day <= Math.min(lastDay, today); day++) days.push({ day, close: derivedClose(ticker.last, day, today) });
  }
  const payload = days.map(({ day, close }) => ({
    bucket_start_time: day * DAY_MS,
    first_trade_time: day * DAY_MS + 1000,
    last_trade_time: (day + 1) * DAY_MS - 1000,
    first_rate: close,
    last_rate: close,
    min_rate: close,
    max_rate: close,
    trade_count: 1,
    volume: '1',
    vwap: close,
  }));
  return json(200, { success: true, payload });
}

export function createBitso({ accounts = {}, tickers = TICKERS, closes = {} } = {}) {
  const requests = [];
  const usedNonces = new Map(); // apiKey → Set of nonces
  const faults = faultTable(faultResponse);
  let markets = tickers;
  let closeTable = closes;

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
      else if (response.status >= 400 || String(response.body ?? '').startsWith('{"success":false')) {
        const m = /"code":"(\d+)"/.exec(response.body ?? '');
        log.error = m ? m[1] : `http:${response.status}`;
      }
      return response;
    };
    const faulted = (targets) => {
      const fault = faults.take(targets);
      if (!fault) return null;
      log.fault = fault;
      return finish(faultResponse(fault));
    };

    /** The account a signed request is for, or the error Bitso answers instead. */
    const authenticate = () => {
      const auth = /^Bitso ([^:]+):([^:]+):([0-9a-fA-F]+)$/.exec(req.headers.authorization ?? '');
      if (!auth) {
        log.authorized = false;
        return { refused: finish(bitsoError('0208')) };
      }
      const [, apiKey, nonce, signature] = auth;
      log.apiKey = apiKey;
      log.nonce = nonce;
      const account = accounts[apiKey];
      if (!account) {
        log.authorized = false;
        return { refused: finish(bitsoError('0201')) };
      }
      const expected = Buffer.from(sign(account.secret, nonce, method, path, body), 'hex');
      const given = Buffer.from(signature.toLowerCase(), 'hex');
      log.authorized = given.length === expected.length && timingSafeEqual(given, expected);
      if (!log.authorized) return { refused: finish(bitsoError('0215')) };
      const seen = usedNonces.get(apiKey) ?? new Set();
      usedNonces.set(apiKey, seen);
      if (!/^\d{14,19}$/.test(nonce) || seen.has(nonce)) return { refused: finish(bitsoError('0207')) };
      seen.add(nonce);
      return { apiKey, account };
    };

    if (method === 'GET' && /^(\/api)?\/v3\/balance\/?$/.test(pathname)) {
      const { refused, apiKey, account } = authenticate();
      if (refused) return refused;
      return faulted([apiKey, '*']) ?? finish(json(200, { success: true, payload: { balances: account.balances } }));
    }

    if (method === 'GET' && /^(\/api)?\/v3\/ledger\/?$/.test(pathname)) {
      const { refused, apiKey, account } = authenticate();
      if (refused) return refused;
      const fault = faulted([`ledger:${apiKey}`, 'ledger']);
      if (fault) return fault;
      if (account.historyPermission === false) return finish(bitsoError('0202'));
      return finish(json(200, { success: true, payload: ledgerPage(account.ledger ?? [], query(path)) }));
    }

    if (method === 'GET' && /^(\/api)?\/v3\/ohlc\/?$/.test(pathname)) {
      log.authorized = req.headers.authorization ? 'unexpected-signature' : null;
      const fault = faulted(['ohlc']);
      if (fault) return fault;
      return finish(candles(query(path), { markets, closes: closeTable }));
    }

    if (method === 'GET' && /^(\/api)?\/v3\/ticker\/?$/.test(pathname)) {
      log.authorized = req.headers.authorization ? 'unexpected-signature' : null;
      const fault = faulted(['ticker', '*']);
      if (fault) return fault;
      const book = query(path).get('book');
      if (!book) return finish(json(200, { success: true, payload: markets }));
      const ticker = markets.find((t) => t.book === book);
      if (!ticker) return finish(json(400, { success: false, error: { code: '0301', message: 'Unknown OrderBook' } }));
      return finish(json(200, { success: true, payload: ticker }));
    }

    return finish(bitsoError('1401'));
  }

  return {
    exchange: 'bitso',
    hosts: [HOST],
    handle,
    requests,
    /** Balance requests only (the signed ones). */
    balanceRequests: () => requests.filter((r) => /\/v3\/balance/.test(r.path)),
    /** Ledger requests only (signed), each with the query it was sent with in `path`. */
    ledgerRequests: () => requests.filter((r) => /\/v3\/ledger/.test(r.path)),
    /** Candle requests only (public). */
    candleRequests: () => requests.filter((r) => /\/v3\/ohlc/.test(r.path)),
    /**
     * Make requests fail: target is an API key (its balance requests), 'ticker', '*' (balances
     * and tickers), 'ledger' (every ledger request), 'ledger:<apiKey>' (that key's) or 'ohlc';
     * fault as above or null to clear; `times` limits how many requests it hits (default: until
     * cleared). Ledger and candle requests answer only their own targets, so a fault armed for
     * balances is never spent on a history import running alongside.
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    setTickers(next) {
      markets = next;
    },
    /** Replaces the candle closes table (shape in the header comment). */
    setCloses(next) {
      closeTable = next;
    },
    /** The public books, normalised for the independent valuation (tests/e2e/expected.mjs). */
    books: () => markets.map((t) => {
      const [base, quote] = t.book.split('_');
      return { book: `bitso:${t.book}`, base, quote, last: t.last, volume: t.volume, change: t.change_24 ?? null };
    }),
  };
}

// A sample account, with keys only this stand-in accepts (none of them is, or looks like, a real
// credential), for the demo, the benchmark and the tests that span every exchange.
export const SAMPLE_ACCOUNT = {
  label: 'Bitso',
  apiKey: 'DEMOnotARealBitsoKey',
  secret: 'demo-secret-only-the-local-bitso-stand-in-accepts',
  balances: [balance('mxn', '18250.40'), balance('btc', '0.0423'), balance('eth', '1.25'), balance('xrp', '800'), balance('usd', '120.00')],
  // The ledger that leaves those balances (Bitso's shape: https://docs.bitso.com/bitso-api/docs/list-ledger),
  // for the Profit and loss page.
  ledger: [
    ledgerRow('demo-1', 'funding', '2025-06-02T15:04:05.000+00:00', [['mxn', '156675.40']]),
    ledgerRow('demo-2', 'funding', '2025-06-02T15:10:00.000+00:00', [['usd', '120.00']]),
    ledgerRow('demo-3', 'trade', '2025-06-10T18:30:00.000+00:00', [['btc', '0.03000000'], ['mxn', '-45000.00']]),
    ledgerRow('demo-4', 'fee', '2025-06-10T18:30:00.000+00:00', [['mxn', '-225.00']]),
    ledgerRow('demo-5', 'trade', '2025-07-15T12:00:00.000+00:00', [['eth', '1.25000000'], ['mxn', '-62500.00']]),
    ledgerRow('demo-6', 'trade', '2025-09-01T09:45:00.000+00:00', [['btc', '0.01230000'], ['mxn', '-21500.00']]),
    ledgerRow('demo-7', 'trade', '2025-10-01T20:15:00.000+00:00', [['xrp', '800.00000000'], ['mxn', '-9200.00']]),
  ],
};

function ledgerRow(eid, operation, createdAt, updates) {
  return { eid, operation, created_at: createdAt, balance_updates: updates.map(([currency, amount]) => ({ currency, amount })), details: {} };
}

/** What `account` holds per asset, `{ asset: decimalString }`: Bitso's totals as they are. */
export function expectedHoldings(account) {
  return Object.fromEntries(account.balances.map((b) => [b.currency, b.total]));
}
