// A local stand-in for https://api.bitso.com alone: the Bitso mock (mocks/bitso.mjs) on its own
// server, for the tests that need only Bitso.
//
//   const mock = await startMockBitso({ accounts: { [apiKey]: { secret, balances } }, tickers });
//   mock.port, mock.requests, mock.balanceRequests(), mock.setFault(…), mock.setLatency(ms),
//   mock.setAccount(…), mock.hostRules(), mock.strays(), mock.close()

import { createBitso, HOST } from './mocks/bitso.mjs';
import { makeCertificate as certificateFor, STRAY_HOST, startMockServer } from './mock-server.mjs';

export { ERROR_MESSAGES, HOST, sign, statusForCode } from './mocks/bitso.mjs';

/** The certificate the server presents (for clients that trust it explicitly). */
export function makeCertificate() {
  return certificateFor([HOST, STRAY_HOST]);
}

export async function startMockBitso({ accounts = {}, tickers, latency = 0 } = {}) {
  const bitso = createBitso({ accounts, ...(tickers ? { tickers } : {}) });
  const server = await startMockServer([bitso], { latency });
  return { ...bitso, ...server, requests: bitso.requests };
}
