import t from 'tap';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

t.test('POST creates a document: 201 with ok, id, rev, type and the data with _type', async (t) => {
  const { call, tk, inst } = await setup(t);
  const res = await call('POST', `/data/${TYPE}/`, TYPE, { somefield: 'avalue' });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.match(body, { ok: true, id: /^[0-9a-f]{32}$/, rev: /^1-/, type: TYPE });
  t.same(body.data, { somefield: 'avalue', _id: body.id, _rev: body.rev, _type: TYPE });
  const stored = await tk.kernel.store.get(inst, TYPE, body.id);
  t.equal(stored.somefield, 'avalue');
  t.notOk('_type' in stored, '_type is not stored');
});

t.test('POST into a doctype never written creates its database', async (t) => {
  const { call } = await setup(t);
  const res = await call('POST', '/data/io.cozy.anothertype/', 'io.cozy.anothertype', { somefield: 'avalue' });
  t.equal(res.statusCode, 201);
  t.equal(res.json().type, 'io.cozy.anothertype');
});

t.test('POST with an _id in the body is 400 defined_id', async (t) => {
  const { call } = await setup(t);
  const res = await call('POST', `/data/${TYPE}/`, TYPE, { _id: 'this-should-not-be-an-id', somefield: 'avalue' });
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'defined_id', reason: 'document _id should be empty' });
});

t.test('GET answers the document with _type; ids with a slash work when URL-encoded', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'with/slash', test: 'valueslash' });
  const res = await call('GET', `/data/${TYPE}/with%2Fslash`, TYPE);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { _id: 'with/slash', _rev: /^1-/, _type: TYPE, test: 'valueslash' });
});

t.test('GET of a missing doc is 404 missing, in a doctype without database 404 wrong_doctype', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'exists' });
  const missing = await call('GET', `/data/${TYPE}/NOTID`, TYPE);
  t.equal(missing.statusCode, 404);
  t.same(missing.json(), { error: 'not_found', reason: 'missing' });
  const wrong = await call('GET', '/data/io.cozy.nottype/NOTID', 'io.cozy.nottype');
  t.equal(wrong.statusCode, 404);
  t.same(wrong.json(), { error: 'not_found', reason: 'wrong_doctype' });
});

t.test('GET of a deleted doc is a 404', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'gone' });
  await tk.kernel.store.delete(inst, TYPE, 'gone', w.rev);
  const res = await call('GET', `/data/${TYPE}/gone`, TYPE);
  t.equal(res.statusCode, 404);
  t.match(res.json(), { error: 'not_found', reason: /^(deleted|missing)$/ });
});

t.test('ids starting with an underscore are 400 bad_id, even without a token', async (t) => {
  const { call } = await setup(t);
  for (const [method, scope] of [
    ['GET', TYPE],
    ['GET', null],
    ['DELETE', TYPE],
  ] as const) {
    const res = await call(method, `/data/${TYPE}/_foo${method === 'DELETE' ? '?rev=1-a' : ''}`, scope);
    t.equal(res.statusCode, 400, `${method} with ${scope ?? 'no token'}`);
    t.same(res.json(), { error: 'bad_id', reason: 'Unsuported couchdb operation _foo' });
  }
  const put = await call('PUT', `/data/${TYPE}/_foo`, TYPE, { a: 1 });
  t.equal(put.statusCode, 400);
  t.equal(put.json().error, 'bad_id');
});

t.test('without a token reads and writes are 401; with a bad token 400 Invalid JWT token', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  t.equal((await call('GET', `/data/${TYPE}/doc`, null)).statusCode, 401);
  t.equal((await call('GET', '/data/no.such.doctype/id', null)).statusCode, 401);
  t.equal((await call('GET', `/data/${TYPE}/no.such.id`, null)).statusCode, 401);
  const noToken = await call('POST', `/data/${TYPE}/`, null, { a: 1 });
  t.equal(noToken.statusCode, 401);
  t.same(noToken.json(), { error: 'code=401, message=No token in request' });
  const bad = await tk.kernel.app.inject({ url: `/data/${TYPE}/doc`, headers: { host: 'alice.example', authorization: 'Bearer not.a.token' } });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().error, /Invalid JWT token/);
  t.match(bad.headers['www-authenticate'], /invalid_token/);
});

t.test('PUT with _id and _rev updates; the answer has the new rev and data', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc', test: 'value' });
  const res = await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'doc', _rev: w.rev, test: 'value', somefield: 'anewvalue' });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.match(body, { ok: true, id: 'doc', rev: /^2-/, type: TYPE });
  t.same(body.data, { _id: 'doc', _rev: body.rev, test: 'value', somefield: 'anewvalue', _type: TYPE });
});

t.test('PUT drops the _type a client sends back with the document it read', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const res = await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'doc', _rev: w.rev, _type: TYPE, n: 1 });
  t.equal(res.statusCode, 200);
  t.notOk('_type' in (await tk.kernel.store.get(inst, TYPE, 'doc')));
});

t.test('PUT without _id and _rev creates the document with the URL id: 200', async (t) => {
  const { call } = await setup(t);
  const res = await call('PUT', `/data/${TYPE}/specific-id`, TYPE, { test: 'value', somefield: 'anewvalue' });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { ok: true, id: 'specific-id', rev: /^1-/, data: { _id: 'specific-id', somefield: 'anewvalue', _type: TYPE } });
  const again = await call('PUT', `/data/${TYPE}/specific-id`, TYPE, { test: 'value' });
  t.equal(again.statusCode, 409, 'a second creation with the same id conflicts');
});

t.test('PUT with only one of _id and _rev, or another id than the URL, is 400', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const noRev = await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'doc', test: 1 });
  t.equal(noRev.statusCode, 400);
  t.same(noRev.json(), {
    error: 'Bad Request(400): You must either provide an _id and _rev in document (update) or neither (create with fixed id).',
  });
  t.equal((await call('PUT', `/data/${TYPE}/doc`, TYPE, { _rev: w.rev })).statusCode, 400);
  const otherId = await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'this is not the id in the URL', _rev: w.rev });
  t.equal(otherId.statusCode, 400);
  t.same(otherId.json(), { error: 'Bad Request(400): document _id doesnt match url' });
});

t.test('PUT with a stale rev is 409; on a missing doc 404; in a doctype without database wrong_doctype', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  t.equal((await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'doc', _rev: w.rev, v: 1 })).statusCode, 200);
  const stale = await call('PUT', `/data/${TYPE}/doc`, TYPE, { _id: 'doc', _rev: w.rev, v: 2 });
  t.equal(stale.statusCode, 409);
  t.same(stale.json(), { error: 'conflict', reason: 'Document update conflict.' });
  const missing = await call('PUT', `/data/${TYPE}/nope`, TYPE, { _id: 'nope', _rev: w.rev });
  t.equal(missing.statusCode, 404);
  const wrong = await call('PUT', '/data/io.cozy.nottype/nope', 'io.cozy.nottype', { _id: 'nope', _rev: w.rev });
  t.same(wrong.json(), { error: 'not_found', reason: 'wrong_doctype' });
});

t.test('DELETE with If-Match or ?rev deletes: ok, id, new rev, type, deleted', async (t) => {
  const { call, tk, inst } = await setup(t);
  const a = await tk.kernel.store.put(inst, TYPE, { _id: 'a' });
  const b = await tk.kernel.store.put(inst, TYPE, { _id: 'b' });
  const byHeader = await call('DELETE', `/data/${TYPE}/a`, TYPE, undefined, { 'if-match': a.rev });
  t.equal(byHeader.statusCode, 200);
  t.match(byHeader.json(), { ok: true, id: 'a', rev: /^2-/, type: TYPE, deleted: true });
  const byQuery = await call('DELETE', `/data/${TYPE}/b?rev=${b.rev}`, TYPE);
  t.equal(byQuery.statusCode, 200);
  const both = await tk.kernel.store.put(inst, TYPE, { _id: 'c' });
  t.equal((await call('DELETE', `/data/${TYPE}/c?rev=${both.rev}`, TYPE, undefined, { 'if-match': both.rev })).statusCode, 200, 'both, equal');
});

t.test('DELETE without a rev, or with a query rev and If-Match that differ, is 400; a wrong rev 409', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const none = await call('DELETE', `/data/${TYPE}/doc`, TYPE);
  t.equal(none.statusCode, 400);
  t.same(none.json(), { error: 'Bad Request(400): delete without revision' });
  const mismatch = await call('DELETE', `/data/${TYPE}/doc?rev=1-238238232322121`, TYPE, undefined, { 'if-match': '1-23823823231' });
  t.equal(mismatch.statusCode, 400);
  t.same(mismatch.json(), { error: 'Bad Request(400): If-Match Header and rev query parameters mismatch' });
  t.equal((await call('DELETE', `/data/${TYPE}/doc`, TYPE, undefined, { 'if-match': '1-238238232322121' })).statusCode, 409);
  t.equal((await call('DELETE', `/data/${TYPE}/doc?rev=${w.rev}`, TYPE)).statusCode, 200);
  t.equal((await call('DELETE', `/data/${TYPE}/missing?rev=${w.rev}`, TYPE)).statusCode, 404);
});

t.test('every write through /data emits its doc event with the old and new document', async (t) => {
  const { call, tk } = await setup(t);
  const events: Array<{ verb: string; id: string; oldRev?: string }> = [];
  tk.kernel.events.on((e) => {
    if (e.doctype === TYPE) events.push({ verb: e.verb, id: e.doc._id, oldRev: e.old?._rev });
  });
  const created = (await call('POST', `/data/${TYPE}/`, TYPE, { a: 1 })).json();
  const updated = (await call('PUT', `/data/${TYPE}/${created.id}`, TYPE, { _id: created.id, _rev: created.rev, a: 2 })).json();
  await call('PUT', `/data/${TYPE}/fixed`, TYPE, { b: 1 });
  await call('DELETE', `/data/${TYPE}/${created.id}?rev=${updated.rev}`, TYPE);
  await new Promise((r) => setImmediate(r));
  t.same(events, [
    { verb: 'CREATED', id: created.id, oldRev: undefined },
    { verb: 'UPDATED', id: created.id, oldRev: created.rev },
    { verb: 'CREATED', id: 'fixed', oldRev: undefined },
    { verb: 'DELETED', id: created.id, oldRev: updated.rev },
  ]);
});

t.test('GET with revs=true is 501: revision histories are not served', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const res = await call('GET', `/data/${TYPE}/doc?revs=true`, TYPE);
  t.equal(res.statusCode, 501);
  t.equal(res.json().error, 'not_implemented');
});
