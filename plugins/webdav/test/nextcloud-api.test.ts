import { createHash } from 'node:crypto';
import t from 'tap';
import { FILES } from '@cozy-ts/kernel';
import { davFileId, numericFileId } from '../src/nextcloud/file-ids.ts';
import { basicHeader, dav, parseMultistatus, raw, startTwoDavProcesses, startWebdav, type RawResponse, type TwoProcessSend } from './helpers.ts';

const OC = 'http://owncloud.org/ns';
const NC = 'http://nextcloud.org/ns';
const NC_PROPS = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="${OC}" xmlns:nc="${NC}"><d:prop>
  <d:getetag/><oc:id/><oc:fileid/><oc:permissions/><oc:size/><oc:checksums/><oc:share-types/><oc:downloadURL/><oc:dDC/>
  <oc:data-fingerprint/><nc:is-encrypted/></d:prop></d:propfind>`;


function ocsMeta(res: RawResponse): { status: string; statuscode: number } {
  if (res.body.startsWith('{')) {
    const { status, statuscode } = (JSON.parse(res.body) as { ocs: { meta: { status: string; statuscode: number } } }).ocs.meta;
    return { status, statuscode };
  }
  return { status: /<status>([^<]*)<\/status>/.exec(res.body)?.[1] ?? '', statuscode: Number(/<statuscode>(\d+)<\/statuscode>/.exec(res.body)?.[1]) };
}

t.test('the Nextcloud client API: status.php, OCS, oc:/nc: properties, headers, chunked uploads', async (t) => {
  const env = await startWebdav(t);
  const files = env.tk.kernel.container.resolve(FILES.token);
  const nc = (path = '/') => `/remote.php/dav/files/me${path}`;
  const propfind = async (path: string, depth: '0' | '1', authorization = env.basic) => {
    const res = await raw(env, 'PROPFIND', nc(path), { depth, 'content-type': 'application/xml', authorization }, NC_PROPS);
    t.equal(res.status, 207, `PROPFIND ${path}`);
    return parseMultistatus(res.body);
  };

  await t.test('status.php says installed, its version and product, for a known Host only', async (t) => {
    const res = await raw(env, 'GET', '/status.php', { authorization: '' });
    t.equal(res.status, 200);
    const status = JSON.parse(res.body) as Record<string, unknown>;
    t.match(status, { installed: true, maintenance: false, needsDbUpgrade: false, edition: '', productname: 'Cozy', extendedSupport: false });
    t.match(status.version, /^\d+\.\d+\.\d+\.\d+$/);
    t.equal(String(status.version).startsWith(String(status.versionstring)), true);
    const unknown = await raw(env, 'GET', '/status.php', { host: 'nowhere.example', authorization: '' });
    t.equal(unknown.status, 404);
  });

  await t.test('OCS capabilities in JSON and XML, v1 and v2', async (t) => {
    const v1 = await raw(env, 'GET', '/ocs/v1.php/cloud/capabilities?format=json', { 'ocs-apirequest': 'true' });
    t.equal(v1.status, 200);
    t.match(v1.headers['content-type'], /^application\/json/);
    const body = JSON.parse(v1.body) as { ocs: { meta: Record<string, unknown>; data: { version: Record<string, unknown>; capabilities: Record<string, Record<string, unknown>> } } };
    t.match(body.ocs.meta, { status: 'ok', statuscode: 100, message: 'OK' });
    t.match(body.ocs.data.version, { major: Number, minor: Number, micro: Number, string: String });
    const caps = body.ocs.data.capabilities;
    t.equal(caps.dav?.chunking, '1.0', 'chunked upload v2 (served, across processes)');
    t.equal(caps.files?.undelete, true, 'trash bin over DAV');
    t.equal(caps.files?.versioning, true, 'versions over DAV');
    t.match(caps.checksums, { supportedTypes: ['SHA1', 'MD5'], preferredUploadType: 'SHA1' }, 'the checksums uploads are checked against');
    t.equal(caps.core?.['webdav-root'], 'remote.php/webdav');

    const v2 = await raw(env, 'GET', '/ocs/v2.php/cloud/capabilities', { 'ocs-apirequest': 'true' });
    t.equal(v2.status, 200);
    t.match(v2.headers['content-type'], /^text\/xml/, 'XML unless JSON is asked for');
    t.match(v2.body, /^<\?xml version="1.0"\?>\n<ocs>\n <meta>/);
    t.same(ocsMeta(v2), { status: 'ok', statuscode: 200 });
    t.match(v2.body, /<bigfilechunking>1<\/bigfilechunking>/, 'true is 1, as Nextcloud writes it');
    t.match(v2.body, /<extendedSupport\/>/, 'false is an empty element');
    t.match(v2.body, /<pollinterval>60<\/pollinterval>/);
    const byAccept = await raw(env, 'GET', '/ocs/v2.php/cloud/capabilities', { accept: 'application/json' });
    t.match(byAccept.headers['content-type'], /^application\/json/, 'an Accept naming JSON');
    const xmlWins = await raw(env, 'GET', '/ocs/v2.php/cloud/capabilities?format=xml', { accept: 'application/json' });
    t.match(xmlWins.headers['content-type'], /^text\/xml/, 'format= before Accept');
  });

  await t.test("OCS cloud/user: the login the client used, the quota; the DAV address under that name works", async (t) => {
    const res = await raw(env, 'GET', '/ocs/v1.php/cloud/user?format=json', { authorization: basicHeader('alice', env.password) });
    const data = (JSON.parse(res.body) as { ocs: { data: Record<string, unknown> } }).ocs.data;
    t.equal(data.id, 'alice');
    t.match(data.quota, { used: Number, quota: -3 }, 'an instance without quota is unlimited (-3)');
    t.equal((await raw(env, 'PROPFIND', `/remote.php/dav/files/${encodeURIComponent(String(data.id))}/`, { depth: '0' })).status, 207);
    const bearer = await env.tk.kernel.auth.issueToken(env.inst, 'access', { subject: 'client-nc', scope: 'io.cozy.files' });
    await env.tk.kernel.store.put(env.inst, 'io.cozy.oauth.clients', { _id: 'client-nc', client_name: 'nc', software_id: 'nc' });
    const viaBearer = await raw(env, 'GET', '/ocs/v2.php/cloud/user?format=json', { authorization: `Bearer ${bearer}` });
    t.equal((JSON.parse(viaBearer.body) as { ocs: { data: { id: string } } }).ocs.data.id, env.inst.domain, 'no login: the domain');
    const slashed = await raw(env, 'GET', '/ocs/v1.php/cloud/user?format=json', { authorization: basicHeader('a/b', env.password) });
    t.equal((JSON.parse(slashed.body) as { ocs: { data: { id: string } } }).ocs.data.id, env.inst.domain, 'a login that is no path segment: the domain');
  });

  await t.test('OCS without valid credentials: HTTP 401 and the OCS envelope (997 in v1, 401 in v2)', async (t) => {
    for (const authorization of ['', basicHeader('me', 'wrong'), 'Bearer nope']) {
      const v1 = await raw(env, 'GET', '/ocs/v1.php/cloud/user?format=json', { authorization });
      t.equal(v1.status, 401, `v1 ${authorization || 'none'}`);
      t.match(v1.headers['www-authenticate'], /^Basic realm="Cozy"/);
      t.same(ocsMeta(v1), { status: 'failure', statuscode: 997 });
      const v1xml = await raw(env, 'GET', '/ocs/v1.php/cloud/capabilities', { authorization });
      t.equal(v1xml.status, 401);
      t.same(ocsMeta(v1xml), { status: 'failure', statuscode: 997 }, 'the XML envelope too');
      const v2 = await raw(env, 'GET', '/ocs/v2.php/cloud/user?format=json', { authorization });
      t.equal(v2.status, 401);
      t.same(ocsMeta(v2), { status: 'failure', statuscode: 401 });
    }
    const unknown = await raw(env, 'GET', '/ocs/v2.php/apps/notifications/api/v2/notifications?format=json');
    t.equal(unknown.status, 404);
    t.same(ocsMeta(unknown), { status: 'failure', statuscode: 404 }, 'an OCS call we do not serve');
  });

  await t.test('PROPFIND: oc:/nc: properties from the file documents and the credentials', async (t) => {
    t.equal((await raw(env, 'MKCOL', nc('/dir'))).status, 201);
    t.equal((await raw(env, 'PUT', nc('/dir/f.txt'), {}, 'hello nextcloud')).status, 201);
    const fileDoc = await files.statByPath(env.inst, '/dir/f.txt');
    const dirDoc = await files.statByPath(env.inst, '/dir');
    const list = await propfind('/dir/', '1');
    const dir = list.get(nc('/dir/'));
    const file = list.get(nc('/dir/f.txt'));
    t.ok(dir && file);
    t.equal(file?.found.get('oc:id'), davFileId(fileDoc._id, env.inst));
    t.equal(file?.found.get('oc:fileid'), String(numericFileId(fileDoc._id)));
    t.equal(file?.found.get('oc:permissions'), 'GDNVW');
    t.equal(file?.found.get('oc:size'), '15');
    t.equal(file?.found.get('oc:checksums'), `<checksum xmlns="${OC}">MD5:${createHash('md5').update('hello nextcloud').digest('hex')}</checksum>`);
    t.equal(file?.found.get('oc:share-types'), '', 'not shared: an empty list');
    t.ok(file?.missing.has('nc:is-encrypted'), 'is-encrypted is a folder property');
    t.ok(file?.missing.has('oc:downloadURL') && file.missing.has('oc:dDC'), 'no direct download: 404');
    t.ok(file?.missing.has('oc:data-fingerprint'), 'the fingerprint is the root only');
    t.equal(dir?.found.get('oc:fileid'), String(numericFileId(dirDoc._id)));
    t.equal(dir?.found.get('oc:permissions'), 'GDNVCK');
    t.equal(dir?.found.get('nc:is-encrypted'), '0');
    t.ok(dir?.missing.has('oc:size') && dir.missing.has('oc:checksums'));
    const root = (await propfind('/', '0')).get(nc('/'));
    t.equal(root?.found.get('oc:permissions'), 'GCK', 'the root can be neither deleted nor moved');
    t.equal(root?.found.get('oc:data-fingerprint'), '');

    const props = (await raw(env, 'PROPPATCH', nc('/dir/f.txt'), { 'content-type': 'application/xml' },
      `<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:oc="${OC}"><d:set><d:prop><oc:permissions>RGDNVW</oc:permissions></d:prop></d:set></d:propertyupdate>`));
    t.equal(props.status, 207);
    t.match(props.body, /permissions[\s\S]*?HTTP\/1\.1 403/, 'the live properties are protected');
    t.equal((await propfind('/dir/f.txt', '0')).get(nc('/dir/f.txt'))?.found.get('oc:permissions'), 'GDNVW', 'and unchanged');
  });

  await t.test('read-only credentials do not advertise any write permission', async (t) => {
    const readOnly = await env.tk.kernel.auth.issueToken(env.inst, 'access', { subject: 'client-nc', scope: 'io.cozy.files:GET' });
    const list = await propfind('/dir/', '1', basicHeader('me', readOnly));
    t.equal(list.get(nc('/dir/'))?.found.get('oc:permissions'), 'G');
    t.equal(list.get(nc('/dir/f.txt'))?.found.get('oc:permissions'), 'G');
    t.equal((await raw(env, 'PUT', nc('/dir/f.txt'), { authorization: basicHeader('me', readOnly) }, 'x')).status, 403, 'as enforced');
  });

  await t.test("a directory's ETag changes when anything below it does, and only then", async (t) => {
    t.equal((await raw(env, 'MKCOL', nc('/dir/sub'))).status, 201);
    const etagOf = async (path: string) => (await propfind(path, '0')).get(nc(path))?.found.get('getetag');
    const before = { dir: await etagOf('/dir/'), root: await etagOf('/') };
    t.equal(await etagOf('/dir/'), before.dir, 'stable without changes');
    t.equal((await dav(env, 'PUT', '/dir/sub/deep.txt', { body: 'deep' })).status, 201, 'a change through /dav/files/');
    t.not(await etagOf('/dir/'), before.dir, 'the grandparent');
    t.not(await etagOf('/'), before.root, 'the root');
    const fileEtag = (await propfind('/dir/f.txt', '0')).get(nc('/dir/f.txt'))?.found.get('getetag');
    t.equal(fileEtag, `"${createHash('md5').update('hello nextcloud').digest('hex')}-15"`, "a file's ETag is its content's");
  });

  await t.test('PUT answers OC-FileId, OC-ETag and X-OC-MTime only when the time was kept; GET answers OC-Checksum', async (t) => {
    const put = await raw(env, 'PUT', nc('/dir/m.txt'), { 'x-oc-mtime': '1600000000' }, 'with mtime');
    t.equal(put.status, 201);
    const doc = await files.statByPath(env.inst, '/dir/m.txt');
    t.equal(put.headers['oc-fileid'], davFileId(doc._id, env.inst), "oc:id's form");
    t.equal(put.headers['oc-etag'], put.headers.etag);
    t.equal(put.headers['x-oc-mtime'], 'accepted');
    t.equal(doc.updated_at.slice(0, 19), '2020-09-13T12:26:40');
    const older = await raw(env, 'PUT', nc('/dir/m.txt'), { 'x-oc-mtime': '1500000000' }, 'older than the creation');
    t.equal(older.status, 204);
    t.equal(older.headers['x-oc-mtime'], undefined, 'a time the VFS refused is not said accepted');
    t.equal(older.headers['oc-fileid'], davFileId(doc._id, env.inst), 'an overwrite keeps the id');
    const mk = await raw(env, 'MKCOL', nc('/dir/made'));
    t.equal(mk.headers['oc-fileid'], davFileId((await files.statByPath(env.inst, '/dir/made'))._id, env.inst));
    const get = await raw(env, 'GET', nc('/dir/m.txt'));
    t.equal(get.headers['oc-checksum'], `MD5:${createHash('md5').update('older than the creation').digest('hex')}`);
    t.equal((await dav(env, 'GET', '/dir/m.txt')).headers.get('oc-checksum'), null, '/dav/files/ is left as it was');
  });

  await t.test('OC-Checksum is checked: a mismatch leaves no file (400)', async (t) => {
    const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
    const good = await raw(env, 'PUT', nc('/dir/sum.txt'), { 'oc-checksum': `SHA1:${sha1('summed')}` }, 'summed');
    t.equal(good.status, 201);
    const bad = await raw(env, 'PUT', nc('/dir/bad-sum.txt'), { 'oc-checksum': `SHA1:${sha1('other')}` }, 'summed');
    t.equal(bad.status, 400);
    t.equal((await raw(env, 'GET', nc('/dir/bad-sum.txt'))).status, 404, 'nothing written');
    const badOverwrite = await raw(env, 'PUT', nc('/dir/sum.txt'), { 'oc-checksum': `MD5:${createHash('md5').update('x').digest('hex')}` }, 'changed');
    t.equal(badOverwrite.status, 400);
    t.equal((await raw(env, 'GET', nc('/dir/sum.txt'))).body, 'summed', 'the file keeps its content');
    t.equal((await raw(env, 'PUT', nc('/dir/adler.txt'), { 'oc-checksum': 'Adler32:0123abcd' }, 'x')).status, 201, 'a type we do not check');
    await raw(env, 'MKCOL', '/remote.php/dav/uploads/me/sum');
    await raw(env, 'PUT', '/remote.php/dav/uploads/me/sum/1', {}, 'part');
    const move = await raw(env, 'MOVE', '/remote.php/dav/uploads/me/sum/.file', { destination: nc('/dir/sum-v2.txt'), 'oc-checksum': `SHA1:${sha1('not part')}` });
    t.equal(move.status, 400, 'the assembled file too');
    t.equal((await raw(env, 'GET', nc('/dir/sum-v2.txt'))).status, 404);
    await raw(env, 'DELETE', '/remote.php/dav/uploads/me/sum');
  });

  await t.test('OC-Chunked uploads: parts in any order, answered without ETag until the last; If-Match on the target', async (t) => {
    const parts = ['part zero|', 'part one|', 'end'];
    const name = (i: number, transfer = '42') => nc(`/dir/big.bin-chunking-${transfer}-3-${i}`);
    const headers = { 'oc-chunked': '1', 'oc-total-length': String(parts.join('').length) };
    for (const i of [1, 0]) {
      const res = await raw(env, 'PUT', name(i), headers, parts[i]);
      t.equal(res.status, 201);
      t.equal(res.headers.etag, undefined, `part ${i}: no ETag, the file is not there yet`);
    }
    const listing = await raw(env, 'PROPFIND', nc('/'), { depth: '1' });
    t.notMatch(listing.body, /nextcloud-uploads/, 'the staging folder is hidden from the Nextcloud mounts');
    t.equal((await raw(env, 'PROPFIND', nc('/.nextcloud-uploads/'), { depth: '0' })).status, 404);
    t.equal((await raw(env, 'GET', nc('/dir/big.bin'))).status, 404, 'nothing at the target meanwhile');
    const last = await raw(env, 'PUT', name(2), headers, parts[2]);
    t.equal(last.status, 201);
    t.ok(last.headers.etag, 'the last part is answered with the ETag of the file');
    const doc = await files.statByPath(env.inst, '/dir/big.bin');
    t.equal(last.headers['oc-fileid'], davFileId(doc._id, env.inst));
    t.equal((await raw(env, 'GET', nc('/dir/big.bin'))).body, parts.join(''));
    t.equal((await dav(env, 'PROPFIND', '/', { headers: { depth: '1' } }).then((r) => r.text())).includes('nextcloud-uploads'), false, 'staging removed once done');

    const stale = await raw(env, 'PUT', name(0, '43'), { ...headers, 'if-match': '"not-the-etag"' }, 'new zero');
    t.equal(stale.status, 201, 'a part alone cannot be checked');
    await raw(env, 'PUT', name(1, '43'), { ...headers, 'if-match': '"not-the-etag"' }, 'new one');
    const refused = await raw(env, 'PUT', name(2, '43'), { ...headers, 'if-match': '"not-the-etag"' }, 'new end');
    t.equal(refused.status, 412, 'If-Match is checked against the target');
    t.equal((await raw(env, 'GET', nc('/dir/big.bin'))).body, parts.join(''), 'the file is untouched');
    for (const [i, text] of ['v2 zero|', 'v2 one|', 'v2'].entries()) {
      const res = await raw(env, 'PUT', name(i, '44'), { 'oc-chunked': '1', 'if-match': String(last.headers.etag) }, text);
      t.equal(res.status, 201, `overwrite part ${i}`);
    }
    t.equal((await raw(env, 'GET', nc('/dir/big.bin'))).body, 'v2 zero|v2 one|v2', 'overwritten with the right If-Match');
    t.equal((await files.statByPath(env.inst, '/dir/big.bin'))._id, doc._id, 'same file, a new version');

    t.equal((await raw(env, 'PUT', nc('/dir/plain.bin'), { 'oc-chunked': '1' }, 'x')).status, 400, 'OC-Chunked without a part name');
    t.equal((await raw(env, 'PUT', nc('/dir/x-chunking-1-2-5'), { 'oc-chunked': '1' }, 'x')).status, 400, 'an index past the count');
    const short = { 'oc-chunked': '1', 'oc-total-length': '100' };
    await raw(env, 'PUT', nc('/dir/s.bin-chunking-7-2-0'), short, 'a');
    t.equal((await raw(env, 'PUT', nc('/dir/s.bin-chunking-7-2-1'), short, 'b')).status, 400, 'parts that do not add up');
    t.equal((await raw(env, 'GET', nc('/dir/s.bin'))).status, 404);

    t.equal((await dav(env, 'MKCOL', '/.nextcloud-uploads')).status, 201, "a user's own folder of the staging name");
    t.equal((await dav(env, 'PUT', '/.nextcloud-uploads/mine.txt', { body: 'mine' })).status, 201);
    const refusedStaging = await raw(env, 'PUT', nc('/dir/u.bin-chunking-8-2-0'), { 'oc-chunked': '1' }, 'a');
    t.equal(refusedStaging.status, 409, 'chunked uploads do not stage in it');
    t.equal(await (await dav(env, 'GET', '/.nextcloud-uploads/mine.txt')).text(), 'mine', 'nor touch it');
    t.equal((await dav(env, 'DELETE', '/.nextcloud-uploads')).status, 204);
  });
});

t.test('chunked upload v2: /remote.php/dav/uploads/<user>/<id>, parts, MOVE .file', async (t) => {
  const env = await startWebdav(t);
  const files = env.tk.kernel.container.resolve(FILES.token);
  const up = (path = '') => `/remote.php/dav/uploads/me/web-1${path}`;
  t.equal((await raw(env, 'MKCOL', up())).status, 201);
  t.equal((await raw(env, 'MKCOL', up())).status, 405, 'an upload exists once');
  // Natural order: 2 before 10, whatever order they come in.
  const names = ['10', '2', '1'];
  for (const name of names) t.equal((await raw(env, 'PUT', up(`/${name}`), {}, `<${name}>`)).status, 201, `part ${name}`);
  t.equal((await raw(env, 'PUT', up('/2'), {}, '<2>')).status, 204, 'a part sent again replaces the first');
  const listing = parseMultistatus((await raw(env, 'PROPFIND', up(), { depth: '1' })).body);
  t.same([...listing.keys()].sort(), [up('/'), up('/1'), up('/10'), up('/2')].sort(), 'the parts, for a client resuming');
  t.equal(listing.get(up('/10'))?.found.get('getcontentlength'), '4');
  t.equal((await raw(env, 'PUT', '/remote.php/dav/uploads/me/nope/1', {}, 'x')).status, 409, 'a part needs its upload');
  t.equal((await raw(env, 'MOVE', up('/.file'), { destination: `http://elsewhere.example/remote.php/dav/files/me/x` })).status, 502);
  t.equal((await raw(env, 'MOVE', up('/.file'), { destination: `${env.origin}/dav/files/x` })).status, 403, 'only into /remote.php/dav/files/<user>/');
  t.equal((await raw(env, 'MOVE', up('/1'), { destination: `${env.origin}/remote.php/dav/files/me/x` })).status, 403, 'a part alone does not move');
  t.equal((await raw(env, 'PUT', '/remote.php/dav/files/me/v2.txt', {}, 'before')).status, 201);
  const stale = await raw(env, 'MOVE', up('/.file'), { destination: `${env.origin}/remote.php/dav/files/me/v2.txt`, 'if-match': '"stale"' });
  t.equal(stale.status, 412, "If-Match is the file's");
  t.equal((await raw(env, 'GET', '/remote.php/dav/files/me/v2.txt')).body, 'before');
  const kept = await raw(env, 'PROPFIND', up(), { depth: '1' });
  t.equal(kept.status, 207);
  t.equal((kept.body.match(/<D:response>/g) ?? []).length, 4, 'the parts are kept for another try (the upload and its three parts)');
  const lockinfo = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
  const lock = await raw(env, 'LOCK', '/remote.php/dav/files/me/v2.txt', { 'content-type': 'application/xml', timeout: 'Second-60' }, lockinfo);
  t.equal(lock.status, 200);
  const locked = await raw(env, 'MOVE', up('/.file'), { destination: '/remote.php/dav/files/me/v2.txt' });
  t.equal(locked.status, 423, "the file's DAV lock binds the MOVE");
  t.equal((await raw(env, 'UNLOCK', '/remote.php/dav/files/me/v2.txt', { 'lock-token': String(lock.headers['lock-token']) })).status, 204);
  const before = await files.statByPath(env.inst, '/v2.txt');
  const moved = await raw(env, 'MOVE', up('/.file'), { destination: '/remote.php/dav/files/me/v2.txt', 'oc-total-length': '10', 'x-oc-mtime': String(Math.floor(Date.now() / 1000) + 60) });
  t.equal(moved.status, 204, 'over the existing file');
  t.equal(moved.headers['oc-fileid'], davFileId(before._id, env.inst), 'same file, a new version');
  t.ok(moved.headers['oc-etag'] && moved.headers['oc-etag'] === moved.headers.etag);
  t.equal(moved.headers['x-oc-mtime'], 'accepted');
  t.equal((await raw(env, 'GET', '/remote.php/dav/files/me/v2.txt')).body, '<1><2><10>');
  t.equal((await raw(env, 'PROPFIND', up(), { depth: '0' })).status, 404, 'the upload is used up');
  t.equal((await dav(env, 'PROPFIND', '/', { headers: { depth: '1' } }).then((r) => r.text())).includes('nextcloud-uploads'), false, 'nothing staged left');

  t.equal((await raw(env, 'MKCOL', '/remote.php/dav/uploads/me/web-2')).status, 201);
  await raw(env, 'PUT', '/remote.php/dav/uploads/me/web-2/1', {}, 'abc');
  const wrongTotal = await raw(env, 'MOVE', '/remote.php/dav/uploads/me/web-2/.file', { destination: '/remote.php/dav/files/me/t.bin', 'oc-total-length': '99' });
  t.equal(wrongTotal.status, 400, 'OC-Total-Length is checked');
  t.equal((await raw(env, 'DELETE', '/remote.php/dav/uploads/me/web-2')).status, 204, 'giving up');
  t.equal((await raw(env, 'PROPFIND', '/remote.php/dav/uploads/me/web-2', { depth: '0' })).status, 404);
  const readOnly = await env.tk.kernel.auth.issueToken(env.inst, 'access', { subject: 'client-nc', scope: 'io.cozy.files:GET' });
  await env.tk.kernel.store.put(env.inst, 'io.cozy.oauth.clients', { _id: 'client-nc', client_name: 'nc', software_id: 'nc' });
  t.equal((await raw(env, 'PROPFIND', '/remote.php/dav/uploads/me/', { depth: '0', authorization: basicHeader('me', readOnly) })).status, 403, 'uploads need the right to write');
  t.equal((await raw(env, 'MKCOL', '/remote.php/dav/uploads/me/x', { authorization: '' })).status, 401);
});

t.test('chunked uploads that cannot fit the quota are refused up front (507)', async (t) => {
  const env = await startWebdav(t, {}, { diskQuota: 1_000_000 });
  const mk = (id: string, total: number) => raw(env, 'MKCOL', `/remote.php/dav/uploads/me/${id}`, { 'oc-total-length': String(total) });
  const tooBig = await mk('big', 600_000);
  t.equal(tooBig.status, 507, 'parts and file together would not fit');
  t.match(tooBig.body, /quota-not-exceeded/);
  t.equal((await mk('fits', 400_000)).status, 201);
  t.equal((await mk('unannounced', 0)).status, 201);
  const v1 = await raw(env, 'PUT', '/remote.php/dav/files/me/v1.bin-chunking-5-2-0', { 'oc-chunked': '1', 'oc-total-length': '600000' }, 'x');
  t.equal(v1.status, 507, 'the same for OC-Chunked');
});

t.test('OC-Chunked parts sent to two processes of a farm make one file', async (t) => {
  const { one, two, domain } = await startTwoDavProcesses(t, '');
  const parts = ['first part, ', 'second part, ', 'third part, ', 'last'];
  const order: Array<[TwoProcessSend, number]> = [[one, 0], [two, 2], [one, 1], [two, 3]];
  for (const [send, i] of order) {
    const res = await send('PUT', `/remote.php/webdav/farm.bin-chunking-9-4-${i}`, { 'oc-chunked': '1' }, parts[i]);
    t.equal(res.status, 201, `part ${i} through process ${send === one ? 1 : 2}`);
    t.equal(res.headers.etag === undefined, i !== 3, i === 3 ? 'the completing part has the ETag' : 'no ETag yet');
  }
  t.equal((await one('GET', '/remote.php/webdav/farm.bin')).body, parts.join(''));
  t.equal((await two('GET', '/remote.php/webdav/farm.bin')).body, parts.join(''));

  // Chunked upload v2: the upload made on one process, parts on both, the MOVE on the other.
  const up = '/remote.php/dav/uploads/me/farm-v2';
  t.equal((await one('MKCOL', up)).status, 201);
  for (const [send, i] of order) t.equal((await send('PUT', `${up}/${i + 1}`, {}, parts[i])).status, 201, `v2 part ${i + 1}`);
  const moved = await two('MOVE', `${up}/.file`, { destination: `http://${domain}/remote.php/dav/files/me/farm-v2.bin` });
  t.equal(moved.status, 201);
  t.equal((await one('GET', '/remote.php/dav/files/me/farm-v2.bin')).body, parts.join(''));
});
