import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { VfsErrors, type ByteRange } from '@cozy-ts/kernel';

/** Checks a range before any I/O: what Swift would answer 416 to, and what it would misread (fractions). */
export function rangeHeader(range?: ByteRange): string | undefined {
  if (!range) return undefined;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw VfsErrors.badRange(`Invalid range start: ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) throw VfsErrors.badRange(`Invalid range end: ${end}`);
  return `bytes=${start}-${end ?? ''}`;
}

/**
 * The body of a GET as the caller's stream: a connection lost mid-body (Swift down, a segment gone) fails it with
 * `unavailable` instead of a bare socket error, and a caller that stops reading releases the connection.
 */
export function guardedBody(res: IncomingMessage): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const fail = (err?: unknown) => {
    if (!out.destroyed) out.destroy(VfsErrors.unavailable(`The download from Swift broke off: ${err instanceof Error ? err.message : 'connection closed'}`, { cause: err }));
  };
  res.once('error', fail);
  res.once('aborted', () => fail());
  res.once('close', () => {
    if (!res.complete) fail();
  });
  out.once('close', () => {
    if (!res.complete) res.destroy();
  });
  res.pipe(out);
  return out;
}
