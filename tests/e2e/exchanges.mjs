// Every exchange mock behind one HTTPS server, with the sample accounts each mock ships, for the
// end-to-end tests that span exchanges (and for `./build.sh demo`).
//
//   const ex = await startExchanges({ bitso: { accounts }, kraken: {}, … });
//   ex.server (launch({ server: ex.server })), ex.mocks.kraken, ex.books(), ex.close()

import { createBinance } from './mocks/binance.mjs';
import { createBitfinex } from './mocks/bitfinex.mjs';
import { createBitso } from './mocks/bitso.mjs';
import { createCoinbase } from './mocks/coinbase.mjs';
import { createKraken } from './mocks/kraken.mjs';
import { startMockServer } from './mock-server.mjs';

const FACTORIES = { bitso: createBitso, kraken: createKraken, binance: createBinance, bitfinex: createBitfinex, coinbase: createCoinbase };

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
