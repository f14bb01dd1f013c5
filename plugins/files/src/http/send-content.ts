import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FilesErrors } from '@cozy-ts/kernel';
import { header, param, rangeHeader } from './params.ts';

/** cozy-stack's ContentDisposition: a plain ASCII `filename`, plus `filename*` (RFC 5987) when that lost something. */
export function contentDisposition(disposition: 'inline' | 'attachment', filename: string): string {
  if (!filename) return disposition;
  let escaped = '';
  for (const ch of filename) {
    const c = ch.codePointAt(0) as number;
    if (c === 34 || c === 47 || c === 92) continue;
    if (c > 32 && c < 127) escaped += ch;
  }
  if (!escaped) escaped = 'download';
  if (escaped === filename) return `${disposition}; filename="${escaped}"`;
  const encoded = encodeURIComponent(filename).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${escaped}"; filename*=UTF-8''${encoded}`;
}

export interface ContentToSend {
  name: string;
  mime: string;
  size: number;
  md5sum: string;
  updatedAt: string;
  /** Opens the bytes, the whole content or one range. */
  open(range?: { start: number; end?: number }): Promise<{ stream: Readable; start: number; end: number }>;
}

function etagMatches(ifNoneMatch: string, etag: string): boolean {
  return ifNoneMatch.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === etag || v === etag.slice(1, -1);
  });
}

/**
 * A download as cozy-stack's ServeFileContent: ETag from the MD5 (If-None-Match → 304), one byte range (206, or
 * 416 with `Content-Range: bytes * /size`), `Content-Disposition` inline unless `Dl=1`, and a sandboxing CSP so a
 * served HTML file cannot script the instance's origin.
 */
export async function sendContent(req: FastifyRequest, reply: FastifyReply, c: ContentToSend, filename = c.name): Promise<FastifyReply> {
  const etag = `"${c.md5sum}"`;
  reply.header('etag', etag);
  reply.header('last-modified', new Date(c.updatedAt).toUTCString());
  reply.header('accept-ranges', 'bytes');
  reply.header('content-type', c.mime || 'application/octet-stream');
  reply.header('content-disposition', contentDisposition(param(req.query, 'Dl') === '1' ? 'attachment' : 'inline', filename));
  reply.header('content-security-policy', "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox");
  reply.header('x-content-type-options', 'nosniff');
  const inm = header(req, 'if-none-match');
  if (inm && etagMatches(inm, etag)) return reply.status(304).send();
  const range = rangeHeader(req, c.size);
  if (range === 'unsatisfiable') {
    throw FilesErrors.badRange(undefined, { headers: { 'content-range': `bytes */${c.size}` } });
  }
  const ifRange = header(req, 'if-range');
  const useRange = range !== undefined && (!ifRange || ifRange === etag);
  const { stream, start, end } = await c.open(useRange ? range : undefined);
  if (useRange) {
    reply.status(206);
    reply.header('content-range', `bytes ${start}-${end}/${c.size}`);
    reply.header('content-length', String(end - start + 1));
  } else {
    reply.header('content-length', String(c.size));
  }
  if (req.method === 'HEAD') {
    stream.destroy();
    return reply.send();
  }
  return reply.send(stream);
}
