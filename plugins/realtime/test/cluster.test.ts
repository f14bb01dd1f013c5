import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ClusterPorts, CozyConfig } from '@cozy-ts/kernel';
import { createMemoryCluster } from '../../../kernel/src/cluster/memory-cluster.ts';
import { PouchAdapter } from '../../../kernel/src/store/pouch-adapter.ts';
import { startRedisServer } from '../../../test/helpers/redis-process.ts';
import { receivesWithin, startRealtimeServer, withNoopClose, type RealtimeServer } from './helpers.ts';

interface Farm {
  a: RealtimeServer;
  b: RealtimeServer;
}

type FarmPorts = { cluster: ClusterPorts } | { config: CozyConfig };

/** Two "processes": two kernels, each with its own HTTP server and realtime hub, sharing the store and the cluster. */
async function startFarm(t: Test, ports: (t: Test) => FarmPorts): Promise<Farm> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-realtime-farm-'));
  const adapter = new PouchAdapter({ path: dir });
  t.teardown(async () => {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  });
  const shared = ports(t);
  const start = () => startRealtimeServer(t, { storeAdapter: withNoopClose(adapter), ...shared });
  return { a: await start(), b: await start() };
}

function fanOut(t: Test, ports: (t: Test) => FarmPorts): void {
  t.test('a write on process A reaches sockets on both processes, exactly once each', async (t) => {
    const { a, b } = await startFarm(t, ports);
    const inst = await a.tk.createInstance('alice.example');
    const onA = await a.authed(inst, 'io.cozy.foos');
    const onB = await b.authed(inst, 'io.cozy.foos');
    await onA.subscribe('io.cozy.foos');
    await onB.subscribe('io.cozy.foos');

    await a.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'from-a', v: 1 });
    t.match(await onB.next(), { event: 'CREATED', payload: { id: 'from-a', doc: { v: 1 } } }, 'B hears a write made on A');
    t.match(await onA.next(), { event: 'CREATED', payload: { id: 'from-a' } }, 'A hears its own write');
    await b.tk.kernel.store.put(inst, 'io.cozy.foos', { _id: 'from-b' });
    t.match(await onA.next(), { payload: { id: 'from-b' } }, 'and the other way round');
    t.match(await onB.next(), { payload: { id: 'from-b' } });
    t.notOk(await receivesWithin(onA, 150), 'no duplicate on A');
    t.notOk(await receivesWithin(onB, 10), 'no duplicate on B');
  });

  t.test('a notification posted on process A reaches a socket on process B', async (t) => {
    const { a, b } = await startFarm(t, ports);
    const inst = await a.tk.createInstance('alice.example');
    const onB = await b.authed(inst, 'io.cozy.jobs');
    await onB.subscribe('io.cozy.jobs', 'job-1');
    const res = await a.tk.kernel.app.inject({
      method: 'POST',
      url: '/realtime/io.cozy.jobs/job-1',
      headers: { host: 'alice.example', authorization: `Bearer ${await a.token(inst, 'io.cozy.jobs')}` },
      payload: { done: 3 },
    });
    t.equal(res.statusCode, 204);
    t.same(await onB.next(), { event: 'NOTIFIED', payload: { type: 'io.cozy.jobs', id: 'job-1', doc: { done: 3, _id: 'job-1' } } });
  });

  t.test('across processes too, a socket of another instance hears nothing', async (t) => {
    const { a, b } = await startFarm(t, ports);
    const alice = await a.tk.createInstance('alice.example');
    const bob = await a.tk.createInstance('bob.example');
    const bobOnB = await b.authed(bob, 'io.cozy.foos');
    const aliceOnB = await b.authed(alice, 'io.cozy.foos');
    await bobOnB.subscribe('io.cozy.foos');
    await aliceOnB.subscribe('io.cozy.foos');
    await a.tk.kernel.store.put(alice, 'io.cozy.foos', { _id: 'private' });
    t.match(await aliceOnB.next(), { payload: { id: 'private' } });
    t.notOk(await receivesWithin(bobOnB, 150));
  });
}

t.test('with a memory cluster shared by two kernels', async (t) => {
  fanOut(t, (t) => {
    const cluster = createMemoryCluster();
    t.teardown(() => cluster.close());
    return { cluster: withNoopClose(cluster) };
  });
});

t.test('with two kernels on one Redis', async (t) => {
  let url = process.env.COZY_TEST_REDIS_URL;
  if (!url) {
    const server = await startRedisServer();
    t.teardown(() => server.kill('SIGTERM'));
    url = server.url;
  }
  const redisUrl = url;
  // Each kernel opens its own connections; a prefix per farm keeps runs that share one Redis apart.
  fanOut(t, () => ({ config: { redis: { url: redisUrl, keyPrefix: `cozy-test:${randomUUID()}:` } } }));
});
