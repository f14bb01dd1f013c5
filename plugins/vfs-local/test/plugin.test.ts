import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { VFS, type VfsContent } from '@cozy-ts/kernel';
import { startTestKernel } from '@cozy-ts/kernel/testing';
import { newRef, put, text } from './helpers.ts';

const PLUGIN = '@cozy-ts/plugin-vfs-local';

async function boot(t: Test, config: Record<string, unknown>) {
  const tk = await startTestKernel({ config: { plugins: { [PLUGIN]: config } } });
  t.teardown(() => tk.close());
  return { tk, vfs: tk.kernel.container.resolve<VfsContent>(VFS.token) };
}

async function folder(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-vfs-plugin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'files');
}

t.test('provides vfs, lays an instance folder down at creation and removes it at destruction', async (t) => {
  const root = await folder(t);
  const { tk, vfs } = await boot(t, { root });
  t.equal(vfs.kind, 'local');
  const inst = await tk.createInstance('alice.example');
  t.same((await readdir(join(root, 'alice.example'))).sort(), ['.cozy_tmp', '.cozy_trash']);
  const ref = newRef('/hello.txt');
  await put(vfs as never, inst, ref, 'hello');
  t.equal(await text(vfs.read(inst, ref)), 'hello');
  await tk.kernel.instances.destroy('alice.example');
  await t.rejects(stat(join(root, 'alice.example')), { code: 'ENOENT' }, 'the folder is gone with the instance');
});

t.test('start() removes the temporaries a crashed process left, and /status reports the storage', async (t) => {
  const root = await folder(t);
  const leftover = join(root, 'bob.example', '.cozy_tmp');
  await mkdir(leftover, { recursive: true });
  // pid 2^22 + 1 is above Linux's pid_max: no process can own it.
  await writeFile(join(leftover, `${2 ** 22 + 1}-deadbeef`), 'half an upload');
  const { tk } = await boot(t, { root, fsync: false });
  t.same(await readdir(leftover), [], 'cleaned at start-up');
  const check = tk.kernel.healthChecks().find((c) => c.name === 'fs');
  t.ok(check, 'a health check is registered under cozy-stack\'s `fs` key');
  t.match(await check?.run(), { status: /^(ok|degraded)$/ });
  const together = await Promise.all(Array.from({ length: 20 }, () => check?.run()));
  t.same(together.filter((r) => r?.status === 'down'), [], 'twenty checks at once: none races another on the probe file');
  await rm(root, { recursive: true });
  await writeFile(root, 'not a folder');
  t.match(await check?.run(), { status: 'down' }, 'down when the root is not a writable folder');
  await rm(root);
});

t.test('refuses an invalid config before any plugin code runs', async (t) => {
  await t.rejects(startTestKernel({ config: { plugins: { [PLUGIN]: { root: '' } } } }), /root/);
  await t.rejects(startTestKernel({ config: { plugins: { [PLUGIN]: { root: '/x', nope: 1 } } } }), /nope|additional/i);
});

t.test('without a root, files live in the kernel storage folder beside the embedded store', async (t) => {
  const { tk } = await boot(t, {});
  await tk.createInstance('carol.example');
  t.same((await readdir(join(tk.dir, 'files', 'carol.example'))).sort(), ['.cozy_tmp', '.cozy_trash']);
});
