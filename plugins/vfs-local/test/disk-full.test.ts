import { createHash } from 'node:crypto';
import { readFile, readdir, statfs, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import t, { type Test } from 'tap';
import { VfsErrors, newInternalId } from '@cozy-ts/kernel';
import { mountTinyDisk } from '@cozy-ts/kernel/testing';
import { TempFileWriter } from '../src/content-writer.ts';
import { InstanceArea } from '../src/instance-area.ts';
import { LocalVfs } from '../src/local-vfs.ts';
import { createTemporary } from '../src/temporaries.ts';
import { instanceRef, newRef, put, sandbox, text } from './helpers.ts';

const MiB = 1024 * 1024;

const body = (bytes: number) =>
  Readable.from((function* () {
    for (let sent = 0; sent < bytes; sent += 64 * 1024) yield Buffer.alloc(64 * 1024, 'z');
  })());

const noSpaceCode = { code: VfsErrors.noSpace.code, status: 507 };

const disk = await mountTinyDisk(t);
const noDisk = disk ? false : 'cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN); the injected failures below cover the same code';

t.test('a full disk (a real 1 MiB tmpfs) is 507 and leaves nothing half-written', { skip: noDisk }, async (t) => {
  if (!disk) return;
  const vfs = new LocalVfs({ root: join(disk, 'files') });
  const inst = instanceRef('alice.example');
  await vfs.initInstance(inst);
  const existing = newRef('/existing.txt');
  await put(vfs, inst, existing, 'old');
  const free = async () => (await statfs(disk)).bfree;
  const before = await free();

  const big = newRef('/big.bin');
  const writer = await vfs.createWriter(inst, big, { expectedSize: 2 * MiB });
  await t.rejects(pipeline(body(2 * MiB), writer), noSpaceCode, 'the upload fails with 507 while streaming');
  await t.rejects(writer.commit(), noSpaceCode, 'and the commit says so');
  await writer.abort();
  await t.rejects(vfs.read(inst, big), { code: VfsErrors.notFound.code }, 'no partial file');
  t.same(await readdir(join(disk, 'files', 'alice.example', '.cozy_tmp')), [], 'no temporary left');
  t.equal(await free(), before, 'the space is given back');

  const next = { ...existing, internalId: newInternalId() };
  const over = await vfs.createWriter(inst, next, { replaces: { internalId: existing.internalId, keepAsVersion: true } });
  await t.rejects(pipeline(body(2 * MiB), over), noSpaceCode, 'an overwrite fails with 507');
  await over.abort();
  t.equal(await text(vfs.read(inst, existing)), 'old', 'the old content is intact');
  await t.rejects(vfs.readVersion(inst, existing), { code: VfsErrors.notFound.code }, 'no version was made');

  const thumb = await vfs.createThumbnailWriter(inst, existing.id, 'large');
  await t.rejects(pipeline(body(2 * MiB), thumb), noSpaceCode, 'a thumbnail fails with 507 too');
  await t.rejects(vfs.readThumbnail(inst, existing.id, 'large'), { code: VfsErrors.notFound.code });

  await put(vfs, inst, newRef('/small.txt'), 'still works');
  t.equal(await free(), before - 1, 'a small upload still fits afterwards');
});

/** A temporary whose file handle fails the way a full disk does. */
async function failingTemporary(t: Test, fail: { writeAfter?: number; sync?: boolean; datasync?: boolean; maxPerWrite?: number }) {
  const s = await sandbox(t);
  const area = new InstanceArea(s.area);
  const temporary = await createTemporary(area);
  let written = 0;
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
  const handle = new Proxy(temporary.handle, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return async (buffer: Buffer, offset: number, length: number, position: number) => {
          if (fail.writeAfter !== undefined && written >= fail.writeAfter) throw enospc();
          const res = await target.write(buffer, offset, Math.min(length, fail.maxPerWrite ?? length), position);
          written += res.bytesWritten;
          return res;
        };
      }
      if (prop === 'writev') throw new Error('the writer is expected to write slices with write(), at explicit positions');
      if (prop === 'sync' && fail.sync) return async () => Promise.reject(enospc());
      if (prop === 'datasync' && fail.datasync) return async () => Promise.reject(enospc());
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as FileHandle;
  const tmpFiles = () => readdir(area.tmpDir);
  return { temporary: { ...temporary, handle }, tmpFiles, area };
}

const noPlace = async () => {
  throw new Error('must not be placed');
};

t.test('ENOSPC in the middle of a body is 507 at once, and the temporary goes', async (t) => {
  const { temporary, tmpFiles } = await failingTemporary(t, { writeAfter: 128 * 1024 });
  const writer = new TempFileWriter({ temporary, limits: {}, fsync: true, place: noPlace });
  // Several writes whatever the batching (one 1 MiB slice each): the failure comes mid-body.
  await t.rejects(pipeline(body(4 * MiB), writer), noSpaceCode);
  await t.rejects(writer.commit(), noSpaceCode);
  await writer.abort();
  t.same(await tmpFiles(), []);
});

t.test('ENOSPC when flushing (delayed allocation) is 507 at commit, and the temporary goes', async (t) => {
  const { temporary, tmpFiles } = await failingTemporary(t, { sync: true });
  const writer = new TempFileWriter({ temporary, limits: {}, fsync: true, place: noPlace });
  await t.rejects(pipeline(body(MiB), writer), noSpaceCode);
  await t.rejects(writer.commit(), noSpaceCode);
  t.same(await tmpFiles(), []);
});

t.test('ENOSPC met by a background writeback (a long body) still fails the commit, and the temporary goes', async (t) => {
  // Linux reports a writeback error to one sync only: the one the writer started in the background must count.
  const { temporary, tmpFiles } = await failingTemporary(t, { datasync: true });
  const writer = new TempFileWriter({ temporary, limits: {}, fsync: true, place: noPlace });
  await t.rejects(pipeline(body(40 * MiB), writer), noSpaceCode);
  await t.rejects(writer.commit(), noSpaceCode);
  t.same(await tmpFiles(), []);
});

t.test('partial writes are completed: every byte lands, in order', async (t) => {
  const { temporary, area } = await failingTemporary(t, { maxPerWrite: 1000 });
  const placed: string[] = [];
  const writer = new TempFileWriter({ temporary, limits: { expectedSize: 300_000 }, fsync: false, place: async (p) => (placed.push(p), false) });
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  await pipeline(Readable.from([data.subarray(0, 100_000), data.subarray(100_000, 250_000), data.subarray(250_000)]), writer);
  const info = await writer.commit();
  t.equal(info.size, 300_000);
  t.same(info.md5, createHash('md5').update(data).digest());
  t.same(await readFile(placed[0]), data);
  t.ok(placed[0].startsWith(area.tmpDir));
});

t.test('a disk that accepts no byte without saying why is 507, not a busy loop', async (t) => {
  const { temporary, tmpFiles } = await failingTemporary(t, { maxPerWrite: 0 });
  const writer = new TempFileWriter({ temporary, limits: {}, fsync: false, place: noPlace });
  await t.rejects(pipeline(Readable.from([Buffer.from('abc')]), writer), noSpaceCode);
  await writer.abort();
  t.same(await tmpFiles(), []);
});

t.test('a failure to place the content removes the temporary and reports the failure', async (t) => {
  const s = await sandbox(t);
  const area = new InstanceArea(s.area);
  const writer = new TempFileWriter({ temporary: await createTemporary(area), limits: {}, fsync: false, place: noPlace });
  writer.end('content');
  await t.rejects(writer.commit(), /must not be placed/);
  t.same(await readdir(area.tmpDir), []);
  await writeFile(join(area.tmpDir, 'not-ours'), 'junk');
  t.equal(await s.vfs.cleanupTemporaries(s.inst), 1, 'junk with a foreign name is removed by the cleanup');
});
