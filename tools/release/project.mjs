// What the release steps read from the repository: the manifest, the versions the three package
// files declare, the changelog, the locale files and the store listing's source.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { changelogVersions } from '../../extension/changelog/entries.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const read = (path) => readFileSync(join(ROOT, path), 'utf8');
const readJson = (path) => JSON.parse(read(path));

export const manifest = () => readJson('manifest.json');
export const listingSource = () => readJson('store/listing.json');

/** The locale file of `lang` (en, es, pt_BR). */
export const messages = (lang) => readJson(`extension/_locales/${lang}/messages.json`);

/** What chrome.i18n.getMessage(key, substitutions) gives for `lang`'s message `key`. */
export function message(lang, key, substitutions = []) {
  const entry = messages(lang)[key];
  if (!entry) throw new Error(`no message ${key} in ${lang}`);
  return entry.message
    .replace(/\$([A-Za-z0-9_]+)\$/g, (_, name) => entry.placeholders?.[name.toLowerCase()]?.content ?? '')
    .replace(/\$(\d)/g, (_, n) => substitutions[Number(n) - 1] ?? '');
}

/** The version each file declares: `{ 'manifest.json': '0.2.0', 'Cargo.toml': …, … }`. */
export function declaredVersions() {
  const cargoToml = /^\[package\][^[]*?^version\s*=\s*"([^"]+)"/m.exec(read('Cargo.toml'))?.[1];
  const cargoLock = /^name = "cartera"\nversion = "([^"]+)"/m.exec(read('Cargo.lock'))?.[1];
  return {
    'manifest.json': manifest().version,
    'Cargo.toml': cargoToml,
    'Cargo.lock': cargoLock,
    'package.json': readJson('package.json').version,
  };
}

/** CHANGELOG.md's versions, newest first (`[{ version, heading, items }]`). */
export const changelog = () => changelogVersions(read('CHANGELOG.md'));

/**
 * Why this tree cannot be released as it is (versions that disagree, a changelog without the
 * version), or [] when it can. The git tree's cleanliness is build.sh's to check.
 */
export function releaseProblems() {
  const problems = [];
  const versions = declaredVersions();
  const version = versions['manifest.json'];
  for (const [file, declared] of Object.entries(versions)) {
    if (declared !== version) problems.push(`${file} says version ${declared}, manifest.json says ${version}`);
  }
  if (changelog()[0]?.version !== version) problems.push(`CHANGELOG.md's newest version is ${changelog()[0]?.version}, not ${version}`);
  return problems;
}

// `node tools/release/project.mjs check`: prints the version, or why it cannot be released.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'check') {
  const problems = releaseProblems();
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(manifest().version);
}
