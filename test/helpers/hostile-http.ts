import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/** One request of a hostile batch, as sent on the wire. */
export interface HostileRequest {
  /** Route family it belongs to, for the per-family report. */
  family: string;
  /** The kind of hostility (malformed JSON, bad range, ...), for the report and for reproduction. */
  kind: string;
  /** `public` (the cozy server) or `admin` (the admin API's port). */
  server: 'public' | 'admin';
  method: string;
  /** Raw request target: bytes 0x21-0xff are sent as they are (Node writes the head as latin1). */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | string;
  /** How an error body must look on this route. */
  shape: ErrorShape;
  /** Whether this request carries a legitimate credential of the instance holding the secret marker (never). */
  tenant: 'attacker' | 'victim-host';
  /** The route answers anybody, so a foreign credential need not be refused there. */
  open?: boolean;
}

/** The error body shapes the server answers in, by route family. */
export type ErrorShape = 'jsonapi' | 'couch' | 'plain' | 'dav' | 'html' | 'any';

export interface HostileAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

const MAX_BODY = 4 * 1024 * 1024;

/** Sends one request; a socket error or timeout is reported as status 0 with the error as body. */
export function send(agent: Agent, port: number, req: HostileRequest, timeoutMs = 15_000): Promise<HostileAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Omit<HostileAnswer, 'ms'>) => {
      if (done) return;
      done = true;
      resolve({ ...a, ms: Date.now() - started });
    };
    // Node sends a GET or HEAD body with neither Content-Length nor chunking: say its length, as real clients do.
    const headers = req.body === undefined || 'content-length' in req.headers ? req.headers : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
    let r;
    try {
      r = request({ agent, host: '127.0.0.1', port, method: req.method, path: req.path, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        });
        res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => finish({ status: 0, headers: {}, body: `response error: ${err.message}` }));
      });
    } catch (err) {
      // Node refused to write the request itself (a client-side limit): nothing reached the server.
      finish({ status: -1, headers: {}, body: `not sent: ${(err as Error).message}` });
      return;
    }
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', (err) => finish({ status: 0, headers: {}, body: `request error: ${err.message}` }));
    r.end(req.body);
  });
}

/** Writes raw bytes on a fresh connection and returns what came back before the server closed it (or 2 s). */
export function sendRaw(port: number, bytes: Buffer | string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is enough: the server may keep the connection open.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) setTimeout(() => sock.destroy(), 50);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.write(bytes);
  });
}

/** Runs `fn` over `items` with at most `width` in flight. */
export async function pool<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
