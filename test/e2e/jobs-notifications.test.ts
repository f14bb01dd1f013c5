import type { AddressInfo } from 'node:net';
import t from 'tap';
import { openSocket } from '../../plugins/realtime/test/helpers.ts';
import { startJobsKernel } from '../../plugins/jobs/test/helpers.ts';
import { startSmtpSink } from '../../plugins/notifications/test/helpers.ts';

t.test('a notification reaches an open app over realtime and the owner by mail; its sendmail job is seen too', async (t) => {
  const sink = await startSmtpSink(t);
  const tk = await startJobsKernel(t, {
    extra: ['notifications', 'realtime'],
    plugins: { '@cozy-ts/plugin-notifications': { smtp: { host: '127.0.0.1', port: sink.port, ignoreTLS: true } }, '@cozy-ts/plugin-realtime': {} },
  });
  const inst = await tk.createInstance('alice.example', { email: 'alice@example.net' });
  await tk.kernel.store.put(inst, 'io.cozy.apps', { _id: 'io.cozy.apps/bank', slug: 'bank', notifications: { news: {} } });
  await tk.kernel.store.put(inst, 'io.cozy.permissions', { _id: 'io.cozy.apps/bank', type: 'app', source_id: 'io.cozy.apps/bank', permissions: {} });
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (tk.kernel.app.server.address() as AddressInfo).port;

  const socket = await openSocket(t, port, inst.domain);
  socket.send({ method: 'AUTH', payload: await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'home', scope: 'io.cozy.notifications io.cozy.jobs' }) });
  await socket.subscribe('io.cozy.notifications');
  await socket.subscribe('io.cozy.jobs');

  const appToken = await tk.kernel.auth.issueToken(inst, 'app', { subject: 'bank' });
  const res = await tk.kernel.app.inject({
    method: 'POST',
    url: '/notifications',
    headers: { host: inst.domain, authorization: `Bearer ${appToken}`, 'content-type': 'application/vnd.api+json' },
    payload: JSON.stringify({ data: { attributes: { category: 'news', title: 'Hello from the bank', message: 'Something new' } } }),
  });
  t.equal(res.statusCode, 201, res.body);
  const seen: Array<{ event: string; type?: string; state?: unknown; title?: unknown }> = [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !seen.some((m) => m.type === 'io.cozy.jobs' && m.state === 'done')) {
    const m = await socket.next(10_000);
    seen.push({ event: m.event, type: m.payload.type, state: m.payload.doc?.state, title: m.payload.doc?.title });
  }
  t.ok(seen.some((m) => m.event === 'CREATED' && m.type === 'io.cozy.notifications' && m.title === 'Hello from the bank'), 'in-app delivery');
  t.ok(seen.some((m) => m.event === 'CREATED' && m.type === 'io.cozy.jobs' && m.state === 'queued'), 'the sendmail job queued');
  t.ok(seen.some((m) => m.type === 'io.cozy.jobs' && m.state === 'done'), 'and done');
  t.equal(sink.mails.length, 1);
  t.match(sink.mails[0].raw, /Subject: Hello from the bank/);
});
