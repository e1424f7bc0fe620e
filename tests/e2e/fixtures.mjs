// Market data and accounts for the mock Bitso: shaped like the real API (all numbers are strings),
// with the awkward cases the valuation must handle.

const CREATED_AT = '2026-11-24T06:00:00+00:00';

// [book, last, volume (24 h, in the base currency), change_24 (absolute, in the quote currency)]
const BOOKS = [
  ['btc_mxn', '1750000.50', '45.12345678', '-1250.00'],
  ['eth_mxn', '61234.56', '512.34560000', '812.10'],
  ['xrp_mxn', '42.15', '1500000.50000000', '-0.35'],
  ['ltc_mxn', '1650.00', '820.00000000', '12.40'],
  ['usd_mxn', '17.2450', '2500000.00', '0.0120'],
  ['usdt_mxn', '17.2610', '3100000.00', '0.0105'],
  ['btc_usd', '101500.25', '12.50000000', '-310.75'],
  ['eth_usd', '3550.10', '210.00000000', '48.20'],
  ['btc_usdt', '101450.00', '30.00000000', '-295.00'],
  ['eth_btc', '0.03497', '95.00000000', '0.00021'],
  ['xrp_btc', '0.0000241', '85000.00000000', '-0.0000002'],
  ['sol_usd', '172.345', '9800.000', '3.105'],
  ['mana_usd', '0.4123', '250000.00', '-0.0071'],
  ['shib_usd', '0.00001234', '98000000000.00', '0.00000021'],
  // ape trades against usd and usdt but not mxn: two routes of equal length, the usdt one
  // carries more volume in mxn, so it must win.
  ['ape_usd', '1.2210', '1000.00', '0.0110'],
  ['ape_usdt', '1.2250', '900000.00', '0.0150'],
  ['btc_brl', '590000.00', '3.10000000', '2100.00'],
  ['usd_brl', '5.8123', '410000.00', '-0.0210'],
  ['btc_ars', '120000000.00', '0.90000000', '510000.00'],
  ['usd_ars', '1180.50', '880000.00', '4.50'],
  ['btc_cop', '420000000.00', '0.40000000', '-1900000.00'],
  ['usd_cop', '4150.25', '150000.00', '-12.75'],
];

export const TICKERS = BOOKS.map(([book, last, volume, change]) => ({
  high: last,
  last,
  created_at: CREATED_AT,
  book,
  volume,
  vwap: last,
  low: last,
  ask: last,
  bid: last,
  change_24: change,
  rolling_average_change: { 6: '0.0000' },
}));

/** A balance row as Bitso sends it. */
export function balance(currency, total, locked = '0') {
  const available = subtractDecimal(total, locked);
  return { currency, total, locked, available, pending_deposit: '0.00000000', pending_withdrawal: '0.00000000' };
}

export const ACCOUNT_A = {
  label: 'Main Bitso',
  apiKey: 'AbCdEfGhIj',
  secret: 'c0ffee5ecret-4f1b9a2d7e6c3b8a0d5f2e9c1a7b4d6e',
  balances: [
    balance('mxn', '15230.75', '230.75'),
    balance('btc', '0.52000123', '0.02'),
    balance('eth', '3.10000000'),
    balance('xrp', '1200.12345678'),
    balance('usd', '250.00'),
    balance('sol', '12.5'), // only through usd → mxn
    balance('mana', '1000.00000000'),
    balance('shib', '12345678.12345678'), // 8 decimals, tiny price
    balance('ape', '40.00000000'), // usd or usdt route: usdt is more liquid
    balance('ltc', '0.00000000'), // zero: hidden
    balance('bch', '0.00000000'),
    balance('xyz', '77.7'), // no book at all: unpriced
  ],
};

export const ACCOUNT_B = {
  label: 'Savings',
  apiKey: 'KlMnOpQrSt',
  secret: 'b1gsecret-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
  balances: [
    balance('mxn', '1000.01'),
    balance('btc', '0.00000123'), // dust
    balance('usdt', '99.990000'),
    balance('ars', '50000.00'), // only through an inverse book (usd_ars or btc_ars), then → mxn
    balance('eth', '0.00000000'),
  ],
};

export const PASSPHRASE = 'correct horse battery staple 42';

/** Exact decimal subtraction on strings (for `available`), no floats. */
function subtractDecimal(a, b) {
  const scale = Math.max(fraction(a).length, fraction(b).length);
  const diff = toScaled(a, scale) - toScaled(b, scale);
  const negative = diff < 0n;
  const digits = (negative ? -diff : diff).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale ? `.${frac}` : ''}`;
}
function fraction(text) {
  return text.split('.')[1] ?? '';
}
function toScaled(text, scale) {
  const [whole, frac = ''] = text.split('.');
  return BigInt(whole + frac.padEnd(scale, '0'));
}
