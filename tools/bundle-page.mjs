// Assembles an extension page for shipping: one stylesheet and one script instead of one file per
// module, so the page's first paint waits for two files rather than a chain of them.
//
//   node tools/bundle-page.mjs <dist dir> <page.html relative to it>
//
// In the page's HTML, every `<link rel="stylesheet">` becomes one link to `<page>.bundle.css`
// (the sheets concatenated in order), every `<link rel="modulepreload">` goes, and the
// `<script type="module" src>` becomes `<page>.bundle.js`: the entry and the modules it imports
// statically, each in its own function scope, in dependency order. Only the forms the pages use
// are understood (`import { a, b as c } from './x.js'`, `export function|async function|const|
// class`); anything else stops the build. Dynamic `import()` stays as written (the bundle sits
// where the entry was, so its relative paths still resolve). The page's own files the bundles
// replace (those in the page's directory) are removed; shared ones stay for the other pages.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

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

const IMPORT = /^import \{([^}]*)\} from '([^']+)';\n/gm;
const EXPORT = /^export (?:async function|function|const|class) ([A-Za-z_$][\w$]*)/gm;

const modules = new Map(); // absolute path → { name, code, imports: [{ from, names }], exports }
function load(path) {
  if (modules.has(path)) return;
  const source = readFileSync(path, 'utf8');
  const imports = [...source.matchAll(IMPORT)].map(([, names, from]) => ({ from: resolve(dirname(path), from), names }));
  const exports = [...source.matchAll(EXPORT)].map(([, name]) => name);
  const code = source.replace(IMPORT, '').replace(/^export (async function|function|const|class) /gm, '$1 ').trimEnd();
  const leftover = /^(import|export)\b.*$/m.exec(code);
  if (leftover) throw new Error(`${relative(distDir, path)}: cannot bundle "${leftover[0]}"`);
  modules.set(path, { name: `module${modules.size}`, code, imports, exports });
  for (const { from } of imports) load(from);
}
load(entry);

// Dependencies first.
const order = [];
function visit(path, trail = []) {
  if (order.includes(path)) return;
  if (trail.includes(path)) throw new Error(`import cycle: ${[...trail, path].map((p) => relative(distDir, p)).join(' → ')}`);
  for (const { from } of modules.get(path).imports) visit(from, [...trail, path]);
  order.push(path);
}
visit(entry);

const bindings = (names) => names.split(',').map((n) => n.trim()).filter(Boolean)
  .map((n) => n.replace(/^([\w$]+) as ([\w$]+)$/, '$1: $2')).join(', ');
const parts = order.map((path) => {
  const module = modules.get(path);
  const head = module.imports.map(({ from, names }) => `const { ${bindings(names)} } = ${modules.get(from).name};`).join('\n');
  const body = `${head ? `${head}\n` : ''}${module.code}`;
  const label = `// ${relative(distDir, path)}`;
  if (path === entry) return `${label}\n{\n${body}\n}`;
  return `${label}\nconst ${module.name} = (() => {\n${body}\nreturn { ${module.exports.join(', ')} };\n})();`;
});
const bundlePath = join(dirname(entry), `${base}.bundle.js`);
const bundle = `${parts.join('\n\n')}\n`;
writeFileSync(bundlePath, bundle);
// A syntax error here would otherwise surface only when the page opens (checked as a module: the
// entry may await at its top level).
execFileSync(process.execPath, ['--input-type=module', '--check'], { input: bundle });
html = html.replace(entryTag[0], `<script type="module" src="${relative(pageDir, bundlePath)}"`);
writeFileSync(page, html);
const ownFiles = [...sheets.map(([, href]) => resolve(pageDir, href)), ...order].filter((path) => dirname(path) === pageDir);
for (const path of ownFiles) rmSync(path);
console.log(`${pagePath}: ${order.length} modules → ${relative(distDir, bundlePath)}, ${sheets.length} stylesheets → ${base}.bundle.css`);
