import type { ClientRequest, IncomingMessage } from 'node:http';
import { SwiftStatusError } from './swift-errors.ts';
import { drain, expectStatus } from './swift-http.ts';

/**
 * One object's body on its way to Swift, in chunked encoding: Swift stores the object only when the final chunk
 * arrives, so the upload stays invisible until {@link finish} and leaves nothing after {@link abort} (the proxy
 * sees a client that went away). An answer that comes early (Swift out of space, a proxy error) fails the next
 * write at once.
 */
export class ObjectUpload {
  #failure: unknown;
  #ended = false;

  constructor(private readonly req: ClientRequest, private readonly response: Promise<IncomingMessage>, private readonly path: string) {
    response.then(
      (res) => {
        if (this.#ended) return;
        this.#failure ??= new SwiftStatusError(res.statusCode ?? 0, 'PUT', path, 'answered before the end of the body');
        res.resume();
        req.destroy();
      },
      (err: unknown) => {
        this.#failure ??= err;
      },
    );
  }

  async write(chunk: Buffer): Promise<void> {
    this.#check();
    if (this.req.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.req.off('drain', done);
        this.req.off('close', done);
        resolve();
      };
      this.req.once('drain', done);
      this.req.once('close', done);
    });
    this.#check();
  }

  /** Sends the final chunk and resolves with the object's ETag (the MD5 of its body, in hex, for a plain object). */
  async finish(): Promise<string> {
    this.#check();
    this.#ended = true;
    this.req.end();
    const res = await this.response;
    await expectStatus(res, [201], 'PUT', this.path);
    await drain(res);
    const etag = res.headers.etag;
    return (Array.isArray(etag) ? etag[0] : etag ?? '').replace(/^"|"$/g, '');
  }

  /** Cuts the upload: Swift keeps nothing of it. */
  abort(): void {
    this.#ended = true;
    this.req.destroy();
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.req.destroyed) throw Object.assign(new Error('the upload connection to Swift is closed'), { code: 'ECONNRESET' });
  }
}
