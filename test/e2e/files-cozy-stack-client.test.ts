import { createHash } from 'node:crypto';
import t from 'tap';
import { loadCozyStackClient, startClientKernel } from '../helpers/cozy-stack-client.ts';

type Fields = Record<string, unknown>;
interface Stat {
  data: Fields;
  included?: Fields[];
}

/** The part of cozy-stack-client's FileCollection this test drives. */
interface FileCollection {
  createDirectory(attrs: { name: string; dirId?: string }): Promise<{ data: Fields }>;
  createDirectoryByPath(path: string): Promise<{ data: Fields }>;
  createFile(data: string | Buffer, opts: { name: string; dirId?: string; contentType?: string }): Promise<{ data: Fields }>;
  statById(id: string, opts?: Fields): Promise<Stat>;
  statByPath(path: string): Promise<Stat>;
  updateAttributes(id: string, attrs: Fields): Promise<{ data: Fields }>;
  copy(id: string, name?: string, dirId?: string): Promise<{ data: Fields }>;
  destroy(file: Fields): Promise<{ data: Fields }>;
  restore(id: string): Promise<{ data: Fields }>;
  emptyTrash(): Promise<unknown>;
  fetchFileContentById(id: string): Promise<{ status: number; text(): Promise<string> }>;
  getDownloadLinkById(id: string, filename: string): Promise<string>;
  fetchChanges(couchOptions?: Fields, options?: Fields): Promise<{ newLastSeq: string; pending: number; results: Array<{ id: string; doc?: Fields }> }>;
}

const ROOT = 'io.cozy.files.root-dir';

t.test("cozy-stack-client's FileCollection drives /files with an OAuth token, unchanged", async (t) => {
  const CozyStackClient = loadCozyStackClient<FileCollection>();
  const { uri, token } = await startClientKernel(
    t, { '@cozy-ts/plugin-vfs-local': { fsync: false }, '@cozy-ts/plugin-files': {} }, 'io.cozy.files',
  );
  const files = new CozyStackClient({ uri, token }).collection('io.cozy.files');

  let docs: Fields = {};
  await t.test('createDirectory and createDirectoryByPath', async (t) => {
    const dir = (await files.createDirectory({ name: 'Documents', dirId: ROOT })).data;
    t.match(dir, { _id: /^[0-9a-f]{32}$/, name: 'Documents', path: '/Documents', type: 'directory' });
    const deep = (await files.createDirectoryByPath('/Documents/Bills/2024')).data;
    t.match(deep, { name: '2024', path: '/Documents/Bills/2024', type: 'directory' });
    const again = (await files.createDirectoryByPath('/Documents/Bills/2024')).data;
    t.equal(again._id, deep._id, 'an existing path is found, not created twice');
    docs = { dir, deep };
  });

  let file: Fields = {};
  await t.test('createFile with content, statById, statByPath', async (t) => {
    const dir = docs.dir as Fields;
    file = (await files.createFile('Hello, cozy!', { name: 'hello.txt', dirId: dir._id as string, contentType: 'text/plain' })).data;
    t.match(file, { name: 'hello.txt', type: 'file', mime: 'text/plain', dir_id: dir._id, size: '12', md5sum: createHash('md5').update('Hello, cozy!').digest('base64') });
    const byId = await files.statById(dir._id as string);
    t.equal(byId.data._id, dir._id);
    t.ok(byId.included?.some((e) => e._id === file._id || e.id === file._id), 'the listing includes the file');
    const byPath = await files.statByPath('/Documents/hello.txt');
    t.equal(byPath.data._id, file._id);
  });

  await t.test('fetchFileContentById and getDownloadLinkById', async (t) => {
    const res = await files.fetchFileContentById(file._id as string);
    t.equal(res.status, 200);
    t.equal(await res.text(), 'Hello, cozy!');
    const link = await files.getDownloadLinkById(file._id as string, 'hello.txt');
    t.match(link, new RegExp(`^${uri}/files/downloads/[0-9a-f]+/hello.txt`));
    const anonymous = await fetch(link);
    t.equal(anonymous.status, 200, 'the link works without a token');
    t.equal(await anonymous.text(), 'Hello, cozy!');
  });

  await t.test('updateAttributes renames, moves and tags', async (t) => {
    const renamed = (await files.updateAttributes(file._id as string, { name: 'hi.txt', tags: ['poem'] })).data;
    t.match(renamed, { name: 'hi.txt', tags: ['poem'] });
    const deep = docs.deep as Fields;
    const moved = (await files.updateAttributes(file._id as string, { dir_id: deep._id })).data;
    t.equal(moved.dir_id, deep._id);
    t.equal((await files.statByPath('/Documents/Bills/2024/hi.txt')).data._id, file._id);
    const copy = (await files.copy(file._id as string)).data;
    t.equal(copy.name, 'hi (copy).txt');
  });

  await t.test('destroy puts in the trash, restore brings back, emptyTrash empties', async (t) => {
    const trashed = (await files.destroy({ _id: file._id, _type: 'io.cozy.files' })).data;
    t.match(trashed, { trashed: true, dir_id: 'io.cozy.files.trash-dir', restore_path: '/Documents/Bills/2024' });
    const restored = (await files.restore(file._id as string)).data;
    t.match(restored, { trashed: false, dir_id: (docs.deep as Fields)._id, name: 'hi.txt' });
    await files.destroy({ _id: file._id, _type: 'io.cozy.files' });
    await files.emptyTrash();
    // Emptying runs in the background, as on cozy-stack.
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = await files.statById(file._id as string).then(() => false, (err: { status?: number }) => err.status === 404);
      if (!gone) await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(gone, 'the file is destroyed');
  });

  await t.test('fetchChanges lists the changes of io.cozy.files', async (t) => {
    const changes = await files.fetchChanges({ since: '' }, { includeFilePath: true });
    t.ok(changes.newLastSeq, 'a last sequence');
    const dir = changes.results.find((r) => r.id === (docs.dir as Fields)._id);
    t.ok(dir, 'the directory is in the feed');
    t.equal(dir?.doc?.path, '/Documents', 'with its document');
  });
});
