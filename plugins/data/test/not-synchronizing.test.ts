import t from 'tap';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import type { DocEvent, InstanceDoc } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const CLIENTS = 'io.cozy.oauth.clients';
const FILES = 'io.cozy.files';
const DEVICE = 'laptop';
const URL = `/data/${CLIENTS}/${DEVICE}/relationships/not_synchronizing`;
const JSONAPI = { 'content-type': 'application/vnd.api+json' };

async function dirs(tk: TestKernel, inst: InstanceDoc, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `dir${String(i).padStart(2, '0')}`);
  await tk.kernel.store.bulkDocs(
    inst,
    FILES,
    ids.map((id) => ({ _id: id, type: 'directory', name: id, path: `/${id}`, dir_id: 'io.cozy.files.root-dir', ...extra })),
  );
  return ids;
}

const refs = (ids: string[]) => ({ data: ids.map((id) => ({ type: FILES, id })) });
const notSyncedOn = async (tk: TestKernel, inst: InstanceDoc, id: string) => (await tk.kernel.store.get(inst, FILES, id)).not_synchronized_on;

t.test('POST marks each directory not synchronized on the device, DELETE unmarks; both 204, one event per changed directory', async (t) => {
  const { call, tk, inst } = await setup(t);
  await dirs(tk, inst, 3);
  await tk.kernel.store.put(inst, FILES, { _id: 'meta', type: 'directory', name: 'meta', cozyMetadata: { updatedAt: '2000-01-01T00:00:00Z' } });
  await tk.kernel.store.put(inst, FILES, { _id: 'other', type: 'directory', name: 'other', not_synchronized_on: [{ type: CLIENTS, id: 'phone' }] });
  const events: DocEvent[] = [];
  tk.kernel.events.on((e) => {
    if (e.doctype === FILES) events.push(e);
  });
  const add = await call('POST', URL, CLIENTS, refs(['dir00', 'dir01', 'meta', 'other']), JSONAPI);
  t.equal(add.statusCode, 204);
  t.same(await notSyncedOn(tk, inst, 'dir00'), [{ type: CLIENTS, id: DEVICE }]);
  t.same(await notSyncedOn(tk, inst, 'other'), [{ type: CLIENTS, id: 'phone' }, { type: CLIENTS, id: DEVICE }], 'other devices kept');
  const meta = await tk.kernel.store.get(inst, FILES, 'meta');
  t.not((meta.cozyMetadata as { updatedAt: string }).updatedAt, '2000-01-01T00:00:00Z', 'cozyMetadata.updatedAt follows');
  t.equal((await call('POST', URL, CLIENTS, { data: { type: FILES, id: 'dir00' } }, JSONAPI)).statusCode, 204, 'one object, already there');
  t.same(await notSyncedOn(tk, inst, 'dir00'), [{ type: CLIENTS, id: DEVICE }], 'not added twice');
  const remove = await call('DELETE', URL, CLIENTS, refs(['dir00', 'other', 'dir02']), JSONAPI);
  t.equal(remove.statusCode, 204);
  t.same(await notSyncedOn(tk, inst, 'dir00'), []);
  t.same(await notSyncedOn(tk, inst, 'other'), [{ type: CLIENTS, id: 'phone' }]);
  t.same(await notSyncedOn(tk, inst, 'dir01'), [{ type: CLIENTS, id: DEVICE }], 'a directory not named stays marked');
  t.notOk(await notSyncedOn(tk, inst, 'dir02'), 'a directory that was not marked is not written');
  await new Promise((r) => setImmediate(r));
  t.same(
    events.map((e) => `${e.verb} ${e.doc._id}`),
    ['UPDATED dir00', 'UPDATED dir01', 'UPDATED meta', 'UPDATED other', 'UPDATED dir00', 'UPDATED other'],
  );
});

t.test('GET lists the directories not synchronized on the device, with meta.count, links.next pages and include=files', async (t) => {
  const { call, tk, inst } = await setup(t);
  const ids = await dirs(tk, inst, 4);
  await call('POST', URL, CLIENTS, refs(ids), JSONAPI);
  await call('POST', `/data/${CLIENTS}/phone/relationships/not_synchronizing`, CLIENTS, refs(['dir00']), JSONAPI);
  const all = await call('GET', URL, CLIENTS);
  t.equal(all.statusCode, 200);
  t.match(all.headers['content-type'], /application\/vnd\.api\+json/);
  t.same(all.json(), { data: ids.map((id) => ({ type: FILES, id })), meta: { count: 4 }, links: {} });
  const first = (await call('GET', `${URL}?page[limit]=3`, CLIENTS)).json();
  t.equal(first.data.length, 3);
  t.same(first.meta, { count: 4 });
  t.match(first.links.next, /^\/data\/io\.cozy\.oauth\.clients\/laptop\/relationships\/not_synchronizing\?page%5Bcursor%5D=/);
  const second = (await call('GET', first.links.next, CLIENTS)).json();
  t.same(second.data, [{ type: FILES, id: 'dir03' }], 'the rest, from the cursor');
  t.same(second.links, {});
  const skipped = (await call('GET', `${URL}?page[limit]=2&page[skip]=2`, CLIENTS)).json();
  t.same(skipped.data.map((d: { id: string }) => d.id), ['dir02', 'dir03']);
  const included = (await call('GET', `${URL}?include=files`, CLIENTS)).json();
  t.equal(included.included.length, 4);
  t.match(included.included[0], { type: FILES, id: 'dir00', attributes: { name: 'dir00', type: 'directory' }, meta: { rev: /^\d+-/ } });
  const phone = (await call('GET', `/data/${CLIENTS}/phone/relationships/not_synchronizing`, CLIENTS)).json();
  t.same(phone.data, [{ type: FILES, id: 'dir00' }], 'per device');
  const none = await call('GET', `/data/${CLIENTS}/tablet/relationships/not_synchronizing`, CLIENTS);
  t.same(none.json(), { data: [], meta: { count: 0 }, links: {} }, 'a device with nothing is an empty list');
});

t.test('only directories: a file among the ids is a 400 and a missing id a 404, and then nothing is written', async (t) => {
  const { call, tk, inst } = await setup(t);
  t.equal((await call('POST', URL, CLIENTS, refs(['nodir']), JSONAPI)).statusCode, 404, 'no files database yet');
  await dirs(tk, inst, 1);
  await tk.kernel.store.put(inst, FILES, { _id: 'file', type: 'file', name: 'a.txt' });
  const file = await call('POST', URL, CLIENTS, refs(['dir00', 'file']), JSONAPI);
  t.equal(file.statusCode, 400);
  t.match(file.json().error, /Cannot add not_synchronized_on on files/);
  const missing = await call('DELETE', URL, CLIENTS, refs(['dir00', 'nodir']), JSONAPI);
  t.equal(missing.statusCode, 404);
  t.match(missing.json().error, /nodir/);
  t.notOk(await notSyncedOn(tk, inst, 'dir00'), 'nothing was written');
  for (const body of [{}, { data: 'x' }, { data: [{ type: FILES }] }]) {
    t.equal((await call('POST', URL, CLIENTS, body, JSONAPI)).statusCode, 400, JSON.stringify(body));
  }
  t.equal((await call('GET', `${URL}?page[limit]=abc`, CLIENTS)).statusCode, 400);
});

t.test('the routes need the verb on the device document, or PATCH (GET to list) on the files', async (t) => {
  const { call, tk, inst } = await setup(t);
  await dirs(tk, inst, 1);
  t.equal((await call('GET', URL, `${CLIENTS}:GET:${DEVICE}`)).statusCode, 200);
  t.equal((await call('GET', URL, `${FILES}:GET`)).statusCode, 200);
  t.equal((await call('GET', URL, `${CLIENTS}:GET:phone`)).statusCode, 403);
  t.equal((await call('POST', URL, `${CLIENTS}:GET:${DEVICE}`, refs(['dir00']), JSONAPI)).statusCode, 403);
  t.equal((await call('POST', URL, `${CLIENTS}:PUT:${DEVICE}`, refs(['dir00']), JSONAPI)).statusCode, 204);
  t.equal((await call('DELETE', URL, `${CLIENTS}:PUT:${DEVICE}`, refs(['dir00']), JSONAPI)).statusCode, 403);
  t.equal((await call('DELETE', URL, `${FILES}:PATCH`, refs(['dir00']), JSONAPI)).statusCode, 204);
  t.equal((await call('POST', URL, `${FILES}:GET`, refs(['dir00']), JSONAPI)).statusCode, 403);
  t.equal((await call('GET', URL, null)).statusCode, 401);
});

t.test("this plugin's not-synchronized-on design doc cannot be deleted through /data", async (t) => {
  const { call, tk, inst } = await setup(t);
  await dirs(tk, inst, 1);
  await call('GET', URL, CLIENTS);
  const ddoc = await tk.kernel.store.get(inst, FILES, '_design/cozy-ts-not-synchronized-on');
  const del = await call('DELETE', `/data/${FILES}/_design/cozy-ts-not-synchronized-on?rev=${ddoc._rev}`, FILES);
  t.equal(del.statusCode, 403);
});
