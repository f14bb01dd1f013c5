import { createHash } from 'node:crypto';

/** cozy-stack's prefix for new instances: "cozy" + the first 16 bytes of sha256(domain), in hex. */
export function instancePrefix(domain: string): string {
  return 'cozy' + createHash('sha256').update(domain).digest('hex').slice(0, 32);
}

/**
 * cozy-stack's database name: lower(prefix + "/" + doctype) with "." and ":" replaced by "-".
 * The "/" stays: CouchDB allows it in names and the CouchDB adapter escapes it in URLs.
 */
export function databaseName(prefix: string, doctype: string): string {
  return `${prefix}/${doctype}`.replace(/[.:]/g, '-').toLowerCase();
}

/** Doctype names cozy accepts: lower-case dotted identifiers such as io.cozy.files or com.example.notes. */
const DOCTYPE_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function isValidDoctype(doctype: string): boolean {
  return doctype.length > 0 && doctype.length <= 200 && DOCTYPE_RE.test(doctype);
}

export const GLOBAL_PREFIX = 'global';
