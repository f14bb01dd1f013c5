import { AUTH, CLUSTER, DOC_EVENTS, FILES, INSTANCES, JOBS, REALTIME, STORE, VFS, definePlugin } from '@cozy-ts/kernel';
import { configSchema, defaults, type FilesConfig } from './config.ts';
import { fsckAdminRoutes } from './fsck/admin-routes.ts';
import { registerFilesWorkers } from './jobs-workers.ts';
import { diskUsageRoutes, filesRoutes } from './routes.ts';
import { Thumbnails } from './thumbnails/routes.ts';
import { VfsService } from './vfs/vfs-service.ts';

export type { FilesConfig } from './config.ts';
export { VfsService } from './vfs/vfs-service.ts';

/** Provides the VFS service (FILES) and serves cozy-stack's /files API (plus /settings/disk-usage) on top of it. */
export default definePlugin<FilesConfig>({
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
      { capability: DOC_EVENTS, range: '^1.0.0' },
      { capability: REALTIME, range: '^1.0.0', optional: true },
      // Thumbnails and the trash purge become `thumbnail` / `trash-files` jobs when present; in-process otherwise.
      { capability: JOBS, range: '^1.0.0', optional: true },
    ],
  },
  configSchema,
  defaults,
  register(ctx) {
    const instances = ctx.use(INSTANCES);
    const service = new VfsService({
      store: ctx.use(STORE),
      vfs: ctx.use(VFS),
      locks: ctx.use(CLUSTER).locks,
      cache: ctx.use(CLUSTER).cache,
      instances,
      config: ctx.config,
    });
    ctx.container.register(VfsService, { useValue: service });
    ctx.provide(FILES, service);
    instances.onCreated('files', (inst) => service.ensureRoot(inst));
    instances.onDestroying('files', async (inst) => service.forget(inst));
    const thumbnails = new Thumbnails({
      store: ctx.use(STORE), vfs: ctx.use(VFS), instances, cluster: ctx.use(CLUSTER), log: ctx.log,
      realtime: ctx.tryUse(REALTIME), events: ctx.use(DOC_EVENTS), options: ctx.config.thumbnails,
    });
    ctx.container.register(Thumbnails, { useValue: thumbnails });
    const jobs = ctx.tryUse(JOBS);
    if (jobs) registerFilesWorkers(jobs, { thumbnailer: thumbnails.maker, service, thumbnailConcurrency: ctx.config.thumbnails?.concurrency });
  },
  async start(ctx) {
    ctx.container.resolve(VfsService).follow(ctx.use(DOC_EVENTS));
    ctx.container.resolve(Thumbnails).start();
  },
  async stop(ctx) {
    ctx.container.resolve(VfsService).unfollow();
    await ctx.container.resolve(Thumbnails).stop();
    await ctx.container.resolve(VfsService).drain();
  },
  routes: filesRoutes,
  rootRoutes: diskUsageRoutes,
  adminRoutes: fsckAdminRoutes,
});
