// A stand-in for https://api.binance.com. Every signed request is checked the way Binance
// documents it (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security):
//   X-MBX-APIKEY: <key>; signature = hex HMAC-SHA256(secret, query string + form body), sent as
//   the last parameter `signature=` of the query string or of the body (and not itself signed);
//   `timestamp` (ms) within `recvWindow` (default 5000, at most 60000) of the mock's clock, and
//   not 1 s or more ahead of it. Binance has no nonce: timestamps may repeat or go backwards.
//
//   const binance = createBinance({ accounts: { [apiKey]: account }, markets, clockOffsetMs, closes, now });
//   binance.requests, binance.signedRequests(), binance.setFault(target, fault | null, { times }),
//   binance.clearFaults(), binance.setAccount(apiKey, account), binance.setMarkets(markets),
//   binance.setClockOffset(ms), binance.now(), binance.books()
//
// An account is { secret, spot, funding, flexible, locked, canTrade?, canWithdraw?, canTransfer? }
// in Binance's own shapes (see SAMPLE_ACCOUNT); canTrade, canWithdraw and canTransfer are the key's
// permissions as /sapi/v1/account/apiRestrictions reports them. /api/v3/account always says
// canTrade/canWithdraw true: those describe the account, not the key.
// A market is [symbol, baseAsset, quoteAsset, lastPrice, volume, priceChange] (see SAMPLE_MARKETS);
// the base and quote play exchangeInfo's part for books() and are not in the ticker answer.
// `clockOffsetMs` puts the mock's clock ahead (or behind) the computer's; `now` (ms) is the
// computer's clock, injectable (the benchmark simulates time).
//
// Paths: GET /api/v3/time, GET /api/v3/ticker/24hr[?symbol=], and signed: GET /api/v3/account
// [?omitZeroBalances=true], POST /sapi/v1/asset/get-funding-asset, GET
// /sapi/v1/simple-earn/{flexible,locked}/position?current=&size= (size ≤ 100), GET
// /sapi/v1/account/apiRestrictions.
//
// History (signed GETs, served from the account's `history`, rows in Binance's own shapes, each
// tagged with `type`: 'deposit', 'withdrawal', 'convert', 'dividend', 'dust' or 'trade'; see
// SAMPLE_HISTORY): /sapi/v1/capital/deposit/hisrec and /sapi/v1/capital/withdraw/history
// (startTime–endTime under 90 days, offset, limit ≤ 1000), /sapi/v1/convert/tradeFlow (both times
// required, at most 30 days, limit ≤ 1000, moreData), /sapi/v1/asset/assetDividend (at most 180
// days, limit ≤ 500, total), /sapi/v1/asset/dribblet (the last 100 conversions) and
// /api/v3/myTrades (symbol required, fromId, limit ≤ 1000), Simple Earn rewards
// /sapi/v1/simple-earn/{flexible,locked}/history/rewardsRecord (rows tagged 'earnFlexible' and
// 'earnLocked'; at most 3 months, the last 30 days without times, current from 1, size ≤ 100,
// total; flexible requires type BONUS, REALTIME, REWARDS or ALL), /sapi/v1/fiat/payments (rows
// tagged 'fiatBuy' and 'fiatSell', transactionType 0 or 1) and /sapi/v1/fiat/orders ('fiatDeposit'
// and 'fiatWithdrawal'; 90,000 UID weight), both with beginTime–endTime of any length (the last
// 30 days without), page from 1, rows ≤ 500, in the {code, message, data, total, success}
// envelope; see SAMPLE_EARN_FIAT_HISTORY. An account with
// `historyPermission: false` is refused there with -2015. Public: GET /api/v3/exchangeInfo (the
// markets' symbol, base and quote) and GET /api/v3/klines?symbol=&interval=1d (limit ≤ 1000),
// whose closes come from `closes` ({ [symbol]: { 'YYYY-MM-DD': close } }) or else are the
// market's last price every day.
//
// Fault targets: an API key, 'time', 'ticker', 'account', 'funding', 'flexible', 'locked',
// 'restrictions', 'deposits', 'withdrawals', 'converts', 'dividends', 'dust', 'trades',
// 'earnFlexibleRewards', 'earnLockedRewards', 'fiatPayments', 'fiatOrders',
// 'exchangeInfo', 'klines', or '*' (everything). Faults:
//   'error:<code>'       Binance's error body for that code (-2015, -2014, -1022, -1021, -1003,
//                        -1001, -1008, -1016, -1100, …) with the HTTP status Binance uses for it
//   'rate-limit'         HTTP 429 -1003 with Retry-After: 30
//   'retry-after:<v>'    HTTP 429 -1003 with that Retry-After header
//   'ban'                HTTP 418 -1003 "IP banned until …" with Retry-After: 120
//   'geo'                HTTP 451, Binance's restricted-location body
//   'waf'                HTTP 403, the CloudFront/WAF HTML page
//   'http:<status>'      that status with a plain-text body; 'http:<status>:<code>' with an error body
//   'malformed'          truncated JSON; 'huge' a body far larger than any real answer
//   'timeout'            never answers; 'redirect' 302 to another host

import { createHmac, timingSafeEqual } from 'node:crypto';

import { Q } from '../expected.mjs';
import { faultTable, redirectResponse } from '../mock-server.mjs';

export const HOST = 'api.binance.com';
export const DEFAULT_RECV_WINDOW = 5000;
export const MAX_RECV_WINDOW = 60000;

/** Binance's messages for the codes the mock sends (errors.md). */
export const ERROR_MESSAGES = {
  '-1000': 'An unknown error occurred while processing the request.',
  '-1001': 'Internal error; unable to process your request. Please try again.',
  '-1003': 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
  '-1008': 'Server is currently overloaded with other requests. Please try again in a few minutes.',
  '-1016': 'This service is no longer available.',
  '-1021': 'Timestamp for this request is outside of the recvWindow.',
  '-1022': 'Signature for this request is not valid.',
  '-1100': "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
  '-1102': "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
  '-1121': 'Invalid symbol.',
  '-1127': 'Lookup interval is too big.',
  '-1130': 'Data sent for parameter \'size\' is not valid.',
  '-1131': 'recvWindow must be less than 60000',
  '-2014': 'API-key format invalid.',
  '-2015': 'Invalid API-key, IP, or permissions for action.',
};

export const GEO_BLOCK_MESSAGE =
  "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error.";

/** The HTTP status Binance answers a code with. */
export function statusForCode(code) {
  return { '-1003': 429, '-2014': 401, '-2015': 401, '-1001': 500, '-1008': 503 }[code] ?? 400;
}

/** The signature Binance expects for `payload` (query string + body, without the signature). */
export function sign(secret, payload) {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Sample data

/** Locked Simple Earn positions as Binance lists them, one per subscription. */
function lockedPosition(positionId, asset, amount, projectId) {
  return {
    positionId, parentPositionId: positionId - 1, projectId, asset, amount,
    purchaseTime: '1698000000000', duration: '90', accrualDays: '12', rewardAsset: asset, APY: '0.0832',
    rewardAmt: '0.00120000', extraRewardAsset: 'BNB', extraRewardAPR: '0', estExtraRewardAmt: '0',
    nextPay: '0.00010000', nextPayDate: '1700092800000', payPeriod: '1', redeemAmountEarly: amount,
    rewardsEndDate: '1705776000000', deliverDate: '1705862400000', redeemPeriod: '1', redeemingAmt: '0',
    redeemTo: 'SPOT', partialAmtDeliverDate: '1705862400000', canRedeemEarly: true, canFastRedemption: true,
    autoSubscribe: true, type: 'AUTO', status: 'HOLDING', canReStake: true,
  };
}

function flexiblePosition(asset, totalAmount) {
  return {
    totalAmount, tierAnnualPercentageRate: { '0-5BTC': 0.05, '5-10BTC': 0.03 },
    latestAnnualPercentageRate: '0.02599895', yesterdayAirdropPercentageRate: '0.02599895', asset,
    airDropAsset: 'BETH', canRedeem: true, collateralAmount: '0', productId: `${asset}001`,
    yesterdayRealTimeRewards: '0.10293829', cumulativeBonusRewards: '0.22759183',
    cumulativeRealTimeRewards: '0.22759183', cumulativeTotalRewards: '0.45459183', autoSubscribe: true,
  };
}

const fundingRow = (asset, free, locked = '0', freeze = '0', withdrawing = '0') =>
  ({ asset, free, locked, freeze, withdrawing, btcValuation: '0' });

export const SAMPLE_ACCOUNT = {
  label: 'Binance main',
  // Obviously fake, shaped like Binance's 64-character HMAC keys.
  apiKey: 'CarteraMockBinanceApiKeyNotReal'.padEnd(64, 'x'),
  secret: 'CarteraMockBinanceSecretNotReal'.padEnd(64, 'y'),
  spot: [
    { asset: 'BTC', free: '0.51000000', locked: '0.01000000' },
    { asset: 'ETH', free: '2.00000000', locked: '0.00000000' },
    { asset: 'BNB', free: '1.25000000', locked: '0.25000000' },
    { asset: 'USDT', free: '150.55000000', locked: '49.45000000' },
    { asset: 'MXN', free: '2500.00', locked: '0.00' },
    { asset: 'LDO', free: '40.00000000', locked: '0.00000000' }, // Lido: a real asset, kept
    { asset: 'LDUSDT', free: '1000.12345678', locked: '0.00000000' }, // mirror of flexible USDT
    { asset: 'LDBTC', free: '0.05000000', locked: '0.00000000' }, // mirror of flexible BTC
    { asset: 'LDOP', free: '12.00000000', locked: '0.00000000' }, // short, but OP has a position
    { asset: 'YOYO', free: '100.00000000', locked: '0.00000000' }, // Binance's name for YOYOW
    { asset: 'ADA', free: '0.00000000', locked: '0.00000000' }, // zero: omitted by omitZeroBalances
    { asset: 'SOL', free: '0.00000000', locked: '0.00000000' },
  ],
  funding: [
    fundingRow('USDT', '25.00000000', '5.00000000', '10.00000000', '2.50000000'),
    fundingRow('BTC', '0.00100000'),
    fundingRow('ETH', '0'),
  ],
  flexible: [flexiblePosition('USDT', '1000.12345678'), flexiblePosition('BTC', '0.05000000'), flexiblePosition('OP', '12.00000000')],
  // 102 positions: the adapter's 100 a page makes two pages.
  locked: [
    ...Array.from({ length: 100 }, (_, i) => lockedPosition(200000 + i, 'DOT', '0.50000000', 'Dot*90')),
    lockedPosition(300001, 'AXS', '122.09202928', 'Axs*90'),
    lockedPosition(300002, 'ETH', '1.50000000', 'Eth*120'),
  ],
};

// [symbol, baseAsset, quoteAsset, lastPrice, volume (base, 24 h), priceChange (quote, 24 h)]
export const SAMPLE_MARKETS = [
  ['BTCUSDT', 'BTC', 'USDT', '98150.01000000', '18234.51230000', '-512.33000000'],
  ['ETHUSDT', 'ETH', 'USDT', '3550.12000000', '412345.12340000', '48.20000000'],
  ['ETHBTC', 'ETH', 'BTC', '0.03617000', '41235.12000000', '0.00021000'],
  ['BNBUSDT', 'BNB', 'USDT', '655.40000000', '512345.12000000', '3.10000000'],
  ['BNBBTC', 'BNB', 'BTC', '0.00667800', '12345.60000000', '0.00002000'],
  ['LDOUSDT', 'LDO', 'USDT', '1.23400000', '8123456.70000000', '-0.02100000'],
  ['OPUSDT', 'OP', 'USDT', '1.84500000', '9123456.10000000', '0.03500000'],
  ['AXSUSDT', 'AXS', 'USDT', '5.12000000', '2123456.30000000', '-0.08000000'],
  ['DOTUSDT', 'DOT', 'USDT', '4.21000000', '7123456.20000000', '0.05000000'],
  ['YOYOBTC', 'YOYO', 'BTC', '0.00000012', '91234567.00000000', '0.00000000'],
  ['USDCUSDT', 'USDC', 'USDT', '0.99980000', '512345678.00000000', '0.00010000'],
  ['FDUSDUSDT', 'FDUSD', 'USDT', '0.99850000', '712345678.00000000', '-0.00040000'],
  ['USDTMXN', 'USDT', 'MXN', '18.43000000', '5123456.70000000', '0.02000000'],
  ['USDTBRL', 'USDT', 'BRL', '5.81200000', '81234567.00000000', '-0.01300000'],
  ['USDTARS', 'USDT', 'ARS', '1180.50000000', '912345.00000000', '4.50000000'],
  ['USDTCOP', 'USDT', 'COP', '4150.25000000', '1234567.00000000', '-12.75000000'],
  ['USDTTRY', 'USDT', 'TRY', '34.52000000', '12345678.00000000', '0.08000000'],
  ['EURUSDT', 'EUR', 'USDT', '1.08420000', '35123456.00000000', '0.00110000'],
  ['BTCEUR', 'BTC', 'EUR', '90500.50000000', '1234.50000000', '-480.10000000'],
  ['ETHEUR', 'ETH', 'EUR', '3270.20000000', '9123.40000000', '40.10000000'],
  ['BTCBRL', 'BTC', 'BRL', '570000.00000000', '312.50000000', '2100.00000000'],
  ['BTCMXN', 'BTC', 'MXN', '1810000.00000000', '12.30000000', '-9000.00000000'],
  ['BCCBTC', 'BCC', 'BTC', '0.00000000', '0.00000000', '0.00000000'], // delisted: no price
];

/** A small history in Binance's documented shapes (the docs' example rows), tagged by type. */
export const SAMPLE_HISTORY = [
  { type: 'deposit', id: '769800519366885376', amount: '0.001', coin: 'BNB', network: 'BNB', status: 1, address: 'bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23', addressTag: '101764890', txId: '98A3EA560C6B3336D348B6C83F0F95ECE4F1F5919E94BD006E5BF3BF264FACFC', insertTime: 1661493146000, completeTime: 1661493146000, transferType: 0, confirmTimes: '1/1', unlockConfirm: 0, walletType: 0 },
  { type: 'withdrawal', id: 'b6ae22b3aa844210a7041aee7589627c', amount: '8.91000000', transactionFee: '0.004', coin: 'USDT', status: 6, address: '0x94df8b352de7f46f64b01d3666bf6e936e44ce60', txId: '0xb5ef8c13b968a406cc62a93a8bd80f9e9a906ef1b3fcf20a2e48573c17659268', applyTime: '2019-10-12 11:12:02', network: 'ETH', transferType: 0, withdrawOrderId: 'WITHDRAWtest123', info: '', confirmNo: 3, walletType: 1, txKey: '', completeTime: '2019-10-12 11:30:00' },
  { type: 'convert', quoteId: 'f3b91c525b2644c7bc1e1cd31b6e1aa6', orderId: '940708407462087195', orderStatus: 'SUCCESS', fromAsset: 'USDT', fromAmount: '20', toAsset: 'BNB', toAmount: '0.06154036', ratio: '0.00307702', inverseRatio: '324.99', createTime: 1624248872184 },
  { type: 'dividend', id: 1637366104, amount: '10.00000000', asset: 'BHFT', divTime: 1563189166000, enInfo: 'BHFT distribution', tranId: 2968885920 },
  { type: 'dust', operateTime: 1615985535000, totalTransferedAmount: '0.00132256', totalServiceChargeAmount: '0.00002699', transId: 45178372831, userAssetDribbletDetails: [
    { transId: 4359321, serviceChargeAmount: '0.000009', amount: '0.0009', operateTime: 1615985535000, transferedAmount: '0.000441', fromAsset: 'USDT' },
    { transId: 4359322, serviceChargeAmount: '0.00001799', amount: '0.0009', operateTime: 1615985535000, transferedAmount: '0.00088156', fromAsset: 'ETH' },
  ] },
  { type: 'trade', symbol: 'BNBBTC', id: 28457, orderId: 100234, orderListId: -1, price: '4.00000100', qty: '12.00000000', quoteQty: '48.000012', commission: '10.10000000', commissionAsset: 'BNB', time: 1499865549590, isBuyer: true, isMaker: false, isBestMatch: true },
  { type: 'trade', symbol: 'ETHBTC', id: 100, orderId: 200, orderListId: -1, price: '0.03617000', qty: '1.00000000', quoteQty: '0.03617000', commission: '0.00003617', commissionAsset: 'BTC', time: 1700000000000, isBuyer: false, isMaker: true, isBestMatch: true },
];

/**
 * Earn rewards and fiat rows in Binance's documented shapes, tagged by type: the examples of
 * https://developers.binance.com/docs/simple_earn/flexible-locked/history/Get-Flexible-Rewards-History,
 * .../Get-Locked-Rewards-History, https://developers.binance.com/docs/fiat/rest-api/Get-Fiat-Payments-History
 * (Completed here) and https://developers.binance.com/docs/fiat/rest-api (Successful here), and a
 * fiat withdrawal in the same shape.
 */
export const SAMPLE_EARN_FIAT_HISTORY = [
  { type: 'earnFlexible', asset: 'BUSD', rewards: '0.00006408', projectId: 'USDT001', rewardType: 'BONUS', time: 1577233578000 },
  { type: 'earnFlexible', asset: 'USDT', rewards: '0.00687654', projectId: 'USDT001', rewardType: 'REALTIME', time: 1577233562000 },
  { type: 'earnLocked', positionId: 123123, time: 1575018510000, asset: 'BNB', lockPeriod: '30', amount: '21312.23223', rewardType: 'Locked Rewards' },
  { type: 'fiatBuy', orderNo: '353fca443f06466db0c4dc89f94f027a', sourceAmount: '20.0', fiatCurrency: 'EUR', obtainAmount: '4.462', cryptoCurrency: 'LUNA', totalFee: '0.2', price: '4.437472', status: 'Completed', paymentMethod: 'Credit Card', createTime: 1624529919000, updateTime: 1624529919000 },
  { type: 'fiatDeposit', orderNo: '7d76d611-0568-4f43-afb6-24cac7767365', fiatCurrency: 'BRL', indicatedAmount: '10.00', amount: '10.00', totalFee: '0.00', method: 'BankAccount', status: 'Successful', createTime: 1626144956000, updateTime: 1626400907000 },
  { type: 'fiatWithdrawal', orderNo: 'c9e3a7f1-2b4d-4e6f-8a0c-1d3e5f7a9b2c', fiatCurrency: 'EUR', indicatedAmount: '100.00', amount: '99.00', totalFee: '1.00', method: 'SEPA', status: 'Successful', createTime: 1626317756000, updateTime: 1626404156000 },
];

// ---------------------------------------------------------------------------------------------
// The independent view: what Cartera should show, computed here from the rules, not the Rust code

/** Binance codes that differ from the common ticker (ccxt's commonCurrencies for Binance). */
const COMMON_CODES = { XBT: 'btc', BCHSV: 'bsv', YOYO: 'yoyow' };
const carteraCode = (code) => COMMON_CODES[code] ?? code.toLowerCase();

/** Whether a spot code mirrors a Simple Earn position: LD + asset, five or more characters, or
 * the asset has an Earn position (so LDO, Lido, stays). */
function isEarnMirror(code, earnAssets) {
  if (!code.startsWith('LD') || code.length <= 2) return false;
  return code.length >= 5 || earnAssets.has(code.slice(2));
}

/** The account's holdings per Cartera asset code: { asset: decimal string }, zero totals left out. */
export function expectedHoldings(account) {
  const sums = new Map();
  const add = (code, ...amounts) => {
    const asset = carteraCode(code);
    sums.set(asset, amounts.reduce((sum, a) => sum.add(Q.parse(a)), sums.get(asset) ?? new Q(0n)));
  };
  const earnAssets = new Set([...account.flexible, ...account.locked].map((p) => p.asset));
  for (const b of account.spot) if (!isEarnMirror(b.asset, earnAssets)) add(b.asset, b.free, b.locked);
  for (const b of account.funding) add(b.asset, b.free, b.locked, b.freeze, b.withdrawing);
  for (const p of account.flexible) add(p.asset, p.totalAmount);
  for (const p of account.locked) add(p.asset, p.amount);
  const result = {};
  for (const [asset, sum] of sums) if (!sum.isZero()) result[asset] = sum.toDecimal();
  return result;
}

/** The public books, normalised from the markets' own base and quote (exchangeInfo's answer). */
export function booksOf(markets) {
  return markets
    .filter(([, , , last]) => Q.parse(last).cmp(new Q(0n)) > 0)
    .map(([symbol, base, quote, last, volume, change]) => ({
      book: `binance:${symbol}`, base: carteraCode(base), quote: carteraCode(quote), last, volume, change,
    }));
}

// ---------------------------------------------------------------------------------------------
// Answers

const JSON_TYPE = 'application/json;charset=UTF-8';

function json(status, value, headers = {}) {
  return { status, type: JSON_TYPE, body: JSON.stringify(value), headers };
}

function binanceError(code, status = statusForCode(code), headers = {}) {
  return json(status, { code: Number(code), msg: ERROR_MESSAGES[code] ?? 'An unknown error occurred while processing the request.' }, headers);
}

/** CloudFront's page when Binance's web application firewall blocks a request. */
const WAF_PAGE = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">
<TITLE>ERROR: The request could not be satisfied</TITLE>
</HEAD><BODY>
<H1>403 ERROR</H1>
<H2>The request could not be satisfied.</H2>
<HR noshade size="1px">
Request blocked.
We can't connect to the server for this app or website at this time. There might be too much traffic or a configuration error. Try again later, or contact the app or website owner.
<BR clear="all">
<HR noshade size="1px">
<PRE>
Generated by cloudfront (CloudFront)
Request ID: 3Xk9fQz7b0cD1eF2gH3iJ4kL5mN6oP7qR8sT9uV0wX1yZ2aB3cD4eF==
</PRE>
<ADDRESS>
</ADDRESS>
</BODY></HTML>`;

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault, now = Date.now()) {
  if (fault === 'timeout') return { hang: true };
  if (fault === 'malformed') return { status: 200, type: JSON_TYPE, body: '{"makerCommission":10,"balances":[{"asset":"BT' };
  if (fault === 'redirect') return redirectResponse();
  if (fault === 'huge') return { status: 200, type: JSON_TYPE, body: `[${'{"symbol":"BTCUSDT","lastPrice":"1"},'.repeat(250000)}{}]` };
  if (fault === 'rate-limit') return binanceError('-1003', 429, { 'retry-after': '30' });
  if (fault === 'ban') {
    const until = now + 120000;
    return json(418, { code: -1003, msg: `Way too much request weight used; IP banned until ${until}. Please use WebSocket Streams for live updates to avoid bans.` }, { 'retry-after': '120' });
  }
  if (fault === 'geo') return json(451, { code: 0, msg: GEO_BLOCK_MESSAGE });
  if (fault === 'waf') return { status: 403, type: 'text/html', body: WAF_PAGE };
  let m = /^error:(-\d{4})$/.exec(fault);
  if (m) {
    const headers = m[1] === '-1003' ? { 'retry-after': '30' } : {};
    return binanceError(m[1], statusForCode(m[1]), headers);
  }
  m = /^retry-after:(.+)$/.exec(fault);
  if (m) return binanceError('-1003', 429, { 'retry-after': m[1] });
  m = /^http:(\d{3})(?::(-\d{4}))?$/.exec(fault);
  if (m) {
    if (m[2]) return binanceError(m[2], Number(m[1]));
    return { status: Number(m[1]), type: 'text/plain', body: `${m[1]} error` };
  }
  throw new Error(`unknown fault ${fault}`);
}

/** The 24-hour ticker row Binance sends for a market. */
function tickerRow([symbol, , , last, volume, change], now) {
  const lastQ = Q.parse(last);
  const open = lastQ.add(Q.parse(change).mul(new Q(-1n)));
  const percent = open.isZero() ? '0.000' : Q.parse(change).mul(new Q(100n)).mul(open.inv()).toFixed(3);
  const quoteVolume = Q.parse(volume).mul(lastQ).toFixed(8);
  return {
    symbol, priceChange: change, priceChangePercent: percent, weightedAvgPrice: last, prevClosePrice: open.toFixed(8),
    lastPrice: last, lastQty: '0.00030000', bidPrice: last, bidQty: '1.50000000', askPrice: last, askQty: '2.10000000',
    openPrice: open.toFixed(8), highPrice: last, lowPrice: last, volume, quoteVolume,
    openTime: now - 86400000, closeTime: now, firstId: 3297621488, lastId: 3299110302, count: 1488815,
  };
}

/** Splits `text` into the part signed and the value of a trailing `signature=` parameter. */
function withoutSignature(text) {
  const m = /(?:^|&)signature=([^&]*)$/.exec(text);
  return m ? { rest: text.slice(0, m.index), signature: m[1] } : { rest: text, signature: null };
}

export function createBinance({ accounts = {}, markets = SAMPLE_MARKETS, clockOffsetMs = 0, closes = {}, now: clock = Date.now } = {}) {
  const requests = [];
  const faults = faultTable(faultResponse);
  let marketList = markets;
  let offset = clockOffsetMs;
  const now = () => clock() + offset;

  const ENDPOINTS = {
    'GET /api/v3/account': { name: 'account', weight: 20, answer: accountAnswer },
    'POST /sapi/v1/asset/get-funding-asset': { name: 'funding', weight: 1, answer: fundingAnswer },
    'GET /sapi/v1/simple-earn/flexible/position': { name: 'flexible', weight: 150, answer: (a, p) => earnAnswer(a.flexible, p) },
    'GET /sapi/v1/simple-earn/locked/position': { name: 'locked', weight: 150, answer: (a, p) => earnAnswer(a.locked, p) },
    'GET /sapi/v1/account/apiRestrictions': { name: 'restrictions', weight: 1, answer: restrictionsAnswer },
    'GET /sapi/v1/capital/deposit/hisrec': { name: 'deposits', weight: 1, history: true, answer: (a, p) => transfersAnswer(a, p, 'deposit', 'insertTime') },
    'GET /sapi/v1/capital/withdraw/history': { name: 'withdrawals', weight: 18000, history: true, answer: (a, p) => transfersAnswer(a, p, 'withdrawal', 'applyTime') },
    'GET /sapi/v1/convert/tradeFlow': { name: 'converts', weight: 3000, history: true, answer: convertsAnswer },
    'GET /sapi/v1/asset/assetDividend': { name: 'dividends', weight: 10, history: true, answer: dividendsAnswer },
    'GET /sapi/v1/asset/dribblet': { name: 'dust', weight: 1, history: true, answer: dustAnswer },
    'GET /api/v3/myTrades': { name: 'trades', weight: 20, history: true, answer: tradesAnswer },
    'GET /sapi/v1/simple-earn/flexible/history/rewardsRecord': { name: 'earnFlexibleRewards', weight: 150, history: true, answer: (a, p) => earnRewardsAnswer(a, p, 'earnFlexible') },
    'GET /sapi/v1/simple-earn/locked/history/rewardsRecord': { name: 'earnLockedRewards', weight: 150, history: true, answer: (a, p) => earnRewardsAnswer(a, p, 'earnLocked') },
    'GET /sapi/v1/fiat/payments': { name: 'fiatPayments', weight: 1, history: true, answer: (a, p) => fiatAnswer(a, p, ['fiatBuy', 'fiatSell']) },
    'GET /sapi/v1/fiat/orders': { name: 'fiatOrders', weight: 90000, uid: true, history: true, answer: (a, p) => fiatAnswer(a, p, ['fiatDeposit', 'fiatWithdrawal']) },
  };

  // ------------------------------------------------------------------------------------------
  // History

  const DAY = 86400000;
  const used = (weight) => ({ 'x-mbx-used-weight': String(weight), 'x-mbx-used-weight-1m': String(weight) });
  /** The account's history rows of one type, without the tag. */
  const rowsOf = (account, type) =>
    (account.history ?? []).filter((row) => row.type === type).map(({ type: _, ...row }) => row);
  /** A row's time in ms (`applyTime` is UTC text). */
  const timeOf = (row, field) => (typeof row[field] === 'string' ? Date.parse(`${row[field].replace(' ', 'T')}Z`) : Number(row[field]));
  const intParam = (params, name, fallback) => {
    if (!params.has(name)) return fallback;
    const value = Number(params.get(name));
    return Number.isSafeInteger(value) && value >= 0 ? value : NaN;
  };
  /** The window asked for, or an error answer: both times, or neither (the last `longest` ms). */
  function windowOf(params, longest, { required = false, strictlyUnder = false, defaultSpan = longest } = {}) {
    const end = intParam(params, 'endTime', now());
    const start = intParam(params, 'startTime', end - defaultSpan + 1);
    if (required && !(params.has('startTime') && params.has('endTime'))) return { error: binanceError('-1102') };
    if (Number.isNaN(start) || Number.isNaN(end) || start > end) return { error: binanceError('-1100') };
    const span = end - start;
    if (strictlyUnder ? span >= longest : span > longest) return { error: binanceError('-1127') };
    return { start, end };
  }
  const inWindow = (rows, field, { start, end }) => rows.filter((row) => timeOf(row, field) >= start && timeOf(row, field) <= end);

  function transfersAnswer(account, params, type, field) {
    const window = windowOf(params, 90 * DAY, { strictlyUnder: true });
    if (window.error) return window.error;
    const offset = intParam(params, 'offset', 0);
    const limit = intParam(params, 'limit', 1000);
    if (Number.isNaN(offset) || !(limit >= 1 && limit <= 1000)) return binanceError('-1130');
    const rows = inWindow(rowsOf(account, type), field, window).sort((a, b) => timeOf(b, field) - timeOf(a, field));
    return json(200, rows.slice(offset, offset + limit));
  }

  function convertsAnswer(account, params) {
    const window = windowOf(params, 30 * DAY, { required: true });
    if (window.error) return window.error;
    const limit = intParam(params, 'limit', 100);
    if (!(limit >= 1 && limit <= 1000)) return binanceError('-1130');
    const rows = inWindow(rowsOf(account, 'convert'), 'createTime', window).sort((a, b) => a.createTime - b.createTime);
    // orderId is a 64-bit integer: written as a JSON number with all its digits.
    const body = JSON.stringify({ list: rows.slice(0, limit), startTime: window.start, endTime: window.end, limit, moreData: rows.length > limit })
      .replace(/"orderId":"(\d+)"/g, '"orderId":$1');
    return { status: 200, type: JSON_TYPE, body };
  }

  function dividendsAnswer(account, params) {
    const window = windowOf(params, 180 * DAY);
    if (window.error) return window.error;
    const limit = intParam(params, 'limit', 20);
    if (!(limit >= 1 && limit <= 500)) return binanceError('-1130');
    const rows = inWindow(rowsOf(account, 'dividend'), 'divTime', window).sort((a, b) => b.divTime - a.divTime);
    return json(200, { rows: rows.slice(0, limit), total: rows.length });
  }

  function dustAnswer(account) {
    const rows = rowsOf(account, 'dust').sort((a, b) => b.operateTime - a.operateTime).slice(0, 100);
    return json(200, { total: rows.length, userAssetDribblets: rows });
  }

  function tradesAnswer(account, params) {
    const symbol = params.get('symbol');
    if (!symbol) return binanceError('-1102');
    if (!marketList.some(([s]) => s === symbol)) return binanceError('-1121');
    const limit = intParam(params, 'limit', 500);
    if (!(limit >= 1 && limit <= 1000)) return binanceError('-1130');
    const fills = rowsOf(account, 'trade').filter((fill) => fill.symbol === symbol).sort((a, b) => a.id - b.id);
    if (params.has('fromId')) {
      const fromId = intParam(params, 'fromId', 0);
      if (Number.isNaN(fromId)) return binanceError('-1100');
      return json(200, fills.filter((fill) => fill.id >= fromId).slice(0, limit));
    }
    // Without fromId: the most recent fills.
    return json(200, fills.slice(-limit));
  }

  /** A page numbered from 1 of `rows`, or an error answer. */
  function numberedPage(rows, params, pageName, sizeName, maxSize, maxPage = Infinity) {
    const page = intParam(params, pageName, 1);
    const size = intParam(params, sizeName, 10);
    if (!(page >= 1 && page <= maxPage && size >= 1 && size <= maxSize)) return { error: binanceError('-1130') };
    return { rows: rows.slice((page - 1) * size, page * size) };
  }

  /** Simple Earn rewards: the rows' `rewardType` is Binance's `type`. */
  function earnRewardsAnswer(account, params, type) {
    const kind = params.get('type');
    if (type === 'earnFlexible' && !['BONUS', 'REALTIME', 'REWARDS', 'ALL'].includes(kind)) return binanceError(kind == null ? '-1102' : '-1100');
    const window = windowOf(params, 90 * DAY, { defaultSpan: 30 * DAY });
    if (window.error) return window.error;
    const rows = inWindow(rowsOf(account, type), 'time', window)
      .filter((row) => kind == null || kind === 'ALL' || row.rewardType === kind)
      .sort((a, b) => b.time - a.time)
      .map(({ rewardType, ...row }) => (rewardType == null ? row : { ...row, type: rewardType }));
    const page = numberedPage(rows, params, 'current', 'size', 100, type === 'earnLocked' ? 1000 : Infinity);
    return page.error ?? json(200, { rows: page.rows, total: rows.length });
  }

  /** Fiat payments or orders of `transactionType` 0 (`types[0]`) or 1 (`types[1]`): no longest window. */
  function fiatAnswer(account, params, types) {
    const transactionType = params.get('transactionType');
    if (transactionType == null) return binanceError('-1102');
    if (!['0', '1'].includes(transactionType)) return binanceError('-1100');
    const end = intParam(params, 'endTime', now());
    const start = intParam(params, 'beginTime', end - 30 * DAY + 1);
    if (Number.isNaN(start) || Number.isNaN(end) || start > end) return binanceError('-1100');
    const rows = inWindow(rowsOf(account, types[Number(transactionType)]), 'createTime', { start, end }).sort((a, b) => b.createTime - a.createTime);
    const page = numberedPage(rows, params, 'page', 'rows', 500);
    return page.error ?? json(200, { code: '000000', message: 'success', data: page.rows, total: rows.length, success: true });
  }

  /** exchangeInfo's symbols, each with the members a reader needs and a few it skips. */
  function exchangeInfoAnswer() {
    const symbols = marketList.map(([symbol, baseAsset, quoteAsset]) => ({
      symbol, status: 'TRADING', baseAsset, baseAssetPrecision: 8, quoteAsset, quotePrecision: 8, quoteAssetPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'], icebergAllowed: true, ocoAllowed: true, isSpotTradingAllowed: true,
      filters: [{ filterType: 'PRICE_FILTER', minPrice: '0.00000001', maxPrice: '1000000.00000000', tickSize: '0.00000001' }],
      permissions: [], permissionSets: [], defaultSelfTradePreventionMode: 'NONE', allowedSelfTradePreventionModes: ['NONE'],
    }));
    return json(200, { timezone: 'UTC', serverTime: now(), rateLimits: [{ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 }], exchangeFilters: [], symbols }, used(20));
  }

  /** Daily candles of a market: the `closes` table's close for a day, else the last price. */
  function klinesAnswer(params) {
    const market = marketList.find(([s]) => s === params.get('symbol'));
    if (!market) return binanceError('-1121');
    if (params.get('interval') !== '1d') return binanceError('-1120');
    const limit = intParam(params, 'limit', 500);
    if (!(limit >= 1 && limit <= 1000)) return binanceError('-1130');
    const today = Math.floor(now() / DAY);
    const end = Math.min(Math.floor(intParam(params, 'endTime', now()) / DAY), today);
    const startDay = params.has('startTime') ? Math.ceil(intParam(params, 'startTime', 0) / DAY) : end - limit + 1;
    const rows = [];
    for (let day = startDay; day <= end && rows.length < limit; day += 1) {
      const date = new Date(day * DAY).toISOString().slice(0, 10);
      const close = closes[market[0]]?.[date] ?? market[3];
      if (Q.parse(close).isZero()) continue;
      rows.push([day * DAY, close, close, close, close, '100.00000000', (day + 1) * DAY - 1, '100.00000000', 10, '50.00000000', '50.00000000', '0']);
    }
    return json(200, rows, used(2));
  }

  function accountAnswer(account, params) {
    const omitZero = params.get('omitZeroBalances') === 'true';
    const isZero = (b) => Q.parse(b.free).isZero() && Q.parse(b.locked).isZero();
    return json(200, {
      makerCommission: 10, takerCommission: 10, buyerCommission: 0, sellerCommission: 0,
      commissionRates: { maker: '0.00100000', taker: '0.00100000', buyer: '0.00000000', seller: '0.00000000' },
      // The account's own abilities, whatever the key may do.
      canTrade: true, canWithdraw: true, canDeposit: true, brokered: false, requireSelfTradePrevention: false,
      preventSor: false, updateTime: now() - 60000, accountType: 'SPOT',
      balances: omitZero ? account.spot.filter((b) => !isZero(b)) : account.spot,
      permissions: ['SPOT'], uid: 354937868,
    });
  }

  function fundingAnswer(account, params) {
    const asset = params.get('asset');
    return json(200, asset ? account.funding.filter((b) => b.asset === asset) : account.funding);
  }

  function earnAnswer(positions, params) {
    const current = params.has('current') ? Number(params.get('current')) : 1;
    const size = params.has('size') ? Number(params.get('size')) : 10;
    if (!Number.isInteger(current) || current < 1 || !Number.isInteger(size) || size < 1 || size > 100) {
      return binanceError('-1130');
    }
    const asset = params.get('asset');
    const all = asset ? positions.filter((p) => p.asset === asset) : positions;
    return json(200, { rows: all.slice((current - 1) * size, current * size), total: all.length });
  }

  function restrictionsAnswer(account) {
    return json(200, {
      // Binance allows withdrawals only for keys restricted to listed IP addresses.
      ipRestrict: Boolean(account.canWithdraw), createTime: 1698645219000, enableReading: true,
      enableWithdrawals: Boolean(account.canWithdraw), enableInternalTransfer: Boolean(account.canTransfer),
      enableMargin: false, enableFutures: false, permitsUniversalTransfer: false, enableVanillaOptions: false,
      enableFixApiTrade: false, enableFixReadOnly: true, enableSpotAndMarginTrading: Boolean(account.canTrade),
      enablePortfolioMarginTrading: false,
    });
  }

  function handle(req) {
    const { method, path } = req;
    const at = path.indexOf('?');
    const pathname = at < 0 ? path : path.slice(0, at);
    const query = at < 0 ? '' : path.slice(at + 1);
    const log = {
      method, path, host: req.host, apiKey: null, nonce: null, timestamp: null,
      authorized: null, error: null, fault: null, at: Date.now(),
    };
    requests.push(log);
    const finish = (response) => {
      if (response.hang) log.error = 'timeout';
      else if (response.status >= 400) {
        const m = /"code":(-?\d+)/.exec(response.body ?? '');
        log.error = m && m[1] !== '0' ? m[1] : `http:${response.status}`;
      }
      return response;
    };
    const faulted = (targets) => {
      const fault = faults.take(targets);
      if (!fault) return null;
      log.fault = fault;
      return finish(faultResponse(fault, now()));
    };

    if (method === 'GET' && pathname === '/api/v3/time') {
      return faulted(['time', '*']) ?? finish(json(200, { serverTime: now() }, used(1)));
    }

    if (method === 'GET' && pathname === '/api/v3/ticker/24hr') {
      log.authorized = req.headers['x-mbx-apikey'] ? 'unexpected-key' : null;
      const fault = faulted(['ticker', '*']);
      if (fault) return fault;
      const symbol = new URLSearchParams(query).get('symbol');
      if (!symbol) return finish(json(200, marketList.map((m) => tickerRow(m, now())), used(80)));
      const market = marketList.find(([s]) => s === symbol);
      return finish(market ? json(200, tickerRow(market, now()), used(2)) : binanceError('-1121'));
    }

    if (method === 'GET' && pathname === '/api/v3/exchangeInfo') {
      log.authorized = req.headers['x-mbx-apikey'] ? 'unexpected-key' : null;
      return faulted(['exchangeInfo', '*']) ?? finish(exchangeInfoAnswer());
    }

    if (method === 'GET' && pathname === '/api/v3/klines') {
      log.authorized = req.headers['x-mbx-apikey'] ? 'unexpected-key' : null;
      return faulted(['klines', '*']) ?? finish(klinesAnswer(new URLSearchParams(query)));
    }

    const endpoint = ENDPOINTS[`${method} ${pathname}`];
    if (!endpoint) return finish({ status: 404, type: 'text/html', body: '<html><body><h1>404 Not Found</h1></body></html>' });

    // Signed: key, mandatory parameters, signature, recvWindow, timestamp; then the answer.
    const apiKey = req.headers['x-mbx-apikey'];
    if (!apiKey || !/^[A-Za-z0-9]{1,128}$/.test(apiKey)) {
      log.authorized = false;
      return finish(binanceError('-2014'));
    }
    log.apiKey = apiKey;
    const account = accounts[apiKey];
    if (!account) {
      log.authorized = false;
      return finish(binanceError('-2015'));
    }
    // Binance reads a body only when it is a form.
    const isForm = /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '');
    const body = isForm ? req.body ?? '' : '';
    const inQuery = withoutSignature(query);
    const inBody = withoutSignature(body);
    const signature = inQuery.signature ?? inBody.signature;
    const payload = `${inQuery.rest}${inBody.rest}`;
    const params = new URLSearchParams(inBody.rest);
    for (const [name, value] of new URLSearchParams(inQuery.rest)) params.set(name, value); // the query wins
    log.timestamp = params.get('timestamp');
    if (!signature || !/^\d{13,16}$/.test(log.timestamp ?? '')) {
      log.authorized = false;
      return finish(binanceError('-1102'));
    }
    const expected = Buffer.from(sign(account.secret, payload), 'hex');
    const given = Buffer.from(/^[0-9a-fA-F]{64}$/.test(signature) ? signature.toLowerCase() : '', 'hex');
    log.authorized = given.length === expected.length && timingSafeEqual(given, expected);
    if (!log.authorized) return finish(binanceError('-1022'));
    const recvWindow = params.has('recvWindow') ? Number(params.get('recvWindow')) : DEFAULT_RECV_WINDOW;
    if (!(recvWindow > 0 && recvWindow <= MAX_RECV_WINDOW)) return finish(binanceError('-1131'));
    // Microsecond timestamps (16 digits) are allowed too.
    const timestampMs = log.timestamp.length === 16 ? Number(log.timestamp) / 1000 : Number(log.timestamp);
    const serverTime = now();
    if (!(timestampMs < serverTime + 1000 && serverTime - timestampMs <= recvWindow)) return finish(binanceError('-1021'));
    const sapiWeight = endpoint.uid ? 'x-sapi-used-uid-weight-1m' : 'x-sapi-used-ip-weight-1m';
    const weight = pathname.startsWith('/sapi/') ? { [sapiWeight]: String(endpoint.weight) } : used(endpoint.weight);
    const fault = faulted([apiKey, endpoint.name, '*']);
    if (fault) return fault;
    // Binance's "Enable Reading" covers history; a key refused there answers as any refused key.
    if (endpoint.history && account.historyPermission === false) return finish(binanceError('-2015'));
    const answer = endpoint.answer(account, params);
    return finish({ ...answer, headers: { ...answer.headers, ...weight } });
  }

  return {
    exchange: 'binance',
    hosts: [HOST],
    handle,
    requests,
    /** The signed requests only (everything but the time and the tickers). */
    signedRequests: () => requests.filter((r) => !/^\/api\/v3\/(time|ticker|exchangeInfo|klines)/.test(r.path)),
    /**
     * Make requests fail: target is an API key, an endpoint name ('time', 'ticker', 'account',
     * 'funding', 'flexible', 'locked', 'restrictions') or '*'; fault as above or null to clear;
     * `times` limits how many requests it hits (default: until cleared).
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(apiKey, account) {
      accounts[apiKey] = account;
    },
    setMarkets(next) {
      marketList = next;
    },
    /** Moves the mock's clock `ms` ahead of the computer's (negative: behind). */
    setClockOffset(ms) {
      offset = ms;
    },
    now,
    /** The public books, normalised for the independent valuation (tests/e2e/expected.mjs). */
    books: () => booksOf(marketList),
  };
}

export default { SAMPLE_ACCOUNT, SAMPLE_EARN_FIAT_HISTORY, SAMPLE_HISTORY, SAMPLE_MARKETS, createBinance, expectedHoldings };
