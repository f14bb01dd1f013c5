import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setErrorFamily } from '@cozy-ts/kernel';
import type { DavBackend } from './backend.ts';
import { DavCore, type DavContext, type DavReply, type DavRequest } from './core.ts';
import { davErrorRenderer } from './error-renderer.ts';
import { DavErrors } from './errors.ts';
import { decodeDavPath } from './paths.ts';

/** The methods WebDAV (and CalDAV/CardDAV) add to HTTP, with whether they carry a body. */
export const DAV_METHODS: Record<string, boolean> = {
  PROPFIND: true, PROPPATCH: true, MKCOL: true, COPY: false, MOVE: false, LOCK: true, UNLOCK: false,
  REPORT: true, MKCALENDAR: true, ACL: true, SEARCH: true,
};

/**
 * Teaches fastify the DAV methods. fastify keeps its method list on the root server, so this is global and
 * idempotent; both DAV plugins call it.
 */
export function registerDavMethods(app: FastifyInstance): void {
  const known = new Set(app.supportedMethods);
  for (const [method, hasBody] of Object.entries(DAV_METHODS)) {
    if (!known.has(method)) app.addHttpMethod(method, { hasBody });
  }
}

export interface ResolvedTree {
  backend: DavBackend;
  /** Lock namespace of the tree (one per user tree). */
  namespace: string;
  principal?: string;
}

export type ExtraMethodHandler = (ctx: DavContext, req: FastifyRequest) => Promise<DavReply>;

export interface MountOptions {
  /** Route path relative to the fastify context (`/dav/files`); the public mount is `app.prefix + path`. */
  path: string;
  core: DavCore;
  /** Authenticates the request and returns the tree it sees; throws (401, 403) otherwise. */
  resolve(req: FastifyRequest): Promise<ResolvedTree>;
  /** Handlers for methods beyond RFC 4918 (REPORT, MKCALENDAR); they may call `core` pieces. */
  methods?: Record<string, ExtraMethodHandler>;
  /** Headers added to every answer (e.g. `WWW-Authenticate` is the resolver's business; this is for others). */
  headers?: Record<string, string>;
  /**
   * The mount of one request when it is longer than the route's (a user name in the address, as Nextcloud's
   * `/remote.php/dav/files/<user>`), from the raw path under the fixed mount; throws a DAV error (404, 400) for a path
   * that names none. Hrefs, lock roots and Destination headers then stay under the address the client used.
   */
  mountOf?(rawPath: string, fixedMount: string): string;
}

/** The public origin of a request, as the client addressed it (Host header, TLS or a proxy's X-Forwarded-Proto). */
export function requestOrigin(req: FastifyRequest): string {
  const host = req.headers.host ?? 'localhost';
  const proto = req.protocol;
  return `${proto}://${host}`;
}

/**
 * The request body as a stream a backend may destroy when it refuses an upload (quota, precondition) without
 * destroying the request, and so the socket, under the error answer: the rest of the body is then drained.
 */
function detachableBody(req: FastifyRequest): PassThrough {
  const body = new PassThrough({ highWaterMark: 64 * 1024 });
  // A client that goes away makes both streams error, possibly when no consumer listens any more (the backend
  // already refused the body): without these listeners that error would be an uncaught exception.
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

/**
 * Mounts a DAV tree on fastify, inside the caller's encapsulated context: the DAV methods, a pass-through body
 * parser (bodies are streamed to the backend, XML bodies are read with the core's limits), the DAV error
 * family, and the routes `path` and `path/*`.
 */
export function mountDav(app: FastifyInstance, opts: MountOptions): void {
  registerDavMethods(app);
  setErrorFamily(app, davErrorRenderer);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const fixedMount = (app.prefix + opts.path).replace(/\/+$/, '');
  const methods = [...new Set([...DavCore.methods, ...Object.keys(opts.methods ?? {})])];

  const handler = async (req: FastifyRequest, res: FastifyReply) => {
    const rawPath = (req.raw.url ?? '/').split('?')[0] as string;
    if (rawPath !== fixedMount && !rawPath.startsWith(`${fixedMount}/`)) throw DavErrors.notFound();
    const mount = opts.mountOf ? opts.mountOf(rawPath, fixedMount) : fixedMount;
    const path = decodeDavPath(rawPath.slice(mount.length));
    const tree = await opts.resolve(req);
    const abort = new AbortController();
    // A request stream closes once its body is read (complete) or when the client goes away (not complete); a
    // response that closes before it finished means the connection died under it.
    req.raw.once('close', () => {
      if (!req.raw.complete) abort.abort();
    });
    res.raw.once('close', () => {
      if (!res.raw.writableFinished) abort.abort();
    });
    const dav: DavRequest = {
      method: req.method,
      path,
      headers: req.headers,
      body: detachableBody(req),
      mount,
      origin: requestOrigin(req),
      principal: tree.principal,
      signal: abort.signal,
    };
    const ctx: DavContext = { request: dav, backend: tree.backend, namespace: tree.namespace };
    const extra = opts.methods?.[req.method];
    const out = extra ? await extra(ctx, req) : await opts.core.handle(ctx);
    void res.status(out.status).headers({ ...opts.headers, ...out.headers });
    return res.send(out.body ?? '');
  };
  app.addHook('onSend', async (req, reply) => {
    // An answer given before a big body arrived (507, 412, 423 on PUT): close rather than read the rest.
    if (!req.raw.complete && Number(req.headers['content-length'] ?? 0) > 16 * 1024 * 1024) void reply.header('connection', 'close');
  });
  for (const url of [opts.path, `${opts.path}/*`]) {
    app.route({ method: methods, url, handler, exposeHeadRoute: false });
  }
}
