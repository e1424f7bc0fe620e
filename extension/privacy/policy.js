// What the privacy policy fills in from the manifest, so that it always describes the build it
// ships in: the version, the exchanges' API hosts, and whether any other host (a news publisher)
// can be contacted. The page (privacy.js) and the stores' copies (tools/release/privacy.mjs) both
// read it.

import { EXCHANGES } from '../shared/core-constants.js';

/** `{ version, hosts: "api.bitso.com, …", news }` of a manifest. */
export function policyFacts(manifest) {
  const exchangeOrigins = new Set(Object.values(EXCHANGES).flatMap((exchange) => exchange.origins));
  const origins = [...(manifest.host_permissions ?? []), ...(manifest.optional_host_permissions ?? [])];
  const hostOf = (origin) => origin.replace(/^https:\/\//, '').replace(/\/\*$/, '');
  return {
    version: manifest.version,
    hosts: origins.filter((origin) => exchangeOrigins.has(origin)).map(hostOf).join(', '),
    news: origins.some((origin) => !exchangeOrigins.has(origin)),
  };
}
