import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const run = promisify(execFile);

/**
 * A tmpfs of `sizeMiB` mounted on a fresh folder, unmounted and removed when `t` ends: a real full disk for
 * storage backends. Null when this machine will not mount one (not root, or a container without CAP_SYS_ADMIN);
 * callers then skip with a reason.
 */
export async function mountTinyDisk(t: Test, sizeMiB = 1): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-tiny-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir]);
  } catch {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  t.teardown(async () => {
    await run('umount', [dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Every file under a folder, as sorted relative paths: what a test compares before and after a failure. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}
