import t from 'tap';
import { FILES, isCozyError } from '@cozy-ts/kernel';
import { davFileId, docIdOfNumber, numericFileId } from '../src/nextcloud/file-ids.ts';
import { basicHeader, parseMultistatus, raw, startWebdav, type RawResponse } from './helpers.ts';

const OC = 'http://owncloud.org/ns';
const NC = 'http://nextcloud.org/ns';

/**
 * What the Nextcloud Android library's ReadTrashbinFolderRemoteOperation asks (WebdavUtils' TRASHBIN property set),
 * as Jackrabbit's PropFindMethod writes it.
 */
const TRASHBIN_PROPS = `<?xml version="1.0" encoding="UTF-8" standalone="no"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:displayname/><D:getcontenttype/><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:creationdate/><D:getetag/>
<oc:permissions xmlns:oc="${OC}"/><oc:id xmlns:oc="${OC}"/><oc:fileid xmlns:oc="${OC}"/><oc:size xmlns:oc="${OC}"/>
<nc:has-preview xmlns:nc="${NC}"/><nc:trashbin-filename xmlns:nc="${NC}"/><nc:trashbin-original-location xmlns:nc="${NC}"/>
<nc:trashbin-deletion-time xmlns:nc="${NC}"/></D:prop></D:propfind>`;

/** An href as a request path: each segment escaped (WebdavUtils.encodePath in the Android library). */
function encodePath(href: string): string {
  return href.split('/').map(encodeURIComponent).join('/');
}


t.test('the Nextcloud trash bin over our trash: list, download, restore, destroy, empty', async (t) => {
  const env = await startWebdav(t);
  const files = env.tk.kernel.container.resolve(FILES.token);
  const nc = (path: string) => `/remote.php/dav/files/me${path}`;
  const TB = '/remote.php/dav/trashbin/me';
  const put = async (path: string, body: string) => t.equal((await raw(env, 'PUT', nc(path), {}, body)).status, 201, `PUT ${path}`);
  const mkcol = async (path: string) => t.equal((await raw(env, 'MKCOL', nc(path))).status, 201, `MKCOL ${path}`);
  const del = async (path: string) => t.equal((await raw(env, 'DELETE', nc(path))).status, 204, `DELETE ${path}`);
  const idOf = async (path: string) => (await files.statByPath(env.inst, path))._id;
  const exists = async (path: string) => files.statByPath(env.inst, path).then(() => true, (err: unknown) => {
    if (isCozyError(err) && err.status === 404) return false;
    throw err;
  });
  const propfind = async (path: string, headers: Record<string, string> = {}) => {
    const res = await raw(env, 'PROPFIND', `${TB}${path}`, { depth: '1', 'content-type': 'application/xml; charset=utf-8', ...headers }, TRASHBIN_PROPS);
    t.equal(res.status, 207, `PROPFIND ${path}`);
    return parseMultistatus(res.body);
  };
  /** The trash as the app lists it, by `nc:trashbin-original-location`. */
  const listing = async () => {
    const byLocation = new Map<string, { href: string; props: Map<string, string> }[]>();
    for (const [href, e] of await propfind('/trash/')) {
      if (href === `${TB}/trash/`) continue;
      const loc = e.found.get('nc:trashbin-original-location') as string;
      byLocation.set(loc, [...(byLocation.get(loc) ?? []), { href, props: e.found }]);
    }
    return byLocation;
  };
  const one = async (location: string) => {
    const items = (await listing()).get(location) ?? [];
    t.equal(items.length, 1, `one ${location} in the trash`);
    return items[0] as { href: string; props: Map<string, string> };
  };
  const restoreTo = (name: string) => `${env.origin}${TB}/restore/${encodeURIComponent(name)}`;
  // RestoreTrashbinFileRemoteOperation: MOVE with Overwrite: T to restore/<original name>.
  const restore = (href: string, name: string, headers: Record<string, string> = {}) => raw(env, 'MOVE', encodePath(href), { destination: restoreTo(name), overwrite: 'T', ...headers });

  await mkcol('/docs');
  await put('/docs/a.txt', 'alpha');
  await mkcol('/docs/sub');
  await put('/docs/sub/c.txt', 'gamma');
  await put('/b.txt', 'beta');
  const aId = await idOf('/docs/a.txt');
  const subId = await idOf('/docs/sub');
  const before = Math.floor(Date.now() / 1000);
  await del('/docs/a.txt');
  await del('/docs/sub');
  await del('/b.txt');
  const after = Math.ceil(Date.now() / 1000);

  await t.test('PROPFIND Depth 1 of trash/ lists every trashed entry with Nextcloud\'s properties', async (t) => {
    const all = await propfind('/trash/');
    t.equal(all.size, 4, 'the trash and its three entries');
    t.ok(all.get(`${TB}/trash/`)?.found.has('resourcetype'));
    const a = await one('docs/a.txt');
    const deleted = Number(a.props.get('nc:trashbin-deletion-time'));
    t.ok(deleted >= before && deleted <= after, 'deletion time in Unix seconds');
    t.equal(a.href, `${TB}/trash/a.txt.d${deleted}`, 'named <name>.d<deletion time>');
    t.equal(a.props.get('nc:trashbin-filename'), 'a.txt');
    t.equal(a.props.get('displayname'), 'a.txt');
    t.equal(a.props.get('oc:fileid'), String(numericFileId(aId)), 'the file keeps its id in the trash');
    t.equal(a.props.get('oc:id'), davFileId(aId, env.inst));
    t.equal(a.props.get('getcontentlength'), '5');
    t.equal(a.props.get('oc:size'), '5');
    t.equal(a.props.get('oc:permissions'), 'GD');
    t.equal(a.props.get('nc:has-preview'), 'false');
    t.match(a.props.get('getcontenttype'), /^text\/plain/);
    t.ok(a.props.get('getlastmodified'));
    t.ok(a.props.get('getetag'));
    t.equal(a.props.get('resourcetype'), '', 'a file');
    const sub = await one('docs/sub');
    t.equal(sub.href, `${TB}/trash/sub.d${sub.props.get('nc:trashbin-deletion-time')}/`);
    t.match(sub.props.get('resourcetype'), /collection/);
    t.equal(sub.props.get('oc:size'), '5', 'a folder\'s size is what is below it');
    t.equal(sub.props.get('oc:fileid'), String(numericFileId(subId)));
    t.equal((await one('b.txt')).props.get('nc:trashbin-filename'), 'b.txt', 'a root entry\'s location is its name');
  });

  await t.test('the home lists trash and restore; restore is empty; Depth infinity is refused', async (t) => {
    const home = await propfind('/');
    t.same([...home.keys()].sort(), [`${TB}/`, `${TB}/restore/`, `${TB}/trash/`]);
    t.same([...(await propfind('/restore/')).keys()], [`${TB}/restore/`]);
    t.equal((await raw(env, 'PROPFIND', `${TB}/trash/`, { depth: 'infinity' })).status, 403);
  });

  await t.test('PROPFIND into a trashed folder and GET of trashed files', async (t) => {
    const sub = await one('docs/sub');
    const inside = await propfind(new URL(sub.href, env.origin).pathname.slice(TB.length));
    const c = inside.get(`${sub.href}c.txt`);
    t.ok(c, 'the folder\'s file, under its own name');
    t.equal(c?.found.get('nc:trashbin-filename'), 'c.txt');
    t.equal(c?.found.get('nc:trashbin-original-location'), 'docs/sub/c.txt');
    t.equal(c?.found.get('nc:trashbin-deletion-time'), sub.props.get('nc:trashbin-deletion-time'));
    const got = await raw(env, 'GET', encodeURI(`${sub.href}c.txt`));
    t.equal(got.status, 200);
    t.equal(got.body, 'gamma');

    const a = await one('docs/a.txt');
    const file = await raw(env, 'GET', encodeURI(a.href));
    t.equal(file.status, 200);
    t.equal(file.body, 'alpha');
    t.match(file.headers['content-disposition'], /^attachment; filename\*=UTF-8''a\.txt; filename="a\.txt"$/);
    const part = await raw(env, 'GET', encodeURI(a.href), { range: 'bytes=1-3' });
    t.equal(part.status, 206);
    t.equal(part.body, 'lph');
    t.equal((await raw(env, 'HEAD', encodeURI(a.href))).headers['content-length'], '5');
  });

  await t.test('two entries of one name stay apart: unique member names, the same filename', async (t) => {
    await put('/docs/a.txt', 'alpha 2');
    await del('/docs/a.txt');
    const both = (await listing()).get('docs/a.txt') ?? [];
    t.equal(both.length, 2);
    t.not(both[0]?.href, both[1]?.href);
    t.same(both.map((e) => e.props.get('nc:trashbin-filename')), ['a.txt', 'a.txt']);
    const bodies = await Promise.all(both.map(async (e) => (await raw(env, 'GET', encodeURI(e.href))).body));
    t.same(bodies.sort(), ['alpha', 'alpha 2']);
  });

  await t.test('MOVE to restore/<name> restores through our restore, a suffix on a clash', async (t) => {
    const both = (await listing()).get('docs/a.txt') ?? [];
    const first = both.find((e) => e.props.get('oc:fileid') === String(numericFileId(aId)));
    const second = both.find((e) => e !== first);
    const res = await restore(first?.href as string, 'a.txt');
    t.equal(res.status, 201);
    const back = await files.statByPath(env.inst, '/docs/a.txt');
    t.equal(back._id, aId, 'the same file, back where it was');
    t.equal((await raw(env, 'GET', nc('/docs/a.txt'))).body, 'alpha');
    t.equal((await raw(env, 'GET', encodeURI(first?.href as string))).status, 404, 'no longer in the trash');

    t.equal((await restore(second?.href as string, 'a.txt')).status, 201);
    const names: string[] = [];
    for await (const doc of files.children(env.inst, await idOf('/docs'))) names.push(doc.name);
    const suffixed = names.filter((n) => /^a\.txt \(\d+\)$/.test(n));
    t.equal(suffixed.length, 1, 'the second one got cozy\'s suffix');
    t.equal((await raw(env, 'GET', nc(`/docs/${encodeURIComponent(suffixed[0] as string)}`))).body, 'alpha 2');
  });

  await t.test('restoring into a deleted parent makes the parent again; an entry inside a trashed folder restores too', async (t) => {
    await mkcol('/p');
    await put('/p/q.txt', 'queue');
    await del('/p/q.txt');
    await del('/p');
    const q = await one('p/q.txt');
    t.equal((await restore(q.href, 'q.txt')).status, 201);
    t.equal((await raw(env, 'GET', nc('/p/q.txt'))).body, 'queue', 'in a new /p');
    t.ok(await one('p'), 'the trashed /p stays in the trash');

    const sub = await one('docs/sub');
    t.equal((await restore(`${sub.href}c.txt`, 'c.txt')).status, 201);
    t.equal((await raw(env, 'GET', nc('/docs/sub/c.txt'))).body, 'gamma', 'back under its folder\'s old place');
    t.same([...(await propfind(new URL(sub.href, env.origin).pathname.slice(TB.length))).keys()], [sub.href], 'the trashed folder is now empty');

    // The trashed /p, while a new /p exists: the folder comes back under cozy's suffix.
    t.equal((await restore((await one('p')).href, 'p')).status, 201);
    const dirs: string[] = [];
    for await (const doc of files.children(env.inst, await idOf('/'))) if (/^p( \(\d+\))?$/.test(doc.name)) dirs.push(doc.name);
    t.equal(dirs.length, 2, 'both folders');
    t.equal((await listing()).get('p'), undefined, 'no longer in the trash');
  });

  await t.test('names needing escapes: listed, downloaded and restored by their href', async (t) => {
    const name = 'Été à la plage #1 (copie) 100%.txt';
    await put(`/${encodeURIComponent(name)}`, 'sable');
    await del(`/${encodeURIComponent(name)}`);
    const item = await one(name);
    t.equal(item.props.get('nc:trashbin-filename'), name);
    t.equal((await raw(env, 'GET', encodePath(item.href))).body, 'sable');
    t.equal((await restore(item.href, name, {})).status, 201);
    t.equal(await exists(`/${name}`), true);
  });

  await t.test('DELETE of an entry destroys it; DELETE of trash/ empties the trash', async (t) => {
    const b = await one('b.txt');
    const bId = await docIdOfNumber(env.tk.kernel.store, env.inst, Number(b.props.get('oc:fileid')));
    t.ok(bId, 'its oc:fileid maps back to the document');
    t.equal((await raw(env, 'DELETE', encodeURI(b.href))).status, 204);
    const gone = await files.stat(env.inst, bId as string).then(() => 0, (err: unknown) => (isCozyError(err) ? err.status : -1));
    t.equal(gone, 404, 'gone for good');
    t.equal((await raw(env, 'DELETE', encodeURI(b.href))).status, 404);
    t.ok((await listing()).size > 0);
    const del = await raw(env, 'DELETE', `${TB}/trash`);
    t.equal(del.status, 204, 'EmptyTrashbinRemoteOperation expects 204');
    t.same([...(await propfind('/trash/')).keys()], [`${TB}/trash/`]);
    t.equal(await exists('/docs/a.txt'), true, 'restored files are untouched');
  });
});

t.test('the trash bin refuses other users, other rights, unknown entries and bad Destinations', async (t) => {
  const env = await startWebdav(t);
  const TB = '/remote.php/dav/trashbin/me';
  // Tokens name an OAuth client, which must exist.
  await env.tk.kernel.store.put(env.inst, 'io.cozy.oauth.clients', { _id: 'client-nc', client_name: 'nc', software_id: 'nc' });
  t.equal((await raw(env, 'PUT', '/remote.php/dav/files/me/x.txt', {}, 'x')).status, 201);
  t.equal((await raw(env, 'DELETE', '/remote.php/dav/files/me/x.txt')).status, 204);
  const list = await raw(env, 'PROPFIND', `${TB}/trash/`, { depth: '1' }, TRASHBIN_PROPS);
  const href = [...parseMultistatus(list.body).keys()].find((h) => h.includes('x.txt.d')) as string;
  t.ok(href);
  const status = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => (await raw(env, method, path, headers, body)).status;

  await t.test('another user\'s trash is 403, no user 404, no credentials 401 with a challenge', async (t) => {
    t.equal(await status('PROPFIND', '/remote.php/dav/trashbin/other/trash/', { depth: '1' }), 403);
    t.equal(await status('MOVE', href.replace('/me/', '/other/'), { destination: `${env.origin}/remote.php/dav/trashbin/other/restore/x.txt` }), 403);
    t.equal(await status('PROPFIND', '/remote.php/dav/trashbin/', { depth: '1' }), 404);
    const anon: RawResponse = await raw(env, 'PROPFIND', `${TB}/trash/`, { depth: '1', authorization: '' });
    t.equal(anon.status, 401);
    t.match(anon.headers['www-authenticate'], /^Basic realm=/);
    // A Bearer token's Nextcloud id is the instance's domain.
    const token = await env.tk.kernel.auth.issueToken(env.inst, 'access', { subject: 'client-nc', scope: 'io.cozy.files' });
    t.equal(await status('PROPFIND', `/remote.php/dav/trashbin/${encodeURIComponent(env.inst.domain)}/trash/`, { depth: '1', authorization: `Bearer ${token}` }), 207);
    t.equal(await status('PROPFIND', `${TB}/trash/`, { depth: '1', authorization: `Bearer ${token}` }), 403);
  });

  await t.test('credentials without the files are 403; read-only ones list and read but neither restore nor delete', async (t) => {
    const calendars = await env.devicePassword(['calendars']);
    t.equal(await status('PROPFIND', `${TB}/trash/`, { depth: '1', authorization: basicHeader('me', calendars) }), 403);
    const readOnly = basicHeader('me', await env.tk.kernel.auth.issueToken(env.inst, 'access', { subject: 'client-nc', scope: 'io.cozy.files:GET' }));
    t.equal(await status('PROPFIND', `${TB}/trash/`, { depth: '1', authorization: readOnly }), 207);
    t.equal(await status('GET', encodeURI(href), { authorization: readOnly }), 200);
    t.equal(await status('MOVE', encodeURI(href), { authorization: readOnly, destination: `${env.origin}${TB}/restore/x.txt` }), 403);
    t.equal(await status('DELETE', encodeURI(href), { authorization: readOnly }), 403);
    t.equal(await status('DELETE', `${TB}/trash`, { authorization: readOnly }), 403);
    t.equal(await status('GET', encodeURI(href)), 200, 'still there');
  });

  await t.test('unknown or stale entries are 404', async (t) => {
    const stale = href.replace(/\.d(\d+)$/, (_m, d: string) => `.d${Number(d) - 1}`);
    for (const path of [`${TB}/trash/nothing.txt`, `${TB}/trash/nothing.txt.d123`, stale, `${encodeURI(href)}/below`]) {
      t.equal(await status('PROPFIND', path, { depth: '0' }), 404, `PROPFIND ${path}`);
      t.equal(await status('GET', path), 404, `GET ${path}`);
      t.equal(await status('DELETE', path), 404, `DELETE ${path}`);
      t.equal(await status('MOVE', path, { destination: `${env.origin}${TB}/restore/x.txt` }), 404, `MOVE ${path}`);
    }
  });

  await t.test('bad Destinations: missing 400, malformed 400, another host 502, anywhere but restore/<name> 403', async (t) => {
    const move = (destination?: string) => status('MOVE', encodeURI(href), destination === undefined ? {} : { destination });
    t.equal(await move(), 400);
    t.equal(await move('http://[bad'), 400);
    t.equal(await move(`${env.origin}${TB}/restore/%zz`), 400);
    t.equal(await move(`${env.origin}${TB}/restore/a%2Fb`), 400);
    t.equal(await move(`http://elsewhere.example${TB}/restore/x.txt`), 502);
    t.equal(await move(`${env.origin}/remote.php/dav/files/me/x.txt`), 403);
    t.equal(await move(`${env.origin}/remote.php/dav/trashbin/other/restore/x.txt`), 403);
    t.equal(await move(`${env.origin}${TB}/restore/`), 403);
    t.equal(await move(`${env.origin}${TB}/restore/x/y`), 403);
    t.equal(await move(`${env.origin}${TB}/trash/x.txt`), 403);
    t.equal(await move(`${env.origin}/remote.php/dav/versions/me/restore/target`), 403);
    t.equal(await status('GET', encodeURI(href)), 200, 'nothing was restored');
  });

  await t.test('nothing can be created, copied, locked, patched; the home and restore cannot be deleted', async (t) => {
    t.equal(await status('PUT', `${TB}/trash/new.txt`, {}, 'x'), 403);
    t.equal(await status('MKCOL', `${TB}/trash/new`), 403);
    t.equal(await status('COPY', encodeURI(href), { destination: `${env.origin}${TB}/trash/copy.txt` }), 403);
    t.equal(await status('PROPPATCH', encodeURI(href), { 'content-type': 'application/xml' }, '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:x>1</d:x></d:prop></d:set></d:propertyupdate>'), 403);
    t.equal(await status('LOCK', encodeURI(href), { 'content-type': 'application/xml' }, '<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockinfo>'), 403);
    t.equal(await status('DELETE', `${TB}/`), 403);
    t.equal(await status('DELETE', `${TB}/restore`), 403);
    t.equal(await status('MOVE', `${TB}/trash`, { destination: `${env.origin}${TB}/restore/all` }), 403);
    t.equal(await status('GET', encodeURI(href)), 200, 'still there');
  });

  await t.test('OCS capabilities advertise the trash and versions', async (t) => {
    const caps = JSON.parse((await raw(env, 'GET', '/ocs/v2.php/cloud/capabilities?format=json', { 'ocs-apirequest': 'true' })).body) as {
      ocs: { data: { capabilities: { files: { undelete: boolean; versioning: boolean } } } };
    };
    t.equal(caps.ocs.data.capabilities.files.undelete, true);
    t.equal(caps.ocs.data.capabilities.files.versioning, true);
  });
});
