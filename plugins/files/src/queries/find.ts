import { StoreErrors, isCozyError, type DocumentStore, type FindRequest, type FindResult, type InstanceRef, type SortSpec } from '@cozy-ts/kernel';
import { QueryErrors } from './query-errors.ts';
import { atoi, param, type Query } from './query-params.ts';

const FILES_DOCTYPE = 'io.cozy.files';
/** consts.MaxItemsPerPageForMango: a larger or missing limit becomes 100. */
export const MAX_MANGO_LIMIT = 1000;
export const DEFAULT_MANGO_LIMIT = 100;
/** What cozy-stack answers as `meta.count` when a page is full: it does not know the total. */
const UNKNOWN_COUNT = 2 ** 31 - 2;
/** Fields every JSON:API rendering of an entry needs, added to a `fields` query (web/files FindFilesMango). */
const RENDER_FIELDS = ['_id', '_rev', 'type', 'class', 'size', 'trashed'];
/** CouchDB's warning when it scanned every document; cozy-stack turns it into `no_index`. */
const FULL_SCAN_WARNING = 'matching index found';

export interface FilesFindQuery {
  request: FindRequest & { limit: number };
  /** Whether files get their `path` (always, unless `fields` leaves `path` out). */
  includePath: boolean;
  skip: number;
}

export interface FilesFindAnswer {
  docs: FindResult['docs'];
  /** The `page[cursor]` of the next page; absent on the last one. */
  next?: string;
  count: number;
  warning?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSortSpec(value: unknown): value is SortSpec {
  return Array.isArray(value) && value.every((s) => typeof s === 'string' || (isObject(s) && Object.keys(s).length === 1 && Object.values(s).every((d) => d === 'asc' || d === 'desc')));
}

/**
 * The body of POST /files/_find and its page parameters, read as cozy-stack does: `page[limit]`, `page[skip]` and
 * `page[cursor]` (or the old `cursor`) override the body; a limit above 1000 or missing is 100.
 */
export function readFindQuery(body: unknown, query: Query): FilesFindQuery {
  if (!isObject(body)) throw QueryErrors.badRequest('The body must be a JSON object with a selector');
  if (!isObject(body.selector)) throw QueryErrors.badRequest('Missing required key: selector');
  let limit = typeof body.limit === 'number' && body.limit <= MAX_MANGO_LIMIT ? body.limit : DEFAULT_MANGO_LIMIT;
  const pageLimit = param(query, 'page[limit]');
  if (pageLimit !== undefined && atoi(pageLimit) !== undefined) limit = Math.min(atoi(pageLimit) as number, MAX_MANGO_LIMIT);
  if (!Number.isInteger(limit) || limit < 0) throw QueryErrors.badRequest('limit must be a non-negative integer');
  const request: FindRequest & { limit: number } = { selector: body.selector, limit };

  let includePath = true;
  if (body.fields !== undefined) {
    if (!Array.isArray(body.fields) || !body.fields.every((f) => typeof f === 'string')) throw QueryErrors.badRequest('fields must be an array of strings');
    const asked = body.fields as string[];
    // `path` is not stored for files: the stack computes it, from `dir_id`.
    includePath = asked.includes('path');
    request.fields = [...new Set([...RENDER_FIELDS, ...(includePath ? ['dir_id', 'name'] : []), ...asked])];
  }
  if (body.sort !== undefined) {
    if (!isSortSpec(body.sort)) throw QueryErrors.badRequest('sort must be an array of field names or {"field": "asc"|"desc"}');
    request.sort = body.sort;
  }
  let skip = 0;
  if (body.skip !== undefined) {
    if (!Number.isInteger(body.skip) || (body.skip as number) < 0) throw QueryErrors.badRequest('skip must be a non-negative integer');
    skip = body.skip as number;
  }
  const pageSkip = param(query, 'page[skip]');
  if (pageSkip !== undefined && atoi(pageSkip) !== undefined && (atoi(pageSkip) as number) >= 0) skip = atoi(pageSkip) as number;
  if (skip > 0) request.skip = skip;
  const bookmark = param(query, 'page[cursor]') || param(query, 'cursor') || (typeof body.bookmark === 'string' ? body.bookmark : undefined);
  if (bookmark) request.bookmark = bookmark;
  if (body.use_index !== undefined) {
    const u = body.use_index;
    const ok = typeof u === 'string' || (Array.isArray(u) && (u.length === 1 || u.length === 2) && u.every((v) => typeof v === 'string'));
    if (!ok) throw QueryErrors.badRequest('use_index must be a design document name, or [ddoc, index name]');
    request.use_index = u as FindRequest['use_index'];
  }
  return { request, includePath, skip };
}

function isNoIndex(err: unknown): boolean {
  return isCozyError(err) && err.code === StoreErrors.noIndex().code;
}

function isStoreFailure(err: unknown): boolean {
  return isCozyError(err) && err.code === StoreErrors.failed('').code;
}

/**
 * POST /files/_find: a Mango query on io.cozy.files. A query no index serves is refused with `no_index`
 * (cozy-client creates the index through /data and retries); an unusable `use_index` falls back to another index
 * with CouchDB's warning, whatever the store adapter.
 */
export async function findFiles(store: DocumentStore, inst: InstanceRef, q: FilesFindQuery): Promise<FilesFindAnswer> {
  let res: FindResult;
  let warning: string | undefined;
  try {
    res = await run(store, inst, q.request);
  } catch (err) {
    if (q.request.use_index === undefined || !isStoreFailure(err)) throw err;
    const { use_index: useIndex, ...rest } = q.request;
    res = await run(store, inst, rest);
    const ddoc = typeof useIndex === 'string' ? useIndex : (useIndex as string[])[0];
    warning = `${ddoc.startsWith('_design/') ? ddoc : `_design/${ddoc}`} was not used because it does not contain a valid index for this query.`;
  }
  if (res.warning?.includes(FULL_SCAN_WARNING)) throw QueryErrors.noIndex('no_index: no matching index found, create an index');
  const full = res.docs.length >= q.request.limit;
  // CouchDB's _find never returns design documents; an embedded store's full scan may.
  const docs = res.docs.filter((d) => !d._id.startsWith('_design/'));
  const answer: FilesFindAnswer = { docs, count: full ? UNKNOWN_COUNT : q.skip + docs.length };
  if (full && res.bookmark) answer.next = res.bookmark;
  const warnings = [warning, res.warning].filter(Boolean);
  if (warnings.length > 0) answer.warning = warnings.join('\n');
  return answer;
}

async function run(store: DocumentStore, inst: InstanceRef, req: FindRequest): Promise<FindResult> {
  try {
    return await store.find(inst, FILES_DOCTYPE, req);
  } catch (err) {
    if (isNoIndex(err)) throw QueryErrors.noIndex(`no_usable_index: ${(err as Error).message}`);
    throw err;
  }
}
