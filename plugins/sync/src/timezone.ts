import ICAL from 'ical.js';
import { standardZone } from './standard-zones.ts';
import { SyncErrors } from './sync-errors.ts';

/** Parsed VTIMEZONEs by their text: a calendar's timezone is read on every query of it. */
const parsed = new Map<string, ICAL.Timezone>();
const CACHE_SIZE = 100;

/**
 * A CALDAV:timezone or calendar-timezone value (RFC 4791 §5.2.2, §9.8): a VCALENDAR holding exactly one
 * VTIMEZONE. Anything else is 400 valid-calendar-data.
 */
export function parseTimezone(text: string): ICAL.Timezone {
  const hit = parsed.get(text);
  if (hit) return hit;
  let zone: ICAL.Timezone;
  try {
    const root = new ICAL.Component(ICAL.parse(text) as [string, unknown[], unknown[]]);
    const zones = root.name === 'vcalendar' ? root.getAllSubcomponents('vtimezone') : [];
    if (zones.length !== 1) throw new Error('one VTIMEZONE in a VCALENDAR is expected');
    zone = new ICAL.Timezone(zones[0] as ICAL.Component);
    if (!zone.tzid) throw new Error('the VTIMEZONE has no TZID');
    // Compute one offset now: a broken rule fails here rather than in the middle of a query.
    zone.utcOffset(ICAL.Time.fromData({ year: 2025, month: 1, day: 1 }));
  } catch (err) {
    throw SyncErrors.invalidCalendarData(`Invalid timezone: ${(err as Error).message}`);
  }
  if (parsed.size >= CACHE_SIZE) parsed.delete(parsed.keys().next().value as string);
  parsed.set(text, zone);
  return zone;
}

/** The calendar's own timezone, or none when it has none (or a broken one, which then reads floating as UTC). */
export function calendarZone(text: string | undefined): ICAL.Timezone | undefined {
  if (!text) return undefined;
  try {
    return parseTimezone(text);
  } catch {
    return undefined;
  }
}

/**
 * A standard time zone named by id (RFC 7809 calendar-timezone-id, CALDAV:timezone-id in a query), and the
 * calendar-timezone value it stands for; an id that is not a standard zone is 403 valid-timezone.
 */
export function zoneById(id: string): { zone: ICAL.Timezone; calendar: string } {
  const std = standardZone(id.trim());
  if (!std) throw SyncErrors.invalidTimezone(`${id.trim()} is not a time zone known here`);
  return { zone: std.zone, calendar: `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//cozy.io//sync//EN\r\n${std.text}\r\nEND:VCALENDAR\r\n` };
}

/** The TZID of a calendar-timezone value, or undefined when it does not parse. */
export function tzidOf(text: string | undefined): string | undefined {
  return calendarZone(text)?.tzid;
}
