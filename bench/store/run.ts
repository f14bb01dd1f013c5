/**
 * Embedded store (PouchAdapter, LevelDB in a temp dir, in this process) against the couchdb adapter (CouchAdapter over
 * HTTP to an express-pouchdb server started here on 127.0.0.1, in memory), through the StoreAdapter port.
 *
 *   node --import tsx bench/store/run.ts [--docs 10000] [--finds 50] [--page 100] [--couch-url http://user:pw@host:5984]
 *
 * For each adapter, on a fresh database:
 * - N sequential single-doc `put`s of ~200-byte docs, each timed: writes/s, p50/p99 latency;
 * - an index on `score` (a permutation of 0..N-1), then `_find` with selector `score >= 0 and < N/10` (10% of the docs),
 *   sort on score, limit --page: the first query (which builds the index) timed alone, then --finds repetitions p50/p99;
 * - a full paging pass over the N/10 matches, --page docs at a time following bookmarks (checked: every match once,
 *   in order).
 * --couch-url benchmarks a real CouchDB instead of the express-pouchdb server (the database is deleted at the end).
 * No targets: the point is the side-by-side and the couchdb ÷ embedded ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CouchAdapter } from '../../kernel/src/store/couch-adapter.ts';
import { PouchAdapter } from '../../kernel/src/store/pouch-adapter.ts';
import type { StoreAdapter } from '../../kernel/src/store/types.ts';
import { freePort, repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, printJson, summarize, table, type Summary } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '10000' },
    finds: { type: 'string', default: '50' },
    page: { type: 'string', default: '100' },
    'couch-url': { type: 'string' },
  },
});
const N = Math.max(10, Number(values.docs));
const FINDS = Math.max(1, Number(values.finds));
const PAGE = Math.max(1, Number(values.page));
const THRESHOLD = Math.floor(N / 10);
const DB = 'cozybench-store';

const cleanup = new Cleanup();

/** Deterministic shuffle of 0..n-1 (LCG-driven Fisher-Yates). */
function permutation(n: number, seed = 7): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

const scores = permutation(N);

function makeDoc(i: number): Record<string, unknown> {
  return {
    _id: `doc-${String(i).padStart(7, '0')}`,
    type: 'io.cozy.bench',
    score: scores[i],
    group: i % 10,
    name: `document number ${i}`,
    tags: ['bench', i % 2 ? 'odd' : 'even'],
    created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    note: 'lorem ipsum dolor sit amet, consectetur adipiscing elit',
  };
}

/** Resolves with the server's URL from its first stdout line mentioning one. */
function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`couch server did not start within 30 s: ${out}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`couch server exited with ${code}: ${out}`));
    });
  });
}

/** express-pouchdb in memory on a free loopback port: the kernel's test helper, else the shared peer script. */
async function startCouchServer(): Promise<{ url: string; script: string }> {
  const helper = join(repoRoot, 'kernel/test/helpers/couch-server.cjs');
  const script = existsSync(helper) ? helper : '/work/shared/peers/express-pouchdb-server.cjs';
  const data = await mkdtemp(join(tmpdir(), 'cozy-bench-couch-'));
  cleanup.dir(data);
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), DATA: data, MEM: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanup.add(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  });
  const url = await waitForUrl(child);
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, script };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} does not answer`);
}

interface StoreFigures {
  writes: Summary & { perSecond: number; totalSeconds: number };
  docBytes: number;
  firstFindMs: number;
  find: Summary;
  paging: { ms: number; pages: number; docs: number; expected: number; ordered: boolean };
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function benchAdapter(label: string, adapter: StoreAdapter): Promise<StoreFigures> {
  await adapter.destroyDatabase(DB);
  await adapter.createDatabase(DB);

  const lat: number[] = new Array(N);
  const tw = performance.now();
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    await adapter.put(DB, makeDoc(i));
    lat[i] = ms(t0);
    if ((i + 1) % 2000 === 0) process.stderr.write(`  ${label}: ${i + 1}/${N} writes\n`);
  }
  const totalSeconds = (performance.now() - tw) / 1000;
  const writes = { ...summarize(lat), perSecond: N / totalSeconds, totalSeconds };

  const req = {
    selector: { score: { $gte: 0, $lt: THRESHOLD } },
    sort: [{ score: 'asc' as const }],
    limit: PAGE,
  };
  const tf = process.hrtime.bigint();
  await adapter.createIndex(DB, { index: { fields: ['score'] }, ddoc: 'bench-score', name: 'by-score' });
  const first = await adapter.find(DB, req);
  const firstFindMs = ms(tf);
  const expectFirst = Math.min(PAGE, THRESHOLD);
  if (first.docs.length !== expectFirst || first.docs[0]?.score !== 0) {
    throw new Error(`${label}: first _find page has ${first.docs.length} docs starting at score ${String(first.docs[0]?.score)}`);
  }
  const findLat: number[] = [];
  for (let i = 0; i < FINDS; i++) {
    const t0 = process.hrtime.bigint();
    const page = await adapter.find(DB, req);
    findLat.push(ms(t0));
    if (page.docs.length !== expectFirst) throw new Error(`${label}: _find returned ${page.docs.length} docs`);
  }
  process.stderr.write(`  ${label}: ${FINDS} finds done, paging\n`);

  const tp = process.hrtime.bigint();
  let bookmark: string | undefined;
  let pages = 0;
  let seen = 0;
  let ordered = true;
  let last = -1;
  for (;;) {
    const page = await adapter.find(DB, { ...req, ...(bookmark === undefined ? {} : { bookmark }) });
    pages++;
    for (const d of page.docs) {
      if (typeof d.score !== 'number' || d.score !== last + 1) ordered = false;
      last = d.score as number;
    }
    seen += page.docs.length;
    bookmark = page.bookmark;
    if (!page.next || pages > N) break;
  }
  const paging = { ms: ms(tp), pages, docs: seen, expected: THRESHOLD, ordered };

  await adapter.destroyDatabase(DB);
  return { writes, docBytes: JSON.stringify(makeDoc(N - 1)).length, firstFindMs, find: summarize(findLat), paging };
}

async function main(): Promise<void> {
  process.stderr.write(`store bench: ${N} docs, ${FINDS} finds, pages of ${PAGE} (progress on stderr)\n`);

  const dir = await mkdtemp(join(tmpdir(), 'cozy-bench-store-'));
  cleanup.dir(dir);
  const embedded = new PouchAdapter({ path: dir });
  cleanup.add(() => embedded.close());
  const emb = await benchAdapter('embedded', embedded);
  await embedded.close();

  let couchUrl = values['couch-url'];
  let server = 'external CouchDB';
  if (!couchUrl) {
    const started = await startCouchServer();
    couchUrl = started.url;
    server = `express-pouchdb in memory (${started.script.replace(`${repoRoot}/`, '')})`;
  }
  const couch = new CouchAdapter({ url: couchUrl, requestTimeoutMs: 60_000 });
  cleanup.add(() => couch.close());
  const cdb = await benchAdapter('couchdb', couch);
  await couch.close();

  const r = (c: number, e: number) => fmt(c / e, 2);
  const pagingOk = (f: StoreFigures) => (f.paging.docs === f.paging.expected && f.paging.ordered ? 'ok' : 'WRONG');
  const rows = [
    ['sequential put, writes/s', fmt(emb.writes.perSecond, 0), fmt(cdb.writes.perSecond, 0), r(cdb.writes.perSecond, emb.writes.perSecond)],
    ['put latency p50 (ms)', fmt(emb.writes.p50, 3), fmt(cdb.writes.p50, 3), r(cdb.writes.p50, emb.writes.p50)],
    ['put latency p99 (ms)', fmt(emb.writes.p99, 3), fmt(cdb.writes.p99, 3), r(cdb.writes.p99, emb.writes.p99)],
    ['createIndex + first _find (builds index) (ms)', fmt(emb.firstFindMs, 1), fmt(cdb.firstFindMs, 1), r(cdb.firstFindMs, emb.firstFindMs)],
    [`_find 10%, sort, limit ${PAGE}: p50 (ms)`, fmt(emb.find.p50, 2), fmt(cdb.find.p50, 2), r(cdb.find.p50, emb.find.p50)],
    [`_find p99 (ms)`, fmt(emb.find.p99, 2), fmt(cdb.find.p99, 2), r(cdb.find.p99, emb.find.p99)],
    [`full paging, ${THRESHOLD} matches by ${PAGE} (ms)`, fmt(emb.paging.ms, 1), fmt(cdb.paging.ms, 1), r(cdb.paging.ms, emb.paging.ms)],
    ['  pages / docs / check', `${emb.paging.pages} / ${emb.paging.docs} / ${pagingOk(emb)}`, `${cdb.paging.pages} / ${cdb.paging.docs} / ${pagingOk(cdb)}`, ''],
  ];
  console.log(`\nStore adapters, ${N} docs of ~${emb.docBytes} bytes; couchdb = CouchAdapter -> ${server}\n`);
  console.log(table(['measure', 'embedded', 'couchdb', 'couchdb/embedded'], rows));

  printJson('store', {
    docs: N,
    finds: FINDS,
    page: PAGE,
    couchServer: server,
    embedded: emb,
    couchdb: cdb,
    ratios: {
      writesPerSecond: cdb.writes.perSecond / emb.writes.perSecond,
      writeP50: cdb.writes.p50 / emb.writes.p50,
      writeP99: cdb.writes.p99 / emb.writes.p99,
      findP50: cdb.find.p50 / emb.find.p50,
      findP99: cdb.find.p99 / emb.find.p99,
      paging: cdb.paging.ms / emb.paging.ms,
    },
  });
}

try {
  await main();
} finally {
  await cleanup.run();
}
