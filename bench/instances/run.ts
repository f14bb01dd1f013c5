/**
 * Many instances in one process: memory per instance, creation throughput, Host resolution cost.
 *
 *   node --expose-gc --import tsx bench/instances/run.ts [--instances 1000] [--lookups 100000] [--requests 5000]
 *
 * --expose-gc lets the script collect garbage before each RSS reading, so the figures are retained memory rather than
 * whatever the collector had not got round to; without it the script still runs and says the readings are noisier.
 *
 * Boots an in-process kernel with startTestKernel (embedded store in a temp dir, memory cluster, the hello plugin),
 * then:
 * - RSS before and after creating N instances (`instances.create`, kdfIterations 1000, no passphrase) and 2 s idle;
 *   growth target < 50 MiB for 1,000 instances. Creation throughput in instances/s.
 * - `instances.find(domain)` on random known domains with a warm cache, timed one call at a time: p50 target < 0.2 ms.
 * - Attribution (no target): RSS, heap and open fds once the store adapter has closed its database handles.
 * - The full HTTP path through `app.inject`: GET /hello/ with a Host header (instance resolution + plugin route)
 *   against GET /version (no resolution), p50/p99 each, and their ratio.
 */
import { readdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startTestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, mark, MiB, printJson, summarize, table, type Summary } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '1000' },
    lookups: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '5000' },
  },
});
const N = Math.max(1, Number(values.instances));
const LOOKUPS = Math.max(1, Number(values.lookups));
const REQUESTS = Math.max(1, Number(values.requests));
const TARGET_GROWTH_MIB = 50;
const TARGET_FIND_P50_MS = 0.2;

const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  if (gc) {
    // Two passes with a turn of the event loop between them: finalizers and weak callbacks run after the first.
    gc();
    await sleep(50);
    gc();
  }
  return process.memoryUsage();
}

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd').catch(() => [])).length;
}

const domainOf = (i: number) => `bench${String(i).padStart(5, '0')}.cozy.localhost`;

/** A small deterministic PRNG so every run asks for the same domains. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type App = Awaited<ReturnType<typeof startTestKernel>>['kernel']['app'];

async function injectOnce(app: App, url: string, host: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const res = await app.inject({ method: 'GET', url, headers: { host } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.statusCode !== 200) throw new Error(`GET ${url} (host ${host}) answered ${res.statusCode}: ${res.body}`);
  return ms;
}

/**
 * /version and /hello/ interleaved (alternating which goes first), so both see the same JIT state, GC pressure and
 * machine load and their ratio means something.
 */
async function timeInjectPair(app: App, host: (i: number) => string, count: number): Promise<{ version: Summary; hello: Summary }> {
  const version: number[] = new Array(count);
  const hello: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      version[i] = await injectOnce(app, '/version', host(i));
      hello[i] = await injectOnce(app, '/hello/', host(i));
    } else {
      hello[i] = await injectOnce(app, '/hello/', host(i));
      version[i] = await injectOnce(app, '/version', host(i));
    }
  }
  return { version: summarize(version), hello: summarize(hello) };
}

const cleanup = new Cleanup();

async function main(): Promise<void> {
  if (!gc) process.stderr.write('note: run with --expose-gc for RSS readings after a full collection; these readings are noisier\n');
  process.stderr.write(`instances bench: ${N} instances, ${LOOKUPS} lookups, ${REQUESTS} requests (progress on stderr)\n`);

  const memStart = await settledMemory();
  const tk = await startTestKernel({ baseDir: repoRoot, config: { plugins: { 'cozy-ts-plugin-hello': {} } } });
  cleanup.add(() => tk.close());
  const { kernel } = tk;
  const fdsBefore = await openFds();
  const before = await settledMemory();

  const created: string[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const inst = await kernel.instances.create({ domain: domainOf(i), kdfIterations: 1000 });
    created.push(inst.domain);
    if ((i + 1) % 100 === 0) process.stderr.write(`  created ${i + 1}/${N} (${fmt(((i + 1) / (performance.now() - t0)) * 1000, 1)}/s)\n`);
  }
  const createSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Whole process, every thread (libuv's pool does LevelDB's I/O): what a creation costs whatever else runs.
  const cpuMsPerInstance = (cpu.user + cpu.system) / 1000 / N;
  const throughput = N / createSeconds;
  await sleep(2000);
  const after = await settledMemory();
  const fdsAfter = await openFds();
  const growthMiB = (after.rss - before.rss) / MiB;

  // Host resolution, warm cache: one find per domain first, then timed calls on random domains.
  for (const d of created) if (!(await kernel.instances.find(d))) throw new Error(`find(${d}) found nothing`);
  const rand = prng(42);
  const picks = Array.from({ length: LOOKUPS }, () => created[Math.floor(rand() * created.length)] as string);
  const findMs: number[] = new Array(LOOKUPS);
  for (let i = 0; i < LOOKUPS; i++) {
    const t = process.hrtime.bigint();
    const doc = await kernel.instances.find(picks[i] as string);
    findMs[i] = Number(process.hrtime.bigint() - t) / 1e6;
    if (doc === null) throw new Error(`find(${picks[i]}) found nothing`);
  }
  const find = summarize(findMs);

  // Full HTTP path through Fastify's inject (no socket). Warm both routes first so JIT and caches are even.
  for (const d of created) if (!(await kernel.instances.find(d))) throw new Error(`find(${d}) found nothing`);
  const hostAt = (i: number) => picks[i % picks.length] as string;
  await timeInjectPair(kernel.app, hostAt, 1000);
  const { version, hello } = await timeInjectPair(kernel.app, hostAt, REQUESTS);

  // Attribution: how much of the growth is the store's open database handles (the embedded adapter keeps one PouchDB /
  // LevelDB handle per database it has touched, and an instance has several). The adapter reopens lazily afterwards.
  await kernel.store.adapter.close();
  const closed = await settledMemory();
  const fdsClosed = await openFds();

  const rows = [
    ['RSS before (kernel started, 0 instances)', fmt(before.rss / MiB, 1), 'MiB', '', ''],
    [`RSS after ${N} instances + 2 s idle`, fmt(after.rss / MiB, 1), 'MiB', '', ''],
    [`RSS growth for ${N} instances`, fmt(growthMiB, 1), 'MiB', `< ${TARGET_GROWTH_MIB}`, mark(growthMiB * (1000 / N), TARGET_GROWTH_MIB) + (N === 1000 ? '' : ' (scaled to 1000)')],
    ['  per instance', fmt((growthMiB * 1024) / N, 1), 'KiB', '', ''],
    ['  heapUsed growth', fmt((after.heapUsed - before.heapUsed) / MiB, 1), 'MiB', '', ''],
    ['  external+arrayBuffers growth', fmt((after.external - before.external) / MiB, 1), 'MiB', '', ''],
    ['  open fds before -> after', `${fdsBefore} -> ${fdsAfter}`, 'fds', '', ''],
    ['  heapUsed before -> after', `${fmt(before.heapUsed / MiB, 1)} -> ${fmt(after.heapUsed / MiB, 1)}`, 'MiB', '', ''],
    // RSS is not shown here: LevelDB's freed native memory stays in malloc's arenas, so RSS barely moves on close.
    ['  heapUsed after store.adapter.close()', fmt(closed.heapUsed / MiB, 1), 'MiB', '', ''],
    ['  open fds after store.adapter.close()', fdsClosed, 'fds', '', ''],
    ['creation throughput', fmt(throughput, 1), 'inst/s', '', ''],
    ['  CPU per creation (user+sys, all threads)', fmt(cpuMsPerInstance, 2), 'ms', '', ''],
    [`instances.find warm, p50 (${LOOKUPS} calls)`, fmt(find.p50, 4), 'ms', `< ${TARGET_FIND_P50_MS}`, mark(find.p50, TARGET_FIND_P50_MS)],
    ['instances.find warm, p99', fmt(find.p99, 4), 'ms', '', ''],
    [`inject GET /hello/ (Host resolved), p50 (${REQUESTS})`, fmt(hello.p50, 4), 'ms', '', ''],
    ['inject GET /hello/, p99', fmt(hello.p99, 4), 'ms', '', ''],
    [`inject GET /version (no resolution), p50 (${REQUESTS})`, fmt(version.p50, 4), 'ms', '', ''],
    ['inject GET /version, p99', fmt(version.p99, 4), 'ms', '', ''],
    ['ratio /hello/ ÷ /version, p50', fmt(hello.p50 / version.p50, 2), 'x', '', ''],
    ['ratio /hello/ ÷ /version, p99', fmt(hello.p99 / version.p99, 2), 'x', '', ''],
  ];
  console.log(`\nInstances in one process (embedded store, memory cluster, hello plugin)${gc ? ', RSS after gc()' : ', NO --expose-gc'}\n`);
  console.log(table(['measure', 'value', 'unit', 'target', ''], rows));

  printJson('instances', {
    instances: N,
    exposeGc: Boolean(gc),
    memory: {
      processStartRssMiB: memStart.rss / MiB,
      beforeRssMiB: before.rss / MiB,
      afterRssMiB: after.rss / MiB,
      growthMiB,
      perInstanceKiB: (growthMiB * 1024) / N,
      heapUsedGrowthMiB: (after.heapUsed - before.heapUsed) / MiB,
      externalGrowthMiB: (after.external - before.external) / MiB,
      fdsBefore,
      fdsAfter,
      afterStoreCloseRssMiB: closed.rss / MiB,
      afterStoreCloseHeapUsedMiB: closed.heapUsed / MiB,
      fdsAfterStoreClose: fdsClosed,
      beforeHeapUsedMiB: before.heapUsed / MiB,
      afterHeapUsedMiB: after.heapUsed / MiB,
    },
    create: { seconds: createSeconds, perSecond: throughput, cpuMsPerInstance },
    find,
    injectHello: hello,
    injectVersion: version,
    ratioP50: hello.p50 / version.p50,
    ratioP99: hello.p99 / version.p99,
    targets: {
      growthMiB: { limit: TARGET_GROWTH_MIB, result: mark(growthMiB * (1000 / N), TARGET_GROWTH_MIB) },
      findP50Ms: { limit: TARGET_FIND_P50_MS, result: mark(find.p50, TARGET_FIND_P50_MS) },
    },
  });
}

try {
  await main();
} finally {
  await cleanup.run();
}
