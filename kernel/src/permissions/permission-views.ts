import type { InstanceRef } from '../instances/instance.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { Doc, ViewQueryOptions, ViewRow } from '../store/types.ts';
import { PERMISSIONS_DOCTYPE } from './permission-record.ts';

const DESIGN = 'permissions';

/**
 * Views of each instance's io.cozy.permissions database (cozy-stack's byToken, by-short-code,
 * permissions-by-doctype and byDoc). Plain map functions, so PouchDB and CouchDB run them alike; Mango
 * could not index the values of the `permissions` object, whose keys are free rule names.
 */
const VIEWS = {
  'by-token': {
    map: 'function (doc) { if (doc.codes) { for (var k in doc.codes) { emit(doc.codes[k], k); } } }',
  },
  'by-short-code': {
    map: 'function (doc) { if (doc.shortcodes) { for (var k in doc.shortcodes) { emit(doc.shortcodes[k], k); } } }',
  },
  // One row per (rule doctype, document), keyed by the id too so that pages continue from an id without
  // CouchDB's startkey_docid, which the store port does not carry. cozy emits a row per rule instead, and
  // lists a document twice when two of its rules name the doctype.
  'by-doctype': {
    map:
      'function (doc) { if (doc.type && doc.permissions) { var seen = {}; for (var k in doc.permissions) { ' +
      'var rule = doc.permissions[k]; if (rule && typeof rule.type === "string" && !seen[rule.type]) { ' +
      'seen[rule.type] = true; emit([rule.type, doc.type, doc._id], null); } } } }',
  },
  'share-by-doc': {
    map:
      'function (doc) { if (doc.type === "share" && doc.permissions) { for (var k in doc.permissions) { ' +
      'var rule = doc.permissions[k]; if (!rule || !rule.values) { continue; } ' +
      'for (var i = 0; i < rule.values.length; i++) { emit([rule.type, rule.selector || "_id", rule.values[i]], ' +
      '{ verbs: rule.verbs || [], expires_at: doc.expires_at || null }); } } } }',
  },
} as const;

export type PermissionView = keyof typeof VIEWS;

const DESIGN_DOC = { _id: `_design/${DESIGN}`, views: VIEWS };

function status(err: unknown): number | undefined {
  return (err as { status?: number }).status;
}

/** Queries the views, writing or upgrading the design document when the database or a view is missing. */
export class PermissionViews {
  constructor(private readonly store: DocumentStore) {}

  async query(inst: InstanceRef, view: PermissionView, opts: ViewQueryOptions): Promise<ViewRow[]> {
    const run = async () => (await this.store.queryView(inst, PERMISSIONS_DOCTYPE, DESIGN, view, { reduce: false, ...opts })).rows;
    try {
      return await run();
    } catch (err) {
      if (status(err) !== 404) throw err;
      await this.ensureDesignDoc(inst);
      return run();
    }
  }

  /**
   * Writes the design document, or rewrites one an older version wrote without today's views (a new view
   * only shows up as a 404 on its first query). A 409 means another request wrote it meanwhile.
   */
  async ensureDesignDoc(inst: InstanceRef): Promise<void> {
    let current: Doc | null = null;
    try {
      current = await this.store.get(inst, PERMISSIONS_DOCTYPE, DESIGN_DOC._id);
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    if (current && JSON.stringify(current.views) === JSON.stringify(VIEWS)) return;
    const doc = current?._rev ? { ...DESIGN_DOC, _rev: current._rev } : DESIGN_DOC;
    await this.store.put(inst, PERMISSIONS_DOCTYPE, doc).catch((err: unknown) => {
      if (status(err) !== 409) throw err;
    });
  }
}
