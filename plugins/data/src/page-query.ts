export { readPageQuery, type PageQuery } from '@cozy-ts/kernel';

/** The next page's query string, keys sorted as Go's url.Values.Encode writes them. */
export function nextPageQuery(limit: number, next: { cursor: [unknown, string] } | { skip: number }): string {
  const params = new URLSearchParams();
  if ('cursor' in next) params.set('page[cursor]', JSON.stringify(next.cursor));
  params.set('page[limit]', String(limit));
  if ('skip' in next) params.set('page[skip]', String(next.skip));
  return params.toString();
}
