import t from 'tap';
import type { DocEvent } from '@cozy-ts/kernel';
import { startSync } from './helpers.ts';

const SYNC = (token: string, props = '<d:getetag/>') => `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop>${props}</d:prop></d:sync-collection>`;
const tokenOf = (xml: string) => /<D:sync-token>([^<]*)<\/D:sync-token>/.exec(xml)?.[1] ?? '';
const CARD3 = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ada\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEMAIL;TYPE=INTERNET,pref:ada@example.org\r\nTEL;TYPE=CELL:+33 6 00 00 00 00\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n';

t.test('CalDAV and CardDAV writes are documents with the fields apps query, and emit doc events', async (t) => {
  const s = await startSync(t);
  const events: DocEvent[] = [];
  const off = s.tk.kernel.events.on((e) => {
    if (e.doctype.startsWith('io.cozy.calendar') || e.doctype.startsWith('io.cozy.contacts')) events.push(e);
  });
  t.teardown(off);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const ics = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTART;VALUE=DATE:20250310\r\nSUMMARY:Holiday\r\nLOCATION:Lyon\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
  await s.dav('PUT', '/sync/calendars/cal/e1.ics', ics, { 'content-type': 'text/calendar' });
  await s.dav('PUT', '/sync/contacts/default/ada.vcf', CARD3, { 'content-type': 'text/vcard' });
  await s.dav('DELETE', '/sync/calendars/cal/e1.ics');
  await new Promise((r) => setTimeout(r, 50));
  const seen = events.map((e) => `${e.doctype} ${e.verb}`);
  t.ok(seen.includes('io.cozy.calendar.calendars CREATED'));
  t.ok(seen.includes('io.cozy.calendar.events CREATED'));
  t.ok(seen.includes('io.cozy.contacts CREATED'));
  t.ok(seen.includes('io.cozy.calendar.events DELETED'), 'a DAV delete is a DELETED event');

  const contact = await s.tk.kernel.store.get(s.inst, 'io.cozy.contacts', 'default/ada.vcf');
  t.match(contact, {
    fullname: 'Ada Lovelace',
    name: { familyName: 'Lovelace', givenName: 'Ada' },
    email: [{ address: 'ada@example.org', primary: true }],
    phone: [{ number: '+33 6 00 00 00 00', type: 'cell' }],
    dav: { collection: 'default', href: 'ada.vcf', uid: 'ada', version: '3.0', raw: CARD3 },
  });
});

t.test('vCard 3.0 and 4.0 in and out, photos included, the stored bytes kept', async (t) => {
  const s = await startSync(t);
  await s.dav('PUT', '/sync/contacts/default/ada.vcf', CARD3, { 'content-type': 'text/vcard' });
  t.equal((await s.dav('GET', '/sync/contacts/default/ada.vcf')).text, CARD3, 'as stored without an Accept');
  t.equal((await s.dav('GET', '/sync/contacts/default/ada.vcf', undefined, { accept: 'text/vcard; version=3.0' })).text, CARD3);
  const v4 = await s.dav('GET', '/sync/contacts/default/ada.vcf', undefined, { accept: 'text/vcard; version=4.0' });
  t.match(v4.headers.get('content-type'), 'version=4.0');
  t.match(v4.text, 'VERSION:4.0');
  t.match(v4.text, 'PHOTO:data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==', 'the inline photo becomes a data: URI, unescaped');
  t.match(v4.text, 'EMAIL;PREF=1:ada@example.org');
  t.match(v4.text, 'X-CUSTOM:kept');

  const card4 = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:bob\r\nFN:Bob\r\nTEL;VALUE=uri;TYPE=work;PREF=1:tel:+1-555-0100\r\nPHOTO:data:image/png;base64,iVBORw0KGgo=\r\nEND:VCARD\r\n';
  await s.dav('PUT', '/sync/contacts/default/bob.vcf', card4, { 'content-type': 'text/vcard' });
  const report = await s.dav('REPORT', '/sync/contacts/default/', '<?xml version="1.0"?><cr:addressbook-multiget xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><cr:address-data content-type="text/vcard" version="3.0"/></d:prop><d:href>/sync/contacts/default/bob.vcf</d:href><d:href>/sync/contacts/default/missing.vcf</d:href></cr:addressbook-multiget>');
  t.match(report.text, 'VERSION:3.0');
  t.match(report.text, 'PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=');
  t.match(report.text, 'TEL;TYPE=work,pref:+1-555-0100');
  t.match(report.text, '<D:href>/sync/contacts/default/missing.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status>');

  const query = await s.dav('REPORT', '/sync/contacts/default/', '<?xml version="1.0"?><cr:addressbook-query xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/></d:prop><cr:filter><cr:prop-filter name="FN"><cr:text-match collation="i;unicode-casemap" match-type="starts-with">ada</cr:text-match></cr:prop-filter></cr:filter></cr:addressbook-query>');
  t.match(query.text, 'ada.vcf');
  t.notMatch(query.text, 'bob.vcf', 'prop-filter with text-match');
  const negated = await s.dav('REPORT', '/sync/contacts/default/', '<?xml version="1.0"?><cr:addressbook-query xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/></d:prop><cr:filter><cr:prop-filter name="EMAIL"><cr:is-not-defined/></cr:prop-filter></cr:filter></cr:addressbook-query>');
  t.match(negated.text, 'bob.vcf');
  t.notMatch(negated.text, 'ada.vcf', 'is-not-defined');
});

t.test('contacts made or changed through the store (as /data does) reach the next sync-collection', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  const first = await s.dav('REPORT', '/sync/contacts/default/', SYNC(''));
  const t1 = tokenOf(first.text);

  const made = await store.put(s.inst, 'io.cozy.contacts', { fullname: 'Grace Hopper', name: { givenName: 'Grace', familyName: 'Hopper' }, email: [{ address: 'grace@example.org', primary: true }] });
  const next = await s.dav('REPORT', '/sync/contacts/default/', SYNC(t1, '<d:getetag/><cr:address-data/>'));
  t.match(next.text, `/sync/contacts/default/${made.id}.vcf`, 'a contact made in Cozy is a member of the default address book');
  t.match(next.text, 'FN:Grace Hopper');
  t.match(next.text, 'EMAIL;PREF=1:grace@example.org');
  const t2 = tokenOf(next.text);

  await s.dav('PUT', '/sync/contacts/default/ada.vcf', CARD3, { 'content-type': 'text/vcard' });
  const t3 = tokenOf((await s.dav('REPORT', '/sync/contacts/default/', SYNC(t2))).text);
  const doc = await store.get(s.inst, 'io.cozy.contacts', 'default/ada.vcf');
  await store.put(s.inst, 'io.cozy.contacts', { ...doc, fullname: 'Ada King', email: [{ address: 'ada@king.example', primary: true }] });
  const edited = await s.dav('REPORT', '/sync/contacts/default/', SYNC(t3));
  t.match(edited.text, '/sync/contacts/default/ada.vcf', 'an app edit is a change');
  const card = (await s.dav('GET', '/sync/contacts/default/ada.vcf')).text;
  t.match(card, 'FN:Ada King', 'the card follows the app\'s fields');
  t.match(card, 'ada@king.example');
  t.match(card, 'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==', 'and keeps what the app does not know');
  t.match(card, 'X-CUSTOM:kept');
  const t4 = tokenOf(edited.text);

  const grace = await store.get(s.inst, 'io.cozy.contacts', made.id);
  await store.delete(s.inst, 'io.cozy.contacts', made.id, grace._rev as string);
  const gone = await s.dav('REPORT', '/sync/contacts/default/', SYNC(t4));
  t.match(gone.text, `<D:href>/sync/contacts/default/${made.id}.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status>`, 'a deletion through /data is reported');
});

t.test('a listing kept between requests follows writes made elsewhere (another process, /data)', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const ics = (uid: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTART:20250101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
  for (const n of ['a', 'b', 'c']) await s.dav('PUT', `/sync/calendars/cal/${n}.ics`, ics(n), { 'content-type': 'text/calendar' });
  const list = async () => [...(await s.dav('PROPFIND', '/sync/calendars/cal/', '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>', { depth: '1' })).text.matchAll(/<D:href>[^<]*\/([^/<]+\.ics)<\/D:href><D:propstat><D:prop><D:getetag>([^<]+)</g)].map((m) => `${m[1]} ${m[2]}`).sort();
  const before = await list();
  t.equal(before.length, 3);
  t.same(await list(), before, 'unchanged');

  const store = s.tk.kernel.store;
  const b = await store.get(s.inst, 'io.cozy.calendar.events', 'cal/b.ics');
  const edited = await store.put(s.inst, 'io.cozy.calendar.events', { ...b, summary: 'edited elsewhere' });
  const c = await store.get(s.inst, 'io.cozy.calendar.events', 'cal/c.ics');
  await store.delete(s.inst, 'io.cozy.calendar.events', 'cal/c.ics', c._rev as string);
  await store.put(s.inst, 'io.cozy.calendar.events', { _id: 'cal/d.ics', dav: { collection: 'cal', href: 'd.ics', uid: 'd', raw: ics('d'), size: 1 } });
  const after = await list();
  t.same(after.map((l) => l.split(' ')[0]), ['a.ics', 'b.ics', 'd.ics'], 'the deletion and the new member are seen');
  t.ok(after.includes(`b.ics "${edited.rev}"`), 'and the new revision of the edited one');
});
