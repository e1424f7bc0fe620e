// Every exchange of the core's registry (src/exchange_id.rs ExchangeId::ALL and src/exchange/mod.rs
// `adapter`, generated into extension/shared/core-constants.js) has everything outside the adapter
// that it needs: its words in every language, its stand-in, demo sample and benchmark entry, its
// hosts in the manifest, the CSP, the privacy policy and the store listings, and its row in the
// README's key guide. Each failure names the exchange and what it lacks. The steps to add an
// exchange are at the top of src/exchange/mod.rs.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import { PRICE_URLS, SHAPE, AT_SCALE } from '../../bench/prices.mjs';
import { EXCHANGE_IDS, EXCHANGES } from '../../extension/shared/core-constants.js';
import { STAND_INS } from '../e2e/exchanges.mjs';

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const localesRoot = new URL('../../extension/_locales/', import.meta.url);
const languages = readdirSync(localesRoot);
const messages = Object.fromEntries(languages.map((lang) => [lang, JSON.parse(readFileSync(new URL(`${lang}/messages.json`, localesRoot), 'utf8'))]));
const manifest = JSON.parse(read('manifest.json'));
const listing = JSON.parse(read('store/listing.json')).listing;

/** How many steps the options page shows of each exchange's key guide (guide_<id>_1 … _N). */
const GUIDE_STEPS = Number(/\bconst GUIDE_STEPS = (\d+);/.exec(read('extension/options/options.js'))?.[1]);

/** The locale keys every exchange needs, and who reads them. */
const NEEDED_KEYS = [
  (id) => `exchange_${id}`, // its name (extension/shared/ext.js exchangeName)
  (id) => `keysPath_${id}`, // where its keys are managed (error wording, deleting an account)
  (id) => `permission_${id}`, // the one permission to enable (error wording, "permissions not checked")
  (id) => `historyPermission_${id}`, // what reads the history (error_history_permission)
  (id) => `apiKeyHelp_${id}`, // the options page, under the key field
  (id) => `apiSecretHelp_${id}`, // the options page, under the secret field
  ...Array.from({ length: GUIDE_STEPS }, (_, at) => (id) => `guide_${id}_${at + 1}`), // the key guide
];
/** Per-exchange keys an exchange may have (the options page falls back to the common label). */
const OPTIONAL_KEYS = [(id) => `apiKeyLabel_${id}`, (id) => `apiSecretLabel_${id}`];
const PER_EXCHANGE_KEY = /^(?:exchange|keysPath|permission|historyPermission|apiKeyHelp|apiSecretHelp|apiKeyLabel|apiSecretLabel)_(.+)$|^guide_(.+)_(\d+)$/;

const hostOf = (origin) => origin.replace(/^https:\/\//, '').replace(/\/\*$/, '');
const hostsOf = (id) => EXCHANGES[id].origins.map(hostOf);

/** What `check(id)` finds missing for each exchange, as "<id>: <what>" lines. */
function missing(check) {
  return EXCHANGE_IDS.flatMap((id) => check(id).map((what) => `${id}: ${what}`));
}

test('the registry is read: every exchange id has its origins', () => {
  assert.ok(EXCHANGE_IDS.length >= 5, EXCHANGE_IDS.join());
  assert.ok(GUIDE_STEPS >= 1, 'GUIDE_STEPS read from extension/options/options.js');
  assert.deepEqual(missing((id) => (EXCHANGES[id]?.origins?.length ? [] : ['no origins in core-constants.js'])), []);
});

for (const lang of languages) {
  test(`${lang}: every exchange has each locale key it needs`, () => {
    assert.deepEqual(missing((id) => NEEDED_KEYS.map((key) => key(id)).filter((key) => !messages[lang][key]?.message?.trim())
      .map((key) => `no "${key}" in extension/_locales/${lang}/messages.json`)), []);
  });

  test(`${lang}: every per-exchange locale key belongs to an exchange of the registry, and is read`, () => {
    const stray = Object.keys(messages[lang]).filter((key) => {
      const match = PER_EXCHANGE_KEY.exec(key);
      if (!match) return false;
      const id = match[1] ?? match[2];
      const step = match[3] === undefined ? 1 : Number(match[3]);
      return !EXCHANGE_IDS.includes(id) || step < 1 || step > GUIDE_STEPS;
    });
    assert.deepEqual(stray, [], `keys for no exchange of EXCHANGE_IDS, or guide steps past GUIDE_STEPS (${GUIDE_STEPS})`);
    const known = new Set(EXCHANGE_IDS.flatMap((id) => [...NEEDED_KEYS, ...OPTIONAL_KEYS].map((key) => key(id))));
    assert.deepEqual(Object.keys(messages[lang]).filter((key) => PER_EXCHANGE_KEY.test(key) && !known.has(key)), []);
  });

  // A sentence that lists the exchanges (the extension's description, the welcome page, the store
  // summaries) lists every one: it names more than half of them, so it names them all.
  test(`${lang}: a sentence that lists the exchanges names every one`, () => {
    const names = Object.fromEntries(EXCHANGE_IDS.map((id) => [id, messages[lang][`exchange_${id}`]?.message ?? id]));
    const texts = [
      ...Object.entries(messages[lang]).map(([key, { message }]) => [`extension/_locales/${lang}/messages.json ${key}`, message]),
      ...Object.entries(listing[lang] ?? {}).filter(([, text]) => typeof text === 'string').map(([key, text]) => [`store/listing.json ${lang}.${key}`, text]),
    ];
    const short = texts.flatMap(([where, text]) => {
      const named = EXCHANGE_IDS.filter((id) => text.includes(names[id]));
      if (named.length * 2 <= EXCHANGE_IDS.length || named.length === EXCHANGE_IDS.length) return [];
      return [`${where} lists the exchanges without ${EXCHANGE_IDS.filter((id) => !named.includes(id)).join(', ')}`];
    });
    assert.deepEqual(short, []);
  });
}

test('every exchange has its stand-in in tests/e2e/exchanges.mjs, serving every host its adapter names', () => {
  assert.deepEqual(missing((id) => {
    const standIn = STAND_INS[id];
    if (!standIn) return ['no entry in STAND_INS (tests/e2e/exchanges.mjs)'];
    const problems = ['create', 'holdings'].filter((name) => typeof standIn[name] !== 'function').map((name) => `STAND_INS.${id}.${name} is not a function`);
    for (const field of ['label', 'apiKey', 'secret']) if (!standIn.sample?.[field]) problems.push(`its sample account has no ${field}`);
    if (EXCHANGES[id].keyFile && !standIn.sample?.keyFile) problems.push('its sample account has no keyFile, and the exchange\'s key form reads one');
    if (problems.length) return problems;
    const served = standIn.create({}).hosts ?? [];
    problems.push(...hostsOf(id).filter((host) => !served.includes(host)).map((host) => `its stand-in does not serve ${host}`));
    if (!Object.keys(standIn.holdings(standIn.sample)).length) problems.push('its sample account holds nothing');
    return problems;
  }), []);
  assert.deepEqual(Object.keys(STAND_INS).filter((id) => !EXCHANGE_IDS.includes(id)), [], 'stand-ins for no exchange of EXCHANGE_IDS');
});

test('the demo adds one sample account on every exchange', async () => {
  // Imported here: the demo's samples are made as the module loads, and fail to without a stand-in.
  const { SAMPLES } = await import('../demo/samples.mjs');
  assert.deepEqual(missing((id) => (SAMPLES.some((account) => account.exchange === id) ? [] : ['no demo sample (tests/demo/samples.mjs SAMPLES)'])), []);
});

test('the benchmark prices every exchange at scale (bench/prices.mjs)', () => {
  assert.deepEqual(missing((id) => {
    const problems = [];
    if (!SHAPE[id]) problems.push('no row count in SHAPE');
    if (!AT_SCALE[id]) problems.push('no markets at scale in AT_SCALE');
    if (!PRICE_URLS[id]?.length) problems.push('no price URLs in PRICE_URLS');
    for (const url of PRICE_URLS[id] ?? []) if (!hostsOf(id).includes(new URL(url).host)) problems.push(`PRICE_URLS names ${url}, not one of its hosts`);
    return problems;
  }), []);
  for (const [table, ids] of Object.entries({ SHAPE, AT_SCALE, PRICE_URLS })) {
    assert.deepEqual(Object.keys(ids).filter((id) => !EXCHANGE_IDS.includes(id)), [], `${table}: entries for no exchange of EXCHANGE_IDS`);
  }
});

test('every host an adapter names is a host permission, in the CSP\'s connect-src and in the privacy policy', () => {
  const permitted = manifest.host_permissions ?? [];
  const csp = manifest.content_security_policy?.extension_pages ?? '';
  const connect = (csp.split(';').map((directive) => directive.trim()).find((directive) => directive.startsWith('connect-src ')) ?? '').split(/\s+/).slice(1);
  const privacy = read('PRIVACY.md');
  assert.deepEqual(missing((id) => EXCHANGES[id].origins.flatMap((origin) => [
    ...(permitted.includes(origin) ? [] : [`${origin} is not in manifest.json host_permissions`]),
    ...(connect.includes(`https://${hostOf(origin)}`) ? [] : [`https://${hostOf(origin)} is not in manifest.json's CSP connect-src`]),
    ...(privacy.includes(hostOf(origin)) ? [] : [`${hostOf(origin)} is not in PRIVACY.md (node tools/release/privacy.mjs writes it)`]),
  ])), []);
});

for (const lang of languages) {
  test(`${lang}: the store listing justifies every host an adapter names`, () => {
    const justified = listing[lang]?.hostPermissions ?? {};
    assert.deepEqual(missing((id) => EXCHANGES[id].origins.filter((origin) => !justified[origin]?.trim())
      .map((origin) => `no justification for ${origin} in store/listing.json ${lang}.hostPermissions`)), []);
  });
}

test('the README\'s key guide has a row for every exchange', () => {
  const rows = read('README.md').split('\n').filter((line) => line.startsWith('| '));
  assert.deepEqual(missing((id) => {
    const name = messages.en[`exchange_${id}`]?.message ?? id;
    return rows.some((row) => row.startsWith(`| ${name} |`)) ? [] : [`no "| ${name} | where | the one permission | never enable |" row in README.md`];
  }), []);
});
