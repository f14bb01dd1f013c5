import sharp from 'sharp';
import t from 'tap';
import yauzl from 'yauzl';
import { ROOT_DIR_ID } from '@cozy-ts/kernel';
import { attrs, setup } from './helpers.ts';

/** Entry names of a zip. */
function zipNames(zip: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, (err, file) => {
      if (err || !file) return reject(err);
      const names: string[] = [];
      file.on('entry', (e: yauzl.Entry) => names.push(e.fileName));
      file.on('end', () => resolve(names.sort()));
      file.on('error', reject);
    });
  });
}

/**
 * The query, thumbnail, archive and fsck routes as the files plugin mounts them, driven over HTTP with uploads
 * through POST /files/:dir-id: the wiring, the permission checks and the shapes end to end.
 */
t.test('the extras of /files through the plugin', async (t) => {
  const { call, tk, inst } = await setup(t);
  const mkdir = async (name: string, parent = ROOT_DIR_ID) => attrs(await call('POST', `/files/${parent}?Type=directory&Name=${encodeURIComponent(name)}`));
  const upload = async (dir: string, name: string, body: string | Buffer, type = 'text/plain') => {
    const res = await call('POST', `/files/${dir}?Type=file&Name=${encodeURIComponent(name)}`, { body, headers: { 'content-type': type } });
    if (res.statusCode !== 201) throw new Error(`upload ${name}: ${res.body}`);
    return attrs(res);
  };
  const photos = await mkdir('Photos');
  const png = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#336699' } }).png().toBuffer();
  const cat = await upload(photos.id, 'cat.png', png, 'image/png');
  const notes = await upload(ROOT_DIR_ID, 'notes.txt', 'some notes');

  await t.test('an image is served its thumbnails from the links of its document', async (t) => {
    const doc = (await call('GET', `/files/${cat.id}`)).json().data;
    t.match(doc.links.large, new RegExp(`^/files/${cat.id}/thumbnails/[0-9a-f]{16}/large$`));
    // Made in the background: a placeholder (404) until then. The secret is the credential, no token is sent.
    let large = await call('GET', doc.links.large, { scope: null });
    for (let i = 0; i < 100 && large.statusCode === 404; i++) {
      t.equal(large.headers['content-type'], 'image/png', 'the placeholder');
      await new Promise((r) => setTimeout(r, 100));
      large = await call('GET', doc.links.large, { scope: null });
    }
    t.equal(large.statusCode, 200);
    t.equal(large.headers['content-type'], 'image/jpeg');
    const meta = await sharp(large.rawPayload).metadata();
    t.same([meta.width, meta.height], [800, 600]);
    const txt = (await call('GET', `/files/${notes.id}`)).json().data;
    t.notOk(txt.links.tiny, 'no thumbnail links for a text file');
  });

  await t.test('_find, _all_docs, _changes and referenced_by answer through the plugin', async (t) => {
    await tk.kernel.store.createIndex(inst, 'io.cozy.files', { index: { fields: ['class'] } });
    const found = await call('POST', '/files/_find', { body: { selector: { class: 'image' } }, headers: { 'content-type': 'application/json' } });
    t.equal(found.statusCode, 200, found.body);
    const data = found.json().data;
    t.same(data.map((d: { id: string }) => d.id), [cat.id]);
    t.equal(data[0].attributes.path, '/Photos/cat.png');
    t.match(data[0].links.tiny, /\/thumbnails\/[0-9a-f]{16}\/tiny$/);

    const all = await call('POST', '/files/_all_docs', { body: { keys: [notes.id, photos.id] }, headers: { 'content-type': 'application/json' } });
    t.same(all.json().data.map((d: { id: string }) => d.id), [notes.id, photos.id]);

    const changes = (await call('GET', '/files/_changes?include_docs=true&include_file_path=true&skip_deleted=true')).json();
    const row = changes.results.find((r: { id: string }) => r.id === cat.id);
    t.equal(row.doc.path, '/Photos/cat.png');

    const ref = { type: 'io.cozy.photos.albums', id: 'album1' };
    const added = await call('POST', `/files/${cat.id}/relationships/referenced_by`, { body: { data: [ref] } });
    t.equal(added.statusCode, 200, added.body);
    const read = (await call('GET', `/files/${cat.id}`)).json().data;
    t.same(read.relationships.referenced_by.data, [ref], 'the file shows its reference');
    const listed = (await call('GET', `/data/io.cozy.photos.albums/album1/relationships/references`)).statusCode;
    t.ok(listed === 200 || listed === 404, '/data lists references when the data plugin is there');
    t.equal((await call('DELETE', `/files/${cat.id}/relationships/referenced_by`, { body: { data: [ref] } })).json().meta.count, 0);
  });

  await t.test('an archive link gives the zip; fsck finds nothing wrong after all this', async (t) => {
    const link = await call('POST', '/files/archive', { body: { data: { attributes: { name: 'all', ids: [photos.id], files: ['/notes.txt'] } } } });
    t.equal(link.statusCode, 200, link.body);
    const zip = await call('GET', link.json().links.related, { scope: null });
    t.equal(zip.statusCode, 200);
    t.same(await zipNames(zip.rawPayload), ['all/Photos/', 'all/Photos/cat.png', 'all/notes.txt']);

    const fsck = await call('GET', '/files/fsck?NoCache=true');
    t.equal(fsck.statusCode, 200);
    t.same(fsck.json(), []);
    const stream = await call('GET', '/files/fsck/stream');
    t.equal(stream.statusCode, 200);
    t.equal(stream.body, '', 'no anomaly: index, contents, versions and thumbnails agree');
  });
});
