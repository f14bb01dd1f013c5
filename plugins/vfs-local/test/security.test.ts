import { lstat, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { VfsErrors, isCozyError, newInternalId } from '@cozy-ts/kernel';
import { LocalVfs } from '../src/local-vfs.ts';
import { instanceRef, newRef, put, sandbox, text, tree, type Sandbox } from './helpers.ts';

type Kind = { code: string; status: number };

async function refused(t: Test, promise: Promise<unknown>, kind: Kind, what: string): Promise<void> {
  try {
    await promise;
    t.fail(`${what}: succeeded`);
  } catch (err) {
    t.ok(isCozyError(err), `${what}: a CozyError`);
    t.equal((err as { code?: string }).code, kind.code, `${what}: ${kind.code}`);
  }
}

/** The user's entries in the instance folder, without the layout's own folders. */
async function userEntries(s: Sandbox): Promise<string[]> {
  return (await tree(s.area)).filter((p) => !/^\.(cozy_|thumbs)/.test(p));
}

/** What lies outside the instance's folder, so a test can check that nothing there changed. */
async function outsideOfArea(s: Sandbox): Promise<string[]> {
  const prefix = `root/${s.inst.domain}`;
  return (await tree(s.dir)).filter((p) => p !== prefix && !p.startsWith(`${prefix}/`));
}

t.test('traversal in paths is refused before any I/O, and odd names stay literal names inside the instance', async (t) => {
  const s = await sandbox(t);
  await writeFile(join(s.outside, 'secret'), 'secret');
  const before = await outsideOfArea(s);
  const { vfs, inst } = s;
  const file = newRef('/file.txt');
  await put(vfs, inst, file, 'mine');
  const traversals = ['..', '/..', '/../outside/secret', '/a/../../outside/secret', '../outside/secret', 'outside/secret', '//outside/secret', '/./x', '/x/', '/x\0y', '/.cozy_tmp/x', '/.cozy_versions/../../outside'];
  for (const path of traversals) {
    const label = JSON.stringify(path);
    await refused(t, vfs.createWriter(inst, newRef(path)), VfsErrors.badPath, `write ${label}`);
    await refused(t, vfs.read(inst, newRef(path)), VfsErrors.badPath, `read ${label}`);
    await refused(t, vfs.createDir(inst, path), VfsErrors.badPath, `mkdir ${label}`);
    await refused(t, vfs.deleteDir(inst, path), VfsErrors.badPath, `rmdir ${label}`);
    await refused(t, vfs.deleteFile(inst, newRef(path)), VfsErrors.badPath, `delete ${label}`);
    await refused(t, vfs.moveFile(inst, file, path), VfsErrors.badPath, `move to ${label}`);
    await refused(t, vfs.renameDir(inst, '/x', path), VfsErrors.badPath, `rename dir to ${label}`);
  }
  // Already-decoded names: '%2e%2e' or a backslash are plain characters of a Linux file name.
  const literal = ['/%2e%2e', '/..%2f..%2foutside%2fsecret', '/..\\..\\outside\\secret', '/...', '/.. ', '/ ..'];
  for (const path of literal) await put(vfs, inst, newRef(path), `literal ${path}`);
  t.same(await userEntries(s), ['file.txt', ...literal.map((p) => p.slice(1))].sort(), 'each odd name is one file in the instance folder');
  await refused(t, vfs.createWriter(inst, newRef('/etc/passwd')), VfsErrors.parentNotFound, 'an absolute-looking path is inside the instance');
  t.same(await outsideOfArea(s), before, 'nothing was created outside the instance folder');
  t.equal(await readFile(join(s.outside, 'secret'), 'utf8'), 'secret');
});

t.test('a link planted in a directory of the tree is never followed', async (t) => {
  const s = await sandbox(t);
  const { vfs, inst } = s;
  await writeFile(join(s.outside, 'secret'), 'secret');
  await symlink(s.outside, join(s.area, 'evil'));
  const before = await outsideOfArea(s);
  const file = newRef('/mine.txt');
  await put(vfs, inst, file, 'mine');
  const through = { ...newRef('/evil/secret') };
  await refused(t, vfs.read(inst, through), VfsErrors.unsafePath, 'read through the link');
  await refused(t, vfs.stat(inst, through), VfsErrors.unsafePath, 'stat through the link');
  await refused(t, vfs.createWriter(inst, newRef('/evil/new')), VfsErrors.unsafePath, 'write through the link');
  await refused(t, vfs.createWriter(inst, through, { replaces: { internalId: newInternalId(), keepAsVersion: true } }), VfsErrors.unsafePath, 'overwrite through the link');
  await refused(t, vfs.createDir(inst, '/evil/sub'), VfsErrors.unsafePath, 'mkdir through the link');
  await refused(t, vfs.moveFile(inst, file, '/evil/moved'), VfsErrors.unsafePath, 'move through the link');
  await refused(t, vfs.moveFile(inst, through, '/stolen'), VfsErrors.unsafePath, 'move out through the link');
  await refused(t, vfs.renameDir(inst, '/evil', '/renamed'), VfsErrors.unsafePath, 'rename the link as a directory');
  await refused(t, vfs.deleteDir(inst, '/evil'), VfsErrors.unsafePath, 'rmdir the link');
  await refused(t, vfs.deleteFile(inst, through), VfsErrors.unsafePath, 'delete through the link');
  await refused(t, vfs.copyFile(inst, through, newRef('/copy')), VfsErrors.unsafePath, 'copy from the link');
  await refused(t, vfs.revertVersion(inst, through, { id: through.id, internalId: newInternalId() }), VfsErrors.unsafePath, 'revert through the link');
  const walked = [];
  for await (const e of vfs.walk(inst)) walked.push(e);
  t.notOk(walked.some((e) => 'path' in e && e.path.startsWith('/evil')), 'the walk does not enter the link');
  t.same(await outsideOfArea(s), before, 'nothing changed outside');
  t.equal(await readFile(join(s.outside, 'secret'), 'utf8'), 'secret');
});

t.test('a link planted as a file is refused for reads and overwrites, and only the link is deleted', async (t) => {
  const s = await sandbox(t);
  const { vfs, inst } = s;
  await writeFile(join(s.outside, 'secret'), 'secret');
  const link = newRef('/link.txt');
  await symlink(join(s.outside, 'secret'), join(s.area, 'link.txt'));
  await refused(t, vfs.read(inst, link), VfsErrors.unsafePath, 'read the link');
  await refused(t, vfs.stat(inst, link), VfsErrors.unsafePath, 'stat the link');
  await refused(t, vfs.readVersion(inst, link), VfsErrors.notFound, 'no version of it');
  await refused(t, put(vfs, inst, link, 'new'), VfsErrors.exists, 'a new file does not replace it');
  await refused(t, put(vfs, inst, { ...link, internalId: newInternalId() }, 'x', { replaces: { internalId: link.internalId, keepAsVersion: true } }), VfsErrors.unsafePath, 'an overwrite does not write through it');
  await refused(t, vfs.moveFile(inst, link, '/moved'), VfsErrors.unsafePath, 'it is not moved as a file');
  await vfs.deleteFile(inst, link);
  await t.rejects(lstat(join(s.area, 'link.txt')), { code: 'ENOENT' }, 'the link is gone');
  t.equal(await readFile(join(s.outside, 'secret'), 'utf8'), 'secret', 'its target is intact');
  t.equal(await vfs.cleanupTemporaries(inst), 0, 'refused writes left no temporary');
});

t.test("links planted in place of the layout's own folders are refused, and nothing is created through them", async (t) => {
  for (const folder of ['.cozy_versions', '.thumbs', '.cozy_tmp']) {
    await t.test(folder, async (t) => {
      const s = await sandbox(t);
      const { vfs, inst } = s;
      const file = newRef('/doc.txt');
      await put(vfs, inst, file, 'one');
      await rm(join(s.area, folder), { recursive: true, force: true });
      await symlink(s.outside, join(s.area, folder));
      const next = { ...file, internalId: newInternalId() };
      const keep = { replaces: { internalId: file.internalId, keepAsVersion: true } };
      if (folder === '.cozy_versions') {
        // The same layout outside, so that following the link would find something to read or delete.
        const bait = join(s.outside, file.id.slice(0, 4), file.id.slice(4));
        await mkdir(bait, { recursive: true });
        await writeFile(join(bait, file.internalId), 'bait');
        await refused(t, put(vfs, inst, next, 'two', keep), VfsErrors.unsafePath, 'keeping a version');
        t.equal(await text(vfs.read(inst, file)), 'one', 'the current content is intact');
        await refused(t, vfs.readVersion(inst, file), VfsErrors.unsafePath, 'reading a version');
        await refused(t, vfs.deleteVersion(inst, file), VfsErrors.unsafePath, 'deleting a version');
        await refused(t, vfs.deleteFile(inst, file), VfsErrors.unsafePath, 'deleting versions');
        t.equal(await readFile(join(bait, file.internalId), 'utf8'), 'bait', 'the bait is intact');
        await rm(join(s.outside, file.id.slice(0, 4)), { recursive: true });
      } else if (folder === '.thumbs') {
        const bait = join(s.outside, file.id.slice(0, 4));
        await mkdir(bait);
        await writeFile(join(bait, `${file.id}-small.jpg`), 'bait');
        await refused(t, vfs.createThumbnailWriter(inst, file.id, 'small'), VfsErrors.unsafePath, 'writing a thumbnail');
        await refused(t, vfs.readThumbnail(inst, file.id, 'small'), VfsErrors.unsafePath, 'reading a thumbnail');
        await refused(t, vfs.deleteThumbnails(inst, file.id), VfsErrors.unsafePath, 'deleting thumbnails');
        t.equal(await readFile(join(bait, `${file.id}-small.jpg`), 'utf8'), 'bait', 'the bait is intact');
        await rm(bait, { recursive: true });
      } else {
        await refused(t, vfs.createWriter(inst, newRef('/new')), VfsErrors.unsafePath, 'opening a temporary');
        await refused(t, vfs.cleanupTemporaries(inst), VfsErrors.unsafePath, 'cleaning temporaries');
      }
      const walk = async () => {
        for await (const entry of vfs.walk(inst)) void entry;
      };
      if (folder !== '.cozy_tmp') await refused(t, walk(), VfsErrors.unsafePath, 'the walk reports the tampered folder');
      t.same(await tree(s.outside), [], 'nothing was created outside');
    });
  }
});

t.test('an instance folder replaced by a link is refused, and destroying it removes only the link', async (t) => {
  const s = await sandbox(t);
  const { vfs, inst } = s;
  await rm(s.area, { recursive: true });
  await writeFile(join(s.outside, 'secret'), 'secret');
  await symlink(s.outside, s.area);
  await refused(t, vfs.read(inst, newRef('/secret')), VfsErrors.unsafePath, 'read');
  await refused(t, vfs.createWriter(inst, newRef('/x')), VfsErrors.unsafePath, 'write');
  await refused(t, vfs.initInstance(inst), VfsErrors.unsafePath, 'init');
  await vfs.destroyInstance(inst);
  await t.rejects(lstat(s.area), { code: 'ENOENT' }, 'the link is gone');
  t.same(await tree(s.outside), ['secret'], 'the target is intact');
});

t.test('instance folders are the domain, and weird domains are refused', async (t) => {
  const s = await sandbox(t);
  for (const domain of ['localhost:8080', 'caf\u00e9.example', '127.0.0.1:8443', 'xn--bcher-kva.example']) {
    const inst = instanceRef(domain);
    await s.vfs.initInstance(inst);
    await put(s.vfs, inst, newRef('/f'), domain);
    t.ok((await stat(join(s.root, domain))).isDirectory(), `folder ${domain}`);
  }
  for (const domain of ['', '.', '..', '../x', 'a/b', 'a\0b', 'Alice.example', '.hidden', 'a..b', 'a b', 'x:', 'a:b:c', `${'a'.repeat(300)}.example`, 'a\\b']) {
    await refused(t, s.vfs.initInstance(instanceRef(domain)), VfsErrors.badPath, `domain ${JSON.stringify(domain.slice(0, 30))}`);
  }
});

t.test('the layout on disk is cozy-stack\'s, private to the server user, and NFC / NFD names are two files', async (t) => {
  const s = await sandbox(t);
  const { vfs, inst } = s;
  await vfs.createDir(inst, '/Photos');
  const file = { id: '0123456789abcdef0123456789abcdef', internalId: 'aaaaaaaaaaaaaaaa', path: '/Photos/cat.jpg' };
  await put(vfs, inst, file, 'v1');
  await put(vfs, inst, { ...file, internalId: 'bbbbbbbbbbbbbbbb' }, 'v2', { replaces: { internalId: file.internalId, keepAsVersion: true } });
  const thumb = await vfs.createThumbnailWriter(inst, file.id, 'small');
  thumb.end('jpeg');
  await thumb.commit();
  await put(vfs, inst, newRef('/caf\u00e9'), 'nfc');
  await put(vfs, inst, newRef('/cafe\u0301'), 'nfd');
  t.same(await tree(s.area), [
    '.cozy_tmp', '.cozy_trash', '.cozy_versions', '.cozy_versions/0123', '.cozy_versions/0123/456789abcdef0123456789abcdef',
    '.cozy_versions/0123/456789abcdef0123456789abcdef/aaaaaaaaaaaaaaaa', '.thumbs', '.thumbs/0123',
    '.thumbs/0123/0123456789abcdef0123456789abcdef-small.jpg', 'Photos', 'Photos/cat.jpg', 'caf\u00e9', 'cafe\u0301',
  ].sort());
  t.equal(await readFile(join(s.area, 'Photos/cat.jpg'), 'utf8'), 'v2', 'the file is at its path, readable directly');
  t.equal((await stat(join(s.area, 'Photos/cat.jpg'))).mode & 0o777, 0o600, 'files are private');
  t.equal((await stat(join(s.area, 'Photos'))).mode & 0o777, 0o700, 'folders are private');
});

t.test('renames keep names byte for byte and refuse to replace', async (t) => {
  const s = await sandbox(t);
  const { vfs, inst } = s;
  const a = newRef('/A.txt');
  await put(vfs, inst, a, 'a');
  await vfs.moveFile(inst, a, '/a.txt');
  t.same(await userEntries(s), ['a.txt'], 'a case-only rename');
  await vfs.createDir(inst, '/dir');
  await mkdir(join(s.area, 'dir', 'sub'));
  await refused(t, vfs.renameDir(inst, '/dir/sub', '/dir'), VfsErrors.exists, 'onto its parent');
  await refused(t, vfs.renameDir(inst, '/nope', '/x'), VfsErrors.notFound, 'a missing directory');
  await refused(t, vfs.renameDir(inst, '/a.txt', '/x'), VfsErrors.notFound, 'a file is not a directory');
  await refused(t, vfs.deleteDir(inst, '/a.txt'), VfsErrors.exists, 'rmdir of a file');
  await refused(t, vfs.moveFile(inst, { ...a, path: '/dir' }, '/x'), VfsErrors.notFound, 'a directory is not a file');
  await refused(t, vfs.revertVersion(inst, { ...a, path: '/a.txt' }, { id: a.id, internalId: a.internalId }), VfsErrors.badId, 'reverting to the current content');
  await refused(t, vfs.revertVersion(inst, { ...a, path: '/a.txt' }, { id: newRef('/x').id, internalId: newInternalId() }), VfsErrors.badId, "another file's version");
  await refused(t, put(vfs, inst, { ...a, path: '/a.txt' }, 'x', { replaces: { internalId: a.internalId, keepAsVersion: false } }), VfsErrors.badId, 'an overwrite reusing the internal id');
  await refused(t, vfs.createWriter(inst, newRef('/big'), { expectedSize: 10, maxSize: 5 }), VfsErrors.tooLarge, 'an announced size over the cap');
});

t.test('a root that cannot be made fails prepare, and a later prepare retries', async (t) => {
  const s = await sandbox(t);
  const blocker = join(s.dir, 'blocker');
  await writeFile(blocker, 'a file where a folder should be');
  const vfs = new LocalVfs({ root: join(blocker, 'files') });
  await t.rejects(vfs.prepare(), { code: 'ENOTDIR' });
  await rm(blocker);
  t.ok((await stat(await vfs.prepare())).isDirectory(), 'made on the second try');
});

t.test('deleting a file spares the versions and thumbnails of ids sharing its prefix', async (t) => {
  const s = await sandbox(t);
  const { vfs, inst } = s;
  const short = { id: 'abcde', internalId: 'v1', path: '/short' };
  const long = { id: 'abcde-fghij', internalId: 'v1', path: '/long' };
  for (const file of [short, long]) {
    await put(vfs, inst, file, `${file.id} v1`);
    await put(vfs, inst, { ...file, internalId: 'v2' }, `${file.id} v2`, { replaces: { internalId: 'v1', keepAsVersion: true } });
    const thumb = await vfs.createThumbnailWriter(inst, file.id, 'small');
    thumb.end(`${file.id} thumb`);
    await thumb.commit();
  }
  await vfs.deleteFile(inst, { ...short, internalId: 'v2' });
  t.equal(await text(vfs.readThumbnail(inst, long.id, 'small')), 'abcde-fghij thumb');
  t.equal(await text(vfs.readVersion(inst, long)), 'abcde-fghij v1');
  const thumbs = [];
  for await (const e of vfs.walk(inst)) if (e.kind === 'thumbnail') thumbs.push(`${e.id}/${e.format}`);
  t.same(thumbs, ['abcde-fghij/small'], 'the walk parses ids with dashes');
});
