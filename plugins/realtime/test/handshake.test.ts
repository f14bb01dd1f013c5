import t from 'tap';
import { httpGet } from '../../../test/helpers/processes.ts';
import { startRealtimeServer } from './helpers.ts';

t.test('the upgrade selects io.cozy.websocket when offered, and no subprotocol otherwise', async (t) => {
  const srv = await startRealtimeServer(t);
  await srv.tk.createInstance('alice.example');
  const offered = await srv.connect('alice.example', { protocols: ['chat', 'io.cozy.websocket'] });
  t.equal(offered.ws.protocol, 'io.cozy.websocket');
  const none = await srv.connect('alice.example', { protocols: [] });
  t.equal(none.ws.protocol, '');
});

t.test('the instance comes from the Host header: an unknown host is refused with 404 before the upgrade', async (t) => {
  const srv = await startRealtimeServer(t);
  await srv.tk.createInstance('alice.example');
  await t.rejects(srv.connect('nobody.example'), /upgrade refused: 404/);
  await t.resolves(srv.connect('ALICE.example'), 'hosts are matched as the kernel normalises them');
});

t.test('a plain GET /realtime/ is a 400, as cozy-stack answers it', async (t) => {
  const srv = await startRealtimeServer(t);
  await srv.tk.createInstance('alice.example');
  const res = await httpGet(srv.port, '/realtime/', 'alice.example');
  t.equal(res.status, 400);
  t.match(JSON.parse(res.body), { errors: [{ detail: 'websocket: the client is not using the websocket protocol' }] });
});

t.test('a first message other than AUTH is a 405 error event, then the socket closes', async (t) => {
  const srv = await startRealtimeServer(t);
  await srv.tk.createInstance('alice.example');
  const ws = await srv.connect('alice.example');
  ws.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos' } });
  t.same(await ws.next(), {
    event: 'error',
    payload: {
      status: '405 Method Not Allowed',
      code: 'method not allowed',
      title: 'The SUBSCRIBE method is not supported',
      source: { method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos' } },
    },
  });
  t.same(await ws.closed, { code: 1008, reason: 'AUTH expected' });
});

t.test('a first message that is not JSON is a 405 error event with a null source, then a close', async (t) => {
  const srv = await startRealtimeServer(t);
  await srv.tk.createInstance('alice.example');
  const ws = await srv.connect('alice.example');
  ws.send('{"method": "AUTH", ');
  t.same((await ws.next()).payload, { status: '405 Method Not Allowed', code: 'method not allowed', title: 'The  method is not supported', source: null });
  t.equal((await ws.closed).code, 1008);
});

t.test('a bad token, an empty one, or a token of another instance is a 401 error event, then a close', async (t) => {
  const srv = await startRealtimeServer(t);
  await srv.tk.createInstance('alice.example');
  const bob = await srv.tk.createInstance('bob.example');
  const bobsToken = await srv.token(bob, 'io.cozy.foos');
  for (const payload of ['123456789', '', 'not.a.jwt', bobsToken, 42]) {
    const ws = await srv.connect('alice.example');
    const auth = { method: 'AUTH', payload };
    ws.send(auth);
    t.same(await ws.next(), {
      event: 'error',
      payload: { status: '401 Unauthorized', code: 'unauthorized', title: 'The authentication has failed', source: auth },
    }, `payload ${JSON.stringify(payload).slice(0, 20)}`);
    t.same(await ws.closed, { code: 1008, reason: 'authentication failed' });
  }
});

t.test('AUTH is case-insensitive and commands sent right after it wait for the token check', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.connect('alice.example');
  ws.send({ method: 'auth', payload: await srv.token(inst, 'io.cozy.foos') });
  ws.send({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.foos' } });
  await ws.settle();
  await srv.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'x' });
  t.match(await ws.next(), { event: 'CREATED', payload: { id: 'x' } });
});

t.test('a socket that does not send AUTH in time is closed', async (t) => {
  const srv = await startRealtimeServer(t, { realtime: { authTimeoutMs: 100 } });
  await srv.tk.createInstance('alice.example');
  const ws = await srv.connect('alice.example');
  t.match(await ws.next(), { event: 'error', payload: { status: '408 Request Timeout', title: 'No AUTH message came within 100 ms' } });
  t.same(await ws.closed, { code: 1008, reason: 'AUTH expected' });
});

t.test('an authenticated socket is not closed by the AUTH timeout', async (t) => {
  const srv = await startRealtimeServer(t, { realtime: { authTimeoutMs: 50 } });
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos');
  await ws.settle();
  await new Promise((r) => setTimeout(r, 120));
  await ws.subscribe('io.cozy.foos');
  t.equal(ws.ws.readyState, ws.ws.OPEN);
});

t.test('the server pings on its period, and drops a socket whose pong does not come back', async (t) => {
  const srv = await startRealtimeServer(t, { realtime: { pingIntervalMs: 40, pongTimeoutMs: 60 } });
  await srv.tk.createInstance('alice.example');
  const polite = await srv.connect('alice.example');
  const mute = await srv.connect('alice.example', { autoPong: false });
  const closed = await mute.closed;
  t.equal(closed.code, 1006, 'cut without a closing handshake, as a dead peer would be');
  t.ok(mute.pings >= 1, 'it was pinged first');
  await new Promise((r) => setTimeout(r, 100));
  t.ok(polite.pings >= 3, `a socket that answers keeps being pinged (${polite.pings} pings)`);
  t.equal(polite.ws.readyState, polite.ws.OPEN);
});

t.test('stopping the kernel closes every socket with 1001', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.foos');
  await ws.subscribe('io.cozy.foos');
  const started = Date.now();
  await srv.tk.close();
  t.same(await ws.closed, { code: 1001, reason: 'server shutting down' });
  t.ok(Date.now() - started < 3000, 'promptly');
});

t.test('the defaults are cozy-stack timings and a config error names the key', async (t) => {
  const plugin = (await import('../src/index.ts')).default;
  t.match(plugin.defaults, { pingIntervalMs: 54_000, pongTimeoutMs: 6_000, authTimeoutMs: 10_000, maxMessagesPerSecond: 100 });
  await t.rejects(startRealtimeServer(t, { realtime: { pingIntervalMs: -1 } }), /pingIntervalMs/);
});
