import { asArray, asRecord, isRecord, toPortDoc } from './doc-shape.ts';
import type {
  AllDocsResult,
  AllDocsRow,
  BulkResult,
  ChangeRow,
  ChangesOptions,
  ChangesResult,
  ViewResult,
  ViewRow,
} from './types.ts';

/**
 * Normalisers for the answers PouchDB, pouchdb-server and CouchDB 3 give in (nearly) the same JSON shape:
 * docs lose adapter members, seqs become strings, missing counters get CouchDB's values.
 */

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function toAllDocsRow(raw: unknown): AllDocsRow {
  const row = asRecord(raw, 'an _all_docs row');
  if (typeof row.error === 'string') {
    // CouchDB's row for a requested key that does not exist has only `key` and `error`; keep that shape.
    const errorRow: Pick<AllDocsRow, 'key' | 'error'> = { key: String(row.key), error: row.error };
    return errorRow as AllDocsRow;
  }
  const value = asRecord(row.value, 'an _all_docs row value');
  const out: AllDocsRow = {
    id: String(row.id),
    key: String(row.key),
    value: value.deleted === true ? { rev: String(value.rev), deleted: true } : { rev: String(value.rev) },
  };
  if ('doc' in row) out.doc = isRecord(row.doc) ? toPortDoc(row.doc) : null;
  return out;
}

export function toAllDocsResult(raw: unknown): AllDocsResult {
  const answer = asRecord(raw, '_all_docs');
  const rows = asArray(answer.rows, '_all_docs').map(toAllDocsRow);
  return { total_rows: optionalNumber(answer.total_rows) ?? rows.length, offset: optionalNumber(answer.offset) ?? 0, rows };
}

function toViewRow(raw: unknown): ViewRow {
  const row = asRecord(raw, 'a view row');
  const out: ViewRow = { key: row.key ?? null, value: row.value ?? null };
  if (typeof row.id === 'string') out.id = row.id;
  if ('doc' in row) out.doc = isRecord(row.doc) ? toPortDoc(row.doc) : null;
  return out;
}

export function toViewResult(raw: unknown): ViewResult {
  const answer = asRecord(raw, 'a view query');
  const out: ViewResult = { rows: asArray(answer.rows, 'a view query').map(toViewRow) };
  const total = optionalNumber(answer.total_rows);
  const offset = optionalNumber(answer.offset);
  if (total !== undefined) out.total_rows = total;
  if (offset !== undefined) out.offset = offset;
  return out;
}

function toChangeRow(raw: unknown): ChangeRow {
  const row = asRecord(raw, 'a _changes row');
  const changes = asArray(row.changes, 'a _changes row').map((c) => ({ rev: String(asRecord(c, 'a change').rev) }));
  // PouchDB and pouchdb-server number their seqs; CouchDB 3's are opaque strings. The port always says string.
  const out: ChangeRow = { id: String(row.id), seq: String(row.seq), changes };
  if (row.deleted === true) out.deleted = true;
  if (isRecord(row.doc)) out.doc = toPortDoc(row.doc);
  return out;
}

/**
 * `countAfter(seq)` counts the changes after `seq` with the same filter; it is only called when the server gave
 * no `pending` (PouchDB, pouchdb-server) and a limit may have cut the feed short.
 */
export async function toChangesResult(
  raw: unknown,
  opts: ChangesOptions,
  countAfter: (seq: string) => Promise<number>,
): Promise<ChangesResult> {
  const answer = asRecord(raw, '_changes');
  const results = asArray(answer.results, '_changes').map(toChangeRow);
  const last_seq = String(answer.last_seq ?? opts.since ?? '0');
  const pending = optionalNumber(answer.pending) ?? (await pendingAfter(results.length, last_seq, opts, countAfter));
  return { results, last_seq, pending };
}

async function pendingAfter(
  returned: number,
  lastSeq: string,
  opts: ChangesOptions,
  countAfter: (seq: string) => Promise<number>,
): Promise<number> {
  const cutShort = opts.limit !== undefined && returned >= opts.limit && !opts.descending;
  return cutShort ? countAfter(lastSeq) : 0;
}

/** `_bulk_docs` rows in the port's shape (no `ok`, CouchDB's conflict wording). */
export function toBulkResult(raw: unknown): BulkResult {
  const row = asRecord(raw, 'a _bulk_docs row');
  if (typeof row.error === 'string') {
    const reason = row.error === 'conflict' ? 'Document update conflict.' : String(row.reason ?? row.error);
    return { id: String(row.id), error: row.error, reason };
  }
  return { id: String(row.id), rev: String(row.rev) };
}
