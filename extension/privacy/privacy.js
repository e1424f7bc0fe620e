// The privacy policy, in the browser's language, filled in from this build's manifest.

import { applyTheme, browser, localize, t, withDefaults } from '../shared/ext.js';
import { policyFacts } from './policy.js';

const facts = policyFacts(browser.runtime.getManifest());
localize();
for (const item of document.querySelectorAll('[data-fill]')) item.textContent = t(item.dataset.i18n, [facts[item.dataset.fill]]);
for (const item of document.querySelectorAll('[data-if]')) item.hidden = !facts[item.dataset.if];
browser.storage.local.get('settings').then(({ settings }) => applyTheme(withDefaults(settings).theme));
