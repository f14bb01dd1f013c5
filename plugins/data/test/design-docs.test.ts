import t from 'tap';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

t.test('_design_docs lists the design docs (with include_docs as cozy-client asks) and GET _design/:ddoc reads one', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'plain' });
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['foo'] }, ddoc: 'myindex' });
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['bar'] }, ddoc: 'other' });
  const list = await call('GET', `/data/${TYPE}/_design_docs?include_docs=true`, TYPE);
  t.equal(list.statusCode, 200);
  const body = list.json();
  t.equal(body.total_rows, 2);
  t.same(
    body.rows.map((r: { id: string }) => r.id),
    ['_design/myindex', '_design/other'],
  );
  t.match(body.rows[0], { value: { rev: /^1-/ }, doc: { language: 'query', views: {} } });
  const limited = (await call('GET', `/data/${TYPE}/_design_docs?limit=1`, TYPE)).json();
  t.equal(limited.rows.length, 1);
  t.equal(limited.total_rows, 2, 'total_rows counts every design doc');
  const desc = (await call('GET', `/data/${TYPE}/_design_docs?descending=true`, TYPE)).json();
  t.equal(desc.rows[0].id, '_design/other');
  const one = await call('GET', `/data/${TYPE}/_design/myindex`, TYPE);
  t.equal(one.statusCode, 200);
  t.match(one.json(), { _id: '_design/myindex', _rev: /^1-/, language: 'query' });
  t.equal((await call('GET', `/data/${TYPE}/_design/nope`, TYPE)).statusCode, 404);
});

t.test('DELETE _design/:ddoc needs a rev and removes it', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['foo'] }, ddoc: 'gone' });
  const rev = (await call('GET', `/data/${TYPE}/_design/gone`, TYPE)).json()._rev;
  const noRev = await call('DELETE', `/data/${TYPE}/_design/gone`, TYPE);
  t.equal(noRev.statusCode, 400);
  t.same(noRev.json(), { error: 'You must pass a rev param' });
  const res = await call('DELETE', `/data/${TYPE}/_design/gone?rev=${rev}`, TYPE);
  t.equal(res.statusCode, 200);
  t.match(res.json(), { ok: true, id: '_design/gone', rev: /^2-/ });
  t.equal((await call('GET', `/data/${TYPE}/_design_docs`, TYPE)).json().rows.length, 0);
  t.equal((await call('DELETE', `/data/${TYPE}/_design/gone?rev=${rev}`, TYPE)).statusCode, 409, 'the old rev is stale');
});

t.test('stack-owned design docs cannot be deleted: 403', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, 'io.cozy.files', { _id: '_design/dir-by-path', language: 'query', views: {} });
  const res = await call('DELETE', `/data/io.cozy.files/_design/dir-by-path?rev=${w.rev}`, 'io.cozy.files');
  t.equal(res.statusCode, 403);
  t.same(res.json(), { error: 'This design doc cannot be deleted' });
  const view = await call('DELETE', `/data/io.cozy.files/_design/by-parent-type-name?rev=${w.rev}`, 'io.cozy.files');
  t.equal(view.statusCode, 403);
  t.ok(await tk.kernel.store.get(inst, 'io.cozy.files', '_design/dir-by-path'), 'still there');
  // The views other plugins of this server rely on are protected the same way.
  for (const [doctype, ddoc] of [['io.cozy.files', 'cozy-ts-trash-usage'], ['io.cozy.contacts', 'cozy-sync'], ['io.cozy.calendar.events', 'cozy-sync']]) {
    const own = await tk.kernel.store.put(inst, doctype, { _id: `_design/${ddoc}`, language: 'javascript', views: {} });
    const del = await call('DELETE', `/data/${doctype}/_design/${ddoc}?rev=${own.rev}`, doctype);
    t.equal(del.statusCode, 403, `${doctype} ${ddoc}`);
  }
});

t.test('POST _design/:ddoc/copy copies to the Destination: 201 with the new id', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['foo'] }, ddoc: 'indextocopy' });
  const source = (await call('GET', `/data/${TYPE}/_design/indextocopy`, TYPE)).json();
  const res = await call('POST', `/data/${TYPE}/_design/indextocopy/copy?rev=${source._rev}`, TYPE, null, { destination: '_design/indexcopied' });
  t.equal(res.statusCode, 201);
  t.match(res.json(), { ok: true, id: '_design/indexcopied', rev: /^1-/ });
  const copy = (await call('GET', `/data/${TYPE}/_design/indexcopied`, TYPE)).json();
  t.same(copy.views, source.views);
  const found = await call('POST', `/data/${TYPE}/_find`, TYPE, { selector: { foo: 1 }, use_index: '_design/indexcopied' });
  t.equal(found.statusCode, 200, 'the copy serves queries');
  const again = await call('POST', `/data/${TYPE}/_design/indextocopy/copy`, TYPE, null, { destination: '_design/indexcopied' });
  t.equal(again.statusCode, 409, 'an existing destination needs its rev');
  const over = await call('POST', `/data/${TYPE}/_design/indextocopy/copy`, TYPE, null, { destination: `_design/indexcopied?rev=${copy._rev}` });
  t.equal(over.statusCode, 201);
});

t.test('copy without a Destination, or to an ordinary document, is 400', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['foo'] }, ddoc: 'src' });
  const none = await call('POST', `/data/${TYPE}/_design/src/copy`, TYPE, null);
  t.equal(none.statusCode, 400);
  t.same(none.json(), { error: 'You must set a Destination header' });
  t.equal((await call('POST', `/data/${TYPE}/_design/src/copy`, TYPE, null, { destination: 'plain-doc' })).statusCode, 400);
  t.equal((await call('POST', `/data/${TYPE}/_design/missing/copy`, TYPE, null, { destination: '_design/x' })).statusCode, 404);
});

t.test('design doc routes need reading permission on the whole doctype, and write no doc event', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.createIndex(inst, TYPE, { index: { fields: ['foo'] }, ddoc: 'src' });
  const events: string[] = [];
  tk.kernel.events.on((e) => {
    events.push(e.doc._id);
  });
  t.equal((await call('GET', `/data/${TYPE}/_design/src`, `${TYPE}:GET:src`)).statusCode, 403);
  t.equal((await call('POST', `/data/${TYPE}/_design/src/copy`, `${TYPE}:GET`, null, { destination: '_design/dst' })).statusCode, 201);
  const rev = (await tk.kernel.store.get(inst, TYPE, '_design/dst'))._rev;
  t.equal((await call('DELETE', `/data/${TYPE}/_design/dst?rev=${rev}`, `${TYPE}:GET`)).statusCode, 200);
  await new Promise((r) => setImmediate(r));
  t.same(events, []);
});
