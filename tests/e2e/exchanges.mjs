// Every exchange mock behind one HTTPS server, with the sample accounts each mock ships, for the
// end-to-end tests that span exchanges (and for `./build.sh demo`).
//
//   const ex = await startExchanges({ bitso: { accounts }, kraken: {}, … });
//   ex.server (launch({ server: ex.server })), ex.mocks.kraken, ex.books(), ex.close()

import { createBitso } from './mocks/bitso.mjs';
import { createBitfinex } from './mocks/bitfinex.mjs';
import { createKraken } from './mocks/kraken.mjs';
import { startMockServer } from './mock-server.mjs';

const FACTORIES = { bitso: createBitso, kraken: createKraken, bitfinex: createBitfinex };

/** Optional mocks that exist once their adapters do. */
async function optionalFactories() {
  const found = {};
  for (const [id, file, name] of [['binance', './mocks/binance.mjs', 'createBinance'], ['coinbase', './mocks/coinbase.mjs', 'createCoinbase']]) {
    try {
      found[id] = (await import(file))[name];
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    }
  }
  return found;
}

export async function startExchanges(options, { latency = 0 } = {}) {
  const factories = { ...FACTORIES, ...(await optionalFactories()) };
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
