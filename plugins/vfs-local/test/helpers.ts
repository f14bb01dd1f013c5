import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Test } from 'tap';
import { newInternalId, type ContentInfo, type ContentRef, type InstanceRef, type WriteOptions } from '@cozy-ts/kernel';
import { LocalVfs } from '../src/local-vfs.ts';

export const instanceRef = (domain: string): InstanceRef => ({
  domain,
  prefix: `cozy${createHash('sha256').update(domain).digest('hex').slice(0, 32)}`,
});

export const newRef = (path: string): ContentRef => ({ id: randomBytes(16).toString('hex'), internalId: newInternalId(), path });

export async function put(vfs: LocalVfs, inst: InstanceRef, ref: ContentRef, body: string | Buffer, opts: WriteOptions = {}): Promise<ContentInfo> {
  const writer = await vfs.createWriter(inst, ref, opts);
  try {
    await pipeline(Readable.from([Buffer.from(body)]), writer);
    return await writer.commit();
  } finally {
    await writer.abort();
  }
}

export async function text(stream: Promise<Readable>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Every path under `dir` (links listed, never followed), relative and sorted. */
export async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((e) => relative(dir, join(dir, e))).sort();
}

export interface Sandbox {
  /** The test's folder: `root` (the vfs root) and `outside` (what no call may touch) are in it. */
  dir: string;
  root: string;
  outside: string;
  vfs: LocalVfs;
  inst: InstanceRef;
  /** The instance's folder on disk. */
  area: string;
}

export async function sandbox(t: Test, domain = 'alice.example'): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-vfs-local-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  await mkdir(outside);
  const vfs = new LocalVfs({ root });
  const inst = instanceRef(domain);
  await vfs.initInstance(inst);
  return { dir, root, outside, vfs, inst, area: join(root, domain) };
}
