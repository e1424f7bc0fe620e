// Drives the shipped dist/chrome build, unchanged, in headless Chromium (playwright-core only).
// Every exchange host resolves to the local mock server through --host-resolver-rules; the mock's
// self-signed certificate is accepted with --ignore-certificate-errors. Nothing in the build knows
// it is tested.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_CHROME = process.env.CARTERA_DIST_CHROME ?? join(ROOT, 'dist/chrome');
// The README's screenshots are rewritten only when asked (CARTERA_SCREENSHOTS=docs); otherwise
// they go to dist/, so a test run leaves the working tree as it found it.
export const SCREENSHOTS = join(ROOT, process.env.CARTERA_SCREENSHOTS === 'docs' ? 'docs/screenshots' : 'dist/screenshots');
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/lib/chromium/chromium';

const manifest = () => JSON.parse(readFileSync(join(DIST_CHROME, 'manifest.json'), 'utf8'));

/** The page the extension opens when it is installed (background.js, "First minute"). */
export const WELCOME_PAGE = 'welcome/welcome.html';
/** The welcome page's address, in any extension. */
const WELCOME_URL = /^chrome-extension:\/\/[a-p]{32}\/welcome\/welcome\.html/;

export function makeProfileDir() {
  return mkdtempSync(join(tmpdir(), 'cartera-profile-'));
}

export function removeProfileDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Start Chromium with the extension. Returns a handle that collects, for the whole session:
 * console messages and errors of every page and of the service worker, and every request URL
 * (pages and service worker alike).
 *
 * Chromium reports every start of an extension loaded with --load-extension as an install, so the
 * extension opens its welcome page whenever the profile holds no vault yet. Unless `keepWelcome`,
 * that page is closed as it opens, and launch returns only once it has been, so that a test finds
 * the pages it opens itself and no other.
 */
export async function launch({
  profileDir, server, port, log = { console: [], requests: [] }, args: extraArgs = [], locale = 'en-US', headless = true,
  dist = DIST_CHROME, keepWelcome = false,
}) {
  // Every exchange host goes to the mock; any other name fails to resolve, so nothing can leave
  // the machine even by mistake.
  const hostRules = `${server?.hostRules() ?? `MAP api.bitso.com 127.0.0.1:${port}`}, MAP * ~NOTFOUND`;
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless,
    viewport: headless ? { width: 1000, height: 900 } : null,
    locale,
    args: [
      `--lang=${locale}`,
      ...(headless ? ['--headless=new'] : []),
      `--disable-extensions-except=${dist}`,
      `--load-extension=${dist}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=${hostRules}`,
      '--ignore-certificate-errors',
      ...extraArgs,
    ],
  });
  context.setDefaultTimeout(15_000);
  // Pass the same `log` to a relaunch to keep one record across browser restarts.
  const h = { context, profileDir, server, port, console: log.console, requests: log.requests, extensionId: null };

  context.on('console', (msg) => h.console.push({ type: msg.type(), text: msg.text(), url: msg.location()?.url ?? '' }));
  context.on('weberror', (e) => h.console.push({ type: 'pageerror', text: String(e.error()?.stack ?? e.error()) }));
  context.on('request', (req) => h.requests.push(req.url()));
  context.on('page', (page) => page.on('dialog', (dialog) => dialog.accept()));
  let welcomed = false;
  if (!keepWelcome) {
    const closeIfWelcome = (page) => {
      if (!WELCOME_URL.test(page.url())) return;
      welcomed = true;
      page.close().catch(() => {});
    };
    context.on('page', (page) => {
      closeIfWelcome(page);
      page.once('domcontentloaded', () => closeIfWelcome(page));
    });
  }

  let worker = context.serviceWorkers()[0];
  if (!worker) {
    try {
      worker = await context.waitForEvent('serviceworker', { timeout: 10_000 });
    } catch (e) {
      await context.close();
      throw new Error(`the extension's service worker did not start (is dist/chrome built? background.js present?): ${e.message}`);
    }
  }
  h.extensionId = worker.url().split('/')[2];
  h.urlOf = (path) => `chrome-extension://${h.extensionId}/${path.replace(/^\//, '')}`;
  h.close = () => context.close();
  if (!keepWelcome && existsSync(join(dist, WELCOME_PAGE)) && (await readStorage(h, 'local', 'vault')).vault === undefined) {
    // A welcome tab opened before the listener above was attached is found among the pages.
    const alreadyOpen = () => context.pages().filter((page) => WELCOME_URL.test(page.url())).map((page) => page.close().catch(() => {})).length > 0;
    try {
      await until(() => welcomed || alreadyOpen(), { timeout: 30_000, message: 'the welcome page an install opens' });
    } catch (e) {
      // The caller never gets `h` to close: a browser left open would keep the test file from ever ending.
      await context.close();
      throw e;
    }
  }
  return h;
}

/** The running service worker, woken up if Chromium let it go idle. */
export async function serviceWorker(h) {
  const live = h.context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${h.extensionId}/`));
  if (live) return live;
  const page = await h.context.newPage();
  const waiting = h.context.waitForEvent('serviceworker', { timeout: 10_000 });
  await page.goto(h.urlOf(manifest().action.default_popup));
  const worker = await waiting;
  await page.close();
  return worker;
}

/** Evaluate in the service worker (retries once if the worker was replaced meanwhile). */
export async function inWorker(h, fn, arg) {
  try {
    return await (await serviceWorker(h)).evaluate(fn, arg);
  } catch (e) {
    if (!/closed|destroyed|Target/i.test(e.message)) throw e;
    return (await serviceWorker(h)).evaluate(fn, arg);
  }
}

/**
 * Starts the browser on a profile holding `items` in storage.local and nothing else, as an
 * update finds what an earlier version left: this version's first start runs (and writes its
 * own first-run items, waited for with `started`), the storage is replaced, and the browser
 * starts again on it. Returns the handle of the second start.
 */
export async function relaunchWithStorage({ profileDir, server, log, items, started }) {
  const first = await launch({ profileDir, server, log });
  await until(async () => started(await readStorage(first, 'local')), { message: 'the first start' });
  await inWorker(first, async (stored) => {
    await chrome.storage.local.clear();
    await chrome.storage.local.set(stored);
  }, items);
  await first.close();
  return launch({ profileDir, server, log });
}

/**
 * Stops the extension's service worker as Chrome does when it goes idle, through
 * chrome://serviceworker-internals (its "Stop" button), and waits until it is stopped. The next
 * event or message starts it again. Playwright does not see the restarted worker, so after this
 * read storage with `pageStorage` from an extension page.
 */
export async function stopServiceWorker(h) {
  h.internals ??= await h.context.newPage();
  await h.internals.goto('chrome://serviceworker-internals/');
  const registration = h.internals.locator('.serviceworker-registration', { hasText: `chrome-extension://${h.extensionId}/` });
  const status = async () => (await registration.innerText()).match(/Running Status: (\w+)/)?.[1];
  await registration.locator('cr-button[data-command="stop"]').click();
  await until(async () => (await status()) === 'STOPPED', { message: 'the service worker stopped' });
}

/** storage (`area`) as read from the extension page `page`. */
export function pageStorage(page, keys = null, area = 'local') {
  return page.evaluate(([a, k]) => chrome.storage[a].get(k), [area, keys]);
}

export const readStorage = (h, area = 'local', keys = null) =>
  inWorker(h, ([a, k]) => chrome.storage[a].get(k), [area, keys]);

/** storage.local, storage.sync and storage.session, as one JSON-able object. */
export async function dumpStorage(h) {
  return {
    local: await readStorage(h, 'local'),
    sync: await readStorage(h, 'sync'),
    session: await readStorage(h, 'session'),
  };
}

/** Send a message to the background from an extension page, as the UI does. */
export async function sendMessage(page, message) {
  return page.evaluate((m) => chrome.runtime.sendMessage(m), message);
}

export async function openPopup(h) {
  const page = await h.context.newPage();
  await page.setViewportSize({ width: 360, height: 600 });
  await page.goto(h.urlOf(manifest().action.default_popup));
  return page;
}

export async function openOptions(h) {
  const page = await h.context.newPage();
  await page.goto(h.urlOf(manifest().options_ui?.page ?? manifest().options_page));
  return page;
}

/** Wait for the page the extension opens (e.g. the options page after #open-options). */
export async function waitForPage(h, pathPart, action) {
  const waiting = h.context.waitForEvent('page', { predicate: (p) => p.url().includes(pathPart), timeout: 10_000 });
  await action();
  const page = await waiting;
  await page.waitForLoadState('domcontentloaded');
  return page;
}

/**
 * Fill the add-account form and save it, choosing the exchange by its accessible name.
 * `passphrase` is typed into #passphrase and #passphrase-confirm only when those fields are shown
 * (no vault yet). `apiPassphrase` is the key's own passphrase (OKX, KuCoin), typed into the field
 * named "API passphrase" when the exchange shows it. Returns the #connection-status text once it
 * settles.
 */
export async function addAccount(options, { exchange = 'bitso', label, apiKey, secret, apiPassphrase, passphrase, confirm = passphrase }) {
  const chooser = options.getByLabel('Exchange', { exact: true });
  if (await chooser.isEnabled()) await chooser.selectOption(exchange);
  await options.fill('#label', label);
  await options.fill('#api-key', apiKey);
  // A private key (Coinbase) goes in its textarea, any other secret in the password field.
  await options.fill((await options.locator('#private-key').isVisible()) ? '#private-key' : '#api-secret', secret);
  const apiPassphraseField = options.getByLabel('API passphrase', { exact: true });
  if (apiPassphrase !== undefined && (await apiPassphraseField.isVisible())) await apiPassphraseField.fill(apiPassphrase);
  if (await options.locator('#passphrase').isVisible()) {
    await options.fill('#passphrase', passphrase);
    if (await options.locator('#passphrase-confirm').isVisible()) await options.fill('#passphrase-confirm', confirm);
  }
  const status = options.locator('#connection-status');
  const before = (await status.textContent())?.trim() ?? '';
  await options.click('#save-account');
  await options.waitForFunction(
    (prev) => {
      const text = document.querySelector('#connection-status')?.textContent?.trim() ?? '';
      const warning = document.querySelector('#scope-warning');
      if (warning && !warning.hidden) return true;
      return text !== '' && text !== prev && !/checking|testing|…/i.test(text);
    },
    before,
    { timeout: 20_000 },
  ).catch(() => {});
  return (await status.textContent())?.trim() ?? '';
}

/** Click #refresh and wait until the popup is no longer busy. */
export async function clickRefresh(popup) {
  await popup.click('#refresh');
  await waitIdle(popup);
}

export async function waitIdle(popup, timeout = 25_000) {
  await popup.waitForFunction(() => document.querySelector('#refresh')?.getAttribute('aria-busy') !== 'true', null, { timeout });
}

/** Poll `fn` until it returns a truthy value (or throw with the last value after `timeout` ms). */
export async function until(fn, { timeout = 15_000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${message}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** The exchange API hosts the manifest permits: the only hosts the extension may contact. */
export function exchangeHosts() {
  return manifest().host_permissions.map((origin) => origin.replace(/^https:\/\//, '').replace(/\/\*$/, ''));
}

/** Every URL must be the extension's own or one of the exchanges' API hosts. */
export function assertOnlyAllowedHosts(h) {
  const hosts = exchangeHosts();
  const allowed = (url) =>
    url.startsWith(`chrome-extension://${h.extensionId}/`) ||
    hosts.some((host) => url.startsWith(`https://${host}/`)) ||
    url.startsWith('data:') ||
    url.startsWith('blob:chrome-extension://') ||
    url === 'about:blank';
  const others = h.requests.filter((u) => !allowed(u));
  assert.deepEqual(others, [], 'requests to hosts other than the exchanges\' APIs');
  if (h.server) assert.deepEqual(h.server.strays(), [], 'requests that reached a host no exchange owns');
}

/** Uncaught exceptions in pages or the service worker (not deliberate console.error logging). */
export function uncaughtErrors(h) {
  return h.console.filter((m) => m.type === 'pageerror' || /^(Uncaught|Error in event handler)\b/.test(m.text));
}

/** The text a page shows plus its live form values, for secrecy checks. */
export async function pageDump(page) {
  return page.evaluate(() => {
    const values = [...document.querySelectorAll('input, textarea')].map((e) => e.value);
    return `${document.documentElement.outerHTML}\n${values.join('\n')}`;
  });
}

export async function screenshot(page, name, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), ...options });
}

const englishMessages = () => JSON.parse(readFileSync(join(DIST_CHROME, '_locales/en/messages.json'), 'utf8'));

/** An English message from the shipped locale file with its placeholders filled by name. */
export function english(key, values = {}) {
  const entry = englishMessages()[key];
  assert.ok(entry, `no English message ${key}`);
  return entry.message.replace(/\$([A-Z_]+)\$/g, (_, name) => {
    assert.ok(name.toLowerCase() in values || name in values, `${key} needs ${name}`);
    return values[name.toLowerCase()] ?? values[name];
  });
}

/**
 * What the pages must show for a stored error `{ code, exchange?, detail?, retryAt?, … }`, built
 * from the locale file: a string, or a RegExp where a countdown makes the text move.
 */
export function expectedErrorText(error) {
  const messages = englishMessages();
  const ex = error.exchange;
  const values = {
    exchange: ex ? messages[`exchange_${ex}`].message : '',
    keys_path: ex ? messages[`keysPath_${ex}`].message : '',
    permission: ex ? messages[`permission_${ex}`].message : '',
    detail: error.detail ?? '',
    wait: 'WAIT',
    min_chars: String(error.minChars ?? ''),
    field: error.field ? messages[`field_${error.field}`].message : '',
  };
  const text = english(`error_${error.code}`, values);
  if (!text.includes('WAIT')) return text;
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('WAIT', '(in \\d+ s|at .+|now)');
  return new RegExp(`^${escaped}$`);
}

/** Asserts that `text` is what the pages must show for `error`. */
export function assertErrorText(text, error, what = 'error text') {
  const expected = expectedErrorText(error);
  if (expected instanceof RegExp) assert.match(text.trim(), expected, what);
  else assert.equal(text.trim(), expected, what);
}
