import type { FastifyRequest } from 'fastify';
import type { InstanceDoc } from '@cozy-ts/kernel';

/** The login name of a Basic Authorization header, or undefined (another scheme, no header, an empty name). */
export function basicLogin(req: FastifyRequest): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(String(req.headers.authorization ?? ''));
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const login = colon < 0 ? text : text.slice(0, colon);
  return login === '' ? undefined : login;
}

/**
 * The user a Nextcloud client sees. An instance has one user and its credentials do not name it (the Basic login
 * of a device password is not checked), so the id is the login the client was given: it then puts it in
 * `/remote.php/dav/files/<id>/`, where any name shows the same tree. Without a Basic login (a Bearer token), or with
 * one that is no path segment (`/`, `\`, NUL, `.`, `..`), the id is the instance's domain.
 */
export function nextcloudUser(req: FastifyRequest, inst: InstanceDoc): { id: string; displayName: string; email: string | null } {
  const login = basicLogin(req);
  // The id becomes one path segment of the client's DAV address: a login that cannot be one is not used.
  const id = login !== undefined && !/[/\\\u0000]/.test(login) && login !== '.' && login !== '..' ? login : inst.domain;
  return { id, displayName: inst.public_name || id, email: inst.email ?? null };
}
