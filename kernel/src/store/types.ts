/**
 * The document store port. Two adapters implement StoreAdapter (embedded PouchDB, CouchDB through nano);
 * the contract suite in `kernel/src/testing/store-contract.ts` holds both to the rules written here.
 *
 * Adapters work on database names (cozy-stack naming: see `db-names.ts`); the instance-aware
 * `DocumentStore` service on top of them computes names and emits doc events.
 */
export interface Doc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  [field: string]: unknown;
}

export interface NewDoc {
  _id?: string;
  _rev?: string;
  [field: string]: unknown;
}

export interface WriteResult {
  id: string;
  rev: string;
}

export interface BulkResult {
  id: string;
  rev?: string;
  /** CouchDB error name, e.g. 'conflict', 'forbidden'. */
  error?: string;
  reason?: string;
}

export interface AllDocsOptions {
  keys?: string[];
  startkey?: string;
  endkey?: string;
  /** Whether endkey is included (default true, as CouchDB). */
  inclusive_end?: boolean;
  limit?: number;
  skip?: number;
  descending?: boolean;
  include_docs?: boolean;
}

/** A found row has id and value; a requested key that does not exist has only key and error. */
export interface AllDocsRow {
  id?: string;
  key: string;
  value?: { rev: string; deleted?: boolean };
  doc?: Doc | null;
  /** Set for a requested key that does not exist (`not_found`). */
  error?: string;
}

export interface AllDocsResult {
  total_rows: number;
  offset: number;
  rows: AllDocsRow[];
}

export type SortSpec = Array<string | Record<string, 'asc' | 'desc'>>;

export interface IndexDefinition {
  fields: SortSpec;
  partial_filter_selector?: Record<string, unknown>;
}

export interface CreateIndexRequest {
  index: IndexDefinition;
  ddoc?: string;
  name?: string;
}

export interface CreateIndexResult {
  result: 'created' | 'exists';
  id: string;
  name: string;
}

export interface FindRequest {
  selector: Record<string, unknown>;
  fields?: string[];
  sort?: SortSpec;
  /** Default 25 as CouchDB when absent. */
  limit?: number;
  skip?: number;
  /** An opaque cursor from a previous FindResult; continues after its last doc. */
  bookmark?: string;
  use_index?: string | [string, string];
}

export interface FindResult {
  docs: Doc[];
  /**
   * Opaque cursor to fetch the page after this one, present on every answer (even the last page).
   * Adapters guarantee it works whatever the server: CouchDB 3's native bookmark where given, else their own.
   */
  bookmark: string;
  /** True when more docs match after this page. Adapters guarantee it even when the server returns short pages. */
  next: boolean;
  warning?: string;
}

export interface ChangesOptions {
  /** Opaque sequence from a previous ChangesResult, or 'now'. Absent = from the start. */
  since?: string;
  limit?: number;
  include_docs?: boolean;
  descending?: boolean;
  doc_ids?: string[];
}

export interface ChangeRow {
  id: string;
  /** Opaque sequence, always a string (CouchDB 3 style) whatever the server uses. */
  seq: string;
  changes: Array<{ rev: string }>;
  deleted?: boolean;
  doc?: Doc;
}

export interface ChangesResult {
  results: ChangeRow[];
  last_seq: string;
  pending: number;
}

export interface ViewQueryOptions {
  key?: unknown;
  keys?: unknown[];
  startkey?: unknown;
  endkey?: unknown;
  inclusive_end?: boolean;
  limit?: number;
  skip?: number;
  descending?: boolean;
  include_docs?: boolean;
  reduce?: boolean;
  group?: boolean;
  group_level?: number;
}

export interface ViewRow {
  id?: string;
  key: unknown;
  value: unknown;
  doc?: Doc | null;
}

export interface ViewResult {
  total_rows?: number;
  offset?: number;
  rows: ViewRow[];
}

export interface DatabaseInfo {
  db_name: string;
  doc_count: number;
  doc_del_count: number;
  update_seq: string;
}

export interface GetOptions {
  rev?: string;
  revs_info?: boolean;
  conflicts?: boolean;
}

/**
 * Rules every adapter follows (checked by the contract suite):
 * - Missing database: reads throw `StoreErrors.dbNotFound` (404, couch `not_found` / `Database does not exist.`);
 *   `put` / `bulkDocs` / `createIndex` on a missing database create it first.
 * - Missing doc: `get` throws `StoreErrors.docNotFound` (404, reason `missing`); a deleted one throws the same
 *   status with reason `deleted` when the adapter can tell (CouchDB) and `missing` otherwise.
 * - `put` with a stale or absent `_rev` for an existing doc throws `StoreErrors.conflict` (409).
 * - `put` without `_id` assigns a 32-hex-char id (CouchDB style UUIDv4 without dashes).
 * - A server that cannot be reached throws `StoreErrors.unavailable` (503), never a raw socket error.
 * - Documents come back as JSON (no adapter-specific fields besides `_id`, `_rev`, `_deleted`, `_conflicts`).
 */
export interface StoreAdapter {
  readonly kind: 'embedded' | 'couchdb';
  createDatabase(db: string): Promise<void>;
  /** Idempotent: destroying a missing database is not an error. */
  destroyDatabase(db: string): Promise<void>;
  databaseExists(db: string): Promise<boolean>;
  databaseInfo(db: string): Promise<DatabaseInfo>;
  /** Names of databases starting with `prefix` (used to destroy an instance). */
  listDatabases(prefix: string): Promise<string[]>;

  get(db: string, id: string, opts?: GetOptions): Promise<Doc>;
  put(db: string, doc: NewDoc): Promise<WriteResult>;
  delete(db: string, id: string, rev: string): Promise<WriteResult>;
  bulkDocs(db: string, docs: NewDoc[]): Promise<BulkResult[]>;
  allDocs(db: string, opts?: AllDocsOptions): Promise<AllDocsResult>;

  createIndex(db: string, req: CreateIndexRequest): Promise<CreateIndexResult>;
  find(db: string, req: FindRequest): Promise<FindResult>;
  changes(db: string, opts?: ChangesOptions): Promise<ChangesResult>;
  /** `ddoc` without the `_design/` prefix. The design doc is written with `put` like any doc. */
  queryView(db: string, ddoc: string, view: string, opts?: ViewQueryOptions): Promise<ViewResult>;

  /** Resolves when the server answers; throws StoreErrors.unavailable otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
