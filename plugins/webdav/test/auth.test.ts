import t from 'tap';
import { basicHeader, dav, PROPFIND_ALL, raw, startWebdav } from './helpers.ts';

t.test('authentication and isolation', async (t) => {
  const env = await startWebdav(t);
  const put = await dav(env, 'PUT', '/alice.txt', { body: 'alice only' });
  t.equal(put.status, 201);

  await t.test('no credentials: 401 with a Basic challenge naming the realm', async (t) => {
    const res = await fetch(env.url, { method: 'PROPFIND', headers: { depth: '0' } });
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate'), /^Basic realm="Cozy"/);
    t.match(await res.text(), /COZY_ERR_WEBDAV_UNAUTHORIZED/);
  });

  await t.test('a wrong password and a garbage token are 401 too, never 400 or 500', async (t) => {
    for (const authorization of [basicHeader('me', 'nope'), basicHeader('me', 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE'), 'Bearer not-a-token', 'Basic !!!']) {
      const res = await fetch(env.url, { method: 'PROPFIND', headers: { depth: '0', authorization } });
      t.equal(res.status, 401, authorization);
      t.ok(res.headers.get('www-authenticate'), 'challenge sent');
    }
  });

  await t.test('a files device password reads and writes', async (t) => {
    const res = await dav(env, 'GET', '/alice.txt');
    t.equal(res.status, 200);
    t.equal(await res.text(), 'alice only');
  });

  await t.test('a device password scoped to calendars or contacts cannot touch the files', async (t) => {
    for (const scope of ['calendars', 'contacts'] as const) {
      const pw = await env.devicePassword([scope]);
      const res = await fetch(env.url, { method: 'PROPFIND', headers: { depth: '1', authorization: basicHeader('me', pw) } });
      t.equal(res.status, 403, scope);
      t.match(await res.text(), /need-privileges/);
      const w = await fetch(`${env.url}evil.txt`, { method: 'PUT', body: 'x', headers: { authorization: basicHeader('me', pw) } });
      t.equal(w.status, 403);
    }
  });

  await t.test('an OAuth token works as Bearer and as the Basic password; its scope is enforced', async (t) => {
    const { tk, inst } = env;
    await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'client-dav', client_name: 'dav', software_id: 'dav' });
    const files = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client-dav', scope: 'io.cozy.files' });
    const readOnly = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client-dav', scope: 'io.cozy.files:GET' });
    const contacts = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client-dav', scope: 'io.cozy.contacts' });
    t.equal((await fetch(`${env.url}alice.txt`, { headers: { authorization: `Bearer ${files}` } })).status, 200);
    t.equal((await fetch(`${env.url}alice.txt`, { headers: { authorization: basicHeader('', files) } })).status, 200);
    t.equal((await fetch(`${env.url}alice.txt`, { headers: { authorization: `Bearer ${readOnly}` } })).status, 200);
    t.equal((await fetch(`${env.url}ro.txt`, { method: 'PUT', body: 'x', headers: { authorization: `Bearer ${readOnly}` } })).status, 403);
    t.equal((await fetch(`${env.url}alice.txt`, { headers: { authorization: `Bearer ${contacts}` } })).status, 403);
  });

  await t.test('another instance on the same server never sees these files, nor accepts this password', async (t) => {
    const other = await env.tk.createInstance(`localhost:${env.port}`);
    const { DEVICE_PASSWORDS } = await import('@cozy-ts/kernel');
    const otherPw = (await env.tk.kernel.container.resolve(DEVICE_PASSWORDS.token).create(other, 'bob', ['files'])).password;
    const host = `localhost:${env.port}`;
    const mine = await raw(env, 'GET', '/dav/files/alice.txt', { host });
    t.equal(mine.status, 401, "alice's password is unknown to bob's instance");
    const theirs = await raw(env, 'GET', '/dav/files/alice.txt', { host, authorization: basicHeader('bob', otherPw) });
    t.equal(theirs.status, 404, "bob does not see alice's file");
    const list = await raw(env, 'PROPFIND', '/dav/files/', { host, depth: '1', authorization: basicHeader('bob', otherPw), 'content-type': 'application/xml' }, PROPFIND_ALL);
    t.equal(list.status, 207);
    t.notMatch(list.body, /alice/);
    const back = await raw(env, 'GET', '/dav/files/alice.txt', { authorization: basicHeader('bob', otherPw) });
    t.equal(back.status, 401, "bob's password is unknown to alice's instance");
  });

  await t.test('the Nextcloud alias serves the same tree', async (t) => {
    const res = await fetch(`${env.origin}/remote.php/webdav/alice.txt`, { headers: { authorization: env.basic } });
    t.equal(res.status, 200);
    t.equal(await res.text(), 'alice only');
    const pf = await fetch(`${env.origin}/remote.php/webdav/`, { method: 'PROPFIND', headers: { authorization: env.basic, depth: '1' } });
    t.equal(pf.status, 207);
    t.match(await pf.text(), /<D:href>\/remote\.php\/webdav\/alice\.txt<\/D:href>/);
  });
});
