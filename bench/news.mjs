// Row 11: reading a 200-item feed of every shipped publisher in wasm. Each feed is the
// publisher's fixture (src/news/fixtures, shaped as the publisher writes it) with its items
// repeated to 200, each with its own link and date; `newsRead` (the call the background makes
// per fetched feed: the bytes handed over, parsed, merged into an empty store, JSON back) is timed
// from JS.

import { readFileSync } from 'node:fs';

import { NEWS_MAX_ITEMS, NEWS_PUBLISHERS } from '../extension/shared/core-constants.js';
import { log, stats } from './lib.mjs';

const ITEM = /<(item|entry)\b[\s\S]*?<\/\1>/g;

/** The fixture of `publisher` with its items repeated to `count`, each link and date its own. */
export function feedOf(publisher, count = NEWS_MAX_ITEMS) {
  const text = readFileSync(new URL(`../src/news/fixtures/${publisher}.xml`, import.meta.url), 'utf8');
  const items = text.match(ITEM) ?? [];
  if (items.length === 0) throw new Error(`${publisher}: no items in the fixture`);
  const first = text.indexOf(items[0]);
  const last = text.lastIndexOf(items[items.length - 1]) + items[items.length - 1].length;
  const repeated = Array.from({ length: count }, (_, i) => items[i % items.length]
    // Every link unique (query strings already escaped as &amp; keep their form).
    .replace(/(<link>[^<]+|href="https?:[^"]+)/g, (link) => `${link}${link.includes('?') ? '&amp;' : '?'}n=${i}`)
    .replace(/(\d\d):(\d\d):(\d\d)/, (_, h, m) => `${h}:${m}:${String(i % 60).padStart(2, '0')}`));
  return new TextEncoder().encode(text.slice(0, first) + repeated.join('\n') + text.slice(last));
}

export function benchNews(core, { runs = 7, iterations = 20 } = {}) {
  const perPublisher = [];
  for (const publisher of NEWS_PUBLISHERS) {
    const body = feedOf(publisher.id);
    const choice = JSON.stringify({ enabled: true, publishers: [publisher.id] });
    const read = () => core.newsRead('[]', choice, publisher.id, 200, body, false);
    const kept = JSON.parse(read()).length;
    if (kept !== NEWS_MAX_ITEMS) throw new Error(`${publisher.id}: ${kept} items read of ${NEWS_MAX_ITEMS}`);
    for (let i = 0; i < iterations; i++) read();
    const times = [];
    for (let r = 0; r < runs; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) read();
      times.push(Number(process.hrtime.bigint() - start) / 1e6 / iterations);
    }
    perPublisher.push({ id: publisher.id, name: publisher.name, bytes: body.length, ms: stats(times) });
    log(`news: ${publisher.name} ${(body.length / 1024).toFixed(1)} KiB, ${stats(times).median.toFixed(3)} ms`);
  }
  return { perPublisher, items: NEWS_MAX_ITEMS };
}
