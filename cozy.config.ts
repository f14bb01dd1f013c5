import { defineConfig } from '@cozy-ts/kernel';

/**
 * The Raspberry Pi profile, and what `npm start` runs: embedded store and local files under ./storage, memory
 * cluster ports, one process. Every value can be overridden by an environment variable (see README).
 */
export default defineConfig({
  http: { host: '127.0.0.1', port: 8080 },
  admin: { host: '127.0.0.1', port: 6060 },
  // Everything local lives here: the embedded store (storage/db) and, with vfs-local, the files.
  storage: './storage',
  // No `store` key: the embedded store under storage/db. Farm: store: { couchdb: { url: 'http://127.0.0.1:5984' } }.
  plugins: {
    '@cozy-ts/plugin-vfs-local': {},
    '@cozy-ts/plugin-settings': {},
    '@cozy-ts/plugin-data': {},
    '@cozy-ts/plugin-realtime': {},
    '@cozy-ts/plugin-files': {},
    '@cozy-ts/plugin-webdav': {},
    '@cozy-ts/plugin-sync': {},
    // Memory broker: one process; the farm profile sets `broker: 'redis'`.
    '@cozy-ts/plugin-jobs': {},
    '@cozy-ts/plugin-notifications': {},
    'cozy-ts-plugin-hello': {},
  },
});
