// The stores' pictures, rendered from the built extension (dist/chrome, unchanged) in headless
// Chromium on the demo's sample portfolio (tests/demo/samples.mjs, served by the end-to-end
// suite's exchange stand-ins), so that they always show the current product: for each language,
// 1280×800 screenshots (the pages in SCREENSHOTS, each under its caption from store/listing.json)
// and the 440×280 promotional tile. Every file's size is read back from the PNG it wrote.
//
//   node tools/release/screenshots.mjs <out dir>   <out dir>/<language>/… for every language
//   node tools/release/screenshots.mjs --welcome   extension/welcome/sample-popup.webp, the
//                                                  welcome page's picture of a sample portfolio

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { sampleExchanges, startExchanges } from '../../tests/e2e/exchanges.mjs';
import { TICKERS } from '../../tests/e2e/fixtures.mjs';
import {
  assertOnlyAllowedHosts, clickRefresh, DIST_CHROME, launch, makeProfileDir, openPopup, readStorage, removeProfileDir,
  sendMessage, uncaughtErrors, until, waitIdle,
} from '../../tests/e2e/harness.mjs';
import { addSamples, PASSPHRASE, writeKeyFiles } from '../../tests/demo/samples.mjs';
import { listingSource, ROOT } from './project.mjs';

/** What both stores take for screenshots (Chrome: 1280×800 or 640×400), and Chrome's small tile. */
export const SCREENSHOT_SIZE = { width: 1280, height: 800 };
export const TILE_SIZE = { width: 440, height: 280 };

/**
 * The screenshots, in the stores' order: one entry per picture, its caption under `id` in
 * store/listing.json's `screenshots`. `popup` pictures are the popup at its own size on the
 * 1280×800 canvas; `page` pictures are the page in a window that fills the canvas under the
 * caption. A page this build does not have is left out.
 */
export const SCREENSHOTS = [
  { id: 'popup', page: 'popup/popup.html', shape: 'popup', theme: 'light' },
  { id: 'options', page: 'options/options.html', shape: 'page', theme: 'light' },
  { id: 'history', page: 'history/history.html', shape: 'page', theme: 'light', ready: '#change', click: '.range[data-range="all"]' },
  { id: 'profitAndLoss', page: 'pnl/pnl.html', shape: 'page', theme: 'light', ready: '#holdings tbody tr' },
  { id: 'dark', page: 'popup/popup.html', shape: 'popup', theme: 'dark' },
];

const POPUP = { width: 360, height: 600 };
// The page's window under the caption: the canvas less the caption band and the margins.
const WINDOW = { width: 1104, height: 624 };
const PRICES_REUSED_FOR_MS = 10_000; // src/refresh.rs
// Bitso's prices at three later syncs, so that the history has a shape.
const MARKETS = [
  { btc_mxn: '1810000.00', eth_mxn: '60100.00', xrp_mxn: '11.20' },
  { btc_mxn: '1760000.00', eth_mxn: '61500.00', xrp_mxn: '11.90' },
  { btc_mxn: '1842000.00', eth_mxn: '62400.00', xrp_mxn: '12.35' },
];

/** `{ width, height }` of a PNG, from its header. */
export function pngSize(bytes) {
  const signature = '89504e470d0a1a0a';
  if (bytes.subarray(0, 8).toString('hex') !== signature || bytes.subarray(12, 16).toString('latin1') !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Writes `bytes` to `path` and checks that the PNG is `size`. */
function writePng(path, bytes, size) {
  writeFileSync(path, bytes);
  const written = pngSize(readFileSync(path));
  if (written.width !== size.width || written.height !== size.height) {
    throw new Error(`${path} is ${written.width}×${written.height}, not ${size.width}×${size.height}`);
  }
}

const dataUrl = (bytes, type = 'image/png') => `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A shot under its caption on the store's canvas. */
function framed(shot, caption, theme) {
  const background = theme === 'dark' ? 'linear-gradient(150deg, #182020, #06100f)' : 'linear-gradient(150deg, #0c7169, #0a4f4a)';
  return `<!doctype html><html><head><meta charset="utf-8"><style>
    html, body { margin: 0; width: ${SCREENSHOT_SIZE.width}px; height: ${SCREENSHOT_SIZE.height}px; overflow: hidden; }
    body { display: flex; flex-direction: column; align-items: center; background: ${background}; color: #fff;
      font: 700 38px/1.2 system-ui, sans-serif; }
    h1 { margin: 40px 0 28px; font: inherit; letter-spacing: -0.3px; }
    img { display: block; border-radius: 12px; box-shadow: 0 18px 48px rgb(0 0 0 / 35%); }
    .dark img { outline: 1px solid rgb(255 255 255 / 14%); }
  </style></head><body class="${theme}"><h1>${escapeHtml(caption)}</h1><img src="${dataUrl(shot)}"></body></html>`;
}

function promoTile(tagline) {
  const icon = readFileSync(join(DIST_CHROME, 'icons/icon-128.png'));
  return `<!doctype html><html><head><meta charset="utf-8"><style>
    html, body { margin: 0; width: ${TILE_SIZE.width}px; height: ${TILE_SIZE.height}px; overflow: hidden; }
    body { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 12px;
      background: linear-gradient(150deg, #0c7169, #0a4f4a); color: #fff; font-family: system-ui, sans-serif; text-align: center; }
    img { width: 88px; height: 88px; border-radius: 20px; }
    h1 { margin: 0; font-size: 34px; }
    p { margin: 0 28px; font-size: 19px; font-weight: 600; opacity: 0.92; }
  </style></head><body><img src="${dataUrl(icon)}" alt=""><h1>Cartera</h1><p>${escapeHtml(tagline)}</p></body></html>`;
}

/** Chromium's locale for one of ours. */
const browserLocale = (lang) => ({ en: 'en-US', es: 'es', pt_BR: 'pt-BR' })[lang];

/**
 * The sample portfolio in a fresh profile: every sample account added through the options page,
 * then three syncs with moving prices. Returns the open session and what it needs to go on.
 */
async function samplePortfolio() {
  const ex = await startExchanges(sampleExchanges());
  const profileDir = makeProfileDir();
  const keyFiles = writeKeyFiles(join(profileDir, '..'), 'screenshots');
  const log = { console: [], requests: [] };
  const h = await launch({ profileDir, server: ex.server, log });
  const options = await addSamples(h, keyFiles);
  const popup = await openPopup(h);
  await waitIdle(popup);
  // The history starts with the whole portfolio, not with each account as it was added.
  await sendMessage(popup, { type: 'clearHistory' });
  await until(async () => !(await readStorage(h, 'local', 'historyView')).historyView?.storedPoints, { message: 'the history cleared' });
  for (const [i, changes] of MARKETS.entries()) {
    ex.mocks.bitso.setTickers(TICKERS.map((ticker) => (ticker.book in changes ? { ...ticker, last: changes[ticker.book] } : ticker)));
    await new Promise((resolve) => setTimeout(resolve, PRICES_REUSED_FOR_MS + 500));
    await clickRefresh(popup);
    await until(async () => (await readStorage(h, 'local', 'historyView')).historyView?.storedPoints >= i + 1, { message: 'a history point' });
  }
  await options.close();
  await popup.close();
  await h.close();
  const cleanUp = () => {
    removeProfileDir(profileDir);
    for (const keyFile of Object.values(keyFiles)) rmSync(keyFile, { force: true });
    return ex.close();
  };
  return { ex, profileDir, log, cleanUp };
}

/** Opens the sample profile in `lang`, unlocked. */
async function openIn(sample, lang) {
  const h = await launch({ profileDir: sample.profileDir, server: sample.ex.server, log: sample.log, locale: browserLocale(lang) });
  const popup = await openPopup(h);
  await popup.locator('#unlock-passphrase').fill(PASSPHRASE);
  await popup.locator('#unlock').click();
  await until(async () => (await readStorage(h, 'session', 'unlocked')).unlocked === true, { message: 'unlocked' });
  await waitIdle(popup);
  return { h, popup };
}

/** The page of `shot` as a PNG, at the popup's size or the window's. */
async function capture(h, popup, shot) {
  await sendMessage(popup, { type: 'setSettings', settings: { theme: shot.theme } });
  const page = await h.context.newPage();
  await page.emulateMedia({ colorScheme: shot.theme });
  await page.setViewportSize(shot.shape === 'popup' ? POPUP : WINDOW);
  await page.goto(h.urlOf(shot.page));
  if (shot.shape === 'popup') {
    await waitIdle(page);
    await page.locator('#assets li').first().waitFor();
  }
  if (shot.click) await page.locator(shot.click).click();
  if (shot.ready) await page.locator(shot.ready).waitFor();
  await page.evaluate(() => document.fonts.ready);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const bytes = await page.screenshot();
  await page.close();
  return bytes;
}

/** Renders the screenshots of `shot` on `canvas` (a page of the same browser) as a PNG. */
async function render(canvas, html, size) {
  await canvas.setViewportSize(size);
  await canvas.setContent(html, { waitUntil: 'load' });
  return canvas.screenshot();
}

/** Every language's screenshots and tile in `outDir/<lang>/`; returns `{ <lang>: [{ file, caption }] }`. */
export async function renderStorePictures(outDir, { languages = Object.keys(listingSource().languages) } = {}) {
  const listing = listingSource().listing;
  const shots = SCREENSHOTS.filter((shot) => {
    const present = existsSync(join(DIST_CHROME, shot.page));
    if (!present) console.log(`screenshot "${shot.id}" left out: this build has no ${shot.page}`);
    return present;
  });
  const sample = await samplePortfolio();
  const written = {};
  try {
    for (const lang of languages) {
      const { h, popup } = await openIn(sample, lang);
      const dir = join(outDir, lang);
      mkdirSync(dir, { recursive: true });
      const canvas = await h.context.newPage();
      written[lang] = [];
      for (const [i, shot] of shots.entries()) {
        const caption = listing[lang].screenshots[shot.id];
        const file = `screenshot-${i + 1}-${shot.id}.png`;
        writePng(join(dir, file), await render(canvas, framed(await capture(h, popup, shot), caption, shot.theme), SCREENSHOT_SIZE), SCREENSHOT_SIZE);
        written[lang].push({ file, caption });
      }
      const tile = `promo-tile-${TILE_SIZE.width}x${TILE_SIZE.height}.png`;
      writePng(join(dir, tile), await render(canvas, promoTile(listing[lang].promoTagline), TILE_SIZE), TILE_SIZE);
      written[lang].push({ file: tile, caption: listing[lang].promoTagline });
      await sendMessage(popup, { type: 'setSettings', settings: { theme: 'system' } });
      assertOnlyAllowedHosts(h);
      const errors = uncaughtErrors(h);
      await h.close();
      if (errors.length) throw new Error(`uncaught errors while rendering ${lang}: ${JSON.stringify(errors)}`);
      console.log(`${lang}: ${written[lang].map(({ file }) => file).join(', ')}`);
    }
  } finally {
    await sample.cleanUp();
  }
  return written;
}

/** The welcome page's sample picture: the English popup, light, as WebP (Chromium encodes it). */
export async function renderWelcomeSample(path = join(ROOT, 'extension/welcome/sample-popup.webp')) {
  const sample = await samplePortfolio();
  try {
    const { h, popup } = await openIn(sample, 'en');
    const png = await capture(h, popup, SCREENSHOTS[0]);
    const webp = await popup.evaluate(async (url) => {
      const image = new Image();
      image.src = url;
      await image.decode();
      const canvas = new OffscreenCanvas(image.width, image.height);
      canvas.getContext('2d').drawImage(image, 0, 0);
      const blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.8 });
      return [...new Uint8Array(await blob.arrayBuffer())];
    }, dataUrl(png));
    writeFileSync(path, Buffer.from(webp));
    console.log(`written ${path} (${webp.length} bytes)`);
    await sendMessage(popup, { type: 'setSettings', settings: { theme: 'system' } });
    await h.close();
  } finally {
    await sample.cleanUp();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [target] = process.argv.slice(2);
  if (!target) throw new Error('usage: screenshots.mjs <out dir> | --welcome');
  await (target === '--welcome' ? renderWelcomeSample() : renderStorePictures(target));
}
