import t from 'tap';
import { REALTIME, type InstanceDoc } from '@cozy-ts/kernel';
import { startRealtimeServer, type RealtimeServer } from './helpers.ts';

async function post(srv: RealtimeServer, inst: InstanceDoc, url: string, scope: string | null, payload: unknown) {
  const headers: Record<string, string> = { host: inst.domain, 'content-type': 'application/json' };
  if (scope !== null) headers.authorization = `Bearer ${await srv.token(inst, scope)}`;
  return srv.tk.kernel.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(payload) });
}

t.test('POST /realtime/:doctype/:id sends NOTIFIED to the subscribers, persists nothing and answers 204', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const ws = await srv.authed(inst, 'io.cozy.bazs');
  await ws.subscribe('io.cozy.bazs', 'baz-one');
  const res = await post(srv, inst, '/realtime/io.cozy.bazs/baz-one', 'io.cozy.bazs', { hello: 'world' });
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  t.same(await ws.next(), { event: 'NOTIFIED', payload: { type: 'io.cozy.bazs', id: 'baz-one', doc: { hello: 'world', _id: 'baz-one' } } });
  t.notOk(await srv.tk.kernel.store.databaseExists(inst, 'io.cozy.bazs'), 'nothing was written');
});

t.test('POST /realtime needs POST on that document: 401 without a token, 403 without the permission', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  t.equal((await post(srv, inst, '/realtime/io.cozy.bazs/b1', null, {})).statusCode, 401);
  t.equal((await post(srv, inst, '/realtime/io.cozy.bazs/b1', 'io.cozy.bazs:GET', {})).statusCode, 403);
  t.equal((await post(srv, inst, '/realtime/io.cozy.bazs/b1', 'io.cozy.bazs:POST:b1', {})).statusCode, 204);
  t.equal((await post(srv, inst, '/realtime/io.cozy.bazs/b2', 'io.cozy.bazs:POST:b1', {})).statusCode, 403);
});

t.test('POST /realtime refuses an unreadable or invalid doctype and a body that is not a JSON object with 400', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const sessions = await post(srv, inst, '/realtime/io.cozy.sessions/s1', '*', {});
  t.equal(sessions.statusCode, 400);
  t.equal(sessions.json().errors[0].detail, 'reserved doctype io.cozy.sessions unreadable');
  const invalid = await post(srv, inst, '/realtime/io..bazs/b1', 'io.cozy.bazs', {});
  t.equal(invalid.json().errors[0].detail, 'io..bazs is not a valid doctype name');
  for (const body of [[1], 'text', 3, null]) {
    const res = await post(srv, inst, '/realtime/io.cozy.bazs/b1', 'io.cozy.bazs', body);
    t.equal(res.statusCode, 400, JSON.stringify(body));
  }
});

t.test('other plugins notify and publish synthetic events through the realtime capability', async (t) => {
  const srv = await startRealtimeServer(t);
  const inst = await srv.tk.createInstance('alice.example');
  const realtime = srv.tk.kernel.container.resolve(REALTIME.token);
  const ws = await srv.authed(inst, 'io.cozy.jobs io.cozy.files');
  await ws.subscribe('io.cozy.jobs', 'job-1');
  await ws.subscribe('io.cozy.files.thumbnails');
  await realtime.notify(inst, 'io.cozy.jobs', 'job-1', { imported: 10, total: 42 });
  t.same(await ws.next(), { event: 'NOTIFIED', payload: { type: 'io.cozy.jobs', id: 'job-1', doc: { imported: 10, total: 42, _id: 'job-1' } } });
  await realtime.publish(inst, { verb: 'CREATED', doctype: 'io.cozy.files.thumbnails', doc: { _id: 'file-1', format: 'small' } });
  t.match(await ws.next(), { event: 'CREATED', payload: { type: 'io.cozy.files.thumbnails', id: 'file-1', doc: { format: 'small' } } });
});
