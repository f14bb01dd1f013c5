import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import t from 'tap';
import { FilesErrors, ROOT_DIR_ID, TRASH_DIR_ID, isDir, isFile, type FileDoc } from '@cozy-ts/kernel';
import { attrs, setup } from './helpers.ts';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('base64');

t.test('/files', async (t) => {
  // One kernel for the whole file: each subtest works in its own directory.
  const { call, tk, inst } = await setup(t, { files: { versions: { maxNumber: 3, minDelaySeconds: 0 } } });
  const mkdir = async (name: string, parent = ROOT_DIR_ID) => {
    const res = await call('POST', `/files/${parent}?Type=directory&Name=${encodeURIComponent(name)}`);
    if (res.statusCode !== 201) throw new Error(`mkdir ${name}: ${res.body}`);
    return attrs(res);
  };
  const upload = (dir: string, name: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    call('POST', `/files/${dir}?Type=file&Name=${encodeURIComponent(name)}`, { body, headers: { 'content-type': 'text/plain', ...headers } });

  await t.test('creates a directory and a file, lists, reads and downloads them', async (t) => {
    const dir = await call('POST', `/files/${ROOT_DIR_ID}?Type=directory&Name=Photos&Tags=a,b`);
    t.equal(dir.statusCode, 201);
    const d = attrs(dir);
    t.equal(d.path, '/Photos');
    t.same(d.tags, ['a', 'b']);
    const up = await upload(d.id, 'hello.txt', 'Hello world!', { 'content-md5': md5('Hello world!') });
    t.equal(up.statusCode, 201);
    const f = attrs(up);
    t.match(f, { size: '12', mime: 'text/plain', class: 'text', md5sum: md5('Hello world!'), trashed: false, dir_id: d.id });
    t.notOk('internal_vfs_id' in f, 'the internal id is never shown');
    const list = (await call('GET', `/files/${d.id}`)).json();
    t.equal(list.data.relationships.contents.data.length, 1);
    t.equal(list.data.relationships.contents.meta.count, 1);
    t.equal(list.included[0].attributes.name, 'hello.txt');
    const root = (await call('GET', `/files/${ROOT_DIR_ID}`)).json();
    t.notOk(root.included.some((e: { id: string }) => e.id === TRASH_DIR_ID), 'the trash is not listed in the root');
    const dl = await call('GET', `/files/download/${f.id}`);
    t.equal(dl.statusCode, 200);
    t.equal(dl.body, 'Hello world!');
    t.equal(dl.headers['content-disposition'], 'inline; filename="hello.txt"');
    t.equal(dl.headers.etag, `"${md5('Hello world!')}"`);
    const att = await call('GET', `/files/download/${f.id}?Dl=1`);
    t.equal(att.headers['content-disposition'], 'attachment; filename="hello.txt"');
    const range = await call('GET', '/files/download?Path=/Photos/hello.txt', { headers: { range: 'bytes=6-' } });
    t.equal(range.statusCode, 206);
    t.equal(range.body, 'world!');
    t.equal(range.headers['content-range'], 'bytes 6-11/12');
    const bad = await call('GET', `/files/download/${f.id}`, { headers: { range: 'bytes=50-60' } });
    t.equal(bad.statusCode, 416);
    t.equal(bad.headers['content-range'], 'bytes */12');
    const cached = await call('GET', `/files/download/${f.id}`, { headers: { 'if-none-match': dl.headers.etag as string } });
    t.equal(cached.statusCode, 304);
    const meta = await call('GET', '/files/metadata?Path=/Photos/hello.txt');
    t.equal(attrs(meta).id, f.id);
    t.equal((await call('GET', '/files/metadata?Path=/Photos/nope.txt')).statusCode, 404);
  });

  await t.test('refuses bad names with 422 and keeps NFC and NFD apart', async (t) => {
    const d = await mkdir('names');
    for (const name of ['', '.', '..', 'a/b', 'a\u0000b', 'a\nb', 'a\rb', 'x'.repeat(256)]) {
      const res = await upload(d.id, name, 'x');
      t.equal(res.statusCode, 422, JSON.stringify(name.slice(0, 20)));
    }
    t.equal((await call('POST', `/files/${ROOT_DIR_ID}?Type=directory&Name=.cozy_trash`)).statusCode, 422, 'the trash name is reserved at the root');
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    t.equal((await upload(d.id, nfc, 'nfc')).statusCode, 201);
    t.equal((await upload(d.id, nfd, 'nfd')).statusCode, 201, 'NFD is another name');
    t.equal((await upload(d.id, nfc, 'again')).statusCode, 409);
    const list = (await call('GET', `/files/${d.id}`)).json();
    t.equal(list.included.length, 2);
  });

  await t.test('checks Content-MD5 and size: 412 and nothing left', async (t) => {
    const d = await mkdir('checks');
    const wrong = await upload(d.id, 'a.txt', 'abc', { 'content-md5': md5('abd') });
    t.equal(wrong.statusCode, 412);
    t.match(wrong.json().errors[0], { detail: 'Invalid hash', source: { parameter: 'Content-MD5' } });
    const short = await call('POST', `/files/${d.id}?Type=file&Name=b.txt&Size=10`, { body: Readable.from([Buffer.from('abc')]) });
    t.equal(short.statusCode, 412);
    t.equal((await call('POST', `/files/${d.id}?Type=file&Name=c.txt`, { body: 'x', headers: { 'content-md5': 'nope' } })).statusCode, 422);
    t.equal((await call('GET', `/files/${d.id}`)).json().data.relationships.contents.meta.count, 0, 'no document');
  });

  await t.test('renames, moves, and refuses a taken name or a move into its own subtree', async (t) => {
    const a = await mkdir('moves');
    const b = await mkdir('inner', a.id);
    const c = await mkdir('deeper', b.id);
    const f = attrs(await upload(b.id, 'note.txt', 'n'));
    const patch = (id: string, attributes: Record<string, unknown>, headers: Record<string, string> = {}) =>
      call('PATCH', `/files/${id}`, { body: { data: { type: 'io.cozy.files', id, attributes } }, headers });
    t.equal((await patch(a.id, { dir_id: c.id })).statusCode, 412, 'into its own subtree');
    t.equal((await patch(a.id, { dir_id: a.id })).statusCode, 412, 'into itself');
    await upload(a.id, 'taken.txt', 't');
    t.equal((await patch(f.id, { dir_id: a.id, name: 'taken.txt' })).statusCode, 409);
    t.equal((await patch(f.id, { name: 'x.txt' }, { 'if-match': '1-bogus' })).statusCode, 412, 'If-Match');
    const renamed = await patch(f.id, { name: 'Note.txt' }, { 'if-match': f.rev });
    t.equal(renamed.statusCode, 200, 'a case-only rename');
    t.equal(attrs(renamed).name, 'Note.txt');
    const movedDir = await patch(b.id, { dir_id: ROOT_DIR_ID, name: 'inner-moved' });
    t.equal(movedDir.statusCode, 200);
    t.equal(attrs(movedDir).path, '/inner-moved');
    t.equal(attrs(await call('GET', `/files/${c.id}`)).path, '/inner-moved/deeper', 'paths below follow');
    const dl = await call('GET', '/files/download?Path=/inner-moved/Note.txt');
    t.equal(dl.body, 'n', 'the content follows');
    const fav = await patch(f.id, { cozyMetadata: { favorite: true } });
    t.equal((attrs(fav).cozyMetadata as { favorite: boolean }).favorite, true);
    const batch = await call('PATCH', '/files/', { body: { data: [
      { type: 'io.cozy.files', id: f.id, attributes: { dir_id: a.id } },
      { type: 'io.cozy.files', id: 'missing-id', attributes: { dir_id: a.id } },
    ] } });
    t.equal(batch.statusCode, 404);
    t.equal(batch.json().errors[0].source.pointer, 'missing-id');
    t.equal(attrs(await call('GET', `/files/${f.id}`)).dir_id, a.id, 'the valid entry of the batch was applied');
  });

  await t.test('trash, restore with a suffix and recreated parents, destroy', async (t) => {
    const d = await mkdir('trashing');
    const sub = await mkdir('sub', d.id);
    const f = attrs(await upload(sub.id, 'doc.txt', 'doc'));
    const trashed = await call('DELETE', `/files/${f.id}`);
    t.equal(trashed.statusCode, 200);
    t.match(attrs(trashed), { trashed: true, dir_id: TRASH_DIR_ID, restore_path: '/trashing/sub' });
    const trashDir = await call('DELETE', `/files/${sub.id}`);
    t.equal(attrs(trashDir).path, '/.cozy_trash/sub');
    const list = (await call('GET', '/files/trash')).json();
    t.ok(list.data.some((e: { id: string }) => e.id === f.id));
    // The directory was trashed after the file: restoring the file recreates /trashing/sub.
    const restored = await call('POST', `/files/trash/${f.id}`);
    t.equal(restored.statusCode, 200);
    const r = attrs(restored);
    t.equal(r.trashed, false);
    t.not(r.dir_id, sub.id, 'a new parent was made');
    t.equal(attrs(await call('GET', `/files/${r.dir_id as string}`)).path, '/trashing/sub');
    // Restoring the old directory meets the new one: it comes back with a suffix.
    const back = attrs(await call('POST', `/files/trash/${sub.id}`));
    t.match(back.path, /^\/trashing\/sub \(\d+\)$/);
    const f2 = attrs(await upload(d.id, 'gone.txt', 'bye'));
    await call('DELETE', `/files/${f2.id}`);
    t.equal((await call('DELETE', `/files/trash/${f2.id}`)).statusCode, 204);
    t.equal((await call('GET', `/files/${f2.id}`)).statusCode, 404);
    t.equal((await call('DELETE', `/files/trash/${d.id}`)).statusCode, 400, 'not in the trash');
  });

  await t.test('copies a file as "name (copy).ext", then numbered', async (t) => {
    const d = await mkdir('copies');
    const f = attrs(await upload(d.id, 'report.pdf', 'pdf', { 'content-type': 'application/pdf' }));
    const c1 = await call('POST', `/files/${f.id}/copy`);
    t.equal(c1.statusCode, 201);
    t.match(attrs(c1), { name: 'report (copy).pdf', class: 'pdf', md5sum: md5('pdf') });
    t.equal(attrs(await call('POST', `/files/${f.id}/copy`)).name, 'report (copy) (2).pdf');
    t.equal((await call('GET', `/files/download/${attrs(c1).id}`)).body, 'pdf');
  });

  await t.test('overwrites keep the id, keep versions, and revert', async (t) => {
    const d = await mkdir('versions');
    const f = attrs(await upload(d.id, 'v.txt', 'one'));
    let rev = f.rev;
    for (const body of ['two', 'three', 'four', 'five']) {
      const res = await call('PUT', `/files/${f.id}`, { body, headers: { 'content-type': 'text/plain', 'if-match': rev } });
      t.equal(res.statusCode, 200, body);
      t.equal(attrs(res).id, f.id);
      rev = attrs(res).rev;
    }
    t.equal((await call('PUT', `/files/${f.id}`, { body: 'x', headers: { 'if-match': f.rev } })).statusCode, 412, 'stale If-Match');
    const stat = (await call('GET', `/files/${f.id}`)).json();
    const versions = stat.data.relationships.old_versions.data as Array<{ id: string }>;
    t.equal(versions.length, 2, 'keeps N-1 old versions with N = 3');
    const oldest = stat.included.find((i: { id: string }) => i.id === versions[0]?.id);
    t.equal(oldest.attributes.md5sum, md5('three'));
    const versionId = (versions[0] as { id: string }).id.split('/')[1];
    t.equal((await call('GET', `/files/download/${f.id}/${versionId}`)).body, 'three');
    const reverted = await call('POST', `/files/revert/${f.id}/${versionId}`);
    t.equal(reverted.statusCode, 200);
    t.equal((await call('GET', `/files/download/${f.id}`)).body, 'three');
    const after = (await call('GET', `/files/${f.id}`)).json();
    t.equal(after.data.relationships.old_versions.data.length, 2, 'the replaced content became a version');
    const vid = (after.data.relationships.old_versions.data[0] as { id: string }).id.split('/')[1];
    t.equal((await call('DELETE', `/files/${f.id}/${vid}`)).statusCode, 204);
    const usage = (await call('GET', '/settings/disk-usage')).json();
    t.ok(Number(usage.data.attributes.versions) > 0, 'versions count in the disk usage');
  });

  await t.test('a token for one folder reaches it and what is under it, not its parent', async (t) => {
    const parent = await mkdir('shared-parent');
    const shared = await mkdir('shared', parent.id);
    const inner = attrs(await upload(shared.id, 'in.txt', 'in'));
    const outer = attrs(await upload(parent.id, 'out.txt', 'out'));
    const scope = `io.cozy.files:ALL:${shared.id}`;
    t.equal((await call('GET', `/files/download/${inner.id}`, { scope })).statusCode, 200);
    t.equal((await call('GET', `/files/download/${outer.id}`, { scope })).statusCode, 403);
    t.equal((await call('GET', `/files/${parent.id}`, { scope })).statusCode, 403);
    t.equal((await upload(shared.id, 'new.txt', 'x')).statusCode, 201);
    t.equal((await call('POST', `/files/${parent.id}?Type=file&Name=no.txt`, { scope, body: 'x' })).statusCode, 403);
    const out = await call('PATCH', `/files/${inner.id}`, { scope, body: { data: { type: 'io.cozy.files', id: inner.id, attributes: { dir_id: parent.id } } } });
    t.equal(out.statusCode, 403, 'cannot move something out of the shared folder');
    t.equal((await call('GET', `/files/${inner.id}`, { scope: null })).statusCode, 401);
    const other = await tk.createInstance('bob.example');
    const bobToken = await tk.kernel.auth.issueToken(other, 'cli', { subject: 'test', scope: 'io.cozy.files' });
    const cross = await tk.kernel.app.inject({ method: 'GET', url: `/files/${inner.id}`, headers: { host: 'bob.example', authorization: `Bearer ${bobToken}` } });
    t.equal(cross.statusCode, 404, "another instance's id is not found");
    void inst;
  });

  await t.test('secret download links work without a token; an unknown secret is refused', async (t) => {
    const d = await mkdir('links');
    const f = attrs(await upload(d.id, 'l i n k.txt', 'linked'));
    const res = await call('POST', `/files/downloads?Id=${f.id}`);
    t.equal(res.statusCode, 200);
    const related = res.json().links.related as string;
    const dl = await call('GET', `${related}?Dl=1`, { scope: null });
    t.equal(dl.statusCode, 200);
    t.equal(dl.body, 'linked');
    t.equal(dl.headers['content-disposition'], `attachment; filename="link.txt"; filename*=UTF-8''l%20i%20n%20k.txt`);
    t.equal((await call('GET', '/files/downloads/0123456789abcdef0123456789abcdef/x', { scope: null })).statusCode, 400);
  });

  await t.test('dates: CreatedAt / UpdatedAt first, then the Date header, never updated before created', async (t) => {
    const d = await mkdir('dates');
    const date = 'Mon, 19 Sep 2016 12:38:04 GMT';
    const a = attrs(await call('POST', `/files/${d.id}?Type=file&Name=a.txt&CreatedAt=2015-01-02T03:04:05Z`, { body: 'a', headers: { date } }));
    t.equal(a.created_at, '2015-01-02T03:04:05.000Z');
    t.equal(a.updated_at, '2016-09-19T12:38:04.000Z', 'the Date header');
    const b = attrs(await call('POST', `/files/${d.id}?Type=file&Name=b.txt&CreatedAt=2020-01-01T00:00:00Z&UpdatedAt=2019-01-01T00:00:00Z`, { body: 'b' }));
    t.equal(b.updated_at, b.created_at, 'an update before the creation becomes the creation');
    t.equal((await call('POST', `/files/${d.id}?Type=file&Name=c.txt&CreatedAt=yesterday`, { body: 'c' })).statusCode, 422);
  });

  await t.test('lists a directory page by page through links.next', async (t) => {
    const d = await mkdir('paged');
    for (let i = 0; i < 5; i++) await upload(d.id, `p${i}.txt`, String(i));
    const names: string[] = [];
    let url: string | undefined = `/files/${d.id}?page[limit]=2`;
    while (url) {
      const page = (await call('GET', url)).json() as { data: { relationships: { contents: { meta: { count: number } } } }; included: Array<{ attributes: { name: string } }>; links?: { next?: string } };
      t.equal(page.data.relationships.contents.meta.count, 5);
      names.push(...page.included.map((e) => e.attributes.name));
      url = page.links?.next;
    }
    t.same(names, ['p0.txt', 'p1.txt', 'p2.txt', 'p3.txt', 'p4.txt']);
  });

  await t.test('creates directories by path, recursively', async (t) => {
    const res = await call('POST', '/files/?Type=directory&Path=/by/path/deep&Recursive=true');
    t.equal(res.statusCode, 201);
    t.equal(attrs(res).path, '/by/path/deep');
    t.equal((await call('POST', '/files/?Type=directory&Path=/nope/deep')).statusCode, 404, 'parent missing without Recursive');
    t.equal((await call('POST', '/files/?Type=directory&Path=/by')).statusCode, 409);
  });
});

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
