import t from 'tap';
import { hashSecret } from '../src/auth/passphrase.ts';
import { buildAdminServer } from '../src/http/admin-server.ts';
import { definePlugin, type PluginContext } from '../src/plugin-api.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';

const PASS = 'an admin passphrase for this test';

t.test('a plugin adminRoutes hook is mounted on the admin API, behind the admin passphrase', async (t) => {
  const tk = await startTestKernel({ config: { plugins: { 'cozy-ts-plugin-hello': {} } } });
  t.teardown(() => tk.close());
  const k = tk.kernel;
  const mounted = k.mountedPlugins();
  t.ok(mounted.some((m) => m.plugin.manifest.id === 'hello'), 'the kernel lists its plugins with their contexts');
  const seen: Array<PluginContext<{ word: string }>> = [];
  const probe = definePlugin<{ word: string }>({
    manifest: { id: 'probe', name: 'probe', version: '0.0.0', kernel: '^1.0.0' },
    async adminRoutes(app, { ctx }) {
      seen.push(ctx);
      app.get<{ Params: { domain: string } }>('/instances/:domain/probe', async (req) => ({ domain: req.params.domain, word: ctx.config.word }));
    },
  });
  const ctx = { config: { word: 'hi' } } as unknown as PluginContext<Record<string, unknown>>;
  const admin = await buildAdminServer({
    log: k.log, instances: k.instances, auth: k.auth, sessions: k.sessions, store: k.store, cluster: k.cluster,
    passphraseHash: await hashSecret(PASS), describePlugins: () => k.describePlugins(),
    plugins: [...mounted, { plugin: probe as never, ctx }],
  });
  t.teardown(() => admin.close());
  t.equal(seen.length, 1, 'the hook ran once, with the plugin context');

  const none = await admin.inject({ method: 'GET', url: '/instances/a.example/probe' });
  t.equal(none.statusCode, 401);
  t.match(none.headers['www-authenticate'], /Basic/);
  const wrong = await admin.inject({ method: 'GET', url: '/instances/a.example/probe', headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
  t.equal(wrong.statusCode, 403);
  const ok = await admin.inject({ method: 'GET', url: '/instances/a.example/probe', headers: { authorization: `Basic ${Buffer.from(`admin:${PASS}`).toString('base64')}` } });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { domain: 'a.example', word: 'hi' });
  const kernelRoute = await admin.inject({ method: 'GET', url: '/instances/count', headers: { authorization: `Basic ${Buffer.from(`admin:${PASS}`).toString('base64')}` } });
  t.equal(kernelRoute.statusCode, 200, 'the kernel admin routes are still there');
});
