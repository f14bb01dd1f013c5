import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';
import type { InstanceDoc } from '@cozy-ts/kernel';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface DataSetup {
  tk: TestKernel;
  inst: InstanceDoc;
  /** A CLI token of the instance with this scope. */
  token(scope: string): Promise<string>;
  /** Calls the instance's /data with a token of that scope (null: no token). */
  call(method: Method, url: string, scope: string | null, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export const DOMAIN = 'alice.example';

/** A started kernel with the data plugin and one instance; closed when the test ends. */
export async function setup(t: Test, pluginConfig: Record<string, unknown> = {}): Promise<DataSetup> {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-data': pluginConfig } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance(DOMAIN);
  const token = (scope: string) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope });
  const call: DataSetup['call'] = async (method, url, scope, payload, headers = {}) => {
    const auth = scope === null ? {} : { authorization: `Bearer ${await token(scope)}` };
    const body = payload === undefined ? {} : typeof payload === 'string' ? { payload, headers: { 'content-type': 'application/json', host: DOMAIN, ...auth, ...headers } } : { payload: payload as object };
    return tk.kernel.app.inject({ method, url, headers: { host: DOMAIN, ...auth, ...headers }, ...body });
  };
  return { tk, inst, token, call };
}
