/**
 * Where `cozy serve`'s start time goes, phase by phase, in one process (a diagnostic beside run.ts, no targets).
 *
 *   node --import tsx bench/startup/phases.ts
 *
 * Replays what `cozy serve` does with the repository's cozy.config.ts (fresh temp storage, ports picked by the OS),
 * timing: Node + tsx up to this script's first line, the heavy dependencies, the kernel's own TypeScript modules,
 * loading the config, the admin passphrase hash (generated with scrypt on a fresh storage only), serve() up to listening
 * (Kernel.boot, admin server) and kernel.start. It uses only serve()'s public signature, so it follows the kernel's
 * changes. Module timings depend on order: each row counts what was not already loaded by the rows above.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt, printJson, table } from '../lib/report.ts';

const uptimeAtFirstLine = process.uptime() * 1000;
const phases: Array<[string, number]> = [['node + tsx loader, up to the first line of this script', uptimeAtFirstLine]];
let t0 = performance.now();
const lap = (label: string) => {
  phases.push([label, performance.now() - t0]);
  t0 = performance.now();
};

const require = createRequire(import.meta.url);
await import('reflect-metadata');
await import('fastify');
lap('import fastify');
await import('pino');
await import('nano');
lap('import pino + nano');
require('pouchdb-node');
require('pouchdb-find');
lap('require pouchdb-node + pouchdb-find (LevelDB)');
await import('../../kernel/src/cli/main.ts');
lap("rest of the CLI's graph: the kernel's .ts modules via tsx");

const dir = await mkdtemp(join(tmpdir(), 'cozy-bench-phases-'));
try {
  const { loadConfigFile } = await import('../../kernel/src/boot/config.ts');
  const env = { ...process.env, COZY_STORAGE: dir, COZY_HTTP_PORT: '0', COZY_ADMIN_PORT: '0', COZY_DEFAULT_INSTANCE: 'false', COZY_LOG_LEVEL: 'warn' };
  t0 = performance.now();
  const config = await loadConfigFile(join(process.cwd(), 'cozy.config.ts'), env);
  lap('load cozy.config.ts');
  const { ensureAdminPassphraseHash } = await import('../../kernel/src/auth/admin-passphrase.ts');
  const { serve } = await import('../../kernel/src/boot/serve.ts');
  // serve() would generate the admin passphrase itself; doing it first times it alone (serve then finds the hash).
  t0 = performance.now();
  await ensureAdminPassphraseHash(config.storage, config.admin.passphraseHash);
  lap('admin passphrase hash (fresh storage: generate + scrypt)');
  const server = await serve(config, { env });
  lap('serve(): Kernel.boot (plugins, Fastify app), admin server, listen x2');
  await server.ready;
  lap('kernel.start (store, instances, plugins)');
  const total = process.uptime() * 1000;
  await server.close();

  console.log('\nPhases of a `cozy serve` start (one run, in process; cwd must be the repository root)\n');
  console.log(table(['phase', 'ms'], [...phases.map(([k, v]) => [k, fmt(v, 0)]), ['total (process uptime)', fmt(total, 0)]]));
  printJson('startup-phases', { phases: Object.fromEntries(phases), totalMs: total });
} finally {
  await rm(dir, { recursive: true, force: true });
}
