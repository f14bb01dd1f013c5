import { AUTH, CLUSTER, FILES, STORE, definePlugin } from '@cozy-ts/kernel';
import { configSchema, defaults, type WebdavConfig } from './config.ts';
import { nextcloudRoutes, webdavRoutes } from './routes.ts';

export type { WebdavConfig } from './config.ts';

/** WebDAV access to the user's files, through the VFS service (FILES) and the DAV core (@cozy-ts/dav). */
export default definePlugin<WebdavConfig>({
  manifest: {
    id: 'webdav',
    name: '@cozy-ts/plugin-webdav',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/dav',
    requires: [
      { capability: AUTH, range: '^1.0.0' },
      { capability: FILES, range: '^1.0.0' },
      { capability: CLUSTER, range: '^1.0.0' },
      // The Nextcloud mounts' directory ETags read the files database's update sequence.
      { capability: STORE, range: '^1.0.0' },
    ],
  },
  configSchema,
  defaults,
  routes: webdavRoutes,
  rootRoutes: nextcloudRoutes,
});
