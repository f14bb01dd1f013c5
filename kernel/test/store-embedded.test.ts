import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PouchAdapter } from '../src/store/pouch-adapter.ts';
import { storeContract } from '../src/testing/store-contract.ts';

storeContract(t, 'embedded', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-store-'));
  const adapter = new PouchAdapter({ path: dir });
  return {
    adapter,
    cleanup: async () => {
      await adapter.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

// The same contract with a pool of two handles: every case then closes and reopens databases under its feet.
storeContract(t, 'embedded, two open databases at most', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-store-'));
  const adapter = new PouchAdapter({ path: dir, maxOpenDatabases: 2 });
  return {
    adapter,
    cleanup: async () => {
      await adapter.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

t.test('The embedded adapter keeps view indexes out of the database list and reopens what it wrote', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const first = new PouchAdapter({ path: dir });
  await first.put('cozyab/io-cozy-files', { _id: '_design/v', views: { all: { map: 'function (doc) { emit(doc._id, 1); }' } } });
  await first.put('cozyab/io-cozy-files', { _id: 'x' });
  await first.queryView('cozyab/io-cozy-files', 'v', 'all');
  await first.createIndex('cozyab/io-cozy-files', { index: { fields: ['n'] } });
  t.same(await first.listDatabases('cozyab'), ['cozyab/io-cozy-files'], 'PouchDB index directories are not databases');
  await first.close();
  const second = new PouchAdapter({ path: dir });
  t.teardown(() => second.close());
  t.equal(await second.databaseExists('cozyab/io-cozy-files'), true);
  t.equal((await second.get('cozyab/io-cozy-files', 'x'))._id, 'x', 'data survives a new adapter');
  t.same(await second.listDatabases('nothing'), []);
});

t.test('keeps at most maxOpenDatabases handles open and reopens closed ones transparently', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-pool-'));
  const adapter = new PouchAdapter({ path: dir, maxOpenDatabases: 3 });
  t.teardown(async () => {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  });
  const names = Array.from({ length: 12 }, (_, i) => `pool${i}/io-cozy-notes`);
  // Concurrent writes across more databases than the pool holds, twice over, so handles close and reopen under load.
  for (let round = 0; round < 2; round++) {
    await Promise.all(names.map((db, i) => adapter.put(db, { _id: `doc-${round}`, i, round })));
  }
  for (const db of names) {
    const docs = await adapter.allDocs(db, { include_docs: true });
    t.equal(docs.rows.length, 2, db);
  }
  const fds = await readdir('/proc/self/fd').then((l) => l.length);
  t.ok(fds < 200, `file descriptors stay bounded (${fds})`);
});
