// `./build.sh bench`: measures the shipped build and the core on this machine, prints a Markdown
// table and writes it to BENCHMARKS.md. Nothing here asserts a goal; the command fails only when
// a figure could not be measured (or a cross-check between implementations disagreed).
//
//   node bench/run.mjs            after ./build.sh has built dist/, the bench wasm
//                                 (target/bench-wasm) and the native valuation binaries
// Environment: BENCH_QUICK=1 for fewer repetitions (a smoke run; figures are then rougher).
//              BENCH_ONLY=import,pnl,… measures only those (names as in `measure` below), prints
//              their rows and leaves BENCHMARKS.md as it is.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PASSPHRASE } from '../tests/e2e/fixtures.mjs';
import { benchBrowser } from './browser.mjs';
import { bytes, kib, log, machine, mib, num, spread } from './lib.mjs';
import { benchSigning } from './sign.mjs';
import { benchImport } from './import.mjs';
import { benchNews } from './news.mjs';
import { benchPnl } from './pnl.mjs';
import { benchPrices } from './prices.mjs';
import { measureSizes, wasmBreakdown } from './size.mjs';
import { benchValuation } from './valuation.mjs';
import { benchVaultNode } from './vault-node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((name) => name.trim())) : null;
/** The table's rows each measurement feeds. */
const ROWS_OF = {
  size: [1], breakdown: [12, 15], sign: [2], valuation: [3], valuationO3: [3], prices: [10], news: [11], pnl: [13], import: [14],
  vaultNode: [4], browser: [4, 5, 6, 7, 8, 9],
};
if (ONLY) {
  const unknown = [...ONLY].filter((name) => !ROWS_OF[name]);
  if (unknown.length) {
    console.error(`BENCH_ONLY: no measurement named ${unknown.join(', ')} (known: ${Object.keys(ROWS_OF).join(', ')})`);
    process.exit(2);
  }
}

const paths = {
  dist: join(ROOT, 'dist/chrome'),
  zip: join(ROOT, 'dist/cartera-chrome.zip'),
  ccxtBundle: join(ROOT, 'bench/node_modules/ccxt/dist/ccxt.browser.min.js'),
  benchWasm: join(ROOT, 'target/bench-wasm/cartera_bench.js'),
  native: join(ROOT, 'target/release/examples/bench_valuation'),
  nativeO3: join(ROOT, 'target/bench-o3/release/examples/bench_valuation'),
  nativePrices: join(ROOT, 'target/release/examples/bench_prices'),
  nativePricesO3: join(ROOT, 'target/bench-o3/release/examples/bench_prices'),
  // The shipped build's cargo output, before wasm-bindgen and wasm-opt (names still in it).
  cargoWasm: join(ROOT, 'target/wasm32-unknown-unknown/release/cartera.wasm'),
  out: join(ROOT, 'BENCHMARKS.md'),
};

const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};

const results = {};
const failures = [];

/** Runs one measurement (unless BENCH_ONLY leaves it out); a failure is recorded (and fails the
 * command) but the others go on. */
async function measure(name, fn) {
  if (ONLY && !ONLY.has(name)) return;
  try {
    results[name] = await fn();
  } catch (error) {
    if (error?.partial) results[name] = error.partial;
    failures.push({ name, error: error?.message ?? String(error) });
    log(`${name}: NOT MEASURED: ${error?.stack ?? error}`);
  }
}

const startedAt = new Date();
const loadBefore = loadavg();
const workDir = mkdtempSync(join(tmpdir(), 'cartera-bench-'));
let core = null;
try {
  core = require(paths.benchWasm);
} catch (error) {
  failures.push({ name: 'bench wasm', error: `cannot load ${paths.benchWasm}: ${error.message}` });
}

try {
  log('row 1: sizes');
  await measure('size', () => {
    // The bench exports live behind a cargo feature; the shipped glue must not know them.
    if (/bench(SignBitso|Value)|BenchHistoryImport/.test(readFileSync(join(paths.dist, 'wasm/cartera.js'), 'utf8'))) {
      throw new Error('dist/chrome/wasm was built with the bench feature');
    }
    return measureSizes({ distDir: paths.dist, zipPath: paths.zip, ccxtBundle: paths.ccxtBundle });
  });
  await measure('breakdown', () => {
    // The same wasm-opt flags as the shipped build (Cargo.toml's wasm-pack profile).
    const flags = /wasm-opt = \[([^\]]*)\]/.exec(readFileSync(join(ROOT, 'Cargo.toml'), 'utf8'))?.[1].match(/"[^"]+"/g).map((f) => f.slice(1, -1));
    if (!flags?.length) throw new Error('no wasm-opt flags in Cargo.toml');
    return wasmBreakdown({ cargoWasm: paths.cargoWasm, workDir: join(workDir, 'twiggy'), wasmOptFlags: flags });
  });
  log('row 2: signing');
  await measure('sign', () => {
    if (!core) throw new Error('no bench wasm');
    return benchSigning(core, QUICK ? { iterations: 5_000, runs: 3 } : { iterations: 40_000, runs: 7 });
  });
  log('row 3: valuation');
  await measure('valuation', () => {
    if (!core) throw new Error('no bench wasm');
    return benchValuation(core, { nativeBin: paths.native, workDir, runs: QUICK ? 3 : 7 });
  });
  await measure('valuationO3', () => {
    const out = execFileSync(paths.nativeO3, [join(workDir, 'valuation-accounts.json'), join(workDir, 'valuation-tickers.json'), 'mxn', '100', QUICK ? '3' : '7'], { encoding: 'utf8' });
    const parsed = JSON.parse(out);
    if (parsed.total !== results.valuation?.total) throw new Error('the opt-level 3 build valued differently');
    return { native: statsOf(parsed.value_ns.map((ns) => ns / 1e6)) };
  });
  log('row 10: prices at scale');
  await measure('prices', () => {
    if (!core) throw new Error('no bench wasm');
    return benchPrices(core, { nativeBin: paths.nativePrices, nativeO3Bin: paths.nativePricesO3, workDir, runs: QUICK ? 3 : 7 });
  });
  log('row 11: news feeds');
  await measure('news', () => {
    if (!core) throw new Error('no bench wasm');
    return benchNews(core, { runs: QUICK ? 3 : 7, iterations: QUICK ? 5 : 20 });
  });
  log('row 13: profit and loss');
  await measure('pnl', () => {
    if (!core) throw new Error('no bench wasm');
    return benchPnl(core, { runs: QUICK ? 2 : 5 });
  });
  log('row 14: first import of history');
  await measure('import', () => {
    if (!core) throw new Error('no bench wasm');
    return benchImport(core);
  });
  log('row 4: vault unlock in Node');
  await measure('vaultNode', () =>
    benchVaultNode({ wasmDir: join(paths.dist, 'wasm'), passphrase: PASSPHRASE, colds: QUICK ? 2 : 5, warm: QUICK ? 2 : 4 }));
  log('rows 4–9: Chromium');
  await measure('browser', () => {
    if (!core) throw new Error('no bench wasm (it builds the year of history)');
    return benchBrowser({
      core,
      distChrome: paths.dist,
      workDir: join(workDir, 'browser'),
      ...(QUICK ? { colds: 2, warm: 2, opens: 5, refreshRuns: 3, coldStarts: 3 } : { colds: 5, warm: 4, opens: 20, refreshRuns: 7, coldStarts: 10 }),
    });
  });
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

function statsOf(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    min: sorted[0],
    median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    max: sorted[sorted.length - 1],
    n: sorted.length,
  };
}

// ------------------------------------------------------------------------------- the table

const yes = (ok, detail) => `${ok ? 'yes' : '**no**'} (${detail})`;
const missing = (name) => `not measured: ${failures.find((f) => f.name === name)?.error ?? 'see log'}`;
const rows = [];
const row = (n, figure, measured, goal, met) => rows.push({ n, figure, measured, goal, met });
const { size, breakdown, sign, valuation, valuationO3, prices, vaultNode, browser: b } = results;

// The budget that ./build.sh test enforces (the script itself checks a build when run).
const sizeBudget = Number(/BUDGET_GZIP_BYTES = ([\d_]+)/.exec(readFileSync(join(ROOT, 'tools/size-budget.mjs'), 'utf8'))?.[1].replaceAll('_', ''));
if (size) {
  const k = size.kinds;
  const ratio = size.ccxt.gzip / size.total.gzip;
  row(1, 'shipped size',
    [`dist/cartera-chrome.zip: ${bytes(size.zip)}`,
      `gzip -9: wasm ${kib(k.wasm.gzip)} · JS ${kib(k.JS.gzip)} (${k.JS.files} files) · HTML ${kib(k.HTML.gzip)} · CSS ${kib(k.CSS.gzip)} · **total ${kib(size.total.gzip)}** (raw ${kib(size.total.raw)})`,
      `ccxt ${results.sign?.ccxtVersion ?? ''} browser bundle: raw ${kib(size.ccxt.raw)} · gzip -9 **${kib(size.ccxt.gzip)}**`].join('<br>'),
    `within the size budget (tools/size-budget.mjs: ${kib(sizeBudget)})`,
    yes(size.total.gzip <= sizeBudget, `${kib(sizeBudget - size.total.gzip)} left; 1/${num(ratio, 3)} of ccxt's gzip`));
} else row(1, 'shipped size', missing('size'), 'within the size budget (tools/size-budget.mjs)', 'not measured');

if (sign) {
  const ratio = sign.ccxt.median / sign.cartera.median;
  row(2, 'signing a Bitso request (GET balance, fixed nonce)',
    [`Cartera wasm in Node: ${spread(sign.cartera, 'µs/op')}`,
      `(Cartera inside wasm, no JS boundary per call: ${spread(sign.inWasm, 'µs/op')})`,
      `ccxt ${sign.ccxtVersion} bitso.sign(): ${spread(sign.ccxt, 'µs/op')}`,
      `(${sign.runs} runs × ${sign.iterations.toLocaleString('en-US')} calls each, after a warm-up run; headers checked equal and against node:crypto)`].join('<br>'),
    '≥ 10× faster than ccxt',
    yes(ratio >= 10, `${num(ratio, 3)}× faster`));
} else row(2, 'signing a Bitso request', missing('sign'), '≥ 10× faster than ccxt', 'not measured');

if (valuation) {
  const s = valuation.shape;
  const lines = [
    valuationO3 ? `native, opt-level 3: ${spread(valuationO3.native, 'ms')}` : `native, opt-level 3: ${missing('valuationO3')}`,
    `native, the shipped release profile (opt-level "z", chosen for the wasm module's size): ${spread(valuation.native, 'ms')}`,
    `wasm in Node, valuation alone: ${spread(valuation.wasm, 'ms')}`,
    `wasm in Node, JSON in → snapshot JSON out: ${spread(valuation.wasmPipeline, 'ms')} (native same path: ${num(valuation.nativePipeline.median)} ms)`,
    `(${s.accounts} accounts, ${s.balances} balances, ${s.books} books → ${s.assets} priced + ${s.unpriced} unpriced assets; totals agree native = wasm = independent BigInt valuation)`,
  ];
  // A native build is built for speed; the release profile's opt-level "z" serves the shipped wasm.
  const nativeMedian = (valuationO3 ?? valuation).native.median;
  row(3, 'valuation (10 accounts × 300 assets × 400 books)', lines.join('<br>'), '≤ 1 ms native (opt-level 3)',
    yes(nativeMedian <= 1, `${num(nativeMedian)} ms = ${num(nativeMedian / 1)}× the limit`));
} else row(3, 'valuation', missing('valuation'), '≤ 1 ms native', 'not measured');

if (b?.unlock || vaultNode) {
  const lines = [];
  let met = 'not measured';
  if (b?.unlock) {
    const kdf = b.unlock.kdf;
    lines.push(`Chromium extension page: warm ${spread(b.unlock.warm, 'ms')} · cold ${spread(b.unlock.cold, 'ms')}`);
    lines.push(`(Argon2id m = ${kdf.m} KiB, t = ${kdf.t}, p = ${kdf.p}, the shipped default; cold = first derive in a freshly opened options page)`);
  } else lines.push(`Chromium: ${missing('browser')}`);
  if (vaultNode) lines.push(`Node: warm ${spread(vaultNode.warm, 'ms')} · cold ${spread(vaultNode.cold, 'ms')} (cold = fresh worker thread)`);
  else lines.push(`Node: ${missing('vaultNode')}`);
  if (b?.workerAfterUnlock) {
    const w = b.workerAfterUnlock;
    lines.push(`background service worker after an unlock done in the page: wasm linear memory ${mib(w.wasm)} (${mib(b.workerBeforeUnlock.wasm)} before), JS heap ${mib(w.jsHeapUsed)}`);
    lines.push(`the unlocking page itself: wasm linear memory ${mib(b.pageAfterUnlock.wasm)} (freed when the page closes)`);
  }
  if (b?.unlock && b?.workerAfterUnlock) {
    const kdfBytes = b.unlock.kdf.m * 1024;
    const coldOk = b.unlock.cold.median <= 300;
    const noKdf = b.workerAfterUnlock.wasm < kdfBytes;
    met = `${coldOk && noKdf ? 'yes' : '**no**'} (cold median ${num(b.unlock.cold.median)} ms = ${num(b.unlock.cold.median / 300)}× the limit, max ${num(b.unlock.cold.max)} ms; background wasm ${mib(b.workerAfterUnlock.wasm)} ${noKdf ? '<' : '≥'} the ${mib(kdfBytes)} Argon2 needs: ${noKdf ? 'no KDF memory' : 'KDF memory held'})`;
  }
  row(4, 'vault unlock', lines.join('<br>'), '≤ 300 ms in Chromium; no KDF memory held by the background', met);
} else row(4, 'vault unlock', `${missing('browser')}; Node: ${missing('vaultNode')}`, '≤ 300 ms in Chromium; no KDF memory held by the background', 'not measured');

if (b?.paint) {
  const p = b.paint;
  const ratio = p.popupTotal.median / p.staticFcp.median;
  row(5, `popup first paint (${p.opens} opens; stored snapshot of ${b.accounts} accounts on ${b.accounts} exchanges, a year of history, the chart)`,
    [`popup, navigation start → total painted: ${spread(p.popupTotal, 'ms')}`,
      `static one-paragraph extension page, first contentful paint: ${spread(p.staticFcp, 'ms')}`,
      `(popup: first contentful paint ${num(p.popupFcp.median)} ms, total written to the DOM (performance.mark) ${num(p.popupMark.median)} ms; "painted" = Element Timing of #total)`].join('<br>'),
    '≤ 1.3× the static page\'s median',
    yes(ratio <= 1.3, `${num(ratio)}×`));
} else row(5, 'popup first paint', missing('browser'), '≤ 1.3× the static page\'s median', 'not measured');

if (b?.refreshAll && b?.refreshAlone) {
  const alone = Object.entries(b.refreshAlone);
  const [slowest, slowestStats] = alone.reduce((worst, entry) => (entry[1].median > worst[1].median ? entry : worst));
  const ratio = b.refreshAll.median / slowestStats.median;
  row(6, `refresh, click → new snapshot shown (every request answered after ${b.latencyMs} ms)`,
    [`one account on each of the ${b.accounts} exchanges, together: ${spread(b.refreshAll, 'ms')}`,
      ...alone.map(([exchange, s]) => `${exchange} alone: ${spread(s, 'ms')}`),
      `(${b.refreshAll.n} timed clicks each after warm-up clicks; prices are reused for 10 s, so these are the balance requests; every request verified by its stand-in)`].join('<br>'),
    'all exchanges together ≤ 1.25 × the slowest alone',
    yes(ratio <= 1.25, `${num(ratio)}× the slowest exchange alone (${slowest}); ${num(b.refreshAll.median / b.refreshAlone.bitso.median)}× Bitso alone`));
} else row(6, 'refresh across exchanges', missing('browser'), 'all exchanges together ≤ 1.25 × the slowest alone', 'not measured');

if (b?.coldStart && b?.emptyColdStart) {
  row(7, 'background cold start (worker start → engine ready)',
    [`Cartera's service worker: ${spread(b.coldStart, 'ms')}`,
      `an empty module service worker, same extension, same wake-up: ${spread(b.emptyColdStart, 'ms')}`,
      `(the worker's own clock: performance.mark('engine-ready') after the wasm is instantiated; ${b.coldStart.n} starts after stopping every worker over CDP and waking it with a message; messages that need no wasm do not wait for it)`].join('<br>'),
    'reported, beside an empty worker', `reported (+${num(b.coldStart.median - b.emptyColdStart.median)} ms over the empty worker)`);
} else row(7, 'background cold start', missing('browser'), 'reported', 'not measured');

if (b?.sync) {
  const s = b.sync;
  const hourly = Object.entries(s.perHour).map(([exchange, n]) => `${exchange} ${n}`).join(' · ');
  row(8, `cost of one automatic sync (${b.accounts} accounts, prices fetched)`,
    [`background CPU (V8 samples, not idle): **${num(s.cpuMs)} ms** in ${num(s.wallMs)} ms of wall time`,
      `requests in that sync: ${Object.entries(s.requests).map(([exchange, n]) => `${exchange} ${n}`).join(' · ')}`,
      `requests per hour at the default ${s.minutes}-minute interval: ${hourly}`,
      `at the shortest interval, 5 minutes: ${Object.entries(s.requests).map(([exchange, n]) => `${exchange} ${n * 12}`).join(' · ')} per hour, at most one sync's worth in any minute`,
      '(documented limits: Bitso 300 private + 60 public requests a minute; Kraken a counter of 15 that decays by 0.33 a second; Binance 6,000 weight a minute; Bitfinex 90 requests a minute per endpoint; Coinbase 30 private requests a second; OKX 10 balance requests per 2 s; Bybit per-account limits per endpoint and second; KuCoin a quota per 30 s; Mercado Bitcoin 3 account requests a second)'].join('<br>'),
    'reported', 'reported');
} else row(8, 'cost of automatic sync', missing('browser'), 'reported', 'not measured');

if (b?.popupMemory && b?.workerAfterRefresh && b?.history) {
  const p = b.popupMemory;
  const w = b.workerAfterRefresh;
  const hist = b.history;
  row(9, `memory after a sync (${b.accounts} accounts, a year of history)`,
    [`popup: JS heap ${mib(p.jsHeapUsed)} + wasm linear memory ${p.wasmMemories.length ? mib(p.wasm) : '0 (the popup loads no wasm unless it unlocks)'} = **${mib(p.jsHeapUsed + p.wasm)}**`,
      `background service worker: JS heap ${mib(w.jsHeapUsed)} + wasm linear memory ${mib(w.wasm)} = **${mib(w.jsHeapUsed + w.wasm)}**`,
      `history storage for the year: **${bytes(hist.bytesInUse)}** (getBytesInUse) in ${hist.keys} keys, ${hist.points} points kept; all of storage.local: ${bytes(hist.allBytesInUse)}`].join('<br>'),
    'reported', 'reported');
} else row(9, 'memory', missing('browser'), 'reported', 'not measured');

if (prices) {
  const sizes = Object.entries(prices.bytes).map(([exchange, n]) => `${exchange} ${kib(n)}`).join(' · ');
  row(10, `prices at scale (${prices.requests} public answers, ${kib(prices.totalBytes)}; ${prices.accounts} accounts in mxn)`,
    [`wasm in Node, the whole call (bodies handed over, parsed, valued): ${spread(prices.wasmFromJs, 'ms')}`,
      `wasm in Node, inside wasm (parse + value, no hand-over): ${spread(prices.wasmInside, 'ms')}`,
      prices.nativeO3 ? `native, opt-level 3: ${spread(prices.nativeO3, 'ms')}` : 'native, opt-level 3: not built',
      `native, the shipped release profile (opt-level "z"): ${spread(prices.native, 'ms')}`,
      `(${sizes}; ${prices.tickers.toLocaleString('en-US')} tickers kept of ${prices.rows.toLocaleString('en-US')} rows; ${prices.priced} assets priced, ${prices.unpriced.length} without a market; totals agree wasm = native = independent BigInt valuation)`].join('<br>'),
    '≤ 20 ms in wasm',
    yes(prices.wasmFromJs.median <= 20, `whole call ${num(prices.wasmFromJs.median)} ms = ${num(prices.wasmFromJs.median / 20)}× the limit`));
} else row(10, 'prices at scale', missing('prices'), '≤ 20 ms in wasm', 'not measured');

const news = results.news;
if (news) {
  const worst = Math.max(...news.perPublisher.map((p) => p.ms.median));
  row(11, `reading a ${news.items}-item feed of each publisher (wasm in Node: bytes handed over, parsed, merged, JSON back)`,
    news.perPublisher.map((p) => `${p.name} (${kib(p.bytes)}): ${spread(p.ms, 'ms')}`).join('<br>'),
    '≤ 20 ms per feed in wasm',
    yes(worst <= 20, `slowest median ${num(worst)} ms`));
} else row(11, 'reading news feeds', missing('news'), '≤ 20 ms per feed in wasm', 'not measured');

if (breakdown && size) {
  const wasmFile = size.files.find((f) => f.kind === 'wasm');
  const ratio = wasmFile ? wasmFile.gzip / wasmFile.raw : 0;
  row(12, 'size news adds (its code: cartera::news, its bindings and serde, quick-xml)',
    `${bytes(breakdown.news)} of the wasm's code named for news, before gzip (a lower bound: generic code instantiated for it is not named so); ≈ ${kib(breakdown.news * ratio)} gzip at the module's own ratio (${num(ratio)})`,
    'reported', 'reported');
} else row(12, 'size news adds', missing('breakdown'), 'reported', 'not measured');

const pnl = results.pnl;
// The page redraws after every imported page, so the whole report is what is timed.
const pnlGoal = '≤ 50 ms for 10,000 transactions';
const tenThousand = pnl?.filter((r) => r.count === 10_000) ?? [];
if (pnl && tenThousand.length) {
  row(13, 'profit and loss report in wasm (Node): the chunks encoded, every stored chunk read, lots run, the report as JSON; 20 assets, 3 accounts, two years of daily closes',
    pnl.map((r) => `${r.count.toLocaleString('en')} transactions (${kib(r.bytes)} stored), ${r.method === 'fifo' ? 'FIFO' : 'average cost'}: ${spread(r.ms, 'ms')}`).join('<br>'),
    pnlGoal, yes(tenThousand.every((r) => r.ms.median <= 50), tenThousand.map((r) => `${r.method === 'fifo' ? 'FIFO' : 'average cost'} ${num(r.ms.median)} ms`).join(', ')));
} else row(13, 'profit and loss report', missing('pnl'), pnlGoal, 'not measured');

/** A simulated duration: seconds, or minutes and seconds past two minutes. */
const duration = (ms) => (ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);
const requestCount = (n) => `${n.toLocaleString('en-US')} request${n === 1 ? '' : 's'}`;
const imported = results.import;
const importGoal = 'every generated transaction stored once; no rate-limit answer; every documented limit kept';
if (imported) {
  const { shape, roundTripMs } = imported;
  const name = (id) => ({ okx: 'OKX', kucoin: 'KuCoin', mercadobitcoin: 'Mercado Bitcoin' })[id] ?? id[0].toUpperCase() + id.slice(1);
  const within = (r) => r.limits.every((l) => l.peak <= l.limit) && (!r.counter || r.counter.peak <= r.counter.max);
  const lines = imported.exchanges.map((r) => {
    if (r.error) return `**${name(r.exchange)}**: **failed**: ${r.error}`;
    const window = (ms) => ({ 1_000: 'a second', 2_000: 'per 2 s', 30_000: 'per 30 s', 60_000: 'a minute', 3_600_000: 'an hour' })[ms] ?? `per ${ms} ms`;
    const limits = [
      ...r.limits.map((l) => `${l.name} ${l.peak.toLocaleString('en-US')} of ${l.limit.toLocaleString('en-US')} ${window(l.windowMs)}`),
      ...(r.counter ? [`call counter ${Number(r.counter.peak.toFixed(1))} of ${r.counter.max} (Starter: −${r.counter.decayPerSecond}/s, Ledgers +2)`] : []),
    ];
    const checked = r.mismatches.length ? `**${r.mismatches.join('; ')}**` : `= ${r.expected.toLocaleString('en-US')} generated`;
    return [
      `**${name(r.exchange)}**: first import **${requestCount(r.requests)}, ${duration(r.simulatedMs)}** (${r.pages} pages)`,
      `a day later, ${shape.newFills} new fills: **${requestCount(r.syncRequests)}**, ${duration(r.syncSimulatedMs)}`,
      `${r.transactions.toLocaleString('en-US')} transactions stored ${checked}${r.reach ? ` (${r.reach})` : ''}, +${r.syncNew} by the sync`,
      `${r.chunksAfterSync} chunks, **${kib(r.bytesAfterSync)}** (+ ${bytes(r.stateBytes)} of import state)`,
      `peak use: ${limits.join(' · ')}${r.rateLimitAnswers ? ` · **${r.rateLimitAnswers} rate-limit answers**` : ''}`,
    ].join(' · ');
  });
  const failed = imported.exchanges.filter((r) => r.error || r.mismatches?.length || r.rateLimitAnswers || r.refused || !within(r));
  const slowest = imported.exchanges.filter((r) => !r.error).reduce((worst, r) => (!worst || r.simulatedMs > worst.simulatedMs ? r : worst), null);
  lines.push(`(stored as the background stores pages: \`tx:<account>:<YYYY-MM>\` chunks, bytes as getBytesInUse counts them; the simulation ran in ${num(imported.exchanges.reduce((sum, r) => sum + r.wallMs, 0) / 1000)} s on this machine)`);
  row(14, `first import of history, per exchange (two years: ${shape.symbols} traded symbols, ${shape.fills} fills, ${shape.transfers} transfers, ${shape.fundings} deposits funding them; every request answered by the exchange's stand-in after a simulated ${roundTripMs} ms round trip, pages paced as the adapter paces them)`,
    lines.join('<br>'), importGoal,
    failed.length ? `**no** (${failed.map((r) => name(r.exchange)).join(', ')})` : `yes (${imported.exchanges.length} of ${imported.exchanges.length} exchanges; longest: ${name(slowest.exchange)}, ${duration(slowest.simulatedMs)})`);
} else row(14, 'first import of history, per exchange', missing('import'), importGoal, 'not measured');

const perExchangeGoal = 'under 8 KiB gzip per exchange';
if (breakdown && size) {
  const wasmFile = size.files.find((f) => f.kind === 'wasm');
  const ratio = wasmFile ? wasmFile.gzip / wasmFile.raw : 0;
  const gzip = (n) => n * ratio;
  const over = breakdown.exchanges.filter(([, n]) => gzip(n) >= 8 * 1024);
  row(15, 'size each exchange adds (its adapter module: holdings, prices, key check, history and candles; for Coinbase also the signature crates only it uses)',
    `${breakdown.exchanges.map(([id, n, history]) => `${id} ${bytes(n)} ≈ **${kib(gzip(n))}**${history ? ` (history module ${kib(gzip(history))})` : ''}`).join(' · ')}<br>(wasm code before gzip ≈ gzip at the module's own ratio, ${num(ratio)}; the history module reads the transactions for profit and loss; a lower bound: generic code instantiated for an adapter is not named for it)`,
    perExchangeGoal,
    over.length ? `**no** (${over.length} of ${breakdown.exchanges.length} over: ${over.map(([id]) => id).join(', ')})` : `yes (largest ${kib(gzip(Math.max(...breakdown.exchanges.map(([, n]) => n))))})`);
} else row(15, 'size each exchange adds', missing('breakdown'), perExchangeGoal, 'not measured');

const m = machine();
const head = sh('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
const dirty = (sh('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!BENCHMARKS.md']) ?? '') !== '';
const loadAfter = loadavg();
const table = [
  '| # | figure | measured: min / **median** / max | goal | goal met? |',
  '|---|---|---|---|---|',
  ...[...rows].filter((r) => !ONLY || [...ONLY].some((name) => ROWS_OF[name].includes(r.n))).sort((a, b) => a.n - b.n).map((r) => `| ${r.n} | ${r.figure} | ${r.measured} | ${r.goal} | ${r.met} |`),
].join('\n');

const sizeDetail = size
  ? ['| file | raw | gzip -9 |', '|---|---:|---:|', ...size.files.map((f) => `| ${f.path} | ${bytes(f.raw)} | ${bytes(f.gzip)} |`),
    `| **total** | ${bytes(size.total.raw)} | ${bytes(size.total.gzip)} |`, `| ccxt.browser.min.js | ${bytes(size.ccxt.raw)} | ${bytes(size.ccxt.gzip)} |`,
    '', `The wasm module by section: ${size.sections.map(([name, n]) => `${name} ${bytes(n)}`).join(' · ')}.`].join('\n')
  : 'not measured';

const doc = `# Cartera benchmarks

Generated by \`./build.sh bench\` (bench/run.mjs); do not edit by hand. One run, one machine.
Timings are min / **median** / max over repeated runs; sizes are exact.

- Machine: ${m.model}, ${m.cores} cores, ${m.memory} memory${m.features.length ? ` (CPU flags: ${m.features.join(', ')})` : ''}
- Load average (1 min) at start / end: ${loadBefore[0].toFixed(2)} / ${loadAfter[0].toFixed(2)}
- Date: ${startedAt.toISOString()}
- Commit: ${head}${dirty ? ' with uncommitted changes' : ''}
- Node ${process.version} · ${sh('rustc', ['--version']) ?? 'rustc ?'} · ${sh(process.env.CHROMIUM_BIN ?? '/usr/lib/chromium/chromium', ['--version']) ?? 'Chromium ?'} (headless) · ccxt ${sign?.ccxtVersion ?? '?'}${QUICK ? '\n- **BENCH_QUICK=1: fewer repetitions than a full run**' : ''}

${table}
${failures.length ? `\n**Not measured:**\n${failures.map((f) => `- ${f.name}: ${f.error}`).join('\n')}\n` : ''}
## How each figure is taken

1. **Size**: \`dist/cartera-chrome.zip\` as built; every wasm, JS, HTML and CSS file of \`dist/chrome\`
   compressed on its own with \`gzip -9 -n\`, summed per kind; ccxt's \`dist/ccxt.browser.min.js\` from
   the npm package (devDependency, never shipped), measured the same way.
2. **Signing**: \`benchSignBitso\` from a separate \`--features bench\` wasm build (\`--target nodejs\`)
   calls the Bitso adapter's \`signed_request\` and returns the \`Authorization\` value; ccxt's
   \`bitso.sign('balance', 'private', 'GET')\` with \`nonce()\` fixed. Same key, secret and nonce;
   runs of the two alternate in one Node process. Both headers are checked against node:crypto.
   \`benchSignBitsoRepeat\` loops the same signing inside wasm to show the cost without the JS boundary.
3. **Valuation**: generated inputs (every asset with one shortest route: direct, via usd, btc or
   usdt, plus cross books and unpriced assets). Native: \`bench/valuation.rs\` (release binary,
   \`std::time::Instant\`) times \`build_snapshot\` alone. Wasm: \`benchValueRepeat\` parses once and
   loops \`build_snapshot\` inside wasm; \`benchValue\` is the whole call from JS.
4. **Vault unlock**: \`unlockVault\` of the shipped \`dist/chrome/wasm\` build. Chromium: an options
   page of the extension imports \`../wasm/cartera.js\` and derives 1 + ${b?.unlock ? b.unlock.warm.n / b.unlock.cold.n : 'N'} times, in
   ${b?.unlock?.cold.n ?? 'N'} freshly opened pages. Node: the same module, a fresh worker thread per cold sample. The page then sends
   \`{type:'unlock', vaultKey}\` to the background; the background's live \`WebAssembly.Memory\` objects are
   found over CDP (\`Runtime.queryObjects\` after \`HeapProfiler.collectGarbage\`) and their sizes summed.
   Linear memory never shrinks, so a background that had run Argon2id (m = 64 MiB) would hold ≥ 64 MiB.
5. **Popup first paint**: a new tab (360 × 600) opened on \`popup/popup.html\` with the stored
   snapshot of the 5-exchange portfolio and a year of history (so the chart is drawn), alternating
   with a tab on \`static.html\` (one paragraph, no CSS or script) put into a copy of \`dist/chrome\`.
   Popup: the Element Timing render time of \`#total\` (an \`elementtiming\` attribute is added by an
   init script before it is painted); static: first-contentful-paint. Two warm-up pairs.
6. **Refresh**: in the popup, \`#refresh\` is clicked from the page and a MutationObserver stops the
   clock when the popup shows the new snapshot's time. One account per exchange (Bitso, Kraken,
   Binance, Bitfinex, Coinbase), added through the options page; every stand-in answers after
   ${b?.latencyMs ?? 200} ms and verifies every signature. "Alone" turns the other accounts' Import
   balance off. An exchange's own requests follow each other where its protocol needs it (Kraken's and
   Bitfinex's nonces must arrive in order; Coinbase pages by cursor).
7. **Cold start**: \`ServiceWorker.stopAllWorkers\` over CDP, then a message from an extension page
   wakes the worker; the time is the worker's own \`performance.mark('engine-ready')\` (set once the
   wasm is instantiated) since its time origin. The baseline is a copy of the build whose worker only
   registers a message listener and sets the same mark.
8. **Sync cost**: after the 10 s price reuse has passed, a V8 sampling profile (100 µs) of the worker
   around one refresh message (the code an alarm runs); CPU = samples that are not idle. Requests are
   counted by the stand-ins.
9. **Memory and history**: a year of history (one point a day, hourly for 30 days, every 15 minutes
   for 48 hours, as the tiers keep it) built with the bench wasm's own history functions from the
   stored snapshot, put into storage, then a sync; CDP \`Runtime.getHeapUsage\` and the live
   \`WebAssembly.Memory\` sizes of the popup and the worker; \`chrome.storage.local.getBytesInUse\`.

10. **Prices at scale**: bench/prices.mjs has the end-to-end stand-ins (tests/e2e/mocks) build every
   exchange's public price answers at real sizes: Binance's 24-hour list (2,000 rows), Kraken's
   AssetPairs and Ticker (700 pairs), Coinbase's products (700), OKX's spot tickers (700),
   Bybit's (650), Bitfinex's tickers (300), Bitso's (60). \`benchPrices\` answers each adapter's
   price flow with them (every URL checked) and values one account per exchange in mxn; timed as one whole call from JS, and inside wasm (10 runs in
   one call, less a call that runs none). bench/prices.rs times the same work natively.
11. **News feeds**: bench/news.mjs repeats the items of each publisher's fixture
   (\`src/news/fixtures\`, shaped as the publisher's feed is) to 200, each with its own link and
   date, and times \`newsRead\` of the shipped bindings from JS, as the background calls it per feed.
12. **Size news adds**: from the twiggy breakdown below, the functions of \`cartera::news\`, the news
   bindings and the export shims they are inlined into (with their serde code), and \`quick_xml\`;
   gzip is estimated at the wasm module's own ratio. Measured against the build before news instead
   (tools/size-budget.mjs), news added 25,018 B of gzip to the wasm and 29,772 B in all.
14. **First import of history**: bench/import.mjs writes one two-year account (${imported ? `${imported.shape.symbols} symbols, ${imported.shape.fills} fills, ${imported.shape.transfers} transfers, ${imported.shape.fundings} funding deposits` : 'see the row'})
   in each exchange's own rows and serves it from that exchange's stand-in (tests/e2e/mocks), in
   the same process: it checks every signature, nonce, window and page as the exchange does.
   \`BenchHistoryImport\` (bench build) reads it page by page through the refresh engine's own
   \`history_page\`, as the background does, on a simulated clock: a request takes the round trip,
   the stand-in reads it halfway, and each page's \`waitMs\` is waited. Pages are merged into
   chunks with \`mergeHistoryPage\`; the stored transactions must match the account in count, in
   kind and in every asset's net movement, exactly. Then ${imported?.shape.newFills ?? 'a few'} fills arrive and the sync a day
   later reads what is new. Kraken's stand-in keeps its call counter (the slowest tier) and
   Bitfinex's its 90 requests a minute per endpoint, both on the simulated clock; the peak use of
   every documented limit is worked out from the requests' times (bench/import.mjs names each
   limit's source).
15. **Size each exchange adds**: from the same twiggy breakdown, every function named
   \`cartera::exchange::<id>::\` (for Coinbase also the P-256, Ed25519 and ECDSA crates only it uses);
   gzip estimated at the wasm module's own ratio, as in row 12.

## Where the wasm's bytes go

${breakdown ? [
  `twiggy on the shipped build's code, names kept (${bytes(breakdown.total)} before gzip):`,
  '',
  '| crate | bytes |', '|---|---:|', ...breakdown.crates.slice(0, 15).map(([crate, n]) => `| ${crate} | ${bytes(n)} |`),
  '',
  'Each exchange\'s own code (its adapter module; for Coinbase also the P-256 and Ed25519 crates only it uses), before gzip: '
    + `${breakdown.exchanges.map(([id, n]) => `${id} ${bytes(n)}`).join(' · ')}.`,
  '',
  '| largest functions | bytes |', '|---|---:|', ...breakdown.largest.map((item) => `| \`${item.name.replace(/::h[0-9a-f]{16}$/, '').replace(/\|/g, '\\|').slice(0, 110)}\` | ${bytes(item.bytes)} |`),
].join('\n') : missing('breakdown')}

## Size by file

${sizeDetail}
`;

console.log(`\n${table}\n`);
if (failures.length) console.log(`Not measured:\n${failures.map((f) => `- ${f.name}: ${f.error}`).join('\n')}`);
if (ONLY) log(`BENCH_ONLY=${[...ONLY].join(',')}: ${paths.out} left as it is`);
else {
  writeFileSync(paths.out, doc);
  log(`wrote ${paths.out}`);
}
if (failures.length) {
  console.error(`bench: ${failures.length} figure(s) could not be measured`);
  process.exit(1);
}
