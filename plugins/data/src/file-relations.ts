import { StoreErrors, toResource, type Doc, type DocumentStore, type InstanceRef, type JsonApiResource, type ViewRow } from '@cozy-ts/kernel';
import { DataErrors } from './data-errors.ts';
import { DESIGN_PREFIX } from './design-ids.ts';
import { isPlainObject } from './doc-body.ts';
import { nextPageQuery, type PageQuery } from './page-query.ts';
import { FILES_DOCTYPE } from './references-view.ts';
import { isNotFound } from './store-failures.ts';

/**
 * What the relationships /data keeps on io.cozy.files documents share (`referenced_by` for references,
 * `not_synchronized_on` for devices): a list of {type, id} on each file, pages of the files holding one, and
 * bulk rewrites of those lists.
 */

/** cozy's defaultRefsPerPage / maxRefsPerPage. */
export const DEFAULT_RELATION_PAGE = 100;
export const MAX_RELATION_PAGE = 1000;

export interface Reference {
  type: string;
  id: string;
}

export interface ReferencesPage {
  data: Array<{ type: typeof FILES_DOCTYPE; id: string }>;
  meta: { count: number };
  /** The query string of the next page, if any. */
  next?: string;
  included?: JsonApiResource[];
}

/** The file ids of a JSON:API relationship body: `{"data": [{"type": "io.cozy.files", "id": ...}]}` (or one object). */
export function readFileIds(body: unknown): string[] {
  const data = isPlainObject(body) ? body.data : undefined;
  const list = Array.isArray(data) ? data : isPlainObject(data) ? [data] : undefined;
  if (!list || !list.every((ref) => isPlainObject(ref) && typeof ref.id === 'string' && ref.id !== '')) {
    throw DataErrors.badRequest('The body must be a JSON:API list of resource identifiers: {"data": [{"type": "io.cozy.files", "id": "..."}]}');
  }
  return [...new Set(list.map((ref) => (ref as { id: string }).id))];
}

export function isReference(value: unknown, ref: Reference): boolean {
  return isPlainObject(value) && value.type === ref.type && value.id === ref.id;
}

/** A list change adding `ref` (the same list when it is there already, so nothing is written). */
export function withReference(ref: Reference): (refs: unknown[]) => unknown[] {
  return (refs) => (refs.some((r) => isReference(r, ref)) ? refs : [...refs, ref]);
}

/** A list change removing `ref` (the same list when it is not there). */
export function withoutReference(ref: Reference): (refs: unknown[]) => unknown[] {
  return (refs) => {
    const kept = refs.filter((r) => !isReference(r, ref));
    return kept.length === refs.length ? refs : kept;
  };
}

/**
 * One page of a view over the relation (queried with `limit + 1` rows, so the extra row says there is a next
 * page), with the total from the view's reduce and, when asked, the files themselves.
 */
export function relationPage(rows: ViewRow[], page: PageQuery, countRows: ViewRow[], includeFiles: boolean): ReferencesPage {
  const shown = rows.slice(0, page.limit);
  const after = rows[page.limit];
  const answer: ReferencesPage = {
    data: shown.map((row) => ({ type: FILES_DOCTYPE, id: String(row.id) })),
    meta: { count: typeof countRows[0]?.value === 'number' ? countRows[0].value : 0 },
  };
  if (after) answer.next = nextPageQuery(page.limit, page.skip !== undefined ? { skip: page.skip + page.limit } : { cursor: [after.key, String(after.id)] });
  if (includeFiles) answer.included = shown.flatMap((row) => (row.doc ? [toResource(FILES_DOCTYPE, row.doc, { self: `/files/${row.doc._id}` })] : []));
  return answer;
}

/** The io.cozy.files documents of `ids`, all of them or a 404 naming the first missing one. */
export async function readFileDocs(store: DocumentStore, inst: InstanceRef, ids: string[]): Promise<Doc[]> {
  let rows;
  try {
    rows = (await store.allDocs(inst, FILES_DOCTYPE, { keys: ids, include_docs: true })).rows;
  } catch (err) {
    if (isNotFound(err)) throw DataErrors.fileNotFound(ids[0] as string);
    throw err;
  }
  return rows.map((row) => {
    if (!row.doc || row.doc._id.startsWith(DESIGN_PREFIX)) throw DataErrors.fileNotFound(row.key);
    return row.doc;
  });
}

/**
 * Applies `change` to the `field` list of each file and writes the files it changed, in one bulk through
 * DocumentStore so each emits its event; a concurrent write makes it a 409.
 */
export async function rewriteRelation(
  store: DocumentStore, inst: InstanceRef, files: Doc[], field: 'referenced_by' | 'not_synchronized_on', change: (refs: unknown[]) => unknown[],
): Promise<void> {
  const now = new Date().toISOString();
  const changed: Doc[] = [];
  for (const file of files) {
    const before = Array.isArray(file[field]) ? (file[field] as unknown[]) : [];
    const after = change(before);
    if (after === before) continue;
    const meta = isPlainObject(file.cozyMetadata) ? { cozyMetadata: { ...file.cozyMetadata, updatedAt: now } } : {};
    changed.push({ ...file, [field]: after, ...meta });
  }
  if (changed.length === 0) return;
  const results = await store.bulkDocs(inst, FILES_DOCTYPE, changed);
  if (results.some((r) => r.error)) throw StoreErrors.conflict();
}
