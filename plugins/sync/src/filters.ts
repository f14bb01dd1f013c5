import ICAL from 'ical.js';
import type { ParsedCalendar } from './ical.ts';
import { matchesRange, toMs, type ExpandLimits } from './recurrence.ts';
import { SyncErrors } from './sync-errors.ts';
import { parseLine, unescapeText, unfold } from './vcard.ts';
import { child, childrenNamed, textOf, type XmlElement } from './dav.ts';
import { NS } from './namespaces.ts';

export interface TimeRange {
  start: number;
  end: number;
}

export interface TextMatch {
  value: string;
  collation: string;
  matchType: 'contains' | 'equals' | 'starts-with' | 'ends-with';
  negate: boolean;
}

export interface ParamFilter {
  name: string;
  isNotDefined: boolean;
  textMatch?: TextMatch;
}

export interface PropFilter {
  name: string;
  isNotDefined: boolean;
  /** CardDAV: whether every or any of the tests must pass. */
  test: 'anyof' | 'allof';
  timeRange?: TimeRange;
  textMatches: TextMatch[];
  params: ParamFilter[];
}

export interface CompFilter {
  name: string;
  isNotDefined: boolean;
  timeRange?: TimeRange;
  props: PropFilter[];
  comps: CompFilter[];
}

export interface AddressFilter {
  test: 'anyof' | 'allof';
  props: PropFilter[];
}

/** `20250301T000000Z` (RFC 4791 §9.9: UTC date-times) to milliseconds. */
export function parseUtc(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(value.trim());
  if (!m) throw SyncErrors.invalidFilter(`Invalid time ${JSON.stringify(value)}: use 20250101T000000Z`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
}

export function parseTimeRange(el: XmlElement | undefined): TimeRange | undefined {
  if (!el) return undefined;
  const range = { start: parseUtc(el.attrs.start, -8.64e15), end: parseUtc(el.attrs.end, 8.64e15) };
  if (range.end <= range.start) throw SyncErrors.invalidFilter('A time-range must end after it starts');
  return range;
}

/** The collations both RFCs require (RFC 4791 §7.5, RFC 6352 §8.3); any other is 403 supported-collation. */
export const COLLATIONS = ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap'] as const;

function parseTextMatch(el: XmlElement, ns: string): TextMatch {
  const type = el.attrs['match-type'] ?? 'contains';
  if (!['contains', 'equals', 'starts-with', 'ends-with'].includes(type)) throw SyncErrors.invalidFilter(`Unknown match-type ${type}`);
  // CardDAV's default collation is i;unicode-casemap (RFC 6352 §10.5.4), CalDAV's i;ascii-casemap (RFC 4791 §9.7.5).
  const collation = el.attrs.collation ?? (ns === NS.CARDDAV ? 'i;unicode-casemap' : 'i;ascii-casemap');
  if (!(COLLATIONS as readonly string[]).includes(collation)) {
    throw (ns === NS.CARDDAV ? SyncErrors.unsupportedAddressCollation : SyncErrors.unsupportedCalendarCollation)(`Collation ${collation} is not supported: ${COLLATIONS.join(', ')} are`);
  }
  return {
    value: textOf(el),
    collation,
    matchType: type as TextMatch['matchType'],
    negate: el.attrs['negate-condition'] === 'yes',
  };
}

function parsePropFilter(el: XmlElement, ns: string): PropFilter {
  const name = el.attrs.name;
  if (!name) throw SyncErrors.invalidFilter('prop-filter needs a name');
  return {
    name: name.toUpperCase(),
    isNotDefined: !!child(el, ns, 'is-not-defined'),
    test: el.attrs.test === 'allof' ? 'allof' : 'anyof',
    timeRange: parseTimeRange(child(el, ns, 'time-range')),
    textMatches: childrenNamed(el, ns, 'text-match').map((m) => parseTextMatch(m, ns)),
    params: childrenNamed(el, ns, 'param-filter').map((p) => ({
      name: (p.attrs.name ?? '').toUpperCase(),
      isNotDefined: !!child(p, ns, 'is-not-defined'),
      textMatch: child(p, ns, 'text-match') ? parseTextMatch(child(p, ns, 'text-match') as XmlElement, ns) : undefined,
    })),
  };
}

function parseCompFilter(el: XmlElement): CompFilter {
  const name = el.attrs.name;
  if (!name) throw SyncErrors.invalidFilter('comp-filter needs a name');
  return {
    name: name.toUpperCase(),
    isNotDefined: !!child(el, NS.CALDAV, 'is-not-defined'),
    timeRange: parseTimeRange(child(el, NS.CALDAV, 'time-range')),
    props: childrenNamed(el, NS.CALDAV, 'prop-filter').map((p) => parsePropFilter(p, NS.CALDAV)),
    comps: childrenNamed(el, NS.CALDAV, 'comp-filter').map(parseCompFilter),
  };
}

/** `<C:filter>` of a calendar-query: exactly one comp-filter on VCALENDAR (RFC 4791 §9.7). */
export function parseCalendarFilter(filter: XmlElement | undefined): CompFilter | undefined {
  if (!filter) return undefined;
  const top = childrenNamed(filter, NS.CALDAV, 'comp-filter');
  if (top.length !== 1 || (top[0] as XmlElement).attrs.name?.toUpperCase() !== 'VCALENDAR') throw SyncErrors.invalidFilter('The filter must hold one comp-filter on VCALENDAR');
  return parseCompFilter(top[0] as XmlElement);
}

export function parseAddressFilter(filter: XmlElement | undefined): AddressFilter | undefined {
  if (!filter) return undefined;
  return { test: filter.attrs.test === 'allof' ? 'allof' : 'anyof', props: childrenNamed(filter, NS.CARDDAV, 'prop-filter').map((p) => parsePropFilter(p, NS.CARDDAV)) };
}

/** The time range on the object's main component, for prefiltering members by their stored span. */
export function mainTimeRange(f: CompFilter | undefined): TimeRange | undefined {
  if (!f) return undefined;
  const ranges = f.comps.filter((c) => !c.isNotDefined && c.timeRange).map((c) => c.timeRange as TimeRange);
  return ranges.length === 1 && f.comps.length === 1 ? ranges[0] : undefined;
}

function fold(s: string, collation: string): string {
  if (collation === 'i;octet') return s;
  if (collation === 'i;ascii-casemap') return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return s.toLowerCase();
}

export function textMatches(value: string, m: TextMatch): boolean {
  const v = fold(value, m.collation);
  const q = fold(m.value, m.collation);
  let ok: boolean;
  switch (m.matchType) {
    case 'equals':
      ok = v === q;
      break;
    case 'starts-with':
      ok = v.startsWith(q);
      break;
    case 'ends-with':
      ok = v.endsWith(q);
      break;
    default:
      ok = v.includes(q);
  }
  return m.negate ? !ok : ok;
}

function icalValueText(p: ICAL.Property): string {
  return p.getValues().map((v) => (typeof v === 'string' ? v : Array.isArray(v) ? v.join(';') : String(v))).join(',');
}

function matchIcalProp(c: ICAL.Component, f: PropFilter, zone?: ICAL.Timezone): boolean {
  const props = c.getAllProperties(f.name.toLowerCase());
  if (f.isNotDefined) return props.length === 0;
  if (props.length === 0) return false;
  return props.some((p) => {
    if (f.timeRange) {
      const v = p.getFirstValue();
      if (!(v instanceof ICAL.Time)) return false;
      const t = toMs(v, zone);
      if (!(t >= f.timeRange.start && t < f.timeRange.end)) return false;
    }
    if (!f.textMatches.every((m) => textMatches(icalValueText(p), m))) return false;
    return f.params.every((pf) => {
      const raw = p.getParameter(pf.name.toLowerCase());
      const values = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
      if (pf.isNotDefined) return values.length === 0;
      if (values.length === 0) return false;
      return !pf.textMatch || values.some((v) => textMatches(v, pf.textMatch as TextMatch));
    });
  });
}

function matchComp(parent: ICAL.Component, f: CompFilter, p: ParsedCalendar, limits: ExpandLimits, top: boolean): boolean {
  const comps = top ? (parent.name.toUpperCase() === f.name ? [parent] : []) : parent.getAllSubcomponents(f.name.toLowerCase());
  if (f.isNotDefined) return comps.length === 0;
  if (comps.length === 0) return false;
  if (f.timeRange && !top && (f.name === 'VEVENT' || f.name === 'VTODO') && parent === p.root) {
    if (f.name !== p.kind || !matchesRange(p, f.timeRange.start, f.timeRange.end, limits)) return false;
  }
  return comps.some((c) => f.props.every((pf) => matchIcalProp(c, pf, limits.floatingZone)) && f.comps.every((cf) => matchComp(c, cf, p, limits, false)));
}

export function matchCalendar(p: ParsedCalendar, f: CompFilter | undefined, limits: ExpandLimits): boolean {
  return !f || matchComp(p.root, f, p, limits, true);
}

interface CardProp {
  name: string;
  params: Array<[string, string]>;
  value: string;
}

function matchCardProp(props: CardProp[], f: PropFilter): boolean {
  const mine = props.filter((p) => p.name === f.name);
  if (f.isNotDefined) return mine.length === 0;
  if (mine.length === 0) return false;
  const tests = [
    ...f.textMatches.map((m) => () => mine.some((p) => textMatches(unescapeText(p.value), m))),
    ...f.params.map((pf) => () => mine.some((p) => {
      const values = p.params.filter(([k]) => k === pf.name).flatMap(([, v]) => v.replace(/^"|"$/g, '').split(','));
      if (pf.isNotDefined) return values.length === 0;
      return values.length > 0 && (!pf.textMatch || values.some((v) => textMatches(v, pf.textMatch as TextMatch)));
    })),
  ];
  if (tests.length === 0) return true;
  return f.test === 'allof' ? tests.every((t) => t()) : tests.some((t) => t());
}

export function matchCard(raw: string, f: AddressFilter | undefined): boolean {
  if (!f || f.props.length === 0) return true;
  const props = unfold(raw).map(parseLine);
  return f.test === 'allof' ? f.props.every((pf) => matchCardProp(props, pf)) : f.props.some((pf) => matchCardProp(props, pf));
}
