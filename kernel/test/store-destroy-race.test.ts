import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { isCozyError } from '../src/errors.ts';
import { PouchAdapter } from '../src/store/pouch-adapter.ts';

const DB = 'cozy0123456789abcdef0123456789abcdef/io-cozy-notes';

/** Settles within `ms` or says it hung: a call the store never answers is the worst outcome of all. */
function within<T>(p: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const timeout = new Promise<{ ok: false; error: unknown }>((r) => setTimeout(() => r({ ok: false, error: new Error('hung') }), ms).unref());
  return Promise.race([p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })), timeout]);
}

t.test('destroying a database while writes and reads run on it: they finish, the destroy waits, nothing hangs or fails with an IO error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-destroy-race-'));
  const adapter = new PouchAdapter({ path: dir });
  t.teardown(async () => {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (let round = 0; round < 5; round++) {
    await adapter.put(DB, { _id: `seed-${round}`, n: round });
    const ops: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) {
      ops.push(adapter.put(DB, { _id: `r${round}-${i}`, n: i }));
      ops.push(adapter.allDocs(DB, { include_docs: true }));
      if (i === 10) ops.push(adapter.destroyDatabase(DB));
    }
    const results = await Promise.all(ops.map((op) => within(op, 10_000)));
    const failures = results.flatMap((r) => (r.ok ? [] : [r.error]));
    // A call that comes after the destroy may find the database gone: a clean 404 is fine, an IO error or a hang is not.
    const bad = failures.filter((e) => !(isCozyError(e) && e.status === 404));
    t.same(bad.map((e) => String((e as Error).message)), [], `round ${round}: every call settled cleanly`);
    const after = await adapter.allDocs(DB).catch((e: unknown) => e);
    t.notOk(after instanceof Error && !isCozyError(after), `round ${round}: the database is usable afterwards`);
  }
});
