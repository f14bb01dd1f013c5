import type { AllDocsResult, Doc, DocumentStore, InstanceRef, WriteResult } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { readAllDocsQuery } from './all-docs.ts';
import { DESIGN_END, DESIGN_PREFIX } from './design-ids.ts';
import { DataErrors } from './data-errors.ts';
import { assertReadable } from './doctype-access.ts';
import type { Query } from './query-params.ts';
import { isStackDesignDoc } from './stack-design-docs.ts';

export type DesignWriteAnswer = { ok: true } & WriteResult;

/** `_design/x` or `_design/x?rev=2-abc` (CouchDB's COPY overwrites a destination only at its current rev). */
function readDestination(destination: string | undefined): { id: string; rev?: string } {
  if (!destination) throw DataErrors.missingParameter('You must set a Destination header');
  const [id = '', query = ''] = destination.split('?', 2);
  // Only to another design doc: with reading permission alone, a copy must not become a write of ordinary data.
  if (!id.startsWith(DESIGN_PREFIX) || id.length === DESIGN_PREFIX.length) {
    throw DataErrors.badRequest('The Destination must be a design document id (_design/...)');
  }
  const rev = new URLSearchParams(query).get('rev') ?? undefined;
  return rev ? { id, rev } : { id };
}

/**
 * Design documents through /data: read, list, delete and copy, all with reading permission on the whole doctype
 * as in cozy (indexes are how an app reads). They are written through the store adapter, not DocumentStore:
 * index definitions are not data, and cozy emits no realtime event for them either.
 */
export class DesignDocs {
  constructor(private readonly store: DocumentStore) {}

  async #allowed(access: Access, doctype: string): Promise<void> {
    assertReadable(doctype);
    await access.allowWholeType('GET', doctype);
  }

  async get(inst: InstanceRef, access: Access, doctype: string, ddoc: string): Promise<Doc> {
    await this.#allowed(access, doctype);
    return this.store.get(inst, doctype, DESIGN_PREFIX + ddoc);
  }

  /** `_design_docs` takes `_all_docs`'s parameters; total_rows counts every design doc (CouchDB 2.3+). */
  async list(inst: InstanceRef, access: Access, doctype: string, query: Query): Promise<AllDocsResult> {
    await this.#allowed(access, doctype);
    const { opts } = readAllDocsQuery(query);
    const range = { startkey: DESIGN_PREFIX, endkey: DESIGN_END, inclusive_end: false };
    const res = await this.store.allDocs(inst, doctype, opts.descending ? { ...opts, startkey: DESIGN_END, endkey: DESIGN_PREFIX, inclusive_end: true } : { ...opts, ...range });
    const paged = opts.limit !== undefined || opts.skip !== undefined;
    const total = paged ? (await this.store.allDocs(inst, doctype, range)).rows.length : res.rows.length;
    return { total_rows: total, offset: res.offset, rows: res.rows };
  }

  async delete(inst: InstanceRef, access: Access, doctype: string, ddoc: string, rev: string | undefined): Promise<DesignWriteAnswer> {
    await this.#allowed(access, doctype);
    if (!rev) throw DataErrors.missingParameter('You must pass a rev param');
    if (isStackDesignDoc(doctype, ddoc)) throw DataErrors.protectedDesignDoc();
    const res = await this.store.adapter.delete(this.store.db(inst, doctype), DESIGN_PREFIX + ddoc, rev);
    return { ok: true, ...res };
  }

  /** cozy-client copies an index to rename it (migrateIndex) before deleting the old one. */
  async copy(inst: InstanceRef, access: Access, doctype: string, ddoc: string, destination: string | undefined): Promise<DesignWriteAnswer> {
    const dest = readDestination(destination);
    await this.#allowed(access, doctype);
    const { _id: _source, _rev: _sourceRev, ...body } = await this.store.get(inst, doctype, DESIGN_PREFIX + ddoc);
    const res = await this.store.adapter.put(this.store.db(inst, doctype), { ...body, _id: dest.id, ...(dest.rev ? { _rev: dest.rev } : {}) });
    return { ok: true, ...res };
  }
}
