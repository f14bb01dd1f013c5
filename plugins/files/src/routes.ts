import type { FastifyInstance } from 'fastify';
import {
  AUTH, AuthErrors, CLUSTER, acceptJsonApi, SETTINGS_DOCTYPE, STORE, VFS, instanceOf, type RouteOptions,
} from '@cozy-ts/kernel';
import type { FilesConfig } from './config.ts';
import { FilesAccess } from './http/access.ts';
import { registerCreateRoutes } from './http/create-routes.ts';
import { sendJsonApi, type RouteDeps } from './http/deps.ts';
import { registerDownloadRoutes } from './http/download-routes.ts';
import { registerPatchRoutes } from './http/patch-routes.ts';
import { param } from './http/params.ts';
import { registerReadRoutes } from './http/read-routes.ts';
import { registerTrashRoutes } from './http/trash-routes.ts';
import { registerUploadMetadataRoutes } from './http/upload-metadata.ts';
import { registerVersionRoutes } from './http/version-routes.ts';
import { VfsService } from './vfs/vfs-service.ts';
import { registerArchiveRoutes } from './archive/routes.ts';
import { registerFsckRoutes } from './fsck/routes.ts';
import { registerQueryRoutes } from './queries/routes.ts';
import { registerThumbnailRoutes, Thumbnails } from './thumbnails/routes.ts';
import { hasThumbnailLinks, thumbnailLinks } from './thumbnails/secrets.ts';

function routeDeps(ctx: RouteOptions<FilesConfig>['ctx']): RouteDeps {
  const svc = ctx.container.resolve(VfsService);
  const thumbnails = ctx.container.resolve(Thumbnails);
  return {
    svc,
    access: new FilesAccess(ctx.use(AUTH), svc),
    cache: ctx.use(CLUSTER).cache,
    config: ctx.config,
    fileLinks: async (inst, doc) => {
      if (!hasThumbnailLinks(doc)) return undefined;
      return thumbnailLinks(doc._id, await thumbnails.secrets.add(inst, doc._id));
    },
  };
}

/**
 * Mounted at /files. Static paths (`/metadata`, `/trash`, `/download`...) win over `/:id` in fastify's router,
 * whatever the context they are declared in. Uploads live in a child context with a raw-stream body parser; every
 * other route reads JSON or JSON:API bodies.
 */
export async function filesRoutes(app: FastifyInstance, { ctx }: RouteOptions<FilesConfig>): Promise<void> {
  acceptJsonApi(app);
  const d = routeDeps(ctx);
  registerCreateRoutes(app, d);
  registerReadRoutes(app, d);
  registerPatchRoutes(app, d);
  registerTrashRoutes(app, d);
  registerDownloadRoutes(app, d);
  registerVersionRoutes(app, d);
  registerUploadMetadataRoutes(app, d);
  const store = ctx.use(STORE);
  const cluster = ctx.use(CLUSTER);
  registerQueryRoutes(app, { store, files: d.svc, access: d.access, lock: d.svc.lock, fileLinks: d.fileLinks });
  registerFsckRoutes(app, { store, auth: ctx.use(AUTH), vfs: ctx.use(VFS), cluster, log: ctx.log });
  registerThumbnailRoutes(app, ctx.container.resolve(Thumbnails));
  registerArchiveRoutes(app, { files: d.svc, access: d.access, cache: cluster.cache, log: ctx.log });
}

const DISK_USAGE_ID = 'io.cozy.settings.disk-usage';

/**
 * `GET /settings/disk-usage`, a cozy-stack settings route that only the VFS can answer. Mounted from the root (one
 * path, not a prefix), so it sits beside plugins/settings' routes without touching them. Allowed as cozy-stack's
 * checkAccessToDiskUsage: a permission on the document, a web app token, or the right to write some directory.
 */
export async function diskUsageRoutes(app: FastifyInstance, { ctx }: RouteOptions<FilesConfig>): Promise<void> {
  const d = routeDeps(ctx);
  app.get('/settings/disk-usage', async (req, reply) => {
    const caller = await d.access.caller(req);
    const perms = caller.auth.permissions;
    const allowed = perms.allow('GET', SETTINGS_DOCTYPE, { _id: DISK_USAGE_ID }) || caller.auth.kind === 'app' ||
      perms.rules.some((r) => (r.type === 'io.cozy.files' || r.type === 'io.cozy.*') && r.verbs.has('POST')) || perms.isMaximal();
    if (!allowed) throw AuthErrors.forbidden();
    const usage = await d.svc.diskUsage(instanceOf(req));
    const attributes: Record<string, string> = { used: String(usage.used), files: String(usage.files), versions: String(usage.versions) };
    if (usage.quota !== null) attributes.quota = String(usage.quota);
    if (param(req.query, 'include') === 'trash') attributes.trash = String(usage.trash);
    return sendJsonApi(reply, 200, { data: { type: SETTINGS_DOCTYPE, id: DISK_USAGE_ID, attributes, meta: {}, links: { self: '/settings/disk-usage' } } });
  });
}
