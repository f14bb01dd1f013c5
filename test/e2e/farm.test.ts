import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startCouchServer } from '../../kernel/test/helpers/couch-process.ts';
import { httpGet, httpRequest, repoRoot, runCozy, startServer } from '../helpers/processes.ts';
import { startRedisServer } from '../helpers/redis-process.ts';
import { inCi, startSwiftServer, swiftUnavailableReason } from '../helpers/swift-process.ts';

const noSwift = swiftUnavailableReason();

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
  const add = await runCozy(['instances', 'add', domain], { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${a.adminPort}/` });
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
