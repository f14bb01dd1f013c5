import { defineError } from '../errors.ts';

/**
 * cozy-stack's cursor pagination (pkg/jsonapi ExtractPaginationCursor / PaginationCursorToParams):
 * `page[limit]`, then either `page[cursor]` — JSON `[nextKey, nextDocId]` — or `page[skip]`.
 */

const badPage = defineError('COZY_ERR_BAD_PAGE', 400, 'Bad pagination parameter');

export interface PageQuery {
  limit: number;
  /** The JSON cursor's parts, as a previous answer's `links.next` gave them. */
  cursor?: { key: unknown; docId: string };
  skip?: number;
}

function param(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

function readCursor(text: string): PageQuery['cursor'] {
  let parts: unknown;
  try {
    parts = JSON.parse(text);
  } catch {
    throw badPage(`bad json cursor ${text}`, { source: { parameter: 'page[cursor]' } });
  }
  if (!Array.isArray(parts) || parts.length !== 2) throw badPage(`bad cursor length ${text}`, { source: { parameter: 'page[cursor]' } });
  if (typeof parts[1] !== 'string') throw badPage(`bad cursor id ${text}`, { source: { parameter: 'page[cursor]' } });
  return { key: parts[0], docId: parts[1] };
}

/** Reads the page parameters; the limit is brought within 1..max (cozy would list everything for 0). */
export function readPageQuery(query: unknown, defaultLimit: number, maxLimit: number): PageQuery {
  const limitText = param(query, 'page[limit]');
  let limit = defaultLimit;
  if (limitText !== undefined) {
    if (!/^-?\d{1,9}$/.test(limitText)) throw badPage('page limit is not a number', { source: { parameter: 'page[limit]' } });
    limit = Math.min(Math.max(Number(limitText), 1), maxLimit);
  }
  const cursor = param(query, 'page[cursor]');
  if (cursor !== undefined) return { limit, cursor: readCursor(cursor) };
  const skip = param(query, 'page[skip]');
  if (skip === undefined) return { limit };
  if (!/^\d{1,9}$/.test(skip)) throw badPage('page skip is not a number', { source: { parameter: 'page[skip]' } });
  return { limit, skip: Number(skip) };
}

/** The query string of the next page's link, in the form readPageQuery reads back. */
export function nextPageParams(limit: number, next: { cursor: { key: unknown; docId: string } } | { skip: number }): string {
  const params = new URLSearchParams({ 'page[limit]': String(limit) });
  if ('skip' in next) params.set('page[skip]', String(next.skip));
  else params.set('page[cursor]', JSON.stringify([next.cursor.key, next.cursor.docId]));
  return params.toString();
}
