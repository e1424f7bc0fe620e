// Small shim shared by the background, the popup and the options page: the browser namespace,
// messaging, i18n and number/time formatting. No business logic lives here.

import { DEFAULT_SETTINGS } from './core-constants.js';
import { originsOf } from './exchanges.js';

export { DEFAULT_SETTINGS };

export const browser = globalThis.browser ?? globalThis.chrome;

/** The popup's copy of what it showed last, drawn as its first frame (popup/popup.js). */
export const FIRST_FRAME_KEY = 'cartera.popupFirstFrame';
/** Messages that change nothing the popup shows; every other one clears the popup's copy first,
 * so that it never shows what a page has since hidden or removed. */
const READ_ONLY_MESSAGES = new Set(['activity', 'getNews', 'getState', 'refresh', 'setNews', 'testAccount']);

/** Sends a message to the background and returns its reply; never throws. */
export async function send(type, payload = {}) {
  if (!READ_ONLY_MESSAGES.has(type)) globalThis.localStorage?.removeItem(FIRST_FRAME_KEY);
  try {
    const reply = await browser.runtime.sendMessage({ ...payload, type });
    if (reply && typeof reply === 'object' && typeof reply.ok === 'boolean') return reply;
    return transportError();
  } catch {
    return transportError();
  }
}

function transportError() {
  return { ok: false, error: { code: 'no_background' } };
}

/** Stored settings with the core's defaults (src/profile.rs) for what was never set. */
export function withDefaults(settings) {
  return { ...DEFAULT_SETTINGS, ...(settings && typeof settings === 'object' ? settings : {}) };
}

/**
 * Asks for access to the API hosts of `exchangeIds`. Firefox lets users withhold MV3 host
 * permissions
 * (https://blog.mozilla.org/addons/2022/11/17/unified-extensions-button-and-how-to-handle-permissions-in-manifest-v3/),
 * and permissions.request() only works synchronously inside a user gesture, so call this first in
 * a click handler, before any await. Resolves true at once where access is already granted.
 */
export function requestExchangeAccess(exchangeIds) {
  return browser.permissions.request({ origins: originsOf(exchangeIds) }).catch(() => false);
}

/**
 * Copies the storage changes a page tracks into its `state`. `tracked` maps each
 * storage.local key the page keeps to the value it takes when the key is removed; the session's
 * non-secret `unlocked` flag sets `state.unlocked`. The session's vault key is never read or
 * copied here, although the change event carries it. Returns whether anything tracked changed.
 */
export function applyStorageChanges(state, changes, area, tracked) {
  if (area === 'session') {
    if ('lockEpoch' in changes) state.lockEpoch = changes.lockEpoch.newValue ?? 0;
    if (!('unlocked' in changes)) return 'lockEpoch' in changes;
    state.unlocked = changes.unlocked.newValue === true;
    return true;
  }
  if (area !== 'local') return false;
  const keys = Object.keys(tracked).filter((key) => key in changes);
  for (const key of keys) state[key] = changes[key].newValue ?? tracked[key];
  return keys.length > 0;
}

/** The localized string for `key`; falls back to the key so a missing string is visible. */
export function t(key, substitutions) {
  return browser.i18n.getMessage(key, substitutions) || key;
}

export function uiLang() {
  return browser.i18n.getUILanguage();
}

/** Fills text, aria-labels, titles and placeholders from data-i18n* attributes under `root`. */
export function localize(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  if (root === document) document.documentElement.lang = uiLang();
}

// Intl happily formats any three-letter code as a "currency" (BTC becomes "BTC 0.12" with two
// decimals), so only codes ICU knows as ISO 4217 get currency formatting.
const isoCurrencies = new Set(
  typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('currency') : ['MXN', 'USD', 'BRL', 'ARS', 'COP', 'EUR'],
);

export function isIsoCurrency(code) {
  return isoCurrencies.has(String(code).toUpperCase());
}

// Creating an Intl.NumberFormat costs far more than formatting with one, and the popup formats
// several numbers per asset row: one formatter per language and options is kept and reused.
const numberFormats = new Map();

function numberFormat(lang, options) {
  const key = JSON.stringify([lang, options]);
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(lang, options);
    numberFormats.set(key, format);
  }
  return format;
}

// Intl.NumberFormat accepts decimal strings and formats them exactly; money is never turned into
// a float on the way.
export function formatMoney(decimalString, quote, lang = uiLang()) {
  const code = String(quote).toUpperCase();
  if (isIsoCurrency(code)) {
    try {
      return numberFormat(lang, { style: 'currency', currency: code }).format(decimalString);
    } catch {
      // Fall through to the plain format below.
    }
  }
  return `${formatAmount(decimalString, lang)} ${code}`;
}

export function formatAmount(decimalString, lang = uiLang()) {
  return numberFormat(lang, { maximumFractionDigits: 8 }).format(decimalString);
}

/** "97.31 %" from the core's "97.31"; `signed` adds + or − for changes. */
export function formatPercent(decimalString, lang = uiLang(), { signed = false } = {}) {
  const text = numberFormat(lang, {
    style: 'unit',
    unit: 'percent',
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
    signDisplay: signed ? 'exceptZero' : 'auto',
  }).format(decimalString);
  return text.replace('-', '\u2212');
}

/** "2 minutes ago", "hace 2 minutos", "in 30 seconds"; "just now" within a minute in the past. */
export function relativeTime(ms, lang = uiLang(), now = Date.now()) {
  const seconds = Math.round((ms - now) / 1000);
  const abs = Math.abs(seconds);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  if (seconds <= 0 && abs < 45) return t('justNow');
  if (abs < 60) return rtf.format(seconds, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

/** The decimal mark of `lang` ("." or ","), so a typed "0,5" is read as the user meant it. */
export function decimalMark(lang = uiLang()) {
  const part = numberFormat(lang, {}).formatToParts(1.5).find((p) => p.type === 'decimal');
  return part?.value === ',' ? ',' : '.';
}

/** Shows the page in the chosen theme: "light", "dark" or "system" (the browser's preference). */
export function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** The name of a portfolio by id (the default one's name until storage has portfolios). */
/** The portfolio an account or holding is in: its own if that still exists, else the first (the
 * core's rule, src/profile.rs `portfolio_of`). */
export function portfolioOf(entry, portfolios) {
  return portfolios.some((portfolio) => portfolio.id === entry.portfolio) ? entry.portfolio : portfolios[0]?.id;
}

export function portfolioName(portfolios, id) {
  return portfolios.find((portfolio) => portfolio.id === id)?.name ?? t('defaultPortfolioName');
}

/** Creates an element with a class and text; DOM is always built this way, never from HTML strings. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/** A thrown core error (a code and its parameters), or anything else as `{ code: 'internal' }`. */
export function asError(thrown) {
  if (thrown && typeof thrown === 'object' && typeof thrown.code === 'string') return thrown;
  return { code: 'internal' };
}

/** The exchange's name as users know it. */
export function exchangeName(id) {
  return t(`exchange_${id}`);
}

/**
 * The sentence for an error `{ code, exchange?, detail?, retryAt?, minChars?, field? }`, in the UI
 * language, from `error_<code>` in the locale files. The parameters are passed in one fixed order
 * (src/error/tests.rs checks every message against it). A wait is rendered against `now`, so a
 * message re-rendered later stays true.
 */
export function errorText(error, now = Date.now()) {
  if (!error || typeof error.code !== 'string' || !/^[a-z_]{1,40}$/.test(error.code)) return t('error_internal');
  const exchange = typeof error.exchange === 'string' && /^[a-z]{1,20}$/.test(error.exchange) ? error.exchange : null;
  const substitutions = [
    exchange ? exchangeName(exchange) : '',
    exchange ? t(`keysPath_${exchange}`) : '',
    exchange ? t(`permission_${exchange}`) : '',
    typeof error.detail === 'string' ? error.detail : '',
    waitText(error.retryAt, now),
    Number.isFinite(error.minChars) ? String(error.minChars) : '',
    typeof error.field === 'string' ? t(`field_${error.field}`) : '',
    exchange ? t(`historyPermission_${exchange}`) : '',
  ];
  return browser.i18n.getMessage(`error_${error.code}`, substitutions) || t('error_internal');
}

/** Whether `error` names a retry time still ahead, so its message must be re-rendered. */
export function waitPending(error, now = Date.now()) {
  return Number.isFinite(error?.retryAt) && error.retryAt > now;
}

function waitText(retryAt, now) {
  if (!Number.isFinite(retryAt)) return '';
  const seconds = Math.ceil((retryAt - now) / 1000);
  if (seconds <= 0) return t('retryNow');
  if (seconds <= 90) return t('retryInSeconds', [String(seconds)]);
  return t('retryAtTime', [new Intl.DateTimeFormat(uiLang(), { timeStyle: 'short' }).format(retryAt)]);
}

/** Saves `text` as the CSV file `file` through the browser's download. */
export function downloadCsv(text, file) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const link = el('a');
  link.href = url;
  link.download = file;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Lets the browser paint (e.g. "Unlocking…") before a synchronous Argon2id run blocks the page. */
export function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
