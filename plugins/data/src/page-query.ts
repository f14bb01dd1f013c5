import { DataErrors } from './data-errors.ts';
import { param, type Query } from './query-params.ts';

/**
 * cozy-stack's JSON:API paging (pkg/jsonapi ExtractPaginationCursor): `page[limit]`, then `page[cursor]` (JSON
 * `[nextKey, nextDocId]`) or `page[skip]`. The kernel has the same reader but does not export it to plugins.
 */
export interface PageQuery {
  limit: number;
  /** Where the page starts: the key and id of its first row. */
  cursor?: { key: unknown; docId: string };
  skip?: number;
}

export function readPageQuery(query: Query, defaultLimit: number, maxLimit: number): PageQuery {
  const limitText = param(query, 'page[limit]');
  let limit = defaultLimit;
  if (limitText !== undefined && limitText !== '') {
    if (!/^-?\d{1,9}$/.test(limitText)) throw DataErrors.badRequest('page limit is not a number');
    // cozy lists everything for 0 or less; a page is at least one row here.
    limit = Math.min(Math.max(Number(limitText), 1), maxLimit);
  }
  const cursorText = param(query, 'page[cursor]');
  if (cursorText !== undefined && cursorText !== '') {
    let parts: unknown;
    try {
      parts = JSON.parse(cursorText);
    } catch {
      throw DataErrors.badRequest(`bad json cursor ${cursorText}`);
    }
    if (!Array.isArray(parts) || parts.length !== 2) throw DataErrors.badRequest(`bad cursor length ${cursorText}`);
    if (typeof parts[1] !== 'string') throw DataErrors.badRequest(`bad cursor id ${cursorText}`);
    return { limit, cursor: { key: parts[0], docId: parts[1] } };
  }
  const skipText = param(query, 'page[skip]');
  if (skipText !== undefined && skipText !== '') {
    if (!/^\d{1,9}$/.test(skipText)) throw DataErrors.badRequest('page skip is not a number');
    return { limit, skip: Number(skipText) };
  }
  return { limit };
}

/** The next page's query string, keys sorted as Go's url.Values.Encode writes them. */
export function nextPageQuery(limit: number, next: { cursor: [unknown, string] } | { skip: number }): string {
  const params = new URLSearchParams();
  if ('cursor' in next) params.set('page[cursor]', JSON.stringify(next.cursor));
  params.set('page[limit]', String(limit));
  if ('skip' in next) params.set('page[skip]', String(next.skip));
  return params.toString();
}
