import { CozyError, couchRenderer, defineError, type ErrorRenderer } from '@cozy-ts/kernel';

/**
 * The /data error table. cozy-stack's couchdbStyleErrorHandler (web/data/data.go) renders three kinds of errors,
 * and each factory here gives the body cozy sends for its kind, so clients matching texts see the same ones:
 * - CouchDB errors: `{"error": name, "reason": reason}`;
 * - echo errors (reserved doctypes, permissions, tokens): `{"error": "code=403, message=<text>"}`;
 * - JSON:API errors (bad parameters): `{"error": "Bad Request(400): <detail>"}`.
 * cozy also adds `"ok": false, "status": "404"` to the CouchDB errors it raises itself (not to the ones its proxy
 * relays); those two members are left out here.
 */

const couch = (name: string, reason?: string) => ({ couch: reason === undefined ? { error: name } : { error: name, reason } });
const echo = (status: number, message: string) => couch(`code=${status}, message=${message}`);
/** jsonapi.Error's Error(): `Title(status): detail`. */
const jsonapi = (title: string, status: number, detail: string) => couch(`${title}(${status}): ${detail}`);

const reserved = defineError('COZY_ERR_DATA_RESERVED_DOCTYPE', 403, 'Reserved doctype');
const invalidDoctype = defineError('COZY_ERR_DATA_INVALID_DOCTYPE', 403, 'Invalid doctype name');
const wrongDoctype = defineError('COZY_ERR_DATA_WRONG_DOCTYPE', 404, 'The doctype has no database');
const badId = defineError('COZY_ERR_DATA_BAD_ID', 400, 'Document ids cannot start with an underscore');
const definedId = defineError('COZY_ERR_DATA_DEFINED_ID', 400, 'document _id should be empty');
const badRequest = defineError('COZY_ERR_DATA_BAD_REQUEST', 400, 'Bad request');
const noIndex = defineError('COZY_ERR_DATA_NO_INDEX', 400, 'no matching index found, create an index');
const invalidOperator = defineError('COZY_ERR_DATA_INVALID_OPERATOR', 400, 'Invalid operator');
const docValidation = defineError('COZY_ERR_DATA_DOC_VALIDATION', 400, 'Bad special document member');
const attachments = defineError('COZY_ERR_DATA_ATTACHMENTS', 400, 'Attachments are not supported');
const protectedDesignDoc = defineError('COZY_ERR_DATA_PROTECTED_DESIGN_DOC', 403, 'This design doc cannot be deleted');
const missingParameter = defineError('COZY_ERR_DATA_MISSING_PARAMETER', 400, 'Missing parameter');
const fileExists = defineError('COZY_ERR_DATA_DB_EXISTS', 412, 'The database already exists');
const fileNotFound = defineError('COZY_ERR_DATA_FILE_NOT_FOUND', 404, 'File or directory not found');
const notImplemented = defineError('COZY_ERR_DATA_NOT_IMPLEMENTED', 501, 'Not implemented');
const illegalDocId = defineError('COZY_ERR_DATA_ILLEGAL_DOCID', 400, 'Illegal document id');
const couchBadRequest = defineError('COZY_ERR_DATA_COUCH_BAD_REQUEST', 400, 'Bad request');
const queryParse = defineError('COZY_ERR_DATA_QUERY_PARSE', 400, 'Invalid query parameter');

export const DataErrors = {
  unreadable: (doctype: string) =>
    reserved(`reserved doctype ${doctype} unreadable`, echo(403, `reserved doctype ${doctype} unreadable`)),
  unwritable: (doctype: string) =>
    reserved(`reserved doctype ${doctype} unwritable`, echo(403, `reserved doctype ${doctype} unwritable`)),
  invalidDoctype: (doctype: string) =>
    invalidDoctype(`${doctype} is not a valid doctype name`, echo(403, `${doctype} is not a valid doctype name`)),
  wrongDoctype: () => wrongDoctype(undefined, couch('not_found', 'wrong_doctype')),
  badId: (id: string) => badId(`Unsuported couchdb operation ${id}`, couch('bad_id', `Unsuported couchdb operation ${id}`)),
  definedId: () => definedId(undefined, couch('defined_id', 'document _id should be empty')),
  /** cozy's jsonapi.Errorf(400, ...), the answer to every malformed parameter or body. */
  badRequest: (detail: string) => badRequest(detail, jsonapi('Bad Request', 400, detail)),
  noIndex: () => noIndex(undefined, couch('no_index', 'no matching index found, create an index')),
  invalidOperator: (operator: string) =>
    invalidOperator(`Invalid operator: ${operator}`, couch('invalid_operator', `Invalid operator: ${operator}`)),
  docValidation: (member: string) =>
    docValidation(`Bad special document member: ${member}`, couch('doc_validation', `Bad special document member: ${member}`)),
  attachments: () => {
    const reason = 'Attachments are not supported: store file contents through /files';
    return attachments(reason, couch('bad_request', reason));
  },
  protectedDesignDoc: () => protectedDesignDoc(undefined, couch('This design doc cannot be deleted')),
  /** cozy answers these with a bare `{"error": text}` (design doc delete and copy). */
  missingParameter: (text: string) => missingParameter(text, couch(text)),
  fileExists: () => {
    const reason = 'The database could not be created, the file already exists.';
    return fileExists(reason, couch('file_exists', reason));
  },
  fileNotFound: (id: string) => {
    const detail = `File or directory ${id} not found`;
    return fileNotFound(detail, jsonapi('Not Found', 404, detail));
  },
  illegalDocId: (reason: string) => illegalDocId(reason, couch('illegal_docid', reason)),
  /** What CouchDB itself answers to a malformed request (the proxied routes, bodies the store would refuse). */
  couchBadRequest: (reason: string) => couchBadRequest(reason, couch('bad_request', reason)),
  /** CouchDB's answer to a query-string value of the wrong type (`limit=abc`). */
  queryParse: (reason: string) => queryParse(reason, couch('query_parse_error', reason)),
  notImplemented: (what: string) => {
    const reason = `${what} is not supported by this server (no PouchDB replication yet)`;
    return notImplemented(reason, couch('not_implemented', reason));
  },
} as const;

/**
 * couchRenderer for errors that carry a CouchDB body; the others (tokens, permissions, body size, malformed
 * JSON: the kernel's) are echo errors in cozy, rendered `{"error": "code=<status>, message=<text>"}`.
 */
export const dataErrorRenderer: ErrorRenderer = (err, req) => {
  if (err.couch) return couchRenderer(err, req);
  const withBody = new CozyError(err.code, err.status, err.message, { ...echo(err.status, err.detail), headers: err.headers });
  return couchRenderer(withBody, req);
};
