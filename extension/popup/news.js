// The popup's News tab, shown once news is on: the headlines the background keeps, those about
// held assets first (matched in the core, on this device). Titles are text and each is a link to
// the article, opened in a new tab with no referrer; only http(s) links are ever shown.

import { browser, el, relativeTime, send, t } from '../shared/ext.js';
import { NEWS_PUBLISHERS } from '../shared/core-constants.js';

const $ = (id) => document.getElementById(id);
const TABS = ['portfolio', 'news'];

let shown = 'portfolio';

export async function startNews() {
  for (const tab of TABS) $(`tab-${tab}`).addEventListener('click', () => selectTab(tab));
  $('tabs').addEventListener('keydown', moveBetweenTabs);
  $('news-choose').addEventListener('click', () =>
    browser.tabs.create({ url: browser.runtime.getURL('options/options.html#news-card') }));
  const { news } = await browser.storage.local.get('news');
  showTabs(news?.enabled === true);
  browser.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    if ('news' in changes) showTabs(changes.news.newValue?.enabled === true);
    if (shown === 'news' && ('newsItems' in changes || 'newsFeeds' in changes || 'snapshot' in changes)) renderNews();
  });
}

function showTabs(enabled) {
  $('tabs').hidden = !enabled;
  if (!enabled && shown === 'news') selectTab('portfolio');
}

function selectTab(tab) {
  shown = tab;
  for (const name of TABS) {
    const button = $(`tab-${name}`);
    button.setAttribute('aria-selected', String(name === tab));
    button.tabIndex = name === tab ? 0 : -1;
  }
  $('news').hidden = tab !== 'news';
  if (tab === 'news') {
    document.body.dataset.tab = 'news';
    renderNews();
  } else {
    delete document.body.dataset.tab;
  }
}

/** Left and right arrows move between the tabs (the ARIA tabs pattern). */
function moveBetweenTabs(event) {
  if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
  const next = TABS[(TABS.indexOf(shown) + (event.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
  selectTab(next);
  $(`tab-${next}`).focus();
  event.preventDefault();
}

async function renderNews() {
  const reply = await send('getNews');
  const items = reply.ok ? reply.items.filter((item) => /^https?:\/\//i.test(item.link)) : [];
  const held = items.filter((item) => item.assets.length > 0);
  const others = items.filter((item) => item.assets.length === 0);
  $('news-held').replaceChildren(...held.map(newsItem));
  $('news-others').replaceChildren(...others.map(newsItem));
  $('news-held-heading').hidden = held.length === 0;
  $('news-others-heading').hidden = others.length === 0 || held.length === 0;
  $('news-empty').hidden = items.length > 0;
  $('news-failing').hidden = !(reply.ok && reply.failing.length > 0);
  $('news-failing').textContent = t('newsFailing');
}

function newsItem(item) {
  const row = el('li');
  const link = el('a', null, item.title);
  link.href = item.link;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.referrerPolicy = 'no-referrer';
  const publisher = NEWS_PUBLISHERS.find((p) => p.id === item.publisher)?.name ?? '';
  const time = el('time', null, relativeTime(item.at));
  time.dateTime = new Date(item.at).toISOString();
  const meta = el('p', 'news-meta');
  meta.append(`${publisher} · `, time);
  if (item.assets.length) meta.append(` · ${t('newsMatched', [item.assets.join(', ')])}`);
  row.append(link, meta);
  return row;
}
