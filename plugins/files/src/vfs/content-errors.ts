import { FilesErrors, VfsErrors, isCozyError } from '@cozy-ts/kernel';

/**
 * Content-layer errors as the VFS service reports them: same status, the files family's code and cozy-stack's
 * texts and sources (`Content-MD5`, `Content-Length`). `quotaBound` says whether a `tooLarge` came from the quota
 * the service passed as `maxSize` rather than from the backend's own limit.
 */
export function contentError(err: unknown, quotaBound = false): unknown {
  if (!isCozyError(err)) return err;
  switch (err.code) {
    case VfsErrors.md5Mismatch.code:
      return FilesErrors.md5Mismatch(undefined, { source: { parameter: 'Content-MD5' }, cause: err });
    case VfsErrors.sizeMismatch.code:
      return FilesErrors.sizeMismatch(undefined, { source: { parameter: 'Content-Length' }, cause: err });
    case VfsErrors.tooLarge.code:
      return quotaBound ? FilesErrors.quotaExceeded(undefined, { cause: err }) : FilesErrors.maxFileSize(undefined, { cause: err });
    case VfsErrors.noSpace.code:
      return FilesErrors.noSpace(undefined, { cause: err });
    case VfsErrors.exists.code:
      return FilesErrors.nameTaken(undefined, { cause: err });
    case VfsErrors.badRange.code:
      return FilesErrors.badRange(undefined, { cause: err });
    case VfsErrors.notFound.code:
      return FilesErrors.notFound(undefined, { cause: err });
    case VfsErrors.parentNotFound.code:
      // The tree changed under an upload (its parent moved): retrying finds the new place.
      return FilesErrors.conflict(undefined, { cause: err });
    case VfsErrors.forbiddenMove.code:
      return FilesErrors.forbiddenMove(undefined, { source: { parameter: 'dir-id' }, cause: err });
    default:
      return err;
  }
}
