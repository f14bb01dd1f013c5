import t from 'tap';
import { loadCozyStackClient, startClientKernel } from '../helpers/cozy-stack-client.ts';

type Fields = Record<string, unknown>;
interface Page {
  data: Fields[];
  next?: boolean;
  bookmark?: string;
  meta?: { count: number };
}

/** The part of cozy-stack-client's DocumentCollection this test drives. */
interface DocumentCollection {
  create(doc: Fields): Promise<{ data: Fields }>;
  get(id: string): Promise<{ data: Fields }>;
  update(doc: Fields): Promise<{ data: Fields }>;
  destroy(doc: Fields): Promise<{ data: Fields }>;
  all(opts?: { limit?: number | null; skip?: number; bookmark?: string }): Promise<Page>;
  getAll(ids: string[]): Promise<Page>;
  find(selector: Fields, opts?: Fields): Promise<Page>;
  updateAll(docs: Fields[]): Promise<Array<{ ok?: boolean; id: string; rev?: string; error?: string }>>;
  fetchChanges(couchOptions?: Fields): Promise<{ newLastSeq: string; documents: Fields[] }>;
}

const DOCTYPE = 'io.cozy.e2e.todos';

t.test('cozy-stack-client drives /data with an OAuth token, unchanged', async (t) => {
  const CozyStackClient = loadCozyStackClient<DocumentCollection>();
  const { tk, inst, uri, token } = await startClientKernel(t, { '@cozy-ts/plugin-data': {} }, DOCTYPE);
  const todos = new CozyStackClient({ uri, token }).collection(DOCTYPE);

  // Each step awaits the previous one: they share the documents they write.
  await t.test('the doctype has no database yet: all, find and getAll answer empty', async (t) => {
    t.same((await todos.all()).data, []);
    t.same((await todos.find({ done: false })).data, []);
    t.same((await todos.getAll(['nope'])).data, []);
  });

  let first: Fields = {};
  await t.test('create answers the document with its id, rev and type', async (t) => {
    first = (await todos.create({ label: 'buy milk', done: false, rank: 1 })).data;
    t.match(first, { label: 'buy milk', done: false, _type: DOCTYPE, _id: /^[0-9a-f]{32}$/, _rev: /^1-/ });
  });

  await t.test('create with a fixed id, then get it back', async (t) => {
    const fixed = (await todos.create({ _id: 'fixed/id', label: 'water plants', done: true, rank: 2 })).data;
    t.equal(fixed._id, 'fixed/id');
    const got = (await todos.get('fixed/id')).data;
    t.match(got, { _id: 'fixed/id', label: 'water plants', _type: DOCTYPE });
  });

  await t.test('update sends the document back, _type included, and gets a new rev', async (t) => {
    const updated = (await todos.update({ ...first, label: 'buy oat milk' })).data;
    t.equal(updated.label, 'buy oat milk');
    t.match(updated._rev, /^2-/);
    t.equal((await todos.get(first._id as string)).data.label, 'buy oat milk');
  });

  await t.test('find creates the index it needs after no_index, then finds', async (t) => {
    for (let rank = 3; rank <= 5; rank++) await todos.create({ label: `task ${rank}`, done: false, rank });
    const before = await tk.kernel.store.get(inst, DOCTYPE, '_design/by_done_and_rank').catch((err: { status?: number }) => err.status);
    t.equal(before, 404, 'no index yet');
    const res = await todos.find({ done: false }, { sort: [{ done: 'asc' }, { rank: 'asc' }], indexedFields: ['done', 'rank'] });
    t.same(
      res.data.map((d) => d.rank),
      [1, 3, 4, 5],
    );
    t.equal(res.next, false);
    const design = await tk.kernel.store.get(inst, DOCTYPE, '_design/by_done_and_rank');
    t.ok(design.views, 'cozy-client created the index it named, after our no_index answer');
    const again = await todos.find({ done: false }, { sort: [{ done: 'asc' }, { rank: 'asc' }], indexedFields: ['done', 'rank'], limit: 2 });
    t.same(
      again.data.map((d) => d.rank),
      [1, 3],
    );
    t.equal(again.next, true);
  });

  await t.test('all pages through _normal_docs, and through _all_docs with limit null', async (t) => {
    const page = await todos.all({ limit: 2 });
    t.equal(page.data.length, 2);
    t.equal(page.meta?.count, 5);
    t.equal(page.next, true);
    const rest = await todos.all({ limit: 2, skip: 4 });
    t.equal(rest.data.length, 1);
    t.equal(rest.next, false);
    const everything = await todos.all({ limit: null });
    t.equal(everything.data.length, 5, 'design docs are left out');
  });

  await t.test('getAll reads several documents by id', async (t) => {
    const res = await todos.getAll([first._id as string, 'fixed/id', 'missing']);
    t.same(res.data.map((d) => d._id).sort(), [first._id, 'fixed/id'].sort());
  });

  await t.test('updateAll writes in bulk and fetchChanges sees the writes', async (t) => {
    const since = (await todos.fetchChanges()).newLastSeq;
    const docs = (await todos.all({ limit: null })).data.filter((d) => d.done === false);
    const results = await todos.updateAll(docs.map((d) => ({ ...d, done: true })));
    t.equal(results.length, docs.length);
    t.ok(results.every((r) => r.ok === true && /^\d+-/.test(String(r.rev))));
    const changes = await todos.fetchChanges({ since });
    t.same(changes.documents.map((d) => d._id).sort(), docs.map((d) => d._id).sort());
    t.ok(changes.documents.every((d) => d.done === true));
    t.not(changes.newLastSeq, since);
  });

  await t.test('destroy deletes with the rev, and get then answers no data (the 404 it swallows)', async (t) => {
    const current = (await todos.get(first._id as string)).data;
    const gone = (await todos.destroy(current)).data;
    t.equal(gone._deleted, true);
    t.equal((await todos.get(first._id as string)).data, null);
    const changes = await todos.fetchChanges();
    t.notOk(changes.documents.some((d) => d._id === first._id), 'fetchChanges leaves deleted docs out');
  });
});
