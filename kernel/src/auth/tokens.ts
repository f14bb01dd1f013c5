// jose is loaded on first use: a server that has not minted or checked a token yet need not pay for it at boot.
let joseModule: Promise<typeof import('jose')> | undefined;
const loadJose = () => (joseModule ??= import('jose'));
import { BoundedMap } from '../bounded-map.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import { AuthErrors } from './auth-errors.ts';

/** cozy-stack's token audiences. */
export type Audience = 'app' | 'konn' | 'cli' | 'share' | 'registration' | 'access' | 'refresh';

export interface TokenClaims {
  aud: Audience;
  iss: string;
  /** Seconds since the epoch. */
  iat: number;
  sub: string;
  scope?: string;
  /** Binds an app token to the browser session it was minted for. */
  session_id?: string;
  /** The security stamp at minting time; a passphrase change renews it and so kills the token. */
  stamp?: string;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;

/** How long a token of each audience lives after `iat`, as cozy-stack; null = until revoked. */
export function validitySeconds(claims: Pick<TokenClaims, 'aud' | 'session_id'>): number | null {
  switch (claims.aud) {
    case 'app':
      return claims.session_id ? 24 * HOUR : 30 * MINUTE;
    case 'konn':
    case 'cli':
      return 30 * MINUTE;
    case 'access':
      return 7 * 24 * HOUR;
    case 'share':
    case 'registration':
    case 'refresh':
      return null;
  }
}

const AUDIENCES = new Set<Audience>(['app', 'konn', 'cli', 'share', 'registration', 'access', 'refresh']);

/** Which of the instance's secrets signs each audience (cozy-stack's PickKey). */
function secretFor(inst: InstanceDoc, aud: Audience): Uint8Array {
  const b64 = aud === 'app' || aud === 'konn' ? inst.session_secret : aud === 'cli' ? inst.cli_secret : inst.oauth_secret;
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export interface MintOptions {
  subject: string;
  scope?: string;
  sessionId?: string;
  stamp?: string;
  /** Defaults to now; tests set it to make expired tokens. */
  issuedAt?: Date;
  /** A unique id, so two tokens with the same claims in the same second still differ (share codes). */
  jti?: string;
}

/** Signs a token for the instance (HS512, `iss` = domain, as cozy-stack). */
export async function mintToken(inst: InstanceDoc, aud: Audience, opts: MintOptions): Promise<string> {
  const payload: Record<string, unknown> = {};
  if (opts.scope !== undefined) payload.scope = opts.scope;
  if (opts.sessionId) payload.session_id = opts.sessionId;
  if (opts.stamp) payload.stamp = opts.stamp;
  const { SignJWT } = await loadJose();
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
    .setAudience(aud)
    .setIssuer(inst.domain)
    .setSubject(opts.subject)
    .setIssuedAt(Math.floor((opts.issuedAt ?? new Date()).getTime() / 1000));
  if (opts.jti) jwt.setJti(opts.jti);
  return jwt.sign(secretFor(inst, aud));
}

function peekAudience(token: string): Audience | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { aud?: unknown };
    const aud = Array.isArray(claims.aud) ? (claims.aud.length === 1 ? claims.aud[0] : null) : claims.aud;
    return typeof aud === 'string' && AUDIENCES.has(aud as Audience) ? (aud as Audience) : null;
  } catch {
    return null;
  }
}

/**
 * Tokens already verified, per instance and token text. Clients send the same token on every request, and
 * verifying HS512 through WebCrypto costs more than the rest of a request; the signature and issuer of a given
 * token string cannot change, so a hit skips them while the age check below still runs every time.
 */
const VERIFIED_MAX = 10_000;
const VERIFIED_TTL_MS = 60_000;
const verified = new BoundedMap<string, { claims: TokenClaims; until: number }>(VERIFIED_MAX);

function checkAge(claims: TokenClaims): TokenClaims {
  const validity = validitySeconds(claims);
  if (validity !== null && claims.iat + validity < Date.now() / 1000) throw AuthErrors.expiredToken();
  return claims;
}

/**
 * Verifies signature, issuer, audience and age. Any fault is `Invalid JWT token` (400) except age, which is
 * `Expired token` (400). Only HS512 is accepted, so `alg: none` or an RSA/HMAC confusion cannot pass.
 */
export async function verifyToken(inst: InstanceDoc, token: string, allowed?: readonly Audience[]): Promise<TokenClaims> {
  const aud = peekAudience(token);
  if (!aud || (allowed && !allowed.includes(aud))) throw AuthErrors.invalidToken();
  // The secrets are part of the key: a re-created instance with the same domain never reuses an entry.
  const key = `${inst.domain}\n${inst.session_secret.slice(0, 16)}\n${token}`;
  const hit = verified.get(key);
  if (hit && hit.until > Date.now()) return checkAge({ ...hit.claims });
  const { decodeProtectedHeader, jwtVerify } = await loadJose();
  let payload: Record<string, unknown>;
  try {
    if (decodeProtectedHeader(token).alg !== 'HS512') throw AuthErrors.invalidToken();
    ({ payload } = await jwtVerify(token, secretFor(inst, aud), { algorithms: ['HS512'], issuer: inst.domain, audience: aud }));
  } catch {
    throw AuthErrors.invalidToken();
  }
  const claims = payload as unknown as TokenClaims;
  if (typeof claims.iat !== 'number' || typeof claims.sub !== 'string') throw AuthErrors.invalidToken();
  claims.aud = aud;
  verified.set(key, { claims, until: Date.now() + VERIFIED_TTL_MS });
  return checkAge({ ...claims });
}
