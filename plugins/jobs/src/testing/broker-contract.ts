import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import type { Broker } from '../broker/types.ts';

/** Makes a fresh broker with this lease length; the suite closes it. */
export type MakeBroker = (opts: { leaseMs: number }) => Promise<Broker>;

let counter = 0;
const queueName = () => `contract-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** The rules of `Broker` (src/broker/types.ts), run against every implementation. */
export function brokerContract(t: Test, label: string, make: MakeBroker): void {
  const withBroker = async (t: Test, leaseMs = 5_000): Promise<Broker> => {
    const b = await make({ leaseMs });
    t.teardown(() => b.close());
    return b;
  };

  t.test(`${label}: messages are claimed oldest first, once, with their payload`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    for (let i = 0; i < 5; i++) await b.enqueue(q, { n: i });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lease = await b.claim<{ n: number }>(q);
      t.ok(lease, `claim ${i}`);
      seen.push(lease!.payload.n);
      t.equal(lease!.attempt, 1, 'first attempt');
      t.ok(await b.complete(q, lease!.id, lease!.token), 'completed');
    }
    t.same(seen, [0, 1, 2, 3, 4]);
    t.equal(await b.claim(q), null, 'nothing left');
    t.same(await b.counts(q), { waiting: 0, delayed: 0, active: 0 });
  });

  t.test(`${label}: an id already queued or recently finished is not queued again`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    t.same(await b.enqueue(q, 1, { id: 'same-id', delayMs: 200 }), { id: 'same-id', created: true });
    t.same(await b.enqueue(q, 2, { id: 'same-id' }), { id: 'same-id', created: false }, 'while delayed');
    const lease = await b.claim<number>(q, { waitMs: 3_000 });
    t.equal(lease?.payload, 1, 'the first payload won');
    t.same(await b.enqueue(q, 3, { id: 'same-id' }), { id: 'same-id', created: false }, 'while active');
    await b.complete(q, lease!.id, lease!.token);
    t.same(await b.enqueue(q, 4, { id: 'same-id' }), { id: 'same-id', created: false }, 'after it finished');
    t.equal(await b.claim(q), null);
  });

  t.test(`${label}: a delayed message is claimable only once its delay has passed`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    const queuedAt = Date.now();
    await b.enqueue(q, 'later', { delayMs: 400 });
    t.equal(await b.claim(q), null, 'not yet');
    t.same(await b.counts(q), { waiting: 0, delayed: 1, active: 0 });
    const lease = await b.claim<string>(q, { waitMs: 3_000 });
    t.equal(lease?.payload, 'later');
    t.ok(Date.now() - queuedAt >= 390, 'not before its time');
  });

  t.test(`${label}: a waiting claim is served by a message queued after it started`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    const pending = b.claim<string>(q, { waitMs: 3_000 });
    await sleep(100);
    await b.enqueue(q, 'now');
    t.equal((await pending)?.payload, 'now');
  });

  t.test(`${label}: a lapsed lease makes the message claimable again and kills the old token`, async (t) => {
    const b = await withBroker(t, 600);
    const q = queueName();
    await b.enqueue(q, 'x');
    const first = await b.claim(q);
    t.ok(first);
    t.equal(await b.claim(q), null, 'held by the first claimer');
    const second = await b.claim(q, { waitMs: 4_000 });
    t.ok(second, 'claimable again after the lease lapsed');
    t.equal(second!.attempt, 2, 'the lapsed claim counts as an attempt');
    t.not(second!.token, first!.token);
    t.equal(await b.extend(q, first!.id, first!.token), null, 'old token cannot extend');
    t.equal(await b.complete(q, first!.id, first!.token), false, 'old token cannot complete');
    t.equal(await b.fail(q, first!.id, first!.token, { error: 'x' }), 'lost', 'old token cannot fail');
    t.ok(await b.complete(q, second!.id, second!.token), 'the new holder can');
  });

  t.test(`${label}: extending a lease keeps the message held`, async (t) => {
    const b = await withBroker(t, 600);
    const q = queueName();
    await b.enqueue(q, 'x');
    const lease = await b.claim(q);
    for (let i = 0; i < 5; i++) {
      await sleep(250);
      t.ok(await b.extend(q, lease!.id, lease!.token), `extension ${i}`);
    }
    t.equal(await b.claim(q), null, 'nobody else got it');
    t.ok(await b.complete(q, lease!.id, lease!.token));
  });

  t.test(`${label}: fail retries after the delay, or ends the message when final`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    await b.enqueue(q, 'r');
    const one = await b.claim(q);
    const failedAt = Date.now();
    t.equal(await b.fail(q, one!.id, one!.token, { error: 'boom', retryDelayMs: 300 }), 'retry');
    t.equal(await b.claim(q), null, 'not before the retry delay');
    const two = await b.claim(q, { waitMs: 3_000 });
    t.ok(Date.now() - failedAt >= 290, 'after the retry delay');
    t.equal(two!.attempt, 2);
    t.equal(await b.fail(q, two!.id, two!.token, { error: 'boom', final: true }), 'failed');
    t.equal(await b.claim(q, { waitMs: 300 }), null, 'gone for good');
  });

  t.test(`${label}: remove drops a waiting message but not an active one`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    await b.enqueue(q, 'a', { id: 'msg-a' });
    await b.enqueue(q, 'b', { id: 'msg-b', delayMs: 10_000 });
    t.ok(await b.remove(q, 'msg-b'), 'a delayed one');
    const lease = await b.claim(q);
    t.equal(lease?.id, 'msg-a');
    t.notOk(await b.remove(q, 'msg-a'), 'not an active one');
    t.notOk(await b.remove(q, 'absent'), 'nor an absent one');
  });

  t.test(`${label}: concurrent claimers never get the same message`, async (t) => {
    const b = await withBroker(t);
    const q = queueName();
    const n = 200;
    for (let i = 0; i < n; i++) await b.enqueue(q, i);
    const got: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let lease = await b.claim<number>(q); lease; lease = await b.claim<number>(q)) {
          got.push(lease.payload);
          await b.complete(q, lease.id, lease.token);
        }
      }),
    );
    t.equal(got.length, n, 'every message once');
    t.equal(new Set(got).size, n, 'no duplicates');
  });

  t.test(`${label}: close ends pending claims and is idempotent`, async (t) => {
    const b = await make({ leaseMs: 5_000 });
    const q = queueName();
    const pending = b.claim(q, { waitMs: 10_000 });
    await sleep(100);
    const started = Date.now();
    await b.close();
    t.equal(await pending, null);
    t.ok(Date.now() - started < 5_000, 'promptly');
    await b.close();
  });
}
