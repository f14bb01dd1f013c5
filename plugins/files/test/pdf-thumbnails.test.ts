import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import pino from 'pino';
import { VFS, newInternalId, type Doc, type InstanceDoc, type VfsContent } from '@cozy-ts/kernel';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import { attrs, setup } from './helpers.ts';
import { pdfOfPages, pdfWithPages } from './pdf-fixtures.ts';
import { freshInstance, kernelPerFile } from './shared-kernel.ts';
import { wantsThumbnails } from '../src/thumbnails/formats.ts';
import { PdfRenderError, PdfRenderer } from '../src/thumbnails/pdf-renderer.ts';
import { Thumbnails, registerThumbnailRoutes } from '../src/thumbnails/routes.ts';
import { thumbnailLinks } from '../src/thumbnails/secrets.ts';
import { filesRoutesApp } from './shared-kernel.ts';

const FILES = 'io.cozy.files';
const ROOT = 'io.cozy.files.root-dir';
const TINY = { width: 96, height: 96, enlarge: true };
const LARGE = { width: 1920, height: 1080, enlarge: false };

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The mean grey level (0 black .. 255 white) of a horizontal band of raw RGB pixels, from row `from` to `to`. */
function meanLevel(pixels: Buffer, width: number, from: number, to: number): number {
  let sum = 0;
  for (let i = from * width * 3; i < to * width * 3; i++) sum += pixels[i] as number;
  return sum / ((to - from) * width * 3);
}

function renderer(t: Test, limits: ConstructorParameters<typeof PdfRenderer>[0] = {}): PdfRenderer {
  const r = new PdfRenderer(limits);
  t.teardown(() => r.close());
  return r;
}

/** A page whose content makes MuPDF work for seconds: two million strokes, deflated to a few dozen KB. */
function slowPdf(): Buffer {
  return pdfWithPages([{ content: '0 0 m 595 842 l S\n'.repeat(2_000_000) }]);
}

t.test('the first page is rendered fitted in the box, as ImageMagick at 72 dpi then -thumbnail', async (t) => {
  const r = renderer(t);
  const tiny = await r.render(pdfOfPages(1), TINY);
  t.same([tiny.width, tiny.height], [68, 96], 'an A4 page in 96x96');
  const large = await r.render(pdfOfPages(1), LARGE);
  t.same([large.width, large.height], [595, 842], 'shrink only: an A4 page at 72 dpi fits 1920x1080');
  const landscape = await r.render(pdfWithPages([{ width: 3000, height: 1000 }]), LARGE);
  t.same([landscape.width, landscape.height], [1920, 640]);
  // The fixtures draw a dark band over the top third of a white page.
  t.ok(meanLevel(large.pixels, large.width, 10, 250) < 40, 'the top third is dark');
  t.ok(meanLevel(large.pixels, large.width, 600, 830) > 240, 'the bottom is white paper');
});

t.test('only the first page of a long document is rendered', async (t) => {
  const r = renderer(t);
  const pages = [{ content: '0 0 0 rg 0 0 595 842 re f' }, ...Array.from({ length: 49 }, () => ({ content: '' }))];
  const page = await r.render(pdfWithPages(pages), TINY);
  t.ok(meanLevel(page.pixels, page.width, 0, page.height) < 10, 'page 1 (all black) is the one shown');
  const blankFirst = await r.render(pdfWithPages([{ content: '' }, { content: '0 0 0 rg 0 0 595 842 re f' }]), TINY);
  t.ok(meanLevel(blankFirst.pixels, blankFirst.width, 0, blankFirst.height) > 250, 'page 2 is never drawn');
});

t.test('broken files are refused with a PdfRenderError and the renderer goes on', async (t) => {
  const r = renderer(t);
  const whole = pdfOfPages(3);
  for (const [name, pdf] of [
    ['not a PDF', Buffer.from('hello, world')],
    ['an empty file', Buffer.alloc(0)],
    ['a truncated PDF', whole.subarray(0, 300)],
    ['a PDF without pages', pdfWithPages([])],
  ] as const) {
    await t.rejects(r.render(pdf, TINY), PdfRenderError, name);
  }
  const ok = await r.render(whole, TINY);
  t.same([ok.width, ok.height], [68, 96], 'a valid file renders after the broken ones');
});

t.test('a huge page is rendered at the box size, never at its own', async (t) => {
  const r = renderer(t);
  // 14400 pt is PDF's largest page side: 200 inches, 207 Mpx at 72 dpi.
  const big = await r.render(pdfWithPages([{ width: 14_400, height: 14_400 }]), LARGE);
  t.same([big.width, big.height], [1080, 1080]);
  const absurd = await r.render(pdfWithPages([{ width: 1e7, height: 1e7 }]), LARGE);
  t.ok(absurd.width <= 1920 && absurd.height <= 1080, `an out-of-spec size is bounded too (${absurd.width}x${absurd.height})`);
  const thin = await r.render(pdfWithPages([{ width: 1, height: 14_400 }]), TINY);
  t.ok(thin.width >= 1 && thin.height === 96, 'a one-point-wide page still gives an image');
});

t.test('a render that takes too long is killed, and the next file renders', async (t) => {
  const r = renderer(t, { timeoutMs: 1500 });
  // Warm up: the first render also starts the worker.
  await r.render(pdfOfPages(1), TINY);
  const started = Date.now();
  await t.rejects(r.render(slowPdf(), LARGE), { name: 'PdfRenderError', message: /took more than 1500 ms/ });
  t.ok(Date.now() - started < 5000, 'stopped at the time limit');
  const after = await r.render(pdfOfPages(1), TINY);
  t.same([after.width, after.height], [68, 96], 'a new worker took over');
});

t.test('MuPDF\'s heap is capped: a file needing more fails cleanly', async (t) => {
  const r = renderer(t, { maxHeapBytes: 48 * 1024 * 1024 });
  // A 60 MB uncompressed image: the document alone is more than the cap once copied into MuPDF's heap.
  const side = 4500;
  const pdf = pdfWithPages([{ content: '595 0 0 842 0 0 cm /Im1 Do', resources: '/XObject << /Im1 5 0 R >>' }], [
    { dict: `/Type /XObject /Subtype /Image /Width ${side} /Height ${side} /ColorSpace /DeviceRGB /BitsPerComponent 8`, stream: Buffer.alloc(side * side * 3, 0x80) },
  ]);
  await t.rejects(r.render(pdf, TINY), { name: 'PdfRenderError', message: /malloc|memory/ });
  const after = await r.render(pdfOfPages(1), TINY);
  t.same([after.width, after.height], [68, 96]);
});

t.test('a stopped renderer refuses work as retryable: the file is not at fault', async (t) => {
  const r = new PdfRenderer();
  await r.render(pdfOfPages(1), TINY);
  await r.close();
  await r.close();
  await t.rejects(r.render(pdfOfPages(1), TINY), { name: 'PdfRenderError', retryable: true });
  await t.rejects(r.render(Buffer.from('junk'), TINY), { name: 'PdfRenderError', retryable: true });
  const fresh = renderer(t);
  await t.rejects(fresh.render(Buffer.from('junk'), TINY), { name: 'PdfRenderError', retryable: false }, 'a broken file is not retryable');
});

t.test('PDFs qualify for thumbnails as images do (class pdf, below 100 MB, not trashed)', async (t) => {
  t.equal(wantsThumbnails({ type: 'file', class: 'pdf', mime: 'application/pdf', size: '1000' }), true);
  t.equal(wantsThumbnails({ type: 'file', class: 'pdf', mime: 'application/pdf', size: String(100 * 1024 * 1024) }), false);
  t.equal(wantsThumbnails({ type: 'file', class: 'pdf', mime: 'application/pdf', size: '1000', trashed: true }), false);
  t.equal(wantsThumbnails({ type: 'file', class: 'text', mime: 'text/plain', size: '1000' }), false);
});

// ---- the thumbnail maker and its route, on a kernel shared by this file ----

interface Env {
  tk: TestKernel;
  inst: InstanceDoc;
  vfs: VfsContent;
  thumbnails: Thumbnails;
  upload(id: string, content: Buffer, over?: Record<string, unknown>): Promise<Doc>;
  dims(id: string, format: string): Promise<[number, number] | 404>;
}

const sharedKernel = kernelPerFile({ '@cozy-ts/plugin-vfs-local': {} });

async function env(t: Test, opts: { start?: boolean } = {}): Promise<Env> {
  const tk = await sharedKernel();
  const inst = await freshInstance(tk);
  const vfs = tk.kernel.container.resolve<VfsContent>(VFS.token);
  const store = tk.kernel.store;
  await store.put(inst, FILES, { _id: ROOT, type: 'directory', name: '', path: '/' });
  const thumbnails = new Thumbnails({ store, vfs, instances: tk.kernel.instances, cluster: tk.kernel.cluster, events: tk.kernel.events, log: pino({ level: 'silent' }) });
  if (opts.start !== false) thumbnails.start();
  t.teardown(() => thumbnails.stop());
  const upload: Env['upload'] = async (id, content, over = {}) => {
    const internalId = newInternalId();
    const old = await store.get(inst, FILES, id).catch(() => undefined);
    const writer = await vfs.createWriter(inst, { id, internalId, path: `/${id}.pdf` }, old ? { replaces: { internalId: String(old.internal_vfs_id), keepAsVersion: false } } : {});
    writer.end(content);
    await writer.commit();
    const doc = {
      ...(old ?? {}), _id: id, type: 'file', name: `${id}.pdf`, dir_id: ROOT, size: String(content.length),
      md5sum: createHash('md5').update(content).digest('base64'), mime: 'application/pdf', class: 'pdf', trashed: false, internal_vfs_id: internalId, ...over,
    };
    const res = await store.put(inst, FILES, doc);
    return { ...doc, _rev: res.rev };
  };
  const dims: Env['dims'] = async (id, format) => {
    let jpeg;
    try {
      jpeg = await bytes(await vfs.readThumbnail(inst, id, format));
    } catch (err) {
      if ((err as { status?: number }).status === 404) return 404;
      throw err;
    }
    const meta = await sharp(jpeg).metadata();
    t.equal(meta.format, 'jpeg', `${format} is a JPEG`);
    return [meta.width as number, meta.height as number];
  };
  return { tk, inst, vfs, thumbnails, upload, dims };
}

t.test('an uploaded PDF gets tiny at once, and each other format when it is asked for', async (t) => {
  const e = await env(t);
  const doc = await e.upload('doc-000001', pdfOfPages(50));
  await e.thumbnails.maker.idle();
  t.same(await e.dims('doc-000001', 'tiny'), [68, 96], 'tiny, from the first page');
  t.equal(await e.dims('doc-000001', 'small'), 404, 'small is not made before it is asked for (cozy-stack makes tiny only)');
  t.equal(await e.thumbnails.maker.request(e.inst, doc, 'small'), true);
  await e.thumbnails.maker.idle();
  t.same(await e.dims('doc-000001', 'small'), [340, 480]);
  t.equal(await e.dims('doc-000001', 'large'), 404, 'only the asked format was made');
  await e.thumbnails.maker.request(e.inst, doc, 'large');
  await e.thumbnails.maker.idle();
  t.same(await e.dims('doc-000001', 'large'), [595, 842]);
});

t.test('a new content of a PDF drops the formats of the old one and makes tiny again', async (t) => {
  const e = await env(t);
  const doc = await e.upload('doc-000002', pdfOfPages(1));
  await e.thumbnails.maker.idle();
  await e.thumbnails.maker.request(e.inst, doc, 'medium');
  await e.thumbnails.maker.idle();
  t.same(await e.dims('doc-000002', 'medium'), [509, 720]);
  await e.upload('doc-000002', pdfOfPages(1, { width: 842, height: 595 }));
  await e.thumbnails.maker.idle();
  t.equal(await e.dims('doc-000002', 'medium'), 404, 'the portrait medium is gone');
  t.same(await e.dims('doc-000002', 'tiny'), [96, 68], 'tiny of the landscape content');
  await e.upload('doc-000002', Buffer.from('plain text now'), { class: 'text', mime: 'text/plain' });
  await e.thumbnails.maker.idle();
  t.equal(await e.dims('doc-000002', 'tiny'), 404, 'no thumbnail once it is not a PDF');
});

t.test('a broken PDF gets no thumbnail, is not retried on every view, and does not stop the queue', async (t) => {
  const e = await env(t);
  const broken = await e.upload('broken-pdf', Buffer.from(`%PDF-1.4\n${'garbage '.repeat(100)}`));
  await e.upload('fine-pdf01', pdfOfPages(1));
  await e.thumbnails.maker.idle();
  t.equal(await e.dims('broken-pdf', 'tiny'), 404);
  t.equal(await e.thumbnails.maker.request(e.inst, broken, 'small'), false, 'this content failed lately');
  t.same(await e.dims('fine-pdf01', 'tiny'), [68, 96]);
});

t.test('a PDF job after the maker stopped fails, rather than marking the file as broken', async (t) => {
  const e = await env(t, { start: false });
  const doc = await e.upload('doc-000004', pdfOfPages(1));
  await e.thumbnails.stop();
  await t.rejects(e.thumbnails.maker.sync(e.inst, doc._id), { name: 'PdfRenderError', retryable: true });
  t.equal(await e.dims(doc._id, 'tiny'), 404);
});

t.test('the thumbnail route of a PDF: placeholder and 404, then the rendered page', async (t) => {
  const e = await env(t, { start: false });
  const app = await filesRoutesApp(t, e.inst, (scoped) => registerThumbnailRoutes(scoped, e.thumbnails));
  await e.upload('doc-000003', pdfOfPages(1));
  const links = thumbnailLinks('doc-000003', await e.thumbnails.secrets.add(e.inst, 'doc-000003'));
  const before = await app.inject({ method: 'GET', url: links.small });
  t.equal(before.statusCode, 404);
  t.equal(before.headers['content-type'], 'image/png', 'the placeholder');
  await e.thumbnails.maker.idle();
  const after = await app.inject({ method: 'GET', url: links.small });
  t.equal(after.statusCode, 200, 'the followed link asked for the format');
  t.equal(after.headers['content-type'], 'image/jpeg');
  const meta = await sharp(after.rawPayload).metadata();
  t.same([meta.width, meta.height], [340, 480]);
  t.equal((await app.inject({ method: 'GET', url: links.tiny })).statusCode, 404, 'tiny was not asked yet: the maker does not follow events here');
});

t.test('through /files with the jobs plugin: tiny on upload, a thumbnail job with the format on demand', async (t) => {
  const s = await setup(t, { plugins: { '@cozy-ts/plugin-jobs': { broker: 'memory', backoffMs: 50 } } });
  const res = await s.call('POST', '/files/?Type=file&Name=report.pdf', { body: pdfOfPages(5), headers: { 'content-type': 'application/pdf' } });
  t.equal(res.statusCode, 201);
  const file = attrs(res);
  t.equal(file.class, 'pdf');
  const vfs = s.tk.kernel.container.resolve<VfsContent>(VFS.token);
  const thumb = async (format: string) => {
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
      try {
        return await sharp(await bytes(await vfs.readThumbnail(s.inst, file.id, format))).metadata();
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
      }
    }
    return null;
  };
  const tiny = await thumb('tiny');
  t.same([tiny?.width, tiny?.height], [68, 96], 'tiny made by a thumbnail job');
  const links = (res.json() as { data: { links: Record<string, string> } }).data.links;
  t.ok(links.medium, 'a PDF has thumbnail links');
  const first = await s.call('GET', links.medium as string, { scope: null });
  t.equal(first.statusCode, 404, 'placeholder while the job runs');
  const medium = await thumb('medium');
  t.same([medium?.width, medium?.height], [509, 720], 'made by the job the link queued');
  const jobs = await s.tk.kernel.store.allDocs(s.inst, 'io.cozy.jobs', { include_docs: true });
  const messages = jobs.rows.flatMap((r) => (r.doc?.worker === 'thumbnail' ? [r.doc.message] : []));
  t.ok(messages.some((m) => (m as { format?: string }).format === 'medium'), 'the job message names the format, as cozy-stack\'s');
  t.equal((await s.call('GET', links.medium as string, { scope: null })).statusCode, 200);
});
