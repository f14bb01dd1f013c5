import type { FastifyInstance } from 'fastify';
import { AUTH, CLUSTER, FILES, instanceOf, type RouteOptions } from '@cozy-ts/kernel';
import { ClusterLockStore, DavCore, mountDav, type ResolvedTree } from '@cozy-ts/dav';
import { authorize } from './access.ts';
import type { WebdavConfig } from './config.ts';
import { FilesDavBackend } from './files-backend.ts';

/** The public mounts of the files tree: ours, and Nextcloud's so apps written for Nextcloud connect too. */
export const FILES_MOUNT = '/dav/files';
export const NEXTCLOUD_MOUNTS = ['/remote.php/webdav'];

async function mountFiles(app: FastifyInstance, ctx: RouteOptions<WebdavConfig>['ctx'], paths: string[]): Promise<void> {
  const auth = ctx.use(AUTH);
  const files = ctx.use(FILES);
  const cluster = ctx.use(CLUSTER);
  const core = new DavCore({
    locks: new ClusterLockStore(cluster.cache, cluster.locks, 'webdav:locks:'),
    xmlBodyLimit: ctx.config.xmlBodyLimit,
    timeouts: { defaultSeconds: ctx.config.lockDefaultSeconds, maxSeconds: ctx.config.lockMaxSeconds },
  });
  const resolve = async (req: Parameters<typeof authorize>[1]): Promise<ResolvedTree> => {
    const inst = instanceOf(req);
    const who = await authorize(auth, req, ctx.config.realm);
    const actor = who.kind === 'app' || who.kind === 'konnector' ? { slug: who.subject } : undefined;
    // One lock namespace per instance: locks bind every mount of the same tree and every process.
    return { backend: new FilesDavBackend(files, inst, actor), namespace: inst.domain, principal: `${who.kind}:${who.subject}` };
  };
  // Lock state is in the cluster cache, so the two mounts (and every process) share it through their own cores.
  for (const path of paths) await app.register(async (scope) => mountDav(scope, { path, core, resolve }));
}

/** `/dav/files` under the plugin's `/dav` prefix. */
export async function webdavRoutes(app: FastifyInstance, { ctx }: RouteOptions<WebdavConfig>): Promise<void> {
  await mountFiles(app, ctx, ['/files']);
}

/** Nextcloud's `/remote.php/webdav` at the root, when enabled. */
export async function nextcloudRoutes(app: FastifyInstance, { ctx }: RouteOptions<WebdavConfig>): Promise<void> {
  if (ctx.config.nextcloudAlias) await mountFiles(app, ctx, NEXTCLOUD_MOUNTS);
}
