import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import t, { type Test } from 'tap';
import { VFS, newInternalId, type InstanceDoc, type VfsContent } from '@cozy-ts/kernel';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import { freshInstance, kernelPerFile } from './shared-kernel.ts';
import { fsck } from '../src/fsck/fsck.ts';
import type { FsckLog } from '../src/fsck/fsck-log.ts';
import { describe } from '../src/fsck/fsck-log.ts';
import { registerFsckRoutes } from '../src/fsck/routes.ts';

const FILES = 'io.cozy.files';
const VERSIONS = 'io.cozy.files.versions';
const ROOT = 'io.cozy.files.root-dir';
const TRASH = 'io.cozy.files.trash-dir';
const NOW = '2026-01-01T00:00:00Z';

interface Env {
  tk: TestKernel;
  inst: InstanceDoc;
  vfs: VfsContent;
  dir(id: string, dirId: string, name: string, path: string): Promise<void>;
  file(id: string, dirId: string, name: string, content: string, over?: Record<string, unknown>): Promise<{ internalId: string }>;
  run(opts?: Parameters<typeof fsck>[3]): Promise<FsckLog[]>;
}

const sharedKernel = kernelPerFile({ '@cozy-ts/plugin-vfs-local': {} });

/** A kernel with the local content backend only: the index is written by hand, so any anomaly can be made. */
async function env(t: Test): Promise<Env> {
  const tk = await sharedKernel();
  const inst = await freshInstance(tk);
  const vfs = tk.kernel.container.resolve<VfsContent>(VFS.token);
  const store = tk.kernel.store;
  const dir: Env['dir'] = async (id, dirId, name, path) => {
    await store.put(inst, FILES, { _id: id, type: 'directory', name, dir_id: dirId, path, created_at: NOW, updated_at: NOW });
  };
  await store.put(inst, FILES, { _id: ROOT, type: 'directory', name: '', path: '/', created_at: NOW, updated_at: NOW });
  await dir(TRASH, ROOT, '.cozy_trash', '/.cozy_trash');
  const file: Env['file'] = async (id, dirId, name, content, over = {}) => {
    const internalId = newInternalId();
    const parent = await store.get(inst, FILES, dirId);
    const path = parent.path === '/' ? `/${name}` : `${String(parent.path)}/${name}`;
    const writer = await vfs.createWriter(inst, { id, internalId, path });
    writer.end(Buffer.from(content));
    const info = await writer.commit();
    await store.put(inst, FILES, {
      _id: id, type: 'file', name, dir_id: dirId, size: String(info.size), md5sum: info.md5.toString('base64'),
      mime: 'text/plain', class: 'text', trashed: false, internal_vfs_id: internalId, created_at: NOW, updated_at: NOW, ...over,
    });
    return { internalId };
  };
  const run: Env['run'] = async (opts) => {
    const logs: FsckLog[] = [];
    for await (const log of fsck(store, vfs, inst, opts)) logs.push(log);
    return logs;
  };
  return { tk, inst, vfs, dir, file, run };
}

function kinds(logs: FsckLog[]): string[] {
  return logs.map((l) => l.type).sort();
}

t.test('a consistent tree gives no anomaly', async (t) => {
  const e = await env(t);
  await e.dir('photos-dir-id', ROOT, 'Photos', '/Photos');
  await e.vfs.createDir(e.inst, '/Photos');
  await e.file('file-a-0001', 'photos-dir-id', 'a.txt', 'hello');
  await e.file('file-b-0001', ROOT, 'b.txt', 'world');
  t.same(await e.run(), []);
});

t.test('reports index anomalies: missing trash, orphans, bad paths, duplicates, trashed flags, file paths, versions without file', async (t) => {
  const e = await env(t);
  await e.tk.kernel.store.delete(e.inst, FILES, TRASH, (await e.tk.kernel.store.get(e.inst, FILES, TRASH))._rev as string);
  await e.dir('docs-dir-id', ROOT, 'Docs', '/Wrong');
  await e.dir('orphan-dir', 'no-such-parent', 'Lost', '/Lost');
  await e.dir('cycle-one', 'cycle-two', 'One', '/One');
  await e.dir('cycle-two', 'cycle-one', 'Two', '/One/Two');
  await e.tk.kernel.store.put(e.inst, FILES, { _id: 'dup-1', type: 'file', name: 'x', dir_id: ROOT, size: '0', md5sum: '', trashed: true, internal_vfs_id: 'a' });
  await e.tk.kernel.store.put(e.inst, FILES, { _id: 'dup-2', type: 'file', name: 'x', dir_id: ROOT, size: '0', md5sum: '', trashed: false, path: '/x', internal_vfs_id: 'b' });
  await e.tk.kernel.store.put(e.inst, VERSIONS, { _id: 'gone-file-id/abc', size: '1', md5sum: '' });
  const logs = await e.run({ mode: 'index' });
  t.same(kinds(logs), [
    'file_missing', 'index_bad_fullpath', 'index_duplicate_name', 'index_file_with_path', 'index_missing_trash',
    'index_orphan_tree', 'index_orphan_tree', 'index_orphan_tree', 'trashed_not_in_trash',
  ]);
  const bad = logs.find((l) => l.type === 'index_bad_fullpath');
  t.equal(bad?.expected_fullpath, '/Docs');
  t.equal(bad?.dir_doc?._id, 'docs-dir-id');
  const cycles = logs.filter((l) => l.type === 'index_orphan_tree' && l.dir_doc?.has_cycle);
  t.same(cycles.map((l) => l.dir_doc?._id).sort(), ['cycle-one', 'cycle-two']);
  t.equal(logs.find((l) => l.type === 'file_missing')?.is_version, true);
  for (const log of logs) t.type(describe(log), 'string');
});

t.test('a missing root stops the index check', async (t) => {
  const e = await env(t);
  await e.tk.kernel.store.delete(e.inst, FILES, ROOT, (await e.tk.kernel.store.get(e.inst, FILES, ROOT))._rev as string);
  t.same(kinds(await e.run({ mode: 'index' })), ['index_missing_root']);
});

t.test('reports content anomalies against the local backend', async (t) => {
  const e = await env(t);
  const area = join(e.tk.dir, 'files', e.inst.domain);
  await e.file('file-ok-0001', ROOT, 'ok.txt', 'fine');
  // The index says another content than the disk holds, same size then other size.
  await e.file('file-md5-001', ROOT, 'md5.txt', 'abcd', { md5sum: createHash('md5').update('ABCD').digest('base64') });
  await e.file('file-size-01', ROOT, 'size.txt', 'abcd', { size: '10' });
  // Index entries with nothing on disk, and disk entries with nothing in the index.
  await e.tk.kernel.store.put(e.inst, FILES, { _id: 'file-none-01', type: 'file', name: 'none.txt', dir_id: ROOT, size: '1', md5sum: '', trashed: false, internal_vfs_id: 'x' });
  await e.dir('ghost-dir-id', ROOT, 'Ghost', '/Ghost');
  await writeFile(join(area, 'stray.txt'), 'stray');
  await e.vfs.createDir(e.inst, '/StrayDir');
  // A directory in the index that is a file on disk.
  await e.dir('clash-dir-id', ROOT, 'clash', '/clash');
  await writeFile(join(area, 'clash'), 'not a dir');
  // A thumbnail whose file is gone, a version on disk the index does not know.
  const thumb = await e.vfs.createThumbnailWriter(e.inst, 'gone-file-id', 'tiny');
  thumb.end(Buffer.from('jpeg'));
  await thumb.commit();
  const logs = await e.run({ mode: 'files' });
  t.same(kinds(logs), [
    'content_mismatch', 'content_mismatch', 'filesystem_missing', 'filesystem_missing', 'index_missing', 'index_missing',
    'thumbnail_with_no_file', 'type_mismatch',
  ]);
  const md5 = logs.find((l) => l.type === 'content_mismatch' && l.file_doc?._id === 'file-md5-001');
  t.equal(md5?.content_mismatch?.md5sum_file, createHash('md5').update('abcd').digest('base64'));
  t.equal(md5?.content_mismatch?.size_file, 4);
  const size = logs.find((l) => l.type === 'content_mismatch' && l.file_doc?._id === 'file-size-01');
  t.same([size?.content_mismatch?.size_index, size?.content_mismatch?.size_file], [10, 4]);
  t.same(logs.filter((l) => l.type === 'index_missing').map((l) => l.file_doc?.path ?? l.dir_doc?.path).sort(), ['/StrayDir', '/stray.txt']);
  const typeMismatch = logs.find((l) => l.type === 'type_mismatch');
  t.equal(typeMismatch?.dir_doc?._id, 'clash-dir-id');
  t.equal(typeMismatch?.is_file, false);
});

t.test('fail fast stops at the first anomaly', async (t) => {
  const e = await env(t);
  await e.dir('orphan-one', 'nowhere-1', 'a', '/a');
  await e.dir('orphan-two', 'nowhere-2', 'b', '/b');
  t.equal((await e.run({ failFast: true })).length, 1);
  t.equal((await e.run()).length >= 2, true);
});

t.test('GET /files/fsck answers the content mismatches, cached until NoCache; /files/fsck/stream streams every kind to CLI tokens', async (t) => {
  const e = await env(t);
  await e.file('file-md5-002', ROOT, 'md5.txt', 'abcd', { md5sum: createHash('md5').update('ABCD').digest('base64') });
  await e.dir('orphan-dir-2', 'nowhere-x', 'Lost', '/Lost');
  const app = Fastify();
  app.addHook('onRequest', async (req) => {
    req.instance = e.inst;
  });
  await app.register(
    async (scoped) => registerFsckRoutes(scoped, { store: e.tk.kernel.store, auth: e.tk.kernel.auth, vfs: e.vfs, cluster: e.tk.kernel.cluster, log: pino({ level: 'silent' }) }),
    { prefix: '/files' },
  );
  t.teardown(() => app.close());
  const cli = (scope: string) => e.tk.kernel.auth.issueToken(e.inst, 'cli', { subject: 'test', scope });
  const get = async (url: string, token: string | null) => app.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  const res = await get('/files/fsck', await cli('io.cozy.files'));
  t.equal(res.statusCode, 200);
  const logs = res.json() as FsckLog[];
  t.same(logs.map((l) => [l.type, l.file_doc?._id]), [['content_mismatch', 'file-md5-002']]);

  await e.file('file-md5-003', ROOT, 'md5b.txt', 'efgh', { md5sum: createHash('md5').update('EFGH').digest('base64') });
  t.equal((await get('/files/fsck', await cli('io.cozy.files'))).json().length, 1, 'the cached answer');
  t.equal((await get('/files/fsck?NoCache=true', await cli('io.cozy.files'))).json().length, 2, 'NoCache checks again');
  t.equal((await get('/files/fsck', await cli('io.cozy.files:GET:file-md5-002'))).statusCode, 403);
  t.equal((await get('/files/fsck', null)).statusCode, 401);

  const stream = await get('/files/fsck/stream', await cli('io.cozy.files'));
  t.equal(stream.statusCode, 200);
  t.match(stream.headers['content-type'], /application\/x-ndjson/);
  const lines = stream.body.trim().split('\n').map((l) => JSON.parse(l) as FsckLog);
  t.same(lines.map((l) => l.type).sort(), ['content_mismatch', 'content_mismatch', 'index_orphan_tree']);
  const index = (await get('/files/fsck/stream?IndexIntegrity=true', await cli('io.cozy.files'))).body.trim().split('\n');
  t.same(index.map((l) => JSON.parse(l).type), ['index_orphan_tree']);
  t.equal((await get('/files/fsck/stream?FailFast=true', await cli('io.cozy.files'))).body.trim().split('\n').length, 1);

  await e.tk.kernel.store.put(e.inst, 'io.cozy.oauth.clients', { _id: 'client-x', client_name: 'X' });
  const oauth = await e.tk.kernel.auth.issueToken(e.inst, 'access', { subject: 'client-x', scope: 'io.cozy.files' });
  t.equal((await get('/files/fsck/stream', oauth)).statusCode, 403, 'the full report is for the admin side only');
});

t.test('reports documents with conflicting revision branches in the index check', async (t) => {
  const e = await env(t);
  await e.dir('conflicted-dir', ROOT, 'Conflicted', '/Conflicted');
  const store = e.tk.kernel.store;
  // The store port cannot make a conflict (no new_edits=false): its reads are made to report one.
  const withConflict = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'get') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<typeof store.get>) => {
        const doc = await target.get(...args);
        return args[2] === 'conflicted-dir' && args[3]?.conflicts ? { ...doc, _conflicts: ['1-abc'] } : doc;
      };
    },
  });
  const logs: FsckLog[] = [];
  for await (const log of fsck(withConflict, e.vfs, e.inst, { mode: 'index' })) logs.push(log);
  t.same(logs.map((l) => [l.type, l.dir_doc?._id]), [['conflict_in_index', 'conflicted-dir']]);
  const files: FsckLog[] = [];
  for await (const log of fsck(withConflict, e.vfs, e.inst, { mode: 'files' })) files.push(log);
  t.same(files.map((l) => l.type), ['filesystem_missing'], 'the contents check does not read every document again');
});
