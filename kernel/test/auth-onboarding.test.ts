import t from 'tap';
import { changePassphrase, checkPassphrase, registerPassphrase, type PassphraseDeps } from '../src/auth/onboarding.ts';
import { clientPassphraseHash, verifySecret } from '../src/auth/passphrase.ts';
import { LOGINS_DOCTYPE, type SessionService } from '../src/auth/sessions.ts';
import { SESSIONS } from '../src/capabilities/kernel-services.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { cookieNamed, InjectBrowser } from './helpers/inject-browser.ts';

const PASSWORD = 'a long enough passphrase';

t.test('onboarding and passphrase changes', async (t) => {
  const tk = await startTestKernel();
  t.teardown(() => tk.close());
  const app = tk.kernel.app;
  const deps: PassphraseDeps = {
    instances: tk.kernel.instances,
    auth: tk.kernel.auth,
    sessions: tk.kernel.container.resolve<SessionService>(SESSIONS.token),
  };
  const html = { headers: { accept: 'text/html,application/xhtml+xml' } };

  t.test('the onboarding page needs the register token and disappears once onboarded', async (t) => {
    const inst = await tk.createInstance('page.example:8080', { publicName: 'Page' });
    const b = new InjectBrowser(app, 'page.example:8080');
    const page = await b.get(`/auth/passphrase?registerToken=${inst.register_token}`);
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-security-policy'], "script-src 'self'");
    t.match(page.body, `<input id="register-token" type="hidden" name="register_token" value="${inst.register_token}" />`);
    t.match(page.body, 'action="/auth/onboarding/passphrase" data-salt="me@page.example" data-iterations="1000"');
    t.match(page.body, 'id="password-confirm"');
    t.match(page.body, 'name="hint"');
    for (const bad of ['', '?registerToken=coincoin', '?registerToken=00112233445566778899aabbccddeeff']) {
      const res = await b.get(`/auth/passphrase${bad}`);
      t.equal(res.statusCode, 200, bad);
      t.match(res.body, 'You need to activate your Cozy', bad);
    }
    const done = await tk.createInstance('done.example', { passphrase: PASSWORD });
    const res = await new InjectBrowser(app, 'done.example').get(`/auth/passphrase?registerToken=${String(done.register_token)}`);
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, 'http://done.example/#=');
  });

  t.test('a wrong, missing or malformed register token is a 400 and changes nothing', async (t) => {
    const inst = await tk.createInstance('wrong.example');
    const hash = await clientPassphraseHash(PASSWORD, inst.domain, inst.kdf_iterations);
    const b = new InjectBrowser(app, 'wrong.example');
    const cases: Array<[Record<string, string>, string]> = [
      [{ register_token: '00112233445566778899aabbccddeeff', passphrase: hash }, 'COZY_ERR_INVALID_REGISTER_TOKEN'],
      [{ register_token: 'not hex', passphrase: hash }, 'COZY_ERR_INVALID_REGISTER_TOKEN'],
      [{ passphrase: hash }, 'COZY_ERR_MISSING_REGISTER_TOKEN'],
      [{ register_token: String(inst.register_token), passphrase: '' }, 'COZY_ERR_MISSING_PASSPHRASE'],
    ];
    for (const [form, code] of cases) {
      const res = await b.post('/auth/onboarding/passphrase', form);
      t.equal(res.statusCode, 400, code);
      t.equal(res.json().errors[0].code, code);
      t.notOk(cookieNamed(res, 'cozysessid'));
    }
    const low = await b.post('/auth/onboarding/passphrase', { register_token: String(inst.register_token), passphrase: hash, iterations: '5000' });
    t.equal(low.statusCode, 422);
    t.equal(low.json().errors[0].detail, 'The KdfIterations number is too low');
    const high = await b.request('POST', '/auth/onboarding/passphrase', { json: { register_token: inst.register_token, passphrase: hash, iterations: 9_000_000 } });
    t.equal(high.statusCode, 422);
    const stored = await tk.kernel.instances.get('wrong.example');
    t.equal(stored.onboarding_finished, false);
    t.equal(stored.register_token, inst.register_token);
    t.equal(stored.passphrase_hash, undefined);
  });

  t.test('a browser form sets the passphrase, logs the owner in and lands on the home page', async (t) => {
    const inst = await tk.createInstance('new.example:8080');
    const hash = await clientPassphraseHash(PASSWORD, inst.domain, inst.kdf_iterations);
    const b = new InjectBrowser(app, 'new.example:8080', '198.51.100.4');
    const res = await b.post(
      '/auth/onboarding/passphrase',
      { register_token: String(inst.register_token), passphrase: hash, iterations: '1000', hint: 'the usual one' },
      html,
    );
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, 'http://new.example:8080/#=');
    const cookie = cookieNamed(res, 'cozysessid');
    t.ok(cookie?.attributes.includes('HttpOnly'));
    t.ok(cookie?.attributes.some((a) => a.startsWith('Max-Age=')), 'the first session is a long one, as cozy-stack');
    const stored = await tk.kernel.instances.get(inst.domain);
    t.equal(stored.onboarding_finished, true);
    t.equal(stored.register_token, undefined);
    t.equal(stored.passphrase_hint, 'the usual one');
    t.equal(stored.kdf_iterations, 1000);
    t.match(stored.security_stamp, /^[0-9a-f]{32}$/);
    t.ok(await verifySecret(hash, stored.passphrase_hash as string), 'scrypt of the client hash is stored');
    const logins = (await tk.kernel.store.allDocs(stored, LOGINS_DOCTYPE, { include_docs: true })).rows.map((r) => r.doc);
    t.ok(logins.some((l) => l?.ip === '198.51.100.4'));
    const home = await b.get('/');
    t.equal(home.statusCode, 200);
    t.match(home.body, 'You are logged in.');
    const login = await new InjectBrowser(app, 'new.example:8080').login(hash);
    t.equal(login.statusCode, 303, 'the passphrase then opens the login form');
    t.equal((await b.get('/public/prelogin')).statusCode, 200);
  });

  t.test('onboarding twice is refused, even two at once', async (t) => {
    const inst = await tk.createInstance('twice.example');
    const hash = await clientPassphraseHash(PASSWORD, inst.domain, inst.kdf_iterations);
    const other = await clientPassphraseHash('someone else entirely', inst.domain, inst.kdf_iterations);
    const b = new InjectBrowser(app, 'twice.example');
    const form = (passphrase: string) => ({ register_token: String(inst.register_token), passphrase });
    const [first, second] = await Promise.all([b.post('/auth/onboarding/passphrase', form(hash)), b.post('/auth/onboarding/passphrase', form(other))]);
    const statuses = [first.statusCode, second.statusCode];
    t.equal(statuses.filter((s) => s === 200).length, 1, 'exactly one registration wins');
    // The loser either lost the revision-checked write (409) or came after it (400: the token is gone).
    t.ok(statuses.some((s) => s === 409 || s === 400), String(statuses));
    const winner = first.statusCode === 200 ? hash : other;
    const later = await b.post('/auth/onboarding/passphrase', form(hash));
    t.equal(later.statusCode, 400);
    t.equal(later.json().errors[0].code, 'COZY_ERR_MISSING_REGISTER_TOKEN');
    const stored = await tk.kernel.instances.get(inst.domain);
    t.ok(await checkPassphrase(stored, winner), 'the first registration holds');
  });

  t.test('a script gets 200 {redirect} and the cookie', async (t) => {
    const inst = await tk.createInstance('script.example');
    const hash = await clientPassphraseHash(PASSWORD, inst.domain, inst.kdf_iterations);
    const res = await new InjectBrowser(app, 'script.example').request('POST', '/auth/onboarding/passphrase', {
      json: { register_token: inst.register_token, passphrase: hash, iterations: 1000 },
      headers: { accept: 'application/json' },
    });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { redirect: 'http://script.example/#=' });
    t.ok(cookieNamed(res, 'cozysessid'));
  });

  t.test('registerPassphrase accepts any iteration count in cozy-stack range', async (t) => {
    const inst = await tk.createInstance('iter.example');
    const hash = await clientPassphraseHash(PASSWORD, inst.domain, 50_000);
    const saved = await registerPassphrase(deps, inst, inst.register_token, { passphrase: hash, iterations: 50_000 });
    t.equal(saved.kdf_iterations, 50_000);
    t.equal((await tk.kernel.instances.get(inst.domain)).kdf_iterations, 50_000);
    await t.rejects(registerPassphrase(deps, saved, 'abc', { passphrase: hash }), { status: 400, code: 'COZY_ERR_MISSING_REGISTER_TOKEN' });
  });

  t.test('changing the passphrase keeps the current session and logs out the others', async (t) => {
    const inst = await tk.createInstance('change.example', { passphrase: PASSWORD });
    const oldHash = await clientPassphraseHash(PASSWORD, inst.domain, inst.kdf_iterations);
    const newHash = await clientPassphraseHash('a brand new passphrase', inst.domain, inst.kdf_iterations);
    const me = new InjectBrowser(app, 'change.example');
    const laptop = new InjectBrowser(app, 'change.example');
    const phone = new InjectBrowser(app, 'change.example');
    for (const b of [me, laptop, phone]) t.equal((await b.login(oldHash)).statusCode, 303);
    const mine = await deps.sessions.fromCookie(inst, me.jar.get('cozysessid'));

    await t.rejects(changePassphrase(deps, inst, newHash, { passphrase: newHash }, mine?._id ?? null), {
      status: 400,
      code: 'COZY_ERR_INVALID_PASSPHRASE',
    });
    t.equal((await laptop.get('/')).statusCode, 200, 'a wrong current passphrase changes nothing');

    const saved = await changePassphrase(deps, inst, oldHash, { passphrase: newHash, hint: 'new hint' }, mine?._id ?? null);
    t.not(saved.security_stamp, inst.security_stamp);
    t.equal(saved.passphrase_hint, 'new hint');
    t.equal((await me.get('/')).statusCode, 200, 'the current session stays');
    t.equal((await laptop.get('/')).statusCode, 303, 'other sessions are logged out');
    t.equal((await phone.get('/')).statusCode, 303);
    const fresh = await tk.kernel.instances.get(inst.domain);
    t.notOk(await checkPassphrase(fresh, oldHash));
    t.ok(await checkPassphrase(fresh, newHash));
    t.equal((await new InjectBrowser(app, 'change.example').login(oldHash)).statusCode, 401, 'the old passphrase no longer logs in');
    t.equal((await new InjectBrowser(app, 'change.example').login(newHash)).statusCode, 303);
  });

  t.test('checkPassphrase refuses anything that is not the stored hash', async (t) => {
    const inst = await tk.createInstance('check.example', { passphrase: PASSWORD });
    const hash = await clientPassphraseHash(PASSWORD, inst.domain, inst.kdf_iterations);
    t.ok(await checkPassphrase(inst, hash));
    for (const wrong of ['', 'x', PASSWORD, 42, null, undefined, 'y'.repeat(2000)]) t.notOk(await checkPassphrase(inst, wrong), String(wrong).slice(0, 20));
    const notOnboarded = await tk.createInstance('check2.example');
    t.notOk(await checkPassphrase(notOnboarded, hash));
  });
});
