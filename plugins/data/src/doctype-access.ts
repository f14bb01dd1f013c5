import { isReadableDoctype, isValidDoctypeName, isWritableDoctype } from '@cozy-ts/kernel';
import { DataErrors } from './data-errors.ts';

/**
 * cozy-stack's CheckReadable / CheckWritable (model/permission/doctype.go): an invalid name and a reserved doctype
 * are both 403, before any permission is looked at, so a caller learns nothing about the data behind them.
 */
export function assertReadable(doctype: string): void {
  if (!isValidDoctypeName(doctype, false)) throw DataErrors.invalidDoctype(doctype);
  if (!isReadableDoctype(doctype)) throw DataErrors.unreadable(doctype);
}

export function assertWritable(doctype: string): void {
  if (!isValidDoctypeName(doctype, false)) throw DataErrors.invalidDoctype(doctype);
  if (!isWritableDoctype(doctype)) throw DataErrors.unwritable(doctype);
}

/** Ids starting with `_` name CouchDB's own resources (`_design/`, `_local/`, `_all_docs`): never a document. */
export function assertDocId(id: string): void {
  if (id.startsWith('_')) throw DataErrors.badId(id);
}
