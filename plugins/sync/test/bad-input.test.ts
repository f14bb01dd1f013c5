import t from 'tap';
import { DEVICE_PASSWORDS, type DevicePasswordService } from '@cozy-ts/kernel';
import { hostRequest, startSync } from './helpers.ts';

const CAL = { 'content-type': 'text/calendar' };
const CARD = { 'content-type': 'text/vcard' };
const event = (uid: string, lines: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20250101T000000Z\r\n${lines}END:VEVENT\r\nEND:VCALENDAR\r\n`;
const QUERY = (start: string, end: string, data = '<c:calendar-data/>') => `<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/>${data}</d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;

t.test('malformed iCalendar and vCards are 400 with a DAV error body, and nothing is stored', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const bad: Array<[string, string, string]> = [
    ['not iCalendar at all', 'hello', 'valid-calendar-data'],
    ['a broken content line', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBROKEN LINE\r\nEND:VCALENDAR\r\n', 'valid-calendar-data'],
    ['an unterminated component', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n', 'valid-calendar-data'],
    ['a date that is not one', event('d', 'DTSTART:2025garbage\r\n'), 'valid-calendar-data'],
    ['an event without UID', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:20250101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n', 'valid-calendar-object-resource'],
    ['two UIDs in one object', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250101T000000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20250101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n', 'valid-calendar-object-resource'],
    ['an empty VCALENDAR', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n', 'valid-calendar-object-resource'],
  ];
  for (const [what, body, condition] of bad) {
    const r = await s.dav('PUT', '/sync/calendars/cal/bad.ics', body, CAL);
    t.equal(r.status, 400, what);
    t.match(r.text, `<${condition} xmlns="urn:ietf:params:xml:ns:caldav"/>`, `${what}: names ${condition}`);
  }
  const journal = await s.dav('PUT', '/sync/calendars/cal/bad.ics', 'BEGIN:VCALENDAR\r\nBEGIN:VJOURNAL\r\nUID:j\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n', CAL);
  t.equal(journal.status, 403, 'a VJOURNAL is not stored');
  const latin1 = await s.dav('PUT', '/sync/calendars/cal/bad.ics', Buffer.from(event('l', 'SUMMARY:caf\u00e9\r\n'), 'latin1') as unknown as string, CAL);
  t.equal(latin1.status, 400, 'a body that is not UTF-8');
  t.equal((await s.dav('PUT', '/sync/calendars/cal/bad.ics', event('j', 'DTSTART:20250101T000000Z\r\n'), { 'content-type': 'application/json' })).status, 415);

  for (const [what, body] of [['not a vCard', 'hello'], ['a broken line', 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nBROKEN\r\nEND:VCARD\r\n'], ['vCard 2.1', 'BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nEND:VCARD\r\n'], ['two cards', 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:b\r\nEND:VCARD\r\n']] as const) {
    const r = await s.dav('PUT', '/sync/contacts/default/bad.vcf', body, CARD);
    t.equal(r.status, 400, what);
    t.match(r.text, '<valid-address-data xmlns="urn:ietf:params:xml:ns:carddav"/>');
  }
  const list = await s.dav('PROPFIND', '/sync/calendars/cal/', undefined, { depth: '1' });
  t.notMatch(list.text, 'bad.ics', 'no calendar object was stored');
  t.equal((await s.dav('GET', '/sync/contacts/default/bad.vcf')).status, 404, 'no card was stored');
});

t.test('a 5 MB event is refused with max-resource-size; 10,000 attendees are stored and served whole', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const huge = event('huge', `DTSTART:20250101T100000Z\r\nDESCRIPTION:${'x'.repeat(70)}\r\n${` ${'y'.repeat(73)}\r\n`.repeat(70_000)}`);
  t.ok(Buffer.byteLength(huge) > 5_000_000);
  const r = await s.dav('PUT', '/sync/calendars/cal/huge.ics', huge, CAL);
  t.equal(r.status, 413);
  t.match(r.text, '<max-resource-size xmlns="urn:ietf:params:xml:ns:caldav"/>');
  t.equal((await s.dav('GET', '/sync/calendars/cal/huge.ics')).status, 404, 'nothing stored');

  const attendees = Array.from({ length: 10_000 }, (_, i) => `ATTENDEE;CN=Guest ${i};ROLE=REQ-PARTICIPANT:mailto:guest${i}@example.org\r\n`).join('');
  const crowd = event('crowd', `DTSTART:20250310T100000Z\r\nDTEND:20250310T110000Z\r\nSUMMARY:Big meeting\r\nORGANIZER:mailto:boss@example.org\r\n${attendees}`);
  const put = await s.dav('PUT', '/sync/calendars/cal/crowd.ics', crowd, CAL);
  t.equal(put.status, 201);
  t.equal((await s.dav('GET', '/sync/calendars/cal/crowd.ics')).text, crowd, 'served byte for byte');
  const q = await s.dav('REPORT', '/sync/calendars/cal/', QUERY('20250301T000000Z', '20250401T000000Z'), { depth: '1' });
  t.match(q.text, 'crowd.ics', 'found by a time-range query');
  const doc = await s.tk.kernel.store.get(s.inst, 'io.cozy.calendar.events', 'cal/crowd.ics');
  t.equal(doc.attendeesCount, 10_000, 'the app fields count the attendees');
});

t.test('RRULE bombs: matching and expansion stop at the configured bounds', async (t) => {
  const s = await startSync(t, { maxIterations: 5000, maxInstances: 500 });
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const bombs: Array<[string, string]> = [
    ['secondly', 'DTSTART:20250101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n'],
    ['huge count', 'DTSTART:20250101T000000Z\r\nDTEND:20250101T000001Z\r\nRRULE:FREQ=MINUTELY;COUNT=2000000000\r\n'],
    ['never matching', 'DTSTART:20250101T000000Z\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n'],
  ];
  for (const [name, lines] of bombs) t.equal((await s.dav('PUT', `/sync/calendars/cal/${name.replace(/ /g, '-')}.ics`, event(name, `SUMMARY:${name}\r\n${lines}`), CAL)).status, 201, `${name} is stored`);

  const far = await s.dav('REPORT', '/sync/calendars/cal/', QUERY('20300101T000000Z', '20300102T000000Z', ''), { depth: '1' });
  t.equal(far.status, 207, 'a time range years after the start is answered');
  t.match(far.text, 'secondly.ics', 'an unending rule walked past the bound counts as matching');

  const expand = await s.dav('REPORT', '/sync/calendars/cal/', QUERY('20250101T000000Z', '20250102T000000Z', '<c:calendar-data><c:expand start="20250101T000000Z" end="20250102T000000Z"/></c:calendar-data>'), { depth: '1' });
  t.equal(expand.status, 207);
  const instances = (expand.text.match(/BEGIN:VEVENT/g) ?? []).length;
  t.ok(instances > 0, `expansion answered ${instances} instances`);
  t.ok(instances <= 3 * 500 + 1, 'at most maxInstances per object');
  t.notMatch(expand.text, 'RRULE', 'expanded instances carry no rule');
});

t.test('XML bombs and external entities are refused before anything is read', async (t) => {
  const s = await startSync(t);
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol3;</d:displayname></d:prop></d:propfind>`;
  const external = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:propfind>`;
  for (const [what, body] of [['billion laughs', laughs], ['external entity', external], ['unclosed', '<d:propfind xmlns:d="DAV:"><d:prop>'], ['undeclared prefix', '<x:propfind><x:prop/></x:propfind>']]) {
    const r = await s.dav('PROPFIND', '/sync/', body, { depth: '0', 'content-type': 'application/xml' });
    t.equal(r.status, 400, what);
    t.notMatch(r.text, 'root:', `${what}: no file content leaks`);
  }
  const report = await s.dav('REPORT', '/sync/contacts/default/', external);
  t.equal(report.status, 400, 'the same in a REPORT');
  const unknown = await s.dav('REPORT', '/sync/contacts/default/', '<?xml version="1.0"?><d:expand-property xmlns:d="DAV:"/>');
  t.equal(unknown.status, 403, 'an unknown report');
  t.match(unknown.text, '<D:supported-report/>');

  // RFC 6578 on the homes is not offered (Radicale refuses it the same way; Xandikos 0.2.8 answers with a fixed
  // token and never lists a calendar): the homes do not advertise it and refuse it with the report precondition.
  const sync = '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>';
  for (const home of ['/sync/calendars/', '/sync/contacts/']) {
    const refused = await s.dav('REPORT', home, sync, { depth: '0' });
    t.equal(refused.status, 403, `${home}: sync-collection refused`);
    t.match(refused.text, '<D:supported-report/>', `${home}: with the supported-report precondition`);
    const set = await s.dav('PROPFIND', home, '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:supported-report-set/><d:sync-token/></d:prop></d:propfind>', { depth: '0' });
    t.match(set.text, /<D:prop><D:supported-report-set\/><\/D:prop><D:status>HTTP\/1.1 200 OK<\/D:status>/, `${home}: an empty supported-report-set`);
    t.match(set.text, /<D:prop><D:sync-token\/><\/D:prop><D:status>HTTP\/1.1 404 Not Found/, `${home}: and no sync-token`);
  }
});

t.test('one instance never sees another\'s data; device password scopes hold', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/mine/');
  t.equal((await s.dav('PUT', '/sync/calendars/mine/a.ics', event('a', 'DTSTART:20250101T000000Z\r\nSUMMARY:private\r\n'), CAL)).status, 201);
  const other = await s.tk.createInstance('other.example');
  const devices = s.tk.kernel.container.resolve<DevicePasswordService>(DEVICE_PASSWORDS.token);
  const theirs = (await devices.create(other, 'theirs', ['calendars', 'contacts'])).password;
  const as = (password: string) => ({ authorization: `Basic ${Buffer.from(`x:${password}`).toString('base64')}` });

  const mineOnTheirs = await hostRequest(s.port, 'other.example', 'PUT', '/sync/calendars/mine/b.ics', event('b', 'DTSTART:20250101T000000Z\r\n'), { ...as(s.password), ...CAL });
  t.equal(mineOnTheirs.status, 401, 'my password means nothing on another instance');
  const theirView = await hostRequest(s.port, 'other.example', 'GET', '/sync/calendars/mine/a.ics', undefined, as(theirs));
  t.equal(theirView.status, 404, 'the other instance has no such calendar');
  const theirPut = await hostRequest(s.port, 'other.example', 'PUT', '/sync/calendars/mine/a.ics', event('a', 'DTSTART:20250101T000000Z\r\n'), { ...as(theirs), ...CAL });
  t.equal(theirPut.status, 409, 'and writing there does not reach mine');
  t.match((await s.dav('GET', '/sync/calendars/mine/a.ics')).text, 'SUMMARY:private', 'mine is untouched');

  const contactsOnly = await s.devicePassword(['contacts']);
  t.equal((await fetch(`${s.origin}/sync/calendars/mine/a.ics`, { headers: as(contactsOnly) })).status, 403, 'a contacts password cannot read calendars');
  t.equal((await fetch(`${s.origin}/sync/contacts/default/`, { method: 'PROPFIND', headers: { ...as(contactsOnly), depth: '0' } })).status, 207, 'but reads address books');
  const filesOnly = await s.devicePassword(['files']);
  t.equal((await fetch(`${s.origin}/sync/contacts/default/`, { method: 'PROPFIND', headers: { ...as(filesOnly), depth: '0' } })).status, 403, 'a files password reads no contacts');
});
