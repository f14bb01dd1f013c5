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

type ViewDefinitions = Readonly<Record<string, { readonly map: string; readonly reduce: string }>>;

/** Views of this plugin's own on io.cozy.files, in one design document written on first use. */
export class FilesViews<View extends string> {
  constructor(
    private readonly store: DocumentStore,
    private readonly ddoc: string,
    private readonly views: ViewDefinitions & Record<View, unknown>,
  ) {}

  /** Queries a view, writing the design document first when the database, the document or the view is missing. */
  async query(inst: InstanceRef, view: View, opts: ViewQueryOptions): Promise<ViewRow[]> {
    const run = async () => (await this.store.queryView(inst, FILES_DOCTYPE, this.ddoc, view, opts)).rows;
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
    const id = DESIGN_PREFIX + this.ddoc;
    let current: Doc | undefined;
    try {
      current = await this.store.adapter.get(db, id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (current && JSON.stringify(current.views) === JSON.stringify(this.views)) return;
    try {
      await this.store.adapter.put(db, { _id: id, ...(current?._rev ? { _rev: current._rev } : {}), language: 'javascript', views: this.views });
    } catch (err) {
      // Another request wrote it meanwhile.
      if ((err as { status?: number }).status !== 409) throw err;
    }
  }
}

/** The views of io.cozy.files that list files by the documents they reference. */
export class ReferencesView extends FilesViews<ReferenceView> {
  constructor(store: DocumentStore) {
    super(store, REFERENCES_DDOC, VIEWS);
  }
}

/** This plugin's design doc for the directories not synchronized on a device (protected: see stack-design-docs.ts). */
export const NOT_SYNCHRONIZED_DDOC = 'cozy-ts-not-synchronized-on';
/**
 * cozy's not-synchronized-on view (directories only, one row per `not_synchronized_on` entry), with the directory id
 * as the last key member for the same reason as above.
 */
const NOT_SYNCHRONIZED_VIEWS = {
  'by-device': {
    map:
      'function (doc) { if (doc.type === "directory" && Array.isArray(doc.not_synchronized_on)) { ' +
      'for (var i = 0; i < doc.not_synchronized_on.length; i++) { var ref = doc.not_synchronized_on[i]; ' +
      'if (ref && typeof ref.type === "string" && typeof ref.id === "string") { emit([ref.type, ref.id, doc._id], null); } } } }',
    reduce: '_count',
  },
} as const;

export class NotSynchronizedView extends FilesViews<keyof typeof NOT_SYNCHRONIZED_VIEWS> {
  constructor(store: DocumentStore) {
    super(store, NOT_SYNCHRONIZED_DDOC, NOT_SYNCHRONIZED_VIEWS);
  }
}
