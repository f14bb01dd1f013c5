import { defineError } from '../errors.ts';

const noToken = defineError('COZY_ERR_NO_TOKEN', 401, 'No token in request');
const invalidToken = defineError('COZY_ERR_INVALID_TOKEN', 400, 'Invalid JWT token');
const expiredToken = defineError('COZY_ERR_EXPIRED_TOKEN', 400, 'Expired token');
const forbidden = defineError('COZY_ERR_PERMISSION_DENIED', 403, 'Forbidden');

/**
 * Token errors exactly as cozy-stack answers them: cozy-client matches the texts `Invalid JWT token` and
 * `Expired token` to decide between revoking and refreshing, so they must not change.
 */
export const AuthErrors = {
  noToken: () => noToken('No token in request'),
  invalidToken: () => invalidToken('Invalid JWT token', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }),
  expiredToken: () =>
    expiredToken('Expired token', {
      headers: { 'www-authenticate': 'Bearer error="invalid_token" error_description="The access token expired"' },
    }),
  forbidden: (detail?: string) => forbidden(detail ?? 'Forbidden'),
} as const;

export const AUTH_ERROR_CODES = {
  noToken: noToken.code,
  invalidToken: invalidToken.code,
  expiredToken: expiredToken.code,
  forbidden: forbidden.code,
} as const;
