import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { vfsContract } from '@cozy-ts/kernel/testing';
import { LocalVfs } from '../src/local-vfs.ts';

vfsContract(t, 'local', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cozy-vfs-'));
  return { vfs: new LocalVfs({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

// Without fsync the bytes reach the disk later; the rules must hold all the same.
vfsContract(t, 'local without fsync', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cozy-vfs-'));
  return { vfs: new LocalVfs({ root: join(root, 'nested', 'files'), fsync: false }), cleanup: () => rm(root, { recursive: true, force: true }) };
});
