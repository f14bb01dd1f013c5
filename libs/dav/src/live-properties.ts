import type { DavBackend, DavResource } from './backend.ts';
import { locksCovering, type DavLock } from './locks.ts';
import { baseName, encodePath } from './paths.ts';
import { clark, DAV_NS, type QName } from './xml/element.ts';
import { davEl, el, Xml, type XmlContent } from './xml/write.ts';
import type { PropStat } from './multistatus.ts';
import type { PropfindRequest } from './properties.ts';

/** The RFC 4918 live properties the core computes itself; PROPPATCH may not touch them. */
export const CORE_LIVE_PROPERTIES = [
  'resourcetype', 'getetag', 'getcontentlength', 'getcontenttype', 'getlastmodified', 'creationdate',
  'displayname', 'supportedlock', 'lockdiscovery',
] as const;

const CORE_SET = new Set<string>(CORE_LIVE_PROPERTIES);

export function isCoreLive(q: QName): boolean {
  return q.ns === DAV_NS && CORE_SET.has(q.name);
}

export function activeLockXml(lock: DavLock, mount: string, now = Date.now()): Xml {
  const remaining = Math.max(0, Math.ceil((lock.expiresAt - now) / 1000));
  return davEl('activelock', [
    davEl('locktype', davEl('write')),
    davEl('lockscope', davEl(lock.scope)),
    davEl('depth', lock.depth),
    lock.owner !== undefined ? davEl('owner', new Xml(lock.owner)) : null,
    davEl('timeout', `Second-${remaining}`),
    davEl('locktoken', davEl('href', lock.token)),
    davEl('lockroot', davEl('href', mount + encodePath(lock.root, lock.rootCollection))),
  ]);
}

const SUPPORTED_LOCK = davEl('supportedlock', [
  davEl('lockentry', [davEl('lockscope', davEl('exclusive')), davEl('locktype', davEl('write'))]),
  davEl('lockentry', [davEl('lockscope', davEl('shared')), davEl('locktype', davEl('write'))]),
]);

/** What computing property values needs besides the resource: the mount (for hrefs) and the namespace's locks. */
export interface PropertyContext {
  backend: DavBackend;
  mount: string;
  locks: readonly DavLock[];
}

function coreValue(res: DavResource, name: string, ctx: PropertyContext): XmlContent | undefined {
  switch (name) {
    case 'resourcetype':
      return res.collection ? davEl('collection') : '';
    case 'getetag':
      return res.etag;
    case 'getcontentlength':
      return res.collection ? undefined : String(res.contentLength ?? 0);
    case 'getcontenttype':
      return res.collection ? undefined : (res.contentType ?? 'application/octet-stream');
    case 'getlastmodified':
      return res.lastModified?.toUTCString();
    case 'creationdate': {
      const d = res.created ?? res.lastModified;
      return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
    }
    case 'displayname':
      return res.displayName ?? baseName(res.path);
    case 'supportedlock':
      return new Xml(SUPPORTED_LOCK.raw.slice('<D:supportedlock>'.length, -'</D:supportedlock>'.length));
    case 'lockdiscovery':
      return locksCovering(ctx.locks, res.path).map((l) => activeLockXml(l, ctx.mount));
    default:
      return undefined;
  }
}

/** The value of one property (live from the backend first, then the core's, then dead), or undefined. */
async function valueOf(res: DavResource, q: QName, ctx: PropertyContext, backendLive: Set<string>, dead: Map<string, Xml>): Promise<Xml | undefined> {
  const key = clark(q);
  if (backendLive.has(key) && ctx.backend.liveProperty) {
    const v = await ctx.backend.liveProperty(res, q);
    return v === undefined ? undefined : el(q, v);
  }
  if (isCoreLive(q)) {
    const v = coreValue(res, q.name, ctx);
    return v === undefined ? undefined : el(q, v);
  }
  return dead.get(key);
}

/**
 * The propstats PROPFIND (or a REPORT) answers for one resource: found properties under 200, asked-for but
 * absent ones under 404. allprop returns the core live properties and the dead ones (plus `include`), not the
 * backend's extra live properties (RFC 4331 quota and the like are only returned when asked for).
 */
export async function propStatsFor(res: DavResource, request: PropfindRequest, ctx: PropertyContext): Promise<PropStat[]> {
  const backendNames = ctx.backend.liveProperties?.(res) ?? [];
  const backendLive = new Set(backendNames.map(clark));
  const deadList = await ctx.backend.deadProperties(res);
  const dead = new Map<string, Xml>(deadList.map((p) => [clark(p), el(p, new Xml(p.xml), p.lang ? { 'xml:lang': p.lang } : undefined)]));
  const found: Xml[] = [];
  const missing: Xml[] = [];
  if (request.kind === 'propname') {
    const names = new Map<string, QName>();
    for (const n of CORE_LIVE_PROPERTIES) names.set(clark({ ns: DAV_NS, name: n }), { ns: DAV_NS, name: n });
    for (const q of backendNames) names.set(clark(q), q);
    for (const p of deadList) names.set(clark(p), { ns: p.ns, name: p.name });
    for (const q of names.values()) found.push(el(q));
    return [{ status: 200, props: found }];
  }
  let names: QName[];
  if (request.kind === 'prop') names = request.names;
  else {
    const all = new Map<string, QName>();
    for (const n of CORE_LIVE_PROPERTIES) all.set(clark({ ns: DAV_NS, name: n }), { ns: DAV_NS, name: n });
    for (const p of deadList) all.set(clark(p), { ns: p.ns, name: p.name });
    for (const q of request.include) all.set(clark(q), q);
    names = [...all.values()];
  }
  for (const q of names) {
    const v = await valueOf(res, q, ctx, backendLive, dead);
    if (v) found.push(v);
    else if (request.kind === 'prop' || request.include.some((i) => clark(i) === clark(q))) missing.push(el(q));
  }
  return [{ status: 200, props: found }, { status: 404, props: missing }];
}
