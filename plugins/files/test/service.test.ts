import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import t from 'tap';
import { FilesErrors, ROOT_DIR_ID, TRASH_DIR_ID, isDir, isFile, type FileDoc } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const body = (s: string) => Readable.from([Buffer.from(s)]);

/** The FILES capability as WebDAV and import/export use it, without HTTP. */
t.test('the VFS service', async (t) => {
  const { files, inst } = await setup(t);
  const root = ROOT_DIR_ID;
  const code = (c: { code: string }) => ({ code: c.code });

  await t.test('creates from streams, stats by id and path, reads ranges', async (t) => {
    const dir = await files.createDir(inst, { dirId: root, name: 'svc' });
    const f = await files.createFile(inst, { dirId: dir._id, name: 'a.md', size: 10 }, body('0123456789'));
    t.equal(f.mime, 'text/markdown', 'the type comes from the name when none is given');
    t.equal((await files.statByPath(inst, '/svc/a.md'))._id, f._id);
    t.equal((await files.statByPath(inst, '/svc/'))._id, dir._id, 'a trailing slash names the directory');
    t.equal(await files.pathOf(inst, f), '/svc/a.md');
    const part = await files.read(inst, f._id, { start: 2, end: 4 });
    t.same([part.start, part.end, part.size], [2, 4, 10]);
    t.equal(await text(part.stream), '234');
    await t.rejects(files.read(inst, f._id, { start: 10 }), code(FilesErrors.badRange));
    await t.rejects(files.read(inst, dir._id), code(FilesErrors.notFound));
    await t.rejects(files.createFile(inst, { dirId: dir._id, name: 'b.txt', size: 5 }, body('abc')), code(FilesErrors.sizeMismatch));
    await t.rejects(files.statByPath(inst, '/svc/b.txt'), code(FilesErrors.notFound), 'nothing left by the mismatch');
    await t.rejects(files.statByPath(inst, 'svc'), code(FilesErrors.badPath));
    t.ok(await files.isInside(inst, f._id, dir._id));
    t.notOk(await files.isInside(inst, dir._id, f._id));
  });

  await t.test('lists pages with a cursor, walks a subtree parents first', async (t) => {
    const dir = await files.createDir(inst, { dirId: root, name: 'pages' });
    const sub = await files.createDir(inst, { dirId: dir._id, name: 'z-sub' });
    for (let i = 0; i < 7; i++) await files.createFile(inst, { dirId: dir._id, name: `f${i}.txt` }, body(String(i)));
    await files.createFile(inst, { dirId: sub._id, name: 'deep.txt' }, body('d'));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await files.listDir(inst, dir._id, { limit: 3, cursor });
      t.equal(page.count, 8);
      seen.push(...page.docs.map((d) => d.name));
      cursor = page.next;
    } while (cursor);
    t.same(seen, ['z-sub', 'f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt', 'f6.txt'], 'directories first, then by name');
    const walked: string[] = [];
    for await (const e of files.walk(inst, dir._id)) walked.push(e.path);
    t.ok(walked.indexOf('/pages/z-sub') < walked.indexOf('/pages/z-sub/deep.txt'));
    t.equal(walked.length, 9);
  });

  await t.test('moves with replace, and copies directories with what they hold', async (t) => {
    const dir = await files.createDir(inst, { dirId: root, name: 'replace' });
    const a = await files.createFile(inst, { dirId: dir._id, name: 'a.txt' }, body('A'));
    const b = await files.createFile(inst, { dirId: dir._id, name: 'b.txt' }, body('B'));
    await t.rejects(files.update(inst, a._id, { name: 'b.txt' }), code(FilesErrors.nameTaken));
    const moved = await files.update(inst, a._id, { name: 'b.txt' }, { replace: 'trash' });
    t.equal(moved.name, 'b.txt');
    const old = await files.stat(inst, b._id);
    t.equal(old.dir_id, TRASH_DIR_ID, 'the replaced entry went to the trash');
    const c = await files.createFile(inst, { dirId: dir._id, name: 'c.txt' }, body('C'));
    await files.update(inst, c._id, { name: 'b.txt' }, { replace: 'destroy' });
    await t.rejects(files.stat(inst, moved._id), code(FilesErrors.notFound), 'the replaced entry was destroyed');
    const sub = await files.createDir(inst, { dirId: dir._id, name: 'sub' });
    await files.createFile(inst, { dirId: sub._id, name: 'in.txt' }, body('inside'));
    const copy = await files.copy(inst, sub._id, { dirId: root, name: 'sub-copy' });
    t.ok(isDir(copy));
    const inner = await files.statByPath(inst, '/sub-copy/in.txt');
    t.ok(isFile(inner));
    t.equal(await text((await files.read(inst, inner._id)).stream), 'inside');
    await t.rejects(files.copy(inst, dir._id, { dirId: sub._id }), code(FilesErrors.forbiddenMove), 'not into itself');
  });

  await t.test('overwrites through the service keep the id and honour ifMatch', async (t) => {
    const dir = await files.createDir(inst, { dirId: root, name: 'over' });
    const f = await files.createFile(inst, { dirId: dir._id, name: 'o.txt' }, body('v1'));
    await t.rejects(files.overwriteFile(inst, f._id, {}, body('nope'), { ifMatch: '1-stale' }), code(FilesErrors.revMismatch));
    const next = await files.overwriteFile(inst, f._id, { updatedAt: new Date('2030-01-01T00:00:00Z') }, body('v2'), { ifMatch: f._rev });
    t.equal(next._id, f._id);
    t.equal(next.updated_at, '2030-01-01T00:00:00.000Z');
    t.equal(await text((await files.read(inst, f._id)).stream), 'v2');
    const both = await Promise.allSettled([
      files.overwriteFile(inst, f._id, {}, body('x'), { ifMatch: next._rev }),
      files.overwriteFile(inst, f._id, {}, body('y'), { ifMatch: next._rev }),
    ]);
    t.same(both.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'two writers on one revision: one wins');
  });

  await t.test('trash, restore and destroy keep the trash flags of what is inside', async (t) => {
    const dir = await files.createDir(inst, { dirId: root, name: 'flags' });
    const f = await files.createFile(inst, { dirId: dir._id, name: 'x.txt' }, body('x'));
    await files.trash(inst, dir._id);
    t.equal(((await files.stat(inst, f._id)) as FileDoc & { trashed: boolean }).trashed, true, 'files inside a trashed directory are trashed');
    await t.rejects(files.trash(inst, dir._id), code(FilesErrors.alreadyTrashed));
    await files.restore(inst, dir._id);
    t.equal(((await files.stat(inst, f._id)) as FileDoc & { trashed: boolean }).trashed, false);
    await t.rejects(files.restore(inst, dir._id), code(FilesErrors.notTrashed));
    await t.rejects(files.destroy(inst, ROOT_DIR_ID), code(FilesErrors.forbidden));
    const usageBefore = await files.diskUsage(inst);
    await files.destroy(inst, dir._id);
    await t.rejects(files.stat(inst, f._id), code(FilesErrors.notFound));
    const usageAfter = await files.diskUsage(inst);
    t.equal(usageAfter.files, usageBefore.files - 1, 'the usage follows');
  });
});
