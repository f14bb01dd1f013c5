import { escapeXml, clark, NS } from './xml.ts';
import type { CollectionDoc, MemberRow } from './dav-store.ts';
import { DOCTYPES, type HomeKind } from './layout.ts';
import type { PropResult, PropValue } from './multistatus.ts';
import { BASE, hrefOf } from './paths.ts';

export interface PropName {
  ns: string;
  name: string;
}

/** What property answers need beside the resource itself, computed once per request. */
export interface PropContext {
  /** Current sync token of a collection (also its ctag). */
  token(kind: HomeKind, coll: CollectionDoc): Promise<string>;
  canWrite(kind: HomeKind): boolean;
  maxResourceSize: number;
}

export type PropResource =
  | { type: 'root' }
  | { type: 'principal' }
  | { type: 'home'; kind: HomeKind }
  | { type: 'collection'; kind: HomeKind; coll: CollectionDoc }
  | { type: 'member'; kind: HomeKind; coll: string; row: MemberRow; body?: () => string };

const href = (h: string) => `<D:href>${escapeXml(h)}</D:href>`;
const xml = (s: string): PropValue => ({ xml: s });

function privileges(write: boolean): string {
  const list = write ? ['read', 'write', 'write-properties', 'write-content', 'bind', 'unbind', 'read-current-user-privilege-set'] : ['read', 'read-current-user-privilege-set'];
  return list.map((p) => `<D:privilege><D:${p}/></D:privilege>`).join('');
}

function reports(names: Array<[string, string]>): string {
  return names.map(([p, n]) => `<D:supported-report><D:report><${p}:${n}/></D:report></D:supported-report>`).join('');
}

export function contentType(doctype: string): string {
  if (doctype === DOCTYPES.contacts) return 'text/vcard; charset=utf-8';
  return `text/calendar; charset=utf-8; component=${doctype === DOCTYPES.todos ? 'vtodo' : 'vevent'}`;
}

/** Properties `allprop` answers with (RFC 4918 §9.1: the live ones that are cheap, not the expensive reports). */
export function allPropNames(r: PropResource): PropName[] {
  const d = (name: string) => ({ ns: NS.DAV, name });
  const base = [d('resourcetype'), d('displayname')];
  if (r.type === 'member') return [d('resourcetype'), d('getetag'), d('getcontenttype'), d('getcontentlength')];
  if (r.type === 'collection') {
    const extra: PropName[] = [d('sync-token'), { ns: NS.CS, name: 'getctag' }];
    if (r.kind === 'calendars') extra.push({ ns: NS.CALDAV, name: 'calendar-description' }, { ns: NS.ICAL, name: 'calendar-color' }, { ns: NS.CALDAV, name: 'supported-calendar-component-set' });
    else extra.push({ ns: NS.CARDDAV, name: 'addressbook-description' });
    for (const key of Object.keys(r.coll.props ?? {})) {
      const end = key.indexOf('}');
      extra.push({ ns: key.slice(1, end), name: key.slice(end + 1) });
    }
    return [...base, ...extra];
  }
  return [...base, d('current-user-principal')];
}

/** The value of one property of a resource, or undefined when it has none (404 in the propstat). */
export async function propValue(r: PropResource, p: PropName, ctx: PropContext): Promise<PropValue | undefined> {
  const key = clark(p.ns, p.name);
  // Properties every resource answers the same way.
  switch (key) {
    case '{DAV:}current-user-principal':
    case '{DAV:}principal-URL':
    case '{DAV:}owner':
      return xml(href(`${BASE}/principal/`));
    case '{DAV:}principal-collection-set':
      return xml(href(`${BASE}/`));
    case '{urn:ietf:params:xml:ns:caldav}calendar-home-set':
      return r.type === 'principal' || r.type === 'root' ? xml(href(`${BASE}/calendars/`)) : undefined;
    case '{urn:ietf:params:xml:ns:carddav}addressbook-home-set':
      return r.type === 'principal' || r.type === 'root' ? xml(href(`${BASE}/contacts/`)) : undefined;
    case '{urn:ietf:params:xml:ns:caldav}calendar-user-address-set':
      return r.type === 'principal' ? xml(href(`${BASE}/principal/`)) : undefined;
    case '{DAV:}current-user-privilege-set':
      if (r.type === 'root' || r.type === 'principal') return xml(privileges(false));
      return xml(privileges(ctx.canWrite(r.kind)));
  }
  switch (r.type) {
    case 'root':
      if (key === '{DAV:}resourcetype') return xml('<D:collection/>');
      if (key === '{DAV:}displayname') return xml('Cozy');
      return undefined;
    case 'principal':
      if (key === '{DAV:}resourcetype') return xml('<D:collection/><D:principal/>');
      if (key === '{DAV:}displayname') return xml('Cozy');
      return undefined;
    case 'home':
      if (key === '{DAV:}resourcetype') return xml('<D:collection/>');
      if (key === '{DAV:}displayname') return xml(r.kind === 'calendars' ? 'Calendars' : 'Address books');
      if (key === '{DAV:}supported-report-set') return xml(reports([]));
      return undefined;
    case 'collection':
      return collectionProp(r.kind, r.coll, key, ctx);
    case 'member':
      return memberProp(r, key);
  }
}

async function collectionProp(kind: HomeKind, coll: CollectionDoc, key: string, ctx: PropContext): Promise<PropValue | undefined> {
  const cal = kind === 'calendars';
  switch (key) {
    case '{DAV:}resourcetype':
      return xml(cal ? '<D:collection/><C:calendar/>' : '<D:collection/><CR:addressbook/>');
    case '{DAV:}displayname':
      return coll.displayname !== undefined ? xml(escapeXml(coll.displayname)) : undefined;
    case '{DAV:}sync-token':
      return xml(escapeXml(await ctx.token(kind, coll)));
    case '{http://calendarserver.org/ns/}getctag':
      return xml(escapeXml(await ctx.token(kind, coll)));
    case '{DAV:}supported-report-set':
      return xml(reports(cal ? [['C', 'calendar-query'], ['C', 'calendar-multiget'], ['D', 'sync-collection']] : [['CR', 'addressbook-query'], ['CR', 'addressbook-multiget'], ['D', 'sync-collection']]));
    case '{DAV:}getcontenttype':
      return xml(cal ? 'text/calendar' : 'text/vcard');
  }
  if (cal) {
    switch (key) {
      case '{urn:ietf:params:xml:ns:caldav}calendar-description':
        return coll.description !== undefined ? xml(escapeXml(coll.description)) : undefined;
      case '{http://apple.com/ns/ical/}calendar-color':
        return coll.color !== undefined ? xml(escapeXml(coll.color)) : undefined;
      case '{http://apple.com/ns/ical/}calendar-order':
        return coll.order !== undefined ? xml(escapeXml(coll.order)) : undefined;
      case '{urn:ietf:params:xml:ns:caldav}calendar-timezone':
        return coll.timezone !== undefined ? xml(escapeXml(coll.timezone)) : undefined;
      case '{urn:ietf:params:xml:ns:caldav}supported-calendar-component-set':
        return xml((coll.components ?? ['VEVENT', 'VTODO']).map((c) => `<C:comp name="${c}"/>`).join(''));
      case '{urn:ietf:params:xml:ns:caldav}supported-calendar-data':
        return xml('<C:calendar-data content-type="text/calendar" version="2.0"/>');
      case '{urn:ietf:params:xml:ns:caldav}max-resource-size':
        return xml(String(ctx.maxResourceSize));
    }
  } else {
    switch (key) {
      case '{urn:ietf:params:xml:ns:carddav}addressbook-description':
        return coll.description !== undefined ? xml(escapeXml(coll.description)) : undefined;
      case '{urn:ietf:params:xml:ns:carddav}supported-address-data':
        return xml('<CR:address-data-type content-type="text/vcard" version="3.0"/><CR:address-data-type content-type="text/vcard" version="4.0"/>');
      case '{urn:ietf:params:xml:ns:carddav}max-resource-size':
        return xml(String(ctx.maxResourceSize));
    }
  }
  const dead = coll.props?.[key];
  return dead !== undefined ? { element: dead } : undefined;
}

function memberProp(r: Extract<PropResource, { type: 'member' }>, key: string): PropValue | undefined {
  switch (key) {
    case '{DAV:}resourcetype':
      return xml('');
    case '{DAV:}getetag':
      return xml(escapeXml(r.row.etag));
    case '{DAV:}getcontenttype':
      return xml(contentType(r.row.doctype));
    case '{DAV:}getcontentlength':
      if (r.row.size !== undefined) return xml(String(r.row.size));
      return r.body ? xml(String(Buffer.byteLength(r.body()))) : undefined;
    case '{urn:ietf:params:xml:ns:caldav}calendar-data':
      return r.kind === 'calendars' && r.body ? xml(escapeXml(r.body())) : undefined;
    case '{urn:ietf:params:xml:ns:carddav}address-data':
      return r.kind === 'contacts' && r.body ? xml(escapeXml(r.body())) : undefined;
  }
  return undefined;
}

/** Results for a list of names, in the order asked. */
export async function propResults(r: PropResource, names: PropName[], ctx: PropContext): Promise<PropResult[]> {
  const out: PropResult[] = [];
  for (const p of names) {
    const value = await propValue(r, p, ctx);
    out.push(value === undefined ? { ...p, status: 404 } : { ...p, status: 200, value });
  }
  return out;
}

export function resourceHref(r: PropResource): string {
  switch (r.type) {
    case 'root':
    case 'principal':
      return hrefOf(r);
    case 'home':
      return hrefOf(r);
    case 'collection':
      return hrefOf({ type: 'collection', kind: r.kind, name: r.coll._id });
    case 'member':
      return hrefOf({ type: 'member', kind: r.kind, collection: r.coll, name: r.row.name });
  }
}
