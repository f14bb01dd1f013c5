import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ROOT_DIR_ID, fileSize, isCozyError, isDir, type FileDoc, type FilesService, type InstanceRef, type Locks } from '@cozy-ts/kernel';
import { DavErrors, type DavResource, type WriteInput } from '@cozy-ts/dav';

/**
 * Nextcloud's first chunking scheme, which its desktop client (3.x) uses for every file larger than its chunk size
 * (10 MB by default) whatever the capabilities say: each part is a PUT with `OC-Chunked: 1` to
 * `<name>-chunking-<transfer>-<count>-<index>`. Parts are staged as files of the instance's tree, under
 * `STAGING_DIR` (hidden from the Nextcloud mounts), so a farm's processes share them like any upload, with the quota
 * and the VFS's all-or-nothing writes. The PUT that completes the set writes the target through the files backend
 * (a new file, or a new version of the existing one) from the parts in order and removes them; it alone is
 * answered with an ETag, which is how the client knows the file is done.
 */
export const STAGING_DIR = '/.nextcloud-uploads';
/** A transfer left unfinished this long (the client gave up, or the file changed) is removed by the next one. */
const STALE_MS = 24 * 3600 * 1000;
/** Nextcloud's own bound on the chunk count is its chunk size; ours keeps the staging listing small. */
const MAX_CHUNKS = 10_000;

const CHUNK_NAME = /^(.+)-chunking-(\d{1,10})-(\d{1,5})-(\d{1,5})$/;

export const isStagingPath = (path: string): boolean => path === STAGING_DIR || path.startsWith(`${STAGING_DIR}/`);

export interface ChunkRef {
  /** The file being uploaded. */
  target: string;
  transfer: string;
  count: number;
  index: number;
}

/** The part a chunked PUT carries; 400 for a name that is not one. */
export function parseChunkPath(path: string): ChunkRef {
  const slash = path.lastIndexOf('/');
  const m = CHUNK_NAME.exec(path.slice(slash + 1));
  if (!m) throw DavErrors.badRequest('OC-Chunked needs a name <name>-chunking-<transfer>-<count>-<index>');
  const count = Number(m[3]);
  const index = Number(m[4]);
  if (count < 1 || count > MAX_CHUNKS || index >= count) throw DavErrors.badRequest('Bad chunk count or index');
  return { target: `${path.slice(0, slash)}/${m[1]}`.replace(/^\/\//, '/'), transfer: m[2] as string, count, index };
}

/** The conditional headers of a chunked PUT: they are about the target, which the DAV core never sees. */
const conditions = new WeakMap<FastifyRequest, { ifMatch?: string; ifNoneMatch?: string }>();

/**
 * Takes `If-Match` / `If-None-Match` off chunked PUTs before the DAV core evaluates them against the part's
 * name (where the client's `If-Match` of the target would always fail); they are checked against the target when
 * the parts are put together.
 */
export function holdChunkConditions(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    if (req.method !== 'PUT' || req.headers['oc-chunked'] === undefined) return;
    const held = { ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match') };
    delete req.headers['if-match'];
    delete req.headers['if-none-match'];
    conditions.set(req, held);
  });
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Whether an `If-Match` / `If-None-Match` list names this ETag (or `*` and the resource exists). */
function listMatches(list: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return list.split(',').some((t) => bare(t) === '*' || bare(t) === bare(etag));
}

export function checkTargetConditions(req: FastifyRequest, target: DavResource | null): void {
  const held = conditions.get(req);
  if (!held) return;
  if (held.ifMatch !== undefined && !listMatches(held.ifMatch, target?.etag)) throw DavErrors.preconditionFailed();
  if (held.ifNoneMatch !== undefined && listMatches(held.ifNoneMatch, target?.etag)) throw DavErrors.preconditionFailed();
}

/** Key of `metadata` marking the folders made here. */
const STAGING_MARK = 'nextcloudChunkStaging';

function isOurs(doc: FileDoc): boolean {
  return isDir(doc) && (doc.metadata as Record<string, unknown> | undefined)?.[STAGING_MARK] === true;
}

/** A folder found where staging goes that was not made here (a user's own folder of that name): not touched. */
function ours(doc: FileDoc): FileDoc {
  if (!isOurs(doc)) throw DavErrors.conflict(`${STAGING_DIR} is a folder of the user's: chunked uploads cannot stage there`);
  return doc;
}

const partName = (index: number): string => String(index).padStart(5, '0');

function isStatus(err: unknown, status: number): boolean {
  return isCozyError(err) && err.status === status;
}

/** One instance's staged parts, for one request. */
export class ChunkStaging {
  constructor(
    private readonly files: FilesService,
    private readonly locks: Locks,
    private readonly inst: InstanceRef & { domain: string },
  ) {}

  /**
   * Stages one part, then, when every part is there, writes the target with `finish` and removes the parts.
   * Returns what `finish` returned, or null while parts are missing.
   */
  async put(ref: ChunkRef, input: WriteInput, totalLength: number | undefined, finish: (body: Readable, size: number) => Promise<DavResource>): Promise<DavResource | null> {
    const dirPath = `${STAGING_DIR}/${ref.transfer}-${ref.count}-${createHash('sha1').update(ref.target).digest('hex').slice(0, 16)}`;
    let dir: FileDoc;
    try {
      dir = await this.#stagingDir(dirPath);
      await this.#writePart(dir, ref.index, input);
    } catch (err) {
      if (!input.body.destroyed) input.body.destroy();
      throw err;
    }
    // One process at a time looks at a transfer's parts, so two last parts cannot both assemble it.
    return this.locks.withLock(`webdav:nc-chunks:${this.inst.domain}:${dirPath}`, { ttlMs: 60_000, waitMs: 120_000 }, async () => {
      const parts = await this.#parts(dir);
      if (!parts || parts.length !== ref.count || parts.some((p, i) => p.name !== partName(i))) return null;
      const size = parts.reduce((n, p) => n + fileSize(p), 0);
      // Whatever happens now, the parts have served: a client that retries starts a new transfer or sends every
      // part again (resuming, it sends them all, starting from the one after the last it saw acknowledged).
      try {
        if (totalLength !== undefined && size !== totalLength) throw DavErrors.badRequest(`The parts add up to ${size} bytes, not the announced ${totalLength}`);
        return await finish(this.#concat(parts), size);
      } finally {
        await this.files.destroy(this.inst, dir._id).catch(() => undefined);
        await this.#removeStagingIfEmpty().catch(() => undefined);
      }
    });
  }

  /** Staging folders are made and the staging root removed under one lock, so neither undoes the other. */
  #rootLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`webdav:nc-chunks:${this.inst.domain}`, { ttlMs: 30_000, waitMs: 60_000 }, fn);
  }

  async #stagingDir(path: string): Promise<FileDoc> {
    const found = await this.#find(path);
    if (found) return ours(found);
    return this.#rootLock(async () => {
      await this.#sweep();
      const root = (await this.#find(STAGING_DIR)) ?? (await this.#mkdir(ROOT_DIR_ID, STAGING_DIR.slice(1)));
      const raced = await this.#find(path);
      return raced ? ours(raced) : this.#mkdir(ours(root)._id, path.slice(STAGING_DIR.length + 1));
    });
  }

  async #find(path: string): Promise<FileDoc | null> {
    try {
      return await this.files.statByPath(this.inst, path);
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  /** Staging folders carry a mark: only marked folders are ever used, swept or removed, never a user's own. */
  async #mkdir(dirId: string, name: string): Promise<FileDoc> {
    return this.files.createDir(this.inst, { dirId, name, metadata: { [STAGING_MARK]: true } });
  }

  /** The staging root shows in the user's tree (Drive, `/dav/files`) only while uploads are under way. */
  async #removeStagingIfEmpty(): Promise<void> {
    await this.#rootLock(async () => {
      try {
        const root = await this.files.statByPath(this.inst, STAGING_DIR);
        if (!isOurs(root)) return;
        for await (const _ of this.files.children(this.inst, root._id)) return;
        await this.files.destroy(this.inst, root._id);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    });
  }

  /** Removes transfers nobody finished: called when a new one starts, so it costs nothing per part. */
  async #sweep(): Promise<void> {
    let root: FileDoc;
    try {
      root = await this.files.statByPath(this.inst, STAGING_DIR);
    } catch (err) {
      if (isStatus(err, 404)) return;
      throw err;
    }
    if (!isOurs(root)) return;
    const cutoff = Date.now() - STALE_MS;
    for await (const doc of this.files.children(this.inst, root._id)) {
      if (isOurs(doc) && Date.parse(doc.updated_at) < cutoff) await this.files.destroy(this.inst, doc._id).catch(() => undefined);
    }
  }

  async #writePart(dir: FileDoc, index: number, input: WriteInput): Promise<void> {
    const name = partName(index);
    // A client resuming an upload sends parts again: the new one replaces the old.
    try {
      const old = await this.files.statByPath(this.inst, `${dir.path}/${name}`);
      await this.files.destroy(this.inst, old._id);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    const onAbort = () => input.body.destroy(new Error('The client went away during the upload'));
    input.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.files.createFile(this.inst, {
        dirId: dir._id, name, mime: 'application/octet-stream', ...(input.contentLength !== undefined ? { size: input.contentLength } : {}),
      }, input.body);
    } finally {
      input.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The parts in order, or null when the transfer was finished meanwhile (its folder is gone). */
  async #parts(dir: FileDoc): Promise<FileDoc[] | null> {
    const parts: FileDoc[] = [];
    try {
      for await (const doc of this.files.children(this.inst, dir._id)) if (!isDir(doc)) parts.push(doc);
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
    return parts.sort((a, b) => a.name.localeCompare(b.name));
  }

  #concat(parts: FileDoc[]): Readable {
    const { files, inst } = this;
    return Readable.from((async function* () {
      for (const part of parts) {
        const { stream } = await files.read(inst, part._id);
        for await (const chunk of stream) yield chunk as Buffer;
      }
    })(), { objectMode: false });
  }
}

