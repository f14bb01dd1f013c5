import type { LightMyRequestResponse } from 'fastify';
import type { SessionService } from '../../src/auth/sessions.ts';
import { SESSIONS } from '../../src/capabilities/kernel-services.ts';
import type { InstanceDoc } from '../../src/instances/instance.ts';
import { startTestKernel, type TestKernel } from '../../src/testing/test-kernel.ts';
import { makeProject } from './plugin-fixtures.ts';

export const CALLBACK = 'https://example.org/oauth/callback';

// A plugin route that answers who the kernel's AuthService says the caller is: the OAuth tokens are
// checked where every plugin checks them.
const WHOAMI = `
import { definePlugin, AUTH } from '@cozy-ts/kernel';
export default definePlugin({
  manifest: { id: 'whoami', name: 'whoami', version: '1.0.0', kernel: '^1.0.0', prefix: '/whoami' },
  async routes(app, { ctx }) {
    app.get('/', async (req) => {
      const auth = await ctx.use(AUTH).authenticate(req);
      return {
        kind: auth.kind,
        subject: auth.subject,
        scope: auth.claims?.scope ?? null,
        files: auth.permissions.allow('GET', 'io.cozy.files'),
        writeFiles: auth.permissions.allow('POST', 'io.cozy.files'),
        contacts: auth.permissions.allow('GET', 'io.cozy.contacts'),
      };
    });
  },
});
`;

export interface OAuthHarness {
  tk: TestKernel;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface InjectOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  host: string;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
}

export async function startOAuthKernel(): Promise<OAuthHarness> {
  const project = await makeProject([{ name: 'whoami', source: WHOAMI }]);
  let tk: TestKernel;
  try {
    tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { whoami: {} } } });
  } catch (err) {
    await project.cleanup();
    throw err;
  }
  return {
    tk,
    inject(opts) {
      const headers: Record<string, string> = { host: opts.host, ...opts.headers };
      let payload: string | undefined;
      if (opts.json !== undefined) {
        headers['content-type'] ??= 'application/json';
        payload = JSON.stringify(opts.json);
      } else if (opts.form) {
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
        payload = new URLSearchParams(opts.form).toString();
      }
      return tk.kernel.app.inject({ method: opts.method ?? 'GET', url: opts.url, headers, payload });
    },
    async close() {
      await tk.close();
      await project.cleanup();
    },
  };
}

export interface Registered {
  client_id: string;
  client_secret: string;
  registration_access_token: string;
  client_name: string;
  [k: string]: unknown;
}

export async function registerClient(h: OAuthHarness, host: string, extra: Record<string, unknown> = {}): Promise<Registered> {
  const res = await h.inject({
    method: 'POST',
    url: '/auth/register',
    host,
    headers: { accept: 'application/json' },
    json: { redirect_uris: [CALLBACK], client_name: 'cozy-test', software_id: 'github.com/cozy/cozy-test', ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`registration failed: ${res.statusCode} ${res.body}`);
  return res.json() as Registered;
}

/** A logged-in browser: the Cookie header of a fresh session. */
export async function loginCookie(h: OAuthHarness, inst: InstanceDoc): Promise<string> {
  const sessions = h.tk.kernel.container.resolve<SessionService>(SESSIONS.token);
  const session = await sessions.create(inst, 'normal');
  const cookie = sessions.cookieFor(inst, session);
  return `${cookie.name}=${encodeURIComponent(cookie.value)}`;
}

export interface AuthorizeParams {
  client_id: string;
  scope: string;
  state?: string;
  redirect_uri?: string;
  code_challenge?: string;
  code_challenge_method?: string;
}

export function authorizeQuery(p: AuthorizeParams): string {
  const q = new URLSearchParams({ response_type: 'code', state: p.state ?? '123456', redirect_uri: p.redirect_uri ?? CALLBACK, client_id: p.client_id, scope: p.scope });
  if (p.code_challenge !== undefined) q.set('code_challenge', p.code_challenge);
  if (p.code_challenge_method !== undefined) q.set('code_challenge_method', p.code_challenge_method);
  return `/auth/authorize?${q.toString()}`;
}

/** The hidden fields of the consent form, as the browser would post them back. */
export function consentFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)" \/>/g)) fields[m[1]] = decodeEntities(m[2]);
  return fields;
}

function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
}

/** Consent page → Authorize → the code from the redirect. */
export async function obtainCode(h: OAuthHarness, host: string, cookie: string, p: AuthorizeParams): Promise<string> {
  const page = await h.inject({ url: authorizeQuery(p), host, headers: { cookie } });
  if (page.statusCode !== 200) throw new Error(`consent page: ${page.statusCode} ${page.body}`);
  const res = await h.inject({ method: 'POST', url: '/auth/authorize', host, headers: { cookie }, form: { ...consentFields(page.body), action: 'allow' } });
  if (res.statusCode !== 302) throw new Error(`authorize: ${res.statusCode} ${res.body}`);
  const code = new URL(String(res.headers.location)).searchParams.get('code');
  if (!code) throw new Error('no code in the redirect');
  return code;
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  scope: string;
}

export function exchangeCode(h: OAuthHarness, host: string, client: Registered, code: string, extra: Record<string, string> = {}) {
  return h.inject({
    method: 'POST',
    url: '/auth/access_token',
    host,
    form: { grant_type: 'authorization_code', client_id: client.client_id, client_secret: client.client_secret, code, ...extra },
  });
}

export function refresh(h: OAuthHarness, host: string, client: Registered, refreshToken: string) {
  return h.inject({
    method: 'POST',
    url: '/auth/access_token',
    host,
    form: { grant_type: 'refresh_token', client_id: client.client_id, client_secret: client.client_secret, refresh_token: refreshToken },
  });
}

/** The whole flow: registration is the caller's; this returns the tokens of a granted scope. */
export async function grantTokens(h: OAuthHarness, host: string, cookie: string, client: Registered, scope: string): Promise<Tokens> {
  const code = await obtainCode(h, host, cookie, { client_id: client.client_id, scope });
  const res = await exchangeCode(h, host, client, code);
  if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`);
  return res.json() as Tokens;
}

export function whoami(h: OAuthHarness, host: string, token: string) {
  return h.inject({ url: '/whoami/', host, headers: { authorization: `Bearer ${token}` } });
}
