import t, { type Test } from 'tap';
import { startTestKernel } from '@cozy-ts/kernel/testing';

async function setup(t: Test) {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-settings': {} } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance('alice.example', { email: 'alice@example.org', publicName: 'Alice', locale: 'fr' });
  const token = (scope: string) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope });
  const call = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, scope: string | null, payload?: unknown) =>
    tk.kernel.app.inject({
      method,
      url,
      headers: { host: 'alice.example', ...(scope === null ? {} : { authorization: `Bearer ${await token(scope)}` }) },
      payload: payload as never,
    });
  return { tk, inst, call };
}

t.test('GET /settings/instance answers any valid token with the settings and derived fields', async (t) => {
  const { call } = await setup(t);
  const res = await call('GET', '/settings/instance', 'io.cozy.files:GET');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/vnd\.api\+json/);
  const data = res.json().data;
  t.equal(data.type, 'io.cozy.settings');
  t.equal(data.id, 'io.cozy.settings.instance');
  t.match(data.attributes, { email: 'alice@example.org', public_name: 'Alice', locale: 'fr', onboarding_finished: false, password_defined: false });
  t.match(data.meta.rev, /^\d+-/);
  t.equal(data.links.self, '/settings/instance');
});

t.test('GET /settings/instance without a token is 401, with a bad one 400', async (t) => {
  const { tk, call } = await setup(t);
  t.equal((await call('GET', '/settings/instance', null)).statusCode, 401);
  const bad = await tk.kernel.app.inject({ url: '/settings/instance', headers: { host: 'alice.example', authorization: 'Bearer nope.nope.nope' } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors[0].detail, 'Invalid JWT token');
  t.match(bad.headers['www-authenticate'], /invalid_token/);
});

t.test('PUT /settings/instance updates with the current rev, 409 on a stale one, 403 without permission', async (t) => {
  const { tk, inst, call } = await setup(t);
  const first = (await call('GET', '/settings/instance', 'io.cozy.settings')).json().data;
  const body = (rev: string, attrs: Record<string, unknown>) => ({ data: { type: 'io.cozy.settings', id: 'io.cozy.settings.instance', attributes: attrs, meta: { rev } } });
  const forbidden = await call('PUT', '/settings/instance', 'io.cozy.files', body(first.meta.rev, { ...first.attributes, locale: 'en' }));
  t.equal(forbidden.statusCode, 403);

  // An OAuth client (not the CLI) cannot change the e-mail through a plain PUT.
  await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'client1', client_name: 'Test' });
  const oauth = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client1', scope: 'io.cozy.settings' });
  const ok = await tk.kernel.app.inject({
    method: 'PUT', url: '/settings/instance', headers: { host: 'alice.example', authorization: `Bearer ${oauth}` },
    payload: body(first.meta.rev, { ...first.attributes, locale: 'en', tz: 'Europe/Paris', email: 'evil@example.com' }),
  });
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().data.attributes.locale, 'en');
  t.equal(ok.json().data.attributes.email, 'alice@example.org', 'the e-mail is not changed through a plain PUT');
  t.equal((await tk.kernel.instances.get('alice.example')).locale, 'en', 'the instance follows');

  const stale = await call('PUT', '/settings/instance', 'io.cozy.settings', body(first.meta.rev, { locale: 'de' }));
  t.equal(stale.statusCode, 409);

  const byCli = await call('PUT', '/settings/instance', 'io.cozy.settings', body(ok.json().data.meta.rev, { email: 'new@example.org' }));
  t.equal(byCli.json().data.attributes.email, 'new@example.org', 'the CLI may change the e-mail');

  const missing = await call('PUT', '/settings/instance', 'io.cozy.settings', { nope: true });
  t.equal(missing.statusCode, 400);

  // As a JSON:API document, the way cozy-stack's documentation sends it.
  const asJsonApi = await tk.kernel.app.inject({
    method: 'PUT', url: '/settings/instance',
    headers: { host: 'alice.example', authorization: `Bearer ${await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope: 'io.cozy.settings' })}`, 'content-type': 'application/vnd.api+json' },
    payload: JSON.stringify(body(byCli.json().data.meta.rev, { ...byCli.json().data.attributes, tz: 'Europe/Berlin' })),
  });
  t.equal(asJsonApi.statusCode, 200, 'application/vnd.api+json is read');
  t.equal(asJsonApi.json().data.attributes.tz, 'Europe/Berlin');
});

t.test('GET /settings/capabilities', async (t) => {
  const { call } = await setup(t);
  const res = await call('GET', '/settings/capabilities', 'io.cozy.files');
  t.equal(res.statusCode, 200);
  t.match(res.json().data.attributes, { can_auth_with_password: true, flat_subdomains: false });
});

t.test('device passwords are shown once, scoped, listed without secrets, and revocable', async (t) => {
  const { tk, inst, call } = await setup(t);
  const created = await call('POST', '/settings/device-passwords', 'io.cozy.auth.device_passwords', {
    data: { type: 'io.cozy.auth.device_passwords', attributes: { label: 'Thunderbird', scopes: ['calendars', 'contacts'] } },
  });
  t.equal(created.statusCode, 201);
  const { id, attributes } = created.json().data;
  t.match(attributes.password, /^[a-zA-Z2-9]{5}(-[a-zA-Z2-9]{5}){4}$/);

  const list = await call('GET', '/settings/device-passwords', 'io.cozy.auth.device_passwords');
  t.equal(list.json().data.length, 1);
  t.notOk(JSON.stringify(list.json()).includes(attributes.password), 'the clear password is never listed');

  const basic = (pw: string) => `Basic ${Buffer.from(`alice:${pw}`).toString('base64')}`;
  const asDevice = await tk.kernel.app.inject({ url: '/settings/instance', headers: { host: 'alice.example', authorization: basic(attributes.password) } });
  t.equal(asDevice.statusCode, 200, 'a device password authenticates through Basic');
  const devicePut = await tk.kernel.app.inject({
    method: 'PUT', url: '/settings/instance', headers: { host: 'alice.example', authorization: basic(attributes.password) },
    payload: { data: { attributes: { locale: 'de' } } },
  });
  t.equal(devicePut.statusCode, 403, 'a calendar/contacts password cannot change settings');
  t.ok((await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'x', scope: 'io.cozy.files' })).length > 0);

  const revoked = await call('DELETE', `/settings/device-passwords/${id}`, 'io.cozy.auth.device_passwords');
  t.equal(revoked.statusCode, 204);
  const again = await call('DELETE', `/settings/device-passwords/${id}`, 'io.cozy.auth.device_passwords');
  t.equal(again.statusCode, 404, 'a device password already revoked is a 404');
  t.match(again.json(), { errors: [{ status: '404', code: 'COZY_ERR_NOT_FOUND', detail: 'No such device password' }] }, 'with a JSON:API body, not an empty one');
  const after = await tk.kernel.app.inject({ url: '/settings/instance', headers: { host: 'alice.example', authorization: basic(attributes.password) } });
  t.equal(after.statusCode, 400, 'a revoked device password no longer works');

  const badScope = await call('POST', '/settings/device-passwords', 'io.cozy.auth.device_passwords', {
    data: { attributes: { label: 'x', scopes: ['everything'] } },
  });
  t.equal(badScope.statusCode, 422);
});

t.test('sessions are listed with a permission on io.cozy.sessions', async (t) => {
  const { tk, inst, call } = await setup(t);
  const sessions = tk.kernel.container.resolve<import('@cozy-ts/kernel').SessionService>(Symbol.for('cozy-ts.capability.sessions'));
  await sessions.create(inst, 'normal', { ip: '127.0.0.1', userAgent: 'test' });
  t.equal((await call('GET', '/settings/sessions', 'io.cozy.files')).statusCode, 403);
  const res = await call('GET', '/settings/sessions', 'io.cozy.sessions');
  t.equal(res.statusCode, 200);
  t.equal(res.json().data.length, 1);
  t.equal(res.json().data[0].type, 'io.cozy.sessions');
});

t.test('a token of instance A is refused on instance B', async (t) => {
  const { tk, inst } = await setup(t);
  await tk.createInstance('bob.example');
  const tokenA = await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'x', scope: 'io.cozy.settings' });
  const res = await tk.kernel.app.inject({ url: '/settings/instance', headers: { host: 'bob.example', authorization: `Bearer ${tokenA}` } });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errors[0].detail, 'Invalid JWT token');
});

t.test('GET /settings/hint is a JSON:API 404 without a hint, as cozy-stack, and 204 with one', async (t) => {
  const { call } = await setup(t);
  const none = await call('GET', '/settings/hint', 'io.cozy.settings');
  t.equal(none.statusCode, 404);
  t.match(none.headers['content-type'], /application\/vnd\.api\+json/);
  t.match(none.json(), { errors: [{ status: '404', detail: 'No hint' }] });
  t.equal((await call('PUT', '/settings/hint', 'io.cozy.settings', { hint: 'the usual' })).statusCode, 204);
  t.equal((await call('GET', '/settings/hint', 'io.cozy.settings')).statusCode, 204);
});
