import type { DocEventBus, DocVerb } from '../events/doc-events.ts';
import type { InstanceRef } from '../instances/instance.ts';
import { databaseName } from './db-names.ts';
import { checkSelectorRegexes } from './regex-guard.ts';
import type {
  AllDocsOptions, AllDocsResult, BulkResult, ChangesOptions, ChangesResult, CreateIndexRequest, CreateIndexResult,
  DatabaseInfo, Doc, FindRequest, FindResult, GetOptions, NewDoc, StoreAdapter, ViewQueryOptions, ViewResult, WriteResult,
} from './types.ts';

export interface PutOptions {
  /** The document as it was before this write, when the caller has it; saves a read to fill the event. */
  old?: Doc | null;
}

/**
 * The store as plugins see it: every call takes the instance first, names the database the cozy-stack way,
 * and every write emits a doc event after it is durable.
 */
export class DocumentStore {
  constructor(
    readonly adapter: StoreAdapter,
    private readonly events: DocEventBus,
  ) {}

  db(inst: InstanceRef, doctype: string): string {
    return databaseName(inst.prefix, doctype);
  }

  get(inst: InstanceRef, doctype: string, id: string, opts?: GetOptions): Promise<Doc> {
    return this.adapter.get(this.db(inst, doctype), id, opts);
  }

  /** Creates or updates; 409 on a stale `_rev`. */
  async put(inst: InstanceRef, doctype: string, doc: NewDoc, opts: PutOptions = {}): Promise<WriteResult> {
    const db = this.db(inst, doctype);
    const old = opts.old !== undefined ? opts.old : doc._rev && doc._id ? await this.#tryGet(db, doc._id) : null;
    const res = await this.adapter.put(db, doc);
    this.#emit(inst, doctype, old ? 'UPDATED' : 'CREATED', { ...doc, _id: res.id, _rev: res.rev }, old ?? undefined);
    return res;
  }

  async delete(inst: InstanceRef, doctype: string, id: string, rev: string, opts: PutOptions = {}): Promise<WriteResult> {
    const db = this.db(inst, doctype);
    const old = opts.old !== undefined ? opts.old : await this.#tryGet(db, id);
    const res = await this.adapter.delete(db, id, rev);
    this.#emit(inst, doctype, 'DELETED', { _id: res.id, _rev: res.rev, _deleted: true }, old ?? undefined);
    return res;
  }

  async bulkDocs(inst: InstanceRef, doctype: string, docs: NewDoc[]): Promise<BulkResult[]> {
    const db = this.db(inst, doctype);
    const ids = docs.filter((d) => d._id && d._rev).map((d) => d._id as string);
    const olds = new Map<string, Doc>();
    if (ids.length > 0) {
      const prev = await this.adapter.allDocs(db, { keys: ids, include_docs: true });
      for (const row of prev.rows) if (row.doc) olds.set(row.key, row.doc);
    }
    const results = await this.adapter.bulkDocs(db, docs);
    results.forEach((r, i) => {
      if (r.error || !r.rev) return;
      const doc = docs[i] as NewDoc;
      const old = doc._id ? olds.get(doc._id) : undefined;
      const verb: DocVerb = doc._deleted ? 'DELETED' : old ? 'UPDATED' : 'CREATED';
      const written = doc._deleted ? { _id: r.id, _rev: r.rev, _deleted: true } : { ...doc, _id: r.id, _rev: r.rev };
      this.#emit(inst, doctype, verb, written, old);
    });
    return results;
  }

  allDocs(inst: InstanceRef, doctype: string, opts?: AllDocsOptions): Promise<AllDocsResult> {
    return this.adapter.allDocs(this.db(inst, doctype), opts);
  }

  async createIndex(inst: InstanceRef, doctype: string, req: CreateIndexRequest): Promise<CreateIndexResult> {
    checkSelectorRegexes(req.index.partial_filter_selector);
    return this.adapter.createIndex(this.db(inst, doctype), req);
  }

  async find(inst: InstanceRef, doctype: string, req: FindRequest): Promise<FindResult> {
    checkSelectorRegexes(req.selector);
    return this.adapter.find(this.db(inst, doctype), req);
  }

  changes(inst: InstanceRef, doctype: string, opts?: ChangesOptions): Promise<ChangesResult> {
    return this.adapter.changes(this.db(inst, doctype), opts);
  }

  queryView(inst: InstanceRef, doctype: string, ddoc: string, view: string, opts?: ViewQueryOptions): Promise<ViewResult> {
    return this.adapter.queryView(this.db(inst, doctype), ddoc, view, opts);
  }

  createDatabase(inst: InstanceRef, doctype: string): Promise<void> {
    return this.adapter.createDatabase(this.db(inst, doctype));
  }

  databaseExists(inst: InstanceRef, doctype: string): Promise<boolean> {
    return this.adapter.databaseExists(this.db(inst, doctype));
  }

  databaseInfo(inst: InstanceRef, doctype: string): Promise<DatabaseInfo> {
    return this.adapter.databaseInfo(this.db(inst, doctype));
  }

  /** Removes every database of the instance. */
  async destroyInstanceDatabases(inst: InstanceRef): Promise<void> {
    const dbs = await this.adapter.listDatabases(`${inst.prefix}/`);
    for (const db of dbs) await this.adapter.destroyDatabase(db);
  }

  async #tryGet(db: string, id: string): Promise<Doc | null> {
    try {
      return await this.adapter.get(db, id);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  #emit(inst: InstanceRef, doctype: string, verb: DocVerb, doc: Doc, old?: Doc): void {
    this.events.emit({ domain: inst.domain, doctype, verb, doc, old });
  }
}
