import type { Readable } from 'node:stream';
import { defineError } from '../errors.ts';
import type { InstanceRef } from '../instances/instance.ts';
import { defineCapability } from './capability.ts';

/**
 * The `files` capability: the VFS service. `/files`, WebDAV, import/export and sharing all go through it so they
 * see one tree, one quota, one lock per instance, the same versions and the same doc events. It owns the
 * `io.cozy.files` metadata in the store (cozy-stack's field names and semantics, so `/data`, `_find` and
 * `_changes` readers see what cozy-stack would store) and keeps content behind the `vfs` capability.
 *
 * Rules every implementation follows:
 * - Every call takes the instance first. Ids are `io.cozy.files` ids; paths are absolute (`/Photos/cat.jpg`).
 * - Tree changes (create, rename, move, trash, restore, destroy) are serialised per instance, on every process of
 *   a farm (cluster lock), so concurrent moves can never make a cycle, and two creations of one name in one
 *   directory give one success and one `nameTaken` (409), never two documents.
 * - Names are compared byte for byte: `é` in NFC and in NFD are two names; `a` and `A` too, so a case-only rename
 *   is a real rename. Refused names (`badName`, 422 as cozy-stack): empty, `.`, `..`, containing `/`, NUL, CR or
 *   LF, longer than 255 bytes, and the backend's reserved names at the root.
 * - `ifMatch` (a `_rev`) that is not the current revision fails with `revMismatch` (412) before any change.
 * - Content writes are all-or-nothing: a failed body, a size or MD5 mismatch (412), the quota (413) or a full disk
 *   (507) leave no document and no content behind; an overwrite that fails leaves the previous content current.
 * - Versions: an overwrite keeps the replaced content as an `io.cozy.files.versions` document when versioning is
 *   on (keep at most N per file, at least a minimum delay between two, as cozy-stack); versions count in quota.
 * - Trash: `trash` moves an entry under `/.cozy_trash` (suffixed on a clash) and records `restore_path`; files get
 *   `trashed: true`. `restore` puts it back at its `restore_path`, recreating missing parents, with a suffix when
 *   the name is taken. `destroy` removes for good, content and versions included; the trash dir and root cannot be
 *   trashed nor destroyed.
 * - Every document written goes through the store, so each change emits its doc event (CREATED / UPDATED /
 *   DELETED on `io.cozy.files`).
 * - Errors are the {@link FilesErrors} below; content-layer errors that have no equivalent keep their own
 *   status (`VfsErrors.unavailable` 503...).
 */

export const FILES_DOCTYPE = 'io.cozy.files';
export const FILES_VERSIONS_DOCTYPE = 'io.cozy.files.versions';
/** The root directory (path `/`), laid down on instance creation. */
export const ROOT_DIR_ID = 'io.cozy.files.root-dir';
/** The trash directory (path `/.cozy_trash`), laid down on instance creation. */
export const TRASH_DIR_ID = 'io.cozy.files.trash-dir';
export const TRASH_DIR_NAME = '.cozy_trash';

/** A `referenced_by` / `not_synchronized_on` entry. */
export interface DocReference {
  type: string;
  id: string;
}

export interface UpdatedByAppEntry {
  slug: string;
  date: string;
  version?: string;
  instance?: string;
}

/** cozy-stack's `FilesCozyMetadata`; dates are RFC 3339 strings. Apps may add their own keys (`favorite`...). */
export interface FilesCozyMetadata {
  doctypeVersion?: string;
  metadataVersion?: number;
  createdAt?: string;
  createdByApp?: string;
  createdByAppVersion?: string;
  updatedAt?: string;
  updatedByApps?: UpdatedByAppEntry[];
  sourceAccount?: string;
  sourceAccountIdentifier?: string;
  /** Instance URL where the entry was created. */
  createdOn?: string;
  /** Last time a content was uploaded. */
  uploadedAt?: string;
  uploadedBy?: { slug?: string; version?: string; oauthClient?: Record<string, string> };
  uploadedOn?: string;
  trashedAt?: string;
  favorite?: boolean;
  [key: string]: unknown;
}

interface EntryDocBase {
  _id: string;
  _rev: string;
  /** The entry's name; the root has none stored (cozy-stack omits it), read it as `''`. */
  name: string;
  /** Parent directory id; absent only on the root. */
  dir_id?: string;
  /** Set while the entry is in the trash: the path of the directory it was trashed from. */
  restore_path?: string;
  created_at: string;
  updated_at: string;
  tags?: string[];
  referenced_by?: DocReference[];
  metadata?: Record<string, unknown>;
  cozyMetadata?: FilesCozyMetadata;
  /** Store documents may carry fields this type does not name (other stacks, apps writing through /data). */
  [field: string]: unknown;
}

/** An `io.cozy.files` directory, as stored. */
export interface DirDoc extends EntryDocBase {
  type: 'directory';
  /** Full path, always stored for directories (`/`, `/Photos`, `/.cozy_trash/Old`). */
  path: string;
  not_synchronized_on?: DocReference[];
}

/** An `io.cozy.files` file, as stored. Its full path is not stored: {@link FilesService.pathOf} computes it. */
export interface RegularFileDoc extends EntryDocBase {
  type: 'file';
  /** Bytes, as a decimal string: cozy-stack serialises it so (JS numbers lose precision past 2^53). */
  size: string;
  /** Base64 of the 16 raw bytes of the content's MD5. */
  md5sum: string;
  mime: string;
  /** Derived from the mime type: image, document, audio, video, text, pdf, spreadsheet, slide, code, files... */
  class: string;
  executable: boolean;
  trashed: boolean;
  encrypted: boolean;
  /** The content version the `vfs` backend holds it under; never shown to clients. */
  internal_vfs_id: string;
}

/** Any `io.cozy.files` entry: a directory or a file. */
export type FileDoc = DirDoc | RegularFileDoc;

export function isDir(doc: FileDoc): doc is DirDoc {
  return doc.type === 'directory';
}

export function isFile(doc: FileDoc): doc is RegularFileDoc {
  return doc.type === 'file';
}

/** The size of a file in bytes (0 for a directory). */
export function fileSize(doc: FileDoc): number {
  return doc.type === 'file' ? Number(doc.size) : 0;
}

/** An old content of a file, as cozy-stack stores it in `io.cozy.files.versions` (`_id` = `<file id>/<internal id>`). */
export interface FileVersionDoc {
  _id: string;
  _rev: string;
  updated_at: string;
  size: string;
  md5sum: string;
  tags: string[];
  metadata?: Record<string, unknown>;
  cozyMetadata?: FilesCozyMetadata;
  relationships: { file: { data: { _id: string; _type: typeof FILES_DOCTYPE } } };
  [field: string]: unknown;
}

/** Who makes a change, for `cozyMetadata` (`updatedByApps`, `uploadedBy`, `createdByApp`). */
export interface FilesActor {
  /** The app or konnector slug, when the request comes from one. */
  slug?: string;
  version?: string;
  /** For OAuth clients: cozy-stack puts `{ id, kind, name }` in `uploadedBy.oauthClient`. */
  oauthClient?: Record<string, string>;
}

/** Options shared by every change. */
export interface ChangeOptions {
  /** The `_rev` the caller last saw (HTTP `If-Match`); another current revision fails with `revMismatch` (412). */
  ifMatch?: string;
  actor?: FilesActor;
}

export interface NewDirInput {
  dirId: string;
  name: string;
  createdAt?: Date;
  updatedAt?: Date;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

export interface NewFileInput {
  dirId: string;
  name: string;
  /** Bytes the body must have (Content-Length or `Size`); another count fails with `sizeMismatch` (412). */
  size?: number;
  /** The 16 raw bytes of the MD5 the body must have (decoded `Content-MD5`); else `md5Mismatch` (412). */
  md5?: Uint8Array;
  /** Guessed from the name when absent or generic (`application/octet-stream`); `class` is derived from it. */
  mime?: string;
  createdAt?: Date;
  updatedAt?: Date;
  tags?: string[];
  executable?: boolean;
  encrypted?: boolean;
  metadata?: Record<string, unknown>;
  /** Extra `cozyMetadata` keys (`sourceAccount`, `sourceAccountIdentifier`...) set on the new document. */
  cozyMetadata?: Partial<FilesCozyMetadata>;
}

/** A new content for an existing file (PUT): the id stays, the name and the place do not change. */
export type OverwriteInput = Omit<NewFileInput, 'dirId' | 'name'>;

/**
 * A change of attributes. Rename and move are `name` / `dirId`; when the target name is taken the call fails
 * with `nameTaken` (409) unless `replace` is set in {@link UpdateOptions}.
 */
export interface FilePatch {
  name?: string;
  dirId?: string;
  tags?: string[];
  updatedAt?: Date;
  executable?: boolean;
  encrypted?: boolean;
  mime?: string;
  class?: string;
  /** Merged into `metadata` (a null value removes the key). */
  metadata?: Record<string, unknown>;
  /** Merged into `cozyMetadata` (`favorite`...); a null value removes the key. */
  cozyMetadata?: Record<string, unknown>;
}

export interface UpdateOptions extends ChangeOptions {
  /**
   * When the destination name is taken by another entry: `trash` moves that entry to the trash, `destroy` removes
   * it for good (WebDAV `Overwrite: T`). A directory never replaces a file nor a file a directory unless set.
   */
  replace?: 'trash' | 'destroy';
}

export interface CopyTarget {
  /** Defaults to the source's directory. */
  dirId?: string;
  /**
   * Defaults to cozy-stack's `name (copy).ext`, numbered `name (copy) (2).ext`... while taken. A name given here
   * that is taken fails with `nameTaken` (409) unless `replace` is set.
   */
  name?: string;
}

/** A page of a directory's children, ordered as cozy-stack lists them (directories first, then by name). */
export interface DirPage {
  docs: FileDoc[];
  /** Number of children of the directory. */
  count: number;
  /** Opaque cursor for the next page; absent on the last page. */
  next?: string;
}

export interface ListOptions {
  /** Page size, 1..1000 (default 30 as cozy-stack). */
  limit?: number;
  /** A `next` from the previous page. */
  cursor?: string;
}

/** An entry met while walking a subtree, with its full path. */
export interface WalkEntry {
  doc: FileDoc;
  path: string;
  /** 0 for the starting directory's children. */
  depth: number;
}

/** A content being read. Callers MUST consume or destroy `stream`. */
export interface FileContent {
  doc: RegularFileDoc;
  stream: Readable;
  /** First and last byte sent (inclusive); the whole file unless a range was asked. */
  start: number;
  end: number;
  /** The file's total size. */
  size: number;
}

export interface DiskUsage {
  /** Bytes used: current contents plus versions (trash included), as cozy-stack counts it. */
  used: number;
  /** The instance's disk quota in bytes, null when unlimited. */
  quota: number | null;
  /** Bytes of current contents (trash included). */
  files: number;
  /** Bytes of old versions. */
  versions: number;
  /** Bytes of the files in the trash. */
  trash: number;
}

/**
 * The VFS service. Methods that read return documents as stored (see {@link FileDoc}); the HTTP shapes (JSON:API
 * for `/files`, multistatus for WebDAV) are the callers' business.
 */
export interface FilesService {
  /** Lays down the root and the trash, in the store and in the content backend. Idempotent. */
  ensureRoot(inst: InstanceRef): Promise<void>;

  /** The entry with this id; `notFound` (404) when absent. */
  stat(inst: InstanceRef, id: string): Promise<FileDoc>;
  /** The entry at this absolute path; `notFound` (404) when absent, `badPath` (400) when not absolute. */
  statByPath(inst: InstanceRef, path: string): Promise<FileDoc>;
  /** The full path of an entry (a directory's `path`; a file's parent path plus its name). */
  pathOf(inst: InstanceRef, doc: FileDoc): Promise<string>;
  /** True when `id` is `ancestorId` or lies under it (used for permissions inherited from a directory). */
  isInside(inst: InstanceRef, id: string, ancestorId: string): Promise<boolean>;

  /** A page of a directory's children; `notFound` when the directory does not exist or is a file. */
  listDir(inst: InstanceRef, dirId: string, opts?: ListOptions): Promise<DirPage>;
  /** Every child of a directory, streamed page by page, in the `listDir` order. */
  children(inst: InstanceRef, dirId: string): AsyncIterable<FileDoc>;
  /** Every entry under a directory (not the directory itself), parents before their children. */
  walk(inst: InstanceRef, dirId: string): AsyncIterable<WalkEntry>;

  createDir(inst: InstanceRef, input: NewDirInput, opts?: ChangeOptions): Promise<DirDoc>;
  /** Creates the directory at `path`; with `recursive`, missing parents too and an existing directory is returned. */
  createDirByPath(inst: InstanceRef, path: string, opts?: ChangeOptions & { recursive?: boolean }): Promise<DirDoc>;

  /**
   * Creates a file from a body stream. The document appears only once the content is complete and verified.
   * The body is consumed or destroyed in every case.
   */
  createFile(inst: InstanceRef, input: NewFileInput, body: Readable, opts?: ChangeOptions): Promise<RegularFileDoc>;
  /** Replaces a file's content, keeping its id (and the replaced content as a version when versioning is on). */
  overwriteFile(inst: InstanceRef, id: string, input: OverwriteInput, body: Readable, opts?: ChangeOptions): Promise<RegularFileDoc>;
  /** Opens a file's content, optionally a byte range (`badRange` 416 when unsatisfiable); `notFound` for a directory. */
  read(inst: InstanceRef, id: string, range?: { start: number; end?: number }): Promise<FileContent>;
  /**
   * `read` for a doc the caller just got from `statByPath`: the content where that lookup found it, without reading
   * the doc and its parent again. A file moved or replaced meanwhile reads as `notFound` or as whatever is at that
   * path now, as with cozy-stack's serving by path.
   */
  readFound(inst: InstanceRef, doc: FileDoc, range?: { start: number; end?: number }): Promise<FileContent>;

  /** Renames, moves (the lock makes a directory moved into its own subtree a `forbiddenMove` 412), retags... */
  update(inst: InstanceRef, id: string, patch: FilePatch, opts?: UpdateOptions): Promise<FileDoc>;
  /** Copies a file, or a directory with everything under it; the copy gets fresh ids and no versions. */
  copy(inst: InstanceRef, id: string, target?: CopyTarget, opts?: UpdateOptions): Promise<FileDoc>;

  /** Moves an entry into the trash; `alreadyTrashed` (400) when it is there. */
  trash(inst: InstanceRef, id: string, opts?: ChangeOptions): Promise<FileDoc>;
  /** Puts a trashed entry back; `notTrashed` (400) when it is not in the trash. */
  restore(inst: InstanceRef, id: string, opts?: ChangeOptions): Promise<FileDoc>;
  /** Removes an entry for good (a directory with everything under it), with its content and versions. */
  destroy(inst: InstanceRef, id: string, opts?: ChangeOptions): Promise<void>;
  /** Destroys everything in the trash. */
  emptyTrash(inst: InstanceRef): Promise<void>;

  /** A file's old versions, oldest first. */
  listVersions(inst: InstanceRef, fileId: string): Promise<FileVersionDoc[]>;
  /** Opens an old version's content (`versionId` = `<file id>/<internal id>`). */
  readVersion(inst: InstanceRef, versionId: string, range?: { start: number; end?: number }): Promise<{ version: FileVersionDoc; stream: Readable; start: number; end: number; size: number }>;
  /** Makes a version current again; the replaced content becomes a version. */
  revertVersion(inst: InstanceRef, versionId: string, opts?: ChangeOptions): Promise<RegularFileDoc>;
  deleteVersion(inst: InstanceRef, versionId: string): Promise<void>;
  /** Deletes every old version of every file of the instance (cozy-stack's `DELETE /files/versions`). */
  deleteAllVersions(inst: InstanceRef): Promise<void>;

  diskUsage(inst: InstanceRef): Promise<DiskUsage>;
}

export const FILES = defineCapability<FilesService>('files', '1.0.0');

/** Errors of the VFS service; details are cozy-stack's texts so clients matching on them keep working. */
export const FilesErrors = {
  notFound: defineError('COZY_ERR_FILES_NOT_FOUND', 404, 'file does not exist'),
  parentNotFound: defineError('COZY_ERR_FILES_PARENT_NOT_FOUND', 404, 'Parent directory with given DirID does not exist'),
  parentInTrash: defineError('COZY_ERR_FILES_PARENT_IN_TRASH', 404, 'Parent directory is in the trash'),
  versionNotFound: defineError('COZY_ERR_FILES_VERSION_NOT_FOUND', 404, 'Version not found'),
  nameTaken: defineError('COZY_ERR_FILES_NAME_TAKEN', 409, 'file already exists'),
  conflict: defineError('COZY_ERR_FILES_CONFLICT', 409, 'Conflict access to same file or directory'),
  revMismatch: defineError('COZY_ERR_FILES_REV_MISMATCH', 412, 'Revision does not match'),
  md5Mismatch: defineError('COZY_ERR_FILES_MD5_MISMATCH', 412, 'Invalid hash'),
  sizeMismatch: defineError('COZY_ERR_FILES_SIZE_MISMATCH', 412, 'Content length does not match'),
  forbiddenMove: defineError('COZY_ERR_FILES_FORBIDDEN_MOVE', 412, 'Forbidden document move'),
  quotaExceeded: defineError('COZY_ERR_FILES_QUOTA', 413, 'The file is too big and exceeds the disk quota'),
  maxFileSize: defineError('COZY_ERR_FILES_MAX_FILE_SIZE', 413, 'The file is too big and exceeds the filesystem maximum file size'),
  badRange: defineError('COZY_ERR_FILES_BAD_RANGE', 416, 'Requested range not satisfiable'),
  noSpace: defineError('COZY_ERR_FILES_NO_SPACE', 507, 'Not enough space left on the storage'),
  /** 422 with source `name`, as cozy-stack's `ErrIllegalFilename`. */
  badName: defineError('COZY_ERR_FILES_BAD_NAME', 422, 'Invalid filename: empty or contains an illegal character'),
  badPath: defineError('COZY_ERR_FILES_BAD_PATH', 400, 'Path should be absolute'),
  badTime: defineError('COZY_ERR_FILES_BAD_TIME', 422, 'Invalid time given'),
  badMime: defineError('COZY_ERR_FILES_BAD_MIME', 422, 'Invalid Content-Type'),
  alreadyTrashed: defineError('COZY_ERR_FILES_IN_TRASH', 400, 'File or directory is already in the trash'),
  notTrashed: defineError('COZY_ERR_FILES_NOT_IN_TRASH', 400, 'File or directory is not in the trash'),
  /** The root, the trash directory or another entry the stack keeps for itself. */
  forbidden: defineError('COZY_ERR_FILES_FORBIDDEN', 403, 'This entry cannot be changed'),
} as const;
