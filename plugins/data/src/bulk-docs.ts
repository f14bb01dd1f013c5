import type { Doc, DocumentStore, InstanceRef, NewDoc, RequestVerb } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { isPlainObject, toWritableDoc } from './doc-body.ts';
import { assertWritable } from './doctype-access.ts';
import { isStoreFailure } from './store-failures.ts';

/** One row of CouchDB's `_bulk_docs` answer. */
export type BulkRow = { ok: true; id: string; rev: string } | { id: string; error: string; reason?: string };

function verbFor(doc: NewDoc): RequestVerb {
  if (doc._deleted === true) return 'DELETE';
  return doc._rev === undefined ? 'POST' : 'PUT';
}

function readDocs(body: unknown): { docs: NewDoc[]; newEdits: boolean } {
  if (!isPlainObject(body) || !Array.isArray(body.docs) || !body.docs.every(isPlainObject)) {
    throw DataErrors.couchBadRequest('POST body must include `docs` parameter.');
  }
  return { docs: body.docs.map(toWritableDoc), newEdits: body.new_edits !== false };
}

/**
 * POST /data/:doctype/_bulk_docs through DocumentStore.bulkDocs, so every written document emits its own event.
 * cozy asks for the whole doctype with POST; each document is also checked with the verb its write amounts to,
 * against its old version too for updates and deletions (as PUT does), unless the caller holds that verb on
 * the whole doctype. One refused document refuses the whole request, before anything is written.
 */
export class BulkDocs {
  constructor(private readonly store: DocumentStore) {}

  async write(inst: InstanceRef, access: Access, doctype: string, body: unknown): Promise<BulkRow[]> {
    await access.allowWholeType('POST', doctype);
    assertWritable(doctype);
    const { docs, newEdits } = readDocs(body);
    // new_edits=false writes revisions as given (replication): the store port has no such write.
    if (!newEdits) throw DataErrors.notImplemented('_bulk_docs with new_edits=false');
    await this.#checkEach(inst, access, doctype, docs);
    const results = await this.store.bulkDocs(inst, doctype, docs);
    return results.map((r): BulkRow => (r.error || !r.rev ? { id: r.id, error: r.error ?? 'unknown_error', reason: r.reason } : { ok: true, id: r.id, rev: r.rev }));
  }

  async #checkEach(inst: InstanceRef, access: Access, doctype: string, docs: NewDoc[]): Promise<void> {
    const wholeType = new Map<RequestVerb, boolean>();
    const holdsWhole = async (verb: RequestVerb) => {
      if (!wholeType.has(verb)) wholeType.set(verb, await access.holds(verb, doctype));
      return wholeType.get(verb) as boolean;
    };
    const checked: Array<{ doc: NewDoc; verb: RequestVerb }> = [];
    for (const doc of docs) {
      const verb = verbFor(doc);
      if (!(await holdsWhole(verb))) checked.push({ doc, verb });
    }
    const rewritten = checked.flatMap((c) => (c.verb !== 'POST' && typeof c.doc._id === 'string' ? [c.doc._id] : []));
    const olds = await this.#oldVersions(inst, doctype, rewritten);
    for (const { doc, verb } of checked) {
      await access.allow(verb, doctype, doc);
      const old = typeof doc._id === 'string' ? olds.get(doc._id) : undefined;
      if (old) await access.allow(verb, doctype, old);
    }
  }

  async #oldVersions(inst: InstanceRef, doctype: string, ids: string[]): Promise<Map<string, Doc>> {
    const olds = new Map<string, Doc>();
    if (ids.length === 0) return olds;
    try {
      const res = await this.store.allDocs(inst, doctype, { keys: ids, include_docs: true });
      for (const row of res.rows) if (row.doc) olds.set(row.key, row.doc);
    } catch (err) {
      if (!isStoreFailure(err, 'dbNotFound')) throw err;
    }
    return olds;
  }
}
