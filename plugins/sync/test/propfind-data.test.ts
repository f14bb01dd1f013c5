import t from 'tap';
import { startSync } from './helpers.ts';

const NSS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cr="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/"';
const PROPFIND = (props: string) => `<?xml version="1.0" encoding="utf-8"?><d:propfind ${NSS}><d:prop>${props}</d:prop></d:propfind>`;
const CAL = { 'content-type': 'text/calendar; charset=utf-8' };
const ics = (uid: string, extra = '') =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\nSUMMARY:Meeting ${uid}\r\nDESCRIPTION:long text\r\n${extra}END:VEVENT\r\nEND:VCALENDAR\r\n`;
const VCARD = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:card-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEMAIL;PREF=1:ada@example.com\r\nNOTE:first programmer\r\nEND:VCARD\r\n';
const dataOf = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name} xmlns="[^"]+">([^<]*)</${name}>`, 'g'))].map((m) => m[1]!.replace(/&#13;|&#xD;/g, '\r'));

t.test('PROPFIND asks for calendar-data and address-data shaped like in a report (RFC 4791 §9.6, RFC 6352 §10.4)', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  await s.dav('PUT', '/sync/calendars/cal/a.ics', ics('a'), CAL);
  await s.dav('PUT', '/sync/calendars/cal/r.ics', ics('r', 'RRULE:FREQ=DAILY;COUNT=3\r\n'), CAL);

  const whole = await s.dav('PROPFIND', '/sync/calendars/cal/a.ics', PROPFIND('<d:getetag/><d:getcontentlength/><c:calendar-data/>'), { depth: '0' });
  t.equal(whole.status, 207);
  t.same(dataOf(whole.text, 'calendar-data'), [ics('a')], 'the whole object');
  t.match(whole.text, `<D:getcontentlength>${Buffer.byteLength(ics('a'))}</D:getcontentlength>`);

  const partial = await s.dav('PROPFIND', '/sync/calendars/cal/', PROPFIND('<d:getetag/><c:calendar-data><c:comp name="VCALENDAR"><c:prop name="VERSION"/><c:comp name="VEVENT"><c:prop name="UID"/><c:prop name="SUMMARY"/></c:comp></c:comp></c:calendar-data>'), { depth: '1' });
  const bodies = dataOf(partial.text, 'calendar-data');
  t.equal(bodies.length, 2, 'one per member of the calendar');
  for (const b of bodies) {
    t.match(b, /^BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:[ar]\r\nSUMMARY:Meeting [ar]\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n$/, 'only the properties asked for');
  }

  const expanded = await s.dav('PROPFIND', '/sync/calendars/cal/r.ics', PROPFIND('<c:calendar-data><c:expand start="20250311T000000Z" end="20250320T000000Z"/></c:calendar-data>'), { depth: '0' });
  const instances = dataOf(expanded.text, 'calendar-data')[0] ?? '';
  t.equal((instances.match(/BEGIN:VEVENT/g) ?? []).length, 2, 'expand: the two instances in the range');
  t.match(instances, 'RECURRENCE-ID:20250311T090000Z');

  const badType = await s.dav('PROPFIND', '/sync/calendars/cal/a.ics', PROPFIND('<c:calendar-data content-type="application/calendar+json"/>'), { depth: '0' });
  t.equal(badType.status, 403, 'a data type that is not served');
  t.match(badType.text, 'supported-calendar-data');

  t.equal((await s.dav('PUT', '/sync/contacts/default/ada.vcf', VCARD, { 'content-type': 'text/vcard' })).status, 201);
  const v3 = await s.dav('PROPFIND', '/sync/contacts/default/ada.vcf', PROPFIND('<cr:address-data content-type="text/vcard" version="3.0"/>'), { depth: '0' });
  const card3 = dataOf(v3.text, 'address-data')[0] ?? '';
  t.match(card3, 'VERSION:3.0', 'converted to the version asked');
  t.match(card3, /EMAIL;TYPE=(?:INTERNET,)?pref[^:]*:ada@example.com/i);
  const some = await s.dav('PROPFIND', '/sync/contacts/default/', PROPFIND('<cr:address-data><cr:prop name="FN"/></cr:address-data>'), { depth: '1' });
  const cards = dataOf(some.text, 'address-data');
  t.equal(cards.length, 1);
  t.equal(cards[0], 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nEND:VCARD\r\n', 'only FN, with BEGIN, VERSION and END');
  const plain = await s.dav('PROPFIND', '/sync/contacts/default/ada.vcf', PROPFIND('<cr:address-data/>'), { depth: '0' });
  t.same(dataOf(plain.text, 'address-data'), [VCARD], 'as stored when no version is asked');
});

t.test('what DAVx5, Thunderbird and iOS probe: home ctag, scheduling absent, iOS MKCALENDAR, optional limits absent', async (t) => {
  const s = await startSync(t);
  const opts = await s.dav('OPTIONS', '/sync/');
  t.notMatch(opts.headers.get('dav'), /calendar-auto-schedule/, 'no scheduling advertised, so clients do not look for an inbox');

  const principal = await s.dav('PROPFIND', '/sync/principal/', PROPFIND('<c:calendar-home-set/><c:schedule-inbox-URL/><c:schedule-outbox-URL/><c:calendar-user-type/><d:group-membership/><cr:principal-address/>'), { depth: '0' });
  t.equal(principal.status, 207);
  t.match(principal.text, /<D:propstat><D:prop><calendar-home-set[^]*HTTP\/1.1 200 OK/);
  for (const absent of ['schedule-inbox-URL', 'schedule-outbox-URL', 'calendar-user-type', 'D:group-membership', 'principal-address']) {
    t.match(principal.text, new RegExp(`<(?:${absent}|${absent} xmlns="[^"]+")/>(?:<[^>]+/>)*</D:prop><D:status>HTTP/1.1 404`), `${absent} is 404`);
  }

  // iOS creates calendars with scheduling transparency, order, color and timezone in one MKCALENDAR.
  const mk = await s.dav('MKCALENDAR', '/sync/calendars/ios/', `<?xml version="1.0"?><c:mkcalendar ${NSS}><d:set><d:prop><d:displayname>Home</d:displayname><a:calendar-color>#FF2968FF</a:calendar-color><a:calendar-order>3</a:calendar-order><c:schedule-calendar-transp><c:opaque/></c:schedule-calendar-transp><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set><c:calendar-timezone-id>Europe/Berlin</c:calendar-timezone-id></d:prop></d:set></c:mkcalendar>`);
  t.equal(mk.status, 201, 'an iOS-style MKCALENDAR succeeds');
  const cal = await s.dav('PROPFIND', '/sync/calendars/ios/', PROPFIND('<c:schedule-calendar-transp/><a:calendar-order/><c:calendar-timezone-id/><c:max-resource-size/><c:min-date-time/><c:max-date-time/><c:max-instances/><c:max-attendees-per-instance/>'), { depth: '0' });
  t.match(cal.text, /<schedule-calendar-transp xmlns="urn:ietf:params:xml:ns:caldav"><(?:C:)?opaque(?: xmlns="urn:ietf:params:xml:ns:caldav")?\/><\/schedule-calendar-transp>/);
  t.match(cal.text, '<calendar-order xmlns="http://apple.com/ns/ical/">3</calendar-order>');
  t.match(cal.text, '>Europe/Berlin</calendar-timezone-id>');
  t.match(cal.text, /<max-resource-size xmlns="urn:ietf:params:xml:ns:caldav">\d+<\/max-resource-size>/);
  // Not enforced here (old birthdays, unending rules and large meetings are all stored), so not claimed: 404.
  t.match(cal.text, /<min-date-time[^>]*\/><max-date-time[^>]*\/><max-instances[^>]*\/><max-attendees-per-instance[^>]*\/><\/D:prop><D:status>HTTP\/1.1 404/);
  const badTransp = await s.dav('PROPPATCH', '/sync/calendars/ios/', `<?xml version="1.0"?><d:propertyupdate ${NSS}><d:set><d:prop><c:schedule-calendar-transp><c:sometimes/></c:schedule-calendar-transp></d:prop></d:set></d:propertyupdate>`);
  t.match(badTransp.text, /HTTP\/1.1 409/, 'transparency is opaque or transparent');
  const transparent = await s.dav('PROPPATCH', '/sync/calendars/ios/', `<?xml version="1.0"?><d:propertyupdate ${NSS}><d:set><d:prop><c:schedule-calendar-transp><c:transparent/></c:schedule-calendar-transp></d:prop></d:set></d:propertyupdate>`);
  t.notMatch(transparent.text, /HTTP\/1.1 (403|409|424)/);
  const transp = await s.dav('PROPFIND', '/sync/calendars/ios/', PROPFIND('<c:schedule-calendar-transp/>'), { depth: '0' });
  t.match(transp.text, /<schedule-calendar-transp xmlns="urn:ietf:params:xml:ns:caldav"><(?:C:)?transparent(?: xmlns="urn:ietf:params:xml:ns:caldav")?\/><\/schedule-calendar-transp>/, 'read back as transparent');

  const ctag = async () => /<getctag xmlns="http:\/\/calendarserver.org\/ns\/">([^<]+)<\/getctag>/.exec((await s.dav('PROPFIND', '/sync/calendars/', PROPFIND('<cs:getctag/>'), { depth: '0' })).text)?.[1];
  const c0 = await ctag();
  t.ok(c0, 'the calendar home has a ctag');
  t.equal(await ctag(), c0, 'stable while nothing changes');
  await s.dav('PUT', '/sync/calendars/ios/a.ics', ics('a'), CAL);
  const c1 = await ctag();
  t.not(c1, c0, 'an event changes it');
  await s.dav('PROPPATCH', '/sync/calendars/ios/', `<?xml version="1.0"?><d:propertyupdate ${NSS}><d:set><d:prop><d:displayname>Renamed</d:displayname></d:prop></d:set></d:propertyupdate>`);
  t.not(await ctag(), c1, 'so does a calendar property');
  const books = await s.dav('PROPFIND', '/sync/contacts/', PROPFIND('<cs:getctag/>'), { depth: '0' });
  t.match(books.text, /<getctag xmlns="http:\/\/calendarserver.org\/ns\/">http:\/\/cozy.io\/ns\/sync\/home\//, 'the address book home too');
});
