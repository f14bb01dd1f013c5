import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUTH, CLUSTER, DEVICE_PASSWORDS, FILES, FILES_DOCTYPE, STORE, instanceOf, type RouteOptions } from '@cozy-ts/kernel';
import { headerValue, type DavCore, type ResolvedTree } from '@cozy-ts/dav';
import { WebdavErrors } from '../access.ts';
import type { WebdavConfig } from '../config.ts';
import { nextcloudApiRoutes } from './api-routes.ts';
import { loginFlowRoutes } from './login-flow/routes.ts';
import { NextcloudBackend } from './backend.ts';
import { checkTargetConditions, holdChunkConditions } from './chunked-upload.ts';
import { Staging } from './staging.ts';
import { UploadsBackend, mountUploads } from './uploads.ts';
import { nextcloudUser } from './identity.ts';
import { treeRights } from './permissions.ts';
import { addNextcloudHeaders, recordRead, recordWritten } from './response-headers.ts';
import { mountTrashbin } from './trashbin/routes.ts';
import { mountVersions } from './versions/routes.ts';


type Ctx = RouteOptions<WebdavConfig>['ctx'];

interface Tree {
  core: DavCore;
  resolve(req: FastifyRequest): Promise<ResolvedTree>;
}

/**
 * The files tree as the Nextcloud mounts serve it: the same resolution (auth, rights, instance), with the backend
 * wrapped in the Nextcloud view (oc:/nc: properties, directory ETags, response headers).
 */
export function nextcloudTree(base: Tree, ctx: Ctx): Tree {
  const auth = ctx.use(AUTH);
  const store = ctx.use(STORE);
  const files = ctx.use(FILES);
  const cluster = ctx.use(CLUSTER);
  return {
    core: base.core,
    resolve: async (req) => {
      const tree = await base.resolve(req);
      // Already authenticated by `base.resolve`: AUTH keeps the answer per request.
      const who = await auth.authenticate(req);
      const inst = instanceOf(req);
      const me = nextcloudUser(req, inst);
      const backend = new NextcloudBackend(tree.backend, {
        inst,
        rights: treeRights(who.permissions),
        owner: { id: me.id, displayName: me.displayName },
        // The changes feed's position: 0.6 ms on the embedded store where databaseInfo's update_seq costs 5-20 ms.
        treeVersion: async () => (await store.changes(inst, FILES_DOCTYPE, { since: 'now', limit: 1 })).last_seq,
        onWritten: (doc) => recordWritten(req, doc),
        onRead: (doc) => recordRead(req, doc),
        checksum: headerValue(req.headers, 'oc-checksum'),
        ...(req.method === 'PUT' && req.headers['oc-chunked'] !== undefined ? {
          chunked: {
            staging: new Staging(files, cluster.locks, inst),
            totalLength: totalLength(req),
            checkTarget: (target) => checkTargetConditions(req, target),
          },
        } : {}),
      });
      return { ...tree, backend };
    },
  };
}

function totalLength(req: FastifyRequest): number | undefined {
  const v = req.headers['oc-total-length'];
  return typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

/**
 * `/status.php`, OCS, Login Flow v1 and v2, chunked upload v2 (`/remote.php/dav/uploads/`), the trash bin, file
 * versions and the Nextcloud response headers, in the scope of the Nextcloud mounts (before them, so the hooks reach
 * them). `tree` is the Nextcloud files tree.
 */
export async function nextcloudApi(app: FastifyInstance, ctx: Ctx, tree: Tree): Promise<void> {
  addNextcloudHeaders(app);
  holdChunkConditions(app);
  const auth = ctx.use(AUTH);
  const files = ctx.use(FILES);
  const cluster = ctx.use(CLUSTER);
  await app.register(async (scope) => nextcloudApiRoutes(scope, { auth, files, realm: ctx.config.realm }));
  await app.register(async (scope) => loginFlowRoutes(scope, { auth, devices: ctx.use(DEVICE_PASSWORDS), cache: cluster.cache }));
  const uploads = async (req: FastifyRequest): Promise<ResolvedTree> => {
    // The files tree's resolution authenticates and checks the method's rights; an upload makes a file: PUT's too.
    const base = await tree.resolve(req);
    if (!treeRights((await auth.authenticate(req)).permissions).write) throw WebdavErrors.forbidden();
    const inst = instanceOf(req);
    return { backend: new UploadsBackend(new Staging(files, cluster.locks, inst), files, inst, totalLength(req)), namespace: `${inst.domain}#uploads`, principal: base.principal };
  };
  await app.register(async (scope) => mountUploads(scope, { core: tree.core, files: tree.resolve, uploads, totalLength }));
  await app.register(async (scope) => mountTrashbin(scope, { core: tree.core, auth, files, realm: ctx.config.realm }));
  await app.register(async (scope) => mountVersions(scope, { core: tree.core, auth, files, store: ctx.use(STORE), realm: ctx.config.realm }));
}
