import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createRedisCluster } from '../src/cluster/redis-cluster.ts';
import { isCozyError } from '../src/errors.ts';
import { clusterContract } from '../src/testing/cluster-contract.ts';
import { freePort } from '../../test/helpers/processes.ts';
import { startRedisServer } from '../../test/helpers/redis-process.ts';

async function deleteKeysUnder(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** Asserts a call fails with a 503 CozyError, and does so within `withinMs`. */
async function rejects503(t: Test, call: Promise<unknown>, label: string, withinMs: number): Promise<void> {
  const started = Date.now();
  const outcome = await call.then(
    () => 'resolved',
    (err: unknown) => err,
  );
  const took = Date.now() - started;
  t.ok(isCozyError(outcome) && outcome.status === 503, `${label} fails with a 503 CozyError`, {
    got: outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : outcome,
  });
  t.ok(took < withinMs, `${label} fails within ${withinMs} ms (took ${took} ms)`);
}

const external = process.env.COZY_TEST_REDIS_URL;
let sharedUrl = external ?? '';

t.before(async () => {
  if (external) return;
  const server = await startRedisServer();
  sharedUrl = server.url;
  t.teardown(() => server.kill('SIGTERM'));
});

/** Two "processes": two clusters with their own connections, sharing one random prefix (only it is flushed). */
async function makePair(url: string) {
  const keyPrefix = `cozy-test:${randomUUID()}:`;
  const a = await createRedisCluster({ url, keyPrefix });
  const b = await createRedisCluster({ url, keyPrefix });
  return {
    a,
    b,
    keyPrefix,
    async cleanup() {
      await Promise.all([a.close(), b.close()]);
      await deleteKeysUnder(url, keyPrefix);
    },
  };
}

clusterContract(t, 'redis', () => makePair(sharedUrl));

t.test('redis: the last handler leaving a channel unsubscribes this process in Redis', async (t) => {
  const { a, keyPrefix, cleanup } = await makePair(sharedUrl);
  t.teardown(cleanup);
  const observer = new Redis(sharedUrl);
  t.teardown(() => observer.disconnect());
  const subscribers = async (): Promise<number> => {
    const reply = (await observer.pubsub('NUMSUB', `${keyPrefix}room`)) as [string, number];
    return Number(reply[1]);
  };

  const off1 = await a.pubsub.subscribe('room', () => undefined);
  const off2 = await a.pubsub.subscribe('room', () => undefined);
  t.equal(await subscribers(), 1, 'one Redis subscription for two handlers, on the prefixed channel');
  await off1();
  t.equal(await subscribers(), 1, 'kept while a handler remains');
  await off2();
  t.equal(await subscribers(), 0, 'dropped with the last handler');
});

t.test('redis: stacks with different key prefixes do not see each other', async (t) => {
  const one = await makePair(sharedUrl);
  const two = await makePair(sharedUrl);
  t.teardown(() => Promise.all([one.cleanup(), two.cleanup()]));
  await one.a.cache.set('shared-name', 'one');
  t.equal(await two.a.cache.get('shared-name'), undefined, 'cache is prefixed');
  t.ok(await one.a.locks.acquire('shared-name', { ttlMs: 5_000 }));
  t.ok(await two.a.locks.acquire('shared-name', { ttlMs: 5_000 }), 'locks are prefixed');

  const heard: string[] = [];
  await two.b.pubsub.subscribe('shared-name', (m) => heard.push(m));
  const own: string[] = [];
  await one.b.pubsub.subscribe('shared-name', (m) => own.push(m));
  await one.a.pubsub.publish('shared-name', 'hello');
  while (own.length === 0) await sleep(10);
  await sleep(50);
  t.same(heard, [], 'channels are prefixed');
});

t.test('redis: creating a cluster with no Redis listening fails with a 503 promptly', async (t) => {
  const port = await freePort();
  await rejects503(t, createRedisCluster({ url: `redis://127.0.0.1:${port}` }), 'createRedisCluster', 3_000);
});

// The failure tests kill or freeze a server of their own, never the shared one (which may be COZY_TEST_REDIS_URL).
t.test('redis: a cluster whose Redis was killed answers with 503s in bounded time, then recovers', async (t) => {
  const server = await startRedisServer();
  t.teardown(() => server.kill());
  const cluster = await createRedisCluster({ url: server.url, keyPrefix: 'dying:' });
  t.teardown(() => cluster.close());
  await cluster.cache.set('k', 1);
  await cluster.pubsub.subscribe('events', () => undefined);
  const held = await cluster.locks.acquire('held', { ttlMs: 10_000 });

  await server.kill('SIGKILL');
  const bound = 4_000;
  await Promise.all([
    rejects503(t, cluster.cache.get('k'), 'get', bound),
    rejects503(t, cluster.cache.set('k', 2), 'set', bound),
    rejects503(t, cluster.cache.delete('k'), 'delete', bound),
    rejects503(t, cluster.cache.increment('n', 1_000), 'increment', bound),
    rejects503(t, cluster.cache.setIfAbsent('s', 1), 'setIfAbsent', bound),
    rejects503(t, cluster.cache.take('k'), 'take', bound),
    rejects503(t, cluster.cache.ping(), 'ping', bound),
    rejects503(t, cluster.locks.acquire('l', { ttlMs: 1_000 }), 'acquire', bound),
    rejects503(t, cluster.locks.withLock('l', { ttlMs: 1_000 }, async () => 1), 'withLock', bound),
    rejects503(t, held ? held.renew(1_000) : Promise.resolve(), 'renew', bound),
    rejects503(t, cluster.pubsub.publish('events', 'x'), 'publish', bound),
    rejects503(t, cluster.pubsub.subscribe('more-events', () => undefined), 'subscribe', bound),
  ]);
  // Let a few reconnect attempts fail: their 'error' events must not take the process down.
  await sleep(500);
  await rejects503(t, cluster.cache.get('k'), 'a later get', bound);

  const revived = await startRedisServer(server.port);
  t.teardown(() => revived.kill());
  const deadline = Date.now() + 5_000;
  let recovered = false;
  while (!recovered && Date.now() < deadline) {
    recovered = await cluster.cache.ping().then(
      () => true,
      () => false,
    );
    if (!recovered) await sleep(100);
  }
  t.ok(recovered, 'the same cluster works again once Redis is back');
  await cluster.cache.set('k', 3);
  t.equal(await cluster.cache.get('k'), 3);

  const started = Date.now();
  await cluster.close();
  await cluster.close();
  t.ok(Date.now() - started < 3_000, 'close is prompt and idempotent');
});

t.test('redis: a frozen Redis makes calls fail with 503 after the command timeout instead of hanging', async (t) => {
  const server = await startRedisServer();
  t.teardown(() => server.kill());
  const cluster = await createRedisCluster({ url: server.url, keyPrefix: 'frozen:', commandTimeoutMs: 300 });
  await cluster.cache.set('k', 1);

  // SIGKILL (the teardown above) also ends a stopped process, so no SIGCONT is needed.
  process.kill(server.pid, 'SIGSTOP');
  await rejects503(t, cluster.cache.get('k'), 'get', 2_000);
  await rejects503(t, cluster.locks.acquire('l', { ttlMs: 1_000 }), 'acquire', 2_000);

  const started = Date.now();
  await cluster.close();
  t.ok(Date.now() - started < 2_000, 'close does not wait for the frozen server');
});
