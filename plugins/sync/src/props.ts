import { clark, davEl, el, escapeText, fromClark, Xml, type PropStat, type XmlContent } from './dav.ts';
import type { CollectionDoc, MemberRow } from './dav-store.ts';
import { COLLATIONS } from './filters.ts';
import { DOCTYPES, type HomeKind } from './layout.ts';
import { NS } from './namespaces.ts';
import { BASE, hrefOf } from './paths.ts';
import { tzidOf } from './timezone.ts';

export interface PropName {
  ns: string;
  name: string;
}

/** A property's answer: its content (200) or nothing (404), or refused (403, PROPPATCH). */
export interface PropResult extends PropName {
  status: number;
  value?: Xml;
  /** A precondition element explaining a refusal (`<D:error>` of its propstat). */
  error?: string;
}

/** What property answers need beside the resource itself, computed once per request. */
export interface PropContext {
  /** Current sync token of a collection (also its ctag). */
  token(kind: HomeKind, coll: CollectionDoc): Promise<string>;
  /** A home's ctag: it changes with any of its collections or their members. */
  homeTag(kind: HomeKind): Promise<string>;
  canWrite(kind: HomeKind): boolean;
  maxResourceSize: number;
}

export type PropResource =
  | { type: 'root' }
  | { type: 'principal' }
  | { type: 'home'; kind: HomeKind }
  | { type: 'collection'; kind: HomeKind; coll: CollectionDoc }
  /**
   * `body`: calendar-data / address-data as this request shapes it; `length`: the byte length of what GET would
   * serve for this request's headers (getcontentlength), which is not the shaped body's.
   */
  | { type: 'member'; kind: HomeKind; coll: string; row: MemberRow; body?: () => string; length?: () => number };

const href = (h: string) => davEl('href', h);
const cal = (name: string, c?: XmlContent, attrs?: Record<string, string>) => el({ ns: NS.CALDAV, name }, c, attrs);
const card = (name: string, c?: XmlContent, attrs?: Record<string, string>) => el({ ns: NS.CARDDAV, name }, c, attrs);
const many = (parts: Xml[]) => new Xml(parts.map((p) => p.raw).join(''));

function privileges(write: boolean): Xml {
  const list = write ? ['read', 'write', 'write-properties', 'write-content', 'bind', 'unbind', 'read-current-user-privilege-set'] : ['read', 'read-current-user-privilege-set'];
  return many(list.map((p) => davEl('privilege', davEl(p))));
}

function reports(names: Array<[string, string]>): Xml {
  return many(names.map(([ns, n]) => davEl('supported-report', davEl('report', el({ ns, name: n })))));
}

export function contentType(doctype: string): string {
  if (doctype === DOCTYPES.contacts || doctype === DOCTYPES.groups) return 'text/vcard; charset=utf-8';
  return `text/calendar; charset=utf-8; component=${doctype === DOCTYPES.todos ? 'vtodo' : 'vevent'}`;
}

/** Properties `allprop` answers with (RFC 4918 §9.1: the live ones that are cheap, not the reports). */
export function allPropNames(r: PropResource): PropName[] {
  const d = (name: string) => ({ ns: NS.DAV, name });
  const base = [d('resourcetype'), d('displayname')];
  if (r.type === 'member') return [d('resourcetype'), d('getetag'), d('getcontenttype'), d('getcontentlength')];
  if (r.type === 'collection') {
    const extra: PropName[] = [d('sync-token'), { ns: NS.CS, name: 'getctag' }];
    if (r.kind === 'calendars') extra.push({ ns: NS.CALDAV, name: 'calendar-description' }, { ns: NS.ICAL, name: 'calendar-color' }, { ns: NS.CALDAV, name: 'supported-calendar-component-set' });
    else extra.push({ ns: NS.CARDDAV, name: 'addressbook-description' });
    for (const key of Object.keys(r.coll.props ?? {})) extra.push(fromClark(key));
    return [...base, ...extra];
  }
  return [...base, d('current-user-principal')];
}

const text = (s: string) => new Xml(escapeText(s));

/** The content of one property of a resource, or undefined when it has none (404 in the propstat). */
export async function propValue(r: PropResource, p: PropName, ctx: PropContext): Promise<Xml | undefined> {
  const key = clark(p);
  switch (key) {
    case '{DAV:}current-user-principal':
    case '{DAV:}principal-URL':
    case '{DAV:}owner':
      return href(`${BASE}/principal/`);
    case '{DAV:}principal-collection-set':
      return href(`${BASE}/`);
    case `{${NS.CALDAV}}calendar-home-set`:
      return r.type === 'principal' || r.type === 'root' ? href(`${BASE}/calendars/`) : undefined;
    case `{${NS.CARDDAV}}addressbook-home-set`:
      return r.type === 'principal' || r.type === 'root' ? href(`${BASE}/contacts/`) : undefined;
    case `{${NS.CALDAV}}calendar-user-address-set`:
      return r.type === 'principal' ? href(`${BASE}/principal/`) : undefined;
    case '{DAV:}current-user-privilege-set':
      if (r.type === 'root' || r.type === 'principal') return privileges(false);
      return privileges(ctx.canWrite(r.kind));
  }
  switch (r.type) {
    case 'root':
    case 'principal':
      if (key === '{DAV:}resourcetype') return r.type === 'root' ? davEl('collection') : many([davEl('collection'), davEl('principal')]);
      if (key === '{DAV:}displayname') return text('Cozy');
      return undefined;
    case 'home':
      if (key === '{DAV:}resourcetype') return davEl('collection');
      if (key === '{DAV:}displayname') return text(r.kind === 'calendars' ? 'Calendars' : 'Address books');
      if (key === '{DAV:}supported-report-set') return reports([]);
      // Not in RFC 4791, but clients that poll a home before its calendars read it when it is there.
      if (key === `{${NS.CS}}getctag`) return text(await ctx.homeTag(r.kind));
      return undefined;
    case 'collection':
      return collectionProp(r.kind, r.coll, key, ctx);
    case 'member':
      return memberProp(r, key);
  }
}

async function collectionProp(kind: HomeKind, coll: CollectionDoc, key: string, ctx: PropContext): Promise<Xml | undefined> {
  const isCal = kind === 'calendars';
  const opt = (v: string | undefined) => (v !== undefined ? text(v) : undefined);
  switch (key) {
    case '{DAV:}resourcetype':
      return many([davEl('collection'), isCal ? cal('calendar') : card('addressbook')]);
    case '{DAV:}displayname':
      return opt(coll.displayname);
    case '{DAV:}sync-token':
    case `{${NS.CS}}getctag`:
      return text(await ctx.token(kind, coll));
    case '{DAV:}supported-report-set':
      return reports(isCal
        ? [[NS.CALDAV, 'calendar-query'], [NS.CALDAV, 'calendar-multiget'], [NS.CALDAV, 'free-busy-query'], [NS.DAV, 'sync-collection']]
        : [[NS.CARDDAV, 'addressbook-query'], [NS.CARDDAV, 'addressbook-multiget'], [NS.DAV, 'sync-collection']]);
    case '{DAV:}getcontenttype':
      return text(isCal ? 'text/calendar' : 'text/vcard');
  }
  if (isCal) {
    switch (key) {
      case `{${NS.CALDAV}}calendar-description`:
        return opt(coll.description);
      case `{${NS.ICAL}}calendar-color`:
        return opt(coll.color);
      case `{${NS.ICAL}}calendar-order`:
        return opt(coll.order);
      case `{${NS.CALDAV}}calendar-timezone`:
        return opt(coll.timezone);
      case `{${NS.CALDAV}}calendar-timezone-id`:
        // RFC 7809 §5.2: the TZID of calendar-timezone (parsed once per VTIMEZONE text, cached).
        return opt(tzidOf(coll.timezone));
      case `{${NS.CALDAV}}supported-calendar-component-set`:
        return many((coll.components ?? ['VEVENT', 'VTODO']).map((c) => cal('comp', undefined, { name: c })));
      case `{${NS.CALDAV}}supported-calendar-data`:
        return cal('calendar-data', undefined, { 'content-type': 'text/calendar', version: '2.0' });
      case `{${NS.CALDAV}}max-resource-size`:
        return text(String(ctx.maxResourceSize));
      case `{${NS.CALDAV}}supported-collation-set`:
        return many(COLLATIONS.map((c) => cal('supported-collation', c)));
    }
  } else {
    switch (key) {
      case `{${NS.CARDDAV}}addressbook-description`:
        return opt(coll.description);
      case `{${NS.CARDDAV}}supported-address-data`:
        return many([card('address-data-type', undefined, { 'content-type': 'text/vcard', version: '3.0' }), card('address-data-type', undefined, { 'content-type': 'text/vcard', version: '4.0' })]);
      case `{${NS.CARDDAV}}max-resource-size`:
        return text(String(ctx.maxResourceSize));
      case `{${NS.CARDDAV}}supported-collation-set`:
        return many(COLLATIONS.map((c) => card('supported-collation', c)));
    }
  }
  const dead = coll.props?.[key];
  return dead !== undefined ? new Xml(dead) : undefined;
}

function memberProp(r: Extract<PropResource, { type: 'member' }>, key: string): Xml | undefined {
  switch (key) {
    case '{DAV:}resourcetype':
      return new Xml('');
    case '{DAV:}getetag':
      return text(r.row.etag);
    case '{DAV:}getcontenttype':
      return text(contentType(r.row.doctype));
    case '{DAV:}getcontentlength':
      return r.length ? text(String(r.length())) : undefined;
    case `{${NS.CALDAV}}calendar-data`:
      return r.kind === 'calendars' && r.body ? text(r.body()) : undefined;
    case `{${NS.CARDDAV}}address-data`:
      return r.kind === 'contacts' && r.body ? text(r.body()) : undefined;
  }
  return undefined;
}

/** Results for a list of names, in the order asked. */
export async function propResults(r: PropResource, names: PropName[], ctx: PropContext): Promise<PropResult[]> {
  const out: PropResult[] = [];
  for (const p of names) {
    const value = await propValue(r, p, ctx);
    out.push(value === undefined ? { ns: p.ns, name: p.name, status: 404 } : { ns: p.ns, name: p.name, status: 200, value });
  }
  return out;
}

/** Results grouped into propstats for a multistatus; `minimal` (Prefer: return=minimal) drops the 404s. */
export function propStats(results: PropResult[], minimal = false): PropStat[] {
  const byStatus = new Map<number, Xml[]>();
  const errors = new Map<number, string>();
  for (const r of results) {
    if (minimal && r.status === 404) continue;
    const q = { ns: r.ns, name: r.name };
    byStatus.set(r.status, [...(byStatus.get(r.status) ?? []), r.status === 200 && r.value ? el(q, r.value) : el(q)]);
    if (r.error) errors.set(r.status, (errors.get(r.status) ?? '') + r.error);
  }
  if (byStatus.size === 0) return [{ status: 200, props: [new Xml('')] }];
  return [...byStatus].map(([status, props]) => (errors.has(status) ? { status, props, error: errors.get(status) } : { status, props }));
}

export function resourceHref(r: PropResource): string {
  switch (r.type) {
    case 'root':
    case 'principal':
    case 'home':
      return hrefOf(r);
    case 'collection':
      return hrefOf({ type: 'collection', kind: r.kind, name: r.coll._id });
    case 'member':
      return hrefOf({ type: 'member', kind: r.kind, collection: r.coll, name: r.row.name });
  }
}
