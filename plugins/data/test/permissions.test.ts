import t from 'tap';
import { DOMAIN, setup, type Method } from './helpers.ts';

const TYPE = 'io.cozy.events';

t.test('a token restricted to some ids reads those and gets 403 on the others, missing ones included', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'mine' });
  await tk.kernel.store.put(inst, TYPE, { _id: 'other' });
  const scope = `${TYPE}:GET:mine,ghost`;
  t.equal((await call('GET', `/data/${TYPE}/mine`, scope)).statusCode, 200);
  const other = await call('GET', `/data/${TYPE}/other`, scope);
  t.equal(other.statusCode, 403);
  t.same(other.json(), { error: 'code=403, message=Forbidden' });
  t.equal((await call('GET', `/data/${TYPE}/nothere`, scope)).statusCode, 403, 'no hint that it does not exist');
  t.equal((await call('GET', `/data/${TYPE}/ghost`, scope)).statusCode, 404, 'a permitted missing id is a 404');
});

t.test('a token without the verb gets 403 on writes', async (t) => {
  const { call, tk, inst } = await setup(t);
  const w = await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const scope = `${TYPE}:GET`;
  t.equal((await call('POST', `/data/${TYPE}/`, scope, { a: 1 })).statusCode, 403);
  t.equal((await call('PUT', `/data/${TYPE}/doc`, scope, { _id: 'doc', _rev: w.rev })).statusCode, 403);
  t.equal((await call('PUT', `/data/${TYPE}/new`, scope, { a: 1 })).statusCode, 403);
  t.equal((await call('DELETE', `/data/${TYPE}/doc?rev=${w.rev}`, scope)).statusCode, 403);
  t.equal((await call('GET', `/data/${TYPE}/doc`, `io.cozy.other`)).statusCode, 403, 'another doctype');
});

t.test('PUT checks both the old and the new document against a selector-restricted token', async (t) => {
  const { call, tk, inst } = await setup(t);
  const work = await tk.kernel.store.put(inst, TYPE, { _id: 'w', category: 'work' });
  const home = await tk.kernel.store.put(inst, TYPE, { _id: 'h', category: 'home' });
  const scope = `${TYPE}:ALL:work:category`;
  const outOfSet = await call('PUT', `/data/${TYPE}/w`, scope, { _id: 'w', _rev: work.rev, category: 'home' });
  t.equal(outOfSet.statusCode, 403, 'cannot move a document out of the permitted set');
  const intoSet = await call('PUT', `/data/${TYPE}/h`, scope, { _id: 'h', _rev: home.rev, category: 'work' });
  t.equal(intoSet.statusCode, 403, 'cannot take over a document from outside the set');
  const within = await call('PUT', `/data/${TYPE}/w`, scope, { _id: 'w', _rev: work.rev, category: 'work', title: 'x' });
  t.equal(within.statusCode, 200);
  t.equal((await call('PUT', `/data/${TYPE}/h`, TYPE, { _id: 'h', _rev: home.rev, category: 'work' })).statusCode, 200, 'the whole doctype may');
});

t.test('POST and DELETE check the document against the selector', async (t) => {
  const { call, tk, inst } = await setup(t);
  const scope = `${TYPE}:ALL:work:category`;
  t.equal((await call('POST', `/data/${TYPE}/`, scope, { category: 'work' })).statusCode, 201);
  t.equal((await call('POST', `/data/${TYPE}/`, scope, { category: 'home' })).statusCode, 403);
  const home = await tk.kernel.store.put(inst, TYPE, { _id: 'h', category: 'home' });
  t.equal((await call('DELETE', `/data/${TYPE}/h?rev=${home.rev}`, scope)).statusCode, 403);
});

t.test('collection routes need the whole doctype', async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const scope = `${TYPE}:GET:doc`;
  const routes: Array<[Method, string, unknown?]> = [
    ['GET', `/data/${TYPE}/_all_docs`],
    ['POST', `/data/${TYPE}/_all_docs`, { keys: ['doc'] }],
    ['GET', `/data/${TYPE}/_normal_docs`],
    ['POST', `/data/${TYPE}/_find`, { selector: { _id: 'doc' } }],
    ['POST', `/data/${TYPE}/_index`, { index: { fields: ['a'] } }],
    ['GET', `/data/${TYPE}/_changes`],
    ['GET', `/data/${TYPE}/_design_docs`],
    ['GET', `/data/${TYPE}/_design/x`],
    ['GET', `/data/${TYPE}/`],
    ['POST', `/data/${TYPE}/_bulk_docs`, { docs: [{ a: 1 }] }],
    ['DELETE', `/data/${TYPE}/`],
  ];
  for (const [method, url, body] of routes) {
    const res = await call(method, url, scope, body);
    t.equal(res.statusCode, 403, `${method} ${url}`);
  }
  t.equal((await call('GET', '/data/_all_doctypes', TYPE)).statusCode, 403, '_all_doctypes needs io.cozy.doctypes');
});

t.test('unreadable reserved doctypes are 403 "reserved ... unreadable" on every route', async (t) => {
  const { call } = await setup(t);
  const type = 'io.cozy.sessions';
  const scope = `${type} io.cozy.files`;
  const routes: Array<[Method, string, unknown?]> = [
    ['GET', `/data/${type}/some-id`],
    ['POST', `/data/${type}/`, { a: 1 }],
    ['PUT', `/data/${type}/some-id`, { a: 1 }],
    ['DELETE', `/data/${type}/some-id?rev=1-a`],
    ['GET', `/data/${type}/_all_docs`],
    ['POST', `/data/${type}/_all_docs`, { keys: ['a'] }],
    ['GET', `/data/${type}/_normal_docs`],
    ['POST', `/data/${type}/_find`, { selector: { a: 1 } }],
    ['POST', `/data/${type}/_index`, { index: { fields: ['a'] } }],
    ['GET', `/data/${type}/_changes`],
    ['POST', `/data/${type}/_changes?filter=_doc_ids`, { doc_ids: ['a'] }],
    ['GET', `/data/${type}/_design_docs`],
    ['GET', `/data/${type}/_design/x`],
    ['DELETE', `/data/${type}/_design/x?rev=1-a`],
    ['POST', `/data/${type}/_design/x/copy`, {}],
    ['GET', `/data/${type}/`],
    ['PUT', `/data/${type}/`],
    ['DELETE', `/data/${type}/`],
    ['POST', `/data/${type}/_bulk_docs`, { docs: [] }],
    ['GET', `/data/${type}/some-id/relationships/references`],
    ['POST', `/data/${type}/some-id/relationships/references`, { data: [{ type: 'io.cozy.files', id: 'f' }] }],
  ];
  for (const [method, url, body] of routes) {
    const headers = url.endsWith('/copy') ? { destination: '_design/y' } : undefined;
    const res = await call(method, url, scope, body, headers);
    t.equal(res.statusCode, 403, `${method} ${url}`);
    t.match(res.json().error, /reserved doctype io\.cozy\.sessions un(readable|writable)/, `${method} ${url}`);
  }
});

t.test('io.cozy.files is readable through /data but every write is 403 "unwritable"', async (t) => {
  const { call, tk, inst } = await setup(t);
  const file = await tk.kernel.store.put(inst, 'io.cozy.files', { _id: 'f1', type: 'file', name: 'a.txt' });
  const scope = 'io.cozy.files';
  t.equal((await call('GET', '/data/io.cozy.files/f1', scope)).statusCode, 200);
  t.equal((await call('GET', '/data/io.cozy.files/_all_docs', scope)).statusCode, 200);
  const post = await call('POST', '/data/io.cozy.files/', scope, { 'wrong-vfs': 'structure' });
  t.equal(post.statusCode, 403);
  t.same(post.json(), { error: 'code=403, message=reserved doctype io.cozy.files unwritable' });
  t.equal((await call('PUT', '/data/io.cozy.files/f1', scope, { _id: 'f1', _rev: file.rev })).statusCode, 403);
  t.equal((await call('DELETE', `/data/io.cozy.files/f1?rev=${file.rev}`, scope)).statusCode, 403);
  t.equal((await call('POST', '/data/io.cozy.files/_bulk_docs', scope, { docs: [{ a: 1 }] })).statusCode, 403);
  t.equal((await call('DELETE', '/data/io.cozy.files/', scope)).statusCode, 403);
  t.equal((await call('PUT', '/data/io.cozy.files/', scope)).statusCode, 403);
});

t.test('an invalid doctype name is 403 "is not a valid doctype name"', async (t) => {
  const { call } = await setup(t);
  for (const type of ['IO.COZY.UPPER', 'io..cozy', '.io.cozy', 'io.cozy.', 'io-cozy', 'io.cozy.*']) {
    const res = await call('GET', `/data/${encodeURIComponent(type)}/some-id`, 'io.cozy.events');
    t.equal(res.statusCode, 403, type);
    t.same(res.json(), { error: `code=403, message=${type} is not a valid doctype name` }, type);
  }
});

t.test("a token of another instance is 400 and never reads the other instance's data", async (t) => {
  const { call, tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, TYPE, { _id: 'secret', v: 'alice' });
  const bob = await tk.createInstance('bob.example');
  await tk.kernel.store.put(bob, TYPE, { _id: 'secret', v: 'bob' });
  const bobToken = await tk.kernel.auth.issueToken(bob, 'cli', { subject: 'test', scope: TYPE });
  const res = await tk.kernel.app.inject({ url: `/data/${TYPE}/secret`, headers: { host: DOMAIN, authorization: `Bearer ${bobToken}` } });
  t.equal(res.statusCode, 400);
  t.match(res.json().error, /Invalid JWT token/);
  const own = await tk.kernel.app.inject({ url: `/data/${TYPE}/secret`, headers: { host: 'bob.example', authorization: `Bearer ${bobToken}` } });
  t.equal(own.json().v, 'bob', 'each instance sees its own database');
  t.equal((await call('GET', `/data/${TYPE}/secret`, TYPE)).json().v, 'alice');
});

t.test('an OAuth access token works within its scope only', async (t) => {
  const { tk, inst } = await setup(t);
  await tk.kernel.store.put(inst, 'io.cozy.oauth.clients', { _id: 'client1', client_name: 'Test' });
  await tk.kernel.store.put(inst, TYPE, { _id: 'doc' });
  const oauth = await tk.kernel.auth.issueToken(inst, 'access', { subject: 'client1', scope: `${TYPE}:GET` });
  const get = (url: string) => tk.kernel.app.inject({ url, headers: { host: DOMAIN, authorization: `Bearer ${oauth}` } });
  t.equal((await get(`/data/${TYPE}/doc`)).statusCode, 200);
  t.equal((await get('/data/io.cozy.contacts/doc')).statusCode, 403);
});
