import t, { type Test } from 'tap';
import { clientPassphraseHash, startTestKernel } from '@cozy-ts/kernel/testing';

const HOST = 'alice.example';

async function setup(t: Test) {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-settings': {} } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance(HOST);
  const hash = (pw: string) => clientPassphraseHash(pw, HOST, inst.kdf_iterations);
  const inject = tk.kernel.app.inject.bind(tk.kernel.app);
  return { tk, inst, hash, inject };
}

function sessionCookie(setCookie: string | string[] | undefined): string {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const c = list.find((x) => x.startsWith('cozysessid='));
  if (!c) throw new Error('no session cookie');
  return c.split(';')[0] as string;
}

t.test('GET /settings/passphrase gives the salt and iterations clients hash with', async (t) => {
  const { tk, inst, inject } = await setup(t);
  const token = await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'x', scope: 'io.cozy.files' });
  const res = await inject({ url: '/settings/passphrase', headers: { host: HOST, authorization: `Bearer ${token}` } });
  t.same(res.json(), { salt: 'me@alice.example', kdf: 0, iterations: inst.kdf_iterations });
});

t.test('onboarding through POST /settings/passphrase opens a session once; a second try is refused', async (t) => {
  const { tk, inst, hash, inject } = await setup(t);
  const body = { register_token: inst.register_token, passphrase: await hash('correct horse battery'), iterations: inst.kdf_iterations };
  const wrong = await inject({ method: 'POST', url: '/settings/passphrase', headers: { host: HOST }, payload: { ...body, register_token: '00'.repeat(16) } });
  t.equal(wrong.statusCode, 400);
  const res = await inject({ method: 'POST', url: '/settings/passphrase', headers: { host: HOST }, payload: body });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { redirect: 'http://alice.example/#=' }, 'cozy-stack empties the fragment of main-domain redirects');
  t.match(sessionCookie(res.headers['set-cookie']), /^cozysessid=.+/);
  const onboarded = await tk.kernel.instances.get(HOST);
  t.equal(onboarded.onboarding_finished, true);
  t.equal(onboarded.register_token, undefined);
  const again = await inject({ method: 'POST', url: '/settings/passphrase', headers: { host: HOST }, payload: body });
  t.equal(again.statusCode, 400, 'the register token is single use');

  const form = await inject({
    method: 'POST', url: '/settings/passphrase',
    headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ register_token: 'x', passphrase: 'y' }).toString(),
  });
  t.equal(form.statusCode, 400, 'forms are parsed too');
});

t.test('changing the passphrase needs the current one, kills other sessions and OAuth tokens, keeps the caller logged in', async (t) => {
  const { tk, inst, hash, inject } = await setup(t);
  const onboard = await inject({
    method: 'POST', url: '/settings/passphrase', headers: { host: HOST },
    payload: { register_token: inst.register_token, passphrase: await hash('first passphrase') },
  });
  const mine = sessionCookie(onboard.headers['set-cookie']);
  const sessions = tk.kernel.sessions;
  const fresh = await tk.kernel.instances.get(HOST);
  const other = await sessions.create(fresh, 'normal');
  await tk.kernel.store.put(fresh, 'io.cozy.oauth.clients', { _id: 'c1', client_name: 'c1' });
  const oauth = await tk.kernel.auth.issueToken(fresh, 'access', { subject: 'c1', scope: 'io.cozy.settings' });
  t.equal((await inject({ url: '/settings/instance', headers: { host: HOST, authorization: `Bearer ${oauth}` } })).statusCode, 200);

  const put = (current: string, next: string) =>
    inject({
      method: 'PUT', url: '/settings/passphrase', headers: { host: HOST, authorization: `Bearer ${oauth}`, cookie: mine },
      payload: { current_passphrase: current, new_passphrase: next },
    });
  const bad = await put(await hash('not it'), await hash('second passphrase'));
  t.equal(bad.statusCode, 400);
  const ok = await put(await hash('first passphrase'), await hash('second passphrase'));
  t.equal(ok.statusCode, 204);
  t.match(sessionCookie(ok.headers['set-cookie']), /^cozysessid=/, 'the caller gets a fresh session cookie');

  const left = await sessions.list(await tk.kernel.instances.get(HOST));
  t.notOk(left.some((s) => s._id === other._id), 'the other session is logged out');
  const after = await inject({ url: '/settings/instance', headers: { host: HOST, authorization: `Bearer ${oauth}` } });
  t.equal(after.statusCode, 400, 'the OAuth token minted before the change is refused');

  const check = (pw: string) =>
    tk.kernel.auth.issueToken(inst, 'cli', { subject: 'x', scope: 'io.cozy.settings' }).then((cli) =>
      inject({ method: 'POST', url: '/settings/passphrase/check', headers: { host: HOST, authorization: `Bearer ${cli}` }, payload: { passphrase: pw } }));
  t.equal((await check(await hash('second passphrase'))).statusCode, 204);
  t.equal((await check(await hash('first passphrase'))).statusCode, 403);
});

t.test('the owner CLI may force a new passphrase; an OAuth client may not', async (t) => {
  const { tk, inst, hash, inject } = await setup(t);
  const cli = await tk.kernel.auth.issueToken(inst, 'cli', { subject: 'x', scope: 'io.cozy.settings' });
  const forced = await inject({
    method: 'PUT', url: '/settings/passphrase', headers: { host: HOST, authorization: `Bearer ${cli}` },
    payload: { new_passphrase: await hash('forced one'), force: true },
  });
  t.equal(forced.statusCode, 204);
  await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'c2', client_name: 'c2' });
  const fresh = await tk.kernel.instances.get(HOST);
  const oauth = await tk.kernel.auth.issueToken(fresh, 'access', { subject: 'c2', scope: 'io.cozy.settings' });
  const notForced = await inject({
    method: 'PUT', url: '/settings/passphrase', headers: { host: HOST, authorization: `Bearer ${oauth}` },
    payload: { new_passphrase: await hash('other'), force: true },
  });
  t.equal(notForced.statusCode, 400, 'force is ignored for OAuth clients, so the missing current passphrase fails');
});
