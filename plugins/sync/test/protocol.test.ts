import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEVICE_PASSWORDS, type DevicePasswordService } from '@cozy-ts/kernel';
import { startTestKernel } from '@cozy-ts/kernel/testing';
import { PouchAdapter } from '../../../kernel/src/store/pouch-adapter.ts';
import { hostRequest, startSync } from './helpers.ts';

const PROPFIND = (props: string) => `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cr="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/"><d:prop>${props}</d:prop></d:propfind>`;
const SYNC = (token: string) => `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;
const ics = (uid: string, summary: string, extra = '') =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\nSUMMARY:${summary}\r\n${extra}END:VEVENT\r\nEND:VCALENDAR\r\n`;
const CAL = { 'content-type': 'text/calendar; charset=utf-8' };
const tokenOf = (xml: string) => /<D:sync-token>([^<]*)<\/D:sync-token>/.exec(xml)?.[1] ?? '';

t.test('discovery: well-known redirects, principal, homes, DAV header, Basic challenge', async (t) => {
  const s = await startSync(t);
  for (const path of ['/.well-known/caldav', '/.well-known/carddav']) {
    for (const method of ['GET', 'PROPFIND']) {
      const r = await fetch(`${s.origin}${path}`, { method, redirect: 'manual' });
      t.equal(r.status, 301, `${method} ${path}`);
      t.equal(r.headers.get('location'), '/sync/');
    }
  }
  const anon = await fetch(`${s.origin}/sync/`, { method: 'PROPFIND' });
  t.equal(anon.status, 401, 'no credentials: 401');
  t.match(anon.headers.get('www-authenticate'), /^Basic /, 'with a Basic challenge, which python-caldav waits for');
  const wrong = await fetch(`${s.origin}/sync/`, { method: 'PROPFIND', headers: { authorization: `Basic ${Buffer.from('me:nope').toString('base64')}` } });
  t.equal(wrong.status, 401, 'a wrong password is a 401 challenge too');

  const opts = await s.dav('OPTIONS', '/sync/calendars/');
  t.match(opts.headers.get('dav'), /calendar-access/);
  t.match(opts.headers.get('dav'), /addressbook/);
  t.match(opts.headers.get('dav'), /extended-mkcol/);

  const root = await s.dav('PROPFIND', '/sync/', PROPFIND('<d:current-user-principal/>'), { depth: '0' });
  t.equal(root.status, 207);
  t.match(root.text, '<D:current-user-principal><D:href>/sync/principal/</D:href></D:current-user-principal>');
  const principal = await s.dav('PROPFIND', '/sync/principal/', PROPFIND('<c:calendar-home-set/><cr:addressbook-home-set/><d:resourcetype/>'), { depth: '0' });
  t.match(principal.text, '<calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><D:href>/sync/calendars/</D:href></calendar-home-set>');
  t.match(principal.text, '<addressbook-home-set xmlns="urn:ietf:params:xml:ns:carddav"><D:href>/sync/contacts/</D:href></addressbook-home-set>');
  t.match(principal.text, '<D:principal/>');
});

t.test('collections: MKCALENDAR, extended MKCOL, PROPPATCH, listing with report sets and tokens, DELETE', async (t) => {
  const s = await startSync(t);
  const mk = await s.dav('MKCALENDAR', '/sync/calendars/work/', '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Work</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>');
  t.equal(mk.status, 201);
  t.equal((await s.dav('MKCALENDAR', '/sync/calendars/work/')).status, 405, 'the name is taken');
  t.equal((await s.dav('MKCALENDAR', '/sync/contacts/nope/')).status, 403, 'no calendar in the address book home');
  const book = await s.dav('MKCOL', '/sync/contacts/friends/', '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype><d:displayname>Friends</d:displayname></d:prop></d:set></d:mkcol>');
  t.equal(book.status, 201);
  const plain = await s.dav('MKCOL', '/sync/contacts/plain/', '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:"><d:set><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop></d:set></d:mkcol>');
  t.equal(plain.status, 403, 'a plain collection is not a valid resource type here');
  t.match(plain.text, '<D:valid-resourcetype/>');

  const patch = await s.dav('PROPPATCH', '/sync/calendars/work/', '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:i="http://apple.com/ns/ical/" xmlns:x="urn:example:x"><d:set><d:prop><d:displayname>Work &amp; more</d:displayname><c:calendar-description>Office</c:calendar-description><i:calendar-color>#00ff00</i:calendar-color><x:custom>kept <x:b>as is</x:b></x:custom></d:prop></d:set></d:propertyupdate>');
  t.equal(patch.status, 207);
  t.notMatch(patch.text, /HTTP\/1.1 (403|424)/);
  const bad = await s.dav('PROPPATCH', '/sync/calendars/work/', '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Never</d:displayname><d:getetag>"x"</d:getetag></d:prop></d:set></d:propertyupdate>');
  t.match(bad.text, /getetag\/><\/D:prop><D:status>HTTP\/1.1 403/, 'a protected property is refused');
  t.match(bad.text, /HTTP\/1.1 424/, 'and the rest fails with it');

  const home = await s.dav('PROPFIND', '/sync/calendars/', PROPFIND('<d:displayname/><d:resourcetype/><cs:getctag/><d:sync-token/><d:supported-report-set/><c:supported-calendar-component-set/><c:calendar-description/><x:custom xmlns:x="urn:example:x"/>'), { depth: '1' });
  t.match(home.text, '<D:displayname>Work &amp; more</D:displayname>');
  t.match(home.text, '<calendar-description xmlns="urn:ietf:params:xml:ns:caldav">Office</calendar-description>');
  t.match(home.text, '<D:supported-report><D:report><calendar-query xmlns="urn:ietf:params:xml:ns:caldav"/></D:report></D:supported-report>');
  t.match(home.text, '<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>');
  t.match(home.text, '<comp xmlns="urn:ietf:params:xml:ns:caldav" name="VEVENT"/>');
  t.match(home.text, /<custom xmlns="urn:example:x">kept <b xmlns="urn:example:x">as is<\/b><\/custom>|<custom xmlns="urn:example:x">kept <b>as is<\/b><\/custom>/, 'a dead property keeps its XML');
  t.match(home.text, /<getctag xmlns="http:\/\/calendarserver.org\/ns\/">http:\/\/cozy.io\/ns\/sync\/[^<]+<\/getctag>/);

  const todo = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t1\r\nSUMMARY:do\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
  const refused = await s.dav('PUT', '/sync/calendars/work/t1.ics', todo, CAL);
  t.equal(refused.status, 403, 'a VTODO in a VEVENT-only calendar');
  t.match(refused.text, 'supported-calendar-component');

  t.equal((await s.dav('PUT', '/sync/calendars/work/a.ics', ics('a', 'A'), CAL)).status, 201);
  t.equal((await s.dav('DELETE', '/sync/calendars/work/')).status, 204);
  t.equal((await s.dav('GET', '/sync/calendars/work/a.ics')).status, 404, 'the members went with it');
  t.equal((await s.dav('PROPFIND', '/sync/calendars/work/', undefined, { depth: '0' })).status, 404);
});

t.test('objects: ETags, If-Match / If-None-Match, one UID per calendar, byte-faithful GET', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const body = ics('u1', 'First', 'DESCRIPTION:a long line that goes on and on and on and on and on and on and on and \r\n on and is folded by the client\r\nX-CUSTOM;X-PARAM="a;b":value\r\n');
  const created = await s.dav('PUT', '/sync/calendars/cal/u1.ics', body, { ...CAL, 'if-none-match': '*' });
  t.equal(created.status, 201);
  const etag = created.headers.get('etag') as string;
  t.match(etag, /^"[^"]+"$/, 'the PUT answers a strong ETag');
  const got = await s.dav('GET', '/sync/calendars/cal/u1.ics');
  t.equal(got.text, body, 'GET answers the bytes that were PUT');
  t.equal(got.headers.get('etag'), etag, 'with the same ETag');
  t.equal((await s.dav('GET', '/sync/calendars/cal/u1.ics')).headers.get('etag'), etag, 'stable across reads');
  t.equal((await s.dav('GET', '/sync/calendars/cal/u1.ics', undefined, { 'if-none-match': etag })).status, 304);

  t.equal((await s.dav('PUT', '/sync/calendars/cal/u1.ics', body, { ...CAL, 'if-none-match': '*' })).status, 412, 'If-None-Match * on an existing object');
  t.equal((await s.dav('PUT', '/sync/calendars/cal/u1.ics', ics('u1', 'Second'), { ...CAL, 'if-match': '"1-stale"' })).status, 412, 'stale If-Match');
  t.equal((await s.dav('PUT', '/sync/calendars/cal/nope.ics', ics('n', 'N'), { ...CAL, 'if-match': etag })).status, 412, 'If-Match on a missing object');
  const updated = await s.dav('PUT', '/sync/calendars/cal/u1.ics', ics('u1', 'Second'), { ...CAL, 'if-match': etag });
  t.equal(updated.status, 204);
  t.not(updated.headers.get('etag'), etag, 'a new ETag after an update');

  const dup = await s.dav('PUT', '/sync/calendars/cal/other.ics', ics('u1', 'Same UID'), CAL);
  t.equal(dup.status, 409, 'a second object with the same UID');
  t.match(dup.text, '<no-uid-conflict xmlns="urn:ietf:params:xml:ns:caldav"><D:href>/sync/calendars/cal/u1.ics</D:href></no-uid-conflict>');
  t.equal((await s.dav('GET', '/sync/calendars/cal/other.ics')).status, 404, 'and nothing was stored');
  await s.dav('MKCALENDAR', '/sync/calendars/cal2/');
  t.equal((await s.dav('PUT', '/sync/calendars/cal2/u1.ics', ics('u1', 'Same UID elsewhere'), CAL)).status, 201, 'the same UID in another calendar is fine');

  t.equal((await s.dav('PUT', '/sync/calendars/missing/x.ics', ics('x', 'X'), CAL)).status, 409, 'PUT into a missing calendar');
  t.equal((await s.dav('DELETE', '/sync/calendars/cal/u1.ics', undefined, { 'if-match': etag })).status, 412, 'DELETE with a stale If-Match');
  const now = (await s.dav('GET', '/sync/calendars/cal/u1.ics')).headers.get('etag') as string;
  t.equal((await s.dav('DELETE', '/sync/calendars/cal/u1.ics', undefined, { 'if-match': now })).status, 204);
  t.equal((await s.dav('GET', '/sync/calendars/cal/u1.ics')).status, 404);
  t.equal((await s.dav('PUT', '/sync/calendars/cal/other.ics', ics('u1', 'UID free again'), CAL)).status, 201, 'a deleted object frees its UID');
});

t.test('sync-collection: initial, incremental with deletions, Depth 0 or 1, stale and foreign tokens are 403', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  await s.dav('MKCALENDAR', '/sync/calendars/other/');
  await s.dav('PUT', '/sync/calendars/cal/a.ics', ics('a', 'A'), CAL);
  await s.dav('PUT', '/sync/calendars/cal/b.ics', ics('b', 'B'), CAL);
  const first = await s.dav('REPORT', '/sync/calendars/cal/', SYNC(''));
  t.equal(first.status, 207);
  t.equal((first.text.match(/<D:response>/g) ?? []).length, 2);
  const t1 = tokenOf(first.text);
  const same = await s.dav('REPORT', '/sync/calendars/cal/', SYNC(t1), { depth: '1' });
  t.equal((same.text.match(/<D:response>/g) ?? []).length, 0, 'nothing changed');
  t.equal(tokenOf(same.text), t1, 'and the token stays');

  await s.dav('PUT', '/sync/calendars/cal/c.ics', ics('c', 'C'), CAL);
  await s.dav('DELETE', '/sync/calendars/cal/a.ics');
  await s.dav('PUT', '/sync/calendars/other/z.ics', ics('z', 'Z'), CAL);
  const next = await s.dav('REPORT', '/sync/calendars/cal/', SYNC(t1), { depth: '0' });
  t.match(next.text, /<D:href>\/sync\/calendars\/cal\/c.ics<\/D:href><D:propstat>/);
  t.match(next.text, '<D:response><D:href>/sync/calendars/cal/a.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>');
  t.notMatch(next.text, 'z.ics', 'another calendar\'s changes stay out');

  for (const bad of ['garbage', 'http://cozy.io/ns/sync/x/y', t1.replace(/\/[^/]*$/, '/WyI5OTk5OTkiLCI5OTk5OTkiXQ')]) {
    const r = await s.dav('REPORT', '/sync/calendars/cal/', SYNC(bad));
    t.equal(r.status, 403, `token ${bad.slice(0, 30)}`);
    t.match(r.text, '<D:valid-sync-token/>');
  }
  const foreign = await s.dav('REPORT', '/sync/calendars/other/', SYNC(t1));
  t.equal(foreign.status, 403, 'a token of another calendar');
  await s.dav('DELETE', '/sync/calendars/cal/');
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  t.equal((await s.dav('REPORT', '/sync/calendars/cal/', SYNC(t1))).status, 403, 'a token of a deleted calendar of the same name');
});

t.test('sync tokens survive a restart: they are the store\'s own sequences', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-sync-restart-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const boot = async () => {
    const adapter = new PouchAdapter({ path: dir });
    const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-sync': {} } }, storeAdapter: adapter });
    await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
    return { tk, port: (tk.kernel.app.server.address() as AddressInfo).port };
  };
  const one = await boot();
  const inst = await one.tk.createInstance('restart.example');
  const { password } = await one.tk.kernel.container.resolve<DevicePasswordService>(DEVICE_PASSWORDS.token).create(inst, 'test', ['calendars']);
  const call = (port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    hostRequest(port, 'restart.example', method, path, body, { authorization: `Basic ${Buffer.from(`me:${password}`).toString('base64')}`, ...headers });
  await call(one.port, 'MKCALENDAR', '/sync/calendars/cal/');
  await call(one.port, 'PUT', '/sync/calendars/cal/a.ics', ics('a', 'A'), CAL);
  const token = tokenOf((await call(one.port, 'REPORT', '/sync/calendars/cal/', SYNC(''))).text);
  await one.tk.close();

  const two = await boot();
  t.teardown(() => two.tk.close());
  await call(two.port, 'PUT', '/sync/calendars/cal/b.ics', ics('b', 'B'), CAL);
  const after = await call(two.port, 'REPORT', '/sync/calendars/cal/', SYNC(token));
  t.equal(after.status, 207, 'the token from before the restart is still valid');
  t.match(after.text, 'b.ics');
  t.notMatch(after.text, 'a.ics', 'and only the change since it is reported');
});

t.test('auth: Basic with a token as password and OAuth Bearer work when the token covers the doctypes', async (t) => {
  const s = await startSync(t);
  const auth = s.tk.kernel.auth;
  const calendars = await auth.issueToken(s.inst, 'cli', { subject: 'test', scope: 'io.cozy.calendar.calendars io.cozy.calendar.events io.cozy.calendar.todos' });
  const narrow = await auth.issueToken(s.inst, 'cli', { subject: 'test', scope: 'io.cozy.calendar.events' });
  await s.tk.kernel.store.put(s.inst, 'io.cozy.oauth.clients', { _id: 'thunderbird', client_name: 'Thunderbird', software_id: 'tb' });
  const oauth = await auth.issueToken(s.inst, 'access', { subject: 'thunderbird', scope: 'io.cozy.contacts io.cozy.contacts.addressbooks' });
  const req = (path: string, authorization: string) => fetch(`${s.origin}${path}`, { method: 'PROPFIND', headers: { authorization, depth: '0' } });
  t.equal((await req('/sync/calendars/', `Basic ${Buffer.from(`me:${calendars}`).toString('base64')}`)).status, 207, 'Basic with a token');
  t.equal((await req('/sync/calendars/', `Bearer ${calendars}`)).status, 207, 'Bearer');
  t.equal((await req('/sync/calendars/', `Bearer ${narrow}`)).status, 403, 'a token without the calendars doctype');
  t.equal((await req('/sync/contacts/', `Bearer ${oauth}`)).status, 207, 'an OAuth access token on contacts');
  t.equal((await req('/sync/calendars/', `Bearer ${oauth}`)).status, 403, 'and not on calendars');
  t.equal((await req('/sync/calendars/', 'Bearer not-a-token')).status, 401, 'a bad token is a 401 challenge');
});

t.test('a Depth 1 PROPFIND of a home reads the member sequences once, however many calendars it lists', async (t) => {
  const s = await startSync(t);
  for (let i = 0; i < 6; i++) await s.dav('MKCALENDAR', `/sync/calendars/c${i}/`);
  const store = s.tk.kernel.store;
  const changes = store.changes.bind(store);
  const reads: string[] = [];
  store.changes = ((inst, doctype, opts) => {
    if (opts?.descending) reads.push(doctype);
    return changes(inst, doctype, opts);
  }) as typeof store.changes;
  t.teardown(() => {
    store.changes = changes;
  });
  const res = await s.dav('PROPFIND', '/sync/calendars/', PROPFIND('<cs:getctag/><d:sync-token/>'), { depth: '1' });
  t.equal(res.status, 207);
  const tags = [...res.text.matchAll(/<D:sync-token>([^<]+)<\/D:sync-token>/g)].map((m) => m[1]!);
  t.equal(tags.length, 6, 'a token per calendar');
  t.equal(new Set(tags.map((tk) => tk.split('/').pop())).size, 1, 'all made of the same sequences');
  t.same(reads.sort(), ['io.cozy.calendar.calendars', 'io.cozy.calendar.events', 'io.cozy.calendar.todos'], 'each database\'s last sequence read once');
});
