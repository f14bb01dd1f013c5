import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import {
  VfsErrors, checkFileId, checkThumbnailRef, checkVersionRef, vfsEntrySegments,
  type ByteRange, type ContentInfo, type ContentRef, type ContentStat, type ContentWriter, type InstanceRef,
  type StoredEntry, type VersionRef, type VfsContent, type WriteOptions,
} from '@cozy-ts/kernel';
import { SLO_MAX_SEGMENTS, SWIFT_MAX_OBJECT_SIZE, type VfsSwiftConfig } from './config.ts';
import {
  SEGMENTS_PREFIX, containerName, contentName, contentPrefixes, parseContentName, parseSegmentName, parseThumbnailName,
  segmentsPrefix, thumbnailName, thumbnailPrefix,
} from './object-names.ts';
import { guardedBody, rangeHeader } from './read-object.ts';
import { SwiftAuth } from './swift-auth.ts';
import { SwiftClient, objectPath } from './swift-client.ts';
import { swiftError } from './swift-errors.ts';
import { HttpPool, drain, expectStatus, readBody } from './swift-http.ts';
import { SwiftWriter } from './swift-writer.ts';

export type SwiftVfsOptions = VfsSwiftConfig;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * The `vfs` capability on OpenStack Swift, in cozy-stack's v3 layout (see object-names.ts): id-addressed, so
 * renames, moves and directories never touch Swift; a current content and its versions are sibling objects that
 * only the index tells apart. Every Swift failure comes out as a VFS error (unreachable: 503).
 */
export class SwiftVfs implements VfsContent {
  readonly kind = 'swift';
  readonly addressing = 'id' as const;
  readonly maxFileSize: number | null;
  readonly client: SwiftClient;
  readonly #http: HttpPool;
  readonly #auth: SwiftAuth;
  readonly #live = new Set<string>();
  readonly #processToken = randomBytes(4).toString('hex');

  constructor(private readonly config: SwiftVfsOptions) {
    this.#http = new HttpPool({ timeoutMs: config.timeoutMs });
    this.#auth = new SwiftAuth(config, this.#http);
    this.client = new SwiftClient(this.#auth, this.#http);
    this.maxFileSize = config.maxFileSize ?? config.segmentSize * SLO_MAX_SEGMENTS;
  }

  /** The instance's container: `cozy-v3-<db prefix>` as cozy-stack names it. */
  container(inst: InstanceRef): string {
    return containerName(this.config.containerPrefix, inst.prefix);
  }

  /** Closes the idle connections. */
  close(): void {
    this.#http.close();
  }

  /** Authenticates and checks the account answers: for start-up and /status. */
  async check(): Promise<void> {
    await this.#swift(async () => {
      const res = await this.client.request('HEAD', '');
      await drain(res);
      await expectStatus(res, [200, 204], 'HEAD', 'the account');
    });
  }

  async initInstance(inst: InstanceRef): Promise<void> {
    const path = objectPath(this.container(inst));
    await this.#swift(() => this.client.put(path, ''));
  }

  async destroyInstance(inst: InstanceRef): Promise<void> {
    const container = this.container(inst);
    await this.#swift(async () => {
      // A listing can lag behind the last writes: a container still holding objects answers 409, then again.
      for (let attempt = 0; attempt < 5; attempt++) {
        for await (const page of this.client.list(container)) await this.client.deleteMany(container, page.map((o) => o.name));
        const res = await this.client.request('DELETE', objectPath(container));
        await drain(res);
        if (res.statusCode === 404 || res.statusCode === 204) return;
        if (res.statusCode !== 409) await expectStatus(res, [], 'DELETE', objectPath(container));
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
      throw VfsErrors.unavailable(`The container ${container} could not be emptied`);
    });
  }

  /**
   * Removes the segments of large uploads that never became a content: those of this process's writers that
   * are gone at once, those of other processes (a crashed one, or a live one on another machine) once older than
   * `staleSegmentsAfterMs`. Segments a manifest uses are content, never touched.
   */
  async cleanupTemporaries(inst: InstanceRef): Promise<number> {
    const container = this.container(inst);
    return this.#swift(async () => {
      const groups = new Map<string, { object: string; writer: string; names: string[]; newest: number }>();
      for await (const page of this.client.list(container, SEGMENTS_PREFIX)) {
        for (const o of page) {
          const seg = parseSegmentName(o.name);
          if (!seg) continue;
          const key = segmentsPrefix(seg.object, seg.writer);
          const g = groups.get(key) ?? { ...seg, names: [], newest: 0 };
          g.names.push(o.name);
          g.newest = Math.max(g.newest, o.lastModified.getTime());
          groups.set(key, g);
        }
      }
      let removed = 0;
      for (const [prefix, g] of groups) {
        if (this.#live.has(`${container}/${prefix}`)) continue;
        const ours = g.writer.startsWith(`${this.#processToken}-`);
        if (!ours && Date.now() - g.newest < this.config.staleSegmentsAfterMs) continue;
        const manifest = await this.client.head(objectPath(container, g.object));
        if (manifest && first(manifest['x-object-meta-cozy-writer']) === g.writer) continue;
        await this.client.deleteMany(container, g.names);
        removed++;
      }
      return removed;
    });
  }

  async freeSpace(_inst: InstanceRef): Promise<number | null> {
    // Swift has no free space; an account quota (set by a reseller admin) is the only bound it tells.
    const res = await this.#swift(async () => {
      const r = await this.client.request('HEAD', '');
      await drain(r);
      await expectStatus(r, [200, 204], 'HEAD', 'the account');
      return r;
    });
    const quota = Number(first(res.headers['x-account-meta-quota-bytes']));
    const used = Number(first(res.headers['x-account-bytes-used']));
    if (!Number.isFinite(quota) || !Number.isFinite(used) || first(res.headers['x-account-meta-quota-bytes']) === undefined) return null;
    return Math.max(0, quota - used);
  }

  async createDir(_inst: InstanceRef, path: string): Promise<void> {
    vfsEntrySegments(path);
  }

  async renameDir(_inst: InstanceRef, from: string, to: string): Promise<void> {
    vfsEntrySegments(from);
    vfsEntrySegments(to);
    if (to.startsWith(`${from}/`)) throw VfsErrors.forbiddenMove();
  }

  async deleteDir(_inst: InstanceRef, path: string): Promise<void> {
    vfsEntrySegments(path);
  }

  async createWriter(inst: InstanceRef, file: ContentRef, opts: WriteOptions = {}): Promise<ContentWriter> {
    vfsEntrySegments(file.path);
    const name = contentName(file);
    const container = this.container(inst);
    if (opts.expectedSize !== undefined && this.maxFileSize !== null && opts.expectedSize > this.maxFileSize) {
      throw VfsErrors.tooLarge(`The storage takes files up to ${this.maxFileSize} bytes`);
    }
    const replaces = opts.replaces;
    let old: VersionRef | undefined;
    if (replaces) {
      old = { id: file.id, internalId: replaces.internalId };
      checkVersionRef(old);
      if (replaces.internalId === file.internalId) throw VfsErrors.badId('An overwrite needs a new internal id');
    }
    return new SwiftWriter({
      client: this.client,
      container,
      name,
      limits: opts,
      maxBytes: this.maxFileSize,
      segmentSize: this.config.segmentSize,
      createOnly: true,
      headers: { [CURRENT_MARK]: '1' },
      live: this.#live,
      processToken: this.#processToken,
      placed: async () => {
        if (!old || !replaces) return false;
        if (replaces.keepAsVersion) return this.#setCurrent(container, old, false);
        // The new content is in place: the old one goes, as nobody asked to keep it.
        await this.#deleteContent(container, old).catch(() => {});
        return false;
      },
    });
  }

  async read(inst: InstanceRef, file: ContentRef, range?: ByteRange): Promise<Readable> {
    vfsEntrySegments(file.path);
    return this.#read(this.container(inst), contentName(file), range);
  }

  async stat(inst: InstanceRef, file: ContentRef): Promise<ContentStat> {
    vfsEntrySegments(file.path);
    const path = objectPath(this.container(inst), contentName(file));
    const headers = await this.#swift(() => this.client.head(path));
    if (!headers) throw VfsErrors.notFound();
    return { size: Number(first(headers['content-length']) ?? 0), mtime: mtimeOf(headers) };
  }

  async moveFile(_inst: InstanceRef, file: ContentRef, toPath: string): Promise<void> {
    vfsEntrySegments(file.path);
    vfsEntrySegments(toPath);
    contentName(file);
  }

  async copyFile(inst: InstanceRef, from: ContentRef, to: ContentRef): Promise<ContentInfo> {
    vfsEntrySegments(from.path);
    vfsEntrySegments(to.path);
    const container = this.container(inst);
    const src = contentName(from);
    const dst = contentName(to);
    return this.#swift(async () => {
      const headers = await this.client.head(objectPath(container, src));
      if (!headers) throw VfsErrors.notFound();
      const size = Number(first(headers['content-length']) ?? 0);
      const isLarge = String(first(headers['x-static-large-object'])).toLowerCase() === 'true';
      // A copy's conditional headers apply to its source: the destination is checked first (the VFS service
      // serialises operations on an instance, so nothing comes in between).
      if (await this.client.head(objectPath(container, dst))) throw VfsErrors.exists();
      if (isLarge) return this.#copyLarge(container, src, dst, headers);
      // Server-side: the bytes never leave Swift.
      const answer = await this.client.put(objectPath(container, dst), '', {
        'x-copy-from': objectPath(container, src),
        // A new file: none of the source's marks (a version mark, above all) come along.
        'x-fresh-metadata': 'true',
        [CURRENT_MARK]: '1',
      });
      const etag = (first(answer.etag) ?? '').replace(/^"|"$/g, '');
      return { size, md5: Buffer.from(etag, 'hex'), versionKept: false };
    });
  }

  async deleteFile(inst: InstanceRef, file: ContentRef): Promise<void> {
    vfsEntrySegments(file.path);
    contentName(file);
    const container = this.container(inst);
    await this.#swift(async () => {
      const names: string[] = [];
      for (const prefix of contentPrefixes(file.id)) {
        for await (const page of this.client.list(container, prefix)) {
          names.push(...page.filter((o) => parseContentName(o.name)?.id === file.id).map((o) => o.name));
        }
        for await (const page of this.client.list(container, `${SEGMENTS_PREFIX}${prefix}`)) {
          names.push(...page.filter((o) => parseContentName(parseSegmentName(o.name)?.object ?? '')?.id === file.id).map((o) => o.name));
        }
      }
      for await (const page of this.client.list(container, thumbnailPrefix(file.id))) {
        names.push(...page.filter((o) => parseThumbnailName(o.name)?.id === file.id).map((o) => o.name));
      }
      await this.client.deleteMany(container, [...new Set(names)]);
    });
  }

  async readVersion(inst: InstanceRef, version: VersionRef, range?: ByteRange): Promise<Readable> {
    return this.#read(this.container(inst), contentName(version), range, true);
  }

  async deleteVersion(inst: InstanceRef, version: VersionRef): Promise<void> {
    contentName(version);
    const container = this.container(inst);
    await this.#swift(() => this.#deleteContent(container, version));
  }

  async revertVersion(inst: InstanceRef, file: ContentRef, version: VersionRef): Promise<void> {
    vfsEntrySegments(file.path);
    contentName(file);
    const name = contentName(version);
    if (version.id !== file.id) throw VfsErrors.badId('A version belongs to another file');
    // Id-addressed: both contents stay where they are; only their marks swap. The replaced one loses its mark
    // first, so a failure in between leaves two versions, never a lost one.
    const container = this.container(inst);
    await this.#swift(async () => {
      const headers = await this.client.head(objectPath(container, name));
      if (!headers || !isVersion(headers)) throw VfsErrors.notFound('No such version');
      await this.#setCurrent(container, file, false);
      await this.#setCurrent(container, version, true);
    });
  }

  async createThumbnailWriter(inst: InstanceRef, fileId: string, format: string): Promise<ContentWriter> {
    checkThumbnailRef(fileId, format);
    return new SwiftWriter({
      client: this.client,
      container: this.container(inst),
      name: thumbnailName(fileId, format),
      limits: {},
      maxBytes: Math.min(this.config.segmentSize, SWIFT_MAX_OBJECT_SIZE),
      segmentSize: null,
      createOnly: false,
      headers: { 'content-type': 'image/jpeg' },
      live: this.#live,
      processToken: this.#processToken,
      placed: async () => false,
    });
  }

  async readThumbnail(inst: InstanceRef, fileId: string, format: string): Promise<Readable> {
    return this.#read(this.container(inst), thumbnailName(fileId, format));
  }

  async deleteThumbnails(inst: InstanceRef, fileId: string): Promise<void> {
    checkFileId(fileId);
    const container = this.container(inst);
    await this.#swift(async () => {
      const names: string[] = [];
      for await (const page of this.client.list(container, thumbnailPrefix(fileId))) {
        names.push(...page.filter((o) => parseThumbnailName(o.name)?.id === fileId).map((o) => o.name));
      }
      await this.client.deleteMany(container, names);
    });
  }

  async *walk(inst: InstanceRef): AsyncIterable<StoredEntry> {
    const container = this.container(inst);
    const pages = this.client.list(container);
    for (;;) {
      const next = await this.#swift(() => pages.next());
      if (next.done) return;
      for (const o of next.value) {
        if (o.name.startsWith(SEGMENTS_PREFIX)) continue;
        const thumb = parseThumbnailName(o.name);
        if (thumb) {
          yield { kind: 'thumbnail', id: thumb.id, format: thumb.format, size: o.bytes, mtime: o.lastModified };
          continue;
        }
        const ref = parseContentName(o.name);
        if (ref) yield { kind: 'object', id: ref.id, internalId: ref.internalId, size: o.bytes, mtime: o.lastModified };
      }
    }
  }

  async #read(container: string, name: string, range?: ByteRange, version = false): Promise<Readable> {
    const header = rangeHeader(range);
    const res = await this.#swift(() => this.client.get(objectPath(container, name), header ? { range: header } : {}));
    if (!res) throw VfsErrors.notFound();
    if (version && !isVersion(res.headers)) {
      res.destroy();
      throw VfsErrors.notFound('No such version: this content is current');
    }
    return guardedBody(res);
  }

  /**
   * Marks a content as current, or takes the mark off when it becomes a kept version (a user metadata, set with a
   * POST that keeps the others). Only `readVersion` and `revertVersion` look at it: a content and its versions are
   * alike in this layout, and the mark keeps a current content from answering as a version (after an overwrite
   * that failed, or a revert). Unmarked objects (cozy-stack's) read as versions, so its containers keep working.
   * Resolves false when the content is missing.
   */
  async #setCurrent(container: string, ref: VersionRef, current: boolean): Promise<boolean> {
    const path = objectPath(container, contentName(ref));
    const headers = await this.client.head(path);
    if (!headers) return false;
    if (!isVersion(headers) === current) return true;
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith('x-object-meta-') && k !== CURRENT_MARK && v !== undefined) meta[k] = String(first(v));
    }
    if (current) meta[CURRENT_MARK] = '1';
    const res = await this.client.request('POST', path, { headers: meta });
    await drain(res);
    if (res.statusCode === 404) return false;
    await expectStatus(res, [202, 204], 'POST', path);
    return true;
  }

  /** Deletes one content version and, for a large object, its segments. */
  async #deleteContent(container: string, ref: VersionRef): Promise<void> {
    const name = contentName(ref);
    const names = [name];
    for await (const page of this.client.list(container, `${SEGMENTS_PREFIX}${name}/`)) names.push(...page.map((o) => o.name));
    await this.client.deleteMany(container, names);
  }

  /** A large object copied segment by segment (server-side), then a new manifest: the copies share nothing. */
  async #copyLarge(container: string, src: string, dst: string, headers: IncomingMessage['headers']): Promise<ContentInfo> {
    const res = await this.client.get(objectPath(container, src), {}, [200], { 'multipart-manifest': 'get', format: 'raw' });
    if (!res) throw VfsErrors.notFound();
    const segments = JSON.parse(await readBody(res, 16 * 1024 * 1024)) as Array<{ path: string; etag: string; size_bytes: number }>;
    const writer = `${this.#processToken}-${randomBytes(6).toString('hex')}`;
    const prefix = segmentsPrefix(dst, writer);
    const live = `${container}/${prefix}`;
    this.#live.add(live);
    const copied: string[] = [];
    try {
      const manifest = [];
      for (const [i, s] of segments.entries()) {
        const name = `${prefix}${String(i).padStart(8, '0')}`;
        await this.client.put(objectPath(container, name), '', { 'x-copy-from': s.path });
        copied.push(name);
        manifest.push({ path: `/${container}/${name}`, etag: s.etag, size_bytes: s.size_bytes });
      }
      const md5 = first(headers['x-object-meta-cozy-md5']) ?? '';
      await this.client.put(objectPath(container, dst), JSON.stringify(manifest), {
        'content-type': 'application/octet-stream', 'if-none-match': '*', 'x-object-meta-cozy-md5': md5, 'x-object-meta-cozy-writer': writer,
        [CURRENT_MARK]: '1',
      }, { 'multipart-manifest': 'put' });
      return { size: Number(first(headers['content-length']) ?? 0), md5: Buffer.from(md5, 'hex'), versionKept: false };
    } catch (err) {
      await this.client.deleteMany(container, copied).catch(() => {});
      throw err;
    } finally {
      this.#live.delete(live);
    }
  }

  /** Runs Swift calls with every failure turned into a VFS error. */
  async #swift<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw swiftError(err);
    }
  }
}

const CURRENT_MARK = 'x-object-meta-cozy-current';

/** A content without the current mark is a kept version (or cozy-stack's, which knows no mark). */
function isVersion(headers: IncomingMessage['headers']): boolean {
  return first(headers[CURRENT_MARK]) !== '1';
}

function mtimeOf(headers: IncomingMessage['headers']): Date {
  const ts = Number(first(headers['x-timestamp']));
  if (Number.isFinite(ts) && ts > 0) return new Date(Math.round(ts * 1000));
  const lm = Date.parse(first(headers['last-modified']) ?? '');
  return Number.isFinite(lm) ? new Date(lm) : new Date(0);
}
