// The changelog: the repository's CHANGELOG.md, which the build copies beside this page, drawn as
// one card per version. It is read as plain text (headings and list items), never as HTML.

import { applyTheme, browser, el, localize, withDefaults } from '../shared/ext.js';
import { changelogVersions } from './entries.js';

localize();
browser.storage.local.get('settings').then(({ settings }) => applyTheme(withDefaults(settings).theme));
fetch('CHANGELOG.md')
  .then((response) => response.text())
  .then((text) => {
    document.getElementById('changelog').replaceChildren(...changelogVersions(text).map(({ heading, items }) => {
      const card = el('section', 'card');
      const list = el('ul');
      list.append(...items.map((item) => el('li', null, item)));
      card.append(el('h2', null, heading), list);
      return card;
    }));
  });
