import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { ClusterPorts, InstanceDoc, JobDoc, StoreAdapter, WorkerDefinition } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

declare global {
  var __jobsTestWorkers: Record<string, WorkerDefinition> | undefined;
}

/**
 * A project folder whose node_modules holds the kernel, the jobs plugin (and others asked for) linked to this
 * repository, and a fixture plugin that registers the test's workers (taken from globalThis) on the `jobs`
 * capability, as the files or notifications plugins do.
 */
export async function makeProject(t: Test, extra: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-jobs-project-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'node_modules', '@cozy-ts'), { recursive: true });
  await symlink(join(repoRoot, 'kernel'), join(dir, 'node_modules', '@cozy-ts', 'kernel'), 'dir');
  for (const id of ['jobs', ...extra]) await symlink(join(repoRoot, 'plugins', id), join(dir, 'node_modules', '@cozy-ts', `plugin-${id}`), 'dir');
  const pdir = join(dir, 'node_modules', 'test-workers');
  await mkdir(pdir);
  await writeFile(join(pdir, 'package.json'), JSON.stringify({ name: 'test-workers', version: '1.0.0', type: 'module', main: 'index.js' }));
  await writeFile(
    join(pdir, 'index.js'),
    `const JOBS = { id: 'jobs', version: '1.0.0', token: Symbol.for('cozy-ts.capability.jobs') };
export default {
  manifest: { id: 'test-workers', name: 'test-workers', version: '1.0.0', kernel: '^1.0.0', requires: [{ capability: JOBS, range: '^1.0.0' }] },
  register(ctx) {
    const jobs = ctx.use(JOBS);
    for (const [type, def] of Object.entries(globalThis.__jobsTestWorkers ?? {})) jobs.registerWorker(type, def);
  },
};
`,
  );
  return dir;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface JobsSetup {
  tk: TestKernel;
  inst: InstanceDoc;
  token(scope: string): Promise<string>;
  call(method: Method, url: string, scope: string | null, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Polls GET /jobs/:id until `until` holds (or fails after `timeoutMs`). */
  waitJob(id: string, until: (j: JobDoc) => boolean, timeoutMs?: number): Promise<JobDoc>;
}

export const DOMAIN = 'alice.example';

export async function startJobsKernel(
  t: Test,
  opts: { workers?: Record<string, WorkerDefinition>; config?: Record<string, unknown>; plugins?: Record<string, unknown>; extra?: string[]; storeAdapter?: StoreAdapter; cluster?: ClusterPorts; baseDir?: string } = {},
): Promise<TestKernel> {
  globalThis.__jobsTestWorkers = opts.workers ?? {};
  const baseDir = opts.baseDir ?? (await makeProject(t, opts.extra));
  const tk = await startTestKernel({
    baseDir,
    storeAdapter: opts.storeAdapter,
    cluster: opts.cluster,
    config: { plugins: { '@cozy-ts/plugin-jobs': { leaseMs: 1_000, backoffMs: 50, ...opts.config }, 'test-workers': {}, ...opts.plugins } },
  });
  t.teardown(() => tk.close());
  return tk;
}

export async function setup(t: Test, opts: Parameters<typeof startJobsKernel>[1] = {}): Promise<JobsSetup> {
  const tk = await startJobsKernel(t, opts);
  const inst = await tk.createInstance(DOMAIN);
  return withInstance(tk, inst);
}

export function withInstance(tk: TestKernel, inst: InstanceDoc): JobsSetup {
  const token = (scope: string) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope });
  const call: JobsSetup['call'] = async (method, url, scope, payload, headers = {}) => {
    const auth = scope === null ? {} : { authorization: `Bearer ${await token(scope)}` };
    return tk.kernel.app.inject({
      method,
      url,
      headers: { host: inst.domain, ...auth, ...(payload !== undefined && typeof payload !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
    });
  };
  const waitJob: JobsSetup['waitJob'] = async (id, until, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: JobDoc | undefined;
    while (Date.now() < deadline) {
      const res = await call('GET', `/jobs/${id}`, 'io.cozy.jobs');
      if (res.statusCode === 200) {
        const data = res.json().data;
        last = { _id: data.id, ...data.attributes } as JobDoc;
        if (until(last)) return last;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`job ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  };
  return { tk, inst, token, call, waitJob };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker's wait that the kernel's stop cuts short: a plain sleep kept the test's process alive after its end. */
export const sleepUnless = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
