import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fileSize, isCozyError, isDir, type FileDoc, type FilesService, type InstanceRef } from '@cozy-ts/kernel';
import {
  DavErrors, decodeDavPath, destinationUrl, headerValue, mountDav, ocMtime, type ByteRangeSpec, type DavBackend, type DavContext, type DavCore, type DavReply,
  type DavResource, type DeadProperty, type ResolvedTree, type WriteInput,
} from '@cozy-ts/dav';
import { etagOf } from '../files-backend.ts';
import { NEXTCLOUD_USER_BASE, userMountOf } from '../user-mount.ts';
import { checkUploadTarget } from './chunked-upload.ts';
import type { Staging } from './staging.ts';

/**
 * Nextcloud's chunked upload v2: `MKCOL /remote.php/dav/uploads/<user>/<id>`, a `PUT` per part into it, then
 * `MOVE <id>/.file` with the file's address as Destination, which writes the file from the parts in name order
 * (natural order: `2` before `10`) and removes them; `DELETE <id>` gives up; a PROPFIND lists the parts a
 * resuming client already sent. Advertised as `dav.chunking` 1.0; rclone's `vendor = nextcloud` (1.63 and later) uses
 * it above its chunk size whatever the server says. Parts are staged like `OC-Chunked` ones (`staging.ts`), so MKCOL,
 * parts and MOVE may each reach another process of a farm. `<user>` is any name, as in `/remote.php/dav/files/<user>`.
 */
export const NEXTCLOUD_UPLOADS_BASE = '/remote.php/dav/uploads';

/** The staging transfer of an upload id: hashed, so any id a client picks makes a safe folder name. */
const transferOf = (id: string): string => `v2-${createHash('sha1').update(id).digest('hex').slice(0, 32)}`;

interface Entry extends DavResource {
  doc?: FileDoc;
}

function dirResource(path: string, doc: FileDoc): Entry {
  return { path, collection: true, etag: etagOf(doc), lastModified: new Date(doc.updated_at), created: new Date(doc.created_at), doc };
}

function partResource(path: string, doc: FileDoc): Entry {
  return {
    path, collection: false, etag: etagOf(doc), lastModified: new Date(doc.updated_at), created: new Date(doc.created_at),
    contentLength: fileSize(doc), contentType: 'application/octet-stream', doc,
  };
}

/** The uploads tree of one request: `/` (one's uploads), `/<id>` (an upload), `/<id>/<part>`. */
export class UploadsBackend implements DavBackend {
  constructor(
    readonly staging: Staging,
    private readonly files: FilesService,
    private readonly inst: InstanceRef,
    /** The request's `OC-Total-Length` (a MKCOL announces the file's size). */
    private readonly totalLength?: number,
  ) {}

  #split(path: string): string[] {
    return path === '/' ? [] : path.slice(1).split('/');
  }

  async dirOf(id: string): Promise<FileDoc | null> {
    return this.staging.find(transferOf(id));
  }

  transferOf(id: string): string {
    return transferOf(id);
  }

  async stat(path: string): Promise<Entry | null> {
    const [id, part, ...rest] = this.#split(path);
    if (id === undefined) return { path: '/', collection: true };
    if (rest.length) return null;
    const dir = await this.dirOf(id);
    if (!dir) return null;
    if (part === undefined) return dirResource(path, dir);
    try {
      const doc = await this.files.statByPath(this.inst, `${dir.path}/${part}`);
      return isDir(doc) ? null : partResource(path, doc);
    } catch (err) {
      // Missing, or a name the VFS refuses (422): no such part.
      if (isCozyError(err) && (err.status === 404 || err.status === 422)) return null;
      throw err;
    }
  }

  async members(collection: DavResource): Promise<Entry[]> {
    // The root lists nothing: uploads are found by their id, which the staging names do not give back.
    const dir = (collection as Entry).doc;
    if (!dir) return [];
    const parts = (await this.staging.parts(dir)) ?? [];
    return parts.map((p) => partResource(`${collection.path}/${p.name}`, p));
  }

  async read(resource: DavResource, range?: ByteRangeSpec): Promise<Readable> {
    const doc = (resource as Entry).doc as FileDoc;
    return (await this.files.read(this.inst, doc._id, range ? { start: range.start, end: range.end } : undefined)).stream;
  }

  async write(path: string, input: WriteInput): Promise<DavResource> {
    const [id, part] = this.#split(path);
    const dir = id !== undefined && part !== undefined ? await this.dirOf(id) : null;
    if (!dir || part === undefined) {
      input.body.destroy();
      throw DavErrors.conflict('Parts go into an upload made with MKCOL');
    }
    return partResource(path, await this.staging.writePart(dir, part, input));
  }

  async mkcol(path: string): Promise<DavResource> {
    const [id, ...rest] = this.#split(path);
    if (id === undefined || rest.length) throw DavErrors.forbidden('Only uploads can be made here');
    if (this.totalLength !== undefined) await this.staging.checkRoom(this.totalLength);
    return dirResource(path, await this.staging.create(transferOf(id)));
  }

  async delete(resource: DavResource): Promise<void> {
    const doc = (resource as Entry).doc;
    if (!doc) throw DavErrors.forbidden();
    if (isDir(doc)) await this.staging.remove(doc);
    else await this.files.destroy(this.inst, doc._id);
  }

  async copy(): Promise<void> {
    throw DavErrors.forbidden('Parts cannot be copied');
  }

  async move(): Promise<void> {
    throw DavErrors.forbidden('Only <upload>/.file moves, to the file it makes');
  }

  async deadProperties(): Promise<DeadProperty[]> {
    return [];
  }

  async patchDeadProperties(): Promise<void> {
    throw DavErrors.forbidden('Uploads carry no properties');
  }
}

/** `X-OC-Mtime` in Unix seconds, as the DAV core reads it for PUT. */
/** The file a `MOVE .file` makes: its Destination must be under `/remote.php/dav/files/<user>/` on this server. */
function destinationOf(req: FastifyRequest, origin: string): { mount: string; path: string } {
  const url = destinationUrl(req.headers, origin);
  if (!url.pathname.startsWith(`${NEXTCLOUD_USER_BASE}/`)) throw DavErrors.forbiddenDestination();
  const mount = userMountOf(url.pathname, NEXTCLOUD_USER_BASE);
  const path = decodeDavPath(url.pathname.slice(mount.length));
  if (path === '/') throw DavErrors.forbiddenDestination();
  return { mount, path };
}

export interface UploadsDeps {
  core: DavCore;
  /** The Nextcloud files tree of a request (auth, rights, the backend the file is written through). */
  files(req: FastifyRequest): Promise<ResolvedTree>;
  /** The uploads tree of a request; throws 401/403 as the files tree does. */
  uploads(req: FastifyRequest): Promise<ResolvedTree>;
  totalLength(req: FastifyRequest): number | undefined;
}

/** `MOVE <id>/.file`: the parts, in order, become the file at the Destination (new, or a new version of it). */
async function assemble(deps: UploadsDeps, ctx: DavContext, req: FastifyRequest): Promise<DavReply> {
  const m = /^\/([^/]+)\/\.file$/.exec(ctx.request.path);
  if (!m) throw DavErrors.forbidden('Only <upload>/.file moves, to the file it makes');
  const uploads = ctx.backend as UploadsBackend;
  const { staging } = uploads;
  const id = m[1] as string;
  const dir = await uploads.dirOf(id);
  if (!dir) throw DavErrors.notFound('No such upload');
  const dest = destinationOf(req, ctx.request.origin);
  const files = await deps.files(req);
  const fctx: DavContext = { request: { ...ctx.request, method: 'PUT', path: dest.path, mount: dest.mount }, backend: files.backend, namespace: files.namespace };
  return staging.withTransferLock(uploads.transferOf(id), async () => {
    const existing = await files.backend.stat(dest.path);
    if (existing?.collection) throw DavErrors.conflict('A collection has this name');
    checkUploadTarget({ ifMatch: headerValue(req.headers, 'if-match'), ifNoneMatch: headerValue(req.headers, 'if-none-match') }, existing);
    if (headerValue(req.headers, 'overwrite')?.toUpperCase() === 'F' && existing) throw DavErrors.preconditionFailed('The destination exists and Overwrite is F');
    // Locks on the file (and `If:` lock tokens) as for a PUT to it.
    await deps.core.checkWrite(fctx, [{ path: dest.path, membership: !existing }]);
    const parts = await staging.parts(dir);
    if (!parts || parts.length === 0) throw DavErrors.conflict('The upload has no parts');
    const size = parts.reduce((n, p) => n + fileSize(p), 0);
    const total = deps.totalLength(req);
    if (total !== undefined && total !== size) throw DavErrors.badRequest(`The parts add up to ${size} bytes, not the announced ${total}`);
    const mtime = ocMtime(req.headers);
    // The Nextcloud files backend checks the MOVE's OC-Checksum against what it writes, as for a PUT.
    const written = await files.backend.write(dest.path, { body: staging.concat(parts), contentLength: size, mtime, existing, signal: ctx.request.signal });
    // Only a file written uses up the parts: after a failure the client may MOVE again, or DELETE the upload.
    await staging.remove(dir);
    const headers: Record<string, string> = {};
    if (written.etag) headers.etag = written.etag;
    if (written.lastModified) headers['last-modified'] = written.lastModified.toUTCString();
    if (mtime) headers['x-oc-mtime'] = 'accepted';
    return { status: existing ? 204 : 201, headers };
  });
}

/** Serves `/remote.php/dav/uploads/<user>/` on the DAV core, with MOVE of `.file` as the assembly. */
export function mountUploads(app: FastifyInstance, deps: UploadsDeps): void {
  mountDav(app, {
    path: NEXTCLOUD_UPLOADS_BASE,
    core: deps.core,
    resolve: deps.uploads,
    mountOf: userMountOf,
    methods: { MOVE: (ctx, req) => assemble(deps, ctx, req) },
  });
}
