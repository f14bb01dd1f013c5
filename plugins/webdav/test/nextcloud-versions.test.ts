import t from 'tap';
import { FILES } from '@cozy-ts/kernel';
import { numericFileId } from '../src/nextcloud/file-ids.ts';
import { basicHeader, parseMultistatus as parseEntries, raw, startWebdav } from './helpers.ts';

/** Each response's found properties, by href. */
const parseMultistatus = (body: string): Map<string, Map<string, string>> => new Map([...parseEntries(body)].map(([href, e]) => [href, e.found]));

/** What ReadFileVersionsRemoteOperation (Nextcloud Android library) asks, as Jackrabbit writes it. */
const VERSION_PROPS = `<?xml version="1.0" encoding="UTF-8" standalone="no"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:displayname/><D:getcontenttype/><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>`;

/** Unix seconds used as X-OC-Mtime, as the apps send them. */
const T1 = 1_700_000_000;
const T2 = T1 + 100;
const T3 = T1 + 200;

t.test('Nextcloud versions over our versions: list, download, revert, delete, and what is refused', async (t) => {
  // Every overwrite keeps a version (cozy-stack's delay between two versions would otherwise drop the quick ones).
  const env = await startWebdav(t, {}, {}, { '@cozy-ts/plugin-files': { versions: { maxNumber: 20, minDelaySeconds: 0 } } });
  await env.tk.kernel.store.put(env.inst, 'io.cozy.oauth.clients', { _id: 'client-nc', client_name: 'nc', software_id: 'nc' });
  const files = env.tk.kernel.container.resolve(FILES.token);
  const V = '/remote.php/dav/versions/me';
  const nc = (path: string) => `/remote.php/dav/files/me${path}`;
  const put = async (path: string, body: string, mtime: number) => {
    const res = await raw(env, 'PUT', nc(path), { 'x-oc-mtime': String(mtime) }, body);
    t.ok(res.status === 201 || res.status === 204, `PUT ${path}`);
    return res.headers['oc-fileid'] as string;
  };
  await put('/v.txt', 'one', T1);
  const docId = (await files.statByPath(env.inst, '/v.txt'))._id;
  // What the Android app puts in the path: the `oc:fileid` it parsed with toLong().
  const fileId = String(numericFileId(docId));
  await put('/v.txt', 'two!', T2);
  await put('/v.txt', 'three', T3);
  const status = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => (await raw(env, method, path, headers, body)).status;
  const versions = async (id = fileId, headers: Record<string, string> = {}) => {
    const res = await raw(env, 'PROPFIND', `${V}/versions/${id}`, { depth: '1', 'content-type': 'application/xml', ...headers }, VERSION_PROPS);
    t.equal(res.status, 207, 'PROPFIND the versions');
    const all = parseMultistatus(res.body);
    all.delete(`${V}/versions/${id}/`);
    return new Map([...all].map(([href, props]) => [href.slice(`${V}/versions/${id}/`.length), props]));
  };
  const restoreTo = (name: string) => `${env.origin}${V}/restore/${name}`;
  const read = async () => (await raw(env, 'GET', nc('/v.txt'))).body;

  await t.test('PROPFIND Depth 1 lists the old contents, named by their timestamp as the app rebuilds it', async (t) => {
    const list = await versions();
    t.same([...list.keys()].sort(), [String(T1), String(T2)]);
    const first = list.get(String(T1)) as Map<string, string>;
    t.equal(first.get('getcontentlength'), '3');
    t.equal(first.get('getlastmodified'), new Date(T1 * 1000).toUTCString());
    // FileVersion.getFileName() is getlastmodified in seconds: it must give the name back.
    t.equal(String(Date.parse(first.get('getlastmodified') as string) / 1000), String(T1));
    t.match(first.get('getcontenttype'), /^text\/plain/);
    t.ok(first.get('getetag'));
    t.equal(first.get('resourcetype'), '');
    t.equal(list.get(String(T2))?.get('getcontentlength'), '4');
    t.not(first.get('getetag'), list.get(String(T2))?.get('getetag'));
  });

  await t.test('GET downloads a version, named after its file; Range works', async (t) => {
    const res = await raw(env, 'GET', `${V}/versions/${fileId}/${T1}`);
    t.equal(res.status, 200);
    t.equal(res.body, 'one');
    t.equal(res.headers['content-disposition'], 'attachment; filename*=UTF-8\'\'v.txt; filename="v.txt"');
    const part = await raw(env, 'GET', `${V}/versions/${fileId}/${T2}`, { range: 'bytes=1-2' });
    t.equal(part.status, 206);
    t.equal(part.body, 'wo');
    t.equal(await read(), 'three', 'the file itself is untouched');
  });

  await t.test('the home lists versions and restore; versions/ lists nothing; Depth infinity is refused', async (t) => {
    const home = parseMultistatus((await raw(env, 'PROPFIND', `${V}/`, { depth: '1' }, VERSION_PROPS)).body);
    t.same([...home.keys()].sort(), [`${V}/`, `${V}/restore/`, `${V}/versions/`]);
    t.same([...parseMultistatus((await raw(env, 'PROPFIND', `${V}/versions/`, { depth: '1' })).body).keys()], [`${V}/versions/`]);
    t.equal(await status('PROPFIND', `${V}/versions/${fileId}`, { depth: 'infinity' }), 403);
  });

  await t.test('MOVE to restore/ reverts the file; the replaced content is kept as a version', async (t) => {
    // RestoreFileVersionRemoteOperation: Destination restore/<file id>, Overwrite: T.
    const res = await raw(env, 'MOVE', `${V}/versions/${fileId}/${T1}`, { destination: restoreTo(fileId), overwrite: 'T' });
    t.equal(res.status, 201);
    t.equal(await read(), 'one');
    t.equal((await files.statByPath(env.inst, '/v.txt'))._id, docId, 'the same file');
    t.same([...(await versions()).keys()].sort(), [String(T2), String(T3)], 'the version became current, the old current a version');
    t.equal((await raw(env, 'GET', `${V}/versions/${fileId}/${T3}`)).body, 'three');
    // The web UI's form of the same request.
    t.equal(await status('MOVE', `${V}/versions/${fileId}/${T2}`, { destination: restoreTo('target') }), 201);
    t.equal(await read(), 'two!');
    t.same([...(await versions()).keys()].sort(), [String(T1), String(T3)]);
  });

  await t.test('DELETE removes a version', async (t) => {
    t.equal(await status('DELETE', `${V}/versions/${fileId}/${T3}`), 204);
    t.same([...(await versions()).keys()], [String(T1)]);
    t.equal(await status('GET', `${V}/versions/${fileId}/${T3}`), 404);
    t.equal(await read(), 'two!');
  });

  await t.test('another user, no user, no credentials, credentials without the files', async (t) => {
    t.equal(await status('PROPFIND', `/remote.php/dav/versions/other/versions/${fileId}`, { depth: '1' }), 403);
    t.equal(await status('GET', `/remote.php/dav/versions/other/versions/${fileId}/${T1}`), 403);
    t.equal(await status('PROPFIND', '/remote.php/dav/versions/', { depth: '1' }), 404);
    const anon = await raw(env, 'PROPFIND', `${V}/versions/${fileId}`, { depth: '1', authorization: '' });
    t.equal(anon.status, 401);
    t.match(anon.headers['www-authenticate'], /^Basic realm=/);
    const contacts = await env.devicePassword(['contacts']);
    t.equal(await status('PROPFIND', `${V}/versions/${fileId}`, { depth: '1', authorization: basicHeader('me', contacts) }), 403);
  });

  await t.test('read-only credentials list and download but neither revert nor delete', async (t) => {
    const readOnly = basicHeader('me', await env.tk.kernel.auth.issueToken(env.inst, 'access', { subject: 'client-nc', scope: 'io.cozy.files:GET' }));
    t.same([...(await versions(fileId, { authorization: readOnly })).keys()], [String(T1)]);
    t.equal(await status('GET', `${V}/versions/${fileId}/${T1}`, { authorization: readOnly }), 200);
    t.equal(await status('MOVE', `${V}/versions/${fileId}/${T1}`, { authorization: readOnly, destination: restoreTo(fileId) }), 403);
    t.equal(await status('DELETE', `${V}/versions/${fileId}/${T1}`, { authorization: readOnly }), 403);
    t.equal(await read(), 'two!');
  });

  await t.test('unknown ids, folders, trashed files and unknown versions are 404', async (t) => {
    await raw(env, 'MKCOL', nc('/dir'));
    const dirId = (await files.statByPath(env.inst, '/dir'))._id;
    await put('/gone.txt', 'g1', T1);
    const goneId = await put('/gone.txt', 'g2', T2);
    const goneDoc = (await files.statByPath(env.inst, '/gone.txt'))._id;
    t.equal(await status('DELETE', nc('/gone.txt')), 204);
    const unknown = ['nothing', dirId, String(numericFileId(dirId)), goneId, goneDoc, String(numericFileId(goneDoc)), 'io.cozy.files.root-dir', '1', '9007199254740991'];
    for (const id of unknown) {
      t.equal(await status('PROPFIND', `${V}/versions/${encodeURIComponent(id)}`, { depth: '1' }), 404, `PROPFIND ${id}`);
      t.equal(await status('GET', `${V}/versions/${encodeURIComponent(id)}/${T1}`), 404, `GET ${id}`);
      t.equal(await status('MOVE', `${V}/versions/${encodeURIComponent(id)}/${T1}`, { destination: restoreTo('target') }), 404, `MOVE ${id}`);
    }
    for (const name of ['123', String(T3), `${T1}-2`, 'x']) {
      t.equal(await status('GET', `${V}/versions/${fileId}/${name}`), 404, `GET version ${name}`);
      t.equal(await status('DELETE', `${V}/versions/${fileId}/${name}`), 404, `DELETE version ${name}`);
    }
    t.equal(await status('PROPFIND', `${V}/versions/${fileId}/${T1}/below`, { depth: '0' }), 404);
    t.equal(await status('PROPFIND', `${V}/elsewhere`, { depth: '0' }), 404);
  });

  await t.test('bad Destinations and methods leave the file as it was', async (t) => {
    const move = (destination?: string) => status('MOVE', `${V}/versions/${fileId}/${T1}`, destination === undefined ? {} : { destination });
    t.equal(await move(), 400);
    t.equal(await move('http://[bad'), 400);
    t.equal(await move(`${env.origin}${V}/restore/%zz`), 400);
    t.equal(await move(`http://elsewhere.example${V}/restore/target`), 502);
    t.equal(await move(`${env.origin}/remote.php/dav/versions/other/restore/target`), 403);
    t.equal(await move(`${env.origin}${V}/restore/`), 403);
    t.equal(await move(`${env.origin}${V}/versions/${fileId}/copy`), 403);
    t.equal(await move(`${env.origin}/remote.php/dav/trashbin/me/restore/target`), 403);
    t.equal(await move(`${env.origin}/remote.php/dav/files/me/v.txt`), 403);
    t.equal(await status('MOVE', `${V}/versions/${fileId}`, { destination: restoreTo('target') }), 403, 'a file\'s versions are no version');
    t.equal(await status('PUT', `${V}/versions/${fileId}/new`, {}, 'x'), 403);
    t.equal(await status('MKCOL', `${V}/versions/new`), 403);
    t.equal(await status('COPY', `${V}/versions/${fileId}/${T1}`, { destination: `${env.origin}${V}/versions/${fileId}/copy` }), 403);
    t.equal(await status('DELETE', `${V}/versions/${fileId}`), 403);
    t.equal(await status('DELETE', `${V}/restore`), 403);
    t.equal(await read(), 'two!');
    t.same([...(await versions()).keys()], [String(T1)]);
  });
});

t.test('two versions of one second get distinct names', async (t) => {
  const env = await startWebdav(t, {}, {}, { '@cozy-ts/plugin-files': { versions: { maxNumber: 20, minDelaySeconds: 0 } } });
  const V = '/remote.php/dav/versions/me';
  const put = async (body: string) => (await raw(env, 'PUT', '/remote.php/dav/files/me/same.txt', { 'x-oc-mtime': String(T1) }, body)).headers['oc-fileid'] as string;
  const id = await put('a');
  await put('bb');
  await put('ccc');
  const list = parseMultistatus((await raw(env, 'PROPFIND', `${V}/versions/${id}`, { depth: '1' }, VERSION_PROPS)).body);
  t.same([...list.keys()].filter((h) => h !== `${V}/versions/${id}/`).map((h) => h.slice(h.lastIndexOf('/') + 1)).sort(), [String(T1), `${T1}-2`]);
  const bodies = [(await raw(env, 'GET', `${V}/versions/${id}/${T1}`)).body, (await raw(env, 'GET', `${V}/versions/${id}/${T1}-2`)).body];
  t.same(bodies, ['a', 'bb'], 'oldest first');
});
