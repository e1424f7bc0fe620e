// Row 3: valuing 10 accounts × 300 assets against 400 books, natively (bench/valuation.rs, a
// release binary) and as wasm in Node (the bench build's benchValue / benchValueRepeat), on the
// same generated inputs. Both totals must agree with each other and with the independent
// BigInt valuation the end-to-end tests use.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expectedPortfolio, Q } from '../tests/e2e/expected.mjs';
import { log, stats } from './lib.mjs';

export const SHAPE = { accounts: 10, assets: 300, books: 400 };

/** Deterministic pseudo-random integers (xorshift32), so every run values the same portfolio. */
export function rng(seed) {
  let state = seed >>> 0 || 1;
  return (limit) => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % limit;
  };
}

/** "123456789" with `scale` decimals → "1234.56789". */
function decimal(units, scale) {
  const digits = String(units).padStart(scale + 1, '0');
  return scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
}

/**
 * Every asset has exactly one shortest route to mxn, so the independent valuation (direct books
 * and two hops through usd, btc or usdt) prices it the same way:
 *   a000–a149 trade against mxn; a150–a229 against usd; a230–a269 against btc; a270–a289
 *   against usdt; a290–a299 have no book (unpriced). 107 cross books between mxn-traded assets
 *   (a000_a001, …) make the graph bigger without changing any shortest route.
 */
export function makeInputs({ accounts = SHAPE.accounts, assets = SHAPE.assets, books = SHAPE.books } = {}) {
  const next = rng(0x5eed);
  const names = Array.from({ length: assets }, (_, i) => `a${String(i).padStart(3, '0')}`);
  const quoteOf = (i) => (i < 150 ? 'mxn' : i < 230 ? 'usd' : i < 270 ? 'btc' : i < 290 ? 'usdt' : null);
  const tickers = [];
  const ticker = (book, last, volume, change) =>
    tickers.push({
      book, last, volume, change_24: change, high: last, low: last, vwap: last, ask: last, bid: last,
      created_at: '2026-11-24T06:00:00+00:00',
    });
  ticker('usd_mxn', '17.2450', '2500000.00', '0.0120');
  ticker('btc_mxn', '1750000.50', '45.12345678', '-1250.00');
  ticker('usdt_mxn', '17.2610', '3100000.00', '0.0105');
  names.forEach((name, i) => {
    const quote = quoteOf(i);
    if (!quote) return;
    const scale = quote === 'btc' ? 10 : 4;
    const last = decimal(1 + next(50_000_000), scale);
    ticker(`${name}_${quote}`, last, decimal(next(100_000_000_000), 4), `-${decimal(next(10_000), scale)}`);
  });
  for (let i = 0; tickers.length < books; i++) {
    ticker(`${names[i]}_${names[i + 1]}`, decimal(1 + next(1_000_000), 6), decimal(next(10_000_000), 2), null);
  }
  if (tickers.length !== books) throw new Error(`made ${tickers.length} books, wanted ${books}`);

  const accountList = Array.from({ length: accounts }, (_, a) => ({
    id: `account${a}`,
    label: `Account ${a}`,
    balances: names.map((currency) => {
      const total = next(1_000_000_000_000);
      const locked = next(total + 1) >> 3;
      return { currency, total: decimal(total, 8), available: decimal(total - locked, 8), locked: decimal(locked, 8) };
    }),
  }));
  return {
    accounts: accountList,
    accountsJson: JSON.stringify(accountList),
    tickers,
    tickersJson: JSON.stringify({ success: true, payload: tickers }),
  };
}

/** |a − b| ≤ 1e-12 on exact decimal strings. */
function close(a, b) {
  const diff = Q.parse(a).add(new Q(-Q.parse(b).n, Q.parse(b).d));
  return new Q(diff.n < 0n ? -diff.n : diff.n, diff.d).cmp(new Q(1n, 10n ** 12n)) <= 0;
}

export function benchValuation(core, { nativeBin, workDir, runs = 7 }) {
  const inputs = makeInputs();
  const accountsPath = join(workDir, 'valuation-accounts.json');
  const tickersPath = join(workDir, 'valuation-tickers.json');
  writeFileSync(accountsPath, inputs.accountsJson);
  writeFileSync(tickersPath, inputs.tickersJson);

  // Native: the release binary times itself with std::time::Instant.
  const native = JSON.parse(
    execFileSync(nativeBin, [accountsPath, tickersPath, 'mxn', '100', String(runs)], { encoding: 'utf8' }).trim(),
  );

  // Wasm in Node: the valuation alone (parsed once, build_snapshot looped inside wasm) and the
  // whole call from JS (JSON in, snapshot JSON out), as the background would pay it.
  const valueOnly = [];
  const pipeline = [];
  const repeat = 100;
  const call = 20;
  let snapshot = JSON.parse(core.benchValue(inputs.accountsJson, inputs.tickersJson, 'mxn'));
  core.benchValueRepeat(inputs.accountsJson, inputs.tickersJson, 'mxn', repeat);
  for (let r = 0; r < runs; r++) {
    let start = process.hrtime.bigint();
    core.benchValueRepeat(inputs.accountsJson, inputs.tickersJson, 'mxn', repeat);
    valueOnly.push(Number(process.hrtime.bigint() - start) / 1e6 / repeat);
    start = process.hrtime.bigint();
    for (let i = 0; i < call; i++) snapshot = core.benchValue(inputs.accountsJson, inputs.tickersJson, 'mxn');
    pipeline.push(Number(process.hrtime.bigint() - start) / 1e6 / call);
  }
  snapshot = JSON.parse(snapshot);
  // benchValueRepeat's parse time, to subtract: one call with a single iteration.
  const parseOnly = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    core.benchValueRepeat(inputs.accountsJson, inputs.tickersJson, 'mxn', 0);
    parseOnly.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const parseMs = stats(parseOnly).median;

  const expected = expectedPortfolio(inputs.accounts, inputs.tickers, 'mxn');
  const checks = {
    nativeMatchesWasm: native.total === snapshot.total,
    matchesIndependent: close(snapshot.total, expected.total.toFixed(18)),
    assets: snapshot.assets.length === expected.assets.length && snapshot.unpriced.length === expected.unpriced.length,
  };
  if (!checks.nativeMatchesWasm || !checks.matchesIndependent || !checks.assets) {
    throw new Error(`valuation results disagree: ${JSON.stringify({ checks, native: native.total, wasm: snapshot.total, expected: expected.total.toFixed(12) })}`);
  }
  const result = {
    shape: { accounts: native.accounts, balances: native.balances, books: native.books, assets: native.assets, unpriced: native.unpriced },
    native: stats(native.value_ns.map((ns) => ns / 1e6)),
    nativePipeline: stats(native.pipeline_ns.map((ns) => ns / 1e6)),
    nativeIterations: native.iterations,
    // benchValueRepeat's timing includes one parse per call, spread over `repeat` iterations.
    wasm: stats(valueOnly.map((ms) => Math.max(0, ms - parseMs / repeat))),
    wasmPipeline: stats(pipeline),
    wasmIterations: { repeat, call },
    runs,
    total: snapshot.total,
  };
  log(`valuation: native ${result.native.median.toFixed(3)} ms, wasm ${result.wasm.median.toFixed(3)} ms, wasm from JS ${result.wasmPipeline.median.toFixed(3)} ms`);
  return result;
}
