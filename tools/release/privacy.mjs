// The privacy policy as Markdown, from its one source: the extension's privacy page
// (extension/privacy/privacy.html gives the order and the kind of each element, the locale files
// the sentences, extension/privacy/policy.js what the manifest fills in).
//
//   node tools/release/privacy.mjs          writes PRIVACY.md (English)
//   node tools/release/privacy.mjs --check  fails when PRIVACY.md is not what the page says

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { policyFacts } from '../../extension/privacy/policy.js';
import { manifest, message, ROOT } from './project.mjs';

const PAGE = join(ROOT, 'extension/privacy/privacy.html');

/** The policy in `lang` as Markdown, for the manifest `of`. */
export function privacyMarkdown(lang, of = manifest()) {
  const facts = policyFacts(of);
  const html = readFileSync(PAGE, 'utf8').replace(/<head>[\s\S]*<\/head>/, '');
  const lines = [];
  for (const [, tag, attributes] of html.matchAll(/<(h1|h2|p|li)\b([^>]*)>/g)) {
    const key = /data-i18n="([^"]+)"/.exec(attributes)?.[1];
    if (!key) continue;
    const condition = /data-if="([^"]+)"/.exec(attributes)?.[1];
    if (condition && !facts[condition]) continue;
    const fill = /data-fill="([^"]+)"/.exec(attributes)?.[1];
    const text = message(lang, key, fill ? [facts[fill]] : []);
    if (tag === 'h1') lines.push(`# ${text}`, '');
    else if (tag === 'h2') lines.push('', `## ${text}`, '');
    else if (tag === 'li') lines.push(`- ${text}`);
    else lines.push(text, '');
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(ROOT, 'PRIVACY.md');
  const text = privacyMarkdown('en');
  if (process.argv[2] === '--check') {
    if (readFileSync(path, 'utf8') !== text) {
      console.error('PRIVACY.md is not what extension/privacy/privacy.html says: run node tools/release/privacy.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(path, text);
    console.log(`written ${path}`);
  }
}
