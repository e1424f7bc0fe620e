// Every exchange mock behind one HTTPS server, with the sample accounts each mock ships, for the
// end-to-end tests that span exchanges (and for `./build.sh demo`).
//
//   const ex = await startExchanges({ bitso: { accounts }, kraken: {}, … });
//   ex.server (launch({ server: ex.server })), ex.mocks.kraken, ex.books(), ex.close()

import * as binance from './mocks/binance.mjs';
import * as bitfinex from './mocks/bitfinex.mjs';
import { createBitso } from './mocks/bitso.mjs';
import * as bybit from './mocks/bybit.mjs';
import * as coinbase from './mocks/coinbase.mjs';
import * as kraken from './mocks/kraken.mjs';
import { startMockServer } from './mock-server.mjs';

const FACTORIES = {
  bitso: createBitso, kraken: kraken.createKraken, binance: binance.createBinance, bitfinex: bitfinex.createBitfinex, coinbase: coinbase.createCoinbase,
  bybit: bybit.createBybit,
};

/** Every exchange with one sample account: `bitso` (Bitso's stand-in ships none) and, when given,
 * `coinbase` (its stand-in's sample key is new in every run) in place of the sample. */
export function sampleExchanges({ bitso, coinbase: coinbaseAccount = coinbase.SAMPLE_ACCOUNT }) {
  const one = (account) => ({ accounts: { [account.apiKey]: account } });
  return {
    bitso: one({ apiKey: bitso.apiKey, secret: bitso.secret, balances: bitso.balances, ledger: bitso.ledger }),
    kraken: one(kraken.SAMPLE_ACCOUNT),
    binance: one(binance.SAMPLE_ACCOUNT),
    bitfinex: one(bitfinex.SAMPLE_ACCOUNT),
    coinbase: one(coinbaseAccount),
    bybit: one(bybit.SAMPLE_ACCOUNT),
  };
}

export async function startExchanges(options, { latency = 0 } = {}) {
  const factories = FACTORIES;
  const mocks = {};
  for (const [id, settings] of Object.entries(options)) {
    if (!factories[id]) throw new Error(`no mock for ${id}`);
    mocks[id] = factories[id](settings ?? {});
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
