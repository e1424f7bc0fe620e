// Minifies an assembled extension folder in place: every JavaScript file with terser (all of them
// are ES modules), every stylesheet with clean-css at level 1 (whitespace, comments and
// per-declaration rewrites; no merging of rules, so the cascade stays as written).
//
//   node tools/minify.mjs <dist dir>
//
// The readable sources are the ones in extension/; what ships is built from them by this step,
// deterministically, so the same commit still gives the same zip.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

import CleanCSS from 'clean-css';
import { minify } from 'terser';

const [distDir] = process.argv.slice(2);
if (!distDir) throw new Error('usage: minify.mjs <dist dir>');

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

const TERSER = {
  module: true,
  ecma: 2022,
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false },
};
const css = new CleanCSS({ level: 1 });

let before = 0;
let after = 0;
for (const path of walk(distDir).sort()) {
  const kind = extname(path);
  if (kind !== '.js' && kind !== '.css') continue;
  const source = readFileSync(path, 'utf8');
  let output;
  if (kind === '.js') {
    output = (await minify(source, TERSER)).code;
  } else {
    const result = css.minify(source);
    const problems = [...result.errors, ...result.warnings];
    if (problems.length) throw new Error(`${relative(distDir, path)}: ${problems.join('; ')}`);
    output = result.styles;
  }
  if (!output) throw new Error(`${relative(distDir, path)}: minified to nothing`);
  writeFileSync(path, `${output}\n`);
  before += source.length;
  after += output.length + 1;
}
console.log(`minified ${distDir}: ${before} → ${after} characters of JS and CSS`);
