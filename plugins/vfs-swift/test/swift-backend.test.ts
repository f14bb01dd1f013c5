import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import t, { type Test } from 'tap';
import { VFS, VfsErrors, isCozyError, newInternalId, type ContentRef, type InstanceRef, type StoredEntry, type VfsContent } from '@cozy-ts/kernel';
import { startTestKernel } from '@cozy-ts/kernel/testing';
import { freePort } from '../../../test/helpers/processes.ts';
import type { SwiftServer } from '../../../test/helpers/swift-process.ts';
import { MiB } from '../src/config.ts';
import type { SwiftVfs } from '../src/swift-vfs.ts';
import { configFor, swiftFor, vfsFor } from './swift.ts';

const swift = await swiftFor(t);

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest();

function instance(): InstanceRef {
  const domain = `swift-${randomBytes(5).toString('hex')}.example`;
  return { domain, prefix: `cozy${createHash('sha256').update(domain).digest('hex').slice(0, 32)}` };
}

const ref = (path: string, id = randomBytes(16).toString('hex')): ContentRef => ({ id, internalId: newInternalId(), path });

async function put(vfs: VfsContent, inst: InstanceRef, r: ContentRef, body: Buffer | string, opts = {}) {
  const w = await vfs.createWriter(inst, r, opts);
  try {
    await pipeline(Readable.from([Buffer.from(body)]), w);
    return await w.commit();
  } finally {
    await w.abort();
  }
}

async function bytes(stream: Promise<Readable>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(t: Test, p: Promise<unknown>, kind: { code: string; status: number }, what: string) {
  try {
    await p;
    t.fail(`${what}: expected a rejection`);
  } catch (err) {
    t.ok(isCozyError(err), `${what}: a CozyError`);
    t.match(err, { code: kind.code, status: kind.status }, what);
  }
}

/** Object names in the instance's container, straight from Swift. */
async function names(s: SwiftServer, vfs: SwiftVfs, inst: InstanceRef, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const page of vfs.client.list(vfs.container(inst), prefix)) out.push(...page.map((o) => o.name));
  return out.sort();
}

async function swiftToken(s: SwiftServer): Promise<string> {
  const res = await fetch(s.authUrl, { headers: { 'x-auth-user': s.user, 'x-auth-key': s.key } });
  return res.headers.get('x-auth-token') ?? '';
}

/** Deletes a tempauth token from memcached (Swift's memcache client stores keys as their MD5): a revoked token. */
function revokeToken(s: SwiftServer, token: string): Promise<string> {
  const key = createHash('md5').update(`AUTH_/token/${token}`).digest('hex');
  return new Promise((resolve, reject) => {
    const socket = connect(s.memcachedPort, '127.0.0.1', () => socket.write(`delete ${key}\r\n`));
    socket.once('data', (d) => {
      resolve(d.toString().trim());
      socket.end();
    });
    socket.once('error', reject);
  });
}

async function setup(t: Test, over = {}) {
  const vfs = vfsFor(swift as SwiftServer, over);
  const inst = instance();
  await vfs.initInstance(inst);
  t.teardown(async () => {
    await vfs.destroyInstance(inst).catch(() => {});
    vfs.close();
  });
  return { vfs, inst };
}

if (swift) {
  t.test('lays objects out as cozy-stack v3: a container per instance, split ids, thumbs/', async (t) => {
    const { vfs, inst } = await setup(t);
    t.equal(vfs.container(inst), `cozy-v3-${inst.prefix}`);
    const cozy = { id: '0123456789abcdef0123456789abcdef', internalId: 'abcdefghijklmnop', path: '/a.txt' };
    const other = { id: 'io.cozy.files.custom', internalId: 'v1', path: '/b.txt' };
    await put(vfs, inst, cozy, 'cozy');
    await put(vfs, inst, other, 'other');
    const w = await vfs.createThumbnailWriter(inst, cozy.id, 'small');
    await pipeline(Readable.from([Buffer.from('jpeg')]), w);
    await w.commit();
    t.same(await names(swift, vfs, inst), [
      '0123456789abcdef012345/6789a/bcdef/abcdefghijklmnop',
      'io.cozy.files.custom/v1',
      'thumbs/0123456789abcdef012345/6789a/bcdef-small',
    ]);
    const walked: StoredEntry[] = [];
    for await (const e of vfs.walk(inst)) walked.push(e);
    t.same(walked.map((e) => (e.kind === 'object' ? `${e.kind} ${e.id} ${e.internalId} ${e.size}` : e.kind === 'thumbnail' ? `${e.kind} ${e.id}` : e.kind)).sort(), [
      'object 0123456789abcdef0123456789abcdef abcdefghijklmnop 4',
      'object io.cozy.files.custom v1 5',
      'thumbnail 0123456789abcdef0123456789abcdef',
    ]);
    await rejectsWith(t, vfs.read(inst, { ...other, id: 'thumbs' }), VfsErrors.badId, 'the id "thumbs" would mix with thumbnails');
    // An object as cozy-stack writes it (no mark of ours): read as a content, and as a version.
    const legacy = { id: cozy.id, internalId: 'qrstuvwxyzabcdef', path: '/a.txt' };
    await vfs.client.put(`/${vfs.container(inst)}/0123456789abcdef012345/6789a/bcdef/qrstuvwxyzabcdef`, 'from cozy-stack');
    t.equal((await bytes(vfs.readVersion(inst, legacy))).toString(), 'from cozy-stack', 'cozy-stack\'s objects read as versions');
    t.equal((await bytes(vfs.read(inst, legacy))).toString(), 'from cozy-stack', 'and as contents');
    await rejectsWith(t, vfs.readVersion(inst, cozy), VfsErrors.notFound, 'a current content of ours is no version');
    await vfs.deleteVersion(inst, legacy);
    const pages: string[][] = [];
    for await (const page of vfs.client.list(vfs.container(inst), '', 2)) pages.push(page.map((o) => o.name));
    t.same(pages.map((p) => p.length), [2, 1], 'listings go page by page from a marker');
    t.same(pages.flat(), await names(swift, vfs, inst), 'and see every object once');
  });

  t.test('a body past a segment becomes a static large object: ranges, copies, overwrites and deletes follow', async (t) => {
    const { vfs, inst } = await setup(t, { segmentSize: MiB });
    const body = randomBytes(3.5 * MiB);
    const src = ref('/big.bin');
    // Unknown size: held in memory up to 1 MiB, then cut into segments.
    const info = await put(vfs, inst, src, body);
    t.same(info.md5, md5(body));
    const container = vfs.container(inst);
    const head = await vfs.client.head(`/${container}/${(await names(swift, vfs, inst)).find((n) => !n.startsWith('.'))}`);
    t.equal(head?.['x-static-large-object'], 'True', 'stored as a static large object');
    t.equal((await names(swift, vfs, inst, '.segments/')).length, 4, 'in four segments');
    t.same(await bytes(vfs.read(inst, src, { start: MiB - 10, end: MiB + 9 })), body.subarray(MiB - 10, MiB + 10), 'a range across two segments');
    t.equal((await vfs.stat(inst, src)).size, body.length);
    const walked: StoredEntry[] = [];
    for await (const e of vfs.walk(inst)) walked.push(e);
    t.same(walked.map((e) => e.kind === 'object' && e.size), [body.length], 'the walk shows one object of the whole size');

    const dst = ref('/copy.bin');
    const copied = await vfs.copyFile(inst, src, dst);
    t.same(copied, { size: body.length, md5: md5(body), versionKept: false });
    t.equal((await names(swift, vfs, inst, '.segments/')).length, 8, 'the copy has segments of its own');
    await vfs.deleteFile(inst, src);
    t.same(md5(await bytes(vfs.read(inst, dst))), md5(body), 'the copy outlives its source');
    t.equal((await names(swift, vfs, inst, '.segments/')).length, 4, 'the source\'s segments went with it');

    // Announced size past a segment: segments from the first byte. Overwriting without a version drops the old ones.
    const next = { ...dst, internalId: newInternalId() };
    const small = randomBytes(2.5 * MiB);
    await put(vfs, inst, next, small, { expectedSize: small.length, expectedMd5: md5(small), replaces: { internalId: dst.internalId, keepAsVersion: false } });
    t.equal((await names(swift, vfs, inst, '.segments/')).length, 3, 'only the new content\'s three segments are left');
    t.same(md5(await bytes(vfs.read(inst, next))), md5(small));

    const bad = ref('/bad.bin');
    const w = await vfs.createWriter(inst, bad, { expectedMd5: md5('something else') });
    await pipeline(Readable.from([body]), w);
    await rejectsWith(t, w.commit(), VfsErrors.md5Mismatch, 'a wrong MD5 on a segmented body');
    t.equal((await names(swift, vfs, inst, '.segments/')).length, 3, 'its segments are gone');
    await vfs.deleteFile(inst, next);
    t.same(await names(swift, vfs, inst), [], 'nothing left');
  });

  t.test('cleanupTemporaries removes segments of writers that are gone, spares live writers and contents', async (t) => {
    const { vfs, inst } = await setup(t, { segmentSize: MiB });
    const container = vfs.container(inst);
    const live = await vfs.createWriter(inst, ref('/live.bin'));
    await new Promise<void>((resolve, reject) => live.write(randomBytes(2.5 * MiB), (e) => (e ? reject(e) : resolve())));
    const liveSegments = await names(swift, vfs, inst, '.segments/');
    t.ok(liveSegments.length >= 1, 'the live writer has put segments');
    t.equal(await vfs.cleanupTemporaries(inst), 0, 'a live writer keeps its segments');
    const token = liveSegments[0].split('/').at(-2)?.split('-')[0] ?? '';

    // What a crash leaves: segments and no manifest, from this process (an earlier writer) and from another one.
    const crashed = ref('/crashed.bin');
    const objectName = `${crashed.id.slice(0, 22)}/${crashed.id.slice(22, 27)}/${crashed.id.slice(27)}/${crashed.internalId}`;
    const own = `.segments/${objectName}/${token}-000000000000/00000000`;
    const foreign = `.segments/${objectName}/ffffffff-000000000000/00000000`;
    for (const name of [own, foreign]) await vfs.client.put(`/${container}/${name}`, 'leftover');
    t.equal(await vfs.cleanupTemporaries(inst), 1, 'this process\'s leftover goes at once');
    t.same(await names(swift, vfs, inst, `.segments/${objectName}/`), [foreign], 'another process\'s young one stays');
    const info = await live.commit();
    t.equal(info.size, 2.5 * MiB);
    const committed = await names(swift, vfs, inst, `.segments/${liveSegments[0].split('/').slice(1, -2).join('/')}/`);
    t.equal(committed.length, 3, 'the committed content is in three segments');
    const sweeper = vfsFor(swift, { staleSegmentsAfterMs: 0 });
    t.teardown(() => sweeper.close());
    t.equal(await sweeper.cleanupTemporaries(inst), 1, 'once stale, another process\'s leftover goes too');
    t.same(await names(swift, vfs, inst, '.segments/'), committed, 'a committed content\'s segments are content');
  });

  t.test('a revoked token is renewed once and the call goes through, uploads included', async (t) => {
    const { vfs, inst } = await setup(t);
    const r = ref('/token.txt');
    await put(vfs, inst, r, 'before');
    const token = await swiftToken(swift);
    t.equal(await revokeToken(swift, token), 'DELETED', 'the token is gone from Swift');
    t.equal((await bytes(vfs.read(inst, r))).toString(), 'before', 'a read renews it');
    t.not(await swiftToken(swift), token, 'Swift handed out a new token');
    t.equal(await revokeToken(swift, await swiftToken(swift)), 'DELETED');
    const r2 = ref('/after.txt');
    await put(vfs, inst, r2, 'after', { expectedSize: 5 });
    t.equal((await bytes(vfs.read(inst, r2))).toString(), 'after', 'a streamed upload renews it before sending its body');
  });

  t.test('authenticates with Keystone v3 and takes the object-store endpoint of the catalog', async (t) => {
    const seen: unknown[] = [];
    const keystone = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', async () => {
        if (req.method !== 'POST' || req.url !== '/v3/auth/tokens') return res.writeHead(404).end();
        const parsed = JSON.parse(body) as { auth: { identity: { password: { user: { name: string; password: string } } } } };
        seen.push(parsed);
        if (parsed.auth.identity.password.user.password !== 'secret') return res.writeHead(401).end();
        const token = await swiftToken(swift);
        res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': token });
        res.end(JSON.stringify({
          token: {
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            catalog: [
              { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://127.0.0.1:1/identity' }] },
              { type: 'object-store', endpoints: [
                { interface: 'internal', region: 'RegionOne', url: 'http://127.0.0.1:1/internal' },
                { interface: 'public', region: 'RegionTwo', url: 'http://127.0.0.1:1/elsewhere' },
                { interface: 'public', region: 'RegionOne', url: swift.storageUrl },
              ] },
            ],
          },
        }));
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => keystone.listen(port, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => keystone.close(() => r())));
    const authUrl = `http://127.0.0.1:${port}/v3`;
    const { vfs, inst } = await setup(t, { authUrl, username: 'alice', password: 'secret', project: 'cozy', region: 'RegionOne' });
    const r = ref('/keystone.txt');
    await put(vfs, inst, r, 'via keystone');
    t.equal((await bytes(vfs.read(inst, r))).toString(), 'via keystone');
    t.match(seen[0], { auth: { identity: { methods: ['password'], password: { user: { name: 'alice', domain: { name: 'Default' } } } }, scope: { project: { name: 'cozy', domain: { name: 'Default' } } } } });
    const refused = vfsFor(swift, { authUrl, username: 'alice', password: 'wrong' });
    t.teardown(() => refused.close());
    await rejectsWith(t, refused.read(inst, r), VfsErrors.unavailable, 'wrong credentials make the storage unavailable');
  });

  t.test('the plugin provides vfs, makes a container per instance and removes it with the instance', async (t) => {
    const config = configFor(swift);
    const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-swift': { ...config } } } });
    t.teardown(() => tk.close());
    const vfs = tk.kernel.container.resolve<VfsContent>(VFS.token) as SwiftVfs;
    t.equal(vfs.kind, 'swift');
    const inst = await tk.createInstance('alice.example');
    t.ok(await vfs.client.head(`/${vfs.container(inst)}`), 'the container exists');
    const check = tk.kernel.healthChecks().find((c) => c.name === 'fs');
    t.match(await check?.run(), { status: 'ok' });
    await tk.kernel.instances.destroy('alice.example');
    t.equal(await vfs.client.head(`/${vfs.container(inst)}`), null, 'the container is gone with the instance');
    await t.rejects(startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-swift': { ...config, segmentSize: 6 * 1024 ** 3 } } } }), /segmentSize/);
    await t.rejects(startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-swift': { authUrl: config.authUrl } } } }), /username|password/);
  });

  t.test('the files plugin runs on it: upload, ranges, overwrite with a version, revert, copy, trash, destroy, fsck', async (t) => {
    const tk = await startTestKernel({
      config: { plugins: { '@cozy-ts/plugin-vfs-swift': { ...configFor(swift) }, '@cozy-ts/plugin-files': { versions: { maxNumber: 20, minDelaySeconds: 0 } } } },
    });
    t.teardown(() => tk.close());
    const domain = 'files.example';
    const inst = await tk.createInstance(domain);
    const vfs = tk.kernel.container.resolve<VfsContent>(VFS.token) as SwiftVfs;
    const token = await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope: 'io.cozy.files' });
    const call = (method: string, url: string, body?: string, headers: Record<string, string> = {}) =>
      tk.kernel.app.inject({ method: method as 'GET', url, payload: body, headers: { host: domain, authorization: `Bearer ${token}`, ...headers } });
    const data = (res: { json: () => unknown }) => (res.json() as { data: { id: string; attributes: Record<string, unknown>; relationships?: { old_versions?: { data: Array<{ id: string }> } } } }).data;

    const up = await call('POST', '/files/?Type=file&Name=report.txt', 'version one', { 'content-type': 'text/plain', 'content-md5': md5('version one').toString('base64') });
    t.equal(up.statusCode, 201, up.body);
    const id = data(up).id;
    t.equal((await call('GET', `/files/download/${id}`)).body, 'version one');
    const range = await call('GET', `/files/download/${id}`, undefined, { range: 'bytes=8-10' });
    t.equal(range.statusCode, 206);
    t.equal(range.body, 'one');
    t.equal((await call('PUT', `/files/${id}`, 'version two', { 'content-type': 'text/plain' })).statusCode, 200);
    t.equal((await call('GET', `/files/download/${id}`)).body, 'version two');
    const versions = data(await call('GET', `/files/${id}`)).relationships?.old_versions?.data ?? [];
    t.equal(versions.length, 1, 'the old content is a version');
    const reverted = await call('POST', `/files/revert/${id}/${versions[0]?.id.split('/')[1]}`);
    t.equal(reverted.statusCode, 200, reverted.body);
    t.equal((await call('GET', `/files/download/${id}`)).body, 'version one', 'reverted');
    const copy = await call('POST', `/files/${id}/copy`);
    t.equal(copy.statusCode, 201, copy.body);
    t.equal((await call('GET', `/files/download/${data(copy).id}`)).body, 'version one', 'copied server-side');
    t.equal((await call('DELETE', `/files/${id}`)).statusCode, 200, 'trashed');
    t.equal((await call('GET', `/files/download/${id}`)).body, 'version one', 'the content stays while in the trash');
    t.equal((await call('DELETE', `/files/trash/${id}`)).statusCode, 204, 'destroyed');
    const left = (await names(swift, vfs, inst)).map((n) => n.replace(/\//g, '').slice(0, 32));
    t.notOk(left.includes(id), 'no object of the destroyed file is left in Swift');
    t.ok(left.includes(data(copy).id), 'the copy\'s object is');
    const fsck = await call('GET', '/files/fsck?NoCache=true');
    t.equal(fsck.statusCode, 200);
    t.same(fsck.json(), [], 'fsck finds nothing wrong');
  });

  t.test('an unreachable Swift answers 503 everywhere, and the server still boots', async (t) => {
    const authUrl = `http://127.0.0.1:${await freePort()}/auth/v1.0`;
    const vfs = vfsFor(swift, { authUrl, timeoutMs: 2000 });
    t.teardown(() => vfs.close());
    const inst = instance();
    const r = ref('/x');
    await rejectsWith(t, vfs.initInstance(inst), VfsErrors.unavailable, 'init');
    await rejectsWith(t, vfs.read(inst, r), VfsErrors.unavailable, 'read');
    const w = await vfs.createWriter(inst, r, { expectedSize: 3 });
    await rejectsWith(t, pipeline(Readable.from([Buffer.from('abc')]), w), VfsErrors.unavailable, 'upload');
    await w.abort();
    await rejectsWith(t, (async () => {
      for await (const _ of vfs.walk(inst)) break;
    })(), VfsErrors.unavailable, 'walk');
    const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-swift': { ...configFor(swift, { authUrl }) } } } });
    t.teardown(() => tk.close());
    t.match(await tk.kernel.healthChecks().find((c) => c.name === 'fs')?.run(), { status: 'down', detail: /swift/ });
  });

  t.test('deletes in bulk when Swift has the bulk middleware, one by one when it has not', async (t) => {
    // A forwarding proxy in front of Swift that counts calls and, when asked, hides the bulk middleware: without
    // it Swift takes `POST /v1/AUTH_x?bulk-delete` for an account metadata update and answers 204.
    const calls: string[] = [];
    let hideBulk = false;
    const target = new URL(swift.authUrl);
    const proxy = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      if (hideBulk && req.method === 'POST') url.searchParams.delete('bulk-delete');
      calls.push(`${req.method} ${url.searchParams.has('bulk-delete') ? 'bulk' : url.pathname.split('/').length > 3 ? 'object' : 'account'}`);
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers }, (answer) => {
        const headers = { ...answer.headers };
        const storage = headers['x-storage-url'];
        if (typeof storage === 'string') headers['x-storage-url'] = storage.replace(target.host, `127.0.0.1:${port}`);
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    const port = await freePort();
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => proxy.close(() => r())));
    const authUrl = `http://127.0.0.1:${port}${target.pathname}`;

    for (const [mode, hidden] of [['bulk', false], ['one by one', true]] as const) {
      hideBulk = hidden;
      const { vfs, inst } = await setup(t, { authUrl });
      const container = vfs.container(inst);
      const objects = ['a', 'b', 'c', 'd', 'e'].map((n) => `dir/${n}`);
      for (const name of objects) await vfs.client.put(`/${container}/${name}`, name);
      for (const round of [1, 2]) {
        calls.length = 0;
        const batch = round === 1 ? [...objects.slice(0, 3), 'dir/missing'] : objects.slice(3);
        await vfs.client.deleteMany(container, batch);
        const deletes = calls.filter((c) => c === 'DELETE object').length;
        const bulks = calls.filter((c) => c.endsWith(' bulk') || c === 'POST account').length;
        if (!hidden) t.same([bulks, deletes], [1, 0], `${mode}, round ${round}: one bulk call`);
        else t.same([bulks, deletes], [round === 1 ? 1 : 0, batch.length], `${mode}, round ${round}: ${round === 1 ? 'one refused bulk call, then' : 'no more bulk calls,'} a DELETE per object, the missing one included`);
      }
      t.same(await names(swift, vfs, inst, 'dir/'), [], `${mode}: every object is gone`);
    }
  });

  // Last: it stops the proxy.
  t.test('Swift going down mid-download fails the stream with 503, then every call', async (t) => {
    const { vfs, inst } = await setup(t);
    const r = ref('/long.bin');
    await put(vfs, inst, r, randomBytes(16 * MiB), { expectedSize: 16 * MiB });
    const stream = await vfs.read(inst, r);
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    swift.proxy.kill('SIGKILL');
    let failure: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (err) {
      failure = err;
    }
    t.match(failure, { code: VfsErrors.unavailable.code, status: 503 }, 'the download fails with 503');
    await rejectsWith(t, vfs.stat(inst, r), VfsErrors.unavailable, 'and so do the next calls');
  });
}
