/**
 * The data plugin against its two targets:
 *
 *   node --import tsx bench/data/run.ts [--docs 100000] [--finds 100] [--duration 10] [--connections 10]
 *
 * 1. GET of one document through the whole stack (Host -> instance -> token -> permission -> store -> JSON) against
 *    the same store read behind a bare fastify route, both served by this process; load from autocannon in a child
 *    process, so the load generator does not share the servers' event loop. Target: stack req/s >= 0.5 x bare.
 *    `GET /data/` (Host -> instance only, no token, no store) shows what the kernel's request path costs alone.
 * 2. `_find` on an index over --docs documents (embedded adapter), through HTTP: p50 latency. Target: < 20 ms.
 *    Each call's CPU time is shown too: on a loaded machine it is the figure that still means something.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyRequest } from 'fastify';
import type { AuthService } from '../../kernel/src/auth/auth-service.ts';
import type { InstanceDoc } from '../../kernel/src/instances/instance.ts';
import type { FindRequest } from '../../kernel/src/store/types.ts';
import { startTestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, mark, printJson, summarize, table } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '100000' },
    finds: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
  },
});
const DOCS = Math.max(1000, Number(values.docs));
const FINDS = Math.max(1, Number(values.finds));
const DURATION = Math.max(1, Number(values.duration));
const CONNECTIONS = Math.max(1, Number(values.connections));
const GROUPS = 100;
const PAGE = 100;
const BATCH = 5000;
const RATIO_TARGET = 0.5;
const FIND_P50_TARGET_MS = 20;
const TYPE = 'io.cozy.bench.notes';
const FIND_TYPE = 'io.cozy.bench.find';

const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

interface LoadFigures {
  reqPerSec: number;
  /** CPU time this process (the servers) spent per request, user + system: barely moved by other load on the machine. */
  cpuUsPerReq: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon in a child process, with its JSON report on stdout. */
function autocannon(url: string, headers: Record<string, string>, seconds: number): Promise<Omit<LoadFigures, 'cpuUsPerReq'>> {
  const bin = createRequire(join(repoRoot, 'package.json')).resolve('autocannon/autocannon.js');
  const args = [bin, '-c', String(CONNECTIONS), '-d', String(seconds), '-j'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.add(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err}`));
      const r = JSON.parse(out) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
      resolve({ reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
    });
  });
}

/** A 2 s warm-up, then a measured run with the servers' CPU time. */
async function load(label: string, url: string, token: string): Promise<LoadFigures> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await autocannon(url, headers, 2);
  const cpu0 = process.cpuUsage();
  const figures = await autocannon(url, headers, DURATION);
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerReq = (cpu.user + cpu.system) / Math.max(1, figures.reqPerSec * DURATION);
  log(`  ${label}: ${fmt(figures.reqPerSec, 0)} req/s, ${fmt(cpuUsPerReq, 0)} µs CPU per request`);
  return { ...figures, cpuUsPerReq };
}

const mean = (a: LoadFigures, b: LoadFigures): LoadFigures => ({
  reqPerSec: (a.reqPerSec + b.reqPerSec) / 2,
  cpuUsPerReq: (a.cpuUsPerReq + b.cpuUsPerReq) / 2,
  p50: (a.p50 + b.p50) / 2,
  p99: (a.p99 + b.p99) / 2,
  non2xx: a.non2xx + b.non2xx,
  errors: a.errors + b.errors,
});

/** CPU µs per call of `fn`, run 2000 times one after the other (after 200 unmeasured). */
async function cpuPerCall(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const cpu0 = process.cpuUsage();
  const n = 2000;
  for (let i = 0; i < n; i++) await fn();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / n;
}

/**
 * The kernel's AUTH.authenticate alone, on a stand-in for a request (it reads the headers, the query and the
 * instance the Host resolved to): a new object per call, since the answer is memoised per request.
 */
function authenticateCost(auth: AuthService, inst: InstanceDoc, token: string): Promise<number> {
  const request = () => ({ headers: { authorization: `Bearer ${token}` }, query: {}, instance: inst }) as unknown as FastifyRequest;
  return cpuPerCall(() => auth.authenticate(request()));
}

const loadRow = (label: string, f: LoadFigures) => [
  label,
  fmt(f.reqPerSec, 0),
  'req/s',
  '',
  '',
  `${fmt(f.cpuUsPerReq, 0)} µs CPU/req, p50 ${f.p50} ms, p99 ${f.p99} ms, non-2xx ${f.non2xx}, errors ${f.errors}`,
];

async function main(): Promise<void> {
  const tk = await startTestKernel({ baseDir: repoRoot, config: { plugins: { '@cozy-ts/plugin-data': {} } } });
  cleanup.add(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  // autocannon and fetch send Host: 127.0.0.1:<port>, so that is the instance.
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const store = tk.kernel.store;

  // --- 1. GET one document: whole stack vs bare route --------------------------------------------------------------
  await store.put(inst, TYPE, { _id: 'note-1', title: 'A note to read again and again', body: 'lorem ipsum '.repeat(20), tags: ['bench'] });
  await store.put(inst, 'io.cozy.oauth.clients', { _id: 'bench-client', client_name: 'bench', software_id: 'bench' });
  const oauth = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'bench-client', scope: TYPE });
  const cli = await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'bench', scope: `${TYPE} ${FIND_TYPE}` });

  const bare = Fastify({ logger: false });
  const db = store.db(inst, TYPE);
  bare.get('/doc', async () => store.adapter.get(db, 'note-1'));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  cleanup.add(() => bare.close());

  const stackUrl = `http://127.0.0.1:${port}/data/${TYPE}/note-1`;
  const welcomeUrl = `http://127.0.0.1:${port}/data/`;
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/doc`;
  for (const [url, token] of [
    [stackUrl, oauth],
    [stackUrl, cli],
    [welcomeUrl, ''],
    [bareUrl, ''],
  ] as const) {
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  }

  log(`GET one document: ${CONNECTIONS} connections, ${DURATION} s per run (after a 2 s warm-up each)`);
  const bare1 = await load('bare fastify route', bareUrl, '');
  const stackOauth = await load('stack, OAuth token', stackUrl, oauth);
  const stackCli = await load('stack, CLI token', stackUrl, cli);
  const welcome = await load('GET /data/ (no token, no store)', welcomeUrl, '');
  const bare2 = await load('bare fastify route (again)', bareUrl, '');
  const bareMean = mean(bare1, bare2);
  const authOauth = await authenticateCost(tk.kernel.auth, inst, oauth);
  const authCli = await authenticateCost(tk.kernel.auth, inst, cli);
  const readCost = await cpuPerCall(() => store.get(inst, TYPE, 'note-1'));
  const ratio = (f: LoadFigures) => f.reqPerSec / bareMean.reqPerSec;
  const cpuRatio = (f: LoadFigures) => bareMean.cpuUsPerReq / f.cpuUsPerReq;

  // --- 2. _find over DOCS documents ---------------------------------------------------------------------------------
  const findDb = store.db(inst, FIND_TYPE);
  log(`loading ${DOCS} documents with the port's bulkDocs`);
  const tLoad = process.hrtime.bigint();
  for (let start = 0; start < DOCS; start += BATCH) {
    const docs = [];
    for (let i = start; i < Math.min(DOCS, start + BATCH); i++) {
      docs.push({ _id: `doc-${String(i).padStart(7, '0')}`, group: `g${i % GROUPS}`, rank: i, name: `document ${i}`, done: i % 3 === 0 });
    }
    const rows = await store.adapter.bulkDocs(findDb, docs);
    if (rows.some((r) => r.error)) throw new Error('bulkDocs failed');
  }
  const loadMs = ms(tLoad);
  log(`  loaded in ${fmt(loadMs / 1000, 1)} s`);

  const base = `http://127.0.0.1:${port}/data/${FIND_TYPE}`;
  const headers = { authorization: `Bearer ${cli}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const json = (await res.json()) as { docs?: unknown[] };
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  log('_index on [group, rank] (PouchDB builds the index right away)');
  const tIndex = process.hrtime.bigint();
  await post('/_index', { index: { fields: ['group', 'rank'] }, ddoc: 'by_group_and_rank' });
  const indexMs = ms(tIndex);
  log(`  ${fmt(indexMs / 1000, 1)} s`);

  // cozy-client's idiom: every indexed field in the selector (`$gt: null` for the sort one), so the index range and
  // the limit do all the work. The second form leaves `rank` out, and pouchdb-find then filters in memory.
  const full = (k: number): FindRequest => ({
    selector: { group: `g${k % GROUPS}`, rank: { $gt: null } },
    sort: [{ group: 'asc' }, { rank: 'asc' }],
    limit: PAGE,
    use_index: '_design/by_group_and_rank',
  });
  const partial = (k: number): FindRequest => ({ ...full(k), selector: { group: `g${k % GROUPS}` } });
  const expected = Math.min(PAGE, DOCS / GROUPS);
  const viaHttp = async (query: FindRequest) => {
    const res = await post('/_find', query);
    if (res.docs?.length !== expected) throw new Error(`_find answered ${res.docs?.length} docs, not ${expected}`);
  };
  const viaStore = (query: FindRequest) => store.find(inst, FIND_TYPE, query);
  // The two forms of the target query interleaved, so that they see the same caches and machine load. Each call's CPU time (this
  // process, every thread: the HTTP client's share too) is kept beside its wall time: on a shared machine the wall
  // time of a lone request grows with the load, its CPU time barely moves, and on an idle machine the two meet.
  const lat = { httpFull: [] as number[], storeFull: [] as number[], httpPartial: [] as number[] };
  const cpuMs = { httpFull: [] as number[], storeFull: [] as number[], httpPartial: [] as number[] };
  const time = async (series: keyof typeof lat, call: () => Promise<unknown>) => {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await call();
    lat[series].push(ms(t0));
    const cpu = process.cpuUsage(cpu0);
    cpuMs[series].push((cpu.user + cpu.system) / 1000);
  };
  log(`_find, ${FINDS} queries of each form (after ${GROUPS} unmeasured ones)`);
  for (let i = 0; i < GROUPS; i++) await viaHttp(full(i));
  for (let i = 0; i < FINDS; i++) {
    await time('httpFull', () => viaHttp(full(i)));
    await time('storeFull', () => viaStore(full(i)));
  }
  // Apart: each of these reads a thousand docs, and the garbage it leaves would be collected during (and billed to)
  // whichever query came next.
  for (let i = 0; i < FINDS; i++) await time('httpPartial', () => viaHttp(partial(i)));
  const httpFull = summarize(lat.httpFull);
  const storeFull = summarize(lat.storeFull);
  const httpPartial = summarize(lat.httpPartial);
  const cpu = { httpFull: summarize(cpuMs.httpFull), storeFull: summarize(cpuMs.storeFull), httpPartial: summarize(cpuMs.httpPartial) };

  const matches = DOCS / GROUPS;
  process.stdout.write(
    `\n/data benchmarks (embedded store, one process; autocannon -c ${CONNECTIONS} -d ${DURATION} in a child process)\n\n` +
      table(
        ['measure', 'value', 'unit', 'target', '', 'detail'],
        [
          loadRow('bare fastify route, store.get (mean of 2 runs)', bareMean),
          loadRow('GET /data/:doctype/:id, OAuth token', stackOauth),
          loadRow('GET /data/:doctype/:id, CLI token', stackCli),
          loadRow('GET /data/ (Host -> instance only)', welcome),
          ['  kernel AUTH.authenticate alone, OAuth token', fmt(authOauth, 0), 'µs CPU', '', '', 'in-process, one call after the other'],
          ['  kernel AUTH.authenticate alone, CLI token', fmt(authCli, 0), 'µs CPU', '', '', 'JWT HS512 verified with jose (WebCrypto)'],
          ['  DocumentStore.get of the document alone', fmt(readCost, 0), 'µs CPU', '', '', ''],
          ['ratio stack / bare, OAuth token', fmt(ratio(stackOauth), 2), 'x', `>= ${RATIO_TARGET}`, ratio(stackOauth) >= RATIO_TARGET ? 'PASS' : 'MISS', `from CPU/req: ${fmt(cpuRatio(stackOauth), 2)}`],
          ['ratio stack / bare, CLI token', fmt(ratio(stackCli), 2), 'x', `>= ${RATIO_TARGET}`, ratio(stackCli) >= RATIO_TARGET ? 'PASS' : 'MISS', `from CPU/req: ${fmt(cpuRatio(stackCli), 2)}`],
          [`load ${DOCS} docs (bulkDocs by ${BATCH})`, fmt(loadMs / 1000, 1), 's', '', '', `${fmt(DOCS / (loadMs / 1000), 0)} docs/s`],
          ['_index [group, rank] (builds it)', fmt(indexMs / 1000, 1), 's', '', '', ''],
          [`_find, ${PAGE} of ${matches} matches, HTTP p50 (${FINDS})`, fmt(httpFull.p50), 'ms', `< ${FIND_P50_TARGET_MS}`, mark(httpFull.p50, FIND_P50_TARGET_MS), `p99 ${fmt(httpFull.p99)} ms; {group, rank: {$gt: null}}`],
          ['  its CPU time, p50', fmt(cpu.httpFull.p50), 'ms CPU', '', '', 'server and in-process HTTP client together; the wall time of an idle machine'],
          ['  same query on the store port, p50', fmt(storeFull.p50), 'ms', '', '', `p99 ${fmt(storeFull.p99)} ms; CPU p50 ${fmt(cpu.storeFull.p50)} ms`],
          ['  selector {group} only, HTTP p50', fmt(httpPartial.p50), 'ms', '', '', `p99 ${fmt(httpPartial.p99)} ms; CPU p50 ${fmt(cpu.httpPartial.p50)} ms; rank filtered in memory`],
        ],
      ) +
      '\n',
  );
  printJson('data', {
    args: { docs: DOCS, finds: FINDS, duration: DURATION, connections: CONNECTIONS },
    get: {
      bare: [bare1, bare2],
      stackOauth,
      stackCli,
      welcome,
      ratioOauth: ratio(stackOauth),
      ratioCli: ratio(stackCli),
      cpuUs: { authOauth, authCli, read: readCost },
    },
    find: { loadMs, indexMs, http: httpFull, store: storeFull, httpPartial, cpuMs: cpu },
  });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup.run());
