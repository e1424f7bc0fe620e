// Options page, "News": the switch, a checkbox per publisher (those writing in the interface
// language first), and under each ticked one how its feed last went. Ticking asks the browser for
// that publisher's host, and only that host, in the same click; unticking gives it back. The
// background saves the choice and fetches (src/news.rs).

import { browser, el, errorText, relativeTime, send, t, uiLang } from '../shared/ext.js';
import { NEWS_PUBLISHERS } from '../shared/core-constants.js';

const $ = (id) => document.getElementById(id);

const news = {
  choice: { enabled: false, publishers: [] },
  feeds: {},
  // A save in flight: clicks wait for it, so two quick ticks are both kept.
  saving: Promise.resolve(),
};

/** The interface language as the core names it ("en", "es", "pt"). */
function ownLanguage() {
  const primary = uiLang().split(/[-_]/)[0].toLowerCase();
  return primary === 'es' || primary === 'pt' ? primary : 'en';
}

export async function startNews() {
  const own = ownLanguage();
  $('news-own').replaceChildren(...NEWS_PUBLISHERS.filter((p) => p.lang === own).map(publisherRow));
  $('news-other').replaceChildren(...NEWS_PUBLISHERS.filter((p) => p.lang !== own).map(publisherRow));
  $('news-enabled').addEventListener('click', toggleNews);
  const stored = await browser.storage.local.get(['news', 'newsFeeds']);
  applyStored(stored.news, stored.newsFeeds);
  browser.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local' || !('news' in changes || 'newsFeeds' in changes)) return;
    applyStored(
      'news' in changes ? changes.news.newValue : news.choice,
      'newsFeeds' in changes ? changes.newsFeeds.newValue : news.feeds,
    );
  });
  // "Updated 5 minutes ago" stays true while the page is open.
  setInterval(renderNews, 30_000);
}

function applyStored(choice, feeds) {
  news.choice = {
    enabled: choice?.enabled === true,
    publishers: Array.isArray(choice?.publishers) ? choice.publishers : [],
  };
  news.feeds = feeds && typeof feeds === 'object' ? feeds : {};
  renderNews();
}

function publisherRow(publisher) {
  const row = el('li');
  const label = el('label', 'switch');
  const box = el('input');
  box.type = 'checkbox';
  box.id = `news-${publisher.id}`;
  box.dataset.publisher = publisher.id;
  box.setAttribute('aria-describedby', `news-state-${publisher.id}`);
  box.addEventListener('click', () => togglePublisher(publisher, box));
  label.append(box, el('span', null, publisher.name));
  const state = el('p', 'help news-feed-state');
  state.id = `news-state-${publisher.id}`;
  state.hidden = true;
  row.append(label, state);
  return row;
}

function renderNews() {
  $('news-enabled').checked = news.choice.enabled;
  for (const publisher of NEWS_PUBLISHERS) {
    const box = $(`news-${publisher.id}`);
    const state = $(`news-state-${publisher.id}`);
    const ticked = news.choice.publishers.includes(publisher.id);
    box.checked = ticked;
    const feed = news.feeds[publisher.id];
    const text = !ticked || !news.choice.enabled
      ? ''
      : feed?.error
        ? errorText(feed.error)
        : Number.isFinite(feed?.fetchedAt)
          ? t('newsFetched', [relativeTime(feed.fetchedAt)])
          : t('newsNotFetched');
    state.textContent = text;
    state.hidden = !text;
    state.classList.toggle('error', Boolean(feed?.error) && ticked);
  }
}

/** Saves a change to the choice through the background; the page follows storage. */
function saveNews(change) {
  news.saving = news.saving.then(async () => {
    const next = { ...news.choice, ...change };
    const reply = await send('setNews', { news: next });
    if (reply.ok) {
      news.choice = reply.news;
      setStatus('');
    } else {
      setStatus(errorText(reply.error));
    }
    renderNews();
    return reply.ok;
  });
  return news.saving;
}

function toggleNews() {
  saveNews({ enabled: $('news-enabled').checked });
}

function togglePublisher(publisher, box) {
  if (box.checked) {
    // First, in the click itself: Firefox grants permissions only inside a user gesture.
    const granted = browser.permissions.request({ origins: [publisher.origin] }).catch(() => false);
    granted.then((ok) => {
      if (!ok) {
        box.checked = false;
        setStatus(t('newsPermissionRefused', [publisher.name]));
        return;
      }
      saveNews({ publishers: [...news.choice.publishers.filter((id) => id !== publisher.id), publisher.id] });
    });
    return;
  }
  saveNews({ publishers: news.choice.publishers.filter((id) => id !== publisher.id) }).then(() =>
    // Its headlines went with the choice; the access to its site goes too.
    browser.permissions.remove({ origins: [publisher.origin] }).catch(() => false));
}

function setStatus(text) {
  $('news-status').textContent = text;
}
