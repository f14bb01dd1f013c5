import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setErrorFamily } from '@cozy-ts/kernel';
import { DavCore, davErrorRenderer, DavErrors, decodeDavPath, registerDavMethods, requestOrigin, type DavRequest, type ResolvedTree } from '@cozy-ts/dav';

/** Nextcloud's address of a user's files; the user's name follows it. */
export const NEXTCLOUD_USER_BASE = '/remote.php/dav/files';

/**
 * Nextcloud's per-user address, `/remote.php/dav/files/<user>/`, on the same DAV core as the other mounts.
 * `mountDav` (libs/dav) serves one fixed mount; here the mount is each request's own `/remote.php/dav/files/<user>`,
 * so the hrefs of answers, lock roots and Destination headers stay under the address the client used.
 *
 * `<user>` is not checked against anything: an instance has one user, named by the Host, and the credentials decide
 * access. Nextcloud clients put their login name there, which for cozy is free-form (the Basic username of a device
 * password is not checked either). Any one segment a DAV path allows is accepted (a malformed escape, an encoded
 * `/`, NUL, `.` or `..` is 400), and every such name shows the same tree. `/remote.php/dav/files/` itself is 404.
 */
export function mountUserDav(app: FastifyInstance, opts: { core: DavCore; resolve(req: FastifyRequest): Promise<ResolvedTree> }): void {
  registerDavMethods(app);
  setErrorFamily(app, davErrorRenderer);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const base = `${app.prefix}${NEXTCLOUD_USER_BASE}`;

  const handler = async (req: FastifyRequest, res: FastifyReply) => {
    const rawPath = (req.raw.url ?? '/').split('?')[0] as string;
    if (!rawPath.startsWith(`${base}/`)) throw DavErrors.notFound();
    const rest = rawPath.slice(base.length + 1);
    const slash = rest.indexOf('/');
    const user = slash < 0 ? rest : rest.slice(0, slash);
    if (user === '') throw DavErrors.notFound();
    // The same checks as any path segment: the name is echoed in every href of the answer.
    decodeDavPath(`/${user}`);
    const mount = `${base}/${user}`;
    const path = decodeDavPath(rawPath.slice(mount.length));
    const tree = await opts.resolve(req);
    const abort = new AbortController();
    req.raw.once('close', () => {
      if (!req.raw.complete) abort.abort();
    });
    res.raw.once('close', () => {
      if (!res.raw.writableFinished) abort.abort();
    });
    const dav: DavRequest = {
      method: req.method, path, headers: req.headers, body: detachableBody(req), mount,
      origin: requestOrigin(req), principal: tree.principal, signal: abort.signal,
    };
    const out = await opts.core.handle({ request: dav, backend: tree.backend, namespace: tree.namespace });
    void res.status(out.status).headers(out.headers);
    return res.send(out.body ?? '');
  };
  app.addHook('onSend', async (req, reply) => {
    // An answer given before a big body arrived (507, 412, 423 on PUT): close rather than read the rest.
    if (!req.raw.complete && Number(req.headers['content-length'] ?? 0) > 16 * 1024 * 1024) void reply.header('connection', 'close');
  });
  for (const url of [`${NEXTCLOUD_USER_BASE}/:user`, `${NEXTCLOUD_USER_BASE}/:user/*`]) {
    app.route({ method: [...DavCore.methods], url, handler, exposeHeadRoute: false });
  }
}

/**
 * The request body as a stream a backend may destroy when it refuses an upload without destroying the socket under
 * the error answer: the rest of the body is drained instead (as libs/dav's mount does).
 */
function detachableBody(req: FastifyRequest): PassThrough {
  const body = new PassThrough({ highWaterMark: 64 * 1024 });
  body.on('error', () => undefined);
  req.raw.on('error', (err) => body.destroy(err));
  req.raw.pipe(body);
  body.once('close', () => {
    if (req.raw.complete) return;
    req.raw.unpipe(body);
    req.raw.resume();
  });
  return body;
}
