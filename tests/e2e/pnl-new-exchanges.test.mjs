// The first import of transaction history from OKX, Bybit, KuCoin and Mercado Bitcoin, in Chromium
// with the shipped build, and the Profit and loss page's figures against a reference worked out
// here (tests/e2e/pnl-reference.mjs), never by calling the core.
//
// One account on each, added through the options page (OKX and KuCoin with their API
// passphrase), each with a history that takes more than one of its exchange's pages: OKX's bills
// 100 a page (124 bills), Bybit's transaction log 50 a page within one week's window (62 rows),
// KuCoin's ledger 500 a page within one week's window (520 rows of fills), Mercado Bitcoin's
// order list read again in halves once an answer holds 50 orders (60). Between them: buys and
// sells; fees in the asset bought (OKX, Mercado Bitcoin) and in the quote (KuCoin's buys, every
// sale); tether deposited from outside (estimated at market); income (an OKX maker rebate, a
// KuCoin reward, a Bybit airdrop); withdrawals to outside with their fee (OKX's tether, Mercado
// Bitcoin's BTC); and one transfer: BTC withdrawn from KuCoin (with KuCoin's fee) and deposited
// at Bybit five hours later, less the network's fee.
//
// Values are in Brazilian reais (the options page's "Display currency"): Mercado Bitcoin trades
// in reais, tether reaches reais through USDT-BRL and USDTBRL books, BTC through BTC-BRL and
// BTCBRL; every book's closes agree (tether is R$5 every day), so each asset has one price a day
// whichever book prices it.
//
// Every time is days before now: OKX answers the last three months of fills only, Bybit and
// KuCoin two years. Bybit and KuCoin read in windows of a week that start two years before the
// import began; each one's burst of fills is placed inside one such window so that it takes two
// pages. Figures are checked to the cent (and the exports to a millionth): under average cost a
// sale takes a share of a pool whose unit cost has no finite decimal expansion, which the core
// keeps to 12 places; each figure is checked not to lie near a half cent, so the comparison is
// sound.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startExchanges } from './exchanges.mjs';
import { Q } from './expected.mjs';
import {
  assertOnlyAllowedHosts, english, launch, makeProfileDir, openOptions, openPopup, readStorage, removeProfileDir,
  uncaughtErrors, until, waitForPage,
} from './harness.mjs';
import * as bybitMock from './mocks/bybit.mjs';
import * as kucoinMock from './mocks/kucoin.mjs';
import * as mercadobitcoinMock from './mocks/mercadobitcoin.mjs';
import * as okxMock from './mocks/okx.mjs';
import {
  METHODS, ZERO, abs, addAndImport, assertHoldingsTable, assertServedIsSound, assertYearSummaries, download,
  isZero, isoTime, leg, positive, reference, storedForm, sum, transactionsExport,
} from './pnl-reference.mjs';

// ---------------------------------------------------------------------------------------------
// Time and prices

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const dayOf = (at) => Math.floor(at / DAY_MS);
const isoDay = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);

const LOADED = Date.now();
/** Day 0 of the histories: 80 days before today (OKX's bills reach three months back). */
const DAY0 = dayOf(LOADED) - 80;
/** The time `hours` into day `day` of the histories, plus `second` seconds (one per account, so
 * that no two accounts share an instant: the product orders one instant by account id). */
const at = (day, hours, second) => (DAY0 + day) * DAY_MS + hours * HOUR_MS + second * 1000;

/**
 * The first moment after `time` of a window of Bybit's and KuCoin's first import: both read from
 * two years less a minute before the import began (REACH_MS in src/exchange/{bybit,kucoin}/
 * history.rs), a week at a time. The import begins a little after this file loads; six hours'
 * margin on either side keeps a burst placed here inside one window.
 */
function windowStartAfter(time) {
  const first = LOADED - (730 * DAY_MS - MINUTE_MS);
  return first + Math.ceil((time - first) / (7 * DAY_MS)) * 7 * DAY_MS;
}
/** Six hours into the first window after `time`, on a whole minute. */
const burstAfter = (time) => Math.ceil((windowStartAfter(time) + 6 * HOUR_MS) / MINUTE_MS) * MINUTE_MS;

/** BRL is money; tether is R$5; BTC in tether, as steps from a day of the histories on. */
const QUOTE = 'brl';
const BRL_PER_USDT = Q.parse('5');
const BTC_USDT = [[-20, '80000'], [30, '90000'], [60, '100000']];
const NOW_BTC_USDT = Q.parse('110000');

/** The price in reais of one unit of `asset` on the day of `time`, exactly. */
function closeBrl(asset, time) {
  if (asset === QUOTE) return new Q(1n);
  if (asset === 'usdt') return BRL_PER_USDT;
  assert.equal(asset, 'btc', `a close of ${asset}`);
  const day = dayOf(time) - DAY0;
  let close = null;
  for (const [from, price] of BTC_USDT) if (from <= day) close = price;
  assert.ok(close, `a close of BTC on day ${day}`);
  return Q.parse(close).mul(BRL_PER_USDT);
}

function nowBrl(asset) {
  if (asset === 'usdt') return BRL_PER_USDT;
  assert.equal(asset, 'btc');
  return NOW_BTC_USDT.mul(BRL_PER_USDT);
}

/** Every day's close from before the first transaction to today: [[day number, close]]. */
function closesOf(closeOnDay) {
  const days = [];
  for (let day = DAY0 - 20; day <= dayOf(LOADED) + 1; day += 1) days.push([day, closeOnDay(day).toDecimal()]);
  return days;
}
const btcUsdt = (day) => closeBrl('btc', day * DAY_MS).mul(BRL_PER_USDT.inv());
const btcBrl = (day) => closeBrl('btc', day * DAY_MS);
const usdtBrl = () => BRL_PER_USDT;
/** Closes keyed by day number (Bybit, KuCoin, Mercado Bitcoin) or by `YYYY-MM-DD` (OKX). */
const byDay = (closes) => Object.fromEntries(closesOf(closes));
const byIsoDay = (closes) => Object.fromEntries(closesOf(closes).map(([day, close]) => [isoDay(day), close]));

// ---------------------------------------------------------------------------------------------
// The accounts, in each exchange's own shapes

// OKX, in tether: tether deposited, sixty buys of BTC whose fee is taken in BTC (120 bills: two
// pages of 100), a sale with its fee in tether, a buy that earned a maker rebate, and tether
// withdrawn with OKX's fee on top.
const OKX_SECOND = 1;
const okxBills = [];
let okxBillId = 700_000_000_000_000_000n;
function okxFill(n, time, side, btc, usdt, btcFee, usdtFee) {
  const common = {
    bal: '0', clOrdId: '', execType: usdtFee.startsWith('-') || btcFee.startsWith('-') ? 'T' : 'M', fillTime: String(time), from: '',
    instId: 'BTC-USDT', instType: 'SPOT', interest: '0', mgnMode: 'cash', notes: '', ordId: String(640_000_000_000_000_000n + BigInt(n)), pnl: '0',
    posBal: '0', posBalChg: '0', subType: side === 'buy' ? '1' : '2', tag: '', to: '', tradeId: String(596_000_000 + n), ts: String(time), type: '2',
  };
  // `balChg` is net of `fee` (a charge negative, a rebate positive): what moved before the fee plus the fee.
  const bill = (ccy, gross, fee, sz) => {
    okxBillId += 1n;
    return { ...common, billId: String(okxBillId), ccy, balChg: Q.parse(gross).add(Q.parse(fee)).toDecimal(), fee, px: '0', sz };
  };
  const sign = side === 'buy' ? '' : '-';
  okxBills.push(bill('BTC', `${sign}${btc}`, btcFee, btc), bill('USDT', side === 'buy' ? `-${usdt}` : usdt, usdtFee, usdt));
}
for (let i = 0; i < 60; i += 1) okxFill(i + 1, at(2, i * 6, OKX_SECOND), 'buy', '0.01001', '800.8', '-0.00001', '0');
okxFill(61, at(40, 10, OKX_SECOND), 'sell', '0.2', '18000', '0', '-18');
okxFill(62, at(45, 10, OKX_SECOND), 'buy', '0.1', '9000', '0', '0.9');
const OKX = {
  ...okxMock.SAMPLE_ACCOUNT,
  exchange: 'okx', label: 'OKX tether',
  trading: [
    { ccy: 'BTC', eq: '0.5', cashBal: '0.5', availBal: '0.5', frozenBal: '0', ordFrozen: '0', upl: '' },
    { ccy: 'USDT', eq: '9933.9', cashBal: '9933.9', availBal: '9933.9', frozenBal: '0', ordFrozen: '0', upl: '' },
  ],
  funding: [],
  savings: [],
  history: {
    bills: okxBills,
    deposits: [{
      actualDepBlkConfirm: '12', amt: '50000', areaCodeFrom: '', ccy: 'USDT', chain: 'USDT-TRC20', depId: '88001', from: '', fromWdId: '', state: '2',
      to: 'TPnlDepositAddress000000000000000000', ts: String(at(1, 9, OKX_SECOND)), txId: 'pnlokxdeposit0001',
    }],
    withdrawals: [{
      chain: 'USDT-TRC20', fee: '1', feeCcy: 'USDT', ccy: 'USDT', clientId: '', amt: '1000', txId: 'pnlokxwithdrawal0001', from: '', areaCodeFrom: '',
      to: 'TPnlOutsideAddress000000000000000000', areaCodeTo: '', state: '2', ts: String(at(50, 12, OKX_SECOND)), nonTradableAsset: false, wdId: '99001',
    }],
  },
};

// KuCoin, in tether: tether deposited, 260 buys of 0.001 BTC within one window of a week, each a
// pair of ledger rows with the fee in tether (520 rows: two pages of 500), a reward, and the BTC
// withdrawn to Bybit with KuCoin's fee.
const KUCOIN_SECOND = 3;
const kucoinLedger = [];
let kucoinSerial = 0;
function kucoinRow(currency, amount, fee, bizType, direction, time, context = '') {
  kucoinSerial += 1;
  kucoinLedger.push({
    id: `6a1f00000000000000${String(kucoinSerial).padStart(6, '0')}`, currency, amount, fee, balance: '0',
    accountType: bizType === 'Exchange' ? 'TRADE' : 'MAIN', bizType, direction, createdAt: time, context,
  });
}
const KUCOIN_BURST = burstAfter(at(4, 0, 0)) + KUCOIN_SECOND * 1000;
kucoinRow('USDT', '25000', '0', 'Deposit', 'in', at(3, 8, KUCOIN_SECOND), JSON.stringify({ orderId: '6a1d00000000000000000001', txId: 'pnlkucoindeposit01' }));
for (let i = 0; i < 260; i += 1) {
  const context = JSON.stringify({ symbol: 'BTC-USDT', orderId: `6a1e${String(i).padStart(20, '0')}`, tradeId: `6a1c${String(i).padStart(20, '0')}` });
  const time = KUCOIN_BURST + i * 20 * MINUTE_MS;
  // The tether that left includes the fee; the BTC that came in is all the buy's.
  kucoinRow('BTC', '0.001', '0', 'Exchange', 'in', time, context);
  kucoinRow('USDT', '80.08', '0.08', 'Exchange', 'out', time, context);
}
kucoinRow('USDT', '10', '0', 'Rewards', 'in', at(20, 0, KUCOIN_SECOND), JSON.stringify({ orderId: '6a1d00000000000000000002' }));
kucoinRow('BTC', '0.1005', '0.0005', 'Withdrawal', 'out', at(55, 10, KUCOIN_SECOND), JSON.stringify({ orderId: '6a1d00000000000000000003', txId: 'pnlkucointobybit' }));
const KUCOIN = {
  ...kucoinMock.SAMPLE_ACCOUNT,
  exchange: 'kucoin', label: 'KuCoin tether',
  rows: [
    { id: '6a1b00000000000000000001', currency: 'BTC', type: 'trade', balance: '0.1595', available: '0.1595', holds: '0' },
    { id: '6a1b00000000000000000002', currency: 'USDT', type: 'trade', balance: '4189.2', available: '4189.2', holds: '0' },
  ],
  // No isolated-margin position: every balance is one the ledger explains.
  isolated: [],
  history: kucoinLedger,
};

// Bybit, in tether: tether deposited, thirty buys of BTC within one window of a week with the fee
// in tether (60 rows of the transaction log: two pages of 50), the BTC from KuCoin, an airdrop, a
// sale with its fee in tether.
const BYBIT_SECOND = 2;
const bybitLog = [];
function bybitFill(n, time, side, btc, usdt, usdtFee) {
  const common = {
    symbol: 'BTCUSDT', category: 'spot', side: side === 'buy' ? 'Buy' : 'Sell', transactionTime: String(time), type: 'TRADE', transSubType: '',
    size: '0', tradePrice: '0', funding: '', cashBalance: '0', feeRate: '0.001', bonusChange: '', tradeId: `pnl-bybit-trade-${n}`,
    orderId: `pnl-bybit-order-${n}`, orderLinkId: '', extraFees: '',
  };
  // `change` is what the coin's balance moved: what the leg moved less its fee.
  const row = (suffix, currency, gross, fee) => {
    const change = Q.parse(gross).add(Q.parse(fee).mul(new Q(-1n))).toDecimal();
    return { ...common, id: `pnl_bybit_${n}_${suffix}`, currency, qty: change, change, cashFlow: change, fee };
  };
  const sign = side === 'buy' ? '' : '-';
  bybitLog.push(row('btc', 'BTC', `${sign}${btc}`, '0'), row('usdt', 'USDT', side === 'buy' ? `-${usdt}` : usdt, usdtFee));
}
const BYBIT_BURST = burstAfter(at(31, 0, 0)) + BYBIT_SECOND * 1000;
for (let i = 0; i < 30; i += 1) bybitFill(i + 1, BYBIT_BURST + i * 2 * HOUR_MS, 'buy', '0.002', '180', '0.18');
bybitLog.push({
  id: 'pnl_bybit_airdrop_1', symbol: '', category: '', side: 'None', transactionTime: String(at(58, 3, BYBIT_SECOND)), type: 'AIRDROP', transSubType: '',
  qty: '0.001', size: '0', currency: 'BTC', tradePrice: '', funding: '', fee: '0', cashFlow: '0', change: '0.001', cashBalance: '0', feeRate: '',
  bonusChange: '', tradeId: '', orderId: '', orderLinkId: '', extraFees: '',
});
bybitFill(31, at(65, 12, BYBIT_SECOND), 'sell', '0.1', '10000', '10');
const bybitDeposit = (id, coin, amount, time) => ({
  id, coin, chain: coin, amount, txID: `pnl-bybit-tx-${id}`, status: 3, toAddress: `pnl-bybit-address-${coin}`, tag: '', depositFee: '',
  successAt: String(time), confirmations: '12', txIndex: '0', blockHash: '', batchReleaseLimit: '-1', depositType: '0',
});
const unified = (coin, walletBalance) => ({
  availableToBorrow: '', bonus: '0', accruedInterest: '0', availableToWithdraw: '', totalOrderIM: '0', equity: walletBalance, totalPositionMM: '0',
  usdValue: '0', spotHedgingQty: '0', unrealisedPnl: '0', collateralSwitch: true, borrowAmount: '0', totalPositionIM: '0', walletBalance,
  cumRealisedPnl: '0', locked: '0', marginCollateral: true, coin, spotBorrow: '0',
});
const BYBIT = {
  ...bybitMock.SAMPLE_ACCOUNT,
  exchange: 'bybit', label: 'Bybit tether',
  unified: [unified('BTC', '0.0609'), unified('USDT', '14584.6')],
  fund: [],
  history: {
    log: bybitLog,
    deposits: [bybitDeposit('pnlbybitdeposit1', 'USDT', '10000', at(30, 5, BYBIT_SECOND)), bybitDeposit('pnlbybitdeposit2', 'BTC', '0.0999', at(55, 15, BYBIT_SECOND))],
    withdrawals: [],
  },
};

// Mercado Bitcoin, in reais: reais by PIX, sixty buy orders of BTC (the fee, 0.5 %, taken from the
// BTC; 60 orders make the order list be read again in halves), a sale (the fee taken from the
// reais), BTC withdrawn to outside with its fee.
const MERCADO_SECOND = 4;
const secs = (time) => time / 1000;
function mercadoOrder(n, time, side, qty, price, feeRate) {
  const execution = { executed_at: secs(time), fee_rate: feeRate, id: String(810_000 + n), instrument: 'BTC-BRL', price, qty, side, liquidity: 'taker' };
  return {
    avgPrice: price, cost: Number(Q.parse(qty).mul(Q.parse(String(price))).toDecimal()), created_at: secs(time) - 2, externalId: '', fee: '0',
    filledQty: qty, id: `01PNLMB${String(n).padStart(19, '0')}`, instrument: 'BTC-BRL', limitPrice: price, qty, side, status: 'filled', stopPrice: 0,
    triggerOrderId: '', type: 'limit', updated_at: secs(time), executions: [execution],
  };
}
const mercadoOrders = [];
for (let i = 0; i < 60; i += 1) mercadoOrders.push(mercadoOrder(i + 1, at(1, i * 5, MERCADO_SECOND), 'buy', '0.002', 398000, '0.50000000'));
mercadoOrders.push(mercadoOrder(61, at(65, 9, MERCADO_SECOND), 'sell', '0.05', 500000, '0.50000000'));
const [mercadoMain] = mercadobitcoinMock.SAMPLE_ACCOUNT.accounts;
const MERCADO = {
  ...mercadobitcoinMock.SAMPLE_ACCOUNT,
  exchange: 'mercadobitcoin', label: 'Mercado reais',
  accounts: [{
    ...mercadoMain,
    balances: [
      { symbol: 'BRL', available: '77115.00000000', on_hold: '0.00000000', total: '77115.00000000' },
      { symbol: 'BTC', available: '0.04930000', on_hold: '0.00000000', total: '0.04930000' },
    ],
    history: {
      orders: mercadoOrders,
      deposits: [],
      fiatDeposits: [{
        id: 51001, amount: '100000.00', coin: 'BRL', status: 'CREDITED', transferType: 'pix',
        source: { bank_code: '208', bank_name: 'BTG Pactual', account_branch: '0001', account_number: '0123432', created_at: secs(at(0, 12, MERCADO_SECOND)), updated_at: secs(at(0, 12, MERCADO_SECOND)) },
      }],
      withdrawals: [{
        account: '', address: 'bc1qpnloutside00000000000000000000000000', coin: 'BTC', created_at: String(secs(at(70, 9, MERCADO_SECOND) - 600_000)), description: '',
        destination_tag: '', fee: '0.00010000', id: 61001, net_quantity: '0.02000000', network: 'bitcoin', quantity: '0.02010000', status: 2,
        tx: 'pnlmercadowithdrawal01', updated_at: String(secs(at(70, 9, MERCADO_SECOND))),
      }],
    },
  }],
};

const ACCOUNTS = [OKX, KUCOIN, BYBIT, MERCADO];

// ---------------------------------------------------------------------------------------------
// Markets and daily closes: BTC R$550,000 and tether R$5 now; every book's closes agree.

const VOLUME = '1000000';
const okxTicker = (instId, last) => ({
  instType: 'SPOT', instId, last, lastSz: '1', askPx: last, askSz: '1', bidPx: last, bidSz: '1', open24h: last, high24h: last, low24h: last,
  volCcy24h: '0', vol24h: VOLUME, ts: String(LOADED), sodUtc0: last, sodUtc8: last,
});
const kucoinTicker = (symbol, last) => ({
  symbol, symbolName: symbol, buy: last, sell: last, bestBidSize: '1', bestAskSize: '1', changeRate: '0', changePrice: '0', high: last, low: last,
  vol: VOLUME, volValue: '0', last, averagePrice: last, takerFeeRate: '0.001', makerFeeRate: '0.001', takerCoefficient: '1', makerCoefficient: '1',
});
const mercadoTicker = (pair, last) => ({ pair, high: last, low: last, vol: VOLUME, last, buy: last, sell: last, open: last, date: secs(LOADED) });

function exchangeOptions() {
  const nowBtcUsdt = NOW_BTC_USDT.toDecimal();
  const nowBtcBrl = nowBrl('btc').toDecimal();
  const usdt = BRL_PER_USDT.toDecimal();
  return {
    okx: {
      accounts: { [OKX.apiKey]: OKX },
      markets: [okxTicker('BTC-USDT', nowBtcUsdt)],
      closes: { 'BTC-USDT': byIsoDay(btcUsdt) },
    },
    kucoin: {
      accounts: { [KUCOIN.apiKey]: KUCOIN },
      markets: [kucoinTicker('BTC-USDT', nowBtcUsdt)],
      closes: { 'BTC-USDT': byDay(btcUsdt) },
    },
    bybit: {
      accounts: { [BYBIT.apiKey]: BYBIT },
      markets: [
        ['BTCUSDT', 'BTC', 'USDT', nowBtcUsdt, VOLUME, nowBtcUsdt],
        ['BTCBRL', 'BTC', 'BRL', nowBtcBrl, VOLUME, nowBtcBrl],
        ['USDTBRL', 'USDT', 'BRL', usdt, VOLUME, usdt],
      ],
      closes: { BTCUSDT: byDay(btcUsdt), BTCBRL: byDay(btcBrl), USDTBRL: byDay(usdtBrl) },
    },
    mercadobitcoin: {
      accounts: { [MERCADO.apiKey]: MERCADO },
      markets: [mercadoTicker('BTC-BRL', nowBtcBrl), mercadoTicker('USDT-BRL', usdt)],
      closes: { 'BTC-BRL': byDay(btcBrl), 'USDT-BRL': byDay(usdtBrl) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What the stand-ins served, read as transactions the way each exchange documents its rows (and
// the product documents its choices, src/exchange/<id>/history.rs), in the product's stored shape.

const code = (currency) => currency.toLowerCase();
const negated = (q) => new Q(-q.n, q.d);

/** OKX: a fill's two bills (one tradeId) are one trade; each bill moved `balChg − fee` before its
 * fee; a negative fee is charged, a positive one a rebate (a reward of its own). Deposits their
 * `amt`; withdrawals their `amt` and the fee on top. */
function okxTransactions(account) {
  const out = [];
  const fills = new Map();
  for (const bill of account.history.bills) fills.set(bill.tradeId, [...(fills.get(bill.tradeId) ?? []), bill]);
  for (const [trade, bills] of fills) {
    const legs = bills.map((bill) => ({ asset: code(bill.ccy), gross: Q.parse(bill.balChg).add(negated(Q.parse(bill.fee))), fee: Q.parse(bill.fee) }));
    const received = legs.find((l) => positive(l.gross));
    const sent = legs.find((l) => !positive(l.gross));
    const id = `fill:${bills[0].instId}:${trade}`;
    const time = Number(bills[0].ts);
    const charged = legs.find((l) => l.fee.n < 0n);
    out.push({
      id, at: time, kind: 'trade', side: bills[0].subType === '1' ? 'buy' : 'sell', received: leg(received.asset, received.gross), sent: leg(sent.asset, abs(sent.gross)),
      ...(charged && { fee: leg(charged.asset, abs(charged.fee)) }),
    });
    for (const rebate of legs.filter((l) => positive(l.fee))) out.push({ id: `${id}:rebate:${rebate.asset}`, at: time, kind: 'reward', received: leg(rebate.asset, rebate.fee) });
  }
  for (const row of account.history.deposits) out.push({ id: `deposit:${row.depId}`, at: Number(row.ts), kind: 'deposit', received: leg(code(row.ccy), row.amt) });
  for (const row of account.history.withdrawals) {
    out.push({ id: `withdrawal:${row.wdId}`, at: Number(row.ts), kind: 'withdrawal', sent: leg(code(row.ccy), row.amt), fee: leg(code(row.feeCcy), row.fee) });
  }
  return out;
}

/** KuCoin's ledger: a fill's two `Exchange` rows (one tradeId in the context) are one trade, a
 * buy when the symbol's base came in; what came in is its `amount` (the fee taken after), what
 * left its `amount` less the fee. Deposits, rewards; a withdrawal sends `amount` less its fee. */
function kucoinTransactions(account) {
  const out = [];
  const fills = new Map();
  for (const row of account.history) {
    const id = `ledger:${row.id}`;
    if (row.bizType === 'Exchange') {
      const { tradeId } = JSON.parse(row.context);
      fills.set(tradeId, [...(fills.get(tradeId) ?? []), row]);
    } else if (row.bizType === 'Deposit') out.push({ id, at: row.createdAt, kind: 'deposit', received: leg(code(row.currency), row.amount) });
    else if (row.bizType === 'Rewards') out.push({ id, at: row.createdAt, kind: 'reward', received: leg(code(row.currency), row.amount) });
    else if (row.bizType === 'Withdrawal') {
      const fee = Q.parse(row.fee);
      out.push({ id, at: row.createdAt, kind: 'withdrawal', sent: leg(code(row.currency), Q.parse(row.amount).add(negated(fee))), fee: leg(code(row.currency), fee) });
    }
  }
  for (const [trade, rows] of fills) {
    const incoming = rows.find((row) => row.direction === 'in');
    const outgoing = rows.find((row) => row.direction === 'out');
    const { symbol } = JSON.parse(incoming.context);
    const charged = rows.find((row) => !isZero(Q.parse(row.fee)));
    out.push({
      id: `trade:${trade}`, at: incoming.createdAt, kind: 'trade', side: code(symbol.split('-')[0]) === code(incoming.currency) ? 'buy' : 'sell',
      received: leg(code(incoming.currency), incoming.amount), sent: leg(code(outgoing.currency), Q.parse(outgoing.amount).add(negated(Q.parse(outgoing.fee)))),
      ...(charged && { fee: leg(code(charged.currency), charged.fee) }),
    });
  }
  return out;
}

/** Bybit: a spot fill's two log rows (one tradeId) are one trade, each leg `change + fee` before
 * its fee, the fee (positive) charged in that coin; an airdrop is a reward. Deposits credited
 * (status 3) their `amount`. */
function bybitTransactions(account) {
  const out = [];
  const fills = new Map();
  for (const row of account.history.log) {
    if (row.type === 'AIRDROP') out.push({ id: `log:${row.id}`, at: Number(row.transactionTime), kind: 'reward', received: leg(code(row.currency), row.change) });
    else fills.set(row.tradeId, [...(fills.get(row.tradeId) ?? []), row]);
  }
  for (const [trade, rows] of fills) {
    const legs = rows.map((row) => ({ asset: code(row.currency), gross: Q.parse(row.change).add(Q.parse(row.fee)), fee: Q.parse(row.fee) }));
    const received = legs.find((l) => positive(l.gross));
    const sent = legs.find((l) => !positive(l.gross));
    const charged = legs.find((l) => positive(l.fee));
    out.push({
      id: `trade:${trade}`, at: Number(rows[0].transactionTime), kind: 'trade', side: rows[0].side === 'Buy' ? 'buy' : 'sell',
      received: leg(received.asset, received.gross), sent: leg(sent.asset, abs(sent.gross)), ...(charged && { fee: leg(charged.asset, charged.fee) }),
    });
  }
  for (const row of account.history.deposits) out.push({ id: `deposit:${row.id}`, at: Number(row.successAt), kind: 'deposit', received: leg(code(row.coin), row.amount) });
  return out;
}

/** Mercado Bitcoin: each execution a trade against reais, its fee `fee_rate`% of what it
 * credited (to 8 places) in that asset; PIX deposits; a withdrawal its `net_quantity`, the fee on
 * top, at `updated_at`. */
function mercadoTransactions(account) {
  const out = [];
  const { history } = account.accounts[0];
  for (const order of history.orders) {
    for (const e of order.executions) {
      const base = leg('btc', e.qty);
      const money = leg('brl', Q.parse(e.qty).mul(Q.parse(String(e.price))));
      const [received, sent] = order.side === 'buy' ? [base, money] : [money, base];
      const fee = Q.parse(received.amount.mul(Q.parse(e.fee_rate)).mul(new Q(1n, 100n)).toFixed(8));
      out.push({ id: `fill:BTC-BRL:${e.id}`, at: e.executed_at * 1000, kind: 'trade', side: order.side, received, sent, fee: leg(received.asset, fee) });
    }
  }
  for (const row of history.fiatDeposits) out.push({ id: `fiat-deposit:${row.id}`, at: row.source.created_at * 1000, kind: 'deposit', received: leg('brl', row.amount) });
  for (const row of history.withdrawals) {
    out.push({ id: `withdrawal:${row.id}`, at: Number(row.updated_at) * 1000, kind: 'withdrawal', sent: leg(code(row.coin), row.net_quantity), fee: leg(code(row.coin), row.fee) });
  }
  return out;
}

const READERS = { okx: okxTransactions, kucoin: kucoinTransactions, bybit: bybitTransactions, mercadobitcoin: mercadoTransactions };
/** Every transaction the stand-ins served, each with its account's label. */
const SERVED = ACCOUNTS.flatMap((account) => READERS[account.exchange](account).map((transaction) => ({ account: account.label, ...transaction })));

const HOLDINGS = { okx: okxMock.expectedHoldings, kucoin: kucoinMock.expectedHoldings, bybit: bybitMock.expectedHoldings, mercadobitcoin: mercadobitcoinMock.expectedHoldings };
/** What each account holds, read from its stand-in's balances by the stand-ins' own readers. */
const HELD = Object.fromEntries(ACCOUNTS.map((account) => [
  account.label,
  Object.fromEntries(Object.entries(HOLDINGS[account.exchange](account)).map(([asset, amount]) => [asset, Q.parse(amount)]).filter(([, q]) => !isZero(q))),
]));

const expectedBy = (method) => reference({ method, served: SERVED, held: HELD, quote: QUOTE, closeOf: closeBrl, nowOf: nowBrl });

// ---------------------------------------------------------------------------------------------
// Reading the page, in reais

/** A figure in cents as the page rounds it (half away from zero), checked not to lie within a
 * millionth of a cent of a half cent, where the core's 12 places could round the other way. */
function centsShown(q, what) {
  const hundredths = q.mul(new Q(100n));
  const floor = hundredths.n >= 0n ? hundredths.n / hundredths.d : -((-hundredths.n + hundredths.d - 1n) / hundredths.d);
  const fraction = hundredths.add(new Q(-floor)).add(new Q(-1n, 2n));
  assert.ok(fraction.cmp(new Q(1n, 1_000_000n)) > 0 || fraction.cmp(new Q(-1n, 1_000_000n)) < 0, `${what} is not near a half cent: ${q.toFixed(12)}`);
  return BigInt(q.toFixed(2).replace('.', ''));
}
/** The page's money, in reais. */
const REAIS = { symbol: 'R$', figureCents: centsShown };
/** A number of an export, to a millionth. */
const millionths = (text) => (text === '' ? '' : Q.parse(text).toFixed(6));

describe('profit and loss from the first import of OKX, Bybit, KuCoin and Mercado Bitcoin', { timeout: 900_000 }, () => {
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

  test('the four accounts, added through the options page, import their whole history, every request signed and checked', async (t) => {
    const options = await openOptions(h);
    const imported = await addAndImport({ h, options, accounts: ACCOUNTS, quote: QUOTE, timeout: 600_000 });
    Object.assign(ids, imported.ids);
    for (const account of ACCOUNTS) t.diagnostic(`${account.exchange}: history imported ${imported.seconds[account.label]} s after the account was added`);

    // Every request reached a stand-in that knows it, signed (or with its bearer token) where the
    // exchange wants it, and was answered without error.
    assertOnlyAllowedHosts(h);
    for (const [exchange, mock] of Object.entries(ex.mocks)) {
      const wrong = mock.requests.filter((r) => r.error !== null || r.fault !== null || r.authorized === false || r.authorized === 'unexpected-signature'
        || r.authorized === 'unexpected-token');
      assert.deepEqual(wrong.map((r) => `${r.method} ${r.path} ${r.authorized} ${r.error}`), [], `${exchange}: refused, faulted or wrongly signed requests`);
      t.diagnostic(`${exchange}: ${mock.requests.length} requests, ${mock.requests.filter((r) => r.authorized === true).length} signed or authorized`);
    }

    // More than one page each, as each exchange pages.
    const okxBillPages = ex.mocks.okx.requests.filter((r) => r.path.startsWith('/api/v5/account/bills-archive'));
    assert.equal(okxBillPages.length, 2, 'OKX: 100 bills, then 24');
    assert.match(okxBillPages[1].path, /&after=\d+$/);
    const kucoinPages = ex.mocks.kucoin.historyRequests().filter((r) => /currentPage=2\b/.test(r.path));
    assert.equal(kucoinPages.length, 1, 'KuCoin: the week of fills in two pages of 500');
    const bybitLogPages = ex.mocks.bybit.historyRequests().filter((r) => r.path.startsWith('/v5/account/transaction-log') && /cursor=/.test(r.path));
    assert.equal(bybitLogPages.length, 1, 'Bybit: the week of fills in two pages of 50');
    const mercadoOrderReads = ex.mocks.mercadobitcoin.historyRequests().filter((r) => r.path.includes('/BTC-BRL/orders'));
    assert.ok(mercadoOrderReads.length > 2, `Mercado Bitcoin: the order list read again in halves (${mercadoOrderReads.length} reads)`);
  });

  test('every transaction served is stored once, as each exchange wrote it', async () => {
    const stored = await readStorage(h, 'local');
    for (const account of ACCOUNTS) {
      const id = ids[account.label];
      const transactions = Object.entries(stored)
        .filter(([key]) => key.startsWith(`tx:${id}:`))
        .flatMap(([, text]) => JSON.parse(text).transactions);
      const served = SERVED.filter((s) => s.account === account.label).map(storedForm);
      const line = ({ id: txId, at: time, kind, side, received, sent, fee }) => {
        const amount = (l) => l && { asset: l.asset, amount: l.amount };
        return JSON.stringify({ id: txId, at: time, kind, side, received: amount(received), sent: amount(sent), fee: amount(fee) });
      };
      assert.equal(new Set(transactions.map((tx) => tx.id)).size, transactions.length, `${account.label}: no transaction twice`);
      assert.deepEqual(transactions.map(line).sort(), served.map(line).sort(), `${account.label}: every transaction as served`);
    }
  });

  test('Profit and loss opens from the popup and lists every transaction, the transfer at both ends', async () => {
    const popup = await openPopup(h);
    page = await waitForPage(h, 'pnl/pnl.html', () => popup.getByRole('link', { name: 'Profit and loss' }).click());
    await popup.close();
    // Fewer than the 500 the page lists: every one, and no pointer to the export.
    await until(async () => (await page.locator('#transactions tbody tr').count()) === SERVED.length, { timeout: 60_000, message: 'every transaction listed' });
    assert.equal(await page.getByText(english('pnlMoreInExport', { shown: '500', total: String(SERVED.length) })).count(), 0);
    const transfer = (kind) => english('pnlKind_transfer', { kind: english(`pnlKind_${kind}`) });
    const table = page.locator('#transactions');
    const cells = async (row) => {
      assert.equal(await row.count(), 1);
      const all = await row.locator('td').allTextContents();
      return [all[2], all[3], all[6]];
    };
    assert.deepEqual(await cells(table.locator('tbody tr', { hasText: transfer('withdrawal') })), ['BTC', '0.1', KUCOIN.label]);
    assert.deepEqual(await cells(table.locator('tbody tr', { hasText: transfer('deposit') })), ['BTC', '0.0999', BYBIT.label]);
  });

  for (const [method, name] of METHODS) {
    test(`${name}: every asset and the total, to the cent, as the reference works them out`, async () => {
      const expected = expectedBy(method);
      await page.getByLabel('Method').selectOption(method);
      await assertHoldingsTable(page, expected, { name, money: REAIS, settleMs: closesIn ? 10_000 : 120_000 });
      closesIn = true;

      assert.deepEqual(await page.locator('#notes li').allTextContents(), [english('pnlEstimatedNote')]);
      assert.equal((await page.locator('#status').textContent()).trim(), '', 'every import is done');

      // The year summary, all time and the year of the latest transaction (all are of the last
      // 80 days: of one year, or early in a year of two).
      await assertYearSummaries(page, expected, { name, years: [null, new Date(Math.max(...SERVED.map((s) => s.at))).getUTCFullYear()], money: REAIS });
    });

    test(`${name}: the realized-gains export has every disposal, the transfer's only its network fee`, async () => {
      const expected = expectedBy(method);
      await page.getByLabel('Method').selectOption(method);
      const { name: file, lines } = await download(page, 'Export realized gains');
      assert.match(file, /^cartera-realized-gains-\d{4}-\d{2}-\d{2}\.csv$/);
      assert.equal(lines[0], 'time,asset,amount,proceeds_BRL,cost_basis_BRL,gain_BRL,account');
      const read = (line) => {
        const [time, asset, amount, proceeds, basis, gain, account] = line.split(',');
        return [time, asset, Q.parse(amount).toDecimal(), millionths(proceeds), millionths(basis), millionths(gain), account];
      };
      const wanted = expected.disposals.map((d) => [isoTime(d.at), d.asset, d.amount.toDecimal(), d.proceeds.toFixed(6), d.basis.toFixed(6), d.gain.toFixed(6), d.account]);
      assert.deepEqual(lines.slice(1).map((line) => read(line).join(',')), wanted.map((cells) => cells.join(',')), `${name}: every disposal, in order`);
      const gains = sum(lines.slice(1).map((line) => Q.parse(line.split(',')[5])));
      assert.equal(centsShown(gains, 'the gains exported'), centsShown(expected.summary(null).realized, 'realized'), 'the gains add up to the realized P&L');

      // The transfer sold nothing: no disposal when the BTC left KuCoin but KuCoin's fee; at
      // Bybit only the 0.0001 BTC the network kept, at its basis, for nothing.
      const left = lines.slice(1).map(read).filter((row) => row[0] === isoTime(at(55, 10, KUCOIN_SECOND)));
      assert.deepEqual(left.map((row) => [row[1], row[2], row[3], row[6]]), [['btc', '0.0005', '0.000000', KUCOIN.label]]);
      const arrived = lines.slice(1).map(read).filter((row) => row[0] === isoTime(at(55, 15, BYBIT_SECOND)));
      assert.equal(arrived.length, 1);
      const [, asset, amount, proceeds, basis, gain, account] = arrived[0];
      assert.deepEqual([asset, amount, proceeds, account], ['btc', '0.0001', '0.000000', BYBIT.label]);
      assert.equal(Q.parse(gain).add(Q.parse(basis)).cmp(ZERO), 0, 'a loss of its basis');
      assert.ok(positive(Q.parse(basis)));
    });
  }

  test('the transactions export lists every transaction served once, the transfer marked at both ends', async () => {
    const expected = expectedBy('averageCost');
    const { name: file, lines } = await download(page, 'Export transactions');
    assert.match(file, /^cartera-transactions-\d{4}-\d{2}-\d{2}\.csv$/);
    assert.equal(lines[0], 'time,type,asset,amount,price_BRL,fee_BRL,account,estimated,transfer');
    assert.equal(lines.length - 1, SERVED.length, 'one row per transaction served');
    const { wanted, read } = transactionsExport(expected, { number: millionths, numberOf: (q) => q.toFixed(6) });
    assert.deepEqual(lines.slice(1).map((line) => read(line).join(',')), wanted.map((cells) => cells.join(',')), 'every transaction, oldest first');
    const transfers = lines.slice(1).map(read).filter((row) => row[8] === 'yes');
    assert.deepEqual(transfers.map((row) => [row[0], row[1], row[3], row[6], row[7]]), [
      [isoTime(at(55, 10, KUCOIN_SECOND)), 'withdrawal', '0.1', KUCOIN.label, 'no'],
      [isoTime(at(55, 15, BYBIT_SECOND)), 'deposit', '0.0999', BYBIT.label, 'no'],
    ]);
    await page.close();
  });
});
