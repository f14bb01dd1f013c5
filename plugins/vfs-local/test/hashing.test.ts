import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { VfsErrors } from '@cozy-ts/kernel';
import { TempFileWriter } from '../src/content-writer.ts';
import { InstanceArea } from '../src/instance-area.ts';
import { Md5Pool } from '../src/md5-pool.ts';
import { createTemporary } from '../src/temporaries.ts';
import { newRef, put, sandbox } from './helpers.ts';

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest();

/** `data` cut into chunks of the given sizes, cycling: chunk edges fall anywhere relative to the writer's slices. */
function chunked(data: Buffer, sizes: number[]): Readable {
  return Readable.from((function* () {
    let i = 0;
    for (let at = 0; at < data.length; i++) {
      const n = sizes[i % sizes.length] as number;
      yield data.subarray(at, at + n);
      at += n;
    }
  })());
}

async function writeThrough(t: Test, body: Readable, limits = {}) {
  const s = await sandbox(t);
  const placed: string[] = [];
  const writer = new TempFileWriter({
    temporary: await createTemporary(new InstanceArea(s.area)), limits, fsync: true,
    place: async (p) => (placed.push(p), false),
  });
  await pipeline(body, writer);
  const info = await writer.commit();
  return { info, content: await readFile(placed[0] as string) };
}

t.test('bodies around and across the slice size keep every byte in order and the right MD5', async (t) => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 4 * MiB, 4 * MiB + 12_345, 9 * MiB + 7]) {
    const data = randomBytes(size);
    const { info, content } = await writeThrough(t, chunked(data, [65_536, 1, 300_001, 2 * MiB + 3]));
    t.equal(info.size, size, `${size} bytes: size`);
    t.same(info.md5, md5(data), `${size} bytes: md5`);
    t.ok(content.equals(data), `${size} bytes: content`);
  }
});

t.test('an announced small size and an unannounced one hash alike', async (t) => {
  const data = randomBytes(200_000);
  const announced = await writeThrough(t, chunked(data, [65_536]), { expectedSize: data.length, expectedMd5: md5(data) });
  t.same(announced.info.md5, md5(data));
  const unannounced = await writeThrough(t, chunked(data, [65_536]));
  t.same(unannounced.info.md5, md5(data));
});

t.test('a wrong Content-MD5 on a body hashed by the worker is refused and nothing is placed', async (t) => {
  const s = await sandbox(t);
  const data = randomBytes(3 * MiB + 5);
  const wrong = md5(Buffer.concat([data, Buffer.from('x')]));
  const ref = newRef('/wrong.bin');
  await t.rejects(put(s.vfs, s.inst, ref, data, { expectedMd5: wrong }), { code: VfsErrors.md5Mismatch.code, status: 412 });
  await t.rejects(s.vfs.read(s.inst, ref), { code: VfsErrors.notFound.code });
  const ok = await put(s.vfs, s.inst, newRef('/right.bin'), data, { expectedMd5: md5(data), expectedSize: data.length });
  t.same(ok.md5, md5(data), 'the right one is accepted');
});

t.test('concurrent uploads share the hashing workers without mixing their hashes', async (t) => {
  const s = await sandbox(t);
  const bodies = Array.from({ length: 5 }, (_, i) => randomBytes(2 * MiB + i * 999));
  const infos = await Promise.all(bodies.map((b, i) => put(s.vfs, s.inst, newRef(`/c${i}.bin`), b, { expectedMd5: md5(b) })));
  infos.forEach((info, i) => t.same(info.md5, md5(bodies[i] as Buffer), `upload ${i}`));
});

t.test('an aborted upload cancels its hash; the next upload is hashed right', async (t) => {
  const s = await sandbox(t);
  const writer = await s.vfs.createWriter(s.inst, newRef('/gone.bin'));
  const half = randomBytes(3 * MiB);
  await new Promise<void>((resolve) => writer.write(half, () => resolve()));
  await writer.abort();
  await t.rejects(writer.commit(), { code: VfsErrors.writerClosed.code });
  const data = randomBytes(2 * MiB + 1);
  t.same((await put(s.vfs, s.inst, newRef('/next.bin'), data)).md5, md5(data));
});

t.test('the pool: a job gives the MD5 of its slices; a dead worker fails its jobs, the next job gets a new one', async (t) => {
  const pool = new Md5Pool(1);
  t.teardown(() => pool.close());
  const shared = Buffer.from(new SharedArrayBuffer(1000));
  randomBytes(1000).copy(shared);
  const job = pool.start();
  await job.update(shared.subarray(0, 400));
  await job.update(shared.subarray(400));
  t.same(await job.digest(), md5(shared));

  const pending = pool.start();
  const closing = pool.close();
  await t.rejects(Promise.all([pending.update(shared), pending.digest()]), 'a job of a terminated worker rejects rather than hanging');
  await closing;

  const again = pool.start();
  await again.update(shared);
  t.same(await again.digest(), md5(shared));
});

t.test('a process whose last upload is done exits by itself: an idle hashing worker does not hold it', async (t) => {
  const s = await sandbox(t);
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'upload-and-exit.ts'), s.root], {
    cwd: resolve(here, '../../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  t.equal(signal, null, 'not killed by the timeout');
  t.equal(code, 0);
  t.equal(out.trim(), `MD5 ${md5(Buffer.alloc(3 * MiB + 1, 'e')).toString('hex')}`, 'the MD5 came from the worker before the exit');
});
