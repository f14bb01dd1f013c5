import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { basicHeader, dav, raw, startWebdav } from './helpers.ts';

const run = promisify(execFile);
const LOCKINFO = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>nc</D:owner></D:lockinfo>';

t.test("Nextcloud's /remote.php/dav/files/<user>/ serves the instance's tree", async (t) => {
  const env = await startWebdav(t);
  const nc = (user: string, path = '') => `/remote.php/dav/files/${user}${path}`;

  await t.test('any user name shows the same tree as /dav/files/', async (t) => {
    t.equal((await raw(env, 'PUT', nc('alice', '/note.txt'), {}, 'from nextcloud')).status, 201);
    const res = await dav(env, 'GET', '/note.txt');
    t.equal(await res.text(), 'from nextcloud', 'written through the alias, read through /dav/files/');
    t.equal((await dav(env, 'PUT', '/other.txt', { body: 'from dav' })).status, 201);
    for (const user of ['alice', 'bob', 'me@example.com']) {
      const got = await raw(env, 'GET', nc(encodeURIComponent(user), '/other.txt'));
      t.equal(got.body, 'from dav', user);
    }
  });

  await t.test('hrefs stay under the address the client used, encoding included', async (t) => {
    const user = 'j%C3%A9r%C3%B4me';
    const pf = await raw(env, 'PROPFIND', nc(user, '/'), { depth: '1' });
    t.equal(pf.status, 207);
    const hrefs = [...pf.body.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);
    t.ok(hrefs.includes(nc(user, '/')), 'the collection itself');
    t.ok(hrefs.includes(nc(user, '/note.txt')), 'a member');
    t.ok(hrefs.every((h) => h?.startsWith(nc(user, '/'))), 'nothing outside the mount');
    const noSlash = await raw(env, 'PROPFIND', nc('bob'), { depth: '0' });
    t.equal(noSlash.status, 207, 'the user root without its trailing slash');
  });

  await t.test('MOVE and COPY take a Destination under the same address; elsewhere is 403', async (t) => {
    const origin = env.origin;
    const moved = await raw(env, 'MOVE', nc('bob', '/note.txt'), { destination: `${origin}${nc('bob', '/moved.txt')}` });
    t.equal(moved.status, 201);
    t.equal(await (await dav(env, 'GET', '/moved.txt')).text(), 'from nextcloud');
    const copied = await raw(env, 'COPY', nc('bob', '/moved.txt'), { destination: `${origin}${nc('bob', '/copy.txt')}` });
    t.equal(copied.status, 201);
    const cross = await raw(env, 'MOVE', nc('bob', '/moved.txt'), { destination: `${origin}/dav/files/elsewhere.txt` });
    t.equal(cross.status, 403, 'a Destination on another mount');
    const otherUser = await raw(env, 'MOVE', nc('bob', '/moved.txt'), { destination: `${origin}${nc('carol', '/x.txt')}` });
    t.equal(otherUser.status, 403, "a Destination under another user's address");
  });

  await t.test('a lock taken through the alias binds /dav/files/ and the other way round', async (t) => {
    const lock = await raw(env, 'LOCK', nc('alice', '/copy.txt'), { 'content-type': 'application/xml', timeout: 'Second-60' }, LOCKINFO);
    t.equal(lock.status, 200);
    t.match(lock.body, `<D:href>${nc('alice', '/copy.txt')}</D:href>`, 'the lock root is under the alias');
    const token = String(lock.headers['lock-token']).replace(/[<>]/g, '');
    t.equal((await dav(env, 'PUT', '/copy.txt', { body: 'no token' })).status, 423);
    t.equal((await raw(env, 'PUT', nc('bob', '/copy.txt'), {}, 'no token')).status, 423, 'another user name is the same tree');
    t.equal((await dav(env, 'PUT', '/copy.txt', { body: 'with token', headers: { if: `(<${token}>)` } })).status, 204);
    t.equal((await raw(env, 'UNLOCK', nc('alice', '/copy.txt'), { 'lock-token': `<${token}>` })).status, 204);
  });

  await t.test('bad user segments and the bare base', async (t) => {
    t.equal((await raw(env, 'PROPFIND', '/remote.php/dav/files/', { depth: '0' })).status, 404);
    t.equal((await raw(env, 'PROPFIND', '/remote.php/dav/files', { depth: '0' })).status, 404);
    for (const user of ['%2F', '..', '%00', '%E9', '%zz']) {
      const res = await raw(env, 'PROPFIND', nc(user, '/'), { depth: '0' });
      t.equal(res.status, 400, user);
    }
  });

  await t.test('credentials are required and checked as on /dav/files/', async (t) => {
    const anon = await raw(env, 'PROPFIND', nc('alice', '/'), { depth: '0', authorization: '' });
    t.equal(anon.status, 401);
    t.match(String(anon.headers['www-authenticate']), /^Basic realm="Cozy"/);
    const wrong = await raw(env, 'GET', nc('alice', '/moved.txt'), { authorization: basicHeader('alice', 'nope') });
    t.equal(wrong.status, 401);
  });

  await t.test('rclone with vendor nextcloud copies a tree up and back', { skip: !(await has('rclone')) && 'rclone is not installed' }, async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'webdav-nc-'));
    t.teardown(() => rm(work, { recursive: true, force: true }));
    await mkdir(join(work, 'up', 'sub'), { recursive: true });
    const names = ['a.txt', 'sub/b.bin', 'sub/été.txt'];
    for (const [i, name] of names.entries()) await writeFile(join(work, 'up', name), `content ${i} `.repeat(100 * (i + 1)));
    const { stdout: obscured } = await run('rclone', ['obscure', env.password]);
    const envVars = {
      ...process.env, RCLONE_CONFIG: join(work, 'rclone.conf'), RCLONE_CONFIG_NC_TYPE: 'webdav', RCLONE_CONFIG_NC_VENDOR: 'nextcloud',
      RCLONE_CONFIG_NC_URL: `${env.origin}${nc('me', '/')}`, RCLONE_CONFIG_NC_USER: 'me', RCLONE_CONFIG_NC_PASS: obscured.trim(),
    };
    await run('rclone', ['copy', join(work, 'up'), 'nc:rclone-nc', '--retries', '1'], { env: envVars });
    await run('rclone', ['copy', 'nc:rclone-nc', join(work, 'down'), '--retries', '1'], { env: envVars });
    for (const name of names) t.equal(await readFile(join(work, 'down', name), 'utf8'), await readFile(join(work, 'up', name), 'utf8'), name);
    t.equal((await dav(env, 'GET', '/rclone-nc/sub/b.bin')).status, 200, 'the same tree through /dav/files/');
  });
});

t.test('nextcloudAlias: false leaves both Nextcloud addresses unserved', async (t) => {
  const env = await startWebdav(t, { nextcloudAlias: false });
  t.equal((await raw(env, 'PROPFIND', '/remote.php/dav/files/me/', { depth: '0' })).status, 404);
  t.equal((await raw(env, 'PROPFIND', '/remote.php/webdav/', { depth: '0' })).status, 404);
  t.equal((await dav(env, 'PROPFIND', '/', { headers: { depth: '0' } })).status, 207);
});

async function has(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
}
