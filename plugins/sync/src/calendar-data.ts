import ICAL from 'ical.js';
import { parseTimeRange, type TimeRange } from './filters.ts';
import { parseCalendar } from './ical.ts';
import { registerReferencedZones } from './standard-zones.ts';
import { componentInterval, expandObject, overlaps, toMs, type ExpandLimits } from './recurrence.ts';
import { SyncErrors } from './sync-errors.ts';
import { childrenNamed, child, elements, is, type XmlElement } from './dav.ts';
import { NS } from './namespaces.ts';

/**
 * What a `<C:calendar-data>` element of a report asks for (RFC 4791 §9.6): which components and properties
 * (`comp`, `prop`, `allprop`, `allcomp`), and recurrence shaping (`expand`, `limit-recurrence-set`).
 */
export interface CalendarDataRequest {
  select?: CompSelector;
  expand?: TimeRange;
  limitRecurrence?: TimeRange;
}

export interface CompSelector {
  name: string;
  /** undefined = every property; otherwise the upper-case names kept (with `novalue`: kept without a value). */
  props?: Map<string, { novalue: boolean }>;
  /** undefined = every sub-component whole; otherwise the selectors of the ones kept. */
  comps?: CompSelector[];
}

function parseComp(el: XmlElement): CompSelector {
  const name = el.attrs.name?.toUpperCase();
  if (!name) throw SyncErrors.badRequest('calendar-data: comp needs a name');
  const kids = elements(el);
  // An empty <C:comp name="VTIMEZONE"/> stands for the whole component (RFC 4791 §7.8.1's example answers it so).
  if (kids.length === 0) return { name };
  const sel: CompSelector = { name };
  if (!kids.some((k) => is(k, NS.CALDAV, 'allprop'))) {
    sel.props = new Map();
    for (const p of childrenNamed(el, NS.CALDAV, 'prop')) {
      const pname = p.attrs.name?.toUpperCase();
      if (!pname) throw SyncErrors.badRequest('calendar-data: prop needs a name');
      sel.props.set(pname, { novalue: p.attrs.novalue === 'yes' });
    }
  }
  if (!kids.some((k) => is(k, NS.CALDAV, 'allcomp'))) sel.comps = childrenNamed(el, NS.CALDAV, 'comp').map(parseComp);
  return sel;
}

/** Reads a report's `<C:calendar-data>`; undefined when it asks for the object as stored. */
export function parseCalendarDataRequest(el: XmlElement | undefined): CalendarDataRequest | undefined {
  if (!el) return undefined;
  const type = el.attrs['content-type'];
  if ((type && type.toLowerCase() !== 'text/calendar') || (el.attrs.version && el.attrs.version !== '2.0')) {
    throw SyncErrors.unsupportedCalendarDataReport(`calendar-data ${type ?? ''} ${el.attrs.version ?? ''} is not served: text/calendar 2.0 is`);
  }
  const req: CalendarDataRequest = {};
  const comp = child(el, NS.CALDAV, 'comp');
  if (comp) {
    req.select = parseComp(comp);
    if (req.select.name !== 'VCALENDAR') throw SyncErrors.badRequest('calendar-data: the top comp is VCALENDAR');
  }
  const expand = child(el, NS.CALDAV, 'expand');
  const limit = child(el, NS.CALDAV, 'limit-recurrence-set');
  if (expand && limit) throw SyncErrors.badRequest('calendar-data: expand and limit-recurrence-set exclude each other');
  // §9.6.5/9.6.6: both attributes are required and UTC.
  for (const e of [expand, limit]) if (e && (!e.attrs.start || !e.attrs.end)) throw SyncErrors.invalidFilter(`${e.name} needs start and end`);
  if (expand) req.expand = parseTimeRange(expand);
  if (limit) req.limitRecurrence = parseTimeRange(limit);
  // limit-freebusy-set limits VFREEBUSY components, which calendars here never hold: nothing to do.
  return req.select || req.expand || req.limitRecurrence ? req : undefined;
}

type JCal = [string, unknown[][], JCal[]];

function selectJcal(jcal: JCal, sel: CompSelector): JCal {
  const [name, props, comps] = jcal;
  const keptProps = sel.props === undefined
    ? props
    : props.flatMap((p) => {
        const want = sel.props?.get(String(p[0]).toUpperCase());
        if (!want) return [];
        // novalue: the property with its parameters and an empty value.
        return [want.novalue ? [p[0], p[1], p[2], ''] : p];
      });
  const keptComps = sel.comps === undefined
    ? comps
    : comps.flatMap((c) => {
        const s = sel.comps?.find((x) => x.name === c[0].toUpperCase());
        return s ? [selectJcal(c, s)] : [];
      });
  return [name, keptProps, keptComps];
}

/**
 * RFC 4791 §9.6.6: the master component and only the overridden instances that overlap the range (an
 * override with RANGE=THISANDFUTURE before the range's end changes what follows it, so it stays too).
 */
function limitRecurrenceSet(root: ICAL.Component, range: TimeRange, zone?: ICAL.Timezone): void {
  for (const c of root.getAllSubcomponents()) {
    if (c.name === 'vtimezone') continue;
    const rid = c.getFirstProperty('recurrence-id');
    if (!rid) continue;
    const ridTime = rid.getFirstValue() as ICAL.Time;
    const ridMs = toMs(ridTime, zone);
    const future = String(rid.getParameter('range') ?? '').toUpperCase() === 'THISANDFUTURE' && ridMs < range.end;
    const own = componentInterval(c, zone);
    const original = { start: ridMs, end: ridMs + Math.max(0, own.end - own.start) };
    if (!future && !overlaps(own, range.start, range.end) && !overlaps(original, range.start, range.end)) root.removeSubcomponent(c);
  }
}

/** The calendar-data of one object as the request shapes it. */
export function shapeCalendarData(raw: string, req: CalendarDataRequest, limits: ExpandLimits): string {
  let text = raw;
  if (req.expand) text = expandObject(parseCalendar(raw), req.expand.start, req.expand.end, limits);
  if (!req.select && !req.limitRecurrence) return text;
  registerReferencedZones(text);
  const root = new ICAL.Component(ICAL.parse(text) as unknown as JCal);
  if (req.limitRecurrence) limitRecurrenceSet(root, req.limitRecurrence, limits.floatingZone);
  const jcal = req.select ? selectJcal(root.toJSON() as unknown as JCal, req.select) : (root.toJSON() as unknown as JCal);
  return `${ICAL.stringify(jcal as unknown as Parameters<typeof ICAL.stringify>[0]).replace(/\r?\n/g, '\r\n').replace(/(\r\n)+$/, '')}\r\n`;
}
