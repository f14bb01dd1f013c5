/**
 * Diagnostic: where our server spends its time in each vdirsyncer phase of bench/dav-sync (ours only, no peers).
 * Writes one V8 CPU profile per phase (open in Chrome DevTools) and prints the top self-time functions.
 *
 *   node --import tsx bench/dav-sync/profile.ts [--events 2000] [--cards 2000] [--edits 50] [--out DIR]
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { Session, type Profiler } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup } from '../lib/report.ts';
import { startOurSyncServer } from './our-server.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    cards: { type: 'string', default: '2000' },
    edits: { type: 'string', default: '50' },
    out: { type: 'string', default: join(tmpdir(), 'dav-sync-profiles') },
  },
});
const SCRIPTS = join(repoRoot, 'plugins/sync/test/peers');
const PY = '/usr/bin/python3';
const cleanup = new Cleanup();

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} failed: ${stdout}${stderr}`)) : resolve(`${stdout}${stderr}`)));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

const session = new Session();
session.connect();
const post = <T>(method: string, params?: object) => new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));

function top(profile: Profiler.Profile, n = 25): string {
  const self = new Map<string, number>();
  const dt = profile.timeDeltas ?? [];
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const samples = profile.samples ?? [];
  samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const f = node.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
}

async function main(): Promise<void> {
  const out = String(values.out);
  await mkdir(out, { recursive: true });
  const root = await mkdtemp(join(tmpdir(), 'cozy-prof-dav-sync-'));
  cleanup.dir(root);
  const template = join(root, 'template');
  await run(PY, [join(SCRIPTS, 'gen_pim_data.py'), template, '--events', String(values.events), '--cards', String(values.cards), '--events-dir', 'cal/bench-events', '--cards-dir', 'card/bench-contacts']);
  const { password, base } = await startOurSyncServer(cleanup);
  const local = join(root, 'local');
  await cp(template, local, { recursive: true });
  const conf = join(root, 'config');
  await run('bash', [join(SCRIPTS, 'vds-config.sh'), `${base}/`, local, join(root, 'status'), conf, 'bench', password]);
  await run('sed', ['-i', '-e', 's|^collections = \\["from a", "from b"\\]$|collections = ["from a"]|', conf]);
  await run('vdirsyncer', ['-c', conf, 'discover'], 'y\n'.repeat(10));
  await post('Profiler.enable');
  const phase = async (name: string) => {
    for (const pair of ['events', 'contacts']) {
      await post('Profiler.start');
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await run('vdirsyncer', ['-c', conf, 'sync', pair]);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const { profile } = await post<{ profile: Profiler.Profile }>('Profiler.stop');
      const file = join(out, `${name.replace(/ /g, '-')}-${pair}.cpuprofile`);
      await writeFile(file, JSON.stringify(profile));
      process.stdout.write(`\n== ${name} ${pair}: wall ${wall.toFixed(2)} s, server cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (${file})\n${top(profile)}\n`);
    }
  };
  await phase('upload');
  await phase('no-change');
  const edits = String(values.edits);
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'local', join(local, 'cal/bench-events'), edits, '--tag', 'local']);
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'local', join(local, 'card/bench-contacts'), edits, '--tag', 'local']);
  await phase('local edits');
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'server', `${base}/calendars/bench-events/`, edits, '--user', 'bench', '--password', password, '--tag', 'srv']);
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'server', `${base}/contacts/bench-contacts/`, edits, '--user', 'bench', '--password', password, '--tag', 'srv']);
  await phase('server edits');
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup.run());
