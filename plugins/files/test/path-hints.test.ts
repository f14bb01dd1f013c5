import { Readable } from 'node:stream';
import t from 'tap';
import { ROOT_DIR_ID, type FileDoc, type InstanceRef } from '@cozy-ts/kernel';
import { PathHints } from '../src/vfs/path-hints.ts';
import { twoFilesProcesses } from './helpers.ts';

const body = (text: string) => Readable.from([Buffer.from(text)]);

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { status?: number }).status ?? 500;
  }
}

t.test('path lookups never serve what another process changed (two processes, one store)', async (t) => {
  const { inst, one, two } = await twoFilesProcesses(t, 'hints.example');
  // Each lookup through process 1 first, so that its hints hold the old places before process 2 changes them.
  const seen = async (path: string): Promise<FileDoc> => one.statByPath(inst, path);

  const a = await two.createDir(inst, { dirId: ROOT_DIR_ID, name: 'a' });
  const b = await two.createDir(inst, { dirId: a._id, name: 'b' });
  const f = await two.createFile(inst, { dirId: b._id, name: 'f.txt' }, body('first'));
  t.equal((await seen('/a/b/f.txt'))._id, f._id);
  t.equal((await seen('/a/b'))._id, b._id);

  await t.test('a file renamed elsewhere', async (t) => {
    await two.update(inst, f._id, { name: 'g.txt' });
    t.equal(await status(seen('/a/b/f.txt')), 404, 'the old name is gone');
    t.equal((await seen('/a/b/g.txt'))._id, f._id);
    await two.update(inst, f._id, { name: 'f.txt' });
    t.equal((await seen('/a/b/f.txt'))._id, f._id);
  });

  await t.test('a file replaced by another of the same name (deleted, then created)', async (t) => {
    await two.destroy(inst, f._id);
    t.equal(await status(seen('/a/b/f.txt')), 404);
    const again = await two.createFile(inst, { dirId: b._id, name: 'f.txt' }, body('second'));
    const got = await seen('/a/b/f.txt');
    t.equal(got._id, again._id, 'the new file, not the hinted one');
    t.not(got._id, f._id);
  });

  await t.test('an ancestor renamed, and a new directory at its old path', async (t) => {
    const before = await seen('/a/b/f.txt');
    await two.update(inst, a._id, { name: 'a2' });
    t.equal(await status(seen('/a/b/f.txt')), 404, 'the file is not under /a any more');
    t.equal(await status(seen('/a/b')), 404);
    t.equal(await status(seen('/a')), 404);
    t.equal((await seen('/a2/b/f.txt'))._id, before._id);
    const newA = await two.createDir(inst, { dirId: ROOT_DIR_ID, name: 'a' });
    const newB = await two.createDir(inst, { dirId: newA._id, name: 'b' });
    t.equal((await seen('/a'))._id, newA._id);
    t.equal((await seen('/a/b'))._id, newB._id);
    t.equal(await status(seen('/a/b/f.txt')), 404, 'the new /a/b is empty');
    const other = await two.createFile(inst, { dirId: newB._id, name: 'f.txt' }, body('third'));
    t.equal((await seen('/a/b/f.txt'))._id, other._id);
    t.equal((await seen('/a2/b/f.txt'))._id, before._id, 'the moved one is still found at its new place');
  });

  await t.test('a directory moved into another one, a file trashed, a file overwritten', async (t) => {
    const c = await two.createDir(inst, { dirId: ROOT_DIR_ID, name: 'c' });
    const inC = await two.createFile(inst, { dirId: c._id, name: 'x.txt' }, body('x'));
    const x = await two.createFile(inst, { dirId: ROOT_DIR_ID, name: 'x.txt' }, body('root x'));
    t.equal((await seen('/c/x.txt'))._id, inC._id);
    t.equal((await seen('/x.txt'))._id, x._id);
    const target = await seen('/a2');
    await two.update(inst, c._id, { dirId: target._id });
    t.equal(await status(seen('/c/x.txt')), 404);
    t.equal(await status(seen('/c')), 404);
    t.equal((await seen('/a2/c/x.txt'))._id, inC._id);

    await two.trash(inst, x._id);
    t.equal(await status(seen('/x.txt')), 404, 'a trashed file is not at its path');

    const before = await seen('/a2/c/x.txt');
    const after = await two.overwriteFile(inst, inC._id, {}, body('new content'));
    const got = await seen('/a2/c/x.txt');
    t.equal(got._rev, after._rev, 'the current revision, not the one seen before');
    t.not(got._rev, before._rev);
    t.equal(got.type === 'file' ? got.md5sum : '', after.md5sum);
    await two.update(inst, inC._id, { tags: ['fresh'] });
    t.same((await seen('/a2/c/x.txt')).tags, ['fresh'], 'metadata changed elsewhere is seen at once');
  });
});

t.test('PathHints forgets the least recently used hint first, per instance', async (t) => {
  const hints = new PathHints(3);
  const i1 = { domain: 'one.example', prefix: 'p1' } as InstanceRef;
  const i2 = { domain: 'two.example', prefix: 'p2' } as InstanceRef;
  hints.set(i1, '/a', 'A', true);
  hints.set(i2, '/a', 'B', false);
  t.same(hints.get(i1, '/a'), { id: 'A', dir: true });
  t.same(hints.get(i2, '/a'), { id: 'B', dir: false }, 'instances do not share hints');
  hints.set(i1, '/b', 'C', false);
  t.same(hints.get(i1, '/a'), { id: 'A', dir: true }, 'used: now the most recent');
  hints.set(i1, '/c', 'D', false);
  t.equal(hints.size, 3);
  t.equal(hints.get(i2, '/a'), undefined, 'the least recently used went out');
  hints.drop(i1, '/a');
  t.equal(hints.get(i1, '/a'), undefined);
});

t.test('readFound reads a looked-up file where it was found, and never another file', async (t) => {
  const { inst, one, two } = await twoFilesProcesses(t, 'found.example');
  const read = async (p: Promise<{ stream: Readable }>) => {
    const chunks: Buffer[] = [];
    for await (const c of (await p).stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  const d = await two.createDir(inst, { dirId: ROOT_DIR_ID, name: 'd' });
  const f = await two.createFile(inst, { dirId: d._id, name: 'f.txt' }, body('hello'));
  t.equal(await read(one.readFound(inst, await one.statByPath(inst, '/d/f.txt'))), 'hello');
  t.equal(await read(one.readFound(inst, await one.statByPath(inst, '/d/f.txt'), { start: 1, end: 3 })), 'ell', 'a range');
  t.equal(await read(one.readFound(inst, await one.stat(inst, f._id))), 'hello', 'a doc from elsewhere: its path is looked up');

  const found = await one.statByPath(inst, '/d/f.txt');
  await two.update(inst, f._id, { name: 'moved.txt' });
  const other = await two.createFile(inst, { dirId: d._id, name: 'elsewhere.txt' }, body('not this one'));
  t.equal(await status(one.readFound(inst, found)), 404, 'moved since the lookup: not found, as a GET racing the move');
  t.equal(await status(one.readFound(inst, await one.statByPath(inst, '/d'))), 404, 'a directory has no content');
  t.equal(await read(one.readFound(inst, await one.statByPath(inst, '/d/moved.txt'))), 'hello');
  t.equal(await read(one.read(inst, other._id)), 'not this one');
});
