import { INSTANCES, VFS, definePlugin, type PluginContext } from '@cozy-ts/kernel';
import { configSchema, defaults, type VfsSwiftConfig } from './config.ts';
import { SwiftVfs } from './swift-vfs.ts';

export { SwiftVfs, type SwiftVfsOptions } from './swift-vfs.ts';
export type { VfsSwiftConfig } from './config.ts';

const backendOf = (ctx: PluginContext<VfsSwiftConfig>) => ctx.container.resolve(SwiftVfs);

export default definePlugin<VfsSwiftConfig>({
  manifest: {
    id: 'vfs-swift',
    name: '@cozy-ts/plugin-vfs-swift',
    version: '0.1.0',
    kernel: '^1.0.0',
    provides: [VFS],
    requires: [{ capability: INSTANCES, range: '^1.0.0' }],
    prefix: false,
  },
  configSchema,
  defaults,
  register(ctx) {
    const vfs = new SwiftVfs(ctx.config);
    ctx.container.register(SwiftVfs, { useValue: vfs });
    ctx.provide(VFS, vfs);
    const instances = ctx.use(INSTANCES);
    instances.onCreated('vfs-swift', (inst) => vfs.initInstance(inst));
    instances.onDestroying('vfs-swift', (inst) => vfs.destroyInstance(inst));
  },
  async start(ctx) {
    const vfs = backendOf(ctx);
    try {
      await vfs.check();
      ctx.log.info({ authUrl: ctx.config.authUrl, segmentSize: ctx.config.segmentSize }, 'swift file storage ready');
    } catch (err) {
      // Swift away at boot must not keep the other services down: file calls answer 503 until it is back,
      // and /status says so.
      ctx.log.warn({ err, authUrl: ctx.config.authUrl }, 'swift file storage unreachable at start-up');
    }
  },
  async stop(ctx) {
    backendOf(ctx).close();
  },
  async health(ctx) {
    try {
      await backendOf(ctx).check();
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: `swift: ${(err as Error).message}` };
    }
  },
});
