import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { JobDoc, WorkerDefinition } from '@cozy-ts/kernel';
import { createRedisCluster } from '../../kernel/src/cluster/redis-cluster.ts';
import { PouchAdapter } from '../../kernel/src/store/pouch-adapter.ts';
import { withNoopClose } from '../../kernel/test/helpers/shared-ports.ts';
import { makeProject, sleep, startJobsKernel, withInstance } from '../../plugins/jobs/test/helpers.ts';
import { redisUrl } from '../../plugins/jobs/test/redis.ts';

let url = '';
t.before(async () => {
  url = await redisUrl(t);
});

/** A store and a Redis shared by the "processes" of a test, as a farm shares CouchDB and Redis. */
async function farm(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-jobs-farm-'));
  const adapter = new PouchAdapter({ path: dir });
  const prefix = `cozy-jobs-test-${randomUUID()}`;
  const cluster = await createRedisCluster({ url, keyPrefix: `${prefix}:cluster:` });
  const baseDir = await makeProject(t);
  t.teardown(async () => {
    await adapter.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });
  const start = (workers: Record<string, WorkerDefinition>) =>
    startJobsKernel(t, { baseDir, workers, storeAdapter: withNoopClose(adapter), cluster: withNoopClose(cluster), config: { broker: 'redis', redis: { url, prefix }, leaseMs: 1_000 } });
  return { start };
}

t.test('redis: a time trigger fires exactly once across two processes', async (t) => {
  const fired: Array<{ trigger: string; slot: number }> = [];
  const workers = { tick: { concurrency: 2, async run({ job }) { fired.push({ trigger: job.trigger_id as string, slot: Date.parse(job.scheduled_at as string) }); } } } satisfies Record<string, WorkerDefinition>;
  const f = await farm(t);
  const p1 = await f.start(workers);
  const p2 = await f.start(workers);
  const inst = await p1.createInstance('alice.example');
  const s1 = withInstance(p1, inst);
  const s2 = withInstance(p2, inst);
  const ids: string[] = [];
  // Created on both processes: each process's scheduler sees every trigger.
  for (const s of [s1, s2, s1]) {
    const res = await s.call('POST', '/jobs/triggers', 'io.cozy.triggers', { data: { attributes: { type: '@every', arguments: '1s', worker: 'tick' } } });
    t.equal(res.statusCode, 201, res.body);
    ids.push(res.json().data.id);
  }
  // Each process schedules each trigger: a PATCH through the other process reschedules it there too (same slots,
  // same firing ids), as every process does for every trigger when it starts.
  for (const [i, id] of ids.entries()) {
    const res = await (i % 2 ? s1 : s2).call('PATCH', `/jobs/triggers/${id}`, 'io.cozy.triggers', { data: { attributes: { message: { i } } } });
    t.equal(res.statusCode, 200, res.body);
  }
  const started = Date.now();
  await sleep(6_000);
  for (const s of [s1, s2]) for (const id of ids) await s.call('DELETE', `/jobs/triggers/${id}`, 'io.cozy.triggers');
  const elapsed = Date.now() - started;
  await sleep(500);
  for (const id of ids) {
    const slots = fired.filter((f) => f.trigger === id).map((f) => f.slot).sort((a, b) => a - b);
    t.ok(slots.length >= Math.floor(elapsed / 1000) - 1 && slots.length <= Math.ceil(elapsed / 1000) + 1, `${id}: ${slots.length} firings in ${elapsed} ms`);
    const gaps = slots.slice(1).map((at, i) => at - slots[i]);
    t.ok(gaps.every((g) => g === 1000), `each slot fired once, none skipped (gaps ${gaps.join(',')})`);
  }
  const docs = (await p1.kernel.store.find(inst, 'io.cozy.jobs', { selector: { worker: 'tick' }, limit: 1_000 })).docs as JobDoc[];
  t.equal(docs.length, fired.length, 'one job document per firing');
});

t.test('redis: queued jobs survive a restart, and a job whose process died is retried', async (t) => {
  const f = await farm(t);
  let release = false;
  const done: string[] = [];
  // First process: its worker holds the first job and never ends (the process "dies" with it).
  const p1 = await f.start({ work: { concurrency: 1, maxExecCount: 3, async run({ job, signal }) { if (!release) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))); done.push(job._id); } } });
  const inst = await p1.createInstance('alice.example');
  const s1 = withInstance(p1, inst);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await s1.call('POST', '/jobs/queue/work', 'io.cozy.jobs', { data: { attributes: { arguments: i } } })).json().data.id);
  await s1.waitJob(ids[0], (j) => j.state === 'running');
  await p1.close();
  t.equal(done.length, 0, 'nothing ran to the end in the first process');

  release = true;
  const p2 = await f.start({ work: { concurrency: 2, maxExecCount: 3, async run({ job }) { done.push(job._id); } } });
  const s2 = withInstance(p2, inst);
  for (const id of ids) {
    const j = await s2.waitJob(id, (j) => j.state === 'done', 10_000);
    t.equal(j.state, 'done');
  }
  t.same([...done].sort(), [...ids].sort(), 'each job ran once in the new process');
  t.equal((await s2.waitJob(ids[0], () => true)).exec_count, 2, 'the interrupted one on its second try');
});
