// The first minute, with the shipped build: installing opens the welcome page (in English,
// Spanish and Portuguese), whose "Add an exchange account" lands on the add form and whose guides
// land on each exchange's key guide; an update opens nothing and the options page says "What's
// new" once, until it is dismissed; the options page links to the privacy policy.

import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import {
  assertOnlyAllowedHosts, DIST_CHROME, english, exchangeHosts, launch, makeProfileDir, openOptions, readStorage, removeProfileDir,
  serviceWorker, uncaughtErrors, until, waitForPage, WELCOME_PAGE,
} from './harness.mjs';

const manifest = JSON.parse(readFileSync(join(DIST_CHROME, 'manifest.json'), 'utf8'));
const EXCHANGES = ['bitso', 'kraken', 'binance', 'bitfinex', 'coinbase', 'bybit'];
const messagesOf = (lang) => JSON.parse(readFileSync(join(DIST_CHROME, `_locales/${lang}/messages.json`), 'utf8'));

/** The welcome page the install opened (the harness leaves it open with keepWelcome). */
async function welcomePage(h) {
  const page = await until(() => h.context.pages().find((p) => p.url() === h.urlOf(WELCOME_PAGE)), { message: 'the welcome page' });
  await page.waitForLoadState('load');
  return page;
}

/** Every element the page localizes says something, and none shows a message's key instead. */
async function assertLocalized(page, lang) {
  const keys = Object.keys(messagesOf(lang));
  const texts = await page.locator('[data-i18n]').allTextContents();
  assert.ok(texts.length > 5, 'localized elements');
  for (const text of texts) {
    assert.ok(text.trim(), 'an empty localized element');
    assert.ok(!keys.includes(text.trim()), `a message key shown instead of its text: ${text}`);
  }
}

describe('installing Cartera', { timeout: 180_000 }, () => {
  let h;
  const profileDir = makeProfileDir();

  before(async () => {
    h = await launch({ profileDir, port: 1, keepWelcome: true });
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    removeProfileDir(profileDir);
  });

  test('opens the welcome page: what Cartera does, the three steps, each exchange\'s guide, a sample', async () => {
    const welcome = await welcomePage(h);
    assert.equal(await welcome.title(), english('welcomeTitle'));
    assert.match(await welcome.getByRole('heading', { level: 1 }).textContent(), /Welcome/);
    assert.equal((await welcome.locator('ol li').allTextContents()).length, 3);
    assert.ok((await welcome.textContent('body')).includes(english('welcomeKeysStay')));
    for (const id of EXCHANGES) {
      const name = english(`exchange_${id}`);
      const link = welcome.getByRole('link', { name: english('welcomeGuideLink', { exchange: name }) });
      assert.equal(await link.getAttribute('href'), `../options/options.html#guide-${id}`);
    }
    // The sample is a picture that loaded, with words for those who cannot see it.
    const sample = welcome.getByRole('img', { name: english('welcomeSampleAlt') });
    assert.ok(await sample.evaluate((image) => image.complete && image.naturalWidth > 0), 'the sample screenshot loads');
    assert.equal(await welcome.getByRole('link', { name: 'Privacy policy' }).getAttribute('href'), '../privacy/privacy.html');
    await assertLocalized(welcome, 'en');
    // Nothing about the sample portfolio went into storage.
    const stored = await readStorage(h, 'local');
    assert.equal(stored.vault, undefined);
    assert.equal(stored.snapshot, undefined);
  });

  test('"Add an exchange account" leads to the add form, focused', async () => {
    const welcome = await welcomePage(h);
    await welcome.getByRole('link', { name: 'Add an exchange account' }).click();
    await welcome.waitForURL(h.urlOf('options/options.html#add'));
    await until(() => welcome.evaluate(() => document.activeElement?.closest('#add-account-form') !== null), {
      message: 'focus in the add-account form',
    });
    assert.equal(await welcome.evaluate(() => document.activeElement.id), 'exchange');
    assert.ok(await welcome.getByRole('heading', { name: english('addHeading') }).isVisible());
    await welcome.goBack();
  });

  test('each exchange\'s guide link shows that exchange\'s key guide', async () => {
    const welcome = await welcomePage(h);
    for (const id of ['kraken', 'coinbase']) {
      const name = english(`exchange_${id}`);
      await welcome.getByRole('link', { name: english('welcomeGuideLink', { exchange: name }) }).click();
      await welcome.waitForURL(h.urlOf(`options/options.html#guide-${id}`));
      await until(async () => (await welcome.locator('#guide-heading').textContent()) === english('guideHeading', { exchange: name }), {
        message: `the ${name} guide`,
      });
      assert.equal(await welcome.getByLabel('Exchange', { exact: true }).inputValue(), id, 'the add form is set to the same exchange');
      assert.equal(await welcome.evaluate(() => document.activeElement.id), 'guide');
      await welcome.goBack();
      await welcome.waitForURL(h.urlOf(WELCOME_PAGE));
    }
  });

  test('the options page links to the privacy policy, which names the exchanges\' hosts and the news publishers', async () => {
    const options = await openOptions(h);
    const privacy = await waitForPage(h, 'privacy/privacy.html', () => options.getByRole('link', { name: 'Privacy policy' }).click());
    await privacy.waitForLoadState('load');
    assert.equal(await privacy.getByRole('heading', { level: 1 }).textContent(), english('privacyTitle'));
    const headings = await privacy.getByRole('heading', { level: 2 }).allTextContents();
    assert.deepEqual(headings, ['privacyKeepHeading', 'privacySendHeading', 'privacyNeverHeading', 'privacyDeleteHeading', 'privacyChangesHeading'].map((key) => english(key)));
    const text = await privacy.locator('main').innerText();
    assert.ok(text.includes(english('privacySendExchanges', { hosts: exchangeHosts().join(', ') })), 'the exchanges\' hosts, from the manifest');
    assert.ok(text.includes(english('privacyVersion', { version: manifest.version })));
    // The news publishers are optional hosts of this build: the policy says what reaches them.
    assert.ok(text.includes(english('privacySendNews')));
    await assertLocalized(privacy, 'en');
    await privacy.close();
    await options.close();
  });

  test('every request stayed inside the extension', () => {
    assertOnlyAllowedHosts(h);
  });
});

for (const [locale, lang] of [['es', 'es'], ['pt-BR', 'pt_BR']]) {
  test(`the welcome and privacy pages in ${locale}`, { timeout: 60_000 }, async () => {
    const profileDir = makeProfileDir();
    const h = await launch({ profileDir, port: 1, locale, keepWelcome: true });
    try {
      const messages = messagesOf(lang);
      const welcome = await welcomePage(h);
      assert.equal(await welcome.getByRole('heading', { level: 1 }).textContent(), messages.welcomeTitle.message);
      assert.ok(await welcome.getByRole('link', { name: messages.welcomeAdd.message }).isVisible());
      await assertLocalized(welcome, lang);
      await welcome.goto(h.urlOf('privacy/privacy.html'));
      assert.equal(await welcome.getByRole('heading', { level: 1 }).textContent(), messages.privacyTitle.message);
      await assertLocalized(welcome, lang);
      await welcome.goto(h.urlOf('changelog/changelog.html'));
      await welcome.getByRole('heading', { name: manifest.version }).waitFor();
      assert.equal(await welcome.title(), messages.changelogTitle.message);
      const options = await openOptions(h);
      assert.ok(await options.getByRole('link', { name: messages.privacyLink.message }).isVisible());
      assert.deepEqual(uncaughtErrors(h), []);
    } finally {
      await h.close();
      removeProfileDir(profileDir);
    }
  });
}

test('a start on a profile that holds a vault opens no welcome page', { timeout: 60_000 }, async () => {
  // Chromium reports each start of an unpacked extension as an install; one already set up is not
  // welcomed again.
  const profileDir = makeProfileDir();
  let h = await launch({ profileDir, port: 1 });
  try {
    await (await serviceWorker(h)).evaluate(() => chrome.storage.local.set({ vault: '{"v":2}' }));
    await h.close();
    h = await launch({ profileDir, port: 1, keepWelcome: true });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(h.context.pages().map((page) => page.url()).filter((url) => url.includes(WELCOME_PAGE)), []);
  } finally {
    await h.close();
    removeProfileDir(profileDir);
  }
});

describe('an update', { timeout: 180_000 }, () => {
  // The previous version is this build with an older version number, loaded unpacked; the update
  // is this build, unchanged, loaded over it through the DevTools protocol (Extensions.loadUnpacked
  // reloads an extension at the same path as an update, which --load-extension never reports).
  const profileDir = makeProfileDir();
  const dist = mkdtempSync(join(tmpdir(), 'cartera-update-'));
  let h;
  let cdp;

  before(async () => {
    cpSync(DIST_CHROME, dist, { recursive: true });
    writeFileSync(join(dist, 'manifest.json'), JSON.stringify({ ...manifest, version: '0.1.0' }));
    h = await launch({ profileDir, port: 1, dist, args: ['--remote-debugging-port=0', '--enable-unsafe-extension-debugging'] });
    const port = readFileSync(join(profileDir, 'DevToolsActivePort'), 'utf8').split('\n')[0];
    cdp = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await cdp?.close().catch(() => {});
    await h?.close().catch(() => {});
    removeProfileDir(profileDir);
    rmSync(dist, { recursive: true, force: true });
  });

  test('opens nothing; the options page shows "What\'s new" once, until it is dismissed', async () => {
    assert.equal(await (await serviceWorker(h)).evaluate(() => chrome.runtime.getManifest().version), '0.1.0');
    const before = h.context.pages().length;
    const opened = [];
    h.context.on('page', (page) => opened.push(page.url()));
    copyFileSync(join(DIST_CHROME, 'manifest.json'), join(dist, 'manifest.json'));
    const session = await cdp.newBrowserCDPSession();
    const restarted = h.context.waitForEvent('serviceworker');
    assert.deepEqual(await session.send('Extensions.loadUnpacked', { path: dist }), { id: h.extensionId });
    await restarted;
    const { whatsNew } = await until(async () => {
      const stored = await readStorage(h, 'local', 'whatsNew');
      return stored.whatsNew && stored;
    }, { message: 'the update noted' });
    assert.deepEqual(whatsNew, { version: manifest.version, dismissed: false });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(opened, [], 'an update opens no page');
    assert.ok(h.context.pages().length <= before);

    const options = await openOptions(h);
    const note = options.getByRole('region', { name: "What's new" });
    await note.waitFor();
    assert.equal(await note.locator('p').innerText(), `${english('whatsNewText', { version: manifest.version })} ${english('whatsNewLink')}`);
    const changelog = await waitForPage(h, 'changelog/changelog.html', () => note.getByRole('link', { name: "See what's new" }).click());
    await changelog.getByRole('heading', { name: manifest.version }).waitFor();
    assert.ok((await changelog.locator('main').innerText()).includes('welcome page'));
    await changelog.close();

    await note.getByRole('button', { name: 'Dismiss' }).click();
    await note.waitFor({ state: 'hidden' });
    await until(async () => (await readStorage(h, 'local', 'whatsNew')).whatsNew?.dismissed === true, { message: 'the dismissal stored' });
    await options.reload();
    await options.locator('#accounts-heading').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await options.getByRole('region', { name: "What's new" }).count(), 0, 'dismissed for this version');
  });
});
