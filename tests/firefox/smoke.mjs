// Firefox smoke test of the shipped dist/cartera-firefox.zip, unchanged: firefox-esr -headless
// driven by geckodriver through selenium-webdriver.
//
// Reaching the mock: Firefox has no --host-resolver-rules, so Firefox is pointed at a tiny HTTP
// CONNECT proxy (below) that tunnels api.bitso.com:443 to the mock and refuses every other host;
// the mock's self-signed certificate is accepted through WebDriver's acceptInsecureCerts. The
// extension itself still asks for https://api.bitso.com/v3/... exactly as in production.
//
// Checks: installing opens the welcome page, whose "Add an exchange account" lands on the add form;
// the popup renders; the options page's wasm works (passphrase hint); Test connection runs the
// background's wasm engine, which signs a request the mock verifies; saving the key and opening
// the popup shows the same total as the independent valuation; a backup exported in Chromium
// (driven by Playwright, as the end-to-end suite does) restores here with the same accounts,
// alerts, history and total; news, once a publisher is ticked, is fetched by the
// background (through the proxy, to the feeds' stand-in) and listed in the popup's News tab.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { Select } from 'selenium-webdriver/lib/select.js';

import { digitsOf, expectedAcross } from '../e2e/expected.mjs';
import { startExchanges } from '../e2e/exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from '../e2e/fixtures.mjs';
import * as chromium from '../e2e/harness.mjs';
import { startMockServer, STRAY_HOST } from '../e2e/mock-server.mjs';
import { createFeeds, FEED_HOSTS } from '../e2e/mocks/feeds.mjs';
import * as kraken from '../e2e/mocks/kraken.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ZIP = join(ROOT, 'dist/cartera-firefox.zip');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'dist/firefox/manifest.json'), 'utf8'));
const GECKO_ID = MANIFEST.browser_specific_settings.gecko.id;
const MANIFEST_WELCOME = 'welcome/welcome.html';
const FIREFOX = process.env.FIREFOX_BIN ?? '/usr/bin/firefox-esr';
const GECKODRIVER = process.env.GECKODRIVER_BIN ?? join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin/geckodriver');

/** HTTP CONNECT proxy: the exchanges' hosts on port 443 → the mock server, the news feeds' hosts
 * → theirs (`others`: { host: port }); anything else is refused and recorded. */
function startConnectProxy(mockPort, hosts, others = {}) {
  const refused = [];
  const sockets = new Set();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.once('data', (head) => {
      const text = head.toString('latin1');
      const m = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]\r\n/.exec(text);
      if (!m || !(hosts.includes(m[1]) || m[1] in others) || m[2] !== '443') {
        refused.push(text.split('\r\n')[0]);
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const upstream = connect(others[m[1]] ?? mockPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        const rest = head.subarray(head.indexOf('\r\n\r\n') + 4);
        if (rest.length) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
    });
  });
  return new Promise((resolveListen) => {
    server.listen(0, '127.0.0.1', () => resolveListen({
      port: server.address().port,
      refused,
      close: () => new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
    }));
  });
}

const KRAKEN = kraken.SAMPLE_ACCOUNT;
const bitsoHoldings = Object.fromEntries(ACCOUNT_A.balances.map((b) => [b.currency, b.total]));

describe('Cartera in Firefox (smoke)', { timeout: 240_000 }, () => {
  let ex;
  let mock;
  let proxy;
  const feeds = createFeeds();
  let feedServer;
  let driver;
  const uuid = randomUUID();
  const base = `moz-extension://${uuid}/`;

  /** Open an extension page in a new tab (WebDriver itself refuses moz-extension:// URLs). */
  async function openExtensionPage(path) {
    const handles = await driver.getAllWindowHandles();
    await driver.setContext(firefox.Context.CHROME);
    await driver.executeScript(
      `gBrowser.selectedTab = gBrowser.addTab(arguments[0], {
         triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() });`,
      base + path,
    );
    await driver.setContext(firefox.Context.CONTENT);
    const handle = await driver.wait(async () => {
      const now = await driver.getAllWindowHandles();
      return now.find((h) => !handles.includes(h));
    }, 10_000);
    await driver.switchTo().window(handle);
    await driver.wait(async () => (await driver.getCurrentUrl()).startsWith(base + path), 10_000);
    await driver.wait(async () => (await driver.executeScript('return document.readyState')) === 'complete', 10_000);
  }

  const text = async (css) => (await driver.findElement(By.css(css)).getText()).trim();
  const visible = async (css) => {
    const found = await driver.findElements(By.css(css));
    return found.length > 0 && found[0].isDisplayed();
  };

  before(async () => {
    assert.ok(existsSync(ZIP), `${ZIP} is missing: run ./build.sh first`);
    assert.ok(existsSync(GECKODRIVER), `${GECKODRIVER} is missing: cargo install geckodriver`);
    ex = await startExchanges({
      bitso: { accounts: { [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances } } },
      kraken: { accounts: { [KRAKEN.apiKey]: KRAKEN } },
    });
    mock = ex.mocks.bitso;
    feedServer = await startMockServer([feeds]);
    proxy = await startConnectProxy(ex.server.port, ex.server.hosts.filter((host) => host !== STRAY_HOST),
      Object.fromEntries(FEED_HOSTS.map((host) => [host, feedServer.port])));

    const options = new firefox.Options()
      .setBinary(FIREFOX)
      .addArguments('-headless')
      .setAcceptInsecureCerts(true)
      .setPreference('extensions.webextensions.uuids', JSON.stringify({ [GECKO_ID]: uuid }))
      // Grant host_permissions at install, as a user accepting the install prompt would.
      .setPreference('extensions.originControls.grantByDefault', true)
      .setPreference('network.proxy.type', 1)
      .setPreference('network.proxy.ssl', '127.0.0.1')
      .setPreference('network.proxy.ssl_port', proxy.port)
      .setPreference('network.proxy.http', '127.0.0.1')
      .setPreference('network.proxy.http_port', proxy.port)
      .setPreference('network.proxy.no_proxies_on', '')
      .setPreference('network.proxy.allow_hijacking_localhost', true)
      .setPreference('network.dns.disableIPv6', true)
      // Quiet: no update checks, telemetry or remote settings traffic through the proxy.
      .setPreference('app.update.enabled', false)
      .setPreference('datareporting.policy.dataSubmissionEnabled', false)
      .setPreference('toolkit.telemetry.enabled', false)
      .setPreference('browser.safebrowsing.malware.enabled', false)
      .setPreference('browser.safebrowsing.phishing.enabled', false)
      .setPreference('extensions.getAddons.cache.enabled', false)
      .setPreference('network.captive-portal-service.enabled', false)
      .setPreference('network.connectivity-service.enabled', false)
      .setPreference('services.settings.server', 'data:,#remote-settings-dummy/v1')
      .setPreference('intl.locale.requested', 'en-US');
    const service = new firefox.ServiceBuilder(GECKODRIVER).addArguments('--allow-system-access');
    driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build();
    await driver.installAddon(ZIP, true);
  });

  test('installing opens the welcome page, whose first link leads to the add form', async () => {
    // The install opens it in a tab of its own; it is closed afterwards, so that each test below
    // finds the tab it opens itself.
    const welcome = base + MANIFEST_WELCOME;
    const handle = await driver.wait(async () => {
      for (const candidate of await driver.getAllWindowHandles()) {
        await driver.switchTo().window(candidate);
        if ((await driver.getCurrentUrl()) === welcome) return candidate;
      }
      return null;
    }, 10_000);
    await driver.wait(async () => /Welcome/.test(await text('h1')), 10_000);
    const add = await driver.findElement(By.css('#add-account'));
    assert.equal(await add.getText(), 'Add an exchange account');
    await add.click();
    await driver.wait(async () => (await driver.getCurrentUrl()) === `${base}options/options.html#add`, 10_000);
    await driver.wait(async () => (await driver.executeScript('return document.activeElement.id')) === 'exchange', 10_000);
    await driver.close();
    const [left] = (await driver.getAllWindowHandles()).filter((h) => h !== handle);
    await driver.switchTo().window(left);
  });

  after(async () => {
    await driver?.quit().catch(() => {});
    await proxy?.close();
    await ex?.close();
    await feedServer?.close();
  });

  test('the popup renders (no vault yet: onboarding)', async () => {
    await openExtensionPage(MANIFEST.action.default_popup);
    await driver.wait(until.elementLocated(By.css('#onboarding')), 10_000);
    await driver.wait(async () => visible('#onboarding'), 10_000);
    assert.ok(await visible('#open-options'));
    assert.ok((await driver.getTitle()).length > 0);
  });

  test('the options page runs the wasm core (passphrase hint)', async () => {
    await openExtensionPage(MANIFEST.options_ui.page);
    const field = await driver.wait(until.elementLocated(By.css('#passphrase')), 10_000);
    await field.sendKeys('short');
    await driver.wait(async () => (await text('#passphrase-hint')).length > 0, 10_000);
    const shortHint = await text('#passphrase-hint');
    await field.sendKeys(' but now a much longer passphrase 93');
    await driver.wait(async () => (await text('#passphrase-hint')) !== shortHint, 10_000);
    await field.clear();
  });

  test('Test connection reaches the mock with a correctly signed request', async () => {
    await driver.findElement(By.css('#label')).sendKeys(ACCOUNT_A.label);
    await driver.findElement(By.css('#api-key')).sendKeys(ACCOUNT_A.apiKey);
    await driver.findElement(By.css('#api-secret')).sendKeys(ACCOUNT_A.secret);
    await driver.findElement(By.css('#test-connection')).click();
    // Wait for a verdict (not empty, not a "Testing…" progress text).
    await driver.wait(async () => {
      const status = await text('#connection-status');
      return status !== '' && !/…|\.\.\./.test(status);
    }, 20_000);
    assert.match(await text('#connection-status'), /^Active/);
    const sent = mock.balanceRequests();
    assert.ok(sent.length >= 1, 'the mock was reached');
    for (const r of sent) {
      assert.equal(r.host, 'api.bitso.com');
      assert.equal(r.authorized, true, 'signature verified');
    }
  });

  test('saving the key and opening the popup shows the expected total', async () => {
    await driver.findElement(By.css('#passphrase')).sendKeys(PASSPHRASE);
    await driver.findElement(By.css('#passphrase-confirm')).sendKeys(PASSPHRASE);
    await driver.findElement(By.css('#save-account')).click();
    await driver.wait(async () => (await driver.findElements(By.css('#accounts [data-account-id]'))).length === 1, 20_000);

    await openExtensionPage(MANIFEST.action.default_popup);
    const expected = digitsOf(expectedAcross([bitsoHoldings], ex.mocks.bitso.books(), 'mxn').total.toFixed(2));
    await driver.wait(async () => digitsOf(await text('#total')) === expected, 20_000).catch(() => {});
    assert.equal(digitsOf(await text('#total')), expected, `#total "${await text('#total')}"`);
  });

  test('a second exchange (Kraken) is added and the total covers both', async () => {
    await openExtensionPage(MANIFEST.options_ui.page);
    await new Select(await driver.wait(until.elementLocated(By.css('#exchange')), 10_000)).selectByValue('kraken');
    await driver.findElement(By.css('#label')).sendKeys(KRAKEN.label);
    await driver.findElement(By.css('#api-key')).sendKeys(KRAKEN.apiKey);
    await driver.findElement(By.css('#api-secret')).sendKeys(KRAKEN.secret);
    await driver.findElement(By.css('#passphrase')).sendKeys(PASSPHRASE);
    await driver.findElement(By.css('#save-account')).click();
    await driver.wait(async () => (await driver.findElements(By.css('#accounts [data-account-id]'))).length === 2, 30_000);
    assert.ok(ex.mocks.kraken.requests.some((r) => r.authorized === true), 'Kraken saw a correctly signed request');

    await openExtensionPage(MANIFEST.action.default_popup);
    const books = [...ex.mocks.bitso.books(), ...ex.mocks.kraken.books()];
    const expected = digitsOf(expectedAcross([bitsoHoldings, kraken.expectedHoldings(KRAKEN)], books, 'mxn').total.toFixed(2));
    await driver.wait(async () => digitsOf(await text('#total')) === expected, 30_000).catch(() => {});
    assert.equal(digitsOf(await text('#total')), expected, `#total "${await text('#total')}"`);
  });

  test('a backup exported in Chromium restores here with the same accounts, alerts, history and total', async () => {
    // Chromium: Bitso and Kraken, an alert, a refresh (a history point), then "Export backup".
    const profileDir = chromium.makeProfileDir();
    const backupPath = join(profileDir, '..', `cartera-firefox-restore-${process.pid}.json`);
    const h = await chromium.launch({ profileDir, server: ex.server });
    let exported;
    try {
      const page = await chromium.openOptions(h);
      assert.match(await chromium.addAccount(page, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
      assert.match(await chromium.addAccount(page, { ...KRAKEN, exchange: 'kraken', passphrase: PASSPHRASE }), /^Active/);
      await page.getByRole('button', { name: 'Add alert' }).click();
      await page.getByLabel('Alert when').selectOption('totalAbove');
      await page.locator('#alert-threshold').fill('1');
      await page.getByRole('button', { name: 'Save alert' }).click();
      const popup = await chromium.openPopup(h);
      await chromium.waitIdle(popup);
      await chromium.until(async () => (await chromium.readStorage(h, 'local', 'historyView')).historyView?.storedPoints >= 1, { message: 'a point' });
      exported = await chromium.readStorage(h, 'local');
      await page.getByRole('button', { name: 'Export backup' }).click();
      await page.locator('#confirm-dialog').getByLabel('Enter your passphrase to confirm').fill(PASSPHRASE);
      const downloading = page.waitForEvent('download');
      await page.locator('#confirm-dialog').getByRole('button', { name: 'Export backup' }).click();
      await (await downloading).saveAs(backupPath);
    } finally {
      await h.close().catch(() => {});
      chromium.removeProfileDir(profileDir);
    }

    // Firefox: "Restore backup" with its passphrase, confirmed, replaces what it held.
    try {
      await openExtensionPage(MANIFEST.options_ui.page);
      await driver.wait(until.elementLocated(By.css('#backup-file')), 10_000);
      await driver.findElement(By.css('#backup-file')).sendKeys(backupPath);
      const passphrase = await driver.wait(until.elementLocated(By.css('#dialog-passphrase')), 10_000);
      await driver.wait(until.elementIsVisible(passphrase), 10_000);
      assert.equal(await text('#dialog-passphrase-label'), 'Backup passphrase');
      await passphrase.sendKeys(PASSPHRASE);
      await driver.findElement(By.css('#dialog-confirm')).click();
      await driver.wait(async () => /Accounts: 2/.test(await text('#dialog-body')), 20_000);
      await driver.findElement(By.css('#dialog-confirm')).click();
      await driver.wait(async () => (await text('#options-status')).length > 0, 20_000);
      const stored = await driver.executeAsyncScript('const done = arguments[0]; browser.storage.local.get(null).then(done);');
      for (const key of ['vault', 'accounts', 'alerts', 'portfolios']) assert.deepEqual(stored[key], exported[key], key);
      for (const key of Object.keys(exported).filter((key) => key.startsWith('hist:'))) assert.equal(stored[key], exported[key], key);

      // The restored keys open with the backup's passphrase and value the same portfolio.
      await openExtensionPage(MANIFEST.action.default_popup);
      const unlock = await driver.wait(until.elementLocated(By.css('#unlock-passphrase')), 10_000);
      await driver.wait(until.elementIsVisible(unlock), 10_000);
      await unlock.sendKeys(PASSPHRASE);
      await driver.findElement(By.css('#unlock')).click();
      const books = [...ex.mocks.bitso.books(), ...ex.mocks.kraken.books()];
      const expected = digitsOf(expectedAcross([bitsoHoldings, kraken.expectedHoldings(KRAKEN)], books, 'mxn').total.toFixed(2));
      await driver.wait(async () => digitsOf(await text('#total')) === expected, 30_000).catch(() => {});
      assert.equal(digitsOf(await text('#total')), expected, `#total "${await text('#total')}"`);
    } finally {
      rmSync(backupPath, { force: true });
    }
  });

  test('news: a ticked publisher is fetched and its headlines about held assets come first', async () => {
    // Firefox asks in a doorhanger; a user's "Allow" is given here through the add-on manager's own
    // module, so the click below finds the permission granted.
    await driver.setContext(firefox.Context.CHROME);
    const grantFailure = await driver.executeAsyncScript(`
      const done = arguments[arguments.length - 1];
      const { ExtensionPermissions } = ChromeUtils.importESModule('resource://gre/modules/ExtensionPermissions.sys.mjs');
      const extension = WebExtensionPolicy.getByID(arguments[0]).extension;
      ExtensionPermissions.add(arguments[0], { permissions: [], origins: ['https://www.coindesk.com/*'] }, extension)
        .then(() => done(null), (error) => done(String(error)));
    `, GECKO_ID);
    // Without the grant the click below would open a doorhanger nobody answers.
    assert.equal(grantFailure, null, 'the publisher\'s host granted before the click');
    await driver.setContext(firefox.Context.CONTENT);
    await openExtensionPage(MANIFEST.options_ui.page);
    await driver.wait(until.elementLocated(By.css('#news-coindesk')), 10_000);
    assert.equal(feeds.requests.length, 0, 'nothing fetched while news is off');
    await driver.findElement(By.css('#news-enabled')).click();
    await driver.findElement(By.css('#news-coindesk')).click();
    // A wait, not a speed check: on a loaded machine the first fetch has taken over 20 s.
    const updated = await driver.wait(async () => (await text('#news-state-coindesk')).startsWith('Updated'), 60_000).catch(() => false);
    if (!updated) {
      // What the page and the servers saw, so a failure says where the fetch stopped.
      const seen = {
        state: await text('#news-state-coindesk'),
        status: await text('#news-status'),
        enabled: await driver.findElement(By.css('#news-enabled')).isSelected(),
        ticked: await driver.findElement(By.css('#news-coindesk')).isSelected(),
        stored: await driver.executeAsyncScript('const done = arguments[0]; browser.storage.local.get(["news", "newsFeeds"]).then(done, (e) => done(String(e)));'),
        feedRequests: feeds.requests.map((r) => r.host),
        refusedByProxy: proxy.refused,
      };
      assert.fail(`the ticked publisher's feed was not fetched: ${JSON.stringify(seen)}`);
    }
    const request = feeds.requests.find((r) => r.host === 'www.coindesk.com');
    assert.equal(request.headers.cookie, undefined);
    assert.equal(request.headers.referer, undefined);

    await openExtensionPage(MANIFEST.action.default_popup);
    await driver.wait(async () => visible('#tab-news'), 10_000);
    await driver.findElement(By.css('#tab-news')).click();
    await driver.wait(async () => (await driver.findElements(By.css('#news-held a'))).length > 0, 10_000);
    assert.equal(await text('#news-held li:first-child a'), 'Bitcoin Tops $140K as ETF Inflows Hit a High');
    assert.equal(await driver.findElement(By.css('#news-held a')).getAttribute('rel'), 'noopener noreferrer');
    assert.ok(feeds.requests.every((r) => r.host === 'www.coindesk.com'), 'only the ticked publisher');
  });

  test('nothing but the exchanges went through the proxy', () => {
    // Firefox's own background traffic may try other hosts; the extension must not. Everything the
    // mocks saw came for their own hosts, and every signed request was signed correctly.
    assert.deepEqual(ex.server.strays(), []);
    for (const r of mock.requests) assert.equal(r.host, 'api.bitso.com');
    assert.ok(mock.balanceRequests().every((r) => r.authorized === true));
    assert.ok(ex.mocks.kraken.requests.every((r) => r.authorized !== false));
    if (proxy.refused.length) console.log(`proxy refused (Firefox itself): ${[...new Set(proxy.refused)].join(', ')}`);
  });
});
