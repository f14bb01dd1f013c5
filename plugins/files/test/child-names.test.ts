import { Readable } from 'node:stream';
import t from 'tap';
import { CLUSTER, FILES_DOCTYPE, FilesErrors, ROOT_DIR_ID, STORE, type DocumentStore, type InstanceRef } from '@cozy-ts/kernel';
import { createMemoryCluster } from '../../../kernel/src/cluster/memory-cluster.ts';
import { ChildNames } from '../src/vfs/child-names.ts';
import type { VfsService } from '../src/vfs/vfs-service.ts';
import { twoFilesProcesses } from './helpers.ts';

const body = (text: string) => Readable.from([Buffer.from(text)]);

async function code(p: Promise<unknown>): Promise<string | number> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string; status?: number }).code ?? (err as { status?: number }).status ?? 'error';
  }
}

/** Counts the by-parent view queries made through a store (the lookups the listings are meant to spare). */
function countViewQueries(store: DocumentStore): { n: number } {
  const seen = { n: 0 };
  const query = store.queryView.bind(store);
  store.queryView = (inst, doctype, ddoc, view, opts) => {
    if (doctype === FILES_DOCTYPE && view === 'by-parent-type-name') seen.n++;
    return query(inst, doctype, ddoc, view, opts);
  };
  return seen;
}

t.test('names looked up from directory listings stay exact across two processes (one store, one cluster)', async (t) => {
  const { p1, inst, one, two } = await twoFilesProcesses(t, 'names.example');
  const queries = countViewQueries(p1.kernel.container.resolve(STORE.token));
  // FILES is the VFS service itself.
  const vfs1 = one as VfsService;
  /** The lookup that decides name uniqueness: under the tree lock. */
  const lockedChild = (dirId: string, name: string) => vfs1.lock.run(inst, async () => (await vfs1.index.child(inst, dirId, name))?._id ?? null);

  const d = await one.createDir(inst, { dirId: ROOT_DIR_ID, name: 'd' });
  await one.createFile(inst, { dirId: d._id, name: 'first.txt' }, body('1'));

  await t.test('new names in a listed directory need no view query', async (t) => {
    const before = queries.n;
    for (let i = 0; i < 5; i++) {
      t.equal(await code(one.statByPath(inst, `/d/new-${i}.txt`)), FilesErrors.notFound.code);
      await one.createFile(inst, { dirId: d._id, name: `new-${i}.txt`, size: 1 }, body('x'));
    }
    t.equal(queries.n, before, 'lookups and uniqueness checks answered by the listing');
    t.equal((await one.statByPath(inst, '/d/new-3.txt')).name, 'new-3.txt');
    t.equal(await code(one.createFile(inst, { dirId: d._id, name: 'new-3.txt' }, body('again'))), FilesErrors.nameTaken.code);
  });

  await t.test('a name taken by another process is taken here too', async (t) => {
    // Process 1 has a listing of /d; process 2 adds to /d, then process 1 tries the same names.
    const f = await two.createFile(inst, { dirId: d._id, name: 'from-two.txt' }, body('2'));
    t.equal((await one.statByPath(inst, '/d/from-two.txt'))._id, f._id, 'seen at once, outside the lock');
    // No lookup outside the lock in between: the check under the lock alone must see the other process's entry.
    // Each time, process 1 first changes /d itself, so that it holds a listing of it that was exact a moment ago.
    await one.createFile(inst, { dirId: d._id, name: 'mine-1.txt', size: 1 }, body('1'));
    await two.createDir(inst, { dirId: d._id, name: 'dir-from-two' });
    t.equal(await code(one.createFile(inst, { dirId: d._id, name: 'dir-from-two', size: 1 }, body('1'))), FilesErrors.nameTaken.code, 'checked under the lock');
    await one.createFile(inst, { dirId: d._id, name: 'mine-2.txt', size: 1 }, body('1'));
    const other = await two.createFile(inst, { dirId: d._id, name: 'other.txt', size: 1 }, body('2'));
    t.equal(await lockedChild(d._id, 'other.txt'), other._id, 'found under the lock');
    t.equal(await code(one.createFile(inst, { dirId: d._id, name: 'other.txt', size: 1 }, body('1'))), FilesErrors.nameTaken.code, 'a file over a file');
    await one.createFile(inst, { dirId: d._id, name: 'mine-3.txt', size: 1 }, body('1'));
    await two.createFile(inst, { dirId: d._id, name: 'third.txt', size: 1 }, body('2'));
    t.equal(await code(one.createDir(inst, { dirId: d._id, name: 'third.txt' })), FilesErrors.nameTaken.code);
  });

  await t.test('a name freed by another process is free here too', async (t) => {
    const f = await one.statByPath(inst, '/d/first.txt');
    await two.update(inst, f._id, { name: 'renamed.txt' });
    t.equal(await code(one.statByPath(inst, '/d/first.txt')), FilesErrors.notFound.code);
    const again = await one.createFile(inst, { dirId: d._id, name: 'first.txt' }, body('again'));
    t.equal((await one.statByPath(inst, '/d/first.txt'))._id, again._id);
    await two.trash(inst, again._id);
    t.equal(await code(one.statByPath(inst, '/d/first.txt')), FilesErrors.notFound.code);
  });

  await t.test('moves and deletes made here keep the listing exact', async (t) => {
    const e = await one.createDir(inst, { dirId: ROOT_DIR_ID, name: 'e' });
    await one.createFile(inst, { dirId: e._id, name: 'seed.txt' }, body('s'));
    const f = await one.createFile(inst, { dirId: d._id, name: 'moving.txt' }, body('m'));
    await one.update(inst, f._id, { dirId: e._id });
    t.equal(await code(one.statByPath(inst, '/d/moving.txt')), FilesErrors.notFound.code, 'left its old directory');
    t.equal((await one.statByPath(inst, '/e/moving.txt'))._id, f._id);
    t.equal(await code(one.createFile(inst, { dirId: e._id, name: 'moving.txt' }, body('x'))), FilesErrors.nameTaken.code);
    await one.createFile(inst, { dirId: d._id, name: 'moving.txt' }, body('new one in d'));
    await one.destroy(inst, f._id);
    await one.createFile(inst, { dirId: e._id, name: 'moving.txt' }, body('free again'));
  });

  await t.test('concurrent creations of one name through both processes: one document', async (t) => {
    const results = await Promise.all([one, two, one, two].map((svc, i) => code(svc.createFile(inst, { dirId: d._id, name: 'race.txt' }, body(`r${i}`)))));
    t.same(results.filter((r) => r === 'ok').length, 1, 'one wins');
    t.same(results.filter((r) => r === FilesErrors.nameTaken.code).length, 3, 'the others are refused');
    const store: DocumentStore = p1.kernel.container.resolve(STORE.token);
    const rows = await store.queryView(inst, FILES_DOCTYPE, 'by-parent-type-name', 'by-parent-type-name', { key: [d._id, 'file', 'race.txt'], reduce: false });
    t.equal(rows.rows.length, 1, 'never two documents');
  });
});

t.test("a sync client's polls of /files/_changes wait for a tree change but leave the other processes' listings alone", async (t) => {
  const { p1, p2, inst, one } = await twoFilesProcesses(t, 'feed.example');
  const cache = p1.kernel.container.resolve(CLUSTER.token).cache;
  const generation = () => cache.get<number>(`files:tree-gen:${inst.domain}`);
  const token = await p2.kernel.auth.issueToken(await p2.kernel.instances.get(inst.domain), 'cli', { subject: 'test', scope: 'io.cozy.files' });
  const poll = () => p2.kernel.app.inject({ method: 'GET', url: '/files/_changes?include_docs=true&include_file_path=true', headers: { host: inst.domain, authorization: `Bearer ${token}` } });
  await one.createDir(inst, { dirId: ROOT_DIR_ID, name: 'polled' });
  const before = await generation();
  t.ok(before !== undefined && before > 0, 'the write moved the generation');
  for (let i = 0; i < 3; i++) { const r = await poll(); t.equal(r.statusCode, 200, r.body); }
  t.equal(await generation(), before, 'three polls later, the generation is where the last write left it');

  // Still serialised with writers: a feed read during a directory move would show half of it.
  const vfs1 = one as VfsService;
  let release!: () => void;
  const held = vfs1.lock.run(inst, () => new Promise<void>((r) => (release = r)));
  let answered = false;
  const polled = poll().then((res) => {
    answered = true;
    return res;
  });
  await new Promise((r) => setTimeout(r, 150));
  t.notOk(answered, 'the poll waits while another process holds the tree lock');
  release();
  await held;
  t.equal((await polled).statusCode, 200, 'and is answered once it is released');
});

t.test('ChildNames: a listing is used only in the epoch it was read in', async (t) => {
  const cluster = createMemoryCluster();
  t.teardown(() => cluster.close());
  const names = new ChildNames(cluster.cache);
  const inst = { domain: 'unit.example', prefix: 'unit' } as InstanceRef;
  await names.changing(inst);
  names.keep(names.snapshot(inst), 'dir', [['a.txt', 'A']]);
  t.same(await names.lookup(inst, 'dir', 'a.txt', true), { id: 'A' });
  t.equal(await names.lookup(inst, 'dir', 'b.txt', true), null, 'a name not listed is free');
  t.equal(await names.lookup(inst, 'dir', 'b.txt', false), null, 'also outside the lock while the generation holds');

  const snap = names.snapshot(inst);
  names.changed({ domain: inst.domain, doctype: FILES_DOCTYPE, verb: 'CREATED', doc: { _id: 'B', _rev: '1-b', type: 'file', name: 'b.txt', dir_id: 'dir' } });
  t.same(await names.lookup(inst, 'dir', 'b.txt', true), { id: 'B' }, 'a write of this process is followed');
  names.keep(snap, 'other', [['x', 'X']]);
  t.equal(await names.lookup(inst, 'other', 'x', true), undefined, 'a listing read while an event came in is not kept');

  await cluster.cache.increment('files:tree-gen:unit.example');
  t.equal(await names.lookup(inst, 'dir', 'b.txt', false), undefined, 'another process took the lock: the listings are gone');
  t.equal(await names.lookup(inst, 'dir', 'b.txt', true), undefined);

  await names.changing(inst);
  names.keep(names.snapshot(inst), 'dir', [['c.txt', 'C']]);
  names.forget(inst);
  await names.changing(inst);
  t.equal(await names.lookup(inst, 'dir', 'zzz', true), undefined, 'a forgotten instance does not get its old listings back');
});
