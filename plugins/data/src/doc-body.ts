import type { NewDoc } from '@cozy-ts/kernel';
import { DataErrors } from './data-errors.ts';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A request body that must be one JSON object (cozy decodes it into a map). */
export function asObject(body: unknown, what = 'The request body'): Record<string, unknown> {
  if (!isPlainObject(body)) throw DataErrors.badRequest(`${what} must be a JSON object`);
  return body;
}

/** Special members a client may write. */
const WRITABLE_SPECIALS = new Set(['_id', '_rev', '_deleted']);
/** Members CouchDB returns and ignores on write, so a client may send back a document as it read it. */
const IGNORED_SPECIALS = new Set(['_conflicts', '_deleted_conflicts', '_revs_info', '_local_seq']);

/**
 * The document to store, with CouchDB's rules for top-level `_` members (couch_doc:transfer_fields) applied here
 * so both adapters answer alike. `_attachments` is refused with its own message: the store port carries no
 * attachments, file contents go through /files.
 */
export function toWritableDoc(body: Record<string, unknown>): NewDoc {
  const doc: NewDoc = {};
  for (const [member, value] of Object.entries(body)) {
    if (!member.startsWith('_') || WRITABLE_SPECIALS.has(member)) doc[member] = value;
    else if (member === '_attachments') throw DataErrors.attachments();
    else if (!IGNORED_SPECIALS.has(member)) throw DataErrors.docValidation(member);
  }
  if (doc._id !== undefined) {
    if (typeof doc._id !== 'string') throw DataErrors.illegalDocId('Document id must be a string');
    if (doc._id === '') throw DataErrors.illegalDocId('Document id must not be empty');
  }
  if (doc._rev !== undefined && (typeof doc._rev !== 'string' || doc._rev === '')) throw DataErrors.couchBadRequest('Invalid rev format');
  return doc;
}
