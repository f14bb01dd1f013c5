import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { VfsErrors, type StoredEntry } from '@cozy-ts/kernel';
import { LocalVfs } from '../src/local-vfs.ts';
import { newRef, put, sandbox, text } from './helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'upload-and-hang.ts');
const repoRoot = resolve(here, '../../..');

/** Resolves when the child prints `line`; rejects if it exits first. */
function printed(child: ReturnType<typeof spawn>, line: string): Promise<void> {
  return new Promise((resolvePrinted, reject) => {
    let out = '';
    (child.stdout as Readable).on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(line)) resolvePrinted();
    });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before printing ${line}`)));
  });
}

t.test('an upload and an overwrite killed with SIGKILL mid-write leave no partial content, and cleanup removes their temporaries', async (t) => {
  const s = await sandbox(t);
  const existing = newRef('/existing.txt');
  await put(s.vfs, s.inst, existing, 'old content');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, s.root, s.inst.domain, '/partial.bin', JSON.stringify(existing)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  await printed(child, 'WRITING');
  t.equal(await s.vfs.cleanupTemporaries(s.inst), 0, "another live process's temporaries are spared");

  child.kill('SIGKILL');
  await once(child, 'exit');
  const tmp = join(s.area, '.cozy_tmp');
  const left = await readdir(tmp);
  t.equal(left.length, 2, 'the killed process left its two temporaries');
  for (const name of left) t.ok((await stat(join(tmp, name))).size >= 1024 * 1024, `${name} holds what was written`);

  const err = await s.vfs.read(s.inst, newRef('/partial.bin')).catch((e: unknown) => e);
  t.match(err, { code: VfsErrors.notFound.code }, 'no partial file is visible');
  t.equal(await text(s.vfs.read(s.inst, existing)), 'old content', 'the overwritten file still has its old content');
  t.match(await s.vfs.readVersion(s.inst, existing).catch((e: unknown) => e), { code: VfsErrors.notFound.code }, 'and no version was made');
  const entries: StoredEntry[] = [];
  for await (const e of s.vfs.walk(s.inst)) entries.push(e);
  t.same(entries.filter((e) => e.kind !== 'dir').map((e) => ('path' in e ? e.path : e.kind)), ['/existing.txt'], 'the walk shows only the old file');

  // What the plugin's start() does after a crash.
  const restarted = new LocalVfs({ root: s.root });
  t.equal(await restarted.cleanupAllTemporaries(), 2, 'the restart removes both temporaries');
  t.same(await readdir(tmp), [], 'no temporary is left');
  await put(restarted, s.inst, newRef('/partial.bin'), 'retried', { expectedSize: 7 });
  t.equal(await text(restarted.read(s.inst, newRef('/partial.bin'))), 'retried', 'the upload can be retried');
});
