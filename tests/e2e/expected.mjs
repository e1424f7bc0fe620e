// An independent valuation of a portfolio, to check the extension's numbers against.
// Exact rational arithmetic on BigInt (no floats anywhere), written from the rules, not from the
// Rust code: value each asset through its direct book, else the inverse book, else two hops
// through usd, btc or usdt; among two-hop routes the one whose thinner leg trades more (24 h
// volume in the quote currency) wins, then the alphabetically first books.

const HOPS = ['usd', 'btc', 'usdt'];

/** An exact fraction n/d with d > 0, always reduced. */
export class Q {
  constructor(n, d = 1n) {
    if (d === 0n) throw new RangeError('division by zero');
    if (d < 0n) [n, d] = [-n, -d];
    const g = gcd(n < 0n ? -n : n, d);
    this.n = n / g;
    this.d = d / g;
  }
  static parse(text) {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text).trim());
    if (!m) throw new SyntaxError(`not a decimal: ${text}`);
    const frac = m[3] ?? '';
    const n = BigInt(m[2] + frac) * (m[1] ? -1n : 1n);
    return new Q(n, 10n ** BigInt(frac.length));
  }
  add(o) { return new Q(this.n * o.d + o.n * this.d, this.d * o.d); }
  mul(o) { return new Q(this.n * o.n, this.d * o.d); }
  inv() { return new Q(this.d, this.n); }
  cmp(o) { const l = this.n * o.d, r = o.n * this.d; return l < r ? -1 : l > r ? 1 : 0; }
  isZero() { return this.n === 0n; }
  /** Rounded half away from zero to `places` decimals, as a plain decimal string. */
  toFixed(places) {
    const scale = 10n ** BigInt(places);
    const neg = this.n < 0n;
    const abs = neg ? -this.n : this.n;
    let q = (abs * scale) / this.d;
    const rem = (abs * scale) % this.d;
    if (rem * 2n >= this.d) q += 1n;
    const digits = q.toString().padStart(places + 1, '0');
    const whole = digits.slice(0, digits.length - places);
    const frac = places ? `.${digits.slice(digits.length - places)}` : '';
    return `${neg && q !== 0n ? '-' : ''}${whole}${frac}`;
  }
  /** The exact decimal string, or null when the fraction has no finite decimal expansion. */
  toDecimal() {
    let d = this.d, twos = 0, fives = 0;
    while (d % 2n === 0n) { d /= 2n; twos++; }
    while (d % 5n === 0n) { d /= 5n; fives++; }
    if (d !== 1n) return null;
    const places = Math.max(twos, fives);
    return trimZeros(this.toFixed(places));
  }
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a || 1n;
}

/** "1.2300" → "1.23", "5.000" → "5", "-0.0" → "0". */
export function trimZeros(text) {
  let t = String(text);
  if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
  if (/^-0$/.test(t)) t = '0';
  return t;
}

/** Price of one `asset` in `quote`, with the books used, or null when there is no route. */
export function priceOf(asset, quote, tickers) {
  if (asset === quote) return { price: new Q(1n), route: [] };
  const book = (base, q) => tickers.find((t) => t.book === `${base}_${q}`);
  const direct = book(asset, quote);
  if (direct) return { price: Q.parse(direct.last), route: [direct.book] };
  const inverse = book(quote, asset);
  if (inverse) return { price: Q.parse(inverse.last).inv(), route: [inverse.book] };

  // One leg: asset → to, through a direct or an inverse book.
  const leg = (from, to) => {
    const d = book(from, to);
    if (d) return { rate: Q.parse(d.last), ticker: d };
    const i = book(to, from);
    if (i) return { rate: Q.parse(i.last).inv(), ticker: i };
    return null;
  };
  // A book's 24 h volume (in its base currency) expressed in the quote currency.
  const volumeInQuote = (ticker, basePrice) => Q.parse(ticker.volume).mul(basePrice);

  let best = null;
  for (const hop of HOPS) {
    if (hop === asset || hop === quote) continue;
    const first = leg(asset, hop);
    const second = leg(hop, quote);
    if (!first || !second) continue;
    const hopPrice = second.rate;
    const price = first.rate.mul(hopPrice);
    const baseOf = (t) => t.book.split('_')[0];
    const priceOfBase = (t) => (baseOf(t) === asset ? price : baseOf(t) === hop ? hopPrice : new Q(1n));
    const v1 = volumeInQuote(first.ticker, priceOfBase(first.ticker));
    const v2 = volumeInQuote(second.ticker, priceOfBase(second.ticker));
    const liquidity = v1.cmp(v2) <= 0 ? v1 : v2;
    const route = [first.ticker.book, second.ticker.book];
    const better =
      !best ||
      liquidity.cmp(best.liquidity) > 0 ||
      (liquidity.cmp(best.liquidity) === 0 && route.join() < best.route.join());
    if (better) best = { price, route, liquidity };
  }
  return best && { price: best.price, route: best.route };
}

/**
 * What the portfolio of `accounts` (each with Bitso `balances`) is worth in `quote`:
 * { total: Q, assets: [{ asset, amount: Q, price: Q, value: Q, route }], unpriced: [asset], hidden: [asset] }.
 */
export function expectedPortfolio(accounts, tickers, quote = 'mxn') {
  const amounts = new Map();
  for (const account of accounts) {
    for (const b of account.balances) {
      amounts.set(b.currency, (amounts.get(b.currency) ?? new Q(0n)).add(Q.parse(b.total)));
    }
  }
  let total = new Q(0n);
  const assets = [];
  const unpriced = [];
  const hidden = [];
  for (const [asset, amount] of amounts) {
    if (amount.isZero()) {
      hidden.push(asset);
      continue;
    }
    const p = priceOf(asset, quote, tickers);
    if (!p) {
      unpriced.push(asset);
      continue;
    }
    const value = amount.mul(p.price);
    total = total.add(value);
    assets.push({ asset, amount, price: p.price, value, route: p.route });
  }
  assets.sort((a, b) => b.value.cmp(a.value));
  return { total, assets, unpriced: unpriced.sort(), hidden: hidden.sort() };
}

/** Only the digits of a formatted amount ("MX$1,234.57" → "123457"), to compare texts across locales. */
export function digitsOf(text) {
  return String(text).replace(/[^0-9]/g, '');
}

/**
 * The cross-exchange rule, written again from its description (not from the Rust code): books
 * from every exchange form one graph, `{ book, base, quote, last, volume }` with Cartera's codes.
 * An asset's price follows the fewest books (at most 4) to `quote`; among routes of the same
 * length, the one whose thinnest book traded the most in `quote` over 24 h wins, then the
 * alphabetically first list of books. Returns Map(asset → { price: Q, route: [book] }).
 */
export function pricesAcross(books, quote, maxHops = 4) {
  const seen = new Set();
  const edges = []; // { from, to, book, rate: Q, volumeInTo: Q }
  for (const b of books) {
    if (b.base === b.quote || seen.has(b.book)) continue;
    const last = Q.parse(b.last);
    if (last.isZero() || last.n < 0n) continue;
    seen.add(b.book);
    const volume = Q.parse(b.volume ?? '0');
    edges.push({ from: b.base, to: b.quote, book: b.book, rate: last, volumeInTo: volume.mul(last) });
    edges.push({ from: b.quote, to: b.base, book: b.book, rate: last.inv(), volumeInTo: volume });
  }
  const routes = new Map([[quote, { price: new Q(1n), route: [], liquidity: null }]]);
  let wave = [quote];
  for (let hop = 0; hop < maxHops && wave.length; hop++) {
    const candidates = new Map();
    for (const target of wave) {
      const down = routes.get(target);
      for (const e of edges) {
        if (e.to !== target || routes.has(e.from)) continue;
        const here = e.volumeInTo.mul(down.price);
        const liquidity = down.liquidity === null || here.cmp(down.liquidity) < 0 ? here : down.liquidity;
        const candidate = { price: e.rate.mul(down.price), route: [e.book, ...down.route], liquidity };
        const current = candidates.get(e.from);
        const better = !current
          || candidate.liquidity.cmp(current.liquidity) > 0
          || (candidate.liquidity.cmp(current.liquidity) === 0 && compareRoutes(candidate.route, current.route) < 0);
        if (better) candidates.set(e.from, candidate);
      }
    }
    for (const [asset, route] of candidates) routes.set(asset, route);
    wave = [...candidates.keys()];
  }
  return routes;
}

function compareRoutes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * What accounts on several exchanges are worth in `quote`: `holdings` is a list of
 * `{ asset: decimalString }` (one per account, as each mock's `expectedHoldings` gives them).
 * { total: Q, assets: [{ asset, amount, price, value, route }], unpriced: [asset] }, where an
 * asset's value is the sum of each account's amount × price.
 */
export function expectedAcross(holdings, books, quote) {
  const prices = pricesAcross(books, quote);
  const amounts = new Map();
  for (const account of holdings) {
    for (const [asset, amount] of Object.entries(account)) {
      const q = Q.parse(amount);
      if (q.isZero()) continue;
      amounts.set(asset, (amounts.get(asset) ?? new Q(0n)).add(q));
    }
  }
  let total = new Q(0n);
  const assets = [];
  const unpriced = [];
  for (const [asset, amount] of amounts) {
    if (amount.isZero()) continue;
    const p = prices.get(asset);
    if (!p) {
      unpriced.push(asset);
      continue;
    }
    const value = amount.mul(p.price);
    total = total.add(value);
    assets.push({ asset, amount, price: p.price, value, route: p.route });
  }
  assets.sort((a, b) => b.value.cmp(a.value) || (a.asset < b.asset ? -1 : 1));
  return { total, assets, unpriced: unpriced.sort() };
}
