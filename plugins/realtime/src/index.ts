import { AUTH, CLUSTER, DOC_EVENTS, REALTIME, definePlugin, type PluginContext } from '@cozy-ts/kernel';
import { configSchema, defaults, type RealtimeConfig } from './config.ts';
import { RealtimeHub } from './hub.ts';
import { realtimeRoutes } from './routes.ts';

// Per kernel, not per module: two kernels in one process (tests, benchmarks) each get their own hub.
const HUB = Symbol('cozy-ts.realtime.hub');
const hubOf = (ctx: PluginContext<RealtimeConfig>): RealtimeHub => ctx.container.resolve<RealtimeHub>(HUB);

export default definePlugin<RealtimeConfig>({
  manifest: {
    id: 'realtime',
    name: '@cozy-ts/plugin-realtime',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/realtime',
    provides: [REALTIME],
    requires: [
      { capability: AUTH, range: '^1.0.0' },
      { capability: DOC_EVENTS, range: '^1.0.0' },
      { capability: CLUSTER, range: '^1.0.0' },
    ],
  },
  configSchema,
  defaults,
  register(ctx) {
    const hub = new RealtimeHub(ctx.use(CLUSTER).pubsub, ctx.log);
    ctx.container.register(HUB, { useValue: hub });
    ctx.provide(REALTIME, hub);
  },
  routes: (app, { ctx }) => realtimeRoutes(app, { ctx, hub: hubOf(ctx) }),
  async start(ctx) {
    hubOf(ctx).follow(ctx.use(DOC_EVENTS));
  },
  async stop(ctx) {
    await hubOf(ctx).stop();
  },
});
