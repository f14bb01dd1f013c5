import ICAL from 'ical.js';
import type { TimeRange } from './filters.ts';
import type { ParsedCalendar } from './ical.ts';
import { occurrencesIn, type ExpandLimits } from './recurrence.ts';

export type BusyType = 'BUSY' | 'BUSY-TENTATIVE' | 'BUSY-UNAVAILABLE';

export interface BusyPeriod {
  start: number;
  end: number;
  type: BusyType;
}

/**
 * The busy time one object contributes to a free-busy-query (RFC 4791 §7.10): each VEVENT instance in the range
 * that is not TRANSPARENT and not CANCELLED, clipped to the range; TENTATIVE counts as BUSY-TENTATIVE. Instances
 * with no length block no time. Todos never make anyone busy.
 */
export function busyPeriods(p: ParsedCalendar, range: TimeRange, limits: ExpandLimits): BusyPeriod[] {
  if (p.kind !== 'VEVENT') return [];
  const out: BusyPeriod[] = [];
  for (const occ of occurrencesIn(p, range.start, range.end, limits).occurrences) {
    const transp = String(occ.item.getFirstPropertyValue('transp') ?? 'OPAQUE').toUpperCase();
    const status = String(occ.item.getFirstPropertyValue('status') ?? '').toUpperCase();
    if (transp === 'TRANSPARENT' || status === 'CANCELLED') continue;
    const start = Math.max(occ.interval.start, range.start);
    const end = Math.min(occ.interval.end, range.end);
    if (!(end > start)) continue;
    out.push({ start, end, type: status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY' });
  }
  return out;
}

/** Overlapping or touching periods of one type become one, in time order. */
export function mergePeriods(periods: BusyPeriod[]): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  for (const type of ['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'] as const) {
    const mine = periods.filter((p) => p.type === type).sort((a, b) => a.start - b.start);
    let cur: BusyPeriod | undefined;
    for (const p of mine) {
      if (cur && p.start <= cur.end) cur.end = Math.max(cur.end, p.end);
      else {
        if (cur) out.push(cur);
        cur = { ...p };
      }
    }
    if (cur) out.push(cur);
  }
  return out.sort((a, b) => a.start - b.start || a.type.localeCompare(b.type));
}

function utc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The VCALENDAR answering a free-busy-query: one VFREEBUSY over the range, one FREEBUSY line per period. */
export function freeBusyCalendar(range: TimeRange, periods: BusyPeriod[], now = Date.now()): string {
  const fb = new ICAL.Component('vfreebusy');
  fb.addPropertyWithValue('dtstamp', ICAL.Time.fromJSDate(new Date(now), true));
  fb.addPropertyWithValue('dtstart', ICAL.Time.fromJSDate(new Date(range.start), true));
  fb.addPropertyWithValue('dtend', ICAL.Time.fromJSDate(new Date(range.end), true));
  const lines: string[] = [];
  for (const p of mergePeriods(periods)) lines.push(`FREEBUSY;FBTYPE=${p.type}:${utc(p.start)}/${utc(p.end)}`);
  const body = fb.toString().split(/\r?\n/);
  const end = body.pop() as string;
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Cozy Cloud//cozy-ts sync//EN', ...body, ...lines, end, 'END:VCALENDAR', ''].join('\r\n');
}
