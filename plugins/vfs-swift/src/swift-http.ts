/**
 * Requests to Swift on Node's own http client: streamed both ways, a bounded keep-alive pool, an inactivity
 * timeout. No HTTP library: the protocol needs nothing more, and the bodies never go through memory.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SwiftStatusError } from './swift-errors.ts';

const IDLE_SOCKET_MS = 30_000;

export interface HttpOptions {
  timeoutMs: number;
}

export interface SendOptions {
  method: string;
  url: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
}

export class HttpPool {
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;

  constructor(readonly options: HttpOptions) {
    // Idle sockets are dropped after 30 s, before Swift's own idle timeout (60 s) can close one under a request.
    const pool = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: IDLE_SOCKET_MS };
    this.#http = new HttpAgent(pool);
    this.#https = new HttpsAgent(pool);
  }

  /** A request whose headers are sent and whose body is the caller's to write (`end()` it, or `destroy()`). */
  open(method: string, url: string, headers: OutgoingHttpHeaders): ClientRequest {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(target, { method, headers, agent: https ? this.#https : this.#http });
    req.setTimeout(this.options.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer from Swift within ${this.options.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    return req;
  }

  /**
   * Sends a whole request and resolves with the answer, its body still to be read. A kept-alive socket the server
   * closed just as it was reused fails before anything was answered: that one request is sent again, once, on a
   * new socket (the body is in memory, so nothing is lost).
   */
  async send(opts: SendOptions): Promise<IncomingMessage> {
    try {
      return await this.#sendOnce(opts);
    } catch (err) {
      if (!(err as { reusedSocket?: boolean }).reusedSocket) throw err;
      return this.#sendOnce(opts);
    }
  }

  #sendOnce({ method, url, headers = {}, body }: SendOptions): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const h: OutgoingHttpHeaders = { ...headers };
      if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
      else if (method === 'PUT' || method === 'POST') h['content-length'] = 0;
      const req = this.open(method, url, h);
      req.once('response', (res) => {
        // The inactivity timeout goes on with the body: a Swift that stalls mid-download fails the stream.
        res.setTimeout?.(this.options.timeoutMs, () => res.destroy(Object.assign(new Error('Swift stopped sending'), { code: 'ETIMEDOUT' })));
        resolve(res);
      });
      req.once('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        reject(stale ? Object.assign(err, { reusedSocket: true }) : err);
      });
      req.end(body);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

/** Reads a (small) answer body whole. */
export async function readBody(res: IncomingMessage, limit = 4 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Error(`Swift answer larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Drops an answer's body so its socket goes back to the pool. */
export async function drain(res: IncomingMessage): Promise<void> {
  res.resume();
  if (res.complete) return;
  await new Promise<void>((resolve) => {
    res.once('end', resolve);
    res.once('close', resolve);
    res.once('error', () => resolve());
  });
}

/** Throws a {@link SwiftStatusError} (with the start of the body) unless the status is one of `ok`. */
export async function expectStatus(res: IncomingMessage, ok: number[], method: string, target: string): Promise<void> {
  const status = res.statusCode ?? 0;
  if (ok.includes(status)) return;
  const body = await readBody(res, 64 * 1024).catch(() => '');
  throw new SwiftStatusError(status, method, target, body.trim());
}
