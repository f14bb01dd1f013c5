import t from 'tap';
import { DOC_EVENTS, FILES, TRASH_DIR_ID, type DocEvent } from '@cozy-ts/kernel';
import { dav, startWebdav } from './helpers.ts';

const XML = { 'content-type': 'application/xml; charset=utf-8' };

t.test('files over WebDAV', async (t) => {
  const env = await startWebdav(t, {}, { diskQuota: 10_000_000 });
  const files = env.tk.kernel.container.resolve(FILES.token);
  const events: DocEvent[] = [];
  const off = env.tk.kernel.container.resolve(DOC_EVENTS.token).on((e) => {
    if (e.doctype === 'io.cozy.files') events.push(e);
  });
  t.teardown(off);
  const content = Buffer.from('0123456789abcdefghij');

  await t.test('PUT creates through the VFS (doc events emitted), GET returns ETag, Last-Modified and the bytes', async (t) => {
    t.equal((await dav(env, 'MKCOL', '/Docs')).status, 201);
    const put = await dav(env, 'PUT', '/Docs/été.txt', { body: content, headers: { 'content-type': 'text/plain' } });
    t.equal(put.status, 201);
    const etag = put.headers.get('etag');
    t.match(etag, /^"[0-9a-f]+-20"$/);
    const doc = await files.statByPath(env.inst, '/Docs/été.txt');
    t.equal(doc.type, 'file');
    t.ok(events.some((e) => e.verb === 'CREATED' && e.doc._id === doc._id), 'CREATED doc event for the file');
    const get = await dav(env, 'GET', '/Docs/%C3%A9t%C3%A9.txt');
    t.equal(get.status, 200);
    t.equal(get.headers.get('etag'), etag);
    t.ok(get.headers.get('last-modified'));
    t.equal(get.headers.get('content-length'), '20');
    t.equal(get.headers.get('accept-ranges'), 'bytes');
    t.same(Buffer.from(await get.arrayBuffer()), content);
    const head = await dav(env, 'HEAD', '/Docs/été.txt');
    t.equal(head.status, 200);
    t.equal(head.headers.get('content-length'), '20');
    t.equal(head.headers.get('etag'), etag);
  });

  await t.test('Range requests: 206 with Content-Range, suffix ranges, 416 past the end', async (t) => {
    const r = await dav(env, 'GET', '/Docs/été.txt', { headers: { range: 'bytes=5-9' } });
    t.equal(r.status, 206);
    t.equal(r.headers.get('content-range'), 'bytes 5-9/20');
    t.equal(await r.text(), '56789');
    const suffix = await dav(env, 'GET', '/Docs/été.txt', { headers: { range: 'bytes=-3' } });
    t.equal(suffix.status, 206);
    t.equal(await suffix.text(), 'hij');
    const open = await dav(env, 'GET', '/Docs/été.txt', { headers: { range: 'bytes=18-' } });
    t.equal(await open.text(), 'ij');
    const bad = await dav(env, 'GET', '/Docs/été.txt', { headers: { range: 'bytes=50-60' } });
    t.equal(bad.status, 416);
    t.equal(bad.headers.get('content-range'), 'bytes */20');
  });

  await t.test('conditional GET and PUT: If-None-Match, If-Match, If-Modified-Since', async (t) => {
    const etag = (await dav(env, 'HEAD', '/Docs/été.txt')).headers.get('etag') as string;
    const lm = (await dav(env, 'HEAD', '/Docs/été.txt')).headers.get('last-modified') as string;
    t.equal((await dav(env, 'GET', '/Docs/été.txt', { headers: { 'if-none-match': etag } })).status, 304);
    t.equal((await dav(env, 'GET', '/Docs/été.txt', { headers: { 'if-modified-since': lm } })).status, 304);
    t.equal((await dav(env, 'PUT', '/Docs/été.txt', { headers: { 'if-none-match': '*' }, body: 'x' })).status, 412, 'If-None-Match: * on an existing file');
    t.equal((await dav(env, 'PUT', '/Docs/été.txt', { headers: { 'if-match': '"nope"' }, body: 'x' })).status, 412, 'stale If-Match');
    t.equal((await dav(env, 'PUT', '/Docs/new.txt', { headers: { 'if-match': '*' }, body: 'x' })).status, 412, 'If-Match on a missing file');
    t.equal((await dav(env, 'GET', '/Docs/new.txt')).status, 404);
    const ok = await dav(env, 'PUT', '/Docs/été.txt', { headers: { 'if-match': etag }, body: 'second version' });
    t.equal(ok.status, 204);
    t.not(ok.headers.get('etag'), etag, 'the ETag changes with the content');
    t.equal(await (await dav(env, 'GET', '/Docs/été.txt')).text(), 'second version');
    t.equal((await dav(env, 'PUT', '/Docs/created.txt', { headers: { 'if-none-match': '*' }, body: 'y' })).status, 201);
  });

  await t.test('X-OC-Mtime sets the modification time', async (t) => {
    const res = await dav(env, 'PUT', '/Docs/old.txt', { headers: { 'x-oc-mtime': '1600000000' }, body: 'old' });
    t.equal(res.status, 201);
    t.equal(res.headers.get('x-oc-mtime'), 'accepted');
    const get = await dav(env, 'HEAD', '/Docs/old.txt');
    t.equal(get.headers.get('last-modified'), new Date(1_600_000_000_000).toUTCString());
  });

  await t.test('PROPFIND Depth 1 lists live properties and quota', async (t) => {
    const res = await dav(env, 'PROPFIND', '/Docs/', { headers: { ...XML, depth: '1' }, body:
      '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontentlength/><D:getcontenttype/><D:getlastmodified/><D:creationdate/><D:resourcetype/><D:displayname/><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>' });
    t.equal(res.status, 207);
    const body = await res.text();
    t.match(body, /<D:href>\/dav\/files\/Docs\/<\/D:href>/);
    t.match(body, /<D:href>\/dav\/files\/Docs\/%C3%A9t%C3%A9\.txt<\/D:href>/);
    t.match(body, /<D:displayname>été\.txt<\/D:displayname>/);
    t.match(body, /<D:getcontentlength>14<\/D:getcontentlength>/);
    t.match(body, /<D:getcontenttype>text\/plain<\/D:getcontenttype>/);
    t.match(body, /<D:resourcetype><D:collection\/><\/D:resourcetype>/);
    t.match(body, /<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
    t.match(body, /<D:quota-available-bytes>\d+<\/D:quota-available-bytes>/);
    t.notMatch(body, /cozy_trash/);
    const root = await (await dav(env, 'PROPFIND', '/', { headers: { depth: '1' } })).text();
    t.notMatch(root, /cozy_trash/, 'the trash is not shown');
  });

  await t.test('dead properties are kept in the file document, with namespaces, and follow moves and copies', async (t) => {
    const set = await dav(env, 'PROPPATCH', '/Docs/été.txt', { headers: XML, body:
      '<D:propertyupdate xmlns:D="DAV:" xmlns:a="urn:a" xmlns:b="urn:b"><D:set><D:prop><a:color>red</a:color><b:color><b:x b:y="1">deep</b:x></b:color></D:prop></D:set></D:propertyupdate>' });
    t.equal(set.status, 207);
    t.match(await set.text(), /HTTP\/1\.1 200 OK/);
    const doc = await files.statByPath(env.inst, '/Docs/été.txt');
    const stored = (doc.metadata as Record<string, unknown>).davProperties as Array<{ ns: string; name: string }>;
    t.same(stored.map((p) => `${p.ns} ${p.name}`).sort(), ['urn:a color', 'urn:b color']);
    t.equal((await dav(env, 'MOVE', '/Docs/été.txt', { headers: { destination: `${env.url}Docs/moved.txt` } })).status, 201);
    t.equal((await dav(env, 'COPY', '/Docs/moved.txt', { headers: { destination: `${env.url}copy.txt` } })).status, 201);
    for (const path of ['/Docs/moved.txt', '/copy.txt']) {
      const body = await (await dav(env, 'PROPFIND', path, { headers: { ...XML, depth: '0' }, body:
        '<D:propfind xmlns:D="DAV:"><D:prop><a:color xmlns:a="urn:a"/><b:color xmlns:b="urn:b"/><c:color xmlns:c="urn:c"/></D:prop></D:propfind>' })).text();
      t.match(body, /<color xmlns="urn:a">red<\/color>/, `${path}: urn:a color`);
      t.match(body, /<color xmlns="urn:b"><x xmlns="urn:b" xmlns:a0="urn:b" a0:y="1">deep<\/x><\/color>/, `${path}: urn:b color kept apart`);
      t.match(body, /<D:propstat><D:prop><color xmlns="urn:c"\/><\/D:prop><D:status>HTTP\/1\.1 404/, `${path}: urn:c color missing`);
    }
    const protectedSet = await dav(env, 'PROPPATCH', '/copy.txt', { headers: XML, body:
      '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><D:other>y</D:other></D:prop></D:set></D:propertyupdate>' });
    const text = await protectedSet.text();
    t.match(text, /403 Forbidden/);
    t.match(text, /424 Failed Dependency/);
  });

  await t.test('DELETE moves to the trash, where /files can restore it', async (t) => {
    const doc = await files.statByPath(env.inst, '/copy.txt');
    t.equal((await dav(env, 'DELETE', '/copy.txt')).status, 204);
    t.equal((await dav(env, 'GET', '/copy.txt')).status, 404);
    const trashed = await files.stat(env.inst, doc._id);
    t.equal(trashed.dir_id, TRASH_DIR_ID);
    t.equal(trashed.restore_path, '/');
    t.ok(events.some((e) => e.verb === 'UPDATED' && e.doc._id === doc._id && e.doc.dir_id === TRASH_DIR_ID), 'UPDATED doc event for the trashing');
    t.equal((await dav(env, 'DELETE', '/Docs')).status, 204);
    t.equal((await dav(env, 'PROPFIND', '/Docs', { headers: { depth: '0' } })).status, 404);
  });

  await t.test('COPY of a collection with Depth 0 copies the collection only', async (t) => {
    t.equal((await dav(env, 'MKCOL', '/src')).status, 201);
    t.equal((await dav(env, 'PUT', '/src/a.txt', { body: 'a' })).status, 201);
    t.equal((await dav(env, 'COPY', '/src/', { headers: { destination: `${env.url}shallow/`, depth: '0' } })).status, 201);
    t.equal((await dav(env, 'COPY', '/src/', { headers: { destination: `${env.url}deep/` } })).status, 201);
    t.equal((await dav(env, 'GET', '/shallow/a.txt')).status, 404);
    t.equal(await (await dav(env, 'GET', '/deep/a.txt')).text(), 'a');
  });
});
