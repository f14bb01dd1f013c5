import t from 'tap';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import type { InstanceDoc } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

async function seed(tk: TestKernel, inst: InstanceDoc, ids: string[]): Promise<void> {
  for (const id of ids) {
    await tk.kernel.store.put(inst, TYPE, { _id: id, test: 'value', foo: { bar: 'one', baz: 'two', qux: 'quux' }, courge: 1 });
  }
}

t.test('GET /data/ welcomes, without a token', async (t) => {
  const { call } = await setup(t);
  const res = await call('GET', '/data/', null);
  t.equal(res.statusCode, 200);
  t.same(res.json(), { message: 'welcome to a cozy API' });
});

t.test('_all_docs lists every document with include_docs, design docs included, as CouchDB', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, ['a', 'b', 'c']);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['test'] }, ddoc: 'by-test' });
  const res = await call('GET', `/data/${TYPE}/_all_docs?include_docs=true`, TYPE);
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.total_rows, 4);
  t.equal(body.offset, 0);
  t.same(
    body.rows.map((r: { id: string }) => r.id),
    ['_design/by-test', 'a', 'b', 'c'],
  );
  t.match(body.rows[1], { id: 'a', key: 'a', value: { rev: /^1-/ }, doc: { _id: 'a', test: 'value', foo: { bar: 'one' } } });
});

t.test('_all_docs takes limit, skip, descending and JSON startkey / endkey', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, ['a', 'b', 'c', 'd']);
  const ids = async (qs: string) => (await call('GET', `/data/${TYPE}/_all_docs?${qs}`, TYPE)).json().rows.map((r: { id: string }) => r.id);
  t.same(await ids('limit=2'), ['a', 'b']);
  t.same(await ids('limit=2&skip=1'), ['b', 'c']);
  t.same(await ids('descending=true&limit=1'), ['d']);
  t.same(await ids(`startkey=${encodeURIComponent('"b"')}&endkey=${encodeURIComponent('"c"')}`), ['b', 'c']);
  t.same(await ids(`key=${encodeURIComponent('"c"')}`), ['c']);
  t.same(await ids(`keys=${encodeURIComponent('["d","a"]')}`), ['d', 'a']);
  const bad = await call('GET', `/data/${TYPE}/_all_docs?limit=abc`, TYPE);
  t.equal(bad.statusCode, 400);
  t.same(bad.json(), { error: 'query_parse_error', reason: 'Invalid value for integer: "abc"' });
  t.equal((await call('GET', `/data/${TYPE}/_all_docs?startkey=notjson`, TYPE)).statusCode, 400);
  t.equal((await call('GET', `/data/${TYPE}/_all_docs?include_docs=yes`, TYPE)).statusCode, 400);
});

t.test('POST _all_docs with keys answers missing keys with not_found rows', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, ['a', 'b']);
  const res = await call('POST', `/data/${TYPE}/_all_docs?include_docs=true`, TYPE, { keys: ['b', 'nope'] });
  t.equal(res.statusCode, 200);
  const rows = res.json().rows;
  t.match(rows[0], { id: 'b', doc: { _id: 'b' } });
  t.same(rows[1], { key: 'nope', error: 'not_found' });
  const bad = await call('POST', `/data/${TYPE}/_all_docs`, TYPE, { keys: 'a' });
  t.equal(bad.statusCode, 400);
});

t.test('_all_docs with Fields keeps those fields and drops key and value; DesignDocs=false skips design docs', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, ['a', 'b', 'c']);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['test'] }, ddoc: 'by-test' });
  const res = await call('GET', `/data/${TYPE}/_all_docs?include_docs=true&Fields=test,nosuchfield,foo.qux&DesignDocs=false`, TYPE);
  const body = res.json();
  t.equal(body.total_rows, 3);
  t.equal(body.offset, 0);
  t.same(body.rows[0], { id: 'a', doc: { test: 'value', foo: { qux: 'quux' } } });
  const noDesign = (await call('GET', `/data/${TYPE}/_all_docs?DesignDocs=false`, TYPE)).json();
  t.equal(noDesign.total_rows, 3);
  t.match(noDesign.rows[0], { id: 'a', key: 'a', value: { rev: /^1-/ } });
});

t.test('_all_docs of a doctype without database is CouchDB\'s 404', async (t) => {
  const { call } = await setup(t);
  const res = await call('GET', '/data/io.cozy.nottype/_all_docs', 'io.cozy.nottype');
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: 'not_found', reason: 'Database does not exist.' });
});

t.test('_normal_docs pages without design docs: limit, skip, bookmark, total_rows', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, ['one', 'three', 'two']);
  await tk.kernel.store.put(inst, TYPE, { _id: 'four', test: 'fourthvalue' });
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['test'] }, ddoc: 'by-test' });
  const first = (await call('GET', `/data/${TYPE}/_normal_docs?limit=2`, TYPE)).json();
  t.equal(first.total_rows, 4);
  t.same(
    first.rows.map((r: { _id: string }) => r._id),
    ['four', 'one'],
  );
  t.type(first.bookmark, 'string');
  t.not(first.bookmark, '');
  const skipped = (await call('GET', `/data/${TYPE}/_normal_docs?limit=2&skip=2`, TYPE)).json();
  t.equal(skipped.total_rows, 4);
  t.same(
    skipped.rows.map((r: { _id: string }) => r._id),
    ['three', 'two'],
  );
  const next = (await call('GET', `/data/${TYPE}/_normal_docs?limit=2&bookmark=${encodeURIComponent(first.bookmark)}`, TYPE)).json();
  t.equal(next.total_rows, 4);
  t.same(
    next.rows.map((r: { _id: string }) => r._id),
    ['three', 'two'],
  );
  const all = (await call('GET', `/data/${TYPE}/_normal_docs?limit=5000&skip=-3`, TYPE)).json();
  t.equal(all.rows.length, 4, 'an out-of-range limit is the default (100), a negative skip 0');
});

t.test('_normal_docs of an empty doctype has no bookmark; of a doctype without database a 404', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.createDatabase(inst, 'io.cozy.anothertype');
  const empty = (await call('GET', '/data/io.cozy.anothertype/_normal_docs', 'io.cozy.anothertype')).json();
  t.same(empty, { rows: [], total_rows: 0, bookmark: '' });
  t.equal((await call('GET', '/data/io.cozy.nottype/_normal_docs', 'io.cozy.nottype')).statusCode, 404);
});

t.test('_all_doctypes lists the readable doctypes that have a database', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, 'io.cozy.bank.accounts', { a: 1 });
  await tk.kernel.store.put(inst, 'io.cozy.files', { a: 1 });
  const res = await call('GET', '/data/_all_doctypes', 'io.cozy.doctypes');
  t.equal(res.statusCode, 200);
  const doctypes: string[] = res.json();
  t.ok(doctypes.includes('io.cozy.bank.accounts'), 'dashes are read back as dots');
  t.ok(doctypes.includes('io.cozy.files'));
  t.ok(doctypes.includes('io.cozy.settings'));
  t.notOk(doctypes.includes('io.cozy.oauth.clients'), 'unreadable ones are left out');
  t.notOk(doctypes.includes('io.cozy.permissions'));
  const bob = await tk.createInstance('bob.example');
  await tk.kernel.store.put(bob, 'io.cozy.bob.only', { a: 1 });
  t.notOk((await call('GET', '/data/_all_doctypes', 'io.cozy.doctypes')).json().includes('io.cozy.bob.only'), 'another instance\'s doctypes are not listed');
});

t.test('GET /data/:doctype/ gives the database info; 404 when there is none', async (t) => {
  const { call, tk, inst } = await setup(t);
  await seed(tk, inst, ['a', 'b']);
  const res = await call('GET', `/data/${TYPE}/`, TYPE);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { doc_count: 2, doc_del_count: 0, update_seq: /\d/, db_name: /^cozy[0-9a-f]+\/io-cozy-events$/ });
  const none = await call('GET', '/data/io.cozy.nottype/', 'io.cozy.nottype');
  t.equal(none.statusCode, 404);
  t.same(none.json(), { error: 'not_found', reason: 'Database does not exist.' });
});

t.test('PUT /data/:doctype/ creates the database (412 when it exists); DELETE drops it', async (t) => {
  const { call, tk, inst } = await setup(t);
  const type = 'io.cozy.newtype';
  const created = await call('PUT', `/data/${type}/`, type);
  t.equal(created.statusCode, 201);
  t.same(created.json(), { ok: true });
  const again = await call('PUT', `/data/${type}/`, type);
  t.equal(again.statusCode, 412);
  t.equal(again.json().error, 'file_exists');
  await tk.kernel.store.put(inst, type, { _id: 'x' });
  const dropped = await call('DELETE', `/data/${type}/`, type);
  t.equal(dropped.statusCode, 200);
  t.same(dropped.json(), { ok: true, deleted: true });
  t.notOk(await tk.kernel.store.databaseExists(inst, type));
  t.equal((await call('DELETE', `/data/${type}/`, type)).statusCode, 404);
  t.equal((await call('DELETE', '/data/io.cozy.forbidden/', type)).statusCode, 403);
});
