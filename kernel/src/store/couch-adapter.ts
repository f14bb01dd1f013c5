/**
 * CouchDB 3 document store, through nano.
 *
 * Written for CouchDB 3 and tested against pouchdb-server (express-pouchdb 4.2 on PouchDB 9); it absorbs these
 * differences without relying on any of them:
 * - pouchdb-server's `_find` gives no bookmark and short pages on `$gt`/`$lt` bounds: FindPaginator detects a
 *   server without bookmarks on its first answer and then pages with its own skip cursors (`cozy-skip:` prefix),
 *   never trusting a short answer. With CouchDB's bookmarks it tops up short pages and probes for `next`.
 * - Its seqs are integers (stringified here) and it reports no `pending` or `doc_del_count` (counted here).
 * - It answers a missing database with reason `no_db_file` instead of `Database does not exist.`, and a sort without
 *   index with 400 `bad_request` + pouchdb-find's message instead of `no_usable_index`: both are mapped.
 * - It assigns dashed UUIDs to POSTed docs: ids are generated here and every write is a PUT.
 * - It dies on `_changes?filter=_selector`: never sent (doc_ids use `filter=_doc_ids`, which both servers have).
 * - `_all_dbs` may ignore startkey/endkey: the prefix is filtered here as well.
 * Tolerated, per the port's rules, by the contract suite: a deleted doc answers reason `missing` instead of `deleted`.
 * Not absorbed here: stock pouchdb-server strips `/` from database names (sanitize-filename); the test server
 * (`kernel/test/helpers/couch-server.cjs`) keeps names intact, as CouchDB does.
 */
import nano from 'nano';
import { isCozyError } from '../errors.ts';
import { isStoreError, toStoreError, type NotFoundMeans } from './couch-failure.ts';
import { assertDatabaseName } from './db-name-check.ts';
import { asArray, asRecord, isRecord, toPortDoc, withId, writeResult } from './doc-shape.ts';
import { FindPaginator, UNBOUNDED_FIND_LIMIT, type FindAnswer, type FindCall } from './find-cursor.ts';
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

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** nano forwards `signal` to fetch but does not declare it. */
interface TimedRequest extends nano.RequestOptions {
  signal: AbortSignal;
}

interface CouchRequest {
  method?: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Database name, unencoded: nano escapes it, `/` included (`%2F`). */
  db?: string;
  /** Already-encoded path below the database (or the server root). */
  path?: string;
  qs?: Record<string, unknown>;
  body?: unknown;
}

/** Design and local docs keep their literal `_design/` prefix in URLs; every other id is escaped whole. */
function docPath(id: string): string {
  const special = /^(_design|_local)\/(.+)$/.exec(id);
  return special ? `${special[1]}/${encodeURIComponent(special[2])}` : encodeURIComponent(id);
}

/** Leaves out absent options: nano would send them as the string "undefined". */
function query(opts: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(opts).filter(([, value]) => value !== undefined));
}

/** nano rejects HTTP errors with `statusCode` + CouchDB's body, and socket errors (refused, timeout) without one. */
function couchError(err: unknown, notFound: NotFoundMeans, db: string): Error {
  if (isCozyError(err)) return err;
  const e = isRecord(err) ? err : {};
  if (typeof e.statusCode !== 'number') return StoreErrors.unavailable(err);
  const error = typeof e.error === 'string' ? e.error : undefined;
  const reason = typeof e.reason === 'string' ? e.reason : undefined;
  return toStoreError({ status: e.statusCode, error, reason }, notFound, db, err);
}

export class CouchAdapter implements StoreAdapter {
  readonly kind = 'couchdb' as const;
  readonly #server: nano.ServerScope;
  readonly #timeoutMs: number;
  readonly #finds = new FindPaginator('detect');

  constructor(opts: { url: string; requestTimeoutMs?: number }) {
    // parseUrl: false (honoured, though undeclared), or nano would take the last path segment of a proxied URL
    // for a database name.
    const config: nano.Configuration & { parseUrl: boolean } = { url: opts.url, parseUrl: false };
    this.#server = nano(config);
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  async #request(req: CouchRequest, notFound: NotFoundMeans): Promise<unknown> {
    const timed: TimedRequest = {
      method: req.method ?? 'GET',
      db: req.db,
      path: req.path,
      qs: req.qs === undefined ? undefined : query(req.qs),
      body: req.body,
      signal: AbortSignal.timeout(this.#timeoutMs),
    };
    try {
      return await this.#server.request(timed);
    } catch (err) {
      throw couchError(err, notFound, req.db ?? '');
    }
  }

  /** Writes create a missing database first, as the port's rules say, then try once more. */
  async #write<T>(db: string, write: () => Promise<T>): Promise<T> {
    assertDatabaseName(db);
    try {
      return await write();
    } catch (err) {
      if (!isStoreError(err, 'dbNotFound')) throw err;
      await this.createDatabase(db);
      return write();
    }
  }

  async createDatabase(db: string): Promise<void> {
    assertDatabaseName(db);
    try {
      await this.#request({ method: 'PUT', db }, 'db');
    } catch (err) {
      // 412 file_exists: someone created it first, which is what was asked.
      if (!isStoreError(err, 'conflict')) throw err;
    }
  }

  async destroyDatabase(db: string): Promise<void> {
    assertDatabaseName(db);
    try {
      await this.#request({ method: 'DELETE', db }, 'db');
    } catch (err) {
      if (!isStoreError(err, 'dbNotFound')) throw err;
    }
  }

  async databaseExists(db: string): Promise<boolean> {
    assertDatabaseName(db);
    try {
      await this.#request({ method: 'HEAD', db }, 'db');
      return true;
    } catch (err) {
      if (isStoreError(err, 'dbNotFound')) return false;
      throw err;
    }
  }

  async databaseInfo(db: string): Promise<DatabaseInfo> {
    assertDatabaseName(db);
    const info = asRecord(await this.#request({ db }, 'db'), 'database info');
    return {
      // pouchdb-server reports a sanitised name; the caller's is the right one.
      db_name: db,
      doc_count: typeof info.doc_count === 'number' ? info.doc_count : 0,
      doc_del_count: typeof info.doc_del_count === 'number' ? info.doc_del_count : await this.#countDeleted(db),
      update_seq: String(info.update_seq ?? '0'),
    };
  }

  async #countDeleted(db: string): Promise<number> {
    const feed = await this.changes(db);
    return feed.results.filter((row) => row.deleted === true).length;
  }

  async listDatabases(prefix: string): Promise<string[]> {
    const raw = await this.#request({ path: '_all_dbs', qs: { startkey: prefix, endkey: `${prefix}\ufff0` } }, 'db');
    return asArray(raw, '_all_dbs')
      .filter((name): name is string => typeof name === 'string' && name.startsWith(prefix))
      .sort();
  }

  async get(db: string, id: string, opts: GetOptions = {}): Promise<Doc> {
    assertDatabaseName(db);
    return toPortDoc(await this.#request({ db, path: docPath(id), qs: { ...opts } }, 'doc'));
  }

  async put(db: string, doc: NewDoc): Promise<WriteResult> {
    const full = withId(doc);
    const put = () => this.#request({ method: 'PUT', db, path: docPath(full._id), body: full }, 'doc');
    return writeResult(await this.#write(db, put));
  }

  async delete(db: string, id: string, rev: string): Promise<WriteResult> {
    assertDatabaseName(db);
    return writeResult(await this.#request({ method: 'DELETE', db, path: docPath(id), qs: { rev } }, 'doc'));
  }

  async bulkDocs(db: string, docs: NewDoc[]): Promise<BulkResult[]> {
    const body = { docs: docs.map(withId) };
    const rows = await this.#write(db, () => this.#request({ method: 'POST', db, path: '_bulk_docs', body }, 'db'));
    return asArray(rows, '_bulk_docs').map(toBulkResult);
  }

  async allDocs(db: string, opts: AllDocsOptions = {}): Promise<AllDocsResult> {
    assertDatabaseName(db);
    const { keys, ...qs } = opts;
    const raw =
      keys === undefined
        ? await this.#request({ db, path: '_all_docs', qs }, 'db')
        : await this.#request({ method: 'POST', db, path: '_all_docs', qs, body: { keys } }, 'db');
    return toAllDocsResult(raw);
  }

  async createIndex(db: string, req: CreateIndexRequest): Promise<CreateIndexResult> {
    const body = { ...req, type: 'json' };
    const raw = await this.#write(db, () => this.#request({ method: 'POST', db, path: '_index', body }, 'db'));
    const answer = asRecord(raw, '_index');
    return {
      result: answer.result === 'exists' ? 'exists' : 'created',
      id: String(answer.id),
      name: String(answer.name),
    };
  }

  async find(db: string, req: FindRequest): Promise<FindResult> {
    assertDatabaseName(db);
    return this.#finds.find(req, (call) => this.#runFind(db, call));
  }

  async #runFind(db: string, call: FindCall): Promise<FindAnswer> {
    // An absent limit means 25 on CouchDB: "everything" has to be spelt out.
    const body = { ...call, limit: call.limit ?? UNBOUNDED_FIND_LIMIT };
    const answer = asRecord(await this.#request({ method: 'POST', db, path: '_find', body }, 'db'), '_find');
    const found: FindAnswer = { docs: asArray(answer.docs, '_find').map(toPortDoc) };
    if (typeof answer.bookmark === 'string') found.bookmark = answer.bookmark;
    if (typeof answer.warning === 'string') found.warning = answer.warning;
    return found;
  }

  async changes(db: string, opts: ChangesOptions = {}): Promise<ChangesResult> {
    assertDatabaseName(db);
    const raw = await this.#changesFeed(db, opts);
    return toChangesResult(raw, opts, async (seq) => {
      const rest = asRecord(await this.#changesFeed(db, { doc_ids: opts.doc_ids, since: seq }), '_changes');
      return asArray(rest.results, '_changes').length;
    });
  }

  #changesFeed(db: string, opts: ChangesOptions): Promise<unknown> {
    const { doc_ids, ...qs } = opts;
    if (doc_ids === undefined) return this.#request({ db, path: '_changes', qs }, 'db');
    const filtered = { ...qs, filter: '_doc_ids' };
    return this.#request({ method: 'POST', db, path: '_changes', qs: filtered, body: { doc_ids } }, 'db');
  }

  async queryView(db: string, ddoc: string, view: string, opts: ViewQueryOptions = {}): Promise<ViewResult> {
    assertDatabaseName(db);
    const path = `_design/${encodeURIComponent(ddoc)}/_view/${encodeURIComponent(view)}`;
    const { keys, ...qs } = opts;
    const raw =
      keys === undefined
        ? await this.#request({ db, path, qs }, 'doc')
        : await this.#request({ method: 'POST', db, path, qs, body: { keys } }, 'doc');
    return toViewResult(raw);
  }

  async ping(): Promise<void> {
    await this.#request({ path: '' }, 'db');
  }

  /** nano holds no connection of its own (fetch's pool is shared and idle sockets close by themselves). */
  async close(): Promise<void> {}
}
