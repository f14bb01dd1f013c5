/**
 * vdirsyncer against our CalDAV/CardDAV (plugins/sync) and against Radicale and Xandikos, on the same generated data
 * in the same run:
 *
 *   node --import tsx bench/dav-sync/run.ts [--events 2000] [--cards 2000] [--edits 50] [--peers radicale,xandikos]
 *
 * Phases, each the wall time of one `vdirsyncer sync <pair>` process (which includes ~0.4 s of its own start-up):
 * initial upload, no-change re-sync, sync after N local edits (PUT If-Match), sync after N server-side edits
 * (PROPFIND + multiget), for events and for vCards. Target: ours at least 2x faster than the faster peer on every
 * phase (ratio = faster peer / ours >= 2).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, cp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEVICE_PASSWORDS, type DevicePasswordService } from '../../kernel/src/index.ts';
import { startTestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { freePort, repoRoot } from '../../test/helpers/processes.ts';
import { Cleanup, fmt, printJson, table } from '../lib/report.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    cards: { type: 'string', default: '2000' },
    edits: { type: 'string', default: '50' },
    peers: { type: 'string', default: 'radicale,xandikos' },
  },
});
const EVENTS = Math.max(1, Number(values.events));
const CARDS = Math.max(1, Number(values.cards));
const EDITS = Math.max(1, Number(values.edits));
const PEERS = String(values.peers).split(',').filter((p) => p === 'radicale' || p === 'xandikos');
const TARGET = 2;
const SCRIPTS = join(repoRoot, 'plugins/sync/test/peers');
const PY = '/usr/bin/python3';

const cleanup = new Cleanup();
const log = (line: string) => process.stderr.write(`${line}\n`);

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(err.message)}\n${stdout}${stderr}`.slice(0, 4000)));
      else resolve(`${stdout}${stderr}`);
    });
    // A child that exits before reading (start_peer.sh) must not crash the script with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

interface Target {
  name: string;
  url: string;
  user: string;
  password: string;
  eventsUrl: string;
  cardsUrl: string;
}

async function ours(): Promise<Target> {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-sync': {} } }, baseDir: repoRoot });
  cleanup.add(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const devices = tk.kernel.container.resolve<DevicePasswordService>(DEVICE_PASSWORDS.token);
  const { password } = await devices.create(inst, 'bench', ['calendars', 'contacts']);
  const base = `http://127.0.0.1:${port}/sync`;
  return { name: 'cozy-ts', url: `${base}/`, user: 'bench', password, eventsUrl: `${base}/calendars/bench-events/`, cardsUrl: `${base}/contacts/bench-contacts/` };
}

async function peer(kind: 'radicale' | 'xandikos', work: string): Promise<Target> {
  const port = await freePort();
  const pid = Number((await run(join(SCRIPTS, 'start_peer.sh'), [kind, join(work, 'server'), String(port)])).trim().split('\n').pop());
  cleanup.add(() => {
    try {
      process.kill(pid);
    } catch {
      // already gone
    }
  });
  const base = `http://127.0.0.1:${port}`;
  return kind === 'radicale'
    ? { name: 'radicale', url: `${base}/`, user: 'bench', password: 'bench', eventsUrl: `${base}/bench/bench-events/`, cardsUrl: `${base}/bench/bench-contacts/` }
    : { name: 'xandikos', url: `${base}/`, user: 'bench', password: 'bench', eventsUrl: `${base}/user/calendars/bench-events/`, cardsUrl: `${base}/user/contacts/bench-contacts/` };
}

const PHASES = ['upload', 'no-change', 'local edits', 'server edits'] as const;
type Phase = (typeof PHASES)[number];
type Times = Record<Phase, { events: number; cards: number }>;

async function bench(target: Target, template: string, work: string): Promise<Times> {
  const local = join(work, 'local');
  await cp(template, local, { recursive: true });
  const conf = join(work, 'config');
  await run('bash', [join(SCRIPTS, 'vds-config.sh'), target.url, local, join(work, 'status'), conf, target.user, target.password]);
  await run('sed', ['-i', '-e', 's|^collections = \\["from a", "from b"\\]$|collections = ["from a"]|', conf]);
  await run('vdirsyncer', ['-c', conf, 'discover'], 'y\n'.repeat(10));
  const timed = async (pair: 'events' | 'contacts') => {
    const t0 = process.hrtime.bigint();
    await run('vdirsyncer', ['-c', conf, 'sync', pair]);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const both = async () => ({ events: await timed('events'), cards: await timed('contacts') });
  const times = {} as Times;
  log(`${target.name}: initial upload of ${EVENTS} events and ${CARDS} vCards`);
  times.upload = await both();
  times['no-change'] = await both();
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'local', join(local, 'cal/bench-events'), String(EDITS), '--tag', 'local']);
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'local', join(local, 'card/bench-contacts'), String(EDITS), '--tag', 'local']);
  times['local edits'] = await both();
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'server', target.eventsUrl, String(EDITS), '--user', target.user, '--password', target.password, '--tag', 'srv']);
  await run(PY, [join(SCRIPTS, 'modify_items.py'), 'server', target.cardsUrl, String(EDITS), '--user', target.user, '--password', target.password, '--tag', 'srv']);
  times['server edits'] = await both();
  log(`${target.name}: ${JSON.stringify(times)}`);
  return times;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'cozy-bench-dav-sync-'));
  cleanup.dir(root);
  const template = join(root, 'template');
  await run(PY, [join(SCRIPTS, 'gen_pim_data.py'), template, '--events', String(EVENTS), '--cards', String(CARDS), '--events-dir', 'cal/bench-events', '--cards-dir', 'card/bench-contacts']);

  const results: Record<string, Times> = {};
  const targets: Array<() => Promise<Target>> = [ours, ...PEERS.map((p) => () => peer(p as 'radicale' | 'xandikos', join(root, p)))];
  for (const make of targets) {
    const target = await make();
    results[target.name] = await bench(target, template, join(root, `run-${target.name}`));
  }

  const rows: Array<Array<string | number>> = [];
  const ratios: Record<string, number> = {};
  for (const phase of PHASES) {
    for (const kind of ['events', 'cards'] as const) {
      const mine = results['cozy-ts']![phase][kind];
      const peerTimes = PEERS.map((p) => results[p]![phase][kind]);
      const fastest = peerTimes.length ? Math.min(...peerTimes) : NaN;
      const ratio = fastest / mine;
      ratios[`${phase} ${kind}`] = ratio;
      rows.push([`${phase}, ${kind}`, fmt(mine), ...peerTimes.map((x) => fmt(x)), fmt(ratio), Number.isNaN(ratio) ? '-' : ratio >= TARGET ? 'PASS' : 'MISS']);
    }
  }
  process.stdout.write(`vdirsyncer, ${EVENTS} events + ${CARDS} vCards, ${EDITS} edits (wall seconds of each sync)\n`);
  process.stdout.write(`${table(['phase', 'cozy-ts', ...PEERS, 'faster peer / ours', `>= ${TARGET}x`], rows)}\n`);
  printJson('dav-sync', { events: EVENTS, cards: CARDS, edits: EDITS, results, ratios });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup.run());
