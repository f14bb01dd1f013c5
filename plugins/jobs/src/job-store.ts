import { randomBytes } from 'node:crypto';
import type { Doc, DocumentStore, InstanceRef, JobDoc } from '@cozy-ts/kernel';
import { JobsErrors } from './errors.ts';

export const JOBS_DOCTYPE = 'io.cozy.jobs';
export const TRIGGERS_DOCTYPE = 'io.cozy.triggers';

/** cozy-stack's ids: 32 lowercase hex chars. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

const isNotFound = (err: unknown) => (err as { status?: number }).status === 404;
const isConflict = (err: unknown) => (err as { status?: number }).status === 409;

/** io.cozy.jobs documents. Updates re-read and retry on a conflict: two processes may touch one job (a lapsed lease). */
export class JobStore {
  readonly #indexed = new Set<string>();

  constructor(private readonly store: DocumentStore) {}

  async create(inst: InstanceRef, doc: JobDoc): Promise<JobDoc> {
    const res = await this.store.put(inst, JOBS_DOCTYPE, doc, { old: null });
    return { ...doc, _rev: res.rev };
  }

  async get(inst: InstanceRef, id: string): Promise<JobDoc> {
    try {
      return (await this.store.get(inst, JOBS_DOCTYPE, id)) as JobDoc;
    } catch (err) {
      if (isNotFound(err)) throw JobsErrors.jobNotFound();
      throw err;
    }
  }

  async tryGet(inst: InstanceRef, id: string): Promise<JobDoc | null> {
    try {
      return await this.get(inst, id);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Applies `change` to the current document; null when the job is gone. `known` is the document as the caller last
   * saw it: tried first, which saves a read when nobody else wrote since (the usual case).
   */
  async update(inst: InstanceRef, id: string, change: (doc: JobDoc) => Partial<JobDoc>, known?: JobDoc): Promise<JobDoc | null> {
    for (let i = 0; ; i++) {
      const doc = i === 0 && known?._rev ? known : await this.tryGet(inst, id);
      if (!doc) return null;
      const next = { ...doc, ...change(doc) };
      try {
        const res = await this.store.put(inst, JOBS_DOCTYPE, next, { old: doc });
        return { ...next, _rev: res.rev };
      } catch (err) {
        if (!isConflict(err) || i >= 5) throw err;
      }
    }
  }

  async #index(inst: InstanceRef, fields: string[]): Promise<string> {
    const name = `by-${fields.join('-')}`;
    const key = `${inst.prefix}/${name}`;
    if (!this.#indexed.has(key)) {
      await this.store.createIndex(inst, JOBS_DOCTYPE, { index: { fields }, ddoc: name, name });
      this.#indexed.add(key);
    }
    return name;
  }

  /** Jobs matching `selector`, newest first by `queued_at`, at most `limit`. */
  async find(inst: InstanceRef, selector: Record<string, unknown>, limit: number, byField: 'worker' | 'trigger_id'): Promise<JobDoc[]> {
    const ddoc = await this.#index(inst, [byField, 'queued_at']);
    const res = await this.store.find(inst, JOBS_DOCTYPE, {
      selector: { ...selector, [byField]: selector[byField], queued_at: { $gt: null } },
      sort: [{ [byField]: 'desc' }, { queued_at: 'desc' }],
      limit,
      use_index: ddoc,
    });
    return res.docs as JobDoc[];
  }

  /** Every job of the instance, page by page (purge and clean walk them all, as cozy-stack does). */
  async *all(inst: InstanceRef): AsyncGenerator<JobDoc> {
    let startkey: string | undefined;
    for (;;) {
      let res;
      try {
        res = await this.store.allDocs(inst, JOBS_DOCTYPE, { include_docs: true, limit: 500, startkey, skip: startkey ? 1 : 0 });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const row of res.rows) if (row.doc && !row.id?.startsWith('_design/')) yield row.doc as JobDoc;
      if (res.rows.length < 500) return;
      startkey = res.rows[res.rows.length - 1].id;
    }
  }

  async bulkDelete(inst: InstanceRef, docs: Doc[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < docs.length; i += 500) {
      const chunk = docs.slice(i, i + 500).map((d) => ({ _id: d._id, _rev: d._rev, _deleted: true }));
      const res = await this.store.bulkDocs(inst, JOBS_DOCTYPE, chunk);
      deleted += res.filter((r) => !r.error).length;
    }
    return deleted;
  }
}
