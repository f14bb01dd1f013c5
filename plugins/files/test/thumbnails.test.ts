import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import pino from 'pino';
import { FILES as FILES_SERVICE, VFS, newInternalId, type FilesService, type InstanceDoc, type VfsContent } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';
import { freshInstance, kernelPerFile } from './shared-kernel.ts';
import { THUMB_FORMATS } from '../src/thumbnails/formats.ts';
import { Thumbnails, registerThumbnailRoutes } from '../src/thumbnails/routes.ts';
import { hasThumbnailLinks, thumbnailLinks } from '../src/thumbnails/secrets.ts';
import { WorkQueue } from '../src/thumbnails/work-queue.ts';

const FILES = 'io.cozy.files';
const ROOT = 'io.cozy.files.root-dir';

interface Env {
  tk: TestKernel;
  inst: InstanceDoc;
  vfs: VfsContent;
  thumbnails: Thumbnails;
  /** Writes content then the document, as the VFS service does; returns the doc's rev. */
  upload(id: string, name: string, content: Buffer, over?: Record<string, unknown>): Promise<string>;
  dims(id: string, format: string): Promise<[number, number]>;
}

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sharedKernel = kernelPerFile({ '@cozy-ts/plugin-vfs-local': {} });

async function env(t: Test, options?: { concurrency?: number; maxPending?: number }): Promise<Env> {
  const tk = await sharedKernel();
  const inst = await freshInstance(tk);
  const vfs = tk.kernel.container.resolve<VfsContent>(VFS.token);
  const store = tk.kernel.store;
  await store.put(inst, FILES, { _id: ROOT, type: 'directory', name: '', path: '/' });
  const thumbnails = new Thumbnails({
    store, vfs, instances: tk.kernel.instances, cluster: tk.kernel.cluster, events: tk.kernel.events, log: pino({ level: 'silent' }), options,
  });
  thumbnails.start();
  t.teardown(() => thumbnails.stop());
  const upload: Env['upload'] = async (id, name, content, over = {}) => {
    const internalId = newInternalId();
    let old;
    try {
      old = await store.get(inst, FILES, id);
    } catch {
      old = undefined;
    }
    const writer = await vfs.createWriter(inst, { id, internalId, path: `/${name}` }, old ? { replaces: { internalId: String(old.internal_vfs_id), keepAsVersion: false } } : {});
    writer.end(content);
    await writer.commit();
    const res = await store.put(inst, FILES, {
      ...(old ?? {}), _id: id, type: 'file', name, dir_id: ROOT, size: String(content.length), md5sum: createHash('md5').update(content).digest('base64'),
      mime: 'image/jpeg', class: 'image', trashed: false, internal_vfs_id: internalId, ...over,
    });
    return res.rev;
  };
  const dims: Env['dims'] = async (id, format) => {
    const meta = await sharp(await bytes(await vfs.readThumbnail(inst, id, format))).metadata();
    t.equal(meta.format, 'jpeg', `${format} is a JPEG`);
    return [meta.width as number, meta.height as number];
  };
  return { tk, inst, vfs, thumbnails, upload, dims };
}

/** The status a call rejects with (200 when it resolves). */
function statusOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 200,
    (err: { status?: number }) => err.status,
  );
}

function jpeg(width: number, height: number, orientation?: number): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg();
  return (orientation ? img.withMetadata({ orientation }) : img).toBuffer();
}

t.test('an uploaded image gets cozy-stack\'s four formats, fitted in their boxes', async (t) => {
  const e = await env(t);
  await e.upload('photo-0001', 'photo.jpg', await jpeg(3000, 2000));
  await e.thumbnails.maker.idle();
  t.same(await e.dims('photo-0001', 'large'), [1620, 1080]);
  t.same(await e.dims('photo-0001', 'medium'), [1080, 720]);
  t.same(await e.dims('photo-0001', 'small'), [640, 427]);
  t.same(await e.dims('photo-0001', 'tiny'), [96, 64]);
});

t.test('a small image is not enlarged, except for tiny; EXIF orientation is applied', async (t) => {
  const e = await env(t);
  await e.upload('small-0001', 'small.jpg', await jpeg(50, 40));
  // Orientation 6: stored landscape, shown portrait.
  await e.upload('rotated-01', 'rotated.jpg', await jpeg(300, 200, 6));
  await e.thumbnails.maker.idle();
  t.same(await e.dims('small-0001', 'large'), [50, 40]);
  t.same(await e.dims('small-0001', 'small'), [50, 40]);
  t.same(await e.dims('small-0001', 'tiny'), [96, 77]);
  t.same(await e.dims('rotated-01', 'large'), [200, 300]);
});

t.test('new content makes new thumbnails; a non-image content and a deletion remove them; trashing keeps them', async (t) => {
  const e = await env(t);
  await e.upload('photo-0002', 'p.jpg', await jpeg(400, 400));
  await e.thumbnails.maker.idle();
  t.same(await e.dims('photo-0002', 'large'), [400, 400]);
  await e.upload('photo-0002', 'p.jpg', await jpeg(800, 400));
  await e.thumbnails.maker.idle();
  t.same(await e.dims('photo-0002', 'large'), [800, 400], 'made again from the new content');

  const doc = await e.tk.kernel.store.get(e.inst, FILES, 'photo-0002');
  await e.tk.kernel.store.put(e.inst, FILES, { ...doc, trashed: true });
  await e.thumbnails.maker.idle();
  t.same(await e.dims('photo-0002', 'large'), [800, 400], 'a trashed image keeps its thumbnails');

  await e.upload('photo-0002', 'p.jpg', Buffer.from('now a text'), { class: 'text', mime: 'text/plain', trashed: false });
  await e.thumbnails.maker.idle();
  t.equal(await statusOf(e.vfs.readThumbnail(e.inst, 'photo-0002', 'large')), 404, 'no thumbnail for a content that is not an image');

  await e.upload('photo-0003', 'q.jpg', await jpeg(100, 100));
  await e.thumbnails.maker.idle();
  const q = await e.tk.kernel.store.get(e.inst, FILES, 'photo-0003');
  await e.tk.kernel.store.delete(e.inst, FILES, 'photo-0003', q._rev as string);
  await e.thumbnails.maker.idle();
  t.equal(await statusOf(e.vfs.readThumbnail(e.inst, 'photo-0003', 'tiny')), 404);
});

t.test('an image that cannot be decoded gets no thumbnail and does not stop the queue', async (t) => {
  const e = await env(t);
  await e.upload('broken-001', 'broken.jpg', Buffer.from('not a jpeg at all'));
  await e.upload('fine-00001', 'fine.jpg', await jpeg(120, 60));
  await e.thumbnails.maker.idle();
  t.equal(await statusOf(e.vfs.readThumbnail(e.inst, 'broken-001', 'tiny')), 404, 'none for a broken image');
  const broken = await e.tk.kernel.store.get(e.inst, FILES, 'broken-001');
  t.equal(await e.thumbnails.maker.request(e.inst, broken), false, 'a content that failed is not decoded again on every view');
  t.equal(await e.thumbnails.maker.request(e.inst, { ...broken, md5sum: 'another content' }), true, 'a new content is tried');
  t.same(await e.dims('fine-00001', 'tiny'), [96, 48]);
});

t.test('the route serves a made thumbnail, a placeholder with 404 before, and refuses a wrong secret', async (t) => {
  const e = await env(t);
  const app = Fastify();
  app.addHook('onRequest', async (req) => {
    req.instance = e.inst;
  });
  await app.register(async (scoped) => registerThumbnailRoutes(scoped, e.thumbnails), { prefix: '/files' });
  t.teardown(() => app.close());

  // Stopped first, so nothing is made in the background: the test decides when the thumbnails exist.
  await e.thumbnails.stop();
  await e.upload('photo-0004', 'r.jpg', await jpeg(300, 150));
  const secret = await e.thumbnails.secrets.add(e.inst, 'photo-0004');
  const links = thumbnailLinks('photo-0004', secret);
  t.equal(hasThumbnailLinks({ type: 'file', class: 'image' }), true);

  const before = await app.inject({ method: 'GET', url: links.small });
  t.equal(before.statusCode, 404);
  t.equal(before.headers['content-type'], 'image/png');
  const ph = await sharp(before.rawPayload).metadata();
  t.same([ph.width, ph.height], [640, 480], 'the placeholder has the format\'s size');
  const again = await app.inject({ method: 'GET', url: links.small, headers: { 'if-none-match': String(before.headers.etag) } });
  t.equal(again.statusCode, 304);

  await e.thumbnails.maker.sync(e.inst, 'photo-0004');
  for (const format of THUMB_FORMATS) {
    const res = await app.inject({ method: 'GET', url: links[format] });
    t.equal(res.statusCode, 200, format);
    t.equal(res.headers['content-type'], 'image/jpeg');
  }
  t.equal((await app.inject({ method: 'GET', url: `/files/photo-0004/thumbnails/${secret}/huge` })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/files/photo-0004/thumbnails/0123456789abcdef/tiny` })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/files/other-file/thumbnails/${secret}/tiny` })).statusCode, 400);
});

t.test('the work queue runs at most `concurrency` jobs, folds repeated keys and drops beyond its bound', async (t) => {
  let running = 0;
  let peak = 0;
  const ran: string[] = [];
  const dropped: string[] = [];
  const q = new WorkQueue({ concurrency: 2, maxPending: 3, onError: () => undefined, onDrop: (k) => dropped.push(k) });
  const job = (name: string) => async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 10));
    ran.push(name);
    running--;
  };
  q.push('a', job('a1'));
  q.push('b', job('b1'));
  q.push('c', job('c1'));
  q.push('c', job('c2'));
  q.push('a', job('a2'));
  q.push('d', job('d1'));
  q.push('e', job('e1'));
  q.push('f', job('f1'));
  await q.idle();
  t.equal(peak, 2);
  t.same(dropped, ['f']);
  t.same(ran.sort(), ['a1', 'a2', 'b1', 'c2', 'd1', 'e1'], 'c1 was replaced while waiting; a ran again after its run');
  await q.stop();
  t.equal(q.push('g', job('g1')), false, 'a stopped queue takes nothing');
});

t.test('follows the VFS service: upload, overwrite and destroy of an image', async (t) => {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-local': {}, '@cozy-ts/plugin-files': {} } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance('alice.example');
  const vfs = tk.kernel.container.resolve<VfsContent>(VFS.token);
  const files = tk.kernel.container.resolve<FilesService>(FILES_SERVICE.token);
  const thumbnails = new Thumbnails({
    store: tk.kernel.store, vfs, instances: tk.kernel.instances, cluster: tk.kernel.cluster, events: tk.kernel.events, log: pino({ level: 'silent' }),
  });
  thumbnails.start();
  t.teardown(() => thumbnails.stop());
  const size = async (id: string) => {
    const meta = await sharp(await bytes(await vfs.readThumbnail(inst, id, 'large'))).metadata();
    return [meta.width, meta.height];
  };
  const doc = await files.createFile(inst, { dirId: ROOT, name: 'cat.jpg' }, Readable.from([await jpeg(640, 320)]));
  t.equal(doc.class, 'image');
  await thumbnails.maker.idle();
  t.same(await size(doc._id), [640, 320]);
  await files.overwriteFile(inst, doc._id, {}, Readable.from([await jpeg(320, 640)]));
  await thumbnails.maker.idle();
  t.same(await size(doc._id), [320, 640], 'made again from the new content');
  await files.destroy(inst, doc._id);
  await thumbnails.maker.idle();
  t.equal(await statusOf(vfs.readThumbnail(inst, doc._id, 'tiny')), 404);
});
