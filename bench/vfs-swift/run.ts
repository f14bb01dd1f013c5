/**
 * The Swift backend against the local one, on the same disk, in the same run:
 *
 *   flock /tmp/bench.lock node --import tsx bench/vfs-swift/run.ts [--size 1024] [--reps 2] [--segment 0]
 *
 * A Swift all-in-one is started from Debian's packages (test/helpers/swift-process.ts) as separate daemons, as in
 * production, with its device in the OS temp folder, where vfs-local writes too. For each backend and each
 * repetition (interleaved, so a load spike hits both): one upload of --size MiB through `createWriter` with the
 * size and MD5 announced (both checked before the content becomes visible), then one download through `read`.
 * Printed: throughput of each, and swift / local ratios (1.0 = as fast as the local disk). With --segment N (MiB),
 * a third series stores the file as a static large object of N MiB segments. A last series is curl talking to the
 * same Swift directly (PUT with ETag from a file in the page cache, GET to /dev/null): what Swift itself reaches on
 * this machine, so `swift / curl` tells what the client costs.
 * Peak RSS growth of this process (the client side of every transfer) is printed too: both backends stream.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import { newInternalId, type InstanceRef, type VfsContent } from '../../kernel/src/index.ts';
import { LocalVfs } from '../../plugins/vfs-local/src/local-vfs.ts';
import { defaults } from '../../plugins/vfs-swift/src/config.ts';
import { SwiftVfs } from '../../plugins/vfs-swift/src/swift-vfs.ts';
import { startSwiftServer } from '../../test/helpers/swift-process.ts';
import { Cleanup, MiB, fmt, median, printJson, table } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    reps: { type: 'string', default: '2' },
    segment: { type: 'string', default: '0' },
  },
});
const SIZE = Math.max(1, Number(values.size)) * MiB;
const REPS = Math.max(1, Number(values.reps));
const SEGMENT = Math.max(0, Number(values.segment)) * MiB;
const CHUNK = 64 * 1024;

const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

// One random block repeated: generating 1 GiB of randomness per run would cost more than what is measured.
const block = randomBytes(4 * MiB);
function source(): Readable {
  return Readable.from((function* () {
    for (let sent = 0; sent < SIZE; sent += CHUNK) {
      const at = sent % block.length;
      yield block.subarray(at, at + Math.min(CHUNK, SIZE - sent));
    }
  })(), { objectMode: false });
}
const expectedMd5 = (() => {
  const h = createHash('md5');
  for (let sent = 0; sent < SIZE; sent += CHUNK) {
    const at = sent % block.length;
    h.update(block.subarray(at, at + Math.min(CHUNK, SIZE - sent)));
  }
  return h.digest();
})();

let peakRss = process.memoryUsage().rss;
const baseRss = peakRss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
cleanup.add(() => clearInterval(sampler));

interface Subject {
  name: string;
  vfs?: VfsContent;
  inst: InstanceRef;
  up: number[];
  down: number[];
}

const run = promisify(execFile);

/** curl straight to Swift: the ceiling of this Swift on this machine, whatever the client. */
async function onceCurl(s: Subject, swift: { authUrl: string; user: string; key: string }, file: string, container: string): Promise<void> {
  const auth = await fetch(swift.authUrl, { headers: { 'x-auth-user': swift.user, 'x-auth-key': swift.key } });
  const token = auth.headers.get('x-auth-token') ?? '';
  const url = `${auth.headers.get('x-storage-url')}/${container}/curl-${Date.now()}`;
  const headers = ['-H', `x-auth-token: ${token}`];
  let t0 = process.hrtime.bigint();
  await run('curl', ['-sSf', '-T', file, ...headers, '-H', `etag: ${expectedMd5.toString('hex')}`, url]);
  s.up.push(SIZE / MiB / seconds(t0));
  t0 = process.hrtime.bigint();
  await run('curl', ['-sSf', '-o', '/dev/null', ...headers, url]);
  s.down.push(SIZE / MiB / seconds(t0));
  await run('curl', ['-sSf', '-X', 'DELETE', ...headers, url]);
  log(`  ${s.name}: up ${fmt(s.up.at(-1) ?? 0, 0)} MiB/s, down ${fmt(s.down.at(-1) ?? 0, 0)} MiB/s`);
}

async function once(s: Subject): Promise<void> {
  if (!s.vfs) return;
  const ref = { id: randomBytes(16).toString('hex'), internalId: newInternalId(), path: `/bench-${Date.now()}.bin` };
  let t0 = process.hrtime.bigint();
  const writer = await s.vfs.createWriter(s.inst, ref, { expectedSize: SIZE, expectedMd5 });
  await pipeline(source(), writer);
  await writer.commit();
  s.up.push(SIZE / MiB / seconds(t0));
  t0 = process.hrtime.bigint();
  let read = 0;
  await pipeline(await s.vfs.read(s.inst, ref), new Writable({
    highWaterMark: MiB,
    write(chunk: Buffer, _e, cb) {
      read += chunk.length;
      cb();
    },
  }));
  s.down.push(SIZE / MiB / seconds(t0));
  if (read !== SIZE) throw new Error(`${s.name}: read ${read} bytes of ${SIZE}`);
  await s.vfs.deleteFile(s.inst, ref);
  log(`  ${s.name}: up ${fmt(s.up.at(-1) ?? 0, 0)} MiB/s, down ${fmt(s.down.at(-1) ?? 0, 0)} MiB/s`);
}

try {
  log('starting Swift (daemons)...');
  const swift = await startSwiftServer({ daemons: true, storage: 'disk', timeoutMs: 120_000 });
  cleanup.add(() => swift.stop());
  const dir = await mkdtemp(join(tmpdir(), 'cozy-bench-vfs-'));
  cleanup.dir(dir);
  const inst: InstanceRef = { domain: 'bench.example', prefix: 'cozybench' };
  const swiftConfig = { ...defaults, authUrl: swift.authUrl, username: swift.user, password: swift.key };
  const subjects: Subject[] = [
    { name: 'local (fsync)', vfs: new LocalVfs({ root: join(dir, 'files') }), inst, up: [], down: [] },
    { name: 'swift', vfs: new SwiftVfs(swiftConfig), inst, up: [], down: [] },
  ];
  if (SEGMENT > 0) subjects.push({ name: `swift, ${SEGMENT / MiB} MiB segments`, vfs: new SwiftVfs({ ...swiftConfig, segmentSize: SEGMENT }), inst, up: [], down: [] });
  const curl: Subject = { name: 'curl to Swift (baseline)', inst, up: [], down: [] };
  subjects.push(curl);
  for (const s of subjects) {
    const vfs = s.vfs;
    if (!vfs) continue;
    await vfs.initInstance(inst);
    cleanup.add(() => vfs.destroyInstance(inst));
  }
  const file = join(dir, 'source.bin');
  await pipeline(source(), createWriteStream(file));
  for (let rep = 1; rep <= REPS; rep++) {
    log(`rep ${rep}/${REPS}`);
    for (const s of subjects) {
      if (s === curl) await onceCurl(s, swift, file, (subjects[1]?.vfs as SwiftVfs).container(inst));
      else await once(s);
    }
  }
  const local = subjects[0] as Subject;
  const rows = subjects.map((s) => [
    s.name,
    fmt(median(s.up), 0),
    fmt(median(s.down), 0),
    fmt(median(s.up) / median(local.up)),
    fmt(median(s.down) / median(local.down)),
  ]);
  process.stdout.write(`${SIZE / MiB} MiB, ${REPS} reps (medians), load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`${table(['backend', 'up MiB/s', 'down MiB/s', 'up / local', 'down / local'], rows)}\n`);
  const ours = subjects[1] as Subject;
  process.stdout.write(`swift / curl: up ${fmt(median(ours.up) / median(curl.up))}, down ${fmt(median(ours.down) / median(curl.down))}\n`);
  process.stdout.write(`peak RSS growth of this process (client of every transfer, vfs-local included): ${fmt((peakRss - baseRss) / MiB, 1)} MiB\n`);
  printJson('vfs-swift', {
    sizeMiB: SIZE / MiB,
    reps: REPS,
    results: subjects.map((s) => ({ name: s.name, up: s.up, down: s.down })),
    ratios: {
      up: median(ours.up) / median(local.up),
      down: median(ours.down) / median(local.down),
      upVsCurl: median(ours.up) / median(curl.up),
      downVsCurl: median(ours.down) / median(curl.down),
    },
    peakRssGrowthMiB: (peakRss - baseRss) / MiB,
  });
  for (const s of subjects) if (s.vfs instanceof SwiftVfs) s.vfs.close();
} finally {
  await cleanup.run();
}
