// Loads the wasm core on demand in a page (never in the service worker, where import() is not
// allowed). The popup paints from storage before this is ever called.

let loading = null;

export function loadCore() {
  if (!loading) {
    loading = import('../wasm/cartera.js').then(async (core) => {
      await core.default();
      return core;
    });
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}
