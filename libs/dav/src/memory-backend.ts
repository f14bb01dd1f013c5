import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DavBackend, DavResource, WriteInput } from './backend.ts';
import { MemoryDeadPropertyStore } from './dead-properties.ts';
import { DavErrors } from './errors.ts';
import { baseName, isWithin, parentPath } from './paths.ts';
import type { DeadProperty, PropPatchOp } from './properties.ts';
import type { ByteRangeSpec } from './range.ts';

interface Node {
  collection: boolean;
  content?: Buffer;
  contentType?: string;
  etag: string;
  modified: Date;
  created: Date;
}

/**
 * A complete DAV tree in memory: for tests and for running litmus against the core alone. `maxBytes` caps
 * the sum of content sizes (507 past it), to exercise quota handling.
 */
export class MemoryBackend implements DavBackend {
  readonly #nodes = new Map<string, Node>();
  readonly #props = new MemoryDeadPropertyStore();
  #seq = 0;

  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {
    this.#nodes.set('/', this.#node(true));
  }

  #node(collection: boolean, content?: Buffer, contentType?: string): Node {
    const now = new Date();
    const etag = `"${createHash('sha1').update(`${++this.#seq}:${now.getTime()}`).digest('hex').slice(0, 16)}"`;
    return { collection, content, contentType, etag, modified: now, created: now };
  }

  #resource(path: string, n: Node): DavResource {
    return {
      path,
      collection: n.collection,
      etag: n.etag,
      lastModified: n.modified,
      created: n.created,
      ...(n.collection ? {} : { contentLength: n.content?.length ?? 0, contentType: n.contentType ?? 'application/octet-stream' }),
    };
  }

  usedBytes(): number {
    let used = 0;
    for (const n of this.#nodes.values()) used += n.content?.length ?? 0;
    return used;
  }

  async stat(path: string): Promise<DavResource | null> {
    const n = this.#nodes.get(path);
    return n ? this.#resource(path, n) : null;
  }

  async members(collection: DavResource): Promise<DavResource[]> {
    const out: DavResource[] = [];
    for (const [p, n] of this.#nodes) if (p !== '/' && parentPath(p) === collection.path && p !== collection.path) out.push(this.#resource(p, n));
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  async read(resource: DavResource, range?: ByteRangeSpec): Promise<Readable> {
    const n = this.#nodes.get(resource.path);
    if (!n || n.collection) throw DavErrors.notFound();
    const buf = n.content ?? Buffer.alloc(0);
    return Readable.from([range ? buf.subarray(range.start, range.end + 1) : buf]);
  }

  #parent(path: string): Node {
    const parent = this.#nodes.get(parentPath(path));
    if (!parent || !parent.collection) throw DavErrors.conflict();
    return parent;
  }

  async write(path: string, input: WriteInput): Promise<DavResource> {
    this.#parent(path);
    const chunks: Buffer[] = [];
    let size = this.usedBytes() - (this.#nodes.get(path)?.content?.length ?? 0);
    for await (const c of input.body) {
      size += (c as Buffer).length;
      if (size > this.maxBytes) {
        input.body.destroy();
        throw DavErrors.insufficientStorage();
      }
      chunks.push(c as Buffer);
    }
    if (input.signal.aborted) throw DavErrors.badRequest('The upload was interrupted');
    const node = this.#node(false, Buffer.concat(chunks), input.contentType);
    const old = this.#nodes.get(path);
    if (old) node.created = old.created;
    if (input.mtime) node.modified = input.mtime;
    this.#nodes.set(path, node);
    return this.#resource(path, node);
  }

  async mkcol(path: string): Promise<DavResource> {
    this.#parent(path);
    const node = this.#node(true);
    this.#nodes.set(path, node);
    return this.#resource(path, node);
  }

  async delete(resource: DavResource): Promise<void> {
    for (const p of [...this.#nodes.keys()]) if (isWithin(resource.path, p) && p !== '/') this.#nodes.delete(p);
    await this.#props.deleteTree(resource.path);
  }

  async copy(source: DavResource, destination: string, depth: '0' | 'infinity'): Promise<void> {
    this.#parent(destination);
    for (const [p, n] of [...this.#nodes]) {
      if (!isWithin(source.path, p)) continue;
      if (depth === '0' && p !== source.path) continue;
      const target = destination + p.slice(source.path.length);
      const copy = this.#node(n.collection, n.content, n.contentType);
      this.#nodes.set(target, copy);
      for (const prop of await this.#props.get(p)) await this.#props.patch(target, [{ op: 'set', property: { ...prop } }]);
    }
  }

  async move(source: DavResource, destination: string): Promise<void> {
    this.#parent(destination);
    for (const [p, n] of [...this.#nodes]) {
      if (!isWithin(source.path, p)) continue;
      this.#nodes.delete(p);
      this.#nodes.set(destination + p.slice(source.path.length), n);
    }
    await this.#props.moveTree(source.path, destination);
  }

  deadProperties(resource: DavResource): Promise<DeadProperty[]> {
    return this.#props.get(resource.path);
  }

  patchDeadProperties(resource: DavResource, ops: PropPatchOp[]): Promise<void> {
    return this.#props.patch(resource.path, ops);
  }

  /** For tests: the names directly in a collection. */
  names(path: string): string[] {
    return [...this.#nodes.keys()].filter((p) => p !== '/' && parentPath(p) === path).map(baseName);
  }
}

