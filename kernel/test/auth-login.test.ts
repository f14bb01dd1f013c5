import { webcrypto } from 'node:crypto';
import t from 'tap';
import { clientPassphraseHash } from '../src/auth/passphrase.ts';
import { signValue } from '../src/auth/signed-value.ts';
import { LOGINS_DOCTYPE, SESSIONS_DOCTYPE } from '../src/auth/sessions.ts';
import { LOGIN_SCRIPT } from '../src/http/auth/pages/login-script.ts';
import type { InstanceDoc } from '../src/instances/instance.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { cookieNamed, InjectBrowser } from './helpers/inject-browser.ts';

const ALICE = 'alice.example:8080';
const PASSWORD = 'correct horse battery staple';

t.test('browser login', async (t) => {
  const tk = await startTestKernel({ config: { http: { bodyLimit: 4096 } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance(ALICE, { passphrase: PASSWORD, publicName: 'Alice <Liddell>' });
  const fresh = await tk.createInstance('fresh.example');
  const app = tk.kernel.app;
  const hash = await clientPassphraseHash(PASSWORD, ALICE, inst.kdf_iterations);
  const browser = () => new InjectBrowser(app, ALICE);
  const docs = async (i: InstanceDoc, doctype: string) =>
    (await tk.kernel.store.allDocs(i, doctype, { include_docs: true })).rows.map((r) => r.doc as Record<string, unknown>);

  t.test('the login page has the form, a CSRF cookie and a strict CSP', async (t) => {
    const res = await browser().get('/auth/login');
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/html/);
    t.equal(
      res.headers['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    t.match(res.body, 'Alice &#60;Liddell&#62;', 'the public name is escaped');
    t.notMatch(res.body, '<Liddell>');
    t.match(res.body, 'Log in');
    t.match(res.body, 'data-salt="me@alice.example" data-iterations="1000"');
    t.match(res.body, '<script src="/auth/assets/login.js"></script>');
    t.match(res.body, /name="long-run-session"[^>]* checked/);
    t.notMatch(res.body, /<input id="password"[^>]* name=/, 'the typed password has no name, so it is never submitted');
    const csrf = cookieNamed(res, '_csrf');
    t.ok(csrf);
    t.match(res.body, `<input id="csrf_token" type="hidden" name="csrf_token" value="${csrf?.value}" />`);
    t.ok(csrf?.attributes.includes('HttpOnly'));
    t.ok(csrf?.attributes.includes('SameSite=Strict'));
    t.notOk(csrf?.attributes.includes('Secure'), 'no Secure over plain HTTP');
  });

  t.test('an instance not yet onboarded shows the activation page instead', async (t) => {
    const b = new InjectBrowser(app, 'fresh.example');
    const page = await b.get('/auth/login');
    t.equal(page.statusCode, 200);
    t.match(page.body, 'You need to activate your Cozy');
    const csrf = signValue(fresh.session_secret, '_csrf', 'test');
    b.jar.set('_csrf', csrf);
    const json = await b.post('/auth/login', { passphrase: 'x', csrf_token: csrf }, { headers: { accept: 'application/json' } });
    t.equal(json.statusCode, 412);
    t.same(json.json(), { error: 'the instance has not been onboarded' });
    const form = await b.post('/auth/login', { passphrase: 'x', csrf_token: csrf });
    t.match(form.body, 'You need to activate your Cozy');
    t.notOk(cookieNamed(form, 'cozysessid'));
  });

  t.test('a login without a CSRF token is a 400', async (t) => {
    const res = await browser().post('/auth/login', { passphrase: hash });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].code, 'COZY_ERR_CSRF_MISSING');
  });

  t.test('a CSRF token that does not match the cookie is refused (403, as cozy-stack)', async (t) => {
    const b = browser();
    await b.csrf();
    const res = await b.post('/auth/login', { passphrase: hash, csrf_token: 'forged' });
    t.equal(res.statusCode, 403);
    t.equal(res.json().errors[0].code, 'COZY_ERR_CSRF_INVALID');
    const noCookie = await browser().post('/auth/login', { passphrase: hash, csrf_token: await b.csrf() });
    t.equal(noCookie.statusCode, 403, 'a token without its cookie');
    const planted = browser();
    planted.jar.set('_csrf', 'chosen-by-attacker');
    const res2 = await planted.post('/auth/login', { passphrase: hash, csrf_token: 'chosen-by-attacker' });
    t.equal(res2.statusCode, 403, 'a cookie planted by a sibling host is not signed by the instance');
    const valid = await browser().csrf();
    const tampered = valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A');
    const forger = browser();
    forger.jar.set('_csrf', tampered);
    t.equal((await forger.post('/auth/login', { passphrase: hash, csrf_token: tampered })).statusCode, 403, 'a tampered token');
    const elsewhere = browser();
    elsewhere.jar.set('_csrf', signValue(fresh.session_secret, '_csrf', 'test'));
    t.equal((await elsewhere.login(hash)).statusCode, 403, "another instance's token");
  });

  t.test('a wrong passphrase is a 401 that shows the form again with the error', async (t) => {
    const b = browser();
    const res = await b.login('d3Jvbmc=', { redirect: `http://drive.${ALICE}/#/folder` });
    t.equal(res.statusCode, 401);
    t.match(res.body, 'The password you entered is incorrect, please try again.');
    t.match(res.body, `value="http://drive.${ALICE}/#/folder"`, 'the redirect is kept');
    t.notOk(cookieNamed(res, 'cozysessid'));
    const json = await b.login('d3Jvbmc=', {}, { headers: { accept: 'application/json' } });
    t.equal(json.statusCode, 401);
    t.same(json.json(), { error: 'The password you entered is incorrect, please try again.' });
  });

  t.test('the right passphrase opens a session: 303, an HttpOnly Lax cookie and a login history entry', async (t) => {
    const before = (await docs(inst, LOGINS_DOCTYPE)).length;
    const b = new InjectBrowser(app, ALICE, '203.0.113.7');
    const res = await b.login(hash, {}, { headers: { 'user-agent': 'Mozilla/5.0 (Test)' } });
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, `http://${ALICE}/#=`, 'the default redirect is the landing page');
    const cookie = cookieNamed(res, 'cozysessid');
    t.ok(cookie?.value);
    t.ok(cookie?.attributes.includes('HttpOnly'));
    t.ok(cookie?.attributes.includes('SameSite=Lax'));
    t.ok(cookie?.attributes.includes('Path=/'));
    t.notOk(cookie?.attributes.includes('Secure'));
    t.notOk(cookie?.attributes.some((a) => a.startsWith('Max-Age')), 'without "remember me" the cookie ends with the browser');
    const logins = await docs(inst, LOGINS_DOCTYPE);
    t.equal(logins.length, before + 1);
    t.ok(logins.some((l) => l.ip === '203.0.113.7' && l.user_agent === 'Mozilla/5.0 (Test)' && typeof l.created_at === 'string'));
    const home = await b.get('/');
    t.equal(home.statusCode, 200);
    t.match(home.body, 'You are logged in.');
    t.match(home.body, '203.0.113.7');
    t.match(home.body, 'Mozilla/5.0 (Test)');
    t.match(home.body, 'this browser');
  });

  t.test('"remember me" makes a long-lived cookie', async (t) => {
    const res = await browser().login(hash, { 'long-run-session': '1' });
    t.equal(res.statusCode, 303);
    t.ok(cookieNamed(res, 'cozysessid')?.attributes.includes(`Max-Age=${10 * 365 * 24 * 3600}`));
  });

  t.test('a script asking for JSON gets {redirect}', async (t) => {
    const res = await browser().login(hash, { redirect: `http://drive.${ALICE}/#/recent` }, { headers: { accept: 'application/json' } });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { redirect: `http://drive.${ALICE}/#/recent` });
    t.ok(cookieNamed(res, 'cozysessid'));
  });

  t.test('the login page and form refuse redirects off the instance', async (t) => {
    const evil = [
      'https://evil.com',
      'http://evil.com/',
      '//evil.com',
      `http://alice.example.evil.com/`,
      `http://${ALICE}.evil.com/`,
      'javascript:alert(1)',
      `ftp://drive.${ALICE}/`,
      `https://${ALICE}/`,
      `http://a.b.${ALICE}/`,
      'foo.bar',
      ' ',
    ];
    for (const redirect of evil) {
      const page = await browser().get(`/auth/login?redirect=${encodeURIComponent(redirect)}`);
      t.equal(page.statusCode, 400, `GET ${redirect}`);
      t.match(page.json().errors[0].detail, /^bad url/);
      const post = await browser().login(hash, { redirect });
      t.equal(post.statusCode, 400, `POST ${redirect}`);
      t.notOk(cookieNamed(post, 'cozysessid'), 'and no session is opened');
    }
  });

  t.test('a redirect to the instance itself loses its fragment; one to an app keeps it', async (t) => {
    const main = await browser().get(`/auth/login?redirect=${encodeURIComponent(`http://${ALICE}/auth/authorize#myfragment`)}`);
    t.equal(main.statusCode, 200);
    t.notMatch(main.body, 'myfragment');
    t.match(main.body, `<input id="redirect" type="hidden" name="redirect" value="http://${ALICE}/auth/authorize#=" />`);
    const app1 = await browser().get(`/auth/login?redirect=${encodeURIComponent(`http://drive.${ALICE}/foo/bar?query=foo#myfragment`)}`);
    t.match(app1.body, `<input id="redirect" type="hidden" name="redirect" value="http://drive.${ALICE}/foo/bar?query=foo#myfragment" />`);
    const posted = await browser().login(hash, { redirect: `http://drive.${ALICE}/#myfragment` });
    t.equal(posted.statusCode, 303);
    t.equal(posted.headers.location, `http://drive.${ALICE}/#myfragment`);
    const postedMain = await browser().login(hash, { redirect: `http://${ALICE}/auth/authorize?client_id=x#code=stolen` });
    t.equal(postedMain.headers.location, `http://${ALICE}/auth/authorize?client_id=x#=`);
  });

  t.test('a script-laden redirect is rendered escaped', async (t) => {
    const res = await browser().get(`/auth/login?redirect=${encodeURIComponent(`http://drive.${ALICE}/<script>alert('foo')</script>"><b>`)}`);
    t.equal(res.statusCode, 200);
    t.notMatch(res.body, '<script>');
    t.notMatch(res.body, '"><b>');
    t.match(res.body, '%3Cscript%3Ealert(&#39;foo&#39;)%3C/script%3E');
  });

  t.test('a browser already logged in is sent on without typing the passphrase', async (t) => {
    const b = browser();
    await b.login(hash);
    const page = await b.get(`/auth/login?redirect=${encodeURIComponent(`http://drive.${ALICE}/#x`)}`);
    t.equal(page.statusCode, 303);
    t.equal(page.headers.location, `http://drive.${ALICE}/#x`);
    const again = await b.post('/auth/login', { csrf_token: await b.csrf() });
    t.equal(again.statusCode, 303);
    t.notOk(cookieNamed(again, 'cozysessid'), 'no second session');
  });

  t.test('the landing page sends strangers to the login page and new owners to onboarding', async (t) => {
    const res = await browser().get('/');
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, `http://${ALICE}/auth/login`);
    const onboarding = await new InjectBrowser(app, 'fresh.example').get(`/?registerToken=${fresh.register_token}`);
    t.equal(onboarding.statusCode, 303);
    t.equal(onboarding.headers.location, `http://fresh.example/auth/passphrase?registerToken=${fresh.register_token}`);
    const wrong = await new InjectBrowser(app, 'fresh.example').get('/?registerToken=00112233');
    t.equal(wrong.statusCode, 200);
    t.match(wrong.body, 'You need to activate your Cozy');
  });

  t.test('DELETE /auth/login logs out: 204, the cookie cleared and the session gone', async (t) => {
    t.equal((await browser().request('DELETE', '/auth/login')).statusCode, 401, 'without a session');
    const b = browser();
    await b.login(hash);
    const stolen = b.jar.get('cozysessid') as string;
    const res = await b.request('DELETE', '/auth/login');
    t.equal(res.statusCode, 204);
    const cleared = cookieNamed(res, 'cozysessid');
    t.equal(cleared?.value, '');
    t.ok(cleared?.attributes.includes('Max-Age=0'));
    const replay = browser();
    replay.jar.set('cozysessid', stolen);
    t.equal((await replay.get('/')).statusCode, 303, 'the old cookie no longer opens anything');
  });

  t.test('the landing page lists sessions and its forms log out the others, then this one', async (t) => {
    const me = browser();
    const other = browser();
    await me.login(hash);
    await other.login(hash);
    const home = await me.get('/');
    t.match(home.body, /Log out other sessions \(\d+\)/);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(home.body)?.[1] as string;
    t.equal((await me.post('/auth/login/others', {})).statusCode, 400, 'the forms need the CSRF token');
    const others = await me.post('/auth/login/others', { csrf_token: csrf });
    t.equal(others.statusCode, 303);
    t.equal(others.headers.location, `http://${ALICE}/`);
    t.equal((await other.get('/')).statusCode, 303, 'the other browser is logged out');
    const after = await me.get('/');
    t.equal(after.statusCode, 200);
    t.match(after.body, 'Log out other sessions (0)');
    t.equal((await docs(inst, SESSIONS_DOCTYPE)).length, 1);
    const out = await me.post('/auth/logout', { csrf_token: csrf });
    t.equal(out.statusCode, 303);
    t.equal(out.headers.location, `http://${ALICE}/auth/login`);
    t.equal((await me.get('/')).statusCode, 303);
  });

  t.test('DELETE /auth/login/others keeps the caller and is idempotent', async (t) => {
    t.equal((await browser().request('DELETE', '/auth/login/others')).statusCode, 401);
    const me = browser();
    const other = browser();
    await me.login(hash);
    await other.login(hash);
    t.equal((await me.request('DELETE', '/auth/login/others')).statusCode, 204);
    t.equal((await me.request('DELETE', '/auth/login/others')).statusCode, 204);
    t.equal((await me.get('/')).statusCode, 200);
    t.equal((await other.get('/')).statusCode, 303);
  });

  t.test('/public/prelogin tells a client how to hash, and 412 before onboarding', async (t) => {
    const res = await browser().get('/public/prelogin');
    t.equal(res.statusCode, 200);
    t.same(res.json(), { Kdf: 0, KdfIterations: 1000, OIDC: false, FranceConnect: false, magic_link: false, locale: 'en', name: 'Alice <Liddell>' });
    const early = await new InjectBrowser(app, 'fresh.example').get('/public/prelogin');
    t.equal(early.statusCode, 412);
    t.same(early.json(), { error: 'the instance has not been onboarded' });
  });

  t.test('the page script is served as JavaScript for any host, with an ETag', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/auth/assets/login.js', headers: { host: 'unknown.example' } });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/javascript/);
    t.equal(res.body, LOGIN_SCRIPT);
    const etag = String(res.headers.etag);
    const again = await app.inject({ method: 'GET', url: '/auth/assets/login.js', headers: { host: ALICE, 'if-none-match': etag } });
    t.equal(again.statusCode, 304);
  });

  t.test('form bodies: the first of repeated fields wins and the body limit holds', async (t) => {
    const b = browser();
    const csrf = await b.csrf();
    const body = `csrf_token=${encodeURIComponent(csrf)}&passphrase=${encodeURIComponent(hash)}&passphrase=wrong&__proto__=x`;
    const res = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { host: ALICE, cookie: `_csrf=${encodeURIComponent(csrf)}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    });
    t.equal(res.statusCode, 303);
    const big = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { host: ALICE, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `passphrase=${'x'.repeat(5000)}`,
    });
    t.equal(big.statusCode, 413);
  });
});

t.test('behind a trusted TLS proxy the cookies are Secure and redirects use https', async (t) => {
  const tk = await startTestKernel({ config: { http: { trustProxy: true } } });
  t.teardown(() => tk.close());
  const inst = await tk.createInstance('bob.example', { passphrase: PASSWORD });
  const hash = await clientPassphraseHash(PASSWORD, 'bob.example', inst.kdf_iterations);
  const b = new InjectBrowser(tk.kernel.app, 'bob.example');
  const tls = { headers: { 'x-forwarded-proto': 'https' } };
  const page = await b.get('/auth/login', tls);
  t.ok(cookieNamed(page, '_csrf')?.attributes.includes('Secure'));
  t.equal((await b.login(hash, { redirect: 'http://bob.example/' }, tls)).statusCode, 400, 'no downgrade to plain HTTP');
  const res = await b.login(hash, {}, tls);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, 'https://bob.example/#=');
  t.ok(cookieNamed(res, 'cozysessid')?.attributes.includes('Secure'));
  const plain = await new InjectBrowser(tk.kernel.app, 'bob.example').login(hash);
  t.notOk(cookieNamed(plain, 'cozysessid')?.attributes.includes('Secure'), 'a plain-HTTP request gets no Secure flag');
});

t.test('the page script hashes the password exactly as clientPassphraseHash', async (t) => {
  const window: Record<string, unknown> = { crypto: webcrypto, btoa, isSecureContext: true };
  const document = { getElementById: () => null };
  new Function('window', 'document', LOGIN_SCRIPT)(window, document);
  const hashInBrowser = window.cozyPassphraseHash as (p: string, salt: string, n: number) => Promise<string>;
  const cases: Array<[string, string, number]> = [
    ['correct horse battery staple', 'alice.example:8080', 1000],
    ['pâté & ünïcödé 🔑', 'bücher.example', 2000],
    ['', 'localhost:8080', 1],
    ['x'.repeat(200), 'cozy.example.net', 5000],
  ];
  for (const [password, domain, iterations] of cases) {
    const salt = `me@${domain.replace(/:\d+$/, '')}`;
    t.equal(await hashInBrowser(password, salt, iterations), await clientPassphraseHash(password, domain, iterations), `${domain} ${iterations}`);
  }
});
