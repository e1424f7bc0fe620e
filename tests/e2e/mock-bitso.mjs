// A local stand-in for https://api.bitso.com, served over HTTPS with a self-signed certificate
// for api.bitso.com, so the shipped extension can be tested unchanged (the browser maps the host
// name to this server). It checks every signature the way Bitso documents it:
//   Authorization: Bitso <key>:<nonce>:<hex HMAC-SHA256(secret, nonce + method + path + body)>
// with nonce v2 (14–19 digits; order does not matter, exact reuse is rejected).
//
//   const mock = await startMockBitso({ accounts: { [apiKey]: { secret, balances } }, tickers });
//   mock.port, mock.requests, mock.setFault(apiKey | '*' | 'ticker', fault | null, { times }),
//   mock.setLatency(ms), mock.close()
//
// Faults: 'error:<code>' (Bitso error body, HTTP status from the code's category),
// 'http:<status>' (plain-text body), 'http:<status>:<code>' (that status with a Bitso error body),
// 'timeout' (never answers), 'malformed' (truncated JSON), 'html<status>' (Cloudflare's HTML page,
// e.g. 'html403' access denied, 'html502' bad gateway).

import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TICKERS } from './fixtures.mjs';

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

let certCache = null;
/** A throwaway key and self-signed certificate for api.bitso.com, made with the openssl CLI. */
export function makeCertificate() {
  if (certCache) return certCache;
  const dir = mkdtempSync(join(tmpdir(), 'mock-bitso-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-days', '2'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    certCache = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    return certCache;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The signature Bitso expects, as lowercase hex. */
export function sign(secret, nonce, method, path, body = '') {
  return createHmac('sha256', secret).update(`${nonce}${method}${path}${body}`).digest('hex');
}

export async function startMockBitso({ accounts = {}, tickers = TICKERS, latency = 0 } = {}) {
  const requests = [];
  const usedNonces = new Map(); // apiKey → Set of nonces
  const faults = new Map(); // target → { fault, times }
  const sockets = new Set();
  const hanging = new Set();
  let latencyMs = latency;

  const server = createServer(makeCertificate(), (req, res) => {
    const body = [];
    req.on('data', (chunk) => body.push(chunk));
    req.on('end', () => {
      const entry = handle(req, Buffer.concat(body).toString('utf8'));
      requests.push(entry.log);
      const send = () => {
        if (entry.hang) {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        res.writeHead(entry.status, {
          'content-type': entry.type ?? 'application/json',
          'cache-control': 'no-store',
          ...entry.headers,
        });
        res.end(entry.body);
      };
      if (latencyMs > 0) setTimeout(send, latencyMs);
      else send();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function takeFault(targets) {
    for (const target of targets) {
      const f = faults.get(target);
      if (!f) continue;
      if (f.times !== Infinity && --f.times <= 0) faults.delete(target);
      return f.fault;
    }
    return null;
  }

  function json(status, value, extra = {}) {
    return { status, body: JSON.stringify(value), ...extra };
  }
  function bitsoError(code, status = statusForCode(code)) {
    return json(status, { success: false, error: { code, message: ERROR_MESSAGES[code] ?? 'Error' } });
  }
  function faultResponse(fault) {
    if (fault === 'timeout') return { hang: true };
    if (fault === 'malformed') return { status: 200, body: '{"success":true,"payload":{"balances":[{"currency":"mx' };
    let m = /^html(\d{3})$/.exec(fault);
    if (m) return { status: Number(m[1]), type: 'text/html; charset=UTF-8', body: cloudflarePage(Number(m[1])) };
    m = /^error:(\d{4})$/.exec(fault);
    if (m) return bitsoError(m[1]);
    m = /^http:(\d{3})(?::(\d{4}))?$/.exec(fault);
    if (m) {
      const status = Number(m[1]);
      if (m[2]) return { ...bitsoError(m[2], status), headers: status === 429 ? { 'retry-after': '2' } : {} };
      // Cloudflare's own 429 says when to come back; Bitso's 420 does not.
      const headers = status === 429 ? { 'retry-after': '2' } : {};
      return { status, type: 'text/plain', body: `${status} error`, headers };
    }
    throw new Error(`unknown fault ${fault}`);
  }

  function handle(req, body) {
    const method = req.method;
    const path = req.url; // exactly as received: what the client must have signed
    const pathname = path.split('?')[0];
    const log = {
      method, path, host: req.headers.host ?? null, apiKey: null, nonce: null,
      authorized: null, error: null, fault: null, at: Date.now(),
    };
    const finish = (response) => {
      if (response.hang) log.error = 'timeout';
      else if (response.status >= 400 || response.body?.startsWith('{"success":false')) {
        const m = /"code":"(\d+)"/.exec(response.body ?? '');
        log.error = m ? m[1] : `http:${response.status}`;
      }
      return { ...response, log };
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
      if (!/^\d{14,19}$/.test(nonce) || seen.has(nonce)) {
        return finish(bitsoError('0207'));
      }
      seen.add(nonce);
      const fault = takeFault([apiKey, '*']);
      if (fault) {
        log.fault = fault;
        return finish(faultResponse(fault));
      }
      return finish(json(200, { success: true, payload: { balances: account.balances } }));
    }

    if (method === 'GET' && /^(\/api)?\/v3\/ticker\/?$/.test(pathname)) {
      log.authorized = req.headers.authorization ? 'unexpected-signature' : null;
      const fault = takeFault(['ticker', '*']);
      if (fault) {
        log.fault = fault;
        return finish(faultResponse(fault));
      }
      const book = new URL(path, `https://${HOST}`).searchParams.get('book');
      if (!book) return finish(json(200, { success: true, payload: tickers }));
      const ticker = tickers.find((t) => t.book === book);
      if (!ticker) return finish(json(400, { success: false, error: { code: '0301', message: 'Unknown OrderBook' } }));
      return finish(json(200, { success: true, payload: ticker }));
    }

    return finish(bitsoError('1401'));
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    port: server.address().port,
    requests,
    /** Balance requests only (the signed ones). */
    balanceRequests: () => requests.filter((r) => /\/v3\/balance/.test(r.path)),
    /**
     * Make requests fail: target is an API key, 'ticker' or '*' (everything); fault as above or
     * null to clear; `times` limits how many requests it hits (default: until cleared).
     */
    setFault(target, fault, { times = Infinity } = {}) {
      if (fault == null) faults.delete(target);
      else {
        faultResponse(fault); // validate now, not at request time
        faults.set(target, { fault, times });
      }
    },
    clearFaults() {
      faults.clear();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    async close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
