import t, { type Test } from 'tap';
import { startPermissionsKernel } from './helpers/permissions-kernel.ts';

const h = await startPermissionsKernel(t);
const { call } = h;

const RULES = {
  whatever: { type: 'io.cozy.files', verbs: ['GET'], values: ['io.cozy.music'] },
  otherrule: { type: 'io.cozy.files', verbs: ['GET'], values: ['some-other-dir'] },
};
const OWNER_SCOPE = 'io.cozy.files io.cozy.contacts';

async function createShare(t: Test, query = 'codes=bob', attributes: Record<string, unknown> = {}) {
  const res = await h.share(await h.cli(OWNER_SCOPE), RULES, query, attributes);
  t.equal(res.statusCode, 200, 'the share is created');
  return res.json().data as { id: string; attributes: Record<string, any> };
}

const patchBody = (attributes: Record<string, unknown>) => ({ data: { type: 'io.cozy.permissions', attributes } });

t.test('PATCH adds a rule the caller holds and refuses one it does not hold', async (t) => {
  const { id } = await createShare(t);
  const owner = await h.oauth('owner', OWNER_SCOPE);
  const added = await call('PATCH', `/permissions/${id}`, owner, patchBody({ permissions: { otherperm: { type: 'io.cozy.contacts' } } }));
  t.equal(added.statusCode, 200);
  const perms = added.json().data.attributes.permissions;
  t.same(Object.keys(perms), ['whatever', 'otherrule', 'otherperm']);
  t.same(perms.otherperm, { type: 'io.cozy.contacts' });

  const forbidden = await call('PATCH', `/permissions/${id}`, owner, patchBody({ permissions: { more: { type: 'io.cozy.token.cant.do.this' } } }));
  t.equal(forbidden.statusCode, 403);
  t.equal(forbidden.json().errors[0].detail, 'Attempt to create a larger permission set');
  const maximal = await call('PATCH', `/permissions/${id}`, owner, patchBody({ permissions: { all: { type: '*' } } }));
  t.equal(maximal.statusCode, 400);

  // Adding needs no parent: an app may hand another document rights it holds itself (cozy's intents).
  const stranger = await h.oauth('stranger', 'io.cozy.contacts:GET');
  const granted = await call('PATCH', `/permissions/${id}`, stranger, patchBody({ permissions: { pick: { type: 'io.cozy.contacts', verbs: ['GET'], values: ['c1'] } } }));
  t.equal(granted.statusCode, 200);
  const share = (await createShare(t, 'codes=sub')).attributes.codes.sub;
  const byShare = await call('PATCH', `/permissions/${id}`, share, patchBody({ permissions: { again: RULES.whatever } }));
  t.equal(byShare.statusCode, 403, 'a share token never patches');
});

t.test('PATCH removes a rule, but only for a manager of the share', async (t) => {
  const { id } = await createShare(t);
  const stranger = await h.oauth('contacts-only', 'io.cozy.contacts');
  const refused = await call('PATCH', `/permissions/${id}`, stranger, patchBody({ permissions: { otherrule: {} } }));
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().errors[0].detail, 'Permissions can be updated only by its parent');

  const removed = await call('PATCH', `/permissions/${id}`, await h.oauth('owner', OWNER_SCOPE), patchBody({ permissions: { otherrule: {} } }));
  t.equal(removed.statusCode, 200);
  t.same(removed.json().data.attributes.permissions, { whatever: RULES.whatever });
});

t.test('PATCH codes keeps the named codes, drops the others and mints new names; not both codes and rules', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=john,jane');
  const owner = await h.oauth('owner', OWNER_SCOPE);
  const byJane = await call('PATCH', `/permissions/${id}`, attributes.codes.jane, patchBody({ codes: { john: 'set-token' } }));
  t.equal(byJane.statusCode, 403, 'a share token cannot change codes');

  const res = await call('PATCH', `/permissions/${id}`, owner, patchBody({ codes: { john: 'set-token', paul: 'whatever' } }));
  t.equal(res.statusCode, 200);
  const { codes, shortcodes } = res.json().data.attributes;
  t.equal(codes.john, attributes.codes.john, 'a kept name keeps its code; the value sent is not stored');
  t.equal(shortcodes.john, attributes.shortcodes.john);
  t.notOk('jane' in codes);
  t.notOk('jane' in shortcodes);
  t.match(shortcodes.paul, /^[A-Za-z0-9]{12}$/);
  t.equal((await call('GET', '/permissions/self', attributes.codes.jane)).statusCode, 400, "jane's code is revoked");
  t.equal((await call('GET', '/permissions/self', attributes.shortcodes.jane)).statusCode, 400, "and jane's short code");
  t.equal((await call('GET', '/permissions/self', codes.paul)).statusCode, 200, "paul's new code works");
  t.equal((await call('GET', '/permissions/self', codes.john)).statusCode, 200);

  const both = await call('PATCH', `/permissions/${id}`, owner, patchBody({ codes: { john: 'x' }, permissions: { p: { type: 'io.cozy.contacts' } } }));
  t.equal(both.statusCode, 400);
  t.equal(both.json().errors[0].detail, "The patch doc should have property 'codes' or 'permissions', not both");
  t.equal((await call('PATCH', `/permissions/${id}`, owner, patchBody({}))).statusCode, 400, 'a patch that changes nothing');
  t.equal((await call('PATCH', '/permissions/missing', owner, patchBody({ codes: { a: 'b' } }))).statusCode, 404);
});

t.test('PATCH sets and removes the expiry, an empty string meaning remove', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=bob&ttl=1D');
  const owner = await h.oauth('owner', OWNER_SCOPE);
  const expire = await call('PATCH', `/permissions/${id}`, owner, patchBody({ expires_at: '2001-01-01T00:00:00Z' }));
  t.equal(expire.statusCode, 200);
  t.equal(expire.json().data.attributes.expires_at, '2001-01-01T00:00:00.000Z');
  const expired = await call('GET', '/permissions/self', attributes.codes.bob);
  t.equal(expired.statusCode, 400);
  t.equal(expired.json().errors[0].detail, 'Expired token');
  t.equal((await call('GET', `/permissions/${id}`, owner)).statusCode, 400, 'show refuses an expired share');

  const revived = await call('PATCH', `/permissions/${id}`, owner, patchBody({ expires_at: '' }));
  t.equal(revived.statusCode, 200, 'an expired share can still be patched');
  t.notOk('expires_at' in revived.json().data.attributes);
  t.equal((await call('GET', '/permissions/self', attributes.codes.bob)).statusCode, 200);
  t.equal((await call('PATCH', `/permissions/${id}`, owner, patchBody({ expires_at: 'later' }))).statusCode, 422);
  t.equal((await call('PATCH', `/permissions/${id}`, attributes.codes.bob, patchBody({ expires_at: '' }))).statusCode, 403);
});

t.test('a share made with a ttl expires: its codes answer 400 Expired token', async (t) => {
  const { attributes } = await createShare(t, 'codes=bob&ttl=20ms');
  await new Promise((resolve) => setTimeout(resolve, 40));
  for (const token of [attributes.codes.bob, attributes.shortcodes.bob]) {
    const res = await call('GET', '/permissions/self', token);
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].detail, 'Expired token');
    t.match(res.headers['www-authenticate'], /The access token expired/);
  }
});

t.test('a password-protected share is refused without the cookie that POST /auth/share-by-link/password gives', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=bob', { password: 'HelloWorld!' });
  t.equal(attributes.password, true, 'the answer says there is a password, never its hash');
  const code = attributes.codes.bob;
  const without = await call('GET', '/permissions/self', code);
  t.equal(without.statusCode, 400);
  t.equal(without.json().errors[0].detail, 'Invalid JWT token');

  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    call('POST', '/auth/share-by-link/password', null, new URLSearchParams(fields).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    });
  const wrong = await form({ perm_id: id, password: 'nope' }, { origin: 'https://drive.alice.example' });
  t.equal(wrong.statusCode, 403);
  t.notOk(wrong.headers['set-cookie']);
  t.equal(wrong.headers['access-control-allow-origin'], 'https://drive.alice.example', 'the share page can tell a wrong password');
  t.equal((await form({ perm_id: 'missing', password: 'x' })).statusCode, 404);
  t.equal((await form({ perm_id: 'bad;id=1', password: 'x' })).statusCode, 404);

  const right = await form({ perm_id: id, password: 'HelloWorld!' }, { origin: 'https://drive.alice.example' });
  t.equal(right.statusCode, 200);
  t.same(right.json(), { password: 'ok' });
  t.equal(right.headers['access-control-allow-origin'], 'https://drive.alice.example', 'an app of the instance may read it');
  t.equal(right.headers['access-control-allow-credentials'], 'true');
  const cookie = String(right.headers['set-cookie']);
  t.match(cookie, new RegExp(`^pass${id}=[^;]+; Path=/; HttpOnly; SameSite=Lax`));
  t.notMatch(cookie, /Max-Age/, 'a browser-session cookie');

  const withCookie = await call('GET', '/permissions/self', code, undefined, { cookie: cookie.split(';')[0] as string });
  t.equal(withCookie.statusCode, 200);
  t.equal(withCookie.json().data.attributes.password, true);
  const forged = await call('GET', '/permissions/self', code, undefined, { cookie: `pass${id}=${id}` });
  t.equal(forged.statusCode, 400, 'a cookie not signed by the instance is worthless');

  const foreign = await form({ perm_id: id, password: 'HelloWorld!' }, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 200);
  t.notOk(foreign.headers['access-control-allow-origin'], 'another site cannot read the answer');
  const flat = await form({ perm_id: id, password: 'HelloWorld!' }, { origin: 'https://alice-drive.example' });
  t.equal(flat.headers['access-control-allow-origin'], 'https://alice-drive.example', 'a flat app subdomain may read it');

  const json = await call('POST', '/auth/share-by-link/password', null, { perm_id: id, password: 'HelloWorld!' });
  t.equal(json.statusCode, 200, 'a JSON body is read too');
});

t.test('PATCH sets and removes a password', async (t) => {
  const { id, attributes } = await createShare(t);
  const owner = await h.oauth('owner', OWNER_SCOPE);
  const set = await call('PATCH', `/permissions/${id}`, owner, patchBody({ password: 'secret' }));
  t.equal(set.statusCode, 200);
  t.equal(set.json().data.attributes.password, true);
  t.equal((await call('GET', '/permissions/self', attributes.codes.bob)).statusCode, 400, 'now the code needs the cookie');
  const open = await call('POST', '/auth/share-by-link/password', null, { perm_id: id, password: 'x' });
  t.equal(open.statusCode, 403);

  const unset = await call('PATCH', `/permissions/${id}`, owner, patchBody({ password: '' }));
  t.notOk('password' in unset.json().data.attributes);
  t.equal((await call('GET', '/permissions/self', attributes.codes.bob)).statusCode, 200);
  const none = await call('POST', '/auth/share-by-link/password', null, { perm_id: id, password: 'x' });
  t.same(none.json(), { password: 'none' }, 'a share without a password needs no cookie');
  t.equal((await call('PATCH', `/permissions/${id}`, owner, patchBody({ password: 42 }))).statusCode, 422);
});

t.test('PATCH records the app that touched the share in cozyMetadata', async (t) => {
  const drive = await h.app('drive', { files: { type: 'io.cozy.files' }, contacts: { type: 'io.cozy.contacts' } });
  const created = await h.share(drive, RULES);
  const id = created.json().data.id;
  const res = await call('PATCH', `/permissions/${id}`, drive, patchBody({ permissions: { c: { type: 'io.cozy.contacts', verbs: ['GET'] } } }));
  const md = res.json().data.attributes.cozyMetadata;
  t.equal(md.createdByApp, 'drive');
  t.equal(md.updatedByApps.length, 1, 'the same app is updated in place');
  t.ok(md.updatedAt >= md.createdAt);
  const given = await call('PATCH', `/permissions/${id}`, drive, patchBody({ expires_at: '', cozyMetadata: { createdByApp: 'other' } }));
  t.equal(given.json().data.attributes.cozyMetadata.createdByApp, 'other', 'given metadata replaces it');
  t.equal(given.json().data.attributes.cozyMetadata.metadataVersion, 1);
});
