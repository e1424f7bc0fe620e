// The options page's part of the first minute: after an update, one line saying so with a link to
// the changelog, until it is dismissed (the background notes the update, and the dismissal, per
// version in storage.local "whatsNew"); and the welcome page's links, which land on the add form
// (#add) or on one exchange's key guide (#guide-<exchange>).

import { browser, send, t } from '../shared/ext.js';
import { EXCHANGE_IDS } from '../shared/exchanges.js';

const $ = (id) => document.getElementById(id);
const version = browser.runtime.getManifest().version;

/** Shows "What's new" while an update to this version is noted and not dismissed. */
export async function startWhatsNew() {
  $('whats-new-text').textContent = t('whatsNewText', [version]);
  $('dismiss-whats-new').addEventListener('click', async () => {
    $('whats-new').hidden = true;
    $('accounts-card').focus();
    await send('dismissWhatsNew');
  });
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && 'whatsNew' in changes) render(changes.whatsNew.newValue);
  });
  render((await browser.storage.local.get('whatsNew')).whatsNew);
}

function render(whatsNew) {
  $('whats-new').hidden = !(whatsNew?.version === version && whatsNew.dismissed !== true);
}

/** Follows `#add` and `#guide-<exchange>`; returns whether `hash` was one of them. */
export function followWelcomeLink(hash) {
  const guide = /^guide-([a-z]+)$/.exec(hash)?.[1];
  if (hash === 'add' || EXCHANGE_IDS.includes(guide)) {
    const chooser = $('exchange');
    if (guide && !chooser.disabled && chooser.value !== guide) {
      chooser.value = guide;
      chooser.dispatchEvent(new Event('change'));
    }
    // The guide is read first, then the form above it; "Add an exchange account" starts typing.
    const target = guide ? $('guide') : $('add-account');
    target.scrollIntoView({ block: 'start' });
    (guide ? target : chooser).focus({ preventScroll: true });
    return true;
  }
  return false;
}
