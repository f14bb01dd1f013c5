import { findFilter, serverSelector } from './find-filter.ts';
import { StoreErrors } from './store-errors.ts';
import type { Doc, FindRequest, FindResult } from './types.ts';

/**
 * Mango paging that holds whatever the server does.
 *
 * Two kinds of bookmark travel through the port:
 * - CouchDB 3's own (base64url, so never containing ':'), passed back to the server untouched;
 * - ours, `cozy-skip:` + base64url JSON `{"o": offset}`, for servers without bookmarks (PouchDB, pouchdb-server).
 *
 * Our skip path never hands `skip` or a tight `limit` to the server: PouchDB applies both to the index rows before it
 * drops the rows sitting on an exclusive `$gt`/`$lt` bound (pouchdb#6263), so short pages and shifted offsets are
 * both possible. It asks for a prefix of the whole answer and slices it, and re-asks for everything when the prefix
 * came back short, because only an unbounded answer proves there is nothing more.
 */

export const DEFAULT_FIND_LIMIT = 25;
const SKIP_CURSOR_PREFIX = 'cozy-skip:';
/** "No limit": CouchDB and pouchdb-find both default to 25 when it is absent. Fits a 32-bit iterator limit. */
export const UNBOUNDED_FIND_LIMIT = 2 ** 31 - 1;

type Cursor = { kind: 'start' } | { kind: 'skip'; offset: number } | { kind: 'server'; bookmark: string };

function encodeSkipCursor(offset: number): string {
  return SKIP_CURSOR_PREFIX + Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(bookmark: string | undefined): Cursor {
  if (bookmark === undefined || bookmark === '') return { kind: 'start' };
  if (!bookmark.startsWith(SKIP_CURSOR_PREFIX)) return { kind: 'server', bookmark };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bookmark.slice(SKIP_CURSOR_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw StoreErrors.badRequest('Invalid bookmark');
  }
  const offset = typeof parsed === 'object' && parsed !== null ? (parsed as { o?: unknown }).o : undefined;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw StoreErrors.badRequest('Invalid bookmark');
  }
  return { kind: 'skip', offset };
}

/** One `_find` call as the paginator asks for it. */
export interface FindCall {
  selector: Record<string, unknown>;
  fields?: string[];
  sort?: FindRequest['sort'];
  use_index?: FindRequest['use_index'];
  /** Absent: every match. */
  limit?: number;
  skip?: number;
  bookmark?: string;
}

export interface FindAnswer {
  docs: Doc[];
  /** Only from servers that issue their own bookmarks. */
  bookmark?: string;
  warning?: string;
}

export type RunFind = (call: FindCall) => Promise<FindAnswer>;

function baseCall(req: FindRequest): FindCall {
  const call: FindCall = { selector: req.selector };
  if (req.fields !== undefined) call.fields = req.fields;
  if (req.sort !== undefined) call.sort = req.sort;
  if (req.use_index !== undefined) call.use_index = req.use_index;
  return call;
}

function withWarning(result: FindResult, warning: string | undefined): FindResult {
  return warning === undefined ? result : { ...result, warning };
}

/**
 * The servers on this path are pouchdb-find's (PouchDB, pouchdb-server): their docs are checked against the selector
 * (see find-filter.ts). CouchDB 3 issues bookmarks and never comes here.
 */
function checkedRun(req: FindRequest, serverRun: RunFind): RunFind {
  const filter = findFilter(req.selector);
  if (filter === undefined) return serverRun;
  return async ({ fields: asked, ...call }) => {
    const fields = filter.fields(asked);
    const answer = await serverRun(fields === undefined ? call : { ...call, fields });
    return { ...answer, docs: filter.docs(answer.docs, asked) };
  };
}

/** `start` counts matches from the first one, so a cursor is just how many were already returned. */
async function pageBySkip(req: FindRequest, serverRun: RunFind, start: number, limit: number): Promise<FindResult> {
  const run = checkedRun(req, serverRun);
  const wanted = start + limit + 1;
  let answer = await run({ ...baseCall(req), limit: wanted });
  if (answer.docs.length < wanted) answer = await run(baseCall(req));
  const docs = answer.docs.slice(start, start + limit);
  const result = { docs, bookmark: encodeSkipCursor(start + docs.length), next: answer.docs.length > start + limit };
  return withWarning(result, answer.warning);
}

/**
 * CouchDB 3 path. Short pages are topped up from the last bookmark (an empty answer is the only proof of the end),
 * and a full page is followed by a one-doc probe so `next` is exact rather than CouchDB's "the page was full".
 * Undefined when the server issued no bookmark: it does not do bookmarks.
 */
async function pageByServerBookmark(
  req: FindRequest,
  run: RunFind,
  bookmark: string | undefined,
  limit: number,
  skip: number,
): Promise<FindResult | undefined> {
  const first = await run({ ...baseCall(req), limit, skip, ...(bookmark === undefined ? {} : { bookmark }) });
  if (typeof first.bookmark !== 'string' || first.bookmark === '') return undefined;
  const docs = [...first.docs];
  let last = first.bookmark;
  let lastCount = first.docs.length;
  while (docs.length < limit && lastCount > 0) {
    const more = await run({ ...baseCall(req), limit: limit - docs.length, bookmark: last });
    lastCount = more.docs.length;
    docs.push(...more.docs);
    if (lastCount > 0 && typeof more.bookmark === 'string') last = more.bookmark;
  }
  if (docs.length < limit) return withWarning({ docs, bookmark: last, next: false }, first.warning);
  const probe = await run({ ...baseCall(req), fields: ['_id'], limit: 1, bookmark: last });
  return withWarning({ docs, bookmark: last, next: probe.docs.length > 0 }, first.warning);
}

/**
 * Turns `_find` calls into port pages. One per adapter: it remembers whether the server issues bookmarks, learnt from
 * its first answer, so a server without them costs one wasted call per adapter, not per query.
 */
export class FindPaginator {
  #serverBookmarks: boolean | undefined;

  constructor(serverBookmarks: 'never' | 'detect') {
    this.#serverBookmarks = serverBookmarks === 'never' ? false : undefined;
  }

  async find(req: FindRequest, serverRun: RunFind): Promise<FindResult> {
    // Equal for CouchDB 3, and the only form of `$gt: null` pouchdb-find servers answer on every index (find-filter.ts).
    const selector = serverSelector(req.selector);
    const run: RunFind = (call) => serverRun({ ...call, selector });
    const cursor = decodeCursor(req.bookmark);
    const limit = req.limit ?? DEFAULT_FIND_LIMIT;
    const skip = req.skip ?? 0;
    if (cursor.kind === 'skip') return pageBySkip(req, run, cursor.offset + skip, limit);
    if (cursor.kind === 'server') return this.#continueServerBookmark(req, run, cursor.bookmark, limit, skip);
    if (this.#serverBookmarks !== false) {
      const page = await pageByServerBookmark(req, run, undefined, limit, skip);
      this.#serverBookmarks = page !== undefined;
      if (page !== undefined) return page;
    }
    return pageBySkip(req, run, skip, limit);
  }

  async #continueServerBookmark(
    req: FindRequest,
    run: RunFind,
    bookmark: string,
    limit: number,
    skip: number,
  ): Promise<FindResult> {
    // A bookmark we did not issue, on a server that issues none, cannot be honoured: say so rather than restart.
    if (this.#serverBookmarks === false) throw StoreErrors.badRequest('Invalid bookmark');
    const page = await pageByServerBookmark(req, run, bookmark, limit, skip);
    if (page === undefined) {
      this.#serverBookmarks = false;
      throw StoreErrors.badRequest('Invalid bookmark');
    }
    return page;
  }
}
