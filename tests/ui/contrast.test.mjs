// WCAG 2.x AA contrast of both themes, computed from the colours in extension/shared/base.css:
// 4.5:1 for text, 3:1 for the focus ring against what it is drawn on
// (https://www.w3.org/TR/WCAG22/#contrast-minimum, https://www.w3.org/TR/WCAG22/#non-text-contrast).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

const css = await readFile(new URL('../../extension/shared/base.css', import.meta.url), 'utf8');

/** `{ light: { name: '#rrggbb' }, dark: {…} }` from the `--name: light-dark(#…, #…)` declarations. */
function themes() {
  const light = {};
  const dark = {};
  for (const [, name, a, b] of css.matchAll(/--([a-z0-9-]+):\s*light-dark\((#[0-9a-f]{6}),\s*(#[0-9a-f]{6})\)/gi)) {
    light[name] = a;
    dark[name] = b;
  }
  return { light, dark };
}

function luminance(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// [foreground, background, minimum]: every pairing the pages draw text or the focus ring with.
const PAIRS = [
  ...['bg', 'surface', 'surface-2'].flatMap((bg) => [['text', bg, 4.5], ['muted', bg, 4.5], ['brand', bg, 4.5]]),
  ['on-brand', 'brand', 4.5],
  ['on-brand', 'brand-strong', 4.5],
  ['danger', 'danger-bg', 4.5],
  ['danger', 'surface', 4.5],
  ['warn', 'warn-bg', 4.5],
  ['ok', 'ok-bg', 4.5],
  ['up', 'surface', 4.5],
  ['down', 'surface', 4.5],
  ['focus', 'bg', 3],
  ['focus', 'surface', 3],
];

for (const [theme, colours] of Object.entries(themes())) {
  test(`${theme} theme meets WCAG AA contrast`, () => {
    assert.ok(Object.keys(colours).length >= 15, `colours read from base.css: ${Object.keys(colours).join(', ')}`);
    const failures = [];
    for (const [fg, bg, minimum] of PAIRS) {
      assert.ok(colours[fg] && colours[bg], `${fg} and ${bg} are defined`);
      const ratio = contrast(colours[fg], colours[bg]);
      if (ratio < minimum) failures.push(`${fg} on ${bg}: ${ratio.toFixed(2)} < ${minimum}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('the contrast formula matches WCAG reference values', () => {
  assert.equal(contrast('#000000', '#ffffff').toFixed(1), '21.0');
  assert.equal(contrast('#777777', '#ffffff').toFixed(2), '4.48');
});
