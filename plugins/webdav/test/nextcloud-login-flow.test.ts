import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CLUSTER, DEVICE_PASSWORDS, type Cache, type InstanceDoc } from '@cozy-ts/kernel';
import { clientPassphraseHash, startTestKernel } from '@cozy-ts/kernel/testing';
import { startTwoProcesses } from '../../../kernel/test/helpers/shared-ports.ts';
import { LoginFlows, flowKey, type FlowRecord } from '../src/nextcloud/login-flow/flow-store.ts';
import { PLUGINS, basicHeader } from './helpers.ts';

const PASSPHRASE = 'correct horse battery staple';
const DESKTOP_UA = 'Mozilla/5.0 (Linux) mirall/3.7.3 (Nextcloud, debian-6.1.0 ClientArchitecture: x86_64 OsArchitecture: x86_64)';
const ANDROID_UA = 'Mozilla/5.0 (Android) Nextcloud-android/3.18.1';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to `port`, presenting `host` (so a second process can be reached with the first one's Host). */
function send(port: number, host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host, ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const unescapeHtml = (s: string): string => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

/** The path and query of an absolute URL on the server (redirects and page links are absolute). */
function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** A browser: a cookie jar and a User-Agent, talking to a port with the instance's Host. */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    private port: number,
    readonly host: string,
    readonly ua = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
  ) {}

  /** Later requests go to another process of the same farm, with the same cookies. */
  switchTo(port: number): void {
    this.port = port;
  }

  async go(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { 'user-agent': this.ua, ...headers };
    if (this.jar.size) h.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const body = form ? new URLSearchParams(form).toString() : undefined;
    if (form) h['content-type'] = 'application/x-www-form-urlencoded';
    const res = await send(this.port, this.host, method, path, h, body);
    const cookies = res.headers['set-cookie'] ?? [];
    for (const c of Array.isArray(cookies) ? cookies : [cookies]) {
      const pair = c.split(';')[0] as string;
      const eq = pair.indexOf('=');
      if (/Max-Age=0/i.test(c)) this.jar.delete(pair.slice(0, eq));
      else this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }

  /** From a flow page without a session: follows its login link, logs in with the passphrase, comes back. */
  async logIn(picker: Reply, passphraseHash: string): Promise<Reply> {
    const link = /<a class="button" href="([^"]+)">Log in<\/a>/.exec(picker.body);
    if (!link) throw new Error(`no login link in ${picker.body}`);
    const loginPage = await this.go('GET', pathOf(unescapeHtml(link[1] as string)));
    if (loginPage.status !== 200) throw new Error(`login page: ${loginPage.status}`);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(loginPage.body)?.[1] as string;
    const redirect = /name="redirect" value="([^"]*)"/.exec(loginPage.body)?.[1] as string;
    const done = await this.go('POST', '/auth/login', { passphrase: passphraseHash, csrf_token: csrf, redirect: unescapeHtml(redirect) });
    if (done.status !== 303) throw new Error(`login: ${done.status} ${done.body}`);
    return this.go('GET', pathOf(String(done.headers.location)));
  }
}

function csrfOf(page: Reply): string {
  const m = /name="csrf_token" value="([^"]+)"/.exec(page.body);
  if (!m) throw new Error(`no CSRF token in ${page.body}`);
  return unescapeHtml(m[1] as string);
}

interface Env {
  port: number;
  domain: string;
  inst: InstanceDoc;
  hash: string;
  cache: Cache;
  call: (method: string, path: string, headers?: Record<string, string>, body?: string) => Promise<Reply>;
  browser: (ua?: string) => Browser;
  devices: () => Promise<{ label: string; scopes: string[] }[]>;
}

async function startServer(tt: { teardown(fn: () => unknown): void }): Promise<Env> {
  const files = await mkdtemp(join(tmpdir(), 'webdav-login-flow-'));
  tt.teardown(() => rm(files, { recursive: true, force: true }));
  const tk = await startTestKernel({ config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-vfs-local': { root: files } } } });
  tt.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const domain = `127.0.0.1:${port}`;
  const inst = await tk.createInstance(domain, { passphrase: PASSPHRASE, publicName: 'Alice <Liddell>' });
  const devices = tk.kernel.container.resolve(DEVICE_PASSWORDS.token);
  return {
    port,
    domain,
    inst,
    hash: await clientPassphraseHash(PASSPHRASE, domain, inst.kdf_iterations),
    cache: tk.kernel.container.resolve(CLUSTER.token).cache,
    call: (method, path, headers = {}, body) => send(port, domain, method, path, headers, body),
    browser: (ua) => new Browser(port, domain, ua),
    devices: async () => (await devices.list(inst)).map((d) => ({ label: d.label, scopes: d.scopes })),
  };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface Started {
  token: string;
  endpoint: string;
  login: string;
}

async function startFlow(env: Env, path = '/index.php/login/v2', ua = DESKTOP_UA): Promise<Started> {
  const res = await env.call('POST', path, { 'user-agent': ua });
  if (res.status !== 200) throw new Error(`init: ${res.status} ${res.body}`);
  const json = JSON.parse(res.body) as { poll: { token: string; endpoint: string }; login: string };
  return { token: json.poll.token, endpoint: json.poll.endpoint, login: json.login };
}

const poll = (env: Env, flow: Started) => env.call('POST', pathOf(flow.endpoint), FORM, new URLSearchParams({ token: flow.token }).toString());

/** Through the browser: the login URL, the instance's login, the grant page. */
async function reachGrantPage(env: Env, flow: Started, b = env.browser()): Promise<{ b: Browser; grant: Reply }> {
  const picker = await b.go('GET', pathOf(flow.login));
  if (picker.status !== 200) throw new Error(`picker: ${picker.status}`);
  const grant = await b.logIn(picker, env.hash);
  return { b, grant };
}

t.test('login flow v2, end to end over HTTP', async (t) => {
  const env = await startServer(t);

  t.test('a Nextcloud client adds the account: start, log in, grant, poll, then WebDAV and OCS', async (t) => {
    const init = await env.call('POST', '/index.php/login/v2', { 'user-agent': DESKTOP_UA });
    t.equal(init.status, 200);
    t.match(init.headers['content-type'], /^application\/json/);
    const body = JSON.parse(init.body) as Record<string, unknown>;
    t.same(Object.keys(body).sort(), ['login', 'poll'], "exactly Nextcloud's answer");
    const flow = await startFlow(env);
    t.match(flow.token, /^[A-Za-z0-9]{128}$/, 'a 128-character poll token, as Nextcloud');
    t.equal(flow.endpoint, `http://${env.domain}/login/v2/poll`);
    t.match(flow.login, new RegExp(`^http://${env.domain.replace(/\./g, '\\.')}/login/v2/flow/[A-Za-z0-9]{64}$`));
    t.notOk(flow.login.includes(flow.token), 'the browser never sees the poll token');

    t.equal((await poll(env, flow)).status, 404, 'nothing to collect before the user acts');

    const b = env.browser();
    const picker = await b.go('GET', pathOf(flow.login));
    t.equal(picker.status, 200);
    t.match(picker.body, 'mirall/3.7.3', 'the page names the client');
    t.match(picker.body, 'Alice &#60;Liddell&#62;', 'and the instance, escaped');
    t.match(String(picker.headers['content-security-policy']), "frame-ancestors 'none'");
    t.equal(picker.headers['referrer-policy'], 'no-referrer');
    t.notMatch(picker.body, 'csrf_token', 'no grant form without a session');

    const grantPage = await b.logIn(picker, env.hash);
    t.equal(grantPage.status, 200);
    t.match(grantPage.body, 'Grant access');
    t.match(grantPage.body, 'mirall/3.7.3');
    const csrf = csrfOf(grantPage);
    t.equal((await poll(env, flow)).status, 404, 'logging in grants nothing yet');

    const done = await b.go('POST', pathOf(flow.login), { csrf_token: csrf, action: 'grant' });
    t.equal(done.status, 200);
    t.match(done.body, 'Account connected');

    const first = await poll(env, flow);
    t.equal(first.status, 200);
    const creds = JSON.parse(first.body) as { server: string; loginName: string; appPassword: string };
    t.same(Object.keys(creds).sort(), ['appPassword', 'loginName', 'server']);
    t.equal(creds.server, `http://${env.domain}`);
    t.equal(creds.loginName, '127.0.0.1', 'the domain without its port: a colon would end a Basic login');
    t.match(creds.appPassword, /^[a-zA-Z0-9]{5}(-[a-zA-Z0-9]{5}){4}$/, 'a device password');
    t.equal((await poll(env, flow)).status, 404, 'the credentials are handed out once');
    t.equal((await b.go('GET', pathOf(flow.login))).status, 404, 'the login link is used up');

    const devices = await env.devices();
    t.same(devices, [{ label: DESKTOP_UA, scopes: ['files'] }], 'one device password, scoped to files, labelled with the client');

    const basic = basicHeader(creds.loginName, creds.appPassword);
    const put = await env.call('PUT', `/remote.php/dav/files/${creds.loginName}/hello.txt`, { authorization: basic }, 'hi');
    t.equal(put.status, 201);
    const propfind = await env.call('PROPFIND', `/remote.php/dav/files/${creds.loginName}/`, { authorization: basic, depth: '1' });
    t.equal(propfind.status, 207);
    t.match(propfind.body, `/remote.php/dav/files/${creds.loginName}/hello.txt`);
    t.equal((await env.call('PROPFIND', '/remote.php/webdav/', { authorization: basic, depth: '0' })).status, 207);
    const user = await env.call('GET', '/ocs/v2.php/cloud/user?format=json', { authorization: basic, 'ocs-apirequest': 'true' });
    t.equal(user.status, 200);
    const ocs = JSON.parse(user.body) as { ocs: { data: { id: string; 'display-name': string } } };
    t.equal(ocs.ocs.data.id, creds.loginName);
    t.equal(ocs.ocs.data['display-name'], 'Alice <Liddell>');
    t.equal((await env.call('PROPFIND', '/remote.php/webdav/', { authorization: basicHeader(creds.loginName, 'aaaaa-bbbbb-ccccc-ddddd-eeeee'), depth: '0' })).status, 401);
  });

  t.test('served without /index.php too, with the poll token also read from JSON or the query', async (t) => {
    const flow = await startFlow(env, '/login/v2');
    const { b, grant } = await reachGrantPage(env, flow);
    t.equal((await b.go('POST', pathOf(flow.login).replace('/login/', '/index.php/login/'), { csrf_token: csrfOf(grant), action: 'grant' })).status, 200);
    const json = await env.call('POST', '/index.php/login/v2/poll', { 'content-type': 'application/json' }, JSON.stringify({ token: flow.token }));
    t.equal(json.status, 200);
    t.ok((JSON.parse(json.body) as { appPassword?: string }).appPassword);

    const other = await startFlow(env);
    const again = await reachGrantPage(env, other);
    await again.b.go('POST', pathOf(other.login), { csrf_token: csrfOf(again.grant), action: 'grant' });
    t.equal((await env.call('POST', `/login/v2/poll?token=${other.token}`)).status, 200);
  });

  t.test('an already logged-in browser goes straight to the grant page', async (t) => {
    const first = await startFlow(env);
    const { b } = await reachGrantPage(env, first);
    const second = await startFlow(env, '/index.php/login/v2', ANDROID_UA);
    const page = await b.go('GET', pathOf(second.login));
    t.equal(page.status, 200);
    t.match(page.body, 'Nextcloud-android/3.18.1');
    t.ok(csrfOf(page));
    const prefilled = await b.go('GET', `${pathOf(second.login)}?user=alice&direct=1`);
    t.equal(prefilled.status, 200, "the desktop client's ?user= prefill is accepted (and ignored: there is no user name to type)");
  });

  t.test('bad input', async (t) => {
    t.test('a poll without a token is 400; an unknown or malformed one 404', async (t) => {
      t.equal((await env.call('POST', '/login/v2/poll', FORM, '')).status, 400);
      t.equal((await env.call('POST', '/login/v2/poll', FORM, 'token=')).status, 400);
      t.equal((await env.call('POST', '/login/v2/poll', { 'content-type': 'application/json' }, '{"token":42}')).status, 400);
      const unknown = await env.call('POST', '/login/v2/poll', FORM, `token=${'A'.repeat(128)}`);
      t.equal(unknown.status, 404);
      t.equal(unknown.body, '[]', "Nextcloud's empty answer");
      t.equal((await env.call('POST', '/login/v2/poll', FORM, 'token=../../etc')).status, 404);
    });

    t.test('an unknown, malformed or wrong-kind login token is 404', async (t) => {
      t.equal((await env.call('GET', `/login/v2/flow/${'a'.repeat(64)}`)).status, 404);
      t.equal((await env.call('GET', '/login/v2/flow/short')).status, 404);
      t.equal((await env.call('POST', `/login/v2/flow/${'a'.repeat(64)}`, FORM, 'action=grant')).status, 404);
      const flow = await startFlow(env);
      const v1Path = pathOf(flow.login).replace('/login/v2/flow/', '/login/flow/');
      t.equal((await env.call('GET', v1Path)).status, 404, 'a v2 flow is not served as v1');
    });

    t.test('an expired flow is 404 on its pages and to its poll', async (t) => {
      const flow = await startFlow(env);
      const token = pathOf(flow.login).split('/').pop() as string;
      const key = flowKey(env.inst, token);
      const record = await env.cache.get<FlowRecord>(key);
      t.ok(record, 'the flow is in the cluster cache, under a hash of its login token');
      t.notOk(key.includes(token));
      await env.cache.set(key, { ...record, expiresAt: Date.now() - 1 });
      t.equal((await env.call('GET', pathOf(flow.login))).status, 404);
      t.equal((await poll(env, flow)).status, 404);
    });

    t.test('a grant without a session is sent to the login page', async (t) => {
      const flow = await startFlow(env);
      const res = await env.browser().go('POST', pathOf(flow.login), { action: 'grant' });
      t.equal(res.status, 303);
      const location = new URL(String(res.headers.location));
      t.equal(location.pathname, '/auth/login');
      t.equal(location.searchParams.get('redirect'), flow.login);
      t.equal((await poll(env, flow)).status, 404);
    });

    t.test('a grant with a bad CSRF token is 403, without one 400; the flow stays usable', async (t) => {
      const flow = await startFlow(env);
      const { b, grant } = await reachGrantPage(env, flow);
      const forged = await b.go('POST', pathOf(flow.login), { csrf_token: 'forged', action: 'grant' });
      t.equal(forged.status, 403);
      t.match(forged.headers['content-type'], /^text\/html/);
      t.equal((await b.go('POST', pathOf(flow.login), { action: 'grant' })).status, 400);
      const foreign = env.browser();
      await reachGrantPage(env, flow, foreign);
      t.equal((await foreign.go('POST', pathOf(flow.login), { csrf_token: csrfOf(grant), action: 'grant' })).status, 403, "another browser's token");
      t.equal((await b.go('POST', pathOf(flow.login), { csrf_token: csrfOf(grant), action: 'nothing' })).status, 400);
      t.equal((await poll(env, flow)).status, 404);
      t.equal((await b.go('POST', pathOf(flow.login), { csrf_token: csrfOf(grant), action: 'grant' })).status, 200);
      t.equal((await poll(env, flow)).status, 200);
    });

    t.test('the deny button cancels the flow and creates no password', async (t) => {
      const before = (await env.devices()).length;
      const flow = await startFlow(env);
      const { b, grant } = await reachGrantPage(env, flow);
      const denied = await b.go('POST', pathOf(flow.login), { csrf_token: csrfOf(grant), action: 'deny' });
      t.equal(denied.status, 200);
      t.match(denied.body, 'Access denied');
      t.equal((await poll(env, flow)).status, 404);
      t.equal((await b.go('GET', pathOf(flow.login))).status, 404);
      t.equal((await b.go('POST', pathOf(flow.login), { csrf_token: csrfOf(grant), action: 'grant' })).status, 404, 'no grant after a denial');
      t.equal((await env.devices()).length, before);
    });

    t.test('a second grant of the same flow is refused', async (t) => {
      const flow = await startFlow(env);
      const { b, grant } = await reachGrantPage(env, flow);
      const form = { csrf_token: csrfOf(grant), action: 'grant' };
      const [one, two] = await Promise.all([b.go('POST', pathOf(flow.login), form), b.go('POST', pathOf(flow.login), form)]);
      t.same([one.status, two.status].sort(), [200, 404]);
    });

    t.test('a flow of one instance is unknown to another', async (t) => {
      const flow = await startFlow(env);
      // Same server, another Host: no instance there at all.
      t.equal((await send(env.port, 'elsewhere.example', 'POST', '/login/v2/poll', FORM, `token=${flow.token}`)).status, 404);
    });
  });
});

t.test('login flow v1: the web view ends at nc://login/…', async (t) => {
  const env = await startServer(t);
  t.equal((await env.call('GET', '/index.php/login/flow', { 'user-agent': ANDROID_UA })).status, 403, 'only with OCS-APIREQUEST: true');

  const b = env.browser(ANDROID_UA);
  const start = await b.go('GET', '/index.php/login/flow', undefined, { 'ocs-apirequest': 'true' });
  t.equal(start.status, 303);
  const landing = pathOf(String(start.headers.location));
  t.match(landing, /^\/login\/flow\/[A-Za-z0-9]{64}$/);
  const picker = await b.go('GET', landing);
  t.match(picker.body, 'Nextcloud-android/3.18.1');
  const grant = await b.logIn(picker, env.hash);
  t.match(String(grant.headers['content-security-policy']), "form-action 'self' nc:", 'the form may end at nc:');
  const done = await b.go('POST', landing, { csrf_token: csrfOf(grant), action: 'grant' });
  t.equal(done.status, 303);
  const location = String(done.headers.location);
  const m = /^nc:\/\/login\/server:(.+)&user:(.+)&password:(.+)$/.exec(location);
  t.ok(m, location);
  const [, server, user, password] = m as RegExpExecArray;
  t.equal(server, `http://${env.domain}`);
  t.equal(decodeURIComponent(user as string), '127.0.0.1');
  const basic = basicHeader(decodeURIComponent(user as string), decodeURIComponent(password as string));
  t.equal((await env.call('PROPFIND', '/remote.php/webdav/', { authorization: basic, depth: '0' })).status, 207);
  t.same(await env.devices(), [{ label: ANDROID_UA, scopes: ['files'] }]);
  t.equal((await b.go('POST', landing, { csrf_token: csrfOf(grant), action: 'grant' })).status, 404, 'used once');

  let status = 0;
  let retryAfter: unknown;
  for (let i = 0; i < 101 && status !== 429; i++) {
    const res = await env.call('POST', '/login/v2', { 'user-agent': DESKTOP_UA });
    status = res.status;
    retryAfter = res.headers['retry-after'];
  }
  t.equal(status, 429, 'one address cannot start flows without end');
  t.equal(retryAfter, '600');
});

t.test('a flow started on one process is granted on another and polled on the first', async (t) => {
  const files = await mkdtemp(join(tmpdir(), 'webdav-login-flow-two-'));
  t.teardown(() => rm(files, { recursive: true, force: true }));
  const { p1, p2 } = await startTwoProcesses(t, { config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-vfs-local': { root: files } } } });
  await p1.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  await p2.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const port1 = (p1.kernel.app.server.address() as AddressInfo).port;
  const port2 = (p2.kernel.app.server.address() as AddressInfo).port;
  const domain = `127.0.0.1:${port1}`;
  const inst = await p1.createInstance(domain, { passphrase: PASSPHRASE });
  const hash = await clientPassphraseHash(PASSPHRASE, domain, inst.kdf_iterations);

  const init = await send(port1, domain, 'POST', '/index.php/login/v2', { 'user-agent': DESKTOP_UA });
  const flow = JSON.parse(init.body) as { poll: { token: string; endpoint: string }; login: string };
  const b = new Browser(port2, domain);
  const picker = await b.go('GET', pathOf(flow.login));
  t.equal(picker.status, 200, 'process 2 knows the flow process 1 started');
  const grant = await b.logIn(picker, hash);
  t.equal((await b.go('POST', pathOf(flow.login), { csrf_token: csrfOf(grant), action: 'grant' })).status, 200);
  const collect = (port: number) => send(port, domain, 'POST', pathOf(flow.poll.endpoint), FORM, `token=${flow.poll.token}`);
  const got = await collect(port1);
  t.equal(got.status, 200, 'process 1 hands out what process 2 granted');
  t.equal((await collect(port2)).status, 404, 'and process 2 does not hand it out again');
  const creds = JSON.parse(got.body) as { loginName: string; appPassword: string };
  t.equal((await send(port2, domain, 'PROPFIND', '/remote.php/webdav/', { authorization: basicHeader(creds.loginName, creds.appPassword), depth: '0' })).status, 207);
});

/** A cache that keeps everything it is given, to look at what a flow leaves there. */
class RecordingCache implements Cache {
  readonly data = new Map<string, unknown>();
  async get<T>(key: string): Promise<T | undefined> { return this.data.get(key) as T | undefined; }
  async set(key: string, value: unknown): Promise<void> { this.data.set(key, JSON.parse(JSON.stringify(value))); }
  async delete(key: string): Promise<boolean> { return this.data.delete(key); }
  async increment(key: string): Promise<number> { const n = Number(this.data.get(key) ?? 0) + 1; this.data.set(key, n); return n; }
  async setIfAbsent(key: string, value: unknown): Promise<boolean> { if (this.data.has(key)) return false; await this.set(key, value); return true; }
  async take<T>(key: string): Promise<T | undefined> { const v = this.data.get(key) as T | undefined; this.data.delete(key); return v; }
  async ping(): Promise<void> {}
}

t.test('the cache never holds a token or the password in a usable form', async (t) => {
  const cache = new RecordingCache();
  const flows = new LoginFlows(cache);
  const inst = { domain: 'alice.example' } as InstanceDoc;
  const { loginToken, pollToken } = await flows.start(inst, 'v2', 'client');
  const flow = await flows.claim(inst, loginToken);
  t.ok(flow);
  const appPassword = 'abcde-fghij-kmnop-qrstu-vwxyz';
  await flows.grant(inst, flow as FlowRecord, { server: 'https://alice.example', loginName: 'alice.example', appPassword });
  const dump = JSON.stringify([...cache.data]);
  t.notMatch(dump, loginToken);
  t.notMatch(dump, pollToken as string);
  t.notMatch(dump, appPassword);
  t.equal(await flows.poll(inst, `${(pollToken as string).slice(0, -1)}${(pollToken as string).endsWith('A') ? 'B' : 'A'}`), null, 'a near-miss token opens nothing');
  t.same(await flows.poll(inst, pollToken as string), { server: 'https://alice.example', loginName: 'alice.example', appPassword });
  t.equal(await flows.poll(inst, pollToken as string), null);
});

t.test('a granted flow expires with the flow', async (t) => {
  const cache = new RecordingCache();
  const flows = new LoginFlows(cache, 40);
  const inst = { domain: 'alice.example' } as InstanceDoc;
  const { loginToken, pollToken } = await flows.start(inst, 'v2', 'client');
  const flow = await flows.claim(inst, loginToken);
  await flows.grant(inst, flow as FlowRecord, { server: 's', loginName: 'l', appPassword: 'p' });
  await new Promise((r) => setTimeout(r, 60));
  t.equal(await flows.poll(inst, pollToken as string), null);
});
