/**
 * One behavioural contract for every ClusterPorts backend. `make` returns two handles, `a` and `b`, standing
 * for two server processes that share state: whatever one does, the other must observe. Each test gets a
 * fresh pair, so backends must isolate pairs from one another (e.g. a random Redis key prefix).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { KernelErrors, isCozyError } from '../errors.ts';
import type { ClusterPorts, MessageHandler } from '../cluster/types.ts';

export interface ClusterPair {
  a: ClusterPorts;
  b: ClusterPorts;
  cleanup(): Promise<void>;
}

/** Collects messages and lets a test wait for a given count without fixed sleeps. */
function inbox(): { handler: MessageHandler; messages: Array<[string, string]>; waitFor(n: number): Promise<void> } {
  const messages: Array<[string, string]> = [];
  let notify: (() => void) | undefined;
  return {
    messages,
    handler(message, channel) {
      messages.push([message, channel]);
      notify?.();
    },
    async waitFor(n) {
      const deadline = Date.now() + 2_000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${messages.length}`);
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 20);
        });
      }
    },
  };
}

/** The rejection reason, or undefined when the call succeeded. */
function caught(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (err: unknown) => err,
  );
}

export function clusterContract(t: Test, name: string, make: () => Promise<ClusterPair>): void {
  const test = (title: string, body: (t: Test, pair: ClusterPair) => Promise<void>): void => {
    void t.test(`${name}: ${title}`, async (t) => {
      const pair = await make();
      t.teardown(() => pair.cleanup());
      await body(t, pair);
    });
  };

  // ---- cache ------------------------------------------------------------------------------------------------

  test('a value set on one process is read on the other, and delete reports whether it existed', async (t, { a, b }) => {
    t.equal(await b.cache.get('k'), undefined);
    await a.cache.set('k', 'v1');
    t.equal(await b.cache.get('k'), 'v1');
    await b.cache.set('k', 'v2');
    t.equal(await a.cache.get('k'), 'v2');
    t.equal(await b.cache.delete('k'), true);
    t.equal(await a.cache.get('k'), undefined);
    t.equal(await a.cache.delete('k'), false);
  });

  test('a value set with a ttl disappears after it and one set without a ttl stays', async (t, { a, b }) => {
    await a.cache.set('short', 1, 200);
    await a.cache.set('forever', 2);
    t.equal(await b.cache.get('short'), 1);
    await sleep(300);
    t.equal(await b.cache.get('short'), undefined);
    t.equal(await b.cache.delete('short'), false, 'an expired key does not count as existing');
    t.equal(await b.cache.get('forever'), 2);
  });

  test('JSON values round-trip unchanged and are not shared by reference', async (t, { a, b }) => {
    const samples: Record<string, unknown> = {
      object: { nested: { list: [1, 'two', { three: 3 }], yes: true, no: false, nothing: null }, n: -1.5 },
      array: [0, '', null, [[]]],
      string: 'héllo ✓ : colon-leading',
      colon: ':base64:AAAA',
      zero: 0,
      falsy: false,
      null: null,
    };
    for (const [key, value] of Object.entries(samples)) await a.cache.set(key, value);
    for (const [key, value] of Object.entries(samples)) t.same(await b.cache.get(key), value, key);
    t.equal(await b.cache.get('null'), null, 'a stored null is not a miss');

    const original = { count: 1 };
    await a.cache.set('ref', original);
    original.count = 2;
    const read = await a.cache.get<{ count: number }>('ref');
    t.same(read, { count: 1 }, 'later changes to the stored object do not leak in');
    if (read) read.count = 3;
    t.same(await b.cache.get('ref'), { count: 1 }, 'changes to a read value do not leak in');

    await t.rejects(a.cache.set('bad', undefined), TypeError, 'undefined is not a JSON value');
  });

  test('increment is atomic under 200 concurrent calls from both processes', async (t, { a, b }) => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).cache.increment('hits')),
    );
    t.same(
      [...results].sort((x, y) => x - y),
      Array.from({ length: 200 }, (_, i) => i + 1),
      'every call saw a distinct value',
    );
    t.equal(await a.cache.get('hits'), 200);
    t.equal(await b.cache.increment('hits', undefined, 5), 205, 'a custom step adds that much');
    t.equal(await a.cache.increment('hits', undefined, -205), 0, 'a negative step subtracts');
  });

  test('increment sets the ttl only when it creates the key', async (t, { a, b }) => {
    // Hits at 0 and ~400 ms of a 600 ms window, read at ~800 ms: gone only if the ttl started with the first hit
    // (a restart at the second hit would keep the key until ~1000 ms). 200 ms margins absorb a busy CI machine.
    t.equal(await a.cache.increment('window', 600), 1);
    await sleep(400);
    t.equal(await b.cache.increment('window', 600), 2, 'a later hit counts in the same window');
    await sleep(400);
    t.equal(await a.cache.get('window'), undefined, 'the window closed 600 ms after the first hit');
    t.equal(await b.cache.increment('window', 600), 1, 'the next hit opens a new window');
  });

  test('increment refuses a value that is not an integer', async (t, { a }) => {
    await a.cache.set('text', 'abc');
    t.match(await caught(a.cache.increment('text')), { status: 500 });
  });

  test('setIfAbsent lets exactly one of many concurrent callers on both processes win', async (t, { a, b }) => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).cache.setIfAbsent('code', { by: i }, 5_000)),
    );
    const winners = outcomes.flatMap((won, i) => (won ? [i] : []));
    t.equal(winners.length, 1, 'one winner');
    t.same(await b.cache.get('code'), { by: winners[0] }, 'the stored value is the winner’s');
    t.equal(await a.cache.setIfAbsent('code', 'again'), false, 'a present key is not replaced');
  });

  test('setIfAbsent succeeds again once the previous value expired', async (t, { a, b }) => {
    t.equal(await a.cache.setIfAbsent('once', 1, 200), true);
    t.equal(await b.cache.setIfAbsent('once', 2, 200), false);
    await sleep(300);
    t.equal(await b.cache.setIfAbsent('once', 3), true);
    t.equal(await a.cache.get('once'), 3);
  });

  test('take returns a value exactly once even under concurrent takers', async (t, { a, b }) => {
    t.equal(await a.cache.take('missing'), undefined);
    await a.cache.set('token', { secret: 's' });
    const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).cache.take('token')));
    const hits = taken.filter((v) => v !== undefined);
    t.same(hits, [{ secret: 's' }], 'exactly one taker got the value');
    t.equal(await b.cache.get('token'), undefined, 'the key is gone afterwards');
  });

  test('ping resolves on a healthy backend', async (t, { a, b }) => {
    await t.resolves(a.cache.ping(), 'process a');
    await t.resolves(b.cache.ping(), 'process b');
  });

  // ---- locks -------------------------------------------------------------------------------------------------

  test('a lock is exclusive across processes until released', async (t, { a, b }) => {
    const held = await a.locks.acquire('job', { ttlMs: 5_000 });
    t.ok(held, 'a acquires');
    t.equal(await b.locks.acquire('job', { ttlMs: 5_000 }), null, 'b is refused');
    t.equal(await a.locks.acquire('job', { ttlMs: 5_000 }), null, 'a second acquisition by a is refused too');
    t.ok(await b.locks.acquire('other', { ttlMs: 5_000 }), 'other names are independent');
    await held?.release();
    await t.resolves(Promise.resolve(held?.release()), 'release is idempotent');
    t.ok(await b.locks.acquire('job', { ttlMs: 5_000 }), 'b acquires after the release');
  });

  test('an expired lock is free for another holder', async (t, { a, b }) => {
    t.ok(await a.locks.acquire('lease', { ttlMs: 200 }));
    t.equal(await b.locks.acquire('lease', { ttlMs: 1_000 }), null);
    await sleep(300);
    t.ok(await b.locks.acquire('lease', { ttlMs: 1_000 }), 'nobody renewed, so the lease lapsed');
  });

  test('renew extends the lease beyond its first ttl', async (t, { a, b }) => {
    const lock = await a.locks.acquire('renewed', { ttlMs: 300 });
    await sleep(100);
    t.equal(await lock?.renew(600), true);
    await sleep(350);
    t.equal(await b.locks.acquire('renewed', { ttlMs: 1_000 }), null, 'still held past the first ttl');
    await sleep(400);
    t.ok(await b.locks.acquire('renewed', { ttlMs: 1_000 }), 'free once the renewed lease ran out');
  });

  test('renew after the lock was lost returns false', async (t, { a, b }) => {
    const lock = await a.locks.acquire('lost', { ttlMs: 50 });
    await sleep(100);
    const successor = await b.locks.acquire('lost', { ttlMs: 1_000 });
    t.ok(successor);
    t.equal(await lock?.renew(1_000), false, 'the old holder is told');
    t.equal(await a.locks.acquire('lost', { ttlMs: 1_000 }), null, 'and did not take the lock back');

    const expiredOnly = await a.locks.acquire('lapsed', { ttlMs: 50 });
    await sleep(100);
    t.equal(await expiredOnly?.renew(1_000), false, 'an expired lease is lost even when nobody took it');

    const released = await a.locks.acquire('released', { ttlMs: 1_000 });
    await released?.release();
    t.equal(await released?.renew(1_000), false, 'a released lock cannot be renewed');
  });

  test('a release by a holder whose lease expired does not free the new holder’s lock', async (t, { a, b }) => {
    const stale = await a.locks.acquire('guarded', { ttlMs: 50 });
    await sleep(100);
    const current = await b.locks.acquire('guarded', { ttlMs: 5_000 });
    t.ok(current);
    await stale?.release();
    t.equal(await a.locks.acquire('guarded', { ttlMs: 1_000 }), null, 'still held by b');
    t.equal(await current?.renew(5_000), true, 'b still owns it');
  });

  test('acquire with waitMs gets the lock once it is released, and gives up after waitMs', async (t, { a, b }) => {
    const held = await a.locks.acquire('queue', { ttlMs: 5_000 });
    const started = Date.now();
    const waiting = b.locks.acquire('queue', { ttlMs: 5_000, waitMs: 3_000 });
    setTimeout(() => void held?.release(), 100);
    const got = await waiting;
    t.ok(got, 'acquired after the release');
    t.ok(Date.now() - started < 2_000, 'without waiting for waitMs to run out');

    const before = Date.now();
    t.equal(await a.locks.acquire('queue', { ttlMs: 5_000, waitMs: 150 }), null, 'gives up while still held');
    t.ok(Date.now() - before >= 140, 'after about waitMs');
  });

  test('withLock serialises 20 concurrent read-modify-write increments without losing any', async (t, { a, b }) => {
    await a.cache.set('counter', 0);
    let inside = 0;
    let overlap = false;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).locks.withLock('counter-lock', { ttlMs: 2_000, waitMs: 10_000 }, async () => {
          inside += 1;
          if (inside > 1) overlap = true;
          const value = (await (i % 2 === 0 ? a : b).cache.get<number>('counter')) ?? 0;
          await sleep(2);
          await (i % 2 === 0 ? b : a).cache.set('counter', value + 1);
          inside -= 1;
          return i;
        }),
      ),
    );
    t.same(results, Array.from({ length: 20 }, (_, i) => i), 'each call returns its fn’s value');
    t.equal(overlap, false, 'no two critical sections overlapped');
    t.equal(await b.cache.get('counter'), 20);
    t.ok(await a.locks.acquire('counter-lock', { ttlMs: 1_000 }), 'the lock is free afterwards');
  });

  test('withLock keeps renewing the lease while fn runs longer than the ttl', async (t, { a, b }) => {
    const run = a.locks.withLock('long', { ttlMs: 300 }, async () => {
      await sleep(900);
      return 'done';
    });
    await sleep(400);
    t.equal(await b.locks.acquire('long', { ttlMs: 1_000 }), null, 'held past one ttl');
    await sleep(300);
    t.equal(await b.locks.acquire('long', { ttlMs: 1_000 }), null, 'held past two ttls');
    t.equal(await run, 'done');
    t.ok(await b.locks.acquire('long', { ttlMs: 1_000 }), 'released when fn returns');
  });

  test('withLock releases the lock when fn throws and rethrows the error', async (t, { a, b }) => {
    const boom = new Error('boom');
    await t.rejects(
      a.locks.withLock('failing', { ttlMs: 5_000 }, async () => {
        throw boom;
      }),
      boom,
    );
    t.ok(await b.locks.acquire('failing', { ttlMs: 1_000 }));
  });

  test('withLock throws a 503 lock-timeout CozyError when the lock stays held past waitMs', async (t, { a, b }) => {
    await a.locks.acquire('busy', { ttlMs: 5_000 });
    let ran = false;
    const error = await caught(
      b.locks.withLock('busy', { ttlMs: 1_000, waitMs: 100 }, async () => {
        ran = true;
      }),
    );
    t.ok(isCozyError(error), 'a CozyError');
    t.match(error, { status: 503, code: KernelErrors.lockTimeout.code });
    t.equal(ran, false, 'fn never ran');
  });

  // ---- pub/sub -----------------------------------------------------------------------------------------------

  test('a message published on one process reaches subscribers on the other, on that channel only', async (t, { a, b }) => {
    const box = inbox();
    const other = inbox();
    await b.pubsub.subscribe('news', box.handler);
    await b.pubsub.subscribe('sports', other.handler);
    await a.pubsub.publish('news', 'hello');
    await box.waitFor(1);
    t.same(box.messages, [['hello', 'news']], 'handler gets the message and the unprefixed channel');
    await sleep(50);
    t.same(other.messages, [], 'other channels get nothing');
  });

  test('the publisher’s own subscribers receive its messages, after publish returns', async (t, { a }) => {
    const box = inbox();
    await a.pubsub.subscribe('self', box.handler);
    const publishing = a.pubsub.publish('self', 'echo');
    t.same(box.messages, [], 'not delivered synchronously inside publish');
    await publishing;
    await box.waitFor(1);
    t.same(box.messages, [['echo', 'self']]);
  });

  test('every handler of a channel receives, and unsubscribing stops delivery to that handler only', async (t, { a, b }) => {
    const first = inbox();
    const second = inbox();
    const watcher = inbox();
    const offFirst = await b.pubsub.subscribe('topic', first.handler);
    const offSecond = await b.pubsub.subscribe('topic', second.handler);
    await a.pubsub.subscribe('topic', watcher.handler);

    await a.pubsub.publish('topic', 'one');
    await Promise.all([first.waitFor(1), second.waitFor(1), watcher.waitFor(1)]);

    await offFirst();
    await t.resolves(Promise.resolve(offFirst()), 'unsubscribing twice is harmless');
    await a.pubsub.publish('topic', 'two');
    await Promise.all([second.waitFor(2), watcher.waitFor(2)]);
    t.same(first.messages.map(([m]) => m), ['one'], 'the unsubscribed handler got nothing more');

    await offSecond();
    await a.pubsub.publish('topic', 'three');
    await watcher.waitFor(3);
    await sleep(50);
    t.same(second.messages.map(([m]) => m), ['one', 'two'], 'nothing after the last handler left');

    const again = inbox();
    await b.pubsub.subscribe('topic', again.handler);
    await a.pubsub.publish('topic', 'four');
    await again.waitFor(1);
    t.same(again.messages.map(([m]) => m), ['four'], 'subscribing again after that works');
  });

  test('a throwing or rejecting handler does not stop delivery to the others', async (t, { a, b }) => {
    const box = inbox();
    await b.pubsub.subscribe('fragile', () => {
      throw new Error('handler bug');
    });
    await b.pubsub.subscribe('fragile', async () => {
      throw new Error('async handler bug');
    });
    await b.pubsub.subscribe('fragile', box.handler);
    await a.pubsub.publish('fragile', 'm1');
    await a.pubsub.publish('fragile', 'm2');
    await box.waitFor(2);
    t.same(box.messages.map(([m]) => m), ['m1', 'm2']);
  });

  test('messages on a channel arrive in the order they were published', async (t, { a, b }) => {
    const remote = inbox();
    const local = inbox();
    await b.pubsub.subscribe('ordered', remote.handler);
    await a.pubsub.subscribe('ordered', local.handler);
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => a.pubsub.publish('ordered', m)));
    await Promise.all([remote.waitFor(100), local.waitFor(100)]);
    t.same(remote.messages.map(([m]) => m), sent, 'on the other process');
    t.same(local.messages.map(([m]) => m), sent, 'on the publishing process');
  });

  test('close can be called more than once', async (t, { a }) => {
    await t.resolves(a.close(), 'first close');
    await t.resolves(a.close(), 'second close');
  });
}
