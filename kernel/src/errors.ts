/**
 * One table of errors. Every error the stack raises on purpose is a CozyError with a stable code and the
 * HTTP status it maps to; the HTTP edge renders it in the response family of the route (JSON:API,
 * CouchDB-style, DAV XML). Anything else reaching the edge is a bug and becomes a 500.
 */
export interface ErrorSource {
  parameter?: string;
  pointer?: string;
}

export interface CozyErrorOptions {
  detail?: string;
  source?: ErrorSource;
  /** CouchDB-style `error` and `reason` for the /data family. */
  couch?: { error: string; reason?: string };
  headers?: Record<string, string>;
  cause?: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  422: 'Unprocessable Entity',
  423: 'Locked',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

export class CozyError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: string;
  readonly source?: ErrorSource;
  readonly couch?: { error: string; reason?: string };
  readonly headers?: Record<string, string>;

  constructor(code: string, status: number, message: string, opts: CozyErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CozyError';
    this.code = code;
    this.status = status;
    this.detail = opts.detail ?? message;
    this.source = opts.source;
    this.couch = opts.couch;
    this.headers = opts.headers;
  }

  get title(): string {
    return statusTitle(this.status);
  }
}

export function isCozyError(err: unknown): err is CozyError {
  return err instanceof CozyError;
}

/** Declares an error kind once; calling it makes an instance with an optional detail. */
export function defineError(code: string, status: number, defaultMessage: string) {
  const make = (detail?: string, opts: Omit<CozyErrorOptions, 'detail'> = {}) =>
    new CozyError(code, status, detail ?? defaultMessage, { ...opts, detail: detail ?? defaultMessage });
  return Object.assign(make, { code, status });
}

/** Errors raised by the kernel itself. Plugins declare their own with defineError. */
export const KernelErrors = {
  badRequest: defineError('COZY_ERR_BAD_REQUEST', 400, 'Bad request'),
  invalidBody: defineError('COZY_ERR_INVALID_BODY', 400, 'The request body is not valid'),
  notFound: defineError('COZY_ERR_NOT_FOUND', 404, 'Not found'),
  instanceNotFound: defineError('COZY_ERR_INSTANCE_NOT_FOUND', 404, 'Instance not found'),
  instanceExists: defineError('COZY_ERR_INSTANCE_EXISTS', 409, 'Instance already exists'),
  invalidDomain: defineError('COZY_ERR_INVALID_DOMAIN', 400, 'Invalid domain'),
  conflict: defineError('COZY_ERR_CONFLICT', 409, 'Document update conflict'),
  payloadTooLarge: defineError('COZY_ERR_PAYLOAD_TOO_LARGE', 413, 'Request body is too large'),
  unauthorized: defineError('COZY_ERR_UNAUTHORIZED', 401, 'Unauthorized'),
  forbidden: defineError('COZY_ERR_FORBIDDEN', 403, 'Forbidden'),
  storeUnavailable: defineError('COZY_ERR_STORE_UNAVAILABLE', 503, 'The document store is unavailable'),
  storeError: defineError('COZY_ERR_STORE', 500, 'The document store failed'),
  cacheUnavailable: defineError('COZY_ERR_CACHE_UNAVAILABLE', 503, 'The cluster cache is unavailable'),
  lockTimeout: defineError('COZY_ERR_LOCK_TIMEOUT', 503, 'Could not acquire the lock in time'),
  internal: defineError('COZY_ERR_INTERNAL', 500, 'Internal server error'),
} as const;
