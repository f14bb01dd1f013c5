import type { Socket } from 'node:net';
import t from 'tap';
import { REALTIME } from '@cozy-ts/kernel';
import { startRealtimeServer, trackingCluster, withNoopClose } from './helpers.ts';

t.test('a message that is not a JSON object after AUTH is a 400 error event, then a close with 1007', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  for (const bad of ['{"method": "SUBSCRIBE", "payload"', '[1, 2]', '"SUBSCRIBE"', 'null']) {
    const ws = await srv.authed(inst, 'io.cozy.foos');
    ws.send(bad);
    t.same(await ws.next(), {
      event: 'error',
      payload: { status: '400 Bad Request', code: 'bad request', title: 'The message is not a JSON object', source: null },
    }, bad);
    t.same(await ws.closed, { code: 1007, reason: 'invalid message' });
  }
});

t.test('fields of the wrong type count as absent, as cozy-stack decodes them', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos');
  ws.send({ method: 'SUBSCRIBE', payload: { type: ['io.cozy.foos'], id: 7 } });
  t.match(await ws.next(), { payload: { status: '404 Page Not Found', source: { method: 'SUBSCRIBE', payload: { type: '', id: '' } } } });
  ws.send({ method: 12, payload: 'io.cozy.foos' });
  t.match(await ws.next(), { payload: { status: '405 Method Not Allowed', title: 'The  method is not supported' } });
});

t.test('binary frames are read like text ones: JSON works, anything else is refused', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.connect('alice.example');
  ws.send(Buffer.from(JSON.stringify({ method: 'AUTH', payload: await srv.token(inst, 'io.cozy.foos') })));
  ws.send(Buffer.from(JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos' } })));
  await ws.settle();
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'bin' });
  t.match(await ws.next(), { event: 'CREATED', payload: { id: 'bin' } });
  ws.send(Buffer.from([0xff, 0x00, 0xfe, 0x7b]));
  t.match(await ws.next(), { event: 'error', payload: { status: '400 Bad Request' } });
  t.equal((await ws.closed).code, 1007);
});

t.test('a message over 1 KiB closes the socket with 1009, before or after AUTH', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const fresh = await srv.connect('alice.example');
  fresh.send({ method: 'AUTH', payload: 'x'.repeat(1024) });
  t.equal((await fresh.closed).code, 1009);

  const authed = await srv.authed(inst, 'io.cozy.foos');
  await authed.settle();
  const exactly1024 = JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos', id: '' } });
  authed.send(exactly1024.replace('"id":""', `"id":"${'a'.repeat(1024 - exactly1024.length)}"`));
  await authed.settle();
  t.equal(authed.ws.readyState, authed.ws.OPEN, 'exactly 1 KiB is still fine');
  authed.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos', id: 'y'.repeat(1024) } });
  t.equal((await authed.closed).code, 1009);

  const after = await srv.authed(inst, 'io.cozy.foos');
  await after.subscribe('io.cozy.foos');
  t.equal(after.pending, 0, 'the server carries on');
});

t.test('a flood of messages is a 429 error event and a close with 1008; a burst within the limit is fine', async (t) => {
  const srv = await startRealtimeServer(t, { realtime: { maxMessagesPerSecond: 20 } });
  const inst = await srv.tk.createInstance('alice.example');
  const calm = await srv.authed(inst, 'io.cozy.foos');
  for (let i = 0; i < 15; i++) calm.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos', id: `id-${i}` } });
  await calm.settle();
  t.equal(calm.pending, 0, '17 messages in a burst are within a bucket of 20');

  const flood = await srv.authed(inst, 'io.cozy.foos');
  for (let i = 0; i < 500; i++) flood.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos' } });
  let last = await flood.next();
  t.match(last, { event: 'error', payload: { status: '429 Too Many Requests', code: 'too many requests', title: 'More than 20 messages per second' } });
  t.same(await flood.closed, { code: 1008, reason: 'too many messages' });
  while (flood.pending > 0) last = await flood.next();
  t.equal(last.payload.status, '429 Too Many Requests', 'nothing was handled after the flood was detected');

  await calm.subscribe('io.cozy.foos');
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'after-flood' });
  t.match(await calm.next(), { payload: { id: 'after-flood' } }, 'other sockets are unaffected');
});

t.test('a socket that goes away while its AUTH is checked leaves nothing behind', async (t) => {
  const cluster = trackingCluster();
  t.teardown(() => cluster.close());
  const srv = await startRealtimeServer(t, { cluster: withNoopClose(cluster) });
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.connect('alice.example');
  ws.send({ method: 'AUTH', payload: await srv.token(inst, 'io.cozy.foos') });
  ws.terminate();
  await ws.closed;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(cluster.listening('realtime:alice.example'), 0, 'not listening for a socket that is gone');
  const other = await srv.authed(inst, 'io.cozy.foos');
  await other.subscribe('io.cozy.foos');
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'z' });
  t.match(await other.next(), { payload: { id: 'z' } });
});

t.test('a client that stops reading is dropped once megabytes are queued for it', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const slow = await srv.authed(inst, 'io.cozy.foos');
  await slow.subscribe('io.cozy.foos');
  // The client's TCP socket (a ws internal): paused, it stops reading, and the server's buffers fill up.
  const raw = (slow.ws as unknown as { _socket: Socket })._socket;
  raw.pause();
  const realtime = srv.tk.kernel.container.resolve(REALTIME.token);
  const big = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 120; i++) await realtime.notify(inst, 'io.cozy.foos', `n${i}`, { big });
  await new Promise((r) => setTimeout(r, 200));
  raw.resume();
  t.equal((await slow.closed).code, 1006, 'cut, since a closing handshake would queue behind the rest');
  t.ok(slow.pending < 120, `only part of the events were sent (${slow.pending})`);
});
