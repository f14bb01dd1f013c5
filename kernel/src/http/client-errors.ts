import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { jsonApiRenderer, toCozyError } from './error-edge.ts';

/**
 * Errors raised before any route is chosen, in the JSON:API shape of every other error instead of fastify's own
 * `{"error","message","statusCode"}`: a URL that does not decode (`/files/%zz`), and requests Node's HTTP parser
 * refuses (headers over the size limit, a malformed request line).
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const cozy = toCozyError(err);
  req.log.info({ code: cozy.code, status: cozy.status }, cozy.message);
  const { contentType, body } = jsonApiRenderer(cozy, req);
  void reply.status(cozy.status).type(contentType).send(body);
}

function parserError(err: ConnectionError): { status: number; code: string; detail: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'COZY_ERR_HTTP_REQUEST_TIMEOUT', detail: 'The request took too long to arrive' };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'COZY_ERR_HTTP_HEADER_OVERFLOW', detail: 'Exceeded maximum allowed HTTP header size' };
  return { status: 400, code: 'COZY_ERR_HTTP_MALFORMED', detail: 'Malformed HTTP request' };
}

/** An answer to HEAD has no body: a client reads any bytes after the head as garbage (or as its next answer). */
function isHead(err: ConnectionError): boolean {
  // fastify types the packet as a Buffer's JSON form; Node hands the Buffer itself.
  const raw: unknown = err.rawPacket;
  return Buffer.isBuffer(raw) && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
}

/** fastify's clientErrorHandler, as its default one (nothing to answer on a reset socket), with a JSON:API body. */
export function clientErrorHandler(err: ConnectionError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, detail } = parserError(err);
  const title = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ errors: [{ status: String(status), title, code, detail }] });
  if (socket.writable) {
    const head = `HTTP/1.1 ${status} ${title}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/vnd.api+json\r\nConnection: close\r\n\r\n`;
    socket.write(isHead(err) ? head : head + body);
  }
  socket.destroy(err);
}
