import t from 'tap';
import { makeProject } from './helpers/plugin-fixtures.ts';
import { startTwoProcesses } from './helpers/shared-ports.ts';

// A route that answers who the token says the caller is, so tests see authentication through HTTP.
const whoamiPlugin = `
import { AUTH, definePlugin } from '@cozy-ts/kernel';
export default definePlugin({
  manifest: { id: 'whoami', name: 'whoami', version: '1.0.0', kernel: '^1.0.0', prefix: '/whoami', requires: [{ capability: AUTH, range: '^1.0.0' }] },
  async routes(app, { ctx }) {
    app.get('/', async (req) => ({ kind: (await ctx.use(AUTH).authenticate(req)).kind }));
  },
});
`;

t.test('a deleted OAuth client stops working at once on every process, despite the client cache', async (t) => {
  const project = await makeProject([{ name: 'whoami', source: whoamiPlugin }]);
  t.teardown(project.cleanup);
  const { p1, p2 } = await startTwoProcesses(t, { baseDir: project.dir, config: { plugins: { whoami: {} } } });
  const inst = await p1.createInstance('alice.example');
  await p1.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'client1', client_name: 'c' });
  const token = await p1.kernel.auth.issueToken(inst, 'access', { subject: 'client1', scope: 'io.cozy.files' });
  const ask = (p: typeof p1) => p.kernel.app.inject({ url: '/whoami/', headers: { host: 'alice.example', authorization: `Bearer ${token}` } });

  t.equal((await ask(p1)).statusCode, 200);
  t.equal((await ask(p2)).statusCode, 200, 'p2 has the client in its cache now');
  const client = await p1.kernel.store.get(inst, 'io.cozy.oauth.clients', 'client1');
  await p1.kernel.store.delete(inst, 'io.cozy.oauth.clients', 'client1', client._rev as string);
  await new Promise((r) => setImmediate(r));
  t.equal((await ask(p1)).statusCode, 400, 'refused on the process that deleted it');
  t.equal((await ask(p2)).statusCode, 400, 'refused on the other process without waiting for its cache to expire');
});
