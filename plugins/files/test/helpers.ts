import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';
import { FILES, type FilesService, type InstanceDoc, type InstanceRef } from '@cozy-ts/kernel';
import { startTwoProcesses } from '../../../kernel/test/helpers/shared-ports.ts';

export const DOMAIN = 'alice.example';

export interface FilesSetup {
  tk: TestKernel;
  inst: InstanceDoc;
  files: FilesService;
  token(scope: string): Promise<string>;
  /** Calls the instance with a CLI token of that scope (default: the whole io.cozy.files doctype; null: no token). */
  call(method: string, url: string, opts?: { scope?: string | null; body?: string | Buffer | Readable | object; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
}

/** A started kernel with vfs-local and files (plus `plugins`), one instance, closed when the test ends. */
export async function setup(t: Test, opts: { files?: Record<string, unknown>; diskQuota?: number; vfsRoot?: string; plugins?: Record<string, unknown> } = {}): Promise<FilesSetup> {
  const tk = await startTestKernel({
    config: {
      plugins: {
        '@cozy-ts/plugin-vfs-local': { fsync: false, ...(opts.vfsRoot ? { root: opts.vfsRoot } : {}) },
        '@cozy-ts/plugin-files': opts.files ?? {},
        ...opts.plugins,
      },
    },
  });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance(DOMAIN, opts.diskQuota ? { diskQuota: opts.diskQuota } : {});
  const files = tk.kernel.container.resolve(FILES.token);
  const token = (scope: string) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope });
  const call: FilesSetup['call'] = async (method, url, o = {}) => {
    const scope = o.scope === undefined ? 'io.cozy.files' : o.scope;
    const auth: Record<string, string> = scope === null ? {} : { authorization: `Bearer ${await token(scope)}` };
    const headers: Record<string, string> = { host: DOMAIN, ...auth, ...(o.headers ?? {}) };
    let payload: string | Buffer | Readable | undefined;
    if (o.body !== undefined) {
      if (typeof o.body === 'string' || Buffer.isBuffer(o.body) || o.body instanceof Readable) payload = o.body;
      else {
        payload = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/vnd.api+json';
      }
    }
    return tk.kernel.app.inject({ method: method as 'GET', url, headers, payload });
  };
  return { tk, inst, files, token, call };
}

export function attrs(res: LightMyRequestResponse): Record<string, unknown> & { id: string; rev: string } {
  const body = res.json() as { data: { id: string; attributes: Record<string, unknown>; meta: { rev: string } } };
  return { ...body.data.attributes, id: body.data.id, rev: body.data.meta?.rev };
}

/**
 * Two kernels of the files service over one store, one cluster and one content folder, as two processes of a
 * farm: an instance made on the first, and each process's FilesService.
 */
export async function twoFilesProcesses(t: Test, domain: string): Promise<{ p1: TestKernel; p2: TestKernel; inst: InstanceRef; one: FilesService; two: FilesService }> {
  const root = await mkdtemp(join(tmpdir(), 'files-two-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const plugins = { '@cozy-ts/plugin-vfs-local': { root, fsync: false }, '@cozy-ts/plugin-files': {} };
  const { p1, p2 } = await startTwoProcesses(t, { config: { plugins } });
  const inst = await p1.createInstance(domain);
  return { p1, p2, inst, one: p1.kernel.container.resolve(FILES.token), two: p2.kernel.container.resolve(FILES.token) };
}
