import type { FastifyInstance } from 'fastify';

/** A url-encoded body with no prototype (a field named "__proto__" is just a field); a repeated field keeps its first value, as Go's FormValue. */
export function parseForm(body: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(body)) if (!Object.hasOwn(out, key)) out[key] = value;
  return out;
}

/**
 * fastify parses JSON only; login, consent and share-password forms post url-encoded bodies. The server's body
 * limit applies to string parsers too, so @fastify/formbody would add a dependency for these lines.
 */
export function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
}
