import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startCouchServer } from '../../kernel/test/helpers/couch-process.ts';
import { httpGet, httpRequest, repoRoot, runCozy, startServer } from '../helpers/processes.ts';
import { startRedisServer } from '../helpers/redis-process.ts';
import { nginxUnavailableReason, startNginx } from '../helpers/nginx-process.ts';
import { inCi, startSwiftServer, swiftUnavailableReason } from '../helpers/swift-process.ts';
import WebSocket from 'ws';

const noSwift = swiftUnavailableReason();
const noNginx = nginxUnavailableReason();

/** A request with a binary body and a binary answer, for contents too large to compare as text. */
function exchange(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('two stateless processes on CouchDB, Redis and Swift serve the same instances', { skip: noSwift && !inCi() ? noSwift : false }, async (t) => {
  if (noSwift) throw new Error(noSwift);
  const swift = await startSwiftServer();
  t.teardown(() => swift.stop());
  const couch = await startCouchServer();
  t.teardown(couch.stop);
  let redisUrl = process.env.COZY_TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await startRedisServer();
    t.teardown(() => redis.kill());
    redisUrl = redis.url;
  }
  const storage = await mkdtemp(join(tmpdir(), 'cozy-farm-'));
  t.teardown(() => rm(storage, { recursive: true, force: true }));
  const env = {
    COZY_CONFIG: join(repoRoot, 'test/profiles/farm.config.ts'),
    COZY_COUCHDB_URL: couch.url,
    COZY_REDIS_URL: redisUrl,
    COZY_STORAGE: storage,
    COZY_LOG_LEVEL: 'warn',
    COZY_PLUGIN__VFS_SWIFT__AUTH_URL: swift.authUrl,
    COZY_PLUGIN__VFS_SWIFT__USERNAME: swift.user,
    COZY_PLUGIN__VFS_SWIFT__PASSWORD: swift.key,
    // Two farm runs may share CI's Redis: queues of their own.
    COZY_PLUGIN__JOBS__REDIS__URL: redisUrl,
    COZY_PLUGIN__JOBS__REDIS__PREFIX: `farm-test-${process.pid}`,
  };
  // Storage holds only the admin passphrase here; both processes share it as a farm shares its secrets.
  const a = await startServer(env);
  t.teardown(() => a.stop());
  const b = await startServer(env);
  t.teardown(() => b.stop());

  const domain = 'carol.example';
  const add = await runCozy(['instances', 'add', domain, '--passphrase', 'a long farm passphrase'], { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${a.adminPort}/` });
  t.equal(add.code, 0, add.stderr);

  t.equal((await httpGet(a.port, '/hello/', domain)).status, 200, 'process A serves it');
  t.equal((await httpGet(b.port, '/hello/', domain)).status, 200, 'process B serves it at once');

  // One tree for the whole farm: a file written through A is read through B, over /files and over WebDAV.
  const tok = await runCozy(['instances', 'token-cli', domain, 'io.cozy.files'], { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${a.adminPort}/` });
  t.equal(tok.code, 0, tok.stderr);
  const auth = { authorization: `Bearer ${tok.stdout.trim()}` };
  const content = 'written on A, read on B\n';
  const up = await httpRequest(a.port, 'POST', '/files/io.cozy.files.root-dir?Type=file&Name=farm.txt', domain, {
    ...auth, 'content-type': 'text/plain',
  }, content);
  t.equal(up.status, 201, up.status === 201 ? 'uploaded through A' : up.body);
  const fileId = (JSON.parse(up.body) as { data: { id: string } }).data.id;
  const down = await httpGet(b.port, `/files/download/${fileId}`, domain, auth);
  t.equal(down.status, 200);
  t.equal(down.body, content, 'B streams the content A wrote');
  const dav = await httpGet(b.port, '/dav/files/farm.txt', domain, auth);
  t.equal(dav.status, 200);
  t.equal(dav.body, content, 'WebDAV on B sees the same file');

  // The same farm behind nginx with the proxy config deploy/nginx ships.
  await t.test('behind nginx with deploy/nginx\'s config', { skip: noNginx && !inCi() ? noNginx : false }, async (t) => {
    if (noNginx) throw new Error(noNginx);
    const nginx = await startNginx([a.port, b.port]);
    t.teardown(() => nginx.stop());
    const via = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) =>
      exchange(nginx.port, method, path, { host: domain, ...auth, ...headers }, body);

    const statuses = await Promise.all([0, 1, 2, 3].map(() => via('GET', '/hello/').then((r) => r.status)));
    t.same(statuses, [200, 200, 200, 200], 'the Host header reaches the processes: they serve the instance');

    // A body larger than nginx's buffers, streamed both ways; the server checks its MD5.
    const big = randomBytes(24 * 1024 * 1024 + 17);
    const md5 = createHash('md5').update(big).digest('base64');
    const up = await via('POST', '/files/io.cozy.files.root-dir?Type=file&Name=big.bin', { 'content-type': 'application/octet-stream', 'content-md5': md5 }, big);
    t.equal(up.status, 201, up.status === 201 ? 'a 24 MiB upload through nginx' : up.body.toString());
    const bigId = (JSON.parse(up.body.toString()) as { data: { id: string } }).data.id;
    const down = await via('GET', `/files/download/${bigId}`);
    t.equal(sha(down.body), sha(big), 'and its download, byte for byte');
    const part = await via('GET', `/files/download/${bigId}`, { range: 'bytes=1000-1999' });
    t.equal(part.status, 206);
    t.ok(part.body.equals(big.subarray(1000, 2000)), 'a Range request goes through');

    // WebDAV's methods and its Destination header, which names the proxy's host.
    const moved = await via('MOVE', '/dav/files/big.bin', { destination: `http://${domain}/dav/files/moved.bin` });
    t.equal(moved.status, 201, 'MOVE through nginx');
    const listing = await via('PROPFIND', '/dav/files/', { depth: '1', 'content-type': 'application/xml' }, Buffer.from('<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getcontentlength/></prop></propfind>'));
    t.equal(listing.status, 207);
    t.match(listing.body.toString(), /moved\.bin/, 'PROPFIND sees the moved file');

    // Realtime: the websocket is upgraded through nginx; the event comes from whichever process handles the write.
    const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/realtime/`, 'io.cozy.websocket', { headers: { host: domain } });
    t.teardown(() => ws.terminate());
    const messages: Array<{ event: string; payload: { type?: string; doc?: { name?: string } } }> = [];
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as (typeof messages)[number]));
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    ws.send(JSON.stringify({ method: 'AUTH', payload: auth.authorization.slice('Bearer '.length) }));
    ws.send(JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.files' } }));
    await new Promise((r) => setTimeout(r, 300));
    for (const name of ['rt-1.txt', 'rt-2.txt']) {
      const made = await via('POST', `/files/io.cozy.files.root-dir?Type=file&Name=${name}`, { 'content-type': 'text/plain' }, Buffer.from(name));
      t.equal(made.status, 201);
    }
    const deadline = Date.now() + 5000;
    const created = () => messages.filter((m) => m.event === 'CREATED').map((m) => m.payload.doc?.name).sort();
    while (created().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.same(created(), ['rt-1.txt', 'rt-2.txt'], 'both creations reach the websocket, whichever process made them');

    // A client's own X-Forwarded-For must not give it a new address per login attempt.
    const page = await exchange(nginx.port, 'GET', '/auth/login', { host: domain });
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body.toString())?.[1] ?? '';
    const cookie = ([page.headers['set-cookie']].flat() as string[]).map((c) => c.split(';')[0]).join('; ');
    const attempts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await exchange(nginx.port, 'POST', '/auth/login', {
        host: domain, cookie, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `203.0.113.${i + 1}`,
      }, Buffer.from(new URLSearchParams({ passphrase: `wrong ${i}`, csrf_token: csrf }).toString()));
      attempts.push(res.status);
    }
    t.same(attempts.slice(0, 5), [401, 401, 401, 401, 401], 'wrong passphrases are refused');
    t.equal(attempts[6], 429, 'and throttled: the spoofed addresses are not believed');
  });

  const rm1 = await runCozy(['instances', 'rm', domain, '--force'], { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${b.adminPort}/` });
  t.equal(rm1.code, 0, rm1.stderr);
  t.equal((await httpGet(b.port, '/hello/', domain)).status, 404, 'B, which destroyed it, stops serving it');
  // A had it cached; the invalidation travels through Redis pub/sub.
  let status = 0;
  for (let i = 0; i < 20 && status !== 404; i++) {
    status = (await httpGet(a.port, '/hello/', domain)).status;
    if (status !== 404) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(status, 404, 'A stops serving it without waiting for its cache to expire');

  const statusA = JSON.parse((await httpGet(a.port, '/status', 'any')).body);
  t.match(statusA, { couchdb: 'healthy', cache: 'healthy', fs: 'healthy', status: 'OK' });
  t.equal(await a.stop(), 0);
  t.equal(await b.stop(), 0);
});
