import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUTH, CLUSTER, FILES, instanceOf, type RouteOptions } from '@cozy-ts/kernel';
import { ClusterLockStore, DavCore, mountDav, type ResolvedTree } from '@cozy-ts/dav';
import { authorize, filesActor } from './access.ts';
import type { WebdavConfig } from './config.ts';
import { FilesDavBackend } from './files-backend.ts';
import { mountUserDav } from './user-mount.ts';
import { nextcloudApi, nextcloudTree } from './nextcloud/index.ts';

/** The public mounts of the files tree: ours, and Nextcloud's so apps written for Nextcloud connect too. */
export const FILES_MOUNT = '/dav/files';
export const NEXTCLOUD_MOUNTS = ['/remote.php/webdav'];
export { NEXTCLOUD_USER_BASE } from './user-mount.ts';

/** One DAV core per plugin instance and everything it needs to serve the files tree to a request's caller. */
function filesTree(ctx: RouteOptions<WebdavConfig>['ctx']): { core: DavCore; resolve: (req: FastifyRequest) => Promise<ResolvedTree> } {
  const auth = ctx.use(AUTH);
  const files = ctx.use(FILES);
  const cluster = ctx.use(CLUSTER);
  const core = new DavCore({
    locks: new ClusterLockStore(cluster.cache, cluster.locks, 'webdav:locks:'),
    xmlBodyLimit: ctx.config.xmlBodyLimit,
    timeouts: { defaultSeconds: ctx.config.lockDefaultSeconds, maxSeconds: ctx.config.lockMaxSeconds },
  });
  const resolve = async (req: FastifyRequest): Promise<ResolvedTree> => {
    const inst = instanceOf(req);
    const who = await authorize(auth, req, ctx.config.realm);
    const actor = filesActor(who);
    // One lock namespace per instance: locks bind every mount of the same tree and every process.
    return { backend: new FilesDavBackend(files, inst, actor), namespace: inst.domain, principal: `${who.kind}:${who.subject}` };
  };
  return { core, resolve };
}

/** `/dav/files` under the plugin's `/dav` prefix. */
export async function webdavRoutes(app: FastifyInstance, { ctx }: RouteOptions<WebdavConfig>): Promise<void> {
  const tree = filesTree(ctx);
  await app.register(async (scope) => mountDav(scope, { path: '/files', ...tree }));
}

/** Nextcloud's `/remote.php/webdav` and `/remote.php/dav/files/<user>` at the root, when enabled. */
export async function nextcloudRoutes(app: FastifyInstance, { ctx }: RouteOptions<WebdavConfig>): Promise<void> {
  if (!ctx.config.nextcloudAlias) return;
  // Lock state is in the cluster cache, so every mount (and every process) shares it through its own core.
  const tree = nextcloudTree(filesTree(ctx), ctx);
  await nextcloudApi(app, ctx, tree);
  for (const path of NEXTCLOUD_MOUNTS) await app.register(async (scope) => mountDav(scope, { path, ...tree }));
  await app.register(async (scope) => mountUserDav(scope, tree));
}
