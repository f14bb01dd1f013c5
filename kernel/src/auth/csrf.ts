import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defineError } from '../errors.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import { constantTimeEqual } from './auth-service.ts';
import { readCookie, setCookie } from './cookies.ts';
import { unsignValue, signValue } from './signed-value.ts';

/** cozy-stack's names: scripts written against cozy scrape the `_csrf` cookie and post it as `csrf_token`. */
export const CSRF_COOKIE = '_csrf';
export const CSRF_FIELD = 'csrf_token';
/** One hour, as cozy-stack: a login page left open longer is reloaded by its meta refresh. */
export const CSRF_MAX_AGE_S = 3600;

const missing = defineError('COZY_ERR_CSRF_MISSING', 400, 'missing csrf token in the form parameter');
// cozy-stack answers a token that is present but wrong with 403, and only a missing one with 400.
const invalid = defineError('COZY_ERR_CSRF_INVALID', 403, 'invalid csrf token');

export const CsrfErrors = { missing, invalid } as const;

/**
 * Double-submit token: the same value in an HttpOnly cookie and in a hidden form field. The value is itself
 * signed with the instance's session secret, so a cookie planted by a sibling host (an app subdomain can set
 * cookies for its parent domain) is refused: only this instance can mint a valid token.
 */
function validToken(inst: InstanceDoc, token: string | undefined): token is string {
  return !!token && unsignValue(inst.session_secret, CSRF_COOKIE, token) !== null;
}

/**
 * The token to embed in this response's forms: the request's own cookie when it is valid (so several open
 * tabs keep working), else a fresh one. The cookie is (re)set either way to renew its age.
 */
export function issueCsrf(req: FastifyRequest, reply: FastifyReply, inst: InstanceDoc): string {
  const current = readCookie(req, CSRF_COOKIE);
  const token = validToken(inst, current) ? current : signValue(inst.session_secret, CSRF_COOKIE, randomBytes(32).toString('base64url'));
  // Path=/ rather than cozy's /auth: the home page at / carries forms too. Strict: never sent cross-site.
  setCookie(req, reply, CSRF_COOKIE, token, { maxAge: CSRF_MAX_AGE_S, httpOnly: true, sameSite: 'Strict' });
  return token;
}

/** Throws 400 when the form carries no token, 403 when it does not match a valid cookie of this instance. */
export function checkCsrf(req: FastifyRequest, inst: InstanceDoc, formToken: unknown): void {
  if (typeof formToken !== 'string' || formToken === '') throw missing();
  const cookie = readCookie(req, CSRF_COOKIE);
  if (!validToken(inst, cookie) || !constantTimeEqual(cookie, formToken)) throw invalid();
}
