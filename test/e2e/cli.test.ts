import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { httpGet, runCozy, startServer } from '../helpers/processes.ts';

t.test('the CLI creates an instance that the server then serves', async (t) => {
  const storage = await mkdtemp(join(tmpdir(), 'cozy-e2e-'));
  t.teardown(() => rm(storage, { recursive: true, force: true }));
  const env = { COZY_STORAGE: storage, COZY_DEFAULT_INSTANCE: 'false', COZY_LOG_LEVEL: 'warn' };
  const server = await startServer(env);
  t.teardown(() => server.stop());
  const cli = (...args: string[]) => runCozy(args, { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${server.adminPort}/` });
  const alice = `alice.localhost:${server.port}`;

  const mode = (await stat(join(storage, 'admin-passphrase'))).mode & 0o777;
  t.equal(mode, 0o600, 'the generated admin credential is readable by its owner only');

  const add = await cli('instances', 'add', alice, '--email', 'alice@example.org', '--disk-quota', '5GB');
  t.equal(add.code, 0, add.stderr);
  t.match(add.stdout, new RegExp(`Instance created: ${alice.replace('.', '\\.')}`));
  t.match(add.stdout, /Onboarding link: http:\/\/alice\.localhost:\d+\/\?registerToken=[0-9a-f]{32}/);

  const hello = await httpGet(server.port, '/hello/', alice);
  t.equal(hello.status, 200);
  t.equal(JSON.parse(hello.body).domain, alice);
  const nobody = await httpGet(server.port, '/hello/', `nobody.localhost:${server.port}`);
  t.equal(nobody.status, 404);

  const again = await cli('instances', 'add', alice);
  t.equal(again.code, 1);
  t.match(again.stderr, /409: Instance .* already exists/);

  const ls = await cli('instances', 'ls');
  t.equal(ls.code, 0);
  t.match(ls.stdout, new RegExp(`^${alice}\\tnot onboarded\\ten\\tcozy[0-9a-f]{32}`, 'm'));

  const show = await cli('instances', 'show', alice, '--json');
  t.equal(JSON.parse(show.stdout).disk_quota, 5_000_000_000);

  const modify = await cli('instances', 'modify', alice, '--locale', 'fr');
  t.equal(modify.code, 0, modify.stderr);
  t.match(modify.stdout, /^locale: fr$/m);

  const cliToken = await cli('instances', 'token-cli', alice, 'io.cozy.settings:GET');
  t.equal(cliToken.code, 0, cliToken.stderr);
  const settings = await httpGet(server.port, '/settings/instance', alice, { authorization: `Bearer ${cliToken.stdout.trim()}` });
  t.equal(settings.status, 200, 'a CLI token from the admin API reads the settings');
  t.equal(JSON.parse(settings.body).data.attributes.locale, 'fr');
  const badAudience = await cli('instances', 'token-oauth', alice, 'no-such-client', 'io.cozy.files');
  t.equal(badAudience.code, 1);
  t.match(badAudience.stderr, /No OAuth client/);

  const clientId = (await cli('instances', 'client-oauth', alice, 'http://127.0.0.1/cb', 'E2E', 'e2e-cli')).stdout.trim();
  t.match(clientId, /^[0-9a-f]{32}$/, 'client-oauth registers a client');
  const oauthToken = await cli('instances', 'token-oauth', alice, clientId, 'io.cozy.settings');
  t.equal(oauthToken.code, 0, oauthToken.stderr);
  const withOAuth = () => httpGet(server.port, '/settings/instance', alice, { authorization: `Bearer ${oauthToken.stdout.trim()}` });
  t.equal((await withOAuth()).status, 200, 'the OAuth token works');
  const setPass = await cli('instances', 'set-passphrase', alice, 'a brand new passphrase');
  t.equal(setPass.code, 0, setPass.stderr);
  t.equal((await withOAuth()).status, 400, 'set-passphrase revokes OAuth tokens');
  const prelogin = await httpGet(server.port, '/public/prelogin', alice);
  t.equal(prelogin.status, 200, 'the instance is onboarded once it has a passphrase');

  const withPass = await cli('instances', 'add', `bob.localhost:${server.port}`, '--passphrase', 'hunter2hunter2');
  t.equal(withPass.code, 0);
  t.notMatch(withPass.stdout, /Onboarding link/, 'an instance with a passphrase is onboarded at once');

  const rmNoForce = await cli('instances', 'rm', alice);
  t.equal(rmNoForce.code, 2);
  t.match(rmNoForce.stderr, /add --force to confirm/);
  const rmForce = await cli('instances', 'rm', alice, '--force');
  t.equal(rmForce.code, 0, rmForce.stderr);
  t.equal((await httpGet(server.port, '/hello/', alice)).status, 404);
  t.equal((await cli('instances', 'show', alice)).code, 4);

  const wrongPass = await runCozy(['instances', 'ls'], { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${server.adminPort}/`, COZY_ADMIN_PASSPHRASE: 'wrong' });
  t.equal(wrongPass.code, 1);
  t.match(wrongPass.stderr, /403: Invalid admin passphrase/);

  const badUsage = await cli('instances', 'add');
  t.equal(badUsage.code, 2);
  t.match(badUsage.stderr, /missing <domain>/);
  const badQuota = await cli('instances', 'add', 'x.localhost', '--disk-quota', 'lots');
  t.equal(badQuota.code, 2);
  const unknown = await cli('instances', 'frobnicate');
  t.equal(unknown.code, 2);

  t.equal(await server.stop(), 0, 'SIGTERM stops the server cleanly');
  const down = await cli('instances', 'ls');
  t.equal(down.code, 3);
  t.match(down.stderr, /cannot reach the admin API/);
});

t.test('the first start creates an instance for localhost and prints its onboarding link', async (t) => {
  const storage = await mkdtemp(join(tmpdir(), 'cozy-e2e-'));
  t.teardown(() => rm(storage, { recursive: true, force: true }));
  const server = await startServer({ COZY_STORAGE: storage, COZY_LOG_LEVEL: 'warn' });
  t.teardown(() => server.stop());
  const deadline = Date.now() + 10_000;
  while (!/Your instance is ready/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(server.output(), new RegExp(`open http://localhost:${server.port}/\\?registerToken=[0-9a-f]{32}`));
  const hello = await httpGet(server.port, '/hello/', `localhost:${server.port}`);
  t.equal(hello.status, 200);
});

t.test('config check prints the plugin graph; a broken config exits 1 naming every problem', async (t) => {
  const ok = await runCozy(['config', 'check'], {});
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /hello \(cozy-ts-plugin-hello@\d+\.\d+\.\d+\) prefix=\/hello/);
  t.match(ok.stdout, /settings \(@cozy-ts\/plugin-settings@\d+\.\d+\.\d+\) prefix=\/settings/);
  t.match(ok.stdout, /store@1\.0\.0 <- kernel/);
  const broken = await runCozy(['config', 'check'], { COZY_HTTP_PORT: 'abc', COZY_PLUGIN__HELLO__GREETING: '' });
  t.equal(broken.code, 1);
  t.match(broken.stderr, /http\.port: must be integer/);
  const plugins = await runCozy(['plugins', 'ls'], {});
  t.match(plugins.stdout, /^hello\tcozy-ts-plugin-hello@0\.1\.0\t\/hello$/m);
  t.match(plugins.stdout, /^settings\t@cozy-ts\/plugin-settings@0\.1\.0\t\/settings$/m);
  const help = await runCozy(['instances', 'add', '--help'], {});
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: cozy instances add <domain>/);
});

t.test('serve on a port already in use exits 1 saying which variable to set', async (t) => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as { port: number }).port;
  const storage = await mkdtemp(join(tmpdir(), 'cozy-e2e-'));
  t.teardown(() => rm(storage, { recursive: true, force: true }));
  const res = await runCozy(['serve'], { COZY_STORAGE: storage, COZY_HTTP_PORT: String(port), COZY_ADMIN_PORT: '0', COZY_LOG_LEVEL: 'silent' });
  t.equal(res.code, 1);
  t.match(res.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use: stop what uses it or set COZY_HTTP_PORT`));
});
