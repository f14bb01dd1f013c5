import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { VfsErrors, type ByteRange } from '@cozy-ts/kernel';
import { vfsError } from './fs-errors.ts';

/** Bigger than fs streams' 64 KiB default: a sixteenth of the reads, thread-pool round trips and socket writes for a download, still a bounded 1 MiB in flight. */
const READ_CHUNK = 1024 * 1024;

/**
 * Streams a regular file, or the inclusive `range` of it. Opened with O_NOFOLLOW (a link planted at the last
 * component is refused) and checked on the open descriptor, so what is checked is what is read. Every error
 * is thrown before the stream exists, so an HTTP layer can still answer 404 or 416.
 */
export async function readContent(path: string, range?: ByteRange): Promise<Readable> {
  checkRangeShape(range);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw vfsError(err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw VfsErrors.notFound();
    if (range && range.start >= st.size) throw VfsErrors.badRange(`The content has ${st.size} bytes`);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? st.size - 1, st.size - 1);
    if (end < start) {
      // An empty content: nothing to read, and a stream needs an end >= its start.
      await handle.close();
      return Readable.from([]);
    }
    // Contents are never rewritten in place (a new one is renamed over the path), so the size read on this
    // descriptor holds for the whole read. Sized reads matter for small files: an fs stream allocates a whole
    // highWaterMark per read, and 1 MiB for each 8 KiB file (plus one more to find the end) made V8 run a full
    // mark-compact every ~60 ms under a stream of small GETs, for the external memory alone.
    return handle.createReadStream({ start, end, highWaterMark: Math.min(READ_CHUNK, end - start + 1) });
  } catch (err) {
    await handle.close();
    throw vfsError(err);
  }
}

function checkRangeShape(range: ByteRange | undefined): void {
  if (!range) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw VfsErrors.badRange();
  }
}
