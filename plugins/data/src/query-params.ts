import { DataErrors } from './data-errors.ts';

/** A parsed query string: each value a string, or a list when the parameter was repeated. */
export type Query = Readonly<Record<string, unknown>>;

/** The parameter's value; the first one when it was repeated. */
export function param(query: Query, name: string): string | undefined {
  const value = query[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/** CouchDB reads `key`, `startkey`... as JSON. */
export function jsonParam(query: Query, name: string): unknown {
  const text = param(query, name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw DataErrors.couchBadRequest('invalid UTF-8 JSON');
  }
}

export function intParam(query: Query, name: string): number | undefined {
  const text = param(query, name);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(text)) throw DataErrors.queryParse(`Invalid value for integer: "${text}"`);
  return Number(text);
}

export function boolParam(query: Query, name: string): boolean | undefined {
  const text = param(query, name);
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw DataErrors.queryParse(`Invalid boolean parameter: "${text}"`);
  return text === 'true';
}

/** Go's strconv.Atoi as cozy uses it: a malformed value is the caller's to report (with cozy's wording). */
export function atoi(text: string | undefined): number | undefined {
  return text !== undefined && /^[+-]?\d{1,15}$/.test(text) ? Number(text) : undefined;
}
