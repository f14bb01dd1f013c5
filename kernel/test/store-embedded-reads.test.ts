import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { claimRawLevel, claimableLeveldown, withBatchedReads, type RawLevel } from '../src/store/pouch-batched-reads.ts';

/**
 * The batched reads answer exactly what PouchDB's own reads answer: the same data in two databases, one handle
 * wrapped and one not, the same calls on both, deep-equal answers.
 */
interface Pouch {
  bulkDocs(docs: object[]): Promise<Array<{ id: string; rev: string }>>;
  get(id: string): Promise<Record<string, unknown>>;
  remove(id: string, rev: string): Promise<unknown>;
  put(doc: object): Promise<{ rev: string }>;
  allDocs(opts: object): Promise<unknown>;
  query(view: string, opts: object): Promise<unknown>;
  createIndex(req: object): Promise<unknown>;
  find(req: object): Promise<unknown>;
  close(): Promise<void>;
  _get(id: string, opts: object, cb: (err: unknown, res?: unknown) => void): void;
}

const require = createRequire(import.meta.url);
const PouchDB = require('pouchdb-node').plugin(require('pouchdb-find')) as new (name: string, opts?: object) => Pouch;
const leveldown = claimableLeveldown(createRequire(require.resolve('pouchdb-node'))('leveldown'));

async function seed(db: Pouch): Promise<void> {
  const docs = Array.from({ length: 60 }, (_, i) => ({
    _id: `d${String(i).padStart(3, '0')}`,
    kind: i % 3 === 0 ? 'a' : 'b',
    n: i % 7,
    ...(i % 5 === 0 ? {} : { tag: `t${i % 4}` }),
    nested: { depth: i % 2 },
  }));
  await db.bulkDocs([...docs, { _id: 'nokind', n: 1 }]);
  await db.put({ _id: '_design/v', views: { byN: { map: 'function (doc) { if (doc.n !== undefined) emit(doc.n, doc.kind || null); }' } } });
  await db.createIndex({ index: { fields: ['kind', 'n'] }, ddoc: 'by-kind-n', name: 'by-kind-n' });
  await db.createIndex({ index: { fields: ['tag'] }, ddoc: 'by-tag', name: 'by-tag' });
  await db.find({ selector: { kind: 'a', n: { $gt: null } }, use_index: 'by-kind-n' });
  await db.query('v/byN', { limit: 1 });
  // After the indexes are built: deletes and updates must reach the index, and leave no stale row.
  for (const id of ['d003', 'd010', 'd033']) await db.remove(id, String((await db.get(id))._rev));
  for (const id of ['d006', 'd007', 'd012']) await db.put({ ...(await db.get(id)), n: 6, kind: 'a', updated: true });
}

/** `rawLevel`: how the batched handle reaches its LevelDB store (claimed as the adapter does, a broken one, none). */
async function twoDatabases(t: Test, failGet?: (id: string) => boolean, rawLevel: 'claimed' | 'broken' | 'none' = 'claimed') {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-reads-'));
  const plain = new PouchDB(path.join(dir, 'plain'));
  const location = path.join(dir, 'batched');
  const raw = new PouchDB(location, { db: leveldown });
  const claimed = claimRawLevel(location);
  t.ok(claimed, 'the store is claimed');
  const broken: RawLevel = { getMany: (_keys, _opts, cb) => cb(null, ['{"id": "not json', undefined]) };
  const level = rawLevel === 'claimed' ? claimed : rawLevel === 'broken' ? broken : undefined;
  if (failGet) {
    // A point read that fails (as a revision compacted away between the range read and it would) falls back.
    const get = raw._get.bind(raw);
    raw._get = (id, opts, cb) => (failGet(id) ? cb(Object.assign(new Error('missing'), { status: 404 })) : get(id, opts, cb));
  }
  const batched = withBatchedReads(raw, false, level);
  t.teardown(async () => {
    await Promise.allSettled([plain.close(), batched.close()]);
    await rm(dir, { recursive: true, force: true });
  });
  await seed(plain);
  await seed(batched);
  return { plain, batched };
}

/** Revisions differ between the two databases only by their hash: compare without them. */
function revless(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v) => (key === '_rev' || key === 'rev' ? 'REV' : v)));
}

const allDocsCalls: object[] = [
  { keys: ['d001', 'nope', 'd003', 'd001', '_design/v', 'd059', '_local/x'], include_docs: true },
  { keys: ['d001', 'nope', 'd003'] },
  { keys: ['d009', 'd010', 'd011'], include_docs: true, descending: true, skip: 1, limit: 1 },
  { keys: [] },
  { keys: ['d002'], include_docs: true, conflicts: true },
  { include_docs: true },
  { include_docs: true, startkey: 'd005', endkey: 'd020', inclusive_end: false, skip: 2, limit: 7 },
  { include_docs: true, descending: true, startkey: 'd040', endkey: 'd030' },
  { include_docs: true, deleted: 'ok', startkey: 'd000', endkey: 'd012' },
  { startkey: 'd010', limit: 3 },
];

const findCalls: object[] = [
  { selector: { kind: 'a', n: { $gt: null } }, sort: [{ kind: 'asc' }, { n: 'asc' }], limit: 100 },
  { selector: { kind: 'a', n: { $gt: 2, $lt: 6 } }, sort: [{ kind: 'desc' }, { n: 'desc' }], limit: 100 },
  { selector: { kind: 'b', n: { $in: [1, 3] } }, limit: 100 },
  { selector: { kind: 'b', n: { $gte: 0 }, $or: [{ tag: 't1' }, { n: 6 }] }, sort: [{ kind: 'asc' }, { n: 'asc' }], limit: 100 },
  { selector: { kind: 'a', n: { $gt: 0 } }, sort: [{ kind: 'asc' }, { n: 'asc' }], limit: 3, skip: 2 },
  { selector: { tag: { $gte: 't1' } }, fields: ['_id', 'tag', 'nested.depth'], limit: 100 },
  { selector: { tag: { $gt: 't1' } }, limit: 100 },
  { selector: { kind: 'a' }, limit: 100 },
  { selector: { n: { $exists: true } }, limit: 100 },
  { selector: { _id: { $gt: 'd050' } }, limit: 100 },
];

const viewCalls: object[] = [
  { include_docs: true },
  { include_docs: true, key: 6 },
  { include_docs: true, startkey: 2, endkey: 4, descending: false, limit: 10, skip: 1 },
  { include_docs: true, keys: [6, 0, 42] },
];

async function sameAnswers(t: Test, plain: Pouch, batched: Pouch): Promise<void> {
  for (const call of allDocsCalls) {
    t.same(revless(await batched.allDocs(structuredClone(call))), revless(await plain.allDocs(structuredClone(call))), `allDocs ${JSON.stringify(call)}`);
  }
  for (const call of findCalls) {
    t.same(revless(await batched.find(structuredClone(call))), revless(await plain.find(structuredClone(call))), `find ${JSON.stringify(call)}`);
  }
  for (const call of viewCalls) {
    t.same(revless(await batched.query('v/byN', structuredClone(call))), revless(await plain.query('v/byN', structuredClone(call))), `view ${JSON.stringify(call)}`);
  }
}

t.test('Batched reads answer allDocs, find and view queries exactly as PouchDB does', async (t) => {
  const { plain, batched } = await twoDatabases(t);
  await sameAnswers(t, plain, batched);
  const rows = ((await batched.allDocs({ keys: ['d006'], include_docs: true })) as { rows: Array<{ doc: { updated?: boolean } }> }).rows;
  t.equal(rows[0].doc.updated, true, 'the latest revision');
});

t.test('A point read that fails falls back to PouchDB own read, with the same answers', async (t) => {
  const { plain, batched } = await twoDatabases(t, (id) => id === 'd020' || id.includes('d021'), 'none');
  await sameAnswers(t, plain, batched);
});

t.test('A store that answers garbage, or none at all, changes no answer', async (t) => {
  for (const rawLevel of ['broken', 'none'] as const) {
    const { plain, batched } = await twoDatabases(t, undefined, rawLevel);
    await sameAnswers(t, plain, batched);
  }
});

t.test('Only the store opened last, at that location, is claimed, and only once', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-reads-'));
  const db = new PouchDB(path.join(dir, 'one'), { db: leveldown });
  t.teardown(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  t.equal(claimRawLevel(path.join(dir, 'other')), undefined, 'another location');
  t.equal(claimRawLevel(path.join(dir, 'one')), undefined, 'already forgotten');
});

t.test('Wrapping twice, or a handle without the adapter methods, changes nothing', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-reads-'));
  const db = new PouchDB(path.join(dir, 'one'));
  t.teardown(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const once = withBatchedReads(db);
  const allDocs = (once as unknown as { _allDocs: unknown })._allDocs;
  withBatchedReads(once);
  t.equal((once as unknown as { _allDocs: unknown })._allDocs, allDocs, 'not wrapped twice');
  const other = { n: 1 };
  t.equal(withBatchedReads(other), other);
  t.same(other, { n: 1 });
});
