import { createHash, randomBytes } from 'node:crypto';
import type { Cache } from '../cluster/types.ts';
import type { InstanceRef } from '../instances/instance.ts';
import { constantTimeEqual } from './auth-service.ts';
import { OAuthErrors } from './oauth-clients.ts';

/**
 * OAuth2 authorization codes. cozy-stack stores them in io.cozy.oauth.access_codes; here they live in the
 * cluster cache, which expires them by itself and whose `take` redeems a code atomically, so two processes
 * of a farm cannot both exchange the same code.
 */

export const CODE_TTL_MS = 5 * 60 * 1000;

/** What the user granted, bound to the code. */
export interface CodeGrant {
  clientId: string;
  redirectUri: string;
  scope: string;
  /** PKCE S256 challenge (base64url of a SHA-256), when the client sent one. */
  challenge?: string;
}

/** What the client presents at the token endpoint along with the code. */
export interface CodeRedemption {
  clientId: string;
  /** Optional as in cozy-stack; when given it must be the one the code was issued for (RFC 6749 §4.1.3). */
  redirectUri?: string;
  verifier?: string;
}

interface StoredCode {
  client_id: string;
  redirect_uri: string;
  scope: string;
  code_challenge?: string;
  expires_at: number;
}

/** A PKCE S256 challenge is the base64url (no padding) of a SHA-256: 43 characters. */
export const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'utf8').digest('base64url');
}

/** The cache holds a hash of the code, so a look at Redis does not hand out live codes. */
function keyFor(inst: InstanceRef, code: string): string {
  return `oauth:code:${inst.domain}:${createHash('sha256').update(code, 'utf8').digest('hex')}`;
}

const invalidCode = () => OAuthErrors.tokenRequest('invalid code');

export class AuthorizationCodes {
  constructor(
    private readonly cache: Cache,
    private readonly ttlMs = CODE_TTL_MS,
  ) {}

  /** A new single-use code for the grant. */
  async issue(inst: InstanceRef, grant: CodeGrant): Promise<string> {
    const code = randomBytes(24).toString('base64url');
    const stored: StoredCode = {
      client_id: grant.clientId,
      redirect_uri: grant.redirectUri,
      scope: grant.scope,
      expires_at: Date.now() + this.ttlMs,
    };
    if (grant.challenge) stored.code_challenge = grant.challenge;
    // 192 random bits cannot collide; setIfAbsent still guarantees a code is never silently replaced.
    if (!(await this.cache.setIfAbsent(keyFor(inst, code), stored, this.ttlMs))) throw new Error('authorization code collision');
    return code;
  }

  /**
   * Exchanges a code for the scope it grants; 400 `invalid code` when unknown, expired, already used or
   * issued to another client. A code presented by another client or for another redirect_uri is burnt: it
   * has leaked. A failed PKCE check puts it back, as cozy-stack keeps the code until a successful exchange
   * (its own flow retries with the verifier): a 256-bit challenge cannot be guessed in five minutes, and a
   * code is still exchanged at most once because only a failed attempt restores it.
   */
  async redeem(inst: InstanceRef, code: string, by: CodeRedemption): Promise<{ scope: string }> {
    const key = keyFor(inst, code);
    const stored = await this.cache.take<StoredCode>(key);
    if (!stored || stored.expires_at <= Date.now()) throw invalidCode();
    if (!constantTimeEqual(stored.client_id, by.clientId)) throw invalidCode();
    if (by.redirectUri !== undefined && by.redirectUri !== stored.redirect_uri) throw OAuthErrors.tokenRequest('invalid redirect_uri');
    if (stored.code_challenge !== undefined && !constantTimeEqual(s256(by.verifier ?? ''), stored.code_challenge)) {
      const left = stored.expires_at - Date.now();
      if (left > 0) await this.cache.setIfAbsent(key, stored, left);
      throw OAuthErrors.tokenRequest('invalid code_verifier');
    }
    return { scope: stored.scope };
  }
}
