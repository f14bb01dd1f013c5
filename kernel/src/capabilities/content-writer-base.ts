import { Writable, type WritableOptions } from 'node:stream';
import { finished } from 'node:stream/promises';
import { VfsErrors, checkWrittenContent, type ContentInfo, type ContentWriter, type WriteOptions } from './vfs.ts';

export type ContentWriterState = 'open' | 'committing' | 'committed' | 'failed' | 'aborted';

/**
 * The part of a `vfs` writer that does not depend on where the bytes go, so every backend keeps the same promises:
 * a chunk past `maxSize` or the announced size fails at once; `commit()` waits for the last byte, checks size and
 * MD5 before anything becomes visible, and on any failure discards what was written; `abort()` and a destroy
 * discard it too, except while a commit owns it. A backend stores the bytes (`_write`, `_final`) and says how to
 * digest, place and discard them.
 */
export abstract class ContentWriterBase extends Writable implements ContentWriter {
  #bytes = 0;
  #state: ContentWriterState = 'open';
  #error: unknown;

  protected constructor(
    protected readonly limits: Pick<WriteOptions, 'expectedSize' | 'expectedMd5' | 'maxSize'>,
    options?: WritableOptions,
  ) {
    super(options);
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  protected get state(): ContentWriterState {
    return this.#state;
  }

  /** The MD5 of every byte written, once `_final` has run. */
  protected abstract digest(): Promise<Buffer>;
  /** Makes the verified content visible; resolves whether a replaced content was kept as a version. */
  protected abstract place(md5: Buffer): Promise<boolean>;
  /** Runs once the content is visible (temporaries handed over, bookkeeping dropped). */
  protected abstract committed(): void;
  /** Removes whatever was written; safe to call more than once. */
  protected abstract discard(): Promise<void>;
  /** The error a failed commit is reported with (the backend's mapping of its own failures). */
  protected abstract failure(err: unknown): unknown;

  /** Counts a chunk before it is stored: a body over its limits stops at its first byte too many. */
  protected count(length: number): void {
    const size = this.#bytes + length;
    const { maxSize, expectedSize } = this.limits;
    if (maxSize !== undefined && size > maxSize) throw VfsErrors.tooLarge(`The file is larger than ${maxSize} bytes`);
    if (expectedSize !== undefined && size > expectedSize) {
      throw VfsErrors.sizeMismatch(`The body is longer than the announced ${expectedSize} bytes`);
    }
    this.#bytes = size;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.#error ??= error;
    // Destroyed after 'finish' (autoDestroy): what was written waits for commit(). Otherwise it is garbage.
    if (!error && this.writableFinished) return callback(null);
    this.discard().then(() => callback(error), () => callback(error));
  }

  async commit(): Promise<ContentInfo> {
    if (this.#state !== 'open') throw VfsErrors.writerClosed();
    this.#state = 'committing';
    try {
      await this.#ended();
      const md5 = await this.digest();
      checkWrittenContent(this.limits, this.#bytes, md5);
      const versionKept = await this.place(md5);
      this.#state = 'committed';
      this.committed();
      return { size: this.#bytes, md5, versionKept };
    } catch (err) {
      this.#state = 'failed';
      await this.discard();
      throw this.failure(err);
    }
  }

  async abort(): Promise<void> {
    // During a commit the commit owns what was written (it discards it if it fails).
    if (this.#state === 'committed' || this.#state === 'committing') return;
    this.#state = 'aborted';
    if (!this.destroyed) this.destroy();
    await this.discard();
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
}
