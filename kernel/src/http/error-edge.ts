import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CozyError, isCozyError, KernelErrors } from '../errors.ts';
import { escapeHtml } from './html.ts';

/** Renders a CozyError into a response body for one family of routes. */
export type ErrorRenderer = (err: CozyError, req: FastifyRequest) => { contentType: string; body: string };

/** JSON:API error documents (status as a string, as cozy-stack), or a small page for a browser asking for HTML. */
export const jsonApiRenderer: ErrorRenderer = (err, req) => {
  const accept = String(req.headers.accept ?? '');
  if (accept.includes('text/html') && !accept.includes('json')) {
    const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${err.title}</title></head>` +
      `<body><h1>${err.status} ${escapeHtml(err.title)}</h1><p>${escapeHtml(err.detail)}</p></body></html>`;
    return { contentType: 'text/html; charset=utf-8', body };
  }
  const item: Record<string, unknown> = { status: String(err.status), title: err.title, code: err.code, detail: err.detail };
  if (err.source) item.source = err.source;
  return { contentType: 'application/vnd.api+json', body: JSON.stringify({ errors: [item] }) };
};

/** CouchDB-style bodies for /data: `{"error":"not_found","reason":"missing"}`. */
export const couchRenderer: ErrorRenderer = (err) => {
  const body = err.couch ?? { error: err.status >= 500 ? 'internal_server_error' : err.title.toLowerCase().replace(/ /g, '_'), reason: err.detail };
  return { contentType: 'application/json', body: JSON.stringify(body) };
};

/** Turns anything thrown in a route into a CozyError; unknown errors become a 500 that hides the details. */
export function toCozyError(err: unknown): CozyError {
  if (isCozyError(err)) return err;
  const fe = err as Partial<FastifyError> & { status?: number };
  const status = fe.statusCode ?? fe.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return KernelErrors.payloadTooLarge();
    const code = fe.code ? `COZY_ERR_HTTP_${fe.code.replace(/^FST_ERR_/, '')}` : 'COZY_ERR_BAD_REQUEST';
    return new CozyError(code, status, fe.message ?? 'Bad request');
  }
  return KernelErrors.internal(undefined, { cause: err });
}

function send(reply: FastifyReply, req: FastifyRequest, err: CozyError, render: ErrorRenderer): FastifyReply {
  if (err.status >= 500) req.log.error({ err: (err as { cause?: unknown }).cause ?? err, code: err.code }, err.message);
  else req.log.info({ code: err.code, status: err.status }, err.message);
  if (err.headers) void reply.headers(err.headers);
  const { contentType, body } = render(err, req);
  return reply.status(err.status).type(contentType).send(body);
}

/**
 * The one error edge. The kernel installs it at the root with the JSON:API family; a plugin that answers in
 * another family calls setErrorFamily in its own encapsulated context (fastify picks the handler of the context
 * a route was declared in, so this covers errors thrown by kernel hooks on that plugin's routes too).
 */
export function setErrorFamily(app: FastifyInstance, render: ErrorRenderer): void {
  app.setErrorHandler((err: unknown, req, reply) => send(reply, req, toCozyError(err), render));
  // fastify allows one not-found handler per prefix: the root's covers plugins mounted without one.
  if (app.prefix === '' && app.hasDecorator('cozyRootNotFound')) return;
  app.setNotFoundHandler((req, reply) =>
    send(reply, req, KernelErrors.notFound(`No route for ${req.method} ${req.url.split('?')[0]}`), render),
  );
  if (app.prefix === '') app.decorate('cozyRootNotFound', true);
}
