/**
 * The handful of Swift calls the VFS needs, on one account: containers, objects (streamed both ways), server-side
 * copies, paged listings, deletes. Every call runs with the current token and is retried once with a new one
 * after a 401 (an expired or revoked token); uploads ask for `100-continue`, so that retry happens before any
 * byte of the body is sent. Errors are thrown raw ({@link SwiftStatusError}, network errors): the VFS maps them,
 * as only it knows what a 404 means where.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { SwiftAuth } from './swift-auth.ts';
import { SwiftStatusError } from './swift-errors.ts';
import { drain, expectStatus, readBody, type HttpPool } from './swift-http.ts';

export interface ObjectInfo {
  name: string;
  bytes: number;
  lastModified: Date;
}

interface RequestOptions {
  query?: Record<string, string>;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
}

const LIST_PAGE = 10_000;
// Swift's bulk middleware's default `max_deletes_per_request`.
const BULK_DELETE_MAX = 10_000;
const PARALLEL_DELETES = 16;
const CONTINUE_WAIT_MS = 5000;

export function objectPath(container: string, object?: string): string {
  const c = encodeURIComponent(container);
  return object === undefined ? `/${c}` : `/${c}/${object.split('/').map(encodeURIComponent).join('/')}`;
}

export class SwiftClient {
  #bulkDelete = true;

  constructor(private readonly auth: SwiftAuth, private readonly http: HttpPool) {}

  /** One request to `<storage URL><path>`, with one retry on a new token after a 401. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.auth.session();
      const res = await this.http.send({
        method,
        url: this.#url(session.storageUrl, path, opts.query),
        headers: { ...opts.headers, 'x-auth-token': session.token },
        body: opts.body,
      });
      if (res.statusCode !== 401 || attempt > 0) return res;
      await drain(res);
      this.auth.invalidate(session.token);
    }
  }

  /**
   * Opens a PUT whose body the caller streams (chunked, so Swift stores nothing until the final chunk) and
   * resolves once Swift said `100 Continue`. An answer instead of it (412 for `If-None-Match: *`, 404, 507...)
   * is thrown, after a retry on a new token for a 401. The answer to the whole upload comes with `response`.
   */
  async openUpload(path: string, headers: OutgoingHttpHeaders): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.auth.session();
      const req = this.http.open('PUT', this.#url(session.storageUrl, path), {
        ...headers,
        'x-auth-token': session.token,
        'transfer-encoding': 'chunked',
        expect: '100-continue',
      });
      const response = new Promise<IncomingMessage>((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
      });
      const early = await new Promise<IncomingMessage | null>((resolve, reject) => {
        // As curl does: a front that ignores Expect (and so never says 100) gets the body after a while anyway.
        const go = setTimeout(() => resolve(null), CONTINUE_WAIT_MS);
        req.once('continue', () => {
          clearTimeout(go);
          resolve(null);
        });
        response.then((res) => {
          clearTimeout(go);
          resolve(res);
        }, (err: unknown) => {
          clearTimeout(go);
          reject(err);
        });
        req.flushHeaders();
      });
      if (!early) {
        // An error after the go-ahead belongs to the upload: a rejection nobody awaits yet must not crash.
        response.catch(() => {});
        return { req, response };
      }
      if (early.statusCode === 401 && attempt === 0) {
        await drain(early);
        req.destroy();
        this.auth.invalidate(session.token);
        continue;
      }
      req.destroy();
      await expectStatus(early, [], 'PUT', path);
    }
  }

  async head(path: string): Promise<IncomingMessage['headers'] | null> {
    const res = await this.request('HEAD', path);
    await drain(res);
    if (res.statusCode === 404) return null;
    await expectStatus(res, [200, 204], 'HEAD', path);
    return res.headers;
  }

  /** A GET whose answer is the caller's to consume; a 404 resolves null. */
  async get(path: string, headers: OutgoingHttpHeaders = {}, ok = [200, 206], query?: Record<string, string>): Promise<IncomingMessage | null> {
    const res = await this.request('GET', path, { headers, query });
    if (res.statusCode === 404) {
      await drain(res);
      return null;
    }
    await expectStatus(res, ok, 'GET', path);
    return res;
  }

  async put(path: string, body: Buffer | string, headers: OutgoingHttpHeaders = {}, query?: Record<string, string>): Promise<IncomingMessage['headers']> {
    const res = await this.request('PUT', path, { headers, body, query });
    await expectStatus(res, [201, 202], 'PUT', path);
    await drain(res);
    return res.headers;
  }

  /** Deletes an object or an empty container; resolves false when it was not there. */
  async delete(path: string, ok = [204, 200]): Promise<boolean> {
    const res = await this.request('DELETE', path);
    await drain(res);
    if (res.statusCode === 404) return false;
    await expectStatus(res, ok, 'DELETE', path);
    return true;
  }

  /** Every object of a container under `prefix`, page by page (Swift sorts by name). A missing container is empty. */
  async *list(container: string, prefix = '', pageSize = LIST_PAGE): AsyncGenerator<ObjectInfo[]> {
    let marker = '';
    for (;;) {
      const query: Record<string, string> = { format: 'json', limit: String(pageSize) };
      if (prefix) query.prefix = prefix;
      if (marker) query.marker = marker;
      const res = await this.request('GET', objectPath(container), { query });
      if (res.statusCode === 404) {
        await drain(res);
        return;
      }
      await expectStatus(res, [200, 204], 'GET', objectPath(container));
      const text = await readBody(res, 64 * 1024 * 1024);
      const rows = (text ? JSON.parse(text) : []) as Array<{ name: string; bytes: number; last_modified: string }>;
      if (rows.length === 0) return;
      yield rows.map((r) => ({ name: r.name, bytes: r.bytes, lastModified: new Date(`${r.last_modified}Z`) }));
      if (rows.length < pageSize) return;
      marker = rows[rows.length - 1].name;
    }
  }

  /** Deletes many objects of a container, missing ones included: Swift's bulk delete when it has it, else one by one. */
  async deleteMany(container: string, names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += BULK_DELETE_MAX) {
      const batch = names.slice(i, i + BULK_DELETE_MAX);
      if (batch.length > 1 && this.#bulkDelete && (await this.#tryBulkDelete(container, batch))) continue;
      for (let j = 0; j < batch.length; j += PARALLEL_DELETES) {
        await Promise.all(batch.slice(j, j + PARALLEL_DELETES).map((n) => this.delete(objectPath(container, n))));
      }
    }
  }

  async #tryBulkDelete(container: string, names: string[]): Promise<boolean> {
    const body = names.map((n) => objectPath(container, n)).join('\n');
    const res = await this.request('POST', '', { query: { 'bulk-delete': '' }, headers: { 'content-type': 'text/plain', accept: 'application/json' }, body });
    const text = await readBody(res).catch(() => '');
    let answer: { 'Number Deleted'?: number; 'Response Status'?: string; Errors?: unknown[] } | undefined;
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      answer = undefined;
    }
    if (res.statusCode !== 200 || typeof answer?.['Number Deleted'] !== 'number') {
      // No bulk middleware in this cluster's pipeline (the POST updated the account's metadata instead).
      this.#bulkDelete = false;
      return false;
    }
    if ((answer.Errors?.length ?? 0) > 0 || !String(answer['Response Status']).startsWith('200')) {
      throw new SwiftStatusError(Number.parseInt(String(answer['Response Status']), 10) || 500, 'POST', `bulk-delete in ${container}`, JSON.stringify(answer.Errors).slice(0, 300));
    }
    return true;
  }

  #url(storageUrl: string, path: string, query?: Record<string, string>): string {
    const qs = query ? Object.entries(query).map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&') : '';
    return `${storageUrl}${path}${qs ? `?${qs}` : ''}`;
  }
}
