import type { Doc, DocumentStore, FindRequest, FindResult, InstanceRef, SortSpec } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { asObject, isPlainObject } from './doc-body.ts';
import { assertReadable } from './doctype-access.ts';
import { compileSelector } from './mango-selector.ts';
import { isStoreFailure } from './store-failures.ts';

/** consts.MaxItemsPerPageForMango; a larger or missing limit becomes the default, it is not clamped. */
export const MAX_MANGO_LIMIT = 1000;
export const DEFAULT_MANGO_LIMIT = 100;

/** CouchDB's warning when it had to scan every document (cozy turns it into the `no_index` error). */
const FULL_SCAN_WARNING = 'matching index found';

export interface FindAnswer {
  docs: Doc[];
  limit: number;
  next: boolean;
  bookmark: string;
  warning?: string;
}

function isSortSpec(value: unknown): value is SortSpec {
  return (
    Array.isArray(value) &&
    value.every((s) => typeof s === 'string' || (isPlainObject(s) && Object.keys(s).length === 1 && Object.values(s).every((d) => d === 'asc' || d === 'desc')))
  );
}

function isUseIndex(value: unknown): value is FindRequest['use_index'] {
  if (typeof value === 'string') return true;
  return Array.isArray(value) && (value.length === 1 || value.length === 2) && value.every((v) => typeof v === 'string');
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

/** The body of a `_find`, checked member by member (the store would otherwise see whatever came in). */
export function readFindRequest(b: Record<string, unknown>): FindRequest & { limit: number } {
  if (b.selector === undefined) throw DataErrors.couchBadRequest('Missing required key: selector');
  compileSelector(b.selector);
  const limit = typeof b.limit === 'number' && b.limit <= MAX_MANGO_LIMIT ? b.limit : DEFAULT_MANGO_LIMIT;
  if (!isCount(limit)) throw DataErrors.couchBadRequest('limit must be a non-negative integer');
  const req: FindRequest & { limit: number } = { selector: b.selector as Record<string, unknown>, limit };
  if (b.fields !== undefined) {
    if (!Array.isArray(b.fields) || !b.fields.every((f) => typeof f === 'string')) throw DataErrors.couchBadRequest('fields must be an array of strings');
    req.fields = b.fields;
  }
  if (b.sort !== undefined) {
    if (!isSortSpec(b.sort)) throw DataErrors.couchBadRequest('sort must be an array of field names or {"field": "asc"|"desc"}');
    req.sort = b.sort;
  }
  if (b.skip !== undefined) {
    if (!isCount(b.skip)) throw DataErrors.couchBadRequest('skip must be a non-negative integer');
    req.skip = b.skip;
  }
  if (b.bookmark !== undefined && b.bookmark !== null && b.bookmark !== '') {
    if (typeof b.bookmark !== 'string') throw DataErrors.couchBadRequest('bookmark must be a string');
    req.bookmark = b.bookmark;
  }
  if (b.use_index !== undefined) {
    if (!isUseIndex(b.use_index)) throw DataErrors.couchBadRequest('use_index must be a design document name, or [ddoc, index name]');
    req.use_index = b.use_index;
  }
  return req;
}

/** CouchDB 3's warning when the index named by use_index could not serve the query (cozy-client matches it). */
function unusedIndexWarning(useIndex: FindRequest['use_index']): string {
  const [ddoc] = typeof useIndex === 'string' ? [useIndex] : (useIndex as string[]);
  const id = (ddoc as string).startsWith('_design/') ? ddoc : `_design/${ddoc}`;
  return `${id} was not used because it does not contain a valid index for this query.`;
}

/**
 * POST /data/:doctype/_find, as cozy's findDocuments: a limit above 1000 or missing is 100, `next` says whether
 * the page was full, and a query no index serves is refused with `no_index` (cozy-client creates the index it
 * needs on that text and retries).
 */
export class Finder {
  constructor(private readonly store: DocumentStore) {}

  async find(inst: InstanceRef, access: Access, doctype: string, body: unknown): Promise<FindAnswer> {
    const b = asObject(body);
    assertReadable(doctype);
    await access.allowWholeType('GET', doctype);
    const req = readFindRequest(b);
    const res = await this.#run(inst, doctype, req);
    if (res.warning?.includes(FULL_SCAN_WARNING)) throw DataErrors.noIndex();
    const answer: FindAnswer = {
      docs: res.docs,
      limit: req.limit,
      next: res.docs.length >= req.limit,
      // CouchDB's "nil" bookmark of an empty first page, which cozy sends as "".
      bookmark: res.docs.length === 0 && req.bookmark === undefined ? '' : res.bookmark,
    };
    if (res.warning) answer.warning = res.warning;
    return answer;
  }

  /**
   * CouchDB falls back to another index (with a warning) when use_index names one that cannot serve the query;
   * PouchDB throws instead. The fallback is done here, so both adapters answer like CouchDB.
   */
  async #run(inst: InstanceRef, doctype: string, req: FindRequest): Promise<FindResult> {
    try {
      return await this.#find(inst, doctype, req);
    } catch (err) {
      if (req.use_index === undefined || !isStoreFailure(err, 'failed')) throw err;
      const { use_index: useIndex, ...rest } = req;
      const res = await this.#find(inst, doctype, rest);
      const warning = [unusedIndexWarning(useIndex), res.warning].filter(Boolean).join('\n');
      return { ...res, warning };
    }
  }

  async #find(inst: InstanceRef, doctype: string, req: FindRequest): Promise<FindResult> {
    try {
      return await this.store.find(inst, doctype, req);
    } catch (err) {
      // The store's no_usable_index (no index for the sort, or none for use_index on PouchDB) is, for cozy-client,
      // the same situation as CouchDB's full-scan warning: create the index and retry.
      if (isStoreFailure(err, 'noIndex')) throw DataErrors.noIndex();
      throw err;
    }
  }
}
