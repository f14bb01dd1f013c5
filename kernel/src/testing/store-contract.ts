/**
 * The document-store contract: every StoreAdapter runs this same table (see the rules in `store/types.ts`).
 *
 * Each case gets a fresh adapter from `makeAdapter` and its own database prefix; the databases it made are destroyed
 * afterwards, so the suite can run against a shared server (COZY_TEST_COUCHDB_URL) as well as a private one.
 * Where CouchDB 3 and pouchdb-server may differ, the case asserts the port's behaviour (the adapters normalise);
 * the only tolerance is the one the rules grant: a deleted doc may answer reason `missing` instead of `deleted`.
 */
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { CozyError, isCozyError } from '../errors.ts';
import { databaseName } from '../store/db-names.ts';
import { STORE_ERROR_CODES } from '../store/store-errors.ts';
import type { Doc, FindRequest, StoreAdapter } from '../store/types.ts';

export interface ContractSubject {
  adapter: StoreAdapter;
  /** Releases what makeAdapter set up (closes the adapter, removes temp folders...). */
  cleanup: () => Promise<void>;
}

export type MakeAdapter = () => Promise<ContractSubject>;

interface Ctx {
  adapter: StoreAdapter;
  /** This case's instance prefix; every database it creates starts with it. */
  prefix: string;
  /** A database of this case for a doctype, named as cozy-stack does (`<prefix>/io-cozy-files`). */
  db: (doctype?: string) => string;
}

type Case = { title: string; run: (t: Test, ctx: Ctx) => Promise<void> };

const HEX32 = /^[0-9a-f]{32}$/;

async function failure(promise: Promise<unknown>): Promise<CozyError> {
  try {
    await promise;
  } catch (err) {
    if (isCozyError(err)) return err;
    throw new Error(`expected a CozyError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection, the call succeeded');
}

async function rejectsWith(t: Test, promise: Promise<unknown>, code: string, status: number, what: string) {
  const err = await failure(promise);
  t.equal(err.code, code, `${what}: code`);
  t.equal(err.status, status, `${what}: status`);
  return err;
}

function ids(docs: Array<{ _id?: string } | Doc>): string[] {
  return docs.map((doc) => String(doc._id));
}

const pad = (n: number) => String(n).padStart(3, '0');

const databaseCases: Case[] = [
  {
    title: 'A database is created, exists, has info, is listed by prefix and is destroyed idempotently',
    async run(t, { adapter, db, prefix }) {
      const files = db('io.cozy.files');
      const contacts = db('io.cozy.contacts');
      t.equal(await adapter.databaseExists(files), false, 'absent before creation');
      await adapter.createDatabase(files);
      await adapter.createDatabase(files);
      await adapter.createDatabase(contacts);
      t.equal(await adapter.databaseExists(files), true, 'exists after creation');
      const info = await adapter.databaseInfo(files);
      t.same(info.db_name, files);
      t.equal(info.doc_count, 0);
      t.equal(info.doc_del_count, 0);
      t.type(info.update_seq, 'string');
      t.same(await adapter.listDatabases(`${prefix}/`), [contacts, files].sort(), 'both listed, sorted');
      t.same(await adapter.listDatabases(`${prefix}/io-cozy-f`), [files], 'prefix filters');
      await adapter.destroyDatabase(files);
      await adapter.destroyDatabase(files);
      t.equal(await adapter.databaseExists(files), false, 'gone after destroy');
      t.same(await adapter.listDatabases(`${prefix}/`), [contacts]);
    },
  },
  {
    title: 'Reads on a database that was never created throw dbNotFound and do not create it',
    async run(t, { adapter, db }) {
      const missing = db('io.cozy.missing');
      const reads: Array<[string, () => Promise<unknown>]> = [
        ['get', () => adapter.get(missing, 'x')],
        ['allDocs', () => adapter.allDocs(missing)],
        ['find', () => adapter.find(missing, { selector: { a: 1 } })],
        ['changes', () => adapter.changes(missing)],
        ['databaseInfo', () => adapter.databaseInfo(missing)],
        ['queryView', () => adapter.queryView(missing, 'd', 'v')],
        ['delete', () => adapter.delete(missing, 'x', '1-abc')],
      ];
      for (const [what, read] of reads) {
        const err = await rejectsWith(t, read(), STORE_ERROR_CODES.dbNotFound, 404, what);
        t.same(err.couch, { error: 'not_found', reason: 'Database does not exist.' }, `${what}: couch body`);
      }
      t.equal(await adapter.databaseExists(missing), false);
    },
  },
  {
    title: 'Writes on a missing database create it first',
    async run(t, { adapter, db }) {
      await adapter.put(db('io.cozy.a'), { _id: 'x' });
      await adapter.bulkDocs(db('io.cozy.b'), [{ _id: 'x' }]);
      await adapter.createIndex(db('io.cozy.c'), { index: { fields: ['n'] } });
      for (const doctype of ['io.cozy.a', 'io.cozy.b', 'io.cozy.c']) {
        t.equal(await adapter.databaseExists(db(doctype)), true, `${doctype} exists`);
      }
      t.equal((await adapter.get(db('io.cozy.b'), 'x'))._id, 'x');
    },
  },
  {
    title: 'Database names derived from dotted doctypes keep their slash through every call',
    async run(t, { adapter, db, prefix }) {
      const name = db('io.cozy.files.versions');
      t.equal(name, `${prefix}/io-cozy-files-versions`);
      await adapter.put(name, { _id: 'v1', n: 1 });
      t.equal((await adapter.get(name, 'v1')).n, 1);
      t.equal((await adapter.databaseInfo(name)).db_name, name);
      t.same(await adapter.listDatabases(prefix), [name]);
      t.equal((await adapter.changes(name)).results.length, 1);
    },
  },
  {
    title: 'An illegal database name is refused with a 400',
    async run(t, { adapter }) {
      await rejectsWith(t, adapter.createDatabase('BadName'), STORE_ERROR_CODES.badRequest, 400, 'upper case');
      await rejectsWith(t, adapter.put('1abc', { _id: 'x' }), STORE_ERROR_CODES.badRequest, 400, 'leading digit');
    },
  },
];

const documentCases: Case[] = [
  {
    title: 'put creates then updates a doc with new revisions and get returns exactly the stored JSON',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      const first = await adapter.put(name, { _id: 'note', title: 'a', tags: ['x'], nested: { n: 1 } });
      t.equal(first.id, 'note');
      t.match(first.rev, /^1-[0-9a-f]{32}$/);
      const doc = await adapter.get(name, 'note');
      t.same(doc, { _id: 'note', _rev: first.rev, title: 'a', tags: ['x'], nested: { n: 1 } }, 'no extra members');
      const second = await adapter.put(name, { ...doc, title: 'b' });
      t.match(second.rev, /^2-/);
      t.equal((await adapter.get(name, 'note')).title, 'b');
      t.equal((await adapter.get(name, 'note', { rev: first.rev })).title, 'a', 'older revision by rev');
    },
  },
  {
    title: 'put with a stale rev or without a rev on an existing doc throws a 409 conflict',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      const first = await adapter.put(name, { _id: 'note', v: 1 });
      await adapter.put(name, { _id: 'note', _rev: first.rev, v: 2 });
      const stale = await rejectsWith(t, adapter.put(name, { _id: 'note', _rev: first.rev }), STORE_ERROR_CODES.conflict, 409, 'stale rev');
      t.same(stale.couch, { error: 'conflict', reason: 'Document update conflict.' });
      await rejectsWith(t, adapter.put(name, { _id: 'note', v: 3 }), STORE_ERROR_CODES.conflict, 409, 'no rev');
      t.equal((await adapter.get(name, 'note')).v, 2, 'the doc is unchanged');
    },
  },
  {
    title: 'put without an id assigns a 32-hex id',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      const written = await adapter.put(name, { v: 1 });
      t.match(written.id, HEX32);
      t.equal((await adapter.get(name, written.id)).v, 1);
    },
  },
  {
    title: 'get on a missing doc throws a 404 with the CouchDB not_found body',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      await adapter.createDatabase(name);
      const err = await rejectsWith(t, adapter.get(name, 'nope'), STORE_ERROR_CODES.docNotFound, 404, 'missing doc');
      t.same(err.couch, { error: 'not_found', reason: 'missing' });
    },
  },
  {
    title: 'delete leaves a tombstone that get reports as a 404, and a stale rev conflicts',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      const first = await adapter.put(name, { _id: 'gone', v: 1 });
      const second = await adapter.put(name, { _id: 'gone', _rev: first.rev, v: 2 });
      await rejectsWith(t, adapter.delete(name, 'gone', first.rev), STORE_ERROR_CODES.conflict, 409, 'stale rev');
      const deleted = await adapter.delete(name, 'gone', second.rev);
      t.match(deleted.rev, /^3-/);
      const err = await rejectsWith(t, adapter.get(name, 'gone'), STORE_ERROR_CODES.docNotFound, 404, 'deleted doc');
      // The rules: `deleted` when the server can tell (CouchDB 3, PouchDB), `missing` otherwise (pouchdb-server).
      t.ok(['deleted', 'missing'].includes(String(err.couch?.reason)), `reason ${err.couch?.reason}`);
      t.equal(err.couch?.error, 'not_found');
      const info = await adapter.databaseInfo(name);
      t.equal(info.doc_count, 0);
      t.equal(info.doc_del_count, 1);
      const again = await adapter.put(name, { _id: 'gone', v: 'back' });
      t.match(again.rev, /^4-/, 'a deleted id can be written again without a rev');
    },
  },
  {
    title: 'bulkDocs reports success and conflicts per doc, in order',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      await adapter.put(name, { _id: 'taken', v: 1 });
      const rows = await adapter.bulkDocs(name, [{ _id: 'fresh', v: 1 }, { _id: 'taken', v: 2 }, { v: 3 }]);
      t.equal(rows.length, 3);
      t.equal(rows[0].id, 'fresh');
      t.match(rows[0].rev, /^1-/);
      t.equal(rows[0].error, undefined);
      t.same(rows[1], { id: 'taken', error: 'conflict', reason: 'Document update conflict.' });
      t.match(rows[2].id, HEX32, 'a doc without id gets a 32-hex id');
      t.match(rows[2].rev, /^1-/);
      t.equal((await adapter.get(name, 'taken')).v, 1);
    },
  },
  {
    title: 'Doc ids with slashes and unicode round-trip through put, get, allDocs and delete',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const odd = ['io.cozy.files/été', 'a/b/c', 'dossier 🎉 #1?x=y&z', '%2F'];
      for (const id of odd) await adapter.put(name, { _id: id, id });
      for (const id of odd) t.equal((await adapter.get(name, id)).id, id, `get ${id}`);
      const listed = await adapter.allDocs(name, { keys: odd });
      t.same(listed.rows.map((row) => row.id), odd);
      const doc = await adapter.get(name, 'a/b/c');
      await adapter.delete(name, 'a/b/c', String(doc._rev));
      await rejectsWith(t, adapter.get(name, 'a/b/c'), STORE_ERROR_CODES.docNotFound, 404, 'deleted slash id');
    },
  },
];

async function seedKeys(adapter: StoreAdapter, name: string, count: number): Promise<void> {
  const docs = Array.from({ length: count }, (_, i) => ({ _id: `k${pad(i)}`, n: i }));
  await adapter.bulkDocs(name, docs);
}

const allDocsCases: Case[] = [
  {
    title: 'allDocs with keys keeps key order, answers not_found for a missing key and a null doc for a deleted one',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      await seedKeys(adapter, name, 3);
      const gone = await adapter.put(name, { _id: 'gone' });
      await adapter.delete(name, 'gone', gone.rev);
      const result = await adapter.allDocs(name, { keys: ['k002', 'nope', 'gone', 'k000'], include_docs: true });
      t.same(result.rows.map((row) => row.key), ['k002', 'nope', 'gone', 'k000']);
      t.equal(result.rows[0].doc?.n, 2);
      t.same(result.rows[1], { key: 'nope', error: 'not_found' }, 'CouchDB row for a missing key');
      t.equal(result.rows[2]?.value?.deleted, true);
      t.equal(result.rows[2].doc, null);
      t.same(result.rows[3].doc, { _id: 'k000', _rev: result.rows[3]?.value?.rev, n: 0 });
    },
  },
  {
    title: 'allDocs honours startkey, endkey, inclusive_end, limit, skip, descending and include_docs',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      await seedKeys(adapter, name, 20);
      const all = await adapter.allDocs(name);
      t.equal(all.total_rows, 20);
      t.equal(all.rows.length, 20);
      t.equal(all.rows[0].doc, undefined, 'no doc unless asked');
      const range = await adapter.allDocs(name, { startkey: 'k005', endkey: 'k010', limit: 3, skip: 1, include_docs: true });
      t.same(range.rows.map((row) => row.id), ['k006', 'k007', 'k008']);
      t.equal(range.rows[0].doc?.n, 6);
      const exclusive = await adapter.allDocs(name, { startkey: 'k005', endkey: 'k008', inclusive_end: false });
      t.same(exclusive.rows.map((row) => row.id), ['k005', 'k006', 'k007']);
      const down = await adapter.allDocs(name, { descending: true, limit: 2 });
      t.same(down.rows.map((row) => row.id), ['k019', 'k018']);
      const downRange = await adapter.allDocs(name, { descending: true, startkey: 'k003', endkey: 'k001' });
      t.same(downRange.rows.map((row) => row.id), ['k003', 'k002', 'k001']);
    },
  },
];

type FileDoc = {
  _id: string;
  type: string;
  size: number;
  dir: string;
  tags?: string[];
};

/** 30 files, sizes 0..29 scrambled, 3 dirs, tags on even ones; plus 2 notes to be filtered out. */
async function seedFiles(adapter: StoreAdapter, name: string): Promise<FileDoc[]> {
  const files: FileDoc[] = Array.from({ length: 30 }, (_, i) => ({
    _id: `f${pad(i)}`,
    type: 'file',
    size: (i * 7) % 30,
    dir: `d${i % 3}`,
    ...(i % 2 === 0 ? { tags: ['even'] } : {}),
  }));
  await adapter.bulkDocs(name, [...files, { _id: 'n1', type: 'note', size: 5 }, { _id: 'n2', type: 'note', size: 50 }]);
  await adapter.createIndex(name, { index: { fields: ['type', 'size'] }, ddoc: 'by-type-size', name: 'by-type-size' });
  return files;
}

const bySize = (a: FileDoc, b: FileDoc) => a.size - b.size;
const sortedIds = (files: FileDoc[]) => ids([...files].sort(bySize));

/**
 * Pages with `limit` until `next` is false, checking every page: full unless last, `next` exactly "more remain",
 * a bookmark every time, and one extra call past the end returns nothing.
 */
async function pageThrough(t: Test, adapter: StoreAdapter, name: string, req: FindRequest, expected: string[]) {
  const limit = req.limit ?? 25;
  const seen: string[] = [];
  let bookmark: string | undefined;
  for (let page = 0; page <= expected.length / limit + 1; page++) {
    const result = await adapter.find(name, { ...req, ...(bookmark === undefined ? {} : { bookmark }) });
    t.type(result.bookmark, 'string', `page ${page} has a bookmark`);
    t.equal(result.docs.length, Math.min(limit, expected.length - seen.length), `page ${page} is full unless last`);
    seen.push(...ids(result.docs));
    t.equal(result.next, seen.length < expected.length, `page ${page} next`);
    bookmark = result.bookmark;
    if (!result.next) break;
  }
  t.same(seen, expected, 'every match once, in order');
  const after = await adapter.find(name, { ...req, bookmark });
  t.same(after.docs, [], 'nothing after the last page');
  t.equal(after.next, false);
}

type ScoreDoc = { _id: string; kind: string; n: number };

/**
 * Kind `a`: n = 0..9 with runs of equal n (7 docs at n = 5, 2 at n = 2), ids `a-<n>-<i>` written out of order;
 * kind `b`: 5 docs; plus 3 docs without n. Indexed on [kind, n] as `by-kind-n`.
 */
async function seedScores(adapter: StoreAdapter, name: string): Promise<ScoreDoc[]> {
  const runs: Record<number, number> = { 2: 2, 5: 7 };
  const docs: ScoreDoc[] = [];
  for (let n = 0; n < 10; n++) {
    for (let i = 0; i < (runs[n] ?? 1); i++) docs.push({ _id: `a-${String(n).padStart(2, '0')}-${i}`, kind: 'a', n });
  }
  for (let i = 0; i < 5; i++) docs.push({ _id: `b-${i}`, kind: 'b', n: (i * 3) % 5 });
  const shuffled = [...docs].sort((x, y) => (x._id.split('').reverse().join('') < y._id.split('').reverse().join('') ? -1 : 1));
  await adapter.bulkDocs(name, [...shuffled, { _id: 'x-0', kind: 'a' }, { _id: 'x-1', kind: 'b' }, { _id: 'x-2', n: 3 }]);
  await adapter.createIndex(name, { index: { fields: ['kind', 'n'] }, ddoc: 'by-kind-n', name: 'by-kind-n' });
  return docs;
}

/** Index order: by n, equal keys by doc id; `desc` reverses both. */
function inScoreOrder(docs: ScoreDoc[], desc: boolean): string[] {
  const up = [...docs].sort((x, y) => x.n - y.n || (x._id < y._id ? -1 : x._id > y._id ? 1 : 0));
  return ids(desc ? up.reverse() : up);
}

const findCases: Case[] = [
  {
    title: 'createIndex answers created, then exists for the same definition',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const req = { index: { fields: ['type', 'size'] }, ddoc: 'idx', name: 'by-type-size' };
      t.same(await adapter.createIndex(name, req), { result: 'created', id: '_design/idx', name: 'by-type-size' });
      t.same(await adapter.createIndex(name, req), { result: 'exists', id: '_design/idx', name: 'by-type-size' });
      const anonymous = await adapter.createIndex(name, { index: { fields: ['dir'] } });
      t.equal(anonymous.result, 'created');
      t.match(anonymous.id, /^_design\//);
      t.type(anonymous.name, 'string');
    },
  },
  {
    title: 'find matches $eq, $gt, $in and $exists selectors',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const files = await seedFiles(adapter, name);
      const found = async (selector: Record<string, unknown>) =>
        ids((await adapter.find(name, { selector, limit: 100 })).docs).sort();
      const expect = (keep: (f: FileDoc) => boolean) => ids(files.filter(keep)).sort();
      t.same(await found({ dir: { $eq: 'd1' } }), expect((f) => f.dir === 'd1'), '$eq');
      t.same(await found({ type: 'file', size: { $gt: 20 } }), expect((f) => f.size > 20), '$gt');
      t.same(await found({ dir: { $in: ['d0', 'd2'] } }), expect((f) => f.dir !== 'd1'), '$in');
      t.same(await found({ type: 'file', tags: { $exists: true } }), expect((f) => f.tags !== undefined), '$exists');
      t.same(await found({ type: 'file', tags: { $exists: false } }), expect((f) => f.tags === undefined), '$exists false');
    },
  },
  {
    title: 'find sorts ascending and descending on an index and projects fields without adapter members',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const files = await seedFiles(adapter, name);
      const selector = { type: 'file', size: { $gte: 0 } };
      const up = await adapter.find(name, { selector, sort: [{ type: 'asc' }, { size: 'asc' }], limit: 100 });
      t.same(ids(up.docs), sortedIds(files));
      const down = await adapter.find(name, { selector, sort: [{ type: 'desc' }, { size: 'desc' }], limit: 100 });
      t.same(ids(down.docs), sortedIds(files).reverse());
      const projected = await adapter.find(name, { selector, sort: [{ type: 'asc' }, { size: 'asc' }], fields: ['_id', 'size'], limit: 2 });
      t.same(projected.docs, [{ _id: 'f000', size: 0 }, { _id: 'f013', size: 1 }]);
      const full = await adapter.find(name, { selector: { _id: 'f001' } });
      t.same(Object.keys(full.docs[0]).sort(), ['_id', '_rev', 'dir', 'size', 'type']);
    },
  },
  {
    title: 'find applies limit and skip and defaults the limit to 25',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const files = await seedFiles(adapter, name);
      const selector = { type: 'file', size: { $gte: 0 } };
      const sort: FindRequest['sort'] = [{ type: 'asc' }, { size: 'asc' }];
      const all = sortedIds(files);
      const dflt = await adapter.find(name, { selector, sort });
      t.same(ids(dflt.docs), all.slice(0, 25), 'default limit 25');
      t.equal(dflt.next, true);
      const window = await adapter.find(name, { selector, sort, skip: 4, limit: 3 });
      t.same(ids(window.docs), all.slice(4, 7));
      t.equal(window.next, true);
      const tail = await adapter.find(name, { selector, sort, skip: 27, limit: 5 });
      t.same(ids(tail.docs), all.slice(27));
      t.equal(tail.next, false);
      const continued = await adapter.find(name, { selector, sort, limit: 3, bookmark: window.bookmark });
      t.same(ids(continued.docs), all.slice(7, 10), 'a bookmark continues after its page');
    },
  },
  {
    title: 'find pages with bookmarks through 0 to N matches, with next right on every page, past $gt bounds',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const limit = 3;
      const counts = [0, 1, limit - 1, limit, limit + 1, 2 * limit, 2 * limit + 1, 10];
      // Every group also holds 4 docs sitting on the `$gt: 0` bound: PouchDB counts them in its limit, then drops them.
      const docs = counts.flatMap((count) => [
        ...Array.from({ length: 4 }, (_, i) => ({ _id: `g${count}-edge${i}`, group: `g${count}`, score: 0 })),
        ...Array.from({ length: count }, (_, i) => ({ _id: `g${count}-${pad(i)}`, group: `g${count}`, score: 100 - i })),
      ]);
      await adapter.bulkDocs(name, docs);
      await adapter.createIndex(name, { index: { fields: ['group', 'score'] } });
      for (const count of counts) {
        const expected = Array.from({ length: count }, (_, i) => `g${count}-${pad(count - 1 - i)}`);
        const selector = { group: `g${count}`, score: { $gt: 0 } };
        await t.test(`${count} matches, ascending`, (t) =>
          pageThrough(t, adapter, name, { selector, sort: [{ group: 'asc' }, { score: 'asc' }], limit }, expected),
        );
      }
      const down = Array.from({ length: 10 }, (_, i) => `g10-${pad(i)}`);
      const selector = { group: 'g10', score: { $gt: 0 } };
      await t.test('10 matches, descending', (t) =>
        pageThrough(t, adapter, name, { selector, sort: [{ group: 'desc' }, { score: 'desc' }], limit }, down),
      );
    },
  },
  {
    title: 'find with a $gt bound on boundary docs and a limit returns a full first page',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const docs = Array.from({ length: 20 }, (_, i) => ({ _id: `s${pad(i)}`, kind: 's', size: i < 6 ? 2 : i }));
      await adapter.bulkDocs(name, docs);
      await adapter.createIndex(name, { index: { fields: ['kind', 'size'] } });
      const sort: FindRequest['sort'] = [{ kind: 'asc' }, { size: 'asc' }];
      const page = await adapter.find(name, { selector: { kind: 's', size: { $gt: 2 } }, sort, limit: 5 });
      t.same(ids(page.docs), ['s006', 's007', 's008', 's009', 's010']);
      t.equal(page.next, true);
      const below = await adapter.find(name, { selector: { kind: 's', size: { $lt: 19 } }, sort: [{ kind: 'desc' }, { size: 'desc' }], limit: 3 });
      t.same(ids(below.docs), ['s018', 's017', 's016'], '$lt descending too');
    },
  },
  {
    title: 'find over an index answers $gt/$lt ranges, $in, $or and descending sorts in (key, id) order',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const docs = await seedScores(adapter, name);
      const sort: FindRequest['sort'] = [{ kind: 'asc' }, { n: 'asc' }];
      const desc: FindRequest['sort'] = [{ kind: 'desc' }, { n: 'desc' }];
      const cases: Array<[string, Record<string, unknown>, FindRequest['sort'], (d: ScoreDoc) => boolean]> = [
        ['$gt and $lt', { kind: 'a', n: { $gt: 3, $lt: 8 } }, sort, (d) => d.kind === 'a' && d.n > 3 && d.n < 8],
        ['$gte and $lte', { kind: 'a', n: { $gte: 3, $lte: 8 } }, sort, (d) => d.kind === 'a' && d.n >= 3 && d.n <= 8],
        ['$lt descending', { kind: 'a', n: { $lt: 4 } }, desc, (d) => d.kind === 'a' && d.n < 4],
        ['$gt descending', { kind: 'a', n: { $gt: 6 } }, desc, (d) => d.kind === 'a' && d.n > 6],
        ['$in', { kind: 'a', n: { $in: [2, 5, 9] } }, sort, (d) => d.kind === 'a' && [2, 5, 9].includes(d.n)],
        // Every indexed field outside the $or, as cozy-client writes it: CouchDB has no index for the sort otherwise.
        ['$or', { kind: 'a', n: { $gt: null }, $or: [{ n: 1 }, { n: { $gte: 9 } }] }, sort, (d) => d.kind === 'a' && (d.n === 1 || d.n >= 9)],
        ['$gt: null', { kind: 'b', n: { $gt: null } }, sort, (d) => d.kind === 'b'],
      ];
      for (const [what, selector, order, keep] of cases) {
        const expected = inScoreOrder(docs.filter(keep), order === desc);
        const found = await adapter.find(name, { selector, sort: order, limit: 100 });
        t.same(ids(found.docs), expected, what);
        t.equal(found.next, false, `${what}: nothing more`);
        const named = await adapter.find(name, { selector, sort: order, limit: 100, use_index: ['by-kind-n', 'by-kind-n'] });
        t.same(ids(named.docs), expected, `${what}, use_index [ddoc, name]`);
      }
      const fields = await adapter.find(name, { selector: { kind: 'a', n: { $gt: 8 } }, sort, fields: ['_id', 'n'], limit: 100 });
      t.same(fields.docs, inScoreOrder(docs.filter((d) => d.kind === 'a' && d.n > 8), false).map((id) => ({ _id: id, n: 9 })));
    },
  },
  {
    title: 'find pages through runs of equal index keys, each doc once, with and without a $gt bound on the run',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const docs = await seedScores(adapter, name);
      const sort: FindRequest['sort'] = [{ kind: 'asc' }, { n: 'asc' }];
      const all = inScoreOrder(docs.filter((d) => d.kind === 'a'), false);
      await t.test('every doc of kind a, 4 a page', (t) => pageThrough(t, adapter, name, { selector: { kind: 'a', n: { $gte: 0 } }, sort, limit: 4 }, all));
      const above = inScoreOrder(docs.filter((d) => d.kind === 'a' && d.n > 5), false);
      await t.test('$gt on a value 7 docs share, 2 a page', (t) => pageThrough(t, adapter, name, { selector: { kind: 'a', n: { $gt: 5 } }, sort, limit: 2 }, above));
      const below = inScoreOrder(docs.filter((d) => d.kind === 'a' && d.n < 5), true);
      const desc: FindRequest['sort'] = [{ kind: 'desc' }, { n: 'desc' }];
      await t.test('$lt on that value, descending, 3 a page', (t) => pageThrough(t, adapter, name, { selector: { kind: 'a', n: { $lt: 5 } }, sort: desc, limit: 3 }, below));
      const skipped = await adapter.find(name, { selector: { kind: 'a', n: { $gte: 5 } }, sort, skip: 3, limit: 3 });
      t.same(ids(skipped.docs), inScoreOrder(docs.filter((d) => d.kind === 'a' && d.n >= 5), false).slice(3, 6), 'skip inside the run');
    },
  },
  {
    title: 'find after deletes and updates answers no deleted doc, and each updated doc once at its latest revision',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      const docs = await seedScores(adapter, name);
      const sort: FindRequest['sort'] = [{ kind: 'asc' }, { n: 'asc' }];
      const selector = { kind: 'a', n: { $gte: 0 } };
      t.equal((await adapter.find(name, { selector, sort, limit: 100 })).docs.length, docs.filter((d) => d.kind === 'a').length, 'index built');
      const current = new Map((await adapter.allDocs(name, { include_docs: true })).rows.map((row) => [row.id, row.doc as Doc]));
      const doc = (id: string) => current.get(id) as Doc;
      const deleted = ['a-05-1', 'a-02-0', 'a-09-0'];
      for (const id of deleted) await adapter.delete(name, id, String(doc(id)._rev));
      // One moves inside the range (and twice, so its first index row must be gone), one leaves it, one stays put.
      const moved = await adapter.put(name, { ...doc('a-01-0'), n: 7, note: 'moved' });
      const movedAgain = await adapter.put(name, { ...doc('a-01-0'), _rev: moved.rev, n: 8, note: 'moved twice' });
      const left = await adapter.put(name, { ...doc('a-05-3'), kind: 'c' });
      const touched = await adapter.put(name, { ...doc('a-05-4'), note: 'touched' });
      const expectedDocs = docs
        .filter((d) => d.kind === 'a' && !deleted.includes(d._id) && d._id !== 'a-05-3')
        .map((d) => (d._id === 'a-01-0' ? { ...d, n: 8 } : d));
      const found = await adapter.find(name, { selector, sort, limit: 100 });
      t.same(ids(found.docs), inScoreOrder(expectedDocs, false), 'no deleted doc, each doc once, in the new order');
      const byId = new Map(found.docs.map((d) => [d._id, d]));
      t.same(byId.get('a-01-0'), { _id: 'a-01-0', _rev: movedAgain.rev, kind: 'a', n: 8, note: 'moved twice' }, 'latest revision');
      t.equal(byId.get('a-05-4')?._rev, touched.rev, 'a doc updated in place comes at its latest revision');
      t.notOk(byId.has('a-05-3'), `a doc updated out of the range (${left.rev}) is gone`);
      const paged: string[] = [];
      let bookmark: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await adapter.find(name, { selector, sort, limit: 4, ...(bookmark === undefined ? {} : { bookmark }) });
        paged.push(...ids(res.docs));
        bookmark = res.bookmark;
        if (!res.next) break;
      }
      t.same(paged, inScoreOrder(expectedDocs, false), 'the same when paged');
      const listed = await adapter.allDocs(name, { keys: ['a-01-0', 'a-05-1'], include_docs: true });
      t.equal(listed.rows[0].doc?._rev, movedAgain.rev, 'allDocs keys: latest revision');
      t.equal(listed.rows[1].value?.deleted, true, 'allDocs keys: deleted row');
    },
  },
  {
    title: 'find with $gt: null on a one-field index answers the docs that have a non-null value, in order',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      await adapter.bulkDocs(name, [
        { _id: 'm0' },
        { _id: 'm1', tag: null },
        { _id: 'm2', tag: 'b' },
        { _id: 'm3', tag: false },
        { _id: 'm4', tag: 'a' },
        { _id: 'm5', tag: 3 },
        { _id: 'm6', other: 1 },
      ]);
      await adapter.createIndex(name, { index: { fields: ['tag'] }, ddoc: 'by-tag', name: 'by-tag' });
      const up = await adapter.find(name, { selector: { tag: { $gt: null } }, sort: ['tag'], limit: 100 });
      t.same(ids(up.docs), ['m3', 'm5', 'm4', 'm2'], 'false < numbers < strings; missing and null left out');
      const down = await adapter.find(name, { selector: { tag: { $gt: null } }, sort: [{ tag: 'desc' }], limit: 2 });
      t.same(ids(down.docs), ['m2', 'm4']);
      t.equal(down.next, true);
      const both = await adapter.find(name, { selector: { tag: { $gt: null, $lt: 'b' } }, sort: ['tag'], fields: ['_id'], limit: 100 });
      t.same(both.docs, [{ _id: 'm3' }, { _id: 'm5' }, { _id: 'm4' }], 'with an upper bound, projected');
    },
  },
  {
    title: 'find with a sort that no index serves throws noIndex',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      await seedFiles(adapter, name);
      const err = await rejectsWith(
        t,
        adapter.find(name, { selector: { type: 'file' }, sort: [{ dir: 'asc' }] }),
        STORE_ERROR_CODES.noIndex,
        400,
        'sort on dir',
      );
      t.equal(err.couch?.error, 'no_usable_index');
    },
  },
];

const changesCases: Case[] = [
  {
    title: 'changes returns string seqs and, since a last_seq, only the later changes',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      await adapter.bulkDocs(name, [{ _id: 'a' }, { _id: 'b' }]);
      const first = await adapter.changes(name);
      t.same(first.results.map((row) => row.id).sort(), ['a', 'b']);
      for (const row of first.results) t.type(row.seq, 'string');
      t.type(first.last_seq, 'string');
      t.equal(first.pending, 0);
      t.match(first.results[0].changes[0].rev, /^1-/);
      const a = await adapter.get(name, 'a');
      await adapter.put(name, { ...a, v: 2 });
      await adapter.put(name, { _id: 'c' });
      const later = await adapter.changes(name, { since: first.last_seq });
      t.same(later.results.map((row) => row.id), ['a', 'c']);
      const none = await adapter.changes(name, { since: later.last_seq });
      t.same(none.results, [], 'nothing after the last seq');
      t.type(none.last_seq, 'string');
      const now = await adapter.changes(name, { since: 'now' });
      t.same(now.results, [], "since 'now' starts at the end");
    },
  },
  {
    title: 'changes honours limit with pending, include_docs, the deleted flag and doc_ids',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.notes');
      await adapter.bulkDocs(name, [{ _id: 'a', v: 1 }, { _id: 'b', v: 2 }, { _id: 'c', v: 3 }]);
      const b = await adapter.get(name, 'b');
      await adapter.delete(name, 'b', String(b._rev));
      const limited = await adapter.changes(name, { limit: 2 });
      t.same(limited.results.map((row) => row.id), ['a', 'c']);
      t.equal(limited.pending, 1, 'one change left');
      const rest = await adapter.changes(name, { since: limited.last_seq });
      t.same(rest.results.map((row) => row.id), ['b']);
      t.equal(rest.results[0].deleted, true);
      t.equal(rest.pending, 0);
      const withDocs = await adapter.changes(name, { include_docs: true });
      const docA = withDocs.results.find((row) => row.id === 'a')?.doc;
      t.same(docA, { _id: 'a', _rev: docA?._rev, v: 1 });
      t.equal(withDocs.results.find((row) => row.id === 'b')?.doc?._deleted, true);
      const picked = await adapter.changes(name, { doc_ids: ['c', 'b'] });
      t.same(picked.results.map((row) => row.id).sort(), ['b', 'c']);
      const pickedLater = await adapter.changes(name, { doc_ids: ['c'], since: picked.last_seq });
      t.same(pickedLater.results, []);
    },
  },
];

const viewCases: Case[] = [
  {
    title: 'A design doc map view with _count and _sum reduces answers key, range, reduce and group queries',
    async run(t, { adapter, db }) {
      const name = db('io.cozy.files');
      await adapter.bulkDocs(name, [
        { _id: 'a', dir: 'x', size: 1 },
        { _id: 'b', dir: 'x', size: 2 },
        { _id: 'c', dir: 'y', size: 4 },
        { _id: 'd', dir: 'z', size: 8 },
        { _id: 'e', other: true },
      ]);
      await adapter.put(name, {
        _id: '_design/stats',
        language: 'javascript',
        views: {
          size: { map: 'function (doc) { if (doc.dir) emit(doc.dir, doc.size); }', reduce: '_sum' },
          count: { map: 'function (doc) { if (doc.dir) emit([doc.dir, doc.size], null); }', reduce: '_count' },
        },
      });
      const total = await adapter.queryView(name, 'stats', 'size');
      t.same(total.rows, [{ key: null, value: 15 }], 'reduced to one row');
      const grouped = await adapter.queryView(name, 'stats', 'size', { group: true });
      t.same(grouped.rows, [{ key: 'x', value: 3 }, { key: 'y', value: 4 }, { key: 'z', value: 8 }]);
      const byKey = await adapter.queryView(name, 'stats', 'size', { key: 'x', reduce: false, include_docs: true });
      t.same(byKey.rows.map((row) => [row.id, row.key, row.value]), [['a', 'x', 1], ['b', 'x', 2]]);
      t.equal(byKey.rows[0].doc?.size, 1);
      t.equal(byKey.total_rows, 4);
      const range = await adapter.queryView(name, 'stats', 'size', { startkey: 'y', endkey: 'z', reduce: false });
      t.same(range.rows.map((row) => row.id), ['c', 'd']);
      const counted = await adapter.queryView(name, 'stats', 'count', { group_level: 1 });
      t.same(counted.rows, [{ key: ['x'], value: 2 }, { key: ['y'], value: 1 }, { key: ['z'], value: 1 }]);
      const complexRange = await adapter.queryView(name, 'stats', 'count', { startkey: ['x', 2], endkey: ['y', {}] });
      t.same(complexRange.rows, [{ key: null, value: 2 }]);
      await rejectsWith(t, adapter.queryView(name, 'nope', 'size'), STORE_ERROR_CODES.docNotFound, 404, 'missing ddoc');
    },
  },
];

const CASES: Case[] = [...databaseCases, ...documentCases, ...allDocsCases, ...findCases, ...changesCases, ...viewCases];

function contextFor(adapter: StoreAdapter): Ctx {
  const prefix = `cozy${randomBytes(8).toString('hex')}`;
  return { adapter, prefix, db: (doctype = 'io.cozy.tests') => databaseName(prefix, doctype) };
}

async function dropDatabases(ctx: Ctx): Promise<void> {
  for (const name of await ctx.adapter.listDatabases(`${ctx.prefix}/`)) await ctx.adapter.destroyDatabase(name);
}

/** Runs the whole contract as subtests of `t`, one fresh adapter per case. */
export function storeContract(t: Test, name: string, makeAdapter: MakeAdapter): void {
  for (const c of CASES) {
    t.test(`${name}: ${c.title}`, async (t) => {
      const subject = await makeAdapter();
      const ctx = contextFor(subject.adapter);
      t.teardown(async () => {
        await dropDatabases(ctx).catch(() => {});
        await subject.cleanup();
      });
      await c.run(t, ctx);
    });
  }
}
