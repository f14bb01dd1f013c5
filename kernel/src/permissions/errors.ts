import { CozyError, defineError } from '../errors.ts';

/**
 * Errors of the permission engine. The messages are cozy-stack's (model/permission/errors.go) so that clients
 * matching on them keep working; the detail adds which part of the input was refused.
 */
export const PermissionErrors = {
  badScope: defineError('COZY_ERR_BAD_SCOPE', 400, 'Permission scope is empty or malformed'),
  notSubset: defineError('COZY_ERR_NOT_SUBSET', 403, 'Attempt to create a larger permission set'),
} as const;

/** A bad-scope error whose detail keeps cozy's text and names the refused part. */
export function badScope(problem: string): CozyError {
  return PermissionErrors.badScope(`Permission scope is empty or malformed: ${problem}`);
}

/**
 * Runs a parsing step and, if it refuses its input, says where: the low-level parsers only know the bad
 * word, the caller knows which rule it came from.
 */
export function inContext<T>(where: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof CozyError && err.code === PermissionErrors.badScope.code) {
      throw PermissionErrors.badScope(`${err.detail} (in ${where})`, { cause: err });
    }
    throw err;
  }
}
