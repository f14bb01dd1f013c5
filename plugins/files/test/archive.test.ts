import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import pino from 'pino';
import yauzl from 'yauzl';
import { FILES, ROOT_DIR_ID, type FilesService, type InstanceDoc } from '@cozy-ts/kernel';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import { registerArchiveRoutes } from '../src/archive/routes.ts';
import { FilesAccess } from '../src/http/access.ts';
import type { VfsService } from '../src/vfs/vfs-service.ts';
import { filesRoutesApp, freshInstance, kernelPerFile, treeWriters } from './shared-kernel.ts';

const DOMAIN = 'alice.example';

interface Env {
  tk: TestKernel;
  inst: InstanceDoc;
  files: FilesService;
  app: FastifyInstance;
  call(method: 'GET' | 'POST', url: string, scope: string | null, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  put(dirId: string, name: string, content: Buffer | string): Promise<string>;
  mkdir(dirId: string, name: string): Promise<string>;
}

const sharedKernel = kernelPerFile({ '@cozy-ts/plugin-vfs-local': {}, '@cozy-ts/plugin-files': {} });

/**
 * The archive routes on their own fastify app (the same prefix and the kernel's instance, auth and VFS service),
 * so they are tested whatever the files plugin's wiring.
 */
async function env(t: Test): Promise<Env> {
  const tk = await sharedKernel();
  const inst = await freshInstance(tk);
  const files = tk.kernel.container.resolve<FilesService>(FILES.token);
  const access = new FilesAccess(tk.kernel.auth, files as VfsService);
  const app = await filesRoutesApp(t, inst, (scoped) => registerArchiveRoutes(scoped, { files, access, cache: tk.kernel.cluster.cache, log: pino({ level: 'silent' }) }));
  const call: Env['call'] = async (method, url, scope, body, headers = {}) => {
    const auth = scope === null ? {} : { authorization: `Bearer ${await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope })}` };
    return app.inject({ method, url, headers: { host: DOMAIN, ...auth, ...(body ? { 'content-type': 'application/vnd.api+json' } : {}), ...headers }, ...(body ? { payload: JSON.stringify(body) } : {}) });
  };
  return { tk, inst, files, app, call, ...treeWriters(files, inst) };
}

/** CRC-32 of each file entry as the zip records it. */
const recordedCrc = new Map<string, number>();

/** Every entry of a zip: name → content (empty for directories). */
function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err || !file) return reject(err);
      const out = new Map<string, Buffer>();
      file.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          out.set(entry.fileName, Buffer.alloc(0));
          return file.readEntry();
        }
        recordedCrc.set(entry.fileName, entry.crc32);
        file.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            file.readEntry();
          });
        });
      });
      file.on('end', () => resolve(out));
      file.on('error', reject);
      file.readEntry();
    });
  });
}

function archive(attributes: Record<string, unknown>) {
  return { data: { type: 'io.cozy.files.archives', attributes } };
}

t.test('makes a link to a zip of the selection, directories with everything they hold', async (t) => {
  const e = await env(t);
  const docs = await e.mkdir(ROOT_DIR_ID, 'Docs');
  const sub = await e.mkdir(docs, 'sub');
  await e.mkdir(docs, 'empty');
  const big = randomBytes(300_000);
  await e.put(docs, 'a.txt', 'hello archive');
  await e.put(sub, 'b.bin', big);
  await e.put(ROOT_DIR_ID, 'photo.jpg', 'not really a jpeg');
  await e.put(ROOT_DIR_ID, 'left-out.txt', 'no');

  const res = await e.call('POST', '/files/archive', 'io.cozy.files', archive({ name: 'project-X', ids: [docs], files: ['/photo.jpg'] }));
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.match(body.links.related, /^\/files\/archive\/[0-9a-f]{16}\/project-X\.zip$/);
  t.equal(body.data.type, 'io.cozy.files.archives');
  t.equal(body.data.attributes.href, body.links.related);

  const zip = await e.call('GET', body.links.related, null);
  t.equal(zip.statusCode, 200);
  t.equal(zip.headers['content-type'], 'application/zip');
  t.equal(zip.headers['content-disposition'], 'attachment; filename="project-X.zip"');
  const entries = await unzip(zip.rawPayload);
  t.same([...entries.keys()].sort(), [
    'project-X/Docs/', 'project-X/Docs/a.txt', 'project-X/Docs/empty/', 'project-X/Docs/sub/', 'project-X/Docs/sub/b.bin', 'project-X/photo.jpg',
  ]);
  t.equal(entries.get('project-X/Docs/a.txt')?.toString(), 'hello archive');
  t.ok(entries.get('project-X/Docs/sub/b.bin')?.equals(big), 'a binary content comes back byte for byte');
  t.equal(recordedCrc.get('project-X/Docs/sub/b.bin'), crc32(big), 'the recorded CRC-32 is the content\'s');
  t.equal(recordedCrc.get('project-X/Docs/a.txt'), crc32('hello archive'));

  const again = await e.call('GET', body.links.related, null);
  t.equal(again.statusCode, 200, 'the link works more than once while it lives');
});

t.test('answers the zip at once to Accept: application/zip; the whole root leaves the trash out', async (t) => {
  const e = await env(t);
  await e.put(ROOT_DIR_ID, 'kept.txt', 'kept');
  const gone = await e.put(ROOT_DIR_ID, 'gone.txt', 'gone');
  await e.files.trash(e.inst, gone);
  const res = await e.call('POST', '/files/archive', 'io.cozy.files', archive({ ids: [ROOT_DIR_ID] }), { accept: 'application/zip' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-disposition'], 'attachment; filename="archive.zip"');
  t.same([...(await unzip(res.rawPayload)).keys()].sort(), ['archive/', 'archive/kept.txt']);
});

t.test('checks the permission on every selected entry; a folder\'s permission covers what it holds', async (t) => {
  const e = await env(t);
  const open = await e.mkdir(ROOT_DIR_ID, 'Open');
  const inner = await e.put(open, 'inner.txt', 'x');
  await e.put(ROOT_DIR_ID, 'secret.txt', 'y');
  const scope = `io.cozy.files:GET:${open}`;
  t.equal((await e.call('POST', '/files/archive', scope, archive({ ids: [open] }))).statusCode, 200);
  t.equal((await e.call('POST', '/files/archive', scope, archive({ ids: [inner] }))).statusCode, 200, 'a file under the folder');
  t.equal((await e.call('POST', '/files/archive', scope, archive({ ids: [open], files: ['/secret.txt'] }))).statusCode, 403);
  t.equal((await e.call('POST', '/files/archive', scope, archive({ ids: [ROOT_DIR_ID] }))).statusCode, 403, 'not the parent');
  t.equal((await e.call('POST', '/files/archive', null, archive({ ids: [open] }))).statusCode, 401);
});

t.test('refuses bad selections and bad links', async (t) => {
  const e = await env(t);
  const id = await e.put(ROOT_DIR_ID, 'a.txt', 'a');
  const post = (attrs: Record<string, unknown>) => e.call('POST', '/files/archive', 'io.cozy.files', archive(attrs));
  t.equal((await post({ name: 'x' })).statusCode, 400, 'nothing selected');
  t.equal((await post({ ids: [id], name: 'a/b' })).statusCode, 400, 'a slash in the name');
  t.equal((await post({ ids: [id], name: '..' })).statusCode, 400);
  t.equal((await post({ ids: [id, 42] })).statusCode, 400);
  t.equal((await post({ pages: [{ id, page: 1 }] })).statusCode, 400);
  t.equal((await post({ ids: ['no-such-file-id'] })).statusCode, 404);
  t.equal((await post({ files: ['/nowhere.txt'] })).statusCode, 404);
  for (const path of ['../etc/passwd', '/../../etc/passwd', '/a/../a.txt', 'a.txt', '/.cozy_versions']) {
    const status = (await post({ files: [path] })).statusCode;
    t.ok([400, 404, 422].includes(status), `${path} is refused (${status})`);
  }
  t.equal((await e.call('GET', '/files/archive/0123456789abcdef/x.zip', null)).statusCode, 400);
  t.equal((await e.call('GET', '/files/archive/..%2F..%2Fetc/x.zip', null)).statusCode, 400);

  const link = (await post({ ids: [id] })).json().links.related as string;
  await e.files.destroy(e.inst, id);
  t.equal((await e.call('GET', link, null)).statusCode, 404, 'a file deleted since is a 404, not a broken zip');
});
