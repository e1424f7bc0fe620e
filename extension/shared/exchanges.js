// The exchanges the extension offers, and the API hosts each one needs. The Rust adapters name
// the same hosts (checked by a test in src/exchange/registry_tests.rs, together with the
// manifest's host_permissions and CSP). Every word about an exchange (its name, where keys are
// managed, the permission to enable, the guide) is in _locales under its id.

export const EXCHANGES = Object.freeze({
  bitso: { origins: ['https://api.bitso.com/*'] },
  kraken: { origins: ['https://api.kraken.com/*'] },
  binance: { origins: ['https://api.binance.com/*'] },
  bitfinex: { origins: ['https://api.bitfinex.com/*', 'https://api-pub.bitfinex.com/*'] },
  // Coinbase's secret is a private key (a multi-line PEM, or base64), and users can download the
  // key as JSON: `{ "name" | "id": …, "privateKey": … }`.
  coinbase: {
    origins: ['https://api.coinbase.com/*'],
    privateKey: true,
    keyFile: { key: ['name', 'id'], secret: 'privateKey' },
  },
});

/** Exchange ids in the order the options page offers them. */
export const EXCHANGE_IDS = Object.freeze(Object.keys(EXCHANGES));

/** Where a currency no connected exchange trades can be priced from (public prices only). */
export const PRICE_BRIDGES = Object.freeze(['bitso']);

/** The origins of `ids`, for permission requests and checks. */
export function originsOf(ids) {
  return [...new Set(ids.flatMap((id) => EXCHANGES[id]?.origins ?? []))];
}
