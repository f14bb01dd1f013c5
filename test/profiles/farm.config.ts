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
    // File contents in OpenStack Swift, shared by every process; COZY_PLUGIN__VFS_SWIFT__AUTH_URL, __USERNAME and
    // __PASSWORD set them per deployment (Keystone: an authUrl ending in /v3 plus __PROJECT, __USER_DOMAIN, __REGION).
    '@cozy-ts/plugin-vfs-swift': { authUrl: 'http://127.0.0.1:8080/auth/v1.0', username: 'test:tester', password: 'testing' },
    '@cozy-ts/plugin-settings': {},
    '@cozy-ts/plugin-data': {},
    '@cozy-ts/plugin-realtime': {},
    '@cozy-ts/plugin-files': {},
    '@cozy-ts/plugin-webdav': {},
    '@cozy-ts/plugin-sync': {},
    // Queues and schedules shared by every process; COZY_PLUGIN__JOBS__REDIS__URL / __PREFIX set them per deployment.
    '@cozy-ts/plugin-jobs': { broker: 'redis', redis: { url: 'redis://127.0.0.1:6379', prefix: 'cozy-jobs' } },
    '@cozy-ts/plugin-notifications': {},
    'cozy-ts-plugin-hello': {},
  },
});
