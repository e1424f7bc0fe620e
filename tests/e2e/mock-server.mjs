// One local HTTPS server standing in for every exchange host. Chromium reaches it under the real
// host names through --host-resolver-rules, so the shipped build is tested unchanged; the server
// picks the exchange mock by the request's Host header. The certificate is self-signed for all of
// the hosts (the browser runs with --ignore-certificate-errors).
//
//   const server = await startMockServer([createBitso({ … }), createKraken({ … })]);
//   server.port, server.hosts, server.requests (every request, all hosts), server.setLatency(ms),
//   server.hostRules() (the --host-resolver-rules value), server.close()
//
// A mock is an object { hosts: [name…], handle(request) → response }, where request is
// { method, path, host, headers, body } (path exactly as received, query included) and response
// is { status, body, type?, headers?, hang? }. `hang: true` never answers (a timeout). Requests to
// a host no mock serves (where a redirect would lead) are answered 421 and logged as strays.

import { execFileSync } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a mock redirect points: mapped to this server too, so a followed redirect would show. */
export const STRAY_HOST = 'collector.invalid-exchange.example';

const certificates = new Map();
/** A throwaway key and self-signed certificate for `hosts`, made with the openssl CLI. */
export function makeCertificate(hosts) {
  const names = [...new Set(hosts)].sort();
  const cacheKey = names.join(',');
  if (certificates.has(cacheKey)) return certificates.get(cacheKey);
  const dir = mkdtempSync(join(tmpdir(), 'mock-exchanges-'));
  try {
    const san = names.map((host) => `DNS:${host}`).join(',');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`, '-days', '2'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const pair = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    certificates.set(cacheKey, pair);
    return pair;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startMockServer(mocks, { latency = 0 } = {}) {
  const byHost = new Map();
  for (const mock of mocks) for (const host of mock.hosts) byHost.set(host, mock);
  const hosts = [...byHost.keys(), STRAY_HOST];
  const requests = [];
  const sockets = new Set();
  const hanging = new Set();
  let latencyMs = latency;

  const server = createServer(makeCertificate(hosts), (req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
      const request = { method: req.method, path: req.url, host, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const mock = byHost.get(host);
      const response = mock
        ? mock.handle(request)
        : { status: 421, type: 'text/plain', body: 'misdirected', stray: true };
      requests.push({ host, method: req.method, path: req.url, at: Date.now(), stray: Boolean(response.stray), origin: req.headers.origin ?? null });
      const send = () => {
        if (response.hang) {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        res.writeHead(response.status, {
          'content-type': response.type ?? 'application/json',
          'cache-control': 'no-store',
          ...response.headers,
        });
        res.end(response.body ?? '');
      };
      const delay = response.delayMs ?? latencyMs;
      if (delay > 0) setTimeout(send, delay);
      else send();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;

  return {
    port,
    hosts,
    requests,
    /** Requests that reached a host no mock serves (a followed redirect, a stray fetch). */
    strays: () => requests.filter((r) => r.stray),
    setLatency(ms) {
      latencyMs = ms;
    },
    /** The value for Chromium's --host-resolver-rules: every host to this server. */
    hostRules() {
      return hosts.map((host) => `MAP ${host} 127.0.0.1:${port}`).join(', ');
    },
    async close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Fault bookkeeping shared by the mocks: `set(target, fault, { times })` arms a fault for a
 * target (an API key, 'ticker', '*'), `take(targets)` returns the first armed one and counts it.
 */
export function faultTable(validate = () => {}) {
  const faults = new Map();
  return {
    set(target, fault, { times = Infinity } = {}) {
      if (fault == null) faults.delete(target);
      else {
        validate(fault);
        faults.set(target, { fault, times });
      }
    },
    clear() {
      faults.clear();
    },
    take(targets) {
      for (const target of targets) {
        const f = faults.get(target);
        if (!f) continue;
        if (f.times !== Infinity && --f.times <= 0) faults.delete(target);
        return f.fault;
      }
      return null;
    },
  };
}

/** A redirect to a host no exchange owns: the client must refuse to follow it. */
export function redirectResponse() {
  return { status: 302, type: 'text/plain', body: 'moved', headers: { location: `https://${STRAY_HOST}/collect` } };
}

/** The faults every stand-in answers alike: no answer at all, and a redirect off the exchange. */
export const TRANSPORT_FAULTS = { timeout: () => ({ hang: true }), redirect: () => redirectResponse() };

/**
 * A stand-in's `faultResponse`: the response a fault of `named` (or of TRANSPORT_FAULTS) stands
 * for. It throws on an unknown fault, so a test fails when it arms one.
 */
export function faultResponder(named) {
  return (fault) => {
    const make = named[fault] ?? TRANSPORT_FAULTS[fault];
    if (!make) throw new Error(`unknown fault ${fault}`);
    return make();
  };
}

/** Whether `given` (a header or a body field, possibly missing) equals `expected`, compared in constant time. */
export function sameSecret(given, expected) {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * One HTTPS request to a mock as `host`, with `ca` (the mock's certificate) the only trusted root,
 * for the mocks' own tests: `{ status, text, body (the JSON, or null), headers }`.
 */
export function requestMock({ port, host, ca, method = 'GET', path, headers = {}, body, timeout = 5000 }) {
  return new Promise((resolve, reject) => {
    const length = body ? { 'content-length': Buffer.byteLength(body) } : {};
    const req = request(
      { host: '127.0.0.1', port, path, method, servername: host, ca, headers: { host, ...headers, ...length }, timeout },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode, text, body: json, headers: res.headers });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
