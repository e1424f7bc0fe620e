// `./build.sh release`'s files per language, in dist/release/<language>/: the store listing
// (listing.md, from store/listing.json), the privacy policy (privacy.md, from the extension's
// privacy page), the screenshots and the promotional tile (screenshots.mjs).
//
//   node tools/release/release.mjs <out dir>

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { listingMarkdown } from './listing.mjs';
import { privacyMarkdown } from './privacy.mjs';
import { listingSource } from './project.mjs';
import { renderStorePictures } from './screenshots.mjs';

const [outDir] = process.argv.slice(2);
if (!outDir) throw new Error('usage: release.mjs <out dir>');
const pictures = await renderStorePictures(outDir);
for (const lang of Object.keys(listingSource().languages)) {
  writeFileSync(join(outDir, lang, 'listing.md'), listingMarkdown(lang, { screenshots: pictures[lang] }));
  writeFileSync(join(outDir, lang, 'privacy.md'), privacyMarkdown(lang));
}
console.log(`listings and privacy policies written to ${outDir}/<language>/`);
