/**
 * Cold start of the Pi profile (the repository's cozy.config.ts: embedded store, memory cluster, hello plugin).
 *
 *   node --import tsx bench/startup/run.ts [--reps 5] [--no-uncached]
 *
 * Each repetition spawns `node kernel/bin/cozy.js serve` on a fresh storage folder and free ports, times spawn → first
 * 200 on GET /status (polled every 10 ms; /status is 200 only once every plugin has started), idles 2 s, reads VmRSS
 * from /proc/<pid>/status, then stops the server. Baselines in the same run: `node -e 0`, `node --import tsx -e 0`
 * and `node kernel/bin/cozy.js --help` (the CLI's whole module graph, no boot) show what Node, tsx and module loading
 * cost on their own. A second series restarts the server on a storage folder a first start already set up (the
 * everyday case: the admin passphrase hash is read, not generated with scrypt). `cozy` runs the precompiled build
 * (kernel/bin/build.js) when it is fresh, so two more series show the other paths: COZY_REBUILD=1, the first start
 * after a source changed (esbuild rebuilds, then the server starts), and COZY_TSX=1, the TypeScript sources through
 * tsx's loader as before the build existed (skip both with --no-uncached).
 *
 * The CPU time the server had used when it first answered 200 (user + system, all threads, from /proc/<pid>/stat) is
 * printed beside the wall time: it moves much less than wall time when other work shares the machine.
 *
 * Targets: start < 1.5 s, idle RSS < 120 MiB. Printed as PASS/MISS; a miss never fails the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cozyBin, freePort, httpGet, repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, mark, median, printJson, table } from '../lib/report.ts';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '5' }, 'no-uncached': { type: 'boolean', default: false } },
});
const REPS = Math.max(1, Number(values.reps));
const TARGET_START_MS = 1500;
const TARGET_RSS_MIB = 120;
const IDLE_MS = 2000;
const POLL_MS = 10;

const cleanup = new Cleanup();
const live = new Set<ChildProcess>();
cleanup.add(() => Promise.all([...live].map((c) => stopChild(c))));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** SIGTERM (the server shuts down cleanly), SIGKILL after 15 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(timer);
  live.delete(child);
}

/** Wall time of a process that exits by itself. */
async function timeToExit(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: 'ignore' });
  live.add(child);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  live.delete(child);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
  return ms;
}

async function vmRssMiB(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

const CLK_TCK = 100; // getconf CLK_TCK: 100 on every mainstream Linux build

/** CPU time (user + system, all threads) a process has used so far, from /proc/<pid>/stat (clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces): utime and stime are 14th and 15th.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

interface StartSample {
  startMs: number;
  /** CPU the server had used when /status first answered 200: less sensitive than wall time to a busy machine. */
  cpuMs: number;
  rssMiB: number;
  peakMiB: number;
}

async function newStorage(): Promise<string> {
  const storage = await mkdtemp(join(tmpdir(), 'cozy-bench-startup-'));
  cleanup.dir(storage);
  return storage;
}

/** One start: on a fresh storage folder unless one is given (a restart on existing data). */
async function coldStart(extraEnv: Record<string, string>, existingStorage?: string): Promise<StartSample> {
  const storage = existingStorage ?? (await newStorage());
  const port = await freePort();
  const adminPort = await freePort();
  const env = {
    ...process.env,
    COZY_STORAGE: storage,
    COZY_HTTP_PORT: String(port),
    COZY_ADMIN_PORT: String(adminPort),
    COZY_DEFAULT_INSTANCE: 'false',
    COZY_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, [cozyBin, 'serve'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  try {
    let startMs = Number.NaN;
    let cpu = Number.NaN;
    const deadline = t0 + 60_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}):\n${out}`);
      const res = await httpGet(port, '/status', 'localhost').catch(() => null);
      if (res?.status === 200) {
        startMs = performance.now() - t0;
        cpu = await cpuMs(child.pid as number);
        break;
      }
      await sleep(POLL_MS);
    }
    if (!Number.isFinite(startMs)) throw new Error(`no 200 on /status within 60 s:\n${out}`);
    await sleep(IDLE_MS);
    const { rss, hwm } = await vmRssMiB(child.pid as number);
    return { startMs, cpuMs: cpu, rssMiB: rss, peakMiB: hwm };
  } finally {
    await stopChild(child);
  }
}

async function series(label: string, run: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < REPS; i++) out.push(await run());
  process.stderr.write(`  ${label}: ${out.map((v) => fmt(v, 0)).join(', ')} ms\n`);
  return out;
}

async function main(): Promise<void> {
  process.stderr.write(`startup bench: ${REPS} repetitions each (progress on stderr)\n`);
  const bareNode = await series('node -e 0', () => timeToExit(['-e', '0']));
  const nodeTsx = await series('node --import tsx -e 0', () => timeToExit(['--import', 'tsx', '-e', '0']));
  // One unmeasured run first: it rebuilds the precompiled build if a source changed since the last one.
  await timeToExit([cozyBin, '--help']);
  const cliHelp = await series('cozy --help', () => timeToExit([cozyBin, '--help']));

  const serveRuns: StartSample[] = [];
  for (let i = 0; i < REPS; i++) serveRuns.push(await coldStart({}));
  process.stderr.write(`  cozy serve: ${serveRuns.map((s) => `${fmt(s.startMs, 0)} ms / ${fmt(s.rssMiB, 1)} MiB`).join(', ')}\n`);
  // Restarts on a storage folder a first start already set up (databases exist, admin passphrase hash on disk).
  const kept = await newStorage();
  await coldStart({}, kept);
  const restartRuns: StartSample[] = [];
  for (let i = 0; i < REPS; i++) restartRuns.push(await coldStart({}, kept));
  process.stderr.write(`  cozy serve (restart, existing storage): ${restartRuns.map((s) => `${fmt(s.startMs, 0)} ms / ${fmt(s.rssMiB, 1)} MiB`).join(', ')}\n`);
  const rebuildRuns: StartSample[] = [];
  const sourcesRuns: StartSample[] = [];
  if (!values['no-uncached']) {
    for (let i = 0; i < REPS; i++) rebuildRuns.push(await coldStart({ COZY_REBUILD: '1' }));
    process.stderr.write(`  cozy serve (COZY_REBUILD=1): ${rebuildRuns.map((s) => `${fmt(s.startMs, 0)} ms / ${fmt(s.rssMiB, 1)} MiB`).join(', ')}\n`);
    for (let i = 0; i < REPS; i++) sourcesRuns.push(await coldStart({ COZY_TSX: '1' }));
    process.stderr.write(`  cozy serve (COZY_TSX=1): ${sourcesRuns.map((s) => `${fmt(s.startMs, 0)} ms / ${fmt(s.rssMiB, 1)} MiB`).join(', ')}\n`);
  }

  const row = (name: string, xs: number[], unit: string, target?: number) => {
    const m = median(xs);
    return [name, fmt(m, unit === 'MiB' ? 1 : 0), fmt(Math.min(...xs), unit === 'MiB' ? 1 : 0), fmt(Math.max(...xs), unit === 'MiB' ? 1 : 0), unit, target === undefined ? '' : `< ${target}`, target === undefined ? '' : mark(m, target)];
  };
  const rows = [
    row('node -e 0 (baseline)', bareNode, 'ms'),
    row('node --import tsx -e 0 (baseline)', nodeTsx, 'ms'),
    row('cozy --help (module graph, no boot)', cliHelp, 'ms'),
    row('cozy serve: spawn -> 200 /status', serveRuns.map((s) => s.startMs), 'ms', TARGET_START_MS),
    row('cozy serve: CPU used until that 200', serveRuns.map((s) => s.cpuMs), 'ms'),
    row('cozy serve: VmRSS after 2 s idle', serveRuns.map((s) => s.rssMiB), 'MiB', TARGET_RSS_MIB),
    row('cozy serve: VmHWM (peak RSS)', serveRuns.map((s) => s.peakMiB), 'MiB'),
    row('restart on existing storage: -> 200', restartRuns.map((s) => s.startMs), 'ms', TARGET_START_MS),
    row('restart on existing storage: CPU', restartRuns.map((s) => s.cpuMs), 'ms'),
    row('restart on existing storage: VmRSS', restartRuns.map((s) => s.rssMiB), 'MiB', TARGET_RSS_MIB),
  ];
  if (rebuildRuns.length > 0) {
    rows.push(
      row('after a source change (rebuild): -> 200', rebuildRuns.map((s) => s.startMs), 'ms'),
      row('after a source change (rebuild): CPU', rebuildRuns.map((s) => s.cpuMs), 'ms'),
      row('from sources via tsx: -> 200', sourcesRuns.map((s) => s.startMs), 'ms'),
      row('from sources via tsx: CPU', sourcesRuns.map((s) => s.cpuMs), 'ms'),
      row('from sources via tsx: VmRSS idle', sourcesRuns.map((s) => s.rssMiB), 'MiB'),
    );
  }
  console.log(`\nCold start of the Pi profile (cozy.config.ts), ${REPS} runs each\n`);
  console.log(table(['measure', 'median', 'min', 'max', 'unit', 'target', ''], rows));

  const startMedian = median(serveRuns.map((s) => s.startMs));
  const rssMedian = median(serveRuns.map((s) => s.rssMiB));
  printJson('startup', {
    reps: REPS,
    baselineNodeMs: bareNode,
    baselineTsxMs: nodeTsx,
    cliHelpMs: cliHelp,
    serve: serveRuns,
    restartExistingStorage: restartRuns,
    serveAfterRebuild: rebuildRuns,
    serveFromSources: sourcesRuns,
    medians: {
      nodeMs: median(bareNode),
      tsxMs: median(nodeTsx),
      cliHelpMs: median(cliHelp),
      startMs: startMedian,
      startCpuMs: median(serveRuns.map((s) => s.cpuMs)),
      idleRssMiB: rssMedian,
      restartMs: median(restartRuns.map((s) => s.startMs)),
      restartCpuMs: median(restartRuns.map((s) => s.cpuMs)),
      restartIdleRssMiB: median(restartRuns.map((s) => s.rssMiB)),
      startAfterRebuildMs: rebuildRuns.length ? median(rebuildRuns.map((s) => s.startMs)) : null,
      startFromSourcesMs: sourcesRuns.length ? median(sourcesRuns.map((s) => s.startMs)) : null,
      startFromSourcesCpuMs: sourcesRuns.length ? median(sourcesRuns.map((s) => s.cpuMs)) : null,
    },
    targets: {
      startMs: { limit: TARGET_START_MS, result: mark(startMedian, TARGET_START_MS) },
      idleRssMiB: { limit: TARGET_RSS_MIB, result: mark(rssMedian, TARGET_RSS_MIB) },
    },
  });
}

try {
  await main();
} finally {
  await cleanup.run();
}
