import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import yauzl from 'yauzl';
import { startTestKernel } from '@cozy-ts/kernel/testing';

type Fields = Record<string, unknown>;
type Ref = { _id: string; _type: string };

/** The part of cozy-stack-client's FileCollection this test drives: the queries, references, archives, thumbnails. */
interface FileCollection {
  createDirectory(attrs: { name: string; dirId?: string }): Promise<{ data: Fields }>;
  createFile(data: string | Buffer, opts: { name: string; dirId?: string; contentType?: string }): Promise<{ data: Fields }>;
  statById(id: string): Promise<{ data: Fields & { links?: Record<string, string> } }>;
  find(selector: Fields, options?: Fields): Promise<{ data: Fields[]; next: boolean; bookmark?: string }>;
  getAll(ids: string[]): Promise<{ data: Fields[] }>;
  addReferencedBy(file: Ref, docs: Ref[]): Promise<{ data: Fields[]; meta: { count: number } }>;
  removeReferencedBy(file: Ref, docs: Ref[]): Promise<{ data: Fields[]; meta: { count: number } }>;
  findReferencedBy(doc: Ref): Promise<{ data: Fields[] }>;
  getArchiveLinkByIds(ids: string[], name?: string): Promise<string>;
  fetchChanges(couchOptions?: Fields, options?: Fields): Promise<{ newLastSeq: string; pending: number; results: Array<{ id: string; doc?: Fields; deleted?: boolean }> }>;
}
type StackClientClass = new (opts: { uri: string; token: string }) => { collection(doctype: string): FileCollection };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ROOT = 'io.cozy.files.root-dir';

function loadCozyStackClient(): StackClientClass {
  const require = createRequire(join(repoRoot, 'test/clients/package.json'));
  try {
    return (require('cozy-stack-client') as { default: StackClientClass }).default;
  } catch (err) {
    throw new Error(`cozy-stack-client is not installed: run \`npm run test:clients\` (${(err as Error).message})`);
  }
}

function zipNames(zip: Buffer): Promise<string[]> {
  return new Promise((ok, ko) => {
    yauzl.fromBuffer(zip, (err, file) => {
      if (err || !file) return ko(err);
      const names: string[] = [];
      file.on('entry', (e: yauzl.Entry) => names.push(e.fileName));
      file.on('end', () => ok(names.sort()));
      file.on('error', ko);
    });
  });
}

t.test("cozy-stack-client's FileCollection: find, getAll, references, archive links, thumbnails, fetchChanges", async (t) => {
  const CozyStackClient = loadCozyStackClient();
  const tk = await startTestKernel({
    config: { plugins: { '@cozy-ts/plugin-vfs-local': { fsync: false }, '@cozy-ts/plugin-files': {}, '@cozy-ts/plugin-data': {} } },
  });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'client-extras', client_name: 'extras', software_id: 'extras' });
  const token = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client-extras', scope: 'io.cozy.files io.cozy.photos.albums' });
  const uri = `http://127.0.0.1:${port}`;
  const files = new CozyStackClient({ uri, token }).collection('io.cozy.files');

  const album = (await files.createDirectory({ name: 'Album', dirId: ROOT })).data;
  const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#aa3300' } }).jpeg().toBuffer();
  const photo = (await files.createFile(jpeg, { name: 'photo.jpg', dirId: album._id as string, contentType: 'image/jpeg' })).data;
  const text = (await files.createFile('plain text', { name: 'readme.txt', dirId: ROOT, contentType: 'text/plain' })).data;

  // find() meets no_index, creates the index through /data/io.cozy.files/_index and retries, as against cozy-stack.
  const found = await files.find({ class: 'image' });
  t.same(found.data.map((f) => f._id), [photo._id]);
  t.equal(found.data[0]?.path, '/Album/photo.jpg');
  t.equal(found.next, false);

  const all = await files.getAll([photo._id as string, text._id as string]);
  t.same(all.data.map((f) => f._id).sort(), [photo._id, text._id].sort());

  const ref: Ref = { _id: 'summer', _type: 'io.cozy.photos.albums' };
  const added = await files.addReferencedBy({ _id: photo._id as string, _type: 'io.cozy.files' }, [ref]);
  t.equal(added.meta.count, 1);
  const referenced = await files.findReferencedBy(ref);
  t.same(referenced.data.map((f) => f._id), [photo._id], 'the data plugin lists what the files plugin wrote');
  t.equal((await files.removeReferencedBy({ _id: photo._id as string, _type: 'io.cozy.files' }, [ref])).meta.count, 0);

  const link = await files.getArchiveLinkByIds([album._id as string, text._id as string], 'bundle');
  const zip = await fetch(`${uri}${link}`);
  t.equal(zip.status, 200);
  t.same(await zipNames(Buffer.from(await zip.arrayBuffer())), ['bundle/Album/', 'bundle/Album/photo.jpg', 'bundle/readme.txt']);

  const stat = await files.statById(photo._id as string);
  const tiny = stat.data.links?.tiny;
  t.match(tiny, /\/thumbnails\/[0-9a-f]{16}\/tiny$/);
  let res = await fetch(`${uri}${tiny}`);
  for (let i = 0; i < 100 && res.status === 404; i++) {
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
    res = await fetch(`${uri}${tiny}`);
  }
  t.equal(res.status, 200);
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  t.same([meta.width, meta.height], [96, 64]);

  const changes = await files.fetchChanges({ since: '' }, { includeFilePath: true, skipDeleted: true, skipTrashed: true });
  t.equal(changes.pending, 0);
  const row = changes.results.find((r) => r.id === photo._id);
  t.equal(row?.doc?.path, '/Album/photo.jpg');
  t.notOk(changes.results.some((r) => r.id.startsWith('_design/')));
  const next = await files.fetchChanges({ since: changes.newLastSeq });
  t.same(next.results, [], 'nothing new since the last sequence');
});
