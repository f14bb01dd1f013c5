import type { Doc, DocumentStore, InstanceRef, ViewQueryOptions, ViewRow } from '@cozy-ts/kernel';
import { DESIGN_PREFIX } from './design-ids.ts';
import { isNotFound } from './store-failures.ts';

export const FILES_DOCTYPE = 'io.cozy.files';

/** This plugin's design doc on io.cozy.files (protected like the stack's own: see stack-design-docs.ts). */
export const REFERENCES_DDOC = 'cozy-ts-references';
/**
 * cozy's referenced-by and referenced-by-sorted-by-datetime views, with the file id as the last key member: the
 * store port has no startkey_docid, so a page cursor must be a key that is unique on its own.
 */
const VIEWS = {
  'by-id': {
    map:
      'function (doc) { if (Array.isArray(doc.referenced_by)) { for (var i = 0; i < doc.referenced_by.length; i++) { ' +
      'var ref = doc.referenced_by[i]; if (ref && typeof ref.type === "string" && typeof ref.id === "string") { ' +
      'emit([ref.type, ref.id, doc._id], null); } } } }',
    reduce: '_count',
  },
  'by-datetime': {
    map:
      'function (doc) { if (Array.isArray(doc.referenced_by)) { var dt = (doc.metadata && doc.metadata.datetime) || ""; ' +
      'for (var i = 0; i < doc.referenced_by.length; i++) { var ref = doc.referenced_by[i]; ' +
      'if (ref && typeof ref.type === "string" && typeof ref.id === "string") { emit([ref.type, ref.id, dt, doc._id], null); } } } }',
    reduce: '_count',
  },
} as const;
export type ReferenceView = keyof typeof VIEWS;

/** The views of io.cozy.files that list files by the documents they reference, written on first use. */
export class ReferencesView {
  constructor(private readonly store: DocumentStore) {}

  /** Queries a view, writing the design document first when the database, the document or the view is missing. */
  async query(inst: InstanceRef, view: ReferenceView, opts: ViewQueryOptions): Promise<ViewRow[]> {
    const run = async () => (await this.store.queryView(inst, FILES_DOCTYPE, REFERENCES_DDOC, view, opts)).rows;
    try {
      return await run();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.#ensureDesignDoc(inst);
      return run();
    }
  }

  /** Through the adapter: a view definition is not data, and writing it must not look like a file change. */
  async #ensureDesignDoc(inst: InstanceRef): Promise<void> {
    const db = this.store.db(inst, FILES_DOCTYPE);
    const id = DESIGN_PREFIX + REFERENCES_DDOC;
    let current: Doc | undefined;
    try {
      current = await this.store.adapter.get(db, id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (current && JSON.stringify(current.views) === JSON.stringify(VIEWS)) return;
    try {
      await this.store.adapter.put(db, { _id: id, ...(current?._rev ? { _rev: current._rev } : {}), language: 'javascript', views: VIEWS });
    } catch (err) {
      // Another request wrote it meanwhile.
      if ((err as { status?: number }).status !== 409) throw err;
    }
  }
}
