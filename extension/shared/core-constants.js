// Generated from the Rust core by src/pages.rs: do not edit; `CARTERA_WRITE_GENERATED=1 cargo test`
// writes it anew.

/** Each exchange by id: the origins its API is reached at, and how its key is asked for. */
export const EXCHANGES = /* @__PURE__ */ deepFreeze({
  "binance": {
    "namedMarkets": true,
    "origins": [
      "https://api.binance.com/*"
    ]
  },
  "bitfinex": {
    "origins": [
      "https://api.bitfinex.com/*",
      "https://api-pub.bitfinex.com/*"
    ]
  },
  "bitso": {
    "origins": [
      "https://api.bitso.com/*"
    ]
  },
  "bybit": {
    "origins": [
      "https://api.bybit.com/*"
    ]
  },
  "coinbase": {
    "keyFile": {
      "key": [
        "name",
        "id"
      ],
      "secret": "privateKey"
    },
    "origins": [
      "https://api.coinbase.com/*"
    ],
    "privateKey": true
  },
  "kraken": {
    "origins": [
      "https://api.kraken.com/*"
    ]
  },
  "kucoin": {
    "origins": [
      "https://api.kucoin.com/*"
    ],
    "passphrase": true
  },
  "mercadobitcoin": {
    "origins": [
      "https://api.mercadobitcoin.net/*"
    ]
  },
  "okx": {
    "origins": [
      "https://www.okx.com/*"
    ],
    "passphrase": true
  }
});

/** Exchange ids in the order the options page offers them. */
export const EXCHANGE_IDS = /* @__PURE__ */ deepFreeze([
  "bitso",
  "kraken",
  "binance",
  "bitfinex",
  "coinbase",
  "okx",
  "bybit",
  "kucoin",
  "mercadobitcoin"
]);

/** Where a currency no connected exchange trades can be priced from (public prices only). */
export const PRICE_BRIDGES = /* @__PURE__ */ deepFreeze([
  "bitso"
]);

/** Each kind of alert, whether it names an asset, and which number it takes. */
export const ALERT_KINDS = /* @__PURE__ */ deepFreeze([
  {
    "asset": true,
    "kind": "priceAbove",
    "number": "threshold"
  },
  {
    "asset": true,
    "kind": "priceBelow",
    "number": "threshold"
  },
  {
    "asset": false,
    "kind": "totalAbove",
    "number": "threshold"
  },
  {
    "asset": false,
    "kind": "totalBelow",
    "number": "threshold"
  },
  {
    "asset": true,
    "kind": "move24h",
    "number": "percent"
  },
  {
    "asset": false,
    "kind": "accountFailing",
    "number": null
  }
]);

/** The most alerts kept. */
export const MAX_ALERTS = 100;

/** The most portfolios kept. */
export const MAX_PORTFOLIOS = 20;

/** The most typed-in holdings kept. */
export const MAX_MANUAL = 200;

/** The portfolio every account starts in. */
export const DEFAULT_PORTFOLIO = "main";

/** The settings before the user changes any. */
export const DEFAULT_SETTINGS = /* @__PURE__ */ deepFreeze({
  "autoLockMinutes": 15,
  "badge": "none",
  "hideBelow": "",
  "privacy": false,
  "quote": "mxn",
  "syncMinutes": 15,
  "theme": "system"
});

/** The auto-lock choices, in minutes (0: never). */
export const AUTO_LOCK_MINUTES = /* @__PURE__ */ deepFreeze([
  0,
  5,
  15,
  60
]);

/** The automatic sync choices, in minutes (0: off). */
export const SYNC_MINUTES = /* @__PURE__ */ deepFreeze([
  0,
  5,
  15,
  30,
  60
]);

/** The longest wait any rate limit is honoured for. */
export const MAX_RETRY_WAIT_MS = 900000;

/** The storage format this version writes (see src/profile.rs). */
export const STORAGE_FORMAT = 3;

/** Every error code a page may show; `error_<code>` in the locale files. */
export const ERROR_CODES = /* @__PURE__ */ deepFreeze([
  "invalid_credentials",
  "nonce_rejected",
  "api_passphrase_rejected",
  "clock_skew",
  "missing_permission",
  "history_permission",
  "unknown_market",
  "key_permission_or_ip",
  "key_inactive",
  "ip_not_allowed",
  "account_restricted",
  "location_restricted",
  "rate_limited",
  "ip_banned",
  "exchange_unavailable",
  "exchange_rejected",
  "malformed_response",
  "response_too_large",
  "amount_overflow",
  "timeout",
  "offline",
  "wrong_passphrase",
  "weak_kdf_parameters",
  "unsupported_vault",
  "passphrase_too_short",
  "invalid_input",
  "private_key_malformed",
  "private_key_public",
  "private_key_unsupported",
  "account_not_found",
  "randomness_unavailable",
  "cancelled",
  "backup_unreadable",
  "backup_newer",
  "backup_wrong_passphrase",
  "feed_unavailable",
  "feed_not_a_feed",
  "feed_too_large",
  "feed_offline",
  "feed_permission",
  "locked",
  "no_vault",
  "vault_changed",
  "vault_mismatch",
  "storage_full",
  "unknown_message",
  "internal",
  "engine_unavailable",
  "host_permission",
  "key_not_read_only",
  "portfolio_not_found",
  "last_portfolio",
  "too_many",
  "no_accounts",
  "request_timeout",
  "no_background"
]);

/** The storage keys of the value history start with this. */
export const HISTORY_PREFIX = "hist:";

/** The storage keys of each account's transactions start with this. */
export const TX_PREFIX = "tx:";

/** The storage keys of each market's past daily closes start with this. */
export const CLOSES_PREFIX = "closes:";

/** Transactions typed in by the user have ids that start with this. */
export const TYPED_ID_PREFIX = "manual:";

/** A portfolio's typed-in holdings are the account of this and the portfolio's id. */
export const MANUAL_ENTRY_PREFIX = "manual-";

/** How often the history's tiers are applied. */
export const HISTORY_COMPACT_EVERY_MS = 3600000;

/** The news publishers: name, language, feed, and the one origin each needs. */
export const NEWS_PUBLISHERS = /* @__PURE__ */ deepFreeze([
  {
    "feed": "https://www.coindesk.com/arc/outboundfeeds/rss/",
    "id": "coindesk",
    "lang": "en",
    "name": "CoinDesk",
    "origin": "https://www.coindesk.com/*"
  },
  {
    "feed": "https://decrypt.co/feed",
    "id": "decrypt",
    "lang": "en",
    "name": "Decrypt",
    "origin": "https://decrypt.co/*"
  },
  {
    "feed": "https://www.theblock.co/rss.xml",
    "id": "theblock",
    "lang": "en",
    "name": "The Block",
    "origin": "https://www.theblock.co/*"
  },
  {
    "feed": "https://www.criptonoticias.com/feed/",
    "id": "criptonoticias",
    "lang": "es",
    "name": "CriptoNoticias",
    "origin": "https://www.criptonoticias.com/*"
  },
  {
    "feed": "https://livecoins.com.br/feed/",
    "id": "livecoins",
    "lang": "pt",
    "name": "Livecoins",
    "origin": "https://livecoins.com.br/*"
  },
  {
    "feed": "https://br.cointelegraph.com/rss",
    "id": "cointelegraph-br",
    "lang": "pt",
    "name": "Cointelegraph Brasil",
    "origin": "https://br.cointelegraph.com/*"
  }
]);

/** The most news items kept. */
export const NEWS_MAX_ITEMS = 200;

/** The most bytes of one feed read. */
export const NEWS_MAX_FEED_BYTES = 4194304;

/** How often the chosen feeds are fetched while news is on. */
export const NEWS_REFRESH_MINUTES = 30;

function deepFreeze(value) {
  if (value && typeof value === 'object') Object.values(value).forEach(deepFreeze);
  return Object.freeze(value);
}
