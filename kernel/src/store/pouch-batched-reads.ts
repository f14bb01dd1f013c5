/**
 * Faster multi-document reads for PouchDB's LevelDB adapter, with the answers it gave before.
 *
 * Why: pouchdb-find reads an index range, then loads the matching docs with `allDocs({keys, include_docs})`. The
 * LevelDB adapter answers that with one sorted-range iterator per key (open, seek, read, close: ~170 µs each), and
 * answers a range read with `include_docs` by fetching each body one after the other inside its stream. Over 100,000
 * docs, a 100-doc `_find` spent 18 of its 33 ms in the first and 5 in the second (profiled with --cpu-prof).
 *
 * What: the handle's `_allDocs` (the adapter method PouchDB's own `allDocs` calls after parsing its options, so
 * limit/skip/descending on keys and every option check stay PouchDB's) is wrapped:
 * - keys: each key is one point read (`_get`), all in flight at once; a key that is missing, deleted or otherwise
 *   not a plain live doc goes through PouchDB's own per-key path, so not_found and deleted rows are its rows;
 * - a range with `include_docs`: the range is read without bodies, then each row's body is read at the exact
 *   revision the range saw (so a doc updated meanwhile is not returned at its newer revision, and a row is never
 *   answered twice); if any of those reads fails (a revision compacted away meanwhile), the range is read again
 *   PouchDB's own way.
 * Options this does not reproduce (conflicts, attachments, update_seq on keys) leave the call to PouchDB untouched.
 * The view databases PouchDB keeps beside a database (one per index) get the same wrapper, since an index range is
 * read from one of them; a pouchdb-find index's rows carry no value, so their bodies are not read at all (see
 * `bodiless`). The keys path reads the docs in two LevelDB `getMany` calls when the handle's store is at hand
 * (see RawLevel). With all three, the 100-doc `_find` costs ~10 ms of CPU instead of ~33.
 *
 * This reaches into two adapter-level methods (`_allDocs`, `_get`) whose shape has not changed since PouchDB 6;
 * the store contract suite runs through them (allDocs keys with missing and deleted rows, ranges, every `_find`).
 */

type Callback<T> = (err: unknown, result?: T) => void;
type Options = Record<string, unknown>;
type StoredDoc = Record<string, unknown> & { _id: string; _rev: string };

interface RangeRow {
  id?: string;
  key: unknown;
  value?: { rev: string; deleted?: boolean };
  doc?: StoredDoc | null;
  error?: string;
}

interface RangeAnswer {
  total_rows: number;
  offset: number;
  rows: RangeRow[];
  update_seq?: unknown;
}

/** The adapter-level surface of a PouchDB LevelDB handle used here. */
export interface LevelHandle {
  _allDocs(opts: Options, callback: Callback<RangeAnswer>): unknown;
  _get(id: string, opts: Options, callback: Callback<{ doc: StoredDoc }>): void;
  get(id: string): Promise<unknown>;
  registerDependentDatabase(name: string): Promise<{ db: LevelHandle }>;
}

/**
 * The LevelDB store under a handle, for one thing only: reading many docs in two native calls (`getMany`) instead
 * of two per doc (~20 µs of main-thread time each). It reads PouchDB's own layout, a persisted format PouchDB cannot
 * change without a migration: `\xffdocument-store\xff<id>` holds the doc's metadata (with `winningRev` and
 * `deleted` cached since PouchDB 6), `\xffby-sequence\xff<seq, 16 digits>` the body of each revision. Anything
 * unexpected (no cached winner, a deleted doc, a body of another id or revision, an error) sends that doc through
 * PouchDB's own read. The two calls take no PouchDB read lock: a write between them leaves the metadata pointing at
 * the previous body, which a database without auto-compaction (these) keeps, so the answer is the doc as it was.
 */
export interface RawLevel {
  readonly location?: string;
  getMany(keys: string[], opts: { asBuffer: false }, callback: (err: unknown, values?: Array<string | undefined>) => void): void;
}

type LeveldownFactory = (location: string) => RawLevel;
let lastOpened: RawLevel | undefined;

/**
 * Wraps PouchDB's leveldown constructor (passed as the `db` option) so the store it opens can be claimed right after
 * `new PouchDB(...)` with `claimRawLevel`. PouchDB keys its open stores by this function's name.
 */
export function claimableLeveldown(leveldown: LeveldownFactory): LeveldownFactory {
  return function cozyLeveldown(location: string): RawLevel {
    lastOpened = leveldown(location);
    return lastOpened;
  };
}

/** The store `claimableLeveldown` opened last, if it is the one at `location`; forgotten once claimed. */
export function claimRawLevel(location: string): RawLevel | undefined {
  const raw = lastOpened;
  lastOpened = undefined;
  return raw?.location === location ? raw : undefined;
}

const DOC_KEY = '\xffdocument-store\xff';
const SEQ_KEY = '\xffby-sequence\xff';
const formatSeq = (seq: number) => String(seq).padStart(16, '0');

function getMany(raw: RawLevel, keys: string[]): Promise<Array<string | undefined>> {
  if (keys.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    raw.getMany(keys, { asBuffer: false }, (err, values) => (err || !values ? reject(err ?? new Error('getMany')) : resolve(values)));
  });
}

function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The live docs at `ids` (undefined where PouchDB's own read must answer), in two native calls. */
async function rawReads(raw: RawLevel, ids: string[]): Promise<Array<StoredDoc | undefined>> {
  try {
    const metas = (await getMany(raw, ids.map((id) => DOC_KEY + id))).map(parse);
    const wanted = metas.map((meta, i) => {
      if (!meta || meta.id !== ids[i] || meta.deleted !== false || typeof meta.winningRev !== 'string') return undefined;
      const seq = (meta.rev_map as Record<string, unknown> | undefined)?.[meta.winningRev];
      return typeof seq === 'number' ? { id: meta.id as string, rev: meta.winningRev, key: SEQ_KEY + formatSeq(seq) } : undefined;
    });
    const found = wanted.filter((w) => w !== undefined);
    const bodies = await getMany(raw, found.map((w) => w.key));
    const byKey = new Map(found.map((w, i) => [w.key, bodies[i]]));
    return wanted.map((w) => {
      const body = w && parse(byKey.get(w.key));
      if (!w || !body || ('_id' in body && body._id !== w.id) || ('_rev' in body && body._rev !== w.rev)) return undefined;
      return Object.assign(body, { _id: w.id, _rev: w.rev });
    });
  } catch {
    return ids.map(() => undefined);
  }
}

/** Point reads in flight at once: enough to keep LevelDB's thread pool busy, bounded for full scans. */
const IN_FLIGHT = 256;
const WRAPPED = Symbol('cozy.batchedReads');

/** Options that change what a row holds in ways the point reads would not reproduce. */
const KEYS_UNSUPPORTED = ['conflicts', 'attachments', 'update_seq', 'deleted'];
const RANGE_UNSUPPORTED = ['conflicts', 'attachments'];

const uses = (opts: Options, names: string[]) => names.some((name) => opts[name] !== undefined && opts[name] !== false);

function call<T>(fn: (callback: Callback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    // PouchDB's keys path answers with a promise and never calls back; its other paths call back.
    const answer = fn((err, result) => (err ? reject(err) : resolve(result as T)));
    if (answer instanceof Promise) answer.then(resolve as (v: unknown) => void, reject);
  });
}

async function mapBounded<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let start = 0; start < items.length; start += IN_FLIGHT) {
    out.push(...(await Promise.all(items.slice(start, start + IN_FLIGHT).map(fn))));
  }
  return out;
}

/** As the adapter's allDocs hands out a body: attachments are stubs there. */
function asListed(doc: StoredDoc): StoredDoc {
  const atts = doc._attachments;
  if (atts !== null && typeof atts === 'object') {
    for (const att of Object.values(atts as Record<string, Record<string, unknown>>)) att.stub = true;
  }
  return doc;
}

function pointRead(handle: LevelHandle, id: string, opts: Options): Promise<StoredDoc | undefined> {
  return new Promise((resolve) => {
    try {
      handle._get(id, opts, (err, result) => resolve(err || !result ? undefined : result.doc));
    } catch {
      resolve(undefined);
    }
  });
}

async function readKeys(
  handle: LevelHandle,
  original: LevelHandle['_allDocs'],
  opts: Options & { keys: unknown[] },
  raw: RawLevel | undefined,
): Promise<RangeAnswer> {
  const base = await call<RangeAnswer>((cb) => original.call(handle, { limit: 0 }, cb));
  const plain = (key: unknown): key is string => typeof key === 'string' && !key.startsWith('_local/');
  const strings = opts.keys.filter(plain);
  const batched = raw ? await rawReads(raw, strings) : [];
  const fromRaw = new Map(strings.map((key, i) => [key, batched[i]]));
  const rows = await mapBounded(opts.keys, async (key): Promise<RangeRow> => {
    const doc = plain(key) ? (fromRaw.get(key) ?? (await pointRead(handle, key, {}))) : undefined;
    if (doc !== undefined) {
      const row: RangeRow = { id: doc._id, key, value: { rev: doc._rev } };
      if (opts.include_docs) row.doc = asListed(doc);
      return row;
    }
    // PouchDB's own per-key read, with its options (allDocsKeysQuery): not_found and deleted rows are its rows.
    const { keys: _keys, limit: _limit, skip: _skip, ...rest } = opts;
    const one = await call<RangeAnswer>((cb) => original.call(handle, { key, deleted: 'ok', ...rest }, cb));
    return one.rows[0] ?? { key, error: 'not_found' };
  });
  return { total_rows: base.total_rows, offset: 0, rows };
}

async function readRange(handle: LevelHandle, original: LevelHandle['_allDocs'], opts: Options, bodiless: boolean): Promise<RangeAnswer> {
  const listing = await call<RangeAnswer>((cb) => original.call(handle, { ...opts, include_docs: false }, cb));
  if (bodiless) {
    for (const row of listing.rows) row.doc = row.value?.deleted || row.id === undefined ? null : { _id: row.id, _rev: row.value?.rev ?? '' };
    return listing;
  }
  let complete = true;
  await mapBounded(listing.rows, async (row) => {
    if (row.value?.deleted) {
      row.doc = null;
      return;
    }
    const doc = row.id === undefined || row.value === undefined ? undefined : await pointRead(handle, row.id, { rev: row.value.rev });
    if (doc === undefined) complete = false;
    else row.doc = asListed(doc);
  });
  return complete ? listing : call<RangeAnswer>((cb) => original.call(handle, opts, cb));
}

/**
 * Whether a view database holds a pouchdb-find index: pouchdb-find lists those in `_local/indexes` (its mapreduce's
 * own bookkeeping, written just before the view database is registered), and its mappers emit keys only.
 */
async function holdsMangoIndex(source: LevelHandle, viewDb: string): Promise<boolean> {
  try {
    const local = await source.get('_local/indexes');
    const views = local !== null && typeof local === 'object' ? (local as { views?: unknown }).views : undefined;
    if (views === null || typeof views !== 'object') return false;
    return Object.values(views).some((dbs) => dbs !== null && typeof dbs === 'object' && viewDb in dbs);
  } catch {
    return false;
  }
}

/**
 * Wraps the handle's `_allDocs` (once) and that of every view database it opens. Returns the handle.
 * `raw`: the handle's LevelDB store (see RawLevel), for the keys path.
 * `bodiless`: the handle is a pouchdb-find index's view database. Its rows are `{_id: <collated [key, doc id]>}`
 * with no value (pouchdb-find emits keys only), and its range reads are made only by PouchDB's mapreduce, which reads
 * `_id` and `value` from each body: the bodies are not read at all, `{_id, _rev}` is the body.
 */
export function withBatchedReads<H extends object>(handle: H, bodiless = false, raw?: RawLevel): H {
  const level = handle as unknown as LevelHandle & { [WRAPPED]?: true };
  if (level[WRAPPED] || typeof level._allDocs !== 'function' || typeof level._get !== 'function') return handle;
  level[WRAPPED] = true;
  const original = level._allDocs;
  level._allDocs = function batchedAllDocs(opts: Options, callback: Callback<RangeAnswer>): unknown {
    const hasKeys = Array.isArray(opts.keys);
    if (hasKeys ? uses(opts, KEYS_UNSUPPORTED) : !opts.include_docs || uses(opts, RANGE_UNSUPPORTED)) {
      return original.call(level, opts, callback);
    }
    const answer = hasKeys ? readKeys(level, original, opts as Options & { keys: unknown[] }, raw) : readRange(level, original, opts, bodiless);
    answer.then((result) => callback(null, result), callback);
    return undefined;
  };
  const register = level.registerDependentDatabase;
  if (typeof register === 'function') {
    level.registerDependentDatabase = async function registerWrapped(name: string) {
      const res = await register.call(level, name);
      withBatchedReads(res.db, await holdsMangoIndex(level, name));
      return res;
    };
  }
  return handle;
}
