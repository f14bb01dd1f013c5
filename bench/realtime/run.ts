/**
 * Realtime fan-out: N websockets subscribed to one doctype of one instance, one write, time until every socket has
 * the event.
 *
 *   node --import tsx bench/realtime/run.ts [--sockets 1000] [--rounds 20] [--redis-url URL] [--no-redis]
 *
 * Two scenarios:
 * - memory: one kernel with the memory cluster; the sockets and the write are on the same kernel.
 * - redis: two kernels A and B sharing the store and one Redis (COZY_TEST_REDIS_URL, --redis-url, or a throw-away
 *   redis-server); the sockets are on B, the writes on A, so every event crosses Redis pub/sub.
 *
 * The clients run in a worker thread (this same file), so parsing a thousand frames does not sit on the servers'
 * event loop. Each round writes one document through `kernel.store.put` and takes the wall clock just before the
 * call; the worker stamps each socket's CREATED frame on arrival. Clocks are `performance.timeOrigin + now()` on
 * both threads, i.e. the same system clock. One warm-up round is not counted.
 *
 * Figures: per delivery (N × rounds samples) p50/p99, and per round the time until the last socket had it.
 * Target: p99 < 200 ms.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { startTestKernel, type TestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { PouchAdapter } from '../../kernel/src/store/pouch-adapter.ts';
import { withNoopClose } from '../../kernel/test/helpers/shared-ports.ts';
import { repoRoot } from '../../test/helpers/processes.ts';
import { startRedisServer } from '../../test/helpers/redis-process.ts';
import { Cleanup, fmt, mark, printJson, summarize, table, type Summary } from '../lib/report.ts';

const DOCTYPE = 'io.cozy.bench.events';
const DOMAIN = 'bench.cozy.localhost';
const TARGET_P99_MS = 200;

const wallClock = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the clients' side (worker thread)

interface ConnectOrder {
  port: number;
  host: string;
  token: string;
  sockets: number;
}

type ToMain = { type: 'ready' } | { type: 'received'; id: string; times: number[] } | { type: 'failed'; error: string };

async function runClients(order: ConnectOrder): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const post = (m: ToMain) => port.postMessage(m);
  const arrivals = new Map<string, number[]>();
  const sockets: WebSocket[] = [];

  const open = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${order.port}/realtime/`, ['io.cozy.websocket'], { headers: { host: order.host } });
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(JSON.stringify({ method: 'AUTH', payload: order.token }));
        ws.send(JSON.stringify({ method: 'SUBSCRIBE', payload: { type: DOCTYPE } }));
        // Messages are handled in order and a SUBSCRIBE without type always answers: once it has, the socket is live.
        ws.send(JSON.stringify({ method: 'SUBSCRIBE', payload: {} }));
      });
      ws.on('message', (data: Buffer) => {
        const at = wallClock();
        const m = JSON.parse(data.toString()) as { event: string; payload: { id?: string; code?: string } };
        if (m.event === 'error' && m.payload.code === 'page not found') return resolve(ws);
        if (m.event !== 'CREATED' || !m.payload.id) return;
        const times = arrivals.get(m.payload.id) ?? [];
        times.push(at);
        arrivals.set(m.payload.id, times);
        if (times.length === order.sockets) post({ type: 'received', id: m.payload.id, times });
      });
    });

  try {
    // A hundred handshakes at a time: enough to be quick, few enough not to look like a SYN flood.
    for (let i = 0; i < order.sockets; i += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, order.sockets - i) }, open))));
    }
    post({ type: 'ready' });
  } catch (err) {
    post({ type: 'failed', error: (err as Error).message });
  }
  port.on('message', (m: { type: 'close' }) => {
    if (m.type !== 'close') return;
    for (const ws of sockets) ws.terminate();
    port.close();
  });
}

// ---------------------------------------------------------------- the servers' side (main thread)

interface Scenario {
  name: string;
  /** The kernel that holds the sockets and the one that writes. */
  sockets: TestKernel;
  writer: TestKernel;
}

interface ScenarioResult {
  name: string;
  deliveries: Summary;
  lastSocket: Summary;
  missing: number;
}

async function startKernel(cleanup: Cleanup, extra: Parameters<typeof startTestKernel>[0] = {}): Promise<TestKernel> {
  const tk = await startTestKernel({
    baseDir: repoRoot,
    ...extra,
    config: { ...extra.config, plugins: { '@cozy-ts/plugin-realtime': {} } },
  });
  cleanup.add(() => tk.close());
  return tk;
}

async function measure(s: Scenario, sockets: number, rounds: number): Promise<ScenarioResult> {
  const inst = await s.writer.kernel.instances.get(DOMAIN);
  await s.sockets.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const address = s.sockets.kernel.app.server.address();
  if (!address || typeof address === 'string') throw new Error('the kernel does not listen');
  const token = await s.sockets.kernel.auth.issueToken(inst, 'cli', { subject: 'bench', scope: DOCTYPE });

  // Under Node 20 a worker on a .ts entry does not get tsx's hooks from --import (ERR_UNKNOWN_FILE_EXTENSION),
  // so it registers tsx itself before importing this file.
  const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(entry, { eval: true, workerData: { port: address.port, host: DOMAIN, token, sockets } satisfies ConnectOrder });
  const received = new Map<string, (times: number[]) => void>();
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: ToMain) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'failed') reject(new Error(m.error));
      else received.get(m.id)?.(m.times);
    });
    worker.once('error', reject);
  });
  try {
    process.stderr.write(`${s.name}: opening ${sockets} sockets... `);
    const t0 = wallClock();
    await ready;
    process.stderr.write(`${fmt(wallClock() - t0, 0)} ms\n`);

    const deliveries: number[] = [];
    const lastSocket: number[] = [];
    let missing = 0;
    for (let round = 0; round <= rounds; round++) {
      const id = `${s.name}-${round}`;
      const all = new Promise<number[] | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 10_000);
        received.set(id, (times) => {
          clearTimeout(timer);
          resolve(times);
        });
      });
      const start = wallClock();
      await s.writer.kernel.store.put(inst, DOCTYPE, { _id: id, round, at: new Date().toISOString() });
      const times = await all;
      if (!times) {
        missing++;
        process.stderr.write(`${s.name}: round ${round} did not reach every socket within 10 s\n`);
        continue;
      }
      const latencies = times.map((t) => t - start);
      if (round > 0) {
        deliveries.push(...latencies);
        lastSocket.push(Math.max(...latencies));
      }
      await sleep(50);
    }
    return { name: s.name, deliveries: summarize(deliveries), lastSocket: summarize(lastSocket), missing };
  } finally {
    worker.postMessage({ type: 'close' });
    await worker.terminate();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sockets: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '20' },
      'redis-url': { type: 'string' },
      'no-redis': { type: 'boolean', default: false },
    },
  });
  const sockets = Math.max(1, Number(values.sockets));
  const rounds = Math.max(1, Number(values.rounds));
  const cleanup = new Cleanup();
  const results: ScenarioResult[] = [];
  try {
    const single = await startKernel(cleanup);
    await single.createInstance(DOMAIN);
    results.push(await measure({ name: 'memory', sockets: single, writer: single }, sockets, rounds));

    if (!values['no-redis']) {
      let url = values['redis-url'] ?? process.env.COZY_TEST_REDIS_URL;
      if (!url) {
        const server = await startRedisServer();
        cleanup.add(() => server.kill('SIGTERM'));
        url = server.url;
      }
      const dir = await mkdtemp(join(tmpdir(), 'cozy-bench-realtime-'));
      cleanup.dir(dir);
      const adapter = new PouchAdapter({ path: dir });
      cleanup.add(() => adapter.close());
      const redis = { url, keyPrefix: `cozy-bench:${process.pid}:` };
      const a = await startKernel(cleanup, { storeAdapter: withNoopClose(adapter), config: { redis } });
      const b = await startKernel(cleanup, { storeAdapter: withNoopClose(adapter), config: { redis } });
      await a.createInstance(DOMAIN);
      results.push(await measure({ name: 'redis', sockets: b, writer: a }, sockets, rounds));
    }
  } finally {
    await cleanup.run();
  }

  const rows: Array<Array<string | number>> = [];
  for (const r of results) {
    rows.push(
      [`${r.name}: per delivery, p50`, fmt(r.deliveries.p50), 'ms', '', ''],
      [`${r.name}: per delivery, p99`, fmt(r.deliveries.p99), 'ms', `< ${TARGET_P99_MS}`, mark(r.deliveries.p99, TARGET_P99_MS)],
      [`${r.name}: last socket of a round, p50`, fmt(r.lastSocket.p50), 'ms', '', ''],
      [`${r.name}: last socket of a round, p99`, fmt(r.lastSocket.p99), 'ms', `< ${TARGET_P99_MS}`, mark(r.lastSocket.p99, TARGET_P99_MS)],
      [`${r.name}: rounds that missed a socket`, r.missing, '', '', ''],
    );
  }
  process.stdout.write(`\nRealtime fan-out: ${sockets} sockets on one doctype, ${rounds} writes (after 1 warm-up)\n\n`);
  process.stdout.write(`${table(['measure', 'value', 'unit', 'target', ''], rows)}\n\n`);
  printJson('realtime', { sockets, rounds, results });
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  void runClients(workerData as ConnectOrder);
}
