import { defineConfig } from '@cozy-ts/kernel';

/**
 * The farm profile: CouchDB, Redis, several stateless processes behind a proxy. URLs and ports come from the
 * environment (COZY_COUCHDB_URL, COZY_REDIS_URL, COZY_HTTP_PORT, COZY_ADMIN_PORT), as a twelve-factor deployment
 * sets them per process.
 */
export default defineConfig({
  http: { host: '127.0.0.1', port: 8080, trustProxy: true },
  admin: { host: '127.0.0.1', port: 6060 },
  storage: './storage',
  store: { couchdb: { url: 'http://127.0.0.1:5984' } },
  redis: { url: 'redis://127.0.0.1:6379' },
  defaultInstance: false,
  plugins: {
    '@cozy-ts/plugin-settings': {},
    '@cozy-ts/plugin-data': {},
    '@cozy-ts/plugin-realtime': {},
    'cozy-ts-plugin-hello': {},
  },
});
