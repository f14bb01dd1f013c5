import t from 'tap';
import type { DocEvent } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const TYPE = 'io.cozy.events';

t.test('_bulk_docs creates, updates and deletes: 201 with CouchDB rows, one event per written doc', async (t) => {
  const { call, tk, inst } = await setup(t);
  const u = await tk.kernel.store.put(inst, TYPE, { _id: 'u', v: 1 });
  const d = await tk.kernel.store.put(inst, TYPE, { _id: 'd', v: 1 });
  const events: DocEvent[] = [];
  tk.kernel.events.on((e) => {
    if (e.doctype === TYPE) events.push(e);
  });
  const res = await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, {
    docs: [{ _id: 'n', v: 1 }, { _id: 'u', _rev: u.rev, v: 2 }, { _id: 'd', _rev: d.rev, _deleted: true }, { v: 'no id' }],
  });
  t.equal(res.statusCode, 201);
  const rows = res.json();
  t.equal(rows.length, 4);
  t.match(rows[0], { ok: true, id: 'n', rev: /^1-/ });
  t.match(rows[1], { ok: true, id: 'u', rev: /^2-/ });
  t.match(rows[2], { ok: true, id: 'd', rev: /^2-/ });
  t.match(rows[3], { ok: true, id: /^[0-9a-f]{32}$/ });
  await new Promise((r) => setImmediate(r));
  t.same(
    events.map((e) => [e.verb, e.doc._id]),
    [
      ['CREATED', 'n'],
      ['UPDATED', 'u'],
      ['DELETED', 'd'],
      ['CREATED', rows[3].id],
    ],
  );
  t.equal(events[1]?.old?._rev, u.rev, 'the update event carries the old version');
});

t.test('_bulk_docs answers a conflict in its row and writes the others', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'x' });
  const res = await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [{ _id: 'x', v: 2 }, { _id: 'y' }] });
  t.equal(res.statusCode, 201);
  t.same(res.json()[0], { id: 'x', error: 'conflict', reason: 'Document update conflict.' });
  t.match(res.json()[1], { ok: true, id: 'y' });
});

t.test('_bulk_docs on a doctype without database creates it', async (t) => {
  const { call } = await setup(t);
  const res = await call('POST', '/data/io.cozy.fresh/_bulk_docs', 'io.cozy.fresh', { docs: [{ a: 1 }] });
  t.equal(res.statusCode, 201);
  t.equal(res.json()[0].ok, true);
});

t.test('_bulk_docs needs POST on the whole doctype, and each doc the verb of its write', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'w', category: 'work' });
  const h = await tk.kernel.store.put(inst, TYPE, { _id: 'h', category: 'home' });
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE + ':GET', { docs: [{ a: 1 }] })).statusCode, 403);
  const postOnly = `${TYPE}:POST`;
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, postOnly, { docs: [{ a: 1 }] })).statusCode, 201);
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, postOnly, { docs: [{ _id: 'w', _rev: w.rev, v: 1 }] })).statusCode, 403, 'an update needs PUT');
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, postOnly, { docs: [{ _id: 'w', _rev: w.rev, _deleted: true }] })).statusCode, 403, 'a deletion needs DELETE');
  const restricted = `${TYPE}:POST ${TYPE}:PUT:work:category`;
  const takeOver = await call('POST', `/data/${TYPE}/_bulk_docs`, restricted, { docs: [{ _id: 'h', _rev: h.rev, category: 'work' }] });
  t.equal(takeOver.statusCode, 403, 'the old version is checked too');
  t.equal((await tk.kernel.store.get(inst, TYPE, 'h'))._rev, h.rev, 'nothing was written');
  const ok = await call('POST', `/data/${TYPE}/_bulk_docs`, restricted, { docs: [{ _id: 'w', _rev: w.rev, category: 'work', v: 2 }] });
  t.equal(ok.statusCode, 201);
});

t.test('_bulk_docs refuses a body without docs, new_edits=false, and attachments', async (t) => {
  const { call } = await setup(t);
  const noDocs = await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { documents: [] });
  t.equal(noDocs.statusCode, 400);
  t.same(noDocs.json(), { error: 'bad_request', reason: 'POST body must include `docs` parameter.' });
  t.equal((await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [1, 2] })).statusCode, 400);
  const replication = await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [{ _id: 'a', _rev: '1-abc' }], new_edits: false });
  t.equal(replication.statusCode, 501);
  const attached = await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [{ _attachments: { 'a.txt': { data: 'aGk=' } } }] });
  t.equal(attached.statusCode, 400);
  t.match(attached.json().reason, /Attachments are not supported/);
  t.same((await call('POST', `/data/${TYPE}/_bulk_docs`, TYPE, { docs: [] })).json(), []);
});
