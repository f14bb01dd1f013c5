import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { VfsErrors, type ContentInfo, type ContentWriter, type WriteOptions } from '@cozy-ts/kernel';
import { ignoreMissing, vfsError } from './fs-errors.ts';
import type { Temporary } from './temporaries.ts';

export interface WriterSetup {
  temporary: Temporary;
  limits: Pick<WriteOptions, 'expectedSize' | 'expectedMd5' | 'maxSize'>;
  /** fsync before the content becomes visible, so a power cut never shows a truncated file under its final name. */
  fsync: boolean;
  /** Moves the verified temporary into place; resolves whether a replaced content was kept as a version. */
  place: (tmpPath: string) => Promise<boolean>;
}

const MiB = 1024 * 1024;
/**
 * Room for the network chunks (64 KiB each) that arrive while one writev is on the thread pool: they are written
 * together by the next writev, so a loaded event loop makes fewer, larger writes. Still a bounded 1 MiB per upload.
 */
const BUFFERED_BYTES = MiB;
/**
 * With fsync on, a background fdatasync starts each time this many bytes were written since the last one: the disk
 * writes the body out while the network still delivers it, so the fsync before the rename has little left to do.
 * Without it, the kernel holds the whole body dirty in memory (below its writeback threshold) and the final fsync
 * pays for writing all of it, after the last byte arrived.
 */
const WRITEBACK_BYTES = 32 * MiB;

type State = 'open' | 'committing' | 'committed' | 'failed' | 'aborted';

/**
 * A body on its way to a temporary file: counted and hashed as it is written, checked against the limits on
 * every chunk (so an oversized body stops at once), verified and placed on commit. The temporary is removed on
 * every way out but a successful commit: an error, a destroy, an abort, a failed verification.
 * Backpressure is Writable's: each chunk's callback waits for the disk.
 */
export class TempFileWriter extends Writable implements ContentWriter {
  #bytes = 0;
  readonly #hash = createHash('md5');
  #state: State = 'open';
  #error: unknown;
  #closed = false;
  #removal?: Promise<void>;
  #unsynced = 0;
  #writeback?: Promise<void>;
  // Linux reports a writeback error once per open file: one that a background sync met must still fail the upload.
  #writebackError: unknown;

  constructor(private readonly setup: WriterSetup) {
    // Room for a few network chunks while the disk is busy (pipelining), still a bounded few hundred KiB per upload.
    super({ highWaterMark: BUFFERED_BYTES });
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#append([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#append(chunks.map((c) => c.chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush().then(() => callback(), (err: unknown) => callback(vfsError(err) as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.#error ??= error;
    // Destroyed after 'finish' (autoDestroy): the temporary waits for commit(). Otherwise it is garbage.
    if (!error && this.writableFinished) return callback(null);
    this.#remove().then(() => callback(error), () => callback(error));
  }

  async commit(): Promise<ContentInfo> {
    if (this.#state !== 'open') throw VfsErrors.writerClosed();
    this.#state = 'committing';
    try {
      await this.#ended();
      const md5 = this.#hash.digest();
      this.#verify(md5);
      const versionKept = await this.setup.place(this.setup.temporary.path);
      this.#state = 'committed';
      this.setup.temporary.release();
      return { size: this.#bytes, md5, versionKept };
    } catch (err) {
      this.#state = 'failed';
      await this.#remove();
      throw vfsError(err);
    }
  }

  async abort(): Promise<void> {
    // During a commit the commit owns the temporary (it removes it if it fails).
    if (this.#state === 'committed' || this.#state === 'committing') return;
    this.#state = 'aborted';
    if (!this.destroyed) this.destroy();
    await this.#remove();
  }

  async #append(buffers: Buffer[]): Promise<void> {
    const size = buffers.reduce((n, b) => n + b.length, this.#bytes);
    const { maxSize, expectedSize } = this.setup.limits;
    if (maxSize !== undefined && size > maxSize) throw VfsErrors.tooLarge(`The file is larger than ${maxSize} bytes`);
    if (expectedSize !== undefined && size > expectedSize) {
      throw VfsErrors.sizeMismatch(`The body is longer than the announced ${expectedSize} bytes`);
    }
    const added = size - this.#bytes;
    this.#bytes = size;
    // The write runs on libuv's thread pool: hashing meanwhile overlaps the two costs of every chunk.
    const written = writeAll(this.setup.temporary.handle, buffers);
    for (const b of buffers) this.#hash.update(b);
    try {
      await written;
    } catch (err) {
      throw vfsError(err);
    }
    this.#unsynced += added;
    if (this.setup.fsync && this.#unsynced >= WRITEBACK_BYTES && !this.#writeback) this.#startWriteback();
  }

  #startWriteback(): void {
    this.#unsynced = 0;
    this.#writeback = this.setup.temporary.handle.datasync().then(
      () => {
        this.#writeback = undefined;
      },
      (err: unknown) => {
        this.#writeback = undefined;
        this.#writebackError ??= err;
      },
    );
  }

  async #flush(): Promise<void> {
    if (this.setup.fsync) {
      await this.#writeback;
      if (this.#writebackError !== undefined) throw this.#writebackError;
      await this.setup.temporary.handle.sync();
    }
    await this.#close();
  }

  async #ended(): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (this.destroyed && !this.writableFinished) throw VfsErrors.writerClosed();
    if (this.writableFinished) return;
    if (!this.writableEnded) this.end();
    try {
      await finished(this);
    } catch (err) {
      throw this.#error ?? err;
    }
  }

  #verify(md5: Buffer): void {
    const { expectedSize, expectedMd5 } = this.setup.limits;
    if (expectedSize !== undefined && this.#bytes !== expectedSize) {
      throw VfsErrors.sizeMismatch(`Received ${this.#bytes} bytes, ${expectedSize} were announced`);
    }
    if (expectedMd5 !== undefined && !md5.equals(Buffer.from(expectedMd5))) throw VfsErrors.md5Mismatch();
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.setup.temporary.handle.close();
  }

  #remove(): Promise<void> {
    this.#removal ??= (async () => {
      // A failure to close or unlink leaves a temporary that the next cleanupTemporaries removes.
      await this.#close().catch(() => {});
      await ignoreMissing(unlink(this.setup.temporary.path)).catch(() => {});
      this.setup.temporary.release();
    })();
    return this.#removal;
  }
}

/** writev until every byte is on disk: a write may be partial (IOV_MAX buffers, a nearly full disk). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    if (bytesWritten === 0) throw VfsErrors.noSpace('The disk accepts no more bytes');
    pending = skipBytes(pending, bytesWritten);
  }
}

function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = count;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}
