import ICAL from 'ical.js';
import t from 'tap';
import { parseXml } from '@cozy-ts/dav';
import { parseCalendarDataRequest, shapeCalendarData } from '../src/calendar-data.ts';
import { parseUtc } from '../src/filters.ts';
import { busyPeriods, freeBusyCalendar, mergePeriods } from '../src/freebusy.ts';
import { parseCalendar } from '../src/ical.ts';
import { DEFAULT_LIMITS } from '../src/recurrence.ts';
import { startSync } from './helpers.ts';

const CAL = { 'content-type': 'text/calendar; charset=utf-8' };
const C = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"';
const wrap = (body: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${body}END:VCALENDAR\r\n`;
const event = (uid: string, start: string, end: string, extra = '') =>
  wrap(`BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:${start}\r\nDTEND:${end}\r\nSUMMARY:${uid} summary\r\nDESCRIPTION:long text of ${uid}\r\n${extra}END:VEVENT\r\n`);
const tokenOf = (xml: string) => /<D:sync-token>([^<]*)<\/D:sync-token>/.exec(xml)?.[1] ?? '';
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]+\.ics)<\/D:href>/g)].map((m) => m[1] as string).sort();
const calendarData = (xml: string) => [...xml.matchAll(/<calendar-data xmlns="urn:ietf:params:xml:ns:caldav">([^<]*)<\/calendar-data>/g)].map((m) => (m[1] as string).replace(/&#13;/g, '\r'));
const el = (xml: string) => parseXml(xml);

t.test('calendar-data partial retrieval (RFC 4791 §9.6): comp, prop, allprop, allcomp, novalue', async (t) => {
  const raw = wrap('BEGIN:VEVENT\r\nUID:p1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\nSUMMARY:Lunch\r\nDESCRIPTION:Private notes\r\nATTENDEE:mailto:a@example.com\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\n');
  const shape = (xml: string) => shapeCalendarData(raw, parseCalendarDataRequest(el(xml))!, DEFAULT_LIMITS);
  const some = shape(`<c:calendar-data ${C}><c:comp name="VCALENDAR"><c:prop name="VERSION"/><c:comp name="VEVENT"><c:prop name="SUMMARY"/><c:prop name="UID"/><c:prop name="ATTENDEE" novalue="yes"/></c:comp></c:comp></c:calendar-data>`);
  t.match(some, /^BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n/);
  t.match(some, 'SUMMARY:Lunch');
  t.match(some, 'UID:p1');
  t.match(some, /\r\nATTENDEE:\r\n/, 'novalue keeps the property without its value');
  t.notMatch(some, 'DESCRIPTION', 'properties not asked for are left out');
  t.notMatch(some, 'PRODID');
  t.notMatch(some, 'VALARM', 'sub-components not asked for are left out');
  t.ok(parseCalendar(`${some.replace('BEGIN:VEVENT', 'PRODID:x\r\nBEGIN:VEVENT')}`), 'what is left still parses');

  const all = shape(`<c:calendar-data ${C}><c:comp name="VCALENDAR"><c:allprop/><c:comp name="VEVENT"><c:allprop/><c:allcomp/></c:comp></c:comp></c:calendar-data>`);
  for (const s of ['PRODID', 'DESCRIPTION:Private notes', 'BEGIN:VALARM', 'TRIGGER:-PT5M']) t.match(all, s, `allprop/allcomp keep ${s}`);

  const whole = shape(`<c:calendar-data ${C}><c:comp name="VCALENDAR"><c:prop name="VERSION"/><c:comp name="VEVENT"/></c:comp></c:calendar-data>`);
  t.match(whole, 'DESCRIPTION:Private notes', 'an empty comp element stands for the whole component (RFC 4791 §7.8.1)');
  t.match(whole, 'BEGIN:VALARM');

  t.equal(parseCalendarDataRequest(el(`<c:calendar-data ${C}/>`)), undefined, 'an empty calendar-data asks for the object as stored');
  const statusOf = (xml: string) => {
    try {
      parseCalendarDataRequest(el(xml));
      return 0;
    } catch (err) {
      return (err as { status?: number }).status;
    }
  };
  t.equal(statusOf(`<c:calendar-data ${C} content-type="application/calendar+json"/>`), 403, 'only text/calendar');
  t.equal(statusOf(`<c:calendar-data ${C}><c:comp name="VEVENT"/></c:calendar-data>`), 400, 'the top comp is VCALENDAR');
  t.equal(statusOf(`<c:calendar-data ${C}><c:expand start="20250101T000000Z"/></c:calendar-data>`), 400, 'expand needs both ends');
});

t.test('limit-recurrence-set keeps the master and only the overrides in the range; expand combines with comp', async (t) => {
  const raw = wrap(
    'BEGIN:VEVENT\r\nUID:r\r\nDTSTART:20250303T090000Z\r\nDTEND:20250303T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\nSUMMARY:weekly\r\nEND:VEVENT\r\n' +
      'BEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID:20250310T090000Z\r\nDTSTART:20250310T110000Z\r\nDTEND:20250310T120000Z\r\nSUMMARY:moved in March\r\nEND:VEVENT\r\n' +
      'BEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID:20250414T090000Z\r\nDTSTART:20250414T110000Z\r\nDTEND:20250414T120000Z\r\nSUMMARY:moved in April\r\nEND:VEVENT\r\n',
  );
  const limited = shapeCalendarData(raw, parseCalendarDataRequest(el(`<c:calendar-data ${C}><c:limit-recurrence-set start="20250301T000000Z" end="20250401T000000Z"/></c:calendar-data>`))!, DEFAULT_LIMITS);
  t.match(limited, 'RRULE:FREQ=WEEKLY;COUNT=8', 'the master stays');
  t.match(limited, 'moved in March');
  t.notMatch(limited, 'moved in April', 'an override outside the range goes');

  const expanded = shapeCalendarData(raw, parseCalendarDataRequest(el(`<c:calendar-data ${C}><c:comp name="VCALENDAR"><c:comp name="VEVENT"><c:prop name="SUMMARY"/><c:prop name="RECURRENCE-ID"/></c:comp></c:comp><c:expand start="20250301T000000Z" end="20250318T000000Z"/></c:calendar-data>`))!, DEFAULT_LIMITS);
  t.equal((expanded.match(/BEGIN:VEVENT/g) ?? []).length, 3, 'three instances in the range');
  t.notMatch(expanded, 'DTSTART', 'and only the asked properties in each');
  t.match(expanded, 'RECURRENCE-ID:20250310T090000Z');
});

t.test('free-busy: transparent and cancelled events are free, tentative is its own type, periods merge and clip', async (t) => {
  const range = { start: parseUtc('20250310T000000Z', 0), end: parseUtc('20250311T000000Z', 0) };
  const periods = [
    ...busyPeriods(parseCalendar(event('a', '20250310T090000Z', '20250310T100000Z')), range, DEFAULT_LIMITS),
    ...busyPeriods(parseCalendar(event('b', '20250310T093000Z', '20250310T110000Z')), range, DEFAULT_LIMITS),
    ...busyPeriods(parseCalendar(event('c', '20250310T140000Z', '20250310T150000Z', 'TRANSP:TRANSPARENT\r\n')), range, DEFAULT_LIMITS),
    ...busyPeriods(parseCalendar(event('d', '20250310T160000Z', '20250310T170000Z', 'STATUS:CANCELLED\r\n')), range, DEFAULT_LIMITS),
    ...busyPeriods(parseCalendar(event('e', '20250310T180000Z', '20250310T190000Z', 'STATUS:TENTATIVE\r\n')), range, DEFAULT_LIMITS),
    ...busyPeriods(parseCalendar(event('f', '20250310T230000Z', '20250311T020000Z')), range, DEFAULT_LIMITS),
  ];
  t.same(mergePeriods(periods).map((p) => [p.type, new Date(p.start).toISOString(), new Date(p.end).toISOString()]), [
    ['BUSY', '2025-03-10T09:00:00.000Z', '2025-03-10T11:00:00.000Z'],
    ['BUSY-TENTATIVE', '2025-03-10T18:00:00.000Z', '2025-03-10T19:00:00.000Z'],
    ['BUSY', '2025-03-10T23:00:00.000Z', '2025-03-11T00:00:00.000Z'],
  ]);
  const text = freeBusyCalendar(range, periods, Date.UTC(2025, 0, 1));
  t.match(text, /BEGIN:VFREEBUSY\r\n/);
  t.match(text, 'DTSTART:20250310T000000Z');
  t.match(text, 'DTEND:20250311T000000Z');
  t.match(text, 'FREEBUSY;FBTYPE=BUSY:20250310T090000Z/20250310T110000Z');
  t.match(text, 'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20250310T180000Z/20250310T190000Z');
  const parsed = new ICAL.Component(ICAL.parse(text) as never);
  t.equal(parsed.getFirstSubcomponent('vfreebusy')?.getAllProperties('freebusy').length, 3, 'the answer is iCalendar ical.js reads back');
});

t.test('over HTTP: calendar-query and multiget with partial data, free-busy-query, sync-collection limit', async (t) => {
  const s = await startSync(t);
  t.equal((await s.dav('MKCALENDAR', '/sync/calendars/fb/')).status, 201);
  const put = async (name: string, body: string) => t.equal((await s.dav('PUT', `/sync/calendars/fb/${name}`, body, CAL)).status, 201, `PUT ${name}`);
  await put('a.ics', event('a', '20250310T090000Z', '20250310T100000Z'));
  await put('b.ics', event('b', '20250310T120000Z', '20250310T130000Z', 'STATUS:TENTATIVE\r\n'));
  await put('c.ics', event('c', '20250310T150000Z', '20250310T160000Z', 'TRANSP:TRANSPARENT\r\n'));
  await put('w.ics', wrap('BEGIN:VEVENT\r\nUID:w\r\nDTSTART:20250303T070000Z\r\nDTEND:20250303T080000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:standup\r\nEND:VEVENT\r\n'));

  const query = await s.dav('REPORT', '/sync/calendars/fb/', `<?xml version="1.0"?><c:calendar-query ${C}><d:prop><d:getetag/><c:calendar-data><c:comp name="VCALENDAR"><c:comp name="VEVENT"><c:prop name="SUMMARY"/></c:comp></c:comp></c:calendar-data></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20250310T000000Z" end="20250311T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`, { depth: '1' });
  t.equal(query.status, 207);
  t.same(hrefs(query.text), ['/sync/calendars/fb/a.ics', '/sync/calendars/fb/b.ics', '/sync/calendars/fb/c.ics', '/sync/calendars/fb/w.ics']);
  for (const data of calendarData(query.text)) {
    t.match(data, /^BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:[^\r]+\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n$/, 'only SUMMARY in each');
  }

  const multiget = await s.dav('REPORT', '/sync/calendars/fb/', `<?xml version="1.0"?><c:calendar-multiget ${C}><d:prop><c:calendar-data><c:comp name="VCALENDAR"><c:comp name="VEVENT"><c:prop name="UID"/></c:comp></c:comp></c:calendar-data></d:prop><d:href>/sync/calendars/fb/a.ics</d:href></c:calendar-multiget>`);
  t.same(calendarData(multiget.text), ['BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n']);

  const fb = await s.dav('REPORT', '/sync/calendars/fb/', `<?xml version="1.0"?><c:free-busy-query ${C}><c:time-range start="20250310T000000Z" end="20250311T000000Z"/></c:free-busy-query>`, { depth: '1' });
  t.equal(fb.status, 200);
  t.match(fb.headers.get('content-type'), /^text\/calendar/);
  t.match(fb.text, 'FREEBUSY;FBTYPE=BUSY:20250310T070000Z/20250310T080000Z', 'the weekly standup of that Monday');
  t.match(fb.text, 'FREEBUSY;FBTYPE=BUSY:20250310T090000Z/20250310T100000Z');
  t.match(fb.text, 'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20250310T120000Z/20250310T130000Z');
  t.notMatch(fb.text, '20250310T150000Z', 'a transparent event blocks no time');
  const noRange = await s.dav('REPORT', '/sync/calendars/fb/', `<?xml version="1.0"?><c:free-busy-query ${C}/>`);
  t.equal(noRange.status, 400);
  t.match(noRange.text, 'valid-filter');
  const sets = await s.dav('PROPFIND', '/sync/calendars/fb/', `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:supported-report-set/></d:prop></d:propfind>`, { depth: '0' });
  t.match(sets.text, '<free-busy-query xmlns="urn:ietf:params:xml:ns:caldav"/>');

  // sync-collection with a limit: pages of 3, each token carrying on where the last stopped.
  const syncBody = (token: string, n: number) => `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:limit><d:nresults>${n}</d:nresults></d:limit><d:prop><d:getetag/></d:prop></d:sync-collection>`;
  const first = await s.dav('REPORT', '/sync/calendars/fb/', syncBody('', 3));
  t.equal(first.status, 207);
  t.equal(hrefs(first.text).length, 3, 'three members in the first page');
  t.match(first.text, /<D:href>\/sync\/calendars\/fb\/<\/D:href><D:status>HTTP\/1.1 507 [^<]*<\/D:status><D:error><D:number-of-matches-within-limits\/><\/D:error>/, 'truncation is said with a 507 for the collection');
  const second = await s.dav('REPORT', '/sync/calendars/fb/', syncBody(tokenOf(first.text), 3));
  t.same(hrefs(second.text).length, 1, 'the fourth member in the second page');
  t.notMatch(second.text, '507', 'not truncated any more');
  t.same([...hrefs(first.text), ...hrefs(second.text)].sort(), ['/sync/calendars/fb/a.ics', '/sync/calendars/fb/b.ics', '/sync/calendars/fb/c.ics', '/sync/calendars/fb/w.ics']);

  t.equal((await s.dav('DELETE', '/sync/calendars/fb/a.ics')).status, 204);
  await put('d.ics', event('d', '20250312T090000Z', '20250312T100000Z'));
  await put('e.ics', event('e', '20250312T090000Z', '20250312T100000Z'));
  const third = await s.dav('REPORT', '/sync/calendars/fb/', syncBody(tokenOf(second.text), 2));
  const fourth = await s.dav('REPORT', '/sync/calendars/fb/', syncBody(tokenOf(third.text), 2));
  const seen = `${third.text}${fourth.text}`;
  t.match(third.text, '507');
  t.match(seen, /<D:href>\/sync\/calendars\/fb\/a.ics<\/D:href><D:status>HTTP\/1.1 404/, 'the deletion is reported in one of the pages');
  t.same(hrefs(seen).filter((h) => !h.endsWith('a.ics')), ['/sync/calendars/fb/d.ics', '/sync/calendars/fb/e.ics']);
  const unlimited = await s.dav('REPORT', '/sync/calendars/fb/', syncBody(tokenOf(fourth.text), 100));
  t.equal(hrefs(unlimited.text).length, 0, 'nothing left after the last page');
  t.equal((await s.dav('REPORT', '/sync/calendars/fb/', syncBody('', 0))).status, 400, 'nresults 0 is refused');
});

t.test('address-data partial retrieval (RFC 6352 §10.4): prop, novalue, allprop, with a version; other types refused', async (t) => {
  const s = await startSync(t);
  t.equal((await s.dav('MKCOL', '/sync/contacts/pa/', `<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>`)).status, 201);
  const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ada\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEMAIL;TYPE=INTERNET,pref:ada@example.com\r\nTEL;TYPE=CELL:+33600000000\r\nNOTE:private\r\nitem1.X-ABLABEL:custom\r\nEND:VCARD\r\n';
  t.equal((await s.dav('PUT', '/sync/contacts/pa/ada.vcf', card, { 'content-type': 'text/vcard' })).status, 201);
  const R = 'xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"';
  const multiget = (addressData: string) => s.dav('REPORT', '/sync/contacts/pa/', `<?xml version="1.0"?><cr:addressbook-multiget ${R}><d:prop><d:getetag/>${addressData}</d:prop><d:href>/sync/contacts/pa/ada.vcf</d:href></cr:addressbook-multiget>`);
  const dataOf = (xml: string) => (/<address-data xmlns="urn:ietf:params:xml:ns:carddav">([^<]*)<\/address-data>/.exec(xml)?.[1] ?? '').replace(/&#13;/g, '\r');

  const some = dataOf((await multiget('<cr:address-data><cr:prop name="FN"/><cr:prop name="EMAIL"/><cr:prop name="TEL" novalue="yes"/></cr:address-data>')).text);
  t.equal(some, 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nEMAIL;TYPE=INTERNET,pref:ada@example.com\r\nTEL;TYPE=CELL:\r\nEND:VCARD\r\n', 'only FN, EMAIL and TEL (no value), in the frame a card needs');
  const v4 = dataOf((await multiget('<cr:address-data version="4.0"><cr:prop name="EMAIL"/></cr:address-data>')).text);
  t.match(v4, 'VERSION:4.0');
  t.match(v4, /EMAIL;[^:]*PREF=1[^:]*:ada@example.com/, 'converted to 4.0, then selected');
  t.notMatch(v4, 'FN:');
  t.equal(dataOf((await multiget('<cr:address-data><cr:allprop/></cr:address-data>')).text), card, 'allprop: the stored bytes');
  t.equal(dataOf((await multiget('<cr:address-data/>')).text), card, 'an empty address-data: the stored bytes');
  const json = await multiget('<cr:address-data content-type="application/vcard+json"/>');
  t.equal(json.status, 403);
  t.match(json.text, 'supported-address-data');
});

t.test('collations: the set is advertised, an unknown one is 403 supported-collation; queries on one object', async (t) => {
  const s = await startSync(t);
  t.equal((await s.dav('MKCALENDAR', '/sync/calendars/co/')).status, 201);
  t.equal((await s.dav('PUT', '/sync/calendars/co/a.ics', event('a', '20250310T090000Z', '20250310T100000Z'), CAL)).status, 201);
  t.equal((await s.dav('PUT', '/sync/calendars/co/b.ics', event('b', '20250410T090000Z', '20250410T100000Z'), CAL)).status, 201);
  const props = await s.dav('PROPFIND', '/sync/calendars/co/', `<?xml version="1.0"?><d:propfind ${C}><d:prop><c:supported-collation-set/></d:prop></d:propfind>`, { depth: '0' });
  for (const c of ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap']) t.match(props.text, `<supported-collation xmlns="urn:ietf:params:xml:ns:caldav">${c}</supported-collation>`);

  const query = (path: string, filter: string) => s.dav('REPORT', path, `<?xml version="1.0"?><c:calendar-query ${C}><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">${filter}</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`, { depth: '1' });
  const bad = await query('/sync/calendars/co/', '<c:prop-filter name="SUMMARY"><c:text-match collation="i;klingon">a</c:text-match></c:prop-filter>');
  t.equal(bad.status, 403);
  t.match(bad.text, '<supported-collation xmlns="urn:ietf:params:xml:ns:caldav"/>');
  const octet = await query('/sync/calendars/co/', '<c:prop-filter name="SUMMARY"><c:text-match collation="i;octet">A SUMMARY</c:text-match></c:prop-filter>');
  t.same(hrefs(octet.text), [], 'i;octet is case-sensitive');
  const casemap = await query('/sync/calendars/co/', '<c:prop-filter name="SUMMARY"><c:text-match>A SUMMARY</c:text-match></c:prop-filter>');
  t.same(hrefs(casemap.text), ['/sync/calendars/co/a.ics'], 'the default folds case');

  const onOne = await query('/sync/calendars/co/b.ics', '');
  t.equal(onOne.status, 207);
  t.same(hrefs(onOne.text), ['/sync/calendars/co/b.ics'], 'a query on one object answers for it alone');
  const onOneOut = await query('/sync/calendars/co/b.ics', '<c:time-range start="20250301T000000Z" end="20250401T000000Z"/>');
  t.same(hrefs(onOneOut.text), [], 'and not when it does not match');
  t.equal((await query('/sync/calendars/co/nope.ics', '')).status, 404);

  t.equal((await s.dav('MKCOL', '/sync/contacts/cc/', `<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><cr:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>`)).status, 201);
  t.equal((await s.dav('PUT', '/sync/contacts/cc/e.vcf', 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:e\r\nFN:Élodie\r\nEND:VCARD\r\n', { 'content-type': 'text/vcard' })).status, 201);
  const R = 'xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"';
  const cardQuery = (match: string) => s.dav('REPORT', '/sync/contacts/cc/', `<?xml version="1.0"?><cr:addressbook-query ${R}><d:prop><d:getetag/></d:prop><cr:filter><cr:prop-filter name="FN">${match}</cr:prop-filter></cr:filter></cr:addressbook-query>`, { depth: '1' });
  t.match((await cardQuery('<cr:text-match>élodie</cr:text-match>')).text, 'e.vcf', 'CardDAV defaults to i;unicode-casemap: É folds to é');
  t.notMatch((await cardQuery('<cr:text-match collation="i;ascii-casemap">élodie</cr:text-match>')).text, 'e.vcf', 'i;ascii-casemap folds ASCII only');
  const badCard = await cardQuery('<cr:text-match collation="i;nope">x</cr:text-match>');
  t.equal(badCard.status, 403);
  t.match(badCard.text, '<supported-collation xmlns="urn:ietf:params:xml:ns:carddav"/>');
});

const PARIS_TZ = wrap('BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n');
const NEW_YORK_TZ = wrap('BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n');
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\r/g, '&#13;');

t.test('floating times and dates are read in the query\'s timezone, else the calendar\'s (RFC 4791 §7.3)', async (t) => {
  const s = await startSync(t);
  t.equal((await s.dav('MKCALENDAR', '/sync/calendars/tz/')).status, 201);
  const floating = wrap('BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20250110T090000\r\nDTEND:20250110T100000\r\nSUMMARY:floating nine\r\nEND:VEVENT\r\n');
  const allDay = wrap('BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20250115\r\nSUMMARY:all day\r\nEND:VEVENT\r\n');
  t.equal((await s.dav('PUT', '/sync/calendars/tz/f.ics', floating, CAL)).status, 201);
  t.equal((await s.dav('PUT', '/sync/calendars/tz/d.ics', allDay, CAL)).status, 201);
  const query = (start: string, end: string, tz = '') => s.dav('REPORT', '/sync/calendars/tz/', `<?xml version="1.0"?><c:calendar-query ${C}><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter>${tz}</c:calendar-query>`, { depth: '1' });

  t.same(hrefs((await query('20250110T090000Z', '20250110T093000Z')).text), ['/sync/calendars/tz/f.ics'], 'without any timezone, floating reads as UTC');
  const patch = await s.dav('PROPPATCH', '/sync/calendars/tz/', `<?xml version="1.0"?><d:propertyupdate ${C}><d:set><d:prop><c:calendar-timezone>${xmlText(PARIS_TZ)}</c:calendar-timezone></d:prop></d:set></d:propertyupdate>`);
  t.notMatch(patch.text, /HTTP\/1.1 (403|424)/, 'a valid calendar-timezone is stored');
  t.same(hrefs((await query('20250110T073000Z', '20250110T083000Z')).text), ['/sync/calendars/tz/f.ics'], '09:00 floating in a Paris calendar is 08:00 UTC in January');
  t.same(hrefs((await query('20250110T090000Z', '20250110T093000Z')).text), [], 'and not 09:00 UTC');
  t.same(hrefs((await query('20250114T233000Z', '20250114T235900Z')).text), ['/sync/calendars/tz/d.ics'], 'an all-day event starts at midnight Paris time (23:00 UTC the day before)');
  t.same(hrefs((await query('20250115T233000Z', '20250115T235900Z')).text), [], 'and ends at the next Paris midnight');

  const ny = `<c:timezone>${xmlText(NEW_YORK_TZ)}</c:timezone>`;
  t.same(hrefs((await query('20250110T133000Z', '20250110T143000Z', ny)).text), ['/sync/calendars/tz/f.ics'], 'the query\'s timezone wins: 09:00 in New York is 14:00 UTC');
  const badTz = await query('20250110T000000Z', '20250111T000000Z', `<c:timezone>BEGIN:VCALENDAR&#13;\nEND:VCALENDAR</c:timezone>`);
  t.equal(badTz.status, 400);
  t.match(badTz.text, 'valid-calendar-data');

  const expanded = await s.dav('REPORT', '/sync/calendars/tz/', `<?xml version="1.0"?><c:calendar-multiget ${C}><d:prop><c:calendar-data><c:expand start="20250101T000000Z" end="20250201T000000Z"/></c:calendar-data></d:prop><d:href>/sync/calendars/tz/f.ics</d:href></c:calendar-multiget>`);
  t.match(calendarData(expanded.text)[0], 'DTSTART:20250110T080000Z', 'expand writes the floating time in UTC through the calendar\'s timezone');

  const bad = await s.dav('PROPPATCH', '/sync/calendars/tz/', `<?xml version="1.0"?><d:propertyupdate ${C}><d:set><d:prop><c:calendar-timezone>not a timezone</c:calendar-timezone></d:prop></d:set></d:propertyupdate>`);
  t.match(bad.text, /calendar-timezone[^]*HTTP\/1.1 403/, 'an invalid calendar-timezone is refused');
});

t.test('sync-collection limit on the default address book pages through Cozy-made contacts and skips trashed ones', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  const ids: string[] = [];
  for (const name of ['Ada', 'Grace', 'Hedy', 'Katherine']) ids.push((await store.put(s.inst, 'io.cozy.contacts', { fullname: name })).id);
  const trashed = await store.get(s.inst, 'io.cozy.contacts', ids[3] as string);
  await store.put(s.inst, 'io.cozy.contacts', { ...trashed, trashed: true });
  const body = (token: string) => `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:limit><d:nresults>2</d:nresults></d:limit><d:prop><d:getetag/></d:prop></d:sync-collection>`;
  const vcfs = (xml: string) => [...xml.matchAll(/<D:href>\/sync\/contacts\/default\/([^<]+)\.vcf<\/D:href><D:propstat>/g)].map((m) => m[1] as string);
  const first = await s.dav('REPORT', '/sync/contacts/default/', body(''));
  t.equal(vcfs(first.text).length, 2);
  t.match(first.text, 'HTTP/1.1 507');
  const second = await s.dav('REPORT', '/sync/contacts/default/', body(tokenOf(first.text)));
  t.notMatch(second.text, 'HTTP/1.1 507');
  t.same([...vcfs(first.text), ...vcfs(second.text)].sort(), ids.slice(0, 3).sort(), 'the three live contacts, the trashed one left out');
});
