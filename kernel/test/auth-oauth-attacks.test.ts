import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { AuthorizationCodes } from '../src/auth/oauth-codes.ts';
import { mintToken } from '../src/auth/tokens.ts';
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
} from './helpers/oauth-flow.ts';

const alice = 'alice.example';
const bob = 'bob.example';
const scope = 'io.cozy.files:GET';
// RFC 7636 appendix B.
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

t.test('attacks on the OAuth2 flow', async (t) => {
  const h = await startOAuthKernel();
  t.teardown(() => h.close());
  const aliceInst = await h.tk.createInstance(alice);
  const bobInst = await h.tk.createInstance(bob);
  const cookie = await loginCookie(h, aliceInst);
  const bobCookie = await loginCookie(h, bobInst);

  t.test('a replayed code is refused', async (t) => {
    const client = await registerClient(h, alice);
    const code = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope });
    t.equal((await exchangeCode(h, alice, client, code)).statusCode, 200);
    const replay = await exchangeCode(h, alice, client, code);
    t.equal(replay.statusCode, 400);
    t.same(replay.json(), { error: 'invalid code' });
  });

  t.test('concurrent exchanges of one code yield one set of tokens', async (t) => {
    const client = await registerClient(h, alice);
    const code = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope });
    const results = await Promise.all(Array.from({ length: 8 }, () => exchangeCode(h, alice, client, code)));
    t.equal(results.filter((r) => r.statusCode === 200).length, 1);
  });

  t.test('a code presented by another client is refused and burnt', async (t) => {
    const client = await registerClient(h, alice);
    const thief = await registerClient(h, alice, { client_name: 'thief' });
    const code = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope });
    const stolen = await exchangeCode(h, alice, thief, code);
    t.equal(stolen.statusCode, 400);
    t.same(stolen.json(), { error: 'invalid code' });
    t.equal((await exchangeCode(h, alice, client, code)).statusCode, 400, 'a leaked code is no longer good for anyone');
  });

  t.test('a code sent with another redirect_uri is refused', async (t) => {
    const client = await registerClient(h, alice);
    const code = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope });
    const res = await exchangeCode(h, alice, client, code, { redirect_uri: 'https://evil.com/' });
    t.same(res.json(), { error: 'invalid redirect_uri' });
    const other = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope });
    t.equal((await exchangeCode(h, alice, client, other, { redirect_uri: CALLBACK })).statusCode, 200, 'the right one is accepted');
  });

  t.test('PKCE: a missing or wrong verifier is refused, the right one accepted once', async (t) => {
    const client = await registerClient(h, alice);
    const code = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope, code_challenge: challenge, code_challenge_method: 'S256' });
    const missing = await exchangeCode(h, alice, client, code);
    t.equal(missing.statusCode, 400);
    t.same(missing.json(), { error: 'invalid code_verifier' });
    const wrong = await exchangeCode(h, alice, client, code, { code_verifier: `${verifier.slice(0, -1)}A` });
    t.same(wrong.json(), { error: 'invalid code_verifier' });
    const plain = await exchangeCode(h, alice, client, code, { code_verifier: challenge });
    t.same(plain.json(), { error: 'invalid code_verifier' }, 'the challenge itself (plain method) is not a verifier');
    const ok = await exchangeCode(h, alice, client, code, { code_verifier: verifier });
    t.equal(ok.statusCode, 200);
    t.same((await exchangeCode(h, alice, client, code, { code_verifier: verifier })).json(), { error: 'invalid code' });
  });

  t.test('PKCE plain is refused at the consent POST too', async (t) => {
    const client = await registerClient(h, alice);
    const page = await h.inject({ url: authorizeQuery({ client_id: client.client_id, scope, code_challenge: challenge, code_challenge_method: 'S256' }), host: alice, headers: { cookie } });
    const fields = consentFields(page.body);
    t.equal(fields.code_challenge, challenge);
    const res = await h.inject({ method: 'POST', url: '/auth/authorize', host: alice, headers: { cookie }, form: { ...fields, code_challenge_method: 'plain' } });
    t.equal(res.statusCode, 400);
    t.match(res.body, 'Invalid challenge code method');
  });

  t.test('a code expires', async (t) => {
    const codes = new AuthorizationCodes(h.tk.kernel.cluster.cache, 30);
    const code = await codes.issue(aliceInst, { clientId: 'c', redirectUri: CALLBACK, scope });
    await sleep(60);
    await t.rejects(codes.redeem(aliceInst, code, { clientId: 'c' }), { message: 'invalid code' });
  });

  t.test("instance A's tokens, codes, clients and CSRF tokens mean nothing on instance B", async (t) => {
    const client = await registerClient(h, alice);
    const tokens = await grantTokens(h, alice, cookie, client, scope);
    const onBob = await whoami(h, bob, tokens.access_token);
    t.equal(onBob.statusCode, 400);
    t.equal(onBob.json().errors[0].detail, 'Invalid JWT token');
    t.same((await refresh(h, bob, client, tokens.refresh_token as string)).json(), { error: 'the client must be registered' });

    const bobClient = await registerClient(h, bob);
    const bobTokens = await grantTokens(h, bob, bobCookie, bobClient, scope);
    const foreignRefresh = await refresh(h, bob, bobClient, tokens.refresh_token as string);
    t.same(foreignRefresh.json(), { error: 'invalid refresh token' }, "alice's refresh token with bob's client");
    t.equal((await whoami(h, bob, bobTokens.access_token)).statusCode, 200);

    const code = await obtainCode(h, alice, cookie, { client_id: client.client_id, scope });
    t.same((await exchangeCode(h, bob, bobClient, code)).json(), { error: 'invalid code' });

    const page = await h.inject({ url: authorizeQuery({ client_id: client.client_id, scope }), host: alice, headers: { cookie } });
    const aliceCsrf = consentFields(page.body).csrf_token;
    const bobPage = await h.inject({ url: authorizeQuery({ client_id: bobClient.client_id, scope }), host: bob, headers: { cookie: bobCookie } });
    const res = await h.inject({
      method: 'POST',
      url: '/auth/authorize',
      host: bob,
      headers: { cookie: bobCookie },
      form: { ...consentFields(bobPage.body), csrf_token: aliceCsrf },
    });
    t.equal(res.statusCode, 403);
  });

  t.test('a tampered token is invalid, with the WWW-Authenticate header', async (t) => {
    const client = await registerClient(h, alice);
    const { access_token: token } = await grantTokens(h, alice, cookie, client, scope);
    const at = token.lastIndexOf('.') + 10;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    const res = await whoami(h, alice, tampered);
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].detail, 'Invalid JWT token');
    t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
    const [header, , signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'io.cozy.files' })).toString('base64url');
    t.equal((await whoami(h, alice, `${header}.${widened}.${signature}`)).statusCode, 400, 'a widened scope breaks the signature');
  });

  t.test('an access token older than 7 days is expired', async (t) => {
    const client = await registerClient(h, alice);
    await grantTokens(h, alice, cookie, client, scope);
    const inst = await h.tk.kernel.instances.get(alice);
    const old = await mintToken(inst, 'access', {
      subject: client.client_id,
      scope,
      stamp: inst.security_stamp,
      issuedAt: new Date(Date.now() - 8 * 24 * 3600 * 1000),
    });
    const res = await whoami(h, alice, old);
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].detail, 'Expired token');
    t.match(res.headers['www-authenticate'], 'The access token expired');
  });

  t.test('tokens of the wrong audience are refused', async (t) => {
    const client = await registerClient(h, alice);
    const tokens = await grantTokens(h, alice, cookie, client, scope);
    for (const [what, token] of [['refresh', tokens.refresh_token as string], ['registration', client.registration_access_token]]) {
      const res = await whoami(h, alice, token);
      t.equal(res.statusCode, 400, what);
      t.equal(res.json().errors[0].detail, 'Invalid JWT token', what);
    }
    t.same((await refresh(h, alice, client, tokens.access_token)).json(), { error: 'invalid refresh token' }, 'an access token is not a refresh token');
    const other = await registerClient(h, alice);
    t.same((await refresh(h, alice, other, tokens.refresh_token as string)).json(), { error: 'invalid refresh token' }, "another client's refresh token");
  });

  t.test('a passphrase change (new security stamp) revokes access and refresh tokens', async (t) => {
    const client = await registerClient(h, alice);
    const tokens = await grantTokens(h, alice, cookie, client, scope);
    t.equal((await whoami(h, alice, tokens.access_token)).statusCode, 200);
    const inst = await h.tk.kernel.instances.get(alice);
    t.ok(inst.security_stamp, 'the instance has a stamp once it has issued tokens');
    await h.tk.kernel.instances.save({ ...inst, security_stamp: 'renewed-by-a-passphrase-change' });
    const res = await whoami(h, alice, tokens.access_token);
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].detail, 'Invalid JWT token');
    t.same((await refresh(h, alice, client, tokens.refresh_token as string)).json(), { error: 'invalid refresh token' });
    const fresh = await grantTokens(h, alice, cookie, client, scope);
    t.equal((await whoami(h, alice, fresh.access_token)).statusCode, 200, 'new tokens carry the new stamp');
    t.equal((await refresh(h, alice, client, fresh.refresh_token as string)).statusCode, 200);
  });
});
