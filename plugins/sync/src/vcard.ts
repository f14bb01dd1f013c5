import ICAL from 'ical.js';
import { SyncErrors } from './sync-errors.ts';

export type VcardVersion = '3.0' | '4.0';

export interface ParsedVcard {
  version: VcardVersion;
  uid?: string;
  fn?: string;
  /** A group card: KIND:group or X-ADDRESSBOOKSERVER-KIND:group. */
  group: boolean;
}

/** Validates a vCard body with ical.js: exactly one VCARD, well-formed content lines. */
export function parseVcard(text: string): ParsedVcard {
  let jcal: unknown;
  try {
    if (!/^\s*BEGIN:VCARD/i.test(text)) throw new Error('not a VCARD');
    jcal = ICAL.parse(text);
  } catch (err) {
    throw SyncErrors.invalidAddressData(`Invalid vCard data: ${(err as Error).message}`);
  }
  if (!Array.isArray(jcal) || jcal[0] !== 'vcard') throw SyncErrors.invalidAddressData('A vCard resource holds exactly one VCARD');
  const comp = new ICAL.Component(jcal as [string, unknown[], unknown[]]);
  const version = String(comp.getFirstPropertyValue('version') ?? '');
  if (version !== '3.0' && version !== '4.0') throw SyncErrors.invalidAddressData(`Unsupported vCard version ${JSON.stringify(version)}: 3.0 and 4.0 are`);
  const uid = comp.getFirstPropertyValue('uid');
  const fn = comp.getFirstPropertyValue('fn');
  // RFC 6350 §6.1.4 KIND, and the X- property Apple's clients (and vCard 3.0 writers such as DAVx5) use for it.
  const kind = String(comp.getFirstPropertyValue('kind') ?? comp.getFirstPropertyValue('x-addressbookserver-kind') ?? '').trim().toLowerCase();
  return { version, uid: uid ? String(uid) : undefined, fn: fn ? String(fn) : undefined, group: kind === 'group' };
}

export interface ContentLine {
  group: string;
  name: string;
  params: Array<[string, string]>;
  value: string;
}

export function unfold(text: string): string[] {
  return text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).filter((l) => l !== '');
}

export function parseLine(line: string): ContentLine {
  let i = 0;
  let inQuote = false;
  let nameEnd = -1;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '"') inQuote = !inQuote;
    else if (!inQuote && (c === ';' || c === ':') && nameEnd === -1) nameEnd = i;
    if (!inQuote && c === ':') break;
  }
  const head = line.slice(0, i);
  const value = line.slice(i + 1);
  const parts: string[] = [];
  let cur = '';
  inQuote = false;
  for (const c of head) {
    if (c === '"') inQuote = !inQuote;
    if (c === ';' && !inQuote) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  const full = parts.shift() ?? '';
  const dot = full.indexOf('.');
  const params = parts.map((p): [string, string] => {
    const eq = p.indexOf('=');
    return eq === -1 ? ['TYPE', p] : [p.slice(0, eq).toUpperCase(), p.slice(eq + 1)];
  });
  return { group: dot === -1 ? '' : full.slice(0, dot), name: (dot === -1 ? full : full.slice(dot + 1)).toUpperCase(), params, value };
}

/** Folds at 75 octets without splitting a UTF-8 sequence (RFC 6350 §3.2). */
function fold(line: string): string {
  const bytes = Buffer.from(line);
  if (bytes.length <= 75) return line;
  const out: string[] = [];
  let start = 0;
  let limit = 75;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end).toString());
    start = end;
    limit = 74;
  }
  return out.join('\r\n ');
}

export function formatLine(l: ContentLine): string {
  const params = l.params.map(([k, v]) => `;${k}=${v}`).join('');
  return fold(`${l.group ? `${l.group}.` : ''}${l.name}${params}:${l.value}`);
}

const MEDIA_PROPS = new Set(['PHOTO', 'LOGO', 'SOUND', 'KEY']);

function mediaType(name: string, type: string): string {
  const t = type.toLowerCase();
  if (t.includes('/')) return t;
  if (name === 'SOUND') return `audio/${t || 'basic'}`;
  if (name === 'KEY') return `application/${t || 'octet-stream'}`;
  return `image/${t === 'jpg' ? 'jpeg' : t || 'jpeg'}`;
}

function unquote(v: string): string {
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

function typesOf(params: Array<[string, string]>): string[] {
  return params.filter(([k]) => k === 'TYPE').flatMap(([, v]) => unquote(v).split(',')).filter(Boolean);
}

function to4(l: ContentLine): ContentLine {
  if (l.name === 'VERSION') return { ...l, value: '4.0' };
  let params = l.params;
  let value = l.value;
  const encoding = params.find(([k]) => k === 'ENCODING')?.[1]?.toLowerCase();
  if (MEDIA_PROPS.has(l.name) && (encoding === 'b' || encoding === 'base64')) {
    const type = typesOf(params)[0] ?? '';
    value = `data:${mediaType(l.name, type)};base64,${value}`;
    params = params.filter(([k]) => k !== 'ENCODING' && k !== 'TYPE' && k !== 'VALUE');
    return { ...l, params, value };
  }
  const types = typesOf(params);
  if (types.some((t) => t.toLowerCase() === 'pref')) {
    const kept = types.filter((t) => t.toLowerCase() !== 'pref' && !(l.name === 'EMAIL' && t.toLowerCase() === 'internet'));
    params = params.filter(([k]) => k !== 'TYPE');
    if (kept.length) params.push(['TYPE', kept.join(',')]);
    params.push(['PREF', '1']);
  }
  return { ...l, params, value };
}

function to3(l: ContentLine): ContentLine {
  if (l.name === 'VERSION') return { ...l, value: '3.0' };
  let params = l.params;
  let value = l.value;
  if (MEDIA_PROPS.has(l.name)) {
    const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/is.exec(value);
    if (m) {
      const sub = (m[1] ?? '').split('/')[1] ?? 'jpeg';
      params = params.filter(([k]) => k !== 'VALUE' && k !== 'MEDIATYPE');
      params.push(['ENCODING', 'b'], ['TYPE', sub.toUpperCase()]);
      return { ...l, params, value: m[2] ?? '' };
    }
  }
  if (l.name === 'TEL' && /^tel:/i.test(value)) {
    value = value.slice(4);
    params = params.filter(([k, v]) => !(k === 'VALUE' && v.toLowerCase() === 'uri'));
  }
  const pref = params.find(([k]) => k === 'PREF');
  if (pref) {
    const types = typesOf(params);
    params = params.filter(([k]) => k !== 'PREF' && k !== 'TYPE');
    params.push(['TYPE', [...types, 'pref'].join(',')]);
  }
  return { ...l, params, value };
}

/** The vCard in the asked version: the stored bytes when the version matches (a byte-faithful round trip). */
export function vcardAs(raw: string, from: VcardVersion, to: VcardVersion): string {
  if (from === to) return raw;
  const convert = to === '4.0' ? to4 : to3;
  return unfold(raw).map((line) => formatLine(convert(parseLine(line)))).join('\r\n') + '\r\n';
}

/** Which version a client asks for: Accept header or address-data's version attribute; none means as stored. */
export function wantedVersion(accept: string | undefined): VcardVersion | undefined {
  if (!accept) return undefined;
  const m = /text\/vcard[^,]*version\s*=\s*"?([34])\.0/i.exec(accept);
  return m ? (m[1] === '4' ? '4.0' : '3.0') : undefined;
}

/** cozy's io.cozy.contacts fields (see cozy-stack model/contact), read from the card for the Contacts app. */
export interface ContactFields {
  fullname?: string;
  name?: { familyName?: string; givenName?: string; additionalName?: string; namePrefix?: string; nameSuffix?: string };
  email?: Array<{ address: string; type?: string; primary?: boolean }>;
  phone?: Array<{ number: string; type?: string; primary?: boolean }>;
  address?: Array<{ street?: string; pobox?: string; city?: string; region?: string; postcode?: string; country?: string; type?: string; primary?: boolean; formattedAddress?: string }>;
  birthday?: string;
  note?: string;
  company?: string;
  jobTitle?: string;
}

type V4Prop = { property: string; parameters: Record<string, string | string[]>; value: unknown };

function paramType(p: V4Prop): string | undefined {
  const t = p.parameters.TYPE;
  const list = (Array.isArray(t) ? t : t ? [t] : []).map((x) => x.toLowerCase()).filter((x) => x !== 'pref' && x !== 'internet');
  return list.length ? list.join(',') : undefined;
}

function isPref(p: V4Prop): boolean {
  const t = p.parameters.TYPE;
  return p.parameters.PREF !== undefined || (Array.isArray(t) ? t : [t]).some((x) => typeof x === 'string' && x.toLowerCase() === 'pref');
}

export function unescapeText(s: string): string {
  return s.replace(/\\([\\,;nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** vcard4 takes ~0.35 s to import: loaded on the first card written, not at start-up. */
let vcard4: Promise<typeof import('vcard4')> | undefined;

/** Reads the Contacts app's fields with vcard4 (a strict RFC 6350 parser, so from the card in its 4.0 form). */
export async function contactFields(raw: string, version: VcardVersion): Promise<ContactFields> {
  const v4 = vcardAs(raw, version, '4.0').replace(/\r?\n/g, '\r\n');
  const { parse: parseVcard4 } = await (vcard4 ??= import('vcard4'));
  let props: V4Prop[];
  try {
    const parsed = parseVcard4(v4);
    props = (Array.isArray(parsed) ? parsed[0]?.parsedVcard ?? [] : parsed.parsedVcard) as V4Prop[];
  } catch {
    // vcard4 is stricter than clients are; the card stays as sent, only the app's fields are fewer.
    props = unfold(v4).map(parseLine).filter((l) => l.name === 'FN').map((l) => ({ property: 'FN', parameters: {}, value: l.value }));
  }
  const f: ContactFields = {};
  const str = (v: unknown) => (typeof v === 'string' ? unescapeText(v) : undefined);
  for (const p of props) {
    const v = p.value;
    switch (p.property) {
      case 'FN':
        f.fullname ??= str(v);
        break;
      case 'N': {
        const n = v as Record<string, string>;
        if (n && typeof n === 'object') {
          f.name = {};
          const set = (k: keyof NonNullable<ContactFields['name']>, x: string | undefined) => {
            if (x) f.name![k] = unescapeText(x);
          };
          set('familyName', n.familyNames);
          set('givenName', n.givenNames);
          set('additionalName', n.additionalNames);
          set('namePrefix', n.honorificPrefixes);
          set('nameSuffix', n.honorificSuffixes);
        }
        break;
      }
      case 'EMAIL':
        if (typeof v === 'string') (f.email ??= []).push({ address: unescapeText(v), type: paramType(p), primary: isPref(p) });
        break;
      case 'TEL':
        if (typeof v === 'string') (f.phone ??= []).push({ number: v.replace(/^tel:/i, ''), type: paramType(p), primary: isPref(p) });
        break;
      case 'ADR': {
        const a = v as Record<string, string>;
        if (a && typeof a === 'object') {
          (f.address ??= []).push({
            street: str(a.streetAddress) || undefined, pobox: str(a.postOfficeBox) || undefined, city: str(a.locality) || undefined,
            region: str(a.region) || undefined, postcode: str(a.postalCode) || undefined, country: str(a.countryName) || undefined,
            type: paramType(p), primary: isPref(p),
          });
        }
        break;
      }
      case 'BDAY':
        f.birthday ??= str(v);
        break;
      case 'NOTE':
        f.note ??= str(v);
        break;
      case 'ORG':
        f.company ??= typeof v === 'string' ? unescapeText(v.split(/(?<!\\);/)[0] ?? '') : Array.isArray(v) ? String(v[0]) : undefined;
        break;
      case 'TITLE':
        f.jobTitle ??= str(v);
        break;
    }
  }
  return JSON.parse(JSON.stringify(f)) as ContactFields;
}

function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/,/g, '\\,').replace(/;/g, '\\;');
}

/** A group card with its FN set to the name Cozy's Contacts app gave the group; everything else as stored. */
export function renamedGroupCard(raw: string, name: string): string {
  return `${unfold(raw).map((line) => {
    const l = parseLine(line);
    return l.name.toUpperCase() === 'FN' ? formatLine({ ...l, value: escapeText(name) }) : line;
  }).join('\r\n')}\r\n`;
}

/** A vCard 4.0 for a contact made in Cozy (through /data) that no DAV client has sent a card for. */
export function vcardFromFields(id: string, f: ContactFields): string {
  const lines: ContentLine[] = [{ group: '', name: 'VERSION', params: [], value: '4.0' }, { group: '', name: 'UID', params: [], value: escapeText(id) }];
  const n = f.name ?? {};
  const fn = f.fullname || [n.namePrefix, n.givenName, n.additionalName, n.familyName, n.nameSuffix].filter(Boolean).join(' ') || f.email?.[0]?.address || id;
  lines.push({ group: '', name: 'FN', params: [], value: escapeText(fn) });
  lines.push({ group: '', name: 'N', params: [], value: [n.familyName, n.givenName, n.additionalName, n.namePrefix, n.nameSuffix].map((x) => escapeText(x ?? '')).join(';') });
  const typed = (type?: string, primary?: boolean): Array<[string, string]> => [...(type ? [['TYPE', type] as [string, string]] : []), ...(primary ? [['PREF', '1'] as [string, string]] : [])];
  for (const e of f.email ?? []) if (e?.address) lines.push({ group: '', name: 'EMAIL', params: typed(e.type, e.primary), value: escapeText(e.address) });
  for (const p of f.phone ?? []) if (p?.number) lines.push({ group: '', name: 'TEL', params: typed(p.type, p.primary), value: escapeText(p.number) });
  for (const a of f.address ?? []) {
    if (!a) continue;
    const parts = [a.pobox, '', a.street, a.city, a.region, a.postcode, a.country].map((x) => escapeText(x ?? ''));
    lines.push({ group: '', name: 'ADR', params: typed(a.type, a.primary), value: parts.join(';') });
  }
  if (f.birthday) lines.push({ group: '', name: 'BDAY', params: [], value: f.birthday.replace(/-/g, '') });
  if (f.company) lines.push({ group: '', name: 'ORG', params: [], value: escapeText(f.company) });
  if (f.jobTitle) lines.push({ group: '', name: 'TITLE', params: [], value: escapeText(f.jobTitle) });
  if (f.note) lines.push({ group: '', name: 'NOTE', params: [], value: escapeText(f.note) });
  return ['BEGIN:VCARD', ...lines.map(formatLine), 'END:VCARD', ''].join('\r\n');
}
