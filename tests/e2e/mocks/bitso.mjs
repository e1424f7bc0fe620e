// A stand-in for https://api.bitso.com. It checks every signature the way Bitso documents it:
//   Authorization: Bitso <key>:<nonce>:<hex HMAC-SHA256(secret, nonce + method + path + body)>
// with nonce v2 (14–19 digits; order does not matter, exact reuse is rejected).
//
//   const bitso = createBitso({ accounts: { [apiKey]: { secret, balances } }, tickers });
//   bitso.requests, bitso.balanceRequests(), bitso.setFault(apiKey | '*' | 'ticker', fault | null, { times }),
//   bitso.setAccount(apiKey, account), bitso.setTickers(tickers)
//
// Faults: 'error:<code>' (Bitso error body, HTTP status from the code's category),
// 'http:<status>' (plain-text body), 'http:<status>:<code>' (that status with a Bitso error body),
// 'timeout' (never answers), 'malformed' (truncated JSON), 'html<status>' (Cloudflare's HTML page,
// e.g. 'html403' access denied, 'html502' bad gateway), 'redirect' (302 to another host),
// 'huge' (a body far larger than any real answer), 'retry-after:<value>' (HTTP 429 with that header).

import { createHmac, timingSafeEqual } from 'node:crypto';

import { TICKERS } from '../fixtures.mjs';
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

export function createBitso({ accounts = {}, tickers = TICKERS } = {}) {
  const requests = [];
  const usedNonces = new Map(); // apiKey → Set of nonces
  const faults = faultTable(faultResponse);
  let markets = tickers;

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

    if (method === 'GET' && /^(\/api)?\/v3\/balance\/?$/.test(pathname)) {
      const auth = /^Bitso ([^:]+):([^:]+):([0-9a-fA-F]+)$/.exec(req.headers.authorization ?? '');
      if (!auth) {
        log.authorized = false;
        return finish(bitsoError('0208'));
      }
      const [, apiKey, nonce, signature] = auth;
      log.apiKey = apiKey;
      log.nonce = nonce;
      const account = accounts[apiKey];
      if (!account) {
        log.authorized = false;
        return finish(bitsoError('0201'));
      }
      const expected = Buffer.from(sign(account.secret, nonce, method, path, body), 'hex');
      const given = Buffer.from(signature.toLowerCase(), 'hex');
      log.authorized = given.length === expected.length && timingSafeEqual(given, expected);
      if (!log.authorized) return finish(bitsoError('0215'));
      const seen = usedNonces.get(apiKey) ?? new Set();
      usedNonces.set(apiKey, seen);
      if (!/^\d{14,19}$/.test(nonce) || seen.has(nonce)) return finish(bitsoError('0207'));
      seen.add(nonce);
      return faulted([apiKey, '*']) ?? finish(json(200, { success: true, payload: { balances: account.balances } }));
    }

    if (method === 'GET' && /^(\/api)?\/v3\/ticker\/?$/.test(pathname)) {
      log.authorized = req.headers.authorization ? 'unexpected-signature' : null;
      const fault = faulted(['ticker', '*']);
      if (fault) return fault;
      const book = new URL(path, `https://${HOST}`).searchParams.get('book');
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
    /**
     * Make requests fail: target is an API key, 'ticker' or '*' (everything); fault as above or
     * null to clear; `times` limits how many requests it hits (default: until cleared).
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    setTickers(next) {
      markets = next;
    },
    /** The public books, normalised for the independent valuation (tests/e2e/expected.mjs). */
    books: () => markets.map((t) => {
      const [base, quote] = t.book.split('_');
      return { book: `bitso:${t.book}`, base, quote, last: t.last, volume: t.volume, change: t.change_24 ?? null };
    }),
  };
}
