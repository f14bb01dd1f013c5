import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { CozyConfig } from '../../src/boot/config.ts';
import { createMemoryCluster } from '../../src/cluster/memory-cluster.ts';
import type { ClusterPorts } from '../../src/cluster/types.ts';
import { PouchAdapter } from '../../src/store/pouch-adapter.ts';
import { startTestKernel, type TestKernel } from '../../src/testing/test-kernel.ts';

/**
 * One store adapter or cluster for several kernels in a test, as processes of a farm share them: each kernel's
 * stop must not close what the others still use, so `close` does nothing and the test closes the real one.
 */
export function withNoopClose<T extends { close(): Promise<void> }>(x: T): T {
  return new Proxy(x, {
    get: (target, prop) => {
      if (prop === 'close') return async () => undefined;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * Two kernels playing two processes of a farm: each has its own caches, only an embedded store and a memory
 * cluster are shared. `cluster` lets a test wrap the shared cluster (e.g. to shorten lock-outs). Everything is
 * stopped and removed at the end of the test.
 */
export async function startTwoProcesses(
  t: Test,
  opts: { baseDir?: string; config?: CozyConfig; cluster?: (shared: ClusterPorts) => ClusterPorts } = {},
): Promise<{ p1: TestKernel; p2: TestKernel }> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-two-processes-'));
  const adapter = new PouchAdapter({ path: dir });
  const real = createMemoryCluster();
  const shared = (opts.cluster ?? ((c) => c))(withNoopClose(real));
  const start = () => startTestKernel({ baseDir: opts.baseDir, config: opts.config, storeAdapter: withNoopClose(adapter), cluster: shared });
  const p1 = await start();
  const p2 = await start();
  t.teardown(async () => {
    await p1.close();
    await p2.close();
    await adapter.close();
    await real.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { p1, p2 };
}
