// The page Cartera opens once, when it is installed (background.js, "First minute"): what it does,
// that keys stay on the device, the three steps, each exchange's key guide on the settings page,
// and a picture of a sample portfolio (a screenshot: nothing is added to the real one).

import { applyTheme, browser, el, exchangeName, localize, t, withDefaults } from '../shared/ext.js';
import { EXCHANGE_IDS } from '../shared/exchanges.js';

localize();
for (const image of document.querySelectorAll('[data-i18n-alt]')) image.alt = t(image.dataset.i18nAlt);
document.getElementById('guides').replaceChildren(...EXCHANGE_IDS.map((id) => {
  const link = el('a', null, t('welcomeGuideLink', [exchangeName(id)]));
  link.href = `../options/options.html#guide-${id}`;
  const item = el('li');
  item.append(link);
  return item;
}));
browser.storage.local.get('settings').then(({ settings }) => applyTheme(withDefaults(settings).theme));
