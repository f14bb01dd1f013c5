import t from 'tap';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import type { InstanceDoc } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

async function seed(tk: TestKernel, inst: InstanceDoc, n: number): Promise<void> {
  const docs = Array.from({ length: n }, (_, i) => ({ _id: `doc-${String(i).padStart(4, '0')}`, test: 'value', rank: i, tags: i % 2 ? ['odd'] : ['even'] }));
  await tk.kernel.store.bulkDocs(inst, TYPE, docs);
}

t.test('_index creates an index (then says it exists), on a database it creates if needed', async (t) => {
  const { call } = await setup(t);
  const created = await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['foo'] } });
  t.equal(created.statusCode, 200);
  t.match(created.json(), { result: 'created', id: /^_design\//, name: /./ });
  const exists = await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['foo'] } });
  t.match(exists.json(), { result: 'exists', id: created.json().id });
  const elsewhere = await call('POST', '/data/io.cozy.nottype/_index', 'io.cozy.nottype', { index: { fields: ['foo'] } });
  t.equal(elsewhere.json().result, 'created');
});

t.test('_index takes ddoc with or without the _design/ prefix, and a partial filter', async (t) => {
  const { call } = await setup(t);
  const plain = await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['a'] }, ddoc: 'by_a' });
  t.equal(plain.json().id, '_design/by_a');
  const prefixed = await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['b'] }, ddoc: '_design/by_b', name: 'b-index' });
  t.match(prefixed.json(), { id: '_design/by_b', name: 'b-index' });
  const partial = await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['c'], partial_filter_selector: { trashed: { $ne: true } } }, ddoc: 'by_c' });
  t.equal(partial.statusCode, 200);
});

t.test('_index refuses malformed definitions with 400', async (t) => {
  const { call } = await setup(t);
  for (const body of [
    {},
    { index: { fields: [] } },
    { index: { fields: [42] } },
    { index: { fields: [{ a: 'up' }] } },
    { index: { fields: ['a'] }, type: 'text' },
    { index: { fields: ['a'] }, ddoc: '' },
    { index: { fields: ['a'], partial_filter_selector: { a: { $foo: 1 } } } },
    [1, 2],
  ]) {
    t.equal((await call('POST', `/data/${TYPE}/_index`, TYPE, body)).statusCode, 400, JSON.stringify(body));
  }
});

t.test('_find without any usable index is 400 no_index, the text cozy-client creates the index on', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 3);
  const res = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { 'no-index-for-this-field': 'value' } });
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.match(body.error, /no_index/);
  t.match(body.reason, /no matching index/);
});

t.test('_find with an index answers docs, limit, next and bookmark', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 3);
  await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['test'] } });
  const res = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { test: 'value' } });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.docs.length, 3);
  t.equal(body.limit, 100);
  t.equal(body.next, false);
  t.type(body.bookmark, 'string');
  t.notOk('execution_stats' in body);
});

t.test('_find pages: a missing or too large limit is 100, next says the page was full, bookmarks continue', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 200);
  await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['test'] } });
  const find = async (body: Record<string, unknown>) => (await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { test: 'value' }, ...body })).json();
  const first = await find({});
  t.equal(first.docs.length, 100);
  t.equal(first.limit, 100);
  t.equal(first.next, true);
  const tooLarge = await find({ limit: 5000 });
  t.equal(tooLarge.limit, 100, 'not clamped to 1000');
  t.equal(tooLarge.docs.length, 100);
  const ten = await find({ limit: 10 });
  t.equal(ten.docs.length, 10);
  t.equal(ten.next, true);
  const second = await find({ bookmark: first.bookmark });
  t.equal(second.docs.length, 100);
  t.equal(second.next, true);
  t.equal(new Set([...first.docs, ...second.docs].map((d: { _id: string }) => d._id)).size, 200, 'no doc twice');
  const third = await find({ bookmark: second.bookmark });
  t.equal(third.docs.length, 0);
  t.equal(third.next, false);
  const nothing = await find({ selector: { test: 'novalue' } });
  t.equal(nothing.docs.length, 0);
  t.equal(nothing.bookmark, '');
});

t.test('_find takes fields, sort and skip', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 10);
  await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['rank'] }, ddoc: 'by_rank' });
  const res = await call('POST', `/data/${TYPE}/_find`, TYPE, {
    selector: { rank: { $gte: 2 } },
    sort: [{ rank: 'desc' }],
    fields: ['_id', 'rank'],
    limit: 3,
    skip: 1,
    use_index: '_design/by_rank',
  });
  t.equal(res.statusCode, 200);
  t.same(res.json().docs, [
    { _id: 'doc-0008', rank: 8 },
    { _id: 'doc-0007', rank: 7 },
    { _id: 'doc-0006', rank: 6 },
  ]);
});

t.test('_find naming a missing index falls back to another one with CouchDB\'s warning', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 5);
  await call('POST', `/data/${TYPE}/_index`, TYPE, { index: { fields: ['rank'] }, ddoc: 'by_rank' });
  const res = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { rank: { $gt: 2 } }, use_index: '_design/by_missing' });
  t.equal(res.statusCode, 200);
  t.equal(res.json().docs.length, 2);
  t.match(res.json().warning, /_design\/by_missing was not used because it does not contain a valid index for this query/);
  const noneFits = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { other: 1 }, use_index: '_design/by_missing' });
  t.equal(noneFits.statusCode, 400);
  t.equal(noneFits.json().error, 'no_index');
});

t.test('_find with a sort no index serves is 400 no_index', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 5);
  const res = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { rank: { $gt: 0 } }, sort: ['rank'] });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, 'no_index');
});

t.test('_find of a doctype without database is a 404', async (t) => {
  const { call } = await setup(t);
  const res = await call('POST', '/data/io.cozy.nottype/_find', 'io.cozy.nottype', { selector: { a: 1 } });
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: 'not_found', reason: 'Database does not exist.' });
});

t.test('_find refuses unknown operators and malformed requests with 400', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, 1);
  const unknown = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { rank: { $foo: 1 } } });
  t.equal(unknown.statusCode, 400);
  t.same(unknown.json(), { error: 'invalid_operator', reason: 'Invalid operator: $foo' });
  const nested = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { $or: [{ a: 1 }, { b: { $where: 'x' } }] } });
  t.equal(nested.json().error, 'invalid_operator');
  for (const body of [
    {},
    { selector: 'a' },
    { selector: { a: { $in: 1 } } },
    { selector: { a: { $regex: '(' } } },
    { selector: { a: { $mod: [0, 1] } } },
    { selector: { a: { $exists: 'yes' } } },
    { selector: { $and: {} } },
    { selector: { a: 1 }, limit: -1 },
    { selector: { a: 1 }, limit: 2.5 },
    { selector: { a: 1 }, skip: 'x' },
    { selector: { a: 1 }, fields: 'a' },
    { selector: { a: 1 }, sort: [{ a: 'up' }] },
    { selector: { a: 1 }, use_index: 3 },
    { selector: { a: 1 }, bookmark: 7 },
  ]) {
    t.equal((await call('POST', `/data/${TYPE}/_find`, TYPE, body)).statusCode, 400, JSON.stringify(body));
  }
});
