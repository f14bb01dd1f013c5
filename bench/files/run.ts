/**
 * The files plugin against its targets:
 *
 *   node --expose-gc --import tsx bench/files/run.ts [--size 1024] [--reps 3] [--files 10000] [--page 100] [--fsync true]
 *
 * 1. Upload (with Content-MD5) and download of one --size MiB file through /files over HTTP (curl as the client),
 *    as throughput ratios against `cp` of the same file on the same disk in the same run. Targets: download >= 0.8,
 *    upload >= 0.6. A bare node HTTP server doing the same I/O gives a second baseline: what the runtime reaches.
 *    vfs-local runs with its Pi default (fsync before a content becomes visible) unless --fsync false.
 * 2. Peak RSS growth of the server (this process; curl is the client) during those transfers. Target: < 64 MiB.
 * 3. A directory of --files files listed page by page (`GET /files/:id?page[limit]=...`): p50 per page. The
 *    documents are written in bulk through the store (listing reads documents only), then one unmeasured pass
 *    builds the view.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startTestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, MiB, fmt, median, printJson, summarize, table } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    files: { type: 'string', default: '10000' },
    page: { type: 'string', default: '100' },
    fsync: { type: 'string', default: 'true' },
    reps: { type: 'string', default: '3' },
  },
});
const SIZE = Math.max(1, Number(values.size)) * MiB;
const FILES = Math.max(100, Number(values.files));
const PAGE = Math.min(1000, Math.max(1, Number(values.page)));
const FSYNC = values.fsync !== 'false';
const REPS = Math.max(1, Number(values.reps));
const DOWNLOAD_TARGET = 0.8;
const UPLOAD_TARGET = 0.6;
const RSS_TARGET_MIB = 64;

const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);
const run = promisify(execFile);
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const atLeast = (value: number, limit: number) => (value >= limit ? 'PASS' : 'MISS');

/** Peak RSS while `work` runs, sampled every 20 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

interface Sample {
  wall: number;
  /** CPU seconds of this process (the server) during the run. */
  cpu: number;
  /** CPU seconds of the child processes (cp, sync, curl) it waited for during the run. */
  childCpu: number;
}

/** Children's CPU as the kernel accounts it once they are waited for (cutime + cstime, /proc/self/stat). */
async function childrenCpu(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13] ?? 0) + Number(fields[14] ?? 0)) / 100;
}

async function timed(work: () => Promise<unknown>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const k0 = await childrenCpu();
  const t0 = process.hrtime.bigint();
  await work();
  const wall = seconds(t0);
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, childCpu: (await childrenCpu()) - k0 };
}

async function makeSource(path: string): Promise<string> {
  const chunk = randomBytes(MiB);
  const hash = createHash('md5');
  const fh = await open(path, 'w');
  try {
    for (let written = 0; written < SIZE; written += MiB) {
      // Vary each MiB a little so nothing downstream can deduplicate it.
      chunk.writeUInt32LE(written / MiB, 0);
      await fh.write(chunk);
      hash.update(chunk);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('base64');
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'cozy-bench-files-'));
  cleanup.dir(work);
  const source = join(work, 'source.bin');
  log(`writing a ${SIZE / MiB} MiB source file in ${work}`);
  const md5 = await makeSource(source);

  // A bare node HTTP server doing the same I/O (hash + write, read + send) shows what node itself reaches on this
  // machine, so the stack's own overhead reads apart from the runtime's.
  const bare = createServer((req, res) => {
    if (req.method === 'POST') {
      const hash = createHash('md5');
      req.on('data', (c: Buffer) => hash.update(c));
      req.pipe(createWriteStream(join(work, 'bare-up.bin'))).on('finish', () => res.end(hash.digest('base64')));
    } else {
      res.setHeader('content-length', String(SIZE));
      createReadStream(source, { highWaterMark: 256 * 1024 }).pipe(res);
    }
  });
  cleanup.add(() => new Promise((r) => bare.close(r)));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareBase = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

  // --- the server --------------------------------------------------------------------------------------------------
  const tk = await startTestKernel({
    baseDir: repoRoot,
    config: { storage: join(work, 'storage'), plugins: { '@cozy-ts/plugin-vfs-local': { fsync: FSYNC }, '@cozy-ts/plugin-files': {} } },
  });
  cleanup.add(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const token = await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'bench', scope: 'io.cozy.files' });
  const auth = { authorization: `Bearer ${token}` };
  const base = `http://127.0.0.1:${port}`;

  // curl as the client, in its own process: the figures are the server's, not a JS client's sharing its event loop.
  const curl = async (args: string[]): Promise<string> => (await run('curl', ['-sS', '-H', `authorization: ${auth.authorization}`, ...args], { maxBuffer: 16 * MiB })).stdout;
  const upload = async (name: string): Promise<{ status: number; body: string }> => {
    const out = await curl([
      '-X', 'POST', '-H', 'content-type: application/octet-stream', '-H', `content-md5: ${md5}`, '-T', source,
      '-w', '\n%{http_code}', `${base}/files/io.cozy.files.root-dir?Type=file&Name=${name}`,
    ]);
    const i = out.lastIndexOf('\n');
    return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
  };

  // One small round trip first, so lazily loaded code and first-use caches are not counted as transfer memory.
  const warm = await fetch(`${base}/files/io.cozy.files.root-dir?Type=file&Name=warm.txt`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'warm' });
  const warmId = ((await warm.json()) as { data: { id: string } }).data.id;
  await (await fetch(`${base}/files/download/${warmId}`, { headers: auth })).text();
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;

  // Every series runs once per repetition, interleaved, so a burst of load from elsewhere hits all of them alike;
  // medians are compared. cp + sync is the fair baseline for an upload that fsyncs before the file becomes visible.
  const cpS: Sample[] = [];
  const cpSyncS: Sample[] = [];
  const bareUpS: Sample[] = [];
  const bareDownS: Sample[] = [];
  const upS: Sample[] = [];
  const downS: Sample[] = [];
  const copy = join(work, 'copy.bin');
  const target = join(work, 'downloaded.bin');
  for (let rep = 0; rep < REPS; rep++) {
    log(`repetition ${rep + 1}/${REPS}`);
    cpS.push(await timed(() => run('cp', [source, copy])));
    await rm(copy);
    cpSyncS.push(await timed(() => run('sh', ['-c', 'cp "$0" "$1" && sync "$1"', source, copy])));
    await rm(copy);
    bareUpS.push(await timed(() => run('curl', ['-sS', '-o', '/dev/null', '-X', 'POST', '-T', source, `${bareBase}/`], { maxBuffer: MiB })));
    await rm(join(work, 'bare-up.bin'));
    bareDownS.push(await timed(() => run('curl', ['-sS', '-o', target, `${bareBase}/`], { maxBuffer: MiB })));
    await rm(target);

    let id = '';
    const up = await peakRss(() =>
      timed(async () => {
        const res = await upload(`big-${rep}.bin`);
        if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${res.body}`);
        id = (JSON.parse(res.body) as { data: { id: string } }).data.id;
      }),
    );
    upS.push(up.result);
    const down = await peakRss(() =>
      timed(async () => {
        const code = await curl(['-o', target, '-w', '%{http_code}', `${base}/files/download/${id}`]);
        if (code !== '200') throw new Error(`download answered ${code}`);
      }),
    );
    downS.push(down.result);
    if ((await stat(target)).size !== SIZE) throw new Error('the download is truncated');
    await rm(target);
    peak = Math.max(peak, up.peak, down.peak);
    log(`  cp ${fmt(cpS[rep]!.wall)} s, cp+sync ${fmt(cpSyncS[rep]!.wall)} s, upload ${fmt(up.result.wall)} s (server cpu ${fmt(up.result.cpu)} s), download ${fmt(down.result.wall)} s (server cpu ${fmt(down.result.cpu)} s)`);
    // Each upload is a new file: drop it so the disk does not fill up over the repetitions.
    await fetch(`${base}/files/${id}`, { method: 'DELETE', headers: auth });
  }
  const cp = median(cpS.map((s) => s.wall));
  const cpSync = median(cpSyncS.map((s) => s.wall));
  const upWall = median(upS.map((s) => s.wall));
  const downWall = median(downS.map((s) => s.wall));
  const upBase = FSYNC ? cpSync : cp;
  const uploadRatio = upBase / upWall;
  const uploadVsCp = cp / upWall;
  const downloadRatio = cp / downWall;
  const rssGrowth = (peak - rssBefore) / MiB;
  const mibs = (s: number) => `${fmt(SIZE / MiB / s, 0)} MiB/s`;
  const cpu = (xs: Sample[], k: 'cpu' | 'childCpu') => fmt(median(xs.map((s) => s[k])));

  // --- a directory of FILES files, page by page -------------------------------------------------------------------
  log(`a directory of ${FILES} files`);
  const mk = await fetch(`${base}/files/io.cozy.files.root-dir?Type=directory&Name=many`, { method: 'POST', headers: auth });
  const dirId = ((await mk.json()) as { data: { id: string } }).data.id;
  const now = new Date().toISOString();
  for (let start = 0; start < FILES; start += 1000) {
    const docs = [];
    for (let i = start; i < Math.min(FILES, start + 1000); i++) {
      docs.push({
        _id: createHash('md5').update(`f${i}`).digest('hex'), type: 'file', name: `file-${String(i).padStart(6, '0')}.txt`, dir_id: dirId,
        created_at: now, updated_at: now, size: '1', md5sum: 'xMpCOKC5I4INzFCab3WEmw==', mime: 'text/plain', class: 'text',
        executable: false, trashed: false, encrypted: false, tags: [], internal_vfs_id: 'benchcontent0000',
      });
    }
    const rows = await tk.kernel.store.bulkDocs(inst, 'io.cozy.files', docs);
    if (rows.some((r) => r.error)) throw new Error('bulkDocs failed');
  }
  const listPages = async (): Promise<number[]> => {
    const times: number[] = [];
    let url: string | undefined = `/files/${dirId}?page[limit]=${PAGE}`;
    let seen = 0;
    while (url) {
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${base}${url}`, { headers: auth });
      const body = (await res.json()) as { included: unknown[]; links?: { next?: string } };
      times.push(seconds(t0) * 1000);
      if (res.status !== 200) throw new Error(`listing answered ${res.status}`);
      seen += body.included.length;
      url = body.links?.next;
    }
    if (seen !== FILES) throw new Error(`listed ${seen} entries, not ${FILES}`);
    return times;
  };
  const tIndex = process.hrtime.bigint();
  await listPages();
  const indexS = seconds(tIndex);
  const pages = summarize(await listPages());
  log(`  first pass (view build included) ${fmt(indexS)} s; then p50 ${fmt(pages.p50)} ms per page`);

  process.stdout.write(
    `${table(
      ['measure', 'value', 'unit', 'target', 'mark', 'detail'],
      [
        [`upload with MD5 (curl), throughput vs ${FSYNC ? 'cp + sync' : 'cp'}`, fmt(uploadRatio), 'x', `>= ${UPLOAD_TARGET}`, atLeast(uploadRatio, UPLOAD_TARGET), `${mibs(upWall)}; ${FSYNC ? `cp + sync ${mibs(cpSync)}; ` : ''}fsync ${FSYNC}`],
        ['  same, vs plain cp (no sync)', fmt(uploadVsCp), 'x', '-', '-', `cp ${mibs(cp)}`],
        ['  same, vs a bare node server', fmt(median(bareUpS.map((s) => s.wall)) / upWall), 'x', '-', '-', `bare node ${mibs(median(bareUpS.map((s) => s.wall)))} (no fsync)`],
        ['download (curl), throughput vs cp', fmt(downloadRatio), 'x', `>= ${DOWNLOAD_TARGET}`, atLeast(downloadRatio, DOWNLOAD_TARGET), mibs(downWall)],
        ['  same, vs a bare node server', fmt(median(bareDownS.map((s) => s.wall)) / downWall), 'x', '-', '-', `bare node ${mibs(median(bareDownS.map((s) => s.wall)))}`],
        ['CPU s: server upload / download', `${cpu(upS, 'cpu')} / ${cpu(downS, 'cpu')}`, 's', '-', '-', `curl ${cpu(upS, 'childCpu')} / ${cpu(downS, 'childCpu')} s; cp ${cpu(cpS, 'childCpu')} s; cp + sync ${cpu(cpSyncS, 'childCpu')} s`],
        ['peak RSS growth during the transfers', fmt(rssGrowth, 1), 'MiB', `< ${RSS_TARGET_MIB}`, rssGrowth < RSS_TARGET_MIB ? 'PASS' : 'MISS', `${SIZE / MiB} MiB moved each way, ${REPS} times`],
        [`listing ${FILES} files, ${PAGE} per page, p50`, fmt(pages.p50), 'ms', '-', '-', `p99 ${fmt(pages.p99)} ms over ${pages.n} pages; first pass ${fmt(indexS)} s`],
      ],
    )}\n`,
  );
  printJson('files', {
    sizeMiB: SIZE / MiB, fsync: FSYNC, reps: REPS, cp: cpS, cpSync: cpSyncS, bareUpload: bareUpS, bareDownload: bareDownS, upload: upS, download: downS,
    uploadRatio, uploadVsCp, downloadRatio, rssGrowthMiB: rssGrowth, files: FILES, page: PAGE, pages, firstPassSeconds: indexS,
  });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup.run());
