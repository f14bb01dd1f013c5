import { AUTH, DEVICE_PASSWORDS, INSTANCES, SESSIONS, STORE, definePlugin } from '@cozy-ts/kernel';
import { settingsRoutes } from './routes.ts';

export default definePlugin({
  manifest: {
    id: 'settings',
    name: '@cozy-ts/plugin-settings',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/settings',
    requires: [
      { capability: AUTH, range: '^1.0.0' },
      { capability: STORE, range: '^1.0.0' },
      { capability: INSTANCES, range: '^1.0.0' },
      { capability: SESSIONS, range: '^1.0.0' },
      { capability: DEVICE_PASSWORDS, range: '^1.0.0' },
    ],
  },
  routes: settingsRoutes,
});
