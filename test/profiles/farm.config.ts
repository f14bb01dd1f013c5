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
    // File contents on a folder every process mounts (NFS or the like): <storage>/files, or
    // COZY_PLUGIN__VFS_LOCAL__ROOT. A Swift backend would take its place.
    '@cozy-ts/plugin-vfs-local': {},
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
