// Rows 4 (Chromium part), 5, 6 and 7: the shipped extension, unchanged, in headless Chromium
// against the mock Bitso, driven through tests/e2e/harness.mjs. The only addition is
// static.html, put into a copy of dist/chrome that is loaded for the benchmark alone.
//
// Order: add one account through the options page → time refreshes (1 account) → add four
// more → time refreshes (5 accounts) → memory after a refresh → 20 popup opens against 20
// static-page opens, interleaved → vault unlocks in freshly opened options pages, then the
// background's memory after the page hands it the derived key.

import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { ACCOUNT_A, ACCOUNT_B, PASSPHRASE, balance } from '../tests/e2e/fixtures.mjs';
import { startMockBitso } from '../tests/e2e/mock-bitso.mjs';
import { log, stats } from './lib.mjs';

const LATENCY_MS = 200;

/** Five accounts: the e2e fixtures' two, and three more holding what the first one holds. */
function benchAccounts() {
  const extra = [3, 4, 5].map((n) => ({
    label: `Bench ${n}`,
    apiKey: `BenchKey0${n}`,
    secret: `bench-secret-${n}-4f1b9a2d7e6c3b8a0d5f2e9c1a7b4d6e`,
    balances: ACCOUNT_A.balances.map((b) => ({ ...b })),
  }));
  return [ACCOUNT_A, ACCOUNT_B, ...extra].map((a) => ({ ...a, balances: a.balances.map((b) => ({ ...b })) }));
}

/** A CDP client for the background service worker, through a page's session (non-flat attach). */
async function workerSession(h, page) {
  const cdp = await h.context.newCDPSession(page);
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${h.extensionId}/`));
  if (!target) throw new Error('no service worker target for the extension');
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  let nextId = 0;
  const pending = new Map();
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message);
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${message.error.message} (${JSON.stringify(message.error.data ?? '')})`));
    else waiter.resolve(message.result);
  });
  return {
    send(method, params = {}) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
      });
    },
    detach: () => cdp.detach().catch(() => {}),
  };
}

async function pageSession(h, page) {
  const cdp = await h.context.newCDPSession(page);
  return { send: (method, params = {}) => cdp.send(method, params), detach: () => cdp.detach().catch(() => {}) };
}

/**
 * After a full GC: the JS heap in use and every live WebAssembly.Memory's size, found with
 * Runtime.queryObjects (the glue does not export the instance's memory).
 */
async function memoryOf(session) {
  await session.send('HeapProfiler.collectGarbage');
  const heap = await session.send('Runtime.getHeapUsage');
  const { result: proto } = await session.send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype' });
  const { objects } = await session.send('Runtime.queryObjects', { prototypeObjectId: proto.objectId });
  const { result } = await session.send('Runtime.callFunctionOn', {
    objectId: objects.objectId,
    functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength); }',
    returnByValue: true,
  });
  const wasm = result.value ?? [];
  return { jsHeapUsed: heap.usedSize, jsHeapTotal: heap.totalSize, wasmMemories: wasm, wasm: wasm.reduce((s, n) => s + n, 0) };
}

async function waitForSnapshot(h, readStorage, until, accounts) {
  await until(async () => {
    const { snapshot, lastError } = await readStorage(h, 'local', ['snapshot', 'lastError']);
    if (lastError) throw new Error(`refresh failed while seeding: ${lastError.code}`);
    return snapshot && snapshot.accounts.length === accounts && snapshot.accounts.every((a) => !a.error);
  }, { timeout: 30_000, message: `a snapshot of ${accounts} accounts` });
}

/** Click #refresh in the popup; ms from the click to #total showing a different value. */
function timedRefresh(popup) {
  return popup.evaluate(() => new Promise((resolve, reject) => {
    const total = document.getElementById('total');
    const before = total.textContent;
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`#total did not change within 20 s (${before})`));
    }, 20_000);
    const observer = new MutationObserver(() => {
      if (total.textContent === before) return;
      const elapsed = performance.now() - start;
      observer.disconnect();
      clearTimeout(timer);
      resolve(elapsed);
    });
    observer.observe(total, { childList: true, characterData: true, subtree: true });
    const start = performance.now();
    document.getElementById('refresh').click();
  }));
}

/** Changes the first account's peso balance so every refresh brings a new total. */
let bump = 0;
function changeBalances(mock, account) {
  bump += 1;
  const balances = account.balances.map((b) => (b.currency === 'mxn' ? balance('mxn', `${15230 + bump}.75`, '230.75') : b));
  mock.setAccount(account.apiKey, { secret: account.secret, balances });
}

async function measureRefreshes(h, harness, mock, accounts, { warmup, runs }) {
  const popup = await harness.openPopup(h);
  await popup.locator('#total').waitFor({ state: 'visible' });
  await harness.waitIdle(popup);
  mock.setLatency(LATENCY_MS);
  const times = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      changeBalances(mock, accounts[0]);
      const before = mock.balanceRequests().length;
      const ms = await timedRefresh(popup);
      await harness.waitIdle(popup);
      const sent = mock.balanceRequests().slice(before);
      if (sent.length !== accounts.length || !sent.every((r) => r.authorized === true && r.error === null)) {
        throw new Error(`refresh sent ${sent.length} balance requests (${accounts.length} expected) or one failed`);
      }
      if (i >= warmup) times.push(ms);
    }
  } finally {
    mock.setLatency(0);
  }
  return { popup, times };
}

const TOTAL_TIMING = () => {
  // Mark #total for the Element Timing API before it is first painted, so the paint time of the
  // total itself is reported (the popup's own mark is set when the DOM is written).
  if (!location.pathname.endsWith('/popup/popup.html')) return;
  const tag = () => {
    const total = document.getElementById('total');
    if (!total) return false;
    total.setAttribute('elementtiming', 'total');
    return true;
  };
  new MutationObserver((_, observer) => tag() && observer.disconnect()).observe(document, { childList: true, subtree: true });
};

/** Opens the page, waits for its paint entries, returns them (ms since navigation start). */
async function openAndTime(h, url, { popup }) {
  const page = await h.context.newPage();
  await page.setViewportSize({ width: 360, height: 600 });
  await page.goto(url);
  const timing = await page.evaluate((isPopup) => new Promise((resolve, reject) => {
    const out = {};
    const done = () => {
      if (out.fcp === undefined) return;
      if (isPopup && (out.mark === undefined || out.element === undefined)) return;
      resolve(out);
    };
    setTimeout(() => reject(new Error(`paint entries missing: ${JSON.stringify(out)}`)), 10_000);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') out.fcp = e.startTime;
      done();
    }).observe({ type: 'paint', buffered: true });
    if (!isPopup) return;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.name === 'total-painted') out.mark = e.startTime;
      done();
    }).observe({ type: 'mark', buffered: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.identifier === 'total') out.element = e.renderTime || e.loadTime;
      done();
    }).observe({ type: 'element', buffered: true });
  }), popup);
  if (popup) timing.total = await page.locator('#total').textContent();
  await page.close();
  return timing;
}

export async function benchBrowser({ distChrome, workDir, colds = 5, warm = 4, opens = 20, refreshRuns = 7 }) {
  // A copy of the shipped build with the static page added; the harness reads the env var.
  const dist = join(workDir, 'chrome');
  mkdirSync(workDir, { recursive: true });
  cpSync(distChrome, dist, { recursive: true });
  cpSync(new URL('./static.html', import.meta.url), join(dist, 'static.html'));
  process.env.CARTERA_DIST_CHROME = dist;
  const harness = await import('../tests/e2e/harness.mjs');
  const { launch, makeProfileDir, removeProfileDir, openOptions, addAccount, readStorage, sendMessage, until } = harness;

  const accounts = benchAccounts();
  const mock = await startMockBitso({
    accounts: Object.fromEntries(accounts.map((a) => [a.apiKey, { secret: a.secret, balances: a.balances }])),
  });
  const profileDir = makeProfileDir();
  const h = await launch({ profileDir, port: mock.port });
  const result = {};
  try {
    await h.context.addInitScript(TOTAL_TIMING);
    log('Chromium started; adding the first account through the options page');

    // Seed one account through the options page, as a person would.
    const options = await openOptions(h);
    const first = await addAccount(options, { ...accounts[0], passphrase: PASSPHRASE });
    if (first !== 'Active') throw new Error(`adding the first account said "${first}"`);
    await waitForSnapshot(h, readStorage, until, 1);

    // Row 6: refresh, one account.
    log('refresh: 1 account');
    let { popup, times } = await measureRefreshes(h, harness, mock, accounts.slice(0, 1), { warmup: 2, runs: refreshRuns });
    result.refresh1 = stats(times);
    await popup.close();

    log(`adding ${accounts.length - 1} more accounts`);
    for (const account of accounts.slice(1)) {
      // A fresh page each time: addAccount waits for #connection-status to change from what it was.
      const page = await openOptions(h);
      const status = await addAccount(page, { ...account, passphrase: PASSPHRASE });
      await page.close();
      if (status !== 'Active') throw new Error(`adding ${account.label} said "${status}"`);
    }
    await waitForSnapshot(h, readStorage, until, accounts.length);

    log(`refresh: ${accounts.length} accounts`);
    ({ popup, times } = await measureRefreshes(h, harness, mock, accounts, { warmup: 2, runs: refreshRuns }));
    result.refresh5 = stats(times);
    result.latencyMs = LATENCY_MS;

    log('memory after a refresh');
    // Row 7: memory right after that refresh, in the popup and in the background.
    const popupSession = await pageSession(h, popup);
    result.popupMemory = await memoryOf(popupSession);
    await popupSession.detach();
    const worker = await workerSession(h, options);
    result.workerAfterRefresh = await memoryOf(worker);
    await popup.close();

    // Row 5: the popup painting the stored snapshot against a static page, interleaved.
    log(`first paint: ${opens} popup opens against ${opens} static-page opens`);
    const popupUrl = h.urlOf('popup/popup.html');
    const staticUrl = h.urlOf('static.html');
    const popupRuns = [];
    const staticRuns = [];
    for (let i = 0; i < opens + 2; i++) {
      const p = await openAndTime(h, popupUrl, { popup: true });
      const s = await openAndTime(h, staticUrl, { popup: false });
      if (!/\d/.test(p.total ?? '')) throw new Error(`the popup painted no total: "${p.total}"`);
      if (i >= 2) {
        popupRuns.push(p);
        staticRuns.push(s);
      }
    }
    result.paint = {
      opens,
      popupTotal: stats(popupRuns.map((r) => Math.max(r.element, r.mark))),
      popupMark: stats(popupRuns.map((r) => r.mark)),
      popupFcp: stats(popupRuns.map((r) => r.fcp)),
      staticFcp: stats(staticRuns.map((r) => r.fcp)),
    };

    // Row 4 (Chromium): unlockVault in freshly opened options pages; the first derive in each
    // page is cold, the next ones warm. The vault is the one the options page created above.
    log(`vault: ${colds} fresh options pages × (1 cold + ${warm} warm) unlocks`);
    const { vault } = await readStorage(h, 'local', 'vault');
    result.workerBeforeUnlock = await memoryOf(worker);
    const cold = [];
    const warmTimes = [];
    let lastPage = null;
    let vaultKey = null;
    for (let c = 0; c < colds; c++) {
      const page = await openOptions(h);
      await page.waitForLoadState('load');
      const run = await page.evaluate(async ({ vault, passphrase, warm }) => {
        const core = await import('../wasm/cartera.js');
        await core.default();
        const times = [];
        let key = null;
        for (let i = 0; i <= warm; i++) {
          const start = performance.now();
          key = core.unlockVault(vault, passphrase, 'en');
          times.push(performance.now() - start);
        }
        return { times, key };
      }, { vault, passphrase: PASSPHRASE, warm });
      cold.push(run.times[0]);
      warmTimes.push(...run.times.slice(1));
      vaultKey = run.key;
      if (lastPage) await lastPage.close();
      lastPage = page;
    }
    result.unlock = { cold: stats(cold), warm: stats(warmTimes), kdf: JSON.parse(vault).kdf };

    // The page hands the derived key to the background, as the popup and options page do.
    await sendMessage(lastPage, { type: 'lock' });
    const reply = await sendMessage(lastPage, { type: 'unlock', vaultKey });
    if (!reply?.ok) throw new Error(`the background refused the derived key: ${JSON.stringify(reply)}`);
    const { vaultKey: stored } = await readStorage(h, 'session', 'vaultKey');
    if (stored !== vaultKey) throw new Error('the background did not store the session key');
    const unlockPageSession = await pageSession(h, lastPage);
    result.pageAfterUnlock = await memoryOf(unlockPageSession);
    await unlockPageSession.detach();
    result.workerAfterUnlock = await memoryOf(worker);
    await worker.detach();
    await lastPage.close();
  } catch (error) {
    // Whatever was measured before the failure still reaches the table.
    error.partial = result;
    throw error;
  } finally {
    await h.close().catch(() => {});
    await mock.close();
    removeProfileDir(profileDir);
  }
  return result;
}
