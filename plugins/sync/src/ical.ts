import ICAL from 'ical.js';
import { registerReferencedZones } from './standard-zones.ts';
import { SyncErrors } from './sync-errors.ts';

export type CalendarComponent = 'VEVENT' | 'VTODO';
export const CALENDAR_COMPONENTS: readonly CalendarComponent[] = ['VEVENT', 'VTODO'];

/** A calendar object resource (RFC 4791 §4.1): one VCALENDAR whose events or todos all share one UID. */
export interface ParsedCalendar {
  root: ICAL.Component;
  kind: CalendarComponent;
  uid: string;
  /** The master (no RECURRENCE-ID) when there is one, else the first override. */
  main: ICAL.Component;
}

/** Fields apps query, kept beside the raw iCalendar in io.cozy.calendar.events / io.cozy.calendar.todos. */
export interface CalendarFields {
  uid: string;
  summary?: string;
  description?: string;
  location?: string;
  status?: string;
  start?: string;
  end?: string;
  due?: string;
  completed?: string;
  allDay?: boolean;
  recurrence?: string[];
  organizer?: string;
  attendeesCount?: number;
}

export function parseCalendar(text: string): ParsedCalendar {
  let root: ICAL.Component;
  try {
    if (!/^\s*BEGIN:VCALENDAR/i.test(text)) throw new Error('not a VCALENDAR');
    // RFC 7809: a standard TZID may come without its VTIMEZONE; ical.js must know it before any date is decoded.
    registerReferencedZones(text);
    const jcal = ICAL.parse(text);
    if (!Array.isArray(jcal) || typeof jcal[0] !== 'string') throw new Error('more than one VCALENDAR');
    root = new ICAL.Component(jcal);
  } catch (err) {
    throw SyncErrors.invalidCalendarData(`Invalid iCalendar data: ${(err as Error).message}`);
  }
  if (root.name !== 'vcalendar') throw SyncErrors.invalidCalendarData('The object must be a VCALENDAR');
  const comps = root.getAllSubcomponents().filter((c) => c.name !== 'vtimezone');
  if (comps.length === 0) throw SyncErrors.invalidCalendarObject('The VCALENDAR holds no event or todo');
  const kinds = new Set(comps.map((c) => c.name.toUpperCase()));
  if (kinds.size > 1) throw SyncErrors.invalidCalendarObject('A calendar object holds one kind of component');
  const kind = [...kinds][0] as string;
  if (!(CALENDAR_COMPONENTS as readonly string[]).includes(kind)) throw SyncErrors.unsupportedComponent(`${kind} is not stored in calendars here`);
  const uids = new Set(comps.map((c) => c.getFirstPropertyValue('uid')));
  if (uids.size !== 1) throw SyncErrors.invalidCalendarObject('Every component of a calendar object has the same UID');
  const uid = [...uids][0];
  if (typeof uid !== 'string' || uid === '') throw SyncErrors.invalidCalendarObject('The component has no UID');
  const masters = comps.filter((c) => !c.hasProperty('recurrence-id'));
  if (masters.length > 1) throw SyncErrors.invalidCalendarObject('Only one component may lack RECURRENCE-ID');
  const main = masters[0] ?? (comps[0] as ICAL.Component);
  try {
    // Dates are decoded lazily by ical.js: decode them now so a bad one is a 400 at PUT, not a 500 at query.
    for (const c of comps) for (const name of ['dtstart', 'dtend', 'due', 'recurrence-id']) c.getFirstPropertyValue(name);
    for (const c of comps) for (const p of c.getAllProperties('rrule')) p.getFirstValue();
  } catch (err) {
    throw SyncErrors.invalidCalendarData(`Invalid date or rule: ${(err as Error).message}`);
  }
  return { root, kind: kind as CalendarComponent, uid, main };
}

function text(c: ICAL.Component, name: string): string | undefined {
  const v = c.getFirstPropertyValue(name);
  return v === null || v === undefined ? undefined : String(v);
}

function isoOf(c: ICAL.Component, name: string): string | undefined {
  const v = c.getFirstPropertyValue(name);
  if (!(v instanceof ICAL.Time)) return undefined;
  return v.isDate ? v.toString() : v.zone === ICAL.Timezone.localTimezone ? v.toString() : v.toJSDate().toISOString();
}

export function calendarFields(p: ParsedCalendar): CalendarFields {
  const m = p.main;
  const fields: CalendarFields = { uid: p.uid };
  const put = <K extends keyof CalendarFields>(k: K, v: CalendarFields[K] | undefined) => {
    if (v !== undefined) fields[k] = v;
  };
  put('summary', text(m, 'summary'));
  put('description', text(m, 'description'));
  put('location', text(m, 'location'));
  put('status', text(m, 'status'));
  put('start', isoOf(m, 'dtstart'));
  put('end', isoOf(m, 'dtend'));
  put('due', isoOf(m, 'due'));
  put('completed', isoOf(m, 'completed'));
  const dtstart = m.getFirstPropertyValue('dtstart');
  if (dtstart instanceof ICAL.Time) fields.allDay = dtstart.isDate;
  const rules = m.getAllProperties('rrule').map((r) => `RRULE:${String(r.getFirstValue())}`);
  if (rules.length) fields.recurrence = rules;
  put('organizer', text(m, 'organizer'));
  const attendees = m.getAllProperties('attendee').length;
  if (attendees) fields.attendeesCount = attendees;
  return fields;
}
