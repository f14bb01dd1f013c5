import { KernelErrors, type JobsService } from '@cozy-ts/kernel';
import { isThumbFormat, type ThumbFormat } from './thumbnails/formats.ts';
import type { Thumbnailer } from './thumbnails/thumbnailer.ts';
import type { VfsService } from './vfs/vfs-service.ts';

/** cozy-stack's worker names (docs/workers.md). */
export const THUMBNAIL_WORKER = 'thumbnail';
export const TRASH_FILES_WORKER = 'trash-files';

/** A `thumbnail` job's message: the file whose thumbnails are brought in line with its current document. */
export interface ThumbnailMessage {
  file_id: string;
  /** One format of a PDF asked for by a followed link (cozy-stack's ImageMessage.Format); absent: the file's whole set. */
  format?: ThumbFormat;
}

function fileIdOf(message: unknown): string {
  const id = (message as { file_id?: unknown } | null | undefined)?.file_id;
  if (typeof id !== 'string' || id === '') throw KernelErrors.badRequest('A thumbnail job needs a file_id');
  return id;
}

function formatOf(message: unknown): ThumbFormat | undefined {
  const format = (message as { format?: unknown } | null | undefined)?.format;
  if (format === undefined) return undefined;
  if (typeof format !== 'string' || !isThumbFormat(format)) throw KernelErrors.badRequest('invalid format');
  return format;
}

/**
 * Moves the thumbnails and the trash purge onto the jobs plugin: registers cozy-stack's two workers (both
 * reserved, as in cozy-stack: only the stack and the CLI queue them) and points the thumbnailer and the VFS
 * service at them. Called during register(), when the jobs capability is there.
 */
export function registerFilesWorkers(jobs: JobsService, deps: { thumbnailer: Thumbnailer; service: VfsService; thumbnailConcurrency?: number }): void {
  // cozy-stack: 2 tries, 30 s each. A job re-reads the file, so a retry works on the newest content.
  jobs.registerWorker(THUMBNAIL_WORKER, {
    concurrency: Math.max(1, deps.thumbnailConcurrency ?? 1),
    maxExecCount: 2,
    timeout: 30,
    reserved: true,
    run: ({ instance, job }) => deps.thumbnailer.runJob(instance, fileIdOf(job.message), formatOf(job.message)),
  });
  // cozy-stack: 2 tries, up to 2 hours. The job empties the whole trash as it is when it runs (entries are
  // destroyed one by one, content and document together), so a retry picks up what the first try left.
  jobs.registerWorker(TRASH_FILES_WORKER, {
    concurrency: 1,
    maxExecCount: 2,
    timeout: 7200,
    maxTimeout: 7200,
    reserved: true,
    run: ({ instance }) => deps.service.emptyTrash(instance),
  });
  deps.thumbnailer.useJobs((inst, fileId, format) => jobs.push(inst, {
    worker: THUMBNAIL_WORKER, message: (format ? { file_id: fileId, format } : { file_id: fileId }) satisfies ThumbnailMessage,
  }));
  deps.service.useTrashJobs((inst) => jobs.push(inst, { worker: TRASH_FILES_WORKER, message: {} }));
}
