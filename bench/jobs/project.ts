import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/processes.ts';
import type { Cleanup } from '../lib/report.ts';

/** A project folder with the kernel and the jobs plugin linked, and a plugin registering globalThis.__jobsBenchWorkers. */
export async function makeProjectDir(cleanup: Cleanup): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-bench-project-'));
  cleanup.dir(dir);
  await mkdir(join(dir, 'node_modules', '@cozy-ts'), { recursive: true });
  await symlink(join(repoRoot, 'kernel'), join(dir, 'node_modules', '@cozy-ts', 'kernel'), 'dir');
  await symlink(join(repoRoot, 'plugins', 'jobs'), join(dir, 'node_modules', '@cozy-ts', 'plugin-jobs'), 'dir');
  const pdir = join(dir, 'node_modules', 'bench-workers');
  await mkdir(pdir);
  await writeFile(join(pdir, 'package.json'), JSON.stringify({ name: 'bench-workers', version: '1.0.0', type: 'module', main: 'index.js' }));
  await writeFile(
    join(pdir, 'index.js'),
    `const JOBS = { id: 'jobs', version: '1.0.0', token: Symbol.for('cozy-ts.capability.jobs') };
export default {
  manifest: { id: 'bench-workers', name: 'bench-workers', version: '1.0.0', kernel: '^1.0.0', requires: [{ capability: JOBS, range: '^1.0.0' }] },
  register(ctx) { for (const [t, d] of Object.entries(globalThis.__jobsBenchWorkers ?? {})) ctx.use(JOBS).registerWorker(t, d); },
};
`,
  );
  return dir;
}
