import t, { type Test } from 'tap';
import { DocCache, type DocCacheOptions } from '../src/auth/doc-cache.ts';
import { createMemoryCluster } from '../src/cluster/memory-cluster.ts';
import type { PubSub } from '../src/cluster/types.ts';
import { DocEventBus, type DocEvent } from '../src/events/doc-events.ts';
import { INSTANCE_INVALIDATE_CHANNEL } from '../src/instances/instance-service.ts';

const DOCTYPE = 'io.cozy.test.things';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Doc-event listeners run on a microtask, memory pub/sub delivery on setImmediate: both are done after this. */
const settle = () => new Promise((r) => setImmediate(r));

function event(domain: string, id: string, over: Partial<DocEvent> = {}): DocEvent {
  return { domain, doctype: DOCTYPE, verb: 'UPDATED', doc: { _id: id, _rev: '2-b' }, old: { _id: id, _rev: '1-a' }, ...over };
}

async function started<V>(t: Test, opts: Partial<DocCacheOptions> = {}): Promise<DocCache<V>> {
  const cache = new DocCache<V>({ doctype: DOCTYPE, channel: 'test:things', max: 100, ttlMs: 60_000, ...opts });
  await cache.start();
  t.teardown(() => cache.stop());
  return cache;
}

function sharedPubsub(t: Test): PubSub {
  const cluster = createMemoryCluster();
  t.teardown(() => cluster.close());
  return cluster.pubsub;
}

t.test('keeps an entry for its trust period only', async (t) => {
  const cache = await started<string>(t, { ttlMs: 50 });
  cache.set('a.example', 'x', 'value', cache.mark());
  t.equal(cache.get('a.example', 'x'), 'value');
  t.equal(cache.get('b.example', 'x'), undefined, 'per instance');
  await sleep(70);
  t.equal(cache.get('a.example', 'x'), undefined, 'gone once expired');
  t.equal(cache.size, 0, 'and removed, not only hidden');
});

t.test('holds at most `max` entries', async (t) => {
  const cache = await started<number>(t, { max: 3 });
  for (let i = 0; i < 10; i++) cache.set('a.example', `d${i}`, i, cache.mark());
  t.equal(cache.size, 3);
  t.equal(cache.get('a.example', 'd0'), undefined, 'the oldest went first');
  t.equal(cache.get('a.example', 'd9'), 9);
});

t.test('a read that an invalidation overtook is not stored', async (t) => {
  const cache = await started<string>(t);
  const mark = cache.mark();
  cache.drop('a.example', 'other');
  cache.set('a.example', 'x', 'read before the drop', mark);
  t.equal(cache.get('a.example', 'x'), undefined);
  cache.set('a.example', 'x', 'fresh', cache.mark());
  t.equal(cache.get('a.example', 'x'), 'fresh');
});

t.test('a write of its doctype on this process drops the entry; other doctypes and harmless writes do not', async (t) => {
  const events = new DocEventBus();
  const cache = await started<string>(t, { events, harmless: (e) => e.doc.stamp === true });
  const fill = () => ['x', 'y'].forEach((id) => cache.set('a.example', id, id, cache.mark()));
  fill();
  events.emit(event('a.example', 'x', { doctype: 'io.cozy.other' }));
  events.emit(event('a.example', 'x', { doc: { _id: 'x', _rev: '2-b', stamp: true } }));
  await settle();
  t.equal(cache.get('a.example', 'x'), 'x', 'untouched by another doctype and by a harmless write');
  for (const verb of ['UPDATED', 'DELETED', 'CREATED'] as const) {
    fill();
    events.emit(event('a.example', 'x', { verb }));
    await settle();
    t.equal(cache.get('a.example', 'x'), undefined, `dropped on ${verb}`);
    t.equal(cache.get('a.example', 'y'), 'y', 'only that document');
  }
});

t.test('a write on one process drops the entry on another (separate buses, one pub/sub)', async (t) => {
  const pubsub = sharedPubsub(t);
  const bus1 = new DocEventBus();
  const p1 = await started<string>(t, { events: bus1, pubsub });
  const p2 = await started<string>(t, { events: new DocEventBus(), pubsub });
  p1.set('a.example', 'x', 'p1', p1.mark());
  p2.set('a.example', 'x', 'p2', p2.mark());
  p2.set('a.example', 'y', 'p2', p2.mark());
  bus1.emit(event('a.example', 'x', { verb: 'DELETED' }));
  await settle();
  await settle();
  t.equal(p1.get('a.example', 'x'), undefined, 'on the writing process');
  t.equal(p2.get('a.example', 'x'), undefined, 'on the other one');
  t.equal(p2.get('a.example', 'y'), 'p2', 'the other documents stay');
});

t.test('a change of an instance drops all its entries on every process, and only its', async (t) => {
  const pubsub = sharedPubsub(t);
  const p1 = await started<string>(t, { pubsub });
  const p2 = await started<string>(t, { pubsub });
  for (const c of [p1, p2]) {
    c.set('a.example', 'x', 'a', c.mark());
    c.set('a.example', 'y', 'a', c.mark());
    c.set('a.example.org', 'x', 'other', c.mark());
  }
  await pubsub.publish(INSTANCE_INVALIDATE_CHANNEL, 'a.example');
  await settle();
  for (const c of [p1, p2]) {
    t.equal(c.get('a.example', 'x'), undefined);
    t.equal(c.get('a.example', 'y'), undefined);
    t.equal(c.get('a.example.org', 'x'), 'other', 'a domain that merely starts the same is kept');
  }
});

t.test('stop unsubscribes and empties', async (t) => {
  const pubsub = sharedPubsub(t);
  const events = new DocEventBus();
  const cache = new DocCache<string>({ doctype: DOCTYPE, channel: 'test:things', max: 10, ttlMs: 60_000, events, pubsub });
  await cache.start();
  t.equal(events.listenerCount, 1);
  cache.set('a.example', 'x', 'v', cache.mark());
  await cache.stop();
  t.equal(events.listenerCount, 0);
  t.equal(cache.size, 0);
});

t.test('a start that fails half way can be tried again', async (t) => {
  const real = sharedPubsub(t);
  let fail = true;
  const pubsub: PubSub = {
    publish: (c, m) => real.publish(c, m),
    subscribe: async (c, h) => {
      if (fail && c === INSTANCE_INVALIDATE_CHANNEL) throw new Error('redis down');
      return real.subscribe(c, h);
    },
  };
  const events = new DocEventBus();
  const cache = new DocCache<string>({ doctype: DOCTYPE, channel: 'test:things', max: 10, ttlMs: 60_000, events, pubsub });
  t.teardown(() => cache.stop());
  await t.rejects(cache.start(), /redis down/);
  t.equal(events.listenerCount, 0, 'nothing left behind');
  fail = false;
  await cache.start();
  cache.set('a.example', 'x', 'v', cache.mark());
  await real.publish(INSTANCE_INVALIDATE_CHANNEL, 'a.example');
  await settle();
  t.equal(cache.get('a.example', 'x'), undefined, 'fully started the second time');
});
