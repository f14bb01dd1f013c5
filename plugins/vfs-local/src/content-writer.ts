import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import { ContentWriterBase, VfsErrors, type WriteOptions } from '@cozy-ts/kernel';
import { ignoreMissing, vfsError } from './fs-errors.ts';
import { md5Pool, type Md5Job } from './md5-pool.ts';
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
 * The body is copied into a ring of slices; each full slice is one write(2) and one MD5 update on the hashing
 * worker, both at once. 1 MiB slices make a GiB 1,024 syscalls and worker messages instead of 16,384 network
 * chunks; four of them let the network, the disk and the hash each work on its own slice. Bounded: 4 MiB per upload.
 */
const SLICE_BYTES = MiB;
const SLICES = 4;
/**
 * With fsync on, a background fdatasync starts each time this many bytes were written since the last one: the disk
 * writes the body out while the network still delivers it, so the fsync before the rename has little left to do.
 * Without it, the kernel holds the whole body dirty in memory (below its writeback threshold) and the final fsync
 * pays for writing all of it, after the last byte arrived.
 */
const WRITEBACK_BYTES = 32 * MiB;

type Hasher = { kind: 'here'; hash: Hash } | { kind: 'worker'; job: Md5Job };

interface Slice {
  buf: Buffer;
  /** Settles (never rejects) once the slice's write and hash are done and it may be refilled. */
  busy?: Promise<void>;
}

/**
 * A body on its way to a temporary file: counted and hashed as it is written, checked against the limits on
 * every chunk (so an oversized body stops at once), verified and placed on commit. The temporary is removed on
 * every way out but a successful commit: an error, a destroy, an abort, a failed verification.
 * Backpressure: a chunk's callback waits while every slice is still being written or hashed.
 */
export class TempFileWriter extends ContentWriterBase {
  /** The first write, hash or background sync failure; every later step stops on it. */
  #failure: unknown;
  #closed = false;
  #removal?: Promise<void>;
  readonly #slices: Slice[] = [];
  #current = 0;
  #fill = 0;
  #position = 0;
  /** The writes, one after the other in file order; never rejects (failures land in #failure). */
  #writes: Promise<void> = Promise.resolve();
  /** Decided at the first full slice: a worker for a body longer than one slice, this thread for a small one. */
  #hasher?: Hasher;
  #unsynced = 0;
  #writeback?: Promise<void>;

  constructor(private readonly setup: WriterSetup) {
    // The stream's own buffer may hold a slice more while every slice is busy. With the 16 KiB default, each 64 KiB
    // network chunk made write() answer "full", and the HTTP layer stopped and restarted reading the socket for every
    // chunk: about 0.3 s of the event loop per GiB (main thread 1.9 -> 1.45-1.65 s of CPU per GiB uploaded).
    super(setup.limits, { highWaterMark: SLICE_BYTES });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#append(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush().then(() => callback(), (err: unknown) => callback(vfsError(err) as Error));
  }

  protected digest(): Promise<Buffer> {
    return this.#digest();
  }

  protected place(): Promise<boolean> {
    return this.setup.place(this.setup.temporary.path);
  }

  protected committed(): void {
    this.setup.temporary.release();
  }

  protected discard(): Promise<void> {
    return this.#remove();
  }

  protected failure(err: unknown): unknown {
    return vfsError(err);
  }

  async #append(chunk: Buffer): Promise<void> {
    this.count(chunk.length);
    let copied = 0;
    while (copied < chunk.length) {
      const slice = await this.#freeSlice();
      const n = chunk.copy(slice.buf, this.#fill, copied);
      copied += n;
      this.#fill += n;
      if (this.#fill === slice.buf.length) this.#seal(slice, false);
    }
  }

  /** The slice being filled, once its previous write and hash are done. */
  async #freeSlice(): Promise<Slice> {
    this.#throwIfFailed();
    let slice = this.#slices[this.#current];
    if (!slice) {
      slice = { buf: this.#newSliceBuffer() };
      this.#slices[this.#current] = slice;
    } else if (slice.busy) {
      await slice.busy;
      slice.busy = undefined;
      this.#throwIfFailed();
    }
    return slice;
  }

  #newSliceBuffer(): Buffer {
    const { expectedSize } = this.setup.limits;
    // A small body announced as such takes what it needs and is hashed here: no shared memory, no worker.
    if (expectedSize !== undefined && expectedSize < SLICE_BYTES && this.#slices.length === 0) {
      return Buffer.allocUnsafeSlow(Math.max(expectedSize, 1));
    }
    return Buffer.from(new SharedArrayBuffer(SLICE_BYTES));
  }

  /** Sends the filled part of `slice` to the disk and the hash, then moves on to the next slice. */
  #seal(slice: Slice, last: boolean): void {
    const view = slice.buf.subarray(0, this.#fill);
    const position = this.#position;
    this.#position += view.length;
    this.#fill = 0;
    this.#current = (this.#current + 1) % SLICES;
    const written = this.#queueWrite(view, position);
    const hashed = this.#hash(view, last);
    slice.busy = Promise.all([written, hashed]).then(
      () => {},
      (err: unknown) => {
        this.#failure ??= err;
      },
    );
  }

  #hash(view: Buffer, last: boolean): Promise<void> | undefined {
    if (!this.#hasher) {
      // Shared memory only: a plain buffer would be copied to reach the worker.
      const shared = view.buffer instanceof SharedArrayBuffer;
      this.#hasher = last || !shared ? { kind: 'here', hash: createHash('md5') } : { kind: 'worker', job: md5Pool.start() };
    }
    if (this.#hasher.kind === 'worker') return this.#hasher.job.update(view);
    this.#hasher.hash.update(view);
    return undefined;
  }

  #queueWrite(view: Buffer, position: number): Promise<void> {
    const write = this.#writes.then(async () => {
      this.#throwIfFailed();
      await writeAllAt(this.setup.temporary.handle, view, position);
      this.#unsynced += view.length;
      if (this.setup.fsync && this.#unsynced >= WRITEBACK_BYTES && !this.#writeback) this.#startWriteback();
    });
    this.#writes = write.then(
      () => {},
      (err: unknown) => {
        this.#failure ??= vfsError(err);
      },
    );
    return write;
  }

  #startWriteback(): void {
    this.#unsynced = 0;
    // Linux reports a writeback error once per open file: one that a background sync met must still fail the upload.
    this.#writeback = this.setup.temporary.handle.datasync().then(
      () => {
        this.#writeback = undefined;
      },
      (err: unknown) => {
        this.#writeback = undefined;
        this.#failure ??= vfsError(err);
      },
    );
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #flush(): Promise<void> {
    this.#throwIfFailed();
    const slice = this.#slices[this.#current];
    if (slice && this.#fill > 0) this.#seal(slice, this.#hasher === undefined);
    await Promise.all(this.#slices.map((s) => s.busy));
    await this.#writes;
    if (this.setup.fsync) await this.#writeback;
    this.#throwIfFailed();
    if (this.setup.fsync) await this.setup.temporary.handle.sync();
    await this.#close();
  }

  async #digest(): Promise<Buffer> {
    const hasher = this.#hasher ?? { kind: 'here', hash: createHash('md5') };
    return hasher.kind === 'worker' ? hasher.job.digest() : hasher.hash.digest();
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.setup.temporary.handle.close();
  }

  #remove(): Promise<void> {
    this.#removal ??= (async () => {
      this.#failure ??= VfsErrors.writerClosed();
      if (this.#hasher?.kind === 'worker') this.#hasher.job.cancel();
      // Queued writes stop on #failure; the one in flight finishes before the descriptor closes.
      await this.#writes;
      // A failure to close or unlink leaves a temporary that the next cleanupTemporaries removes.
      await this.#close().catch(() => {});
      await ignoreMissing(unlink(this.setup.temporary.path)).catch(() => {});
      this.setup.temporary.release();
    })();
    return this.#removal;
  }
}

/** pwrite until every byte is on disk: a write may be partial (a nearly full disk). */
async function writeAllAt(handle: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position + done);
    if (bytesWritten === 0) throw VfsErrors.noSpace('The disk accepts no more bytes');
    done += bytesWritten;
  }
}
