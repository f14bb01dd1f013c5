import type { ChangeRow, ChangesOptions, Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DESIGN_PREFIX } from './design-ids.ts';
import { DataErrors } from './data-errors.ts';
import { isPlainObject } from './doc-body.ts';
import { assertReadable } from './doctype-access.ts';
import { compileSelector } from './mango-selector.ts';
import { atoi, param, type Query } from './query-params.ts';

/** cozy's allowedChangesParams (web/data/replication.go); `filter` is allowed on POST only. */
const ALLOWED_PARAMS = new Set(['feed', 'style', 'since', 'limit', 'timeout', 'include_docs', 'heartbeat', '_nonce', 'seq_interval', 'descending']);
/** The filters that need no design document (couchdb.StaticChangesFilter). */
const FILTERS = new Set(['_doc_ids', '_selector', '_design']);

export type ChangesFilter = '_doc_ids' | '_selector' | '_design';

export interface ChangesQuery {
  since?: string;
  /** 0 = no limit (cozy omits a zero limit when it asks CouchDB). */
  limit: number;
  includeDocs: boolean;
  descending: boolean;
  filter?: ChangesFilter;
}

/** A row as cozy sends it: `doc` is always there, null when the docs were not asked for. */
export type ChangesRow = Omit<ChangeRow, 'doc'> & { doc: Doc | null };

export interface ChangesAnswer {
  results: ChangesRow[];
  last_seq: string;
  pending: number;
}

function readInt(query: Query, name: string): number {
  const text = param(query, name);
  if (text === undefined || text === '') return 0;
  const n = atoi(text);
  if (n === undefined) throw DataErrors.badRequest(`Invalid ${name} value '${text}': strconv.Atoi: parsing "${text}": invalid syntax`);
  return n;
}

/** Only feed=normal: no longpoll or continuous feed, and every parameter outside cozy's list is a 400. */
export function readChangesQuery(query: Query, method: 'GET' | 'POST'): ChangesQuery {
  for (const key of Object.keys(query)) {
    if (key === 'filter' && method === 'POST') continue;
    if (!ALLOWED_PARAMS.has(key)) throw DataErrors.badRequest(`Unsupported query parameter '${key}'`);
  }
  const feed = param(query, 'feed') ?? '';
  if (feed !== '' && feed !== 'normal') throw DataErrors.badRequest(`Unsuported feed value '${feed}'`);
  // all_docs (every leaf revision) is accepted as cozy does; the store port gives the winning one only.
  const style = param(query, 'style') ?? '';
  if (style !== '' && style !== 'main_only' && style !== 'all_docs') throw DataErrors.badRequest(`Unsuported style value '${style}'`);
  const filter = param(query, 'filter') ?? '';
  if (filter !== '' && !FILTERS.has(filter)) throw DataErrors.badRequest(`Unsuported filter value '${filter}'`);
  const limit = readInt(query, 'limit');
  if (limit < 0) throw DataErrors.queryParse(`Invalid value for limit: ${limit}`);
  readInt(query, 'seq_interval');
  const since = param(query, 'since');
  return {
    since: since === '' ? undefined : since,
    limit,
    includeDocs: param(query, 'include_docs') === 'true',
    descending: param(query, 'descending') === 'true',
    filter: filter === '' ? undefined : (filter as ChangesFilter),
  };
}

function shape(row: ChangeRow, includeDocs: boolean): ChangesRow {
  const out: ChangesRow = { id: row.id, seq: row.seq, doc: includeDocs ? (row.doc ?? null) : null, changes: row.changes };
  if (row.deleted) out.deleted = true;
  return out;
}

function readDocIds(body: unknown): string[] {
  const ids = isPlainObject(body) ? body.doc_ids : undefined;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
    throw DataErrors.couchBadRequest('`doc_ids` filter parameter is not a list of doc ids.');
  }
  return ids;
}

/** The filters done here rather than by the store: a predicate on each change. */
function rowPredicate(filter: '_selector' | '_design', body: unknown): (row: ChangeRow) => boolean {
  if (filter === '_design') return (row) => row.id.startsWith(DESIGN_PREFIX);
  const selector = isPlainObject(body) ? body.selector : undefined;
  if (selector === undefined) throw DataErrors.couchBadRequest('Selector must be specified in POST payload');
  const matches = compileSelector(selector);
  return (row) => row.doc !== undefined && matches(row.doc);
}

/**
 * GET/POST /data/:doctype/_changes. `_doc_ids` goes to the store; `_selector` and `_design` are applied here on the
 * whole feed since `since` (the store never gets `filter=_selector`, which some servers crash on), then the limit
 * is applied to what matched, as CouchDB does, with last_seq and pending following the rows kept.
 */
export class Changes {
  constructor(private readonly store: DocumentStore) {}

  async feed(inst: InstanceRef, access: Access, doctype: string, q: ChangesQuery, body: unknown): Promise<ChangesAnswer> {
    assertReadable(doctype);
    await access.allowWholeType('GET', doctype);
    const opts: ChangesOptions = { since: q.since, descending: q.descending, include_docs: q.includeDocs };
    if (q.filter === '_selector' || q.filter === '_design') return this.#filtered(inst, doctype, q, opts, rowPredicate(q.filter, body));
    if (q.filter === '_doc_ids') opts.doc_ids = readDocIds(body);
    if (q.limit > 0) opts.limit = q.limit;
    const res = await this.store.changes(inst, doctype, opts);
    return { results: res.results.map((row) => shape(row, q.includeDocs)), last_seq: res.last_seq, pending: res.pending };
  }

  async #filtered(inst: InstanceRef, doctype: string, q: ChangesQuery, opts: ChangesOptions, keep: (row: ChangeRow) => boolean): Promise<ChangesAnswer> {
    const res = await this.store.changes(inst, doctype, { ...opts, include_docs: true });
    const matching = res.results.filter(keep);
    const kept = q.limit > 0 ? matching.slice(0, q.limit) : matching;
    const cut = kept.length < matching.length;
    return {
      results: kept.map((row) => shape(row, q.includeDocs)),
      last_seq: cut ? (kept[kept.length - 1] as ChangeRow).seq : res.last_seq,
      pending: matching.length - kept.length,
    };
  }
}
