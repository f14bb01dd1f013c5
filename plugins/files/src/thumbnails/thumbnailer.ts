import type { ClusterPorts, Doc, DocEvent, DocEventBus, DocumentStore, InstanceRef, InstanceService, RealtimeService, VfsContent } from '@cozy-ts/kernel';
import type { Logger } from 'pino';
import { DirPaths } from '../queries/dir-paths.ts';
import { thumbSource, wantsThumbnails, type ThumbFormat } from './formats.ts';
import { MAX_SOURCE_BYTES, makePdfThumbnail, makeThumbnails, readAll } from './generator.ts';
import { PdfRenderError, PdfRenderer, type PdfRenderLimits } from './pdf-renderer.ts';
import { WorkQueue } from './work-queue.ts';

const FILES_DOCTYPE = 'io.cozy.files';
/** cozy-stack's realtime doctype for "a thumbnail is ready" (the Drive and Photos apps swap the placeholder). */
const THUMBNAILS_DOCTYPE = 'io.cozy.files.thumbnails';

export interface ThumbnailerDeps {
  store: DocumentStore;
  vfs: VfsContent;
  instances: InstanceService;
  cluster: ClusterPorts;
  log: Logger;
  realtime?: RealtimeService;
}

export interface ThumbnailerOptions {
  /** Images made at once by this process (default 1: one core at most, the server keeps the other ones). */
  concurrency?: number;
  /** Images waiting at most (default 10,000); beyond, the event is dropped and the thumbnail made when first asked. */
  maxPending?: number;
  /** Bounds of one PDF render (tests shorten them). */
  pdf?: Partial<PdfRenderLimits>;
}

/** How long a content that could not be decoded is not tried again on demand (a new content is tried at once). */
const FAILED_TTL_MS = 6 * 3600 * 1000;

function failedKey(inst: InstanceRef, fileId: string, doc: Doc): string {
  return `files:thumb-failed:${inst.prefix}:${fileId}:${String(doc.md5sum ?? '')}`;
}

/** Whether a write changed what the thumbnails are made from (cozy-stack's sameImg, plus a change of class). */
function contentChanged(doc: Doc, old: Doc): boolean {
  return doc.trashed !== old.trashed || doc.size !== old.size || doc.md5sum !== old.md5sum || doc.class !== old.class || doc.internal_vfs_id !== old.internal_vfs_id;
}

/**
 * Makes thumbnails in the background, from io.cozy.files doc events: a new image, or an image whose content
 * changed, gets its four formats; a new or changed PDF gets `tiny` (its first page), and each other format when it
 * is first asked for, as cozy-stack does; an entry that stops being thumbnailable (deleted, overwritten with
 * another kind of content) loses them. Trashed files keep theirs (the trash shows them).
 *
 * Each job re-reads the file's document, so it works on the newest content whatever the events said, and holds a
 * cluster lock per file so two processes never write one file's thumbnails at once. Jobs run in a bounded
 * {@link WorkQueue}, or, when the jobs plugin is there ({@link Thumbnailer.useJobs}), as `thumbnail` jobs it runs
 * (retried on failure, visible in io.cozy.jobs) through {@link Thumbnailer.runJob}. Doc events are per process, so
 * each process queues the thumbnails of the writes it served.
 */
export class Thumbnailer {
  readonly #queue: WorkQueue;
  readonly #pdf: PdfRenderer;
  #off: (() => void) | undefined;
  #queueJob: ((inst: InstanceRef, fileId: string, format?: ThumbFormat) => Promise<unknown>) | undefined;

  constructor(
    private readonly deps: ThumbnailerDeps,
    opts: ThumbnailerOptions = {},
  ) {
    this.#queue = new WorkQueue({
      concurrency: Math.max(1, opts.concurrency ?? 1),
      maxPending: Math.max(1, opts.maxPending ?? 10_000),
      onError: (err, key) => deps.log.warn({ err, key }, 'thumbnail job failed'),
      onDrop: (key) => deps.log.warn({ key }, 'thumbnail queue full: dropped, it will be made when asked'),
    });
    this.#pdf = new PdfRenderer(opts.pdf);
  }

  /**
   * From now on, work goes to `queueJob` (a `thumbnail` job) instead of the in-process queue. `format` is set when
   * one format of a PDF was asked for (cozy-stack's ImageMessage.Format).
   */
  useJobs(queueJob: (inst: InstanceRef, fileId: string, format?: ThumbFormat) => Promise<unknown>): void {
    this.#queueJob = queueJob;
  }

  /** Follows the doc events. Idempotent. */
  start(events: DocEventBus): void {
    this.#off ??= events.on((e) => this.onEvent(e));
  }

  /** Stops following events, drops waiting jobs, waits for the running ones and ends the PDF worker. Idempotent. */
  async stop(): Promise<void> {
    this.#off?.();
    this.#off = undefined;
    await this.#queue.stop();
    await this.#pdf.close();
  }

  /** Resolves once no job waits nor runs (tests, graceful stops). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  onEvent(e: DocEvent): void {
    if (e.doctype !== FILES_DOCTYPE) return;
    const old = e.old;
    if (e.verb === 'DELETED') {
      if (old && thumbSource(old)) this.#push(e.domain, e.doc._id);
      return;
    }
    const doc = e.doc;
    if (doc.type !== 'file' || doc.trashed === true) return;
    const had = old !== undefined && thumbSource(old) !== undefined;
    if (wantsThumbnails(doc)) {
      if (!old || contentChanged(doc, old)) this.#push(e.domain, doc._id);
    } else if (had) {
      this.#push(e.domain, doc._id);
    }
  }

  /**
   * Asks for a file's thumbnails (a link to `format` was followed and none was there): all four of an image, the
   * asked one of a PDF. False when not queued (the queue is full, or this very content failed to decode lately: a
   * page showing a broken file must not make the server decode it again on every view).
   */
  async request(inst: InstanceRef, doc: Doc, format?: ThumbFormat): Promise<boolean> {
    if (await this.deps.cluster.cache.get(failedKey(inst, doc._id, doc))) return false;
    return this.#push(inst.domain, doc._id, thumbSource(doc) === 'pdf' ? format : undefined);
  }

  #push(domain: string, fileId: string, format?: ThumbFormat): boolean {
    const queueJob = this.#queueJob;
    if (queueJob) {
      void (async () => {
        const inst = await this.#instance(domain);
        if (inst) await queueJob(inst, fileId, format);
      })().catch((err: unknown) => this.deps.log.warn({ err, domain, fileId }, 'queuing a thumbnail job failed'));
      return true;
    }
    return this.#queue.push(`${domain}\n${fileId}\n${format ?? '*'}`, () => this.#job(domain, fileId, format));
  }

  async #instance(domain: string): Promise<InstanceRef | null> {
    try {
      return await this.deps.instances.get(domain);
    } catch (err) {
      // The instance went away since the event: nothing to make.
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  async #job(domain: string, fileId: string, format?: ThumbFormat): Promise<void> {
    const inst = await this.#instance(domain);
    if (inst) await this.runJob(inst, fileId, format);
  }

  /** One file's work, under the per-file cluster lock: the body of a `thumbnail` job and of an in-process one. */
  async runJob(inst: InstanceRef, fileId: string, format?: ThumbFormat): Promise<void> {
    await this.deps.cluster.locks.withLock(`files:thumbnails:${inst.prefix}:${fileId}`, { ttlMs: 60_000, waitMs: 60_000 }, () => this.sync(inst, fileId, format));
  }

  /**
   * Brings a file's thumbnails in line with its current document: an image's four formats; for a PDF, `format`
   * when it is missing, else (a new content) the stale ones removed and `tiny` made.
   */
  async sync(inst: InstanceRef, fileId: string, format?: ThumbFormat): Promise<void> {
    const doc = await this.#current(inst, fileId);
    if (!doc || doc.type !== 'file') {
      await this.deps.vfs.deleteThumbnails(inst, fileId);
      return;
    }
    if (doc.trashed === true) return;
    if (!wantsThumbnails(doc)) {
      await this.deps.vfs.deleteThumbnails(inst, fileId);
      return;
    }
    const path = await new DirPaths(this.deps.store, inst).pathOf(doc);
    if (path === null || typeof doc.internal_vfs_id !== 'string') return;
    const isPdf = thumbSource(doc) === 'pdf';
    if (isPdf && format !== undefined && (await this.#has(inst, fileId, format))) return;
    const source = await this.deps.vfs.read(inst, { id: fileId, internalId: doc.internal_vfs_id, path });
    const made: string[] = [];
    const write = async (f: ThumbFormat, jpeg: Buffer) => {
      const writer = await this.deps.vfs.createThumbnailWriter(inst, fileId, f);
      try {
        writer.end(jpeg);
        await writer.commit();
      } finally {
        await writer.abort();
      }
      made.push(f);
    };
    try {
      if (isPdf) {
        const pdf = await readAll(source, MAX_SOURCE_BYTES);
        // A new content: the formats made on demand from the previous one must not outlive it.
        if (format === undefined) await this.deps.vfs.deleteThumbnails(inst, fileId);
        const f = format ?? 'tiny';
        await write(f, await makePdfThumbnail(this.#pdf, pdf, f));
      } else {
        await makeThumbnails(source, write);
      }
    } catch (err) {
      // Not a file that can be read (a corrupt upload, an unsupported variant, a PDF beyond the time or memory
      // bounds): no thumbnails, rather than stale ones of a previous content. The placeholder stays.
      // I/O errors, and a PDF renderer that is stopped or cannot start, say nothing about the file: the job fails
      // (and is retried by the jobs plugin) instead.
      if ((err as { status?: number }).status !== undefined || (err instanceof PdfRenderError && err.retryable)) throw err;
      this.deps.log.info({ err, fileId, domain: inst.domain }, 'no thumbnail: the file cannot be decoded');
      // One more format of a PDF that failed (a larger render over the time bound) leaves the ones already made.
      if (!(isPdf && format !== undefined)) await this.deps.vfs.deleteThumbnails(inst, fileId);
      await this.deps.cluster.cache.set(failedKey(inst, fileId, doc), true, FAILED_TTL_MS);
      return;
    }
    // Deleted while being made: what was just written belongs to nobody.
    if (!(await this.#current(inst, fileId))) {
      await this.deps.vfs.deleteThumbnails(inst, fileId);
      return;
    }
    for (const format of made) {
      void this.deps.realtime?.publish(inst, { verb: 'CREATED', doctype: THUMBNAILS_DOCTYPE, doc: { _id: fileId, format } }).catch(() => undefined);
    }
  }

  async #has(inst: InstanceRef, fileId: string, format: ThumbFormat): Promise<boolean> {
    try {
      (await this.deps.vfs.readThumbnail(inst, fileId, format)).destroy();
      return true;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw err;
    }
  }

  async #current(inst: InstanceRef, fileId: string): Promise<Doc | null> {
    try {
      return await this.deps.store.get(inst, FILES_DOCTYPE, fileId);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }
}
