// Row 2: signing one Bitso balance request. Cartera's wasm (the bench build's benchSignBitso,
// which calls the Bitso adapter's signed_request) against ccxt's bitso.sign(), same key, secret
// and fixed nonce, in the same Node process, runs interleaved.

import { readFileSync } from 'node:fs';

import ccxt from 'ccxt';

import { sign as referenceSign } from '../tests/e2e/mock-bitso.mjs';
import { ACCOUNT_A } from '../tests/e2e/fixtures.mjs';
import { log, stats, timePerOp } from './lib.mjs';

export const NONCE = '1764000000000123456';
// The package's version (ccxt.version may lag it by a release).
const ccxtVersion = JSON.parse(readFileSync(new URL('./node_modules/ccxt/package.json', import.meta.url), 'utf8')).version;

export function benchSigning(core, { iterations = 40_000, runs = 7 } = {}) {
  const { apiKey, secret } = ACCOUNT_A;
  const exchange = new ccxt.bitso({ apiKey, secret });
  exchange.nonce = () => NONCE;
  const ccxtSign = () => exchange.sign('balance', 'private', 'GET', {});
  const carteraSign = () => core.benchSignBitso(apiKey, secret, NONCE, 'GET', '/v3/balance/', undefined);

  // Same work: ccxt signs /api/v3/balance, Cartera /v3/balance/ (both accepted by Bitso). Signing
  // ccxt's path with Cartera must give ccxt's header, and both must match node:crypto.
  const ccxtHeader = ccxtSign().headers.Authorization;
  const carteraSamePath = core.benchSignBitso(apiKey, secret, NONCE, 'GET', '/api/v3/balance', undefined);
  const expected = `Bitso ${apiKey}:${NONCE}:${referenceSign(secret, NONCE, 'GET', '/api/v3/balance')}`;
  if (ccxtHeader !== expected) throw new Error(`ccxt header ${ccxtHeader} != ${expected}`);
  if (carteraSamePath !== expected) throw new Error(`Cartera header ${carteraSamePath} != ${expected}`);
  const own = carteraSign();
  if (own !== `Bitso ${apiKey}:${NONCE}:${referenceSign(secret, NONCE, 'GET', '/v3/balance/')}`) {
    throw new Error('Cartera signature for /v3/balance/ does not match node:crypto');
  }

  // Interleave the runs so a slow phase of the machine hits both.
  const cartera = [];
  const ccxtRuns = [];
  const warmup = iterations;
  timePerOp(carteraSign, { iterations: warmup, runs: 1, warmup: 0 });
  timePerOp(ccxtSign, { iterations: warmup, runs: 1, warmup: 0 });
  for (let r = 0; r < runs; r++) {
    cartera.push(...timePerOp(carteraSign, { iterations, runs: 1, warmup: 0 }));
    ccxtRuns.push(...timePerOp(ccxtSign, { iterations, runs: 1, warmup: 0 }));
  }
  // Where Cartera's time goes: the same signing looped inside wasm, no JS boundary per call.
  const inWasm = [];
  core.benchSignBitsoRepeat(apiKey, secret, NONCE, 'GET', '/v3/balance/', iterations);
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    core.benchSignBitsoRepeat(apiKey, secret, NONCE, 'GET', '/v3/balance/', iterations);
    inWasm.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  const result = { cartera: stats(cartera), inWasm: stats(inWasm), ccxt: stats(ccxtRuns), iterations, runs, ccxtVersion };
  log(`signing: Cartera ${result.cartera.median.toFixed(3)} µs, ccxt ${result.ccxt.median.toFixed(3)} µs (median of ${runs} × ${iterations})`);
  return result;
}
