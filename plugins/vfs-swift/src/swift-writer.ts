import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { ContentWriterBase, VfsErrors, type CozyError, type WriteOptions } from '@cozy-ts/kernel';
import { MiB } from './config.ts';
import { ObjectUpload } from './object-upload.ts';
import { segmentsPrefix } from './object-names.ts';
import { objectPath, type SwiftClient } from './swift-client.ts';
import { swiftError } from './swift-errors.ts';

export interface WriterSetup {
  client: SwiftClient;
  container: string;
  /** The object the content becomes. */
  name: string;
  limits: Pick<WriteOptions, 'expectedSize' | 'expectedMd5' | 'maxSize'>;
  /** Largest body accepted (the backend's `maxFileSize`, or a segment for a thumbnail); null when unbounded. */
  maxBytes: number | null;
  /** Bodies larger than this are cut into segments of this size (a static large object); null: never. */
  segmentSize: number | null;
  /** Refuse to replace an object already there (412 → `exists`): new contents; thumbnails replace. */
  createOnly: boolean;
  headers?: OutgoingHttpHeaders;
  /** Runs once the content is in place; resolves `versionKept`. */
  placed: () => Promise<boolean>;
  /** The segment prefixes (`<container>/<prefix>`) of the live writers, so a cleanup spares them. */
  live: Set<string>;
  /** Names this process's writers, so a restarted process can tell its own leftovers from a live peer's. */
  processToken: string;
}

/** A body of unknown size is held in memory up to this, so small ones go in one PUT with their MD5 known. */
const SMALL_BODY = MiB;
/** Room for the network chunks that arrive while a write to Swift waits for its socket. */
const BUFFERED_BYTES = MiB;

type Segment = { path: string; etag: string; size: number };

/**
 * A body on its way to Swift, counted and hashed as it goes, checked against the limits on every chunk, made
 * visible only by `commit()` after size and MD5 are verified. Three ways, chosen from what is known of the size:
 * - announced and at most a segment: one chunked PUT straight to the object's name, its final chunk sent only
 *   by `commit()` once the checks passed (cut otherwise: Swift stores nothing);
 * - unknown: held in memory up to 1 MiB, then one PUT at commit; beyond, as below;
 * - larger than a segment: segments under `.segments/<name>/<writer>/`, then a static large object manifest
 *   at commit. Until then the segments are temporaries: removed on every way out but a successful commit.
 */
export class SwiftWriter extends ContentWriterBase {
  readonly #hash = createHash('md5');
  #mode: 'stream' | 'buffer' | 'segments';
  #upload?: ObjectUpload;
  #opening?: Promise<ObjectUpload>;
  #held: Buffer[] = [];
  // Segments mode.
  readonly #writer: string;
  readonly #segments: Segment[] = [];
  #segmentHash?: Hash;
  #segmentBytes = 0;
  #segmentPath = '';
  #cleanup?: Promise<void>;

  constructor(private readonly setup: WriterSetup) {
    super(setup.limits, { highWaterMark: BUFFERED_BYTES });
    this.#writer = `${setup.processToken}-${randomBytes(6).toString('hex')}`;
    const { expectedSize } = setup.limits;
    const seg = setup.segmentSize;
    if (expectedSize === undefined) this.#mode = seg === null ? 'stream' : 'buffer';
    else this.#mode = seg !== null && expectedSize > seg ? 'segments' : 'stream';
    if (this.#mode === 'segments') this.setup.live.add(this.#liveKey());
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#append(chunk).then(() => callback(), (err: unknown) => callback(swiftError(err, () => this.#noContainer())));
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Nothing to flush: the last chunk (or the manifest) is what makes the content visible; commit() sends it.
    callback();
  }

  protected digest(): Promise<Buffer> {
    return Promise.resolve(this.#hash.digest());
  }

  protected async place(md5: Buffer): Promise<boolean> {
    await this.#place(md5);
    return this.setup.placed();
  }

  protected committed(): void {
    this.setup.live.delete(this.#liveKey());
  }

  protected discard(): Promise<void> {
    return this.#discard();
  }

  protected failure(err: unknown): unknown {
    return swiftError(err, () => this.#noContainer());
  }

  async #append(chunk: Buffer): Promise<void> {
    this.count(chunk.length);
    if (this.setup.maxBytes !== null && this.bytesWritten > this.setup.maxBytes) {
      throw VfsErrors.tooLarge(`The storage takes files up to ${this.setup.maxBytes} bytes`);
    }
    this.#hash.update(chunk);
    switch (this.#mode) {
      case 'stream':
        await (await this.#openStream()).write(chunk);
        return;
      case 'buffer':
        this.#held.push(chunk);
        if (this.bytesWritten > Math.min(SMALL_BODY, this.setup.segmentSize ?? Infinity)) {
          this.#mode = 'segments';
          this.setup.live.add(this.#liveKey());
          const held = this.#held;
          this.#held = [];
          for (const b of held) await this.#appendSegmented(b);
        }
        return;
      case 'segments':
        await this.#appendSegmented(chunk);
    }
  }

  #openStream(): Promise<ObjectUpload> {
    this.#opening ??= (async () => {
      const path = objectPath(this.setup.container, this.setup.name);
      const headers: OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', ...this.setup.headers };
      if (this.setup.createOnly) headers['if-none-match'] = '*';
      const { req, response } = await this.setup.client.openUpload(path, headers);
      this.#upload = new ObjectUpload(req, response, path);
      // Aborted while the connection was being opened.
      if (this.state === 'aborted' || this.state === 'failed') this.#upload.abort();
      return this.#upload;
    })();
    return this.#opening;
  }

  async #appendSegmented(chunk: Buffer): Promise<void> {
    const segmentSize = this.setup.segmentSize as number;
    let rest = chunk;
    while (rest.length > 0) {
      if (!this.#upload) await this.#openSegment();
      const room = segmentSize - this.#segmentBytes;
      const part = rest.length > room ? rest.subarray(0, room) : rest;
      rest = rest.subarray(part.length);
      this.#segmentHash?.update(part);
      this.#segmentBytes += part.length;
      await (this.#upload as ObjectUpload).write(part);
      if (this.#segmentBytes === segmentSize) await this.#closeSegment();
    }
  }

  async #openSegment(): Promise<void> {
    const n = String(this.#segments.length).padStart(8, '0');
    const name = `${this.#prefix()}${n}`;
    this.#segmentPath = objectPath(this.setup.container, name);
    this.#segmentHash = createHash('md5');
    this.#segmentBytes = 0;
    const { req, response } = await this.setup.client.openUpload(this.#segmentPath, { 'content-type': 'application/octet-stream' });
    this.#upload = new ObjectUpload(req, response, this.#segmentPath);
  }

  async #closeSegment(): Promise<void> {
    const upload = this.#upload as ObjectUpload;
    const md5 = (this.#segmentHash as Hash).digest('hex');
    const etag = await upload.finish();
    this.#upload = undefined;
    if (etag !== md5) throw VfsErrors.md5Mismatch(`Swift stored a segment with MD5 ${etag}, ${md5} was sent`);
    this.#segments.push({ path: this.#segmentPath, etag, size: this.#segmentBytes });
  }

  async #place(md5: Buffer): Promise<void> {
    const hex = md5.toString('hex');
    const path = objectPath(this.setup.container, this.setup.name);
    const headers: OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', ...this.setup.headers };
    if (this.setup.createOnly) headers['if-none-match'] = '*';
    if (this.#mode === 'buffer') {
      // Swift checks the ETag against what it received: a body damaged on the way is refused (422).
      await this.setup.client.put(path, Buffer.concat(this.#held), { ...headers, etag: hex });
      this.#held = [];
      return;
    }
    if (this.#mode === 'stream') {
      const upload = this.#upload ?? (await this.#openStream());
      const etag = await upload.finish();
      if (etag !== hex) {
        await this.setup.client.delete(path).catch(() => {});
        throw VfsErrors.md5Mismatch(`Swift stored the content with MD5 ${etag}, ${hex} was sent`);
      }
      return;
    }
    if (this.#upload) await this.#closeSegment();
    const manifest = this.#segments.map((s) => ({ path: decodeURIComponent(s.path), etag: s.etag, size_bytes: s.size }));
    // The manifest's own ETag is not the content's MD5: the content's is kept beside it for copies and checks.
    await this.setup.client.put(path, JSON.stringify(manifest), { ...headers, 'x-object-meta-cozy-md5': hex, 'x-object-meta-cozy-writer': this.#writer }, { 'multipart-manifest': 'put' });
  }

  #liveKey(): string {
    return `${this.setup.container}/${this.#prefix()}`;
  }

  #prefix(): string {
    return segmentsPrefix(this.setup.name, this.#writer);
  }

  #noContainer(): CozyError {
    return VfsErrors.unavailable(`The container ${this.setup.container} does not exist: the instance's storage was not initialised`);
  }

  /** Drops whatever was sent: the open upload is cut, the segments deleted. Runs once. */
  #discard(): Promise<void> {
    this.#cleanup ??= (async () => {
      this.#upload?.abort();
      this.#held = [];
      if (this.#opening) await this.#opening.then((u) => u.abort(), () => {});
      if (this.#mode === 'segments') {
        const names = this.#segments.map((s) => decodeURIComponent(s.path).slice(this.setup.container.length + 2));
        // A segment cut mid-way was never stored; the listing catches one whose answer got lost.
        try {
          for await (const page of this.setup.client.list(this.setup.container, this.#prefix())) names.push(...page.map((o) => o.name));
          await this.setup.client.deleteMany(this.setup.container, [...new Set(names)]);
        } catch {
          // Left for cleanupTemporaries once this writer is gone (Swift unreachable now).
        }
      }
      if (this.state !== 'committing') this.setup.live.delete(this.#liveKey());
    })();
    return this.#cleanup;
  }
}
