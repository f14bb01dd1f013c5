import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startMemoryServer } from './memory-server.ts';

const run = promisify(execFile);

t.test('litmus passes all 104 tests against the core with the in-memory backend', async (t) => {
  const { app, url } = await startMemoryServer();
  t.teardown(() => app.close());
  const out = await mkdtemp(join(tmpdir(), 'litmus-core-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const script = join(import.meta.dirname, 'litmus_summary.sh');
  const { stdout } = await run('bash', [script, url], { env: { ...process.env, LITMUS_OUT: out }, timeout: 60_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }));
  const summary = stdout.trim().split('\n').pop();
  t.equal(summary, '104 passed, 0 failed, 0 skipped', stdout);
  t.notMatch(stdout, /WARNING/, 'no litmus warnings');
});
