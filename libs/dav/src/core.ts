import { Readable } from 'node:stream';
import type { DavBackend, DavResource } from './backend.ts';
import { DEFAULT_XML_BODY_LIMIT, readSmallBody, readXmlBody } from './body.ts';
import { evaluateConditional, type ConditionalHeaders } from './conditional.ts';
import { destinationUrl, headerValue, ocMtime, sameServer } from './request-headers.ts';
import { DavErrors } from './errors.ts';
import { evaluateIf, parseIfHeader, type IfResourceState } from './if-header.ts';
import { activeLockXml, isCoreLive, propStatsFor, type PropertyContext } from './live-properties.ts';
import {
  conflictingLocks, DEFAULT_TIMEOUTS, locksBlockingWrite, locksCovering, newLockToken, parseTimeout, unsatisfiedLocks,
  withoutLocksWithin, type DavLock, type LockDepth, type LockScope, type LockStore, type TimeoutPolicy, type WriteScope,
} from './locks.ts';
import { Multistatus, type PropStat } from './multistatus.ts';
import { decodeDavPath, encodePath, isStrictlyWithin, parentPath } from './paths.ts';
import { readPropfind, readProppatch, type PropfindRequest } from './properties.ts';
import { parseRange } from './range.ts';
import { child, clark, DAV_NS, elements, is, type XmlElement } from './xml/element.ts';
import type { XmlLimits } from './xml/parse.ts';
import { davDocument, davEl, el, escapeAttr, escapeText, serializeNodes } from './xml/write.ts';

/** One DAV request, independent of the HTTP framework. */
export interface DavRequest {
  method: string;
  /** Decoded resource path below the mount (`decodeDavPath`). */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** The public URL path of the tree's root, encoded, without a trailing slash (`/dav/files`). */
  mount: string;
  /** `scheme://host[:port]` the client used; Destination headers must point here. */
  origin: string;
  /** The authenticated caller, recorded on the locks it takes. */
  principal?: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface DavReply {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer | Readable;
}

export interface DavCoreOptions {
  locks: LockStore;
  /** Largest XML request body, in bytes (413 above). */
  xmlBodyLimit?: number;
  xmlLimits?: XmlLimits;
  timeouts?: TimeoutPolicy;
}

/** A request together with the backend and lock namespace that serve it. */
export interface DavContext {
  request: DavRequest;
  backend: DavBackend;
  /** The lock namespace of the tree (one per user tree: e.g. `<domain>/files`). */
  namespace: string;
}

const XML_TYPE = 'application/xml; charset=utf-8';
const CLASS_1_2_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'];

function header(req: DavRequest, name: string): string | undefined {
  return headerValue(req.headers, name);
}

function contentLength(req: DavRequest): number | undefined {
  const v = header(req, 'content-length');
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function reply(status: number, headers: Record<string, string> = {}, body?: DavReply['body']): DavReply {
  return { status, headers, body };
}

function xmlReply(status: number, body: string, headers: Record<string, string> = {}): DavReply {
  return reply(status, { 'content-type': XML_TYPE, ...headers }, body);
}

export function hrefFor(req: DavRequest, path: string, collection: boolean): string {
  return req.mount + encodePath(path, collection);
}

/**
 * The WebDAV request engine (RFC 4918 classes 1 and 2) over any backend. Every method reads the state it
 * needs, checks `If:` and conditional headers and locks, then calls the backend; the backend never sees a
 * request that a lock or a precondition should have stopped.
 */
export class DavCore {
  readonly locks: LockStore;
  readonly xmlBodyLimit: number;
  readonly xmlLimits?: XmlLimits;
  readonly timeouts: TimeoutPolicy;

  constructor(opts: DavCoreOptions) {
    this.locks = opts.locks;
    this.xmlBodyLimit = opts.xmlBodyLimit ?? DEFAULT_XML_BODY_LIMIT;
    this.xmlLimits = opts.xmlLimits;
    this.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  }

  /** Methods served by `handle`. */
  static readonly methods: readonly string[] = CLASS_1_2_METHODS;

  async handle(ctx: DavContext): Promise<DavReply> {
    switch (ctx.request.method) {
      case 'OPTIONS': return this.options(ctx);
      case 'GET': return this.get(ctx, false);
      case 'HEAD': return this.get(ctx, true);
      case 'PUT': return this.put(ctx);
      case 'DELETE': return this.delete(ctx);
      case 'PROPFIND': return this.propfind(ctx);
      case 'PROPPATCH': return this.proppatch(ctx);
      case 'MKCOL': return this.mkcol(ctx);
      case 'COPY': return this.copyOrMove(ctx, false);
      case 'MOVE': return this.copyOrMove(ctx, true);
      case 'LOCK': return this.lock(ctx);
      case 'UNLOCK': return this.unlock(ctx);
      default: throw DavErrors.methodNotAllowed(`${ctx.request.method} is not supported here`, { headers: { allow: CLASS_1_2_METHODS.join(', ') } });
    }
  }

  /** Reads the request's XML body with the core's size and shape limits; undefined when empty. */
  readXml(req: DavRequest): Promise<XmlElement | undefined> {
    return readXmlBody(req.body, contentLength(req), this.xmlBodyLimit, this.xmlLimits);
  }

  /** The properties PROPFIND would return for a resource (for REPORT handlers). */
  async propStats(ctx: DavContext, res: DavResource, request: PropfindRequest, locks?: DavLock[]): Promise<PropStat[]> {
    return propStatsFor(res, request, await this.#propertyContext(ctx, locks));
  }

  async #propertyContext(ctx: DavContext, locks?: DavLock[]): Promise<PropertyContext> {
    return { backend: ctx.backend, mount: ctx.request.mount, locks: locks ?? (await this.locks.list(ctx.namespace)) };
  }

  /**
   * Checks the `If:` header and the locks a write touches: 412 when the header does not hold, 423 when a lock
   * in the way was not proven held (its token in a list that held). Returns the live locks it read.
   */
  async checkWrite(ctx: DavContext, scopes: WriteScope[]): Promise<DavLock[]> {
    const locks = await this.locks.list(ctx.namespace);
    const submitted = await this.#evaluateIfHeader(ctx, locks);
    const blocking = new Map<string, DavLock>();
    for (const s of scopes) for (const l of locksBlockingWrite(locks, s)) blocking.set(l.token, l);
    const missing = unsatisfiedLocks([...blocking.values()], submitted);
    if (missing.length) {
      const hrefs = [...new Set(missing.map((l) => hrefFor(ctx.request, l.root, l.rootCollection)))];
      throw DavErrors.locked(undefined, { condition: `<D:lock-token-submitted>${hrefs.map((h) => davEl('href', h).raw).join('')}</D:lock-token-submitted>` });
    }
    return locks;
  }

  /** Evaluates `If:` (412 when false) and returns the submitted lock tokens; empty set without the header. */
  async #evaluateIfHeader(ctx: DavContext, locks: DavLock[]): Promise<Set<string>> {
    const raw = header(ctx.request, 'if');
    if (raw === undefined) return new Set();
    const lists = parseIfHeader(raw);
    const result = await evaluateIf(lists, (tag) => this.#ifState(ctx, locks, tag));
    if (!result.ok) throw DavErrors.preconditionFailed('The If header does not hold');
    return result.submittedTokens;
  }

  async #ifState(ctx: DavContext, locks: DavLock[], tag: string | undefined): Promise<IfResourceState | null> {
    let path = ctx.request.path;
    if (tag !== undefined) {
      const resolved = this.#resolveUrl(ctx.request, tag);
      if (resolved === null) return null;
      path = resolved;
    }
    const res = await ctx.backend.stat(path);
    const tokens = locksCovering(locks, path).map((l) => l.token);
    if (!res && !tokens.length) return null;
    return { etag: res?.etag, lockTokens: tokens };
  }

  /** A URL (absolute or absolute-path) inside this tree as a resource path, or null when it is not one. */
  #resolveUrl(req: DavRequest, href: string): string | null {
    let url: URL;
    try {
      url = new URL(href, req.origin);
    } catch {
      return null;
    }
    if (!sameServer(url, req.origin)) return null;
    const p = url.pathname;
    if (p !== req.mount && !p.startsWith(`${req.mount}/`)) return null;
    try {
      return decodeDavPath(p.slice(req.mount.length));
    } catch {
      return null;
    }
  }

  #destination(req: DavRequest): string {
    const p = destinationUrl(req.headers, req.origin).pathname;
    if (p !== req.mount && !p.startsWith(`${req.mount}/`)) throw DavErrors.forbiddenDestination();
    return decodeDavPath(p.slice(req.mount.length));
  }

  async #mustStat(ctx: DavContext, path = ctx.request.path): Promise<DavResource> {
    const res = await ctx.backend.stat(path);
    if (!res) throw DavErrors.notFound();
    return res;
  }

  async #parentMustExist(ctx: DavContext, path: string): Promise<void> {
    if (path === '/') throw DavErrors.forbidden('The root cannot be replaced');
    const parent = await ctx.backend.stat(parentPath(path));
    if (!parent || !parent.collection) throw DavErrors.conflict();
  }

  #ifHeaders(req: DavRequest): ConditionalHeaders {
    return {
      'if-match': header(req, 'if-match'),
      'if-none-match': header(req, 'if-none-match'),
      'if-modified-since': header(req, 'if-modified-since'),
      'if-unmodified-since': header(req, 'if-unmodified-since'),
    };
  }

  options(ctx: DavContext): DavReply {
    const classes = ['1', '2', '3', ...(ctx.backend.compliance ?? [])];
    return reply(200, {
      dav: classes.join(', '),
      allow: CLASS_1_2_METHODS.join(', '),
      'ms-author-via': 'DAV',
      'accept-ranges': 'bytes',
      'content-length': '0',
    });
  }

  async get(ctx: DavContext, head: boolean): Promise<DavReply> {
    const req = ctx.request;
    const res = await this.#mustStat(ctx);
    if (header(req, 'if') !== undefined) await this.#evaluateIfHeader(ctx, await this.locks.list(ctx.namespace));
    const outcome = evaluateConditional(this.#ifHeaders(req), { exists: true, etag: res.etag, lastModified: res.lastModified }, true);
    const validators: Record<string, string> = {};
    if (res.etag) validators.etag = res.etag;
    if (res.lastModified) validators['last-modified'] = res.lastModified.toUTCString();
    if (outcome === 'precondition-failed') throw DavErrors.preconditionFailed();
    if (outcome === 'not-modified') return reply(304, validators);
    if (res.collection) return this.#listing(ctx, res, head, validators);
    const size = res.contentLength ?? 0;
    const headers: Record<string, string> = { ...validators, 'accept-ranges': 'bytes', 'content-type': res.contentType ?? 'application/octet-stream' };
    let range = parseRange(header(req, 'range'), size);
    const ifRange = header(req, 'if-range');
    if (range && ifRange !== undefined && ifRange !== res.etag && ifRange !== res.lastModified?.toUTCString()) range = undefined;
    if (range === 'unsatisfiable') throw DavErrors.rangeNotSatisfiable(undefined, { headers: { 'content-range': `bytes */${size}` } });
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['content-length'] = String(range.end - range.start + 1);
      return reply(206, headers, head ? undefined : await ctx.backend.read(res, range));
    }
    headers['content-length'] = String(size);
    return reply(200, headers, head ? undefined : await ctx.backend.read(res));
  }

  /** A small HTML index of a collection, for a browser pointed at the tree. */
  async #listing(ctx: DavContext, res: DavResource, head: boolean, validators: Record<string, string>): Promise<DavReply> {
    const members = await ctx.backend.members(res);
    const items = members
      .map((m) => `<li><a href="${escapeAttr(hrefFor(ctx.request, m.path, m.collection))}">${escapeText(m.displayName ?? m.path.slice(m.path.lastIndexOf('/') + 1))}${m.collection ? '/' : ''}</a></li>`)
      .join('');
    const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeText(res.path)}</title></head><body><ul>${items}</ul></body></html>`;
    const { etag: _etag, ...rest } = validators;
    return reply(200, { ...rest, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }, head ? undefined : body);
  }

  async put(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    if (header(req, 'content-range') !== undefined) throw DavErrors.badRequest('PUT with Content-Range is not supported');
    const existing = await ctx.backend.stat(req.path);
    if (existing?.collection) throw DavErrors.methodNotAllowed('Cannot PUT over a collection', { headers: { allow: 'OPTIONS, PROPFIND, PROPPATCH, DELETE, MKCOL, COPY, MOVE, LOCK, UNLOCK' } });
    if (!existing) await this.#parentMustExist(ctx, req.path);
    const outcome = evaluateConditional(this.#ifHeaders(req), { exists: !!existing, etag: existing?.etag, lastModified: existing?.lastModified }, false);
    if (outcome !== 'proceed') throw DavErrors.preconditionFailed();
    await this.checkWrite(ctx, [{ path: req.path, membership: !existing }]);
    const mtime = ocMtime(req.headers);
    const written = await ctx.backend.write(req.path, {
      body: req.body,
      contentLength: contentLength(req),
      contentType: header(req, 'content-type'),
      mtime,
      existing,
      signal: req.signal,
    });
    const headers: Record<string, string> = {};
    if (written.etag) headers.etag = written.etag;
    if (written.lastModified) headers['last-modified'] = written.lastModified.toUTCString();
    if (mtime) headers['x-oc-mtime'] = 'accepted';
    return reply(existing ? 204 : 201, headers);
  }

  async delete(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    const res = await this.#mustStat(ctx);
    if (req.path === '/') throw DavErrors.forbidden('The root cannot be deleted');
    const depth = header(req, 'depth');
    if (res.collection && depth !== undefined && depth.toLowerCase() !== 'infinity') throw DavErrors.badDepth('DELETE of a collection takes Depth: infinity');
    await this.checkWrite(ctx, [{ path: req.path, membership: true, recursive: res.collection }]);
    await ctx.backend.delete(res);
    await this.locks.update(ctx.namespace, (locks) => ({ locks: withoutLocksWithin(locks, req.path), result: undefined }));
    return reply(204);
  }

  async mkcol(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    const body = await readSmallBody(req.body, contentLength(req), this.xmlBodyLimit);
    if (body.length) throw DavErrors.unsupportedMediaType('MKCOL takes no body');
    if (await ctx.backend.stat(req.path)) throw DavErrors.methodNotAllowed('The resource already exists', { headers: { allow: 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, LOCK, UNLOCK' } });
    await this.#parentMustExist(ctx, req.path);
    await this.checkWrite(ctx, [{ path: req.path, membership: true }]);
    await ctx.backend.mkcol(req.path);
    return reply(201, { 'content-length': '0' });
  }

  async propfind(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    const depth = (header(req, 'depth') ?? 'infinity').toLowerCase();
    if (depth !== '0' && depth !== '1') {
      if (depth === 'infinity') throw DavErrors.finiteDepth();
      throw DavErrors.badDepth();
    }
    const request = readPropfind(await this.readXml(req));
    const res = await this.#mustStat(ctx);
    const pctx = await this.#propertyContext(ctx);
    const ms = new Multistatus();
    ms.addPropStats(hrefFor(req, res.path, res.collection), await propStatsFor(res, request, pctx));
    if (depth === '1' && res.collection) {
      for (const m of await ctx.backend.members(res)) ms.addPropStats(hrefFor(req, m.path, m.collection), await propStatsFor(m, request, pctx));
    }
    return xmlReply(207, ms.toString());
  }

  async proppatch(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    const root = await this.readXml(req);
    if (!root) throw DavErrors.badXml('PROPPATCH needs a DAV:propertyupdate body');
    const ops = readProppatch(root);
    const res = await this.#mustStat(ctx);
    await this.checkWrite(ctx, [{ path: req.path }]);
    const refused = new Set<string>();
    for (const op of ops) {
      const q = op.op === 'set' ? op.property : op.name;
      if (isCoreLive(q) || ctx.backend.isProtected?.(q)) refused.add(clark(q));
    }
    const names = new Map(ops.map((op) => {
      const q = op.op === 'set' ? { ns: op.property.ns, name: op.property.name } : op.name;
      return [clark(q), q] as const;
    }));
    const ms = new Multistatus();
    const href = hrefFor(req, res.path, res.collection);
    if (refused.size) {
      const forbidden = [...names.entries()].filter(([k]) => refused.has(k)).map(([, q]) => el(q));
      const failed = [...names.entries()].filter(([k]) => !refused.has(k)).map(([, q]) => el(q));
      ms.addPropStats(href, [
        { status: 403, props: forbidden, error: '<D:cannot-modify-protected-property/>' },
        { status: 424, props: failed },
      ]);
    } else {
      await ctx.backend.patchDeadProperties(res, ops);
      ms.addPropStats(href, [{ status: 200, props: [...names.values()].map((q) => el(q)) }]);
    }
    return xmlReply(207, ms.toString());
  }

  async copyOrMove(ctx: DavContext, move: boolean): Promise<DavReply> {
    const req = ctx.request;
    const res = await this.#mustStat(ctx);
    const dest = this.#destination(req);
    if (dest === req.path) throw DavErrors.sameSourceDestination();
    if (req.path === '/' || dest === '/') throw DavErrors.forbidden('The root cannot be copied or moved, nor replaced');
    if (isStrictlyWithin(req.path, dest)) throw DavErrors.forbidden('A collection cannot be copied or moved into itself');
    const depthRaw = (header(req, 'depth') ?? 'infinity').toLowerCase();
    if (depthRaw !== 'infinity' && (move || depthRaw !== '0')) throw DavErrors.badDepth(move ? 'MOVE takes Depth: infinity' : 'COPY takes Depth: 0 or infinity');
    const overwriteRaw = (header(req, 'overwrite') ?? 'T').trim().toUpperCase();
    if (overwriteRaw !== 'T' && overwriteRaw !== 'F') throw DavErrors.badRequest('Overwrite must be T or F');
    await this.#parentMustExist(ctx, dest);
    const existing = await ctx.backend.stat(dest);
    if (existing && overwriteRaw === 'F') throw DavErrors.preconditionFailed('The destination exists and Overwrite is F');
    const scopes: WriteScope[] = [{ path: dest, membership: true, recursive: true }];
    if (move) scopes.push({ path: req.path, membership: true, recursive: true });
    await this.checkWrite(ctx, scopes);
    if (existing) {
      await ctx.backend.delete(existing);
      await this.locks.update(ctx.namespace, (locks) => ({ locks: withoutLocksWithin(locks, dest), result: undefined }));
    }
    if (move) {
      await ctx.backend.move(res, dest);
      await this.locks.update(ctx.namespace, (locks) => ({ locks: withoutLocksWithin(locks, req.path), result: undefined }));
    } else {
      await ctx.backend.copy(res, dest, depthRaw === '0' ? '0' : 'infinity');
    }
    return reply(existing ? 204 : 201);
  }

  async lock(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    const root = await this.readXml(req);
    const timeoutSeconds = parseTimeout(header(req, 'timeout'), this.timeouts);
    if (!root) return this.#refresh(ctx, timeoutSeconds);
    const info = readLockInfo(root);
    const depthRaw = (header(req, 'depth') ?? 'infinity').toLowerCase();
    if (depthRaw !== '0' && depthRaw !== 'infinity') throw DavErrors.badDepth('LOCK takes Depth: 0 or infinity');
    const depth = depthRaw as LockDepth;
    const existing = await ctx.backend.stat(req.path);
    if (!existing) await this.#parentMustExist(ctx, req.path);
    const locksNow = await this.locks.list(ctx.namespace);
    await this.#evaluateIfHeader(ctx, locksNow);
    if (!existing) await this.checkWrite(ctx, [{ path: req.path, membership: true }]);
    const lock: DavLock = {
      token: newLockToken(),
      root: req.path,
      rootCollection: existing?.collection ?? false,
      scope: info.scope,
      depth,
      ...(info.owner !== undefined ? { owner: info.owner } : {}),
      ...(req.principal ? { principal: req.principal } : {}),
      timeoutSeconds,
      expiresAt: Date.now() + timeoutSeconds * 1000,
    };
    await this.locks.update(ctx.namespace, (locks) => {
      const conflicts = conflictingLocks(locks, req.path, info.scope, depth);
      if (conflicts.length) {
        const hrefs = conflicts.map((l) => davEl('href', hrefFor(req, l.root, l.rootCollection)).raw).join('');
        throw DavErrors.lockConflict(undefined, { condition: `<D:no-conflicting-lock>${hrefs}</D:no-conflicting-lock>` });
      }
      return { locks: [...locks, lock], result: undefined };
    });
    if (!existing) {
      try {
        await ctx.backend.write(req.path, { body: Readable.from([]), contentLength: 0, existing: null, signal: req.signal });
      } catch (err) {
        await this.locks.update(ctx.namespace, (locks) => ({ locks: locks.filter((l) => l.token !== lock.token), result: undefined }));
        throw err;
      }
    }
    const body = davDocument('prop', davEl('lockdiscovery', activeLockXml(lock, req.mount)));
    return xmlReply(existing ? 200 : 201, body, { 'lock-token': `<${lock.token}>` });
  }

  async #refresh(ctx: DavContext, timeoutSeconds: number): Promise<DavReply> {
    const req = ctx.request;
    if (header(req, 'if') === undefined) throw DavErrors.badRequest('A lock refresh needs an If header with the lock token');
    await this.#mustStat(ctx);
    const locks = await this.locks.list(ctx.namespace);
    const submitted = await this.#evaluateIfHeader(ctx, locks);
    const refreshed = await this.locks.update(ctx.namespace, (current) => {
      const target = locksCovering(current, req.path).find((l) => submitted.has(l.token));
      if (!target) throw DavErrors.preconditionFailed('No lock of this resource was named in the If header', { condition: '<D:lock-token-matches-request-uri/>' });
      const next = { ...target, timeoutSeconds, expiresAt: Date.now() + timeoutSeconds * 1000 };
      return { locks: current.map((l) => (l.token === target.token ? next : l)), result: next };
    });
    return xmlReply(200, davDocument('prop', davEl('lockdiscovery', activeLockXml(refreshed, req.mount))));
  }

  async unlock(ctx: DavContext): Promise<DavReply> {
    const req = ctx.request;
    const raw = header(req, 'lock-token')?.trim();
    const m = raw ? /^<([^>]+)>$/.exec(raw) : null;
    if (!m) throw DavErrors.badRequest('UNLOCK needs a Lock-Token header: <token>');
    const token = m[1];
    await this.#mustStat(ctx);
    await this.locks.update(ctx.namespace, (locks) => {
      if (!locksCovering(locks, req.path).some((l) => l.token === token)) throw DavErrors.lockTokenMismatch();
      return { locks: locks.filter((l) => l.token !== token), result: undefined };
    });
    return reply(204);
  }
}

/**
 * Whether a URL names this server: same host and port. The scheme is not compared, because behind a reverse
 * proxy that terminates TLS the client writes `https://` while the request reached us as plain HTTP.
 */
function readLockInfo(root: XmlElement): { scope: LockScope; owner?: string } {
  if (!is(root, DAV_NS, 'lockinfo')) throw DavErrors.badXml('A LOCK body must be a DAV:lockinfo element');
  const scopeEl = child(root, DAV_NS, 'lockscope');
  const typeEl = child(root, DAV_NS, 'locktype');
  const scopeName = scopeEl ? elements(scopeEl)[0] : undefined;
  if (!scopeName || scopeName.ns !== DAV_NS || (scopeName.name !== 'exclusive' && scopeName.name !== 'shared')) throw DavErrors.badXml('DAV:lockscope must be exclusive or shared');
  const typeName = typeEl ? elements(typeEl)[0] : undefined;
  if (!typeName || !is(typeName, DAV_NS, 'write')) throw DavErrors.badXml('DAV:locktype must be write');
  const ownerEl = child(root, DAV_NS, 'owner');
  return { scope: scopeName.name, ...(ownerEl ? { owner: serializeNodes(ownerEl.children) } : {}) };
}

