import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DavCore, DavErrors, decodeDavPath, mountDav, type ResolvedTree } from '@cozy-ts/dav';

/** Nextcloud's address of a user's files; the user's name follows it. */
export const NEXTCLOUD_USER_BASE = '/remote.php/dav/files';

/**
 * The mount of a request under Nextcloud's per-user address: `/remote.php/dav/files/<user>`.
 *
 * `<user>` is not checked against anything: an instance has one user, named by the Host, and the credentials decide
 * access. Nextcloud clients put their login name there, which for cozy is free-form (the Basic username of a device
 * password is not checked either). Any one segment a DAV path allows is accepted (a malformed escape, an encoded
 * `/`, NUL, `.` or `..` is 400), and every such name shows the same tree. `/remote.php/dav/files/` itself is 404.
 */
export function userMountOf(rawPath: string, base: string): string {
  const rest = rawPath.slice(base.length + 1);
  const slash = rest.indexOf('/');
  const user = slash < 0 ? rest : rest.slice(0, slash);
  if (user === '') throw DavErrors.notFound();
  // The same checks as any path segment: the name is echoed in every href of the answer.
  decodeDavPath(`/${user}`);
  return `${base}/${user}`;
}

/** Nextcloud's per-user address on the same DAV core as the other mounts, hrefs under the address the client used. */
export function mountUserDav(app: FastifyInstance, opts: { core: DavCore; resolve(req: FastifyRequest): Promise<ResolvedTree> }): void {
  mountDav(app, { path: NEXTCLOUD_USER_BASE, ...opts, mountOf: userMountOf });
}
