import { isCozyError, VfsErrors, type CozyError } from '@cozy-ts/kernel';

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * Turns a file-system error into the VFS error it means, so callers see a status, not an errno. `onMissing`
 * says what a missing entry means for the operation (the content itself, or its parent directory).
 * Errors with no VFS meaning (EACCES, EIO...) are returned unchanged: they are bugs or broken disks, and the
 * HTTP edge answers them with a logged 500.
 */
export function vfsError(err: unknown, onMissing: () => CozyError = () => VfsErrors.notFound()): unknown {
  if (isCozyError(err)) return err;
  switch (errnoCode(err)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return VfsErrors.noSpace(undefined, { cause: err });
    case 'ENOENT':
      return onMissing();
    case 'ENOTDIR':
      return VfsErrors.parentNotFound('A component of the path is not a directory', { cause: err });
    case 'ELOOP':
      return VfsErrors.unsafePath(undefined, { cause: err });
    case 'EEXIST':
    case 'ENOTEMPTY':
    case 'EISDIR':
      return VfsErrors.exists(undefined, { cause: err });
    case 'ENAMETOOLONG':
      return VfsErrors.badPath('The path is too long', { cause: err });
    default:
      return err;
  }
}

/** Runs an fs call where "already absent" is success (idempotent deletions). */
export async function ignoreMissing(op: Promise<unknown>): Promise<void> {
  try {
    await op;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw vfsError(err);
  }
}
