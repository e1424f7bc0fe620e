// A stand-in for Coinbase's Advanced Trade API (https://api.coinbase.com/api/v3/brokerage). It
// checks every private request the way Coinbase documents CDP key authentication
// (https://docs.cdp.coinbase.com/get-started/authentication/jwt-authentication) and the official
// Advanced Trade SDK builds its tokens (coinbase-advanced-py, jwt_generator.py):
//   Authorization: Bearer <JWT>, a JWS in compact form whose header is
//   {"alg":"ES256"|"EdDSA","typ":"JWT","kid":<key name>,"nonce":<hex>} and claims
//   {"sub":<key name>,"iss":"cdp","nbf":<s>,"exp":<s>,"uri":"<METHOD> api.coinbase.com<path>"},
// verified with node:crypto against the account's public key (ES256: P-256, raw r‖s; EdDSA:
// Ed25519), alg matching the key's type, kid == sub == the key name, iss "cdp", the validity
// window open now (SKEW_S seconds of slack each way) and at most 120 s long, uri naming this
// request's method and path without its query, and a nonce no token used before. A refused token
// gets what Coinbase answers: HTTP 401 with the plain-text body `Unauthorized`.
//
//   const coinbase = createCoinbase({ accounts: { [keyName]: account }, markets, pageSize, now });
//   coinbase.requests, coinbase.privateRequests(), coinbase.accountRequests(),
//   coinbase.setFault(target, fault | null, { times }), coinbase.clearFaults(),
//   coinbase.setAccount(keyName, account), coinbase.setMarkets(products), coinbase.setCloses(closes),
//   coinbase.books(), coinbase.historyRequests()
//
// An account is { label, apiKey (the key name), secret (the private key as the user pastes it:
// SEC1 PEM for ECDSA, base64 of seed ‖ public key for Ed25519), keyFile (the downloadable JSON),
// canView?, canTrade?, canTransfer?, balances }: `balances` are account objects exactly as
// /accounts lists them (strings for amounts). `pageSize` (default 2) caps every /accounts page
// below the request's `limit`, so a handful of accounts takes several pages; `now` (ms) is the
// mock's clock.
//
// Paths served: GET /api/v3/brokerage/accounts (limit, cursor, has_next),
// GET /api/v3/brokerage/key_permissions, GET /api/v3/brokerage/market/products (public;
// product_type filters). Anything else: 404 {"error":"NOT_FOUND",…}.
//
// History (signed like the rest): GET /v2/accounts (the wallets: one per currency of `balances`
// and `history`), GET /v2/accounts/:id/transactions (the wallet's rows of `history`: `limit` 1–100,
// default 25; `order` asc or desc, default desc; `starting_after` a row id; `pagination.next_uri`
// null on the last page), GET /v2/accounts/:id/transactions/:tx, and
// GET /api/v3/brokerage/orders/historical/fills (`fills`, newest first; `limit`, default 100;
// `start_sequence_timestamp`; an opaque `cursor`, "" on the last page). An account's `history` is
// an array of v2 transaction rows exactly as Coinbase lists them (the wallet is the currency of
// `amount`), `fills` an array of fills as the fills list gives them; `historyPermission: false`
// refuses all four with 403 (v2: {"errors":[{"id":"invalid_scope",…}]}, v3: PERMISSION_DENIED).
// Daily candles (public): GET /api/v3/brokerage/market/products/:id/candles (start and end in
// Unix seconds, granularity ONE_DAY, at most 350 candles a request, newest first), closes from
// the `closes` option ({ [productId]: { [day since 1970]: close } }) or else the product's price.
//
// Fault targets: a key name, 'accounts', 'key_permissions', 'products', 'private', 'public', '*'.
// Private faults apply after the token was accepted (its nonce is used up). Faults:
//   'error:unauthorized'   401 `Unauthorized` (a wrong or revoked key)
//   'error:clock'          401 {"errors":[{"id":"authentication_error","message":"request timestamp expired"}]}
//   'error:expired'        401 `token is expired`
//   'error:scopes'         403 {"error":"PERMISSION_DENIED","error_details":"Missing required scopes",…}
//   'error:rate-limit'     429 {"errors":[{"id":"rate_limit_exceeded","message":"Too many requests"}]}, no Retry-After
//   'error:resource-exhausted' 429 {"error":"RESOURCE_EXHAUSTED",…}
//   'error:invalid-argument'   400 {"error":"INVALID_ARGUMENT",…}
//   'error:internal'       500 {"error":"INTERNAL",…}
//   'http:<status>'        that status with a plain-text body (429 also sends Retry-After: 2)
//   'html<status>'         Cloudflare's HTML error page, e.g. 'html403', 'html502'
//   'retry-after:<value>'  HTTP 429 with that Retry-After header
//   'malformed'            truncated JSON; 'huge' a body far larger than any real answer
//   'redirect'             302 to a host no exchange owns; 'timeout' never answers

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';

import { Q, trimZeros } from '../expected.mjs';
import { faultTable, TRANSPORT_FAULTS } from '../mock-server.mjs';

export const HOST = 'api.coinbase.com';
export const ACCOUNTS_PATH = '/api/v3/brokerage/accounts';
export const KEY_PERMISSIONS_PATH = '/api/v3/brokerage/key_permissions';
export const PRODUCTS_PATH = '/api/v3/brokerage/market/products';

/** Seconds of clock difference tolerated on either side of a token's validity window. */
export const SKEW_S = 5;
/** The longest validity window Coinbase accepts: two minutes. */
export const MAX_VALIDITY_S = 120;
/** /accounts' documented default and largest page. */
export const DEFAULT_LIMIT = 49;
export const MAX_LIMIT = 250;

export const WALLETS_PATH = '/v2/accounts';
export const FILLS_PATH = '/api/v3/brokerage/orders/historical/fills';
/** v2 lists: default and largest page (https://docs.cdp.coinbase.com/coinbase-app/api-architecture/pagination). */
export const V2_DEFAULT_LIMIT = 25;
export const V2_MAX_LIMIT = 100;
/** Candles one request may ask for. */
export const MAX_CANDLES = 350;
const DAY_S = 86400;

// ---------------------------------------------------------------------------------------------
// Keys

/**
 * The public key that verifies tokens of a private key as the user pastes it: a PEM (SEC1 or
 * PKCS#8, literal `\n` escapes allowed) or base64 of an Ed25519 seed ‖ public key (or seed alone).
 */
export function publicKeyOf(secret) {
  const text = String(secret).trim().replaceAll('\\n', '\n');
  if (text.includes('-----BEGIN')) return createPublicKey(createPrivateKey(text));
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32 && raw.length !== 64) throw new Error('not an Ed25519 key');
  const seed = raw.subarray(0, 32);
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

/** 'ES256' for a P-256 key, 'EdDSA' for an Ed25519 key. */
export function algorithmOf(publicKey) {
  if (publicKey.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return null;
}

/** A fresh P-256 key as the portal hands it out: a SEC1 PEM. */
function newEcKey() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'sec1', format: 'pem' });
}

/** A fresh Ed25519 key as the portal hands it out: base64 of the seed followed by the public key. */
function newEd25519Key() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.d, 'base64url'), Buffer.from(jwk.x, 'base64url')]).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Sample data, in Coinbase's own shapes. The keys are made at module load: nothing real.

const PORTFOLIO = '0000c0de-0000-4000-8000-00000000f01f';

let accountSerial = 0;

/** One account object as /accounts lists it. */
export function coinbaseAccount(currency, available, hold, type = 'ACCOUNT_TYPE_CRYPTO', name = `${currency} Wallet`) {
  accountSerial += 1;
  const serial = accountSerial;
  return {
    uuid: `0000c0de-0000-4000-8000-${String(serial).padStart(12, '0')}`,
    name,
    currency,
    available_balance: { value: available, currency },
    default: type !== 'ACCOUNT_TYPE_VAULT',
    active: true,
    created_at: '2023-01-04T06:20:06.456Z',
    updated_at: '2026-11-20T11:02:44.127Z',
    deleted_at: null,
    type,
    ready: true,
    hold: { value: hold, currency },
    retail_portfolio_id: PORTFOLIO,
    platform: 'ACCOUNT_PLATFORM_CONSUMER',
  };
}

const EC_KEY_NAME = 'organizations/0000c0de-0000-4000-8000-000000000001/apiKeys/0000c0de-0000-4000-8000-0000000000e5';
const EC_SECRET = newEcKey();

/**
 * An ECDSA key's account with every holding rule in play: BTC in a crypto and a vault account
 * (added up), holds on crypto and fiat, USD and EUR fiat, USDC, CGLD (Celo's old id), a
 * 16-decimal amount, zero accounts, and a perpetual-futures account that is not a holding.
 * Nine accounts: five pages at the mock's default page size.
 */
export const SAMPLE_ACCOUNT = {
  label: 'Coinbase',
  apiKey: EC_KEY_NAME,
  secret: EC_SECRET,
  keyFile: JSON.stringify({ name: EC_KEY_NAME, privateKey: EC_SECRET }, null, 2),
  canView: true,
  canTrade: false,
  canTransfer: false,
  balances: [
    coinbaseAccount('BTC', '0.0123456700000000', '0.0010000000000000'),
    coinbaseAccount('USD', '1520.33', '100.00', 'ACCOUNT_TYPE_FIAT', 'Cash (USD)'),
    coinbaseAccount('ETH', '1.5000000000000000', '0'),
    coinbaseAccount('DOGE', '0', '0'),
    coinbaseAccount('BTC', '0.2500000000000000', '0', 'ACCOUNT_TYPE_VAULT', 'BTC Vault'),
    coinbaseAccount('USDC', '250.000001', '0.5'),
    coinbaseAccount('CGLD', '12.75', '0'),
    coinbaseAccount('EUR', '80.10', '0', 'ACCOUNT_TYPE_FIAT', 'Cash (EUR)'),
    coinbaseAccount('SOL', '3', '0', 'ACCOUNT_TYPE_PERP_FUTURES', 'Perpetuals collateral'),
  ],
};

const ED_KEY_ID = '0000c0de-0000-4000-8000-0000000000ed';
const ED_SECRET = newEd25519Key();

/** An Ed25519 key's account, named by its id alone, with trading rights (for the warning). */
export const SECOND_ACCOUNT = {
  label: 'Coinbase Ed25519',
  apiKey: ED_KEY_ID,
  secret: ED_SECRET,
  keyFile: JSON.stringify({ id: ED_KEY_ID, privateKey: ED_SECRET }, null, 2),
  canView: true,
  canTrade: true,
  canTransfer: false,
  balances: [
    coinbaseAccount('ETH', '0.75', '0.25'),
    coinbaseAccount('USDT', '500', '0'),
    coinbaseAccount('SOL', '10.123456789', '0'),
  ],
};

/** A spot product as /market/products lists it. */
export function product(id, base, quote, price, percent, volume, extra = {}) {
  return {
    product_id: id,
    price,
    price_percentage_change_24h: percent,
    volume_24h: volume,
    volume_percentage_change_24h: '-12.51',
    base_increment: '0.00000001',
    quote_increment: '0.01',
    quote_min_size: '1',
    quote_max_size: '150000000',
    base_min_size: '0.00000001',
    base_max_size: '3400',
    base_name: base,
    quote_name: quote,
    watched: false,
    is_disabled: false,
    new: false,
    status: 'online',
    cancel_only: false,
    limit_only: false,
    post_only: false,
    trading_disabled: false,
    auction_mode: false,
    product_type: 'SPOT',
    quote_currency_id: quote,
    base_currency_id: base,
    fcm_trading_session_details: null,
    mid_market_price: '',
    alias: '',
    alias_to: [],
    base_display_symbol: base,
    quote_display_symbol: quote,
    view_only: false,
    price_increment: '0.01',
    display_name: `${base}-${quote}`,
    product_venue: 'CBE',
    approximate_quote_24h_volume: '0',
    ...extra,
  };
}

/**
 * Spot products, with the cases the adapter must skip: BTC-USDC is BTC-USD's book under an alias,
 * a disabled market, a view-only one, a delisted one; and one futures product, which
 * product_type=SPOT leaves out.
 */
export const SAMPLE_MARKETS = [
  product('BTC-USD', 'BTC', 'USD', '95123.45', '2.5', '12345.67890123', { alias_to: ['BTC-USDC'] }),
  product('BTC-USDC', 'BTC', 'USDC', '95123.45', '2.5', '12345.67890123', { alias: 'BTC-USD', quote_display_symbol: 'USD' }),
  product('BTC-EUR', 'BTC', 'EUR', '87654.32', '-1.25', '850.12345678'),
  product('ETH-USD', 'ETH', 'USD', '3500.10', '-4', '98765.4321'),
  product('ETH-BTC', 'ETH', 'BTC', '0.03679', '-6.1', '4321.5'),
  product('USDT-USD', 'USDT', 'USD', '1.0001', '0.01', '250000000'),
  product('USDC-EUR', 'USDC', 'EUR', '0.9224', '-0.35', '5000000'),
  product('SOL-USD', 'SOL', 'USD', '172.50', '1.2345678901234567', '900000.5'),
  product('CGLD-USD', 'CGLD', 'USD', '0.75', '1.5', '100000'),
  product('DOGE-USD', 'DOGE', 'USD', '0.39123', '', '150000000'),
  product('MKR-USD', 'MKR', 'USD', '1650.00', '0.5', '120', { trading_disabled: true }),
  product('VIEW-USD', 'VIEW', 'USD', '1.00', '0', '10', { view_only: true }),
  product('GONE-USD', 'GONE', 'USD', '0.01', '0', '0', { status: 'delisted', is_disabled: true }),
  product('BIT-26DEC26-CDE', 'BIT', 'USD', '96000', '1', '2500', { product_type: 'FUTURE', base_currency_id: '' }),
];

// ---------------------------------------------------------------------------------------------
// Cartera's reading of Coinbase's names and amounts, written from the rules (not from the Rust).

/** ccxt's commonCurrencies for Coinbase. */
const COMMON = { XBT: 'btc', BCHSV: 'bsv', CGLD: 'celo' };
const HOLDING_TYPES = new Set(['ACCOUNT_TYPE_CRYPTO', 'ACCOUNT_TYPE_FIAT', 'ACCOUNT_TYPE_VAULT']);

/** Cartera's code for a Coinbase currency id, or null when it is none. */
export function carteraCode(id) {
  if (!/^[A-Za-z0-9]{1,32}$/.test(String(id))) return null;
  return COMMON[id.toUpperCase()] ?? id.toLowerCase();
}

/**
 * What `account` holds per Cartera asset, `{ asset: decimalString }`: available plus hold of
 * every crypto, fiat and vault account, summed per currency, zeros left out.
 */
export function expectedHoldings(account) {
  const totals = new Map();
  for (const entry of account.balances ?? []) {
    if (!HOLDING_TYPES.has(entry.type)) continue;
    const code = carteraCode(entry.currency);
    const amount = Q.parse(entry.available_balance.value).add(Q.parse(entry.hold?.value ?? '0'));
    totals.set(code, (totals.get(code) ?? new Q(0n)).add(amount));
  }
  return Object.fromEntries(
    [...totals].filter(([, total]) => !total.isZero()).sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, total]) => [code, trimZeros(total.toDecimal())]),
  );
}

/** A decimal string as an exact fraction, or null when it is none (Coinbase sends "" at times). */
function decimalOrNull(text) {
  try {
    return Q.parse(text);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Answers

function json(status, value, extra = {}) {
  return { status, body: JSON.stringify(value), ...extra };
}

function grpcError(status, error, message, details = message) {
  return json(status, { error, error_details: details, message });
}

const unauthorized = () => ({ status: 401, type: 'text/plain; charset=utf-8', body: 'Unauthorized' });

/** An HTML error page like the ones Cloudflare puts in front of api.coinbase.com. */
function cloudflarePage(status) {
  const title = status === 403
    ? 'Attention Required! | Cloudflare'
    : `api.coinbase.com | ${status}: ${status === 502 ? 'Bad gateway' : 'Error'}`;
  return `<!DOCTYPE html>
<html lang="en-US"><head><title>${title}</title></head>
<body><h1>Error ${status === 403 ? 1020 : status}</h1><p>${title}</p><p>Cloudflare Ray ID: 8f1e2d3c4b5a6970</p></body></html>
`;
}

const NAMED_FAULTS = {
  ...TRANSPORT_FAULTS,
  'error:unauthorized': unauthorized,
  'error:clock': () => json(401, { errors: [{ id: 'authentication_error', message: 'request timestamp expired' }] }),
  'error:expired': () => ({ status: 401, type: 'text/plain; charset=utf-8', body: 'token is expired' }),
  'error:scopes': () => grpcError(403, 'PERMISSION_DENIED', 'Missing required scopes'),
  'error:rate-limit': () => json(429, { errors: [{ id: 'rate_limit_exceeded', message: 'Too many requests' }] }),
  'error:resource-exhausted': () => grpcError(429, 'RESOURCE_EXHAUSTED', 'Too many requests'),
  'error:invalid-argument': () => grpcError(400, 'INVALID_ARGUMENT', 'invalid request'),
  'error:internal': () => grpcError(500, 'INTERNAL', 'internal error'),
  malformed: () => ({ status: 200, body: '{"accounts":[{"uuid":"0000c0de","currency":"BT' }),
  huge: () => ({ status: 200, body: `{"accounts":[],"has_next":false,"cursor":"${'x'.repeat(9 * 1024 * 1024)}"}` }),
};

/** The response a fault stands for; throws on an unknown fault (so tests fail when arming it). */
export function faultResponse(fault) {
  if (NAMED_FAULTS[fault]) return NAMED_FAULTS[fault]();
  let m = /^html(\d{3})$/.exec(fault);
  if (m) return { status: Number(m[1]), type: 'text/html; charset=UTF-8', body: cloudflarePage(Number(m[1])) };
  m = /^retry-after:(.+)$/.exec(fault);
  if (m) return { status: 429, type: 'text/plain', body: 'Too Many Requests', headers: { 'retry-after': m[1] } };
  m = /^http:(\d{3})$/.exec(fault);
  if (m) {
    const status = Number(m[1]);
    return { status, type: 'text/plain', body: `${status} error`, headers: status === 429 ? { 'retry-after': '2' } : {} };
  }
  throw new Error(`unknown fault ${fault}`);
}

const CURSOR_PREFIX = 'cartera-mock-cursor/';

/** An opaque page cursor (base64, so it carries '+', '/' or '=' now and then). */
function cursorFor(offset) {
  return Buffer.from(`${CURSOR_PREFIX}${offset}`).toString('base64');
}

function offsetOf(cursor) {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const offset = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : NaN;
  return Number.isInteger(offset) && offset >= 0 ? offset : null;
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// ---------------------------------------------------------------------------------------------

/** The wallet id the mock gives an account's wallet of `currency`: stable, UUID-shaped. */
export function walletId(keyName, currency) {
  const hex = createHash('sha256').update(`${keyName}/${currency}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The wallets of an account, as /v2/accounts lists them. */
function walletsOf(keyName, account) {
  const currencies = [...new Set([
    ...(account.balances ?? []).map((b) => b.currency),
    ...(account.history ?? []).map((row) => row.amount?.currency),
  ].filter(Boolean))];
  return currencies.map((currency) => ({
    id: walletId(keyName, currency),
    name: `${currency} Wallet`,
    primary: currency === 'BTC',
    type: 'wallet',
    currency: { code: currency, name: currency },
    balance: { amount: '0', currency },
    resource: 'account',
    resource_path: `${WALLETS_PATH}/${walletId(keyName, currency)}`,
  }));
}

const invalidScope = () => json(403, { errors: [{ id: 'invalid_scope', message: 'Invalid scope', url: 'https://docs.cdp.coinbase.com/coinbase-app/docs/permissions' }] });

/** A v2 list page of `rows` (already in the asked order) after `starting_after`, or an error. */
function v2Page(rows, url) {
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? V2_DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > V2_MAX_LIMIT) {
    return json(400, { errors: [{ id: 'invalid_request', message: 'limit must be between 1 and 100' }] });
  }
  const order = url.searchParams.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') return json(400, { errors: [{ id: 'invalid_request', message: 'invalid order' }] });
  const sorted = [...rows].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id < b.id ? -1 : 1));
  if (order === 'desc') sorted.reverse();
  const after = url.searchParams.get('starting_after');
  let start = 0;
  if (after) {
    const at = sorted.findIndex((row) => row.id === after);
    if (at < 0) return json(400, { errors: [{ id: 'invalid_request', message: 'starting_after not found' }] });
    start = at + 1;
  }
  const page = sorted.slice(start, start + limit);
  const more = start + page.length < sorted.length;
  const last = page.at(-1)?.id ?? null;
  const base = `${url.pathname}?limit=${limit}&order=${order}`;
  return json(200, {
    pagination: {
      ending_before: null, starting_after: after, previous_ending_before: null,
      next_starting_after: more ? last : null, limit, order,
      previous_uri: null, next_uri: more ? `${base}&starting_after=${last}` : null,
    },
    data: page,
  });
}

/** A page of fills, newest first, from `start_sequence_timestamp` on, after `cursor`. */
function fillsPage(fills, url) {
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1) return grpcError(400, 'INVALID_ARGUMENT', 'invalid limit');
  const since = url.searchParams.get('start_sequence_timestamp');
  const sinceMs = since === null ? null : Date.parse(since);
  if (Number.isNaN(sinceMs)) return grpcError(400, 'INVALID_ARGUMENT', 'invalid start_sequence_timestamp');
  const listed = fills
    .filter((fill) => sinceMs === null || Date.parse(fill.sequence_timestamp) >= sinceMs)
    .sort((a, b) => Date.parse(b.sequence_timestamp) - Date.parse(a.sequence_timestamp));
  const cursor = url.searchParams.get('cursor');
  const offset = cursor ? offsetOf(cursor) : 0;
  if (offset === null || offset > listed.length) return grpcError(400, 'INVALID_ARGUMENT', 'invalid cursor');
  const page = listed.slice(offset, offset + limit);
  const next = offset + page.length;
  return json(200, { fills: page, cursor: next < listed.length ? cursorFor(next) : '' });
}

/** Daily candles of `productId`, newest first, or an error as Coinbase answers it. */
function candlesPage(productId, listed, closes, url) {
  const start = Number(url.searchParams.get('start'));
  const end = Number(url.searchParams.get('end'));
  if (url.searchParams.get('granularity') !== 'ONE_DAY') return grpcError(400, 'INVALID_ARGUMENT', 'unsupported granularity');
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    return grpcError(400, 'INVALID_ARGUMENT', 'invalid start or end');
  }
  const first = Math.ceil(start / DAY_S);
  const last = Math.floor(end / DAY_S);
  if (last - first + 1 > MAX_CANDLES) {
    return grpcError(400, 'INVALID_ARGUMENT', 'number of candles requested should be less than 350');
  }
  const table = closes[productId];
  const price = listed?.price;
  if (!table && !price) return grpcError(404, 'NOT_FOUND', 'ProductID is invalid');
  const candles = [];
  for (let day = last; day >= first; day -= 1) {
    const close = table ? table[day] : price;
    if (close === undefined) continue;
    candles.push({ start: String(day * DAY_S), low: close, high: close, open: close, close, volume: '1' });
  }
  return json(200, { candles });
}

export function createCoinbase({ accounts = {}, markets = SAMPLE_MARKETS, pageSize = 2, now = () => Date.now(), closes = {} } = {}) {
  const requests = [];
  const usedNonces = new Set();
  const faults = faultTable(faultResponse);
  let products = markets;
  let closeTable = closes;

  /** Checks a request's token; returns { account } or { error } (why it was refused, for the log). */
  function authenticate(req, pathname) {
    const token = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
    if (!token) return { error: 'no-token' };
    let header;
    let claims;
    try {
      header = decodePart(token[1]);
      claims = decodePart(token[2]);
    } catch {
      return { error: 'unreadable-token' };
    }
    const keyName = header?.kid;
    const account = typeof keyName === 'string' ? accounts[keyName] : undefined;
    if (!account) return { error: 'unknown-key', keyName };
    const publicKey = publicKeyOf(account.secret);
    const alg = algorithmOf(publicKey);
    if (header.alg !== alg || header.typ !== 'JWT') return { error: 'wrong-algorithm', keyName };
    const data = Buffer.from(`${token[1]}.${token[2]}`);
    const signature = Buffer.from(token[3], 'base64url');
    const valid = alg === 'ES256'
      ? signature.length === 64 && verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
      : verify(null, data, publicKey, signature);
    if (!valid) return { error: 'bad-signature', keyName };
    if (claims?.sub !== keyName || claims.iss !== 'cdp') return { error: 'wrong-claims', keyName };
    const seconds = Math.floor(now() / 1000);
    const { nbf, exp } = claims;
    if (!Number.isInteger(nbf) || !Number.isInteger(exp) || exp <= nbf || exp - nbf > MAX_VALIDITY_S) {
      return { error: 'bad-validity', keyName };
    }
    if (nbf > seconds + SKEW_S) return { error: 'not-yet-valid', keyName };
    if (exp < seconds - SKEW_S) return { error: 'expired', keyName };
    if (claims.uri !== `${req.method} ${HOST}${pathname}`) return { error: 'wrong-uri', keyName };
    const nonce = header.nonce;
    if (typeof nonce !== 'string' || !/^[0-9a-f]{16,}$/.test(nonce)) return { error: 'bad-nonce', keyName };
    if (usedNonces.has(nonce)) return { error: 'nonce-reused', keyName, nonce };
    usedNonces.add(nonce);
    return { account, keyName, nonce };
  }

  function accountsPage(account, url) {
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) return grpcError(400, 'INVALID_ARGUMENT', 'invalid limit');
    const cursor = url.searchParams.get('cursor');
    const offset = cursor ? offsetOf(cursor) : 0;
    const all = account.balances ?? [];
    if (offset === null || offset > all.length) return grpcError(400, 'INVALID_ARGUMENT', 'invalid cursor');
    const size = Math.min(limit, MAX_LIMIT, pageSize);
    const page = all.slice(offset, offset + size);
    const next = offset + page.length;
    const hasNext = next < all.length;
    return json(200, { accounts: page, has_next: hasNext, cursor: hasNext ? cursorFor(next) : '', size: page.length });
  }

  /** The answer of a history endpoint for an authenticated account. */
  function historyAnswer(endpoint, keyName, account, url) {
    if (account.historyPermission === false) {
      return endpoint === 'fills' ? grpcError(403, 'PERMISSION_DENIED', 'Missing required scopes') : invalidScope();
    }
    if (endpoint === 'fills') return fillsPage(account.fills ?? [], url);
    const wallets = walletsOf(keyName, account);
    if (endpoint === 'wallets') return v2Page(wallets.map((w, i) => ({ ...w, created_at: new Date(Date.UTC(2020, 0, 1) + i * 1000).toISOString() })), url);
    const [, , , id, , tx] = url.pathname.split('/');
    const wallet = wallets.find((w) => w.id === id);
    if (!wallet) return json(404, { errors: [{ id: 'not_found', message: 'Not found' }] });
    const rows = (account.history ?? []).filter((row) => row.amount?.currency === wallet.currency.code);
    if (tx === undefined) return v2Page(rows, url);
    const row = rows.find((r) => r.id === tx);
    return row ? json(200, { data: row }) : json(404, { errors: [{ id: 'not_found', message: 'Not found' }] });
  }

  function handle(req) {
    const { method, path } = req;
    const url = new URL(path, `https://${HOST}`);
    const pathname = url.pathname;
    const log = {
      method, path, host: req.host, apiKey: null, nonce: null, uri: null,
      authorized: null, error: null, fault: null, at: Date.now(),
    };
    requests.push(log);
    const finish = (response) => {
      if (response.hang) log.error ??= 'timeout';
      else if (response.status >= 300) {
        let code = null;
        try {
          const parsed = JSON.parse(response.body);
          code = parsed?.error ?? parsed?.errors?.[0]?.id ?? null;
        } catch {
          /* not JSON */
        }
        log.error ??= code ?? `http:${response.status}`;
      }
      return response;
    };
    const faulted = (targets) => {
      const fault = faults.take(targets);
      if (!fault) return null;
      log.fault = fault;
      return finish(faultResponse(fault));
    };

    const endpoint = { [ACCOUNTS_PATH]: 'accounts', [KEY_PERMISSIONS_PATH]: 'key_permissions', [WALLETS_PATH]: 'wallets', [FILLS_PATH]: 'fills' }[pathname]
      ?? (/^\/v2\/accounts\/[^/]+\/transactions(\/[^/]+)?$/.test(pathname) ? 'transactions' : undefined);
    if (method === 'GET' && endpoint) {
      try {
        log.uri = decodePart(String(req.headers.authorization ?? '').split('.')[1] ?? '').uri ?? null;
      } catch {
        /* no readable token */
      }
      const auth = authenticate(req, pathname);
      log.apiKey = auth.keyName ?? null;
      log.nonce = auth.nonce ?? null;
      log.authorized = Boolean(auth.account);
      if (!auth.account) {
        log.error = auth.error;
        return finish(unauthorized());
      }
      const fault = faulted([auth.keyName, endpoint, 'private', '*']);
      if (fault) return fault;
      const account = auth.account;
      if (endpoint === 'key_permissions') {
        return finish(json(200, {
          can_view: account.canView !== false,
          can_trade: Boolean(account.canTrade),
          can_transfer: Boolean(account.canTransfer),
          portfolio_uuid: PORTFOLIO,
          portfolio_type: 'DEFAULT',
        }));
      }
      if (account.canView === false) return finish(grpcError(403, 'PERMISSION_DENIED', 'Missing required scopes'));
      if (endpoint === 'accounts') return finish(accountsPage(account, url));
      return finish(historyAnswer(endpoint, auth.keyName, account, url));
    }

    const candles = /^\/api\/v3\/brokerage\/market\/products\/([A-Za-z0-9-]+)\/candles$/.exec(pathname);
    if (method === 'GET' && candles) {
      log.authorized = req.headers.authorization ? 'unexpected-signature' : null;
      const fault = faulted(['candles', 'public', '*']);
      if (fault) return fault;
      return finish(candlesPage(candles[1], products.find((p) => p.product_id === candles[1]), closeTable, url));
    }

    if (method === 'GET' && pathname === PRODUCTS_PATH) {
      log.authorized = req.headers.authorization ? 'unexpected-signature' : null;
      const fault = faulted(['products', 'public', '*']);
      if (fault) return fault;
      const type = url.searchParams.get('product_type');
      const listed = type ? products.filter((p) => p.product_type === type) : products;
      return finish(json(200, { products: listed, num_products: listed.length }));
    }

    return finish(grpcError(404, 'NOT_FOUND', 'Not Found', ''));
  }

  return {
    exchange: 'coinbase',
    hosts: [HOST],
    handle,
    requests,
    /** Requests to the private endpoints (accounts and key permissions). */
    privateRequests: () => requests.filter((r) => r.path.startsWith(ACCOUNTS_PATH) || r.path.startsWith(KEY_PERMISSIONS_PATH)),
    /** Requests to the history endpoints (v2 wallets and transactions, fills). */
    historyRequests: () => requests.filter((r) => r.path.startsWith(`${WALLETS_PATH}`) || r.path.startsWith(FILLS_PATH)),
    /** /accounts requests only: one per page of a refresh. */
    accountRequests: () => requests.filter((r) => r.path.startsWith(ACCOUNTS_PATH)),
    /**
     * Make requests fail: target is a key name, an endpoint ('accounts', 'key_permissions',
     * 'products'), 'private', 'public' or '*'; fault as above or null to clear; `times` limits how
     * many requests it hits (default: until cleared).
     */
    setFault: faults.set,
    clearFaults: faults.clear,
    setAccount(keyName, account) {
      accounts[keyName] = account;
    },
    setMarkets(next) {
      products = next;
    },
    /** Replaces the candle closes table ({ [productId]: { [day]: close } }). */
    setCloses(next) {
      closeTable = next;
    },
    /**
     * The public spot markets, normalised for the independent valuation (tests/e2e/expected.mjs):
     * online, tradable, not view-only spot products that are no alias of another book, with a
     * positive price; `change` = price − price / (1 + percent/100), null when the percentage is
     * missing or the earlier price would not be positive.
     */
    books: () => products.flatMap((p) => {
      if (p.product_type !== 'SPOT' || p.status !== 'online' || p.trading_disabled || p.is_disabled || p.view_only) return [];
      if (p.alias) return [];
      const base = carteraCode(p.base_currency_id);
      const quote = carteraCode(p.quote_currency_id);
      const last = decimalOrNull(p.price);
      if (!base || !quote || base === quote || !last || last.cmp(new Q(0n)) <= 0) return [];
      const percent = decimalOrNull(p.price_percentage_change_24h);
      const ratio = percent && new Q(1n).add(percent.mul(new Q(1n, 100n)));
      let change = null;
      if (ratio && ratio.cmp(new Q(0n)) > 0) {
        const exact = last.add(last.mul(ratio.inv()).mul(new Q(-1n)));
        change = exact.toDecimal() ?? trimZeros(exact.toFixed(12));
      }
      return [{
        book: `coinbase:${p.product_id}`,
        base,
        quote,
        last: p.price,
        volume: decimalOrNull(p.volume_24h) ? p.volume_24h : '0',
        change,
      }];
    }),
  };
}

export default { SAMPLE_ACCOUNT, SECOND_ACCOUNT, SAMPLE_MARKETS, createCoinbase, expectedHoldings };
