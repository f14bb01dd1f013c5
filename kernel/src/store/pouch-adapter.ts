/**
 * Embedded document store: one PouchDB (LevelDB) directory per database under a root folder.
 *
 * What it absorbs from PouchDB so it behaves like CouchDB 3 through the port:
 * - PouchDB creates a database on open: existence is the directory, so reads on a never-created database throw
 *   dbNotFound and do not create it.
 * - Names contain `/`: a database lives in `encodeURIComponent(name).db` (with `.` escaped as well), so the `.db`
 *   suffix tells databases from the `<dir>-mrview-<hash>` view indexes PouchDB writes beside them.
 * - Numeric seqs become strings; `pending` and `doc_del_count`, which PouchDB does not report, are counted.
 * - `_find` has no bookmark and short pages on `$gt`/`$lt` bounds (pouchdb#6263): paging goes through
 *   FindPaginator's skip path, which never trusts a short answer.
 * - pouchdb-find's `Cannot sort on field(s)` becomes noIndex; PouchDB's error objects become StoreErrors.
 * - Multi-doc reads (the docs of an index range, allDocs keys, ranges with bodies) go through pouch-batched-reads:
 *   PouchDB answers them one doc at a time, which made a 100-doc `_find` over 100,000 docs cost ~33 ms. PouchDB is
 *   handed its own leveldown through a wrapper so that those reads can batch at the LevelDB level.
 * - Docs pouchdb-find answers though CouchDB would not (a doc missing an indexed field, in an open range) are
 *   dropped by FindPaginator's selector check (find-filter.ts).
 * - Ids of new docs are generated here (32 hex, as CouchDB) instead of PouchDB's dashed UUIDs.
 * The contract suite runs unchanged against this adapter; the only tolerance it grants is the one the port's rules
 * give every adapter (a deleted doc may answer reason `missing`; PouchDB does say `deleted`).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isCozyError } from '../errors.ts';
import { toStoreError, type NotFoundMeans } from './couch-failure.ts';
import { assertDatabaseName } from './db-name-check.ts';
import { asArray, asRecord, isRecord, toPortDoc, withId, writeResult } from './doc-shape.ts';
import { FindPaginator, UNBOUNDED_FIND_LIMIT, type FindAnswer, type FindCall } from './find-cursor.ts';
import { claimRawLevel, claimableLeveldown, withBatchedReads } from './pouch-batched-reads.ts';
import { compiledViews } from './pouch-compiled-views.ts';
import { toAllDocsResult, toBulkResult, toChangesResult, toViewResult } from './result-shapes.ts';
import { StoreErrors } from './store-errors.ts';
import type {
  AllDocsOptions,
  AllDocsResult,
  BulkResult,
  ChangesOptions,
  ChangesResult,
  CreateIndexRequest,
  CreateIndexResult,
  DatabaseInfo,
  Doc,
  FindRequest,
  FindResult,
  GetOptions,
  NewDoc,
  StoreAdapter,
  ViewQueryOptions,
  ViewResult,
  WriteResult,
} from './types.ts';

/** The part of PouchDB's API this adapter uses (PouchDB ships no types; answers are narrowed where read). */
interface PouchDatabase {
  get(id: string, opts: object): Promise<unknown>;
  put(doc: object): Promise<unknown>;
  remove(id: string, rev: string): Promise<unknown>;
  bulkDocs(docs: object[]): Promise<unknown[]>;
  allDocs(opts: object): Promise<unknown>;
  createIndex(req: object): Promise<unknown>;
  find(req: object): Promise<unknown>;
  changes(opts: object): Promise<unknown>;
  query(view: string, opts: object): Promise<unknown>;
  info(): Promise<unknown>;
  destroy(): Promise<unknown>;
  close(): Promise<unknown>;
}

interface PouchConstructor {
  new (name: string, opts?: object): PouchDatabase;
  plugin(plugin: unknown): PouchConstructor;
}

const require = createRequire(import.meta.url);

/**
 * PouchDB is loaded with the first database opened, not at boot: pouchdb-node brings its HTTP client along
 * (node-fetch, tough-cookie and the public-suffix list), about a quarter of a second of CPU and some MiB that a
 * server answering /status, or a CLI command, does not need.
 */
let pouch: { PouchDB: PouchConstructor; leveldown: ReturnType<typeof claimableLeveldown> } | undefined;
function loadPouch(): NonNullable<typeof pouch> {
  pouch ??= {
    // compiledViews after pouchdb-find: it replaces pouchdb-node's query/viewCleanup with the once-compiled mapper.
    PouchDB: (require('pouchdb-node') as PouchConstructor).plugin(require('pouchdb-find')).plugin(compiledViews as never),
    // pouchdb-node's own leveldown (the one it would load itself), so that batched reads can reach the store it opens.
    leveldown: claimableLeveldown(createRequire(require.resolve('pouchdb-node'))('leveldown') as Parameters<typeof claimableLeveldown>[0]),
  };
  return pouch;
}

const DB_DIR_SUFFIX = '.db';

function directoryName(db: string): string {
  return encodeURIComponent(db).replace(/\./g, '%2E') + DB_DIR_SUFFIX;
}

function databaseOfDirectory(entry: string): string | undefined {
  if (!entry.endsWith(DB_DIR_SUFFIX)) return undefined;
  try {
    return decodeURIComponent(entry.slice(0, -DB_DIR_SUFFIX.length));
  } catch {
    return undefined;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** PouchDB errors carry `status`, `name` and `reason`/`message`; some (pouchdb-find's) carry only a message. */
function pouchError(err: unknown, notFound: NotFoundMeans, db: string): Error {
  if (isCozyError(err)) return err;
  const e = isRecord(err) ? err : {};
  const status = typeof e.status === 'number' ? e.status : 500;
  const error = typeof e.name === 'string' ? e.name : undefined;
  const reasonOf = typeof e.reason === 'string' ? e.reason : undefined;
  const reason = reasonOf ?? (typeof e.message === 'string' ? e.message : undefined);
  return toStoreError({ status, error, reason }, notFound, db, err);
}

async function guard<T>(db: string, notFound: NotFoundMeans, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw pouchError(err, notFound, db);
  }
}

/** Drops the options the caller left out: PouchDB treats a present-but-undefined option differently at times. */
function defined(opts: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined));
}

/** PouchDB's bulk errors are Error objects (`error: true`, `name`, `message`); give them CouchDB's row shape. */
function bulkRow(raw: unknown): BulkResult {
  if (raw instanceof Error) {
    const e = raw as Error & { id?: unknown };
    return toBulkResult({ id: e.id, error: e.name, reason: e.message });
  }
  return toBulkResult(raw);
}

function pouchSince(since: string | undefined): number | 'now' | undefined {
  if (since === undefined || since === 'now') return since;
  const seq = Number(since);
  if (!Number.isSafeInteger(seq) || seq < 0) throw StoreErrors.badRequest(`Invalid since: ${since}`);
  return seq;
}

interface PoolEntry {
  handle: Promise<PouchDatabase>;
  /** Operations running on the handle: it is never closed under them. */
  users: number;
  lastUsed: number;
  /** Called when `users` drops to 0 (a destroy waiting for the operations already running). */
  idle: Array<() => void>;
}

function whenIdle(entry: PoolEntry): Promise<void> {
  return entry.users === 0 ? Promise.resolve() : new Promise((resolve) => entry.idle.push(resolve));
}

/** How many databases stay open at once; each LevelDB holds ~4 file descriptors and ~50 KiB of native memory. */
export const DEFAULT_MAX_OPEN_DATABASES = 64;

export class PouchAdapter implements StoreAdapter {
  readonly kind = 'embedded' as const;
  readonly #root: string;
  readonly #maxOpen: number;
  /**
   * Open handles, least recently used first (a Map keeps insertion order and each use re-inserts). A thousand
   * instances have thousands of databases: keeping them all open would cost ~220 KiB and 16 file descriptors
   * per instance, so idle handles beyond `maxOpen` are closed and reopened on demand.
   */
  readonly #pool = new Map<string, PoolEntry>();
  /** Handles being closed: LevelDB locks its directory, so a reopen must wait for the close to finish. */
  readonly #closing = new Map<string, Promise<void>>();
  readonly #finds = new FindPaginator('never');

  constructor(opts: { path: string; maxOpenDatabases?: number }) {
    this.#root = path.resolve(opts.path);
    this.#maxOpen = Math.max(1, opts.maxOpenDatabases ?? DEFAULT_MAX_OPEN_DATABASES);
  }

  #dir(db: string): string {
    return path.join(this.#root, directoryName(db));
  }

  /** Runs `fn` on the database's handle, opening (and so creating) it if needed. */
  async #with<T>(db: string, fn: (handle: PouchDatabase) => Promise<T>): Promise<T> {
    assertDatabaseName(db);
    let entry = this.#pool.get(db);
    if (entry) {
      this.#pool.delete(db);
    } else {
      entry = { handle: this.#openNew(db), users: 0, lastUsed: 0, idle: [] };
      const opening = entry.handle;
      // A failed open must not poison the pool; a later handle for the same name must not be dropped either.
      opening.catch(() => this.#pool.get(db)?.handle === opening && this.#pool.delete(db));
    }
    this.#pool.set(db, entry);
    entry.users++;
    entry.lastUsed = Date.now();
    try {
      return await fn(await entry.handle);
    } finally {
      entry.users--;
      if (entry.users === 0) for (const resolve of entry.idle.splice(0)) resolve();
      this.#evict();
    }
  }

  /** Like #with for a database that must already exist: reads never create one. */
  async #withExisting<T>(db: string, fn: (handle: PouchDatabase) => Promise<T>): Promise<T> {
    assertDatabaseName(db);
    if (!this.#pool.has(db) && !(await isDirectory(this.#dir(db)))) throw StoreErrors.dbNotFound(db);
    return this.#with(db, fn);
  }

  /** Closes idle handles, oldest first, until at most maxOpen remain. */
  #evict(): void {
    if (this.#pool.size <= this.#maxOpen) return;
    for (const [db, entry] of this.#pool) {
      if (this.#pool.size <= this.#maxOpen) break;
      if (entry.users > 0) continue;
      this.#pool.delete(db);
      const closed = entry.handle.then((h) => h.close()).then(
        () => undefined,
        () => undefined,
      );
      this.#closing.set(db, closed);
      void closed.then(() => this.#closing.get(db) === closed && this.#closing.delete(db));
    }
  }

  async #openNew(db: string): Promise<PouchDatabase> {
    await this.#closing.get(db);
    return this.#open(db);
  }

  async #open(db: string): Promise<PouchDatabase> {
    await mkdir(this.#root, { recursive: true });
    const dir = this.#dir(db);
    const { PouchDB, leveldown } = loadPouch();
    const opened = new PouchDB(dir, { db: leveldown });
    const handle = withBatchedReads(opened, false, claimRawLevel(dir));
    // PouchDB opens lazily; asking for info makes the directory exist before anyone lists or stats it.
    await guard(db, 'db', () => handle.info());
    return handle;
  }

  /**
   * A database exists when its directory does (see above), and LevelDB sets up an empty directory on first open:
   * creating one is a mkdir, so the kernel's boot-time `createDatabase` calls open no handle and load no PouchDB.
   */
  async createDatabase(db: string): Promise<void> {
    assertDatabaseName(db);
    if (this.#pool.has(db)) return;
    await this.#closing.get(db);
    await mkdir(this.#dir(db), { recursive: true });
  }

  /**
   * The handle leaves the pool at once, so operations that come later wait (as for a close) and then open a new,
   * empty database; operations already running on it finish first. Destroying it under them closed LevelDB
   * beneath their feet: IO errors (500s) and calls that never answered.
   */
  async destroyDatabase(db: string): Promise<void> {
    assertDatabaseName(db);
    const entry = this.#pool.get(db);
    if (!entry && !(await isDirectory(this.#dir(db)))) return;
    this.#pool.delete(db);
    const previous = this.#closing.get(db);
    const destroyed = (async () => {
      await previous;
      if (entry) await whenIdle(entry);
      const handle = entry ? await entry.handle : await this.#open(db);
      // destroy() also drops the view and mango indexes PouchDB keeps in sibling directories.
      await guard(db, 'db', () => handle.destroy());
      await rm(this.#dir(db), { recursive: true, force: true });
    })();
    const settled = destroyed.then(() => undefined, () => undefined);
    this.#closing.set(db, settled);
    void settled.then(() => this.#closing.get(db) === settled && this.#closing.delete(db));
    await destroyed;
  }

  async databaseExists(db: string): Promise<boolean> {
    assertDatabaseName(db);
    return this.#pool.has(db) || isDirectory(this.#dir(db));
  }

  async databaseInfo(db: string): Promise<DatabaseInfo> {
    const info = asRecord(await this.#withExisting(db, (handle) => guard(db, 'db', () => handle.info())), 'info');
    return {
      db_name: db,
      doc_count: typeof info.doc_count === 'number' ? info.doc_count : 0,
      doc_del_count: await this.#countDeleted(db),
      update_seq: String(info.update_seq ?? 0),
    };
  }

  /** PouchDB keeps no deleted count: one pass over the changes feed (latest state per doc) gives it. */
  async #countDeleted(db: string): Promise<number> {
    const feed = await this.changes(db);
    return feed.results.filter((row) => row.deleted === true).length;
  }

  async listDatabases(prefix: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.#root);
    } catch {
      return [];
    }
    return entries
      .map(databaseOfDirectory)
      .filter((db): db is string => db !== undefined && db.startsWith(prefix))
      .sort();
  }

  async get(db: string, id: string, opts: GetOptions = {}): Promise<Doc> {
    return toPortDoc(await this.#withExisting(db, (handle) => guard(db, 'doc', () => handle.get(id, defined(opts)))));
  }

  async put(db: string, doc: NewDoc): Promise<WriteResult> {
    return writeResult(await this.#with(db, (handle) => guard(db, 'doc', () => handle.put(withId(doc)))));
  }

  async delete(db: string, id: string, rev: string): Promise<WriteResult> {
    return writeResult(await this.#withExisting(db, (handle) => guard(db, 'doc', () => handle.remove(id, rev))));
  }

  async bulkDocs(db: string, docs: NewDoc[]): Promise<BulkResult[]> {
    const rows = await this.#with(db, (handle) => guard(db, 'doc', () => handle.bulkDocs(docs.map(withId))));
    return rows.map(bulkRow);
  }

  async allDocs(db: string, opts: AllDocsOptions = {}): Promise<AllDocsResult> {
    return toAllDocsResult(await this.#withExisting(db, (handle) => guard(db, 'db', () => handle.allDocs(defined(opts)))));
  }

  async createIndex(db: string, req: CreateIndexRequest): Promise<CreateIndexResult> {
    const answer = asRecord(await this.#with(db, (handle) => guard(db, 'db', () => handle.createIndex(defined(req)))), 'createIndex');
    return {
      result: answer.result === 'exists' ? 'exists' : 'created',
      id: String(answer.id),
      name: String(answer.name),
    };
  }

  async find(db: string, req: FindRequest): Promise<FindResult> {
    return this.#withExisting(db, (handle) => this.#finds.find(req, (call) => this.#runFind(db, handle, call)));
  }

  async #runFind(db: string, handle: PouchDatabase, call: FindCall): Promise<FindAnswer> {
    // pouchdb-find defaults to 25 like CouchDB: "everything" has to be spelt out here too.
    const request = defined({ ...call, limit: call.limit ?? UNBOUNDED_FIND_LIMIT });
    const answer = asRecord(await guard(db, 'db', () => handle.find(request)), '_find');
    const docs = asArray(answer.docs, '_find').map(toPortDoc);
    return typeof answer.warning === 'string' ? { docs, warning: answer.warning } : { docs };
  }

  async changes(db: string, opts: ChangesOptions = {}): Promise<ChangesResult> {
    return this.#withExisting(db, (handle) => this.#changes(db, handle, opts));
  }

  async #changes(db: string, handle: PouchDatabase, opts: ChangesOptions): Promise<ChangesResult> {
    const feed = (since: number | 'now' | undefined, limit: number | undefined, include_docs: boolean | undefined) =>
      guard(db, 'db', () =>
        handle.changes(defined({ since, limit, include_docs, descending: opts.descending, doc_ids: opts.doc_ids })),
      );
    const raw = await feed(pouchSince(opts.since), opts.limit, opts.include_docs);
    return toChangesResult(raw, opts, async (seq) => {
      const rest = asRecord(await feed(pouchSince(seq), undefined, false), '_changes');
      return asArray(rest.results, '_changes').length;
    });
  }

  async queryView(db: string, ddoc: string, view: string, opts: ViewQueryOptions = {}): Promise<ViewResult> {
    return toViewResult(await this.#withExisting(db, (handle) => guard(db, 'doc', () => handle.query(`${ddoc}/${view}`, defined(opts)))));
  }

  /** Nothing to reach: the store is in this process. */
  async ping(): Promise<void> {}

  async close(): Promise<void> {
    const entries = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.allSettled(entries.map(async (entry) => (await entry.handle).close()));
  }
}
