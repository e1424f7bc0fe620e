// What ships, as users download it: every wasm, JS, HTML and CSS file of a built extension folder
// after gzip -9, each file compressed on its own and summed per kind. The benchmark's size row and
// the size budget (tools/size-budget.mjs) both count this way.

import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

const KINDS = { '.wasm': 'wasm', '.js': 'JS', '.mjs': 'JS', '.html': 'HTML', '.css': 'CSS' };

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

export function gzipSize(path) {
  return execFileSync('gzip', ['-9', '-n', '-c', path], { maxBuffer: 256 * 1024 * 1024 }).length;
}

/** `{ files, kinds: { wasm|JS|HTML|CSS: { files, raw, gzip } }, total: { raw, gzip } }` of `distDir`. */
export function shippedSizes(distDir) {
  const files = walk(distDir)
    .filter((path) => KINDS[extname(path)])
    .map((path) => ({ path: relative(distDir, path), kind: KINDS[extname(path)], raw: statSync(path).size, gzip: gzipSize(path) }))
    .sort((a, b) => a.path.localeCompare(b.path));
  const kinds = {};
  for (const kind of ['wasm', 'JS', 'HTML', 'CSS']) {
    const of = files.filter((f) => f.kind === kind);
    kinds[kind] = { files: of.length, raw: of.reduce((s, f) => s + f.raw, 0), gzip: of.reduce((s, f) => s + f.gzip, 0) };
  }
  const total = { raw: files.reduce((s, f) => s + f.raw, 0), gzip: files.reduce((s, f) => s + f.gzip, 0) };
  return { files, kinds, total };
}
