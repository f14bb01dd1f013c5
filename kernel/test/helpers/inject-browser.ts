import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export interface SetCookie {
  name: string;
  value: string;
  /** Attributes as sent, e.g. ['Path=/', 'HttpOnly', 'SameSite=Lax']. */
  attributes: string[];
}

/** The Set-Cookie headers of a response, parsed. */
export function setCookies(res: LightMyRequestResponse): SetCookie[] {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [String(raw)];
  return list.map((line) => {
    const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
    const eq = pair.indexOf('=');
    return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attributes };
  });
}

export function cookieNamed(res: LightMyRequestResponse, name: string): SetCookie | undefined {
  return setCookies(res).find((c) => c.name === name);
}

export interface BrowserRequest {
  form?: Record<string, string>;
  json?: unknown;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

/**
 * A browser over `app.inject`: one Host, a cookie jar fed by Set-Cookie (Max-Age=0 deletes), and a client
 * address. Redirects are not followed, so tests see each 303.
 */
export class InjectBrowser {
  readonly jar = new Map<string, string>();

  constructor(
    readonly app: FastifyInstance,
    readonly host: string,
    readonly remoteAddress = '127.0.0.1',
  ) {}

  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, opts: BrowserRequest = {}): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { host: this.host, 'user-agent': 'InjectBrowser/1.0', ...opts.headers };
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    let payload: string | undefined;
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(opts.form).toString();
    } else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.json);
    }
    const res = await this.app.inject({ method, url, headers, payload, remoteAddress: opts.remoteAddress ?? this.remoteAddress });
    for (const c of setCookies(res)) {
      if (c.attributes.some((a) => /^max-age=0$/i.test(a))) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    return res;
  }

  get(url: string, opts?: BrowserRequest): Promise<LightMyRequestResponse> {
    return this.request('GET', url, opts);
  }

  post(url: string, form: Record<string, string>, opts: BrowserRequest = {}): Promise<LightMyRequestResponse> {
    return this.request('POST', url, { ...opts, form });
  }

  /** The CSRF token a login page gave this browser (loading the page first if needed). */
  async csrf(): Promise<string> {
    if (!this.jar.has('_csrf')) await this.get('/auth/login');
    const token = this.jar.get('_csrf');
    if (!token) throw new Error('the login page set no _csrf cookie');
    return token;
  }

  /** Posts the login form as the page's script would: the client-side hash, the CSRF token, and `extra`. */
  async login(hashedPassphrase: string, extra: Record<string, string> = {}, opts: BrowserRequest = {}): Promise<LightMyRequestResponse> {
    return this.post('/auth/login', { passphrase: hashedPassphrase, csrf_token: await this.csrf(), ...extra }, opts);
  }
}
