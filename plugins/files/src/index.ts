import { AUTH, CLUSTER, FILES, INSTANCES, STORE, VFS, definePlugin } from '@cozy-ts/kernel';

/**
 * The files plugin: provides the VFS service (FILES) and serves cozy-stack's /files API on top of it.
 * The service and the routes land in the following commits; the manifest is final.
 */
export default definePlugin({
  manifest: {
    id: 'files',
    name: '@cozy-ts/plugin-files',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/files',
    provides: [FILES],
    requires: [
      { capability: AUTH, range: '^1.0.0' },
      { capability: STORE, range: '^1.0.0' },
      { capability: CLUSTER, range: '^1.0.0' },
      { capability: INSTANCES, range: '^1.0.0' },
      { capability: VFS, range: '^1.0.0' },
    ],
  },
});
