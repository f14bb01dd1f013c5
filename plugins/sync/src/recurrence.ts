import ICAL from 'ical.js';
import type { ParsedCalendar } from './ical.ts';

/** Milliseconds since the epoch; floating times are read as UTC (the calendar has no timezone of its own here). */
export interface Interval {
  start: number;
  end: number;
}

/** What one query may spend on one object: RRULE bombs (FREQ=SECONDLY without end) stop here. */
export interface ExpandLimits {
  /** Occurrences walked per object before giving up on an exact answer. */
  maxIterations: number;
  /** Instances one expanded object may carry in an answer. */
  maxInstances: number;
  /**
   * Where floating times and dates are read (RFC 4791 §7.3: the query's CALDAV:timezone, else the calendar's
   * calendar-timezone); UTC without one.
   */
  floatingZone?: ICAL.Timezone;
}

export const DEFAULT_LIMITS: ExpandLimits = { maxIterations: 20_000, maxInstances: 2_000 };

const DAY = 86_400_000;

/** A time in milliseconds since the epoch; a floating one (or a date) is read in `zone` when there is one. */
export function toMs(t: ICAL.Time, zone?: ICAL.Timezone): number {
  const u = t.toUnixTime() * 1000;
  return zone && t.zone === ICAL.Timezone.localTimezone ? u - zone.utcOffset(t) * 1000 : u;
}

function prop(c: ICAL.Component, name: string): ICAL.Time | undefined {
  const v = c.getFirstPropertyValue(name);
  return v instanceof ICAL.Time ? v : undefined;
}

function durationMs(c: ICAL.Component): number | undefined {
  const d = c.getFirstPropertyValue('duration');
  return d instanceof ICAL.Duration ? d.toSeconds() * 1000 : undefined;
}

/**
 * The span of one component (RFC 4791 §9.9). An unbounded span (a VTODO with no date at all) covers everything.
 */
export function componentInterval(c: ICAL.Component, zone?: ICAL.Timezone, startOverride?: ICAL.Time, endOverride?: ICAL.Time): Interval {
  const ms = (t: ICAL.Time) => toMs(t, zone);
  const start = startOverride ?? prop(c, 'dtstart');
  if (c.name === 'vtodo') {
    const due = prop(c, 'due');
    const dur = durationMs(c);
    if (start) {
      const s = ms(start);
      if (due) return { start: Math.min(s, ms(due)), end: Math.max(s, ms(due)) };
      if (dur !== undefined) return { start: s, end: s + dur };
      return { start: s, end: s };
    }
    if (due) return { start: ms(due), end: ms(due) };
    const done = prop(c, 'completed') ?? prop(c, 'created');
    if (done) return { start: ms(done), end: ms(done) };
    return { start: -Infinity, end: Infinity };
  }
  if (!start) return { start: -Infinity, end: Infinity };
  const s = ms(start);
  const end = endOverride ?? prop(c, 'dtend');
  if (end) return { start: s, end: Math.max(s, ms(end)) };
  const dur = durationMs(c);
  if (dur !== undefined) return { start: s, end: s + Math.max(0, dur) };
  return { start: s, end: start.isDate ? s + DAY : s };
}

/** RFC 4791 §9.9: a span with a length overlaps when it starts before the end and ends after the start. */
export function overlaps(i: Interval, rangeStart: number, rangeEnd: number): boolean {
  if (i.end > i.start) return i.start < rangeEnd && i.end > rangeStart;
  return i.start >= rangeStart && i.start < rangeEnd;
}

export interface Occurrence {
  interval: Interval;
  /** The component holding the instance's properties (the master or an override). */
  item: ICAL.Component;
  /** The instance's RECURRENCE-ID (its original start), absent for a non-recurring object. */
  recurrenceId?: ICAL.Time;
  start: ICAL.Time;
  end?: ICAL.Time;
}

export interface Walk {
  occurrences: Occurrence[];
  /** True when the limits stopped the walk before the range's end: the answer may be incomplete. */
  truncated: boolean;
}

function isRecurring(c: ICAL.Component): boolean {
  return c.hasProperty('rrule') || c.hasProperty('rdate');
}

function components(p: ParsedCalendar): ICAL.Component[] {
  return p.root.getAllSubcomponents().filter((c) => c.name === p.kind.toLowerCase());
}

/**
 * The instances of an object that overlap [rangeStart, rangeEnd), overrides (RECURRENCE-ID) applied, EXDATEs
 * removed. Stops after `maxIterations` occurrences walked or `maxInstances` found, flagging `truncated`.
 */
export function occurrencesIn(p: ParsedCalendar, rangeStart: number, rangeEnd: number, limits: ExpandLimits = DEFAULT_LIMITS): Walk {
  const comps = components(p);
  const master = comps.find((c) => !c.hasProperty('recurrence-id'));
  const overrides = comps.filter((c) => c.hasProperty('recurrence-id'));
  const out: Occurrence[] = [];
  const zone = limits.floatingZone;
  const spanOf = (c: ICAL.Component) => componentInterval(c, zone);
  if (!master || !isRecurring(master)) {
    for (const c of comps) {
      const interval = spanOf(c);
      const start = prop(c, 'dtstart') ?? prop(c, 'due');
      if (overlaps(interval, rangeStart, rangeEnd) && start) out.push({ interval, item: c, start, end: prop(c, 'dtend'), recurrenceId: prop(c, 'recurrence-id') });
      else if (overlaps(interval, rangeStart, rangeEnd) && interval.start === -Infinity) out.push({ interval, item: c, start: ICAL.Time.fromJSDate(new Date(0), true) });
    }
    return { occurrences: out, truncated: false };
  }
  const seen = new Set<string>();
  const event = new ICAL.Event(master, { exceptions: overrides, strictExceptions: false });
  const masterSpan = spanOf(master);
  const length = masterSpan.end - masterSpan.start;
  const it = event.iterator();
  let truncated = false;
  let walked = 0;
  for (let step = it.next(); step; step = it.next()) {
    // The iterator hands out the same object each time: keep a copy.
    const next = step.clone();
    if (++walked > limits.maxIterations || out.length >= limits.maxInstances) {
      truncated = true;
      break;
    }
    const t0 = toMs(next, zone);
    const key = next.toString();
    const override = overrides.find((o) => (o.getFirstPropertyValue('recurrence-id') as ICAL.Time | null)?.compare(next) === 0);
    if (override) {
      seen.add(key);
      const interval = spanOf(override);
      if (overlaps(interval, rangeStart, rangeEnd)) out.push({ interval, item: override, recurrenceId: next, start: prop(override, 'dtstart') ?? next, end: prop(override, 'dtend') });
    } else {
      const interval = { start: t0, end: t0 + length };
      if (overlaps(interval, rangeStart, rangeEnd)) {
        const details = event.getOccurrenceDetails(next);
        out.push({ interval, item: master, recurrenceId: next, start: details.startDate.clone(), end: details.endDate.clone() });
      }
    }
    if (t0 >= rangeEnd) break;
  }
  // An override may move an instance from outside the walked part into the range.
  for (const o of overrides) {
    const rid = o.getFirstPropertyValue('recurrence-id') as ICAL.Time;
    if (seen.has(rid.toString())) continue;
    const interval = spanOf(o);
    if (overlaps(interval, rangeStart, rangeEnd) && out.length < limits.maxInstances) {
      out.push({ interval, item: o, recurrenceId: rid, start: prop(o, 'dtstart') ?? rid, end: prop(o, 'dtend') });
    }
  }
  out.sort((a, b) => a.interval.start - b.interval.start);
  return { occurrences: out, truncated };
}

/**
 * Whether any instance overlaps the range. When the limits stop the walk first the answer is yes: an extra
 * object costs the client a download, a missing one loses an event from its view.
 */
export function matchesRange(p: ParsedCalendar, rangeStart: number, rangeEnd: number, limits: ExpandLimits = DEFAULT_LIMITS): boolean {
  const walk = occurrencesIn(p, rangeStart, rangeEnd, { ...limits, maxInstances: 1 });
  return walk.occurrences.length > 0 || walk.truncated;
}

/**
 * The object's overall span, stored beside it so a time-range query skips objects without parsing them.
 * An unending rule (or one too long to walk) ends at +Infinity, stored as null.
 */
export function overallSpan(p: ParsedCalendar, limits: ExpandLimits = DEFAULT_LIMITS): { first: number | null; last: number | null } {
  const comps = components(p);
  let first = Infinity;
  let last = -Infinity;
  for (const c of comps) {
    const i = componentInterval(c);
    first = Math.min(first, i.start);
    last = Math.max(last, i.end);
  }
  const master = comps.find((c) => !c.hasProperty('recurrence-id'));
  if (master && isRecurring(master)) {
    const rules = master.getAllProperties('rrule').map((r) => r.getFirstValue() as ICAL.Recur);
    if (rules.some((r) => !r.count && !r.until)) last = Infinity;
    else {
      const walk = occurrencesIn(p, -8.64e15, 8.64e15, { maxIterations: limits.maxIterations, maxInstances: limits.maxIterations });
      if (walk.truncated) last = Infinity;
      for (const o of walk.occurrences) {
        first = Math.min(first, o.interval.start);
        last = Math.max(last, o.interval.end);
      }
    }
  }
  return { first: Number.isFinite(first) ? first : null, last: Number.isFinite(last) ? last : null };
}

function utc(t: ICAL.Time, zone?: ICAL.Timezone): ICAL.Time {
  if (t.isDate) return t;
  if (zone && t.zone === ICAL.Timezone.localTimezone) {
    const local = ICAL.Time.fromData({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }, zone);
    return local.convertToZone(ICAL.Timezone.utcTimezone);
  }
  return t.convertToZone(ICAL.Timezone.utcTimezone);
}

/**
 * CALDAV:expand (RFC 4791 §9.6.5): each instance in the range becomes its own component with a RECURRENCE-ID,
 * times in UTC, no RRULE, RDATE or EXDATE; timezones are dropped since nothing refers to them any more.
 */
export function expandObject(p: ParsedCalendar, rangeStart: number, rangeEnd: number, limits: ExpandLimits = DEFAULT_LIMITS): string {
  const walk = occurrencesIn(p, rangeStart, rangeEnd, limits);
  const out = new ICAL.Component(['vcalendar', [], []]);
  for (const pr of p.root.getAllProperties()) out.addProperty(ICAL.Property.fromString(pr.toICALString()));
  const master = components(p).find((c) => !c.hasProperty('recurrence-id'));
  const recurring = !!master && isRecurring(master);
  for (const occ of walk.occurrences) {
    // toJSON hands out the live jCal arrays: copy them, or every instance would edit the same component.
    const c = new ICAL.Component(structuredClone(occ.item.toJSON()));
    for (const name of ['rrule', 'rdate', 'exdate', 'dtstart', 'recurrence-id']) c.removeAllProperties(name);
    c.addPropertyWithValue('dtstart', utc(occ.start, limits.floatingZone));
    if (c.hasProperty('dtend')) {
      c.removeAllProperties('dtend');
      if (occ.end) c.addPropertyWithValue('dtend', utc(occ.end, limits.floatingZone));
    }
    if (recurring && occ.recurrenceId) c.addPropertyWithValue('recurrence-id', utc(occ.recurrenceId, limits.floatingZone));
    out.addSubcomponent(c);
  }
  return out.toString().replace(/\r?\n/g, '\r\n') + '\r\n';
}
