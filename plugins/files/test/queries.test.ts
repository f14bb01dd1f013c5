import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { FILES, ROOT_DIR_ID, TRASH_DIR_ID, type FilesService, type InstanceDoc } from '@cozy-ts/kernel';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import { FilesAccess } from '../src/http/access.ts';
import { registerQueryRoutes } from '../src/queries/routes.ts';
import type { VfsService } from '../src/vfs/vfs-service.ts';
import { filesRoutesApp, freshInstance, kernelPerFile, treeWriters } from './shared-kernel.ts';

const DOMAIN = 'alice.example';
const FILES_DOCTYPE = 'io.cozy.files';

interface Env {
  tk: TestKernel;
  inst: InstanceDoc;
  files: FilesService;
  call(method: 'GET' | 'POST' | 'DELETE', url: string, token: string | null, body?: unknown): Promise<LightMyRequestResponse>;
  cli(scope: string): Promise<string>;
  put(dirId: string, name: string, content?: string): Promise<string>;
  mkdir(dirId: string, name: string): Promise<string>;
}

const sharedKernel = kernelPerFile({ '@cozy-ts/plugin-vfs-local': {}, '@cozy-ts/plugin-files': {} });

/**
 * The query routes on their own fastify app, with the kernel's instance, auth and the files plugin's VFS service,
 * so they are tested whatever the plugin's wiring. Thumbnail links are a fixed stand-in.
 */
async function env(t: Test): Promise<Env> {
  const tk = await sharedKernel();
  const inst = await freshInstance(tk);
  const files = tk.kernel.container.resolve<FilesService>(FILES.token);
  const svc = files as VfsService;
  const app = await filesRoutesApp(t, inst, (scoped) =>
    registerQueryRoutes(scoped, {
      store: tk.kernel.store,
      files,
      access: new FilesAccess(tk.kernel.auth, svc),
      lock: svc.lock,
      fileLinks: async (_inst, doc) => (doc.class === 'image' ? { tiny: `/files/${doc._id}/thumbnails/s/tiny` } : undefined),
    }));
  const cli = (scope: string) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope });
  const call: Env['call'] = (method, url, token, body) =>
    app.inject({
      method,
      url,
      headers: { host: DOMAIN, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  return { tk, inst, files, call, cli, ...treeWriters(files, inst) };
}

t.test('POST /files/_find: no_index until an index exists, then JSON:API pages with paths and links', async (t) => {
  const e = await env(t);
  const token = await e.cli('io.cozy.files');
  const photos = await e.mkdir(ROOT_DIR_ID, 'Photos');
  for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) await e.put(photos, name);
  await e.put(ROOT_DIR_ID, 'notes.txt');
  const query = { selector: { class: 'image' }, limit: 2 };

  const refused = await e.call('POST', '/files/_find', token, query);
  t.equal(refused.statusCode, 400);
  t.match(refused.body, /no_index/, 'cozy-client reads no_index and creates the index');

  await e.tk.kernel.store.createIndex(e.inst, FILES_DOCTYPE, { index: { fields: ['class'] } });
  const first = await e.call('POST', '/files/_find', token, query);
  t.equal(first.statusCode, 200, first.body);
  const page1 = first.json();
  t.equal(page1.data.length, 2);
  t.equal(page1.meta.count, 2 ** 31 - 2, 'a full page: the total is unknown');
  t.match(page1.links.next, /^\/files\/_find\?page\[cursor\]=/);
  const doc = page1.data[0];
  t.equal(doc.type, 'io.cozy.files');
  t.match(doc.attributes.path, /^\/Photos\/[abc]\.jpg$/);
  t.notOk('internal_vfs_id' in doc.attributes, 'the content id stays inside');
  t.match(doc.links, { self: `/files/${doc.id}`, tiny: `/files/${doc.id}/thumbnails/s/tiny` });
  t.equal(doc.relationships.parent.data.id, photos);

  const second = await e.call('POST', page1.links.next, token, query);
  const page2 = second.json();
  t.equal(page2.data.length, 1);
  t.same(page2.links, {}, 'no next link on the last page');
  t.equal(page2.meta.count, 1);
  const names = [...page1.data, ...page2.data].map((d: { attributes: { name: string } }) => d.attributes.name).sort();
  t.same(names, ['a.jpg', 'b.jpg', 'c.jpg']);

  const fields = (await e.call('POST', '/files/_find', token, { selector: { class: 'image' }, fields: ['name'] })).json();
  t.same(Object.keys(fields.data[0].attributes).sort(), ['class', 'name', 'size', 'trashed', 'type']);
  const withPath = (await e.call('POST', '/files/_find', token, { selector: { class: 'image' }, fields: ['name', 'path'] })).json();
  t.match(withPath.data[0].attributes.path, /^\/Photos\//);

  await e.tk.kernel.store.createIndex(e.inst, FILES_DOCTYPE, { index: { fields: ['_id'] } });
  const everything = (await e.call('POST', '/files/_find', token, { selector: { _id: { $gt: null } }, limit: 1000 })).json();
  t.notOk(everything.data.some((d: { id: string }) => d.id.startsWith('_design/')), 'never a design document');
  t.ok(everything.data.some((d: { id: string }) => d.id === photos));
  const dirs = (await e.call('POST', '/files/_find', token, { selector: { class: 'image' }, limit: 5000 })).json();
  t.equal(dirs.data.length, 3, 'a limit above 1000 becomes 100');
});

t.test('POST /files/_find refuses bad bodies and callers without the whole doctype', async (t) => {
  const e = await env(t);
  const dir = await e.mkdir(ROOT_DIR_ID, 'D');
  const token = await e.cli('io.cozy.files');
  t.equal((await e.call('POST', '/files/_find', token, { limit: 2 })).statusCode, 400);
  t.equal((await e.call('POST', '/files/_find', token, { selector: {}, sort: 'name' })).statusCode, 400);
  t.equal((await e.call('POST', '/files/_find', token, { selector: {}, fields: [1] })).statusCode, 400);
  t.equal((await e.call('POST', '/files/_find', await e.cli(`io.cozy.files:GET:${dir}`), { selector: {} })).statusCode, 403);
  t.equal((await e.call('POST', '/files/_find', null, { selector: {} })).statusCode, 401);
});

t.test('POST /files/_all_docs gives the entries that exist, files with their path, never the trash', async (t) => {
  const e = await env(t);
  const dir = await e.mkdir(ROOT_DIR_ID, 'Docs');
  const file = await e.put(dir, 'a.txt');
  const res = await e.call('POST', '/files/_all_docs', await e.cli('io.cozy.files'), { keys: [file, dir, 'missing-id-0001', TRASH_DIR_ID] });
  t.equal(res.statusCode, 200);
  const data = res.json().data as Array<{ id: string; attributes: Record<string, unknown> }>;
  t.same(data.map((d) => d.id), [file, dir]);
  t.equal(data[0]?.attributes.path, '/Docs/a.txt');
  t.equal(data[1]?.attributes.path, '/Docs');
  t.equal((await e.call('POST', '/files/_all_docs', await e.cli('io.cozy.files'), { keys: 'x' })).statusCode, 400);
});

t.test('GET /files/_changes: cozy-stack options, design documents never shown', async (t) => {
  const e = await env(t);
  const token = await e.cli('io.cozy.files');
  const dir = await e.mkdir(ROOT_DIR_ID, 'Docs');
  const kept = await e.put(dir, 'kept.txt');
  const trashed = await e.put(dir, 'trashed.txt');
  await e.files.trash(e.inst, trashed);
  const gone = await e.put(ROOT_DIR_ID, 'gone.txt');
  await e.files.destroy(e.inst, gone);

  const all = (await e.call('GET', '/files/_changes?include_docs=true', token)).json();
  t.type(all.last_seq, 'string');
  t.equal(all.pending, 0);
  const ids = all.results.map((r: { id: string }) => r.id);
  t.ok(ids.includes(kept) && ids.includes(trashed) && ids.includes(gone) && ids.includes(ROOT_DIR_ID));
  t.notOk(ids.some((id: string) => id.startsWith('_design/')), 'no design document');
  const deleted = all.results.find((r: { id: string }) => r.id === gone);
  t.equal(deleted.deleted, true);

  const skipping = (await e.call('GET', '/files/_changes?include_docs=true&skip_deleted=true&skip_trashed=true&include_file_path=true', token)).json();
  const rows = new Map<string, { doc: Record<string, unknown> }>(skipping.results.map((r: { id: string; doc: Record<string, unknown> }) => [r.id, r]));
  t.notOk(rows.has(gone), 'skip_deleted');
  t.notOk(rows.has(trashed), 'skip_trashed');
  t.notOk(rows.has(TRASH_DIR_ID), 'the trash directory is trashed too');
  t.equal(rows.get(kept)?.doc.path, '/Docs/kept.txt', 'include_file_path');

  const fields = (await e.call('GET', '/files/_changes?include_docs=true&fields=name,dir_id', token)).json();
  const keptRow = fields.results.find((r: { id: string }) => r.id === kept);
  t.same(keptRow.doc, { name: 'kept.txt', dir_id: dir });

  const limited = (await e.call('GET', '/files/_changes?limit=2', token)).json();
  t.equal(limited.results.length, 2);
  t.ok(limited.pending > 0);
  t.equal(limited.results[0].doc, null, 'no documents unless asked');
  const rest = (await e.call('GET', `/files/_changes?since=${encodeURIComponent(limited.last_seq)}`, token)).json();
  t.equal(rest.pending, 0);
  t.notOk(rest.results.some((r: { id: string }) => limited.results.some((l: { id: string }) => l.id === r.id && r.id === ROOT_DIR_ID)), 'since continues after the first page');

  for (const since of ['garbage', '-5', '{"a":1}', 'now']) {
    const res = await e.call('GET', `/files/_changes?since=${encodeURIComponent(since)}`, token);
    t.ok(res.statusCode === 200 || res.statusCode === 400, `since=${since} is answered, not a crash (${res.statusCode})`);
  }
  t.equal((await e.call('GET', '/files/_changes?feed=continuous', token)).statusCode, 400);
  t.equal((await e.call('GET', '/files/_changes?include_file_path=true', token)).statusCode, 400, 'include_file_path needs include_docs');
  t.equal((await e.call('GET', '/files/_changes?limit=abc', token)).statusCode, 400);
  t.equal((await e.call('GET', '/files/_changes', await e.cli(`io.cozy.files:GET:${dir}`))).statusCode, 403);
});

t.test('GET /files/_changes sends what an OAuth client does not synchronise as deletions', async (t) => {
  const e = await env(t);
  await e.tk.kernel.store.put(e.inst, 'io.cozy.oauth.clients', { _id: 'desktop1', client_name: 'Desktop' });
  const hidden = await e.mkdir(ROOT_DIR_ID, 'Hidden');
  const inside = await e.put(hidden, 'inside.txt');
  const shown = await e.put(ROOT_DIR_ID, 'shown.txt');
  const doc = await e.tk.kernel.store.get(e.inst, FILES_DOCTYPE, hidden);
  await e.tk.kernel.store.put(e.inst, FILES_DOCTYPE, { ...doc, not_synchronized_on: [{ type: 'io.cozy.oauth.clients', id: 'desktop1' }] });
  const oauth = await e.tk.kernel.auth.issueToken(e.inst, 'access', { subject: 'desktop1', scope: 'io.cozy.files' });
  const res = (await e.call('GET', '/files/_changes?include_docs=true', oauth)).json();
  const row = (id: string) => res.results.find((r: { id: string }) => r.id === id);
  t.equal(row(hidden).deleted, true);
  t.equal(row(inside).deleted, true);
  t.same(Object.keys(row(inside).doc).sort(), ['_deleted', '_id', '_rev']);
  t.notOk(row(shown).deleted);
  const cli = (await e.call('GET', '/files/_changes?include_docs=true', await e.cli('io.cozy.files'))).json();
  t.notOk(cli.results.find((r: { id: string }) => r.id === inside).deleted, 'other callers see everything');
});

t.test('referenced_by: add and remove references on an entry, with the entry\'s permission', async (t) => {
  const e = await env(t);
  const token = await e.cli('io.cozy.files');
  const file = await e.put(ROOT_DIR_ID, 'song.mp3');
  const url = `/files/${file}/relationships/referenced_by`;
  const a = { type: 'io.cozy.playlists', id: 'p1' };
  const b = { type: 'io.cozy.playlists', id: 'p2' };
  const added = await e.call('POST', url, token, { data: [a, b] });
  t.equal(added.statusCode, 200, added.body);
  t.same(added.json().data, [a, b]);
  t.equal(added.json().meta.count, 2);
  t.match(added.json().meta.rev, /^2-/);
  t.same((await e.call('POST', url, token, { data: a })).json().data, [a, b], 'adding twice keeps one');
  const listed = await e.call('GET', url, token);
  t.equal(listed.statusCode, 200);
  t.same(listed.json().data, [a, b]);
  t.equal((await e.call('GET', url, await e.cli('io.cozy.files:GET:some-other-id'))).statusCode, 403);
  const removed = (await e.call('DELETE', url, token, { data: [a] })).json();
  t.same(removed.data, [b]);
  const stored = await e.tk.kernel.store.get(e.inst, FILES_DOCTYPE, file);
  t.same(stored.referenced_by, [b]);
  t.not((stored.cozyMetadata as { updatedAt: string }).updatedAt, undefined);

  const dir = await e.mkdir(ROOT_DIR_ID, 'Album');
  const inAlbum = await e.put(dir, 'x.jpg');
  const scoped = await e.cli(`io.cozy.files:PATCH:${dir}`);
  t.equal((await e.call('POST', `/files/${inAlbum}/relationships/referenced_by`, scoped, { data: [a] })).statusCode, 200, 'a folder\'s permission covers its files');
  t.equal((await e.call('POST', url, scoped, { data: [a] })).statusCode, 403);
  t.equal((await e.call('POST', url, token, { data: [{ type: 'x' }] })).statusCode, 400);
  t.equal((await e.call('POST', url, token, { nodata: true })).statusCode, 400);
  t.equal((await e.call('POST', '/files/no-such-file/relationships/referenced_by', token, { data: [a] })).statusCode, 404);
});
