import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { instanceOf } from '../http/request-context.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import type { PermissionLookup, PermissionRecord } from '../permissions/permission-record.ts';
import { PermissionSet } from '../permissions/permission-set.ts';
import type { RequestVerb } from '../permissions/verbs.ts';
import type { PermissionDoc } from '../permissions/selector.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import type { DocEventBus } from '../events/doc-events.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { Doc } from '../store/types.ts';
import { AuthErrors } from './auth-errors.ts';
import { readCookie } from './cookies.ts';
import type { DevicePasswordService } from './device-passwords.ts';
import { DocCache } from './doc-cache.ts';
import { SESSION_COOKIE, type SessionDoc, type SessionService } from './sessions.ts';
import { verifySecret } from './passphrase.ts';
import { unsignValue } from './signed-value.ts';
import { mintToken, verifyToken, type Audience, type MintOptions, type TokenClaims } from './tokens.ts';

export const OAUTH_CLIENTS_DOCTYPE = 'io.cozy.oauth.clients';

export type AuthKind = 'app' | 'konnector' | 'oauth' | 'cli' | 'share' | 'device';

/** Who is calling and what they may do. Plugins get it from `auth.authenticate(req)`; none parses a token. */
export interface RequestAuth {
  kind: AuthKind;
  permissions: PermissionSet;
  /** App or konnector slug, OAuth client id, share code name, or device password id. */
  subject: string;
  claims?: TokenClaims;
  /** The stored permission document behind an app, konnector or share token. */
  record?: PermissionRecord;
  /** The OAuth client document behind an access token. */
  client?: Doc;
}

// 12 alphanumerics, or 6 digits for a tiny code; a trailing "." is tolerated because people end sentences with it.
const SHORTCODE = /^(\d{6}|[A-Za-z0-9]{12})\.?$/;

interface AuthState {
  auth?: Promise<RequestAuth>;
  session?: Promise<SessionDoc | null>;
}

const states = new WeakMap<FastifyRequest, AuthState>();
function stateOf(req: FastifyRequest): AuthState {
  let s = states.get(req);
  if (!s) states.set(req, (s = {}));
  return s;
}

/** The token a request carries, as cozy-stack reads it: Bearer, the password of Basic, or `?bearer_token=`. */
export function requestToken(req: FastifyRequest): { token: string; via: 'bearer' | 'basic' | 'query' | 'sharecode' } | null {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return { token: header.slice(7).trim(), via: 'bearer' };
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? null : { token: decoded.slice(colon + 1), via: 'basic' };
  }
  const query = req.query as Record<string, unknown> | undefined;
  if (typeof query?.bearer_token === 'string' && query.bearer_token) return { token: query.bearer_token, via: 'query' };
  if (typeof query?.sharecode === 'string' && query.sharecode) return { token: query.sharecode, via: 'sharecode' };
  return null;
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** OAuth client documents seen recently: checking the client on every request would cost a store read each. */
const CLIENT_TTL_MS = 30_000;
const CLIENTS_CHANNEL = 'auth:oauth-clients';

/**
 * Request authentication and permission checks for every plugin. Results are memoised per request, so
 * several checks in one handler verify the token once.
 */
export class AuthService {
  readonly #clients: DocCache<Doc>;

  constructor(
    private readonly store: DocumentStore,
    private readonly sessions: SessionService,
    private readonly devices: DevicePasswordService,
    private readonly permissionLookup: () => PermissionLookup,
    events: DocEventBus,
    cluster: ClusterPorts,
  ) {
    this.#clients = new DocCache({
      doctype: OAUTH_CLIENTS_DOCTYPE,
      channel: CLIENTS_CHANNEL,
      max: 10_000,
      ttlMs: CLIENT_TTL_MS,
      events,
      pubsub: cluster.pubsub,
    });
  }

  /**
   * Keeps the client and device-password caches honest: a change to a client or a password on any process drops
   * it on every process at once (doc events + cluster pub/sub), so a deleted client's tokens or a revoked
   * password stop working everywhere, not only when their short trust expires.
   */
  async start(): Promise<void> {
    await this.#clients.start();
    await this.devices.start();
  }

  async stop(): Promise<void> {
    await this.#clients.stop();
    await this.devices.stop();
  }

  /** The browser session of the request's cookie, if any. */
  session(req: FastifyRequest): Promise<SessionDoc | null> {
    const st = stateOf(req);
    st.session ??= this.sessions.fromCookie(instanceOf(req), readCookie(req, SESSION_COOKIE));
    return st.session;
  }

  /** Throws 401 without a token, 400 `Invalid JWT token` / `Expired token` for a bad one. */
  authenticate(req: FastifyRequest): Promise<RequestAuth> {
    const st = stateOf(req);
    st.auth ??= this.#authenticate(req);
    return st.auth;
  }

  /**
   * Authenticates a token that came another way than the request's headers (the first message of a
   * websocket); `req` gives the instance and the session cookie an app token may be bound to.
   */
  authenticateToken(req: FastifyRequest, token: string): Promise<RequestAuth> {
    if (!token) return Promise.reject(AuthErrors.noToken());
    return this.#fromToken(req, { token, via: 'bearer' });
  }

  /** Like authenticate, but null when the request carries no token at all. */
  async tryAuthenticate(req: FastifyRequest): Promise<RequestAuth | null> {
    if (!requestToken(req)) return null;
    return this.authenticate(req);
  }

  /** 403 unless the caller may apply `verb` to `doc` (or, without a doc, to the whole doctype). */
  async allow(req: FastifyRequest, verb: RequestVerb, doctype: string, doc?: PermissionDoc): Promise<RequestAuth> {
    const auth = await this.authenticate(req);
    const ok = doc ? auth.permissions.allow(verb, doctype, doc) : auth.permissions.allowWholeType(verb, doctype);
    if (!ok) throw AuthErrors.forbidden();
    return auth;
  }

  /** 403 unless the caller holds a rule on the whole doctype (what _find, _all_docs, _changes need). */
  async allowWholeType(req: FastifyRequest, verb: RequestVerb, doctype: string): Promise<RequestAuth> {
    const auth = await this.authenticate(req);
    if (!auth.permissions.allowWholeType(verb, doctype)) throw AuthErrors.forbidden();
    return auth;
  }

  /** Signs a token of this instance (app tokens for served web apps, CLI tokens for the admin API). */
  issueToken(inst: InstanceDoc, aud: Audience, opts: MintOptions): Promise<string> {
    const stamp = aud === 'access' || aud === 'refresh' ? (opts.stamp ?? inst.security_stamp) : opts.stamp;
    return mintToken(inst, aud, { ...opts, stamp });
  }

  /** The onboarding register token (hex in `registerToken`), compared in constant time. */
  checkRegisterToken(inst: InstanceDoc, hex: unknown): boolean {
    return typeof hex === 'string' && !!inst.register_token && /^[0-9a-f]+$/i.test(hex) && constantTimeEqual(hex.toLowerCase(), inst.register_token);
  }

  async #authenticate(req: FastifyRequest): Promise<RequestAuth> {
    const found = requestToken(req);
    if (!found || !found.token) throw AuthErrors.noToken();
    return this.#fromToken(req, found);
  }

  async #fromToken(req: FastifyRequest, found: { token: string; via: 'bearer' | 'basic' | 'query' | 'sharecode' }): Promise<RequestAuth> {
    const inst = instanceOf(req);
    let token = found.token;
    if (found.via === 'basic') {
      const device = await this.devices.verify(inst, token);
      if (device) return { kind: 'device', permissions: device.permissions, subject: device.doc._id };
    }
    if (SHORTCODE.test(token)) {
      const full = await this.permissionLookup().tokenForShortcode(inst, token.replace(/\.$/, ''));
      if (!full) throw AuthErrors.invalidToken();
      token = full;
    }
    const claims = await verifyToken(inst, token);
    // OAuth tokens always carry the stamp of their minting (issueToken adds it), so a passphrase change, which
    // renews the stamp, kills every one of them; other audiences are checked when they carry one.
    const stampBound = claims.aud === 'access' || claims.aud === 'refresh' || claims.stamp !== undefined;
    if (stampBound && !constantTimeEqual(claims.stamp ?? '', inst.security_stamp ?? '')) throw AuthErrors.invalidToken();
    switch (claims.aud) {
      case 'access':
        return this.#forOAuth(inst, claims);
      case 'cli':
        return { kind: 'cli', permissions: PermissionSet.fromScope(claims.scope ?? ''), subject: claims.sub, claims };
      case 'app':
      case 'konn':
        return this.#forApp(req, inst, claims);
      case 'share':
        return this.#forShare(req, inst, token, claims);
      default:
        // Refresh and registration tokens only work at their own endpoints.
        throw AuthErrors.invalidToken();
    }
  }

  async #client(inst: InstanceDoc, id: string): Promise<Doc> {
    const hit = this.#clients.get(inst.domain, id);
    if (hit) return hit;
    const mark = this.#clients.mark();
    try {
      const doc = await this.store.get(inst, OAUTH_CLIENTS_DOCTYPE, id);
      this.#clients.set(inst.domain, id, doc, mark);
      return doc;
    } catch (err) {
      // A deleted client's tokens die with it.
      if ((err as { status?: number }).status === 404) throw AuthErrors.invalidToken();
      throw err;
    }
  }

  async #forOAuth(inst: InstanceDoc, claims: TokenClaims): Promise<RequestAuth> {
    const client = await this.#client(inst, claims.sub);
    const scope = claims.scope ?? '';
    if (scope === '*' && client.flagship !== true) throw AuthErrors.invalidToken();
    const permissions = scope === '*' ? PermissionSet.maximal() : PermissionSet.fromScope(scope);
    return { kind: 'oauth', permissions, subject: claims.sub, claims, client };
  }

  async #forApp(req: FastifyRequest, inst: InstanceDoc, claims: TokenClaims): Promise<RequestAuth> {
    if (claims.session_id) {
      // An app token minted for a browser session is only good together with that session's cookie.
      const session = await this.session(req);
      if (!session || !constantTimeEqual(session._id, claims.session_id)) throw AuthErrors.invalidToken();
    }
    const lookup = this.permissionLookup();
    const record = claims.aud === 'app' ? await lookup.forWebapp(inst, claims.sub) : await lookup.forKonnector(inst, claims.sub);
    if (!record) throw AuthErrors.invalidToken();
    return {
      kind: claims.aud === 'app' ? 'app' : 'konnector',
      permissions: PermissionSet.fromManifest(record.permissions),
      subject: claims.sub,
      claims,
      record,
    };
  }

  async #forShare(req: FastifyRequest, inst: InstanceDoc, token: string, claims: TokenClaims): Promise<RequestAuth> {
    const record = await this.permissionLookup().forShareCode(inst, token);
    if (!record) throw AuthErrors.invalidToken();
    if (record.expires_at && Date.parse(record.expires_at) < Date.now()) throw AuthErrors.expiredToken();
    if (record.password && !this.#hasSharePasswordCookie(req, inst, record)) throw AuthErrors.invalidToken();
    return { kind: 'share', permissions: PermissionSet.fromManifest(record.permissions), subject: claims.sub, claims, record };
  }

  #hasSharePasswordCookie(req: FastifyRequest, inst: InstanceDoc, record: PermissionRecord): boolean {
    const name = `pass${record._id}`;
    const value = readCookie(req, name);
    return !!value && unsignValue(inst.session_secret, name, value) === record._id;
  }

  /** Checks a share password, for the share-by-link password form. */
  verifySharePassword(record: PermissionRecord, password: string): Promise<boolean> {
    return record.password ? verifySecret(password, record.password) : Promise.resolve(true);
  }
}
