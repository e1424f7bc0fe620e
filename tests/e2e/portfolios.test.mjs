// Portfolios, the "Import balance" switch, manual holdings, small balances and "Hide amounts", in
// Chromium with the shipped build, driven by accessible names. Totals are checked against an
// independent computation from the mock's data (expected.mjs), never against the core's output.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { digitsOf, expectedPortfolio, Q } from './expected.mjs';
import { ACCOUNT_A, ACCOUNT_B, balance, PASSPHRASE, TICKERS } from './fixtures.mjs';
import {
  addAccount, clickRefresh, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir, screenshot,
  uncaughtErrors, until, waitIdle,
} from './harness.mjs';
import { startMockBitso } from './mock-bitso.mjs';

const PRICES_REUSED_FOR_MS = 10_000; // src/refresh.rs

/** The popup's total, as digits, once it equals `expected` (a Q) to the cent. */
async function totalIs(popup, expected, what) {
  const want = digitsOf(expected.toFixed(2));
  await until(async () => digitsOf(await popup.locator('#total').textContent()) === want, {
    message: `${what}: total ${expected.toFixed(2)}`,
  });
}

describe('portfolios, import switch, manual holdings, small balances, hide amounts', { timeout: 300_000 }, () => {
  let mock;
  let h;
  let popup;
  let options;
  const profileDir = makeProfileDir();

  before(async () => {
    mock = await startMockBitso({
      accounts: {
        [ACCOUNT_A.apiKey]: { secret: ACCOUNT_A.secret, balances: ACCOUNT_A.balances },
        [ACCOUNT_B.apiKey]: { secret: ACCOUNT_B.secret, balances: ACCOUNT_B.balances },
      },
    });
    h = await launch({ profileDir, server: mock });
    options = await openOptions(h);
    assert.match(await addAccount(options, { ...ACCOUNT_A, passphrase: PASSPHRASE }), /^Active/);
    assert.match(await addAccount(options, { ...ACCOUNT_B, passphrase: PASSPHRASE }), /^Active/);
  });

  after(async () => {
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await mock?.close();
    removeProfileDir(profileDir);
  });

  test('every account starts in the default portfolio; a second one takes an account', async () => {
    const { portfolios, accounts } = await readStorage(h, 'local', ['portfolios', 'accounts']);
    assert.deepEqual(portfolios.map((p) => p.name), ['Personal']);
    assert.ok(accounts.every((a) => a.portfolio === portfolios[0].id && a.importBalance === true));

    await options.getByLabel('Name to add').fill('Business');
    await options.getByRole('button', { name: 'Add portfolio' }).click();
    await until(async () => (await readStorage(h, 'local', 'portfolios')).portfolios?.length === 2, { message: 'the new portfolio' });
    // The add form asks for the portfolio now that there is a choice.
    assert.deepEqual(await options.getByLabel('Portfolio', { exact: true }).locator('option').allTextContents(), ['Personal', 'Business']);

    await options.getByRole('combobox', { name: `Group ${ACCOUNT_B.label} under` }).selectOption({ label: 'Business' });
    await until(async () => {
      const { accounts: now, portfolios: list } = await readStorage(h, 'local', ['accounts', 'portfolios']);
      return now.find((a) => a.label === ACCOUNT_B.label)?.portfolio === list[1].id;
    }, { message: 'the account moved' });
  });

  test('the popup switches portfolios; each total is its accounts, all of them the sum', async () => {
    popup = await openPopup(h);
    await waitIdle(popup);
    await until(async () => Object.keys((await readStorage(h, 'local', 'portfolioSnapshots')).portfolioSnapshots ?? {}).length === 2, {
      message: 'a snapshot per portfolio',
    });
    const a = expectedPortfolio([ACCOUNT_A], TICKERS);
    const b = expectedPortfolio([ACCOUNT_B], TICKERS);
    const both = expectedPortfolio([ACCOUNT_A, ACCOUNT_B], TICKERS);
    assert.equal(both.total.cmp(a.total.add(b.total)), 0, 'independent check: all = the sum');

    const select = popup.getByRole('combobox', { name: 'Portfolio' });
    assert.deepEqual(await select.locator('option').allTextContents(), ['All portfolios', 'Personal', 'Business']);
    await totalIs(popup, both.total, 'All portfolios');
    await select.selectOption({ label: 'Business' });
    await totalIs(popup, b.total, 'Business');
    // Rows follow the choice: Business holds no BTC worth a row of A's size.
    const assets = await popup.locator('#assets .asset-row').evaluateAll((rows) => rows.map((r) => r.dataset.asset));
    assert.deepEqual(new Set(assets), new Set(b.assets.map((x) => x.asset)));
    await select.selectOption({ label: 'Personal' });
    await totalIs(popup, a.total, 'Personal');

    // Remembered: the next opening shows Personal.
    await popup.close();
    popup = await openPopup(h);
    assert.equal(await popup.getByRole('combobox', { name: 'Portfolio' }).inputValue(), (await readStorage(h, 'local', 'portfolios')).portfolios[0].id);
    await totalIs(popup, a.total, 'Personal after reopening');
    await popup.getByRole('combobox', { name: 'Portfolio' }).selectOption({ label: 'All portfolios' });
  });

  test('"Import balance" off keeps the key but leaves the account out of syncs and totals', async () => {
    const row = options.locator('li.account', { hasText: ACCOUNT_B.label });
    const toggle = row.getByRole('switch', { name: 'Import balance' });
    const { vault: vaultBefore } = await readStorage(h, 'local', 'vault');
    assert.equal(await toggle.isChecked(), true);
    await toggle.uncheck();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts.find((x) => x.label === ACCOUNT_B.label)?.importBalance === false, {
      message: 'import off stored',
    });
    assert.match(await row.textContent(), /Not imported/);
    assert.equal((await readStorage(h, 'local', 'vault')).vault, vaultBefore, 'the key stays in the vault');

    const requestsBefore = mock.balanceRequests().filter((r) => r.apiKey === ACCOUNT_B.apiKey).length;
    await new Promise((resolve) => setTimeout(resolve, PRICES_REUSED_FOR_MS + 300));
    await clickRefresh(popup);
    await totalIs(popup, expectedPortfolio([ACCOUNT_A], TICKERS).total, 'All portfolios without B');
    assert.equal(mock.balanceRequests().filter((r) => r.apiKey === ACCOUNT_B.apiKey).length, requestsBefore, 'B is not fetched');
    assert.match(await popup.locator('#not-imported').textContent(), new RegExp(`Not imported: ${ACCOUNT_B.label}`));

    await toggle.check();
    await until(async () => (await readStorage(h, 'local', 'accounts')).accounts.find((x) => x.label === ACCOUNT_B.label)?.importBalance === true, {
      message: 'import on stored',
    });
    await totalIs(popup, expectedPortfolio([ACCOUNT_A, ACCOUNT_B], TICKERS).total, 'B counted again');
  });

  test('manual holdings are valued with the same prices; an unknown code is unpriced', async () => {
    await options.getByLabel('Belongs to').selectOption({ label: 'Personal' });
    await options.getByLabel('Asset code').fill('btc');
    await options.getByLabel('Amount').fill('0.25');
    await options.getByLabel('Note (optional)').fill('Hardware wallet');
    await options.getByRole('button', { name: 'Add holding' }).click();
    await until(async () => (await readStorage(h, 'local', 'manual')).manual?.length === 1, { message: 'the holding stored' });

    // A malformed amount is refused with a message naming the field; nothing is stored.
    await options.getByLabel('Asset code').fill('zzz');
    await options.getByLabel('Amount').fill('0,5');
    await options.getByRole('button', { name: 'Add holding' }).click();
    await until(async () => /valid amount/.test(await options.locator('#manual-status').textContent()), { message: 'the amount refused' });
    assert.equal(await options.getByLabel('Amount').getAttribute('aria-invalid'), 'true');
    assert.equal((await readStorage(h, 'local', 'manual')).manual.length, 1);
    await options.getByLabel('Amount').fill('3');
    await options.getByRole('button', { name: 'Add holding' }).click();
    await until(async () => (await readStorage(h, 'local', 'manual')).manual?.length === 2, { message: 'the second holding' });

    const manualBtc = { label: 'Manual', balances: [balance('btc', '0.25'), balance('zzz', '3')] };
    const personal = expectedPortfolio([ACCOUNT_A, manualBtc], TICKERS);
    await popup.getByRole('combobox', { name: 'Portfolio' }).selectOption({ label: 'Personal' });
    await totalIs(popup, personal.total, 'Personal with the manual BTC');
    assert.ok(personal.unpriced.includes('zzz'));
    await until(async () => (await popup.locator('#unpriced').textContent()).includes('ZZZ'), { message: 'ZZZ listed as unpriced' });
    await totalIs(popup, personal.total, 'Personal with the manual BTC');
    // In the CSV like any account.
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    assert.ok(snapshot.accounts.some((account) => account.exchange === null && account.label === 'Manual'));
  });

  test('small balances are listed apart and still counted', async () => {
    const threshold = '5000';
    const personal = expectedPortfolio([ACCOUNT_A, { balances: [balance('btc', '0.25')] }], TICKERS);
    const small = personal.assets.filter((row) => row.value.cmp(Q.parse(threshold)) < 0);
    assert.ok(small.length >= 1, 'the fixture has balances below the threshold');
    const smallTotal = small.reduce((sum, row) => sum.add(row.value), new Q(0n));

    await options.getByLabel('Hide small balances').fill(threshold);
    await options.getByLabel('Hide small balances').press('Tab');
    await until(async () => (await readStorage(h, 'local', 'settings')).settings?.hideBelow === threshold, { message: 'threshold stored' });
    const note = popup.locator('#small-text');
    await until(async () => /small balance/.test((await note.textContent()) ?? ''), { message: 'the small-balances line' });
    const text = await note.textContent();
    assert.match(text, new RegExp(`^${small.length} small balance`));
    assert.ok(digitsOf(text).endsWith(digitsOf(smallTotal.toFixed(2))), `${text} vs ${smallTotal.toFixed(2)}`);
    const shown = await popup.locator('#assets .asset-row').evaluateAll((rows) => rows.map((r) => r.dataset.asset));
    for (const row of small) assert.ok(!shown.includes(row.asset), `${row.asset} is hidden`);
    await totalIs(popup, personal.total, 'the total still counts them');
    await popup.getByRole('button', { name: 'Show them' }).click();
    const all = await popup.locator('#assets .asset-row').evaluateAll((rows) => rows.map((r) => r.dataset.asset));
    for (const row of small) assert.ok(all.includes(row.asset), `${row.asset} shown on request`);

    await options.getByLabel('Hide small balances').fill('');
    await options.getByLabel('Hide small balances').press('Tab');
    await until(async () => (await readStorage(h, 'local', 'settings')).settings?.hideBelow === '', { message: 'threshold off' });
  });

  test('"Hide amounts" masks every amount and value, remembered, also on the History page', async () => {
    const badge = () => inWorker(h, () => chrome.action.getBadgeText({}));
    await options.getByRole('combobox', { name: 'Toolbar badge' }).selectOption('total');
    await until(async () => /\d/.test(await badge()), { message: 'the total on the badge' });
    const toggle = popup.getByRole('button', { name: 'Hide amounts' });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    await until(async () => (await toggle.getAttribute('aria-pressed')) === 'true', { message: 'pressed' });
    await until(async () => (await badge()) === '', { message: 'the badge hidden' });

    const figures = async (page, selector) => page.locator(selector).evaluateAll((nodes) => nodes.filter((n) => n.offsetParent !== null || n.id === 'total').map((n) => n.textContent));
    const popupFigures = await figures(popup, '#total, .asset-row .amount, .asset-row .value, .account-total .total, #range-change, #pnl-market, #pnl-flows, #small-text, #biggest-move, .earning, .unpriced-row .amount');
    assert.ok(popupFigures.length >= 5, `figures found: ${popupFigures.length}`);
    for (const text of popupFigures) {
      // Percentages may stay (they tell no size); no other digit may.
      const withoutPercents = text.replace(/[+\u2212-]?[\d.,\s]+\s?%/g, '');
      assert.doesNotMatch(withoutPercents, /\d/, `a figure still shows digits: "${text}"`);
    }
    assert.match(await popup.locator('#total').textContent(), /^•••$/);
    const label = await popup.locator('#chart').getAttribute('aria-label');
    if (label) assert.doesNotMatch(label, /MX\$\s?\d/, label);

    await popup.close();
    popup = await openPopup(h);
    assert.equal(await popup.getByRole('button', { name: 'Hide amounts' }).getAttribute('aria-pressed'), 'true', 'remembered');
    assert.equal(await popup.locator('#total').textContent(), '•••');

    const history = await h.context.newPage();
    await history.goto(h.urlOf('history/history.html'));
    await history.waitForSelector('#change');
    await until(async () => (await history.locator('#change').textContent()) !== '', { message: 'history rendered' });
    for (const text of await figures(history, '#change, #market, #flows, #table td')) {
      assert.doesNotMatch(text.replace(/[+\u2212-]?[\d.,\s]+\s?%/g, ''), /\d/, `History shows "${text}"`);
    }
    await history.close();

    await popup.getByRole('button', { name: 'Hide amounts' }).click();
    await until(async () => (await popup.locator('#total').textContent()) !== '•••', { message: 'amounts back' });
    await until(async () => /\d/.test(await badge()), { message: 'the badge back' });
    await options.getByRole('combobox', { name: 'Toolbar badge' }).selectOption('none');
  });

  test('deleting a portfolio moves its accounts, never deletes a key', async () => {
    const before = await readStorage(h, 'local', ['vault', 'accounts']);
    await options.getByRole('button', { name: 'Delete Business' }).click();
    await options.locator('#dialog-confirm').click();
    await until(async () => (await readStorage(h, 'local', 'portfolios')).portfolios?.length === 1, { message: 'portfolio deleted' });
    const now = await readStorage(h, 'local', ['vault', 'accounts', 'portfolios']);
    assert.equal(now.vault, before.vault, 'the vault is unchanged');
    assert.deepEqual(now.accounts.map((a) => a.id), before.accounts.map((a) => a.id));
    assert.ok(now.accounts.every((a) => a.portfolio === now.portfolios[0].id));
    const keys = Object.keys(await readStorage(h, 'local'));
    assert.ok(!keys.some((key) => key.startsWith('hist:p:') && !key.startsWith(`hist:p:${now.portfolios[0].id}:`)), 'its history went with it');
    // The last one cannot go.
    assert.equal(await options.getByRole('button', { name: 'Delete Personal' }).isDisabled(), true);
  });

  test('dark theme: chosen in the options page, applied everywhere (screenshots)', async () => {
    await options.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
    await until(async () => (await readStorage(h, 'local', 'settings')).settings?.theme === 'dark', { message: 'theme stored' });
    await popup.reload();
    await waitIdle(popup);
    const background = (page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const dark = (rgb) => {
      const [r, g, b] = rgb.match(/\d+/g).map(Number);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b < 60;
    };
    assert.ok(dark(await background(popup)), `popup background ${await background(popup)}`);
    assert.ok(dark(await background(options)), `options background ${await background(options)}`);
    await screenshot(popup, 'popup-dark.png', { fullPage: true });
    await screenshot(options, 'options-dark.png');
    // "As the system" follows the browser's preference.
    await options.getByRole('combobox', { name: 'Theme' }).selectOption('system');
    await popup.emulateMedia({ colorScheme: 'light' });
    await until(async () => !dark(await background(popup)), { message: 'light again' });
    await popup.emulateMedia({ colorScheme: 'dark' });
    await until(async () => dark(await background(popup)), { message: 'dark from the system' });
  });

  test('every popup control is reachable by keyboard with a visible focus ring', async () => {
    await popup.emulateMedia({ colorScheme: 'light' });
    const reached = new Set();
    await popup.locator('body').focus();
    for (let i = 0; i < 40; i++) {
      await popup.keyboard.press('Tab');
      const focus = await popup.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        return { id: el.id || el.className, outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
      });
      if (!focus) continue;
      assert.ok(focus.outline, `${focus.id} shows no focus ring`);
      reached.add(focus.id);
    }
    for (const id of ['refresh', 'privacy', 'settings', 'portfolio-select', 'edit-manual']) assert.ok(reached.has(id), `${id} reached by Tab`);
  });

  test('the popup opens with a keyboard shortcut', async () => {
    const commands = await h.context.serviceWorkers()[0].evaluate(() => chrome.commands.getAll());
    const open = commands.find((command) => command.name === '_execute_action');
    assert.ok(open, 'a command opens the popup');
    assert.equal(open.shortcut.replace(/\s/g, ''), 'Alt+Shift+K');
  });
});
