import { isValidDoctypeName, type Doc, type DocumentStore, type InstanceRef, type RequestVerb, type ViewQueryOptions } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import {
  DEFAULT_RELATION_PAGE, MAX_RELATION_PAGE, readFileDocs, readFileIds, relationPage, rewriteRelation, withoutReference, withReference,
  type ReferencesPage,
} from './file-relations.ts';
import { readPageQuery } from './page-query.ts';
import { param, type Query } from './query-params.ts';
import { FILES_DOCTYPE, NotSynchronizedView } from './references-view.ts';

/**
 * The directories a device (usually an io.cozy.oauth.clients document) does not synchronize, as cozy-stack's
 * web/files/notsynchronized.go serves them under /data: GET lists the directories whose `not_synchronized_on` holds
 * {type, id}; POST and DELETE add or remove that entry on several directories at once (a file among them: 400).
 * io.cozy.files is read-only through /data, but these routes are the stack writing them, through DocumentStore so
 * each changed directory emits its event.
 */
export class NotSynchronizing {
  readonly #view: NotSynchronizedView;

  constructor(private readonly store: DocumentStore) {
    this.#view = new NotSynchronizedView(store);
  }

  /**
   * cozy's AllowTypeAndID on the device document, or else `filesVerb` on the whole io.cozy.files doctype. No reserved
   * doctype check, as in cozy: the device is usually an io.cozy.oauth.clients document, unreadable through /data, and
   * nothing of it is read here.
   */
  async #allow(access: Access, verb: RequestVerb, filesVerb: RequestVerb, doctype: string, id: string): Promise<void> {
    if (!isValidDoctypeName(doctype, false)) throw DataErrors.invalidDoctype(doctype);
    if (await access.holds(verb, doctype, { _id: id })) return;
    if (await access.holds(filesVerb, FILES_DOCTYPE)) return;
    await access.allow(verb, doctype, { _id: id });
  }

  async list(inst: InstanceRef, access: Access, doctype: string, id: string, query: Query): Promise<ReferencesPage> {
    await this.#allow(access, 'GET', 'GET', doctype, id);
    const page = readPageQuery(query, DEFAULT_RELATION_PAGE, MAX_RELATION_PAGE);
    const includeFiles = param(query, 'include') === 'files';
    const first = [doctype, id];
    const last = [doctype, id, {}];
    const count = await this.#view.query(inst, 'by-device', { startkey: first, endkey: last, reduce: true });
    const opts: ViewQueryOptions = {
      startkey: page.cursor ? page.cursor.key : first,
      endkey: last,
      reduce: false,
      include_docs: includeFiles,
      limit: page.limit + 1,
    };
    if (page.skip !== undefined) opts.skip = page.skip;
    const rows = await this.#view.query(inst, 'by-device', opts);
    return relationPage(rows, page, count, includeFiles);
  }

  async add(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const dirIds = readFileIds(body);
    await this.#allow(access, 'PUT', 'PATCH', doctype, id);
    const dirs = await this.#directories(inst, dirIds);
    await rewriteRelation(this.store, inst, dirs, 'not_synchronized_on', withReference({ type: doctype, id }));
  }

  async remove(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const dirIds = readFileIds(body);
    await this.#allow(access, 'DELETE', 'PATCH', doctype, id);
    const dirs = await this.#directories(inst, dirIds);
    await rewriteRelation(this.store, inst, dirs, 'not_synchronized_on', withoutReference({ type: doctype, id }));
  }

  /** Every id must be a directory: a missing one is a 404, a file a 400, before anything is written. */
  async #directories(inst: InstanceRef, ids: string[]): Promise<Doc[]> {
    const docs = await readFileDocs(this.store, inst, ids);
    if (docs.some((doc) => doc.type !== 'directory')) throw DataErrors.badRequest('Cannot add not_synchronized_on on files');
    return docs;
  }
}
