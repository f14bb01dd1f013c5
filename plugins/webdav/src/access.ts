import type { FastifyRequest } from 'fastify';
import { FILES_DOCTYPE, isCozyError, type AuthService, type FilesActor, type RequestAuth, type RequestVerb } from '@cozy-ts/kernel';
import { defineDavError } from '@cozy-ts/dav';

export const WebdavErrors = {
  unauthorized: defineDavError('COZY_ERR_WEBDAV_UNAUTHORIZED', 401, 'Authentication required'),
  forbidden: defineDavError('COZY_ERR_WEBDAV_FORBIDDEN', 403, 'These credentials do not give access to the files', 'need-privileges'),
};

/** The io.cozy.files verbs a DAV method needs (on the whole doctype: a DAV client walks the whole tree). */
export function verbsFor(method: string): RequestVerb[] {
  switch (method) {
    case 'GET': case 'HEAD': case 'OPTIONS': case 'PROPFIND': return ['GET'];
    case 'PUT': return ['POST', 'PUT'];
    case 'MKCOL': case 'COPY': return ['POST'];
    case 'DELETE': return ['DELETE'];
    case 'MOVE': return ['PATCH', 'DELETE'];
    default: return ['PATCH'];
  }
}

/**
 * Authenticates a DAV request through the AUTH capability (Basic with a device password or a token as the
 * password, or Bearer) and checks it may use the files. DAV clients only retry with credentials after a 401
 * carrying a `WWW-Authenticate` challenge, so every authentication failure (no credentials, a wrong password,
 * an invalid or expired token, which the kernel answers 400) becomes that 401.
 */
export async function authorize(auth: AuthService, req: FastifyRequest, realm: string): Promise<RequestAuth> {
  const challenge = { 'www-authenticate': `Basic realm="${realm}", charset="UTF-8"` };
  let who: RequestAuth;
  try {
    who = await auth.authenticate(req);
  } catch (err) {
    if (isCozyError(err) && (err.status === 400 || err.status === 401)) throw WebdavErrors.unauthorized(undefined, { headers: challenge });
    throw err;
  }
  for (const verb of verbsFor(req.method)) {
    if (!who.permissions.allowWholeType(verb, FILES_DOCTYPE)) throw WebdavErrors.forbidden();
  }
  return who;
}

/** Who the files service records as the author of a change: an app or a konnector by its slug, nobody for the owner. */
export function filesActor(who: RequestAuth): FilesActor | undefined {
  return who.kind === 'app' || who.kind === 'konnector' ? { slug: who.subject } : undefined;
}
