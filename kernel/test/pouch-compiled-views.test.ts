import { createRequire } from 'node:module';
import t from 'tap';
import { compiledViews } from '../src/store/pouch-compiled-views.ts';

const require = createRequire(import.meta.url);
type Db = {
  bulkDocs(docs: object[]): Promise<unknown>;
  put(doc: object): Promise<unknown>;
  query(view: string, opts?: object): Promise<unknown>;
  destroy(): Promise<unknown>;
};
type PouchCtor = { plugin(p: unknown): PouchCtor; defaults(o: object): PouchCtor; new (name: string, opts: object): Db };

const PouchDB = require('pouchdb-node') as PouchCtor;
const stock = PouchDB.defaults({}).plugin(require('pouchdb-adapter-memory'));
// A constructor of its own, so the plugin does not change the stock one the answers are compared with.
const compiled = PouchDB.defaults({}).plugin(require('pouchdb-adapter-memory')).plugin(compiledViews);

// PouchDB logs each document whose map function throws; the custom view throws on purpose.
const consoleError = console.error;
console.error = () => undefined;
t.teardown(() => { console.error = consoleError; });

const ddoc = {
  _id: '_design/t',
  views: {
    byTag: { map: 'function (doc) { if (doc.tags) doc.tags.forEach(function (tag) { emit([tag, doc.n], doc.n); }); }', reduce: '_sum' },
    stats: { map: 'function (doc) { if (typeof doc.n === "number") emit(doc.kind, doc.n); }', reduce: '_stats' },
    count: { map: 'function (doc) { emit(doc.kind); }', reduce: '_count' },
    custom: {
      map: 'function (doc) { if (doc.n > 2) throw new Error("map failure on a doc"); emit(toJSON(doc.tags || null), isArray(doc.tags)); }',
      reduce: 'function (keys, values, rereduce) { return values.length; }',
    },
    plain: { map: 'function (doc) { emit(doc._id, { kind: doc.kind }); }' },
  },
};
const docs = Array.from({ length: 40 }, (_, i) => ({
  _id: `d${String(i).padStart(2, '0')}`, n: i % 7, kind: i % 3 === 0 ? 'a' : 'b', ...(i % 4 === 0 ? {} : { tags: [`t${i % 5}`, 'all'] }),
}));

const queries: Array<[string, object]> = [
  ['t/byTag', { reduce: false }],
  ['t/byTag', { group: true }],
  ['t/byTag', { group_level: 1 }],
  ['t/byTag', { startkey: ['all'], endkey: ['all', {}], reduce: false, descending: false }],
  ['t/stats', { group: true }],
  ['t/count', {}],
  ['t/count', { group: true }],
  ['t/custom', { reduce: false }],
  ['t/custom', { group: true }],
  ['t/plain', { include_docs: true, limit: 5, skip: 3 }],
  ['t/plain', { keys: ['d03', 'd10', 'nope'] }],
];

t.test('compiled views answer exactly as pouchdb-node, also after updates and deletes', async (t) => {
  const a = new stock(`stock-${process.pid}`, { adapter: 'memory' });
  const b = new compiled(`compiled-${process.pid}`, { adapter: 'memory' });
  t.teardown(async () => { await a.destroy(); await b.destroy(); });
  for (const db of [a, b]) {
    await db.put(ddoc);
    await db.bulkDocs(docs);
  }
  const compare = async (label: string) => {
    for (const [view, opts] of queries) t.same(await b.query(view, opts), await a.query(view, opts), `${label}: ${view} ${JSON.stringify(opts)}`);
  };
  await compare('first build');
  for (const db of [a, b]) {
    const rows = (await db.query('t/plain', { include_docs: true, limit: 10 })) as { rows: Array<{ doc: { _id: string; _rev: string; n: number } }> };
    await db.bulkDocs(rows.rows.map((r, i) => (i % 2 ? { ...r.doc, n: r.doc.n + 10, tags: ['new'] } : { ...r.doc, _deleted: true })));
  }
  await compare('after updates');
});

t.test('a view whose map is not a function is refused, not run', async (t) => {
  const b = new compiled(`compiled-bad-${process.pid}`, { adapter: 'memory' });
  t.teardown(() => b.destroy());
  await b.put({ _id: '_design/bad', views: { v: { map: '42' } } });
  await b.put({ _id: 'x' });
  await t.rejects(b.query('bad/v'));
});
