import t, { type Test } from 'tap';
import { startPermissionsKernel } from './helpers/permissions-kernel.ts';

const h = await startPermissionsKernel(t);
const { call } = h;

const FILES_RULES = {
  whatever: { type: 'io.cozy.files', verbs: ['GET'], values: ['io.cozy.music'] },
  otherrule: { type: 'io.cozy.files', verbs: ['GET'], values: ['some-other-dir'] },
};

async function createShare(t: Test, query = 'codes=bob') {
  const res = await h.share(await h.cli('io.cozy.files io.cozy.events'), FILES_RULES, query);
  t.equal(res.statusCode, 200, `POST /permissions?${query} answers 200`);
  return res.json().data as { id: string; attributes: Record<string, any> };
}

t.test('GET /permissions/self describes a CLI token as a synthetic cli document made from its scope', async (t) => {
  const res = await call('GET', '/permissions/self', await h.cli('io.cozy.contacts io.cozy.files:GET'));
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/vnd\.api\+json/);
  t.same(res.json().data, {
    type: 'io.cozy.permissions',
    id: '',
    attributes: {
      type: 'cli',
      permissions: { rule0: { type: 'io.cozy.contacts' }, rule1: { type: 'io.cozy.files', verbs: ['GET'] } },
    },
    links: { self: '/permissions/' },
  });
});

t.test('GET /permissions/self describes an OAuth token with its client as source, and a deleted client is refused', async (t) => {
  const token = await h.oauth('client-self', 'io.cozy.contacts io.cozy.files:GET io.cozy.events');
  const res = await call('GET', '/permissions/self', token);
  t.equal(res.statusCode, 200);
  const { attributes } = res.json().data;
  t.equal(attributes.type, 'oauth');
  t.equal(attributes.source_id, 'client-self');
  t.same(Object.values(attributes.permissions).map((r: any) => r.type), ['io.cozy.contacts', 'io.cozy.files', 'io.cozy.events']);

  const revoked = await h.tk.kernel.auth.issueToken(h.inst, 'access', { subject: 'revoked-client', scope: 'io.cozy.contacts' });
  const refused = await call('GET', '/permissions/self', revoked);
  t.equal(refused.statusCode, 400);
  t.equal(refused.json().errors[0].detail, 'Invalid JWT token');
  t.equal(refused.headers['www-authenticate'], 'Bearer error="invalid_token"');

  t.equal((await call('GET', '/permissions/self', null)).statusCode, 401);
  t.equal((await call('GET', '/permissions/self', 'garbage')).statusCode, 400);
});

t.test('GET /permissions/self with a share code shows the share without its codes or its password hash', async (t) => {
  const created = await createShare(t, 'codes=alice,bob');
  const { codes } = created.attributes;
  t.not(codes.alice, codes.bob, 'each name has its own code');
  const res = await call('GET', '/permissions/self', codes.alice);
  t.equal(res.statusCode, 200);
  const data = res.json().data;
  t.equal(data.id, created.id);
  t.equal(data.links.self, `/permissions/${created.id}`);
  t.equal(data.attributes.type, 'share');
  t.same(Object.keys(data.attributes.permissions), ['whatever', 'otherrule']);
  t.notOk('codes' in data.attributes, 'codes are stripped');
  t.notOk('shortcodes' in data.attributes, 'short codes are stripped');
});

t.test('POST /permissions answers the share with a JWT and a 12-character short code per name', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=bob,jane&ttl=1D');
  t.match(id, /^[0-9a-f]{32}$/);
  t.same(Object.keys(attributes.codes), ['bob', 'jane']);
  t.match(attributes.codes.bob, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a code is a JWT');
  t.match(attributes.shortcodes.bob, /^[A-Za-z0-9]{12}$/);
  t.match(attributes.shortcodes.jane, /^[A-Za-z0-9]{12}$/);
  t.notOk('source_id' in attributes, 'a CLI token names no source');
  const ttl = Date.parse(attributes.expires_at) - Date.now();
  t.ok(ttl > 23.9 * 3600e3 && ttl <= 24 * 3600e3, 'ttl=1D expires in a day');
  t.match(attributes.cozyMetadata, { doctypeVersion: '1', metadataVersion: 1 });
});

t.test('two shares under one name made in the same second get different codes', async (t) => {
  const first = await createShare(t, 'codes=email');
  const second = await createShare(t, 'codes=email');
  t.not(first.attributes.codes.email, second.attributes.codes.email);
  const self = await call('GET', '/permissions/self', second.attributes.codes.email);
  t.equal(self.json().data.id, second.id, 'each code opens its own share');
});

t.test('tiny short codes are 6 digits only with a ttl of at most an hour', async (t) => {
  const tiny = await createShare(t, 'codes=elise&tiny=true&ttl=30m');
  t.match(tiny.attributes.shortcodes.elise, /^\d{6}$/);
  const sixty = await createShare(t, 'codes=elise&tiny=1&ttl=1h');
  t.match(sixty.attributes.shortcodes.elise, /^\d{6}$/, 'exactly one hour still gets a tiny code');
  const long = await createShare(t, 'codes=fanny&tiny=true&ttl=24h');
  t.match(long.attributes.shortcodes.fanny, /^[A-Za-z0-9]{12}$/);
  const noTtl = await createShare(t, 'codes=fanny&tiny=true');
  t.match(noTtl.attributes.shortcodes.fanny, /^[A-Za-z0-9]{12}$/, 'no ttl, no tiny code');
  const self = await call('GET', '/permissions/self', tiny.attributes.shortcodes.elise);
  t.equal(self.statusCode, 200, 'a tiny code works as a token');
  t.equal(self.json().data.id, tiny.id);
});

t.test('a short code works as Bearer, as ?sharecode= and with a trailing dot', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=daniel');
  const short = attributes.shortcodes.daniel;
  for (const [what, res] of [
    ['Bearer', await call('GET', '/permissions/self', short)],
    ['?sharecode=', await call('GET', `/permissions/self?sharecode=${short}`, null)],
    ['trailing dot', await call('GET', '/permissions/self', `${short}.`)],
  ] as const) {
    t.equal(res.statusCode, 200, what);
    t.equal(res.json().data.id, id, what);
  }
  const unknown = await call('GET', '/permissions/self', 'AAAAAAAAAAAA');
  t.equal(unknown.statusCode, 400, 'an unknown short code is an invalid token');
});

t.test('a share code opens what it grants and nothing else', async (t) => {
  const { attributes } = await createShare(t, 'codes=reader');
  const code = attributes.codes.reader;
  const read = await call('GET', '/guarded/io.cozy.files/io.cozy.music', code);
  t.equal(read.statusCode, 200);
  t.same(read.json(), { kind: 'share', subject: 'reader' });
  t.equal((await call('GET', `/guarded/io.cozy.files/io.cozy.music?sharecode=${attributes.shortcodes.reader}`, null)).statusCode, 200);
  t.equal((await call('POST', '/guarded/io.cozy.files/io.cozy.music', code)).statusCode, 403, 'a verb it does not grant');
  t.equal((await call('GET', '/guarded/io.cozy.files/another-file', code)).statusCode, 403, 'a document it does not name');
  t.equal((await call('GET', '/guarded/io.cozy.contacts/io.cozy.music', code)).statusCode, 403, 'another doctype');
});

t.test('a share token cannot create permissions, not even a subset of its own', async (t) => {
  const { attributes } = await createShare(t, 'codes=eve');
  const res = await h.share(attributes.codes.eve, { whatever: FILES_RULES.whatever }, 'codes=mallory');
  t.equal(res.statusCode, 403);
  t.equal(res.json().errors[0].detail, 'Only apps can create sharing permissions');
});

t.test('creating more than the caller holds is refused', async (t) => {
  const token = await h.cli('io.cozy.files:GET');
  const wider = await h.share(token, { all: { type: 'io.cozy.files', verbs: ['GET', 'POST'] } });
  t.equal(wider.statusCode, 403);
  t.equal(wider.json().errors[0].detail, 'Attempt to create a larger permission set');
  const other = await h.share(token, { contacts: { type: 'io.cozy.contacts' } });
  t.equal(other.statusCode, 403);
  const maximal = await h.share(await h.cli('io.cozy.files'), { all: { type: '*' } });
  t.equal(maximal.statusCode, 400, 'the maximal type cannot be written in a share');
  const reserved = await h.share(await h.cli('io.cozy.oauth.clients'), { clients: { type: 'io.cozy.oauth.clients', verbs: ['GET'] } });
  t.equal(reserved.statusCode, 403, 'nor a doctype only the stack writes');
  t.match(reserved.json().errors[0].detail, /reserved doctype io\.cozy\.oauth\.clients unwritable/);
  t.equal((await h.share(token, {})).statusCode, 400, 'a share grants something');
  const noBody = await call('POST', '/permissions?codes=x', token, { nope: true });
  t.equal(noBody.statusCode, 400);
});

t.test('bodies may come with the JSON:API media type', async (t) => {
  const token = await h.cli('io.cozy.files');
  const body = JSON.stringify({ data: { type: 'io.cozy.permissions', attributes: { permissions: FILES_RULES } } });
  const headers = { 'content-type': 'application/vnd.api+json' };
  const res = await call('POST', '/permissions?codes=bob', token, body, headers);
  t.equal(res.statusCode, 200);
  t.same(res.json().data.attributes.permissions, FILES_RULES);
  t.equal((await call('POST', '/permissions?codes=bob', token, '{"data":', headers)).statusCode, 400, 'malformed JSON');
});

t.test('a bad ttl or expires_at is refused; expires_at is used without a ttl', async (t) => {
  const token = await h.cli('io.cozy.files');
  const badTtl = await h.share(token, FILES_RULES, 'codes=x&ttl=soon');
  t.equal(badTtl.statusCode, 400);
  t.equal(badTtl.json().errors[0].code, 'COZY_ERR_BAD_TTL');
  const badDate = await h.share(token, FILES_RULES, 'codes=x', { expires_at: 'tomorrow' });
  t.equal(badDate.statusCode, 422);
  t.same(badDate.json().errors[0].source, { pointer: '/data/attributes/expires_at' });
  const dated = await h.share(token, FILES_RULES, 'codes=x', { expires_at: '2999-01-01T00:00:00+01:00' });
  t.equal(dated.json().data.attributes.expires_at, '2998-12-31T23:00:00.000Z');
});

t.test('an app token makes shares attributed to the app, with its slug in cozyMetadata', async (t) => {
  const token = await h.app('drive', { files: { type: 'io.cozy.files' } });
  const res = await h.share(token, { files: { type: 'io.cozy.files', verbs: ['GET'] } }, 'codes=email', {
    cozyMetadata: { createdByApp: 'foobar' },
  });
  t.equal(res.statusCode, 200);
  const { attributes } = res.json().data;
  t.equal(attributes.source_id, 'io.cozy.apps/drive');
  t.match(attributes.cozyMetadata, { createdByApp: 'foobar', doctypeVersion: '1', metadataVersion: 1 });
  const plain = await h.share(token, { files: { type: 'io.cozy.files', verbs: ['GET'] } });
  t.match(plain.json().data.attributes.cozyMetadata, { createdByApp: 'drive', updatedByApps: [{ slug: 'drive' }] });
});

t.test('a linked app client makes shares in the name of the app, which its web version may revoke', async (t) => {
  const mobile = await h.oauth('drive-mobile', 'io.cozy.files', { software_id: 'registry://drive-linked' });
  const res = await h.share(mobile, { files: { type: 'io.cozy.files', verbs: ['GET'] } });
  t.equal(res.json().data.attributes.source_id, 'io.cozy.apps/drive-linked');
  const web = await h.app('drive-linked', { contacts: { type: 'io.cozy.contacts' } });
  t.equal((await call('DELETE', `/permissions/${res.json().data.id}`, web)).statusCode, 204, 'same source, though it does not hold the rules');
});

t.test('GET /permissions/:id strips codes and answers only the source, the share itself or a holder', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=alice');
  const byHolder = await call('GET', `/permissions/${id}`, await h.cli('io.cozy.files'));
  t.equal(byHolder.statusCode, 200);
  t.notOk('codes' in byHolder.json().data.attributes);
  t.notOk('shortcodes' in byHolder.json().data.attributes);
  t.same(byHolder.json().data.attributes.permissions, FILES_RULES);
  t.equal((await call('GET', `/permissions/${id}`, attributes.codes.alice)).statusCode, 200, 'the share itself');
  t.equal((await call('GET', `/permissions/${id}`, await h.oauth('tags', 'io.cozy.tags'))).statusCode, 403);
  t.equal((await call('GET', '/permissions/nope', await h.cli('io.cozy.files'))).statusCode, 404);
  t.equal((await call('GET', '/permissions/_design%2Fpermissions', await h.cli('io.cozy.files'))).statusCode, 404, 'design docs are not permissions');

  const app = await h.app('photos', { files: { type: 'io.cozy.files', verbs: ['GET'], values: ['album'] } });
  const own = await h.share(app, { album: { type: 'io.cozy.files', verbs: ['GET'], values: ['album'] } });
  const other = await h.app('notes-reader', { notes: { type: 'io.cozy.notes' } });
  t.equal((await call('GET', `/permissions/${own.json().data.id}`, app)).statusCode, 200, 'the source app');
  t.equal((await call('GET', `/permissions/${own.json().data.id}`, other)).statusCode, 403, 'another app');
});

t.test('DELETE revokes a share and every code with it; only its source or a holder may', async (t) => {
  const { id, attributes } = await createShare(t, 'codes=igor');
  const code = attributes.codes.igor;
  t.equal((await call('DELETE', `/permissions/${id}`, code)).statusCode, 403, 'not the share itself');
  t.equal((await call('DELETE', `/permissions/${id}`, await h.oauth('narrow', 'io.cozy.files:GET:io.cozy.music'))).statusCode, 403, 'not a partial holder');
  t.equal((await call('DELETE', `/permissions/${id}`, await h.oauth('notes', 'io.cozy.files'))).statusCode, 204, 'a holder of everything it grants');
  const after = await call('GET', '/permissions/self', code);
  t.equal(after.statusCode, 400);
  t.equal(after.json().errors[0].detail, 'Invalid JWT token');
  t.equal((await call('GET', '/permissions/self', attributes.shortcodes.igor)).statusCode, 400, 'the short code died too');
  t.equal((await call('DELETE', `/permissions/${id}`, await h.cli('io.cozy.files'))).statusCode, 404);
});

t.test('POST /permissions/exists gives the verbs live shares grant on each document the caller may read', async (t) => {
  const token = await h.cli('io.cozy.events');
  const make = (rules: Record<string, unknown>, query = 'codes=bob') => h.share(token, rules, query);
  await make({ r: { type: 'io.cozy.events', verbs: ['DELETE', 'PATCH'], values: ['ev1'] } });
  await make({ r: { type: 'io.cozy.events', verbs: ['GET'], values: ['ev2'] } });
  await make({ r: { type: 'io.cozy.events', verbs: ['GET'], values: ['ev2'] } });
  await make({ r: { type: 'io.cozy.events', values: ['ev4'] } });
  const expired = await make({ r: { type: 'io.cozy.events', verbs: ['GET'], values: ['ev5'] } }, 'codes=bob&ttl=1ms');
  t.equal(expired.statusCode, 200);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const refs = ['ev1', 'ev2', 'ev3', 'ev4', 'ev5', 'ev1'].map((id) => ({ type: 'io.cozy.events', id }));
  const res = await call('POST', '/permissions/exists', token, { data: refs });
  t.equal(res.statusCode, 200);
  const byId = Object.fromEntries(res.json().data.map((r: { id: string; verbs: string[] }) => [r.id, r]));
  t.same(Object.keys(byId).sort(), ['ev1', 'ev2', 'ev4']);
  t.same(byId.ev1, { type: 'io.cozy.events', id: 'ev1', verbs: ['PATCH', 'DELETE'] });
  t.same(byId.ev2.verbs, ['GET']);
  t.same(byId.ev4.verbs, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], 'a rule without verbs grants them all');

  const narrow = await call('POST', '/permissions/exists', await h.cli('io.cozy.events:GET:ev2'), { data: refs });
  t.same(narrow.json().data.map((r: { id: string }) => r.id), ['ev2'], 'only documents the caller may read');
  t.equal((await call('POST', '/permissions/exists', token, { data: [{ type: 1 }] })).statusCode, 400);
});

t.test('the shares of a doctype are listed by pages, with the codes, for a caller holding the whole doctype', async (t) => {
  const inst = await h.tk.createInstance('list.example');
  const token = await h.tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope: 'io.cozy.events io.cozy.files' });
  const inject = (url: string, bearer = token) => h.tk.kernel.app.inject({ url, headers: { host: 'list.example', authorization: `Bearer ${bearer}` } });
  const post = (rules: Record<string, unknown>) =>
    h.tk.kernel.app.inject({
      method: 'POST', url: '/permissions?codes=bob', headers: { host: 'list.example', authorization: `Bearer ${token}` },
      payload: { data: { type: 'io.cozy.permissions', attributes: { permissions: rules } } },
    });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    // Two rules on the doctype: the share is still listed once.
    const res = await post({ a: { type: 'io.cozy.events', verbs: ['GET'], values: [`a${i}`] }, b: { type: 'io.cozy.events', values: [`b${i}`] } });
    ids.push(res.json().data.id);
  }
  await post({ files: { type: 'io.cozy.files', verbs: ['GET'] } });
  await h.tk.kernel.store.put(inst, 'io.cozy.permissions', { _id: 'io.cozy.apps/agenda', type: 'app', source_id: 'io.cozy.apps/agenda', permissions: { e: { type: 'io.cozy.events' } } });

  const all = await inject('/permissions/doctype/io.cozy.events/shared-by-link');
  t.equal(all.statusCode, 200);
  t.same(all.json().data.map((d: { id: string }) => d.id), [...ids].sort(), 'share documents only, once each, by id');
  t.equal(all.json().meta.count, 3);
  t.same(all.json().links, {});
  t.ok(all.json().data[0].attributes.codes.bob, 'the listing shows the codes');

  const first = await inject('/permissions/doctype/io.cozy.events/shared-by-link?page[limit]=2');
  t.equal(first.json().data.length, 2);
  const next = first.json().links.next as string;
  t.match(next, /^\/permissions\/doctype\/io\.cozy\.events\/shared-by-link\?/);
  const second = await inject(next);
  t.equal(second.json().data.length, 1);
  t.notOk(second.json().links.next);
  t.same([...first.json().data, ...second.json().data].map((d: { id: string }) => d.id), [...ids].sort());

  const legacy = await inject('/permissions/doctype/io.cozy.events/sharedByLink?page[limit]=1&page[skip]=1');
  t.same(legacy.json().data.map((d: { id: string }) => d.id), [[...ids].sort()[1]], 'the legacy route, with page[skip]');
  t.match(legacy.json().links.next, /sharedByLink\?page%5Blimit%5D=1&page%5Bskip%5D=2$/);

  const capped = await inject('/permissions/doctype/io.cozy.events/shared-by-link?page[limit]=1000');
  t.equal(capped.json().data.length, 3);
  t.equal((await inject('/permissions/doctype/io.cozy.events/shared-by-link?page[limit]=many')).statusCode, 400);
  t.equal((await inject('/permissions/doctype/io.cozy.events/shared-by-link?page[cursor]=nope')).statusCode, 400);

  const narrow = await h.tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope: 'io.cozy.events:GET:a0' });
  const refused = await inject('/permissions/doctype/io.cozy.events/shared-by-link', narrow);
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().errors[0].detail, 'You need GET permission on whole type to list its permissions');
});
