/**
 * Where `cozy serve`'s start time goes, phase by phase (a diagnostic beside run.ts, no targets).
 *
 *   node --import tsx bench/startup/phases.ts [--reps 3]
 *
 * Spawns the real `node kernel/bin/cozy.js serve` with the repository's cozy.config.ts on fresh temp storage and free
 * ports, at log level debug, and reads the `boot phases` line serve() logs once every plugin has started: the time since
 * the process began at each step (modules and config loaded when serve() is called, plugins imported and checked,
 * register() hooks, the Fastify app built, listening, kernel services started, each plugin's start()). It does so on
 * the precompiled build (what `npm start` runs) and with COZY_TSX=1 (the TypeScript sources through tsx), and prints
 * the medians side by side with the heap figures at that moment.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cozyBin, freePort, repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, median, printJson, table } from '../lib/report.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const REPS = Math.max(1, Number(values.reps));
const cleanup = new Cleanup();

interface PhaseLine {
  phases: Record<string, number>;
  memory: { rss: number; heapTotal: number; heapUsed: number; external: number };
}

async function oneStart(extraEnv: Record<string, string>): Promise<PhaseLine> {
  const storage = await mkdtemp(join(tmpdir(), 'cozy-bench-phases-'));
  cleanup.dir(storage);
  const env = {
    ...process.env,
    COZY_STORAGE: storage,
    COZY_HTTP_PORT: String(await freePort()),
    COZY_ADMIN_PORT: String(await freePort()),
    COZY_DEFAULT_INSTANCE: 'false',
    COZY_LOG_LEVEL: 'debug',
    ...extraEnv,
  };
  const child = spawn(process.execPath, [cozyBin, 'serve'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.add(() => (child.exitCode === null && child.signalCode === null ? void child.kill('SIGKILL') : undefined));
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    return await new Promise<PhaseLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "boot phases" line within 60 s:\n${out.slice(-2000)}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) {
          if (!line.includes('"boot phases"')) continue;
          clearTimeout(timer);
          resolve(JSON.parse(line) as PhaseLine);
          return;
        }
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${out.slice(-2000)}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const STEPS: Array<[string, string, string]> = [
  ['node, the CLI and its modules, cozy.config.ts', '', 'serveCalled'],
  ['plugins imported, manifests and configs checked', 'bootCalled', 'pluginsLoaded'],
  ['services made, register() hooks', 'pluginsLoaded', 'pluginsRegistered'],
  ['Fastify app: kernel routes, every plugin routes()', 'pluginsRegistered', 'httpBuilt'],
  ['listen (public server)', 'httpBuilt', 'listening'],
  ['kernel services start (instances, auth)', 'startCalled', 'servicesStarted'],
  ['plugins start()', 'servicesStarted', 'started'],
  ['total: process start -> every plugin started', '', 'started'],
];

async function main(): Promise<void> {
  const runs: Record<string, PhaseLine[]> = { build: [], sources: [] };
  for (let i = 0; i < REPS; i++) {
    runs.build?.push(await oneStart({}));
    runs.sources?.push(await oneStart({ COZY_TSX: '1' }));
  }
  const at = (line: PhaseLine, from: string, to: string) => (line.phases[to] ?? Number.NaN) - (from ? line.phases[from] ?? Number.NaN : 0);
  const col = (kind: string, from: string, to: string) => fmt(median((runs[kind] ?? []).map((l) => at(l, from, to))), 0);
  const rows = STEPS.map(([label, from, to]) => [label, col('build', from, to), col('sources', from, to)]);
  const pluginIds = Object.keys(runs.build?.[0]?.phases ?? {}).filter((k) => k.startsWith('start:'));
  for (const id of pluginIds) {
    const m = (kind: string) => fmt(median((runs[kind] ?? []).map((l) => l.phases[id] ?? Number.NaN)), 0);
    rows.push([`  ${id}`, m('build'), m('sources')]);
  }
  const mib = (kind: string, key: keyof PhaseLine['memory']) => fmt(median((runs[kind] ?? []).map((l) => l.memory[key] / 1048576)), 1);
  for (const key of ['rss', 'heapTotal', 'heapUsed', 'external'] as const) rows.push([`${key} when started (MiB)`, mib('build', key), mib('sources', key)]);
  console.log(`\nPhases of \`cozy serve\` (medians of ${REPS}; ms since the process began, or MiB)\n`);
  console.log(table(['phase', 'precompiled', 'COZY_TSX=1'], rows));
  printJson('startup-phases', { reps: REPS, build: runs.build, sources: runs.sources });
}

try {
  await main();
} finally {
  await cleanup.run();
}
