import type { CreateIndexRequest, CreateIndexResult, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { asObject, isPlainObject } from './doc-body.ts';
import { assertReadable } from './doctype-access.ts';
import { DESIGN_PREFIX } from './design-ids.ts';
import { compileSelector } from './mango-selector.ts';

function isIndexField(field: unknown): boolean {
  if (typeof field === 'string') return field !== '';
  return isPlainObject(field) && Object.keys(field).length === 1 && Object.values(field).every((d) => d === 'asc' || d === 'desc');
}

function optionalName(value: unknown, member: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw DataErrors.couchBadRequest(`${member} must be a non-empty string`);
  return value;
}

/** The `_index` body; `ddoc` may carry the `_design/` prefix or not, as CouchDB accepts both. */
export function readIndexRequest(b: Record<string, unknown>): CreateIndexRequest {
  const index = b.index;
  if (!isPlainObject(index)) throw DataErrors.couchBadRequest('Missing required key: index');
  if (!Array.isArray(index.fields) || index.fields.length === 0 || !index.fields.every(isIndexField)) {
    throw DataErrors.couchBadRequest('index.fields must be a non-empty array of field names or {"field": "asc"|"desc"}');
  }
  if (b.type !== undefined && b.type !== 'json') throw DataErrors.couchBadRequest('Only "json" (Mango) indexes are supported');
  const req: CreateIndexRequest = { index: { fields: index.fields as CreateIndexRequest['index']['fields'] } };
  if (index.partial_filter_selector !== undefined) {
    compileSelector(index.partial_filter_selector);
    req.index.partial_filter_selector = index.partial_filter_selector as Record<string, unknown>;
  }
  const ddoc = optionalName(b.ddoc, 'ddoc');
  if (ddoc !== undefined) req.ddoc = ddoc.startsWith(DESIGN_PREFIX) ? ddoc.slice(DESIGN_PREFIX.length) : ddoc;
  const name = optionalName(b.name, 'name');
  if (name !== undefined) req.name = name;
  return req;
}

/** POST /data/:doctype/_index: creates the database if needed; reading permission is enough, as in cozy. */
export async function defineIndex(store: DocumentStore, inst: InstanceRef, access: Access, doctype: string, body: unknown): Promise<CreateIndexResult> {
  const b = asObject(body);
  assertReadable(doctype);
  await access.allowWholeType('GET', doctype);
  return store.createIndex(inst, doctype, readIndexRequest(b));
}
