import { isCozyError, type CozyError } from '../errors.ts';
import { STORE_ERROR_CODES, StoreErrors } from './store-errors.ts';

/** What both PouchDB and CouchDB say about a failed call, in CouchDB's vocabulary. */
export interface CouchFailure {
  status: number;
  /** CouchDB error name ('not_found', 'conflict', ...) or PouchDB's error `name`. */
  error?: string;
  reason?: string;
}

/** Whether a 404 on this call can only mean the database is missing (info, _all_docs, _find ...). */
export type NotFoundMeans = 'db' | 'doc';

/** CouchDB 3 says `Database does not exist.`; pouchdb-server says `no_db_file`. */
const DB_MISSING_REASONS = new Set(['Database does not exist.', 'no_db_file']);

/**
 * CouchDB 3 answers `no_usable_index`; pouchdb-find (embedded and behind pouchdb-server) throws
 * `Cannot sort on field(s) ... when using the default index` instead.
 */
function isNoIndex(failure: CouchFailure): boolean {
  if (failure.error === 'no_usable_index') return true;
  return /cannot sort on field|no_usable_index|no index exists/i.test(failure.reason ?? '');
}

export function toStoreError(failure: CouchFailure, notFound: NotFoundMeans, db: string, cause: unknown): CozyError {
  const { status, reason } = failure;
  if (status === 404) {
    if (notFound === 'db' || DB_MISSING_REASONS.has(reason ?? '')) return StoreErrors.dbNotFound(db);
    return StoreErrors.docNotFound(reason === 'deleted' ? 'deleted' : 'missing');
  }
  // 412 is CouchDB's `file_exists` when creating a database: callers treat it as a conflict.
  if (status === 409 || status === 412) return StoreErrors.conflict();
  if (isNoIndex(failure)) return StoreErrors.noIndex();
  if (status === 400) return StoreErrors.badRequest(reason ?? failure.error ?? 'Bad request');
  if (status === 502 || status === 503 || status === 504) return StoreErrors.unavailable(cause);
  return StoreErrors.failed(reason ?? failure.error ?? `The store answered ${status}`, cause);
}

export function isStoreError(err: unknown, kind: keyof typeof STORE_ERROR_CODES): err is CozyError {
  return isCozyError(err) && err.code === STORE_ERROR_CODES[kind];
}
