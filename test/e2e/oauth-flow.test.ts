import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { clientPassphraseHash, startTestKernel } from '../../kernel/src/testing/index.ts';
import { repoRoot } from '../helpers/processes.ts';

interface StackClient {
  collection(doctype: string): {
    get(id: string): Promise<{ data: Record<string, unknown> }>;
    fetchOwnPermissions(): Promise<{ data: Record<string, unknown> }>;
  };
}
type StackClientClass = new (opts: { uri: string; token: string }) => StackClient;

/** A fetch with a cookie jar and no redirect following, so each step of the dance is visible. */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async fetch(path: string, init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await fetch(this.base + path, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (/max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1));
    }
    return res;
  }
}

function hiddenField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name} in the page`);
  return (m[1] as string).replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

t.test('an OAuth client registers, the owner logs in and consents, the client uses, refreshes and loses its tokens', async (t) => {
  const require = createRequire(join(repoRoot, 'test/clients/package.json'));
  const CozyStackClient = (require('cozy-stack-client') as { default: StackClientClass }).default;

  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-settings': {} } } });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const domain = `127.0.0.1:${port}`;
  const inst = await tk.createInstance(domain, { passphrase: 'a passphrase for the owner' });
  const base = `http://${domain}`;
  const browser = new Browser(base);

  // 1. Dynamic registration (RFC 7591).
  const redirectUri = 'http://127.0.0.1:9/callback';
  const reg = await browser.fetch('/auth/register', {
    method: 'POST', headers: { accept: 'application/json' },
    json: { redirect_uris: [redirectUri], client_name: 'E2E client', software_id: 'github.com/example/e2e' },
  });
  t.equal(reg.status, 201);
  const client = (await reg.json()) as { client_id: string; client_secret: string; registration_access_token: string };

  // 2. The owner logs in through the login form, with its CSRF token.
  const loginPage = await browser.fetch('/auth/login');
  const csrf = hiddenField(await loginPage.text(), 'csrf_token');
  const login = await browser.fetch('/auth/login', {
    method: 'POST',
    form: { passphrase: await clientPassphraseHash('a passphrase for the owner', domain, inst.kdf_iterations), csrf_token: csrf, redirect: '' },
  });
  t.equal(login.status, 303);
  t.ok(browser.jar.has('cozysessid'), 'logged in');

  // 3. Authorization with PKCE: the consent page, then the owner accepts.
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const params = { client_id: client.client_id, redirect_uri: redirectUri, state: 'xyz-state', response_type: 'code', scope: 'io.cozy.settings', code_challenge: challenge, code_challenge_method: 'S256' };
  const consent = await browser.fetch(`/auth/authorize?${new URLSearchParams(params)}`, { headers: { accept: 'text/html' } });
  t.equal(consent.status, 200);
  const consentHtml = await consent.text();
  t.match(consentHtml, /E2E client/);
  const accepted = await browser.fetch('/auth/authorize', { method: 'POST', form: { ...params, csrf_token: hiddenField(consentHtml, 'csrf_token') } });
  t.equal(accepted.status, 302);
  const location = new URL(accepted.headers.get('location') as string);
  t.equal(location.origin + location.pathname, redirectUri);
  t.equal(location.searchParams.get('state'), 'xyz-state');
  const code = location.searchParams.get('code') as string;

  // 4. The client exchanges the code.
  const tokenRes = await fetch(`${base}/auth/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: client.client_id, client_secret: client.client_secret, code_verifier: verifier }),
  });
  t.equal(tokenRes.status, 200);
  const tokens = (await tokenRes.json()) as { access_token: string; refresh_token: string; token_type: string; scope: string };
  t.equal(tokens.token_type, 'bearer');
  t.equal(tokens.scope, 'io.cozy.settings');

  // 5. cozy-stack-client, unchanged, with the access token.
  const stack = new CozyStackClient({ uri: base, token: tokens.access_token });
  const settings = await stack.collection('io.cozy.settings').get('io.cozy.settings.instance');
  t.equal(settings.data.onboarding_finished, true);
  const self = await stack.collection('io.cozy.permissions').fetchOwnPermissions();
  t.match(JSON.stringify(self.data), /io\.cozy\.settings/, '/permissions/self shows the granted scope');

  // 6. Refresh: a new access token and no new refresh token, as cozy-stack.
  const refreshed = await fetch(`${base}/auth/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id, client_secret: client.client_secret }),
  });
  t.equal(refreshed.status, 200);
  const second = (await refreshed.json()) as Record<string, string>;
  t.ok(second.access_token);
  t.notOk('refresh_token' in second);
  const stack2 = new CozyStackClient({ uri: base, token: second.access_token as string });
  t.equal((await stack2.collection('io.cozy.settings').get('io.cozy.settings.instance')).data.onboarding_finished, true);

  // 7. The client unregisters itself: its tokens die with it.
  const revoke = await fetch(`${base}/auth/register/${client.client_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration_access_token}` } });
  t.equal(revoke.status, 204);
  const after = await fetch(`${base}/settings/instance`, { headers: { authorization: `Bearer ${second.access_token}` } });
  t.equal(after.status, 400);
  t.match(await after.text(), /Invalid JWT token/);
  // cozy-stack-client reads the WWW-Authenticate header and reports a revoked token as "Invalid token".
  await t.rejects(stack.collection('io.cozy.settings').get('io.cozy.settings.instance'), /Invalid token/);
});
