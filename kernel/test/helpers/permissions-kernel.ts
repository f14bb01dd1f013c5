import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import type { InstanceDoc } from '../../src/instances/instance.ts';
import { startTestKernel, type TestKernel } from '../../src/testing/test-kernel.ts';
import { makeProject } from './plugin-fixtures.ts';

/**
 * A kernel with one instance and a fixture plugin whose routes check permissions through AUTH, the way a
 * feature plugin does: GET and POST /guarded/:doctype/:id answer 200 only when the token allows the verb on
 * that document.
 */
const GUARDED_PLUGIN = `
import { definePlugin, AUTH } from '@cozy-ts/kernel';
export default definePlugin({
  manifest: { id: 'guarded', name: 'guarded', version: '1.0.0', kernel: '^1.0.0', prefix: '/guarded',
    requires: [{ capability: AUTH, range: '^1.0.0' }] },
  async routes(app, { ctx }) {
    const auth = ctx.use(AUTH);
    for (const verb of ['GET', 'POST']) {
      app.route({ method: verb, url: '/:doctype/:id', handler: async (req) => {
        const who = await auth.allow(req, verb, req.params.doctype, { _id: req.params.id });
        return { kind: who.kind, subject: who.subject };
      } });
    }
  },
});
`;

export const HOST = 'alice.example';

export interface Harness {
  tk: TestKernel;
  inst: InstanceDoc;
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string | null, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  cli(scope: string): Promise<string>;
  /** An OAuth access token of a registered client (registered on first use). */
  oauth(clientId: string, scope: string, client?: Record<string, unknown>): Promise<string>;
  /** An app token of an installed app whose permission document holds `permissions`. */
  app(slug: string, permissions: Record<string, unknown>): Promise<string>;
  /** POST /permissions; `query` is the query string without "?". */
  share(token: string, permissions: Record<string, unknown>, query?: string, attributes?: Record<string, unknown>): Promise<LightMyRequestResponse>;
}

export async function startPermissionsKernel(t: Test): Promise<Harness> {
  const project = await makeProject([{ name: 'guarded', source: GUARDED_PLUGIN }]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { guarded: {} } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance(HOST);

  const call: Harness['call'] = (method, url, token, payload, headers = {}) =>
    tk.kernel.app.inject({
      method,
      url,
      headers: { host: HOST, ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      payload: payload as never,
    });
  const registered = new Set<string>();
  return {
    tk,
    inst,
    call,
    cli: (scope) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope }),
    async oauth(clientId, scope, client = {}) {
      if (!registered.has(clientId)) {
        await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: clientId, client_name: clientId, ...client });
        registered.add(clientId);
      }
      return tk.kernel.auth.issueToken(inst, 'access', { subject: clientId, scope });
    },
    async app(slug, permissions) {
      const id = `io.cozy.apps/${slug}`;
      if (!registered.has(id)) {
        await tk.kernel.store.put(inst, 'io.cozy.permissions', { _id: id, type: 'app', source_id: id, permissions });
        registered.add(id);
      }
      return tk.kernel.auth.issueToken(inst, 'app', { subject: slug });
    },
    share: (token, permissions, query = 'codes=bob', attributes = {}) =>
      call('POST', `/permissions${query ? `?${query}` : ''}`, token, {
        data: { type: 'io.cozy.permissions', attributes: { permissions, ...attributes } },
      }),
  };
}
