// `./build.sh demo`: Cartera at work on a sample portfolio across every supported exchange, with
// no exchange account. The end-to-end suite's exchange stand-ins (HTTPS on the real host names,
// every signature checked) serve fake keys; Chromium loads dist/chrome unchanged with a
// throwaway profile and every other host name unresolvable.
//
//   node tests/demo/demo.mjs            a browser window on the options page, sample keys printed
//   node tests/demo/demo.mjs --ready    the same, with the sample accounts already added
//   node tests/demo/demo.mjs --headless adds the accounts, refreshes, sets an alert and writes
//                                       screenshots to target/demo/ (the default without a display)

import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { expectedAcross, digitsOf } from '../e2e/expected.mjs';
import { holdingsOf, sampleExchanges, startExchanges } from '../e2e/exchanges.mjs';
import {
  assertOnlyAllowedHosts, clickRefresh, inWorker, launch, makeProfileDir, openOptions, openPopup, readStorage,
  removeProfileDir, ROOT, uncaughtErrors, until, waitIdle,
} from '../e2e/harness.mjs';
import { addSamples, PASSPHRASE, SAMPLES, writeKeyFiles } from './samples.mjs';

const OUT = join(ROOT, 'target/demo');
const args = new Set(process.argv.slice(2));
const headless = args.has('--headless') || (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY);

function banner(keyFiles, ready) {
  const lines = ['', 'Cartera demo: every exchange below is a local stand-in; these keys work nowhere else.', ''];
  if (ready) {
    lines.push(`The sample accounts are added. Open the Cartera icon in the toolbar (passphrase: "${PASSPHRASE}").`);
  } else {
    lines.push('Add any of these on the options page (choose the exchange, paste the two fields):', '');
    for (const account of SAMPLES) {
      const keyFile = keyFiles[account.exchange];
      if (keyFile) lines.push(`  ${account.exchange.padEnd(9)} choose the key file ${keyFile}`);
      else lines.push(`  ${account.exchange.padEnd(9)} key    ${account.apiKey}`, `  ${''.padEnd(9)} secret ${account.secret}`);
    }
  }
  lines.push('', 'Close the browser or press Ctrl-C to stop; the profile is then deleted.', '');
  console.log(lines.join('\n'));
}

async function headlessRun(h, ex, keyFiles) {
  const options = await addSamples(h, keyFiles);
  const popup = await openPopup(h);
  await waitIdle(popup);
  await clickRefresh(popup);
  const expected = expectedAcross(SAMPLES.map(holdingsOf), ex.books(), 'mxn');
  await until(async () => digitsOf(await popup.locator('#total').textContent()) === digitsOf(expected.total.toFixed(2)), {
    message: `the total across every exchange (${expected.total.toFixed(2)})`,
    timeout: 30_000,
  });
  const { snapshot } = await readStorage(h, 'local', 'snapshot');
  assert.deepEqual(
    [...new Set(snapshot.accounts.map((a) => a.exchange))].sort(),
    SAMPLES.map((a) => a.exchange).sort(),
    'every exchange in the portfolio',
  );
  assert.ok(snapshot.accounts.every((account) => account.error === null), 'every account updated');

  // An alert that fires on this sync: the portfolio is worth more than 1 peso.
  await options.getByRole('button', { name: 'Add alert' }).click();
  await options.getByLabel('Alert when').selectOption('totalAbove');
  await options.locator('#alert-threshold').fill('1');
  await options.getByRole('button', { name: 'Save alert' }).click();
  await until(async () => (await readStorage(h, 'local', 'alerts')).alerts?.length === 1, { message: 'the alert saved' });
  await new Promise((resolve) => setTimeout(resolve, 10_500)); // prices are reused for 10 s
  await clickRefresh(popup);
  const [alert] = (await readStorage(h, 'local', 'alerts')).alerts;
  await until(async () => (await inWorker(h, () => chrome.notifications.getAll()))[alert.id], { message: 'the notification shown' });
  await options.reload();
  await options.locator(`#alert-${alert.id}`).waitFor();

  mkdirSync(OUT, { recursive: true });
  await popup.screenshot({ path: join(OUT, 'popup.png'), fullPage: true });
  await options.screenshot({ path: join(OUT, 'options.png'), fullPage: true });
  await options.locator('#alerts-card').screenshot({ path: join(OUT, 'alert-fired.png') });
  const history = await h.context.newPage();
  await history.goto(h.urlOf('history/history.html'));
  await history.locator('#change').waitFor();
  await history.screenshot({ path: join(OUT, 'history.png'), fullPage: true });

  assertOnlyAllowedHosts(h);
  assert.deepEqual(uncaughtErrors(h), []);
  console.log(`\nA portfolio of ${snapshot.accounts.length} accounts on ${SAMPLES.length} exchanges, worth ${await popup.locator('#total').textContent()}.`);
  console.log(`Screenshots: ${OUT}/{popup,options,alert-fired,history}.png`);
}

async function main() {
  const ex = await startExchanges(sampleExchanges());
  const profileDir = makeProfileDir();
  const keyFiles = writeKeyFiles(join(profileDir, '..'), 'demo');
  let h = null;
  const cleanUp = async () => {
    await h?.close().catch(() => {});
    await ex.close();
    removeProfileDir(profileDir);
    for (const keyFile of Object.values(keyFiles)) rmSync(keyFile, { force: true });
  };
  process.once('SIGINT', () => cleanUp().then(() => process.exit(130)));
  try {
    // A window shows the welcome page a first install opens, as a user sees it.
    h = await launch({ profileDir, server: ex.server, headless, keepWelcome: !headless });
    if (headless) {
      await headlessRun(h, ex, keyFiles);
    } else {
      const ready = args.has('--ready');
      if (ready) await addSamples(h, keyFiles);
      else await openOptions(h);
      banner(keyFiles, ready);
      await new Promise((resolve) => h.context.on('close', resolve));
    }
  } finally {
    await cleanUp();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
