import t from 'tap';
import { matchCalendar, parseCalendarFilter, parseUtc } from '../src/filters.ts';
import { parseXml } from '@cozy-ts/dav';
import { parseCalendar } from '../src/ical.ts';
import { DEFAULT_LIMITS, expandObject, matchesRange, occurrencesIn, overallSpan } from '../src/recurrence.ts';

const cal = (body: string) => parseCalendar(`BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n${body}END:VCALENDAR\r\n`);
const at = (s: string) => parseUtc(s, 0);
const inRange = (body: string, start: string, end: string) => matchesRange(cal(body), at(start), at(end));

const PARIS = `BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n`;

t.test('single events: DTEND, DURATION, all-day, instant, floating', async (t) => {
  const timed = 'BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\nEND:VEVENT\r\n';
  t.ok(inRange(timed, '20250310T000000Z', '20250311T000000Z'));
  t.ok(inRange(timed, '20250310T095959Z', '20250310T120000Z'), 'overlaps the end');
  t.notOk(inRange(timed, '20250310T100000Z', '20250310T120000Z'), 'the end is exclusive');
  t.notOk(inRange(timed, '20250301T000000Z', '20250310T090000Z'), 'a range ending at the start does not match');
  t.ok(inRange('BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250310T090000Z\r\nDURATION:PT2H\r\nEND:VEVENT\r\n', '20250310T103000Z', '20250310T120000Z'), 'DURATION');
  const allDay = 'BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20250310\r\nEND:VEVENT\r\n';
  t.ok(inRange(allDay, '20250310T230000Z', '20250311T010000Z'), 'an all-day event lasts the day');
  t.notOk(inRange(allDay, '20250311T000000Z', '20250312T000000Z'));
  const instant = 'BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250310T090000Z\r\nEND:VEVENT\r\n';
  t.ok(inRange(instant, '20250310T090000Z', '20250310T090001Z'));
  t.notOk(inRange(instant, '20250310T080000Z', '20250310T090000Z'));
  t.ok(inRange('BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250310T090000\r\nDTEND:20250310T100000\r\nEND:VEVENT\r\n', '20250310T093000Z', '20250310T094000Z'), 'floating times read as UTC');
});

t.test('VTIMEZONE: local times are converted, summer and winter', async (t) => {
  const summer = `${PARIS}BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20250701T100000\r\nDTEND;TZID=Europe/Paris:20250701T110000\r\nEND:VEVENT\r\n`;
  t.ok(inRange(summer, '20250701T080000Z', '20250701T083000Z'), '10:00 in Paris in July is 08:00 UTC');
  t.notOk(inRange(summer, '20250701T090000Z', '20250701T100000Z'));
  const winter = `${PARIS}BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20250110T100000\r\nDTEND;TZID=Europe/Paris:20250110T110000\r\nEND:VEVENT\r\n`;
  t.ok(inRange(winter, '20250110T090000Z', '20250110T093000Z'), '10:00 in January is 09:00 UTC');
});

t.test('recurrences: RRULE in a later month, RDATE, EXDATE, RECURRENCE-ID moved in and out', async (t) => {
  const weekly = 'BEGIN:VEVENT\r\nUID:w\r\nDTSTART:20250224T080000Z\r\nDTEND:20250224T081500Z\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nEND:VEVENT\r\n';
  t.ok(inRange(weekly, '20250401T000000Z', '20250430T000000Z'), 'a weekly event matches a later month (Xandikos does not)');
  t.notOk(inRange(weekly, '20250601T000000Z', '20250630T000000Z'), 'but not after its COUNT');
  t.equal(occurrencesIn(cal(weekly), at('20250301T000000Z'), at('20250331T000000Z')).occurrences.length, 4, 'four Mondays in March 2025 before the 31st');
  t.same(overallSpan(cal(weekly)), { first: at('20250224T080000Z'), last: at('20250428T081500Z') }, 'the stored span ends with the last instance');
  t.same(overallSpan(cal('BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20250101T000000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n')).last, null, 'an unending rule has no end');

  const rdate = 'BEGIN:VEVENT\r\nUID:r\r\nDTSTART:20250101T100000Z\r\nDTEND:20250101T110000Z\r\nRDATE:20250715T100000Z\r\nEND:VEVENT\r\n';
  t.ok(inRange(rdate, '20250715T000000Z', '20250716T000000Z'), 'RDATE');
  t.notOk(inRange(rdate, '20250601T000000Z', '20250701T000000Z'));

  const exdate = 'BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20250301T100000Z\r\nDTEND:20250301T110000Z\r\nRRULE:FREQ=DAILY;COUNT=5\r\nEXDATE:20250303T100000Z\r\nEND:VEVENT\r\n';
  t.notOk(inRange(exdate, '20250303T000000Z', '20250304T000000Z'), 'EXDATE removes an instance');
  t.ok(inRange(exdate, '20250304T000000Z', '20250305T000000Z'));

  const moved = `BEGIN:VEVENT\r\nUID:m\r\nDTSTART:20250301T100000Z\r\nDTEND:20250301T110000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:daily\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:m\r\nRECURRENCE-ID:20250302T100000Z\r\nDTSTART:20250320T150000Z\r\nDTEND:20250320T160000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\n`;
  t.notOk(inRange(moved, '20250302T000000Z', '20250303T000000Z'), 'the moved instance left its day');
  t.ok(inRange(moved, '20250320T000000Z', '20250321T000000Z'), 'and is found where it went');
  t.same(overallSpan(cal(moved)), { first: at('20250301T100000Z'), last: at('20250320T160000Z') });

  const expanded = expandObject(cal(moved), at('20250301T000000Z'), at('20250401T000000Z'));
  t.equal((expanded.match(/BEGIN:VEVENT/g) ?? []).length, 3);
  t.match(expanded, 'RECURRENCE-ID:20250302T100000Z');
  t.match(expanded, 'SUMMARY:moved');
  t.notMatch(expanded, 'RRULE');

  const allDayWeekly = 'BEGIN:VEVENT\r\nUID:ad\r\nDTSTART;VALUE=DATE:20250303\r\nRRULE:FREQ=WEEKLY;UNTIL=20250331\r\nEND:VEVENT\r\n';
  t.ok(inRange(allDayWeekly, '20250317T120000Z', '20250317T130000Z'), 'a weekly all-day event');
  t.notOk(inRange(allDayWeekly, '20250318T000000Z', '20250319T000000Z'));
  const parisWeekly = `${PARIS}BEGIN:VEVENT\r\nUID:pw\r\nDTSTART;TZID=Europe/Paris:20250320T090000\r\nDTEND;TZID=Europe/Paris:20250320T100000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\n`;
  t.ok(inRange(parisWeekly, '20250403T070000Z', '20250403T073000Z'), 'after the DST change (March 30) the instance is at 07:00 UTC');
  t.notOk(inRange(parisWeekly, '20250403T080000Z', '20250403T090000Z'));
  const parisExpanded = expandObject(cal(parisWeekly), at('20250301T000000Z'), at('20250501T000000Z'));
  t.match(parisExpanded, 'DTSTART:20250320T080000Z');
  t.match(parisExpanded, 'DTSTART:20250327T080000Z');
  t.match(parisExpanded, 'DTSTART:20250403T070000Z', 'expanded instances are in UTC, across the DST change');
});

t.test('bounds: a walk stops at maxIterations and says so', async (t) => {
  const secondly = cal('BEGIN:VEVENT\r\nUID:s\r\nDTSTART:20250101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n');
  const walk = occurrencesIn(secondly, at('20260101T000000Z'), at('20260102T000000Z'), { maxIterations: 1000, maxInstances: 10 });
  t.equal(walk.truncated, true);
  t.equal(walk.occurrences.length, 0);
  t.equal(matchesRange(secondly, at('20260101T000000Z'), at('20260102T000000Z'), { ...DEFAULT_LIMITS, maxIterations: 1000 }), true, 'an unknown answer counts as a match');
  t.equal(occurrencesIn(secondly, at('20250101T000000Z'), at('20250102T000000Z'), { maxIterations: 100_000, maxInstances: 50 }).occurrences.length, 50);
});

t.test('calendar-query filters: comp, prop, text-match, param, is-not-defined', async (t) => {
  const obj = cal('BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20250310T090000Z\r\nSUMMARY:Team Lunch\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.org\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\n');
  const f = (inner: string) => parseCalendarFilter(parseXml(`<c:filter xmlns:c="urn:ietf:params:xml:ns:caldav"><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">${inner}</c:comp-filter></c:comp-filter></c:filter>`));
  const limits = DEFAULT_LIMITS;
  t.ok(matchCalendar(obj, f(''), limits));
  t.ok(matchCalendar(obj, f('<c:prop-filter name="SUMMARY"><c:text-match>lunch</c:text-match></c:prop-filter>'), limits), 'case-insensitive contains');
  t.notOk(matchCalendar(obj, f('<c:prop-filter name="SUMMARY"><c:text-match collation="i;octet">lunch</c:text-match></c:prop-filter>'), limits), 'i;octet is exact');
  t.notOk(matchCalendar(obj, f('<c:prop-filter name="SUMMARY"><c:text-match negate-condition="yes">Lunch</c:text-match></c:prop-filter>'), limits), 'negated');
  t.ok(matchCalendar(obj, f('<c:prop-filter name="UID"><c:text-match match-type="equals">f</c:text-match></c:prop-filter>'), limits), 'the UID lookup clients do');
  t.ok(matchCalendar(obj, f('<c:prop-filter name="LOCATION"><c:is-not-defined/></c:prop-filter>'), limits));
  t.ok(matchCalendar(obj, f('<c:prop-filter name="ATTENDEE"><c:param-filter name="PARTSTAT"><c:text-match>accepted</c:text-match></c:param-filter></c:prop-filter>'), limits));
  t.ok(matchCalendar(obj, f('<c:comp-filter name="VALARM"/>'), limits), 'nested comp-filter');
  t.notOk(matchCalendar(obj, f('<c:comp-filter name="VALARM"><c:is-not-defined/></c:comp-filter>'), limits));
  const todoFilter = parseCalendarFilter(parseXml('<c:filter xmlns:c="urn:ietf:params:xml:ns:caldav"><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO"/></c:comp-filter></c:filter>'));
  t.notOk(matchCalendar(obj, todoFilter, limits), 'an event is no VTODO');
  const statusOf = (fn: () => unknown) => {
    try {
      fn();
      return 0;
    } catch (err) {
      return (err as { status?: number }).status;
    }
  };
  t.equal(statusOf(() => parseCalendarFilter(parseXml('<c:filter xmlns:c="urn:ietf:params:xml:ns:caldav"><c:comp-filter name="VEVENT"/></c:filter>'))), 400, 'the top comp-filter is VCALENDAR');
  t.equal(statusOf(() => f('<c:time-range start="garbage"/>')), 400, 'a time that is not one');
});
