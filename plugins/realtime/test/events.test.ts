import t from 'tap';
import { receivesWithin, startRealtimeServer, trackingCluster, withNoopClose } from './helpers.ts';

t.test('a subscriber receives CREATED, UPDATED and DELETED for every write of the doctype, with the old document', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos');
  await ws.subscribe('io.cozy.foos');
  const store = srv.tk.kernel.store;

  const created = await store.put(inst, 'io.cozy.foos', { _id: 'foo-one', title: 'one' });
  const c = await ws.next();
  t.equal(c.event, 'CREATED');
  t.match(c.payload, { type: 'io.cozy.foos', id: 'foo-one', doc: { _id: 'foo-one', _rev: created.rev, title: 'one' } });
  t.notOk('old' in c.payload, 'no old document for a creation');

  const updated = await store.put(inst, 'io.cozy.foos', { _id: 'foo-one', _rev: created.rev, title: 'two' });
  const u = await ws.next();
  t.equal(u.event, 'UPDATED');
  t.match(u.payload, { type: 'io.cozy.foos', id: 'foo-one', doc: { title: 'two', _rev: updated.rev }, old: { title: 'one', _rev: created.rev } });

  await store.delete(inst, 'io.cozy.foos', 'foo-one', updated.rev);
  const d = await ws.next();
  t.equal(d.event, 'DELETED');
  t.match(d.payload, { type: 'io.cozy.foos', id: 'foo-one', doc: { _id: 'foo-one', _deleted: true, title: 'two' }, old: { title: 'two', _rev: updated.rev } });
  t.not(d.payload.doc?._rev, updated.rev, 'the deleted document carries its new revision');
});

t.test('watching ids delivers only those documents, and UNSUBSCRIBE stops an id or a whole doctype', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos io.cozy.bars');
  await ws.subscribe('io.cozy.foos');
  await ws.subscribe('io.cozy.bars', 'bar-one');
  await ws.subscribe('io.cozy.bars', 'bar-two');
  const store = srv.tk.kernel.store;

  await store.put(inst, 'io.cozy.bars', { _id: 'bar-three' });
  await store.put(inst, 'io.cozy.bars', { _id: 'bar-one' });
  const first = await ws.next();
  t.match(first, { event: 'CREATED', payload: { type: 'io.cozy.bars', id: 'bar-one' } }, 'bar-three was not watched');

  ws.send({ method: 'UNSUBSCRIBE', payload: { type: 'io.cozy.bars', id: 'bar-one' } });
  await ws.settle();
  await store.put(inst, 'io.cozy.bars', { _id: 'bar-one-again' });
  await store.put(inst, 'io.cozy.bars', { _id: 'bar-two' });
  t.match(await ws.next(), { event: 'CREATED', payload: { id: 'bar-two' } });

  ws.send({ method: 'unsubscribe', payload: { type: 'io.cozy.foos' } });
  await ws.settle();
  await store.put(inst, 'io.cozy.foos', { _id: 'foo-after' });
  t.notOk(await receivesWithin(ws, 150), 'nothing after unsubscribing the doctype');
});

t.test('a socket of another instance never receives the events, even on the same doctype', async (t) => {
  const srv = await startRealtimeServer(t);
  const alice = await srv.tk.createInstance('alice.example');
  const bob = await srv.tk.createInstance('bob.example:8080');
  const wsAlice = await srv.authed(alice, 'io.cozy.notes');
  const wsBob = await srv.authed(bob, 'io.cozy.notes');
  await wsAlice.subscribe('io.cozy.notes');
  await wsBob.subscribe('io.cozy.notes');

  await srv.tk.kernel.store.put(alice, 'io.cozy.notes', { _id: 'secret', text: 'for alice only' });
  t.match(await wsAlice.next(), { event: 'CREATED', payload: { id: 'secret' } });
  t.notOk(await receivesWithin(wsBob, 150), 'bob hears nothing of alice');

  await srv.tk.kernel.store.put(bob, 'io.cozy.notes', { _id: 'bobs' });
  t.match(await wsBob.next(), { event: 'CREATED', payload: { id: 'bobs' } });
  t.notOk(await receivesWithin(wsAlice, 100), 'and alice nothing of bob');
});

t.test('subscribing without GET on the doctype is a 403 error event shaped as cozy-stack sends it', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos io.cozy.contacts:POST');
  ws.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.contacts' } });
  t.same(await ws.next(), {
    event: 'error',
    payload: {
      status: '403 Forbidden',
      code: 'forbidden',
      title: "The application can't subscribe to io.cozy.contacts",
      source: { method: 'SUBSCRIBE', payload: { type: 'io.cozy.contacts', id: '' } },
    },
  });
  await ws.subscribe('io.cozy.foos');
  await srv.tk.kernel.store.put(inst, 'io.cozy.contacts', { _id: 'c1' });
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'f1' });
  t.match(await ws.next(), { event: 'CREATED', payload: { type: 'io.cozy.foos' } }, 'the socket stays usable, without the refused doctype');
});

t.test('a permission on some ids lets a socket watch those ids but not the whole doctype', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.bars:GET:bar-one');
  ws.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.bars' } });
  t.equal((await ws.next()).payload.status, '403 Forbidden');
  ws.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.bars', id: 'bar-two' } });
  t.equal((await ws.next()).payload.status, '403 Forbidden');
  await ws.subscribe('io.cozy.bars', 'bar-one');
  await srv.tk.kernel.store.put(inst, 'io.cozy.bars', { _id: 'bar-two' });
  await srv.tk.kernel.store.put(inst, 'io.cozy.bars', { _id: 'bar-one' });
  t.match(await ws.next(), { event: 'CREATED', payload: { id: 'bar-one' } });
});

t.test('synthetic doctypes follow cozy-stack: file events need io.cozy.files, confirmations need nothing', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const files = await srv.authed(inst, 'io.cozy.files:GET');
  await files.subscribe('io.cozy.files.thumbnails');
  await files.subscribe('io.cozy.notes.events');
  const other = await srv.authed(inst, 'io.cozy.foos');
  other.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.files.thumbnails' } });
  t.equal((await other.next()).payload.status, '403 Forbidden');
  await other.subscribe('io.cozy.auth.confirmations');
  await other.subscribe('io.cozy.sharings.initial_sync');
  const settings = await srv.authed(inst, 'io.cozy.settings:GET:io.cozy.settings.instance');
  await settings.subscribe('io.cozy.settings', 'io.cozy.settings.passphrase');
  t.equal(files.pending + other.pending + settings.pending, 0, 'no error event anywhere');
});

t.test('SUBSCRIBE without a type is a 404 error event; an unknown method a 405; the socket stays open', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos');
  ws.send({ method: 'SUBSCRIBE', payload: { id: 'x' } });
  t.same(await ws.next(), {
    event: 'error',
    payload: {
      status: '404 Page Not Found',
      code: 'page not found',
      title: 'The type parameter is mandatory for SUBSCRIBE',
      source: { method: 'SUBSCRIBE', payload: { type: '', id: 'x' } },
    },
  });
  ws.send({ method: 'PUBLISH', payload: { type: 'io.cozy.foos' } });
  t.match(await ws.next(), { event: 'error', payload: { status: '405 Method Not Allowed', code: 'method not allowed', title: 'The PUBLISH method is not supported' } });
  ws.send({ method: 'AUTH', payload: 'again' });
  t.match(await ws.next(), { payload: { title: 'The AUTH method is not supported' } }, 'AUTH only once');
  await ws.subscribe('io.cozy.foos');
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'still-open' });
  t.match(await ws.next(), { event: 'CREATED' });
});

t.test('a socket holds a bounded number of subscriptions', async (t) => {
  const srv = await startRealtimeServer(t, { realtime: { maxSubscriptions: 2 } });
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos');
  await ws.subscribe('io.cozy.foos');
  await ws.subscribe('io.cozy.foos', 'a');
  await ws.subscribe('io.cozy.foos', 'a');
  ws.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos', id: 'b' } });
  t.match(await ws.next(), { event: 'error', payload: { status: '429 Too Many Requests', title: 'A socket may hold at most 2 subscriptions' } });
  ws.send({ method: 'UNSUBSCRIBE', payload: { type: 'io.cozy.foos', id: 'a' } });
  await ws.subscribe('io.cozy.foos', 'b');
  t.equal(ws.pending, 0, 'room again after an UNSUBSCRIBE');
});

t.test('a process listens to an instance channel while it holds sockets of that instance, and only then', async (t) => {
  const cluster = trackingCluster();
  t.teardown(() => cluster.close());
  const srv = await startRealtimeServer(t, { cluster: withNoopClose(cluster) });
  const inst = await srv.tk.createInstance('alice.example');
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'before' });
  const anonymous = await srv.connect('alice.example');
  await new Promise((r) => setTimeout(r, 20));
  t.equal(cluster.listening('realtime:alice.example'), 0, 'not before a socket is authenticated');
  const a = await srv.authed(inst, 'io.cozy.foos');
  const b = await srv.authed(inst, 'io.cozy.foos');
  await a.subscribe('io.cozy.foos');
  await b.subscribe('io.cozy.foos');
  t.equal(cluster.listening('realtime:alice.example'), 1, 'one subscription for all the sockets of the instance');
  a.ws.close();
  await a.closed;
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'after' });
  t.match(await b.next(), { payload: { id: 'after' } }, 'a late socket only gets later events');
  t.equal(cluster.listening('realtime:alice.example'), 1);
  b.ws.close();
  await b.closed;
  await new Promise((r) => setTimeout(r, 20));
  t.equal(cluster.listening('realtime:alice.example'), 0, 'gone with the last socket');
  anonymous.terminate();
});
