import { StoreErrors, isValidDoctypeName, toResource, type Doc, type DocumentStore, type InstanceRef, type RequestVerb, type ViewQueryOptions } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { DESIGN_PREFIX } from './design-ids.ts';
import { isPlainObject } from './doc-body.ts';
import { nextPageQuery, readPageQuery } from './page-query.ts';
import { param, type Query } from './query-params.ts';
import { isReference, readFileIds, type ReferencesPage } from './references.ts';
import { FILES_DOCTYPE, NotSynchronizedView } from './references-view.ts';
import { isNotFound } from './store-failures.ts';

/** cozy's defaultRefsPerPage / maxRefsPerPage. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

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
    const page = readPageQuery(query, DEFAULT_PAGE, MAX_PAGE);
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
    const dirIds = readFileIds(body);
    await this.#allow(access, 'PUT', 'PATCH', doctype, id);
    const device = { type: doctype, id };
    await this.#rewrite(inst, dirIds, (refs) => (refs.some((r) => isReference(r, device)) ? refs : [...refs, device]));
  }

  async remove(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<void> {
    const dirIds = readFileIds(body);
    await this.#allow(access, 'DELETE', 'PATCH', doctype, id);
    const device = { type: doctype, id };
    await this.#rewrite(inst, dirIds, (refs) => {
      const kept = refs.filter((r) => !isReference(r, device));
      return kept.length === refs.length ? refs : kept;
    });
  }

  /** Applies `change` to each directory's list and writes the directories it changed, in one bulk. */
  async #rewrite(inst: InstanceRef, dirIds: string[], change: (refs: unknown[]) => unknown[]): Promise<void> {
    const dirs = await this.#directories(inst, dirIds);
    const now = new Date().toISOString();
    const changed: Doc[] = [];
    for (const dir of dirs) {
      const before = Array.isArray(dir.not_synchronized_on) ? dir.not_synchronized_on : [];
      const after = change(before);
      if (after === before) continue;
      const meta = isPlainObject(dir.cozyMetadata) ? { cozyMetadata: { ...dir.cozyMetadata, updatedAt: now } } : {};
      changed.push({ ...dir, not_synchronized_on: after, ...meta });
    }
    if (changed.length === 0) return;
    const results = await this.store.bulkDocs(inst, FILES_DOCTYPE, changed);
    if (results.some((r) => r.error)) throw StoreErrors.conflict();
  }

  /** Every id must be a directory: a missing one is a 404, a file a 400, before anything is written. */
  async #directories(inst: InstanceRef, ids: string[]): Promise<Doc[]> {
    let rows;
    try {
      rows = (await this.store.allDocs(inst, FILES_DOCTYPE, { keys: ids, include_docs: true })).rows;
    } catch (err) {
      if (isNotFound(err)) throw DataErrors.fileNotFound(ids[0] as string);
      throw err;
    }
    const docs = rows.map((row) => {
      if (!row.doc || row.doc._id.startsWith(DESIGN_PREFIX)) throw DataErrors.fileNotFound(row.key);
      return row.doc;
    });
    if (docs.some((doc) => doc.type !== 'directory')) throw DataErrors.badRequest('Cannot add not_synchronized_on on files');
    return docs;
  }
}
