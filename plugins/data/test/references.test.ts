import t from 'tap';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import type { DocEvent, InstanceDoc } from '@cozy-ts/kernel';
import { setup } from './helpers.ts';

const ALBUMS = 'io.cozy.photos.albums';
const FILES = 'io.cozy.files';
const URL = `/data/${ALBUMS}/album1/relationships/references`;

async function files(tk: TestKernel, inst: InstanceDoc, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `file${String(i).padStart(2, '0')}`);
  await tk.kernel.store.bulkDocs(
    inst,
    FILES,
    ids.map((id, i) => ({ _id: id, type: 'file', name: `${id}.jpg`, metadata: { datetime: `2020-01-${String(30 - i).padStart(2, '0')}` } })),
  );
  return ids;
}

const refs = (ids: string[]) => ({ data: ids.map((id) => ({ type: FILES, id })) });

t.test('POST adds the reference to each file, DELETE removes it; both 204 and one event per changed file', async (t) => {
  const { call, tk, inst } = await setup(t);
  await files(tk, inst, 3);
  await tk.kernel.store.put(inst, FILES, { _id: 'meta', type: 'file', cozyMetadata: { updatedAt: '2000-01-01T00:00:00Z' } });
  const events: DocEvent[] = [];
  tk.kernel.events.on((e) => {
    if (e.doctype === FILES) events.push(e);
  });
  const add = await call('POST', URL, ALBUMS, refs(['file00', 'file01', 'meta']));
  t.equal(add.statusCode, 204);
  const f0 = await tk.kernel.store.get(inst, FILES, 'file00');
  t.same(f0.referenced_by, [{ type: ALBUMS, id: 'album1' }]);
  const meta = await tk.kernel.store.get(inst, FILES, 'meta');
  t.not((meta.cozyMetadata as { updatedAt: string }).updatedAt, '2000-01-01T00:00:00Z', 'cozyMetadata.updatedAt follows');
  t.equal((await call('POST', URL, ALBUMS, refs(['file00']))).statusCode, 204, 'adding twice is harmless');
  t.same((await tk.kernel.store.get(inst, FILES, 'file00')).referenced_by, [{ type: ALBUMS, id: 'album1' }]);
  const remove = await call('DELETE', URL, ALBUMS, { data: { type: FILES, id: 'file00' } });
  t.equal(remove.statusCode, 204);
  t.same((await tk.kernel.store.get(inst, FILES, 'file00')).referenced_by, []);
  await new Promise((r) => setImmediate(r));
  t.same(
    events.map((e) => `${e.verb} ${e.doc._id}`),
    ['UPDATED file00', 'UPDATED file01', 'UPDATED meta', 'UPDATED file00'],
  );
});

t.test('GET lists the referencing files as JSON:API identifiers with meta.count, paged with links.next', async (t) => {
  const { call, tk, inst } = await setup(t);
  const ids = await files(tk, inst, 5);
  await call('POST', URL, ALBUMS, refs(ids));
  await call('POST', `/data/${ALBUMS}/album2/relationships/references`, ALBUMS, refs(['file00']));
  const first = await call('GET', `${URL}?page[limit]=2`, ALBUMS);
  t.equal(first.statusCode, 200);
  t.match(first.headers['content-type'], /application\/vnd\.api\+json/);
  const body = first.json();
  t.same(body.data, [
    { type: FILES, id: 'file00' },
    { type: FILES, id: 'file01' },
  ]);
  t.same(body.meta, { count: 5 });
  t.match(body.links.next, /^\/data\/io\.cozy\.photos\.albums\/album1\/relationships\/references\?page%5Bcursor%5D=.*&page%5Blimit%5D=2$/);
  const seen = [...body.data.map((d: { id: string }) => d.id)];
  let next: string | undefined = body.links.next;
  while (next) {
    const page = (await call('GET', next, ALBUMS)).json();
    seen.push(...page.data.map((d: { id: string }) => d.id));
    next = page.links.next;
  }
  t.same(seen, ids);
  const skipped = (await call('GET', `${URL}?page[limit]=2&page[skip]=4`, ALBUMS)).json();
  t.same(
    skipped.data.map((d: { id: string }) => d.id),
    ['file04'],
  );
  t.same(skipped.links, {});
  const skipLink = (await call('GET', `${URL}?page[limit]=2&page[skip]=0`, ALBUMS)).json().links.next;
  t.match(skipLink, /page%5Blimit%5D=2&page%5Bskip%5D=2$/);
});

t.test('GET sorts by id or datetime, either way, and includes the files when asked', async (t) => {
  const { call, tk, inst } = await setup(t);
  const ids = await files(tk, inst, 3);
  await call('POST', URL, ALBUMS, refs(ids));
  const order = async (sort: string) => (await call('GET', `${URL}?sort=${sort}`, ALBUMS)).json().data.map((d: { id: string }) => d.id);
  t.same(await order('id'), ['file00', 'file01', 'file02']);
  t.same(await order('-id'), ['file02', 'file01', 'file00']);
  t.same(await order('datetime'), ['file02', 'file01', 'file00'], 'file02 has the earliest datetime');
  t.same(await order('-datetime'), ['file00', 'file01', 'file02']);
  const bad = await call('GET', `${URL}?sort=name`, ALBUMS);
  t.equal(bad.statusCode, 400);
  t.same(bad.json(), { error: 'Bad Request(400): Invalid sort parameter' });
  const included = (await call('GET', `${URL}?include=files&page[limit]=1`, ALBUMS)).json();
  t.match(included.included, [{ type: FILES, id: 'file00', attributes: { name: 'file00.jpg' }, meta: { rev: /^\d+-/ }, links: { self: '/files/file00' } }]);
});

t.test('GET on a document nothing references, even before any file exists, is an empty list', async (t) => {
  const { call } = await setup(t);
  const res = await call('GET', URL, ALBUMS);
  t.equal(res.statusCode, 200);
  t.same(res.json(), { data: [], meta: { count: 0 }, links: {} });
});

t.test('references need the verb on the referencing document, or the files', async (t) => {
  const { call, tk, inst } = await setup(t);
  await files(tk, inst, 1);
  t.equal((await call('GET', URL, `${ALBUMS}:GET:album1`)).statusCode, 200);
  t.equal((await call('GET', URL, `${FILES}:GET`)).statusCode, 200);
  t.equal((await call('GET', URL, `${ALBUMS}:GET:album2`)).statusCode, 403);
  t.equal((await call('POST', URL, `${ALBUMS}:GET`, refs(['file00']))).statusCode, 403);
  t.equal((await call('POST', URL, `${ALBUMS}:PUT:album1`, refs(['file00']))).statusCode, 204);
  t.equal((await call('DELETE', URL, `${ALBUMS}:PUT:album1`, refs(['file00']))).statusCode, 403);
  t.equal((await call('DELETE', URL, `${FILES}:PATCH`, refs(['file00']))).statusCode, 204);
});

t.test('adding a reference to a missing file is 404, a malformed body 400', async (t) => {
  const { call, tk, inst } = await setup(t);
  t.equal((await call('POST', URL, ALBUMS, refs(['nofile']))).statusCode, 404, 'no files database yet');
  await files(tk, inst, 1);
  const missing = await call('POST', URL, ALBUMS, refs(['file00', 'nofile']));
  t.equal(missing.statusCode, 404);
  t.match(missing.json().error, /nofile/);
  t.notOk((await tk.kernel.store.get(inst, FILES, 'file00')).referenced_by, 'nothing was written');
  for (const body of [{}, { data: 'x' }, { data: [{ type: FILES }] }, [1]]) {
    t.equal((await call('POST', URL, ALBUMS, body)).statusCode, 400, JSON.stringify(body));
  }
  t.equal((await call('GET', `${URL}?page[limit]=abc`, ALBUMS)).statusCode, 400);
  t.equal((await call('GET', `${URL}?page[cursor]=notjson`, ALBUMS)).statusCode, 400);
  t.equal((await call('GET', `${URL}?page[cursor]=[1]`, ALBUMS)).statusCode, 400);
  t.equal((await call('GET', `${URL}?page[cursor]=[1,2]`, ALBUMS)).statusCode, 400);
  t.equal((await call('GET', `${URL}?page[skip]=-1`, ALBUMS)).statusCode, 400);
});
