// Prices at scale: every exchange's public ticker list, at the size the exchanges really send it
// (Binance's 24-hour list alone about 2,000 symbols and 1 MB of JSON), parsed by each adapter's
// own price flow, and one account per exchange valued in mxn against all of it. Wasm in Node
// (the bench build's benchPrices) and natively (bench/prices.rs, a release binary), on the same
// canned answers; both must come to the same total, and it must agree with the independent
// BigInt valuation the end-to-end tests use (tests/e2e/expected.mjs).


import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expectedAcross, Q } from '../tests/e2e/expected.mjs';
import { ACCOUNT_A, TICKERS } from '../tests/e2e/fixtures.mjs';
import { sampleAccounts, STAND_INS } from '../tests/e2e/exchanges.mjs';
import * as binance from '../tests/e2e/mocks/binance.mjs';
import * as bitfinex from '../tests/e2e/mocks/bitfinex.mjs';
import * as coinbase from '../tests/e2e/mocks/coinbase.mjs';
import * as kraken from '../tests/e2e/mocks/kraken.mjs';
import * as okx from '../tests/e2e/mocks/okx.mjs';
import * as bybit from '../tests/e2e/mocks/bybit.mjs';
import * as kucoin from '../tests/e2e/mocks/kucoin.mjs';
import * as mercadobitcoin from '../tests/e2e/mocks/mercadobitcoin.mjs';
import { log, stats } from './lib.mjs';
import { rng } from './valuation.mjs';

/** Rows in each public answer (Kraken: pairs, in AssetPairs and in Ticker alike). */
export const SHAPE = { bitso: 60, kraken: 700, binance: 2000, bitfinex: 300, coinbase: 700, okx: 700, bybit: 650, kucoin: 1200, mercadobitcoin: 300 };
export const QUOTE = 'mxn';

/** The URL each adapter's price flow asks for, in order (src/exchange/*.rs, `prices()`). */
export const PRICE_URLS = {
  bitso: ['https://api.bitso.com/v3/ticker/'],
  kraken: ['https://api.kraken.com/0/public/AssetPairs', 'https://api.kraken.com/0/public/Ticker'],
  binance: ['https://api.binance.com/api/v3/ticker/24hr'],
  bitfinex: ['https://api-pub.bitfinex.com/v2/tickers?symbols=ALL'],
  coinbase: ['https://api.coinbase.com/api/v3/brokerage/market/products?product_type=SPOT'],
  okx: ['https://www.okx.com/api/v5/market/tickers?instType=SPOT'],
  bybit: ['https://api.bybit.com/v5/market/tickers?category=spot'],
  kucoin: ['https://api.kucoin.com/api/v1/market/allTickers'],
  // The tickers request names every market of the symbols answer: its query is the list drawn at
  // scale (AT_SCALE.mercadobitcoin.urls).
  mercadobitcoin: ['https://api.mercadobitcoin.net/api/v4/symbols', 'https://api.mercadobitcoin.net/api/v4/tickers'],
};

/** A fixed clock for the bodies that carry times (Binance's openTime/closeTime). */
const NOW_MS = 1_764_000_000_000;

// What one unit of each quote currency is worth in US dollars, for turning an asset's dollar price
// into its price in that quote.
const USD_VALUE = {
  usd: 1, usdt: 1.0002, usdc: 0.9999, fdusd: 0.9985, busd: 1, eur: 1.0842, gbp: 1.2701, chf: 1.1241,
  cad: 0.7168, aud: 0.6512, jpy: 0.006667, try: 0.02897, brl: 0.17206, mxn: 0.05426, ars: 0.000847, cop: 0.000241,
  btc: 98150, eth: 3550, bnb: 655.4,
};

// Which quotes each exchange lists a coin against, with the chance it does (every coin has the
// first one). Exchange spellings: Kraken's XBT is btc; Bitfinex's UST is usdt.
const QUOTES = {
  binance: [['USDT', 'usdt', 0.97], ['BTC', 'btc', 0.45], ['USDC', 'usdc', 0.35], ['TRY', 'try', 0.3], ['FDUSD', 'fdusd', 0.25],
    ['BNB', 'bnb', 0.15], ['EUR', 'eur', 0.1], ['ETH', 'eth', 0.1], ['BRL', 'brl', 0.06], ['JPY', 'jpy', 0.04], ['MXN', 'mxn', 0.01]],
  // [pair-id suffix, AssetPairs quote id, wsname quote, Cartera code, chance]
  kraken: [['USD', 'ZUSD', 'USD', 'usd', 1], ['EUR', 'ZEUR', 'EUR', 'eur', 0.75], ['USDT', 'USDT', 'USDT', 'usdt', 0.15],
    ['USDC', 'USDC', 'USDC', 'usdc', 0.12], ['XBT', 'XXBT', 'XBT', 'btc', 0.12], ['GBP', 'ZGBP', 'GBP', 'gbp', 0.08],
    ['ETH', 'XETH', 'ETH', 'eth', 0.05], ['CAD', 'ZCAD', 'CAD', 'cad', 0.03], ['AUD', 'ZAUD', 'AUD', 'aud', 0.03],
    ['JPY', 'ZJPY', 'JPY', 'jpy', 0.02], ['CHF', 'CHF', 'CHF', 'chf', 0.02]],
  bitfinex: [['USD', 'usd', 1], ['UST', 'usdt', 0.35], ['BTC', 'btc', 0.2], ['EUR', 'eur', 0.12], ['GBP', 'gbp', 0.05],
    ['JPY', 'jpy', 0.04], ['ETH', 'eth', 0.03]],
  coinbase: [['USD', 'usd', 1], ['EUR', 'eur', 0.25], ['USDT', 'usdt', 0.15], ['BTC', 'btc', 0.15], ['GBP', 'gbp', 0.12],
    ['ETH', 'eth', 0.04]],
  kucoin: [['USDT', 'usdt', 1], ['BTC', 'btc', 0.3], ['USDC', 'usdc', 0.15], ['ETH', 'eth', 0.08], ['EUR', 'eur', 0.02], ['BRL', 'brl', 0.01]],
  bitso: [['mxn', 'mxn', 1], ['usd', 'usd', 0.35], ['usdt', 'usdt', 0.2], ['brl', 'brl', 0.1], ['ars', 'ars', 0.05], ['cop', 'cop', 0.05]],
  okx: [['USDT', 'usdt', 1], ['USDC', 'usdc', 0.3], ['BTC', 'btc', 0.15], ['ETH', 'eth', 0.08], ['EUR', 'eur', 0.05],
    ['TRY', 'try', 0.03], ['BRL', 'brl', 0.02]],
  // Only quotes the adapter splits symbols at (src/exchange/bybit.rs QUOTE_ASSETS).
  bybit: [['USDT', 'usdt', 1], ['USDC', 'usdc', 0.25], ['BTC', 'btc', 0.08], ['ETH', 'eth', 0.05], ['EUR', 'eur', 0.05],
    ['BRL', 'brl', 0.03], ['TRY', 'try', 0.03]],
  // Mercado Bitcoin lists nearly everything against the real, a few coins against USDT too.
  mercadobitcoin: [['BRL', 'brl', 1], ['USDT', 'usdt', 0.05]],
};

// Exchange ids that the adapters rename (Bitfinex's three-letter ids, Kraken's X/Z codes, Binance's
// and Coinbase's aliases), fiat, and paper-trading prefixes: a made-up coin never takes one, so it
// keeps one code on every exchange.
const RESERVED = `UST UDC TSD DSH IOT EUT ALG AMP ATO DAT MNA QTM STJ XCH WAX TERRAUST LUNA LUNA2 XBT BCHN EUS IDX IQX QSH RBT
  SNG VSY YYW ZBT XXBT XXDG XDG XETH XETC XLTC XMLN XREP XXLM XXMR XXRP XZEC ETH2 KFEE FEE ATOM21 DOT28 FLOW14 FLOWH GRT28
  KAVA21 KSM07 MATIC04 SCRT21 SOL03 CGLD YOYO BCHSV BCC TEST XYZ REP REPV2 USD EUR GBP JPY CAD AUD CHF MXN BRL ARS COP TRY
  NGN UAH PLN RON ZAR IDR CZK RUB DKK SEK GEL GHS LKR UGX VND XOF CLP`.split(/\s+/);

/** `x` as a plain decimal string: `digits` significant digits, at most `maxPlaces` decimals. */
function plain(x, digits = 6, maxPlaces = 10) {
  const places = Math.min(maxPlaces, Math.max(0, digits - 1 - Math.floor(Math.log10(x))));
  return x.toFixed(places);
}

const isZero = (text) => !/[1-9]/.test(text);

/**
 * Made-up coins, most traded first: `{ code, usd, turnover }` (dollar price; dollars traded in
 * 24 h), with pronounceable codes of 3–5 letters that clash with no real one used here.
 */
function coins(next, count, taken) {
  const consonants = 'BCDFGHKLMNPRSTVZ';
  const vowels = 'AEIOU';
  const seen = new Set([...RESERVED, ...[...taken].map((code) => code.toUpperCase())]);
  const list = [];
  while (list.length < count) {
    const length = 3 + next(3);
    const vowelFirst = next(4) === 0;
    let code = '';
    for (let i = 0; i < length; i++) {
      code += (i % 2 === 0) !== vowelFirst ? consonants[next(consonants.length)] : vowels[next(vowels.length)];
    }
    if (seen.has(code)) continue;
    seen.add(code);
    // Dollar prices from 0.00001 to 10,000; turnover from $1,000 to $100 M a day, falling with rank.
    const usd = 10 ** ((next(1_000_000) / 1_000_000) * 9 - 5);
    const turnover = 10 ** (3 + (next(1_000_000) / 1_000_000) * 5) * (1 + 20 * (1 - list.length / count));
    list.push({ code, usd, turnover });
  }
  return list;
}

/**
 * The markets an exchange lists for the made-up coins: walks `universe` from the most traded,
 * keeping a coin with chance `keep`, and each of its quotes with that quote's chance, until
 * `wanted` markets. Every market: `{ coin, quote (the exchange's spelling row), price (in the
 * quote), volume (base units, 24 h), change (fraction over 24 h) }`.
 */
function pickMarkets(next, universe, quotes, { wanted, keep }) {
  const markets = [];
  const chance = (p) => next(1_000_000) < p * 1_000_000;
  for (const coin of universe) {
    if (markets.length >= wanted) break;
    if (!chance(keep)) continue;
    quotes.forEach((quote, i) => {
      if (markets.length >= wanted || (i > 0 && !chance(quote.at(-1)))) return;
      const code = quote.at(-2);
      const noise = 1 + (next(601) - 300) / 100_000; // each exchange's price differs by up to 0.3 %
      const price = (coin.usd / USD_VALUE[code]) * noise;
      const volume = ((coin.turnover / coin.usd) * (1 + next(1000))) / 1000;
      const change = (next(3001) - 1500) / 10_000; // ±15 %
      markets.push({ coin, quote, price, volume, change });
    });
  }
  return markets;
}

/** What `mock` answers to a GET of `url`, as the adapter would receive it. */
function answer(exchange, mock, url) {
  const { host, pathname, search } = new URL(url);
  const response = mock.handle({ method: 'GET', path: `${pathname}${search}`, host, headers: {}, body: '' });
  if (response.status !== 200 || typeof response.body !== 'string') {
    throw new Error(`${exchange} mock answered ${response.status} to ${url}`);
  }
  return { exchange, url, status: response.status, body: response.body };
}

// ---------------------------------------------------------------------------------- exchanges

function binanceMarkets(next, universe) {
  const delisted = Math.round(SHAPE.binance * 0.12);
  const wanted = SHAPE.binance - binance.SAMPLE_MARKETS.length - delisted;
  const rows = [];
  const symbols = new Set(binance.SAMPLE_MARKETS.map(([symbol]) => symbol));
  for (const m of pickMarkets(next, universe, QUOTES.binance, { wanted: wanted * 2, keep: 0.9 })) {
    if (rows.length === wanted) break;
    const last = m.price.toFixed(8);
    const [quote] = m.quote;
    // Binance lists no market whose price rounds to nothing.
    if (isZero(last) || symbols.has(`${m.coin.code}${quote}`)) continue;
    symbols.add(`${m.coin.code}${quote}`);
    rows.push([`${m.coin.code}${quote}`, m.coin.code, quote, last, m.volume.toFixed(8), (m.price * m.change).toFixed(8)]);
  }
  // Symbols Binance stopped trading (its BUSD markets) stay in the list with zero figures.
  for (let i = 0; rows.length < wanted + delisted; i++) {
    const code = universe[i * 3].code;
    rows.push([`${code}BUSD`, code, 'BUSD', '0.00000000', '0.00000000', '0.00000000']);
  }
  return [...binance.SAMPLE_MARKETS, ...rows];
}

function krakenRows(next, universe) {
  const wanted = SHAPE.kraken - Object.keys(kraken.SAMPLE_MARKETS.pairs).length;
  const rows = [];
  const ids = new Set(Object.keys(kraken.SAMPLE_MARKETS.pairs));
  for (const m of pickMarkets(next, universe, QUOTES.kraken, { wanted: wanted * 2, keep: 0.6 })) {
    if (rows.length === wanted) break;
    const [suffix, quoteId, wsQuote] = m.quote;
    const id = `${m.coin.code}${suffix}`;
    const last = plain(m.price, 6, 10);
    if (ids.has(id) || isZero(last)) continue;
    ids.add(id);
    rows.push([id, id, `${m.coin.code}/${wsQuote}`, m.coin.code, quoteId, last, m.volume.toFixed(8), plain(m.price / (1 + m.change), 6, 10)]);
  }
  return rows;
}

function krakenMarkets(next, universe) {
  const extra = kraken.marketsFrom(krakenRows(next, universe));
  return {
    pairs: { ...kraken.SAMPLE_MARKETS.pairs, ...extra.pairs },
    tickers: { ...kraken.SAMPLE_MARKETS.tickers, ...extra.tickers },
  };
}

/** A JSON number as Bitfinex sends it: a few significant digits, exponent form when tiny. */
const bfx = (x, digits = 5) => Number(x.toPrecision(digits));

function bitfinexMarkets(next, universe) {
  const rows = [...bitfinex.SAMPLE_MARKETS];
  // Funding tickers (17 fields) for the currencies people lend, and perpetuals (…F0), which the
  // adapter skips, as in the real list.
  const funding = ['USD', 'UST', 'BTC', 'ETH', 'EUR', 'GBP', 'JPY', 'LTC', 'XRP', 'DOT', 'SOL', 'ADA', 'DOGE', 'TRX', 'EOS',
    ...universe.slice(0, 25).map((coin) => coin.code)];
  for (const currency of funding) {
    const rate = bfx(0.0001 + next(1000) / 10_000_000);
    rows.push([`f${currency}`, rate, rate, 30, bfx(1000 + next(100_000)), rate, 2, bfx(100 + next(10_000)), bfx(rate / 50),
      bfx((next(200) - 100) / 1000), rate, bfx(100_000 + next(10_000_000), 9), bfx(rate * 1.2), bfx(rate * 0.8), null, null, bfx(next(10_000_000), 9)]);
  }
  for (const [i, coin] of universe.slice(0, 12).entries()) {
    const price = bfx(coin.usd);
    rows.push([`t${coin.code}F0:USTF0`, price, 10 + i, price, 9 + i, 0, 0, price, bfx(coin.turnover / coin.usd, 9), price, price]);
  }
  const wanted = SHAPE.bitfinex - rows.length;
  const symbols = new Set(rows.map((row) => row[0]));
  for (const m of pickMarkets(next, universe, QUOTES.bitfinex, { wanted: wanted * 2, keep: 0.4 })) {
    if (rows.length === SHAPE.bitfinex) break;
    const [quote] = m.quote;
    const symbol = m.coin.code.length === 3 ? `t${m.coin.code}${quote}` : `t${m.coin.code}:${quote}`;
    const last = bfx(m.price);
    if (symbols.has(symbol) || !(last > 0)) continue;
    symbols.add(symbol);
    const change = bfx(last * m.change);
    rows.push([symbol, bfx(last * 0.9995), bfx(m.volume / 400, 9), bfx(last * 1.0005), bfx(m.volume / 450, 9), change,
      bfx(m.change, 4), last, bfx(m.volume, 12), bfx(last * 1.04), bfx(last * 0.96)]);
  }
  return rows;
}

function coinbaseMarkets(next, universe) {
  const products = [...coinbase.SAMPLE_MARKETS];
  const wanted = SHAPE.coinbase - products.length;
  const ids = new Set(products.map((p) => p.product_id));
  const added = [];
  for (const m of pickMarkets(next, universe, QUOTES.coinbase, { wanted: wanted * 2, keep: 0.6 })) {
    if (added.length >= wanted) break;
    const [quote] = m.quote;
    const id = `${m.coin.code}-${quote}`;
    const price = plain(m.price, 6, 10);
    if (ids.has(id) || isZero(price)) continue;
    ids.add(id);
    // Now and then a market that is disabled, view-only or delisted, as the real list has.
    const state = next(100);
    const extra = state === 0 ? { trading_disabled: true } : state === 1 ? { view_only: true } : state === 2 ? { status: 'delisted', is_disabled: true } : {};
    // Since Coinbase merged its USD and USDC books, most USD markets have a USDC alias.
    const alias = quote === 'USD' && next(10) < 6 && added.length + 1 < wanted;
    if (alias) extra.alias_to = [`${m.coin.code}-USDC`];
    const percent = next(20) === 0 ? '' : String((m.change * 100 * (1 + next(1000) / 1_000_000)).toFixed(next(2) ? 16 : 4));
    added.push(coinbase.product(id, m.coin.code, quote, price, percent, plain(m.volume, 12, 8), extra));
    if (alias) {
      added.push(coinbase.product(`${m.coin.code}-USDC`, m.coin.code, 'USDC', price, percent, plain(m.volume, 12, 8),
        { alias: id, quote_display_symbol: 'USD' }));
    }
  }
  return [...products, ...added];
}

function bitsoTickers(next, universe) {
  const tickers = [...TICKERS];
  const books = new Set(tickers.map((t) => t.book));
  for (const m of pickMarkets(next, universe, QUOTES.bitso, { wanted: SHAPE.bitso * 2, keep: 0.5 })) {
    if (tickers.length === SHAPE.bitso) break;
    const [quote] = m.quote;
    const book = `${m.coin.code.toLowerCase()}_${quote}`;
    const last = plain(m.price, 6, 8);
    if (books.has(book) || isZero(last)) continue;
    books.add(book);
    // The fixtures' rows give the shape; only the figures differ.
    tickers.push({ ...TICKERS[0], book, last, high: last, low: last, vwap: last, ask: last, bid: last,
      volume: m.volume.toFixed(8), change_24: `${m.change < 0 ? '-' : ''}${plain(Math.abs(m.price * m.change), 4, 8)}` });
  }
  return tickers;
}

function okxTickers(next, universe) {
  const tickers = [...okx.SAMPLE_MARKETS];
  const ids = new Set(tickers.map((t) => t.instId));
  for (const m of pickMarkets(next, universe, QUOTES.okx, { wanted: SHAPE.okx * 2, keep: 0.6 })) {
    if (tickers.length === SHAPE.okx) break;
    const [quote] = m.quote;
    const instId = `${m.coin.code}-${quote}`;
    const last = plain(m.price, 6, 10);
    if (ids.has(instId) || isZero(last)) continue;
    ids.add(instId);
    const open = plain(m.price / (1 + m.change), 6, 10);
    // The sample rows give the shape; only the figures differ.
    tickers.push({ ...okx.SAMPLE_MARKETS[0], instId, last, askPx: last, bidPx: last, open24h: open, high24h: last, low24h: last,
      vol24h: plain(m.volume, 12, 8), volCcy24h: plain(m.volume * m.price, 12, 8), sodUtc0: open, sodUtc8: open });
  }
  return tickers;
}

function bybitMarkets(next, universe) {
  const rows = [...bybit.SAMPLE_MARKETS];
  const symbols = new Set(rows.map(([symbol]) => symbol));
  for (const m of pickMarkets(next, universe, QUOTES.bybit, { wanted: SHAPE.bybit * 2, keep: 0.55 })) {
    if (rows.length === SHAPE.bybit) break;
    const [quote] = m.quote;
    const symbol = `${m.coin.code}${quote}`;
    const last = plain(m.price, 6, 10);
    if (symbols.has(symbol) || isZero(last)) continue;
    symbols.add(symbol);
    rows.push([symbol, m.coin.code, quote, last, plain(m.volume, 12, 8), plain(m.price / (1 + m.change), 6, 10)]);
  }
  return rows;
}

// KuCoin's all-tickers list: its sample markets, then made-up ones (now and then one with no last
// price, as a delisted market has, which the adapter skips).
function kucoinMarkets(next, universe) {
  const rows = [...kucoin.SAMPLE_MARKETS];
  const symbols = new Set(rows.map((row) => row.symbol));
  for (const m of pickMarkets(next, universe, QUOTES.kucoin, { wanted: SHAPE.kucoin * 2, keep: 0.7 })) {
    if (rows.length === SHAPE.kucoin) break;
    const [quote] = m.quote;
    const symbol = `${m.coin.code}-${quote}`;
    const last = plain(m.price, 6, 10);
    if (symbols.has(symbol) || isZero(last)) continue;
    symbols.add(symbol);
    const delisted = next(200) === 0;
    rows.push({ symbol, symbolName: symbol, buy: last, sell: last, bestBidSize: '1', bestAskSize: '1', changeRate: m.change.toFixed(4),
      changePrice: delisted ? null : `${m.change < 0 ? '-' : ''}${plain(Math.abs(m.price * m.change), 4, 10)}`, high: last, low: last,
      vol: delisted ? '0' : plain(m.volume, 12, 8), volValue: '0', last: delisted ? null : last, averagePrice: last,
      takerFeeRate: '0.001', makerFeeRate: '0.001', takerCoefficient: '1', makerCoefficient: '1' });
  }
  return rows;
}

function mercadoBitcoinMarkets(next, universe) {
  const rows = [...mercadobitcoin.SAMPLE_MARKETS];
  const pairs = new Set(rows.map((row) => row.pair));
  for (const m of pickMarkets(next, universe, QUOTES.mercadobitcoin, { wanted: SHAPE.mercadobitcoin * 2, keep: 0.5 })) {
    if (rows.length === SHAPE.mercadobitcoin) break;
    const [quote] = m.quote;
    const pair = `${m.coin.code}-${quote}`;
    const last = plain(m.price, 6, 8);
    if (pairs.has(pair) || isZero(last)) continue;
    pairs.add(pair);
    // The sample rows give the shape; only the figures differ.
    rows.push({ ...mercadobitcoin.SAMPLE_MARKETS[0], pair, last, high: last, low: last, buy: last, sell: last,
      open: plain(m.price / (1 + m.change), 6, 8), vol: plain(m.volume, 12, 8) });
  }
  return rows;
}

/**
 * Each exchange's answers at scale: `markets(next, universe)` draws its list (in this order, from
 * one seeded generator, so the bodies stay the same from run to run), `create(list)` its stand-in
 * serving them, `count(list)` its rows, and `urls(list)` the URLs its price flow asks for where
 * they name the markets (else PRICE_URLS).
 */
export const AT_SCALE = {
  binance: { markets: binanceMarkets, create: (markets) => binance.createBinance({ markets, now: () => NOW_MS }), count: (list) => list.length },
  kraken: { markets: krakenMarkets, create: (markets) => kraken.createKraken({ markets }), count: (list) => Object.keys(list.pairs).length },
  bitfinex: { markets: bitfinexMarkets, create: (markets) => bitfinex.createBitfinex({ markets }), count: (list) => list.length },
  coinbase: { markets: coinbaseMarkets, create: (markets) => coinbase.createCoinbase({ markets, now: () => NOW_MS }), count: (list) => list.length },
  bitso: { markets: bitsoTickers, create: (tickers) => STAND_INS.bitso.create({ tickers }), count: (list) => list.length },
  okx: { markets: okxTickers, create: (markets) => okx.createOkx({ markets }), count: (list) => list.length },
  bybit: { markets: bybitMarkets, create: (markets) => bybit.createBybit({ markets }), count: (list) => list.length },
  kucoin: { markets: kucoinMarkets, create: (markets) => kucoin.createKucoin({ markets }), count: (list) => list.length },
  mercadobitcoin: {
    markets: mercadoBitcoinMarkets,
    create: (markets) => mercadobitcoin.createMercadoBitcoin({ markets }),
    count: (list) => list.length,
    urls: (list) => [PRICE_URLS.mercadobitcoin[0], `${PRICE_URLS.mercadobitcoin[1]}?symbols=${list.map((row) => row.pair).join(',')}`],
  },
};

// ---------------------------------------------------------------------------------- accounts

/** Balances as `Balance` reads them, from `{ asset: total }`. */
function balancesOf(holdings) {
  return Object.entries(holdings).map(([currency, total]) => ({ currency, total, available: total, locked: '0' }));
}

// One account per exchange, the stand-ins' samples; on Bitso the end-to-end suite's larger account.
function makeAccounts() {
  const samples = sampleAccounts().map((account) => (account.exchange === 'bitso' ? { ...ACCOUNT_A, exchange: 'bitso' } : account));
  const holdings = samples.map((account) => STAND_INS[account.exchange].holdings(account));
  const accounts = samples.map((account, at) => ({
    id: `${account.exchange}-1`,
    label: account.label,
    exchange: account.exchange,
    balances: account.exchange === 'bitso'
      ? account.balances.map(({ currency, total, available, locked }) => ({ currency, total, available, locked }))
      : balancesOf(holdings[at]),
  }));
  return { accounts, holdings };
}

// ---------------------------------------------------------------------------------- the inputs

/**
 * Every exchange's public price answers, deterministic, at the sizes of SHAPE, each built by that
 * exchange's end-to-end mock and fetched from it at the URL the adapter asks for; plus one account
 * per exchange (the sample accounts of the end-to-end tests) and, for the independent
 * valuation, every exchange's books and each account's holdings as the mocks read them.
 * { answers: [{ exchange, url, status, body }], bytes: { exchange: n }, rows: { exchange: n },
 *   accounts, holdings, books }
 */
export function makePriceBodies() {
  const next = rng(0x9e1ce5);
  const { accounts, holdings } = makeAccounts();
  // Made-up coins keep clear of every asset the sample accounts and markets name.
  const samples = Object.values(STAND_INS).map((standIn) => standIn.create());
  const taken = new Set([
    ...accounts.flatMap((a) => a.balances.map((b) => b.currency)),
    ...samples.flatMap((mock) => mock.books()).flatMap((book) => [book.base, book.quote]),
  ]);
  const universe = coins(next, 1200, taken);

  const lists = Object.fromEntries(Object.entries(AT_SCALE).map(([id, { markets }]) => [id, markets(next, universe)]));
  const ids = Object.keys(PRICE_URLS);
  const mocks = Object.fromEntries(ids.map((id) => [id, AT_SCALE[id].create(lists[id])]));
  const rows = Object.fromEntries(ids.map((id) => [id, AT_SCALE[id].count(lists[id])]));

  // Binance's mock stamps openTime/closeTime with its clock: fixed here, so the bodies are too.
  const realNow = Date.now;
  Date.now = () => NOW_MS;
  let answers;
  try {
    // An exchange whose requests name the markets (`urls`) asks for exactly those.
    const urlsOf = (id) => AT_SCALE[id].urls?.(lists[id]) ?? PRICE_URLS[id];
    answers = ids.flatMap((exchange) => urlsOf(exchange).map((url) => answer(exchange, mocks[exchange], url)));
  } finally {
    Date.now = realNow;
  }
  const bytes = {};
  for (const a of answers) bytes[a.exchange] = (bytes[a.exchange] ?? 0) + Buffer.byteLength(a.body);
  const books = Object.values(mocks).flatMap((mock) => mock.books());
  return { answers, bytes, rows, accounts, holdings, books };
}

/** The canned-answers text src/bench_support.rs reads: a JSON header line, then the bodies. */
export function cannedText(answers) {
  const header = { answers: answers.map(({ exchange, url, status, body }) => ({ exchange, url, status, bytes: Buffer.byteLength(body) })) };
  return `${JSON.stringify(header)}\n${answers.map((a) => a.body).join('')}`;
}

// ---------------------------------------------------------------------------------- the figure

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/** |a − b| ≤ 1e-12 on exact decimal strings / fractions. */
function close(a, b) {
  const diff = Q.parse(a).add(new Q(-b.n, b.d));
  return new Q(diff.n < 0n ? -diff.n : diff.n, diff.d).cmp(new Q(1n, 10n ** 12n)) <= 0;
}

function runNative(bin, cannedPath, accountsPath, iterations, runs) {
  const out = execFileSync(bin, [cannedPath, accountsPath, QUOTE, String(iterations), String(runs)], { encoding: 'utf8' });
  return JSON.parse(out.trim());
}

/**
 * Times the figure: wasm inside (benchPrices looping the work `iterations` times, less the cost of
 * a call that does none), wasm from JS (one whole call: the canned text and the accounts handed
 * over, parsed, valued, summary back), natively (bench/prices.rs; also the opt-level 3 build when
 * `nativeO3Bin` is given). Checks every build's total against the others and the independent
 * valuation, and that every held asset with a market was priced.
 */
export function benchPrices(core, { nativeBin, nativeO3Bin = null, workDir, runs = 7, iterations = 10, calls = 3 }) {
  const made = makePriceBodies();
  const canned = cannedText(made.answers);
  const accountsJson = JSON.stringify(made.accounts);
  const cannedPath = join(workDir, 'prices-canned.txt');
  const accountsPath = join(workDir, 'prices-accounts.json');
  writeFileSync(cannedPath, canned);
  writeFileSync(accountsPath, accountsJson);

  const native = runNative(nativeBin, cannedPath, accountsPath, iterations, runs);
  const nativeO3 = nativeO3Bin ? runNative(nativeO3Bin, cannedPath, accountsPath, iterations, runs) : null;

  // Warm-up: memory grown, code compiled by V8's optimising tier.
  core.benchPrices(canned, accountsJson, QUOTE, iterations);
  const repeat = [];
  const empty = [];
  const whole = [];
  let summary = null;
  for (let r = 0; r < runs; r++) {
    let start = process.hrtime.bigint();
    core.benchPrices(canned, accountsJson, QUOTE, iterations);
    repeat.push(ms(start));
    start = process.hrtime.bigint();
    core.benchPrices(canned, accountsJson, QUOTE, 0);
    empty.push(ms(start));
    start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) summary = core.benchPrices(canned, accountsJson, QUOTE, 1);
    whole.push(ms(start) / calls);
  }
  summary = JSON.parse(summary);
  const callMs = stats(empty).median;

  // Checks: one total everywhere, and the independent valuation's.
  const expected = expectedAcross(made.holdings, made.books, QUOTE);
  const withMarket = new Set(made.books.flatMap((b) => [b.base, b.quote]));
  const held = [...new Set(made.holdings.flatMap((h) => Object.entries(h).filter(([, amount]) => !Q.parse(amount).isZero()).map(([asset]) => asset)))];
  const notPriced = held.filter((asset) => withMarket.has(asset) && !summary.priced.includes(asset));
  const checks = {
    positive: /^\d+(\.\d+)?$/.test(summary.total) && /[1-9]/.test(summary.total),
    nativeMatchesWasm: native.summary.total === summary.total && (!nativeO3 || nativeO3.summary.total === summary.total),
    sameTickers: native.summary.tickers === summary.tickers,
    matchesIndependent: close(summary.total, expected.total),
    assets: [...summary.priced].sort().join() === expected.assets.map((a) => a.asset).sort().join()
      && [...summary.unpriced].sort().join() === expected.unpriced.join(),
    everyMarketPriced: notPriced.length === 0,
  };
  if (Object.values(checks).some((ok) => !ok)) {
    throw new Error(`prices at scale: results disagree: ${JSON.stringify({
      checks, notPriced, wasm: summary.total, native: native.summary.total, nativeO3: nativeO3?.summary.total,
      expected: expected.total.toFixed(18), priced: summary.priced, expectedPriced: expected.assets.map((a) => a.asset),
      unpriced: summary.unpriced, expectedUnpriced: expected.unpriced,
    })}`);
  }

  const result = {
    wasmInside: stats(repeat.map((total) => Math.max(0, total - callMs) / iterations)),
    wasmFromJs: stats(whole),
    wasmCall: stats(empty),
    native: stats(native.core_ns.map((ns) => ns / 1e6)),
    nativePipeline: stats(native.pipeline_ns.map((ns) => ns / 1e6)),
    nativeO3: nativeO3 ? stats(nativeO3.core_ns.map((ns) => ns / 1e6)) : null,
    nativeO3Pipeline: nativeO3 ? stats(nativeO3.pipeline_ns.map((ns) => ns / 1e6)) : null,
    bytes: made.bytes,
    totalBytes: Object.values(made.bytes).reduce((a, b) => a + b, 0),
    requests: made.answers.length,
    rows: Object.values(made.rows).reduce((a, b) => a + b, 0),
    rowsByExchange: made.rows,
    tickers: summary.tickers,
    byExchange: summary.byExchange,
    accounts: made.accounts.length,
    priced: summary.priced.length,
    unpriced: summary.unpriced,
    total: summary.total,
    runs,
    iterations,
  };
  log(`prices at scale: wasm whole call ${result.wasmFromJs.median.toFixed(2)} ms, inside wasm ${result.wasmInside.median.toFixed(2)} ms, native ${result.native.median.toFixed(2)} ms${result.nativeO3 ? ` (opt-level 3: ${result.nativeO3.median.toFixed(2)} ms)` : ''}`);
  return result;
}
