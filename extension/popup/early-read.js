// Starts the storage reads the popup's first paint needs while the page is still being parsed,
// so they run alongside the loading of the stylesheets and of popup.js → ext.js instead of after
// it. A classic script, because only those run during parsing (and a file, because the CSP is
// script-src 'self'); popup.js awaits the promise it leaves in `popupStored`. Only the session's
// non-secret flags are read, never the vault key.
{
  const { storage } = globalThis.browser ?? globalThis.chrome;
  globalThis.popupStored = Promise.all([
    storage.local.get([
      'vault', 'accounts', 'snapshot', 'lastError', 'historyView', 'popupRange', 'settings', 'portfolios', 'manual',
      'portfolioSnapshots', 'portfolioHistoryViews', 'popupPortfolio',
    ]),
    storage.session.get(['unlocked', 'lockEpoch']),
  ]);
}
