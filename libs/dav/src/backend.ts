import type { Readable } from 'node:stream';
import type { ByteRangeSpec } from './range.ts';
import type { DeadProperty, PropPatchOp } from './properties.ts';
import type { QName } from './xml/element.ts';
import type { Xml } from './xml/write.ts';

/** What the core knows of one resource. Paths follow `paths.ts` (decoded, no trailing slash, root `/`). */
export interface DavResource {
  path: string;
  collection: boolean;
  /** Quoted entity tag (`"…"`, or `W/"…"` if only weakly comparable); absent if none. */
  etag?: string;
  lastModified?: Date;
  created?: Date;
  /** Byte length (non-collections). */
  contentLength?: number;
  contentType?: string;
  /** Shown as DAV:displayname; the last path segment when absent. */
  displayName?: string;
}

export interface WriteInput {
  /** The request body; the backend MUST consume it or destroy it. */
  body: Readable;
  /** Announced length, when the client sent Content-Length. */
  contentLength?: number;
  contentType?: string;
  /** Client-provided modification time (X-OC-Mtime), when the backend supports keeping it. */
  mtime?: Date;
  /** The resource being replaced, or null for a creation (after the core's checks). */
  existing: DavResource | null;
  /** Aborted when the client goes away: the backend MUST then leave no partial resource behind. */
  signal: AbortSignal;
}

/**
 * A tree of resources the core serves. One backend object serves one request's view (it is built per request
 * with the caller's identity), so every method is already scoped to what that caller may see.
 *
 * Rules every backend follows (the core relies on them):
 * - `stat` returns null for a missing resource; it never throws not-found.
 * - Methods that take a path throw `DavErrors.conflict` (409) when the parent collection is missing and
 *   `DavErrors.notFound` when the resource itself is; `DavErrors.insufficientStorage` (507) when over quota;
 *   `DavErrors.forbidden` (403) for what the backend refuses (reserved names, read-only resources).
 * - `delete`, `copy` and `move` are recursive for collections and carry dead properties with the resources
 *   (copy copies them, move moves them, delete drops them).
 * - The core checks locks, `If:` and conditional headers and Overwrite before calling a mutating method, and
 *   deletes an existing destination itself (through `delete`) before `copy`/`move` over it.
 */
export interface DavBackend {
  stat(path: string): Promise<DavResource | null>;
  /** The direct members of a collection. */
  members(collection: DavResource): Promise<DavResource[]>;
  /** The content of a non-collection, whole or a range (already validated against its length). */
  read(resource: DavResource, range?: ByteRangeSpec): Promise<Readable>;
  /** Creates or replaces a non-collection with the request body; returns the new state. */
  write(path: string, input: WriteInput): Promise<DavResource>;
  /** Creates an empty collection. */
  mkcol(path: string): Promise<DavResource>;
  delete(resource: DavResource): Promise<void>;
  /** `depth` 0 copies a collection without its members. */
  copy(source: DavResource, destination: string, depth: '0' | 'infinity'): Promise<void>;
  move(source: DavResource, destination: string): Promise<void>;

  /** Dead properties of a resource, in any order. */
  deadProperties(resource: DavResource): Promise<DeadProperty[]>;
  /** Applies set/remove operations in order, all or nothing. */
  patchDeadProperties(resource: DavResource, ops: PropPatchOp[]): Promise<void>;

  /**
   * Extra live properties (beyond the RFC 4918 ones the core computes from DavResource and the lock store):
   * quota, owner, CalDAV/CardDAV properties. Returns the names this backend knows for a resource; the core
   * asks `liveProperty` only for those.
   */
  liveProperties?(resource: DavResource): QName[];
  /** The value of a live property listed by `liveProperties`: XML content of the property element, or undefined if it has none here. */
  liveProperty?(resource: DavResource, name: QName): Promise<Xml | string | undefined>;
  /** Compliance classes added to the `DAV:` header of OPTIONS (`calendar-access`, `addressbook`). */
  compliance?: string[];
  /** Live properties the client may not set or remove; PROPPATCH on them answers 403. */
  isProtected?(name: QName): boolean;
}
