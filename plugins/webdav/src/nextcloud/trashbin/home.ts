import type { FastifyRequest } from 'fastify';
import { instanceOf, type AuthService, type FilesActor, type InstanceDoc, type RequestAuth } from '@cozy-ts/kernel';
import { DavErrors, decodeDavPath, destinationUrl, type DavContext, type DavReply, type DavRequest, type ExtraMethodHandler } from '@cozy-ts/dav';
import { authorize, filesActor } from '../../access.ts';
import { nextcloudUser } from '../identity.ts';

/**
 * What the trash bin (`/remote.php/dav/trashbin/<user>/`) and the versions (`/remote.php/dav/versions/<user>/`)
 * share: both are a home of one user holding a collection of things and a `restore` collection one MOVEs them into.
 */

/** The decoded `<user>` segment of a request under `base`; 404 when there is none (as `userMountOf`). */
function userSegment(rawPath: string, base: string): string {
  if (!rawPath.startsWith(`${base}/`)) throw DavErrors.notFound();
  const rest = rawPath.slice(base.length + 1);
  const slash = rest.indexOf('/');
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  if (raw === '') throw DavErrors.notFound();
  return decodeDavPath(`/${raw}`).slice(1);
}

export interface HomeCaller {
  inst: InstanceDoc;
  who: RequestAuth;
  actor?: FilesActor;
}

/**
 * Authenticates a request under `base` with the files DAV routes' rules (401 with the challenge, 403 without the
 * files verbs of its method) and checks `<user>` is the caller's Nextcloud id (`identity.ts`). Nextcloud answers
 * another user's trash or versions with 403, and so do we (the files mount, by contrast, takes any name).
 */
export async function authorizeHome(auth: AuthService, req: FastifyRequest, realm: string, base: string): Promise<HomeCaller> {
  const inst = instanceOf(req);
  const who = await authorize(auth, req, realm);
  const user = userSegment((req.raw.url ?? '/').split('?')[0] as string, base);
  if (user !== nextcloudUser(req, inst).id) throw DavErrors.forbidden('This is another user\'s home');
  const actor = filesActor(who);
  return { inst, who, ...(actor ? { actor } : {}) };
}

/**
 * The Destination of a restoring MOVE: `<base>/<the same user>/restore/<one name>` on this server. Nextcloud
 * ignores the name (things go back where they came from), and so do we; anything else is refused.
 */
export function checkRestoreDestination(req: DavRequest, base: string): void {
  const target = destinationUrl(req.headers, req.origin).pathname;
  if (!target.startsWith(`${base}/`)) throw DavErrors.forbiddenDestination('The Destination must be in the restore folder');
  // Malformed escapes, encoded slashes, `..` in the Destination are 400, as in any DAV path.
  const [user, folder, name, ...more] = decodeDavPath(target.slice(base.length)).slice(1).split('/');
  if (user !== userSegment(req.mount, base)) throw DavErrors.forbiddenDestination('The Destination is not this user\'s restore folder');
  if (folder !== 'restore' || !name || more.length) throw DavErrors.forbiddenDestination('The Destination must be one name in the restore folder');
}

/** Methods that would change the home in ways Nextcloud refuses too (create, copy, lock, set properties). */
export function refusedMethods(): Record<string, ExtraMethodHandler> {
  const refuse: ExtraMethodHandler = async (ctx) => {
    throw DavErrors.forbidden(`${ctx.request.method} is not allowed here`);
  };
  return Object.fromEntries(['PUT', 'MKCOL', 'COPY', 'PROPPATCH', 'LOCK', 'UNLOCK'].map((m) => [m, refuse]));
}

/** RFC 6266 `attachment` with the UTF-8 name and an ASCII fallback, as Nextcloud names trash and version downloads. */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename*=UTF-8''${encodeURIComponent(name)}; filename="${ascii}"`;
}

/** A GET through the core, with `Content-Disposition` when `nameOf` gives the download a name. */
export async function getWithName(
  core: { get(ctx: DavContext, head: boolean): Promise<DavReply> }, ctx: DavContext, head: boolean, nameOf: (path: string) => Promise<string | undefined>,
): Promise<DavReply> {
  const out = await core.get(ctx, head);
  if (out.status === 200 || out.status === 206) {
    const name = await nameOf(ctx.request.path);
    if (name !== undefined) out.headers['content-disposition'] = attachment(name);
  }
  return out;
}
