import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { VfsErrors } from '@cozy-ts/kernel';
import { newRef, put, sandbox, text } from './helpers.ts';

const MiB = 1024 * 1024;

async function bytes(stream: Promise<NodeJS.ReadableStream>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

t.test('a read buffers no more than the bytes it serves, up to 1 MiB', async (t) => {
  const s = await sandbox(t);
  const small = newRef('/small.bin');
  const smallBody = randomBytes(8 * 1024);
  await put(s.vfs, s.inst, small, smallBody);
  // Each fs read allocates a whole highWaterMark: 1 MiB per 8 KiB file put V8 into back-to-back full collections
  // under a stream of small downloads, for the external memory alone.
  const stream = await s.vfs.read(s.inst, small);
  t.ok(stream.readableHighWaterMark <= smallBody.length, `an 8 KiB file is read with an 8 KiB buffer (${stream.readableHighWaterMark})`);
  t.same(await bytes(Promise.resolve(stream)), smallBody);

  const big = newRef('/big.bin');
  const bigBody = randomBytes(3 * MiB + 5);
  await put(s.vfs, s.inst, big, bigBody);
  const bigStream = await s.vfs.read(s.inst, big);
  t.equal(bigStream.readableHighWaterMark, MiB, 'a big file still reads 1 MiB at a time');
  t.same(await bytes(Promise.resolve(bigStream)), bigBody);

  const ranged = await s.vfs.read(s.inst, big, { start: 10, end: 109 });
  t.ok(ranged.readableHighWaterMark <= 100);
  t.same(await bytes(Promise.resolve(ranged)), bigBody.subarray(10, 110), 'a range serves its bytes');
  t.same(await bytes(s.vfs.read(s.inst, big, { start: 3 * MiB })), bigBody.subarray(3 * MiB), 'an open-ended range reaches the end');
});

t.test('an empty content reads as nothing and leaves no descriptor open', async (t) => {
  const s = await sandbox(t);
  const empty = newRef('/empty.txt');
  await put(s.vfs, s.inst, empty, '');
  const before = (await readdir('/proc/self/fd')).length;
  const reads: string[] = [];
  for (let i = 0; i < 50; i++) reads.push(await text(s.vfs.read(s.inst, empty)));
  t.same(new Set(reads), new Set(['']), 'empty, every time');
  t.ok((await readdir('/proc/self/fd')).length <= before + 2, 'no descriptor leaked by 50 reads');
  await t.rejects(s.vfs.read(s.inst, empty, { start: 0 }), { code: VfsErrors.badRange.code }, 'no byte of an empty content is a range to serve');
});
