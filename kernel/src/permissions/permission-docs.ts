import type { InstanceRef } from '../instances/instance.ts';
import type { DocumentStore } from '../store/document-store.ts';
import { PERMISSIONS_DOCTYPE, type PermissionLookup, type PermissionRecord } from './permission-record.ts';

const DESIGN = 'permissions';
/** Views written into each instance's io.cozy.permissions database on first use, as cozy-stack's byToken / by-short-code. */
const DESIGN_DOC = {
  _id: `_design/${DESIGN}`,
  views: {
    'by-token': {
      map: 'function (doc) { if (doc.codes) { for (var k in doc.codes) { emit(doc.codes[k], k); } } }',
    },
    'by-short-code': {
      map: 'function (doc) { if (doc.shortcodes) { for (var k in doc.shortcodes) { emit(doc.shortcodes[k], k); } } }',
    },
  },
};

/** io.cozy.permissions documents: the stored permissions of apps, konnectors and shares by link. */
export class PermissionDocService implements PermissionLookup {
  constructor(private readonly store: DocumentStore) {}

  async get(inst: InstanceRef, id: string): Promise<PermissionRecord | null> {
    try {
      return (await this.store.get(inst, PERMISSIONS_DOCTYPE, id)) as PermissionRecord;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  forWebapp(inst: InstanceRef, slug: string): Promise<PermissionRecord | null> {
    return this.get(inst, `io.cozy.apps/${slug}`);
  }

  forKonnector(inst: InstanceRef, slug: string): Promise<PermissionRecord | null> {
    return this.get(inst, `io.cozy.konnectors/${slug}`);
  }

  async forShareCode(inst: InstanceRef, token: string): Promise<PermissionRecord | null> {
    const rows = await this.#query(inst, 'by-token', token);
    const id = rows[0]?.id;
    return id ? this.get(inst, id) : null;
  }

  async tokenForShortcode(inst: InstanceRef, shortcode: string): Promise<string | null> {
    const rows = await this.#query(inst, 'by-short-code', shortcode);
    const row = rows[0];
    if (!row?.id) return null;
    const doc = await this.get(inst, row.id);
    return doc?.codes?.[String(row.value)] ?? null;
  }

  /** Queries a view, writing the design document first when the database or the views are new. */
  async #query(inst: InstanceRef, view: string, key: string): Promise<Array<{ id?: string; value: unknown }>> {
    try {
      return (await this.store.queryView(inst, PERMISSIONS_DOCTYPE, DESIGN, view, { key, limit: 1, reduce: false })).rows;
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      await this.ensureDesignDoc(inst);
      return (await this.store.queryView(inst, PERMISSIONS_DOCTYPE, DESIGN, view, { key, limit: 1, reduce: false })).rows;
    }
  }

  async ensureDesignDoc(inst: InstanceRef): Promise<void> {
    await this.store.put(inst, PERMISSIONS_DOCTYPE, DESIGN_DOC).catch((err: unknown) => {
      // Another request wrote it first: same content, nothing to do.
      if ((err as { status?: number }).status !== 409) throw err;
    });
  }
}
