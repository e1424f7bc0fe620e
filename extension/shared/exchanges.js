// The exchanges the extension offers, and the API hosts each one needs, as the core's adapters
// name them (extension/shared/core-constants.js is generated from src/pages.rs). Every word about
// an exchange (its name, where keys are managed, the permission to enable, the guide) is in
// _locales under its id.

import { EXCHANGES } from './core-constants.js';

export { EXCHANGE_IDS, EXCHANGES, PRICE_BRIDGES } from './core-constants.js';

/** The origins of `ids`, for permission requests and checks. */
export function originsOf(ids) {
  return [...new Set(ids.flatMap((id) => EXCHANGES[id]?.origins ?? []))];
}
