/**
 * The jobs plugin against its targets:
 *
 *   node --import tsx bench/jobs/run.ts [--jobs 10000] [--triggers 100] [--seconds 30] [--redis-url URL]
 *
 * 1. --jobs no-op jobs through the memory and the Redis broker: jobs/s and p99 from queued to started.
 *    Baseline: the broker alone (enqueue, claim, complete: no job document); then the whole path (push writes the
 *    io.cozy.jobs document, a worker loop claims, marks it running, runs a no-op, marks it done), whose ratio to the
 *    baseline shows what the documents cost.
 * 2. --triggers `@every 1s` triggers on two kernels ("processes": own broker connections, schedulers and workers)
 *    sharing one store and one Redis, for --seconds: every job says which schedule slot fired it; for the slots up
 *    to the end of the run, the count fired must equal the count expected, with no duplicate and no miss. A loaded
 *    machine fires late: the script waits for the late ones and reports the lag.
 *
 * Redis: --redis-url, else COZY_TEST_REDIS_URL, else a throw-away redis-server.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { InstanceDoc, JobDoc, JobsService, WorkerDefinition } from '../../kernel/src/index.ts';
import { createRedisCluster } from '../../kernel/src/cluster/redis-cluster.ts';
import { PouchAdapter } from '../../kernel/src/store/pouch-adapter.ts';
import { startTestKernel, type TestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { MemoryBroker } from '../../plugins/jobs/src/broker/memory-broker.ts';
import { RedisBroker } from '../../plugins/jobs/src/broker/redis-broker.ts';
import type { Broker } from '../../plugins/jobs/src/broker/types.ts';
import { startRedisServer } from '../../test/helpers/redis-process.ts';
import { withNoopClose } from '../../kernel/test/helpers/shared-ports.ts';
import { makeProjectDir } from './project.ts';
import { Cleanup, fmt, mark, printJson, summarize, table } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    triggers: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
    'redis-url': { type: 'string' },
  },
});
const JOBS = Math.max(100, Number(values.jobs));
const TRIGGERS = Math.max(1, Number(values.triggers));
const SECONDS = Math.max(5, Number(values.seconds));
const CONCURRENCY = 8;
const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);

async function redisUrl(): Promise<string> {
  const given = values['redis-url'] ?? process.env.COZY_TEST_REDIS_URL;
  if (given) return given;
  const server = await startRedisServer();
  cleanup.add(() => server.kill('SIGTERM'));
  return server.url;
}

interface Figures {
  jobsPerSec: number;
  p50: number;
  p99: number;
}

/** The broker alone: enqueue everything at once, CONCURRENCY claimers; latency = enqueue → claim. */
async function brokerOnly(broker: Broker): Promise<Figures> {
  const queue = `bench-${randomUUID()}`;
  const queuedAt = new Map<string, number>();
  const lat: number[] = [];
  const t0 = performance.now();
  const producer = (async () => {
    for (let i = 0; i < JOBS; i++) {
      const id = `j${i}`;
      queuedAt.set(id, performance.now());
      await broker.enqueue(queue, { i }, { id });
    }
  })();
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (done < JOBS) {
        const lease = await broker.claim(queue, { waitMs: 200 });
        if (!lease) continue;
        lat.push(performance.now() - (queuedAt.get(lease.id) ?? performance.now()));
        await broker.complete(queue, lease.id, lease.token);
        done++;
      }
    }),
  );
  await producer;
  const s = summarize(lat);
  return { jobsPerSec: JOBS / ((performance.now() - t0) / 1000), p50: s.p50, p99: s.p99 };
}

/** The whole path through the jobs capability: push (document + broker) and a no-op worker. */
async function fullPath(kind: 'memory' | 'redis', url: string): Promise<Figures> {
  const started = new Map<string, number>();
  let finished = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  const workers: Record<string, WorkerDefinition> = {
    noop: {
      concurrency: CONCURRENCY,
      async run({ job }) {
        started.set(job._id, performance.now());
        if (++finished === JOBS) resolveAll();
      },
    },
  };
  globalThis.__jobsBenchWorkers = workers;
  const baseDir = await makeProjectDir(cleanup);
  const config = kind === 'redis' ? { broker: 'redis', redis: { url, prefix: `cozy-bench-${randomUUID()}` } } : { broker: 'memory' };
  const tk = await startTestKernel({ baseDir, config: { plugins: { '@cozy-ts/plugin-jobs': config, 'bench-workers': {} } } });
  cleanup.add(() => tk.close());
  const inst = await tk.createInstance(`bench-${kind}.example`);
  const jobs = tk.kernel.container.resolve<JobsService>(Symbol.for('cozy-ts.capability.jobs'));
  const queuedAt = new Map<string, number>();
  const t0 = performance.now();
  // Pushed by 8 callers at once, as concurrent requests would.
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < JOBS) {
        next++;
        const before = performance.now();
        const doc = await jobs.push(inst, { worker: 'noop', message: null });
        queuedAt.set(doc._id, before);
      }
    }),
  );
  await all;
  const elapsed = performance.now() - t0;
  const lat = [...started].map(([id, at]) => at - (queuedAt.get(id) ?? at));
  const s = summarize(lat);
  await tk.close();
  return { jobsPerSec: JOBS / (elapsed / 1000), p50: s.p50, p99: s.p99 };
}

declare global {
  var __jobsBenchWorkers: Record<string, WorkerDefinition> | undefined;
}

/** 100 `@every 1s` triggers on two kernels sharing a store and Redis. */
async function triggersAcrossProcesses(url: string) {
  const fired = new Map<string, Array<{ at: number; slot: number }>>();
  globalThis.__jobsBenchWorkers = {
    tick: {
      concurrency: 8,
      async run({ job }) {
        const list = fired.get(job.trigger_id as string) ?? [];
        list.push({ at: Date.now(), slot: Date.parse(job.scheduled_at as string) });
        fired.set(job.trigger_id as string, list);
      },
    },
  };
  const dir = await mkdtemp(join(tmpdir(), 'cozy-bench-jobs-'));
  cleanup.dir(dir);
  const adapter = new PouchAdapter({ path: dir });
  cleanup.add(() => adapter.close());
  const prefix = `cozy-bench-${randomUUID()}`;
  const cluster = await createRedisCluster({ url, keyPrefix: `${prefix}:cluster:` });
  cleanup.add(() => cluster.close());
  const baseDir = await makeProjectDir(cleanup);
  const start = async (): Promise<TestKernel> => {
    const tk = await startTestKernel({
      baseDir,
      storeAdapter: withNoopClose(adapter),
      cluster: withNoopClose(cluster),
      config: { plugins: { '@cozy-ts/plugin-jobs': { broker: 'redis', redis: { url, prefix } }, 'bench-workers': {} } },
    });
    cleanup.add(() => tk.close());
    return tk;
  };
  const p1 = await start();
  const p2 = await start();
  const inst: InstanceDoc = await p1.createInstance('bench-triggers.example');
  const token = await p1.kernel.auth.issueToken(inst, 'cli', { subject: 'bench', scope: 'io.cozy.triggers' });
  const call = (tk: TestKernel, method: 'POST' | 'DELETE', url: string, body?: unknown) =>
    tk.kernel.app.inject({
      method,
      url,
      headers: { host: inst.domain, authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
  const anchors = new Map<string, number>();
  for (let i = 0; i < TRIGGERS; i++) {
    // Half created through each process.
    const res = await call(i % 2 ? p2 : p1, 'POST', '/jobs/triggers', { data: { attributes: { type: '@every', arguments: '1s', worker: 'tick' } } });
    if (res.statusCode !== 201) throw new Error(`POST trigger: ${res.statusCode} ${res.body}`);
    const data = res.json().data;
    anchors.set(data.id, Date.parse(data.attributes.cozyMetadata.createdAt));
  }
  log(`  ${TRIGGERS} triggers created; running ${SECONDS} s`);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  // The cut: slots up to it are expected. A loaded server fires late, so wait (up to 2 minutes) for every slot up to
  // the cut to come through before deleting the triggers (deleting drops the firings still waiting).
  const cut = Date.now();
  const lastSlot = (anchor: number) => Math.floor((cut - anchor) / 1000);
  const caughtUp = () => [...anchors].every(([id, anchor]) => (fired.get(id) ?? []).some((f) => Math.round((f.slot - anchor) / 1000) >= lastSlot(anchor)));
  log('  waiting for the slots up to the cut');
  for (let i = 0; i < 600 && !caughtUp(); i++) await new Promise((r) => setTimeout(r, 200));
  const caughtUpMs = Date.now() - cut;
  log('  deleting the triggers');
  for (const id of anchors.keys()) {
    const res = await call(p1, 'DELETE', `/jobs/triggers/${id}`);
    if (res.statusCode !== 204) throw new Error(`DELETE trigger: ${res.statusCode} ${res.body}`);
  }
  log('  waiting for the last jobs');
  // Every job document must have been run by a worker.
  const countDocs = async () => ((await p1.kernel.store.find(inst, 'io.cozy.jobs', { selector: { worker: 'tick' }, limit: 1_000_000 })).docs as JobDoc[]).length;
  let jobDocs = await countDocs();
  for (let i = 0; i < 100 && [...fired.values()].reduce((n, l) => n + l.length, 0) < jobDocs; i++) {
    await new Promise((r) => setTimeout(r, 200));
    jobDocs = await countDocs();
  }
  let expected = 0;
  let firedCount = 0;
  let totalFired = 0;
  let duplicates = 0;
  let misses = 0;
  let phantoms = 0;
  const lags: number[] = [];
  for (const [id, anchor] of anchors) {
    const slots = new Map<number, number>();
    for (const { at, slot } of fired.get(id) ?? []) {
      const k = Math.round((slot - anchor) / 1000);
      totalFired++;
      if (slot !== anchor + k * 1000 || k < 1) phantoms++;
      if (k > lastSlot(anchor)) continue;
      slots.set(k, (slots.get(k) ?? 0) + 1);
      lags.push(at - slot);
      firedCount++;
    }
    expected += lastSlot(anchor);
    for (let k = 1; k <= lastSlot(anchor); k++) if (!slots.has(k)) misses++;
    for (const n of slots.values()) if (n > 1) duplicates += n - 1;
  }
  log(`  fired ${totalFired}, job documents ${jobDocs}`);
  const lag = summarize(lags);
  return { expected, fired: firedCount, totalFired, duplicates, misses, phantoms, jobDocs, caughtUpMs, lagP50: lag.p50, lagP99: lag.p99 };
}

async function main(): Promise<void> {
  const url = await redisUrl();
  log(`1. ${JOBS} no-op jobs, ${CONCURRENCY} consumers`);
  log('  memory broker alone');
  const memBroker = new MemoryBroker();
  const memBase = await brokerOnly(memBroker);
  await memBroker.close();
  log('  redis broker alone');
  const redisBroker = await RedisBroker.connect({ url, prefix: `cozy-bench-${randomUUID()}` });
  const redisBase = await brokerOnly(redisBroker);
  await redisBroker.close();
  log('  memory broker, whole path');
  const memFull = await fullPath('memory', url);
  log('  redis broker, whole path');
  const redisFull = await fullPath('redis', url);
  log(`2. ${TRIGGERS} @every 1s triggers across two processes on Redis`);
  const trig = await triggersAcrossProcesses(url);

  const row = (label: string, f: Figures, base?: Figures) => [label, fmt(f.jobsPerSec, 0), fmt(f.p50), fmt(f.p99), base ? fmt(f.jobsPerSec / base.jobsPerSec) : '1.00'];
  process.stdout.write(
    `\n${table(['jobs', 'jobs/s', 'p50 queued→started ms', 'p99 ms', 'ratio to broker alone'], [
      row('memory broker alone (baseline)', memBase),
      row('memory, whole path', memFull, memBase),
      row('redis broker alone (baseline)', redisBase),
      row('redis, whole path', redisFull, redisBase),
    ])}\n\n`,
  );
  process.stdout.write(
    `${table(['triggers across two processes', 'value', 'target', 'mark'], [
      ['slots due up to the cut', trig.expected, '', ''],
      ['fired for those slots', trig.fired, '= expected', trig.fired === trig.expected ? 'PASS' : 'MISS'],
      ['duplicates (a slot fired twice)', trig.duplicates, '0', mark(trig.duplicates, 1)],
      ['misses (a due slot never fired)', trig.misses, '0', mark(trig.misses, 1)],
      ['firings outside the schedule', trig.phantoms, '0', mark(trig.phantoms, 1)],
      ['job documents', trig.jobDocs, '= all fired', trig.jobDocs === trig.totalFired ? 'PASS' : 'MISS'],
      ['firing lag p50 / p99 ms', `${fmt(trig.lagP50, 0)} / ${fmt(trig.lagP99, 0)}`, '', ''],
      ['catching up after the cut, ms', trig.caughtUpMs, '', ''],
    ])}\n\n`,
  );
  printJson('jobs', { jobs: JOBS, memBase, memFull, redisBase, redisFull, triggers: { count: TRIGGERS, seconds: SECONDS, ...trig } });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup.run());
