// Stand-ins for the news publishers' feeds, on their real host names (start with
// startMockServer([createFeeds()])). Each feed is shaped as its publisher writes it (RSS 2.0 with
// CDATA titles, WordPress entities, an Atom variant), with dates relative to now, so ordering can
// be checked. Every request is kept with the headers the browser sent, to check what is sent.
//
//   feeds.set(host, { status, body, type }) overrides one host's answer ('offline' hangs up).
//   feeds.requests: [{ host, path, headers }]

const now = () => Date.now();
const rfc822 = (ms) => new Date(ms).toUTCString().replace('GMT', '+0000');
const MINUTE = 60_000;

/** RSS 2.0 as Arc XP (CoinDesk) and Cointelegraph write it: CDATA titles, guids that are not links. */
function arcRss(title, items) {
  return `<?xml version="1.0" encoding="UTF-8"?><rss xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" version="2.0"><channel><title><![CDATA[${title}]]></title><link>https://example.invalid</link>${items
    .map((item, i) => `<item><title><![CDATA[${item.title}]]></title><link>${item.link}</link><guid isPermaLink="false">G${i}X7Q</guid><dc:creator><![CDATA[Staff]]></dc:creator><description><![CDATA[<p>Summary <img src="https://cdn.example.invalid/pixel.gif"></p>]]></description>${item.ago === undefined ? '' : `<pubDate>${rfc822(now() - item.ago * MINUTE)}</pubDate>`}<media:content url="https://cdn.example.invalid/${i}.jpg" medium="image"/></item>`)
    .join('')}</channel></rss>`;
}

/** Atom as WordPress writes it (`/feed/atom/`): HTML-typed titles inside CDATA. */
function wordpressAtom(title, items) {
  const iso = (ms) => new Date(ms).toISOString();
  return `<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es"><title type="text">${title}</title><updated>${iso(now())}</updated>${items
    .map((item) => `<entry><author><name>Redacción</name></author><title type="html"><![CDATA[${item.title}]]></title><link rel="alternate" type="text/html" href="${item.link}"/><id>${item.link}?p=1</id><updated>${iso(now() - item.ago * MINUTE)}</updated><published>${iso(now() - item.ago * MINUTE)}</published><link rel="replies" type="text/html" href="${item.link}#respond"/></entry>`)
    .join('')}</feed>`;
}

export const FEED_ITEMS = {
  coindesk: [
    { title: 'First Mover Americas: Markets Wait on Jobs Data', link: 'https://www.coindesk.com/markets/2026/12/05/first-mover', ago: 5 },
    { title: 'Bitcoin Tops $140K as ETF Inflows Hit a High', link: 'https://www.coindesk.com/markets/2026/12/05/bitcoin-tops-140k', ago: 30 },
    { title: 'Ethernet Maker&#8217;s Chips Power <b>New</b> Mining Rigs', link: 'https://www.coindesk.com/business/2026/12/05/ethernet', ago: 45 },
    { title: 'A link that is no web page', link: 'javascript:alert(document.domain)', ago: 1 },
    { title: 'Solana &amp; XRP ETFs Delayed Again', link: 'https://www.coindesk.com/policy/2026/12/05/solana-xrp-etfs', ago: 90 },
    { title: 'Undated: Crypto Week Ahead', link: 'https://www.coindesk.com/markets/2026/12/05/week-ahead' },
  ],
  criptonoticias: [
    { title: 'El precio de bitcoin supera los USD 140.000', link: 'https://www.criptonoticias.com/mercados/precio-bitcoin/', ago: 20 },
    { title: 'El sol y el viento alimentan la minería', link: 'https://www.criptonoticias.com/mineria/sol-viento/', ago: 10 },
  ],
};

const FEEDS = {
  'www.coindesk.com': { path: '/arc/outboundfeeds/rss/', body: () => arcRss('CoinDesk', FEED_ITEMS.coindesk), type: 'application/rss+xml; charset=utf-8' },
  'www.criptonoticias.com': { path: '/feed/', body: () => wordpressAtom('CriptoNoticias', FEED_ITEMS.criptonoticias), type: 'application/atom+xml; charset=UTF-8' },
  'decrypt.co': { path: '/feed', body: () => '<html><body>Service Unavailable</body></html>', status: 503, type: 'text/html' },
  'www.theblock.co': { path: '/rss.xml', body: () => '<!doctype html><html><head><title>Just a moment...</title></head></html>', type: 'text/html' },
  'livecoins.com.br': { path: '/feed/', body: () => arcRss('Livecoins', []), type: 'application/rss+xml' },
  'br.cointelegraph.com': { path: '/rss', body: () => arcRss('Cointelegraph Brasil', []), type: 'application/rss+xml' },
};

export const FEED_HOSTS = Object.keys(FEEDS);

export function createFeeds() {
  const overrides = new Map();
  const requests = [];
  return {
    hosts: FEED_HOSTS,
    requests,
    set(host, answer) {
      if (answer) overrides.set(host, answer);
      else overrides.delete(host);
    },
    handle(req) {
      requests.push({ host: req.host, path: req.path, method: req.method, headers: req.headers });
      const feed = FEEDS[req.host];
      const override = overrides.get(req.host);
      if (override === 'offline') return { hang: true };
      if (override) return override;
      if (req.method !== 'GET' || req.path !== feed.path) return { status: 404, type: 'text/plain', body: 'not found' };
      const body = feed.body();
      const etag = `"${body.length}-${req.host}"`;
      if (req.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
      return { status: feed.status ?? 200, type: feed.type, body, headers: { etag, 'last-modified': new Date(now() - MINUTE).toUTCString() } };
    },
  };
}
