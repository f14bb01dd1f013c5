import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startTestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { repoRoot } from '../helpers/processes.ts';

interface StackClient {
  collection(doctype: string): {
    get(id: string): Promise<{ data: Record<string, unknown> }>;
    update(doc: Record<string, unknown>): Promise<{ data: Record<string, unknown> }>;
    fetchOwnPermissions?(): Promise<{ data: Record<string, unknown> }>;
  };
  fetchJSON(method: string, path: string, body?: unknown): Promise<unknown>;
}

/** cozy-stack-client lives in test/clients (installed apart from the workspaces: see its package.json). */
function loadCozyStackClient(): new (opts: { uri: string; token: string }) => StackClient {
  const require = createRequire(join(repoRoot, 'test/clients/package.json'));
  try {
    const mod = require('cozy-stack-client') as { default: new (opts: { uri: string; token: string }) => StackClient };
    return mod.default;
  } catch (err) {
    throw new Error(`cozy-stack-client is not installed: run \`npm run test:clients\` (${(err as Error).message})`);
  }
}

t.test('cozy-stack-client reads and updates the instance settings with an OAuth token, unchanged', async (t) => {
  const CozyStackClient = loadCozyStackClient();
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-settings': {} } } });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  // The client sends Host: 127.0.0.1:<port>, so that is the instance's domain.
  const inst = await tk.createInstance(`127.0.0.1:${port}`, { publicName: 'Alice', locale: 'fr' });
  await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'client-e2e', client_name: 'e2e', software_id: 'e2e' });
  const token = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client-e2e', scope: 'io.cozy.settings' });

  const client = new CozyStackClient({ uri: `http://127.0.0.1:${port}`, token });
  const settings = client.collection('io.cozy.settings');
  const got = await settings.get('io.cozy.settings.instance');
  t.equal(got.data.public_name, 'Alice');
  t.equal(got.data.locale, 'fr');

  // The client sends the normalised document back as `data`; like cozy-stack's jsonapi.Bind, the server reads
  // `data.attributes` and `data.meta.rev`, so that is where the change goes.
  const attributes = { ...(got.data.attributes as Record<string, unknown>), public_name: 'Alice Liddell' };
  const updated = await settings.update({ ...got.data, attributes });
  t.equal(updated.data.public_name, 'Alice Liddell');
  const again = await settings.get('io.cozy.settings.instance');
  t.equal(again.data.public_name, 'Alice Liddell');
});
