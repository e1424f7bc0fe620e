// What `./build.sh release` hands the stores, checked without a browser: the listings
// (store/listing.json) against the stores' limits, complete in every language, with a
// justification for each permission the manifest asks for and for nothing else; the versions;
// the privacy policy and the changelog; the tool versions SOURCE-BUILD.md promises; and the sizes
// the screenshot renderer is held to (tools/release/screenshots.mjs reads each PNG it writes back).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { LIMITS, listingMarkdown, manifestPermissions } from '../../tools/release/listing.mjs';
import { privacyMarkdown } from '../../tools/release/privacy.mjs';
import {
  changelog, declaredVersions, listingSource, manifest, messages, releaseProblems, ROOT,
} from '../../tools/release/project.mjs';
import { pngSize, SCREENSHOT_SIZE, SCREENSHOTS, TILE_SIZE } from '../../tools/release/screenshots.mjs';

const read = (path) => readFileSync(join(ROOT, path), 'utf8');
const source = listingSource();
const languages = Object.keys(source.languages);

/** Every path to a string in `value`, with the string: [['name'], 'Cartera'], [['permissions', 'storage'], '…'], … */
function leaves(value, path = []) {
  if (typeof value === 'string') return [[path, value]];
  return Object.entries(value).flatMap(([key, inner]) => leaves(inner, [...path, key]));
}
const paths = (value) => leaves(value).map(([path]) => JSON.stringify(path)).sort();

test('the listing has the languages the extension has', () => {
  assert.deepEqual([...languages].sort(), ['en', 'es', 'pt_BR']);
  assert.deepEqual(Object.keys(source.listing).sort(), [...languages].sort());
});

for (const lang of languages) {
  const entry = source.listing[lang];

  test(`${lang}: every field English has, none empty`, () => {
    assert.deepEqual(paths(entry), paths(source.listing.en));
    for (const [path, text] of leaves(entry)) assert.ok(text.trim().length > 0, `${lang} ${path.join(' → ')} is empty`);
  });

  test(`${lang}: within the stores' limits, and the manifest's own name and summary`, () => {
    assert.ok(entry.name.length <= LIMITS.chromeName && entry.name.length <= LIMITS.amoName, `name: ${entry.name.length}`);
    assert.ok(entry.summary.length <= LIMITS.chromeSummary, `summary: ${entry.summary.length} characters`);
    assert.ok(entry.amoSummary.length <= LIMITS.amoSummary, `AMO summary: ${entry.amoSummary.length} characters`);
    assert.ok(entry.description.length <= LIMITS.chromeDescription, `description: ${entry.description.length} characters`);
    // Chrome shows the manifest's name and description, in the language of the listing.
    assert.equal(entry.name, messages(lang).extName.message);
    assert.equal(entry.summary, messages(lang).extDescription.message);
  });

  test(`${lang}: a justification for each permission and host permission, and only those`, () => {
    const { permissions, hostPermissions } = manifestPermissions();
    assert.deepEqual(Object.keys(entry.permissions).sort(), [...permissions].sort(), 'API permissions');
    assert.deepEqual(Object.keys(entry.hostPermissions).sort(), [...hostPermissions].sort(), 'host permissions');
  });

  test(`${lang}: a caption for every screenshot, and the listing renders`, () => {
    assert.deepEqual(Object.keys(entry.screenshots).sort(), SCREENSHOTS.map((shot) => shot.id).sort());
    const text = listingMarkdown(lang, { screenshots: [{ file: 'screenshot-1-popup.png', caption: entry.screenshots.popup }] });
    assert.ok(!/undefined|null|\[object /.test(text), 'nothing missing in the listing');
    assert.ok(text.includes(entry.description));
    const privacy = privacyMarkdown(lang);
    assert.ok(privacy.startsWith(`# ${messages(lang).privacyTitle.message}\n`));
    assert.ok(!/undefined|\$[A-Z_]+\$|\$\d/.test(privacy), 'every placeholder filled');
  });
}

test('the permission checks see optional permissions too', () => {
  const of = { permissions: ['storage'], optional_permissions: ['downloads'], host_permissions: ['https://a.example/*'], optional_host_permissions: ['https://b.example/*'] };
  assert.deepEqual(manifestPermissions(of), { permissions: ['storage', 'downloads'], hostPermissions: ['https://a.example/*', 'https://b.example/*'] });
});

test('a news publisher among the hosts puts news into the privacy policy and the data-use answers', () => {
  const of = { ...manifest(), optional_host_permissions: ['https://news.example/*'] };
  const withoutNews = { ...manifest(), optional_host_permissions: [] };
  assert.ok(privacyMarkdown('en', of).includes(messages('en').privacySendNews.message));
  assert.ok(!privacyMarkdown('en', withoutNews).includes(messages('en').privacySendNews.message));
  const entry = source.listing.en;
  const withNews = listingMarkdown('en', { of, source: { ...source, listing: { ...source.listing, en: { ...entry, hostPermissions: { ...entry.hostPermissions, 'https://news.example/*': 'news' } } } } });
  assert.ok(withNews.includes(entry.dataUse.news));
  const newsHosts = new Set(manifest().optional_host_permissions);
  const hostPermissions = Object.fromEntries(Object.entries(entry.hostPermissions).filter(([host]) => !newsHosts.has(host)));
  const withoutNewsListing = listingMarkdown('en', { of: withoutNews, source: { ...source, listing: { ...source.listing, en: { ...entry, hostPermissions } } } });
  assert.ok(!withoutNewsListing.includes(entry.dataUse.news));
});

test('manifest.json, Cargo.toml, Cargo.lock and package.json name one version, the changelog\'s newest', () => {
  const versions = declaredVersions();
  assert.deepEqual(new Set(Object.values(versions)).size, 1, JSON.stringify(versions));
  assert.deepEqual(releaseProblems(), []);
  for (const { version, items } of changelog()) {
    assert.match(version, /^\d+\.\d+\.\d+$/);
    assert.ok(items.length > 0, `${version} says what changed`);
  }
});

test('PRIVACY.md is what the extension\'s privacy page says', () => {
  assert.equal(read('PRIVACY.md'), privacyMarkdown('en'), 'run node tools/release/privacy.mjs');
});

test('SOURCE-BUILD.md names the versions the build pins', () => {
  const text = read('SOURCE-BUILD.md');
  const buildSh = read('build.sh');
  const pinned = (name) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(buildSh)?.[1];
  const lock = JSON.parse(read('package-lock.json')).packages;
  const cargoLock = (name) => new RegExp(`^name = "${name}"\\nversion = "([^"]+)"`, 'm').exec(read('Cargo.lock'))?.[1];
  const rows = {
    'wasm-pack': pinned('WASM_PACK_VERSION'),
    'wasm-bindgen-cli': cargoLock('wasm-bindgen'),
    'binaryen (wasm-opt)': lock['node_modules/binaryen'].version,
    'esbuild-wasm': lock['node_modules/esbuild-wasm'].version,
    terser: lock['node_modules/terser'].version,
    'clean-css': lock['node_modules/clean-css'].version,
  };
  for (const [tool, version] of Object.entries(rows)) {
    assert.ok(version, `${tool}: no pinned version found`);
    assert.ok(text.includes(`| ${tool} | ${version} |`), `SOURCE-BUILD.md: ${tool} ${version}`);
  }
  const rust = pinned('RUST_VERSION');
  assert.ok(text.includes(`Rust ${rust}`) && text.includes(`rustup toolchain install ${rust}`), `SOURCE-BUILD.md: Rust ${rust}`);
  assert.ok(rust.startsWith(/^rust-version = "([^"]+)"/m.exec(read('Cargo.toml'))[1]), 'the pinned compiler meets Cargo.toml\'s rust-version');
});

test('the screenshots are the sizes both stores take, the tile Chrome\'s small one', () => {
  assert.deepEqual(SCREENSHOT_SIZE, { width: 1280, height: 800 });
  assert.deepEqual(TILE_SIZE, { width: 440, height: 280 });
  assert.equal(new Set(SCREENSHOTS.map((shot) => shot.id)).size, SCREENSHOTS.length);
  assert.ok(SCREENSHOTS.length <= 5, 'Chrome takes five screenshots at most');
  // The size check the renderer applies to every file it writes reads real PNGs.
  assert.deepEqual(pngSize(readFileSync(join(ROOT, 'extension/icons/icon-128.png'))), { width: 128, height: 128 });
  assert.deepEqual(pngSize(readFileSync(join(ROOT, 'extension/icons/icon-16.png'))), { width: 16, height: 16 });
  assert.throws(() => pngSize(readFileSync(join(ROOT, 'extension/welcome/sample-popup.webp'))), /not a PNG/);
});
