import type { ResolvedConfig } from '../boot/config.ts';
import { CouchAdapter } from './couch-adapter.ts';
import { PouchAdapter } from './pouch-adapter.ts';
import type { StoreAdapter } from './types.ts';

/** Switching backends is one line of config: this is the only place that knows both. */
export function createStoreAdapter(store: ResolvedConfig['store']): StoreAdapter {
  return store.kind === 'couchdb'
    ? new CouchAdapter({ url: store.url, requestTimeoutMs: store.requestTimeoutMs })
    : new PouchAdapter({ path: store.path });
}
