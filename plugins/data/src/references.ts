import { StoreErrors, toResource, type Doc, type DocumentStore, type InstanceRef, type JsonApiResource, type RequestVerb, type ViewQueryOptions } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DESIGN_PREFIX } from './design-ids.ts';
import { DataErrors } from './data-errors.ts';
import { isPlainObject } from './doc-body.ts';
import { assertReadable } from './doctype-access.ts';
import { nextPageQuery, readPageQuery } from './page-query.ts';
import { param, type Query } from './query-params.ts';
import { isNotFound } from './store-failures.ts';
import { FILES_DOCTYPE, ReferencesView, type ReferenceView } from './references-view.ts';

/** cozy's defaultRefsPerPage / maxRefsPerPage. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

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

function viewFor(sort: string | undefined): { view: ReferenceView; descending: boolean } {
  switch (sort ?? '') {
    case '':
    case 'id':
    case '-id':
      return { view: 'by-id', descending: sort === '-id' };
    case 'datetime':
    case '-datetime':
      return { view: 'by-datetime', descending: sort === '-datetime' };
    default:
      throw DataErrors.badRequest('Invalid sort parameter');
  }
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

/**
 * The files a document references: GET lists io.cozy.files documents whose `referenced_by` holds {type, id}; POST
 * and DELETE add or remove that reference on the files. io.cozy.files is read-only through /data, but this route
 * is the stack writing them, through DocumentStore so each changed file emits its event.
 */
export class References {
  readonly #views: ReferencesView;

  constructor(private readonly store: DocumentStore) {
    this.#views = new ReferencesView(store);
  }

  /** cozy's AllowTypeAndID on the referencing document, or else `filesVerb` on every file. */
  async #allow(access: Access, verb: RequestVerb, filesVerb: RequestVerb, doctype: string, id: string): Promise<void> {
    assertReadable(doctype);
    if (await access.holds(verb, doctype, { _id: id })) return;
    if (await access.holds(filesVerb, FILES_DOCTYPE)) return;
    await access.allow(verb, doctype, { _id: id });
  }

  async list(inst: InstanceRef, access: Access, doctype: string, id: string, query: Query): Promise<ReferencesPage> {
    await this.#allow(access, 'GET', 'GET', doctype, id);
    const page = readPageQuery(query, DEFAULT_PAGE, MAX_PAGE);
    const { view, descending } = viewFor(param(query, 'sort'));
    const includeFiles = param(query, 'include') === 'files';
    const first = [doctype, id];
    const last = [doctype, id, {}];
    const count = await this.#views.query(inst, 'by-id', { startkey: first, endkey: last, reduce: true });
    const opts: ViewQueryOptions = {
      startkey: page.cursor ? page.cursor.key : descending ? last : first,
      endkey: descending ? first : last,
      descending,
      reduce: false,
      include_docs: includeFiles,
      limit: page.limit + 1,
    };
    if (page.skip !== undefined) opts.skip = page.skip;
    const rows = await this.#views.query(inst, view, opts);
    const shown = rows.slice(0, page.limit);
    const after = rows[page.limit];
    const answer: ReferencesPage = {
      data: shown.map((row) => ({ type: FILES_DOCTYPE, id: String(row.id) })),
      meta: { count: typeof count[0]?.value === 'number' ? count[0].value : 0 },
    };
    if (after) answer.next = nextPageQuery(page.limit, page.skip !== undefined ? { skip: page.skip + page.limit } : { cursor: [after.key, String(after.id)] });
    if (includeFiles) answer.included = shown.flatMap((row) => (row.doc ? [toResource(FILES_DOCTYPE, row.doc, { self: `/files/${row.doc._id}` })] : []));
    return answer;
  }

  async add(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const fileIds = readFileIds(body);
    await this.#allow(access, 'PUT', 'PATCH', doctype, id);
    const ref = { type: doctype, id };
    await this.#rewrite(inst, fileIds, (refs) => (refs.some((r) => isReference(r, ref)) ? refs : [...refs, ref]));
  }

  async remove(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const fileIds = readFileIds(body);
    await this.#allow(access, 'DELETE', 'PATCH', doctype, id);
    const ref = { type: doctype, id };
    await this.#rewrite(inst, fileIds, (refs) => {
      const kept = refs.filter((r) => !isReference(r, ref));
      return kept.length === refs.length ? refs : kept;
    });
  }

  /** Applies `change` to each file's references and writes the files it changed, in one bulk. */
  async #rewrite(inst: InstanceRef, fileIds: string[], change: (refs: unknown[]) => unknown[]): Promise<void> {
    const files = await this.#files(inst, fileIds);
    const now = new Date().toISOString();
    const changed: Doc[] = [];
    for (const file of files) {
      const before = Array.isArray(file.referenced_by) ? file.referenced_by : [];
      const after = change(before);
      if (after === before) continue;
      const meta = isPlainObject(file.cozyMetadata) ? { cozyMetadata: { ...file.cozyMetadata, updatedAt: now } } : {};
      changed.push({ ...file, referenced_by: after, ...meta });
    }
    if (changed.length === 0) return;
    const results = await this.store.bulkDocs(inst, FILES_DOCTYPE, changed);
    if (results.some((r) => r.error)) throw StoreErrors.conflict();
  }

  async #files(inst: InstanceRef, ids: string[]): Promise<Doc[]> {
    let rows;
    try {
      rows = (await this.store.allDocs(inst, FILES_DOCTYPE, { keys: ids, include_docs: true })).rows;
    } catch (err) {
      if (isNotFound(err)) throw DataErrors.fileNotFound(ids[0] as string);
      throw err;
    }
    return rows.map((row) => {
      if (!row.doc || row.doc._id.startsWith(DESIGN_PREFIX)) throw DataErrors.fileNotFound(row.key);
      return row.doc;
    });
  }
}
