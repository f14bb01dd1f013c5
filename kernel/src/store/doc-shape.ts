import { randomUUID } from 'node:crypto';
import { StoreErrors } from './store-errors.ts';
import type { Doc, NewDoc } from './types.ts';

/**
 * Underscore members CouchDB itself returns. Any other `_` member is an adapter's bookkeeping
 * (PouchDB's `_doc_id_rev` and friends) and must not leak through the port.
 */
const COUCH_SPECIAL_MEMBERS = new Set([
  '_id',
  '_rev',
  '_deleted',
  '_conflicts',
  '_deleted_conflicts',
  '_attachments',
  '_revs_info',
  '_revisions',
  '_local_seq',
]);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Narrows a store answer that must be a JSON object; anything else means the server broke the protocol. */
export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw StoreErrors.failed(`The store answered ${what} with something that is not an object`);
  return value;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw StoreErrors.failed(`The store answered ${what} without a list`);
  return value;
}

/** A document as the port returns it: the stored JSON minus adapter-specific members. */
export function toPortDoc(raw: unknown): Doc {
  const source = asRecord(raw, 'a document');
  const doc: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (!key.startsWith('_') || COUCH_SPECIAL_MEMBERS.has(key)) doc[key] = value;
  }
  // A `fields` projection may leave `_id` out; the port still calls it a Doc, as CouchDB does.
  return doc as Doc;
}

/** CouchDB's default uuid shape (UUIDv4 without dashes): generated here so every server assigns the same kind. */
export function newDocId(): string {
  return randomUUID().replace(/-/g, '');
}

export function withId(doc: NewDoc): NewDoc & { _id: string } {
  return { ...doc, _id: typeof doc._id === 'string' && doc._id !== '' ? doc._id : newDocId() };
}

export function writeResult(raw: unknown): { id: string; rev: string } {
  const answer = asRecord(raw, 'a write');
  return { id: String(answer.id), rev: String(answer.rev) };
}
