import type { AllDocsOptions, AllDocsResult, AllDocsRow, Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { isPlainObject } from './doc-body.ts';
import { DESIGN_PREFIX } from './design-ids.ts';
import { assertReadable } from './doctype-access.ts';
import { projectFields } from './project-fields.ts';
import { boolParam, intParam, jsonParam, param, type Query } from './query-params.ts';

export interface AllDocsQuery {
  opts: AllDocsOptions;
  /** cozy's `Fields=a,b.c`: only those fields of each doc, and rows without key and value. */
  fields?: string[];
  /** cozy's `DesignDocs=false`. */
  skipDesignDocs: boolean;
}

function idParam(query: Query, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = jsonParam(query, name);
    if (value === undefined) continue;
    if (typeof value !== 'string') throw DataErrors.couchBadRequest(`${name} must be a JSON string: document ids are strings`);
    return value;
  }
  return undefined;
}

function readKeys(query: Query, body: unknown): string[] | undefined {
  const keys = isPlainObject(body) && body.keys !== undefined ? body.keys : jsonParam(query, 'keys');
  if (keys === undefined) return undefined;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw DataErrors.couchBadRequest('`keys` member must be an array of document ids.');
  }
  return keys;
}

/** The CouchDB parameters of `_all_docs` (JSON-encoded keys, as CouchDB reads them), plus cozy's two. */
export function readAllDocsQuery(query: Query, body?: unknown): AllDocsQuery {
  const opts: AllDocsOptions = {};
  const keys = readKeys(query, body);
  if (keys !== undefined) opts.keys = keys;
  const key = idParam(query, 'key');
  const startkey = key ?? idParam(query, 'startkey', 'start_key');
  const endkey = key ?? idParam(query, 'endkey', 'end_key');
  if (startkey !== undefined) opts.startkey = startkey;
  if (endkey !== undefined) opts.endkey = endkey;
  const limit = intParam(query, 'limit');
  const skip = intParam(query, 'skip');
  if (limit !== undefined) opts.limit = limit;
  if (skip !== undefined) opts.skip = skip;
  for (const flag of ['descending', 'include_docs', 'inclusive_end'] as const) {
    const value = boolParam(query, flag);
    if (value !== undefined) opts[flag] = value;
  }
  const fieldList = param(query, 'Fields');
  const fields = fieldList?.split(',').map((f) => f.trim()).filter((f) => f !== '');
  return { opts, fields: fields && fields.length > 0 ? fields : undefined, skipDesignDocs: param(query, 'DesignDocs') === 'false' };
}

function isDesignRow(row: AllDocsRow): boolean {
  return (row.id ?? row.key).startsWith(DESIGN_PREFIX);
}

function projectRow(row: AllDocsRow, fields: string[]): Partial<AllDocsRow> {
  if (row.error !== undefined) return { error: row.error };
  const out: Partial<AllDocsRow> = { id: row.id };
  if (row.doc !== undefined) out.doc = row.doc === null ? null : (projectFields(row.doc, fields) as Doc);
  return out;
}

/** GET/POST /data/:doctype/_all_docs. cozy's filtered answer counts the rows it kept in total_rows, offset 0. */
export async function allDocs(store: DocumentStore, inst: InstanceRef, access: Access, doctype: string, q: AllDocsQuery): Promise<AllDocsResult | { rows: Array<Partial<AllDocsRow>>; offset: 0; total_rows: number }> {
  assertReadable(doctype);
  await access.allowWholeType('GET', doctype);
  const res = await store.allDocs(inst, doctype, q.opts);
  if (!q.fields && !q.skipDesignDocs) return res;
  const kept = q.skipDesignDocs ? res.rows.filter((row) => !isDesignRow(row)) : res.rows;
  const fields = q.fields;
  const rows = fields ? kept.map((row) => projectRow(row, fields)) : kept;
  return { rows, offset: 0, total_rows: rows.length };
}
