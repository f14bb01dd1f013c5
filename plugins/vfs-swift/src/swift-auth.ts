/**
 * Getting a token and the account's storage URL: Swift's v1 auth (tempauth, swauth, and what most hosted Swift
 * offer besides Keystone) or Keystone v3 with a password. One authentication runs at a time; callers share it.
 * A token is renewed a minute before the expiry the server announced, and at once after a 401.
 */
import type { IncomingMessage } from 'node:http';
import { VfsErrors } from '@cozy-ts/kernel';
import type { VfsSwiftConfig } from './config.ts';
import { swiftError } from './swift-errors.ts';
import { expectStatus, readBody, type HttpPool } from './swift-http.ts';

export interface SwiftSession {
  token: string;
  storageUrl: string;
  /** ms since the epoch; renewal starts a minute before. */
  expiresAt: number;
}

type AuthConfig = Pick<VfsSwiftConfig, 'authUrl' | 'username' | 'password' | 'userDomain' | 'project' | 'projectDomain' | 'region' | 'interface' | 'storageUrl'>;

const RENEW_BEFORE_MS = 60_000;
// Without an announced expiry (some v1 servers), a token is trusted for an hour, then renewed.
const DEFAULT_LIFE_MS = 3600_000;

export function authVersion(authUrl: string): 1 | 3 {
  const path = new URL(authUrl).pathname.replace(/\/+$/, '');
  if (/\/v3$/.test(path)) return 3;
  if (/\/v1(\.0)?$/.test(path)) return 1;
  throw VfsErrors.unavailable(`Cannot tell the auth version of ${authUrl}: it should end in /v1.0 or /v3`);
}

export class SwiftAuth {
  #session?: SwiftSession;
  #pending?: Promise<SwiftSession>;

  constructor(private readonly config: AuthConfig, private readonly http: HttpPool) {}

  /** A valid session, authenticating when there is none or it is about to expire. */
  async session(): Promise<SwiftSession> {
    const s = this.#session;
    if (s && s.expiresAt - RENEW_BEFORE_MS > Date.now()) return s;
    this.#pending ??= this.#authenticate().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forgets `token` after Swift refused it (401), unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.#session?.token === token) this.#session = undefined;
  }

  async #authenticate(): Promise<SwiftSession> {
    let session: SwiftSession;
    try {
      session = authVersion(this.config.authUrl) === 1 ? await this.#v1() : await this.#v3();
    } catch (err) {
      throw swiftError(err, () => VfsErrors.unavailable(`No auth endpoint at ${this.config.authUrl}`));
    }
    if (this.config.storageUrl) session.storageUrl = this.config.storageUrl;
    session.storageUrl = session.storageUrl.replace(/\/+$/, '');
    this.#session = session;
    return session;
  }

  async #v1(): Promise<SwiftSession> {
    const res = await this.http.send({
      method: 'GET',
      url: this.config.authUrl,
      headers: { 'x-auth-user': this.config.username, 'x-auth-key': this.config.password },
    });
    refused(res, this.config.authUrl);
    await expectStatus(res, [200, 204], 'GET', this.config.authUrl);
    await readBody(res);
    const token = header(res.headers['x-auth-token']) ?? header(res.headers['x-storage-token']);
    const storageUrl = header(res.headers['x-storage-url']);
    if (!token || !storageUrl) throw VfsErrors.unavailable('The v1 auth answer has no token or storage URL');
    const expires = Number(header(res.headers['x-auth-token-expires']));
    return { token, storageUrl, expiresAt: Date.now() + (Number.isFinite(expires) && expires > 0 ? expires * 1000 : DEFAULT_LIFE_MS) };
  }

  async #v3(): Promise<SwiftSession> {
    const c = this.config;
    const url = `${c.authUrl.replace(/\/+$/, '')}/auth/tokens`;
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomain }, password: c.password } } },
        ...(c.project ? { scope: { project: { name: c.project, domain: { name: c.projectDomain ?? c.userDomain } } } } : {}),
      },
    };
    const res = await this.http.send({ method: 'POST', url, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
    refused(res, url);
    await expectStatus(res, [200, 201], 'POST', url);
    const token = header(res.headers['x-subject-token']);
    const answer = JSON.parse(await readBody(res)) as KeystoneAnswer;
    if (!token) throw VfsErrors.unavailable('The Keystone answer has no X-Subject-Token');
    const endpoint = pickEndpoint(answer, c.interface, c.region);
    if (!endpoint && !c.storageUrl) throw VfsErrors.unavailable(`No object-store endpoint (${c.interface}${c.region ? `, ${c.region}` : ''}) in the Keystone catalog`);
    const expires = Date.parse(answer.token?.expires_at ?? '');
    return { token, storageUrl: endpoint ?? '', expiresAt: Number.isFinite(expires) ? expires : Date.now() + DEFAULT_LIFE_MS };
  }
}

interface KeystoneAnswer {
  token?: {
    expires_at?: string;
    catalog?: Array<{ type?: string; endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }> }>;
  };
}

function pickEndpoint(answer: KeystoneAnswer, iface: string, region?: string): string | undefined {
  for (const service of answer.token?.catalog ?? []) {
    if (service.type !== 'object-store') continue;
    const hit = (service.endpoints ?? []).find((e) => e.interface === iface && (!region || e.region === region || e.region_id === region) && e.url);
    if (hit?.url) return hit.url;
  }
  return undefined;
}

function refused(res: IncomingMessage, url: string): void {
  if (res.statusCode !== 401 && res.statusCode !== 403) return;
  res.resume();
  // Wrong credentials are a configuration problem of the server, not the user's: the storage is unusable (503).
  throw VfsErrors.unavailable(`Swift refused the credentials at ${url} (${res.statusCode})`);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
