// Row 4, Node part: unlockVault with the shipped wasm (dist/chrome/wasm, --target web glue) and
// the shipped Argon2id defaults. Each cold sample is a fresh worker thread, so a fresh wasm
// instance whose memory has never grown: the first derive there is what a just-opened page pays.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { log, stats } from './lib.mjs';

async function loadShipped(wasmDir) {
  const core = await import(pathToFileURL(`${wasmDir}/cartera.js`).href);
  await core.default({ module_or_path: readFileSync(`${wasmDir}/cartera_bg.wasm`) });
  return core;
}

/** In a worker: one cold derive, then `warm` more in the same instance. */
async function workerMain({ wasmDir, vault, passphrase, warm }) {
  const core = await loadShipped(wasmDir);
  const times = [];
  let key = null;
  for (let i = 0; i <= warm; i++) {
    const start = performance.now();
    key = core.unlockVault(vault, passphrase, 'en');
    times.push(performance.now() - start);
  }
  parentPort.postMessage({ times, key });
}

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: data });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code && reject(new Error(`vault worker exited with ${code}`)));
  });
}

/** Creates a vault with the shipped defaults (in this thread) and times unlocking it. */
export async function benchVaultNode({ wasmDir, passphrase, colds = 5, warm = 4 }) {
  const core = await loadShipped(wasmDir);
  const { vault, vaultKey } = core.createVault(passphrase, 'en');
  const cold = [];
  const warmTimes = [];
  for (let i = 0; i < colds; i++) {
    const { times, key } = await runWorker({ wasmDir, vault, passphrase, warm });
    if (key !== vaultKey) throw new Error('unlockVault in a worker derived another key');
    cold.push(times[0]);
    warmTimes.push(...times.slice(1));
  }
  const kdf = JSON.parse(vault).kdf;
  const result = { cold: stats(cold), warm: stats(warmTimes), kdf, vault };
  log(`vault (Node): warm ${result.warm.median.toFixed(1)} ms, cold ${result.cold.median.toFixed(1)} ms, m=${kdf.m} KiB t=${kdf.t} p=${kdf.p}`);
  return result;
}

if (!isMainThread && workerData?.wasmDir) await workerMain(workerData);
