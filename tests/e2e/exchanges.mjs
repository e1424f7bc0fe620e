// Every exchange's stand-in, by id: the one table the test side keeps of the exchanges. The
// end-to-end tests that span exchanges, the demo (tests/demo/samples.mjs), the release screenshots
// and the benchmark (bench/) all read it; tests/ui/registry.test.mjs fails when an exchange of the
// core's registry (EXCHANGE_IDS, generated from src/exchange_id.rs) has no entry here.
//
//   const ex = await startExchanges({ bitso: { accounts }, kraken: {}, … });
//   ex.server (launch({ server: ex.server })), ex.mocks.kraken, ex.books(), ex.close()

import { EXCHANGE_IDS } from '../../extension/shared/core-constants.js';
import * as binance from './mocks/binance.mjs';
import * as bitfinex from './mocks/bitfinex.mjs';
import * as bitso from './mocks/bitso.mjs';
import * as bybit from './mocks/bybit.mjs';
import * as coinbase from './mocks/coinbase.mjs';
import * as kraken from './mocks/kraken.mjs';
import * as kucoin from './mocks/kucoin.mjs';
import * as mercadobitcoin from './mocks/mercadobitcoin.mjs';
import * as okx from './mocks/okx.mjs';
import { startMockServer } from './mock-server.mjs';

/**
 * Each exchange's stand-in (tests/e2e/mocks/<id>.mjs):
 *   create(settings)   the mock: { hosts, handle, books(), requests, … }; settings as its file says
 *   sample             one account with keys only the stand-in accepts ({ label, apiKey, secret, … };
 *                      `keyFile` too where the exchange lets users download the key)
 *   holdings(account)  what such an account holds, `{ asset: decimalString }`, worked out apart
 *                      from the core, for the independent valuation (tests/e2e/expected.mjs)
 */
export const STAND_INS = {
  bitso: { create: bitso.createBitso, sample: bitso.SAMPLE_ACCOUNT, holdings: bitso.expectedHoldings },
  kraken: { create: kraken.createKraken, sample: kraken.SAMPLE_ACCOUNT, holdings: kraken.expectedHoldings },
  binance: { create: binance.createBinance, sample: binance.SAMPLE_ACCOUNT, holdings: binance.expectedHoldings },
  bitfinex: { create: bitfinex.createBitfinex, sample: bitfinex.SAMPLE_ACCOUNT, holdings: bitfinex.expectedHoldings },
  coinbase: { create: coinbase.createCoinbase, sample: coinbase.SAMPLE_ACCOUNT, holdings: coinbase.expectedHoldings },
  okx: { create: okx.createOkx, sample: okx.SAMPLE_ACCOUNT, holdings: okx.expectedHoldings },
  bybit: { create: bybit.createBybit, sample: bybit.SAMPLE_ACCOUNT, holdings: bybit.expectedHoldings },
  kucoin: { create: kucoin.createKucoin, sample: kucoin.SAMPLE_ACCOUNT, holdings: kucoin.expectedHoldings },
  mercadobitcoin: { create: mercadobitcoin.createMercadoBitcoin, sample: mercadobitcoin.SAMPLE_ACCOUNT, holdings: mercadobitcoin.expectedHoldings },
};

/** Each exchange's sample account with its `exchange`, in the order the options page offers them. */
export function sampleAccounts() {
  return EXCHANGE_IDS.map((id) => ({ ...standInOf(id).sample, exchange: id }));
}

/** The stand-in of exchange `id`; an error that names it where it has none. */
function standInOf(id) {
  const standIn = STAND_INS[id];
  if (!standIn) throw new Error(`no stand-in for ${id} in STAND_INS (tests/e2e/exchanges.mjs)`);
  return standIn;
}

/** What `account` (with its `exchange`) holds, by its stand-in's reckoning. */
export function holdingsOf(account) {
  return standInOf(account.exchange).holdings(account);
}

/** Settings for startExchanges: every exchange with one account, its sample unless `accounts`
 * gives another for that id (the Coinbase stand-in's sample key is new in every run, so a recorded
 * vault brings its own). */
export function sampleExchanges(accounts = {}) {
  return Object.fromEntries(EXCHANGE_IDS.map((id) => {
    const account = accounts[id] ?? standInOf(id).sample;
    return [id, { accounts: { [account.apiKey]: account } }];
  }));
}

export async function startExchanges(options, { latency = 0 } = {}) {
  const mocks = {};
  for (const [id, settings] of Object.entries(options)) {
    mocks[id] = standInOf(id).create(settings ?? {});
  }
  const server = await startMockServer(Object.values(mocks), { latency });
  return {
    server,
    mocks,
    /** Every mock's public books, normalised for the independent valuation. */
    books: () => Object.values(mocks).flatMap((mock) => mock.books()),
    close: () => server.close(),
  };
}
