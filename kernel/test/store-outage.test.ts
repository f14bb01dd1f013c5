import pino from 'pino';
import t from 'tap';
import { resolveConfig } from '../src/boot/config.ts';
import { Kernel } from '../src/boot/kernel.ts';
import { CouchAdapter } from '../src/store/couch-adapter.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { freePort } from '../../test/helpers/processes.ts';
import { startCouchServer } from './helpers/couch-process.ts';
import { ToggleProxy } from './helpers/toggle-proxy.ts';

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

t.test('the store going away and coming back', async (t) => {
  const couch = await startCouchServer();
  t.teardown(couch.stop);
  const proxy = new ToggleProxy(await freePort(), { host: '127.0.0.1', port: couch.port });
  await proxy.up();
  t.teardown(() => proxy.down());
  const adapter = new CouchAdapter({ url: `http://127.0.0.1:${proxy.port}`, requestTimeoutMs: 2000 });
  const tk = await startTestKernel({ storeAdapter: adapter, config: { plugins: { 'cozy-ts-plugin-hello': {} } } });
  t.teardown(() => tk.close());
  const alice = await tk.createInstance('alice.example');
  const app = tk.kernel.app;

  await proxy.down();

  const status = await app.inject({ url: '/status' });
  t.equal(status.statusCode, 502, '/status reports the outage');
  t.equal(status.json().status, 'KO');
  t.not(status.json().couchdb, 'healthy');
  t.equal(status.json().cache, 'healthy');

  const unknown = await app.inject({ url: '/hello/', headers: { host: 'bob.example' } });
  t.equal(unknown.statusCode, 503, 'a lookup that needs the store answers 503');
  t.equal(unknown.json().errors[0].code, 'COZY_ERR_STORE_UNAVAILABLE');

  const write = await tk.kernel.store.put(alice, 'com.example.x', {}).catch((e: unknown) => e);
  t.equal((write as { status?: number }).status, 503, 'a write answers 503, not a raw socket error');

  await proxy.up();
  t.ok(await until(async () => (await app.inject({ url: '/status' })).statusCode === 200), 'recovers without a restart');
  const back = await app.inject({ url: '/hello/', headers: { host: 'alice.example' } });
  t.equal(back.statusCode, 200);
});

t.test('a store that is down at boot: the server answers 502/503, then starts once it answers', async (t) => {
  const couch = await startCouchServer();
  t.teardown(couch.stop);
  const proxy = new ToggleProxy(await freePort(), { host: '127.0.0.1', port: couch.port });
  t.teardown(() => proxy.down());
  const config = resolveConfig({ defaultInstance: false, plugins: { 'cozy-ts-plugin-hello': {} } }, { file: null, baseDir: process.cwd(), env: {} });
  const kernel = await Kernel.boot({
    config,
    log: pino({ level: 'silent' }),
    env: {},
    storeAdapter: new CouchAdapter({ url: `http://127.0.0.1:${proxy.port}`, requestTimeoutMs: 1000 }),
  });
  t.teardown(() => kernel.stop());
  let started = false;
  const starting = kernel.start().then(() => (started = true));

  t.equal((await kernel.app.inject({ url: '/status' })).statusCode, 502);
  t.equal((await kernel.app.inject({ url: '/hello/', headers: { host: 'alice.example' } })).statusCode, 503);
  t.equal(started, false, 'plugins wait for the store');

  await proxy.up();
  await starting;
  t.equal((await kernel.app.inject({ url: '/status' })).statusCode, 200);
  await kernel.instances.create({ domain: 'alice.example' });
  t.equal((await kernel.app.inject({ url: '/hello/', headers: { host: 'alice.example' } })).statusCode, 200);
});
