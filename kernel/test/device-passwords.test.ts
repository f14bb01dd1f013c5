import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEVICE_PASSWORDS_DOCTYPE, DEVICE_PASSWORD_TTL_MS, DevicePasswordService } from '../src/auth/device-passwords.ts';
import { createMemoryCluster } from '../src/cluster/memory-cluster.ts';
import { DocEventBus } from '../src/events/doc-events.ts';
import type { InstanceRef } from '../src/instances/instance.ts';
import { DocumentStore } from '../src/store/document-store.ts';
import { PouchAdapter } from '../src/store/pouch-adapter.ts';
import { DEVICE_PASSWORDS, type DevicePasswordService as DevicePasswordPort } from '../src/index.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { makeProject } from './helpers/plugin-fixtures.ts';

const inst: InstanceRef = { domain: 'alice.example', prefix: 'alice-example' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One store shared by several services, as the processes of a farm share their database. */
async function sharedStore(t: Test): Promise<DocumentStore> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-device-passwords-'));
  const adapter = new PouchAdapter({ path: dir });
  t.teardown(async () => {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  });
  return new DocumentStore(adapter, new DocEventBus());
}

/** A store whose reads of device passwords are counted, to see the cache at work. */
function countingReads(store: DocumentStore): { store: DocumentStore; reads: () => number } {
  let n = 0;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'get') {
        return (i: InstanceRef, doctype: string, id: string, opts?: object) => {
          if (doctype === DEVICE_PASSWORDS_DOCTYPE) n++;
          return target.get(i, doctype, id, opts);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, reads: () => n };
}

t.test('a verified password is not read again within the trust period, and a revoked one stops at once', async (t) => {
  const base = await sharedStore(t);
  const { store, reads } = countingReads(base);
  const devices = new DevicePasswordService(store);
  const { doc, password } = await devices.create(inst, 'phone', ['calendars']);

  const first = await devices.verify(inst, password);
  t.equal(first?.doc._id, doc._id);
  const afterFirst = reads();
  for (let i = 0; i < 20; i++) t.ok(await devices.verify(inst, password));
  t.equal(reads(), afterFirst, 'twenty more requests, no store read');
  t.ok(first?.permissions.allowWholeType('GET', 'io.cozy.calendar.events'));
  t.notOk(first?.permissions.allowWholeType('GET', 'io.cozy.files'), 'the scopes still hold for cached answers');

  t.equal(await devices.revoke(inst, doc._id), true);
  t.equal(await devices.verify(inst, password), null, 'refused right after the revocation on this process');
  t.equal(await devices.verify({ domain: 'bob.example', prefix: 'bob-example' }, password), null, 'never valid on another instance');
});

t.test('another process without pub/sub stops accepting a revoked password within the trust period', async (t) => {
  const store = await sharedStore(t);
  const p1 = new DevicePasswordService(store, { ttlMs: 300 });
  const p2 = new DevicePasswordService(store, { ttlMs: 300 });
  const { doc, password } = await p1.create(inst, 'phone', ['contacts']);
  t.ok(await p2.verify(inst, password), 'p2 caches it');
  await p1.revoke(inst, doc._id);
  t.equal(await p1.verify(inst, password), null);
  await sleep(350);
  t.equal(await p2.verify(inst, password), null, 'p2 refuses once its trust period is over');
  t.ok(DEVICE_PASSWORD_TTL_MS <= 5_000, 'the default bound is a few seconds');
});

t.test('with cluster pub/sub, every process refuses a revoked password at once', async (t) => {
  const store = await sharedStore(t);
  const cluster = createMemoryCluster();
  t.teardown(() => cluster.close());
  const p1 = new DevicePasswordService(store, { cluster, ttlMs: 60_000 });
  const p2 = new DevicePasswordService(store, { cluster, ttlMs: 60_000 });
  await p1.start();
  await p2.start();
  t.teardown(async () => {
    await p1.stop();
    await p2.stop();
  });
  const { doc, password } = await p1.create(inst, 'laptop', ['files']);
  const other = await p1.create(inst, 'tablet', ['files']);
  t.ok(await p2.verify(inst, password));
  t.ok(await p2.verify(inst, other.password));
  await p1.revoke(inst, doc._id);
  await sleep(10);
  t.equal(await p2.verify(inst, password), null, 'p2 dropped it from its cache on the message');
  t.ok(await p2.verify(inst, other.password), 'the other password still works');
});

// A route that answers who the credentials say the caller is.
const whoamiPlugin = `
import { AUTH, definePlugin } from '@cozy-ts/kernel';
export default definePlugin({
  manifest: { id: 'whoami', name: 'whoami', version: '1.0.0', kernel: '^1.0.0', prefix: '/whoami', requires: [{ capability: AUTH, range: '^1.0.0' }] },
  async routes(app, { ctx }) {
    app.get('/', async (req) => ({ kind: (await ctx.use(AUTH).authenticate(req)).kind }));
  },
});
`;

t.test('through HTTP: Basic with a revoked device password is refused on the next request', async (t) => {
  const project = await makeProject([{ name: 'whoami', source: whoamiPlugin }]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { whoami: {} } } });
  t.teardown(() => tk.close());
  const i = await tk.createInstance('carol.example');
  const devices = tk.kernel.container.resolve<DevicePasswordPort>(DEVICE_PASSWORDS.token);
  const { doc, password } = await devices.create(i, 'phone', ['calendars']);
  const ask = () => tk.kernel.app.inject({ url: '/whoami/', headers: { host: 'carol.example', authorization: `Basic ${Buffer.from(`me:${password}`).toString('base64')}` } });
  const before = await ask();
  t.equal(before.statusCode, 200);
  t.same(before.json(), { kind: 'device' });
  t.equal((await ask()).statusCode, 200, 'again, from the cache');
  await devices.revoke(i, doc._id);
  const after = await ask();
  t.not(after.statusCode, 200, `refused after the revocation (${after.statusCode})`);
});
