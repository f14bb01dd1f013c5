import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startWebdav } from './helpers.ts';

const run = promisify(execFile);

t.test('litmus passes all five suites (104 tests) against /dav/files with a device password', async (t) => {
  const env = await startWebdav(t);
  const out = await mkdtemp(join(tmpdir(), 'litmus-webdav-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const script = join(import.meta.dirname, 'litmus_summary.sh');
  const { stdout } = await run('bash', [script, env.url, 'me', env.password], { env: { ...process.env, LITMUS_OUT: out }, timeout: 100_000 })
    .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }));
  const summary = stdout.trim().split('\n').pop();
  t.equal(summary, '104 passed, 0 failed, 0 skipped', stdout);
  t.notMatch(stdout, /WARNING/, 'no litmus warnings');
});
