import { defineError } from '../errors.ts';

const dbNotFound = defineError('COZY_ERR_STORE_DB_NOT_FOUND', 404, 'Database does not exist.');
const docNotFound = defineError('COZY_ERR_STORE_DOC_NOT_FOUND', 404, 'Document not found');
const conflict = defineError('COZY_ERR_STORE_CONFLICT', 409, 'Document update conflict.');
const badRequest = defineError('COZY_ERR_STORE_BAD_REQUEST', 400, 'Bad request');
const noIndex = defineError('COZY_ERR_STORE_NO_INDEX', 400, 'no_index');
const unavailable = defineError('COZY_ERR_STORE_UNAVAILABLE', 503, 'The document store is unavailable');
const failed = defineError('COZY_ERR_STORE', 500, 'The document store failed');

/** Store errors carry the CouchDB-style body that /data renders as is. */
export const StoreErrors = {
  dbNotFound: (db: string) =>
    dbNotFound(`Database does not exist: ${db}`, { couch: { error: 'not_found', reason: 'Database does not exist.' } }),
  docNotFound: (reason: 'missing' | 'deleted' = 'missing') =>
    docNotFound(reason, { couch: { error: 'not_found', reason } }),
  conflict: () => conflict(undefined, { couch: { error: 'conflict', reason: 'Document update conflict.' } }),
  badRequest: (reason: string) => badRequest(reason, { couch: { error: 'bad_request', reason } }),
  noIndex: (reason = 'No index exists for this sort, try indexing by the sort fields.') =>
    noIndex(reason, { couch: { error: 'no_usable_index', reason } }),
  unavailable: (cause?: unknown) =>
    unavailable(undefined, {
      cause,
      couch: { error: 'service_unavailable', reason: 'The document store is unavailable' },
    }),
  failed: (reason: string, cause?: unknown) =>
    failed(reason, { cause, couch: { error: 'internal_server_error', reason } }),
} as const;

export const STORE_ERROR_CODES = {
  dbNotFound: dbNotFound.code,
  docNotFound: docNotFound.code,
  conflict: conflict.code,
  badRequest: badRequest.code,
  noIndex: noIndex.code,
  unavailable: unavailable.code,
  failed: failed.code,
} as const;
