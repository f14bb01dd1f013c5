import { createHash, randomBytes } from 'node:crypto';
import type { Doc, DocumentStore, InstanceRef, Locks, NewDoc } from '@cozy-ts/kernel';
import { calendarFields, parseCalendar, type CalendarComponent, type ParsedCalendar } from './ical.ts';
import {
  DEFAULT_ADDRESSBOOK, DESIGN_ID, DESIGN_VERSION, DOCTYPES, collectionDoctype, cozyContactId, designDoc, memberDoctypes, memberId, memberRange,
  type HomeKind,
} from './layout.ts';
import { overallSpan, type ExpandLimits } from './recurrence.ts';
import { evaluateConditional } from './dav.ts';
import { hrefOf } from './paths.ts';
import { SyncErrors } from './sync-errors.ts';
import { zoneLayout, type ZoneLayout } from './standard-zones.ts';
import { groupMembers, memberUidKeys, namesMember, withBookGroups } from './group-members.ts';
import { formatToken, parseToken } from './sync-tokens.ts';
import { contactFields, parseVcard, renamedGroupCard, unescapeText, vcardFromFields, type ContactFields, type VcardVersion } from './vcard.ts';

/** A calendar or address book document (`_id` is its name in URLs). */
export interface CollectionDoc extends Doc {
  displayname?: string;
  description?: string;
  color?: string;
  order?: string;
  timezone?: string;
  /**
   * Written by older code: RFC 7809 calendar-timezone-id, a copy of `timezone`'s TZID. Never read (the id is the
   * TZID of `timezone`), dropped at the collection's next write.
   */
  timezoneId?: string;
  components?: CalendarComponent[];
  /** Dead properties set by PROPPATCH or extended MKCOL: Clark name → serialised element. */
  props?: Record<string, string>;
  /** Random at creation: tokens of an earlier collection of the same name are refused. */
  generation: string;
  created_at?: string;
}

/** What a member document carries for DAV beside the fields apps query. */
export interface DavInfo {
  collection: string;
  href: string;
  uid: string;
  raw: string;
  size: number;
  comp?: CalendarComponent;
  version?: VcardVersion;
  first?: number | null;
  last?: number | null;
  /** Hash of the Contacts fields as read from `raw`: when the app edits them, the card is rebuilt. */
  fields?: string;
  /** Calendar objects: where their time zones stand, so a served length is known without the text (absent in older documents). */
  zones?: ZoneLayout;
  /** Group cards: the members they name (`MEMBER` values as written). */
  members?: string[];
}

export interface MemberDoc extends Doc {
  dav?: DavInfo;
}

/** One member as listed: its name, document and ETag; the document itself when it was read. */
export interface MemberRow {
  name: string;
  id: string;
  doctype: string;
  etag: string;
  first?: number | null;
  last?: number | null;
  doc?: MemberDoc;
}

function rowOf(name: string, id: string, doctype: string, rev: string, doc?: MemberDoc): MemberRow {
  const row: MemberRow = { name, id, doctype, etag: `"${rev}"` };
  if (doc) {
    row.doc = doc;
    row.first = doc.dav?.first;
    row.last = doc.dav?.last;
  }
  return row;
}

export interface Member {
  name: string;
  doctype: string;
  doc: MemberDoc;
  etag: string;
}

export interface ChangeSet {
  token: string;
  changed: MemberRow[];
  removed: string[];
  /** More changes than the limit: the token stops at the last one reported. */
  truncated: boolean;
}

export interface PutPreconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  /** Whether the caller may write groups: a group card (or a member that is one) is refused otherwise. */
  groups?: boolean;
}

export function etagOf(doc: Doc): string {
  return `"${doc._rev ?? ''}"`;
}

function isNotFound(err: unknown): boolean {
  return (err as { status?: number }).status === 404;
}

const CONTACT_FIELD_KEYS: Array<keyof ContactFields> = ['fullname', 'name', 'email', 'phone', 'address', 'birthday', 'note', 'company', 'jobTitle'];

export function fieldsHash(doc: Record<string, unknown>): string {
  const picked: Record<string, unknown> = {};
  for (const k of CONTACT_FIELD_KEYS) if (doc[k] !== undefined) picked[k] = doc[k];
  return createHash('sha1').update(JSON.stringify(picked)).digest('hex');
}

/** The members a stored group card names, as listed when it was written. */
function membersOf(dav: DavInfo | undefined): string[] {
  return dav?.members ?? [];
}

/** Hash of a group's name as read from its card: when the Contacts app renames the group, the card follows. */
function groupHash(doc: Record<string, unknown>): string {
  return createHash('sha1').update(JSON.stringify({ name: doc.name })).digest('hex');
}

function cozyMetadata(old: Doc | undefined, now: string): Record<string, unknown> {
  const prev = (old?.cozyMetadata ?? {}) as Record<string, unknown>;
  return { doctypeVersion: 1, metadataVersion: 1, createdAt: prev.createdAt ?? now, createdByApp: prev.createdByApp ?? 'sync', ...prev, updatedAt: now, updatedByApps: [{ slug: 'sync', date: now }] };
}


/**
 * Calendars, address books and their members in the store. Every call takes the instance first; permissions
 * are checked by the caller (routes) before it gets here.
 */
/** Collections whose listing a process keeps (a few hundred bytes per member). */
const LIST_CACHE_SIZE = 200;
/** Past this many changes, walking the index is cheaper than replaying the feed. */
const LIST_CATCH_UP_LIMIT = 5_000;

interface ListCache {
  seqs: string[];
  rows: Map<string, MemberRow>;
}

export class DavStore {
  readonly #designed = new Set<string>();
  readonly #lists = new Map<string, ListCache>();

  constructor(
    private readonly store: DocumentStore,
    private readonly locks: Locks,
    private readonly limits: ExpandLimits & { maxResourceSize: number },
  ) {}

  // ---------------------------------------------------------------- collections

  async listCollections(inst: InstanceRef, kind: HomeKind): Promise<CollectionDoc[]> {
    const res = await this.#allDocs(inst, collectionDoctype(kind), { include_docs: true });
    const docs = res.rows.map((r) => r.doc).filter((d): d is CollectionDoc => !!d && !d._id.startsWith('_design/'));
    if (kind === 'contacts' && !docs.some((d) => d._id === DEFAULT_ADDRESSBOOK)) docs.unshift(await this.#defaultBook(inst));
    return docs;
  }

  async getCollection(inst: InstanceRef, kind: HomeKind, name: string): Promise<CollectionDoc | null> {
    try {
      return (await this.store.get(inst, collectionDoctype(kind), name)) as CollectionDoc;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return kind === 'contacts' && name === DEFAULT_ADDRESSBOOK ? this.#defaultBook(inst) : null;
    }
  }

  /** `_all_docs` of a doctype whose database may not exist yet (nothing was ever written to it): no rows then. */
  async #allDocs(inst: InstanceRef, doctype: string, opts: Parameters<DocumentStore['allDocs']>[2]): ReturnType<DocumentStore['allDocs']> {
    try {
      return await this.store.allDocs(inst, doctype, opts);
    } catch (err) {
      if (isNotFound(err)) return { total_rows: 0, offset: 0, rows: [] };
      throw err;
    }
  }

  /** The default address book exists from the start: it is written the first time anyone asks for it. */
  async #defaultBook(inst: InstanceRef): Promise<CollectionDoc> {
    const doc: CollectionDoc = { _id: DEFAULT_ADDRESSBOOK, displayname: 'Contacts', generation: 'default', created_at: new Date().toISOString() };
    try {
      const res = await this.store.put(inst, DOCTYPES.addressbooks, doc, { old: null });
      return { ...doc, _rev: res.rev };
    } catch (err) {
      if ((err as { status?: number }).status === 409) return (await this.store.get(inst, DOCTYPES.addressbooks, DEFAULT_ADDRESSBOOK)) as CollectionDoc;
      throw err;
    }
  }

  /** Creates a collection; 405 resource-must-be-null when the name is taken. */
  async createCollection(inst: InstanceRef, kind: HomeKind, name: string, init: Partial<CollectionDoc>): Promise<CollectionDoc> {
    if (await this.getCollection(inst, kind, name)) throw SyncErrors.resourceMustBeNull();
    const doc: CollectionDoc = { ...init, _id: name, generation: randomBytes(8).toString('hex'), created_at: new Date().toISOString() };
    if (kind === 'calendars') doc.components ??= ['VEVENT', 'VTODO'];
    try {
      const res = await this.store.put(inst, collectionDoctype(kind), doc, { old: null });
      return { ...doc, _rev: res.rev };
    } catch (err) {
      if ((err as { status?: number }).status === 409) throw SyncErrors.resourceMustBeNull();
      throw err;
    }
  }

  async updateCollection(inst: InstanceRef, kind: HomeKind, doc: CollectionDoc): Promise<CollectionDoc> {
    const res = await this.store.put(inst, collectionDoctype(kind), doc);
    return { ...doc, _rev: res.rev };
  }

  /** Deletes the collection and its members (tombstones keep their name so sync-collection reports them). */
  async deleteCollection(inst: InstanceRef, kind: HomeKind, coll: CollectionDoc): Promise<void> {
    const rows = await this.listMembers(inst, kind, coll._id);
    const byType = new Map<string, MemberRow[]>();
    for (const r of rows) byType.set(r.doctype, [...(byType.get(r.doctype) ?? []), r]);
    for (const [doctype, list] of byType) {
      for (let i = 0; i < list.length; i += 500) {
        const chunk = list.slice(i, i + 500);
        if (doctype === DOCTYPES.contacts && coll._id === DEFAULT_ADDRESSBOOK) {
          // Contacts made in Cozy are the user's address book itself: they stay, only the DAV data goes.
          await this.#detachContacts(inst, chunk);
          continue;
        }
        await this.store.bulkDocs(inst, doctype, chunk.map((r) => ({ _id: r.id, _rev: r.etag.slice(1, -1), _deleted: true, dav: { collection: coll._id, href: r.name } })));
      }
    }
    if (coll._rev && !(kind === 'contacts' && coll._id === DEFAULT_ADDRESSBOOK && coll.generation === 'default')) {
      await this.store.delete(inst, collectionDoctype(kind), coll._id, coll._rev, { old: coll });
    } else if (coll._rev) {
      // The default book is never gone: it starts over with a new generation.
      await this.store.put(inst, DOCTYPES.addressbooks, { ...coll, generation: randomBytes(8).toString('hex'), props: {} });
    }
  }

  async #detachContacts(inst: InstanceRef, rows: MemberRow[]): Promise<void> {
    const docs = await this.store.allDocs(inst, DOCTYPES.contacts, { keys: rows.map((r) => r.id), include_docs: true });
    const updates: NewDoc[] = [];
    for (const row of docs.rows) {
      const doc = row.doc as MemberDoc | null | undefined;
      if (!doc) continue;
      if (doc.dav && doc.dav.collection === DEFAULT_ADDRESSBOOK && doc._id === memberId(DEFAULT_ADDRESSBOOK, doc.dav.href)) {
        updates.push({ _id: doc._id, _rev: doc._rev, _deleted: true, dav: { collection: DEFAULT_ADDRESSBOOK, href: doc.dav.href } });
      } else {
        // The book's group cards go with it: no reference to them is left behind.
        const relationships = withBookGroups(doc, DEFAULT_ADDRESSBOOK, []);
        updates.push({ ...doc, ...(relationships ? { relationships } : {}), trashed: true });
      }
    }
    if (updates.length) await this.store.bulkDocs(inst, DOCTYPES.contacts, updates);
  }

  // ---------------------------------------------------------------- views

  async #ensureDesign(inst: InstanceRef, doctype: string): Promise<void> {
    const key = `${inst.prefix}/${doctype}`;
    if (this.#designed.has(key)) return;
    const wanted = designDoc(doctype === DOCTYPES.contacts);
    let existing: Doc | null = null;
    try {
      existing = await this.store.adapter.get(this.store.db(inst, doctype), DESIGN_ID);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!existing || existing.version !== DESIGN_VERSION) {
      // Straight to the adapter: a design doc is no user data and must not reach realtime or the indexer.
      await this.store.adapter.put(this.store.db(inst, doctype), { ...wanted, ...(existing?._rev ? { _rev: existing._rev } : {}) }).catch((err: unknown) => {
        if ((err as { status?: number }).status !== 409) throw err;
      });
    }
    this.#designed.add(key);
  }

  async #view(inst: InstanceRef, doctype: string, view: 'uids', opts: Record<string, unknown>) {
    await this.#ensureDesign(inst, doctype);
    return this.store.queryView(inst, doctype, 'cozy-sync', view, { reduce: false, ...opts });
  }

  /**
   * A collection's members (names and revisions; documents only when asked). Without documents the listing is
   * kept per collection and brought up to date from the change feeds since it was made, so a client polling an
   * unchanged collection costs two one-row reads instead of a walk of the index. The cache is only a copy: each
   * use checks it against the store's sequences, so another process's writes are never missed.
   */
  async listMembers(inst: InstanceRef, kind: HomeKind, coll: string, withDocs = false): Promise<MemberRow[]> {
    if (withDocs || (kind === 'contacts' && coll === DEFAULT_ADDRESSBOOK)) return this.#listFromIndex(inst, kind, coll, withDocs);
    const key = `${inst.prefix}\n${kind}\n${coll}`;
    const seqs = await this.#seqs(inst, kind);
    let entry = this.#lists.get(key);
    if (entry) {
      this.#lists.delete(key);
      const current = entry;
      const stale = seqs.some((seq, i) => seq !== current.seqs[i]);
      if (stale && !(await this.#catchUp(inst, kind, coll, current))) entry = undefined;
    }
    if (!entry) {
      const rows = await this.#listFromIndex(inst, kind, coll, false);
      entry = { seqs, rows: new Map(rows.map((r) => [`${r.doctype}\n${r.name}`, r])) };
    }
    this.#lists.set(key, entry);
    if (this.#lists.size > LIST_CACHE_SIZE) this.#lists.delete(this.#lists.keys().next().value as string);
    return [...entry.rows.values()];
  }

  /** Applies the changes since the cached listing; false when the feed cannot say (then the index is walked). */
  async #catchUp(inst: InstanceRef, kind: HomeKind, coll: string, entry: ListCache): Promise<boolean> {
    const prefix = `${coll}/`;
    for (const [i, doctype] of memberDoctypes(kind).entries()) {
      let feed;
      try {
        feed = await this.store.changes(inst, doctype, { since: entry.seqs[i] });
      } catch {
        return false;
      }
      if (feed.results.length > LIST_CATCH_UP_LIMIT) return false;
      for (const row of feed.results) {
        if (!row.id.startsWith(prefix)) continue;
        const name = row.id.slice(prefix.length);
        const key = `${doctype}\n${name}`;
        if (row.deleted) entry.rows.delete(key);
        else entry.rows.set(key, rowOf(name, row.id, doctype, row.changes[0]?.rev ?? ''));
      }
      entry.seqs[i] = feed.last_seq;
    }
    return true;
  }

  async #listFromIndex(inst: InstanceRef, kind: HomeKind, coll: string, withDocs: boolean): Promise<MemberRow[]> {
    const out: MemberRow[] = [];
    for (const doctype of memberDoctypes(kind)) {
      const res = await this.#allDocs(inst, doctype, { ...memberRange(coll), include_docs: withDocs });
      for (const row of res.rows) {
        if (!row.id || !row.value) continue;
        out.push(rowOf(row.id.slice(coll.length + 1), row.id, doctype, row.value.rev, row.doc as MemberDoc | undefined));
      }
      if (doctype === DOCTYPES.contacts && coll === DEFAULT_ADDRESSBOOK) {
        const all = await this.#allDocs(inst, doctype, { include_docs: true });
        for (const row of all.rows) {
          const doc = row.doc as MemberDoc | null | undefined;
          if (!doc || doc._id.includes('/') || doc._id.startsWith('_') || doc.trashed) continue;
          out.push(rowOf(`${doc._id}.vcf`, doc._id, doctype, doc._rev as string, withDocs ? doc : undefined));
        }
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- members

  #candidateIds(coll: string, name: string): string[] {
    const ids = [memberId(coll, name)];
    const cozy = cozyContactId(coll, name);
    if (cozy) ids.push(cozy);
    return ids;
  }

  #belongs(doc: MemberDoc, doctype: string, coll: string, name: string): boolean {
    if (doc.dav) return doc.dav.collection === coll && doc.dav.href === name;
    // Groups made in Cozy are no members: only their contacts are.
    return doctype === DOCTYPES.contacts && coll === DEFAULT_ADDRESSBOOK && `${doc._id}.vcf` === name && !doc.trashed;
  }

  async getMember(inst: InstanceRef, kind: HomeKind, coll: string, name: string): Promise<Member | null> {
    const found = await this.getMembers(inst, kind, coll, [name]);
    return found.get(name) ?? null;
  }

  /** Members by name in one read per doctype (multiget). */
  async getMembers(inst: InstanceRef, kind: HomeKind, coll: string, names: string[]): Promise<Map<string, Member>> {
    const wanted = new Map<string, string>();
    for (const n of names) for (const id of this.#candidateIds(coll, n)) wanted.set(id, n);
    const out = new Map<string, Member>();
    if (wanted.size === 0) return out;
    for (const doctype of memberDoctypes(kind)) {
      const res = await this.#allDocs(inst, doctype, { keys: [...wanted.keys()], include_docs: true });
      for (const row of res.rows) {
        const doc = row.doc as MemberDoc | null | undefined;
        const name = wanted.get(row.key);
        if (!doc || name === undefined || !this.#belongs(doc, doctype, coll, name)) continue;
        out.set(name, { name, doctype, doc, etag: etagOf(doc) });
      }
    }
    return out;
  }

  /** The stored body of a member: the client's bytes, or a card made from the Contacts fields. */
  memberBody(m: Member): string {
    const dav = m.doc.dav;
    if (m.doctype === DOCTYPES.contacts) {
      if (!dav) return vcardFromFields(m.doc._id, m.doc as ContactFields);
      if (dav.fields && dav.fields !== fieldsHash(m.doc)) return this.#rebuiltCard(m.doc, dav);
    }
    if (m.doctype === DOCTYPES.groups && dav?.fields && dav.fields !== groupHash(m.doc)) return renamedGroupCard(dav.raw, String(m.doc.name ?? ''));
    return dav?.raw ?? '';
  }

  /** Whether `memberBody` is the stored bytes (a client's card or object that no app has edited since). */
  servedAsStored(m: Member): boolean {
    const dav = m.doc.dav;
    if (!dav) return false;
    if (m.doctype === DOCTYPES.contacts) return !dav.fields || dav.fields === fieldsHash(m.doc);
    if (m.doctype === DOCTYPES.groups) return !dav.fields || dav.fields === groupHash(m.doc);
    return true;
  }

  /**
   * The Contacts app changed the fields after the card was stored: the card keeps what the app does not know
   * (photos, custom properties) and takes the app's names, emails, phones and addresses.
   */
  #rebuiltCard(doc: MemberDoc, dav: DavInfo): string {
    const fresh = vcardFromFields(dav.uid, doc as ContactFields).split('\r\n').filter((l) => l && !/^(BEGIN|END|VERSION|UID):/.test(l));
    const replaced = new Set(['FN', 'N', 'EMAIL', 'TEL', 'ADR', 'BDAY', 'ORG', 'TITLE', 'NOTE']);
    const src = dav.version === '3.0' ? dav.raw : dav.raw;
    const lines = src.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).filter((l) => {
      const name = (/^(?:[^.:;]+\.)?([^:;]+)/.exec(l)?.[1] ?? '').toUpperCase();
      return l && !replaced.has(name) && name !== 'END';
    });
    const body = [...lines, ...(dav.version === '3.0' ? fresh.map((l) => l.replace(/;PREF=1/, ';TYPE=pref')) : fresh), 'END:VCARD', ''];
    return body.join('\r\n');
  }

  /**
   * Creates or replaces a member. Preconditions: If-None-Match `*` (412 when it exists), If-Match (412 unless
   * the current ETag); one UID per collection (409 no-uid-conflict naming the other member).
   */
  async putMember(inst: InstanceRef, kind: HomeKind, coll: CollectionDoc, name: string, body: string, pre: PutPreconditions): Promise<{ etag: string; created: boolean }> {
    if (Buffer.byteLength(body) > this.limits.maxResourceSize) throw kind === 'calendars' ? SyncErrors.calendarTooLarge() : SyncErrors.addressTooLarge();
    const parsed = kind === 'calendars' ? this.#parseCalendarBody(body, coll) : await this.#parseCardBody(body, name);
    const doctype = parsed.doctype;
    const lockName = `sync:uid:${inst.prefix}:${kind}:${coll._id}:${createHash('sha1').update(parsed.uid).digest('hex')}`;
    return this.locks.withLock(lockName, { ttlMs: 30_000, waitMs: 10_000 }, async () => {
      const current = await this.getMember(inst, kind, coll._id, name);
      if (pre.groups === false && (doctype === DOCTYPES.groups || current?.doctype === DOCTYPES.groups)) throw SyncErrors.forbidden(`Group cards need permission on ${DOCTYPES.groups}`);
      const outcome = evaluateConditional({ 'if-match': pre.ifMatch, 'if-none-match': pre.ifNoneMatch }, { exists: !!current, etag: current?.etag }, false);
      if (outcome !== 'proceed') throw SyncErrors.preconditionFailed(current ? 'The resource exists or changed (If-Match / If-None-Match)' : 'The resource does not exist (If-Match)');
      // The member already holds this UID: nobody else can (the check ran when it got it), so no index lookup.
      if (current?.doc.dav?.uid !== parsed.uid) await this.#checkUid(inst, kind, coll._id, parsed.uid, name);
      const now = new Date().toISOString();
      const id = current?.doc._id ?? memberId(coll._id, name);
      const base: Record<string, unknown> = {};
      if (current && current.doctype === doctype && !current.doc.dav) {
        // A Cozy-made contact gets DAV data: keep what the app put beside the contact fields.
        for (const [k, v] of Object.entries(current.doc)) if (!CONTACT_FIELD_KEYS.includes(k as keyof ContactFields)) base[k] = v;
      } else if (current && current.doctype === doctype) {
        for (const [k, v] of Object.entries(current.doc)) if (k === 'relationships' || k === 'metadata' || k === 'trashed') base[k] = v;
      }
      if (doctype === DOCTYPES.contacts && (current?.doctype !== doctype || current.doc.dav?.uid !== parsed.uid)) {
        // A contact that arrives after the group cards naming it (or changes its UID) is put in their groups; one that
        // keeps its UID already has them (writing a group card updates its members).
        const relationships = withBookGroups(base, coll._id, await this.#groupsNaming(inst, coll._id, parsed.uid));
        if (relationships) base.relationships = relationships;
      }
      const doc: NewDoc = {
        ...base,
        ...parsed.fields,
        _id: id,
        dav: { ...parsed.dav, collection: coll._id, href: name, size: Buffer.byteLength(body), raw: body },
        cozyMetadata: cozyMetadata(current?.doctype === doctype ? current.doc : undefined, now),
      };
      if (current && current.doctype === doctype) doc._rev = current.doc._rev;
      let rev: string;
      try {
        rev = (await this.store.put(inst, doctype, doc, { old: current?.doctype === doctype ? current.doc : null })).rev;
      } catch (err) {
        if ((err as { status?: number }).status === 409) throw SyncErrors.preconditionFailed('The resource changed meanwhile');
        throw err;
      }
      if (current && current.doctype !== doctype) await this.#tombstone(inst, current);
      const before = current?.doctype === DOCTYPES.groups ? membersOf(current.doc.dav) : [];
      const after = doctype === DOCTYPES.groups ? (parsed.dav.members ?? []) : [];
      if (before.length || after.length) await this.#setGroupMembers(inst, coll._id, id, before, after);
      return { etag: `"${rev}"`, created: !current };
    });
  }

  #parseCalendarBody(body: string, coll: CollectionDoc): { uid: string; doctype: string; fields: Record<string, unknown>; dav: Partial<DavInfo> } {
    const p: ParsedCalendar = parseCalendar(body);
    if (coll.components && !coll.components.includes(p.kind)) throw SyncErrors.unsupportedComponent(`This calendar holds ${coll.components.join(', ')} only`);
    const span = overallSpan(p, this.limits);
    return {
      uid: p.uid,
      doctype: p.kind === 'VTODO' ? DOCTYPES.todos : DOCTYPES.events,
      fields: { ...calendarFields(p), calendar: coll._id },
      dav: { uid: p.uid, comp: p.kind, first: span.first, last: span.last, zones: zoneLayout(body) },
    };
  }

  async #parseCardBody(body: string, name: string): Promise<{ uid: string; doctype: string; fields: Record<string, unknown>; dav: Partial<DavInfo> }> {
    const card = parseVcard(body);
    const uid = card.uid ?? name.replace(/\.vcf$/, '');
    // A group card is a group for Cozy's apps (its name; members are not mapped), never a contact named after it.
    if (card.group) {
      const fields = { name: card.fn !== undefined ? unescapeText(card.fn) : uid };
      return { uid, doctype: DOCTYPES.groups, fields, dav: { uid, version: card.version, fields: groupHash(fields), members: groupMembers(body) } };
    }
    const fields = await contactFields(body, card.version);
    return { uid, doctype: DOCTYPES.contacts, fields: { ...fields }, dav: { uid, version: card.version, fields: fieldsHash(fields as Record<string, unknown>) } };
  }

  async #checkUid(inst: InstanceRef, kind: HomeKind, coll: string, uid: string, name: string): Promise<void> {
    for (const doctype of memberDoctypes(kind)) {
      const res = await this.#view(inst, doctype, 'uids', { key: [coll, uid] });
      const other = res.rows.find((r) => r.value !== name);
      if (other) throw (kind === 'calendars' ? SyncErrors.calendarUidConflict : SyncErrors.addressUidConflict)(`UID ${uid} is already used by ${String(other.value)}`, { href: hrefOf({ type: 'member', kind, collection: coll, name: String(other.value) }) });
    }
  }

  async #tombstone(inst: InstanceRef, m: Member): Promise<void> {
    const dav = m.doc.dav;
    if (!dav) {
      await this.store.put(inst, m.doctype, { ...m.doc, trashed: true }, { old: m.doc });
      return;
    }
    const res = await this.store.bulkDocs(inst, m.doctype, [{ _id: m.doc._id, _rev: m.doc._rev, _deleted: true, dav: { collection: dav.collection, href: dav.href } }]);
    if (res[0]?.error === 'conflict') throw SyncErrors.preconditionFailed('The resource changed meanwhile');
  }

  async deleteMember(inst: InstanceRef, kind: HomeKind, coll: string, name: string, ifMatch?: string): Promise<void> {
    const current = await this.getMember(inst, kind, coll, name);
    if (!current) throw SyncErrors.notFound();
    if (evaluateConditional({ 'if-match': ifMatch }, { exists: true, etag: current.etag }, false) !== 'proceed') throw SyncErrors.preconditionFailed('The resource changed (If-Match)');
    await this.#tombstone(inst, current);
    if (current.doctype === DOCTYPES.groups) await this.#setGroupMembers(inst, coll, current.doc._id, membersOf(current.doc.dav), []);
  }

  /** The DAV groups of a book whose cards name this UID as a member (a book has a few: one range read). */
  async #groupsNaming(inst: InstanceRef, book: string, uid: string): Promise<string[]> {
    const res = await this.#allDocs(inst, DOCTYPES.groups, { ...memberRange(book), include_docs: true });
    const out: string[] = [];
    for (const row of res.rows) {
      const doc = row.doc as MemberDoc | null | undefined;
      if (doc?.dav && doc.dav.collection === book && namesMember(membersOf(doc.dav), uid)) out.push(doc._id);
    }
    return out;
  }

  /**
   * A group card's members changed from `before` to `after`: the contacts of the book that joined or left get
   * the group added to or removed from their `relationships.groups` (what Cozy's Contacts app reads). Only those
   * contacts are written; a conflict with a concurrent write is read again and retried once.
   */
  async #setGroupMembers(inst: InstanceRef, book: string, groupId: string, before: string[], after: string[]): Promise<void> {
    const changed = [...before.filter((m) => !namesMember(after, m)), ...after.filter((m) => !namesMember(before, m))];
    if (changed.length === 0) return;
    const keys = [...new Set(changed.flatMap(memberUidKeys))].map((k) => [book, k]);
    const found = await this.#view(inst, DOCTYPES.contacts, 'uids', { keys });
    const names = [...new Set(found.rows.map((r) => String(r.value)))];
    for (let attempt = 0; attempt < 2 && names.length; attempt++) {
      const members = await this.getMembers(inst, 'contacts', book, names);
      const updates: NewDoc[] = [];
      for (const m of members.values()) {
        if (m.doctype !== DOCTYPES.contacts) continue;
        const inGroup = namesMember(after, m.doc.dav?.uid ?? m.doc._id);
        const rel = m.doc.relationships as { groups?: { data?: Array<{ _id: string }> } } | undefined;
        const current = (rel?.groups?.data ?? []).map((r) => r._id).filter((id) => typeof id === 'string' && id.startsWith(`${book}/`) && id !== groupId);
        const relationships = withBookGroups(m.doc, book, inGroup ? [...current, groupId] : current);
        if (relationships) updates.push({ ...m.doc, relationships });
      }
      if (updates.length === 0) return;
      const res = await this.store.bulkDocs(inst, DOCTYPES.contacts, updates);
      const retry = new Set(res.filter((r) => r.error === 'conflict').map((r) => r.id));
      names.splice(0, names.length, ...[...members.values()].filter((m) => retry.has(m.doc._id)).map((m) => m.name));
    }
  }

  /** Loads member documents for listed rows. */
  async loadMembers(inst: InstanceRef, rows: MemberRow[]): Promise<Member[]> {
    const byType = new Map<string, MemberRow[]>();
    const out: Member[] = [];
    for (const r of rows) {
      if (r.doc) out.push({ name: r.name, doctype: r.doctype, doc: r.doc, etag: r.etag });
      else byType.set(r.doctype, [...(byType.get(r.doctype) ?? []), r]);
    }
    for (const [doctype, list] of byType) {
      const res = await this.store.allDocs(inst, doctype, { keys: list.map((r) => r.id), include_docs: true });
      res.rows.forEach((row, i) => {
        const doc = row.doc as MemberDoc | null | undefined;
        const r = list[i] as MemberRow;
        if (doc) out.push({ name: r.name, doctype, doc, etag: etagOf(doc) });
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- sync

  /**
   * The latest change sequence of each member database: the last row of a descending feed, one index read,
   * where database info would count every deleted document first (embedded adapter).
   */
  async #seqs(inst: InstanceRef, kind: HomeKind): Promise<string[]> {
    return Promise.all(memberDoctypes(kind).map((doctype) => this.#lastSeq(inst, doctype)));
  }

  async #lastSeq(inst: InstanceRef, doctype: string): Promise<string> {
    try {
      const feed = await this.store.changes(inst, doctype, { descending: true, limit: 1 });
      return String(feed.results[0]?.seq ?? '0');
    } catch (err) {
      if (isNotFound(err)) return '0';
      throw err;
    }
  }

  /**
   * A home's ctag: the sequences of its collections' database and of its members' databases. `members` may be
   * the member sequences already read for this request (every collection's token is made of them).
   */
  async homeTag(inst: InstanceRef, kind: HomeKind, members: Promise<string[]> = this.#seqs(inst, kind)): Promise<string> {
    const [colls, seqs] = await Promise.all([this.#lastSeq(inst, collectionDoctype(kind)), members]);
    return formatToken({ generation: 'home', seqs: [colls, ...seqs] });
  }

  /** The latest sequence of each member database of a home: what every collection's token is made of. */
  memberSeqs(inst: InstanceRef, kind: HomeKind): Promise<string[]> {
    return this.#seqs(inst, kind);
  }

  async currentToken(inst: InstanceRef, kind: HomeKind, coll: CollectionDoc, seqs: Promise<string[]> = this.#seqs(inst, kind)): Promise<string> {
    return formatToken({ generation: coll.generation, seqs: await seqs });
  }

  /**
   * What changed in a collection since a token: the doctypes' change feeds, kept to this collection. Works for
   * writes made through /data too. A deleted member whose tombstone carries no name (deleted through /data) is
   * found from its previous revision. Without a token (`undefined`), the feeds are read from their start and
   * only live members count (an initial sync reports no removals).
   *
   * With `limit` (RFC 6578 §3.7), at most that many members are reported; when more changed, `truncated` is set
   * and the token stops at the last reported change, so the next request carries on from there.
   */
  async changesSince(inst: InstanceRef, kind: HomeKind, coll: CollectionDoc, token: string | undefined, limit = Infinity): Promise<ChangeSet> {
    const doctypes = memberDoctypes(kind);
    const since = token === undefined ? doctypes.map(() => '0') : parseToken(token, coll.generation, doctypes.length);
    const current = await this.#seqs(inst, kind);
    since.forEach((s, i) => {
      const now = current[i] as string;
      if (/^\d+$/.test(s) && /^\d+$/.test(now) && Number(s) > Number(now)) throw SyncErrors.invalidSyncToken();
    });
    const changed = new Map<string, MemberRow>();
    const removed = new Set<string>();
    /** The doctypes each name changed in: a member that moved (a VEVENT made a VTODO, a card made a group). */
    const seenIn = new Map<string, Set<string>>();
    const last: string[] = [];
    let truncated = false;
    for (const [i, doctype] of doctypes.entries()) {
      if (truncated) {
        last.push(since[i] as string);
        continue;
      }
      let feed;
      try {
        feed = await this.store.changes(inst, doctype, { since: since[i], include_docs: true });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        last.push(since[i] as string);
        continue;
      }
      let stop = feed.last_seq;
      for (const row of feed.results) {
        if (row.id.startsWith('_design/')) continue;
        const doc = row.doc as MemberDoc | undefined;
        if (!doc) continue;
        let name: string | undefined;
        let gone = false;
        if (row.deleted) {
          if (token === undefined) continue;
          const where = doc.dav?.collection ? doc.dav : await this.#previousDav(inst, doctype, doc);
          if (!where || where.collection !== coll._id) continue;
          name = where.href;
          gone = true;
        } else {
          if (doc.dav) name = doc.dav.collection === coll._id ? doc.dav.href : undefined;
          else if (doctype === DOCTYPES.contacts && coll._id === DEFAULT_ADDRESSBOOK) name = `${doc._id}.vcf`;
          if (name === undefined) continue;
          gone = !!doc.trashed && !doc.dav;
          if (gone && token === undefined) continue;
        }
        if (changed.size + removed.size >= limit && !changed.has(name) && !removed.has(name)) {
          truncated = true;
          break;
        }
        stop = String(row.seq);
        seenIn.set(name, (seenIn.get(name) ?? new Set()).add(doctype));
        if (gone) {
          changed.delete(name);
          removed.add(name);
        } else {
          removed.delete(name);
          changed.set(name, rowOf(name, doc._id, doctype, doc._rev ?? '', doc));
        }
      }
      last.push(stop);
    }
    // The feeds are read one doctype after the other, so for a member that moved between doctypes the order of
    // its deletion in one and its writing in the other is unknown here: what is there now decides.
    const moved = [...seenIn].filter(([, types]) => types.size > 1).map(([name]) => name);
    if (moved.length) {
      const now = await this.getMembers(inst, kind, coll._id, moved);
      for (const name of moved) {
        const m = now.get(name);
        if (m) {
          removed.delete(name);
          changed.set(name, rowOf(name, m.doc._id, m.doctype, m.doc._rev ?? '', m.doc));
        } else {
          changed.delete(name);
          if (token !== undefined) removed.add(name);
        }
      }
    }
    return { token: formatToken({ generation: coll.generation, seqs: last }), changed: [...changed.values()], removed: [...removed], truncated };
  }

  async #previousDav(inst: InstanceRef, doctype: string, tomb: MemberDoc): Promise<{ collection: string; href: string } | undefined> {
    try {
      const withRevs = await this.store.get(inst, doctype, tomb._id, { rev: tomb._rev, revs_info: true });
      const prev = (withRevs._revs_info as Array<{ rev: string; status: string }> | undefined)?.find((r, i) => i > 0 && r.status === 'available');
      if (!prev) return undefined;
      const old = (await this.store.get(inst, doctype, tomb._id, { rev: prev.rev })) as MemberDoc;
      if (old.dav) return { collection: old.dav.collection, href: old.dav.href };
      return doctype === DOCTYPES.contacts ? { collection: DEFAULT_ADDRESSBOOK, href: `${old._id}.vcf` } : undefined;
    } catch {
      // Compacted away: nothing left to name the member by.
      return undefined;
    }
  }
}
