import { isCozyError, StoreErrors } from '@cozy-ts/kernel';
import { DataErrors } from './data-errors.ts';

/** The store port's error codes, read off its own factories so they cannot drift. */
const CODES = {
  dbNotFound: StoreErrors.dbNotFound('').code,
  docNotFound: StoreErrors.docNotFound().code,
  noIndex: StoreErrors.noIndex().code,
  failed: StoreErrors.failed('').code,
} as const;

export type StoreFailure = keyof typeof CODES;

export function isStoreFailure(err: unknown, kind: StoreFailure): boolean {
  return isCozyError(err) && err.code === CODES[kind];
}

/** A 404 of either kind: the database or the document is missing. */
export function isNotFound(err: unknown): boolean {
  return isStoreFailure(err, 'dbNotFound') || isStoreFailure(err, 'docNotFound');
}

/**
 * cozy's fixErrorNoDatabaseIsWrongDoctype: on document routes a missing database means the doctype was never
 * written, and says so with reason `wrong_doctype` instead of CouchDB's `Database does not exist.`.
 */
export function wrongDoctypeIfNoDatabase(err: unknown): unknown {
  return isStoreFailure(err, 'dbNotFound') ? DataErrors.wrongDoctype() : err;
}

/** Runs a store call, turning a missing database into `wrong_doctype`. */
export async function onDocument<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw wrongDoctypeIfNoDatabase(err);
  }
}
