import type { Doc, DocumentStore, FindRequest, InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DESIGN_END, DESIGN_PREFIX } from './design-ids.ts';
import { assertReadable } from './doctype-access.ts';
import { DEFAULT_MANGO_LIMIT, MAX_MANGO_LIMIT } from './find.ts';
import { atoi, param, type Query } from './query-params.ts';

export interface NormalDocsAnswer {
  rows: Doc[];
  total_rows: number;
  bookmark: string;
}

/** cozy's reading of the parameters: anything malformed or out of range falls back to the default, never a 400. */
function readPage(query: Query): { limit: number; skip: number; bookmark?: string } {
  const limit = atoi(param(query, 'limit'));
  const skip = atoi(param(query, 'skip'));
  const bookmark = param(query, 'bookmark');
  return {
    limit: limit === undefined || limit < 0 || limit > MAX_MANGO_LIMIT ? DEFAULT_MANGO_LIMIT : limit,
    skip: skip === undefined || skip < 0 ? 0 : skip,
    bookmark: bookmark === '' ? undefined : bookmark,
  };
}

/** Documents minus design docs: what `_all_docs` counts, less the design docs in it. */
async function countNormalDocs(store: DocumentStore, inst: InstanceRef, doctype: string): Promise<number> {
  const all = await store.allDocs(inst, doctype, { limit: 0 });
  const design = await store.allDocs(inst, doctype, { startkey: DESIGN_PREFIX, endkey: DESIGN_END, inclusive_end: false });
  return all.total_rows - design.rows.length;
}

/**
 * GET /data/:doctype/_normal_docs (cozy's couchdb.NormalDocs): every document but the design docs, as a `_find`
 * on `_id` paged by bookmark (preferred) or skip, with the total counted only when the page does not give it.
 */
export async function normalDocs(store: DocumentStore, inst: InstanceRef, access: Access, doctype: string, query: Query): Promise<NormalDocsAnswer> {
  assertReadable(doctype);
  await access.allowWholeType('GET', doctype);
  const { limit, skip, bookmark } = readPage(query);
  const req: FindRequest = { selector: { _id: { $gte: null } }, limit, ...(bookmark === undefined ? { skip } : { bookmark }) };
  const res = await store.find(inst, doctype, req);
  const total = bookmark === undefined && res.docs.length < limit ? skip + res.docs.length : await countNormalDocs(store, inst, doctype);
  // CouchDB answers an empty page with the bookmark "nil", which cozy turns into "".
  return { rows: res.docs, total_rows: total, bookmark: res.docs.length === 0 ? '' : res.bookmark };
}
