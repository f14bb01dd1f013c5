import t from 'tap';
import type { DocEvent } from '../src/events/doc-events.ts';
import { instancePrefix } from '../src/store/db-names.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { makeProject, pluginSource } from './helpers/plugin-fixtures.ts';
import { startTwoProcesses } from './helpers/shared-ports.ts';

t.test('instance lifecycle', async (t) => {
  const tk = await startTestKernel();
  t.teardown(() => tk.close());
  const { instances, store } = tk.kernel;

  t.test('creates an instance with cozy-stack prefix, settings document and register token', async (t) => {
    const inst = await tk.createInstance('Alice.Example:8080', { email: 'alice@example.org', publicName: 'Alice', locale: 'fr' });
    t.equal(inst.domain, 'alice.example:8080');
    t.equal(inst.prefix, instancePrefix('alice.example:8080'));
    t.match(inst.register_token, /^[0-9a-f]{32}$/);
    t.equal(inst.onboarding_finished, false);
    const settings = await store.get(inst, 'io.cozy.settings', 'io.cozy.settings.instance');
    t.match(settings, { email: 'alice@example.org', public_name: 'Alice', locale: 'fr' });
    t.ok(await store.databaseExists(inst, 'io.cozy.permissions'));
  });

  t.test('an instance created with a passphrase is onboarded and has no register token', async (t) => {
    const inst = await tk.createInstance('bob.example', { passphrase: 'correct horse' });
    t.equal(inst.onboarding_finished, true);
    t.equal(inst.register_token, undefined);
    t.match(inst.passphrase_hash, /^scrypt\$/);
  });

  t.test('creating the same domain twice is a 409, even concurrently', async (t) => {
    const results = await Promise.allSettled([tk.createInstance('carol.example'), tk.createInstance('carol.example'), tk.createInstance('CAROL.example')]);
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') t.equal((r.reason as { status: number }).status, 409);
  });

  t.test('refuses invalid domains with a 400', async (t) => {
    for (const d of ['', 'a b', 'x/y', 'foo..bar', 'bad_host!']) {
      t.equal(await statusOf(tk.createInstance(d)), 400, JSON.stringify(d));
    }
  });

  t.test('lists, shows and modifies', async (t) => {
    const list = await instances.list();
    t.same(list.map((i) => i.domain).sort(), ['alice.example:8080', 'bob.example', 'carol.example']);
    t.equal(await instances.count(), 3);
    const modified = await instances.modify('alice.example:8080', { locale: 'en', diskQuota: 5_000_000_000 });
    t.equal(modified.disk_quota, 5_000_000_000);
    const settings = await store.get(modified, 'io.cozy.settings', 'io.cozy.settings.instance');
    t.equal(settings.locale, 'en', 'the settings document follows');
    const cleared = await instances.modify('alice.example:8080', { diskQuota: null });
    t.equal(cleared.disk_quota, undefined);
    t.equal(await statusOf(instances.get('nobody.example')), 404);
  });

  t.test('destroying removes the document and every database of the instance', async (t) => {
    const inst = await instances.get('carol.example');
    await store.put(inst, 'com.example.notes', { title: 'x' });
    await instances.destroy('carol.example');
    t.equal(await statusOf(instances.get('carol.example')), 404);
    t.equal(await instances.find('carol.example'), null);
    t.same(await store.adapter.listDatabases(`${inst.prefix}/`), []);
  });
});

t.test('a failing creation hook leaves nothing behind', async (t) => {
  const project = await makeProject([
    {
      name: 'fails-on-create',
      source: pluginSource({ id: 'fails-on-create', name: 'fails-on-create' }).replace(
        "register(ctx) { trace.push('register:fails-on-create'); },",
        `register(ctx) {
          const instances = ctx.use({ id: 'instances', version: '1.0.0', token: Symbol.for('cozy-ts.capability.instances') });
          const store = ctx.use({ id: 'store', version: '1.0.0', token: Symbol.for('cozy-ts.capability.store') });
          instances.onCreated('fails-on-create', async (inst) => {
            await store.put(inst, 'io.cozy.files', { _id: 'io.cozy.files.root-dir', type: 'directory' });
            if (inst.domain.startsWith('doomed')) throw new Error('disk full');
          });
          instances.onDestroying('fails-on-create', async (inst) => {
            (globalThis.__cozyUndone ??= []).push(inst.domain);
          });
        },`,
      ),
    },
  ]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { 'fails-on-create': {} } } });
  t.teardown(() => tk.close());
  await t.rejects(tk.createInstance('doomed.example'), /plugin fails-on-create failed to set up the instance: disk full/);
  t.equal(await tk.kernel.instances.find('doomed.example'), null);
  t.same(await tk.kernel.store.adapter.listDatabases(`${instancePrefix('doomed.example')}/`), []);
  t.equal(await tk.kernel.instances.count(), 0);
  t.same((globalThis as { __cozyUndone?: string[] }).__cozyUndone, ['doomed.example'], 'plugins undo their setup on the rollback');
  const ok = await tk.createInstance('fine.example');
  t.ok(await tk.kernel.store.get(ok, 'io.cozy.files', 'io.cozy.files.root-dir'), 'the hook ran for a good instance');
  await tk.createInstance('doomed.example').catch(() => undefined);
  t.equal(await tk.kernel.instances.count(), 1, 'and a retry fails the same clean way');
});

t.test('every write through the store emits a doc event with the old document', async (t) => {
  const tk = await startTestKernel();
  t.teardown(() => tk.close());
  const inst = await tk.createInstance('events.example');
  const seen: DocEvent[] = [];
  tk.kernel.events.on((e) => {
    if (e.doctype === 'com.example.notes') seen.push(e);
  });
  const { store } = tk.kernel;
  const a = await store.put(inst, 'com.example.notes', { _id: 'n1', title: 'one' });
  const b = await store.put(inst, 'com.example.notes', { _id: 'n1', _rev: a.rev, title: 'two' });
  await store.delete(inst, 'com.example.notes', 'n1', b.rev);
  await store.bulkDocs(inst, 'com.example.notes', [{ _id: 'n2', v: 1 }, { _id: 'n3', v: 1 }]);
  await new Promise((r) => setImmediate(r));
  t.same(seen.map((e) => e.verb), ['CREATED', 'UPDATED', 'DELETED', 'CREATED', 'CREATED']);
  t.equal(seen[1]?.old?.title, 'one');
  t.equal(seen[1]?.doc.title, 'two');
  t.equal(seen[2]?.old?.title, 'two');
  t.equal(seen[0]?.domain, 'events.example');
});

t.test('two processes sharing store and cluster see creations and destructions at once', async (t) => {
  // Each "process" gets its own kernel and its own instance cache; only the store and cluster are shared.
  const { p1, p2 } = await startTwoProcesses(t);
  t.equal(await p2.kernel.instances.find('shared.example'), null, 'p2 caches the miss');
  await p1.createInstance('shared.example');
  await new Promise((r) => setImmediate(r));
  t.ok(await p2.kernel.instances.find('shared.example'), 'p2 sees the new instance without waiting for its cache to expire');
  await p1.kernel.instances.destroy('shared.example');
  await new Promise((r) => setImmediate(r));
  t.equal(await p2.kernel.instances.find('shared.example'), null, 'p2 stops serving the destroyed instance');
});


/** The HTTP status a rejected call carries, or 0 when it succeeded. */
function statusOf(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 0,
    (err: unknown) => (err as { status?: number }).status ?? -1,
  );
}
