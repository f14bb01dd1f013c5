import type { FastifyReply, FastifyRequest } from 'fastify';

/** Reads one cookie from the Cookie header (no dependency: fastify's cookie plugin would parse every request). */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface CookieOptions {
  /** Seconds; undefined = until the browser closes; 0 or less deletes it. */
  maxAge?: number;
  httpOnly?: boolean;
  sameSite?: 'Lax' | 'Strict' | 'None';
  path?: string;
}

/** Whether the client reached us over TLS (directly, or through a trusted proxy's X-Forwarded-Proto). */
export function isSecure(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

/** Appends a Set-Cookie; Secure whenever the request came over TLS, so cookies never leak to plain HTTP. */
export function setCookie(req: FastifyRequest, reply: FastifyReply, name: string, value: string, opts: CookieOptions = {}): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path ?? '/'}`];
  if (opts.maxAge !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(opts.maxAge))}`);
  if (opts.maxAge !== undefined && opts.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (opts.httpOnly !== false) parts.push('HttpOnly');
  parts.push(`SameSite=${opts.sameSite ?? 'Lax'}`);
  if (isSecure(req)) parts.push('Secure');
  const prev = reply.getHeader('set-cookie');
  const list = Array.isArray(prev) ? prev.map(String) : prev === undefined ? [] : [String(prev)];
  void reply.header('set-cookie', [...list, parts.join('; ')]);
}
