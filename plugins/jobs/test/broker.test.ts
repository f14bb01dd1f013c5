import { randomUUID } from 'node:crypto';
import t from 'tap';
import { MemoryBroker } from '../src/broker/memory-broker.ts';
import { RedisBroker } from '../src/broker/redis-broker.ts';
import { brokerContract } from '../src/testing/broker-contract.ts';
import { redisUrl } from './redis.ts';

brokerContract(t, 'memory', async ({ leaseMs }) => new MemoryBroker(leaseMs));

let url = '';
t.before(async () => {
  url = await redisUrl(t);
});
brokerContract(t, 'redis', ({ leaseMs }) => RedisBroker.connect({ url, prefix: `cozy-test-${randomUUID()}`, leaseMs }));

t.test('redis: no Redis at start, or Redis gone later, gives 503s in bounded time, then recovers', async (t) => {
  const { freePort } = await import('../../../test/helpers/processes.ts');
  const { startRedisServer } = await import('../../../test/helpers/redis-process.ts');
  const port = await freePort();
  const started = Date.now();
  const statusOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: { status?: number }) => err.status);
  t.equal(await statusOf(RedisBroker.connect({ url: `redis://127.0.0.1:${port}` })), 503);
  t.ok(Date.now() - started < 5_000, 'connect fails promptly');

  const server = await startRedisServer();
  t.teardown(() => server.kill());
  const b = await RedisBroker.connect({ url: server.url, prefix: 'dying' });
  await b.enqueue('q', 1);
  await server.kill('SIGKILL');
  const t0 = Date.now();
  t.equal(await statusOf(b.enqueue('q', 2)), 503, 'enqueue');
  t.equal(await statusOf(b.counts('q')), 503, 'counts');
  t.ok(Date.now() - t0 < 15_000, `503s within bounds (${Date.now() - t0} ms)`);
  const revived = await startRedisServer(server.port);
  t.teardown(() => revived.kill());
  // Closed while its Redis is still there (teardowns run last first).
  t.teardown(() => b.close());
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    ok = await b.enqueue('q', 3).then(() => true, () => false);
    if (!ok) await new Promise((r) => setTimeout(r, 200));
  }
  t.ok(ok, 'works again once Redis is back');
});
