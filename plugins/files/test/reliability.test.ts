import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { ROOT_DIR_ID, StoreErrors, isDir } from '@cozy-ts/kernel';
import { filesUnder, mountTinyDisk } from '@cozy-ts/kernel/testing';
import { attrs, setup, type FilesSetup } from './helpers.ts';

const KiB = 1024;

async function mkdir(s: FilesSetup, name: string, parent = ROOT_DIR_ID) {
  const res = await s.call('POST', `/files/${parent}?Type=directory&Name=${encodeURIComponent(name)}`);
  if (res.statusCode !== 201) throw new Error(res.body);
  return attrs(res);
}

async function count(s: FilesSetup, dirId: string): Promise<number> {
  return (await s.call('GET', `/files/${dirId}`)).json().data.relationships.contents.meta.count as number;
}

/** A body that sends some bytes, then fails like a dropped connection. */
function brokenBody(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(bytes, 'p'));
        setTimeout(() => this.destroy(new Error('connection reset')), 20);
      }
    },
  });
}

t.test('concurrency, partial bodies, quota and a store failure', async (t) => {
  const s = await setup(t, { diskQuota: 64 * KiB });
  const instanceFolder = join(s.tk.dir, 'files');

  await t.test('two concurrent uploads of one name into one directory: one 201, one 409, one document', async (t) => {
    const d = await mkdir(s, 'race');
    const results = await Promise.all([1, 2, 3, 4].map((i) => s.call('POST', `/files/${d.id}?Type=file&Name=same.txt`, { body: `body ${i}`, headers: { 'content-type': 'text/plain' } })));
    const codes = results.map((r) => r.statusCode).sort();
    t.same(codes, [201, 409, 409, 409]);
    t.equal(await count(s, d.id), 1, 'never two documents');
    const winner = results.findIndex((r) => r.statusCode === 201);
    t.equal((await s.call('GET', '/files/download?Path=/race/same.txt')).body, `body ${winner + 1}`, "the winner's content");
  });

  await t.test('concurrent crossed moves never make a cycle', async (t) => {
    const a = await mkdir(s, 'cross-a');
    const b = await mkdir(s, 'cross-b');
    const move = (id: string, dirId: string) => s.call('PATCH', `/files/${id}`, { body: { data: { type: 'io.cozy.files', id, attributes: { dir_id: dirId } } } });
    const [ab, ba] = await Promise.all([move(a.id, b.id), move(b.id, a.id)]);
    t.same([ab.statusCode, ba.statusCode].sort(), [200, 412], 'one wins, the other is a move into its own subtree');
    // Walk up from both: each reaches the root.
    for (const id of [a.id, b.id]) {
      let cur = attrs(await s.call('GET', `/files/${id}`));
      for (let i = 0; i < 5 && cur.id !== ROOT_DIR_ID; i++) cur = attrs(await s.call('GET', `/files/${cur.dir_id as string}`));
      t.equal(cur.id, ROOT_DIR_ID);
    }
  });

  await t.test('an interrupted upload leaves no document and no content', async (t) => {
    const d = await mkdir(s, 'partial');
    const before = await filesUnder(instanceFolder);
    // The client side sees its own failure; the server must clean up behind it.
    const outcome = await s.call('POST', `/files/${d.id}?Type=file&Name=cut.bin`, { body: brokenBody(8 * KiB) }).then((r) => r.statusCode, () => 'reset');
    t.not(outcome, 201);
    let after = await filesUnder(instanceFolder);
    for (let i = 0; i < 50 && after.join() !== before.join(); i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await filesUnder(instanceFolder);
    }
    t.same(after, before, 'nothing new on disk, temporaries included');
    t.equal(await count(s, d.id), 0);
    const retry = await s.call('POST', `/files/${d.id}?Type=file&Name=cut.bin`, { body: 'whole', headers: { 'content-type': 'text/plain' } });
    t.equal(retry.statusCode, 201, 'the name is free for a retry');
  });

  await t.test('past the quota: 413, and nothing left', async (t) => {
    const d = await mkdir(s, 'quota');
    const known = await s.call('POST', `/files/${d.id}?Type=file&Name=big.bin`, { body: Buffer.alloc(80 * KiB, 'q') });
    t.equal(known.statusCode, 413, 'a known size is refused at once');
    t.match(known.json().errors[0].detail, /disk quota/);
    const streamed = await s.call('POST', `/files/${d.id}?Type=file&Name=big2.bin`, { body: Readable.from([Buffer.alloc(40 * KiB), Buffer.alloc(40 * KiB)]) });
    t.equal(streamed.statusCode, 413, 'a streamed body is stopped when it goes past');
    t.equal(await count(s, d.id), 0);
    const usage = (await s.call('GET', '/settings/disk-usage')).json().data.attributes;
    t.equal(usage.quota, String(64 * KiB));
    t.ok(Number(usage.used) < 64 * KiB);
  });

  await t.test('a store failure while writing the document: 503, no content left, and it works again after', async (t) => {
    const d = await mkdir(s, 'store-down');
    const adapter = s.tk.kernel.store.adapter;
    const put = adapter.put.bind(adapter);
    let down = true;
    adapter.put = async (db, doc) => {
      if (down && String(doc._id ?? '').length === 32 && (doc as { type?: string }).type === 'file') throw StoreErrors.unavailable();
      return put(db, doc);
    };
    t.teardown(() => {
      adapter.put = put;
    });
    const before = await filesUnder(instanceFolder);
    const res = await s.call('POST', `/files/${d.id}?Type=file&Name=lost.txt`, { body: 'content', headers: { 'content-type': 'text/plain' } });
    t.equal(res.statusCode, 503);
    t.same(await filesUnder(instanceFolder), before, 'the content written before the failure was removed');
    down = false;
    const again = await s.call('POST', `/files/${d.id}?Type=file&Name=lost.txt`, { body: 'content', headers: { 'content-type': 'text/plain' } });
    t.equal(again.statusCode, 201);
  });

  await t.test('a share code for one folder reaches what it holds, never its parent', async (t) => {
    const parent = await mkdir(s, 'share-parent');
    const shared = await mkdir(s, 'shared', parent.id);
    const inside = attrs(await s.call('POST', `/files/${shared.id}?Type=file&Name=in.txt`, { body: 'in', headers: { 'content-type': 'text/plain' } }));
    const outside = attrs(await s.call('POST', `/files/${parent.id}?Type=file&Name=out.txt`, { body: 'out', headers: { 'content-type': 'text/plain' } }));
    const made = await s.call('POST', '/permissions?codes=link', { body: { data: { type: 'io.cozy.permissions', attributes: {
      permissions: { files: { type: 'io.cozy.files', verbs: ['GET'], values: [shared.id] } },
    } } } });
    t.equal(made.statusCode, 200, made.body);
    const code = made.json().data.attributes.codes.link as string;
    const as = (url: string) => s.tk.kernel.app.inject({ method: 'GET', url, headers: { host: 'alice.example', authorization: `Bearer ${code}` } });
    t.equal((await as(`/files/download/${inside.id}`)).body, 'in');
    t.equal((await as(`/files/${shared.id}`)).statusCode, 200);
    t.equal((await as(`/files/${parent.id}`)).statusCode, 403);
    t.equal((await as(`/files/download/${outside.id}`)).statusCode, 403);
    t.equal((await as('/files/download?Path=/share-parent/out.txt')).statusCode, 403);
    t.equal((await as('/files/io.cozy.files.root-dir')).statusCode, 403);
    const write = await s.tk.kernel.app.inject({ method: 'POST', url: `/files/${shared.id}?Type=file&Name=x.txt`, payload: 'x', headers: { host: 'alice.example', authorization: `Bearer ${code}` } });
    t.equal(write.statusCode, 403, 'a read-only share cannot write');
  });

  await t.test('path traversal in names, paths and ids is refused', async (t) => {
    for (const name of ['..', '../x', '/etc/passwd', 'a/../../b']) {
      const res = await s.call('POST', `/files/${ROOT_DIR_ID}?Type=file&Name=${encodeURIComponent(name)}`, { body: 'x' });
      t.equal(res.statusCode, 422, name);
    }
    // An encoded slash stays a plain character of one name, at the root.
    const encoded = await s.call('POST', `/files/${ROOT_DIR_ID}?Type=file&Name=${encodeURIComponent('..%2Fx')}`, { body: 'x' });
    t.equal(encoded.statusCode, 201);
    t.equal((await s.call('GET', `/files/metadata?Path=${encodeURIComponent('/..%2Fx')}`)).statusCode, 200);
    t.equal((await s.call('GET', '/files/metadata?Path=/../../etc/passwd')).statusCode, 422);
    t.equal((await s.call('GET', '/files/download?Path=relative/path')).statusCode, 400);
    t.equal((await s.call('GET', `/files/${encodeURIComponent('../../etc')}`)).statusCode, 404);
    t.equal((await s.call('GET', `/files/download/${encodeURIComponent('_design/by-parent-type-name')}`)).statusCode, 404);
    const entries = await filesUnder(instanceFolder);
    t.notOk(entries.some((e) => e.includes('passwd')));
  });
});

t.test('a full disk is 507 and leaves the tree and the other files intact', async (t) => {
  const disk = await mountTinyDisk(t);
  if (!disk) {
    t.comment('skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)');
    return;
  }
  const s = await setup(t, { vfsRoot: disk });
  const d = await mkdir(s, 'full');
  const small = await s.call('POST', `/files/${d.id}?Type=file&Name=small.txt`, { body: 'kept', headers: { 'content-type': 'text/plain' } });
  t.equal(small.statusCode, 201);
  const before = await filesUnder(disk);
  const big = await s.call('POST', `/files/${d.id}?Type=file&Name=big.bin`, { body: Readable.from((function* () {
    for (let i = 0; i < 32; i++) yield Buffer.alloc(64 * KiB, 'z');
  })()) });
  t.equal(big.statusCode, 507);
  t.same(await filesUnder(disk), before, 'nothing half-written');
  t.equal(await count(s, d.id), 1);
  t.equal((await s.call('GET', '/files/download?Path=/full/small.txt')).body, 'kept');
  const dir = await s.files.statByPath(s.inst, '/full');
  t.ok(isDir(dir));
});
