// Every error code the extension's scripts raise is one the core lists (src/error.rs, generated
// into extension/shared/core-constants.js), so each has its sentence in every language.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ERROR_CODES } from '../../extension/shared/core-constants.js';

const root = new URL('../../extension/', import.meta.url).pathname;

function scripts(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'wasm' ? [] : scripts(path);
    return path.endsWith('.js') ? [path] : [];
  });
}

test('every code raised in the pages and the background is one the core knows', () => {
  const raised = new Set();
  for (const path of scripts(root)) {
    for (const [, code] of readFileSync(path, 'utf8').matchAll(/\bcode: '([a-z_]+)'/g)) raised.add(code);
  }
  assert.ok(raised.size > 10, `found ${raised.size} codes`);
  const unknown = [...raised].filter((code) => !ERROR_CODES.includes(code));
  assert.deepEqual(unknown, []);
});
