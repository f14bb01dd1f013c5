import type { ResolvedConfig } from '../boot/config.ts';
import type { StoreAdapter } from './types.ts';

/**
 * Switching backends is one line of config: this is the only place that knows both. Each adapter is imported
 * only when chosen, so the embedded profile never loads nano and the farm never loads PouchDB.
 */
export async function createStoreAdapter(store: ResolvedConfig['store']): Promise<StoreAdapter> {
  if (store.kind === 'couchdb') {
    const { CouchAdapter } = await import('./couch-adapter.ts');
    return new CouchAdapter({ url: store.url, requestTimeoutMs: store.requestTimeoutMs });
  }
  const { PouchAdapter } = await import('./pouch-adapter.ts');
  return new PouchAdapter({ path: store.path });
}
