// The store listings, per language, from store/listing.json: what to paste into the Chrome Web
// Store's dashboard (listing and privacy practices) and addons.mozilla.org's, as Markdown.

import { policyFacts } from '../../extension/privacy/policy.js';
import { listingSource, manifest } from './project.mjs';

// The stores' limits (characters): Chrome's name and summary are the manifest's
// (https://developer.chrome.com/docs/extensions/reference/manifest/description, 132), and its
// detailed description takes 16,000; addons.mozilla.org takes a name of 50
// (https://developer.mozilla.org/en-US/docs/Mozilla/Add-ons/WebExtensions/manifest.json/name,
// which gives Chrome's 75 too) and a summary of 250.
export const LIMITS = { chromeName: 75, chromeSummary: 132, chromeDescription: 16_000, amoName: 50, amoSummary: 250 };

// The three statements Chrome's privacy practices ask the developer to certify.
const CHROME_CERTIFICATIONS = [
  'I do not sell or transfer user data to third parties, outside of the approved use cases',
  "I do not use or transfer user data for purposes that are unrelated to my item's single purpose",
  'I do not use or transfer user data to determine creditworthiness or for lending purposes',
];

/** Every API permission and every host permission the manifest asks for, optional ones included. */
export function manifestPermissions(of = manifest()) {
  return {
    permissions: [...(of.permissions ?? []), ...(of.optional_permissions ?? [])],
    hostPermissions: [...(of.host_permissions ?? []), ...(of.optional_host_permissions ?? [])],
  };
}

/** The listing of `lang` as Markdown, with the screenshot files `screenshots` (`[{ file, caption }]`). */
export function listingMarkdown(lang, { source = listingSource(), of = manifest(), screenshots = [] } = {}) {
  const entry = source.listing[lang];
  const stores = source.languages[lang];
  const facts = policyFacts(of);
  const { permissions, hostPermissions } = manifestPermissions(of);
  const section = (title, ...body) => [`### ${title}`, '', ...body, ''];
  const lines = [
    `# ${entry.name} ${of.version}: store listing, ${lang}`,
    '',
    `## Chrome Web Store (${stores.chrome})`,
    '',
    ...section('Name (from the manifest)', entry.name),
    ...section('Summary (from the manifest)', entry.summary),
    ...section('Description', entry.description),
    ...section('Single purpose', entry.singlePurpose),
    ...section('Permission justifications', ...permissions.map((permission) => `- ${permission}: ${entry.permissions[permission]}`)),
    ...section('Host permission justification', ...hostPermissions.map((origin) => `- ${origin}: ${entry.hostPermissions[origin]}`)),
    ...section('Remote code', entry.remoteCode),
    ...section(
      'Data usage',
      `- ${entry.dataUse.handled}`,
      `- ${entry.dataUse.stored}`,
      `- ${entry.dataUse.sentTo}`,
      ...(facts.news ? [`- ${entry.dataUse.news}`] : []),
      `- ${entry.dataUse.sale}`,
      `- ${entry.dataUse.transfer}`,
      '',
      'Certified:',
      ...CHROME_CERTIFICATIONS.map((statement) => `- [x] ${statement}`),
    ),
    ...section('Privacy policy', 'privacy.md in this folder (PRIVACY.md in the repository, the extension\'s privacy/privacy.html page).'),
    `## addons.mozilla.org (${stores.amo})`,
    '',
    ...section('Name', entry.name),
    ...section('Summary', entry.amoSummary),
    ...section('Description', entry.description),
    ...section('Privacy policy', 'privacy.md in this folder.'),
    ...(screenshots.length ? ['## Screenshots', '', ...screenshots.map(({ file, caption }) => `- ${file}: ${caption}`), ''] : []),
  ];
  return `${lines.join('\n').trim()}\n`;
}
