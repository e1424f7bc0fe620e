// Assembles an extension page for shipping: one stylesheet and one script instead of one file per
// module, so the page's first paint waits for two files rather than a chain of them.
//
//   node tools/bundle-page.mjs <dist dir> <page.html relative to it>
//
// In the page's HTML, every `<link rel="stylesheet">` becomes one link to `<page>.bundle.css`
// (the sheets concatenated in document order), every `<link rel="modulepreload">` goes, and the
// `<script type="module" src>` becomes `<page>.bundle.js`: the entry and every module it imports,
// bundled by esbuild (its WebAssembly build: no native binary). The wasm core's glue stays a file
// of its own, imported where it was, since it finds its .wasm beside itself. The page's own files
// the bundles replace (those in the page's directory) are removed; shared ones stay for the other
// pages.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { build } from 'esbuild-wasm';

const [distDir, pagePath] = process.argv.slice(2);
if (!distDir || !pagePath) throw new Error('usage: bundle-page.mjs <dist dir> <page.html>');
const page = resolve(distDir, pagePath);
const pageDir = dirname(page);
const base = pagePath.replace(/\.html$/, '').split('/').pop();
let html = readFileSync(page, 'utf8');

// Stylesheets: concatenated in document order.
const sheets = [...html.matchAll(/^[ \t]*<link rel="stylesheet" href="([^"]+)">\n/gm)];
if (sheets.length) {
  const css = sheets.map(([, href]) => `/* ${href} */\n${readFileSync(resolve(pageDir, href), 'utf8')}`).join('\n');
  writeFileSync(join(pageDir, `${base}.bundle.css`), css);
  html = html.replace(sheets[0][0], `  <link rel="stylesheet" href="${base}.bundle.css">\n`);
  for (const sheet of sheets.slice(1)) html = html.replace(sheet[0], '');
}
html = html.replace(/^[ \t]*<link rel="modulepreload" href="[^"]+">\n/gm, '');

// The module script.
const entryTag = /<script type="module" src="([^"]+)"/.exec(html);
if (!entryTag) throw new Error(`${pagePath}: no module script`);
const entry = resolve(pageDir, entryTag[1]);
const bundlePath = join(dirname(entry), `${base}.bundle.js`);

/** The wasm glue stays external, imported by its path relative to the bundle. */
const wasmGlueExternal = {
  name: 'wasm-glue-external',
  setup(esbuild) {
    esbuild.onResolve({ filter: /\/wasm\/cartera\.js$/ }, (args) => {
      const path = relative(dirname(bundlePath), resolve(args.resolveDir, args.path));
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

const result = await build({
  entryPoints: [entry],
  // esbuild names a lazily imported module by its path from here: relative to the packaged folder,
  // the same bytes come out wherever the folder is (the reproducibility checks build elsewhere).
  absWorkingDir: resolve(distDir),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // The oldest browsers the manifests accept (Chrome 120, Firefox 140).
  target: ['chrome120', 'firefox140'],
  write: false,
  metafile: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'error',
  plugins: [wasmGlueExternal],
});
const [output] = result.outputFiles;
writeFileSync(bundlePath, output.text);
html = html.replace(entryTag[0], `<script type="module" src="${relative(pageDir, bundlePath)}"`);
writeFileSync(page, html);

const bundled = Object.keys(result.metafile.inputs).map((input) => resolve(distDir, input));
const ownFiles = [...sheets.map(([, href]) => resolve(pageDir, href)), ...bundled].filter((path) => dirname(path) === pageDir);
for (const path of ownFiles) rmSync(path);
console.log(`${pagePath}: ${bundled.length} modules → ${relative(distDir, bundlePath)}, ${sheets.length} stylesheets → ${base}.bundle.css`);
