// CHANGELOG.md as data: `## <version> (<date>)` starts a version, `- ` starts one of its items and
// an indented line continues it; anything before the first version (the title) is left out. The
// release checks (tests/ui/release.test.mjs) read it the same way.

/** `[{ heading, version, items: [text] }]`, newest first as written. */
export function changelogVersions(text) {
  const versions = [];
  for (const line of text.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      versions.push({ heading: heading[1].trim(), version: heading[1].trim().split(/\s/)[0], items: [] });
      continue;
    }
    const current = versions.at(-1);
    if (!current) continue;
    if (line.startsWith('- ')) current.items.push(line.slice(2).trim());
    else if (/^\s+\S/.test(line) && current.items.length) current.items[current.items.length - 1] += ` ${line.trim()}`;
  }
  return versions;
}
