import type { DocumentStore, InstanceRef, RequestVerb, ViewQueryOptions } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { assertReadable } from './doctype-access.ts';
import {
  DEFAULT_RELATION_PAGE, MAX_RELATION_PAGE, readFileDocs, readFileIds, relationPage, rewriteRelation, withoutReference, withReference,
  type ReferencesPage,
} from './file-relations.ts';
import { readPageQuery } from './page-query.ts';
import { param, type Query } from './query-params.ts';
import { FILES_DOCTYPE, ReferencesView, type ReferenceView } from './references-view.ts';

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
    const page = readPageQuery(query, DEFAULT_RELATION_PAGE, MAX_RELATION_PAGE);
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
    return relationPage(rows, page, count, includeFiles);
  }

  async add(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const fileIds = readFileIds(body);
    await this.#allow(access, 'PUT', 'PATCH', doctype, id);
    const files = await readFileDocs(this.store, inst, fileIds);
    await rewriteRelation(this.store, inst, files, 'referenced_by', withReference({ type: doctype, id }));
  }

  async remove(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const fileIds = readFileIds(body);
    await this.#allow(access, 'DELETE', 'PATCH', doctype, id);
    const files = await readFileDocs(this.store, inst, fileIds);
    await rewriteRelation(this.store, inst, files, 'referenced_by', withoutReference({ type: doctype, id }));
  }
}
