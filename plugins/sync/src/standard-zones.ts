import ICAL from 'ical.js';
import { tzlib_get_ical_block, tzlib_get_timezones } from 'timezones-ical-library';

/**
 * Standard (IANA) time zones, for time zones by reference (RFC 7809): a client may leave out the VTIMEZONE of a
 * standard TZID, a calendar may name its zone by id, and a client may ask for VTIMEZONEs to be added or left
 * out of what it reads. The definitions come from timezones-ical-library (the IANA database as VTIMEZONEs, aliases
 * included), each parsed once per process.
 */
interface StandardZone {
  /** The VTIMEZONE, its TZID (and X-LIC-LOCATION) the id it was asked by, CRLF line ends, no final CRLF. */
  text: string;
  /** Bytes the VTIMEZONE adds to a served object, its line end included (served lengths are summed from it). */
  bytes: number;
  zone: ICAL.Timezone;
}

const known = new Map<string, StandardZone | null>();
const KNOWN_LIMIT = 2_000;

let ids: Set<string> | undefined;

function definitionOf(id: string): string | undefined {
  // The library logs on an unknown id: ask it only about the ones it lists.
  ids ??= new Set(tzlib_get_timezones() as string[]);
  if (!ids.has(id)) return undefined;
  const block = tzlib_get_ical_block(id);
  return Array.isArray(block) && typeof block[0] === 'string' && block[0].startsWith('BEGIN:VTIMEZONE') ? block[0] : undefined;
}

/**
 * The standard zone an id names, or undefined. Ids with a vendor prefix (`/mozilla.org/20050126_1/Europe/Paris`,
 * `/citadel.org/.../Europe/Paris`) name the IANA zone they end with.
 */
export function standardZone(id: string): StandardZone | undefined {
  const hit = known.get(id);
  if (hit !== undefined) return hit ?? undefined;
  let def = definitionOf(id);
  if (!def && id.startsWith('/')) {
    const parts = id.split('/').filter(Boolean);
    for (let n = Math.min(3, parts.length - 1); n >= 1 && !def; n--) def = definitionOf(parts.slice(-n).join('/'));
  }
  let found: StandardZone | null = null;
  if (def) {
    const text = def
      .replace(/\r?\n/g, '\r\n')
      .replace(/^TZID:.*$/m, `TZID:${id}`)
      .replace(/^X-LIC-LOCATION:.*$/m, `X-LIC-LOCATION:${id}`)
      .replace(/\r\n$/, '');
    try {
      const zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(`BEGIN:VCALENDAR\r\n${text}\r\nEND:VCALENDAR\r\n`) as [string, unknown[], unknown[]]).getFirstSubcomponent('vtimezone') as ICAL.Component);
      found = { text, bytes: Buffer.byteLength(text) + 2, zone };
    } catch {
      found = null;
    }
  }
  if (known.size >= KNOWN_LIMIT) known.delete(known.keys().next().value as string);
  known.set(id, found);
  return found ?? undefined;
}

/** `TZID=` parameters, unquoted, of an iCalendar text (its lines unfolded). */
function referencedIds(unfolded: string): Set<string> {
  const ids = new Set<string>();
  for (const m of unfolded.matchAll(/;TZID=(?:"([^"]*)"|([^:;\r\n]*))/gi)) ids.add(m[1] ?? m[2] ?? '');
  ids.delete('');
  return ids;
}

const VTIMEZONE_BLOCK = /^BEGIN:VTIMEZONE\r?\n[\s\S]*?^END:VTIMEZONE\r?\n/gim;

function definedIds(unfolded: string): Set<string> {
  const ids = new Set<string>();
  for (const block of unfolded.match(VTIMEZONE_BLOCK) ?? []) {
    const id = /^TZID:([^\r\n]*)/im.exec(block)?.[1]?.trim();
    if (id) ids.add(id);
  }
  return ids;
}

const unfold = (text: string) => text.replace(/\r?\n[ \t]/g, '');

/**
 * Makes ical.js resolve the standard TZIDs an object references without defining them: ical.js looks a TZID up
 * in the object's own VTIMEZONEs first, then in its TimezoneService, where the standard zone is registered here.
 * A TZID that is neither defined nor standard stays unresolved (read as floating time, as before).
 */
export function registerReferencedZones(text: string): void {
  if (!/;TZID=/i.test(text)) return;
  for (const id of referencedIds(unfold(text))) {
    if (ICAL.TimezoneService.has(id)) continue;
    const std = standardZone(id);
    if (!std) continue;
    ICAL.TimezoneService.register(std.zone, id);
    if (!ids?.has(id)) registeredPrefixed(id);
  }
}

/**
 * Prefixed ids registered with ical.js, oldest first. ical.js's registry is process-wide and never shrinks, and
 * any client can make up new prefixes (`/x-1/Europe/Paris`, `/x-2/...`): past the bound the oldest is removed
 * again (an object naming it is then read as floating time until it is registered anew). IANA ids need no bound:
 * there are a few hundred.
 */
const prefixed = new Set<string>();
const PREFIXED_LIMIT = 256;

function registeredPrefixed(id: string): void {
  prefixed.add(id);
  if (prefixed.size <= PREFIXED_LIMIT) return;
  const oldest = prefixed.values().next().value as string;
  prefixed.delete(oldest);
  ICAL.TimezoneService.remove(oldest);
}

/** What a client asked for with `CalDAV-Timezones` (RFC 7809 §3.1.2): absent counts as `T`. */
export type TimezonesMode = 'include' | 'omit';

export function timezonesMode(header: string | string[] | undefined): TimezonesMode {
  const v = (Array.isArray(header) ? header[0] : header)?.trim().toUpperCase();
  return v === 'F' ? 'omit' : 'include';
}

/**
 * Where an object's time zones stand, read once when it is stored (`dav.zones`): what `servedCalendar` needs to
 * know, so the length of what it serves is summed without reading the text again.
 */
export interface ZoneLayout {
  /** TZIDs referenced without a VTIMEZONE of the object's own (empty when it has no component to insert before). */
  refs: string[];
  /** The object's VTIMEZONE blocks in order: TZID (empty when it has none) and byte length. */
  defs: Array<[string, number]>;
}

/** The first component's line: added VTIMEZONEs go before it, after the VCALENDAR's own properties. */
const FIRST_COMPONENT = /^BEGIN:(?!VCALENDAR)/im;

export function zoneLayout(raw: string): ZoneLayout {
  if (!/TZID/i.test(raw)) return { refs: [], defs: [] };
  const defs: Array<[string, number]> = (raw.match(VTIMEZONE_BLOCK) ?? []).map((block) => [/^TZID:([^\r\n]*)/im.exec(unfold(block))?.[1]?.trim() ?? '', Buffer.byteLength(block)]);
  if (!FIRST_COMPONENT.test(raw)) return { refs: [], defs };
  const unfolded = unfold(raw);
  const defined = definedIds(unfolded);
  return { refs: [...referencedIds(unfolded)].filter((id) => !defined.has(id)), defs };
}

/** Whether a stored `dav.zones` has the shape this code writes (documents of older code have none). */
export function isZoneLayout(v: unknown): v is ZoneLayout {
  const l = v as ZoneLayout | undefined;
  return !!l && Array.isArray(l.refs) && Array.isArray(l.defs) && l.refs.every((r) => typeof r === 'string')
    && l.defs.every((d) => Array.isArray(d) && typeof d[0] === 'string' && typeof d[1] === 'number');
}

/**
 * A stored object as served: with `include`, a VTIMEZONE is added for every standard TZID it references without
 * defining (the client that stored it left it out); with `omit`, the VTIMEZONEs of standard zones are left out.
 * Definitions of non-standard zones always stay. The stored text is returned as is when nothing changes.
 */
export function servedCalendar(raw: string, mode: TimezonesMode, layout: ZoneLayout = zoneLayout(raw)): string {
  if (mode === 'omit') {
    if (!layout.defs.some(([id]) => id && standardZone(id))) return raw;
    return raw.replace(VTIMEZONE_BLOCK, (block) => {
      const id = /^TZID:([^\r\n]*)/im.exec(unfold(block))?.[1]?.trim();
      return id && standardZone(id) ? '' : block;
    });
  }
  const missing = layout.refs.filter((id) => standardZone(id));
  if (missing.length === 0) return raw;
  const blocks = missing.map((id) => `${standardZone(id)!.text}\r\n`).join('');
  const at = FIRST_COMPONENT.exec(raw)!;
  return raw.slice(0, at.index) + blocks + raw.slice(at.index);
}

/**
 * The byte length `servedCalendar` gives for an object of `size` bytes with this layout: the stored size, plus
 * the standard definitions added (their lengths known per TZID), or minus the stored ones left out. Whether a
 * TZID is standard is asked now, as `servedCalendar` does, so the two agree whatever the zone library says.
 */
export function servedLength(size: number, layout: ZoneLayout, mode: TimezonesMode): number {
  if (mode === 'omit') return layout.defs.reduce((n, [id, bytes]) => (id && standardZone(id) ? n - bytes : n), size);
  return layout.refs.reduce((n, id) => n + (standardZone(id)?.bytes ?? 0), size);
}
