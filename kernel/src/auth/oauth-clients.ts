import { randomBytes } from 'node:crypto';
import type { Locks } from '../cluster/types.ts';
import { defineError, type CozyError } from '../errors.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import type { InstanceService } from '../instances/instance-service.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { Doc } from '../store/types.ts';
import { constantTimeEqual, OAUTH_CLIENTS_DOCTYPE } from './auth-service.ts';
import { mintToken, verifyToken, type TokenClaims } from './tokens.ts';

/**
 * OAuth2 clients (RFC 7591 dynamic registration) as cozy-stack keeps them (model/oauth/client.go): one
 * document per client in io.cozy.oauth.clients, `_id` = client_id. Deleting the document is the revocation:
 * AuthService refuses access tokens whose client is gone, and the token endpoint refuses its refresh tokens
 * because the client no longer authenticates.
 */

// ---------------------------------------------------------------------------------------------------------
// Errors

const RFC_NAMES = new Map<string, string>();

/** An RFC 7591 error: rendered `{"error": name, "error_description": detail}` (cozy's ClientRegistrationError). */
function rfcError(name: string, status: number, description: string) {
  const make = defineError(`COZY_ERR_OAUTH_${name.toUpperCase()}`, status, description);
  RFC_NAMES.set(make.code, name);
  return make;
}

/**
 * The OAuth errors. Registration errors carry an RFC name; the others are answered `{"error": detail}`
 * because that is what cozy-stack's token and registration-management endpoints send, texts included.
 */
export const OAuthErrors = {
  invalidRedirectUri: rfcError('invalid_redirect_uri', 400, 'redirect_uris is mandatory'),
  invalidClientMetadata: rfcError('invalid_client_metadata', 400, 'The client metadata are invalid'),
  invalidClientId: rfcError('invalid_client_id', 400, 'client_id is mandatory'),
  invalidClientSecret: rfcError('invalid_client_secret', 400, 'client_secret is invalid'),
  unapprovedSoftwareId: rfcError('unapproved_software_id', 400, 'Link with store/settings is forbidden'),
  conflict: defineError('COZY_ERR_OAUTH_CONFLICT', 409, 'conflict'),
  clientNotFound: defineError('COZY_ERR_OAUTH_CLIENT_NOT_FOUND', 404, 'Client not found'),
  registrationToken: () =>
    invalidRegistrationToken('invalid_token', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }),
  /** Every refusal of POST /auth/access_token: 400 with cozy's text as `error` ("invalid code"…). */
  tokenRequest: defineError('COZY_ERR_OAUTH_TOKEN_REQUEST', 400, 'invalid request'),
} as const;

const invalidRegistrationToken = defineError('COZY_ERR_OAUTH_REGISTRATION_TOKEN', 401, 'invalid_token');

/** The JSON body of an OAuth error, as cozy-stack writes it. */
export function oauthErrorBody(err: CozyError): { error: string; error_description?: string } {
  const name = RFC_NAMES.get(err.code);
  return name ? { error: name, error_description: err.detail } : { error: err.detail };
}

// ---------------------------------------------------------------------------------------------------------
// Documents

export interface ClientMetadata {
  doctypeVersion: string;
  metadataVersion: number;
  createdAt: string;
  updatedAt: string;
  createdByApp?: string;
  createdByAppVersion?: string;
}

/** What a client declares; the server ignores anything else it sends. */
interface ClientFields {
  redirect_uris: string[];
  client_name: string;
  software_id: string;
  client_kind?: string;
  client_uri?: string;
  logo_uri?: string;
  policy_uri?: string;
  software_version?: string;
  notification_platform?: string;
  notification_device_token?: string;
  /** Notification categories the client may send (cozy-stack's `notification.Properties` per category). */
  notifications?: Record<string, Record<string, unknown>>;
}

/** A client's stored fields (without Doc's index signature, so that Omit keeps them). */
interface ClientRecord extends ClientFields {
  /**
   * Kept in clear, as cozy-stack does: RFC 7592 and cozy's clients read it back from GET /auth/register/:id,
   * which a hash would make impossible. Alone it grants nothing: tokens need a code (in the cache for five
   * minutes) or a refresh token (never stored), so a leak of the database does not leak access.
   */
  client_secret: string;
  client_secret_expires_at: 0;
  /** True until the first authorization code (cozy-stack cleans clients still pending after an hour). */
  pending?: boolean;
  grant_types: string[];
  response_types: string[];
  flagship?: boolean;
  certified_from_store?: boolean;
  created_at_onboarding?: boolean;
  synchronized_at?: string;
  last_refreshed_at?: string;
  cozyMetadata?: ClientMetadata;
}

export interface OAuthClientDoc extends Doc, ClientRecord {}

/** A client as the registration endpoints answer it: `client_id` instead of `_id`/`_rev`. */
export type RegisteredClient = ClientRecord & {
  client_id: string;
  /** Only in the answer to the registration itself. */
  registration_access_token?: string;
};

/** A client as /settings/clients may list it: no secret. */
export type ClientSummary = Omit<ClientRecord, 'client_secret'> & { _id: string; _rev?: string };

export interface TokenResponse {
  token_type: 'bearer';
  scope: string;
  access_token: string;
  refresh_token?: string;
}

const GRANT_TYPES = ['authorization_code', 'refresh_token'];
const RESPONSE_TYPES = ['code'];
const DOCTYPE_VERSION = '1';
// 24 random bytes as cozy-stack; base64url so that a form body written without escaping cannot turn "+" into " ".
const SECRET_BYTES = 24;
const NOTIFICATION_PLATFORMS = new Set(['', 'firebase', 'apns', 'huawei', 'ios', 'android']);
// A redirect must reach the client: these schemes would run or read something in the user's browser instead.
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:']);
const OPTIONAL_FIELDS = [
  'client_kind',
  'client_uri',
  'logo_uri',
  'policy_uri',
  'software_version',
  'notification_platform',
  'notification_device_token',
] as const;
// Fields only the server sets (certification, activity): a PUT keeps them, whatever its body says.
const SERVER_FIELDS = ['flagship', 'certified_from_store', 'created_at_onboarding', 'synchronized_at', 'last_refreshed_at', 'pending'] as const;
const LOCK = { ttlMs: 10_000, waitMs: 10_000 };

type Body = Record<string, unknown>;

function asBody(raw: unknown): Body {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw OAuthErrors.invalidClientMetadata('The body must be a JSON object');
  }
  return raw as Body;
}

/** JSON null reads as absent, as Go's decoder leaves the zero value. */
function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw OAuthErrors.invalidClientMetadata(`${field} must be a string`);
  return value;
}

function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** Absolute, no fragment (RFC 6749 §3.1.2), not the instance itself (cozy-stack), no script-like scheme. */
function isAcceptableRedirectUri(inst: InstanceDoc, uri: string): boolean {
  if (uri.includes('#')) return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return false;
  return url.host === '' || url.host !== new URL(`http://${inst.domain}`).host;
}

/** The declared fields, checked in cozy-stack's order (checkMandatoryFields, then CheckSoftwareID). */
function readFields(inst: InstanceDoc, body: Body): ClientFields {
  const uris = body.redirect_uris;
  if (uris === undefined || uris === null || (Array.isArray(uris) && uris.length === 0)) throw OAuthErrors.invalidRedirectUri();
  if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) {
    throw OAuthErrors.invalidRedirectUri('redirect_uris must be a list of strings');
  }
  for (const uri of uris as string[]) {
    if (!isAcceptableRedirectUri(inst, uri)) throw OAuthErrors.invalidRedirectUri(`${uri} is invalid`);
  }
  const name = optionalString(body, 'client_name');
  if (!name) throw OAuthErrors.invalidClientMetadata('client_name is mandatory');
  const softwareId = optionalString(body, 'software_id');
  if (!softwareId) throw OAuthErrors.invalidClientMetadata('software_id is mandatory');
  const fields: ClientFields = { redirect_uris: [...(uris as string[])], client_name: name, software_id: softwareId };
  for (const field of OPTIONAL_FIELDS) {
    const value = optionalString(body, field);
    if (value) fields[field] = value;
  }
  if (fields.notification_platform !== undefined) {
    fields.notification_platform = fields.notification_platform.toLowerCase();
    if (!NOTIFICATION_PLATFORMS.has(fields.notification_platform)) {
      throw OAuthErrors.invalidClientMetadata('notification_platform is invalid');
    }
  }
  const notifications = readNotificationCategories(body.notifications);
  if (notifications) fields.notifications = notifications;
  if (softwareId === 'registry://store' || softwareId === 'registry://settings') throw OAuthErrors.unapprovedSoftwareId();
  return fields;
}

// A client document is read on every request it makes: its declared categories stay small.
const MAX_CATEGORIES = 64;
const MAX_CATEGORIES_JSON = 16 * 1024;
const CATEGORY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `notifications`: an object of category name -> properties object, as cozy-stack's client registration keeps. */
function readNotificationCategories(raw: unknown): Record<string, Record<string, unknown>> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw OAuthErrors.invalidClientMetadata('notifications must be an object');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_CATEGORIES || JSON.stringify(raw).length > MAX_CATEGORIES_JSON) {
    throw OAuthErrors.invalidClientMetadata('notifications declares too many categories');
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, props] of entries) {
    if (!CATEGORY_NAME.test(name) || typeof props !== 'object' || props === null || Array.isArray(props)) {
      throw OAuthErrors.invalidClientMetadata(`notifications.${name.slice(0, 64)} is invalid`);
    }
    out[name] = props as Record<string, unknown>;
  }
  return entries.length > 0 ? out : undefined;
}

function newMetadata(fields: ClientFields, now: string): ClientMetadata {
  const md: ClientMetadata = { doctypeVersion: DOCTYPE_VERSION, metadataVersion: 1, createdAt: now, updatedAt: now };
  if (fields.software_id.startsWith('registry://')) {
    md.createdByApp = fields.software_id.slice('registry://'.length);
    if (fields.software_version) md.createdByAppVersion = fields.software_version;
  }
  return md;
}

/**
 * cozy-stack's ensureClientNameUnicity: a name already taken gets "-<n+1>", n being the highest numeric
 * suffix in use, so "app", "app-2", "app-3"... identify each device in /settings/clients.
 */
function uniqueName(name: string, taken: readonly string[]): string {
  if (!taken.includes(name)) return name;
  let highest = 1;
  const prefix = `${name}-`;
  for (const other of taken) {
    if (!other.startsWith(prefix)) continue;
    const suffix = other.slice(prefix.length);
    if (/^\d+$/.test(suffix)) highest = Math.max(highest, Number(suffix));
  }
  return `${name}-${highest + 1}`;
}

function isNotFound(err: unknown): boolean {
  return (err as { status?: number }).status === 404;
}

function isConflict(err: unknown): boolean {
  return (err as { status?: number }).status === 409;
}

// ---------------------------------------------------------------------------------------------------------
// Service

export class OAuthClientService {
  constructor(
    private readonly store: DocumentStore,
    private readonly instances: InstanceService,
    private readonly locks: Locks,
  ) {}

  /** POST /auth/register: the new client, with its secret and registration access token. */
  async register(inst: InstanceDoc, raw: unknown): Promise<RegisteredClient> {
    const fields = readFields(inst, asBody(raw));
    const now = new Date().toISOString();
    const doc = await this.#withNames(inst, async (taken) => {
      const created: OAuthClientDoc = {
        _id: randomBytes(16).toString('hex'),
        client_secret: newSecret(),
        client_secret_expires_at: 0,
        pending: true,
        grant_types: [...GRANT_TYPES],
        response_types: [...RESPONSE_TYPES],
        ...fields,
        client_name: uniqueName(fields.client_name, taken),
        cozyMetadata: newMetadata(fields, now),
      };
      created._rev = (await this.store.put(inst, OAUTH_CLIENTS_DOCTYPE, created, { old: null })).rev;
      return created;
    });
    const token = await mintToken(inst, 'registration', { subject: doc._id });
    return { ...this.toRegistration(doc), registration_access_token: token };
  }

  /** The client, or null when unknown (ids that could name a design document are unknown by definition). */
  async find(inst: InstanceDoc, id: unknown): Promise<OAuthClientDoc | null> {
    if (typeof id !== 'string' || id === '' || id.startsWith('_') || id.length > 256) return null;
    try {
      const doc = (await this.store.get(inst, OAUTH_CLIENTS_DOCTYPE, id)) as OAuthClientDoc;
      return typeof doc.client_secret === 'string' ? doc : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** 404 `Client not found` when unknown. */
  async get(inst: InstanceDoc, id: string): Promise<OAuthClientDoc> {
    const doc = await this.find(inst, id);
    if (!doc) throw OAuthErrors.clientNotFound();
    return doc;
  }

  /**
   * PUT /auth/register/:id: the body replaces the declared metadata (cozy-stack's Update). Sending the
   * current client_secret rotates it; sending another one is refused.
   */
  async update(inst: InstanceDoc, old: OAuthClientDoc, raw: unknown): Promise<RegisteredClient> {
    const body = asBody(raw);
    if (body.client_id !== old._id) throw OAuthErrors.invalidClientId();
    const fields = readFields(inst, body);
    let secret = old.client_secret;
    const sent = body.client_secret;
    if (sent !== undefined && sent !== null && sent !== '') {
      if (typeof sent !== 'string' || !this.checkSecret(old, sent)) throw OAuthErrors.invalidClientSecret();
      secret = newSecret();
    }
    const now = new Date().toISOString();
    const write = async (taken: readonly string[]): Promise<OAuthClientDoc> => {
      const doc: OAuthClientDoc = {
        _id: old._id,
        _rev: old._rev,
        client_secret: secret,
        client_secret_expires_at: 0,
        grant_types: [...GRANT_TYPES],
        response_types: [...RESPONSE_TYPES],
        ...fields,
        client_name: fields.client_name === old.client_name ? old.client_name : uniqueName(fields.client_name, taken),
        cozyMetadata: old.cozyMetadata ? { ...old.cozyMetadata, updatedAt: now } : newMetadata(fields, now),
      };
      for (const key of SERVER_FIELDS) if (old[key] !== undefined) Object.assign(doc, { [key]: old[key] });
      try {
        doc._rev = (await this.store.put(inst, OAUTH_CLIENTS_DOCTYPE, doc, { old })).rev;
      } catch (err) {
        if (isConflict(err)) throw OAuthErrors.conflict();
        throw err;
      }
      return doc;
    };
    const doc = fields.client_name === old.client_name ? await write([]) : await this.#withNames(inst, write, old._id);
    return this.toRegistration(doc);
  }

  /** Unregisters the client; idempotent. Its access and refresh tokens stop working at once. */
  async delete(inst: InstanceDoc, client: OAuthClientDoc): Promise<void> {
    await this.store.delete(inst, OAUTH_CLIENTS_DOCTYPE, client._id, client._rev as string, { old: client }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  /** Every client, newest first, without secrets (for /settings/clients). */
  async list(inst: InstanceDoc): Promise<ClientSummary[]> {
    const docs = await this.#all(inst);
    return docs
      .sort((a, b) => String(b.cozyMetadata?.createdAt ?? '').localeCompare(String(a.cozyMetadata?.createdAt ?? '')))
      .map(({ client_secret, ...summary }) => {
        void client_secret;
        return summary;
      });
  }

  checkSecret(client: OAuthClientDoc, secret: string): boolean {
    return secret !== '' && constantTimeEqual(secret, client.client_secret);
  }

  toRegistration(doc: OAuthClientDoc): RegisteredClient {
    const { _id, _rev, ...rest } = doc;
    void _rev;
    return { client_id: _id, ...rest };
  }

  /** cozy-stack clears `pending` once the user has granted a first code, so the client is no longer cleaned. */
  async markAuthorized(inst: InstanceDoc, client: OAuthClientDoc): Promise<void> {
    if (!client.pending) return;
    const { pending, ...next } = client;
    void pending;
    await this.#bestEffortPut(inst, next, client);
  }

  /**
   * Mints the tokens of a grant. Both carry the instance's security stamp, so a passphrase change (which
   * renews the stamp) revokes them; a refresh grant gets no new refresh token, as in cozy-stack.
   */
  async issueTokens(inst: InstanceDoc, client: OAuthClientDoc, scope: string, withRefresh: boolean): Promise<TokenResponse> {
    const stamp = await this.#securityStamp(inst);
    const claims = { subject: client._id, scope, stamp };
    const out: TokenResponse = { token_type: 'bearer', scope, access_token: await mintToken(inst, 'access', claims) };
    if (withRefresh) out.refresh_token = await mintToken(inst, 'refresh', claims);
    await this.#bestEffortPut(inst, { ...client, last_refreshed_at: new Date().toISOString() }, client);
    return out;
  }

  /** The claims of a refresh token of this client on this instance with the current stamp, or null. */
  async verifyRefreshToken(inst: InstanceDoc, client: OAuthClientDoc, token: string): Promise<TokenClaims | null> {
    if (!token) return null;
    let claims: TokenClaims;
    try {
      claims = await verifyToken(inst, token, ['refresh']);
    } catch {
      return null;
    }
    if (claims.sub !== client._id) return null;
    if (!constantTimeEqual(claims.stamp ?? '', inst.security_stamp ?? '')) return null;
    return claims;
  }

  async #all(inst: InstanceDoc): Promise<OAuthClientDoc[]> {
    const res = await this.store.allDocs(inst, OAUTH_CLIENTS_DOCTYPE, { include_docs: true }).catch((err: unknown) => {
      if (isNotFound(err)) return { rows: [] };
      throw err;
    });
    return res.rows
      .map((r) => r.doc as OAuthClientDoc | null | undefined)
      .filter((d): d is OAuthClientDoc => !!d && !d._id.startsWith('_design/'));
  }

  /** Runs `fn` with the names of the other clients, holding the instance's lock so two devices cannot both get "app-2". */
  #withNames<T>(inst: InstanceDoc, fn: (taken: readonly string[]) => Promise<T>, exceptId?: string): Promise<T> {
    return this.locks.withLock(`oauth-clients:${inst.domain}`, LOCK, async () => {
      const taken = (await this.#all(inst)).filter((c) => c._id !== exceptId).map((c) => c.client_name);
      return fn(taken);
    });
  }

  /** Bookkeeping writes (pending, last_refreshed_at) must not fail a grant: a concurrent write simply wins. */
  async #bestEffortPut(inst: InstanceDoc, next: OAuthClientDoc, old: OAuthClientDoc): Promise<void> {
    try {
      const { rev } = await this.store.put(inst, OAUTH_CLIENTS_DOCTYPE, next, { old });
      old._rev = rev;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  /**
   * The stamp tokens carry. An instance created before stamps existed gets one now: a token without a stamp
   * would survive a passphrase change. A concurrent writer (another grant, a passphrase change) wins.
   */
  async #securityStamp(inst: InstanceDoc): Promise<string> {
    if (inst.security_stamp) return inst.security_stamp;
    const next: InstanceDoc = { ...inst, security_stamp: randomBytes(16).toString('hex') };
    try {
      await this.instances.save(next);
      return next.security_stamp as string;
    } catch (err) {
      if (!isConflict(err)) throw err;
      const current = await this.instances.get(inst.domain);
      if (!current.security_stamp) throw err;
      return current.security_stamp;
    }
  }
}
