import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { defineError } from '../errors.ts';
import type { InstanceRef } from '../instances/instance.ts';
import { defineCapability } from './capability.ts';

/**
 * The `vfs` capability: where file contents live. File and directory metadata (`io.cozy.files`) is the VFS
 * service's business and lives in the store; a backend only keeps bytes. Two layouts must fit behind it
 * (cozy-stack's `vfsafero` and `vfsswift` v3):
 * - path-addressed (`vfs-local`): the instance's folder mirrors the user's tree, a file sits at its full path;
 * - id-addressed (`vfs-swift`): an object per content version, named from the file id and a random internal
 *   id, so renames and moves never touch the content.
 * So every content operation receives the file id, the internal id of its current content AND its current full
 * path (a {@link ContentRef}); each backend uses what its layout needs and ignores the rest.
 *
 * The conformance suite in `kernel/src/testing/vfs-contract.ts` holds every backend to the rules below.
 */

/** The trash directory of every instance, as cozy-stack names it. Laid down by `initInstance`. */
export const VFS_TRASH_PATH = '/.cozy_trash';

/**
 * First-level names of an instance's tree that backends keep for themselves (cozy-stack's layout: versions,
 * thumbnails, temporaries, apps...). The VFS service MUST refuse them for user entries at the root; backends
 * refuse paths under them with `VfsErrors.badPath`.
 */
export const VFS_RESERVED_NAMES: readonly string[] = Object.freeze([
  '.cozy_versions', '.thumbs', '.cozy_tmp', '.cozy_apps', '.cozy_konnectors', '.cozy_orphans',
]);

/** One stored version of a file's content: the file id and the internal id that version was written under. */
export interface VersionRef {
  /** The `io.cozy.files` id. */
  readonly id: string;
  /** Random id of one content version (cozy-stack's `internal_vfs_id`): new for every content written. */
  readonly internalId: string;
}

/** A file's current content: its ids and its current full path in the user's tree (`/Photos/cat.jpg`). */
export interface ContentRef extends VersionRef {
  readonly path: string;
}

/** Inclusive byte range, as HTTP's `Range: bytes=start-end`; no `end` means up to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface WriteOptions {
  /** Bytes the body must have (Content-Length or `Size`); more fail at once, fewer at commit (412). */
  expectedSize?: number;
  /** The 16 raw bytes of the MD5 the body must have (decoded `Content-MD5`); checked at commit (412). */
  expectedMd5?: Uint8Array;
  /** Fail with `VfsErrors.tooLarge` (413) as soon as more bytes arrive: the caller's quota or size cap. */
  maxSize?: number;
  /**
   * Set when the content overwrites the file's current one (same id, same path, new internal id): the current
   * content is the one written under `internalId`. With `keepAsVersion` it stays readable as the version
   * `{ id, internalId }`; without, it is removed once the new one is in place.
   */
  replaces?: { internalId: string; keepAsVersion: boolean };
}

export interface ContentInfo {
  size: number;
  /** The 16 raw bytes of the content's MD5 (`io.cozy.files.md5sum` holds them in base64). */
  md5: Buffer;
  /** For an overwrite asked to keep a version: false when the replaced content was already missing. */
  versionKept: boolean;
}

export interface ContentStat {
  size: number;
  mtime: Date;
}

/**
 * Where a body goes. Pipe it in (`await pipeline(body, writer)`), then `commit()`. The bytes are counted and
 * hashed on the way to a place nobody else can see (a temporary file, an unfinished object).
 */
export interface ContentWriter extends Writable {
  /** Bytes received so far. */
  readonly bytesWritten: number;
  /**
   * Ends the stream if the caller has not, waits until every byte is durable, verifies size and MD5 against
   * the options, and only then makes the content visible, atomically. On any failure nothing is left behind and
   * the error says why (412 size or MD5, 409 exists, 507 no space...).
   */
  commit(): Promise<ContentInfo>;
  /** Drops everything written. Idempotent, and a no-op after a successful commit, so callers may call it in `finally`. */
  abort(): Promise<void>;
}

/** What a backend holds for an instance, for fsck. Temporaries are never listed. */
export type StoredEntry =
  /** A directory of the user's tree (path-addressed backends; the root itself is not listed). */
  | { kind: 'dir'; path: string }
  /** A current content, by path (path-addressed backends). */
  | { kind: 'file'; path: string; size: number; mtime: Date }
  /** An old content kept as a version (path-addressed backends keep them apart from the tree). */
  | { kind: 'version'; id: string; internalId: string; size: number; mtime: Date }
  /** Any content of an id-addressed backend: current or version, only the index can tell. */
  | { kind: 'object'; id: string; internalId: string; size: number; mtime: Date }
  | { kind: 'thumbnail'; id: string; format: string; size: number; mtime: Date };

/**
 * The content backend of the VFS. Every per-instance call takes the instance first.
 *
 * Rules (checked by the conformance suite):
 * - Names: ids MUST match {@link isValidFileId}, internal ids {@link isValidInternalId}, thumbnail formats
 *   {@link isValidThumbFormat}, paths {@link vfsPathSegments}; anything else MUST be refused before any I/O with
 *   `badId` / `badPath` (400), by every backend, even one that does not use the value. Paths are compared byte
 *   for byte: names that differ only by Unicode normalisation (NFC / NFD) or case are different entries.
 * - Isolation: a backend MUST NOT read, write or delete anything outside the instance's own area, whatever the
 *   names it is given. A path-addressed backend MUST NOT follow a symbolic link found in its area (refused with
 *   `unsafePath`, 403) and MUST keep its area's folder name derived from the instance domain only.
 * - Atomic writes: content becomes visible only through `ContentWriter.commit()`, after size and MD5 are verified;
 *   a crash, an abort, a failed body, a mismatch (412) or a full disk (507) MUST leave no partial content
 *   visible, and every temporary MUST be removable by `cleanupTemporaries` once its writer is gone.
 * - Callers MUST end every writer with `commit()` or `abort()` (until then its temporary belongs to a live writer)
 *   and MUST consume or destroy every stream they get.
 * - A commit without `replaces` MUST NOT replace existing content (`exists`, 409). With `replaces`, the file keeps
 *   its id and path; the old content is kept as a version or removed, never lost before the new one is in place.
 * - Internal ids are unique per file: a new content (write, copy) MUST use an internal id never used for that file.
 * - Reads: `read`, `readVersion`, `readThumbnail` and `stat` MUST reject `notFound` (404) when absent, before
 *   returning a stream, so an HTTP layer can still answer 404. A range with `start` past the last byte, or
 *   `end < start`, is `badRange` (416); an `end` past the last byte is clamped.
 * - Deletions (`deleteFile`, `deleteVersion`, `deleteThumbnails`, `deleteDir`, `destroyInstance`) are idempotent:
 *   deleting what is absent succeeds. `deleteFile` removes the content, every version and every thumbnail of it.
 * - Directories and paths matter only to path-addressed backends; id-addressed ones accept `createDir`,
 *   `renameDir`, `deleteDir` and `moveFile` (names still checked) and do nothing. For a path-addressed backend:
 *   `createDir` is idempotent on an existing directory and `exists` (409) on a file; a missing parent is
 *   `parentNotFound` (404); `renameDir` and `moveFile` onto an existing entry are `exists` (409), except an entry
 *   renamed onto itself under another case on a case-insensitive disk; `renameDir` into its own subtree is
 *   `forbiddenMove` (412) on every backend.
 * - Versions: the version `{ id, internalId }` is the content that was current under that internal id.
 *   `revertVersion(file, v)` makes v's content current and keeps the replaced one as the version
 *   `{ id, internalId: file.internalId }`; afterwards the caller's file has internal id `v.internalId`, and `v` is
 *   no longer a version (the caller MUST NOT delete it as one).
 * - No locking here: the VFS service serialises conflicting operations on an instance (cozy-stack's "vfs" lock);
 *   backends only guarantee that independent operations (two uploads, two instances) do not interfere.
 * - Quota is the VFS service's business (it sums sizes in the index); a backend only enforces `maxSize`,
 *   `expectedSize` and its own `maxFileSize`. An unreachable backend throws `unavailable` (503).
 */
export interface VfsContent {
  /** 'local', 'swift'... for logs and /status. */
  readonly kind: string;
  /** What `walk` reports current contents by, and what the backend uses to find them. */
  readonly addressing: 'path' | 'id';
  /** Largest content the backend can store, in bytes; null when unbounded (`tooLarge` 413 beyond). */
  readonly maxFileSize: number | null;

  /** Lays down the instance's area: the root and the trash directory. Idempotent. */
  initInstance(inst: InstanceRef): Promise<void>;
  /** Removes everything stored for the instance. Idempotent. */
  destroyInstance(inst: InstanceRef): Promise<void>;
  /** Removes temporaries left by writers that are gone (a crash); returns how many. Never touches a live writer's. */
  cleanupTemporaries(inst: InstanceRef): Promise<number>;
  /** Bytes still available to the instance's area; null when the backend cannot tell cheaply. */
  freeSpace(inst: InstanceRef): Promise<number | null>;

  createDir(inst: InstanceRef, path: string): Promise<void>;
  /** Moves a directory and everything under it; `to`'s parent must exist. */
  renameDir(inst: InstanceRef, from: string, to: string): Promise<void>;
  /** Removes a directory and whatever is left under it; the caller deletes its files first (their versions and thumbnails). */
  deleteDir(inst: InstanceRef, path: string): Promise<void>;

  /** A writer for new content of `file` (a new file, or an overwrite with `replaces`). The parent must exist. */
  createWriter(inst: InstanceRef, file: ContentRef, opts?: WriteOptions): Promise<ContentWriter>;
  read(inst: InstanceRef, file: ContentRef, range?: ByteRange): Promise<Readable>;
  stat(inst: InstanceRef, file: ContentRef): Promise<ContentStat>;
  /** Gives the current content a new path (rename, move, trash, restore); a no-op for id-addressed backends. */
  moveFile(inst: InstanceRef, file: ContentRef, toPath: string): Promise<void>;
  /** Copies the current content of `from` as the new content of `to` (a new file), server-side where possible. */
  copyFile(inst: InstanceRef, from: ContentRef, to: ContentRef): Promise<ContentInfo>;
  deleteFile(inst: InstanceRef, file: ContentRef): Promise<void>;

  readVersion(inst: InstanceRef, version: VersionRef, range?: ByteRange): Promise<Readable>;
  deleteVersion(inst: InstanceRef, version: VersionRef): Promise<void>;
  revertVersion(inst: InstanceRef, file: ContentRef, version: VersionRef): Promise<void>;

  /** A writer for a thumbnail of a file (or of a note image) in a format ('tiny', 'small'...); commit replaces the previous one. */
  createThumbnailWriter(inst: InstanceRef, fileId: string, format: string): Promise<ContentWriter>;
  readThumbnail(inst: InstanceRef, fileId: string, format: string): Promise<Readable>;
  /** Removes every format of the file's thumbnails. */
  deleteThumbnails(inst: InstanceRef, fileId: string): Promise<void>;

  /** Everything stored for the instance, in no particular order, streamed (the area may hold millions of entries). */
  walk(inst: InstanceRef): AsyncIterable<StoredEntry>;
}

export const VFS = defineCapability<VfsContent>('vfs', '1.0.0');

/** Errors of the VFS content layer; the VFS service lets them through or maps them to its own. */
export const VfsErrors = {
  notFound: defineError('COZY_ERR_VFS_NOT_FOUND', 404, 'The content does not exist'),
  parentNotFound: defineError('COZY_ERR_VFS_PARENT_NOT_FOUND', 404, 'The parent directory does not exist'),
  exists: defineError('COZY_ERR_VFS_EXISTS', 409, 'Something already exists at this place'),
  sizeMismatch: defineError('COZY_ERR_VFS_SIZE_MISMATCH', 412, 'Content length does not match'),
  md5Mismatch: defineError('COZY_ERR_VFS_MD5_MISMATCH', 412, 'Invalid hash'),
  forbiddenMove: defineError('COZY_ERR_VFS_FORBIDDEN_MOVE', 412, 'A directory cannot be moved into itself'),
  tooLarge: defineError('COZY_ERR_VFS_TOO_LARGE', 413, 'The file is too big'),
  badRange: defineError('COZY_ERR_VFS_BAD_RANGE', 416, 'Requested range not satisfiable'),
  badPath: defineError('COZY_ERR_VFS_BAD_PATH', 400, 'Invalid path'),
  badId: defineError('COZY_ERR_VFS_BAD_ID', 400, 'Invalid identifier'),
  unsafePath: defineError('COZY_ERR_VFS_UNSAFE_PATH', 403, 'The path goes through a symbolic link or leaves the instance area'),
  noSpace: defineError('COZY_ERR_VFS_NO_SPACE', 507, 'Not enough space left on the storage'),
  unavailable: defineError('COZY_ERR_VFS_UNAVAILABLE', 503, 'The file storage is unavailable'),
  writerClosed: defineError('COZY_ERR_VFS_WRITER_CLOSED', 500, 'The writer was already committed or aborted'),
} as const;

/**
 * What every backend checks at commit, before a content becomes visible: the byte count and the MD5 the caller
 * announced (412 either way). Shared so that local and remote backends refuse the same bodies with the same errors.
 */
export function checkWrittenContent(limits: Pick<WriteOptions, 'expectedSize' | 'expectedMd5'>, bytes: number, md5: Uint8Array): void {
  if (limits.expectedSize !== undefined && bytes !== limits.expectedSize) {
    throw VfsErrors.sizeMismatch(`Received ${bytes} bytes, ${limits.expectedSize} were announced`);
  }
  if (limits.expectedMd5 !== undefined && !Buffer.from(md5).equals(Buffer.from(limits.expectedMd5))) throw VfsErrors.md5Mismatch();
}

// cozy-stack ids are 32 hex chars; well-known ones (io.cozy.files.root-dir) and imported ones vary, so any
// name-safe id of at least 5 chars (the local layout splits it after 4) is accepted.
const FILE_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{3,126}[A-Za-z0-9_-]$/;
const INTERNAL_ID = /^[A-Za-z0-9_-]{1,64}$/;
// No '-': the local layout names a thumbnail `<id>-<format>.jpg` and file ids may contain dashes.
const THUMB_FORMAT = /^[a-z0-9]{1,32}$/;
const MAX_NAME_BYTES = 255;

export function isValidFileId(id: string): boolean {
  return FILE_ID.test(id) && !id.includes('..');
}

export function isValidInternalId(id: string): boolean {
  return INTERNAL_ID.test(id);
}

export function isValidThumbFormat(format: string): boolean {
  return THUMB_FORMAT.test(format);
}

/** Throws `badId` unless the file id is a safe name. */
export function checkFileId(id: string): void {
  if (!isValidFileId(id)) throw VfsErrors.badId(`Invalid file id: ${JSON.stringify(String(id).slice(0, 140))}`);
}

/** Throws `badId` unless the file id and internal id are safe names. */
export function checkVersionRef(ref: VersionRef): void {
  checkFileId(ref.id);
  if (!isValidInternalId(ref.internalId)) {
    throw VfsErrors.badId(`Invalid internal id: ${JSON.stringify(String(ref.internalId).slice(0, 80))}`);
  }
}

/** Throws `badId` unless the file id and thumbnail format are safe names. */
export function checkThumbnailRef(fileId: string, format: string): void {
  checkFileId(fileId);
  if (!isValidThumbFormat(format)) throw VfsErrors.badId(`Invalid thumbnail format: ${JSON.stringify(String(format).slice(0, 40))}`);
}

/**
 * The segments of an absolute VFS path ('/' is the root: no segment). Throws `badPath` for a relative path,
 * empty, `.` or `..` segments, a NUL byte, a segment longer than 255 bytes, or a path under a reserved name.
 */
export function vfsPathSegments(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) throw VfsErrors.badPath('A path must be absolute');
  if (path === '/') return [];
  const segments = path.slice(1).split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\0') || Buffer.byteLength(s) > MAX_NAME_BYTES) {
      throw VfsErrors.badPath(`Invalid path: ${JSON.stringify(path.slice(0, 200))}`);
    }
  }
  if (VFS_RESERVED_NAMES.includes(segments[0])) throw VfsErrors.badPath(`Reserved path: ${JSON.stringify(path.slice(0, 200))}`);
  return segments;
}

/** Checks a path that must name an entry (not the root) and returns its segments. */
export function vfsEntrySegments(path: string): string[] {
  const segments = vfsPathSegments(path);
  if (segments.length === 0) throw VfsErrors.badPath('The root cannot be used here');
  return segments;
}

const INTERNAL_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh internal id: 16 lowercase alphanumerics, as cozy-stack's `NewInternalID`. */
export function newInternalId(): string {
  const bytes = randomBytes(16);
  let id = '';
  // 256 % 36 skews the first 4 letters very slightly; irrelevant for uniqueness at 82 bits.
  for (const b of bytes) id += INTERNAL_ID_ALPHABET[b % INTERNAL_ID_ALPHABET.length];
  return id;
}
