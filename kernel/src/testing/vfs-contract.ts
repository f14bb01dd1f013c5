/**
 * The VFS content contract: every `vfs` backend runs this same table (the rules are in `capabilities/vfs.ts`),
 * as cozy-stack runs one test table against its afero and Swift backends.
 *
 * Each case gets a fresh backend from `make` and two fresh instances (one with a port in its domain), destroyed
 * afterwards. Where the layouts legitimately differ (a path-addressed backend has directories, an id-addressed
 * one ignores paths), a case asserts the common rule and checks the layout-specific part only for the
 * addressing the backend declares.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Test } from 'tap';
import { VFS_TRASH_PATH, VfsErrors, newInternalId, type ContentInfo, type ContentRef, type StoredEntry, type VfsContent, type WriteOptions } from '../capabilities/vfs.ts';
import { isCozyError, type CozyError } from '../errors.ts';
import type { InstanceRef } from '../instances/instance.ts';

export interface VfsSubject {
  vfs: VfsContent;
  /** Releases what `make` set up (temporary folders, containers...). */
  cleanup: () => Promise<void>;
}

export type MakeVfs = () => Promise<VfsSubject>;

interface Ctx {
  vfs: VfsContent;
  inst: InstanceRef;
  /** A second instance, to check isolation. */
  other: InstanceRef;
  /** A new file's ref at `path` (a fresh internal id; a fresh file id unless given). */
  ref: (path: string, id?: string) => ContentRef;
  /** Writes `body` as `ref`'s content in one go and commits. */
  put: (ref: ContentRef, body: string | Buffer, opts?: WriteOptions, inst?: InstanceRef) => Promise<ContentInfo>;
}

type ErrorKind = { code: string; status: number };
type Case = { title: string; run: (t: Test, ctx: Ctx) => Promise<void> };

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest();

async function text(stream: Promise<Readable> | Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function failure(promise: Promise<unknown>): Promise<CozyError> {
  try {
    await promise;
  } catch (err) {
    if (isCozyError(err)) return err;
    throw new Error(`expected a CozyError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection, the call succeeded');
}

async function rejectsWith(t: Test, promise: Promise<unknown>, kind: ErrorKind, what: string): Promise<void> {
  const err = await failure(promise);
  t.equal(err.code, kind.code, `${what}: code`);
  t.equal(err.status, kind.status, `${what}: status`);
}

async function stored(vfs: VfsContent, inst: InstanceRef): Promise<StoredEntry[]> {
  const entries: StoredEntry[] = [];
  for await (const entry of vfs.walk(inst)) entries.push(entry);
  return entries;
}

/** Whether the walk shows `ref`'s current content, whatever the addressing. */
function shows(vfs: VfsContent, entries: StoredEntry[], ref: ContentRef): boolean {
  return entries.some((e) =>
    vfs.addressing === 'path'
      ? e.kind === 'file' && e.path === ref.path
      : e.kind === 'object' && e.id === ref.id && e.internalId === ref.internalId,
  );
}

/** Checks that an upload that failed left nothing: no content, no temporary, nothing in the walk. */
async function leftNothing(t: Test, { vfs, inst }: Ctx, ref: ContentRef): Promise<void> {
  await rejectsWith(t, vfs.read(inst, ref), VfsErrors.notFound, 'no content');
  t.equal(await vfs.cleanupTemporaries(inst), 0, 'no temporary left behind');
  t.notOk(shows(vfs, await stored(vfs, inst), ref), 'nothing stored');
}

function randomDomain(port?: number): string {
  const name = `vfs-${randomBytes(6).toString('hex')}.example`;
  return port === undefined ? name : `${name}:${port}`;
}

const fileId = () => randomBytes(16).toString('hex');

const cases: Case[] = [
  {
    title: 'uploads a file and reads it back with its size, MD5 and stat',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const ref = ctx.ref('/hello.txt');
      const writer = await vfs.createWriter(inst, ref, { expectedSize: 11, expectedMd5: md5('hello world') });
      await pipeline(Readable.from([Buffer.from('hello '), Buffer.from('world')]), writer);
      t.equal(writer.bytesWritten, 11);
      const info = await writer.commit();
      t.equal(info.size, 11);
      t.same(info.md5, md5('hello world'));
      t.equal(info.versionKept, false);
      t.equal(await text(vfs.read(inst, ref)), 'hello world');
      const st = await vfs.stat(inst, ref);
      t.equal(st.size, 11);
      t.type(st.mtime, Date);
      t.ok(shows(vfs, await stored(vfs, inst), ref), 'the walk shows it');
      await writer.abort();
      t.equal(await text(vfs.read(inst, ref)), 'hello world', 'abort after commit changes nothing');
      await rejectsWith(t, writer.commit(), VfsErrors.writerClosed, 'a second commit');

      const empty = ctx.ref('/empty');
      const none = await ctx.put(empty, '', { expectedSize: 0 });
      t.equal(none.size, 0);
      t.same(none.md5, md5(''));
      t.equal(await text(vfs.read(inst, empty)), '');
    },
  },
  {
    title: 'a commit without expectations computes size and MD5; commit ends a stream the caller left open',
    async run(t, { vfs, inst, ref }) {
      const file = ref('/open.bin');
      const writer = await vfs.createWriter(inst, file);
      await new Promise<void>((resolve, reject) => writer.write('abc', (err) => (err ? reject(err) : resolve())));
      const info = await writer.commit();
      t.equal(info.size, 3);
      t.same(info.md5, md5('abc'));
      t.equal(await text(vfs.read(inst, file)), 'abc');
    },
  },
  {
    title: 'reads byte ranges, clamps an end past the content and refuses unsatisfiable ranges with 416',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const ref = ctx.ref('/digits');
      await ctx.put(ref, '0123456789');
      t.equal(await text(vfs.read(inst, ref, { start: 0, end: 0 })), '0');
      t.equal(await text(vfs.read(inst, ref, { start: 2, end: 5 })), '2345');
      t.equal(await text(vfs.read(inst, ref, { start: 7 })), '789');
      t.equal(await text(vfs.read(inst, ref, { start: 8, end: 100 })), '89');
      t.equal(await text(vfs.read(inst, ref, { start: 9, end: 9 })), '9');
      await rejectsWith(t, vfs.read(inst, ref, { start: 10 }), VfsErrors.badRange, 'start past the end');
      await rejectsWith(t, vfs.read(inst, ref, { start: 5, end: 4 }), VfsErrors.badRange, 'end before start');
      await rejectsWith(t, vfs.read(inst, ref, { start: -1 }), VfsErrors.badRange, 'negative start');
      await rejectsWith(t, vfs.read(inst, ref, { start: 1.5 }), VfsErrors.badRange, 'fractional start');
      await rejectsWith(t, vfs.read(inst, ctx.ref('/nope')), VfsErrors.notFound, 'absent content');
      await rejectsWith(t, vfs.stat(inst, ctx.ref('/nope')), VfsErrors.notFound, 'stat of absent content');
    },
  },
  {
    title: 'a size mismatch is 412 and leaves nothing, whether the body is short or long',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const short = ctx.ref('/short');
      const w1 = await vfs.createWriter(inst, short, { expectedSize: 10 });
      await pipeline(Readable.from([Buffer.from('12345')]), w1);
      await rejectsWith(t, w1.commit(), VfsErrors.sizeMismatch, 'short body');
      await leftNothing(t, ctx, short);

      const long = ctx.ref('/long');
      const w2 = await vfs.createWriter(inst, long, { expectedSize: 3 });
      await rejectsWith(t, pipeline(Readable.from([Buffer.from('12'), Buffer.from('345')]), w2), VfsErrors.sizeMismatch, 'long body fails while streaming');
      await rejectsWith(t, w2.commit(), VfsErrors.sizeMismatch, 'and at commit');
      await w2.abort();
      await leftNothing(t, ctx, long);
    },
  },
  {
    title: 'an MD5 mismatch is 412 and leaves nothing',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const ref = ctx.ref('/bad-md5');
      const writer = await vfs.createWriter(inst, ref, { expectedMd5: md5('something else') });
      await pipeline(Readable.from([Buffer.from('the content')]), writer);
      await rejectsWith(t, writer.commit(), VfsErrors.md5Mismatch, 'md5');
      await leftNothing(t, ctx, ref);
    },
  },
  {
    title: 'maxSize stops a body at once with 413 and leaves nothing',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const ref = ctx.ref('/big');
      const writer = await vfs.createWriter(inst, ref, { maxSize: 4 });
      await rejectsWith(t, pipeline(Readable.from([Buffer.from('1234'), Buffer.from('5')]), writer), VfsErrors.tooLarge, 'stream');
      await writer.abort();
      await leftNothing(t, ctx, ref);
      if (vfs.maxFileSize !== null) {
        await rejectsWith(t, vfs.createWriter(inst, ctx.ref('/huge'), { expectedSize: vfs.maxFileSize + 1 }), VfsErrors.tooLarge, 'beyond maxFileSize');
      }
    },
  },
  {
    title: 'abort and a failing body leave nothing; cleanupTemporaries spares live writers',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const aborted = ctx.ref('/aborted');
      const w1 = await vfs.createWriter(inst, aborted);
      await new Promise<void>((resolve, reject) => w1.write('partial', (err) => (err ? reject(err) : resolve())));
      t.equal(await vfs.cleanupTemporaries(inst), 0, 'a live writer keeps its temporary');
      await w1.abort();
      await w1.abort();
      await rejectsWith(t, w1.commit(), VfsErrors.writerClosed, 'commit after abort');
      await leftNothing(t, ctx, aborted);

      const broken = ctx.ref('/broken');
      const w2 = await vfs.createWriter(inst, broken);
      const body = Readable.from((async function* () {
        yield Buffer.from('first part');
        throw new Error('client went away');
      })());
      await t.rejects(pipeline(body, w2), /client went away/);
      await t.rejects(w2.commit(), 'commit after a failed body');
      await w2.abort();
      await leftNothing(t, ctx, broken);
    },
  },
  {
    title: 'two concurrent uploads go to separate temporaries and both land intact',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const a = ctx.ref('/a.bin');
      const b = ctx.ref('/b.bin');
      const wa = await vfs.createWriter(inst, a);
      const wb = await vfs.createWriter(inst, b);
      const write = (w: Writable, s: string) => new Promise<void>((resolve, reject) => w.write(s, (e) => (e ? reject(e) : resolve())));
      for (let i = 0; i < 50; i++) {
        await Promise.all([write(wa, `a${i};`), write(wb, `b${i};`)]);
      }
      const [ia, ib] = await Promise.all([wa.commit(), wb.commit()]);
      const expect = (p: string) => Array.from({ length: 50 }, (_, i) => `${p}${i};`).join('');
      t.equal(await text(vfs.read(inst, a)), expect('a'));
      t.equal(await text(vfs.read(inst, b)), expect('b'));
      t.same(ia.md5, md5(expect('a')));
      t.same(ib.md5, md5(expect('b')));
    },
  },
  {
    title: 'a new content never replaces an existing one (409)',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const ref = ctx.ref('/taken');
      await ctx.put(ref, 'first');
      await rejectsWith(t, ctx.put(ref, 'second'), VfsErrors.exists, 'same ref');
      t.equal(await text(vfs.read(inst, ref)), 'first');
      t.equal(await vfs.cleanupTemporaries(inst), 0, 'the refused temporary is gone');
    },
  },
  {
    title: 'names that differ only by Unicode normalisation or case are different files',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const nfc = ctx.ref('/caf\u00e9');
      const nfd = ctx.ref('/cafe\u0301');
      const upper = ctx.ref('/CAF\u00c9');
      await ctx.put(nfc, 'nfc');
      await ctx.put(nfd, 'nfd');
      await ctx.put(upper, 'upper');
      t.equal(await text(vfs.read(inst, nfc)), 'nfc');
      t.equal(await text(vfs.read(inst, nfd)), 'nfd');
      t.equal(await text(vfs.read(inst, upper)), 'upper');
    },
  },
  {
    title: 'moves and renames a file; the content follows, the old path is free',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      await vfs.createDir(inst, '/dir');
      const ref = ctx.ref('/note.txt');
      await ctx.put(ref, 'content');
      await vfs.moveFile(inst, ref, '/dir/renamed.txt');
      const moved = { ...ref, path: '/dir/renamed.txt' };
      t.equal(await text(vfs.read(inst, moved)), 'content');
      await vfs.moveFile(inst, moved, `${VFS_TRASH_PATH}/renamed.txt`);
      const trashed = { ...ref, path: `${VFS_TRASH_PATH}/renamed.txt` };
      t.equal(await text(vfs.read(inst, trashed)), 'content', 'the trash is a directory like the others');
      await vfs.moveFile(inst, trashed, '/Note.txt');
      const cased = { ...ref, path: '/Note.txt' };
      t.equal(await text(vfs.read(inst, cased)), 'content');
      const other = ctx.ref('/other.txt');
      await ctx.put(other, 'other');
      if (vfs.addressing === 'path') {
        await rejectsWith(t, vfs.read(inst, ref), VfsErrors.notFound, 'old path');
        await rejectsWith(t, vfs.moveFile(inst, cased, '/other.txt'), VfsErrors.exists, 'onto an existing file');
        await rejectsWith(t, vfs.moveFile(inst, cased, '/missing/x'), VfsErrors.parentNotFound, 'into a missing dir');
      }
      t.equal(await text(vfs.read(inst, other)), 'other', 'the other file is untouched');
      t.equal(await text(vfs.read(inst, cased)), 'content');
    },
  },
  {
    title: 'directories are created idempotently, renamed with their content and deleted',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      await vfs.createDir(inst, '/a');
      await vfs.createDir(inst, '/a');
      await vfs.createDir(inst, '/a/b');
      const ref = ctx.ref('/a/b/f.txt');
      await ctx.put(ref, 'deep');
      await vfs.renameDir(inst, '/a', '/c');
      const moved = { ...ref, path: '/c/b/f.txt' };
      t.equal(await text(vfs.read(inst, moved)), 'deep');
      if (vfs.addressing === 'path') {
        const dirs = (await stored(vfs, inst)).flatMap((e) => (e.kind === 'dir' ? [e.path] : []));
        t.same(dirs.sort(), [VFS_TRASH_PATH, '/c', '/c/b'].sort(), 'the walk shows the new tree');
        await rejectsWith(t, vfs.createDir(inst, '/x/y'), VfsErrors.parentNotFound, 'missing parent');
        await rejectsWith(t, vfs.createDir(inst, '/c/b/f.txt'), VfsErrors.exists, 'a file is there');
        await vfs.createDir(inst, '/d');
        await rejectsWith(t, vfs.renameDir(inst, '/c', '/d'), VfsErrors.exists, 'onto an existing dir');
        await rejectsWith(t, vfs.renameDir(inst, '/c', '/c/b/inside'), VfsErrors.forbiddenMove, 'into itself');
      }
      await vfs.deleteFile(inst, moved);
      await vfs.deleteDir(inst, '/c');
      await vfs.deleteDir(inst, '/c');
      await rejectsWith(t, vfs.read(inst, moved), VfsErrors.notFound, 'gone with its dir');
      if (vfs.addressing === 'path') {
        t.notOk((await stored(vfs, inst)).some((e) => e.kind === 'dir' && e.path.startsWith('/c')), 'the dir is gone');
      }
    },
  },
  {
    title: 'deletes a file with its versions and thumbnails, idempotently',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const v1 = ctx.ref('/doc.txt');
      await ctx.put(v1, 'one');
      const v2 = { ...v1, internalId: newInternalId() };
      await ctx.put(v2, 'two', { replaces: { internalId: v1.internalId, keepAsVersion: true } });
      await putThumb(ctx, v1.id, 'small', 'thumb');
      await vfs.deleteFile(inst, v2);
      await vfs.deleteFile(inst, v2);
      await rejectsWith(t, vfs.read(inst, v2), VfsErrors.notFound, 'content');
      await rejectsWith(t, vfs.readVersion(inst, v1), VfsErrors.notFound, 'version');
      await rejectsWith(t, vfs.readThumbnail(inst, v1.id, 'small'), VfsErrors.notFound, 'thumbnail');
      const left = (await stored(vfs, inst)).filter((e) => 'id' in e && e.id === v1.id);
      t.same(left, [], 'nothing of the file in the walk');
    },
  },
  {
    title: 'an overwrite keeps the old content as a version that can be read, reverted and deleted',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const v1 = ctx.ref('/report.txt');
      await ctx.put(v1, 'version one');
      const v2 = { ...v1, internalId: newInternalId() };
      const info = await ctx.put(v2, 'version two', { replaces: { internalId: v1.internalId, keepAsVersion: true } });
      t.equal(info.versionKept, true);
      t.equal(await text(vfs.read(inst, v2)), 'version two');
      t.equal(await text(vfs.readVersion(inst, v1)), 'version one');
      t.equal(await text(vfs.readVersion(inst, v1, { start: 8 })), 'one', 'ranges on versions');
      await rejectsWith(t, vfs.readVersion(inst, { id: v1.id, internalId: newInternalId() }), VfsErrors.notFound, 'unknown version');

      const v3 = { ...v1, internalId: newInternalId() };
      await ctx.put(v3, 'version three', { replaces: { internalId: v2.internalId, keepAsVersion: true } });
      const entries = await stored(vfs, inst);
      const kind = vfs.addressing === 'path' ? 'version' : 'object';
      const versions = entries.flatMap((e) => (e.kind === kind && e.id === v1.id ? [e.internalId] : []));
      t.ok(versions.includes(v1.internalId) && versions.includes(v2.internalId), 'the walk shows both versions');

      // Revert to v1: v1's content becomes current, what was current (v3) is kept as a version.
      await vfs.revertVersion(inst, v3, v1);
      const reverted = { ...v1 };
      t.equal(await text(vfs.read(inst, reverted)), 'version one');
      t.equal(await text(vfs.readVersion(inst, v3)), 'version three', 'the replaced content is a version');
      t.equal(await text(vfs.readVersion(inst, v2)), 'version two');
      await rejectsWith(t, vfs.revertVersion(inst, reverted, { id: v1.id, internalId: newInternalId() }), VfsErrors.notFound, 'revert to an unknown version');
      t.equal(await text(vfs.read(inst, reverted)), 'version one', 'a failed revert changes nothing');

      await vfs.deleteVersion(inst, v2);
      await vfs.deleteVersion(inst, v2);
      await rejectsWith(t, vfs.readVersion(inst, v2), VfsErrors.notFound, 'deleted version');
      t.equal(await text(vfs.readVersion(inst, v3)), 'version three', 'other versions stay');
      t.equal(await text(vfs.read(inst, reverted)), 'version one', 'the current content stays');
    },
  },
  {
    title: 'an overwrite without a version replaces the content and keeps nothing else',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const v1 = ctx.ref('/plain.txt');
      await ctx.put(v1, 'old');
      const v2 = { ...v1, internalId: newInternalId() };
      const info = await ctx.put(v2, 'new', { replaces: { internalId: v1.internalId, keepAsVersion: false } });
      t.equal(info.versionKept, false);
      t.equal(await text(vfs.read(inst, v2)), 'new');
      await rejectsWith(t, vfs.readVersion(inst, v1), VfsErrors.notFound, 'no version');
      const v3 = { ...v1, internalId: newInternalId() };
      const failed = await vfs.createWriter(inst, v3, { expectedSize: 99, replaces: { internalId: v2.internalId, keepAsVersion: true } });
      await pipeline(Readable.from([Buffer.from('short')]), failed);
      await rejectsWith(t, failed.commit(), VfsErrors.sizeMismatch, 'a failed overwrite');
      t.equal(await text(vfs.read(inst, v2)), 'new', 'a failed overwrite keeps the current content');
      await rejectsWith(t, vfs.readVersion(inst, v2), VfsErrors.notFound, 'and makes no version');
    },
  },
  {
    title: 'copies a file as a new one',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const src = ctx.ref('/original.txt');
      await ctx.put(src, 'copy me');
      const dst = ctx.ref('/original (copy).txt');
      const info = await vfs.copyFile(inst, src, dst);
      t.equal(info.size, 7);
      t.same(info.md5, md5('copy me'));
      t.equal(await text(vfs.read(inst, dst)), 'copy me');
      t.equal(await text(vfs.read(inst, src)), 'copy me');
      await rejectsWith(t, vfs.copyFile(inst, src, dst), VfsErrors.exists, 'onto existing content');
      await rejectsWith(t, vfs.copyFile(inst, ctx.ref('/missing'), ctx.ref('/x')), VfsErrors.notFound, 'from absent content');
    },
  },
  {
    title: 'thumbnails are written, read, replaced and deleted by file id and format',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const id = fileId();
      await putThumb(ctx, id, 'small', 'small v1');
      await putThumb(ctx, id, 'medium', 'medium');
      await putThumb(ctx, id, 'small', 'small v2');
      t.equal(await text(vfs.readThumbnail(inst, id, 'small')), 'small v2');
      t.equal(await text(vfs.readThumbnail(inst, id, 'medium')), 'medium');
      await rejectsWith(t, vfs.readThumbnail(inst, id, 'large'), VfsErrors.notFound, 'absent format');
      const formats = (await stored(vfs, inst)).flatMap((e) => (e.kind === 'thumbnail' && e.id === id ? [e.format] : []));
      t.same(formats.sort(), ['medium', 'small']);
      const aborted = await vfs.createThumbnailWriter(inst, id, 'large');
      aborted.write('half');
      await aborted.abort();
      await rejectsWith(t, vfs.readThumbnail(inst, id, 'large'), VfsErrors.notFound, 'an aborted thumbnail');
      await vfs.deleteThumbnails(inst, id);
      await vfs.deleteThumbnails(inst, id);
      await rejectsWith(t, vfs.readThumbnail(inst, id, 'small'), VfsErrors.notFound, 'deleted');
      t.equal(await vfs.cleanupTemporaries(inst), 0);
    },
  },
  {
    title: 'refuses unsafe paths, ids and formats with 400 before any I/O, on every backend',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      for (const path of ['relative', '/a/../b', '/a/./b', '/a//b', '/a/', '/nul\0', '/.cozy_versions/x', '/.thumbs', `/${'x'.repeat(256)}`]) {
        const label = JSON.stringify(path.slice(0, 30));
        await rejectsWith(t, vfs.createWriter(inst, ctx.ref(path)), VfsErrors.badPath, `write ${label}`);
        await rejectsWith(t, vfs.createDir(inst, path), VfsErrors.badPath, `mkdir ${label}`);
      }
      await rejectsWith(t, vfs.createDir(inst, '/'), VfsErrors.badPath, 'the root is not created');
      await rejectsWith(t, vfs.deleteDir(inst, '/'), VfsErrors.badPath, 'nor deleted');
      const good = ctx.ref('/ok');
      for (const id of ['', 'abc', '../../etc', 'a/b/c/d/e', 'abcd..', 'x'.repeat(200)]) {
        const label = JSON.stringify(id.slice(0, 20));
        await rejectsWith(t, vfs.read(inst, { ...good, id }), VfsErrors.badId, `file id ${label}`);
        await rejectsWith(t, vfs.readThumbnail(inst, id, 'small'), VfsErrors.badId, `thumbnail id ${label}`);
      }
      for (const internalId of ['', '../x', 'a b', 'x'.repeat(65)]) {
        await rejectsWith(t, vfs.createWriter(inst, { ...good, internalId }), VfsErrors.badId, `internal id ${JSON.stringify(internalId.slice(0, 20))}`);
      }
      for (const format of ['', '../x', 'Small', 'a/b']) {
        await rejectsWith(t, vfs.createThumbnailWriter(inst, good.id, format), VfsErrors.badId, `format ${JSON.stringify(format)}`);
      }
      t.equal(await vfs.cleanupTemporaries(inst), 0);
    },
  },
  {
    title: 'two instances are isolated and destroying one leaves the other intact',
    async run(t, ctx) {
      const { vfs, inst, other } = ctx;
      const ref = ctx.ref('/same.txt');
      await ctx.put(ref, 'mine');
      await rejectsWith(t, vfs.read(other, ref), VfsErrors.notFound, 'the other instance does not see it');
      await ctx.put(ref, 'theirs', {}, other);
      await putThumb(ctx, ref.id, 'tiny', 'thumb');
      await vfs.destroyInstance(other);
      await vfs.destroyInstance(other);
      t.equal(await text(vfs.read(inst, ref)), 'mine');
      t.equal(await text(vfs.readThumbnail(inst, ref.id, 'tiny')), 'thumb');
      await rejectsWith(t, vfs.read(other, ref), VfsErrors.notFound, 'the destroyed instance has nothing');
      t.same(await stored(vfs, other), [], 'nothing stored for the destroyed instance');
      await vfs.initInstance(other);
      await rejectsWith(t, vfs.read(other, ref), VfsErrors.notFound, 'a re-created instance starts empty');
    },
  },
  {
    title: 'initInstance is idempotent and lays down the trash; freeSpace answers',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const ref = ctx.ref('/kept');
      await ctx.put(ref, 'kept');
      await vfs.initInstance(inst);
      t.equal(await text(vfs.read(inst, ref)), 'kept', 'a second init keeps the content');
      const trashed = ctx.ref(`${VFS_TRASH_PATH}/x`);
      await ctx.put(trashed, 'in the trash');
      t.equal(await text(vfs.read(inst, trashed)), 'in the trash');
      const free = await vfs.freeSpace(inst);
      t.ok(free === null || (Number.isInteger(free) && free >= 0), `freeSpace: ${free}`);
    },
  },
  {
    title: 'a 40 MB upload streams through with bounded memory and reads back the same',
    async run(t, ctx) {
      const { vfs, inst } = ctx;
      const gc = exposeGc();
      const total = 40 * 1024 * 1024;
      const chunk = 64 * 1024;
      // A full gc costs tens of ms in a test process: every 4 MiB is enough to see a body kept in memory.
      const every = 4 * 1024 * 1024;
      const hash = createHash('md5');
      gc();
      const base = process.memoryUsage().arrayBuffers;
      let peak = 0;
      const sample = () => {
        gc();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      };
      const body = Readable.from((async function* () {
        for (let sent = 0; sent < total; sent += chunk) {
          const buf = randomBytes(chunk);
          hash.update(buf);
          if (sent % every === 0) sample();
          yield buf;
        }
      })());
      const ref = ctx.ref('/big.bin');
      const writer = await vfs.createWriter(inst, ref, { expectedSize: total });
      await pipeline(body, writer);
      const expected = hash.digest();
      const info = await writer.commit();
      t.equal(info.size, total);
      t.same(info.md5, expected);
      const back = createHash('md5');
      let read = 0;
      for await (const part of await vfs.read(inst, ref)) {
        back.update(part as Buffer);
        read += (part as Buffer).length;
        if (read % every < (part as Buffer).length) sample();
      }
      t.equal(read, total);
      t.same(back.digest(), expected);
      // A body kept in memory shows as >= 40 MiB; streaming stays at a few MiB of buffers, GC timing allowing
      // (8.3 MiB was seen on a loaded CI machine), hence the margin.
      t.ok(peak < 16 * 1024 * 1024, `buffer memory grew by ${(peak / 1048576).toFixed(1)} MiB at most while moving 40 MiB`);
    },
  },
];

async function putThumb({ vfs, inst }: Ctx, id: string, format: string, body: string): Promise<void> {
  const writer = await vfs.createThumbnailWriter(inst, id, format);
  await pipeline(Readable.from([Buffer.from(body)]), writer);
  await writer.commit();
}

/** A real gc() so the memory samples count live buffers, not garbage V8 has not collected yet. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function contextFor(vfs: VfsContent, inst: InstanceRef, other: InstanceRef): Ctx {
  const ctx: Ctx = {
    vfs,
    inst,
    other,
    ref: (path, id = fileId()) => ({ id, internalId: newInternalId(), path }),
    async put(ref, body, opts = {}, target = inst) {
      const writer = await vfs.createWriter(target, ref, opts);
      try {
        await pipeline(Readable.from([Buffer.from(body)]), writer);
        return await writer.commit();
      } finally {
        await writer.abort();
      }
    },
  };
  return ctx;
}

const instanceRef = (domain: string): InstanceRef => ({ domain, prefix: `cozy${createHash('sha256').update(domain).digest('hex').slice(0, 32)}` });

export function vfsContract(t: Test, name: string, make: MakeVfs): void {
  for (const c of cases) {
    t.test(`${name}: ${c.title}`, async (t) => {
      const subject = await make();
      const inst = instanceRef(randomDomain());
      const other = instanceRef(randomDomain(8080));
      t.teardown(async () => {
        await subject.vfs.destroyInstance(inst).catch(() => {});
        await subject.vfs.destroyInstance(other).catch(() => {});
        await subject.cleanup();
      });
      await subject.vfs.initInstance(inst);
      await subject.vfs.initInstance(other);
      await c.run(t, contextFor(subject.vfs, inst, other));
    });
  }
}
