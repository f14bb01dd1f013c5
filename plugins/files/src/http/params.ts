import type { FastifyRequest } from 'fastify';
import { FilesErrors, KernelErrors, defineError } from '@cozy-ts/kernel';

export type Query = Record<string, unknown>;

/** A query parameter's first value, or undefined when absent or empty. */
export function param(query: unknown, name: string): string | undefined {
  const value = (query as Query | undefined)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

export function header(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/** cozy-stack reads booleans with strconv.ParseBool. */
export function boolParam(query: unknown, name: string): boolean | undefined {
  const v = param(query, name);
  if (v === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** `Tags=a,b` as cozy-stack splits it. */
export function tagsParam(query: unknown): string[] | undefined {
  const v = param(query, 'Tags');
  return v === undefined ? undefined : v.split(',');
}

/** An RFC 3339 date parameter; 422 `Invalid time given` otherwise. */
export function dateParam(query: unknown, name: string): Date | undefined {
  const v = param(query, name);
  if (v === undefined) return undefined;
  const d = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw FilesErrors.badTime(undefined, { source: { parameter: name } });
  return d;
}

/** The `Date` header (RFC 1123), ignored when unparsable as cozy-stack does. */
export function dateHeader(req: FastifyRequest): Date | undefined {
  const v = header(req, 'date');
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `Content-MD5`: base64 of 16 bytes; 422 otherwise (cozy-stack's InvalidParameter). */
export function md5Header(req: FastifyRequest): Uint8Array | undefined {
  const v = header(req, 'content-md5');
  if (v === undefined) return undefined;
  const bytes = /^[A-Za-z0-9+/]{22}==$/.test(v.trim()) ? Buffer.from(v.trim(), 'base64') : Buffer.alloc(0);
  if (bytes.length !== 16) throw invalidParameter('Content-MD5', 'Invalid Content-MD5');
  return bytes;
}

/** The size the body must have: Content-Length, else the `Size` parameter. */
export function sizeOf(req: FastifyRequest): number | undefined {
  const cl = header(req, 'content-length');
  if (cl !== undefined) {
    if (!/^\d{1,16}$/.test(cl)) throw KernelErrors.badRequest('Invalid Content-Length');
    return Number(cl);
  }
  const s = param(req.query, 'Size');
  if (s === undefined) return undefined;
  if (!/^\d{1,16}$/.test(s)) throw invalidParameter('Size', 'Invalid Size');
  return Number(s);
}

const invalidParam = defineError('COZY_ERR_FILES_INVALID_PARAMETER', 422, 'Invalid parameter');

/** cozy-stack's jsonapi.InvalidParameter: 422 with the parameter as source. */
export function invalidParameter(parameter: string, detail: string) {
  return invalidParam(detail, { source: { parameter } });
}

/** `If-Match`, without quotes or a weak prefix. */
export function ifMatch(req: FastifyRequest): string | undefined {
  const v = header(req, 'if-match');
  if (v === undefined || v === '*') return undefined;
  return v.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** A single `bytes=` range; undefined (whole content) for none, several, or a syntax error, as RFC 9110 allows. */
export function rangeHeader(req: FastifyRequest, size: number): { start: number; end?: number } | 'unsatisfiable' | undefined {
  const v = header(req, 'range');
  if (!v) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(v.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0) };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? undefined : Number(m[2]);
  if (end !== undefined && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
