import { AUTH, CLUSTER, STORE, definePlugin } from '@cozy-ts/kernel';
import { configSchema, defaults, type SyncConfig } from './config.ts';
import { syncRoutes, wellKnownRoutes } from './routes.ts';

export default definePlugin<SyncConfig>({
  manifest: {
    id: 'sync',
    name: '@cozy-ts/plugin-sync',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/sync',
    requires: [
      { capability: AUTH, range: '^1.0.0' },
      { capability: STORE, range: '^1.0.0' },
      { capability: CLUSTER, range: '^1.0.0' },
    ],
  },
  configSchema,
  defaults,
  routes: syncRoutes,
  rootRoutes: async (app) => wellKnownRoutes(app),
});
