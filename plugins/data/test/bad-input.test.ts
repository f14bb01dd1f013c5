import t from 'tap';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

t.test('malformed JSON is 400 in the CouchDB style', async (t) => {
  const { call } = await setup(t);
  const res = await call('POST', `/data/${TYPE}/`, TYPE, '{"a": ');
  t.equal(res.statusCode, 400);
  t.match(res.json().error, /^code=400, message=/);
});

t.test('a body that is not a JSON object is 400', async (t) => {
  const { call } = await setup(t);
  for (const body of ['[1,2]', '"text"', '42', 'null']) {
    const res = await call('POST', `/data/${TYPE}/`, TYPE, body);
    t.equal(res.statusCode, 400, body);
    t.same(res.json(), { error: 'Bad Request(400): The request body must be a JSON object' }, body);
  }
  t.equal((await call('PUT', `/data/${TYPE}/x`, TYPE, '[1]')).statusCode, 400);
});

t.test('a 10 MB document is 413 under the kernel\'s body limit, and the server goes on', async (t) => {
  const { call } = await setup(t);
  const big = JSON.stringify({ blob: 'x'.repeat(10 * 1024 * 1024) });
  const res = await call('POST', `/data/${TYPE}/`, TYPE, big);
  t.equal(res.statusCode, 413);
  t.match(res.json().error, /^code=413, message=/);
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, { small: true })).statusCode, 201);
});

t.test('the bodyLimit setting raises the limit on /data routes only', async (t) => {
  const { call, tk } = await setup(t, { bodyLimit: 3 * 1024 * 1024 });
  const twoMiB = JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) });
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, twoMiB)).statusCode, 201);
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, JSON.stringify({ blob: 'x'.repeat(4 * 1024 * 1024) }))).statusCode, 413);
  const elsewhere = await tk.kernel.app.inject({ method: 'POST', url: '/auth/register', headers: { host: 'alice.example', 'content-type': 'application/json' }, payload: twoMiB });
  t.equal(elsewhere.statusCode, 413, 'other routes keep the kernel limit');
});

t.test('100,000 levels of nested arrays are refused with 400 and do not crash the process', async (t) => {
  const { call } = await setup(t);
  const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  for (const [method, url] of [
    ['POST', `/data/${TYPE}/`],
    ['PUT', `/data/${TYPE}/deep`],
    ['POST', `/data/${TYPE}/_find`],
    ['POST', `/data/${TYPE}/_bulk_docs`],
    ['POST', `/data/${TYPE}/_changes?filter=_selector`],
  ] as const) {
    const res = await call(method, url, TYPE, deep);
    t.equal(res.statusCode, 400, `${method} ${url}`);
    t.same(res.json(), { error: 'bad_request', reason: 'The JSON body is nested deeper than 256 levels' });
  }
  const objects = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, objects)).statusCode, 400);
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, { still: 'alive' })).statusCode, 201);
  const fine = JSON.stringify({ a: JSON.parse(`${'['.repeat(200)}1${']'.repeat(200)}`) });
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, fine)).statusCode, 201, '200 levels are fine');
});

t.test('_attachments in a body is 400: attachments are not supported', async (t) => {
  const { call, tk, inst } = await setup(t);
  const attachment = { _attachments: { 'a.txt': { content_type: 'text/plain', data: 'aGVsbG8=' } } };
  const post = await call('POST', `/data/${TYPE}/`, TYPE, { name: 'x', ...attachment });
  t.equal(post.statusCode, 400);
  t.same(post.json(), { error: 'bad_request', reason: 'Attachments are not supported: store file contents through /files' });
  t.equal((await call('PUT', `/data/${TYPE}/withatt`, TYPE, attachment)).statusCode, 400);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  t.equal((await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'doc', _rev: w.rev, ...attachment })).statusCode, 400);
});

t.test('unknown special members are 400 doc_validation; the read-only ones are dropped', async (t) => {
  const { call, tk, inst } = await setup(t);
  const res = await call('POST', `/data/${TYPE}/`, TYPE, { _foo: 1 });
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'doc_validation', reason: 'Bad special document member: _foo' });
  t.equal((await call('POST', `/data/${TYPE}/`, TYPE, { _type: TYPE })).statusCode, 400, 'POST keeps _type, as cozy does (CouchDB refuses it)');
  const ok = await call('PUT', `/data/${TYPE}/read-back`, TYPE, { _conflicts: [], _revs_info: [], n: 1 });
  t.equal(ok.statusCode, 200);
  const stored = await tk.kernel.store.get(inst, TYPE, 'read-back');
  t.notOk('_conflicts' in stored);
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [{ _id: 5 }] })).statusCode, 400, 'a non-string id');
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [{ _id: '' }] })).statusCode, 400, 'an empty id');
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [{ _id: 'a', _rev: 3 }] })).statusCode, 400, 'a non-string rev');
});

t.test('the replication endpoints the store cannot serve answer 501', async (t) => {
  const { call } = await setup(t);
  for (const [method, url] of [
    ['POST', `/data/${TYPE}/_bulk_get`],
    ['POST', `/data/${TYPE}/_revs_diff`],
    ['POST', `/data/${TYPE}/_ensure_full_commit`],
    ['GET', `/data/${TYPE}/_local/checkpoint`],
    ['PUT', `/data/${TYPE}/_local/checkpoint`],
  ] as const) {
    const res = await call(method, url, TYPE, method === 'GET' ? undefined : {});
    t.equal(res.statusCode, 501, `${method} ${url}`);
    t.equal(res.json().error, 'not_implemented');
  }
});

t.test('an unknown route under /data is a CouchDB-style 404', async (t) => {
  const { call } = await setup(t);
  const res = await call('GET', `/data/${TYPE}/a/b/c`, TYPE);
  t.equal(res.statusCode, 404);
  t.type(res.json().error, 'string');
});
