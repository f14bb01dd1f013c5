import { AUTH, STORE, definePlugin } from '@cozy-ts/kernel';
import { configSchema, defaults, type DataConfig } from './config.ts';
import { dataRoutes } from './routes.ts';

export default definePlugin<DataConfig>({
  manifest: {
    id: 'data',
    name: '@cozy-ts/plugin-data',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/data',
    requires: [
      { capability: AUTH, range: '^1.0.0' },
      { capability: STORE, range: '^1.0.0' },
    ],
  },
  configSchema,
  defaults,
  routes: dataRoutes,
});
