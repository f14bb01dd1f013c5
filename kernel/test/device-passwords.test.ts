import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEVICE_PASSWORDS_DOCTYPE, DEVICE_PASSWORD_TTL_MS, DevicePasswordService, type DevicePasswordDoc } from '../src/auth/device-passwords.ts';
import { createMemoryCluster } from '../src/cluster/memory-cluster.ts';
import type { ClusterPorts } from '../src/cluster/types.ts';
import { DocEventBus } from '../src/events/doc-events.ts';
import type { InstanceRef } from '../src/instances/instance.ts';
import { DocumentStore } from '../src/store/document-store.ts';
import { PouchAdapter } from '../src/store/pouch-adapter.ts';
import { DEVICE_PASSWORDS, type DevicePasswordService as DevicePasswordPort } from '../src/index.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { makeProject } from './helpers/plugin-fixtures.ts';
import { startTwoProcesses } from './helpers/shared-ports.ts';

const inst: InstanceRef = { domain: 'alice.example', prefix: 'alice-example' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One database for several services, as the processes of a farm share theirs. */
async function sharedAdapter(t: Test): Promise<PouchAdapter> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-device-passwords-'));
  const adapter = new PouchAdapter({ path: dir });
  t.teardown(async () => {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  });
  return adapter;
}

/** One store shared by several services, as the processes of a farm share their database. */
async function sharedStore(t: Test): Promise<DocumentStore> {
  return new DocumentStore(await sharedAdapter(t), new DocEventBus());
}

/** A process of a farm: its own doc-event bus and store over the shared database, a started service. */
async function farmProcess(t: Test, adapter: PouchAdapter, cluster?: ClusterPorts): Promise<{ store: DocumentStore; devices: DevicePasswordService }> {
  const events = new DocEventBus();
  const store = new DocumentStore(adapter, events);
  // A long trust period: only an invalidation can explain a refusal within the test.
  const devices = new DevicePasswordService(store, { events, cluster, ttlMs: 60_000 });
  await devices.start();
  t.teardown(() => devices.stop());
  return { store, devices };
}

/** Doc-event listeners run on a microtask, memory pub/sub delivery on setImmediate. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

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

t.test('one process: a password deleted or changed through the store, not revoke(), is dropped at once', async (t) => {
  const adapter = await sharedAdapter(t);
  const { store, devices } = await farmProcess(t, adapter);
  const { doc, password } = await devices.create(inst, 'phone', ['calendars']);
  const other = await devices.create(inst, 'tablet', ['files']);
  t.ok(await devices.verify(inst, password), 'cached');
  t.ok(await devices.verify(inst, other.password), 'cached');

  // What PUT /data/io.cozy.auth.device_passwords/:id does.
  const current = (await store.get(inst, DEVICE_PASSWORDS_DOCTYPE, doc._id)) as DevicePasswordDoc;
  await store.put(inst, DEVICE_PASSWORDS_DOCTYPE, { ...current, scopes: ['files'] });
  await settle();
  const changed = await devices.verify(inst, password);
  t.ok(changed?.permissions.allowWholeType('GET', 'io.cozy.files'), 'the new scope applies at once');
  t.notOk(changed?.permissions.allowWholeType('GET', 'io.cozy.calendar.events'), 'the old one no longer does');

  // What DELETE /data/io.cozy.auth.device_passwords/:id does.
  const again = await store.get(inst, DEVICE_PASSWORDS_DOCTYPE, doc._id);
  await store.delete(inst, DEVICE_PASSWORDS_DOCTYPE, doc._id, again._rev as string);
  await settle();
  t.equal(await devices.verify(inst, password), null, 'refused right after the deletion');
  t.ok(await devices.verify(inst, other.password), 'another password is untouched');
});

t.test('recording a use does not drop the cached password', async (t) => {
  const adapter = await sharedAdapter(t);
  const events = new DocEventBus();
  const { store, reads } = countingReads(new DocumentStore(adapter, events));
  const devices = new DevicePasswordService(store, { events, ttlMs: 60_000 });
  await devices.start();
  t.teardown(() => devices.stop());
  const { password } = await devices.create(inst, 'phone', ['contacts']);
  t.ok(await devices.verify(inst, password), 'first use: read, and last_used_at written');
  await settle();
  const after = reads();
  t.ok(await devices.verify(inst, password));
  t.equal(reads(), after, 'the use stamp is not a change: still served from the cache');
});

t.test('two processes: a password deleted or changed on one is refused or changed at once on the other', async (t) => {
  const adapter = await sharedAdapter(t);
  const cluster = createMemoryCluster();
  t.teardown(() => cluster.close());
  const p1 = await farmProcess(t, adapter, cluster);
  const p2 = await farmProcess(t, adapter, cluster);
  const { doc, password } = await p1.devices.create(inst, 'laptop', ['files']);
  const other = await p1.devices.create(inst, 'tablet', ['files']);
  await settle();
  t.ok(await p2.devices.verify(inst, password), 'p2 caches it');
  t.ok(await p2.devices.verify(inst, other.password), 'p2 caches the other one');
  await settle();

  const current = (await p1.store.get(inst, DEVICE_PASSWORDS_DOCTYPE, doc._id)) as DevicePasswordDoc;
  await p1.store.put(inst, DEVICE_PASSWORDS_DOCTYPE, { ...current, scopes: ['contacts'] });
  await settle();
  const changed = await p2.devices.verify(inst, password);
  t.ok(changed?.permissions.allowWholeType('GET', 'io.cozy.contacts'), 'p2 applies the new scope at once');
  t.notOk(changed?.permissions.allowWholeType('GET', 'io.cozy.files'), 'and drops the old one');

  const again = await p1.store.get(inst, DEVICE_PASSWORDS_DOCTYPE, doc._id);
  await p1.store.delete(inst, DEVICE_PASSWORDS_DOCTYPE, doc._id, again._rev as string);
  await settle();
  t.equal(await p2.devices.verify(inst, password), null, 'p2 refuses the deleted password at once');
  t.ok(await p2.devices.verify(inst, other.password), 'the other password still works on p2');
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

t.test('two kernels: a password deleted through the store, or gone with its instance, is refused at once on the other', async (t) => {
  const project = await makeProject([{ name: 'whoami', source: whoamiPlugin }]);
  t.teardown(project.cleanup);
  const { p1, p2 } = await startTwoProcesses(t, { baseDir: project.dir, config: { plugins: { whoami: {} } } });
  const devicesOf = (p: typeof p1) => p.kernel.container.resolve<DevicePasswordPort>(DEVICE_PASSWORDS.token);
  let i = await p1.createInstance('dave.example');
  const ask = (p: typeof p1, password: string) =>
    p.kernel.app.inject({ url: '/whoami/', headers: { host: 'dave.example', authorization: `Basic ${Buffer.from(`me:${password}`).toString('base64')}` } });

  const deleted = await devicesOf(p1).create(i, 'phone', ['calendars']);
  // Lets the creation's own invalidation pass first: a read it overtakes is, rightly, not cached.
  await settle();
  t.equal((await ask(p2, deleted.password)).statusCode, 200, 'p2 caches it');
  await settle();
  const doc = await p1.kernel.store.get(i, DEVICE_PASSWORDS_DOCTYPE, deleted.doc._id);
  await p1.kernel.store.delete(i, DEVICE_PASSWORDS_DOCTYPE, doc._id, doc._rev as string);
  await settle();
  t.not((await ask(p2, deleted.password)).statusCode, 200, 'refused on p2 within its trust period');

  // A destruction removes the databases without a doc event; the domain may at once be given to a new instance.
  const old = await devicesOf(p1).create(i, 'laptop', ['files']);
  await settle();
  t.equal((await ask(p2, old.password)).statusCode, 200, 'p2 caches the old instance\'s password');
  await settle();
  await p1.kernel.instances.destroy('dave.example');
  i = await p1.createInstance('dave.example');
  await settle();
  t.equal((await p2.kernel.instances.find('dave.example'))?.security_stamp, i.security_stamp, 'p2 serves the new instance');
  t.not((await ask(p2, old.password)).statusCode, 200, 'the old instance\'s password does not open the new one');
  const fresh = await devicesOf(p1).create(i, 'phone', ['files']);
  t.equal((await ask(p2, fresh.password)).statusCode, 200, 'the new instance\'s passwords work');
});
