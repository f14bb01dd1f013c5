import type { FastifyInstance } from 'fastify';
import type { AuthService, FilesService } from '@cozy-ts/kernel';
import { DavErrors, mountDav, type DavContext, type DavCore, type DavReply } from '@cozy-ts/dav';
import { userMountOf } from '../../user-mount.ts';
import { authorizeHome, checkRestoreDestination, getWithName, refusedMethods } from './home.ts';
import { TrashBackend, type TrashResource } from './backend.ts';

/** Nextcloud's address of a user's trash bin; the user's name follows it. */
export const NEXTCLOUD_TRASHBIN_BASE = '/remote.php/dav/trashbin';

export interface TrashbinDeps {
  core: DavCore;
  auth: AuthService;
  files: FilesService;
  realm: string;
}

async function state(ctx: DavContext): Promise<{ backend: TrashBackend; res: TrashResource }> {
  const backend = ctx.backend as TrashBackend;
  const res = await backend.stat(ctx.request.path);
  if (!res) throw DavErrors.notFound();
  return { backend, res };
}

/** MOVE of a trashed entry into `restore/`: restores it where it came from (the name in the Destination is not used). */
async function restore(ctx: DavContext): Promise<DavReply> {
  const { backend, res } = await state(ctx);
  if (res.kind !== 'item') throw DavErrors.forbidden('Only trashed entries can be restored');
  checkRestoreDestination(ctx.request, NEXTCLOUD_TRASHBIN_BASE);
  await backend.restore(res);
  // Sabre's answer to a MOVE into Nextcloud's restore folder, whose members never exist.
  return { status: 201, headers: { 'content-length': '0' } };
}

/** DELETE of an entry destroys it; of `trash`, empties the trash. */
async function remove(ctx: DavContext): Promise<DavReply> {
  const { backend, res } = await state(ctx);
  if (res.kind === 'trash') await backend.empty();
  else if (res.kind === 'item') await backend.destroy(res);
  else throw DavErrors.forbidden(`${res.kind === 'home' ? 'The trash bin' : 'The restore folder'} cannot be deleted`);
  return { status: 204, headers: {} };
}

/**
 * `/remote.php/dav/trashbin/<user>/`, what the Nextcloud apps' "Deleted files" screens use, over our trash through
 * the files service: PROPFIND lists (`trash/`, and into trashed folders), GET downloads a trashed file, MOVE of an
 * entry to `restore/<name>` restores it, DELETE of an entry destroys it, DELETE of `trash` empties the trash.
 * `<user>` must be the caller's Nextcloud id; the rights are the files DAV routes' (reading lists and downloads,
 * MOVE needs the files' PATCH and DELETE, DELETE their DELETE).
 */
export function mountTrashbin(app: FastifyInstance, deps: TrashbinDeps): void {
  const get = (head: boolean) => (ctx: DavContext) => getWithName(deps.core, ctx, head, async (path) => {
    const res = await (ctx.backend as TrashBackend).stat(path);
    return res?.kind === 'item' && !res.collection ? res.filename : undefined;
  });
  mountDav(app, {
    path: NEXTCLOUD_TRASHBIN_BASE,
    core: deps.core,
    mountOf: userMountOf,
    resolve: async (req) => {
      const c = await authorizeHome(deps.auth, req, deps.realm, NEXTCLOUD_TRASHBIN_BASE);
      return { backend: new TrashBackend(deps.files, c.inst, c.actor), namespace: `${c.inst.domain}#trashbin`, principal: `${c.who.kind}:${c.who.subject}` };
    },
    methods: { ...refusedMethods(), MOVE: restore, DELETE: remove, GET: get(false), HEAD: get(true) },
  });
}
