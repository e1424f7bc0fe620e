// Row 1: what ships. The Chrome zip as built, and every wasm, JS, HTML and CSS file of
// dist/chrome after gzip -9 (each file compressed on its own, summed per kind), beside ccxt's
// browser bundle measured the same way.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { EXCHANGE_IDS } from '../extension/shared/core-constants.js';
import { gzipSize, shippedSizes } from '../tools/shipped-size.mjs';
import { log } from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const SECTIONS = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count'];

/** Bytes per section of a wasm module (custom sections added up), largest first. */
export function wasmSections(path) {
  const bytes = readFileSync(path);
  const sizes = {};
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  while (at < bytes.length) {
    const name = SECTIONS[bytes[at++]] ?? 'unknown';
    const size = leb();
    sizes[name] = (sizes[name] ?? 0) + size;
    at += size;
  }
  return Object.entries(sizes).sort((a, b) => b[1] - a[1]);
}

export function measureSizes({ distDir, zipPath, ccxtBundle }) {
  const { files, kinds, total } = shippedSizes(distDir);
  const ccxt = { raw: statSync(ccxtBundle).size, gzip: gzipSize(ccxtBundle) };
  const wasm = files.find((f) => f.kind === 'wasm');
  const sections = wasm ? wasmSections(join(distDir, wasm.path)) : [];
  const result = { zip: statSync(zipPath).size, files, kinds, total, ccxt, sections };
  log(`sizes: zip ${result.zip} B, gzip total ${total.gzip} B, ccxt gzip ${ccxt.gzip} B`);
  return result;
}

/**
 * Where the wasm's bytes go: the shipped build's cargo output run through wasm-bindgen and
 * wasm-opt with the shipped flags, keeping function names (-g), then `twiggy top`. Returns the
 * largest functions and the bytes per crate (a function counts for the crate its path names first;
 * wasm-bindgen's shims for exported functions are counted apart).
 */
export function wasmBreakdown({ cargoWasm, workDir, wasmOptFlags, top = 20 }) {
  const out = join(workDir, 'named');
  mkdirSync(out, { recursive: true });
  execFileSync('wasm-bindgen', ['--target', 'web', '--keep-debug', '--out-dir', out, cargoWasm]);
  const named = join(out, 'named.wasm');
  execFileSync(join(ROOT, 'node_modules/.bin/wasm-opt'), ['-g', ...wasmOptFlags, join(out, 'cartera_bg.wasm'), '-o', named]);
  const rows = JSON.parse(execFileSync('twiggy', ['top', '-n', '1000000', '-f', 'json', named], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const items = rows
    .map((row) => ({ name: row.name, bytes: row.shallow_size }))
    .filter((item) => !/^(custom section|"function names")/.test(item.name));
  const crates = new Map();
  for (const item of items) {
    const crate = item.name.endsWith('multivalue shim')
      ? 'wasm-bindgen export shims (inlined bodies)'
      : /^data segment/.test(item.name) ? 'data (constants, strings)'
        : /([a-z_][a-z0-9_]*)(\[[0-9a-f]+\])?::/.exec(item.name)?.[1] ?? 'other';
    crates.set(crate, (crates.get(crate) ?? 0) + item.bytes);
  }
  const total = items.reduce((sum, item) => sum + item.bytes, 0);
  // Each exchange's own code: its adapter module, and for Coinbase the signature crates only it uses.
  const exclusive = { coinbase: ['p256', 'primeorder', 'crypto_bigint', 'ecdsa', 'elliptic_curve', 'ed25519_dalek', 'curve25519_dalek', 'rfc6979', 'signature'] };
  const exchanges = EXCHANGE_IDS.map((id) => {
    const own = items.filter((item) => item.name.includes(`cartera::exchange::${id}::`) || item.name.includes(`cartera::exchange::${id} `));
    const signing = (exclusive[id] ?? []).reduce((sum, crate) => sum + (crates.get(crate) ?? 0), 0);
    // Its history module (Kraken's is `ledger`; Bitso's history lives in the adapter's own file).
    const history = own.filter((item) => new RegExp(`cartera::exchange::${id}::(history|ledger)::`).test(item.name)).reduce((sum, item) => sum + item.bytes, 0);
    return [id, own.reduce((sum, item) => sum + item.bytes, 0) + signing, history];
  });
  // News: the core's module (its serde code names it too), its bindings with the export shims the
  // feed reading is inlined into, and the XML reader. Generic std code instantiated for them
  // (sorting, iterators) carries no name of theirs: a lower bound.
  const news = items
    .filter((item) => /cartera::news\b|cartera::bindings::news_|quick_xml::|^(newsRead|newsView|newsKeep|checkNewsChoice) multivalue shim/.test(item.name))
    .reduce((sum, item) => sum + item.bytes, 0);
  return {
    total,
    exchanges,
    news,
    crates: [...crates].sort((a, b) => b[1] - a[1]),
    largest: items.sort((a, b) => b.bytes - a.bytes).slice(0, top),
  };
}
