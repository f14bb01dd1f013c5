import type { FastifyInstance } from 'fastify';
import type { AuthService, DocumentStore, FilesService } from '@cozy-ts/kernel';
import { DavErrors, mountDav, type DavContext, type DavCore, type DavReply } from '@cozy-ts/dav';
import { userMountOf } from '../../user-mount.ts';
import { authorizeHome, checkRestoreDestination, getWithName, refusedMethods } from '../trashbin/home.ts';
import { VersionsBackend, type VersionsResource } from './backend.ts';

/** Nextcloud's address of a user's file versions; the user's name follows it. */
export const NEXTCLOUD_VERSIONS_BASE = '/remote.php/dav/versions';

export interface VersionsDeps {
  core: DavCore;
  auth: AuthService;
  files: FilesService;
  /** Where numeric file ids are mapped back to documents (`file-ids.ts`). */
  store: DocumentStore;
  realm: string;
}

async function state(ctx: DavContext): Promise<{ backend: VersionsBackend; res: VersionsResource }> {
  const backend = ctx.backend as VersionsBackend;
  const res = await backend.stat(ctx.request.path);
  if (!res) throw DavErrors.notFound();
  return { backend, res };
}

/** MOVE of a version into `restore/`: it becomes the file's content (the name in the Destination is not used). */
async function revert(ctx: DavContext): Promise<DavReply> {
  const { backend, res } = await state(ctx);
  if (res.kind !== 'version') throw DavErrors.forbidden('Only versions can be restored');
  checkRestoreDestination(ctx.request, NEXTCLOUD_VERSIONS_BASE);
  await backend.revert(res);
  // Sabre's answer to a MOVE into Nextcloud's restore folder, whose members never exist.
  return { status: 201, headers: { 'content-length': '0' } };
}

/** DELETE of a version removes it (Nextcloud's deletable version backends); nothing else here can be deleted. */
async function remove(ctx: DavContext): Promise<DavReply> {
  const { backend, res } = await state(ctx);
  if (res.kind !== 'version') throw DavErrors.forbidden('Only versions can be deleted here');
  await backend.deleteVersion(res);
  return { status: 204, headers: {} };
}

/**
 * `/remote.php/dav/versions/<user>/`, what the Nextcloud apps' "Versions" screens use, over our versions through
 * the files service: PROPFIND of `versions/<file id>/` lists the file's old contents, GET downloads one, MOVE of
 * one to `restore/<any name>` reverts the file to it (the current content is kept as a version, as cozy does),
 * DELETE removes one. `<user>` must be the caller's Nextcloud id; the rights are the files DAV routes'.
 */
export function mountVersions(app: FastifyInstance, deps: VersionsDeps): void {
  const get = (head: boolean) => (ctx: DavContext) => getWithName(deps.core, ctx, head, async (path) => {
    const res = await (ctx.backend as VersionsBackend).stat(path);
    // Nextcloud names a version's download after its file.
    return res?.kind === 'version' ? res.file.name : undefined;
  });
  mountDav(app, {
    path: NEXTCLOUD_VERSIONS_BASE,
    core: deps.core,
    mountOf: userMountOf,
    resolve: async (req) => {
      const c = await authorizeHome(deps.auth, req, deps.realm, NEXTCLOUD_VERSIONS_BASE);
      return { backend: new VersionsBackend(deps.files, deps.store, c.inst, c.actor), namespace: `${c.inst.domain}#versions`, principal: `${c.who.kind}:${c.who.subject}` };
    },
    methods: { ...refusedMethods(), MOVE: revert, DELETE: remove, GET: get(false), HEAD: get(true) },
  });
}
