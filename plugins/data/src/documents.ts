import type { Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { ACCOUNTS_DOCTYPE, type Accounts } from './accounts.ts';
import { DataErrors } from './data-errors.ts';
import { asObject, toWritableDoc } from './doc-body.ts';
import { assertDocId, assertReadable, assertWritable } from './doctype-access.ts';
import { isNotFound, onDocument, wrongDoctypeIfNoDatabase } from './store-failures.ts';

/** A document as /data returns it: the stored JSON plus `_type` (cozy's ToMapWithType). */
export type TypedDoc = Doc & { _type: string };

export interface WriteAnswer {
  ok: true;
  id: string;
  rev: string;
  type: string;
  data: TypedDoc;
}

export interface DeleteAnswer {
  ok: true;
  id: string;
  rev: string;
  type: string;
  deleted: true;
}

/** cozy's JSONDoc.UnmarshalJSON drops `_type` from an update: clients send documents back as they read them. */
const TYPE_MEMBER = '_type';

function answer(doctype: string, doc: Doc): WriteAnswer {
  return { ok: true, id: doc._id, rev: doc._rev as string, type: doctype, data: { ...doc, _type: doctype } };
}

/**
 * Single-document CRUD, in cozy-stack's order of checks (web/data/data.go): body, reserved doctype, id shape,
 * permission, then the store. The order decides which error a bad request gets, and clients see it.
 */
export class Documents {
  constructor(
    private readonly store: DocumentStore,
    private readonly accounts: Accounts,
  ) {}

  /**
   * `revs: true` asks for the revision history (`_revisions`), a replication feature the store port lacks.
   * `includeCredentials`: an app asks for an account's secrets in clear (cozy's `include=credentials`).
   */
  async get(
    inst: InstanceRef,
    access: Access,
    doctype: string,
    id: string,
    opts: { revs?: boolean; includeCredentials?: boolean } = {},
  ): Promise<TypedDoc> {
    assertReadable(doctype);
    if (opts.revs) throw DataErrors.notImplemented('GET with revs=true');
    assertDocId(id);
    let doc: Doc;
    try {
      doc = await this.store.get(inst, doctype, id);
    } catch (err) {
      // A caller without permission on that id gets a 403, not a hint that the document does not exist.
      if (isNotFound(err)) await access.allow('GET', doctype, { _id: id });
      throw wrongDoctypeIfNoDatabase(err);
    }
    await access.allow('GET', doctype, doc);
    if (doctype === ACCOUNTS_DOCTYPE) doc = await this.#readAccount(inst, access, doc, opts.includeCredentials === true);
    return { ...doc, _type: doctype };
  }

  /** An account stored with secrets in clear (written before keys were configured) is encrypted on its first read. */
  async #readAccount(inst: InstanceRef, access: Access, stored: Doc, includeCredentials: boolean): Promise<Doc> {
    let doc = stored;
    const encrypted = structuredClone(stored);
    if (this.accounts.encrypt(encrypted)) {
      const res = await onDocument(() => this.store.put(inst, ACCOUNTS_DOCTYPE, encrypted, { old: stored }));
      doc = { ...encrypted, _rev: res.rev };
    }
    return this.accounts.reveal(access, doc, includeCredentials);
  }

  /** POST /data/:doctype/: 201; the database is created with the first document. */
  async create(inst: InstanceRef, access: Access, doctype: string, body: unknown): Promise<WriteAnswer> {
    const fields = asObject(body);
    assertWritable(doctype);
    await access.allow('POST', doctype, fields);
    if (fields._id !== undefined) throw DataErrors.definedId();
    const doc = toWritableDoc(fields);
    if (doctype === ACCOUNTS_DOCTYPE) await this.accounts.prepareNew(access, doc);
    const res = await this.store.put(inst, doctype, doc, { old: null });
    return answer(doctype, { ...doc, _id: res.id, _rev: res.rev });
  }

  /** PUT /data/:doctype/:id: an update when the body has `_id` and `_rev`, a creation with that id when it has neither. */
  async put(inst: InstanceRef, access: Access, doctype: string, id: string, body: unknown): Promise<WriteAnswer> {
    const { [TYPE_MEMBER]: _ignored, ...fields } = asObject(body);
    assertWritable(doctype);
    if ((fields._id === undefined) !== (fields._rev === undefined)) {
      throw DataErrors.badRequest('You must either provide an _id and _rev in document (update) or neither (create with fixed id).');
    }
    if (fields._id !== undefined && fields._id !== id) throw DataErrors.badRequest('document _id doesnt match url');
    return fields._id === undefined ? this.#createWithId(inst, access, doctype, id, fields) : this.#update(inst, access, doctype, id, fields);
  }

  async #createWithId(inst: InstanceRef, access: Access, doctype: string, id: string, fields: Record<string, unknown>): Promise<WriteAnswer> {
    const doc = toWritableDoc({ ...fields, _id: id });
    await access.allow('POST', doctype, doc);
    assertDocId(id);
    // cozy writes an account created this way as it came; its secrets are encrypted here all the same.
    if (doctype === ACCOUNTS_DOCTYPE) this.accounts.encrypt(doc);
    const res = await this.store.put(inst, doctype, doc, { old: null });
    return answer(doctype, { ...doc, _id: res.id, _rev: res.rev });
  }

  async #update(inst: InstanceRef, access: Access, doctype: string, id: string, fields: Record<string, unknown>): Promise<WriteAnswer> {
    assertDocId(id);
    const doc = toWritableDoc(fields);
    const old = await onDocument(() => this.store.get(inst, doctype, id));
    // Without the whole doctype, a caller may neither take a document out of its permitted set nor bring one in.
    if (!(await access.holds('PUT', doctype))) {
      await access.allow('PUT', doctype, old);
      await access.allow('PUT', doctype, doc);
    }
    if (doctype === ACCOUNTS_DOCTYPE) await this.accounts.prepareUpdate(access, doc);
    const res = await onDocument(() => this.store.put(inst, doctype, doc, { old }));
    const written = { ...doc, _id: res.id, _rev: res.rev };
    return answer(doctype, doctype === ACCOUNTS_DOCTYPE ? await this.accounts.reveal(access, written, false) : written);
  }

  /** DELETE /data/:doctype/:id with `?rev=` and/or `If-Match` (equal when both are given). */
  async delete(inst: InstanceRef, access: Access, doctype: string, id: string, revs: { query?: string; header?: string }): Promise<DeleteAnswer> {
    const rev = chooseRev(revs);
    assertWritable(doctype);
    assertDocId(id);
    const old = await this.store.get(inst, doctype, id);
    await access.allow('DELETE', doctype, { ...old, _rev: rev });
    const res = await onDocument(() => this.store.delete(inst, doctype, id, rev, { old }));
    return { ok: true, id: res.id, rev: res.rev, type: doctype, deleted: true };
  }
}

function chooseRev({ query, header }: { query?: string; header?: string }): string {
  if (query && header && query !== header) throw DataErrors.badRequest('If-Match Header and rev query parameters mismatch');
  const rev = header || query;
  if (!rev) throw DataErrors.badRequest('delete without revision');
  return rev;
}
