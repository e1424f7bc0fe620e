// News in Chromium with the shipped build: off by default, publishers ticked one by one (each
// asking for its own host in the click), feeds fetched from stand-ins on the publishers' real
// host names, headlines about held assets first in the popup, a failing feed's message under its
// publisher, and nothing sent to any feed host while news is off.
//
// The browser's permission prompt is a dialog of the browser itself, out of reach of the page and
// of the DevTools protocol; so this test runs Chromium with a window on a virtual display (Xvfb)
// and answers the prompt with the keyboard (xdotool), as a user would: "Deny" has the focus, Tab
// then Enter is "Allow".

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  english, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, screenshot, uncaughtErrors,
  until,
} from './harness.mjs';
import { startMockServer } from './mock-server.mjs';
import { createFeeds, FEED_HOSTS } from './mocks/feeds.mjs';

const NEWS_ORIGINS = FEED_HOSTS.map((host) => `https://${host}/*`);

/** Xvfb on a free display; resolves to { display, stop }. */
async function startDisplay() {
  let number = 91;
  while (existsSync(`/tmp/.X11-unix/X${number}`) || existsSync(`/tmp/.X${number}-lock`)) number += 1;
  const xvfb = spawn('Xvfb', [`:${number}`, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  await until(() => existsSync(`/tmp/.X11-unix/X${number}`), { timeout: 10_000, message: 'Xvfb' });
  return { display: `:${number}`, stop: () => xvfb.kill() };
}

describe('news', { timeout: 240_000 }, () => {
  const profileDir = makeProfileDir();
  const feeds = createFeeds();
  let server;
  let screen;
  let h;
  let options;

  /** The feed requests the stand-ins have seen. */
  const feedRequests = () => feeds.requests.length;

  /** Answers the browser's permission prompt; `allow` false presses Enter on "Deny". */
  const answerPrompt = async (allow) => {
    // The prompt is drawn a moment after the click.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    execFileSync('xdotool', allow ? ['key', 'Tab', 'Return'] : ['key', 'Return'], { env: { ...process.env, DISPLAY: screen.display } });
  };

  const grantedNewsOrigins = async () =>
    (await inWorker(h, () => chrome.permissions.getAll())).origins.filter((origin) => NEWS_ORIGINS.includes(origin));

  const tick = async (name, { allow = true } = {}) => {
    await options.getByRole('checkbox', { name }).click();
    await answerPrompt(allow);
  };

  before(async () => {
    for (const tool of ['Xvfb', 'xdotool']) {
      try {
        execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      } catch {
        throw new Error(`${tool} is missing: ./build.sh test installs it (apt: xvfb, xdotool)`);
      }
    }
    screen = await startDisplay();
    process.env.DISPLAY = screen.display;
    server = await startMockServer([feeds]);
    h = await launch({ profileDir, server, headless: false });
    // Held assets: typed-in holdings of BTC and SOL (no exchange needed for what is held).
    await inWorker(h, () => chrome.storage.local.set({
      manual: [
        { id: 'h1', portfolio: 'main', asset: 'btc', amount: '0.5', note: '' },
        { id: 'h2', portfolio: 'main', asset: 'sol', amount: '10', note: '' },
      ],
    }));
    options = await openOptions(h);
  });

  after(async () => {
    await h?.close();
    await server?.close();
    screen?.stop();
    removeProfileDir(profileDir);
  });

  test('off by default: nothing asked, nothing fetched, no News tab', async () => {
    await options.getByRole('link', { name: 'News' }).click();
    const showNews = options.getByRole('switch', { name: 'Show news' });
    assert.equal(await showNews.isChecked(), false);
    for (const name of ['CoinDesk', 'Decrypt', 'The Block', 'CriptoNoticias', 'Livecoins', 'Cointelegraph Brasil']) {
      assert.equal(await options.getByRole('checkbox', { name, exact: true }).isChecked(), false, name);
    }
    assert.deepEqual(await grantedNewsOrigins(), []);
    assert.equal(await inWorker(h, () => chrome.alarms.get('news').then((alarm) => alarm ?? null)), null);
    const popup = await openPopup(h);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await popup.getByRole('tab', { name: 'News' }).count(), 0);
    await popup.close();
    assert.equal(feedRequests(), 0);
  });

  test('a publisher ticked while news is off is asked for, but never fetched', async () => {
    await tick('CoinDesk');
    await until(async () => (await grantedNewsOrigins()).length === 1, { message: 'CoinDesk granted' });
    assert.deepEqual(await grantedNewsOrigins(), ['https://www.coindesk.com/*'], 'exactly the chosen host');
    await until(async () => (await readStorage(h, 'local', 'news')).news?.publishers?.includes('coindesk'), { message: 'choice saved' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(feedRequests(), 0, 'no request to any feed host while news is off');
  });

  test('turned on: the chosen feed is fetched with no cookie and no referrer', async () => {
    await options.getByRole('switch', { name: 'Show news' }).click();
    await until(() => feeds.requests.some((r) => r.host === 'www.coindesk.com'), { message: 'the CoinDesk feed fetched' });
    const request = feeds.requests.find((r) => r.host === 'www.coindesk.com');
    assert.equal(request.method, 'GET');
    assert.equal(request.path, '/arc/outboundfeeds/rss/');
    assert.equal(request.headers.cookie, undefined);
    assert.equal(request.headers.referer, undefined);
    assert.ok(feeds.requests.every((r) => r.host === 'www.coindesk.com'), 'only the ticked publisher');
    await until(async () => (await options.locator('#news-state-coindesk').textContent()).startsWith('Updated'), { message: 'CoinDesk updated' });
    const { newsItems } = await readStorage(h, 'local', 'newsItems');
    assert.ok(newsItems.length >= 5 && newsItems.length <= 200);
    assert.ok(newsItems.every((item) => /^https:\/\//.test(item.link)), 'no javascript: link is kept');
  });

  test('a refused prompt leaves the publisher unticked and asks for nothing else', async () => {
    await tick('The Block', { allow: false });
    await until(async () => !(await options.getByRole('checkbox', { name: 'The Block' }).isChecked()), { message: 'unticked again' });
    assert.match(await options.locator('#news-status').textContent(), /did not give access to The Block/);
    assert.deepEqual(await grantedNewsOrigins(), ['https://www.coindesk.com/*']);
  });

  test('failing feeds show a plain message under their publisher; the others still work', async () => {
    await tick('Decrypt');
    await until(async () => (await options.locator('#news-state-decrypt').textContent()) === english('error_feed_unavailable', { detail: '503' }), {
      message: 'Decrypt: HTTP 503',
    });
    await tick('The Block');
    await until(async () => (await options.locator('#news-state-theblock').textContent()) === english('error_feed_not_a_feed'), {
      message: 'The Block: not a feed',
    });
    feeds.set('www.criptonoticias.com', 'offline');
    assert.deepEqual((await grantedNewsOrigins()).sort(), ['https://decrypt.co/*', 'https://www.coindesk.com/*', 'https://www.theblock.co/*'].sort());
    assert.ok((await options.locator('#news-state-coindesk').textContent()).startsWith('Updated'));
  });

  test('the popup lists the headlines about held assets first, as links', async () => {
    feeds.set('www.criptonoticias.com', null);
    await tick('CriptoNoticias');
    await until(async () => (await options.locator('#news-state-criptonoticias').textContent()).startsWith('Updated'), { message: 'CriptoNoticias (Atom) read' });
    const popup = await openPopup(h);
    await popup.getByRole('tab', { name: 'News' }).click();
    const held = popup.getByRole('list', { name: 'About what you hold' }).getByRole('link');
    await until(async () => (await held.count()) === 3, { message: 'three headlines about BTC and SOL' });
    assert.deepEqual(await held.allTextContents(), [
      'El precio de bitcoin supera los USD 140.000',
      'Bitcoin Tops $140K as ETF Inflows Hit a High',
      'Solana & XRP ETFs Delayed Again',
    ]);
    const others = await popup.getByRole('list', { name: 'Other news' }).getByRole('link').allTextContents();
    assert.deepEqual(others, [
      'Undated: Crypto Week Ahead',
      'First Mover Americas: Markets Wait on Jobs Data',
      'El sol y el viento alimentan la minería',
      'Ethernet Maker’s Chips Power New Mining Rigs',
    ]);
    for (const link of await popup.locator('#news a').all()) {
      assert.match(await link.getAttribute('href'), /^https:\/\//);
      assert.equal(await link.getAttribute('target'), '_blank');
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    }
    const meta = await popup.locator('#news-held li').first().locator('.news-meta').textContent();
    assert.match(meta, /^CriptoNoticias · .+ · About BTC$/);
    assert.equal(await popup.locator('#news img').count(), 0, 'no image of a feed is shown');
    await screenshot(popup, 'popup-news.png');
    // "Hide amounts" hides amounts, not news.
    await popup.getByRole('tab', { name: 'Portfolio' }).click();
    await popup.getByRole('tab', { name: 'News' }).click();
    await popup.close();
  });

  test('a feed that has not changed is asked conditionally and answers 304', async () => {
    const before = feeds.requests.length;
    // The alarm rings now (an unpacked extension may ring it early).
    await inWorker(h, () => chrome.alarms.create('news', { when: Date.now() + 50, periodInMinutes: 30 }));
    await until(() => feeds.requests.slice(before).some((r) => r.host === 'www.coindesk.com'), { message: 'CoinDesk asked again' });
    const again = feeds.requests.slice(before).find((r) => r.host === 'www.coindesk.com');
    assert.match(again.headers['if-none-match'] ?? '', /^".+"$/);
    assert.ok(again.headers['if-modified-since']);
  });

  test('unticking a publisher removes its permission and its items', async () => {
    await options.getByRole('checkbox', { name: 'CoinDesk' }).click();
    await until(async () => !(await grantedNewsOrigins()).includes('https://www.coindesk.com/*'), { message: 'CoinDesk permission removed' });
    await until(async () => {
      const { newsItems } = await readStorage(h, 'local', 'newsItems');
      return newsItems.length > 0 && newsItems.every((item) => item.publisher !== 'coindesk');
    }, { message: 'CoinDesk items gone' });
    const popup = await openPopup(h);
    await popup.getByRole('tab', { name: 'News' }).click();
    await until(async () => (await popup.locator('#news a').count()) === 2, { message: 'only CriptoNoticias left' });
    await popup.close();
  });

  test('turned off: no alarm, no items, and no request to any feed host', async () => {
    await options.getByRole('switch', { name: 'Show news' }).click();
    await until(async () => (await readStorage(h, 'local', 'newsItems')).newsItems?.length === 0, { message: 'items cleared' });
    assert.equal(await inWorker(h, () => chrome.alarms.get('news').then((alarm) => alarm ?? null)), null);
    const before = feeds.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(feeds.requests.length, before);
    assert.deepEqual(uncaughtErrors(h), []);
  });
});
