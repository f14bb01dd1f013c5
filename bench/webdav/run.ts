/**
 * WebDAV with rclone as the client, our server against Apache mod_dav on the same disk in the same run:
 *
 *   node --import tsx bench/webdav/run.ts [--small 1000] [--large-mib 1024] [--transfers 8] [--rounds 2] [--no-equal-durability]
 *
 * For each server: rclone uploads --small files (1-16 KiB, random bytes) then downloads them into an empty folder,
 * then uploads one --large-mib file and downloads it. Both servers get Basic auth (ours: a device password; Apache:
 * htpasswd). Ratios are Apache's time / ours: 1.0 means as fast. Targets: small files >= 1.0, large file >= 0.8,
 * judged on our default (vfs-local fsyncs every content before it becomes visible). Unless --no-equal-durability,
 * our server is measured a second time with fsync off, the durability Apache (and cozy-stack) give, for comparison.
 * Our server runs in its own process (plugins/webdav/test/serve.ts: files + vfs-local + webdav, embedded store,
 * storage under the OS temp folder like Apache's root), so its peak RSS (VmHWM) is its own.
 * Each timed phase starts with the page cache written back (`sync`, see settle()), for both servers alike.
 * The servers are measured --rounds times, each round in the reverse order of the one before, on fresh storage; each
 * phase's times are summed over the rounds before the ratio is taken. On this VM, writing into page-cache memory not
 * used before costs 1.1-2.6 s of kernel time per GiB (0.35-0.5 s for memory just freed), and it grows as the run
 * goes on: with one fixed order, whoever came second paid more for rclone's downloaded copy (Apache's 1 GiB
 * download: 1.31 s first, 2.20 s second; ours: 4.24 s second, 1.61 s first).
 * Needs rclone and apache2 (Debian packages); without apache2 only our side is measured.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify, parseArgs } from 'node:util';
import { freePort, repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, MiB, printJson, table } from '../lib/report.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    small: { type: 'string', default: '1000' },
    'large-mib': { type: 'string', default: '1024' },
    transfers: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    'equal-durability': { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const SMALL = Math.max(1, Number(values.small));
const LARGE_MIB = Math.max(1, Number(values['large-mib']));
const TRANSFERS = String(Math.max(1, Number(values.transfers)));
const ROUNDS = Math.max(1, Number(values.rounds) || 1);
const EQUAL_DURABILITY = values['equal-durability'];
const SMALL_TARGET = 1.0;
const LARGE_TARGET = 0.8;

const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);

async function exists(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
}

async function makeSmallTree(dir: string): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < SMALL; i++) {
    const sub = join(dir, `d${i % 20}`);
    await mkdir(sub, { recursive: true });
    const size = 1024 + ((i * 7919) % (15 * 1024));
    bytes += size;
    await writeFile(join(sub, `f${i}.bin`), randomBytes(size));
  }
  return bytes;
}

async function makeLarge(path: string): Promise<void> {
  const out = createWriteStream(path);
  const chunk = randomBytes(MiB);
  for (let i = 0; i < LARGE_MIB; i++) {
    // A different first bytes per MiB, so no chunk repeats verbatim.
    chunk.writeUInt32BE(i, 0);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) n += e.isDirectory() ? await countFiles(join(dir, e.name)) : 1;
  return n;
}

interface Remote {
  name: string;
  url: string;
  user: string;
  pass: string;
  pid?: number;
  /** Stops the server (each round starts its own, on fresh storage). */
  stop: () => Promise<void>;
}

async function rclone(remote: Remote, args: string[], confDir: string): Promise<number> {
  const { stdout: obscured } = await run('rclone', ['obscure', remote.pass]);
  const env = {
    ...process.env,
    RCLONE_CONFIG: join(confDir, 'rclone.conf'),
    RCLONE_CONFIG_R_TYPE: 'webdav',
    RCLONE_CONFIG_R_URL: remote.url,
    RCLONE_CONFIG_R_VENDOR: 'other',
    RCLONE_CONFIG_R_USER: remote.user,
    RCLONE_CONFIG_R_PASS: obscured.trim(),
  };
  const t0 = process.hrtime.bigint();
  await run('rclone', [...args, '--transfers', TRANSFERS, '--checkers', TRANSFERS, '--retries', '1'], { env, maxBuffer: 64 * MiB });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** VmHWM (peak RSS) of a process, MiB. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 15_000).unref();
  });
}

async function startOurs(fsync = true): Promise<Remote> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', 'reflect-metadata', 'plugins/webdav/test/serve.ts', ...(fsync ? [] : ['--no-fsync'])], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, COZY_TEST_LOG: 'warn' },
  });
  cleanup.add(() => waitExit(child));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`our server exited with ${code}`)));
  });
  const [url, pass] = line.trim().split(' ');
  return { name: fsync ? 'cozy-ts' : 'cozy-ts-nofsync', url, user: 'me', pass, pid: child.pid, stop: () => waitExit(child) };
}

async function startApache(): Promise<Remote> {
  const root = await mkdtemp(join(tmpdir(), 'davref-'));
  cleanup.dir(root);
  await chmod(root, 0o755);
  for (const d of ['data', 'lock']) {
    await mkdir(join(root, d));
    await chmod(join(root, d), 0o777);
  }
  await run('htpasswd', ['-bc', join(root, 'htpasswd'), 'bench', 'bench']);
  const port = await freePort();
  const child = spawn('apache2', ['-f', join(repoRoot, 'bench/webdav/apache-dav.conf'), '-DFOREGROUND'], {
    stdio: 'ignore', env: { ...process.env, DAVROOT: root, DAVPORT: String(port) },
  });
  cleanup.add(() => waitExit(child));
  const url = `http://127.0.0.1:${port}/davauth/`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url, { method: 'OPTIONS', headers: { authorization: `Basic ${Buffer.from('bench:bench').toString('base64')}` } }).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null) throw new Error('apache2 failed to start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: 'apache', url, user: 'bench', pass: 'bench', pid: child.pid, stop: () => waitExit(child) };
}

/** Phase times summed over the rounds; the RSS figures are the highest seen. */
function sumTimes(all: Times[]): Times {
  const sum = (k: 'smallUp' | 'smallDown' | 'largeUp' | 'largeDown') => all.reduce((acc, t) => acc + t[k], 0);
  const rss = all.flatMap((t) => (t.rss ? [t.rss] : []));
  const most = (k: 'start' | 'afterSmall' | 'afterLarge') => Math.max(...rss.map((r) => r[k]));
  return {
    smallUp: sum('smallUp'), smallDown: sum('smallDown'), largeUp: sum('largeUp'), largeDown: sum('largeDown'),
    ...(rss.length > 0 ? { rss: { start: most('start'), afterSmall: most('afterSmall'), afterLarge: most('afterLarge') } } : {}),
  };
}

interface Times {
  smallUp: number;
  smallDown: number;
  largeUp: number;
  largeDown: number;
  /** The server's peak RSS (MiB) at start, after the small files, after the large file (ours only). */
  rss?: { start: number; afterSmall: number; afterLarge: number };
}

/**
 * Writes every dirty page back before a timed phase, so that no phase pays for the writeback of the one before it:
 * without it, our small-file upload ran while the kernel was flushing the 2 GiB that Apache's large-file phase had
 * just left in the page cache (its upload, and rclone's download of it), and our server fsyncs each file (Apache does
 * not), so every fsync queued behind that writeback. Measured alone (1,000 files, load 1-4): 32.9 and 33.1 s after
 * a sync, 34.7 s right after 2 GiB were written.
 */
async function settle(): Promise<void> {
  await run('sync');
}

async function measure(remote: Remote, work: string, small: string, large: string, round: number): Promise<Times> {
  const conf = await mkdtemp(join(work, `conf-${remote.name}-`));
  const hwm = () => (remote.name.startsWith('cozy-ts') && remote.pid ? peakRss(remote.pid) : Promise.resolve(Number.NaN));
  const start = await hwm();
  log(`${remote.name}: uploading ${SMALL} small files`);
  await settle();
  const smallUp = await rclone(remote, ['copy', small, 'r:small'], conf);
  const down = join(work, `down-${remote.name}-${round}`);
  log(`${remote.name}: downloading them`);
  await settle();
  const smallDown = await rclone(remote, ['copy', 'r:small', join(down, 'small')], conf);
  const got = await countFiles(join(down, 'small'));
  if (got !== SMALL) throw new Error(`${remote.name}: ${got} small files came back, not ${SMALL}`);
  const afterSmall = await hwm();
  log(`${remote.name}: uploading ${LARGE_MIB} MiB`);
  await settle();
  const largeUp = await rclone(remote, ['copy', large, 'r:large'], conf);
  log(`${remote.name}: downloading it`);
  await settle();
  const largeDown = await rclone(remote, ['copy', 'r:large', join(down, 'large')], conf);
  const size = (await stat(join(down, 'large', 'large.bin'))).size;
  if (size !== LARGE_MIB * MiB) throw new Error(`${remote.name}: the large file came back with ${size} bytes`);
  log(`${remote.name}: small up ${fmt(smallUp)} s, down ${fmt(smallDown)} s; large up ${fmt(largeUp)} s, down ${fmt(largeDown)} s`);
  return { smallUp, smallDown, largeUp, largeDown, rss: { start, afterSmall, afterLarge: await hwm() } };
}

async function main(): Promise<void> {
  if (!(await exists('rclone'))) throw new Error('rclone is not installed (apt-get install rclone)');
  const haveApache = (await exists('apache2')) && (await exists('htpasswd'));
  const work = await mkdtemp(join(tmpdir(), 'bench-webdav-'));
  cleanup.dir(work);
  const small = join(work, 'small');
  log(`making ${SMALL} small files and one ${LARGE_MIB} MiB file in ${work}`);
  const smallBytes = await makeSmallTree(small);
  await mkdir(join(work, 'large-src'));
  const large = join(work, 'large-src', 'large.bin');
  await makeLarge(large);

  if (!haveApache) log('apache2 not installed: measuring our server only (apt-get install apache2 for the ratios)');
  // The same with fsync off: Apache's (and cozy-stack's) durability, where a power cut may lose what a client was
  // told is stored. Printed beside the targets, which are judged on our default (fsync on).
  const servers: Array<{ key: string; start: () => Promise<Remote> }> = [
    ...(haveApache ? [{ key: 'apache', start: startApache }] : []),
    { key: 'ours', start: () => startOurs() },
    ...(EQUAL_DURABILITY ? [{ key: 'oursNoFsync', start: () => startOurs(false) }] : []),
  ];
  const rounds: Array<Record<string, Times>> = [];
  let rss = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    log(`round ${round + 1}/${ROUNDS}: ${order.map((s) => s.key).join(', ')}`);
    const times: Record<string, Times> = {};
    for (const server of order) {
      const remote = await server.start();
      times[server.key] = await measure(remote, work, small, large, round);
      if (server.key === 'ours') rss = Math.max(rss, await peakRss(remote.pid as number));
      await remote.stop();
    }
    rounds.push(times);
  }
  const results: Record<string, Times> = {};
  for (const { key } of servers) results[key] = sumTimes(rounds.map((r) => r[key] as Times));

  const a = results.apache;
  const o = results.ours;
  const ratio = (x: number | undefined, y: number) => (x === undefined ? Number.NaN : x / y);
  const smallRatio = ratio(a && a.smallUp + a.smallDown, o.smallUp + o.smallDown);
  const largeRatio = ratio(a && a.largeUp + a.largeDown, o.largeUp + o.largeDown);
  const pass = (v: number, target: number) => (Number.isNaN(v) ? '' : v >= target ? 'PASS' : 'MISS');
  const rows: Array<Array<string | number>> = [
    [`${SMALL} small files up (${fmt(smallBytes / MiB, 1)} MiB), s`, a ? fmt(a.smallUp) : '-', fmt(o.smallUp), fmt(ratio(a?.smallUp, o.smallUp)), '', ''],
    [`${SMALL} small files down, s`, a ? fmt(a.smallDown) : '-', fmt(o.smallDown), fmt(ratio(a?.smallDown, o.smallDown)), '', ''],
    ['small files, up + down', a ? fmt(a.smallUp + a.smallDown) : '-', fmt(o.smallUp + o.smallDown), fmt(smallRatio), `>= ${SMALL_TARGET}`, pass(smallRatio, SMALL_TARGET)],
    [`${LARGE_MIB} MiB file up, s`, a ? fmt(a.largeUp) : '-', fmt(o.largeUp), fmt(ratio(a?.largeUp, o.largeUp)), '', ''],
    [`${LARGE_MIB} MiB file down, s`, a ? fmt(a.largeDown) : '-', fmt(o.largeDown), fmt(ratio(a?.largeDown, o.largeDown)), '', ''],
    ['large file, up + down', a ? fmt(a.largeUp + a.largeDown) : '-', fmt(o.largeUp + o.largeDown), fmt(largeRatio), `>= ${LARGE_TARGET}`, pass(largeRatio, LARGE_TARGET)],
    ['our server, peak RSS (VmHWM) once started, MiB', '', fmt(o.rss?.start ?? Number.NaN, 1), '', '', ''],
    ['  ... after the small files, MiB', '', fmt(o.rss?.afterSmall ?? Number.NaN, 1), '', '', ''],
    [`  ... after the ${LARGE_MIB} MiB file up and down, MiB`, '', fmt(rss, 1), '', '', ''],
  ];
  const n = results.oursNoFsync;
  if (n) {
    rows.push(
      ['ours with fsync off (Apache\'s durability):', '', '', '', '', ''],
      ['  small files, up + down', a ? fmt(a.smallUp + a.smallDown) : '-', fmt(n.smallUp + n.smallDown), fmt(ratio(a && a.smallUp + a.smallDown, n.smallUp + n.smallDown)), '', ''],
      ['  large file, up + down', a ? fmt(a.largeUp + a.largeDown) : '-', fmt(n.largeUp + n.largeDown), fmt(ratio(a && a.largeUp + a.largeDown, n.largeUp + n.largeDown)), '', ''],
    );
  }
  process.stdout.write(`WebDAV through rclone (vendor other, --transfers ${TRANSFERS}); times summed over ${ROUNDS} round(s) in alternating order; ratio = apache time / ours\n\n`);
  process.stdout.write(`${table(['measure', 'apache', 'ours', 'ratio', 'target', ''], rows)}\n\n`);
  printJson('webdav', { small: SMALL, largeMiB: LARGE_MIB, transfers: Number(TRANSFERS), rounds, results, smallRatio, largeRatio, peakRssMiB: rss });
}

main().then(
  () => cleanup.run(),
  async (err: unknown) => {
    log(`bench failed: ${(err as Error).stack ?? String(err)}`);
    await cleanup.run();
    process.exitCode = 1;
  },
);
