import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH, CLUSTER, STORE, instanceOf, setErrorFamily, type AuthService, type InstanceRef, type RequestAuth, type RouteOptions } from '@cozy-ts/kernel';
import type { SyncConfig } from './config.ts';
import { DavStore, type CollectionDoc, type Member, type MemberRow } from './dav-store.ts';
import { matchCalendar, matchCard, mainTimeRange, parseAddressFilter, parseCalendarFilter, parseTimeRange } from './filters.ts';
import { parseCalendar } from './ical.ts';
import { DOCTYPES, requiredDoctypes, type HomeKind } from './layout.ts';
import { BASE, hrefOf, parseTarget, type Target } from './paths.ts';
import { allPropNames, contentType, propResults, propStats, resourceHref, type PropContext, type PropName, type PropResource, type PropResult } from './props.ts';
import { parseAddressDataRequest, shapeAddressData } from './address-data.ts';
import { parseCalendarDataRequest, shapeCalendarData } from './calendar-data.ts';
import { busyPeriods, freeBusyCalendar, type BusyPeriod } from './freebusy.ts';
import { SyncErrors, syncErrorRenderer } from './sync-errors.ts';
import { calendarZone, parseTimezone, zoneById } from './timezone.ts';
import { isZoneLayout, servedCalendar, servedLength, timezonesMode, type TimezonesMode } from './standard-zones.ts';
import type { ExpandLimits } from './recurrence.ts';
import { vcardAs, wantedVersion } from './vcard.ts';
import {
  child, childrenNamed, clark, davDocument, davEl, elements, evaluateConditional, is, Multistatus, parseXml, readPropfind, registerDavMethods, serializeNodes, textOf,
  type XmlElement,
} from './dav.ts';
import { NS } from './namespaces.ts';

const ALL_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'POST', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'MKCALENDAR', 'REPORT'];
/** Multigets of a whole collection carry one href element per member. */
const XML_LIMITS = { maxDepth: 64, maxElements: 200_000 };
const ALLOW = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, REPORT';
/** What this server implements (RFC 4918 class 1 and 3, no locks; CalDAV, time zones by reference, CardDAV, extended MKCOL). */
const DAV_HEADER = '1, 3, extended-mkcol, calendar-access, calendar-no-timezone, addressbook';
const CHALLENGE = 'Basic realm="Cozy", charset="UTF-8"';

/** How one request serves members: the body a report or PROPFIND shows, and the length GET would serve. */
interface Serving {
  body: (m: Member) => string;
  length: (m: Member) => number;
}

interface Caller {
  inst: InstanceRef;
  auth: RequestAuth;
  /** Group cards are shown (and, for a write, written) only to a caller with the groups doctype too. */
  groups: boolean;
}

function may(auth: RequestAuth, kind: HomeKind, verb: 'GET' | 'PUT'): boolean {
  return requiredDoctypes(kind).every((d) => auth.permissions.allowWholeType(verb, d));
}

function bodyText(req: FastifyRequest): string {
  const body = req.body;
  if (body === undefined || body === null) return '';
  if (!Buffer.isBuffer(body)) return String(body);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw SyncErrors.badRequest('The body is not valid UTF-8');
  }
}

function xmlBody(req: FastifyRequest, max: number): XmlElement | undefined {
  const text = bodyText(req);
  if (Buffer.byteLength(text) > max) throw SyncErrors.tooLarge();
  return text.trim() === '' ? undefined : parseXml(text, XML_LIMITS);
}

function propNames(prop: XmlElement | undefined): PropName[] {
  return prop ? prop.children.filter((c): c is XmlElement => typeof c !== 'string').map((c) => ({ ns: c.ns, name: c.name })) : [];
}

function minimal(req: FastifyRequest): boolean {
  const prefer = String(req.headers.prefer ?? '');
  return /return\s*=\s*minimal/i.test(prefer) || String(req.headers.brief ?? '').toLowerCase() === 't';
}

function sendXml(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.status(status).type('application/xml; charset=utf-8').send(body);
}

export async function syncRoutes(app: FastifyInstance, { ctx }: RouteOptions<SyncConfig>): Promise<void> {
  setErrorFamily(app, syncErrorRenderer);
  registerDavMethods(app);
  // Bodies are XML, iCalendar or vCard: read as bytes and decoded where they are used.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: Math.max(ctx.config.maxResourceSize, ctx.config.maxXmlBody) + 64 * 1024 }, (_req, body, done) => done(null, body));

  const auth = ctx.use(AUTH);
  const limits = { maxIterations: ctx.config.maxIterations, maxInstances: ctx.config.maxInstances, maxResourceSize: ctx.config.maxResourceSize };
  const dav = new DavStore(ctx.use(STORE), ctx.use(CLUSTER).locks, limits);
  const handler = new SyncHandler(dav, auth, ctx.config);

  app.route({ method: ALL_METHODS, url: '/', handler: (req, reply) => handler.handle(req, reply) });
  app.route({ method: ALL_METHODS, url: '/*', handler: (req, reply) => handler.handle(req, reply) });
}

/** The /.well-known redirects (RFC 6764) live at the domain root, outside the plugin's prefix. */
export async function wellKnownRoutes(app: FastifyInstance): Promise<void> {
  registerDavMethods(app);
  const redirect = async (_req: FastifyRequest, reply: FastifyReply) => reply.status(301).header('location', `${BASE}/`).send();
  for (const path of ['/.well-known/caldav', '/.well-known/carddav']) {
    app.route({ method: ['GET', 'HEAD', 'PROPFIND', 'OPTIONS'], url: path, handler: redirect });
  }
}

class SyncHandler {
  constructor(
    private readonly dav: DavStore,
    private readonly auth: AuthService,
    private readonly config: SyncConfig,
  ) {}

  async handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.header('dav', DAV_HEADER);
    if (req.method === 'OPTIONS') return reply.status(200).header('allow', ALLOW).header('content-length', '0').send();
    const target = parseTarget(req.url);
    if (!target) throw SyncErrors.notFound(`Nothing at ${req.url.split('?')[0]}`);
    const caller = await this.#caller(req, target);
    switch (req.method) {
      case 'PROPFIND':
        return this.#propfind(req, reply, caller, target);
      case 'REPORT':
        return this.#report(req, reply, caller, target);
      case 'GET':
      case 'HEAD':
        return this.#get(req, reply, caller, target);
      case 'PUT':
        return this.#put(req, reply, caller, target);
      case 'DELETE':
        return this.#delete(req, reply, caller, target);
      case 'MKCALENDAR':
      case 'MKCOL':
        return this.#mkcol(req, reply, caller, target);
      case 'PROPPATCH':
        return this.#proppatch(req, reply, caller, target);
      default:
        throw SyncErrors.methodNotAllowed(undefined, { headers: { allow: ALLOW } });
    }
  }

  /**
   * Any failure to authenticate is a 401 with a Basic challenge: python-caldav, and phones, only send their
   * credentials after one. Then the caller needs the doctypes of what the URL names (a calendars device password
   * gets 403 on address books).
   */
  async #caller(req: FastifyRequest, target: Target): Promise<Caller> {
    let auth: RequestAuth;
    try {
      auth = await this.auth.authenticate(req);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 400 || status === 401) throw SyncErrors.unauthorized(undefined, { headers: { 'www-authenticate': CHALLENGE } });
      throw err;
    }
    const write = ['PUT', 'DELETE', 'MKCOL', 'MKCALENDAR', 'PROPPATCH'].includes(req.method);
    if ('kind' in target && !may(auth, target.kind, write ? 'PUT' : 'GET')) throw SyncErrors.forbidden(`No permission on ${requiredDoctypes(target.kind).join(', ')}`);
    return { inst: instanceOf(req), auth, groups: auth.permissions.allowWholeType(write ? 'PUT' : 'GET', DOCTYPES.groups) };
  }

  /**
   * Property answers for one request. The member sequences are read once per home and request: a Depth 1
   * PROPFIND of a home asking getctag or sync-token made every calendar read the same ones again.
   */
  #propContext(caller: Caller): PropContext {
    const seqs = new Map<HomeKind, Promise<string[]>>();
    const seqsOf = (kind: HomeKind) => {
      let p = seqs.get(kind);
      if (!p) seqs.set(kind, (p = this.dav.memberSeqs(caller.inst, kind)));
      return p;
    };
    return {
      token: (kind, coll) => this.dav.currentToken(caller.inst, kind, coll, seqsOf(kind)),
      homeTag: (kind) => this.dav.homeTag(caller.inst, kind, seqsOf(kind)),
      canWrite: (kind) => may(caller.auth, kind, 'PUT'),
      maxResourceSize: this.config.maxResourceSize,
    };
  }

  /** What a caller may see of a listing: no group cards without the groups doctype. */
  #shown<T extends { doctype: string }>(caller: Caller, rows: T[]): T[] {
    return caller.groups ? rows : rows.filter((r) => r.doctype !== DOCTYPES.groups);
  }

  async #list(caller: Caller, kind: HomeKind, coll: string, withDocs: boolean): Promise<MemberRow[]> {
    return this.#shown(caller, await this.dav.listMembers(caller.inst, kind, coll, withDocs));
  }

  async #member(caller: Caller, kind: HomeKind, coll: string, name: string): Promise<Member | null> {
    const m = await this.dav.getMember(caller.inst, kind, coll, name);
    return m && this.#shown(caller, [m]).length ? m : null;
  }

  async #collection(caller: Caller, kind: HomeKind, name: string): Promise<CollectionDoc> {
    const coll = await this.dav.getCollection(caller.inst, kind, name);
    if (!coll) throw SyncErrors.notFound(`No ${kind === 'calendars' ? 'calendar' : 'address book'} ${name}`);
    return coll;
  }

  // ------------------------------------------------------------------ PROPFIND

  async #propfind(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    const root = xmlBody(req, this.config.maxXmlBody);
    const request = readPropfind(root);
    const depthHeader = String(req.headers.depth ?? 'infinity').trim().toLowerCase();
    const depth = depthHeader === '0' ? 0 : 1;
    const mode = request.kind;
    const asked = request.kind === 'prop' ? request.names : [];
    const include = request.kind === 'allprop' ? request.include : [];
    const pctx = this.#propContext(caller);
    const resources: PropResource[] = [];
    const wantsBody = asked.some((p) => (p.ns === NS.CALDAV && p.name === 'calendar-data') || (p.ns === NS.CARDDAV && p.name === 'address-data'));
    const wantsDocs = wantsBody || mode === 'allprop' || asked.some((p) => p.ns === NS.DAV && p.name === 'getcontentlength');

    switch (target.type) {
      case 'root':
        resources.push({ type: 'root' });
        if (depth) resources.push({ type: 'principal' }, { type: 'home', kind: 'calendars' }, { type: 'home', kind: 'contacts' });
        break;
      case 'principal':
        resources.push({ type: 'principal' });
        break;
      case 'home': {
        resources.push({ type: 'home', kind: target.kind });
        if (depth) for (const coll of await this.dav.listCollections(caller.inst, target.kind)) resources.push({ type: 'collection', kind: target.kind, coll });
        break;
      }
      case 'collection': {
        const coll = await this.#collection(caller, target.kind, target.name);
        resources.push({ type: 'collection', kind: target.kind, coll });
        if (depth) {
          const rows = await this.#list(caller, target.kind, coll._id, wantsDocs);
          resources.push(...(await this.#memberResources(caller, target.kind, coll._id, rows, wantsDocs, this.#propfindServe(req, root, target.kind, coll))));
        }
        break;
      }
      case 'member': {
        const coll = await this.#collection(caller, target.kind, target.collection);
        const m = await this.#member(caller, target.kind, coll._id, target.name);
        if (!m) throw SyncErrors.notFound();
        resources.push(this.#memberResource(target.kind, coll._id, m, this.#propfindServe(req, root, target.kind, coll)));
        break;
      }
    }
    const ms = new Multistatus();
    for (const r of resources) {
      let results: PropResult[];
      if (mode === 'propname') results = allPropNames(r).map((p) => ({ ...p, status: 200 }));
      else if (mode === 'allprop') results = await propResults(r, [...allPropNames(r), ...include], pctx);
      else results = await propResults(r, asked, pctx);
      ms.addPropStats(resourceHref(r), propStats(results, minimal(req)));
    }
    return sendXml(reply, 207, ms.toString());
  }

  /** A member with its body as this request shapes it and the length GET would serve (`serve`, from `#serving`). */
  #memberResource(kind: HomeKind, coll: string, m: Member, serve: Serving): PropResource {
    const row: MemberRow = { name: m.name, id: m.doc._id, doctype: m.doctype, etag: m.etag };
    let cached: string | undefined;
    return { type: 'member', kind, coll, row, body: () => (cached ??= serve.body(m)), length: () => serve.length(m) };
  }

  /** A listed member: its length is known when its document was read with the listing. */
  #rowResource(kind: HomeKind, coll: string, row: MemberRow, serve: Serving): PropResource {
    const doc = row.doc;
    if (!doc) return { type: 'member', kind, coll, row };
    return { type: 'member', kind, coll, row, length: () => serve.length({ name: row.name, doctype: row.doctype, doc, etag: row.etag }) };
  }

  async #memberResources(caller: Caller, kind: HomeKind, coll: string, rows: MemberRow[], wantsBody: boolean, serve: Serving): Promise<PropResource[]> {
    if (!wantsBody) return rows.map((row) => this.#rowResource(kind, coll, row, serve));
    const members = await this.dav.loadMembers(caller.inst, rows);
    return members.map((m) => this.#memberResource(kind, coll, m, serve));
  }

  /**
   * PROPFIND may ask for calendar-data or address-data too, shaped like in a report (RFC 4791 §9.6 and RFC 6352
   * §10.4 define the elements for any request that asks for the property): partial retrieval, vCard version.
   */
  #propfindServe(req: FastifyRequest, root: XmlElement | undefined, kind: HomeKind, coll: CollectionDoc): Serving {
    const zone = kind === 'calendars' ? calendarZone(coll.timezone) : undefined;
    return this.#serving(kind, child(root, NS.DAV, 'prop'), req, zone ? { ...this.config, floatingZone: zone } : this.config);
  }

  // ------------------------------------------------------------------ REPORT

  async #report(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    const body = xmlBody(req, this.config.maxXmlBody);
    if (!body) throw SyncErrors.badRequest('REPORT needs a body');
    // On one object, a query or a multiget applies to that object alone (RFC 4791 §7.8, RFC 6352 §8.6).
    const onMember = ['calendar-multiget', 'addressbook-multiget', 'calendar-query', 'addressbook-query', 'free-busy-query'];
    if (target.type !== 'collection' && !(target.type === 'member' && onMember.includes(body.name))) {
      throw SyncErrors.unsupportedReport(`${body.name} is not supported on this resource`);
    }
    const kind = target.kind;
    const collName = target.type === 'collection' ? target.name : target.collection;
    const coll = await this.#collection(caller, kind, collName);
    const prop = child(body, NS.DAV, 'prop');
    const asked = prop ? propNames(prop) : [{ ns: NS.DAV, name: 'getetag' }];
    const pctx = this.#propContext(caller);
    const mini = minimal(req);
    const cal = kind === 'calendars';
    // RFC 4791 §7.3: floating times are read in the query's timezone, else in the calendar's.
    // RFC 7809 §5.3: or named by id.
    const tzEl = cal ? child(body, NS.CALDAV, 'timezone') : undefined;
    const tzIdEl = cal ? child(body, NS.CALDAV, 'timezone-id') : undefined;
    if (tzEl && tzIdEl) throw SyncErrors.badRequest('timezone and timezone-id exclude each other');
    const zone = tzEl ? parseTimezone(textOf(tzEl)) : tzIdEl ? zoneById(textOf(tzIdEl)).zone : cal ? calendarZone(coll.timezone) : undefined;
    const limits: ExpandLimits = zone ? { ...this.config, floatingZone: zone } : this.config;
    // Stored spans read floating times as UTC: in another zone they may move by up to a day.
    const slack = zone ? 86_400_000 : 0;
    const listMembers = async (): Promise<MemberRow[]> => {
      if (target.type !== 'member') return this.#list(caller, kind, coll._id, true);
      const m = await this.#member(caller, kind, coll._id, target.name);
      if (!m) throw SyncErrors.notFound();
      const dav = m.doc.dav;
      return [{ name: m.name, id: m.doc._id, doctype: m.doctype, etag: m.etag, doc: m.doc, first: dav?.first, last: dav?.last }];
    };

    if (cal && is(body, NS.CALDAV, 'calendar-multiget') || !cal && is(body, NS.CARDDAV, 'addressbook-multiget')) {
      const serve = this.#serving(kind, prop, req, limits);
      const hrefs = childrenNamed(body, NS.DAV, 'href').map((h) => textOf(h).trim());
      const names = new Map<string, string>();
      const ms = new Multistatus();
      for (const h of hrefs) {
        const t = parseTarget(h);
        if (t && t.type === 'member' && t.kind === kind && t.collection === coll._id) names.set(t.name, h);
        else ms.addStatus(h, 404);
      }
      const found = await this.dav.getMembers(caller.inst, kind, coll._id, [...names.keys()]);
      for (const [name, h] of names) {
        const m = found.get(name);
        if (!m || !this.#shown(caller, [m]).length) {
          ms.addStatus(h, 404);
          continue;
        }
        const r = this.#memberResource(kind, coll._id, m, serve);
        ms.addPropStats(resourceHref(r), propStats(await propResults(r, asked, pctx), mini));
      }
      return sendXml(reply, 207, ms.toString());
    }

    if (cal && is(body, NS.CALDAV, 'calendar-query')) {
      const filter = parseCalendarFilter(child(body, NS.CALDAV, 'filter'));
      const range = mainTimeRange(filter);
      const serve = this.#serving(kind, prop, req, limits);
      let rows = await listMembers();
      if (range) rows = rows.filter((r) => (r.first ?? -Infinity) < range.end + slack && (r.last ?? Infinity) >= range.start - slack);
      const compName = filter?.comps.length === 1 && !filter.comps[0]!.isNotDefined ? filter.comps[0]!.name : undefined;
      if (compName === 'VEVENT') rows = rows.filter((r) => r.doctype === DOCTYPES.events);
      if (compName === 'VTODO') rows = rows.filter((r) => r.doctype === DOCTYPES.todos);
      const needsParse = !!filter && (filter.comps.length > 0 || filter.props.length > 0) && !(filter.comps.length === 1 && compName && !range && filter.comps[0]!.props.length === 0 && filter.comps[0]!.comps.length === 0);
      const wantsBody = asked.some((p) => p.ns === NS.CALDAV && p.name === 'calendar-data');
      const ms = new Multistatus();
      if (!needsParse && !wantsBody) {
        for (const row of rows) {
          const r = this.#rowResource(kind, coll._id, row, serve);
          ms.addPropStats(resourceHref(r), propStats(await propResults(r, asked, pctx), mini));
        }
        return sendXml(reply, 207, ms.toString());
      }
      for (let i = 0; i < rows.length; i += 200) {
        const members = await this.dav.loadMembers(caller.inst, rows.slice(i, i + 200));
        for (const m of members) {
          if (needsParse) {
            let parsed;
            try {
              parsed = parseCalendar(this.dav.memberBody(m));
            } catch {
              continue;
            }
            if (!matchCalendar(parsed, filter, limits)) continue;
          }
          const r = this.#memberResource(kind, coll._id, m, serve);
          ms.addPropStats(resourceHref(r), propStats(await propResults(r, asked, pctx), mini));
        }
      }
      return sendXml(reply, 207, ms.toString());
    }

    if (cal && is(body, NS.CALDAV, 'free-busy-query')) {
      const rangeEl = child(body, NS.CALDAV, 'time-range');
      if (!rangeEl || !rangeEl.attrs.start || !rangeEl.attrs.end) throw SyncErrors.invalidFilter('free-busy-query needs a time-range with start and end');
      const range = parseTimeRange(rangeEl)!;
      const rows = (await listMembers()).filter((r) => r.doctype === DOCTYPES.events && (r.first ?? -Infinity) < range.end + slack && (r.last ?? Infinity) >= range.start - slack);
      const periods: BusyPeriod[] = [];
      for (let i = 0; i < rows.length; i += 200) {
        for (const m of await this.dav.loadMembers(caller.inst, rows.slice(i, i + 200))) {
          try {
            periods.push(...busyPeriods(parseCalendar(this.dav.memberBody(m)), range, limits));
          } catch {
            // An object that no longer parses blocks no time.
          }
        }
      }
      return reply.status(200).type('text/calendar; charset=utf-8').send(freeBusyCalendar(range, periods));
    }

    if (!cal && is(body, NS.CARDDAV, 'addressbook-query')) {
      const filter = parseAddressFilter(child(body, NS.CARDDAV, 'filter'));
      const limitEl = child(child(body, NS.CARDDAV, 'limit'), NS.CARDDAV, 'nresults');
      const limit = limitEl ? Math.max(0, Number.parseInt(textOf(limitEl), 10) || 0) : Infinity;
      const serve = this.#serving(kind, prop, req, limits);
      const rows = await listMembers();
      const ms = new Multistatus();
      let truncated = false;
      outer: for (let i = 0; i < rows.length; i += 200) {
        for (const m of await this.dav.loadMembers(caller.inst, rows.slice(i, i + 200))) {
          if (!matchCard(this.dav.memberBody(m), filter)) continue;
          if (ms.size >= limit) {
            truncated = true;
            break outer;
          }
          const r = this.#memberResource(kind, coll._id, m, serve);
          ms.addPropStats(resourceHref(r), propStats(await propResults(r, asked, pctx), mini));
        }
      }
      if (truncated) ms.addStatus(hrefOf({ type: 'collection', kind, name: coll._id }), 507, '<D:number-of-matches-within-limits/>');
      return sendXml(reply, 207, ms.toString());
    }

    if (is(body, NS.DAV, 'sync-collection')) {
      const tokenEl = child(body, NS.DAV, 'sync-token');
      const token = tokenEl ? textOf(tokenEl).trim() : '';
      const levelEl = child(body, NS.DAV, 'sync-level');
      const level = levelEl ? textOf(levelEl).trim() : '1';
      if (level !== '1' && level !== 'infinite') throw SyncErrors.badRequest('sync-level is 1');
      const serve = this.#serving(kind, prop, req, limits);
      const wantsBody = asked.some((p) => (p.ns === NS.CALDAV && p.name === 'calendar-data') || (p.ns === NS.CARDDAV && p.name === 'address-data'));
      const limitEl = child(body, NS.DAV, 'limit');
      let limit = Infinity;
      if (limitEl) {
        const n = Number(textOf(child(limitEl, NS.DAV, 'nresults') ?? limitEl).trim());
        if (!Number.isInteger(n) || n < 1) throw SyncErrors.badRequest('limit needs an nresults of 1 or more');
        limit = n;
      }
      const ms = new Multistatus();
      let newToken: string;
      let rows: MemberRow[];
      if (token === '' && limit === Infinity) {
        newToken = await this.dav.currentToken(caller.inst, kind, coll);
        rows = await this.#list(caller, kind, coll._id, wantsBody || asked.some((p) => p.ns === NS.DAV && p.name === 'getcontentlength'));
      } else {
        const changes = await this.dav.changesSince(caller.inst, kind, coll, token === '' ? undefined : token, limit);
        newToken = changes.token;
        rows = this.#shown(caller, changes.changed);
        for (const name of changes.removed) ms.addStatus(hrefOf({ type: 'member', kind, collection: coll._id, name }), 404);
        // RFC 6578 §3.6: a truncated answer says so with a 507 for the collection itself.
        if (changes.truncated) ms.addStatus(hrefOf({ type: 'collection', kind, name: coll._id }), 507, '<D:number-of-matches-within-limits/>');
      }
      for (const r of await this.#memberResources(caller, kind, coll._id, rows, wantsBody, serve)) {
        ms.addPropStats(resourceHref(r), propStats(await propResults(r, asked, pctx), mini));
      }
      return sendXml(reply, 207, ms.setSyncToken(newToken).toString());
    }
    throw SyncErrors.unsupportedReport(`${body.name} is not supported on a ${cal ? 'calendar' : 'address book'}`);
  }

  /**
   * How members are served in this request: calendar-data / address-data with partial retrieval, recurrences or
   * a vCard version as asked, and VTIMEZONEs of standard zones added or left out as `CalDAV-Timezones` says
   * (RFC 7809); and getcontentlength, the length of what GET would serve with the same headers.
   */
  #serving(kind: HomeKind, prop: XmlElement | undefined, req: FastifyRequest, limits: ExpandLimits = this.config): Serving {
    const length = this.#lengthOf(kind, req);
    if (kind === 'calendars') {
      const mode = timezonesMode(req.headers['caldav-timezones']);
      const shape = parseCalendarDataRequest(child(prop, NS.CALDAV, 'calendar-data'));
      if (!shape) return { body: (m) => this.#calendarIn(m, mode), length };
      return {
        body: (m) => {
          const raw = this.#calendarIn(m, mode);
          try {
            return shapeCalendarData(raw, shape, limits);
          } catch {
            return raw;
          }
        },
        length,
      };
    }
    const shape = parseAddressDataRequest(child(prop, NS.CARDDAV, 'address-data'), String(req.headers.accept ?? ''));
    if (!shape) return { body: (m) => this.dav.memberBody(m), length };
    return { body: (m) => shapeAddressData(this.dav.memberBody(m), m.doc.dav?.version ?? '4.0', shape), length };
  }

  /**
   * getcontentlength: the byte length of `#served` for this request. A calendar object's is summed from the
   * stored size and time-zone layout, a card's is its stored size, unless GET would serve other bytes (a card
   * rebuilt from the app's fields, another vCard version asked) or the document predates the layout: then the
   * body is made and measured.
   */
  #lengthOf(kind: HomeKind, req: FastifyRequest): (m: Member) => number {
    if (kind === 'calendars') {
      const mode = timezonesMode(req.headers['caldav-timezones']);
      return (m) => {
        const dav = m.doc.dav;
        if (dav && typeof dav.size === 'number' && isZoneLayout(dav.zones)) return servedLength(dav.size, dav.zones, mode);
        return Buffer.byteLength(this.#calendarIn(m, mode));
      };
    }
    const version = wantedVersion(String(req.headers.accept ?? ''));
    return (m) => {
      const dav = m.doc.dav;
      const asStored = dav && typeof dav.size === 'number' && (!version || version === (dav.version ?? '4.0')) && this.dav.servedAsStored(m);
      return asStored ? dav.size : Buffer.byteLength(this.#served(m, 'contacts', req).body);
    };
  }

  #calendarIn(m: Member, mode: TimezonesMode): string {
    const dav = m.doc.dav;
    return servedCalendar(this.dav.memberBody(m), mode, dav && isZoneLayout(dav.zones) ? dav.zones : undefined);
  }

  /** What GET serves for a member, and its Content-Type. */
  #served(m: Member, kind: HomeKind, req: FastifyRequest): { body: string; type: string } {
    if (kind === 'calendars') return { body: this.#calendarIn(m, timezonesMode(req.headers['caldav-timezones'])), type: contentType(m.doctype) };
    const body = this.dav.memberBody(m);
    const v = wantedVersion(String(req.headers.accept ?? ''));
    if (!v) return { body, type: contentType(m.doctype) };
    return { body: vcardAs(body, m.doc.dav?.version ?? '4.0', v), type: `text/vcard; charset=utf-8; version=${v}` };
  }

  // ------------------------------------------------------------------ GET / PUT / DELETE

  async #get(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    if (target.type !== 'member') {
      if (target.type === 'collection') await this.#collection(caller, target.kind, target.name);
      return reply.status(200).type('text/plain; charset=utf-8').send(req.method === 'HEAD' ? undefined : 'Cozy CalDAV/CardDAV\n');
    }
    await this.#collection(caller, target.kind, target.collection);
    const m = await this.#member(caller, target.kind, target.collection, target.name);
    if (!m) throw SyncErrors.notFound();
    reply.header('etag', m.etag);
    if (evaluateConditional({ 'if-none-match': req.headers['if-none-match'], 'if-match': req.headers['if-match'] }, { exists: true, etag: m.etag }, true) !== 'proceed') {
      return reply.status(req.headers['if-none-match'] !== undefined ? 304 : 412).send();
    }
    const { body, type } = this.#served(m, target.kind, req);
    reply.status(200).type(type);
    if (req.method === 'HEAD') return reply.header('content-length', String(Buffer.byteLength(body))).send();
    return reply.send(body);
  }

  async #put(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    if (target.type !== 'member') throw SyncErrors.methodNotAllowed('PUT works on calendar objects and vCards', { headers: { allow: ALLOW } });
    const coll = await this.dav.getCollection(caller.inst, target.kind, target.collection);
    if (!coll) throw SyncErrors.conflict(`No ${target.kind === 'calendars' ? 'calendar' : 'address book'} ${target.collection}`);
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const cal = target.kind === 'calendars';
    const okTypes = cal ? ['text/calendar', 'application/octet-stream', 'text/plain', ''] : ['text/vcard', 'text/x-vcard', 'text/directory', 'application/octet-stream', 'text/plain', ''];
    if (!okTypes.includes(type)) throw cal ? SyncErrors.unsupportedCalendarData(`Content-Type ${type} is not text/calendar`) : SyncErrors.unsupportedAddressData(`Content-Type ${type} is not text/vcard`);
    const body = bodyText(req);
    const res = await this.dav.putMember(caller.inst, target.kind, coll, target.name, body, {
      ifMatch: req.headers['if-match'],
      ifNoneMatch: req.headers['if-none-match'],
      groups: caller.groups,
    });
    return reply.status(res.created ? 201 : 204).header('etag', res.etag).send();
  }

  async #delete(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    if (target.type === 'member') {
      await this.#collection(caller, target.kind, target.collection);
      if (!caller.groups && !(await this.#member(caller, target.kind, target.collection, target.name))) throw SyncErrors.notFound();
      await this.dav.deleteMember(caller.inst, target.kind, target.collection, target.name, req.headers['if-match']);
      return reply.status(204).send();
    }
    if (target.type === 'collection') {
      const coll = await this.#collection(caller, target.kind, target.name);
      await this.dav.deleteCollection(caller.inst, target.kind, coll);
      return reply.status(204).send();
    }
    throw SyncErrors.forbidden('This resource cannot be deleted');
  }

  // ------------------------------------------------------------------ collections

  async #mkcol(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    const calendar = req.method === 'MKCALENDAR';
    if (target.type !== 'collection') {
      if (calendar) throw SyncErrors.calendarCollectionLocation();
      throw target.type === 'member' ? SyncErrors.conflict('Collections live in the calendar and address book homes') : SyncErrors.resourceMustBeNull();
    }
    if (calendar && target.kind !== 'calendars') throw SyncErrors.calendarCollectionLocation();
    const body = xmlBody(req, this.config.maxXmlBody);
    const rootName = calendar ? 'mkcalendar' : 'mkcol';
    const rootNs = calendar ? NS.CALDAV : NS.DAV;
    if (body && !is(body, rootNs, rootName)) throw SyncErrors.badRequest(`Expected a ${rootName} body`);
    const sets = childrenNamed(body, NS.DAV, 'set').flatMap((s) => {
      const prop = child(s, NS.DAV, 'prop');
      return prop ? elements(prop) : [];
    });
    const rt = sets.find((p) => is(p, NS.DAV, 'resourcetype'));
    if (rt) {
      const wanted = target.kind === 'calendars' ? child(rt, NS.CALDAV, 'calendar') : child(rt, NS.CARDDAV, 'addressbook');
      if (!wanted) throw target.kind === 'calendars' && child(rt, NS.CARDDAV, 'addressbook') ? SyncErrors.calendarCollectionLocation('Address books live in the address book home') : target.kind === 'contacts' && child(rt, NS.CALDAV, 'calendar') ? SyncErrors.addressbookLocation('Calendars live in the calendar home') : SyncErrors.validResourcetype();
    }
    if (await this.dav.getCollection(caller.inst, target.kind, target.name)) throw SyncErrors.resourceMustBeNull();
    const draft: CollectionDoc = { _id: target.name, generation: '' };
    const results = applyProps(target.kind, draft, sets.filter((p) => p !== rt), [], true);
    if (results.some((r) => r.status !== 200)) {
      const failed = results.map((r) => (r.status === 200 ? { ...r, status: 424 } : r));
      const stats = propStats(failed).map((ps) => davEl('propstat', [davEl('prop', ps.props), davEl('status', `HTTP/1.1 ${ps.status} ${ps.status === 403 ? 'Forbidden' : 'Failed Dependency'}`)]));
      return sendXml(reply, 403, davDocument('mkcol-response', stats));
    }
    const { _id, generation, ...init } = draft;
    void _id;
    void generation;
    await this.dav.createCollection(caller.inst, target.kind, target.name, init);
    return reply.status(201).header('location', hrefOf(target)).header('cache-control', 'no-cache').send();
  }

  async #proppatch(req: FastifyRequest, reply: FastifyReply, caller: Caller, target: Target): Promise<FastifyReply> {
    const body = xmlBody(req, this.config.maxXmlBody);
    if (!body || !is(body, NS.DAV, 'propertyupdate')) throw SyncErrors.badRequest('Expected a DAV:propertyupdate body');
    if (target.type !== 'collection') throw SyncErrors.forbidden('Only calendars and address books have writable properties');
    const coll = await this.#collection(caller, target.kind, target.name);
    const sets: XmlElement[] = [];
    const removes: XmlElement[] = [];
    for (const op of elements(body)) {
      const prop = child(op, NS.DAV, 'prop');
      const props = prop ? elements(prop) : [];
      if (is(op, NS.DAV, 'set')) sets.push(...props);
      else if (is(op, NS.DAV, 'remove')) removes.push(...props);
    }
    const draft: CollectionDoc = { ...coll, props: { ...(coll.props ?? {}) } };
    let results = applyProps(target.kind, draft, sets, removes, false);
    if (results.some((r) => r.status !== 200)) results = results.map((r) => (r.status === 200 ? { ...r, status: 424 } : r));
    else await this.dav.updateCollection(caller.inst, target.kind, draft);
    return sendXml(reply, 207, new Multistatus().addPropStats(hrefOf(target), propStats(results)).toString());
  }
}

const PROTECTED = new Set([
  '{DAV:}getetag', '{DAV:}getctag', '{DAV:}sync-token', '{DAV:}getcontenttype', '{DAV:}getcontentlength', '{DAV:}supported-report-set',
  '{DAV:}current-user-principal', '{DAV:}current-user-privilege-set', '{DAV:}owner', '{DAV:}resourcetype', '{DAV:}principal-URL',
  '{http://calendarserver.org/ns/}getctag', '{urn:ietf:params:xml:ns:caldav}supported-calendar-data', '{urn:ietf:params:xml:ns:caldav}max-resource-size',
  '{urn:ietf:params:xml:ns:carddav}supported-address-data', '{urn:ietf:params:xml:ns:carddav}max-resource-size',
  '{urn:ietf:params:xml:ns:caldav}calendar-home-set', '{urn:ietf:params:xml:ns:carddav}addressbook-home-set',
]);

/** Applies PROPPATCH / MKCOL property changes to a collection draft, one result per property. */
function applyProps(kind: HomeKind, doc: CollectionDoc, sets: XmlElement[], removes: XmlElement[], creating: boolean): PropResult[] {
  const results: PropResult[] = [];
  const cal = kind === 'calendars';
  doc.props ??= {};
  for (const [el, remove] of [...sets.map((e) => [e, false] as const), ...removes.map((e) => [e, true] as const)]) {
    const key = clark(el);
    const value = remove ? undefined : textOf(el).trim();
    const ok = () => results.push({ ns: el.ns, name: el.name, status: 200 });
    if (key === '{DAV:}displayname') {
      doc.displayname = value;
      ok();
    } else if (cal && key === '{urn:ietf:params:xml:ns:caldav}calendar-description' || !cal && key === '{urn:ietf:params:xml:ns:carddav}addressbook-description') {
      doc.description = value;
      ok();
    } else if (cal && key === '{http://apple.com/ns/ical/}calendar-color') {
      doc.color = value;
      ok();
    } else if (cal && key === '{http://apple.com/ns/ical/}calendar-order') {
      doc.order = value;
      ok();
    } else if (cal && key === '{urn:ietf:params:xml:ns:caldav}calendar-timezone') {
      if (!remove) {
        try {
          parseTimezone(textOf(el));
        } catch {
          // RFC 4791 §5.2.2: one VTIMEZONE in a VCALENDAR, or the property is refused.
          results.push({ ns: el.ns, name: el.name, status: 403 });
          continue;
        }
      }
      // RFC 7809 §5.2: calendar-timezone-id follows, as it is read from this VTIMEZONE's TZID.
      doc.timezone = remove ? undefined : textOf(el);
      ok();
    } else if (cal && key === '{urn:ietf:params:xml:ns:caldav}calendar-timezone-id') {
      if (remove) {
        doc.timezone = undefined;
        ok();
        continue;
      }
      try {
        // The standard zone's VTIMEZONE carries the id as asked in its TZID, so the id reads back as set.
        doc.timezone = zoneById(textOf(el).trim()).calendar;
        ok();
      } catch {
        results.push({ ns: el.ns, name: el.name, status: 403, error: '<C:valid-timezone xmlns:C="urn:ietf:params:xml:ns:caldav"/>' });
      }
    } else if (cal && key === '{urn:ietf:params:xml:ns:caldav}supported-calendar-component-set') {
      if (!creating || remove) {
        results.push({ ns: el.ns, name: el.name, status: 403 });
        continue;
      }
      const comps = childrenNamed(el, NS.CALDAV, 'comp').map((c) => (c.attrs.name ?? '').toUpperCase());
      if (comps.length === 0 || comps.some((c) => c !== 'VEVENT' && c !== 'VTODO')) {
        results.push({ ns: el.ns, name: el.name, status: 403 });
        continue;
      }
      doc.components = comps as CollectionDoc['components'];
      ok();
    } else if (cal && key === '{urn:ietf:params:xml:ns:caldav}schedule-calendar-transp') {
      // RFC 6638 §9.1: iOS sets it at MKCALENDAR; refusing it would fail the whole creation. Kept as the client's.
      const kids = elements(el);
      if (!remove && (kids.length !== 1 || !(is(kids[0], NS.CALDAV, 'opaque') || is(kids[0], NS.CALDAV, 'transparent')))) {
        results.push({ ns: el.ns, name: el.name, status: 409 });
        continue;
      }
      if (remove) delete doc.props[key];
      else doc.props[key] = serializeNodes(el.children);
      ok();
    } else if (PROTECTED.has(key) || el.ns === NS.CALDAV || el.ns === NS.CARDDAV) {
      results.push({ ns: el.ns, name: el.name, status: 403 });
    } else {
      if (remove) delete doc.props[key];
      else doc.props[key] = serializeNodes(el.children);
      ok();
    }
  }
  for (const k of ['displayname', 'description', 'color', 'order', 'timezone'] as const) if (doc[k] === undefined) delete doc[k];
  // Older code kept the id beside the VTIMEZONE it is read from: dropped at the first write.
  delete doc.timezoneId;
  return results;
}
