import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { resolveConfig, type CozyConfig } from '../boot/config.ts';
import { Kernel } from '../boot/kernel.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import type { CreateInstanceOptions } from '../instances/instance-service.ts';
import type { StoreAdapter } from '../store/types.ts';

export interface TestKernel {
  kernel: Kernel;
  dir: string;
  createInstance(domain: string, opts?: Omit<CreateInstanceOptions, 'domain'>): Promise<InstanceDoc>;
  close(): Promise<void>;
}

/**
 * A started kernel on a fresh temporary storage folder (embedded store, memory cluster unless given), for tests
 * driving routes with `kernel.app.inject()`. Plugin names resolve from `baseDir` (default: the repository root).
 */
export async function startTestKernel(
  opts: { config?: CozyConfig; baseDir?: string; env?: Record<string, string | undefined>; storeAdapter?: StoreAdapter; cluster?: ClusterPorts } = {},
): Promise<TestKernel> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-test-'));
  const baseDir = opts.baseDir ?? process.cwd();
  const config = resolveConfig({ storage: dir, defaultInstance: false, ...opts.config }, { file: null, baseDir, env: opts.env ?? {} });
  let kernel: Kernel;
  try {
    kernel = await Kernel.boot({
      config,
      log: pino({ level: process.env.COZY_TEST_LOG ?? 'silent' }),
      env: opts.env ?? {},
      storeAdapter: opts.storeAdapter,
      cluster: opts.cluster,
    });
    await kernel.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    kernel,
    dir,
    createInstance: (domain, o) => kernel.instances.create({ ...o, domain, kdfIterations: o?.kdfIterations ?? 1000 }),
    async close() {
      await kernel.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
