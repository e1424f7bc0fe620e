// The first import of transaction history from all five exchanges, in Chromium with the shipped
// build, and the Profit and loss page's figures against a reference worked out here.
//
// One account on each of Bitso, Kraken, Binance, Bitfinex and Coinbase, added through the options
// page, each with a history that takes more than one of its exchange's pages (Bitso's ledger of
// 100 rows a page, Kraken's 50, Bitfinex's 1,000 movements with two sharing the millisecond at the
// page boundary, Coinbase's fills and wallet cursors, Binance's windows since 2017). Between them:
// buys and sells, fees in the quote, in the asset bought and in a third asset (BNB, Kraken's fee
// credits), deposits from outside (estimated at market), rewards, and one transfer: BTC withdrawn
// from Bitso and deposited at Kraken five hours later, less the network's fee.
//
// Values are in US dollars (the options page's "Display currency"): trades in dollars are priced
// by themselves; pesos, tether, BTC, ETH and BNB by the stand-ins' daily closes, which give every
// asset one price a day whichever exchange's book prices it. The numbers are round, so every
// figure checked is exact to the cent, and the reference (tests/e2e/pnl-reference.mjs) works in
// exact fractions from the rules the product documents (src/pnl.rs), from the rows the stand-ins
// served read here as each exchange documents them. It never calls the core.
//
// Binance's windows since July 2017, paced as the product paces them (src/exchange/binance/
// history.rs), make this file take about five minutes (Binance alone about 290 s); the pacing is
// not changed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startExchanges } from './exchanges.mjs';
import { Q } from './expected.mjs';
import { balance } from './fixtures.mjs';
import {
  assertOnlyAllowedHosts, english, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir,
  uncaughtErrors, waitForPage,
} from './harness.mjs';
import * as binanceMock from './mocks/binance.mjs';
import * as bitfinexMock from './mocks/bitfinex.mjs';
import * as coinbaseMock from './mocks/coinbase.mjs';
import * as krakenMock from './mocks/kraken.mjs';
import {
  METHODS, ZERO, abs, addAndImport, assertHoldingsTable, assertServedIsSound, assertYearSummaries, cents,
  download, isZero, isoTime, leg, positive, reference, roundedCents, storedForm, sum, transactionsExport,
  wire,
} from './pnl-reference.mjs';

// ---------------------------------------------------------------------------------------------
// Time and prices

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const ms = (iso) => Date.parse(iso);
const dayOf = (at) => Math.floor(at / DAY_MS);
const isoDay = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);
/** The page's money, in dollars: every figure the data keeps exact to the cent, average costs rounded. */
const DOLLARS = { symbol: '$', figureCents: cents, averageCents: roundedCents };

/** Each asset's daily close in dollars, as steps: the close from that day on. */
const CLOSES_USD = {
  btc: [['2025-01-01', '80000'], ['2025-03-01', '90000'], ['2025-06-01', '100000'], ['2025-09-01', '110000'], ['2026-01-01', '120000']],
  eth: [['2025-01-01', '3000'], ['2025-06-01', '4000'], ['2026-01-01', '5000']],
  bnb: [['2025-01-01', '600'], ['2025-07-01', '700'], ['2026-01-01', '750']],
  usdt: [['2025-01-01', '1']],
};
/** Pesos a dollar, every day and now. */
const MXN_PER_USD = '20';
/** Today's prices (the tickers' last), in dollars. */
const NOW_USD = { btc: '125000', eth: '4500', bnb: '800', usdt: '1' };
/** The first day with closes: before the first transaction. */
const FIRST_CLOSE_DAY = dayOf(ms('2025-01-01T00:00:00Z'));

/** The dollar price of one unit of `asset` on the day of `at`, exactly. */
function closeUsd(asset, at) {
  if (asset === 'usd') return new Q(1n);
  if (asset === 'mxn') return Q.parse(MXN_PER_USD).inv();
  // Kraken's fee credits: 100 to the dollar (https://support.kraken.com/hc/en-us/articles/204799657).
  if (asset === 'kfee') return new Q(1n, 100n);
  const day = isoDay(dayOf(at));
  let close = null;
  for (const [from, price] of CLOSES_USD[asset] ?? []) if (from <= day) close = price;
  assert.ok(close, `a close of ${asset} on ${day}`);
  return Q.parse(close);
}

function nowUsd(asset) {
  if (asset === 'mxn') return Q.parse(MXN_PER_USD).inv();
  return Q.parse(NOW_USD[asset]);
}

/** A closes table of every day from the first to yesterday: { 'YYYY-MM-DD': close }. */
function closesTable(closeOnDay) {
  const table = {};
  for (let day = FIRST_CLOSE_DAY; day < dayOf(Date.now()); day += 1) table[isoDay(day)] = closeOnDay(day);
  return table;
}
const usdCloses = (asset) => closesTable((day) => closeUsd(asset, day * DAY_MS).toDecimal());
/** The same table keyed by day number (days since 1970-01-01), as the Coinbase stand-in takes it. */
const byDayNumber = (table) => Object.fromEntries(Object.entries(table).map(([iso, close]) => [dayOf(ms(`${iso}T00:00:00Z`)), close]));

// ---------------------------------------------------------------------------------------------
// The accounts, in each exchange's own shapes

// Bitso, in pesos: pesos deposited, a hundred daily buys of 0.001 BTC (the first five with a fee
// row of their own), a sale, and the withdrawal that arrives at Kraken: 108 rows, two pages.
function bitsoRow(eid, operation, iso, updates) {
  return {
    eid, operation, created_at: iso.replace(/(:\d\d)Z$/, '$1.000+00:00'),
    balance_updates: updates.map(([currency, amount]) => ({ currency, amount })), details: {},
  };
}
const bitsoLedger = [bitsoRow('bsdep1', 'funding', '2025-01-02T09:00:00Z', [['mxn', '200000.00']])];
for (let i = 0; i < 100; i += 1) {
  const at = ms('2025-01-05T10:00:00Z') + i * DAY_MS;
  const pesos = closeUsd('btc', at).mul(Q.parse(MXN_PER_USD)).mul(Q.parse('0.001'));
  const eid = `bsbuy${String(i + 1).padStart(3, '0')}`;
  bitsoLedger.push(bitsoRow(eid, 'trade', isoTime(at), [['btc', '0.00100000'], ['mxn', `-${pesos.toFixed(2)}`]]));
  if (i < 5) bitsoLedger.push(bitsoRow(`${eid}fee`, 'fee', isoTime(at), [['mxn', '-8.00']]));
}
bitsoLedger.push(bitsoRow('bssell1', 'trade', '2025-06-10T12:00:00Z', [['btc', '-0.03000000'], ['mxn', '60000.00']]));
bitsoLedger.push(bitsoRow('bswd1', 'withdrawal', '2025-07-01T10:00:00Z', [['btc', '-0.02500000']]));

const BITSO = {
  exchange: 'bitso', label: 'Bitso pesos', apiKey: 'PnLBitsoK1', secret: 'b170c0ffee-5ecret-0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  balances: [balance('mxn', '90960.00'), balance('btc', '0.04500000')],
  ledger: bitsoLedger,
};

// Kraken, in dollars: dollars deposited, fee credits granted and spent on twenty ETH buys, a sale
// of ETH, the BTC from Bitso, an Earn reward, a sale of BTC: 68 rows, two pages.
const krakenRows = [];
function krakenRow(refid, iso, type, subtype, asset, amount, fee = '0.0000') {
  const serial = String(krakenRows.length + 1).padStart(2, '0');
  krakenRows.push({
    id: `LPNL${serial}-ABCDE-FGHIJK`, refid, time: ms(iso) / 1000, type, subtype, aclass: 'currency', asset, amount, fee, balance: '0.0000',
  });
}
krakenRow('QUSD01-ABCDE-FGHIJK', '2025-01-05T08:00:00Z', 'deposit', '', 'ZUSD', '50000.0000');
krakenRow('KFEE01-ABCDE-FGHIJK', '2025-01-05T08:30:00Z', 'credit', '', 'KFEE', '400.00');
for (let i = 0; i < 20; i += 1) {
  const iso = isoTime(ms('2025-01-06T14:00:00Z') + i * DAY_MS);
  const refid = `TETH${String(i + 1).padStart(2, '0')}-ABCDE-FGHIJK`;
  krakenRow(refid, iso, 'trade', '', 'XETH', '0.5000000000');
  krakenRow(refid, iso, 'trade', '', 'ZUSD', '-1500.0000');
  krakenRow(refid, iso, 'trade', '', 'KFEE', '0.00', '20.00');
}
krakenRow('TETHS1-ABCDE-FGHIJK', '2025-06-15T16:00:00Z', 'trade', '', 'XETH', '-4.0000000000');
krakenRow('TETHS1-ABCDE-FGHIJK', '2025-06-15T16:00:00Z', 'trade', '', 'ZUSD', '16000.0000', '16.0000');
krakenRow('QBTC01-ABCDE-FGHIJK', '2025-07-01T15:00:00Z', 'deposit', '', 'XXBT', '0.0249000000');
krakenRow('RETH01-ABCDE-FGHIJK', '2025-08-01T00:10:00Z', 'earn', 'reward', 'ETH', '0.4000000000');
krakenRow('TBTCS1-ABCDE-FGHIJK', '2025-09-10T16:00:00Z', 'trade', '', 'XXBT', '-0.0200000000');
krakenRow('TBTCS1-ABCDE-FGHIJK', '2025-09-10T16:00:00Z', 'trade', '', 'ZUSD', '2200.0000', '2.2000');

const KRAKEN = {
  exchange: 'kraken', label: 'Kraken dollars', apiKey: 'PnLKrakenKey'.padEnd(56, '0'),
  secret: Buffer.from('Cartera profit and loss test: a Kraken secret that opens nothing.').subarray(0, 64).toString('base64'),
  balances: {
    ZUSD: { balance: '38181.8000', hold_trade: '0.0000' },
    XETH: { balance: '6.4000000000', hold_trade: '0.0000000000' },
    XXBT: { balance: '0.0049000000', hold_trade: '0.0000000000' },
    KFEE: { balance: '0.00', hold_trade: '0.00' },
  },
  allocations: [],
  history: krakenRows,
};

// Binance, in tether: tether and BNB deposited, fills whose fees are paid in BNB, a conversion, a
// sale, an airdrop of BNB. Its streams are read in windows from July 2017 on: many pages.
const binanceDeposit = (id, coin, amount, iso) => ({
  type: 'deposit', id, amount, coin, network: coin, status: 1, address: `pnl-address-${id}`, addressTag: '', txId: `pnl-tx-${id}`,
  insertTime: ms(iso), completeTime: ms(iso), transferType: 0, confirmTimes: '1/1', unlockConfirm: 0, walletType: 0,
});
const binanceFill = (symbol, id, iso, price, qty, quoteQty, commission, isBuyer) => ({
  type: 'trade', symbol, id, orderId: id + 500_000, orderListId: -1, price, qty, quoteQty, commission, commissionAsset: 'BNB',
  time: ms(iso), isBuyer, isMaker: false, isBestMatch: true,
});
const BINANCE = {
  exchange: 'binance', label: 'Binance tether',
  apiKey: 'PnLBinanceKeyNotReal'.padEnd(64, 'k'), secret: 'PnLBinanceSecretNotReal'.padEnd(64, 's'),
  spot: [
    { asset: 'USDT', free: '10506.00000000', locked: '0.00000000' },
    { asset: 'BTC', free: '0.05000000', locked: '0.00000000' },
    { asset: 'ETH', free: '2.00000000', locked: '0.00000000' },
    { asset: 'BNB', free: '1.00000000', locked: '0.00000000' },
  ],
  funding: [], flexible: [], locked: [],
  history: [
    binanceDeposit('5100000001', 'USDT', '20000', '2025-02-01T07:00:00Z'),
    binanceDeposit('5100000002', 'BNB', '1', '2025-02-01T07:30:00Z'),
    binanceFill('BTCUSDT', 7001, '2025-03-05T11:00:00Z', '89940.00000000', '0.10000000', '8994.00000000', '0.01000000', true),
    binanceFill('ETHUSDT', 8001, '2025-03-10T11:00:00Z', '3000.00000000', '1.00000000', '3000.00000000', '0.00500000', true),
    {
      type: 'convert', quoteId: 'pnlquote0001', orderId: '940708407462087001', orderStatus: 'SUCCESS', fromAsset: 'USDT', fromAmount: '3000',
      toAsset: 'ETH', toAmount: '1', ratio: '0.00033333', inverseRatio: '3000', createTime: ms('2025-04-01T09:00:00Z'),
    },
    binanceFill('BTCUSDT', 7002, '2025-09-15T11:00:00Z', '110000.00000000', '0.05000000', '5500.00000000', '0.00500000', false),
    { type: 'dividend', id: 5300000001, amount: '0.02000000', asset: 'BNB', divTime: ms('2025-10-01T03:00:00Z'), enInfo: 'BNB airdrop', tranId: 5300000001 },
  ],
};

// Bitfinex, in dollars: 1,001 deposits of $20 (two pages of movements; the second and third
// oldest share a millisecond, and the page of 1,000 ends between them), BTC deposited from
// outside, a buy whose fee is taken in BTC, a sale, a staking payment and a rebate.
const bitfinexMovements = [];
for (let i = 0; i < 1001; i += 1) {
  const at = ms('2025-01-01T00:17:00Z') + (i === 0 ? 1 : Math.max(i, 2)) * HOUR_MS;
  bitfinexMovements.push([24000000 + i, 'USD', 'US DOLLAR', null, null, at - 60_000, at, null, null, 'COMPLETED', null, null, 20, 0,
    null, null, null, null, null, null, null, null]);
}
bitfinexMovements.push([23999999, 'BTC', 'BITCOIN', null, null, ms('2025-05-10T11:00:00Z'), ms('2025-05-10T12:00:00Z'), null, null, 'COMPLETED',
  null, null, 0.2001, 0, null, null, 'bc1qpnl00000000000000000000000000000000000', null, null, null, 'pnlbtcdeposit01', null]);
const BITFINEX = {
  exchange: 'bitfinex', label: 'Bitfinex dollars', apiKey: 'pnl-bitfinex-key-00000000000000000000000000',
  secret: 'pnl-bitfinex-secret-not-real-0000000000000000', canTrade: false, canWithdraw: false, canTransfer: false,
  wallets: [
    ['exchange', 'USD', 27514, 0, 27514, null, null],
    ['exchange', 'BTC', 0.15, 0, 0.15, null, null],
    ['exchange', 'ETH', 0.05, 0, 0.05, null, null],
  ],
  history: {
    trades: [
      [1500000001, 'tBTCUSD', ms('2025-04-01T13:00:00Z'), 1600000001, 0.1, 89910, 'EXCHANGE LIMIT', 89910, -1, -0.0001, 'BTC', 1],
      [1500000002, 'tBTCUSD', ms('2025-10-01T13:00:00Z'), 1600000002, -0.15, 110000, 'EXCHANGE MARKET', null, -1, -16.5, 'USD', 2],
    ],
    movements: bitfinexMovements,
    ledgers: {
      262: [[9500000001, 'ETH', 'exchange', ms('2025-07-05T00:00:00Z'), null, 0.05, 0.05, null, 'Staking Payment on wallet exchange']],
      241: [[9600000001, 'USD', 'exchange', ms('2025-11-01T00:00:00Z'), null, 1.5, 27514, null, 'Earned fee shared on wallet exchange']],
    },
  },
};

// Coinbase, in dollars: a bank deposit, 160 Advanced Trade buys of ETH (two pages of fills; each
// fill is also written in both wallets it moved, two pages each, which the import skips), a
// staking reward, a sale in 2026.
const coinbaseFills = [];
const coinbaseRows = [];
function coinbaseRow(id, type, iso, amount, currency, native, extra = {}) {
  return {
    id, type, status: 'completed', amount: { amount, currency }, native_amount: { amount: native, currency: 'USD' }, description: null,
    created_at: iso, updated_at: iso, resource: 'transaction', resource_path: `/v2/accounts/wallet/transactions/${id}`, details: {}, ...extra,
  };
}
function coinbaseFill(n, iso, side, size, price, commission) {
  const entry = `pnl-cb-fill-${String(n).padStart(4, '0')}`;
  coinbaseFills.push({
    entry_id: entry, trade_id: `pnl-cb-trade-${n}`, order_id: `pnl-cb-order-${n}`, trade_time: iso, trade_type: 'FILL', price, size,
    commission, product_id: 'ETH-USD', sequence_timestamp: iso, liquidity_indicator: 'TAKER', size_in_quote: false,
    user_id: 'pnl-user', side, retail_portfolio_id: 'pnl-portfolio',
  });
  const total = Q.parse(size).mul(Q.parse(price));
  const cash = side === 'BUY' ? total.add(Q.parse(commission)).mul(new Q(-1n)) : total.add(Q.parse(commission).mul(new Q(-1n)));
  const fillOf = { advanced_trade_fill: { fill_price: price, product_id: 'ETH-USD', order_id: `pnl-cb-order-${n}`, commission, order_side: side.toLowerCase() } };
  coinbaseRows.push(coinbaseRow(`${entry}-eth`, 'advanced_trade_fill', iso, side === 'BUY' ? size : `-${size}`, 'ETH', total.toDecimal(), fillOf));
  coinbaseRows.push(coinbaseRow(`${entry}-usd`, 'advanced_trade_fill', iso, cash.toDecimal(), 'USD', cash.toDecimal(), fillOf));
}
coinbaseRows.push(coinbaseRow('pnl-cb-fiat-0001', 'fiat_deposit', '2025-01-03T12:00:00Z', '15000.00', 'USD', '15000.00'));
for (let i = 0; i < 160; i += 1) coinbaseFill(i + 1, isoTime(ms('2025-01-10T09:00:00Z') + i * 12 * HOUR_MS), 'BUY', '0.025', '3000', '0.75');
coinbaseFill(161, '2026-02-01T10:00:00Z', 'SELL', '0.5', '5000', '2.5');
coinbaseRows.push(coinbaseRow('pnl-cb-stake-0001', 'staking_reward', '2025-07-10T06:00:00Z', '0.05', 'ETH', '200.00'));
const COINBASE = {
  ...coinbaseMock.SAMPLE_ACCOUNT,
  exchange: 'coinbase', label: 'Coinbase dollars',
  balances: [
    coinbaseMock.coinbaseAccount('ETH', '3.5500000000000000', '0'),
    coinbaseMock.coinbaseAccount('USD', '5377.50', '0', 'ACCOUNT_TYPE_FIAT', 'Cash (USD)'),
  ],
  history: coinbaseRows,
  fills: coinbaseFills,
};

const ACCOUNTS = [BITSO, KRAKEN, BINANCE, BITFINEX, COINBASE];

// ---------------------------------------------------------------------------------------------
// Markets and daily closes: one price per asset and day, whichever exchange's book prices it.
// BNB reaches the dollar only through tether (BNBUSDT, then USDT/USD), pesos through usd_mxn.
// Kraken answers only its latest 720 daily candles, which will stop reaching back to January 2025:
// its books trade least, so the closes always come from another exchange's.

const VOLUME = '1000000';
const KRAKEN_VOLUME = '1000';
const bitsoTicker = (book, last) => ({
  high: last, last, created_at: new Date().toISOString().replace('Z', '+00:00'), book, volume: VOLUME, vwap: last, low: last, ask: last,
  bid: last, change_24: '0', rolling_average_change: { 6: '0.0000' },
});
const bitfinexTicker = (symbol, last) => [symbol, last, 1, last, 1, 0, 0, last, Number(VOLUME), last, last];

function exchangeOptions() {
  const btc = usdCloses('btc');
  const eth = usdCloses('eth');
  const usdt = usdCloses('usdt');
  return {
    bitso: {
      accounts: { [BITSO.apiKey]: { secret: BITSO.secret, balances: BITSO.balances, ledger: BITSO.ledger } },
      tickers: [bitsoTicker('btc_mxn', nowUsd('btc').mul(Q.parse(MXN_PER_USD)).toDecimal()), bitsoTicker('usd_mxn', MXN_PER_USD)],
      closes: {
        btc_mxn: closesTable((day) => closeUsd('btc', day * DAY_MS).mul(Q.parse(MXN_PER_USD)).toDecimal()),
        usd_mxn: closesTable(() => MXN_PER_USD),
      },
    },
    kraken: {
      accounts: { [KRAKEN.apiKey]: KRAKEN },
      markets: krakenMock.marketsFrom([
        ['XXBTZUSD', 'XBTUSD', 'XBT/USD', 'XXBT', 'ZUSD', NOW_USD.btc, KRAKEN_VOLUME, NOW_USD.btc],
        ['XETHZUSD', 'ETHUSD', 'ETH/USD', 'XETH', 'ZUSD', NOW_USD.eth, KRAKEN_VOLUME, NOW_USD.eth],
        ['USDTZUSD', 'USDTUSD', 'USDT/USD', 'USDT', 'ZUSD', NOW_USD.usdt, KRAKEN_VOLUME, NOW_USD.usdt],
      ]),
      closes: { XXBTZUSD: btc, XETHZUSD: eth, USDTZUSD: usdt },
    },
    binance: {
      accounts: { [BINANCE.apiKey]: BINANCE },
      markets: [
        ['BTCUSDT', 'BTC', 'USDT', NOW_USD.btc, VOLUME, '0'],
        ['ETHUSDT', 'ETH', 'USDT', NOW_USD.eth, VOLUME, '0'],
        ['BNBUSDT', 'BNB', 'USDT', NOW_USD.bnb, VOLUME, '0'],
      ],
      closes: { BTCUSDT: btc, ETHUSDT: eth, BNBUSDT: usdCloses('bnb') },
    },
    bitfinex: {
      accounts: { [BITFINEX.apiKey]: BITFINEX },
      markets: [bitfinexTicker('tBTCUSD', Number(NOW_USD.btc)), bitfinexTicker('tETHUSD', Number(NOW_USD.eth)), bitfinexTicker('tUSTUSD', 1)],
      closes: { tBTCUSD: btc, tETHUSD: eth, tUSTUSD: usdt },
    },
    coinbase: {
      accounts: { [COINBASE.apiKey]: COINBASE },
      markets: [
        coinbaseMock.product('BTC-USD', 'BTC', 'USD', NOW_USD.btc, '0', VOLUME),
        coinbaseMock.product('ETH-USD', 'ETH', 'USD', NOW_USD.eth, '0', VOLUME),
        coinbaseMock.product('USDT-USD', 'USDT', 'USD', NOW_USD.usdt, '0', VOLUME),
      ],
      closes: { 'BTC-USD': byDayNumber(btc), 'ETH-USD': byDayNumber(eth), 'USDT-USD': byDayNumber(usdt) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What the stand-ins served, read as transactions the way each exchange documents its rows (and
// the product documents its choices), in the product's stored shape.

/** Bitso's ledger: one row each; `fee` a fee, one asset in and one out a trade (a sell when what
 * came in is the book's quote currency: money, then dollar stablecoins, then bitcoin; else a buy of
 * what came in), in only a deposit, out only a withdrawal. */
const BITSO_QUOTE_RANK = { mxn: 3, ars: 3, brl: 3, cop: 3, usd: 3, usdt: 2, usdc: 2, dai: 2, tusd: 2, btc: 1 };
const bitsoSide = (received, sent) => ((BITSO_QUOTE_RANK[received] ?? 0) > (BITSO_QUOTE_RANK[sent] ?? 0) ? 'sell' : 'buy');
function bitsoTransactions(account) {
  return account.ledger.map((row) => {
    const at = Date.parse(row.created_at);
    const id = `ledger:${row.eid}`;
    const updates = row.balance_updates.map((u) => ({ asset: u.currency, amount: Q.parse(u.amount) })).filter((u) => !isZero(u.amount));
    const incoming = updates.find((u) => positive(u.amount));
    const outgoing = updates.find((u) => !positive(u.amount));
    if (row.operation === 'fee') return { id, at, kind: 'fee', fee: leg(outgoing.asset, abs(outgoing.amount)) };
    if (incoming && outgoing) {
      const side = bitsoSide(incoming.asset, outgoing.asset);
      return { id, at, kind: 'trade', side, received: leg(incoming.asset, incoming.amount), sent: leg(outgoing.asset, abs(outgoing.amount)) };
    }
    if (incoming) return { id, at, kind: 'deposit', received: leg(incoming.asset, incoming.amount) };
    return { id, at, kind: 'withdrawal', sent: leg(outgoing.asset, abs(outgoing.amount)) };
  });
}

const KRAKEN_CODES = { XXBT: 'btc', XETH: 'eth', ETH: 'eth', ZUSD: 'usd', KFEE: 'kfee' };
/** Kraken's ledger: the rows of one refid are one event; a trade ending in the quote currency sold
 * the other asset; fee credits spent beside a trade are its fee; a credit of fee credits and an
 * Earn reward are rewards. */
function krakenTransactions(account) {
  const events = new Map();
  for (const row of account.history) events.set(row.refid, [...(events.get(row.refid) ?? []), row]);
  return [...events].map(([refid, rows]) => {
    const id = `ledger:${refid}`;
    const at = Math.min(...rows.map((row) => Math.trunc(row.time * 1000)));
    const moved = rows.filter((row) => !isZero(Q.parse(row.amount)));
    const fee = rows.filter((row) => !isZero(Q.parse(row.fee))).map((row) => leg(KRAKEN_CODES[row.asset], Q.parse(row.fee)))[0];
    const incoming = moved.find((row) => positive(Q.parse(row.amount)));
    const outgoing = moved.find((row) => !positive(Q.parse(row.amount)));
    if (incoming && outgoing) {
      const received = leg(KRAKEN_CODES[incoming.asset], Q.parse(incoming.amount));
      const sent = leg(KRAKEN_CODES[outgoing.asset], abs(Q.parse(outgoing.amount)));
      return { id, at, kind: 'trade', side: received.asset === 'usd' ? 'sell' : 'buy', received, sent, ...(fee && { fee }) };
    }
    return { id, at, kind: incoming.type === 'deposit' ? 'deposit' : 'reward', received: leg(KRAKEN_CODES[incoming.asset], Q.parse(incoming.amount)) };
  });
}

/** Binance's streams: deposits, conversions (a buy of what came in), distributions (rewards), and
 * fills (a buyer received the base for the quote; the commission in its own asset). */
function binanceTransactions(account) {
  const symbols = { BTCUSDT: ['btc', 'usdt'], ETHUSDT: ['eth', 'usdt'], BNBUSDT: ['bnb', 'usdt'] };
  const code = (asset) => asset.toLowerCase();
  return account.history.map((row) => {
    switch (row.type) {
      case 'deposit': return { id: `deposit:${row.id}`, at: row.insertTime, kind: 'deposit', received: leg(code(row.coin), row.amount) };
      case 'convert': return {
        id: `convert:${row.orderId}`, at: row.createTime, kind: 'trade', side: 'buy', received: leg(code(row.toAsset), row.toAmount), sent: leg(code(row.fromAsset), row.fromAmount),
      };
      case 'dividend': return { id: `dividend:${row.id}`, at: row.divTime, kind: 'reward', received: leg(code(row.asset), row.amount) };
      case 'trade': {
        const [base, quote] = symbols[row.symbol];
        const coins = leg(base, row.qty);
        const money = leg(quote, row.quoteQty);
        const common = { id: `trade:${row.symbol}:${row.id}`, at: row.time, kind: 'trade', fee: leg(code(row.commissionAsset), row.commission) };
        return row.isBuyer ? { ...common, side: 'buy', received: coins, sent: money } : { ...common, side: 'sell', received: money, sent: coins };
      }
      default: throw new Error(`no reading for ${row.type}`);
    }
  });
}

/** Bitfinex: fills (the side is the amount's sign, the quote leg amount × price, a negative fee a
 * fee), completed movements, and income from the ledger by category. */
function bitfinexTransactions(account) {
  const code = (currency) => currency.toLowerCase();
  const out = [];
  for (const [id, symbol, mts, , execAmount, price, , , , fee, feeCurrency] of account.history.trades) {
    const amount = wire(execAmount);
    const coins = leg(code(symbol.slice(1, 4)), abs(amount));
    const money = leg(code(symbol.slice(4)), abs(amount).mul(wire(price)));
    const common = { id: `trade:${id}`, at: mts, kind: 'trade', fee: leg(code(feeCurrency), abs(wire(fee))) };
    out.push(positive(amount) ? { ...common, side: 'buy', received: coins, sent: money } : { ...common, side: 'sell', received: money, sent: coins });
  }
  for (const movement of account.history.movements) {
    out.push({ id: `movement:${movement[0]}`, at: movement[6], kind: 'deposit', received: leg(code(movement[1]), wire(movement[12])) });
  }
  for (const rows of Object.values(account.history.ledgers)) {
    for (const row of rows) out.push({ id: `ledger:${row[0]}`, at: row[3], kind: 'reward', received: leg(code(row[1]), wire(row[5])) });
  }
  return out;
}

/** Coinbase: fills from the fills list (the commission in the quote), the wallets' other rows;
 * a fill's own rows in the wallets are the same fill. */
function coinbaseTransactions(account) {
  const out = [];
  for (const fill of account.fills) {
    const [base, quote] = fill.product_id.toLowerCase().split('-');
    const coins = leg(base, fill.size);
    const money = leg(quote, Q.parse(fill.size).mul(Q.parse(fill.price)));
    const common = { id: `fill:${fill.entry_id}`, at: Date.parse(fill.trade_time), kind: 'trade', fee: leg(quote, fill.commission) };
    out.push(fill.side === 'BUY' ? { ...common, side: 'buy', received: coins, sent: money } : { ...common, side: 'sell', received: money, sent: coins });
  }
  for (const row of account.history) {
    if (row.type === 'advanced_trade_fill') continue;
    const kind = row.type === 'staking_reward' ? 'reward' : 'deposit';
    out.push({ id: `tx:${row.id}`, at: Date.parse(row.created_at), kind, received: leg(row.amount.currency.toLowerCase(), row.amount.amount) });
  }
  return out;
}

const READERS = { bitso: bitsoTransactions, kraken: krakenTransactions, binance: binanceTransactions, bitfinex: bitfinexTransactions, coinbase: coinbaseTransactions };
/** Every transaction the stand-ins served, each with its account's label. */
const SERVED = ACCOUNTS.flatMap((account) => READERS[account.exchange](account).map((transaction) => ({ account: account.label, ...transaction })));

/** What each account holds, read from its stand-in's balances by the stand-ins' own readers. */
const HELD = Object.fromEntries(ACCOUNTS.map((account) => {
  const holdings = {
    bitso: () => Object.fromEntries(account.balances.map((b) => [b.currency, b.total])),
    kraken: () => krakenMock.expectedHoldings(account),
    binance: () => binanceMock.expectedHoldings(account),
    bitfinex: () => bitfinexMock.expectedHoldings(account),
    coinbase: () => coinbaseMock.expectedHoldings(account),
  }[account.exchange]();
  return [account.label, Object.fromEntries(Object.entries(holdings).map(([asset, amount]) => [asset, Q.parse(amount)]).filter(([, q]) => !isZero(q)))];
}));

// The reference (tests/e2e/pnl-reference.mjs) works out the figures from these transactions, what
// the accounts hold and the closes. Here the transfer makes the two methods part: under FIFO the
// 0.025 BTC that leaves Bitso on 1 July are the last of the lots bought in February at $80,000,
// and at Kraken they are still the oldest BTC held, so Kraken's sale on 10 September takes them
// (basis $1,600), not the March lots at $90,000.
const expectedBy = (method) => reference({ method, served: SERVED, held: HELD, quote: 'usd', closeOf: closeUsd, nowOf: nowUsd });



describe('profit and loss from the first import of all five exchanges', { timeout: 1_200_000 }, () => {
  let ex;
  let h;
  let page;
  // Whether the page's figures have had the time to take every close in.
  let closesIn = false;
  const profileDir = makeProfileDir();
  const started = Date.now();
  const ids = {};

  before(async () => {
    assertServedIsSound(ACCOUNTS, SERVED, HELD);
    ex = await startExchanges(exchangeOptions());
    h = await launch({ profileDir, server: ex.server });
  });

  after(async () => {
    console.log(`The whole file took ${Math.round((Date.now() - started) / 1000)} s.`);
    assert.deepEqual(uncaughtErrors(h ?? { console: [] }), []);
    await h?.close().catch(() => {});
    await ex?.close();
    removeProfileDir(profileDir);
  });

  test('the five accounts, added through the options page, import their whole history, every request signed and checked', async (t) => {
    const options = await openOptions(h);
    const imported = await addAndImport({ h, options, accounts: ACCOUNTS, quote: 'usd', timeout: 900_000 });
    Object.assign(ids, imported.ids);
    for (const account of ACCOUNTS) t.diagnostic(`${account.exchange}: history imported ${imported.seconds[account.label]} s after the account was added`);

    // Every request reached a stand-in that knows it, signed where the exchange wants a
    // signature (each stand-in checks it, and its nonce or time), and was answered without error.
    assertOnlyAllowedHosts(h);
    const signed = {
      bitso: (r) => /\/v3\/(balance|ledger)/.test(r.path),
      kraken: (r) => r.path.startsWith('/0/private/'),
      binance: (r) => ex.mocks.binance.signedRequests().includes(r),
      bitfinex: (r) => r.path.startsWith('/v2/auth/'),
      coinbase: (r) => !/\/market\/products/.test(r.path),
    };
    for (const [exchange, mock] of Object.entries(ex.mocks)) {
      const wrong = mock.requests.filter((r) => r.error !== null || r.fault !== null || r.authorized !== (signed[exchange](r) ? true : null));
      assert.deepEqual(wrong.map((r) => `${r.method} ${r.path} ${r.authorized} ${r.error}`), [], `${exchange}: refused, faulted or unsigned requests`);
      t.diagnostic(`${exchange}: ${mock.requests.length} requests, ${mock.requests.filter((r) => signed[exchange](r)).length} signed`);
    }
    // More than one page each, as each exchange pages.
    const bitsoPages = ex.mocks.bitso.ledgerRequests();
    assert.equal(bitsoPages.length, 2, 'Bitso: 100 rows, then 8');
    const hundredth = [...BITSO.ledger].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))[99].eid;
    assert.match(bitsoPages[1].path, new RegExp(`marker=${hundredth}$`), 'the second page goes on after the hundredth row');
    assert.equal(ex.mocks.kraken.ledgerRequests().length, 2, 'Kraken: 50 rows, then 18');
    const movements = ex.mocks.bitfinex.historyRequests().filter((r) => r.path === '/v2/auth/r/movements/hist');
    assert.equal(movements.length, 2, 'Bitfinex: 1,000 movements, then the rest from the shared millisecond');
    assert.match(movements[1].body, new RegExp(`"end":${bitfinexMovements[2][6]},`));
    const coinbasePages = ex.mocks.coinbase.historyRequests().map((r) => r.path);
    assert.equal(coinbasePages.filter((path) => path.startsWith(coinbaseMock.FILLS_PATH)).length, 2, 'Coinbase: two pages of fills');
    assert.equal(coinbasePages.filter((path) => /\/transactions\?.*starting_after=/.test(path)).length, 2, 'Coinbase: each wallet\'s second page');
    const windows = ex.mocks.binance.requests.filter((r) => r.path.startsWith('/sapi/v1/capital/deposit/hisrec'));
    assert.ok(windows.length > 30, `Binance: deposits in windows of 89 days since 2017 (${windows.length})`);
  });

  test('every transaction served is stored once, as each exchange wrote it', async () => {
    const stored = await readStorage(h, 'local');
    for (const account of ACCOUNTS) {
      const id = ids[account.label];
      const transactions = Object.entries(stored)
        .filter(([key]) => key.startsWith(`tx:${id}:`))
        .flatMap(([, text]) => JSON.parse(text).transactions);
      const served = SERVED.filter((s) => s.account === account.label).map(storedForm);
      // One line per transaction, its members in one order.
      const line = ({ id: txId, at, kind, side, received, sent, fee }) => {
        const amount = (l) => l && { asset: l.asset, amount: l.amount };
        return JSON.stringify({ id: txId, at, kind, side, received: amount(received), sent: amount(sent), fee: amount(fee) });
      };
      assert.equal(new Set(transactions.map((tx) => tx.id)).size, transactions.length, `${account.label}: no transaction twice`);
      assert.deepEqual(transactions.map(line).sort(), served.map(line).sort(), `${account.label}: every transaction as served`);
    }
  });

  test('Profit and loss opens from the popup and lists the newest of every transaction', async () => {
    const popup = await openPopup(h);
    page = await waitForPage(h, 'pnl/pnl.html', () => popup.getByRole('link', { name: 'Profit and loss' }).click());
    await popup.close();
    const more = english('pnlMoreInExport', { shown: '500', total: String(SERVED.length) });
    await page.getByText(more).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#transactions tbody tr').count(), 500);
    // The transfer, both ends, among the newest.
    const transfer = (kind) => english('pnlKind_transfer', { kind: english(`pnlKind_${kind}`) });
    const table = page.locator('#transactions');
    const withdrawal = table.locator('tbody tr', { hasText: transfer('withdrawal') });
    const deposit = table.locator('tbody tr', { hasText: transfer('deposit') });
    // Asset, amount and account (columns 3, 4 and 7).
    const cells = async (row) => {
      assert.equal(await row.count(), 1);
      const all = await row.locator('td').allTextContents();
      return [all[2], all[3], all[6]];
    };
    assert.deepEqual(await cells(withdrawal), ['BTC', '0.025', BITSO.label]);
    assert.deepEqual(await cells(deposit), ['BTC', '0.0249', KRAKEN.label]);
  });

  for (const [method, name] of METHODS) {
    test(`${name}: every asset and the total, to the cent, as the reference works them out`, async () => {
      const expected = expectedBy(method);
      await page.getByLabel('Method').selectOption(method);
      // The page recomputes as the closes arrive: the first time, wait for the figures to settle.
      await assertHoldingsTable(page, expected, { name, money: DOLLARS, settleMs: closesIn ? 10_000 : 120_000 });
      closesIn = true;

      // Nothing left unexplained or unpriced: the only note is the one on estimated deposits.
      assert.deepEqual(await page.locator('#notes li').allTextContents(), [english('pnlEstimatedNote')]);
      assert.equal((await page.locator('#status').textContent()).trim(), '', 'every import is done');

      // The year summary, all time and then 2026 alone; the fees include the BTC the network kept.
      await assertYearSummaries(page, expected, { name, years: [null, 2026], money: DOLLARS });
    });

    test(`${name}: the realized-gains export has every disposal, the transfer's only its network fee`, async () => {
      const expected = expectedBy(method);
      await page.getByLabel('Method').selectOption(method);
      const { name: file, lines } = await download(page, 'Export realized gains');
      assert.match(file, /^cartera-realized-gains-\d{4}-\d{2}-\d{2}\.csv$/);
      assert.equal(lines[0], 'time,asset,amount,proceeds_USD,cost_basis_USD,gain_USD,account');
      const read = (line) => {
        const [time, asset, amount, proceeds, basis, gain, account] = line.split(',');
        return [time, asset, Q.parse(amount).toDecimal(), Q.parse(proceeds).toDecimal(), Q.parse(basis).toDecimal(), Q.parse(gain).toDecimal(), account];
      };
      const wanted = expected.disposals.map((d) => [isoTime(d.at), d.asset, d.amount.toDecimal(), d.proceeds.toDecimal(), d.basis.toDecimal(), d.gain.toDecimal(), d.account]);
      assert.deepEqual(lines.slice(1).map((line) => read(line).join(',')), wanted.map((cells) => cells.join(',')), `${name}: every disposal, in order`);
      const gains = sum(lines.slice(1).map((line) => Q.parse(line.split(',')[5])));
      assert.equal(gains.cmp(expected.summary(null).realized), 0, 'the gains add up to the realized P&L');

      // The transfer sold nothing: no disposal when the BTC left Bitso; at Kraken only the 0.0001
      // BTC the network kept, at its basis, for nothing.
      const left = bitsoLedger.at(-1);
      assert.equal(lines.filter((line) => line.startsWith(left.created_at.replace('.000+00:00', 'Z'))).length, 0, 'no disposal at the withdrawal');
      const arrived = lines.filter((line) => line.startsWith('2025-07-01T15:00:00Z')).map(read);
      assert.equal(arrived.length, 1);
      const [, asset, amount, proceeds, basis, gain, account] = arrived[0];
      assert.deepEqual([asset, amount, proceeds, account], ['btc', '0.0001', '0', KRAKEN.label]);
      assert.equal(Q.parse(gain).add(Q.parse(basis)).cmp(ZERO), 0, 'a loss of its basis');
      assert.ok(positive(Q.parse(basis)));
    });
  }

  test('the transactions export lists every transaction served once, the transfer marked at both ends', async () => {
    const expected = expectedBy('averageCost');
    const { name: file, lines } = await download(page, 'Export transactions');
    assert.match(file, /^cartera-transactions-\d{4}-\d{2}-\d{2}\.csv$/);
    assert.equal(lines[0], 'time,type,asset,amount,price_USD,fee_USD,account,estimated,transfer');
    assert.equal(lines.length - 1, SERVED.length, 'one row per transaction served');
    const { wanted, read } = transactionsExport(expected, { number: (text) => (text === '' ? '' : Q.parse(text).toDecimal()), numberOf: (q) => q.toDecimal() });
    assert.deepEqual(lines.slice(1).map((line) => read(line).join(',')), wanted.map((cells) => cells.join(',')), 'every transaction, oldest first');
    const transfers = lines.slice(1).map(read).filter((row) => row[8] === 'yes');
    assert.deepEqual(transfers.map((row) => [row[0], row[1], row[3], row[6], row[7]]), [
      ['2025-07-01T10:00:00Z', 'withdrawal', '0.025', BITSO.label, 'no'],
      ['2025-07-01T15:00:00Z', 'deposit', '0.0249', KRAKEN.label, 'no'],
    ]);
    await page.close();
  });
});
