import { statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTANCES, VFS, definePlugin, type PluginContext, type PluginHealth } from '@cozy-ts/kernel';
import { configSchema, defaults, type VfsLocalConfig } from './config.ts';
import { LocalVfs } from './local-vfs.ts';

export { LocalVfs, type LocalVfsOptions } from './local-vfs.ts';
export type { VfsLocalConfig } from './config.ts';

// Below this, /status says degraded: uploads may soon fail with 507.
const LOW_SPACE_BYTES = 256 * 1024 * 1024;

const backendOf = (ctx: PluginContext<VfsLocalConfig>) => ctx.container.resolve(LocalVfs);

/** The probe in flight per storage (a process may run several kernels, each with its own root). */
const probing = new WeakMap<LocalVfs, Promise<PluginHealth>>();

async function probeStorage(vfs: LocalVfs): Promise<PluginHealth> {
  try {
    const root = await vfs.prepare();
    // A real write: access(W_OK) says yes to root on a read-only remount or a file in place of the folder.
    const probe = join(root, `.cozy_health_${process.pid}`);
    await writeFile(probe, '');
    await unlink(probe);
    const fs = await statfs(root);
    const free = fs.bavail * fs.bsize;
    return free < LOW_SPACE_BYTES ? { status: 'degraded', detail: `${free} bytes free` } : { status: 'ok' };
  } catch (err) {
    return { status: 'down', detail: `file storage not writable: ${(err as Error).message}` };
  }
}

export default definePlugin<VfsLocalConfig>({
  manifest: {
    id: 'vfs-local',
    name: '@cozy-ts/plugin-vfs-local',
    version: '0.1.0',
    kernel: '^1.0.0',
    provides: [VFS],
    requires: [{ capability: INSTANCES, range: '^1.0.0' }],
    prefix: false,
  },
  configSchema,
  defaults,
  register(ctx) {
    // Beside the embedded store by default, so COZY_STORAGE moves files and documents together.
    const root = ctx.config.root ? ctx.resolvePath(ctx.config.root) : join(ctx.paths.storage, 'files');
    const vfs = new LocalVfs({ root, fsync: ctx.config.fsync });
    ctx.container.register(LocalVfs, { useValue: vfs });
    ctx.provide(VFS, vfs);
    const instances = ctx.use(INSTANCES);
    instances.onCreated('vfs-local', (inst) => vfs.initInstance(inst));
    instances.onDestroying('vfs-local', (inst) => vfs.destroyInstance(inst));
  },
  async start(ctx) {
    const vfs = backendOf(ctx);
    const root = await vfs.prepare();
    // Nothing is serving yet: every temporary of a dead process is garbage from a crash.
    const removed = await vfs.cleanupAllTemporaries();
    ctx.log.info({ root, removedTemporaries: removed }, 'local file storage ready');
  },
  health(ctx) {
    // Concurrent checks (several /status requests at once) share one probe: each with its own would race on the
    // probe file, one unlinking what another was about to, and report the storage down while it is fine.
    const vfs = backendOf(ctx);
    let probe = probing.get(vfs);
    if (!probe) {
      probe = probeStorage(vfs).finally(() => probing.delete(vfs));
      probing.set(vfs, probe);
    }
    return probe;
  },
});
