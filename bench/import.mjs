// Row 14: the first import of an account's transaction history on each exchange, and the sync a
// day later. One two-year account (20 traded symbols, 500 fills, 50 transfers in and out, and
// the monthly deposits that fund the trading) is written in each exchange's own row shapes and
// served by that exchange's stand-in (tests/e2e/mocks), which checks every signature, window and
// page as the exchange does. The bench wasm's `BenchHistoryImport` reads it page by page through
// the refresh engine, exactly as the background does, over a simulated network: every request
// takes ROUND_TRIP_MS, the stand-in reads it halfway, and each page's pacing (`waitMs`) is waited
// on the same clock. Each page is stored as the background stores it (`mergeHistoryPage` into
// `tx:<account>:<YYYY-MM>` chunks), and the stored transactions are checked against the account:
// their count, their kinds and every asset's net movement, exactly. Then three fills arrive and
// the next day's sync reads what is new.
//
// Limits: the Kraken and Bitfinex stand-ins enforce their exchange's limits themselves (Kraken's
// call counter at the slowest tier, Bitfinex's 90 requests a minute per endpoint) on the
// simulated clock; for every exchange the peak use of each documented limit is worked out here
// from the requests' times. An answer that says "rate limited" fails the figure.

import { createHash } from 'node:crypto';

import { ACCOUNT_A } from '../tests/e2e/fixtures.mjs';
import * as binanceMock from '../tests/e2e/mocks/binance.mjs';
import * as bitfinexMock from '../tests/e2e/mocks/bitfinex.mjs';
import * as bybitMock from '../tests/e2e/mocks/bybit.mjs';
import { createBitso } from '../tests/e2e/mocks/bitso.mjs';
import * as coinbaseMock from '../tests/e2e/mocks/coinbase.mjs';
import * as krakenMock from '../tests/e2e/mocks/kraken.mjs';
import * as kucoinMock from '../tests/e2e/mocks/kucoin.mjs';
import * as mercadobitcoinMock from '../tests/e2e/mocks/mercadobitcoin.mjs';
import * as okxMock from '../tests/e2e/mocks/okx.mjs';
import { log } from './lib.mjs';

/** What one request costs on the simulated network. */
export const ROUND_TRIP_MS = 200;
const DAY = 86_400_000;
const HOUR = 3_600_000;
/** When the account is added (simulated): 2026-11-24T09:00:00Z. The history ends here. */
const ADDED_AT = Date.UTC(2026, 10, 24, 9);
const FIRST = ADDED_AT - 730 * DAY;
/** The sync that reads what is new, after the import is caught up. */
const SYNC_AFTER_MS = DAY;
const ACCOUNT_ID = 'bench-acct';
/** More pages than any import of this account needs: a flow that never catches up is stopped. */
const MAX_PAGES = 2_000;

export const SHAPE = { symbols: 20, fills: 500, transfers: 50, fundings: 24, newFills: 3 };
const ASSETS = ['sol', 'ada', 'dot', 'link', 'avax', 'uni', 'aave', 'near', 'grt', 'fil', 'crv', 'comp', 'snx', 'bat', 'xtz', 'icp', 'ape', 'ldo', 'arb', 'op'];

// ------------------------------------------------------------------------------ exact amounts

/** Amounts are BigInt units of 10^-10. */
const SCALE = 10;
const UNIT = 10n ** BigInt(SCALE);

/** `units` as a decimal with `places` decimals (which must hold it exactly). */
function fmt(units, places) {
  const step = 10n ** BigInt(SCALE - places);
  if (units % step !== 0n) throw new Error(`${units} does not fit ${places} decimals`);
  const negative = units < 0n;
  const digits = ((negative ? -units : units) / step).toString().padStart(places + 1, '0');
  const text = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return negative ? `-${text}` : text;
}

/** A decimal string (at most SCALE decimals) as units. */
function units(text) {
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(String(text));
  if (!m || (m[3] ?? '').length > SCALE) throw new Error(`not an amount: ${text}`);
  const value = BigInt(m[2]) * UNIT + BigInt((m[3] ?? '').padEnd(SCALE, '0'));
  return m[1] ? -value : value;
}

/** A number for the exchanges that send JSON numbers (Bitfinex); exact for these amounts. */
const num = (units, places) => Number(fmt(units, places));

const hex = (seed) => createHash('sha256').update(seed).digest('hex');
const uuid = (seed) => {
  const h = hex(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const iso = (ms) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------- the account

/**
 * The account as events, oldest first: `{ kind: 'funding' | 'fill' | 'deposit' | 'withdrawal',
 * n, at, asset?, side?, qty, price?, quote?, fee? }` (amounts in units; the quote currency is
 * the exchange's own). Every time is a whole second, no two events share one.
 */
function events() {
  const list = [];
  for (let m = 0; m < SHAPE.fundings; m += 1) {
    list.push({ kind: 'funding', n: m, at: FIRST + m * 30 * DAY + HOUR, qty: 5_000n * UNIT });
  }
  for (let i = 0; i < SHAPE.fills; i += 1) list.push(fill(i, FIRST + 2 * DAY + Math.floor((i * 720 * DAY) / SHAPE.fills) + 2 * HOUR + (i % 7) * 60_000));
  for (let t = 0; t < SHAPE.transfers; t += 1) {
    const at = FIRST + 5 * DAY + Math.floor((t * 700 * DAY) / SHAPE.transfers) + 5 * HOUR + 17_000;
    const asset = ASSETS[(t * 3) % ASSETS.length];
    if (t % 2 === 0) list.push({ kind: 'deposit', n: t, at, asset, qty: 25n * UNIT / 10n });
    else list.push({ kind: 'withdrawal', n: t, at, asset, qty: UNIT / 2n, fee: UNIT / 100n });
  }
  return list.sort((a, b) => a.at - b.at);
}

/** Fill `i` at `at`: 1 to 25 of a symbol at 5 to 204 of the quote, 0.2 % fee to the cent. */
function fill(i, at) {
  const asset = ASSETS[i % ASSETS.length];
  const qty = BigInt(100 + ((i * 7919) % 2400)) * (UNIT / 100n);
  const price = BigInt(5 + (((i % ASSETS.length) * 37 + i * 13) % 200)) * UNIT;
  const quote = (qty * price) / UNIT;
  const cents = (quote * 2n / 1000n + UNIT / 200n) / (UNIT / 100n);
  const fee = (cents > 0n ? cents : 1n) * (UNIT / 100n);
  return { kind: 'fill', n: i, at, asset, side: i % 5 < 3 ? 'buy' : 'sell', qty, price, quote, fee };
}

/** The fills that arrive after the import, before the next day's sync. */
const newFills = (caughtUpAt) => Array.from({ length: SHAPE.newFills }, (_, k) => fill(SHAPE.fills + k, Math.ceil((caughtUpAt + (k + 1) * 4 * HOUR) / 1000) * 1000));

/**
 * What the stored transactions must hold: their count by kind and each asset's net movement. Fills
 * before `fillsSince` are past what the exchange still reports (OKX: three months) and left out.
 * `feeRate`, where the exchange takes a fill's fee as a rate of what the fill credits (Mercado
 * Bitcoin), replaces the generated fee in the quote currency.
 */
function expected(list, quote, feeRows, fillsSince = 0, feeRate = null) {
  const kinds = { trade: 0, deposit: 0, withdrawal: 0, fee: 0 };
  const net = new Map();
  const move = (asset, amount) => net.set(asset, (net.get(asset) ?? 0n) + amount);
  for (const e of list) {
    if (e.kind === 'fill' && e.at < fillsSince) continue;
    if (e.kind === 'funding') {
      kinds.deposit += 1;
      move(quote, e.qty);
    } else if (e.kind === 'deposit') {
      kinds.deposit += 1;
      move(e.asset, e.qty);
    } else if (e.kind === 'withdrawal') {
      kinds.withdrawal += 1;
      move(e.asset, -(e.qty + e.fee));
    } else if (e.kind === 'reward') {
      kinds.reward = (kinds.reward ?? 0) + 1;
      move(e.asset, e.qty);
    } else if (e.kind === 'cardBuy') {
      // Paid `spent` of fiat, its fee within it.
      kinds.trade += 1;
      move(e.asset, e.qty);
      move(e.fiat, -e.spent);
    } else {
      kinds.trade += 1;
      if (feeRows) kinds.fee += 1;
      const sign = e.side === 'buy' ? 1n : -1n;
      move(e.asset, sign * e.qty);
      move(quote, -sign * e.quote - (feeRate ? 0n : e.fee));
      if (feeRate) {
        const [asset, credited] = e.side === 'buy' ? [e.asset, e.qty] : [quote, e.quote];
        move(asset, -(credited * feeRate.per) / feeRate.of);
      }
    }
  }
  return { count: Object.values(kinds).reduce((a, b) => a + b, 0), kinds, net };
}

// ------------------------------------------------------------------- each exchange's rows

/**
 * Per exchange: the stand-in with the account, its key, the quote currency, whether a fill's fee
 * is a ledger row of its own, how new events are added to the account, and the limits its
 * documentation states (`weight(request)` of each request against `limit` per `windowMs`).
 */
const EXCHANGES = {
  bitso(list) {
    const eid = (seed) => hex(`bitso/${seed}`).slice(0, 32);
    const at = (ms) => iso(ms).replace('Z', '+00:00');
    const rows = (e) => {
      switch (e.kind) {
        case 'funding':
          return [{ eid: eid(`f${e.n}`), operation: 'funding', created_at: at(e.at), balance_updates: [{ currency: 'mxn', amount: fmt(e.qty, 2) }], details: { fid: eid(`fid${e.n}`), method: 'sp', method_name: 'SPEI Transfer' } }];
        case 'deposit':
          return [{ eid: eid(`d${e.n}`), operation: 'funding', created_at: at(e.at), balance_updates: [{ currency: e.asset, amount: fmt(e.qty, 8) }], details: { fid: eid(`fid-d${e.n}`), method: e.asset, method_name: e.asset.toUpperCase() } }];
        case 'withdrawal':
          return [{ eid: eid(`w${e.n}`), operation: 'withdrawal', created_at: at(e.at), balance_updates: [{ currency: e.asset, amount: fmt(-(e.qty + e.fee), 8) }], details: { wid: eid(`wid${e.n}`), method: e.asset } }];
        default: {
          const sign = e.side === 'buy' ? 1n : -1n;
          const details = { tid: 50_000 + e.n, oid: eid(`o${e.n}`).slice(0, 16) };
          return [
            { eid: eid(`t${e.n}`), operation: 'trade', created_at: at(e.at), balance_updates: [{ currency: e.asset, amount: fmt(sign * e.qty, 8) }, { currency: 'mxn', amount: fmt(-sign * e.quote, 2) }], details },
            { eid: eid(`c${e.n}`), operation: 'fee', created_at: at(e.at), balance_updates: [{ currency: 'mxn', amount: fmt(-e.fee, 2) }], details },
          ];
        }
      }
    };
    const account = { secret: ACCOUNT_A.secret, balances: [], ledger: list.flatMap(rows) };
    return {
      mock: createBitso({ accounts: { [ACCOUNT_A.apiKey]: account } }),
      key: [ACCOUNT_A.apiKey, ACCOUNT_A.secret],
      quote: 'mxn',
      feeRows: true,
      add: (more) => account.ledger.push(...more.flatMap(rows)),
      // https://docs.bitso.com/bitso-api/docs/general-concepts ("Rate Limits").
      limits: [{ name: 'private requests', limit: 300, windowMs: 60_000, weight: () => 1 }],
    };
  },

  kraken(list, now) {
    const id = (prefix, seed) => {
      const h = hex(`kraken/${seed}`).toUpperCase();
      return `${prefix}${h.slice(0, 5)}-${h.slice(5, 10)}-${h.slice(10, 16)}`;
    };
    const row = (e, suffix, asset, amount, fee, type, places) => ({
      id: id('L', `${e.kind}${e.n}${suffix}`), refid: id(type === 'trade' ? 'T' : 'Q', `${e.kind}${e.n}`), time: e.at / 1000, type, subtype: '',
      aclass: 'currency', asset, amount: fmt(amount, places), fee: fmt(fee, places), balance: '0.0000',
    });
    const code = (asset) => asset.toUpperCase();
    const rows = (e) => {
      switch (e.kind) {
        case 'funding': return [row(e, '', 'ZUSD', e.qty, 0n, 'deposit', 4)];
        case 'deposit': return [row(e, '', code(e.asset), e.qty, 0n, 'deposit', 10)];
        case 'withdrawal': return [row(e, '', code(e.asset), -e.qty, e.fee, 'withdrawal', 10)];
        default: {
          const sign = e.side === 'buy' ? 1n : -1n;
          return [row(e, 'b', code(e.asset), sign * e.qty, 0n, 'trade', 10), row(e, 'q', 'ZUSD', -sign * e.quote, e.fee, 'trade', 4)];
        }
      }
    };
    const account = { secret: krakenMock.SAMPLE_ACCOUNT.secret, balances: {}, history: list.flatMap(rows) };
    // Starter, the slowest tier (https://docs.kraken.com/exchange/guides/rest/ratelimits).
    const tier = { max: 15, decayPerSecond: 0.33 };
    return {
      mock: krakenMock.createKraken({ accounts: { [krakenMock.SAMPLE_ACCOUNT.apiKey]: account }, callCounter: tier, now }),
      key: [krakenMock.SAMPLE_ACCOUNT.apiKey, krakenMock.SAMPLE_ACCOUNT.secret],
      quote: 'usd',
      add: (more) => account.history.push(...more.flatMap(rows)),
      counter: { ...tier, cost: (r) => (r.path.endsWith('/Ledgers') ? 2 : 1) },
      limits: [],
    };
  },

  binance(list, now) {
    const symbol = (asset) => `${asset.toUpperCase()}USDT`;
    // Binance's own sources: a card purchase of SOL for EUR early on, and Simple Earn rewards on
    // the USDT held (three flexible, one locked).
    list.push({ kind: 'cardBuy', n: 0, at: FIRST + 3 * DAY + 7 * HOUR, asset: 'sol', qty: 2n * UNIT, fiat: 'eur', spent: 300n * UNIT, fee: 3n * UNIT });
    for (let k = 0; k < 4; k += 1) list.push({ kind: 'reward', n: k, at: FIRST + (100 + k * 150) * DAY + 30_000, asset: 'usdt', qty: (123n + BigInt(k)) * UNIT / 100n, locked: k === 3 });
    list.sort((a, b) => a.at - b.at);
    const rows = (e) => {
      switch (e.kind) {
        case 'cardBuy':
          return [{ type: 'fiatBuy', orderNo: hex(`binance/c${e.n}`).slice(0, 32), sourceAmount: fmt(e.spent, 2), fiatCurrency: 'EUR', obtainAmount: fmt(e.qty, 8), cryptoCurrency: 'SOL', totalFee: fmt(e.fee, 2), price: '148.50000000', status: 'Completed', paymentMethod: 'Credit Card', createTime: e.at, updateTime: e.at }];
        case 'reward':
          return [e.locked
            ? { type: 'earnLocked', positionId: 4_400_000 + e.n, time: e.at, asset: 'USDT', lockPeriod: '30', amount: fmt(e.qty, 8), rewardType: 'Locked Rewards' }
            : { type: 'earnFlexible', asset: 'USDT', rewards: fmt(e.qty, 8), projectId: 'USDT001', rewardType: 'REALTIME', time: e.at }];
        case 'funding':
        case 'deposit': {
          const coin = e.kind === 'funding' ? 'USDT' : e.asset.toUpperCase();
          return [{ type: 'deposit', id: String(7_698_005_000_000_000n + BigInt(e.at / 1000)), amount: fmt(e.qty, 8), coin, network: coin, status: 1, address: `addr-${hex(coin).slice(0, 20)}`, addressTag: '', txId: hex(`binance/d${e.kind}${e.n}`), insertTime: e.at, completeTime: e.at, transferType: 0, confirmTimes: '12/12', unlockConfirm: 0, walletType: 0 }];
        }
        case 'withdrawal': {
          const text = iso(e.at).slice(0, 19).replace('T', ' ');
          return [{ type: 'withdrawal', id: hex(`binance/w${e.n}`).slice(0, 32), amount: fmt(e.qty, 8), transactionFee: fmt(e.fee, 8), coin: e.asset.toUpperCase(), status: 6, address: `addr-${hex(e.asset).slice(0, 20)}`, txId: hex(`binance/wt${e.n}`), applyTime: text, network: e.asset.toUpperCase(), transferType: 0, info: '', confirmNo: 12, walletType: 0, txKey: '', completeTime: text }];
        }
        default:
          return [{ type: 'trade', symbol: symbol(e.asset), id: 100_000 + e.n, orderId: 200_000 + e.n, orderListId: -1, price: fmt(e.price, 8), qty: fmt(e.qty, 8), quoteQty: fmt(e.quote, 8), commission: fmt(e.fee, 8), commissionAsset: 'USDT', time: e.at, isBuyer: e.side === 'buy', isMaker: e.n % 2 === 0, isBestMatch: true }];
      }
    };
    // The account's markets among others it never traded; today's spot balances hold every asset.
    const markets = [
      ...ASSETS.map((asset, i) => [symbol(asset), asset.toUpperCase(), 'USDT', `${10 + i}.00000000`, '100000.00000000', '0.10000000']),
      ['BTCUSDT', 'BTC', 'USDT', '95000.00000000', '1000.00000000', '100.00000000'],
      ['ETHBTC', 'ETH', 'BTC', '0.03600000', '5000.00000000', '0.00010000'],
      ['BNBUSDT', 'BNB', 'USDT', '650.00000000', '20000.00000000', '1.00000000'],
      ['SOLBTC', 'SOL', 'BTC', '0.00180000', '30000.00000000', '0.00001000'],
    ];
    const spot = [...ASSETS, 'usdt'].map((asset) => ({ asset: asset.toUpperCase(), free: '1.00000000', locked: '0.00000000' }));
    const account = { secret: binanceMock.SAMPLE_ACCOUNT.secret, spot, funding: [], flexible: [], locked: [], history: list.flatMap(rows) };
    const api = (path) => path.startsWith('/api/');
    const weights = { '/api/v3/myTrades': 20, '/api/v3/exchangeInfo': 20, '/api/v3/account': 20, '/api/v3/time': 1 };
    const on = (path) => (r) => (r.path.split('?')[0] === path ? 1 : 0);
    return {
      mock: binanceMock.createBinance({ accounts: { [binanceMock.SAMPLE_ACCOUNT.apiKey]: account }, markets, now }),
      key: [binanceMock.SAMPLE_ACCOUNT.apiKey, binanceMock.SAMPLE_ACCOUNT.secret],
      quote: 'usdt',
      add: (more) => account.history.push(...more.flatMap(rows)),
      // The spot API's IP weight (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits);
      // each /sapi/ endpoint's own weight and limit, from its page (src/exchange/binance/history.rs).
      limits: [
        { name: '/api/ request weight', limit: 6_000, windowMs: 60_000, weight: (r) => (api(r.path) ? weights[r.path.split('?')[0]] ?? 1 : 0) },
        { name: 'deposit history weight', limit: 12_000, windowMs: 60_000, weight: on('/sapi/v1/capital/deposit/hisrec') },
        { name: 'withdrawal history', limit: 10, windowMs: 1_000, weight: on('/sapi/v1/capital/withdraw/history') },
        { name: 'UID weight (conversions, fiat orders)', limit: 180_000, windowMs: 60_000, weight: (r) => 3_000 * on('/sapi/v1/convert/tradeFlow')(r) + 90_000 * on('/sapi/v1/fiat/orders')(r) },
        { name: 'distribution history weight', limit: 12_000, windowMs: 60_000, weight: (r) => 10 * on('/sapi/v1/asset/assetDividend')(r) },
        { name: 'Simple Earn rewards weight', limit: 12_000, windowMs: 60_000, weight: (r) => 150 * (on('/sapi/v1/simple-earn/flexible/history/rewardsRecord')(r) + on('/sapi/v1/simple-earn/locked/history/rewardsRecord')(r)) },
        { name: 'fiat payments weight', limit: 12_000, windowMs: 60_000, weight: on('/sapi/v1/fiat/payments') },
      ],
    };
  },

  bitfinex(list, now) {
    const code = (asset) => ({ atom: 'ATO', algo: 'ALG', mana: 'MNA' })[asset] ?? asset.toUpperCase();
    const pair = (asset) => (code(asset).length === 3 ? `t${code(asset)}USD` : `t${code(asset)}:USD`);
    const trades = [];
    const movements = [];
    const add = (more) => {
      for (const e of more) {
        if (e.kind === 'fill') {
          const sign = e.side === 'buy' ? 1n : -1n;
          trades.push([1_408_000_000 + e.n, pair(e.asset), e.at, 190_000_000_000 + e.n, num(sign * e.qty, 2), num(e.price, 2), 'EXCHANGE LIMIT', num(e.price, 2), e.n % 2 ? 1 : -1, num(-e.fee, 2), 'USD', e.at - 10_000]);
        } else {
          const currency = e.kind === 'funding' ? 'USD' : code(e.asset);
          const amount = e.kind === 'withdrawal' ? -e.qty : e.qty;
          const fee = e.kind === 'withdrawal' ? -e.fee : 0n;
          movements.push([23_000_000 + e.n + (e.kind === 'funding' ? 1000 : 0), currency, currency === 'USD' ? 'US DOLLAR' : currency, null, null, e.at - 3_600_000, e.at, null, null, 'COMPLETED', null, null,
            num(amount, 8), num(fee, 8), null, null, currency === 'USD' ? null : `addr-${hex(currency).slice(0, 20)}`, null, null, null, currency === 'USD' ? null : hex(`bitfinex/${e.kind}${e.n}`), null]);
        }
      }
    };
    add(list);
    const account = { secret: bitfinexMock.SAMPLE_ACCOUNT.secret, wallets: [], history: { trades, movements, ledgers: {} } };
    const perEndpoint = (name, path, limit) => ({ name, limit, windowMs: 60_000, weight: (r) => (r.path === path ? 1 : 0) });
    return {
      mock: bitfinexMock.createBitfinex({ accounts: { [bitfinexMock.SAMPLE_ACCOUNT.apiKey]: account }, now }),
      key: [bitfinexMock.SAMPLE_ACCOUNT.apiKey, bitfinexMock.SAMPLE_ACCOUNT.secret],
      quote: 'usd',
      add,
      // Movements and ledgers: 90 a minute, on their pages; trades: its page names no figure, so
      // the 45 other clients keep to; the permission check: the lowest of Bitfinex's limits, 10
      // (https://docs.bitfinex.com/docs/requirements-and-limitations).
      limits: [
        perEndpoint('fills', '/v2/auth/r/trades/hist', 45),
        perEndpoint('movements', '/v2/auth/r/movements/hist', 90),
        perEndpoint('ledgers', '/v2/auth/r/ledgers/hist', 90),
        perEndpoint('permission check', '/v2/auth/r/permissions', 10),
      ],
    };
  },

  coinbase(list, now) {
    const { apiKey, secret } = coinbaseMock.SAMPLE_ACCOUNT;
    const history = [];
    const fills = [];
    const v2 = (seed, type, currency, amount, at, extra = {}) => {
      const id = uuid(`coinbase/${seed}`);
      const wallet = coinbaseMock.walletId(apiKey, currency);
      return {
        id, type, status: 'completed', amount: { amount, currency }, native_amount: { amount: '0.00', currency: 'USD' }, description: null,
        created_at: iso(at).replace('.000Z', 'Z'), updated_at: iso(at).replace('.000Z', 'Z'), resource: 'transaction',
        resource_path: `/v2/accounts/${wallet}/transactions/${id}`, instant_exchange: false, ...extra,
      };
    };
    const add = (more) => {
      for (const e of more) {
        const coin = e.asset?.toUpperCase();
        if (e.kind === 'funding') {
          history.push(v2(`f${e.n}`, 'fiat_deposit', 'USD', fmt(e.qty, 2), e.at, { fiat_deposit: { id: uuid(`coinbase/fd${e.n}`), resource: 'fiat_deposit' } }));
        } else if (e.kind === 'deposit') {
          history.push(v2(`d${e.n}`, 'send', coin, fmt(e.qty, 8), e.at, { network: { status: 'confirmed', hash: hex(`coinbase/dh${e.n}`), network_name: coin.toLowerCase() } }));
        } else if (e.kind === 'withdrawal') {
          history.push(v2(`w${e.n}`, 'send', coin, fmt(-(e.qty + e.fee), 8), e.at, {
            network: { status: 'confirmed', hash: hex(`coinbase/wh${e.n}`), network_name: coin.toLowerCase(), transaction_fee: { amount: fmt(e.fee, 8), currency: coin }, transaction_amount: { amount: fmt(e.qty, 8), currency: coin } },
            to: { resource: 'address', address: `addr-${hex(coin).slice(0, 20)}` },
          }));
        } else {
          const sign = e.side === 'buy' ? 1n : -1n;
          const product = `${coin}-USD`;
          const entry = uuid(`coinbase/fill${e.n}`);
          fills.push({
            entry_id: entry, trade_id: uuid(`coinbase/trade${e.n}`), order_id: uuid(`coinbase/order${e.n}`), trade_time: iso(e.at), trade_type: 'FILL',
            price: fmt(e.price, 2), size: fmt(e.qty, 8), commission: fmt(e.fee, 2), product_id: product, sequence_timestamp: iso(e.at),
            liquidity_indicator: e.n % 2 ? 'MAKER' : 'TAKER', size_in_quote: false, user_id: uuid('coinbase/user'), side: e.side.toUpperCase(),
            retail_portfolio_id: uuid('coinbase/portfolio'),
          });
          // Coinbase also writes the fill in both wallets it moved; those rows are read and skipped.
          const written = { fill_price: fmt(e.price, 2), product_id: product, order_id: uuid(`coinbase/order${e.n}`), commission: fmt(e.fee, 2), order_side: e.side };
          history.push(v2(`fb${e.n}`, 'advanced_trade_fill', coin, fmt(sign * e.qty, 8), e.at, { advanced_trade_fill: written }));
          history.push(v2(`fq${e.n}`, 'advanced_trade_fill', 'USD', fmt(-sign * e.quote - e.fee, 2), e.at, { advanced_trade_fill: written }));
        }
      }
    };
    add(list);
    const account = { ...coinbaseMock.SAMPLE_ACCOUNT, balances: [], history, fills };
    const v2Path = (r) => r.path.startsWith('/v2/');
    return {
      mock: coinbaseMock.createCoinbase({ accounts: { [apiKey]: account }, now }),
      key: [apiKey, secret],
      quote: 'usd',
      add,
      // https://docs.cdp.coinbase.com/coinbase-app/api-architecture/rate-limiting (the App API's
      // v2), https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-rate-limits (fills).
      limits: [
        { name: 'App API (v2) requests', limit: 10_000, windowMs: HOUR, weight: (r) => (v2Path(r) ? 1 : 0) },
        { name: 'Advanced Trade private requests', limit: 30, windowMs: 1_000, weight: (r) => (v2Path(r) ? 0 : 1) },
      ],
    };
  },

  bybit(list, now) {
    const { apiKey, secret } = bybitMock.SAMPLE_ACCOUNT;
    const history = { log: [], deposits: [], withdrawals: [] };
    const logRow = (e, suffix, currency, change, fee) => ({
      id: `${900_000 + e.n}_${e.asset.toUpperCase()}USDT_${e.at}${suffix}`, symbol: `${e.asset.toUpperCase()}USDT`, category: 'spot', side: e.side === 'buy' ? 'Buy' : 'Sell',
      transactionTime: String(e.at), type: 'TRADE', transSubType: '', qty: change, size: '0', currency, tradePrice: fmt(e.price, 2), funding: '', fee, cashFlow: change,
      change, cashBalance: '0', feeRate: '0.002', bonusChange: '', tradeId: String(2_290_000_000_000_000_000n + BigInt(e.n)), orderId: String(1_876_000_000_000_000_000n + BigInt(e.n)), orderLinkId: '', extraFees: '',
    });
    const add = (more) => {
      for (const e of more) {
        if (e.kind === 'funding' || e.kind === 'deposit') {
          const coin = e.kind === 'funding' ? 'USDT' : e.asset.toUpperCase();
          history.deposits.push({ id: `${e.kind}-${e.n}`, coin, chain: coin, amount: fmt(e.qty, 8), txID: hex(`bybit/d${e.kind}${e.n}`), status: 3, toAddress: `addr-${hex(coin).slice(0, 20)}`, tag: '', depositFee: '', successAt: String(e.at), confirmations: '12', txIndex: '0', blockHash: '', batchReleaseLimit: '-1', depositType: '0' });
        } else if (e.kind === 'withdrawal') {
          history.withdrawals.push({ coin: e.asset.toUpperCase(), chain: e.asset.toUpperCase(), amount: fmt(e.qty, 8), txID: hex(`bybit/w${e.n}`), status: 'success', toAddress: `addr-${hex(e.asset).slice(0, 20)}`, tag: '', withdrawFee: fmt(e.fee, 8), createTime: String(e.at), updateTime: String(e.at), withdrawId: String(10_000 + e.n), withdrawType: 0 });
        } else {
          // Two legs of one fill: the coin, and USDT with the fee charged in it (change = cash flow − fee).
          const sign = e.side === 'buy' ? 1n : -1n;
          history.log.push(logRow(e, 'b', e.asset.toUpperCase(), fmt(sign * e.qty, 8), '0'), logRow(e, 'q', 'USDT', fmt(-sign * e.quote - e.fee, 8), fmt(e.fee, 8)));
        }
      }
    };
    add(list);
    const account = { ...bybitMock.SAMPLE_ACCOUNT, unified: [], fund: [], history };
    const perSecond = (name, path, limit) => ({ name, limit, windowMs: 1_000, weight: (r) => (r.path === path ? 1 : 0) });
    return {
      mock: bybitMock.createBybit({ accounts: { [apiKey]: account }, now }),
      key: [apiKey, secret],
      quote: 'usdt',
      add,
      // Per account and second, Bybit's rate-limit table (https://bybit-exchange.github.io/docs/v5/rate-limit),
      // as ccxt's bybit.js costs them.
      limits: [
        perSecond('transaction log', '/v5/account/transaction-log', 30),
        perSecond('deposit records', '/v5/asset/deposit/query-record', 5),
        perSecond('withdrawal records', '/v5/asset/withdraw/query-record', 5),
      ],
    };
  },
  okx(list, now) {
    const { apiKey, secret, apiPassphrase } = okxMock.SAMPLE_ACCOUNT;
    const bills = [];
    const deposits = [];
    const withdrawals = [];
    // A spot fill is two bills of one tradeId, ids growing with time; the fee is taken in USDT
    // (on the sent leg of a buy, the received leg of a sell) and `balChg` is net of it.
    const leg = (e, n, ccy, balChg, fee, sz) => ({
      bal: '0', balChg, billId: String(620_000_000_000_000_000n + BigInt(e.at) * 10n + BigInt(n)), ccy, clOrdId: '', execType: e.n % 2 ? 'M' : 'T',
      fee, fillTime: String(e.at), from: '', instId: `${e.asset.toUpperCase()}-USDT`, instType: 'SPOT', interest: '0', mgnMode: 'isolated', notes: '',
      ordId: String(630_000_000_000_000_000n + BigInt(e.n)), pnl: '0', posBal: '0', posBalChg: '0', px: fmt(e.price, 2), subType: e.side === 'buy' ? '1' : '2',
      sz, tag: '', to: '', tradeId: String(586_000_000 + e.n), ts: String(e.at), type: '2',
    });
    const add = (more) => {
      for (const e of more) {
        if (e.kind === 'fill') {
          const buy = e.side === 'buy';
          const base = leg(e, 0, e.asset.toUpperCase(), fmt(buy ? e.qty : -e.qty, 8), '0', fmt(e.qty, 8));
          const quoteChange = buy ? -e.quote - e.fee : e.quote - e.fee;
          bills.push(base, leg(e, 1, 'USDT', fmt(quoteChange, 8), fmt(-e.fee, 8), fmt(e.quote, 8)));
        } else if (e.kind === 'withdrawal') {
          const coin = e.asset.toUpperCase();
          withdrawals.push({ chain: `${coin}-${coin}`, fee: fmt(e.fee, 8), feeCcy: coin, ccy: coin, clientId: '', amt: fmt(e.qty, 8), txId: hex(`okx/w${e.n}`), from: '', areaCodeFrom: '', to: `addr-${hex(coin).slice(0, 20)}`, areaCodeTo: '', state: '2', ts: String(e.at), nonTradableAsset: false, wdId: String(15_000_000 + e.n) });
        } else {
          const coin = e.kind === 'funding' ? 'USDT' : e.asset.toUpperCase();
          deposits.push({ actualDepBlkConfirm: '12', amt: fmt(e.qty, 8), areaCodeFrom: '', ccy: coin, chain: `${coin}-${coin}`, depId: String(34_000_000 + e.n + (e.kind === 'funding' ? 1000 : 0)), from: '', fromWdId: '', state: '2', to: `addr-${hex(coin).slice(0, 20)}`, ts: String(e.at), txId: hex(`okx/d${e.kind}${e.n}`) });
        }
      }
    };
    add(list);
    const account = { ...okxMock.SAMPLE_ACCOUNT, trading: [], funding: [], savings: [], history: { bills, deposits, withdrawals } };
    const on = (path) => (r) => (r.path === path ? 1 : 0);
    return {
      mock: okxMock.createOkx({ accounts: { [apiKey]: account }, now }),
      key: [apiKey, secret, apiPassphrase],
      quote: 'usdt',
      // The bills archive reaches three months back: older fills are past what OKX answers.
      fillsSince: ADDED_AT - okxMock.ARCHIVE_MS,
      reach: 'fills of the last 3 months only: OKX answers no older bills',
      add,
      // https://www.okx.com/docs-v5/en/ (each endpoint's "Rate Limit").
      limits: [
        { name: 'bills archive', limit: 5, windowMs: 2_000, weight: on('/api/v5/account/bills-archive') },
        { name: 'deposit history', limit: 6, windowMs: 1_000, weight: on('/api/v5/asset/deposit-history') },
        { name: 'withdrawal history', limit: 6, windowMs: 1_000, weight: on('/api/v5/asset/withdrawal-history') },
        { name: 'public time (per IP)', limit: 10, windowMs: 2_000, weight: on('/api/v5/public/time') },
      ],
    };
  },
  kucoin(list, now) {
    const { apiKey, secret, apiPassphrase } = kucoinMock.SAMPLE_ACCOUNT;
    const history = [];
    const hfHistory = [];
    const id = (seed) => hex(`kucoin/${seed}`).slice(0, 24);
    // The high-frequency ledger's ids are digits (`254062248624417`), its fills' tradeIds too.
    const digits = (seed) => BigInt(`0x${hex(`kucoin/${seed}`).slice(0, 12)}`).toString();
    const row = (seed, currency, amount, fee, bizType, direction, at, context = '') => ({
      id: id(seed), currency, amount, fee, balance: '0', accountType: bizType === 'Exchange' ? 'TRADE' : 'MAIN', bizType, direction, createdAt: at, context,
    });
    const hfRow = (seed, currency, amount, fee, bizType, direction, at, context = '') => ({
      id: digits(seed), currency, amount, fee, tax: '0', balance: '0', accountType: 'TRADE_HF', bizType, direction, createdAt: String(at), context,
    });
    // Fills of the last three days are made in the high-frequency account, funded by a transfer
    // from main: the import reads them from its ledger, where a credited leg is after its fee.
    const hfSince = ADDED_AT - kucoinMock.HF_REACH_MS;
    const add = (more) => {
      for (const e of more) {
        if (e.kind === 'fill' && e.at >= hfSince) {
          const buy = e.side === 'buy';
          const context = JSON.stringify({ symbol: `${e.asset.toUpperCase()}-USDT`, orderId: id(`o${e.n}`), tradeId: digits(`t${e.n}`) });
          const quote = buy ? e.quote + e.fee : e.quote - e.fee;
          hfHistory.push(
            hfRow(`hfb${e.n}`, e.asset.toUpperCase(), fmt(e.qty, 8), '0', 'TRADE_EXCHANGE', buy ? 'in' : 'out', e.at, context),
            hfRow(`hfq${e.n}`, 'USDT', fmt(quote, 8), fmt(e.fee, 8), 'TRADE_EXCHANGE', buy ? 'out' : 'in', e.at, context),
          );
          // What the fill needs, moved from main a minute before: skipped on both sides.
          const moved = fmt(buy ? quote : e.qty, 8);
          const coin = buy ? 'USDT' : e.asset.toUpperCase();
          history.push(row(`tr${e.n}`, coin, moved, '0', 'Transfer', 'out', e.at - 60_000));
          hfHistory.push(hfRow(`hftr${e.n}`, coin, moved, '0', 'TRANSFER', 'in', e.at - 60_000));
        } else if (e.kind === 'fill') {
          // Two Exchange rows of one tradeId; the fee is taken in USDT, its leg's `amount` including it.
          const buy = e.side === 'buy';
          const context = JSON.stringify({ symbol: `${e.asset.toUpperCase()}-USDT`, orderId: id(`o${e.n}`), tradeId: id(`t${e.n}`) });
          const quote = buy ? e.quote + e.fee : e.quote;
          history.push(
            row(`b${e.n}`, e.asset.toUpperCase(), fmt(e.qty, 8), '0', 'Exchange', buy ? 'in' : 'out', e.at, context),
            row(`q${e.n}`, 'USDT', fmt(quote, 8), fmt(e.fee, 8), 'Exchange', buy ? 'out' : 'in', e.at, context),
          );
        } else if (e.kind === 'withdrawal') {
          const context = JSON.stringify({ orderId: id(`w${e.n}`), txId: hex(`kucoin/wtx${e.n}`) });
          history.push(row(`w${e.n}`, e.asset.toUpperCase(), fmt(e.qty + e.fee, 8), fmt(e.fee, 8), 'Withdrawal', 'out', e.at, context));
        } else {
          const coin = e.kind === 'funding' ? 'USDT' : e.asset.toUpperCase();
          const context = JSON.stringify({ orderId: id(`d${e.kind}${e.n}`), txId: hex(`kucoin/dtx${e.kind}${e.n}`) });
          history.push(row(`d${e.kind}${e.n}`, coin, fmt(e.qty, 8), '0', 'Deposit', 'in', e.at, context));
        }
      }
    };
    add(list);
    const account = { ...kucoinMock.SAMPLE_ACCOUNT, rows: [], history, hfHistory };
    const weigh = (path, weight) => (r) => (r.path === path ? weight : 0);
    return {
      mock: kucoinMock.createKucoin({ accounts: { [apiKey]: account }, now }),
      key: [apiKey, secret, apiPassphrase],
      quote: 'usdt',
      add,
      // Resource pools per 30 s at VIP 0 (https://www.kucoin.com/docs-new/rate-limit), each
      // endpoint's weight as its page states it: the ledger 2 (management), the high-frequency
      // ledger 2 (spot), the time 3 (public).
      limits: [
        { name: 'management pool (weight)', limit: 2_000, windowMs: 30_000, weight: weigh('/api/v1/accounts/ledgers', 2) },
        { name: 'spot pool (weight)', limit: 4_000, windowMs: 30_000, weight: weigh('/api/v1/hf/accounts/ledgers', 2) },
        { name: 'public pool (weight, per IP)', limit: 2_000, windowMs: 30_000, weight: weigh('/api/v1/timestamp', 3) },
      ],
    };
  },
  mercadobitcoin(list, now) {
    const { apiKey, secret } = mercadobitcoinMock.SAMPLE_ACCOUNT;
    const history = { orders: [], deposits: [], fiatDeposits: [], withdrawals: [] };
    const secs = (ms) => ms / 1000;
    const code = (asset) => asset.toUpperCase();
    const add = (more) => {
      for (const e of more) {
        if (e.kind === 'funding') {
          history.fiatDeposits.push({ id: 40_000 + e.n, amount: fmt(e.qty, 2), coin: 'BRL', status: 'CREDITED', transferType: 'pix',
            source: { bank_code: '208', bank_name: 'BTG Pactual', account_branch: '0001', account_number: '0123432', created_at: secs(e.at), updated_at: secs(e.at) } });
        } else if (e.kind === 'deposit') {
          history.deposits.push({ address: `addr-${hex(e.asset).slice(0, 20)}`, address_tag: '', amount: fmt(e.qty, 8), coin: code(e.asset), confirmTimes: '12 / 12',
            createdAt: secs(e.at), network: e.asset, origin: [`from-${hex(`mb/o${e.n}`).slice(0, 20)}`], status: '2', transaction_id: hex(`mb/d${e.n}`), transferType: 'external' });
        } else if (e.kind === 'withdrawal') {
          history.withdrawals.push({ account: '', address: `addr-${hex(e.asset).slice(0, 20)}`, coin: code(e.asset), created_at: String(secs(e.at)), description: '',
            destination_tag: '', fee: fmt(e.fee, 8), id: 90_000 + e.n, net_quantity: fmt(e.qty, 8), network: e.asset, quantity: fmt(e.qty + e.fee, 8), status: 2,
            tx: hex(`mb/w${e.n}`), updated_at: String(secs(e.at)) });
        } else {
          // One order, one execution; the fee is 0.2 % of what the execution credits.
          const instrument = `${code(e.asset)}-BRL`;
          history.orders.push({ avgPrice: Number(fmt(e.price, 2)), cost: Number(fmt(e.quote, 2)), created_at: secs(e.at) - 5, externalId: '', fee: '0', filledQty: fmt(e.qty, 8),
            id: hex(`mb/order${e.n}`).slice(0, 26).toUpperCase(), instrument, limitPrice: Number(fmt(e.price, 2)), qty: fmt(e.qty, 8), side: e.side, status: 'filled',
            stopPrice: 0, triggerOrderId: '', type: 'limit', updated_at: secs(e.at),
            executions: [{ executed_at: secs(e.at), fee_rate: '0.20000000', id: String(700_000 + e.n), instrument, price: Number(fmt(e.price, 2)), qty: fmt(e.qty, 8),
              side: e.side, liquidity: e.n % 2 ? 'maker' : 'taker' }] });
        }
      }
    };
    add(list);
    const [main] = mercadobitcoinMock.SAMPLE_ACCOUNT.accounts;
    const balances = ['BRL', ...ASSETS.map(code)].map((symbol) => ({ symbol, available: '1.00000000', on_hold: '0.00000000', total: '1.00000000' }));
    const account = { apiKey, secret, accounts: [{ ...main, balances, history }] };
    const markets = ASSETS.map((asset, i) => ({ pair: `${code(asset)}-BRL`, high: `${10 + i}`, low: `${10 + i}`, vol: '1000', last: `${10 + i}`, buy: `${10 + i}`, sell: `${10 + i}`, open: `${10 + i}`, date: 1705474164 }));
    return {
      mock: mercadobitcoinMock.createMercadoBitcoin({ accounts: { [apiKey]: account }, markets, now }),
      key: [apiKey, secret],
      quote: 'brl',
      feeRate: { per: 2n, of: 1000n },
      add,
      // https://api.mercadobitcoin.net/api/v4/docs ("Rate Limit": 500 a minute in all; the
      // account endpoints 3 a second).
      limits: [
        { name: 'account endpoints', limit: 3, windowMs: 1_000, weight: (r) => (r.path.startsWith('/api/v4/accounts') ? 1 : 0) },
        { name: 'all requests', limit: 500, windowMs: 60_000, weight: () => 1 },
      ],
    };
  },
};

// ------------------------------------------------------------------------------- the import

/** Whether an answer says the client went over a limit, in any exchange's words. */
function rateLimited(response) {
  if ([418, 420, 429].includes(response.status)) return true;
  return /EAPI:Rate limit|EGeneral:Too many requests|EService:Throttled|ERR_RATE_LIMIT|\["error",11010|"code":-1003|"code":"080[12]"|rate_limit_exceeded|RESOURCE_EXHAUSTED|"retCode":10006|"code":"429000"/.test(String(response.body ?? ''));
}

/** Stored bytes of `tx:` chunks as Chromium's getBytesInUse counts them: key + the value as JSON. */
const storedBytes = (entries) => entries.reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(JSON.stringify(value)), 0);

/**
 * Reads the history page by page from `at` until caught up, storing each page as the background
 * does; returns what it cost.
 */
function readUntilCaughtUp(core, importer, storage, state, at) {
  let now = at;
  let requests = 0;
  let pages = 0;
  for (;;) {
    if (pages === MAX_PAGES) throw new Error(`not caught up after ${MAX_PAGES} pages`);
    const reply = JSON.parse(importer.page(state.cursor ?? undefined, state.lastNonce ?? undefined, now));
    pages += 1;
    requests += reply.requests;
    state.lastNonce = reply.lastNonce ?? state.lastNonce;
    if (reply.error) {
      const error = new Error(`page ${pages} failed: ${JSON.stringify(reply.error)}`);
      error.code = reply.error.code;
      throw error;
    }
    if (!reply.page) throw new Error('the exchange reads no history');
    const { transactions, cursor, caughtUp, waitMs } = reply.page;
    if (transactions.length) {
      // As background.js historyPage(): the chunks the page touches, merged and written back.
      const keys = [...new Set(transactions.map((transaction) => core.historyChunkKey(ACCOUNT_ID, transaction.at)))];
      const stored = Object.fromEntries(keys.filter((key) => storage.has(key)).map((key) => [key, storage.get(key)]));
      for (const [key, text] of Object.entries(JSON.parse(core.mergeHistoryPage(ACCOUNT_ID, JSON.stringify(transactions), JSON.stringify(stored))))) storage.set(key, text);
    }
    state.cursor = cursor;
    now = reply.finishedAt;
    if (caughtUp) return { requests, pages, finishedAt: now };
    now += waitMs;
  }
}

/** The stored transactions against `want`: a list of what differs (empty when all agree). */
function differences(storage, want) {
  const kinds = { trade: 0, deposit: 0, withdrawal: 0, fee: 0, reward: 0 };
  const net = new Map();
  const ids = new Set();
  let count = 0;
  for (const text of storage.values()) {
    for (const t of JSON.parse(text).transactions) {
      count += 1;
      ids.add(t.id);
      kinds[t.kind] = (kinds[t.kind] ?? 0) + 1;
      const move = (leg, sign) => leg && net.set(leg.asset, (net.get(leg.asset) ?? 0n) + sign * units(leg.amount));
      move(t.received, 1n);
      move(t.sent, -1n);
      move(t.fee, -1n);
    }
  }
  const found = [];
  if (count !== want.count) found.push(`${count} transactions stored, ${want.count} generated`);
  if (ids.size !== count) found.push(`${count - ids.size} stored twice`);
  for (const [kind, n] of Object.entries(want.kinds)) if ((kinds[kind] ?? 0) !== n) found.push(`${kinds[kind] ?? 0} ${kind}s, ${n} generated`);
  for (const asset of new Set([...net.keys(), ...want.net.keys()])) {
    const [got, wanted] = [net.get(asset) ?? 0n, want.net.get(asset) ?? 0n];
    if (got !== wanted) found.push(`${asset} moved ${fmt(got, SCALE)}, ${fmt(wanted, SCALE)} generated`);
  }
  return { count, found };
}

/** The peak of each limit over `requests` ({ at, path }), beside the limit. */
function peaks(requests, limits) {
  return limits.map((rule) => {
    const weighted = requests.map((r) => ({ at: r.at, w: rule.weight(r) })).filter((r) => r.w > 0);
    let peak = 0;
    let sum = 0;
    let from = 0;
    for (let i = 0; i < weighted.length; i += 1) {
      sum += weighted[i].w;
      while (weighted[from].at <= weighted[i].at - rule.windowMs) sum -= weighted[from++].w;
      peak = Math.max(peak, sum);
    }
    return { name: rule.name, peak, limit: rule.limit, windowMs: rule.windowMs };
  });
}

/** The highest Kraken's call counter reached: +cost per call, draining continuously. */
function counterPeak(requests, { decayPerSecond, cost }) {
  let value = 0;
  let last = null;
  let peak = 0;
  for (const r of requests) {
    if (last !== null) value = Math.max(0, value - ((r.at - last) / 1000) * decayPerSecond);
    value += cost(r);
    last = r.at;
    peak = Math.max(peak, value);
  }
  return peak;
}

async function importOn(core, id, roundTripMs) {
  const clock = { now: ADDED_AT };
  const list = events();
  const exchange = EXCHANGES[id](list, () => clock.now);
  const requests = [];
  const answer = (request, atMs) => {
    clock.now = atMs;
    const url = new URL(request.url);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
    const response = exchange.mock.handle({ method: request.method, path: `${url.pathname}${url.search}`, host: url.host, headers, body: request.body ?? '' });
    const logged = exchange.mock.requests.at(-1);
    requests.push({ at: atMs, path: url.pathname, status: response.status, rateLimited: !response.hang && rateLimited(response), refused: logged?.authorized === false });
    if (response.hang) return null;
    const retryAfter = Object.entries(response.headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
    return { status: response.status, body: response.body ?? '', ...(retryAfter === undefined ? {} : { retryAfter: String(retryAfter) }) };
  };
  const importer = new core.BenchHistoryImport(id, ACCOUNT_ID, exchange.key[0], exchange.key[1], roundTripMs, answer, exchange.key[2]);
  const storage = new Map();
  const state = {};
  const started = process.hrtime.bigint();
  const result = { exchange: id };
  try {
    const first = readUntilCaughtUp(core, importer, storage, state, ADDED_AT);
    const want = expected(list, exchange.quote, exchange.feeRows, exchange.fillsSince, exchange.feeRate);
    const afterFirst = differences(storage, want);
    Object.assign(result, {
      ...(exchange.reach ? { reach: exchange.reach } : {}),
      requests: first.requests, pages: first.pages, simulatedMs: first.finishedAt - ADDED_AT, transactions: afterFirst.count, expected: want.count,
      chunks: storage.size, bytes: storedBytes([...storage]),
    });
    const arriving = newFills(first.finishedAt);
    exchange.add(arriving);
    const sync = readUntilCaughtUp(core, importer, storage, state, first.finishedAt + SYNC_AFTER_MS);
    const wantAfter = expected([...list, ...arriving], exchange.quote, exchange.feeRows, exchange.fillsSince, exchange.feeRate);
    const afterSync = differences(storage, wantAfter);
    const cursorEntry = { cursor: state.cursor, caughtUp: true, read: 0, expected: null, error: null, nextAt: sync.finishedAt, importedAt: sync.finishedAt };
    Object.assign(result, {
      syncRequests: sync.requests, syncPages: sync.pages, syncSimulatedMs: sync.finishedAt - first.finishedAt - SYNC_AFTER_MS,
      syncNew: afterSync.count - afterFirst.count, syncExpected: wantAfter.count - want.count,
      chunksAfterSync: storage.size, bytesAfterSync: storedBytes([...storage]), stateBytes: Buffer.byteLength(JSON.stringify(cursorEntry)),
      mismatches: [...afterFirst.found.map((m) => `first import: ${m}`), ...afterSync.found.map((m) => `after the sync: ${m}`)],
    });
  } catch (error) {
    result.error = error.message;
  }
  result.wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  result.rateLimitAnswers = requests.filter((r) => r.rateLimited).length;
  result.refused = requests.filter((r) => r.refused).length;
  result.answered = requests.length;
  result.errorAnswers = requests.filter((r) => r.status >= 400).length;
  result.limits = peaks(requests, exchange.limits);
  if (exchange.counter) result.counter = { peak: counterPeak(requests, exchange.counter), max: exchange.counter.max, decayPerSecond: exchange.counter.decayPerSecond };
  importer.free();
  return result;
}

/** Every exchange's first import and next-day sync (the row's figures); throws, with the figures
 * as `partial`, when an import failed or stored other than what was generated. */
export async function benchImport(core, { roundTripMs = ROUND_TRIP_MS } = {}) {
  const exchanges = [];
  for (const id of Object.keys(EXCHANGES)) {
    const result = await importOn(core, id, roundTripMs);
    log(`import ${id}: ${result.error ?? `${result.requests} requests, ${(result.simulatedMs / 1000).toFixed(1)} s simulated, ${result.transactions} transactions; sync ${result.syncRequests} requests`}`);
    exchanges.push(result);
  }
  const outcome = { roundTripMs, shape: SHAPE, exchanges };
  const failed = exchanges.filter((r) => r.error || r.mismatches?.length || r.rateLimitAnswers || r.refused);
  if (failed.length) {
    const error = new Error(failed.map((r) => `${r.exchange}: ${r.error ?? [...(r.mismatches ?? []), r.rateLimitAnswers ? `${r.rateLimitAnswers} rate-limit answers` : '', r.refused ? `${r.refused} requests refused` : ''].filter(Boolean).join('; ')}`).join(' | '));
    error.partial = outcome;
    throw error;
  }
  return outcome;
}
