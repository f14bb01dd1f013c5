import { StoreErrors } from './store-errors.ts';

/** CouchDB 3's rule for database names; the embedded adapter applies it too so both accept the same names. */
const COUCH_DB_NAME = /^[a-z][a-z0-9_$()+/-]*$/;
const MAX_DB_NAME_LENGTH = 238;

export function assertDatabaseName(db: string): void {
  if (db.length <= MAX_DB_NAME_LENGTH && COUCH_DB_NAME.test(db)) return;
  throw StoreErrors.badRequest(
    `Name: '${db}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, ` +
      'and / are allowed. Must begin with a letter.',
  );
}
