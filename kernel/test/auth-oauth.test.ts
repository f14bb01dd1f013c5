import t from 'tap';
import { OAuthClientService } from '../src/auth/oauth-clients.ts';
import { verifyToken } from '../src/auth/tokens.ts';
import {
  authorizeQuery,
  CALLBACK,
  consentFields,
  exchangeCode,
  grantTokens,
  loginCookie,
  obtainCode,
  refresh,
  registerClient,
  startOAuthKernel,
  whoami,
  type Tokens,
} from './helpers/oauth-flow.ts';

const host = 'alice.example';
const json = { accept: 'application/json' };

t.test('OAuth2 authorization server', async (t) => {
  const h = await startOAuthKernel();
  t.teardown(() => h.close());
  const inst = await h.tk.createInstance(host);
  const cookie = await loginCookie(h, inst);

  t.test('registration refuses what cozy-stack refuses, with its error bodies', async (t) => {
    const base = { redirect_uris: [CALLBACK], client_name: 'cozy-test', software_id: 'github.com/cozy/cozy-test' };
    const cases: Array<[string, unknown, string, string]> = [
      ['no redirect_uris', { client_name: 'cozy-test', software_id: 'x' }, 'invalid_redirect_uri', 'redirect_uris is mandatory'],
      ['empty redirect_uris', { ...base, redirect_uris: [] }, 'invalid_redirect_uri', 'redirect_uris is mandatory'],
      ['a fragment', { ...base, redirect_uris: ['http://example.org/foo#bar'] }, 'invalid_redirect_uri', 'http://example.org/foo#bar is invalid'],
      ['a relative URI', { ...base, redirect_uris: ['/oauth/callback'] }, 'invalid_redirect_uri', '/oauth/callback is invalid'],
      ['a javascript: URI', { ...base, redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri', 'javascript:alert(1) is invalid'],
      ['the instance itself', { ...base, redirect_uris: [`https://${host}/x`] }, 'invalid_redirect_uri', `https://${host}/x is invalid`],
      ['a string for the list', { ...base, redirect_uris: CALLBACK }, 'invalid_redirect_uri', 'redirect_uris must be a list of strings'],
      ['no client_name', { redirect_uris: [CALLBACK], software_id: 'x' }, 'invalid_client_metadata', 'client_name is mandatory'],
      ['no software_id', { redirect_uris: [CALLBACK], client_name: 'x' }, 'invalid_client_metadata', 'software_id is mandatory'],
      ['a number for client_uri', { ...base, client_uri: 42 }, 'invalid_client_metadata', 'client_uri must be a string'],
      ['an unknown notification platform', { ...base, notification_platform: 'pigeon' }, 'invalid_client_metadata', 'notification_platform is invalid'],
      ['a link to the settings app', { ...base, software_id: 'registry://settings' }, 'unapproved_software_id', 'Link with store/settings is forbidden'],
      ['an array body', [base], 'invalid_client_metadata', 'The body must be a JSON object'],
    ];
    for (const [name, body, error, description] of cases) {
      const res = await h.inject({ method: 'POST', url: '/auth/register', host, headers: json, json: body });
      t.equal(res.statusCode, 400, name);
      t.same(res.json(), { error, error_description: description }, name);
    }
    const form = await h.inject({ method: 'POST', url: '/auth/register', host, headers: json, form: { foo: 'bar' } });
    t.equal(form.statusCode, 400);
    t.same(form.json(), { error: 'bad_content_type' });
    const html = await h.inject({ method: 'POST', url: '/auth/register', host, headers: { accept: 'text/html' }, json: base });
    t.same(html.json(), { error: 'bad_accept_header' });
  });

  t.test('registration answers 201 with the client, its secret and its registration token', async (t) => {
    const res = await h.inject({
      method: 'POST',
      url: '/auth/register',
      host,
      headers: json,
      json: {
        _id: 'ignored', _rev: 'ignored', client_id: 'ignored', client_secret: 'ignored', client_secret_expires_at: 42,
        registration_access_token: 'ignored', grant_types: ['ignored'], response_types: ['ignored'], flagship: true,
        redirect_uris: [CALLBACK, 'cozy://callback'], client_name: 'full-client', client_kind: 'mobile',
        client_uri: 'https://github.com/cozy/cozy-test', logo_uri: 'https://example.org/logo.png',
        policy_uri: 'https://example.org/policy', software_id: 'github.com/cozy/cozy-test', software_version: 'v0.1.2',
        notification_platform: 'Firebase', notification_device_token: 'device-token',
      },
    });
    t.equal(res.statusCode, 201);
    t.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    t.match(body.client_id, /^[0-9a-f]{32}$/);
    t.notOk('_id' in body || '_rev' in body || 'flagship' in body);
    t.match(body.client_secret, /^[A-Za-z0-9_-]{32}$/);
    t.match(body, {
      client_secret_expires_at: 0,
      pending: true,
      redirect_uris: [CALLBACK, 'cozy://callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'full-client',
      client_kind: 'mobile',
      client_uri: 'https://github.com/cozy/cozy-test',
      logo_uri: 'https://example.org/logo.png',
      policy_uri: 'https://example.org/policy',
      software_id: 'github.com/cozy/cozy-test',
      software_version: 'v0.1.2',
      notification_platform: 'firebase',
      notification_device_token: 'device-token',
      cozyMetadata: { doctypeVersion: '1', metadataVersion: 1 },
    });
    const claims = await verifyToken(inst, body.registration_access_token, ['registration']);
    t.equal(claims.sub, body.client_id);
    const stored = await h.tk.kernel.store.get(inst, 'io.cozy.oauth.clients', body.client_id);
    t.equal(stored.client_secret, body.client_secret);
    t.notOk('registration_access_token' in stored, 'the registration token is not stored');
  });

  t.test('registration keeps the notification categories a client declares, and refuses malformed ones', async (t) => {
    const notifications = { backup: { description: 'Backup done', collapsible: true }, 'sync.error': { stateful: true } };
    const body = await registerClient(h, host, { client_name: 'notifier', notifications });
    t.same(body.notifications, notifications);
    const stored = await h.tk.kernel.store.get(inst, 'io.cozy.oauth.clients', body.client_id);
    t.same(stored.notifications, notifications, 'stored on the client document, where POST /notifications reads it');
    for (const bad of [['a list'], { 'bad name!': {} }, { backup: 'not an object' }, 'text']) {
      const res = await h.inject({
        method: 'POST', url: '/auth/register', host, headers: json,
        json: { redirect_uris: [CALLBACK], client_name: 'bad', software_id: 'github.com/x/y', notifications: bad },
      });
      t.equal(res.statusCode, 400, JSON.stringify(bad));
      t.equal(res.json().error, 'invalid_client_metadata');
    }
  });

  t.test('a client name already in use gets a numeric suffix', async (t) => {
    const names = [];
    for (let i = 0; i < 3; i++) names.push((await registerClient(h, host, { client_name: 'twin' })).client_name);
    t.same(names, ['twin', 'twin-2', 'twin-3']);
  });

  t.test('the registration access token manages its own client only', async (t) => {
    const mine = await registerClient(h, host, { client_name: 'managed' });
    const other = await registerClient(h, host, { client_name: 'other' });
    const url = `/auth/register/${mine.client_id}`;
    const bearer = (token: string) => ({ ...json, authorization: `Bearer ${token}` });

    const none = await h.inject({ url, host, headers: json });
    t.equal(none.statusCode, 401);
    t.same(none.json(), { error: 'invalid_token' });
    t.notMatch(none.body, mine.client_secret);
    const others = await h.inject({ url, host, headers: bearer(other.registration_access_token) });
    t.equal(others.statusCode, 401, "another client's registration token is refused");
    t.notMatch(others.body, mine.client_secret);
    t.equal((await h.inject({ url, host, headers: bearer('garbage') })).statusCode, 401);
    const tokens = await grantTokens(h, host, cookie, mine, 'io.cozy.files:GET');
    t.equal((await h.inject({ url, host, headers: bearer(tokens.access_token) })).statusCode, 401, 'an access token is not a registration token');
    const unknown = await h.inject({ url: `/auth/register/${'0'.repeat(32)}`, host, headers: bearer(mine.registration_access_token) });
    t.equal(unknown.statusCode, 404);
    t.same(unknown.json(), { error: 'Client not found' });

    const read = await h.inject({ url, host, headers: bearer(mine.registration_access_token) });
    t.equal(read.statusCode, 200);
    t.match(read.json(), { client_id: mine.client_id, client_secret: mine.client_secret, client_name: 'managed' });
    t.notOk('registration_access_token' in read.json());
    t.notOk('pending' in read.json(), 'a client that got a code is no longer pending');

    const put = (body: Record<string, unknown>, token = mine.registration_access_token) =>
      h.inject({ method: 'PUT', url, host, headers: bearer(token), json: body });
    const meta = { redirect_uris: [CALLBACK], client_name: 'managed', software_id: 'github.com/cozy/cozy-test' };
    t.equal((await put({ ...meta, client_id: mine.client_id }, other.registration_access_token)).statusCode, 401);
    const wrongId = await put({ ...meta, client_id: '123456789' });
    t.equal(wrongId.statusCode, 400);
    t.same(wrongId.json(), { error: 'invalid_client_id', error_description: 'client_id is mandatory' });
    const noUris = await put({ client_id: mine.client_id, client_name: 'managed', software_id: 'x' });
    t.same(noUris.json(), { error: 'invalid_redirect_uri', error_description: 'redirect_uris is mandatory' });
    const renamed = await put({ ...meta, client_id: mine.client_id, client_name: 'other', software_version: 'v2' });
    t.equal(renamed.statusCode, 200);
    t.match(renamed.json(), { client_id: mine.client_id, client_secret: mine.client_secret, client_name: 'other-2', software_version: 'v2' });
    t.notOk('registration_access_token' in renamed.json());
    const wrongSecret = await put({ ...meta, client_id: mine.client_id, client_secret: 'not-the-secret' });
    t.same(wrongSecret.json(), { error: 'invalid_client_secret', error_description: 'client_secret is invalid' });
    const rotated = await put({ ...meta, client_id: mine.client_id, client_secret: mine.client_secret });
    t.equal(rotated.statusCode, 200);
    const newSecret = rotated.json().client_secret as string;
    t.not(newSecret, mine.client_secret, 'sending the current secret rotates it');
    const oldSecret = await refresh(h, host, mine, tokens.refresh_token as string);
    t.same(oldSecret.json(), { error: 'invalid client_secret' }, 'the old secret no longer authenticates the client');
    t.equal((await refresh(h, host, { ...mine, client_secret: newSecret }, tokens.refresh_token as string)).statusCode, 200);

    t.equal((await h.inject({ method: 'DELETE', url, host })).statusCode, 401);
    t.equal((await h.inject({ method: 'DELETE', url, host, headers: bearer(other.registration_access_token) })).statusCode, 401);
    t.equal((await h.inject({ method: 'DELETE', url, host, headers: bearer(mine.registration_access_token) })).statusCode, 204);
    t.equal((await h.inject({ method: 'DELETE', url, host, headers: bearer(mine.registration_access_token) })).statusCode, 204, 'deleting twice is fine');
    t.equal((await h.inject({ url, host, headers: bearer(mine.registration_access_token) })).statusCode, 404);
  });

  t.test('the client list is newest first and holds no secret', async (t) => {
    const service = new OAuthClientService(h.tk.kernel.store, h.tk.kernel.instances, h.tk.kernel.cluster.locks);
    const last = await registerClient(h, host, { client_name: 'latest' });
    const list = await service.list(inst);
    t.equal(list[0]._id, last.client_id);
    t.ok(list.length > 3);
    t.notOk(list.some((c) => 'client_secret' in c));
    const dates = list.map((c) => c.cozyMetadata?.createdAt ?? '');
    t.same(dates, [...dates].sort().reverse());
  });

  t.test('the authorization form checks its parameters as cozy-stack does', async (t) => {
    const client = await registerClient(h, host);
    const base = { client_id: client.client_id, scope: 'io.cozy.files:GET' };
    const refused = async (url: string, message: string, why: string) => {
      const res = await h.inject({ url, host, headers: { cookie } });
      t.equal(res.statusCode, 400, why);
      t.match(res.headers['content-type'], /text\/html/, why);
      t.match(res.body, message, why);
    };
    await refused(authorizeQuery(base).replace('state=123456&', ''), 'The state parameter is mandatory', 'no state');
    await refused(authorizeQuery({ ...base, client_id: '' }), 'The client_id parameter is mandatory', 'no client_id');
    await refused(authorizeQuery({ ...base, redirect_uri: '' }), 'The redirect_uri parameter is mandatory', 'no redirect_uri');
    await refused(authorizeQuery(base).replace('response_type=code', 'response_type=token'), 'Invalid response type', 'implicit grant');
    await refused(authorizeQuery({ ...base, client_id: 'foo' }), 'The client must be registered', 'unknown client');
    await refused(authorizeQuery({ ...base, redirect_uri: 'https://evil.com/' }), 'The redirect_uri parameter doesn&#39;t match the registered ones', 'foreign redirect');
    await refused(authorizeQuery({ ...base, redirect_uri: `${CALLBACK}?x=1` }), 'doesn&#39;t match', 'a redirect_uri matches exactly, query included');
    await refused(authorizeQuery({ ...base, scope: '' }), 'The scope parameter is mandatory', 'no scope');
    await refused(authorizeQuery({ ...base, scope: 'io.cozy.files:READ' }), 'Invalid scope', 'unparsable scope');
    await refused(authorizeQuery({ ...base, scope: '*' }), 'The code_challenge parameter must be given', 'maximal scope without PKCE');
    await refused(authorizeQuery({ ...base, scope: '*', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }), 'Invalid scope', 'maximal scope for a client that is not the flagship');
    await refused(authorizeQuery({ ...base, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'plain' }), 'Invalid challenge code method', 'PKCE plain');
    await refused(authorizeQuery({ ...base, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }), 'Invalid challenge code method', 'a challenge without method');
    await refused(authorizeQuery({ ...base, code_challenge_method: 'S256' }), 'The code_challenge parameter must be given', 'a method without challenge');
    await refused(authorizeQuery({ ...base, code_challenge: 'short', code_challenge_method: 'S256' }), 'The code_challenge parameter is invalid', 'a malformed challenge');
  });

  t.test('without a session the form redirects to the login page, back to itself', async (t) => {
    const client = await registerClient(h, host);
    const url = authorizeQuery({ client_id: client.client_id, scope: 'io.cozy.files:GET' });
    const res = await h.inject({ url, host });
    t.equal(res.statusCode, 303);
    const location = new URL(String(res.headers.location));
    t.equal(`${location.origin}${location.pathname}`, `http://${host}/auth/login`);
    t.equal(location.searchParams.get('redirect'), `http://${host}${url}`);
  });

  t.test('the consent page lists the permissions in words, escapes every value and locks itself down', async (t) => {
    const client = await registerClient(h, host, {
      client_name: 'Photos <b>app</b>',
      client_uri: 'javascript:alert(1)',
      logo_uri: 'https://cdn.example.net/logo.png',
      redirect_uris: [CALLBACK, 'cozy://callback'],
    });
    const scope = 'io.cozy.files:GET io.cozy.contacts io.cozy.jobs:POST:sendmail:worker io.cozy.photos.albums:GET,PUT:album1,album2 io.cozy.bank.*:GET';
    const state = '"><script>alert(1)</script>';
    const res = await h.inject({ url: authorizeQuery({ client_id: client.client_id, scope, state, redirect_uri: 'cozy://callback' }), host, headers: { cookie } });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /text\/html; charset=utf-8/);
    const page = res.body;
    t.match(page, '<strong>Files</strong> <code>io.cozy.files</code>: read</li>');
    t.match(page, '<strong>Contacts</strong> <code>io.cozy.contacts</code>: read, create, modify, delete</li>');
    t.match(page, '<strong>Sending a mail</strong> <code>io.cozy.jobs</code>: create</li>');
    t.match(page, '<strong>Photo albums</strong> <code>io.cozy.photos.albums</code>: read, modify (only the documents album1, album2)</li>');
    t.match(page, '<strong>io.cozy.bank, and related documents</strong> <code>io.cozy.bank.*</code>: read</li>');
    t.match(page, 'Photos &#60;b&#62;app&#60;/b&#62;');
    t.notMatch(page, '<script>');
    t.notMatch(page, 'javascript:', 'a script URL given as client_uri is not linked');
    t.match(page, 'value="deny"');
    t.match(page, 'value="allow"');
    const fields = consentFields(page);
    t.same(Object.keys(fields).sort(), ['client_id', 'code_challenge', 'code_challenge_method', 'csrf_token', 'redirect_uri', 'response_type', 'scope', 'state']);
    t.equal(fields.state, state);
    t.equal(fields.scope, scope);
    t.equal(
      res.headers['content-security-policy'],
      "default-src 'none'; style-src 'unsafe-inline'; img-src https://cdn.example.net; form-action 'self' cozy:; frame-ancestors 'none'; base-uri 'none'",
    );
    const web = await h.inject({ url: authorizeQuery({ client_id: client.client_id, scope: 'io.cozy.files' }), host, headers: { cookie } });
    t.match(web.headers['content-security-policy'], "form-action 'self' https://example.org;");
    const error = await h.inject({ url: '/auth/authorize', host });
    t.equal(error.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  });

  t.test('posting the consent needs the session and its CSRF token', async (t) => {
    const client = await registerClient(h, host);
    const page = await h.inject({ url: authorizeQuery({ client_id: client.client_id, scope: 'io.cozy.files:GET' }), host, headers: { cookie } });
    const fields = consentFields(page.body);
    const post = (form: Record<string, string>, headers: Record<string, string> = { cookie }) =>
      h.inject({ method: 'POST', url: '/auth/authorize', host, headers, form });

    t.equal((await post(fields, {})).statusCode, 403, 'no session');
    const forged = await post({ ...fields, csrf_token: 'azertyuiop' });
    t.equal(forged.statusCode, 403);
    t.match(forged.body, 'invalid csrf token');
    t.equal((await post({ ...fields, csrf_token: '' })).statusCode, 403, 'no token');
    const otherCookie = await loginCookie(h, inst);
    t.equal((await post(fields, { cookie: otherCookie })).statusCode, 403, "another session's token");
    const noState = await post({ ...fields, state: '' });
    t.equal(noState.statusCode, 400);
    t.match(noState.body, 'The state parameter is mandatory');
    t.equal((await post({ ...fields, redirect_uri: 'https://evil.com/' })).statusCode, 400);
    t.equal((await post({ ...fields, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'plain' })).statusCode, 400);

    const denied = await post({ ...fields, action: 'deny' });
    t.equal(denied.statusCode, 302);
    t.equal(denied.headers.location, `${CALLBACK}?error=access_denied&state=123456#`);

    const allowed = await post(fields);
    t.equal(allowed.statusCode, 302);
    const code = new URL(String(allowed.headers.location)).searchParams.get('code') as string;
    t.match(code, /^[A-Za-z0-9_-]{32}$/);
    t.equal(allowed.headers.location, `${CALLBACK}?access_code=${code}&code=${code}&state=123456#`);

    const deeplink = await post(fields, { cookie, accept: 'application/json' });
    t.equal(deeplink.statusCode, 200);
    t.match(deeplink.json().deeplink, /^https:\/\/example\.org\/oauth\/callback\?access_code=.+&code=.+&state=123456#$/);
  });

  t.test('a code becomes tokens that authenticate, refresh, and die with their client', async (t) => {
    const client = await registerClient(h, host);
    const code = await obtainCode(h, host, cookie, { client_id: client.client_id, scope: 'io.cozy.files:GET' });
    const res = await exchangeCode(h, host, client, code);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['cache-control'], 'no-store');
    const tokens = res.json() as Tokens;
    t.same(Object.keys(tokens), ['token_type', 'scope', 'access_token', 'refresh_token']);
    t.match(tokens, { token_type: 'bearer', scope: 'io.cozy.files:GET' });
    t.match(await verifyToken(inst, tokens.access_token, ['access']), { sub: client.client_id, scope: 'io.cozy.files:GET' });
    t.match(await verifyToken(inst, tokens.refresh_token as string, ['refresh']), { sub: client.client_id, scope: 'io.cozy.files:GET' });

    const me = await whoami(h, host, tokens.access_token);
    t.equal(me.statusCode, 200);
    t.same(me.json(), { kind: 'oauth', subject: client.client_id, scope: 'io.cozy.files:GET', files: true, writeFiles: false, contacts: false });

    const refreshed = await refresh(h, host, client, tokens.refresh_token as string);
    t.equal(refreshed.statusCode, 200);
    const again = refreshed.json() as Tokens;
    t.match(again, { token_type: 'bearer', scope: 'io.cozy.files:GET' });
    t.notOk('refresh_token' in again, 'a refresh gives no new refresh token');
    t.equal((await whoami(h, host, again.access_token)).statusCode, 200);
    const stored = await h.tk.kernel.store.get(inst, 'io.cozy.oauth.clients', client.client_id);
    t.match(stored.last_refreshed_at, /^\d{4}-/);

    const deleted = await h.inject({
      method: 'DELETE',
      url: `/auth/register/${client.client_id}`,
      host,
      headers: { authorization: `Bearer ${client.registration_access_token}` },
    });
    t.equal(deleted.statusCode, 204);
    for (const token of [tokens.access_token, again.access_token]) {
      const revoked = await whoami(h, host, token);
      t.equal(revoked.statusCode, 400);
      t.equal(revoked.json().errors[0].detail, 'Invalid JWT token');
      t.match(revoked.headers['www-authenticate'], /invalid_token/);
    }
    const dead = await refresh(h, host, client, tokens.refresh_token as string);
    t.equal(dead.statusCode, 400);
    t.same(dead.json(), { error: 'the client must be registered' });
  });

  t.test('the token endpoint refuses bad requests with cozy-stack texts', async (t) => {
    const client = await registerClient(h, host);
    const code = await obtainCode(h, host, cookie, { client_id: client.client_id, scope: 'io.cozy.files:GET' });
    const base = { grant_type: 'authorization_code', client_id: client.client_id, client_secret: client.client_secret, code };
    const cases: Array<[Record<string, string>, string]> = [
      [{ ...base, grant_type: '' }, 'the grant_type parameter is mandatory'],
      [{ ...base, client_id: '' }, 'the client_id parameter is mandatory'],
      [{ ...base, client_secret: '' }, 'the client_secret parameter is mandatory'],
      [{ ...base, client_id: 'foo' }, 'the client must be registered'],
      [{ ...base, client_id: '_design/x' }, 'the client must be registered'],
      [{ ...base, client_secret: 'foo' }, 'invalid client_secret'],
      [{ ...base, grant_type: 'token' }, 'invalid grant type'],
      [{ ...base, code: '' }, 'the code parameter is mandatory'],
      [{ ...base, code: 'foo' }, 'invalid code'],
      [{ ...base, grant_type: 'refresh_token' }, 'invalid refresh token'],
      [{ ...base, grant_type: 'refresh_token', refresh_token: 'foo' }, 'invalid refresh token'],
    ];
    for (const [form, error] of cases) {
      const res = await h.inject({ method: 'POST', url: '/auth/access_token', host, form });
      t.equal(res.statusCode, 400, error);
      t.same(res.json(), { error }, error);
    }
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ aud: 'refresh', iss: host, iat: Math.floor(Date.now() / 1000), sub: client.client_id, scope: 'io.cozy.files' }),
    ).toString('base64url')}.`;
    const none = await refresh(h, host, client, unsigned);
    t.same(none.json(), { error: 'invalid refresh token' }, 'alg none is refused');

    const huge = await h.inject({ method: 'POST', url: '/auth/access_token', host, form: { ...base, pad: 'x'.repeat(1_100_000) } });
    t.equal(huge.statusCode, 413, 'the body limit applies to forms');
    t.same(huge.json(), { error: 'Request body is too large' });
    const repeated = await h.tk.kernel.app.inject({
      method: 'POST',
      url: '/auth/access_token',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=token&${new URLSearchParams(base).toString()}&__proto__=x&constructor=y`,
    });
    t.same(repeated.json(), { error: 'invalid grant type' }, 'a repeated field keeps its first value, as Go does');

    const viaJson = await h.inject({ method: 'POST', url: '/auth/access_token', host, json: base });
    t.equal(viaJson.statusCode, 200, 'a JSON body works too, and the code is still valid after refused attempts');
  });
});
