// The Chromium rows: the shipped extension, unchanged, in headless Chromium against the exchange
// stand-ins of the end-to-end suite (every supported exchange, HTTPS on the real host names, every
// signature verified), driven through tests/e2e/harness.mjs. The only additions are static.html
// (the first-paint baseline) in a copy of dist/chrome, and a second copy whose background is an
// empty module worker (the cold-start baseline).
//
// Order: one account per exchange added through the options page → refresh timings (all of them,
// then each exchange alone through the "Import balance" switch) → one sync's CPU time and
// requests → a year of history put into storage → memory → popup first paint against the static
// page → background cold starts against the empty worker → vault unlocks.

import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { sampleAccounts, startExchanges } from '../tests/e2e/exchanges.mjs';
import { ACCOUNT_A, PASSPHRASE } from '../tests/e2e/fixtures.mjs';
import { log, stats } from './lib.mjs';

const LATENCY_MS = 200;
// src/refresh.rs reuses prices this long; a sync's cost is measured after it has passed.
const PRICES_REUSED_MS = 10_000;
// The default automatic sync interval (extension/shared/ext.js DEFAULT_SETTINGS).
const SYNC_MINUTES = 15;

// One account per exchange, the stand-ins' samples (tests/e2e/exchanges.mjs); on Bitso the
// end-to-end suite's larger account (13 balances, zeros and an unpriced asset among them), as the
// figures in BENCHMARKS.md were measured with.
const ACCOUNTS = sampleAccounts().map((account) => (account.exchange === 'bitso' ? { ...ACCOUNT_A, exchange: 'bitso' } : account));
// Where a stand-in pages smaller than its exchange, the exchange's real page size.
const REAL_PAGING = {
  // Coinbase's real page holds up to 250 accounts: the sample fits one page.
  coinbase: { pageSize: 250 },
};

/** A CDP client for the background service worker, through a page's session (non-flat attach). */
async function workerSession(h, page) {
  const cdp = await h.context.newCDPSession(page);
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${h.extensionId}/`));
  if (!target) throw new Error('no service worker target for the extension');
  const worker = await attachWorker(cdp, target.targetId);
  return { send: worker.send, detach: () => worker.detach().then(() => cdp.detach()).catch(() => {}) };
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

async function waitForSnapshot(h, harness, count) {
  await harness.until(async () => {
    const { snapshot } = await harness.readStorage(h, 'local', 'snapshot');
    return snapshot && snapshot.accounts.length === count && snapshot.accounts.every((a) => !a.error);
  }, { timeout: 60_000, message: `a snapshot of ${count} accounts without errors` });
}

/** Click #refresh in the popup; ms from the click until the popup shows the new snapshot (its
 * update time changes, whether or not the total did). */
function timedRefresh(popup) {
  return popup.evaluate(() => new Promise((resolve, reject) => {
    const updated = document.getElementById('updated');
    const before = updated.getAttribute('datetime');
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error('the popup showed no new snapshot within 20 s'));
    }, 20_000);
    const observer = new MutationObserver(() => {
      if (updated.getAttribute('datetime') === before) return;
      const elapsed = performance.now() - start;
      observer.disconnect();
      clearTimeout(timer);
      resolve(elapsed);
    });
    observer.observe(updated, { attributes: true, attributeFilter: ['datetime'] });
    const start = performance.now();
    document.getElementById('refresh').click();
  }));
}

/** Every request the stand-ins logged since `marks`, and whether any of them failed. */
function requestsSince(ex, marks) {
  const out = {};
  for (const [id, mock] of Object.entries(ex.mocks)) out[id] = mock.requests.slice(marks[id] ?? 0);
  return out;
}

function requestMarks(ex) {
  return Object.fromEntries(Object.entries(ex.mocks).map(([id, mock]) => [id, mock.requests.length]));
}

function failedRequests(byExchange) {
  return Object.entries(byExchange).flatMap(([id, list]) =>
    list.filter((r) => r.error || r.authorized === false).map((r) => `${id} ${r.path}: ${r.error ?? 'refused'}`));
}

async function timeRefreshes(h, harness, ex, { warmup, runs }) {
  const popup = await harness.openPopup(h);
  await popup.locator('#total').waitFor({ state: 'visible' });
  await harness.waitIdle(popup);
  ex.server.setLatency(LATENCY_MS);
  const times = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const marks = requestMarks(ex);
      const ms = await timedRefresh(popup);
      await harness.waitIdle(popup);
      const failed = failedRequests(requestsSince(ex, marks));
      if (failed.length) throw new Error(`a refresh request failed: ${failed.join('; ')}`);
      if (i >= warmup) times.push(ms);
    }
  } finally {
    ex.server.setLatency(0);
  }
  await popup.close();
  return stats(times);
}

/** Turns "Import balance" on for the accounts of `exchanges` only, as the options page does. */
async function importOnly(h, harness, page, exchanges) {
  const { accounts } = await harness.readStorage(h, 'local', 'accounts');
  for (const account of accounts) {
    const importBalance = exchanges.includes(account.exchange);
    if ((account.importBalance !== false) === importBalance) continue;
    const reply = await harness.sendMessage(page, { type: 'setAccount', id: account.id, importBalance });
    if (!reply?.ok) throw new Error(`setAccount: ${JSON.stringify(reply)}`);
  }
  // Each change revalues in the background; let that settle before timing.
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

/** CPU time the worker's JS spent between start() and stop(), from a V8 sampling profile. */
async function cpuProfile(worker, work) {
  await worker.send('Profiler.enable');
  await worker.send('Profiler.setSamplingInterval', { interval: 100 });
  await worker.send('Profiler.start');
  const started = Date.now();
  await work();
  const wall = Date.now() - started;
  const { profile } = await worker.send('Profiler.stop');
  await worker.send('Profiler.disable');
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    if (!idle.has(id)) busyUs += profile.timeDeltas[i] ?? 0;
  });
  return { cpuMs: busyUs / 1000, wallMs: wall };
}

/**
 * A year of history for the stored snapshot, as the background would have kept it after a year of
 * syncs every 15 minutes: every point of the last 48 hours, one per hour for 30 days, one per day
 * before; appended and compacted by the bench wasm's own history functions.
 */
function yearOfHistory(core, snapshot, now) {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const times = [];
  for (let t = now - 365 * DAY; t < now - 30 * DAY; t += DAY) times.push(t);
  for (let t = now - 30 * DAY; t < now - 48 * HOUR; t += HOUR) times.push(t);
  for (let t = now - 48 * HOUR; t <= now - 60_000; t += SYNC_MINUTES * 60_000) times.push(t);
  const QUOTA = 10_485_760;
  const chunks = {};
  const apply = ({ prune, append }) => {
    for (const key of prune.remove) delete chunks[key];
    Object.assign(chunks, prune.write, append);
  };
  for (const t of times) {
    // Each point goes into its day's chunk; only that chunk is handed over, as it is all a point changes.
    const key = `hist:d:${new Date(t).toISOString().slice(0, 10)}`;
    const day = key in chunks ? { [key]: chunks[key] } : {};
    apply(JSON.parse(core.historyRecord(JSON.stringify(day), JSON.stringify({ ...snapshot, updatedAt: t }), '{}', false, QUOTA, 0)));
  }
  // The tiers, applied once over everything, as the hourly compaction leaves it.
  const last = { ...snapshot, updatedAt: now - 60_000 };
  apply(JSON.parse(core.historyRecord(JSON.stringify(chunks), JSON.stringify(last), '{}', true, QUOTA, 0)));
  return { chunks, points: times.length };
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
      // The first paint of the total: a later refresh writes it again and reports another entry.
      for (const e of list.getEntries()) {
        if (e.identifier === 'total') out.element = Math.min(out.element ?? Infinity, e.renderTime || e.loadTime);
      }
      done();
    }).observe({ type: 'element', buffered: true });
  }), popup);
  if (popup) {
    timing.total = await page.locator('#total').textContent();
    timing.chart = await page.locator('#chart path').count();
  }
  await page.close();
  return timing;
}

/** A CDP client for one worker target, attached through `cdp` (a page's session, non-flat). */
async function attachWorker(cdp, targetId) {
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false });
  let nextId = 0;
  const pending = new Map();
  const onMessage = (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message);
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${message.error.message} (${JSON.stringify(message.error.data ?? '')})`));
    else waiter.resolve(message.result);
  };
  cdp.on('Target.receivedMessageFromTarget', onMessage);
  return {
    send(method, params = {}) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
      });
    },
    async detach() {
      cdp.off('Target.receivedMessageFromTarget', onMessage);
      await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
    },
  };
}

/**
 * Stops every service worker over CDP, then wakes the extension's with a message from one of its
 * pages; returns the worker's own time from its start to the `engine-ready` mark. (A restarted
 * worker keeps its target id, so it is found through CDP rather than a Playwright event.)
 */
async function coldStart(h, harness, page) {
  const cdp = await h.context.newCDPSession(page);
  const ours = async () => (await cdp.send('Target.getTargets')).targetInfos
    .filter((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${h.extensionId}/`));
  try {
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    await harness.until(async () => (await ours()).length === 0, { message: 'the worker stopped', timeout: 10_000, interval: 20 });
    // Not awaited: the reply is not needed, and the page may be closed before it comes (the
    // caller closes it after the last start), which must not fail the run.
    page.evaluate(() => chrome.runtime.sendMessage({ type: 'getState' }).catch(() => null)).catch(() => {});
    const [target] = await harness.until(async () => {
      const list = await ours();
      return list.length ? list : null;
    }, { message: 'the worker started again', timeout: 10_000, interval: 20 });
    const worker = await attachWorker(cdp, target.targetId);
    try {
      const expression = "performance.getEntriesByName('engine-ready')[0]?.startTime ?? null";
      return await harness.until(async () => (await worker.send('Runtime.evaluate', { expression, returnByValue: true })).result.value, {
        message: 'the engine-ready mark', timeout: 10_000, interval: 20,
      });
    } finally {
      await worker.detach();
    }
  } finally {
    await cdp.send('ServiceWorker.disable').catch(() => {});
    await cdp.detach().catch(() => {});
  }
}

export async function benchBrowser({ core, distChrome, workDir, colds = 5, warm = 4, opens = 20, refreshRuns = 7, coldStarts = 10 }) {
  // A copy of the shipped build with the static page added; another whose worker is empty.
  const dist = join(workDir, 'chrome');
  const emptyDist = join(workDir, 'chrome-empty-worker');
  mkdirSync(workDir, { recursive: true });
  cpSync(distChrome, dist, { recursive: true });
  cpSync(new URL('./static.html', import.meta.url), join(dist, 'static.html'));
  cpSync(distChrome, emptyDist, { recursive: true });
  writeFileSync(join(emptyDist, 'background.js'), "chrome.runtime.onMessage.addListener(() => {});\nperformance.mark('engine-ready');\n");
  process.env.CARTERA_DIST_CHROME = dist;
  const harness = await import('../tests/e2e/harness.mjs');
  const { launch, makeProfileDir, removeProfileDir, openOptions, addAccount, readStorage, sendMessage, until } = harness;

  const ex = await startExchanges(Object.fromEntries(ACCOUNTS.map((account) => [
    account.exchange,
    { accounts: { [account.apiKey]: account }, ...REAL_PAGING[account.exchange] },
  ])));
  const profileDir = makeProfileDir();
  const h = await launch({ profileDir, server: ex.server, dist });
  const result = { latencyMs: LATENCY_MS, accounts: ACCOUNTS.length };
  try {
    await h.context.addInitScript(TOTAL_TIMING);
    log('Chromium started; adding one account per exchange through the options page');
    const options = await openOptions(h);
    for (const account of ACCOUNTS) {
      const status = await addAccount(options, { ...account, passphrase: PASSPHRASE });
      if (!/^Active/.test(status)) throw new Error(`adding ${account.exchange} said "${status}"`);
    }
    await waitForSnapshot(h, harness, ACCOUNTS.length);

    // Refresh: every exchange together, then each alone.
    log(`refresh: ${ACCOUNTS.length} accounts on ${ACCOUNTS.length} exchanges`);
    result.refreshAll = await timeRefreshes(h, harness, ex, { warmup: 2, runs: refreshRuns });
    result.refreshAlone = {};
    for (const { exchange } of ACCOUNTS) {
      log(`refresh: ${exchange} alone`);
      await importOnly(h, harness, options, [exchange]);
      result.refreshAlone[exchange] = await timeRefreshes(h, harness, ex, { warmup: 1, runs: refreshRuns });
    }
    await importOnly(h, harness, options, ACCOUNTS.map((a) => a.exchange));
    await waitForSnapshot(h, harness, ACCOUNTS.length);

    // One sync's cost: CPU in the worker and the requests it sends, prices included.
    log('one sync: CPU time and requests');
    await new Promise((resolve) => setTimeout(resolve, PRICES_REUSED_MS + 500));
    const worker = await workerSession(h, options);
    const marks = requestMarks(ex);
    const cpu = await cpuProfile(worker, async () => {
      const reply = await sendMessage(options, { type: 'refresh' });
      if (!reply?.ok) throw new Error(`refresh: ${JSON.stringify(reply)}`);
    });
    const sent = requestsSince(ex, marks);
    const failed = failedRequests(sent);
    if (failed.length) throw new Error(`a sync request failed: ${failed.join('; ')}`);
    result.sync = {
      ...cpu,
      requests: Object.fromEntries(Object.entries(sent).map(([id, list]) => [id, list.length])),
      perHour: Object.fromEntries(Object.entries(sent).map(([id, list]) => [id, list.length * (60 / SYNC_MINUTES)])),
      minutes: SYNC_MINUTES,
    };

    // A year of history in storage, then a sync that reads and extends it.
    log('a year of history');
    const { snapshot } = await readStorage(h, 'local', 'snapshot');
    const year = yearOfHistory(core, snapshot, Date.now() - 20 * 60_000);
    await harness.inWorker(h, async (chunks) => {
      const old = Object.keys(await chrome.storage.local.get(null)).filter((key) => key.startsWith('hist:'));
      await chrome.storage.local.remove(old);
      await chrome.storage.local.set(chunks);
    }, year.chunks);
    const reply = await sendMessage(options, { type: 'refresh' });
    if (!reply?.ok) throw new Error(`refresh after the history: ${JSON.stringify(reply)}`);
    await until(async () => (await readStorage(h, 'local', 'historyView')).historyView?.storedPoints > 400, { message: 'the year in the view' });
    const stored = await readStorage(h, 'local');
    const historyKeys = Object.keys(stored).filter((key) => key.startsWith('hist:'));
    result.history = {
      points: (await readStorage(h, 'local', 'historyView')).historyView.storedPoints,
      keys: historyKeys.length,
      bytes: historyKeys.reduce((sum, key) => sum + key.length + JSON.stringify(stored[key]).length, 0),
      bytesInUse: await harness.inWorker(h, (keys) => chrome.storage.local.getBytesInUse(keys), historyKeys),
      allBytesInUse: await harness.inWorker(h, () => chrome.storage.local.getBytesInUse(null)),
    };

    log('memory after a sync');
    const popup = await harness.openPopup(h);
    await popup.locator('#total').waitFor({ state: 'visible' });
    const popupSession = await pageSession(h, popup);
    result.popupMemory = await memoryOf(popupSession);
    await popupSession.detach();
    result.workerAfterRefresh = await memoryOf(worker);
    await popup.close();
    await worker.detach();

    // The popup painting the stored snapshot (every exchange, a year of history, the chart) against
    // a static page, interleaved.
    log(`first paint: ${opens} popup opens against ${opens} static-page opens`);
    const popupRuns = [];
    const staticRuns = [];
    for (let i = 0; i < opens + 2; i++) {
      const p = await openAndTime(h, h.urlOf('popup/popup.html'), { popup: true });
      const s = await openAndTime(h, h.urlOf('static.html'), { popup: false });
      if (!/\d/.test(p.total ?? '')) throw new Error(`the popup painted no total: "${p.total}"`);
      if (!p.chart) throw new Error('the popup drew no chart');
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

    log(`background cold start: ${coldStarts} starts`);
    const wakePage = await openOptions(h);
    const starts = [];
    for (let i = 0; i < coldStarts + 1; i++) {
      const ms = await coldStart(h, harness, wakePage);
      if (i > 0) starts.push(ms);
    }
    result.coldStart = stats(starts);
    await wakePage.close();

    // Vault unlock: unlockVault in freshly opened options pages; the first derive in each page
    // is cold, the next ones warm.
    log(`vault: ${colds} fresh options pages × (1 cold + ${warm} warm) unlocks`);
    const { vault } = await readStorage(h, 'local', 'vault');
    const unlockWorker = await workerSession(h, options);
    result.workerBeforeUnlock = await memoryOf(unlockWorker);
    const cold = [];
    const warmTimes = [];
    let lastPage = null;
    let vaultKey = null;
    for (let c = 0; c < colds; c++) {
      const page = await openOptions(h);
      await page.waitForLoadState('load');
      const run = await page.evaluate(async ({ vault: text, passphrase, rounds }) => {
        const wasm = await import('../wasm/cartera.js');
        await wasm.default();
        const times = [];
        let key = null;
        for (let i = 0; i <= rounds; i++) {
          const start = performance.now();
          key = wasm.unlockVault(text, passphrase, 'en');
          times.push(performance.now() - start);
        }
        return { times, key };
      }, { vault, passphrase: PASSPHRASE, rounds: warm });
      cold.push(run.times[0]);
      warmTimes.push(...run.times.slice(1));
      vaultKey = run.key;
      if (lastPage) await lastPage.close();
      lastPage = page;
    }
    result.unlock = { cold: stats(cold), warm: stats(warmTimes), kdf: JSON.parse(vault).kdf };
    await sendMessage(lastPage, { type: 'lock' });
    const unlocked = await sendMessage(lastPage, { type: 'unlock', vaultKey });
    if (!unlocked?.ok) throw new Error(`the background refused the derived key: ${JSON.stringify(unlocked)}`);
    const unlockPageSession = await pageSession(h, lastPage);
    result.pageAfterUnlock = await memoryOf(unlockPageSession);
    await unlockPageSession.detach();
    result.workerAfterUnlock = await memoryOf(unlockWorker);
    await unlockWorker.detach();
    await lastPage.close();
  } catch (error) {
    // Whatever was measured before the failure still reaches the table.
    error.partial = result;
    throw error;
  } finally {
    await h.close().catch(() => {});
  }

  // The baseline: the same extension with an empty worker, started the same way.
  log(`empty worker cold start: ${coldStarts} starts`);
  const emptyProfile = makeProfileDir();
  // Its worker opens no welcome page for launch to wait for.
  const empty = await launch({ profileDir: emptyProfile, server: ex.server, dist: emptyDist, keepWelcome: true });
  try {
    const page = await empty.context.newPage();
    await page.goto(empty.urlOf('static.html').replace('static.html', 'popup/popup.html'));
    const starts = [];
    for (let i = 0; i < coldStarts + 1; i++) {
      const ms = await coldStart(empty, harness, page);
      if (i > 0) starts.push(ms);
    }
    result.emptyColdStart = stats(starts);
  } catch (error) {
    error.partial = result;
    throw error;
  } finally {
    await empty.close().catch(() => {});
    await ex.close();
    removeProfileDir(profileDir);
    removeProfileDir(emptyProfile);
  }
  return result;
}
