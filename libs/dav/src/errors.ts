import { CozyError, type CozyErrorOptions } from '@cozy-ts/kernel';

/**
 * A DAV error: a CozyError that may name the precondition or postcondition it failed (RFC 4918 §16), which the
 * DAV renderer puts in the `<D:error>` body, e.g. `<D:no-conflicting-lock>` or `<D:propfind-finite-depth/>`.
 * `condition` is the XML of the condition element(s), already serialised.
 */
export class DavError extends CozyError {
  readonly condition?: string;
  constructor(code: string, status: number, message: string, opts: CozyErrorOptions & { condition?: string } = {}) {
    super(code, status, message, opts);
    this.condition = opts.condition;
  }
}

export function isDavError(err: unknown): err is DavError {
  return err instanceof DavError;
}

type Opts = Omit<CozyErrorOptions, 'detail'> & { condition?: string };

/** Declares a DAV error kind, with an optional default condition element (a DAV: local name). */
export function defineDavError(code: string, status: number, defaultMessage: string, condition?: string) {
  const make = (detail?: string, opts: Opts = {}) =>
    new DavError(code, status, detail ?? defaultMessage, {
      ...opts,
      detail: detail ?? defaultMessage,
      condition: opts.condition ?? (condition ? `<D:${condition}/>` : undefined),
    });
  return Object.assign(make, { code, status });
}

export const DavErrors = {
  badXml: defineDavError('COZY_ERR_DAV_BAD_XML', 400, 'The XML body is not valid'),
  badRequest: defineDavError('COZY_ERR_DAV_BAD_REQUEST', 400, 'Bad request'),
  badPath: defineDavError('COZY_ERR_DAV_BAD_PATH', 400, 'The path is not valid'),
  badDepth: defineDavError('COZY_ERR_DAV_BAD_DEPTH', 400, 'The Depth header is not valid here'),
  badIfHeader: defineDavError('COZY_ERR_DAV_BAD_IF', 400, 'The If header is not valid'),
  badDestination: defineDavError('COZY_ERR_DAV_BAD_DESTINATION', 400, 'The Destination header is not valid'),
  foreignDestination: defineDavError('COZY_ERR_DAV_FOREIGN_DESTINATION', 502, 'The Destination is on another server'),
  forbiddenDestination: defineDavError('COZY_ERR_DAV_FORBIDDEN_DESTINATION', 403, 'The Destination is outside this tree'),
  sameSourceDestination: defineDavError('COZY_ERR_DAV_SAME_DESTINATION', 403, 'The source and the destination are the same'),
  finiteDepth: defineDavError('COZY_ERR_DAV_FINITE_DEPTH', 403, 'PROPFIND with Depth: infinity is not supported', 'propfind-finite-depth'),
  notFound: defineDavError('COZY_ERR_DAV_NOT_FOUND', 404, 'Not found'),
  methodNotAllowed: defineDavError('COZY_ERR_DAV_METHOD_NOT_ALLOWED', 405, 'Method not allowed'),
  conflict: defineDavError('COZY_ERR_DAV_CONFLICT', 409, 'The parent collection does not exist'),
  preconditionFailed: defineDavError('COZY_ERR_DAV_PRECONDITION_FAILED', 412, 'Precondition failed'),
  tooLarge: defineDavError('COZY_ERR_DAV_TOO_LARGE', 413, 'The request body is too large'),
  unsupportedMediaType: defineDavError('COZY_ERR_DAV_UNSUPPORTED_MEDIA_TYPE', 415, 'This method takes no body of this type'),
  rangeNotSatisfiable: defineDavError('COZY_ERR_DAV_RANGE', 416, 'The range is not satisfiable'),
  locked: defineDavError('COZY_ERR_DAV_LOCKED', 423, 'The resource is locked', 'lock-token-submitted'),
  lockConflict: defineDavError('COZY_ERR_DAV_LOCK_CONFLICT', 423, 'A conflicting lock exists', 'no-conflicting-lock'),
  lockTokenMismatch: defineDavError('COZY_ERR_DAV_LOCK_TOKEN', 409, 'The lock token does not match a lock of this resource', 'lock-token-matches-request-uri'),
  forbidden: defineDavError('COZY_ERR_DAV_FORBIDDEN', 403, 'Forbidden'),
  insufficientStorage: defineDavError('COZY_ERR_DAV_INSUFFICIENT_STORAGE', 507, 'Not enough storage space'),
  notImplemented: defineDavError('COZY_ERR_DAV_NOT_IMPLEMENTED', 501, 'Not implemented'),
} as const;
