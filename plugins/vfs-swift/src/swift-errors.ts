import { VfsErrors, isCozyError, type CozyError } from '@cozy-ts/kernel';

/** An answer Swift gave that the caller did not expect, kept with its status for the mapping below. */
export class SwiftStatusError extends Error {
  constructor(readonly status: number, readonly method: string, readonly target: string, readonly body = '') {
    super(`Swift answered ${status} to ${method} ${target}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'SwiftStatusError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED',
]);

/**
 * Anything that went wrong talking to Swift, as a VFS error. `notFound` says what a 404 means in the caller's
 * context (a missing object is `notFound`; a missing container when writing is rather an unusable storage).
 */
export function swiftError(err: unknown, on404: () => CozyError = () => VfsErrors.notFound()): CozyError {
  if (isCozyError(err)) return err;
  if (err instanceof SwiftStatusError) {
    switch (err.status) {
      case 404: return on404();
      case 412: return VfsErrors.exists(`${err.method} ${err.target}: the object already exists`);
      case 413: return VfsErrors.tooLarge('Swift refused the object as too large');
      case 416: return VfsErrors.badRange();
      case 422: return VfsErrors.md5Mismatch('Swift computed another MD5 for the content');
      case 507: return VfsErrors.noSpace('Swift has no space left for this object');
      default:
        return VfsErrors.unavailable(err.message, { cause: err });
    }
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code && NETWORK_CODES.has(code)) return VfsErrors.unavailable(`Swift is unreachable: ${message}`, { cause: err });
  return VfsErrors.unavailable(`Swift request failed: ${message}`, { cause: err });
}
