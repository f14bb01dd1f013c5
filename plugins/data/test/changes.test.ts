import t from 'tap';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import type { InstanceDoc } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

async function write(tk: TestKernel, inst: InstanceDoc, docs: Array<Record<string, unknown>>): Promise<void> {
  for (const doc of docs) await tk.kernel.store.put(inst, TYPE, doc);
}

t.test('_changes lists changes since a seq, with limit, last_seq and pending', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.createDatabase(inst, TYPE);
  const start = (await call('GET', `/data/${TYPE}/_changes?style=all_docs`, TYPE)).json();
  t.type(start.last_seq, 'string');
  await write(tk, inst, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]);
  const two = (await call('GET', `/data/${TYPE}/_changes?limit=2&since=${start.last_seq}`, TYPE)).json();
  t.equal(two.results.length, 2);
  t.equal(two.pending, 1);
  const all = (await call('GET', `/data/${TYPE}/_changes?since=${start.last_seq}`, TYPE)).json();
  t.equal(all.results.length, 3);
  t.match(all.results[0], { id: 'a', seq: /\d/, doc: null, changes: [{ rev: /^1-/ }] });
  const rest = (await call('GET', `/data/${TYPE}/_changes?since=${two.last_seq}`, TYPE)).json();
  t.same(
    rest.results.map((r: { id: string }) => r.id),
    ['c'],
  );
});

t.test('_changes with include_docs, descending, and deleted docs marked', async (t) => {
  const { call, tk, inst } = await setup(t);
  await write(tk, inst, [{ _id: 'a', n: 1 }, { _id: 'b', n: 2 }]);
  const b = await tk.kernel.store.get(inst, TYPE, 'b');
  await tk.kernel.store.delete(inst, TYPE, 'b', b._rev as string);
  const res = (await call('GET', `/data/${TYPE}/_changes?include_docs=true&descending=true`, TYPE)).json();
  t.same(
    res.results.map((r: { id: string }) => r.id),
    ['b', 'a'],
  );
  t.match(res.results[0], { id: 'b', deleted: true, doc: { _id: 'b', _deleted: true } });
  t.match(res.results[1], { id: 'a', doc: { _id: 'a', n: 1 } });
  t.equal((await call('GET', `/data/${TYPE}/_changes?heartbeat=1000&timeout=10&_nonce=x&seq_interval=5&feed=normal`, TYPE)).statusCode, 200, 'PouchDB\'s extra parameters are accepted');
});

t.test('_changes refuses other feeds and styles, unknown parameters and a bad limit', async (t) => {
  const { call, tk, inst } = await setup(t);
  await write(tk, inst, [{ _id: 'a' }]);
  const cases: Array<[string, string]> = [
    ['feed=continuous', "Unsuported feed value 'continuous'"],
    ['feed=longpoll', "Unsuported feed value 'longpoll'"],
    ['style=not_a_valid_style', "Unsuported style value 'not_a_valid_style'"],
    ['limit=not_a_number', `Invalid limit value 'not_a_number': strconv.Atoi: parsing "not_a_number": invalid syntax`],
    ['inlude_docs=true', "Unsupported query parameter 'inlude_docs'"],
    ['filter=_doc_ids', "Unsupported query parameter 'filter'"],
  ];
  for (const [qs, detail] of cases) {
    const res = await call('GET', `/data/${TYPE}/_changes?${qs}`, TYPE);
    t.equal(res.statusCode, 400, qs);
    t.same(res.json(), { error: `Bad Request(400): ${detail}` }, qs);
  }
  const post = await call('POST', `/data/${TYPE}/_changes?filter=by_app/thing`, TYPE, {});
  t.equal(post.statusCode, 400, 'filters of design documents are not allowed');
  t.equal((await call('POST', `/data/${TYPE}/_changes?feed=continuous`, TYPE, {})).statusCode, 400);
});

t.test('POST _changes with filter=_doc_ids follows only those documents', async (t) => {
  const { call, tk, inst } = await setup(t);
  await write(tk, inst, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]);
  const res = await call('POST', `/data/${TYPE}/_changes?include_docs=true&filter=_doc_ids`, TYPE, { doc_ids: ['a', 'c'] });
  t.equal(res.statusCode, 200);
  t.same(
    res.json().results.map((r: { id: string }) => r.id),
    ['a', 'c'],
  );
  t.equal((await call('POST', `/data/${TYPE}/_changes?filter=_doc_ids`, TYPE, { doc_ids: 'a' })).statusCode, 400);
});

t.test('POST _changes with filter=_selector keeps the matching changes, then applies the limit', async (t) => {
  const { call, tk, inst } = await setup(t);
  await write(tk, inst, [
    { _id: 'a', kind: 'todo', n: 1 },
    { _id: 'b', kind: 'note', n: 2 },
    { _id: 'c', kind: 'todo', n: 3 },
    { _id: 'd', kind: 'todo', n: 4 },
  ]);
  const url = `/data/${TYPE}/_changes?filter=_selector`;
  const all = (await call('POST', url, TYPE, { selector: { kind: 'todo', n: { $gt: 1 } } })).json();
  t.same(
    all.results.map((r: { id: string }) => r.id),
    ['c', 'd'],
  );
  t.equal(all.results[0].doc, null, 'no docs unless asked');
  t.equal(all.pending, 0);
  const limited = (await call('POST', `${url}&limit=1&include_docs=true`, TYPE, { selector: { kind: 'todo' } })).json();
  t.same(
    limited.results.map((r: { id: string }) => r.id),
    ['a'],
  );
  t.equal(limited.results[0].doc.kind, 'todo');
  t.equal(limited.pending, 2);
  const next = (await call('POST', `${url}&since=${limited.last_seq}`, TYPE, { selector: { kind: 'todo' } })).json();
  t.same(
    next.results.map((r: { id: string }) => r.id),
    ['c', 'd'],
  );
  t.equal((await call('POST', url, TYPE, {})).statusCode, 400, 'a selector is required');
  const unknown = await call('POST', url, TYPE, { selector: { kind: { $bogus: 1 } } });
  t.equal(unknown.statusCode, 400);
  t.equal(unknown.json().error, 'invalid_operator');
});

t.test('POST _changes with filter=_design keeps the design documents', async (t) => {
  const { call, tk, inst } = await setup(t);
  await write(tk, inst, [{ _id: 'a' }]);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['x'] }, ddoc: 'by-x' });
  const res = (await call('POST', `/data/${TYPE}/_changes?filter=_design`, TYPE, {})).json();
  t.same(
    res.results.map((r: { id: string }) => r.id),
    ['_design/by-x'],
  );
});

t.test('_changes of a doctype without database is a 404; an invalid since a 400', async (t) => {
  const { call, tk, inst } = await setup(t);
  t.equal((await call('GET', '/data/io.cozy.nottype/_changes', 'io.cozy.nottype')).statusCode, 404);
  await write(tk, inst, [{ _id: 'a' }]);
  t.equal((await call('GET', `/data/${TYPE}/_changes?since=garbage`, TYPE)).statusCode, 400);
  t.equal((await call('GET', `/data/${TYPE}/_changes?since=now`, TYPE)).json().results.length, 0);
});

t.test('a $regex chosen to backtrack exponentially in the _selector filter answers at once; backreferences are a 400', async (t) => {
  const { call, tk, inst } = await setup(t);
  // The filter runs the pattern here: with V8's backtracking engine alone, this title holds the thread for minutes.
  await write(tk, inst, [{ _id: 'evil', title: `${'a'.repeat(32)}!` }, { _id: 'ok', title: 'abc' }]);
  const url = `/data/${TYPE}/_changes?filter=_selector`;
  const started = Date.now();
  const res = await call('POST', url, TYPE, { selector: { title: { $regex: '^(a+)+$' } } });
  t.equal(res.statusCode, 200);
  t.same(res.json().results, []);
  t.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
  t.same((await call('POST', url, TYPE, { selector: { title: { $regex: '^ab' } } })).json().results.map((r: { id: string }) => r.id), ['ok']);
  for (const pattern of ['^(a+)+\\1$', '(?=a)a']) {
    const refused = await call('POST', url, TYPE, { selector: { title: { $regex: pattern } } });
    t.equal(refused.statusCode, 400, pattern);
  }
});
