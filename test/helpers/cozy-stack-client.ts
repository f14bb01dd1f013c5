import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { InstanceDoc } from '../../kernel/src/index.ts';
import { startTestKernel, type TestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { repoRoot } from './processes.ts';

/** cozy-stack-client's default export, typed by the collection each test drives. */
export type StackClientClass<C> = new (opts: { uri: string; token: string }) => { collection(doctype: string): C };

/** cozy-stack-client lives in test/clients (installed apart from the workspaces: see its package.json). */
export function loadCozyStackClient<C>(): StackClientClass<C> {
  const require = createRequire(join(repoRoot, 'test/clients/package.json'));
  try {
    return (require('cozy-stack-client') as { default: StackClientClass<C> }).default;
  } catch (err) {
    throw new Error(`cozy-stack-client is not installed: run \`npm run test:clients\` (${(err as Error).message})`);
  }
}

export interface ClientKernel {
  tk: TestKernel;
  inst: InstanceDoc;
  /** `http://127.0.0.1:<port>`: the client sends that Host, so it is the instance's domain. */
  uri: string;
  /** An OAuth access token of a registered client, with `scope`. */
  token: string;
}

/**
 * A test kernel with `plugins`, listening on a free loopback port, its instance named after that port, and an
 * OAuth client holding an access token for `scope`: what a real Cozy app talks to. Closed at the test's end.
 */
export async function startClientKernel(t: Test, plugins: Record<string, Record<string, unknown>>, scope: string): Promise<ClientKernel> {
  const tk = await startTestKernel({ config: { plugins } });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const clientId = `client-e2e-${port}`;
  await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: clientId, client_name: 'e2e', software_id: 'e2e' });
  const token = await tk.kernel.auth.issueToken(inst, 'access', { subject: clientId, scope });
  return { tk, inst, uri: `http://127.0.0.1:${port}`, token };
}
