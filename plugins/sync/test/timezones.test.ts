import ICAL from 'ical.js';
import t from 'tap';
import { registerReferencedZones, servedCalendar, standardZone } from '../src/standard-zones.ts';
import { zoneById } from '../src/timezone.ts';
import { startSync } from './helpers.ts';

const C = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"';
const CAL = { 'content-type': 'text/calendar; charset=utf-8' };
const vcal = (body: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${body}END:VCALENDAR\r\n`;
const event = (uid: string, dtstart: string, dtend: string, extra = '') =>
  vcal(`BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20250101T000000Z\r\n${dtstart}\r\n${dtend}\r\nSUMMARY:${uid}\r\n${extra}END:VEVENT\r\n`);
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]).sort();
const PARIS_DEFINED = vcal(`${standardZone('Europe/Paris')!.text}\r\nBEGIN:VEVENT\r\nUID:paris\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Paris:20250310T090000\r\nDTEND;TZID=Europe/Paris:20250310T100000\r\nSUMMARY:paris\r\nEND:VEVENT\r\n`);

t.test('made-up vendor prefixes cannot grow ical.js\'s process-wide zone registry without bound', async (t) => {
  const ref = (id: string) => event('x', `DTSTART;TZID=${id}:20250310T090000`, `DTEND;TZID=${id}:20250310T100000`);
  registerReferencedZones(ref('Europe/Lisbon'));
  for (let i = 0; i < 300; i++) registerReferencedZones(ref(`/bound-${i}/Europe/Paris`));
  t.notOk(ICAL.TimezoneService.has('/bound-0/Europe/Paris'), 'the oldest made-up id was removed again');
  t.ok(ICAL.TimezoneService.has('/bound-299/Europe/Paris'), 'the newest is registered');
  t.ok(ICAL.TimezoneService.has('Europe/Lisbon'), 'IANA ids stay');
  registerReferencedZones(ref('/bound-0/Europe/Paris'));
  t.ok(ICAL.TimezoneService.has('/bound-0/Europe/Paris'), 'a removed id is registered anew when an object names it');
});

t.test('standard zones: ids, aliases and vendor prefixes resolve; VTIMEZONEs added or left out', async (t) => {
  t.equal(standardZone('Europe/Paris')?.zone.tzid, 'Europe/Paris');
  t.match(standardZone('US/Eastern')?.text, /^BEGIN:VTIMEZONE\r\nTZID:US\/Eastern\r\n/, 'an alias keeps the id it was asked by');
  t.ok(standardZone('/mozilla.org/20050126_1/America/New_York'), 'an old Lightning id names the zone it ends with');
  t.equal(standardZone('Mars/Olympus_Mons'), undefined);
  t.equal(standardZone('Europe/Paris;x'), undefined, 'no parameter smuggling in an id');

  const bare = event('ny', 'DTSTART;TZID=America/New_York:20250310T090000', 'DTEND;TZID=America/New_York:20250310T100000');
  const included = servedCalendar(bare, 'include');
  t.match(included, /PRODID:-\/\/test\/\/EN\r\nBEGIN:VTIMEZONE\r\nTZID:America\/New_York\r\n[\s\S]*END:VTIMEZONE\r\nBEGIN:VEVENT/, 'the VTIMEZONE goes before the event');
  t.equal(servedCalendar(bare, 'omit'), bare, 'nothing to leave out');
  t.equal(servedCalendar(PARIS_DEFINED, 'include'), PARIS_DEFINED, 'a complete object is served as stored');
  t.notMatch(servedCalendar(PARIS_DEFINED, 'omit'), /VTIMEZONE/, 'a standard VTIMEZONE is left out on request');
  const custom = vcal('BEGIN:VTIMEZONE\r\nTZID:My Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID="My Zone":20250310T090000\r\nEND:VEVENT\r\n');
  t.equal(servedCalendar(custom, 'omit'), custom, 'a zone of its own always stays');
  t.equal(servedCalendar(custom, 'include'), custom);
});

t.test('RFC 7809 over HTTP: an object without its VTIMEZONE, CalDAV-Timezones, time ranges, expand', async (t) => {
  const s = await startSync(t);
  t.match((await s.dav('OPTIONS', '/sync/calendars/')).headers.get('dav'), /calendar-no-timezone/, 'advertised');
  await s.dav('MKCALENDAR', '/sync/calendars/tz/');
  // 09:00 in New York on 10 March 2025 is 13:00Z (daylight time began on the 9th); read as floating it would be 09:00Z.
  const bare = event('ny', 'DTSTART;TZID=America/New_York:20250310T090000', 'DTEND;TZID=America/New_York:20250310T100000');
  t.equal((await s.dav('PUT', '/sync/calendars/tz/ny.ics', bare, CAL)).status, 201, 'stored without its VTIMEZONE');
  // Weekly at 09:00 Paris time across the change to summer time (30 March): 08:00Z, then 07:00Z.
  const weekly = event('weekly', 'DTSTART;TZID=Europe/Paris:20250324T090000', 'DTEND;TZID=Europe/Paris:20250324T093000', 'RRULE:FREQ=WEEKLY;COUNT=3\r\n');
  t.equal((await s.dav('PUT', '/sync/calendars/tz/weekly.ics', weekly, CAL)).status, 201);
  t.equal((await s.dav('PUT', '/sync/calendars/tz/paris.ics', PARIS_DEFINED, CAL)).status, 201);

  const query = (start: string, end: string, extra = '') =>
    s.dav('REPORT', '/sync/calendars/tz/', `<?xml version="1.0"?><c:calendar-query ${C}><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter>${extra}</c:calendar-query>`, { depth: '1' });
  t.same(hrefs((await query('20250310T130000Z', '20250310T133000Z')).text), ['/sync/calendars/tz/ny.ics'], 'found at its real time');
  t.same(hrefs((await query('20250310T083000Z', '20250310T093000Z')).text), ['/sync/calendars/tz/paris.ics'], 'not at the floating reading of its time (only Paris, 08:00Z, is there)');
  t.same(hrefs((await query('20250331T065000Z', '20250331T071000Z')).text), ['/sync/calendars/tz/weekly.ics'], 'the second instance, in summer time');
  t.same(hrefs((await query('20250331T075000Z', '20250331T081000Z')).text), [], 'not an hour later');

  const got = await s.dav('GET', '/sync/calendars/tz/ny.ics');
  t.match(got.text, /BEGIN:VTIMEZONE\r\nTZID:America\/New_York\r\n/, 'served with the VTIMEZONE the client left out');
  t.match(got.text, /DTSTART;TZID=America\/New_York:20250310T090000/);
  const etag = got.headers.get('etag');
  const asT = await s.dav('GET', '/sync/calendars/tz/ny.ics', undefined, { 'caldav-timezones': 'T' });
  t.equal(asT.text, got.text, 'CalDAV-Timezones: T is the default');
  const asF = await s.dav('GET', '/sync/calendars/tz/ny.ics', undefined, { 'caldav-timezones': 'F' });
  t.equal(asF.text, bare, 'CalDAV-Timezones: F leaves standard zones out');
  t.equal(asF.headers.get('etag'), etag, 'one ETag whatever the header');
  t.equal((await s.dav('GET', '/sync/calendars/tz/paris.ics')).text, PARIS_DEFINED, 'an object with its VTIMEZONE is served byte for byte');
  t.notMatch((await s.dav('GET', '/sync/calendars/tz/paris.ics', undefined, { 'caldav-timezones': 'F' })).text, /VTIMEZONE/);

  const multiget = (headers: Record<string, string>) =>
    s.dav('REPORT', '/sync/calendars/tz/', `<?xml version="1.0"?><c:calendar-multiget ${C}><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>/sync/calendars/tz/ny.ics</d:href><d:href>/sync/calendars/tz/paris.ics</d:href></c:calendar-multiget>`, headers);
  t.equal((((await multiget({})).text).match(/BEGIN:VTIMEZONE/g) ?? []).length, 2, 'a multiget serves both VTIMEZONEs');
  t.notMatch((await multiget({ 'caldav-timezones': 'F' })).text, /VTIMEZONE/, 'and none with F');

  const expanded = await s.dav('REPORT', '/sync/calendars/tz/weekly.ics', `<?xml version="1.0"?><c:calendar-query ${C}><d:prop><c:calendar-data><c:expand start="20250301T000000Z" end="20250501T000000Z"/></c:calendar-data></d:prop><c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>`, { depth: '0' });
  t.match(expanded.text, 'DTSTART:20250324T080000Z');
  t.match(expanded.text, 'DTSTART:20250331T070000Z', 'expanded in the zone the client named');
  t.match(expanded.text, 'DTSTART:20250407T070000Z');

  const fb = await s.dav('REPORT', '/sync/calendars/tz/', `<?xml version="1.0"?><c:free-busy-query ${C}><c:time-range start="20250310T000000Z" end="20250311T000000Z"/></c:free-busy-query>`, { depth: '1' });
  t.match(fb.text, 'FREEBUSY;FBTYPE=BUSY:20250310T130000Z/20250310T140000Z', 'free-busy reads the zone too');
  t.notMatch(fb.text, 'T090000Z/20250310T100000Z', 'not as floating time');

  t.equal((await s.dav('PUT', '/sync/calendars/tz/odd.ics', event('odd', 'DTSTART;TZID=Nowhere/Special:20250310T090000', 'DTEND;TZID=Nowhere/Special:20250310T100000'), CAL)).status, 201, 'an unknown TZID without definition is still accepted');
  t.same(hrefs((await query('20250310T091500Z', '20250310T093000Z')).text), ['/sync/calendars/tz/odd.ics'], 'and read as floating time (UTC: the calendar names no zone)');
});

t.test('RFC 7809 calendar-timezone-id: MKCALENDAR, PROPPATCH, PROPFIND, floating times, query timezone-id', async (t) => {
  const s = await startSync(t);
  const props = '<d:prop><c:calendar-timezone-id/><c:calendar-timezone/></d:prop>';
  const read = async (path: string) => (await s.dav('PROPFIND', path, `<?xml version="1.0"?><d:propfind ${C}>${props}</d:propfind>`, { depth: '0' })).text;

  const mk = await s.dav('MKCALENDAR', '/sync/calendars/paris/', `<?xml version="1.0"?><c:mkcalendar ${C}><d:set><d:prop><c:calendar-timezone-id>Europe/Paris</c:calendar-timezone-id></d:prop></d:set></c:mkcalendar>`);
  t.equal(mk.status, 201);
  let text = await read('/sync/calendars/paris/');
  t.match(text, '<calendar-timezone-id xmlns="urn:ietf:params:xml:ns:caldav">Europe/Paris</calendar-timezone-id>');
  t.match(text, /<calendar-timezone xmlns="urn:ietf:params:xml:ns:caldav">BEGIN:VCALENDAR[\s\S]*TZID:Europe\/Paris[\s\S]*END:VCALENDAR/, 'calendar-timezone follows');

  // A floating event at 09:00 is 08:00Z in Paris in winter.
  await s.dav('PUT', '/sync/calendars/paris/f.ics', event('f', 'DTSTART:20250110T090000', 'DTEND:20250110T093000'), CAL);
  const query = (path: string, start: string, end: string, extra = '') =>
    s.dav('REPORT', path, `<?xml version="1.0"?><c:calendar-query ${C}><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter>${extra}</c:calendar-query>`, { depth: '1' });
  t.equal(hrefs((await query('/sync/calendars/paris/', '20250110T080000Z', '20250110T081000Z')).text).length, 1, 'floating time read in the calendar zone');
  t.equal(hrefs((await query('/sync/calendars/paris/', '20250110T090000Z', '20250110T091000Z')).text).length, 0);
  const inTokyo = await query('/sync/calendars/paris/', '20250110T000000Z', '20250110T001000Z', '<c:timezone-id>Asia/Tokyo</c:timezone-id>');
  t.equal(hrefs(inTokyo.text).length, 1, 'a query timezone-id wins over the calendar zone (09:00 in Tokyo is 00:00Z)');
  const unknown = await query('/sync/calendars/paris/', '20250110T000000Z', '20250110T001000Z', '<c:timezone-id>Nowhere/Special</c:timezone-id>');
  t.equal(unknown.status, 403);
  t.match(unknown.text, '<valid-timezone xmlns="urn:ietf:params:xml:ns:caldav"/>');
  const both = await query('/sync/calendars/paris/', '20250110T000000Z', '20250110T001000Z', '<c:timezone-id>Asia/Tokyo</c:timezone-id><c:timezone>x</c:timezone>');
  t.equal(both.status, 400, 'timezone and timezone-id together');

  const patch = (body: string) => s.dav('PROPPATCH', '/sync/calendars/paris/', `<?xml version="1.0"?><d:propertyupdate ${C}>${body}</d:propertyupdate>`);
  const bad = await patch('<d:set><d:prop><c:calendar-timezone-id>Nowhere/Special</c:calendar-timezone-id><d:displayname>never</d:displayname></d:prop></d:set>');
  t.match(bad.text, /calendar-timezone-id xmlns="urn:ietf:params:xml:ns:caldav"\/><\/D:prop><D:status>HTTP\/1.1 403[^<]*<\/D:status><D:error><C:valid-timezone/, 'an unknown id: 403 valid-timezone');
  t.match(bad.text, /HTTP\/1.1 424/, 'the rest fails with it');
  t.match(await read('/sync/calendars/paris/'), 'Europe/Paris', 'nothing changed');

  t.equal((await patch('<d:set><d:prop><c:calendar-timezone-id>America/New_York</c:calendar-timezone-id></d:prop></d:set>')).status, 207);
  text = await read('/sync/calendars/paris/');
  t.match(text, '>America/New_York</calendar-timezone-id>');
  t.match(text, 'TZID:America/New_York', 'both properties changed');
  t.equal(hrefs((await query('/sync/calendars/paris/', '20250110T140000Z', '20250110T141000Z')).text).length, 1, '09:00 in New York is 14:00Z in January');

  const tokyo = standardZone('Asia/Tokyo')!.text;
  const setVtz = await patch(`<d:set><d:prop><c:calendar-timezone>BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n${tokyo}\r\nEND:VCALENDAR\r\n</c:calendar-timezone></d:prop></d:set>`);
  t.notMatch(setVtz.text, /HTTP\/1.1 (403|424)/);
  t.match(await read('/sync/calendars/paris/'), '>Asia/Tokyo</calendar-timezone-id>', 'setting calendar-timezone sets the id');

  t.equal((await patch('<d:remove><d:prop><c:calendar-timezone-id/></d:prop></d:remove>')).status, 207);
  text = await read('/sync/calendars/paris/');
  t.match(text, /<D:status>HTTP\/1.1 404 Not Found<\/D:status>/);
  t.notMatch(text, /TZID/, 'removing the id removes both');
  t.equal(hrefs((await query('/sync/calendars/paris/', '20250110T090000Z', '20250110T091000Z')).text).length, 1, 'floating is UTC again');

  const badMk = await s.dav('MKCALENDAR', '/sync/calendars/nowhere/', `<?xml version="1.0"?><c:mkcalendar ${C}><d:set><d:prop><c:calendar-timezone-id>Nowhere/Special</c:calendar-timezone-id></d:prop></d:set></c:mkcalendar>`);
  t.equal(badMk.status, 403, 'MKCALENDAR with an unknown id');
  t.equal((await s.dav('PROPFIND', '/sync/calendars/nowhere/', undefined, { depth: '0' })).status, 404, 'made nothing');
});

t.test('calendar-timezone-id is read from the stored VTIMEZONE; the copy older code kept is dropped at the next write', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  const read = async (path: string) => (await s.dav('PROPFIND', path, `<?xml version="1.0"?><d:propfind ${C}><d:prop><c:calendar-timezone-id/></d:prop></d:propfind>`, { depth: '0' })).text;
  const idOf = (xml: string) => /<calendar-timezone-id xmlns="urn:ietf:params:xml:ns:caldav">([^<]*)</.exec(xml)?.[1];
  for (const [name, id] of [['alias', 'US/Eastern'], ['prefixed', '/mozilla.org/20050126_1/Europe/Paris'], ['plain', 'Asia/Kolkata']]) {
    const mk = await s.dav('MKCALENDAR', `/sync/calendars/${name}/`, `<?xml version="1.0"?><c:mkcalendar ${C}><d:set><d:prop><c:calendar-timezone-id> ${id} </c:calendar-timezone-id></d:prop></d:set></c:mkcalendar>`);
    t.equal(mk.status, 201);
    t.equal(idOf(await read(`/sync/calendars/${name}/`)), id, `${id} reads back as set`);
    const doc = await store.get(s.inst, 'io.cozy.calendar.calendars', name);
    t.equal(doc.timezoneId, undefined, `${id}: no copy of the id is stored`);
    t.match(doc.timezone, `TZID:${id}\r\n`, `${id}: the VTIMEZONE carries it`);
  }
  // As older code wrote it: the id beside the VTIMEZONE.
  await store.put(s.inst, 'io.cozy.calendar.calendars', { _id: 'old', generation: 'g0', components: ['VEVENT', 'VTODO'], timezone: zoneById('Europe/Paris').calendar, timezoneId: 'Europe/Paris' });
  t.equal(idOf(await read('/sync/calendars/old/')), 'Europe/Paris', 'an older calendar reads the same');
  const patched = await s.dav('PROPPATCH', '/sync/calendars/old/', `<?xml version="1.0"?><d:propertyupdate ${C}><d:set><d:prop><d:displayname>Old</d:displayname></d:prop></d:set></d:propertyupdate>`);
  t.equal(patched.status, 207);
  const old = await store.get(s.inst, 'io.cozy.calendar.calendars', 'old');
  t.equal(old.timezoneId, undefined, 'its copy is dropped at the next write');
  t.equal(old.displayname, 'Old');
  t.equal(idOf(await read('/sync/calendars/old/')), 'Europe/Paris', 'and the id still reads the same');
});
