// The locale files: every language says everything English says, with the same placeholders,
// and the manifest's texts fit the stores' limits (Chrome: name 75, description 132 characters,
// https://developer.chrome.com/docs/extensions/reference/manifest/description).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

const root = new URL('../../extension/_locales/', import.meta.url);
const languages = readdirSync(root);
const messages = Object.fromEntries(languages.map((lang) => [lang, JSON.parse(readFileSync(new URL(`${lang}/messages.json`, root), 'utf8'))]));

test('English, Spanish and Portuguese (Brazil) are shipped', () => {
  assert.deepEqual([...languages].sort(), ['en', 'es', 'pt_BR']);
});

for (const lang of languages.filter((l) => l !== 'en')) {
  test(`${lang} is as complete as English, placeholders included`, () => {
    assert.deepEqual(Object.keys(messages[lang]).sort(), Object.keys(messages.en).sort());
    for (const [key, entry] of Object.entries(messages.en)) {
      const theirs = messages[lang][key];
      assert.ok(theirs.message.trim(), `${lang} ${key} is empty`);
      assert.deepEqual(theirs.placeholders ?? {}, entry.placeholders ?? {}, `${lang} ${key} placeholders`);
      for (const name of theirs.message.matchAll(/\$([A-Za-z_]+)\$/g)) {
        assert.ok(name[1].toLowerCase() in (theirs.placeholders ?? {}), `${lang} ${key} uses $${name[1]}$ without defining it`);
      }
    }
  });
}

for (const lang of languages) {
  test(`${lang}: the manifest's name and description fit the store limits`, () => {
    assert.ok(messages[lang].extName.message.length <= 75);
    assert.ok(messages[lang].extDescription.message.length <= 132, `${messages[lang].extDescription.message.length} characters`);
  });
}
