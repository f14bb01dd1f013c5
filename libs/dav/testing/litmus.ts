import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LitmusResult {
  /** The script's last line: `N passed, N failed, N skipped`. */
  summary: string;
  /** Everything it printed, failures and warnings included. */
  output: string;
}

/**
 * Runs the five litmus suites (Debian's `litmus`) against a writable collection URL ending in `/`, in a
 * temporary folder of its own (litmus writes a debug.log), and returns its summary line. Never throws on test
 * failures: the summary says them.
 */
export async function runLitmus(url: string, auth?: { user: string; password: string }, timeoutMs = 100_000): Promise<LitmusResult> {
  const out = await mkdtemp(join(tmpdir(), 'litmus-'));
  try {
    const script = join(import.meta.dirname, 'litmus_summary.sh');
    const args = [script, url, ...(auth ? [auth.user, auth.password] : [])];
    const { stdout } = await run('bash', args, { env: { ...process.env, LITMUS_OUT: out }, timeout: timeoutMs })
      .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }));
    return { summary: stdout.trim().split('\n').pop() ?? '', output: stdout };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
